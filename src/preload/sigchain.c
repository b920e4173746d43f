/*
 * sigchain.c: sigaction and signal as the program sees them, so that a
 * handler the program (or a runtime it loads) installs for SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE or SIGTRAP after the library's does not silently end the
 * library's dispatch of guard pages and exceptions.
 *
 * For a signal whose handler is the library's (core/fault.c installed it),
 * the program's action is recorded as the one the library chains to, and the
 * kernel keeps the library's: faults that no claimer, vectored handler or
 * filter takes go to the program's handler with its flags, and the program
 * reads back what it set (the library's handler never shows).  Every other
 * call goes to libc unchanged.  Exported unversioned, like mmap
 * (src/libvirtualwin.map), so that libc users' references reach these too,
 * linked or preloaded.  Code that bypasses them (a raw rt_sigaction, libc's
 * __sigaction) is caught later: the next vectored-handler registration puts
 * the library's handler back and chains to the one it found (README
 * "Exceptions").
 */
#include "core/vw.h"
#include "core/fault.h"

#include <signal.h>
#include <string.h>

extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/* Not instrumented by ThreadSanitizer: its runtime calls sigaction while it
 * initialises, when an instrumented function entry would crash it.  Until
 * the library installs a handler these only read a flag and call libc. */
#if defined(__SANITIZE_THREAD__)
#define VW_NO_TSAN __attribute__((no_sanitize("thread")))
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VW_NO_TSAN __attribute__((no_sanitize("thread")))
#endif
#endif
#ifndef VW_NO_TSAN
#define VW_NO_TSAN
#endif
typedef void (*vw_sighandler)(int);
extern vw_sighandler bsd_signal(int sig, vw_sighandler h);

VW_API VW_NO_TSAN int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    int rc;
    if (__atomic_load_n(&vm_fault_installed_any, __ATOMIC_ACQUIRE) &&
        vm_fault_sigaction(sig, act, old, &rc))
        return rc;
    return __sigaction(sig, act, old);
}

/* glibc's signal(): BSD semantics (SA_RESTART, the signal blocked in its
 * handler), as bsd_signal, which is libc's signal under another name. */
VW_API VW_NO_TSAN vw_sighandler signal(int sig, vw_sighandler h)
{
    struct sigaction a, o;
    int rc;
    if (!__atomic_load_n(&vm_fault_installed_any, __ATOMIC_ACQUIRE))
        return bsd_signal(sig, h);
    memset(&a, 0, sizeof a);
    a.sa_handler = h;
    sigemptyset(&a.sa_mask);
    sigaddset(&a.sa_mask, sig);
    a.sa_flags = SA_RESTART;
    if (h != SIG_ERR && vm_fault_sigaction(sig, &a, &o, &rc))
        return rc ? SIG_ERR : o.sa_handler;
    return bsd_signal(sig, h);
}
