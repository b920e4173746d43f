/*
 * foreign.h: how memory the library did not allocate looks to Windows code.
 *
 * From the kernel's view alone (kernelview.h), without the dynamic loader, so
 * it is safe in signal handlers and never takes the loader lock:
 * - ELF objects mapped from files (executable, shared libraries) and the vDSO
 *   are MEM_IMAGE with AllocationBase at the object's first mapping;
 * - other file mappings are MEM_MAPPED, AllocationBase at the mapping's start;
 * - anonymous memory is MEM_PRIVATE; an anonymous mapping directly above a
 *   PROT_NONE one (a thread stack over its guard, a reserve-then-commit
 *   region) shares its AllocationBase;
 * - the main thread's stack is one reservation [lo, hi): hi is the top of the
 *   [stack] mapping, lo = hi - RLIMIT_STACK (or the previous mapping's end);
 *   pages below the mapped stack are MEM_RESERVE.
 * None of these functions may be called with the map lock held (syscalls).
 */
#ifndef VW_FOREIGN_H
#define VW_FOREIGN_H

#include <stdint.h>
#include <virtualwin.h>
#include "os/kernelview.h"

/* Another process, as far as typing its memory needs (core/process.c keeps
 * one per open process; NULL in the calls below means this process). */
struct foreign_src {
    int pid;
    int maps_fd;                     /* its /proc/PID/maps (kv_open), -1: text */
    uintptr_t vdso;                  /* AT_SYSINFO_EHDR, 0: unknown */
    uintptr_t stack_lo, stack_hi;    /* main thread's stack reservation, 0: unknown */
    uintptr_t start_brk;             /* where its brk heap began, 0: unknown */
};

/* Fills *s for pid from /proc/PID/auxv, stat and maps (maps_fd may be -1). */
void foreign_src_init(struct foreign_src *s, int pid, int maps_fd);
/* VirtualQuery's answer at page p of the process s describes, from the kernel's
 * view only: 0, or an errno (ESRCH: it has gone; EACCES). */
int foreign_query(const struct foreign_src *s, uintptr_t p, MEMORY_BASIC_INFORMATION *m);

/* Bounds of the main thread's stack reservation; 0 if unknown. */
int foreign_main_stack(uintptr_t *lo, uintptr_t *hi);
/* Describes [p, end) inside the kernel mapping v. */
void foreign_describe(const struct foreign_src *s, const struct kv_vma *v, uintptr_t p,
                      uintptr_t end, MEMORY_BASIC_INFORMATION *m);

#endif
