/*
 * reset.c: the Win32 edge of DiscardVirtualMemory, OfferVirtualMemory /
 * ReclaimVirtualMemory and PrefetchVirtualMemory: validation, the returned
 * error and the trace line; the VM core (core/vm_reset.c) does the work, as
 * it does for MEM_RESET and MEM_RESET_UNDO.
 */
#include "core/vw.h"
#include "core/probe.h"
#include "diag/trace.h"

static DWORD discard(PVOID VirtualAddress, SIZE_T Size)
{
    uintptr_t a = (uintptr_t)VirtualAddress;
    vw_init();
    return vm_discard(a, Size, 0);
}

static DWORD offer(PVOID VirtualAddress, SIZE_T Size, OFFER_PRIORITY Priority)
{
    uintptr_t a = (uintptr_t)VirtualAddress;
    vw_init();
    if (Priority < VmOfferPriorityVeryLow || Priority > VmOfferPriorityNormal)
        return ERROR_INVALID_PARAMETER;
    return vm_discard(a, Size, 1);
}

static DWORD reclaim(LPCVOID VirtualAddress, SIZE_T Size)
{
    uintptr_t a = (uintptr_t)VirtualAddress;
    vw_init();
    return vm_reclaim(a, Size);
}

static BOOL prefetch(HANDLE hProcess, ULONG_PTR NumberOfEntries,
                     PWIN32_MEMORY_RANGE_ENTRY VirtualAddresses, ULONG Flags)
{
    vw_init();
    DWORD err = vw_check_process(hProcess, 0);
    if (err)
        return vw_fail(err);
    if (Flags != 0 || NumberOfEntries == 0 || !VirtualAddresses)
        return vw_fail(ERROR_INVALID_PARAMETER);
    /* The whole array must be readable before any advice is given (issue 9). */
    if (NumberOfEntries > SIZE_MAX / sizeof *VirtualAddresses ||
        vw_probe(VirtualAddresses, NumberOfEntries * sizeof *VirtualAddresses, VW_PROBE_READ))
        return vw_fail(ERROR_NOACCESS);
    /* A hint: ranges that are not mapped are skipped, as Windows ignores them. */
    for (ULONG_PTR i = 0; i < NumberOfEntries; i++) {
        uintptr_t a = (uintptr_t)VirtualAddresses[i].VirtualAddress;
        size_t n = VirtualAddresses[i].NumberOfBytes;
        vm_prefetch(a, n);
    }
    return TRUE;
}

/* The exported calls: the work above, and a trace line.  Discard, Offer and
 * Reclaim return their error instead of setting the last error. */
VW_API DWORD WINAPI DiscardVirtualMemory(PVOID VirtualAddress, SIZE_T Size)
{
    DWORD r = discard(VirtualAddress, Size);
    VW_TRACE(1, "DiscardVirtualMemory(%p, %z) = %u", VirtualAddress, Size, r);
    return r;
}

VW_API DWORD WINAPI OfferVirtualMemory(PVOID VirtualAddress, SIZE_T Size, OFFER_PRIORITY Priority)
{
    DWORD r = offer(VirtualAddress, Size, Priority);
    VW_TRACE(1, "OfferVirtualMemory(%p, %z, %u) = %u", VirtualAddress, Size, (unsigned)Priority, r);
    return r;
}

VW_API DWORD WINAPI ReclaimVirtualMemory(LPCVOID VirtualAddress, SIZE_T Size)
{
    DWORD r = reclaim(VirtualAddress, Size);
    VW_TRACE(1, "ReclaimVirtualMemory(%p, %z) = %u", VirtualAddress, Size, r);
    return r;
}

VW_API BOOL WINAPI PrefetchVirtualMemory(HANDLE hProcess, ULONG_PTR NumberOfEntries,
                                         PWIN32_MEMORY_RANGE_ENTRY VirtualAddresses, ULONG Flags)
{
    BOOL r = prefetch(hProcess, NumberOfEntries, VirtualAddresses, Flags);
    VW_TRACE(r, "PrefetchVirtualMemory(%H, %z, %p, %x) = %b", hProcess, (size_t)NumberOfEntries,
             VirtualAddresses, Flags, r);
    return r;
}
