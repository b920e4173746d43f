/*
 * process.c: process handles and other processes' memory: GetCurrentProcess,
 * GetCurrentProcessId, OpenProcess, GetProcessId, GetExitCodeProcess,
 * ReadProcessMemory, WriteProcessMemory (FlushInstructionCache is in
 * virtual.c, CloseHandle in handle.c).
 *
 * GetCurrentProcess() is the pseudo handle (HANDLE)-1; OpenProcess gives a
 * handle from the table (core/process.h says how the calls route one).
 * vw_check_process is the handle check of the Win32-only calls that take a
 * process (working set, prefetch): this process only.  Thin wrappers: the
 * work and the rules are in nt/process.c and core/process.c.
 */
#include "core/vm.h"
#include "core/process.h"
#include "core/probe.h"
#include "nt/nt.h"
#include "diag/trace.h"

DWORD vw_check_process(HANDLE h, DWORD need)
{
    NTSTATUS st = vm_check_process(h, need, NULL);
    return st ? nt_dos_error(st) : 0;
}

VW_API HANDLE WINAPI GetCurrentProcess(void)
{
    return VW_PSEUDO_PROCESS;
}

VW_API DWORD WINAPI GetCurrentProcessId(void)
{
    ULONG pid = 0;
    process_id(VW_PSEUDO_PROCESS, &pid);
    return pid;
}

VW_API HANDLE WINAPI OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwProcessId)
{
    (void)bInheritHandle;   /* no CreateProcess here: nothing inherits by exec */
    vw_init();
    HANDLE h = NULL;
    NTSTATUS st = process_open(dwProcessId, dwDesiredAccess, &h);
    if (st) {
        vw_fail(nt_dos_error(st));
        h = NULL;
    }
    VW_TRACE(h != NULL, "OpenProcess(%x, %u, %u) = %H", dwDesiredAccess, bInheritHandle,
             dwProcessId, h);
    return h;
}

VW_API DWORD WINAPI GetProcessId(HANDLE Process)
{
    ULONG pid = 0;
    NTSTATUS st = process_id(Process, &pid);
    if (st)
        vw_fail(nt_dos_error(st));
    return st ? 0 : pid;
}

VW_API BOOL WINAPI GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode)
{
    ULONG code = 0;
    NTSTATUS st = process_exit_code(hProcess, &code);
    if (!st && vw_probe(lpExitCode, sizeof *lpExitCode, VW_PROBE_WRITE))
        st = STATUS_ACCESS_VIOLATION;
    if (!st)
        *lpExitCode = code;
    BOOL r = st ? vw_fail(nt_dos_error(st)) : TRUE;
    VW_TRACE(r, "GetExitCodeProcess(%H, %p) = %b", hProcess, lpExitCode, r);
    return r;
}

VW_API BOOL WINAPI ReadProcessMemory(HANDLE hProcess, LPCVOID lpBaseAddress, LPVOID lpBuffer,
                                     SIZE_T nSize, SIZE_T *lpNumberOfBytesRead)
{
    NTSTATUS st = nt_read_vm(hProcess, (PVOID)lpBaseAddress, lpBuffer, nSize,
                             lpNumberOfBytesRead);
    BOOL r = st ? vw_fail(nt_dos_error(st)) : TRUE;
    VW_TRACE(r, "ReadProcessMemory(%H, %p, %p, %z, %p) = %b", hProcess, lpBaseAddress, lpBuffer,
             nSize, lpNumberOfBytesRead, r);
    return r;
}

VW_API BOOL WINAPI WriteProcessMemory(HANDLE hProcess, LPVOID lpBaseAddress, LPCVOID lpBuffer,
                                      SIZE_T nSize, SIZE_T *lpNumberOfBytesWritten)
{
    NTSTATUS st = nt_write_vm(hProcess, lpBaseAddress, lpBuffer, nSize, lpNumberOfBytesWritten);
    BOOL r = st ? vw_fail(nt_dos_error(st)) : TRUE;
    VW_TRACE(r, "WriteProcessMemory(%H, %p, %p, %z, %p) = %b", hProcess, lpBaseAddress,
             lpBuffer, nSize, lpNumberOfBytesWritten, r);
    return r;
}
