/*
 * module.c: GetModuleHandleA/W, GetProcAddress, LoadLibraryA/W and
 * FreeLibrary, for the patterns GetProcAddress(GetModuleHandleA("kernel32.dll"),
 * "GetWriteWatch") and GetProcAddress(LoadLibraryA("ntdll"),
 * "NtAllocateVirtualMemory") that Windows code uses to find out whether a call
 * exists.
 *
 * This library stands for two modules, as Windows has them: kernel32 (also
 * named kernelbase) holds the Win32 calls, ntdll the Nt and Rtl calls; each
 * name works in any case, with or without ".dll", and GetProcAddress finds a
 * call only through its own module.  NULL names the executable.  kernel32's
 * handle is the library's load base, ntdll's the page after it (a distinct
 * address inside the same image).  LoadLibrary returns the built-in modules
 * for their names (ERROR_MOD_NOT_FOUND for any other) and FreeLibrary of them
 * succeeds and changes nothing.  Bases come from the kernel's view
 * (VirtualQuery's AllocationBase of a known address) and the auxiliary vector,
 * not from the dynamic loader, so no loader lock is taken.  GetProcAddress
 * knows exactly the exported API, from a table: a name that is not there (a
 * call not built yet) gives NULL and ERROR_PROC_NOT_FOUND.
 */
#include "core/vw.h"
#include "core/probe.h"
#include "nt/nt.h"
#include "diag/trace.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>

#define API(name) { #name, (FARPROC)(void (*)(void))name }

/* kernel32 / kernelbase exports. */
static const struct {
    const char *name;
    FARPROC fn;
} api_table[] = {
    API(DiscardVirtualMemory),       API(FlushInstructionCache),
    API(GetCurrentProcess),          API(GetLargePageMinimum),
    API(GetLastError),               API(GetModuleHandleA),
    API(GetModuleHandleW),           API(GetNativeSystemInfo),
    API(GetProcAddress),             API(GetProcessWorkingSetSize),
    API(GetProcessWorkingSetSizeEx), API(GetSystemInfo),
    API(GlobalMemoryStatusEx),       API(OfferVirtualMemory),
    API(PrefetchVirtualMemory),      API(ReclaimVirtualMemory),
    API(SetLastError),               API(SetProcessWorkingSetSize),
    API(SetProcessWorkingSetSizeEx), API(VirtualAlloc),
    API(VirtualAllocEx),             API(VirtualFree),
    API(VirtualFreeEx),              API(VirtualLock),
    API(VirtualProtect),             API(VirtualProtectEx),
    API(VirtualQuery),               API(VirtualQueryEx),
    API(VirtualUnlock),              API(LoadLibraryA),
    API(LoadLibraryW),               API(FreeLibrary),
    API(CloseHandle),                API(DuplicateHandle),
    API(OpenProcess),                API(GetProcessId),
    API(GetCurrentProcessId),        API(GetExitCodeProcess),
    API(ReadProcessMemory),          API(WriteProcessMemory),
    API(GetWriteWatch),              API(ResetWriteWatch),
    API(AddVectoredExceptionHandler), API(RemoveVectoredExceptionHandler),
    API(AddVectoredContinueHandler), API(RemoveVectoredContinueHandler),
    API(SetUnhandledExceptionFilter), API(UnhandledExceptionFilter),
    API(RaiseException),
    API(AllocateUserPhysicalPages),  API(AllocateUserPhysicalPagesNuma),
    API(FreeUserPhysicalPages),      API(MapUserPhysicalPages),
    API(MapUserPhysicalPagesScatter),
    /* sections and views (issue 14) */
    API(CreateFileMappingA),         API(CreateFileMappingW),
    API(CreateFileMapping2),         API(OpenFileMappingA),
    API(OpenFileMappingW),           API(MapViewOfFile),
    API(MapViewOfFileEx),            API(MapViewOfFile3),
    API(UnmapViewOfFile),            API(UnmapViewOfFileEx),
    API(UnmapViewOfFile2),           API(FlushViewOfFile),
    API(CreateFileA),                API(CreateFileW),
    API(GetFileSizeEx),
    API(VirtualAlloc2),              API(VirtualAlloc2FromApp),
    API(VirtualAllocFromApp),
};

/* ntdll exports. */
static const struct {
    const char *name;
    FARPROC fn;
} nt_table[] = {
    API(NtAllocateVirtualMemory), API(NtFlushInstructionCache), API(NtFreeVirtualMemory),
    API(NtLockVirtualMemory),     API(NtProtectVirtualMemory),  API(NtQueryVirtualMemory),
    API(NtUnlockVirtualMemory),   API(RtlNtStatusToDosError),
    API(NtClose),                 API(NtDuplicateObject),
    API(NtGetWriteWatch),         API(NtResetWriteWatch),
    API(RtlAddVectoredExceptionHandler), API(RtlRemoveVectoredExceptionHandler),
    API(RtlAddVectoredContinueHandler),  API(RtlRemoveVectoredContinueHandler),
    API(RtlRaiseException),
    API(NtAllocateUserPhysicalPages), API(NtFreeUserPhysicalPages),
    API(NtMapUserPhysicalPages),      API(NtMapUserPhysicalPagesScatter),
    API(NtMapViewOfSection),      API(NtUnmapViewOfSection),    API(NtUnmapViewOfSectionEx),
    API(NtAllocateVirtualMemoryEx),
};

/* This library's load base. */
static HMODULE self_base(void)
{
    MEMORY_BASIC_INFORMATION m;
    if (nt_query(VW_PSEUDO_PROCESS, (PVOID)(uintptr_t)GetProcAddress, MemoryBasicInformation, &m,
                 sizeof m, NULL))
        return NULL;
    return m.AllocationBase;
}

/* ntdll's handle: the library's second page. */
static HMODULE ntdll_base(void)
{
    HMODULE b = self_base();
    return b ? (HMODULE)((uintptr_t)b + vw_page()) : NULL;
}

/* The executable's load base: its lowest PT_LOAD segment plus the load bias,
 * found from the program headers the kernel passed in the auxiliary vector. */
static HMODULE exe_base(void)
{
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t n = getauxval(AT_PHNUM);
    if (!ph || !n)
        return NULL;
    uintptr_t bias = 0, low = UINTPTR_MAX;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_PHDR)
            bias = (uintptr_t)ph - ph[i].p_vaddr;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < low)
            low = ph[i].p_vaddr;
    if (low == UINTPTR_MAX)
        return NULL;
    return (HMODULE)((bias + low) & ~(vw_page() - 1));
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* 1 for kernel32 or kernelbase, 3 for ntdll, 0 if the name (as code points)
 * is none of the system DLLs this library stands for.  `at` reads character
 * i, or -1 past the end. */
static int is_system_dll(long (*at)(const void *, size_t), const void *name)
{
    static const char *const names[] = { "kernel32", "kernelbase", "ntdll" };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const char *want = names[k];
        size_t i = 0;
        while (want[i] && lower((int)at(name, i)) == want[i])
            i++;
        if (want[i])
            continue;
        long c = at(name, i);
        if (c == -1 ||
            (c == '.' && lower((int)at(name, i + 1)) == 'd' && lower((int)at(name, i + 2)) == 'l' &&
             lower((int)at(name, i + 3)) == 'l' && at(name, i + 4) == -1))
            return (int)k + 1;
    }
    return 0;
}

static long at_narrow(const void *s, size_t i)
{
    const unsigned char *p = s;
    for (size_t k = 0; k <= i; k++)
        if (!p[k])
            return -1;
    return p[i];
}

static long at_wide(const void *s, size_t i)
{
    const WCHAR *p = s;
    for (size_t k = 0; k <= i; k++)
        if (!p[k])
            return -1;
    return (long)p[i];
}

static HMODULE system_module(int which)
{
    return which == 3 ? ntdll_base() : which ? self_base() : NULL;
}

/* Names are probed before they are read (issue 9): one that is not readable
 * up to its NUL gives ERROR_NOACCESS, where Windows would raise an access
 * violation in the loader. */
static HMODULE module_handle(const void *name, size_t unit, long (*at)(const void *, size_t))
{
    vw_init();
    HMODULE h = NULL;
    if (name && vw_probe_string(name, unit, 32768)) {
        vw_fail(ERROR_NOACCESS);
        return NULL;
    }
    if (!name)
        h = exe_base();
    else
        h = system_module(is_system_dll(at, name));
    if (!h)
        vw_fail(ERROR_MOD_NOT_FOUND);
    return h;
}

VW_API HMODULE WINAPI GetModuleHandleA(LPCSTR lpModuleName)
{
    HMODULE h = module_handle(lpModuleName, 1, at_narrow);
    VW_TRACE(h != NULL, "GetModuleHandleA(%s) = %p", lpModuleName, h);
    return h;
}

VW_API HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName)
{
    HMODULE h = module_handle(lpModuleName, sizeof(WCHAR), at_wide);
    VW_TRACE(h != NULL, "GetModuleHandleW(%S) = %p", lpModuleName, h);
    return h;
}

static FARPROC proc_address(HMODULE hModule, LPCSTR lpProcName)
{
    vw_init();
    HMODULE k32 = self_base(), nt = ntdll_base();
    if (!hModule || (hModule != k32 && hModule != nt && hModule != exe_base())) {
        vw_fail(ERROR_MOD_NOT_FOUND);
        return NULL;
    }
    /* Ordinals (values below 0x10000) and the executable's exports: not known. */
    if ((uintptr_t)lpProcName >= 0x10000 && (hModule == k32 || hModule == nt)) {
        if (vw_probe_string(lpProcName, 1, 4096)) {
            vw_fail(ERROR_NOACCESS);
            return NULL;
        }
        if (hModule == k32) {
            for (size_t i = 0; i < sizeof api_table / sizeof api_table[0]; i++)
                if (strcmp(api_table[i].name, lpProcName) == 0)
                    return api_table[i].fn;
        } else {
            for (size_t i = 0; i < sizeof nt_table / sizeof nt_table[0]; i++)
                if (strcmp(nt_table[i].name, lpProcName) == 0)
                    return nt_table[i].fn;
        }
    }
    vw_fail(ERROR_PROC_NOT_FOUND);
    return NULL;
}

VW_API FARPROC WINAPI GetProcAddress(HMODULE hModule, LPCSTR lpProcName)
{
    FARPROC f = proc_address(hModule, lpProcName);
    VW_TRACE(f != NULL, "GetProcAddress(%p, %s) = %p", hModule, lpProcName,
             (void *)(uintptr_t)f);
    return f;
}

/* A built-in module by name, as GetModuleHandle finds it; no name is no file. */
static HMODULE load_library(const void *name, size_t unit, long (*at)(const void *, size_t))
{
    if (!name)
        return (HMODULE)(uintptr_t)vw_fail(ERROR_INVALID_PARAMETER);
    return module_handle(name, unit, at);
}

VW_API HMODULE WINAPI LoadLibraryA(LPCSTR lpLibFileName)
{
    HMODULE h = load_library(lpLibFileName, 1, at_narrow);
    VW_TRACE(h != NULL, "LoadLibraryA(%s) = %p", lpLibFileName, h);
    return h;
}

VW_API HMODULE WINAPI LoadLibraryW(LPCWSTR lpLibFileName)
{
    HMODULE h = load_library(lpLibFileName, sizeof(WCHAR), at_wide);
    VW_TRACE(h != NULL, "LoadLibraryW(%S) = %p", lpLibFileName, h);
    return h;
}

/* The built-in modules are never unloaded: freeing them succeeds. */
VW_API BOOL WINAPI FreeLibrary(HMODULE hLibModule)
{
    vw_init();
    BOOL r = hLibModule && (hLibModule == self_base() || hLibModule == ntdll_base())
                 ? TRUE
                 : vw_fail(ERROR_MOD_NOT_FOUND);
    VW_TRACE(r, "FreeLibrary(%p) = %b", hLibModule, r);
    return r;
}
