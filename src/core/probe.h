/*
 * probe.h: checking a caller's pointer before the library reads or writes
 * through it (issue 9: a bad pointer is ERROR_NOACCESS / STATUS_ACCESS_VIOLATION,
 * never a crash, and nothing changes).
 *
 * Every API edge probes each pointer it will read or write BEFORE it changes
 * any state, then does the work, then writes its results.  The probe answers
 * from what is cheap first and asks the kernel only when nothing cheaper can
 * tell (probe.c lists the tiers).  The commonest case, a buffer on the calling
 * thread's stack, is decided inline here with two loads and no call.
 * Must be called WITHOUT the map lock (it may take it, and may issue syscalls).
 * Async-signal-safe.
 */
#ifndef VW_PROBE_H
#define VW_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <virtualwin.h>

enum vw_access { VW_PROBE_READ = 0, VW_PROBE_WRITE = 1 };

/* The calling thread's stack mapping [lo, hi) as last learned (probe.c); hi 0
 * until then.  Only ever widened downwards (the main stack grows). */
struct vw_probe_stack {
    uintptr_t lo, hi;
};
extern __thread struct vw_probe_stack vw_probe_stack
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* Everything vw_probe does not decide inline. */
DWORD vw_probe_slow(const void *p, size_t len, enum vw_access access);

/* 0 if every byte of [p, p + len) can be accessed as `access` asks, else
 * ERROR_NOACCESS.  len 0 is always accessible (nothing will be touched).
 * Inline part: [p, p + len) lies between the current frame and the top of the
 * stack this thread is running on, so it is mapped read-write (the stack in
 * use is; a frame above ours belongs to a caller that is still running). */
static inline DWORD vw_probe(const void *p, size_t len, enum vw_access access)
{
    uintptr_t a = (uintptr_t)p, sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t lo = vw_probe_stack.lo, hi = vw_probe_stack.hi;
    if (sp >= lo && a >= sp && a < hi && len <= hi - a)
        return 0;
    return vw_probe_slow(p, len, access);
}

/* For a NUL-terminated string of unknown length (names read by
 * GetModuleHandleA and friends), in characters of `unit` bytes: 0 if readable
 * up to and including its NUL or, failing a NUL, for `max` bytes (the caller
 * then reads no further than that); ERROR_NOACCESS otherwise. */
DWORD vw_probe_string(const void *s, size_t unit, size_t max);

#endif
