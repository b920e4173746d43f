/*
 * memstatus.c: GlobalMemoryStatusEx.  Physical memory from /proc/meminfo
 * (MemTotal, MemAvailable); the "page file" figures are the commit limit and
 * what is left under it: VIRTUALWIN_COMMIT_LIMIT and the library's committed
 * bytes when a limit is set, else the kernel's CommitLimit and Committed_AS.
 * Virtual figures cover the application range [0x10000, max] less what the
 * process has mapped (VmSize); under RLIMIT_AS the total is the limit.
 */
#include "core/vw.h"
#include "core/probe.h"
#include "os/sysfile.h"
#include "os/os.h"
#include "diag/trace.h"

static BOOL memory_status(LPMEMORYSTATUSEX lpBuffer)
{
    vw_init();
    /* dwLength is read first, as on Windows; the whole structure must be
     * writable before anything is computed (issue 9), and it is stored in one
     * go at the end. */
    if (vw_probe(lpBuffer, sizeof lpBuffer->dwLength, VW_PROBE_READ))
        return vw_fail(ERROR_NOACCESS);
    if (lpBuffer->dwLength != sizeof(MEMORYSTATUSEX))
        return vw_fail(ERROR_INVALID_PARAMETER);
    if (vw_probe(lpBuffer, sizeof *lpBuffer, VW_PROBE_WRITE))
        return vw_fail(ERROR_NOACCESS);
    MEMORYSTATUSEX st = { .dwLength = sizeof st };
    unsigned long long total = sysfile_meminfo("MemTotal") * 1024;
    unsigned long long avail = sysfile_meminfo("MemAvailable") * 1024;
    if (avail > total)
        avail = total;
    unsigned long long limit, used;
    map_lock();
    limit = vw_state.commit_limit;
    used = vw_state.committed;
    map_unlock();
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

    st.dwMemoryLoad = total ? (DWORD)(100 - avail * 100 / total) : 0;
    st.ullTotalPhys = total;
    st.ullAvailPhys = avail;
    st.ullTotalPageFile = limit;
    st.ullAvailPageFile = used < limit ? limit - used : 0;
    st.ullTotalVirtual = vtotal;
    st.ullAvailVirtual = vmsize < vtotal ? vtotal - vmsize : 0;
    st.ullAvailExtendedVirtual = 0;
    *lpBuffer = st;
    return TRUE;
}

VW_API BOOL WINAPI GlobalMemoryStatusEx(LPMEMORYSTATUSEX lpBuffer)
{
    BOOL r = memory_status(lpBuffer);
    VW_TRACE(r, "GlobalMemoryStatusEx(%p) = %b", lpBuffer, r);
    return r;
}
