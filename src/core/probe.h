/*
 * probe.h: checking a caller's pointer before the library reads or writes
 * through it (issue 9: a bad pointer is ERROR_NOACCESS / STATUS_ACCESS_VIOLATION,
 * never a crash, and nothing changes).
 *
 * Every API edge probes each pointer it will read or write BEFORE it changes
 * any state, then does the work, then writes its results.  The probe answers
 * from what is cheap first (kernel and null-page addresses, the calling
 * thread's own stack) and asks the kernel only when nothing cheaper can tell.
 * Must be called WITHOUT the map lock (it may issue syscalls).
 */
#ifndef VW_PROBE_H
#define VW_PROBE_H

#include <stddef.h>
#include <virtualwin.h>

enum vw_access { VW_PROBE_READ = 0, VW_PROBE_WRITE = 1 };

/* 0 if every byte of [p, p + len) can be accessed as `access` asks, else
 * ERROR_NOACCESS.  len 0 is always accessible (nothing will be touched). */
DWORD vw_probe(const void *p, size_t len, enum vw_access access);

/* For a NUL-terminated string of unknown length (names read by
 * GetModuleHandleA and friends): 0 if readable up to and including its NUL
 * within `max` bytes, ERROR_NOACCESS if not readable. */
DWORD vw_probe_string(const void *s, size_t unit, size_t max);

#endif
