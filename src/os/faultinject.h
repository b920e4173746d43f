/*
 * faultinject.h: a test hook that makes the N-th memory syscall fail.
 *
 * Compiled in only with -DVW_FAULT_INJECTION (the test-only library
 * tests/libvirtualwin-fi.la); in the real library VW_FAULT_POINT() is empty.
 * Every memory primitive in os_linux.c starts with VW_FAULT_POINT(), so a
 * sweep over N exercises every failure path of every API call.
 */
#ifndef VW_FAULTINJECT_H
#define VW_FAULTINJECT_H

#ifdef VW_FAULT_INJECTION
#include <stddef.h>

/* The errno the current primitive must fail with, or 0. */
int vw_fault_hit(void);
/* Test controls (exported by the test-only library): the nth memory syscall
 * from now fails with err (0: off); syscalls since arming; bookkeeping. */
void vw_fault_arm(long nth, int err);
long vw_fault_count(void);
void vw_fault_stats(size_t *live_nodes, size_t *nallocs, size_t *committed, size_t *locked);
/* At the nth memory syscall from now, call fn first (once), with whatever
 * locks the library holds there: how tests fork while the map lock is held. */
void vw_fault_arm_call(long nth, void (*fn)(void));
#define VW_FAULT_POINT()                                                                   \
    do {                                                                                   \
        int fault_err_ = vw_fault_hit();                                                   \
        if (fault_err_)                                                                    \
            return fault_err_;                                                             \
    } while (0)
#else
#define VW_FAULT_POINT() do { } while (0)
#endif

#endif
