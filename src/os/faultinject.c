/*
 * faultinject.c: the fault-injection hook and its test controls (see
 * faultinject.h).  Empty unless built with -DVW_FAULT_INJECTION.  The
 * controls are meant for single-threaded tests: plain variables.
 */
#include "os/faultinject.h"

#ifdef VW_FAULT_INJECTION
#include "core/vw.h"

static long countdown;   /* the primitive that fails, counting from 1; 0: off */
static long counted;     /* primitives issued since arming */
static int fail_with;

static long call_countdown;
static void (*call_fn)(void);

int vw_fault_hit(void)
{
    if (call_countdown && --call_countdown == 0)
        call_fn();
    if (!countdown)
        return 0;
    counted++;
    if (--countdown == 0)
        return fail_with;
    return 0;
}

/* Arms the hook: the nth memory syscall from now fails with err (nth 0: off). */
VW_API void vw_fault_arm(long nth, int err)
{
    countdown = nth;
    fail_with = err;
    counted = 0;
}

VW_API void vw_fault_arm_call(long nth, void (*fn)(void))
{
    call_fn = fn;
    call_countdown = nth;
}

/* Memory syscalls issued since vw_fault_arm. */
VW_API long vw_fault_count(void)
{
    return counted;
}

/* The library's bookkeeping, to check that nothing leaks. */
VW_API void vw_fault_stats(size_t *live_nodes, size_t *nallocs, size_t *committed,
                           size_t *locked)
{
    map_lock();
    *live_nodes = vw_state.map.pool.live;
    *nallocs = vw_state.map.nallocs;
    *committed = vw_state.committed;
    *locked = vw_state.locked;
    map_unlock();
}
#else
typedef int vw_faultinject_unused;   /* ISO C wants a non-empty translation unit */
#endif
