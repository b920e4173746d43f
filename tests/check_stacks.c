/*
 * check_stacks.c: how memory the library did not allocate is typed (issue items
 * 1 and 2, spec section 7): thread stacks, images, the vDSO, file mappings, and
 * a page-for-page walk of the whole address space against /proc/self/maps
 * (State, Protect, Type and AllocationBase), with images, file mappings, heap,
 * live thread stacks and the library's own allocations present.
 *
 * Stacks: VirtualQuery on any stack address reports AllocationBase at the lowest
 * address of that stack's reservation.  For a pthread that is the start of its
 * guard area: glibc maps each stack as one block with the guard at the bottom,
 * and pthread_getattr_np reports stackaddr just above it, so AllocationBase ==
 * stackaddr - guardsize.  For the main thread glibc computes the stack as
 * [end - RLIMIT_STACK, end) where end is the top of the [stack] mapping, clipped
 * at the end of the mapping below; the library must report the same reservation
 * (the not yet grown part is MEM_RESERVE, as Windows shows a stack's reserve).
 * Committed stack pages are PAGE_READWRITE; guard areas are MEM_RESERVE.
 *
 * Run a second time with VIRTUALWIN_PROCMAPS=text by tests/check_textmaps.sh.
 * Every test names the rule it checks.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG VW_PAGE
#define MAIN_STACK_CHILD "--main-stack-child"

static uintptr_t page_floor(uintptr_t a)
{
    return a & ~(uintptr_t)(PG - 1);
}

static uintptr_t page_ceil(uintptr_t a)
{
    return (a + PG - 1) & ~(uintptr_t)(PG - 1);
}

static void *object_base(const void *addr)
{
    Dl_info di;
    ck_assert_msg(dladdr(addr, &di) != 0, "dladdr(%p) failed", addr);
    return di.dli_fbase;
}

static void *code_of(void (*fn)(void))
{
    void *p;
    memcpy(&p, &fn, sizeof p);
    return p;
}

static void marker(void)
{
}

/* ---- the main thread's stack ------------------------------------------------- */

/* glibc's view of the calling thread's stack: [lo, lo + size), guard size. */
static void glibc_stack(uintptr_t *lo, size_t *size, size_t *guard)
{
    pthread_attr_t at;
    void *addr = NULL;
    *size = *guard = 0;
    if (pthread_getattr_np(pthread_self(), &at) == 0) {
        pthread_attr_getstack(&at, &addr, size);
        pthread_attr_getguardsize(&at, guard);
        pthread_attr_destroy(&at);
    }
    *lo = (uintptr_t)addr;
}

/* From /proc/self/maps (no Check calls: also used outside a test): the mapping
 * covering addr (*start, *end, its name in path) and the end of the last mapping below
 * it (*below).  Returns 1 if addr is mapped. */
static int mapping_around(uintptr_t addr, uintptr_t *start, uintptr_t *end, uintptr_t *below,
                          char *path, size_t pathlen)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return 0;
    char line[512];
    int found = 0;
    *below = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        int pos = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &s, &e, &pos) < 2)
            continue;
        if (s <= addr && addr < e) {
            *start = s;
            *end = e;
            snprintf(path, pathlen, "%s", pos > 0 ? line + pos : "");
            path[strcspn(path, "\n")] = 0;
            found = 1;
        } else if (e <= addr) {
            *below = e;
        }
    }
    fclose(f);
    return found;
}

/* Checks the main thread's stack reservation; returns NULL or a description of the
 * first mismatch (in buf).  Used by the test and by the re-executed child. */
static const char *main_stack_mismatch(char *buf, size_t n)
{
    volatile char local[64];
    local[0] = 1;
    uintptr_t lo;
    size_t size, guard;
    glibc_stack(&lo, &size, &guard);
    struct {
        uintptr_t start, end;
    } k;
    uintptr_t below;
    char path[256];
    if (!mapping_around((uintptr_t)local, &k.start, &k.end, &below, path, sizeof path) ||
        strcmp(path, "[stack]") != 0) {
        snprintf(buf, n, "local %p is not in [stack]", (void *)local);
        return buf;
    }
    /* glibc's computation, done again: top - RLIMIT_STACK, clipped. */
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    uintptr_t want = below;
    if (rl.rlim_cur != RLIM_INFINITY && (rl.rlim_cur & ~(rlim_t)(PG - 1)) < k.end - below)
        want = k.end - (rl.rlim_cur & ~(rlim_t)(PG - 1));
    if (want > k.start)
        want = k.start;   /* grown past the limit: the mapping itself */
    if (lo != want) {
        snprintf(buf, n, "pthread_getattr_np says the stack starts at %#lx, expected %#lx "
                 "(top %#lx, limit %#lx, mapping below ends %#lx)", (unsigned long)lo,
                 (unsigned long)want, (unsigned long)k.end, (unsigned long)rl.rlim_cur,
                 (unsigned long)below);
        return buf;
    }
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery((const void *)local, &m, sizeof m) != sizeof m) {
        snprintf(buf, n, "VirtualQuery failed");
        return buf;
    }
    if ((uintptr_t)m.AllocationBase != lo || m.State != MEM_COMMIT ||
        m.Protect != PAGE_READWRITE || m.Type != MEM_PRIVATE ||
        m.AllocationProtect != PAGE_READWRITE) {
        snprintf(buf, n, "stack page %p: AllocationBase %p (glibc: stack starts at %#lx), "
                 "State %#x Protect %#x Type %#x AllocationProtect %#x", (void *)local,
                 m.AllocationBase, (unsigned long)lo, (unsigned)m.State, (unsigned)m.Protect,
                 (unsigned)m.Type, (unsigned)m.AllocationProtect);
        return buf;
    }
    /* The committed part: the [stack] mapping, one region from its start. */
    if (VirtualQuery((void *)k.start, &m, sizeof m) != sizeof m ||
        (uintptr_t)m.BaseAddress + m.RegionSize != k.end || m.State != MEM_COMMIT ||
        m.Protect != PAGE_READWRITE || (uintptr_t)m.AllocationBase != lo) {
        snprintf(buf, n, "[stack] %#lx-%#lx: region %p+%#zx State %#x Protect %#x "
                 "AllocationBase %p, expected one committed read-write region based at %#lx",
                 (unsigned long)k.start, (unsigned long)k.end, m.BaseAddress,
                 (size_t)m.RegionSize, (unsigned)m.State, (unsigned)m.Protect,
                 m.AllocationBase, (unsigned long)lo);
        return buf;
    }
    /* The not yet grown part: reserved, Protect 0, the same reservation, up to [stack]. */
    if (lo < k.start) {
        if (VirtualQuery((void *)lo, &m, sizeof m) != sizeof m || (uintptr_t)m.BaseAddress != lo ||
            (uintptr_t)m.BaseAddress + m.RegionSize != k.start || m.State != MEM_RESERVE ||
            m.Protect != 0 || (uintptr_t)m.AllocationBase != lo || m.Type != MEM_PRIVATE) {
            snprintf(buf, n, "stack reserve %#lx-%#lx: region %p+%#zx State %#x Protect %#x "
                     "AllocationBase %p Type %#x", (unsigned long)lo, (unsigned long)k.start,
                     m.BaseAddress, (size_t)m.RegionSize, (unsigned)m.State,
                     (unsigned)m.Protect, m.AllocationBase, (unsigned)m.Type);
            return buf;
        }
    }
    /* Below the reservation: not part of it. */
    if (lo > 0x10000 && VirtualQuery((void *)(lo - 1), &m, sizeof m) == sizeof m &&
        (uintptr_t)m.AllocationBase == lo) {
        snprintf(buf, n, "page below the stack reservation %#lx also has AllocationBase %p",
                 (unsigned long)lo, m.AllocationBase);
        return buf;
    }
    return NULL;
}

/* Item 2: the main thread's stack: AllocationBase (for any stack address: the committed
 * [stack] mapping and the not yet grown reserve below it) equals glibc's lowest stack
 * address from pthread_getattr_np(pthread_self()) -- top of [stack] less
 * RLIMIT_STACK, clipped at the previous mapping; committed pages PAGE_READWRITE, the
 * reserve MEM_RESERVE / Protect 0. */
START_TEST(test_main_stack)
{
    char buf[512];
    const char *why = main_stack_mismatch(buf, sizeof buf);
    ck_assert_msg(why == NULL, "%s", why);
}
END_TEST

/* Item 2: the same rule seen from another thread: querying the main thread's stack from
 * a pthread gives the same answer. */
struct remote_query {
    const void *addr;
    MEMORY_BASIC_INFORMATION m;
    SIZE_T r;
};

static void *query_thread(void *arg)
{
    struct remote_query *q = arg;
    q->r = VirtualQuery(q->addr, &q->m, sizeof q->m);
    return NULL;
}

START_TEST(test_main_stack_from_other_thread)
{
    volatile char local[16];
    local[0] = 1;
    struct remote_query q;
    memset(&q, 0, sizeof q);
    q.addr = (const void *)local;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, query_thread, &q), 0);
    pthread_join(th, NULL);
    ck_assert_uint_eq(q.r, sizeof q.m);
    MEMORY_BASIC_INFORMATION m = vw_query((const void *)local);
    ck_assert_ptr_eq(q.m.AllocationBase, m.AllocationBase);
    ck_assert_ptr_eq(q.m.BaseAddress, m.BaseAddress);
    ck_assert_uint_eq(q.m.State, MEM_COMMIT);
    ck_assert_uint_eq(q.m.Protect, PAGE_READWRITE);
    uintptr_t lo;
    size_t size, guard;
    glibc_stack(&lo, &size, &guard);
    ck_assert_uint_eq((uintptr_t)q.m.AllocationBase, lo);
}
END_TEST

/* Not the unaligned limit under ASan: its runtime's thread start asserts on a
 * stack size that is not a multiple of its shadow granularity. */
static const rlim_t stack_limits[] = {
    (rlim_t)1 << 20,
#ifndef __SANITIZE_ADDRESS__
    ((rlim_t)1 << 20) + 100,
#endif
    (rlim_t)3 << 20, (rlim_t)256 << 20, RLIM_INFINITY,
};

/* Item 2: the main thread's reservation follows RLIMIT_STACK as glibc's does: the
 * program is run again under other limits (1 MiB, 1 MiB + 100 bytes, 3 MiB, 256 MiB,
 * unlimited) and compares VirtualQuery with pthread_getattr_np there. */
START_TEST(test_main_stack_other_limits)
{
    rlim_t lim = stack_limits[_i];
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_STACK, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && (lim == RLIM_INFINITY || lim > rl.rlim_max))
        return;   /* the hard limit forbids it */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit nl = { lim, rl.rlim_max };
        if (setrlimit(RLIMIT_STACK, &nl) != 0)
            _exit(3);
        char *argv[] = { (char *)"check_stacks", (char *)MAIN_STACK_CHILD, NULL };
        execv("/proc/self/exe", argv);
        _exit(4);
    }
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "under RLIMIT_STACK %#lx the child reported a mismatch (status %#x)",
                  (unsigned long)lim, st);
}
END_TEST

/* ---- pthread stacks ----------------------------------------------------------------- */

struct stack_conf {
    size_t stacksize;   /* 0: default */
    long guard;         /* -1: default */
};

static const struct stack_conf stack_confs[] = {
    { 0, -1 },
    { 256 * 1024, -1 },
    { 256 * 1024, 0 },
    { 4 << 20, -1 },
    { 4 << 20, 0 },
    { 4 << 20, 64 * 1024 },
    { 1 << 20, 3 * 4096 },
    { 64 * 1024, -1 },
};

struct thread_view {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, go;
    uintptr_t lo;            /* glibc: lowest usable stack address */
    size_t size, guard;      /* glibc: stack size and reported guard size */
    volatile char *local;
    MEMORY_BASIC_INFORMATION self_local, self_lo; /* queried by the thread itself */
    SIZE_T r1, r2;
};

static void *stack_thread(void *arg)
{
    struct thread_view *t = arg;
    volatile char local[128];
    local[0] = 1;
    glibc_stack(&t->lo, &t->size, &t->guard);
    t->r1 = VirtualQuery((const void *)local, &t->self_local, sizeof t->self_local);
    t->r2 = VirtualQuery((const void *)t->lo, &t->self_lo, sizeof t->self_lo);
    pthread_mutex_lock(&t->mu);
    t->local = local;
    t->ready = 1;
    pthread_cond_broadcast(&t->cv);
    while (!t->go)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void start_thread(pthread_t *th, struct thread_view *t, const struct stack_conf *c)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    pthread_attr_t at;
    pthread_attr_init(&at);
    if (c->stacksize)
        ck_assert_int_eq(pthread_attr_setstacksize(&at, c->stacksize), 0);
    if (c->guard >= 0)
        ck_assert_int_eq(pthread_attr_setguardsize(&at, (size_t)c->guard), 0);
    ck_assert_int_eq(pthread_create(th, &at, stack_thread, t), 0);
    pthread_attr_destroy(&at);
    pthread_mutex_lock(&t->mu);
    while (!t->ready)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
}

static void stop_thread(pthread_t th, struct thread_view *t)
{
    pthread_mutex_lock(&t->mu);
    t->go = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(th, NULL);
}

/* Checks a live thread's stack: every page of [lo, lo+size) committed read-write
 * private memory with AllocationBase lo - guard (the guard rounded to pages), the guard
 * area MEM_RESERVE / Protect 0 in the same reservation, neighbours not in it. */
static void check_thread_stack(const struct thread_view *t, const char *what)
{
    uintptr_t guard = page_ceil(t->guard);
    uintptr_t base = t->lo - guard;
    ck_assert_msg(t->r1 == sizeof t->self_local && t->r2 == sizeof t->self_lo,
                  "%s: the thread's own queries failed", what);
    ck_assert_msg((uintptr_t)t->self_local.AllocationBase == base,
                  "%s: stack [%#lx, %#lx) guard %#lx: AllocationBase %p, expected %#lx "
                  "(stackaddr - guardsize)",
                  what, (unsigned long)t->lo, (unsigned long)(t->lo + t->size),
                  (unsigned long)guard, t->self_local.AllocationBase, (unsigned long)base);
    ck_assert_uint_eq(t->self_local.State, MEM_COMMIT);
    ck_assert_uint_eq(t->self_local.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(t->self_local.Type, MEM_PRIVATE);
    ck_assert_ptr_eq(t->self_lo.AllocationBase, (void *)base);
    ck_assert_uint_eq(t->self_lo.State, MEM_COMMIT);

    /* The same answers from here, and for every page of the stack. */
    MEMORY_BASIC_INFORMATION m = vw_query((const void *)t->local);
    ck_assert_msg(m.BaseAddress == t->self_local.BaseAddress &&
                      m.AllocationBase == t->self_local.AllocationBase &&
                      m.State == t->self_local.State && m.Protect == t->self_local.Protect &&
                      m.Type == t->self_local.Type,
                  "%s: from the thread: base %p size %#zx abase %p; from here: base %p size "
                  "%#zx abase %p",
                  what, t->self_local.BaseAddress, (size_t)t->self_local.RegionSize,
                  t->self_local.AllocationBase, m.BaseAddress, (size_t)m.RegionSize,
                  m.AllocationBase);
    uintptr_t a = t->lo, end = t->lo + t->size;
    while (a < end) {
        m = vw_query((void *)a);
        ck_assert_msg(m.State == MEM_COMMIT && m.Protect == PAGE_READWRITE &&
                          m.Type == MEM_PRIVATE && (uintptr_t)m.AllocationBase == base &&
                          m.AllocationProtect == PAGE_READWRITE,
                      "%s: stack page %#lx: State %#x Protect %#x Type %#x AllocationBase %p "
                      "AllocationProtect %#x",
                      what, (unsigned long)a, (unsigned)m.State, (unsigned)m.Protect,
                      (unsigned)m.Type, m.AllocationBase, (unsigned)m.AllocationProtect);
        a = (uintptr_t)m.BaseAddress + m.RegionSize;
    }
    ck_assert(vw_can_write((void *)t->lo));
    ck_assert(vw_can_write((void *)(end - 1)));

    if (guard) {
        m = vw_query((void *)base);
        ck_assert_msg(m.State == MEM_RESERVE && m.Protect == 0 && m.Type == MEM_PRIVATE &&
                          (uintptr_t)m.AllocationBase == base && m.RegionSize == guard,
                      "%s: guard %#lx+%#lx: State %#x Protect %#x Type %#x AllocationBase %p "
                      "RegionSize %#zx",
                      what, (unsigned long)base, (unsigned long)guard, (unsigned)m.State,
                      (unsigned)m.Protect, (unsigned)m.Type, m.AllocationBase,
                      (size_t)m.RegionSize);
        ck_assert(!vw_can_read((void *)base));
    }
    /* The reservation ends where the block ends. */
    m = vw_query((void *)(base - 1));
    ck_assert_msg(m.State == MEM_FREE || (uintptr_t)m.AllocationBase != base,
                  "%s: the page below the stack block shares its AllocationBase", what);
    m = vw_query((void *)end);
    ck_assert_msg(m.State == MEM_FREE || (uintptr_t)m.AllocationBase != base,
                  "%s: the page above the stack block shares its AllocationBase", what);
    vw_assert_range_agrees((void *)base, end - base);
}

/* Item 2: a pthread's stack (default size, 256 KiB, 4 MiB, 1 MiB, 64 KiB; default, no,
 * 12 KiB and 64 KiB guard): AllocationBase == stackaddr - guardsize for any stack
 * address, every stack page MEM_COMMIT PAGE_READWRITE, the guard MEM_RESERVE with
 * Protect 0 in the same reservation; asked from the thread itself and from another. */
START_TEST(test_thread_stack)
{
    const struct stack_conf *c = &stack_confs[_i];
    struct thread_view t;
    pthread_t th;
    start_thread(&th, &t, c);
    char what[96];
    snprintf(what, sizeof what, "stack size %#zx guard %ld", c->stacksize, c->guard);
    if (c->stacksize)
        ck_assert_uint_ge(t.size, c->stacksize - page_ceil(t.guard));
    if (c->guard >= 0)
        ck_assert_uint_eq(t.guard, (size_t)c->guard);
    check_thread_stack(&t, what);
    stop_thread(th, &t);
}
END_TEST

/* Item 2: several live threads at once (different sizes and guards): each stack is its
 * own reservation, never merged with its neighbours.  Only stacks with a guard: two
 * guardless stacks that the kernel happens to place next to each other merge into one
 * mapping, which the kernel's view cannot split (a documented limitation; a single
 * guardless stack is checked in test_thread_stack). */
START_TEST(test_thread_stacks_together)
{
    enum { N = 5 };
    static const int with_guard[N] = { 1, 3, 5, 6, 7 };
    struct thread_view t[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++)
        start_thread(&th[i], &t[i], &stack_confs[with_guard[i]]);
    for (int i = 0; i < N; i++) {
        char what[64];
        snprintf(what, sizeof what, "thread %d", i);
        check_thread_stack(&t[i], what);
        for (int j = 0; j < N; j++)
            if (j != i)
                ck_assert_ptr_ne(vw_query((const void *)t[i].local).AllocationBase,
                                 vw_query((const void *)t[j].local).AllocationBase);
    }
    for (int i = 0; i < N; i++)
        stop_thread(th[i], &t[i]);
}
END_TEST

/* ---- images ---------------------------------------------------------------------- */

static int a_data_var = 1;
static const char a_rodata[] = "read-only data of check_stacks";
static char a_big_bss[512 * 1024];

/* Item 1: the executable is MEM_IMAGE: its code, read-only data and data have
 * AllocationBase == dladdr's dli_fbase == GetModuleHandle(NULL), AllocationProtect
 * PAGE_EXECUTE_WRITECOPY; code PAGE_EXECUTE_READ, read-only data PAGE_READONLY, private
 * writable data PAGE_WRITECOPY. */
START_TEST(test_image_executable)
{
    void *code = code_of(marker);
    void *base = object_base(code);
    ck_assert_ptr_eq(GetModuleHandleA(NULL), base);
    MEMORY_BASIC_INFORMATION m = vw_query(code);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READ);
    ck_assert_ptr_eq(m.AllocationBase, base);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);

    m = vw_query(base);
    ck_assert_ptr_eq(m.BaseAddress, base);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_ptr_eq(m.AllocationBase, base);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);

    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)a_rodata, &k));
    if (strncmp(k.perms, "r--", 3) == 0) {
        m = vw_query(a_rodata);
        ck_assert_uint_eq(m.Type, MEM_IMAGE);
        ck_assert_uint_eq(m.Protect, PAGE_READONLY);
        ck_assert_ptr_eq(m.AllocationBase, base);
    }
    a_data_var++;
    ck_assert(vw_kernel_mapping((uintptr_t)&a_data_var, &k));
    ck_assert_uint_ne(k.inode, 0);
    ck_assert_int_eq(strncmp(k.perms, "rw-p", 4), 0);
    m = vw_query(&a_data_var);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_msg(m.Protect == PAGE_WRITECOPY, "data Protect %#x", (unsigned)m.Protect);
    ck_assert_ptr_eq(m.AllocationBase, base);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);
}
END_TEST

/* Item 1: libc is MEM_IMAGE with AllocationBase == dladdr(printf)'s dli_fbase (its
 * lowest mapped address), AllocationProtect PAGE_EXECUTE_WRITECOPY, code
 * PAGE_EXECUTE_READ; the region of printf's page stays inside libc's code mapping. */
START_TEST(test_image_libc)
{
    void *fn = dlsym(RTLD_DEFAULT, "printf");
    ck_assert_ptr_nonnull(fn);
    void *base = object_base(fn);
    MEMORY_BASIC_INFORMATION m = vw_query(fn);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READ);
    ck_assert_ptr_eq(m.AllocationBase, base);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)fn, &k));
    ck_assert_uint_le((uintptr_t)m.BaseAddress + m.RegionSize, k.end);
    ck_assert_ptr_eq(m.BaseAddress, (void *)page_floor((uintptr_t)fn));
    m = vw_query(base);
    ck_assert_ptr_eq(m.AllocationBase, base);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_int_eq(memcmp(base, "\177ELF", 4), 0);
}
END_TEST

/* Item 1: the vDSO is MEM_IMAGE with AllocationBase == getauxval(AT_SYSINFO_EHDR) (also
 * dladdr's base for it), PAGE_EXECUTE_READ, AllocationProtect PAGE_EXECUTE_WRITECOPY,
 * the region within the [vdso] mapping. */
START_TEST(test_image_vdso)
{
    uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    if (!vdso)
        return;   /* no vDSO on this system */
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping(vdso, &k));
    ck_assert_uint_eq(k.start, vdso);
    Dl_info di;
    if (dladdr((void *)(vdso + 0x10), &di) && di.dli_fbase)
        ck_assert_ptr_eq(di.dli_fbase, (void *)vdso);
    for (uintptr_t a = k.start; a < k.end; a += PG) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        ck_assert_msg(m.Type == MEM_IMAGE && (uintptr_t)m.AllocationBase == vdso &&
                          m.AllocationProtect == PAGE_EXECUTE_WRITECOPY &&
                          m.State == MEM_COMMIT && m.Protect == PAGE_EXECUTE_READ,
                      "vDSO page %#lx: Type %#x AllocationBase %p AllocationProtect %#x State "
                      "%#x Protect %#x",
                      (unsigned long)a, (unsigned)m.Type, m.AllocationBase,
                      (unsigned)m.AllocationProtect, (unsigned)m.State, (unsigned)m.Protect);
        ck_assert_uint_le((uintptr_t)m.BaseAddress + m.RegionSize, k.end);
    }
}
END_TEST

/* The loaded objects, from the dynamic loader. */
struct object {
    uintptr_t base, end;   /* lowest mapped page, end of the highest segment */
    uintptr_t seg_lo[16], seg_file_end[16], seg_mem_end[16];
    int nseg;
    char name[128];
};
#define MAX_OBJECTS 64
static struct object objects[MAX_OBJECTS];
static int nobjects;

static int collect_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (nobjects == MAX_OBJECTS)
        return 0;
    struct object *o = &objects[nobjects];
    memset(o, 0, sizeof *o);
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (s < lo)
            lo = s;
        if (s + ph->p_memsz > hi)
            hi = s + ph->p_memsz;
        if (o->nseg < 16) {
            o->seg_lo[o->nseg] = page_floor(s);
            o->seg_file_end[o->nseg] = page_ceil(s + ph->p_filesz);
            o->seg_mem_end[o->nseg] = page_ceil(s + ph->p_memsz);
            o->nseg++;
        }
    }
    if (lo == UINTPTR_MAX)
        return 0;
    o->base = page_floor(lo);
    o->end = page_ceil(hi);
    snprintf(o->name, sizeof o->name, "%s", info->dlpi_name[0] ? info->dlpi_name : "(main)");
    nobjects++;
    return 0;
}

static void load_objects(void)
{
    nobjects = 0;
    dl_iterate_phdr(collect_object, NULL);
    ck_assert_int_ge(nobjects, 3);
}

/* The object whose [base, end) holds addr, or NULL. */
static const struct object *object_at(uintptr_t addr)
{
    for (int i = 0; i < nobjects; i++)
        if (addr >= objects[i].base && addr < objects[i].end)
            return &objects[i];
    return NULL;
}

/* What Windows reports for a committed foreign page with these kernel permissions. */
static DWORD foreign_protect(const char *perms, int file_backed)
{
    int r = perms[0] == 'r', w = perms[1] == 'w', x = perms[2] == 'x';
    int cow = file_backed && perms[3] == 'p';
    if (!r && !w && !x)
        return 0;
    if (x)
        return w ? (cow ? PAGE_EXECUTE_WRITECOPY : PAGE_EXECUTE_READWRITE)
                 : (r ? PAGE_EXECUTE_READ : PAGE_EXECUTE);
    if (w)
        return cow ? PAGE_WRITECOPY : PAGE_READWRITE;
    return PAGE_READONLY;
}

/* Item 1: every file-backed page of every loaded ELF object (the executable, this
 * library, libcheck, libc, the loader, ...) is MEM_IMAGE with AllocationBase at the
 * object's lowest mapped address (dladdr agrees), AllocationProtect
 * PAGE_EXECUTE_WRITECOPY, and State/Protect as Windows reports image pages for the
 * kernel's permissions (rw-p: PAGE_WRITECOPY); regions never leave their mapping. */
START_TEST(test_image_all_objects)
{
    load_objects();
    for (int i = 0; i < nobjects; i++) {
        const struct object *o = &objects[i];
        struct vw_kmap k;
        if (!vw_kernel_mapping(o->base, &k) || k.inode == 0)
            continue;   /* the vDSO: test_image_vdso */
        unsigned long long inode = k.inode;
        Dl_info di;
        if (dladdr((void *)(o->base + 0x40), &di) && di.dli_fbase)
            ck_assert_msg((uintptr_t)di.dli_fbase == o->base, "%s: dladdr base %p, phdr base %#lx",
                          o->name, di.dli_fbase, (unsigned long)o->base);
        for (uintptr_t a = o->base; a < o->end;) {
            if (!vw_kernel_mapping(a, &k)) {
                a += PG;
                continue;
            }
            if (k.inode != inode) {
                a = k.end;   /* an anonymous (bss) page: test_image_bss */
                continue;
            }
            MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
            DWORD want = foreign_protect(k.perms, 1);
            ck_assert_msg(m.Type == MEM_IMAGE && (uintptr_t)m.AllocationBase == o->base &&
                              m.AllocationProtect == PAGE_EXECUTE_WRITECOPY &&
                              m.State == (want ? MEM_COMMIT : MEM_RESERVE) && m.Protect == want,
                          "%s page %#lx (%s): Type %#x AllocationBase %p AllocationProtect %#x "
                          "State %#x Protect %#x; expected MEM_IMAGE based at %#lx, Protect %#x",
                          o->name, (unsigned long)a, k.perms, (unsigned)m.Type,
                          m.AllocationBase, (unsigned)m.AllocationProtect, (unsigned)m.State,
                          (unsigned)m.Protect, (unsigned long)o->base, (unsigned)want);
            uintptr_t next = (uintptr_t)m.BaseAddress + m.RegionSize;
            ck_assert_msg(next <= k.end, "%s: region at %#lx runs past its mapping", o->name,
                          (unsigned long)a);
            a = next;
        }
    }
}
END_TEST

/* Item 1: an object's zero-filled data beyond its file contents (.bss; the kernel shows
 * an anonymous mapping right after the object's data) is part of the image, as Windows
 * reports an image's uninitialised data: MEM_IMAGE, AllocationBase at the object's
 * base, committed and writable.  The executable's 512 KiB array and libc's .bss. */
START_TEST(test_image_bss)
{
    a_big_bss[0] = 1;
    a_big_bss[sizeof a_big_bss - 1] = 1;
    load_objects();
    int checked = 0;
    for (int i = 0; i < nobjects; i++) {
        const struct object *o = &objects[i];
        for (int s = 0; s < o->nseg; s++) {
            for (uintptr_t a = o->seg_file_end[s]; a < o->seg_mem_end[s]; a += PG) {
                struct vw_kmap k;
                if (!vw_kernel_mapping(a, &k) || k.inode != 0)
                    continue;
                MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
                ck_assert_msg(m.Type == MEM_IMAGE && (uintptr_t)m.AllocationBase == o->base &&
                                  m.State == MEM_COMMIT &&
                                  (m.Protect == PAGE_WRITECOPY || m.Protect == PAGE_READWRITE),
                              "%s .bss page %#lx (%s anonymous): Type %#x AllocationBase %p "
                              "State %#x Protect %#x; expected MEM_IMAGE based at %#lx",
                              o->name, (unsigned long)a, k.perms, (unsigned)m.Type,
                              m.AllocationBase, (unsigned)m.State, (unsigned)m.Protect,
                              (unsigned long)o->base);
                checked++;
            }
        }
    }
    ck_assert_int_gt(checked, 0);
    MEMORY_BASIC_INFORMATION m = vw_query(&a_big_bss[sizeof a_big_bss / 2]);
    ck_assert_ptr_eq(m.AllocationBase, object_base(code_of(marker)));
}
END_TEST

/* ---- file mappings ---------------------------------------------------------------- */

#define EXPECT_MAPPED(addr, base, end, prot, aprot) \
    expect_mapped(__LINE__, (addr), (base), (end), (prot), (aprot))
/* A MEM_MAPPED region: AllocationBase base, committed with prot, ending at end. */
static void expect_mapped(int line, const void *addr, const void *base, const void *end,
                          DWORD prot, DWORD aprot)
{
    MEMORY_BASIC_INFORMATION m = vw_query(addr);
    ck_assert_msg(m.Type == MEM_MAPPED && m.AllocationBase == base && m.State == MEM_COMMIT &&
                      m.Protect == prot && (char *)m.BaseAddress + m.RegionSize == end &&
                      m.BaseAddress == (void *)page_floor((uintptr_t)addr) &&
                      m.AllocationProtect == aprot,
                  "line %d: %p: Type %#x AllocationBase %p State %#x Protect %#x AllocationProtect "
                  "%#x region %p+%#zx; expected MEM_MAPPED based at %p, Protect %#x "
                  "AllocationProtect %#x, ending at %p",
                  line, addr, (unsigned)m.Type, m.AllocationBase, (unsigned)m.State,
                  (unsigned)m.Protect, (unsigned)m.AllocationProtect, m.BaseAddress,
                  (size_t)m.RegionSize, base, (unsigned)prot, (unsigned)aprot, end);
}

/* Item 1: file mappings that are not images are MEM_MAPPED with AllocationBase at the
 * mapping's start (also for a mapping at a file offset): shared read-write
 * PAGE_READWRITE, read-only PAGE_READONLY, private writable PAGE_WRITECOPY (and
 * PAGE_EXECUTE_WRITECOPY with PROT_EXEC), AllocationProtect the view's protection. */
START_TEST(test_mapped_files)
{
    int fd = vw_scratch_file(6, 'q', 0);
    char *s = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *ro = mmap(NULL, 3 * PG, PROT_READ, MAP_SHARED, fd, 0);
    char *pro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    char *cow = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    char *off = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(3 * PG));
    ck_assert(s != MAP_FAILED && ro != MAP_FAILED && pro != MAP_FAILED && cow != MAP_FAILED &&
              off != MAP_FAILED);
    EXPECT_MAPPED(s, s, s + 4 * PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_MAPPED(s + 2 * PG + 7, s, s + 4 * PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_MAPPED(ro + PG, ro, ro + 3 * PG, PAGE_READONLY, PAGE_READONLY);
    EXPECT_MAPPED(pro, pro, pro + 2 * PG, PAGE_READONLY, PAGE_READONLY);
    EXPECT_MAPPED(cow + PG, cow, cow + 3 * PG, PAGE_WRITECOPY, PAGE_WRITECOPY);
    EXPECT_MAPPED(off, off, off + 2 * PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_MAPPED(off + PG, off, off + 2 * PG, PAGE_READWRITE, PAGE_READWRITE);
    ck_assert_int_eq(s[5], 'q');
    ck_assert_int_eq(cow[PG], 'q');
    vw_assert_range_agrees(s, 4 * PG);
    vw_assert_range_agrees(cow, 3 * PG);

    char *cx = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (cx != MAP_FAILED) {   /* EPERM on a noexec file system */
        EXPECT_MAPPED(cx, cx, cx + 2 * PG, PAGE_EXECUTE_WRITECOPY, PAGE_EXECUTE_WRITECOPY);
        munmap(cx, 2 * PG);
    }
    char *sx = mmap(NULL, 2 * PG, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (sx != MAP_FAILED) {
        EXPECT_MAPPED(sx + PG, sx, sx + 2 * PG, PAGE_EXECUTE_READ, PAGE_EXECUTE_READ);
        munmap(sx, 2 * PG);
    }
    /* PROT_NONE pages of a file mapping: reserved, still the same view. */
    ck_assert_int_eq(mprotect(ro + PG, PG, PROT_NONE), 0);
    MEMORY_BASIC_INFORMATION m = vw_query(ro + PG);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    ck_assert_uint_eq(m.Type, MEM_MAPPED);
    ck_assert_ptr_eq(m.AllocationBase, ro);
    ck_assert_uint_eq(m.RegionSize, PG);
    EXPECT_MAPPED(ro + 2 * PG, ro, ro + 3 * PG, PAGE_READONLY, PAGE_READONLY);
    munmap(s, 4 * PG);
    munmap(ro, 3 * PG);
    munmap(pro, 2 * PG);
    munmap(cow, 3 * PG);
    munmap(off, 2 * PG);
    close(fd);
}
END_TEST

/* Item 1: regions never merge across different mappings: two files mapped right next to
 * each other with the same protection, and the same file mapped twice next to itself at
 * offsets that do not follow on, are separate regions each with its own
 * AllocationBase. */
START_TEST(test_mapped_not_merged)
{
    int f1 = vw_scratch_file(4, '1', 0), f2 = vw_scratch_file(4, '2', 0);
    char *frame = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(frame != MAP_FAILED);
    char *a = mmap(frame, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f1, 0);
    char *b = mmap(frame + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f2, 0);
    char *c = mmap(frame + 4 * PG, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f2,
                   (off_t)(3 * PG));
    char *d = mmap(frame + 5 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f2, 0);
    ck_assert(a == frame && b == frame + 2 * PG && c == frame + 4 * PG && d == frame + 5 * PG);
    EXPECT_MAPPED(a, a, a + 2 * PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_MAPPED(a + PG, a, a + 2 * PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_MAPPED(b, b, b + 2 * PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_MAPPED(c, c, c + PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_MAPPED(d, d, d + 2 * PG, PAGE_READWRITE, PAGE_READWRITE);
    ck_assert_int_eq(a[PG], '1');
    ck_assert_int_eq(b[0], '2');
    MEMORY_BASIC_INFORMATION m = vw_query(frame + 7 * PG);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    vw_assert_range_agrees(frame, 8 * PG);
    munmap(frame, 8 * PG);
    close(f1);
    close(f2);
}
END_TEST

/* Item 1: only objects mapped by the dynamic loader are images: an ELF file the program
 * maps itself (here its own executable, read-only) is an ordinary file mapping,
 * MEM_MAPPED, as a PE file mapped without SEC_IMAGE is on Windows. */
START_TEST(test_mapped_elf_file_is_not_image)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    char *p = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert(p != MAP_FAILED);
    close(fd);
    ck_assert_int_eq(memcmp(p, "\177ELF", 4), 0);
    EXPECT_MAPPED(p, p, p + 2 * PG, PAGE_READONLY, PAGE_READONLY);
    munmap(p, 2 * PG);
}
END_TEST

/* ---- the whole address space, page for page --------------------------------------- */

struct kvma {
    uintptr_t start, end;
    char perms[5];
    unsigned long long offset, inode;
    char name[48];
};
#define MAX_KVMA 4096
static struct kvma snap_a[MAX_KVMA], snap_b[MAX_KVMA];
static char maps_buf[1 << 20];

/* Reads /proc/self/maps without malloc (so taking it changes nothing). */
static int read_maps_raw(struct kvma *out)
{
    ck_assert_int_ge(vw_read_file("/proc/self/maps", maps_buf, sizeof maps_buf), 0);
    int count = 0;
    for (char *line = maps_buf; *line && count < MAX_KVMA;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        unsigned long s, e;
        unsigned long long off, ino;
        char perms[8], dev[16];
        int pos = 0;
        if (sscanf(line, "%lx-%lx %7s %llx %15s %llu %n", &s, &e, perms, &off, dev, &ino, &pos) >= 6) {
            struct kvma *v = &out[count++];
            v->start = s;
            v->end = e;
            memcpy(v->perms, perms, 4);
            v->perms[4] = 0;
            v->offset = off;
            v->inode = ino;
            snprintf(v->name, sizeof v->name, "%s", pos > 0 ? line + pos : "");
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return count;
}

static uintptr_t *own_bases;
static size_t n_own_bases;

static int is_own_base(const void *b)
{
    for (size_t i = 0; i < n_own_bases; i++)
        if ((uintptr_t)b == own_bases[i])
            return 1;
    return 0;
}

/* Checks every kernel mapping of snap[0..n) page for page against VirtualQuery. */
static void walk_mappings(const struct kvma *snap, int n)
{
    uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    for (int i = 0; i < n; i++) {
        const struct kvma *v = &snap[i];
        if (v->start > VW_MAX_APP_ADDR)
            continue;
        int file = v->inode != 0;
        const struct object *o = object_at(v->start);
        for (uintptr_t a = v->start; a < v->end;) {
            MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
            ck_assert_uint_eq((uintptr_t)m.BaseAddress, a);
            uintptr_t next = (uintptr_t)m.BaseAddress + m.RegionSize;
            int own = m.Type == MEM_PRIVATE && is_own_base(m.AllocationBase);
            char where[200];
            snprintf(where, sizeof where, "%#lx in %#lx-%#lx %s %s: State %#x Protect %#x Type "
                     "%#x AllocationBase %p AllocationProtect %#x", (unsigned long)a,
                     (unsigned long)v->start, (unsigned long)v->end, v->perms, v->name,
                     (unsigned)m.State, (unsigned)m.Protect, (unsigned)m.Type,
                     m.AllocationBase, (unsigned)m.AllocationProtect);
            if (own) {
                /* One of this test's allocations: the map's own view must match. */
                ck_assert_msg(strncmp(vw_expected_perms(m.State, m.Protect), v->perms, 3) == 0,
                              "allocation page %s", where);
            } else if (m.State == MEM_FREE) {
                /* Only the library's PROT_NONE arena space may be free. */
                ck_assert_msg(!file && strncmp(v->perms, "---", 3) == 0,
                              "mapped page reported free: %s", where);
            } else {
                DWORD want = foreign_protect(v->perms, file);
                ck_assert_msg(m.State == (want ? MEM_COMMIT : MEM_RESERVE) && m.Protect == want,
                              "expected Protect %#x: %s", (unsigned)want, where);
                ck_assert_msg(next <= v->end, "foreign region runs past its mapping: %s", where);
                if (file) {
                    if (o) {
                        ck_assert_msg(m.Type == MEM_IMAGE && (uintptr_t)m.AllocationBase == o->base &&
                                          m.AllocationProtect == PAGE_EXECUTE_WRITECOPY,
                                      "image page of %s (base %#lx): %s", o->name,
                                      (unsigned long)o->base, where);
                    } else {
                        ck_assert_msg(m.Type == MEM_MAPPED, "file mapping: %s", where);
                        if (v->offset == 0)
                            ck_assert_msg((uintptr_t)m.AllocationBase == v->start,
                                          "file mapping base: %s", where);
                    }
                } else if (vdso && v->start == vdso) {
                    ck_assert_msg(m.Type == MEM_IMAGE && (uintptr_t)m.AllocationBase == vdso,
                                  "vDSO: %s", where);
                } else if (o) {
                    /* .bss of an image: test_image_bss decides its Type. */
                    ck_assert_msg(m.Type == MEM_IMAGE || m.Type == MEM_PRIVATE, "bss: %s", where);
                } else {
                    ck_assert_msg(m.Type == MEM_PRIVATE, "anonymous memory: %s", where);
                    ck_assert_msg(m.AllocationBase != NULL && (uintptr_t)m.AllocationBase <= a,
                                  "anonymous memory base: %s", where);
                }
            }
            a = next < v->end ? next : v->end;
        }
    }
}

static int same_snapshot(const struct kvma *a, int na, const struct kvma *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        if (a[i].start != b[i].start || a[i].end != b[i].end ||
            strcmp(a[i].perms, b[i].perms) != 0 || a[i].inode != b[i].inode)
            return 0;
    return 1;
}

/* Item 1 and section 7: with images, file mappings (shared, private, copy-on-write,
 * two files side by side), heap, live thread stacks and the library's own allocations
 * present, every page of every kernel mapping is described as Windows would: State and
 * Protect from the kernel's permissions (PAGE_WRITECOPY for private writable file
 * pages), Type MEM_IMAGE for loaded objects (with their base), MEM_MAPPED for other
 * files, MEM_PRIVATE for anonymous memory, never MEM_FREE (except the library's own
 * PROT_NONE arena space), foreign regions never past their mapping; and the whole walk
 * agrees with /proc/self/maps (testutil). */
START_TEST(test_walk_page_for_page)
{
#ifdef __SANITIZE_ADDRESS__
    /* ASan's allocator maps, grows and splits its own regions while the test
     * runs (every malloc of the test itself), so a page-for-page comparison
     * with an earlier /proc/self/maps snapshot cannot hold; the same walk runs
     * in every other build, and check_query's walk runs under ASan. */
    printf("check_stacks: test_walk_page_for_page skipped under ASan\n");
    return;
#endif
    load_objects();
    /* the library's allocations */
    static uintptr_t bases[16];
    own_bases = bases;
    n_own_bases = 0;
    char *r = VirtualAlloc(NULL, 16 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(VirtualAlloc(r + 2 * PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_nonnull(VirtualAlloc(r + 5 * PG, PG, MEM_COMMIT, PAGE_EXECUTE));
    ck_assert_ptr_nonnull(VirtualAlloc(r + 6 * PG, PG, MEM_COMMIT, PAGE_NOACCESS));
    ck_assert_ptr_nonnull(VirtualAlloc(r + 7 * PG, PG, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    bases[n_own_bases++] = (uintptr_t)r;
    char *c = VirtualAlloc(NULL, 3 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
    ck_assert_ptr_nonnull(c);
    bases[n_own_bases++] = (uintptr_t)c;
    char *t = VirtualAlloc(NULL, 2 * PG, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
                           PAGE_EXECUTE_READWRITE);
    ck_assert_ptr_nonnull(t);
    bases[n_own_bases++] = (uintptr_t)t;
    char *big = VirtualAlloc(NULL, (size_t)1 << 30, MEM_RESERVE, PAGE_READWRITE);
    if (big) {
        ck_assert_ptr_nonnull(VirtualAlloc(big + PG, PG, MEM_COMMIT, PAGE_READWRITE));
        bases[n_own_bases++] = (uintptr_t)big;
    }
    /* foreign memory */
    int f1 = vw_scratch_file(3, 'a', 0), f2 = vw_scratch_file(3, 'b', 0);
    char *frame = mmap(NULL, 6 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(frame != MAP_FAILED);
    ck_assert(mmap(frame, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f1, 0) == frame);
    ck_assert(mmap(frame + 3 * PG, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f2, 0) ==
              frame + 3 * PG);
    char *cow = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, f1, 0);
    char *fro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, f2, 0);
    ck_assert(cow != MAP_FAILED && fro != MAP_FAILED);
    char *anon = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(anon != MAP_FAILED);
    ck_assert_int_eq(mprotect(anon + PG, PG, PROT_READ), 0);
    ck_assert_int_eq(mprotect(anon + 3 * PG, PG, PROT_NONE), 0);
    char *heap = malloc(200), *bigheap = malloc(3 << 20);
    ck_assert(heap && bigheap);
    heap[0] = bigheap[0] = 1;
    enum { N = 3 };
    struct thread_view tv[N];
    pthread_t th[N];
    start_thread(&th[0], &tv[0], &stack_confs[0]);
    start_thread(&th[1], &tv[1], &stack_confs[1]);
    start_thread(&th[2], &tv[2], &stack_confs[4]);

    int ok = 0;
    for (int attempt = 0; attempt < 5 && !ok; attempt++) {
        int na = read_maps_raw(snap_a);
        walk_mappings(snap_a, na);
        int nb = read_maps_raw(snap_b);
        ok = same_snapshot(snap_a, na, snap_b, nb);
    }
    ck_assert_msg(ok, "the kernel's maps kept changing during the walk");
    vw_assert_all_agree();
    for (int i = 0; i < N; i++)
        check_thread_stack(&tv[i], "walk thread");
    char buf[512];
    const char *why = main_stack_mismatch(buf, sizeof buf);
    ck_assert_msg(why == NULL, "%s", why);

    for (int i = 0; i < N; i++)
        stop_thread(th[i], &tv[i]);
    free(bigheap);
    free(heap);
    munmap(anon, 5 * PG);
    munmap(cow, 3 * PG);
    munmap(fro, 2 * PG);
    munmap(frame, 6 * PG);
    close(f1);
    close(f2);
    for (size_t i = 0; i < n_own_bases; i++)
        ck_assert(VirtualFree((void *)bases[i], 0, MEM_RELEASE));
    n_own_bases = 0;
    int na = read_maps_raw(snap_a);
    walk_mappings(snap_a, na);
    vw_assert_all_agree();
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

static Suite *stacks_suite(void)
{
    Suite *s = suite_create("stacks and foreign memory");

    TCase *tc = tcase_create("main thread");
    tcase_add_test(tc, test_main_stack);
    tcase_add_test(tc, test_main_stack_from_other_thread);
    tcase_add_loop_test(tc, test_main_stack_other_limits, 0,
                        (int)(sizeof stack_limits / sizeof stack_limits[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("pthreads");
    tcase_add_loop_test(tc, test_thread_stack, 0, (int)(sizeof stack_confs / sizeof stack_confs[0]));
    tcase_add_test(tc, test_thread_stacks_together);
    suite_add_tcase(s, tc);

    tc = tcase_create("images");
    tcase_add_test(tc, test_image_executable);
    tcase_add_test(tc, test_image_libc);
    tcase_add_test(tc, test_image_vdso);
    tcase_add_test(tc, test_image_all_objects);
    tcase_add_test(tc, test_image_bss);
    suite_add_tcase(s, tc);

    tc = tcase_create("file mappings");
    tcase_add_test(tc, test_mapped_files);
    tcase_add_test(tc, test_mapped_not_merged);
    tcase_add_test(tc, test_mapped_elf_file_is_not_image);
    suite_add_tcase(s, tc);

    tc = tcase_create("walk");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_walk_page_for_page);
    suite_add_tcase(s, tc);
    return s;
}

/* Re-executed by test_main_stack_other_limits under another RLIMIT_STACK. */
static int main_stack_child(void)
{
    char buf[512];
    const char *why = main_stack_mismatch(buf, sizeof buf);
    if (why) {
        fprintf(stderr, "check_stacks (RLIMIT_STACK child): %s\n", why);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], MAIN_STACK_CHILD) == 0)
        return main_stack_child();
    SRunner *sr = srunner_create(stacks_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
