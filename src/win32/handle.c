/*
 * handle.c: CloseHandle and DuplicateHandle, thin wrappers over NtClose and
 * NtDuplicateObject (nt/object.c; the table is core/handles.c).
 */
#include "core/vw.h"
#include "nt/nt.h"
#include "diag/trace.h"

VW_API BOOL WINAPI CloseHandle(HANDLE hObject)
{
    NTSTATUS st = nt_close(hObject);
    BOOL r = st ? vw_fail(nt_dos_error(st)) : TRUE;
    VW_TRACE(r, "CloseHandle(%H) = %b", hObject, r);
    return r;
}

VW_API BOOL WINAPI DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle,
                                   HANDLE hTargetProcessHandle, LPHANDLE lpTargetHandle,
                                   DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwOptions)
{
    NTSTATUS st = nt_duplicate(hSourceProcessHandle, hSourceHandle, hTargetProcessHandle,
                               lpTargetHandle, dwDesiredAccess, bInheritHandle ? 2u : 0u,
                               dwOptions);
    BOOL r = st ? vw_fail(nt_dos_error(st)) : TRUE;
    VW_TRACE(r, "DuplicateHandle(%H, %H, %H, %p, %x, %u, %x) = %b", hSourceProcessHandle,
             hSourceHandle, hTargetProcessHandle, lpTargetHandle, dwDesiredAccess,
             bInheritHandle, dwOptions, r);
    return r;
}
