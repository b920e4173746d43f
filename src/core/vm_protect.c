/*
 * vm_protect.c: the VM core's protection change (spec sections 3 and 6), as
 * NtProtectVirtualMemory carries it out.
 *
 * In the library's allocations every page of the range must be committed and
 * inside one allocation; the map records the Windows protection (guard and
 * caching bits included) and the kernel gets the PROT_* equivalent.  On memory
 * the library did not allocate (images, heap, stack, other mappings) the
 * change goes straight to the kernel, whole pages, and the old protection is
 * read from the kernel's view: JIT assemblers and hooking libraries rely on it.
 * Arena space the library holds but has not handed out is free memory and is
 * refused like any free memory.  Statuses: reserved pages are
 * STATUS_NOT_COMMITTED, free memory or a range leaving its allocation
 * STATUS_CONFLICTING_ADDRESSES (both ERROR_INVALID_ADDRESS), WRITECOPY on
 * private memory STATUS_INVALID_PAGE_PROTECTION.
 */
#include "core/vm.h"
#include "core/fault.h"
#include "os/os.h"
#include "core/space.h"
#include "os/kernelview.h"
#include "core/foreign.h"
#include "core/vm_section.h"

#include <errno.h>
#include <sys/mman.h>

static NTSTATUS protect_own_locked(struct vw_run *r, uintptr_t start, uintptr_t end,
                                   int change, DWORD newprot, DWORD *old)
{
    struct rm_summary s;
    if (vw_committed_range_locked(r, start, end, &s))
        return end > rm_alloc_end(r) || s.any_hole ? STATUS_CONFLICTING_ADDRESSES
                                                   : STATUS_NOT_COMMITTED;
    *old = s.first_protect;
    if (!change)
        return 0;
    DWORD eff = prot_effective(newprot, r->alloc_protect);
    struct rm_spares sp = { { NULL, NULL } };
    if (rm_spare_get(&vw_state.map, &sp, 2)) {
        rm_spare_put(&vw_state.map, &sp);
        return STATUS_NO_MEMORY;
    }
    int err = r->kind == VM_KIND_WRITE_WATCH
                  ? vm_watch_protect_locked(r, start, end, prot_to_linux(eff))
                  : os_protect(start, end - start, prot_to_linux(eff));
    if (err) {
        vw_restore_protection_locked(start, end);
        rm_spare_put(&vw_state.map, &sp);
        return vm_status_from_errno(err);
    }
    rm_set_range(&vw_state.map, &sp, start, end, 0, (uint16_t)eff, 0, 0);
    rm_spare_put(&vw_state.map, &sp);
    return 0;
}

/* Foreign memory: every page must be mapped; PROT_NONE pages count as
 * PAGE_NOACCESS (a program may protect its own heap page NOACCESS and back).
 * The old protection is what VirtualQuery reports for the first page, so the
 * two always agree (PAGE_WRITECOPY on a private file mapping, for one).
 * WRITECOPY protections are accepted where every page is a private file
 * mapping, as on Windows. */
static NTSTATUS protect_foreign(uintptr_t start, uintptr_t end, int change, DWORD newprot,
                             DWORD *old)
{
    int writecopy = (newprot & 0xFF) == PAGE_WRITECOPY || (newprot & 0xFF) == PAGE_EXECUTE_WRITECOPY;
    uintptr_t cur = start;
    while (cur < end) {
        struct kv_vma v;
        if (kv_find(cur, &v) || v.start > cur)
            return STATUS_CONFLICTING_ADDRESSES;
        if (cur == start) {
            MEMORY_BASIC_INFORMATION m;
            foreign_describe(NULL, &v, cur, v.end, &m);
            *old = m.Protect ? m.Protect : PAGE_NOACCESS;
        }
        if (writecopy && (!v.file_backed || v.shared))
            return STATUS_INVALID_PAGE_PROTECTION;
        cur = v.end;
    }
    if (!change)
        return 0;
    int err = os_protect(start, end - start, prot_to_linux(newprot));
    if (err == ENOMEM)
        return STATUS_CONFLICTING_ADDRESSES;   /* unmapped meanwhile */
    return vm_status_from_errno(err);
}

NTSTATUS vm_protect(uintptr_t start, uintptr_t end, int change, DWORD prot, DWORD *old)
{
    NTSTATUS st;
    DWORD o = PAGE_NOACCESS;
    if (change && (prot & PAGE_GUARD))
        vm_fault_install();   /* guard pages raise exceptions (core/fault.c) */
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return STATUS_POSSIBLE_DEADLOCK;
    struct vw_run *r = rm_find(&vw_state.map, start);
    if (r) {
        if (r->kind == VM_KIND_VIEW)   /* within the view's and the section's rights */
            st = vm_view_protect_check(r, prot);
        else   /* private memory and AWE windows: no WRITECOPY */
            st = prot_validate(prot) ? STATUS_INVALID_PAGE_PROTECTION : STATUS_SUCCESS;
        if (!st)
            st = r->kind == VM_KIND_PHYSICAL ? vm_awe_protect_locked(r, start, end, change, prot, &o)
                                             : protect_own_locked(r, start, end, change, prot, &o);
        map_unlock();
    } else if (vw_touches_library_locked(start, end)) {
        map_unlock();
        st = prot_validate(prot) ? STATUS_INVALID_PAGE_PROTECTION : STATUS_CONFLICTING_ADDRESSES;
    } else {
        map_unlock();
        st = protect_foreign(start, end, change, prot, &o);
    }
    if (st != STATUS_INVALID_PAGE_PROTECTION)
        *old = st == STATUS_CONFLICTING_ADDRESSES || st == STATUS_NOT_COMMITTED ? PAGE_NOACCESS : o;
    return st;
}

void vm_flush_icache(uintptr_t base, size_t len)
{
#if defined(__x86_64__) || defined(__i386__)
    /* x86 keeps instruction caches coherent with stores. */
    (void)base;
    (void)len;
#else
    if (base && len)
        __builtin___clear_cache((char *)base, (char *)base + len);
#endif
}
