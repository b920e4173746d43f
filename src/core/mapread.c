/*
 * mapread.c: reading the map without the lock (see regionmap.h, "Optimistic
 * reads").  VirtualQuery of the library's memory and the interposers' "is this
 * range the library's?" check come here, so they never wait behind a writer
 * that is making syscalls, scale across threads (no shared cache line is
 * written), and work from a signal handler whatever the interrupted code held.
 *
 * Rules for a read: every node is copied (rm_snap) and only the copy is used;
 * a copy may be stale or torn, so every walk is bounded by a step budget and
 * the result counts only if the sequence was even before and unchanged after.
 * Nodes, leaves and arena bitmaps are never unmapped, so nothing read can fault.
 */
#include "core/vw.h"
#include "core/space.h"

#include <string.h>

/* Tries before giving up on a quiet moment; each try is a few hundred ns at
 * most, a writer's window well under a microsecond. */
#define READ_TRIES 256
/* Steps for a first try: a tree of a billion runs is 60 levels deep, and a
 * region rarely spans more than a few dozen runs differing only in flags. */
#define BUDGET_SMALL 256
#define BUDGET_BIG ((size_t)1 << 26)

typedef uint64_t __attribute__((may_alias)) rm_word;
_Static_assert(sizeof(struct vw_run) % sizeof(rm_word) == 0, "vw_run is whole words");

/* Copies a node word by word with single loads (no torn words). */
RM_SEQLOCK_READER static void rm_snap(const struct vw_run *n, struct vw_run *out)
{
    const rm_word *src = (const rm_word *)(const void *)n;
    rm_word *dst = (rm_word *)(void *)out;
    for (size_t i = 0; i < sizeof *n / sizeof(rm_word); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

int rm_read(int (*fn)(void *ctx, size_t budget), void *ctx)
{
    size_t budget = BUDGET_SMALL;
    for (int i = 0; i < READ_TRIES; i++) {
        unsigned s = __atomic_load_n(&rm_seq, __ATOMIC_ACQUIRE);
        if (s & 1) {
            if (__atomic_load_n(&rm_writer, __ATOMIC_RELAXED) == rm_self())
                return fn(ctx, BUDGET_SMALL);   /* our own change, paused: best effort */
            vw_cpu_relax();
            continue;
        }
        int rc = fn(ctx, budget);
        rm_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&rm_seq, __ATOMIC_RELAXED) != s)
            continue;
        if (rc != RM_BUSY)
            return rc;
        budget = BUDGET_BIG;   /* a consistent view that is just long */
    }
    /* Writers keep changing the map: they run on other threads (a writer on
     * this one would be paused under us, its sequence odd, handled above), so
     * waiting for the lock cannot deadlock. */
    map_lock();
    int rc = fn(ctx, SIZE_MAX);
    map_unlock();
    return rc;
}

/* Tries for rm_read_quiet: only interference from a change that has already
 * ended (the lock free again) is worth another try. */
#define QUIET_TRIES 4

int rm_read_quiet(int (*fn)(void *ctx, size_t budget), void *ctx)
{
    for (int i = 0; i < QUIET_TRIES; i++) {
        /* A holder of the lock may have changed the kernel and not yet the
         * map: while it is held the map is not evidence (as vw_trylock
         * failing was), and this reader neither waits nor writes the lock. */
        if (__atomic_load_n(&vw_state.lock.state, __ATOMIC_ACQUIRE) != 0)
            return RM_BUSY;
        unsigned s = __atomic_load_n(&rm_seq, __ATOMIC_ACQUIRE);
        if (s & 1)
            return RM_BUSY;
        int rc = fn(ctx, BUDGET_SMALL);
        rm_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&rm_seq, __ATOMIC_RELAXED) == s &&
            __atomic_load_n(&vw_state.lock.state, __ATOMIC_RELAXED) == 0)
            return rc;
    }
    return RM_BUSY;
}

RM_SEQLOCK_READER int rm_lf_find_from(const struct vw_regionmap *m, uintptr_t addr, struct vw_run *out,
                    size_t budget)
{
    struct vw_run c;
    const struct vw_run *n = gi_get(addr);
    if (n) {
        rm_snap(n, &c);
        if (c.state && c.start <= addr && addr < c.end) {
            *out = c;
            return 1;
        }
    }
    int found = 0;
    n = (const struct vw_run *)__atomic_load_n(&m->tree.node, __ATOMIC_RELAXED);
    while (n) {
        if (budget-- == 0)
            return RM_BUSY;
        rm_snap(n, &c);
        if (addr < c.end) {
            *out = c;
            found = 1;
            if (addr >= c.start)
                return 1;
            n = (const struct vw_run *)c.rb.left;
        } else {
            n = (const struct vw_run *)c.rb.right;
        }
    }
    return found;
}

/* The region at addr (1), or where the next run starts (0), or RM_BUSY. */
static int region_at(const struct vw_regionmap *m, uintptr_t addr, struct rm_place *out,
                     size_t budget)
{
    struct vw_run *r = &out->region.run;
    int rc = rm_lf_find_from(m, addr, r, budget);
    out->next_run = rc == 1 ? r->start : UINTPTR_MAX;
    if (rc != 1 || r->start > addr || !r->state)
        return rc == RM_BUSY ? rc : 0;
    /* Runs that differ only in flags (locked) are one region to Windows. */
    uintptr_t end = r->end, alloc_end = rm_alloc_end(r);
    while (end < alloc_end) {
        struct vw_run n;
        if (budget-- == 0)
            return RM_BUSY;
        rc = rm_lf_find_from(m, end, &n, budget);
        if (rc == RM_BUSY)
            return rc;
        if (rc == 0 || n.start != end || n.alloc_base != r->alloc_base ||
            n.state != r->state || n.protect != r->protect)
            break;
        end = n.end;
    }
    out->region.end = end;
    return 1;
}

struct place_ctx {
    const struct vw_regionmap *m;
    uintptr_t addr;
    struct rm_place *out;
};

RM_SEQLOCK_READER static int place_fn(void *ctx, size_t budget)
{
    struct place_ctx *x = ctx;
    struct rm_place *o = x->out;
    int rc = region_at(x->m, x->addr, o, budget);
    o->in_run = rc == 1;
    if (rc != 0)
        return rc;
    o->stretch_end = 0;
    o->kind = space_stretch(x->addr, &o->stretch_end);
    o->next_arena = o->kind == SPACE_OUTSIDE ? space_next_arena(x->addr) : o->stretch_end;
    return 0;
}

void rm_read_place(const struct vw_regionmap *m, uintptr_t addr, struct rm_place *out)
{
    struct place_ctx x = { m, addr, out };
    if (rm_read(place_fn, &x) == RM_BUSY)
        out->in_run = 0;   /* a paused change of this thread's too long to walk: see rm_read */
}

struct touch_ctx {
    const struct vw_regionmap *m;
    uintptr_t start, end;
};

RM_SEQLOCK_READER static int touch_fn(void *ctx, size_t budget)
{
    struct touch_ctx *x = ctx;
    struct vw_run r;
    int rc = rm_lf_find_from(x->m, x->start, &r, budget);
    if (rc == RM_BUSY)
        return rc;
    if (rc == 1 && r.start < x->end)
        return 1;
    return space_holds(x->start, x->end);
}

int rm_read_touches(const struct vw_regionmap *m, uintptr_t start, uintptr_t end)
{
    struct touch_ctx x = { m, start, end };
    int rc = rm_read(touch_fn, &x);
    /* RM_BUSY: our own paused change, too torn to walk (see rm_read): say
     * "touches", so the interposer refuses (map_lock_unless_mine) rather
     * than pass a call on the library's memory to the kernel unrecorded. */
    return rc == RM_BUSY ? 1 : rc;
}
