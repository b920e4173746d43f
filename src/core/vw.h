/*
 * vw.h: internal interfaces shared by the layers (win32/ -> nt/ -> core/ ->
 * os/; core/vm.h is the VM core's own interface).
 *
 * Conventions: the edge files (win32/, nt/) validate, round and map errors;
 * the Win32 edge sets the last error (vw_fail).  Functions named *_locked need
 * vw_state.lock held; the rest take it themselves or need none.  Nothing here
 * is exported: the version script and -fvisibility=hidden keep it internal.
 */
#ifndef VW_VW_H
#define VW_VW_H

#include <stddef.h>
#include <stdint.h>
#include <virtualwin.h>

#include "core/regionmap.h"
#include "os/spinlock.h"
#include "os/proc.h"

#define VW_API __attribute__((visibility("default")))

#define VW_MIN_ADDR ((uintptr_t)0x10000)
#if defined(__x86_64__)
#define VW_MAX_ADDR ((uintptr_t)0x7FFFFFFEFFFFull)
#elif defined(__aarch64__)
#define VW_MAX_ADDR ((uintptr_t)0xFFFFFFFEFFFFull)   /* 48-bit user space less 64 KiB */
#else
#define VW_MAX_ADDR ((uintptr_t)0x7FFFFFFEFFFFull)
#endif
#define VW_PSEUDO_PROCESS ((HANDLE)(intptr_t)-1)
/* An allocation may span the whole user range: its size, in the map's units,
 * must fit the run's alloc_units field (regionmap.h). */
_Static_assert((uint64_t)(VW_MAX_ADDR + 1 - VW_MIN_ADDR) / RM_UNIT <=
                   ((uint64_t)1 << RM_UNITS_BITS) - 1,
               "struct vw_run alloc_units cannot hold the user address range");

struct vw_state {
    vw_lock_t lock;
    struct vw_regionmap map;
    uintptr_t page;        /* host page size */
    int ready;             /* settings read, fork handlers registered */
    /* Accounting (under the lock): bytes committed and locked in the library's
     * allocations, and the commit limit from VIRTUALWIN_COMMIT_LIMIT (0: none). */
    size_t committed, locked, commit_limit;
    /* Fork (state.c): nonzero while the forking thread holds the lock across
     * fork(), and how deep it re-entered from other libraries' prepare/parent
     * handlers. */
    int fork_holder, fork_nest;
};

extern struct vw_state vw_state;

/* Lazy, idempotent initialisation.  vw_init() (every API entry) reads the
 * settings and registers the fork handlers once; vw_init_page() (the
 * interposed mmap family) only needs the page size, because those calls can
 * come from a sanitizer runtime or another preloaded library before libc has
 * set up the environment, too early to read settings from it.  Each costs one
 * load once done. */
void vw_init_slow(void);
void vw_init_page_slow(void);
static inline void vw_init(void)
{
    if (__builtin_expect(!__atomic_load_n(&vw_state.ready, __ATOMIC_ACQUIRE), 0))
        vw_init_slow();
}
static inline void vw_init_page(void)
{
    if (__builtin_expect(__atomic_load_n(&vw_state.page, __ATOMIC_ACQUIRE) == 0, 0))
        vw_init_page_slow();
}

static inline uintptr_t vw_page(void)
{
    return vw_state.page;
}
static inline uintptr_t page_floor(uintptr_t a)
{
    return a & ~(vw_page() - 1);
}
static inline uintptr_t page_ceil(uintptr_t a)
{
    return (a + vw_page() - 1) & ~(vw_page() - 1);
}

/* First map operation in a process (a fork child, whatever made it): repair
 * the inherited state (state.c, os/proc.h). */
void vw_process_enter(void);

/* The map lock's word names its holder: 0 free, else (tag << 1) | waiters,
 * where tag is a number given to each thread on its first lock (state.c).
 * The compare-and-swap that takes the lock writes the tag in one step, so a
 * signal handler can always tell that its own thread holds the lock (it
 * interrupted a map change there), whatever instruction it interrupted, and
 * must not wait: it would wait for itself.  Costs one thread-local load. */
extern __thread unsigned vw_tls_tag __attribute__((tls_model("initial-exec")));
unsigned vw_tag_slow(void);
/* Contended or re-entered: 0 once taken; 1 if this thread holds it and
 * may_fail (else it waits, as a plain lock would).  Re-entry from another
 * library's atfork handler while the forking thread holds it nests (state.c). */
int map_lock_slow(unsigned tag, int may_fail);

static inline int map_lock_take(int may_fail)
{
    if (__builtin_expect(!os_proc_entered(), 0))
        vw_process_enter();
    unsigned tag = vw_tls_tag;
    if (__builtin_expect(tag == 0, 0))
        tag = vw_tag_slow();
    int c = 0;
    if (__builtin_expect(!__atomic_compare_exchange_n(&vw_state.lock.state, &c, (int)(tag << 1), 0,
                                                      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED), 0))
        return map_lock_slow(tag, may_fail);
    return 0;
}
/* For callers that cannot be reached from a handler that interrupted a map
 * change on the same thread (they would wait for themselves). */
static inline void map_lock(void)
{
    (void)map_lock_take(0);
}
/* For every operation a signal handler may call: 1 once the lock is taken,
 * 0 (nothing taken) if this thread already holds it, that is, the caller runs
 * in a handler that interrupted a map change on its own thread.  The caller
 * then fails cleanly, changing nothing: API calls with STATUS_POSSIBLE_DEADLOCK
 * (ERROR_POSSIBLE_DEADLOCK), the interposers with ENOMEM (README, "Signal
 * safety", says why). */
static inline int map_lock_unless_mine(void)
{
    return map_lock_take(1) == 0;
}
static inline void map_unlock(void)
{
    /* Only the lock holder gets here, and fork_nest is nonzero only while the
     * forking thread holds it: a plain read is race-free. */
    if (__builtin_expect(vw_state.fork_nest != 0, 0)) {
        vw_state.fork_nest--;
        return;
    }
    if (__atomic_exchange_n(&vw_state.lock.state, 0, __ATOMIC_RELEASE) & 1)
        os_futex_wake(&vw_state.lock.state, 1);
}

/* 1 if [start, end) overlaps a library allocation or arena space (state.c):
 * such a range is not foreign memory, whatever the kernel shows there. */
int vw_touches_library_locked(uintptr_t start, uintptr_t end);

/* Spec 6 and 8: every page of [start, end) committed, inside r's allocation.
 * Fills *s; 0 or ERROR_INVALID_ADDRESS (state.c).  Needs the lock. */
DWORD vw_committed_range_locked(const struct vw_run *r, uintptr_t start, uintptr_t end,
                                struct rm_summary *s);

/* Last error (lasterror.c). */
void vw_set_error(DWORD err);
/* Sets the last error and returns 0 (FALSE / NULL / 0), for `return vw_fail(e);`. */
static inline int vw_fail(DWORD err)
{
    vw_set_error(err);
    return 0;
}

/* Handles (win32/process.c): 0 if h names the current process with the rights
 * `need`, else a Win32 error (another process: ERROR_NOT_SUPPORTED). */
DWORD vw_check_process(HANDLE h, DWORD need);

/* Protection (protection.c). */
#define VW_PROT_MODIFIERS (PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE)
#define VW_CACHE_BITS (PAGE_NOCACHE | PAGE_WRITECOMBINE)
/* 0 if flProtect is acceptable for private memory, else ERROR_INVALID_PARAMETER. */
DWORD prot_validate(DWORD prot);
/* The same, optionally accepting PAGE_WRITECOPY / PAGE_EXECUTE_WRITECOPY
 * (valid on private file mappings, such as images). */
DWORD prot_validate_ex(DWORD prot, int allow_writecopy);
/* Windows protection (valid) -> PROT_* (PAGE_GUARD: PROT_NONE). */
int prot_to_linux(DWORD prot);
/* Kernel PROT_* -> Windows protection of a mapped page. */
DWORD prot_from_linux(int prot);
/* What a page reports after being given `prot` in an allocation made with
 * alloc_protect: TARGETS bits dropped, caching bits from the allocation. */
DWORD prot_effective(DWORD prot, DWORD alloc_protect);

/* Range helpers: 1 if [addr, addr+size) wraps or leaves the user range. */
int vw_range_invalid(uintptr_t addr, size_t size);

/* Commit accounting (core/vm_alloc.c): 0 if `bytes` more may be committed, else
 * ERROR_COMMITMENT_LIMIT.  Needs the lock. */
DWORD vw_commit_check_locked(size_t bytes);
/* Lock quota (core/vm_wsquota.c): 0 if `bytes` more may be locked, else
 * ERROR_WORKING_SET_QUOTA.  Reads RLIMIT_MEMLOCK; call it with the lock held only
 * because the count it compares against lives under the lock. */
DWORD vw_lock_quota_check_locked(size_t bytes);
/* Large pages (core/vm_large.c): the page size, and the allocation path. */
size_t vw_large_page_size(void);
/* 0 and *base, or a Win32 error; nothing changed on failure. */
DWORD vw_alloc_large(uintptr_t addr, SIZE_T size, DWORD prot, uintptr_t *base);
/* Parses "123", "64K", "2M", "1G" (also with a B: "64KB"); 0 if invalid. */
size_t vw_parse_size(const char *s);

/* Writes the byte at p back unchanged, atomically.  A compare-and-swap of a
 * value with itself is a real store no compiler may drop (an atomic OR of zero
 * is not: clang removes it).  Used to cancel MADV_FREE on a page. */
static inline void vw_touch_write(volatile unsigned char *p)
{
    unsigned char v = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(p, &v, v, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Marks RUN_LOST the RUN_RESET runs of [start, end) with a page the kernel
 * dropped, before something (mlock) fills them again (core/vm_reset.c).  Needs the lock. */
void vw_note_lost_pages_locked(uintptr_t start, uintptr_t end);

/* MEM_RESET and MEM_RESET_UNDO (core/vm_reset.c): 0 or a Win32 error. */
DWORD vw_reset(uintptr_t addr, size_t size);
DWORD vw_reset_undo(uintptr_t addr, size_t size);
/* Discard (offer 0: MADV_DONTNEED) or Offer (MADV_FREE) the committed pages of
 * a page-aligned range inside one allocation; Reclaim them (ERROR_BUSY if any
 * lost its contents); Prefetch a range (a hint: bad ranges are skipped).  0 or
 * ERROR_INVALID_PARAMETER / ERROR_BUSY (core/vm_reset.c). */
DWORD vm_discard(uintptr_t addr, size_t size, int offer);
DWORD vm_reclaim(uintptr_t addr, size_t size);
void vm_prefetch(uintptr_t addr, size_t size);

/* Puts a protection back after a partial failure; a refusal here would leave
 * the kernel and the map disagreeing, so it is retried (the conditions that
 * make mprotect fail, such as a transient shortage, rarely persist). */
int vw_protect_back(uintptr_t addr, size_t len, int prot);

/* Syscall errno -> Win32 error (core/vm_alloc.c). */
DWORD vw_error_from_errno(int err);
/* Re-applies the recorded protection of every run in [start, end) after a
 * partly failed mprotect (core/vm_alloc.c). */
void vw_restore_protection_locked(uintptr_t start, uintptr_t end);

/* AWE windows (core/vm_awe.c), all with the lock held.  A window is an
 * allocation of kind VM_KIND_PHYSICAL whose runs carry ext = its record.
 * window_new: a record for a new window [base, base+len) (0 or an errno);
 * window_gone: the window was released (its pages replaced by the kernel
 * already): its frames are unmapped, its record freed; pages_gone: the pages
 * of a run piece left the window at the program's hands (munmap, mmap over
 * it): the frames mapped there are unmapped; after_fork: the child's repair
 * (no frames, windows empty), from vw_process_enter.  The calls themselves
 * are in core/vm.h. */
int vw_awe_window_new_locked(uintptr_t base, size_t len, uint32_t *ext);
void vw_awe_window_gone_locked(uint32_t ext);
void vw_awe_pages_gone_locked(const struct vw_run *piece);
void vw_awe_after_fork(void);

#endif
