/*
 * check_holes.c: programs that cut allocations apart (issue 11, "Holes break
 * the map"; README "Keeping the map true").
 *
 * A program's munmap, mmap(MAP_FIXED) or mremap takes pages out of the middle
 * or the base of an allocation (a big one with a kernel mapping of its own,
 * and one in an arena); then the API is used all around the hole.  Rules:
 * - a hole is MEM_FREE to VirtualQuery but stays the allocation's span until
 *   it is released: a reservation there fails with ERROR_INVALID_ADDRESS (as
 *   it does in an arena), so there is never a second allocation with the
 *   same base or inside another;
 * - a commit, decommit or protect reaching into the hole fails and changes
 *   nothing; one beside it works;
 * - release gives back everything that is left (nothing stays mapped, a
 *   second release gives ERROR_INVALID_ADDRESS) and leaves the program's own
 *   mapping in the hole alone, with its contents;
 * - memory the kernel moves into a hole (mremap) is the program's from then on,
 *   and so is what the program maps there itself (MAP_FIXED, or
 *   MAP_FIXED_NOREPLACE: the hole is free space to it);
 * - the library's counts (committed bytes, nodes, allocations) return to
 *   where they started: they never wrap.
 * The map is compared with /proc/self/maps after every step.  Linked with the
 * fault-injection build for vw_fault_stats (the counts); nothing is injected.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif

void vw_fault_stats(size_t *live_nodes, size_t *nallocs, size_t *committed, size_t *locked);

#define K64 VW_64K
#define PG VW_PAGE
#define BIG ((size_t)1 << 30)    /* a kernel mapping of its own */
#define SMALL (16 * K64)         /* in an arena */

struct counts {
    size_t nodes, nallocs, committed, locked;
};

static struct counts counts(void)
{
    struct counts c;
    vw_fault_stats(&c.nodes, &c.nallocs, &c.committed, &c.locked);
    return c;
}

static void expect_counts(const struct counts *want)
{
    struct counts c = counts();
    ck_assert_msg(c.nodes == want->nodes && c.nallocs == want->nallocs &&
                      c.committed == want->committed && c.locked == want->locked,
                  "counts: nodes %zu allocs %zu committed %zu locked %zu, expected %zu %zu %zu %zu",
                  c.nodes, c.nallocs, c.committed, c.locked, want->nodes, want->nallocs,
                  want->committed, want->locked);
}

static size_t span(int i)
{
    return i ? SMALL : BIG;
}

/* An allocation of `size` with its first four and its middle 3 granules
 * committed and filled with 0x5A. */
static char *prepared(size_t size, char **mid)
{
    char *a = vw_alloc_reserve(size, PAGE_READWRITE);
    vw_commit_at(a, 4 * K64, PAGE_READWRITE);
    *mid = a + size / 2;
    vw_commit_at(*mid - K64, 3 * K64, PAGE_READWRITE);
    memset(a, 0x5A, 4 * K64);
    memset(*mid - K64, 0x5A, 3 * K64);
    return a;
}

static void expect_released(char *a, size_t size)
{
    VW_EXPECT_FAIL(VirtualFree(a, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    vw_assert_range_agrees(a, size);
}

/* Reserving in a hole in the middle fails; commits reaching into it fail and
 * change nothing; release frees everything that is left. */
START_TEST(test_hole_in_middle)
{
    struct counts c0 = counts();
    size_t size = span(_i);
    char *mid, *a = prepared(size, &mid);
    ck_assert_int_eq(munmap(mid, K64), 0);
    VW_CHECK_FREE(mid, K64);
    vw_assert_range_agrees(a, size);

    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(mid, K64, MEM_RESERVE, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(mid, K64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_CHECK_FREE(mid, K64);
    /* A commit across the hole: fails, the pages beside it unchanged. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(mid - K64, 3 * K64, MEM_COMMIT, PAGE_READONLY),
                         ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(vw_query(mid - K64).Protect, PAGE_READWRITE);
    ck_assert_int_eq(vw_query(mid + K64).Protect, PAGE_READWRITE);
    DWORD old;
    VW_EXPECT_FAIL(VirtualProtect(mid - PG, 2 * PG, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(vw_query(mid - PG).Protect, PAGE_READWRITE);
    /* Beside it everything works. */
    VW_EXPECT_OK(VirtualProtect(mid + K64, PG, PAGE_READONLY, &old));
    VW_EXPECT_OK(VirtualFree(mid - K64, K64, MEM_DECOMMIT));
    ck_assert_ptr_eq(VirtualAlloc(mid + 3 * K64, K64, MEM_COMMIT, PAGE_READWRITE), mid + 3 * K64);
    ck_assert_ptr_eq(vw_query(mid + K64).AllocationBase, a);
    vw_assert_range_agrees(a, size);

    VW_EXPECT_OK(VirtualFree(a, 0, MEM_RELEASE));
    expect_released(a, size);
    VW_CHECK_FREE(a, size);
    expect_counts(&c0);
    /* And the space is the library's to give again. */
    char *b = VirtualAlloc(mid, K64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(b, mid);
    vw_release(b);
    expect_counts(&c0);
}
END_TEST

/* The base page taken away: a reservation there fails (one base per
 * allocation); the rest keeps its AllocationBase and releases by it. */
START_TEST(test_hole_at_base)
{
    struct counts c0 = counts();
    size_t size = span(_i);
    char *mid, *a = prepared(size, &mid);
    ck_assert_int_eq(munmap(a, K64), 0);
    VW_CHECK_FREE(a, K64);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(a, K64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    ck_assert_ptr_eq(vw_query(a + K64).AllocationBase, a);
    ck_assert_ptr_eq(vw_query(mid).AllocationBase, a);
    ck_assert_int_eq(((unsigned char *)a)[K64], 0x5A);
    vw_assert_range_agrees(a, size);
    VW_EXPECT_OK(VirtualFree(a, 0, MEM_RELEASE));
    expect_released(a, size);
    VW_CHECK_FREE(a, size);
    expect_counts(&c0);
}
END_TEST

/* The tail taken away: a reservation right after the last page left fails
 * too (still the allocation's span); release frees the rest. */
START_TEST(test_hole_at_end)
{
    struct counts c0 = counts();
    size_t size = span(_i);
    char *mid, *a = prepared(size, &mid);
    ck_assert_int_eq(munmap(mid + K64, size / 2 - K64), 0);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(a + size - K64, K64, MEM_RESERVE, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(mid, 2 * K64, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    vw_assert_range_agrees(a, size);
    VW_EXPECT_OK(VirtualFree(a, 0, MEM_RELEASE));
    expect_released(a, size);
    VW_CHECK_FREE(a, size);
    expect_counts(&c0);
}
END_TEST

/* The program maps its own memory over the middle (MAP_FIXED): the library
 * never touches it, release frees the rest and leaves it with its contents. */
START_TEST(test_program_mapping_in_middle)
{
    struct counts c0 = counts();
    size_t size = span(_i);
    char *mid, *a = prepared(size, &mid);
    char *m = mmap(mid, 2 * K64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
    ck_assert_ptr_eq(m, mid);
    memset(m, 0x77, 2 * K64);
    MEMORY_BASIC_INFORMATION q = vw_query(m);
    ck_assert_ptr_ne(q.AllocationBase, a);
    ck_assert_int_eq(q.State, MEM_COMMIT);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(mid - K64, 2 * K64, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(mid, K64, MEM_RESERVE, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_OK(VirtualFree(mid - K64, K64, MEM_DECOMMIT));
    /* A decommit of the whole allocation skips the program's pages. */
    VW_EXPECT_OK(VirtualFree(a, 0, MEM_DECOMMIT));
    ck_assert(vw_can_read(m) && vw_can_write(m + 2 * K64 - 1));
    ck_assert_int_eq(m[0], 0x77);
    ck_assert_int_eq(m[2 * K64 - 1], 0x77);
    vw_assert_range_agrees(a, size);
    VW_EXPECT_OK(VirtualFree(a, 0, MEM_RELEASE));
    expect_released(a, size);
    ck_assert(vw_can_write(m));
    ck_assert_int_eq(m[K64], 0x77);
    VW_CHECK_FREE(a, mid - a);
    VW_CHECK_FREE(mid + 2 * K64, a + size - (mid + 2 * K64));
    ck_assert_int_eq(munmap(m, 2 * K64), 0);
    vw_assert_range_agrees(a, size);
    expect_counts(&c0);
}
END_TEST

/* Another allocation moved into the hole by the kernel (mremap FIXED): its
 * pages are the program's there (contents kept), no allocation sits inside
 * another, and every count comes back. */
START_TEST(test_mremap_into_hole)
{
    struct counts c0 = counts();
    size_t size = span(_i);
    char *mid, *a = prepared(size, &mid);
    char *b = vw_alloc_commit(K64, PAGE_READWRITE);
    memset(b, 0x42, K64);
    ck_assert_int_eq(munmap(mid, K64), 0);
    char *q = mremap(b, K64, K64, MREMAP_MAYMOVE | MREMAP_FIXED, mid);
    ck_assert_msg(q == mid, "mremap: %p (%s)", (void *)q, strerror(errno));
    ck_assert_int_eq(q[0], 0x42);
    ck_assert_int_eq(q[K64 - 1], 0x42);
    VW_CHECK_FREE(b, K64);
    VW_EXPECT_FAIL(VirtualFree(b, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(q, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(mid - K64, 2 * K64, MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    vw_assert_range_agrees(a, size);
    VW_EXPECT_OK(VirtualFree(a, 0, MEM_RELEASE));
    expect_released(a, size);
    ck_assert_int_eq(q[1], 0x42);
    ck_assert_int_eq(munmap(q, K64), 0);
    vw_assert_range_agrees(a, size);
    expect_counts(&c0);
}
END_TEST

/* The program maps into a hole with MAP_FIXED_NOREPLACE (free space to it):
 * the mapping is placed there and release leaves it alone. */
START_TEST(test_noreplace_into_hole)
{
    struct counts c0 = counts();
    size_t size = span(_i);
    char *mid, *a = prepared(size, &mid);
    ck_assert_int_eq(munmap(mid, K64), 0);
    char *m = mmap(mid, K64, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ck_assert_msg(m == mid, "NOREPLACE into the hole: %p (%s)", (void *)m, strerror(errno));
    memset(m, 0x33, K64);
    vw_assert_range_agrees(a, size);
    VW_EXPECT_OK(VirtualFree(a, 0, MEM_RELEASE));
    expect_released(a, size);
    ck_assert_int_eq(m[K64 - 1], 0x33);
    ck_assert_int_eq(munmap(m, K64), 0);
    vw_assert_range_agrees(a, size);
    expect_counts(&c0);
}
END_TEST

/* Pages cut out one at a time from a committed allocation, then decommit and
 * release: the committed count never goes below where it started. */
START_TEST(test_counts_with_many_holes)
{
    struct counts c0 = counts();
    size_t size = span(_i);
    char *mid, *a = prepared(size, &mid);
    for (int k = 0; k < 8; k++)
        ck_assert_int_eq(munmap(a + (size_t)k * 2 * PG, PG), 0);
    ck_assert_int_eq(munmap(mid - PG, 3 * PG), 0);
    struct counts c = counts();
    ck_assert_uint_eq(c.committed, c0.committed + 7 * K64 - 11 * PG);
    VW_EXPECT_OK(VirtualFree(a + 16 * PG, K64, MEM_DECOMMIT));
    VW_EXPECT_OK(VirtualFree(a, 0, MEM_DECOMMIT));
    c = counts();
    ck_assert_uint_eq(c.committed, c0.committed);
    vw_assert_range_agrees(a, size);
    VW_EXPECT_OK(VirtualFree(a, 0, MEM_RELEASE));
    expect_released(a, size);
    expect_counts(&c0);
}
END_TEST

static Suite *holes_suite(void)
{
    Suite *s = suite_create("holes");
    TCase *tc = tcase_create("core");
    /* _i 0: a 1 GiB allocation (a kernel mapping of its own); 1: in an arena. */
    tcase_add_loop_test(tc, test_hole_in_middle, 0, 2);
    tcase_add_loop_test(tc, test_hole_at_base, 0, 2);
    tcase_add_loop_test(tc, test_hole_at_end, 0, 2);
    tcase_add_loop_test(tc, test_program_mapping_in_middle, 0, 2);
    tcase_add_loop_test(tc, test_mremap_into_hole, 0, 2);
    tcase_add_loop_test(tc, test_noreplace_into_hole, 0, 2);
    tcase_add_loop_test(tc, test_counts_with_many_holes, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(holes_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
