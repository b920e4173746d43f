/*
 * probe.c: caller pointers checked before use (see probe.h).
 *
 * Tiers, cheapest first; the first that can prove [a, end) accessible answers,
 * only the kernel may say no:
 *   0. addresses Windows never maps for a process (the first 64 KiB, anything
 *      past the user range, ranges that wrap): refused without a lookup;
 *   1. the calling thread's stack between its current frame and the top of
 *      the stack mapping (inline in probe.h; learned here once per thread and
 *      again when the main stack has grown);
 *   2. this thread's cache of ranges proven accessible before (heap, globals,
 *      other mappings), valid while the access generation (os.h) is unchanged:
 *      every munmap, mprotect, mremap and mmap over existing memory that the
 *      library makes or sees through its interposers moves it on.  A range
 *      that ends at the program break is re-checked against the break, because
 *      malloc shrinks the heap with brk, which no interposer sees;
 *   3. the map, for the library's own allocations: committed runs whose
 *      protection allows the access, read lock-free (rm_read_quiet: a
 *      consistent view taken while no one held the map lock, so a probe never
 *      waits and never writes the lock's cache line; while the lock is held
 *      the map is not evidence and the kernel answers);
 *   4. the kernel's view (kernelview: one PROCMAP_QUERY ioctl per mapping the
 *      range touches).  What tiers 3 and 4 prove, tier 2 remembers.
 *
 * What the cache cannot see: memory taken away behind the library's back (raw
 * syscalls, libc-internal munmap such as free() of a large block, dlclose,
 * and any munmap when the library is linked after libc, so that its
 * interposers are not reached) after this thread proved it.  A pointer into such memory, passed again by
 * the same thread before anything moves the generation on, is not caught.
 * Every other stale proof is: the generation is read before a proof is made
 * and bumped after the change, so a proof racing with a change is stored
 * against the old value.  A range can also be unmapped by another thread
 * between the probe and the access; that race is the calling program's.
 *
 * Invariants: no lock waited for, no state written but this thread's TLS,
 * async-signal-safe (kv_find is; the cache is a per-thread seqcount, so a
 * handler that fills it while the interrupted code reads it is noticed).
 */
#include "core/probe.h"
#include "core/vw.h"
#include "os/kernelview.h"
#include "os/os.h"

#include <sys/mman.h>
#include <unistd.h>

__thread struct vw_probe_stack vw_probe_stack __attribute__((tls_model("initial-exec")));

/* ---- tier 1: the stack ---------------------------------------------------- */

/* The last mapping found under sp that was not this thread's stack (a
 * sigaltstack, a coroutine's stack): while sp is in it, do not ask again.
 * Only used to skip a lookup, never to prove anything. */
static __thread struct vw_probe_stack not_stack __attribute__((tls_model("initial-exec")));

/* Called when the inline check failed: learns the stack mapping the first
 * time, and again once sp has moved below what was learned (the main thread's
 * stack grows); then repeats the inline check. */
static int on_own_stack(uintptr_t sp, uintptr_t a, uintptr_t end)
{
    struct vw_probe_stack *s = &vw_probe_stack;
    if ((s->hi == 0 || sp < s->lo) && !(sp >= not_stack.lo && sp < not_stack.hi)) {
        struct kv_vma v;
        if (kv_find(sp, &v) == 0 && v.start <= sp &&
            (v.prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE)) {
            if (s->hi == 0) {
                /* lo before hi: a handler that runs in between sees hi 0. */
                s->lo = v.start;
                __atomic_signal_fence(__ATOMIC_SEQ_CST);
                s->hi = v.end;
            } else if (v.end == s->hi) {
                s->lo = v.start;   /* the same stack, grown */
            } else {
                not_stack.lo = v.start;
                not_stack.hi = v.end;
            }
        }
    }
    return sp >= s->lo && a >= sp && a < s->hi && end <= s->hi;
}

/* ---- tier 2: ranges proven before ---------------------------------------- */

#define CACHE_SLOTS 4

struct proof {
    uintptr_t lo, hi;
    unsigned long gen;   /* os_access_gen() read before the proof was made */
    unsigned char writable, at_break;
};

/* seq is odd while a slot is being written: a reader that sees it odd, or
 * sees it change, was interrupted by a handler writing and does not trust
 * what it read. */
static __thread struct {
    struct proof slot[CACHE_SLOTS];
    unsigned seq, next;
} cache __attribute__((tls_model("initial-exec")));

/* glibc keeps the current break in __curbrk (exported since 2.2.5) and moves
 * it in every brk/sbrk it makes, malloc's trims included: one load instead of
 * a call.  Elsewhere sbrk(0) (musl: a brk syscall, still cheaper than asking
 * for the mapping). */
extern void *__curbrk __attribute__((weak));

static uintptr_t program_break(void)
{
    void *b = &__curbrk ? __atomic_load_n(&__curbrk, __ATOMIC_RELAXED) : NULL;
    if (!b)
        b = sbrk(0);
    return b == (void *)-1 || !b ? 0 : page_ceil((uintptr_t)b);
}

static const struct proof *cache_find(uintptr_t a, int write, unsigned long gen)
{
    for (int i = 0; i < CACHE_SLOTS; i++) {
        const struct proof *e = &cache.slot[i];
        if (e->gen == gen && e->lo <= a && a < e->hi && (e->writable || !write))
            return e;
    }
    return NULL;
}

static int cache_proves(uintptr_t a, uintptr_t end, int write, unsigned long gen)
{
    unsigned seq = __atomic_load_n(&cache.seq, __ATOMIC_RELAXED);
    if (seq & 1)
        return 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    int ok = 1;
    for (uintptr_t cur = a; ok && cur < end;) {
        const struct proof *e = cache_find(cur, write, gen);
        if (!e || (e->at_break && e->hi > program_break()))
            ok = 0;
        else
            cur = e->hi;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return ok && __atomic_load_n(&cache.seq, __ATOMIC_RELAXED) == seq;
}

static void cache_put(uintptr_t lo, uintptr_t hi, int writable, unsigned long gen)
{
    if (cache.seq & 1)
        return;   /* a handler interrupted a put: let that one finish alone */
    cache.seq++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    struct proof *e = &cache.slot[cache.next++ % CACHE_SLOTS];
    e->lo = lo;
    e->hi = hi;
    e->gen = gen;
    e->writable = (unsigned char)writable;
    e->at_break = hi == program_break();
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    cache.seq++;
}

/* ---- tier 3: the library's own allocations -------------------------------- */

static int run_allows(const struct vw_run *r, int write)
{
    if (r->state != RUN_COMMITTED || (r->protect & PAGE_GUARD))
        return 0;
    switch (r->protect & 0xFF) {
    case PAGE_READWRITE:
    case PAGE_EXECUTE_READWRITE:
    case PAGE_WRITECOPY:
    case PAGE_EXECUTE_WRITECOPY:
        return 1;
    case PAGE_READONLY:
    case PAGE_EXECUTE_READ:
        return !write;
    default:
        return 0;
    }
}

/* Runs one map proof walks at most; a longer span is left to the kernel. */
#define MAP_PROOF_RUNS 1024

struct map_proof {
    uintptr_t a, end, lo, hi;
    int write;
};

/* rm_read_quiet's fn: walks copies of the runs from a (see rm_lf_find_from). */
RM_SEQLOCK_READER static int map_proof_fn(void *ctx, size_t budget)
{
    struct map_proof *x = ctx;
    uintptr_t cur = x->a;
    for (int i = 0; i < MAP_PROOF_RUNS; i++) {
        struct vw_run r;
        int rc = rm_lf_find_from(&vw_state.map, cur, &r, budget);
        if (rc != 1)
            return rc == RM_BUSY ? RM_BUSY : 0;
        if (r.start > cur || !run_allows(&r, x->write))
            return 0;
        if (cur == x->a)
            x->lo = r.start;
        cur = x->hi = r.end;
        if (cur >= x->end)
            return 1;
    }
    return 0;
}

/* 1 if committed runs allowing the access cover [a, end); then [*lo, *hi) is
 * the span of those runs.  0 if the map cannot tell (a change under way, or
 * not all ours).  Lock-free: probes from many threads share no written cache
 * line, and one from a signal handler never waits. */
static int map_proves(uintptr_t a, uintptr_t end, int write, uintptr_t *lo, uintptr_t *hi)
{
    struct map_proof x = { a, end, 0, 0, write };
    if (rm_read_quiet(map_proof_fn, &x) != 1)
        return 0;
    *lo = x.lo;
    *hi = x.hi;
    return 1;
}

/* ---- the probe ------------------------------------------------------------ */

DWORD vw_probe_slow(const void *p, size_t len, enum vw_access access)
{
    uintptr_t a = (uintptr_t)p, end = a + len;
    int write = access == VW_PROBE_WRITE;
    if (!len)
        return 0;
    vw_init_page();
    if (a < VW_MIN_ADDR || end < a || end - 1 > VW_MAX_ADDR + 0xFFFF)
        return ERROR_NOACCESS;
    /* Before any look: a change made after this read invalidates what we learn. */
    unsigned long gen = os_access_gen();
    if (on_own_stack((uintptr_t)__builtin_frame_address(0), a, end) ||
        cache_proves(a, end, write, gen))
        return 0;
    uintptr_t lo, hi;
    if (map_proves(a, end, write, &lo, &hi)) {
        cache_put(lo, hi, write, gen);   /* read-only runs may be among them */
        return 0;
    }
    int need = write ? PROT_READ | PROT_WRITE : PROT_READ;
    for (uintptr_t cur = a; cur < end;) {
        struct kv_vma v;
        if (kv_find(cur, &v) != 0 || v.start > cur || (v.prot & need) != need)
            return ERROR_NOACCESS;
        cache_put(v.start, v.end, (v.prot & PROT_WRITE) != 0, gen);
        cur = v.end;
    }
    return 0;
}

DWORD vw_probe_string(const void *s, size_t unit, size_t max)
{
    uintptr_t a = (uintptr_t)s;
    vw_init_page();
    if (!unit || a < VW_MIN_ADDR || a > VW_MAX_ADDR + 0xFFFF)
        return ERROR_NOACCESS;
    /* Probe page by page, reading only pages already shown readable. */
    uintptr_t pg = vw_page();
    for (size_t done = 0; done < max;) {
        uintptr_t page_end = (a | (pg - 1)) + 1;
        if (page_end < a + unit)   /* a character straddling two pages */
            page_end = a + unit;
        if (vw_probe((const void *)a, page_end - a, VW_PROBE_READ))
            return ERROR_NOACCESS;
        for (; a + unit <= page_end && done < max; a += unit, done += unit) {
            const unsigned char *c = (const unsigned char *)a;
            int zero = 1;
            for (size_t i = 0; i < unit; i++)
                zero &= c[i] == 0;
            if (zero)
                return 0;
        }
    }
    return 0;
}
