/*
 * vm_query.c: the VM core's answers about an address (spec section 7): what
 * VirtualQuery / NtQueryVirtualMemory(MemoryBasicInformation) report, and the
 * whole-allocation view of MemoryRegionInformation.
 *
 * The library's own allocations are answered from the map alone, with no
 * syscall and no lock (an optimistic, sequence-checked read: mapread.c), so
 * a query is safe in a signal handler.  Everything else is either free
 * (unmapped, or arena space the library holds but has not handed out) or
 * foreign, and is answered from the kernel's view without the lock held.  A
 * free region runs until the next allocation, arena or kernel mapping, so
 * walking the address space with BaseAddress + RegionSize visits contiguous,
 * non-overlapping regions.
 */
#include "core/vm.h"
#include "core/space.h"
#include "os/kernelview.h"
#include "core/foreign.h"
#include "core/vm_section.h"

#include <string.h>
#include <sys/mman.h>

#define VW_LIMIT (VW_MAX_ADDR + 1)

/* The lowest of a, b, c and the end of the user range. */
static uintptr_t lowest(uintptr_t a, uintptr_t b, uintptr_t c)
{
    uintptr_t m = a < b ? a : b;
    m = m < c ? m : c;
    return m < VW_LIMIT ? m : VW_LIMIT;
}

/* Fills m from the region of a run (a copy read without the lock). */
static void describe_own(const struct rm_region *g, uintptr_t p, MEMORY_BASIC_INFORMATION *m)
{
    const struct vw_run *r = &g->run;
    m->BaseAddress = (PVOID)p;
    m->AllocationBase = (PVOID)r->alloc_base;
    m->AllocationProtect = r->alloc_protect;
    m->RegionSize = g->end - p;
    m->State = r->state == RUN_COMMITTED ? MEM_COMMIT : MEM_RESERVE;
    m->Protect = r->state == RUN_COMMITTED ? r->protect : 0;
    m->Type = r->kind == VM_KIND_VIEW ? MEM_MAPPED : MEM_PRIVATE;
    if (r->kind == VM_KIND_VIEW)
        vm_view_refine(m);   /* write-copy pages already copied */
}

static void describe_stack_reserve(uintptr_t base, uintptr_t p, uintptr_t end,
                                   MEMORY_BASIC_INFORMATION *m)
{
    m->BaseAddress = (PVOID)p;
    m->AllocationBase = (PVOID)base;
    m->AllocationProtect = PAGE_READWRITE;
    m->RegionSize = end - p;
    m->State = MEM_RESERVE;
    m->Protect = 0;
    m->Type = MEM_PRIVATE;
}

/* p is in no allocation (pl says what lies there): describe the free or
 * foreign region starting at p. */
static void describe_other(uintptr_t p, struct rm_place *pl, MEMORY_BASIC_INFORMATION *m)
{
    uintptr_t cur = p;
    while (cur < VW_LIMIT) {
        if (cur != p)
            rm_read_place(&vw_state.map, cur, pl);
        if (pl->in_run) {
            if (cur == p) {                /* allocated since the caller looked */
                describe_own(&pl->region, p, m);
                return;
            }
            break;
        }
        uintptr_t next_alloc = pl->next_run, stretch_end = pl->stretch_end;
        uintptr_t next_arena = pl->next_arena;
        int kind = pl->kind;

        if (kind == SPACE_ARENA) {
            /* Arena space no allocation uses is free. */
            cur = lowest(next_alloc, stretch_end, VW_LIMIT);
            if (cur != stretch_end)
                break;
            continue;
        }
        /* Outside the arenas, or arena space someone else mapped over: the
         * kernel's view, up to where the next piece of library space begins. */
        struct kv_vma v;
        int err = kv_find(cur, &v);
        if (!err && v.start <= cur) {
            if (cur == p) {
                foreign_describe(NULL, &v, p, lowest(v.end, next_alloc, next_arena), m);
                return;
            }
            break;
        }
        uintptr_t mapped = err ? VW_LIMIT : v.start;
        uintptr_t slo, shi;
        if (foreign_main_stack(&slo, &shi) && cur < shi && mapped > slo) {
            if (cur >= slo) {
                /* The unmapped part of the main thread's stack reservation. */
                if (cur == p) {
                    describe_stack_reserve(slo, p, lowest(mapped, next_alloc, next_arena), m);
                    return;
                }
                break;
            }
            mapped = slo;
        }
        cur = lowest(mapped, next_alloc, next_arena);
        if (cur != next_arena)
            break;
    }
    m->BaseAddress = (PVOID)p;
    m->AllocationBase = NULL;
    m->AllocationProtect = 0;
    m->RegionSize = cur - p;
    m->State = MEM_FREE;
    m->Protect = PAGE_NOACCESS;
    m->Type = 0;
}

void vm_query(uintptr_t p, MEMORY_BASIC_INFORMATION *m)
{
    memset(m, 0, sizeof *m);
    struct rm_place pl;
    rm_read_place(&vw_state.map, p, &pl);
    if (pl.in_run)
        describe_own(&pl.region, p, m);
    else
        describe_other(p, &pl, m);
}

/* The allocation holding p, summed run by run (own memory) or region by
 * region from the kernel's view (foreign memory: an image's or a mapping's
 * regions share an AllocationBase). */
NTSTATUS vm_region(uintptr_t p, MEMORY_REGION_INFORMATION *ri)
{
    MEMORY_BASIC_INFORMATION m;
    memset(ri, 0, sizeof *ri);
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return STATUS_POSSIBLE_DEADLOCK;
    struct vw_run *r = rm_find(&vw_state.map, p);
    if (r) {
        struct vw_run *q = rm_alloc_first(r);
        ri->AllocationBase = (PVOID)q->alloc_base;
        ri->AllocationProtect = q->alloc_protect;
        ri->RegionType = (q->kind == VM_KIND_VIEW ? MEMORY_REGION_MAPPED_DATA_FILE
                                                  : MEMORY_REGION_PRIVATE) |
                         ((q->kind == VM_KIND_LARGE_PAGES) ? MEMORY_REGION_PAGE_SIZE_LARGE : 0) |
                         ((q->kind == VM_KIND_PLACEHOLDER) ? MEMORY_REGION_PLACEHOLDER : 0);
        ri->RegionSize = rm_alloc_end(q) - q->alloc_base;
        for (; q; q = rm_alloc_next(q))
            if (q->state == RUN_COMMITTED)
                ri->CommitSize += q->end - q->start;
        map_unlock();
        return STATUS_SUCCESS;
    }
    map_unlock();
    vm_query(p, &m);
    if (m.State == MEM_FREE)
        return STATUS_INVALID_ADDRESS;
    uintptr_t base = (uintptr_t)m.AllocationBase, cur = base;
    ri->AllocationBase = m.AllocationBase;
    ri->AllocationProtect = m.AllocationProtect;
    ri->RegionType = m.Type == MEM_IMAGE    ? MEMORY_REGION_MAPPED_IMAGE
                     : m.Type == MEM_MAPPED ? MEMORY_REGION_MAPPED_DATA_FILE
                                            : MEMORY_REGION_PRIVATE;
    while (cur <= VW_MAX_ADDR) {
        vm_query(cur, &m);
        if ((uintptr_t)m.AllocationBase != base || m.State == MEM_FREE || !m.RegionSize)
            break;
        if (m.State == MEM_COMMIT)
            ri->CommitSize += m.RegionSize;
        cur += m.RegionSize;
    }
    ri->RegionSize = cur - base;
    return STATUS_SUCCESS;
}
