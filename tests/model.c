/*
 * model.c: the reference model, the driver and the shrinker (see model.h).
 *
 * The model is deliberately simple: one struct per page of the sandbox, and
 * every rule of the spec written as a scan over those pages.  Nothing here
 * looks at the library's internals; where the spec leaves a case open the
 * model lists every acceptable outcome (each with the state change it implies)
 * and follows whichever the library chose.
 *
 * The sandbox: 64 MiB reserved with VirtualAlloc(NULL) and released at once,
 * so it is free address space (library arena space, which the spec says is
 * free as far as the program can tell).  Explicit-address calls stay inside
 * it; NULL-address allocations that land in it become model allocations,
 * those that land elsewhere are checked and released within the same step.
 *
 * Facts of this library the model follows where the spec is silent or where
 * the library documents a limitation: a MEM_WRITE_WATCH allocation is
 * state-wise an ordinary one (tests/check_watch.c checks the watch); AWE
 * windows (MEM_PHYSICAL) are not modelled: the driver makes only invalid
 * MEM_PHYSICAL calls (tests/check_awe.c has the valid ones); MEM_RESET_UNDO
 * may fail with ERROR_BUSY (it must never succeed when contents were lost);
 * the first access to a PAGE_GUARD page faults and clears the guard (spec 12,
 * one-shot); the VirtualLock quota is the soft RLIMIT_MEMLOCK, which the
 * driver sets to LOCK_QUOTA_PAGES pages for the run; VirtualLock and
 * VirtualUnlock of size 0 act on the one page at the address.
 *
 * Cases the spec leaves open, where every answer listed is accepted: a
 * VirtualProtect range running past its allocation (87 or 487); the order of
 * checks when two arguments are bad (bad handle and bad arguments, length and
 * address in VirtualQuery, NOACCESS/guard/quota in VirtualLock); MEM_RESET with
 * a NULL address; PAGE_TARGETS_INVALID on a non-executable protection;
 * PAGE_WRITECOPY for memory that is not the library's; VirtualLock spanning two
 * allocations; VirtualUnlock of inaccessible pages; VirtualProtect of size 0
 * on a reserved page; a size larger than the address space (87 or 8).  After a
 * MEM_RESET_UNDO has failed over a page, a later success no longer promises
 * its pre-reset contents (the failure already reported them lost).
 *
 * Memory pressure is made on demand with MADV_PAGEOUT (the "pressure"
 * operation): pages MEM_RESET left clean are dropped at once, as the kernel
 * would under pressure, so MEM_RESET_UNDO really meets lost pages.
 */
#include "model.h"

#include <virtualwin.h>
#include <virtualwin/nt.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SB_SIZE ((size_t)64 << 20)
#define HOT_GRANULES 24            /* most explicit addresses fall in the first 1.5 MiB */
#define LOCK_QUOTA_PAGES 32
#define MAX_ALLOCS 8192
#define NULL_ALLOC_MAX ((size_t)4 << 20)
#define MIN_APP_ADDR ((uintptr_t)0x10000)

#define CACHE_BITS ((DWORD)(PAGE_NOCACHE | PAGE_WRITECOMBINE))
#define SENTINEL_A ((DWORD)1234)
#define SENTINEL_B ((DWORD)0xDEADBEEFu)
#define OLD_UNSET ((DWORD)0xCAFEF00Du)

/* The page scans below are bookkeeping, not behaviour worth coverage feedback:
 * under the fuzzer they stay uninstrumented (they dominated the run time). */
#if defined(__clang__) && __clang_major__ >= 13
#define NO_COV __attribute__((no_sanitize("coverage")))
#else
#define NO_COV
#endif

enum { P_FREE = 0, P_RESERVED, P_COMMITTED };

/* One page of the sandbox, as the spec describes it. */
struct mpage {
    uintptr_t abase;      /* allocation base (P_FREE: 0) */
    DWORD aprot;          /* AllocationProtect */
    DWORD protect;        /* Protect of a committed page (reserved: 0) */
    uint32_t tag;         /* contents: 0 = zeros, else pattern(tag) */
    uint8_t state;
    uint8_t locked;
    uint8_t ph;           /* spec 15: 1 a placeholder, 2 an allocation that replaced one */
    uint8_t maybe_zero;   /* 0: contents exact; 1: MEM_RESET pending, contents are
                           * pattern(tag) or zeros until MEM_RESET_UNDO succeeds; 2: a
                           * MEM_RESET_UNDO over it failed (data reported lost), so
                           * pattern(tag) or zeros for good */
};

/* State transitions an outcome implies. */
enum tkind {
    T_NONE, T_RESERVE, T_COMMIT, T_RESET, T_UNDO_OK, T_RELEASE, T_DECOMMIT, T_PROTECT,
    T_LOCK, T_UNLOCK, T_CLEAR_GUARD, T_LEARN, T_UNDO_FAIL,
    T_PH_RESERVE, T_SPLIT, T_JOIN, T_REPLACE, T_PH_RESTORE
};

struct outcome {
    int ok;               /* the call succeeds */
    uintptr_t ret;        /* VirtualAlloc: the address returned */
    DWORD err;            /* the last error of a failure */
    int check_old;        /* VirtualProtect: compare *lpflOldProtect with old */
    DWORD old;
    int kind;             /* enum tkind */
    uintptr_t a, b;       /* range of the transition */
    DWORD p1, p2;
};

struct expect {
    int n;
    struct outcome o[10];
};

struct run {
    /* the model */
    uintptr_t sb, sb_end, pg, gran, maxaddr;
    size_t npages, large;
    struct mpage *p;
    uintptr_t *allocs;    /* bases of the allocations in the sandbox */
    size_t nallocs;
    size_t lock_quota;
    uint32_t next_tag;
    /* the driver */
    const struct model_opts *o;
    struct model_stats *st;
    long opi;
    int failed;
    char call[320];
    uintptr_t focus;      /* the call's address, described in the trace */
    unsigned char *heap_buf;
    uintptr_t stack_addr;
    struct rlimit saved_rl;
    int rl_saved;
    uint64_t *buf;        /* one page, for reading */
};

static int foreign_static_var = 42;

/* ---- small helpers ---------------------------------------------------------- */

NO_COV static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

NO_COV static uint64_t pat_word(uint32_t tag, size_t i)
{
    return mix64(((uint64_t)tag << 32) ^ (uint64_t)i);
}

static uintptr_t pfloor(const struct run *R, uintptr_t a)
{
    return a & ~(R->pg - 1);
}
static uintptr_t pceil(const struct run *R, uintptr_t a)
{
    return (a + R->pg - 1) & ~(R->pg - 1);
}
static uintptr_t gfloor(const struct run *R, uintptr_t a)
{
    return a & ~(R->gran - 1);
}
static int in_sb(const struct run *R, uintptr_t a)
{
    return a >= R->sb && a < R->sb_end;
}
static int range_in_sb(const struct run *R, uintptr_t s, uintptr_t e)
{
    return s >= R->sb && s < e && e <= R->sb_end;
}
static struct mpage *PG(const struct run *R, uintptr_t a)
{
    return &R->p[(a - R->sb) / R->pg];
}

/* Rotating buffers so several addresses fit in one printf. */
static const char *A(const struct run *R, uintptr_t a)
{
    static char bufs[8][48];
    static int k;
    char *b = bufs[k++ & 7];
    if (R->sb && a >= R->sb && a <= R->sb_end)
        snprintf(b, sizeof bufs[0], "SB+%#lx", (unsigned long)(a - R->sb));
    else
        snprintf(b, sizeof bufs[0], "%#lx", (unsigned long)a);
    return b;
}

static const char *state_name(int s)
{
    return s == P_FREE ? "free" : s == P_RESERVED ? "reserved" : "committed";
}

static void logf_(struct run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct run *R, const char *fmt, ...)
{
    if (!R->o || !R->o->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(R->o->log, fmt, ap);
    va_end(ap);
}

/* Records the first disagreement. */
static void fail(struct run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct run *R, const char *fmt, ...)
{
    if (R->failed)
        return;
    R->failed = 1;
    R->st->fail_op = R->opi;
    int n = snprintf(R->st->msg, sizeof R->st->msg, "op #%ld: ", R->opi);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof R->st->msg)
        vsnprintf(R->st->msg + n, sizeof R->st->msg - (size_t)n, fmt, ap);
    va_end(ap);
    logf_(R, "  MISMATCH: %s\n", R->st->msg);
}

/* ---- protections (spec 3) ---------------------------------------------------- */

static int base_valid(DWORD b)
{
    return b == PAGE_NOACCESS || b == PAGE_READONLY || b == PAGE_READWRITE ||
           b == PAGE_EXECUTE || b == PAGE_EXECUTE_READ || b == PAGE_EXECUTE_READWRITE;
}
static int base_exec(DWORD b)
{
    return b == PAGE_EXECUTE || b == PAGE_EXECUTE_READ || b == PAGE_EXECUTE_READWRITE;
}

/* 0: valid; 1: invalid (ERROR_INVALID_PARAMETER); 2: valid except that
 * PAGE_TARGETS_INVALID comes with a non-executable protection, which the spec
 * does not settle (accepted, or ERROR_INVALID_PARAMETER). */
static int prot_class(DWORD p)
{
    const DWORD known = 0xFF | PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE | PAGE_TARGETS_INVALID;
    DWORD b = p & 0xFF;
    if ((p & ~known) || !base_valid(b))
        return 1;
    if ((p & PAGE_GUARD) && b == PAGE_NOACCESS)
        return 1;
    if ((p & PAGE_NOCACHE) && ((p & (PAGE_GUARD | PAGE_WRITECOMBINE)) || b == PAGE_NOACCESS))
        return 1;
    if ((p & PAGE_WRITECOMBINE) && ((p & (PAGE_GUARD | PAGE_NOCACHE)) || b == PAGE_NOACCESS))
        return 1;
    if ((p & PAGE_TARGETS_INVALID) && !base_exec(b))
        return 2;
    return 0;
}

/* What a committed page reports after being given p in an allocation made with
 * aprot: the caching modifiers belong to the allocation, TARGETS is ignored. */
/* PAGE_WRITECOPY / PAGE_EXECUTE_WRITECOPY with otherwise valid bits: invalid
 * for private memory; on memory that is not the library's (free memory, here)
 * ERROR_INVALID_ADDRESS is as good an answer. */
static int prot_is_writecopy(DWORD p)
{
    DWORD b = p & 0xFF;
    if (b == PAGE_WRITECOPY)
        return prot_class((p & ~(DWORD)0xFF) | PAGE_READWRITE) != 1;
    if (b == PAGE_EXECUTE_WRITECOPY)
        return prot_class((p & ~(DWORD)0xFF) | PAGE_EXECUTE_READWRITE) != 1;
    return 0;
}

static DWORD eff_prot(DWORD p, DWORD aprot)
{
    return (p & (0xFF | PAGE_GUARD)) | (aprot & CACHE_BITS);
}
static DWORD aprot_of(DWORD p)
{
    return p & ~(DWORD)PAGE_TARGETS_INVALID;
}

static int page_readable(const struct mpage *q)
{
    return q->state == P_COMMITTED && !(q->protect & PAGE_GUARD) &&
           (q->protect & 0xFF) != PAGE_NOACCESS;
}
static int page_writable(const struct mpage *q)
{
    DWORD b = q->protect & 0xFF;
    return q->state == P_COMMITTED && !(q->protect & PAGE_GUARD) &&
           (b == PAGE_READWRITE || b == PAGE_EXECUTE_READWRITE);
}
static const char *kernel_perms(const struct mpage *q)
{
    if (q->state != P_COMMITTED || (q->protect & PAGE_GUARD))
        return "---";
    switch (q->protect & 0xFF) {
    case PAGE_READONLY: return "r--";
    case PAGE_READWRITE: return "rw-";
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ: return "r-x";
    case PAGE_EXECUTE_READWRITE: return "rwx";
    default: return "---";
    }
}

/* ---- model queries -------------------------------------------------------------- */

/* 1 if [s, e) is inside the sandbox and every page is in one allocation. */
NO_COV static int one_alloc(const struct run *R, uintptr_t s, uintptr_t e)
{
    if (!range_in_sb(R, s, e) || PG(R, s)->state == P_FREE)
        return 0;
    uintptr_t base = PG(R, s)->abase;
    for (uintptr_t a = s; a < e; a += R->pg)
        if (PG(R, a)->state == P_FREE || PG(R, a)->abase != base)
            return 0;
    return 1;
}

NO_COV static int any_allocated(const struct run *R, uintptr_t s, uintptr_t e)
{
    for (uintptr_t a = s; a < e; a += R->pg)
        if (PG(R, a)->state != P_FREE)
            return 1;
    return 0;
}

/* The end of the 64 KiB block holding e - 1, within the sandbox: the library
 * keeps a block in use while any allocation touches it (placeholder pieces
 * share blocks; other allocations start on one and own their last). */
static uintptr_t block_end(const struct run *R, uintptr_t e)
{
    uintptr_t g = (e + R->gran - 1) & ~(R->gran - 1);
    return g < R->sb_end ? g : R->sb_end;
}

static int is_base(const struct run *R, uintptr_t a)
{
    return in_sb(R, a) && PG(R, a)->state != P_FREE && PG(R, a)->abase == a;
}

NO_COV static uintptr_t alloc_end(const struct run *R, uintptr_t base)
{
    uintptr_t a = base;
    while (a < R->sb_end && PG(R, a)->state != P_FREE && PG(R, a)->abase == base)
        a += R->pg;
    return a;
}

NO_COV static size_t locked_bytes(const struct run *R)
{
    size_t n = 0;
    for (size_t k = 0; k < R->nallocs; k++)
        for (uintptr_t a = R->allocs[k], e = alloc_end(R, a); a < e; a += R->pg)
            n += PG(R, a)->locked;
    return n * R->pg;
}

/* Where the free run at a ends: the next allocation base (every allocated
 * page follows its allocation's base), or the end of the sandbox. */
NO_COV static uintptr_t free_run_end(const struct run *R, uintptr_t a)
{
    uintptr_t e = R->sb_end;
    for (size_t k = 0; k < R->nallocs; k++)
        if (R->allocs[k] > a && R->allocs[k] < e)
            e = R->allocs[k];
    return e;
}

/* 1 if [addr, addr+size) wraps or leaves the user range. */
static int range_bad(const struct run *R, uintptr_t addr, size_t size)
{
    uintptr_t end = addr + size;
    return end < addr || addr > R->maxaddr || end - 1 > R->maxaddr;
}

/* ---- expectations --------------------------------------------------------------- */

static struct outcome *ex_add(struct expect *E)
{
    if (E->n >= (int)(sizeof E->o / sizeof E->o[0]))
        abort();   /* a model bug: too many alternatives */
    struct outcome *o = &E->o[E->n++];
    memset(o, 0, sizeof *o);
    return o;
}
static struct outcome *ex_fail(struct expect *E, DWORD err)
{
    struct outcome *o = ex_add(E);
    o->err = err;
    return o;
}
static struct outcome *ex_fail_t(struct expect *E, DWORD err, int kind, uintptr_t a, uintptr_t b)
{
    struct outcome *o = ex_fail(E, err);
    o->kind = kind;
    o->a = a;
    o->b = b;
    return o;
}
static struct outcome *ex_ok(struct expect *E, uintptr_t ret, int kind, uintptr_t a, uintptr_t b,
                             DWORD p1, DWORD p2)
{
    struct outcome *o = ex_add(E);
    o->ok = 1;
    o->ret = ret;
    o->kind = kind;
    o->a = a;
    o->b = b;
    o->p1 = p1;
    o->p2 = p2;
    return o;
}
static void ex_fail_old(struct expect *E, DWORD err, DWORD old)
{
    struct outcome *o = ex_fail(E, err);
    o->check_old = 1;
    o->old = old;
}

/* A bad process handle: ERROR_INVALID_HANDLE, or (order unspecified) the
 * argument error the call would give anyway; never a change. */
static void ex_bad_handle(struct expect *E)
{
    struct expect F = *E;
    E->n = 0;
    ex_fail(E, ERROR_INVALID_HANDLE);
    for (int i = 0; i < F.n; i++)
        if (!F.o[i].ok && F.o[i].kind == T_NONE && F.o[i].err != ERROR_INVALID_HANDLE)
            ex_fail(E, F.o[i].err);
}

/* Spec 4: the flAllocationType rules. */
static int type_invalid(const struct run *R, DWORD t, uintptr_t addr, size_t size, DWORD prot)
{
    const DWORD allowed = MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_TOP_DOWN |
                          MEM_WRITE_WATCH | MEM_PHYSICAL | MEM_LARGE_PAGES;
    DWORD core = t & ~(DWORD)MEM_TOP_DOWN;
    if (t & ~allowed)
        return 1;
    if (!(t & (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)))
        return 1;
    if ((t & MEM_RESET) && core != MEM_RESET)
        return 1;
    if ((t & MEM_RESET_UNDO) && core != MEM_RESET_UNDO)
        return 1;
    if ((t & MEM_WRITE_WATCH) && (!(t & MEM_RESERVE) || (t & (MEM_PHYSICAL | MEM_LARGE_PAGES))))
        return 1;
    if ((t & MEM_PHYSICAL) && (core != (MEM_RESERVE | MEM_PHYSICAL) || prot != PAGE_READWRITE))
        return 1;
    if ((t & MEM_LARGE_PAGES) && ((t & (MEM_RESERVE | MEM_COMMIT)) != (MEM_RESERVE | MEM_COMMIT) ||
                                  size % R->large || addr % R->large))
        return 1;
    return 0;
}

static void expect_alloc(const struct run *R, uintptr_t addr, size_t size, DWORD type, DWORD prot,
                         struct expect *E)
{
    if (size == 0 || type_invalid(R, type, addr, size, prot)) {
        ex_fail(E, ERROR_INVALID_PARAMETER);
        return;
    }
    int reset = !!(type & (MEM_RESET | MEM_RESET_UNDO));
    int pc = reset ? 0 : prot_class(prot);   /* MEM_RESET ignores flProtect */
    if (pc == 1 || (addr && addr < MIN_APP_ADDR)) {
        ex_fail(E, ERROR_INVALID_PARAMETER);
        return;
    }
    if (range_bad(R, addr, size)) {
        ex_fail(E, ERROR_INVALID_PARAMETER);
        if (size > R->maxaddr)
            ex_fail(E, ERROR_NOT_ENOUGH_MEMORY);
        return;
    }
    if (reset) {
        uintptr_t s = pfloor(R, addr), e = pceil(R, addr + size);
        if (!addr) {
            ex_fail(E, ERROR_INVALID_PARAMETER);
            ex_fail(E, ERROR_INVALID_ADDRESS);
        } else if (!one_alloc(R, s, e)) {
            ex_fail(E, ERROR_INVALID_ADDRESS);
        } else if (type & MEM_RESET) {
            ex_ok(E, s, T_RESET, s, e, 0, 0);
        } else {
            ex_ok(E, s, T_UNDO_OK, s, e, 0, 0);
            ex_fail_t(E, ERROR_BUSY, T_UNDO_FAIL, s, e);
        }
        return;
    }
    DWORD commit = !!(type & MEM_COMMIT);
    if (!addr && size > R->maxaddr + 1 - MIN_APP_ADDR) {
        /* larger than the whole user range: it cannot fit anywhere */
        ex_fail(E, ERROR_INVALID_PARAMETER);
        ex_fail(E, ERROR_NOT_ENOUGH_MEMORY);
        if (commit)
            ex_fail(E, ERROR_COMMITMENT_LIMIT);
        return;
    }
    if (!addr) {
        ex_ok(E, 0, T_LEARN, 0, size, prot, commit);
    } else if (type & MEM_RESERVE) {
        uintptr_t base = gfloor(R, addr), e = pceil(R, addr + size);
        if (!range_in_sb(R, base, e) || any_allocated(R, base, block_end(R, e)))
            ex_fail(E, ERROR_INVALID_ADDRESS);
        else
            ex_ok(E, base, T_RESERVE, base, e, prot, commit);
    } else {
        uintptr_t s = pfloor(R, addr), e = pceil(R, addr + size);
        if (!one_alloc(R, s, e) || PG(R, s)->ph == 1)   /* spec 15: placeholders are replaced */
            ex_fail(E, ERROR_INVALID_ADDRESS);
        else
            ex_ok(E, s, T_COMMIT, s, e, prot, 0);
    }
    if (pc == 2)
        ex_fail(E, ERROR_INVALID_PARAMETER);
}

/* Spec 15: MEM_RELEASE with MEM_PRESERVE_PLACEHOLDER (split a placeholder in
 * 2 or 3, or turn an allocation that replaced one back, exact bounds) or
 * MEM_COALESCE_PLACEHOLDERS (2 or more whole adjacent placeholders, exact
 * total).  Size 0 or a bad range: ERROR_INVALID_PARAMETER; the rest fails
 * with ERROR_INVALID_ADDRESS. */
static void expect_placeholder_free(const struct run *R, uintptr_t addr, size_t size, DWORD type,
                                    struct expect *E)
{
    if (!size || !pfloor(R, addr) || range_bad(R, addr, size)) {
        ex_fail(E, ERROR_INVALID_PARAMETER);
        return;
    }
    uintptr_t s = pfloor(R, addr), e = pceil(R, addr + size);
    if (!in_sb(R, s) || PG(R, s)->state == P_FREE) {
        ex_fail(E, ERROR_INVALID_ADDRESS);
        return;
    }
    uintptr_t base = PG(R, s)->abase, aend = alloc_end(R, base);
    if (type & MEM_PRESERVE_PLACEHOLDER) {
        int ph = PG(R, s)->ph;
        if (ph == 1 && e <= aend && !(s == base && e == aend))
            ex_ok(E, 0, T_SPLIT, s, e, 0, 0);
        else if (ph == 2 && s == base && e == aend)
            ex_ok(E, 0, T_PH_RESTORE, s, e, 0, 0);
        else
            ex_fail(E, ERROR_INVALID_ADDRESS);
        return;
    }
    uintptr_t cur = s;
    int pieces = 0;
    while (cur < e && in_sb(R, cur) && PG(R, cur)->state != P_FREE && PG(R, cur)->abase == cur &&
           PG(R, cur)->ph == 1 && alloc_end(R, cur) <= e) {
        cur = alloc_end(R, cur);
        pieces++;
    }
    if (cur != e || pieces < 2)
        ex_fail(E, ERROR_INVALID_ADDRESS);
    else
        ex_ok(E, 0, T_JOIN, s, e, 0, 0);
}

static void expect_free(const struct run *R, uintptr_t addr, size_t size, DWORD type,
                        struct expect *E)
{
    if (type == (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS) ||
        type == (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)) {
        expect_placeholder_free(R, addr, size, type, E);
        return;
    }
    if ((type != MEM_DECOMMIT && type != MEM_RELEASE) || !addr) {
        ex_fail(E, ERROR_INVALID_PARAMETER);
        return;
    }
    uintptr_t s = pfloor(R, addr);
    if (type == MEM_RELEASE) {
        if (size) {
            ex_fail(E, ERROR_INVALID_PARAMETER);
            if (!is_base(R, s))
                ex_fail(E, ERROR_INVALID_ADDRESS);
        } else if (is_base(R, s)) {
            ex_ok(E, 0, T_RELEASE, s, alloc_end(R, s), 0, 0);
        } else {
            ex_fail(E, ERROR_INVALID_ADDRESS);
        }
        return;
    }
    if (!in_sb(R, s) || PG(R, s)->state == P_FREE) {
        ex_fail(E, ERROR_INVALID_ADDRESS);
        if (size && range_bad(R, addr, size))
            ex_fail(E, ERROR_INVALID_PARAMETER);
        return;
    }
    uintptr_t base = PG(R, s)->abase;
    if (size == 0) {
        if (s == base)
            ex_ok(E, 0, T_DECOMMIT, base, alloc_end(R, base), 0, 0);
        else
            ex_fail(E, ERROR_INVALID_ADDRESS);
        return;
    }
    if (range_bad(R, addr, size)) {
        ex_fail(E, ERROR_INVALID_PARAMETER);
        return;
    }
    uintptr_t e = pceil(R, addr + size);
    if (!one_alloc(R, s, e))
        ex_fail(E, ERROR_INVALID_PARAMETER);
    else
        ex_ok(E, 0, T_DECOMMIT, s, e, 0, 0);
}

static void expect_protect(const struct run *R, uintptr_t addr, size_t size, DWORD prot,
                           int oldp_null, struct expect *E)
{
    int pc = prot_class(prot);
    if (pc == 1 || oldp_null) {
        if (pc == 1)
            ex_fail(E, ERROR_INVALID_PARAMETER);
        if (oldp_null)
            ex_fail(E, ERROR_NOACCESS);
        if (pc == 1 && prot_is_writecopy(prot) && !oldp_null) {
            uintptr_t s0 = pfloor(R, addr);
            if (!in_sb(R, s0) || PG(R, s0)->state == P_FREE)
                ex_fail_old(E, ERROR_INVALID_ADDRESS, PAGE_NOACCESS);
        }
        return;
    }
    if (range_bad(R, addr, size ? size : 1)) {
        ex_fail(E, ERROR_INVALID_PARAMETER);
        ex_fail_old(E, ERROR_INVALID_ADDRESS, PAGE_NOACCESS);
        return;
    }
    uintptr_t s = pfloor(R, addr), e = size ? pceil(R, addr + size) : s + R->pg;
    if (!in_sb(R, s) || PG(R, s)->state == P_FREE) {
        ex_fail_old(E, ERROR_INVALID_ADDRESS, PAGE_NOACCESS);
        return;
    }
    if (!one_alloc(R, s, e)) {
        /* runs past the allocation: either error (spec 6) */
        ex_fail_old(E, ERROR_INVALID_ADDRESS, PAGE_NOACCESS);
        ex_fail(E, ERROR_INVALID_PARAMETER);
        return;
    }
    for (uintptr_t a = s; a < e; a += R->pg) {
        if (PG(R, a)->state != P_COMMITTED) {
            ex_fail_old(E, ERROR_INVALID_ADDRESS, PAGE_NOACCESS);
            if (!size)
                ex_ok(E, 0, T_NONE, 0, 0, 0, 0);   /* "size 0 succeeds, changes nothing" */
            return;
        }
    }
    struct outcome *o = ex_ok(E, 0, size ? T_PROTECT : T_NONE, s, e, prot, 0);
    o->check_old = 1;
    o->old = PG(R, s)->protect;
    if (pc == 2)
        ex_fail(E, ERROR_INVALID_PARAMETER);
}

static void expect_lock(const struct run *R, uintptr_t addr, size_t size, int lock,
                        struct expect *E)
{
    if (range_bad(R, addr, size ? size : 1)) {
        ex_fail(E, ERROR_INVALID_PARAMETER);
        ex_fail(E, ERROR_INVALID_ADDRESS);
        return;
    }
    uintptr_t s = pfloor(R, addr), e = size ? pceil(R, addr + size) : s + R->pg;
    if (!in_sb(R, s) || PG(R, s)->state == P_FREE) {
        ex_fail(E, ERROR_INVALID_ADDRESS);
        return;
    }
    int uncommitted = e > R->sb_end, noacc = 0, guard = 0, unlocked = 0;
    size_t newb = 0;
    for (uintptr_t a = s; a < e && a < R->sb_end; a += R->pg) {
        const struct mpage *q = PG(R, a);
        if (q->state != P_COMMITTED) {
            uncommitted = 1;
            continue;
        }
        noacc |= (q->protect & 0xFF) == PAGE_NOACCESS;
        guard |= !!(q->protect & PAGE_GUARD);
        if (!q->locked) {
            unlocked = 1;
            newb += R->pg;
        }
    }
    int over = locked_bytes(R) + newb > R->lock_quota;
    if (!one_alloc(R, s, e)) {
        /* The spec does not say whether one call may span allocations. */
        ex_fail(E, ERROR_INVALID_ADDRESS);
        if (!uncommitted && !noacc && !guard) {
            if (lock && !over)
                ex_ok(E, 0, T_LOCK, s, e, 0, 0);
            else if (lock)
                ex_fail(E, ERROR_WORKING_SET_QUOTA);
            else if (unlocked)
                ex_fail_t(E, ERROR_NOT_LOCKED, T_UNLOCK, s, e);
            else
                ex_ok(E, 0, T_UNLOCK, s, e, 0, 0);
        }
        return;
    }
    if (uncommitted) {
        ex_fail(E, ERROR_INVALID_ADDRESS);
        return;
    }
    if (lock) {
        if (noacc)
            ex_fail(E, ERROR_NOACCESS);
        if (guard)
            ex_fail_t(E, STATUS_GUARD_PAGE_VIOLATION, T_CLEAR_GUARD, s, e);
        if (noacc || guard) {
            if (over)
                ex_fail(E, ERROR_WORKING_SET_QUOTA);   /* order of the checks: open */
            return;
        }
        if (over)
            ex_fail(E, ERROR_WORKING_SET_QUOTA);
        else
            ex_ok(E, 0, T_LOCK, s, e, 0, 0);
        return;
    }
    if (unlocked)
        ex_fail_t(E, ERROR_NOT_LOCKED, T_UNLOCK, s, e);
    else
        ex_ok(E, 0, T_UNLOCK, s, e, 0, 0);
    /* Unlocking inaccessible pages: the spec's accessibility rule may apply. */
    if (noacc || guard)
        ex_fail(E, ERROR_NOACCESS);
    if (guard)
        ex_fail_t(E, STATUS_GUARD_PAGE_VIOLATION, T_CLEAR_GUARD, s, e);
}

/* ---- applying an outcome ---------------------------------------------------------- */

static void clear_page(struct mpage *q)
{
    memset(q, 0, sizeof *q);
}

static void add_alloc(struct run *R, uintptr_t base)
{
    if (R->nallocs < MAX_ALLOCS)
        R->allocs[R->nallocs++] = base;
}

static void remove_alloc(struct run *R, uintptr_t base)
{
    for (size_t i = 0; i < R->nallocs; i++)
        if (R->allocs[i] == base) {
            R->allocs[i] = R->allocs[--R->nallocs];
            return;
        }
}

NO_COV static void apply(struct run *R, const struct outcome *o)
{
    uintptr_t a;
    switch (o->kind) {
    case T_NONE:
    case T_LEARN:
        break;
    case T_RESERVE:
        for (a = o->a; a < o->b; a += R->pg) {
            struct mpage *q = PG(R, a);
            clear_page(q);
            q->abase = o->a;
            q->aprot = aprot_of(o->p1);
            q->state = o->p2 ? P_COMMITTED : P_RESERVED;
            q->protect = o->p2 ? eff_prot(o->p1, o->p1) : 0;
        }
        add_alloc(R, o->a);
        break;
    case T_COMMIT:
        for (a = o->a; a < o->b; a += R->pg) {
            struct mpage *q = PG(R, a);
            if (q->state == P_RESERVED) {
                q->state = P_COMMITTED;
                q->tag = 0;
                q->maybe_zero = 0;
            }
            q->protect = eff_prot(o->p1, q->aprot);
        }
        break;
    case T_RESET:
        for (a = o->a; a < o->b; a += R->pg)
            if (PG(R, a)->state == P_COMMITTED && !PG(R, a)->maybe_zero)
                PG(R, a)->maybe_zero = 1;
        break;
    case T_UNDO_OK:
        /* success: every page still pending is intact (pages a failed undo
         * already reported lost stay as they are) */
        for (a = o->a; a < o->b; a += R->pg)
            if (PG(R, a)->maybe_zero == 1)
                PG(R, a)->maybe_zero = 0;
        break;
    case T_UNDO_FAIL:
        for (a = o->a; a < o->b; a += R->pg)
            if (PG(R, a)->maybe_zero == 1)
                PG(R, a)->maybe_zero = 2;
        break;
    case T_RELEASE:
        for (a = o->a; a < o->b; a += R->pg)
            clear_page(PG(R, a));
        remove_alloc(R, o->a);
        break;
    case T_DECOMMIT:
        for (a = o->a; a < o->b; a += R->pg) {
            struct mpage *q = PG(R, a);
            q->state = P_RESERVED;
            q->protect = 0;
            q->tag = 0;
            q->maybe_zero = 0;
            q->locked = 0;
        }
        break;
    case T_PROTECT:
        for (a = o->a; a < o->b; a += R->pg)
            PG(R, a)->protect = eff_prot(o->p1, PG(R, a)->aprot);
        break;
    case T_LOCK:
        for (a = o->a; a < o->b; a += R->pg)
            PG(R, a)->locked = 1;
        break;
    case T_UNLOCK:
        for (a = o->a; a < o->b && a < R->sb_end; a += R->pg)
            PG(R, a)->locked = 0;
        break;
    case T_CLEAR_GUARD:
        for (a = o->a; a < o->b; a += R->pg)
            if (PG(R, a)->state == P_COMMITTED)
                PG(R, a)->protect &= ~(DWORD)PAGE_GUARD;
        break;
    case T_PH_RESERVE:
        for (a = o->a; a < o->b; a += R->pg) {
            struct mpage *q = PG(R, a);
            clear_page(q);
            q->abase = o->a;
            q->aprot = PAGE_NOACCESS;
            q->state = P_RESERVED;
            q->ph = 1;
        }
        add_alloc(R, o->a);
        break;
    case T_SPLIT: {
        uintptr_t base = PG(R, o->a)->abase, aend = alloc_end(R, base);
        for (a = o->a; a < aend; a += R->pg)
            PG(R, a)->abase = a < o->b ? o->a : o->b;
        if (o->a != base)
            add_alloc(R, o->a);
        if (o->b < aend)
            add_alloc(R, o->b);
        break;
    }
    case T_JOIN:
        for (a = o->a; a < o->b; a += R->pg) {
            if (a != o->a && PG(R, a)->abase == a)
                remove_alloc(R, a);
            PG(R, a)->abase = o->a;
        }
        break;
    case T_REPLACE:
        for (a = o->a; a < o->b; a += R->pg) {
            struct mpage *q = PG(R, a);
            q->ph = 2;
            q->aprot = aprot_of(o->p1);
            if (o->p2) {
                q->state = P_COMMITTED;
                q->protect = eff_prot(o->p1, o->p1);
                q->tag = 0;
            }
        }
        break;
    case T_PH_RESTORE:
        for (a = o->a; a < o->b; a += R->pg) {
            uintptr_t base = PG(R, a)->abase;
            clear_page(PG(R, a));
            PG(R, a)->abase = base;
            PG(R, a)->aprot = PAGE_NOACCESS;
            PG(R, a)->state = P_RESERVED;
            PG(R, a)->ph = 1;
        }
        break;
    }
}

static void describe_outcome(const struct run *R, const struct outcome *o, char *b, size_t n)
{
    static const char *const kn[] = { "-", "reserve", "commit", "reset", "undo", "release",
                                      "decommit", "protect", "lock", "unlock", "clear-guard",
                                      "learn", "undo-failed", "placeholder", "split", "join",
                                      "replace", "restore" };
    if (o->ok)
        snprintf(b, n, "ok%s%s%s [%s]", o->kind == T_LEARN ? " any" : "",
                 o->ret ? " ret=" : "", o->ret ? A(R, o->ret) : "", kn[o->kind]);
    else
        snprintf(b, n, "fail %u [%s]", (unsigned)o->err, kn[o->kind]);
    if (o->check_old) {
        size_t l = strlen(b);
        snprintf(b + l, n - l, " old=%#x", (unsigned)o->old);
    }
}

static void describe_expect(const struct run *R, const struct expect *E, char *b, size_t n)
{
    b[0] = 0;
    for (int i = 0; i < E->n; i++) {
        size_t l = strlen(b);
        if (l + 4 >= n)
            break;
        if (i)
            strcpy(b + l, " | "), l += 3;
        describe_outcome(R, &E->o[i], b + l, n - l);
    }
}

/* For the trace: what the model held at the call's address before the call. */
static const char *focus_note(struct run *R)
{
    static char b[160];
    uintptr_t a = pfloor(R, R->focus);
    b[0] = 0;
    if (!R->o->log || !in_sb(R, a))
        return b;
    const struct mpage *q = PG(R, a);
    if (q->state == P_FREE)
        snprintf(b, sizeof b, "  {page was free}");
    else
        snprintf(b, sizeof b, "  {page was %s %#x%s, allocation %s-%s}", state_name(q->state),
                 (unsigned)q->protect, q->locked ? " locked" : "", A(R, q->abase),
                 A(R, alloc_end(R, q->abase)));
    return b;
}

/* Compares one call's result with the expectation, applies the matching
 * outcome and returns it (NULL on a mismatch). */
static const struct outcome *settle(struct run *R, const struct expect *E, int ok, uintptr_t ret,
                                    DWORD err, DWORD sentinel, int have_old, DWORD old)
{
    char exp[700];
    R->st->calls++;
    if (!ok)
        R->st->calls_failed++;
    for (int i = 0; i < E->n; i++) {
        const struct outcome *o = &E->o[i];
        if (o->ok != ok)
            continue;
        if (ok && o->kind != T_LEARN && o->ret && o->ret != ret)
            continue;
        if (!ok && o->err != err)
            continue;
        if (have_old && o->check_old && o->old != old)
            continue;
        describe_outcome(R, o, exp, sizeof exp);
        if (have_old)
            logf_(R, "#%ld %s -> %s, last error %u, old protect %#x  (model: %s)%s\n", R->opi,
                  R->call, ok ? "ok" : "failed", (unsigned)err, (unsigned)old, exp,
                  focus_note(R));
        else
            logf_(R, "#%ld %s -> %s%s%s, last error %u  (model: %s)%s\n", R->opi, R->call,
                  ok ? "ok" : "failed", ret > 1 ? " " : "", ret > 1 ? A(R, ret) : "",
                  (unsigned)err, exp, focus_note(R));
        if (ok && err != sentinel) {
            fail(R, "%s succeeded but changed the last error from %u to %u", R->call,
                 (unsigned)sentinel, (unsigned)err);
            return NULL;
        }
        apply(R, o);
        return o;
    }
    describe_expect(R, E, exp, sizeof exp);
    logf_(R, "#%ld %s%s\n", R->opi, R->call, focus_note(R));
    if (have_old)
        fail(R, "%s: library %s (ret %s, last error %u, old protect %#x); model expects one of: %s",
             R->call, ok ? "succeeded" : "failed", A(R, ret), (unsigned)err, (unsigned)old, exp);
    else
        fail(R, "%s: library %s (ret %s, last error %u); model expects one of: %s", R->call,
             ok ? "succeeded" : "failed", A(R, ret), (unsigned)err, exp);
    return NULL;
}

/* ---- guarded memory access -------------------------------------------------------- */

static sigjmp_buf g_env;
static volatile sig_atomic_t g_armed;

static void g_handler(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (g_armed) {
        g_armed = 0;
        siglongjmp(g_env, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

enum { ACC_READ1, ACC_WRITE1, ACC_FILL, ACC_COPY };

/* The access to make, in statics so nothing live crosses sigsetjmp. */
static struct {
    int kind;
    uintptr_t a;
    uint64_t *buf;
    size_t words;
    uint32_t tag;
} g_acc;

NO_COV static __attribute__((noinline)) void do_access(void)
{
    volatile uint64_t *w = (volatile uint64_t *)g_acc.a;
    switch (g_acc.kind) {
    case ACC_READ1:
        (void)*(volatile const unsigned char *)g_acc.a;
        break;
    case ACC_WRITE1: {
        /* A plain read and write back of the same byte (single-threaded).  Not
         * an atomic OR of 0: clang turns an idempotent atomic RMW whose result
         * is unused into a fence that never touches the page. */
        volatile unsigned char *c = (volatile unsigned char *)g_acc.a;
        unsigned char v = *c;
        *c = v;
        break;
    }
    case ACC_FILL:
        for (size_t i = 0; i < g_acc.words; i++)
            w[i] = pat_word(g_acc.tag, i);
        break;
    case ACC_COPY:
        for (size_t i = 0; i < g_acc.words; i++)
            g_acc.buf[i] = w[i];
        break;
    }
}

/* Performs one access to the page at a; returns 1 if it completed, 0 if it faulted. */
static int guarded(int kind, uintptr_t a, uint64_t *buf, size_t words, uint32_t tag)
{
    static struct sigaction sa, old_segv, old_bus;
    g_acc.kind = kind;
    g_acc.a = a;
    g_acc.buf = buf;
    g_acc.words = words;
    g_acc.tag = tag;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = g_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    int done;
    if (sigsetjmp(g_env, 1) == 0) {
        g_armed = 1;
        do_access();
        g_armed = 0;
        done = 1;
    } else {
        done = 0;
    }
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    return done;
}

/* Checks the contents of one committed readable page against the model. */
NO_COV static void check_contents(struct run *R, uintptr_t a)
{
    struct mpage *q = PG(R, a);
    size_t words = R->pg / 8;
    if (!guarded(ACC_COPY, a, R->buf, words, 0)) {
        fail(R, "reading %s faulted; model: committed, protect %#x", A(R, a), (unsigned)q->protect);
        return;
    }
    int is_tag = 1, is_zero = 1;
    size_t bad = 0;
    for (size_t i = 0; i < words; i++) {
        uint64_t want = q->tag ? pat_word(q->tag, i) : 0;
        if (R->buf[i] != want && is_tag) {
            is_tag = 0;
            bad = i;
        }
        if (R->buf[i])
            is_zero = 0;
    }
    if (is_tag || (q->maybe_zero && is_zero))
        return;
    fail(R, "contents of %s: word %zu is %#llx, expected %#llx (%s, tag %u%s)", A(R, a), bad,
         (unsigned long long)R->buf[bad],
         (unsigned long long)(q->tag ? pat_word(q->tag, bad) : 0),
         q->tag ? "written pattern" : "zero", (unsigned)q->tag,
         q->maybe_zero == 1 ? ", or zero after MEM_RESET"
         : q->maybe_zero == 2 ? ", or zero after a failed MEM_RESET_UNDO" : "");
}

/* Read and write probes of one sandbox page against the model. */
static void probe_page(struct run *R, uintptr_t a, int write_probe)
{
    const struct mpage *q = PG(R, a);
    int r = guarded(ACC_READ1, a, NULL, 0, 0);
    if (r != page_readable(q)) {
        fail(R, "read probe of %s %s; model: %s, protect %#x", A(R, a),
             r ? "succeeded" : "faulted", state_name(q->state), (unsigned)q->protect);
        return;
    }
    /* Spec 12: the access that trips a guard page clears it (one-shot). */
    if (!r && q->state == P_COMMITTED && (q->protect & PAGE_GUARD))
        PG(R, a)->protect &= ~(DWORD)PAGE_GUARD;
    if (!write_probe || q->maybe_zero)
        return;   /* a write would cancel the lazy free MEM_RESET_UNDO looks for */
    int w = guarded(ACC_WRITE1, a, NULL, 0, 0);
    if (w != page_writable(q))
        fail(R, "write probe of %s %s; model: %s, protect %#x", A(R, a),
             w ? "succeeded" : "faulted", state_name(q->state), (unsigned)q->protect);
}

/* ---- VirtualQuery against the model ------------------------------------------------- */

/* What VirtualQuery(a) must report for a sandbox address; *exact is 0 when
 * the region runs to the end of the sandbox (RegionSize is then a minimum). */
NO_COV static void model_mbi(const struct run *R, uintptr_t a, MEMORY_BASIC_INFORMATION *m, int *exact)
{
    uintptr_t s = pfloor(R, a), e = s + R->pg;
    const struct mpage *q = PG(R, s);
    memset(m, 0, sizeof *m);
    m->BaseAddress = (PVOID)s;
    if (q->state == P_FREE) {
        e = free_run_end(R, s);
        m->State = MEM_FREE;
        m->Protect = PAGE_NOACCESS;
    } else {
        while (e < R->sb_end) {
            const struct mpage *n = PG(R, e);
            if (n->state != q->state || n->abase != q->abase ||
                (q->state == P_COMMITTED && n->protect != q->protect))
                break;
            e += R->pg;
        }
        m->AllocationBase = (PVOID)q->abase;
        m->AllocationProtect = q->aprot;
        m->State = q->state == P_COMMITTED ? MEM_COMMIT : MEM_RESERVE;
        m->Protect = q->state == P_COMMITTED ? q->protect : 0;
        m->Type = MEM_PRIVATE;
    }
    m->RegionSize = e - s;
    *exact = e < R->sb_end;
}

static int compare_mbi(struct run *R, uintptr_t a, const MEMORY_BASIC_INFORMATION *g,
                       const char *how)
{
    MEMORY_BASIC_INFORMATION m;
    int exact;
    model_mbi(R, a, &m, &exact);
    int ok = g->BaseAddress == m.BaseAddress && g->AllocationBase == m.AllocationBase &&
             g->AllocationProtect == m.AllocationProtect && g->PartitionId == 0 &&
             (exact ? g->RegionSize == m.RegionSize : g->RegionSize >= m.RegionSize) &&
             g->State == m.State && g->Protect == m.Protect && g->Type == m.Type;
    if (!ok)
        fail(R, "%s VirtualQuery(%s): Base %s AllocBase %s AllocProt %#x Size %#zx State %#x "
             "Protect %#x Type %#x; model: Base %s AllocBase %s AllocProt %#x Size %s%#zx "
             "State %#x Protect %#x Type %#x", how, A(R, a), A(R, (uintptr_t)g->BaseAddress),
             A(R, (uintptr_t)g->AllocationBase), (unsigned)g->AllocationProtect,
             (size_t)g->RegionSize, (unsigned)g->State, (unsigned)g->Protect, (unsigned)g->Type,
             A(R, (uintptr_t)m.BaseAddress), A(R, (uintptr_t)m.AllocationBase),
             (unsigned)m.AllocationProtect, exact ? "" : ">=", (size_t)m.RegionSize,
             (unsigned)m.State, (unsigned)m.Protect, (unsigned)m.Type);
    return ok;
}

/* Queries a sandbox address and compares every field; returns the region end. */
static uintptr_t query_check(struct run *R, uintptr_t a, const char *how)
{
    MEMORY_BASIC_INFORMATION g;
    memset(&g, 0xAB, sizeof g);
    DWORD sentinel = SENTINEL_A;
    SetLastError(sentinel);
    SIZE_T r = VirtualQuery((LPCVOID)a, &g, sizeof g);
    DWORD err = GetLastError();
    if (r != sizeof g) {
        fail(R, "%s VirtualQuery(%s) returned %zu, last error %u", how, A(R, a), (size_t)r,
             (unsigned)err);
        return R->sb_end;
    }
    if (err != sentinel) {
        fail(R, "%s VirtualQuery(%s) succeeded but changed the last error to %u", how, A(R, a),
             (unsigned)err);
        return R->sb_end;
    }
    if (!compare_mbi(R, a, &g, how))
        return R->sb_end;
    return (uintptr_t)g.BaseAddress + g.RegionSize;
}

/* Queries the pages around a call's range [s, e). */
static void check_touched(struct run *R, uintptr_t s, uintptr_t e)
{
    uintptr_t pts[6];
    int n = 0;
    if (!in_sb(R, s) && !in_sb(R, e - 1))
        return;
    s = pfloor(R, s);
    e = pceil(R, e);
    pts[n++] = s - R->pg;
    pts[n++] = s;
    pts[n++] = e - R->pg;
    pts[n++] = e;
    if (in_sb(R, s) && PG(R, s)->state != P_FREE)
        pts[n++] = PG(R, s)->abase;
    for (int i = 0; i < n && !R->failed; i++)
        if (in_sb(R, pts[i]))
            query_check(R, pts[i], "after the call,");
}

/* ---- the whole sandbox: VirtualQuery walk, kernel view, probes, contents --------- */

static char *read_proc(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb)
                break;
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = 0;
    *len = n;
    return b;
}

/* The kernel's view of the sandbox (/proc/self/maps): allocated pages are
 * mapped with the protection the model gives them (reserved and guard pages
 * "---"); free pages are unmapped or the library's private anonymous "---"
 * arena space.  Work is proportional to allocated pages and mappings. */
struct kvma {
    uintptr_t s, e;
    char perms[4];
    int anon;
};

NO_COV static void kernel_check(struct run *R)
{
    size_t len, nv = 0, cap = 64;
    char *maps = read_proc("/proc/self/maps", &len);
    struct kvma *v = malloc(cap * sizeof *v);
    if (!maps || !v) {
        fail(R, "cannot read /proc/self/maps");
        free(maps);
        free(v);
        return;
    }
    for (char *line = maps; *line;) {
        char *nl = strchr(line, '\n');
        unsigned long s, e, off, ino = 0;
        char pm[8] = "", dev[16] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &s, &e, pm, &off, dev, &ino) >= 5 &&
            e > R->sb && s < R->sb_end) {
            if (nv == cap) {
                struct kvma *nvp = realloc(v, 2 * cap * sizeof *v);
                if (!nvp)
                    break;
                v = nvp;
                cap *= 2;
            }
            v[nv].s = s > R->sb ? s : R->sb;
            v[nv].e = e < R->sb_end ? e : R->sb_end;
            memcpy(v[nv].perms, pm, 3);
            v[nv].perms[3] = 0;
            v[nv].anon = ino == 0 && pm[3] == 'p';
            nv++;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    /* 1. mappings that are not plain "---" arena space hold only allocated pages */
    for (size_t i = 0; i < nv && !R->failed; i++) {
        if (!strcmp(v[i].perms, "---") && v[i].anon)
            continue;
        for (uintptr_t a = v[i].s; a < v[i].e && !R->failed; a += R->pg)
            if (PG(R, a)->state == P_FREE)
                fail(R, "kernel: free page %s is mapped %s%s", A(R, a), v[i].perms,
                     v[i].anon ? "" : " (not private anonymous)");
    }
    /* 2. every allocated page is mapped as the model says */
    for (size_t k = 0; k < R->nallocs && !R->failed; k++) {
        size_t i = 0;
        for (uintptr_t a = R->allocs[k], e = alloc_end(R, a); a < e && !R->failed; a += R->pg) {
            const struct mpage *q = PG(R, a);
            while (i < nv && v[i].e <= a)
                i++;
            if (i < nv && v[i].s > a)
                i = 0;   /* maps lines are sorted, but stay safe */
            size_t j = i;
            while (j < nv && !(v[j].s <= a && a < v[j].e))
                j++;
            const char *want = kernel_perms(q);
            if (j == nv)
                fail(R, "kernel: %s page %s is not mapped", state_name(q->state), A(R, a));
            else if (strcmp(v[j].perms, want) || !v[j].anon)
                fail(R, "kernel: page %s (%s, protect %#x) is mapped %s%s, expected %s", A(R, a),
                     state_name(q->state), (unsigned)q->protect, v[j].perms,
                     v[j].anon ? "" : " (not private anonymous)", want);
        }
    }
    free(v);
    free(maps);
}

/* Locks in the kernel, from /proc/self/smaps: a sandbox page is in a
 * VM_LOCKED mapping ("lo" in VmFlags) exactly when the model has it locked
 * (spec 8: locked pages stay in RAM; decommit and release drop the lock). */
NO_COV static void check_smaps_vma(struct run *R, uintptr_t vs, uintptr_t ve, int locked,
                            unsigned char *klock)
{
    if (ve <= R->sb || vs >= R->sb_end)
        return;
    uintptr_t a = vs > R->sb ? vs : R->sb, b = ve < R->sb_end ? ve : R->sb_end;
    for (uintptr_t p = a; p < b; p += R->pg)
        klock[(p - R->sb) / R->pg] = (unsigned char)locked;
}

NO_COV static void kernel_smaps_check(struct run *R)
{
    size_t len;
    char *smaps = read_proc("/proc/self/smaps", &len);
    if (!smaps) {
        fail(R, "cannot read /proc/self/smaps");
        return;
    }
    unsigned char *klock = calloc(R->npages, 1);
    uintptr_t vs = 0, ve = 0;
    for (char *line = smaps; *line && !R->failed;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        unsigned long s, e;
        if (strncmp(line, "VmFlags:", 8) == 0) {
            /* the last line of a mapping's block */
            check_smaps_vma(R, vs, ve, strstr(line, " lo") != NULL, klock);
            vs = ve = 0;
        } else if (line[0] != ' ' && sscanf(line, "%lx-%lx ", &s, &e) == 2) {
            vs = s;
            ve = e;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    for (size_t i = 0; i < R->npages && !R->failed; i++)
        if (klock[i] != R->p[i].locked)
            fail(R, "kernel: page %s is %slocked (VmFlags), model: %s, %slocked",
                 A(R, R->sb + i * R->pg), klock[i] ? "" : "not ", state_name(R->p[i].state),
                 R->p[i].locked ? "" : "not ");
    free(klock);
    free(smaps);
}

NO_COV static void full_check(struct run *R, int all_contents)
{
    R->st->full_checks++;
    /* 1. VirtualQuery walk of the whole sandbox */
    for (uintptr_t a = R->sb; a < R->sb_end && !R->failed;) {
        uintptr_t next = query_check(R, a, "sandbox walk:");
        if (next <= a)
            break;
        a = next;
    }
    /* 2. /proc/self/maps */
    if (!R->failed)
        kernel_check(R);
    if (!R->failed && !R->o->no_smaps && (all_contents || R->st->full_checks % 8 == 1))
        kernel_smaps_check(R);   /* smaps is slow to produce: now and then, and at the end */
    /* 3. probes: allocation bases and ends, and a few hot pages */
    uintptr_t pts[24];
    int n = 0;
    for (size_t i = 0; i < R->nallocs && n < 12; i++) {
        size_t k = (i + (size_t)R->opi) % R->nallocs;
        uintptr_t e = alloc_end(R, R->allocs[k]);
        pts[n++] = R->allocs[k];
        pts[n++] = e - R->pg;
    }
    for (int i = 0; i < 6; i++)
        pts[n++] = R->sb + ((size_t)(mix64((uint64_t)R->opi * 7 + (uint64_t)i) %
                                     (HOT_GRANULES * (R->gran / R->pg)))) * R->pg;
    for (int i = 0; i < n && !R->failed; i++)
        probe_page(R, pts[i], 1);
    /* 4. contents of up to 48 committed readable pages, rotating through the
     *    sandbox (of all of them at the end of a run) */
    size_t checked = 0, limit = all_contents ? R->npages : 48;
    size_t first = R->nallocs ? (size_t)mix64((uint64_t)R->opi) % R->nallocs : 0;
    for (size_t k = 0; k < R->nallocs && checked < limit && !R->failed; k++) {
        uintptr_t base = R->allocs[(first + k) % R->nallocs];
        for (uintptr_t a = base, e = alloc_end(R, base); a < e && checked < limit && !R->failed;
             a += R->pg) {
            if (page_readable(PG(R, a))) {
                check_contents(R, a);
                checked++;
            }
        }
    }
}

/* ---- choosing arguments from the operation bytes ------------------------------------ */

enum { AK_SANDBOX = 1, AK_NULL = 2, AK_INVALID = 4, AK_FOREIGN = 8, AK_QUERYONLY = 16 };

struct addr {
    uintptr_t a;
    int kind;
};

/* An allocation chosen by address, not by list position, so that dropping
 * unrelated operations (shrinking) leaves the choice alone: the allocation at
 * or below a target address (mostly in the hot window), else the first above. */
static uintptr_t pick_alloc(const struct run *R, const uint8_t *b)
{
    size_t g = (b[5] & 0x40) ? ((size_t)b[3] | (size_t)b[4] << 8) % (SB_SIZE / R->gran)
                             : b[3] % HOT_GRANULES;
    uintptr_t target = R->sb + g * R->gran, below = 0, above = 0;
    for (size_t k = 0; k < R->nallocs; k++) {
        uintptr_t a = R->allocs[k];
        if (a <= target && a > below)
            below = a;
        if (a > target && (!above || a < above))
            above = a;
    }
    return below ? below : above;
}

static struct addr pick_addr(struct run *R, const uint8_t *b, int allow, int prefer_base)
{
    struct addr r = { 0, AK_SANDBOX };
    int mode = b[2] % 32;
    /* 0-17 an allocation, 18-19 around an allocation's end, 20 NULL, 21 invalid,
     * 22 foreign, 23 anywhere in the sandbox, 24-31 the hot window */
    mode = mode <= 17 ? 0 : mode <= 19 ? 12 : mode == 20 ? 13 : mode == 21 ? 14
         : mode == 22 ? 15 : mode == 23 ? 11 : 6;
    size_t ppg = R->gran / R->pg;
    if (mode == 0 && R->nallocs) {
        uintptr_t base = pick_alloc(R, b);
        size_t np = (alloc_end(R, base) - base) / R->pg;
        size_t page = prefer_base && (b[4] & 3) ? 0 : b[4] % np;
        r.a = base + page * R->pg;
        if (b[5] & 0x80)
            r.a += (size_t)(b[5] * 29u) % R->pg;
        return r;
    }
    if (mode == 12 && R->nallocs) {
        /* around the end of an allocation: its last page, the free tail, the next one */
        uintptr_t base = pick_alloc(R, b);
        uintptr_t e = alloc_end(R, base);
        switch (b[4] % 4) {
        case 0: r.a = e - R->pg; break;
        case 1: r.a = e - 1; break;
        case 2: r.a = e; break;
        default: r.a = e + R->pg; break;
        }
        if (r.a >= R->sb_end)
            r.a = R->sb_end - R->pg;
        return r;
    }
    if (mode == 13 && (allow & AK_NULL)) {
        r.kind = AK_NULL;
        return r;
    }
    if (mode == 14 && (allow & AK_INVALID)) {
        static const int nq = 6;
        int nsel = (allow & AK_QUERYONLY) ? nq : nq - 1;
        r.kind = AK_INVALID;
        switch (b[3] % nsel) {
        case 0: r.a = 0x1000; break;
        case 1: r.a = 0xF000 + (b[4] & 0xFF); break;
        case 2: r.a = pfloor(R, R->maxaddr + 1); break;
        case 3: r.a = pfloor(R, UINTPTR_MAX); break;
        case 4: r.a = (uintptr_t)0x800000000000ull; break;
        default: r.a = R->maxaddr; break;   /* queries only */
        }
        return r;
    }
    if (mode == 15 && (allow & AK_FOREIGN)) {
        r.kind = AK_FOREIGN;
        switch (b[3] % 3) {
        case 0: r.a = (uintptr_t)&foreign_static_var; break;
        case 1: r.a = R->stack_addr; break;
        default: r.a = (uintptr_t)R->heap_buf + 64; break;
        }
        return r;
    }
    if (mode == 11) {
        size_t g = ((size_t)b[3] | (size_t)b[4] << 8) % (SB_SIZE / R->gran);
        r.a = R->sb + g * R->gran + (b[5] % ppg) * R->pg;
    } else {
        size_t page = (b[4] & 0x80) ? b[4] % ppg : b[4] % 4;   /* mostly near the granule start */
        r.a = R->sb + (b[3] % HOT_GRANULES) * R->gran + page * R->pg;
        if (b[5] & 0x80)
            r.a += (size_t)(b[5] * 29u) % R->pg;
    }
    return r;
}

/* Sizes; huge ones are left alone (they must fail), others stay in the sandbox. */
static size_t pick_size(struct run *R, const uint8_t *b, struct addr ad, int *huge)
{
    size_t size;
    *huge = 0;
    switch (b[6] % 32) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
        size = (1 + b[7] % 4) * R->pg;
        break;
    case 10: case 11: case 12: case 13:
        size = (1 + b[7] % 32) * R->pg;
        break;
    case 14: case 15: case 16: case 17: case 18:
        size = 1 + (size_t)(b[7] * 37u) % (3 * R->pg);
        break;
    case 19: case 20: case 21:
        size = (1 + b[7] % 8) * R->gran - ((b[7] & 0x80) ? R->pg : 0);
        break;
    case 22: case 23: case 24: case 25: case 26: case 27: case 28:
        if (ad.kind == AK_SANDBOX && PG(R, pfloor(R, ad.a))->state != P_FREE) {
            uintptr_t e = alloc_end(R, PG(R, pfloor(R, ad.a))->abase);
            size = e - ad.a;
            switch (b[7] % 4) {
            case 0: break;
            case 1: size = size > R->pg ? size - R->pg : size; break;
            case 2: size += 1; break;
            default: size += R->pg; break;
            }
        } else {
            size = (1 + b[7] % 4) * R->pg;
        }
        break;
    case 29: case 30: size = 0; break;
    default: {
        static const uint64_t h[] = { UINT64_MAX, UINT64_MAX - 0xFFF, 1ull << 47,
                                      0x7FFFFFFF0000ull, 1ull << 62 };
        *huge = 1;
        size = (size_t)h[b[7] % 5];
        break;
    }
    }
    /* Mostly keep ranges that start in an allocation inside it. */
    if (ad.kind == AK_SANDBOX && !*huge && size && (b[6] >> 5) < 5 && b[6] % 32 < 22 &&
        PG(R, pfloor(R, ad.a))->state != P_FREE) {
        uintptr_t e = alloc_end(R, PG(R, pfloor(R, ad.a))->abase);
        if (ad.a + size > e)
            size = e - ad.a;
    }
    if (ad.kind == AK_SANDBOX && !*huge && size && ad.a + size > R->sb_end)
        size = R->sb_end - ad.a;
    if (ad.kind == AK_NULL && !*huge && size > NULL_ALLOC_MAX)
        size = NULL_ALLOC_MAX;
    return size;
}

/* Protections: about 85% valid; modifiers now and then; every invalid kind the spec lists. */
static DWORD pick_prot(const uint8_t *b)
{
    static const DWORD valid[] = { PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_READWRITE,
                                   PAGE_READWRITE, PAGE_EXECUTE, PAGE_EXECUTE_READ,
                                   PAGE_EXECUTE_READWRITE, PAGE_READONLY, PAGE_READWRITE };
    static const DWORD invalid[] = { 0, 0x06, 0x12, 0x03, 0x44, 0x30, 0x81, PAGE_WRITECOPY,
                                     PAGE_EXECUTE_WRITECOPY, 0x800, 0x1000, 0x80000000u,
                                     0x04 | 0x800, 0x04 | 0x10000, 0x20 | 0x20000000, 0xFF };
    static const DWORD mods[] = { PAGE_GUARD, PAGE_GUARD, PAGE_GUARD, PAGE_GUARD, PAGE_NOCACHE,
                                  PAGE_NOCACHE, PAGE_WRITECOMBINE, PAGE_WRITECOMBINE,
                                  PAGE_TARGETS_INVALID, PAGE_TARGETS_INVALID,
                                  PAGE_GUARD | PAGE_NOCACHE, PAGE_NOCACHE | PAGE_WRITECOMBINE,
                                  PAGE_GUARD | PAGE_WRITECOMBINE,
                                  PAGE_GUARD | PAGE_TARGETS_INVALID };
    DWORD p = b[8] < 236 ? valid[b[8] % 10] : invalid[b[8] % 16];
    if (b[10] >= 216)
        p |= mods[b[10] % 14];
    else if (b[10] == 0)
        p = mods[b[11] % 14];   /* a modifier alone */
    return p;
}

static DWORD pick_alloc_type(const uint8_t *b)
{
    static const DWORD common[16] = {
        MEM_COMMIT, MEM_COMMIT, MEM_COMMIT, MEM_COMMIT, MEM_COMMIT, MEM_COMMIT,
        MEM_RESERVE, MEM_RESERVE, MEM_RESERVE | MEM_COMMIT, MEM_RESERVE | MEM_COMMIT,
        MEM_RESERVE | MEM_COMMIT, MEM_RESERVE | MEM_COMMIT, MEM_RESET, MEM_RESET,
        MEM_RESET_UNDO, MEM_RESET_UNDO };
    static const DWORD rare[] = {
        MEM_RESERVE | MEM_TOP_DOWN, MEM_COMMIT | MEM_TOP_DOWN,
        MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, MEM_RESET | MEM_TOP_DOWN,
        MEM_RESET_UNDO | MEM_TOP_DOWN, MEM_RESERVE | MEM_WRITE_WATCH,
        MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, MEM_COMMIT | MEM_WRITE_WATCH,
        MEM_RESERVE | MEM_PHYSICAL | MEM_RESET, MEM_RESERVE | MEM_COMMIT | MEM_PHYSICAL, MEM_PHYSICAL,
        0, MEM_RESET | MEM_COMMIT, MEM_RESET | MEM_RESET_UNDO, MEM_RESET | MEM_RESERVE,
        MEM_RESET_UNDO | MEM_COMMIT, MEM_LARGE_PAGES | MEM_RESERVE, MEM_LARGE_PAGES | MEM_COMMIT,
        MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT, 0x80000000u | MEM_COMMIT,
        MEM_REPLACE_PLACEHOLDER | MEM_RESERVE, MEM_RESERVE_PLACEHOLDER | MEM_RESERVE,
        MEM_DECOMMIT, MEM_RELEASE, 0x10 | MEM_COMMIT, MEM_TOP_DOWN, MEM_FREE | MEM_RESERVE };
    if (b[9] < 232)
        return common[b[9] % 16];
    return rare[b[9] % (sizeof rare / sizeof rare[0])];
}

/* The handle and flavour of a call: 0 plain, 1 Ex with the pseudo handle, 2 Ex with a bad handle. */
static int pick_flavour(const uint8_t *b, HANDLE *h)
{
    static const uintptr_t bad[] = { 0, 0, (uintptr_t)-2, 0x1234 };
    unsigned v = b[1] & 15;
    if (v <= 10) {
        *h = NULL;
        return 0;
    }
    if (v <= 14) {
        *h = GetCurrentProcess();
        return 1;
    }
    *h = (HANDLE)bad[(b[1] >> 4) % 4];
    return 2;
}

/* Issue 10: a quarter of the Ex calls with the pseudo handle go through the
 * native call instead, and the Win32 outcome is derived as kernelbase derives
 * it: a failing status becomes the last error through RtlNtStatusToDosError,
 * success leaves the last error alone.  The model's expectations are the
 * Win32 ones, so the native edge is held to them too.  A failing native call
 * must leave its in/out parameters as they were. */
static int pick_native(const uint8_t *b, int flav)
{
    return flav == 1 && (b[11] & 0x60) == 0x60;
}

static NTSTATUS native_done(struct run *R, NTSTATUS st, PVOID base, PVOID base0, SIZE_T len,
                            SIZE_T len0)
{
    R->st->native_calls++;
    if (st && (base != base0 || len != len0))
        fail(R, "%s (native): status %#x changed BaseAddress/RegionSize to %p/%#zx", R->call,
             (unsigned)st, base, (size_t)len);
    if (st)
        SetLastError(RtlNtStatusToDosError(st));
    return st;
}

static DWORD pick_sentinel(const uint8_t *b)
{
    return (b[1] & 0x80) ? SENTINEL_B : SENTINEL_A;
}

static const char *type_str(DWORD t, char *buf, size_t n)
{
    static const struct { DWORD v; const char *s; } names[] = {
        { MEM_COMMIT, "COMMIT" }, { MEM_RESERVE, "RESERVE" }, { MEM_RESET, "RESET" },
        { MEM_RESET_UNDO, "RESET_UNDO" }, { MEM_TOP_DOWN, "TOP_DOWN" },
        { MEM_WRITE_WATCH, "WRITE_WATCH" }, { MEM_PHYSICAL, "PHYSICAL" },
        { MEM_LARGE_PAGES, "LARGE_PAGES" } };
    buf[0] = 0;
    DWORD rest = t;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (t & names[i].v) {
            size_t l = strlen(buf);
            snprintf(buf + l, n - l, "%sMEM_%s", l ? "|" : "", names[i].s);
            rest &= ~names[i].v;
        }
    if (rest || !t) {
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%#x", l ? "|" : "", (unsigned)rest);
    }
    return buf;
}

static const char *hstr(int flav, HANDLE h)
{
    static char b[4][24];
    static int k;
    char *s = b[k++ & 3];
    if (flav == 0)
        s[0] = 0;
    else
        snprintf(s, sizeof b[0], "%ld, ", (long)(intptr_t)h);
    return s;
}

/* ---- NULL-address allocations ---------------------------------------------------- */

/* The library chose where a NULL-address allocation went; the model learns it.
 * Inside the sandbox it must be free space and becomes a model allocation;
 * elsewhere it is checked on the spot and released again. */
/* MEM_TOP_DOWN (spec 4): no free range above [r, e) could have held it. */
static void check_top_down(struct run *R, uintptr_t r, uintptr_t e)
{
    size_t len = e - r;
    for (uintptr_t a = e; a <= R->maxaddr;) {
        MEMORY_BASIC_INFORMATION g;
        if (VirtualQuery((LPCVOID)a, &g, sizeof g) != sizeof g || !g.RegionSize) {
            fail(R, "VirtualQuery(%s) failed in the walk above a MEM_TOP_DOWN allocation",
                 A(R, a));
            return;
        }
        uintptr_t b = (uintptr_t)g.BaseAddress, be = b + g.RegionSize;
        if (g.State == MEM_FREE && g.RegionSize >= len) {
            uintptr_t cand = (be - len) & ~(R->gran - 1);
            if (cand >= b && cand >= e) {
                fail(R, "%s placed the region at %s, but the free range %s-%s above it fits "
                     "it (MEM_TOP_DOWN: the highest free address)", R->call, A(R, r), A(R, b),
                     A(R, be));
                return;
            }
        }
        if (be <= a)
            break;
        a = be;
    }
}

static void learn_null(struct run *R, uintptr_t r, size_t size, DWORD prot, DWORD commit,
                       int top_down)
{
    uintptr_t e = r + pceil(R, size);
    if (r % R->gran) {
        fail(R, "%s returned %s, not a multiple of 64 KiB", R->call, A(R, r));
        return;
    }
    if (top_down)
        check_top_down(R, r, e);
    if (R->failed)
        return;
    uintptr_t os = r > R->sb ? r : R->sb, oe = e < R->sb_end ? e : R->sb_end;
    if (os < oe && any_allocated(R, os, oe)) {
        fail(R, "%s returned %s, which overlaps an existing allocation", R->call, A(R, r));
        return;
    }
    if (range_in_sb(R, r, e)) {
        struct outcome o = { .ok = 1, .kind = T_RESERVE, .a = r, .b = e, .p1 = prot, .p2 = commit };
        apply(R, &o);
        R->st->null_in_sandbox++;
        check_touched(R, r, e);
        return;
    }
    R->st->null_outside++;
    /* Outside (or straddling) the sandbox: check it, then release it. */
    MEMORY_BASIC_INFORMATION g;
    SetLastError(SENTINEL_A);
    if (VirtualQuery((LPCVOID)r, &g, sizeof g) != sizeof g) {
        fail(R, "VirtualQuery of the new allocation %s failed: %u", A(R, r),
             (unsigned)GetLastError());
        return;
    }
    DWORD want_prot = commit ? eff_prot(prot, prot) : 0;
    if ((uintptr_t)g.BaseAddress != r || (uintptr_t)g.AllocationBase != r ||
        g.AllocationProtect != aprot_of(prot) || g.RegionSize != e - r ||
        g.State != (commit ? MEM_COMMIT : MEM_RESERVE) || g.Protect != want_prot ||
        g.Type != MEM_PRIVATE) {
        fail(R, "after %s = %s: VirtualQuery gives Base %p AllocBase %p AllocProt %#x Size %#zx "
             "State %#x Protect %#x Type %#x; expected a fresh allocation of %#zx bytes, "
             "protect %#x", R->call, A(R, r), g.BaseAddress, g.AllocationBase,
             (unsigned)g.AllocationProtect, (size_t)g.RegionSize, (unsigned)g.State,
             (unsigned)g.Protect, (unsigned)g.Type, (size_t)(e - r), (unsigned)want_prot);
        return;
    }
    struct mpage tmp = { .abase = r, .state = commit ? P_COMMITTED : P_RESERVED,
                         .protect = want_prot };
    int rd = page_readable(&tmp);
    if (guarded(ACC_READ1, r, NULL, 0, 0) != rd) {
        fail(R, "new allocation %s: read probe %s, protect %#x", A(R, r),
             rd ? "faulted" : "succeeded", (unsigned)want_prot);
        return;
    }
    if (rd) {
        for (uintptr_t a = r; a < e; a += (e - r > R->pg ? e - r - R->pg : R->pg)) {
            if (!guarded(ACC_COPY, a, R->buf, R->pg / 8, 0)) {
                fail(R, "reading new allocation page %s faulted", A(R, a));
                return;
            }
            for (size_t i = 0; i < R->pg / 8; i++)
                if (R->buf[i]) {
                    fail(R, "new allocation page %s is not zero", A(R, a));
                    return;
                }
        }
    }
    SetLastError(SENTINEL_B);
    BOOL ok = VirtualFree((LPVOID)r, 0, MEM_RELEASE);
    DWORD err = GetLastError();
    logf_(R, "    released the allocation outside the sandbox at %s: %d\n", A(R, r), ok);
    if (!ok || err != SENTINEL_B) {
        fail(R, "VirtualFree(%s, 0, MEM_RELEASE) of a NULL-address allocation: %d, error %u",
             A(R, r), ok, (unsigned)err);
        return;
    }
    if (os < oe)
        check_touched(R, os, oe);
}

/* ---- the operations ---------------------------------------------------------------- */

static void op_alloc(struct run *R, const uint8_t *b)
{
    HANDLE h;
    int flav = pick_flavour(b, &h);
    struct addr ad = pick_addr(R, b, AK_NULL | AK_INVALID | AK_FOREIGN, 0);
    if (b[11] % 16 == 0)
        ad.kind = AK_NULL, ad.a = 0;
    int huge;
    size_t size = pick_size(R, b, ad, &huge);
    DWORD type = pick_alloc_type(b), prot = pick_prot(b), sentinel = pick_sentinel(b);
    /* Steer most reserves to free space and most commits into reservations. */
    if (ad.kind == AK_SANDBOX && (b[9] & 0x60) && b[9] < 232) {
        int allocated = PG(R, pfloor(R, ad.a))->state != P_FREE;
        if (type == MEM_COMMIT && !allocated)
            type = (b[9] & 0xC0) == 0xC0 ? MEM_RESERVE : MEM_RESERVE | MEM_COMMIT;
        else if ((type & MEM_RESERVE) && allocated)
            type = MEM_COMMIT;
    }
    /* A valid large-page request is outside what the model covers. */
    if ((type & MEM_LARGE_PAGES) && !type_invalid(R, type, ad.a, size, prot))
        type &= ~(DWORD)MEM_LARGE_PAGES;
    char ts[96];
    R->focus = ad.a;
    snprintf(R->call, sizeof R->call, "VirtualAlloc%s(%s%s, %#zx, %s, %#x)", flav ? "Ex" : "",
             hstr(flav, h), A(R, ad.a), size, type_str(type, ts, sizeof ts), (unsigned)prot);
    struct expect E = { 0 };
    expect_alloc(R, ad.a, size, type, prot, &E);
    if (flav == 2)
        ex_bad_handle(&E);
    SetLastError(sentinel);
    LPVOID r;
    if (pick_native(b, flav)) {
        PVOID base = (PVOID)ad.a;
        SIZE_T len = size;
        NTSTATUS st = NtAllocateVirtualMemory(h, &base, 0, &len, type, prot);
        r = native_done(R, st, base, (PVOID)ad.a, len, size) ? NULL : base;
    } else {
        r = flav ? VirtualAllocEx(h, (LPVOID)ad.a, size, type, prot)
                 : VirtualAlloc((LPVOID)ad.a, size, type, prot);
    }
    DWORD err = GetLastError();
    const struct outcome *o = settle(R, &E, r != NULL, (uintptr_t)r, err, sentinel, 0, 0);
    if (!o)
        return;
    if (o->kind == T_LEARN) {
        learn_null(R, (uintptr_t)r, size, prot, o->p2, !!(type & MEM_TOP_DOWN));
        return;
    }
    if (ad.kind == AK_SANDBOX && !huge && size) {
        uintptr_t s = o->kind == T_RESERVE ? o->a : pfloor(R, ad.a);
        check_touched(R, s, pceil(R, ad.a + size));
    }
    if (o->kind == T_UNDO_OK)
        for (uintptr_t a = o->a; a < o->b && !R->failed; a += R->pg)
            if (page_readable(PG(R, a)))
                check_contents(R, a);   /* success means every byte is intact */
}

static void op_free(struct run *R, const uint8_t *b)
{
    static const DWORD bad[] = { 0, MEM_FREE, MEM_DECOMMIT | MEM_RELEASE,
                                 MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS,
                                 MEM_DECOMMIT | MEM_PRESERVE_PLACEHOLDER,
                                 MEM_COALESCE_PLACEHOLDERS, MEM_PRESERVE_PLACEHOLDER, MEM_COMMIT };
    HANDLE h;
    int flav = pick_flavour(b, &h);
    DWORD type;
    unsigned t = b[9] % 16;
    type = t <= 6 ? MEM_RELEASE : t <= 13 ? MEM_DECOMMIT : t == 14 ? bad[(b[9] >> 4) % 8]
                                                                   : MEM_RELEASE;
    struct addr ad = pick_addr(R, b, AK_NULL | AK_INVALID | AK_FOREIGN, type == MEM_RELEASE);
    int huge;
    size_t size = pick_size(R, b, ad, &huge);
    if (type == MEM_RELEASE && t != 15 && (b[6] & 0xE0) != 0xE0)
        size = 0;
    if (type == MEM_DECOMMIT && (b[1] & 0x30) == 0x30)
        size = 0;
    DWORD sentinel = pick_sentinel(b);
    R->focus = ad.a;
    snprintf(R->call, sizeof R->call, "VirtualFree%s(%s%s, %#zx, %#x)", flav ? "Ex" : "",
             hstr(flav, h), A(R, ad.a), size, (unsigned)type);
    struct expect E = { 0 };
    expect_free(R, ad.a, size, type, &E);
    if (flav == 2)
        ex_bad_handle(&E);
    uintptr_t s = pfloor(R, ad.a), e = s + R->pg;
    if (in_sb(R, s) && PG(R, s)->state != P_FREE)
        e = alloc_end(R, PG(R, s)->abase);
    SetLastError(sentinel);
    BOOL ok;
    /* Not MEM_RELEASE with a size: kernelbase refuses that itself (87), where
     * the native call releases an exactly matching size. */
    if (pick_native(b, flav) && !(type == MEM_RELEASE && size)) {
        PVOID base = (PVOID)ad.a;
        SIZE_T len = size;
        ok = !native_done(R, NtFreeVirtualMemory(h, &base, &len, type), base, (PVOID)ad.a, len,
                          size);
    } else {
        ok = flav ? VirtualFreeEx(h, (LPVOID)ad.a, size, type)
                  : VirtualFree((LPVOID)ad.a, size, type);
    }
    DWORD err = GetLastError();
    if (!settle(R, &E, ok, 0, err, sentinel, 0, 0))
        return;
    if (ad.kind == AK_SANDBOX)
        check_touched(R, s, e);
}

/* A 64 KiB-aligned sandbox address from `from` on (wrapping) where size bytes
 * fit in free blocks, or `from` itself if there is none. */
static uintptr_t free_block(const struct run *R, uintptr_t from, size_t size)
{
    uintptr_t span = R->sb_end - R->sb, g0 = gfloor(R, from);
    for (uintptr_t k = 0; k < span; k += R->gran) {
        uintptr_t g = R->sb + (g0 - R->sb + k) % span;
        uintptr_t e = pceil(R, g + size);
        if (range_in_sb(R, g, e) && !any_allocated(R, g, block_end(R, e)))
            return g;
    }
    return from;
}

/* A known allocation, preferring placeholders and what replaced them. */
static uintptr_t pick_ph_alloc(const struct run *R, const uint8_t *b)
{
    uintptr_t base = pick_alloc(R, b);
    if (!(b[2] & 1))
        return base;
    for (size_t k = 0; k < R->nallocs; k++) {
        uintptr_t a = R->allocs[(b[3] + k) % R->nallocs];
        if (PG(R, a)->ph)
            return a;
    }
    return base;
}

/* Spec 15: a placeholder operation on the sandbox through VirtualAlloc2 and
 * VirtualFree: reserve one (mostly PAGE_NOACCESS, as required), split a
 * known allocation at pages taken from the bytes, replace one (reserved or
 * committed), turn one back, or join a run of allocations. */
static void op_placeholder(struct run *R, const uint8_t *b)
{
    static const DWORD prots[] = { PAGE_READWRITE, PAGE_READONLY, PAGE_EXECUTE_READ,
                                   PAGE_NOACCESS, PAGE_READWRITE | PAGE_GUARD, PAGE_WRITECOPY };
    unsigned sub = b[1] % 8;
    DWORD sentinel = pick_sentinel(b);
    struct expect E = { 0 };
    uintptr_t addr, cs, ce;
    size_t size;
    if (sub <= 1 || !R->nallocs) {
        /* Reserve a placeholder at a sandbox address, mostly in free space. */
        struct addr ad = pick_addr(R, b, 0, 0);
        int huge;
        size = pick_size(R, b, ad, &huge);
        if (ad.kind == AK_SANDBOX && (b[3] & 0x30) && !huge) {
            if (b[6] & 1)
                size = (1 + b[7] % 4) * R->gran - (b[7] & 0x10 ? R->pg : 0);
            ad.a = free_block(R, ad.a, size);
        }
        addr = ad.a;
        DWORD prot = (b[3] & 7) ? PAGE_NOACCESS : prots[b[3] % 6];
        R->focus = addr;
        snprintf(R->call, sizeof R->call, "VirtualAlloc2(%s, %#zx, RESERVE|RESERVE_PLACEHOLDER, %#x)",
                 A(R, addr), size, (unsigned)prot);
        uintptr_t base = gfloor(R, addr), e = pceil(R, addr + size);
        if (prot != PAGE_NOACCESS || !size || addr < MIN_APP_ADDR || range_bad(R, addr, size))
            ex_fail(&E, ERROR_INVALID_PARAMETER);
        else if (ad.kind != AK_SANDBOX || !range_in_sb(R, base, e) ||
                 any_allocated(R, base, block_end(R, e)))
            ex_fail(&E, ERROR_INVALID_ADDRESS);
        else
            ex_ok(&E, base, T_PH_RESERVE, base, e, 0, 0);
        if (ad.kind != AK_SANDBOX && E.o[0].err != ERROR_INVALID_PARAMETER)
            return;   /* outside the sandbox: not the model's to say */
        SetLastError(sentinel);
        PVOID r = VirtualAlloc2(NULL, (PVOID)addr, size, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, prot,
                                NULL, 0);
        settle(R, &E, r != NULL, (uintptr_t)r, GetLastError(), sentinel, 0, 0);
        cs = base;
        ce = e;
    } else {
        /* An allocation the model knows, and pages of it. */
        uintptr_t base = pick_ph_alloc(R, b), e = alloc_end(R, base);
        size_t np = (e - base) / R->pg;
        uintptr_t s = base + (size_t)(b[4] % (np + 1)) * R->pg;
        uintptr_t t = s + (size_t)(1 + b[5] % (np + 1)) * R->pg;
        if ((b[6] & 3) && s < e)   /* mostly inside the allocation */
            t = s + (size_t)(1 + b[5] % ((e - s) / R->pg)) * R->pg;
        if (sub == 5 || sub == 6) {   /* the whole allocation, or a run of them */
            s = base;
            t = e;
            for (unsigned k = b[6] % 3; k && t < R->sb_end && PG(R, t)->state != P_FREE; k--)
                t = alloc_end(R, t);
        }
        if (sub == 4 || sub == 5)
            t = (b[7] & 3) ? e : e + R->pg;
        if (t > R->sb_end)
            t = R->sb_end;
        addr = s;
        size = t > s ? t - s : 0;
        if (b[8] % 16 == 0)
            size = 0;
        R->focus = addr;
        cs = base;
        ce = t > e ? t : e;
        if (sub == 3 || sub == 4) {
            DWORD type = MEM_RESERVE | MEM_REPLACE_PLACEHOLDER | ((b[9] & 1) ? MEM_COMMIT : 0);
            DWORD prot = prots[b[3] % 6];
            snprintf(R->call, sizeof R->call, "VirtualAlloc2(%s, %#zx, %#x, %#x)", A(R, addr), size,
                     (unsigned)type, (unsigned)prot);
            uintptr_t ps = pfloor(R, addr), pe = pceil(R, addr + size);
            if (!size || prot_class(prot) == 1)
                ex_fail(&E, ERROR_INVALID_PARAMETER);
            else if (PG(R, ps)->ph == 1 && PG(R, ps)->abase == ps && alloc_end(R, ps) == pe)
                ex_ok(&E, ps, T_REPLACE, ps, pe, prot, (type & MEM_COMMIT) != 0);
            else
                ex_fail(&E, ERROR_INVALID_ADDRESS);
            SetLastError(sentinel);
            PVOID r = VirtualAlloc2(NULL, (PVOID)addr, size, type, prot, NULL, 0);
            settle(R, &E, r != NULL, (uintptr_t)r, GetLastError(), sentinel, 0, 0);
        } else {
            DWORD type = MEM_RELEASE | (sub == 6 || sub == 7 ? MEM_COALESCE_PLACEHOLDERS
                                                              : MEM_PRESERVE_PLACEHOLDER);
            snprintf(R->call, sizeof R->call, "VirtualFree(%s, %#zx, %#x)", A(R, addr), size,
                     (unsigned)type);
            expect_placeholder_free(R, addr, size, type, &E);
            SetLastError(sentinel);
            BOOL ok = VirtualFree((PVOID)addr, size, type);
            settle(R, &E, ok, 0, GetLastError(), sentinel, 0, 0);
        }
    }
    if (!R->failed && range_in_sb(R, cs, ce))
        check_touched(R, cs, ce);
}

static void op_protect(struct run *R, const uint8_t *b)
{
    HANDLE h;
    int flav = pick_flavour(b, &h);
    struct addr ad = pick_addr(R, b, AK_INVALID, 0);
    int huge;
    size_t size = pick_size(R, b, ad, &huge);
    DWORD prot = pick_prot(b), sentinel = pick_sentinel(b), old = OLD_UNSET;
    int oldp_null = b[11] % 32 == 0;
    R->focus = ad.a;
    snprintf(R->call, sizeof R->call, "VirtualProtect%s(%s%s, %#zx, %#x, %s)", flav ? "Ex" : "",
             hstr(flav, h), A(R, ad.a), size, (unsigned)prot, oldp_null ? "NULL" : "&old");
    struct expect E = { 0 };
    expect_protect(R, ad.a, size, prot, oldp_null, &E);
    if (flav == 2)
        ex_bad_handle(&E);
    SetLastError(sentinel);
    PDWORD op = oldp_null ? NULL : &old;
    BOOL ok;
    if (pick_native(b, flav)) {
        PVOID base = (PVOID)ad.a;
        SIZE_T len = size;
        ok = !native_done(R, NtProtectVirtualMemory(h, &base, &len, prot, op), base,
                          (PVOID)ad.a, len, size);
    } else {
        ok = flav ? VirtualProtectEx(h, (LPVOID)ad.a, size, prot, op)
                  : VirtualProtect((LPVOID)ad.a, size, prot, op);
    }
    DWORD err = GetLastError();
    if (!settle(R, &E, ok, 0, err, sentinel, !oldp_null, old))
        return;
    if (ad.kind == AK_SANDBOX && !huge)
        check_touched(R, ad.a, size ? ad.a + size : ad.a + 1);
}

static void op_query(struct run *R, const uint8_t *b)
{
    HANDLE h;
    int flav = pick_flavour(b, &h);
    struct addr ad = pick_addr(R, b, AK_NULL | AK_INVALID | AK_FOREIGN | AK_QUERYONLY, 0);
    static const SIZE_T lens[16] = { 0, 47, 64, 8, 48, 48, 48, 48,
                                     48, 48, 48, 48, 48, 48, 48, 1000 };
    SIZE_T len = lens[b[11] % 16];
    DWORD sentinel = pick_sentinel(b);
    union {
        MEMORY_BASIC_INFORMATION m;
        unsigned char raw[1000];
    } u;
    memset(&u, 0xAB, sizeof u);
    R->focus = ad.a;
    snprintf(R->call, sizeof R->call, "VirtualQuery%s(%s%s, &mbi, %zu)", flav ? "Ex" : "",
             hstr(flav, h), A(R, ad.a), (size_t)len);
    struct expect E = { 0 };
    if (len < sizeof(MEMORY_BASIC_INFORMATION)) {
        ex_fail(&E, ERROR_BAD_LENGTH);
        if (ad.a > R->maxaddr)
            ex_fail(&E, ERROR_INVALID_PARAMETER);
    } else if (ad.a > R->maxaddr) {
        ex_fail(&E, ERROR_INVALID_PARAMETER);
    } else {
        ex_ok(&E, sizeof(MEMORY_BASIC_INFORMATION), T_NONE, 0, 0, 0, 0);
    }
    if (flav == 2)
        ex_bad_handle(&E);
    SetLastError(sentinel);
    SIZE_T r = 0;
    if (pick_native(b, flav)) {
        SIZE_T got = 0;
        NTSTATUS st = NtQueryVirtualMemory(h, (PVOID)ad.a, MemoryBasicInformation, &u.m, len, &got);
        r = native_done(R, st, NULL, NULL, 0, 0) ? 0 : got;
    } else {
        r = flav ? VirtualQueryEx(h, (LPCVOID)ad.a, &u.m, len)
                 : VirtualQuery((LPCVOID)ad.a, &u.m, len);
    }
    DWORD err = GetLastError();
    if (r != 0 && r != sizeof(MEMORY_BASIC_INFORMATION)) {
        fail(R, "%s returned %zu", R->call, (size_t)r);
        return;
    }
    if (!settle(R, &E, r != 0, r, err, sentinel, 0, 0) || !r)
        return;
    if (ad.kind == AK_SANDBOX) {
        compare_mbi(R, ad.a, &u.m, "");
    } else if (ad.kind == AK_FOREIGN) {
        if (u.m.State != MEM_COMMIT || !u.m.Type || u.m.BaseAddress != (PVOID)pfloor(R, ad.a))
            fail(R, "%s on memory the program uses: Base %p State %#x Type %#x", R->call,
                 u.m.BaseAddress, (unsigned)u.m.State, (unsigned)u.m.Type);
    } else if (u.m.BaseAddress != (PVOID)pfloor(R, ad.a)) {
        fail(R, "%s: BaseAddress %p", R->call, u.m.BaseAddress);
    }
}

static void op_lock(struct run *R, const uint8_t *b, int lock)
{
    struct addr ad = pick_addr(R, b, AK_INVALID, 0);
    int huge;
    size_t size = pick_size(R, b, ad, &huge);
    if (!huge && size > 8 * R->pg && (b[11] & 1))
        size = 8 * R->pg;
    DWORD sentinel = pick_sentinel(b);
    R->focus = ad.a;
    snprintf(R->call, sizeof R->call, "Virtual%s(%s, %#zx)", lock ? "Lock" : "Unlock",
             A(R, ad.a), size);
    struct expect E = { 0 };
    expect_lock(R, ad.a, size, lock, &E);
    SetLastError(sentinel);
    BOOL ok = lock ? VirtualLock((LPVOID)ad.a, size) : VirtualUnlock((LPVOID)ad.a, size);
    DWORD err = GetLastError();
    if (!settle(R, &E, ok, 0, err, sentinel, 0, 0))
        return;
    if (ad.kind == AK_SANDBOX && !huge)
        check_touched(R, ad.a, size ? ad.a + size : ad.a + 1);
}

static void op_write(struct run *R, const uint8_t *b)
{
    struct addr ad = pick_addr(R, b, 0, 0);
    uintptr_t s = pfloor(R, ad.a);
    int n = 1 + b[6] % 4;
    snprintf(R->call, sizeof R->call, "write %d page(s) at %s", n, A(R, s));
    logf_(R, "#%ld %s\n", R->opi, R->call);
    for (int i = 0; i < n && !R->failed; i++) {
        uintptr_t a = s + (size_t)i * R->pg;
        if (a >= R->sb_end)
            break;
        struct mpage *q = PG(R, a);
        if (page_writable(q)) {
            uint32_t tag = R->next_tag++;
            if (!guarded(ACC_FILL, a, NULL, R->pg / 8, tag)) {
                fail(R, "writing %s faulted; model: committed, protect %#x", A(R, a),
                     (unsigned)q->protect);
                return;
            }
            q->tag = tag;
            q->maybe_zero = 0;
        } else {
            probe_page(R, a, !q->maybe_zero);
        }
    }
}

/* Memory pressure, on demand: MADV_PAGEOUT makes the kernel reclaim the
 * pages now.  Pages MEM_RESET left clean may go (they read as zero after);
 * every other page must keep its contents (there is no swap to lose them to,
 * and with swap they come back).  This is how MEM_RESET_UNDO gets to see lost
 * pages, and how a success that did not really cancel the reset shows. */
static void op_pressure(struct run *R, const uint8_t *b)
{
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
    struct addr ad = pick_addr(R, b, 0, 0);
    uintptr_t s = pfloor(R, ad.a);
    int n = 1 + b[6] % 16, done = 0;
    snprintf(R->call, sizeof R->call, "memory pressure (MADV_PAGEOUT) on %d page(s) at %s", n,
             A(R, s));
    for (int i = 0; i < n; i++) {
        uintptr_t a = s + (size_t)i * R->pg;
        if (a >= R->sb_end)
            break;
        const struct mpage *q = PG(R, a);
        /* locked pages stay in RAM (and the kernel refuses locked mappings) */
        if (q->state == P_COMMITTED && !q->locked) {
            madvise((void *)a, R->pg, MADV_PAGEOUT);
            done++;
        }
    }
    logf_(R, "#%ld %s: %d page(s) paged out\n", R->opi, R->call, done);
}

static void op_read(struct run *R, const uint8_t *b)
{
    struct addr ad = pick_addr(R, b, 0, 0);
    uintptr_t s = pfloor(R, ad.a);
    int n = 1 + b[6] % 4;
    snprintf(R->call, sizeof R->call, "read %d page(s) at %s", n, A(R, s));
    logf_(R, "#%ld %s\n", R->opi, R->call);
    for (int i = 0; i < n && !R->failed; i++) {
        uintptr_t a = s + (size_t)i * R->pg;
        if (a >= R->sb_end)
            break;
        if (page_readable(PG(R, a)))
            check_contents(R, a);
        else
            probe_page(R, a, 0);
    }
}

/* ---- setup, the run, cleanup ------------------------------------------------------ */

static int setup(struct run *R)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    R->pg = si.dwPageSize;
    R->gran = si.dwAllocationGranularity;
    R->maxaddr = (uintptr_t)si.lpMaximumApplicationAddress;
    R->large = GetLargePageMinimum();
    if (!R->large)
        R->large = (size_t)2 << 20;
    if (GetCurrentProcess() != (HANDLE)(intptr_t)-1) {
        snprintf(R->st->msg, sizeof R->st->msg, "GetCurrentProcess() is not (HANDLE)-1");
        return -1;
    }
    void *p = VirtualAlloc(NULL, SB_SIZE, MEM_RESERVE, PAGE_NOACCESS);
    if (!p) {
        snprintf(R->st->msg, sizeof R->st->msg, "cannot reserve the sandbox: error %u",
                 (unsigned)GetLastError());
        return -1;
    }
    if (!VirtualFree(p, 0, MEM_RELEASE)) {
        snprintf(R->st->msg, sizeof R->st->msg, "cannot release the sandbox: error %u",
                 (unsigned)GetLastError());
        return -1;
    }
    R->sb = (uintptr_t)p;
    R->sb_end = R->sb + SB_SIZE;
    R->npages = SB_SIZE / R->pg;
    R->p = calloc(R->npages, sizeof *R->p);
    R->allocs = calloc(MAX_ALLOCS, sizeof *R->allocs);
    R->buf = malloc(R->pg);
    R->heap_buf = malloc(256);
    R->next_tag = 1;
    if (!R->p || !R->allocs || !R->buf || !R->heap_buf) {
        snprintf(R->st->msg, sizeof R->st->msg, "out of memory");
        return -1;
    }
    /* A small, known lock quota (spec 8: RLIMIT_MEMLOCK). */
    struct rlimit rl;
    R->lock_quota = (size_t)LOCK_QUOTA_PAGES * R->pg;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
        R->saved_rl = rl;
        R->rl_saved = 1;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < R->lock_quota)
            R->lock_quota = rl.rlim_max / R->pg * R->pg;
        rl.rlim_cur = R->lock_quota;
        if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) {
            snprintf(R->st->msg, sizeof R->st->msg, "setrlimit(RLIMIT_MEMLOCK): %s",
                     strerror(errno));
            return -1;
        }
    }
    return 0;
}

static void cleanup(struct run *R, int checked)
{
    if (R->sb) {
        while (R->nallocs) {
            uintptr_t base = R->allocs[R->nallocs - 1];
            R->focus = base;
            snprintf(R->call, sizeof R->call, "VirtualFree(%s, 0, MEM_RELEASE) [cleanup]",
                     A(R, base));
            struct expect E = { 0 };
            ex_ok(&E, 0, T_RELEASE, base, alloc_end(R, base), 0, 0);
            SetLastError(SENTINEL_A);
            BOOL ok = VirtualFree((LPVOID)base, 0, MEM_RELEASE);
            DWORD err = GetLastError();
            if (checked)
                settle(R, &E, ok, 0, err, SENTINEL_A, 0, 0);
            remove_alloc(R, base);
        }
        /* Whatever the library still holds in the sandbox (after a mismatch). */
        for (uintptr_t a = R->sb; a < R->sb_end;) {
            MEMORY_BASIC_INFORMATION g;
            if (VirtualQuery((LPCVOID)a, &g, sizeof g) != sizeof g || !g.RegionSize)
                break;
            if (g.State != MEM_FREE && in_sb(R, (uintptr_t)g.AllocationBase)) {
                if (checked)
                    fail(R, "after releasing everything, VirtualQuery(%s) reports state %#x "
                         "in an allocation at %s", A(R, a), (unsigned)g.State,
                         A(R, (uintptr_t)g.AllocationBase));
                VirtualFree(g.AllocationBase, 0, MEM_RELEASE);
            }
            a = (uintptr_t)g.BaseAddress + g.RegionSize;
        }
    }
    if (R->rl_saved)
        setrlimit(RLIMIT_MEMLOCK, &R->saved_rl);
    free(R->p);
    free(R->allocs);
    free(R->buf);
    free(R->heap_buf);
}

const char *model_kind_name(int kind)
{
    static const char *const names[MODEL_NKINDS] = { "alloc", "free", "protect", "query", "lock",
                                                     "unlock", "write", "read", "pressure",
                                                     "check", "placeholder" };
    return kind >= 0 && kind < MODEL_NKINDS ? names[kind] : "?";
}

unsigned model_parse_skip(const char *list)
{
    unsigned mask = 0;
    while (list && *list) {
        size_t n = strcspn(list, ",");
        for (int k = 0; k < MODEL_NKINDS; k++)
            if (strlen(model_kind_name(k)) == n && !strncmp(list, model_kind_name(k), n))
                mask |= 1u << k;
        list += n;
        if (*list == ',')
            list++;
    }
    return mask;
}

static int op_kind(uint8_t b0)
{
    unsigned k = b0 % 32;
    if (k <= 8) return MODEL_K_ALLOC;
    if (k <= 13) return MODEL_K_FREE;
    if (k <= 18) return MODEL_K_PROTECT;
    if (k <= 20) return MODEL_K_QUERY;
    if (k <= 22) return MODEL_K_LOCK;
    if (k <= 24) return MODEL_K_UNLOCK;
    if (k <= 28) return MODEL_K_WRITE;
    if (k <= 29) return MODEL_K_READ;
    /* Placeholders take 62 and 63 of 64 from pressure and check (the
     * regression sequences use 0x1e and 0x1f). */
    if (b0 % 64 >= 62) return MODEL_K_PLACEHOLDER;
    if (k <= 30) return MODEL_K_PRESSURE;
    return MODEL_K_CHECK;
}

int model_run_ops(const uint8_t *bytes, size_t n, const struct model_opts *o,
                  struct model_stats *st)
{
    struct model_stats local;
    static const struct model_opts defaults = { 0, NULL, 0, 0 };
    volatile int stack_var = 0;
    struct run *R = calloc(1, sizeof *R);
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->fail_op = -1;
    if (!R) {
        snprintf(st->msg, sizeof st->msg, "out of memory");
        return 2;
    }
    R->o = o ? o : &defaults;
    R->st = st;
    R->stack_addr = (uintptr_t)&stack_var;
    R->opi = -1;
    if (setup(R) != 0) {
        cleanup(R, 0);
        free(R);
        return 2;
    }
    logf_(R, "sandbox %#lx-%#lx, page %#lx, lock quota %#zx\n", (unsigned long)R->sb,
          (unsigned long)R->sb_end, (unsigned long)R->pg, R->lock_quota);
    int every = R->o->check_every > 0 ? R->o->check_every : 16;
    size_t nops = n / MODEL_OP_BYTES;
    for (size_t i = 0; i < nops && !R->failed; i++) {
        const uint8_t *b = bytes + i * MODEL_OP_BYTES;
        int k = op_kind(b[0]);
        R->opi = (long)i;
        if (R->o->skip & (1u << k))
            continue;
        st->ops++;
        st->by_kind[k]++;
        switch (k) {
        case MODEL_K_ALLOC: op_alloc(R, b); break;
        case MODEL_K_FREE: op_free(R, b); break;
        case MODEL_K_PROTECT: op_protect(R, b); break;
        case MODEL_K_QUERY: op_query(R, b); break;
        case MODEL_K_LOCK: op_lock(R, b, 1); break;
        case MODEL_K_UNLOCK: op_lock(R, b, 0); break;
        case MODEL_K_WRITE: op_write(R, b); break;
        case MODEL_K_READ: op_read(R, b); break;
        case MODEL_K_PRESSURE: op_pressure(R, b); break;
        case MODEL_K_PLACEHOLDER: op_placeholder(R, b); break;
        default:
            logf_(R, "#%ld full check\n", R->opi);
            full_check(R, 0);
            break;
        }
        if (!R->failed && (i + 1) % (size_t)every == 0)
            full_check(R, 0);
    }
    if (!R->failed) {
        R->opi = (long)nops;
        full_check(R, 1);
        cleanup(R, 1);
    } else {
        cleanup(R, 0);
    }
    (void)stack_var;
    int rc = R->failed ? 1 : 0;
    free(R);
    return rc;
}

/* ---- seeds, forked runs, shrinking, hex ------------------------------------------- */

size_t model_gen_ops(uint64_t seed, long steps, uint8_t **out)
{
    size_t n = (size_t)(steps > 0 ? steps : 0) * MODEL_OP_BYTES;
    uint8_t *b = malloc(n ? n : 1);
    uint64_t x = seed;
    for (size_t i = 0; i < n; i += 8) {
        x += 0x9E3779B97F4A7C15ull;
        uint64_t w = mix64(x);
        for (size_t j = 0; j < 8 && i + j < n; j++)
            b[i + j] = (uint8_t)(w >> (8 * j));
    }
    *out = b;
    return n;
}

int model_run_seed(uint64_t seed, long steps, const struct model_opts *o,
                   struct model_stats *st)
{
    uint8_t *b;
    size_t n = model_gen_ops(seed, steps, &b);
    int rc = model_run_ops(b, n, o, st);
    free(b);
    return rc;
}

int model_run_forked(const uint8_t *bytes, size_t n, const struct model_opts *o,
                     struct model_stats *st)
{
    int fd[2];
    memset(st, 0, sizeof *st);
    st->fail_op = -1;
    if (pipe(fd) != 0)
        return 2;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return 2;
    }
    if (pid == 0) {
        close(fd[0]);
        alarm(300);
        struct model_stats s;
        int rc = model_run_ops(bytes, n, o, &s);
        const char *p = (const char *)&s;
        size_t left = sizeof s;
        while (left) {
            ssize_t w = write(fd[1], p, left);
            if (w <= 0)
                break;
            p += w;
            left -= (size_t)w;
        }
        if (o && o->log)
            fflush(o->log);
        _exit(rc);
    }
    close(fd[1]);
    char *p = (char *)st;
    size_t got = 0;
    while (got < sizeof *st) {
        ssize_t r = read(fd[0], p + got, sizeof *st - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status)) {
        if (got < sizeof *st) {
            memset(st, 0, sizeof *st);
            st->fail_op = -1;
        }
        snprintf(st->msg, sizeof st->msg, "the run crashed with signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        return 3;
    }
    if (got < sizeof *st)
        return 2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

size_t model_shrink(const uint8_t *bytes, size_t n, double max_seconds, uint8_t **out,
                    long *tries)
{
    unsigned skip = model_parse_skip(getenv("VW_MODEL_SKIP"));
    const struct model_opts quiet = { 0, NULL, skip, 0 };
    struct model_stats st;
    size_t rec = n / MODEL_OP_BYTES;
    uint8_t *cur = malloc(rec * MODEL_OP_BYTES + 1);
    uint8_t *cand = malloc(rec * MODEL_OP_BYTES + 1);
    long runs = 0;
    double t0 = now_s();
    memcpy(cur, bytes, rec * MODEL_OP_BYTES);
    runs++;
    if (model_run_forked(cur, rec * MODEL_OP_BYTES, &quiet, &st) == 0)
        goto done;   /* does not fail (any more): nothing to shrink */
    if (st.fail_op >= 0 && (size_t)st.fail_op < rec)
        rec = (size_t)st.fail_op + 1;
    for (size_t chunk = rec / 2 ? rec / 2 : 1; chunk >= 1 && now_s() - t0 < max_seconds;) {
        int progress = 0;
        for (size_t i = 0; i < rec && now_s() - t0 < max_seconds;) {
            size_t c = chunk < rec - i ? chunk : rec - i;
            if (c == rec) {
                i += c;
                continue;
            }
            memcpy(cand, cur, i * MODEL_OP_BYTES);
            memcpy(cand + i * MODEL_OP_BYTES, cur + (i + c) * MODEL_OP_BYTES,
                   (rec - i - c) * MODEL_OP_BYTES);
            size_t nrec = rec - c;
            runs++;
            if (model_run_forked(cand, nrec * MODEL_OP_BYTES, &quiet, &st) != 0) {
                if (st.fail_op >= 0 && (size_t)st.fail_op < nrec)
                    nrec = (size_t)st.fail_op + 1;
                memcpy(cur, cand, nrec * MODEL_OP_BYTES);
                rec = nrec;
                progress = 1;
            } else {
                i += c;
            }
        }
        if (!progress) {
            if (chunk == 1)
                break;
            chunk /= 2;
        } else if (chunk > rec) {
            chunk = rec / 2 ? rec / 2 : 1;
        }
    }
done:
    free(cand);
    if (tries)
        *tries = runs;
    *out = cur;
    return rec * MODEL_OP_BYTES;
}

void model_print_hex(FILE *f, const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", bytes[i]);
}

size_t model_parse_hex(const char *s, uint8_t **out)
{
    size_t len = strlen(s), n = 0;
    uint8_t *b = malloc(len / 2 + 1);
    for (size_t i = 0; i + 1 < len + 1 && s[i];) {
        if (s[i] == ' ' || s[i] == '\n' || s[i] == ':') {
            i++;
            continue;
        }
        unsigned v;
        if (!s[i + 1] || sscanf(s + i, "%2x", &v) != 1) {
            free(b);
            return 0;
        }
        b[n++] = (uint8_t)v;
        i += 2;
    }
    if (!n) {
        free(b);
        return 0;
    }
    *out = b;
    return n;
}

void model_report_failure(FILE *f, const uint8_t *bytes, size_t n, double max_seconds,
                          const char *replay_cmd)
{
    uint8_t *small;
    long tries = 0;
    size_t m = model_shrink(bytes, n, max_seconds, &small, &tries);
    fprintf(f, "shrunk from %zu to %zu operations (%ld runs); the short sequence:\n",
            n / MODEL_OP_BYTES, m / MODEL_OP_BYTES, tries);
    struct model_opts verbose = { 0, f, model_parse_skip(getenv("VW_MODEL_SKIP")), 0 };
    struct model_stats st;
    fflush(f);
    int rc = model_run_forked(small, m, &verbose, &st);
    fprintf(f, "result: %s\n", rc ? st.msg : "passes (the failure did not reproduce)");
    fprintf(f, "replay: %s --replay ", replay_cmd ? replay_cmd : "tests/model_long");
    model_print_hex(f, small, m);
    fprintf(f, "\n");
    fflush(f);
    free(small);
}
