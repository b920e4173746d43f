/*
 * query.c: VirtualQuery and VirtualQueryEx (spec section 7).
 *
 * The library's own allocations are answered from the map alone, with no
 * syscall and no lock (an optimistic, sequence-checked read: mapread.c).  Everything else is either free (unmapped, or arena
 * space the library holds but has not handed out) or foreign, and is answered
 * from the kernel's view without the lock held.  A free region runs until the
 * next allocation, arena or kernel mapping, so walking the address space with
 * BaseAddress + RegionSize visits contiguous, non-overlapping regions.
 */
#include "core/vw.h"
#include "diag/trace.h"
#include "core/space.h"
#include "os/kernelview.h"
#include "core/foreign.h"

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
    m->Type = MEM_PRIVATE;
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
                foreign_describe(&v, p, lowest(v.end, next_alloc, next_arena), m);
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

SIZE_T vw_query_region(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength)
{
    uintptr_t addr = (uintptr_t)lpAddress;
    vw_init();
    if (dwLength < sizeof(MEMORY_BASIC_INFORMATION))
        return (SIZE_T)vw_fail(ERROR_BAD_LENGTH);
    if (addr > VW_MAX_ADDR)
        return (SIZE_T)vw_fail(ERROR_INVALID_PARAMETER);
    uintptr_t p = page_floor(addr);
    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0, sizeof m);
    /* No lock: an optimistic read (core/mapread.c), safe in signal handlers. */
    struct rm_place pl;
    rm_read_place(&vw_state.map, p, &pl);
    if (pl.in_run)
        describe_own(&pl.region, p, &m);
    else
        describe_other(p, &pl, &m);
    memcpy(lpBuffer, &m, sizeof m);
    return sizeof m;
}

VW_API SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
                                  SIZE_T dwLength)
{
    SIZE_T r = vw_query_region(lpAddress, lpBuffer, dwLength);
    VW_TRACE(r != 0, "VirtualQuery(%p, %p, %z) = %z", lpAddress, lpBuffer, dwLength, r);
    return r;
}

VW_API SIZE_T WINAPI VirtualQueryEx(HANDLE hProcess, LPCVOID lpAddress,
                                    PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength)
{
    DWORD err = vw_check_process(hProcess);
    SIZE_T r = err ? (SIZE_T)vw_fail(err) : vw_query_region(lpAddress, lpBuffer, dwLength);
    VW_TRACE(r != 0, "VirtualQueryEx(%H, %p, %p, %z) = %z", hProcess, lpAddress, lpBuffer,
             dwLength, r);
    return r;
}
