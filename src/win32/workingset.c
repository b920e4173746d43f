/*
 * workingset.c: SetProcessWorkingSetSize(Ex) and GetProcessWorkingSetSize(Ex):
 * the Win32 edge.  It validates the handle, the flags and the sizes, probes
 * the caller's outputs, and calls the core (core/vm_wsquota.c), which keeps
 * the sizes and turns the minimum into the VirtualLock quota.
 */
#include "core/vm.h"
#include "core/probe.h"
#include "diag/trace.h"

static BOOL set_ws(HANDLE h, SIZE_T min, SIZE_T max, DWORD flags, int with_flags)
{
    vw_init();
    DWORD err = vw_check_process(h, PROCESS_SET_QUOTA);
    if (err)
        return vw_fail(err);
    const DWORD known = QUOTA_LIMITS_HARDWS_MIN_ENABLE | QUOTA_LIMITS_HARDWS_MIN_DISABLE |
                        QUOTA_LIMITS_HARDWS_MAX_ENABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE;
    if ((flags & ~known) ||
        (flags & (QUOTA_LIMITS_HARDWS_MIN_ENABLE | QUOTA_LIMITS_HARDWS_MIN_DISABLE)) ==
            (QUOTA_LIMITS_HARDWS_MIN_ENABLE | QUOTA_LIMITS_HARDWS_MIN_DISABLE) ||
        (flags & (QUOTA_LIMITS_HARDWS_MAX_ENABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE)) ==
            (QUOTA_LIMITS_HARDWS_MAX_ENABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE))
        return vw_fail(ERROR_INVALID_PARAMETER);
    if (min == (SIZE_T)-1 && max == (SIZE_T)-1)
        return TRUE;   /* "trim the working set": Linux reclaims on its own terms */
    if (min == (SIZE_T)-1 || max == (SIZE_T)-1 || min > max)
        return vw_fail(ERROR_INVALID_PARAMETER);

    vm_ws_set(min, max, with_flags ? flags : 0);
    return TRUE;
}

static BOOL get_ws(HANDLE h, PSIZE_T min, PSIZE_T max, PDWORD flags)
{
    vw_init();
    DWORD err = vw_check_process(h, PROCESS_QUERY_LIMITED_INFORMATION);
    if (err)
        return vw_fail(err);
    /* Every output probed before the core takes its lock and written after
     * (issue 11: a fault taken under ws_lock left it held for a program that recovers). */
    if (vw_probe(min, sizeof *min, VW_PROBE_WRITE) || vw_probe(max, sizeof *max, VW_PROBE_WRITE) ||
        (flags && vw_probe(flags, sizeof *flags, VW_PROBE_WRITE)))
        return vw_fail(ERROR_NOACCESS);
    SIZE_T mn, mx;
    DWORD fl;
    vm_ws_get(&mn, &mx, &fl);
    *min = mn;
    *max = mx;
    if (flags)
        *flags = fl;
    return TRUE;
}

VW_API BOOL WINAPI SetProcessWorkingSetSize(HANDLE hProcess, SIZE_T dwMinimumWorkingSetSize,
                                            SIZE_T dwMaximumWorkingSetSize)
{
    BOOL r = set_ws(hProcess, dwMinimumWorkingSetSize, dwMaximumWorkingSetSize, 0, 0);
    VW_TRACE(r, "SetProcessWorkingSetSize(%H, %z, %z) = %b", hProcess, dwMinimumWorkingSetSize,
             dwMaximumWorkingSetSize, r);
    return r;
}

VW_API BOOL WINAPI SetProcessWorkingSetSizeEx(HANDLE hProcess, SIZE_T dwMinimumWorkingSetSize,
                                              SIZE_T dwMaximumWorkingSetSize, DWORD Flags)
{
    BOOL r = set_ws(hProcess, dwMinimumWorkingSetSize, dwMaximumWorkingSetSize, Flags, 1);
    VW_TRACE(r, "SetProcessWorkingSetSizeEx(%H, %z, %z, %x) = %b", hProcess,
             dwMinimumWorkingSetSize, dwMaximumWorkingSetSize, Flags, r);
    return r;
}

VW_API BOOL WINAPI GetProcessWorkingSetSize(HANDLE hProcess, PSIZE_T lpMinimumWorkingSetSize,
                                            PSIZE_T lpMaximumWorkingSetSize)
{
    BOOL r = get_ws(hProcess, lpMinimumWorkingSetSize, lpMaximumWorkingSetSize, NULL);
    VW_TRACE(r, "GetProcessWorkingSetSize(%H, %p, %p) = %b", hProcess, lpMinimumWorkingSetSize,
             lpMaximumWorkingSetSize, r);
    return r;
}

VW_API BOOL WINAPI GetProcessWorkingSetSizeEx(HANDLE hProcess, PSIZE_T lpMinimumWorkingSetSize,
                                              PSIZE_T lpMaximumWorkingSetSize, PDWORD Flags)
{
    BOOL r = !Flags && !vw_check_process(hProcess, PROCESS_QUERY_LIMITED_INFORMATION)
                 ? vw_fail(ERROR_NOACCESS)
                 : get_ws(hProcess, lpMinimumWorkingSetSize, lpMaximumWorkingSetSize, Flags);
    VW_TRACE(r, "GetProcessWorkingSetSizeEx(%H, %p, %p, %p) = %b", hProcess,
             lpMinimumWorkingSetSize, lpMaximumWorkingSetSize, Flags, r);
    return r;
}
