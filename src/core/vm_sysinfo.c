/*
 * vm_sysinfo.c: the figures behind GetSystemInfo and GlobalMemoryStatusEx
 * (spec section 1), gathered from the kernel (through os/) and the map, for
 * the Win32 edge (win32/sysinfo.c, win32/memstatus.c) to copy out.
 *
 * Processors are the CPUs this process may run on (sched_getaffinity), so a
 * program sized by dwNumberOfProcessors respects taskset and cgroups cpusets.
 * Physical memory is /proc/meminfo's MemTotal and MemAvailable; the "page
 * file" figures are the commit limit and what is left under it:
 * VIRTUALWIN_COMMIT_LIMIT and the library's committed bytes when a limit is
 * set, else the kernel's CommitLimit and Committed_AS.  Virtual figures cover
 * the application range [0x10000, max] less what the process has mapped
 * (VmSize); under RLIMIT_AS the total is the limit.
 *
 * Invariants: only the out structure (the caller's local copy, never caller
 * memory) is written; the map lock is held only to read two counters, never
 * across a syscall.
 */
#include "core/vm.h"
#include "os/os.h"
#include "os/sysfile.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static void cpu_figures(DWORD *count, DWORD_PTR *mask)
{
    unsigned long set[16];   /* 1024 CPUs */
    memset(set, 0, sizeof set);
    long n = os_cpu_affinity(set, sizeof set);
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

void vm_system_info(SYSTEM_INFO *si)
{
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
}

void vm_memory_status(MEMORYSTATUSEX *st)
{
    memset(st, 0, sizeof *st);
    st->dwLength = sizeof *st;
    unsigned long long total = sysfile_meminfo("MemTotal") * 1024;
    unsigned long long avail = sysfile_meminfo("MemAvailable") * 1024;
    if (avail > total)
        avail = total;
    unsigned long long limit, used;
    if (map_lock_unless_mine()) {
        limit = vw_state.commit_limit;
        used = vw_state.committed;
        map_unlock();
    } else {
        /* A handler that interrupted this thread's map change: the counts
         * as they stand (whole words; the change may be half counted). */
        limit = __atomic_load_n(&vw_state.commit_limit, __ATOMIC_RELAXED);
        used = __atomic_load_n(&vw_state.committed, __ATOMIC_RELAXED);
    }
    if (!limit) {
        limit = sysfile_meminfo("CommitLimit") * 1024;
        used = sysfile_meminfo("Committed_AS") * 1024;
    }
    char statm[128];
    long n = sysfile_read("/proc/self/statm", statm, sizeof statm - 1);
    unsigned long long vmsize = 0;
    for (long i = 0; i < n && statm[i] >= '0' && statm[i] <= '9'; i++)
        vmsize = vmsize * 10 + (unsigned long long)(statm[i] - '0');
    vmsize *= vw_page();
    unsigned long long vtotal = (unsigned long long)(VW_MAX_ADDR + 1 - VW_MIN_ADDR);
    /* Under RLIMIT_AS the process can map no more than the limit (VmSize
     * counts against it, reservations included, as on Windows). */
    size_t aslimit = os_rlimit_as();
    if (aslimit < vtotal)
        vtotal = aslimit;

    st->dwMemoryLoad = total ? (DWORD)(100 - avail * 100 / total) : 0;
    st->ullTotalPhys = total;
    st->ullAvailPhys = avail;
    st->ullTotalPageFile = limit;
    st->ullAvailPageFile = used < limit ? limit - used : 0;
    st->ullTotalVirtual = vtotal;
    st->ullAvailVirtual = vmsize < vtotal ? vtotal - vmsize : 0;
    st->ullAvailExtendedVirtual = 0;
}
