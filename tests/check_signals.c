/*
 * check_signals.c: the API called from signal handlers (issue item 6).
 *
 * The library's rule: nothing breaks when an API function is called from a
 * signal handler that the library's own code did not interrupt, because its
 * lock (a futex mutex, not recursive) is held only inside API calls and never
 * while touching user memory.  So:
 * - commit on demand: a SIGSEGV handler finds the faulting page with
 *   VirtualQuery and commits it with VirtualAlloc(MEM_COMMIT); the access
 *   restarts.  Four threads fault at once on scattered pages of a 64 MiB
 *   reservation (their own pages and shared ones), so handlers in different
 *   threads contend for the lock and race to commit the same page;
 * - the same when the fault comes from the library itself writing an output
 *   buffer (VirtualQuery's MEMORY_BASIC_INFORMATION, VirtualProtect's old
 *   protection) that lies in a reserved page: the lock is not held then;
 * - write barrier (garbage collectors): PAGE_NOACCESS / PAGE_READONLY pages are
 *   lifted to PAGE_READWRITE by VirtualProtect in the handler, one fault per page;
 * - guard pages: the library clears PAGE_GUARD before the program's handler,
 *   which it chains to, runs (spec 12: one exception per arming), and the
 *   access restarts when it returns;
 * - asynchronous signals: SIGUSR1 sent with pthread_kill in a loop to threads
 *   running plain user code (they block SIGUSR1 whenever they call the library
 *   themselves); the handler reserves, commits, protects, queries, decommits and
 *   releases its own allocations while other threads hammer the API.
 *
 * Every test runs under an alarm() watchdog: a deadlock fails the test with
 * SIGALRM (and a message on stderr) instead of hanging.  Handlers use only the
 * API, atomics and write(2); they record the first failure in a static buffer
 * that the test reports.  Worker threads never call Check.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PG VW_PAGE
#define NTHREADS 4
#define WATCHDOG_S 30

/* Check's passing assertions each send a message: use this in big loops. */
#define REQUIRE(cond, ...)                                                               \
    do {                                                                                 \
        if (!(cond))                                                                     \
            ck_abort_msg("(" #cond ") " __VA_ARGS__);                                    \
    } while (0)

/* ---- async-signal-safe reporting ---------------------------------------------- */

static size_t put_str(char *b, size_t n, size_t cap, const char *s)
{
    while (*s && n + 1 < cap)
        b[n++] = *s++;
    b[n] = 0;
    return n;
}

static size_t put_hex(char *b, size_t n, size_t cap, uintptr_t v)
{
    char t[19];
    int k = 0;
    do {
        t[k++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v && k < 16);
    n = put_str(b, n, cap, "0x");
    while (k > 0 && n + 1 < cap)
        b[n++] = t[--k];
    b[n] = 0;
    return n;
}

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* ---- watchdog ------------------------------------------------------------------ */

static const char *volatile watchdog_what = "";

static void watchdog_handler(int sig)
{
    char b[200];
    size_t n = put_str(b, 0, sizeof b, "check_signals: watchdog: ");
    n = put_str(b, n, sizeof b, watchdog_what);
    n = put_str(b, n, sizeof b, " did not finish in time (deadlock in a signal handler?)\n");
    write_all(b, n);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void watchdog_start(const char *what)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = watchdog_handler;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    watchdog_what = what;
    alarm(WATCHDOG_S);
}

static void watchdog_stop(void)
{
    alarm(0);
    signal(SIGALRM, SIG_DFL);
}

/* ---- the SIGSEGV handler ---------------------------------------------------------- */

enum { FM_NONE, FM_COMMIT, FM_BARRIER, FM_GUARD };

static volatile int fault_mode;
static char *volatile reg_base;      /* the test's allocation */
static size_t reg_pages;
static unsigned *faults;             /* per page: handler runs */
static unsigned *fixes;              /* per page: commits / lifts / guards cleared by a handler */
static unsigned long n_faults, n_fixes, n_raced;
static char hmsg[300];
static int hfailed;

/* Records the first failure seen in a handler. */
static void hfail(int line, const char *what, uintptr_t addr, uintptr_t a, uintptr_t b)
{
    if (__atomic_exchange_n(&hfailed, 1, __ATOMIC_ACQ_REL))
        return;
    size_t n = put_str(hmsg, 0, sizeof hmsg, "SIGSEGV handler, line ");
    n = put_hex(hmsg, n, sizeof hmsg, (uintptr_t)line);
    n = put_str(hmsg, n, sizeof hmsg, ": ");
    n = put_str(hmsg, n, sizeof hmsg, what);
    n = put_str(hmsg, n, sizeof hmsg, " at ");
    n = put_hex(hmsg, n, sizeof hmsg, addr);
    n = put_str(hmsg, n, sizeof hmsg, " (");
    n = put_hex(hmsg, n, sizeof hmsg, a);
    n = put_str(hmsg, n, sizeof hmsg, ", ");
    n = put_hex(hmsg, n, sizeof hmsg, b);
    n = put_str(hmsg, n, sizeof hmsg, ", last error ");
    n = put_hex(hmsg, n, sizeof hmsg, GetLastError());
    n = put_str(hmsg, n, sizeof hmsg, ")\n");
    write_all(hmsg, n);
}

/* A fault the handler cannot resolve: the access must not restart forever. */
#define HDIE(what, a, b)                                                                 \
    do {                                                                                 \
        hfail(__LINE__, what, addr, (uintptr_t)(a), (uintptr_t)(b));                    \
        signal(SIGSEGV, SIG_DFL);                                                        \
        errno = saved_errno;                                                             \
        return;                                                                          \
    } while (0)

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    int saved_errno = errno;
    uintptr_t addr = (uintptr_t)si->si_addr, base = (uintptr_t)reg_base;
    int mode = fault_mode;
    if (mode == FM_NONE || addr < base || addr >= base + reg_pages * PG)
        HDIE("fault outside the test's allocation", mode, base);
    size_t i = (addr - base) / PG;
    char *page = reg_base + i * PG;
    __atomic_fetch_add(&faults[i], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&n_faults, 1, __ATOMIC_RELAXED);

    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0, sizeof m);
    if (VirtualQuery(page, &m, sizeof m) != sizeof m)
        HDIE("VirtualQuery failed", 0, 0);
    if (m.BaseAddress != page || m.AllocationBase != reg_base || m.Type != MEM_PRIVATE)
        HDIE("VirtualQuery: wrong region", m.BaseAddress, m.AllocationBase);

    DWORD old = 0;
    switch (mode) {
    case FM_COMMIT:
        /* Section 4: commit inside the reservation returns page_floor(addr). */
        if (m.State == MEM_RESERVE) {
            if (m.Protect != 0)
                HDIE("reserved page with Protect != 0", m.Protect, 0);
            LPVOID r = VirtualAlloc((void *)addr, 1, MEM_COMMIT, PAGE_READWRITE);
            if (r != page)
                HDIE("VirtualAlloc(MEM_COMMIT) failed", r, page);
            __atomic_fetch_add(&fixes[i], 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&n_fixes, 1, __ATOMIC_RELAXED);
        } else if (m.State == MEM_COMMIT && m.Protect == PAGE_READWRITE) {
            /* Another thread's handler committed it since the fault. */
            __atomic_fetch_add(&n_raced, 1, __ATOMIC_RELAXED);
        } else {
            HDIE("unexpected state", m.State, m.Protect);
        }
        break;
    case FM_BARRIER:
        if (m.State != MEM_COMMIT)
            HDIE("barrier page not committed", m.State, m.Protect);
        if (m.Protect == PAGE_NOACCESS || m.Protect == PAGE_READONLY) {
            if (!VirtualProtect(page, PG, PAGE_READWRITE, &old))
                HDIE("VirtualProtect(READWRITE) failed", m.Protect, 0);
            if (old == m.Protect) {
                __atomic_fetch_add(&fixes[i], 1, __ATOMIC_RELAXED);
                __atomic_fetch_add(&n_fixes, 1, __ATOMIC_RELAXED);
            } else if (old == PAGE_READWRITE) {
                __atomic_fetch_add(&n_raced, 1, __ATOMIC_RELAXED);
            } else {
                hfail(__LINE__, "old protection is neither the queried one nor READWRITE", addr,
                      old, m.Protect);
            }
        } else if (m.Protect == PAGE_READWRITE) {
            __atomic_fetch_add(&n_raced, 1, __ATOMIC_RELAXED);
        } else {
            HDIE("unexpected protection", m.State, m.Protect);
        }
        break;
    case FM_GUARD:
        /* Section 12: the library cleared the guard before any handler ran,
         * this one included (it is chained to, no vectored handler took the
         * STATUS_GUARD_PAGE_VIOLATION); returning retries the access. */
        if (m.State != MEM_COMMIT)
            HDIE("guard page not committed", m.State, m.Protect);
        if (m.Protect & PAGE_GUARD)
            HDIE("guard still armed when the program's handler runs", m.State, m.Protect);
        if (m.Protect == PAGE_READWRITE || m.Protect == PAGE_READONLY) {
            __atomic_fetch_add(&fixes[i], 1, __ATOMIC_RELAXED);
            __atomic_fetch_add(&n_fixes, 1, __ATOMIC_RELAXED);
        } else {
            HDIE("unexpected protection", m.State, m.Protect);
        }
        (void)old;
        break;
    }
    errno = saved_errno;
}

static struct sigaction old_segv, old_bus;

static void fault_setup(char *base, size_t pages, int mode)
{
    reg_base = base;
    reg_pages = pages;
    faults = calloc(pages, sizeof *faults);
    fixes = calloc(pages, sizeof *fixes);
    ck_assert(faults && fixes);
    n_faults = n_fixes = n_raced = 0;
    hfailed = 0;
    hmsg[0] = 0;
    fault_mode = mode;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = segv_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGSEGV, &sa, &old_segv), 0);
    ck_assert_int_eq(sigaction(SIGBUS, &sa, &old_bus), 0);
}

/* Puts the previous handlers back; the counters stay until fault_free(). */
static void fault_uninstall(void)
{
    fault_mode = FM_NONE;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
}

static void fault_free(void)
{
    free(faults);
    free(fixes);
    faults = fixes = NULL;
}

/* ---- the kernel's view, loaded once (ranges with thousands of regions) ------ */

struct kmap {
    uintptr_t start, end;
    char perms[4];
};
static struct kmap *kmaps;
static size_t nkmaps;

static void load_kmaps(void)
{
    static char buf[8 << 20];
    ssize_t len = vw_read_file("/proc/self/maps", buf, sizeof buf);
    ck_assert_int_ge(len, 0);
    size_t n = (size_t)len;
    ck_assert_uint_lt(n, sizeof buf - 1);
    size_t lines = 0;
    for (size_t k = 0; k < n; k++)
        lines += buf[k] == '\n';
    free(kmaps);
    kmaps = calloc(lines + 1, sizeof *kmaps);
    ck_assert_ptr_nonnull(kmaps);
    nkmaps = 0;
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        unsigned long s, e;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3) {
            kmaps[nkmaps].start = s;
            kmaps[nkmaps].end = e;
            memcpy(kmaps[nkmaps].perms, perms, 4);
            nkmaps++;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
}

/* Index of the first mapping whose end is above a. */
static size_t kmap_from(uintptr_t a)
{
    size_t lo = 0, hi = nkmaps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kmaps[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Section 7: every VirtualQuery region of [base, base+size) (an allocation of the
 * test) is mapped in the kernel with the matching PROT_* (reserved and guard pages
 * PROT_NONE), as testutil's vw_assert_range_agrees, reading the maps once. */
static void assert_alloc_agrees(char *base, size_t size)
{
    load_kmaps();
    uintptr_t a = (uintptr_t)base, end = a + size;
    while (a < end) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        REQUIRE((uintptr_t)m.BaseAddress == a && m.RegionSize > 0, "at %#lx", (unsigned long)a);
        uintptr_t re = a + m.RegionSize;
        const char *want = vw_expected_perms(m.State, m.Protect);
        for (uintptr_t c = a; c < re;) {
            size_t k = kmap_from(c);
            REQUIRE(k < nkmaps && kmaps[k].start <= c, "page %#lx (state %#x) not mapped",
                    (unsigned long)c, (unsigned)m.State);
            REQUIRE(memcmp(kmaps[k].perms, want, 3) == 0,
                    "page %#lx: state %#x protect %#x, kernel %.4s", (unsigned long)c,
                    (unsigned)m.State, (unsigned)m.Protect, kmaps[k].perms);
            c = kmaps[k].end;
        }
        a = re;
    }
}

/* Walks [base, base+np pages): each region must be a maximal run of pages with the
 * expected State and Protect (section 7: regions split and merge by State/Protect). */
static void assert_runs(char *base, size_t np, DWORD (*state_of)(size_t),
                        DWORD (*prot_of)(size_t))
{
    size_t i = 0;
    while (i < np) {
        MEMORY_BASIC_INFORMATION m = vw_query(base + i * PG);
        size_t j = i + 1;
        while (j < np && state_of(j) == state_of(i) && prot_of(j) == prot_of(i))
            j++;
        REQUIRE(m.BaseAddress == base + i * PG && m.AllocationBase == base &&
                    m.Type == MEM_PRIVATE && m.State == state_of(i) && m.Protect == prot_of(i) &&
                    m.RegionSize == (j - i) * PG,
                "page %zu: base %p state %#x prot %#x size %#zx; expected state %#x prot %#x "
                "size %#zx",
                i, m.BaseAddress, (unsigned)m.State, (unsigned)m.Protect, (size_t)m.RegionSize,
                (unsigned)state_of(i), (unsigned)prot_of(i), (j - i) * PG);
        i = j;
    }
}

/* ---- shared test helpers -------------------------------------------------------- */

static unsigned hash32(size_t i, unsigned salt)
{
    uint32_t x = (uint32_t)i * 2654435761u ^ salt * 0x9E3779B9u;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return x;
}

static uint64_t magic(size_t i, int t)
{
    return 0x5EED000000000000ull ^ ((uint64_t)i << 12) ^ (uint64_t)(t + 1);
}

static void shuffle(size_t *a, size_t n, unsigned *seed)
{
    for (size_t k = n; k > 1; k--) {
        size_t j = (size_t)rand_r(seed) % k;
        size_t t = a[k - 1];
        a[k - 1] = a[j];
        a[j] = t;
    }
}

struct toucher {
    int id;
    unsigned seed;
    size_t *order;           /* pages to touch, in scattered order */
    size_t n;
    char err[300];
    pthread_t th;
};

static int terr(struct toucher *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int terr(struct toucher *t, const char *fmt, ...)
{
    if (!t->err[0]) {
        int n = snprintf(t->err, sizeof t->err, "thread %d: ", t->id);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->err + n, sizeof t->err - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Puts each thread's shared pages first, in the same scattered order for every
 * thread (so that the threads fault on the same pages at the same time), then its
 * own pages in its own scattered order. */
static void arrange(struct toucher *t, const unsigned char *is_shared)
{
    for (int k = 0; k < NTHREADS; k++) {
        size_t ns = 0;
        for (size_t j = 0; j < t[k].n; j++) {
            if (is_shared[t[k].order[j]]) {
                size_t v = t[k].order[j];
                t[k].order[j] = t[k].order[ns];
                t[k].order[ns++] = v;
            }
        }
        unsigned common = 4242;
        /* The shared pages were added in index order by every thread. */
        size_t *sorted = t[k].order;
        for (size_t a = 1; a < ns; a++)
            for (size_t b = a; b > 0 && sorted[b - 1] > sorted[b]; b--) {
                size_t v = sorted[b];
                sorted[b] = sorted[b - 1];
                sorted[b - 1] = v;
            }
        shuffle(t[k].order, ns, &common);
        shuffle(t[k].order + ns, t[k].n - ns, &t[k].seed);
    }
}

static pthread_barrier_t start_line;

struct start_arg {
    void *(*fn)(void *);
    struct toucher *t;
};

/* All threads start touching at the same moment. */
static void *start_together(void *arg)
{
    struct start_arg *a = arg;
    pthread_barrier_wait(&start_line);
    return a->fn(a->t);
}

enum { CL_NONE, CL_WRITE, CL_READ, CL_SHARED };
static unsigned char *cls;        /* per page: how it is touched */

static const unsigned char *shared_mask(size_t np)
{
    static unsigned char *mask;
    free(mask);
    mask = calloc(np, 1);
    ck_assert_ptr_nonnull(mask);
    for (size_t i = 0; i < np; i++)
        mask[i] = cls[i] == CL_SHARED;
    return mask;
}

static void run_touchers(struct toucher *t, void *(*fn)(void *))
{
    struct start_arg a[NTHREADS];
    ck_assert_int_eq(pthread_barrier_init(&start_line, NULL, NTHREADS), 0);
    for (int k = 0; k < NTHREADS; k++) {
        a[k].fn = fn;
        a[k].t = &t[k];
        ck_assert_int_eq(pthread_create(&t[k].th, NULL, start_together, &a[k]), 0);
    }
    for (int k = 0; k < NTHREADS; k++)
        pthread_join(t[k].th, NULL);
    pthread_barrier_destroy(&start_line);
}

static void check_touchers(struct toucher *t)
{
    ck_assert_msg(!hfailed, "%s", hmsg);
    for (int k = 0; k < NTHREADS; k++)
        ck_assert_msg(t[k].err[0] == 0, "%s", t[k].err);
}

/* ---- commit on demand from 4 threads --------------------------------------------- */

static unsigned char *owner;      /* per page: which thread touches it (not CL_SHARED) */
static char *dregion;

#define SLOT(pg, t) ((volatile uint64_t *)((pg) + 64 * ((size_t)(t) + 1)))

static void *demand_thread(void *arg)
{
    struct toucher *t = arg;
    unsigned seed = t->seed;
    /* Section 2: the handler's successful calls leave this thread's last error. */
    SetLastError(0x600D0000u + (DWORD)t->id);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < t->n; k++) {
            size_t i = t->order[k];
            char *pg = dregion + i * PG;
            volatile uint64_t *w = (volatile uint64_t *)pg;
            size_t last = PG / 8 - 1, mid = (size_t)rand_r(&seed) % (PG / 8);
            switch (cls[i]) {
            case CL_WRITE:
                if (pass == 0) {
                    /* Section 4/10: a page committed on demand reads as zero. */
                    if ((rand_r(&seed) & 1) && w[mid] != 0)
                        return (void *)(intptr_t)terr(t, "fresh page %zu word %zu not zero", i,
                                                      mid);
                    w[0] = magic(i, t->id);
                    w[last] = ~magic(i, t->id);
                } else if (w[0] != magic(i, t->id) || w[last] != ~magic(i, t->id)) {
                    return (void *)(intptr_t)terr(t, "page %zu lost its contents", i);
                }
                break;
            case CL_READ:
                if (w[mid] != 0 || w[0] != 0 || w[last] != 0)
                    return (void *)(intptr_t)terr(t, "read-only touched page %zu not zero", i);
                break;
            case CL_SHARED:
                /* Section 4: committing a committed page keeps its contents, so the
                 * other threads' racing commits never wipe this thread's slot. */
                if (pass == 0) {
                    if ((rand_r(&seed) & 1) && *SLOT(pg, t->id) != 0)
                        return (void *)(intptr_t)terr(t, "shared page %zu: own slot not zero", i);
                    *SLOT(pg, t->id) = magic(i, t->id);
                } else if (*SLOT(pg, t->id) != magic(i, t->id)) {
                    return (void *)(intptr_t)terr(t, "shared page %zu: own slot lost", i);
                }
                break;
            }
        }
        shuffle(t->order, t->n, &seed);
    }
    if (GetLastError() != 0x600D0000u + (DWORD)t->id)
        terr(t, "last error changed to %u by the handler's successful calls",
             (unsigned)GetLastError());
    return NULL;
}

static DWORD demand_state(size_t i)
{
    return cls[i] == CL_NONE ? MEM_RESERVE : MEM_COMMIT;
}

static DWORD demand_prot(size_t i)
{
    return cls[i] == CL_NONE ? 0 : PAGE_READWRITE;
}

/* Sections 4, 7, 10 and the signal rule: a SIGSEGV handler commits the faulting
 * page of a 64 MiB reservation (VirtualQuery, then VirtualAlloc(MEM_COMMIT)) and
 * the access restarts, from 4 threads faulting at once in scattered order on their
 * own pages and on shared ones.  Afterwards: every touched page is MEM_COMMIT
 * READWRITE and holds what was written (read-only touches read zero), every other
 * page is still MEM_RESERVE with Protect 0, each own page faulted exactly once,
 * the regions are maximal runs and the kernel agrees. */
START_TEST(demand_commit_threads)
{
    watchdog_start("demand_commit_threads");
    const size_t size = (size_t)64 << 20, np = size / PG;
    dregion = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(dregion);
    cls = calloc(np, 1);
    owner = calloc(np, 1);
    ck_assert(cls && owner);
    static struct toucher t[NTHREADS];
    memset(t, 0, sizeof t);
    size_t counts[4] = { 0, 0, 0, 0 };
    for (int k = 0; k < NTHREADS; k++) {
        t[k].id = k;
        t[k].seed = 1000u + 17u * (unsigned)k;
        t[k].order = calloc(np, sizeof(size_t));
        ck_assert_ptr_nonnull(t[k].order);
    }
    for (size_t i = 0; i < np; i++) {
        unsigned h = hash32(i, 1);
        if (i % 64 == 0) {
            cls[i] = CL_SHARED;
            for (int k = 0; k < NTHREADS; k++)
                t[k].order[t[k].n++] = i;
        } else if (i % 8 >= 1 && i % 8 <= 4 && (h & 1)) {
            cls[i] = CL_WRITE;
            owner[i] = (unsigned char)(i % 8 - 1);
        } else if (i % 8 == 5 && (h & 1)) {
            cls[i] = CL_READ;
            owner[i] = (unsigned char)((i / 8) % NTHREADS);
        }
        if (cls[i] == CL_WRITE || cls[i] == CL_READ)
            t[owner[i]].order[t[owner[i]].n++] = i;
        counts[cls[i]]++;
    }
    arrange(t, shared_mask(np));

    fault_setup(dregion, np, FM_COMMIT);
    run_touchers(t, demand_thread);
    fault_uninstall();
    check_touchers(t);

    /* Per page: state, contents and the handler's work. */
    for (size_t i = 0; i < np; i++) {
        char *pg = dregion + i * PG;
        const uint64_t *w = (const uint64_t *)pg;
        size_t last = PG / 8 - 1;
        switch (cls[i]) {
        case CL_NONE:
            REQUIRE(faults[i] == 0, "untouched page %zu faulted %u times", i, faults[i]);
            break;
        case CL_WRITE:
            REQUIRE(faults[i] == 1 && fixes[i] == 1, "own page %zu: %u faults, %u commits", i,
                    faults[i], fixes[i]);
            REQUIRE(w[0] == magic(i, owner[i]) && w[last] == ~magic(i, owner[i]),
                    "page %zu contents", i);
            break;
        case CL_READ:
            REQUIRE(faults[i] == 1 && fixes[i] == 1, "read page %zu: %u faults, %u commits", i,
                    faults[i], fixes[i]);
            for (size_t k = 0; k <= last; k++)
                REQUIRE(w[k] == 0, "read page %zu word %zu = %#llx", i, k,
                        (unsigned long long)w[k]);
            break;
        case CL_SHARED:
            REQUIRE(faults[i] >= 1 && faults[i] <= NTHREADS && fixes[i] >= 1 &&
                        fixes[i] <= faults[i],
                    "shared page %zu: %u faults, %u commits", i, faults[i], fixes[i]);
            for (int k = 0; k < NTHREADS; k++)
                REQUIRE(*SLOT(pg, k) == magic(i, k), "shared page %zu slot %d = %#llx", i, k,
                        (unsigned long long)*SLOT(pg, k));
            REQUIRE(w[0] == 0 && w[last] == 0, "shared page %zu: unwritten words not zero", i);
            break;
        }
    }
    assert_runs(dregion, np, demand_state, demand_prot);
    assert_alloc_agrees(dregion, size);
    fprintf(stderr,
            "check_signals: demand commit: %zu own + %zu read + %zu shared pages touched, "
            "%zu untouched; %lu faults, %lu commits, %lu raced\n",
            counts[CL_WRITE], counts[CL_READ], counts[CL_SHARED], counts[CL_NONE], n_faults,
            n_fixes, n_raced);
    ck_assert_uint_ge(n_fixes, counts[CL_WRITE] + counts[CL_READ] + counts[CL_SHARED]);
    ck_assert_uint_eq(n_faults, n_fixes + n_raced);

    fault_free();
    ck_assert(VirtualFree(dregion, 0, MEM_RELEASE));
    ck_assert_uint_eq(vw_query(dregion).State, MEM_FREE);
    vw_assert_all_agree();
    for (int k = 0; k < NTHREADS; k++)
        free(t[k].order);
    free(cls);
    free(owner);
    watchdog_stop();
}
END_TEST

/* ---- a reserved output buffer: refused before the library touches it ---------- */

static char *oregion;
static size_t ostripe;

/* One thread's rounds: each round uses six fresh pages of its stripe.  Page 3
 * of a round is committed as the VirtualProtect target; the others stay
 * reserved, and the outputs are placed in them. */
static void *output_thread(void *arg)
{
    struct toucher *t = arg;
    size_t first = (size_t)t->id * ostripe, rounds = ostripe / 6;
    for (size_t r = 0; r < rounds; r++) {
        size_t p0 = first + r * 6;
        char *pg = oregion + p0 * PG;
        char *tp = pg + 3 * PG, *xp = pg + 4 * PG;
        /* VirtualQuery's answer into a reserved page. */
        SetLastError(0);
        SIZE_T q = VirtualQuery(xp, (MEMORY_BASIC_INFORMATION *)pg, sizeof(MEMORY_BASIC_INFORMATION));
        if (q != 0 || GetLastError() != ERROR_NOACCESS)
            return (void *)(intptr_t)terr(t, "round %zu: VirtualQuery into a reserved buffer: "
                                          "%zu, error %u", r, (size_t)q, (unsigned)GetLastError());
        /* VirtualProtect's old protection into a reserved page: nothing changes. */
        if (VirtualAlloc(tp, PG, MEM_COMMIT, PAGE_READWRITE) != tp)
            return (void *)(intptr_t)terr(t, "round %zu: commit failed: %u", r,
                                          (unsigned)GetLastError());
        SetLastError(0);
        BOOL ok = VirtualProtect(tp, PG, PAGE_READONLY, (DWORD *)(pg + PG + 8));
        if (ok || GetLastError() != ERROR_NOACCESS)
            return (void *)(intptr_t)terr(t, "round %zu: VirtualProtect with a reserved old "
                                          "buffer: %d error %u", r, ok, (unsigned)GetLastError());
        /* ... also where the call would fail anyway (the pointer is checked first). */
        SetLastError(0);
        ok = VirtualProtect(xp, PG, PAGE_READWRITE, (DWORD *)(pg + 2 * PG + 16));
        if (ok || GetLastError() != ERROR_NOACCESS)
            return (void *)(intptr_t)terr(t, "round %zu: VirtualProtect of a reserved page: %d "
                                          "error %u", r, ok, (unsigned)GetLastError());
        /* GetSystemInfo too (section 1): the last error says so. */
        SetLastError(0);
        GetSystemInfo((SYSTEM_INFO *)(pg + 5 * PG));
        if (GetLastError() != ERROR_NOACCESS)
            return (void *)(intptr_t)terr(t, "round %zu: GetSystemInfo into a reserved buffer: "
                                          "error %u", r, (unsigned)GetLastError());
        MEMORY_BASIC_INFORMATION m;
        if (VirtualQuery(tp, &m, sizeof m) != sizeof m || m.State != MEM_COMMIT ||
            m.Protect != PAGE_READWRITE || m.RegionSize != PG)
            return (void *)(intptr_t)terr(t, "round %zu: target state %#x prot %#x size %zu", r,
                                          (unsigned)m.State, (unsigned)m.Protect,
                                          (size_t)m.RegionSize);
    }
    return NULL;
}

static DWORD output_state(size_t i)
{
    size_t k = (i % ostripe) % 6;
    return (i % ostripe) / 6 < ostripe / 6 && k == 3 ? MEM_COMMIT : MEM_RESERVE;
}

static DWORD output_prot(size_t i)
{
    return output_state(i) == MEM_COMMIT ? PAGE_READWRITE : 0;
}

/* Signal rule, second half, and issue 9: the library never touches user memory
 * it has not checked, and never with its lock held.  VirtualQuery's
 * MEMORY_BASIC_INFORMATION, VirtualProtect's old protection (on a call that
 * would succeed and on one that would fail) and GetSystemInfo's SYSTEM_INFO
 * are placed in reserved pages, from 4 threads at once, under a commit-on-demand
 * SIGSEGV handler: each call is refused with ERROR_NOACCESS before anything
 * changes, as on Windows (whose kernel probes these buffers, out of reach of
 * the program's handlers), and the library's own code takes no fault. */
START_TEST(demand_commit_api_buffers)
{
    watchdog_start("demand_commit_api_buffers");
    const size_t size = (size_t)4 << 20, np = size / PG;
    ostripe = np / NTHREADS;
    ck_assert_uint_ge(ostripe, 6);
    oregion = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(oregion);
    static struct toucher t[NTHREADS];
    memset(t, 0, sizeof t);
    for (int k = 0; k < NTHREADS; k++)
        t[k].id = k;
    fault_setup(oregion, np, FM_COMMIT);
    run_touchers(t, output_thread);
    fault_uninstall();
    check_touchers(t);
    for (size_t i = 0; i < np; i++)
        REQUIRE(faults[i] == 0 && fixes[i] == 0, "page %zu: %u faults, %u commits, expected none",
                i, faults[i], fixes[i]);
    ck_assert_uint_eq(n_faults, 0);
    assert_runs(oregion, np, output_state, output_prot);
    assert_alloc_agrees(oregion, size);
    fault_free();
    ck_assert(VirtualFree(oregion, 0, MEM_RELEASE));
    vw_assert_all_agree();
    watchdog_stop();
}
END_TEST

/* ---- write barrier: NOACCESS / READONLY lifted to READWRITE ----------------------- */

static char *bregion;
static DWORD *prot0;             /* per page: protection before the threads run */
static unsigned char *btouched;  /* per page: touched by its owner or shared */

static uint64_t pat(size_t i)
{
    return 0xA5A5000000000000ull | (uint64_t)i;
}

static void *barrier_thread(void *arg)
{
    struct toucher *t = arg;
    for (size_t k = 0; k < t->n; k++) {
        size_t i = t->order[k];
        char *pg = bregion + i * PG;
        volatile uint64_t *w = (volatile uint64_t *)pg;
        if (cls[i] == CL_SHARED) {
            if (w[0] != pat(i))
                return (void *)(intptr_t)terr(t, "shared page %zu: word 0 %#llx", i,
                                              (unsigned long long)w[0]);
            *SLOT(pg, t->id) = magic(i, t->id);
            continue;
        }
        /* NOACCESS: the read faults; READONLY: the read works, the write faults. */
        if (w[0] != pat(i))
            return (void *)(intptr_t)terr(t, "page %zu (protection %#x): word 0 %#llx", i,
                                          (unsigned)prot0[i], (unsigned long long)w[0]);
        w[1] = magic(i, t->id);
        w[2] = ~magic(i, t->id);
    }
    return NULL;
}

static DWORD barrier_state(size_t i)
{
    (void)i;
    return MEM_COMMIT;
}

static DWORD barrier_prot_before(size_t i)
{
    return prot0[i];
}

static DWORD barrier_prot_after(size_t i)
{
    return btouched[i] ? PAGE_READWRITE : prot0[i];
}

/* Section 6 and the signal rule (write barrier, as garbage collectors use it):
 * committed pages are made PAGE_NOACCESS or PAGE_READONLY; 4 threads read and
 * write them in scattered order; the SIGSEGV handler lifts the faulting page to
 * PAGE_READWRITE with VirtualProtect (old protection = the queried one) and the
 * access restarts.  Exactly one lift per touched page (one fault per own page),
 * none for READWRITE pages; contents survive every change; untouched pages keep
 * their protection; regions split and merge accordingly; the kernel agrees. */
START_TEST(write_barrier_protect)
{
    watchdog_start("write_barrier_protect");
    const size_t size = (size_t)16 << 20, np = size / PG;
    bregion = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(bregion);
    prot0 = calloc(np, sizeof *prot0);
    btouched = calloc(np, 1);
    cls = calloc(np, 1);
    owner = calloc(np, 1);
    ck_assert(prot0 && btouched && cls && owner);
    static struct toucher t[NTHREADS];
    memset(t, 0, sizeof t);
    for (int k = 0; k < NTHREADS; k++) {
        t[k].id = k;
        t[k].seed = 2000u + 31u * (unsigned)k;
        t[k].order = calloc(np, sizeof(size_t));
        ck_assert_ptr_nonnull(t[k].order);
    }
    for (size_t i = 0; i < np; i++) {
        ((uint64_t *)(bregion + i * PG))[0] = pat(i);
        prot0[i] = i % 3 == 0 ? PAGE_NOACCESS : i % 3 == 1 ? PAGE_READONLY : PAGE_READWRITE;
        if (i % 32 == 7) {
            cls[i] = CL_SHARED;
            for (int k = 0; k < NTHREADS; k++)
                t[k].order[t[k].n++] = i;
        } else if (hash32(i, 2) & 3) {
            cls[i] = CL_WRITE;
            owner[i] = (unsigned char)((i / 3) % NTHREADS);
            t[owner[i]].order[t[owner[i]].n++] = i;
        }
        btouched[i] = cls[i] != CL_NONE;
    }
    for (size_t i = 0; i < np; i++) {
        DWORD old = 0;
        if (prot0[i] != PAGE_READWRITE) {
            REQUIRE(VirtualProtect(bregion + i * PG, PG, prot0[i], &old) && old == PAGE_READWRITE,
                    "protect page %zu: error %u old %#x", i, (unsigned)GetLastError(),
                    (unsigned)old);
        }
    }
    assert_runs(bregion, np, barrier_state, barrier_prot_before);
    arrange(t, shared_mask(np));

    fault_setup(bregion, np, FM_BARRIER);
    run_touchers(t, barrier_thread);
    fault_uninstall();
    check_touchers(t);

    unsigned long lifted = 0;
    for (size_t i = 0; i < np; i++) {
        const uint64_t *w = (const uint64_t *)(bregion + i * PG);
        int barrier = prot0[i] != PAGE_READWRITE;
        if (!btouched[i] || !barrier) {
            REQUIRE(faults[i] == 0 && fixes[i] == 0, "page %zu (touched %d, protection %#x): "
                    "%u faults", i, btouched[i], (unsigned)prot0[i], faults[i]);
        } else {
            REQUIRE(fixes[i] == 1, "page %zu: lifted %u times", i, fixes[i]);
            if (cls[i] == CL_SHARED)
                REQUIRE(faults[i] >= 1 && faults[i] <= NTHREADS, "shared page %zu: %u faults", i,
                        faults[i]);
            else
                REQUIRE(faults[i] == 1, "own page %zu: %u faults", i, faults[i]);
            lifted++;
        }
        if (barrier_prot_after(i) != PAGE_NOACCESS)
            REQUIRE(w[0] == pat(i), "page %zu: word 0 %#llx", i, (unsigned long long)w[0]);
        if (cls[i] == CL_WRITE)
            REQUIRE(w[1] == magic(i, owner[i]) && w[2] == ~magic(i, owner[i]),
                    "page %zu: written words lost", i);
        if (cls[i] == CL_SHARED)
            for (int k = 0; k < NTHREADS; k++)
                REQUIRE(*SLOT((char *)w, k) == magic(i, k), "shared page %zu slot %d", i, k);
    }
    ck_assert_uint_eq(lifted, n_fixes);
    assert_runs(bregion, np, barrier_state, barrier_prot_after);
    assert_alloc_agrees(bregion, size);
    fprintf(stderr, "check_signals: write barrier: %lu faults, %lu pages lifted, %lu raced\n",
            n_faults, n_fixes, n_raced);
    fault_free();
    ck_assert(VirtualFree(bregion, 0, MEM_RELEASE));
    vw_assert_all_agree();
    for (int k = 0; k < NTHREADS; k++)
        free(t[k].order);
    free(prot0);
    free(btouched);
    free(cls);
    free(owner);
    watchdog_stop();
}
END_TEST

/* ---- guard pages cleared by the handler ------------------------------------------ */

static void *guard_thread(void *arg)
{
    struct toucher *t = arg;
    for (size_t k = 0; k < t->n; k++) {
        size_t i = t->order[k];
        char *pg = bregion + i * PG;
        volatile uint64_t *w = (volatile uint64_t *)pg;
        if (w[0] != pat(i))
            return (void *)(intptr_t)terr(t, "page %zu (protection %#x): word 0 %#llx", i,
                                          (unsigned)prot0[i], (unsigned long long)w[0]);
        if ((prot0[i] & 0xFF) == PAGE_READWRITE) {
            if (cls[i] == CL_SHARED)
                *SLOT(pg, t->id) = magic(i, t->id);
            else
                w[1] = magic(i, t->id);
        }
    }
    return NULL;
}

static DWORD guard_prot_after(size_t i)
{
    return btouched[i] ? prot0[i] & ~(DWORD)PAGE_GUARD : prot0[i];
}

/* Sections 6, 7 and 12 and the signal rule: PAGE_GUARD (armed with VirtualProtect
 * on READWRITE and READONLY pages) is reported in Protect until the first access;
 * the library clears it (one exception per arming) and, with no vectored handler,
 * chains to the program's SIGSEGV handler, which runs from 4 threads at once and
 * finds the guard already gone; the access restarts.  Exactly one fault per
 * touched guard page reaches the handler (a thread that faulted meanwhile
 * retries); untouched guard pages still report the guard; contents survive;
 * the kernel agrees. */
START_TEST(guard_page_handler)
{
    watchdog_start("guard_page_handler");
    const size_t size = (size_t)8 << 20, np = size / PG;
    bregion = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(bregion);
    prot0 = calloc(np, sizeof *prot0);
    btouched = calloc(np, 1);
    cls = calloc(np, 1);
    owner = calloc(np, 1);
    ck_assert(prot0 && btouched && cls && owner);
    static struct toucher t[NTHREADS];
    memset(t, 0, sizeof t);
    for (int k = 0; k < NTHREADS; k++) {
        t[k].id = k;
        t[k].seed = 3000u + 7u * (unsigned)k;
        t[k].order = calloc(np, sizeof(size_t));
        ck_assert_ptr_nonnull(t[k].order);
    }
    static const DWORD kinds[4] = { PAGE_READWRITE | PAGE_GUARD, PAGE_READONLY | PAGE_GUARD,
                                    PAGE_READONLY, PAGE_READWRITE };
    for (size_t i = 0; i < np; i++) {
        ((uint64_t *)(bregion + i * PG))[0] = pat(i);
        prot0[i] = kinds[i % 4];
        if (i % 64 < 2) {
            cls[i] = CL_SHARED;
            for (int k = 0; k < NTHREADS; k++)
                t[k].order[t[k].n++] = i;
        } else if (hash32(i, 3) & 3) {
            cls[i] = CL_WRITE;
            owner[i] = (unsigned char)((i / 4) % NTHREADS);
            t[owner[i]].order[t[owner[i]].n++] = i;
        }
        btouched[i] = cls[i] != CL_NONE;
        DWORD old = 0;
        if (prot0[i] != PAGE_READWRITE)
            REQUIRE(VirtualProtect(bregion + i * PG, PG, prot0[i], &old) && old == PAGE_READWRITE,
                    "protect page %zu: error %u old %#x", i, (unsigned)GetLastError(),
                    (unsigned)old);
    }
    assert_runs(bregion, np, barrier_state, barrier_prot_before);
    arrange(t, shared_mask(np));

    fault_setup(bregion, np, FM_GUARD);
    run_touchers(t, guard_thread);
    fault_uninstall();
    check_touchers(t);

    unsigned long cleared = 0;
    for (size_t i = 0; i < np; i++) {
        const uint64_t *w = (const uint64_t *)(bregion + i * PG);
        int guard = (prot0[i] & PAGE_GUARD) != 0;
        if (!btouched[i] || !guard) {
            REQUIRE(faults[i] == 0 && fixes[i] == 0, "page %zu (touched %d, protection %#x): "
                    "%u faults", i, btouched[i], (unsigned)prot0[i], faults[i]);
        } else {
            /* One exception per arming: a second thread that faulted on the
             * page meanwhile finds the guard gone and retries its access. */
            REQUIRE(fixes[i] == 1, "guard page %zu seen cleared %u times", i, fixes[i]);
            REQUIRE(faults[i] == 1, "guard page %zu: %u faults reached the handler", i,
                    faults[i]);
            cleared++;
        }
        if (!(guard_prot_after(i) & PAGE_GUARD))
            REQUIRE(w[0] == pat(i), "page %zu: word 0 %#llx", i, (unsigned long long)w[0]);
        if (cls[i] == CL_WRITE && (prot0[i] & 0xFF) == PAGE_READWRITE)
            REQUIRE(w[1] == magic(i, owner[i]), "page %zu: written word lost", i);
        if (cls[i] == CL_SHARED && (prot0[i] & 0xFF) == PAGE_READWRITE)
            for (int k = 0; k < NTHREADS; k++)
                REQUIRE(*SLOT((const char *)w, k) == magic(i, k), "shared page %zu slot %d", i, k);
    }
    ck_assert_uint_eq(cleared, n_fixes);
    assert_runs(bregion, np, barrier_state, guard_prot_after);
    assert_alloc_agrees(bregion, size);
    fprintf(stderr, "check_signals: guard pages: %lu faults, %lu guards cleared, %lu raced\n",
            n_faults, n_fixes, n_raced);
    fault_free();
    ck_assert(VirtualFree(bregion, 0, MEM_RELEASE));
    vw_assert_all_agree();
    for (int k = 0; k < NTHREADS; k++)
        free(t[k].order);
    free(prot0);
    free(btouched);
    free(cls);
    free(owner);
    watchdog_stop();
}
END_TEST

/* ---- SIGUSR1 delivered while the thread runs plain user code --------------------- */

#define NTARGETS 3
#define USR_DURATION_NS 2000000000LL

struct target {
    int id;
    char *own;               /* pages 0-3 committed (user data), the rest the handler's */
    size_t hpages;
    unsigned long handled, iters, released;
    int hline;               /* first handler failure: line, error, value */
    DWORD herr;
    uintptr_t hval;
    char err[300];
    pthread_t th;
};

static __thread struct target *tls_target;
static struct target targets[NTARGETS];
static int usr_stop;             /* atomic */
static char hammer_err[300];
static unsigned long hammer_ops;

#define UFAIL(v)                                                                         \
    do {                                                                                 \
        if (!t->hline) {                                                                 \
            t->hline = __LINE__;                                                         \
            t->herr = GetLastError();                                                    \
            t->hval = (uintptr_t)(v);                                                    \
        }                                                                                \
        errno = saved_errno;                                                             \
        return;                                                                          \
    } while (0)

/* Sections 4-7 in a handler: every call on the thread's own allocation, a fresh
 * allocation, and a query of the stack (memory the library did not allocate). */
static void usr1_handler(int sig)
{
    (void)sig;
    int saved_errno = errno;
    struct target *t = tls_target;
    if (!t) {
        hfail(__LINE__, "SIGUSR1 in a thread that is not a target", 0, 0, 0);
        return;
    }
    unsigned long n = t->handled;
    MEMORY_BASIC_INFORMATION m, s;
    DWORD old = 0;
    if (VirtualQuery(t->own, &m, sizeof m) != sizeof m || m.AllocationBase != t->own ||
        m.State != MEM_COMMIT || m.Protect != PAGE_READWRITE || m.RegionSize != 4 * PG)
        UFAIL(m.RegionSize);
    char *p = t->own + (4 + n % t->hpages) * PG;
    if (VirtualAlloc(p, PG, MEM_COMMIT, PAGE_READWRITE) != p)
        UFAIL(p);
    volatile uint64_t *w = (volatile uint64_t *)p;
    if (w[0] != 0 || w[PG / 8 - 1] != 0)
        UFAIL(w[0]);
    w[0] = n + 1;
    if (!VirtualProtect(p, PG, PAGE_READONLY, &old) || old != PAGE_READWRITE)
        UFAIL(old);
    if (VirtualQuery(p, &m, sizeof m) != sizeof m || m.BaseAddress != p ||
        m.State != MEM_COMMIT || m.Protect != PAGE_READONLY || m.RegionSize != PG)
        UFAIL(m.Protect);
    if (w[0] != n + 1)
        UFAIL(w[0]);
    if (!VirtualFree(p, PG, MEM_DECOMMIT))
        UFAIL(p);
    if (VirtualQuery(p, &m, sizeof m) != sizeof m || m.State != MEM_RESERVE || m.Protect != 0)
        UFAIL(m.State);
    if (n % 4 == 0) {
        char *q = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!q || ((uintptr_t)q & (VW_64K - 1)) || *(volatile char *)q != 0)
            UFAIL(q);
        q[0] = 1;
        if (!VirtualFree(q, 0, MEM_RELEASE))
            UFAIL(q);
        t->released++;
    }
    if (VirtualQuery(&s, &m, sizeof m) != sizeof m || m.State != MEM_COMMIT ||
        m.Protect != PAGE_READWRITE || m.Type != MEM_PRIVATE)
        UFAIL(m.State);
    t->handled = n + 1;
    errno = saved_errno;
}

static void *target_main(void *arg)
{
    struct target *t = arg;
    tls_target = t;
    sigset_t usr;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    /* SIGUSR1 is blocked (inherited): it is only unblocked around user code. */
    volatile uint64_t *data = (volatile uint64_t *)(t->own + PG);
    const size_t nw = 3 * PG / 8;
    uint64_t bump = 0;
    for (size_t k = 0; k < nw; k++)
        data[k] = k * 0x9E3779B97F4A7C15ull;
    while (!__atomic_load_n(&usr_stop, __ATOMIC_ACQUIRE)) {
        DWORD le = 0xC0DE0000u + (DWORD)(t->iters & 0xFFFF);
        SetLastError(le);
        if (t->iters % 16 == 0) {
            MEMORY_BASIC_INFORMATION m;
            if (VirtualQuery(t->own + PG, &m, sizeof m) != sizeof m || m.State != MEM_COMMIT) {
                snprintf(t->err, sizeof t->err, "target %d: own query failed", t->id);
                break;
            }
        }
        pthread_sigmask(SIG_UNBLOCK, &usr, NULL);
        /* Plain user code, on memory the library allocated. */
        uint64_t bad = 0;
        for (size_t k = 0; k < nw; k++) {
            uint64_t v = data[k];
            bad |= v ^ (k * 0x9E3779B97F4A7C15ull + bump);
            data[k] = v + 1;
        }
        if (t->iters % 8 == 0) {
            struct timespec ts = { 0, 20000 };
            nanosleep(&ts, NULL);
        }
        pthread_sigmask(SIG_BLOCK, &usr, NULL);
        bump++;
        if (bad) {
            snprintf(t->err, sizeof t->err, "target %d: user data changed (iteration %lu)", t->id,
                     t->iters);
            break;
        }
        /* Section 2: the handler made only successful calls. */
        if (GetLastError() != le) {
            snprintf(t->err, sizeof t->err, "target %d: last error %#x, expected %#x", t->id,
                     (unsigned)GetLastError(), (unsigned)le);
            break;
        }
        t->iters++;
    }
    return NULL;
}

/* Keeps the lock busy so that handlers often have to wait for it. */
static void *hammer_main(void *arg)
{
    (void)arg;
    unsigned seed = 77;
    while (!__atomic_load_n(&usr_stop, __ATOMIC_ACQUIRE)) {
        size_t size = VW_64K * (1 + (size_t)rand_r(&seed) % 4);
        char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
        DWORD old;
        MEMORY_BASIC_INFORMATION m;
        if (!p || VirtualAlloc(p, 2 * PG, MEM_COMMIT, PAGE_READWRITE) != p) {
            snprintf(hammer_err, sizeof hammer_err, "hammer: alloc failed: %u",
                     (unsigned)GetLastError());
            return NULL;
        }
        p[0] = 1;
        if (!VirtualProtect(p, PG, PAGE_READONLY, &old) || old != PAGE_READWRITE ||
            VirtualQuery(p, &m, sizeof m) != sizeof m || m.Protect != PAGE_READONLY ||
            !VirtualLock(p, PG) || !VirtualUnlock(p, PG) ||
            !VirtualFree(p + PG, PG, MEM_DECOMMIT) || !VirtualFree(p, 0, MEM_RELEASE)) {
            snprintf(hammer_err, sizeof hammer_err, "hammer: operation failed: %u",
                     (unsigned)GetLastError());
            return NULL;
        }
        hammer_ops++;
    }
    return NULL;
}

/* The signal rule, asynchronous: SIGUSR1 is sent with pthread_kill in a loop to 3
 * threads running plain user code (they block it around their own API calls); the
 * handler reserves, commits, protects, queries, decommits and releases its own
 * allocations and queries its stack, while another thread hammers the API.  No
 * deadlock (watchdog), every handler call succeeds, the interrupted code's data
 * and last error (section 2) are intact, and the map agrees with the kernel. */
START_TEST(sigusr1_api_in_handler)
{
    watchdog_start("sigusr1_api_in_handler");
    sigset_t usr, oldmask;
    sigemptyset(&usr);
    sigaddset(&usr, SIGUSR1);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr, &oldmask), 0);
    struct sigaction sa, old_usr;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = usr1_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old_usr), 0);
    hfailed = 0;
    hmsg[0] = 0;
    hammer_err[0] = 0;
    hammer_ops = 0;
    usr_stop = 0;
    memset(targets, 0, sizeof targets);
    for (int k = 0; k < NTARGETS; k++) {
        struct target *t = &targets[k];
        t->id = k;
        t->own = VirtualAlloc(NULL, 4 * VW_64K, MEM_RESERVE, PAGE_READWRITE);
        ck_assert_ptr_nonnull(t->own);
        ck_assert_ptr_eq(VirtualAlloc(t->own, 4 * PG, MEM_COMMIT, PAGE_READWRITE), t->own);
        t->hpages = 4 * VW_64K / PG - 4;
        ck_assert_int_eq(pthread_create(&t->th, NULL, target_main, t), 0);
    }
    pthread_t hammer;
    ck_assert_int_eq(pthread_create(&hammer, NULL, hammer_main, NULL), 0);

    unsigned long sent = 0;
    long long end = vw_monotonic_ns() + USR_DURATION_NS;
    while (vw_monotonic_ns() < end) {
        for (int k = 0; k < NTARGETS; k++) {
            ck_assert_int_eq(pthread_kill(targets[k].th, SIGUSR1), 0);
            sent++;
        }
        struct timespec ts = { 0, 30000 };
        nanosleep(&ts, NULL);
    }
    __atomic_store_n(&usr_stop, 1, __ATOMIC_RELEASE);
    for (int k = 0; k < NTARGETS; k++)
        pthread_join(targets[k].th, NULL);
    pthread_join(hammer, NULL);
    sigaction(SIGUSR1, &old_usr, NULL);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

    ck_assert_msg(!hfailed, "%s", hmsg);
    ck_assert_msg(hammer_err[0] == 0, "%s", hammer_err);
    unsigned long handled = 0;
    for (int k = 0; k < NTARGETS; k++) {
        struct target *t = &targets[k];
        ck_assert_msg(t->hline == 0, "target %d: handler check at line %d failed (error %u, "
                      "value %#lx) after %lu good runs", k, t->hline, (unsigned)t->herr,
                      (unsigned long)t->hval, t->handled);
        ck_assert_msg(t->err[0] == 0, "%s", t->err);
        ck_assert_msg(t->handled >= 20 && t->iters > 0, "target %d: %lu signals handled, %lu "
                      "iterations", k, t->handled, t->iters);
        handled += t->handled;
        /* The handler left every page it used decommitted. */
        MEMORY_BASIC_INFORMATION m = vw_query(t->own + 4 * PG);
        ck_assert_uint_eq(m.State, MEM_RESERVE);
        ck_assert_uint_eq(m.RegionSize, 4 * VW_64K - 4 * PG);
        vw_assert_range_agrees(t->own, 4 * VW_64K);
        ck_assert(VirtualFree(t->own, 0, MEM_RELEASE));
    }
    vw_assert_all_agree();
    fprintf(stderr, "check_signals: SIGUSR1: %lu sent, %lu handled (%lu/%lu/%lu), %lu/%lu/%lu "
            "user iterations, %lu hammer cycles\n", sent, handled, targets[0].handled,
            targets[1].handled, targets[2].handled, targets[0].iters, targets[1].iters,
            targets[2].iters, hammer_ops);
    watchdog_stop();
}
END_TEST

static Suite *signals_suite(void)
{
    Suite *s = suite_create("signals");
    TCase *tc = tcase_create("signals");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, demand_commit_threads);
    tcase_add_test(tc, demand_commit_api_buffers);
    tcase_add_test(tc, write_barrier_protect);
    tcase_add_test(tc, guard_page_handler);
    tcase_add_test(tc, sigusr1_api_in_handler);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Warm the library up (initialisation, the kernel view) outside any handler. */
    static MEMORY_BASIC_INFORMATION m;
    (void)VirtualQuery(&m, &m, sizeof m);
    SRunner *sr = srunner_create(signals_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
