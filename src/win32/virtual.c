/*
 * virtual.c: the Win32 virtual-memory calls as kernelbase has them: thin
 * wrappers over the native edge.  VirtualAlloc/Ex -> NtAllocateVirtualMemory,
 * VirtualFree/Ex -> NtFreeVirtualMemory, VirtualProtect/Ex ->
 * NtProtectVirtualMemory, VirtualQuery/Ex -> NtQueryVirtualMemory,
 * VirtualLock/Unlock -> NtLock/NtUnlockVirtualMemory, FlushInstructionCache
 * -> NtFlushInstructionCache.  A failing status becomes the last error through
 * RtlNtStatusToDosError only; a successful call leaves the last error alone.
 *
 * Where kernelbase decides something itself, so does this file (each one
 * below, marked "kernelbase:"):
 * - VirtualFree(MEM_RELEASE) with a non-zero size is ERROR_INVALID_PARAMETER
 *   before the native call (natively a size covering exactly the allocation
 *   releases it);
 * - VirtualQuery returns the length written (0 on failure), not a status;
 * - VirtualLock/Unlock pass MAP_PROCESS.
 * Every other Win32 error comes from the table: for example ERROR_INVALID_ADDRESS
 * is STATUS_CONFLICTING_ADDRESSES, STATUS_NOT_COMMITTED,
 * STATUS_MEMORY_NOT_ALLOCATED or STATUS_FREE_VM_NOT_AT_BASE, ERROR_NOACCESS is
 * STATUS_ACCESS_VIOLATION (a bad caller pointer, or locking a NOACCESS page).
 */
#include "core/vw.h"
#include "nt/nt.h"
#include "core/probe.h"
#include "diag/trace.h"

static int fail_status(NTSTATUS st)
{
    return vw_fail(nt_dos_error(st));
}

static LPVOID alloc_ex(HANDLE h, LPVOID addr, SIZE_T size, DWORD type, DWORD prot)
{
    PVOID base = addr;
    SIZE_T len = size;
    NTSTATUS st = nt_allocate(h, &base, 0, &len, type, prot);
    return st ? (LPVOID)(uintptr_t)fail_status(st) : base;
}

VW_API LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                                  DWORD flProtect)
{
    LPVOID r = alloc_ex(VW_PSEUDO_PROCESS, lpAddress, dwSize, flAllocationType, flProtect);
    VW_TRACE(r != NULL, "VirtualAlloc(%p, %z, %A, %P) = %p", lpAddress, dwSize, flAllocationType,
             flProtect, r);
    return r;
}

VW_API LPVOID WINAPI VirtualAllocEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                    DWORD flAllocationType, DWORD flProtect)
{
    LPVOID r = alloc_ex(hProcess, lpAddress, dwSize, flAllocationType, flProtect);
    VW_TRACE(r != NULL, "VirtualAllocEx(%H, %p, %z, %A, %P) = %p", hProcess, lpAddress, dwSize,
             flAllocationType, flProtect, r);
    return r;
}

static BOOL free_ex(HANDLE h, LPVOID addr, SIZE_T size, DWORD type)
{
    /* kernelbase: MEM_RELEASE takes no size. */
    if (type == MEM_RELEASE && size)
        return vw_fail(ERROR_INVALID_PARAMETER);
    PVOID base = addr;
    SIZE_T len = size;
    NTSTATUS st = nt_free(h, &base, &len, type);
    return st ? fail_status(st) : TRUE;
}

VW_API BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    BOOL r = free_ex(VW_PSEUDO_PROCESS, lpAddress, dwSize, dwFreeType);
    VW_TRACE(r, "VirtualFree(%p, %z, %F) = %b", lpAddress, dwSize, dwFreeType, r);
    return r;
}

VW_API BOOL WINAPI VirtualFreeEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                 DWORD dwFreeType)
{
    BOOL r = free_ex(hProcess, lpAddress, dwSize, dwFreeType);
    VW_TRACE(r, "VirtualFreeEx(%H, %p, %z, %F) = %b", hProcess, lpAddress, dwSize, dwFreeType, r);
    return r;
}

/* *shown: the old protection the call wrote (for the trace), 0 if none. */
static BOOL protect_ex(HANDLE h, LPVOID addr, SIZE_T size, DWORD prot, PDWORD old, DWORD *shown)
{
    PVOID base = addr;
    SIZE_T len = size;
    NTSTATUS st = nt_protect(h, &base, &len, prot, old);
    /* The statuses returned before OldProtect is written. */
    int wrote = st != STATUS_INVALID_HANDLE && st != STATUS_INVALID_PAGE_PROTECTION &&
                st != (NTSTATUS)STATUS_ACCESS_VIOLATION && st != STATUS_INVALID_PARAMETER_2 &&
                st != STATUS_INVALID_PARAMETER_3;
    /* Read back for the trace only, and only if still readable (the change may
     * have made the page holding it PAGE_NOACCESS): no probe when not tracing. */
    *shown = wrote && vw_trace_fd >= 0 && !vw_probe(old, sizeof *old, VW_PROBE_READ) ? *old : 0;
    return st ? fail_status(st) : TRUE;
}

VW_API BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                                  PDWORD lpflOldProtect)
{
    DWORD shown;
    BOOL r = protect_ex(VW_PSEUDO_PROCESS, lpAddress, dwSize, flNewProtect, lpflOldProtect,
                        &shown);
    VW_TRACE(r, "VirtualProtect(%p, %z, %P, %p) = %b, old %P", lpAddress, dwSize, flNewProtect,
             lpflOldProtect, r, shown);
    return r;
}

VW_API BOOL WINAPI VirtualProtectEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                    DWORD flNewProtect, PDWORD lpflOldProtect)
{
    DWORD shown;
    BOOL r = protect_ex(hProcess, lpAddress, dwSize, flNewProtect, lpflOldProtect, &shown);
    VW_TRACE(r, "VirtualProtectEx(%H, %p, %z, %P, %p) = %b", hProcess, lpAddress, dwSize,
             flNewProtect, lpflOldProtect, r);
    return r;
}

/* No ReturnLength: on success it is always the structure's size, and one
 * pointer fewer to probe keeps the query path short. */
static SIZE_T query_ex(HANDLE h, LPCVOID addr, PMEMORY_BASIC_INFORMATION buf, SIZE_T len)
{
    NTSTATUS st = nt_query(h, (PVOID)(uintptr_t)addr, MemoryBasicInformation, buf, len, NULL);
    return st ? (SIZE_T)fail_status(st) : sizeof(MEMORY_BASIC_INFORMATION);
}

VW_API SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
                                  SIZE_T dwLength)
{
    SIZE_T r = query_ex(VW_PSEUDO_PROCESS, lpAddress, lpBuffer, dwLength);
    VW_TRACE(r != 0, "VirtualQuery(%p, %p, %z) = %z", lpAddress, lpBuffer, dwLength, r);
    return r;
}

VW_API SIZE_T WINAPI VirtualQueryEx(HANDLE hProcess, LPCVOID lpAddress,
                                    PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength)
{
    SIZE_T r = query_ex(hProcess, lpAddress, lpBuffer, dwLength);
    VW_TRACE(r != 0, "VirtualQueryEx(%H, %p, %p, %z) = %z", hProcess, lpAddress, lpBuffer,
             dwLength, r);
    return r;
}

static BOOL lock_op(LPVOID addr, SIZE_T size, int lock)
{
    PVOID base = addr;
    SIZE_T len = size;
    NTSTATUS st = nt_lock(VW_PSEUDO_PROCESS, &base, &len, MAP_PROCESS, lock);
    return st ? fail_status(st) : TRUE;
}

VW_API BOOL WINAPI VirtualLock(LPVOID lpAddress, SIZE_T dwSize)
{
    BOOL r = lock_op(lpAddress, dwSize, 1);
    VW_TRACE(r, "VirtualLock(%p, %z) = %b", lpAddress, dwSize, r);
    return r;
}

VW_API BOOL WINAPI VirtualUnlock(LPVOID lpAddress, SIZE_T dwSize)
{
    BOOL r = lock_op(lpAddress, dwSize, 0);
    VW_TRACE(r, "VirtualUnlock(%p, %z) = %b", lpAddress, dwSize, r);
    return r;
}

VW_API BOOL WINAPI FlushInstructionCache(HANDLE hProcess, LPCVOID lpBaseAddress, SIZE_T dwSize)
{
    NTSTATUS st = nt_flush_icache(hProcess, (PVOID)(uintptr_t)lpBaseAddress, dwSize);
    BOOL r = st ? fail_status(st) : TRUE;
    VW_TRACE(r, "FlushInstructionCache(%H, %p, %z) = %b", hProcess, lpBaseAddress, dwSize, r);
    return r;
}
