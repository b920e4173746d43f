/*
 * space.h: where allocations live in the address space (placement).
 *
 * The library holds large PROT_NONE|MAP_NORESERVE "arenas" and carves NULL-
 * address allocations from them in 64 KiB granules, lowest address first, so
 * that neighbours with equal protection merge into one kernel VMA and a process
 * can hold far more allocations than vm.max_map_count.  Arena space that no
 * allocation uses is free as far as the program can tell: VirtualQuery calls it
 * MEM_FREE and an explicit VirtualAlloc there succeeds.
 *
 * Allocations at explicit addresses outside arenas, and very large ones, get
 * their own kernel mapping (placed with MAP_FIXED_NOREPLACE when explicit).
 *
 * Invariants: a granule is marked used iff some allocation's pages start in it
 * (an allocation owns its last granule whole, as on Windows); arena memory not
 * in use is PROT_NONE, unlocked and holds no data (released ranges are remapped
 * before they are marked free).  All functions need the map lock; they return 0
 * or a positive errno (EEXIST: something is already there; ENOMEM).
 */
#ifndef VW_SPACE_H
#define VW_SPACE_H

#include <stddef.h>
#include <stdint.h>

#define VW_GRANULE ((uintptr_t)0x10000)

/* Finds room for `size` bytes (page multiple) at a 64 KiB-aligned base. */
int space_alloc(size_t size, int top_down, uintptr_t *base);
/* Takes exactly [base, base+size) (base 64 KiB aligned), or fails with EEXIST
 * if any of it is in use or mapped by someone else.  Nothing is changed on failure. */
int space_claim(uintptr_t base, size_t size);
/* Gives [base, base+size) back.  `dirty`: some page may hold data, be
 * accessible or be locked, so arena pieces must be remapped first.  Returns
 * the kernel's errno if it refused the first piece (nothing changed); a later
 * piece it refuses is retired (never reused) and the call still succeeds. */
int space_release(uintptr_t base, size_t size, int dirty);

/* The two halves of space_release, for allocations with holes: give the
 * pages of [start, end) back to the kernel (arena pieces: remapped PROT_NONE
 * if dirty; others: unmapped), and mark the arena granules of [base, base+size)
 * free (the kernel state there must already be clean PROT_NONE). */
int space_vacate(uintptr_t start, size_t size, int dirty);
void space_free_granules(uintptr_t base, size_t size);
/* Marks the arena granules of [base, base+size) used for good (someone else
 * mapped over arena space). */
void space_retire(uintptr_t base, size_t size);

/* What lies at addr: arena space (ours), retired arena space (someone else's
 * mapping), or outside every arena; *end is where that stretch ends (for
 * SPACE_OUTSIDE it is left unset). */
enum { SPACE_OUTSIDE = 0, SPACE_ARENA = 1, SPACE_RETIRED = 2 };
int space_stretch(uintptr_t addr, uintptr_t *end);
/* The same, as a step of a walk over [cur, end): returns the kind at cur and
 * stores where that piece ends, clipped to end. */
int space_piece(uintptr_t cur, uintptr_t end, uintptr_t *piece_end);
/* 1 if [start, end) intersects arena space that is not retired. */
int space_holds(uintptr_t start, uintptr_t end);

/* If addr lies in an arena, stores its bounds and returns 1. */
int space_arena_at(uintptr_t addr, uintptr_t *start, uintptr_t *end);
/* The start of the first arena above addr, or UINTPTR_MAX. */
uintptr_t space_next_arena(uintptr_t addr);

#endif
