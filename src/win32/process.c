/*
 * process.c: process handles and FlushInstructionCache.
 *
 * Only the current process exists for now: GetCurrentProcess() returns the
 * pseudo handle (HANDLE)-1 and the Ex variants accept it; NULL and every other
 * handle give ERROR_INVALID_HANDLE.  vw_check_process is the one place that
 * will learn real process handles later.
 */
#include "core/vw.h"
#include "core/probe.h"
#include "diag/trace.h"

DWORD vw_check_process(HANDLE h)
{
    return h == VW_PSEUDO_PROCESS ? 0 : ERROR_INVALID_HANDLE;
}

VW_API HANDLE WINAPI GetCurrentProcess(void)
{
    return VW_PSEUDO_PROCESS;
}

static BOOL flush_icache(HANDLE hProcess, LPCVOID lpBaseAddress, SIZE_T dwSize)
{
    DWORD err = vw_check_process(hProcess);
    if (err)
        return vw_fail(err);
#if defined(__x86_64__) || defined(__i386__)
    /* x86 keeps instruction caches coherent with stores: the address is never
     * dereferenced, so any address succeeds, as on Windows. */
    (void)lpBaseAddress;
    (void)dwSize;
#else
    /* Cache maintenance by address faults on unmapped memory: refused first. */
    if (lpBaseAddress && dwSize && vw_probe(lpBaseAddress, dwSize, VW_PROBE_READ))
        return vw_fail(ERROR_NOACCESS);
    if (lpBaseAddress && dwSize)
        __builtin___clear_cache((char *)lpBaseAddress, (char *)lpBaseAddress + dwSize);
#endif
    return TRUE;
}

VW_API BOOL WINAPI FlushInstructionCache(HANDLE hProcess, LPCVOID lpBaseAddress, SIZE_T dwSize)
{
    BOOL r = flush_icache(hProcess, lpBaseAddress, dwSize);
    VW_TRACE(r, "FlushInstructionCache(%H, %p, %z) = %b", hProcess, lpBaseAddress, dwSize, r);
    return r;
}
