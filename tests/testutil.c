/*
 * testutil.c: fault probes, /proc/self/maps reading and map/kernel agreement
 * checks for the Check suites (see testutil.h).  Test code: stdio and malloc
 * are fine here.
 */
#include "testutil.h"

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static __thread sigjmp_buf probe_env;
static __thread volatile int probe_active;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si; (void)uc;
    if (probe_active)
        siglongjmp(probe_env, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

size_t vw_page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

typedef void (*probe_fn)(void *);

static void do_read(void *p) { (void)*(volatile const char *)p; }
#if defined(__SANITIZE_THREAD__)
/* TSan runs atomic read-modify-writes under an internal mutex that a fault and
 * siglongjmp would leave locked: read and write the byte back instead. */
static void do_write(void *p)
{
    volatile char *c = p;
    *c = *c;
}
#else
static void do_write(void *p) { __atomic_fetch_or((char *)p, 0, __ATOMIC_SEQ_CST); }
#endif

static int probe(void *p, probe_fn fn)
{
    struct sigaction sa, old_segv, old_bus;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = probe_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    int ok;
    if (sigsetjmp(probe_env, 1) == 0) {
        probe_active = 1;
        fn(p);
        ok = 1;
    } else {
        ok = 0;
    }
    probe_active = 0;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    return ok;
}

int vw_can_read(const void *p) { return probe((void *)p, do_read); }
int vw_can_write(void *p) { return probe(p, do_write); }

MEMORY_BASIC_INFORMATION vw_query(const void *p)
{
    MEMORY_BASIC_INFORMATION mbi;
    memset(&mbi, 0xAB, sizeof mbi);
    SIZE_T r = VirtualQuery(p, &mbi, sizeof mbi);
    ck_assert_msg(r == sizeof mbi, "VirtualQuery(%p) returned %zu, error %u", p, (size_t)r,
                  (unsigned)GetLastError());
    return mbi;
}

static int parse_line(const char *line, struct vw_kmap *m)
{
    unsigned long s, e, off;
    char perms[8] = "", dev[16] = "";
    unsigned long long ino = 0;
    int n = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %15s %llu %n", &s, &e, perms, &off, dev, &ino, &n) < 6)
        return 0;
    m->start = s;
    m->end = e;
    memcpy(m->perms, perms, 4);
    m->perms[4] = 0;
    m->inode = ino;
    m->path[0] = 0;
    if (n > 0) {
        snprintf(m->path, sizeof m->path, "%s", line + n);
        size_t l = strlen(m->path);
        if (l && m->path[l - 1] == '\n')
            m->path[l - 1] = 0;
    }
    return 1;
}

/* /proc/self/maps is read with open/read into static buffers, never stdio:
 * fopen's malloc could itself map memory (a sanitizer's allocator does) between
 * a VirtualQuery and the check of its answer.  Serialised for threaded tests. */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static char maps_chunk[65536];

/* Calls fn for each line until it returns nonzero. */
static void for_each_maps_line(int (*fn)(const char *line, void *ctx), void *ctx)
{
    static char line[640];
    pthread_mutex_lock(&maps_lock);
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    size_t ll = 0;
    ssize_t n;
    int stop = 0;
    while (!stop && (n = read(fd, maps_chunk, sizeof maps_chunk)) > 0) {
        for (ssize_t i = 0; i < n && !stop; i++) {
            char c = maps_chunk[i];
            if (c == '\n') {
                line[ll] = 0;
                stop = fn(line, ctx);
                ll = 0;
            } else if (ll < sizeof line - 1) {
                line[ll++] = c;
            }
        }
    }
    close(fd);
    pthread_mutex_unlock(&maps_lock);
}

struct find_ctx {
    uintptr_t addr;
    struct vw_kmap *out;
    int found;
};

static int find_line(const char *line, void *ctx)
{
    struct find_ctx *f = ctx;
    struct vw_kmap m;
    if (parse_line(line, &m) && f->addr < m.end) {
        *f->out = m;
        f->found = 1;
        return 1;
    }
    return 0;
}

/* The first mapping whose end is above addr (covering it or the next one). */
static int kernel_mapping_from(uintptr_t addr, struct vw_kmap *out)
{
    struct find_ctx f = { addr, out, 0 };
    for_each_maps_line(find_line, &f);
    return f.found;
}

int vw_kernel_mapping(uintptr_t addr, struct vw_kmap *out)
{
    struct vw_kmap m;
    if (!kernel_mapping_from(addr, &m) || m.start > addr)
        return 0;
    *out = m;
    return 1;
}

static int count_line(const char *line, void *ctx)
{
    (void)line;
    ++*(int *)ctx;
    return 0;
}

int vw_kernel_vma_count(void)
{
    int n = 0;
    for_each_maps_line(count_line, &n);
    return n;
}

const char *vw_expected_perms(DWORD state, DWORD protect)
{
    if (state != MEM_COMMIT || (protect & PAGE_GUARD))
        return "---";
    switch (protect & 0xFF) {
    case PAGE_NOACCESS: return "---";
    case PAGE_READONLY: return "r--";
    case PAGE_READWRITE: return "rw-";
    case PAGE_WRITECOPY: return "rw-";
    case PAGE_EXECUTE: return "r-x";
    case PAGE_EXECUTE_READ: return "r-x";
    case PAGE_EXECUTE_READWRITE: return "rwx";
    case PAGE_EXECUTE_WRITECOPY: return "rwx";
    }
    return "???";
}

/* Checks one VirtualQuery region against the kernel, mapping by mapping. */
static void check_region(const MEMORY_BASIC_INFORMATION *m)
{
    uintptr_t a = (uintptr_t)m->BaseAddress, end = a + m->RegionSize;
    while (a < end) {
        struct vw_kmap k;
        int any = kernel_mapping_from(a, &k);
        int mapped = any && k.start <= a;
        if (m->State == MEM_FREE) {
            /* Free: unmapped, or the library's own PROT_NONE anonymous arena. */
            if (!mapped) {
                if (!any || k.start >= end)
                    return;
                a = k.start;
                continue;
            }
            ck_assert_msg(strncmp(k.perms, "---", 3) == 0 && k.inode == 0,
                          "free page %#lx is mapped %s %s", (unsigned long)a, k.perms, k.path);
        } else {
            if (!mapped && m->State == MEM_RESERVE && any && k.start == end &&
                strcmp(k.path, "[stack]") == 0)
                return;   /* the not yet grown part of the main thread's stack */
            ck_assert_msg(mapped, "page %#lx (state %#x) is not mapped in the kernel",
                          (unsigned long)a, (unsigned)m->State);
            if (m->Type == MEM_PRIVATE) {
                const char *want = vw_expected_perms(m->State, m->Protect);
                ck_assert_msg(strncmp(k.perms, want, 3) == 0,
                              "page %#lx: VirtualQuery state %#x protect %#x, kernel %s",
                              (unsigned long)a, (unsigned)m->State, (unsigned)m->Protect, k.perms);
            }
        }
        a = k.end < end ? k.end : end;
    }
}

void vw_assert_range_agrees(const void *base, size_t size)
{
    uintptr_t a = (uintptr_t)base, end = a + size;
    while (a < end) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        ck_assert_uint_eq((uintptr_t)m.BaseAddress, a & ~(VW_PAGE - 1));
        ck_assert_uint_gt(m.RegionSize, 0);
        check_region(&m);
        a = (uintptr_t)m.BaseAddress + m.RegionSize;
    }
}

void vw_assert_all_agree(void)
{
    uintptr_t a = 0, expect = 0;
    int regions = 0;
    while (a <= VW_MAX_APP_ADDR) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        ck_assert_msg((uintptr_t)m.BaseAddress == expect, "walk not contiguous at %#lx: got %p",
                      (unsigned long)expect, m.BaseAddress);
        ck_assert_uint_gt(m.RegionSize, 0);
        check_region(&m);
        regions++;
        expect = (uintptr_t)m.BaseAddress + m.RegionSize;
        if (expect <= a)
            ck_abort_msg("walk does not advance at %#lx", (unsigned long)a);
        a = expect;
    }
    ck_assert_int_gt(regions, 3);
}
