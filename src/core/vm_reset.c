/*
 * vm_reset.c: the VM core's "contents no longer matter" and "contents back,
 * please": MEM_RESET and MEM_RESET_UNDO (spec section 4), and the work of
 * DiscardVirtualMemory, OfferVirtualMemory / ReclaimVirtualMemory and
 * PrefetchVirtualMemory (whose Win32 edge is win32/reset.c).
 *
 * Reset and offer use MADV_FREE: the kernel may drop the pages under memory
 * pressure instead of swapping them, and keeps them (and their contents) until
 * then; MADV_DONTNEED where the kernel lacks MADV_FREE.  Locked pages are left
 * alone (Linux refuses both advices on them, and Windows keeps them resident).
 *
 * Undo and reclaim are honest: a page survived only if it is still mapped
 * (pagemap's present bit) and writing to it -- which is what cancels the lazy
 * free -- did not fault a fresh page in.  The write is a locked OR of zero into
 * one byte (vw_touch_write), so contents never change; the fault check counts this thread's
 * minor faults around the writes, so a page dropped between the check and the
 * write is caught too.  A page that was never touched before the reset reads
 * as zero either way but cannot be told apart from a dropped one: it counts as
 * lost, so success is never reported for lost data, at the price of a rare
 * needless failure.  For the same reason a page that reads as all zeros after
 * the undo's write counts as lost: some kernels (6.18 seen) refill a dropped
 * page on a read fault with a fresh, exclusive zeroed page, which pagemap and
 * the fault count cannot tell from the original.
 */
#include "core/vw.h"
#include "os/os.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#define PM_PRESENT ((uint64_t)1 << 63)
/* Mapped only here.  The shared zero page, which a read of a dropped page maps,
 * never has it: "present" alone would take it for the lost data. */
#define PM_MMAP_EXCLUSIVE ((uint64_t)1 << 56)

/* Finds the allocation run holding [start, end) or fails like VirtualAlloc. */
static struct vw_run *range_run_locked(uintptr_t start, uintptr_t end)
{
    struct vw_run *r = rm_find(&vw_state.map, start);
    return r && end <= rm_alloc_end(r) ? r : NULL;
}

/* Sets (mask, value) flags on the committed runs of [start, end), or only the
 * unlocked ones. */
static void flag_committed_locked(uintptr_t start, uintptr_t end, int unlocked_only,
                                  uint8_t mask, uint8_t value)
{
    uintptr_t cur = start;
    while (cur < end) {
        struct vw_run *r = rm_find_from(&vw_state.map, cur);
        if (!r || r->start >= end)
            break;
        uintptr_t a = r->start > cur ? r->start : cur;
        uintptr_t b = r->end < end ? r->end : end;
        if (r->state == RUN_COMMITTED && !(unlocked_only && (r->flags & RUN_LOCKED)) &&
            (r->flags & mask) != (value & mask)) {
            struct rm_spares sp = { { NULL, NULL } };
            if (rm_spare_get(&vw_state.map, &sp, 2) == 0)
                rm_set_range(&vw_state.map, &sp, a, b, 0, RM_KEEP_PROTECT, mask, value);
            rm_spare_put(&vw_state.map, &sp);
        }
        cur = b;
    }
}

/* Applies `advice` to the committed, unlocked pages of [start, end); with
 * MADV_FREE they become RUN_RESET (droppable until an undo). */
static void advise_committed_locked(uintptr_t start, uintptr_t end, int advice)
{
    for (struct vw_run *r = rm_find(&vw_state.map, start); r && r->start < end; r = rm_next(r)) {
        if (r->state != RUN_COMMITTED || (r->flags & RUN_LOCKED))
            continue;
        uintptr_t a = r->start > start ? r->start : start;
        uintptr_t b = r->end < end ? r->end : end;
        if (os_advise(a, b - a, advice) == EINVAL && advice == MADV_FREE)
            os_advise(a, b - a, MADV_DONTNEED);
    }
    if (advice == MADV_FREE)
        flag_committed_locked(start, end, 1, RUN_RESET | RUN_LOST, RUN_RESET);
}

DWORD vw_reset(uintptr_t addr, size_t size)
{
    uintptr_t start = page_floor(addr), end = page_ceil(addr + size);
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return ERROR_POSSIBLE_DEADLOCK;
    if (!range_run_locked(start, end)) {
        map_unlock();
        return ERROR_INVALID_ADDRESS;
    }
    advise_committed_locked(start, end, MADV_FREE);
    map_unlock();
    return 0;
}

static long minor_faults(void)
{
    struct rusage ru;
    if (syscall(SYS_getrusage, RUSAGE_THREAD, &ru) != 0)
        return -1;
    return ru.ru_minflt;
}

/* 1 if every page of [a, b) is present with a page of its own, reading
 * /proc/self/pagemap (a page shared after fork counts as not: a needless
 * failure at worst, never a false success). */
static int all_present(int fd, uintptr_t a, uintptr_t b)
{
    uint64_t ent[512];
    uintptr_t pg = vw_page();
    while (a < b) {
        size_t n = (b - a) / pg;
        if (n > 512)
            n = 512;
        long got = os_pread(fd, ent, n * sizeof ent[0], (long)(a / pg * sizeof ent[0]));
        if (got != (long)(n * sizeof ent[0]))
            return 0;
        for (size_t i = 0; i < n; i++)
            if ((ent[i] & (PM_PRESENT | PM_MMAP_EXCLUSIVE)) != (PM_PRESENT | PM_MMAP_EXCLUSIVE))
                return 0;
        a += n * pg;
    }
    return 1;
}

/* 1 if the page at p reads as zeros.  Some kernels refill a dropped page on a
 * read fault with a fresh zeroed page of its own (not the shared zero page), so
 * neither pagemap nor the fault count can tell it from the original: a page of
 * zeros counts as lost, as a page never written before the reset already does. */
static int page_all_zero(const uint64_t *p)
{
    for (size_t i = 0; i < vw_page() / sizeof *p; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Cancels the lazy free of [a, b) by writing to every page; returns 0 if all
 * pages were intact, 1 if any was lost.  Needs the lock; temporarily makes
 * non-writable pages writable. */
static int undo_range_locked(int fd, uintptr_t a, uintptr_t b, const struct vw_run *r)
{
    int lost = !all_present(fd, a, b);
    DWORD prot = r->protect;
    int writable = !(prot & PAGE_GUARD) &&
                   ((prot & 0xFF) == PAGE_READWRITE || (prot & 0xFF) == PAGE_EXECUTE_READWRITE);
    /* Keep PROT_EXEC: another thread may be running code on these pages. */
    if (!writable && os_protect(a, b - a, prot_to_linux(prot) | PROT_READ | PROT_WRITE) != 0)
        return 1;
    long before = minor_faults();
    for (uintptr_t p = a; p < b; p += vw_page())
        vw_touch_write((volatile unsigned char *)p);
    long after = minor_faults();
    int zeroed = 0;
    for (uintptr_t p = a; p < b && !zeroed; p += vw_page())
        zeroed = page_all_zero((const uint64_t *)p);
    if (!writable)
        vw_protect_back(a, b - a, prot_to_linux(prot));
    return lost || zeroed || before < 0 || after != before;
}

/* The undo of MEM_RESET / OfferVirtualMemory over committed pages: 0 if every
 * byte is intact, 1 if some page lost its contents, -1 if the check could not
 * be made.  Needs the lock. */
static int undo_locked(uintptr_t start, uintptr_t end)
{
    int fd = os_open_ro("/proc/self/pagemap");
    if (fd < 0)
        return -1;
    int lost = 0;
    /* Locked runs too: pages locked after the reset are still droppable once
     * unlocked, and RUN_LOST remembers a drop that mlock has since refilled. */
    for (struct vw_run *r = rm_find(&vw_state.map, start); r && r->start < end; r = rm_next(r)) {
        if (r->state != RUN_COMMITTED)
            continue;
        uintptr_t a = r->start > start ? r->start : start;
        uintptr_t b = r->end < end ? r->end : end;
        lost |= !!(r->flags & RUN_LOST);
        lost |= undo_range_locked(fd, a, b, r);
    }
    os_close(fd);
    flag_committed_locked(start, end, 0, RUN_RESET | RUN_LOST, 0);
    return lost;
}

void vw_note_lost_pages_locked(uintptr_t start, uintptr_t end)
{
    int fd = -1;
    uintptr_t cur = start;
    while (cur < end) {
        struct vw_run *r = rm_find_from(&vw_state.map, cur);
        if (!r || r->start >= end)
            break;
        uintptr_t a = r->start > cur ? r->start : cur;
        uintptr_t b = r->end < end ? r->end : end;
        cur = b;
        if (r->state != RUN_COMMITTED || !(r->flags & RUN_RESET) || (r->flags & RUN_LOST))
            continue;
        if (fd < 0 && (fd = os_open_ro("/proc/self/pagemap")) < 0)
            return;
        if (!all_present(fd, a, b))
            flag_committed_locked(a, b, 0, RUN_LOST, RUN_LOST);
    }
    if (fd >= 0)
        os_close(fd);
}

DWORD vw_reset_undo(uintptr_t addr, size_t size)
{
    uintptr_t start = page_floor(addr), end = page_ceil(addr + size);
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return ERROR_POSSIBLE_DEADLOCK;
    if (!range_run_locked(start, end)) {
        map_unlock();
        return ERROR_INVALID_ADDRESS;
    }
    int lost = undo_locked(start, end);
    map_unlock();
    /* Windows says only that the call fails when data was lost; ERROR_BUSY is
     * what ReclaimVirtualMemory reports for the same condition. */
    return lost ? ERROR_BUSY : 0;
}

/* Validation shared by Discard, Offer and Reclaim: a non-empty page-aligned
 * range of committed pages inside one allocation. */
static DWORD committed_range_locked(uintptr_t addr, size_t size)
{
    if (!addr || !size || (addr & (vw_page() - 1)) || vw_range_invalid(addr, size))
        return ERROR_INVALID_PARAMETER;
    uintptr_t end = page_ceil(addr + size);
    if (!range_run_locked(addr, end))
        return ERROR_INVALID_PARAMETER;
    struct rm_summary s;
    rm_summarize(&vw_state.map, addr, end, &s);
    return s.any_reserved || s.any_hole ? ERROR_INVALID_PARAMETER : 0;
}

DWORD vm_discard(uintptr_t addr, size_t size, int offer)
{
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return ERROR_POSSIBLE_DEADLOCK;
    DWORD err = committed_range_locked(addr, size);
    if (!err)
        advise_committed_locked(addr, page_ceil(addr + size), offer ? MADV_FREE : MADV_DONTNEED);
    map_unlock();
    return err;
}

DWORD vm_reclaim(uintptr_t addr, size_t size)
{
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return ERROR_POSSIBLE_DEADLOCK;
    DWORD err = committed_range_locked(addr, size);
    if (!err && undo_locked(addr, page_ceil(addr + size)))
        err = ERROR_BUSY;   /* reclaimed, but the contents were discarded */
    map_unlock();
    return err;
}

void vm_prefetch(uintptr_t addr, size_t size)
{
    if (size && !vw_range_invalid(addr, size))
        os_advise(page_floor(addr), page_ceil(addr + size) - page_floor(addr), MADV_WILLNEED);
}
