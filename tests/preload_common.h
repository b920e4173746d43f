/*
 * preload_common.h: checks shared by the programs tests/check_preload.sh runs
 * under LD_PRELOAD (preload_prog, preload_interpose_prog).  Those programs are
 * linked neither to Check nor to testutil nor to the library, so everything here
 * is static.  Define VW_PRELOAD_NAME (the program's name, a string literal)
 * before including it.
 */
#ifndef VW_PRELOAD_COMMON_H
#define VW_PRELOAD_COMMON_H

#include <virtualwin.h>

#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* The number of failed checks (the program exits 1 if there are any). */
static int vw_failures;

/* Prints "NAME: line N: cond: message" and counts a failure unless cond holds; carries on. */
#define VW_CHECK(cond, ...)                                                              \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, VW_PRELOAD_NAME ": line %d: %s: ", __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
            vw_failures++;                                                               \
        }                                                                                \
    } while (0)

static sigjmp_buf vw_probe_env;
static volatile sig_atomic_t vw_probe_active;

/* SIGSEGV/SIGBUS handler of vw_probe_access: back to the probe, else the default action. */
static inline void vw_probe_handler(int sig)
{
    if (vw_probe_active)
        siglongjmp(vw_probe_env, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* 1 if one byte at p can be read (write: written, non-destructively), 0 if it faults. */
static inline int vw_probe_access(void *p, int write)
{
    struct sigaction sa, o1, o2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = vw_probe_handler;
    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &o1);
    sigaction(SIGBUS, &sa, &o2);
    int ok;
    if (sigsetjmp(vw_probe_env, 1) == 0) {
        vw_probe_active = 1;
        if (write)
            __atomic_fetch_or((char *)p, 0, __ATOMIC_SEQ_CST);
        else
            (void)*(volatile char *)p;
        ok = 1;
    } else {
        ok = 0;
    }
    vw_probe_active = 0;
    sigaction(SIGSEGV, &o1, NULL);
    sigaction(SIGBUS, &o2, NULL);
    return ok;
}

/* VirtualQuery(p); a call that does not return sizeof(MEMORY_BASIC_INFORMATION) is a
 * failed check (the answer is then all zero). */
static inline MEMORY_BASIC_INFORMATION vw_checked_query(const void *p)
{
    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0, sizeof m);
    SIZE_T r = VirtualQuery(p, &m, sizeof m);
    VW_CHECK(r == sizeof m, "VirtualQuery(%p) returned %zu, error %u", p, (size_t)r,
             (unsigned)GetLastError());
    return m;
}

#endif
