/*
 * vwbench.c: libvirtualwin against the bare Linux syscalls (make bench).
 *
 * Every timed workload runs with the library and with the equivalent raw
 * syscalls in the same process and the same run, interleaved (library, raw,
 * raw, library, ...) so that noise hits both; each figure is the median of
 * VWBENCH_REPS (default 9, at least 5) repetitions after a warm-up.  The report
 * (a header line, one markdown table and notes) goes to stdout, progress to
 * stderr; bench/run-bench.sh writes stdout to bench-results.md in the build directory.
 *
 * Exit status: 0 when every API call behaved, even if a target is missed (the
 * table says so); 1 on a functional failure (an API call failing unexpectedly).
 *
 * VWBENCH_QUICK=1 scales the 1,000,000-allocation workloads (5, 7) down to
 * 100,000 and shortens the timed loops, for quick checks.
 *
 * The same file builds as a Windows program (x86_64-w64-mingw32-gcc, make
 * bench-wine) to run the library-side workloads under Wine or Windows: there
 * the raw columns are n/a and workloads 6 and 7b (Linux-only) are skipped.
 */
#ifdef _WIN32
#define __USE_MINGW_ANSI_STDIO 1
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#ifdef __GNUC__
#include <cpuid.h>
#endif
#else
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <virtualwin.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- PROCMAP_QUERY (Linux 6.11 UAPI; Debian 12 headers predate it) ------- */
#ifndef _WIN32
#include "os/procmap_query.h"
#endif

#define MAX_REPS 31
#define KiB ((SIZE_T)1 << 10)
#define GiB ((SIZE_T)1 << 30)

/* ---- global settings and failure reporting -------------------------------- */
static SIZE_T g_page;      /* page size */
static SIZE_T g_gran;      /* allocation granularity (64 KiB) */
static int g_reps = 9;
static int g_quick;
static long g_big;         /* 1,000,000 (100,000 in quick mode) */
static int g_failed;       /* a functional failure happened */

static void api_fail(const char *what)
{
    fprintf(stderr, "vwbench: FAILED: %s (GetLastError %lu)\n", what,
            (unsigned long)GetLastError());
    g_failed = 1;
}

#ifndef _WIN32
static void sys_fail(const char *what)
{
    int e = errno;
    fprintf(stderr, "vwbench: FAILED: %s: %s\n", what, strerror(e));
    g_failed = 1;
}
#endif

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vwbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
}

/* ---- platform: clock, yield, threads, memory for the benchmark itself ------ */
#ifdef _WIN32
static uint64_t now_ns(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER c;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&c);
    return (uint64_t)((double)c.QuadPart * 1e9 / (double)freq.QuadPart);
}
static void yield_cpu(void)
{
    SwitchToThread();
}
#else
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static void yield_cpu(void)
{
    sched_yield();
}
#endif

/* Zeroed, touched memory for the benchmark's own arrays; exits on failure. */
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "vwbench: out of memory (%zu x %zu bytes)\n", n, size);
        exit(1);
    }
    /* Make it resident now, not during a measurement (a memset of zero after
     * calloc is folded away by the compiler, hence the volatile stores). */
    for (size_t i = 0; i < n * size; i += 4096)
        ((volatile char *)p)[i] = 0;
    return p;
}

static uint64_t g_lcg = 0x9E3779B97F4A7C15ull;
static uint32_t lcg_next(void)
{
    g_lcg = g_lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_lcg >> 33);
}

/* ---- the table -------------------------------------------------------------- */
struct row {
    char id[12], name[200], lib[96], raw[96], ratio[48], paired[32], target[96], met[16];
};
static struct row rows[48];
static int nrows;

static struct row *add_row(const char *id, const char *name)
{
    struct row *r = &rows[nrows++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->name, sizeof r->name, "%s", name);
    strcpy(r->lib, "-");
    strcpy(r->raw, "-");
    strcpy(r->ratio, "-");
    strcpy(r->paired, "-");
    strcpy(r->target, "-");
    strcpy(r->met, "-");
    return r;
}

static void set_met(struct row *r, int ok)
{
    strcpy(r->met, ok ? "yes" : "**no**");
}

#ifndef _WIN32
/* Two decimals, three when that is needed to see which side of the limit it is. */
static void fmt_ratio(char *buf, size_t n, double ratio, double limit)
{
    snprintf(buf, n, fabs(ratio - limit) < 0.005 ? "%.3f" : "%.2f", ratio);
}
#endif

static void fmt_ns(char *buf, size_t n, double ns)
{
    if (isnan(ns))
        snprintf(buf, n, "failed");
    else if (ns < 100)
        snprintf(buf, n, "%.1f", ns);
    else
        snprintf(buf, n, "%.0f", ns);
}

/* 1234567 -> "1,234,567" */
static const char *fmt_count(char *buf, size_t n, long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v < 0 ? -v : v);
    size_t len = strlen(tmp), o = 0;
    if (v < 0 && o + 1 < n)
        buf[o++] = '-';
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        buf[o++] = tmp[i];
        if ((len - i - 1) % 3 == 0 && i + 1 < len && o + 1 < n)
            buf[o++] = ',';
    }
    buf[o] = 0;
    return buf;
}

/* ---- measurement -------------------------------------------------------------- */
typedef int (*work_fn)(long iters, void *ctx);   /* 0, or -1 after reporting */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ns per op of one run, NAN if the workload failed. */
static double time_once(work_fn fn, void *ctx, long iters)
{
    uint64_t t0 = now_ns();
    int rc = fn(iters, ctx);
    uint64_t t1 = now_ns();
    return rc ? NAN : (double)(t1 - t0) / (double)iters;
}

struct pair {
    double lib, raw;   /* medians, ns/op; NAN if failed or not measured */
    double ratio;      /* median of the per-repetition ratios lib/raw (paired runs) */
};

/* Warm-up, then g_reps interleaved repetitions of each; raw may be NULL. */
static struct pair measure(work_fn lib, void *lctx, work_fn raw, void *rctx, long iters)
{
    double l[MAX_REPS], r[MAX_REPS], q[MAX_REPS];
    struct pair out = { NAN, NAN, NAN };
    long warm = iters / 4 > 0 ? iters / 4 : 1;
    if (lib(warm, lctx) || (raw && raw(warm, rctx)))
        return out;
    for (int i = 0; i < g_reps; i++) {
        if (i % 2 == 0 || !raw) {
            l[i] = time_once(lib, lctx, iters);
            r[i] = raw ? time_once(raw, rctx, iters) : NAN;
        } else {
            r[i] = time_once(raw, rctx, iters);
            l[i] = time_once(lib, lctx, iters);
        }
        if (isnan(l[i]) || (raw && isnan(r[i])))
            return out;
        q[i] = raw ? l[i] / r[i] : NAN;
    }
    out.ratio = raw ? median(q, g_reps) : NAN;
    out.lib = median(l, g_reps);
    out.raw = raw ? median(r, g_reps) : NAN;
    return out;
}

static void fill_pair_row(struct row *r, struct pair p, double limit)
{
    fmt_ns(r->lib, sizeof r->lib, p.lib);
#ifdef _WIN32
    (void)limit;
    strcpy(r->raw, "n/a");
    snprintf(r->target, sizeof r->target, "<= %.2fx raw", limit);
    strcpy(r->met, "n/a");
#else
    fmt_ns(r->raw, sizeof r->raw, p.raw);
    snprintf(r->target, sizeof r->target, "<= %.2fx raw", limit);
    if (isnan(p.lib) || isnan(p.raw)) {
        strcpy(r->met, "failed");
        return;
    }
    /* The ratio column is the ratio of the two medians shown; the target is
     * judged on the paired ratio, which cancels noise that hits one pair. */
    snprintf(r->ratio, sizeof r->ratio, "%.2f", p.lib / p.raw);
    fmt_ratio(r->paired, sizeof r->paired, p.ratio, limit);
    set_met(r, p.ratio <= limit);
#endif
}

/* ==== workload 1: reserve + release 64 KiB ================================== */
static int w1_lib(long n, void *ctx)
{
    (void)ctx;
    for (long i = 0; i < n; i++) {
        void *p = VirtualAlloc(NULL, g_gran, MEM_RESERVE, PAGE_READWRITE);
        if (!p)
            return api_fail("1: VirtualAlloc(MEM_RESERVE)"), -1;
        if (!VirtualFree(p, 0, MEM_RELEASE))
            return api_fail("1: VirtualFree(MEM_RELEASE)"), -1;
    }
    return 0;
}

#ifndef _WIN32
#define RAW_RESERVE_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

static int w1_raw(long n, void *ctx)
{
    (void)ctx;
    for (long i = 0; i < n; i++) {
        void *p = mmap(NULL, g_gran, PROT_NONE, RAW_RESERVE_FLAGS, -1, 0);
        if (p == MAP_FAILED)
            return sys_fail("1: mmap"), -1;
        if (munmap(p, g_gran))
            return sys_fail("1: munmap"), -1;
    }
    return 0;
}

/* Decommit the raw way: a fresh PROT_NONE mapping over the range. */
static int raw_remap(void *p, size_t len)
{
    return mmap(p, len, PROT_NONE, RAW_RESERVE_FLAGS | MAP_FIXED, -1, 0) == MAP_FAILED ? -1 : 0;
}
#endif

/* ==== workload 11: MapViewOfFile + UnmapViewOfFile of a 64 KiB view ========== */
static int w9_lib(long n, void *ctx)
{
    HANDLE h = ctx;
    for (long i = 0; i < n; i++) {
        void *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
        if (!p)
            return api_fail("11: MapViewOfFile"), -1;
        if (!UnmapViewOfFile(p))
            return api_fail("11: UnmapViewOfFile"), -1;
    }
    return 0;
}

#ifndef _WIN32
static int w9_raw(long n, void *ctx)
{
    int fd = (int)(intptr_t)ctx;
    for (long i = 0; i < n; i++) {
        void *p = mmap(NULL, g_gran, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            return sys_fail("11: mmap"), -1;
        if (munmap(p, g_gran))
            return sys_fail("11: munmap"), -1;
    }
    return 0;
}
#endif

/* ==== workload 2: reserve + commit 1 page + touch + decommit + release ===== */
static int w2_lib(long n, void *ctx)
{
    (void)ctx;
    for (long i = 0; i < n; i++) {
        char *p = VirtualAlloc(NULL, g_gran, MEM_RESERVE, PAGE_READWRITE);
        if (!p)
            return api_fail("2: VirtualAlloc(MEM_RESERVE)"), -1;
        if (VirtualAlloc(p, g_page, MEM_COMMIT, PAGE_READWRITE) != p)
            return api_fail("2: VirtualAlloc(MEM_COMMIT)"), -1;
        *(volatile char *)p = 1;
        if (!VirtualFree(p, g_page, MEM_DECOMMIT))
            return api_fail("2: VirtualFree(MEM_DECOMMIT)"), -1;
        if (!VirtualFree(p, 0, MEM_RELEASE))
            return api_fail("2: VirtualFree(MEM_RELEASE)"), -1;
    }
    return 0;
}

#ifndef _WIN32
static int w2_raw(long n, void *ctx)
{
    (void)ctx;
    for (long i = 0; i < n; i++) {
        char *p = mmap(NULL, g_gran, PROT_NONE, RAW_RESERVE_FLAGS, -1, 0);
        if (p == MAP_FAILED)
            return sys_fail("2: mmap"), -1;
        if (mprotect(p, g_page, PROT_READ | PROT_WRITE))
            return sys_fail("2: mprotect"), -1;
        *(volatile char *)p = 1;
        if (raw_remap(p, g_page))
            return sys_fail("2: mmap(MAP_FIXED)"), -1;
        if (munmap(p, g_gran))
            return sys_fail("2: munmap"), -1;
    }
    return 0;
}
#endif

/* ==== workload 3: commit + decommit a random page of a 1 GiB reservation ==== */
#define W3_OFFSETS 4096
struct w3 {
    char *base;
    size_t next;
    size_t off[W3_OFFSETS];   /* byte offsets of pages, same sequence for both sides */
};

static int w3_lib(long n, void *ctx)
{
    struct w3 *w = ctx;
    for (long i = 0; i < n; i++) {
        char *p = w->base + w->off[w->next++ % W3_OFFSETS];
        if (VirtualAlloc(p, g_page, MEM_COMMIT, PAGE_READWRITE) != p)
            return api_fail("3: VirtualAlloc(MEM_COMMIT)"), -1;
        if (!VirtualFree(p, g_page, MEM_DECOMMIT))
            return api_fail("3: VirtualFree(MEM_DECOMMIT)"), -1;
    }
    return 0;
}

#ifndef _WIN32
static int w3_raw(long n, void *ctx)
{
    struct w3 *w = ctx;
    for (long i = 0; i < n; i++) {
        char *p = w->base + w->off[w->next++ % W3_OFFSETS];
        if (mprotect(p, g_page, PROT_READ | PROT_WRITE))
            return sys_fail("3: mprotect"), -1;
        if (raw_remap(p, g_page))
            return sys_fail("3: mmap(MAP_FIXED)"), -1;
    }
    return 0;
}
#endif

/* ==== workload 10: a guard page tripped, handled and continued ================= */
/* One op: arm the guard (VirtualProtect ...|PAGE_GUARD), touch the page: the
 * library clears the guard, a vectored handler sees STATUS_GUARD_PAGE_VIOLATION
 * and continues, the access completes.  Raw: mprotect PROT_NONE, touch, a bare
 * SIGSEGV handler mprotects the page back, the access completes. */
static char *volatile g_w10_page;
static volatile long g_w10_seen;

static LONG CALLBACK w10_handler(PEXCEPTION_POINTERS ep)
{
    if (ep->ExceptionRecord->ExceptionCode != STATUS_GUARD_PAGE_VIOLATION)
        return EXCEPTION_CONTINUE_SEARCH;
    g_w10_seen++;
    return EXCEPTION_CONTINUE_EXECUTION;
}

static int w10_lib(long n, void *ctx)
{
    volatile char *p = ctx;
    DWORD old;
    for (long i = 0; i < n; i++) {
        if (!VirtualProtect((void *)p, g_page, PAGE_READWRITE | PAGE_GUARD, &old))
            return api_fail("10: VirtualProtect"), -1;
        p[8]++;
    }
    return 0;
}

#ifndef _WIN32
extern int __sigaction(int, const struct sigaction *, struct sigaction *);

static void w10_raw_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char *page = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(g_page - 1));
    mprotect(page, g_page, PROT_READ | PROT_WRITE);
    g_w10_seen++;
}

/* The bare handler goes straight into the kernel (past the library's
 * interposed sigaction) for the run, and the library's comes back after. */
static int w10_raw(long n, void *ctx)
{
    volatile char *p = ctx;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = w10_raw_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (__sigaction(SIGSEGV, &sa, &old))
        return sys_fail("10: sigaction"), -1;
    int rc = 0;
    for (long i = 0; i < n; i++) {
        if (mprotect((void *)p, g_page, PROT_NONE)) {
            sys_fail("10: mprotect");
            rc = -1;
            break;
        }
        p[8]++;
    }
    __sigaction(SIGSEGV, &old, NULL);
    return rc;
}
#endif

/* ==== workload 4: VirtualProtect one page READWRITE <-> EXECUTE_READ ======== */
struct w4 {
    char *p;
    int exec;   /* the page is currently EXECUTE_READ */
};

/* One op is one protection change, alternating. */
static int w4_lib(long n, void *ctx)
{
    struct w4 *w = ctx;
    DWORD old;
    for (long i = 0; i < n; i++) {
        DWORD to = w->exec ? PAGE_READWRITE : PAGE_EXECUTE_READ;
        DWORD expect = w->exec ? PAGE_EXECUTE_READ : PAGE_READWRITE;
        if (!VirtualProtect(w->p, g_page, to, &old))
            return api_fail("4: VirtualProtect"), -1;
        if (old != expect) {
            fprintf(stderr, "vwbench: FAILED: 4: VirtualProtect old protection 0x%lx, expected 0x%lx\n",
                    (unsigned long)old, (unsigned long)expect);
            g_failed = 1;
            return -1;
        }
        w->exec = !w->exec;
    }
    return 0;
}

#ifndef _WIN32
static int w4_raw(long n, void *ctx)
{
    struct w4 *w = ctx;
    for (long i = 0; i < n; i++) {
        int to = w->exec ? PROT_READ | PROT_WRITE : PROT_READ | PROT_EXEC;
        if (mprotect(w->p, g_page, to))
            return sys_fail("4: mprotect"), -1;
        w->exec = !w->exec;
    }
    return 0;
}
#endif

/* ==== workload 5: VirtualQuery of own allocations ============================ */
#define W5_QUERIES ((size_t)1 << 18)
struct w5 {
    const char **addr;     /* W5_QUERIES addresses, precomputed */
    size_t next;
    volatile SIZE_T sink;
};

static int w5_lib(long n, void *ctx)
{
    struct w5 *w = ctx;
    MEMORY_BASIC_INFORMATION m;
    SIZE_T sum = 0;
    for (long i = 0; i < n; i++) {
        if (VirtualQuery(w->addr[w->next++ % W5_QUERIES], &m, sizeof m) != sizeof m)
            return api_fail("5: VirtualQuery"), -1;
        sum += m.RegionSize;
    }
    w->sink = sum;
    return 0;
}

#ifndef _WIN32
static int getpid_loop(long n, void *ctx)
{
    (void)ctx;
    for (long i = 0; i < n; i++)
        syscall(SYS_getpid);
    return 0;
}

/* Counts the system calls `fn` makes: it runs in a forked child under a
 * seccomp filter that traps every syscall but rt_sigreturn and exit (SIGSYS,
 * counted by the handler; the trapped call is not executed).  Returns the
 * count, or -1 if seccomp is unavailable; *rc gets fn's result. */
struct sc_shared {
    volatile long count;
    volatile long first_nr;
    volatile int rc;
    volatile int setup_errno;
};
static struct sc_shared *g_sc;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (g_sc->count++ == 0)
        g_sc->first_nr = si->si_syscall;
}

static long count_syscalls(work_fn fn, void *ctx, long iters, int *rc, long *first_nr)
{
    struct sc_shared *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                -1, 0);
    if (sh == MAP_FAILED)
        return -1;
    memset(sh, 0, sizeof *sh);
    sh->first_nr = -1;
    g_sc = sh;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        munmap(sh, 4096);
        return -1;
    }
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        struct sock_filter filter[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigreturn, 3, 0),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit, 2, 0),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { (unsigned short)(sizeof filter / sizeof filter[0]), filter };
        if (sigaction(SIGSYS, &sa, NULL) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) {
            sh->setup_errno = errno ? errno : EINVAL;
            _exit(2);
        }
        /* From here on, any syscall (even stdio on failure) is trapped and counted. */
        sh->rc = fn(iters, ctx);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    long count = -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        count = sh->count;
        *rc = sh->rc;
        *first_nr = sh->first_nr;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
        progress("seccomp unavailable (%s): syscall count not measured",
                 strerror(sh->setup_errno));
    } else {
        progress("syscall-count child ended abnormally (status 0x%x)", status);
    }
    munmap(sh, 4096);
    return count;
}
#endif

/* ==== workload 6: VirtualQuery of foreign memory vs PROCMAP_QUERY =========== */
#ifndef _WIN32
struct w6 {
    const void *addr;
    int fd;
    volatile SIZE_T sink;
};

static int w6_lib(long n, void *ctx)
{
    struct w6 *w = ctx;
    MEMORY_BASIC_INFORMATION m;
    SIZE_T sum = 0;
    for (long i = 0; i < n; i++) {
        if (VirtualQuery(w->addr, &m, sizeof m) != sizeof m)
            return api_fail("6: VirtualQuery"), -1;
        sum += m.RegionSize;
    }
    w->sink = sum;
    return 0;
}

static int w6_raw(long n, void *ctx)
{
    struct w6 *w = ctx;
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) {
        struct procmap_query q;
        memset(&q, 0, sizeof q);
        q.size = sizeof q;
        q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
        q.query_addr = (uint64_t)(uintptr_t)w->addr;
        if (ioctl(w->fd, PROCMAP_QUERY, &q))
            return sys_fail("6: ioctl(PROCMAP_QUERY)"), -1;
        sum += q.vma_end - q.vma_start;
    }
    w->sink = (SIZE_T)sum;
    return 0;
}
#endif

/* ==== workload 8: workload 2 in one and two threads =========================== */
struct thr {
    work_fn fn;
    long iters;
    int rc;
    volatile int *ready, *go;
};

/* CPU time the threads of the last run_threads spent in fn (ns; Linux only):
 * unlike wall time it does not count time other processes took the CPU, so
 * a speed-up from it shows contention inside the library on a busy machine. */
static volatile long long g_thread_cpu_ns;

static long long thread_cpu_ns(void)
{
#ifdef _WIN32
    return 0;
#else
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
#endif
}

static void thread_body(struct thr *t)
{
    __atomic_add_fetch(t->ready, 1, __ATOMIC_ACQ_REL);
    while (!__atomic_load_n(t->go, __ATOMIC_ACQUIRE))
        yield_cpu();
    long long c0 = thread_cpu_ns();
    t->rc = t->fn(t->iters, NULL);
    __atomic_add_fetch(&g_thread_cpu_ns, thread_cpu_ns() - c0, __ATOMIC_RELAXED);
}

#ifdef _WIN32
typedef HANDLE thread_t;
static DWORD WINAPI thread_entry(LPVOID a)
{
    thread_body(a);
    return 0;
}
static int thread_start(thread_t *t, struct thr *a)
{
    *t = CreateThread(NULL, 0, thread_entry, a, 0, NULL);
    return *t ? 0 : -1;
}
static void thread_join(thread_t t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
#else
typedef pthread_t thread_t;
static void *thread_entry(void *a)
{
    thread_body(a);
    return NULL;
}
static int thread_start(thread_t *t, struct thr *a)
{
    return pthread_create(t, NULL, thread_entry, a) ? -1 : 0;
}
static void thread_join(thread_t t)
{
    pthread_join(t, NULL);
}
#endif

/* Wall time (ns) for nthreads threads each running fn(iters), started together. */
static double run_threads(work_fn fn, int nthreads, long iters)
{
    struct thr t[2];
    thread_t h[2];
    volatile int ready = 0, go = 0;
    g_thread_cpu_ns = 0;
    for (int i = 0; i < nthreads; i++) {
        t[i] = (struct thr){ fn, iters, 0, &ready, &go };
        if (thread_start(&h[i], &t[i])) {
            fprintf(stderr, "vwbench: FAILED: cannot create a thread\n");
            g_failed = 1;
            __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
            for (int j = 0; j < i; j++)
                thread_join(h[j]);
            return NAN;
        }
    }
    while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < nthreads)
        yield_cpu();
    uint64_t t0 = now_ns();
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    int bad = 0;
    for (int i = 0; i < nthreads; i++) {
        thread_join(h[i]);
        bad |= t[i].rc;
    }
    uint64_t t1 = now_ns();
    return bad ? NAN : (double)(t1 - t0);
}

/* ==== workload 8d: VirtualQuery of own allocations in one and two threads ======= */
#define W8Q_ALLOCS 4096
static void *g_w8q[W8Q_ALLOCS];
static volatile SIZE_T g_w8q_sink;

static int w8q_lib(long n, void *ctx)
{
    (void)ctx;
    MEMORY_BASIC_INFORMATION m;
    SIZE_T sum = 0;
    uint32_t x = (uint32_t)(uintptr_t)&m;   /* differs per thread */
    for (long i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        if (VirtualQuery(g_w8q[(x >> 8) % W8Q_ALLOCS], &m, sizeof m) != sizeof m)
            return api_fail("8d: VirtualQuery"), -1;
        sum += m.RegionSize;
    }
    g_w8q_sink = sum;
    return 0;
}

/* ---- Linux process figures ------------------------------------------------------ */
#ifndef _WIN32
/* Lines of /proc/self/maps, without stdio or malloc (usable at the VMA limit). */
static long count_vmas(void)
{
    static char buf[1 << 16];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long lines = 0;
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < got; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

static long read_long_file(const char *path, int field)
{
    char buf[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = 0;
    char *s = buf;
    for (int f = 0; f < field; f++) {
        while (*s && *s != ' ')
            s++;
        while (*s == ' ')
            s++;
    }
    return strtol(s, NULL, 10);
}

/* Resident anonymous pages: resident minus shared (file-backed) in /proc/self/statm,
 * so that library code paged in on first use does not count as metadata. */
static long rss_anon_pages(void)
{
    long resident = read_long_file("/proc/self/statm", 1);
    long shared = read_long_file("/proc/self/statm", 2);
    return resident < 0 || shared < 0 ? -1 : resident - shared;
}

/* 7: metadata bytes per allocation, measured in a forked child so the parent's
 * library state (node pool, arenas) stays untouched: growth of the anonymous
 * RSS over n reserve-only 64 KiB allocations (which touch no user page) divided
 * by n.
 * Returns -1 on failure. */
static double metadata_per_alloc(long n)
{
    double *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED)
        return sys_fail("7: mmap"), -1;
    res[0] = -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        sys_fail("7: fork");
        munmap(res, 4096);
        return -1;
    }
    if (pid == 0) {
        void **p = xcalloc((size_t)n, sizeof *p);
        long before = rss_anon_pages();
        long i;
        for (i = 0; i < n; i++)
            if (!(p[i] = VirtualAlloc(NULL, g_gran, MEM_RESERVE, PAGE_READWRITE)))
                break;
        long after = rss_anon_pages();
        if (i < n) {
            api_fail("7: VirtualAlloc(MEM_RESERVE) for the metadata measurement");
            _exit(1);
        }
        res[0] = (double)(after - before) * (double)sysconf(_SC_PAGESIZE) / (double)n;
        for (i = 0; i < n; i++)
            if (!VirtualFree(p[i], 0, MEM_RELEASE)) {
                api_fail("7: VirtualFree(MEM_RELEASE)");
                _exit(1);
            }
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    double v = res[0];
    munmap(res, 4096);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "vwbench: FAILED: metadata child (status 0x%x)\n", status);
        g_failed = 1;
        return -1;
    }
    return v;
}
#endif

/* ---- header ---------------------------------------------------------------------- */
static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown CPU");
#ifdef _WIN32
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    unsigned int r[12];
    if (__get_cpuid(0x80000000u, &r[0], &r[1], &r[2], &r[3]) && r[0] >= 0x80000004u) {
        for (unsigned int i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char s[49];
        memcpy(s, r, 48);
        s[48] = 0;
        char *b = s;
        while (*b == ' ')
            b++;
        snprintf(buf, n, "%s", b);
    }
#endif
#else
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10) || !strncmp(line, "Model", 5) ||
            !strncmp(line, "Hardware", 8)) {
            char *c = strchr(line, ':');
            if (!c)
                continue;
            c++;
            while (*c == ' ' || *c == '\t')
                c++;
            c[strcspn(c, "\n")] = 0;
            snprintf(buf, n, "%s", c);
            break;
        }
    }
    fclose(f);
#endif
}

static void os_name(char *buf, size_t n)
{
#ifdef _WIN32
    typedef const char *(CDECL * wine_ver_fn)(void);
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    wine_ver_fn wv = ntdll ? (wine_ver_fn)(void (*)(void))GetProcAddress(ntdll, "wine_get_version")
                           : NULL;
    if (wv)
        snprintf(buf, n, "Wine %s", wv());
    else
        snprintf(buf, n, "Windows");
#else
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(buf, n, "Linux %s", u.release);
    else
        snprintf(buf, n, "Linux");
#endif
}

static int ncpus(void)
{
#ifdef _WIN32
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return (int)si.dwNumberOfProcessors;
#else
    return (int)sysconf(_SC_NPROCESSORS_ONLN);
#endif
}

/* ==== main ========================================================================== */
#ifndef _WIN32
#include "vwbench_watch.c"
#endif

/* ==== workload 12: AWE (MapUserPhysicalPages) ================================== */
#define W9_PAGES 64
struct w9 {
    char *win;                    /* the library's window, or the raw side's reservation */
    ULONG_PTR frame[W9_PAGES];    /* library: frame numbers (in order or shuffled) */
    PVOID at[W9_PAGES];           /* scatter: where each frame goes */
    int fd;                       /* raw: a memfd of W9_PAGES pages */
    size_t off[W9_PAGES];         /* raw: the page of the file for each window page */
};

/* Library: map 64 frames into the window, then unmap them (one call each). */
static int w9_map_lib(long n, void *ctx)
{
    struct w9 *w = ctx;
    for (long i = 0; i < n; i++) {
        if (!MapUserPhysicalPages(w->win, W9_PAGES, w->frame))
            return api_fail("12: MapUserPhysicalPages"), -1;
        if (!MapUserPhysicalPages(w->win, W9_PAGES, NULL))
            return api_fail("12: MapUserPhysicalPages(NULL)"), -1;
    }
    return 0;
}

/* Library: scatter 64 frames to 64 pages, then the same frames to other pages
 * (each call replaces what the other mapped there); per page. */
static int w9_scatter_lib(long n, void *ctx)
{
    struct w9 *w = ctx;
    for (long i = 0; i < n; i++)
        if (!MapUserPhysicalPagesScatter(w->at, W9_PAGES, w->frame) ||
            !MapUserPhysicalPagesScatter(w->at, W9_PAGES, NULL))
            return api_fail("12: MapUserPhysicalPagesScatter"), -1;
    return 0;
}

#ifndef _WIN32
/* Raw: 64 mmap(MAP_SHARED | MAP_FIXED) calls of memfd pages, then one remap
 * of the range to reserved space. */
static int w9_map_raw(long n, void *ctx)
{
    struct w9 *w = ctx;
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < W9_PAGES; k++)
            if (mmap(w->win + (size_t)k * g_page, g_page, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_FIXED, w->fd, (off_t)w->off[k]) == MAP_FAILED)
                return sys_fail("12: mmap of a memfd page"), -1;
        if (mmap(w->win, W9_PAGES * g_page, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
            return sys_fail("12: mmap"), -1;
    }
    return 0;
}

/* Raw for scatter: the same pages, one mmap each, then one remap per page. */
static int w9_scatter_raw(long n, void *ctx)
{
    struct w9 *w = ctx;
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < W9_PAGES; k++)
            if (mmap(w->at[k], g_page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, w->fd,
                     (off_t)w->off[k]) == MAP_FAILED)
                return sys_fail("12: mmap of a memfd page"), -1;
        for (int k = 0; k < W9_PAGES; k++)
            if (mmap(w->at[k], g_page, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED)
                return sys_fail("12: mmap"), -1;
    }
    return 0;
}
#endif

/* Shuffles the frames (and the raw side's file pages the same way). */
static void w9_shuffle(struct w9 *l, struct w9 *r)
{
    for (int k = W9_PAGES - 1; k > 0; k--) {
        int j = (int)(lcg_next() % (uint32_t)(k + 1));
        ULONG_PTR t = l->frame[k];
        l->frame[k] = l->frame[j];
        l->frame[j] = t;
        size_t o = r->off[k];
        r->off[k] = r->off[j];
        r->off[j] = o;
    }
}

/* 9a/9b: Map of 64 frames in order and shuffled; 9c: scatter per page. */
static void workload9(long scale)
{
    struct w9 *l = xcalloc(1, sizeof *l), *r = xcalloc(1, sizeof *r);
    struct pair pa = { NAN, NAN, NAN }, pb = pa, pc = pa;
    ULONG_PTR got = W9_PAGES;
    SetProcessWorkingSetSize(GetCurrentProcess(), 4 * W9_PAGES * g_page, 8 * W9_PAGES * g_page);
    l->win = VirtualAlloc(NULL, 4 * W9_PAGES * g_page, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
    if (!l->win || !AllocateUserPhysicalPages(GetCurrentProcess(), &got, l->frame) ||
        got != W9_PAGES) {
        api_fail("12: an AWE window and 64 frames (ulimit -l?)");
        goto out;
    }
    for (int k = 0; k < W9_PAGES; k++)
        l->at[k] = l->win + (size_t)((k * 37) % (4 * W9_PAGES)) * g_page;
#ifndef _WIN32
    r->fd = (int)syscall(SYS_memfd_create, "vwbench", 0);
    r->win = mmap(NULL, 4 * W9_PAGES * g_page, PROT_NONE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r->fd < 0 || r->win == MAP_FAILED || ftruncate(r->fd, (off_t)(W9_PAGES * g_page))) {
        sys_fail("12: memfd and a reservation");
        goto out;
    }
    for (int k = 0; k < W9_PAGES; k++) {
        r->off[k] = (size_t)k * g_page;
        r->at[k] = l->at[k] == NULL ? NULL : r->win + ((char *)l->at[k] - l->win);
    }
    pa = measure(w9_map_lib, l, w9_map_raw, r, 4000 / scale);
    w9_shuffle(l, r);
    pb = measure(w9_map_lib, l, w9_map_raw, r, 4000 / scale);
    pc = measure(w9_scatter_lib, l, w9_scatter_raw, r, 2000 / scale);
#else
    pa = measure(w9_map_lib, l, NULL, NULL, 4000 / scale);
    w9_shuffle(l, r);
    pb = measure(w9_map_lib, l, NULL, NULL, 4000 / scale);
    pc = measure(w9_scatter_lib, l, NULL, NULL, 2000 / scale);
#endif
out:
    /* Per page for scatter: 64 pages mapped and 64 unmapped an iteration. */
    pc.lib /= 2 * W9_PAGES;
    pc.raw /= 2 * W9_PAGES;
    fill_pair_row(add_row("12a", "MapUserPhysicalPages of 64 frames + unmap (raw: 64 mmap of "
                                "memfd pages + 1 remap); frames in allocation order"),
                  pa, 1.2);
    fill_pair_row(add_row("12b", "the same with the frames shuffled (one mmap per page on "
                                "both sides)"),
                  pb, 1.2);
    fill_pair_row(add_row("12c", "MapUserPhysicalPagesScatter, ns per page mapped or unmapped "
                                "(raw: 1 mmap of a memfd page)"),
                  pc, 1.5);
    if (l->win) {
        ULONG_PTR n = got;
        if (got)
            FreeUserPhysicalPages(GetCurrentProcess(), &n, l->frame);
        VirtualFree(l->win, 0, MEM_RELEASE);
    }
#ifndef _WIN32
    if (r->win && r->win != MAP_FAILED)
        munmap(r->win, 4 * W9_PAGES * g_page);
    if (r->fd > 0)
        close(r->fd);
#endif
    free(l);
    free(r);
}

int main(void)
{
    char b1[64], b2[64], b3[64];
    const char *e;

    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    g_page = si.dwPageSize;
    g_gran = si.dwAllocationGranularity;
    g_quick = (e = getenv("VWBENCH_QUICK")) && *e && strcmp(e, "0");
    if ((e = getenv("VWBENCH_REPS")) && atoi(e) >= 5)
        g_reps = atoi(e) < MAX_REPS ? atoi(e) : MAX_REPS;
    g_big = g_quick ? 100000 : 1000000;
    long scale = g_quick ? 4 : 1;   /* quick mode: shorter loops */

    char date[64], osn[128], cpu[128];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    os_name(osn, sizeof osn);
    cpu_model(cpu, sizeof cpu);

    /* 7, metadata: first, in a child with pristine library state. */
    double meta = -1;
#ifndef _WIN32
    progress("7: metadata per allocation (%s reserve-only allocations, forked child)",
             fmt_count(b1, sizeof b1, g_big));
    meta = metadata_per_alloc(g_big);
#endif

    /* ---- 1 ---- */
    progress("1: reserve + release 64 KiB");
    struct pair p1 = measure(w1_lib, NULL,
#ifdef _WIN32
                             NULL,
#else
                             w1_raw,
#endif
                             NULL, 50000 / scale);
    fill_pair_row(add_row("1", "reserve + release 64 KiB (raw: mmap + munmap)"), p1, 0.5);

    /* ---- 9 ---- */
    progress("11: MapViewOfFile + UnmapViewOfFile of a 64 KiB view");
    {
        HANDLE sec = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                        (DWORD)g_gran, NULL);
        if (!sec) {
            api_fail("11: CreateFileMappingA");
        } else {
#ifdef _WIN32
            struct pair p9 = measure(w9_lib, sec, NULL, NULL, 20000 / scale);
#else
            int fd = memfd_create("vwbench", MFD_CLOEXEC);
            if (fd < 0 || ftruncate(fd, (off_t)g_gran))
                sys_fail("11: memfd_create");
            struct pair p9 = measure(w9_lib, sec, w9_raw, (void *)(intptr_t)fd, 20000 / scale);
            close(fd);
#endif
            fill_pair_row(add_row("11", "MapViewOfFile + UnmapViewOfFile of a 64 KiB view "
                                       "(raw: mmap + munmap of a memfd)"),
                          p9, 1.3);
            CloseHandle(sec);
        }
    }

    /* ---- 2 ---- */
    progress("2: reserve + commit + touch + decommit + release");
    struct pair p2 = measure(w2_lib, NULL,
#ifdef _WIN32
                             NULL,
#else
                             w2_raw,
#endif
                             NULL, 20000 / scale);
    fill_pair_row(add_row("2", "reserve 64 KiB + commit 1 page + touch + decommit + release "
                               "(raw: mmap, mprotect, write, remap, munmap)"),
                  p2, 1.1);

    /* ---- 3 ---- */
    progress("3: commit + decommit a random page in a 1 GiB reservation");
    {
        struct w3 *wl = xcalloc(1, sizeof *wl);
        wl->base = VirtualAlloc(NULL, GiB, MEM_RESERVE, PAGE_READWRITE);
        if (!wl->base) {
            api_fail("3: VirtualAlloc(1 GiB, MEM_RESERVE)");
        } else {
            struct pair p3 = { NAN, NAN, NAN };
            size_t pages = GiB / g_page;
            for (size_t i = 0; i < W3_OFFSETS; i++)
                wl->off[i] = (size_t)(lcg_next() % pages) * g_page;
#ifdef _WIN32
            p3 = measure(w3_lib, wl, NULL, NULL, 20000 / scale);
#else
            struct w3 *wr = xcalloc(1, sizeof *wr);
            memcpy(wr->off, wl->off, sizeof wr->off);
            wr->base = mmap(NULL, GiB, PROT_NONE, RAW_RESERVE_FLAGS, -1, 0);
            if (wr->base == MAP_FAILED)
                sys_fail("3: mmap(1 GiB)");
            else
                p3 = measure(w3_lib, wl, w3_raw, wr, 20000 / scale);
            if (wr->base != MAP_FAILED)
                munmap(wr->base, GiB);
            free(wr);
#endif
            if (!VirtualFree(wl->base, 0, MEM_RELEASE))
                api_fail("3: VirtualFree(MEM_RELEASE)");
            fill_pair_row(add_row("3", "commit + decommit 1 page at a random offset in a 1 GiB "
                                       "reservation (raw: mprotect + remap)"),
                          p3, 1.1);
        }
        free(wl);
    }

    /* ---- 4 ---- */
    progress("4: VirtualProtect READWRITE <-> EXECUTE_READ");
    {
        struct w4 wl = { NULL, 0 }, wr = { NULL, 0 };
        struct pair p4 = { NAN, NAN, NAN };
        wl.p = VirtualAlloc(NULL, g_gran, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        if (!wl.p) {
            api_fail("4: VirtualAlloc");
        } else {
            memset(wl.p, 0xC3, g_page);   /* populated, like code being written */
#ifdef _WIN32
            (void)wr;
            p4 = measure(w4_lib, &wl, NULL, NULL, 50000 / scale);
#else
            wr.p = mmap(NULL, g_gran, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (wr.p == MAP_FAILED) {
                sys_fail("4: mmap");
            } else {
                memset(wr.p, 0xC3, g_page);
                p4 = measure(w4_lib, &wl, w4_raw, &wr, 50000 / scale);
                munmap(wr.p, g_gran);
            }
#endif
            if (!VirtualFree(wl.p, 0, MEM_RELEASE))
                api_fail("4: VirtualFree(MEM_RELEASE)");
        }
        fill_pair_row(add_row("4", "VirtualProtect 1 page READWRITE <-> EXECUTE_READ "
                                   "(raw: mprotect)"),
                      p4, 1.05);
    }

    /* ---- 6 ---- */
    double procmap_ns = NAN;   /* one PROCMAP_QUERY ioctl (6a raw), for 5c-r */
#ifndef _WIN32
    progress("6: VirtualQuery of foreign memory vs PROCMAP_QUERY");
    {
        volatile char stack_probe = 0;
        const void *addrs[2] = { (const void *)&stack_probe, (const void *)(uintptr_t)&getpid };
        const char *names[2] = { "VirtualQuery of a stack address (raw: 1 PROCMAP_QUERY ioctl)",
                                 "VirtualQuery of a libc code address (raw: 1 PROCMAP_QUERY ioctl)" };
        const char *ids[2] = { "6a", "6b" };
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        int have_ioctl = 0;
        if (fd < 0) {
            sys_fail("6: open /proc/self/maps");
        } else {
            struct procmap_query q;
            memset(&q, 0, sizeof q);
            q.size = sizeof q;
            q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
            q.query_addr = (uint64_t)(uintptr_t)addrs[0];
            if (ioctl(fd, PROCMAP_QUERY, &q) == 0)
                have_ioctl = 1;
            else if (errno != ENOTTY && errno != EINVAL)
                sys_fail("6: ioctl(PROCMAP_QUERY)");
        }
        for (int k = 0; k < 2; k++) {
            struct w6 w = { addrs[k], fd, 0 };
            MEMORY_BASIC_INFORMATION m;
            if (VirtualQuery(addrs[k], &m, sizeof m) != sizeof m || m.State != MEM_COMMIT)
                api_fail(k ? "6: VirtualQuery(libc code): not committed"
                           : "6: VirtualQuery(stack): not committed");
            else if (k == 1 && !(m.Protect & (PAGE_EXECUTE | PAGE_EXECUTE_READ)))
                progress("warning: 6b address reports protection 0x%lx, not executable",
                         (unsigned long)m.Protect);
            struct row *r = add_row(ids[k], names[k]);
            if (have_ioctl) {
                struct pair p6 = measure(w6_lib, &w, w6_raw, &w, 50000 / scale);
                fill_pair_row(r, p6, 1.5);
                if (k == 0)
                    procmap_ns = p6.raw;
            } else {
                struct pair p6 = measure(w6_lib, &w, NULL, NULL, 2000 / scale);
                fmt_ns(r->lib, sizeof r->lib, p6.lib);
                strcpy(r->raw, "n/a (kernel lacks PROCMAP_QUERY)");
                strcpy(r->target, "<= 1.50x raw");
                strcpy(r->met, "n/a");
            }
        }
        if (fd >= 0)
            close(fd);
    }
#endif

    /* ---- 8 ---- */
    progress("8: workload 2 in one thread and in two threads");
    double su_lib = NAN, su_raw = NAN, t1l = NAN, t2l = NAN, t1r = NAN, t2r = NAN;
    {
        long n8 = 20000 / scale;
        double a1[MAX_REPS], a2[MAX_REPS], b1r[MAX_REPS], b2r[MAX_REPS], sl[MAX_REPS],
            sr[MAX_REPS];
        work_fn raw8 =
#ifdef _WIN32
            NULL;
#else
            w2_raw;
#endif
        int ok = 1;
        /* warm-up */
        if (isnan(run_threads(w2_lib, 2, n8 / 4)) || (raw8 && isnan(run_threads(raw8, 2, n8 / 4))))
            ok = 0;
        for (int i = 0; ok && i < g_reps; i++) {
            if (i % 2 == 0) {
                a1[i] = run_threads(w2_lib, 1, n8);
                b1r[i] = raw8 ? run_threads(raw8, 1, n8) : NAN;
                a2[i] = run_threads(w2_lib, 2, n8);
                b2r[i] = raw8 ? run_threads(raw8, 2, n8) : NAN;
            } else {
                b2r[i] = raw8 ? run_threads(raw8, 2, n8) : NAN;
                a2[i] = run_threads(w2_lib, 2, n8);
                b1r[i] = raw8 ? run_threads(raw8, 1, n8) : NAN;
                a1[i] = run_threads(w2_lib, 1, n8);
            }
            if (isnan(a1[i]) || isnan(a2[i]) || (raw8 && (isnan(b1r[i]) || isnan(b2r[i]))))
                ok = 0;
            sl[i] = 2 * a1[i] / a2[i];
            sr[i] = raw8 ? 2 * b1r[i] / b2r[i] : NAN;
        }
        if (ok) {
            t1l = median(a1, g_reps) / (double)n8;
            t2l = median(a2, g_reps) / (double)(2 * n8);
            su_lib = median(sl, g_reps);
            if (raw8) {
                t1r = median(b1r, g_reps) / (double)n8;
                t2r = median(b2r, g_reps) / (double)(2 * n8);
                su_raw = median(sr, g_reps);
            }
        }
    }
    /* ---- 8d: VirtualQuery scaling ---- */
    double su_q = NAN, su_qcpu = NAN, t1q = NAN, t2q = NAN;
    {
        progress("8d: VirtualQuery of own allocations in one thread and in two threads");
        long nq = 2000000 / scale;
        double a1[MAX_REPS], a2[MAX_REPS], sq[MAX_REPS], c1[MAX_REPS], c2[MAX_REPS],
            sc[MAX_REPS];
        int ok = 1;
        for (int i = 0; i < W8Q_ALLOCS && ok; i++)
            if (!(g_w8q[i] = VirtualAlloc(NULL, g_gran, MEM_RESERVE, PAGE_READWRITE)))
                ok = 0, api_fail("8d: VirtualAlloc");
        if (ok && isnan(run_threads(w8q_lib, 2, nq / 4)))
            ok = 0;
        for (int i = 0; ok && i < g_reps; i++) {
            if (i % 2 == 0) {
                a1[i] = run_threads(w8q_lib, 1, nq);
                c1[i] = (double)g_thread_cpu_ns;
                a2[i] = run_threads(w8q_lib, 2, nq);
                c2[i] = (double)g_thread_cpu_ns;
            } else {
                a2[i] = run_threads(w8q_lib, 2, nq);
                c2[i] = (double)g_thread_cpu_ns;
                a1[i] = run_threads(w8q_lib, 1, nq);
                c1[i] = (double)g_thread_cpu_ns;
            }
            if (isnan(a1[i]) || isnan(a2[i]))
                ok = 0;
            sq[i] = 2 * a1[i] / a2[i];
            sc[i] = 4 * c1[i] / c2[i];   /* 2 x per-op CPU time, one thread / two threads */
        }
        if (ok) {
            t1q = median(a1, g_reps) / (double)nq;
            t2q = median(a2, g_reps) / (double)(2 * nq);
            su_q = median(sq, g_reps);
            su_qcpu = median(sc, g_reps);
        }
        for (int i = 0; i < W8Q_ALLOCS; i++)
            if (g_w8q[i] && !VirtualFree(g_w8q[i], 0, MEM_RELEASE))
                api_fail("8d: VirtualFree(MEM_RELEASE)");
    }
    /* rows for 8 are added after 5 and 7 so the table stays in order */

    /* ---- 5 ---- */
    double q_ns[3] = { NAN, NAN, NAN }, q_rand_ns[3] = { NAN, NAN, NAN };
    long q_live[3] = { 10, g_big / 10, g_big };
    long sc_count = -1, sc_first = -1, sc_control = -1, q_reached = 0;
    DWORD q_err = 0;
    double getpid_ns = NAN;
    {
        void **p = xcalloc((size_t)g_big, sizeof *p);
        const char **qa = xcalloc(W5_QUERIES, sizeof *qa);
        struct w5 *w = xcalloc(1, sizeof *w);
        w->addr = qa;
        long live = 0;
        int ok = 1;
        for (int s = 0; s < 3 && ok; s++) {
            progress("5: VirtualQuery with %s live allocations",
                     fmt_count(b1, sizeof b1, q_live[s]));
            for (; live < q_live[s]; live++)
                if (!(p[live] = VirtualAlloc(NULL, g_gran, MEM_RESERVE, PAGE_READWRITE))) {
                    q_err = GetLastError();
                    fprintf(stderr, "vwbench: FAILED: 5: VirtualAlloc(MEM_RESERVE) #%ld "
                                    "(GetLastError %lu)\n",
                            live + 1, (unsigned long)q_err);
#ifndef _WIN32
                    g_failed = 1;   /* on Linux this must work; under Wine it is a finding */
#endif
                    ok = 0;
                    break;
                }
            if (!ok)
                break;
            /* The walk: allocations in the order they were placed (address
             * order within an arena), as a scanner or collector visits them. */
            for (size_t i = 0; i < W5_QUERIES; i++)
                qa[i] = (const char *)p[i % (size_t)live];
            q_ns[s] = measure(w5_lib, w, NULL, NULL, (long)W5_QUERIES / scale).lib;
            /* Random order: each query misses every cache once the map outgrows them. */
            for (size_t i = 0; i < W5_QUERIES; i++)
                qa[i] = (const char *)p[lcg_next() % (uint32_t)live] +
                        (lcg_next() % (g_gran / g_page)) * g_page;
            q_rand_ns[s] = measure(w5_lib, w, NULL, NULL, (long)W5_QUERIES / scale).lib;
        }
#ifndef _WIN32
        getpid_ns = measure(getpid_loop, NULL, NULL, NULL, 200000 / scale).lib;
        if (ok && live == g_big) {
            int rc = 0;
            progress("5: counting syscalls of %s queries (seccomp child)",
                     fmt_count(b1, sizeof b1, (long)W5_QUERIES));
            /* Positive control first: 1,000 getpid() calls must count as 1,000. */
            long dummy = 0;
            sc_control = count_syscalls(getpid_loop, NULL, 1000, &rc, &dummy);
            if (sc_control == 1000) {
                sc_count = count_syscalls(w5_lib, w, (long)W5_QUERIES, &rc, &sc_first);
                if (sc_count == 0 && rc != 0)
                    api_fail("5: VirtualQuery in the syscall-count child");
            } else if (sc_control >= 0) {
                progress("5: seccomp control counted %ld of 1000 getpid() calls; "
                         "syscall count not used", sc_control);
            }
        }
#endif
        q_reached = live;
        for (long i = 0; i < live; i++)
            if (!VirtualFree(p[i], 0, MEM_RELEASE)) {
                api_fail("5: VirtualFree(MEM_RELEASE)");
                break;
            }
        free(w);
        free(qa);
        free(p);
    }
    for (int s = 0; s < 3; s++) {
        char name[160];
        static const char *ids[3] = { "5a", "5b", "5c" };
        snprintf(name, sizeof name, "VirtualQuery of own allocations, %s live, address order "
                                    "(raw: none)",
                 fmt_count(b1, sizeof b1, q_live[s]));
        struct row *r = add_row(ids[s], name);
        fmt_ns(r->lib, sizeof r->lib, q_ns[s]);
        if (isnan(q_ns[s]) && q_reached < q_live[s] && q_err)
            snprintf(r->lib, sizeof r->lib, "failed: allocation %s gave error %lu",
                     fmt_count(b2, sizeof b2, q_reached + 1), (unsigned long)q_err);
        if (s > 0 && !isnan(q_ns[s]) && !isnan(q_ns[0]))
            snprintf(r->ratio, sizeof r->ratio, "%.2f (vs 5a)", q_ns[s] / q_ns[0]);
        if (s == 2) {
            int ratio_ok = !isnan(q_ns[2]) && !isnan(q_ns[0]) && q_ns[2] <= 2 * q_ns[0];
#ifdef _WIN32
            snprintf(r->target, sizeof r->target, "<= 2.00x 5a");
            set_met(r, ratio_ok);
#else
            snprintf(r->target, sizeof r->target, "<= 2.00x 5a, no syscall");
            if (sc_count >= 0)
                snprintf(r->raw, sizeof r->raw, "- (%ld syscalls in %s queries)", sc_count,
                         fmt_count(b2, sizeof b2, (long)W5_QUERIES));
            else
                snprintf(r->raw, sizeof r->raw, "- (syscalls not counted; getpid %.0f ns)",
                         getpid_ns);
            /* Without seccomp: a query cheaper than one syscall cannot contain one. */
            int nosys = sc_count >= 0 ? sc_count == 0 : (!isnan(getpid_ns) && q_ns[2] < getpid_ns);
            set_met(r, ratio_ok && nosys);
#endif
        }
    }
    for (int s = 0; s < 3; s++) {
        char name[160];
        static const char *ids[3] = { "5a-r", "5b-r", "5c-r" };
        snprintf(name, sizeof name, "VirtualQuery of own allocations, %s live, random order "
                                    "(raw: none; for information)",
                 fmt_count(b1, sizeof b1, q_live[s]));
        struct row *r = add_row(ids[s], name);
        fmt_ns(r->lib, sizeof r->lib, q_rand_ns[s]);
        if (s > 0 && !isnan(q_rand_ns[s]) && !isnan(q_rand_ns[0]))
            snprintf(r->ratio, sizeof r->ratio, "%.2f (vs 5a-r)", q_rand_ns[s] / q_rand_ns[0]);
        if (s == 2) {
            /* The index (granule -> run) keeps a lookup a few cache misses at any size. */
            int ok = !isnan(q_rand_ns[2]) && !isnan(q_rand_ns[0]) &&
                     q_rand_ns[2] <= 8 * q_rand_ns[0];
            snprintf(r->target, sizeof r->target, "<= 8.00x 5a-r, <= 0.25x PROCMAP_QUERY");
            if (!isnan(procmap_ns)) {
                snprintf(r->raw, sizeof r->raw, "%.0f (1 PROCMAP_QUERY ioctl, 6a)", procmap_ns);
                snprintf(r->ratio + strlen(r->ratio), sizeof r->ratio - strlen(r->ratio),
                         ", %.2f (vs ioctl)", q_rand_ns[2] / procmap_ns);
                ok = ok && q_rand_ns[2] <= 0.25 * procmap_ns;
            } else {
                ok = 0;
            }
            set_met(r, ok);
        }
    }
    /* ---- 7a ---- */
    long a7_count = 0, a7_vmas = -1;
    DWORD a7_err = 0;
    {
        progress("7a: %s live 64 KiB allocations, each committed read-write",
                 fmt_count(b1, sizeof b1, g_big));
        char **p = xcalloc((size_t)g_big, sizeof *p);
        for (; a7_count < g_big; a7_count++) {
            p[a7_count] = VirtualAlloc(NULL, g_gran, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
            if (!p[a7_count]) {
                a7_err = GetLastError();
                break;
            }
            p[a7_count][0] = 1;
        }
#ifndef _WIN32
        a7_vmas = count_vmas();
#endif
        if (a7_count < g_big) {
            fprintf(stderr, "vwbench: FAILED: 7a: VirtualAlloc #%ld failed (GetLastError %lu)\n",
                    a7_count + 1, (unsigned long)a7_err);
#ifndef _WIN32
            g_failed = 1;   /* on Linux this must work; under Wine it is a finding */
#endif
        }
        for (long i = 0; i < a7_count; i++)
            if (!VirtualFree(p[i], 0, MEM_RELEASE)) {
                api_fail("7a: VirtualFree(MEM_RELEASE)");
                break;
            }
        free(p);
    }
    {
        char name[160];
        snprintf(name, sizeof name, "live 64 KiB allocations, each committed read-write and "
                                    "touched (of %s attempted)",
                 fmt_count(b1, sizeof b1, g_big));
        struct row *r = add_row("7a", name);
#ifdef _WIN32
        snprintf(r->lib, sizeof r->lib, "%s live", fmt_count(b1, sizeof b1, a7_count));
        snprintf(r->target, sizeof r->target, "%s live", fmt_count(b2, sizeof b2, g_big));
        set_met(r, a7_count == g_big);
#else
        snprintf(r->lib, sizeof r->lib, "%s live, %s VMAs", fmt_count(b1, sizeof b1, a7_count),
                 fmt_count(b2, sizeof b2, a7_vmas));
        snprintf(r->target, sizeof r->target, "%s live, < 1,000 VMAs",
                 fmt_count(b3, sizeof b3, g_big));
        set_met(r, a7_count == g_big && a7_vmas >= 0 && a7_vmas < 1000);
#endif
        snprintf(name, sizeof name, "library metadata per allocation (anonymous RSS growth over %s "
                                    "reserve-only allocations)",
                 fmt_count(b1, sizeof b1, g_big));
        r = add_row("7a-meta", name);
#ifdef _WIN32
        (void)meta;
        strcpy(r->lib, "n/a");
        strcpy(r->target, "<= 100 B");
        strcpy(r->met, "n/a");
#else
        if (meta >= 0)
            snprintf(r->lib, sizeof r->lib, "%.1f B", meta);
        else
            strcpy(r->lib, "failed");
        strcpy(r->target, "<= 100 B");
        set_met(r, meta >= 0 && meta <= 100.0);
#endif
    }

    /* ---- 7b ---- */
#ifndef _WIN32
    long b7_lib = 0, b7_raw = 0, b7_vmas_lib = -1, b7_vmas_raw = -1, b7_vmas_before = -1,
         b7_vmas_after = -1;
    long max_map = read_long_file("/proc/sys/vm/max_map_count", 0);
    DWORD b7_err = 0;
    int b7_raw_errno = 0;
    {
        progress("7b: 64 KiB allocations with the first page committed, until failure "
                 "(vm.max_map_count %ld)",
                 max_map);
        long cap = (max_map > 0 ? max_map : 65530) * 2 + 1000;
        if (cap < g_big)
            cap = g_big;
        char **p = xcalloc((size_t)cap, sizeof *p);
        b7_vmas_before = count_vmas();
        for (; b7_lib < cap; b7_lib++) {
            char *a = VirtualAlloc(NULL, g_gran, MEM_RESERVE, PAGE_READWRITE);
            if (!a) {
                b7_err = GetLastError();
                break;
            }
            if (VirtualAlloc(a, g_page, MEM_COMMIT, PAGE_READWRITE) != a) {
                b7_err = GetLastError();
                if (!VirtualFree(a, 0, MEM_RELEASE))
                    api_fail("7b: VirtualFree(MEM_RELEASE) after the failed commit");
                break;
            }
            p[b7_lib] = a;
        }
        b7_vmas_lib = count_vmas();
        for (long i = 0; i < b7_lib; i++)
            if (!VirtualFree(p[i], 0, MEM_RELEASE)) {
                api_fail("7b: VirtualFree(MEM_RELEASE)");
                break;
            }
        b7_vmas_after = count_vmas();

        /* The same with raw syscalls: what the kernel allows this process. */
        for (; b7_raw < cap; b7_raw++) {
            char *a = mmap(NULL, g_gran, PROT_NONE, RAW_RESERVE_FLAGS, -1, 0);
            if (a == MAP_FAILED) {
                b7_raw_errno = errno;
                break;
            }
            if (mprotect(a, g_page, PROT_READ | PROT_WRITE)) {
                b7_raw_errno = errno;
                munmap(a, g_gran);
                break;
            }
            p[b7_raw] = a;
        }
        b7_vmas_raw = count_vmas();
        for (long i = 0; i < b7_raw; i++)
            munmap(p[i], g_gran);
        free(p);
    }
    {
        struct row *r = add_row("7b", "live 64 KiB allocations with only the first page "
                                      "committed, until the first failure");
        snprintf(r->lib, sizeof r->lib, "%s live (%s VMAs), then error %lu",
                 fmt_count(b1, sizeof b1, b7_lib), fmt_count(b2, sizeof b2, b7_vmas_lib),
                 (unsigned long)b7_err);
        snprintf(r->raw, sizeof r->raw, "%s (mmap + mprotect, %s VMAs), then %s",
                 fmt_count(b1, sizeof b1, b7_raw), fmt_count(b2, sizeof b2, b7_vmas_raw),
                 b7_raw_errno == ENOMEM ? "ENOMEM" : b7_raw_errno ? strerror(b7_raw_errno) : "no failure");
        if (b7_raw > 0)
            snprintf(r->ratio, sizeof r->ratio, "%.3f", (double)b7_lib / (double)b7_raw);
        snprintf(r->target, sizeof r->target, ">= 0.99x raw (vm.max_map_count %s), then error 8",
                 fmt_count(b3, sizeof b3, max_map));
        int at_limit = b7_raw > 0 && (double)b7_lib >= 0.99 * (double)b7_raw;
        int clean = b7_err == ERROR_NOT_ENOUGH_MEMORY || (b7_err == 0 && b7_lib >= b7_raw);
        set_met(r, at_limit && clean);
    }
#endif

    /* ---- rows for 8 ---- */
    {
        struct row *r = add_row("8a", "workload 2 in one thread");
        struct pair pa = { t1l, t1r, NAN }, pb = { t2l, t2r, NAN };
        fmt_ns(r->lib, sizeof r->lib, pa.lib);
#ifdef _WIN32
        strcpy(r->raw, "n/a");
#else
        fmt_ns(r->raw, sizeof r->raw, pa.raw);
        if (!isnan(pa.lib) && !isnan(pa.raw))
            snprintf(r->ratio, sizeof r->ratio, "%.2f", pa.lib / pa.raw);
#endif
        r = add_row("8b", "workload 2 in two threads, separate allocations (ns per op, both "
                          "threads together)");
        fmt_ns(r->lib, sizeof r->lib, pb.lib);
#ifdef _WIN32
        strcpy(r->raw, "n/a");
#else
        fmt_ns(r->raw, sizeof r->raw, pb.raw);
        if (!isnan(pb.lib) && !isnan(pb.raw))
            snprintf(r->ratio, sizeof r->ratio, "%.2f", pb.lib / pb.raw);
#endif
        r = add_row("8c", "two-thread speed-up (throughput, two threads / one thread)");
        if (isnan(su_lib))
            strcpy(r->lib, "failed");
        else
            snprintf(r->lib, sizeof r->lib, "%.2fx", su_lib);
        strcpy(r->target, ">= 0.90x raw speed-up");
#ifdef _WIN32
        strcpy(r->raw, "n/a");
        strcpy(r->met, "n/a");
#else
        if (isnan(su_raw))
            strcpy(r->raw, "failed");
        else
            snprintf(r->raw, sizeof r->raw, "%.2fx", su_raw);
        if (!isnan(su_lib) && !isnan(su_raw)) {
            fmt_ratio(r->ratio, sizeof r->ratio, su_lib / su_raw, 0.90);
            set_met(r, su_lib / su_raw >= 0.90);
        } else {
            strcpy(r->met, "failed");
        }
#endif
    }

    {
        struct row *r = add_row("8d", "VirtualQuery of own allocations (4,096 live, random), one "
                                      "thread / two threads (ns per op, both threads together)");
        fmt_ns(r->lib, sizeof r->lib, t1q);
        fmt_ns(r->raw, sizeof r->raw, t2q);
        strcpy(r->raw + strlen(r->raw), " (two threads)");
        r = add_row("8e", "VirtualQuery two-thread speed-up (throughput, two threads / one)");
        if (isnan(su_q))
            strcpy(r->lib, "failed");
        else
            snprintf(r->lib, sizeof r->lib, "%.2fx", su_q);
        (void)su_qcpu;   /* see the note: CPU time cannot judge this */
        strcpy(r->target, ncpus() >= 2 ? ">= 1.80x" : ">= 1.80x (needs 2 CPUs)");
        if (ncpus() >= 2)
            set_met(r, !isnan(su_q) && su_q >= 1.8);
        else
            strcpy(r->met, "n/a");
    }

    /* ---- 10 ---- */
    progress("10: guard-page exception round trip");
    {
        struct pair p10 = { NAN, NAN, NAN };
        char *lp = VirtualAlloc(NULL, g_gran, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        PVOID h = AddVectoredExceptionHandler(1, w10_handler);
        if (!lp || !h) {
            api_fail("10: VirtualAlloc / AddVectoredExceptionHandler");
        } else {
#ifdef _WIN32
            p10 = measure(w10_lib, lp, NULL, NULL, 20000 / scale);
#else
            char *rp = mmap(NULL, g_gran, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
            if (rp == MAP_FAILED) {
                sys_fail("10: mmap");
            } else {
                p10 = measure(w10_lib, lp, w10_raw, rp, 20000 / scale);
                munmap(rp, g_gran);
            }
#endif
        }
        if (h)
            RemoveVectoredExceptionHandler(h);
        if (lp && !VirtualFree(lp, 0, MEM_RELEASE))
            api_fail("10: VirtualFree(MEM_RELEASE)");
        fill_pair_row(add_row("10", "guard page tripped, vectored handler, continued (raw: "
                                    "mprotect PROT_NONE + bare SIGSEGV handler mprotect back)"),
                      p10, 1.5);
    }
#ifndef _WIN32
    bench_watch();   /* 9: write watches, per engine */
#endif
    /* ---- 9 ---- */
    progress("12: AWE: MapUserPhysicalPages and MapUserPhysicalPagesScatter");
    workload9(scale);

    /* ---- the report: rows sorted by id, stable ---- */
    for (int i = 1; i < nrows; i++)
        for (int j = i; j > 0 && strcmp(rows[j - 1].id, rows[j].id) > 0; j--) {
            struct row t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    printf("vwbench %s; %s; %s (%d CPUs); page %s B; medians of %d repetitions after a "
           "warm-up%s\n\n",
           date, osn, cpu, ncpus(), fmt_count(b1, sizeof b1, (long long)g_page), g_reps,
           g_quick ? "; QUICK MODE (VWBENCH_QUICK=1: 1,000,000 scaled to 100,000)" : "");
    printf("| # | workload | library ns/op | raw ns/op | ratio | paired ratio | target | met? |\n");
    printf("|---|---|---:|---:|---:|---:|---|---|\n");
    for (int i = 0; i < nrows; i++)
        printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", rows[i].id, rows[i].name,
               rows[i].lib, rows[i].raw, rows[i].ratio, rows[i].paired, rows[i].target,
               rows[i].met);
    printf("\nNotes:\n\n");
    printf("- library and raw ns/op are medians over the repetitions of this run; ratio is "
           "library / raw of those two medians; paired ratio is the median of the "
           "per-repetition ratios library / raw (each library run paired with the raw run "
           "next to it), on which the <= targets are judged. All figures depend on the "
           "machine and its load. Raw = libc "
           "mmap/mprotect/munmap/ioctl; decommit is a remap (mmap MAP_FIXED PROT_NONE "
           "MAP_NORESERVE) on both sides.\n");
    printf("- 5c-r: random queries at 1,000,000 allocations against the 10-allocation "
           "figure (5a-r) and one PROCMAP_QUERY ioctl (6a raw) of this run. 8d/8e: VirtualQuery "
           "reads the map without a lock, so two threads should nearly double throughput; 8e "
           "is the wall-clock speed-up; it needs two otherwise idle CPUs (a speed-up from the "
           "threads' CPU time was tried and dropped: when the threads do not overlap it reads "
           "2x whatever the library does).\n");
#ifndef _WIN32
    if (sc_count >= 0)
        printf("- 5c syscall check: %ld system calls during %s VirtualQuery calls on %s live "
               "allocations (forked child under a seccomp filter that traps every syscall; "
               "control: %ld of 1,000 getpid() calls counted)%s; one getpid() costs %.1f ns "
               "in this run.\n",
               sc_count, fmt_count(b1, sizeof b1, (long)W5_QUERIES),
               fmt_count(b2, sizeof b2, g_big), sc_control,
               sc_count ? " (first trapped: see stderr)" : "", getpid_ns);
    else
        printf("- 5c syscall check: seccomp unavailable; judged by cost instead: one getpid() "
               "costs %.1f ns in this run, a query that costs less cannot contain a syscall.\n",
               getpid_ns);
    if (sc_count > 0)
        progress("5c: first trapped syscall number %ld", sc_first);
    printf("- 7b: VMAs before %s, at the library's limit %s, after releasing everything %s.\n",
           fmt_count(b1, sizeof b1, b7_vmas_before), fmt_count(b2, sizeof b2, b7_vmas_lib),
           fmt_count(b3, sizeof b3, b7_vmas_after));
#else
    (void)a7_vmas, (void)getpid_ns, (void)sc_first, (void)sc_count, (void)sc_control, (void)su_raw, (void)b3;
    printf("- Windows build: raw columns, workload 6 (PROCMAP_QUERY) and 7b (vm.max_map_count) "
           "are Linux-only; %s.\n", osn);
    if (a7_count < g_big)
        printf("- 7a stopped at %ld allocations with error %lu.\n", a7_count,
               (unsigned long)a7_err);
#endif
    int missed = 0;
    for (int i = 0; i < nrows; i++)
        if (strstr(rows[i].met, "no") || !strcmp(rows[i].met, "failed"))
            missed++;
    printf("- Targets missed: ");
    if (!missed)
        printf("none");
    for (int i = 0, k = 0; i < nrows; i++)
        if (strstr(rows[i].met, "no") || !strcmp(rows[i].met, "failed"))
            printf("%s%s", k++ ? ", " : "", rows[i].id);
    printf(".\n");
    if (g_failed)
        printf("- FUNCTIONAL FAILURE: an API call failed unexpectedly (see stderr); "
               "figures may be incomplete.\n");
    fflush(stdout);
    return g_failed ? 1 : 0;
}
