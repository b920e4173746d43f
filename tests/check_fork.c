/*
 * check_fork.c: fork() while holding allocations.
 *
 * The child inherits the address space and so the map: VirtualQuery must report
 * the same regions as in the parent, with the same contents, and agree with the
 * kernel; every API keeps working in the child; mlock state is not inherited
 * (the kernel drops it, and the library must forget its lock records: section 8,
 * "after fork the child inherits the map but not mlock state"), so VirtualUnlock
 * of a page locked in the parent fails with ERROR_NOT_LOCKED in the child; and a
 * fork taken while other threads hammer the API must leave the child a usable,
 * consistent library (no deadlock: the child runs under alarm(), the parent
 * waits with a deadline).
 *
 * Children never call Check: they report the first failure through a pipe and
 * leave with _exit().
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG VW_PAGE
#define CHILD_ALARM 10

/* ---- child plumbing --------------------------------------------------------- */

static char cerr[1024];

/* Returns -1 from the enclosing function with the first failure recorded in cerr. */
#define CCHECK(cond, ...) VW_ECHECK(cerr, cond, __VA_ARGS__)

typedef int (*child_fn)(void *arg);

/* Runs fn in a forked child (alarm-bounded) and fails the test unless it returns 0
 * within the deadline. */
static void run_in_child(const char *what, child_fn fn, void *arg)
{
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        alarm(CHILD_ALARM);
        cerr[0] = 0;
        vw_child_exit(fds[1], fn(arg), cerr, sizeof cerr);
    }
    close(fds[1]);
    char msg[1024];
    int status;
    if (!vw_wait_child(pid, fds[0], CHILD_ALARM + 5, &status, msg, sizeof msg))
        ck_abort_msg("%s: child did not finish in %d s (deadlock?)", what, CHILD_ALARM + 5);
    if (WIFSIGNALED(status))
        ck_abort_msg("%s: child killed by signal %d%s %s", what, WTERMSIG(status),
                     WTERMSIG(status) == SIGALRM ? " (alarm: deadlock or hang in the child)" : "",
                     msg);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child failed: %s", what,
                  msg);
}

/* ---- the kernel's view, without Check (usable in children) ------------------ */

#define KMAX 8192
static struct vw_maps_entry kmaps[KMAX];
static int nkmaps;
static char mapsbuf[1 << 20];

static int load_kmaps(void)
{
    nkmaps = vw_read_maps_entries(kmaps, KMAX, mapsbuf, sizeof mapsbuf);
    CCHECK(nkmaps >= 0, "open maps: %s", strerror(errno));
    CCHECK(nkmaps > 3, "only %d mappings", nkmaps);
    return 0;
}

/* Section 7: walking VirtualQuery over the whole address space gives contiguous
 * regions that agree with /proc/self/maps (the rules of testutil's
 * vw_assert_all_agree, without Check). */
static int agree_all(void)
{
    if (load_kmaps())
        return -1;
    uintptr_t a = 0;
    int regions = 0;
    while (a <= VW_MAX_APP_ADDR) {
        MEMORY_BASIC_INFORMATION m;
        SetLastError(0xDEADBEEF);
        CCHECK(VirtualQuery((void *)a, &m, sizeof m) == sizeof m, "VirtualQuery(%#lx): %u",
               (unsigned long)a, (unsigned)GetLastError());
        CCHECK((uintptr_t)m.BaseAddress == a && m.RegionSize > 0, "walk at %#lx: base %p size %zu",
               (unsigned long)a, m.BaseAddress, (size_t)m.RegionSize);
        uintptr_t end = a + m.RegionSize;
        /* every kernel mapping overlapping [a, end) */
        uintptr_t covered = a;
        for (int i = 0; i < nkmaps; i++) {
            const struct vw_maps_entry *k = &kmaps[i];
            if (k->end <= a || k->start >= end)
                continue;
            if (m.State == MEM_FREE) {
                CCHECK(strncmp(k->perms, "---", 3) == 0 && k->inode == 0,
                       "free region %p-%#lx overlaps mapping %#lx-%#lx %s", m.BaseAddress,
                       (unsigned long)end, (unsigned long)k->start, (unsigned long)k->end,
                       k->perms);
            } else {
                CCHECK(k->start <= covered, "region %p (state %#x) has an unmapped hole at %#lx",
                       m.BaseAddress, (unsigned)m.State, (unsigned long)covered);
                covered = k->end;
                if (m.Type == MEM_PRIVATE) {
                    const char *want = vw_expected_perms(m.State, m.Protect);
                    CCHECK(strncmp(k->perms, want, 3) == 0,
                           "region %p state %#x protect %#x: kernel %#lx-%#lx is %s, want %s",
                           m.BaseAddress, (unsigned)m.State, (unsigned)m.Protect,
                           (unsigned long)k->start, (unsigned long)k->end, k->perms, want);
                }
            }
        }
        /* The not yet grown part of the main thread's stack reservation is reserved
         * and unmapped, right below the [stack] mapping (as testutil allows). */
        int stack_reserve = 0;
        if (m.State == MEM_RESERVE)
            for (int i = 0; i < nkmaps; i++)
                if (kmaps[i].start == end && kmaps[i].is_stack)
                    stack_reserve = 1;
        if (stack_reserve) {
            for (int i = 0; i < nkmaps; i++)
                CCHECK(kmaps[i].end <= a || kmaps[i].start >= end,
                       "stack reservation %p-%#lx overlaps a mapping", m.BaseAddress,
                       (unsigned long)end);
        } else if (m.State != MEM_FREE)
            CCHECK(covered >= end, "region %p-%#lx (state %#x) not fully mapped", m.BaseAddress,
                   (unsigned long)end, (unsigned)m.State);
        regions++;
        a = end;
    }
    CCHECK(regions > 3, "only %d regions", regions);
    return 0;
}

/* VmLck of /proc/self/status in kB, or -1 (no Check: usable in children). */
static long vmlck_kb(void)
{
    return (long)vw_proc_number("/proc/self/status", "VmLck");
}

/* ---- the scenario held across fork ------------------------------------------ */

/* A: 64 KiB; pages 0-3 READWRITE, 4-5 READONLY, 6 NOACCESS, 7 READWRITE|GUARD,
 * the rest reserved; pages 0-1 locked.  B: 64 KiB EXECUTE_READ.  C: 128 KiB
 * READWRITE, fully written. */
static char *A, *B, *C;
#define NREG 16
static MEMORY_BASIC_INFORMATION parent_regions[NREG];
static int nparent_regions;

static unsigned char pat(size_t i) { return (unsigned char)(0xA5 ^ (i * 7)); }

static int snapshot(MEMORY_BASIC_INFORMATION *out, int max)
{
    char *bases[3] = { A, B, C };
    int n = 0;
    for (int k = 0; k < 3; k++) {
        uintptr_t a = (uintptr_t)bases[k];
        for (;;) {
            MEMORY_BASIC_INFORMATION m;
            if (VirtualQuery((void *)a, &m, sizeof m) != sizeof m || n >= max)
                return -1;
            if (m.AllocationBase != bases[k])
                break;
            out[n++] = m;
            a = (uintptr_t)m.BaseAddress + m.RegionSize;
        }
    }
    return n;
}

static void setup_scenario(void)
{
    DWORD old;
    A = VirtualAlloc(NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(A);
    ck_assert_ptr_eq(VirtualAlloc(A, 8 * PG, MEM_COMMIT, PAGE_READWRITE), A);
    for (size_t i = 0; i < 6 * PG; i++)
        A[i] = (char)pat(i);
    ck_assert(VirtualProtect(A + 4 * PG, 2 * PG, PAGE_READONLY, &old));
    ck_assert(VirtualProtect(A + 6 * PG, PG, PAGE_NOACCESS, &old));
    ck_assert(VirtualProtect(A + 7 * PG, PG, PAGE_READWRITE | PAGE_GUARD, &old));
    ck_assert(VirtualLock(A, 2 * PG));
    B = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READ);
    ck_assert_ptr_nonnull(B);
    C = VirtualAlloc(NULL, 2 * VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(C);
    for (size_t i = 0; i < 2 * VW_64K; i += 64)
        C[i] = (char)pat(i + 1);
    nparent_regions = snapshot(parent_regions, NREG);
    ck_assert_int_eq(nparent_regions, 5 + 1 + 1);
}

/* The parent's side after a child ran: nothing the child did is visible. */
static void check_parent_unchanged(void)
{
    MEMORY_BASIC_INFORMATION now[NREG];
    int n = snapshot(now, NREG);
    ck_assert_int_eq(n, nparent_regions);
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_eq(now[i].BaseAddress, parent_regions[i].BaseAddress);
        ck_assert_uint_eq(now[i].RegionSize, parent_regions[i].RegionSize);
        ck_assert_uint_eq(now[i].State, parent_regions[i].State);
        ck_assert_uint_eq(now[i].Protect, parent_regions[i].Protect);
    }
    for (size_t i = 0; i < 6 * PG; i += 97)
        ck_assert_int_eq((unsigned char)A[i], pat(i));
    for (size_t i = 0; i < 2 * VW_64K; i += 64)
        ck_assert_int_eq((unsigned char)C[i], pat(i + 1));
    ck_assert_int_eq(vw_can_write(A), 1);
    ck_assert_int_eq(vw_can_write(A + 4 * PG), 0);
    ck_assert_int_eq(vw_can_read(A + 6 * PG), 0);
    ck_assert_int_eq(vw_can_read(A + 8 * PG), 0);
    vw_assert_range_agrees(A, VW_64K);
    vw_assert_range_agrees(B, VW_64K);
    vw_assert_range_agrees(C, 2 * VW_64K);
}

/* ---- children ----------------------------------------------------------------- */

static int child_sees_same_map(void *arg)
{
    (void)arg;
    MEMORY_BASIC_INFORMATION now[NREG];
    int n = snapshot(now, NREG);
    CCHECK(n == nparent_regions, "child sees %d regions, parent %d", n, nparent_regions);
    for (int i = 0; i < n; i++) {
        const MEMORY_BASIC_INFORMATION *p = &parent_regions[i], *c = &now[i];
        CCHECK(c->BaseAddress == p->BaseAddress && c->AllocationBase == p->AllocationBase &&
                   c->AllocationProtect == p->AllocationProtect && c->RegionSize == p->RegionSize &&
                   c->State == p->State && c->Protect == p->Protect && c->Type == p->Type,
               "region %d: child %p/%zu state %#x prot %#x, parent %p/%zu state %#x prot %#x", i,
               c->BaseAddress, (size_t)c->RegionSize, (unsigned)c->State, (unsigned)c->Protect,
               p->BaseAddress, (size_t)p->RegionSize, (unsigned)p->State, (unsigned)p->Protect);
    }
    for (size_t i = 0; i < 6 * PG; i++)
        CCHECK((unsigned char)A[i] == pat(i), "A[%zu] = %#x in the child", i, (unsigned char)A[i]);
    for (size_t i = 0; i < 2 * VW_64K; i += 64)
        CCHECK((unsigned char)C[i] == pat(i + 1), "C[%zu] differs in the child", i);
    CCHECK(vw_can_write(A) && vw_can_read(A + 4 * PG) && !vw_can_write(A + 4 * PG),
           "RW/RO access differs in the child");
    CCHECK(!vw_can_read(A + 6 * PG) && !vw_can_read(A + 8 * PG),
           "NOACCESS / reserved page readable in the child");
    CCHECK(vw_can_read(B) && !vw_can_write(B), "EXECUTE_READ access differs in the child");
    /* The child's writes are its own (copy on write). */
    A[0] = 0;
    C[0] = 0;
    return agree_all();
}

/* Every call works in the child, on new and inherited allocations. */
static int child_uses_api(void *arg)
{
    (void)arg;
    DWORD old;
    MEMORY_BASIC_INFORMATION m;
    /* a new allocation: reserve, commit, write, protect, query, lock, decommit, release */
    char *p = VirtualAlloc(NULL, 4 * VW_64K, MEM_RESERVE, PAGE_READWRITE);
    CCHECK(p != NULL, "reserve in child: %u", (unsigned)GetLastError());
    CCHECK(VirtualAlloc(p + PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE) == p + PG, "commit: %u",
           (unsigned)GetLastError());
    CCHECK(p[PG] == 0, "fresh page not zero");
    memset(p + PG, 0x77, 2 * PG);
    CCHECK(VirtualProtect(p + PG, PG, PAGE_READONLY, &old) && old == PAGE_READWRITE,
           "protect: %u", (unsigned)GetLastError());
    CCHECK(VirtualQuery(p + PG, &m, sizeof m) == sizeof m && m.Protect == PAGE_READONLY &&
               m.RegionSize == PG && m.AllocationBase == p,
           "query: prot %#x size %zu", (unsigned)m.Protect, (size_t)m.RegionSize);
    CCHECK(!vw_can_write(p + PG) && vw_can_write(p + 2 * PG), "access after protect");
    CCHECK(VirtualLock(p + PG, 2 * PG), "lock: %u", (unsigned)GetLastError());
    CCHECK(VirtualUnlock(p + PG, 2 * PG), "unlock: %u", (unsigned)GetLastError());
    CCHECK(VirtualFree(p + 2 * PG, PG, MEM_DECOMMIT), "decommit: %u", (unsigned)GetLastError());
    CCHECK(!vw_can_read(p + 2 * PG), "decommitted page readable");
    CCHECK(VirtualFree(p, 0, MEM_RELEASE), "release: %u", (unsigned)GetLastError());
    /* inherited allocations: protect, decommit, release */
    CCHECK(VirtualProtect(A, PG, PAGE_NOACCESS, &old) && old == PAGE_READWRITE,
           "protect inherited: %u old %#x", (unsigned)GetLastError(), (unsigned)old);
    CCHECK(!vw_can_read(A), "inherited page still readable after NOACCESS");
    CCHECK(VirtualFree(A + 2 * PG, 2 * PG, MEM_DECOMMIT), "decommit inherited: %u",
           (unsigned)GetLastError());
    CCHECK(VirtualFree(C, 0, MEM_RELEASE), "release inherited C: %u", (unsigned)GetLastError());
    CCHECK(VirtualQuery(C, &m, sizeof m) == sizeof m && m.State == MEM_FREE,
           "released C state %#x", (unsigned)m.State);
    CCHECK(VirtualFree(B, 0, MEM_RELEASE), "release inherited B: %u", (unsigned)GetLastError());
    /* B's address is free in the child: it can be reserved there again. */
    char *b2 = VirtualAlloc(B, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CCHECK(b2 == B, "re-reserving B at %p gave %p: %u", (void *)B, (void *)b2,
           (unsigned)GetLastError());
    CCHECK(b2[0] == 0, "re-reserved B not zero");
    /* A grandchild can use the API too. */
    pid_t g = fork();
    CCHECK(g >= 0, "fork in child: %s", strerror(errno));
    if (g == 0) {
        alarm(CHILD_ALARM);
        char *q = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        int ok = q && VirtualProtect(q, PG, PAGE_READONLY, &old) && VirtualFree(q, 0, MEM_RELEASE) &&
                 VirtualFree(b2, 0, MEM_RELEASE) && agree_all() == 0;
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    CCHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "grandchild failed (status %#x)", st);
    CCHECK(VirtualFree(b2, 0, MEM_RELEASE), "release b2: %u", (unsigned)GetLastError());
    return agree_all();
}

/* Section 8: lock state is not inherited. */
static int child_lock_not_inherited(void *arg)
{
    (void)arg;
    long lck = vmlck_kb();
    CCHECK(lck == 0, "VmLck in the child is %ld kB", lck);
    SetLastError(0xDEADBEEF);
    CCHECK(!VirtualUnlock(A, PG) && GetLastError() == ERROR_NOT_LOCKED,
           "VirtualUnlock of a page locked in the parent: error %u", (unsigned)GetLastError());
    SetLastError(0xDEADBEEF);
    CCHECK(!VirtualUnlock(A, 2 * PG) && GetLastError() == ERROR_NOT_LOCKED,
           "VirtualUnlock of the parent's locked range: error %u", (unsigned)GetLastError());
    /* The child can lock and unlock for itself. */
    CCHECK(VirtualLock(A, 2 * PG), "lock in child: %u", (unsigned)GetLastError());
    CCHECK(vmlck_kb() >= (long)(2 * PG / 1024), "VmLck %ld after lock in child", vmlck_kb());
    CCHECK(VirtualUnlock(A, 2 * PG), "unlock in child: %u", (unsigned)GetLastError());
    SetLastError(0xDEADBEEF);
    CCHECK(!VirtualUnlock(A, PG) && GetLastError() == ERROR_NOT_LOCKED, "second unlock: %u",
           (unsigned)GetLastError());
    return 0;
}

/* ---- tests ------------------------------------------------------------------- */

/* Section 7 + fork: the child sees the parent's map (same VirtualQuery regions,
 * contents, access) in agreement with the kernel; the parent is unaffected. */
START_TEST(fork_map_consistent)
{
    setup_scenario();
    run_in_child("fork_map_consistent", child_sees_same_map, NULL);
    check_parent_unchanged();
    vw_assert_all_agree();
}
END_TEST

/* Sections 4-8 in the child: every API works on new and inherited allocations,
 * including a grandchild; the parent's allocations do not change. */
START_TEST(fork_child_uses_api)
{
    setup_scenario();
    run_in_child("fork_child_uses_api", child_uses_api, NULL);
    check_parent_unchanged();
    /* The parent still owns A, B, C and can use them. */
    ck_assert(VirtualUnlock(A, 2 * PG));
    ck_assert(VirtualFree(B, 0, MEM_RELEASE));
    ck_assert(VirtualFree(C, 0, MEM_RELEASE));
    ck_assert(VirtualFree(A, 0, MEM_RELEASE));
    vw_assert_all_agree();
}
END_TEST

/* Section 8: mlock state is not inherited: in the child VirtualUnlock of pages
 * the parent locked fails with ERROR_NOT_LOCKED; the parent keeps its lock. */
START_TEST(fork_lock_not_inherited)
{
    setup_scenario();
    long before = vmlck_kb();
    ck_assert_int_ge(before, (long)(2 * PG / 1024));
    run_in_child("fork_lock_not_inherited", child_lock_not_inherited, NULL);
    ck_assert_int_eq(vmlck_kb(), before);
    SetLastError(1234);
    ck_assert(VirtualUnlock(A, 2 * PG));
    ck_assert_uint_eq(GetLastError(), 1234);
    ck_assert_int_eq(vmlck_kb(), before - (long)(2 * PG / 1024));
    SetLastError(0);
    ck_assert(!VirtualUnlock(A, PG));
    ck_assert_uint_eq(GetLastError(), ERROR_NOT_LOCKED);
}
END_TEST

/* ---- fork while other threads hammer the API -------------------------------- */

#define HAMMER_THREADS 4
static volatile int hammer_stop;
static char hammer_err[HAMMER_THREADS][256];

static void *hammer(void *arg)
{
    int id = (int)(intptr_t)arg;
    unsigned seed = 4242u + (unsigned)id;
    char *held[8] = { 0 };
    long n = 0;
    while (!hammer_stop) {
        int slot = (int)(n++ % 8);
        if (held[slot]) {
            if (*(volatile uint32_t *)held[slot] != (uint32_t)(id + 1)) {
                snprintf(hammer_err[id], sizeof hammer_err[id], "allocation %p overwritten",
                         (void *)held[slot]);
                return NULL;
            }
            if (!VirtualFree(held[slot], 0, MEM_RELEASE)) {
                snprintf(hammer_err[id], sizeof hammer_err[id], "release failed: %u",
                         (unsigned)GetLastError());
                return NULL;
            }
            held[slot] = NULL;
        }
        size_t size = VW_64K * (1 + rand_r(&seed) % 4);
        char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
        DWORD old;
        MEMORY_BASIC_INFORMATION m;
        if (!p || VirtualAlloc(p, 4 * PG, MEM_COMMIT, PAGE_READWRITE) != p) {
            snprintf(hammer_err[id], sizeof hammer_err[id], "alloc failed: %u",
                     (unsigned)GetLastError());
            return NULL;
        }
        *(uint32_t *)p = (uint32_t)(id + 1);
        if (!VirtualProtect(p + PG, PG, PAGE_READONLY, &old) ||
            VirtualQuery(p + PG, &m, sizeof m) != sizeof m || m.Protect != PAGE_READONLY ||
            !VirtualLock(p, PG) || !VirtualUnlock(p, PG) ||
            !VirtualFree(p + 2 * PG, PG, MEM_DECOMMIT)) {
            snprintf(hammer_err[id], sizeof hammer_err[id], "operation failed: %u",
                     (unsigned)GetLastError());
            return NULL;
        }
        held[slot] = p;
    }
    for (int i = 0; i < 8; i++)
        if (held[i])
            VirtualFree(held[i], 0, MEM_RELEASE);
    return NULL;
}

static int child_after_hammer_fork(void *arg)
{
    (void)arg;
    /* The library must be usable (no lock left held by a thread that does not exist
     * in the child) and its map consistent. */
    if (agree_all())
        return -1;
    char *p = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CCHECK(p != NULL, "alloc in child: %u", (unsigned)GetLastError());
    p[0] = 1;
    DWORD old;
    CCHECK(VirtualProtect(p, PG, PAGE_READONLY, &old), "protect: %u", (unsigned)GetLastError());
    CCHECK(VirtualLock(p, PG) && VirtualUnlock(p, PG), "lock/unlock: %u",
           (unsigned)GetLastError());
    CCHECK(VirtualFree(p, 0, MEM_RELEASE), "release: %u", (unsigned)GetLastError());
    /* Inherited allocations still work. */
    CCHECK(VirtualProtect(C, PG, PAGE_READONLY, &old) && old == PAGE_READWRITE,
           "protect inherited C: %u", (unsigned)GetLastError());
    SetLastError(0xDEADBEEF);
    CCHECK(!VirtualUnlock(A, PG) && GetLastError() == ERROR_NOT_LOCKED,
           "unlock of parent's lock: %u", (unsigned)GetLastError());
    CCHECK(VirtualFree(C, 0, MEM_RELEASE), "release C: %u", (unsigned)GetLastError());
    return agree_all();
}

/* Fork while 4 threads hammer the API: each child finishes its API calls within
 * the alarm (no deadlock) and sees a consistent map. */
START_TEST(fork_while_threads_hammer)
{
    setup_scenario();
    pthread_t th[HAMMER_THREADS];
    hammer_stop = 0;
    memset(hammer_err, 0, sizeof hammer_err);
    for (int t = 0; t < HAMMER_THREADS; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, hammer, (void *)(intptr_t)t), 0);
    for (int i = 0; i < 12; i++) {
        struct timespec ts = { 0, (20 + 13 * i) * 1000000L };
        nanosleep(&ts, NULL);
        run_in_child("fork_while_threads_hammer", child_after_hammer_fork, NULL);
    }
    hammer_stop = 1;
    for (int t = 0; t < HAMMER_THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < HAMMER_THREADS; t++)
        ck_assert_msg(hammer_err[t][0] == 0, "hammer thread %d: %s", t, hammer_err[t]);
    check_parent_unchanged();
    vw_assert_all_agree();
}
END_TEST

static Suite *fork_suite(void)
{
    Suite *s = suite_create("fork");
    TCase *tc = tcase_create("fork");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fork_map_consistent);
    tcase_add_test(tc, fork_child_uses_api);
    tcase_add_test(tc, fork_lock_not_inherited);
    tcase_add_test(tc, fork_while_threads_hammer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fork_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
