/*
 * fault.h: the process's fault handling (core/fault.c): the library's
 * SIGSEGV/SIGBUS (and SIGILL, SIGFPE, SIGTRAP) handler, the claim registry
 * other families use, and the chaining to whatever handled the signal before.
 *
 * Nothing is installed at load: the handlers go in on the first
 * vm_fault_install() (first vectored handler or unhandled-exception filter,
 * first PAGE_GUARD protection, first claimer).  A fault is then handled in
 * this order (README "Exceptions"):
 *   1. a guard page of the library's: the guard is cleared (vm_guard_fault)
 *      and STATUS_GUARD_PAGE_VIOLATION is dispatched (step 3);
 *   2. the claimers, in registration order: one returning 1 handled the fault
 *      and the access is retried;
 *   3. the exception dispatcher the native edge registered
 *      (vm_fault_set_dispatcher): vectored handlers, continue handlers, the
 *      unhandled-exception filter; 1 means execution resumes;
 *   4. the sigaction that was in place before the library's (or that the
 *      program set since, through the interposed sigaction/signal), honoured
 *      with its flags; SIG_DFL (and SIG_IGN for a fault the kernel raised):
 *      the process dies of the signal as it would without the library.
 */
#ifndef VW_FAULT_H
#define VW_FAULT_H

#include <signal.h>
#include <stdint.h>

/* Access kinds, as Windows reports them in ExceptionInformation[0]. */
enum { VM_ACCESS_READ = 0, VM_ACCESS_WRITE = 1, VM_ACCESS_EXECUTE = 8 };

typedef int (*vm_fault_claim_fn)(uintptr_t addr, int access /* 0 read, 1 write, 8 execute */,
                                 void *ucontext);
/* Registers a claimer; claimers run in the signal handler before any
 * exception dispatch; one returning 1 handled the fault and the access is
 * retried.  Async-signal-safe, never waits for the map lock.  Returns 0, or
 * -1 if the table is full.  Installs the handlers if needed. */
int vm_fault_claim_add(vm_fault_claim_fn fn);
/* Installs the SIGSEGV and SIGBUS handlers (idempotent; cheap once done). */
void vm_fault_install(void);
/* Installs SIGILL, SIGFPE and SIGTRAP too (a vectored handler or filter was
 * registered: those faults have Windows exception codes).  Also puts the
 * library's handler back where something replaced it without going through
 * the interposed sigaction (a raw syscall, another runtime): what replaced
 * it becomes the handler chained to.  Normal context only. */
void vm_fault_install_all(void);

/* What the dispatcher gets for one fault. */
struct vm_fault {
    int sig;
    siginfo_t *info;
    void *uc;            /* the ucontext_t; the dispatcher writes it back to continue */
    uintptr_t addr;      /* faulting data address (si_addr) */
    int access;          /* VM_ACCESS_* */
    int guard;           /* 1: a guard page whose guard was just cleared */
};
/* Returns 1 if execution resumes (the ucontext as the handlers left it), 0
 * to go on to the previous sigaction.  Runs in the signal handler. */
typedef int (*vm_fault_dispatch_fn)(struct vm_fault *f);
void vm_fault_set_dispatcher(vm_fault_dispatch_fn fn);

/* An exception nothing handled that no signal carries (RaiseException):
 * writes "libvirtualwin: unhandled exception 0x... at 0x..." to stderr and
 * ends the process with abort() (SIGABRT). */
__attribute__((noreturn)) void vm_fault_unhandled(uint32_t code, uintptr_t addr);

/* Nonzero once any of the library's handlers is installed: the interposed
 * sigaction and signal read it first, so that before that they are a plain
 * call to libc that runs no instrumented code (a sanitizer's runtime calls
 * sigaction while it initialises, before it can run any). */
extern int vm_fault_installed_any;

/* The interposed sigaction (src/preload/sigchain.c): for a signal whose
 * handler is the library's, the program's action is recorded as the one to
 * chain to and reported back, and the kernel keeps the library's: returns 1
 * and *rc (0, or -1 with errno EINVAL).  Returns 0 for any other signal
 * (the caller passes the call on to libc). */
int vm_fault_sigaction(int sig, const struct sigaction *act, struct sigaction *old, int *rc);

#endif
