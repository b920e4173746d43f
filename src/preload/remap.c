/*
 * remap.c: mremap as the program sees it (the other interposers are in
 * interpose.c, whose overview says what the map does for each; this file
 * keeps the mremap part of it).  A move is carried out by the kernel with the
 * map lock held; then what moved is tracked where it went (a new allocation
 * with the same runs, up to MAX_SNAP of them), what was given up leaves its
 * allocation, and a hole the move leaves in an arena is filled again with
 * PROT_NONE space.  With MREMAP_DONTUNMAP the old range stays mapped and
 * stays in its allocation; the kernel moves mlock with the pages (and locks
 * growth), and so does the map.
 */
#include "core/vw.h"
#include "core/vm.h"
#include "os/os.h"
#include "core/space.h"
#include "core/vm_section.h"
#include "preload/interpose.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* ---- mremap --------------------------------------------------------------- */

#define MAX_SNAP 32

/* The runs of [start, end) before the move, relative to start. */
struct snapshot {
    size_t n;
    struct vw_run run[MAX_SNAP];
};

static void take_snapshot_locked(uintptr_t start, uintptr_t end, struct snapshot *sn)
{
    sn->n = 0;
    for (struct vw_run *r = rm_find_from(&vw_state.map, start); r && r->start < end;
         r = rm_next(r)) {
        struct vw_run c = *r;
        c.start = c.start > start ? c.start : start;
        c.end = c.end < end ? c.end : end;
        if (sn->n == MAX_SNAP) {
            sn->run[MAX_SNAP - 1].end = c.end;   /* coarser, never lost */
            continue;
        }
        sn->run[sn->n++] = c;
    }
}

/* Fills a hole the kernel just made in an arena with PROT_NONE space again.
 * If the kernel refuses, the hole is retired: space outside the arena from
 * then on (claimed with MAP_FIXED_NOREPLACE like any), never taken for
 * PROT_NONE arena space that is not there. */
void ip_refill_arena_locked(uintptr_t start, uintptr_t end)
{
    uintptr_t e;
    for (uintptr_t cur = start; cur < end; cur = e) {
        uintptr_t at = cur;
        int err = space_piece(cur, end, &e) == SPACE_ARENA ? os_reserve(&at, e - cur, 1) : 0;
        if (err && err != EEXIST)   /* EEXIST: the arena's space is still there */
            space_retire(cur, e - cur);
    }
}

/* Pages [start, end) left the process at the kernel's hands: update the map. */
static void vacated_locked(uintptr_t start, uintptr_t end)
{
    uintptr_t e;
    if (space_piece(start, end, &e) != SPACE_ARENA || e < end)
        ip_mark_allocs_locked(start, end, ALLOC_HOLES);
    ip_refill_arena_locked(start, end);
    struct rm_spares sp = { { NULL, NULL } };
    rm_remove_range(&vw_state.map, &sp, start, end, &ip_remove_ops);
    rm_spare_put(&vw_state.map, &sp);
}

/* MREMAP_DONTUNMAP kept [start, end) mapped: its pages stay in their
 * allocations as they were (the kernel keeps the protection; contents read
 * zero, which a committed page may), but the kernel drops mlock there. */
static void kept_unlocked_locked(uintptr_t start, uintptr_t end)
{
    for (struct vw_run *r = rm_find_from(&vw_state.map, start); r && r->start < end;) {
        uintptr_t a = r->start > start ? r->start : start;
        uintptr_t b = r->end < end ? r->end : end;
        if (r->flags & RUN_LOCKED) {
            struct rm_spares sp = { { NULL, NULL } };
            if (rm_spare_get(&vw_state.map, &sp, 2) == 0) {
                rm_set_range(&vw_state.map, &sp, a, b, 0, RM_KEEP_PROTECT, RUN_LOCKED, 0);
                vw_state.locked -= b - a;
            }
            rm_spare_put(&vw_state.map, &sp);
        }
        r = rm_find_from(&vw_state.map, b);
    }
}

/* Records [base, base+len) as a new allocation shaped like the snapshot. */
static void track_moved_locked(uintptr_t base, size_t len, uintptr_t old, const struct snapshot *sn)
{
    uintptr_t end = base + len;
    /* Moved into a hole the program cut in an allocation (its span): an
     * allocation inside another's would break "one base, one span"; the
     * pages are the program's there, described from the kernel. */
    if (rm_span_overlaps(&vw_state.map, base, end)) {
        ip_retire_locked(base, end);
        return;
    }
    for (size_t i = 0; i < sn->n; i++) {
        struct vw_run c = sn->run[i];
        uintptr_t a = base + (c.start - old), b = base + (c.end - old);
        if (i + 1 == sn->n)
            b = end;   /* growth takes the last run's state */
        if (a >= end)
            break;
        if (b > end)
            b = end;
        c.start = a;
        c.end = b;
        c.alloc_base = base;
        rm_set_alloc_end(&c, end);
        /* The kernel moves mlock with the pages and locks what the move
         * grew (with MREMAP_DONTUNMAP too, on the new range); reset state
         * does not follow (the moved pages are ordinary again). */
        c.flags &= RUN_LOCKED;
        if (c.kind == VM_KIND_WRITE_WATCH)
            vm_watch_moved_locked(&c);   /* nor a userfaultfd registration: unwatched */
        struct rm_spares sp = { { NULL, NULL } };
        if (rm_spare_get(&vw_state.map, &sp, 1) == 0) {
            rm_insert_run(&vw_state.map, &sp, &c);
            if (c.state == RUN_COMMITTED)
                vw_state.committed += b - a;
            if (c.flags & RUN_LOCKED)
                vw_state.locked += b - a;
        }
        rm_spare_put(&vw_state.map, &sp);
    }
    ip_retire_locked(base, base + len);   /* arena space it may have been moved into */
}

VW_API void *mremap(void *old_address, size_t old_size, size_t new_size, int flags, ...)
{
    void *new_address = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        new_address = va_arg(ap, void *);
        va_end(ap);
    }
    uintptr_t old = (uintptr_t)old_address;
    vw_init_page();
    if ((old & (vw_page() - 1)) || old + old_size < old)
        return (void *)ip_raw(SYS_mremap, (long)old_address, (long)old_size, (long)new_size, flags,
                           (long)new_address, 0);
    uintptr_t old_end = page_ceil(old + old_size);
    uintptr_t fix = (uintptr_t)new_address, fix_end = page_ceil(fix + new_size);
    if (!(old_size && rm_read_touches(&vw_state.map, old, old_end)) &&
        !((flags & MREMAP_FIXED) && rm_read_touches(&vw_state.map, fix, fix_end)))
        return (void *)ip_raw(SYS_mremap, (long)old_address, (long)old_size, (long)new_size, flags,
                           (long)new_address, 0);
    if (!map_lock_unless_mine())   /* in a handler that interrupted our change */
        return (void *)ip_fail_errno(ENOMEM);

    int touches_old = old_size && vw_touches_library_locked(old, old_end);
    int touches_new = (flags & MREMAP_FIXED) && vw_touches_library_locked(fix, fix_end);
    if (!touches_old && !touches_new) {
        map_unlock();
        return (void *)ip_raw(SYS_mremap, (long)old_address, (long)old_size, (long)new_size, flags,
                           (long)new_address, 0);
    }
    if (touches_old && ip_arena_free_inside_locked(old, old_end)) {
        map_unlock();
        return (void *)ip_fail_errno(EFAULT);   /* not mapped, as the program sees it */
    }
    if (touches_old && ip_awe_window_inside_locked(old, old_end)) {
        map_unlock();
        return (void *)ip_fail_errno(EINVAL);   /* AWE frames do not move: nothing changed */
    }
    struct snapshot sn;
    take_snapshot_locked(old, old_end, &sn);
    long r = ip_raw_locked(SYS_mremap, (long)old_address, (long)old_size, (long)new_size, flags,
                        (long)new_address, 0);
    if (r == -1) {
        int e = errno;
        map_unlock();
        errno = e;
        return MAP_FAILED;
    }
    /* A view moved (or copied) keeps its record for the new allocation. */
    if (sn.n && sn.run[0].kind == VM_KIND_VIEW && (uintptr_t)r != old)
        vm_view_hold_locked((uint32_t)sn.run[0].ext);
    uintptr_t res = (uintptr_t)r, new_end = page_ceil(res + new_size);
    if (touches_new) {
        /* The target's old contents were replaced. */
        ip_mark_allocs_locked(fix, fix_end, ALLOC_HOLES);
        struct rm_spares sp = { { NULL, NULL } };
        rm_remove_range(&vw_state.map, &sp, fix, fix_end, &ip_remove_ops);
        rm_spare_put(&vw_state.map, &sp);
    }
    if (!touches_old) {
        ip_retire_locked(fix, fix_end);
    } else if (res == old) {
        if (new_end < old_end) {
            vacated_locked(new_end, old_end);
        } else if (new_end > old_end && sn.n) {
            /* Grown in place: the new pages join the allocation. */
            struct vw_run c = sn.run[sn.n - 1];
            c.start = old_end;
            c.end = new_end;
            c.flags &= RUN_LOCKED;   /* the kernel locks growth of a locked mapping */
            struct vw_run *q = rm_find(&vw_state.map, old_end - vw_page());
            if (q && rm_alloc_end(&c) == old_end) {
                rm_write_begin();   /* lock-free readers see all the runs change at once */
                for (struct vw_run *x = rm_alloc_first(q); x; x = rm_alloc_next(x))
                    rm_set_alloc_end(x, new_end);
                rm_write_end();
                rm_set_alloc_end(&c, new_end);
                struct rm_spares sp = { { NULL, NULL } };
                if (rm_spare_get(&vw_state.map, &sp, 1) == 0) {
                    rm_insert_run(&vw_state.map, &sp, &c);
                    if (c.state == RUN_COMMITTED)
                        vw_state.committed += new_end - old_end;
                    if (c.flags & RUN_LOCKED)
                        vw_state.locked += new_end - old_end;
                }
                rm_spare_put(&vw_state.map, &sp);
            }
        }
    } else {
        if (flags & MREMAP_DONTUNMAP)
            kept_unlocked_locked(old, old_end);
        else
            vacated_locked(old, old_end);
        track_moved_locked(res, new_end - res, old, &sn);
    }
    map_unlock();
    return (void *)r;
}
