/*
 * protect.c: VirtualProtect and VirtualProtectEx (spec sections 3 and 6).
 *
 * In the library's allocations every page of the range must be committed and
 * inside one allocation; the map records the Windows protection (guard and
 * caching bits included) and the kernel gets the PROT_* equivalent.  On memory
 * the library did not allocate (images, heap, stack, other mappings) the
 * change goes straight to the kernel, whole pages, and the old protection is
 * read from the kernel's view: JIT assemblers and hooking libraries rely on it.
 * Arena space the library holds but has not handed out is free memory and is
 * refused like any free memory.
 */
#include "core/vw.h"
#include "diag/trace.h"
#include "os/os.h"
#include "core/space.h"
#include "os/kernelview.h"
#include "core/foreign.h"
#include "core/probe.h"

#include <errno.h>
#include <sys/mman.h>

static DWORD protect_own_locked(struct vw_run *r, uintptr_t start, uintptr_t end, int change,
                                DWORD newprot, DWORD *old)
{
    struct rm_summary s;
    DWORD werr = vw_committed_range_locked(r, start, end, &s);
    if (werr)
        return werr;
    *old = s.first_protect;
    if (!change)
        return 0;
    DWORD eff = prot_effective(newprot, r->alloc_protect);
    struct rm_spares sp = { { NULL, NULL } };
    if (rm_spare_get(&vw_state.map, &sp, 2)) {
        rm_spare_put(&vw_state.map, &sp);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    int err = os_protect(start, end - start, prot_to_linux(eff));
    if (err) {
        vw_restore_protection_locked(start, end);
        rm_spare_put(&vw_state.map, &sp);
        return vw_error_from_errno(err);
    }
    rm_set_range(&vw_state.map, &sp, start, end, 0, (uint16_t)eff, 0, 0);
    rm_spare_put(&vw_state.map, &sp);
    return 0;
}

/* Foreign memory: every page must be mapped; PROT_NONE pages count as
 * PAGE_NOACCESS (a program may protect its own heap page NOACCESS and back).
 * The old protection is what VirtualQuery reports for the first page, so the
 * two always agree (PAGE_WRITECOPY on a private file mapping, for one).
 * WRITECOPY protections are accepted where every page is a private file
 * mapping, as on Windows. */
static DWORD protect_foreign(uintptr_t start, uintptr_t end, int change, DWORD newprot,
                             DWORD *old)
{
    int writecopy = (newprot & 0xFF) == PAGE_WRITECOPY || (newprot & 0xFF) == PAGE_EXECUTE_WRITECOPY;
    uintptr_t cur = start;
    while (cur < end) {
        struct kv_vma v;
        if (kv_find(cur, &v) || v.start > cur)
            return ERROR_INVALID_ADDRESS;
        if (cur == start) {
            MEMORY_BASIC_INFORMATION m;
            foreign_describe(&v, cur, v.end, &m);
            *old = m.Protect ? m.Protect : PAGE_NOACCESS;
        }
        if (writecopy && (!v.file_backed || v.shared))
            return ERROR_INVALID_PARAMETER;
        cur = v.end;
    }
    if (!change)
        return 0;
    int err = os_protect(start, end - start, prot_to_linux(newprot));
    if (err == ENOMEM)
        return ERROR_INVALID_ADDRESS;   /* unmapped meanwhile */
    return vw_error_from_errno(err);
}

/* *traced gets what was stored in *lpflOldProtect (the trace line must not
 * read it back: the change may have made it unreadable). */
static BOOL vw_protect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect, PDWORD lpflOldProtect,
                       DWORD *traced)
{
    uintptr_t addr = (uintptr_t)lpAddress;
    vw_init();
    /* WRITECOPY is checked against the memory below (foreign file mappings only). */
    DWORD err = prot_validate_ex(flNewProtect, 1);
    if (err)
        return vw_fail(err);
    /* Before any change (issue 9): NULL, unmapped, read-only, kernel addresses. */
    if (vw_probe(lpflOldProtect, sizeof *lpflOldProtect, VW_PROBE_WRITE))
        return vw_fail(ERROR_NOACCESS);
    if (vw_range_invalid(addr, dwSize ? dwSize : 1))
        return vw_fail(ERROR_INVALID_PARAMETER);
    uintptr_t start = page_floor(addr);
    uintptr_t end = dwSize ? page_ceil(addr + dwSize) : start + vw_page();
    DWORD old = PAGE_NOACCESS;

    map_lock();
    struct vw_run *r = rm_find(&vw_state.map, start);
    if (r) {
        err = prot_validate(flNewProtect);   /* private memory: no WRITECOPY */
        if (!err)
            err = protect_own_locked(r, start, end, dwSize != 0, flNewProtect, &old);
        map_unlock();
    } else if (vw_touches_library_locked(start, end)) {
        map_unlock();
        err = prot_validate(flNewProtect) ? ERROR_INVALID_PARAMETER : ERROR_INVALID_ADDRESS;
    } else {
        map_unlock();
        err = protect_foreign(start, end, dwSize != 0, flNewProtect, &old);
    }
    /* Written after the lock is dropped, only on success and on the failures
     * that report PAGE_NOACCESS (spec 6: other failures leave it untouched).
     * If the pointer lies in the pages just changed it may no longer be
     * writable: then, as Windows' kernel does (it swallows the fault of that
     * store), the change stands and the old protection is not stored. */
    uintptr_t o = (uintptr_t)lpflOldProtect;
    if ((!err || err == ERROR_INVALID_ADDRESS) &&
        (o + sizeof *lpflOldProtect <= start || o >= end ||
         !vw_probe(lpflOldProtect, sizeof *lpflOldProtect, VW_PROBE_WRITE))) {
        *lpflOldProtect = *traced = err ? PAGE_NOACCESS : old;
    }
    if (err)
        return vw_fail(err);
    return TRUE;
}

VW_API BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                                  PDWORD lpflOldProtect)
{
    DWORD traced = 0;
    BOOL r = vw_protect(lpAddress, dwSize, flNewProtect, lpflOldProtect, &traced);
    VW_TRACE(r, "VirtualProtect(%p, %z, %P, %p) = %b, old %P", lpAddress, dwSize, flNewProtect,
             lpflOldProtect, r, traced);
    return r;
}

VW_API BOOL WINAPI VirtualProtectEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                    DWORD flNewProtect, PDWORD lpflOldProtect)
{
    DWORD err = vw_check_process(hProcess);
    DWORD traced = 0;
    BOOL r = err ? vw_fail(err)
                 : vw_protect(lpAddress, dwSize, flNewProtect, lpflOldProtect, &traced);
    VW_TRACE(r, "VirtualProtectEx(%H, %p, %z, %P, %p) = %b", hProcess, lpAddress, dwSize,
             flNewProtect, lpflOldProtect, r);
    return r;
}
