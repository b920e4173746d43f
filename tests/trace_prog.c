/*
 * trace_prog.c: a fixed, scripted sequence of API calls for tests/check_trace.sh
 * (issue item 7: VIRTUALWIN_TRACE).
 *
 * An ordinary program: built with <virtualwin.h> but NOT linked to the library,
 * run with LD_PRELOAD=libvirtualwin.so.  It makes the same calls in the same
 * order every time -- successes and failures of several APIs, with flag
 * combinations that exercise the trace's decoders -- and checks each result
 * itself, so the expected trace (tests/trace_expected.txt) describes calls that
 * really behaved as the spec says.  It writes nothing to stderr unless a check
 * fails; on success it prints "trace_prog: OK" on stdout.
 *
 * The sizes are chosen below 0x100000 so that only addresses have six or more
 * hex digits (check_trace.sh masks those).
 */
#include <virtualwin.h>

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "trace_prog: line %d: %s failed (last error %u)\n", __LINE__, \
                    #cond, (unsigned)GetLastError());                                  \
            failures++;                                                                \
        }                                                                              \
    } while (0)

int main(void)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION mbi;
    DWORD old = 0;

    /* Not traced: GetLastError, SetLastError, GetCurrentProcess. */
    SetLastError(0);
    CHECK(GetLastError() == 0);
    CHECK(GetCurrentProcess() == (HANDLE)(intptr_t)-1);

    GetSystemInfo(&si);
    CHECK(si.dwAllocationGranularity == 0x10000);

    /* VirtualAlloc: success, size 0, an invalid type, an invalid protection. */
    char *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CHECK(p != NULL);
    if (!p)
        return 1;
    CHECK(VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_READWRITE) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(VirtualAlloc(NULL, 0x1000, 0x80000000u, PAGE_READWRITE) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(VirtualAlloc(NULL, 0x1000, MEM_COMMIT, 0x3) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);

    /* A top-down reservation, a guard page in it, a commit past the end of p. */
    char *r = VirtualAlloc(NULL, 0x20000, MEM_RESERVE | MEM_TOP_DOWN, PAGE_NOACCESS);
    CHECK(r != NULL);
    if (!r)
        return 1;
    CHECK(VirtualAlloc(r, 0x1000, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD) == r);
    CHECK(VirtualAlloc(p + 0xf000, 0x2000, MEM_COMMIT, PAGE_EXECUTE_READ) == NULL &&
          GetLastError() == ERROR_INVALID_ADDRESS);
    CHECK(VirtualAlloc(r, 0x1000, MEM_COMMIT, PAGE_NOACCESS | PAGE_GUARD) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);

    /* VirtualProtect: success (old value decoded), NULL old pointer, reserved page. */
    CHECK(VirtualProtect(p, 0x1000, PAGE_READONLY, &old) && old == PAGE_READWRITE);
    CHECK(!VirtualProtect(p, 0x1000, PAGE_EXECUTE_READ, NULL) &&
          GetLastError() == ERROR_NOACCESS);
    CHECK(!VirtualProtect(r + 0x2000, 0x1000, PAGE_READWRITE, &old) &&
          GetLastError() == ERROR_INVALID_ADDRESS && old == PAGE_NOACCESS);
    CHECK(VirtualProtectEx(GetCurrentProcess(), p + 0x1000, 0x1000,
                           PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID, &old) &&
          old == PAGE_READWRITE);

    /* VirtualQuery: success, short length. */
    CHECK(VirtualQuery(p, &mbi, sizeof mbi) == sizeof mbi && mbi.Protect == PAGE_READONLY);
    CHECK(VirtualQuery(p, &mbi, 4) == 0 && GetLastError() == ERROR_BAD_LENGTH);
    CHECK(VirtualQueryEx(GetCurrentProcess(), p, &mbi, sizeof mbi) == sizeof mbi);

    /* VirtualUnlock of a page never locked. */
    CHECK(!VirtualUnlock(p + 0x2000, 0x1000) && GetLastError() == ERROR_NOT_LOCKED);

    /* MEM_RESET on committed pages. */
    CHECK(VirtualAlloc(p + 0x2000, 0x2000, MEM_RESET, PAGE_NOACCESS) == p + 0x2000);

    /* VirtualFree: decommit, bad size, bad type, release, release twice. */
    CHECK(VirtualFree(p + 0x3000, 0x1000, MEM_DECOMMIT));
    CHECK(!VirtualFree(p, 0x1000, MEM_RELEASE) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!VirtualFree(p, 0, MEM_DECOMMIT | MEM_RELEASE) &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK(!VirtualFree(p, 0, MEM_RELEASE) && GetLastError() == ERROR_INVALID_ADDRESS);
    CHECK(VirtualFreeEx(GetCurrentProcess(), r, 0, MEM_RELEASE));

    /* A bad process handle. */
    CHECK(VirtualAllocEx(NULL, NULL, 0x1000, MEM_COMMIT, PAGE_READWRITE) == NULL &&
          GetLastError() == ERROR_INVALID_HANDLE);

    /* A cache modifier, and the instruction cache. */
    char *nc = VirtualAllocEx(GetCurrentProcess(), NULL, 0x1000, MEM_COMMIT,
                              PAGE_READWRITE | PAGE_NOCACHE);
    CHECK(nc != NULL);
    CHECK(FlushInstructionCache(GetCurrentProcess(), nc, 0x10));
    CHECK(VirtualFree(nc, 0, MEM_RELEASE));

    /* Modules and procedures. */
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    CHECK(k32 != NULL);
    CHECK(GetProcAddress(k32, "VirtualAlloc2") == NULL &&
          GetLastError() == ERROR_PROC_NOT_FOUND);
    CHECK(GetProcAddress(k32, "VirtualAlloc") != NULL);
    /* ntdll is a module of its own (issue 10). */
    HMODULE ntm = GetModuleHandleW(L"NTDLL");
    CHECK(ntm != NULL && ntm != k32);
    CHECK(GetModuleHandleA("user32.dll") == NULL && GetLastError() == ERROR_MOD_NOT_FOUND);

    if (failures) {
        printf("trace_prog: FAILED (%d)\n", failures);
        return 1;
    }
    printf("trace_prog: OK\n");
    return 0;
}
