/*
 * testutil.c: fault probes, /proc/self/maps reading and map/kernel agreement
 * checks, API calls and expectations, /proc fields, thread and fork-child
 * helpers for the Check suites (see testutil.h).  Test code: stdio and malloc
 * are fine here, except in the helpers that threads and fork children use.
 */
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <setjmp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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
/* A compare-and-swap of the byte with itself: a real, atomic store (an atomic
 * OR of zero is not one: clang drops it). */
static void do_write(void *p)
{
    char *c = p, v = __atomic_load_n(c, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(c, &v, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
}
#endif

static void install_probe_handler(struct sigaction *old_segv, struct sigaction *old_bus)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = probe_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, old_segv);
    sigaction(SIGBUS, &sa, old_bus);
}

/* Runs fn(p) with the probe handler in place; 0 if it faulted. */
static int probe_installed(void *p, probe_fn fn)
{
    int ok;
    if (sigsetjmp(probe_env, 1) == 0) {
        probe_active = 1;
        fn(p);
        ok = 1;
    } else {
        ok = 0;
    }
    probe_active = 0;
    return ok;
}

static int probe(void *p, probe_fn fn)
{
    struct sigaction old_segv, old_bus;
    install_probe_handler(&old_segv, &old_bus);
    int ok = probe_installed(p, fn);
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    return ok;
}

int vw_can_read(const void *p) { return probe((void *)p, do_read); }
int vw_can_write(void *p) { return probe(p, do_write); }

static struct sigaction thread_old_segv, thread_old_bus;

void vw_install_thread_probes(void) { install_probe_handler(&thread_old_segv, &thread_old_bus); }

void vw_remove_thread_probes(void)
{
    sigaction(SIGSEGV, &thread_old_segv, NULL);
    sigaction(SIGBUS, &thread_old_bus, NULL);
}

int vw_thread_can_read(const void *p) { return probe_installed((void *)p, do_read); }
int vw_thread_can_write(void *p) { return probe_installed(p, do_write); }

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
/* Checks one VirtualQuery region against the kernel, mapping by mapping;
 * returns 0, or 1 with the disagreement described in msg. */
static int check_region(const MEMORY_BASIC_INFORMATION *m, char *msg, size_t len)
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
                    return 0;
                a = k.start;
                continue;
            }
            if (strncmp(k.perms, "---", 3) != 0 || k.inode != 0) {
                snprintf(msg, len, "free page %#lx is mapped %s %s", (unsigned long)a, k.perms,
                         k.path);
                return 1;
            }
        } else {
            if (!mapped && m->State == MEM_RESERVE && any && k.start == end &&
                strcmp(k.path, "[stack]") == 0)
                return 0;   /* the not yet grown part of the main thread's stack */
            if (!mapped) {
                snprintf(msg, len, "page %#lx (state %#x) is not mapped in the kernel",
                         (unsigned long)a, (unsigned)m->State);
                return 1;
            }
            if (m->Type == MEM_PRIVATE || m->Type == MEM_MAPPED) {
                const char *want = vw_expected_perms(m->State, m->Protect);
                if (strncmp(k.perms, want, 3) != 0) {
                    snprintf(msg, len, "page %#lx: VirtualQuery state %#x protect %#x, kernel %s",
                             (unsigned long)a, (unsigned)m->State, (unsigned)m->Protect, k.perms);
                    return 1;
                }
            }
        }
        a = k.end < end ? k.end : end;
    }
    return 0;
}

/* VirtualQuery of a and the kernel's view must agree.  Memory that is not the
 * library's can change between the query and the read of /proc/self/maps
 * (a sanitizer's allocator maps memory for the test's own bookkeeping, other
 * threads run): a disagreement counts only if it survives asking both again. */
static MEMORY_BASIC_INFORMATION query_agreeing(uintptr_t a)
{
    char msg[320];
    MEMORY_BASIC_INFORMATION m;
    for (int attempt = 0;; attempt++) {
        memset(&m, 0xAB, sizeof m);
        if (VirtualQuery((const void *)a, &m, sizeof m) != sizeof m)
            ck_abort_msg("VirtualQuery(%#lx) failed, error %u", (unsigned long)a,
                         (unsigned)GetLastError());
        if (!check_region(&m, msg, sizeof msg))
            return m;
        if (attempt == 3)
            ck_abort_msg("%s", msg);
    }
}

void vw_assert_range_agrees(const void *base, size_t size)
{
    uintptr_t a = (uintptr_t)base, end = a + size;
    while (a < end) {
        MEMORY_BASIC_INFORMATION m = query_agreeing(a);
        ck_assert_uint_eq((uintptr_t)m.BaseAddress, a & ~(VW_PAGE - 1));
        ck_assert_uint_gt(m.RegionSize, 0);
        a = (uintptr_t)m.BaseAddress + m.RegionSize;
    }
}

void vw_assert_all_agree(void)
{
    uintptr_t a = 0, expect = 0;
    int regions = 0;
    while (a <= VW_MAX_APP_ADDR) {
        MEMORY_BASIC_INFORMATION m = query_agreeing(a);
        ck_assert_msg((uintptr_t)m.BaseAddress == expect, "walk not contiguous at %#lx: got %p",
                      (unsigned long)expect, m.BaseAddress);
        ck_assert_uint_gt(m.RegionSize, 0);
        regions++;
        expect = (uintptr_t)m.BaseAddress + m.RegionSize;
        if (expect <= a)
            ck_abort_msg("walk does not advance at %#lx", (unsigned long)a);
        a = expect;
    }
    ck_assert_int_gt(regions, 3);
}

/* ---- API calls and expectations ------------------------------------------------------ */

char *vw_alloc_ok(int line, void *addr, SIZE_T size, DWORD type, DWORD prot)
{
    SetLastError(VW_KEEP_ERR);
    void *r = VirtualAlloc(addr, size, type, prot);
    DWORD e = GetLastError();
    ck_assert_msg(r != NULL, "line %d: VirtualAlloc(%p, %#zx, %#x, %#x) failed, last error %u",
                  line, addr, (size_t)size, (unsigned)type, (unsigned)prot, (unsigned)e);
    ck_assert_msg(e == VW_KEEP_ERR,
                  "line %d: VirtualAlloc(%p, %#zx, %#x, %#x) succeeded but changed the last "
                  "error from 1234 to %u", line, addr, (size_t)size, (unsigned)type,
                  (unsigned)prot, (unsigned)e);
    return r;
}

void vw_free_ok(int line, void *addr, SIZE_T size, DWORD type)
{
    SetLastError(VW_KEEP_ERR);
    BOOL r = VirtualFree(addr, size, type);
    DWORD e = GetLastError();
    ck_assert_msg(r, "line %d: VirtualFree(%p, %#zx, %#x) failed, last error %u", line, addr,
                  (size_t)size, (unsigned)type, (unsigned)e);
    ck_assert_msg(e == VW_KEEP_ERR,
                  "line %d: VirtualFree(%p, %#zx, %#x) succeeded but changed the last error from "
                  "1234 to %u", line, addr, (size_t)size, (unsigned)type, (unsigned)e);
}

char *vw_alloc_commit(size_t size, DWORD prot)
{
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, prot);
    ck_assert_msg(p != NULL, "VirtualAlloc(NULL, %zu, commit, %#x) failed, error %u", size,
                  (unsigned)prot, (unsigned)GetLastError());
    return p;
}

char *vw_alloc_reserve(size_t size, DWORD prot)
{
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE, prot);
    ck_assert_msg(p != NULL, "VirtualAlloc(NULL, %zu, reserve, %#x) failed, error %u", size,
                  (unsigned)prot, (unsigned)GetLastError());
    return p;
}

void vw_commit_at(char *p, size_t size, DWORD prot)
{
    char *r = VirtualAlloc(p, size, MEM_COMMIT, prot);
    ck_assert_msg(r == p, "commit at %p size %zu prot %#x returned %p, error %u", (void *)p,
                  size, (unsigned)prot, (void *)r, (unsigned)GetLastError());
}

void vw_release(void *p)
{
    ck_assert_msg(VirtualFree(p, 0, MEM_RELEASE), "VirtualFree(%p) failed: %u", p,
                  (unsigned)GetLastError());
}

char *vw_free_space(size_t size)
{
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_msg(p != NULL, "VirtualAlloc(NULL, %#zx, MEM_RESERVE) failed: %u", size,
                  (unsigned)GetLastError());
    ck_assert_msg(VirtualFree(p, 0, MEM_RELEASE), "VirtualFree(%p) failed: %u", p,
                  (unsigned)GetLastError());
    return p;
}

void vw_check_mbi(int line, const void *addr, uintptr_t base, uintptr_t abase, DWORD aprot,
                  SIZE_T size, DWORD state, DWORD prot, DWORD type)
{
    MEMORY_BASIC_INFORMATION m = vw_query(addr);
    int ok = (uintptr_t)m.BaseAddress == base && (uintptr_t)m.AllocationBase == abase &&
             m.AllocationProtect == aprot && (size == VW_ANY_SIZE || m.RegionSize == size) &&
             m.State == state && m.Protect == prot && m.Type == type;
    ck_assert_msg(ok,
                  "line %d: VirtualQuery(%p) gave Base %p AllocBase %p AllocProt %#x Size %#zx "
                  "State %#x Prot %#x Type %#x; expected Base %#lx AllocBase %#lx AllocProt %#x "
                  "Size %#zx State %#x Prot %#x Type %#x",
                  line, addr, m.BaseAddress, m.AllocationBase, (unsigned)m.AllocationProtect,
                  (size_t)m.RegionSize, (unsigned)m.State, (unsigned)m.Protect, (unsigned)m.Type,
                  (unsigned long)base, (unsigned long)abase, (unsigned)aprot, (size_t)size,
                  (unsigned)state, (unsigned)prot, (unsigned)type);
}

void vw_check_free_mbi(int line, const void *addr, SIZE_T minsize)
{
    MEMORY_BASIC_INFORMATION m = vw_query(addr);
    int ok = (uintptr_t)m.BaseAddress == ((uintptr_t)addr & ~(uintptr_t)(VW_PAGE - 1)) &&
             m.AllocationBase == NULL && m.AllocationProtect == 0 && m.RegionSize >= minsize &&
             m.State == MEM_FREE && m.Protect == PAGE_NOACCESS && m.Type == 0;
    ck_assert_msg(ok,
                  "line %d: VirtualQuery(%p) gave Base %p AllocBase %p AllocProt %#x Size %#zx "
                  "State %#x Prot %#x Type %#x; expected free memory of at least %#zx bytes",
                  line, addr, m.BaseAddress, m.AllocationBase, (unsigned)m.AllocationProtect,
                  (size_t)m.RegionSize, (unsigned)m.State, (unsigned)m.Protect, (unsigned)m.Type,
                  (size_t)minsize);
}

void vw_check_no_access(int line, void *p)
{
    ck_assert_msg(!vw_can_read(p), "line %d: reading %p does not fault", line, p);
    ck_assert_msg(!vw_can_write(p), "line %d: writing %p does not fault", line, p);
}

void vw_check_kernel_rw(int line, uintptr_t start, size_t len)
{
    struct vw_kmap k;
    ck_assert_msg(vw_kernel_mapping(start, &k), "line %d: %#lx no longer mapped", line,
                  (unsigned long)start);
    ck_assert_msg(k.start <= start && k.end >= start + len && strncmp(k.perms, "rw", 2) == 0,
                  "line %d: foreign mapping %#lx+%#zx became %#lx-%#lx %s", line,
                  (unsigned long)start, len, (unsigned long)k.start, (unsigned long)k.end,
                  k.perms);
}

void vw_assert_region(int line, const void *at, const void *base, size_t size, DWORD state,
                      DWORD protect, DWORD type)
{
    MEMORY_BASIC_INFORMATION m = vw_query(at);
    ck_assert_msg(m.BaseAddress == at && m.AllocationBase == base && m.RegionSize == size &&
                      m.State == state && m.Protect == protect &&
                      (type == VW_ANY_TYPE || m.Type == type),
                  "line %d: VirtualQuery(%p) gave Base %p AllocBase %p Size %#zx State %#x "
                  "Prot %#x Type %#x; expected AllocBase %p Size %#zx State %#x Prot %#x Type %#x",
                  line, at, m.BaseAddress, m.AllocationBase, (size_t)m.RegionSize,
                  (unsigned)m.State, (unsigned)m.Protect, (unsigned)m.Type, base, size,
                  (unsigned)state, (unsigned)protect, (unsigned)type);
}

/* ---- contents ------------------------------------------------------------------------ */

unsigned char vw_pattern_byte(size_t i, unsigned seed)
{
    return (unsigned char)(((i * 131u + seed * 17u + (i >> 12) * 7u) % 251u) + 1u);
}

void vw_fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        c[i] = vw_pattern_byte(i, seed);
}

int vw_has_pattern_at(const void *base, size_t off, size_t n, unsigned seed)
{
    const unsigned char *c = (const unsigned char *)base + off;
    for (size_t i = 0; i < n; i++)
        if (c[i] != vw_pattern_byte(off + i, seed))
            return 0;
    return 1;
}

int vw_has_pattern(const void *p, size_t n, unsigned seed)
{
    return vw_has_pattern_at(p, 0, n, seed);
}

int vw_is_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i])
            return 0;
    return 1;
}

int vw_scratch_file(size_t pages, char first, int step)
{
    char path[] = "/tmp/vw-test-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    char *buf = malloc(VW_PAGE);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < pages; i++) {
        memset(buf, first + (int)i * step, VW_PAGE);
        ck_assert_int_eq(write(fd, buf, VW_PAGE), (ssize_t)VW_PAGE);
    }
    free(buf);
    return fd;
}

/* ---- /proc fields and capabilities --------------------------------------------------- */

long long vw_proc_number(const char *path, const char *key)
{
    char buf[16384];
    if (vw_read_file(path, buf, sizeof buf) < 0)
        return -1;
    size_t kl = strlen(key);
    for (char *line = buf; *line;) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            return strtoll(line + kl + 1, NULL, 10);
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return -1;
}

long long vw_status_kb(const char *key)
{
    long long kb = vw_proc_number("/proc/self/status", key);
    ck_assert_msg(kb >= 0, "no %s line in /proc/self/status", key);
    return kb;
}

long long vw_meminfo(const char *key)
{
    long long v = vw_proc_number("/proc/meminfo", key);
    ck_assert_msg(v >= 0, "no %s in /proc/meminfo", key);
    return v;
}

/* Calls fn(start, end, flags) with the VmFlags line of every /proc/self/smaps entry
 * (flags: the text after "VmFlags:", newline included) until fn returns nonzero. */
static void for_each_smaps_vmflags(int (*fn)(uintptr_t s, uintptr_t e, const char *flags,
                                             void *ctx),
                                   void *ctx)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    uintptr_t s = 0, e = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char c;
        if (sscanf(line, "%lx-%lx %c", &a, &b, &c) == 3 && strchr(line, '-') < strchr(line, ' ')) {
            s = a;
            e = b;
            continue;
        }
        if (strncmp(line, "VmFlags:", 8) == 0 && fn(s, e, line + 8, ctx))
            break;
    }
    fclose(f);
}

struct vmflags_ctx {
    uintptr_t addr;
    char *out;
    size_t outsz;
    int found;
};

static int copy_vmflags(uintptr_t s, uintptr_t e, const char *flags, void *ctx)
{
    struct vmflags_ctx *v = ctx;
    if (v->addr < s || v->addr >= e)
        return 0;
    snprintf(v->out, v->outsz, "%s", flags);
    v->found = 1;
    return 1;
}

int vw_vmflags(uintptr_t addr, char *out, size_t outsz)
{
    struct vmflags_ctx v = { addr, out, outsz, 0 };
    out[0] = 0;
    for_each_smaps_vmflags(copy_vmflags, &v);
    return v.found;
}

int vw_has_vmflag(const char *flags, const char *flag)
{
    size_t fl = strlen(flag);
    for (const char *t = flags; *t;) {
        while (*t == ' ' || *t == '\n')
            t++;
        size_t n = strcspn(t, " \n");
        if (n == fl && strncmp(t, flag, fl) == 0)
            return 1;
        t += n;
    }
    return 0;
}

struct lock_ctx {
    uintptr_t lo, hi;
    size_t locked, unlocked;
};

static int count_locked(uintptr_t s, uintptr_t e, const char *flags, void *ctx)
{
    struct lock_ctx *l = ctx;
    if (e > l->lo && s < l->hi) {
        uintptr_t os = s > l->lo ? s : l->lo, oe = e < l->hi ? e : l->hi;
        if (strstr(flags, " lo"))
            l->locked += oe - os;
        else
            l->unlocked += oe - os;
    }
    return 0;
}

int vw_lock_state(const void *p, size_t size)
{
    struct lock_ctx l = { (uintptr_t)p, (uintptr_t)p + size, 0, 0 };
    for_each_smaps_vmflags(count_locked, &l);
    if (l.locked == size && l.unlocked == 0)
        return 1;
    if (l.locked == 0 && l.unlocked == size)
        return 0;
    return -1;
}

int vw_drop_ipc_lock(void)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) != 0)
        return 0;
    unsigned idx = CAP_IPC_LOCK / 32, bit = 1u << (CAP_IPC_LOCK % 32);
    data[idx].effective &= ~bit;
    data[idx].permitted &= ~bit;
    data[idx].inheritable &= ~bit;
    if (syscall(SYS_capset, &hdr, data) != 0)
        return 0;
    memset(data, 0, sizeof data);
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    if (syscall(SYS_capget, &hdr, data) != 0)
        return 0;
    return !(data[idx].effective & bit);
}

/* ---- threads and fork children --------------------------------------------------------- */

static void *parked_thread_main(void *arg)
{
    struct vw_parked_thread *pk = arg;
    volatile char local[64];
    local[0] = 1;
    pthread_mutex_lock(&pk->mu);
    pk->local = local;
    pk->ready = 1;
    pthread_cond_broadcast(&pk->cv);
    while (!pk->go)
        pthread_cond_wait(&pk->cv, &pk->mu);
    pthread_mutex_unlock(&pk->mu);
    return NULL;
}

void vw_park_thread(struct vw_parked_thread *pk)
{
    pthread_mutex_init(&pk->mu, NULL);
    pthread_cond_init(&pk->cv, NULL);
    pk->ready = pk->go = 0;
    pk->local = NULL;
    ck_assert_int_eq(pthread_create(&pk->th, NULL, parked_thread_main, pk), 0);
    pthread_mutex_lock(&pk->mu);
    while (!pk->ready)
        pthread_cond_wait(&pk->cv, &pk->mu);
    pthread_mutex_unlock(&pk->mu);
}

void vw_unpark_thread(struct vw_parked_thread *pk)
{
    pthread_mutex_lock(&pk->mu);
    pk->go = 1;
    pthread_cond_broadcast(&pk->cv);
    pthread_mutex_unlock(&pk->mu);
    pthread_join(pk->th, NULL);
    pthread_cond_destroy(&pk->cv);
    pthread_mutex_destroy(&pk->mu);
}

long long vw_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

long long vw_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int vw_failf(char *buf, size_t len, int line, const char *cond, const char *fmt, ...)
{
    if (buf[0])
        return -1;
    int n = snprintf(buf, len, "line %d: (%s) ", line, cond);
    if (n < 0 || (size_t)n >= len)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

void vw_child_exit(int fd, int r, char *err, size_t errlen)
{
    if (r != 0 && !err[0])
        snprintf(err, errlen, "failed without a message");
    if (r != 0) {
        ssize_t w = write(fd, err, strlen(err));
        (void)w;
    }
    _exit(r != 0 ? 1 : 0);
}

int vw_wait_child(pid_t pid, int fd, int timeout_s, int *status, char *msg, size_t msglen)
{
    size_t len = 0;
    int done = 0, eof = 0;
    *status = 0;
    long long deadline = vw_monotonic_ms() + timeout_s * 1000LL;
    while (vw_monotonic_ms() < deadline) {
        if (!eof) {
            struct pollfd pfd = { fd, POLLIN, 0 };
            if (poll(&pfd, 1, 20) > 0) {
                ssize_t r = len < msglen - 1 ? read(fd, msg + len, msglen - 1 - len) : 0;
                if (r > 0)
                    len += (size_t)r;
                else
                    eof = 1;
            }
        } else {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        if (waitpid(pid, status, WNOHANG) == pid) {
            done = 1;
            break;
        }
    }
    /* Drain what is left of the message. */
    for (;;) {
        if (len >= msglen - 1)
            break;
        ssize_t r = read(fd, msg + len, msglen - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    msg[len] = 0;
    close(fd);
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, status, 0);
    }
    return done;
}

ssize_t vw_read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    buf[n] = 0;
    return (ssize_t)n;
}

int vw_read_maps_entries(struct vw_maps_entry *out, int max, char *buf, size_t cap)
{
    if (vw_read_file("/proc/self/maps", buf, cap) < 0)
        return -1;
    int n = 0;
    for (char *line = buf; *line && n < max;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        unsigned long s, e, off;
        char perms[8], dev[16];
        unsigned long long ino;
        if (sscanf(line, "%lx-%lx %7s %lx %15s %llu", &s, &e, perms, &off, dev, &ino) == 6) {
            out[n].start = s;
            out[n].end = e;
            memcpy(out[n].perms, perms, 4);
            out[n].perms[4] = 0;
            out[n].inode = ino;
            out[n].is_stack = strstr(line, "[stack]") != NULL;
            n++;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return n;
}
