/*
 * check_threads.c: the API from several threads at once.
 *
 * Four worker threads run for about three seconds, each mixing every call
 * (reserve, commit, protect, query, lock/unlock, decommit, release) on private
 * allocations and on its own disjoint page range of one shared allocation,
 * checking each result as it goes (return values, last errors, VirtualQuery of
 * its own pages, contents it wrote, faults).  A fifth thread walks the whole
 * address space with VirtualQuery meanwhile.  Afterwards the map must agree with
 * /proc/self/maps and everything must release.  Two smaller tests: threads
 * allocating at once never overlap; VirtualQuery racing with VirtualAlloc/Free at
 * one address only ever sees states that address really passes through.
 *
 * Worker threads never call Check (they record the first error and stop); fault
 * probes use a process-wide handler installed once, with a per-thread jump buffer,
 * because testutil's probes swap the process's handlers and are not thread-safe.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NTHREADS 4
#define SPT 16               /* shared pages per thread */
#define DURATION_NS 3000000000LL
#define PG VW_PAGE

/* ---- workers ---------------------------------------------------------------- */

struct page_state {
    int committed;
    DWORD prot;
    unsigned char tag;       /* byte written at 0 and PG-1 (0 after a fresh commit) */
};

struct worker {
    int id;
    unsigned seed;
    long iters, private_cycles, shared_ops, walks;
    char *own;               /* its pages of the shared allocation */
    struct page_state st[SPT];
    char err[600];
    pthread_t th;
};

static char *shared;
static volatile int stop_flag;

static unsigned rnd(struct worker *w)
{
    return (unsigned)rand_r(&w->seed);
}

static int failf(struct worker *w, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int failf(struct worker *w, int line, const char *cond, const char *fmt, ...)
{
    if (w->err[0])
        return -1;
    int n = snprintf(w->err, sizeof w->err, "thread %d, iteration %ld, line %d: (%s) ", w->id,
                     w->iters, line, cond);
    if (n < 0 || (size_t)n >= sizeof w->err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err + n, sizeof w->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

#define CHECK(w, cond, ...)                                                              \
    do {                                                                                 \
        if (!(cond))                                                                     \
            return failf((w), __LINE__, #cond, __VA_ARGS__);                             \
    } while (0)

static int query(struct worker *w, const void *p, MEMORY_BASIC_INFORMATION *m)
{
    SetLastError(0xDEADBEEF);
    SIZE_T r = VirtualQuery(p, m, sizeof *m);
    CHECK(w, r == sizeof *m, "VirtualQuery(%p) returned %zu, error %u", p, (size_t)r,
          (unsigned)GetLastError());
    return 0;
}

/* Section 4/6/7/8/5 on a private allocation: one full life cycle. */
static int private_cycle(struct worker *w)
{
    MEMORY_BASIC_INFORMATION m;
    DWORD old;
    size_t k = 1 + rnd(w) % 4, size = k * VW_64K, np = size / PG;
    unsigned char tag = (unsigned char)(0x10 * w->id + (w->private_cycles & 0xF) + 1);

    /* reserve (section 4) */
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
    CHECK(w, p != NULL, "reserve %zu failed: %u", size, (unsigned)GetLastError());
    CHECK(w, ((uintptr_t)p & (VW_64K - 1)) == 0, "base %p not 64K aligned", (void *)p);
    if (query(w, p, &m))
        return -1;
    CHECK(w, m.BaseAddress == p && m.AllocationBase == p && m.RegionSize == size &&
                 m.State == MEM_RESERVE && m.Protect == 0 && m.AllocationProtect == PAGE_READWRITE &&
                 m.Type == MEM_PRIVATE,
          "reserved %p: base %p abase %p size %zu state %#x prot %#x", (void *)p, m.BaseAddress,
          m.AllocationBase, (size_t)m.RegionSize, (unsigned)m.State, (unsigned)m.Protect);
    CHECK(w, !vw_thread_can_read(p + (rnd(w) % np) * PG), "reserved page readable");

    /* commit pages [a, b), through an unaligned address (section 4: page_floor) */
    size_t a = rnd(w) % np, b = a + 1 + rnd(w) % (np - a), off = rnd(w) % PG;
    char *c = VirtualAlloc(p + a * PG + off, (b - a) * PG - off, MEM_COMMIT, PAGE_READWRITE);
    CHECK(w, c == p + a * PG, "commit at %p+%zu returned %p, error %u", (void *)(p + a * PG), off,
          (void *)c, (unsigned)GetLastError());
    if (query(w, c, &m))
        return -1;
    CHECK(w, m.BaseAddress == c && m.RegionSize == (b - a) * PG && m.State == MEM_COMMIT &&
                 m.Protect == PAGE_READWRITE && m.AllocationBase == p,
          "committed [%zu,%zu): size %zu state %#x prot %#x", a, b, (size_t)m.RegionSize,
          (unsigned)m.State, (unsigned)m.Protect);
    if (a > 0) {
        if (query(w, p, &m))
            return -1;
        CHECK(w, m.State == MEM_RESERVE && m.RegionSize == a * PG, "head: state %#x size %zu",
              (unsigned)m.State, (size_t)m.RegionSize);
    }
    for (size_t i = a; i < b; i++) {
        char *pg = p + i * PG;
        CHECK(w, pg[0] == 0 && pg[PG - 1] == 0 && pg[PG / 2] == 0, "fresh page %zu not zero", i);
        pg[0] = (char)(tag ^ i);
        pg[PG - 1] = (char)(tag ^ i);
    }

    /* protect the first committed page read-only, then back (section 6) */
    if (b - a >= 2) {
        SetLastError(0xDEADBEEF);
        CHECK(w, VirtualProtect(c, PG, PAGE_READONLY, &old), "protect RO failed: %u",
              (unsigned)GetLastError());
        CHECK(w, old == PAGE_READWRITE, "old protection %#x", (unsigned)old);
        if (query(w, c, &m))
            return -1;
        CHECK(w, m.Protect == PAGE_READONLY && m.RegionSize == PG, "RO page: prot %#x size %zu",
              (unsigned)m.Protect, (size_t)m.RegionSize);
        if (query(w, c + PG, &m))
            return -1;
        CHECK(w, m.Protect == PAGE_READWRITE && m.RegionSize == (b - a - 1) * PG,
              "after RO page: prot %#x size %zu", (unsigned)m.Protect, (size_t)m.RegionSize);
        CHECK(w, !vw_thread_can_write(c) && vw_thread_can_read(c), "RO page access wrong");
        CHECK(w, (unsigned char)c[0] == (unsigned char)(tag ^ a), "RO page contents lost");
        CHECK(w, VirtualProtect(c, PG, PAGE_READWRITE, &old) && old == PAGE_READONLY,
              "protect back failed: %u, old %#x", (unsigned)GetLastError(), (unsigned)old);
        if (query(w, c, &m))
            return -1;
        CHECK(w, m.RegionSize == (b - a) * PG, "region did not merge back: %zu",
              (size_t)m.RegionSize);
    }

    /* lock / unlock (section 8) */
    size_t nl = b - a > 2 ? 2 : b - a;
    CHECK(w, VirtualLock(c, nl * PG), "VirtualLock failed: %u", (unsigned)GetLastError());
    if (query(w, c, &m))
        return -1;
    CHECK(w, m.RegionSize == (b - a) * PG, "lock split the region: %zu", (size_t)m.RegionSize);
    CHECK(w, VirtualUnlock(c, nl * PG), "VirtualUnlock failed: %u", (unsigned)GetLastError());
    SetLastError(0xDEADBEEF);
    CHECK(w, !VirtualUnlock(c, PG) && GetLastError() == ERROR_NOT_LOCKED,
          "second unlock: error %u", (unsigned)GetLastError());

    /* last committed page NOACCESS: cannot be locked */
    CHECK(w, VirtualProtect(p + (b - 1) * PG, PG, PAGE_NOACCESS, &old), "protect NA failed: %u",
          (unsigned)GetLastError());
    SetLastError(0xDEADBEEF);
    CHECK(w, !VirtualLock(p + (b - 1) * PG, PG) && GetLastError() == ERROR_NOACCESS,
          "lock of NOACCESS: error %u", (unsigned)GetLastError());
    CHECK(w, !vw_thread_can_read(p + (b - 1) * PG), "NOACCESS page readable");

    /* decommit the first committed page and commit it again (sections 5, 10) */
    CHECK(w, VirtualFree(c, PG, MEM_DECOMMIT), "decommit failed: %u", (unsigned)GetLastError());
    if (query(w, c, &m))
        return -1;
    CHECK(w, m.State == MEM_RESERVE && m.Protect == 0, "decommitted: state %#x prot %#x",
          (unsigned)m.State, (unsigned)m.Protect);
    CHECK(w, !vw_thread_can_read(c), "decommitted page readable");
    CHECK(w, VirtualAlloc(c, PG, MEM_COMMIT, PAGE_READWRITE) == c, "recommit failed: %u",
          (unsigned)GetLastError());
    CHECK(w, c[0] == 0 && c[PG - 1] == 0, "recommitted page not zero");
    for (size_t i = a + 1; i + 1 < b; i++)
        CHECK(w, (unsigned char)p[i * PG] == (unsigned char)(tag ^ i), "page %zu lost contents", i);

    /* a reserved page cannot be locked, protected (section 8, 6) */
    if (b < np) {
        SetLastError(0xDEADBEEF);
        CHECK(w, !VirtualLock(p + b * PG, PG) && GetLastError() == ERROR_INVALID_ADDRESS,
              "lock of reserved: %u", (unsigned)GetLastError());
        old = 0;
        CHECK(w, !VirtualProtect(p + b * PG, PG, PAGE_READWRITE, &old) &&
                     GetLastError() == ERROR_INVALID_ADDRESS && old == PAGE_NOACCESS,
              "protect of reserved: %u old %#x", (unsigned)GetLastError(), (unsigned)old);
    }

    /* release (section 5) */
    SetLastError(0xDEADBEEF);
    CHECK(w, VirtualFree(p, 0, MEM_RELEASE), "release failed: %u", (unsigned)GetLastError());
    w->private_cycles++;
    return 0;
}

static int check_shared_page(struct worker *w, size_t i)
{
    MEMORY_BASIC_INFORMATION m;
    char *pg = w->own + i * PG;
    struct page_state *s = &w->st[i];
    if (query(w, pg, &m))
        return -1;
    CHECK(w, m.BaseAddress == pg && m.AllocationBase == shared &&
                 m.AllocationProtect == PAGE_READWRITE && m.Type == MEM_PRIVATE,
          "shared page %zu: base %p abase %p aprot %#x", i, m.BaseAddress, m.AllocationBase,
          (unsigned)m.AllocationProtect);
    if (s->committed) {
        CHECK(w, m.State == MEM_COMMIT && m.Protect == s->prot,
              "shared page %zu: state %#x prot %#x, expected commit %#x", i, (unsigned)m.State,
              (unsigned)m.Protect, (unsigned)s->prot);
        if (s->prot != PAGE_NOACCESS)
            CHECK(w, (unsigned char)pg[0] == s->tag && (unsigned char)pg[PG - 1] == s->tag,
                  "shared page %zu: contents %#x, expected %#x", i, (unsigned char)pg[0], s->tag);
        CHECK(w, vw_thread_can_read(pg) == (s->prot != PAGE_NOACCESS),
              "shared page %zu read access", i);
        CHECK(w, vw_thread_can_write(pg) == (s->prot == PAGE_READWRITE),
              "shared page %zu write access", i);
    } else {
        CHECK(w, m.State == MEM_RESERVE && m.Protect == 0, "shared page %zu: state %#x prot %#x",
              i, (unsigned)m.State, (unsigned)m.Protect);
        CHECK(w, !vw_thread_can_read(pg), "reserved shared page %zu readable", i);
    }
    return 0;
}

/* One operation on the thread's own pages of the shared allocation. */
static int shared_op(struct worker *w)
{
    size_t i = rnd(w) % SPT;
    char *pg = w->own + i * PG;
    struct page_state *s = &w->st[i];
    DWORD old;
    static const DWORD prots[] = { PAGE_READWRITE, PAGE_READONLY, PAGE_EXECUTE_READ,
                                   PAGE_NOACCESS };
    w->shared_ops++;
    switch (rnd(w) % 5) {
    case 0: /* write / verify contents (section 10) */
        if (s->committed && s->prot == PAGE_READWRITE) {
            CHECK(w, (unsigned char)pg[0] == s->tag, "page %zu contents %#x, expected %#x", i,
                  (unsigned char)pg[0], s->tag);
            s->tag = (unsigned char)(s->tag + 1 + w->id);
            pg[0] = (char)s->tag;
            pg[PG - 1] = (char)s->tag;
        }
        break;
    case 1: { /* protection change (section 6) */
        DWORD np = prots[rnd(w) % 4];
        old = 0xDEADBEEF;
        SetLastError(0xDEADBEEF);
        BOOL r = VirtualProtect(pg, PG, np, &old);
        if (s->committed) {
            CHECK(w, r && old == s->prot, "protect page %zu to %#x: %d err %u old %#x (want %#x)",
                  i, (unsigned)np, r, (unsigned)GetLastError(), (unsigned)old,
                  (unsigned)s->prot);
            s->prot = np;
        } else {
            CHECK(w, !r && GetLastError() == ERROR_INVALID_ADDRESS && old == PAGE_NOACCESS,
                  "protect of reserved page %zu: %d err %u old %#x", i, r,
                  (unsigned)GetLastError(), (unsigned)old);
        }
        break;
    }
    case 2: /* decommit / commit (sections 4, 5, 10) */
        if (s->committed) {
            CHECK(w, VirtualFree(pg + 1, 1, MEM_DECOMMIT), "decommit page %zu failed: %u", i,
                  (unsigned)GetLastError());
            s->committed = 0;
        } else {
            CHECK(w, VirtualAlloc(pg, PG, MEM_COMMIT, PAGE_READWRITE) == pg,
                  "commit page %zu failed: %u", i, (unsigned)GetLastError());
            s->committed = 1;
            s->prot = PAGE_READWRITE;
            s->tag = 0;
        }
        break;
    case 3: /* lock / unlock (section 8) */
        SetLastError(0xDEADBEEF);
        if (!s->committed) {
            CHECK(w, !VirtualLock(pg, PG) && GetLastError() == ERROR_INVALID_ADDRESS,
                  "lock of reserved page %zu: err %u", i, (unsigned)GetLastError());
        } else if (s->prot == PAGE_NOACCESS) {
            CHECK(w, !VirtualLock(pg, PG) && GetLastError() == ERROR_NOACCESS,
                  "lock of NOACCESS page %zu: err %u", i, (unsigned)GetLastError());
        } else {
            CHECK(w, VirtualLock(pg, PG), "lock page %zu failed: %u", i, (unsigned)GetLastError());
            CHECK(w, VirtualLock(pg, PG), "relock page %zu failed: %u", i,
                  (unsigned)GetLastError());
            CHECK(w, VirtualUnlock(pg, PG), "unlock page %zu failed: %u", i,
                  (unsigned)GetLastError());
            SetLastError(0xDEADBEEF);
            CHECK(w, !VirtualUnlock(pg, PG) && GetLastError() == ERROR_NOT_LOCKED,
                  "second unlock of page %zu: err %u", i, (unsigned)GetLastError());
        }
        break;
    case 4: /* guard page cleared by VirtualLock (sections 6, 8) */
        if (s->committed && (s->prot == PAGE_READWRITE || s->prot == PAGE_READONLY)) {
            MEMORY_BASIC_INFORMATION m;
            CHECK(w, VirtualProtect(pg, PG, s->prot | PAGE_GUARD, &old) && old == s->prot,
                  "guard page %zu failed: %u", i, (unsigned)GetLastError());
            if (query(w, pg, &m))
                return -1;
            CHECK(w, m.Protect == (s->prot | PAGE_GUARD), "page %zu guard not reported: %#x", i,
                  (unsigned)m.Protect);
            SetLastError(0xDEADBEEF);
            CHECK(w, !VirtualLock(pg, PG) && GetLastError() == STATUS_GUARD_PAGE_VIOLATION,
                  "lock of guard page %zu: err %#x", i, (unsigned)GetLastError());
            if (query(w, pg, &m))
                return -1;
            CHECK(w, m.Protect == s->prot, "page %zu guard not cleared: %#x", i,
                  (unsigned)m.Protect);
            CHECK(w, VirtualLock(pg, PG), "lock after guard page %zu failed: %u", i,
                  (unsigned)GetLastError());
            CHECK(w, VirtualUnlock(pg, PG), "unlock page %zu failed: %u", i,
                  (unsigned)GetLastError());
        }
        break;
    }
    return check_shared_page(w, i);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    while (!stop_flag && !w->err[0]) {
        int r = (rnd(w) % 4 == 0) ? private_cycle(w) : shared_op(w);
        if (r)
            break;
        w->iters++;
    }
    return NULL;
}

/* Section 7: whole-address-space walks while the map changes; every query must
 * succeed and be self-consistent. */
static void *walker_main(void *arg)
{
    struct worker *w = arg;
    while (!stop_flag && !w->err[0]) {
        uintptr_t a = 0;
        while (a <= VW_MAX_APP_ADDR) {
            MEMORY_BASIC_INFORMATION m;
            if (query(w, (void *)a, &m))
                return NULL;
            if ((uintptr_t)m.BaseAddress != a || m.RegionSize == 0 ||
                (uintptr_t)m.BaseAddress + m.RegionSize <= a) {
                failf(w, __LINE__, "walk",
                      "walk at %#lx: base %p size %zu state %#x prot %#x abase %p type %#x",
                      (unsigned long)a, m.BaseAddress, (size_t)m.RegionSize, (unsigned)m.State,
                      (unsigned)m.Protect, m.AllocationBase, (unsigned)m.Type);
                return NULL;
            }
            if (m.State == MEM_FREE && (m.Protect != PAGE_NOACCESS || m.AllocationBase)) {
                failf(w, __LINE__, "free", "free region %p: prot %#x abase %p", m.BaseAddress, (unsigned)m.Protect,
                     m.AllocationBase);
                return NULL;
            }
            if (m.State == MEM_RESERVE && m.Protect != 0) {
                failf(w, __LINE__, "reserved", "reserved region %p: prot %#x", m.BaseAddress, (unsigned)m.Protect);
                return NULL;
            }
            if (m.State != MEM_FREE && m.State != MEM_RESERVE && m.State != MEM_COMMIT) {
                failf(w, __LINE__, "state", "region %p: state %#x", m.BaseAddress, (unsigned)m.State);
                return NULL;
            }
            a = (uintptr_t)m.BaseAddress + m.RegionSize;
        }
        w->walks++;
        w->iters++;
    }
    return NULL;
}

/* Sections 4-8 under concurrency: see the file comment. */
START_TEST(threads_mixed)
{
    /* Warm up the library, including guard pages, before our handler goes in. */
    char *warm = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(warm);
    DWORD old;
    ck_assert(VirtualProtect(warm, PG, PAGE_READWRITE | PAGE_GUARD, &old));
    (void)VirtualLock(warm, PG);   /* clears the guard (checked in the workers) */
    ck_assert(VirtualFree(warm, 0, MEM_RELEASE));

    shared = VirtualAlloc(NULL, NTHREADS * SPT * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(shared);
    vw_install_thread_probes();

    static struct worker w[NTHREADS + 1];
    memset(w, 0, sizeof w);
    stop_flag = 0;
    for (int t = 0; t < NTHREADS; t++) {
        w[t].id = t;
        w[t].seed = 12345u + 777u * (unsigned)t;
        w[t].own = shared + (size_t)t * SPT * PG;
        for (size_t i = 0; i < SPT; i++) {
            w[t].st[i].committed = 1;
            w[t].st[i].prot = PAGE_READWRITE;
            w[t].st[i].tag = (unsigned char)(t + 1);
            w[t].own[i * PG] = (char)(t + 1);
            w[t].own[i * PG + PG - 1] = (char)(t + 1);
        }
        ck_assert_int_eq(pthread_create(&w[t].th, NULL, worker_main, &w[t]), 0);
    }
    w[NTHREADS].id = NTHREADS;
    ck_assert_int_eq(pthread_create(&w[NTHREADS].th, NULL, walker_main, &w[NTHREADS]), 0);

    long long end = vw_monotonic_ns() + DURATION_NS;
    while (vw_monotonic_ns() < end) {
        int any_err = 0;
        for (int t = 0; t <= NTHREADS; t++)
            any_err |= w[t].err[0] != 0;
        if (any_err)
            break;
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    stop_flag = 1;
    for (int t = 0; t <= NTHREADS; t++)
        pthread_join(w[t].th, NULL);
    vw_remove_thread_probes();

    for (int t = 0; t <= NTHREADS; t++)
        ck_assert_msg(w[t].err[0] == 0, "%s", w[t].err);
    for (int t = 0; t < NTHREADS; t++) {
        ck_assert_msg(w[t].private_cycles > 0 && w[t].shared_ops > 0,
                      "thread %d did too little: %ld cycles, %ld shared ops", t,
                      w[t].private_cycles, w[t].shared_ops);
    }
    ck_assert_int_gt(w[NTHREADS].walks, 0);

    /* Final state of every shared page as each thread left it. */
    vw_install_thread_probes();
    for (int t = 0; t < NTHREADS; t++)
        for (size_t i = 0; i < SPT; i++)
            if (check_shared_page(&w[t], i))
                break;
    vw_remove_thread_probes();
    for (int t = 0; t < NTHREADS; t++)
        ck_assert_msg(w[t].err[0] == 0, "final state: %s", w[t].err);

    /* The map agrees with the kernel (section 7). */
    vw_assert_range_agrees(shared, NTHREADS * SPT * PG);
    vw_assert_all_agree();

    /* Everything releases. */
    ck_assert(VirtualFree(shared, 0, MEM_RELEASE));
    MEMORY_BASIC_INFORMATION m = vw_query(shared);
    ck_assert_uint_eq(m.State, MEM_FREE);
    vw_assert_all_agree();
    fprintf(stderr, "check_threads: %ld/%ld/%ld/%ld iterations, %ld walks\n", w[0].iters,
            w[1].iters, w[2].iters, w[3].iters, w[NTHREADS].walks);
}
END_TEST

/* Sections 4, 5, 10: threads reserving, committing and releasing at once never
 * get overlapping allocations: each stamps its allocations and checks the stamps
 * before releasing them. */
#define OV_T 4
#define OV_PER 3000
#define OV_HELD 32
static char ov_err[OV_T][256];

static void *overlap_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char *held[OV_HELD] = { 0 };
    size_t sizes[OV_HELD] = { 0 };
    unsigned seed = 99u + (unsigned)id;
    for (long n = 0; n < OV_PER; n++) {
        int slot = (int)(n % OV_HELD);
        if (held[slot]) {
            uint64_t want = ((uint64_t)id << 48) | (uint64_t)(n - OV_HELD);
            if (*(uint64_t *)held[slot] != want ||
                *(uint64_t *)(held[slot] + sizes[slot] - 8) != ~want) {
                snprintf(ov_err[id], sizeof ov_err[id], "allocation %p (#%ld) overwritten",
                         (void *)held[slot], n - OV_HELD);
                return ov_err[id];
            }
            if (!VirtualFree(held[slot], 0, MEM_RELEASE)) {
                snprintf(ov_err[id], sizeof ov_err[id], "release of %p failed: %u",
                         (void *)held[slot], (unsigned)GetLastError());
                return ov_err[id];
            }
        }
        size_t size = VW_64K * (1 + (size_t)(rand_r(&seed) % 3)) - (rand_r(&seed) % 2) * PG;
        char *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!p || ((uintptr_t)p & (VW_64K - 1)) || *(uint64_t *)p != 0 ||
            *(uint64_t *)(p + size - 8) != 0) {
            snprintf(ov_err[id], sizeof ov_err[id], "allocation #%ld: %p (error %u), "
                     "not aligned or not zero", n, (void *)p, (unsigned)GetLastError());
            return ov_err[id];
        }
        uint64_t stamp = ((uint64_t)id << 48) | (uint64_t)n;
        *(uint64_t *)p = stamp;
        *(uint64_t *)(p + size - 8) = ~stamp;
        held[slot] = p;
        sizes[slot] = size;
    }
    for (int i = 0; i < OV_HELD; i++)
        if (held[i] && !VirtualFree(held[i], 0, MEM_RELEASE)) {
            snprintf(ov_err[id], sizeof ov_err[id], "final release failed: %u",
                     (unsigned)GetLastError());
            return ov_err[id];
        }
    return NULL;
}

START_TEST(threads_no_overlap)
{
    pthread_t th[OV_T];
    for (int t = 0; t < OV_T; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, overlap_worker, (void *)(intptr_t)t), 0);
    for (int t = 0; t < OV_T; t++) {
        void *ret = NULL;
        pthread_join(th[t], &ret);
        ck_assert_msg(ret == NULL, "thread %d: %s", t, (const char *)ret);
    }
    vw_assert_all_agree();
}
END_TEST

/* Section 7: VirtualQuery racing with VirtualAlloc/VirtualFree at the same
 * address.  One thread reserves (or reserves and commits) 64 KiB at a fixed
 * address X and releases it, over and over; another queries X meanwhile.  Every
 * answer must be one of the states X really passes through: free (RegionSize at
 * least 64 KiB, nothing else is there), reserved or committed (AllocationBase X,
 * RegionSize 64 KiB) - never a zero-sized or mixed-up region. */
static char *race_x;
static volatile int race_stop;
static char race_err[2][300];

static void *race_allocator(void *arg)
{
    (void)arg;
    long n = 0;
    while (!race_stop) {
        DWORD type = (n++ & 1) ? MEM_RESERVE : MEM_RESERVE | MEM_COMMIT;
        char *p = VirtualAlloc(race_x, VW_64K, type, PAGE_READWRITE);
        if (p != race_x) {
            snprintf(race_err[0], sizeof race_err[0], "VirtualAlloc(%p) returned %p, error %u",
                     (void *)race_x, (void *)p, (unsigned)GetLastError());
            return NULL;
        }
        if (!VirtualFree(p, 0, MEM_RELEASE)) {
            snprintf(race_err[0], sizeof race_err[0], "VirtualFree(%p) failed: %u", (void *)p,
                     (unsigned)GetLastError());
            return NULL;
        }
    }
    return NULL;
}

static void *race_querier(void *arg)
{
    long *counts = arg;
    while (!race_stop) {
        MEMORY_BASIC_INFORMATION m;
        memset(&m, 0x5A, sizeof m);
        SIZE_T r = VirtualQuery(race_x + 0x10, &m, sizeof m);
        int ok = r == sizeof m && m.BaseAddress == race_x && m.RegionSize > 0;
        if (ok && m.State == MEM_FREE) {
            ok = m.RegionSize >= VW_64K && m.AllocationBase == NULL && m.Protect == PAGE_NOACCESS &&
                 m.Type == 0 && m.AllocationProtect == 0;
            counts[0]++;
        } else if (ok && m.State == MEM_RESERVE) {
            ok = m.AllocationBase == race_x && m.RegionSize == VW_64K && m.Protect == 0 &&
                 m.Type == MEM_PRIVATE && m.AllocationProtect == PAGE_READWRITE;
            counts[1]++;
        } else if (ok && m.State == MEM_COMMIT) {
            ok = m.AllocationBase == race_x && m.RegionSize == VW_64K &&
                 m.Protect == PAGE_READWRITE && m.Type == MEM_PRIVATE;
            counts[2]++;
        } else {
            ok = 0;
        }
        if (!ok) {
            snprintf(race_err[1], sizeof race_err[1],
                     "VirtualQuery(%p) returned %zu: base %p size %#zx state %#x prot %#x "
                     "abase %p aprot %#x type %#x", (void *)(race_x + 0x10), (size_t)r,
                     m.BaseAddress, (size_t)m.RegionSize, (unsigned)m.State, (unsigned)m.Protect,
                     m.AllocationBase, (unsigned)m.AllocationProtect, (unsigned)m.Type);
            return NULL;
        }
    }
    return NULL;
}

START_TEST(threads_query_races_alloc)
{
    race_x = VirtualAlloc(NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(race_x);
    ck_assert(VirtualFree(race_x, 0, MEM_RELEASE));
    race_stop = 0;
    long counts[3] = { 0, 0, 0 };
    pthread_t ta, tq;
    ck_assert_int_eq(pthread_create(&ta, NULL, race_allocator, NULL), 0);
    ck_assert_int_eq(pthread_create(&tq, NULL, race_querier, counts), 0);
    long long end = vw_monotonic_ns() + 1500000000LL;
    while (vw_monotonic_ns() < end && !race_err[0][0] && !race_err[1][0]) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    race_stop = 1;
    pthread_join(ta, NULL);
    pthread_join(tq, NULL);
    ck_assert_msg(race_err[0][0] == 0, "allocator: %s", race_err[0]);
    ck_assert_msg(race_err[1][0] == 0, "querier (after %ld free / %ld reserved / %ld committed "
                  "answers): %s", counts[0], counts[1], counts[2], race_err[1]);
    ck_assert_msg(counts[0] + counts[1] + counts[2] > 100, "too few queries");
    ck_assert_uint_eq(vw_query(race_x).State, MEM_FREE);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, threads_mixed);
    tcase_add_test(tc, threads_no_overlap);
    tcase_add_test(tc, threads_query_races_alloc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(threads_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
