/*
 * interpose.h: what the interposers (interpose.c: mmap, munmap, mprotect;
 * remap.c: mremap) share.  Internal (hidden) names; every *_locked function
 * needs the map lock held.
 */
#ifndef VW_PRELOAD_INTERPOSE_H
#define VW_PRELOAD_INTERPOSE_H

#include "core/regionmap.h"
#include <stdint.h>

/* rm_remove_range callbacks: accounting and family hooks for pages leaving
 * the map, arena granules of emptied allocations freed. */
extern const struct rm_remove_ops ip_remove_ops;
/* Sets alloc_flags bits on every allocation whose span meets [start, end). */
void ip_mark_allocs_locked(uintptr_t start, uintptr_t end, uint16_t flags);
/* 1 if [start, end) holds pages of an AWE window. */
int ip_awe_window_inside_locked(uintptr_t start, uintptr_t end);
/* 1 if some arena space in [start, end) is free (the program sees nothing). */
int ip_arena_free_inside_locked(uintptr_t start, uintptr_t end);
/* Someone else's mapping now covers [start, end) in arena space: retire it. */
void ip_retire_locked(uintptr_t start, uintptr_t end);
/* Arena space in [start, end) that the kernel unmapped is mapped PROT_NONE
 * again (remap.c). */
void ip_refill_arena_locked(uintptr_t start, uintptr_t end);
/* errno = e, -1. */
long ip_fail_errno(int e);
/* A system call passed on (the access generation moves on, os.h); the
 * _locked form is the kernel step of a call on the library's memory, where
 * the fault-injection build can fail it. */
long ip_raw(long nr, long a, long b, long c, long d, long e, long f);
long ip_raw_locked(long nr, long a, long b, long c, long d, long e, long f);

#endif
