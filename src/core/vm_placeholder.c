/*
 * vm_placeholder.c: the VM core's placeholders (VirtualAlloc2 with
 * MEM_RESERVE_PLACEHOLDER; spec section 15): splitting one into pieces,
 * joining pieces again, replacing one with private memory (or, through the
 * _locked pair, with another family's object such as a section view), and
 * turning such an allocation back into a placeholder.
 *
 * Invariants (see vm.h): a placeholder is an allocation of kind
 * VM_KIND_PLACEHOLDER made of exactly one reserved run (alloc_protect
 * PAGE_NOACCESS, no flags) over PROT_NONE|MAP_NORESERVE space, clean like any
 * reservation.  Split and coalesce change the map only (the kernel already
 * holds the space as one kind of mapping); replace and restore change the
 * kernel first and the map after, under the map lock, so each operation
 * completes or changes nothing.  Pieces are whole pages: neighbouring pieces
 * may share a 64 KiB granule, which space.c keeps in use until the last
 * allocation touching it is released.
 */
#include "core/vm.h"
#include "os/os.h"

#include <sys/mman.h>

/* The placeholder at start with bounds exactly [start, end), or NULL. */
static struct vw_run *exact_placeholder(uintptr_t start, uintptr_t end)
{
    struct vw_run *r = rm_find(&vw_state.map, start);
    if (!r || r->kind != VM_KIND_PLACEHOLDER || r->start != r->alloc_base ||
        r->alloc_base != start || r->end != rm_alloc_end(r) || r->end != end)
        return NULL;
    return r;
}

NTSTATUS vm_placeholder_check_locked(uintptr_t start, uintptr_t end, struct vw_run **ph)
{
    struct vw_run *r = exact_placeholder(start, end);
    if (!r)
        return STATUS_CONFLICTING_ADDRESSES;
    *ph = r;
    return STATUS_SUCCESS;
}

void vm_placeholder_claim_locked(struct vw_run *ph, unsigned kind, uint32_t ext,
                                 DWORD alloc_protect, int committed, DWORD protect)
{
    rm_write_begin();
    ph->kind = kind & 0xFu;
    ph->ext = ext & 0xFFFFFFFu;
    ph->alloc_protect = alloc_protect & 0x7FFu;
    ph->alloc_flags |= ALLOC_FROM_PLACEHOLDER;
    ph->state = committed ? RUN_COMMITTED : RUN_RESERVED;
    ph->protect = committed ? (protect & 0x7FFu) : 0;
    ph->flags = 0;
    rm_write_end();
}

NTSTATUS vm_placeholder_replace(uintptr_t start, uintptr_t end, ULONG type, DWORD prot)
{
    int commit = !!(type & MEM_COMMIT);
    DWORD eff = prot_effective(prot, prot);
    struct vw_run *ph;
    map_lock();
    NTSTATUS st = vm_placeholder_check_locked(start, end, &ph);
    if (!st && commit && vw_commit_check_locked(end - start))
        st = STATUS_COMMITMENT_LIMIT;
    if (!st && commit) {
        /* The space is clean (never written since it became a placeholder):
         * the new pages read zero. */
        int err = os_protect(start, end - start, prot_to_linux(eff));
        if (err) {
            vw_protect_back(start, end - start, PROT_NONE);
            st = vm_status_from_errno(err);
        }
    }
    if (!st) {
        vm_placeholder_claim_locked(ph, VM_KIND_PRIVATE, 0, prot, commit, eff);
        if (commit)
            vw_state.committed += end - start;
    }
    map_unlock();
    return st;
}

NTSTATUS vm_placeholder_restore_locked(uintptr_t start, uintptr_t end, int charged)
{
    struct rm_spares sp = { { NULL, NULL } };
    struct vw_run *r = rm_find_from(&vw_state.map, start);
    if (!r || r->alloc_base != start || rm_alloc_end(r) != end ||
        r->kind == VM_KIND_PLACEHOLDER || (r->alloc_flags & ALLOC_HOLES) ||
        !(r->alloc_flags & ALLOC_FROM_PLACEHOLDER))
        return STATUS_CONFLICTING_ADDRESSES;
    if (rm_spare_get(&vw_state.map, &sp, 1)) {
        rm_spare_put(&vw_state.map, &sp);
        return STATUS_NO_MEMORY;
    }
    struct rm_summary s;
    rm_summarize(&vw_state.map, start, end, &s);
    /* One remap: whatever was there (pages, a shared view, locks) is gone and
     * the space is a clean reservation again. */
    int err = os_decommit(start, end - start);
    if (err) {
        rm_spare_put(&vw_state.map, &sp);
        return vm_status_from_errno(err);
    }
    rm_write_begin();   /* readers see the allocation, or the placeholder */
    rm_remove_alloc(&vw_state.map, r);
    struct vw_run *ph = rm_insert_alloc(&vw_state.map, &sp, start, end, PAGE_NOACCESS,
                                        RUN_RESERVED, 0);
    ph->kind = VM_KIND_PLACEHOLDER;
    rm_write_end();
    if (charged)
        vw_state.committed -= s.committed_bytes;
    vw_state.locked -= s.locked_bytes;
    rm_spare_put(&vw_state.map, &sp);
    return STATUS_SUCCESS;
}

NTSTATUS vm_placeholder_restore(uintptr_t start, uintptr_t end, int charged)
{
    map_lock();
    NTSTATUS st = vm_placeholder_restore_locked(start, end, charged);
    map_unlock();
    return st;
}

/* Cuts the placeholder r at `start` and `end` (inside it, not both at its
 * edges): 2 or 3 pieces, each its own allocation.  Map only. */
static NTSTATUS split_locked(struct vw_run *r, uintptr_t start, uintptr_t end)
{
    uintptr_t base = r->alloc_base, aend = rm_alloc_end(r);
    if (r->start != base || r->end != aend || end > aend || (start == base && end == aend))
        return STATUS_CONFLICTING_ADDRESSES;   /* holes, past its end, or the whole of it */
    struct rm_spares sp = { { NULL, NULL } };
    if (rm_spare_get(&vw_state.map, &sp, 2)) {
        rm_spare_put(&vw_state.map, &sp);
        return STATUS_NO_MEMORY;
    }
    rm_write_begin();   /* readers see the whole, or every piece */
    if (start > base)
        rm_split_alloc(&vw_state.map, &sp, r, start);
    if (end < aend)
        rm_split_alloc(&vw_state.map, &sp, rm_find(&vw_state.map, start), end);
    rm_write_end();
    rm_spare_put(&vw_state.map, &sp);
    return STATUS_SUCCESS;
}

NTSTATUS vm_placeholder_preserve(uintptr_t start, uintptr_t end)
{
    map_lock();
    struct vw_run *r = rm_find(&vw_state.map, start);
    NTSTATUS st;
    if (!r)
        st = STATUS_MEMORY_NOT_ALLOCATED;
    else if (r->kind == VM_KIND_PLACEHOLDER)
        st = split_locked(r, start, end);
    else if (r->kind == VM_KIND_VIEW)
        st = STATUS_INVALID_PARAMETER;   /* views are unmapped, not freed (spec 15) */
    else
        st = vm_placeholder_restore_locked(start, end, 1);
    map_unlock();
    return st;
}

NTSTATUS vm_placeholder_coalesce(uintptr_t start, uintptr_t end)
{
    map_lock();
    struct vw_run *first = rm_find(&vw_state.map, start), *q = first;
    uintptr_t cur = start;
    int pieces = 0;
    /* Whole placeholders, one after another, from start to exactly end. */
    while (q && cur < end && q->start == cur && q->alloc_base == cur &&
           q->kind == VM_KIND_PLACEHOLDER && q->end == rm_alloc_end(q) && q->end <= end) {
        cur = q->end;
        pieces++;
        q = rm_next(q);
    }
    NTSTATUS st = STATUS_SUCCESS;
    if (!first)
        st = STATUS_MEMORY_NOT_ALLOCATED;
    else if (cur != end || pieces < 2)
        st = STATUS_CONFLICTING_ADDRESSES;
    else
        rm_join_allocs(&vw_state.map, first, end);
    map_unlock();
    return st;
}
