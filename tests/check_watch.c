/*
 * check_watch.c: write watches (spec section 11): MEM_WRITE_WATCH,
 * GetWriteWatch, ResetWriteWatch, NtGetWriteWatch and NtResetWriteWatch.
 *
 * The whole suite runs once per tracking engine, forced with
 * VIRTUALWIN_WRITE_WATCH (uffd, softdirty); an engine this kernel cannot run
 * (VirtualAlloc(MEM_WRITE_WATCH) gives ERROR_NOT_SUPPORTED in a probe child)
 * is skipped with that reason printed.  Each test names the rule it checks
 * and asserts return values, last errors, the addresses reported, VirtualQuery
 * and memory contents.  The kernel-write and concurrency rules have their
 * own tests (check_watch_io.c).
 */
#include <check.h>
#include <virtualwin.h>
#include <virtualwin/nt.h>
#include "testutil.h"
#include "watchutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG VW_PAGE
#define RW PAGE_READWRITE
#define WW (MEM_RESERVE | MEM_WRITE_WATCH)

/* ---- allocation rules ---------------------------------------------------------- */

/* spec 11: MEM_WRITE_WATCH only with MEM_RESERVE (optionally COMMIT, TOP_DOWN);
 * alone, with COMMIT only, with RESET, PHYSICAL or LARGE_PAGES: ERROR_INVALID_PARAMETER */
START_TEST(alloc_flag_rules)
{
    char *r = vw_alloc_reserve(VW_64K, RW);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, PG, MEM_WRITE_WATCH, RW), ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, PG, MEM_COMMIT | MEM_WRITE_WATCH, RW),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(r, PG, MEM_COMMIT | MEM_WRITE_WATCH, RW),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(r, PG, MEM_RESET | MEM_WRITE_WATCH, RW),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, VW_64K, WW | MEM_PHYSICAL, RW),
                         ERROR_INVALID_PARAMETER);
    size_t lp = GetLargePageMinimum() ? GetLargePageMinimum() : 0x200000;
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, lp, WW | MEM_COMMIT | MEM_LARGE_PAGES, RW),
                         ERROR_INVALID_PARAMETER);
    static const DWORD ok[] = { WW, WW | MEM_COMMIT, WW | MEM_TOP_DOWN,
                                WW | MEM_COMMIT | MEM_TOP_DOWN };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *p = VW_ALLOC_OK(NULL, 3 * PG, ok[i], RW);
        int commit = !!(ok[i] & MEM_COMMIT);
        VW_CHECK_MBI(p, p, p, RW, 3 * PG, commit ? MEM_COMMIT : MEM_RESERVE, commit ? RW : 0,
                     MEM_PRIVATE);
        EXPECT_DIRTY(p, 3 * PG);
        VW_FREE_OK(p, 0, MEM_RELEASE);
    }
    vw_release(r);
}
END_TEST

/* spec 11: the watch never splits VirtualQuery regions and does not show in Protect;
 * the kernel's view agrees; transparent huge pages are off on the range */
START_TEST(watch_invisible_in_query)
{
    char *p = VW_ALLOC_OK(NULL, 16 * PG, WW | MEM_COMMIT, RW);
    p[3 * PG] = 1;
    p[9 * PG] = 1;
    VW_CHECK_MBI(p + 5 * PG, p + 5 * PG, p, RW, 11 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    vw_assert_range_agrees(p, 16 * PG);
    char flags[256];
    ck_assert(vw_vmflags((uintptr_t)p, flags, sizeof flags));
    ck_assert_msg(vw_has_vmflag(flags, "nh"), "no MADV_NOHUGEPAGE on the watch: %s", flags);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: a new allocation has no dirty pages whatever its protection; reads do
 * not dirty; a reserved-only watch region returns count 0 */
START_TEST(new_allocation_clean)
{
    static const DWORD prot[] = { RW, PAGE_READONLY, PAGE_NOACCESS, PAGE_EXECUTE_READWRITE,
                                  PAGE_EXECUTE_READ, RW | PAGE_GUARD };
    for (size_t i = 0; i < sizeof prot / sizeof prot[0]; i++) {
        char *p = VW_ALLOC_OK(NULL, 8 * PG, WW | MEM_COMMIT, prot[i]);
        EXPECT_DIRTY(p, 8 * PG);
        if (prot[i] != PAGE_NOACCESS && !(prot[i] & PAGE_GUARD)) {
            ck_assert(vw_is_zero(p, 8 * PG));   /* every page read */
            EXPECT_DIRTY(p, 8 * PG);
        }
        VW_FREE_OK(p, 0, MEM_RELEASE);
    }
    char *r = VW_ALLOC_OK(NULL, 1 << 20, WW, RW);
    EXPECT_DIRTY(r, 1 << 20);
    VW_FREE_OK(r, 0, MEM_RELEASE);
}
END_TEST

/* ---- GetWriteWatch and ResetWriteWatch -------------------------------------------- */

/* spec 11: the dirty pages' page-aligned addresses, ascending, *lpdwCount set to the
 * number stored, *lpdwGranularity the page size, last error untouched; a write to any
 * byte of a page dirties that page only; the range is rounded out to pages */
START_TEST(get_reports_written_pages)
{
    char *p = VW_ALLOC_OK(NULL, 64 * PG, WW | MEM_COMMIT, RW);
    static const size_t order[] = { 40, 3, 63, 0, 17, 18 };
    for (size_t i = 0; i < 6; i++)
        p[order[i] * PG + (i * 997) % PG] = (char)i;
    PVOID a[70];
    ULONG_PTR n = 70;
    DWORD g = 0;
    SetLastError(VW_KEEP_ERR);
    ck_assert_uint_eq(GetWriteWatch(0, p, 64 * PG, a, &n, &g), 0);
    ck_assert_uint_eq(GetLastError(), VW_KEEP_ERR);
    ck_assert_uint_eq(g, PG);
    ck_assert_uint_eq(n, 6);
    static const size_t want[] = { 0, 3, 17, 18, 40, 63 };
    for (size_t i = 0; i < 6; i++)
        ck_assert_ptr_eq(a[i], p + want[i] * PG);
    /* (indices from the range's first page) */
    EXPECT_DIRTY(p + 3 * PG + 5, 1, 0);               /* rounded out to page 3 */
    EXPECT_DIRTY(p + 17 * PG + 100, PG, 0, 1);        /* straddles into page 18 */
    EXPECT_DIRTY(p + 19 * PG, 22 * PG, 21);           /* a sub-range: page 40 */
    EXPECT_DIRTY(p, 64 * PG, 0, 3, 17, 18, 40, 63);   /* no reset without the flag */
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: with WRITE_WATCH_FLAG_RESET exactly the pages returned become clean: a
 * count smaller than the dirty pages leaves the rest dirty; draining in steps of 7
 * returns every page once */
START_TEST(get_reset_exact)
{
    enum { N = 300 };
    char *p = VW_ALLOC_OK(NULL, N * PG, WW | MEM_COMMIT, RW);
    for (size_t i = 0; i < N; i += 3)
        p[i * PG] = 1;
    PVOID a[8];
    ULONG_PTR n = 2;
    DWORD g;
    ck_assert_uint_eq(GetWriteWatch(WRITE_WATCH_FLAG_RESET, p, N * PG, a, &n, &g), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_eq(a[0], p);
    ck_assert_ptr_eq(a[1], p + 3 * PG);
    EXPECT_DIRTY(p, 12 * PG, 6, 9);
    size_t seen = 2, next = 6;
    for (;;) {
        n = 7;
        ck_assert_uint_eq(GetWriteWatch(WRITE_WATCH_FLAG_RESET, p, N * PG, a, &n, &g), 0);
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++, next += 3)
            ck_assert_ptr_eq(a[i], p + next * PG);
        seen += n;
    }
    ck_assert_uint_eq(seen, N / 3);
    EXPECT_DIRTY(p, N * PG);
    p[5 * PG] = 2;   /* clean again means watched again */
    EXPECT_DIRTY(p, N * PG, 5);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: ResetWriteWatch makes every page of the (rounded) range clean, the rest stay */
START_TEST(reset_write_watch_range)
{
    char *p = VW_ALLOC_OK(NULL, 10 * PG, WW | MEM_COMMIT, RW);
    for (int i = 0; i < 10; i++)
        p[i * PG] = 1;
    SetLastError(VW_KEEP_ERR);
    ck_assert_uint_eq(ResetWriteWatch(p + 2 * PG + 10, 3 * PG), 0);   /* pages 2..5 */
    ck_assert_uint_eq(GetLastError(), VW_KEEP_ERR);
    EXPECT_DIRTY(p, 10 * PG, 0, 1, 6, 7, 8, 9);
    ck_assert_uint_eq(ResetWriteWatch(p, 10 * PG), 0);
    EXPECT_DIRTY(p, 10 * PG);
    ck_assert_int_eq(p[7 * PG], 1);   /* contents kept */
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: the errors of both calls, which write nothing */
START_TEST(errors)
{
    char *p = VW_ALLOC_OK(NULL, 4 * PG, WW | MEM_COMMIT, RW);
    char *plain = vw_alloc_commit(4 * PG, RW);
    p[0] = 1;
    PVOID a[4] = { 0 };
    ULONG_PTR n;
    DWORD g;
#define GWW_FAILS(flags, base, size, arr, cnt, gran, err)                                    \
    do {                                                                                     \
        n = 4;                                                                               \
        g = 77;                                                                              \
        SetLastError(VW_SENTINEL_ERR);                                                       \
        ck_assert_uint_eq(GetWriteWatch(flags, base, size, arr, cnt, gran), (UINT)-1);       \
        ck_assert_uint_eq(GetLastError(), err);                                              \
        ck_assert(n == 4 || cnt != &n);                                                      \
        ck_assert_uint_eq(g, 77);                                                            \
        ck_assert_ptr_null(a[0]);                                                            \
    } while (0)
    GWW_FAILS(0, NULL, PG, a, &n, &g, ERROR_INVALID_PARAMETER);
    GWW_FAILS(2, p, PG, a, &n, &g, ERROR_INVALID_PARAMETER);
    GWW_FAILS(3, p, PG, a, &n, &g, ERROR_INVALID_PARAMETER);
    GWW_FAILS(0, p, 0, a, &n, &g, ERROR_INVALID_PARAMETER);
    GWW_FAILS(0, p, 4 * PG + 1, a, &n, &g, ERROR_INVALID_PARAMETER);   /* one byte past */
    GWW_FAILS(0, p + 4 * PG, 1, a, &n, &g, ERROR_INVALID_PARAMETER);
    GWW_FAILS(0, p - PG, 2 * PG, a, &n, &g, ERROR_INVALID_PARAMETER);
    GWW_FAILS(0, plain, PG, a, &n, &g, ERROR_INVALID_PARAMETER);       /* not watched */
    GWW_FAILS(0, (char *)&n, 8, a, &n, &g, ERROR_INVALID_PARAMETER);   /* the stack */
    GWW_FAILS(0, p, PG, a, NULL, &g, ERROR_NOACCESS);
    GWW_FAILS(0, p, PG, a, &n, NULL, ERROR_NOACCESS);
    GWW_FAILS(0, p, PG, NULL, &n, &g, ERROR_NOACCESS);
    ULONG_PTR zero = 0;
    GWW_FAILS(0, p, PG, a, &zero, &g, ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(zero, 0);
#define RWW_FAILS(base, size)                                                                \
    do {                                                                                     \
        SetLastError(VW_SENTINEL_ERR);                                                       \
        ck_assert_uint_eq(ResetWriteWatch(base, size), (UINT)-1);                            \
        ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);                          \
    } while (0)
    RWW_FAILS(NULL, PG);
    RWW_FAILS(p, 0);
    RWW_FAILS(p, 4 * PG + 1);
    RWW_FAILS(plain, PG);
    RWW_FAILS(p + 8 * PG, PG);
    EXPECT_DIRTY(p, 4 * PG, 0);   /* the failed resets cleaned nothing */
    vw_release(plain);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    /* released: the address is no longer a watch region */
    GWW_FAILS(0, p, PG, a, &n, &g, ERROR_INVALID_PARAMETER);
    RWW_FAILS(p, PG);
}
END_TEST

/* ---- interactions ------------------------------------------------------------------ */

/* spec 11: decommit clears the dirty state of the decommitted pages (and only
 * theirs); committing does not set it; the recommitted pages are watched */
START_TEST(decommit_commit)
{
    char *p = VW_ALLOC_OK(NULL, 8 * PG, WW | MEM_COMMIT, RW);
    for (int i = 0; i < 8; i++)
        p[i * PG] = 1;
    VW_FREE_OK(p + 2 * PG, 3 * PG, MEM_DECOMMIT);
    EXPECT_DIRTY(p, 8 * PG, 0, 1, 5, 6, 7);
    vw_commit_at(p + 2 * PG, 3 * PG, RW);
    EXPECT_DIRTY(p, 8 * PG, 0, 1, 5, 6, 7);
    ck_assert(vw_is_zero(p + 2 * PG, 3 * PG));
    EXPECT_DIRTY(p, 8 * PG, 0, 1, 5, 6, 7);
    p[3 * PG] = 1;
    EXPECT_DIRTY(p, 8 * PG, 0, 1, 3, 5, 6, 7);
    VW_FREE_OK(p, 0, MEM_DECOMMIT);   /* all of it */
    EXPECT_DIRTY(p, 8 * PG);
    vw_commit_at(p, 8 * PG, PAGE_READONLY);
    EXPECT_DIRTY(p, 8 * PG);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: VirtualProtect does not change the dirty state, either way, and writes
 * after a protection change are seen */
START_TEST(protect_keeps_state)
{
    char *p = VW_ALLOC_OK(NULL, 4 * PG, WW | MEM_COMMIT, RW);
    DWORD old;
    p[0] = 1;
    VW_EXPECT_OK(VirtualProtect(p, 4 * PG, PAGE_READONLY, &old));
    EXPECT_DIRTY(p, 4 * PG, 0);
    VW_EXPECT_OK(VirtualProtect(p, 2 * PG, PAGE_NOACCESS, &old));
    EXPECT_DIRTY(p, 4 * PG, 0);
    VW_EXPECT_OK(VirtualProtect(p, 4 * PG, PAGE_EXECUTE_READWRITE, &old));
    EXPECT_DIRTY(p, 4 * PG, 0);
    ck_assert_int_eq(p[0], 1);
    p[2 * PG] = 1;
    EXPECT_DIRTY(p, 4 * PG, 0, 2);
    VW_CHECK_MBI(p, p, p, RW, 4 * PG, MEM_COMMIT, PAGE_EXECUTE_READWRITE, MEM_PRIVATE);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11 with spec 4: MEM_RESET leaves the state as it was while the contents are
 * kept (written pages stay written, clean ones clean); MEM_RESET_UNDO writes nothing */
START_TEST(mem_reset_keeps_state)
{
    char *p = VW_ALLOC_OK(NULL, 4 * PG, WW | MEM_COMMIT, RW);
    p[PG] = 1;
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 4 * PG, MEM_RESET, RW), p);
    EXPECT_DIRTY(p, 4 * PG, 1);
    if (VirtualAlloc(p, 4 * PG, MEM_RESET_UNDO, RW))
        EXPECT_DIRTY(p, 4 * PG, 1);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: a read that trips a guard page, and VirtualLock on a guard page (which
 * fails with STATUS_GUARD_PAGE_VIOLATION and clears the guard), do not dirty it */
START_TEST(guard_pages_not_dirtied)
{
    char *p = VW_ALLOC_OK(NULL, 4 * PG, WW | MEM_COMMIT, RW);
    DWORD old;
    VW_EXPECT_OK(VirtualProtect(p, 2 * PG, RW | PAGE_GUARD, &old));
    ck_assert(!vw_can_read(p));   /* the guard trips (the probe catches the fault) */
    VW_EXPECT_OK(VirtualProtect(p, PG, RW, &old));
    EXPECT_DIRTY(p, 4 * PG);
    VW_EXPECT_FAIL(VirtualLock(p + PG, PG), STATUS_GUARD_PAGE_VIOLATION);
    EXPECT_DIRTY(p, 4 * PG);
    VW_CHECK_MBI(p + PG, p + PG, p, RW, 3 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: watches are per allocation: resets of one leave another's state alone */
START_TEST(allocations_independent)
{
    char *a = VW_ALLOC_OK(NULL, 4 * PG, WW | MEM_COMMIT, RW);
    char *b = VW_ALLOC_OK(NULL, 4 * PG, WW | MEM_COMMIT, RW);
    char *c = vw_alloc_commit(4 * PG, RW);
    a[PG] = b[2 * PG] = c[0] = 1;
    ck_assert_uint_eq(ResetWriteWatch(a, 4 * PG), 0);
    EXPECT_DIRTY(a, 4 * PG);
    EXPECT_DIRTY(b, 4 * PG, 2);
    char *d = VW_ALLOC_OK(NULL, 4 * PG, WW | MEM_COMMIT, RW);   /* a new one */
    EXPECT_DIRTY(b, 4 * PG, 2);
    EXPECT_DIRTY(d, 4 * PG);
    VW_FREE_OK(a, 0, MEM_RELEASE);
    EXPECT_DIRTY(b, 4 * PG, 2);
    /* released watch space handed out again unwatched: no watch, writes work */
    char *e = VW_ALLOC_OK(a, 4 * PG, MEM_RESERVE | MEM_COMMIT, RW);
    e[0] = 5;
    ck_assert_int_eq(e[0], 5);
    ULONG_PTR n = 1;
    PVOID x;
    DWORD g;
    ck_assert_uint_eq(GetWriteWatch(0, e, PG, &x, &n, &g), (UINT)-1);
    vw_release(e);
    vw_release(c);
    VW_FREE_OK(b, 0, MEM_RELEASE);
    VW_FREE_OK(d, 0, MEM_RELEASE);
}
END_TEST

/* spec 11 + the interposers: munmap of watched pages leaves a hole no watch call
 * accepts; mprotect by the program keeps the state; memory moved by mremap is not
 * watched at its new address */
START_TEST(interposed_calls)
{
    char *p = VW_ALLOC_OK(NULL, 8 * PG, WW | MEM_COMMIT, RW);
    p[0] = p[6 * PG] = 1;
    ck_assert_int_eq(munmap(p + 3 * PG, PG), 0);
    PVOID a[8];
    ULONG_PTR n = 8;
    DWORD g;
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_uint_eq(GetWriteWatch(0, p, 8 * PG, a, &n, &g), (UINT)-1);
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    EXPECT_DIRTY(p, 3 * PG, 0);
    EXPECT_DIRTY(p + 4 * PG, 4 * PG, 2);   /* page 6 */
    ck_assert_int_eq(mprotect(p, PG, PROT_READ), 0);
    ck_assert_int_eq(mprotect(p, 2 * PG, PROT_READ | PROT_WRITE), 0);
    EXPECT_DIRTY(p, 3 * PG, 0);
    p[PG] = 1;
    EXPECT_DIRTY(p, 3 * PG, 0, 1);
    char *q = mremap(p + 4 * PG, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
                     vw_free_space(VW_64K));
    ck_assert(q != MAP_FAILED);
    q[0] = 1;
    n = 8;
    ck_assert_uint_eq(GetWriteWatch(0, q, 2 * PG, a, &n, &g), (UINT)-1);
    VW_FREE_OK(q, 0, MEM_RELEASE);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11 after fork(): the child's watch state is consistent (every page the
 * parent wrote is reported; a page never present is not) and its own (its resets
 * and writes do not reach the parent) */
START_TEST(fork_child_state)
{
    char *p = VW_ALLOC_OK(NULL, 8 * PG, WW | MEM_COMMIT, RW);
    p[PG] = 1;
    p[4 * PG] = 1;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int r = child_fork_checks(p, 8 * PG);
        _exit(r);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child check %d failed",
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    EXPECT_DIRTY(p, 8 * PG, 1, 4);
    p[2 * PG] = 1;
    EXPECT_DIRTY(p, 8 * PG, 1, 2, 4);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* ---- the native edge and GetProcAddress ----------------------------------------------- */

/* NtGetWriteWatch / NtResetWriteWatch: NTSTATUS for each error class */
START_TEST(native_statuses)
{
    char *p = VW_ALLOC_OK(NULL, 4 * PG, WW | MEM_COMMIT, RW);
    p[PG] = 1;
    PVOID a[4];
    ULONG_PTR n = 4;
    ULONG g = 0;
    HANDLE me = GetCurrentProcess();
    ck_assert_uint_eq((DWORD)NtGetWriteWatch(NULL, 0, p, PG, a, &n, &g), (DWORD)STATUS_INVALID_HANDLE);
    ck_assert_uint_eq((DWORD)NtGetWriteWatch(me, 2, p, PG, a, &n, &g), (DWORD)STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq((DWORD)NtGetWriteWatch(me, 0, p, PG, a, NULL, &g), (DWORD)STATUS_ACCESS_VIOLATION);
    ck_assert_uint_eq((DWORD)NtGetWriteWatch(me, 0, p, PG, NULL, &n, &g), (DWORD)STATUS_ACCESS_VIOLATION);
    ck_assert_uint_eq((DWORD)NtGetWriteWatch(me, 0, p, 5 * PG, a, &n, &g), (DWORD)STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq((DWORD)NtGetWriteWatch(me, 1, p, 4 * PG, a, &n, &g), (DWORD)STATUS_SUCCESS);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(g, PG);
    ck_assert_ptr_eq(a[0], p + PG);
    p[0] = 1;
    ck_assert_uint_eq((DWORD)NtResetWriteWatch(NULL, p, PG), (DWORD)STATUS_INVALID_HANDLE);
    ck_assert_uint_eq((DWORD)NtResetWriteWatch(me, p, 0), (DWORD)STATUS_INVALID_PARAMETER);
    EXPECT_DIRTY(p, 4 * PG, 0);
    ck_assert_uint_eq((DWORD)NtResetWriteWatch(me, p, PG), (DWORD)STATUS_SUCCESS);
    EXPECT_DIRTY(p, 4 * PG);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

typedef UINT(WINAPI *gww_t)(DWORD, PVOID, SIZE_T, PVOID *, ULONG_PTR *, LPDWORD);
typedef UINT(WINAPI *rww_t)(LPVOID, SIZE_T);
typedef NTSTATUS(NTAPI *ngww_t)(HANDLE, ULONG, PVOID, SIZE_T, PVOID *, PULONG_PTR, PULONG);

/* GetProcAddress finds GetWriteWatch/ResetWriteWatch in kernel32 and
 * NtGetWriteWatch/NtResetWriteWatch in ntdll, and they work through the pointers */
START_TEST(found_by_getprocaddress)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll"), nt = GetModuleHandleA("ntdll.dll");
    gww_t gww = (gww_t)(void (*)(void))GetProcAddress(k32, "GetWriteWatch");
    rww_t rww = (rww_t)(void (*)(void))GetProcAddress(k32, "ResetWriteWatch");
    ngww_t ngww = (ngww_t)(void (*)(void))GetProcAddress(nt, "NtGetWriteWatch");
    ck_assert(gww && rww && ngww);
    ck_assert(GetProcAddress(nt, "NtResetWriteWatch") != NULL);
    char *p = VW_ALLOC_OK(NULL, 2 * PG, WW | MEM_COMMIT, RW);
    p[PG] = 1;
    PVOID a[2];
    ULONG_PTR n = 2;
    DWORD g;
    ck_assert_uint_eq(gww(0, p, 2 * PG, a, &n, &g), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(rww(p, 2 * PG), 0);
    n = 2;
    ck_assert_uint_eq(ngww(GetCurrentProcess(), 0, p, 2 * PG, a, &n, (PULONG)&g), 0);
    ck_assert_uint_eq(n, 0);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

static Suite *watch_suite(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, alloc_flag_rules);
    tcase_add_test(tc, watch_invisible_in_query);
    tcase_add_test(tc, new_allocation_clean);
    tcase_add_test(tc, get_reports_written_pages);
    tcase_add_test(tc, get_reset_exact);
    tcase_add_test(tc, reset_write_watch_range);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, decommit_commit);
    tcase_add_test(tc, protect_keeps_state);
    tcase_add_test(tc, mem_reset_keeps_state);
    tcase_add_test(tc, guard_pages_not_dirtied);
    tcase_add_test(tc, allocations_independent);
    tcase_add_test(tc, interposed_calls);
    tcase_add_test(tc, fork_child_state);
    tcase_add_test(tc, native_statuses);
    tcase_add_test(tc, found_by_getprocaddress);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return watch_run_engines("check_watch", watch_suite);
}
