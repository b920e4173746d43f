/*
 * awe.c: the native edge of Address Windowing Extensions (spec 13):
 * NtAllocateUserPhysicalPages, NtFreeUserPhysicalPages, NtMapUserPhysicalPages
 * and NtMapUserPhysicalPagesScatter, validating in Windows' order (WRK
 * physical.c): the counts by value (STATUS_INVALID_PARAMETER_2), the caller's
 * arrays probed (STATUS_ACCESS_VIOLATION), the process handle where the call
 * takes one, then the VM core (core/vm_awe.c) for the rest.
 *
 * Frame arrays pass through a buffer of this file's in chunks, so the core
 * never touches caller memory with the map lock held: allocation and freeing
 * are chunk by chunk, as Windows' are (a later chunk that gets nothing is
 * "fewer pages"; a free stops at the first bad frame and reports how many it
 * freed).  The map calls hand the probed arrays to the core, which copies
 * them before it takes the lock (all or nothing needs every entry first).
 * No syscalls here; no lock.
 */
#include "nt/nt.h"
#include "core/vm.h"
#include "core/probe.h"

#define CHUNK 256

NTSTATUS nt_awe_alloc(HANDLE h, PULONG_PTR NumberOfPages, PULONG_PTR UserPfnArray)
{
    vw_init();
    if (vw_probe(NumberOfPages, sizeof *NumberOfPages, VW_PROBE_WRITE))
        return STATUS_ACCESS_VIOLATION;
    ULONG_PTR n = *NumberOfPages;
    if (n == 0)
        return STATUS_SUCCESS;
    if (n > (ULONG_PTR)-1 / sizeof(ULONG_PTR))
        return STATUS_INVALID_PARAMETER_2;
    if (vw_probe(UserPfnArray, n * sizeof(ULONG_PTR), VW_PROBE_WRITE))
        return STATUS_ACCESS_VIOLATION;
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    ULONG_PTR buf[CHUNK];
    size_t total = 0;
    while (total < n) {
        size_t want = n - total < CHUNK ? n - total : CHUNK, got = 0;
        st = vm_awe_alloc(buf, want, &got);
        if (st)
            break;
        /* Probed above; a caller that unmaps its own array meanwhile loses
         * the numbers (Windows: the same), never the library its footing. */
        if (vw_probe(UserPfnArray + total, got * sizeof(ULONG_PTR), VW_PROBE_WRITE)) {
            size_t done;
            vm_awe_free(buf, got, &done);
            break;
        }
        for (size_t i = 0; i < got; i++)
            UserPfnArray[total + i] = buf[i];
        total += got;
        if (got < want)
            break;
    }
    if (total == 0)
        return st ? st : STATUS_INSUFFICIENT_RESOURCES;
    /* Written on success only (Windows 2000's behaviour, kept since). */
    if (!vw_probe(NumberOfPages, sizeof *NumberOfPages, VW_PROBE_WRITE))
        *NumberOfPages = total;
    return STATUS_SUCCESS;
}

NTSTATUS nt_awe_free(HANDLE h, PULONG_PTR NumberOfPages, PULONG_PTR UserPfnArray)
{
    vw_init();
    if (vw_probe(NumberOfPages, sizeof *NumberOfPages, VW_PROBE_WRITE))
        return STATUS_ACCESS_VIOLATION;
    ULONG_PTR n = *NumberOfPages;
    *NumberOfPages = 0;   /* how many were freed, should the call stop early */
    if (n == 0)
        return STATUS_INVALID_PARAMETER_2;
    if (n > (ULONG_PTR)-1 / sizeof(ULONG_PTR) ||
        vw_probe(UserPfnArray, n * sizeof(ULONG_PTR), VW_PROBE_READ))
        return STATUS_ACCESS_VIOLATION;
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    ULONG_PTR buf[CHUNK];
    size_t total = 0;
    while (total < n && !st) {
        size_t k = n - total < CHUNK ? n - total : CHUNK, done = 0;
        if (vw_probe(UserPfnArray + total, k * sizeof(ULONG_PTR), VW_PROBE_READ)) {
            st = STATUS_ACCESS_VIOLATION;
            break;
        }
        for (size_t i = 0; i < k; i++)
            buf[i] = UserPfnArray[total + i];
        st = vm_awe_free(buf, k, &done);
        total += done;
    }
    if (!vw_probe(NumberOfPages, sizeof *NumberOfPages, VW_PROBE_WRITE))
        *NumberOfPages = total;
    return st;
}

NTSTATUS nt_awe_map(PVOID VirtualAddress, ULONG_PTR n, PULONG_PTR UserPfnArray)
{
    vw_init();
    uintptr_t pg = vw_page();
    if (n > (ULONG_PTR)-1 / pg)
        return STATUS_INVALID_PARAMETER_2;
    uintptr_t start = page_floor((uintptr_t)VirtualAddress);
    if (start + n * pg - 1 <= start)   /* no pages, or past the top of the address space */
        return STATUS_INVALID_PARAMETER_2;
    if (UserPfnArray && vw_probe(UserPfnArray, n * sizeof(ULONG_PTR), VW_PROBE_READ))
        return STATUS_ACCESS_VIOLATION;
    if (start + n * pg - 1 > VW_MAX_ADDR)
        return STATUS_INVALID_PARAMETER_1;   /* in no window */
    return vm_awe_map(start, n, UserPfnArray);
}

NTSTATUS nt_awe_scatter(PVOID *VirtualAddresses, ULONG_PTR n, PULONG_PTR UserPfnArray)
{
    vw_init();
    if (n > (ULONG_PTR)-1 / vw_page())
        return STATUS_INVALID_PARAMETER_2;
    if (vw_probe(VirtualAddresses, n * sizeof(PVOID), VW_PROBE_READ))
        return STATUS_ACCESS_VIOLATION;
    if (n == 0)
        return STATUS_SUCCESS;
    if (UserPfnArray && vw_probe(UserPfnArray, n * sizeof(ULONG_PTR), VW_PROBE_READ))
        return STATUS_ACCESS_VIOLATION;
    return vm_awe_scatter((PVOID const *)VirtualAddresses, n, UserPfnArray);
}

VW_API NTSTATUS NTAPI NtAllocateUserPhysicalPages(HANDLE ProcessHandle, PULONG_PTR NumberOfPages,
                                                  PULONG_PTR UserPfnArray)
{
    return nt_awe_alloc(ProcessHandle, NumberOfPages, UserPfnArray);
}

VW_API NTSTATUS NTAPI NtFreeUserPhysicalPages(HANDLE ProcessHandle, PULONG_PTR NumberOfPages,
                                              PULONG_PTR UserPfnArray)
{
    return nt_awe_free(ProcessHandle, NumberOfPages, UserPfnArray);
}

VW_API NTSTATUS NTAPI NtMapUserPhysicalPages(PVOID VirtualAddress, ULONG_PTR NumberOfPages,
                                             PULONG_PTR UserPfnArray)
{
    return nt_awe_map(VirtualAddress, NumberOfPages, UserPfnArray);
}

VW_API NTSTATUS NTAPI NtMapUserPhysicalPagesScatter(PVOID *VirtualAddresses,
                                                    ULONG_PTR NumberOfPages,
                                                    PULONG_PTR UserPfnArray)
{
    return nt_awe_scatter(VirtualAddresses, NumberOfPages, UserPfnArray);
}
