/*
 * awe_window.c: Address Windowing Extensions, start to finish, the way
 * Windows programs write it (the steps of Microsoft's "AWE Example" in the
 * AllocateUserPhysicalPages documentation): enable SeLockMemoryPrivilege on
 * the process token, allocate a megabyte of page frames, reserve a
 * MEM_PHYSICAL window, map the frames into it, use them, unmap them, map
 * them again elsewhere and find the data still there, then free everything.
 *
 * Ordinary Windows source: <windows.h>, <tchar.h>, the process heap and the
 * token calls come from the compat headers.  Exits 0 when every step did
 * what Windows documents.
 */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include <string.h>

#define MEGABYTE (1024 * 1024)

static int failures;

static void check(BOOL ok, const TCHAR *what)
{
    if (ok) {
        _tprintf(_T("  ok: %s\n"), what);
    } else {
        _tprintf(_T("  FAILED: %s (error %u)\n"), what, (unsigned)GetLastError());
        failures++;
    }
}

/* Asks for the privilege AWE needs, as a Windows program must. */
static BOOL enable_lock_memory(void)
{
    HANDLE token;
    TOKEN_PRIVILEGES tp;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES, &token))
        return FALSE;
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    BOOL ok = LookupPrivilegeValue(NULL, SE_LOCK_MEMORY_NAME, &tp.Privileges[0].Luid) &&
              AdjustTokenPrivileges(token, FALSE, &tp, 0, NULL, NULL) &&
              GetLastError() == ERROR_SUCCESS;
    CloseHandle(token);
    return ok;
}

static const char *state_name(DWORD s)
{
    return s == MEM_COMMIT ? "MEM_COMMIT" : s == MEM_RESERVE ? "MEM_RESERVE" : "MEM_FREE";
}

static void show(const char *label, char *window, SIZE_T size)
{
    _tprintf(_T("  %s:\n"), label);
    for (char *p = window; p < window + size;) {
        MEMORY_BASIC_INFORMATION m;
        if (!VirtualQuery(p, &m, sizeof m))
            break;
        _tprintf(_T("    +0x%06lx  %7lu KiB  %-11s protect 0x%02x\n"),
                 (unsigned long)(p - window), (unsigned long)(m.RegionSize / 1024),
                 state_name(m.State), (unsigned)m.Protect);
        p += m.RegionSize;
    }
}

int main(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    ULONG_PTR pages = MEGABYTE / si.dwPageSize, got = pages;
    _tprintf(_T("awe_window: page size %u, %lu frames for one megabyte\n"),
             (unsigned)si.dwPageSize, (unsigned long)pages);

    /* Frames count as locked memory: make room for them (on Linux this
     * raises the soft RLIMIT_MEMLOCK, up to the hard limit). */
    SetProcessWorkingSetSize(GetCurrentProcess(), 4 * MEGABYTE, 8 * MEGABYTE);
    check(enable_lock_memory(), _T("SeLockMemoryPrivilege enabled"));

    ULONG_PTR *frames = (ULONG_PTR *)HeapAlloc(GetProcessHeap(), 0, pages * sizeof(ULONG_PTR));
    if (!frames)
        return 1;
    check(AllocateUserPhysicalPages(GetCurrentProcess(), &got, frames) && got == pages,
          _T("AllocateUserPhysicalPages: every frame asked for"));
    if (got != pages) {
        _tprintf(_T("awe_window: only %lu frames (ulimit -l too low?)\n"), (unsigned long)got);
        return 1;
    }

    char *window = (char *)VirtualAlloc(NULL, 2 * MEGABYTE, MEM_RESERVE | MEM_PHYSICAL,
                                        PAGE_READWRITE);
    check(window != NULL, _T("VirtualAlloc(MEM_RESERVE | MEM_PHYSICAL): a 2 MiB window"));
    if (!window)
        return 1;
    check(VirtualAlloc(window, si.dwPageSize, MEM_COMMIT, PAGE_READWRITE) == NULL &&
              GetLastError() == ERROR_INVALID_ADDRESS,
          _T("a window is not committed with MEM_COMMIT (ERROR_INVALID_ADDRESS)"));

    check(MapUserPhysicalPages(window, pages, frames), _T("MapUserPhysicalPages: first half"));
    show("the window with the frames in its first half", window, 2 * MEGABYTE);
    for (ULONG_PTR i = 0; i < pages; i++)
        sprintf(window + i * si.dwPageSize, "frame %lu", (unsigned long)i);

    check(MapUserPhysicalPages(window, pages, NULL), _T("MapUserPhysicalPages(NULL): unmapped"));
    check(MapUserPhysicalPages(window + MEGABYTE, pages, frames),
          _T("MapUserPhysicalPages: the same frames in the second half"));
    BOOL same = TRUE;
    char want[32];
    for (ULONG_PTR i = 0; i < pages; i++) {
        sprintf(want, "frame %lu", (unsigned long)i);
        same = same && strcmp(window + MEGABYTE + i * si.dwPageSize, want) == 0;
    }
    check(same, _T("the frames kept their contents"));
    check(!MapUserPhysicalPages(window, 1, frames) && GetLastError() == ERROR_INVALID_PARAMETER,
          _T("a frame is never mapped twice (ERROR_INVALID_PARAMETER)"));
    show("the window with the frames in its second half", window, 2 * MEGABYTE);

    ULONG_PTR freed = pages;
    check(FreeUserPhysicalPages(GetCurrentProcess(), &freed, frames) && freed == pages,
          _T("FreeUserPhysicalPages: every frame, unmapped on the way"));
    show("the window after the frames were freed", window, 2 * MEGABYTE);
    check(VirtualFree(window, 0, MEM_RELEASE), _T("VirtualFree(MEM_RELEASE) of the window"));
    HeapFree(GetProcessHeap(), 0, frames);

    if (failures)
        _tprintf(_T("awe_window: %d step(s) failed\n"), failures);
    else
        _tprintf(_T("awe_window: all steps passed\n"));
    return failures != 0;
}
