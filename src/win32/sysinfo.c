/*
 * sysinfo.c: GetSystemInfo and GetNativeSystemInfo (spec section 1).
 * Processors are the CPUs this process may run on (sched_getaffinity), so a
 * program sized by dwNumberOfProcessors respects taskset and cgroups cpusets.
 *
 * A bad lpSystemInfo (NULL, unmapped, read-only, kernel): Windows raises an
 * access violation in these void calls; here the memory is left untouched and
 * the last error is set to ERROR_NOACCESS (the error Windows gives for an
 * access violation wherever it reports one), so a program can still tell.
 * The figures are built in a local copy and stored in one go.
 */
#include "core/vw.h"
#include "core/probe.h"
#include "diag/trace.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static void cpu_figures(DWORD *count, DWORD_PTR *mask)
{
    unsigned long set[16];   /* 1024 CPUs */
    memset(set, 0, sizeof set);
    long n = syscall(SYS_sched_getaffinity, 0, sizeof set, set);
    DWORD c = 0;
    DWORD_PTR m = 0;
    if (n > 0) {
        for (size_t w = 0; w < (size_t)n / sizeof set[0]; w++)
            c += (DWORD)__builtin_popcountl(set[w]);
        m = (DWORD_PTR)set[0];
    }
    if (c == 0) {
        c = 1;
        m = 1;
    }
    *count = c;
    *mask = m;
}

static void fill(LPSYSTEM_INFO out)
{
    vw_init();
    if (vw_probe(out, sizeof *out, VW_PROBE_WRITE)) {
        vw_set_error(ERROR_NOACCESS);
        return;
    }
    SYSTEM_INFO local, *si = &local;
    memset(si, 0, sizeof *si);
#if defined(__x86_64__)
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
    si->dwProcessorType = PROCESSOR_AMD_X8664;
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        unsigned family = (a >> 8) & 0xF, model = (a >> 4) & 0xF, stepping = a & 0xF;
        if (family == 0xF)
            family += (a >> 20) & 0xFF;
        if (family == 0x6 || family >= 0xF)
            model |= ((a >> 16) & 0xF) << 4;
        si->wProcessorLevel = (WORD)family;
        si->wProcessorRevision = (WORD)((model << 8) | stepping);
    }
#elif defined(__aarch64__)
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_ARM64;
    si->dwProcessorType = 0;
#else
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_UNKNOWN;
#endif
    si->dwPageSize = (DWORD)vw_page();
    si->lpMinimumApplicationAddress = (LPVOID)VW_MIN_ADDR;
    si->lpMaximumApplicationAddress = (LPVOID)VW_MAX_ADDR;
    cpu_figures(&si->dwNumberOfProcessors, &si->dwActiveProcessorMask);
    si->dwAllocationGranularity = vw_page() > 0x10000 ? (DWORD)vw_page() : 0x10000;
    memcpy(out, si, sizeof *si);
}

VW_API void WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo)
{
    fill(lpSystemInfo);
    VW_TRACE(1, "GetSystemInfo(%p)", lpSystemInfo);
}

VW_API void WINAPI GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo)
{
    fill(lpSystemInfo);
    VW_TRACE(1, "GetNativeSystemInfo(%p)", lpSystemInfo);
}
