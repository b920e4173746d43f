/*
 * os_signal.c: the signal primitives of os.h for the fault dispatcher.
 *
 * sigaction goes to libc's __sigaction, not to the sigaction symbol: the
 * library exports its own sigaction (src/preload/sigchain.c) so that a
 * program's handlers for the fault signals are chained rather than replacing
 * the dispatch, and the library itself must reach the real one.  libc's keeps
 * the restorer trampoline the kernel needs on x86-64 (a raw rt_sigaction
 * would have to supply one).  Masks and tgkill are raw syscalls.  Everything
 * here is async-signal-safe and leaves errno as it was.
 */
#include "os/os.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

int os_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    int saved = errno;
    int r = __sigaction(sig, act, old) == 0 ? 0 : errno;
    errno = saved;
    return r;
}

void os_sigmask(int how, const uint64_t *set, uint64_t *old)
{
    int saved = errno;
    syscall(SYS_rt_sigprocmask, how, set, old, 8);
    errno = saved;
}

void os_raise_self(int sig)
{
    int saved = errno;
    syscall(SYS_tgkill, os_getpid(), os_gettid(), sig);
    errno = saved;
}

int os_protect_in_handler(uintptr_t addr, size_t len, int prot)
{
    int saved = errno;
    long r = syscall(SYS_mprotect, addr, len, prot);
    int err = r == 0 ? 0 : errno;
    errno = saved;
    os_access_changed();
    return err;
}
