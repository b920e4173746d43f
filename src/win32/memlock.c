/*
 * memlock.c: VirtualLock and VirtualUnlock (spec section 8).
 *
 * Locking is mlock; the map remembers which runs are locked (RUN_LOCKED) because
 * Windows reports ERROR_NOT_LOCKED for unlocking pages that are not locked, and
 * keeps no count.  The flag never splits VirtualQuery regions.  Decommit and
 * release drop it with the pages.  On memory the library did not allocate, the
 * calls go to the kernel directly (there is no record to keep).
 */
#include "core/vw.h"
#include "diag/trace.h"
#include "os/os.h"
#include "os/kernelview.h"

#include <errno.h>
#include <sys/mman.h>

static DWORD lock_error(int err)
{
    /* EAGAIN/ENOMEM/EPERM: RLIMIT_MEMLOCK or no privilege: the working set quota. */
    return err == EAGAIN || err == ENOMEM || err == EPERM ? ERROR_WORKING_SET_QUOTA
                                                          : vw_error_from_errno(err);
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

static DWORD lock_own_locked(uintptr_t start, uintptr_t end, int lock)
{
    struct rm_summary s;
    DWORD err = vw_committed_range_locked(rm_find(&vw_state.map, start), start, end, &s);
    if (err)
        return err;
    struct rm_spares sp = { { NULL, NULL } };
    if (rm_spare_get(&vw_state.map, &sp, 2)) {
        rm_spare_put(&vw_state.map, &sp);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    if (lock) {
        if (s.any_noaccess) {
            err = ERROR_NOACCESS;
        } else if (s.any_guard) {
            clear_guard_locked(start, end, &sp);
            err = STATUS_GUARD_PAGE_VIOLATION;
        } else if (!(err = vw_lock_quota_check_locked(s.committed_bytes - s.locked_bytes))) {
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
                err = ERROR_NOT_LOCKED;
        }
    }
    rm_spare_put(&vw_state.map, &sp);
    return err;
}

static DWORD lock_foreign(uintptr_t start, uintptr_t end, int lock)
{
    for (uintptr_t cur = start; cur < end;) {
        struct kv_vma v;
        if (kv_find(cur, &v) || v.start > cur || v.prot == PROT_NONE)
            return ERROR_INVALID_ADDRESS;
        cur = v.end;
    }
    int e = lock ? os_lock(start, end - start) : os_unlock(start, end - start);
    return e ? lock_error(e) : 0;
}

static BOOL vw_lockop(LPVOID lpAddress, SIZE_T dwSize, int lock)
{
    uintptr_t addr = (uintptr_t)lpAddress;
    vw_init();
    if (vw_range_invalid(addr, dwSize ? dwSize : 1))
        return vw_fail(ERROR_INVALID_PARAMETER);
    uintptr_t start = page_floor(addr);
    uintptr_t end = dwSize ? page_ceil(addr + dwSize) : start + vw_page();
    DWORD err;
    map_lock();
    if (rm_find(&vw_state.map, start)) {
        err = lock_own_locked(start, end, lock);
        map_unlock();
    } else if (vw_touches_library_locked(start, end)) {
        map_unlock();
        err = ERROR_INVALID_ADDRESS;
    } else {
        map_unlock();
        err = lock_foreign(start, end, lock);
    }
    return err ? vw_fail(err) : TRUE;
}

VW_API BOOL WINAPI VirtualLock(LPVOID lpAddress, SIZE_T dwSize)
{
    BOOL r = vw_lockop(lpAddress, dwSize, 1);
    VW_TRACE(r, "VirtualLock(%p, %z) = %b", lpAddress, dwSize, r);
    return r;
}

VW_API BOOL WINAPI VirtualUnlock(LPVOID lpAddress, SIZE_T dwSize)
{
    BOOL r = vw_lockop(lpAddress, dwSize, 0);
    VW_TRACE(r, "VirtualUnlock(%p, %z) = %b", lpAddress, dwSize, r);
    return r;
}
