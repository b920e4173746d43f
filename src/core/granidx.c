/*
 * granidx.c: the granule index (see granidx.h for the layout and invariants).
 *
 * Why a cache rather than an exact map: runs are page-granular and a granule
 * may hold several, and a run may span thousands of granules; keeping an exact
 * granule -> run map would make every split of a large reservation rewrite
 * thousands of slots.  Validating on read keeps writes bounded (GI_NOTE_MAX)
 * and makes a stale slot harmless.
 */
#include "core/granidx.h"
#include "core/regionmap.h"
#include "os/os.h"

#include <sys/mman.h>

#define LEAF_SLOTS ((uintptr_t)1 << (GI_LEAF_SHIFT - GI_SHIFT))
#define LEAF_BYTES (LEAF_SLOTS * sizeof(struct vw_run *))
#define GRANULE ((uintptr_t)1 << GI_SHIFT)

struct vw_run **gi_top[GI_TOP_SLOTS];
static uintptr_t leaf_bytes;

/* Leaves come four to a 2 MiB-aligned group.  From the second group on (more
 * than 16 GiB of arenas, a quarter of a million allocations or so) the group
 * asks for a transparent huge page: a random lookup then costs no TLB miss
 * for its slot.  The first group does not, so a small process pays 4 KiB per
 * 512 granules in use, not 2 MiB. */
#define GROUP_BYTES ((uintptr_t)2 << 20)
#define GROUP_LEAVES (GROUP_BYTES / LEAF_BYTES)

static struct vw_run **new_leaf(void)
{
    static uintptr_t group, used = GROUP_LEAVES, ngroups;
    if (used == GROUP_LEAVES) {
        uintptr_t g = 0;
        if (os_reserve_aligned(&g, GROUP_BYTES, GROUP_BYTES))
            return 0;
        if (os_protect(g, GROUP_BYTES, PROT_READ | PROT_WRITE)) {
            os_unmap(g, GROUP_BYTES);
            return 0;
        }
        if (ngroups++ > 0)
            os_advise(g, GROUP_BYTES, MADV_HUGEPAGE);
        group = g;
        used = 0;
        leaf_bytes += GROUP_BYTES;
    }
    return (struct vw_run **)(group + LEAF_BYTES * used++);
}

void gi_cover(uintptr_t start, uintptr_t end)
{
    for (uintptr_t t = start >> GI_LEAF_SHIFT; t <= (end - 1) >> GI_LEAF_SHIFT; t++) {
        if (t >= GI_TOP_SLOTS || gi_top[t])
            continue;
        struct vw_run **leaf = new_leaf();
        if (leaf)   /* else no leaf: the tree answers for this chunk */
            __atomic_store_n(&gi_top[t], leaf, __ATOMIC_RELEASE);
    }
}

static int live_in(const struct vw_run *n, uintptr_t lo, uintptr_t hi)
{
    return n && n->state && n->start < hi && n->end > lo;
}

void gi_note(struct vw_run *r, uintptr_t from, uintptr_t to)
{
    if (from < r->start)
        from = r->start;
    if (to > r->end)
        to = r->end;
    if (from >= to)
        return;
    uintptr_t g = from & ~(GRANULE - 1);
    if (g < from) {
        /* A granule r only starts in: keep a live run that already holds it. */
        struct vw_run **s = gi_slot(g);
        if (s && !live_in(*s, g, g + GRANULE))
            __atomic_store_n(s, r, __ATOMIC_RELAXED);
        g += GRANULE;
    }
    for (unsigned n = 0; g < to && g >= from && n < GI_NOTE_MAX; g += GRANULE, n++) {
        struct vw_run **s = gi_slot(g);
        if (s)
            __atomic_store_n(s, r, __ATOMIC_RELAXED);
    }
}

void gi_forget(uintptr_t start, uintptr_t end)
{
    for (uintptr_t g = start & ~(GRANULE - 1); g < end; g += GRANULE) {
        struct vw_run **s = gi_slot(g);
        if (s)
            __atomic_store_n(s, (struct vw_run *)0, __ATOMIC_RELAXED);
    }
}

uintptr_t gi_leaf_bytes(void)
{
    return leaf_bytes;
}
