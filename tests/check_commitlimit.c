/*
 * check_commitlimit.c: commit accounting, VIRTUALWIN_COMMIT_LIMIT and
 * GlobalMemoryStatusEx (issue item 5; spec sections 4 and 5 for commit and
 * decommit).
 *
 * Rules checked:
 * - the library counts committed bytes (whole pages; a reservation is not a
 *   commit; re-committing committed pages does not count again; decommit and
 *   release give the charge back; large pages count too);
 * - VIRTUALWIN_COMMIT_LIMIT=<bytes> (suffixes K, M, G) makes any commit that
 *   would go beyond it fail with ERROR_COMMITMENT_LIMIT, all or nothing: every
 *   page keeps its state, protection and contents;
 * - GlobalMemoryStatusEx: dwLength must be sizeof(MEMORYSTATUSEX)
 *   (else FALSE, ERROR_INVALID_PARAMETER); physical figures from /proc/meminfo;
 *   ullTotalPageFile / ullAvailPageFile are the configured limit and what is
 *   left under it, else the kernel's CommitLimit and CommitLimit - Committed_AS.
 *
 * The library reads VIRTUALWIN_COMMIT_LIMIT once, when it is loaded, so this
 * program runs in stages, re-executing itself (/proc/self/exe) with the next
 * value: first without a limit, then "4M" (the main suite), "4096K", "1G" and
 * "12345" (plain bytes).  CHECK_COMMITLIMIT_STAGE names the stage and
 * CHECK_COMMITLIMIT_FAILED carries the failure count along; the last stage's
 * exit status covers them all.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG VW_PAGE
#define MiB ((size_t)1 << 20)

#define STAGE_ENV "CHECK_COMMITLIMIT_STAGE"
#define FAILED_ENV "CHECK_COMMITLIMIT_FAILED"
#define LIMIT_ENV "VIRTUALWIN_COMMIT_LIMIT"

static const struct stage {
    const char *value;      /* VIRTUALWIN_COMMIT_LIMIT, NULL: unset */
    unsigned long long bytes;
} stages[] = {
    { NULL, 0 },
    { "4M", 4ull << 20 },
    { "4096K", 4ull << 20 },
    { "1G", 1ull << 30 },
    { "12345", 12345 },
};
#define NSTAGES ((int)(sizeof stages / sizeof stages[0]))

/* The limit of the running stage (0: none). */
static unsigned long long g_limit;

/* ---- helpers ------------------------------------------------------------ */

static void decommit(void *p, size_t size)
{
    ck_assert_msg(VirtualFree(p, size, MEM_DECOMMIT), "decommit %p+%zu failed: %u", p, size,
                  (unsigned)GetLastError());
}

static MEMORYSTATUSEX status(void)
{
    MEMORYSTATUSEX ms;
    memset(&ms, 0xCD, sizeof ms);
    ms.dwLength = sizeof ms;
    SetLastError(1234);
    ck_assert_msg(GlobalMemoryStatusEx(&ms), "GlobalMemoryStatusEx failed: %u",
                  (unsigned)GetLastError());
    ck_assert_uint_eq(GetLastError(), 1234);
    ck_assert_uint_eq(ms.dwLength, sizeof ms);
    return ms;
}

/* Bytes charged against the configured limit, from GlobalMemoryStatusEx. */
static unsigned long long charged(void)
{
    MEMORYSTATUSEX ms = status();
    ck_assert_uint_eq(ms.ullTotalPageFile, g_limit);
    ck_assert_uint_le(ms.ullAvailPageFile, ms.ullTotalPageFile);
    return ms.ullTotalPageFile - ms.ullAvailPageFile;
}

#define ASSERT_CHARGED(n)                                                               \
    do {                                                                                \
        unsigned long long c_ = charged(), n_ = (n);                                    \
        ck_assert_msg(c_ == n_, "committed %llu bytes (%llu pages), expected %llu "     \
                      "(%llu pages)", c_, c_ / PG, n_, n_ / PG);                        \
    } while (0)

/* One byte per page: page i of p (counted from p) holds (i + salt) | 1, at an
 * offset that varies with i. */
static void mark(char *p, size_t pages, int salt)
{
    for (size_t i = 0; i < pages; i++)
        p[i * PG + (i % 64)] = (char)((i + (size_t)salt) | 1);
}

/* Checks pages [first, first+n) of a range marked from p. */
static void assert_marked_from(const char *p, size_t first, size_t n, int salt)
{
    for (size_t i = first; i < first + n; i++)
        ck_assert_msg(p[i * PG + (i % 64)] == (char)((i + (size_t)salt) | 1),
                      "page %zu lost its contents", i);
}

static void assert_marked(const char *p, size_t pages, int salt)
{
    assert_marked_from(p, 0, pages, salt);
}

/* Item 5: GlobalMemoryStatusEx refuses a dwLength other than its size:
 * FALSE, ERROR_INVALID_PARAMETER. */
static void check_bad_length(void)
{
    const DWORD lens[] = { 0, sizeof(MEMORYSTATUSEX) - 1, sizeof(MEMORYSTATUSEX) + 1,
                           sizeof(MEMORYSTATUSEX) - 8, 32, 0xFFFFFFFFu };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        MEMORYSTATUSEX ms;
        memset(&ms, 0, sizeof ms);
        ms.dwLength = lens[i];
        SetLastError(0xDEADBEEF);
        BOOL r = GlobalMemoryStatusEx(&ms);
        DWORD e = GetLastError();
        ck_assert_msg(!r && e == ERROR_INVALID_PARAMETER,
                      "dwLength %u: returned %d, error %u (expected FALSE, 87)",
                      (unsigned)lens[i], r, (unsigned)e);
        ck_assert_uint_eq(ms.dwLength, lens[i]);
        ck_assert_uint_eq(ms.ullTotalPhys, 0);
    }
    ck_assert_uint_eq(sizeof(MEMORYSTATUSEX), 64);
}

/* Item 5: the figures that do not depend on the limit: physical memory from
 * /proc/meminfo (MemTotal exact, MemAvailable within 10%), dwMemoryLoad in
 * 0..100 and consistent with them; virtual figures for the application range. */
static void check_physical_and_virtual(const MEMORYSTATUSEX *ms, long long avail_kb_lo,
                                       long long avail_kb_hi, long long vm_lo, long long vm_hi)
{
    ck_assert_uint_eq(ms->ullTotalPhys, (unsigned long long)vw_meminfo("MemTotal") * 1024);
    ck_assert_uint_le(ms->ullAvailPhys, ms->ullTotalPhys);
    long double lo = (long double)avail_kb_lo * 1024 * 0.9L;
    long double hi = (long double)avail_kb_hi * 1024 * 1.1L;
    ck_assert_msg((long double)ms->ullAvailPhys >= lo && (long double)ms->ullAvailPhys <= hi,
                  "ullAvailPhys %llu not within 10%% of MemAvailable (%lld..%lld kB)",
                  (unsigned long long)ms->ullAvailPhys, avail_kb_lo, avail_kb_hi);
    ck_assert_uint_le(ms->dwMemoryLoad, 100);
    unsigned long long load = 100 - ms->ullAvailPhys * 100 / ms->ullTotalPhys;
    ck_assert_msg(ms->dwMemoryLoad + 1 >= load && ms->dwMemoryLoad <= load + 1,
                  "dwMemoryLoad %u, expected about %llu", (unsigned)ms->dwMemoryLoad, load);
#if defined(__x86_64__)
    /* [0x10000, 0x7FFFFFFEFFFF]: 128 TiB less 128 KiB, as on Windows x64. */
    ck_assert_uint_eq(ms->ullTotalVirtual, 0x7FFFFFFE0000ull);
#endif
    ck_assert_uint_lt(ms->ullAvailVirtual, ms->ullTotalVirtual);
    unsigned long long slack = 64 * MiB;
    ck_assert_msg(ms->ullAvailVirtual + (unsigned long long)vm_hi * 1024 + slack >=
                          ms->ullTotalVirtual &&
                      ms->ullAvailVirtual + (unsigned long long)vm_lo * 1024 <=
                          ms->ullTotalVirtual + slack,
                  "ullAvailVirtual %llu, total %llu, VmSize %lld..%lld kB",
                  (unsigned long long)ms->ullAvailVirtual,
                  (unsigned long long)ms->ullTotalVirtual, vm_lo, vm_hi);
    ck_assert_uint_eq(ms->ullAvailExtendedVirtual, 0);
}

static MEMORYSTATUSEX status_with_bounds(long long *av_lo, long long *av_hi, long long *vm_lo,
                                         long long *vm_hi)
{
    long long a1 = vw_meminfo("MemAvailable"), v1 = vw_status_kb("VmSize");
    MEMORYSTATUSEX ms = status();
    long long a2 = vw_meminfo("MemAvailable"), v2 = vw_status_kb("VmSize");
    *av_lo = a1 < a2 ? a1 : a2;
    *av_hi = a1 < a2 ? a2 : a1;
    *vm_lo = v1 < v2 ? v1 : v2;
    *vm_hi = v1 < v2 ? v2 : v1;
    return ms;
}

/* ==== stage 0: no limit ==================================================== */

/* Item 5: without VIRTUALWIN_COMMIT_LIMIT the figures match /proc/meminfo:
 * MemTotal exact, MemAvailable within 10%, CommitLimit exact, the available
 * page file CommitLimit - Committed_AS (within 10% of the limit: other
 * processes move Committed_AS), dwMemoryLoad in 0..100. */
START_TEST(nolimit_matches_meminfo)
{
    long long c1 = vw_meminfo("Committed_AS");
    long long av_lo, av_hi, vm_lo, vm_hi;
    MEMORYSTATUSEX ms = status_with_bounds(&av_lo, &av_hi, &vm_lo, &vm_hi);
    long long c2 = vw_meminfo("Committed_AS");
    long long limit_kb = vw_meminfo("CommitLimit");
    check_physical_and_virtual(&ms, av_lo, av_hi, vm_lo, vm_hi);
    ck_assert_uint_eq(ms.ullTotalPageFile, (unsigned long long)limit_kb * 1024);
    ck_assert_uint_le(ms.ullAvailPageFile, ms.ullTotalPageFile);
    long long committed = (c1 + c2) / 2;
    long double want = committed < limit_kb ? (long double)(limit_kb - committed) * 1024 : 0;
    long double tol = (long double)limit_kb * 1024 * 0.1L;
    long double got = (long double)ms.ullAvailPageFile;
    ck_assert_msg(got >= want - tol && got <= want + tol,
                  "ullAvailPageFile %llu, expected about %.0Lf (CommitLimit %lld kB, "
                  "Committed_AS %lld kB)",
                  (unsigned long long)ms.ullAvailPageFile, want, limit_kb, committed);
}
END_TEST

/* Item 5: dwLength checked without a limit too. */
START_TEST(nolimit_bad_length)
{
    check_bad_length();
}
END_TEST

/* Item 5: without a limit the library refuses no commit on its own: 64 MiB (far
 * beyond the limits of the later stages) commits, reserved and committed in
 * one call or in steps, and the page-file total stays the kernel's
 * CommitLimit. */
START_TEST(nolimit_commits_freely)
{
    char *p = VirtualAlloc(NULL, 64 * MiB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_msg(p != NULL, "64 MiB commit failed: %u", (unsigned)GetLastError());
    char *q = VirtualAlloc(NULL, 64 * MiB, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(q);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(q, 32 * MiB, MEM_COMMIT, PAGE_READWRITE), q);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(q + 32 * MiB, 32 * MiB, MEM_COMMIT, PAGE_READWRITE),
                       q + 32 * MiB);
    p[64 * MiB - 1] = 1;
    q[64 * MiB - 1] = 1;
    MEMORYSTATUSEX ms = status();
    ck_assert_uint_eq(ms.ullTotalPageFile, (unsigned long long)vw_meminfo("CommitLimit") * 1024);
    vw_release(p);
    vw_release(q);
}
END_TEST

static Suite *nolimit_suite(void)
{
    Suite *s = suite_create("commitlimit-none");
    TCase *tc = tcase_create("memstatus");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, nolimit_matches_meminfo);
    tcase_add_test(tc, nolimit_bad_length);
    tcase_add_test(tc, nolimit_commits_freely);
    suite_add_tcase(s, tc);
    return s;
}

/* ==== stage 1: VIRTUALWIN_COMMIT_LIMIT=4M ================================== */

/* Item 5: with the limit, ullTotalPageFile is the limit and ullAvailPageFile the
 * limit less what the library has committed (nothing yet); physical and virtual
 * figures as without it; dwLength checked. */
START_TEST(limit_memstatus)
{
    long long av_lo, av_hi, vm_lo, vm_hi;
    MEMORYSTATUSEX ms = status_with_bounds(&av_lo, &av_hi, &vm_lo, &vm_hi);
    ck_assert_uint_eq(ms.ullTotalPageFile, 4 * MiB);
    ck_assert_uint_eq(ms.ullAvailPageFile, 4 * MiB);
    check_physical_and_virtual(&ms, av_lo, av_hi, vm_lo, vm_hi);
    check_bad_length();
}
END_TEST

/* Item 5: a reservation is not a commit; ullAvailPageFile follows every commit,
 * decommit and release page by page (limit - committed). */
START_TEST(limit_accounting_tracks)
{
    ASSERT_CHARGED(0);
    char *p = VirtualAlloc(NULL, 64 * MiB, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ASSERT_CHARGED(0);
    ck_assert_ptr_eq(VirtualAlloc(p, 1, MEM_COMMIT, PAGE_READWRITE), p);
    ASSERT_CHARGED(PG);
    ck_assert_ptr_eq(VirtualAlloc(p + 10 * PG - 1, 2, MEM_COMMIT, PAGE_READONLY), p + 9 * PG);
    ASSERT_CHARGED(3 * PG);
    ck_assert_ptr_eq(VirtualAlloc(p, 12 * PG, MEM_COMMIT, PAGE_READWRITE), p);
    ASSERT_CHARGED(12 * PG);
    decommit(p + 4 * PG, 2 * PG);
    ASSERT_CHARGED(10 * PG);
    decommit(p + 3 * PG, 4 * PG);   /* pages 4 and 5 are already only reserved */
    ASSERT_CHARGED(8 * PG);
    char *q = VirtualAlloc(NULL, 3 * PG, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(q);
    ASSERT_CHARGED(11 * PG);
    vw_release(p);
    ASSERT_CHARGED(3 * PG);
    ck_assert(VirtualFree(q, 0, MEM_DECOMMIT));
    ASSERT_CHARGED(0);
    vw_release(q);
    ASSERT_CHARGED(0);
}
END_TEST

/* Item 5: a commit that crosses the limit in the middle of its range fails with
 * ERROR_COMMITMENT_LIMIT and changes nothing: the committed pages it covered keep
 * their protection and contents, the reserved ones stay reserved (Protect 0,
 * faulting), the charge is unchanged. */
START_TEST(limit_hit_mid_range)
{
    char *p = VirtualAlloc(NULL, 8 * MiB, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 2 * MiB, MEM_COMMIT, PAGE_READWRITE), p);
    ASSERT_CHARGED(2 * MiB);
    mark(p, 2 * MiB / PG, 3);

    /* [1 MiB, 6 MiB): 1 MiB committed + 4 MiB reserved -> 6 MiB > 4 MiB. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + MiB, 5 * MiB, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    ck_assert_uint_eq(ERROR_COMMITMENT_LIMIT, 1455);
    /* The same with another protection: the committed part must keep its own. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + MiB, 5 * MiB, MEM_COMMIT, PAGE_READONLY),
                         ERROR_COMMITMENT_LIMIT);
    /* And the whole reservation at once. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, 8 * MiB, MEM_COMMIT, PAGE_EXECUTE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);

    VW_ASSERT_REGION(p, p, 2 * MiB, MEM_COMMIT, PAGE_READWRITE, VW_ANY_TYPE);
    VW_ASSERT_REGION(p + 2 * MiB, p, 6 * MiB, MEM_RESERVE, 0, VW_ANY_TYPE);
    ASSERT_CHARGED(2 * MiB);
    assert_marked(p, 2 * MiB / PG, 3);
    ck_assert_int_eq(vw_can_write(p + MiB), 1);
    ck_assert_int_eq(vw_can_write(p + 2 * MiB - 1), 1);
    ck_assert_int_eq(vw_can_read(p + 2 * MiB), 0);
    ck_assert_int_eq(vw_can_read(p + 4 * MiB), 0);
    ck_assert_int_eq(vw_can_read(p + 6 * MiB - 1), 0);
    ck_assert_int_eq(vw_can_read(p + 8 * MiB - 1), 0);
    vw_assert_range_agrees(p, 8 * MiB);

    /* Exactly up to the limit still fits: [2 MiB, 4 MiB). */
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + 2 * MiB, 2 * MiB, MEM_COMMIT, PAGE_READWRITE),
                       p + 2 * MiB);
    ASSERT_CHARGED(4 * MiB);
    ck_assert_uint_eq(status().ullAvailPageFile, 0);
    /* One page more does not. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + 4 * MiB, 1, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    VW_ASSERT_REGION(p + 4 * MiB, p, 4 * MiB, MEM_RESERVE, 0, VW_ANY_TYPE);
    assert_marked(p, 2 * MiB / PG, 3);
    vw_release(p);
    ASSERT_CHARGED(0);
}
END_TEST

/* Item 5 + section 4: committing pages that are already committed does not count
 * again: at the limit, re-committing them succeeds, keeps their contents and
 * takes the new protection. */
START_TEST(limit_recommit_not_counted)
{
    char *p = VirtualAlloc(NULL, 8 * MiB, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 4 * MiB, MEM_COMMIT, PAGE_READWRITE), p);
    ASSERT_CHARGED(4 * MiB);
    mark(p, 4 * MiB / PG, 5);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 4 * MiB, MEM_COMMIT, PAGE_READWRITE), p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + MiB + 5, 2 * MiB, MEM_COMMIT, PAGE_READONLY), p + MiB);
    ASSERT_CHARGED(4 * MiB);
    VW_ASSERT_REGION(p, p, MiB, MEM_COMMIT, PAGE_READWRITE, VW_ANY_TYPE);
    VW_ASSERT_REGION(p + MiB, p, 2 * MiB + PG, MEM_COMMIT, PAGE_READONLY, VW_ANY_TYPE);
    VW_ASSERT_REGION(p + 3 * MiB + PG, p, MiB - PG, MEM_COMMIT, PAGE_READWRITE, VW_ANY_TYPE);
    ck_assert_int_eq(vw_can_write(p + 2 * MiB), 0);
    assert_marked(p, 4 * MiB / PG, 5);
    /* Reserve + commit of anything more is still refused. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    vw_release(p);
    ASSERT_CHARGED(0);
}
END_TEST

/* Item 5: the limit is lifted by a decommit (and by a release): the commit that
 * failed succeeds once enough has been given back; decommitted pages read as
 * zero when committed again (section 5), the others keep their contents. */
START_TEST(limit_lifted_by_decommit)
{
    char *p = VirtualAlloc(NULL, 8 * MiB, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 3 * MiB, MEM_COMMIT, PAGE_READWRITE), p);
    mark(p, 3 * MiB / PG, 7);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + 4 * MiB, 2 * MiB, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    VW_ASSERT_REGION(p + 3 * MiB, p, 5 * MiB, MEM_RESERVE, 0, VW_ANY_TYPE);

    decommit(p + MiB, MiB - PG);   /* not quite enough: 4 MiB + 1 page needed */
    ASSERT_CHARGED(2 * MiB + PG);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + 4 * MiB, 2 * MiB, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    decommit(p + 2 * MiB - PG, PG);
    ASSERT_CHARGED(2 * MiB);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + 4 * MiB, 2 * MiB, MEM_COMMIT, PAGE_READWRITE),
                       p + 4 * MiB);
    ASSERT_CHARGED(4 * MiB);
    p[5 * MiB] = 9;
    VW_ASSERT_REGION(p + MiB, p, MiB, MEM_RESERVE, 0, VW_ANY_TYPE);
    /* Untouched pages kept their data. */
    assert_marked(p, MiB / PG, 7);
    assert_marked_from(p, 2 * MiB / PG, MiB / PG, 7);
    /* Swap the room back: decommit the new range, recommit the old one: zero. */
    decommit(p + 4 * MiB, 2 * MiB);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + MiB, MiB, MEM_COMMIT, PAGE_READWRITE), p + MiB);
    for (size_t o = 0; o < MiB; o += PG / 4)
        ck_assert_int_eq(p[MiB + o], 0);
    ASSERT_CHARGED(3 * MiB);

    /* A release gives everything back. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, MiB + PG, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    vw_release(p);
    ASSERT_CHARGED(0);
    char *q = VirtualAlloc(NULL, 4 * MiB, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(q);
    vw_release(q);
}
END_TEST

/* Item 5: reserve + commit in one call, and MEM_COMMIT with a NULL address,
 * count too: beyond the limit they fail with ERROR_COMMITMENT_LIMIT and leave
 * nothing behind (no charge, no reservation at an explicit address); exactly
 * the limit fits. */
START_TEST(limit_reserve_commit_one_call)
{
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, 4 * MiB + 1, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, 4 * MiB + PG, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, 64 * MiB, MEM_COMMIT | MEM_TOP_DOWN, PAGE_READONLY),
                         ERROR_COMMITMENT_LIMIT);
    ASSERT_CHARGED(0);

    /* At an explicit address: refused, and the address stays free. */
    char *r = VirtualAlloc(NULL, 8 * MiB, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(r);
    vw_release(r);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(r, 5 * MiB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    ck_assert_uint_eq(vw_query(r).State, MEM_FREE);
    ck_assert_uint_eq(vw_query(r + 4 * MiB).State, MEM_FREE);
    ASSERT_CHARGED(0);
    /* Then a plain reservation there works (it was left free). */
    VW_EXPECT_ALLOC_AT(VirtualAlloc(r, 5 * MiB, MEM_RESERVE, PAGE_READWRITE), r);
    ASSERT_CHARGED(0);
    vw_release(r);

    /* One page of a 1-byte request is counted. */
    char *a = VirtualAlloc(NULL, 1, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ASSERT_CHARGED(PG);
    vw_release(a);

    /* Exactly the limit, in two calls of the two kinds. */
    char *b = VirtualAlloc(NULL, 3 * MiB, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(b);
    char *c = VirtualAlloc(NULL, MiB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(c);
    ASSERT_CHARGED(4 * MiB);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, 1, MEM_COMMIT, PAGE_READWRITE), ERROR_COMMITMENT_LIMIT);
    /* A reservation alone is still fine, but committing in it is not. */
    char *d = VirtualAlloc(NULL, 64 * MiB, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(d);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(d, PG, MEM_COMMIT, PAGE_READWRITE), ERROR_COMMITMENT_LIMIT);
    VW_ASSERT_REGION(d, d, 64 * MiB, MEM_RESERVE, 0, VW_ANY_TYPE);
    ASSERT_CHARGED(4 * MiB);
    vw_release(b);
    vw_release(c);
    vw_release(d);
    ASSERT_CHARGED(0);
}
END_TEST

/* Item 5 + spec 4: an explicit-address reserve + commit counts every page of
 * the region it creates (measured from the 64 KiB-rounded base). */
START_TEST(limit_explicit_address_counts_region)
{
    char *r = VirtualAlloc(NULL, 256 * 1024, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(r);
    vw_release(r);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(r + 0x1234, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                       r);
    MEMORY_BASIC_INFORMATION m = vw_query(r);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ASSERT_CHARGED(m.RegionSize);
    vw_release(r);
    ASSERT_CHARGED(0);
}
END_TEST

/* Item 5 + item 4: large pages are commit too: beyond the limit
 * ERROR_COMMITMENT_LIMIT whatever the system's huge pages; within it, a
 * success is charged in full (or, without huge pages,
 * ERROR_NO_SYSTEM_RESOURCES and no charge). */
START_TEST(limit_counts_large_pages)
{
    size_t lp = GetLargePageMinimum();
    char *p = VirtualAlloc(NULL, 2 * MiB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    size_t big = (4 * MiB + lp - 1) / lp * lp;   /* >= 4 MiB: over the limit with p */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, big, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                      PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    ASSERT_CHARGED(2 * MiB);
    if (lp <= 2 * MiB) {
        SetLastError(0);
        char *l = VirtualAlloc(NULL, lp, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                               PAGE_READWRITE);
        if (l) {
            ASSERT_CHARGED(2 * MiB + lp);
            vw_release(l);
        } else {
            ck_assert_uint_eq(GetLastError(), ERROR_NO_SYSTEM_RESOURCES);
        }
        ASSERT_CHARGED(2 * MiB);
    }
    vw_release(p);
    ASSERT_CHARGED(0);
}
END_TEST

static Suite *limit_suite(void)
{
    Suite *s = suite_create("commitlimit-4M");
    TCase *tc = tcase_create("limit");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, limit_memstatus);
    tcase_add_test(tc, limit_accounting_tracks);
    tcase_add_test(tc, limit_hit_mid_range);
    tcase_add_test(tc, limit_recommit_not_counted);
    tcase_add_test(tc, limit_lifted_by_decommit);
    tcase_add_test(tc, limit_reserve_commit_one_call);
    tcase_add_test(tc, limit_explicit_address_counts_region);
    tcase_add_test(tc, limit_counts_large_pages);
    suite_add_tcase(s, tc);
    return s;
}

/* ==== stages 2..: the other spellings ====================================== */

/* Item 5: the suffix (K, G, or none: bytes) is parsed: GlobalMemoryStatusEx
 * reports exactly that limit, commits fit up to it (the last whole page below
 * it) and one page more fails with ERROR_COMMITMENT_LIMIT.  Limits above
 * 64 MiB are only checked to let a commit of 8 MiB through (more than the 4 MiB
 * of the earlier stage). */
START_TEST(suffix_limit_parsed)
{
    MEMORYSTATUSEX ms = status();
    ck_assert_uint_eq(ms.ullTotalPageFile, g_limit);
    ck_assert_uint_eq(ms.ullAvailPageFile, g_limit);
    if (g_limit > 64 * MiB) {
        char *p = VirtualAlloc(NULL, 8 * MiB, MEM_COMMIT, PAGE_READWRITE);
        ck_assert_msg(p != NULL, "8 MiB under a %llu limit failed: %u", g_limit,
                      (unsigned)GetLastError());
        ASSERT_CHARGED(8 * MiB);
        vw_release(p);
        return;
    }
    size_t fit = (size_t)g_limit / PG * PG;
    char *p = VirtualAlloc(NULL, fit + VW_64K, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, fit, MEM_COMMIT, PAGE_READWRITE), p);
    ASSERT_CHARGED(fit);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + fit, PG, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, fit + PG, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_COMMITMENT_LIMIT);
    VW_ASSERT_REGION(p + fit, p, VW_64K, MEM_RESERVE, 0, VW_ANY_TYPE);
    ASSERT_CHARGED(fit);
    decommit(p, PG);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + fit, PG, MEM_COMMIT, PAGE_READWRITE), p + fit);
    ASSERT_CHARGED(fit);
    vw_release(p);
    ASSERT_CHARGED(0);
}
END_TEST

static Suite *suffix_suite(const char *value)
{
    static char name[64];
    snprintf(name, sizeof name, "commitlimit-%s", value);
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("suffix");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, suffix_limit_parsed);
    suite_add_tcase(s, tc);
    return s;
}

/* ==== driver =============================================================== */

static int reexec(char **argv, int stage, int failed)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%d", stage);
    setenv(STAGE_ENV, buf, 1);
    snprintf(buf, sizeof buf, "%d", failed);
    setenv(FAILED_ENV, buf, 1);
    if (stages[stage].value)
        setenv(LIMIT_ENV, stages[stage].value, 1);
    else
        unsetenv(LIMIT_ENV);
    fflush(stdout);
    fflush(stderr);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "check_commitlimit: execv(/proc/self/exe): %s\n", strerror(errno));
    return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *st = getenv(STAGE_ENV);
    int stage = st ? atoi(st) : -1;
    if (stage < 0) {
        /* First run: the library must have been loaded without a limit. */
        if (getenv(LIMIT_ENV))
            return reexec(argv, 0, 0);
        stage = 0;
    }
    if (stage >= NSTAGES) {
        fprintf(stderr, "check_commitlimit: bad stage %d\n", stage);
        return EXIT_FAILURE;
    }
    const char *fs = getenv(FAILED_ENV);
    int failed = fs ? atoi(fs) : 0;
    const char *lim = getenv(LIMIT_ENV);
    if ((lim == NULL) != (stages[stage].value == NULL) ||
        (lim && strcmp(lim, stages[stage].value) != 0)) {
        fprintf(stderr, "check_commitlimit: stage %d runs with %s=%s\n", stage, LIMIT_ENV,
                lim ? lim : "(unset)");
        return EXIT_FAILURE;
    }
    g_limit = stages[stage].bytes;

    Suite *s = stage == 0 ? nolimit_suite()
             : stage == 1 ? limit_suite()
                          : suffix_suite(stages[stage].value);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed += srunner_ntests_failed(sr);
    srunner_free(sr);

    if (stage + 1 < NSTAGES)
        return reexec(argv, stage + 1, failed);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
