/*
 * interpose.c: mmap, munmap, mprotect and mremap as the program sees them.
 *
 * These symbols are exported, so calls from the program and its libraries reach
 * them before libc's (when preloaded, or linked ahead of libc).  Calls that do
 * not touch memory the library tracks go straight to the kernel as one ip_raw
 * syscall, after one lookup that takes no lock (an optimistic read of the map,
 * core/mapread.c): a call on memory the library does not own never waits for
 * the map lock, so it works from a signal handler that interrupted any call.  Calls that do touch it are
 * carried out and the map follows, so VirtualQuery keeps agreeing with the
 * kernel and the allocations stay releasable:
 * - munmap: the pages leave their allocation and report MEM_FREE.  Inside an
 *   arena they are remapped PROT_NONE rather than unmapped (the arena must stay
 *   whole; PROT_NONE arena space is free space); elsewhere they are unmapped
 *   and the allocation is marked ALLOC_HOLES so that release touches only what
 *   is left.  Arena space no allocation uses is already free: nothing to do.
 * - mprotect: Protect follows; reserved pages made accessible become committed.
 *   Unallocated arena space is unmapped memory to the program: ENOMEM.
 * - mmap with MAP_FIXED over tracked or arena space: the new mapping is the
 *   caller's; the pages leave their allocations, which are marked
 *   ALLOC_HOLES, and the arena granules are retired for good.
 * - mmap with MAP_FIXED_NOREPLACE or an address hint over arena space the map
 *   calls free: the program may map there (spec: that space is free as far as
 *   it can tell), so the arena gives the space up (retired, as for MAP_FIXED)
 *   and the mapping is placed there with MAP_FIXED.  If any page of the range
 *   is a library allocation, or something else is mapped in the rest of it, the
 *   call goes to the kernel as given (EEXIST, or a place of its choosing).
 * - mremap: what moved is tracked where it went (a new allocation with the
 *   same runs), what was given up leaves its allocation, and a hole it leaves
 *   in an arena is filled again with PROT_NONE space.  With MREMAP_DONTUNMAP
 *   the kernel keeps the old range mapped (same protection, emptied pages that
 *   read zero, mlock dropped), so it stays in its allocation as it was.  The
 *   kernel moves mlock with the pages (and locks growth): so does the map.
 * madvise is not interposed: no advice changes what Windows would report.
 * No malloc, no dlsym, no recursion (the library's own calls are ip_raw syscalls).
 */
#include "core/vw.h"
#include "core/vm.h"
#include "os/os.h"
#include "core/space.h"
#include "os/faultinject.h"
#include "core/vm_section.h"
#include "preload/interpose.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The view record of the allocation whose pieces are leaving (0: not a
 * view): the allocation's last piece comes right before its `emptied`. */
static uint32_t leaving_view;

/* Accounting for pages leaving the map. */
static void count_removed(const struct vw_run *piece, void *ctx)
{
    (void)ctx;
    leaving_view = piece->kind == VM_KIND_VIEW ? (uint32_t)piece->ext : 0;
    size_t n = piece->end - piece->start;
    if (piece->state == RUN_COMMITTED)
        vw_state.committed -= n;
    if (piece->flags & RUN_LOCKED)
        vw_state.locked -= n;
    if (piece->kind == VM_KIND_WRITE_WATCH)
        vm_watch_removed_locked(piece);
    vw_awe_pages_gone_locked(piece);   /* AWE frames mapped there: unmapped */
}

/* An allocation lost its last page: its arena granules are free again
 * (retired ones excepted: someone else's mapping is there). */
static void release_emptied(uintptr_t base, uintptr_t end, uint16_t flags, void *ctx)
{
    (void)ctx;
    (void)flags;
    vm_watch_emptied_locked(base);
    space_free_granules(base, end - base);
    vm_view_forget_locked(leaving_view);   /* a view the program unmapped whole */
    leaving_view = 0;
}

const struct rm_remove_ops ip_remove_ops = { count_removed, release_emptied, NULL };

/* Sets alloc_flags bits on every allocation whose span intersects [start,
 * end): a range inside a hole of an allocation counts (its release must not
 * touch what is now there). */
void ip_mark_allocs_locked(uintptr_t start, uintptr_t end, uint16_t flags)
{
    struct vw_run *r = rm_find_from(&vw_state.map, start);
    struct vw_run *p = r ? rm_prev(r) : NULL;
    if (p && rm_alloc_end(p) > start)
        rm_mark_alloc(p, flags);
    while (r && r->alloc_base < end) {
        uintptr_t base = r->alloc_base;
        rm_mark_alloc(r, flags);
        while (r && r->alloc_base == base)
            r = rm_next(r);
    }
}

/* 1 if [start, end) holds pages of an AWE window. */
int ip_awe_window_inside_locked(uintptr_t start, uintptr_t end)
{
    for (struct vw_run *r = rm_find_from(&vw_state.map, start); r && r->start < end; r = rm_next(r))
        if (r->kind == VM_KIND_PHYSICAL)
            return 1;
    return 0;
}

/* 1 if some arena space in [start, end) is free (in no allocation's runs and
 * not retired): the program sees nothing mapped there. */
int ip_arena_free_inside_locked(uintptr_t start, uintptr_t end)
{
    uintptr_t cur = start, stop;
    for (; cur < end; cur = stop) {
        if (space_piece(cur, end, &stop) != SPACE_ARENA)
            continue;
        struct vw_run *r = rm_find_from(&vw_state.map, cur);
        for (uintptr_t c = cur; c < stop; r = rm_next(r)) {
            if (!r || r->start > c)
                return 1;
            c = r->end;
        }
    }
    return 0;
}

/* Someone else's mapping now covers [start, end) in arena space: retire the
 * granules it touches, and unmap the rest of those granules that no
 * allocation uses, so that retired space looks like any space outside the
 * arenas (free where nothing is mapped, reservable again later). */
void ip_retire_locked(uintptr_t start, uintptr_t end)
{
    uintptr_t g0 = start & ~(VW_GRANULE - 1), g1 = (end + VW_GRANULE - 1) & ~(VW_GRANULE - 1);
    for (uintptr_t g = g0; g < g1; g += VW_GRANULE) {
        uintptr_t e = 0;
        if (space_stretch(g, &e) != SPACE_ARENA)
            continue;
        /* Pieces of the granule outside [start, end) and outside every run. */
        uintptr_t cur = g, gend = g + VW_GRANULE;
        while (cur < gend) {
            if (cur >= start && cur < end) {
                cur = end < gend ? end : gend;
                continue;
            }
            uintptr_t stop = cur < start && start < gend ? start : gend;
            struct vw_run *r = rm_find_from(&vw_state.map, cur);
            if (r && r->start <= cur) {
                cur = r->end < stop ? r->end : stop;
                continue;
            }
            uintptr_t hole_end = r && r->start < stop ? r->start : stop;
            os_unmap(cur, hole_end - cur);
            cur = hole_end;
        }
    }
    space_retire(start, end - start);
}

long ip_fail_errno(int e)
{
    errno = e;
    return -1;
}

/* Every call the interposers pass on moves the access generation on (os.h),
 * but an mmap that cannot replace anything. */
long ip_raw(long nr, long a, long b, long c, long d, long e, long f)
{
    long r = syscall(nr, a, b, c, d, e, f);
    if (nr != SYS_mmap || (d & MAP_FIXED))
        os_access_changed();
    return r;
}

/* The kernel step of a call on the library's memory (map lock held): the
 * fault-injection build can fail it or run a test's function there. */
long ip_raw_locked(long nr, long a, long b, long c, long d, long e, long f)
{
#ifdef VW_FAULT_INJECTION
    int err = vw_fault_hit();
    if (err)
        return ip_fail_errno(err);
#endif
    return ip_raw(nr, a, b, c, d, e, f);
}

/* ---- munmap ------------------------------------------------------------- */

VW_API int munmap(void *addr, size_t len)
{
    uintptr_t start = (uintptr_t)addr;
    vw_init_page();
    if ((start & (vw_page() - 1)) || len == 0 || start + len < start)
        return (int)ip_raw(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
    uintptr_t end = page_ceil(start + len);
    if (!rm_read_touches(&vw_state.map, start, end))   /* no lock: see the top */
        return (int)ip_raw(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
    if (!map_lock_unless_mine())   /* in a handler that interrupted our change */
        return (int)ip_fail_errno(ENOMEM);

    if (!vw_touches_library_locked(start, end)) {
        map_unlock();
        return (int)ip_raw(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
    }
    /* Kernel side, stretch by stretch: in arena space, pages of allocations are
     * remapped PROT_NONE (the arena stays whole) and free space is left alone;
     * outside the arenas, and in retired arena space (where someone else's
     * mapping already made a hole), the pages are unmapped. */
    uintptr_t e;
    int err = 0;
    uintptr_t done = end;   /* the kernel changed [start, done) */
    for (uintptr_t cur = start; cur < end && !err; cur = e) {
        if (space_piece(cur, end, &e) != SPACE_ARENA) {
            /* Outside the arenas, or retired arena space: really unmapped. */
            if ((err = os_unmap(cur, e - cur)) != 0) {
                done = cur;
                break;
            }
            ip_mark_allocs_locked(cur, e, ALLOC_HOLES);
            continue;
        }
        /* One remap from the first run to the end of the last in this arena
         * stretch: what lies between is arena space already PROT_NONE (free,
         * or a hole of ours), and one step is all or nothing. */
        struct vw_run *r = rm_find_from(&vw_state.map, cur), *last = NULL;
        for (struct vw_run *q = r; q && q->start < e; q = rm_next(q))
            last = q;
        if (last) {
            uintptr_t a = r->start > cur ? r->start : cur;
            uintptr_t b = last->end < e ? last->end : e;
            if ((err = os_decommit(a, b - a)) != 0) {
                done = cur;   /* (a refused remap changes nothing) */
                break;
            }
        }
    }
    /* The kernel refused a step (vm.max_map_count): the map keeps what the
     * kernel kept, and the caller gets the kernel's error. */
    if (done > start) {
        struct rm_spares sp = { { NULL, NULL } };
        rm_remove_range(&vw_state.map, &sp, start, done, &ip_remove_ops);
        rm_spare_put(&vw_state.map, &sp);
    }
    map_unlock();
    if (err)
        return (int)ip_fail_errno(err);
    return 0;
}

/* ---- mprotect ----------------------------------------------------------- */

VW_API int mprotect(void *addr, size_t len, int prot)
{
    uintptr_t start = (uintptr_t)addr;
    vw_init_page();
    if ((start & (vw_page() - 1)) || start + len < start || len == 0)
        return (int)ip_raw(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, 0);
    uintptr_t end = page_ceil(start + len);
    if (!rm_read_touches(&vw_state.map, start, end))
        return (int)ip_raw(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, 0);
    if (!map_lock_unless_mine())   /* in a handler that interrupted our change */
        return (int)ip_fail_errno(ENOMEM);

    if (!vw_touches_library_locked(start, end)) {
        map_unlock();
        return (int)ip_raw(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, 0);
    }
    if (ip_arena_free_inside_locked(start, end)) {
        map_unlock();
        return (int)ip_fail_errno(ENOMEM);   /* free to the program: not mapped */
    }
    int err = os_protect(start, end - start, prot);
    if (err) {
        vw_restore_protection_locked(start, end);
        map_unlock();
        return (int)ip_fail_errno(err);
    }
    DWORD winprot = (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) ? prot_from_linux(prot) : 0;
    struct vw_run *r = rm_find_from(&vw_state.map, start);
    while (r && r->start < end) {
        uintptr_t base = r->alloc_base, a_end = rm_alloc_end(r);
        uintptr_t a = r->start > start ? r->start : start;
        uintptr_t b = a_end < end ? a_end : end;
        struct rm_spares sp = { { NULL, NULL } };
        if (rm_spare_get(&vw_state.map, &sp, 2) == 0) {
            if (winprot) {
                struct rm_summary s;
                rm_summarize(&vw_state.map, a, b, &s);
                rm_set_range(&vw_state.map, &sp, a, b, RUN_COMMITTED,
                             (uint16_t)prot_effective(winprot, r->alloc_protect), 0, 0);
                vw_state.committed += s.reserved_bytes;
            } else {
                /* Committed pages become NOACCESS; reserved ones stay reserved. */
                for (struct vw_run *q = rm_find_from(&vw_state.map, a); q && q->start < b;) {
                    uintptr_t qa = q->start > a ? q->start : a;
                    uintptr_t qb = q->end < b ? q->end : b;
                    if (q->state == RUN_COMMITTED) {
                        rm_set_range(&vw_state.map, &sp, qa, qb, 0, PAGE_NOACCESS, 0, 0);
                        if (rm_spare_get(&vw_state.map, &sp, 2))
                            break;
                    }
                    q = rm_find_from(&vw_state.map, qb);
                }
            }
        }
        rm_spare_put(&vw_state.map, &sp);
        r = rm_find_from(&vw_state.map, b);
        while (r && r->alloc_base == base)
            r = rm_next(r);
    }
    vm_watch_program_protected_locked(start, end, prot);
    map_unlock();
    return 0;
}

/* ---- mmap ----------------------------------------------------------------- */


/* Unmaps the pieces of [start, stop) outside arena space (the probes below). */
static void unmap_outside_locked(uintptr_t start, uintptr_t stop)
{
    uintptr_t e;
    for (uintptr_t cur = start; cur < stop; cur = e)
        if (space_piece(cur, stop, &e) != SPACE_ARENA)
            os_unmap(cur, e - cur);
}

/* MAP_FIXED_NOREPLACE or a hint at [start, end), which holds arena space: if
 * that space is free to the program (no allocation's pages anywhere in the
 * range, nothing mapped in its pieces outside the arenas), maps there with
 * MAP_FIXED, gives the arena space up and returns 1 with the kernel's result
 * in *res.  Otherwise returns 0 having changed nothing: the caller passes the
 * call on as given (the arena's own reservation makes NOREPLACE fail with
 * EEXIST and moves a hint elsewhere, as any mapping there would). */
static int map_into_free_arena(uintptr_t start, uintptr_t end, size_t len, int prot, int flags,
                               int fd, off_t off, long *res)
{
    if (!map_lock_unless_mine())   /* in a handler that interrupted our change: */
        return 0;                   /* the kernel as asked (EEXIST, or elsewhere) */

    struct vw_run *r = rm_find_from(&vw_state.map, start);
    if ((r && r->start < end) || !ip_arena_free_inside_locked(start, end)) {
        map_unlock();
        return 0;
    }
    if (os_headroom()) {   /* vm.max_map_count: the library's releases come first */
        map_unlock();
        if (!(flags & MAP_FIXED_NOREPLACE))
            return 0;
        *res = ip_fail_errno(ENOMEM);
        return 1;
    }
    /* Pieces outside the arenas (or retired) must be unmapped, as the kernel
     * checks: claimed PROT_NONE first, so nothing can be replaced there. */
    uintptr_t e;
    for (uintptr_t cur = start; cur < end; cur = e) {
        uintptr_t at = cur;
        if (space_piece(cur, end, &e) != SPACE_ARENA && os_reserve(&at, e - cur, 1)) {
            unmap_outside_locked(start, cur);
            map_unlock();
            return 0;
        }
    }
    long m = ip_raw_locked(SYS_mmap, (long)start, (long)len, prot,
                        (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, fd, (long)off);
    if (m == -1) {
        int err = errno;
        ip_refill_arena_locked(start, end);   /* if the kernel unmapped before failing */
        unmap_outside_locked(start, end);
        map_unlock();
        *res = ip_fail_errno(err);
        return 1;
    }
    /* The program's mapping: never handed out again, and an allocation whose
     * hole it fills must release around it. */
    ip_mark_allocs_locked(start, end, ALLOC_HOLES);
    ip_retire_locked(start, end);
    map_unlock();
    *res = m;
    return 1;
}

static void *mmap_impl(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    uintptr_t start = (uintptr_t)addr;
    vw_init_page();
    if (len == 0 || (start & (vw_page() - 1)) || start + len < start)
        return (void *)ip_raw(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
    uintptr_t end = page_ceil(start + len);
    if ((flags & MAP_FIXED_NOREPLACE) || (!(flags & MAP_FIXED) && start)) {
        long res;
        if (end > start && rm_read_touches(&vw_state.map, start, end) &&
            map_into_free_arena(start, end, len, prot, flags, fd, off, &res))
            return (void *)res;
        return (void *)ip_raw(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
    }
    if (!(flags & MAP_FIXED))
        return (void *)ip_raw(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
    if (!rm_read_touches(&vw_state.map, start, end))
        return (void *)ip_raw(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
    if (!map_lock_unless_mine())   /* in a handler that interrupted our change */
        return (void *)ip_fail_errno(ENOMEM);

    if (!vw_touches_library_locked(start, end)) {
        map_unlock();
        return (void *)ip_raw(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
    }
    long r = ip_raw_locked(SYS_mmap, (long)addr, (long)len, prot, flags, fd, (long)off);
    if (r != -1) {
        /* The caller replaced our memory: it leaves the map, and the arena
         * space under it is never handed out again. */
        ip_mark_allocs_locked(start, end, ALLOC_HOLES);
        ip_retire_locked(start, end);
        struct rm_spares sp = { { NULL, NULL } };
        rm_remove_range(&vw_state.map, &sp, start, end, &ip_remove_ops);
        rm_spare_put(&vw_state.map, &sp);
    }
    map_unlock();
    return (void *)r;
}

VW_API void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap_impl(addr, len, prot, flags, fd, off);
}

VW_API void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap_impl(addr, len, prot, flags, fd, off);
}
