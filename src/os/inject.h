/*
 * inject.h: system calls made by another process (one that does not run
 * libvirtualwin's request channel) through ptrace, for VirtualAllocEx,
 * VirtualFreeEx and VirtualProtectEx on it (core/inject.c).
 *
 * A session stops the target's main thread, runs any number of system calls
 * in it, and lets it go exactly as it was.  Permission is the kernel's
 * (PTRACE_MODE_ATTACH, Yama's ptrace_scope): os_inject_begin returns its
 * -EPERM.  Results are the raw system call results (-errno on failure).
 */
#ifndef VW_OS_INJECT_H
#define VW_OS_INJECT_H

/* One session, on the caller's stack (the library keeps no per-thread state
 * for it).  regs holds the target's saved registers. */
struct inj_session {
    int pid;
    int pending;              /* a signal that arrived meanwhile: sent again at the end */
    unsigned long text, at;   /* the word at the instruction pointer, and where */
    unsigned long regs[32];   /* struct user_regs_struct (27 words on x86-64) */
};

/* Starts a session in *s: 0, or -errno (EPERM: refused; ESRCH: gone; ENOSYS:
 * not on this architecture). */
int os_inject_begin(int pid, struct inj_session *s);
long os_inject_call(struct inj_session *s, long nr, long a, long b, long c, long d, long e,
                    long f);
void os_inject_end(struct inj_session *s);

#endif
