/*
 * virtualwin-map: any process's address space the way Sysinternals VMMap
 * shows a Windows process's: a summary by type (image, mapped file,
 * shareable, heap, stack, private data, free) with committed, reserved and
 * locked totals and the largest free block, then one line per region.
 *
 * It is a client of the library like any other program: OpenProcess and a
 * VirtualQueryEx walk, so a process that runs libvirtualwin and serves
 * (VIRTUALWIN_SERVE=1) shows its own Windows view and any other process the
 * kernel's view typed as the library types foreign memory.  Names come from
 * /proc/PID/maps, locked sizes from /proc/PID/smaps.  Colours on a terminal,
 * plain text when piped, --json for scripts (one region per line), --watch
 * to refresh.  Exit status: 0, 1 when the process cannot be opened or read,
 * 2 for a usage error.
 */
#include <virtualwin.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USER_END ((uintptr_t)0x7FFFFFFF0000ull)

enum kind { K_IMAGE, K_MAPPED, K_SHAREABLE, K_HEAP, K_STACK, K_PRIVATE, K_FREE, K_COUNT };
static const char *const kind_name[K_COUNT] = { "Image", "Mapped File", "Shareable", "Heap",
                                                "Stack", "Private Data", "Free" };
static const char *const kind_json[K_COUNT] = { "image", "mapped", "shareable", "heap",
                                                "stack", "private", "free" };
static const char *const kind_colour[K_COUNT] = { "\033[35m", "\033[34m", "\033[36m",
                                                  "\033[33m", "\033[93m", "\033[32m",
                                                  "\033[90m" };

struct mapping {
    uintptr_t start, end;
    int shared;
    char path[160];
    uint64_t locked;          /* bytes (smaps Locked:) */
};

struct region {
    MEMORY_BASIC_INFORMATION m;
    enum kind kind;
    const char *name;
};

static struct mapping *maps;
static size_t nmaps;
static struct region *regions;
static size_t nregions;

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    *cap = *cap ? *cap * 2 : 256;
    if (*cap < need)
        *cap = need;
    p = realloc(p, *cap * size);
    if (!p) {
        fprintf(stderr, "virtualwin-map: out of memory\n");
        exit(1);
    }
    return p;
}

/* /proc/PID/maps, then the Locked: lines of /proc/PID/smaps (if readable). */
static int read_maps(int pid)
{
    static size_t cap;
    char path[64], line[512];
    nmaps = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char perms[8], name[160] = "";
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %159[^\n]", &a, &b, perms, name) < 3)
            continue;
        maps = grow(maps, &cap, nmaps + 1, sizeof *maps);
        struct mapping *m = &maps[nmaps++];
        m->start = a;
        m->end = b;
        m->shared = perms[3] == 's';
        snprintf(m->path, sizeof m->path, "%s", name);
        m->locked = 0;
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/smaps", pid);
    f = fopen(path, "r");
    if (f) {
        size_t i = (size_t)-1;
        while (fgets(line, sizeof line, f)) {
            unsigned long a, b, kb;
            if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {   /* a mapping's first line */
                i++;
                while (i < nmaps && maps[i].start < a)
                    i++;
            } else if (i < nmaps && sscanf(line, "Locked: %lu kB", &kb) == 1) {
                maps[i].locked = (uint64_t)kb * 1024;
            }
        }
        fclose(f);
    }
    return 0;
}

static const struct mapping *mapping_at(uintptr_t a)
{
    size_t lo = 0, hi = nmaps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (maps[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < nmaps && maps[lo].start <= a ? &maps[lo] : NULL;
}

static enum kind classify(const MEMORY_BASIC_INFORMATION *m, const struct mapping *mp,
                          const struct mapping *basemp)
{
    if (m->State == MEM_FREE)
        return K_FREE;
    if (m->Type == MEM_IMAGE)
        return K_IMAGE;
    const char *n = basemp ? basemp->path : mp ? mp->path : "";
    if (strcmp(n, "[stack]") == 0 || (mp && strcmp(mp->path, "[stack]") == 0))
        return K_STACK;
    if (strcmp(n, "[heap]") == 0 || (mp && strcmp(mp->path, "[heap]") == 0))
        return K_HEAP;
    if (m->Type == MEM_MAPPED)
        return n[0] == '/' && strncmp(n, "/dev/", 5) && strncmp(n, "/SYSV", 5) ? K_MAPPED
                                                                            : K_SHAREABLE;
    if (mp && mp->shared)
        return K_SHAREABLE;
    return K_PRIVATE;
}

/* The walk: 0 or -1 (the process went away or refused). */
static int walk(HANDLE h)
{
    static size_t cap;
    nregions = 0;
    uintptr_t a = 0;
    while (a < USER_END) {
        MEMORY_BASIC_INFORMATION m;
        if (VirtualQueryEx(h, (LPCVOID)a, &m, sizeof m) != sizeof m)
            return nregions ? 0 : -1;
        if (!m.RegionSize)
            break;
        regions = grow(regions, &cap, nregions + 1, sizeof *regions);
        struct region *r = &regions[nregions++];
        r->m = m;
        const struct mapping *mp = mapping_at((uintptr_t)m.BaseAddress);
        const struct mapping *bp = m.AllocationBase ? mapping_at((uintptr_t)m.AllocationBase)
                                                    : NULL;
        r->kind = classify(&m, mp, bp);
        r->name = mp && mp->path[0] ? mp->path
                  : (m.Type == MEM_IMAGE && bp && bp->path[0]) ? bp->path : "";
        a = (uintptr_t)m.BaseAddress + m.RegionSize;
    }
    /* A stack is its whole allocation: the reservation below [stack] too. */
    for (size_t i = 0; i < nregions; i++) {
        if (regions[i].kind != K_STACK)
            continue;
        for (size_t j = 0; j < nregions; j++)
            if (regions[j].m.State != MEM_FREE &&
                regions[j].m.AllocationBase == regions[i].m.AllocationBase)
                regions[j].kind = K_STACK;
    }
    return 0;
}

static const char *state_name(DWORD s)
{
    return s == MEM_COMMIT ? "Commit" : s == MEM_RESERVE ? "Reserve" : "Free";
}

static const char *prot_name(DWORD p)
{
    static char buf[64];
    const char *b;
    switch (p & 0xFF) {
    case 0: return "";
    case PAGE_NOACCESS: b = "No access"; break;
    case PAGE_READONLY: b = "Read"; break;
    case PAGE_READWRITE: b = "Read/Write"; break;
    case PAGE_WRITECOPY: b = "Copy on write"; break;
    case PAGE_EXECUTE: b = "Execute"; break;
    case PAGE_EXECUTE_READ: b = "Execute/Read"; break;
    case PAGE_EXECUTE_READWRITE: b = "Execute/Read/Write"; break;
    case PAGE_EXECUTE_WRITECOPY: b = "Execute/Copy on write"; break;
    default: b = "?"; break;
    }
    snprintf(buf, sizeof buf, "%s%s%s%s", b, p & PAGE_GUARD ? "/Guard" : "",
             p & PAGE_NOCACHE ? "/No cache" : "", p & PAGE_WRITECOMBINE ? "/Write combine" : "");
    return buf;
}

struct totals {
    uint64_t size, committed, reserved, locked, blocks;
};

static void summarise(struct totals t[K_COUNT + 1], uint64_t *largest_free)
{
    memset(t, 0, sizeof(struct totals) * (K_COUNT + 1));
    *largest_free = 0;
    for (size_t i = 0; i < nregions; i++) {
        const struct region *r = &regions[i];
        struct totals *k = &t[r->kind];
        uint64_t n = r->m.RegionSize;
        k->size += n;
        if (r->m.State == MEM_COMMIT)
            k->committed += n;
        else if (r->m.State == MEM_RESERVE)
            k->reserved += n;
        if (r->m.State == MEM_FREE && n > *largest_free)
            *largest_free = n;
        /* A new allocation (block) starts where the base changes. */
        if (r->m.State != MEM_FREE &&
            (i == 0 || regions[i - 1].m.AllocationBase != r->m.AllocationBase))
            k->blocks++;
        if (r->m.State == MEM_FREE)
            k->blocks++;
    }
    for (size_t j = 0; j < nmaps; j++) {
        const struct mapping *mp = &maps[j];
        if (!mp->locked)
            continue;
        for (size_t i = 0; i < nregions; i++)
            if ((uintptr_t)regions[i].m.BaseAddress <= mp->start &&
                mp->start < (uintptr_t)regions[i].m.BaseAddress + regions[i].m.RegionSize) {
                t[regions[i].kind].locked += mp->locked;
                break;
            }
    }
    for (int k = 0; k < K_COUNT; k++) {
        if (k == K_FREE)
            continue;
        t[K_COUNT].size += t[k].size;
        t[K_COUNT].committed += t[k].committed;
        t[K_COUNT].reserved += t[k].reserved;
        t[K_COUNT].locked += t[k].locked;
        t[K_COUNT].blocks += t[k].blocks;
    }
}

static int colour;

static const char *col(enum kind k)
{
    return colour ? kind_colour[k] : "";
}
static const char *reset(void)
{
    return colour ? "\033[0m" : "";
}

/* Sizes in KiB with thousands separators, as VMMap shows them. */
static const char *kib(uint64_t bytes)
{
    static char ring[8][32];
    static int next;
    char *out = ring[next++ % 8];
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, bytes / 1024);
    int o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    snprintf(out + o, 32 - (size_t)o, " K");
    return out;
}

static void print_text(int pid, const char *view)
{
    struct totals t[K_COUNT + 1];
    uint64_t largest;
    summarise(t, &largest);
    printf("%sProcess %d%s (%s view)\n\n", colour ? "\033[1m" : "", pid, reset(), view);
    printf("%-14s %14s %14s %14s %12s %8s\n", "Type", "Size", "Committed", "Reserved", "Locked",
           "Blocks");
    for (int k = 0; k <= K_COUNT; k++) {
        const struct totals *x = &t[k];
        if (k == K_COUNT)
            printf("%-14s %14s %14s %14s %12s %8" PRIu64 "\n", "Total", kib(x->size),
                   kib(x->committed), kib(x->reserved), kib(x->locked), x->blocks);
        else
            printf("%s%-14s%s %14s %14s %14s %12s %8" PRIu64 "\n", col((enum kind)k),
                   kind_name[k], reset(), kib(x->size), kib(x->committed), kib(x->reserved),
                   kib(x->locked), x->blocks);
    }
    printf("\nLargest free block: %s\n\n", kib(largest));
    printf("%-16s %14s %-14s %-8s %-22s %-16s %s\n", "Address", "Size", "Type", "State",
           "Protection", "Allocation base", "Details");
    for (size_t i = 0; i < nregions; i++) {
        const struct region *r = &regions[i];
        printf("%s%016" PRIxPTR " %14s %-14s %-8s %-22s %016" PRIxPTR " %s%s\n",
               col(r->kind), (uintptr_t)r->m.BaseAddress, kib(r->m.RegionSize),
               kind_name[r->kind], state_name(r->m.State), prot_name(r->m.Protect),
               (uintptr_t)r->m.AllocationBase, r->name, reset());
    }
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_json(int pid, const char *view)
{
    struct totals t[K_COUNT + 1];
    uint64_t largest;
    summarise(t, &largest);
    printf("{\"pid\": %d, \"view\": \"%s\", \"largest_free\": %" PRIu64 ",\n\"summary\": [\n",
           pid, view, largest);
    for (int k = 0; k <= K_COUNT; k++)
        printf("{\"type\": \"%s\", \"size\": %" PRIu64 ", \"committed\": %" PRIu64
               ", \"reserved\": %" PRIu64 ", \"locked\": %" PRIu64 ", \"blocks\": %" PRIu64
               "}%s\n",
               k == K_COUNT ? "total" : kind_json[k], t[k].size, t[k].committed, t[k].reserved,
               t[k].locked, t[k].blocks, k == K_COUNT ? "" : ",");
    printf("],\n\"regions\": [\n");
    for (size_t i = 0; i < nregions; i++) {
        const struct region *r = &regions[i];
        printf("{\"address\": %" PRIuPTR ", \"size\": %" PRIu64 ", \"type\": \"%s\", "
               "\"state\": \"%s\", \"protect\": %u, \"allocation_base\": %" PRIuPTR
               ", \"allocation_protect\": %u, \"name\": ",
               (uintptr_t)r->m.BaseAddress, (uint64_t)r->m.RegionSize, kind_json[r->kind],
               r->m.State == MEM_COMMIT ? "commit" : r->m.State == MEM_RESERVE ? "reserve"
                                                                                : "free",
               (unsigned)r->m.Protect, (uintptr_t)r->m.AllocationBase,
               (unsigned)r->m.AllocationProtect);
        json_string(r->name);
        printf("}%s\n", i + 1 < nregions ? "," : "");
    }
    printf("]}\n");
}

/* "windows" if the process serves its own map (its socket is listed). */
static const char *view_of(int pid)
{
    char want[64], line[512];
    snprintf(want, sizeof want, "@virtualwin-%d\n", pid);
    FILE *f = fopen("/proc/net/unix", "r");
    const char *v = "kernel";
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *at = strrchr(line, ' ');
            if (at && strcmp(at + 1, want) == 0)
                v = "windows";
        }
        fclose(f);
    }
    return v;
}

static void usage(FILE *to)
{
    fprintf(to, "usage: virtualwin-map [--json] [--watch[=SECONDS]] [--color=auto|always|never] "
                "PID\n");
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    int json = 0, watch = 0, pid = 0;
    const char *colour_mode = "auto";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            json = 1;
        else if (strcmp(a, "--watch") == 0)
            watch = 2;
        else if (strncmp(a, "--watch=", 8) == 0)
            watch = atoi(a + 8);
        else if (strncmp(a, "--color=", 8) == 0 || strncmp(a, "--colour=", 9) == 0)
            colour_mode = strchr(a, '=') + 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] != '-' && !pid) {
            char *end;
            long v = strtol(a, &end, 10);
            if (*end || v <= 0 || v > 0x7FFFFFFF) {
                fprintf(stderr, "virtualwin-map: not a process id: %s\n", a);
                return 2;
            }
            pid = (int)v;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!pid || (watch < 0) ||
        (strcmp(colour_mode, "auto") && strcmp(colour_mode, "always") &&
         strcmp(colour_mode, "never"))) {
        usage(stderr);
        return 2;
    }
    const char *term = getenv("TERM");
    colour = !json && (strcmp(colour_mode, "always") == 0 ||
                       (strcmp(colour_mode, "auto") == 0 && isatty(1) && term &&
                        strcmp(term, "dumb") && !getenv("NO_COLOR")));
    HANDLE h = OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, (DWORD)pid);
    if (!h) {
        DWORD e = GetLastError();
        fprintf(stderr, "virtualwin-map: cannot open process %d: %s\n", pid,
                e == ERROR_ACCESS_DENIED
                    ? "access denied (you may inspect only processes you could ptrace)"
                    : "no such process");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int status = 0;
    do {
        if (read_maps(pid) || walk(h)) {
            if (!watch || !nregions)
                fprintf(stderr, "virtualwin-map: process %d has exited or cannot be read\n",
                        pid);
            status = watch && nregions ? 0 : 1;
            break;
        }
        if (watch && isatty(1) && !json)
            printf("\033[H\033[2J");
        if (json)
            print_json(pid, view_of(pid));
        else
            print_text(pid, view_of(pid));
        fflush(stdout);
        for (int s = 0; watch && s < watch * 10 && !stop; s++)
            usleep(100000);
    } while (watch && !stop);
    CloseHandle(h);
    return status;
}
