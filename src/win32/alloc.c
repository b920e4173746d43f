/*
 * alloc.c: VirtualAlloc and VirtualAllocEx (spec sections 3, 4 and 10).
 *
 * Three paths after validation: reserve (MEM_RESERVE, or any request with a
 * NULL address; optionally committing at once), commit inside an existing
 * reservation, and MEM_RESET.  Each either completes or changes nothing: nodes
 * are taken from the pool before any syscall, and a failed mprotect is rolled
 * back run by run.
 */
#include "core/vw.h"
#include "diag/trace.h"
#include "os/os.h"
#include "core/space.h"
#include "core/topdown.h"

#include <errno.h>
#include <sys/mman.h>


static int overcommit_never(void)
{
    char c = 0;
    int fd = os_open_ro("/proc/sys/vm/overcommit_memory");
    if (fd >= 0) {
        os_read(fd, &c, 1);
        os_close(fd);
    }
    return c == '2';
}

DWORD vw_error_from_errno(int err)
{
    switch (err) {
    case 0: return 0;
    case EEXIST: return ERROR_INVALID_ADDRESS;
    case EACCES:
    case EPERM: return ERROR_ACCESS_DENIED;
    case ENOMEM:
        /* With strict overcommit the kernel refuses commit charge, which is what
         * Windows calls the commitment limit; otherwise ENOMEM means the address
         * space or vm.max_map_count ran out. */
        return overcommit_never() ? ERROR_COMMITMENT_LIMIT : ERROR_NOT_ENOUGH_MEMORY;
    default: return ERROR_NOT_ENOUGH_MEMORY;
    }
}

DWORD vw_commit_check_locked(size_t bytes)
{
    size_t limit = vw_state.commit_limit;
    if (limit && (bytes > limit || vw_state.committed > limit - bytes))
        return ERROR_COMMITMENT_LIMIT;
    return 0;
}

int vw_protect_back(uintptr_t addr, size_t len, int prot)
{
    int err = 0;
    for (int attempt = 0; attempt < 4; attempt++)
        if (!(err = os_protect(addr, len, prot)))
            break;
    return err;
}

void vw_restore_protection_locked(uintptr_t start, uintptr_t end)
{
    for (struct vw_run *r = rm_find_from(&vw_state.map, start); r && r->start < end; r = rm_next(r)) {
        uintptr_t a = r->start > start ? r->start : start;
        uintptr_t b = r->end < end ? r->end : end;
        vw_protect_back(a, b - a, r->state == RUN_COMMITTED ? prot_to_linux(r->protect) : PROT_NONE);
    }
}

/* Validates flAllocationType (spec 4); returns 0 or ERROR_INVALID_PARAMETER. */
static DWORD validate_type(DWORD type, uintptr_t addr, SIZE_T size, DWORD prot)
{
    const DWORD allowed = MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_TOP_DOWN |
                          MEM_WRITE_WATCH | MEM_PHYSICAL | MEM_LARGE_PAGES;
    if (type & ~allowed)
        return ERROR_INVALID_PARAMETER;
    if (!(type & (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)))
        return ERROR_INVALID_PARAMETER;
    DWORD core = type & ~(DWORD)MEM_TOP_DOWN;
    if ((type & (MEM_RESET | MEM_RESET_UNDO)) && core != MEM_RESET && core != MEM_RESET_UNDO)
        return ERROR_INVALID_PARAMETER;
    if ((type & MEM_WRITE_WATCH) && !(type & MEM_RESERVE))
        return ERROR_INVALID_PARAMETER;
    if ((type & MEM_PHYSICAL) && (core != (MEM_RESERVE | MEM_PHYSICAL) || prot != PAGE_READWRITE))
        return ERROR_INVALID_PARAMETER;
    if (type & MEM_LARGE_PAGES) {
        if ((type & (MEM_RESERVE | MEM_COMMIT)) != (MEM_RESERVE | MEM_COMMIT) ||
            size % vw_large_page_size() || addr % vw_large_page_size())
            return ERROR_INVALID_PARAMETER;
    }
    return 0;
}

/* Claims [base, end) for a new allocation, or finds room for it (addr 0). */
static int place_locked(uintptr_t addr, size_t size, uintptr_t hint, uintptr_t *base,
                        uintptr_t *end)
{
    if (addr) {
        *base = addr & ~(VW_GRANULE - 1);
        *end = page_ceil(addr + size);
        return rm_overlaps(&vw_state.map, *base, *end) ? EEXIST : space_claim(*base, *end - *base);
    }
    size = page_ceil(size);
    int err = EEXIST;
    if (hint && !rm_overlaps(&vw_state.map, hint, hint + size))
        err = space_claim(hint, size);
    if (err == 0)
        *base = hint;
    else
        err = space_alloc(size, hint != 0, base);
    *end = *base + size;
    return err;
}

static LPVOID do_reserve(uintptr_t addr, SIZE_T size, DWORD type, DWORD prot)
{
    uintptr_t base = 0, end = 0, hint = 0;
    int commit = !!(type & MEM_COMMIT);
    DWORD eff = prot_effective(prot, prot);
    int lprot = commit ? prot_to_linux(eff) : PROT_NONE;
    struct rm_spares sp = { { NULL, NULL } };
    int err;

    /* The kernel view is read before the lock is taken (syscalls). */
    if (addr && topdown_hits_stack(addr & ~(VW_GRANULE - 1), page_ceil(addr + size)))
        return (LPVOID)(uintptr_t)vw_fail(ERROR_INVALID_ADDRESS);
    if (!addr && (type & MEM_TOP_DOWN) && topdown_find(page_ceil(size), &hint))
        hint = 0;

    map_lock();
    size_t span = addr ? page_ceil(addr + size) - (addr & ~(VW_GRANULE - 1)) : page_ceil(size);
    DWORD werr = commit ? vw_commit_check_locked(span) : 0;
    if (!werr && rm_spare_get(&vw_state.map, &sp, 1))
        werr = ERROR_NOT_ENOUGH_MEMORY;
    if (werr) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return (LPVOID)(uintptr_t)vw_fail(werr);
    }
    err = place_locked(addr, size, hint, &base, &end);
    if (!err && lprot != PROT_NONE) {
        err = os_protect(base, end - base, lprot);
        if (err)
            space_release(base, end - base, 1);
    }
    if (err) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        /* Without a commit, ENOMEM can only mean address space. */
        return (LPVOID)(uintptr_t)vw_fail(err == ENOMEM && !commit ? ERROR_NOT_ENOUGH_MEMORY
                                                                   : vw_error_from_errno(err));
    }
    rm_insert_alloc(&vw_state.map, &sp, base, end, (uint16_t)(prot & 0xFFFF),
                    commit ? RUN_COMMITTED : RUN_RESERVED, (uint16_t)eff);
    if (commit)
        vw_state.committed += end - base;
    map_unlock();
    return (LPVOID)base;
}

static LPVOID do_commit(uintptr_t addr, SIZE_T size, DWORD prot)
{
    uintptr_t start = page_floor(addr), end = page_ceil(addr + size);
    struct rm_spares sp = { { NULL, NULL } };

    map_lock();
    struct vw_run *r = rm_find(&vw_state.map, start);
    if (!r || end > rm_alloc_end(r)) {
        map_unlock();
        return (LPVOID)(uintptr_t)vw_fail(ERROR_INVALID_ADDRESS);
    }
    DWORD eff = prot_effective(prot, r->alloc_protect);
    struct rm_summary s;
    rm_summarize(&vw_state.map, start, end, &s);
    DWORD werr = s.any_hole ? ERROR_INVALID_ADDRESS : vw_commit_check_locked(s.reserved_bytes);
    if (!werr && rm_spare_get(&vw_state.map, &sp, 2))
        werr = ERROR_NOT_ENOUGH_MEMORY;
    if (werr) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return (LPVOID)(uintptr_t)vw_fail(werr);
    }
    int err = os_protect(start, end - start, prot_to_linux(eff));
    if (err) {
        vw_restore_protection_locked(start, end);
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return (LPVOID)(uintptr_t)vw_fail(vw_error_from_errno(err));
    }
    rm_set_range(&vw_state.map, &sp, start, end, RUN_COMMITTED, (uint16_t)eff, 0, 0);
    vw_state.committed += s.reserved_bytes;
    rm_spare_put(&vw_state.map, &sp);
    map_unlock();
    return (LPVOID)start;
}

static LPVOID vw_alloc(LPVOID lpAddress, SIZE_T dwSize, DWORD type, DWORD prot)
{
    uintptr_t addr = (uintptr_t)lpAddress;
    vw_init();
    if (dwSize == 0)
        return (LPVOID)(uintptr_t)vw_fail(ERROR_INVALID_PARAMETER);
    DWORD err = validate_type(type, addr, dwSize, prot);
    if (!err && !(type & (MEM_RESET | MEM_RESET_UNDO)))
        err = prot_validate(prot);
    if (!err && ((addr && addr < VW_MIN_ADDR) || vw_range_invalid(addr, dwSize)))
        err = ERROR_INVALID_PARAMETER;
    if (err)
        return (LPVOID)(uintptr_t)vw_fail(err);
    if (type & (MEM_RESET | MEM_RESET_UNDO)) {
        if (!addr)
            return (LPVOID)(uintptr_t)vw_fail(ERROR_INVALID_ADDRESS);
        err = (type & MEM_RESET) ? vw_reset(addr, dwSize) : vw_reset_undo(addr, dwSize);
        return err ? (LPVOID)(uintptr_t)vw_fail(err) : (LPVOID)page_floor(addr);
    }
    if (type & (MEM_WRITE_WATCH | MEM_PHYSICAL))
        return (LPVOID)(uintptr_t)vw_fail(ERROR_NOT_SUPPORTED);   /* not built yet */
    if (type & MEM_LARGE_PAGES)
        return vw_alloc_large(addr, dwSize, prot);
    if ((type & MEM_RESERVE) || !addr)
        return do_reserve(addr, dwSize, type, prot);
    return do_commit(addr, dwSize, prot);
}

VW_API LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                                  DWORD flProtect)
{
    LPVOID r = vw_alloc(lpAddress, dwSize, flAllocationType, flProtect);
    VW_TRACE(r != NULL, "VirtualAlloc(%p, %z, %A, %P) = %p", lpAddress, dwSize, flAllocationType,
             flProtect, r);
    return r;
}

VW_API LPVOID WINAPI VirtualAllocEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                    DWORD flAllocationType, DWORD flProtect)
{
    DWORD err = vw_check_process(hProcess);
    LPVOID r = err ? (LPVOID)(uintptr_t)vw_fail(err)
                   : vw_alloc(lpAddress, dwSize, flAllocationType, flProtect);
    VW_TRACE(r != NULL, "VirtualAllocEx(%H, %p, %z, %A, %P) = %p", hProcess, lpAddress, dwSize,
             flAllocationType, flProtect, r);
    return r;
}
