/*
 * watch.c: GetWriteWatch and ResetWriteWatch as kernelbase has them: thin
 * wrappers over NtGetWriteWatch / NtResetWriteWatch on the current process.
 * Both return 0 on success and (UINT)-1 on failure, with the last error from
 * RtlNtStatusToDosError (STATUS_ACCESS_VIOLATION is ERROR_NOACCESS); a
 * successful call leaves the last error alone.
 */
#include "core/vw.h"
#include "nt/nt.h"
#include "diag/trace.h"

static UINT result(NTSTATUS st)
{
    if (!st)
        return 0;
    vw_fail(nt_dos_error(st));
    return (UINT)-1;
}

VW_API UINT WINAPI GetWriteWatch(DWORD dwFlags, PVOID lpBaseAddress, SIZE_T dwRegionSize,
                                 PVOID *lpAddresses, ULONG_PTR *lpdwCount,
                                 LPDWORD lpdwGranularity)
{
    UINT r = result(nt_get_write_watch(VW_PSEUDO_PROCESS, dwFlags, lpBaseAddress, dwRegionSize,
                                       lpAddresses, lpdwCount, (PULONG)lpdwGranularity));
    VW_TRACE(r == 0, "GetWriteWatch(%u, %p, %z) = %u", (unsigned)dwFlags, lpBaseAddress,
             dwRegionSize, r);
    return r;
}

VW_API UINT WINAPI ResetWriteWatch(LPVOID lpBaseAddress, SIZE_T dwRegionSize)
{
    UINT r = result(nt_reset_write_watch(VW_PSEUDO_PROCESS, lpBaseAddress, dwRegionSize));
    VW_TRACE(r == 0, "ResetWriteWatch(%p, %z) = %u", lpBaseAddress, dwRegionSize, r);
    return r;
}
