/*
 * check_native.c: the native edge (issue 10): NtAllocateVirtualMemory,
 * NtFreeVirtualMemory, NtProtectVirtualMemory, NtQueryVirtualMemory,
 * NtLock/NtUnlockVirtualMemory, NtFlushInstructionCache and
 * RtlNtStatusToDosError; ZeroBits; the modules ntdll / kernel32 and
 * LoadLibrary / FreeLibrary; bad caller pointers (issue 9 item 1) at the
 * native edge and in the Win32 wrappers over it.
 *
 * Facts from Wine's ntdll conformance tests (which run on Windows) and the
 * Windows Research Kernel: each status is Windows' for that failure, in/out
 * BaseAddress and RegionSize come back rounded on success and untouched on
 * failure, and a Win32 call's last error is RtlNtStatusToDosError of the
 * native status for the same arguments.  Every test names its rule.
 */
#include <check.h>
#include <virtualwin/nt.h>
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define PG VW_PAGE
#define ME NtCurrentProcess()
#define SENTINEL 0xDEADBEEFu

#define ck_status(got, want)                                                              \
    do {                                                                                  \
        ULONG g_ = (ULONG)(got), w_ = (ULONG)(want);                                      \
        ck_assert_msg(g_ == w_, "%s = 0x%08x, expected 0x%08x (%s)", #got, g_, w_, #want); \
    } while (0)

/* One allocation through the native call that must succeed. */
static char *nt_alloc(SIZE_T size, ULONG type, ULONG prot)
{
    PVOID base = NULL;
    SIZE_T len = size;
    ck_status(NtAllocateVirtualMemory(ME, &base, 0, &len, type, prot), STATUS_SUCCESS);
    return base;
}

static void nt_release(void *p)
{
    PVOID base = p;
    SIZE_T len = 0;
    ck_status(NtFreeVirtualMemory(ME, &base, &len, MEM_RELEASE), STATUS_SUCCESS);
}

/* A page that reads but does not write: for out-pointers into read-only memory. */
static void *readonly_page(void)
{
    void *p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    return p;
}

/* ---- NtAllocateVirtualMemory ----------------------------------------------- */

/* Reserve at NULL: 64 KiB-aligned base, size rounded to pages only; an explicit
 * reserve covers every page touched, from the base rounded down to 64 KiB (spec 4);
 * a commit rounds out to pages; outputs are those rounded values. */
START_TEST(test_alloc_rounding)
{
    PVOID base = NULL;
    SIZE_T len = 0xFFFC;
    ck_status(NtAllocateVirtualMemory(ME, &base, 0, &len, MEM_RESERVE, PAGE_READWRITE),
              STATUS_SUCCESS);
    ck_assert_uint_eq((uintptr_t)base % VW_64K, 0);
    ck_assert_uint_eq(len, (0xFFFC + PG - 1) / PG * PG);
    char *b = base;

    PVOID at = b + 0x1234;
    len = 0x1000;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    ck_assert_ptr_eq(at, b + (0x1234 / PG) * PG);
    ck_assert_uint_eq(len, ((0x2234 + PG - 1) / PG - 0x1234 / PG) * PG);
    MEMORY_BASIC_INFORMATION m = vw_query(at);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    ck_assert(vw_can_write(at));
    nt_release(b);

    /* Explicit reserve at base+0x1234 for 0x1000 bytes: RegionSize 0x3000 on 4 KiB pages. */
    at = b + 0x1234;
    len = 0x1000;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_RESERVE, PAGE_READWRITE),
              STATUS_SUCCESS);
    ck_assert_ptr_eq(at, b);
    ck_assert_uint_eq(len, (0x2234 + PG - 1) / PG * PG);
    nt_release(b);
}
END_TEST

struct bad_alloc {
    HANDLE h;
    uintptr_t addr;   /* 1: inside the test's reservation, at +0x1000 */
    ULONG_PTR zero_bits;
    SIZE_T size;
    ULONG type, prot;
    NTSTATUS want;
};

/* Every failure has Windows' status, the in/out parameters stay as they were,
 * and VirtualAlloc with the same arguments sets RtlNtStatusToDosError of it. */
START_TEST(test_alloc_failures)
{
    char *r = nt_alloc(0x10000, MEM_RESERVE, PAGE_READWRITE);
    const struct bad_alloc cases[] = {
        { NULL, 0, 0, 0x1000, MEM_COMMIT, PAGE_READWRITE, STATUS_INVALID_HANDLE },
        { (HANDLE)(uintptr_t)0x1234, 0, 0, 0x1000, MEM_COMMIT, PAGE_READWRITE, STATUS_INVALID_HANDLE },
        { ME, 0, 22, 0x1000, MEM_COMMIT, PAGE_READWRITE, STATUS_INVALID_PARAMETER_3 },
        { ME, 0, 31, 0x1000, MEM_COMMIT, PAGE_READWRITE, STATUS_INVALID_PARAMETER_3 },
        { ME, 0, 0, 0x1000, 0, PAGE_READWRITE, STATUS_INVALID_PARAMETER_5 },
        { ME, 0, 0, 0x1000, MEM_TOP_DOWN, PAGE_READWRITE, STATUS_INVALID_PARAMETER_5 },
        { ME, 0, 0, 0x1000, MEM_COMMIT | AT_ROUND_TO_PAGE, PAGE_READWRITE, STATUS_INVALID_PARAMETER_5 },
        { ME, 0, 0, 0x1000, MEM_COMMIT | MEM_RESET, PAGE_READWRITE, STATUS_INVALID_PARAMETER_5 },
        { ME, 0, 0, 0x1000, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE, STATUS_INVALID_PARAMETER_5 },
        /* Placeholders only through NtAllocateVirtualMemoryEx (Wine's ntdll tests). */
        { ME, 0, 0, 0x1000, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, STATUS_INVALID_PARAMETER },
        { ME, 0, 0, 0x1000, MEM_COMMIT, 0, STATUS_INVALID_PAGE_PROTECTION },
        { ME, 0, 0, 0x1000, MEM_COMMIT, PAGE_WRITECOPY, STATUS_INVALID_PAGE_PROTECTION },
        { ME, 0, 0, 0x1000, MEM_COMMIT, PAGE_READWRITE | PAGE_READONLY, STATUS_INVALID_PAGE_PROTECTION },
        { ME, 0, 0, 0x1000, MEM_COMMIT, PAGE_NOACCESS | PAGE_GUARD, STATUS_INVALID_PAGE_PROTECTION },
        { ME, 0, 0, 0, MEM_COMMIT, PAGE_READWRITE, STATUS_INVALID_PARAMETER_4 },
        { ME, 0x1000, 0, 0x1000, MEM_RESERVE, PAGE_READWRITE, STATUS_INVALID_PARAMETER_2 },
        { ME, 0x800000000000ull, 0, 0x1000, MEM_RESERVE, PAGE_READWRITE, STATUS_INVALID_PARAMETER_2 },
        { ME, 0x7FFFFFFE0000ull, 0, 0x100000, MEM_RESERVE, PAGE_READWRITE, STATUS_INVALID_PARAMETER_4 },
        { ME, 0, 0, (SIZE_T)-0x10000, MEM_RESERVE, PAGE_READWRITE, STATUS_INVALID_PARAMETER_4 },
        { ME, 1, 0, 0x1000, MEM_RESERVE, PAGE_READWRITE, STATUS_CONFLICTING_ADDRESSES },
        { ME, 1, 12, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, STATUS_CONFLICTING_ADDRESSES },
        { ME, 1, 0, 0x20000, MEM_COMMIT, PAGE_READWRITE, STATUS_CONFLICTING_ADDRESSES },
        { ME, 0, 0, 0x1000, MEM_RESET, PAGE_READWRITE, STATUS_CONFLICTING_ADDRESSES },
        { ME, 0, 0, 0x10000, MEM_RESERVE | MEM_PHYSICAL, PAGE_READONLY, STATUS_INVALID_PARAMETER_6 },
        { ME, 0, 0, 0x200000, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES | MEM_WRITE_WATCH,
          PAGE_READWRITE, STATUS_INVALID_PARAMETER_5 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_alloc *c = &cases[i];
        uintptr_t a = c->addr == 1 ? (uintptr_t)r + 0x1000 : c->addr;
        PVOID base = (PVOID)a;
        SIZE_T len = c->size;
        NTSTATUS st = NtAllocateVirtualMemory(c->h, &base, c->zero_bits, &len, c->type, c->prot);
        ck_assert_msg((ULONG)st == (ULONG)c->want, "case %zu: status 0x%08x, expected 0x%08x", i,
                      (unsigned)st, (unsigned)c->want);
        ck_assert_ptr_eq(base, (PVOID)a);
        ck_assert_uint_eq(len, c->size);
        if (c->zero_bits)
            continue;   /* VirtualAlloc has no ZeroBits */
        SetLastError(SENTINEL);
        LPVOID p = VirtualAllocEx(c->h, (LPVOID)a, c->size, c->type, c->prot);
        ck_assert_ptr_null(p);
        ck_assert_msg(GetLastError() == RtlNtStatusToDosError(st),
                      "case %zu: VirtualAllocEx error %u, table says %u", i,
                      (unsigned)GetLastError(), (unsigned)RtlNtStatusToDosError(st));
    }
    vw_check_mbi(__LINE__, r, (uintptr_t)r, (uintptr_t)r, PAGE_READWRITE, 0x10000, MEM_RESERVE, 0,
                 MEM_PRIVATE);
    nt_release(r);
}
END_TEST

/* Issue 9: MEM_COMMIT | MEM_LARGE_PAGES at NULL reserves implicitly (7-Zip's
 * BigAlloc): never ERROR_INVALID_PARAMETER; success or no large pages to be had. */
START_TEST(test_large_pages_commit_at_null)
{
    SIZE_T lp = GetLargePageMinimum();
    SetLastError(SENTINEL);
    char *p = VirtualAlloc(NULL, 2 * lp, MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
    if (!p) {
        ck_assert_uint_eq(GetLastError(), ERROR_NO_SYSTEM_RESOURCES);
        return;
    }
    ck_assert_uint_eq((uintptr_t)p % lp, 0);
    MEMORY_BASIC_INFORMATION m = vw_query(p);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_ptr_eq(m.AllocationBase, p);
    p[0] = 1;
    p[2 * lp - 1] = 2;
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
    /* With an address, MEM_COMMIT alone is still not enough. */
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(p, 2 * lp, MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
}
END_TEST

/* ---- ZeroBits ---------------------------------------------------------------- */

static void zero_bits_case(ULONG_PTR zb, uintptr_t limit, ULONG extra, int must_succeed)
{
    PVOID base = NULL;
    SIZE_T len = 0x3000;
    NTSTATUS st = NtAllocateVirtualMemory(ME, &base, zb, &len, MEM_RESERVE | MEM_COMMIT | extra,
                                          PAGE_READWRITE);
    if (st == STATUS_NO_MEMORY && !must_succeed) {
        ck_assert_ptr_null(base);
        return;
    }
    ck_assert_msg(st == STATUS_SUCCESS, "ZeroBits 0x%lx: status 0x%08x", (unsigned long)zb,
                  (unsigned)st);
    uintptr_t b = (uintptr_t)base;
    ck_assert_msg(b + len - 1 <= limit, "ZeroBits 0x%lx: [%p, +0x%zx) above 0x%lx",
                  (unsigned long)zb, base, (size_t)len, (unsigned long)limit);
    ck_assert_uint_eq(b % VW_64K, 0);
    ck_assert_uint_eq(len, 0x3000);
    MEMORY_BASIC_INFORMATION m = vw_query(base);
    ck_assert_ptr_eq(m.AllocationBase, base);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert(vw_can_write((char *)base + 0x2FFF));
    vw_assert_range_agrees(base, len);
    nt_release(base);
}

/* Wine's ntdll tests on 64-bit Windows: 1..20 keep the allocation below
 * 0xFFFFFFFF >> n (bottom-up and MEM_TOP_DOWN), 21 leaves no room
 * (STATUS_NO_MEMORY), 22..31 are STATUS_INVALID_PARAMETER_3. */
START_TEST(test_zero_bits_counts)
{
    for (ULONG_PTR n = 1; n <= 20; n++) {
        uintptr_t limit = (uintptr_t)0xFFFFFFFFu >> n;
        /* Up to 1 MiB of room is there in every process this suite runs in. */
        zero_bits_case(n, limit, 0, n <= 12);
        zero_bits_case(n, limit, MEM_TOP_DOWN, n <= 12);
    }
    PVOID base = NULL;
    SIZE_T len = 0x1000;
    ck_status(NtAllocateVirtualMemory(ME, &base, 21, &len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
              STATUS_NO_MEMORY);
    for (ULONG_PTR n = 22; n <= 31; n++) {
        base = NULL;
        len = 0x1000;
        ck_status(NtAllocateVirtualMemory(ME, &base, n, &len, MEM_RESERVE, PAGE_READWRITE),
                  STATUS_INVALID_PARAMETER_3);
        ck_assert_ptr_null(base);
        ck_assert_uint_eq(len, 0x1000);
    }
}
END_TEST

/* Values of 32 and above are masks: only their leading zeros count (Wine's
 * 0x1aaaaaaa case: below 0x20000000); a mask too small for the 64 KiB floor
 * leaves no room; one with bit 63 set is no limit at all. */
START_TEST(test_zero_bits_masks)
{
    zero_bits_case(0x1aaaaaaa, 0x1FFFFFFF, MEM_TOP_DOWN, 1);
    zero_bits_case(0x1aaaaaaa, 0x1FFFFFFF, 0, 1);
    zero_bits_case(0xFFFFFFFF, 0xFFFFFFFF, MEM_TOP_DOWN, 1);
    zero_bits_case(0x7FFFFFFF, 0x7FFFFFFF, 0, 1);
    zero_bits_case(0xFFFFF, 0xFFFFF, 0, 1);
    zero_bits_case(0x80000, 0xFFFFF, MEM_TOP_DOWN, 1);
    zero_bits_case(0x7FFFFFFFFFFFull, 0x7FFFFFFFFFFFull, 0, 1);
    zero_bits_case(0xFFFFFFFFFFFFFFFFull, UINTPTR_MAX, 0, 1);
    zero_bits_case(0x1FFFFFFFFFull, 0x1FFFFFFFFFull, MEM_TOP_DOWN, 1);
    for (ULONG_PTR m = 32; m < 0x10000; m = m * 2 + 1) {
        PVOID base = NULL;
        SIZE_T len = 0x1000;
        ck_status(NtAllocateVirtualMemory(ME, &base, m, &len, MEM_RESERVE, PAGE_READWRITE),
                  STATUS_NO_MEMORY);
    }
}
END_TEST

/* ---- NtFreeVirtualMemory -------------------------------------------------------- */

/* Wine's NtFreeVirtualMemory tests, on Windows 10 and later. */
START_TEST(test_free_statuses)
{
    char *b = nt_alloc(0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    PVOID at;
    SIZE_T len;

    /* Size 2 at base+0x1fff decommits pages 1 and 2: rounded outputs. */
    at = b + 0x1fff;
    len = 2;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_DECOMMIT), STATUS_SUCCESS);
    ck_assert_ptr_eq(at, b + PG * (0x1fff / PG));
    ck_assert_uint_eq(len, PG * ((0x2001 + PG - 1) / PG - 0x1fff / PG));
    ck_assert_uint_eq(vw_query(b + 0x1fff).State, MEM_RESERVE);

    /* Size 0 needs the base. */
    at = b + PG + 1;
    len = 0;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_DECOMMIT), STATUS_FREE_VM_NOT_AT_BASE);
    ck_assert_ptr_eq(at, b + PG + 1);
    ck_assert_uint_eq(len, 0);
    at = b + PG + 1;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE), STATUS_FREE_VM_NOT_AT_BASE);
    ck_assert_ptr_eq(at, b + PG + 1);

    /* A range past the allocation's end, a partial release. */
    at = b + 0x8000;
    len = 0x10000;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_DECOMMIT), STATUS_UNABLE_TO_FREE_VM);
    ck_assert_uint_eq(len, 0x10000);
    at = b;
    len = 0x8000;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE), STATUS_UNABLE_TO_FREE_VM);
    ck_assert_uint_eq(vw_query(b).State, MEM_COMMIT);

    /* Bad free types and handles. */
    at = b;
    len = 0;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, 0), STATUS_INVALID_PARAMETER_4);
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE | MEM_DECOMMIT), STATUS_INVALID_PARAMETER_4);
    /* A placeholder flag with size 0 (check_placeholders has the rest). */
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER),
              STATUS_INVALID_PARAMETER_3);
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_DECOMMIT | MEM_PRESERVE_PLACEHOLDER),
              STATUS_INVALID_PARAMETER_4);
    ck_status(NtFreeVirtualMemory(NULL, &at, &len, MEM_RELEASE), STATUS_INVALID_HANDLE);
    at = NULL;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE), STATUS_INVALID_PARAMETER);
    at = (PVOID)0x800000000000ull;   /* spec 5: ERROR_INVALID_ADDRESS */
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE), STATUS_MEMORY_NOT_ALLOCATED);
    len = 2;                          /* a range past the user range: invalid */
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_DECOMMIT), STATUS_INVALID_PARAMETER_3);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFree(at, 2, MEM_DECOMMIT));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    len = 0;
    at = b;
    len = (SIZE_T)-0x1000;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_DECOMMIT), STATUS_INVALID_PARAMETER_3);

    /* Decommit with size 0 at base+0xffe: the whole allocation; size 0 reported back. */
    at = b + 0xffe;
    len = 0;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_DECOMMIT), STATUS_SUCCESS);
    ck_assert_ptr_eq(at, b + PG * (0xffe / PG));
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(vw_query(b).State, MEM_RESERVE);
    ck_assert_uint_eq(vw_query(b).RegionSize, 0x10000);

    /* Release at base+0xfff: the allocation's base and size come back. */
    at = b + (PG - 1);
    len = 0;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE), STATUS_SUCCESS);
    ck_assert_ptr_eq(at, b);
    ck_assert_uint_eq(len, 0x10000);
    ck_assert_uint_eq(vw_query(b).State, MEM_FREE);
    /* Twice: nothing there. */
    at = b;
    len = 0;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE), STATUS_MEMORY_NOT_ALLOCATED);
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_DECOMMIT), STATUS_MEMORY_NOT_ALLOCATED);

    /* Releasing with the exact size works natively. */
    b = nt_alloc(0x20000, MEM_RESERVE, PAGE_READWRITE);
    at = b;
    len = 0x20000;
    ck_status(NtFreeVirtualMemory(ME, &at, &len, MEM_RELEASE), STATUS_SUCCESS);
    ck_assert_uint_eq(len, 0x20000);
    ck_assert_uint_eq(vw_query(b).State, MEM_FREE);
}
END_TEST

/* ---- NtProtectVirtualMemory ------------------------------------------------------ */

START_TEST(test_protect_statuses)
{
    char *b = nt_alloc(0x10000, MEM_RESERVE, PAGE_READWRITE);
    PVOID at = b;
    SIZE_T len = 2 * PG;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    ULONG old = SENTINEL;

    /* Success: old is the first page's; outputs rounded. */
    at = b + 10;
    len = 1;
    ck_status(NtProtectVirtualMemory(ME, &at, &len, PAGE_READONLY, &old), STATUS_SUCCESS);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_ptr_eq(at, b);
    ck_assert_uint_eq(len, PG);
    ck_assert_uint_eq(vw_query(b).Protect, PAGE_READONLY);
    ck_assert(!vw_can_write(b));

    /* Reserved pages: STATUS_NOT_COMMITTED, old PAGE_NOACCESS. */
    at = b + PG;
    len = 2 * PG;
    old = SENTINEL;
    ck_status(NtProtectVirtualMemory(ME, &at, &len, PAGE_READONLY, &old), STATUS_NOT_COMMITTED);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_ptr_eq(at, b + PG);
    ck_assert_uint_eq(vw_query(b + PG).Protect, PAGE_READWRITE);

    /* Free memory: STATUS_CONFLICTING_ADDRESSES, old PAGE_NOACCESS. */
    char *f = vw_free_space(0x10000);
    at = f;
    len = PG;
    old = SENTINEL;
    ck_status(NtProtectVirtualMemory(ME, &at, &len, PAGE_READONLY, &old), STATUS_CONFLICTING_ADDRESSES);
    ck_assert_uint_eq(old, PAGE_NOACCESS);

    /* Protection errors leave old untouched, PAGE_WRITECOPY on private memory too. */
    static const ULONG bad[] = { 0, PAGE_WRITECOPY, PAGE_EXECUTE_WRITECOPY, 0x06, PAGE_GUARD,
                                 PAGE_NOACCESS | PAGE_GUARD, 0x800 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at = b;
        len = PG;
        old = SENTINEL;
        ck_status(NtProtectVirtualMemory(ME, &at, &len, bad[i], &old), STATUS_INVALID_PAGE_PROTECTION);
        ck_assert_uint_eq(old, SENTINEL);
        DWORD wold = SENTINEL;
        SetLastError(SENTINEL);
        ck_assert(!VirtualProtect(b, PG, bad[i], &wold));
        ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
        ck_assert_uint_eq(wold, SENTINEL);
    }
    ck_assert_uint_eq(vw_query(b).Protect, PAGE_READONLY);

    /* Handles and ranges. */
    at = b;
    len = PG;
    ck_status(NtProtectVirtualMemory(NULL, &at, &len, PAGE_READWRITE, &old), STATUS_INVALID_HANDLE);
    at = (PVOID)0x800000000000ull;
    ck_status(NtProtectVirtualMemory(ME, &at, &len, PAGE_READWRITE, &old), STATUS_INVALID_PARAMETER_2);
    at = b;
    len = (SIZE_T)-PG;
    ck_status(NtProtectVirtualMemory(ME, &at, &len, PAGE_READWRITE, &old), STATUS_INVALID_PARAMETER_3);
    nt_release(b);
}
END_TEST

/* ---- NtQueryVirtualMemory ------------------------------------------------------- */

START_TEST(test_query_basic)
{
    char *b = nt_alloc(0x10000, MEM_RESERVE, PAGE_EXECUTE_READ);
    MEMORY_BASIC_INFORMATION m;
    SIZE_T ret = 0;
    memset(&m, 0xAA, sizeof m);
    ck_status(NtQueryVirtualMemory(ME, b + 0x123, MemoryBasicInformation, &m, sizeof m, &ret),
              STATUS_SUCCESS);
    ck_assert_uint_eq(ret, sizeof m);
    ck_assert_ptr_eq(m.BaseAddress, b);
    ck_assert_ptr_eq(m.AllocationBase, b);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_READ);
    ck_assert_uint_eq(m.RegionSize, 0x10000);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    /* ReturnLength is optional; a larger buffer is fine. */
    char big[64];
    ck_status(NtQueryVirtualMemory(ME, b, MemoryBasicInformation, big, sizeof big, NULL),
              STATUS_SUCCESS);

    ret = 77;
    ck_status(NtQueryVirtualMemory(ME, b, MemoryBasicInformation, &m, sizeof m - 1, &ret),
              STATUS_INFO_LENGTH_MISMATCH);
    ck_assert_uint_eq(ret, 77);
    ck_status(NtQueryVirtualMemory(ME, b, (MEMORY_INFORMATION_CLASS)7, &m, sizeof m, &ret),
              STATUS_INVALID_INFO_CLASS);
    ck_status(NtQueryVirtualMemory(ME, b, (MEMORY_INFORMATION_CLASS)1, &m, sizeof m, &ret),
              STATUS_INVALID_INFO_CLASS);
    ck_status(NtQueryVirtualMemory(ME, (PVOID)0x800000000000ull, MemoryBasicInformation, &m,
                                   sizeof m, &ret),
              STATUS_INVALID_PARAMETER_2);
    ck_status(NtQueryVirtualMemory(NULL, b, MemoryBasicInformation, &m, sizeof m, &ret),
              STATUS_INVALID_HANDLE);
    /* The Win32 errors come from the same statuses. */
    SetLastError(SENTINEL);
    ck_assert_uint_eq(VirtualQuery(b, &m, sizeof m - 1), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_BAD_LENGTH);
    SetLastError(SENTINEL);
    ck_assert_uint_eq(VirtualQuery((LPCVOID)0x800000000000ull, &m, sizeof m), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    nt_release(b);
}
END_TEST

/* MemoryRegionInformation: the whole allocation, with its committed bytes; the
 * 32-byte pre-19H1 buffer is accepted; free memory is STATUS_INVALID_ADDRESS. */
START_TEST(test_query_region)
{
    char *b = nt_alloc(0x40000, MEM_RESERVE, PAGE_READWRITE);
    PVOID at = b + 0x10000;
    SIZE_T len = 3 * PG;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    MEMORY_REGION_INFORMATION ri;
    SIZE_T ret = 0;
    memset(&ri, 0xAA, sizeof ri);
    ck_status(NtQueryVirtualMemory(ME, b + 0x30000, MemoryRegionInformation, &ri, sizeof ri, &ret),
              STATUS_SUCCESS);
    ck_assert_uint_eq(ret, sizeof ri);
    ck_assert_uint_eq(sizeof ri, 48);
    ck_assert_ptr_eq(ri.AllocationBase, b);
    ck_assert_uint_eq(ri.AllocationProtect, PAGE_READWRITE);
    ck_assert_uint_eq(ri.RegionType & MEMORY_REGION_PRIVATE, MEMORY_REGION_PRIVATE);
    ck_assert_uint_eq(ri.RegionSize, 0x40000);
    ck_assert_uint_eq(ri.CommitSize, 3 * PG);

    unsigned char small[40];
    memset(small, 0xAA, sizeof small);
    ck_status(NtQueryVirtualMemory(ME, b, MemoryRegionInformation, small, 32, &ret), STATUS_SUCCESS);
    ck_assert_uint_eq(ret, 32);
    ck_assert_uint_eq(small[32], 0xAA);   /* nothing past the buffer */
    ck_status(NtQueryVirtualMemory(ME, b, MemoryRegionInformation, small, 31, &ret),
              STATUS_INFO_LENGTH_MISMATCH);
    nt_release(b);
    ck_status(NtQueryVirtualMemory(ME, b, MemoryRegionInformation, &ri, sizeof ri, &ret),
              STATUS_INVALID_ADDRESS);

    /* Memory the library did not allocate: the program's own code is an image. */
    ck_status(NtQueryVirtualMemory(ME, (PVOID)(uintptr_t)test_query_region,
                                   MemoryRegionInformation, &ri, sizeof ri, &ret),
              STATUS_SUCCESS);
    ck_assert_uint_eq(ri.RegionType & MEMORY_REGION_MAPPED_IMAGE, MEMORY_REGION_MAPPED_IMAGE);
    ck_assert_uint_le((uintptr_t)ri.AllocationBase, (uintptr_t)test_query_region);
    ck_assert_uint_gt((uintptr_t)ri.AllocationBase + ri.RegionSize, (uintptr_t)test_query_region);
}
END_TEST

/* MemoryWorkingSetExInformation: Valid for a page in RAM (from the kernel's
 * pagemap), its protection, Locked after NtLockVirtualMemory; a committed page
 * never touched, a reserved page and free memory are not valid. */
START_TEST(test_query_ws_ex)
{
    char *b = nt_alloc(0x10000, MEM_RESERVE, PAGE_READWRITE);
    PVOID at = b;
    SIZE_T len = 3 * PG;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    b[0] = 1;
    b[PG] = 1;
    at = b + PG;
    len = PG;
    NTSTATUS lst = NtLockVirtualMemory(ME, &at, &len, MAP_PROCESS);
    MEMORY_WORKING_SET_EX_INFORMATION e[5];
    memset(e, 0xAA, sizeof e);
    e[0].VirtualAddress = b + 5;
    e[1].VirtualAddress = b + PG;
    e[2].VirtualAddress = b + 2 * PG;
    e[3].VirtualAddress = b + 4 * PG;
    e[4].VirtualAddress = (PVOID)0x800000000000ull;
    SIZE_T ret = 0;
    ck_status(NtQueryVirtualMemory(ME, NULL, MemoryWorkingSetExInformation, e, sizeof e, &ret),
              STATUS_SUCCESS);
    ck_assert_uint_eq(ret, sizeof e);
    ck_assert_uint_eq(e[0].VirtualAttributes.VirtualAttributes.Valid, 1);
    ck_assert_uint_eq(e[0].VirtualAttributes.VirtualAttributes.Win32Protection, PAGE_READWRITE);
    ck_assert_uint_eq(e[0].VirtualAttributes.VirtualAttributes.Locked, 0);
    ck_assert_uint_eq(e[0].VirtualAttributes.VirtualAttributes.LargePage, 0);
    ck_assert_uint_eq(e[1].VirtualAttributes.VirtualAttributes.Valid, 1);
    if (lst == STATUS_SUCCESS)
        ck_assert_uint_eq(e[1].VirtualAttributes.VirtualAttributes.Locked, 1);
    ck_assert_uint_eq(e[2].VirtualAttributes.Flags, 0);
    ck_assert_uint_eq(e[3].VirtualAttributes.Flags, 0);
    ck_assert_uint_eq(e[4].VirtualAttributes.Flags, 0);
    /* Shorter than one entry: mismatch; a buffer of 1.5 entries answers one. */
    ck_status(NtQueryVirtualMemory(ME, NULL, MemoryWorkingSetExInformation, e, sizeof e[0] - 1, &ret),
              STATUS_INFO_LENGTH_MISMATCH);
    e[1].VirtualAttributes.Flags = 0x5555;
    ck_status(NtQueryVirtualMemory(ME, NULL, MemoryWorkingSetExInformation, e,
                                   sizeof e[0] + sizeof e[0] / 2, &ret),
              STATUS_SUCCESS);
    ck_assert_uint_eq(ret, sizeof e[0]);
    ck_assert_uint_eq(e[1].VirtualAttributes.Flags, 0x5555);
    nt_release(b);
}
END_TEST

/* ---- NtLockVirtualMemory / NtUnlockVirtualMemory ---------------------------------- */

START_TEST(test_lock_statuses)
{
    char *b = nt_alloc(0x10000, MEM_RESERVE, PAGE_READWRITE);
    PVOID at = b;
    SIZE_T len = 2 * PG;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);

    static const ULONG bad_types[] = { 0, 4, 8, 0x10001 };
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        at = b;
        len = PG;
        ck_status(NtLockVirtualMemory(ME, &at, &len, bad_types[i]), STATUS_INVALID_PARAMETER_4);
        ck_status(NtUnlockVirtualMemory(ME, &at, &len, bad_types[i]), STATUS_INVALID_PARAMETER_4);
    }
    ck_status(NtLockVirtualMemory(ME, &at, &len, MAP_SYSTEM), STATUS_PRIVILEGE_NOT_HELD);
    ck_status(NtLockVirtualMemory(NULL, &at, &len, MAP_PROCESS), STATUS_INVALID_HANDLE);

    /* Reserved pages: not committed; free memory: conflicting. */
    at = b + PG;
    len = 2 * PG;
    ck_status(NtLockVirtualMemory(ME, &at, &len, MAP_PROCESS), STATUS_NOT_COMMITTED);
    ck_assert_ptr_eq(at, b + PG);
    ck_assert_uint_eq(len, 2 * PG);
    at = vw_free_space(0x10000);
    len = PG;
    ck_status(NtLockVirtualMemory(ME, &at, &len, MAP_PROCESS), STATUS_CONFLICTING_ADDRESSES);

    /* Unlock of pages never locked: STATUS_NOT_LOCKED. */
    at = b;
    len = PG;
    ck_status(NtUnlockVirtualMemory(ME, &at, &len, MAP_PROCESS), STATUS_NOT_LOCKED);

    /* Lock, then unlock: rounded outputs. */
    at = b + 3;
    len = 2;
    NTSTATUS st = NtLockVirtualMemory(ME, &at, &len, MAP_PROCESS);
    if (st == STATUS_SUCCESS) {
        ck_assert_ptr_eq(at, b);
        ck_assert_uint_eq(len, PG);
        ck_assert_int_eq(vw_lock_state(b, PG), 1);
        at = b;
        len = PG;
        ck_status(NtUnlockVirtualMemory(ME, &at, &len, MAP_PROCESS), STATUS_SUCCESS);
        ck_assert_int_eq(vw_lock_state(b, PG), 0);
    } else {
        ck_status(st, STATUS_WORKING_SET_QUOTA);
    }

    /* A PAGE_NOACCESS page cannot be locked: STATUS_ACCESS_VIOLATION (ERROR_NOACCESS). */
    ULONG old;
    at = b;
    len = PG;
    ck_status(NtProtectVirtualMemory(ME, &at, &len, PAGE_NOACCESS, &old), STATUS_SUCCESS);
    at = b;
    len = PG;
    ck_status(NtLockVirtualMemory(ME, &at, &len, MAP_PROCESS), STATUS_ACCESS_VIOLATION);
    nt_release(b);
}
END_TEST

/* The lock quota (RLIMIT_MEMLOCK, counted by the library even with
 * CAP_IPC_LOCK): STATUS_WORKING_SET_QUOTA, nothing locked, outputs untouched. */
START_TEST(test_lock_quota)
{
    char *b = nt_alloc(1 << 20, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
    rl.rlim_cur = 64 * 1024;   /* lowering the soft limit is always allowed */
    ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
    PVOID at = b;
    SIZE_T len = 1 << 20;
    ck_status(NtLockVirtualMemory(ME, &at, &len, MAP_PROCESS), STATUS_WORKING_SET_QUOTA);
    ck_assert_ptr_eq(at, b);
    ck_assert_uint_eq(len, 1 << 20);
    ck_assert_int_eq(vw_lock_state(b, 1 << 20), 0);
    SetLastError(SENTINEL);
    ck_assert(!VirtualLock(b, 1 << 20));
    ck_assert_uint_eq(GetLastError(), ERROR_WORKING_SET_QUOTA);
    nt_release(b);
}
END_TEST

/* A guard page: STATUS_GUARD_PAGE_VIOLATION (0x80000001, also the Win32
 * error), the guard cleared; the next lock succeeds.  Unlocking a partly
 * locked range: STATUS_NOT_LOCKED after unlocking the locked part. */
START_TEST(test_lock_guard_and_partial)
{
    char *b = nt_alloc(4 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    PVOID at = b;
    SIZE_T len = PG;
    ULONG old;
    ck_status(NtProtectVirtualMemory(ME, &at, &len, PAGE_READWRITE | PAGE_GUARD, &old),
              STATUS_SUCCESS);
    at = b;
    len = 2 * PG;
    ck_status(NtLockVirtualMemory(ME, &at, &len, MAP_PROCESS), STATUS_GUARD_PAGE_VIOLATION);
    ck_assert_uint_eq(vw_query(b).Protect, PAGE_READWRITE);
    ck_assert_uint_eq(RtlNtStatusToDosError(STATUS_GUARD_PAGE_VIOLATION), 0x80000001u);
    NTSTATUS st = NtLockVirtualMemory(ME, &at, &len, MAP_PROCESS);
    if (st == STATUS_WORKING_SET_QUOTA)
        return;   /* no lock quota at all on this system: nothing more to see */
    ck_status(st, STATUS_SUCCESS);
    ck_assert_int_eq(vw_lock_state(b, 2 * PG), 1);
    at = b;
    len = 4 * PG;
    ck_status(NtUnlockVirtualMemory(ME, &at, &len, MAP_PROCESS), STATUS_NOT_LOCKED);
    ck_assert_int_eq(vw_lock_state(b, 2 * PG), 0);
    ck_assert_ptr_eq(at, b);
    ck_assert_uint_eq(len, 4 * PG);
    nt_release(b);
}
END_TEST

/* MEM_RESET and MEM_RESET_UNDO through the native call: the page-rounded range
 * comes back, state and protection stay; reset of free memory conflicts. */
START_TEST(test_reset)
{
    char *b = nt_alloc(0x10000, MEM_RESERVE, PAGE_READWRITE);
    PVOID at = b;
    SIZE_T len = 2 * PG;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    memset(b, 7, 2 * PG);
    at = b + 10;
    len = PG + 1;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_RESET, 0x12345), STATUS_SUCCESS);
    ck_assert_ptr_eq(at, b);
    ck_assert_uint_eq(len, 2 * PG);
    ck_assert_uint_eq(vw_query(b).State, MEM_COMMIT);
    ck_assert_uint_eq(vw_query(b).Protect, PAGE_READWRITE);
    at = b + 3 * PG;   /* reserved pages are allowed */
    len = PG;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_RESET, PAGE_READWRITE), STATUS_SUCCESS);
    at = b;
    len = 2 * PG;
    NTSTATUS st = NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_RESET_UNDO, PAGE_READWRITE);
    /* Success means every byte is intact; a lost page is STATUS_DEVICE_BUSY (ERROR_BUSY). */
    if (st == STATUS_SUCCESS) {
        for (size_t i = 0; i < 2 * PG; i++)
            ck_assert_int_eq(b[i], 7);
    } else {
        ck_status(st, STATUS_DEVICE_BUSY);
        ck_assert_uint_eq(RtlNtStatusToDosError(st), ERROR_BUSY);
    }
    nt_release(b);
    at = b;
    len = PG;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_RESET, PAGE_READWRITE),
              STATUS_CONFLICTING_ADDRESSES);
}
END_TEST

START_TEST(test_flush_icache)
{
    char *b = nt_alloc(PG, MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    ck_status(NtFlushInstructionCache(ME, b, PG), STATUS_SUCCESS);
    ck_status(NtFlushInstructionCache(ME, NULL, 0), STATUS_SUCCESS);
    ck_status(NtFlushInstructionCache(NULL, b, PG), STATUS_INVALID_HANDLE);
    SetLastError(SENTINEL);
    ck_assert(!FlushInstructionCache(NULL, b, PG));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    nt_release(b);
}
END_TEST

/* ---- RtlNtStatusToDosError -------------------------------------------------------- */

/* Every status the library returns, with Windows' Win32 error for it. */
START_TEST(test_status_table)
{
    static const struct {
        NTSTATUS st;
        ULONG err;
    } t[] = {
        { STATUS_SUCCESS, 0 },
        { (NTSTATUS)STATUS_GUARD_PAGE_VIOLATION, 0x80000001u },
        { STATUS_DEVICE_BUSY, ERROR_BUSY },
        { STATUS_UNSUCCESSFUL, 31 },
        { STATUS_INVALID_INFO_CLASS, ERROR_INVALID_PARAMETER },
        { STATUS_INFO_LENGTH_MISMATCH, ERROR_BAD_LENGTH },
        { (NTSTATUS)STATUS_ACCESS_VIOLATION, ERROR_NOACCESS },
        { STATUS_INVALID_HANDLE, ERROR_INVALID_HANDLE },
        { STATUS_INVALID_PARAMETER, ERROR_INVALID_PARAMETER },
        { STATUS_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY },
        { STATUS_CONFLICTING_ADDRESSES, ERROR_INVALID_ADDRESS },
        { STATUS_UNABLE_TO_FREE_VM, ERROR_INVALID_PARAMETER },
        { STATUS_ACCESS_DENIED, ERROR_ACCESS_DENIED },
        { STATUS_NOT_LOCKED, ERROR_NOT_LOCKED },
        { STATUS_NOT_COMMITTED, ERROR_INVALID_ADDRESS },
        { STATUS_INVALID_PAGE_PROTECTION, ERROR_INVALID_PARAMETER },
        { STATUS_PRIVILEGE_NOT_HELD, ERROR_PRIVILEGE_NOT_HELD },
        { STATUS_INSUFFICIENT_RESOURCES, ERROR_NO_SYSTEM_RESOURCES },
        { STATUS_FREE_VM_NOT_AT_BASE, ERROR_INVALID_ADDRESS },
        { STATUS_MEMORY_NOT_ALLOCATED, ERROR_INVALID_ADDRESS },
        { STATUS_WORKING_SET_QUOTA, ERROR_WORKING_SET_QUOTA },
        { STATUS_NOT_SUPPORTED, ERROR_NOT_SUPPORTED },
        { STATUS_INVALID_PARAMETER_1, ERROR_INVALID_PARAMETER },
        { STATUS_INVALID_PARAMETER_2, ERROR_INVALID_PARAMETER },
        { STATUS_INVALID_PARAMETER_3, ERROR_INVALID_PARAMETER },
        { STATUS_INVALID_PARAMETER_4, ERROR_INVALID_PARAMETER },
        { STATUS_INVALID_PARAMETER_5, ERROR_INVALID_PARAMETER },
        { STATUS_INVALID_PARAMETER_6, ERROR_INVALID_PARAMETER },
        { STATUS_COMMITMENT_LIMIT, ERROR_COMMITMENT_LIMIT },
        { STATUS_INVALID_ADDRESS, ERROR_INVALID_ADDRESS },
        { STATUS_POSSIBLE_DEADLOCK, 1131 },   /* a signal handler inside a map change */
        { STATUS_PAGEFILE_QUOTA, 1454 },
        { STATUS_PROCEDURE_NOT_FOUND, ERROR_PROC_NOT_FOUND },
        { STATUS_DLL_NOT_FOUND, ERROR_MOD_NOT_FOUND },
        { STATUS_PARTIAL_COPY, ERROR_PARTIAL_COPY },         /* other processes */
        { STATUS_INVALID_CID, ERROR_INVALID_PARAMETER },
        { STATUS_PROCESS_IS_TERMINATING, ERROR_ACCESS_DENIED },
        { STATUS_INCOMPATIBLE_FILE_MAP, ERROR_INVALID_PARAMETER },   /* VirtualLock of an AWE window */
        { (NTSTATUS)0xC0070005, 5 },     /* a Win32 error wrapped as a status */
        { (NTSTATUS)0xC0DEC0DE, 317 },   /* unknown: ERROR_MR_MID_NOT_FOUND */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        ck_assert_msg(RtlNtStatusToDosError(t[i].st) == t[i].err, "0x%08x -> %u, expected %u",
                      (unsigned)t[i].st, (unsigned)RtlNtStatusToDosError(t[i].st),
                      (unsigned)t[i].err);
}
END_TEST

/* ---- modules ------------------------------------------------------------------------ */

typedef NTSTATUS(NTAPI *NtAllocateVirtualMemory_t)(HANDLE, PVOID *, ULONG_PTR, PSIZE_T, ULONG, ULONG);

static void *fn(FARPROC f)
{
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}

/* ntdll is its own module: the Nt and Rtl calls are found through it only, the
 * Win32 calls through kernel32 and kernelbase only (ERROR_PROC_NOT_FOUND across);
 * LuaJIT's lookup works and its allocation lands below 2 GiB. */
START_TEST(test_modules)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll"), kb = GetModuleHandleA("KERNELBASE");
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    ck_assert_ptr_nonnull(k32);
    ck_assert_ptr_nonnull(nt);
    ck_assert_ptr_eq(k32, kb);
    ck_assert_ptr_ne(nt, k32);
    ck_assert_ptr_eq(GetModuleHandleA("NTDLL"), nt);
    ck_assert_ptr_eq(GetModuleHandleW(L"NtDll.Dll"), nt);
    static const char *const nt_names[] = { "NtAllocateVirtualMemory", "NtFreeVirtualMemory",
                                            "NtProtectVirtualMemory", "NtQueryVirtualMemory",
                                            "NtLockVirtualMemory", "NtUnlockVirtualMemory",
                                            "NtFlushInstructionCache", "RtlNtStatusToDosError" };
    static const FARPROC nt_fns[] = {
        (FARPROC)(void (*)(void))NtAllocateVirtualMemory, (FARPROC)(void (*)(void))NtFreeVirtualMemory,
        (FARPROC)(void (*)(void))NtProtectVirtualMemory, (FARPROC)(void (*)(void))NtQueryVirtualMemory,
        (FARPROC)(void (*)(void))NtLockVirtualMemory, (FARPROC)(void (*)(void))NtUnlockVirtualMemory,
        (FARPROC)(void (*)(void))NtFlushInstructionCache, (FARPROC)(void (*)(void))RtlNtStatusToDosError,
    };
    for (size_t i = 0; i < sizeof nt_names / sizeof nt_names[0]; i++) {
        SetLastError(SENTINEL);
        ck_assert_ptr_eq(fn(GetProcAddress(nt, nt_names[i])), fn(nt_fns[i]));
        ck_assert_uint_eq(GetLastError(), SENTINEL);
        ck_assert_ptr_null(fn(GetProcAddress(k32, nt_names[i])));
        ck_assert_uint_eq(GetLastError(), ERROR_PROC_NOT_FOUND);
        ck_assert_ptr_null(fn(GetProcAddress(kb, nt_names[i])));
    }
    static const char *const k32_names[] = { "VirtualAlloc", "VirtualFree", "VirtualQuery",
                                             "GetProcAddress", "LoadLibraryA", "FreeLibrary" };
    for (size_t i = 0; i < sizeof k32_names / sizeof k32_names[0]; i++) {
        ck_assert_ptr_nonnull(fn(GetProcAddress(k32, k32_names[i])));
        ck_assert_ptr_eq(fn(GetProcAddress(kb, k32_names[i])), fn(GetProcAddress(k32, k32_names[i])));
        SetLastError(SENTINEL);
        ck_assert_ptr_null(fn(GetProcAddress(nt, k32_names[i])));
        ck_assert_uint_eq(GetLastError(), ERROR_PROC_NOT_FOUND);
    }
    /* Names of calls compare exactly; ordinals are not known. */
    ck_assert_ptr_null(fn(GetProcAddress(nt, "ntallocatevirtualmemory")));
    for (uintptr_t ord = 1; ord < 0x10000; ord = ord * 3 + 1) {
        SetLastError(SENTINEL);
        ck_assert_ptr_null(fn(GetProcAddress(nt, (LPCSTR)ord)));
        ck_assert_uint_eq(GetLastError(), ERROR_PROC_NOT_FOUND);
        ck_assert_ptr_null(fn(GetProcAddress(k32, (LPCSTR)ord)));
        ck_assert_uint_eq(GetLastError(), ERROR_PROC_NOT_FOUND);
    }

    /* LuaJIT: NtAllocateVirtualMemory found through ntdll, ZeroBits 1 => below 2 GiB. */
    NtAllocateVirtualMemory_t alloc;
    FARPROC f = GetProcAddress(nt, "NtAllocateVirtualMemory");
    memcpy(&alloc, &f, sizeof alloc);
    PVOID base = NULL;
    SIZE_T len = 0x10000;
    ck_status(alloc(ME, &base, 1, &len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    ck_assert_uint_lt((uintptr_t)base + len, 0x80000000u);
    nt_release(base);
}
END_TEST

/* LoadLibraryA/W give the built-in modules for their names (any case, with or
 * without ".dll"), ERROR_MOD_NOT_FOUND for others; FreeLibrary of them succeeds. */
START_TEST(test_load_library)
{
    HMODULE k32 = GetModuleHandleA("kernel32"), nt = GetModuleHandleA("ntdll");
    SetLastError(SENTINEL);
    ck_assert_ptr_eq(LoadLibraryA("KERNEL32.DLL"), k32);
    ck_assert_ptr_eq(LoadLibraryA("kernelbase"), k32);
    ck_assert_ptr_eq(LoadLibraryA("ntdll.dll"), nt);
    ck_assert_ptr_eq(LoadLibraryW(L"NTDLL"), nt);
    ck_assert_ptr_eq(LoadLibraryW(L"KernelBase.dll"), k32);
    ck_assert_uint_eq(GetLastError(), SENTINEL);
    ck_assert(FreeLibrary(k32));
    ck_assert(FreeLibrary(nt));
    ck_assert_ptr_eq(GetModuleHandleA("ntdll"), nt);   /* still there */
    ck_assert_uint_eq(GetLastError(), SENTINEL);

    static const char *const bad[] = { "user32.dll", "ntdll.exe", "kernel", "ntdll.dll.dll", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(SENTINEL);
        ck_assert_ptr_null(LoadLibraryA(bad[i]));
        ck_assert_uint_eq(GetLastError(), ERROR_MOD_NOT_FOUND);
    }
    SetLastError(SENTINEL);
    ck_assert_ptr_null(LoadLibraryW(L"advapi32"));
    ck_assert_uint_eq(GetLastError(), ERROR_MOD_NOT_FOUND);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(LoadLibraryA(NULL));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(LoadLibraryA((LPCSTR)8));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    SetLastError(SENTINEL);
    ck_assert(!FreeLibrary((HMODULE)(uintptr_t)0x12340000));
    ck_assert_uint_eq(GetLastError(), ERROR_MOD_NOT_FOUND);
    ck_assert(!FreeLibrary(NULL));
    /* The SDK macro (no UNICODE): the A form. */
    ck_assert_ptr_eq(LoadLibrary("kernel32"), k32);
}
END_TEST

/* ---- bad pointers (issue 9 item 1) ------------------------------------------------- */

/* NULL, the null page, reserved (inaccessible) memory, unmapped memory, a
 * read-only page, a kernel address. */
static void *bad_ptrs[6];

static void setup_bad(void)
{
    bad_ptrs[0] = NULL;
    bad_ptrs[1] = (void *)8;
    bad_ptrs[2] = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE);
    bad_ptrs[3] = readonly_page();
    bad_ptrs[4] = (void *)0xFFFF800000001000ull;
    bad_ptrs[5] = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(bad_ptrs[5], PG);   /* unmapped now */
}

static void teardown_bad(void)
{
    VirtualFree(bad_ptrs[2], 0, MEM_RELEASE);
    munmap(bad_ptrs[3], PG);
}

/* Every in/out pointer of every native call: STATUS_ACCESS_VIOLATION, nothing
 * changed (no allocation made or freed, no protection or lock changed). */
START_TEST(test_native_bad_pointers)
{
    char *b = nt_alloc(0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    for (size_t i = 0; i < sizeof bad_ptrs / sizeof bad_ptrs[0]; i++) {
        void *bad = bad_ptrs[i];
        PVOID at = NULL;
        SIZE_T len = 0x10000;
        ULONG old = SENTINEL;
        ck_status(NtAllocateVirtualMemory(ME, (PVOID *)bad, 0, &len, MEM_RESERVE, PAGE_READWRITE),
                  STATUS_ACCESS_VIOLATION);
        ck_assert_uint_eq(len, 0x10000);
        ck_status(NtAllocateVirtualMemory(ME, &at, 0, (PSIZE_T)bad, MEM_RESERVE, PAGE_READWRITE),
                  STATUS_ACCESS_VIOLATION);
        ck_assert_ptr_null(at);
        at = b;
        len = 0;
        ck_status(NtFreeVirtualMemory(ME, (PVOID *)bad, &len, MEM_RELEASE), STATUS_ACCESS_VIOLATION);
        ck_status(NtFreeVirtualMemory(ME, &at, (PSIZE_T)bad, MEM_RELEASE), STATUS_ACCESS_VIOLATION);
        ck_status(NtFreeVirtualMemory(ME, &at, (PSIZE_T)bad, MEM_DECOMMIT), STATUS_ACCESS_VIOLATION);
        ck_assert_uint_eq(vw_query(b).State, MEM_COMMIT);
        len = PG;
        ck_status(NtProtectVirtualMemory(ME, &at, &len, PAGE_READONLY, (PULONG)bad),
                  STATUS_ACCESS_VIOLATION);
        ck_status(NtProtectVirtualMemory(ME, (PVOID *)bad, &len, PAGE_READONLY, &old),
                  STATUS_ACCESS_VIOLATION);
        ck_status(NtProtectVirtualMemory(ME, &at, (PSIZE_T)bad, PAGE_READONLY, &old),
                  STATUS_ACCESS_VIOLATION);
        ck_assert_uint_eq(old, SENTINEL);
        ck_assert_uint_eq(vw_query(b).Protect, PAGE_READWRITE);
        ck_assert(vw_can_write(b));
        ck_status(NtLockVirtualMemory(ME, (PVOID *)bad, &len, MAP_PROCESS), STATUS_ACCESS_VIOLATION);
        ck_status(NtLockVirtualMemory(ME, &at, (PSIZE_T)bad, MAP_PROCESS), STATUS_ACCESS_VIOLATION);
        ck_status(NtUnlockVirtualMemory(ME, (PVOID *)bad, &len, MAP_PROCESS), STATUS_ACCESS_VIOLATION);
        ck_assert_int_eq(vw_lock_state(b, PG), 0);
        MEMORY_BASIC_INFORMATION m;
        memset(&m, 0x5A, sizeof m);
        SIZE_T ret = 77;
        ck_status(NtQueryVirtualMemory(ME, b, MemoryBasicInformation, bad, sizeof m, &ret),
                  STATUS_ACCESS_VIOLATION);
        ck_assert_uint_eq(ret, 77);
        if (bad) {   /* ReturnLength is optional: NULL is no pointer */
            ck_status(NtQueryVirtualMemory(ME, b, MemoryBasicInformation, &m, sizeof m,
                                           (PSIZE_T)bad),
                      STATUS_ACCESS_VIOLATION);
            ck_assert_uint_eq(((unsigned char *)&m)[0], 0x5A);   /* no partial write */
        }
        ck_status(NtQueryVirtualMemory(ME, b, MemoryRegionInformation, bad, 48, &ret),
                  STATUS_ACCESS_VIOLATION);
        ck_status(NtQueryVirtualMemory(ME, b, MemoryWorkingSetExInformation, bad, 16, &ret),
                  STATUS_ACCESS_VIOLATION);
    }
    /* A buffer that runs off the end of readable memory. */
    /* A buffer that starts in a writable page and runs into a reserved one:
     * refused whole, its writable part untouched. */
    char *e = nt_alloc(2 * PG, MEM_RESERVE, PAGE_READWRITE);
    PVOID at = e;
    SIZE_T len = PG;
    ck_status(NtAllocateVirtualMemory(ME, &at, 0, &len, MEM_COMMIT, PAGE_READWRITE), STATUS_SUCCESS);
    memset(e, 0x5A, PG);
    ck_status(NtQueryVirtualMemory(ME, b, MemoryBasicInformation, e + PG - 24,
                                   sizeof(MEMORY_BASIC_INFORMATION), NULL),
              STATUS_ACCESS_VIOLATION);
    for (size_t k = PG - 24; k < PG; k++)
        ck_assert_uint_eq((unsigned char)e[k], 0x5A);
    SetLastError(SENTINEL);
    ck_assert_uint_eq(VirtualQuery(b, (PMEMORY_BASIC_INFORMATION)(void *)(e + PG - 24),
                                   sizeof(MEMORY_BASIC_INFORMATION)),
                      0);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    nt_release(e);
    nt_release(b);
}
END_TEST

/* The Win32 wrappers: ERROR_NOACCESS, nothing changed, nothing written. */
START_TEST(test_win32_bad_pointers)
{
    char *b = VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < sizeof bad_ptrs / sizeof bad_ptrs[0]; i++) {
        SetLastError(SENTINEL);
        ck_assert_uint_eq(VirtualQuery(b, (PMEMORY_BASIC_INFORMATION)bad_ptrs[i],
                                       sizeof(MEMORY_BASIC_INFORMATION)),
                          0);
        ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
        SetLastError(SENTINEL);
        ck_assert(!VirtualProtect(b, PG, PAGE_READONLY, (PDWORD)bad_ptrs[i]));
        ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
        ck_assert_uint_eq(vw_query(b).Protect, PAGE_READWRITE);
        ck_assert(vw_can_write(b));
        SetLastError(SENTINEL);
        ck_assert(!VirtualProtectEx(GetCurrentProcess(), b, PG, PAGE_NOACCESS, (PDWORD)bad_ptrs[i]));
        ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
        ck_assert(vw_can_write(b));
    }
    ck_assert(VirtualFree(b, 0, MEM_RELEASE));
}
END_TEST

/* Win32 last errors are the table's, for the same arguments, across calls. */
START_TEST(test_win32_errors_follow_statuses)
{
    char *b = nt_alloc(0x10000, MEM_RESERVE, PAGE_READWRITE);
    struct {
        PVOID addr;
        SIZE_T size;
        ULONG type;
    } frees[] = {
        { b + PG, 0, MEM_RELEASE },   { b + PG, 0, MEM_DECOMMIT },   { b, 0x20000, MEM_DECOMMIT },
        { b, 0, 0 },                  { NULL, 0, MEM_RELEASE },      { b + 0x20000, 0, MEM_RELEASE },
    };
    for (size_t i = 0; i < sizeof frees / sizeof frees[0]; i++) {
        PVOID at = frees[i].addr;
        SIZE_T len = frees[i].size;
        NTSTATUS st = NtFreeVirtualMemory(ME, &at, &len, frees[i].type);
        ck_assert_msg(st != STATUS_SUCCESS, "case %zu succeeded", i);
        SetLastError(SENTINEL);
        ck_assert(!VirtualFree(frees[i].addr, frees[i].size, frees[i].type));
        ck_assert_msg(GetLastError() == RtlNtStatusToDosError(st), "case %zu: %u vs %u", i,
                      (unsigned)GetLastError(), (unsigned)RtlNtStatusToDosError(st));
    }
    /* kernelbase's own rule: MEM_RELEASE with a size is ERROR_INVALID_PARAMETER,
     * even where the native call would release. */
    SetLastError(SENTINEL);
    ck_assert(!VirtualFree(b, 0x10000, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(vw_query(b).State, MEM_RESERVE);
    nt_release(b);
}
END_TEST

static Suite *native_suite(void)
{
    Suite *s = suite_create("native");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, test_alloc_rounding);
    tcase_add_test(tc, test_alloc_failures);
    tcase_add_test(tc, test_large_pages_commit_at_null);
    tcase_add_test(tc, test_zero_bits_counts);
    tcase_add_test(tc, test_zero_bits_masks);
    suite_add_tcase(s, tc);

    tc = tcase_create("free_protect_lock");
    tcase_add_test(tc, test_free_statuses);
    tcase_add_test(tc, test_protect_statuses);
    tcase_add_test(tc, test_lock_statuses);
    tcase_add_test(tc, test_flush_icache);
    tcase_add_test(tc, test_lock_quota);
    tcase_add_test(tc, test_lock_guard_and_partial);
    tcase_add_test(tc, test_reset);
    suite_add_tcase(s, tc);

    tc = tcase_create("query");
    tcase_add_test(tc, test_query_basic);
    tcase_add_test(tc, test_query_region);
    tcase_add_test(tc, test_query_ws_ex);
    suite_add_tcase(s, tc);

    tc = tcase_create("status_modules");
    tcase_add_test(tc, test_status_table);
    tcase_add_test(tc, test_modules);
    tcase_add_test(tc, test_load_library);
    tcase_add_test(tc, test_win32_errors_follow_statuses);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_pointers");
    tcase_add_checked_fixture(tc, setup_bad, teardown_bad);
    tcase_add_test(tc, test_native_bad_pointers);
    tcase_add_test(tc, test_win32_bad_pointers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(native_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
