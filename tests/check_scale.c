/*
 * check_scale.c: 200,000 live 64 KiB allocations at once.
 *
 * Windows programs hold hundreds of thousands of VirtualAlloc regions; on Linux
 * each mapping boundary costs a VMA and vm.max_map_count (65530) is the wall.
 * The spec (section 4: "with lpAddress NULL the base is a multiple of 64 KiB",
 * placement the library's choice) lets the library pack reservations so that
 * alike neighbours merge in the kernel: these tests hold 200,000 allocations,
 * touch every one, check that they are distinct, aligned, intact and that the VMA
 * count stays far below the limit, then release them all.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define N 200000
#define SZ ((size_t)65536)
#define MAX_EXTRA_VMAS 1000

static uint64_t marker(size_t i)
{
    return 0x5CA1E00000000000ull ^ ((uint64_t)i * 2654435761ull);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Every allocation is 64 KiB aligned and no two overlap. */
static void check_distinct(char **p, size_t n)
{
    uintptr_t *s = malloc(n * sizeof *s);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(((uintptr_t)p[i] & (VW_64K - 1)) == 0, "allocation %zu at %p not 64K aligned",
                      i, (void *)p[i]);
        s[i] = (uintptr_t)p[i];
    }
    qsort(s, n, sizeof *s, cmp_ptr);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(s[i] - s[i - 1] >= SZ, "allocations at %#lx and %#lx overlap",
                      (unsigned long)s[i - 1], (unsigned long)s[i]);
    free(s);
}

/* Releases every allocation in ascending address order (each MEM_RELEASE must succeed);
 * going through addresses in order keeps the freed space in one piece whatever the
 * placement. */
static void release_all(char **p, size_t n)
{
    char **s = malloc(n * sizeof *s);
    ck_assert_ptr_nonnull(s);
    memcpy(s, p, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_ptr);
    for (size_t i = 0; i < n; i++)
        if (!VirtualFree(s[i], 0, MEM_RELEASE))
            ck_abort_msg("VirtualFree(%p, 0, MEM_RELEASE) #%zu failed: %u", (void *)s[i], i,
                         (unsigned)GetLastError());
    free(s);
}

/* Section 4 (reserve+commit, NULL address, 64 KiB bases) and 10 (contents):
 * 200,000 committed 64 KiB allocations, each written, all held at once; markers
 * intact, VMA count far below vm.max_map_count, each releasable (section 5). */
START_TEST(scale_200k_committed)
{
    int vmas0 = vw_kernel_vma_count();
    long rss0 = vw_status_kb("RssAnon");
    char **p = calloc(N, sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < N; i++) {
        p[i] = VirtualAlloc(NULL, SZ, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p[i])
            ck_abort_msg("VirtualAlloc #%zu failed: error %u (VMAs now %d)", i,
                         (unsigned)GetLastError(), vw_kernel_vma_count());
        /* New memory reads as zero (section 10); then the markers, first and last page. */
        if (*(volatile uint64_t *)p[i] != 0 || *(volatile uint64_t *)(p[i] + SZ - 8) != 0)
            ck_abort_msg("allocation #%zu at %p is not zero-filled", i, (void *)p[i]);
        *(uint64_t *)p[i] = marker(i);
        *(uint64_t *)(p[i] + SZ - 8) = ~marker(i);
    }
    int vmas = vw_kernel_vma_count();
    ck_assert_msg(vmas - vmas0 < MAX_EXTRA_VMAS,
                  "200,000 allocations use %d VMAs (was %d before)", vmas, vmas0);

    check_distinct(p, N);
    for (size_t i = 0; i < N; i++) {
        if (*(uint64_t *)p[i] != marker(i) || *(uint64_t *)(p[i] + SZ - 8) != ~marker(i))
            ck_abort_msg("marker of allocation #%zu at %p overwritten", i, (void *)p[i]);
    }
    /* VirtualQuery sees each as its own 64 KiB committed read-write allocation. */
    for (size_t i = 0; i < N; i += N / 50) {
        MEMORY_BASIC_INFORMATION m = vw_query(p[i] + 0x1234);
        ck_assert_ptr_eq(m.AllocationBase, p[i]);
        ck_assert_ptr_eq(m.BaseAddress, p[i] + 0x1000);
        ck_assert_uint_eq(m.RegionSize, SZ - 0x1000);
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
        ck_assert_uint_eq(m.AllocationProtect, PAGE_READWRITE);
        ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    }
    vw_assert_range_agrees(p[0], SZ);
    vw_assert_range_agrees(p[N - 1], SZ);

    release_all(p, N);
    for (size_t i = 0; i < N; i += N / 50) {
        MEMORY_BASIC_INFORMATION m = vw_query(p[i]);
        ck_assert_uint_eq(m.State, MEM_FREE);
        ck_assert_int_eq(vw_can_read(p[i]), 0);
    }
    vmas = vw_kernel_vma_count();
    ck_assert_msg(vmas - vmas0 < MAX_EXTRA_VMAS, "after release %d VMAs (was %d)", vmas, vmas0);
    /* The memory went back to the system (sections 5, 10).  Not under ASan or
     * TSan: their runtimes keep shadow memory of their own for what was used. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    long rss = vw_status_kb("RssAnon");
    ck_assert_msg(rss - rss0 < 64 * 1024, "RssAnon %ld kB after releasing all (was %ld kB)", rss,
                  rss0);
#else
    (void)rss0;
#endif
    free(p);
}
END_TEST

/* Section 4: 200,000 plain reservations (MEM_RESERVE only): all succeed, are
 * distinct, inaccessible, MEM_RESERVE with Protect 0, and fit in few VMAs. */
START_TEST(scale_200k_reserved)
{
    int vmas0 = vw_kernel_vma_count();
    char **p = calloc(N, sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < N; i++) {
        p[i] = VirtualAlloc(NULL, SZ, MEM_RESERVE, PAGE_READWRITE);
        if (!p[i])
            ck_abort_msg("VirtualAlloc(MEM_RESERVE) #%zu failed: error %u", i,
                         (unsigned)GetLastError());
    }
    int vmas = vw_kernel_vma_count();
    ck_assert_msg(vmas - vmas0 < MAX_EXTRA_VMAS, "200,000 reservations use %d VMAs (was %d)",
                  vmas, vmas0);
    check_distinct(p, N);
    for (size_t i = 0; i < N; i += N / 50) {
        MEMORY_BASIC_INFORMATION m = vw_query(p[i]);
        ck_assert_ptr_eq(m.AllocationBase, p[i]);
        ck_assert_uint_eq(m.RegionSize, SZ);
        ck_assert_uint_eq(m.State, MEM_RESERVE);
        ck_assert_uint_eq(m.Protect, 0);
        ck_assert_int_eq(vw_can_read(p[i]), 0);
    }
    release_all(p, N);
    free(p);
}
END_TEST

/* Sections 5 and 10: with 200,000 allocations live, release blocks of them and
 * allocate again: the survivors keep their contents, the new ones read as zero
 * and never overlap the survivors; everything is released in the end. */
START_TEST(scale_release_and_reuse)
{
    int vmas0 = vw_kernel_vma_count();
    char **p = calloc(N, sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < N; i++) {
        p[i] = VirtualAlloc(NULL, SZ, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p[i])
            ck_abort_msg("VirtualAlloc #%zu failed: %u", i, (unsigned)GetLastError());
        *(uint64_t *)p[i] = marker(i);
    }
    /* Release every other block of 1000 allocations, in address order inside a block
     * (at most ~100 holes, far from the VMA limit). */
    char **s = malloc(N * sizeof *s);
    ck_assert_ptr_nonnull(s);
    memcpy(s, p, N * sizeof *s);
    qsort(s, N, sizeof *s, cmp_ptr);
    size_t freed = 0;
    for (size_t i = 0; i < N; i++) {
        if ((i / 1000) % 2 == 0) {
            if (!VirtualFree(s[i], 0, MEM_RELEASE))
                ck_abort_msg("release of %p failed: %u", (void *)s[i], (unsigned)GetLastError());
            s[i] = NULL;
            freed++;
        }
    }
    /* Survivors keep their markers. */
    size_t live = 0;
    for (size_t i = 0; i < N; i++) {
        if (!s[i])
            continue;
        s[live++] = s[i];
    }
    ck_assert_uint_eq(live + freed, N);
    for (size_t i = 0; i < N; i++) {
        MEMORY_BASIC_INFORMATION m;
        if (VirtualQuery(p[i], &m, sizeof m) != sizeof m)
            ck_abort_msg("VirtualQuery(%p) failed: %u", (void *)p[i], (unsigned)GetLastError());
        if (m.State == MEM_FREE)
            continue;
        if (m.AllocationBase != p[i])
            ck_abort_msg("survivor #%zu at %p has AllocationBase %p", i, (void *)p[i],
                         m.AllocationBase);
        if (*(uint64_t *)p[i] != marker(i))
            ck_abort_msg("survivor #%zu at %p lost its marker", i, (void *)p[i]);
    }
    /* Allocate the freed amount again: zero-filled, distinct from the survivors. */
    for (size_t i = 0; i < freed; i++) {
        char *q = VirtualAlloc(NULL, SZ, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!q)
            ck_abort_msg("re-allocation #%zu failed: %u", i, (unsigned)GetLastError());
        if (*(volatile uint64_t *)q != 0)
            ck_abort_msg("re-allocation #%zu at %p is not zero-filled", i, (void *)q);
        *(uint64_t *)q = 0xFEEDull;
        s[live++] = q;
    }
    ck_assert_uint_eq(live, N);
    check_distinct(s, N);
    int vmas = vw_kernel_vma_count();
    ck_assert_msg(vmas - vmas0 < MAX_EXTRA_VMAS, "%d VMAs after reuse (was %d)", vmas, vmas0);
    /* Survivors still intact after the new allocations were written. */
    for (size_t i = 0; i < N; i++) {
        MEMORY_BASIC_INFORMATION m;
        if (VirtualQuery(p[i], &m, sizeof m) != sizeof m)
            ck_abort_msg("VirtualQuery(%p) failed: %u", (void *)p[i], (unsigned)GetLastError());
        if (m.AllocationBase == p[i] && *(uint64_t *)p[i] != 0xFEEDull &&
            *(uint64_t *)p[i] != marker(i))
            ck_abort_msg("allocation #%zu at %p corrupted", i, (void *)p[i]);
    }
    release_all(s, N);
    free(s);
    free(p);
}
END_TEST

static Suite *scale_suite(void)
{
    Suite *s = suite_create("scale");
    TCase *tc = tcase_create("scale");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, scale_200k_committed);
    tcase_add_test(tc, scale_200k_reserved);
    tcase_add_test(tc, scale_release_and_reuse);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scale_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
