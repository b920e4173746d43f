/*
 * vm_lock.c: the VM core's lock and unlock (spec section 8), as
 * NtLockVirtualMemory / NtUnlockVirtualMemory carry them out.
 *
 * Locking is mlock; the map remembers which runs are locked (RUN_LOCKED) because
 * Windows reports ERROR_NOT_LOCKED for unlocking pages that are not locked, and
 * keeps no count.  The flag never splits VirtualQuery regions.  Decommit and
 * release drop it with the pages.  On memory the library did not allocate, the
 * calls go to the kernel directly (there is no record to keep).  Statuses:
 * pages not committed STATUS_NOT_COMMITTED (free memory or a range leaving the
 * allocation STATUS_CONFLICTING_ADDRESSES), a PAGE_NOACCESS page
 * STATUS_ACCESS_VIOLATION, a guard page STATUS_GUARD_PAGE_VIOLATION (the guard
 * is cleared), the lock quota STATUS_WORKING_SET_QUOTA, unlocking a page that
 * is not locked STATUS_NOT_LOCKED (after unlocking the locked ones).
 */
#include "core/vm.h"
#include "os/os.h"
#include "os/kernelview.h"

#include <errno.h>
#include <sys/mman.h>

static NTSTATUS lock_error(int err)
{
    /* EAGAIN/ENOMEM/EPERM: RLIMIT_MEMLOCK or no privilege: the working set quota. */
    return err == EAGAIN || err == ENOMEM || err == EPERM ? STATUS_WORKING_SET_QUOTA
                                                          : vm_status_from_errno(err);
}

/* Clears PAGE_GUARD on the guard runs of [start, end), as Windows does when
 * VirtualLock meets a guard page. */
static void clear_guard_locked(uintptr_t start, uintptr_t end, struct rm_spares *sp)
{
    uintptr_t cur = start;
    while (cur < end) {
        struct vw_run *r = rm_find(&vw_state.map, cur);
        uintptr_t b = r->end < end ? r->end : end;
        if (r->state == RUN_COMMITTED && (r->protect & PAGE_GUARD)) {
            uint16_t p = (uint16_t)(r->protect & ~PAGE_GUARD);
            if (os_protect(cur, b - cur, prot_to_linux(p)) == 0) {
                rm_set_range(&vw_state.map, sp, cur, b, 0, p, 0, 0);
                rm_spare_get(&vw_state.map, sp, 2);
            }
        }
        cur = b;
    }
}

static NTSTATUS lock_own_locked(uintptr_t start, uintptr_t end, int lock)
{
    struct rm_summary s;
    struct vw_run *r = rm_find(&vw_state.map, start);
    if (vw_committed_range_locked(r, start, end, &s))
        return end > rm_alloc_end(r) || s.any_hole ? STATUS_CONFLICTING_ADDRESSES
                                                   : STATUS_NOT_COMMITTED;
    NTSTATUS err = 0;
    struct rm_spares sp = { { NULL, NULL } };
    if (rm_spare_get(&vw_state.map, &sp, 2)) {
        rm_spare_put(&vw_state.map, &sp);
        return STATUS_NO_MEMORY;
    }
    if (lock) {
        if (s.any_noaccess) {
            err = STATUS_ACCESS_VIOLATION;
        } else if (s.any_guard) {
            clear_guard_locked(start, end, &sp);
            err = STATUS_GUARD_PAGE_VIOLATION;
        } else if (vw_lock_quota_check_locked(s.committed_bytes - s.locked_bytes)) {
            err = STATUS_WORKING_SET_QUOTA;
        } else {
            /* mlock fills dropped pages again: remember the loss first. */
            vw_note_lost_pages_locked(start, end);
            int e = os_lock(start, end - start);
            if (e) {
                err = lock_error(e);
            } else {
                rm_set_range(&vw_state.map, &sp, start, end, 0, RM_KEEP_PROTECT, RUN_LOCKED,
                             RUN_LOCKED);
                vw_state.locked += s.committed_bytes - s.locked_bytes;
            }
        }
    } else {
        int e = s.any_locked ? os_unlock(start, end - start) : 0;
        if (e) {
            err = lock_error(e);   /* nothing unlocked */
        } else {
            if (s.any_locked) {
                rm_set_range(&vw_state.map, &sp, start, end, 0, RM_KEEP_PROTECT, RUN_LOCKED, 0);
                vw_state.locked -= s.locked_bytes;
            }
            if (s.any_unlocked)
                err = STATUS_NOT_LOCKED;
        }
    }
    rm_spare_put(&vw_state.map, &sp);
    return err;
}

static NTSTATUS lock_foreign(uintptr_t start, uintptr_t end, int lock)
{
    for (uintptr_t cur = start; cur < end;) {
        struct kv_vma v;
        if (kv_find(cur, &v) || v.start > cur || v.prot == PROT_NONE)
            return STATUS_CONFLICTING_ADDRESSES;
        cur = v.end;
    }
    int e = lock ? os_lock(start, end - start) : os_unlock(start, end - start);
    return e ? lock_error(e) : 0;
}

NTSTATUS vm_lock(uintptr_t start, uintptr_t end, int lock)
{
    NTSTATUS st;
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return STATUS_POSSIBLE_DEADLOCK;
    struct vw_run *r = rm_find(&vw_state.map, start);
    if (r) {
        /* AWE frames are locked already and cannot be unlocked (WRK lockvm.c). */
        st = r->kind == VM_KIND_PHYSICAL ? STATUS_INCOMPATIBLE_FILE_MAP
                                         : lock_own_locked(start, end, lock);
        map_unlock();
    } else if (vw_touches_library_locked(start, end)) {
        map_unlock();
        st = STATUS_CONFLICTING_ADDRESSES;
    } else {
        map_unlock();
        st = lock_foreign(start, end, lock);
    }
    return st;
}
