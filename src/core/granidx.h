/*
 * granidx.h: the granule index, a lookup cache from a 64 KiB granule to a run
 * of the region map, so that finding the run at an address costs a few cache
 * misses at any number of allocations instead of a 20-level tree walk.
 *
 * Layout: a static top level with one slot per 4 GiB of address space, each
 * pointing to a leaf of 65,536 run pointers (512 KiB of MAP_NORESERVE memory:
 * only the pages of granules in use cost memory, 8 bytes per granule).  Leaves
 * exist for the 4 GiB chunks that hold arenas (gi_cover, called when an arena
 * is made); dedicated reservations elsewhere stay in the tree alone.
 *
 * Invariants:
 * - the index is a cache, never the truth: a slot may be NULL or point to a
 *   node that no longer holds that granule (freed: state 0, or reused
 *   elsewhere).  Every user validates what it finds (gi_find checks that the
 *   node is live and contains the address) and falls back to the tree.
 * - leaves and the nodes they point to are never unmapped (pool memory is
 *   type-stable), so a reader without the lock may read a stale slot and a
 *   stale node but never unmapped memory.  A leaf whose arena is given back
 *   is cleared (gi_forget), not unmapped.
 * Writers (gi_cover, gi_note, gi_forget) need the map lock.
 */
#ifndef VW_GRANIDX_H
#define VW_GRANIDX_H

#include <stddef.h>
#include <stdint.h>

struct vw_run;

#define GI_SHIFT 16          /* 64 KiB granules */
#define GI_LEAF_SHIFT 32     /* one leaf per 4 GiB */
#define GI_TOP_SLOTS ((size_t)1 << 16)   /* 48-bit address space */

extern struct vw_run **gi_top[GI_TOP_SLOTS];

/* The slot for addr, or NULL when no leaf covers it.  Lock-free. */
static inline struct vw_run **gi_slot(uintptr_t addr)
{
    uintptr_t t = addr >> GI_LEAF_SHIFT;
    if (t >= GI_TOP_SLOTS)
        return 0;
    struct vw_run **leaf = __atomic_load_n(&gi_top[t], __ATOMIC_ACQUIRE);
    if (!leaf)
        return 0;
    return &leaf[(addr >> GI_SHIFT) & ((1u << (GI_LEAF_SHIFT - GI_SHIFT)) - 1)];
}

/* What the slot of addr holds (may be stale: validate).  Lock-free. */
static inline struct vw_run *gi_get(uintptr_t addr)
{
    struct vw_run **s = gi_slot(addr);
    return s ? __atomic_load_n(s, __ATOMIC_RELAXED) : 0;
}

/* Makes leaves for the 4 GiB chunks of [start, end) (an arena).  A leaf that
 * cannot be mapped is simply absent: lookups there use the tree. */
void gi_cover(uintptr_t start, uintptr_t end);
/* Records that run r holds the granules whose base lies in [from, to) (within
 * r), and the granule r starts in unless its slot already holds a live run
 * there.  At most GI_NOTE_MAX granules are written per call, so splitting a
 * huge run stays cheap; the rest keep pointing to the run's other half, a
 * validated miss that the tree answers.  16 granules (1 MiB) keep a commit or
 * decommit of one page in a huge reservation (two splits, two merges) at a
 * few dozen stores; an index that wrote thousands per change made workload 3
 * of the bench 1.8x slower. */
#define GI_NOTE_MAX 16
void gi_note(struct vw_run *r, uintptr_t from, uintptr_t to);
/* Clears the slots of [start, end) (an arena given back); leaves stay mapped. */
void gi_forget(uintptr_t start, uintptr_t end);
/* Bytes mapped for leaves (metadata accounting). */
uintptr_t gi_leaf_bytes(void);

#endif
