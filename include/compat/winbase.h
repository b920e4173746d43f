/* <winbase.h> for Windows sources built against libvirtualwin: the memory
 * declarations come from <virtualwin.h>; beside them, the few process-heap,
 * token and handle calls that AWE programs (Microsoft's "AWE Example" among
 * them) make around the memory calls, as inline functions of this header:
 * - GetProcessHeap, HeapAlloc, HeapFree: the C heap (HEAP_ZERO_MEMORY zeroes);
 * - OpenProcessToken, LookupPrivilegeValueA/W, AdjustTokenPrivileges: the
 *   pseudo handle of the current process's token (GetCurrentProcessToken's
 *   (HANDLE)-4, which the library's CloseHandle accepts as it accepts every
 *   pseudo handle), whose only privilege is
 *   SeLockMemoryPrivilege.  Adjusting it succeeds with ERROR_SUCCESS: what
 *   stands in for that privilege is the soft RLIMIT_MEMLOCK, which
 *   AllocateUserPhysicalPages checks itself (README, "Address Windowing
 *   Extensions").  Other privilege names: ERROR_NO_SUCH_PRIVILEGE.
 * They are not exported by the library (nothing of libvirtualwin's), so they
 * exist only for sources compiled with these headers. */
#ifndef VIRTUALWIN_COMPAT_WINBASE_H
#define VIRTUALWIN_COMPAT_WINBASE_H
#include <virtualwin.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#ifndef _cdecl
#define _cdecl
#endif

#ifndef ERROR_NOT_ALL_ASSIGNED
#define ERROR_NOT_ALL_ASSIGNED 1300L
#endif
#ifndef ERROR_NO_SUCH_PRIVILEGE
#define ERROR_NO_SUCH_PRIVILEGE 1313L
#endif
#define HEAP_ZERO_MEMORY 0x00000008
#define TOKEN_ADJUST_PRIVILEGES 0x0020
#define TOKEN_QUERY 0x0008
#define SE_PRIVILEGE_ENABLED 0x00000002L
#define SE_LOCK_MEMORY_NAME TEXT("SeLockMemoryPrivilege")
#define SE_LOCK_MEMORY_PRIVILEGE 4L

typedef struct _LUID {
    DWORD LowPart;
    LONG HighPart;
} LUID, *PLUID;
typedef struct _LUID_AND_ATTRIBUTES {
    LUID Luid;
    DWORD Attributes;
} LUID_AND_ATTRIBUTES, *PLUID_AND_ATTRIBUTES;
typedef struct _TOKEN_PRIVILEGES {
    DWORD PrivilegeCount;
    LUID_AND_ATTRIBUTES Privileges[1];
} TOKEN_PRIVILEGES, *PTOKEN_PRIVILEGES;

#define VW_COMPAT_HEAP ((HANDLE)(intptr_t)0x50)     /* any non-NULL value */
#define VW_COMPAT_TOKEN ((HANDLE)(intptr_t)-4)      /* the current process's token */

static inline HANDLE GetProcessHeap(void)
{
    return VW_COMPAT_HEAP;
}

static inline LPVOID HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes)
{
    (void)hHeap;
    void *p = (dwFlags & HEAP_ZERO_MEMORY) ? calloc(1, dwBytes ? dwBytes : 1)
                                           : malloc(dwBytes ? dwBytes : 1);
    if (!p)
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return p;
}

static inline BOOL HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem)
{
    (void)hHeap;
    (void)dwFlags;
    free(lpMem);
    return TRUE;
}

static inline BOOL OpenProcessToken(HANDLE ProcessHandle, DWORD DesiredAccess,
                                    PHANDLE TokenHandle)
{
    (void)DesiredAccess;
    if (ProcessHandle != GetCurrentProcess()) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    *TokenHandle = VW_COMPAT_TOKEN;
    return TRUE;
}

static inline BOOL LookupPrivilegeValueA(LPCSTR lpSystemName, LPCSTR lpName, PLUID lpLuid)
{
    if (lpSystemName || !lpName || strcmp(lpName, "SeLockMemoryPrivilege") != 0) {
        SetLastError(ERROR_NO_SUCH_PRIVILEGE);
        return FALSE;
    }
    lpLuid->LowPart = SE_LOCK_MEMORY_PRIVILEGE;
    lpLuid->HighPart = 0;
    return TRUE;
}

static inline BOOL LookupPrivilegeValueW(LPCWSTR lpSystemName, LPCWSTR lpName, PLUID lpLuid)
{
    if (lpSystemName || !lpName || wcscmp(lpName, L"SeLockMemoryPrivilege") != 0) {
        SetLastError(ERROR_NO_SUCH_PRIVILEGE);
        return FALSE;
    }
    lpLuid->LowPart = SE_LOCK_MEMORY_PRIVILEGE;
    lpLuid->HighPart = 0;
    return TRUE;
}
#ifdef UNICODE
#define LookupPrivilegeValue LookupPrivilegeValueW
#else
#define LookupPrivilegeValue LookupPrivilegeValueA
#endif

static inline BOOL AdjustTokenPrivileges(HANDLE TokenHandle, BOOL DisableAllPrivileges,
                                         PTOKEN_PRIVILEGES NewState, DWORD BufferLength,
                                         PTOKEN_PRIVILEGES PreviousState, PDWORD ReturnLength)
{
    (void)DisableAllPrivileges;
    (void)NewState;
    (void)BufferLength;
    (void)PreviousState;
    if (ReturnLength)
        *ReturnLength = 0;
    if (TokenHandle != VW_COMPAT_TOKEN) {
        SetLastError(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

#endif
