/*
 * vm_free.c: the VM core's release and decommit (spec section 5).
 *
 * Release drops the whole allocation from the map and gives its space back
 * (remapping it first if any page was committed, so no data, lock or commit
 * charge survives).  Decommit remaps the range PROT_NONE|MAP_NORESERVE in one
 * syscall: memory and commit charge go back and the next commit reads zero.
 * Statuses as Windows' NtFreeVirtualMemory: an address in no allocation is
 * STATUS_MEMORY_NOT_ALLOCATED, one inside an allocation but not at its base
 * (where the base is needed) STATUS_FREE_VM_NOT_AT_BASE, a range running
 * past the allocation STATUS_UNABLE_TO_FREE_VM.
 */
#include "core/vm.h"
#include "os/os.h"
#include "core/space.h"

NTSTATUS vm_release(uintptr_t start, uintptr_t rend, uintptr_t *out_base, size_t *out_len)
{
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return STATUS_POSSIBLE_DEADLOCK;
    /* rm_find_from, not rm_find: munmap may have taken the base page. */
    struct vw_run *r = rm_find_from(&vw_state.map, start);
    if (!r || r->alloc_base != start) {
        NTSTATUS st = rm_find(&vw_state.map, start) ? STATUS_FREE_VM_NOT_AT_BASE
                                                    : STATUS_MEMORY_NOT_ALLOCATED;
        map_unlock();
        return st;
    }
    uintptr_t base = r->alloc_base, end = rm_alloc_end(r);
    if (rend && rend != end) {
        /* Part of an allocation cannot be released. */
        map_unlock();
        return STATUS_UNABLE_TO_FREE_VM;
    }
    uint16_t flags = r->alloc_flags;
    /* An AWE window's pages may carry MADV_DONTFORK even where no frame is
     * mapped (vm_awe.c): remapped on release, so the space comes back clean. */
    int window = r->kind == VM_KIND_PHYSICAL;
    struct rm_summary s;
    rm_summarize(&vw_state.map, r->start, end, &s);
    int err = 0;
    if (r->kind == VM_KIND_WRITE_WATCH)
        vm_watch_release_locked(r);   /* if the kernel then refuses, the watch is gone */
    if (flags & ALLOC_HOLES) {
        /* Only the runs are ours to give back; the holes may hold anything. */
        for (struct vw_run *q = r; !err && q; q = rm_alloc_next(q))
            err = space_vacate(q->start, q->end - q->start, q->state == RUN_COMMITTED || window);
        if (!err)
            space_free_granules(base, end - base);   /* retired ones stay */
    } else {
        err = space_release(base, end - base, s.any_committed || window);
    }
    if (err) {
        /* The kernel refused: the allocation stays as it was. */
        map_unlock();
        return vm_status_from_errno(err);
    }
    if (window)
        vw_awe_window_gone_locked(r->ext);   /* its frames stay allocated */
    rm_remove_alloc(&vw_state.map, r);
    vw_state.committed -= s.committed_bytes;
    vw_state.locked -= s.locked_bytes;
    map_unlock();
    *out_base = base;
    *out_len = end - base;
    return STATUS_SUCCESS;
}

NTSTATUS vm_decommit(uintptr_t start, uintptr_t end)
{
    struct rm_spares sp = { { NULL, NULL } };
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return STATUS_POSSIBLE_DEADLOCK;
    /* The whole allocation (end 0) is found by its base even when munmap took
     * the base page, as for release. */
    struct vw_run *r = end ? rm_find(&vw_state.map, start) : rm_find_from(&vw_state.map, start);
    NTSTATUS st = 0;
    if (!r || r->kind == VM_KIND_PHYSICAL)   /* AWE windows: frames are freed, not decommitted */
        st = STATUS_MEMORY_NOT_ALLOCATED;
    else if (end == 0 && r->alloc_base != start)
        st = rm_find(&vw_state.map, start) ? STATUS_FREE_VM_NOT_AT_BASE
                                           : STATUS_MEMORY_NOT_ALLOCATED;
    else if (end > rm_alloc_end(r))
        st = STATUS_UNABLE_TO_FREE_VM;
    else if (rm_spare_get(&vw_state.map, &sp, 2))
        st = STATUS_NO_MEMORY;
    if (st) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return st;
    }
    if (!end)
        end = rm_alloc_end(r);
    struct rm_summary s;
    rm_summarize(&vw_state.map, start, end, &s);
    if (s.any_other) {
        /* Another allocation inside a hole of this one (the kernel moved it
         * there): the range is not one allocation's. */
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return STATUS_UNABLE_TO_FREE_VM;
    }
    int watched = r->kind == VM_KIND_WRITE_WATCH;
    if (s.any_committed) {
        /* One remap over the whole range, unless holes in it may hold someone
         * else's mapping: then run by run. */
        int e = 0;
        if (!(r->alloc_flags & ALLOC_HOLES)) {
            e = os_decommit(start, end - start);
        } else {
            for (struct vw_run *q = rm_find_from(&vw_state.map, start); !e && q && q->start < end;
                 q = rm_next(q)) {
                uintptr_t a = q->start > start ? q->start : start;
                uintptr_t b = q->end < end ? q->end : end;
                if (q->state == RUN_COMMITTED)
                    e = os_decommit(a, b - a);
            }
        }
        if (e) {
            rm_spare_put(&vw_state.map, &sp);
            map_unlock();
            return vm_status_from_errno(e);
        }
        rm_set_range(&vw_state.map, &sp, start, end, RUN_RESERVED, 0, 0, 0);
        if (watched)   /* r may have merged away: find the run again */
            vm_watch_decommitted_locked(rm_find(&vw_state.map, start), start, end);
        vw_state.committed -= s.committed_bytes;
        vw_state.locked -= s.locked_bytes;
    }
    rm_spare_put(&vw_state.map, &sp);
    map_unlock();
    return STATUS_SUCCESS;
}
