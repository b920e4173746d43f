/*
 * check_workingset.c: SetProcessWorkingSetSize(Ex), GetProcessWorkingSetSize(Ex)
 * and the VirtualLock quota they govern (spec section 8, issue item 1).
 *
 * Rules checked:
 * - the minimum and maximum are remembered (Windows' defaults 204800 / 1413120,
 *   hard limits disabled: flags 0xA);
 * - min > max, or exactly one of them (SIZE_T)-1: ERROR_INVALID_PARAMETER;
 *   both (SIZE_T)-1 trims: TRUE, sizes and locks unchanged;
 *   ENABLE and DISABLE of the same limit together: ERROR_INVALID_PARAMETER;
 *   a NULL process handle: ERROR_INVALID_HANDLE;
 * - raising the minimum raises the soft RLIMIT_MEMLOCK (up to the hard limit,
 *   never below the soft limit the process started with), so the lockable
 *   amount follows it; beyond it VirtualLock fails with ERROR_WORKING_SET_QUOTA
 *   and locks nothing, also for a process holding CAP_IPC_LOCK.
 *
 * The hard RLIMIT_MEMLOCK cannot be raised here (EPERM even for root), so the
 * tests only ever lower the soft limit.  Every test runs in its own process
 * (Check's fork mode): rlimits, capabilities and the library's remembered sizes
 * do not leak from one test to the next.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG VW_PAGE
#define WS_DEFAULT_MIN ((SIZE_T)204800)
#define WS_DEFAULT_MAX ((SIZE_T)1413120)
#define WS_ALL ((SIZE_T)-1)

/* ---- helpers ------------------------------------------------------------ */

static void get_ws(SIZE_T *min, SIZE_T *max, DWORD *flags)
{
    *min = *max = 0xAAAA;
    *flags = 0xAAAA;
    VW_EXPECT_OK(GetProcessWorkingSetSizeEx(GetCurrentProcess(), min, max, flags));
}

static void assert_ws(SIZE_T min, SIZE_T max, DWORD flags)
{
    SIZE_T a, b;
    DWORD f;
    get_ws(&a, &b, &f);
    ck_assert_msg(a == min && b == max && f == flags,
                  "working set %zu/%zu flags %#x, expected %zu/%zu flags %#x", (size_t)a,
                  (size_t)b, (unsigned)f, (size_t)min, (size_t)max, (unsigned)flags);
}

static struct rlimit memlock(void)
{
    struct rlimit rl;
    ck_assert_msg(getrlimit(RLIMIT_MEMLOCK, &rl) == 0, "getrlimit: %s", strerror(errno));
    return rl;
}

/* Lowers the soft RLIMIT_MEMLOCK to `soft`, leaving the hard limit as it is. */
static void set_soft_memlock(rlim_t soft)
{
    struct rlimit rl = memlock();
    ck_assert_msg(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= soft,
                  "hard RLIMIT_MEMLOCK %llu is below %llu", (unsigned long long)rl.rlim_max,
                  (unsigned long long)soft);
    rl.rlim_cur = soft;
    ck_assert_msg(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit: %s", strerror(errno));
}

/* 1 if CAP_IPC_LOCK is effective in this process. */
static int have_ipc_lock(void)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) != 0)
        return 0;
    return !!(data[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32)));
}

/* ---- remembered sizes and flags ----------------------------------------- */

/* Item 1: before any Set call, Get reports Windows' defaults (50 and 345 pages
 * of 4 KiB) and both hard limits disabled (MIN_DISABLE|MAX_DISABLE = 0xA). */
START_TEST(ws_defaults)
{
    SIZE_T min = 0, max = 0;
    VW_EXPECT_OK(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
    ck_assert_uint_eq(min, WS_DEFAULT_MIN);
    ck_assert_uint_eq(max, WS_DEFAULT_MAX);
    assert_ws(WS_DEFAULT_MIN, WS_DEFAULT_MAX,
              QUOTA_LIMITS_HARDWS_MIN_DISABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE);
    ck_assert_uint_eq(QUOTA_LIMITS_HARDWS_MIN_DISABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE, 0xA);
}
END_TEST

/* Item 1: SetProcessWorkingSetSize remembers the minimum and maximum; the
 * plain call leaves the Ex flags alone; min == max is allowed. */
START_TEST(ws_set_get_roundtrip)
{
    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), 300 * 1024, 2 * 1024 * 1024));
    SIZE_T min = 0, max = 0;
    VW_EXPECT_OK(GetProcessWorkingSetSize(GetCurrentProcess(), &min, &max));
    ck_assert_uint_eq(min, 300 * 1024);
    ck_assert_uint_eq(max, 2 * 1024 * 1024);
    assert_ws(300 * 1024, 2 * 1024 * 1024, 0xA);

    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), 512 * 1024, 512 * 1024));
    assert_ws(512 * 1024, 512 * 1024, 0xA);
    /* Going back down is remembered too. */
    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), WS_DEFAULT_MIN, WS_DEFAULT_MAX));
    assert_ws(WS_DEFAULT_MIN, WS_DEFAULT_MAX, 0xA);
}
END_TEST

/* Item 1: SetProcessWorkingSetSizeEx remembers the sizes and the hard-limit
 * flags; ENABLE replaces DISABLE for the same limit and the other way round;
 * Flags 0 leaves them as they were. */
START_TEST(ws_ex_flags)
{
    HANDLE h = GetCurrentProcess();
    VW_EXPECT_OK(SetProcessWorkingSetSizeEx(h, 400 * 1024, 1024 * 1024,
                                            QUOTA_LIMITS_HARDWS_MIN_ENABLE));
    assert_ws(400 * 1024, 1024 * 1024,
              QUOTA_LIMITS_HARDWS_MIN_ENABLE | QUOTA_LIMITS_HARDWS_MAX_DISABLE);
    VW_EXPECT_OK(SetProcessWorkingSetSizeEx(h, 400 * 1024, 1024 * 1024,
                                            QUOTA_LIMITS_HARDWS_MAX_ENABLE));
    assert_ws(400 * 1024, 1024 * 1024,
              QUOTA_LIMITS_HARDWS_MIN_ENABLE | QUOTA_LIMITS_HARDWS_MAX_ENABLE);
    VW_EXPECT_OK(SetProcessWorkingSetSizeEx(h, 500 * 1024, 1024 * 1024, 0));
    assert_ws(500 * 1024, 1024 * 1024,
              QUOTA_LIMITS_HARDWS_MIN_ENABLE | QUOTA_LIMITS_HARDWS_MAX_ENABLE);
    VW_EXPECT_OK(SetProcessWorkingSetSizeEx(h, 500 * 1024, 1024 * 1024,
                                            QUOTA_LIMITS_HARDWS_MIN_DISABLE |
                                                QUOTA_LIMITS_HARDWS_MAX_DISABLE));
    assert_ws(500 * 1024, 1024 * 1024, 0xA);
    VW_EXPECT_OK(SetProcessWorkingSetSizeEx(h, 500 * 1024, 1024 * 1024,
                                            QUOTA_LIMITS_HARDWS_MIN_ENABLE |
                                                QUOTA_LIMITS_HARDWS_MAX_DISABLE));
    assert_ws(500 * 1024, 1024 * 1024, 0x9);
    /* The plain Set keeps the flags. */
    VW_EXPECT_OK(SetProcessWorkingSetSize(h, 600 * 1024, 1024 * 1024));
    assert_ws(600 * 1024, 1024 * 1024, 0x9);
}
END_TEST

/* Item 1: ENABLE and DISABLE of the same limit together, or an unknown flag:
 * ERROR_INVALID_PARAMETER, and nothing changes. */
START_TEST(ws_ex_conflicting_flags)
{
    HANDLE h = GetCurrentProcess();
    struct rlimit before = memlock();
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(h, 1024 * 1024, 2 * 1024 * 1024,
                                              QUOTA_LIMITS_HARDWS_MIN_ENABLE |
                                                  QUOTA_LIMITS_HARDWS_MIN_DISABLE),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(h, 1024 * 1024, 2 * 1024 * 1024,
                                              QUOTA_LIMITS_HARDWS_MAX_ENABLE |
                                                  QUOTA_LIMITS_HARDWS_MAX_DISABLE),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(h, 1024 * 1024, 2 * 1024 * 1024, 0xF),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(h, 1024 * 1024, 2 * 1024 * 1024, 0x10),
                   ERROR_INVALID_PARAMETER);
    /* Conflicting flags are refused even with the trim sizes. */
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(h, WS_ALL, WS_ALL,
                                              QUOTA_LIMITS_HARDWS_MIN_ENABLE |
                                                  QUOTA_LIMITS_HARDWS_MIN_DISABLE),
                   ERROR_INVALID_PARAMETER);
    assert_ws(WS_DEFAULT_MIN, WS_DEFAULT_MAX, 0xA);
    struct rlimit after = memlock();
    ck_assert_uint_eq(after.rlim_cur, before.rlim_cur);
    ck_assert_uint_eq(after.rlim_max, before.rlim_max);
}
END_TEST

/* Item 1: min > max, or exactly one of the sizes (SIZE_T)-1:
 * ERROR_INVALID_PARAMETER, sizes and RLIMIT_MEMLOCK unchanged (plain and Ex). */
START_TEST(ws_invalid_sizes)
{
    HANDLE h = GetCurrentProcess();
    VW_EXPECT_OK(SetProcessWorkingSetSize(h, 256 * 1024, 1024 * 1024));
    struct rlimit before = memlock();
    VW_EXPECT_FAIL(SetProcessWorkingSetSize(h, 2 * 1024 * 1024, 1024 * 1024),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSize(h, 1024 * 1024 + 1, 1024 * 1024),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSize(h, WS_ALL, 1024 * 1024), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSize(h, 1024 * 1024, WS_ALL), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(h, 2 * 1024 * 1024, 1024 * 1024, 0),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(h, WS_ALL, 1024 * 1024,
                                              QUOTA_LIMITS_HARDWS_MIN_ENABLE),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(h, 1024 * 1024, WS_ALL, 0), ERROR_INVALID_PARAMETER);
    /* Nothing changed: sizes, flags (the failed MIN_ENABLE did not stick), rlimit. */
    assert_ws(256 * 1024, 1024 * 1024, 0xA);
    struct rlimit after = memlock();
    ck_assert_uint_eq(after.rlim_cur, before.rlim_cur);
    ck_assert_uint_eq(after.rlim_max, before.rlim_max);
}
END_TEST

/* Item 1: (SIZE_T)-1 for both sizes trims the working set: TRUE, last error
 * untouched, the remembered sizes and RLIMIT_MEMLOCK unchanged; trimming drops
 * no data and keeps locked pages locked. */
START_TEST(ws_trim)
{
    HANDLE h = GetCurrentProcess();
    VW_EXPECT_OK(SetProcessWorkingSetSize(h, 300 * 1024, 900 * 1024));
    struct rlimit before = memlock();
    char *p = vw_alloc_commit(16 * PG, PAGE_READWRITE);
    for (size_t i = 0; i < 16; i++)
        p[i * PG] = (char)(i + 1);
    VW_EXPECT_OK(VirtualLock(p, 4 * PG));

    VW_EXPECT_OK(SetProcessWorkingSetSize(h, WS_ALL, WS_ALL));
    assert_ws(300 * 1024, 900 * 1024, 0xA);
    VW_EXPECT_OK(SetProcessWorkingSetSizeEx(h, WS_ALL, WS_ALL, 0));
    assert_ws(300 * 1024, 900 * 1024, 0xA);
    struct rlimit after = memlock();
    ck_assert_uint_eq(after.rlim_cur, before.rlim_cur);

    ck_assert_int_eq(vw_lock_state(p, 4 * PG), 1);
    ck_assert_int_eq(vw_lock_state(p + 4 * PG, 12 * PG), 0);
    for (size_t i = 0; i < 16; i++)
        ck_assert_int_eq(p[i * PG], (char)(i + 1));
    MEMORY_BASIC_INFORMATION m = vw_query(p);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(m.RegionSize, 16 * PG);
    VW_EXPECT_OK(VirtualUnlock(p, 4 * PG));
    vw_release(p);
}
END_TEST

/* Section 9 / item 1: a NULL process handle: ERROR_INVALID_HANDLE for all four
 * calls; nothing is changed or written. */
START_TEST(ws_null_handle)
{
    VW_EXPECT_FAIL(SetProcessWorkingSetSize(NULL, 1024 * 1024, 2 * 1024 * 1024),
                   ERROR_INVALID_HANDLE);
    VW_EXPECT_FAIL(SetProcessWorkingSetSizeEx(NULL, 1024 * 1024, 2 * 1024 * 1024, 0),
                   ERROR_INVALID_HANDLE);
    VW_EXPECT_FAIL(SetProcessWorkingSetSize(NULL, WS_ALL, WS_ALL), ERROR_INVALID_HANDLE);
    SIZE_T min = 77, max = 88;
    DWORD flags = 99;
    VW_EXPECT_FAIL(GetProcessWorkingSetSize(NULL, &min, &max), ERROR_INVALID_HANDLE);
    VW_EXPECT_FAIL(GetProcessWorkingSetSizeEx(NULL, &min, &max, &flags), ERROR_INVALID_HANDLE);
    ck_assert_uint_eq(min, 77);
    ck_assert_uint_eq(max, 88);
    ck_assert_uint_eq(flags, 99);
    assert_ws(WS_DEFAULT_MIN, WS_DEFAULT_MAX, 0xA);
}
END_TEST

/* ---- the minimum and RLIMIT_MEMLOCK ------------------------------------- */

/* Item 1: raising the minimum raises the soft RLIMIT_MEMLOCK to the minimum,
 * capped at the hard limit (which never moves); lowering it again brings the
 * soft limit back down, but never below where it was at the first call. */
START_TEST(ws_min_raises_memlock)
{
    const rlim_t initial = 64 * 1024;
    struct rlimit rl = memlock();
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2 * 1024 * 1024) {
        fprintf(stderr, "check_workingset: hard RLIMIT_MEMLOCK %llu is below 2 MiB, "
                        "skipping ws_min_raises_memlock\n", (unsigned long long)rl.rlim_max);
        return;
    }
    const rlim_t hard = rl.rlim_max;
    set_soft_memlock(initial);

    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), 1024 * 1024, 2 * 1024 * 1024));
    rl = memlock();
    ck_assert_uint_eq(rl.rlim_cur, 1024 * 1024);
    ck_assert_uint_eq(rl.rlim_max, hard);

    /* Below the starting soft limit: back to the starting soft limit, not lower. */
    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), 16 * 1024, 2 * 1024 * 1024));
    rl = memlock();
    ck_assert_uint_eq(rl.rlim_cur, initial);
    assert_ws(16 * 1024, 2 * 1024 * 1024, 0xA);

    VW_EXPECT_OK(SetProcessWorkingSetSizeEx(GetCurrentProcess(), 200 * 1024, 2 * 1024 * 1024,
                                            QUOTA_LIMITS_HARDWS_MIN_ENABLE));
    ck_assert_uint_eq(memlock().rlim_cur, 200 * 1024);

    /* Beyond the hard limit: capped there; the call still succeeds and remembers
     * the asked-for minimum. */
    if (hard != RLIM_INFINITY) {
        SIZE_T big = (SIZE_T)hard * 4;
        VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), big, big * 2));
        rl = memlock();
        ck_assert_uint_eq(rl.rlim_cur, hard);
        ck_assert_uint_eq(rl.rlim_max, hard);
        assert_ws(big, big * 2, 0x9);
    }
}
END_TEST

/* Item 1 + section 8: the quota is hit (soft RLIMIT_MEMLOCK lowered to 64 KiB,
 * CAP_IPC_LOCK dropped): ERROR_WORKING_SET_QUOTA, nothing of the failed range
 * locked (unlocking it: ERROR_NOT_LOCKED); relocking locked pages costs nothing;
 * raising the minimum lifts the quota to the new minimum. */
static void quota_scenario(void)
{
    const size_t q = 64 * 1024;
    set_soft_memlock(q);
    char *p = vw_alloc_commit(1024 * 1024, PAGE_READWRITE);

    /* Exactly the quota: fine. */
    VW_EXPECT_OK(VirtualLock(p, q));
    ck_assert_int_eq(vw_lock_state(p, q), 1);
    /* Locking pages that are already locked takes no more quota (no count). */
    VW_EXPECT_OK(VirtualLock(p, q));
    VW_EXPECT_OK(VirtualLock(p + PG, 2 * PG));
    /* One page more: the quota. */
    VW_EXPECT_FAIL(VirtualLock(p + q, PG), ERROR_WORKING_SET_QUOTA);
    ck_assert_uint_eq(ERROR_WORKING_SET_QUOTA, 1453);
    /* A range overlapping the locked pages and one new page: also refused, all or nothing. */
    VW_EXPECT_FAIL(VirtualLock(p, q + PG), ERROR_WORKING_SET_QUOTA);
    ck_assert_int_eq(vw_lock_state(p, q), 1);
    ck_assert_int_eq(vw_lock_state(p + q, 1024 * 1024 - q), 0);
    /* The page whose lock failed is not locked. */
    VW_EXPECT_FAIL(VirtualUnlock(p + q, PG), ERROR_NOT_LOCKED);
    ck_assert_int_eq(vw_lock_state(p, q), 1);

    /* Raise the minimum to 512 KiB: the quota follows. */
    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), 512 * 1024, 1024 * 1024));
    ck_assert_uint_eq(memlock().rlim_cur, 512 * 1024);
    VW_EXPECT_OK(VirtualLock(p + q, 512 * 1024 - q));
    ck_assert_int_eq(vw_lock_state(p, 512 * 1024), 1);
    /* ... and is exhausted again exactly at the new minimum. */
    VW_EXPECT_FAIL(VirtualLock(p + 512 * 1024, PG), ERROR_WORKING_SET_QUOTA);
    ck_assert_int_eq(vw_lock_state(p + 512 * 1024, 512 * 1024), 0);
    /* Contents are untouched by all this. */
    p[0] = 1;
    p[600 * 1024] = 2;
    ck_assert_int_eq(p[0] + p[600 * 1024], 3);

    /* Unlocking gives the quota back. */
    VW_EXPECT_OK(VirtualUnlock(p, 256 * 1024));
    VW_EXPECT_OK(VirtualLock(p + 512 * 1024, 256 * 1024));
    ck_assert_int_eq(vw_lock_state(p + 256 * 1024, 512 * 1024), 1);
    VW_EXPECT_FAIL(VirtualLock(p, PG), ERROR_WORKING_SET_QUOTA);
    VW_EXPECT_OK(VirtualUnlock(p + 256 * 1024, 512 * 1024));
    ck_assert_int_eq(vw_lock_state(p, 1024 * 1024), 0);
    VW_EXPECT_OK(VirtualLock(p, 512 * 1024));
    VW_EXPECT_OK(VirtualUnlock(p, 512 * 1024));
    vw_release(p);
}

START_TEST(lock_quota_lifted_by_minimum)
{
    if (!vw_drop_ipc_lock()) {
        fprintf(stderr, "check_workingset: cannot drop CAP_IPC_LOCK (%s); running the "
                        "quota scenario with it\n", strerror(errno));
    }
    quota_scenario();
}
END_TEST

/* Item 1: the quota is the library's own, so it holds even for a process with
 * CAP_IPC_LOCK (which the kernel lets lock without bound). */
START_TEST(lock_quota_with_cap_ipc_lock)
{
    if (!have_ipc_lock())
        fprintf(stderr, "check_workingset: no CAP_IPC_LOCK here; running the quota "
                        "scenario without it\n");
    quota_scenario();
}
END_TEST

/* Item 1: lowering the minimum lowers the quota: existing locks stay, further
 * locks fail with ERROR_WORKING_SET_QUOTA until enough is unlocked. */
START_TEST(lock_quota_lowered_minimum)
{
    vw_drop_ipc_lock();
    set_soft_memlock(64 * 1024);
    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), 512 * 1024, 1024 * 1024));
    char *p = vw_alloc_commit(512 * 1024, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p, 256 * 1024));

    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), 128 * 1024, 1024 * 1024));
    ck_assert_uint_eq(memlock().rlim_cur, 128 * 1024);
    ck_assert_int_eq(vw_lock_state(p, 256 * 1024), 1);
    VW_EXPECT_FAIL(VirtualLock(p + 256 * 1024, PG), ERROR_WORKING_SET_QUOTA);
    ck_assert_int_eq(vw_lock_state(p + 256 * 1024, PG), 0);

    /* Unlock down to 64 KiB locked: 64 KiB of room under the 128 KiB quota. */
    VW_EXPECT_OK(VirtualUnlock(p + 64 * 1024, 192 * 1024));
    VW_EXPECT_OK(VirtualLock(p + 256 * 1024, 64 * 1024));
    VW_EXPECT_FAIL(VirtualLock(p + 320 * 1024, PG), ERROR_WORKING_SET_QUOTA);
    VW_EXPECT_OK(VirtualUnlock(p, 64 * 1024));
    VW_EXPECT_OK(VirtualUnlock(p + 256 * 1024, 64 * 1024));
    vw_release(p);
}
END_TEST

/* Section 8 + item 1: decommit and release drop locks and give their quota back. */
START_TEST(lock_quota_freed_by_decommit_and_release)
{
    vw_drop_ipc_lock();
    const size_t q = 64 * 1024;
    set_soft_memlock(q);
    char *p = vw_alloc_commit(256 * 1024, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p, q));
    VW_EXPECT_FAIL(VirtualLock(p + q, PG), ERROR_WORKING_SET_QUOTA);

    ck_assert(VirtualFree(p, q / 2, MEM_DECOMMIT));
    VW_EXPECT_OK(VirtualLock(p + q, q / 2));
    ck_assert_int_eq(vw_lock_state(p + q, q / 2), 1);
    VW_EXPECT_FAIL(VirtualLock(p + q + q / 2, PG), ERROR_WORKING_SET_QUOTA);

    vw_release(p);
    char *r = vw_alloc_commit(q, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(r, q));
    ck_assert_int_eq(vw_lock_state(r, q), 1);
    VW_EXPECT_OK(VirtualUnlock(r, q));
    vw_release(r);
}
END_TEST

/* Section 8: the guard-page rule comes before the quota: a guard page in the
 * range gives STATUS_GUARD_PAGE_VIOLATION (and clears the guard) even when the
 * quota would be exceeded; the retry then meets the quota. */
START_TEST(lock_guard_before_quota)
{
    vw_drop_ipc_lock();
    set_soft_memlock(64 * 1024);
    char *p = VirtualAlloc(NULL, 32 * PG, MEM_RESERVE | MEM_COMMIT,
                           PAGE_READWRITE | PAGE_GUARD);
    ck_assert_ptr_nonnull(p);
    VW_EXPECT_FAIL(VirtualLock(p, 32 * PG), STATUS_GUARD_PAGE_VIOLATION);
    ck_assert_uint_eq(vw_query(p).Protect, PAGE_READWRITE);
    if (32 * PG > 64 * 1024)
        VW_EXPECT_FAIL(VirtualLock(p, 32 * PG), ERROR_WORKING_SET_QUOTA);
    VW_EXPECT_OK(VirtualLock(p, 8 * PG));
    VW_EXPECT_OK(VirtualUnlock(p, 8 * PG));
    vw_release(p);
}
END_TEST

static Suite *workingset_suite(void)
{
    Suite *s = suite_create("workingset");
    TCase *tc = tcase_create("sizes");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ws_defaults);
    tcase_add_test(tc, ws_set_get_roundtrip);
    tcase_add_test(tc, ws_ex_flags);
    tcase_add_test(tc, ws_ex_conflicting_flags);
    tcase_add_test(tc, ws_invalid_sizes);
    tcase_add_test(tc, ws_trim);
    tcase_add_test(tc, ws_null_handle);
    suite_add_tcase(s, tc);

    tc = tcase_create("quota");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ws_min_raises_memlock);
    tcase_add_test(tc, lock_quota_lifted_by_minimum);
    tcase_add_test(tc, lock_quota_with_cap_ipc_lock);
    tcase_add_test(tc, lock_quota_lowered_minimum);
    tcase_add_test(tc, lock_quota_freed_by_decommit_and_release);
    tcase_add_test(tc, lock_guard_before_quota);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(workingset_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
