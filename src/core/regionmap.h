/*
 * regionmap.h: the library's record of its allocations.
 *
 * The map is a red-black tree of runs keyed by address.  A run is a maximal
 * range of pages of one allocation with the same state, protection and flags;
 * an allocation is the sequence of runs that share alloc_base.  Memory is
 * proportional to the number of runs, never to pages: a 1 TiB reservation is
 * one 64-byte node.
 *
 * Invariants (checked by rm_check in debug builds and by the tests through
 * VirtualQuery):
 * - runs never overlap; the runs of an allocation tile [alloc_base, alloc_end)
 *   exactly, with no gap;
 * - two neighbouring runs of the same allocation differ in state, protect or
 *   flags (they are merged otherwise);
 * - reserved runs have protect 0 and no flags.
 *
 * No syscalls, no policy, no locking: every function needs the map lock held
 * by the caller, except the lock-free readers at the end (rm_read and what
 * uses it, in mapread.c).  Every change is made inside a write window
 * (rm_write_begin/end) so that those readers can tell.  Lookups go through
 * the granule index (granidx.h) before the tree.  Functions that may need
 * nodes take them pre-allocated, so a failure can be reported before
 * anything has changed.
 */
#ifndef VW_REGIONMAP_H
#define VW_REGIONMAP_H

#include <stddef.h>
#include <stdint.h>
#include "core/rbtree.h"
#include "core/pool.h"
#include "core/granidx.h"

enum { RUN_RESERVED = 1, RUN_COMMITTED = 2 };
enum {
    RUN_LOCKED = 1,
    /* MEM_RESET / OfferVirtualMemory left the pages droppable (MADV_FREE). */
    RUN_RESET = 2,
    /* Some page of a RUN_RESET run was seen dropped (and may have been filled
     * again since, by VirtualLock): the next undo must fail. */
    RUN_LOST = 4,
};
enum {
    /* Pages left the allocation and may now hold someone else's mapping
     * (munmap outside the arenas, mmap MAP_FIXED, mremap): release and
     * decommit must touch the remaining runs only. */
    ALLOC_HOLES = 1,
    /* The allocation replaced a placeholder (MEM_REPLACE_PLACEHOLDER, or a
     * view mapped into one): MEM_PRESERVE_PLACEHOLDER may turn it back. */
    ALLOC_FROM_PLACEHOLDER = 2,
};

/* The allocation's size is kept in 4 KiB units in a bit-field, so a million
 * single-run allocations cost 64 MB of nodes (one 64-byte node, a cache line,
 * each): 35 bits of units cover a 47-bit user range, 36 bits (aarch64: 48
 * bits, VW_MAX_ADDR in vw.h) spill the flags into the kind word, which has
 * room for them.  vw.h checks the width against VW_MAX_ADDR at compile
 * time for every architecture. */
#if defined(__x86_64__) || defined(__i386__) || UINTPTR_MAX == 0xFFFFFFFFu
#define RM_UNITS_BITS 35
#else
#define RM_UNITS_BITS 36
#endif
struct vw_run {
    struct rb_node rb;
    uintptr_t start, end;          /* [start, end), page aligned */
    uintptr_t alloc_base;
    uint64_t alloc_units : RM_UNITS_BITS; /* allocation size / 4096 */
    uint64_t alloc_protect : 11;   /* protection given to VirtualAlloc (modifiers kept) */
    uint64_t protect : 11;         /* Windows protection of committed pages, 0 if reserved */
    uint64_t alloc_flags : 2;      /* ALLOC_HOLES */
    uint64_t state : 2;            /* RUN_RESERVED or RUN_COMMITTED; 0 in a freed node */
    uint64_t flags : 3;            /* RUN_LOCKED, RUN_RESET, RUN_LOST */
    /* What kind of allocation this is (enum vm_kind in vm.h: private, large
     * pages, write-watched, AWE window, view, placeholder) and the index of
     * the family's side record for it (0: none).  The same in every run of
     * an allocation; opaque to the map, which copies them on splits. */
    uint64_t kind : 4;
    uint64_t ext : 28;
};
#if RM_UNITS_BITS == 35 && UINTPTR_MAX > 0xFFFFFFFFu
_Static_assert(sizeof(struct vw_run) == 64, "struct vw_run: 64 bytes (one cache line) on 64-bit");
#endif
/* The protection fields hold every PAGE_* value with its modifiers (up to
 * PAGE_WRITECOMBINE 0x400); state and flags hold their largest values. */
_Static_assert(0x7FF >= (0x80 | 0x100 | 0x200 | 0x400), "vw_run protect fields too narrow");
_Static_assert(RUN_COMMITTED < 4 && (RUN_LOCKED | RUN_RESET | RUN_LOST) < 8 &&
                   (ALLOC_HOLES | ALLOC_FROM_PLACEHOLDER) < 4,
               "vw_run state/flags fields too narrow");

#define RM_UNIT 4096u

static inline uintptr_t rm_alloc_end(const struct vw_run *r)
{
    return r->alloc_base + (uintptr_t)r->alloc_units * RM_UNIT;
}

static inline void rm_set_alloc_end(struct vw_run *r, uintptr_t end)
{
    r->alloc_units = (end - r->alloc_base) / RM_UNIT;
}

struct vw_regionmap {
    struct rb_root tree;
    struct vw_pool pool;
    size_t nallocs;
};

#define VW_REGIONMAP_INIT { { NULL }, VW_POOL_INIT(sizeof(struct vw_run)), 0 }

/* ---- Optimistic reads (a seqlock) ----------------------------------------
 * Readers do not take the map lock: they read the map, the granule index and
 * the arena table as they are, then check that no writer ran meanwhile
 * (rm_read in mapread.c).  Writers, who hold the map lock, bracket every
 * change to those structures with rm_write_begin/rm_write_end: the sequence
 * is odd while a change is under way.  Windows nest (depth counted under the
 * lock) and hold no syscall, so they last well under a microsecond.  The
 * writer's identity (the address of a thread-local byte) lets a signal
 * handler tell that it interrupted its own thread's change and must not wait.
 * Nodes are type-stable (pool.h), so a racing reader may read stale nodes but
 * never unmapped memory. */
/* ThreadSanitizer does not model fences (GCC warns, and -Werror stops the
 * build): under it, a compiler barrier (its builds are x86-64, where a
 * release or acquire fence is no more), and the readers' racing copies are
 * not instrumented (RM_SEQLOCK_READER): a seqlock races by design. */
#if defined(__SANITIZE_THREAD__)
#define RM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RM_TSAN 1
#endif
#endif
#ifdef RM_TSAN
#define rm_fence(order) __asm__ __volatile__("" ::: "memory")
#define RM_SEQLOCK_READER __attribute__((no_sanitize("thread"), noinline))
#else
#define rm_fence(order) __atomic_thread_fence(order)
#define RM_SEQLOCK_READER
#endif

extern unsigned rm_seq;
extern unsigned rm_wdepth;
extern const void *rm_writer;
extern __thread char rm_tls_self __attribute__((tls_model("initial-exec")));

static inline const void *rm_self(void)
{
    return &rm_tls_self;
}

static inline void rm_write_begin(void)
{
    if (rm_wdepth++ == 0) {
        __atomic_store_n(&rm_writer, rm_self(), __ATOMIC_RELAXED);
        __atomic_store_n(&rm_seq, rm_seq + 1, __ATOMIC_RELAXED);
        rm_fence(__ATOMIC_RELEASE);   /* odd before the change */
    }
}

static inline void rm_write_end(void)
{
    if (--rm_wdepth == 0) {
        __atomic_store_n(&rm_seq, rm_seq + 1, __ATOMIC_RELEASE);   /* change before even */
        __atomic_store_n(&rm_writer, (const void *)0, __ATOMIC_RELAXED);
    }
}

/* A child process made while another thread of the parent was inside a write
 * section (_Fork, clone) inherits an odd sequence and a writer that does not
 * exist: start even again, with no writer (state.c, vw_process_enter). */
static inline void rm_seq_reset_after_fork(void)
{
    rm_wdepth = 0;
    __atomic_store_n(&rm_writer, (const void *)0, __ATOMIC_RELAXED);
    if (rm_seq & 1)
        __atomic_store_n(&rm_seq, rm_seq + 1, __ATOMIC_RELEASE);
}

/* The run containing addr, or NULL (granule index first, then the tree). */
struct vw_run *rm_find(const struct vw_regionmap *m, uintptr_t addr);
/* The first run ending above addr (containing it or after it), or NULL. */
struct vw_run *rm_find_from(const struct vw_regionmap *m, uintptr_t addr);
struct vw_run *rm_first(const struct vw_regionmap *m);
struct vw_run *rm_next(const struct vw_run *r);
struct vw_run *rm_prev(const struct vw_run *r);
/* First run of r's allocation. */
struct vw_run *rm_alloc_first(struct vw_run *r);
/* The next run of r's allocation, or NULL (runs of other allocations inside
 * its span skipped). */
struct vw_run *rm_alloc_next(const struct vw_run *r);
/* 1 if any run overlaps [start, end). */
int rm_overlaps(const struct vw_regionmap *m, uintptr_t start, uintptr_t end);
/* 1 if [start, end) overlaps an allocation's span [alloc_base, alloc_end),
 * holes the program cut in it included: the library never places another
 * allocation there (one base per allocation, no allocation inside another). */
int rm_span_overlaps(const struct vw_regionmap *m, uintptr_t start, uintptr_t end);

/* Node reservation: rm_spare_get fills the spares up to `need` (<= 2);
 * returns 0 or ENOMEM.  rm_spare_put returns the unused ones. */
struct rm_spares {
    struct vw_run *node[2];
};
int rm_spare_get(struct vw_regionmap *m, struct rm_spares *s, int need);
void rm_spare_put(struct vw_regionmap *m, struct rm_spares *s);

/* Records a new allocation [base, end) as one run; uses one spare. */
struct vw_run *rm_insert_alloc(struct vw_regionmap *m, struct rm_spares *s, uintptr_t base,
                               uintptr_t end, uint16_t alloc_protect, uint8_t state,
                               uint16_t protect);
/* Removes every run of the allocation containing r. */
void rm_remove_alloc(struct vw_regionmap *m, struct vw_run *r);

/* Sets state, protect and flags on [start, end) of the allocation holding it:
 * fields are replaced as (old & ~mask) | value for flags, and state/protect are
 * replaced unless given as 0 (state) / RM_KEEP_PROTECT.  Splits at most two
 * runs (two spares) and merges neighbours afterwards. */
#define RM_KEEP_PROTECT 0xFFFFu
void rm_set_range(struct vw_regionmap *m, struct rm_spares *s, uintptr_t start, uintptr_t end,
                  uint8_t state, uint16_t protect, uint8_t flags_mask, uint8_t flags_value);

/* What the runs of [start, end) hold; [start, end) must lie inside one
 * allocation's bounds (pages missing from it count as any_hole). */
struct rm_summary {
    int any_reserved, any_committed, any_locked, any_unlocked;
    int any_guard, any_noaccess, any_hole;
    int any_other;   /* runs of another allocation (inside a hole of the first's) */
    uint16_t first_protect;
    size_t reserved_bytes, committed_bytes, locked_bytes;   /* within [start, end) */
};
void rm_summarize(const struct vw_regionmap *m, uintptr_t start, uintptr_t end,
                  struct rm_summary *out);

/* Removes [start, end) from whatever allocations hold it: the pages leave
 * their allocations (the rest of each allocation stays valid).  For every run
 * piece removed, `removed` is called; for every allocation left with no run,
 * `emptied` is called with its bounds and flags (after its last run is gone).
 * Needs two spares; refills them from the pool as it goes and returns ENOMEM
 * if that fails (the map is consistent, the range partly removed). */
struct rm_remove_ops {
    void (*removed)(const struct vw_run *piece, void *ctx);
    void (*emptied)(uintptr_t base, uintptr_t end, uint16_t alloc_flags, void *ctx);
    void *ctx;
};
int rm_remove_range(struct vw_regionmap *m, struct rm_spares *s, uintptr_t start,
                    uintptr_t end, const struct rm_remove_ops *ops);
/* Inserts a run [start, end) of an existing or new allocation as given by
 * `proto` (alloc bounds, protections, state, flags); uses one spare. */
void rm_insert_run(struct vw_regionmap *m, struct rm_spares *s, const struct vw_run *proto);
/* Sets alloc_flags bits on every run of r's allocation. */
void rm_mark_alloc(struct vw_run *r, uint16_t flags);

/* Placeholders (vm_placeholder.c).  rm_find_before: the last run starting
 * below addr, or NULL.  rm_split_alloc: r's allocation becomes two at `at`
 * (a page inside it): [base, at) and [at, end), each its own allocation;
 * uses one spare if `at` falls inside a run.  rm_join_allocs: the
 * consecutive allocations from r's up to `end` (an allocation's end) become
 * one with r's base; alike neighbouring runs merge (no spare needed). */
struct vw_run *rm_find_before(const struct vw_regionmap *m, uintptr_t addr);
void rm_split_alloc(struct vw_regionmap *m, struct rm_spares *s, struct vw_run *r, uintptr_t at);
void rm_join_allocs(struct vw_regionmap *m, struct vw_run *r, uintptr_t end);

/* Clears RUN_LOCKED everywhere and merges (fork child). */
void rm_clear_locks(struct vw_regionmap *m);

/* ---- Lock-free reading (mapread.c) ----------------------------------------
 * rm_read(fn, ctx) runs fn as an optimistic read and returns its result: fn
 * may only read the map (with the rm_lf_* functions, the space_* lookups) and
 * write its ctx, and must return RM_BUSY when it ran out of `budget` steps
 * (a torn view can send a walk in circles).  rm_read retries while writers
 * interfere; if they keep interfering it runs fn under the map lock, except
 * in a signal handler that interrupted this thread's own change (then the map
 * is half-changed for good until the handler returns: fn's best effort over
 * the paused map stands; see README "Signal safety"). */
#define RM_BUSY (-1)
int rm_read(int (*fn)(void *ctx, size_t budget), void *ctx);
/* rm_read for a caller that must never wait nor trust a half-made change
 * (the pointer probe, also from signal handlers): fn's result if it ran on a
 * consistent view with the map lock free before and after (so no operation
 * was between its syscall and its map change), else RM_BUSY.  Never takes or
 * writes the lock. */
int rm_read_quiet(int (*fn)(void *ctx, size_t budget), void *ctx);
/* Copies the run containing addr, or else the first run above it, into *out:
 * 1 if found, 0 if none, RM_BUSY if the walk took more than budget steps.
 * For rm_read's fn (any node may be stale: the copy is what counts). */
int rm_lf_find_from(const struct vw_regionmap *m, uintptr_t addr, struct vw_run *out,
                    size_t budget);
/* What lies at addr, for VirtualQuery: the region of the run holding it (the
 * region runs on over the following runs of the same allocation, state and
 * protection), or else where the next run starts and what space_stretch and
 * space_next_arena say there.  Lock-free (see rm_read). */
struct rm_region {
    struct vw_run run;   /* a copy of the run containing addr */
    uintptr_t end;       /* end of the region */
};
struct rm_place {
    int in_run;
    struct rm_region region;   /* if in_run */
    uintptr_t next_run;        /* if not: start of the next run, or UINTPTR_MAX */
    int kind;                  /* if not: SPACE_* at addr */
    uintptr_t stretch_end, next_arena;
};
void rm_read_place(const struct vw_regionmap *m, uintptr_t addr, struct rm_place *out);
/* 1 if [start, end) overlaps a run or arena space that is not retired
 * (vw_touches_library_locked without the lock). */
int rm_read_touches(const struct vw_regionmap *m, uintptr_t start, uintptr_t end);

#endif
