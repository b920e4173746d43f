/*
 * memstatus.c: GlobalMemoryStatusEx: the Win32 edge.  What the figures mean
 * and where they come from is core/vm_sysinfo.c's; this file checks dwLength,
 * probes the caller's structure and stores the figures in one go.
 */
#include "core/vm.h"
#include "core/probe.h"
#include "diag/trace.h"

static BOOL memory_status(LPMEMORYSTATUSEX lpBuffer)
{
    vw_init();
    /* dwLength is read first, as on Windows; the whole structure must be
     * writable before anything is computed (issue 9), and it is stored in one
     * go at the end. */
    if (vw_probe(lpBuffer, sizeof lpBuffer->dwLength, VW_PROBE_READ))
        return vw_fail(ERROR_NOACCESS);
    if (lpBuffer->dwLength != sizeof(MEMORYSTATUSEX))
        return vw_fail(ERROR_INVALID_PARAMETER);
    if (vw_probe(lpBuffer, sizeof *lpBuffer, VW_PROBE_WRITE))
        return vw_fail(ERROR_NOACCESS);
    MEMORYSTATUSEX st;
    vm_memory_status(&st);
    *lpBuffer = st;
    return TRUE;
}

VW_API BOOL WINAPI GlobalMemoryStatusEx(LPMEMORYSTATUSEX lpBuffer)
{
    BOOL r = memory_status(lpBuffer);
    VW_TRACE(r, "GlobalMemoryStatusEx(%p) = %b", lpBuffer, r);
    return r;
}
