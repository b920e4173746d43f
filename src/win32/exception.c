/*
 * exception.c: the kernel32 side of exceptions (spec section 12): thin
 * wrappers over the native edge's lists and dispatch (nt/exception.c), as
 * kernelbase's are over ntdll's.
 *
 * AddVectoredExceptionHandler and friends are RtlAddVectoredExceptionHandler
 * and friends (no last error: NULL or 0 is the only failure report, as on
 * Windows).  SetUnhandledExceptionFilter keeps the filter the dispatcher calls
 * when no vectored handler continued; UnhandledExceptionFilter calls it
 * directly, and with no debugger to hand over to, answers
 * EXCEPTION_EXECUTE_HANDLER unless the filter continued execution.
 * RaiseException builds the record as kernelbase does: bit 28 of the code
 * cleared, only EXCEPTION_NONCONTINUABLE kept from the flags, at most
 * EXCEPTION_MAXIMUM_PARAMETERS arguments (none when lpArguments is NULL), and
 * arguments that cannot be read raise an access violation at their address.
 */
#include "core/vw.h"
#include "core/probe.h"
#include "nt/exception.h"
#include "diag/trace.h"

#include <string.h>

VW_API PVOID WINAPI AddVectoredExceptionHandler(ULONG First, PVECTORED_EXCEPTION_HANDLER Handler)
{
    PVOID h = exc_add(0, First, Handler);
    VW_TRACE(h != NULL, "AddVectoredExceptionHandler(%u, %p) = %p", First,
             (void *)(uintptr_t)Handler, h);
    return h;
}

VW_API ULONG WINAPI RemoveVectoredExceptionHandler(PVOID Handle)
{
    ULONG r = exc_remove(0, Handle);
    VW_TRACE(1, "RemoveVectoredExceptionHandler(%p) = %u", Handle, r);
    return r;
}

VW_API PVOID WINAPI AddVectoredContinueHandler(ULONG First, PVECTORED_EXCEPTION_HANDLER Handler)
{
    PVOID h = exc_add(1, First, Handler);
    VW_TRACE(h != NULL, "AddVectoredContinueHandler(%u, %p) = %p", First,
             (void *)(uintptr_t)Handler, h);
    return h;
}

VW_API ULONG WINAPI RemoveVectoredContinueHandler(PVOID Handle)
{
    ULONG r = exc_remove(1, Handle);
    VW_TRACE(1, "RemoveVectoredContinueHandler(%p) = %u", Handle, r);
    return r;
}

VW_API LPTOP_LEVEL_EXCEPTION_FILTER WINAPI
SetUnhandledExceptionFilter(LPTOP_LEVEL_EXCEPTION_FILTER lpTopLevelExceptionFilter)
{
    LPTOP_LEVEL_EXCEPTION_FILTER old = exc_set_filter(lpTopLevelExceptionFilter);
    VW_TRACE(1, "SetUnhandledExceptionFilter(%p) = %p",
             (void *)(uintptr_t)lpTopLevelExceptionFilter, (void *)(uintptr_t)old);
    return old;
}

VW_API LONG WINAPI UnhandledExceptionFilter(struct _EXCEPTION_POINTERS *ExceptionInfo)
{
    return exc_unhandled(ExceptionInfo);
}

VW_API __attribute__((noinline)) void WINAPI RaiseException(DWORD dwExceptionCode,
                                                            DWORD dwExceptionFlags,
                                                            DWORD nNumberOfArguments,
                                                            const ULONG_PTR *lpArguments)
{
    vw_init();
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    EXCEPTION_RECORD rec;
    memset(&rec, 0, sizeof rec);
    rec.ExceptionCode = dwExceptionCode & ~(DWORD)0x10000000;
    rec.ExceptionFlags = dwExceptionFlags & EXCEPTION_NONCONTINUABLE;
    rec.ExceptionAddress = (PVOID)pc;
    if (lpArguments) {
        DWORD n = nNumberOfArguments > EXCEPTION_MAXIMUM_PARAMETERS ? EXCEPTION_MAXIMUM_PARAMETERS
                                                                    : nNumberOfArguments;
        if (vw_probe(lpArguments, n * sizeof(ULONG_PTR), VW_PROBE_READ)) {
            rec.ExceptionCode = STATUS_ACCESS_VIOLATION;
            rec.ExceptionFlags = 0;
            rec.NumberParameters = 2;
            rec.ExceptionInformation[0] = 0;
            rec.ExceptionInformation[1] = (ULONG_PTR)lpArguments;
        } else {
            rec.NumberParameters = n;
            memcpy(rec.ExceptionInformation, lpArguments, n * sizeof(ULONG_PTR));
        }
    }
    exc_raise(&rec, pc, sp);
}
