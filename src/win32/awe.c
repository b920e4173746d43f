/*
 * awe.c: the Win32 Address Windowing Extensions calls as kernelbase has them:
 * thin wrappers over the native edge (nt/awe.c), a failing status becoming
 * the last error through RtlNtStatusToDosError's table (a successful call
 * leaves the last error alone).  AllocateUserPhysicalPagesNuma takes the
 * node as a preference and, as the library places memory without NUMA
 * policy, ignores it (README).
 */
#include "core/vw.h"
#include "nt/nt.h"
#include "diag/trace.h"

static BOOL result(NTSTATUS st)
{
    return st ? vw_fail(nt_dos_error(st)) : TRUE;
}

VW_API BOOL WINAPI AllocateUserPhysicalPages(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                             PULONG_PTR PageArray)
{
    BOOL r = result(nt_awe_alloc(hProcess, NumberOfPages, PageArray));
    VW_TRACE(r, "AllocateUserPhysicalPages(%H, %p, %p) = %b", hProcess, NumberOfPages, PageArray,
             r);
    return r;
}

VW_API BOOL WINAPI AllocateUserPhysicalPagesNuma(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                                 PULONG_PTR PageArray, DWORD nndPreferred)
{
    BOOL r = result(nt_awe_alloc(hProcess, NumberOfPages, PageArray));
    VW_TRACE(r, "AllocateUserPhysicalPagesNuma(%H, %p, %p, %u) = %b", hProcess, NumberOfPages,
             PageArray, nndPreferred, r);
    return r;
}

VW_API BOOL WINAPI FreeUserPhysicalPages(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                         PULONG_PTR PageArray)
{
    BOOL r = result(nt_awe_free(hProcess, NumberOfPages, PageArray));
    VW_TRACE(r, "FreeUserPhysicalPages(%H, %p, %p) = %b", hProcess, NumberOfPages, PageArray, r);
    return r;
}

VW_API BOOL WINAPI MapUserPhysicalPages(PVOID VirtualAddress, ULONG_PTR NumberOfPages,
                                        PULONG_PTR PageArray)
{
    BOOL r = result(nt_awe_map(VirtualAddress, NumberOfPages, PageArray));
    VW_TRACE(r, "MapUserPhysicalPages(%p, %z, %p) = %b", VirtualAddress, (size_t)NumberOfPages,
             PageArray, r);
    return r;
}

VW_API BOOL WINAPI MapUserPhysicalPagesScatter(PVOID *VirtualAddresses, ULONG_PTR NumberOfPages,
                                               PULONG_PTR PageArray)
{
    BOOL r = result(nt_awe_scatter(VirtualAddresses, NumberOfPages, PageArray));
    VW_TRACE(r, "MapUserPhysicalPagesScatter(%p, %z, %p) = %b", (void *)VirtualAddresses,
             (size_t)NumberOfPages, PageArray, r);
    return r;
}
