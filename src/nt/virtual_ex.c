/*
 * virtual_ex.c: the native edge of VirtualAlloc2: NtAllocateVirtualMemoryEx
 * with its extended parameters, and the placeholder rules of AllocationType
 * (spec section 15).
 *
 * Order (Windows' NtAllocateVirtualMemoryEx, checked against Wine's
 * conformance tests, which run on Windows): the process handle; then the
 * parameter array (count > 0 with no array, an unknown, invalid or repeated
 * type, reserved bits: STATUS_INVALID_PARAMETER; an unreadable array or
 * MEM_ADDRESS_REQUIREMENTS: STATUS_ACCESS_VIOLATION); then the address
 * requirements themselves; then everything NtAllocateVirtualMemory checks,
 * except that a bad AllocationType is STATUS_INVALID_PARAMETER here.  A
 * count of 0 ignores the array pointer.  Nothing is written on failure.
 */
#include "nt/nt.h"
#include "core/vm.h"
#include "core/probe.h"
#include "core/space.h"

#include <string.h>

int nt_placeholder_type_invalid(ULONG type, ULONG prot)
{
    /* A new placeholder: exactly MEM_RESERVE (MEM_TOP_DOWN aside), PAGE_NOACCESS. */
    if ((type & MEM_RESERVE_PLACEHOLDER) &&
        ((type & ~(ULONG)MEM_TOP_DOWN) != (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER) ||
         prot != PAGE_NOACCESS))
        return 1;
    /* Replacing one: with MEM_RESERVE (and MEM_COMMIT, MEM_WRITE_WATCH). */
    return (type & MEM_REPLACE_PLACEHOLDER) &&
           (!(type & MEM_RESERVE) ||
            (type & (MEM_RESET | MEM_RESET_UNDO | MEM_PHYSICAL | MEM_LARGE_PAGES)));
}

/* Reads MEM_ADDRESS_REQUIREMENTS into a placement window. */
static NTSTATUS requirements(const MEM_EXTENDED_PARAMETER *p, struct vm_window *w, int *required)
{
    MEM_ADDRESS_REQUIREMENTS a;
    if (!p->Pointer)
        return STATUS_INVALID_PARAMETER;
    if (vw_probe(p->Pointer, sizeof a, VW_PROBE_READ))
        return STATUS_ACCESS_VIOLATION;
    memcpy(&a, p->Pointer, sizeof a);
    uintptr_t lo = (uintptr_t)a.LowestStartingAddress, hi = (uintptr_t)a.HighestEndingAddress;
    uintptr_t al = a.Alignment;
    /* Alignment a power of two of at least 64 KiB; the lowest start on a
     * 64 KiB boundary; the highest end the last byte of a page, inside the
     * user range, not below the lowest start. */
    if (al && ((al & (al - 1)) || al < VW_GRANULE))
        return STATUS_INVALID_PARAMETER;
    if ((lo & (VW_GRANULE - 1)) || lo > VW_MAX_ADDR)
        return STATUS_INVALID_PARAMETER;
    if (hi && (((hi + 1) & (vw_page() - 1)) || hi > VW_MAX_ADDR || hi < lo))
        return STATUS_INVALID_PARAMETER;
    w->lowest = lo;
    w->highest = hi;
    w->align = al;
    *required = (lo | hi | al) != 0;   /* all zero: no requirement */
    return STATUS_SUCCESS;
}

static NTSTATUS parameters(const MEM_EXTENDED_PARAMETER *params, ULONG count,
                           struct vm_window *w, int *required)
{
    if (!count)
        return STATUS_SUCCESS;
    /* More entries than types means a repeat. */
    if (!params || count >= MemExtendedParameterMax)
        return STATUS_INVALID_PARAMETER;
    if (vw_probe(params, count * sizeof *params, VW_PROBE_READ))
        return STATUS_ACCESS_VIOLATION;
    unsigned seen = 0;
    for (ULONG i = 0; i < count; i++) {
        MEM_EXTENDED_PARAMETER p;
        memcpy(&p, &params[i], sizeof p);
        unsigned t = (unsigned)p.Type;
        if (p.Reserved || t == MemExtendedParameterInvalidType || t >= MemExtendedParameterMax ||
            (seen & (1u << t)))
            return STATUS_INVALID_PARAMETER;
        seen |= 1u << t;
        NTSTATUS st = STATUS_SUCCESS;
        switch (t) {
        case MemExtendedParameterAddressRequirements:
            st = requirements(&p, w, required);
            break;
        case MemExtendedParameterNumaNode:
            break;   /* a preference; Linux places pages where they are first touched */
        case MemExtendedParameterAttributeFlags:
            /* EC code exists only in ARM64EC processes. */
            st = !p.ULong64                                      ? STATUS_SUCCESS
                 : (p.ULong64 & MEM_EXTENDED_PARAMETER_EC_CODE) ? STATUS_INVALID_PARAMETER
                                                                 : STATUS_NOT_SUPPORTED;
            break;
        default:   /* partitions, AWE handles, image machines */
            st = STATUS_NOT_SUPPORTED;
            break;
        }
        if (st)
            return st;
    }
    return STATUS_SUCCESS;
}

NTSTATUS nt_allocate_ex(HANDLE h, PVOID *BaseAddress, PSIZE_T RegionSize, ULONG type, ULONG prot,
                        MEM_EXTENDED_PARAMETER *params, ULONG count)
{
    vw_init();
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    struct vm_window w = { 0, 0, 0 };
    int required = 0;
    if ((st = parameters(params, count, &w, &required)))
        return st;
    return nt_allocate_in(BaseAddress, RegionSize, type, prot, &w, required,
                          STATUS_INVALID_PARAMETER);
}

VW_API NTSTATUS NTAPI NtAllocateVirtualMemoryEx(HANDLE ProcessHandle, PVOID *BaseAddress,
                                                PSIZE_T RegionSize, ULONG AllocationType,
                                                ULONG PageProtection,
                                                PMEM_EXTENDED_PARAMETER ExtendedParameters,
                                                ULONG ExtendedParameterCount)
{
    return nt_allocate_ex(ProcessHandle, BaseAddress, RegionSize, AllocationType, PageProtection,
                          ExtendedParameters, ExtendedParameterCount);
}
