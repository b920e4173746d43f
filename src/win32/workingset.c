/*
 * workingset.c: SetProcessWorkingSetSize(Ex), GetProcessWorkingSetSize(Ex) and
 * the VirtualLock quota.
 *
 * Windows lets a process lock about as much as its minimum working set; Linux
 * lets it lock RLIMIT_MEMLOCK.  So the minimum is remembered and raising it
 * raises the soft RLIMIT_MEMLOCK as far as the hard limit allows, and the
 * quota check counts the bytes the library has locked against the soft limit
 * itself, so the rule holds even for a process with CAP_IPC_LOCK (which the
 * kernel would let lock without bound).
 */
#include "core/vw.h"
#include "core/probe.h"
#include "os/os.h"
#include "diag/trace.h"

#include <sys/resource.h>

/* Windows' defaults: 50 and 345 pages of 4 KiB, hard limits disabled. */
static SIZE_T ws_min = 50 * 4096, ws_max = 345 * 4096;
static DWORD ws_flags = QUOTA_LIMITS_HARDWS_MIN_DISABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE;
static rlim_t initial_soft;
static int initial_known;
static vw_lock_t ws_lock;

DWORD vw_lock_quota_check_locked(size_t bytes)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    if (bytes > rl.rlim_cur || vw_state.locked > rl.rlim_cur - bytes)
        return ERROR_WORKING_SET_QUOTA;
    return 0;
}

static BOOL set_ws(HANDLE h, SIZE_T min, SIZE_T max, DWORD flags, int with_flags)
{
    vw_init();
    DWORD err = vw_check_process(h);
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

    vw_lock(&ws_lock);
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
        if (!initial_known) {
            initial_soft = rl.rlim_cur;
            initial_known = 1;
        }
        /* The lockable amount follows the minimum, never below where it began. */
        rlim_t want = initial_soft;
        if (want != RLIM_INFINITY && (rlim_t)min > want)
            want = (rlim_t)min;
        if (rl.rlim_max != RLIM_INFINITY && (want == RLIM_INFINITY || want > rl.rlim_max))
            want = rl.rlim_max;
        if (want != rl.rlim_cur) {
            rl.rlim_cur = want;
            setrlimit(RLIMIT_MEMLOCK, &rl);
        }
    }
    ws_min = min;
    ws_max = max;
    if (with_flags) {
        if (flags & QUOTA_LIMITS_HARDWS_MIN_ENABLE)
            ws_flags = (ws_flags & ~QUOTA_LIMITS_HARDWS_MIN_DISABLE) | QUOTA_LIMITS_HARDWS_MIN_ENABLE;
        if (flags & QUOTA_LIMITS_HARDWS_MIN_DISABLE)
            ws_flags = (ws_flags & ~QUOTA_LIMITS_HARDWS_MIN_ENABLE) | QUOTA_LIMITS_HARDWS_MIN_DISABLE;
        if (flags & QUOTA_LIMITS_HARDWS_MAX_ENABLE)
            ws_flags = (ws_flags & ~QUOTA_LIMITS_HARDWS_MAX_DISABLE) | QUOTA_LIMITS_HARDWS_MAX_ENABLE;
        if (flags & QUOTA_LIMITS_HARDWS_MAX_DISABLE)
            ws_flags = (ws_flags & ~QUOTA_LIMITS_HARDWS_MAX_ENABLE) | QUOTA_LIMITS_HARDWS_MAX_DISABLE;
    }
    vw_unlock(&ws_lock);
    return TRUE;
}

static BOOL get_ws(HANDLE h, PSIZE_T min, PSIZE_T max, PDWORD flags)
{
    vw_init();
    DWORD err = vw_check_process(h);
    if (err)
        return vw_fail(err);
    /* Every output probed before the lock and written after it (issue 11: a
     * fault taken under ws_lock left it held for a program that recovers). */
    if (vw_probe(min, sizeof *min, VW_PROBE_WRITE) || vw_probe(max, sizeof *max, VW_PROBE_WRITE) ||
        (flags && vw_probe(flags, sizeof *flags, VW_PROBE_WRITE)))
        return vw_fail(ERROR_NOACCESS);
    vw_lock(&ws_lock);
    SIZE_T mn = ws_min, mx = ws_max;
    DWORD fl = ws_flags;
    vw_unlock(&ws_lock);
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
    BOOL r = !Flags && !vw_check_process(hProcess)
                 ? vw_fail(ERROR_NOACCESS)
                 : get_ws(hProcess, lpMinimumWorkingSetSize, lpMaximumWorkingSetSize, Flags);
    VW_TRACE(r, "GetProcessWorkingSetSizeEx(%H, %p, %p, %p) = %b", hProcess,
             lpMinimumWorkingSetSize, lpMaximumWorkingSetSize, Flags, r);
    return r;
}
