/*
 * watch.c: the native edge of write watches: NtGetWriteWatch and
 * NtResetWriteWatch (spec section 11; the VM core's vm_watch.c does the work).
 *
 * Validation order (Wine's ntdll, checked against its kernel32 conformance
 * tests on Windows): the process handle; Flags other than 0 or
 * WRITE_WATCH_FLAG_RESET; the count and granularity pointers
 * (STATUS_ACCESS_VIOLATION); a zero RegionSize or *count
 * (STATUS_INVALID_PARAMETER); the address array, probed for as many entries
 * as the range can yield (STATUS_ACCESS_VIOLATION); then the range, which must
 * lie in one write-watched allocation (STATUS_INVALID_PARAMETER, a NULL base
 * included).  A failed call writes nothing.  No syscalls here; no lock.
 */
#include "nt/nt.h"
#include "core/vm.h"
#include "core/probe.h"

/* [start, end) of a caller's range, or 0 if it cannot name one. */
static int watch_range(PVOID base, SIZE_T size, uintptr_t *start, uintptr_t *end)
{
    uintptr_t a = (uintptr_t)base;
    if (!a || !size || a > VW_MAX_ADDR || vw_range_invalid(a, size))
        return 0;
    *start = page_floor(a);
    *end = page_ceil(a + size);
    return 1;
}

NTSTATUS nt_get_write_watch(HANDLE h, ULONG flags, PVOID base, SIZE_T size, PVOID *addresses,
                            PULONG_PTR count, PULONG granularity)
{
    vw_init();
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    if (flags & ~(ULONG)WRITE_WATCH_FLAG_RESET)
        return STATUS_INVALID_PARAMETER;
    if (vw_probe(count, sizeof *count, VW_PROBE_WRITE) ||
        vw_probe(granularity, sizeof *granularity, VW_PROBE_WRITE))
        return STATUS_ACCESS_VIOLATION;
    size_t n = *count;
    if (!size || !n)
        return STATUS_INVALID_PARAMETER;
    uintptr_t start = 0, end = 0;
    int ok = watch_range(base, size, &start, &end);
    size_t most = ok && (end - start) / vw_page() < n ? (end - start) / vw_page() : n;
    if (!addresses || most > SIZE_MAX / sizeof(PVOID) ||
        vw_probe(addresses, most * sizeof(PVOID), VW_PROBE_WRITE))
        return STATUS_ACCESS_VIOLATION;
    if (!ok)
        return STATUS_INVALID_PARAMETER;
    st = vm_watch_get(start, end, flags & WRITE_WATCH_FLAG_RESET, addresses, &most);
    if (st)
        return st;
    *count = most;
    *granularity = (ULONG)vw_page();
    return STATUS_SUCCESS;
}

NTSTATUS nt_reset_write_watch(HANDLE h, PVOID base, SIZE_T size)
{
    vw_init();
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    uintptr_t start, end;
    if (!watch_range(base, size, &start, &end))
        return STATUS_INVALID_PARAMETER;
    return vm_watch_reset(start, end);
}

VW_API NTSTATUS NTAPI NtGetWriteWatch(HANDLE ProcessHandle, ULONG Flags, PVOID BaseAddress,
                                      SIZE_T RegionSize, PVOID *UserAddressArray,
                                      PULONG_PTR EntriesInUserAddressArray, PULONG Granularity)
{
    return nt_get_write_watch(ProcessHandle, Flags, BaseAddress, RegionSize, UserAddressArray,
                              EntriesInUserAddressArray, Granularity);
}

VW_API NTSTATUS NTAPI NtResetWriteWatch(HANDLE ProcessHandle, PVOID BaseAddress,
                                        SIZE_T RegionSize)
{
    return nt_reset_write_watch(ProcessHandle, BaseAddress, RegionSize);
}
