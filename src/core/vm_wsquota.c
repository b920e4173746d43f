/*
 * vm_wsquota.c: the process working-set sizes (SetProcessWorkingSetSize(Ex),
 * GetProcessWorkingSetSize(Ex)) and the VirtualLock quota they imply.
 *
 * Windows lets a process lock about as much as its minimum working set; Linux
 * lets it lock RLIMIT_MEMLOCK.  So the minimum is remembered and raising it
 * raises the soft RLIMIT_MEMLOCK as far as the hard limit allows, and the
 * quota check counts the bytes the library has locked against the soft limit
 * itself, so the rule holds even for a process with CAP_IPC_LOCK (which the
 * kernel would let lock without bound).
 *
 * Invariants: the sizes and flags live under ws_lock, which is never held
 * while caller memory is touched (the edge probes and writes outside);
 * arguments arrive validated by the edge (win32/workingset.c).
 */
#include "core/vm.h"
#include "os/os.h"

#define RLIM_INF UINT64_MAX

/* Windows' defaults: 50 and 345 pages of 4 KiB, hard limits disabled. */
static SIZE_T ws_min = 50 * 4096, ws_max = 345 * 4096;
static DWORD ws_flags = QUOTA_LIMITS_HARDWS_MIN_DISABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE;
static uint64_t initial_soft;
static int initial_known;
static vw_lock_t ws_lock;

DWORD vw_lock_quota_check_locked(size_t bytes)
{
    uint64_t soft, hard;
    if (os_memlock_limit(&soft, &hard) != 0 || soft == RLIM_INF)
        return 0;
    if (bytes > soft || vw_state.locked > soft - bytes)
        return ERROR_WORKING_SET_QUOTA;
    return 0;
}

/* ws_lock is held with every signal blocked: a handler on the same thread
 * that called these would otherwise wait for itself (these calls are rare
 * and make syscalls anyway; two more cost nothing that matters). */
static void ws_enter(uint64_t *mask)
{
    os_sigblock_all(mask);
    vw_lock(&ws_lock);
}

static void ws_leave(const uint64_t *mask)
{
    vw_unlock(&ws_lock);
    os_sigrestore(mask);
}

void vm_ws_set(SIZE_T min, SIZE_T max, DWORD flags)
{
    uint64_t mask;
    ws_enter(&mask);
    uint64_t soft, hard;
    if (os_memlock_limit(&soft, &hard) == 0) {
        if (!initial_known) {
            initial_soft = soft;
            initial_known = 1;
        }
        /* The lockable amount follows the minimum, never below where it began. */
        uint64_t want = initial_soft;
        if (want != RLIM_INF && (uint64_t)min > want)
            want = (uint64_t)min;
        if (hard != RLIM_INF && (want == RLIM_INF || want > hard))
            want = hard;
        if (want != soft)
            os_set_memlock_limit(want, hard);
    }
    ws_min = min;
    ws_max = max;
    if (flags & QUOTA_LIMITS_HARDWS_MIN_ENABLE)
        ws_flags = (ws_flags & ~QUOTA_LIMITS_HARDWS_MIN_DISABLE) | QUOTA_LIMITS_HARDWS_MIN_ENABLE;
    if (flags & QUOTA_LIMITS_HARDWS_MIN_DISABLE)
        ws_flags = (ws_flags & ~QUOTA_LIMITS_HARDWS_MIN_ENABLE) | QUOTA_LIMITS_HARDWS_MIN_DISABLE;
    if (flags & QUOTA_LIMITS_HARDWS_MAX_ENABLE)
        ws_flags = (ws_flags & ~QUOTA_LIMITS_HARDWS_MAX_DISABLE) | QUOTA_LIMITS_HARDWS_MAX_ENABLE;
    if (flags & QUOTA_LIMITS_HARDWS_MAX_DISABLE)
        ws_flags = (ws_flags & ~QUOTA_LIMITS_HARDWS_MAX_ENABLE) | QUOTA_LIMITS_HARDWS_MAX_DISABLE;
    ws_leave(&mask);
}

void vm_ws_get(SIZE_T *min, SIZE_T *max, DWORD *flags)
{
    uint64_t mask;
    ws_enter(&mask);
    *min = ws_min;
    *max = ws_max;
    *flags = ws_flags;
    ws_leave(&mask);
}
