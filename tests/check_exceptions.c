/*
 * check_exceptions.c: spec section 12 (guard pages and exceptions), issue 13.
 *
 * - guard pages: one STATUS_GUARD_PAGE_VIOLATION per arming for read, write
 *   and execute, with [0] = 0/1/8 and [1] = the address; the guard already
 *   gone in the handler (Protect without PAGE_GUARD, AllocationProtect with
 *   it); the access succeeds on continue; re-armed by VirtualProtect;
 * - access violations: codes and parameters for free, reserved, decommitted,
 *   NOACCESS, read-only-write and no-execute pages and for NULL;
 * - CONTEXT: a handler that advances Rip past the faulting instruction and
 *   sets Rax, or pops a return address into Rip/Rsp, sees it take effect;
 * - handler order (First), removal, continue handlers, the unhandled filter
 *   and UnhandledExceptionFilter;
 * - chaining: to a program handler installed before the library's and after
 *   it (through sigaction, and bypassing it, caught at the next
 *   registration); to SIG_DFL, SIG_IGN and SA_RESETHAND handlers, where the
 *   process must die of SIGSEGV (forked children, checked from the parent);
 * - commit-on-fault from 8 threads at once; nested faults; sigaltstack; fork;
 *   RaiseException (parameters, truncation, bit 28, noncontinuable,
 *   unhandled); SIGFPE and int3; GetProcAddress through kernel32 and ntdll.
 * The register-level cases use tiny assembly helpers of known length, so
 * they run on x86-64 only; elsewhere those tests are not built (stated at the
 * end).  Check forks every test, so each starts with the library's handler
 * not yet installed.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG VW_PAGE
#define RW PAGE_READWRITE

/* Runs fn in a child; returns its wait status. */
static int run_child(void (*fn)(void))
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(20);
        fn();
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

#if defined(__x86_64__)

/* movq (%rdi),%rax and movq %rsi,(%rdi) are 3 bytes; idivl %esi is 2. */
__asm__(".text\n"
        ".globl vwt_load\n.type vwt_load,@function\nvwt_load:\n movq (%rdi), %rax\n ret\n"
        ".globl vwt_store\n.type vwt_store,@function\nvwt_store:\n movq %rsi, (%rdi)\n ret\n"
        ".globl vwt_div\n.type vwt_div,@function\nvwt_div:\n movl %edi, %eax\n cltd\n"
        " vwt_div_insn: idivl %esi\n ret\n"
        ".globl vwt_int3\n.type vwt_int3,@function\nvwt_int3:\n int3\n movl $7, %eax\n ret\n");
extern uint64_t vwt_load(const void *p);
extern void vwt_store(void *p, uint64_t v);
extern int vwt_div(int a, int b);
extern int vwt_int3(void);
#define MOV_LEN 3

/* ---- what the handlers saw ---------------------------------------------------------- */
static volatile int calls;
static EXCEPTION_RECORD seen;
static MEMORY_BASIC_INFORMATION seen_mbi;
static volatile int seq[16], nseq;

static void record(EXCEPTION_POINTERS *ep)
{
    seen = *ep->ExceptionRecord;
    memset(&seen_mbi, 0, sizeof seen_mbi);
    if (seen.NumberParameters >= 2)
        VirtualQuery((void *)seen.ExceptionInformation[1], &seen_mbi, sizeof seen_mbi);
    calls++;
}

/* Continue: the access is made again. */
static LONG CALLBACK h_retry(EXCEPTION_POINTERS *ep)
{
    record(ep);
    return EXCEPTION_CONTINUE_EXECUTION;
}

/* Skip the faulting mov; the load "returns" 0x5A5A. */
static LONG CALLBACK h_skip(EXCEPTION_POINTERS *ep)
{
    record(ep);
    ep->ContextRecord->Rip += MOV_LEN;
    ep->ContextRecord->Rax = 0x5A5A;
    return EXCEPTION_CONTINUE_EXECUTION;
}

static LONG CALLBACK h_search(EXCEPTION_POINTERS *ep)
{
    record(ep);
    return EXCEPTION_CONTINUE_SEARCH;
}

#define CHECK_REC(code, n, p0, p1)                                                       \
    do {                                                                                 \
        ck_assert_uint_eq(seen.ExceptionCode, (code));                                   \
        ck_assert_uint_eq(seen.NumberParameters, (n));                                   \
        ck_assert_uint_eq(seen.ExceptionInformation[0], (p0));                           \
        ck_assert_uint_eq(seen.ExceptionInformation[1], (uintptr_t)(p1));                \
        ck_assert_uint_eq(seen.ExceptionFlags, 0);                                       \
    } while (0)

/* ---- guard pages ------------------------------------------------------------------ */

START_TEST(guard_read_write_one_shot)
{
    char *p = vw_alloc_commit(2 * PG, RW);
    memset(p, 0x11, PG);
    DWORD old;
    ck_assert(VirtualProtect(p, PG, RW | PAGE_GUARD, &old));
    ck_assert_uint_eq(vw_query(p).Protect, RW | PAGE_GUARD);
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(1, h_retry));
    ck_assert_uint_eq(vwt_load(p + 8), 0x1111111111111111ull);
    ck_assert_int_eq(calls, 1);
    CHECK_REC(STATUS_GUARD_PAGE_VIOLATION, 2, 0, p + 8);
    ck_assert_ptr_eq(seen.ExceptionAddress, (void *)vwt_load);
    /* In the handler the guard was already gone; AllocationProtect unchanged. */
    ck_assert_uint_eq(seen_mbi.Protect, RW);
    ck_assert_uint_eq(seen_mbi.AllocationProtect, RW);
    /* One exception per arming. */
    ck_assert_uint_eq(vwt_load(p + 16), 0x1111111111111111ull);
    vwt_store(p + 24, 7);
    ck_assert_int_eq(calls, 1);
    VW_CHECK_MBI(p, p, p, RW, 2 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    vw_assert_range_agrees(p, 2 * PG);
    /* Re-armed: a write trips it this time. */
    ck_assert(VirtualProtect(p, PG, RW | PAGE_GUARD, &old));
    ck_assert_uint_eq(old, RW);
    vwt_store(p + 32, 0x42);
    ck_assert_int_eq(calls, 2);
    CHECK_REC(STATUS_GUARD_PAGE_VIOLATION, 2, 1, p + 32);
    ck_assert_uint_eq(*(uint64_t *)(p + 32), 0x42);
    ck_assert_uint_eq(vw_query(p).Protect, RW);
    /* A guard given at commit time works the same; AllocationProtect keeps it. */
    char *q = VW_ALLOC_OK(NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY | PAGE_GUARD);
    ck_assert_uint_eq(vwt_load(q), 0);
    ck_assert_int_eq(calls, 3);
    CHECK_REC(STATUS_GUARD_PAGE_VIOLATION, 2, 0, q);
    VW_CHECK_MBI(q, q, q, PAGE_READONLY | PAGE_GUARD, PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
}
END_TEST

START_TEST(guard_execute)
{
    unsigned char *p = (unsigned char *)vw_alloc_commit(PG, RW);
    p[0] = 0xC3;   /* ret */
    DWORD old;
    ck_assert(VirtualProtect(p, PG, PAGE_EXECUTE_READ | PAGE_GUARD, &old));
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_retry));
    ((void (*)(void))(uintptr_t)p)();
    ck_assert_int_eq(calls, 1);
    CHECK_REC(STATUS_GUARD_PAGE_VIOLATION, 2, 8, p);
    ck_assert_ptr_eq(seen.ExceptionAddress, p);
    ((void (*)(void))(uintptr_t)p)();
    ck_assert_int_eq(calls, 1);
    ck_assert_uint_eq(vw_query(p).Protect, PAGE_EXECUTE_READ);
}
END_TEST

/* Section 8 kept: VirtualLock on a guard page fails with 0x80000001 and clears
 * it without an exception; the next access raises none. */
START_TEST(guard_lock_no_exception)
{
    char *p = vw_alloc_commit(PG, RW);
    DWORD old;
    ck_assert(VirtualProtect(p, PG, RW | PAGE_GUARD, &old));
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_retry));
    SetLastError(0);
    ck_assert(!VirtualLock(p, PG));
    ck_assert_uint_eq(GetLastError(), STATUS_GUARD_PAGE_VIOLATION);
    ck_assert_uint_eq(vwt_load(p), 0);
    ck_assert_int_eq(calls, 0);
}
END_TEST

/* ---- access violations -------------------------------------------------------------- */

START_TEST(av_codes)
{
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_skip));
    char *r = vw_alloc_reserve(VW_64K, RW);
    vw_commit_at(r, 4 * PG, RW);
    DWORD old;
    ck_assert(VirtualProtect(r + PG, PG, PAGE_NOACCESS, &old));
    ck_assert(VirtualProtect(r + 2 * PG, PG, PAGE_READONLY, &old));
    ck_assert(VirtualFree(r + 3 * PG, PG, MEM_DECOMMIT));
    char *fr = vw_free_space(VW_64K);
    struct { char *addr; int write; } cases[] = {
        { fr + 40, 0 }, { fr + 48, 1 },                 /* free */
        { r + 8 * PG, 0 }, { r + 8 * PG + 8, 1 },      /* reserved */
        { r + 3 * PG + 16, 0 },                         /* decommitted */
        { r + PG, 0 }, { r + PG + 8, 1 },               /* NOACCESS */
        { r + 2 * PG + 24, 1 },                         /* read-only, written */
        { NULL, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = calls;
        if (cases[i].write) {
            vwt_store(cases[i].addr, 1);
        } else {
            ck_assert_uint_eq(vwt_load(cases[i].addr), 0x5A5A);
        }
        ck_assert_int_eq(calls, before + 1);
        CHECK_REC(STATUS_ACCESS_VIOLATION, 2, (ULONG_PTR)cases[i].write, cases[i].addr);
        ck_assert_ptr_eq(seen.ExceptionAddress,
                         cases[i].write ? (void *)vwt_store : (void *)vwt_load);
    }
    ck_assert_uint_eq(vwt_load(r + 2 * PG), 0);   /* read-only reads fine */
    VW_CHECK_MBI(r + 2 * PG, r + 2 * PG, r, RW, PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
}
END_TEST

/* Execute of a read-write page: [0] = 8; the handler returns from the call by
 * popping the return address into Rip (Rsp and Rip edits take effect). */
static LONG CALLBACK h_pop_return(EXCEPTION_POINTERS *ep)
{
    record(ep);
    CONTEXT *c = ep->ContextRecord;
    c->Rip = *(DWORD64 *)(uintptr_t)c->Rsp;
    c->Rsp += 8;
    c->Rax = 77;
    return EXCEPTION_CONTINUE_EXECUTION;
}

START_TEST(av_execute_context_edit)
{
    char *p = vw_alloc_commit(PG, RW);
    p[0] = (char)0xC3;
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_pop_return));
    int r = ((int (*)(void))(uintptr_t)p)();
    ck_assert_int_eq(r, 77);
    ck_assert_int_eq(calls, 1);
    CHECK_REC(STATUS_ACCESS_VIOLATION, 2, 8, p);
    ck_assert_ptr_eq(seen.ExceptionAddress, p);
}
END_TEST

/* CONTEXT contents: the registers at the fault are there. */
static DWORD64 ctx_rdi, ctx_rsi;
static DWORD ctx_flags;
static LONG CALLBACK h_regs(EXCEPTION_POINTERS *ep)
{
    ctx_rdi = ep->ContextRecord->Rdi;
    ctx_rsi = ep->ContextRecord->Rsi;
    ctx_flags = ep->ContextRecord->ContextFlags;
    return h_skip(ep);
}

START_TEST(context_registers)
{
    char *fr = vw_free_space(VW_64K);
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_regs));
    vwt_store(fr + 8, 0x123456789ull);
    ck_assert_uint_eq(ctx_rdi, (uintptr_t)(fr + 8));
    ck_assert_uint_eq(ctx_rsi, 0x123456789ull);
    ck_assert_uint_eq(ctx_flags & CONTEXT_FULL, CONTEXT_FULL);
    ck_assert_uint_eq(sizeof(CONTEXT), 1232);
    ck_assert_uint_eq(sizeof(EXCEPTION_RECORD), 152);
}
END_TEST

/* ---- order, removal, continue handlers, filter -------------------------------------- */

/* Records its id; `skip`: advances Rip past the faulting mov (exception
 * handlers that continue; continue handlers must not move it again). */
#define ORDER_HANDLER(name, id, ret, skip)                                               \
    static LONG CALLBACK name(EXCEPTION_POINTERS *ep)                                     \
    {                                                                                    \
        if (nseq < 16)                                                                   \
            seq[nseq++] = (id);                                                          \
        if (skip)                                                                        \
            ep->ContextRecord->Rip += MOV_LEN;                                           \
        return (ret);                                                                    \
    }
ORDER_HANDLER(h_a, 1, EXCEPTION_CONTINUE_SEARCH, 0)
ORDER_HANDLER(h_b, 2, EXCEPTION_CONTINUE_SEARCH, 0)
ORDER_HANDLER(h_c, 3, EXCEPTION_CONTINUE_EXECUTION, 1)
ORDER_HANDLER(h_d, 4, EXCEPTION_CONTINUE_SEARCH, 0)
ORDER_HANDLER(h_k1, 11, EXCEPTION_CONTINUE_SEARCH, 0)
ORDER_HANDLER(h_k2, 12, EXCEPTION_CONTINUE_EXECUTION, 0)
ORDER_HANDLER(h_k3, 13, EXCEPTION_CONTINUE_SEARCH, 0)

static void expect_seq(const int *want, int n)
{
    ck_assert_int_eq(nseq, n);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(seq[i], want[i]);
    nseq = 0;
}

START_TEST(order_remove_continue)
{
    char *fr = vw_free_space(VW_64K);
    PVOID a = AddVectoredExceptionHandler(0, h_a);
    PVOID c = AddVectoredExceptionHandler(0, h_c);
    PVOID b = AddVectoredExceptionHandler(1, h_b);   /* First: ahead of a */
    PVOID d = AddVectoredExceptionHandler(0, h_d);   /* after c: never reached */
    PVOID k1 = AddVectoredContinueHandler(0, h_k1);
    PVOID k2 = AddVectoredContinueHandler(0, h_k2);
    PVOID k3 = AddVectoredContinueHandler(0, h_k3);  /* after k2, which continues */
    ck_assert(a && b && c && d && k1 && k2 && k3);
    ck_assert(a != b && b != c && c != d);
    vwt_load(fr);
    expect_seq((const int[]){ 2, 1, 3, 11, 12 }, 5);
    ck_assert_uint_eq(RemoveVectoredExceptionHandler(a), 1);
    ck_assert_uint_eq(RemoveVectoredExceptionHandler(a), 0);
    ck_assert_uint_eq(RemoveVectoredExceptionHandler((PVOID)&calls), 0);
    ck_assert_uint_eq(RemoveVectoredExceptionHandler(k1), 0);   /* a continue handler */
    ck_assert_uint_eq(RemoveVectoredContinueHandler(k1), 1);
    ck_assert_uint_eq(RemoveVectoredContinueHandler(NULL), 0);
    vwt_load(fr);
    expect_seq((const int[]){ 2, 3, 12 }, 3);
    ck_assert_uint_eq(RemoveVectoredContinueHandler(k2), 1);
    ck_assert_uint_eq(RemoveVectoredExceptionHandler(b), 1);
    vwt_load(fr);
    expect_seq((const int[]){ 3, 13 }, 2);
    ck_assert_uint_eq(RemoveVectoredExceptionHandler(c), 1);
    ck_assert_uint_eq(RemoveVectoredExceptionHandler(d), 1);
    ck_assert_uint_eq(RemoveVectoredContinueHandler(k3), 1);
}
END_TEST

static volatile int filter_calls;
static LONG WINAPI f_skip(EXCEPTION_POINTERS *ep)
{
    filter_calls++;
    seen = *ep->ExceptionRecord;
    ep->ContextRecord->Rip += MOV_LEN;
    ep->ContextRecord->Rax = 99;
    return EXCEPTION_CONTINUE_EXECUTION;
}
static LONG WINAPI f_search(EXCEPTION_POINTERS *ep)
{
    (void)ep;
    filter_calls++;
    return EXCEPTION_CONTINUE_SEARCH;
}

START_TEST(unhandled_filter)
{
    char *fr = vw_free_space(VW_64K);
    ck_assert_ptr_null(SetUnhandledExceptionFilter(f_skip));
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_search));
    PVOID k = AddVectoredContinueHandler(0, h_k1);
    ck_assert_uint_eq(vwt_load(fr + 8), 99);
    ck_assert_int_eq(calls, 1);          /* the vectored handler first */
    ck_assert_int_eq(filter_calls, 1);   /* then the filter */
    expect_seq((const int[]){ 11 }, 1);  /* then the continue handlers */
    CHECK_REC(STATUS_ACCESS_VIOLATION, 2, 0, fr + 8);
    ck_assert_uint_eq(RemoveVectoredContinueHandler(k), 1);
    /* UnhandledExceptionFilter: the filter's answer, or EXECUTE_HANDLER. */
    EXCEPTION_RECORD rec;
    CONTEXT ctx;
    memset(&rec, 0, sizeof rec);
    memset(&ctx, 0, sizeof ctx);
    EXCEPTION_POINTERS ep = { &rec, &ctx };
    ck_assert_int_eq(UnhandledExceptionFilter(&ep), EXCEPTION_CONTINUE_EXECUTION);
    ck_assert(SetUnhandledExceptionFilter(f_search) == f_skip);
    ck_assert_int_eq(UnhandledExceptionFilter(&ep), EXCEPTION_EXECUTE_HANDLER);
    ck_assert(SetUnhandledExceptionFilter(NULL) == f_search);
    ck_assert_int_eq(UnhandledExceptionFilter(&ep), EXCEPTION_EXECUTE_HANDLER);
}
END_TEST

/* ---- chaining ----------------------------------------------------------------------- */

static sigjmp_buf jb;
static volatile int prog_calls;
static volatile uintptr_t prog_addr;

static void prog_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    prog_calls++;
    prog_addr = (uintptr_t)si->si_addr;
    siglongjmp(jb, 1);
}

static void set_prog_handler(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = prog_handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGSEGV, &sa, NULL), 0);
}

/* Faults at p; 1 if the program's handler was reached. */
static int fault_to_prog(const void *p)
{
    if (sigsetjmp(jb, 1) == 0) {
        vwt_load(p);
        return 0;
    }
    return 1;
}

START_TEST(chain_before_and_after)
{
    char *fr = vw_free_space(VW_64K);
    set_prog_handler(0);                 /* before the library's */
    PVOID h = AddVectoredExceptionHandler(0, h_search);
    ck_assert(fault_to_prog(fr + 8));
    ck_assert_int_eq(calls, 1);          /* the vectored handler ran first */
    ck_assert_int_eq(prog_calls, 1);
    ck_assert_uint_eq(prog_addr, (uintptr_t)(fr + 8));
    /* The program reads back its own handler, not the library's. */
    struct sigaction cur;
    ck_assert_int_eq(sigaction(SIGSEGV, NULL, &cur), 0);
    ck_assert_ptr_eq((void *)(uintptr_t)cur.sa_sigaction, (void *)(uintptr_t)prog_handler);
    /* A program handler installed after the library: the dispatch is kept. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    ck_assert_int_eq(sigaction(SIGSEGV, &dfl, NULL), 0);
    set_prog_handler(0);
    ck_assert(fault_to_prog(fr + 16));
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(prog_calls, 2);
    /* A handler that continues keeps the program's handler out of it. */
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(1, h_skip));
    ck_assert(!fault_to_prog(fr + 24));
    ck_assert_int_eq(prog_calls, 2);
    ck_assert_uint_eq(RemoveVectoredExceptionHandler(h), 1);
}
END_TEST

/* A handler installed past the interposer (libc's __sigaction, as a raw
 * rt_sigaction would) replaces the library's in the kernel; the next
 * registration takes the signal back and chains to it. */
extern int __sigaction(int, const struct sigaction *, struct sigaction *);
START_TEST(chain_after_raw_install)
{
    char *fr = vw_free_space(VW_64K);
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_search));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = prog_handler;
    sa.sa_flags = SA_SIGINFO;
    ck_assert_int_eq(__sigaction(SIGSEGV, &sa, NULL), 0);
    ck_assert(fault_to_prog(fr));
    ck_assert_int_eq(calls, 0);          /* bypassed */
    ck_assert_ptr_nonnull(AddVectoredContinueHandler(0, h_k1));
    ck_assert(fault_to_prog(fr));
    ck_assert_int_eq(calls, 1);          /* dispatched again, then chained */
    ck_assert_int_eq(prog_calls, 2);
}
END_TEST

static void child_default(void)
{
    AddVectoredExceptionHandler(0, h_search);
    vwt_load(vw_free_space(VW_64K));
}
static void child_guard_no_handler(void)
{
    char *p = vw_alloc_commit(PG, RW);
    DWORD old;
    VirtualProtect(p, PG, RW | PAGE_GUARD, &old);
    vwt_load(p);
}
static void child_ignored(void)
{
    signal(SIGSEGV, SIG_IGN);
    AddVectoredExceptionHandler(0, h_search);
    vwt_load(vw_free_space(VW_64K));
}
static void child_resethand(void)
{
    char *fr = vw_free_space(VW_64K);
    set_prog_handler(SA_RESETHAND);
    AddVectoredExceptionHandler(0, h_search);
    if (!fault_to_prog(fr) || prog_calls != 1)
        _exit(3);
    vwt_load(fr);   /* the handler was reset: SIG_DFL */
}
static void child_sent(void)
{
    /* A SIGSEGV sent by kill is not a fault: no exception, the program's
     * handler gets it. */
    set_prog_handler(0);
    AddVectoredExceptionHandler(0, h_search);
    if (sigsetjmp(jb, 1) == 0)
        kill(getpid(), SIGSEGV);
    _exit(calls == 0 && prog_calls == 1 ? 0 : 4);
}

START_TEST(chain_to_default_dies)
{
    int st = run_child(child_default);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    st = run_child(child_guard_no_handler);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    st = run_child(child_ignored);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    st = run_child(child_resethand);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    st = run_child(child_sent);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

/* ---- threads, nesting, alternate stacks, fork ---------------------------------------- */

#define NT 8
#define TPAGES 64
static char *tres;
static volatile int tcommits;

static LONG CALLBACK h_commit(EXCEPTION_POINTERS *ep)
{
    EXCEPTION_RECORD *r = ep->ExceptionRecord;
    uintptr_t a = r->ExceptionInformation[1];
    if (r->ExceptionCode != STATUS_ACCESS_VIOLATION || a < (uintptr_t)tres ||
        a >= (uintptr_t)tres + NT * TPAGES * PG)
        return EXCEPTION_CONTINUE_SEARCH;
    if (VirtualAlloc((void *)a, 1, MEM_COMMIT, RW) == NULL)
        return EXCEPTION_CONTINUE_SEARCH;
    __atomic_fetch_add(&tcommits, 1, __ATOMIC_RELAXED);
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void *commit_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int k = 0; k < NT * TPAGES; k++) {
        int page = (k * 7 + id * 13) % (NT * TPAGES);
        uint64_t *w = (uint64_t *)(tres + (size_t)page * PG) + id;
        *w = (uint64_t)page * 100 + (uint64_t)id;
    }
    return NULL;
}

START_TEST(commit_on_fault_threads)
{
    tres = VW_ALLOC_OK(NULL, NT * TPAGES * PG, MEM_RESERVE, RW);
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_commit));
    pthread_t th[NT];
    for (int i = 0; i < NT; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, commit_thread, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NT; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_ge(tcommits, NT * TPAGES);
    for (int page = 0; page < NT * TPAGES; page++)
        for (int id = 0; id < NT; id++)
            ck_assert_uint_eq(((uint64_t *)(tres + (size_t)page * PG))[id],
                              (uint64_t)page * 100 + (uint64_t)id);
    VW_CHECK_MBI(tres, tres, tres, RW, NT * TPAGES * PG, MEM_COMMIT, RW, MEM_PRIVATE);
}
END_TEST

static char *nest_guard;
static volatile int depth, max_depth;
static DWORD nest_codes[4];

static LONG CALLBACK h_nested(EXCEPTION_POINTERS *ep)
{
    int d = __atomic_add_fetch(&depth, 1, __ATOMIC_RELAXED);
    if (d > max_depth)
        max_depth = d;
    if (d <= 4)
        nest_codes[d - 1] = ep->ExceptionRecord->ExceptionCode;
    LONG r = EXCEPTION_CONTINUE_EXECUTION;
    if (ep->ExceptionRecord->ExceptionCode == STATUS_ACCESS_VIOLATION) {
        /* Touch a guard page from inside the handler: dispatched again. */
        if (vwt_load(nest_guard) != 0x3333333333333333ull)
            r = EXCEPTION_CONTINUE_SEARCH;
        ep->ContextRecord->Rip += MOV_LEN;
        ep->ContextRecord->Rax = 5;
    }
    __atomic_sub_fetch(&depth, 1, __ATOMIC_RELAXED);
    return r;
}

START_TEST(nested_faults)
{
    nest_guard = vw_alloc_commit(PG, RW);
    memset(nest_guard, 0x33, PG);
    DWORD old;
    ck_assert(VirtualProtect(nest_guard, PG, RW | PAGE_GUARD, &old));
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_nested));
    ck_assert_uint_eq(vwt_load(vw_free_space(VW_64K)), 5);
    ck_assert_int_eq(max_depth, 2);
    ck_assert_uint_eq(nest_codes[0], STATUS_ACCESS_VIOLATION);
    ck_assert_uint_eq(nest_codes[1], STATUS_GUARD_PAGE_VIOLATION);
}
END_TEST

static volatile uintptr_t handler_local;
static LONG CALLBACK h_where(EXCEPTION_POINTERS *ep)
{
    volatile char here = 0;
    handler_local = (uintptr_t)&here;
    return h_skip(ep);
}

START_TEST(alternate_stack)
{
    static char alt[1 << 16];
    stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 }, old;
    ck_assert_int_eq(sigaltstack(&ss, &old), 0);
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_where));
    ck_assert_uint_eq(vwt_load(vw_free_space(VW_64K)), 0x5A5A);
    ck_assert(handler_local >= (uintptr_t)alt && handler_local < (uintptr_t)alt + sizeof alt);
    ss.ss_flags = SS_DISABLE;
    ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
}
END_TEST

static char *fork_guard;
static void child_after_fork(void)
{
    /* The parent's handler and the guard work in the child. */
    if (vwt_load(fork_guard) != 0 || calls != 1 || seen.ExceptionCode != STATUS_GUARD_PAGE_VIOLATION)
        _exit(5);
    if (vw_query(fork_guard).Protect != RW)
        _exit(6);
}

START_TEST(after_fork)
{
    fork_guard = vw_alloc_commit(PG, RW);
    DWORD old;
    ck_assert(VirtualProtect(fork_guard, PG, RW | PAGE_GUARD, &old));
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_retry));
    int st = run_child(child_after_fork);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    ck_assert_uint_eq(vw_query(fork_guard).Protect, RW | PAGE_GUARD);   /* parent's untouched */
}
END_TEST

/* ---- other hardware exceptions -------------------------------------------------------- */

static LONG CALLBACK h_div(EXCEPTION_POINTERS *ep)
{
    record(ep);
    if (ep->ExceptionRecord->ExceptionCode == EXCEPTION_INT_DIVIDE_BY_ZERO)
        ep->ContextRecord->Rip += 2;   /* idivl %esi */
    else if (ep->ExceptionRecord->ExceptionCode == EXCEPTION_BREAKPOINT)
        ep->ContextRecord->Rip += 1;   /* Rip is at the int3, as on Windows */
    else
        return EXCEPTION_CONTINUE_SEARCH;
    ep->ContextRecord->Rax = 99;
    return EXCEPTION_CONTINUE_EXECUTION;
}

START_TEST(divide_and_breakpoint)
{
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_div));
    ck_assert_int_eq(vwt_div(10, 0), 99);
    ck_assert_uint_eq(seen.ExceptionCode, EXCEPTION_INT_DIVIDE_BY_ZERO);
    ck_assert_int_eq(vwt_div(10, 3), 3);
    ck_assert_int_eq(vwt_int3(), 7);
    ck_assert_uint_eq(seen.ExceptionCode, EXCEPTION_BREAKPOINT);
    ck_assert_ptr_eq(seen.ExceptionAddress, (void *)vwt_int3);
    ck_assert_int_eq(calls, 2);
}
END_TEST

#endif /* __x86_64__ */

/* ---- RaiseException (any host) ---------------------------------------------------------- */

static EXCEPTION_RECORD raised, raised_inner;
static volatile int raised_calls;

static LONG CALLBACK h_raise(EXCEPTION_POINTERS *ep)
{
    raised_calls++;
    raised = *ep->ExceptionRecord;
    if (ep->ExceptionRecord->ExceptionRecord)
        raised_inner = *ep->ExceptionRecord->ExceptionRecord;
    return EXCEPTION_CONTINUE_EXECUTION;
}

START_TEST(raise_exception)
{
    ck_assert_ptr_nonnull(AddVectoredExceptionHandler(0, h_raise));
    ULONG_PTR args[20];
    for (int i = 0; i < 20; i++)
        args[i] = 1000 + (ULONG_PTR)i;
    RaiseException(0xE0000001, 0, 3, args);
    ck_assert_int_eq(raised_calls, 1);
    ck_assert_uint_eq(raised.ExceptionCode, 0xE0000001);
    ck_assert_uint_eq(raised.ExceptionFlags, 0);
    ck_assert_uint_eq(raised.NumberParameters, 3);
    ck_assert_uint_eq(raised.ExceptionInformation[2], 1002);
    ck_assert_ptr_null(raised.ExceptionRecord);
    ck_assert_ptr_nonnull(raised.ExceptionAddress);
    RaiseException(0xF0000002, 0x6, 20, args);   /* bit 28 cleared, flags masked, 15 args */
    ck_assert_uint_eq(raised.ExceptionCode, 0xE0000002);
    ck_assert_uint_eq(raised.ExceptionFlags, 0);
    ck_assert_uint_eq(raised.NumberParameters, EXCEPTION_MAXIMUM_PARAMETERS);
    ck_assert_uint_eq(raised.ExceptionInformation[14], 1014);
    RaiseException(0xE0000003, 0, 5, NULL);
    ck_assert_uint_eq(raised.NumberParameters, 0);
    /* Unreadable arguments: an access violation at their address instead. */
    char *fr = vw_free_space(VW_64K);
    RaiseException(0xE0000004, 0, 2, (const ULONG_PTR *)fr);
    ck_assert_uint_eq(raised.ExceptionCode, STATUS_ACCESS_VIOLATION);
    ck_assert_uint_eq(raised.ExceptionInformation[1], (uintptr_t)fr);
    /* The native call, with a record of the caller's. */
    EXCEPTION_RECORD r;
    memset(&r, 0, sizeof r);
    r.ExceptionCode = 0xE0000005;
    r.NumberParameters = 1;
    r.ExceptionInformation[0] = 55;
    RtlRaiseException(&r);
    ck_assert_uint_eq(raised.ExceptionCode, 0xE0000005);
    ck_assert_uint_eq(raised.ExceptionInformation[0], 55);
    ck_assert_ptr_eq(raised.ExceptionAddress, r.ExceptionAddress);
    ck_assert_int_eq(raised_calls, 5);
}
END_TEST

static LONG CALLBACK h_noncont(EXCEPTION_POINTERS *ep)
{
    if (ep->ExceptionRecord->ExceptionCode == EXCEPTION_NONCONTINUABLE_EXCEPTION)
        _exit(ep->ExceptionRecord->ExceptionRecord &&
                      ep->ExceptionRecord->ExceptionRecord->ExceptionCode == 0xE0000010 &&
                      (ep->ExceptionRecord->ExceptionFlags & EXCEPTION_NONCONTINUABLE)
                  ? 42
                  : 7);
    return EXCEPTION_CONTINUE_EXECUTION;
}
static void child_noncontinuable(void)
{
    AddVectoredExceptionHandler(0, h_noncont);
    RaiseException(0xE0000010, EXCEPTION_NONCONTINUABLE, 0, NULL);
    _exit(8);
}
static void child_unhandled(void)
{
    RaiseException(0xE0000011, 0, 0, NULL);
    _exit(9);
}

START_TEST(raise_noncontinuable_and_unhandled)
{
    int st = run_child(child_noncontinuable);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 42);
    st = run_child(child_unhandled);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}
END_TEST

/* GetProcAddress finds the Win32 calls in kernel32 and the Rtl ones in ntdll. */
START_TEST(proc_addresses)
{
    HMODULE k = GetModuleHandleA("kernel32.dll"), n = GetModuleHandleA("ntdll.dll");
    ck_assert(k && n);
    ck_assert(GetProcAddress(k, "AddVectoredExceptionHandler") ==
              (FARPROC)(void (*)(void))AddVectoredExceptionHandler);
    ck_assert(GetProcAddress(k, "RaiseException") == (FARPROC)(void (*)(void))RaiseException);
    ck_assert(GetProcAddress(k, "SetUnhandledExceptionFilter") != NULL);
    ck_assert(GetProcAddress(k, "RtlAddVectoredExceptionHandler") == NULL);
    ck_assert(GetProcAddress(n, "RtlAddVectoredExceptionHandler") ==
              (FARPROC)(void (*)(void))RtlAddVectoredExceptionHandler);
    ck_assert(GetProcAddress(n, "RtlRaiseException") != NULL);
    ck_assert(GetProcAddress(n, "AddVectoredExceptionHandler") == NULL);
}
END_TEST

/* A program that never asks for exceptions keeps its signal dispositions:
 * nothing is installed at load. */
START_TEST(nothing_installed_at_load)
{
    struct sigaction cur;
    ck_assert_int_eq(__sigaction(SIGSEGV, NULL, &cur), 0);
    ck_assert(!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL);
    (void)VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_int_eq(__sigaction(SIGSEGV, NULL, &cur), 0);
    ck_assert(!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("exceptions");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 60);
#if defined(__x86_64__)
    tcase_add_test(t, guard_read_write_one_shot);
    tcase_add_test(t, guard_execute);
    tcase_add_test(t, guard_lock_no_exception);
    tcase_add_test(t, av_codes);
    tcase_add_test(t, av_execute_context_edit);
    tcase_add_test(t, context_registers);
    tcase_add_test(t, order_remove_continue);
    tcase_add_test(t, unhandled_filter);
    tcase_add_test(t, chain_before_and_after);
    tcase_add_test(t, chain_after_raw_install);
    tcase_add_test(t, chain_to_default_dies);
    tcase_add_test(t, commit_on_fault_threads);
    tcase_add_test(t, nested_faults);
    tcase_add_test(t, alternate_stack);
    tcase_add_test(t, after_fork);
    tcase_add_test(t, divide_and_breakpoint);
#endif
    /* Not x86-64: the register-level tests above need its instruction
     * encodings (helpers of known length) and are not built. */
    tcase_add_test(t, raise_exception);
    tcase_add_test(t, raise_noncontinuable_and_unhandled);
    tcase_add_test(t, proc_addresses);
    tcase_add_test(t, nothing_installed_at_load);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
