/*
 * exception.c: vectored exception and continue handlers, the
 * unhandled-exception filter, and the dispatch of faults and raised
 * exceptions through them (spec section 12), as ntdll's
 * RtlAddVectoredExceptionHandler family and RtlRaiseException do.
 *
 * Dispatch order: the exception handlers in list order (First: at the head)
 * until one returns EXCEPTION_CONTINUE_EXECUTION; if none does, the filter of
 * SetUnhandledExceptionFilter; if that continues too, the continue handlers
 * in their order (until one returns EXCEPTION_CONTINUE_EXECUTION), then
 * execution resumes with the CONTEXT as the handlers left it.  Otherwise the
 * fault goes back to the core (core/fault.c), which chains to the previous
 * sigaction or lets the process die of the signal; an unhandled raised
 * exception ends the process (SIGABRT, after a message).
 *
 * Concurrency: dispatch runs in signal handlers on any number of threads at
 * once and may nest (a handler that faults is dispatched again, its own
 * dispatch untouched).  It takes no lock: each list is an array under a
 * sequence count, copied into the dispatching frame before any handler runs
 * (so a handler may add or remove handlers, and may longjmp out).  Writers
 * (add, remove: normal code) hold `list_lock`.  A handler removed while
 * another thread is dispatching may still be called once by that dispatch, as
 * on Windows.  Handles are the addresses of slots in the lists' tables; at
 * most EXC_MAX handlers per list (Add returns NULL beyond).
 */
#include "core/vw.h"
#include "core/fault.h"
#include "core/probe.h"
#include "nt/exception.h"

#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define EXC_MAX 64

struct exc_list {
    unsigned seq;                                /* odd while changing */
    unsigned n;                                  /* handlers in order[] */
    unsigned char order[EXC_MAX];                /* slot numbers, dispatch order */
    PVECTORED_EXCEPTION_HANDLER slot[EXC_MAX];   /* NULL: free */
    unsigned char used[EXC_MAX];
};
static struct exc_list lists[2];
static vw_lock_t list_lock;
static __thread int list_writing __attribute__((tls_model("initial-exec")));
static LPTOP_LEVEL_EXCEPTION_FILTER top_filter;

static int fault_dispatch(struct vm_fault *f);

/* The fault handler hands faults to this file from the first registration on;
 * it also takes SIGILL, SIGFPE and SIGTRAP then, and takes back a signal
 * that something replaced without the interposer (core/fault.c). */
static void exc_arm(void)
{
    vm_fault_set_dispatcher(fault_dispatch);
    vm_fault_install_all();
}

static void list_begin(struct exc_list *l)
{
    vw_lock(&list_lock);
    list_writing = 1;
    __atomic_store_n(&l->seq, l->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void list_end(struct exc_list *l)
{
    __atomic_store_n(&l->seq, l->seq + 1, __ATOMIC_RELEASE);
    list_writing = 0;
    vw_unlock(&list_lock);
}

PVOID exc_add(int which, ULONG first, PVECTORED_EXCEPTION_HANDLER fn)
{
    vw_init();
    struct exc_list *l = &lists[which];
    PVOID h = NULL;
    list_begin(l);
    int s = 0;
    while (s < EXC_MAX && l->used[s])
        s++;
    if (s < EXC_MAX) {
        l->used[s] = 1;
        __atomic_store_n(&l->slot[s], fn, __ATOMIC_RELAXED);
        if (first) {
            memmove(l->order + 1, l->order, l->n);
            l->order[0] = (unsigned char)s;
        } else {
            l->order[l->n] = (unsigned char)s;
        }
        l->n++;
        h = &l->slot[s];
    }
    list_end(l);
    if (h)
        exc_arm();
    return h;
}

ULONG exc_remove(int which, PVOID handle)
{
    struct exc_list *l = &lists[which];
    uintptr_t h = (uintptr_t)handle, lo = (uintptr_t)&l->slot[0];
    if (h < lo || h >= lo + sizeof l->slot || (h - lo) % sizeof l->slot[0])
        return 0;
    unsigned s = (unsigned)((h - lo) / sizeof l->slot[0]);
    ULONG found = 0;
    list_begin(l);
    for (unsigned k = 0; k < l->n; k++) {
        if (l->order[k] == s) {
            memmove(l->order + k, l->order + k + 1, l->n - k - 1);
            l->n--;
            l->used[s] = 0;
            __atomic_store_n(&l->slot[s], NULL, __ATOMIC_RELAXED);
            found = 1;
            break;
        }
    }
    list_end(l);
    return found;
}

LPTOP_LEVEL_EXCEPTION_FILTER exc_set_filter(LPTOP_LEVEL_EXCEPTION_FILTER f)
{
    vw_init();
    LPTOP_LEVEL_EXCEPTION_FILTER old = __atomic_exchange_n(&top_filter, f, __ATOMIC_ACQ_REL);
    if (f)
        exc_arm();
    return old;
}

LONG exc_unhandled(EXCEPTION_POINTERS *ep)
{
    LPTOP_LEVEL_EXCEPTION_FILTER f = __atomic_load_n(&top_filter, __ATOMIC_ACQUIRE);
    LONG r = f ? f(ep) : EXCEPTION_CONTINUE_SEARCH;
    /* With no debugger to pass it to, anything but "continue" means the
     * process ends (the caller's __except runs, or the default terminates). */
    return r == EXCEPTION_CONTINUE_EXECUTION ? r : EXCEPTION_EXECUTE_HANDLER;
}

/* A consistent copy of a list's handlers in dispatch order; returns how many. */
static unsigned snapshot(int which, PVECTORED_EXCEPTION_HANDLER *out)
{
    struct exc_list *l = &lists[which];
    for (int tries = 0;; tries++) {
        unsigned s = __atomic_load_n(&l->seq, __ATOMIC_ACQUIRE);
        unsigned n = __atomic_load_n(&l->n, __ATOMIC_RELAXED), k = 0;
        for (unsigned i = 0; i < n && i < EXC_MAX; i++) {
            unsigned slot = __atomic_load_n(&l->order[i], __ATOMIC_RELAXED);
            PVECTORED_EXCEPTION_HANDLER fn =
                __atomic_load_n(&l->slot[slot % EXC_MAX], __ATOMIC_RELAXED);
            if (fn)
                out[k++] = fn;
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (!(s & 1) && __atomic_load_n(&l->seq, __ATOMIC_RELAXED) == s)
            return k;
        if (list_writing && tries > 0)
            return k;   /* interrupted this thread's own change: as it stands */
        vw_cpu_relax();
    }
}

/* Calls a list's handlers until one continues execution; returns its result
 * or EXCEPTION_CONTINUE_SEARCH. */
static LONG call_list(int which, EXCEPTION_POINTERS *ep)
{
    PVECTORED_EXCEPTION_HANDLER fns[EXC_MAX];
    unsigned n = snapshot(which, fns);
    for (unsigned i = 0; i < n; i++)
        if (fns[i](ep) == EXCEPTION_CONTINUE_EXECUTION)
            return EXCEPTION_CONTINUE_EXECUTION;
    return EXCEPTION_CONTINUE_SEARCH;
}

static int any_handler(void)
{
    return __atomic_load_n(&lists[0].n, __ATOMIC_ACQUIRE) ||
           __atomic_load_n(&top_filter, __ATOMIC_ACQUIRE);
}

/* 1 if a handler or the filter continued execution (then the continue
 * handlers have run), 0 if the exception is unhandled. */
static int dispatch(EXCEPTION_RECORD *rec, CONTEXT *ctx)
{
    EXCEPTION_POINTERS ep = { rec, ctx };
    if (call_list(0, &ep) != EXCEPTION_CONTINUE_EXECUTION) {
        LPTOP_LEVEL_EXCEPTION_FILTER f = __atomic_load_n(&top_filter, __ATOMIC_ACQUIRE);
        if (!f || f(&ep) != EXCEPTION_CONTINUE_EXECUTION)
            return 0;
    }
    call_list(1, &ep);
    return 1;
}

/* ---- hardware faults ------------------------------------------------------------ */

static DWORD fpe_code(int si_code)
{
    switch (si_code) {
    case FPE_INTDIV: return EXCEPTION_INT_DIVIDE_BY_ZERO;
    case FPE_INTOVF: return EXCEPTION_INT_OVERFLOW;
    case FPE_FLTDIV: return EXCEPTION_FLT_DIVIDE_BY_ZERO;
    case FPE_FLTOVF: return EXCEPTION_FLT_OVERFLOW;
    case FPE_FLTUND: return EXCEPTION_FLT_UNDERFLOW;
    case FPE_FLTRES: return EXCEPTION_FLT_INEXACT_RESULT;
    case FPE_FLTSUB: return EXCEPTION_ARRAY_BOUNDS_EXCEEDED;
    default: return EXCEPTION_FLT_INVALID_OPERATION;
    }
}

/* The EXCEPTION_RECORD Windows would raise for this fault (0: none). */
static int fault_record(const struct vm_fault *f, CONTEXT *ctx, EXCEPTION_RECORD *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->ExceptionAddress = (PVOID)exc_context_pc(ctx);
    int code = f->info->si_code;
    switch (f->sig) {
    case SIGSEGV:
        rec->ExceptionCode = f->guard ? STATUS_GUARD_PAGE_VIOLATION : STATUS_ACCESS_VIOLATION;
        rec->NumberParameters = 2;
        rec->ExceptionInformation[0] = (ULONG_PTR)f->access;
        rec->ExceptionInformation[1] = (ULONG_PTR)f->addr;
        return 1;
    case SIGBUS:
        if (code == BUS_ADRALN) {
            rec->ExceptionCode = EXCEPTION_DATATYPE_MISALIGNMENT;
            return 1;
        }
        rec->ExceptionCode = EXCEPTION_IN_PAGE_ERROR;
        rec->NumberParameters = 3;
        rec->ExceptionInformation[0] = (ULONG_PTR)f->access;
        rec->ExceptionInformation[1] = (ULONG_PTR)f->addr;
        rec->ExceptionInformation[2] = (ULONG_PTR)(DWORD)0xC000009C;   /* STATUS_DEVICE_DATA_ERROR */
        return 1;
    case SIGILL:
        rec->ExceptionCode = code == ILL_PRVOPC || code == ILL_PRVREG
                                 ? EXCEPTION_PRIV_INSTRUCTION
                                 : EXCEPTION_ILLEGAL_INSTRUCTION;
        return 1;
    case SIGFPE:
        rec->ExceptionCode = fpe_code(code);
        return 1;
    case SIGTRAP:
        if (code == TRAP_TRACE) {
            rec->ExceptionCode = EXCEPTION_SINGLE_STEP;
            return 1;
        }
        rec->ExceptionCode = EXCEPTION_BREAKPOINT;
        rec->NumberParameters = 1;   /* [0] BREAKPOINT_BREAK */
#if defined(__x86_64__)
        /* int3 leaves Rip after itself; Windows reports the int3. */
        if (code == SI_KERNEL && ctx->Rip && *(const unsigned char *)(uintptr_t)(ctx->Rip - 1) == 0xCC) {
            ctx->Rip--;
            rec->ExceptionAddress = (PVOID)(uintptr_t)ctx->Rip;
        }
#endif
        return 1;
    }
    return 0;
}

static int fault_dispatch(struct vm_fault *f)
{
    /* A fault signal another process sent is not a fault; nothing to
     * dispatch without a handler. */
    if (f->info->si_code <= 0 || !any_handler())
        return 0;
    CONTEXT ctx;
    EXCEPTION_RECORD rec;
    exc_context_from(&ctx, f->uc);
    if (!fault_record(f, &ctx, &rec) || !dispatch(&rec, &ctx))
        return 0;
    exc_context_to(&ctx, f->uc);
    return 1;
}

/* ---- raised exceptions -------------------------------------------------------- */

void exc_raise(const EXCEPTION_RECORD *given, uintptr_t pc, uintptr_t sp)
{
    EXCEPTION_RECORD rec = *given, nested;
    CONTEXT ctx;
    ucontext_t uc;
    getcontext(&uc);
    exc_context_from(&ctx, &uc);
#if defined(__x86_64__)
    ctx.Rip = pc;
    ctx.Rsp = sp;
#else
    ctx.Pc = pc;
    ctx.Sp = sp;
#endif
    if (rec.NumberParameters > EXCEPTION_MAXIMUM_PARAMETERS)
        rec.NumberParameters = EXCEPTION_MAXIMUM_PARAMETERS;
    if (!dispatch(&rec, &ctx))
        vm_fault_unhandled(rec.ExceptionCode, (uintptr_t)rec.ExceptionAddress);
    if (!(rec.ExceptionFlags & EXCEPTION_NONCONTINUABLE))
        return;
    /* A handler continued what cannot be continued: Windows raises
     * STATUS_NONCONTINUABLE_EXCEPTION, pointing at the original. */
    memset(&nested, 0, sizeof nested);
    nested.ExceptionCode = EXCEPTION_NONCONTINUABLE_EXCEPTION;
    nested.ExceptionFlags = EXCEPTION_NONCONTINUABLE;
    nested.ExceptionRecord = &rec;
    nested.ExceptionAddress = rec.ExceptionAddress;
    exc_context_from(&ctx, &uc);
    dispatch(&nested, &ctx);
    vm_fault_unhandled(nested.ExceptionCode, (uintptr_t)nested.ExceptionAddress);
}

/* ---- the native exports ---------------------------------------------------------- */

VW_API PVOID NTAPI RtlAddVectoredExceptionHandler(ULONG First, PVECTORED_EXCEPTION_HANDLER Handler)
{
    return exc_add(0, First, Handler);
}

VW_API ULONG NTAPI RtlRemoveVectoredExceptionHandler(PVOID Handle)
{
    return exc_remove(0, Handle);
}

VW_API PVOID NTAPI RtlAddVectoredContinueHandler(ULONG First, PVECTORED_EXCEPTION_HANDLER Handler)
{
    return exc_add(1, First, Handler);
}

VW_API ULONG NTAPI RtlRemoveVectoredContinueHandler(PVOID Handle)
{
    return exc_remove(1, Handle);
}

/* The record is read through a probe: an unreadable one raises an access
 * violation at its address instead (where Windows would fault reading it).
 * ExceptionAddress is set to the caller's return address, as ntdll does. */
VW_API __attribute__((noinline)) void NTAPI RtlRaiseException(PEXCEPTION_RECORD ExceptionRecord)
{
    vw_init();
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    EXCEPTION_RECORD rec;
    memset(&rec, 0, sizeof rec);
    if (vw_probe(ExceptionRecord, sizeof *ExceptionRecord, VW_PROBE_WRITE)) {
        rec.ExceptionCode = STATUS_ACCESS_VIOLATION;
        rec.NumberParameters = 2;
        rec.ExceptionInformation[0] = 0;
        rec.ExceptionInformation[1] = (ULONG_PTR)ExceptionRecord;
        rec.ExceptionAddress = (PVOID)pc;
        exc_raise(&rec, pc, sp);
        return;
    }
    ExceptionRecord->ExceptionAddress = (PVOID)pc;
    exc_raise(ExceptionRecord, pc, sp);
}
