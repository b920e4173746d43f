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

/* Bounds of the main thread's stack reservation; 0 if unknown. */
int foreign_main_stack(uintptr_t *lo, uintptr_t *hi);
/* Describes [p, end) inside the kernel mapping v. */
void foreign_describe(const struct kv_vma *v, uintptr_t p, uintptr_t end,
                      MEMORY_BASIC_INFORMATION *m);

#endif
