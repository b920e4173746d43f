/*
 * vm.h: the VM core: the one place that carries out each virtual-memory
 * operation on the region map and the kernel together, all or nothing.
 *
 * Layers (calls go down only): win32/ (Win32 edge: thin wrappers, last error)
 * -> nt/ (native edge: validates, probes caller pointers, rounds, returns
 * NTSTATUS) -> core/ (this interface; the map, arenas, typing) -> os/
 * (syscalls).  Edge files never issue a syscall and never call each other
 * sideways.  Every function here takes page-rounded, validated arguments,
 * needs NO lock held on entry (each takes the map lock itself and drops it
 * before returning), changes nothing when it fails, and returns an NTSTATUS.
 *
 * Extension points for the families still to come:
 * - Region kinds.  Every run records its allocation's kind (vw_run.kind,
 *   enum vm_kind below) and an index of the family's side record (vw_run.ext:
 *   a view's section and offset, a window's frame table).  Write-watch
 *   regions, AWE windows (MEM_PHYSICAL), section views and placeholders are
 *   each a kind; commit, decommit, protect and release consult the kind
 *   (struct vm_kind_ops, planned) instead of special cases in the edges.
 * - Hooks.  vm_commit, vm_decommit and vm_protect are where a write-watch
 *   family hooks in (struct vm_hooks: called with the lock held, after the
 *   kernel agreed, before the map changes become visible).
 * - Faults.  A fault dispatcher (guard pages, commit-on-demand, write
 *   watches) would ask vm_fault_kind(addr) which kind owns a faulting page.
 * - Other processes.  The process handle is checked at the native edge by
 *   vm_check_process below: the pseudo handle is decided inline (the fast
 *   path: no lookup, no lock); a real handle goes to the process family
 *   (core/process.h), which checks its rights and says whether it names this
 *   process (then the call is the local core's, as with the pseudo handle) or
 *   another one (then the edge calls the process_* operations on it).
 */
#ifndef VW_VM_H
#define VW_VM_H

#include "core/vw.h"
#include <virtualwin/nt.h>

enum vm_kind {
    VM_KIND_PRIVATE = 0,      /* VirtualAlloc memory: built */
    VM_KIND_LARGE_PAGES = 1,  /* MEM_LARGE_PAGES: built */
    VM_KIND_WRITE_WATCH = 2,  /* MEM_WRITE_WATCH: planned */
    VM_KIND_PHYSICAL = 3,     /* AWE windows: planned */
    VM_KIND_VIEW = 4,         /* section views: planned */
    VM_KIND_PLACEHOLDER = 5,  /* VirtualAlloc2 placeholders: planned */
};

/* Planned: per-kind behaviour, indexed by enum vm_kind. */
struct vm_kind_ops {
    NTSTATUS (*commit)(uintptr_t start, uintptr_t end, DWORD prot);
    NTSTATUS (*decommit)(uintptr_t start, uintptr_t end);
    NTSTATUS (*release)(uintptr_t base, uintptr_t end);
};

/* Planned: observers of state changes (write watches). */
struct vm_hooks {
    void (*committed)(uintptr_t start, uintptr_t end);
    void (*decommitted)(uintptr_t start, uintptr_t end);
    void (*protected_)(uintptr_t start, uintptr_t end, DWORD prot);
};

/* Reserve (and with MEM_COMMIT in type, commit) a new allocation.  addr 0:
 * the core places it (MEM_TOP_DOWN honoured), entirely at or below `limit`
 * when limit is not 0 (ZeroBits); addr given: exactly at addr rounded down
 * to 64 KiB.  MEM_LARGE_PAGES in type: a large-page allocation.  On success
 * *base and *len describe the allocation. */
NTSTATUS vm_reserve(uintptr_t addr, size_t size, ULONG type, DWORD prot, uintptr_t limit,
                    uintptr_t *base, size_t *len);
/* Commit [start, end) (pages) inside one reservation with protection prot. */
NTSTATUS vm_commit(uintptr_t start, uintptr_t end, DWORD prot);
/* MEM_RESET / MEM_RESET_UNDO on [start, end). */
NTSTATUS vm_reset(uintptr_t start, uintptr_t end, int undo);
/* MEM_RELEASE: the allocation whose base is page `start`; end 0 for the whole
 * allocation, else [start, end) must be exactly the allocation.  On success
 * *base and *len describe what was released. */
NTSTATUS vm_release(uintptr_t start, uintptr_t end, uintptr_t *base, size_t *len);
/* MEM_DECOMMIT of [start, end); end 0: the whole allocation, start its base. */
NTSTATUS vm_decommit(uintptr_t start, uintptr_t end);
/* Protect [start, end) (change 0: only report); *old gets the first page's
 * protection on success, PAGE_NOACCESS on an address failure, and is left
 * alone on STATUS_INVALID_PAGE_PROTECTION. */
NTSTATUS vm_protect(uintptr_t start, uintptr_t end, int change, DWORD prot, DWORD *old);
/* Lock (lock 1) or unlock [start, end). */
NTSTATUS vm_lock(uintptr_t start, uintptr_t end, int lock);

/* Makes stores to [base, base+len) visible to instruction fetch. */
void vm_flush_icache(uintptr_t base, size_t len);

/* What VirtualQuery reports at page p (p <= VW_MAX_ADDR). */
void vm_query(uintptr_t p, MEMORY_BASIC_INFORMATION *m);
/* MemoryRegionInformation for the allocation holding p; STATUS_INVALID_ADDRESS
 * for free memory. */
NTSTATUS vm_region(uintptr_t p, MEMORY_REGION_INFORMATION *ri);
/* MemoryWorkingSetExInformation attributes of the page holding va; *pagemap
 * is an fd cache for a run of calls (start at -1, close with vm_ws_done). */
ULONG_PTR vm_ws_attributes(uintptr_t va, int *pagemap);
void vm_ws_done(int pagemap);

/* System figures (vm_sysinfo.c) for GetSystemInfo and GlobalMemoryStatusEx:
 * fill a local structure of the edge's, never caller memory. */
void vm_system_info(SYSTEM_INFO *si);
void vm_memory_status(MEMORYSTATUSEX *st);
/* Working-set sizes (vm_wsquota.c): flags already validated by the edge
 * (0: keep them); out pointers are the edge's locals, written under ws_lock. */
void vm_ws_set(SIZE_T min, SIZE_T max, DWORD flags);
void vm_ws_get(SIZE_T *min, SIZE_T *max, DWORD *flags);

/* NTSTATUS for the errno of a failed memory syscall, and for the Win32 codes
 * of the helpers that still speak them (reset, large pages, accounting). */
NTSTATUS vm_status_from_errno(int err);
NTSTATUS vm_status_from_error(DWORD err);

/* NTSTATUS -> Win32 error: RtlNtStatusToDosError's table (status.c). */
ULONG vm_dos_error(NTSTATUS status);

/* The process handle check shared by every native call (spec 9 and 14):
 * STATUS_SUCCESS with *remote NULL: work on this process (the pseudo handle,
 * or a handle to this process with the rights `need`); with *remote set:
 * on that other process (process.h; the caller drops it with process_put).
 * remote NULL: the call has no remote path (STATUS_NOT_SUPPORTED for one). */
struct vw_process;
NTSTATUS process_check(HANDLE h, ACCESS_MASK need, struct vw_process **remote);
void process_put(struct vw_process *p);
static inline NTSTATUS vm_check_process(HANDLE h, ACCESS_MASK need, struct vw_process **remote)
{
    if (__builtin_expect(h == VW_PSEUDO_PROCESS, 1)) {
        if (remote)
            *remote = NULL;
        return STATUS_SUCCESS;
    }
    return h ? process_check(h, need, remote) : STATUS_INVALID_HANDLE;
}

#endif
