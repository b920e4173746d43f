/*
 * section.c: the Win32 section, view and file calls as kernelbase has them:
 * thin wrappers over the native edge (nt/section.c).
 *
 * kernelbase decides here: the view protection from FILE_MAP_* (COPY alone
 * is PAGE_WRITECOPY; WRITE is PAGE_READWRITE; READ PAGE_READONLY; with
 * FILE_MAP_EXECUTE the EXECUTE_ forms; none of them PAGE_NOACCESS), the
 * offset from its two halves, names converted to UTF-8 after their probe
 * (an unreadable name: ERROR_NOACCESS), and the last error of a successful
 * CreateFileMapping / CreateFile: ERROR_ALREADY_EXISTS when the object was
 * there, else 0 (Windows sets it on success for these calls); MapViewOfFile3
 * with a NULL process maps into the current one.
 */
#include "core/vw.h"
#include "nt/nt.h"
#include "core/probe.h"
#include "diag/trace.h"

#define NAME_MAX_BYTES 1024   /* UTF-8 bytes of a name or path, NUL included */

static int fail_status(NTSTATUS st)
{
    return vw_fail(nt_dos_error(st));
}

/* Probes and converts a name (unit 1: char, else WCHAR) to UTF-8 in out.
 * 0, ERROR_NOACCESS, or ERROR_INVALID_NAME (too long). */
static DWORD name_utf8(const void *name, size_t unit, char *out)
{
    if (vw_probe_string(name, unit, NAME_MAX_BYTES * unit))
        return ERROR_NOACCESS;
    size_t n = 0;
    if (unit == 1) {
        for (const char *s = name; *s; s++) {
            if (n + 1 >= NAME_MAX_BYTES)
                return ERROR_INVALID_NAME;
            out[n++] = *s;
        }
    } else {
        for (const WCHAR *s = name; *s; s++) {
            uint32_t c = (uint32_t)*s;
            if (n + 5 >= NAME_MAX_BYTES)
                return ERROR_INVALID_NAME;
            if (c < 0x80) {
                out[n++] = (char)c;
            } else if (c < 0x800) {
                out[n++] = (char)(0xC0 | (c >> 6));
                out[n++] = (char)(0x80 | (c & 0x3F));
            } else if (c < 0x10000) {
                out[n++] = (char)(0xE0 | (c >> 12));
                out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
                out[n++] = (char)(0x80 | (c & 0x3F));
            } else {
                out[n++] = (char)(0xF0 | ((c >> 18) & 0x07));
                out[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
                out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
                out[n++] = (char)(0x80 | (c & 0x3F));
            }
        }
    }
    out[n] = 0;
    return 0;
}

static HANDLE create_mapping(HANDLE file, DWORD prot, DWORD attrs, uint64_t size,
                             const void *name, size_t unit)
{
    char buf[NAME_MAX_BYTES];
    DWORD e = name ? name_utf8(name, unit, buf) : 0;
    if (e)
        return (HANDLE)(uintptr_t)vw_fail(e);
    HANDLE h = NULL;
    int existed = 0;
    NTSTATUS st = nt_create_section(&h, file, size, prot, attrs, name ? buf : NULL, &existed);
    if (st)
        return (HANDLE)(uintptr_t)fail_status(st);
    vw_set_error(existed ? ERROR_ALREADY_EXISTS : 0);
    return h;
}

VW_API HANDLE WINAPI CreateFileMappingA(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes,
                                        DWORD flProtect, DWORD dwMaximumSizeHigh,
                                        DWORD dwMaximumSizeLow, LPCSTR lpName)
{
    (void)lpAttributes;   /* inheritance: no CreateProcess here */
    HANDLE h = create_mapping(hFile, flProtect & 0xFFFF, flProtect & 0xFFFF0000u,
                              (uint64_t)dwMaximumSizeHigh << 32 | dwMaximumSizeLow, lpName, 1);
    VW_TRACE(h != NULL, "CreateFileMappingA(%H, %p, %x, %x, %x, %s) = %H", hFile, lpAttributes,
             flProtect, dwMaximumSizeHigh, dwMaximumSizeLow, lpName, h);
    return h;
}

VW_API HANDLE WINAPI CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES lpAttributes,
                                        DWORD flProtect, DWORD dwMaximumSizeHigh,
                                        DWORD dwMaximumSizeLow, LPCWSTR lpName)
{
    (void)lpAttributes;
    HANDLE h = create_mapping(hFile, flProtect & 0xFFFF, flProtect & 0xFFFF0000u,
                              (uint64_t)dwMaximumSizeHigh << 32 | dwMaximumSizeLow, lpName,
                              sizeof(WCHAR));
    VW_TRACE(h != NULL, "CreateFileMappingW(%H, %p, %x, %x, %x, %S) = %H", hFile, lpAttributes,
             flProtect, dwMaximumSizeHigh, dwMaximumSizeLow, lpName, h);
    return h;
}

VW_API HANDLE WINAPI CreateFileMapping2(HANDLE File, LPSECURITY_ATTRIBUTES SecurityAttributes,
                                        ULONG DesiredAccess, ULONG PageProtection,
                                        ULONG AllocationAttributes, ULONG64 MaximumSize,
                                        PCWSTR Name, MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                        ULONG ParameterCount)
{
    (void)SecurityAttributes;
    (void)DesiredAccess;   /* the creator's handle has every right, as CreateFileMapping's */
    HANDLE h;
    if (ParameterCount || ExtendedParameters)
        h = (HANDLE)(uintptr_t)vw_fail(ERROR_INVALID_PARAMETER);   /* none is defined here */
    else
        h = create_mapping(File, PageProtection, AllocationAttributes, MaximumSize, Name,
                           sizeof(WCHAR));
    VW_TRACE(h != NULL, "CreateFileMapping2(%H, %p, %x, %x, %x, %z, %S, %p, %u) = %H", File,
             SecurityAttributes, DesiredAccess, PageProtection, AllocationAttributes,
             (size_t)MaximumSize, Name, ExtendedParameters, ParameterCount, h);
    return h;
}

static HANDLE open_mapping(DWORD access, const void *name, size_t unit)
{
    char buf[NAME_MAX_BYTES];
    if (!name)
        return (HANDLE)(uintptr_t)vw_fail(ERROR_INVALID_PARAMETER);
    DWORD e = name_utf8(name, unit, buf);
    if (e)
        return (HANDLE)(uintptr_t)vw_fail(e);
    HANDLE h = NULL;
    NTSTATUS st = nt_open_section(&h, access, buf);
    return st ? (HANDLE)(uintptr_t)fail_status(st) : h;
}

VW_API HANDLE WINAPI OpenFileMappingA(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCSTR lpName)
{
    HANDLE h = open_mapping(dwDesiredAccess, lpName, 1);
    VW_TRACE(h != NULL, "OpenFileMappingA(%x, %b, %s) = %H", dwDesiredAccess, bInheritHandle,
             lpName, h);
    return h;
}

VW_API HANDLE WINAPI OpenFileMappingW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName)
{
    HANDLE h = open_mapping(dwDesiredAccess, lpName, sizeof(WCHAR));
    VW_TRACE(h != NULL, "OpenFileMappingW(%x, %b, %S) = %H", dwDesiredAccess, bInheritHandle,
             lpName, h);
    return h;
}

/* kernelbase: FILE_MAP_* -> the view's page protection. */
static ULONG view_protect(DWORD access)
{
    int x = !!(access & FILE_MAP_EXECUTE);
    access &= ~(DWORD)(FILE_MAP_EXECUTE | FILE_MAP_RESERVE | FILE_MAP_TARGETS_INVALID |
                       FILE_MAP_LARGE_PAGES);
    if (access == FILE_MAP_COPY)
        return x ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
    if (access & FILE_MAP_WRITE)
        return x ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
    if (access & FILE_MAP_READ)
        return x ? PAGE_EXECUTE_READ : PAGE_READONLY;
    return PAGE_NOACCESS;
}

static PVOID map_view(HANDLE section, HANDLE process, PVOID base, uint64_t offset, SIZE_T size,
                      ULONG type, ULONG prot)
{
    PVOID addr = base;
    SIZE_T len = size;
    LARGE_INTEGER off;
    off.QuadPart = (LONGLONG)offset;
    NTSTATUS st = nt_map_view(section, process, &addr, 0, 0, &off, &len, 2 /* ViewUnmap */,
                              type, prot);
    return st ? (PVOID)(uintptr_t)fail_status(st) : addr;
}

VW_API LPVOID WINAPI MapViewOfFileEx(HANDLE hFileMappingObject, DWORD dwDesiredAccess,
                                     DWORD dwFileOffsetHigh, DWORD dwFileOffsetLow,
                                     SIZE_T dwNumberOfBytesToMap, LPVOID lpBaseAddress)
{
    PVOID r = map_view(hFileMappingObject, VW_PSEUDO_PROCESS, lpBaseAddress,
                       (uint64_t)dwFileOffsetHigh << 32 | dwFileOffsetLow, dwNumberOfBytesToMap,
                       0, view_protect(dwDesiredAccess));
    VW_TRACE(r != NULL, "MapViewOfFileEx(%H, %x, %x, %x, %z, %p) = %p", hFileMappingObject,
             dwDesiredAccess, dwFileOffsetHigh, dwFileOffsetLow, dwNumberOfBytesToMap,
             lpBaseAddress, r);
    return r;
}

VW_API LPVOID WINAPI MapViewOfFile(HANDLE hFileMappingObject, DWORD dwDesiredAccess,
                                   DWORD dwFileOffsetHigh, DWORD dwFileOffsetLow,
                                   SIZE_T dwNumberOfBytesToMap)
{
    PVOID r = map_view(hFileMappingObject, VW_PSEUDO_PROCESS, NULL,
                       (uint64_t)dwFileOffsetHigh << 32 | dwFileOffsetLow, dwNumberOfBytesToMap,
                       0, view_protect(dwDesiredAccess));
    VW_TRACE(r != NULL, "MapViewOfFile(%H, %x, %x, %x, %z) = %p", hFileMappingObject,
             dwDesiredAccess, dwFileOffsetHigh, dwFileOffsetLow, dwNumberOfBytesToMap, r);
    return r;
}

VW_API PVOID WINAPI MapViewOfFile3(HANDLE FileMapping, HANDLE Process, PVOID BaseAddress,
                                   ULONG64 Offset, SIZE_T ViewSize, ULONG AllocationType,
                                   ULONG PageProtection, MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                   ULONG ParameterCount)
{
    PVOID r;
    if (ParameterCount && !ExtendedParameters)
        r = (PVOID)(uintptr_t)vw_fail(ERROR_INVALID_PARAMETER);
    else if (ParameterCount)
        r = (PVOID)(uintptr_t)vw_fail(ERROR_NOT_SUPPORTED);   /* README: extended parameters */
    else   /* kernelbase: NULL is the current process (Microsoft's ring-buffer sample) */
        r = map_view(FileMapping, Process ? Process : VW_PSEUDO_PROCESS, BaseAddress, Offset,
                     ViewSize, AllocationType, PageProtection);
    VW_TRACE(r != NULL, "MapViewOfFile3(%H, %H, %p, %z, %z, %A, %P, %p, %u) = %p", FileMapping,
             Process, BaseAddress, (size_t)Offset, ViewSize, AllocationType, PageProtection,
             ExtendedParameters, ParameterCount, r);
    return r;
}

static BOOL unmap(HANDLE process, PVOID base, ULONG flags)
{
    NTSTATUS st = nt_unmap_view(process, base, flags);
    return st ? fail_status(st) : TRUE;
}

VW_API BOOL WINAPI UnmapViewOfFile(LPCVOID lpBaseAddress)
{
    BOOL r = unmap(VW_PSEUDO_PROCESS, (PVOID)(uintptr_t)lpBaseAddress, 0);
    VW_TRACE(r, "UnmapViewOfFile(%p) = %b", lpBaseAddress, r);
    return r;
}

VW_API BOOL WINAPI UnmapViewOfFileEx(PVOID BaseAddress, ULONG UnmapFlags)
{
    BOOL r = unmap(VW_PSEUDO_PROCESS, BaseAddress, UnmapFlags);
    VW_TRACE(r, "UnmapViewOfFileEx(%p, %x) = %b", BaseAddress, UnmapFlags, r);
    return r;
}

VW_API BOOL WINAPI UnmapViewOfFile2(HANDLE Process, PVOID BaseAddress, ULONG UnmapFlags)
{
    BOOL r = unmap(Process, BaseAddress, UnmapFlags);
    VW_TRACE(r, "UnmapViewOfFile2(%H, %p, %x) = %b", Process, BaseAddress, UnmapFlags, r);
    return r;
}

VW_API BOOL WINAPI FlushViewOfFile(LPCVOID lpBaseAddress, SIZE_T dwNumberOfBytesToFlush)
{
    NTSTATUS st = nt_flush_view(VW_PSEUDO_PROCESS, (PVOID)(uintptr_t)lpBaseAddress,
                                dwNumberOfBytesToFlush);
    BOOL r = st ? fail_status(st) : TRUE;
    VW_TRACE(r, "FlushViewOfFile(%p, %z) = %b", lpBaseAddress, dwNumberOfBytesToFlush, r);
    return r;
}

static HANDLE create_file(const void *name, size_t unit, DWORD access, DWORD disposition)
{
    char buf[NAME_MAX_BYTES];
    if (!name)
        return (HANDLE)(intptr_t)(vw_fail(ERROR_PATH_NOT_FOUND) - 1);
    DWORD e = name_utf8(name, unit, buf);
    if (e)
        return (HANDLE)(intptr_t)(vw_fail(e) - 1);
    HANDLE h = NULL;
    int existed = 0;
    NTSTATUS st = nt_create_file(&h, buf, access, disposition, &existed);
    if (st == STATUS_OBJECT_NAME_COLLISION)
        return (HANDLE)(intptr_t)(vw_fail(ERROR_FILE_EXISTS) - 1);   /* kernelbase: CREATE_NEW */
    if (st)
        return (HANDLE)(intptr_t)(fail_status(st) - 1);
    /* kernelbase: an existing file opened by CREATE_ALWAYS / OPEN_ALWAYS. */
    vw_set_error(existed && (disposition == CREATE_ALWAYS || disposition == OPEN_ALWAYS)
                     ? ERROR_ALREADY_EXISTS
                     : 0);
    return h;
}

VW_API HANDLE WINAPI CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                 LPSECURITY_ATTRIBUTES lpSecurityAttributes,
                                 DWORD dwCreationDisposition, DWORD dwFlagsAndAttributes,
                                 HANDLE hTemplateFile)
{
    (void)dwShareMode;
    (void)lpSecurityAttributes;
    (void)dwFlagsAndAttributes;
    (void)hTemplateFile;
    HANDLE h = create_file(lpFileName, 1, dwDesiredAccess, dwCreationDisposition);
    VW_TRACE(h != INVALID_HANDLE_VALUE, "CreateFileA(%s, %x, %x, %p, %u, %x, %H) = %H", lpFileName,
             dwDesiredAccess, dwShareMode, lpSecurityAttributes, dwCreationDisposition,
             dwFlagsAndAttributes, hTemplateFile, h);
    return h;
}

VW_API HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                 LPSECURITY_ATTRIBUTES lpSecurityAttributes,
                                 DWORD dwCreationDisposition, DWORD dwFlagsAndAttributes,
                                 HANDLE hTemplateFile)
{
    (void)dwShareMode;
    (void)lpSecurityAttributes;
    (void)dwFlagsAndAttributes;
    (void)hTemplateFile;
    HANDLE h = create_file(lpFileName, sizeof(WCHAR), dwDesiredAccess, dwCreationDisposition);
    VW_TRACE(h != INVALID_HANDLE_VALUE, "CreateFileW(%S, %x, %x, %p, %u, %x, %H) = %H", lpFileName,
             dwDesiredAccess, dwShareMode, lpSecurityAttributes, dwCreationDisposition,
             dwFlagsAndAttributes, hTemplateFile, h);
    return h;
}

VW_API BOOL WINAPI GetFileSizeEx(HANDLE hFile, PLARGE_INTEGER lpFileSize)
{
    uint64_t size = 0;
    BOOL r;
    if (vw_probe(lpFileSize, sizeof *lpFileSize, VW_PROBE_WRITE)) {
        r = vw_fail(ERROR_NOACCESS);
    } else {
        NTSTATUS st = nt_file_size(hFile, &size);
        r = st ? fail_status(st) : TRUE;
        if (r)
            lpFileSize->QuadPart = (LONGLONG)size;
    }
    VW_TRACE(r, "GetFileSizeEx(%H, %p) = %b", hFile, lpFileSize, r);
    return r;
}
