/*
 * check_lock.c: VirtualLock and VirtualUnlock (spec section 8).
 *
 * Lock state is observed from the kernel: the VmFlags "lo" (VM_LOCKED) of the
 * /proc/self/smaps entries that cover a page, the process's VmLck in
 * /proc/self/status, and residency through mincore(2).  Every test runs in its
 * own process (Check's fork mode), so locks, rlimits and capabilities changed
 * here do not leak into other tests.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

#define PG VW_PAGE

/* 1 if every page of [p, p+size) is resident (mincore). */
static int all_resident(const void *p, size_t size)
{
    size_t n = (size + PG - 1) / PG;
    unsigned char *vec = calloc(n, 1);
    ck_assert_ptr_nonnull(vec);
    ck_assert_msg(mincore((void *)p, size, vec) == 0, "mincore: %s", strerror(errno));
    int all = 1;
    for (size_t i = 0; i < n; i++)
        all &= vec[i] & 1;
    free(vec);
    return all;
}

/* ---- errors --------------------------------------------------------------- */

/* Section 8: every page must be committed; reserved pages give ERROR_INVALID_ADDRESS
 * for VirtualLock and VirtualUnlock alike. */
START_TEST(lock_reserved_fails)
{
    char *p = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    VW_EXPECT_FAIL(VirtualLock(p, PG), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualLock(p + 3 * PG, 2 * PG), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualUnlock(p, PG), ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(vw_lock_state(p, 16 * PG), 0);
    MEMORY_BASIC_INFORMATION m = vw_query(p);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    ck_assert_uint_eq(m.RegionSize, 16 * PG);
    vw_release(p);
}
END_TEST

/* Section 8: a range that is only partly committed fails with ERROR_INVALID_ADDRESS. */
START_TEST(lock_partly_committed_fails)
{
    char *p = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(VirtualAlloc(p, 2 * PG, MEM_COMMIT, PAGE_READWRITE), p);
    VW_EXPECT_FAIL(VirtualLock(p, 3 * PG), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualLock(p + PG, 2 * PG), ERROR_INVALID_ADDRESS);
    /* The committed pages alone can be locked. */
    VW_EXPECT_OK(VirtualLock(p, 2 * PG));
    VW_EXPECT_OK(VirtualUnlock(p, 2 * PG));
    vw_release(p);
}
END_TEST

/* Section 8 + 5: free (never allocated or released) memory is not committed:
 * ERROR_INVALID_ADDRESS. */
START_TEST(lock_free_fails)
{
    char *p = vw_alloc_commit(VW_64K, PAGE_READWRITE);
    vw_release(p);
    MEMORY_BASIC_INFORMATION m = vw_query(p);
    ck_assert_uint_eq(m.State, MEM_FREE);
    VW_EXPECT_FAIL(VirtualLock(p, PG), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualUnlock(p, PG), ERROR_INVALID_ADDRESS);
    /* Nothing got mapped by the failed calls. */
    m = vw_query(p);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert_int_eq(vw_can_read(p), 0);
}
END_TEST

/* Section 8: PAGE_NOACCESS pages cannot be locked: ERROR_NOACCESS. */
START_TEST(lock_noaccess_fails)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    DWORD old;
    ck_assert(VirtualProtect(p + PG, PG, PAGE_NOACCESS, &old));
    VW_EXPECT_FAIL(VirtualLock(p + PG, PG), ERROR_NOACCESS);
    VW_EXPECT_FAIL(VirtualLock(p, 4 * PG), ERROR_NOACCESS);
    ck_assert_int_eq(vw_lock_state(p + PG, PG), 0);
    /* Protection unchanged, still inaccessible. */
    MEMORY_BASIC_INFORMATION m = vw_query(p + PG);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_NOACCESS);
    ck_assert_int_eq(vw_can_read(p + PG), 0);

    char *q = vw_alloc_commit(PG, PAGE_NOACCESS);
    VW_EXPECT_FAIL(VirtualLock(q, PG), ERROR_NOACCESS);
    vw_release(q);
    vw_release(p);
}
END_TEST

/* Section 8: a PAGE_GUARD page makes VirtualLock fail with last error
 * STATUS_GUARD_PAGE_VIOLATION and clears the guard; the next call succeeds. */
START_TEST(lock_guard_page)
{
    char *p = vw_alloc_commit(3 * PG, PAGE_READWRITE);
    p[0] = 1;
    p[2 * PG] = 3;
    DWORD old;
    ck_assert(VirtualProtect(p + PG, PG, PAGE_READWRITE | PAGE_GUARD, &old));
    ck_assert_uint_eq(vw_query(p + PG).Protect, PAGE_READWRITE | PAGE_GUARD);

    VW_EXPECT_FAIL(VirtualLock(p, 3 * PG), STATUS_GUARD_PAGE_VIOLATION);

    /* The guard is gone: Protect without PAGE_GUARD, the page is accessible. */
    MEMORY_BASIC_INFORMATION m = vw_query(p + PG);
    ck_assert_msg(m.Protect == PAGE_READWRITE, "Protect %#x after VirtualLock hit the guard",
                  (unsigned)m.Protect);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    /* The three pages are alike again: one region. */
    m = vw_query(p);
    ck_assert_uint_eq(m.RegionSize, 3 * PG);
    vw_assert_range_agrees(p, 3 * PG);

    VW_EXPECT_OK(VirtualLock(p, 3 * PG));
    ck_assert_int_eq(vw_lock_state(p, 3 * PG), 1);
    ck_assert_int_eq(vw_can_write(p + PG), 1);
    ck_assert_int_eq(p[0], 1);
    ck_assert_int_eq(p[2 * PG], 3);
    VW_EXPECT_OK(VirtualUnlock(p, 3 * PG));
    vw_release(p);
}
END_TEST

/* Section 8: a single guard page locked on its own behaves the same. */
START_TEST(lock_guard_single_page)
{
    char *p = vw_alloc_commit(PG, PAGE_READONLY | PAGE_GUARD);
    ck_assert_uint_eq(vw_query(p).Protect, PAGE_READONLY | PAGE_GUARD);
    VW_EXPECT_FAIL(VirtualLock(p, PG), STATUS_GUARD_PAGE_VIOLATION);
    ck_assert_uint_eq(vw_query(p).Protect, PAGE_READONLY);
    VW_EXPECT_OK(VirtualLock(p, PG));
    ck_assert_int_eq(vw_lock_state(p, PG), 1);
    ck_assert_int_eq(vw_can_read(p), 1);
    ck_assert_int_eq(vw_can_write(p), 0);
    vw_release(p);
}
END_TEST

/* Section 8: VirtualUnlock of pages that were never locked: ERROR_NOT_LOCKED (158),
 * as on Windows (Wine 8 differs). */
START_TEST(unlock_never_locked)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    VW_EXPECT_FAIL(VirtualUnlock(p, PG), ERROR_NOT_LOCKED);
    VW_EXPECT_FAIL(VirtualUnlock(p, 4 * PG), ERROR_NOT_LOCKED);
    ck_assert_uint_eq(ERROR_NOT_LOCKED, 158);
    ck_assert_int_eq(vw_lock_state(p, 4 * PG), 0);
    vw_release(p);
}
END_TEST

/* ---- locking -------------------------------------------------------------- */

/* Section 8: locked pages stay in RAM (mlock): resident, VM_LOCKED, VmLck grows;
 * contents are kept; success leaves the last error alone (section 2). */
START_TEST(lock_makes_resident)
{
    const size_t n = 8;   /* 32 KiB: under even the old 64 KiB default RLIMIT_MEMLOCK */
    long before = vw_status_kb("VmLck");
    char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
    p[5 * PG] = 0x5A;
    VW_EXPECT_OK(VirtualLock(p, n * PG));
    ck_assert_int_eq(vw_lock_state(p, n * PG), 1);
    ck_assert_msg(all_resident(p, n * PG), "locked pages are not all resident");
    long after = vw_status_kb("VmLck");
    ck_assert_msg(after - before >= (long)(n * PG / 1024), "VmLck grew by %ld kB, expected %zu",
                  after - before, n * PG / 1024);
    /* Contents: the written byte kept, the rest zero. */
    for (size_t i = 0; i < n * PG; i += 256)
        ck_assert_int_eq(p[i], i == 5 * PG ? 0x5A : 0);
    VW_EXPECT_OK(VirtualUnlock(p, n * PG));
    ck_assert_int_eq(vw_lock_state(p, n * PG), 0);
    ck_assert_int_eq(vw_status_kb("VmLck"), before);
    ck_assert_int_eq(p[5 * PG], 0x5A);
    vw_release(p);
}
END_TEST

/* Section 8: read-only and execute-read pages are accessible and can be locked. */
START_TEST(lock_readonly_and_exec)
{
    char *p = vw_alloc_commit(2 * PG, PAGE_READONLY);
    VW_EXPECT_OK(VirtualLock(p, 2 * PG));
    ck_assert_int_eq(vw_lock_state(p, 2 * PG), 1);
    ck_assert(all_resident(p, 2 * PG));
    ck_assert_int_eq(vw_can_write(p), 0);
    VW_EXPECT_OK(VirtualUnlock(p, 2 * PG));
    vw_release(p);

    char *q = vw_alloc_commit(PG, PAGE_EXECUTE_READ);
    VW_EXPECT_OK(VirtualLock(q, PG));
    ck_assert_int_eq(vw_lock_state(q, PG), 1);
    VW_EXPECT_OK(VirtualUnlock(q, PG));
    vw_release(q);
}
END_TEST

/* Section 8 (pages): the range is rounded out to whole pages, as everywhere:
 * 2 bytes straddling a page boundary lock both pages. */
START_TEST(lock_rounds_to_pages)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p + PG - 1, 2));
    ck_assert_int_eq(vw_lock_state(p, 2 * PG), 1);
    ck_assert_int_eq(vw_lock_state(p + 2 * PG, 2 * PG), 0);
    /* Both pages are locked, so unlocking both succeeds. */
    VW_EXPECT_OK(VirtualUnlock(p + 10, 2 * PG - 20));
    ck_assert_int_eq(vw_lock_state(p, 4 * PG), 0);
    vw_release(p);
}
END_TEST

/* Section 8: no lock count. Lock twice, unlock once -> unlocked; a second unlock
 * fails with ERROR_NOT_LOCKED. */
START_TEST(lock_no_count)
{
    long before = vw_status_kb("VmLck");
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p, 4 * PG));
    VW_EXPECT_OK(VirtualLock(p, 4 * PG));
    VW_EXPECT_OK(VirtualLock(p + PG, PG));
    ck_assert_int_eq(vw_status_kb("VmLck") - before, (long)(4 * PG / 1024));
    VW_EXPECT_OK(VirtualUnlock(p, 4 * PG));
    ck_assert_int_eq(vw_lock_state(p, 4 * PG), 0);
    ck_assert_int_eq(vw_status_kb("VmLck"), before);
    VW_EXPECT_FAIL(VirtualUnlock(p, 4 * PG), ERROR_NOT_LOCKED);
    VW_EXPECT_FAIL(VirtualUnlock(p + PG, PG), ERROR_NOT_LOCKED);
    vw_release(p);
}
END_TEST

/* Section 8: unlocking a partly locked range fails with ERROR_NOT_LOCKED after
 * unlocking the pages that were locked; unlocking those again fails too. */
START_TEST(unlock_partly_locked)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p, 2 * PG));
    ck_assert_int_eq(vw_lock_state(p, 2 * PG), 1);
    ck_assert_int_eq(vw_lock_state(p + 2 * PG, 2 * PG), 0);
    VW_EXPECT_FAIL(VirtualUnlock(p, 4 * PG), ERROR_NOT_LOCKED);
    ck_assert_msg(vw_lock_state(p, 4 * PG) == 0, "the locked pages were not unlocked");
    VW_EXPECT_FAIL(VirtualUnlock(p, 2 * PG), ERROR_NOT_LOCKED);
    VW_EXPECT_FAIL(VirtualUnlock(p, PG), ERROR_NOT_LOCKED);
    vw_release(p);
}
END_TEST

/* Section 8: the same when the unlocked pages come first: the locked pages after
 * them are still unlocked by the failing call. */
START_TEST(unlock_partly_locked_tail)
{
    long before = vw_status_kb("VmLck");
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p + 2 * PG, 2 * PG));
    VW_EXPECT_FAIL(VirtualUnlock(p, 4 * PG), ERROR_NOT_LOCKED);
    ck_assert_msg(vw_lock_state(p, 4 * PG) == 0, "pages 2-3 still locked after the unlock");
    ck_assert_int_eq(vw_status_kb("VmLck"), before);
    VW_EXPECT_FAIL(VirtualUnlock(p + 2 * PG, 2 * PG), ERROR_NOT_LOCKED);
    /* Locked - unlocked - locked: the middle page makes it fail, both ends unlocked. */
    VW_EXPECT_OK(VirtualLock(p, PG));
    VW_EXPECT_OK(VirtualLock(p + 2 * PG, PG));
    VW_EXPECT_FAIL(VirtualUnlock(p, 3 * PG), ERROR_NOT_LOCKED);
    ck_assert_int_eq(vw_lock_state(p, 4 * PG), 0);
    VW_EXPECT_FAIL(VirtualUnlock(p + 2 * PG, PG), ERROR_NOT_LOCKED);
    VW_EXPECT_FAIL(VirtualUnlock(p, PG), ERROR_NOT_LOCKED);
    vw_release(p);
}
END_TEST

/* Section 8: decommit drops the lock (VmLck goes down); pages committed again
 * are not locked; pages outside the decommitted range stay locked. */
START_TEST(decommit_drops_lock)
{
    long before = vw_status_kb("VmLck");
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p, 4 * PG));
    ck_assert_int_eq(vw_status_kb("VmLck") - before, (long)(4 * PG / 1024));
    ck_assert(VirtualFree(p + PG, 2 * PG, MEM_DECOMMIT));
    ck_assert_int_eq(vw_status_kb("VmLck") - before, (long)(2 * PG / 1024));
    ck_assert_int_eq(vw_lock_state(p + PG, 2 * PG), 0);
    ck_assert_int_eq(vw_lock_state(p, PG), 1);
    ck_assert_int_eq(vw_lock_state(p + 3 * PG, PG), 1);
    /* Locking decommitted pages: ERROR_INVALID_ADDRESS. */
    VW_EXPECT_FAIL(VirtualLock(p + PG, PG), ERROR_INVALID_ADDRESS);

    ck_assert_ptr_eq(VirtualAlloc(p + PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE), p + PG);
    ck_assert_int_eq(vw_lock_state(p + PG, 2 * PG), 0);
    VW_EXPECT_FAIL(VirtualUnlock(p + PG, PG), ERROR_NOT_LOCKED);
    VW_EXPECT_FAIL(VirtualUnlock(p + 2 * PG, PG), ERROR_NOT_LOCKED);
    ck_assert_int_eq(p[PG], 0);
    VW_EXPECT_OK(VirtualUnlock(p, PG));
    VW_EXPECT_OK(VirtualUnlock(p + 3 * PG, PG));
    ck_assert_int_eq(vw_status_kb("VmLck"), before);
    vw_release(p);
}
END_TEST

/* Section 8: decommitting the whole allocation (size 0) drops every lock. */
START_TEST(decommit_all_drops_lock)
{
    long before = vw_status_kb("VmLck");
    char *p = vw_alloc_commit(8 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p, 8 * PG));
    ck_assert(VirtualFree(p, 0, MEM_DECOMMIT));
    ck_assert_int_eq(vw_status_kb("VmLck"), before);
    ck_assert_ptr_eq(VirtualAlloc(p, 8 * PG, MEM_COMMIT, PAGE_READWRITE), p);
    VW_EXPECT_FAIL(VirtualUnlock(p, 8 * PG), ERROR_NOT_LOCKED);
    ck_assert_int_eq(vw_lock_state(p, 8 * PG), 0);
    vw_release(p);
}
END_TEST

/* Section 8: release drops the lock (VmLck goes down); the same addresses
 * allocated again are not locked. */
START_TEST(release_drops_lock)
{
    long before = vw_status_kb("VmLck");
    char *p = vw_alloc_commit(16 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p + 4 * PG, 4 * PG));
    ck_assert_int_eq(vw_status_kb("VmLck") - before, (long)(4 * PG / 1024));
    vw_release(p);
    ck_assert_int_eq(vw_status_kb("VmLck"), before);
    ck_assert_int_eq(vw_lock_state(p + 4 * PG, 4 * PG) == 1, 0);

    char *q = VirtualAlloc(p, 16 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_msg(q == p, "re-reserving the released range at %p gave %p (error %u)", p, q,
                  (unsigned)GetLastError());
    ck_assert_int_eq(vw_lock_state(p, 16 * PG), 0);
    VW_EXPECT_FAIL(VirtualUnlock(p + 4 * PG, PG), ERROR_NOT_LOCKED);
    ck_assert_int_eq(p[4 * PG], 0);
    vw_release(p);
}
END_TEST

/* Section 8: locking never splits VirtualQuery regions. */
START_TEST(lock_does_not_split_regions)
{
    char *p = vw_alloc_commit(8 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p + 2 * PG, PG));
    MEMORY_BASIC_INFORMATION m = vw_query(p);
    ck_assert_ptr_eq(m.BaseAddress, p);
    ck_assert_uint_eq(m.RegionSize, 8 * PG);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    m = vw_query(p + 2 * PG);
    ck_assert_ptr_eq(m.BaseAddress, p + 2 * PG);
    ck_assert_ptr_eq(m.AllocationBase, p);
    ck_assert_uint_eq(m.RegionSize, 6 * PG);
    m = vw_query(p + 3 * PG);
    ck_assert_uint_eq(m.RegionSize, 5 * PG);
    vw_assert_range_agrees(p, 8 * PG);

    /* Lock across two protections: still exactly two regions. */
    DWORD old;
    ck_assert(VirtualProtect(p + 4 * PG, 4 * PG, PAGE_READONLY, &old));
    VW_EXPECT_OK(VirtualLock(p + 3 * PG, 2 * PG));
    m = vw_query(p);
    ck_assert_uint_eq(m.RegionSize, 4 * PG);
    m = vw_query(p + 4 * PG);
    ck_assert_uint_eq(m.RegionSize, 4 * PG);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    vw_assert_range_agrees(p, 8 * PG);

    /* Unlocking does not split either. */
    VW_EXPECT_OK(VirtualUnlock(p + 2 * PG, 3 * PG));
    m = vw_query(p);
    ck_assert_uint_eq(m.RegionSize, 4 * PG);
    vw_release(p);
}
END_TEST

/* Section 8: protection changes keep the lock; the lock does not change the
 * protection or what accesses do. */
START_TEST(lock_survives_protect)
{
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    VW_EXPECT_OK(VirtualLock(p, 2 * PG));
    DWORD old;
    ck_assert(VirtualProtect(p, 2 * PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_int_eq(vw_can_write(p), 0);
    ck_assert_int_eq(vw_can_read(p), 1);
    ck_assert(VirtualProtect(p, 2 * PG, PAGE_READWRITE, &old));
    VW_EXPECT_OK(VirtualUnlock(p, 2 * PG));
    vw_release(p);
}
END_TEST

/* ---- quota ---------------------------------------------------------------- */

/* Section 8: when the lock quota (RLIMIT_MEMLOCK) is exhausted, VirtualLock fails
 * with ERROR_WORKING_SET_QUOTA (1453); locks taken before stay. */
START_TEST(lock_quota)
{
    const size_t limit = 64 * 1024;
    char *p = vw_alloc_commit(1 << 20, PAGE_READWRITE);
    if (!vw_drop_ipc_lock()) {
        fprintf(stderr, "check_lock: lock_quota: cannot drop CAP_IPC_LOCK (%s); "
                        "RLIMIT_MEMLOCK does not apply, skipping the quota assertion\n",
                strerror(errno));
        vw_release(p);
        return;
    }
    struct rlimit rl = { limit, limit };
    ck_assert_msg(setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit: %s", strerror(errno));

    /* Within the quota. */
    VW_EXPECT_OK(VirtualLock(p, 4 * PG));
    ck_assert_int_eq(vw_lock_state(p, 4 * PG), 1);
    /* Beyond it. */
    VW_EXPECT_FAIL(VirtualLock(p, 1 << 20), ERROR_WORKING_SET_QUOTA);
    VW_EXPECT_FAIL(VirtualLock(p + 4 * PG, limit + PG), ERROR_WORKING_SET_QUOTA);
    ck_assert_uint_eq(ERROR_WORKING_SET_QUOTA, 1453);
    /* The earlier lock is still in place (a failed call does not undo it). */
    ck_assert_int_eq(vw_lock_state(p, 4 * PG), 1);
    VW_EXPECT_OK(VirtualUnlock(p, 4 * PG));
    VirtualUnlock(p, 1 << 20);   /* whatever the failed calls may have left */
    /* The quota frees up again after unlocking. */
    VW_EXPECT_OK(VirtualLock(p, limit));
    VW_EXPECT_OK(VirtualUnlock(p, limit));
    vw_release(p);
}
END_TEST

static Suite *lock_suite(void)
{
    Suite *s = suite_create("lock");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, lock_reserved_fails);
    tcase_add_test(tc, lock_partly_committed_fails);
    tcase_add_test(tc, lock_free_fails);
    tcase_add_test(tc, lock_noaccess_fails);
    tcase_add_test(tc, lock_guard_page);
    tcase_add_test(tc, lock_guard_single_page);
    tcase_add_test(tc, unlock_never_locked);
    suite_add_tcase(s, tc);

    tc = tcase_create("locking");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, lock_makes_resident);
    tcase_add_test(tc, lock_readonly_and_exec);
    tcase_add_test(tc, lock_rounds_to_pages);
    tcase_add_test(tc, lock_no_count);
    tcase_add_test(tc, unlock_partly_locked);
    tcase_add_test(tc, unlock_partly_locked_tail);
    tcase_add_test(tc, decommit_drops_lock);
    tcase_add_test(tc, decommit_all_drops_lock);
    tcase_add_test(tc, release_drops_lock);
    tcase_add_test(tc, lock_does_not_split_regions);
    tcase_add_test(tc, lock_survives_protect);
    suite_add_tcase(s, tc);

    tc = tcase_create("quota");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, lock_quota);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lock_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
