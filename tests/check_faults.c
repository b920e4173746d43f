/*
 * check_faults.c: injected syscall failures (issue: reliability, fault
 * injection).  Linked with tests/libvirtualwin-fi.la, the library built with
 * the hook that makes the N-th memory syscall fail.
 *
 * For every scenario (one API call on a prepared state) and every N from 1 up
 * to the number of memory syscalls the call makes, and for each of ENOMEM,
 * EAGAIN and EPERM: the call either succeeds completely or fails completely
 * with a Windows error (never a crash); after a failure VirtualQuery of the
 * scenario's range, the contents and the library's bookkeeping are exactly as
 * before; the map agrees with /proc/self/maps either way; and after the
 * scenario is cleaned up no node, allocation, committed or locked byte is
 * left over (nothing leaks).  Spec: "A failed call changes nothing."
 * Also: pointer probes made while the map lock is held never wait for it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <virtualwin.h>

#include "testutil.h"

/* The test controls of the fault-injection build (src/faultinject.c). */
#define VW_FAULT_INJECTION 1
#include "os/faultinject.h"

#define SPAN (8 * VW_64K)

struct stats {
    size_t nodes, nallocs, committed, locked;
};

static struct stats get_stats(void)
{
    struct stats s;
    vw_fault_stats(&s.nodes, &s.nallocs, &s.committed, &s.locked);
    return s;
}

/* What a failed call must leave untouched: every region of the range and a
 * checksum of the readable committed bytes. */
struct snapshot {
    int n;
    MEMORY_BASIC_INFORMATION r[64];
    unsigned long sum;
    struct stats st;
};

static void snap(char *base, size_t len, struct snapshot *s)
{
    memset(s, 0, sizeof *s);
    uintptr_t a = (uintptr_t)base, end = a + len;
    while (a < end && s->n < 64) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        s->r[s->n++] = m;
        if (m.State == MEM_COMMIT && !(m.Protect & PAGE_GUARD) && (m.Protect & 0xFF) != PAGE_NOACCESS)
            for (uintptr_t p = a; p < a + m.RegionSize && p < end; p += 64)
                s->sum = s->sum * 31 + *(volatile unsigned char *)p;
        a = (uintptr_t)m.BaseAddress + m.RegionSize;
    }
    s->st = get_stats();
}

static int same_snapshot(const struct snapshot *a, const struct snapshot *b)
{
    return a->n == b->n && memcmp(a->r, b->r, sizeof a->r[0] * (size_t)a->n) == 0 &&
           a->sum == b->sum && memcmp(&a->st, &b->st, sizeof a->st) == 0;
}

/* A scenario: prepare state in [base, base+SPAN), make one call, clean up. */
struct scenario {
    const char *name;
    void (*setup)(char *base);
    BOOL (*call)(char *base);
    void (*cleanup)(char *base);
};

static char *sandbox;   /* SPAN bytes of free address space at a known place */

static void find_sandbox(void)
{
    char *p = VirtualAlloc(NULL, SPAN, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(p);
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
    sandbox = p;
}

static void fill(char *p, size_t n, int v)
{
    memset(p, v, n);
}

static void release_all(char *base)
{
    for (uintptr_t a = (uintptr_t)base; a < (uintptr_t)base + SPAN; a += VW_64K)
        VirtualFree((void *)a, 0, MEM_RELEASE);
}

static void setup_none(char *base) { (void)base; }

static void setup_reserved(char *base)
{
    ck_assert_ptr_eq(VirtualAlloc(base, 4 * VW_64K, MEM_RESERVE, PAGE_READWRITE), base);
}

static void setup_committed(char *base)
{
    setup_reserved(base);
    ck_assert_ptr_eq(VirtualAlloc(base, 2 * VW_64K, MEM_COMMIT, PAGE_READWRITE), base);
    fill(base, 2 * VW_64K, 0x5A);
}

static void setup_locked(char *base)
{
    setup_committed(base);
    ck_assert(VirtualLock(base, 4 * VW_PAGE));
}

static BOOL call_reserve_at(char *base) { return VirtualAlloc(base, 3 * VW_64K, MEM_RESERVE, PAGE_READWRITE) != NULL; }
static BOOL call_reserve_commit_at(char *base) { return VirtualAlloc(base, 3 * VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) != NULL; }
static BOOL call_commit(char *base) { return VirtualAlloc(base + VW_64K, 2 * VW_64K, MEM_COMMIT, PAGE_EXECUTE_READWRITE) != NULL; }
static BOOL call_decommit(char *base) { return VirtualFree(base + VW_PAGE, 3 * VW_PAGE, MEM_DECOMMIT); }
static BOOL call_decommit_all(char *base) { return VirtualFree(base, 0, MEM_DECOMMIT); }
static BOOL call_release(char *base) { return VirtualFree(base, 0, MEM_RELEASE); }
static BOOL call_protect(char *base)
{
    DWORD old;
    return VirtualProtect(base + VW_PAGE, 5 * VW_PAGE, PAGE_READONLY, &old);
}
static BOOL call_protect_guard(char *base)
{
    DWORD old;
    return VirtualProtect(base, VW_PAGE, PAGE_READWRITE | PAGE_GUARD, &old);
}
static BOOL call_lock(char *base) { return VirtualLock(base + VW_PAGE, 3 * VW_PAGE); }
static BOOL call_unlock(char *base) { return VirtualUnlock(base, 4 * VW_PAGE); }
static BOOL call_reset(char *base) { return VirtualAlloc(base, 4 * VW_PAGE, MEM_RESET, PAGE_NOACCESS) != NULL; }
static BOOL call_reset_undo(char *base)
{
    return VirtualAlloc(base, 4 * VW_PAGE, MEM_RESET_UNDO, PAGE_NOACCESS) != NULL;
}
static void setup_reset(char *base)
{
    setup_committed(base);
    ck_assert_ptr_nonnull(VirtualAlloc(base, 4 * VW_PAGE, MEM_RESET, PAGE_NOACCESS));
}

/* Read-only pages: the undo makes them writable for a moment (two mprotects). */
static void setup_reset_readonly(char *base)
{
    DWORD old;
    setup_committed(base);
    ck_assert(VirtualProtect(base, 4 * VW_PAGE, PAGE_READONLY, &old));
    ck_assert_ptr_nonnull(VirtualAlloc(base, 4 * VW_PAGE, MEM_RESET, PAGE_NOACCESS));
}

/* AWE (issue 15): a window at base with frames; mapping, remapping over
 * mapped pages, scatter, release and freeing one mapped frame roll back. */
#define AWE_FRAMES 8
static ULONG_PTR awe_frame[AWE_FRAMES];

static void setup_awe(char *base)
{
    ULONG_PTR n = AWE_FRAMES;
    ck_assert_ptr_eq(VirtualAlloc(base, VW_64K, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE), base);
    ck_assert(AllocateUserPhysicalPages(GetCurrentProcess(), &n, awe_frame) && n == AWE_FRAMES);
}

static void setup_awe_mapped(char *base)
{
    setup_awe(base);
    ck_assert(MapUserPhysicalPages(base, 4, awe_frame));
    fill(base, 4 * VW_PAGE, 0x3C);
}

static void cleanup_awe(char *base)
{
    release_all(base);
    for (int i = 0; i < AWE_FRAMES; i++) {
        ULONG_PTR one = 1;
        FreeUserPhysicalPages(GetCurrentProcess(), &one, &awe_frame[i]);
    }
}

static BOOL call_awe_map(char *base) { return MapUserPhysicalPages(base + VW_PAGE, 4, awe_frame); }
static BOOL call_awe_remap(char *base)
{
    ULONG_PTR f[4] = { awe_frame[6], awe_frame[4], awe_frame[7], awe_frame[5] };
    return MapUserPhysicalPages(base + 2 * VW_PAGE, 4, f);
}
static BOOL call_awe_scatter(char *base)
{
    PVOID at[4] = { base + 9 * VW_PAGE, base, base + 5 * VW_PAGE, base + 3 * VW_PAGE };
    ULONG_PTR f[4] = { awe_frame[4], awe_frame[5], 0, awe_frame[6] };
    return MapUserPhysicalPagesScatter(at, 4, f);
}
static BOOL call_awe_free_mapped(char *base)
{
    ULONG_PTR one = 1;
    (void)base;
    return FreeUserPhysicalPages(GetCurrentProcess(), &one, &awe_frame[2]);
}

/* Placeholders (spec 15): pieces start inside 64 KiB blocks, so cleanup
 * releases every allocation the walk finds. */
#define RES_PH (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
static void release_walk(char *base)
{
    for (char *a = base; a < base + SPAN;) {
        MEMORY_BASIC_INFORMATION m = vw_query(a);
        if (m.State != MEM_FREE)
            VirtualFree(m.AllocationBase, 0, MEM_RELEASE);
        a = (char *)m.BaseAddress + m.RegionSize;
    }
}
/* A placeholder of 4 blocks cut into 3 pieces: [0, PG), [PG, 3 PG), the rest. */
static void setup_pieces(char *base)
{
    ck_assert_ptr_eq(VirtualAlloc2(NULL, base, 4 * VW_64K, RES_PH, PAGE_NOACCESS, NULL, 0), base);
    ck_assert(VirtualFree(base + VW_PAGE, 2 * VW_PAGE, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
}
/* The middle piece replaced by committed, written memory. */
static void setup_replaced(char *base)
{
    setup_pieces(base);
    ck_assert_ptr_eq(VirtualAlloc2(NULL, base + VW_PAGE, 2 * VW_PAGE,
                                   MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                   PAGE_READWRITE, NULL, 0),
                     base + VW_PAGE);
    fill(base + VW_PAGE, 2 * VW_PAGE, 0x3C);
}
static BOOL call_placeholder_at(char *base)
{
    return VirtualAlloc2(NULL, base, 3 * VW_64K, RES_PH, PAGE_NOACCESS, NULL, 0) != NULL;
}
static BOOL call_coalesce(char *base)
{
    return VirtualFree(base, 4 * VW_64K, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS);
}
static BOOL call_replace(char *base)
{
    return VirtualAlloc2(NULL, base + VW_PAGE, 2 * VW_PAGE,
                         MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL,
                         0) != NULL;
}
static BOOL call_back_to_placeholder(char *base)
{
    return VirtualFree(base + VW_PAGE, 2 * VW_PAGE, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER);
}
static BOOL call_release_piece(char *base) { return VirtualFree(base + VW_PAGE, 0, MEM_RELEASE); }

static const struct scenario scenarios[] = {
    { "AWE map", setup_awe, call_awe_map, cleanup_awe },
    { "AWE map over mapped pages", setup_awe_mapped, call_awe_remap, cleanup_awe },
    { "AWE scatter", setup_awe_mapped, call_awe_scatter, cleanup_awe },
    { "AWE free a mapped frame", setup_awe_mapped, call_awe_free_mapped, cleanup_awe },
    { "AWE release a window", setup_awe_mapped, call_release, cleanup_awe },
    { "placeholder at an address", setup_none, call_placeholder_at, release_walk },
    { "coalesce placeholders", setup_pieces, call_coalesce, release_walk },
    { "replace a placeholder", setup_pieces, call_replace, release_walk },
    { "back to a placeholder", setup_replaced, call_back_to_placeholder, release_walk },
    { "release a replaced piece", setup_replaced, call_release_piece, release_walk },
    { "reserve at an address", setup_none, call_reserve_at, release_all },
    { "reserve+commit at an address", setup_none, call_reserve_commit_at, release_all },
    { "commit", setup_reserved, call_commit, release_all },
    { "decommit a range", setup_committed, call_decommit, release_all },
    { "decommit everything", setup_committed, call_decommit_all, release_all },
    { "release", setup_committed, call_release, release_all },
    { "protect", setup_committed, call_protect, release_all },
    { "protect with a guard", setup_committed, call_protect_guard, release_all },
    { "lock", setup_committed, call_lock, release_all },
    { "unlock", setup_locked, call_unlock, release_all },
    { "reset", setup_committed, call_reset, release_all },
    { "reset undo", setup_reset, call_reset_undo, release_all },
    { "reset undo, read-only pages", setup_reset_readonly, call_reset_undo, release_all },
};
#define NSCEN ((int)(sizeof scenarios / sizeof scenarios[0]))

static const int errnos[] = { ENOMEM, EAGAIN, EPERM };

/* Errors a call may fail with when the kernel refuses. */
static int acceptable_error(DWORD e)
{
    return e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_COMMITMENT_LIMIT || e == ERROR_ACCESS_DENIED ||
           e == ERROR_WORKING_SET_QUOTA || e == ERROR_BUSY || e == ERROR_INVALID_ADDRESS;
}

static long sweep(const struct scenario *sc)
{
    long runs = 0;
    struct stats base0 = get_stats();
    /* How many memory syscalls does the call make when nothing fails? */
    sc->setup(sandbox);
    vw_fault_arm(1L << 40, ENOMEM);
    BOOL ok = sc->call(sandbox);
    long calls = vw_fault_count();
    vw_fault_arm(0, 0);
    ck_assert_msg(ok, "%s: fails without injected faults (error %u)", sc->name,
                  (unsigned)GetLastError());
    sc->cleanup(sandbox);

    for (size_t e = 0; e < sizeof errnos / sizeof errnos[0]; e++) {
        for (long n = 1; n <= calls; n++) {
            struct snapshot before, after;
            sc->setup(sandbox);
            snap(sandbox, SPAN, &before);
            SetLastError(0);
            vw_fault_arm(n, errnos[e]);
            ok = sc->call(sandbox);
            vw_fault_arm(0, 0);
            DWORD err = GetLastError();
            if (!ok) {
                snap(sandbox, SPAN, &after);
                ck_assert_msg(acceptable_error(err), "%s: syscall %ld failing with errno %d gave error %u",
                              sc->name, n, errnos[e], (unsigned)err);
                ck_assert_msg(same_snapshot(&before, &after),
                              "%s: syscall %ld failing with errno %d: the failed call changed something",
                              sc->name, n, errnos[e]);
            }
            vw_assert_range_agrees(sandbox, SPAN);
            sc->cleanup(sandbox);
            struct stats end = get_stats();
            ck_assert_msg(end.nallocs == base0.nallocs && end.committed == base0.committed &&
                              end.locked == base0.locked && end.nodes == base0.nodes,
                          "%s: syscall %ld failing with errno %d: leaked (nodes %zu->%zu, allocs "
                          "%zu->%zu, committed %zu->%zu, locked %zu->%zu)",
                          sc->name, n, errnos[e], base0.nodes, end.nodes, base0.nallocs, end.nallocs,
                          base0.committed, end.committed, base0.locked, end.locked);
            runs++;
        }
    }
    return runs;
}

/* Each scenario, swept over every syscall it makes and three errnos. */
START_TEST(test_sweep)
{
    find_sandbox();
    long runs = sweep(&scenarios[_i]);
    printf("check_faults: %-30s %ld injected faults\n", scenarios[_i].name, runs);
}
END_TEST

/* NULL-address allocation, including the first arena and the node pool's first
 * slab: when those mappings fail the call fails cleanly, and works next time. */
START_TEST(test_first_allocation)
{
    for (long n = 1; n <= 8; n++) {
        for (size_t e = 0; e < sizeof errnos / sizeof errnos[0]; e++) {
            vw_fault_arm(n, errnos[e]);
            char *p = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
            vw_fault_arm(0, 0);
            if (p) {
                /* Either the fault was never reached, or it hit a syscall whose
                 * failure the library can absorb (trimming an arena's edges). */
                p[0] = 1;
                vw_assert_range_agrees(p, VW_64K);
                ck_assert(VirtualFree(p, 0, MEM_RELEASE));
            } else {
                ck_assert_msg(acceptable_error(GetLastError()), "error %u", (unsigned)GetLastError());
            }
        }
    }
    char *p = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
}
END_TEST

/* Pointer probes made while this thread holds the map lock (inside
 * VirtualAlloc, at its first syscall, as in check_limits): the map is not
 * evidence then (a holder may have changed the kernel and not yet the map),
 * so the probe must neither wait for the lock (this test would hang) nor need
 * it: library memory is still told writable or not, by the kernel. */
static SIZE_T *probe_rw, *probe_ro;
static int probe_ran, probe_rw_ok, probe_ro_ok;
static DWORD probe_ro_err;

static void probe_inside_call(void)
{
    probe_ran++;
    probe_rw_ok = GetProcessWorkingSetSize(GetCurrentProcess(), &probe_rw[0], &probe_rw[1]);
    probe_ro_ok = GetProcessWorkingSetSize(GetCurrentProcess(), &probe_ro[0], &probe_ro[1]);
    probe_ro_err = GetLastError();
}

START_TEST(test_probe_under_lock)
{
    char *rw = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *ro = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
    ck_assert_ptr_nonnull(rw);
    ck_assert_ptr_nonnull(ro);
    probe_rw = (SIZE_T *)(void *)(rw + 128);
    probe_ro = (SIZE_T *)(void *)(ro + 128);
    vw_fault_arm_call(1, probe_inside_call);
    char *p = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    vw_fault_arm_call(0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(probe_ran, 1);
    ck_assert_int_eq(probe_rw_ok, 1);
    ck_assert(probe_rw[0] > 0 && probe_rw[1] >= probe_rw[0]);
    ck_assert_int_eq(probe_ro_ok, 0);
    ck_assert_uint_eq(probe_ro_err, ERROR_NOACCESS);
    ck_assert_uint_eq(probe_ro[0], 0);
    /* With the lock free again the map answers, and still tells them apart. */
    SIZE_T *rw2 = (SIZE_T *)(void *)(p + 256), *ro2 = (SIZE_T *)(void *)(ro + 4096);
    ck_assert(GetProcessWorkingSetSize(GetCurrentProcess(), &rw2[0], &rw2[1]));
    ck_assert_uint_eq(rw2[0], probe_rw[0]);
    ck_assert(!GetProcessWorkingSetSize(GetCurrentProcess(), &ro2[0], &ro2[1]));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
    ck_assert(VirtualFree(rw, 0, MEM_RELEASE));
    ck_assert(VirtualFree(ro, 0, MEM_RELEASE));
}
END_TEST

int main(void)
{
    /* VirtualLock needs headroom under the library's own quota check. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (1 << 20)) {
        rl.rlim_cur = rl.rlim_max < (1 << 20) ? rl.rlim_max : (1 << 20);
        setrlimit(RLIMIT_MEMLOCK, &rl);
    }
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_sweep, 0, NSCEN);
    tcase_add_test(tc, test_first_allocation);
    tcase_add_test(tc, test_probe_under_lock);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
