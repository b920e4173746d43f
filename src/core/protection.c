/*
 * protection.c: Windows page protections: validation (spec section 3) and
 * translation to and from Linux PROT_* bits.  Pure functions, no state.
 */
#include "core/vw.h"

#include <sys/mman.h>

DWORD prot_validate(DWORD prot)
{
    return prot_validate_ex(prot, 0);
}

DWORD prot_validate_ex(DWORD prot, int allow_writecopy)
{
    const DWORD known = 0xFF | VW_PROT_MODIFIERS | PAGE_TARGETS_INVALID;
    if (prot & ~known)
        return ERROR_INVALID_PARAMETER;
    DWORD base = prot & 0xFF;
    switch (base) {
    case PAGE_NOACCESS:
    case PAGE_READONLY:
    case PAGE_READWRITE:
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_READWRITE:
        break;
    case PAGE_WRITECOPY:
    case PAGE_EXECUTE_WRITECOPY:
        if (allow_writecopy)
            break;
        return ERROR_INVALID_PARAMETER;
    default:   /* 0, two at once */
        return ERROR_INVALID_PARAMETER;
    }
    if ((prot & PAGE_GUARD) && base == PAGE_NOACCESS)
        return ERROR_INVALID_PARAMETER;
    if ((prot & PAGE_NOCACHE) && ((prot & (PAGE_GUARD | PAGE_WRITECOMBINE)) || base == PAGE_NOACCESS))
        return ERROR_INVALID_PARAMETER;
    if ((prot & PAGE_WRITECOMBINE) && ((prot & PAGE_GUARD) || base == PAGE_NOACCESS))
        return ERROR_INVALID_PARAMETER;
    return 0;
}

int prot_to_linux(DWORD prot)
{
    if (prot & PAGE_GUARD)
        return PROT_NONE;
    switch (prot & 0xFF) {
    case PAGE_READONLY: return PROT_READ;
    case PAGE_READWRITE: return PROT_READ | PROT_WRITE;
    case PAGE_WRITECOPY: return PROT_READ | PROT_WRITE;
    case PAGE_EXECUTE: return PROT_READ | PROT_EXEC;   /* x86 Windows: EXECUTE reads */
    case PAGE_EXECUTE_READ: return PROT_READ | PROT_EXEC;
    case PAGE_EXECUTE_READWRITE: return PROT_READ | PROT_WRITE | PROT_EXEC;
    case PAGE_EXECUTE_WRITECOPY: return PROT_READ | PROT_WRITE | PROT_EXEC;
    default: return PROT_NONE;
    }
}

DWORD prot_from_linux(int prot)
{
    switch (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) {
    case PROT_READ: return PAGE_READONLY;
    case PROT_READ | PROT_WRITE: return PAGE_READWRITE;
    case PROT_WRITE: return PAGE_READWRITE;
    case PROT_EXEC: return PAGE_EXECUTE;
    case PROT_READ | PROT_EXEC: return PAGE_EXECUTE_READ;
    case PROT_READ | PROT_WRITE | PROT_EXEC: return PAGE_EXECUTE_READWRITE;
    case PROT_WRITE | PROT_EXEC: return PAGE_EXECUTE_READWRITE;
    default: return PAGE_NOACCESS;
    }
}

DWORD prot_effective(DWORD prot, DWORD alloc_protect)
{
    return (prot & (0xFF | PAGE_GUARD)) | (alloc_protect & VW_CACHE_BITS);
}

int vw_range_invalid(uintptr_t addr, size_t size)
{
    uintptr_t end = addr + size;
    return end < addr || addr > VW_MAX_ADDR || end - 1 > VW_MAX_ADDR;
}
