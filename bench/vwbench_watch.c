/*
 * vwbench_watch.c: workload 9, write watches (issue 12), included by vwbench.c
 * (Linux only: it uses that file's rows and helpers).
 *
 * Per engine that works here (each in a forked child, since the engine is
 * chosen once per process, VIRTUALWIN_WRITE_WATCH forcing it):
 * - 9a: GetWriteWatch(WRITE_WATCH_FLAG_RESET) over 1 GiB (256 MiB in quick
 *   mode) with 1% of the pages written since the last call, against a bare
 *   PAGEMAP_SCAN loop (PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 64
 *   regions per ioctl) over the same range with the same pages written.
 *   Only the call is timed; the writes are made between timings.  Target
 *   1.5x on uffd (other engines: no raw figure, their memory has no
 *   asynchronous write protection to scan).
 * - 9b: the first write to each page of a freshly committed watched region,
 *   against the same on an unwatched one (both fault a zeroed page in).
 *   Target 2x on uffd.
 * - 9c: the first write to a watched page that is present and clean (written,
 *   then reset), against 9b's unwatched figure.
 */
#ifndef PAGEMAP_SCAN
struct pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct page_region {
    uint64_t start, end, categories;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#define PAGE_IS_WRITTEN (1 << 1)
#endif

#define W9_MAXPAGES 4096   /* results per call: 1% of 1 GiB (2,622 pages) in one call */

struct w9_raw {
    char *mem;
    size_t len;
    int pagemap;
    struct page_region vec[64];
};

/* The raw side of 9a: the same watched range, scanned through a pagemap
 * descriptor of the benchmark's own (the kernel needs no userfaultfd for it). */
static int w9_raw_open(struct w9_raw *r, char *mem, size_t len)
{
    r->mem = mem;
    r->len = len;
    r->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    return mem && r->pagemap >= 0 ? 0 : -1;
}

/* The bare scan: every written page reported and protected again. */
static long w9_raw_scan(struct w9_raw *r)
{
    long pages = 0;
    uint64_t cur = (uintptr_t)r->mem, end = cur + r->len;
    while (cur < end) {
        struct pm_scan_arg a = { .size = sizeof a,
                                 .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                                 .start = cur, .end = end, .vec = (uintptr_t)r->vec,
                                 .vec_len = 64, .category_mask = PAGE_IS_WRITTEN,
                                 .return_mask = PAGE_IS_WRITTEN };
        long k = ioctl(r->pagemap, PAGEMAP_SCAN, &a);
        if (k < 0)
            return -1;
        for (long i = 0; i < k; i++)
            pages += (long)((r->vec[i].end - r->vec[i].start) / g_page);
        cur = a.walk_end > cur ? a.walk_end : end;
    }
    return pages;
}

/* GetWriteWatch with reset until the range is clean: the pages reported. */
static long w9_lib_scan(char *mem, size_t len)
{
    static PVOID addr[W9_MAXPAGES];
    long pages = 0;
    for (;;) {
        ULONG_PTR n = W9_MAXPAGES;
        DWORD g;
        if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, mem, len, addr, &n, &g))
            return -1;
        pages += (long)n;
        if (n < W9_MAXPAGES)
            return pages;
    }
}

/* Writes 1% of the pages (the same ones each time). */
static void w9_dirty(char *mem, size_t len)
{
    for (size_t off = 0; off < len; off += 100 * g_page)
        mem[off + 8] ^= 1;
}

static double w9_first_writes(char *mem, size_t len)
{
    uint64_t t0 = now_ns();
    for (size_t off = 0; off < len; off += g_page)
        mem[off] = 1;
    return (double)(now_ns() - t0) / (double)(len / g_page);
}

static void w9_fill(struct row *r, double lib, double raw, double limit, const char *eng)
{
    fmt_ns(r->lib, sizeof r->lib, lib);
    fmt_ns(r->raw, sizeof r->raw, raw);
    if (isnan(raw) && limit > 0 && strcmp(eng, "uffd"))
        strcpy(r->raw, "n/a");
    if (isnan(lib) || isnan(raw)) {
        strcpy(r->met, isnan(lib) ? "failed" : "n/a");
        return;
    }
    snprintf(r->ratio, sizeof r->ratio, "%.2f", lib / raw);
    if (limit > 0 && !strcmp(eng, "uffd")) {
        snprintf(r->target, sizeof r->target, "<= %.2fx raw", limit);
        set_met(r, lib / raw <= limit);
    }
}

/* One engine, in this (child) process: rows into out[0..2]. */
static void w9_engine(const char *eng, struct row *out)
{
    size_t big = g_quick ? 256 << 20 : GiB;
    double l[MAX_REPS], rw[MAX_REPS], f[MAX_REPS], u[MAX_REPS], c[MAX_REPS];
    struct w9_raw raw;
    char *w = VirtualAlloc(NULL, big, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    int ok = w9_raw_open(&raw, w, big) == 0;
    long want = (long)((big / g_page + 99) / 100);
    int uffd = !strcmp(eng, "uffd");
    for (int i = 0; ok && i < g_reps; i++) {
        w9_dirty(w, big);
        uint64_t t0 = now_ns();
        ok = w9_lib_scan(w, big) == want;
        l[i] = (double)(now_ns() - t0);
        rw[i] = NAN;
        if (!uffd)
            continue;
        w9_dirty(w, big);
        t0 = now_ns();
        ok = ok && w9_raw_scan(&raw) == want;
        rw[i] = (double)(now_ns() - t0);
    }
    size_t fl = 4096 * g_page;
    for (int i = 0; ok && i < g_reps; i++) {
        char *a = VirtualAlloc(NULL, fl, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                               PAGE_READWRITE);
        char *b = VirtualAlloc(NULL, fl, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        ok = a && b;
        if (ok) {
            f[i] = w9_first_writes(a, fl);
            u[i] = w9_first_writes(b, fl);
            ok = ResetWriteWatch(a, fl) == 0;
            c[i] = w9_first_writes(a, fl);
        }
        VirtualFree(a, 0, MEM_RELEASE);
        VirtualFree(b, 0, MEM_RELEASE);
    }
    double nan = NAN;
    char name[200];
    snprintf(name, sizeof name, "GetWriteWatch(RESET) over %s with 1%% of pages written "
             "(raw: bare PAGEMAP_SCAN ioctls, 64 regions each), engine %s, ns per call", big == GiB ? "1 GiB" :
             "256 MiB", eng);
    snprintf(out[0].name, sizeof out[0].name, "%s", name);
    w9_fill(&out[0], ok ? median(l, g_reps) : nan, ok && uffd ? median(rw, g_reps) : nan, 1.5,
            eng);
    snprintf(out[1].name, sizeof out[1].name, "first write to a fresh watched page (raw: to a "
             "fresh unwatched committed page), engine %s", eng);
    w9_fill(&out[1], ok ? median(f, g_reps) : nan, ok ? median(u, g_reps) : nan, 2.0, eng);
    snprintf(out[2].name, sizeof out[2].name, "first write to a present watched page after "
             "ResetWriteWatch (raw: as 9b), engine %s", eng);
    w9_fill(&out[2], ok ? median(c, g_reps) : nan, ok ? median(u, g_reps) : nan, 0, eng);
}

static void bench_watch(void)
{
    static const char *const engines[] = { "uffd", "softdirty" };
    struct row *shared = mmap(NULL, 3 * sizeof *shared, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return;
    for (size_t e = 0; e < 2; e++) {
        progress("9: write watches, engine %s (forked child)", engines[e]);
        for (int k = 0; k < 3; k++) {
            static const char *const ids[] = { "9a", "9b", "9c" };
            memset(&shared[k], 0, sizeof shared[k]);
            snprintf(shared[k].id, sizeof shared[k].id, "%s-%.4s", ids[k], engines[e]);
            strcpy(shared[k].lib, "n/a");
            strcpy(shared[k].raw, "-");
            strcpy(shared[k].ratio, "-");
            strcpy(shared[k].paired, "-");
            strcpy(shared[k].target, "-");
            strcpy(shared[k].met, "n/a");
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("VIRTUALWIN_WRITE_WATCH", engines[e], 1);
            void *probe = VirtualAlloc(NULL, g_page, MEM_RESERVE | MEM_WRITE_WATCH,
                                       PAGE_READWRITE);
            if (probe)
                w9_engine(engines[e], shared);
            else
                snprintf(shared[0].name, sizeof shared[0].name,
                         "write watches, engine %s: not supported by this kernel (no row)",
                         engines[e]);
            _exit(0);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid)
            continue;
        for (int k = 0; k < 3 && shared[k].name[0]; k++)
            if (nrows < (int)(sizeof rows / sizeof rows[0]))
                rows[nrows++] = shared[k];
    }
    munmap(shared, 3 * sizeof *shared);
}
