/*
 * check_alloc.c: VirtualAlloc and VirtualAllocEx (spec sections 3, 4, 10 and
 * the VirtualAlloc part of sections 0, 1, 2 and 9).
 *
 * Every test checks the return value, the last error (a sentinel set before a
 * failing call must be replaced; 1234 set before a successful call must
 * survive), the state VirtualQuery reports afterwards, whether access faults
 * (vw_can_read / vw_can_write) and memory contents, and ends with an agreement
 * check against /proc/self/maps.  Each test runs in its own process (Check's
 * fork mode).
 *
 * Free address space for explicit-address tests comes from reserving 1 MiB and
 * releasing it (vw_free_space): that space is then free as far as the program can
 * tell (spec 4), whether or not the library keeps it in one of its arenas.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

#define PG VW_PAGE
#define G64 VW_64K
#define SENTINEL ((DWORD)0xDEADBEEFu)
#define KEEP_ERR ((DWORD)1234)
#define RW PAGE_READWRITE

static uintptr_t pfloor(uintptr_t a) { return a & ~(uintptr_t)(PG - 1); }
static uintptr_t pceil(uintptr_t a) { return (a + PG - 1) & ~(uintptr_t)(PG - 1); }
static uintptr_t g64floor(uintptr_t a) { return a & ~(uintptr_t)(G64 - 1); }
static uintptr_t g64ceil(uintptr_t a) { return (a + G64 - 1) & ~(uintptr_t)(G64 - 1); }

/* VirtualAlloc that must fail with the given last error. */
#define ALLOC_FAILS(addr, size, type, prot, err)                                          \
    alloc_fails(__LINE__, (void *)(addr), (SIZE_T)(size), (DWORD)(type), (DWORD)(prot),   \
                (DWORD)(err))
static void alloc_fails(int line, void *addr, SIZE_T size, DWORD type, DWORD prot, DWORD err)
{
    SetLastError(SENTINEL);
    void *r = VirtualAlloc(addr, size, type, prot);
    DWORD e = GetLastError();
    ck_assert_msg(r == NULL,
                  "line %d: VirtualAlloc(%p, %#zx, %#x, %#x) returned %p, expected NULL with "
                  "error %u", line, addr, (size_t)size, (unsigned)type, (unsigned)prot, r,
                  (unsigned)err);
    ck_assert_msg(e == err, "line %d: VirtualAlloc(%p, %#zx, %#x, %#x): last error %u, expected %u",
                  line, addr, (size_t)size, (unsigned)type, (unsigned)prot, (unsigned)e,
                  (unsigned)err);
}

/* Non-aborting variant for loops: returns 1 when the call failed with err. */
static int alloc_fails_quiet(void *addr, SIZE_T size, DWORD type, DWORD prot, DWORD err,
                             void **got, DWORD *goterr)
{
    SetLastError(SENTINEL);
    void *r = VirtualAlloc(addr, size, type, prot);
    *got = r;
    *goterr = GetLastError();
    return r == NULL && *goterr == err;
}

static const DWORD valid_prots[] = {
    PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
    PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
};
#define N_VALID_PROTS (sizeof valid_prots / sizeof valid_prots[0])

static int prot_readable(DWORD p)
{
    p &= 0xFF;
    return p != PAGE_NOACCESS;
}
static int prot_writable(DWORD p)
{
    p &= 0xFF;
    return p == PAGE_READWRITE || p == PAGE_EXECUTE_READWRITE;
}

/* Checks access on one committed page with protection prot (no guard). */
#define CHECK_ACCESS(p, prot) check_access(__LINE__, (void *)(p), (DWORD)(prot))
static void check_access(int line, void *p, DWORD prot)
{
    int r = vw_can_read(p), w = vw_can_write(p);
    ck_assert_msg(r == prot_readable(prot), "line %d: %p with protection %#x: read %s", line, p,
                  (unsigned)prot, r ? "works, expected a fault" : "faults, expected to work");
    ck_assert_msg(w == prot_writable(prot), "line %d: %p with protection %#x: write %s", line, p,
                  (unsigned)prot, w ? "works, expected a fault" : "faults, expected to work");
}

/* Appends one line to a bounded report used by looping tests. */
static void report(char *buf, size_t cap, int *n, const char *fmt, DWORD a, DWORD b, void *got,
                   DWORD err)
{
    size_t len = strlen(buf);
    if (*n < 12 && len + 120 < cap)
        snprintf(buf + len, cap - len, fmt, (unsigned)a, (unsigned)b, got, (unsigned)err);
    (*n)++;
}

/* ---- sections 0-2: constants, figures and last error ----------------------- */

/* spec 0: constants VirtualAlloc uses have the SDK's values; LLP64 sizes; MBI layout */
START_TEST(test_constants)
{
    ck_assert_uint_eq(sizeof(DWORD), 4);
    ck_assert_uint_eq(sizeof(SIZE_T), sizeof(void *));
    ck_assert_uint_eq(sizeof(MEMORY_BASIC_INFORMATION), 48);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, AllocationProtect), 16);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, RegionSize), 24);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, State), 32);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, Protect), 36);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, Type), 40);
    ck_assert_uint_eq(PAGE_NOACCESS, 0x01);
    ck_assert_uint_eq(PAGE_READONLY, 0x02);
    ck_assert_uint_eq(PAGE_READWRITE, 0x04);
    ck_assert_uint_eq(PAGE_WRITECOPY, 0x08);
    ck_assert_uint_eq(PAGE_EXECUTE, 0x10);
    ck_assert_uint_eq(PAGE_EXECUTE_READ, 0x20);
    ck_assert_uint_eq(PAGE_EXECUTE_READWRITE, 0x40);
    ck_assert_uint_eq(PAGE_EXECUTE_WRITECOPY, 0x80);
    ck_assert_uint_eq(PAGE_GUARD, 0x100);
    ck_assert_uint_eq(PAGE_NOCACHE, 0x200);
    ck_assert_uint_eq(PAGE_WRITECOMBINE, 0x400);
    ck_assert_uint_eq(PAGE_TARGETS_INVALID, 0x40000000);
    ck_assert_uint_eq(MEM_COMMIT, 0x1000);
    ck_assert_uint_eq(MEM_RESERVE, 0x2000);
    ck_assert_uint_eq(MEM_RESET, 0x80000);
    ck_assert_uint_eq(MEM_TOP_DOWN, 0x100000);
    ck_assert_uint_eq(MEM_WRITE_WATCH, 0x200000);
    ck_assert_uint_eq(MEM_PHYSICAL, 0x400000);
    ck_assert_uint_eq(MEM_RESET_UNDO, 0x1000000);
    ck_assert_uint_eq(MEM_LARGE_PAGES, 0x20000000);
    ck_assert_uint_eq(MEM_FREE, 0x10000);
    ck_assert_uint_eq(MEM_PRIVATE, 0x20000);
    ck_assert_uint_eq(ERROR_INVALID_HANDLE, 6);
    ck_assert_uint_eq(ERROR_NOT_ENOUGH_MEMORY, 8);
    ck_assert_uint_eq(ERROR_INVALID_PARAMETER, 87);
    ck_assert_uint_eq(ERROR_INVALID_ADDRESS, 487);
    ck_assert_ptr_eq(GetCurrentProcess(), (HANDLE)-1);
}
END_TEST

/* spec 1: page size, 64 KiB granularity and application address range */
START_TEST(test_sysinfo_figures)
{
    SYSTEM_INFO si;
    memset(&si, 0xAB, sizeof si);
    GetSystemInfo(&si);
    ck_assert_uint_eq(si.dwPageSize, PG);
    ck_assert_uint_eq(si.dwAllocationGranularity, PG > G64 ? PG : G64);
    ck_assert_ptr_eq(si.lpMinimumApplicationAddress, (void *)0x10000);
#if defined(__x86_64__)
    ck_assert_ptr_eq(si.lpMaximumApplicationAddress, (void *)VW_MAX_APP_ADDR);
#endif
    /* NULL placement honours the reported granularity */
    char *p = VW_ALLOC_OK(NULL, 1, MEM_RESERVE, RW);
    ck_assert_uint_eq((uintptr_t)p % si.dwAllocationGranularity, 0);
}
END_TEST

/* spec 2: a successful VirtualAlloc (every kind) leaves the caller's last error */
START_TEST(test_lasterror_untouched_on_success)
{
    char *r = VW_ALLOC_OK(NULL, 0x40000, MEM_RESERVE, RW);                    /* reserve */
    ck_assert_ptr_eq(VW_ALLOC_OK(r, PG, MEM_COMMIT, RW), r);                  /* commit */
    ck_assert_ptr_eq(VW_ALLOC_OK(r, PG, MEM_COMMIT, PAGE_READONLY), r);       /* re-commit */
    ck_assert_ptr_eq(VW_ALLOC_OK(r, 2 * PG, MEM_RESET, PAGE_NOACCESS), r);    /* reset */
    char *c = VW_ALLOC_OK(NULL, PG, MEM_COMMIT, RW);                          /* commit NULL */
    char *f = vw_free_space(0x100000);
    ck_assert_ptr_eq(VW_ALLOC_OK(f + 0x10000, PG, MEM_RESERVE | MEM_COMMIT, RW), f + 0x10000);
    char *e = VirtualAllocEx(GetCurrentProcess(), NULL, PG, MEM_RESERVE, RW);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    vw_assert_range_agrees(r, 0x40000);
    vw_assert_range_agrees(c, PG);
}
END_TEST

/* spec 2: every failing call sets the last error, whatever it was before */
START_TEST(test_lasterror_set_on_failure)
{
    SetLastError(0);
    ck_assert_ptr_null(VirtualAlloc(NULL, 0, MEM_RESERVE, RW));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(ERROR_INVALID_PARAMETER);
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    SetLastError(ERROR_INVALID_PARAMETER);
    ck_assert_ptr_null(VirtualAlloc(r, PG, MEM_RESERVE, RW));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
}
END_TEST

static void *lasterror_thread(void *arg)
{
    (void)arg;
    SetLastError(777);
    void *p = VirtualAlloc(NULL, 0, MEM_RESERVE, RW);
    DWORD e = GetLastError();
    return (void *)(uintptr_t)(p == NULL ? e : 0xFFFFFFFFu);
}

/* spec 2: the last error is thread-local */
START_TEST(test_lasterror_thread_local)
{
    SetLastError(1234);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, lasterror_thread, NULL), 0);
    void *res;
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_uint_eq((uintptr_t)res, ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(GetLastError(), 1234);
}
END_TEST

/* ---- section 3: protection ------------------------------------------------- */

/* spec 3/4: each valid protection commits with AllocationProtect = Protect = it, and
 * access matches (PAGE_EXECUTE is readable) */
START_TEST(test_prot_valid_commit)
{
    for (size_t i = 0; i < N_VALID_PROTS; i++) {
        DWORD prot = valid_prots[i];
        char *p = VW_ALLOC_OK(NULL, 2 * PG, MEM_RESERVE | MEM_COMMIT, prot);
        ck_assert_uint_eq((uintptr_t)p % G64, 0);
        VW_CHECK_MBI(p, p, p, prot, 2 * PG, MEM_COMMIT, prot, MEM_PRIVATE);
        CHECK_ACCESS(p, prot);
        CHECK_ACCESS(p + 2 * PG - 1, prot);
        if (prot_readable(prot))
            ck_assert(vw_is_zero(p, 2 * PG));
        vw_assert_range_agrees(p, 2 * PG);
    }
}
END_TEST

/* spec 3/4: each valid protection reserves: AllocationProtect = it, Protect 0, no access;
 * a later commit with another protection keeps AllocationProtect */
START_TEST(test_prot_valid_reserve)
{
    for (size_t i = 0; i < N_VALID_PROTS; i++) {
        DWORD prot = valid_prots[i];
        char *p = VW_ALLOC_OK(NULL, 4 * PG, MEM_RESERVE, prot);
        VW_CHECK_MBI(p, p, p, prot, 4 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
        VW_CHECK_NO_ACCESS(p);
        ck_assert_ptr_eq(VW_ALLOC_OK(p + PG, PG, MEM_COMMIT, RW), p + PG);
        VW_CHECK_MBI(p, p, p, prot, PG, MEM_RESERVE, 0, MEM_PRIVATE);
        VW_CHECK_MBI(p + PG, p + PG, p, prot, PG, MEM_COMMIT, RW, MEM_PRIVATE);
        VW_CHECK_MBI(p + 2 * PG, p + 2 * PG, p, prot, 2 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
        CHECK_ACCESS(p + PG, RW);
        vw_assert_range_agrees(p, 4 * PG);
    }
}
END_TEST

static int low_byte_valid(unsigned v)
{
    for (size_t i = 0; i < N_VALID_PROTS; i++)
        if (v == valid_prots[i])
            return 1;
    return 0;
}

/* spec 3: every low byte that is not exactly one of the six private protections (0, two
 * together, WRITECOPY, EXECUTE_WRITECOPY, ...) is ERROR_INVALID_PARAMETER, for
 * reserve+commit, reserve alone and commit into a reservation */
START_TEST(test_prot_low_byte_all_values)
{
    char *r = VW_ALLOC_OK(NULL, 2 * PG, MEM_RESERVE, RW);
    char msg[2048] = "";
    int bad = 0;
    static const DWORD types[] = {MEM_RESERVE | MEM_COMMIT, MEM_RESERVE, MEM_COMMIT, 0};
    for (unsigned v = 0; v < 256; v++) {
        for (int t = 0; t < 4; t++) {
            void *addr = NULL;
            DWORD type = types[t];
            if (t == 2)
                addr = low_byte_valid(v) ? r : r + PG;
            if (t == 3) /* commit with NULL: reserve and commit */
                type = MEM_COMMIT;
            void *got;
            DWORD err;
            if (low_byte_valid(v)) {
                SetLastError(KEEP_ERR);
                got = VirtualAlloc(addr, PG, type, v);
                err = GetLastError();
                if (got == NULL || err != KEEP_ERR)
                    report(msg, sizeof msg, &bad,
                           "prot %#x type %#x: got %p error %u, expected success\n", v, type,
                           got, err);
                if (got && !addr)
                    VirtualFree(got, 0, MEM_RELEASE);
            } else if (!alloc_fails_quiet(addr, PG, type, v, ERROR_INVALID_PARAMETER, &got, &err)) {
                report(msg, sizeof msg, &bad,
                       "prot %#x type %#x: got %p error %u, expected ERROR_INVALID_PARAMETER\n", v,
                       type, got, err);
                if (got && !addr)
                    VirtualFree(got, 0, MEM_RELEASE);
            }
        }
    }
    ck_assert_msg(bad == 0, "%d wrong results:\n%s", bad, msg);
    /* the page that only saw invalid commits is still reserved */
    VW_CHECK_MBI(r + PG, r + PG, r, RW, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(r, 2 * PG);
}
END_TEST

/* spec 3: PAGE_WRITECOPY and PAGE_EXECUTE_WRITECOPY are invalid for private memory */
START_TEST(test_prot_writecopy)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    static const DWORD bad[] = {PAGE_WRITECOPY, PAGE_EXECUTE_WRITECOPY,
                                PAGE_WRITECOPY | PAGE_NOCACHE, PAGE_EXECUTE_WRITECOPY | PAGE_GUARD,
                                PAGE_WRITECOPY | PAGE_WRITECOMBINE};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ALLOC_FAILS(NULL, PG, MEM_RESERVE | MEM_COMMIT, bad[i], ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(NULL, PG, MEM_RESERVE, bad[i], ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(r, PG, MEM_COMMIT, bad[i], ERROR_INVALID_PARAMETER);
    }
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(r, G64);
}
END_TEST

/* spec 3: a modifier without a low-byte protection is ERROR_INVALID_PARAMETER */
START_TEST(test_prot_modifier_alone)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    static const DWORD bad[] = {PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOMBINE, PAGE_TARGETS_INVALID,
                                PAGE_GUARD | PAGE_TARGETS_INVALID, PAGE_NOCACHE | PAGE_TARGETS_INVALID};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ALLOC_FAILS(NULL, PG, MEM_RESERVE | MEM_COMMIT, bad[i], ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(NULL, PG, MEM_RESERVE, bad[i], ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(r, PG, MEM_COMMIT, bad[i], ERROR_INVALID_PARAMETER);
    }
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

/* spec 3: PAGE_GUARD cannot go with PAGE_NOACCESS */
START_TEST(test_prot_guard_noaccess)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    ALLOC_FAILS(NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS | PAGE_GUARD,
                ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, PG, MEM_RESERVE, PAGE_NOACCESS | PAGE_GUARD, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(r, PG, MEM_COMMIT, PAGE_NOACCESS | PAGE_GUARD, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

/* spec 3: NOCACHE excludes GUARD, NOACCESS and WRITECOMBINE; WRITECOMBINE excludes GUARD,
 * NOACCESS and NOCACHE */
START_TEST(test_prot_cache_conflicts)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    static const DWORD bad[] = {
        PAGE_READWRITE | PAGE_NOCACHE | PAGE_GUARD,
        PAGE_READONLY | PAGE_NOCACHE | PAGE_GUARD,
        PAGE_NOACCESS | PAGE_NOCACHE,
        PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE,
        PAGE_EXECUTE_READ | PAGE_NOCACHE | PAGE_WRITECOMBINE,
        PAGE_READWRITE | PAGE_WRITECOMBINE | PAGE_GUARD,
        PAGE_NOACCESS | PAGE_WRITECOMBINE,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ALLOC_FAILS(NULL, PG, MEM_RESERVE | MEM_COMMIT, bad[i], ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(NULL, PG, MEM_RESERVE, bad[i], ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(r, PG, MEM_COMMIT, bad[i], ERROR_INVALID_PARAMETER);
    }
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

/* spec 3: any bit outside the lists is ERROR_INVALID_PARAMETER */
START_TEST(test_prot_unknown_bits)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    char msg[2048] = "";
    int bad = 0;
    static const DWORD bases[] = {PAGE_READWRITE, PAGE_READONLY, PAGE_EXECUTE_READ};
    for (int bit = 11; bit < 32; bit++) {
        DWORD b = (DWORD)1u << bit;
        if (b == PAGE_TARGETS_INVALID)
            continue;
        for (size_t i = 0; i < 3; i++) {
            void *got;
            DWORD err;
            DWORD prot = bases[i] | b;
            if (!alloc_fails_quiet(NULL, PG, MEM_RESERVE | MEM_COMMIT, prot,
                                   ERROR_INVALID_PARAMETER, &got, &err))
                report(msg, sizeof msg, &bad, "prot %#x type %#x: got %p error %u\n", prot,
                       MEM_RESERVE | MEM_COMMIT, got, err);
            if (!alloc_fails_quiet(NULL, PG, MEM_RESERVE, prot, ERROR_INVALID_PARAMETER, &got,
                                   &err))
                report(msg, sizeof msg, &bad, "prot %#x type %#x: got %p error %u\n", prot,
                       MEM_RESERVE, got, err);
            if (!alloc_fails_quiet(r, PG, MEM_COMMIT, prot, ERROR_INVALID_PARAMETER, &got, &err))
                report(msg, sizeof msg, &bad, "prot %#x type %#x (commit): got %p error %u\n",
                       prot, MEM_COMMIT, got, err);
        }
    }
    ck_assert_msg(bad == 0, "%d calls did not fail with ERROR_INVALID_PARAMETER:\n%s", bad, msg);
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

/* spec 3: PAGE_TARGETS_INVALID is accepted with executable protections and ignored */
START_TEST(test_prot_targets_invalid_exec)
{
    static const DWORD ex[] = {PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE};
    for (size_t i = 0; i < 3; i++) {
        DWORD prot = ex[i] | PAGE_TARGETS_INVALID;
        char *p = VW_ALLOC_OK(NULL, 2 * PG, MEM_RESERVE | MEM_COMMIT, prot);
        MEMORY_BASIC_INFORMATION m = vw_query(p);
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_uint_eq(m.Protect & ~(DWORD)PAGE_TARGETS_INVALID, ex[i]);
        ck_assert_uint_eq(m.AllocationProtect & ~(DWORD)PAGE_TARGETS_INVALID, ex[i]);
        CHECK_ACCESS(p, ex[i]);
        /* commit into a reservation with it too */
        char *r = VW_ALLOC_OK(NULL, 2 * PG, MEM_RESERVE, PAGE_EXECUTE_READWRITE);
        ck_assert_ptr_eq(VW_ALLOC_OK(r, PG, MEM_COMMIT, prot), r);
        m = vw_query(r);
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_uint_eq(m.Protect & ~(DWORD)PAGE_TARGETS_INVALID, ex[i]);
        ck_assert_uint_eq(m.RegionSize, PG);
        CHECK_ACCESS(r, ex[i]);
        vw_assert_range_agrees(p, 2 * PG);
        vw_assert_range_agrees(r, 2 * PG);
    }
}
END_TEST

/* spec 3: NOCACHE / WRITECOMBINE given at allocation appear in AllocationProtect and
 * Protect, and change nothing in the mapping */
START_TEST(test_prot_nocache_writecombine_reported)
{
    static const DWORD mods[] = {PAGE_NOCACHE, PAGE_WRITECOMBINE};
    for (size_t i = 0; i < 2; i++) {
        DWORD mod = mods[i];
        char *p = VW_ALLOC_OK(NULL, 2 * PG, MEM_RESERVE | MEM_COMMIT, RW | mod);
        VW_CHECK_MBI(p, p, p, RW | mod, 2 * PG, MEM_COMMIT, RW | mod, MEM_PRIVATE);
        CHECK_ACCESS(p, RW);
        ck_assert(vw_is_zero(p, 2 * PG));
        vw_assert_range_agrees(p, 2 * PG);

        char *q = VW_ALLOC_OK(NULL, 2 * PG, MEM_COMMIT, PAGE_READONLY | mod);
        VW_CHECK_MBI(q, q, q, PAGE_READONLY | mod, 2 * PG, MEM_COMMIT, PAGE_READONLY | mod,
                     MEM_PRIVATE);
        CHECK_ACCESS(q, PAGE_READONLY);
        vw_assert_range_agrees(q, 2 * PG);

        /* reserve with the modifier, commit with it */
        char *r = VW_ALLOC_OK(NULL, 4 * PG, MEM_RESERVE, RW | mod);
        VW_CHECK_MBI(r, r, r, RW | mod, 4 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
        ck_assert_ptr_eq(VW_ALLOC_OK(r + PG, PG, MEM_COMMIT, RW | mod), r + PG);
        VW_CHECK_MBI(r + PG, r + PG, r, RW | mod, PG, MEM_COMMIT, RW | mod, MEM_PRIVATE);
        VW_CHECK_MBI(r + 2 * PG, r + 2 * PG, r, RW | mod, 2 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
        CHECK_ACCESS(r + PG, RW);
        vw_assert_range_agrees(r, 4 * PG);
    }
}
END_TEST

/* spec 3: the cache modifier belongs to the allocation: it shows in the Protect of every
 * committed page, also of pages committed without it */
START_TEST(test_prot_nocache_belongs_to_allocation)
{
    static const DWORD mods[] = {PAGE_NOCACHE, PAGE_WRITECOMBINE};
    for (size_t i = 0; i < 2; i++) {
        DWORD mod = mods[i];
        char *r = VW_ALLOC_OK(NULL, 4 * PG, MEM_RESERVE, RW | mod);
        ck_assert_ptr_eq(VW_ALLOC_OK(r, PG, MEM_COMMIT, RW), r);
        VW_CHECK_MBI(r, r, r, RW | mod, PG, MEM_COMMIT, RW | mod, MEM_PRIVATE);
        ck_assert_ptr_eq(VW_ALLOC_OK(r + 2 * PG, PG, MEM_COMMIT, PAGE_READONLY), r + 2 * PG);
        VW_CHECK_MBI(r + 2 * PG, r + 2 * PG, r, RW | mod, PG, MEM_COMMIT, PAGE_READONLY | mod,
                     MEM_PRIVATE);
        CHECK_ACCESS(r, RW);
        CHECK_ACCESS(r + 2 * PG, PAGE_READONLY);
        vw_assert_range_agrees(r, 4 * PG);
    }
}
END_TEST

/* ---- section 4: allocation type -------------------------------------------- */

/* spec 4: any allocation-type bit outside COMMIT, RESERVE, RESET, RESET_UNDO, TOP_DOWN,
 * WRITE_WATCH, PHYSICAL, LARGE_PAGES is ERROR_INVALID_PARAMETER */
START_TEST(test_type_unknown_bits)
{
    const DWORD allowed = MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_TOP_DOWN |
                          MEM_WRITE_WATCH | MEM_PHYSICAL | MEM_LARGE_PAGES;
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    char msg[2048] = "";
    int bad = 0;
    for (int bit = 0; bit < 32; bit++) {
        DWORD b = (DWORD)1u << bit;
        if (b & allowed)
            continue;
        void *got;
        DWORD err;
        static const DWORD bases[] = {MEM_RESERVE, MEM_RESERVE | MEM_COMMIT, MEM_COMMIT};
        for (int i = 0; i < 3; i++) {
            void *addr = i == 2 ? r : NULL;
            if (!alloc_fails_quiet(addr, PG, bases[i] | b, RW, ERROR_INVALID_PARAMETER, &got, &err))
                report(msg, sizeof msg, &bad, "type %#x prot %#x: got %p error %u\n",
                       bases[i] | b, RW, got, err);
        }
        if (!alloc_fails_quiet(r, PG, MEM_RESET | b, RW, ERROR_INVALID_PARAMETER, &got, &err))
            report(msg, sizeof msg, &bad, "type %#x prot %#x: got %p error %u\n", MEM_RESET | b,
                   RW, got, err);
    }
    /* the placeholder flags are for VirtualAlloc2 only */
    ALLOC_FAILS(NULL, PG, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS,
                ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(r, PG, MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, RW, ERROR_INVALID_PARAMETER);
    ck_assert_msg(bad == 0, "%d calls did not fail with ERROR_INVALID_PARAMETER:\n%s", bad, msg);
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

/* spec 4: none of COMMIT/RESERVE/RESET/RESET_UNDO is ERROR_INVALID_PARAMETER */
START_TEST(test_type_none_of_required)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    static const DWORD bad[] = {0, MEM_TOP_DOWN, MEM_WRITE_WATCH, MEM_LARGE_PAGES, MEM_PHYSICAL,
                                MEM_TOP_DOWN | MEM_WRITE_WATCH};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ALLOC_FAILS(NULL, PG, bad[i], RW, ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(r, PG, bad[i], RW, ERROR_INVALID_PARAMETER);
    }
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

/* spec 4: MEM_RESET and MEM_RESET_UNDO each go alone (MEM_TOP_DOWN aside) */
START_TEST(test_type_reset_combined)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(r, G64, 5);
    static const DWORD bad[] = {
        MEM_RESET | MEM_COMMIT, MEM_RESET | MEM_RESERVE, MEM_RESET | MEM_COMMIT | MEM_RESERVE,
        MEM_RESET_UNDO | MEM_COMMIT, MEM_RESET_UNDO | MEM_RESERVE, MEM_RESET | MEM_RESET_UNDO,
        MEM_RESET | MEM_WRITE_WATCH, MEM_RESET | MEM_LARGE_PAGES,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ALLOC_FAILS(r, PG, bad[i], RW, ERROR_INVALID_PARAMETER);
    /* MEM_TOP_DOWN is tolerated next to MEM_RESET */
    ck_assert_ptr_eq(VW_ALLOC_OK(r + PG, PG, MEM_RESET | MEM_TOP_DOWN, RW), r + PG);
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(r, PG, 5));
    vw_assert_range_agrees(r, G64);
}
END_TEST

/* spec 4: MEM_WRITE_WATCH needs MEM_RESERVE (Windows: ERROR_INVALID_PARAMETER) */
START_TEST(test_type_write_watch_without_reserve)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    ALLOC_FAILS(NULL, G64, MEM_COMMIT | MEM_WRITE_WATCH, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(r, PG, MEM_COMMIT | MEM_WRITE_WATCH, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, G64, MEM_WRITE_WATCH, RW, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

/* spec 4: MEM_PHYSICAL needs exactly MEM_RESERVE and PAGE_READWRITE */
START_TEST(test_type_physical_invalid)
{
    ALLOC_FAILS(NULL, G64, MEM_PHYSICAL | MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, G64, MEM_PHYSICAL | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, G64, MEM_PHYSICAL | MEM_RESERVE, PAGE_READONLY, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, G64, MEM_PHYSICAL | MEM_RESERVE, PAGE_NOACCESS, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, G64, MEM_PHYSICAL | MEM_RESERVE, PAGE_EXECUTE_READWRITE,
                ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, G64, MEM_PHYSICAL | MEM_RESERVE | MEM_WRITE_WATCH, RW,
                ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, G64, MEM_PHYSICAL, RW, ERROR_INVALID_PARAMETER);
}
END_TEST

/* spec 4: MEM_LARGE_PAGES needs MEM_COMMIT (MEM_RESERVE too, or a NULL address, which
 * reserves implicitly: issue 9, tested in check_largepage and check_native) and a
 * multiple of the large page size (2 MiB) */
START_TEST(test_type_large_pages_invalid)
{
    const SIZE_T lp = 2u << 20;
    ALLOC_FAILS(NULL, lp, MEM_LARGE_PAGES | MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, lp, MEM_LARGE_PAGES, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, PG, MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, G64, MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, lp + PG, MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT, RW,
                ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, lp / 2, MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT, RW,
                ERROR_INVALID_PARAMETER);
}
END_TEST

/* ---- section 4: size and address range ------------------------------------- */

/* spec 4: dwSize 0 is ERROR_INVALID_PARAMETER */
START_TEST(test_size_zero)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    char *f = vw_free_space(0x100000);
    ALLOC_FAILS(NULL, 0, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, 0, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(NULL, 0, MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(f + G64, 0, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(r, 0, MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(r, 0, MEM_RESET, RW, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_FREE(f + G64, G64);
}
END_TEST

/* spec 4: a non-NULL lpAddress below 0x10000 is ERROR_INVALID_PARAMETER */
START_TEST(test_address_below_minimum)
{
    static const uintptr_t addrs[] = {0x1, 0x1000, 0x8000, 0xF000, 0xFFFF};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        ALLOC_FAILS(addrs[i], PG, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(addrs[i], PG, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
        ALLOC_FAILS(addrs[i], PG, MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    }
}
END_TEST

/* spec 4: a range that does not fit below 0x7FFFFFFEFFFF is ERROR_INVALID_PARAMETER */
START_TEST(test_range_past_maximum)
{
    const uintptr_t top = VW_MAX_APP_ADDR + 1; /* 0x7FFFFFFF0000 */
    ALLOC_FAILS(top - G64, G64 + PG, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(top - G64, 2 * G64, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(top - PG, 2 * PG, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(top, PG, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(top + G64, PG, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(top, PG, MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS((uintptr_t)1 << 47, PG, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS((uintptr_t)0xFFFF800000000000ull, PG, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS((uintptr_t)0x10000, (SIZE_T)top, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
}
END_TEST

/* spec 4: a range whose end wraps is ERROR_INVALID_PARAMETER */
START_TEST(test_range_wraps)
{
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    uintptr_t a = 0x7FFF0000;
    ALLOC_FAILS(a, (SIZE_T)0 - a + 0x2000, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(a, (SIZE_T)0 - a + 0x2000, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(r + PG, (SIZE_T)0 - (uintptr_t)r, MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(r + PG, SIZE_MAX, MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(r, SIZE_MAX - PG + 2, MEM_RESET, RW, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

static void check_too_large(int line, void *addr, SIZE_T size, DWORD type)
{
    SetLastError(SENTINEL);
    void *p = VirtualAlloc(addr, size, type, RW);
    DWORD e = GetLastError();
    ck_assert_msg(p == NULL, "line %d: VirtualAlloc(%p, %#zx, %#x) returned %p", line, addr,
                  (size_t)size, (unsigned)type, p);
    ck_assert_msg(e == ERROR_INVALID_PARAMETER || e == ERROR_NOT_ENOUGH_MEMORY,
                  "line %d: VirtualAlloc(%p, %#zx, %#x): last error %u, expected 87 or 8", line,
                  addr, (size_t)size, (unsigned)type, (unsigned)e);
}

/* spec 4: a size too large for the address space (SIZE_MAX, ...) is ERROR_INVALID_PARAMETER
 * or ERROR_NOT_ENOUGH_MEMORY */
START_TEST(test_size_too_large)
{
    static const SIZE_T sizes[] = {SIZE_MAX, SIZE_MAX - 0xFFFF, SIZE_MAX / 2, (SIZE_T)1 << 47,
                                   (SIZE_T)VW_MAX_APP_ADDR};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        check_too_large(__LINE__, NULL, sizes[i], MEM_RESERVE);
        check_too_large(__LINE__, NULL, sizes[i], MEM_RESERVE | MEM_COMMIT);
        check_too_large(__LINE__, NULL, sizes[i], MEM_COMMIT);
    }
    /* with an address the range does not fit: ERROR_INVALID_PARAMETER */
    ALLOC_FAILS(0x10000, SIZE_MAX, MEM_RESERVE, RW, ERROR_INVALID_PARAMETER);
    ALLOC_FAILS(0x10000, SIZE_MAX - 0xFFFF, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_PARAMETER);
}
END_TEST

/* ---- section 4: reserve -------------------------------------------------------- */

/* spec 4: reserve with NULL: base a multiple of 64 KiB, RegionSize page-rounded, State
 * MEM_RESERVE, Protect 0, Type MEM_PRIVATE */
START_TEST(test_reserve_null_aligned)
{
    static const SIZE_T sizes[] = {1, 0x1000, 0x1001, 0x3000, 0xFFFC, 0x10000, 0x10001, 0x123456};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = VW_ALLOC_OK(NULL, sizes[i], MEM_RESERVE, PAGE_READONLY);
        ck_assert_msg((uintptr_t)p % G64 == 0, "reserve of %#zx gave unaligned %p",
                      (size_t)sizes[i], p);
        VW_CHECK_MBI(p, p, p, PAGE_READONLY, pceil(sizes[i]), MEM_RESERVE, 0, MEM_PRIVATE);
        VW_CHECK_MBI(p + pceil(sizes[i]) - 1, p + pceil(sizes[i]) - PG, p, PAGE_READONLY, PG,
                     MEM_RESERVE, 0, MEM_PRIVATE);
        vw_assert_range_agrees(p, pceil(sizes[i]));
    }
}
END_TEST

/* spec 4: reserving 0xFFFC bytes gives RegionSize 0x10000; one page gives one page */
START_TEST(test_reserve_size_rounding)
{
    char *p = VW_ALLOC_OK(NULL, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS);
    VW_CHECK_MBI(p, p, p, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    char *q = VW_ALLOC_OK(NULL, PG, MEM_RESERVE, PAGE_NOACCESS);
    VW_CHECK_MBI(q, q, q, PAGE_NOACCESS, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    char *s = VW_ALLOC_OK(NULL, PG + 1, MEM_RESERVE, PAGE_NOACCESS);
    VW_CHECK_MBI(s, s, s, PAGE_NOACCESS, 2 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(p, G64);
    vw_assert_range_agrees(q, G64);
    vw_assert_range_agrees(s, G64);
}
END_TEST

/* spec 4: the rest of the last 64 KiB block belongs to no one: MEM_FREE, and reserving there
 * fails with ERROR_INVALID_ADDRESS; committing there also fails */
START_TEST(test_reserve_tail_is_free)
{
    char *p = VW_ALLOC_OK(NULL, PG, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(p, PG, 9);
    VW_CHECK_FREE(p + PG, G64 - PG);
    VW_CHECK_FREE(p + G64 - 1, PG);
    VW_CHECK_NO_ACCESS(p + PG);
    ALLOC_FAILS(p + PG, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(p + 2 * PG, PG, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(p + G64 - PG, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(p + PG, PG, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    /* still free, the allocation untouched */
    VW_CHECK_FREE(p + PG, G64 - PG);
    VW_CHECK_MBI(p, p, p, RW, PG, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(p, PG, 9));

    char *q = VW_ALLOC_OK(NULL, 0x5800, MEM_RESERVE, RW);
    VW_CHECK_MBI(q, q, q, RW, 0x6000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_FREE(q + 0x6000, G64 - 0x6000);
    ALLOC_FAILS(q + 0x8000, 0x1000, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    vw_assert_range_agrees(p, G64);
    vw_assert_range_agrees(q, G64);
}
END_TEST

/* spec 4: explicit lpAddress is rounded down to 64 KiB; the region covers every touched page
 * from that base (0x1000 bytes at base+0x1234 -> 0x3000); it returns exactly that base */
START_TEST(test_reserve_explicit_rounding)
{
    char *f = vw_free_space(0x100000);
    char *base = f + 0x20000;
    char *p = VW_ALLOC_OK(base + 0x1234, 0x1000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(p, base);
    VW_CHECK_MBI(base, base, base, RW, pceil(0x2234), MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_FREE(base + pceil(0x2234), 0x10000 - pceil(0x2234));
    VW_CHECK_FREE(f + 0x10000, 0x10000);
    VW_CHECK_NO_ACCESS(base);

    /* an aligned address is used as is */
    char *q = VW_ALLOC_OK(f + 0x50000, 0x20000, MEM_RESERVE, PAGE_EXECUTE_READ);
    ck_assert_ptr_eq(q, f + 0x50000);
    VW_CHECK_MBI(q, q, q, PAGE_EXECUTE_READ, 0x20000, MEM_RESERVE, 0, MEM_PRIVATE);

    /* the last byte of a 64 KiB block rounds down to its start */
    char *s = VW_ALLOC_OK(f + 0x8FFFF, 1, MEM_RESERVE, RW);
    ck_assert_ptr_eq(s, f + 0x80000);
    VW_CHECK_MBI(s, s, s, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(f, 0x100000);
}
END_TEST

/* spec 4: MEM_RESERVE|MEM_COMMIT at an explicit address: same rounding, all pages committed
 * and zero */
START_TEST(test_reserve_commit_explicit)
{
    char *f = vw_free_space(0x100000);
    char *base = f + 0x30000;
    char *p = VW_ALLOC_OK(base + 0x1234, 0x1000, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_ptr_eq(p, base);
    VW_CHECK_MBI(base, base, base, RW, pceil(0x2234), MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_is_zero(base, pceil(0x2234)));
    CHECK_ACCESS(base + pceil(0x2234) - 1, RW);
    VW_CHECK_FREE(base + pceil(0x2234), 0x10000 - pceil(0x2234));
    vw_assert_range_agrees(f, 0x100000);
}
END_TEST

/* spec 4: address space the library keeps for itself is free to the program: a released
 * range reports MEM_FREE and an explicit reservation there succeeds */
START_TEST(test_reserve_in_released_space)
{
    char *f = VW_ALLOC_OK(NULL, 0x100000, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(f, 0x100000, 1);
    VW_FREE_OK(f, 0, MEM_RELEASE);
    VW_CHECK_FREE(f, 0x100000);
    VW_CHECK_NO_ACCESS(f);
    VW_CHECK_NO_ACCESS(f + 0x80000);
    for (uintptr_t off = 0; off < 0x100000; off += 0x40000) {
        char *p = VW_ALLOC_OK(f + off, 0x40000, MEM_RESERVE | MEM_COMMIT, RW);
        ck_assert_ptr_eq(p, f + off);
        VW_CHECK_MBI(p, p, p, RW, 0x40000, MEM_COMMIT, RW, MEM_PRIVATE);
        ck_assert(vw_is_zero(p, 0x40000)); /* spec 10 */
    }
    /* four allocations, never merged */
    VW_CHECK_MBI(f + 0x40000, f + 0x40000, f + 0x40000, RW, 0x40000, MEM_COMMIT, RW, MEM_PRIVATE);
    vw_assert_range_agrees(f, 0x100000);
}
END_TEST

/* spec 4: space the library holds for its own placement (kernel-mapped, reported MEM_FREE)
 * accepts an explicit reservation, which returns exactly the asked base.  Skipped when no
 * such space is found next to a NULL allocation. */
START_TEST(test_reserve_in_library_arena)
{
    char *a = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    uintptr_t x = (uintptr_t)a + G64, target = 0;
    for (int i = 0; i < 64 && x <= VW_MAX_APP_ADDR; i++) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)x);
        uintptr_t s = (uintptr_t)m.BaseAddress, e = s + m.RegionSize;
        if (m.State == MEM_FREE) {
            for (uintptr_t c = g64ceil(s); c + 2 * G64 <= e && c < s + (64u << 20); c += G64) {
                struct vw_kmap k1, k2;
                if (vw_kernel_mapping(c, &k1) && vw_kernel_mapping(c + 2 * G64 - 1, &k2)) {
                    target = c;
                    break;
                }
            }
        }
        if (target || e <= x)
            break;
        x = e;
    }
    if (!target)
        return; /* the library keeps no placement space here */
    char *p = VW_ALLOC_OK(target + 0x10, 2 * G64 - 0x10, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_ptr_eq(p, (char *)target);
    VW_CHECK_MBI(p, p, p, RW, 2 * G64, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_is_zero(p, 2 * G64));
    CHECK_ACCESS(p + 2 * G64 - 1, RW);
    vw_assert_range_agrees(p, 2 * G64);
    /* NULL placement afterwards never lands on it */
    for (int i = 0; i < 8; i++) {
        char *q = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
        ck_assert(q + G64 <= p || q >= p + 2 * G64);
    }
    VW_CHECK_MBI(p, p, p, RW, 2 * G64, MEM_COMMIT, RW, MEM_PRIVATE);
}
END_TEST

/* spec 4: explicit reservation in address space the library has never held (a hole the
 * kernel gave up) works and returns exactly the rounded base */
START_TEST(test_reserve_outside_arena)
{
    char *warm = VW_ALLOC_OK(NULL, PG, MEM_RESERVE, RW); /* initialise the library first */
    (void)warm;
    size_t len = 0x800000;
    void *m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ck_assert(m != MAP_FAILED);
    ck_assert_int_eq(munmap(m, len), 0);
    uintptr_t base = g64ceil((uintptr_t)m); /* low end of the hole; new mmaps go to its top */
    char *p = VW_ALLOC_OK(base + 0x1234, PG, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_ptr_eq(p, (char *)base);
    VW_CHECK_MBI(p, p, p, RW, pceil(0x1234 + PG), MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_is_zero(p, pceil(0x1234 + PG)));
    CHECK_ACCESS(p, RW);
    VW_CHECK_FREE(p + pceil(0x1234 + PG), PG);
    char *q = VW_ALLOC_OK(base + 0x20000, 0x30000, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_eq(q, (char *)base + 0x20000);
    VW_CHECK_MBI(q, q, q, PAGE_NOACCESS, 0x30000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(q);
    vw_assert_range_agrees(p, 0x50000);
}
END_TEST

/* spec 4: overlap with an existing allocation: ERROR_INVALID_ADDRESS, never another address,
 * and the existing allocation keeps its state and contents */
START_TEST(test_reserve_overlap_existing)
{
    char *f = vw_free_space(0x100000);
    char *a = VW_ALLOC_OK(f + 0x20000, 0x20000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(a, f + 0x20000);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x3000, MEM_COMMIT, RW), a);
    vw_fill_pattern(a, 0x3000, 3);
    static const DWORD types[] = {MEM_RESERVE, MEM_RESERVE | MEM_COMMIT,
                                  MEM_RESERVE | MEM_TOP_DOWN};
    for (int t = 0; t < 3; t++) {
        DWORD ty = types[t];
        ALLOC_FAILS(f + 0x10000, 0x10001, ty, RW, ERROR_INVALID_ADDRESS); /* one byte in */
        ALLOC_FAILS(f + 0x10000, 0x20000, ty, RW, ERROR_INVALID_ADDRESS); /* overlaps start */
        ALLOC_FAILS(f + 0x10000, 0x40000, ty, RW, ERROR_INVALID_ADDRESS); /* covers it */
        ALLOC_FAILS(f + 0x30000, 0x20000, ty, RW, ERROR_INVALID_ADDRESS); /* overlaps end */
        ALLOC_FAILS(f + 0x3F000, 0x2000, ty, RW, ERROR_INVALID_ADDRESS);  /* last page */
        ALLOC_FAILS(a, 0x20000, ty, PAGE_READONLY, ERROR_INVALID_ADDRESS); /* exactly it */
        ALLOC_FAILS(a + 0x1234, 0x10, ty, RW, ERROR_INVALID_ADDRESS);
    }
    VW_CHECK_MBI(a, a, a, RW, 0x3000, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(a + 0x3000, a + 0x3000, a, RW, 0x1D000, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert(vw_has_pattern(a, 0x3000, 3));
    CHECK_ACCESS(a, RW);
    VW_CHECK_NO_ACCESS(a + 0x3000);
    /* the free neighbours stay free */
    VW_CHECK_FREE(f + 0x10000, 0x10000);
    VW_CHECK_FREE(f + 0x40000, 0x10000);
    /* and adjacent reservations are fine */
    ck_assert_ptr_eq(VW_ALLOC_OK(f + 0x10000, 0x10000, MEM_RESERVE, RW), f + 0x10000);
    ck_assert_ptr_eq(VW_ALLOC_OK(f + 0x40000, 0x10000, MEM_RESERVE, RW), f + 0x40000);
    VW_CHECK_MBI(f + 0x10000, f + 0x10000, f + 0x10000, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 0x3000, a + 0x3000, a, RW, 0x1D000, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(f, 0x100000);
}
END_TEST

/* spec 4: MEM_RESERVE (with or without MEM_COMMIT) inside an existing reservation:
 * ERROR_INVALID_ADDRESS, nothing changes */
START_TEST(test_reserve_inside_reservation)
{
    char *a = VW_ALLOC_OK(NULL, 0x40000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x20000, PG, MEM_COMMIT, RW), a + 0x20000);
    vw_fill_pattern(a + 0x20000, PG, 4);
    ALLOC_FAILS(a, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(a + 0x10000, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(a + 0x10000, PG, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(a + 0x20000, PG, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(a + 0x30000, 0x10000, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(a, a, a, RW, 0x20000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 0x10000, a + 0x10000, a, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 0x20000, a + 0x20000, a, RW, PG, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(a + 0x20000 + PG, a + 0x20000 + PG, a, RW, 0x20000 - PG, MEM_RESERVE, 0,
                 MEM_PRIVATE);
    ck_assert(vw_has_pattern(a + 0x20000, PG, 4));
    VW_CHECK_NO_ACCESS(a + 0x10000);
    vw_assert_range_agrees(a, 0x40000);
}
END_TEST

/* spec 4: overlap with another library's mmap: ERROR_INVALID_ADDRESS, mapping untouched;
 * committing or resetting there is not inside a reservation either */
START_TEST(test_reserve_overlap_foreign_mmap)
{
    (void)VirtualAlloc(NULL, PG, MEM_RESERVE, RW);
    size_t len = 0x30000;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    vw_fill_pattern(m, len, 7);
    uintptr_t al = g64ceil((uintptr_t)m); /* inside m */
    ALLOC_FAILS(al, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(al + 0x1234, PG, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(al, G64, MEM_RESERVE, PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(m + len - PG, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    uintptr_t below = g64floor((uintptr_t)m) - G64;
    ALLOC_FAILS(below, (uintptr_t)m - below + PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(below, (uintptr_t)m - below + len + G64, MEM_RESERVE | MEM_COMMIT, RW,
                ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(m, PG, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(m, len, MEM_COMMIT, PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(m, len, MEM_RESET, PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(m, len, 7));
    CHECK_ACCESS(m, RW);
    CHECK_ACCESS(m + len - 1, RW);
    VW_CHECK_KERNEL_RW((uintptr_t)m, len);
    MEMORY_BASIC_INFORMATION q = vw_query(m);
    ck_assert_uint_ne(q.State, MEM_FREE);
    munmap(m, len);
}
END_TEST

/* spec 4: overlap with the stack: ERROR_INVALID_ADDRESS, stack untouched */
START_TEST(test_reserve_overlap_stack)
{
    unsigned char buf[512];
    vw_fill_pattern(buf, sizeof buf, 11);
    ALLOC_FAILS(buf, sizeof buf, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(buf, sizeof buf, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(buf + 100, 1, MEM_RESERVE, PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(buf, sizeof buf, MEM_COMMIT, PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(buf, sizeof buf, MEM_RESET, PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(buf, sizeof buf, 11));
    CHECK_ACCESS(buf, RW);
    VW_CHECK_KERNEL_RW(pfloor((uintptr_t)buf), PG);
}
END_TEST

static unsigned char g_data[3 * 4096] = {1};

/* spec 4: overlap with malloc's heap (brk and mmap'd blocks) and with the program's own
 * image (data and code): ERROR_INVALID_ADDRESS, memory untouched */
START_TEST(test_reserve_overlap_heap_and_image)
{
    unsigned char *h = malloc(256);
    ck_assert_ptr_nonnull(h);
    vw_fill_pattern(h, 256, 12);
    ALLOC_FAILS(h, 256, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(h, 256, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(h, 256, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(h, 256, 12));
    CHECK_ACCESS(h, RW);

    size_t big = 4u << 20; /* above the mmap threshold */
    unsigned char *hb = malloc(big);
    ck_assert_ptr_nonnull(hb);
    vw_fill_pattern(hb, big, 13);
    ALLOC_FAILS(hb + big / 2, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(hb + big / 2, PG, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(hb, big, 13));

    vw_fill_pattern(g_data, sizeof g_data, 14);
    ALLOC_FAILS(g_data + 4096, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(g_data + 4096, PG, MEM_RESERVE | MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(g_data, sizeof g_data, 14));

    void *code = (void *)(uintptr_t)&getpid;
    ALLOC_FAILS(code, PG, MEM_RESERVE, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(code, PG, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE, ERROR_INVALID_ADDRESS);
    ck_assert(getpid() > 0);
    ck_assert(vw_can_read(code));
    free(hb);
    free(h);
}
END_TEST

/* spec 4: a reserved page is inaccessible */
START_TEST(test_reserved_pages_fault)
{
    static const DWORD prots[] = {PAGE_READWRITE, PAGE_EXECUTE_READWRITE, PAGE_READONLY};
    for (size_t i = 0; i < 3; i++) {
        char *p = VW_ALLOC_OK(NULL, 0x30000, MEM_RESERVE, prots[i]);
        VW_CHECK_NO_ACCESS(p);
        VW_CHECK_NO_ACCESS(p + 0x18000);
        VW_CHECK_NO_ACCESS(p + 0x30000 - 1);
        VW_CHECK_MBI(p, p, p, prots[i], 0x30000, MEM_RESERVE, 0, MEM_PRIVATE);
        vw_assert_range_agrees(p, 0x30000);
    }
    /* a large reservation as well */
    char *big = VW_ALLOC_OK(NULL, (SIZE_T)1 << 30, MEM_RESERVE, RW);
    VW_CHECK_MBI(big, big, big, RW, (SIZE_T)1 << 30, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(big + ((SIZE_T)1 << 29));
    ck_assert_ptr_eq(VW_ALLOC_OK(big + ((SIZE_T)1 << 30) - PG, PG, MEM_COMMIT, RW),
                     big + ((SIZE_T)1 << 30) - PG);
    CHECK_ACCESS(big + ((SIZE_T)1 << 30) - 1, RW);
    vw_assert_range_agrees(big, (SIZE_T)1 << 30);
}
END_TEST

/* spec 4: MEM_TOP_DOWN places the region at the highest free address that fits */
START_TEST(test_reserve_top_down)
{
    const SIZE_T sz = 0x30000;
    char *p = VW_ALLOC_OK(NULL, sz, MEM_RESERVE | MEM_TOP_DOWN, RW);
    ck_assert_uint_eq((uintptr_t)p % G64, 0);
    VW_CHECK_MBI(p, p, p, RW, sz, MEM_RESERVE, 0, MEM_PRIVATE);
    uintptr_t a = (uintptr_t)p + sz;
    while (a <= VW_MAX_APP_ADDR) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        uintptr_t s = (uintptr_t)m.BaseAddress, e = s + m.RegionSize;
        if (e > VW_MAX_APP_ADDR + 1)
            e = VW_MAX_APP_ADDR + 1;
        if (m.State == MEM_FREE) {
            uintptr_t as = g64ceil(s);
            ck_assert_msg(!(as < e && e - as >= sz),
                          "free range %#lx-%#lx above the MEM_TOP_DOWN region %p could hold it",
                          (unsigned long)s, (unsigned long)e, p);
        }
        if (e <= a)
            break;
        a = e;
    }
    char *c = VW_ALLOC_OK(NULL, PG, MEM_COMMIT | MEM_RESERVE | MEM_TOP_DOWN, RW);
    VW_CHECK_MBI(c, c, c, RW, PG, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_is_zero(c, PG));
    CHECK_ACCESS(c, RW);
    vw_assert_range_agrees(p, sz);
    vw_assert_range_agrees(c, PG);
}
END_TEST

/* ---- section 4: commit ----------------------------------------------------------- */

/* spec 4: MEM_COMMIT with NULL reserves and commits in one call */
START_TEST(test_commit_null_reserves)
{
    char *p = VW_ALLOC_OK(NULL, 0x5000, MEM_COMMIT, RW);
    ck_assert_uint_eq((uintptr_t)p % G64, 0);
    VW_CHECK_MBI(p, p, p, RW, 0x5000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_is_zero(p, 0x5000));
    CHECK_ACCESS(p + 0x4FFF, RW);
    VW_CHECK_FREE(p + 0x5000, G64 - 0x5000);
    char *q = VW_ALLOC_OK(NULL, 1, MEM_COMMIT, PAGE_READONLY);
    VW_CHECK_MBI(q, q, q, PAGE_READONLY, PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    CHECK_ACCESS(q, PAGE_READONLY);
    ck_assert(vw_is_zero(q, PG));
    vw_assert_range_agrees(p, G64);
    vw_assert_range_agrees(q, PG);
}
END_TEST

/* spec 4: commit rounds out to whole pages and returns page_floor(addr) */
START_TEST(test_commit_rounds_out)
{
    char *a = VW_ALLOC_OK(NULL, 0x10000, MEM_RESERVE, RW);
    /* size 2 at base+0x1FFF touches pages 1 and 2 */
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 2 * PG - 1, 2, MEM_COMMIT, RW), a + PG);
    VW_CHECK_MBI(a, a, a, RW, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + PG, a + PG, a, RW, 2 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(a + 3 * PG, a + 3 * PG, a, RW, 0x10000 - 3 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    /* an unaligned address inside one page */
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 5 * PG + 0x345, 0x10, MEM_COMMIT, PAGE_READONLY), a + 5 * PG);
    VW_CHECK_MBI(a + 5 * PG, a + 5 * PG, a, RW, PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    VW_CHECK_MBI(a + 4 * PG, a + 4 * PG, a, RW, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 6 * PG, a + 6 * PG, a, RW, 0x10000 - 6 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_ACCESS(a + PG, RW);
    CHECK_ACCESS(a + 3 * PG - 1, RW);
    VW_CHECK_NO_ACCESS(a + 3 * PG);
    VW_CHECK_NO_ACCESS(a + PG - 1);
    CHECK_ACCESS(a + 5 * PG, PAGE_READONLY);
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* spec 4: committing unreserved memory is ERROR_INVALID_ADDRESS */
START_TEST(test_commit_unreserved)
{
    char *f = vw_free_space(0x100000);
    ALLOC_FAILS(f, PG, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(f + 0x10000 + 0x123, 0x2000, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(f + 0x50000, 0x10000, MEM_COMMIT, PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    VW_CHECK_FREE(f, 0x100000);
    VW_CHECK_NO_ACCESS(f);
    /* starting in free memory and running into a reservation */
    char *r = VW_ALLOC_OK(f + 0x20000, 0x10000, MEM_RESERVE, RW);
    ALLOC_FAILS(f + 0x1F000, 0x2000, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(r, r, r, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(f, 0x100000);
}
END_TEST

/* spec 4: a commit crossing the reservation's end, or into the next reservation, is
 * ERROR_INVALID_ADDRESS and commits nothing */
START_TEST(test_commit_crossing_reservation_end)
{
    char *f = vw_free_space(0x100000);
    char *a = VW_ALLOC_OK(f, 0x10000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(a, f);
    ALLOC_FAILS(a + 0xF000, 0x2000, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(a, 0x10001, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(a, 0x20000, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    /* the next 64 KiB block reserved separately: still two reservations */
    char *b = VW_ALLOC_OK(f + 0x10000, 0x10000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(b, f + 0x10000);
    ALLOC_FAILS(a + 0xF000, 0x2000, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(a, 0x20000, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(b, b, b, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(a + 0xF000);
    VW_CHECK_NO_ACCESS(b);
    /* a one-page NULL reservation: committing past its page fails */
    char *c = VW_ALLOC_OK(NULL, PG, MEM_RESERVE, RW);
    ALLOC_FAILS(c, 2 * PG, MEM_COMMIT, RW, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(c, c, c, RW, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(f, 0x20000);
    vw_assert_range_agrees(c, G64);
}
END_TEST

/* spec 4/10: newly committed pages read as zero */
START_TEST(test_commit_zero_filled)
{
    char *a = VW_ALLOC_OK(NULL, 0x100000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x3000, 0x20000, MEM_COMMIT, RW), a + 0x3000);
    ck_assert(vw_is_zero(a + 0x3000, 0x20000));
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x80000, 0x80000, MEM_COMMIT, PAGE_EXECUTE_READ), a + 0x80000);
    ck_assert(vw_is_zero(a + 0x80000, 0x80000));
    vw_assert_range_agrees(a, 0x100000);
}
END_TEST

/* spec 4/10: committing pages that are already committed keeps contents and takes the new
 * protection (also through NOACCESS); partly committed ranges: new pages zero */
START_TEST(test_commit_recommit_keeps_contents)
{
    char *a = VW_ALLOC_OK(NULL, 0x10000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 4 * PG, MEM_COMMIT, RW), a);
    vw_fill_pattern(a, 4 * PG, 21);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 4 * PG, MEM_COMMIT, RW), a);
    ck_assert(vw_has_pattern(a, 4 * PG, 21));
    ck_assert_ptr_eq(VW_ALLOC_OK(a + PG, PG, MEM_COMMIT, PAGE_READONLY), a + PG);
    VW_CHECK_MBI(a, a, a, RW, PG, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(a + PG, a + PG, a, RW, PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    VW_CHECK_MBI(a + 2 * PG, a + 2 * PG, a, RW, 2 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    CHECK_ACCESS(a + PG, PAGE_READONLY);
    ck_assert(vw_has_pattern(a, 4 * PG, 21));
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 2 * PG, PG, MEM_COMMIT, PAGE_NOACCESS), a + 2 * PG);
    VW_CHECK_MBI(a + 2 * PG, a + 2 * PG, a, RW, PG, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(a + 2 * PG);
    vw_assert_range_agrees(a, 0x10000);
    /* back to read-write: everything is still there and the regions merge again */
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 4 * PG, MEM_COMMIT, RW), a);
    VW_CHECK_MBI(a, a, a, RW, 4 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(a, 4 * PG, 21));
    /* a range that is partly committed: old pages keep data, new ones are zero */
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 3 * PG, 3 * PG, MEM_COMMIT, RW), a + 3 * PG);
    ck_assert(vw_has_pattern(a, 4 * PG, 21));
    ck_assert(vw_is_zero(a + 4 * PG, 2 * PG));
    VW_CHECK_MBI(a, a, a, RW, 6 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    /* execute protections keep data too */
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 2 * PG, MEM_COMMIT, PAGE_EXECUTE_READ), a);
    ck_assert(vw_has_pattern(a, 2 * PG, 21));
    CHECK_ACCESS(a, PAGE_EXECUTE_READ);
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* spec 4: AllocationProtect is the reservation's protection, Protect each commit's */
START_TEST(test_commit_allocation_protect_vs_protect)
{
    char *a = VW_ALLOC_OK(NULL, 8 * PG, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, PG, MEM_COMMIT, PAGE_READONLY), a);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + PG, PG, MEM_COMMIT, PAGE_EXECUTE_READ), a + PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 2 * PG, 2 * PG, MEM_COMMIT, RW), a + 2 * PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 5 * PG, PG, MEM_COMMIT, PAGE_EXECUTE_READWRITE), a + 5 * PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 6 * PG, PG, MEM_COMMIT, PAGE_EXECUTE), a + 6 * PG);
    VW_CHECK_MBI(a, a, a, PAGE_NOACCESS, PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    VW_CHECK_MBI(a + PG, a + PG, a, PAGE_NOACCESS, PG, MEM_COMMIT, PAGE_EXECUTE_READ, MEM_PRIVATE);
    VW_CHECK_MBI(a + 2 * PG, a + 2 * PG, a, PAGE_NOACCESS, 2 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(a + 4 * PG, a + 4 * PG, a, PAGE_NOACCESS, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 5 * PG, a + 5 * PG, a, PAGE_NOACCESS, PG, MEM_COMMIT, PAGE_EXECUTE_READWRITE,
                 MEM_PRIVATE);
    VW_CHECK_MBI(a + 6 * PG, a + 6 * PG, a, PAGE_NOACCESS, PG, MEM_COMMIT, PAGE_EXECUTE,
                 MEM_PRIVATE);
    VW_CHECK_MBI(a + 7 * PG, a + 7 * PG, a, PAGE_NOACCESS, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    CHECK_ACCESS(a, PAGE_READONLY);
    CHECK_ACCESS(a + PG, PAGE_EXECUTE_READ);
    CHECK_ACCESS(a + 2 * PG, RW);
    CHECK_ACCESS(a + 5 * PG, PAGE_EXECUTE_READWRITE);
    CHECK_ACCESS(a + 6 * PG, PAGE_EXECUTE);
    /* reserve+commit in one call: both fields are the given protection */
    char *b = VW_ALLOC_OK(NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READ);
    VW_CHECK_MBI(b, b, b, PAGE_EXECUTE_READ, PG, MEM_COMMIT, PAGE_EXECUTE_READ, MEM_PRIVATE);
    vw_assert_range_agrees(a, 8 * PG);
    vw_assert_range_agrees(b, PG);
}
END_TEST

/* spec 4/3: PAGE_GUARD given at commit shows in Protect; the page is inaccessible */
START_TEST(test_commit_guard)
{
    char *a = VW_ALLOC_OK(NULL, 4 * PG, MEM_RESERVE, RW);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + PG, PG, MEM_COMMIT, RW | PAGE_GUARD), a + PG);
    VW_CHECK_MBI(a + PG, a + PG, a, RW, PG, MEM_COMMIT, RW | PAGE_GUARD, MEM_PRIVATE);
    VW_CHECK_MBI(a, a, a, RW, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(a, 4 * PG);
    char *b = VW_ALLOC_OK(NULL, 2 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY | PAGE_GUARD);
    VW_CHECK_MBI(b, b, b, PAGE_READONLY | PAGE_GUARD, 2 * PG, MEM_COMMIT,
                 PAGE_READONLY | PAGE_GUARD, MEM_PRIVATE);
    vw_assert_range_agrees(b, 2 * PG);
    /* access faults (checked last: the first access may clear the guard) */
    ck_assert(!vw_can_read(a + PG));
    ck_assert(!vw_can_read(b + PG));
}
END_TEST

/* ---- section 4: MEM_RESET ----------------------------------------------------------- */

/* spec 4: MEM_RESET ignores flProtect, keeps State and Protect, keeps access, contents kept or
 * zero, returns the page-rounded address */
START_TEST(test_reset_committed)
{
    char *a = VW_ALLOC_OK(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(a, 0x10000, 31);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + PG, 2 * PG, MEM_RESET, PAGE_NOACCESS), a + PG);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    CHECK_ACCESS(a + PG, RW);
    CHECK_ACCESS(a + 3 * PG - 1, RW);
    ck_assert(vw_has_pattern(a, PG, 31));
    ck_assert(vw_has_pattern_at(a, 3 * PG, 0x10000 - 3 * PG, 31));
    for (size_t pg = 1; pg < 3; pg++) {
        const unsigned char *c = (unsigned char *)a + pg * PG;
        for (size_t i = 0; i < PG; i++)
            ck_assert_msg(c[i] == 0 || c[i] == vw_pattern_byte(pg * PG + i, 31),
                          "reset page byte %zu is %#x: neither kept nor zero", pg * PG + i, c[i]);
    }
    /* unaligned address: page_floor; a valid protection that differs changes nothing */
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 5 * PG + 0x10, PG, MEM_RESET, PAGE_EXECUTE_READ), a + 5 * PG);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    CHECK_ACCESS(a + 5 * PG, RW);
    /* the memory is usable after a reset */
    vw_fill_pattern(a, 0x10000, 32);
    ck_assert(vw_has_pattern(a, 0x10000, 32));
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* spec 4: MEM_RESET on reserved-only pages, and on mixed ranges, succeeds and changes nothing */
START_TEST(test_reset_reserved_pages)
{
    char *a = VW_ALLOC_OK(NULL, 0x10000, MEM_RESERVE, PAGE_READONLY);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + PG, 0x2000, MEM_RESET, PAGE_NOACCESS), a + PG);
    VW_CHECK_MBI(a, a, a, PAGE_READONLY, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(a + PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 4 * PG, PG, MEM_COMMIT, RW), a + 4 * PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x10000, MEM_RESET, RW), a);
    VW_CHECK_MBI(a, a, a, PAGE_READONLY, 4 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 4 * PG, a + 4 * PG, a, PAGE_READONLY, PG, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(a + 5 * PG, a + 5 * PG, a, PAGE_READONLY, 0x10000 - 5 * PG, MEM_RESERVE, 0,
                 MEM_PRIVATE);
    CHECK_ACCESS(a + 4 * PG, RW);
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* spec 4: MEM_RESET must lie inside one reservation, else ERROR_INVALID_ADDRESS (free memory,
 * crossing the end, two reservations) */
START_TEST(test_reset_outside_reservation)
{
    char *f = vw_free_space(0x100000);
    ALLOC_FAILS(f, PG, MEM_RESET, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(f + 0x10000, 0x10000, MEM_RESET, PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    VW_CHECK_FREE(f, 0x100000);
    char *a = VW_ALLOC_OK(f, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    char *b = VW_ALLOC_OK(f + 0x10000, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_ptr_eq(a, f);
    ck_assert_ptr_eq(b, f + 0x10000);
    vw_fill_pattern(a, 0x20000, 33);
    ALLOC_FAILS(a + 0xF000, 0x2000, MEM_RESET, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(a, 0x20000, MEM_RESET, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(b + 0xF000, 0x2000, MEM_RESET, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(f + 0x1F000, 0x10000, MEM_RESET, RW, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(b, b, b, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    /* no reset happened: everything is intact */
    ck_assert(vw_has_pattern(a, 0x20000, 33));
    /* the tail of a one-page NULL reservation is free */
    char *c = VW_ALLOC_OK(NULL, PG, MEM_RESERVE | MEM_COMMIT, RW);
    ALLOC_FAILS(c + PG, PG, MEM_RESET, RW, ERROR_INVALID_ADDRESS);
    ALLOC_FAILS(c, 2 * PG, MEM_RESET, RW, ERROR_INVALID_ADDRESS);
    vw_assert_range_agrees(f, 0x100000);
}
END_TEST

/* spec 4: MEM_RESET_UNDO never reports success for lost data */
START_TEST(test_reset_undo_honest)
{
    char *a = VW_ALLOC_OK(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(a, 0x10000, 34);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x10000, MEM_RESET, RW), a);
    SetLastError(SENTINEL);
    void *r = VirtualAlloc(a, 0x10000, MEM_RESET_UNDO, RW);
    if (r != NULL) {
        ck_assert_ptr_eq(r, a);
        ck_assert_msg(vw_has_pattern(a, 0x10000, 34), "MEM_RESET_UNDO succeeded but data was lost");
    } else {
        ck_assert_uint_ne(GetLastError(), SENTINEL);
    }
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* ---- section 9: VirtualAllocEx ------------------------------------------------------- */

/* spec 9: VirtualAllocEx with GetCurrentProcess() behaves like VirtualAlloc */
START_TEST(test_allocex_current_process)
{
    HANDLE self = GetCurrentProcess();
    ck_assert_ptr_eq(self, (HANDLE)-1);
    SetLastError(KEEP_ERR);
    char *p = VirtualAllocEx(self, NULL, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    ck_assert_uint_eq((uintptr_t)p % G64, 0);
    VW_CHECK_MBI(p, p, p, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_ptr_eq(VirtualAllocEx(self, p + 2 * PG - 1, 2, MEM_COMMIT, RW), p + PG);
    VW_CHECK_MBI(p + PG, p + PG, p, PAGE_NOACCESS, 2 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_is_zero(p + PG, 2 * PG));
    CHECK_ACCESS(p + PG, RW);
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    /* the same failures */
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(self, NULL, 0, MEM_RESERVE, RW));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(self, p, PG, MEM_RESERVE, RW));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(self, NULL, PG, MEM_RESERVE, PAGE_WRITECOPY));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(self, p + 0xF000, 0x2000, MEM_COMMIT, RW));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    /* and it can be freed with VirtualFreeEx */
    SetLastError(KEEP_ERR);
    ck_assert(VirtualFreeEx(self, p, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    VW_CHECK_FREE(p, 0x10000);
    vw_assert_range_agrees(p, 0x10000);
}
END_TEST

/* spec 9: a NULL process handle is ERROR_INVALID_HANDLE */
START_TEST(test_allocex_null_handle)
{
    char *f = vw_free_space(0x100000);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(NULL, NULL, PG, MEM_RESERVE | MEM_COMMIT, RW));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(NULL, f + 0x10000, PG, MEM_RESERVE, RW));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    VW_CHECK_FREE(f + 0x10000, 0x10000); /* nothing was reserved there */
    char *r = VW_ALLOC_OK(NULL, G64, MEM_RESERVE, RW);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(NULL, r, PG, MEM_COMMIT, RW));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    VW_CHECK_MBI(r, r, r, RW, G64, MEM_RESERVE, 0, MEM_PRIVATE);
}
END_TEST

/* ---- section 10: contents ------------------------------------------------------------- */

/* spec 10: data never leaks from one allocation to another (NULL placement reuses space) */
START_TEST(test_contents_no_leak_between_allocations)
{
    const SIZE_T sizes[] = {PG, 0x10000, 0x30000, 0x100000, 0x5000};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char *p = VW_ALLOC_OK(NULL, sizes[i], MEM_RESERVE | MEM_COMMIT, RW);
            ck_assert_msg(vw_is_zero(p, sizes[i]), "fresh allocation %p of %#zx is not zero", p,
                          (size_t)sizes[i]);
            vw_fill_pattern(p, sizes[i], 40 + (unsigned)i);
            VW_FREE_OK(p, 0, MEM_RELEASE);
        }
    }
    /* two-step reserve then commit over released space */
    char *p = VW_ALLOC_OK(NULL, 0x40000, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(p, 0x40000, 50);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    char *q = VW_ALLOC_OK(NULL, 0x40000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(VW_ALLOC_OK(q, 0x40000, MEM_COMMIT, RW), q);
    ck_assert(vw_is_zero(q, 0x40000));
    vw_assert_range_agrees(q, 0x40000);
}
END_TEST

/* spec 10: zero after release and re-reservation at the same address */
START_TEST(test_contents_zero_after_rereserve)
{
    char *p = VW_ALLOC_OK(NULL, 0x20000, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(p, 0x20000, 51);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    ck_assert_ptr_eq(VW_ALLOC_OK(p, 0x20000, MEM_RESERVE, RW), p);
    VW_CHECK_MBI(p, p, p, RW, 0x20000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(p);
    ck_assert_ptr_eq(VW_ALLOC_OK(p + PG, 0x20000 - PG, MEM_COMMIT, RW), p + PG);
    ck_assert(vw_is_zero(p + PG, 0x20000 - PG));
    vw_fill_pattern(p + PG, 0x20000 - PG, 52);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    ck_assert_ptr_eq(VW_ALLOC_OK(p, 0x20000, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY), p);
    ck_assert(vw_is_zero(p, 0x20000));
    vw_assert_range_agrees(p, 0x20000);
}
END_TEST

/* spec 4/7: after a mix of operations the whole address space agrees with the kernel */
START_TEST(test_all_agree_after_scenario)
{
    char *a = VW_ALLOC_OK(NULL, 0x100000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x3000, 0x5000, MEM_COMMIT, RW), a + 0x3000);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x4000, PG, MEM_COMMIT, PAGE_READONLY), a + 0x4000);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x20000, PG, MEM_COMMIT, PAGE_EXECUTE_READ), a + 0x20000);
    char *b = VW_ALLOC_OK(NULL, PG, MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    char *c = VW_ALLOC_OK(NULL, 0x7000, MEM_RESERVE | MEM_COMMIT, RW | PAGE_GUARD);
    char *f = vw_free_space(0x100000);
    ck_assert_ptr_eq(VW_ALLOC_OK(f + 0x1234, PG, MEM_RESERVE | MEM_COMMIT, RW), f);
    vw_assert_range_agrees(a, 0x100000);
    vw_assert_range_agrees(b, G64);
    vw_assert_range_agrees(c, G64);
    vw_assert_all_agree();
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------ */

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("VirtualAlloc");
    TCase *tc;

    tc = tcase_create("basics");
    tcase_add_test(tc, test_constants);
    tcase_add_test(tc, test_sysinfo_figures);
    tcase_add_test(tc, test_lasterror_untouched_on_success);
    tcase_add_test(tc, test_lasterror_set_on_failure);
    tcase_add_test(tc, test_lasterror_thread_local);
    suite_add_tcase(s, tc);

    tc = tcase_create("protection");
    tcase_add_test(tc, test_prot_valid_commit);
    tcase_add_test(tc, test_prot_valid_reserve);
    tcase_add_test(tc, test_prot_low_byte_all_values);
    tcase_add_test(tc, test_prot_writecopy);
    tcase_add_test(tc, test_prot_modifier_alone);
    tcase_add_test(tc, test_prot_guard_noaccess);
    tcase_add_test(tc, test_prot_cache_conflicts);
    tcase_add_test(tc, test_prot_unknown_bits);
    tcase_add_test(tc, test_prot_targets_invalid_exec);
    tcase_add_test(tc, test_prot_nocache_writecombine_reported);
    tcase_add_test(tc, test_prot_nocache_belongs_to_allocation);
    suite_add_tcase(s, tc);

    tc = tcase_create("alloctype");
    tcase_add_test(tc, test_type_unknown_bits);
    tcase_add_test(tc, test_type_none_of_required);
    tcase_add_test(tc, test_type_reset_combined);
    tcase_add_test(tc, test_type_write_watch_without_reserve);
    tcase_add_test(tc, test_type_physical_invalid);
    tcase_add_test(tc, test_type_large_pages_invalid);
    suite_add_tcase(s, tc);

    tc = tcase_create("range");
    tcase_add_test(tc, test_size_zero);
    tcase_add_test(tc, test_address_below_minimum);
    tcase_add_test(tc, test_range_past_maximum);
    tcase_add_test(tc, test_range_wraps);
    tcase_add_test(tc, test_size_too_large);
    suite_add_tcase(s, tc);

    tc = tcase_create("reserve");
    tcase_add_test(tc, test_reserve_null_aligned);
    tcase_add_test(tc, test_reserve_size_rounding);
    tcase_add_test(tc, test_reserve_tail_is_free);
    tcase_add_test(tc, test_reserve_explicit_rounding);
    tcase_add_test(tc, test_reserve_commit_explicit);
    tcase_add_test(tc, test_reserve_in_released_space);
    tcase_add_test(tc, test_reserve_in_library_arena);
    tcase_add_test(tc, test_reserve_outside_arena);
    tcase_add_test(tc, test_reserve_overlap_existing);
    tcase_add_test(tc, test_reserve_inside_reservation);
    tcase_add_test(tc, test_reserve_overlap_foreign_mmap);
    tcase_add_test(tc, test_reserve_overlap_stack);
    tcase_add_test(tc, test_reserve_overlap_heap_and_image);
    tcase_add_test(tc, test_reserved_pages_fault);
    tcase_add_test(tc, test_reserve_top_down);
    suite_add_tcase(s, tc);

    tc = tcase_create("commit");
    tcase_add_test(tc, test_commit_null_reserves);
    tcase_add_test(tc, test_commit_rounds_out);
    tcase_add_test(tc, test_commit_unreserved);
    tcase_add_test(tc, test_commit_crossing_reservation_end);
    tcase_add_test(tc, test_commit_zero_filled);
    tcase_add_test(tc, test_commit_recommit_keeps_contents);
    tcase_add_test(tc, test_commit_allocation_protect_vs_protect);
    tcase_add_test(tc, test_commit_guard);
    suite_add_tcase(s, tc);

    tc = tcase_create("reset");
    tcase_add_test(tc, test_reset_committed);
    tcase_add_test(tc, test_reset_reserved_pages);
    tcase_add_test(tc, test_reset_outside_reservation);
    tcase_add_test(tc, test_reset_undo_honest);
    suite_add_tcase(s, tc);

    tc = tcase_create("ex");
    tcase_add_test(tc, test_allocex_current_process);
    tcase_add_test(tc, test_allocex_null_handle);
    suite_add_tcase(s, tc);

    tc = tcase_create("contents");
    tcase_add_test(tc, test_contents_no_leak_between_allocations);
    tcase_add_test(tc, test_contents_zero_after_rereserve);
    tcase_add_test(tc, test_all_agree_after_scenario);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alloc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
