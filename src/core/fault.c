/*
 * fault.c: the library's handler for the fault signals, the claim registry,
 * and chaining to the handler that was there before (see fault.h for the
 * order in which a fault is handled).
 *
 * Invariants:
 * - Nothing is installed until asked (vm_fault_install*): a program that never
 *   uses guard pages, exceptions or a claiming family keeps its signals as
 *   they were.  Installed once, the handler stays for the process's life.
 * - The handler is SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART with an
 *   empty mask: on the alternate stack where the thread has one; not blocking
 *   its own signal, so that a fault inside a vectored handler is dispatched
 *   again (a synchronous fault on a blocked signal would kill the process).
 * - For each signal, `prev` is the action to chain to: what the kernel had
 *   when the library installed, or what the program set since through the
 *   interposed sigaction (vm_fault_sigaction).  It is read in the handler
 *   under a sequence count (writers hold `wlock`), never with a lock, and the
 *   handler takes no lock of its own: claimers and the table are read with
 *   acquire loads.  The map lock is taken only by vm_guard_fault, which never
 *   waits for it on a thread that holds it.
 * - Chaining is exact: the previous handler is called with its own flags
 *   (SA_SIGINFO or not, its sa_mask and SA_NODEFER applied around the call,
 *   SA_RESETHAND resetting it); SIG_DFL (and SIG_IGN for a fault the kernel
 *   raised, which the kernel would not let be ignored) restores the default
 *   action and raises the signal again, so the process dies of it as it would
 *   without the library.
 * errno is preserved across the handler.
 */
#include "core/fault.h"
#include "core/vw.h"
#include "core/vm.h"
#include "os/os.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static const int fault_sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
#define NSIGS ((int)(sizeof fault_sigs / sizeof fault_sigs[0]))

struct chain {
    unsigned seq;            /* odd while prev is being written */
    int installed;           /* the library's handler is in the kernel */
    struct sigaction prev;   /* the action to chain to */
};
static struct chain chains[NSIGS];
int vm_fault_installed_any;

/* Writers of chains[] and of the claim table (normal context, or a handler
 * interrupting none of them: a handler that interrupted its own thread's
 * writer goes ahead rather than wait for itself). */
static int wlock;
static __thread int wlock_mine __attribute__((tls_model("initial-exec")));

static int wlock_take(void)
{
    if (wlock_mine)
        return 0;
    wlock_mine = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    while (__atomic_exchange_n(&wlock, 1, __ATOMIC_ACQUIRE))
        os_yield();
    return 1;
}

static void wlock_drop(int taken)
{
    if (!taken)
        return;
    __atomic_store_n(&wlock, 0, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    wlock_mine = 0;
}

#define MAX_CLAIMERS 16
static vm_fault_claim_fn claimers[MAX_CLAIMERS];
static unsigned nclaimers;
static vm_fault_dispatch_fn dispatcher;

static void fault_handler(int sig, siginfo_t *si, void *uc);

static int sig_index(int sig)
{
    for (int i = 0; i < NSIGS; i++)
        if (fault_sigs[i] == sig)
            return i;
    return -1;
}

static int is_ours(const struct sigaction *a)
{
    return (a->sa_flags & SA_SIGINFO) && a->sa_sigaction == fault_handler;
}

/* Needs wlock. */
static void write_prev(int i, const struct sigaction *a)
{
    struct chain *c = &chains[i];
    __atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELAXED);
    rm_fence(__ATOMIC_RELEASE);
    if (is_ours(a)) {
        /* The library's own handler handed back (a program restoring what a
         * raw query showed it): chaining to it would loop; nothing is there. */
        memset(&c->prev, 0, sizeof c->prev);
        c->prev.sa_handler = SIG_DFL;
    } else {
        c->prev = *a;
    }
    __atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELEASE);
}

/* A consistent copy of prev; from a handler that interrupted this thread's
 * own write, what is there. */
RM_SEQLOCK_READER static void read_prev(int i, struct sigaction *out)
{
    struct chain *c = &chains[i];
    for (int tries = 0;; tries++) {
        unsigned s = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        memcpy(out, &c->prev, sizeof *out);
        rm_fence(__ATOMIC_ACQUIRE);
        if ((!(s & 1) && __atomic_load_n(&c->seq, __ATOMIC_RELAXED) == s) ||
            (wlock_mine && tries > 0) || tries > 1000000)
            return;
        vw_cpu_relax();
    }
}

/* Needs wlock. */
static void install_locked(int i)
{
    if (chains[i].installed)
        return;
    struct sigaction cur, sa;
    if (os_sigaction(fault_sigs[i], NULL, &cur))
        return;
    write_prev(i, &cur);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (os_sigaction(fault_sigs[i], &sa, &cur))
        return;
    if (!is_ours(&cur))
        write_prev(i, &cur);   /* changed by a raw call meanwhile */
    __atomic_store_n(&chains[i].installed, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&vm_fault_installed_any, 1, __ATOMIC_RELEASE);
}

void vm_fault_install(void)
{
    if (__atomic_load_n(&chains[0].installed, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&chains[1].installed, __ATOMIC_ACQUIRE))
        return;
    int t = wlock_take();
    install_locked(0);
    install_locked(1);
    wlock_drop(t);
}

void vm_fault_install_all(void)
{
    int t = wlock_take();
    for (int i = 0; i < NSIGS; i++) {
        if (!chains[i].installed) {
            install_locked(i);
            continue;
        }
        /* Replaced without the interposer (a raw rt_sigaction, libc's
         * internal sigaction, another runtime): chain to that one instead
         * and take the signal back. */
        struct sigaction cur, sa;
        if (os_sigaction(fault_sigs[i], NULL, &cur) || is_ours(&cur))
            continue;
        write_prev(i, &cur);
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = fault_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        os_sigaction(fault_sigs[i], &sa, NULL);
    }
    wlock_drop(t);
}

int vm_fault_claim_add(vm_fault_claim_fn fn)
{
    int t = wlock_take();
    unsigned n = nclaimers;
    int rc = -1;
    if (fn && n < MAX_CLAIMERS) {
        __atomic_store_n(&claimers[n], fn, __ATOMIC_RELAXED);
        __atomic_store_n(&nclaimers, n + 1, __ATOMIC_RELEASE);
        rc = 0;
    }
    install_locked(0);
    install_locked(1);
    wlock_drop(t);
    return rc;
}

void vm_fault_set_dispatcher(vm_fault_dispatch_fn fn)
{
    __atomic_store_n(&dispatcher, fn, __ATOMIC_RELEASE);
}

int vm_fault_sigaction(int sig, const struct sigaction *act, struct sigaction *old, int *rc)
{
    int i = sig_index(sig);
    if (i < 0 || !__atomic_load_n(&chains[i].installed, __ATOMIC_ACQUIRE))
        return 0;
    struct sigaction cur;
    int t = wlock_take();
    read_prev(i, &cur);
    if (act)
        write_prev(i, act);
    wlock_drop(t);
    if (old)
        *old = cur;
    *rc = 0;
    return 1;
}

static size_t put_hex(char *b, size_t n, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--)
        b[n++] = "0123456789ABCDEF"[(v >> (4 * i)) & 0xF];
    return n;
}

void vm_fault_unhandled(uint32_t code, uintptr_t addr)
{
    static const char a[] = "libvirtualwin: unhandled exception 0x", b[] = " at 0x";
    char msg[80];
    size_t n = 0;
    memcpy(msg, a, sizeof a - 1);
    n = put_hex(msg, sizeof a - 1, code, 8);
    memcpy(msg + n, b, sizeof b - 1);
    n = put_hex(msg, n + sizeof b - 1, addr, 16);
    msg[n++] = '\n';
    ssize_t unused = write(2, msg, n);
    (void)unused;
    abort();
}

/* ---- in the handler ------------------------------------------------------------ */

/* The kind of access that faulted, from the hardware's fault record. */
static int fault_access(int sig, const siginfo_t *si, const void *ucv)
{
    const ucontext_t *uc = ucv;
    if (sig != SIGSEGV && sig != SIGBUS)
        return VM_ACCESS_READ;
#if defined(__x86_64__)
    if ((uintptr_t)si->si_addr == (uintptr_t)uc->uc_mcontext.gregs[REG_RIP])
        return VM_ACCESS_EXECUTE;
    if (uc->uc_mcontext.gregs[REG_TRAPNO] == 14) {   /* page fault: its error code */
        long err = uc->uc_mcontext.gregs[REG_ERR];
        return err & 0x10 ? VM_ACCESS_EXECUTE : err & 0x2 ? VM_ACCESS_WRITE : VM_ACCESS_READ;
    }
#elif defined(__aarch64__)
    if ((uintptr_t)si->si_addr == (uintptr_t)uc->uc_mcontext.pc)
        return VM_ACCESS_EXECUTE;
    /* The ESR record in the signal frame's extension area. */
    const unsigned char *p = uc->uc_mcontext.__reserved;
    const unsigned char *end = p + sizeof uc->uc_mcontext.__reserved;
    while (p + 8 <= end) {
        uint32_t magic, size;
        memcpy(&magic, p, 4);
        memcpy(&size, p + 4, 4);
        if (magic == 0 || size < 8)
            break;
        if (magic == 0x45535201 && size >= 16) {   /* ESR_MAGIC */
            uint64_t esr;
            memcpy(&esr, p + 8, 8);
            unsigned ec = (unsigned)(esr >> 26) & 0x3F;
            if (ec == 0x20 || ec == 0x21)
                return VM_ACCESS_EXECUTE;
            return (ec == 0x24 || ec == 0x25) && (esr & (1u << 6)) ? VM_ACCESS_WRITE
                                                                    : VM_ACCESS_READ;
        }
        p += size;
    }
#else
    (void)si;
    (void)uc;
#endif
    return VM_ACCESS_READ;
}

/* The process dies of sig as it would without the library. */
static void die_of(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    os_sigaction(sig, &dfl, NULL);
    uint64_t m = (uint64_t)1 << (sig - 1);
    os_sigmask(SIG_UNBLOCK, &m, NULL);
    os_raise_self(sig);
}

static void chain_to_prev(int sig, siginfo_t *si, void *uc)
{
    int i = sig_index(sig);
    struct sigaction a;
    read_prev(i, &a);
    /* SIG_IGN and SIG_DFL whatever the flags say (one union holds both). */
    if (a.sa_handler == SIG_IGN) {
        if (si->si_code <= 0)
            return;   /* sent by a process: ignored, as the kernel would */
        a.sa_handler = SIG_DFL;   /* the kernel forces a fault it raised */
    }
    if (a.sa_handler == SIG_DFL) {
        die_of(sig);
        return;
    }
    if (a.sa_flags & SA_RESETHAND) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        int t = wlock_take();
        write_prev(i, &dfl);
        wlock_drop(t);
    }
    uint64_t mask, old;
    memcpy(&mask, &a.sa_mask, sizeof mask);
    if (!(a.sa_flags & SA_NODEFER))
        mask |= (uint64_t)1 << (sig - 1);
    os_sigmask(SIG_BLOCK, &mask, &old);
    if (a.sa_flags & SA_SIGINFO)
        a.sa_sigaction(sig, si, uc);
    else
        a.sa_handler(sig);
    os_sigmask(SIG_SETMASK, &old, NULL);
}

/* A fault on a page the map says allows the access: another thread made it
 * accessible (cleared the guard, committed) between the fault and now.  The
 * access is retried, twice at most in a row for one page, so that a page
 * whose kernel protection disagrees with the map is not retried forever. */
static __thread uintptr_t spurious_page __attribute__((tls_model("initial-exec")));
static __thread int spurious_count __attribute__((tls_model("initial-exec")));

static int spurious(const struct vm_fault *f)
{
    uintptr_t page = page_floor(f->addr);
    if (vm_fault_allowed(f->addr, f->access)) {
        if (page != spurious_page) {
            spurious_page = page;
            spurious_count = 0;
        }
        if (spurious_count++ < 2)
            return 1;
    }
    spurious_page = 0;
    return 0;
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    struct vm_fault f;
    f.sig = sig;
    f.info = si;
    f.uc = uc;
    f.addr = (uintptr_t)si->si_addr;
    f.access = fault_access(sig, si, uc);
    f.guard = 0;
    int kernel = si->si_code > 0;
    if (sig == SIGSEGV && si->si_code == SI_KERNEL)
        f.addr = UINTPTR_MAX;   /* no address (a general protection fault), as Windows says */
    if (kernel && sig == SIGSEGV && f.addr != UINTPTR_MAX)
        f.guard = vm_guard_fault(f.addr) == VM_GUARD_CLEARED;
    if (kernel && !f.guard && (sig == SIGSEGV || sig == SIGBUS)) {
        unsigned n = __atomic_load_n(&nclaimers, __ATOMIC_ACQUIRE);
        for (unsigned k = 0; k < n; k++) {
            vm_fault_claim_fn fn = __atomic_load_n(&claimers[k], __ATOMIC_RELAXED);
            if (fn(f.addr, f.access, uc) == 1)
                goto out;
        }
        if (sig == SIGSEGV && f.addr != UINTPTR_MAX && spurious(&f))
            goto out;
    }
    vm_fault_dispatch_fn d = __atomic_load_n(&dispatcher, __ATOMIC_ACQUIRE);
    if (d && d(&f))
        goto out;
    chain_to_prev(sig, si, uc);
out:
    errno = saved;
}
