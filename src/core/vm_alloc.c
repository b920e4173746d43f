/*
 * vm_alloc.c: the VM core's reserve and commit (spec sections 3, 4 and 10),
 * the placement below a ZeroBits limit, and the error translations shared by
 * the core (errno and the Win32 codes of older helpers -> NTSTATUS).
 *
 * Each operation either completes or changes nothing: nodes are taken from
 * the pool before any syscall, and a failed mprotect is rolled back run by
 * run.  Arguments arrive validated and rounded by the native edge (nt/).
 */
#include "core/vm.h"
#include "core/fault.h"
#include "os/os.h"
#include "core/space.h"
#include "core/topdown.h"

#include <errno.h>
#include <sys/mman.h>

static int overcommit_never(void)
{
    char c = 0;
    int fd = os_open_ro("/proc/sys/vm/overcommit_memory");
    if (fd >= 0) {
        os_read(fd, &c, 1);
        os_close(fd);
    }
    return c == '2';
}

NTSTATUS vm_status_from_errno(int err)
{
    switch (err) {
    case 0: return STATUS_SUCCESS;
    case EEXIST: return STATUS_CONFLICTING_ADDRESSES;
    case EACCES:
    case EPERM: return STATUS_ACCESS_DENIED;
    case ENOMEM:
        /* With strict overcommit the kernel refuses commit charge, which is what
         * Windows calls the commitment limit; otherwise ENOMEM means the address
         * space or vm.max_map_count ran out. */
        return overcommit_never() ? STATUS_COMMITMENT_LIMIT : STATUS_NO_MEMORY;
    default: return STATUS_NO_MEMORY;
    }
}

DWORD vw_error_from_errno(int err)
{
    return err ? vm_dos_error(vm_status_from_errno(err)) : 0;
}

NTSTATUS vm_status_from_error(DWORD err)
{
    switch (err) {
    case 0: return STATUS_SUCCESS;
    case ERROR_INVALID_ADDRESS: return STATUS_CONFLICTING_ADDRESSES;
    case ERROR_INVALID_PARAMETER: return STATUS_INVALID_PARAMETER;
    case ERROR_NOT_ENOUGH_MEMORY: return STATUS_NO_MEMORY;
    case ERROR_COMMITMENT_LIMIT: return STATUS_COMMITMENT_LIMIT;
    case ERROR_NO_SYSTEM_RESOURCES: return STATUS_INSUFFICIENT_RESOURCES;
    case ERROR_ACCESS_DENIED: return STATUS_ACCESS_DENIED;
    case ERROR_WORKING_SET_QUOTA: return STATUS_WORKING_SET_QUOTA;
    case ERROR_NOACCESS: return STATUS_ACCESS_VIOLATION;
    case ERROR_NOT_LOCKED: return STATUS_NOT_LOCKED;
    case ERROR_BUSY: return STATUS_DEVICE_BUSY;
    case ERROR_NOT_SUPPORTED: return STATUS_NOT_SUPPORTED;
    case ERROR_INVALID_HANDLE: return STATUS_INVALID_HANDLE;
    case ERROR_POSSIBLE_DEADLOCK: return STATUS_POSSIBLE_DEADLOCK;
    default: return STATUS_UNSUCCESSFUL;
    }
}

DWORD vw_commit_check_locked(size_t bytes)
{
    size_t limit = vw_state.commit_limit;
    if (limit && (bytes > limit || vw_state.committed > limit - bytes))
        return ERROR_COMMITMENT_LIMIT;
    return 0;
}

int vw_protect_back(uintptr_t addr, size_t len, int prot)
{
    int err = 0;
    for (int attempt = 0; attempt < 4; attempt++)
        if (!(err = os_protect(addr, len, prot)))
            break;
    return err;
}

void vw_restore_protection_locked(uintptr_t start, uintptr_t end)
{
    for (struct vw_run *r = rm_find_from(&vw_state.map, start); r && r->start < end; r = rm_next(r)) {
        uintptr_t a = r->start > start ? r->start : start;
        uintptr_t b = r->end < end ? r->end : end;
        vw_protect_back(a, b - a, r->state == RUN_COMMITTED ? prot_to_linux(r->protect) : PROT_NONE);
    }
}

/* Claims [base, end) for a new allocation, or finds room for it (addr 0). */
static int place_locked(uintptr_t addr, size_t size, uintptr_t hint, uintptr_t *base,
                        uintptr_t *end)
{
    if (addr) {
        *base = addr & ~(VW_GRANULE - 1);
        *end = page_ceil(addr + size);
        /* Not only the runs: a hole the program cut in an allocation is still
         * that allocation's span (as arena holes are), never another's. */
        return rm_span_overlaps(&vw_state.map, *base, *end) ? EEXIST
                                                           : space_claim(*base, *end - *base);
    }
    size = page_ceil(size);
    int err = EEXIST;
    if (hint && !rm_span_overlaps(&vw_state.map, hint, hint + size))
        err = space_claim(hint, size);
    if (err == 0) {
        *base = hint;
        *end = *base + size;
        return 0;
    }
    /* The kernel places dedicated mappings (and new arenas) itself, possibly
     * in such a hole: a place there is kept as a blocker while another is
     * asked for, and the blockers are given back afterwards. */
    uintptr_t blocked[4];
    int nblocked = 0;
    for (;;) {
        err = space_alloc(size, hint != 0, base);
        if (err || !rm_span_overlaps(&vw_state.map, *base, *base + size))
            break;
        if (nblocked == 4) {
            space_release(*base, size, 0);
            err = ENOMEM;
            break;
        }
        blocked[nblocked++] = *base;
    }
    while (nblocked > 0)
        space_release(blocked[--nblocked], size, 0);
    *end = *base + size;
    return err;
}

static NTSTATUS reserve(uintptr_t addr, size_t size, ULONG type, DWORD prot, uintptr_t *out_base,
                        size_t *out_len)
{
    uintptr_t base = 0, end = 0, hint = 0;
    int commit = !!(type & MEM_COMMIT);
    DWORD eff = prot_effective(prot, prot);
    int lprot = commit ? prot_to_linux(eff) : PROT_NONE;
    struct rm_spares sp = { { NULL, NULL } };
    int err;

    /* The kernel view is read before the lock is taken (syscalls). */
    if (addr && topdown_hits_stack(addr & ~(VW_GRANULE - 1), page_ceil(addr + size)))
        return STATUS_CONFLICTING_ADDRESSES;
    if (!addr && (type & MEM_TOP_DOWN) && topdown_find(page_ceil(size), &hint))
        hint = 0;

    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return STATUS_POSSIBLE_DEADLOCK;
    size_t span = addr ? page_ceil(addr + size) - (addr & ~(VW_GRANULE - 1)) : page_ceil(size);
    NTSTATUS st = commit && vw_commit_check_locked(span) ? STATUS_COMMITMENT_LIMIT : 0;
    if (!st && rm_spare_get(&vw_state.map, &sp, 1))
        st = STATUS_NO_MEMORY;
    if (st) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return st;
    }
    err = place_locked(addr, size, hint, &base, &end);
    uint32_t ext = 0;   /* MEM_PHYSICAL: the AWE window's record (vm_awe_window.c) */
    if (!err && (type & MEM_PHYSICAL) && (err = vw_awe_window_new_locked(base, end - base, &ext)))
        space_release(base, end - base, 0);
    if (!err && lprot != PROT_NONE) {
        err = os_protect(base, end - base, lprot);
        if (err)
            space_release(base, end - base, 1);
    }
    if (err) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        /* Without a commit, ENOMEM can only mean address space. */
        return err == ENOMEM && !commit ? STATUS_NO_MEMORY : vm_status_from_errno(err);
    }
    if (type & MEM_WRITE_WATCH) {
        st = vm_watch_new_locked(base, end, &ext);
        if (st) {
            space_release(base, end - base, commit);
            rm_spare_put(&vw_state.map, &sp);
            map_unlock();
            return st;
        }
    }
    rm_write_begin();   /* readers see the run with its kind */
    struct vw_run *r = rm_insert_alloc(&vw_state.map, &sp, base, end, (uint16_t)(prot & 0xFFFF),
                                       commit ? RUN_COMMITTED : RUN_RESERVED, (uint16_t)eff);
    /* At most one of these: the edge checked. */
    if (type & MEM_PHYSICAL)
        r->kind = VM_KIND_PHYSICAL;
    else if (type & MEM_WRITE_WATCH)
        r->kind = VM_KIND_WRITE_WATCH;
    else if (type & MEM_RESERVE_PLACEHOLDER)
        r->kind = VM_KIND_PLACEHOLDER;
    r->ext = ext;
    rm_write_end();
    if (commit)
        vw_state.committed += end - base;
    map_unlock();
    *out_base = base;
    *out_len = end - base;
    return STATUS_SUCCESS;
}

static NTSTATUS reserve_large(uintptr_t addr, size_t size, DWORD prot, uintptr_t *base,
                              size_t *len)
{
    DWORD err = vw_alloc_large(addr, size, prot, base);
    if (err)
        return vm_status_from_error(err);
    *len = size;
    return STATUS_SUCCESS;
}

/* ZeroBits placement: a free, `align`-aligned stretch of `size` bytes whose
 * last byte is at or below limit, highest first with MEM_TOP_DOWN, else
 * lowest.  Found from what VirtualQuery reports (arena space the library
 * holds but has not handed out counts as free); the caller claims it as an
 * explicit address and searches again if someone took it meanwhile.
 * 0: none fits. */
static uintptr_t find_below(size_t size, uintptr_t from, uintptr_t limit, uintptr_t align,
                            int top_down)
{
    uintptr_t best = 0, cur = from;
    while (cur <= limit && cur <= VW_MAX_ADDR) {
        MEMORY_BASIC_INFORMATION m;
        vm_query(cur, &m);
        uintptr_t rend = (uintptr_t)m.BaseAddress + m.RegionSize;
        if (rend <= cur)
            break;
        if (m.State == MEM_FREE) {
            uintptr_t top = rend - 1 < limit ? rend : limit + 1;   /* exclusive */
            uintptr_t lo = (cur + align - 1) & ~(align - 1);
            if (top > lo && top - lo >= size) {
                if (!top_down)
                    return lo;
                best = (top - size) & ~(align - 1);
            }
        }
        cur = rend;
    }
    return best;
}

NTSTATUS vm_reserve(uintptr_t addr, size_t size, ULONG type, DWORD prot, uintptr_t limit,
                    uintptr_t *base, size_t *len)
{
    struct vm_window w = { 0, limit, 0 };
    return vm_reserve_in(addr, size, type, prot, &w, base, len);
}

NTSTATUS vm_reserve_in(uintptr_t addr, size_t size, ULONG type, DWORD prot,
                       const struct vm_window *w, uintptr_t *base, size_t *len)
{
    int large = !!(type & MEM_LARGE_PAGES);
    if ((type & MEM_COMMIT) && (prot & PAGE_GUARD))
        vm_fault_install();   /* guard pages raise exceptions (core/fault.c) */
    uintptr_t limit = w->highest && w->highest < VW_MAX_ADDR ? w->highest : VW_MAX_ADDR;
    uintptr_t align = large ? vw_large_page_size() : VW_GRANULE;
    if (addr || (limit == VW_MAX_ADDR && w->lowest <= VW_MIN_ADDR && w->align <= align))
        return large ? reserve_large(addr, size, prot, base, len)
                     : reserve(addr, size, type, prot, base, len);
    if (w->align > align)
        align = w->align;
    size_t need = large ? size : page_ceil(size);
    int top_down = !!(type & MEM_TOP_DOWN);
    uintptr_t from = w->lowest > VW_MIN_ADDR ? w->lowest : VW_MIN_ADDR;
    /* A spot taken meanwhile, or one the kernel keeps from us (below
     * vm.mmap_min_addr: EPERM), moves the search past it. */
    for (int attempt = 0; attempt < 64; attempt++) {
        uintptr_t at = find_below(need, from, limit, align, top_down);
        if (!at)
            return STATUS_NO_MEMORY;
        NTSTATUS st = large ? reserve_large(at, size, prot, base, len)
                            : reserve(at, size, type, prot, base, len);
        if (st != STATUS_CONFLICTING_ADDRESSES && st != STATUS_ACCESS_DENIED)
            return st;
        if (top_down)
            limit = at - 1;
        else
            from = at + align;
    }
    return STATUS_NO_MEMORY;
}

NTSTATUS vm_commit(uintptr_t start, uintptr_t end, DWORD prot)
{
    struct rm_spares sp = { { NULL, NULL } };

    if (prot & PAGE_GUARD)
        vm_fault_install();   /* guard pages raise exceptions (core/fault.c) */
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return STATUS_POSSIBLE_DEADLOCK;
    struct vw_run *r = rm_find(&vw_state.map, start);
    /* An AWE window is committed only by mapping frames (WRK allocvm.c), a
     * placeholder only by replacing it (spec 15). */
    if (!r || end > rm_alloc_end(r) || r->kind == VM_KIND_PHYSICAL ||
        r->kind == VM_KIND_PLACEHOLDER) {
        map_unlock();
        return STATUS_CONFLICTING_ADDRESSES;
    }
    DWORD eff = prot_effective(prot, r->alloc_protect);
    struct rm_summary s;
    rm_summarize(&vw_state.map, start, end, &s);
    NTSTATUS st = s.any_hole                                 ? STATUS_CONFLICTING_ADDRESSES
                  : vw_commit_check_locked(s.reserved_bytes) ? STATUS_COMMITMENT_LIMIT
                                                             : STATUS_SUCCESS;
    if (!st && rm_spare_get(&vw_state.map, &sp, 2))
        st = STATUS_NO_MEMORY;
    if (st) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return st;
    }
    int err = os_protect(start, end - start, prot_to_linux(eff));
    if (err) {
        vw_restore_protection_locked(start, end);
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return vm_status_from_errno(err);
    }
    rm_set_range(&vw_state.map, &sp, start, end, RUN_COMMITTED, (uint16_t)eff, 0, 0);
    vw_state.committed += s.reserved_bytes;
    rm_spare_put(&vw_state.map, &sp);
    map_unlock();
    return STATUS_SUCCESS;
}

NTSTATUS vm_reset(uintptr_t start, uintptr_t end, int undo)
{
    map_lock();
    struct vw_run *r = rm_find(&vw_state.map, start);
    int window = r && r->kind == VM_KIND_PHYSICAL;
    map_unlock();
    if (window)
        return STATUS_CONFLICTING_ADDRESSES;   /* AWE windows (WRK allocvm.c) */
    DWORD err = undo ? vw_reset_undo(start, end - start) : vw_reset(start, end - start);
    return vm_status_from_error(err);
}
