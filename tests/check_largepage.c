/*
 * check_largepage.c: GetLargePageMinimum and VirtualAlloc(MEM_LARGE_PAGES)
 * (spec section 4, issue item 4).
 *
 * Rules checked:
 * - GetLargePageMinimum is 2 MiB on x86-64 (a power of two and a multiple of
 *   the page size elsewhere);
 * - MEM_LARGE_PAGES needs MEM_RESERVE|MEM_COMMIT and a size and address that
 *   are multiples of GetLargePageMinimum(): ERROR_INVALID_PARAMETER otherwise,
 *   and nothing is allocated;
 * - when large pages can be had (hugetlbfs pages reserved, HugePages_Free, or
 *   transparent huge pages not "never"), the call returns a committed region
 *   aligned to the large-page size, reading as zero, with the VirtualQuery
 *   figures of any allocation, backed by MAP_HUGETLB (VmFlags "ht") or
 *   MADV_HUGEPAGE (VmFlags "hg"); when neither can, NULL with
 *   ERROR_NO_SYSTEM_RESOURCES (1450), nothing allocated.
 *
 * Which outcome is right is decided from /proc/meminfo and
 * /sys/kernel/mm/transparent_hugepage/enabled before each call, and asserted
 * exactly.
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

#define LARGE (MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES)

/* ---- the system's large pages ------------------------------------------- */

/* A /proc/meminfo field (the number as written, kB for sizes), 0 if absent. */
static unsigned long long meminfo(const char *key)
{
    long long v = vw_proc_number("/proc/meminfo", key);
    return v < 0 ? 0 : (unsigned long long)v;
}

/* 1 if transparent huge pages can be had with MADV_HUGEPAGE ("always" or
 * "madvise" selected), 0 if "never" or the file is missing. */
static int thp_available(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
    if (!f)
        return 0;
    char buf[128] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, "[always]") || strstr(buf, "[madvise]");
}

/* 1 if hugetlbfs pages of the large-page size are reserved and free for `size`. */
static int hugetlb_available(size_t size)
{
    size_t lp = GetLargePageMinimum();
    unsigned long long free_pages = meminfo("HugePages_Free");
    unsigned long long kib = meminfo("Hugepagesize");
    return free_pages && kib * 1024 == lp && free_pages * lp >= size;
}

enum outcome { LP_FAIL, LP_HUGETLB, LP_THP };

static enum outcome expected_outcome(size_t size)
{
    if (hugetlb_available(size))
        return LP_HUGETLB;
    return thp_available() ? LP_THP : LP_FAIL;
}

/*
 * Allocates `size` bytes of large pages at `at` (NULL: anywhere) with `prot`
 * and asserts the outcome the system calls for.  Returns the region or NULL.
 */
static char *alloc_large_checked(void *at, size_t size, DWORD prot)
{
    size_t lp = GetLargePageMinimum();
    enum outcome want = expected_outcome(size);
    SetLastError(1234);
    char *p = VirtualAlloc(at, size, LARGE, prot);
    DWORD e = GetLastError();
    if (want == LP_FAIL) {
        /* Item 4: neither kind can be had: NULL, ERROR_NO_SYSTEM_RESOURCES. */
        ck_assert_msg(p == NULL, "no huge pages on this system, yet MEM_LARGE_PAGES gave %p",
                      p);
        ck_assert_msg(e == ERROR_NO_SYSTEM_RESOURCES, "last error %u, expected 1450",
                      (unsigned)e);
        if (at)
            ck_assert_uint_eq(vw_query(at).State, MEM_FREE);
        return NULL;
    }
    ck_assert_msg(p != NULL, "MEM_LARGE_PAGES of %zu failed with %u although %s is available",
                  size, (unsigned)e, want == LP_HUGETLB ? "hugetlbfs" : "THP");
    ck_assert_msg(e == 1234, "success changed the last error to %u", (unsigned)e);
    if (at)
        ck_assert_ptr_eq(p, at);
    /* Aligned to the large-page size. */
    ck_assert_msg(((uintptr_t)p & (lp - 1)) == 0, "%p is not aligned to %zu", p, lp);
    /* VirtualQuery: one committed private region with the given protection. */
    MEMORY_BASIC_INFORMATION m = vw_query(p + size / 2);
    ck_assert_ptr_eq(m.BaseAddress, p + ((size / 2) & ~(PG - 1)));
    m = vw_query(p);
    ck_assert_ptr_eq(m.BaseAddress, p);
    ck_assert_ptr_eq(m.AllocationBase, p);
    ck_assert_uint_eq(m.AllocationProtect, prot);
    ck_assert_uint_eq(m.RegionSize, size);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, prot);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    /* The backing: hugetlbfs ("ht") or a MADV_HUGEPAGE region ("hg"). */
    char fl[512];
    vw_vmflags((uintptr_t)p, fl, sizeof fl);
    if (want == LP_HUGETLB)
        ck_assert_msg(vw_has_vmflag(fl, "ht") || vw_has_vmflag(fl, "hg"),
                      "large pages at %p: VmFlags%s", p, fl);
    else
        ck_assert_msg(vw_has_vmflag(fl, "hg"),
                      "THP large pages at %p lack MADV_HUGEPAGE: VmFlags%s", p, fl);
    return p;
}

/* A large-page-aligned address in free space, or 0: reserves small pages
 * generously, picks the aligned middle, releases. */
static char *free_aligned_address(size_t size)
{
    size_t lp = GetLargePageMinimum();
    char *r = VirtualAlloc(NULL, size + 2 * lp, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(r);
    uintptr_t a = ((uintptr_t)r + lp - 1) & ~(uintptr_t)(lp - 1);
    vw_release(r);
    return (char *)a;
}

/* ---- tests --------------------------------------------------------------- */

/* Item 4: GetLargePageMinimum is 2 MiB on x86-64; a power of two, a multiple of
 * the page size; it leaves the last error alone. */
START_TEST(large_page_minimum)
{
    SetLastError(1234);
    SIZE_T lp = GetLargePageMinimum();
    ck_assert_uint_eq(GetLastError(), 1234);
#if defined(__x86_64__)
    ck_assert_uint_eq(lp, 2 * 1024 * 1024);
#endif
    ck_assert_uint_gt(lp, PG);
    ck_assert_uint_eq(lp & (lp - 1), 0);
    ck_assert_uint_eq(lp % PG, 0);
    ck_assert_uint_eq(GetLargePageMinimum(), lp);
}
END_TEST

/* Item 4: one large page, read-write: success (aligned, committed, zero,
 * writable, VirtualQuery as any allocation, agreeing with the kernel, released
 * cleanly) or, when the system has no huge pages, ERROR_NO_SYSTEM_RESOURCES. */
START_TEST(large_alloc_one)
{
    size_t lp = GetLargePageMinimum();
    char *p = alloc_large_checked(NULL, lp, PAGE_READWRITE);
    if (!p)
        return;
    for (size_t o = 0; o < lp; o += 512)
        ck_assert_msg(p[o] == 0, "new large page not zero at +%zu", o);
    for (size_t o = 0; o < lp; o += PG)
        p[o] = (char)(o / PG + 1);
    for (size_t o = 0; o < lp; o += PG)
        ck_assert_int_eq(p[o], (char)(o / PG + 1));
    ck_assert_int_eq(vw_can_write(p + lp - 1), 1);
    vw_assert_range_agrees(p, lp);
    vw_release(p);
    /* Released: free and inaccessible; releasing again: ERROR_INVALID_ADDRESS. */
    ck_assert_uint_eq(vw_query(p).State, MEM_FREE);
    ck_assert_int_eq(vw_can_read(p), 0);
    SetLastError(0);
    ck_assert(!VirtualFree(p, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
}
END_TEST

/* Issue 9 / section 4 (corrected): MEM_COMMIT | MEM_LARGE_PAGES at NULL, as 7-Zip's
 * BigAlloc asks, reserves implicitly: success (aligned, committed, AllocationBase
 * itself, writable) or ERROR_NO_SYSTEM_RESOURCES, never ERROR_INVALID_PARAMETER. */
START_TEST(large_commit_at_null)
{
    size_t lp = GetLargePageMinimum();
    SetLastError(0);
    char *p = VirtualAlloc(NULL, 2 * lp, MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
    if (!p) {
        ck_assert_uint_eq(GetLastError(), ERROR_NO_SYSTEM_RESOURCES);
        return;
    }
    ck_assert_uint_eq((uintptr_t)p % lp, 0);
    MEMORY_BASIC_INFORMATION m = vw_query(p);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_ptr_eq(m.AllocationBase, p);
    ck_assert_uint_eq(m.RegionSize, 2 * lp);
    ck_assert_int_eq(vw_can_write(p + 2 * lp - 1), 1);
    vw_assert_range_agrees(p, 2 * lp);
    vw_release(p);
}
END_TEST

/* Item 4: several large pages, read-only: success reads zero and refuses
 * writes, with Protect PAGE_READONLY; or ERROR_NO_SYSTEM_RESOURCES. */
START_TEST(large_alloc_readonly_multi)
{
    size_t lp = GetLargePageMinimum();
    char *p = alloc_large_checked(NULL, 3 * lp, PAGE_READONLY);
    if (!p)
        return;
    ck_assert_int_eq(p[0], 0);
    ck_assert_int_eq(p[3 * lp - 1], 0);
    ck_assert_int_eq(vw_can_read(p + lp + 5), 1);
    ck_assert_int_eq(vw_can_write(p), 0);
    ck_assert_int_eq(vw_can_write(p + 2 * lp), 0);
    vw_assert_range_agrees(p, 3 * lp);
    vw_release(p);
    ck_assert_uint_eq(vw_query(p).State, MEM_FREE);
}
END_TEST

/* Item 4 + section 4: two large-page allocations never overlap or merge in
 * VirtualQuery; each is its own allocation. */
START_TEST(large_alloc_two)
{
    size_t lp = GetLargePageMinimum();
    char *p = alloc_large_checked(NULL, lp, PAGE_READWRITE);
    if (!p)
        return;
    char *q = alloc_large_checked(NULL, lp, PAGE_READWRITE);
    ck_assert_ptr_nonnull(q);
    ck_assert_msg(q + lp <= p || p + lp <= q, "large allocations overlap: %p %p", p, q);
    p[0] = 1;
    q[0] = 2;
    ck_assert_int_eq(p[0], 1);
    ck_assert_ptr_eq(vw_query(q).AllocationBase, q);
    ck_assert_uint_eq(vw_query(q).RegionSize, lp);
    vw_release(p);
    ck_assert_int_eq(q[0], 2);
    vw_release(q);
}
END_TEST

/* Item 4 + section 4: an explicit large-page-aligned address is honoured
 * exactly (here: where a large-page allocation was just released); the same
 * address while it is allocated: ERROR_INVALID_ADDRESS, the existing memory
 * untouched. */
static void large_at(char *at)
{
    size_t lp = GetLargePageMinimum();
    char *p = alloc_large_checked(at, 2 * lp, PAGE_READWRITE);
    if (!p)
        return;
    p[lp] = 42;
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(at, 2 * lp, LARGE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(at + lp, lp, LARGE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    /* A small-page reservation there is refused as well. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(at + lp, VW_64K, MEM_RESERVE, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(p[lp], 42);
    ck_assert_uint_eq(vw_query(p).RegionSize, 2 * lp);
    vw_release(p);
}

START_TEST(large_alloc_at_released_address)
{
    size_t lp = GetLargePageMinimum();
    char *first = alloc_large_checked(NULL, 2 * lp, PAGE_READWRITE);
    if (!first)
        return;
    vw_release(first);
    ck_assert_uint_eq(vw_query(first).State, MEM_FREE);
    large_at(first);
}
END_TEST

/* Section 4: address space the library holds for its own placement is free as
 * far as the program can tell (VirtualQuery says MEM_FREE) and an explicit
 * reservation there succeeds -- a MEM_RESERVE|MEM_COMMIT|MEM_LARGE_PAGES one
 * included. */
START_TEST(large_alloc_at_free_address)
{
    size_t lp = GetLargePageMinimum();
    char *at = free_aligned_address(2 * lp);
    ck_assert_uint_eq(vw_query(at).State, MEM_FREE);
    ck_assert_uint_eq(vw_query(at + lp).State, MEM_FREE);
    large_at(at);
}
END_TEST

/* Section 4 (misuse): MEM_LARGE_PAGES without MEM_COMMIT, or with MEM_COMMIT alone at an
 * address: ERROR_INVALID_PARAMETER, whatever the system has.  (MEM_COMMIT alone at NULL
 * reserves implicitly, issue 9: large_commit_at_null.) */
START_TEST(large_needs_reserve_commit)
{
    size_t lp = GetLargePageMinimum();
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, lp, MEM_RESERVE | MEM_LARGE_PAGES, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, lp, MEM_LARGE_PAGES, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, lp, MEM_RESET | MEM_LARGE_PAGES, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    /* Committing large pages inside an existing small-page reservation is a
     * MEM_COMMIT without MEM_RESERVE: refused, the reservation unchanged. */
    char *at = free_aligned_address(lp);
    char *r = VirtualAlloc(at, lp, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(r, at);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(r, lp, MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    MEMORY_BASIC_INFORMATION m = vw_query(r);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.RegionSize, lp);
    ck_assert_int_eq(vw_can_read(r), 0);
    vw_release(r);
}
END_TEST

/* Section 4 (misuse): a size that is not a multiple of GetLargePageMinimum(),
 * or size 0: ERROR_INVALID_PARAMETER. */
START_TEST(large_size_not_multiple)
{
    size_t lp = GetLargePageMinimum();
    const size_t sizes[] = { PG, lp / 2, lp - PG, lp + PG, lp + 1, 2 * lp - 1, 3 * lp / 2 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        SetLastError(0xDEADBEEF);
        void *p = VirtualAlloc(NULL, sizes[i], LARGE, PAGE_READWRITE);
        DWORD e = GetLastError();
        ck_assert_msg(p == NULL && e == ERROR_INVALID_PARAMETER,
                      "MEM_LARGE_PAGES of %#zx bytes: %p, error %u (expected 87)", sizes[i], p,
                      (unsigned)e);
    }
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, 0, LARGE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
}
END_TEST

/* Section 4 (misuse): an address that is not a multiple of
 * GetLargePageMinimum() (even if 64 KiB or page aligned): ERROR_INVALID_PARAMETER,
 * and nothing is placed there. */
START_TEST(large_address_not_multiple)
{
    size_t lp = GetLargePageMinimum();
    char *at = free_aligned_address(2 * lp);
    const size_t offs[] = { VW_64K, PG, lp / 2, 1 };
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        SetLastError(0xDEADBEEF);
        void *p = VirtualAlloc(at + offs[i], lp, LARGE, PAGE_READWRITE);
        DWORD e = GetLastError();
        ck_assert_msg(p == NULL && e == ERROR_INVALID_PARAMETER,
                      "MEM_LARGE_PAGES at %p: %p, error %u (expected 87)", at + offs[i], p,
                      (unsigned)e);
        ck_assert_uint_eq(vw_query(at + offs[i]).State, MEM_FREE);
    }
}
END_TEST

/* Section 3 + 4: an invalid protection with MEM_LARGE_PAGES:
 * ERROR_INVALID_PARAMETER. */
START_TEST(large_bad_protection)
{
    size_t lp = GetLargePageMinimum();
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, lp, LARGE, 0), ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, lp, LARGE, PAGE_READWRITE | PAGE_READONLY),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, lp, LARGE, PAGE_WRITECOPY), ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, lp, LARGE, PAGE_NOACCESS | PAGE_GUARD),
                         ERROR_INVALID_PARAMETER);
}
END_TEST

static Suite *largepage_suite(void)
{
    Suite *s = suite_create("largepage");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, large_page_minimum);
    tcase_add_test(tc, large_alloc_one);
    tcase_add_test(tc, large_alloc_readonly_multi);
    tcase_add_test(tc, large_alloc_two);
    tcase_add_test(tc, large_alloc_at_released_address);
    tcase_add_test(tc, large_alloc_at_free_address);
    tcase_add_test(tc, large_commit_at_null);
    suite_add_tcase(s, tc);

    tc = tcase_create("misuse");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, large_needs_reserve_commit);
    tcase_add_test(tc, large_size_not_multiple);
    tcase_add_test(tc, large_address_not_multiple);
    tcase_add_test(tc, large_bad_protection);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *thp = thp_available() ? "available" : "not available";
    fprintf(stderr, "check_largepage: THP %s, HugePages_Free %llu\n", thp,
            meminfo("HugePages_Free"));
    SRunner *sr = srunner_create(largepage_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
