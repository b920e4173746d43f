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
 * How the families fit in:
 * - Region kinds.  Every run records its allocation's kind (vw_run.kind,
 *   enum vm_kind below) and an index of the family's side record (vw_run.ext:
 *   a view's record, a window's frame table, a watch's state).  Write-watched
 *   allocations, AWE windows (MEM_PHYSICAL), section views and placeholders
 *   are kinds: vm_commit, vm_decommit, vm_protect, vm_release, vm_lock and
 *   vm_reset look at the kind of the run they act on and refuse or hand over
 *   to the family's core file (vm_watch.c, vm_awe.c, vm_view.c,
 *   vm_placeholder.c); the edges never see kinds.  A switch at each of those
 *   few places proved clearer than an ops table: most kinds differ from
 *   private memory in one or two operations only.
 * - Hooks.  The write-watch family hooks the state changes that matter to it
 *   (new allocation, decommit, release, protect, the interposers' removals
 *   and moves: core/watch.h), called with the map lock held.
 * - Faults.  core/fault.c owns the process's fault signals: guard pages
 *   (vm_guard_fault below) first, then claimers other families register
 *   (vm_fault_claim_add: the write-watch sigsegv engine), then exception
 *   dispatch (nt/exception.c), then the program's previous handler.
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
    VM_KIND_WRITE_WATCH = 2,  /* MEM_WRITE_WATCH: built (vm_watch.c) */
    VM_KIND_PHYSICAL = 3,     /* AWE windows: built (vm_awe.c) */
    VM_KIND_VIEW = 4,         /* section views: built (vm_view.c) */
    VM_KIND_PLACEHOLDER = 5,  /* VirtualAlloc2 placeholders: built (vm_placeholder.c) */
};

/* Reserve (and with MEM_COMMIT in type, commit) a new allocation.  addr 0:
 * the core places it (MEM_TOP_DOWN honoured), entirely at or below `limit`
 * when limit is not 0 (ZeroBits); addr given: exactly at addr rounded down
 * to 64 KiB.  MEM_LARGE_PAGES in type: a large-page allocation.  On success
 * *base and *len describe the allocation. */
NTSTATUS vm_reserve(uintptr_t addr, size_t size, ULONG type, DWORD prot, uintptr_t limit,
                    uintptr_t *base, size_t *len);
/* Where vm_reserve_in may place an allocation at addr 0 (MEM_ADDRESS_REQUIREMENTS,
 * ZeroBits): every byte in [lowest, highest] (highest 0: no limit), the base a
 * multiple of align (0: 64 KiB).  No room: STATUS_NO_MEMORY. */
struct vm_window {
    uintptr_t lowest, highest, align;
};
NTSTATUS vm_reserve_in(uintptr_t addr, size_t size, ULONG type, DWORD prot,
                       const struct vm_window *w, uintptr_t *base, size_t *len);
/* Commit [start, end) (pages) inside one reservation with protection prot. */
NTSTATUS vm_commit(uintptr_t start, uintptr_t end, DWORD prot);
/* MEM_RESET / MEM_RESET_UNDO on [start, end). */
NTSTATUS vm_reset(uintptr_t start, uintptr_t end, int undo);
/* MEM_RELEASE: the allocation whose base is page `start`; end 0 for the whole
 * allocation, else [start, end) must be exactly the allocation.  On success
 * *base and *len describe what was released. */
NTSTATUS vm_release(uintptr_t start, uintptr_t end, uintptr_t *base, size_t *len);
/* Releases the whole allocation holding r (any kind), map lock held: the
 * space goes back, the runs leave the map; nothing changes on failure. */
NTSTATUS vm_release_alloc_locked(struct vw_run *r);
/* MEM_DECOMMIT of [start, end); end 0: the whole allocation, start its base. */
NTSTATUS vm_decommit(uintptr_t start, uintptr_t end);
/* Protect [start, end) (change 0: only report); *old gets the first page's
 * protection on success, PAGE_NOACCESS on an address failure, and is left
 * alone on STATUS_INVALID_PAGE_PROTECTION. */
NTSTATUS vm_protect(uintptr_t start, uintptr_t end, int change, DWORD prot, DWORD *old);
/* Lock (lock 1) or unlock [start, end). */
NTSTATUS vm_lock(uintptr_t start, uintptr_t end, int lock);

/* Faults (core/vm_guard.c), for the fault handler in a signal handler: a
 * fault at addr on a committed PAGE_GUARD page of the library's clears that
 * page's guard in the map and the kernel (VM_GUARD_CLEARED); anything else
 * changes nothing (VM_GUARD_NONE).  vm_fault_allowed: 1 if the map says the
 * page at addr is committed, unguarded and allows the access (0 read, 1
 * write, 8 execute).  Both never wait for the map lock on a thread holding it. */
enum { VM_GUARD_NONE = 0, VM_GUARD_CLEARED = 1 };
int vm_guard_fault(uintptr_t addr);
int vm_fault_allowed(uintptr_t addr, int access);

/* Address Windowing Extensions (vm_awe.c, spec 13).  Frame numbers are
 * opaque and checked; arrays named `user` are the caller's, probed by the
 * edge and read (never written) before the lock is taken.
 * - alloc: up to n new frames, their numbers in out (the edge's buffer),
 *   *got how many (fewer at the RLIMIT_MEMLOCK quota or when memory is short).
 * - free: the frames of in (the edge's buffer), in order, unmapped wherever
 *   mapped; stops at the first bad one; *done how many were freed.
 * - map: frames at [start, start + n pages), user NULL unmaps; all or nothing.
 * - scatter: frame i (0 or user NULL: unmap) at page addrs[i]; all or nothing.
 * - protect: VirtualProtect on the window holding r, with the lock held. */
NTSTATUS vm_awe_alloc(ULONG_PTR *out, size_t n, size_t *got);
NTSTATUS vm_awe_free(const ULONG_PTR *in, size_t n, size_t *done);
NTSTATUS vm_awe_map(uintptr_t start, size_t n, const ULONG_PTR *user);
NTSTATUS vm_awe_scatter(PVOID const *addrs_user, size_t n, const ULONG_PTR *user);
NTSTATUS vm_awe_protect_locked(struct vw_run *r, uintptr_t start, uintptr_t end, int change,
                               DWORD prot, DWORD *old);

/* ---- placeholders (vm_placeholder.c; spec 15) ------------------------------
 * A placeholder is an allocation of kind VM_KIND_PLACEHOLDER: one reserved
 * run, alloc_protect PAGE_NOACCESS, backed by PROT_NONE|MAP_NORESERVE space
 * like any reservation (MEM_RESERVE|MEM_RESERVE_PLACEHOLDER in vm_reserve).
 * Splitting makes each piece an allocation of its own (pieces are whole
 * pages; neighbours may share a 64 KiB granule).  An allocation made by
 * replacing one carries ALLOC_FROM_PLACEHOLDER and can be turned back.
 *
 * MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER of [start, end): split a placeholder
 * into 2 or 3 pieces, or turn an allocation made from one back into a
 * placeholder (exact bounds; its pages are discarded). */
NTSTATUS vm_placeholder_preserve(uintptr_t start, uintptr_t end);
/* MEM_RELEASE|MEM_COALESCE_PLACEHOLDERS: [start, end) is exactly two or more
 * adjacent placeholders; they become one. */
NTSTATUS vm_placeholder_coalesce(uintptr_t start, uintptr_t end);
/* MEM_RESERVE|MEM_REPLACE_PLACEHOLDER (MEM_COMMIT in type: committed too):
 * [start, end) is exactly one placeholder; it becomes a private allocation
 * with AllocationProtect prot. */
NTSTATUS vm_placeholder_replace(uintptr_t start, uintptr_t end, ULONG type, DWORD prot);

/* For families that put something else into a placeholder (section views):
 * with the map lock held, check that [start, end) is exactly one placeholder
 * (STATUS_CONFLICTING_ADDRESSES otherwise, nothing changed) and get its run;
 * map the kernel object over it (MAP_FIXED replaces the PROT_NONE space);
 * then retype the run with vm_placeholder_claim_locked (kind, side record,
 * AllocationProtect, committed or reserved with protect).  The allocation
 * gets ALLOC_FROM_PLACEHOLDER.  Neither takes the lock or makes a syscall. */
NTSTATUS vm_placeholder_check_locked(uintptr_t start, uintptr_t end, struct vw_run **ph);
void vm_placeholder_claim_locked(struct vw_run *ph, unsigned kind, uint32_t ext,
                                 DWORD alloc_protect, int committed, DWORD protect);
/* Turns the allocation [start, end) (exact bounds, made from a placeholder,
 * any kind) back into a placeholder: remaps it PROT_NONE|MAP_NORESERVE (so
 * whatever was mapped there is gone: contents discarded, locks dropped) and
 * records one placeholder run.  `charged`: its committed pages were counted
 * in vw_state.committed (private memory; say 0 if the family does not count
 * them).  The run's side record (ext) is the family's to drop.
 * STATUS_CONFLICTING_ADDRESSES if [start, end) is not such an allocation;
 * nothing changed on failure.  _locked: the map lock is held. */
NTSTATUS vm_placeholder_restore(uintptr_t start, uintptr_t end, int charged);
NTSTATUS vm_placeholder_restore_locked(uintptr_t start, uintptr_t end, int charged);

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

/* Write watches (vm_watch.c).  vm_watch_get stores the dirty pages of
 * [start, end) (pages) into out, at most *count (> 0), and sets *count to the
 * number stored; reset: exactly those become clean.  vm_watch_reset cleans
 * every page of the range.  Both: STATUS_INVALID_PARAMETER unless the range
 * lies in one write-watched allocation with no page missing. */
NTSTATUS vm_watch_get(uintptr_t start, uintptr_t end, int reset, PVOID *out, size_t *count);
NTSTATUS vm_watch_reset(uintptr_t start, uintptr_t end);
/* Hooks, map lock held: a new watched allocation [base, end) (mapped, not yet
 * in the map, kernel protection lprot; *ext gets its side record), a decommit of [start, end) in r's
 * allocation (after the map change), the release of r's allocation (before
 * the space goes back), and pages the program took away (interposers). */
NTSTATUS vm_watch_new_locked(uintptr_t base, uintptr_t end, int lprot, uint32_t *ext);
/* The kernel protection of [start, end) of r's watched allocation set to
 * lprot as the engine needs it (clean pages may stay write-protected): 0 or
 * an errno, as os_protect. */
int vm_watch_protect_locked(struct vw_run *r, uintptr_t start, uintptr_t end, int lprot);
void vm_watch_decommitted_locked(struct vw_run *r, uintptr_t start, uintptr_t end);
void vm_watch_release_locked(struct vw_run *r);
void vm_watch_removed_locked(const struct vw_run *piece);
/* A run of a watched allocation the program moved with mremap (the
 * interposer's copy, before it enters the map): no longer watched. */
void vm_watch_moved_locked(struct vw_run *c);
/* The program's mprotect gave [start, end) lprot: watched pages re-armed. */
void vm_watch_program_protected_locked(uintptr_t start, uintptr_t end, int lprot);
void vm_watch_emptied_locked(uintptr_t base);

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
