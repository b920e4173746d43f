/*
 * vm_guard.c: the VM core's side of a fault (spec section 12): clearing a
 * guard page that was touched, and telling whether the map allows an access,
 * for the fault handler (core/fault.c), which runs in a signal handler.
 *
 * A guard page is cleared in the map and in the kernel before any exception
 * handler runs: Protect loses PAGE_GUARD, AllocationProtect keeps it, and the
 * kernel gets the protection without the guard, one page at a time (the page
 * that faulted), once per arming: a second thread faulting on the same page
 * finds it cleared and retries its access.  The map is looked at lock-free
 * first, so a fault elsewhere (foreign memory, a null pointer) never touches
 * the map lock.  The lock is then taken, but never by a thread that already
 * holds it (map_lock_unless_mine: a signal handler that interrupted the
 * library's own call on this thread): there the guard is lifted in the
 * kernel only and the map keeps reporting it until the page's next
 * VirtualProtect, the one approximate case (README "Exceptions").
 */
#include "core/vm.h"
#include "core/fault.h"
#include "os/os.h"

#include <sys/mman.h>

struct find_ctx {
    uintptr_t addr;
    struct vw_run run;
};

RM_SEQLOCK_READER static int find_fn(void *ctx, size_t budget)
{
    struct find_ctx *x = ctx;
    int rc = rm_lf_find_from(&vw_state.map, x->addr, &x->run, budget);
    if (rc == 1 && (x->run.start > x->addr || !x->run.state))
        return 0;
    return rc;
}

/* 1 and *r if a run of the library's holds addr (lock-free). */
static int find_run(uintptr_t addr, struct vw_run *r)
{
    struct find_ctx x;
    x.addr = addr;
    if (rm_read(find_fn, &x) != 1)
        return 0;
    *r = x.run;
    return 1;
}

int vm_guard_fault(uintptr_t addr)
{
    struct vw_run r;
    if (addr > VW_MAX_ADDR || !find_run(addr, &r) || r.state != RUN_COMMITTED ||
        !(r.protect & PAGE_GUARD))
        return VM_GUARD_NONE;
    uintptr_t page = page_floor(addr);
    if (!map_lock_unless_mine()) {
        /* This thread holds the map lock (the fault is in a signal handler
         * that interrupted its map change): never wait for it. */
        uint16_t p = (uint16_t)(r.protect & ~PAGE_GUARD);
        return os_protect_in_handler(page, vw_page(), prot_to_linux(p)) == 0 ? VM_GUARD_CLEARED
                                                                              : VM_GUARD_NONE;
    }
    int st = VM_GUARD_NONE;
    struct rm_spares sp = { { NULL, NULL } };
    struct vw_run *cur = rm_find(&vw_state.map, page);
    if (cur && cur->state == RUN_COMMITTED && (cur->protect & PAGE_GUARD) &&
        rm_spare_get(&vw_state.map, &sp, 2) == 0) {
        uint16_t p = (uint16_t)(cur->protect & ~PAGE_GUARD);
        if (os_protect(page, vw_page(), prot_to_linux(p)) == 0) {
            rm_set_range(&vw_state.map, &sp, page, page + vw_page(), 0, p, 0, 0);
            st = VM_GUARD_CLEARED;
        }
    }
    rm_spare_put(&vw_state.map, &sp);
    map_unlock();
    return st;
}

int vm_fault_allowed(uintptr_t addr, int access)
{
    struct vw_run r;
    if (addr > VW_MAX_ADDR || !find_run(addr, &r) || r.state != RUN_COMMITTED ||
        (r.protect & PAGE_GUARD))
        return 0;
    int prot = prot_to_linux(r.protect);
    switch (access) {
    case VM_ACCESS_WRITE: return (prot & PROT_WRITE) != 0;
    case VM_ACCESS_EXECUTE: return (prot & PROT_EXEC) != 0;
    default: return (prot & PROT_READ) != 0;
    }
}
