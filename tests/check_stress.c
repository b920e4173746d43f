/*
 * check_stress.c: random operations from several threads, an address-space
 * walker, and fork() in the middle of it (issue item 2).
 *
 * Four owner threads run random valid operations for about three seconds:
 * reserve (sometimes committing, sometimes top-down), commit, protect (guard
 * pages included), decommit, release, lock/unlock, query, and writes and checks
 * of contents, on private allocations of their own and on their own disjoint
 * page ranges of two shared allocations (one reserved, one committed).  Each
 * owner keeps a model of its pages and checks every answer against it
 * (sections 4-8, 10): return values, last errors, VirtualQuery regions,
 * contents and access (faults).
 *
 * A walker thread walks the whole address space with VirtualQuery meanwhile and
 * checks every answer (section 7): BaseAddress is the queried page, RegionSize > 0,
 * the walk is contiguous up to the maximum address, State is FREE, RESERVE or
 * COMMIT, free regions have AllocationBase NULL and Protect PAGE_NOACCESS,
 * reserved regions Protect 0, and the shared allocations are never reported as
 * anything else.  It also checks answers against the owners' models: each owner
 * brackets every call that changes its pages (and the model update) with a
 * seqlock, and an answer counts only if every owner whose pages it describes was
 * quiescent for the whole query (same even sequence number before and after).
 *
 * A forker thread forks several times.  For every other fork the owners first
 * pause at a known state (outside their seqlock bracket); the child, under
 * alarm(10), checks that its copies of the owners' allocations report exactly the
 * parent's state and contents, that the whole map agrees with /proc/self/maps,
 * that it can allocate, protect and free (on new and inherited allocations), and
 * exits 0.  The other forks happen while the owners run: the child must still find
 * a consistent map and a working library (section 7 + fork handlers).  The parent
 * waits for each child and fails on any other status.
 *
 * At the end the models match, the map agrees with the kernel, and every
 * allocation is released.  Threads and children never call Check: they record the
 * first failure, which the test reports.  VW_STRESS_SEED=n repeats a run.
 *
 * Guard pages are never touched (only queried, locked and reprotected): the first
 * access to one is a SIGSEGV here (README), a one-shot exception on Windows.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG VW_PAGE
#define NOWNERS 4
#define NSLOT 6                  /* private allocations per owner */
#define MAXPG 64                 /* pages per private allocation, at most */
#define SPT 24                   /* pages per owner in each shared allocation */
#define NSHARED 2
#define SHPG (NOWNERS * SPT)
#define DURATION_MS 3000
#define NFORKS 6
#define CHILD_ALARM 10
#define WATCHDOG_S 50

/* Model fields the walker reads: release stores (after the odd sequence number),
 * acquire loads (before the second read of it).  No fences: ThreadSanitizer
 * does not model them. */
#define LD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* ---- the model ------------------------------------------------------------------------ */

struct pstate {
    uint8_t committed;
    uint8_t tag;             /* byte at 0, PG/2 and PG-1 (0 after a fresh commit) */
    DWORD prot;              /* when committed */
};

struct alloc {
    uintptr_t base;          /* 0: slot empty */
    size_t npages;
    DWORD aprot;
    struct pstate pg[MAXPG];
};

enum { OP_RESERVE, OP_COMMIT, OP_PROTECT, OP_DECOMMIT, OP_RELEASE, OP_LOCK, OP_CONTENTS,
       OP_VERIFY, OP_BADCALL, NOPS };
static const char *const op_names[NOPS] = { "reserve", "commit", "protect", "decommit",
                                             "release", "lock", "contents", "verify",
                                             "bad-call" };

struct owner {
    int id;
    unsigned seed;
    unsigned seq;            /* seqlock: odd while its pages or model change */
    struct alloc slot[NSLOT];
    long ops[NOPS];
    long iters, paused;
    char err[700];
    pthread_t th;
};

struct shared_alloc {
    char *base;
    DWORD aprot;
    struct pstate pg[SHPG];
};

static struct owner own[NOWNERS];
static struct shared_alloc shm[NSHARED];
static int stop_flag;            /* atomic */
static int err_flag;             /* atomic: some thread recorded a failure */
static unsigned base_seed;

static int stopping(void)
{
    return __atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE) ||
           __atomic_load_n(&err_flag, __ATOMIC_ACQUIRE);
}

static void raise_error(void)
{
    __atomic_store_n(&err_flag, 1, __ATOMIC_RELEASE);
}

/* Pause for fork: owners stop at a known state (outside their bracket). */
static int pause_req, paused_count, live_owners;

static void seq_begin(struct owner *w)
{
    __atomic_fetch_add(&w->seq, 1, __ATOMIC_SEQ_CST);
}

static void seq_end(struct owner *w)
{
    __atomic_fetch_add(&w->seq, 1, __ATOMIC_SEQ_CST);
}

/* An owner's view of the pages it may touch in one allocation. */
struct area {
    char *abase;             /* the allocation */
    size_t anpages;
    DWORD aprot;
    size_t first, n;         /* the owner's pages [first, first+n) of it */
    struct pstate *pg;       /* the model of page `first` */
};

static struct area private_area(struct alloc *s)
{
    struct area a = { (char *)s->base, s->npages, s->aprot, 0, s->npages, s->pg };
    return a;
}

static struct area shared_area(int s, int id)
{
    struct area a = { shm[s].base, SHPG, shm[s].aprot, (size_t)id * SPT, SPT,
                      &shm[s].pg[(size_t)id * SPT] };
    return a;
}

static int readable(DWORD prot)
{
    DWORD b = prot & 0xFF;
    return !(prot & PAGE_GUARD) && b != PAGE_NOACCESS;
}

static int writable(DWORD prot)
{
    DWORD b = prot & 0xFF;
    return !(prot & PAGE_GUARD) && (b == PAGE_READWRITE || b == PAGE_EXECUTE_READWRITE);
}

/* ---- checks shared by owners, children and the final test ---------------------------- */

/* Section 7 exactly: the regions of [base, base+np pages) are the maximal runs of
 * the model; section 10: readable pages hold their tags; accessible as modelled. */
static int check_alloc_exact(char *err, size_t errlen, char *base, size_t np, DWORD aprot,
                             const struct pstate *pg, int probe)
{
#define XCHECK(cond, ...)                                                                \
    do {                                                                                 \
        if (!(cond))                                                                     \
            return vw_failf(err, errlen, __LINE__, #cond, __VA_ARGS__);                  \
    } while (0)
    size_t i = 0;
    while (i < np) {
        char *p = base + i * PG;
        MEMORY_BASIC_INFORMATION m;
        XCHECK(VirtualQuery(p, &m, sizeof m) == sizeof m, "VirtualQuery(%p): %u", (void *)p,
               (unsigned)GetLastError());
        size_t j = i + 1;
        while (j < np && pg[j].committed == pg[i].committed &&
               (!pg[i].committed || pg[j].prot == pg[i].prot))
            j++;
        DWORD st = pg[i].committed ? MEM_COMMIT : MEM_RESERVE;
        DWORD pr = pg[i].committed ? pg[i].prot : 0;
        XCHECK(m.BaseAddress == p && m.AllocationBase == base && m.AllocationProtect == aprot &&
                   m.Type == MEM_PRIVATE && m.State == st && m.Protect == pr &&
                   m.RegionSize == (j - i) * PG,
               "%p page %zu: base %p abase %p aprot %#x state %#x prot %#x size %#zx; model "
               "state %#x prot %#x size %#zx",
               (void *)base, i, m.BaseAddress, m.AllocationBase, (unsigned)m.AllocationProtect,
               (unsigned)m.State, (unsigned)m.Protect, (size_t)m.RegionSize, (unsigned)st,
               (unsigned)pr, (j - i) * PG);
        for (size_t k = i; k < j; k++) {
            char *q = base + k * PG;
            if (pg[k].committed && readable(pg[k].prot)) {
                XCHECK((unsigned char)q[0] == pg[k].tag && (unsigned char)q[PG / 2] == pg[k].tag &&
                           (unsigned char)q[PG - 1] == pg[k].tag,
                       "%p page %zu: contents %#x/%#x/%#x, model %#x", (void *)base, k,
                       (unsigned char)q[0], (unsigned char)q[PG / 2], (unsigned char)q[PG - 1],
                       pg[k].tag);
            }
            if (!probe)
                continue;
            if (!pg[k].committed) {
                XCHECK(!vw_thread_can_read(q), "reserved page %zu of %p readable", k,
                       (void *)base);
            } else if (!(pg[k].prot & PAGE_GUARD)) {
                XCHECK(vw_thread_can_read(q) == readable(pg[k].prot),
                       "page %zu of %p (prot %#x): read access wrong", k, (void *)base,
                       (unsigned)pg[k].prot);
                if (readable(pg[k].prot))
                    XCHECK(vw_thread_can_write(q) == writable(pg[k].prot),
                           "page %zu of %p (prot %#x): write access wrong", k, (void *)base,
                           (unsigned)pg[k].prot);
            }
        }
        i = j;
    }
    return 0;
#undef XCHECK
}

/* The kernel's view, loaded once per check (no stdio: usable in fork children). */
#define KMAX 65536
static struct vw_maps_entry kmaps[KMAX];
static int nkmaps;
static char mapsbuf[8 << 20];

static int load_kmaps(char *err, size_t errlen)
{
    nkmaps = vw_read_maps_entries(kmaps, KMAX, mapsbuf, sizeof mapsbuf);
    if (nkmaps < 0)
        return vw_failf(err, errlen, __LINE__, "open", "open /proc/self/maps: %s",
                        strerror(errno));
    if (nkmaps <= 3)
        return vw_failf(err, errlen, __LINE__, "nkmaps > 3", "only %d mappings", nkmaps);
    return 0;
}

static int kmap_from(uintptr_t a)
{
    int lo = 0, hi = nkmaps;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (kmaps[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Section 7: the whole-space walk is contiguous and every region agrees with the
 * kernel (the rules of testutil's vw_assert_all_agree, without Check, for fork
 * children). */
static int agree_all(char *err, size_t errlen)
{
#define XCHECK(cond, ...)                                                                \
    do {                                                                                 \
        if (!(cond))                                                                     \
            return vw_failf(err, errlen, __LINE__, #cond, __VA_ARGS__);                  \
    } while (0)
    if (load_kmaps(err, errlen))
        return -1;
    uintptr_t a = 0;
    int regions = 0;
    while (a <= VW_MAX_APP_ADDR) {
        MEMORY_BASIC_INFORMATION m;
        XCHECK(VirtualQuery((void *)a, &m, sizeof m) == sizeof m, "VirtualQuery(%#lx): %u",
               (unsigned long)a, (unsigned)GetLastError());
        XCHECK((uintptr_t)m.BaseAddress == a && m.RegionSize > 0, "walk at %#lx: base %p size %zu",
               (unsigned long)a, m.BaseAddress, (size_t)m.RegionSize);
        uintptr_t end = a + m.RegionSize;
        for (uintptr_t c = a; c < end;) {
            int k = kmap_from(c);
            int any = k < nkmaps, mapped = any && kmaps[k].start <= c;
            if (m.State == MEM_FREE) {
                if (!mapped) {
                    if (!any || kmaps[k].start >= end)
                        break;
                    c = kmaps[k].start;
                    continue;
                }
                XCHECK(strncmp(kmaps[k].perms, "---", 3) == 0 && kmaps[k].inode == 0,
                       "free page %#lx is mapped %s", (unsigned long)c, kmaps[k].perms);
            } else {
                if (!mapped && m.State == MEM_RESERVE && any && kmaps[k].start == end &&
                    kmaps[k].is_stack)
                    break;   /* the not yet grown part of the main thread's stack */
                XCHECK(mapped, "page %#lx (state %#x) is not mapped in the kernel",
                       (unsigned long)c, (unsigned)m.State);
                if (m.Type == MEM_PRIVATE) {
                    const char *want = vw_expected_perms(m.State, m.Protect);
                    XCHECK(strncmp(kmaps[k].perms, want, 3) == 0,
                           "page %#lx: state %#x protect %#x, kernel %s", (unsigned long)c,
                           (unsigned)m.State, (unsigned)m.Protect, kmaps[k].perms);
                }
            }
            c = kmaps[k].end < end ? kmaps[k].end : end;
        }
        regions++;
        a = end;
    }
    XCHECK(a == VW_MAX_APP_ADDR + 1, "walk ended at %#lx", (unsigned long)a);
    XCHECK(regions > 3, "only %d regions", regions);
    return 0;
#undef XCHECK
}

/* ---- owners ------------------------------------------------------------------------ */

#define CHECK(w, cond, ...) VW_ECHECK((w)->err, cond, __VA_ARGS__)

static unsigned rnd(struct owner *w)
{
    return (unsigned)rand_r(&w->seed);
}

static int query(struct owner *w, const void *p, MEMORY_BASIC_INFORMATION *m)
{
    SetLastError(0xDEADBEEF);
    SIZE_T r = VirtualQuery(p, m, sizeof *m);
    CHECK(w, r == sizeof *m, "VirtualQuery(%p) returned %zu, error %u", p, (size_t)r,
          (unsigned)GetLastError());
    return 0;
}

/* Section 7 for the owner's pages: exact regions inside its range (a run reaching
 * the end of its range may go on into a neighbour's pages), contents and access. */
static int verify_area(struct owner *w, const struct area *a)
{
    size_t i = 0;
    w->ops[OP_VERIFY]++;
    while (i < a->n) {
        char *p = a->abase + (a->first + i) * PG;
        MEMORY_BASIC_INFORMATION m;
        if (query(w, p, &m))
            return -1;
        const struct pstate *s = &a->pg[i];
        size_t j = i + 1;
        while (j < a->n && a->pg[j].committed == s->committed &&
               (!s->committed || a->pg[j].prot == s->prot))
            j++;
        DWORD st = s->committed ? MEM_COMMIT : MEM_RESERVE, pr = s->committed ? s->prot : 0;
        size_t run = (j - i) * PG, maxrun = (a->anpages - a->first - i) * PG;
        int open_end = j == a->n && a->first + a->n < a->anpages;
        CHECK(w, m.BaseAddress == p && m.AllocationBase == a->abase &&
                     m.AllocationProtect == a->aprot && m.Type == MEM_PRIVATE && m.State == st &&
                     m.Protect == pr &&
                     (open_end ? m.RegionSize >= run && m.RegionSize <= maxrun
                               : m.RegionSize == run),
              "%p page %zu: base %p abase %p aprot %#x state %#x prot %#x size %#zx; model "
              "state %#x prot %#x run %#zx%s",
              (void *)a->abase, a->first + i, m.BaseAddress, m.AllocationBase,
              (unsigned)m.AllocationProtect, (unsigned)m.State, (unsigned)m.Protect,
              (size_t)m.RegionSize, (unsigned)st, (unsigned)pr, run, open_end ? " or more" : "");
        i = j;
    }
    /* Contents and access of a few pages. */
    for (int k = 0; k < 4; k++) {
        size_t i2 = rnd(w) % a->n;
        char *q = a->abase + (a->first + i2) * PG;
        const struct pstate *s = &a->pg[i2];
        if (!s->committed) {
            CHECK(w, !vw_thread_can_read(q), "reserved page %zu of %p readable", a->first + i2,
                  (void *)a->abase);
            continue;
        }
        if (s->prot & PAGE_GUARD)
            continue;
        CHECK(w, vw_thread_can_read(q) == readable(s->prot),
              "page %zu of %p (prot %#x): read access", a->first + i2, (void *)a->abase,
              (unsigned)s->prot);
        if (!readable(s->prot))
            continue;
        CHECK(w, vw_thread_can_write(q) == writable(s->prot),
              "page %zu of %p (prot %#x): write access", a->first + i2, (void *)a->abase,
              (unsigned)s->prot);
        CHECK(w, (unsigned char)q[0] == s->tag && (unsigned char)q[PG / 2] == s->tag &&
                     (unsigned char)q[PG - 1] == s->tag,
              "page %zu of %p: contents %#x/%#x/%#x, model %#x", a->first + i2, (void *)a->abase,
              (unsigned char)q[0], (unsigned char)q[PG / 2], (unsigned char)q[PG - 1], s->tag);
    }
    return 0;
}

static const DWORD commit_prots[] = { PAGE_READWRITE, PAGE_READWRITE, PAGE_READONLY,
                                      PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_NOACCESS,
                                      PAGE_EXECUTE };
static const DWORD protect_prots[] = { PAGE_READWRITE, PAGE_READWRITE, PAGE_READONLY,
                                       PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_NOACCESS,
                                       PAGE_READWRITE | PAGE_GUARD, PAGE_READONLY | PAGE_GUARD,
                                       PAGE_EXECUTE };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A random page range [x, y) of the area. */
static void pick_range(struct owner *w, const struct area *a, size_t *x, size_t *y)
{
    *x = rnd(w) % a->n;
    size_t maxlen = a->n - *x;
    size_t len = (rnd(w) % 4 == 0) ? 1 + rnd(w) % maxlen : 1 + rnd(w) % (maxlen < 4 ? maxlen : 4);
    *y = *x + len;
}

/* Section 4: commit, through an unaligned address; committed pages keep contents. */
static int op_commit(struct owner *w, const struct area *a)
{
    size_t x, y;
    pick_range(w, a, &x, &y);
    DWORD prot = commit_prots[rnd(w) % NELEM(commit_prots)];
    char *p = a->abase + (a->first + x) * PG;
    size_t off = rnd(w) % PG;
    seq_begin(w);
    SetLastError(0x1234);
    LPVOID r = VirtualAlloc(p + off, (y - x) * PG - off, MEM_COMMIT, prot);
    DWORD e = GetLastError();
    if (r == p) {
        for (size_t i = x; i < y; i++) {
            if (!a->pg[i].committed)
                a->pg[i].tag = 0;
            ST(a->pg[i].committed, 1);
            ST(a->pg[i].prot, prot);
        }
    }
    seq_end(w);
    CHECK(w, r == p && e == 0x1234, "commit pages [%zu,%zu) of %p (+%zu) prot %#x: %p, error %u",
          a->first + x, a->first + y, (void *)a->abase, off, (unsigned)prot, r, (unsigned)e);
    w->ops[OP_COMMIT]++;
    return verify_area(w, a);
}

/* Section 6: protect a range; fails on reserved pages with old = PAGE_NOACCESS. */
static int op_protect(struct owner *w, const struct area *a)
{
    size_t x, y;
    pick_range(w, a, &x, &y);
    DWORD prot = protect_prots[rnd(w) % NELEM(protect_prots)];
    char *p = a->abase + (a->first + x) * PG;
    int all = 1;
    for (size_t i = x; i < y; i++)
        all &= a->pg[i].committed;
    DWORD old = 0xDEADBEEF;
    if (all && rnd(w) % 8 == 0) {
        /* Size 0: changes nothing, reports the page's protection. */
        CHECK(w, VirtualProtect(p, 0, PAGE_NOACCESS, &old) && old == a->pg[x].prot,
              "size-0 protect of page %zu: error %u old %#x, model %#x", a->first + x,
              (unsigned)GetLastError(), (unsigned)old, (unsigned)a->pg[x].prot);
        w->ops[OP_PROTECT]++;
        return verify_area(w, a);
    }
    DWORD was = a->pg[x].prot;
    seq_begin(w);
    SetLastError(0x1234);
    BOOL r = VirtualProtect(p + rnd(w) % PG, (y - x - 1) * PG + 1, prot, &old);
    DWORD e = GetLastError();
    if (r && all)
        for (size_t i = x; i < y; i++)
            ST(a->pg[i].prot, prot);
    seq_end(w);
    if (all)
        CHECK(w, r && e == 0x1234 && old == was,
              "protect pages [%zu,%zu) of %p to %#x: %d error %u old %#x, model %#x",
              a->first + x, a->first + y, (void *)a->abase, (unsigned)prot, r, (unsigned)e,
              (unsigned)old, (unsigned)was);
    else
        CHECK(w, !r && e == ERROR_INVALID_ADDRESS && old == PAGE_NOACCESS,
              "protect of pages [%zu,%zu) of %p with reserved pages: %d error %u old %#x",
              a->first + x, a->first + y, (void *)a->abase, r, (unsigned)e, (unsigned)old);
    w->ops[OP_PROTECT]++;
    return verify_area(w, a);
}

/* Section 5: decommit (rounded out to pages; reserved pages in it are fine). */
static int op_decommit(struct owner *w, const struct area *a, int whole)
{
    size_t x = 0, y = a->n;
    char *p;
    size_t size;
    if (whole) {
        p = a->abase + rnd(w) % PG;   /* size 0: the whole allocation, from its base page */
        size = 0;
    } else {
        /* [start, end) with start in page x and end in page y-1 (rounded out: [x, y)). */
        pick_range(w, a, &x, &y);
        size_t off = rnd(w) % PG;
        size_t cut = rnd(w) % (y - x == 1 ? PG - off : PG);
        p = a->abase + (a->first + x) * PG + off;
        size = (y - x) * PG - off - cut;
    }
    seq_begin(w);
    SetLastError(0x1234);
    BOOL r = VirtualFree(p, size, MEM_DECOMMIT);
    DWORD e = GetLastError();
    if (r)
        for (size_t i = x; i < y; i++) {
            ST(a->pg[i].committed, 0);
            ST(a->pg[i].prot, 0);
            a->pg[i].tag = 0;
        }
    seq_end(w);
    CHECK(w, r && e == 0x1234, "decommit %p+%zu (pages [%zu,%zu)): error %u", (void *)p, size,
          a->first + x, a->first + y, (unsigned)e);
    w->ops[OP_DECOMMIT]++;
    return verify_area(w, a);
}

/* Section 8: lock and unlock (no region split); errors on reserved, NOACCESS and
 * guard pages (the guard is cleared). */
static int op_lock(struct owner *w, const struct area *a)
{
    size_t x, y;
    pick_range(w, a, &x, &y);
    if (y - x > 3)
        y = x + 3;
    char *p = a->abase + (a->first + x) * PG;
    const struct pstate *s = &a->pg[x];
    w->ops[OP_LOCK]++;
    if (y - x == 1 && !s->committed) {
        SetLastError(0);
        CHECK(w, !VirtualLock(p, PG) && GetLastError() == ERROR_INVALID_ADDRESS,
              "lock of reserved page: error %u", (unsigned)GetLastError());
        return 0;
    }
    if (y - x == 1 && (s->prot & 0xFF) == PAGE_NOACCESS) {
        SetLastError(0);
        CHECK(w, !VirtualLock(p, PG) && GetLastError() == ERROR_NOACCESS,
              "lock of NOACCESS page: error %u", (unsigned)GetLastError());
        return 0;
    }
    if (y - x == 1 && (s->prot & PAGE_GUARD)) {
        seq_begin(w);
        SetLastError(0);
        BOOL r = VirtualLock(p, PG);
        DWORD e = GetLastError();
        if (!r)
            ST(a->pg[x].prot, s->prot & ~(DWORD)PAGE_GUARD);
        seq_end(w);
        CHECK(w, !r && e == STATUS_GUARD_PAGE_VIOLATION, "lock of guard page: %d error %#x", r,
              (unsigned)e);
        if (verify_area(w, a))
            return -1;
    }
    for (size_t i = x; i < y; i++)
        if (!a->pg[i].committed || !readable(a->pg[i].prot))
            return 0;
    /* Outside the bracket on purpose: locking must not change what VirtualQuery
     * reports, and the walker checks that meanwhile. */
    CHECK(w, VirtualLock(p, (y - x) * PG), "lock pages [%zu,%zu): error %u", a->first + x,
          a->first + y, (unsigned)GetLastError());
    if (verify_area(w, a))
        return -1;
    CHECK(w, VirtualUnlock(p, (y - x) * PG), "unlock: error %u", (unsigned)GetLastError());
    SetLastError(0);
    CHECK(w, !VirtualUnlock(p, PG) && GetLastError() == ERROR_NOT_LOCKED,
          "second unlock: error %u", (unsigned)GetLastError());
    return 0;
}

/* Section 10: contents are kept; writes land only where they were made. */
static int op_contents(struct owner *w, const struct area *a)
{
    w->ops[OP_CONTENTS]++;
    for (int k = 0; k < 6; k++) {
        size_t i = rnd(w) % a->n;
        struct pstate *s = &a->pg[i];
        char *q = a->abase + (a->first + i) * PG;
        if (!s->committed || !readable(s->prot))
            continue;
        CHECK(w, (unsigned char)q[0] == s->tag && (unsigned char)q[PG / 2] == s->tag &&
                     (unsigned char)q[PG - 1] == s->tag,
              "page %zu of %p: contents %#x/%#x/%#x, model %#x", a->first + i, (void *)a->abase,
              (unsigned char)q[0], (unsigned char)q[PG / 2], (unsigned char)q[PG - 1], s->tag);
        if (writable(s->prot)) {
            unsigned char t = (unsigned char)(1 + rnd(w) % 255);
            q[0] = q[PG / 2] = q[PG - 1] = (char)t;
            s->tag = t;
        }
    }
    return 0;
}

/* Section 4: reserve (64 KiB aligned, page-rounded size), maybe committing. */
static int op_reserve(struct owner *w, struct alloc *s)
{
    /* 1-4 granules, less up to 2 pages, less part of a page (rounded up again). */
    size_t np = (1 + rnd(w) % 4) * VW_64K / PG;
    if (np > MAXPG)
        np = MAXPG;
    size_t trim = rnd(w) % 3;
    np -= trim < np ? trim : np - 1;
    size_t size = np * PG - (rnd(w) % 2 ? rnd(w) % PG : 0);
    int commit = rnd(w) % 3 == 0;
    DWORD prot = commit_prots[rnd(w) % NELEM(commit_prots)];
    DWORD type = MEM_RESERVE | (commit ? MEM_COMMIT : 0) | (rnd(w) % 8 == 0 ? MEM_TOP_DOWN : 0);
    seq_begin(w);
    SetLastError(0x1234);
    char *p = VirtualAlloc(NULL, size, type, prot);
    DWORD e = GetLastError();
    if (p) {
        ST(s->npages, np);
        ST(s->aprot, prot);
        for (size_t i = 0; i < np; i++) {
            ST(s->pg[i].committed, (uint8_t)commit);
            ST(s->pg[i].prot, commit ? prot : 0);
            s->pg[i].tag = 0;
        }
        ST(s->base, (uintptr_t)p);
    }
    seq_end(w);
    CHECK(w, p != NULL && e == 0x1234, "reserve %zu type %#x prot %#x: error %u", size,
          (unsigned)type, (unsigned)prot, (unsigned)e);
    CHECK(w, ((uintptr_t)p & (VW_64K - 1)) == 0, "base %p not 64 KiB aligned", (void *)p);
    w->ops[OP_RESERVE]++;
    struct area a = private_area(s);
    return verify_area(w, &a);
}

/* Section 5: release from any address in the base page; other addresses fail. */
static int op_release(struct owner *w, struct alloc *s)
{
    char *p = (char *)s->base;
    if (s->npages > 1) {
        SetLastError(0);
        CHECK(w, !VirtualFree(p + PG, 0, MEM_RELEASE) && GetLastError() == ERROR_INVALID_ADDRESS,
              "release at base+page: error %u", (unsigned)GetLastError());
        SetLastError(0);
        CHECK(w, !VirtualFree(p, PG, MEM_RELEASE) && GetLastError() == ERROR_INVALID_PARAMETER,
              "release with a size: error %u", (unsigned)GetLastError());
        w->ops[OP_BADCALL] += 2;
    }
    seq_begin(w);
    SetLastError(0x1234);
    BOOL r = VirtualFree(p + rnd(w) % PG, 0, MEM_RELEASE);
    DWORD e = GetLastError();
    if (r) {
        ST(s->base, 0);
        ST(s->npages, 0);
    }
    seq_end(w);
    CHECK(w, r && e == 0x1234, "release %p: error %u", (void *)p, (unsigned)e);
    w->ops[OP_RELEASE]++;
    return 0;
}

/* Section 5: a decommit range running past the allocation fails and changes
 * nothing. */
static int op_bad_decommit(struct owner *w, struct alloc *s)
{
    char *p = (char *)s->base + (s->npages - 1) * PG;
    SetLastError(0);
    CHECK(w, !VirtualFree(p, 2 * PG, MEM_DECOMMIT) && GetLastError() == ERROR_INVALID_PARAMETER,
          "decommit past the end: error %u", (unsigned)GetLastError());
    w->ops[OP_BADCALL]++;
    struct area a = private_area(s);
    return verify_area(w, &a);
}

static void pause_point(struct owner *w)
{
    if (!__atomic_load_n(&pause_req, __ATOMIC_ACQUIRE))
        return;
    __atomic_fetch_add(&paused_count, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&pause_req, __ATOMIC_ACQUIRE)) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
    __atomic_fetch_sub(&paused_count, 1, __ATOMIC_ACQ_REL);
    w->paused++;
}

static int owner_step(struct owner *w)
{
    unsigned r = rnd(w) % 100;
    if (r < 45) {
        struct alloc *s = &w->slot[rnd(w) % NSLOT];
        if (!s->base)
            return op_reserve(w, s);
        struct area a = private_area(s);
        unsigned o = rnd(w) % 100;
        if (o < 22)
            return op_commit(w, &a);
        if (o < 40)
            return op_protect(w, &a);
        if (o < 52)
            return op_decommit(w, &a, rnd(w) % 6 == 0);
        if (o < 62)
            return op_lock(w, &a);
        if (o < 77)
            return op_contents(w, &a);
        if (o < 82)
            return verify_area(w, &a);
        if (o < 85)
            return op_bad_decommit(w, s);
        return op_release(w, s);
    }
    struct area a = shared_area((int)(rnd(w) % NSHARED), w->id);
    unsigned o = rnd(w) % 100;
    if (o < 25)
        return op_commit(w, &a);
    if (o < 50)
        return op_protect(w, &a);
    if (o < 65)
        return op_decommit(w, &a, 0);
    if (o < 75)
        return op_lock(w, &a);
    if (o < 95)
        return op_contents(w, &a);
    return verify_area(w, &a);
}

static void *owner_main(void *arg)
{
    struct owner *w = arg;
    while (!stopping()) {
        pause_point(w);
        if (owner_step(w)) {
            raise_error();
            break;
        }
        w->iters++;
        if (w->iters % 32 == 0) {
            /* A quiet moment: lets the walker see this owner quiescent. */
            struct timespec ts = { 0, 50000 };
            nanosleep(&ts, NULL);
        }
    }
    __atomic_fetch_sub(&live_owners, 1, __ATOMIC_ACQ_REL);
    return NULL;
}

/* ---- the walker ------------------------------------------------------------------- */

struct walker {
    long walks, answers, validated, skipped;
    char err[900];
    pthread_t th;
};

#define WCHECK(k, cond, ...) VW_ECHECK((k)->err, cond, __VA_ARGS__)

/* Compares one answer with the models of the owners it describes.  Returns -1 on
 * a mismatch seen while all of them were quiescent (sequence numbers s1 read
 * before the query, unchanged and even after it). */
static int model_check(struct walker *k, const MEMORY_BASIC_INFORMATION *m, const unsigned *s1)
{
    uintptr_t B = (uintptr_t)m->BaseAddress, E = B + m->RegionSize;
    char msg[600] = "";
    unsigned involved = 0;
    for (int s = 0; s < NSHARED; s++) {
        uintptr_t sb = (uintptr_t)shm[s].base, se = sb + SHPG * PG;
        if (B < sb || B >= se)
            continue;
        size_t i = (B - sb) / PG, j = i + 1;
        const struct pstate *p = shm[s].pg;
        uint8_t c0 = LD(p[i].committed);
        DWORD p0 = LD(p[i].prot);
        involved |= 1u << (i / SPT);
        while (j < SHPG) {
            involved |= 1u << (j / SPT);
            if (LD(p[j].committed) != c0 || (c0 && LD(p[j].prot) != p0))
                break;
            j++;
        }
        DWORD st = c0 ? MEM_COMMIT : MEM_RESERVE, pr = c0 ? p0 : 0;
        if (m->State != st || m->Protect != pr || m->RegionSize != (j - i) * PG)
            snprintf(msg, sizeof msg, "shared allocation %d page %zu: state %#x prot %#x size "
                     "%#zx; model state %#x prot %#x size %#zx", s, i, (unsigned)m->State,
                     (unsigned)m->Protect, (size_t)m->RegionSize, (unsigned)st, (unsigned)pr,
                     (j - i) * PG);
    }
    for (int t = 0; t < NOWNERS; t++) {
        for (int q = 0; q < NSLOT; q++) {
            struct alloc *a = &own[t].slot[q];
            uintptr_t b = LD(a->base);
            if (!b)
                continue;
            size_t np = LD(a->npages);
            uintptr_t e = b + np * PG;
            if (E <= b || B >= e)
                continue;
            involved |= 1u << t;
            if (msg[0])
                continue;
            if (m->AllocationBase != (PVOID)b || B < b) {
                snprintf(msg, sizeof msg, "region %#lx+%#zx (state %#x, abase %p) overlaps "
                         "owner %d's allocation %#lx+%zu pages", (unsigned long)B,
                         (size_t)m->RegionSize, (unsigned)m->State, m->AllocationBase, t,
                         (unsigned long)b, np);
                continue;
            }
            size_t i = (B - b) / PG, j = i + 1;
            uint8_t c0 = LD(a->pg[i].committed);
            DWORD p0 = LD(a->pg[i].prot);
            while (j < np && LD(a->pg[j].committed) == c0 && (!c0 || LD(a->pg[j].prot) == p0))
                j++;
            DWORD st = c0 ? MEM_COMMIT : MEM_RESERVE, pr = c0 ? p0 : 0;
            if (m->State != st || m->Protect != pr || m->RegionSize != (j - i) * PG ||
                m->AllocationProtect != LD(a->aprot) || m->Type != MEM_PRIVATE)
                snprintf(msg, sizeof msg, "owner %d allocation %#lx page %zu: state %#x prot "
                         "%#x size %#zx aprot %#x; model state %#x prot %#x size %#zx aprot %#x",
                         t, (unsigned long)b, i, (unsigned)m->State, (unsigned)m->Protect,
                         (size_t)m->RegionSize, (unsigned)m->AllocationProtect, (unsigned)st,
                         (unsigned)pr, (j - i) * PG, (unsigned)LD(a->aprot));
        }
    }
    if (!involved)
        return 0;
    for (int t = 0; t < NOWNERS; t++) {
        if (!(involved & (1u << t)))
            continue;
        unsigned s2 = __atomic_load_n(&own[t].seq, __ATOMIC_SEQ_CST);
        if (s2 != s1[t] || (s1[t] & 1)) {
            k->skipped++;
            return 0;
        }
    }
    k->validated++;
    WCHECK(k, msg[0] == 0, "answer at %#lx disagrees with quiescent owners' models: %s",
           (unsigned long)B, msg);
    return 0;
}

static int valid_protect(DWORD p)
{
    DWORD b = p & 0xFF;
    return (p & ~(DWORD)(0xFF | PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE)) == 0 && b &&
           (b & (b - 1)) == 0;
}

/* Section 7: one answer's own consistency, and what must hold whatever the owners do. */
static int check_answer(struct walker *k, uintptr_t a, const MEMORY_BASIC_INFORMATION *m)
{
    uintptr_t B = (uintptr_t)m->BaseAddress, E = B + m->RegionSize;
    WCHECK(k, B == a && (B & (PG - 1)) == 0 && m->RegionSize > 0 &&
                  (m->RegionSize & (PG - 1)) == 0 && E > B && E <= VW_MAX_APP_ADDR + 1,
           "walk at %#lx: base %p size %#zx", (unsigned long)a, m->BaseAddress,
           (size_t)m->RegionSize);
    WCHECK(k, m->State == MEM_FREE || m->State == MEM_RESERVE || m->State == MEM_COMMIT,
           "%#lx: state %#x", (unsigned long)a, (unsigned)m->State);
    if (m->State == MEM_FREE) {
        WCHECK(k, m->AllocationBase == NULL && m->Protect == PAGE_NOACCESS &&
                      m->AllocationProtect == 0 && m->Type == 0,
               "free region %#lx: abase %p prot %#x aprot %#x type %#x", (unsigned long)a,
               m->AllocationBase, (unsigned)m->Protect, (unsigned)m->AllocationProtect,
               (unsigned)m->Type);
    } else {
        WCHECK(k, m->Type == MEM_PRIVATE || m->Type == MEM_MAPPED || m->Type == MEM_IMAGE,
               "region %#lx: type %#x", (unsigned long)a, (unsigned)m->Type);
        WCHECK(k, (uintptr_t)m->AllocationBase <= B, "region %#lx: abase %p above it",
               (unsigned long)a, m->AllocationBase);
        if (m->State == MEM_RESERVE)
            WCHECK(k, m->Protect == 0, "reserved region %#lx: prot %#x", (unsigned long)a,
                   (unsigned)m->Protect);
        else
            WCHECK(k, valid_protect(m->Protect), "committed region %#lx: prot %#x",
                   (unsigned long)a, (unsigned)m->Protect);
    }
    for (int s = 0; s < NSHARED; s++) {
        uintptr_t sb = (uintptr_t)shm[s].base, se = sb + SHPG * PG;
        if (E <= sb || B >= se)
            continue;
        /* The shared allocations live all along: never free, never merged. */
        WCHECK(k, m->AllocationBase == (PVOID)sb && m->State != MEM_FREE && B >= sb && E <= se &&
                      m->AllocationProtect == shm[s].aprot && m->Type == MEM_PRIVATE,
               "region %#lx+%#zx overlapping shared allocation %d (%#lx): abase %p state %#x "
               "aprot %#x", (unsigned long)B, (size_t)m->RegionSize, s, (unsigned long)sb,
               m->AllocationBase, (unsigned)m->State, (unsigned)m->AllocationProtect);
    }
    return 0;
}

static void *walker_main(void *arg)
{
    struct walker *k = arg;
    while (!stopping()) {
        uintptr_t a = 0;
        while (a <= VW_MAX_APP_ADDR) {
            unsigned s1[NOWNERS];
            for (int t = 0; t < NOWNERS; t++)
                s1[t] = __atomic_load_n(&own[t].seq, __ATOMIC_SEQ_CST);
            MEMORY_BASIC_INFORMATION m;
            memset(&m, 0x5A, sizeof m);
            SetLastError(0xDEADBEEF);
            SIZE_T r = VirtualQuery((void *)a, &m, sizeof m);
            if (r != sizeof m) {
                vw_failf(k->err, sizeof k->err, __LINE__, "r == sizeof m",
                         "VirtualQuery(%#lx) returned %zu, error %u", (unsigned long)a, (size_t)r,
                         (unsigned)GetLastError());
                raise_error();
                return NULL;
            }
            k->answers++;
            if (check_answer(k, a, &m) || model_check(k, &m, s1)) {
                raise_error();
                return NULL;
            }
            a = (uintptr_t)m.BaseAddress + m.RegionSize;
        }
        if (a != VW_MAX_APP_ADDR + 1) {
            vw_failf(k->err, sizeof k->err, __LINE__, "end", "walk ended at %#lx",
                     (unsigned long)a);
            raise_error();
            return NULL;
        }
        k->walks++;
    }
    return NULL;
}

/* ---- fork ------------------------------------------------------------------------ */

static char cerr[1024];

#define CCHECK(cond, ...) VW_ECHECK(cerr, cond, __VA_ARGS__)

/* In a child forked while the owners were paused: their allocations report
 * exactly the state (and hold the contents) the parent's models record. */
static int child_check_models(void)
{
    for (int t = 0; t < NOWNERS; t++)
        for (int q = 0; q < NSLOT; q++) {
            struct alloc *a = &own[t].slot[q];
            if (a->base && check_alloc_exact(cerr, sizeof cerr, (char *)a->base, a->npages,
                                             a->aprot, a->pg, 1))
                return -1;
        }
    for (int s = 0; s < NSHARED; s++)
        if (check_alloc_exact(cerr, sizeof cerr, shm[s].base, SHPG, shm[s].aprot, shm[s].pg, 1))
            return -1;
    return 0;
}

/* Sections 4-8 in the child, on a new allocation and on inherited ones. */
static int child_use_api(int paused)
{
    DWORD old;
    MEMORY_BASIC_INFORMATION m;
    char *p = VirtualAlloc(NULL, 4 * VW_64K, MEM_RESERVE, PAGE_READWRITE);
    CCHECK(p != NULL, "reserve in child: %u", (unsigned)GetLastError());
    CCHECK(VirtualAlloc(p + PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE) == p + PG, "commit: %u",
           (unsigned)GetLastError());
    CCHECK(p[PG] == 0 && p[3 * PG - 1] == 0, "fresh pages not zero");
    memset(p + PG, 0x5C, 2 * PG);
    CCHECK(VirtualProtect(p + PG, PG, PAGE_READONLY, &old) && old == PAGE_READWRITE,
           "protect: %u", (unsigned)GetLastError());
    CCHECK(VirtualQuery(p + PG, &m, sizeof m) == sizeof m && m.Protect == PAGE_READONLY &&
               m.RegionSize == PG && m.AllocationBase == p,
           "query: prot %#x size %zu", (unsigned)m.Protect, (size_t)m.RegionSize);
    CCHECK(!vw_thread_can_write(p + PG) && vw_thread_can_write(p + 2 * PG) &&
               !vw_thread_can_read(p),
           "access after protect");
    CCHECK(VirtualLock(p + PG, 2 * PG) && VirtualUnlock(p + PG, 2 * PG), "lock/unlock: %u",
           (unsigned)GetLastError());
    CCHECK(VirtualFree(p + 2 * PG, PG, MEM_DECOMMIT), "decommit: %u", (unsigned)GetLastError());
    CCHECK(!vw_thread_can_read(p + 2 * PG), "decommitted page readable");
    CCHECK(VirtualFree(p, 0, MEM_RELEASE), "release: %u", (unsigned)GetLastError());
    CCHECK(VirtualQuery(p, &m, sizeof m) == sizeof m && m.State == MEM_FREE,
           "released: state %#x", (unsigned)m.State);
    for (int s = 0; s < NSHARED; s++)
        CCHECK(VirtualQuery(shm[s].base + PG, &m, sizeof m) == sizeof m &&
                   m.AllocationBase == shm[s].base,
               "shared allocation %d: abase %p", s, m.AllocationBase);
    if (!paused)
        return 0;
    /* Inherited allocations, in the state the models record. */
    for (int t = 0; t < NOWNERS; t++) {
        for (int q = 0; q < NSLOT; q++) {
            struct alloc *a = &own[t].slot[q];
            if (!a->base)
                continue;
            for (size_t i = 0; i < a->npages; i++) {
                if (!a->pg[i].committed || a->pg[i].prot != PAGE_READWRITE)
                    continue;
                char *pg = (char *)a->base + i * PG;
                SetLastError(0);
                CCHECK(!VirtualUnlock(pg, PG) && GetLastError() == ERROR_NOT_LOCKED,
                       "unlock of an inherited page: error %u", (unsigned)GetLastError());
                CCHECK(VirtualProtect(pg, PG, PAGE_READONLY, &old) && old == PAGE_READWRITE,
                       "protect inherited page: error %u old %#x", (unsigned)GetLastError(),
                       (unsigned)old);
                CCHECK(!vw_thread_can_write(pg) && (unsigned char)pg[0] == a->pg[i].tag,
                       "inherited page after protect");
                break;
            }
            CCHECK(VirtualFree((char *)a->base, 0, MEM_RELEASE), "release inherited %#lx: %u",
                   (unsigned long)a->base, (unsigned)GetLastError());
            CCHECK(VirtualQuery((char *)a->base, &m, sizeof m) == sizeof m && m.State == MEM_FREE,
                   "released inherited %#lx: state %#x", (unsigned long)a->base,
                   (unsigned)m.State);
            break;
        }
    }
    CCHECK(VirtualFree(shm[1].base + PG, PG, MEM_DECOMMIT), "decommit inherited shared: %u",
           (unsigned)GetLastError());
    CCHECK(VirtualQuery(shm[1].base + PG, &m, sizeof m) == sizeof m && m.State == MEM_RESERVE &&
               m.Protect == 0,
           "decommitted shared page: state %#x", (unsigned)m.State);
    return 0;
}

static int child_main(int paused)
{
    if (paused && child_check_models())
        return -1;
    if (agree_all(cerr, sizeof cerr))
        return -1;
    if (child_use_api(paused))
        return -1;
    return agree_all(cerr, sizeof cerr);
}

struct forker {
    int forks, paused_forks, done;
    long long fork_ms[NFORKS];
    char err[1200];
    pthread_t th;
};

/* Waits for a child (deadline: its alarm plus 5 s); collects its message. */
static int wait_child(struct forker *f, pid_t pid, int fd, int n, int paused)
{
    char msg[1024];
    int status;
    if (!vw_wait_child(pid, fd, CHILD_ALARM + 5, &status, msg, sizeof msg))
        return vw_failf(f->err, sizeof f->err, __LINE__, "done",
                        "fork %d (%s): child did not finish in %d s (deadlock?)", n,
                        paused ? "paused" : "running", CHILD_ALARM + 5);
    if (WIFSIGNALED(status))
        return vw_failf(f->err, sizeof f->err, __LINE__, "!WIFSIGNALED",
                        "fork %d (%s): child killed by signal %d%s %s", n,
                        paused ? "paused" : "running", WTERMSIG(status),
                        WTERMSIG(status) == SIGALRM ? " (alarm: deadlock or hang in the child)"
                                                    : "",
                        msg);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return vw_failf(f->err, sizeof f->err, __LINE__, "exit 0",
                        "fork %d (%s): child failed (status %#x): %s", n,
                        paused ? "paused" : "running", status, msg);
    return 0;
}

static void *forker_run(struct forker *f);

static void *forker_main(void *arg)
{
    struct forker *f = arg;
    forker_run(f);
    if (f->err[0])
        raise_error();
    __atomic_store_n(&f->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void *forker_run(struct forker *f)
{
    long long start = vw_monotonic_ms();
    for (int n = 0; n < NFORKS && !stopping(); n++) {
        long long at = start + (long long)(n + 1) * DURATION_MS / (NFORKS + 1);
        while (vw_monotonic_ms() < at && !stopping()) {
            struct timespec ts = { 0, 5 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        int paused = n % 2 == 0;
        if (paused) {
            __atomic_store_n(&pause_req, 1, __ATOMIC_RELEASE);
            long long deadline = vw_monotonic_ms() + 5000;
            while (__atomic_load_n(&paused_count, __ATOMIC_ACQUIRE) <
                   __atomic_load_n(&live_owners, __ATOMIC_ACQUIRE)) {
                if (vw_monotonic_ms() > deadline) {
                    __atomic_store_n(&pause_req, 0, __ATOMIC_RELEASE);
                    vw_failf(f->err, sizeof f->err, __LINE__, "paused", "owners did not pause");
                    return NULL;
                }
                struct timespec ts = { 0, 100000 };
                nanosleep(&ts, NULL);
            }
        }
        int fds[2];
        if (pipe2(fds, O_CLOEXEC)) {
            vw_failf(f->err, sizeof f->err, __LINE__, "pipe", "pipe: %s", strerror(errno));
            __atomic_store_n(&pause_req, 0, __ATOMIC_RELEASE);
            return NULL;
        }
        long long t0 = vw_monotonic_ms();
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            alarm(CHILD_ALARM);
            cerr[0] = 0;
            vw_child_exit(fds[1], child_main(paused), cerr, sizeof cerr);
        }
        __atomic_store_n(&pause_req, 0, __ATOMIC_RELEASE);
        close(fds[1]);
        if (pid < 0) {
            close(fds[0]);
            vw_failf(f->err, sizeof f->err, __LINE__, "fork", "fork: %s", strerror(errno));
            return NULL;
        }
        f->forks++;
        f->paused_forks += paused;
        if (wait_child(f, pid, fds[0], n, paused))
            return NULL;
        f->fork_ms[n] = vw_monotonic_ms() - t0;
    }
    return NULL;
}

/* ---- the test ------------------------------------------------------------------------- */

static void watchdog(int sig)
{
    static const char msg[] = "check_stress: watchdog: stress_threads_walk_fork did not finish "
                              "(deadlock?)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Sections 4-8, 10 under concurrency, section 7 for every answer of a concurrent
 * whole-space walk, and fork in the middle (see the file comment). */
START_TEST(stress_threads_walk_fork)
{
    signal(SIGALRM, watchdog);
    alarm(WATCHDOG_S);
    const char *env = getenv("VW_STRESS_SEED");
    base_seed = env && *env ? (unsigned)strtoul(env, NULL, 0)
                            : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    fprintf(stderr, "check_stress: seed %u (VW_STRESS_SEED=%u repeats it)\n", base_seed,
            base_seed);

    /* Warm the library up, guard pages included, before the probe handler goes in. */
    char *warm = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(warm);
    DWORD old;
    ck_assert(VirtualProtect(warm, PG, PAGE_READWRITE | PAGE_GUARD, &old));
    ck_assert(!VirtualLock(warm, PG));
    ck_assert(VirtualFree(warm, 0, MEM_RELEASE));

    memset(shm, 0, sizeof shm);
    shm[0].base = VirtualAlloc(NULL, SHPG * PG, MEM_RESERVE, PAGE_READWRITE);
    shm[0].aprot = PAGE_READWRITE;
    shm[1].base = VirtualAlloc(NULL, SHPG * PG, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    shm[1].aprot = PAGE_EXECUTE_READWRITE;
    ck_assert_ptr_nonnull(shm[0].base);
    ck_assert_ptr_nonnull(shm[1].base);
    for (size_t i = 0; i < SHPG; i++) {
        shm[1].pg[i].committed = 1;
        shm[1].pg[i].prot = PAGE_EXECUTE_READWRITE;
    }
    vw_install_thread_probes();

    memset(own, 0, sizeof own);
    stop_flag = err_flag = 0;
    pause_req = paused_count = 0;
    live_owners = NOWNERS;
    for (int t = 0; t < NOWNERS; t++) {
        own[t].id = t;
        own[t].seed = base_seed + 7919u * (unsigned)t;
        ck_assert_int_eq(pthread_create(&own[t].th, NULL, owner_main, &own[t]), 0);
    }
    static struct walker wk;
    static struct forker fk;
    memset(&wk, 0, sizeof wk);
    memset(&fk, 0, sizeof fk);
    ck_assert_int_eq(pthread_create(&wk.th, NULL, walker_main, &wk), 0);
    ck_assert_int_eq(pthread_create(&fk.th, NULL, forker_main, &fk), 0);

    long long start = vw_monotonic_ms();
    for (;;) {
        int errs = __atomic_load_n(&err_flag, __ATOMIC_ACQUIRE);
        int forks_done = __atomic_load_n(&fk.done, __ATOMIC_ACQUIRE);
        long long el = vw_monotonic_ms() - start;
        /* The forks are due within DURATION_MS; a slow child (sanitizers) may take longer. */
        if (errs || (el >= DURATION_MS && forks_done) || el >= 10 * DURATION_MS)
            break;
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
    pthread_join(fk.th, NULL);
    for (int t = 0; t < NOWNERS; t++)
        pthread_join(own[t].th, NULL);
    pthread_join(wk.th, NULL);

    for (int t = 0; t < NOWNERS; t++)
        ck_assert_msg(own[t].err[0] == 0, "owner %d (seed %u, iteration %ld): %s", t, base_seed,
                      own[t].iters, own[t].err);
    ck_assert_msg(wk.err[0] == 0, "walker (seed %u): %s", base_seed, wk.err);
    ck_assert_msg(fk.err[0] == 0, "forker (seed %u): %s", base_seed, fk.err);
    ck_assert_int_eq(fk.forks, NFORKS);
    ck_assert_int_gt(wk.walks, 0);
    ck_assert_msg(wk.validated > 0, "the walker never saw a quiescent owner (%ld answers, %ld "
                  "skipped)", wk.answers, wk.skipped);
    for (int t = 0; t < NOWNERS; t++)
        ck_assert_msg(own[t].ops[OP_RESERVE] > 0 && own[t].ops[OP_COMMIT] > 0 &&
                          own[t].ops[OP_PROTECT] > 0 && own[t].ops[OP_RELEASE] > 0,
                      "owner %d did too little", t);

    /* Final state: the models, then the kernel (section 7). */
    char err[1024] = "";
    for (int t = 0; t < NOWNERS; t++)
        for (int q = 0; q < NSLOT; q++) {
            struct alloc *a = &own[t].slot[q];
            if (a->base)
                ck_assert_msg(check_alloc_exact(err, sizeof err, (char *)a->base, a->npages,
                                                a->aprot, a->pg, 1) == 0,
                              "owner %d: %s", t, err);
        }
    for (int s = 0; s < NSHARED; s++)
        ck_assert_msg(check_alloc_exact(err, sizeof err, shm[s].base, SHPG, shm[s].aprot,
                                        shm[s].pg, 1) == 0,
                      "shared %d: %s", s, err);
    vw_remove_thread_probes();
    vw_assert_all_agree();

    /* Everything releases (section 5); nothing of ours is left. */
    long reserved = 0, released = 0, final_releases = 0;
    for (int t = 0; t < NOWNERS; t++) {
        reserved += own[t].ops[OP_RESERVE];
        released += own[t].ops[OP_RELEASE];
        for (int q = 0; q < NSLOT; q++) {
            struct alloc *a = &own[t].slot[q];
            if (!a->base)
                continue;
            ck_assert(VirtualFree((void *)a->base, 0, MEM_RELEASE));
            ck_assert_uint_eq(vw_query((void *)a->base).State, MEM_FREE);
            final_releases++;
        }
    }
    ck_assert_int_eq(reserved, released + final_releases);
    for (int s = 0; s < NSHARED; s++) {
        ck_assert(VirtualFree(shm[s].base, 0, MEM_RELEASE));
        ck_assert_uint_eq(vw_query(shm[s].base).State, MEM_FREE);
    }
    vw_assert_all_agree();

    long tot[NOPS] = { 0 };
    long iters = 0;
    for (int t = 0; t < NOWNERS; t++) {
        iters += own[t].iters;
        for (int o = 0; o < NOPS; o++)
            tot[o] += own[t].ops[o];
    }
    char line[600];
    int n = snprintf(line, sizeof line, "check_stress: %ld operations (%ld/%ld/%ld/%ld):", iters,
                     own[0].iters, own[1].iters, own[2].iters, own[3].iters);
    for (int o = 0; o < NOPS && n > 0 && (size_t)n < sizeof line; o++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %s %ld", op_names[o], tot[o]);
    fprintf(stderr, "%s\n", line);
    fprintf(stderr, "check_stress: walker: %ld walks, %ld answers, %ld checked against quiescent "
            "owners' models, %ld skipped; %d forks (%d with owners paused), child times "
            "%lld/%lld/%lld/%lld/%lld/%lld ms\n", wk.walks, wk.answers, wk.validated, wk.skipped,
            fk.forks, fk.paused_forks, fk.fork_ms[0], fk.fork_ms[1], fk.fork_ms[2], fk.fork_ms[3],
            fk.fork_ms[4], fk.fork_ms[5]);
    alarm(0);
    signal(SIGALRM, SIG_DFL);
}
END_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("stress");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stress_threads_walk_fork);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stress_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
