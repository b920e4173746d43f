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

NTSTATUS vm_release_alloc_locked(struct vw_run *r)
{
    uintptr_t base = r->alloc_base, end = rm_alloc_end(r);
    uint16_t flags = r->alloc_flags;
    struct rm_summary s;
    r = rm_find_from(&vw_state.map, base);
    rm_summarize(&vw_state.map, r->start, end, &s);
    int err = 0;
    if (flags & ALLOC_HOLES) {
        /* Only the runs are ours to give back; the holes may hold anything. */
        for (struct vw_run *q = r; !err && q && q->alloc_base == base; q = rm_next(q))
            err = space_vacate(q->start, q->end - q->start,
                               q->state == RUN_COMMITTED || q->kind == VM_KIND_VIEW);
        if (!err)
            space_free_granules(base, end - base);   /* retired ones stay */
    } else {
        /* A view's pages map a file even where reserved: always remapped. */
        err = space_release(base, end - base, s.any_committed || r->kind == VM_KIND_VIEW);
    }
    if (err)
        return vm_status_from_errno(err);   /* the kernel refused: nothing changed */
    rm_remove_alloc(&vw_state.map, r);
    vw_state.committed -= s.committed_bytes;
    vw_state.locked -= s.locked_bytes;
    return STATUS_SUCCESS;
}

NTSTATUS vm_release(uintptr_t start, uintptr_t rend, uintptr_t *out_base, size_t *out_len)
{
    map_lock();
    /* rm_find_from, not rm_find: munmap may have taken the base page. */
    struct vw_run *r = rm_find_from(&vw_state.map, start);
    if (!r || r->alloc_base != start) {
        NTSTATUS st = rm_find(&vw_state.map, start) ? STATUS_FREE_VM_NOT_AT_BASE
                                                    : STATUS_MEMORY_NOT_ALLOCATED;
        map_unlock();
        return st;
    }
    uintptr_t base = r->alloc_base, end = rm_alloc_end(r);
    NTSTATUS st = STATUS_SUCCESS;
    if (r->kind == VM_KIND_VIEW)
        st = STATUS_INVALID_PARAMETER;   /* views go with UnmapViewOfFile */
    else if (rend && rend != end)
        st = STATUS_UNABLE_TO_FREE_VM;   /* part of an allocation cannot be released */
    if (!st)
        st = vm_release_alloc_locked(r);
    map_unlock();
    if (st)
        return st;
    *out_base = base;
    *out_len = end - base;
    return STATUS_SUCCESS;
}

NTSTATUS vm_decommit(uintptr_t start, uintptr_t end)
{
    struct rm_spares sp = { { NULL, NULL } };
    map_lock();
    struct vw_run *r = rm_find(&vw_state.map, start);
    NTSTATUS st = 0;
    if (!r)
        st = STATUS_MEMORY_NOT_ALLOCATED;
    else if (r->kind == VM_KIND_VIEW)
        st = STATUS_INVALID_PARAMETER;   /* a view's pages belong to its section */
    else if (end == 0 && r->alloc_base != start)
        st = STATUS_FREE_VM_NOT_AT_BASE;
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
        vw_state.committed -= s.committed_bytes;
        vw_state.locked -= s.locked_bytes;
    }
    rm_spare_put(&vw_state.map, &sp);
    map_unlock();
    return STATUS_SUCCESS;
}
