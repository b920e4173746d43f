/*
 * virtual2.c: VirtualAlloc2, VirtualAlloc2FromApp and VirtualAllocFromApp as
 * kernelbase has them: thin wrappers over NtAllocateVirtualMemoryEx (and, for
 * VirtualAllocFromApp, NtAllocateVirtualMemory), the last error from
 * RtlNtStatusToDosError.  kernelbase decides two things itself:
 * - a NULL process is the current process (VirtualAlloc2, VirtualAlloc2FromApp);
 * - the FromApp calls refuse executable protections (an app container may not
 *   make code): ERROR_INVALID_PARAMETER before the native call.
 */
#include "core/vw.h"
#include "nt/nt.h"
#include "diag/trace.h"

static PVOID alloc2(HANDLE process, PVOID addr, SIZE_T size, ULONG type, ULONG prot,
                    MEM_EXTENDED_PARAMETER *params, ULONG count)
{
    PVOID base = addr;
    SIZE_T len = size;
    NTSTATUS st = nt_allocate_ex(process ? process : VW_PSEUDO_PROCESS, &base, &len, type, prot,
                                 params, count);
    return st ? (PVOID)(uintptr_t)vw_fail(nt_dos_error(st)) : base;
}

static int executable(ULONG prot)
{
    return (prot & (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE |
                    PAGE_EXECUTE_WRITECOPY)) != 0;
}

VW_API PVOID WINAPI VirtualAlloc2(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                  ULONG AllocationType, ULONG PageProtection,
                                  MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                  ULONG ParameterCount)
{
    PVOID r = alloc2(Process, BaseAddress, Size, AllocationType, PageProtection,
                     ExtendedParameters, ParameterCount);
    VW_TRACE(r != NULL, "VirtualAlloc2(%H, %p, %z, %A, %P, %p, %u) = %p", Process, BaseAddress,
             Size, AllocationType, PageProtection, (void *)ExtendedParameters,
             (unsigned)ParameterCount, r);
    return r;
}

VW_API PVOID WINAPI VirtualAlloc2FromApp(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                         ULONG AllocationType, ULONG PageProtection,
                                         MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                         ULONG ParameterCount)
{
    PVOID r = executable(PageProtection)
                  ? (PVOID)(uintptr_t)vw_fail(ERROR_INVALID_PARAMETER)
                  : alloc2(Process, BaseAddress, Size, AllocationType, PageProtection,
                           ExtendedParameters, ParameterCount);
    VW_TRACE(r != NULL, "VirtualAlloc2FromApp(%H, %p, %z, %A, %P, %p, %u) = %p", Process,
             BaseAddress, Size, AllocationType, PageProtection, (void *)ExtendedParameters,
             (unsigned)ParameterCount, r);
    return r;
}

VW_API PVOID WINAPI VirtualAllocFromApp(PVOID BaseAddress, SIZE_T Size, ULONG AllocationType,
                                        ULONG Protection)
{
    PVOID r = NULL;
    if (executable(Protection)) {
        vw_fail(ERROR_INVALID_PARAMETER);
    } else {
        PVOID base = BaseAddress;
        SIZE_T len = Size;
        NTSTATUS st = nt_allocate(VW_PSEUDO_PROCESS, &base, 0, &len, AllocationType, Protection);
        r = st ? (PVOID)(uintptr_t)vw_fail(nt_dos_error(st)) : base;
    }
    VW_TRACE(r != NULL, "VirtualAllocFromApp(%p, %z, %A, %P) = %p", BaseAddress, Size,
             AllocationType, Protection, r);
    return r;
}
