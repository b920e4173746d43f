/*
 * check_reset.c: MEM_RESET and MEM_RESET_UNDO (spec section 4, issue item 2),
 * DiscardVirtualMemory, OfferVirtualMemory / ReclaimVirtualMemory and
 * PrefetchVirtualMemory.
 *
 * Rules checked:
 * - MEM_RESET: goes alone (MEM_TOP_DOWN aside), flProtect ignored, the range
 *   must lie in one reservation (reserved pages allowed; free memory and ranges
 *   crossing the end: ERROR_INVALID_ADDRESS); state and protection unchanged;
 *   returns the page-rounded address;
 * - MEM_RESET_UNDO is honest: success only if every byte is intact; after a
 *   forced reclaim (MADV_PAGEOUT on the range) it fails with ERROR_BUSY and
 *   never reports success; the memory stays committed and usable;
 * - Discard / Offer / Reclaim return a DWORD error: a page-aligned non-NULL
 *   address, size > 0, committed pages inside one allocation, Offer priority in
 *   1..4, else ERROR_INVALID_PARAMETER; Reclaim reports ERROR_BUSY (170) when the
 *   contents were lost, ERROR_SUCCESS when intact;
 * - PrefetchVirtualMemory: handle check, Flags != 0 / 0 entries / NULL array:
 *   ERROR_INVALID_PARAMETER; ranges are a hint.
 *
 * A page never written before the reset counts as lost (documented), so every
 * success test writes every page first.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define PG VW_PAGE

/* ---- helpers ------------------------------------------------------------ */

#define EXPECT_DW(call, want)                                                           \
    do {                                                                                \
        DWORD r_ = (call);                                                              \
        ck_assert_msg(r_ == (DWORD)(want), "%s returned %u, expected %u", #call,        \
                      (unsigned)r_, (unsigned)(want));                                  \
    } while (0)

static unsigned char pattern(size_t page, size_t off)
{
    return (unsigned char)(0x11 + page * 7 + (off / 64) * 13) | 1;   /* never zero */
}

/* Writes a non-zero pattern to every byte of pages [first, first+n). */
static void fill(char *p, size_t first, size_t n)
{
    for (size_t i = first; i < first + n; i++)
        for (size_t o = 0; o < PG; o++)
            p[i * PG + o] = (char)pattern(i, o);
}

/* 1 if every byte of page i holds the pattern. */
static int page_intact(const char *p, size_t i)
{
    for (size_t o = 0; o < PG; o++)
        if ((unsigned char)p[i * PG + o] != pattern(i, o))
            return 0;
    return 1;
}

/* 1 if every byte of page i is zero. */
static int page_zero(const char *p, size_t i)
{
    for (size_t o = 0; o < PG; o++)
        if (p[i * PG + o])
            return 0;
    return 1;
}

/* Forces the kernel to reclaim [p, p+size) now (lazily freed pages are dropped). */
static void force_reclaim(void *p, size_t size)
{
    /* MADV_PAGEOUT is best effort: a page the kernel is busy with (isolated
     * for LRU work on a loaded machine) is skipped.  Ask again until mincore
     * says every page is gone, a bounded number of times. */
    unsigned char vec[64];
    size_t n = size / VW_PAGE;
    ck_assert(n <= sizeof vec);
    for (int tries = 0; tries < 200; tries++) {
        ck_assert_msg(madvise(p, size, MADV_PAGEOUT) == 0, "madvise(MADV_PAGEOUT): %s",
                      strerror(errno));
        ck_assert_int_eq(mincore(p, size, vec), 0);
        size_t resident = 0;
        for (size_t i = 0; i < n; i++)
            resident += vec[i] & 1;
        if (!resident)
            return;
        usleep(1000);
    }
}

/* ---- MEM_RESET ----------------------------------------------------------- */

/* Section 4: MEM_RESET then MEM_RESET_UNDO with nothing reclaimed in between:
 * both return the page-rounded address, the undo succeeds and every byte is
 * intact; state and protection never change; the last error is left alone. */
START_TEST(reset_undo_intact)
{
    const size_t n = 16;
    char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
    fill(p, 0, n);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, n * PG, MEM_RESET, PAGE_READWRITE), p);
    VW_ASSERT_REGION(p, p, n * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, n * PG, MEM_RESET_UNDO, PAGE_READWRITE), p);
    VW_ASSERT_REGION(p, p, n * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(page_intact(p, i), "page %zu changed by reset + undo", i);
    ck_assert_int_eq(vw_can_write(p + 3 * PG), 1);
    vw_assert_range_agrees(p, n * PG);
    /* Writing after the undo sticks. */
    p[5] = 'x';
    ck_assert_int_eq(p[5], 'x');
    vw_release(p);
}
END_TEST

/* Section 4: MEM_RESET ignores flProtect (0, NOACCESS, READONLY) and MEM_TOP_DOWN
 * may go with it; an unaligned address returns the page-rounded one and the
 * range is rounded out to whole pages. */
START_TEST(reset_ignores_protect_rounds)
{
    char *p = vw_alloc_commit(8 * PG, PAGE_READWRITE);
    fill(p, 0, 8);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET, PAGE_NOACCESS), p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET, 0), p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET | MEM_TOP_DOWN, PAGE_READONLY), p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + PG + 100, 2, MEM_RESET, PAGE_READWRITE), p + PG);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + 2 * PG - 1, 2, MEM_RESET, PAGE_READWRITE), p + PG);
    VW_ASSERT_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_eq(vw_can_write(p), 1);
    /* The undo ignores flProtect as well, and rounds the same way. */
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + 100, 8 * PG - 200, MEM_RESET_UNDO, 0), p);
    for (size_t i = 0; i < 8; i++)
        ck_assert_msg(page_intact(p, i), "page %zu lost", i);
    VW_ASSERT_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    vw_release(p);
}
END_TEST

/* Section 4: MEM_RESET and MEM_RESET_UNDO each go alone (MEM_TOP_DOWN aside):
 * ERROR_INVALID_PARAMETER, and nothing changes. */
START_TEST(reset_must_go_alone)
{
    char *p = VirtualAlloc(NULL, 8 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, PG, MEM_RESET | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, PG, MEM_RESET | MEM_RESERVE, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, PG, MEM_RESET_UNDO | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, PG, MEM_RESET | MEM_RESET_UNDO, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, 0, MEM_RESET, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, 0, MEM_RESET_UNDO, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    /* The commit attempts did nothing. */
    VW_ASSERT_REGION(p, p, 8 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_int_eq(vw_can_read(p), 0);
    vw_release(p);
}
END_TEST

/* Section 4: the range must lie inside one reservation: free memory (also NULL),
 * a range running past the allocation's end or into the next one:
 * ERROR_INVALID_ADDRESS, for reset and undo alike; contents are untouched. */
START_TEST(reset_outside_allocation)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    fill(p, 0, 4);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + 2 * PG, 4 * PG, MEM_RESET, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + 2 * PG, 4 * PG, MEM_RESET_UNDO, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, PG, MEM_RESET, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, PG, MEM_RESET_UNDO, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    for (size_t i = 0; i < 4; i++)
        ck_assert(page_intact(p, i));
    vw_release(p);
    /* Released (free) memory. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, PG, MEM_RESET, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, PG, MEM_RESET_UNDO, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
}
END_TEST

/* Section 4: reserved pages are allowed in a reset range; they stay reserved
 * (Protect 0, faulting), the committed pages keep their state and contents
 * after the undo. */
START_TEST(reset_with_reserved_pages)
{
    char *p = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    /* Reset of a range that is only reserved. */
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 16 * PG, MEM_RESET, PAGE_READWRITE), p);
    VW_ASSERT_REGION(p, p, 16 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_ptr_eq(VirtualAlloc(p + 4 * PG, 4 * PG, MEM_COMMIT, PAGE_READWRITE), p + 4 * PG);
    fill(p, 4, 4);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 16 * PG, MEM_RESET, PAGE_READWRITE), p);
    VW_ASSERT_REGION(p, p, 4 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 4 * PG, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 8 * PG, p, 8 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 16 * PG, MEM_RESET_UNDO, PAGE_READWRITE), p);
    for (size_t i = 4; i < 8; i++)
        ck_assert_msg(page_intact(p, i), "page %zu lost", i);
    VW_ASSERT_REGION(p, p, 4 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 8 * PG, p, 8 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_int_eq(vw_can_read(p), 0);
    ck_assert_int_eq(vw_can_read(p + 8 * PG), 0);
    vw_assert_range_agrees(p, 16 * PG);
    vw_release(p);
}
END_TEST

/* Section 4: reset and undo of read-only and execute-read pages: the protection
 * is unchanged afterwards (writes still fault, VirtualQuery unchanged) and the
 * contents are intact. */
START_TEST(reset_undo_readonly)
{
    char *p = vw_alloc_commit(8 * PG, PAGE_READWRITE);
    fill(p, 0, 8);
    DWORD old;
    ck_assert(VirtualProtect(p, 4 * PG, PAGE_READONLY, &old));
    ck_assert(VirtualProtect(p + 4 * PG, 4 * PG, PAGE_EXECUTE_READ, &old));
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET, PAGE_READWRITE), p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET_UNDO, PAGE_READWRITE), p);
    for (size_t i = 0; i < 8; i++)
        ck_assert_msg(page_intact(p, i), "page %zu lost", i);
    VW_ASSERT_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 4 * PG, p, 4 * PG, MEM_COMMIT, PAGE_EXECUTE_READ, MEM_PRIVATE);
    ck_assert_int_eq(vw_can_write(p), 0);
    ck_assert_int_eq(vw_can_write(p + 5 * PG), 0);
    ck_assert_int_eq(vw_can_read(p + 5 * PG), 1);
    vw_assert_range_agrees(p, 8 * PG);
    vw_release(p);
}
END_TEST

/* Section 4: reset and undo leave PAGE_NOACCESS and PAGE_GUARD pages as they
 * were: the undo must neither make them accessible nor consume the guard; the
 * data written before they were protected is intact. */
START_TEST(reset_undo_noaccess_guard)
{
    char *p = vw_alloc_commit(8 * PG, PAGE_READWRITE);
    fill(p, 0, 8);
    DWORD old;
    ck_assert(VirtualProtect(p, 4 * PG, PAGE_NOACCESS, &old));
    ck_assert(VirtualProtect(p + 4 * PG, 4 * PG, PAGE_READWRITE | PAGE_GUARD, &old));
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET, PAGE_READWRITE), p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET_UNDO, PAGE_READWRITE), p);
    VW_ASSERT_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 4 * PG, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    ck_assert_int_eq(vw_can_read(p), 0);
    vw_assert_range_agrees(p, 8 * PG);
    ck_assert(VirtualProtect(p, 8 * PG, PAGE_READWRITE, &old));
    for (size_t i = 0; i < 8; i++)
        ck_assert_msg(page_intact(p, i), "page %zu lost", i);
    vw_release(p);
}
END_TEST

/* Item 2 (honest undo): reset, forced reclaim of the whole range, undo: NULL with
 * ERROR_BUSY, never success; the pages stay committed read-write and usable;
 * each page reads either as it was or as zero; a second undo fails too
 * (nothing brings the lost data back). */
START_TEST(reset_reclaim_undo_fails)
{
    const size_t n = 16;
    char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
    fill(p, 0, n);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, n * PG, MEM_RESET, PAGE_READWRITE), p);
    force_reclaim(p, n * PG);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, n * PG, MEM_RESET_UNDO, PAGE_READWRITE), ERROR_BUSY);
    VW_ASSERT_REGION(p, p, n * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    size_t zero = 0;
    for (size_t i = 0; i < n; i++) {
        int z = page_zero(p, i);
        ck_assert_msg(z || page_intact(p, i), "page %zu is neither intact nor zero", i);
        zero += z;
    }
    ck_assert_msg(zero > 0, "MADV_PAGEOUT dropped nothing, yet the undo failed");
    /* The memory is usable again. */
    ck_assert_int_eq(vw_can_write(p), 1);
    fill(p, 0, n);
    for (size_t i = 0; i < n; i++)
        ck_assert(page_intact(p, i));
    vw_assert_range_agrees(p, n * PG);
    vw_release(p);
}
END_TEST

/* A dropped page that the program reads before the undo: some kernels (6.18
 * seen) refill it on the read fault with a fresh zeroed page of its own, which
 * pagemap reports present and exclusive and whose write costs no fault.  The
 * undo must still fail (ERROR_BUSY): never a success over lost contents.  With
 * and without an EXECUTE_READ protection in between (the model found it so). */
START_TEST(reset_read_after_drop_undo_fails)
{
    const size_t n = 3;
    for (int rx = 0; rx < 2; rx++) {
        char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
        fill(p, 0, n);
        VW_EXPECT_ALLOC_AT(VirtualAlloc(p, n * PG, MEM_RESET, PAGE_READWRITE), p);
        force_reclaim(p, n * PG);
        DWORD old;
        if (rx)
            ck_assert(VirtualProtect(p + PG, PG, PAGE_EXECUTE_READ, &old));
        volatile char c = p[PG];   /* the read that refills the dropped page */
        (void)c;
        void *r = VirtualAlloc(p + PG, PG, MEM_RESET_UNDO, PAGE_READWRITE);
        if (r) {
            ck_assert_msg(page_intact(p, 1), "MEM_RESET_UNDO succeeded over a lost page");
        } else {
            ck_assert_uint_eq(GetLastError(), ERROR_BUSY);
            ck_assert_msg(page_zero(p, 1), "page neither intact nor zero");
        }
        ck_assert_msg(!r || !page_zero(p, 1), "undo reported zeros as intact");
        VW_ASSERT_REGION(p + PG, p, rx ? PG : 2 * PG, MEM_COMMIT,
                         rx ? PAGE_EXECUTE_READ : PAGE_READWRITE,
                         MEM_PRIVATE);
        vw_release(p);
    }
}
END_TEST

/* Item 2: one page reclaimed out of 16 is enough for the undo to fail
 * (ERROR_BUSY); the undo of the untouched pages alone then succeeds. */
START_TEST(reset_partial_loss_undo_fails)
{
    const size_t n = 16;
    char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
    fill(p, 0, n);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, n * PG, MEM_RESET, PAGE_READWRITE), p);
    force_reclaim(p + 9 * PG, PG);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, n * PG, MEM_RESET_UNDO, PAGE_READWRITE), ERROR_BUSY);
    ck_assert_msg(page_zero(p, 9), "the reclaimed page still holds data");
    for (size_t i = 0; i < n; i++)
        if (i != 9)
            ck_assert_msg(page_intact(p, i), "page %zu, never reclaimed, changed", i);

    /* A fresh reset of the first pages only, no reclaim: that undo is honest success. */
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET, PAGE_READWRITE), p);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 8 * PG, MEM_RESET_UNDO, PAGE_READWRITE), p);
    for (size_t i = 0; i < 8; i++)
        ck_assert(page_intact(p, i));
    vw_release(p);
}
END_TEST

/* Item 2: loss of read-only pages is reported the same way, and the failed undo
 * leaves the protection as it was. */
START_TEST(reset_reclaim_readonly_undo_fails)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    fill(p, 0, 4);
    DWORD old;
    ck_assert(VirtualProtect(p, 4 * PG, PAGE_READONLY, &old));
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 4 * PG, MEM_RESET, PAGE_READWRITE), p);
    force_reclaim(p, 4 * PG);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, 4 * PG, MEM_RESET_UNDO, PAGE_READWRITE), ERROR_BUSY);
    VW_ASSERT_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_int_eq(vw_can_write(p), 0);
    ck_assert_int_eq(vw_can_read(p), 1);
    vw_assert_range_agrees(p, 4 * PG);
    vw_release(p);
}
END_TEST

/* Item 2: locked pages are kept resident: a reset and a forced reclaim cannot
 * drop them, so the undo succeeds and they stay locked. */
START_TEST(reset_locked_pages_survive)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    fill(p, 0, 4);
    VW_EXPECT_OK(VirtualLock(p, 4 * PG));
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 4 * PG, MEM_RESET, PAGE_READWRITE), p);
    /* The kernel refuses MADV_PAGEOUT on locked pages (EINVAL): that is the point. */
    int r = madvise(p, 4 * PG, MADV_PAGEOUT);
    ck_assert_msg(r == 0 || errno == EINVAL, "madvise(MADV_PAGEOUT): %s", strerror(errno));
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 4 * PG, MEM_RESET_UNDO, PAGE_READWRITE), p);
    for (size_t i = 0; i < 4; i++)
        ck_assert(page_intact(p, i));
    VW_EXPECT_OK(VirtualUnlock(p, 4 * PG));
    vw_release(p);
}
END_TEST

/* Item 2: a page written again after the reset holds what was written; the
 * undo keeps it. */
START_TEST(reset_rewrite_then_undo)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    fill(p, 0, 4);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 4 * PG, MEM_RESET, PAGE_READWRITE), p);
    memset(p + PG, 0x77, PG);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, 4 * PG, MEM_RESET_UNDO, PAGE_READWRITE), p);
    ck_assert(page_intact(p, 0));
    ck_assert(page_intact(p, 2));
    ck_assert(page_intact(p, 3));
    for (size_t o = 0; o < PG; o++)
        ck_assert_int_eq((unsigned char)p[PG + o], 0x77);
    vw_release(p);
}
END_TEST

/* Item 2: "never success after a loss, even when memory pressure reclaims pages
 * during the call": another thread keeps forcing reclaim of the range while this
 * one resets and undoes it again and again.  Whenever the undo reports success,
 * every byte must be intact; when it fails, the error is ERROR_BUSY and every
 * page is intact or zero. */
struct pressure {
    char *p;
    size_t size;
    volatile int stop;
};

static void *pressure_thread(void *arg)
{
    struct pressure *ps = arg;
    while (!ps->stop)
        madvise(ps->p, ps->size, MADV_PAGEOUT);
    return NULL;
}

START_TEST(reset_undo_under_pressure)
{
    const size_t n = 64;
    char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
    struct pressure ps = { p, n * PG, 0 };
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, pressure_thread, &ps), 0);
    int ok = 0, busy = 0;
    for (int round = 0; round < 120; round++) {
        fill(p, 0, n);
        ck_assert_ptr_eq(VirtualAlloc(p, n * PG, MEM_RESET, PAGE_READWRITE), p);
        if (round % 2)
            usleep(20);   /* let reclaim land before the undo as well as during it */
        SetLastError(0xDEADBEEF);
        void *r = VirtualAlloc(p, n * PG, MEM_RESET_UNDO, PAGE_READWRITE);
        DWORD e = GetLastError();
        if (r) {
            ck_assert_ptr_eq(r, p);
            ok++;
            for (size_t i = 0; i < n; i++)
                ck_assert_msg(page_intact(p, i),
                              "round %d: undo reported success but page %zu was lost", round,
                              i);
        } else {
            ck_assert_msg(e == ERROR_BUSY, "round %d: undo failed with %u, expected 170",
                          round, (unsigned)e);
            busy++;
            for (size_t i = 0; i < n; i++)
                ck_assert(page_intact(p, i) || page_zero(p, i));
        }
    }
    ps.stop = 1;
    pthread_join(t, NULL);
    fprintf(stderr, "check_reset: under pressure: %d undos intact, %d reported lost\n", ok,
            busy);
    VW_ASSERT_REGION(p, p, n * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    vw_release(p);
}
END_TEST

/* ---- DiscardVirtualMemory ------------------------------------------------ */

/* Item 2: DiscardVirtualMemory returns ERROR_SUCCESS; the pages stay committed
 * with their protection and usable; their contents are undefined (here: each
 * page intact or zero); pages outside the range are untouched. */
START_TEST(discard_ok)
{
    char *p = vw_alloc_commit(8 * PG, PAGE_READWRITE);
    fill(p, 0, 8);
    EXPECT_DW(DiscardVirtualMemory(p + 2 * PG, 4 * PG), ERROR_SUCCESS);
    VW_ASSERT_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    for (size_t i = 2; i < 6; i++)
        ck_assert(page_zero(p, i) || page_intact(p, i));
    ck_assert(page_intact(p, 0));
    ck_assert(page_intact(p, 1));
    ck_assert(page_intact(p, 6));
    ck_assert(page_intact(p, 7));
    ck_assert_int_eq(vw_can_write(p + 3 * PG), 1);
    p[3 * PG] = 5;
    ck_assert_int_eq(p[3 * PG], 5);
    /* A size that is not a page multiple is rounded up. */
    EXPECT_DW(DiscardVirtualMemory(p, PG + 1), ERROR_SUCCESS);
    vw_assert_range_agrees(p, 8 * PG);
    vw_release(p);
}
END_TEST

/* Item 2: Discard, Offer and Reclaim need a non-NULL page-aligned address,
 * size > 0, and committed pages inside one allocation: ERROR_INVALID_PARAMETER
 * otherwise (reserved pages, free memory, a range past the end); data and state
 * are untouched by the failures. */
START_TEST(discard_offer_reclaim_invalid)
{
    char *p = VirtualAlloc(NULL, 8 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(VirtualAlloc(p, 4 * PG, MEM_COMMIT, PAGE_READWRITE), p);
    fill(p, 0, 4);
    struct { char *a; size_t n; const char *what; } bad[] = {
        { NULL, PG, "NULL" },
        { p + 1, PG, "unaligned" },
        { p + PG / 2, PG, "unaligned (half page)" },
        { p, 0, "size 0" },
        { p + 4 * PG, PG, "reserved" },
        { p + 2 * PG, 4 * PG, "partly reserved" },
        { p, 9 * PG, "past the allocation" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        DWORD d = DiscardVirtualMemory(bad[i].a, bad[i].n);
        DWORD o = OfferVirtualMemory(bad[i].a, bad[i].n, VmOfferPriorityNormal);
        DWORD r = ReclaimVirtualMemory(bad[i].a, bad[i].n);
        ck_assert_msg(d == ERROR_INVALID_PARAMETER && o == ERROR_INVALID_PARAMETER &&
                          r == ERROR_INVALID_PARAMETER,
                      "%s: Discard %u, Offer %u, Reclaim %u, expected 87 each", bad[i].what,
                      (unsigned)d, (unsigned)o, (unsigned)r);
    }
    for (size_t i = 0; i < 4; i++)
        ck_assert(page_intact(p, i));
    VW_ASSERT_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 4 * PG, p, 4 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_release(p);
    /* Free (released) memory. */
    EXPECT_DW(DiscardVirtualMemory(p, PG), ERROR_INVALID_PARAMETER);
    EXPECT_DW(OfferVirtualMemory(p, PG, VmOfferPriorityLow), ERROR_INVALID_PARAMETER);
    EXPECT_DW(ReclaimVirtualMemory(p, PG), ERROR_INVALID_PARAMETER);
}
END_TEST

/* ---- OfferVirtualMemory / ReclaimVirtualMemory --------------------------- */

/* Item 2: every priority 1..4 is accepted; Reclaim with nothing reclaimed by the
 * system returns ERROR_SUCCESS and the contents are intact; state unchanged. */
START_TEST(offer_reclaim_intact)
{
    const size_t n = 8;
    char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
    static const OFFER_PRIORITY prios[] = { VmOfferPriorityVeryLow, VmOfferPriorityLow,
                                            VmOfferPriorityBelowNormal,
                                            VmOfferPriorityNormal };
    ck_assert_int_eq(VmOfferPriorityVeryLow, 1);
    ck_assert_int_eq(VmOfferPriorityNormal, 4);
    for (size_t k = 0; k < 4; k++) {
        fill(p, 0, n);
        EXPECT_DW(OfferVirtualMemory(p, n * PG, prios[k]), ERROR_SUCCESS);
        VW_ASSERT_REGION(p, p, n * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
        EXPECT_DW(ReclaimVirtualMemory(p, n * PG), ERROR_SUCCESS);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(page_intact(p, i), "priority %d: page %zu lost", (int)prios[k], i);
        VW_ASSERT_REGION(p, p, n * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    }
    vw_release(p);
}
END_TEST

/* Item 2: a priority outside 1..4: ERROR_INVALID_PARAMETER, nothing offered. */
START_TEST(offer_bad_priority)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    fill(p, 0, 4);
    EXPECT_DW(OfferVirtualMemory(p, 4 * PG, (OFFER_PRIORITY)0), ERROR_INVALID_PARAMETER);
    EXPECT_DW(OfferVirtualMemory(p, 4 * PG, (OFFER_PRIORITY)5), ERROR_INVALID_PARAMETER);
    EXPECT_DW(OfferVirtualMemory(p, 4 * PG, (OFFER_PRIORITY)-1), ERROR_INVALID_PARAMETER);
    /* Not offered, so a forced reclaim cannot drop the pages (no swap needed to
     * keep dirty anonymous pages: without swap they stay; with swap they come back). */
    force_reclaim(p, 4 * PG);
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(page_intact(p, i), "page %zu lost without being offered", i);
    vw_release(p);
}
END_TEST

/* Item 2: offered memory reclaimed by the system: ReclaimVirtualMemory returns
 * ERROR_BUSY (170); the memory is committed and usable again (it reads as zero
 * or as before, page by page); a reclaim of intact pages afterwards is
 * ERROR_SUCCESS once they have been rewritten and offered again. */
START_TEST(offer_reclaim_lost)
{
    const size_t n = 8;
    char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
    fill(p, 0, n);
    EXPECT_DW(OfferVirtualMemory(p, n * PG, VmOfferPriorityVeryLow), ERROR_SUCCESS);
    force_reclaim(p, n * PG);
    EXPECT_DW(ReclaimVirtualMemory(p, n * PG), ERROR_BUSY);
    ck_assert_uint_eq(ERROR_BUSY, 170);
    VW_ASSERT_REGION(p, p, n * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    for (size_t i = 0; i < n; i++)
        ck_assert(page_zero(p, i) || page_intact(p, i));
    ck_assert_int_eq(vw_can_write(p), 1);
    fill(p, 0, n);
    EXPECT_DW(OfferVirtualMemory(p, n * PG, VmOfferPriorityNormal), ERROR_SUCCESS);
    EXPECT_DW(ReclaimVirtualMemory(p, n * PG), ERROR_SUCCESS);
    for (size_t i = 0; i < n; i++)
        ck_assert(page_intact(p, i));
    vw_assert_range_agrees(p, n * PG);
    vw_release(p);
}
END_TEST

/* Item 2: loss of part of an offered range still makes the reclaim of the
 * whole range ERROR_BUSY, while a reclaim of only the intact part succeeds. */
START_TEST(offer_reclaim_partial_loss)
{
    const size_t n = 8;
    char *p = vw_alloc_commit(n * PG, PAGE_READWRITE);
    fill(p, 0, n);
    EXPECT_DW(OfferVirtualMemory(p, n * PG, VmOfferPriorityBelowNormal), ERROR_SUCCESS);
    force_reclaim(p + 6 * PG, PG);
    EXPECT_DW(ReclaimVirtualMemory(p, 4 * PG), ERROR_SUCCESS);
    for (size_t i = 0; i < 4; i++)
        ck_assert(page_intact(p, i));
    EXPECT_DW(ReclaimVirtualMemory(p, n * PG), ERROR_BUSY);
    ck_assert(page_zero(p, 6));
    vw_release(p);
}
END_TEST

/* ---- PrefetchVirtualMemory ---------------------------------------------- */

/* Item 2: WIN32_MEMORY_RANGE_ENTRY has the SDK layout; Prefetch of committed
 * ranges (and of ranges that are not mapped: a hint) returns TRUE, leaves the
 * last error alone and changes neither contents nor state. */
START_TEST(prefetch_ok)
{
    ck_assert_uint_eq(sizeof(WIN32_MEMORY_RANGE_ENTRY), 2 * sizeof(void *));
    ck_assert_uint_eq(offsetof(WIN32_MEMORY_RANGE_ENTRY, VirtualAddress), 0);
    ck_assert_uint_eq(offsetof(WIN32_MEMORY_RANGE_ENTRY, NumberOfBytes), sizeof(void *));

    char *p = vw_alloc_commit(16 * PG, PAGE_READWRITE);
    fill(p, 0, 16);
    char *r = VirtualAlloc(NULL, 4 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    WIN32_MEMORY_RANGE_ENTRY e[4] = {
        { p, 8 * PG },
        { p + 8 * PG + 10, 3 * PG },
        { r, 4 * PG },      /* reserved */
        { p + PG, 0 },      /* empty */
    };
    VW_EXPECT_OK(PrefetchVirtualMemory(GetCurrentProcess(), 1, e, 0));
    VW_EXPECT_OK(PrefetchVirtualMemory(GetCurrentProcess(), 4, e, 0));
    for (size_t i = 0; i < 16; i++)
        ck_assert(page_intact(p, i));
    VW_ASSERT_REGION(p, p, 16 * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    VW_ASSERT_REGION(r, r, 4 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_int_eq(vw_can_read(r), 0);
    vw_release(r);
    /* Released memory: still just a hint. */
    WIN32_MEMORY_RANGE_ENTRY f = { r, 4 * PG };
    VW_EXPECT_OK(PrefetchVirtualMemory(GetCurrentProcess(), 1, &f, 0));
    ck_assert_uint_eq(vw_query(r).State, MEM_FREE);
    vw_release(p);
}
END_TEST

/* Item 2: Prefetch with a NULL handle: ERROR_INVALID_HANDLE; Flags != 0, zero
 * entries or a NULL array: ERROR_INVALID_PARAMETER. */
START_TEST(prefetch_invalid)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    WIN32_MEMORY_RANGE_ENTRY e = { p, 4 * PG };
    VW_EXPECT_FAIL(PrefetchVirtualMemory(NULL, 1, &e, 0), ERROR_INVALID_HANDLE);
    VW_EXPECT_FAIL(PrefetchVirtualMemory(GetCurrentProcess(), 1, &e, 1), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(PrefetchVirtualMemory(GetCurrentProcess(), 1, &e, 0x80000000u),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(PrefetchVirtualMemory(GetCurrentProcess(), 0, &e, 0), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(PrefetchVirtualMemory(GetCurrentProcess(), 1, NULL, 0),
                   ERROR_INVALID_PARAMETER);
    vw_release(p);
}
END_TEST

static Suite *reset_suite(void)
{
    Suite *s = suite_create("reset");
    TCase *tc = tcase_create("reset");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, reset_undo_intact);
    tcase_add_test(tc, reset_ignores_protect_rounds);
    tcase_add_test(tc, reset_must_go_alone);
    tcase_add_test(tc, reset_outside_allocation);
    tcase_add_test(tc, reset_with_reserved_pages);
    tcase_add_test(tc, reset_undo_readonly);
    tcase_add_test(tc, reset_undo_noaccess_guard);
    tcase_add_test(tc, reset_reclaim_undo_fails);
    tcase_add_test(tc, reset_partial_loss_undo_fails);
    tcase_add_test(tc, reset_read_after_drop_undo_fails);
    tcase_add_test(tc, reset_reclaim_readonly_undo_fails);
    tcase_add_test(tc, reset_locked_pages_survive);
    tcase_add_test(tc, reset_rewrite_then_undo);
    tcase_add_test(tc, reset_undo_under_pressure);
    suite_add_tcase(s, tc);

    tc = tcase_create("discard_offer");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, discard_ok);
    tcase_add_test(tc, discard_offer_reclaim_invalid);
    tcase_add_test(tc, offer_reclaim_intact);
    tcase_add_test(tc, offer_bad_priority);
    tcase_add_test(tc, offer_reclaim_lost);
    tcase_add_test(tc, offer_reclaim_partial_loss);
    suite_add_tcase(s, tc);

    tc = tcase_create("prefetch");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, prefetch_ok);
    tcase_add_test(tc, prefetch_invalid);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reset_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
