/*
 * regionmap.c: runs of pages in a red-black tree (see regionmap.h for the
 * invariants).  Splits happen only at the edges of the range being changed, and
 * every change ends with a merge of the touched runs and their neighbours, so
 * the number of nodes stays equal to the number of distinct runs.
 */
#include "core/regionmap.h"

#include <errno.h>

#define RUN(n) ((struct vw_run *)(n))

unsigned rm_seq;
unsigned rm_wdepth;
const void *rm_writer;
__thread char rm_tls_self __attribute__((tls_model("initial-exec")));

/* The index's guess for addr, checked (with the lock held a node with a
 * state is in the tree); a run starting later in the same granule is one
 * step on.  NULL: ask the tree. */
static struct vw_run *index_find(uintptr_t addr)
{
    struct vw_run *r = gi_get(addr);
    if (!r || !r->state)
        return NULL;
    if (r->start <= addr && addr < r->end)
        return r;
    if (r->end <= addr && (r->end >> GI_SHIFT) == (addr >> GI_SHIFT)) {
        struct vw_run *n = rm_next(r);
        if (n && n->start <= addr && addr < n->end)
            return n;
    }
    return NULL;
}

struct vw_run *rm_find(const struct vw_regionmap *m, uintptr_t addr)
{
    struct vw_run *hit = index_find(addr);
    if (hit)
        return hit;
    struct rb_node *n = m->tree.node;
    while (n) {
        struct vw_run *r = RUN(n);
        if (addr < r->start)
            n = n->left;
        else if (addr >= r->end)
            n = n->right;
        else
            return r;
    }
    return NULL;
}

struct vw_run *rm_find_from(const struct vw_regionmap *m, uintptr_t addr)
{
    struct vw_run *hit = index_find(addr);
    if (hit)
        return hit;
    struct rb_node *n = m->tree.node;
    struct vw_run *best = NULL;
    while (n) {
        struct vw_run *r = RUN(n);
        if (addr < r->end) {
            best = r;
            if (addr >= r->start)
                return r;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

struct vw_run *rm_first(const struct vw_regionmap *m)
{
    return RUN(rb_first(&m->tree));
}

struct vw_run *rm_next(const struct vw_run *r)
{
    return RUN(rb_next(&r->rb));
}

struct vw_run *rm_prev(const struct vw_run *r)
{
    return RUN(rb_prev(&r->rb));
}

/* An allocation's runs need not be adjacent in the tree: the program may have
 * cut pages out of it (munmap) and the kernel put another allocation's pages
 * there (mremap).  So the runs of an allocation are those with its alloc_base
 * inside its span [alloc_base, alloc_end), others skipped; the walks stop at
 * the span's edge, which in the usual case is the next run (no extra step). */
struct vw_run *rm_alloc_first(struct vw_run *r)
{
    /* Not "start == alloc_base": munmap may have taken the first pages. */
    struct vw_run *first = r;
    for (struct vw_run *p = rm_prev(r); p && p->start >= r->alloc_base; p = rm_prev(p))
        if (p->alloc_base == r->alloc_base)
            first = p;
    return first;
}

struct vw_run *rm_alloc_next(const struct vw_run *r)
{
    uintptr_t end = rm_alloc_end(r);
    for (struct vw_run *q = rm_next(r); q && q->start < end; q = rm_next(q))
        if (q->alloc_base == r->alloc_base)
            return q;
    return NULL;
}

int rm_overlaps(const struct vw_regionmap *m, uintptr_t start, uintptr_t end)
{
    struct vw_run *r = rm_find_from(m, start);
    return r && r->start < end;
}

static struct vw_run *rm_last(const struct vw_regionmap *m)
{
    struct rb_node *n = m->tree.node;
    while (n && n->right)
        n = n->right;
    return RUN(n);
}

int rm_span_overlaps(const struct vw_regionmap *m, uintptr_t start, uintptr_t end)
{
    struct vw_run *r = rm_find_from(m, start);
    if (r && r->alloc_base < end)
        return 1;   /* r ends above start, its span starts below end */
    /* Runs ending at or below start whose allocation reaches past it (a hole
     * the program cut at the end); a few steps cover allocations nested in a
     * hole of another. */
    struct vw_run *p = r ? rm_prev(r) : rm_last(m);
    for (int i = 0; p && i < 8; p = rm_prev(p), i++)
        if (rm_alloc_end(p) > start)
            return 1;
    return 0;
}

/* Nodes outside the tree have state 0, so a stale pointer to one (the query
 * hint) can be recognised under the lock. */
static void node_free(struct vw_regionmap *m, struct vw_run *r)
{
    r->state = 0;
    pool_put(&m->pool, r);
}

int rm_spare_get(struct vw_regionmap *m, struct rm_spares *s, int need)
{
    for (int i = 0; i < need; i++) {
        if (!s->node[i]) {
            if (!(s->node[i] = pool_get(&m->pool)))
                return ENOMEM;
            s->node[i]->state = 0;
        }
    }
    return 0;
}

void rm_spare_put(struct vw_regionmap *m, struct rm_spares *s)
{
    for (int i = 0; i < 2; i++) {
        if (s->node[i]) {
            node_free(m, s->node[i]);
            s->node[i] = NULL;
        }
    }
}

static struct vw_run *spare_take(struct rm_spares *s)
{
    for (int i = 0; i < 2; i++) {
        struct vw_run *r = s->node[i];
        if (r) {
            s->node[i] = NULL;
            return r;
        }
    }
    return NULL;   /* callers reserve enough: unreachable */
}

static void tree_insert(struct vw_regionmap *m, struct vw_run *r)
{
    struct rb_node **link = &m->tree.node, *parent = NULL;
    while (*link) {
        parent = *link;
        link = r->start < RUN(parent)->start ? &parent->left : &parent->right;
    }
    rb_link(&r->rb, parent, link);
    rb_insert_fixup(&m->tree, &r->rb);
    gi_note(r, r->start, r->end);
}

struct vw_run *rm_insert_alloc(struct vw_regionmap *m, struct rm_spares *s, uintptr_t base,
                               uintptr_t end, uint16_t alloc_protect, uint8_t state,
                               uint16_t protect)
{
    rm_write_begin();
    struct vw_run *r = spare_take(s);
    r->start = r->alloc_base = base;
    r->end = end;
    rm_set_alloc_end(r, end);
    r->alloc_protect = alloc_protect;
    r->alloc_flags = 0;
    r->kind = 0;
    r->ext = 0;
    r->state = state;
    r->protect = state == RUN_COMMITTED ? protect : 0;
    r->flags = 0;
    tree_insert(m, r);
    m->nallocs++;
    rm_write_end();
    return r;
}

void rm_remove_alloc(struct vw_regionmap *m, struct vw_run *r)
{
    rm_write_begin();
    r = rm_alloc_first(r);
    while (r) {
        struct vw_run *next = rm_alloc_next(r);
        rb_erase(&m->tree, &r->rb);
        node_free(m, r);
        r = next;
    }
    m->nallocs--;
    rm_write_end();
}

/* Splits r at addr (r->start < addr < r->end); returns the upper half. */
static struct vw_run *split(struct vw_regionmap *m, struct rm_spares *s, struct vw_run *r,
                            uintptr_t addr)
{
    struct vw_run *hi = spare_take(s);
    *hi = *r;
    hi->start = addr;
    /* hi goes in before r shrinks: a reader that interrupted this (a signal
     * handler on this thread, see rm_read) finds [addr, end) in one or both. */
    tree_insert(m, hi);
    r->end = addr;
    return hi;
}

static int same_run(const struct vw_run *a, const struct vw_run *b)
{
    return a->alloc_base == b->alloc_base && a->state == b->state &&
           a->protect == b->protect && a->flags == b->flags;
}

/* Merges r with its successor while they are alike; returns r. */
static struct vw_run *merge_forward(struct vw_regionmap *m, struct vw_run *r)
{
    struct vw_run *n;
    while ((n = rm_next(r)) && n->start == r->end && same_run(r, n)) {
        uintptr_t old_end = r->end;
        r->end = n->end;
        rb_erase(&m->tree, &n->rb);
        node_free(m, n);
        gi_note(r, old_end, r->end);
    }
    return r;
}

void rm_set_range(struct vw_regionmap *m, struct rm_spares *s, uintptr_t start, uintptr_t end,
                  uint8_t state, uint16_t protect, uint8_t flags_mask, uint8_t flags_value)
{
    rm_write_begin();
    struct vw_run *r = rm_find_from(m, start);   /* start may lie in a hole */
    if (r->start < start)
        r = split(m, s, r, start);
    struct vw_run *first = r;
    for (; r && r->start < end; r = rm_next(r)) {
        if (r->end > end)
            split(m, s, r, end);
        if (state)
            r->state = state;
        if (r->state == RUN_RESERVED) {
            r->protect = 0;
            r->flags = 0;
        } else {
            if (protect != RM_KEEP_PROTECT)
                r->protect = protect;
            r->flags = ((r->flags & ~flags_mask) | (flags_value & flags_mask)) & 7u;
        }
    }
    /* Merge from the run before the range through the run after it. */
    struct vw_run *p = rm_prev(first);
    if (p && p->alloc_base == first->alloc_base)
        first = p;
    for (r = first; r && r->start <= end; r = rm_next(r))
        merge_forward(m, r);
    rm_write_end();
}

void rm_summarize(const struct vw_regionmap *m, uintptr_t start, uintptr_t end,
                  struct rm_summary *out)
{
    struct vw_run *r = rm_find_from(m, start);
    uintptr_t cur = start, base = r ? r->alloc_base : 0;
    *out = (struct rm_summary){ 0 };
    out->first_protect = r ? r->protect : 0;
    for (; r && r->start < end; r = rm_next(r)) {
        if (r->start > cur || r->alloc_base != base)
            out->any_hole = 1;   /* pages munmap took out of the allocation */
        if (r->alloc_base != base) {
            out->any_other = 1;  /* another allocation's pages the kernel put there */
            continue;
        }
        uintptr_t a = r->start > start ? r->start : start;
        size_t n = (r->end < end ? r->end : end) - a;
        cur = r->end;
        if (r->state == RUN_RESERVED) {
            out->any_reserved = 1;
            out->reserved_bytes += n;
            continue;
        }
        out->any_committed = 1;
        out->committed_bytes += n;
        if (r->flags & RUN_LOCKED) {
            out->any_locked = 1;
            out->locked_bytes += n;
        } else {
            out->any_unlocked = 1;
        }
        if (r->protect & 0x100)   /* PAGE_GUARD */
            out->any_guard = 1;
        if ((r->protect & 0xFF) == 0x01)   /* PAGE_NOACCESS */
            out->any_noaccess = 1;
    }
    if (cur < end)
        out->any_hole = 1;
}

int rm_remove_range(struct vw_regionmap *m, struct rm_spares *s, uintptr_t start,
                    uintptr_t end, const struct rm_remove_ops *ops)
{
    int err = 0;
    rm_write_begin();
    struct vw_run *r = rm_find_from(m, start);
    while (r && r->start < end) {
        if (rm_spare_get(m, s, 2)) {
            err = ENOMEM;
            break;
        }
        if (r->start < start)
            r = split(m, s, r, start);
        if (r->end > end)
            split(m, s, r, end);
        struct vw_run *prev = rm_prev(r), *next = rm_next(r);
        struct vw_run piece = *r;
        int last = !(prev && prev->alloc_base == r->alloc_base) &&
                   !(next && next->alloc_base == r->alloc_base) && rm_alloc_first(r) == r &&
                   !rm_alloc_next(r);
        rb_erase(&m->tree, &r->rb);
        node_free(m, r);
        if (ops->removed)
            ops->removed(&piece, ops->ctx);
        if (last) {
            m->nallocs--;
            if (ops->emptied)
                ops->emptied(piece.alloc_base, rm_alloc_end(&piece), piece.alloc_flags, ops->ctx);
        }
        r = next;
    }
    rm_write_end();
    return err;
}

void rm_insert_run(struct vw_regionmap *m, struct rm_spares *s, const struct vw_run *proto)
{
    rm_write_begin();
    struct vw_run *r = spare_take(s);
    *r = *proto;
    int is_new = !rm_overlaps(m, r->alloc_base, rm_alloc_end(r));
    tree_insert(m, r);
    if (is_new)
        m->nallocs++;
    struct vw_run *p = rm_prev(r);
    if (p && p->alloc_base == r->alloc_base && p->end == r->start)
        r = p;
    merge_forward(m, r);
    rm_write_end();
}

void rm_mark_alloc(struct vw_run *r, uint16_t flags)
{
    uintptr_t base = r->alloc_base;
    rm_write_begin();
    (void)base;
    for (struct vw_run *q = rm_alloc_first(r); q; q = rm_alloc_next(q))
        q->alloc_flags |= flags;
    rm_write_end();
}

void rm_clear_locks(struct vw_regionmap *m)
{
    rm_write_begin();
    for (struct vw_run *r = rm_first(m); r; r = rm_next(r))
        r->flags &= (RUN_RESET | RUN_LOST);
    for (struct vw_run *r = rm_first(m); r; r = rm_next(r))
        merge_forward(m, r);
    rm_write_end();
}

/* ---- allocations cut and joined (placeholders) ---------------------------- */

struct vw_run *rm_find_before(const struct vw_regionmap *m, uintptr_t addr)
{
    struct rb_node *n = m->tree.node;
    struct vw_run *best = NULL;
    while (n) {
        struct vw_run *r = RUN(n);
        if (r->start < addr) {
            best = r;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return best;
}

void rm_split_alloc(struct vw_regionmap *m, struct rm_spares *s, struct vw_run *r, uintptr_t at)
{
    rm_write_begin();
    struct vw_run *first = rm_alloc_first(r);
    uintptr_t base = first->alloc_base, end = rm_alloc_end(first);
    struct vw_run *q = rm_find_from(m, at);
    if (q && q->alloc_base == base && q->start < at)
        q = split(m, s, q, at);
    /* Runs from `at` on form the upper allocation; those below keep the base. */
    for (struct vw_run *p = q; p && p->alloc_base == base; p = rm_next(p)) {
        p->alloc_base = at;
        rm_set_alloc_end(p, end);
    }
    for (struct vw_run *p = first; p && p->alloc_base == base; p = rm_next(p))
        rm_set_alloc_end(p, at);
    m->nallocs++;
    rm_write_end();
}

void rm_join_allocs(struct vw_regionmap *m, struct vw_run *r, uintptr_t end)
{
    rm_write_begin();
    struct vw_run *first = rm_alloc_first(r);
    uintptr_t base = first->alloc_base, prev_base = base;
    for (struct vw_run *p = first; p && p->start < end; p = rm_next(p)) {
        if (p->alloc_base != prev_base) {
            prev_base = p->alloc_base;
            m->nallocs--;
        }
        p->alloc_base = base;
        rm_set_alloc_end(p, end);
    }
    for (struct vw_run *p = first; p && p->start < end; p = rm_next(p))
        merge_forward(m, p);
    rm_write_end();
}
