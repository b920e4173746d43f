/*
 * preload_prog.c: an ordinary program that uses the API through <virtualwin.h>
 * but is NOT linked with libvirtualwin: every API symbol is left undefined at link
 * time and supplied by LD_PRELOAD=libvirtualwin.so (tests/check_preload.sh).
 * It reserves, commits, protects, queries, locks and frees a few allocations,
 * checks every result against the spec, prints "preload_prog: OK" and exits 0,
 * or prints what went wrong and exits 1.
 */
#define VW_PRELOAD_NAME "preload_prog"
#include "preload_common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    DWORD old;
    MEMORY_BASIC_INFORMATION m;

    /* section 1 */
    SYSTEM_INFO si;
    memset(&si, 0, sizeof si);
    GetSystemInfo(&si);
    VW_CHECK(si.dwPageSize == pg, "dwPageSize %u", (unsigned)si.dwPageSize);
    VW_CHECK(si.dwAllocationGranularity == 65536, "granularity %u",
             (unsigned)si.dwAllocationGranularity);
    VW_CHECK((uintptr_t)si.lpMinimumApplicationAddress == 0x10000, "min %p",
             si.lpMinimumApplicationAddress);
    VW_CHECK(GetCurrentProcess() == (HANDLE)(intptr_t)-1, "GetCurrentProcess %p",
             GetCurrentProcess());

    /* section 2 */
    SetLastError(1234);
    VW_CHECK(GetLastError() == 1234, "GetLastError %u", (unsigned)GetLastError());

    /* section 4: reserve */
    char *p = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE, PAGE_READWRITE);
    VW_CHECK(p != NULL, "reserve failed: %u", (unsigned)GetLastError());
    if (!p)
        goto out;
    VW_CHECK(((uintptr_t)p & 0xFFFF) == 0, "base %p not 64K aligned", (void *)p);
    VW_CHECK(GetLastError() == 1234, "successful VirtualAlloc changed the last error to %u",
             (unsigned)GetLastError());
    m = vw_checked_query(p);
    VW_CHECK(m.State == MEM_RESERVE && m.Protect == 0 && m.RegionSize == (1 << 20) &&
                 m.AllocationBase == p && m.Type == MEM_PRIVATE,
             "reserved: state %#x prot %#x size %zu", (unsigned)m.State, (unsigned)m.Protect,
             (size_t)m.RegionSize);
    VW_CHECK(!vw_probe_access(p, 0), "reserved page readable");

    /* commit */
    char *c = VirtualAlloc(p + 3 * pg + 5, 2 * pg, MEM_COMMIT, PAGE_READWRITE);
    VW_CHECK(c == p + 3 * pg, "commit returned %p, expected %p", (void *)c, (void *)(p + 3 * pg));
    if (c != p + 3 * pg)
        goto out;
    m = vw_checked_query(c);
    VW_CHECK(m.State == MEM_COMMIT && m.Protect == PAGE_READWRITE && m.RegionSize == 3 * pg,
             "committed: state %#x prot %#x size %zu", (unsigned)m.State, (unsigned)m.Protect,
             (size_t)m.RegionSize);
    VW_CHECK(c[0] == 0 && c[3 * pg - 1] == 0, "fresh pages not zero");
    memset(c, 0x3C, 3 * pg);

    /* section 6: protect */
    VW_CHECK(VirtualProtect(c + pg, pg, PAGE_READONLY, &old), "protect failed: %u",
             (unsigned)GetLastError());
    VW_CHECK(old == PAGE_READWRITE, "old protection %#x", (unsigned)old);
    m = vw_checked_query(c + pg);
    VW_CHECK(m.Protect == PAGE_READONLY && m.RegionSize == pg, "RO page: prot %#x size %zu",
             (unsigned)m.Protect, (size_t)m.RegionSize);
    VW_CHECK(!vw_probe_access(c + pg, 1) && vw_probe_access(c + pg, 0), "RO page access wrong");
    VW_CHECK(c[pg] == 0x3C, "contents changed by protect");
    SetLastError(0);
    VW_CHECK(!VirtualProtect(p, pg, PAGE_READWRITE,
                             &old) && GetLastError() == ERROR_INVALID_ADDRESS,
             "protect of reserved page: error %u", (unsigned)GetLastError());

    /* section 8: lock */
    VW_CHECK(VirtualLock(c, pg), "lock failed: %u", (unsigned)GetLastError());
    VW_CHECK(VirtualUnlock(c, pg), "unlock failed: %u", (unsigned)GetLastError());
    SetLastError(0);
    VW_CHECK(!VirtualUnlock(c, pg) && GetLastError() == ERROR_NOT_LOCKED,
             "second unlock: error %u", (unsigned)GetLastError());

    /* section 5: decommit and release */
    VW_CHECK(VirtualFree(c + 2 * pg, pg, MEM_DECOMMIT), "decommit failed: %u",
             (unsigned)GetLastError());
    m = vw_checked_query(c + 2 * pg);
    VW_CHECK(m.State == MEM_RESERVE && m.Protect == 0, "decommitted: state %#x", (unsigned)m.State);
    VW_CHECK(!vw_probe_access(c + 2 * pg, 0), "decommitted page readable");
    VW_CHECK(VirtualFree(p, 0, MEM_RELEASE), "release failed: %u", (unsigned)GetLastError());
    m = vw_checked_query(p);
    VW_CHECK(m.State == MEM_FREE, "released: state %#x", (unsigned)m.State);
    SetLastError(0);
    VW_CHECK(!VirtualFree(p, 0, MEM_RELEASE) && GetLastError() == ERROR_INVALID_ADDRESS,
             "second release: error %u", (unsigned)GetLastError());

    /* reserve+commit in one call, size rounded to pages only */
    char *q = VirtualAllocEx(GetCurrentProcess(), NULL, 0xFFFC, MEM_RESERVE | MEM_COMMIT,
                             PAGE_EXECUTE_READWRITE);
    VW_CHECK(q != NULL, "VirtualAllocEx failed: %u", (unsigned)GetLastError());
    if (q) {
        m = vw_checked_query(q);
        VW_CHECK(m.RegionSize == 0x10000 && m.Protect == PAGE_EXECUTE_READWRITE &&
                     m.AllocationProtect == PAGE_EXECUTE_READWRITE,
                 "size %zu prot %#x", (size_t)m.RegionSize, (unsigned)m.Protect);
        q[0] = (char)0xC3;
        VW_CHECK(VirtualFreeEx(GetCurrentProcess(), q, 0, MEM_RELEASE), "VirtualFreeEx failed: %u",
                 (unsigned)GetLastError());
    }

    /* memory the library did not allocate (section 7, 5) */
    char local = 1;
    m = vw_checked_query(&local);
    VW_CHECK(m.State == MEM_COMMIT && (m.Protect & 0xFF) == PAGE_READWRITE,
             "stack: state %#x prot %#x", (unsigned)m.State, (unsigned)m.Protect);
    SetLastError(0);
    VW_CHECK(!VirtualFree(&local, 0, MEM_RELEASE) && GetLastError() == ERROR_INVALID_ADDRESS,
             "VirtualFree of the stack: error %u", (unsigned)GetLastError());
    char *h = malloc(100);
    VW_CHECK(h != NULL, "malloc");
    m = vw_checked_query(h);
    VW_CHECK(m.State == MEM_COMMIT, "heap: state %#x", (unsigned)m.State);
    free(h);

    /* bad input (sections 4, 7) */
    SetLastError(0);
    VW_CHECK(VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_READWRITE) == NULL &&
                 GetLastError() == ERROR_INVALID_PARAMETER,
             "size 0: error %u", (unsigned)GetLastError());
    SetLastError(0);
    VW_CHECK(VirtualQuery(p, &m, sizeof m - 1) == 0 && GetLastError() == ERROR_BAD_LENGTH,
             "short query: error %u", (unsigned)GetLastError());

out:
    if (vw_failures) {
        printf("preload_prog: FAILED (%d failures)\n", vw_failures);
        return 1;
    }
    printf("preload_prog: OK\n");
    return 0;
}
