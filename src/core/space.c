/*
 * space.c: arenas and granule bitmaps (see space.h).
 *
 * Arenas are kept in a static table sorted by address (binary search); each
 * has a bitmap of 64 KiB granules in its own small mapping.  Allocation is
 * first fit from a per-arena hint (the lowest granule that may be free), which
 * packs allocations at low addresses and makes reserve/release cycles reuse
 * the same, already-split VMAs.
 */
#include "core/space.h"
#include "core/granidx.h"
#include "core/regionmap.h"
#include "core/vw.h"
#include "os/os.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Arenas are 4 GiB, smaller under RLIMIT_AS (arena_size); the bitmaps are
 * always sized for the largest. */
#define ARENA_SIZE ((size_t)4 << 30)
#define ARENA_GRANULES (ARENA_SIZE / VW_GRANULE)
#define ARENA_MIN ((size_t)1 << 20)
#define MAX_ARENAS 1024

struct arena {
    uintptr_t base, end;
    uint64_t *bits;       /* 1 = granule in use */
    uint64_t *retired;    /* 1 = someone else mapped over it: foreign for good */
    size_t hint;          /* no free granule below this index */
    size_t used, nretired;
    size_t ngran;         /* granules in [base, end) */
};

static struct arena arenas[MAX_ARENAS];
static size_t narenas;
static int space_release_pieces(uintptr_t base, size_t size, int dirty);

static inline int bit_get(const uint64_t *b, size_t i)
{
    return (int)((b[i / 64] >> (i % 64)) & 1);
}

static void bits_set(uint64_t *b, size_t from, size_t to, int v)
{
    for (size_t i = from; i < to; i++) {
        if (v)
            b[i / 64] |= (uint64_t)1 << (i % 64);
        else
            b[i / 64] &= ~((uint64_t)1 << (i % 64));
    }
}

static int bits_clear_range(const uint64_t *b, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (bit_get(b, i))
            return 0;
    return 1;
}

static size_t granules(size_t size)
{
    return (size + VW_GRANULE - 1) / VW_GRANULE;
}

/* Index of the arena containing addr, or -1. */
/* Also read without the lock (mapread.c): RM_SEQLOCK_READER. */
RM_SEQLOCK_READER static long arena_index(uintptr_t addr)
{
    size_t lo = 0, hi = narenas;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (addr < arenas[mid].base)
            hi = mid;
        else if (addr >= arenas[mid].end)
            lo = mid + 1;
        else
            return (long)mid;
    }
    return -1;
}

int space_arena_at(uintptr_t addr, uintptr_t *start, uintptr_t *end)
{
    long i = arena_index(addr);
    if (i < 0)
        return 0;
    *start = arenas[i].base;
    *end = arenas[i].end;
    return 1;
}

RM_SEQLOCK_READER uintptr_t space_next_arena(uintptr_t addr)
{
    for (size_t i = 0; i < narenas; i++)
        if (arenas[i].base > addr)
            return arenas[i].base;
    return UINTPTR_MAX;
}

/* The arena size for the address-space limit now in force: 4 GiB, but under
 * RLIMIT_AS at most a quarter of the limit (a power of two, at least 1 MiB),
 * so that a `ulimit -v` of 1 GiB still gets arenas and the program keeps room
 * for its own mappings.  Read at each new arena: the limit may change. */
static size_t arena_size(void)
{
    size_t lim = os_rlimit_as(), s = ARENA_SIZE;
    while (s > ARENA_MIN && s > lim / 4)
        s /= 2;
    return s;
}

/* Requests of at least this many bytes get a mapping of their own rather than
 * arena space: a quarter of the arena size, as of the last arena made (the
 * limit is not read on every allocation: getrlimit is a syscall). */
static size_t dedicated;
/* 1 once an arena was sized for RLIMIT_AS: empty arenas are then given back. */
static int as_limited;

static size_t dedicated_min(void)
{
    if (!dedicated)
        dedicated = arena_size() / 4;
    return dedicated;
}

/* A new arena of `size` bytes, or of half that, down to `need` bytes, when the
 * address space (RLIMIT_AS) has no room for it. */
static struct arena *arena_new(size_t need)
{
    if (narenas == MAX_ARENAS)
        return NULL;
    uintptr_t bits = 0;
    if (os_map_anon(&bits, 2 * (ARENA_GRANULES / 8), PROT_READ | PROT_WRITE))
        return NULL;
    uintptr_t base;
    size_t size = arena_size();
    dedicated = size / 4;
    as_limited = size < ARENA_SIZE;
    int err;
    while ((err = os_reserve_aligned(&base, size, VW_GRANULE)) == ENOMEM && size / 2 >= need &&
           size > ARENA_MIN)
        size /= 2;
    if (err) {
        os_unmap(bits, 2 * (ARENA_GRANULES / 8));
        return NULL;
    }
    gi_cover(base, base + ARENA_SIZE);
    /* Readers search the table without the lock (space_holds): the shift is
     * a change they must see as one. */
    rm_write_begin();
    size_t i = narenas;
    while (i > 0 && arenas[i - 1].base > base) {
        arenas[i] = arenas[i - 1];
        i--;
    }
    arenas[i] = (struct arena){ base, base + size, (uint64_t *)bits,
                                (uint64_t *)bits + ARENA_GRANULES / 64, 0, 0, 0,
                                size / VW_GRANULE };
    narenas++;
    rm_write_end();
    return &arenas[i];
}

/* First fit of n granules at or above the hint; returns the index or -1. */
static long find_low(const struct arena *a, size_t n)
{
    size_t i = a->hint;
    while (i + n <= a->ngran) {
        if (i % 64 == 0 && a->bits[i / 64] == ~(uint64_t)0) {
            i += 64;
            continue;
        }
        if (bit_get(a->bits, i)) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < i + n && !bit_get(a->bits, j))
            j++;
        if (j == i + n)
            return (long)i;
        i = j + 1;
    }
    return -1;
}

/* Highest fit of n granules; returns the index or -1. */
static long find_high(const struct arena *a, size_t n)
{
    size_t top = a->ngran;   /* candidate run is [top - n, top) */
    while (top >= n && top > a->hint) {
        size_t j = top;
        while (j > top - n && !bit_get(a->bits, j - 1))
            j--;
        if (j == top - n)
            return (long)(top - n);
        top = j - 1;
    }
    return -1;
}

static void arena_mark(struct arena *a, size_t g, size_t n)
{
    bits_set(a->bits, g, g + n, 1);
    a->used += n;
    if (g <= a->hint) {
        size_t h = g + n;
        while (h < a->ngran && bit_get(a->bits, h))
            h++;
        a->hint = h;
    }
}

int space_alloc(size_t size, int top_down, uintptr_t *base)
{
    if (os_headroom())
        return ENOMEM;   /* vm.max_map_count: keep what releases need */
    if (size >= dedicated_min())
        return os_reserve_aligned(base, size, VW_GRANULE);
    size_t n = granules(size);
    for (int attempt = 0; attempt < 2; attempt++) {
        for (size_t k = 0; k < narenas; k++) {
            struct arena *a = &arenas[top_down ? narenas - 1 - k : k];
            if (a->ngran - a->used < n)
                continue;
            long g = top_down ? find_high(a, n) : find_low(a, n);
            if (g >= 0) {
                arena_mark(a, (size_t)g, n);
                *base = a->base + (uintptr_t)g * VW_GRANULE;
                return 0;
            }
        }
        if (attempt == 0 && !arena_new(n * VW_GRANULE))
            break;
    }
    /* No arena has room and none can be made (RLIMIT_AS, MAX_ARENAS): a
     * mapping of exactly this size may still fit. */
    return os_reserve_aligned(base, size, VW_GRANULE);
}

/* Walks [base, end) piece by piece: arena pieces and the gaps between them. */
struct piece {
    uintptr_t start, end;
    struct arena *arena;   /* NULL for a piece outside every arena */
};

/* Retired arena space counts as outside the arenas: someone else's mapping is
 * there, so it is claimed with MAP_FIXED_NOREPLACE and given back by unmapping,
 * like any space the library does not hold. */
static int next_piece(uintptr_t cur, uintptr_t end, struct piece *p)
{
    if (cur >= end)
        return 0;
    p->start = cur;
    p->arena = space_piece(cur, end, &p->end) == SPACE_ARENA ? &arenas[arena_index(cur)] : NULL;
    return 1;
}

static void piece_granules(const struct piece *p, size_t *g0, size_t *g1)
{
    *g0 = (p->start - p->arena->base) / VW_GRANULE;
    *g1 = (p->end - p->arena->base + VW_GRANULE - 1) / VW_GRANULE;
}

static int vacate_piece(const struct piece *p, int dirty)
{
    if (!p->arena)
        return os_unmap(p->start, p->end - p->start);
    return dirty ? os_decommit(p->start, p->end - p->start) : 0;
}

/* 1 if the granule at g (an edge granule of [start, end)) is still used by
 * another allocation: placeholder pieces start and end inside granules, so
 * neighbours can share one.  Another allocation's bounds reach into it if the
 * allocation below start ends past g, or the one above end starts before the
 * granule's end (its runs may have left, its bounds have not). */
static int granule_shared(uintptr_t g, uintptr_t start, uintptr_t end)
{
    const struct vw_regionmap *m = &vw_state.map;
    if (g < start) {
        const struct vw_run *b = rm_find_before(m, start);
        if (b && rm_alloc_end(b) > g)
            return 1;
    }
    if (end < g + VW_GRANULE) {
        const struct vw_run *a = rm_find_from(m, end);
        if (a && a->alloc_base >= end && a->alloc_base < g + VW_GRANULE)
            return 1;
    }
    return 0;
}

static void free_piece_granules(const struct piece *p)
{
    size_t g0, g1;
    piece_granules(p, &g0, &g1);
    if (g0 < g1 && granule_shared(p->arena->base + g0 * VW_GRANULE, p->start, p->end))
        g0++;
    if (g0 < g1 && granule_shared(p->arena->base + (g1 - 1) * VW_GRANULE, p->start, p->end))
        g1--;
    for (size_t g = g0; g < g1; g++) {
        if (bit_get(p->arena->bits, g)) {
            bits_set(p->arena->bits, g, g + 1, 0);
            p->arena->used--;
        }
    }
    if (g0 < p->arena->hint)
        p->arena->hint = g0;
}

static void retire_piece(const struct piece *p);

/* Gives one piece back.  If the kernel refuses, arena space that may still hold
 * data is retired rather than handed out again. */
static int release_piece(const struct piece *p, int dirty)
{
    int err = vacate_piece(p, dirty);
    if (p->arena) {
        if (err)
            retire_piece(p);
        else
            free_piece_granules(p);
    }
    return err;
}

int space_vacate(uintptr_t start, size_t size, int dirty)
{
    struct piece p;
    int first = 1;
    for (uintptr_t cur = start; next_piece(cur, start + size, &p); cur = p.end) {
        int err = vacate_piece(&p, dirty);
        if (err && first)
            return err;   /* nothing changed yet */
        if (err && p.arena)
            retire_piece(&p);
        first = 0;
    }
    return 0;
}

void space_free_granules(uintptr_t base, size_t size)
{
    struct piece p;
    for (uintptr_t cur = base; next_piece(cur, base + size, &p); cur = p.end)
        if (p.arena)
            free_piece_granules(&p);
}

static void retire_piece(const struct piece *p)
{
    size_t g0, g1;
    piece_granules(p, &g0, &g1);
    rm_write_begin();   /* the retired bits are read without the lock */
    for (size_t g = g0; g < g1; g++) {
        if (!bit_get(p->arena->bits, g)) {
            bits_set(p->arena->bits, g, g + 1, 1);
            p->arena->used++;
        }
        if (!bit_get(p->arena->retired, g)) {
            bits_set(p->arena->retired, g, g + 1, 1);
            p->arena->nretired++;
        }
    }
    rm_write_end();
}

void space_retire(uintptr_t base, size_t size)
{
    for (uintptr_t cur = base; cur < base + size;) {
        long i = arena_index(cur);
        if (i < 0) {
            cur = space_next_arena(cur);
            continue;
        }
        struct piece p = { cur, arenas[i].end < base + size ? arenas[i].end : base + size, &arenas[i] };
        retire_piece(&p);
        cur = p.end;
    }
}

RM_SEQLOCK_READER int space_stretch(uintptr_t addr, uintptr_t *end)
{
    long i = arena_index(addr);
    if (i < 0)
        return SPACE_OUTSIDE;
    const struct arena *a = &arenas[i];
    if (!a->nretired) {
        *end = a->end;
        return SPACE_ARENA;
    }
    size_t g = (addr - a->base) / VW_GRANULE;
    if (g >= ARENA_GRANULES)
        return SPACE_OUTSIDE;   /* a torn lock-free read (see mapread.c): retried */
    int retired = bit_get(a->retired, g);
    while (g < a->ngran && bit_get(a->retired, g) == retired)
        g++;
    *end = a->base + (uintptr_t)g * VW_GRANULE;
    return retired ? SPACE_RETIRED : SPACE_ARENA;
}

int space_piece(uintptr_t cur, uintptr_t end, uintptr_t *piece_end)
{
    uintptr_t e = 0;
    int kind = space_stretch(cur, &e);
    if (kind == SPACE_OUTSIDE)
        e = space_next_arena(cur);
    *piece_end = e < end ? e : end;
    return kind;
}

RM_SEQLOCK_READER int space_holds(uintptr_t start, uintptr_t end)
{
    uintptr_t cur = start;
    while (cur < end) {
        uintptr_t e;
        int kind = space_stretch(cur, &e);
        if (kind == SPACE_ARENA)
            return 1;
        if (kind == SPACE_OUTSIDE)
            e = space_next_arena(cur);
        if (e <= cur)
            return 1;   /* only a torn lock-free read gets here: it is retried */
        cur = e;
    }
    return 0;
}

int space_claim(uintptr_t base, size_t size)
{
    uintptr_t end = base + size;
    struct piece p;
    if (os_headroom())
        return ENOMEM;   /* vm.max_map_count: keep what releases need */
    /* First check every arena piece, so that a refusal changes nothing. */
    for (uintptr_t cur = base; next_piece(cur, end, &p); cur = p.end) {
        if (p.arena) {
            size_t g0, g1;
            piece_granules(&p, &g0, &g1);
            if (!bits_clear_range(p.arena->bits, g0, g1))
                return EEXIST;
        }
    }
    for (uintptr_t cur = base; next_piece(cur, end, &p); cur = p.end) {
        int err = 0;
        if (p.arena) {
            size_t g0, g1;
            piece_granules(&p, &g0, &g1);
            arena_mark(p.arena, g0, g1 - g0);
        } else {
            uintptr_t at = p.start;
            err = os_reserve(&at, p.end - p.start, 1);
        }
        if (err) {
            /* Undo the pieces already taken (all clean: nothing committed yet). */
            struct piece q;
            for (uintptr_t c = base; c < p.start && next_piece(c, p.start, &q); c = q.end)
                release_piece(&q, 0);
            return err;
        }
    }
    return 0;
}

/* Under RLIMIT_AS, reserved arena space counts against the limit although
 * the program cannot use it: arenas left empty (no allocation, nothing
 * retired) are unmapped, all but one, so released memory is the program's
 * again. */
static void arenas_trim(void)
{
    size_t j = 0, n = narenas;
    for (size_t i = 0; i < n; i++) {
        struct arena *a = &arenas[i];
        if (n - (i - j) > 1 && !a->used && !a->nretired &&
            os_unmap(a->base, a->end - a->base) == 0) {
            os_unmap((uintptr_t)a->bits, 2 * (ARENA_GRANULES / 8));
            continue;
        }
        arenas[j++] = *a;
    }
    narenas = j;
}

int space_release(uintptr_t base, size_t size, int dirty)
{
    int err = space_release_pieces(base, size, dirty);
    if (!err && as_limited)
        arenas_trim();
    return err;
}

static int space_release_pieces(uintptr_t base, size_t size, int dirty)
{
    struct piece p;
    int first = 1;
    for (uintptr_t cur = base; next_piece(cur, base + size, &p); cur = p.end) {
        int err = vacate_piece(&p, dirty);
        if (err && first)
            return err;   /* the kernel refused before anything changed */
        if (p.arena) {
            if (err)
                retire_piece(&p);   /* may still hold data: never hand it out */
            else
                free_piece_granules(&p);
        }
        first = 0;
    }
    return 0;
}
