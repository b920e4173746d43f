/*
 * free.c: VirtualFree and VirtualFreeEx (spec section 5).
 *
 * Release drops the whole allocation from the map and gives its space back
 * (remapping it first if any page was committed, so no data, lock or commit
 * charge survives).  Decommit remaps the range PROT_NONE|MAP_NORESERVE in one
 * syscall: memory and commit charge go back and the next commit reads zero.
 */
#include "core/vw.h"
#include "diag/trace.h"
#include "os/os.h"
#include "core/space.h"

static BOOL do_release(uintptr_t addr)
{
    uintptr_t start = page_floor(addr);
    map_lock();
    /* rm_find_from, not rm_find: munmap may have taken the base page. */
    struct vw_run *r = rm_find_from(&vw_state.map, start);
    if (!r || r->alloc_base != start) {
        map_unlock();
        return vw_fail(ERROR_INVALID_ADDRESS);
    }
    uintptr_t base = r->alloc_base, end = rm_alloc_end(r);
    uint16_t flags = r->alloc_flags;
    struct rm_summary s;
    rm_summarize(&vw_state.map, r->start, end, &s);
    int err = 0;
    if (flags & ALLOC_HOLES) {
        /* Only the runs are ours to give back; the holes may hold anything. */
        for (struct vw_run *q = r; !err && q && q->alloc_base == base; q = rm_next(q))
            err = space_vacate(q->start, q->end - q->start, q->state == RUN_COMMITTED);
        if (!err)
            space_free_granules(base, end - base);   /* retired ones stay */
    } else {
        err = space_release(base, end - base, s.any_committed);
    }
    if (err) {
        /* The kernel refused: the allocation stays as it was. */
        map_unlock();
        return vw_fail(vw_error_from_errno(err));
    }
    rm_remove_alloc(&vw_state.map, r);
    vw_state.committed -= s.committed_bytes;
    vw_state.locked -= s.locked_bytes;
    map_unlock();
    return TRUE;
}

static BOOL do_decommit(uintptr_t addr, SIZE_T size)
{
    uintptr_t start = page_floor(addr), end;
    struct rm_spares sp = { { NULL, NULL } };
    if (size && vw_range_invalid(addr, size))
        return vw_fail(ERROR_INVALID_PARAMETER);
    map_lock();
    struct vw_run *r = rm_find(&vw_state.map, start);
    DWORD err = 0;
    if (!r)
        err = ERROR_INVALID_ADDRESS;
    else if (size == 0 && r->alloc_base != start)
        err = ERROR_INVALID_ADDRESS;
    else if (size && page_ceil(addr + size) > rm_alloc_end(r))
        err = ERROR_INVALID_PARAMETER;
    else if (rm_spare_get(&vw_state.map, &sp, 2))
        err = ERROR_NOT_ENOUGH_MEMORY;
    if (err) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return vw_fail(err);
    }
    end = size ? page_ceil(addr + size) : rm_alloc_end(r);
    struct rm_summary s;
    rm_summarize(&vw_state.map, start, end, &s);
    if (s.any_committed) {
        /* One remap over the whole range, unless holes in it may hold someone
         * else's mapping: then run by run. */
        int e = 0;
        if (!(r->alloc_flags & ALLOC_HOLES)) {
            e = os_decommit(start, end - start);
        } else {
            for (struct vw_run *q = rm_find_from(&vw_state.map, start); !e && q && q->start < end;
                 q = rm_next(q)) {
                uintptr_t a = q->start > start ? q->start : start;
                uintptr_t b = q->end < end ? q->end : end;
                if (q->state == RUN_COMMITTED)
                    e = os_decommit(a, b - a);
            }
        }
        if (e) {
            rm_spare_put(&vw_state.map, &sp);
            map_unlock();
            return vw_fail(vw_error_from_errno(e));
        }
        rm_set_range(&vw_state.map, &sp, start, end, RUN_RESERVED, 0, 0, 0);
        vw_state.committed -= s.committed_bytes;
        vw_state.locked -= s.locked_bytes;
    }
    rm_spare_put(&vw_state.map, &sp);
    map_unlock();
    return TRUE;
}

static BOOL vw_free(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    vw_init();
    if (dwFreeType != MEM_DECOMMIT && dwFreeType != MEM_RELEASE)
        return vw_fail(ERROR_INVALID_PARAMETER);
    if (!lpAddress)
        return vw_fail(ERROR_INVALID_PARAMETER);
    if (dwFreeType == MEM_RELEASE) {
        if (dwSize)
            return vw_fail(ERROR_INVALID_PARAMETER);
        return do_release((uintptr_t)lpAddress);
    }
    return do_decommit((uintptr_t)lpAddress, dwSize);
}

VW_API BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    BOOL r = vw_free(lpAddress, dwSize, dwFreeType);
    VW_TRACE(r, "VirtualFree(%p, %z, %F) = %b", lpAddress, dwSize, dwFreeType, r);
    return r;
}

VW_API BOOL WINAPI VirtualFreeEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                 DWORD dwFreeType)
{
    DWORD err = vw_check_process(hProcess);
    BOOL r = err ? vw_fail(err) : vw_free(lpAddress, dwSize, dwFreeType);
    VW_TRACE(r, "VirtualFreeEx(%H, %p, %z, %F) = %b", hProcess, lpAddress, dwSize, dwFreeType, r);
    return r;
}
