/*
 * module.c: GetModuleHandleA/W and GetProcAddress, for the pattern
 * GetProcAddress(GetModuleHandleA("kernel32.dll"), "GetWriteWatch") that
 * Windows code uses to find out whether a call exists.
 *
 * The usual system DLL names (kernel32, kernelbase, ntdll; any case, with or
 * without ".dll") name this library; NULL names the executable.  The handle is
 * the module's load base, as on Windows.  Bases come from the kernel's view
 * (VirtualQuery's AllocationBase of a known address) and the auxiliary vector,
 * not from the dynamic loader, so no loader lock is taken.  GetProcAddress
 * knows exactly the exported API, from a table: a name that is not there (a
 * call not built yet) gives NULL and ERROR_PROC_NOT_FOUND.
 */
#include "core/vw.h"
#include "core/probe.h"
#include "diag/trace.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>

#define API(name) { #name, (FARPROC)(void (*)(void))name }

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
    API(VirtualUnlock),
};

/* This library's load base. */
static HMODULE self_base(void)
{
    MEMORY_BASIC_INFORMATION m;
    if (vw_query_region((LPCVOID)(uintptr_t)GetProcAddress, &m, sizeof m) != sizeof m)
        return NULL;
    return m.AllocationBase;
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

/* 1 if the name (as code points) is one of the system DLLs this library stands
 * for.  `at` reads character i, or -1 past the end. */
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
        if (c == -1)
            return 1;
        if (c == '.' && lower((int)at(name, i + 1)) == 'd' && lower((int)at(name, i + 2)) == 'l' &&
            lower((int)at(name, i + 3)) == 'l' && at(name, i + 4) == -1)
            return 1;
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

/* Names are probed before they are read (issue 9): one that is not readable
 * up to its NUL (or NAME_PROBE characters) gives ERROR_NOACCESS, where Windows
 * would raise an access violation in the loader.  No name compared here is
 * longer than NAME_PROBE, so the comparisons never read past what was probed. */
#define NAME_PROBE 64

static HMODULE module_handle(const void *name, long (*at)(const void *, size_t), size_t unit)
{
    vw_init();
    HMODULE h = NULL;
    if (name && vw_probe_string(name, unit, NAME_PROBE * unit)) {
        vw_fail(ERROR_NOACCESS);
        return NULL;
    }
    if (!name)
        h = exe_base();
    else if (is_system_dll(at, name))
        h = self_base();
    if (!h)
        vw_fail(ERROR_MOD_NOT_FOUND);
    return h;
}

VW_API HMODULE WINAPI GetModuleHandleA(LPCSTR lpModuleName)
{
    HMODULE h = module_handle(lpModuleName, at_narrow, 1);
    VW_TRACE(h != NULL, "GetModuleHandleA(%s) = %p", lpModuleName, h);
    return h;
}

VW_API HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName)
{
    HMODULE h = module_handle(lpModuleName, at_wide, sizeof(WCHAR));
    VW_TRACE(h != NULL, "GetModuleHandleW(%S) = %p", lpModuleName, h);
    return h;
}

static FARPROC proc_address(HMODULE hModule, LPCSTR lpProcName)
{
    vw_init();
    if (!hModule || (hModule != self_base() && hModule != exe_base())) {
        vw_fail(ERROR_MOD_NOT_FOUND);
        return NULL;
    }
    /* Ordinals (values below 0x10000) and the executable's exports: not known. */
    if ((uintptr_t)lpProcName >= 0x10000 && vw_probe_string(lpProcName, 1, NAME_PROBE)) {
        vw_fail(ERROR_NOACCESS);
        return NULL;
    }
    if (hModule == self_base() && (uintptr_t)lpProcName >= 0x10000) {
        for (size_t i = 0; i < sizeof api_table / sizeof api_table[0]; i++)
            if (strcmp(api_table[i].name, lpProcName) == 0)
                return api_table[i].fn;
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
