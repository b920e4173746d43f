/*
 * vm_wsinfo.c: MemoryWorkingSetExInformation attributes of one page, for
 * NtQueryVirtualMemory (and, later, QueryWorkingSetEx).
 *
 * Valid is the kernel's "present" bit from /proc/self/pagemap (a page in RAM
 * for this process); Win32Protection is what VirtualQuery reports; Shared and
 * ShareCount say whether the page is mapped elsewhere too (pagemap's
 * exclusive bit); Locked and LargePage come from the map for the library's
 * allocations (VirtualLock, MEM_LARGE_PAGES) and are 0 on memory the library
 * did not allocate.  An invalid page reports 0 in every bit, as Windows does
 * for a page that is not in the working set.  Invariant: no state changes;
 * the map lock is held only to read two flags, never across a syscall.
 */
#include "core/vm.h"
#include "os/os.h"

#define PM_PRESENT ((uint64_t)1 << 63)
#define PM_MMAP_EXCLUSIVE ((uint64_t)1 << 56)

ULONG_PTR vm_ws_attributes(uintptr_t va, int *pagemap)
{
    uintptr_t p = page_floor(va);
    if (p < VW_MIN_ADDR || p > VW_MAX_ADDR)
        return 0;
    if (*pagemap < 0 && (*pagemap = os_open_ro("/proc/self/pagemap")) < 0)
        return 0;
    uint64_t e = 0;
    if (os_pread(*pagemap, &e, sizeof e, (long)(p / vw_page() * sizeof e)) != (long)sizeof e ||
        !(e & PM_PRESENT))
        return 0;
    MEMORY_BASIC_INFORMATION m;
    vm_query(p, &m);
    if (m.State != MEM_COMMIT)
        return 0;
    int locked = 0, large = 0;
    if (map_lock_unless_mine()) {
        struct vw_run *r = rm_find(&vw_state.map, p);
        if (r) {
            locked = !!(r->flags & RUN_LOCKED);
            large = r->kind == VM_KIND_LARGE_PAGES;
        }
        map_unlock();
    } else {
        /* A handler that interrupted this thread's map change: the lock-free
         * read, as exact as VirtualQuery is there (README, "Signal safety"). */
        struct rm_place pl;
        rm_read_place(&vw_state.map, p, &pl);
        if (pl.in_run) {
            locked = !!(pl.region.run.flags & RUN_LOCKED);
            large = pl.region.run.kind == VM_KIND_LARGE_PAGES;
        }
    }
    MEMORY_WORKING_SET_EX_BLOCK b;
    b.Flags = 0;
    b.VirtualAttributes.Valid = 1;
    b.VirtualAttributes.Shared = !(e & PM_MMAP_EXCLUSIVE);
    b.VirtualAttributes.ShareCount = b.VirtualAttributes.Shared;
    b.VirtualAttributes.Win32Protection = m.Protect & 0x7FF;
    b.VirtualAttributes.Locked = (ULONG_PTR)locked;
    b.VirtualAttributes.LargePage = (ULONG_PTR)large;
    return b.Flags;
}

void vm_ws_done(int pagemap)
{
    if (pagemap >= 0)
        os_close(pagemap);
}
