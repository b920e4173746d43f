/*
 * topdown.h: MEM_TOP_DOWN placement: the highest 64 KiB-aligned free range
 * below lpMaximumApplicationAddress that fits, from the kernel's view,
 * leaving the main thread's stack reservation (and the kernel's guard gap
 * under it) alone.  Syscalls: call without the map lock; the caller claims
 * the range with space_claim and retries if someone mapped it meanwhile.
 */
#ifndef VW_TOPDOWN_H
#define VW_TOPDOWN_H

#include <stddef.h>
#include <stdint.h>

/* 0 and *base, or ENOMEM when no gap fits. */
int topdown_find(size_t size, uintptr_t *base);
/* 1 if [start, end) overlaps the main thread's stack reservation. */
int topdown_hits_stack(uintptr_t start, uintptr_t end);

#endif
