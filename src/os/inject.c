/*
 * inject.c: system calls made by another process on the library's behalf,
 * through ptrace (os/inject.h has the contract).
 *
 * How (x86-64): seize the target's main thread (PTRACE_SEIZE: no signal is
 * sent, the target is not told), stop it with PTRACE_INTERRUPT, save its
 * registers and the two bytes at its instruction pointer, write a `syscall`
 * instruction there, point the registers at it with orig_rax = -1 (so that
 * the kernel does not restart a system call the thread was blocked in while
 * ours runs), single-step, read the result, and put back the bytes and the
 * registers (a blocked system call the thread was in then restarts as after
 * any ptrace stop) before detaching.  The thread is stopped for the whole
 * session, so nothing else of it runs between the calls of one session.
 *
 * The kernel's ptrace-attach check decides (Yama's ptrace_scope included):
 * EPERM comes back as it is.  A target already being traced (by a debugger)
 * gives EPERM too.  Other architectures: ENOSYS.
 */
#include "os/inject.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE 0x4206
#endif
#ifndef PTRACE_INTERRUPT
#define PTRACE_INTERRUPT 0x4207
#endif

static long pt(long req, int pid, long addr, long data)
{
    int saved = errno;
    errno = 0;
    long r = syscall(SYS_ptrace, req, pid, addr, data);
    if (r == -1 && errno)
        r = -(long)errno;   /* PEEKTEXT, raw: the word is stored at data */
    errno = saved;
    return r;
}

/* Waits for pid's next stop: 0 and *sig (the signal of a signal-delivery
 * stop, SIGTRAP for our own steps, 0 for other stops), or -errno. */
static int wait_stop(int pid, int *sig)
{
    int status;
    for (;;) {
        int saved = errno;
        long r = syscall(SYS_wait4, pid, &status, __WALL, 0);
        int e = errno;
        errno = saved;
        if (r == pid)
            break;
        if (r < 0 && e == EINTR)
            continue;
        return r < 0 ? -e : -ECHILD;
    }
    if (!WIFSTOPPED(status))
        return -ESRCH;
    *sig = (status >> 16) ? 0 : WSTOPSIG(status);
    return 0;
}

#if defined(__x86_64__)

_Static_assert(sizeof(struct user_regs_struct) <= sizeof(((struct inj_session *)0)->regs),
               "inj_session.regs holds the registers");

int os_inject_begin(int pid, struct inj_session *s)
{
    long r = pt(PTRACE_SEIZE, pid, 0, 0);
    if (r < 0)
        return (int)r;
    int sig;
    struct user_regs_struct saved;
    s->pending = 0;
    if ((r = pt(PTRACE_INTERRUPT, pid, 0, 0)) < 0 || (r = wait_stop(pid, &sig)) < 0 ||
        (r = pt(PTRACE_GETREGS, pid, 0, (long)&saved)) < 0) {
        pt(PTRACE_DETACH, pid, 0, 0);
        return (int)r;
    }
    memcpy(s->regs, &saved, sizeof saved);
    s->pid = pid;
    s->at = saved.rip;
    unsigned long word;
    if ((r = pt(PTRACE_PEEKTEXT, pid, (long)s->at, (long)&word)) < 0) {
        pt(PTRACE_DETACH, pid, 0, 0);
        return (int)r;
    }
    s->text = word;
    unsigned long patched = (word & ~0xFFFFul) | 0x050Ful;   /* 0f 05: syscall */
    if ((r = pt(PTRACE_POKETEXT, pid, (long)s->at, (long)patched)) < 0) {
        pt(PTRACE_DETACH, pid, 0, 0);
        return (int)r;
    }
    return 0;
}

long os_inject_call(struct inj_session *s, long nr, long a, long b, long c, long d, long e,
                    long f)
{
    struct user_regs_struct r;
    memcpy(&r, s->regs, sizeof r);
    r.rax = (unsigned long)nr;
    r.orig_rax = (unsigned long)-1;
    r.rdi = (unsigned long)a;
    r.rsi = (unsigned long)b;
    r.rdx = (unsigned long)c;
    r.r10 = (unsigned long)d;
    r.r8 = (unsigned long)e;
    r.r9 = (unsigned long)f;
    r.rip = s->at;
    long x;
    int sig = 0;
    if ((x = pt(PTRACE_SETREGS, s->pid, 0, (long)&r)) < 0)
        return x == -ESRCH ? -ESRCH : -EIO;
    for (int tries = 0; tries < 8; tries++) {
        if ((x = pt(PTRACE_SINGLESTEP, s->pid, 0, 0)) < 0 || (x = wait_stop(s->pid, &sig)) < 0 ||
            (x = pt(PTRACE_GETREGS, s->pid, 0, (long)&r)) < 0)
            return x == -ESRCH ? -ESRCH : -EIO;
        if (r.rip == s->at + 2)
            return (long)r.rax;
        /* A signal arrived before the step: keep it for the end, step again. */
        if (sig && sig != SIGTRAP)
            s->pending = sig;
    }
    return -EIO;
}

void os_inject_end(struct inj_session *s)
{
    pt(PTRACE_POKETEXT, s->pid, (long)s->at, (long)s->text);
    struct user_regs_struct saved;
    memcpy(&saved, s->regs, sizeof saved);
    pt(PTRACE_SETREGS, s->pid, 0, (long)&saved);
    pt(PTRACE_DETACH, s->pid, 0, 0);
    if (s->pending) {
        int e = errno;
        syscall(SYS_tgkill, s->pid, s->pid, s->pending);
        errno = e;
    }
}

#else

int os_inject_begin(int pid, struct inj_session *s)
{
    (void)pid;
    (void)s;
    return -ENOSYS;
}
long os_inject_call(struct inj_session *s, long nr, long a, long b, long c, long d, long e,
                    long f)
{
    (void)s, (void)nr, (void)a, (void)b, (void)c, (void)d, (void)e, (void)f;
    return -ENOSYS;
}
void os_inject_end(struct inj_session *s)
{
    (void)s;
}

#endif
