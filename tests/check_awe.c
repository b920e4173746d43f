/*
 * check_awe.c: Address Windowing Extensions (spec section 13, issue 15):
 * MEM_PHYSICAL windows, AllocateUserPhysicalPages, MapUserPhysicalPages(Scatter),
 * FreeUserPhysicalPages and their native forms.
 *
 * Rules checked, each with its return value and last error (or NTSTATUS):
 * - windows: only MEM_RESERVE|MEM_PHYSICAL (MEM_TOP_DOWN allowed) with
 *   PAGE_READWRITE; VirtualQuery MEM_PRIVATE, AllocationProtect READWRITE,
 *   unmapped pages MEM_RESERVE/0, mapped pages MEM_COMMIT/READWRITE; commit,
 *   decommit, reset and lock refused; VirtualProtect among NOACCESS,
 *   READONLY, READWRITE on mapped pages only; release unmaps the frames,
 *   which stay allocated;
 * - frames: new ones read zero, keep their contents across unmap, remap and
 *   windows; numbers are checked (made-up, freed: ERROR_INVALID_ADDRESS); a
 *   frame is never mapped twice (ERROR_INVALID_PARAMETER); every map call
 *   is all or nothing; scatter with a NULL array and with 0 entries unmaps;
 *   free unmaps and reports how many it freed;
 * - the quota: frames count against the soft RLIMIT_MEMLOCK (fewer pages,
 *   then ERROR_COMMITMENT_LIMIT; a limit of 0 is ERROR_PRIVILEGE_NOT_HELD);
 * - two threads remapping pages of one window at once;
 * - fork: the child sees none of the parent's AWE memory and the parent
 *   none of the child's;
 * - the interposers: munmap of window pages unmaps their frames, mremap of a
 *   window is refused.
 */
#include <check.h>
#include <virtualwin.h>
#include <virtualwin/nt.h>
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG VW_PAGE
#define ME GetCurrentProcess()
#define PHYS (MEM_RESERVE | MEM_PHYSICAL)

/* The lock quota for the test's process: n pages (at most the hard limit). */
static void set_quota_pages(size_t n)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
    rlim_t want = (rlim_t)(n * PG);
    ck_assert_msg(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want,
                  "hard RLIMIT_MEMLOCK %llu below the %zu pages this test needs",
                  (unsigned long long)rl.rlim_max, n);
    rl.rlim_cur = want;
    ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
}

static void setup(void)
{
    set_quota_pages(512);
}

static char *window(size_t size)
{
    return VW_ALLOC_OK(NULL, size, PHYS, PAGE_READWRITE);
}

static void get_frames(ULONG_PTR *f, size_t n)
{
    ULONG_PTR k = n;
    VW_EXPECT_OK(AllocateUserPhysicalPages(ME, &k, f));
    ck_assert_uint_eq(k, n);
}

static void put_frames(ULONG_PTR *f, size_t n)
{
    ULONG_PTR k = n;
    VW_EXPECT_OK(FreeUserPhysicalPages(ME, &k, f));
    ck_assert_uint_eq(k, n);
}

/* Page i of [p, p + n pages) is mapped read-write and holds seed + i. */
static void check_pages(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(vw_can_write(p + i * PG), "page %zu not writable", i);
        ck_assert_msg(vw_has_pattern(p + i * PG, PG, seed + (unsigned)i), "page %zu contents", i);
    }
}

static void fill_pages(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        vw_fill_pattern(p + i * PG, PG, seed + (unsigned)i);
}

/* ---- windows ------------------------------------------------------------------ */

START_TEST(window_reserve_rules)
{
    char *w = window(VW_64K);
    VW_EXPECT_ALLOC_REGION(w, w, VW_64K, MEM_RESERVE, 0, w, PAGE_READWRITE);
    VW_CHECK_NO_ACCESS(w);
    char *t = VW_ALLOC_OK(NULL, VW_64K, PHYS | MEM_TOP_DOWN, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(t, t, VW_64K, MEM_RESERVE, 0, t, PAGE_READWRITE);
    static const DWORD bad_prot[] = { PAGE_READONLY, PAGE_NOACCESS, PAGE_EXECUTE_READWRITE,
                                      PAGE_READWRITE | PAGE_GUARD, PAGE_READWRITE | PAGE_NOCACHE };
    for (size_t i = 0; i < sizeof bad_prot / sizeof bad_prot[0]; i++)
        VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, VW_64K, PHYS, bad_prot[i]), ERROR_INVALID_PARAMETER);
    static const DWORD bad_type[] = { PHYS | MEM_COMMIT, MEM_PHYSICAL, MEM_PHYSICAL | MEM_COMMIT,
                                      PHYS | MEM_WRITE_WATCH, PHYS | MEM_RESET,
                                      PHYS | MEM_LARGE_PAGES | MEM_COMMIT };
    for (size_t i = 0; i < sizeof bad_type / sizeof bad_type[0]; i++)
        VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, VW_64K, bad_type[i], PAGE_READWRITE),
                             ERROR_INVALID_PARAMETER);
    /* The native statuses: a type bit too many is parameter 5, a protection
     * other than read-write parameter 6 (WRK allocvm.c). */
    PVOID base = NULL;
    SIZE_T size = VW_64K;
    ck_assert_int_eq(NtAllocateVirtualMemory(ME, &base, 0, &size, PHYS | MEM_COMMIT, PAGE_READWRITE),
                     STATUS_INVALID_PARAMETER_5);
    ck_assert_int_eq(NtAllocateVirtualMemory(ME, &base, 0, &size, PHYS, PAGE_READONLY),
                     STATUS_INVALID_PARAMETER_6);
    ck_assert_int_eq(NtAllocateVirtualMemory(ME, &base, 0, &size, PHYS, 0x3),
                     STATUS_INVALID_PARAMETER_6);
    ck_assert_ptr_null(base);
    ck_assert_int_eq(NtAllocateVirtualMemory(ME, &base, 0, &size, PHYS, PAGE_READWRITE),
                     STATUS_SUCCESS);
    vw_release(base);
    /* At an explicit address, as any reservation. */
    char *at = vw_free_space(VW_64K);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(at + 100, PG, PHYS, PAGE_READWRITE), at);
    VW_EXPECT_ALLOC_REGION(at, at, 2 * PG, MEM_RESERVE, 0, at, PAGE_READWRITE);
    vw_release(at);
    vw_release(t);
    vw_release(w);
    VW_CHECK_FREE(w, VW_64K);
}
END_TEST

START_TEST(window_refuses_other_operations)
{
    char *w = window(VW_64K);
    ULONG_PTR f[2];
    get_frames(f, 2);
    VW_EXPECT_OK(MapUserPhysicalPages(w, 2, f));
    /* Committed only by mapping frames; decommit, reset and lock refused. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(w + 4 * PG, PG, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(w, PG, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(w, PG, MEM_DECOMMIT), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(w, 0, MEM_DECOMMIT), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(w, PG, MEM_RESET, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualLock(w, PG), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(VirtualUnlock(w, PG), ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_REGION(w, w, 2 * PG, MEM_COMMIT, PAGE_READWRITE, w, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(w + 2 * PG, w + 2 * PG, VW_64K - 2 * PG, MEM_RESERVE, 0, w,
                           PAGE_READWRITE);
    ck_assert(vw_can_write(w) && vw_can_write(w + PG));
    VW_EXPECT_FAIL(VirtualFree(w, PG, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    vw_release(w);
    put_frames(f, 2);
}
END_TEST

START_TEST(window_protect)
{
    char *w = window(VW_64K);
    ULONG_PTR f[2];
    get_frames(f, 2);
    DWORD old = 77;
    /* Nothing mapped: succeeds, changes nothing, reports PAGE_NOACCESS. */
    VW_EXPECT_OK(VirtualProtect(w, VW_64K, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    VW_EXPECT_ALLOC_REGION(w, w, VW_64K, MEM_RESERVE, 0, w, PAGE_READWRITE);
    VW_EXPECT_OK(MapUserPhysicalPages(w + PG, 2, f));
    fill_pages(w + PG, 2, 40);
    VW_EXPECT_OK(VirtualProtect(w, 4 * PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_NOACCESS);   /* page 0 has no frame */
    VW_EXPECT_ALLOC_REGION(w, w, PG, MEM_RESERVE, 0, w, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(w + PG, w + PG, 2 * PG, MEM_COMMIT, PAGE_READONLY, w, PAGE_READWRITE);
    ck_assert(vw_can_read(w + PG) && !vw_can_write(w + PG));
    ck_assert(vw_has_pattern(w + 2 * PG, PG, 41));
    VW_EXPECT_OK(VirtualProtect(w + PG, PG, PAGE_NOACCESS, &old));
    ck_assert_uint_eq(old, PAGE_READONLY);
    VW_CHECK_NO_ACCESS(w + PG);
    VW_EXPECT_ALLOC_REGION(w + PG, w + PG, PG, MEM_COMMIT, PAGE_NOACCESS, w, PAGE_READWRITE);
    /* Anything but the three: ERROR_INVALID_ADDRESS; invalid values as ever. */
    VW_EXPECT_FAIL(VirtualProtect(w + PG, PG, PAGE_EXECUTE_READ, &old), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualProtect(w + PG, PG, PAGE_READWRITE | PAGE_GUARD, &old),
                   ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualProtect(w + PG, PG, PAGE_WRITECOPY, &old), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(VirtualProtect(w + PG, VW_64K, PAGE_READWRITE, &old), ERROR_INVALID_ADDRESS);
    VW_CHECK_NO_ACCESS(w + PG);
    /* A frame mapped again is read-write. */
    VW_EXPECT_OK(MapUserPhysicalPages(w + PG, 2, NULL));
    VW_EXPECT_OK(MapUserPhysicalPages(w + 4 * PG, 2, f));
    VW_EXPECT_ALLOC_REGION(w + 4 * PG, w + 4 * PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE, w,
                           PAGE_READWRITE);
    check_pages(w + 4 * PG, 2, 40);
    vw_release(w);
    put_frames(f, 2);
}
END_TEST

/* ---- frames and mapping ----------------------------------------------------------- */

START_TEST(frames_zero_and_contents_across_windows)
{
    enum { N = 16 };
    ULONG_PTR f[N];
    memset(f, 0, sizeof f);
    get_frames(f, N);
    for (int i = 0; i < N; i++) {
        ck_assert(f[i] != 0);
        for (int j = 0; j < i; j++)
            ck_assert(f[i] != f[j]);
    }
    char *a = window(VW_64K), *b = window(2 * VW_64K);
    VW_EXPECT_OK(MapUserPhysicalPages(a, N, f));
    VW_EXPECT_ALLOC_REGION(a, a, N * PG, MEM_COMMIT, PAGE_READWRITE, a, PAGE_READWRITE);
    ck_assert(vw_is_zero(a, N * PG));
    fill_pages(a, N, 100);
    VW_EXPECT_OK(MapUserPhysicalPages(a, N, NULL));
    VW_EXPECT_ALLOC_REGION(a, a, VW_64K, MEM_RESERVE, 0, a, PAGE_READWRITE);
    VW_CHECK_NO_ACCESS(a);
    /* The same frames in reverse order, in another window, at an odd address. */
    ULONG_PTR r[N];
    for (int i = 0; i < N; i++)
        r[i] = f[N - 1 - i];
    char *o = b + VW_64K - 5 * PG;   /* across the window's two granules */
    VW_EXPECT_OK(MapUserPhysicalPages(o + 5, N, r));
    for (int i = 0; i < N; i++)
        ck_assert(vw_has_pattern(o + (size_t)i * PG, PG, 100 + (unsigned)(N - 1 - i)));
    VW_EXPECT_ALLOC_REGION(b, b, (size_t)(o - b), MEM_RESERVE, 0, b, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(o, o, N * PG, MEM_COMMIT, PAGE_READWRITE, b, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(o + N * PG, o + N * PG, 2 * VW_64K - (size_t)(o - b) - N * PG,
                           MEM_RESERVE, 0, b, PAGE_READWRITE);
    /* Released window: frames unmapped, still allocated, contents kept. */
    vw_release(b);
    VW_EXPECT_OK(MapUserPhysicalPages(a, N, f));
    check_pages(a, N, 100);
    vw_release(a);
    put_frames(f, N);
}
END_TEST

START_TEST(remap_over_mapped_pages)
{
    enum { N = 4 };
    ULONG_PTR x[N], y[N];
    get_frames(x, N);
    get_frames(y, N);
    char *w = window(VW_64K);
    VW_EXPECT_OK(MapUserPhysicalPages(w, N, x));
    fill_pages(w, N, 10);
    VW_EXPECT_OK(MapUserPhysicalPages(w, N, y));   /* x leaves the window */
    ck_assert(vw_is_zero(w, N * PG));
    fill_pages(w, N, 20);
    /* Half over: pages 2..5 get x[0..3]; y[2], y[3] become unmapped. */
    VW_EXPECT_OK(MapUserPhysicalPages(w + 2 * PG, N, x));
    check_pages(w, 2, 20);
    check_pages(w + 2 * PG, N, 10);
    VW_EXPECT_OK(MapUserPhysicalPages(w + 8 * PG, 2, y + 2));
    check_pages(w + 8 * PG, 2, 22);
    /* A frame that is mapped, even where it is mapped: ERROR_INVALID_PARAMETER. */
    VW_EXPECT_FAIL(MapUserPhysicalPages(w + 2 * PG, 1, x), ERROR_INVALID_PARAMETER);
    vw_release(w);
    put_frames(x, N);
    put_frames(y, N);
}
END_TEST

START_TEST(map_errors_all_or_nothing)
{
    char *w = window(VW_64K);
    ULONG_PTR f[4], made_up[2] = { 0x1234567, 3 };
    /* No frame ever allocated: ERROR_INVALID_PARAMETER (NtMap: parameter 1). */
    VW_EXPECT_FAIL(MapUserPhysicalPages(w, 1, made_up), ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(NtMapUserPhysicalPages(w, 1, NULL), STATUS_INVALID_PARAMETER_1);
    get_frames(f, 4);
    VW_EXPECT_OK(MapUserPhysicalPages(w, 2, f));
    fill_pages(w, 2, 5);
    VW_EXPECT_FAIL(MapUserPhysicalPages(w, 0, f + 2), ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(NtMapUserPhysicalPages(w, 0, f + 2), STATUS_INVALID_PARAMETER_2);
    ck_assert_int_eq(NtMapUserPhysicalPages(w, (ULONG_PTR)-1, f + 2), STATUS_INVALID_PARAMETER_2);
    /* Not inside one window. */
    char *priv = vw_alloc_commit(VW_64K, PAGE_READWRITE);
    VW_EXPECT_FAIL(MapUserPhysicalPages(priv, 1, f + 2), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(MapUserPhysicalPages(w + VW_64K - PG, 2, f + 2), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(MapUserPhysicalPages(vw_free_space(VW_64K), 1, f + 2), ERROR_INVALID_PARAMETER);
    /* Frames: made up (ERROR_INVALID_ADDRESS), mapped already or twice in the
     * array (ERROR_INVALID_PARAMETER); the pages before the bad one stay. */
    ULONG_PTR mix[3] = { f[2], made_up[0], f[3] };
    VW_EXPECT_FAIL(MapUserPhysicalPages(w, 3, mix), ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(NtMapUserPhysicalPages(w, 3, mix), STATUS_CONFLICTING_ADDRESSES);
    mix[1] = f[0];
    VW_EXPECT_FAIL(MapUserPhysicalPages(w + 4 * PG, 3, mix), ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(NtMapUserPhysicalPages(w + 4 * PG, 3, mix), STATUS_INVALID_PARAMETER_3);
    mix[1] = f[2];
    VW_EXPECT_FAIL(MapUserPhysicalPages(w, 3, mix), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(MapUserPhysicalPages(w, 1, made_up + 1), ERROR_INVALID_ADDRESS);
    ULONG_PTR forged = f[2] + ((ULONG_PTR)1 << 32);   /* another generation */
    VW_EXPECT_FAIL(MapUserPhysicalPages(w, 1, &forged), ERROR_INVALID_ADDRESS);
    /* Nothing changed by the failures: f[2], f[3] unmapped, f[0..1] in place. */
    check_pages(w, 2, 5);
    VW_EXPECT_ALLOC_REGION(w, w, 2 * PG, MEM_COMMIT, PAGE_READWRITE, w, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(w + 2 * PG, w + 2 * PG, VW_64K - 2 * PG, MEM_RESERVE, 0, w,
                           PAGE_READWRITE);
    VW_EXPECT_OK(MapUserPhysicalPages(w + 2 * PG, 2, f + 2));
    /* A bad array pointer: ERROR_NOACCESS, nothing mapped. */
    VW_EXPECT_FAIL(MapUserPhysicalPages(w + 8 * PG, 1, (PULONG_PTR)8), ERROR_NOACCESS);
    VW_CHECK_NO_ACCESS(w + 8 * PG);
    vw_release(priv);
    vw_release(w);
    put_frames(f, 4);
}
END_TEST

START_TEST(scatter)
{
    enum { N = 6 };
    ULONG_PTR f[N];
    get_frames(f, N);
    char *a = window(VW_64K), *b = window(VW_64K);
    PVOID at[N] = { a + 5 * PG, b, a + PG + 123, b + 9 * PG, a, b + PG };
    VW_EXPECT_OK(MapUserPhysicalPagesScatter(at, N, f));
    for (int i = 0; i < N; i++) {
        char *p = (char *)((uintptr_t)at[i] & ~(uintptr_t)(PG - 1));
        VW_EXPECT_ALLOC_REGION(p, p, VW_ANY_SIZE, MEM_COMMIT, PAGE_READWRITE,
                               (uintptr_t)p < (uintptr_t)b || (uintptr_t)p >= (uintptr_t)b + VW_64K ? a : b,
                               PAGE_READWRITE);
        vw_fill_pattern(p, PG, 60 + (unsigned)i);
    }
    /* 0 entries unmap their page only. */
    ULONG_PTR some[3] = { 0, f[1], 0 };
    PVOID three[3] = { a + 5 * PG, b + 3 * PG, b + 9 * PG };
    VW_EXPECT_FAIL(MapUserPhysicalPagesScatter(three, 3, some), ERROR_INVALID_PARAMETER);
    VW_CHECK_NO_ACCESS(b + 3 * PG);   /* f[1] is mapped at b: all or nothing */
    ck_assert(vw_has_pattern(a + 5 * PG, PG, 60));
    some[1] = 0;
    VW_EXPECT_OK(MapUserPhysicalPagesScatter(three, 3, some));
    VW_CHECK_NO_ACCESS(a + 5 * PG);
    VW_CHECK_NO_ACCESS(b + 9 * PG);
    VW_EXPECT_ALLOC_REGION(a + 5 * PG, a + 5 * PG, VW_ANY_SIZE, MEM_RESERVE, 0, a, PAGE_READWRITE);
    ck_assert(vw_has_pattern(b, PG, 61));
    /* Frames freed by the unmap can go elsewhere, contents intact. */
    ULONG_PTR back[2] = { f[0], f[3] };
    PVOID two[2] = { b + 15 * PG, a + 15 * PG };
    VW_EXPECT_OK(MapUserPhysicalPagesScatter(two, 2, back));
    ck_assert(vw_has_pattern(b + 15 * PG, PG, 60));
    ck_assert(vw_has_pattern(a + 15 * PG, PG, 63));
    /* A NULL array unmaps every listed page; 0 entries do nothing at all. */
    VW_EXPECT_OK(MapUserPhysicalPagesScatter(at, N, NULL));
    for (int i = 0; i < N; i++)
        VW_CHECK_NO_ACCESS(at[i]);
    VW_EXPECT_OK(MapUserPhysicalPagesScatter(NULL, 0, NULL));
    ck_assert_int_eq(NtMapUserPhysicalPagesScatter(at, 0, f), STATUS_SUCCESS);
    /* An address in no window: ERROR_INVALID_PARAMETER, nothing changed. */
    char *priv = vw_alloc_commit(VW_64K, PAGE_READWRITE);
    PVOID bad[2] = { a + 2 * PG, priv };
    VW_EXPECT_FAIL(MapUserPhysicalPagesScatter(bad, 2, f), ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(NtMapUserPhysicalPagesScatter(bad, 2, f), STATUS_INVALID_PARAMETER_1);
    VW_CHECK_NO_ACCESS(a + 2 * PG);
    VW_EXPECT_FAIL(MapUserPhysicalPagesScatter((PVOID *)8, 1, f), ERROR_NOACCESS);
    ck_assert(vw_has_pattern(b + 15 * PG, PG, 60));
    vw_release(priv);
    vw_release(a);
    vw_release(b);
    put_frames(f, N);
}
END_TEST

START_TEST(free_frames)
{
    enum { N = 8 };
    ULONG_PTR f[N], n;
    get_frames(f, N);
    char *w = window(VW_64K);
    VW_EXPECT_OK(MapUserPhysicalPages(w, N, f));
    fill_pages(w, N, 1);
    /* Free stops at the first bad frame; those before it are freed (and
     * unmapped), *n says how many. */
    ULONG_PTR list[4] = { f[0], f[1], 42, f[2] };
    n = 4;
    VW_EXPECT_FAIL(FreeUserPhysicalPages(ME, &n, list), ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(n, 2);
    VW_CHECK_NO_ACCESS(w);
    VW_CHECK_NO_ACCESS(w + PG);
    VW_EXPECT_ALLOC_REGION(w, w, 2 * PG, MEM_RESERVE, 0, w, PAGE_READWRITE);
    check_pages(w + 2 * PG, N - 2, 3);
    /* Freed numbers are dead: map and free refuse them. */
    VW_EXPECT_FAIL(MapUserPhysicalPages(w, 1, f), ERROR_INVALID_ADDRESS);
    n = 1;
    VW_EXPECT_FAIL(FreeUserPhysicalPages(ME, &n, f + 1), ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(n, 0);
    n = 0;
    VW_EXPECT_FAIL(FreeUserPhysicalPages(ME, &n, f + 2), ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(NtFreeUserPhysicalPages(ME, &n, f + 2), STATUS_INVALID_PARAMETER_2);
    n = 1;
    VW_EXPECT_FAIL(FreeUserPhysicalPages((HANDLE)(intptr_t)-7, &n, f + 2), ERROR_INVALID_HANDLE);
    VW_EXPECT_FAIL(FreeUserPhysicalPages(ME, NULL, f + 2), ERROR_NOACCESS);
    /* The memory of freed frames comes back zeroed to the next owner. */
    ULONG_PTR g[2];
    get_frames(g, 2);
    ck_assert(g[0] != f[0] && g[0] != f[1] && g[1] != f[0] && g[1] != f[1]);
    VW_EXPECT_OK(MapUserPhysicalPages(w, 2, g));
    ck_assert(vw_is_zero(w, 2 * PG));
    put_frames(f + 2, N - 2);
    VW_CHECK_NO_ACCESS(w + 2 * PG);
    put_frames(g, 2);
    VW_EXPECT_ALLOC_REGION(w, w, VW_64K, MEM_RESERVE, 0, w, PAGE_READWRITE);
    vw_release(w);
}
END_TEST

START_TEST(allocate_arguments)
{
    ULONG_PTR f[4], n = 0;
    VW_EXPECT_OK(AllocateUserPhysicalPages(ME, &n, f));   /* 0 pages: nothing to do */
    ck_assert_uint_eq(n, 0);
    n = 2;
    VW_EXPECT_FAIL(AllocateUserPhysicalPages((HANDLE)(intptr_t)-7, &n, f), ERROR_INVALID_HANDLE);
    ck_assert_uint_eq(n, 2);
    VW_EXPECT_FAIL(AllocateUserPhysicalPages(ME, NULL, f), ERROR_NOACCESS);
    VW_EXPECT_FAIL(AllocateUserPhysicalPages(ME, &n, (PULONG_PTR)8), ERROR_NOACCESS);
    n = (ULONG_PTR)-1;
    ck_assert_int_eq(NtAllocateUserPhysicalPages(ME, &n, f), STATUS_INVALID_PARAMETER_2);
    n = 2;
    ck_assert_int_eq(NtAllocateUserPhysicalPages(ME, &n, f), STATUS_SUCCESS);
    ck_assert_uint_eq(n, 2);
    /* The NUMA form: the node is a preference. */
    n = 2;
    VW_EXPECT_OK(AllocateUserPhysicalPagesNuma(ME, &n, f + 2, 0));
    ck_assert_uint_eq(n, 2);
    n = 4;
    ck_assert_int_eq(NtFreeUserPhysicalPages(ME, &n, f), STATUS_SUCCESS);
    ck_assert_uint_eq(n, 4);
}
END_TEST

START_TEST(quota_is_memlock)
{
    ULONG_PTR f[20], n = 20;
    set_quota_pages(8);
    VW_EXPECT_OK(AllocateUserPhysicalPages(ME, &n, f));
    ck_assert_uint_eq(n, 8);   /* fewer pages: the quota */
    n = 1;
    VW_EXPECT_FAIL(AllocateUserPhysicalPages(ME, &n, f + 8), ERROR_COMMITMENT_LIMIT);
    ck_assert_uint_eq(n, 1);
    n = 3;
    VW_EXPECT_OK(FreeUserPhysicalPages(ME, &n, f + 5));
    n = 10;
    VW_EXPECT_OK(AllocateUserPhysicalPages(ME, &n, f + 5));
    ck_assert_uint_eq(n, 3);
    /* VirtualLock shares the quota: nothing left to lock. */
    char *p = vw_alloc_commit(VW_64K, PAGE_READWRITE);
    VW_EXPECT_FAIL(VirtualLock(p, PG), ERROR_WORKING_SET_QUOTA);
    n = 8;
    VW_EXPECT_OK(FreeUserPhysicalPages(ME, &n, f));
    VW_EXPECT_OK(VirtualLock(p, PG));
    /* A limit of 0 is SeLockMemoryPrivilege not held. */
    set_quota_pages(0);
    n = 1;
    VW_EXPECT_FAIL(AllocateUserPhysicalPages(ME, &n, f), ERROR_PRIVILEGE_NOT_HELD);
    vw_release(p);
}
END_TEST

/* ---- threads ------------------------------------------------------------------------ */

struct remapper {
    char *page;          /* this thread's page of the shared window */
    ULONG_PTR frame[2];
    int failures;
};

static void *remap_loop(void *arg)
{
    struct remapper *r = arg;
    for (int i = 0; i < 2000; i++) {
        int k = i & 1;
        if (!MapUserPhysicalPages(r->page, 1, &r->frame[k]) ||
            *(volatile unsigned *)r->page != (unsigned)(k + 1) + (unsigned)(uintptr_t)r->page) {
            r->failures++;
            break;
        }
        if (!MapUserPhysicalPages(r->page, 1, NULL)) {
            r->failures++;
            break;
        }
    }
    return NULL;
}

START_TEST(threads_remap_one_window)
{
    char *w = window(VW_64K);
    struct remapper r[2];
    for (int t = 0; t < 2; t++) {
        r[t].page = w + (size_t)(3 + 5 * t) * PG;
        r[t].failures = 0;
        get_frames(r[t].frame, 2);
        for (int k = 0; k < 2; k++) {
            VW_EXPECT_OK(MapUserPhysicalPages(r[t].page, 1, &r[t].frame[k]));
            *(unsigned *)r[t].page = (unsigned)(k + 1) + (unsigned)(uintptr_t)r[t].page;
            VW_EXPECT_OK(MapUserPhysicalPages(r[t].page, 1, NULL));
        }
    }
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, remap_loop, &r[t]), 0);
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < 2; t++)
        ck_assert_int_eq(r[t].failures, 0);
    VW_EXPECT_ALLOC_REGION(w, w, VW_64K, MEM_RESERVE, 0, w, PAGE_READWRITE);
    vw_release(w);
}
END_TEST

/* ---- fork ----------------------------------------------------------------------------- */

START_TEST(fork_shares_nothing)
{
    ULONG_PTR f[2];
    get_frames(f, 2);
    char *w = window(VW_64K);
    VW_EXPECT_OK(MapUserPhysicalPages(w, 2, f));
    fill_pages(w, 2, 7);
    int to_child[2], to_parent[2];
    ck_assert_int_eq(pipe(to_child), 0);
    ck_assert_int_eq(pipe(to_parent), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The child: the window is there, empty; the parent's frames are not
         * its own; frames of its own work and stay its own. */
        int bad = 0;
        MEMORY_BASIC_INFORMATION m;
        if (VirtualQuery(w, &m, sizeof m) != sizeof m || m.State != MEM_RESERVE ||
            m.AllocationBase != w || m.RegionSize != VW_64K)
            bad |= 1;
        if (vw_can_read(w))
            bad |= 2;
        if (MapUserPhysicalPages(w, 1, f) || GetLastError() != ERROR_INVALID_ADDRESS)
            bad |= 4;
        ULONG_PTR g[2], n = 2;
        if (!AllocateUserPhysicalPages(ME, &n, g) || n != 2 || !MapUserPhysicalPages(w, 2, g))
            bad |= 8;
        else if (!vw_is_zero(w, 2 * PG))
            bad |= 16;
        else
            memset(w, 0x5A, 2 * PG);   /* must never reach the parent */
        char c = 0;
        if (write(to_parent[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1)
            bad |= 32;
        /* The parent wrote after the fork: nothing of it shows here. */
        if (w[0] != 0x5A || w[PG] != 0x5A)
            bad |= 64;
        _exit(bad);
    }
    char c;
    ck_assert_int_eq(read(to_parent[0], &c, 1), 1);
    check_pages(w, 2, 7);   /* the child's writes are not here */
    fill_pages(w, 2, 9);
    ck_assert_int_eq(write(to_child[1], &c, 1), 1);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
    check_pages(w, 2, 9);
    vw_release(w);
    put_frames(f, 2);
}
END_TEST

/* A child made without fork()'s handlers (a raw fork syscall, as _Fork and
 * clone make them) has nothing at the pages where its parent had frames, by
 * MADV_DONTFORK, before the library ever runs in it: never the parent's data. */
START_TEST(raw_fork_child_sees_no_frames)
{
    ULONG_PTR f[3];
    get_frames(f, 3);
    char *w = window(VW_64K);
    VW_EXPECT_OK(MapUserPhysicalPages(w, 2, f));
    PVOID at[1] = { w + 9 * PG };
    VW_EXPECT_OK(MapUserPhysicalPagesScatter(at, 1, f + 2));
    fill_pages(w, 2, 3);
    vw_fill_pattern(w + 9 * PG, PG, 4);
    pid_t pid = (pid_t)syscall(SYS_fork);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int bad = vw_can_read(w) | vw_can_read(w + PG) << 1 | vw_can_read(w + 9 * PG) << 2;
        syscall(SYS_exit_group, bad);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the raw child could read its parent's frames (0x%x)", status);
    check_pages(w, 2, 3);
    ck_assert(vw_has_pattern(w + 9 * PG, PG, 4));
    vw_release(w);
    put_frames(f, 3);
}
END_TEST

/* ---- the interposers -------------------------------------------------------------------- */

START_TEST(munmap_and_mremap_of_a_window)
{
    ULONG_PTR f[3];
    get_frames(f, 3);
    char *w = window(VW_64K), *v = window(VW_64K);
    VW_EXPECT_OK(MapUserPhysicalPages(w, 3, f));
    fill_pages(w, 3, 30);
    /* mremap would move frames out of their window: refused, nothing changed. */
    errno = 0;
    ck_assert_ptr_eq(mremap(w, 3 * PG, 3 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, v), MAP_FAILED);
    ck_assert_int_eq(errno, EINVAL);
    check_pages(w, 3, 30);
    /* munmap of a mapped page: it leaves the window, its frame is unmapped. */
    ck_assert_int_eq(munmap(w + PG, PG), 0);
    VW_CHECK_FREE(w + PG, PG);
    VW_EXPECT_OK(MapUserPhysicalPages(v, 1, f + 1));
    check_pages(v, 1, 31);
    check_pages(w, 1, 30);
    check_pages(w + 2 * PG, 1, 32);
    VW_EXPECT_FAIL(MapUserPhysicalPages(w, 2, f), ERROR_INVALID_PARAMETER);   /* a hole */
    vw_release(w);
    vw_release(v);
    put_frames(f, 3);
}
END_TEST

START_TEST(get_proc_address)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll"), nt = GetModuleHandleA("ntdll.dll");
    ck_assert_ptr_nonnull(k32);
    ck_assert_ptr_nonnull(nt);
    ck_assert((void *)GetProcAddress(k32, "AllocateUserPhysicalPages") ==
              (void *)AllocateUserPhysicalPages);
    ck_assert((void *)GetProcAddress(k32, "MapUserPhysicalPagesScatter") ==
              (void *)MapUserPhysicalPagesScatter);
    ck_assert((void *)GetProcAddress(nt, "NtMapUserPhysicalPages") ==
              (void *)NtMapUserPhysicalPages);
}
END_TEST

static Suite *awe_suite(void)
{
    Suite *s = suite_create("awe");
    TCase *tc = tcase_create("windows");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, window_reserve_rules);
    tcase_add_test(tc, window_refuses_other_operations);
    tcase_add_test(tc, window_protect);
    suite_add_tcase(s, tc);

    tc = tcase_create("frames");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, frames_zero_and_contents_across_windows);
    tcase_add_test(tc, remap_over_mapped_pages);
    tcase_add_test(tc, map_errors_all_or_nothing);
    tcase_add_test(tc, scatter);
    tcase_add_test(tc, free_frames);
    tcase_add_test(tc, allocate_arguments);
    tcase_add_test(tc, quota_is_memlock);
    suite_add_tcase(s, tc);

    tc = tcase_create("process");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, threads_remap_one_window);
    tcase_add_test(tc, fork_shares_nothing);
    tcase_add_test(tc, raw_fork_child_sees_no_frames);
    tcase_add_test(tc, munmap_and_mremap_of_a_window);
    tcase_add_test(tc, get_proc_address);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(awe_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
