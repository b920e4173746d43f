/*
 * check_protect.c: VirtualProtect and VirtualProtectEx (spec sections 3 and 6).
 *
 * Every test names the rule of /work/shared/spec/semantics.md it checks.  Each
 * one asserts the return value, the last error, what VirtualQuery reports
 * afterwards, whether reads and writes fault and, where it matters, contents.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG VW_PAGE
#define SENTINEL 0xDEADBEEFu
#define KEEP_ERR 1234u

/* ---- helpers ------------------------------------------------------------ */

static void fill(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(i * 7 + seed);
}

static int same(const char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)(i * 7 + seed))
            return 0;
    return 1;
}

/* Checks the VirtualQuery region at addr: BaseAddress, RegionSize, State, Protect,
 * and (for the library's allocations) AllocationBase and Type. */
#define EXPECT_REGION(addr, base, size, state, prot, abase) \
    expect_region(__LINE__, (addr), (base), (size), (state), (prot), (abase))
static void expect_region(int line, const void *addr, const void *base, size_t size,
                          DWORD state, DWORD prot, const void *abase)
{
    MEMORY_BASIC_INFORMATION m = vw_query(addr);
    ck_assert_msg(m.BaseAddress == base && m.RegionSize == size && m.State == state &&
                      m.Protect == prot,
                  "line %d: query %p: base %p size %#zx state %#x protect %#x; "
                  "expected base %p size %#zx state %#x protect %#x",
                  line, addr, m.BaseAddress, (size_t)m.RegionSize, (unsigned)m.State,
                  (unsigned)m.Protect, base, size, (unsigned)state, (unsigned)prot);
    if (abase) {
        ck_assert_msg(m.AllocationBase == abase, "line %d: AllocationBase %p, expected %p",
                      line, m.AllocationBase, abase);
        ck_assert_msg(m.Type == MEM_PRIVATE, "line %d: Type %#x", line, (unsigned)m.Type);
    }
}

/* A VirtualProtect call that must fail with `err` (or, if err2 is nonzero, either).
 * Returns the value left in *old (preset to SENTINEL). */
#define EXPECT_PROTECT_FAILS(a, s, np, err, err2) \
    expect_protect_fails(__LINE__, (a), (s), (np), (err), (err2))
static DWORD expect_protect_fails(int line, void *a, size_t s, DWORD np, DWORD err, DWORD err2)
{
    DWORD old = SENTINEL;
    SetLastError(SENTINEL);
    BOOL r = VirtualProtect(a, s, np, &old);
    DWORD e = GetLastError();
    ck_assert_msg(!r, "line %d: VirtualProtect(%p, %#zx, %#x) succeeded", line, a, s,
                  (unsigned)np);
    ck_assert_msg(e == err || (err2 && e == err2),
                  "line %d: VirtualProtect(%p, %#zx, %#x): error %u, expected %u%s", line, a, s,
                  (unsigned)np, (unsigned)e, (unsigned)err, err2 ? " (or the alternative)" : "");
    return old;
}

/* A VirtualProtect call that must succeed, leave the last error alone and report old. */
#define EXPECT_PROTECT(a, s, np, old_expected) \
    expect_protect(__LINE__, (a), (s), (np), (old_expected))
static void expect_protect(int line, void *a, size_t s, DWORD np, DWORD old_expected)
{
    DWORD old = SENTINEL;
    SetLastError(KEEP_ERR);
    BOOL r = VirtualProtect(a, s, np, &old);
    DWORD e = GetLastError();
    ck_assert_msg(r, "line %d: VirtualProtect(%p, %#zx, %#x) failed, error %u", line, a, s,
                  (unsigned)np, (unsigned)e);
    ck_assert_msg(e == KEEP_ERR, "line %d: success changed the last error to %u", line,
                  (unsigned)e);
    ck_assert_msg(old == old_expected, "line %d: old protection %#x, expected %#x", line,
                  (unsigned)old, (unsigned)old_expected);
}

/* ---- argument validation ----------------------------------------------- */

/* Section 6: lpflOldProtect NULL gives ERROR_NOACCESS, and nothing changes. */
START_TEST(test_null_old_protect)
{
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    fill(p, 2 * PG, 1);
    SetLastError(SENTINEL);
    ck_assert_int_eq(VirtualProtect(p, PG, PAGE_READONLY, NULL), FALSE);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    SetLastError(SENTINEL);
    ck_assert_int_eq(VirtualProtect(p, PG, PAGE_NOACCESS, NULL), FALSE);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    EXPECT_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p));
    ck_assert(vw_can_write(p + PG));
    ck_assert(same(p, 2 * PG, 1));
    vw_assert_range_agrees(p, 2 * PG);
}
END_TEST

/* Section 6 + 3: the same through VirtualProtectEx with the pseudo handle. */
START_TEST(test_null_old_protect_ex)
{
    char *p = vw_alloc_commit(PG, PAGE_READWRITE);
    SetLastError(SENTINEL);
    ck_assert_int_eq(VirtualProtectEx(GetCurrentProcess(), p, PG, PAGE_READONLY, NULL), FALSE);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p));
}
END_TEST

/* Section 3: protections whose low byte is not exactly one of the six allowed values,
 * a modifier alone, or unknown bits: ERROR_INVALID_PARAMETER, nothing changes. */
static const DWORD bad_prots[] = {
    0,
    0x03, 0x05, 0x06, 0x12, 0x14, 0x22, 0x24, 0x30, 0x41, 0x44, 0x60, 0x11, 0xFF,
    PAGE_WRITECOPY, PAGE_EXECUTE_WRITECOPY,
    PAGE_WRITECOPY | PAGE_READWRITE,
    PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOMBINE, PAGE_TARGETS_INVALID,
    PAGE_GUARD | PAGE_NOCACHE,
    0x800 | PAGE_READWRITE, 0x1000 | PAGE_READWRITE, 0x10000 | PAGE_READWRITE,
    0x100000 | PAGE_READWRITE, 0x04000000 | PAGE_READWRITE, 0x20000000 | PAGE_READWRITE,
    0x80000000u | PAGE_READWRITE, 0x80000000u | PAGE_EXECUTE_READ,
};
#define N_BAD_PROTS ((int)(sizeof bad_prots / sizeof bad_prots[0]))

START_TEST(test_invalid_protection)
{
    DWORD np = bad_prots[_i];
    char *p = vw_alloc_commit(PG, PAGE_READWRITE);
    fill(p, PG, 2);
    EXPECT_PROTECT_FAILS(p, PG, np, ERROR_INVALID_PARAMETER, 0);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p));
    ck_assert(same(p, PG, 2));
    /* The Ex variant validates the same way. */
    DWORD old = SENTINEL;
    SetLastError(SENTINEL);
    ck_assert_int_eq(VirtualProtectEx(GetCurrentProcess(), p, PG, np, &old), FALSE);
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
}
END_TEST

/* Section 3: forbidden modifier combinations: GUARD+NOACCESS; NOCACHE with GUARD,
 * NOACCESS or WRITECOMBINE; WRITECOMBINE with GUARD, NOACCESS or NOCACHE. */
static const DWORD bad_combos[] = {
    PAGE_GUARD | PAGE_NOACCESS,
    PAGE_NOCACHE | PAGE_GUARD | PAGE_READWRITE,
    PAGE_NOCACHE | PAGE_GUARD | PAGE_READONLY,
    PAGE_NOCACHE | PAGE_NOACCESS,
    PAGE_NOCACHE | PAGE_WRITECOMBINE | PAGE_READWRITE,
    PAGE_WRITECOMBINE | PAGE_GUARD | PAGE_READWRITE,
    PAGE_WRITECOMBINE | PAGE_GUARD | PAGE_EXECUTE_READ,
    PAGE_WRITECOMBINE | PAGE_NOACCESS,
};
#define N_BAD_COMBOS ((int)(sizeof bad_combos / sizeof bad_combos[0]))

START_TEST(test_invalid_modifier_combination)
{
    DWORD np = bad_combos[_i];
    char *p = vw_alloc_commit(PG, PAGE_READWRITE);
    fill(p, PG, 3);
    EXPECT_PROTECT_FAILS(p, PG, np, ERROR_INVALID_PARAMETER, 0);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p));
    ck_assert(same(p, PG, 3));
}
END_TEST

/* Section 3: the valid protections (each low byte alone, GUARD with an accessible
 * protection, NOCACHE/WRITECOMBINE with an accessible one) are accepted. */
static const DWORD good_prots[] = {
    PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE, PAGE_EXECUTE_READ,
    PAGE_EXECUTE_READWRITE,
    PAGE_GUARD | PAGE_READONLY, PAGE_GUARD | PAGE_READWRITE, PAGE_GUARD | PAGE_EXECUTE,
    PAGE_GUARD | PAGE_EXECUTE_READ, PAGE_GUARD | PAGE_EXECUTE_READWRITE,
    PAGE_NOCACHE | PAGE_READWRITE, PAGE_WRITECOMBINE | PAGE_READONLY,
    PAGE_NOCACHE | PAGE_EXECUTE_READ, PAGE_WRITECOMBINE | PAGE_EXECUTE_READWRITE,
    PAGE_TARGETS_INVALID | PAGE_EXECUTE, PAGE_TARGETS_INVALID | PAGE_EXECUTE_READ,
    PAGE_TARGETS_INVALID | PAGE_EXECUTE_READWRITE,
};
#define N_GOOD_PROTS ((int)(sizeof good_prots / sizeof good_prots[0]))

START_TEST(test_valid_protection_accepted)
{
    DWORD np = good_prots[_i];
    /* NOCACHE/WRITECOMBINE are dropped on memory allocated without them and
     * TARGETS_INVALID is ignored (section 3): what Protect then reports. */
    DWORD reported = np & ~(DWORD)(PAGE_NOCACHE | PAGE_WRITECOMBINE | PAGE_TARGETS_INVALID);
    char *p = vw_alloc_commit(PG, PAGE_READWRITE);
    EXPECT_PROTECT(p, PG, np, PAGE_READWRITE);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, reported, p);
    vw_assert_range_agrees(p, PG);
}
END_TEST

/* ---- rounding and size 0 ------------------------------------------------ */

/* Section 6: the range is rounded out to whole pages ([floor(a), ceil(a+s))). */
START_TEST(test_rounds_out_to_pages)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    fill(p, 4 * PG, 4);
    /* 2 bytes straddling the boundary between pages 1 and 2. */
    EXPECT_PROTECT(p + 2 * PG - 1, 2, PAGE_READONLY, PAGE_READWRITE);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    EXPECT_REGION(p + PG, p + PG, 2 * PG, MEM_COMMIT, PAGE_READONLY, p);
    EXPECT_REGION(p + 3 * PG, p + 3 * PG, PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p + PG - 1));
    ck_assert(!vw_can_write(p + PG));
    ck_assert(!vw_can_write(p + 3 * PG - 1));
    ck_assert(vw_can_write(p + 3 * PG));
    ck_assert(same(p, 4 * PG, 4));
    /* One byte in the middle of page 3 changes all of page 3. */
    EXPECT_PROTECT(p + 3 * PG + 100, 1, PAGE_NOACCESS, PAGE_READWRITE);
    EXPECT_REGION(p + 3 * PG, p + 3 * PG, PG, MEM_COMMIT, PAGE_NOACCESS, p);
    ck_assert(!vw_can_read(p + 3 * PG));
    ck_assert(!vw_can_read(p + 4 * PG - 1));
    vw_assert_range_agrees(p, 4 * PG);
}
END_TEST

/* Section 6: size 0 succeeds, changes nothing and reports the page's protection. */
START_TEST(test_size_zero)
{
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    fill(p, 2 * PG, 5);
    EXPECT_PROTECT(p + PG, PG, PAGE_READONLY, PAGE_READWRITE);
    EXPECT_PROTECT(p + PG + 123, 0, PAGE_NOACCESS, PAGE_READONLY);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    EXPECT_REGION(p + PG, p + PG, PG, MEM_COMMIT, PAGE_READONLY, p);
    ck_assert(vw_can_read(p + PG));
    ck_assert(!vw_can_write(p + PG));
    EXPECT_PROTECT(p, 0, PAGE_EXECUTE_READ, PAGE_READWRITE);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p));
    ck_assert(same(p, 2 * PG, 5));
    vw_assert_range_agrees(p, 2 * PG);
}
END_TEST

/* ---- failures on the library's allocations ------------------------------ */

/* Section 6: reserved pages: ERROR_INVALID_ADDRESS, *old = PAGE_NOACCESS, no change. */
START_TEST(test_reserved_pages)
{
    char *p = vw_alloc_reserve(4 * PG, PAGE_READWRITE);
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p, PG, PAGE_READWRITE, ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p + PG + 5, 2 * PG, PAGE_READONLY,
                                           ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p, 4 * PG, PAGE_NOACCESS, ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    EXPECT_REGION(p, p, 4 * PG, MEM_RESERVE, 0, p);
    ck_assert(!vw_can_read(p));
    ck_assert(!vw_can_read(p + 3 * PG));
    vw_assert_range_agrees(p, 4 * PG);
}
END_TEST

/* Section 6: decommitted pages are reserved pages: same failure. */
START_TEST(test_decommitted_pages)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    ck_assert(VirtualFree(p + PG, PG, MEM_DECOMMIT));
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p + PG, PG, PAGE_READWRITE, ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    EXPECT_REGION(p + PG, p + PG, PG, MEM_RESERVE, 0, p);
    ck_assert(!vw_can_read(p + PG));
    vw_assert_range_agrees(p, 4 * PG);
}
END_TEST

/* Section 6: a range partly committed, partly reserved: ERROR_INVALID_ADDRESS,
 * *old = PAGE_NOACCESS, and the committed pages keep their protection. */
START_TEST(test_partly_committed)
{
    char *p = vw_alloc_reserve(6 * PG, PAGE_READWRITE);
    vw_commit_at(p + PG, 2 * PG, PAGE_READWRITE);
    fill(p + PG, 2 * PG, 6);
    /* committed then reserved */
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p + PG, 3 * PG, PAGE_READONLY,
                                           ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    /* reserved then committed */
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p, 2 * PG, PAGE_READONLY, ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    /* reserved, committed, reserved */
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p, 6 * PG, PAGE_NOACCESS, ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    EXPECT_REGION(p, p, PG, MEM_RESERVE, 0, p);
    EXPECT_REGION(p + PG, p + PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    EXPECT_REGION(p + 3 * PG, p + 3 * PG, 3 * PG, MEM_RESERVE, 0, p);
    ck_assert(vw_can_write(p + PG));
    ck_assert(vw_can_write(p + 3 * PG - 1));
    ck_assert(same(p + PG, 2 * PG, 6));
    vw_assert_range_agrees(p, 6 * PG);
}
END_TEST

/* Section 6: free memory (a released reservation, and the unowned tail of a
 * NULL-address allocation's 64 KiB block, which lies in the library's arena):
 * ERROR_INVALID_ADDRESS with *old = PAGE_NOACCESS; the memory stays free. */
START_TEST(test_free_memory)
{
    char *f = vw_free_space(VW_64K);
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(f, PG, PAGE_READWRITE, ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    MEMORY_BASIC_INFORMATION m = vw_query(f);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert(!vw_can_read(f));

    char *p = vw_alloc_commit(PG, PAGE_READWRITE);
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p + PG, PG, PAGE_READWRITE, ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS(p + 2 * PG, PG, PAGE_READONLY,
                                           ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    m = vw_query(p + PG);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert(!vw_can_read(p + PG));
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    vw_assert_range_agrees(p, VW_64K);
}
END_TEST

/* Section 6: free memory that nothing maps at all (checked against the kernel). */
START_TEST(test_unmapped_memory)
{
    struct vw_kmap k;
    uintptr_t a = 0x10000;
    if (vw_kernel_mapping(a, &k))
        return; /* something is mapped there on this host: nothing to test */
    ck_assert_uint_eq(EXPECT_PROTECT_FAILS((void *)a, PG, PAGE_READWRITE,
                                           ERROR_INVALID_ADDRESS, 0),
                      PAGE_NOACCESS);
    ck_assert(!vw_kernel_mapping(a, &k));
    ck_assert_uint_eq(vw_query((void *)a).State, MEM_FREE);
}
END_TEST

/* Section 6: a range running past the end of the allocation fails with
 * ERROR_INVALID_PARAMETER or ERROR_INVALID_ADDRESS (then *old = PAGE_NOACCESS);
 * the allocation's pages keep their protection. */
START_TEST(test_range_past_allocation)
{
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    fill(p, 2 * PG, 7);
    DWORD old = EXPECT_PROTECT_FAILS(p + PG, 2 * PG, PAGE_READONLY, ERROR_INVALID_PARAMETER,
                                     ERROR_INVALID_ADDRESS);
    if (GetLastError() == ERROR_INVALID_ADDRESS)
        ck_assert_uint_eq(old, PAGE_NOACCESS);
    old = EXPECT_PROTECT_FAILS(p, 2 * PG + 1, PAGE_NOACCESS, ERROR_INVALID_PARAMETER,
                               ERROR_INVALID_ADDRESS);
    if (GetLastError() == ERROR_INVALID_ADDRESS)
        ck_assert_uint_eq(old, PAGE_NOACCESS);
    EXPECT_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p + 2 * PG - 1));
    ck_assert(same(p, 2 * PG, 7));
    vw_assert_range_agrees(p, VW_64K);
}
END_TEST

/* Section 6: a range crossing from one allocation into the adjacent one (both fully
 * committed read-write) is not inside one allocation: it fails, nothing changes. */
START_TEST(test_range_across_two_allocations)
{
    char *f = vw_free_space(2 * VW_64K);
    char *a = VirtualAlloc(f, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *b = VirtualAlloc(f + VW_64K, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, f);
    ck_assert_ptr_eq(b, f + VW_64K);
    DWORD old = EXPECT_PROTECT_FAILS(b - PG, 2 * PG, PAGE_READONLY, ERROR_INVALID_ADDRESS,
                                     ERROR_INVALID_PARAMETER);
    if (GetLastError() == ERROR_INVALID_ADDRESS)
        ck_assert_uint_eq(old, PAGE_NOACCESS);
    old = EXPECT_PROTECT_FAILS(a, 2 * VW_64K, PAGE_READONLY, ERROR_INVALID_ADDRESS,
                               ERROR_INVALID_PARAMETER);
    if (GetLastError() == ERROR_INVALID_ADDRESS)
        ck_assert_uint_eq(old, PAGE_NOACCESS);
    EXPECT_REGION(a, a, VW_64K, MEM_COMMIT, PAGE_READWRITE, a);
    EXPECT_REGION(b, b, VW_64K, MEM_COMMIT, PAGE_READWRITE, b);
    ck_assert(vw_can_write(b - 1));
    ck_assert(vw_can_write(b));
    vw_assert_range_agrees(a, 2 * VW_64K);
}
END_TEST

/* ---- success ------------------------------------------------------------ */

/* Section 6: on success *old is the protection of the first page of the range,
 * and all pages of the range take the new protection. */
START_TEST(test_old_is_first_page)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    EXPECT_PROTECT(p + PG, PG, PAGE_READONLY, PAGE_READWRITE);
    EXPECT_PROTECT(p + 2 * PG, PG, PAGE_EXECUTE_READ, PAGE_READWRITE);
    EXPECT_PROTECT(p + 3 * PG, PG, PAGE_NOACCESS, PAGE_READWRITE);
    /* First page READONLY, then EXECUTE_READ and NOACCESS. */
    EXPECT_PROTECT(p + PG, 3 * PG, PAGE_EXECUTE_READWRITE, PAGE_READONLY);
    EXPECT_REGION(p + PG, p + PG, 3 * PG, MEM_COMMIT, PAGE_EXECUTE_READWRITE, p);
    EXPECT_PROTECT(p + 3 * PG, PG, PAGE_NOACCESS, PAGE_EXECUTE_READWRITE);
    EXPECT_PROTECT(p + 3 * PG, PG, PAGE_READONLY, PAGE_NOACCESS);
    /* Whole allocation: old is page 0's READWRITE. */
    EXPECT_PROTECT(p, 4 * PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p + 4 * PG - 1));
    vw_assert_range_agrees(p, 4 * PG);
}
END_TEST

/* Section 6 / 7: changing part of a region splits it in VirtualQuery; setting it back
 * merges it again; AllocationBase and AllocationProtect stay the allocation's. */
START_TEST(test_split_and_merge)
{
    char *p = vw_alloc_commit(8 * PG, PAGE_READWRITE);
    EXPECT_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    EXPECT_PROTECT(p + 2 * PG, 3 * PG, PAGE_READONLY, PAGE_READWRITE);
    EXPECT_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    EXPECT_REGION(p + 3 * PG, p + 3 * PG, 2 * PG, MEM_COMMIT, PAGE_READONLY, p);
    EXPECT_REGION(p + 2 * PG, p + 2 * PG, 3 * PG, MEM_COMMIT, PAGE_READONLY, p);
    EXPECT_REGION(p + 5 * PG, p + 5 * PG, 3 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    MEMORY_BASIC_INFORMATION m = vw_query(p + 2 * PG);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_READWRITE);
    vw_assert_range_agrees(p, 8 * PG);
    /* A hole inside the split part: three regions of READONLY, NOACCESS, READONLY. */
    EXPECT_PROTECT(p + 3 * PG, PG, PAGE_NOACCESS, PAGE_READONLY);
    EXPECT_REGION(p + 2 * PG, p + 2 * PG, PG, MEM_COMMIT, PAGE_READONLY, p);
    EXPECT_REGION(p + 3 * PG, p + 3 * PG, PG, MEM_COMMIT, PAGE_NOACCESS, p);
    EXPECT_REGION(p + 4 * PG, p + 4 * PG, PG, MEM_COMMIT, PAGE_READONLY, p);
    vw_assert_range_agrees(p, 8 * PG);
    /* Back: one region again. */
    EXPECT_PROTECT(p + 2 * PG, 3 * PG, PAGE_READWRITE, PAGE_READONLY);
    EXPECT_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    EXPECT_REGION(p + 4 * PG, p + 4 * PG, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    vw_assert_range_agrees(p, 8 * PG);
}
END_TEST

/* Section 6: splitting also works at the very first and last page of an allocation. */
START_TEST(test_split_at_edges)
{
    char *p = vw_alloc_commit(3 * PG, PAGE_EXECUTE_READ);
    EXPECT_PROTECT(p, PG, PAGE_READWRITE, PAGE_EXECUTE_READ);
    EXPECT_PROTECT(p + 2 * PG, PG, PAGE_READWRITE, PAGE_EXECUTE_READ);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    EXPECT_REGION(p + PG, p + PG, PG, MEM_COMMIT, PAGE_EXECUTE_READ, p);
    EXPECT_REGION(p + 2 * PG, p + 2 * PG, PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert_uint_eq(vw_query(p + 2 * PG).AllocationProtect, PAGE_EXECUTE_READ);
    vw_assert_range_agrees(p, 3 * PG);
    EXPECT_PROTECT(p, 3 * PG, PAGE_EXECUTE_READ, PAGE_READWRITE);
    EXPECT_REGION(p, p, 3 * PG, MEM_COMMIT, PAGE_EXECUTE_READ, p);
    vw_assert_range_agrees(p, 3 * PG);
}
END_TEST

/* Sections 3 and 6: each protection's effect on reads and writes (READONLY and
 * EXECUTE* without WRITE: writes fault; NOACCESS: reads fault; PAGE_EXECUTE pages
 * are readable; EXECUTE_READWRITE is writable), for every transition between two
 * protections, with contents kept across the changes. */
static const struct {
    DWORD prot;
    int r, w;
} effects[] = {
    { PAGE_NOACCESS, 0, 0 },     { PAGE_READONLY, 1, 0 },     { PAGE_READWRITE, 1, 1 },
    { PAGE_EXECUTE, 1, 0 },      { PAGE_EXECUTE_READ, 1, 0 }, { PAGE_EXECUTE_READWRITE, 1, 1 },
};
#define N_EFFECTS 6

START_TEST(test_protection_effects)
{
    int i = _i / N_EFFECTS, j = _i % N_EFFECTS;
    DWORD a = effects[i].prot, b = effects[j].prot;
    char *p = vw_alloc_commit(3 * PG, PAGE_READWRITE);
    fill(p, 3 * PG, 8);
    EXPECT_PROTECT(p + PG, PG, a, PAGE_READWRITE);
    EXPECT_REGION(p + PG, p + PG, a == PAGE_READWRITE ? 2 * PG : PG, MEM_COMMIT, a, p);
    ck_assert_int_eq(vw_can_read(p + PG), effects[i].r);
    ck_assert_int_eq(vw_can_write(p + PG), effects[i].w);
    ck_assert_int_eq(vw_can_write(p + 2 * PG - 1), effects[i].w);
    EXPECT_PROTECT(p + PG, PG, b, a);
    EXPECT_REGION(p + PG, p + PG, b == PAGE_READWRITE ? 2 * PG : PG, MEM_COMMIT, b, p);
    ck_assert_int_eq(vw_can_read(p + PG), effects[j].r);
    ck_assert_int_eq(vw_can_read(p + 2 * PG - 1), effects[j].r);
    ck_assert_int_eq(vw_can_write(p + PG), effects[j].w);
    if (effects[j].r)
        ck_assert(same(p, 3 * PG, 8));
    /* The neighbours are untouched. */
    ck_assert(vw_can_write(p + PG - 1));
    ck_assert(vw_can_write(p + 2 * PG));
    vw_assert_range_agrees(p, 3 * PG);
    EXPECT_PROTECT(p + PG, PG, PAGE_READWRITE, b);
    EXPECT_REGION(p, p, 3 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(same(p, 3 * PG, 8));
}
END_TEST

/* Sections 3 and 10: contents survive a long chain of protection changes over
 * several pages, including NOACCESS and EXECUTE. */
START_TEST(test_contents_kept_through_chain)
{
    static const DWORD chain[] = { PAGE_NOACCESS, PAGE_READONLY, PAGE_EXECUTE,
                                   PAGE_EXECUTE_READWRITE, PAGE_NOACCESS, PAGE_EXECUTE_READ,
                                   PAGE_READWRITE };
    char *p = vw_alloc_commit(16 * PG, PAGE_READWRITE);
    fill(p, 16 * PG, 9);
    DWORD prev = PAGE_READWRITE;
    for (size_t k = 0; k < sizeof chain / sizeof chain[0]; k++) {
        EXPECT_PROTECT(p, 16 * PG, chain[k], prev);
        EXPECT_REGION(p + 5 * PG, p + 5 * PG, 11 * PG, MEM_COMMIT, chain[k], p);
        if (chain[k] != PAGE_NOACCESS)
            ck_assert(same(p, 16 * PG, 9));
        prev = chain[k];
    }
    ck_assert(vw_can_write(p + 16 * PG - 1));
    ck_assert(same(p, 16 * PG, 9));
}
END_TEST

/* Section 3: PAGE_EXECUTE_READ / PAGE_EXECUTE pages can be executed (code written while
 * read-write, then protected executable, runs). */
#if defined(__x86_64__) || defined(__aarch64__)
static void write_ret42(char *code)
{
#if defined(__x86_64__)
    static const unsigned char insn[] = { 0xB8, 42, 0, 0, 0, 0xC3 }; /* mov eax,42; ret */
    memcpy(code, insn, sizeof insn);
#else
    uint32_t insn[2] = { 0x52800000u | (42u << 5), 0xD65F03C0u }; /* mov w0,#42; ret */
    memcpy(code, insn, sizeof insn);
#endif
}
#endif

START_TEST(test_execute_runs_code)
{
#if defined(__x86_64__) || defined(__aarch64__)
    static const DWORD xprots[] = { PAGE_EXECUTE_READ, PAGE_EXECUTE, PAGE_EXECUTE_READWRITE };
    for (size_t k = 0; k < 3; k++) {
        char *p = vw_alloc_commit(PG, PAGE_READWRITE);
        write_ret42(p);
        EXPECT_PROTECT(p, PG, xprots[k], PAGE_READWRITE);
        ck_assert(FlushInstructionCache(GetCurrentProcess(), p, PG));
        int (*fn)(void);
        void *vp = p;
        memcpy(&fn, &vp, sizeof fn);
        ck_assert_int_eq(fn(), 42);
        ck_assert(VirtualFree(p, 0, MEM_RELEASE));
    }
#endif
}
END_TEST

/* ---- modifiers -------------------------------------------------------- */

/* Section 3: NOCACHE / WRITECOMBINE given at allocation appear in AllocationProtect
 * and Protect, and a later VirtualProtect keeps reporting them (READONLY reads back
 * as 0x202 / 0x402); *old includes them.  They change nothing in the mapping. */
START_TEST(test_alloc_modifier_kept)
{
    DWORD mod = _i ? PAGE_WRITECOMBINE : PAGE_NOCACHE;
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE | mod);
    MEMORY_BASIC_INFORMATION m = vw_query(p);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_READWRITE | mod);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE | mod);
    EXPECT_PROTECT(p, PG, PAGE_READONLY, PAGE_READWRITE | mod);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READONLY | mod, p);
    EXPECT_REGION(p + PG, p + PG, PG, MEM_COMMIT, PAGE_READWRITE | mod, p);
    ck_assert_uint_eq(vw_query(p).AllocationProtect, PAGE_READWRITE | mod);
    ck_assert(vw_can_read(p));
    ck_assert(!vw_can_write(p));
    ck_assert(vw_can_write(p + PG));
    vw_assert_range_agrees(p, 2 * PG);
    /* Giving the modifier again changes nothing in how it is reported. */
    EXPECT_PROTECT(p, PG, PAGE_EXECUTE_READ | mod, PAGE_READONLY | mod);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_EXECUTE_READ | mod, p);
    EXPECT_PROTECT(p, PG, PAGE_READWRITE, PAGE_EXECUTE_READ | mod);
    EXPECT_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE | mod, p);
    ck_assert(vw_can_write(p));
    vw_assert_range_agrees(p, 2 * PG);
}
END_TEST

/* Section 3: NOCACHE / WRITECOMBINE given to VirtualProtect on memory allocated
 * without them are dropped. */
START_TEST(test_protect_modifier_dropped)
{
    DWORD mod = _i ? PAGE_WRITECOMBINE : PAGE_NOCACHE;
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    EXPECT_PROTECT(p, PG, PAGE_READONLY | mod, PAGE_READWRITE);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READONLY, p);
    ck_assert_uint_eq(vw_query(p).AllocationProtect, PAGE_READWRITE);
    ck_assert(!vw_can_write(p));
    EXPECT_PROTECT(p, PG, PAGE_READWRITE | mod, PAGE_READONLY);
    EXPECT_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p));
    vw_assert_range_agrees(p, 2 * PG);
}
END_TEST

/* Section 6: PAGE_GUARD armed by VirtualProtect is reported in Protect (before any
 * access), only on the pages it was given to, and the kernel maps them PROT_NONE. */
START_TEST(test_guard_reported)
{
    static const DWORD base_prot[] = { PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE_READ,
                                       PAGE_EXECUTE_READWRITE };
    DWORD g = PAGE_GUARD | base_prot[_i];
    char *p = vw_alloc_commit(3 * PG, PAGE_READWRITE);
    EXPECT_PROTECT(p + PG, PG, g, PAGE_READWRITE);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
    EXPECT_REGION(p + PG, p + PG, PG, MEM_COMMIT, g, p);
    EXPECT_REGION(p + 2 * PG, p + 2 * PG, PG, MEM_COMMIT, PAGE_READWRITE, p);
    vw_assert_range_agrees(p, 3 * PG);
    /* Size 0 reports it too, and re-protecting reports it as the old value. */
    EXPECT_PROTECT(p + PG, 0, PAGE_READWRITE, g);
    EXPECT_PROTECT(p + PG, PG, PAGE_READWRITE, g);
    EXPECT_REGION(p, p, 3 * PG, MEM_COMMIT, PAGE_READWRITE, p);
    ck_assert(vw_can_write(p + PG));
}
END_TEST

/* Section 6: a guard page armed by VirtualProtect faults on a read (first access). */
START_TEST(test_guard_read_faults)
{
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    EXPECT_PROTECT(p, PG, PAGE_READWRITE | PAGE_GUARD, PAGE_READWRITE);
    ck_assert(!vw_can_read(p + 10));
    ck_assert(vw_can_write(p + PG));
}
END_TEST

/* Section 6: a guard page armed by VirtualProtect faults on a write (first access). */
START_TEST(test_guard_write_faults)
{
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    EXPECT_PROTECT(p + PG, PG, PAGE_READONLY | PAGE_GUARD, PAGE_READWRITE);
    ck_assert(!vw_can_write(p + PG + 10));
    ck_assert(vw_can_write(p));
}
END_TEST

/* Section 3: PAGE_TARGETS_INVALID / NO_UPDATE is accepted with executable protections
 * and ignored (Protect reports the protection without it). */
START_TEST(test_targets_invalid)
{
    static const DWORD xp[] = { PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE };
    char *p = vw_alloc_commit(3 * PG, PAGE_READWRITE);
    fill(p, 3 * PG, 10);
    for (int k = 0; k < 3; k++) {
        EXPECT_PROTECT(p + k * PG, PG, xp[k] | PAGE_TARGETS_INVALID, PAGE_READWRITE);
        EXPECT_REGION(p + k * PG, p + k * PG, PG, MEM_COMMIT, xp[k], p);
        ck_assert(vw_can_read(p + k * PG));
    }
    ck_assert(!vw_can_write(p));
    ck_assert(!vw_can_write(p + PG));
    ck_assert(vw_can_write(p + 2 * PG));
    ck_assert(same(p, 3 * PG, 10));
    vw_assert_range_agrees(p, 3 * PG);
}
END_TEST

/* ---- memory the library did not allocate -------------------------------- */

/* Section 6: VirtualProtect works on a malloc'd heap block's pages; old protection
 * comes from the kernel's view; contents kept. */
START_TEST(test_foreign_heap)
{
    void *v = NULL;
    ck_assert_int_eq(posix_memalign(&v, PG, 4 * PG), 0);
    char *h = v;
    fill(h, 4 * PG, 11);
    EXPECT_PROTECT(h + PG, PG, PAGE_READONLY, PAGE_READWRITE);
    ck_assert(!vw_can_write(h + PG));
    ck_assert(!vw_can_write(h + 2 * PG - 1));
    ck_assert(vw_can_read(h + PG));
    ck_assert(vw_can_write(h + PG - 1));
    ck_assert(vw_can_write(h + 2 * PG));
    MEMORY_BASIC_INFORMATION m = vw_query(h + PG);
    ck_assert_ptr_eq(m.BaseAddress, h + PG);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    ck_assert_uint_le((uintptr_t)m.BaseAddress + m.RegionSize, (uintptr_t)(h + 2 * PG));
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)(h + PG), &k));
    ck_assert_int_eq(strncmp(k.perms, "r--", 3), 0);
    ck_assert(same(h, 4 * PG, 11));
    EXPECT_PROTECT(h + PG, PG, PAGE_READWRITE, PAGE_READONLY);
    ck_assert(vw_can_write(h + PG));
    ck_assert(same(h, 4 * PG, 11));
    ck_assert(vw_kernel_mapping((uintptr_t)(h + PG), &k));
    ck_assert_int_eq(strncmp(k.perms, "rw-", 3), 0);
    free(h);
}
END_TEST

/* Section 6: VirtualProtect on an anonymous mmap of our own, with an unaligned range
 * (whole pages are changed); old from the kernel's view. */
START_TEST(test_foreign_mmap)
{
    char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    fill(m, 3 * PG, 12);
    EXPECT_PROTECT(m + PG + 10, 20, PAGE_READONLY, PAGE_READWRITE);
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)(m + PG), &k));
    ck_assert_uint_eq(k.start, (uintptr_t)(m + PG));
    ck_assert_uint_eq(k.end, (uintptr_t)(m + 2 * PG));
    ck_assert_int_eq(strncmp(k.perms, "r--", 3), 0);
    ck_assert(!vw_can_write(m + PG));
    ck_assert(vw_can_write(m + PG - 1));
    ck_assert(vw_can_write(m + 2 * PG));
    MEMORY_BASIC_INFORMATION q = vw_query(m + PG + 10);
    ck_assert_ptr_eq(q.BaseAddress, m + PG);
    ck_assert_uint_eq(q.RegionSize, PG);
    ck_assert_uint_eq(q.State, MEM_COMMIT);
    ck_assert_uint_eq(q.Protect, PAGE_READONLY);
    ck_assert_uint_eq(q.Type, MEM_PRIVATE);
    /* Read-only to executable, then back: old values from the kernel's view. */
    EXPECT_PROTECT(m + PG, PG, PAGE_EXECUTE_READ, PAGE_READONLY);
    ck_assert(vw_kernel_mapping((uintptr_t)(m + PG), &k));
    ck_assert_int_eq(strncmp(k.perms, "r-x", 3), 0);
    EXPECT_PROTECT(m, 3 * PG, PAGE_READWRITE, PAGE_READWRITE);
    EXPECT_PROTECT(m + PG, 1, PAGE_READWRITE, PAGE_READWRITE);
    ck_assert(vw_can_write(m + PG));
    ck_assert(same(m, 3 * PG, 12));
    vw_assert_range_agrees(m, 3 * PG);
    munmap(m, 3 * PG);
}
END_TEST

/* Section 6: VirtualProtect on a foreign read-only mapping reports PAGE_READONLY as old,
 * and a foreign mapping can be made inaccessible and back (old PAGE_NOACCESS). */
START_TEST(test_foreign_mmap_readonly_and_noaccess)
{
    char *m = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    EXPECT_PROTECT(m, PG, PAGE_READWRITE, PAGE_READONLY);
    ck_assert(vw_can_write(m));
    m[5] = 42;
    EXPECT_PROTECT(m, PG, PAGE_NOACCESS, PAGE_READWRITE);
    ck_assert(!vw_can_read(m));
    EXPECT_PROTECT(m, PG, PAGE_READWRITE, PAGE_NOACCESS);
    ck_assert(vw_can_write(m));
    ck_assert_int_eq(m[5], 42);
    ck_assert(!vw_can_write(m + PG));
    munmap(m, 2 * PG);
}
END_TEST

/* Section 6: VirtualProtect on the page of the current stack (RW to RW). */
START_TEST(test_foreign_stack)
{
    volatile char local[64];
    local[0] = 1;
    char *pg = (char *)((uintptr_t)local & ~(uintptr_t)(PG - 1));
    EXPECT_PROTECT((void *)local, sizeof local, PAGE_READWRITE, PAGE_READWRITE);
    ck_assert(vw_can_write(pg));
    local[1] = 2;
    ck_assert_int_eq(local[0] + local[1], 3);
}
END_TEST

/* Section 6: VirtualProtect on a libc code page (the page of getpid): r-x reports
 * PAGE_EXECUTE_READ as old; PAGE_EXECUTE_READWRITE makes it writable and it still
 * runs; back to PAGE_EXECUTE_READ reports the read-write-execute protection. */
START_TEST(test_foreign_libc_code)
{
    void *fn = dlsym(RTLD_DEFAULT, "getpid");
    ck_assert_ptr_nonnull(fn);
    char *pg = (char *)((uintptr_t)fn & ~(uintptr_t)(PG - 1));
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)pg, &k));
    ck_assert_msg(strncmp(k.perms, "r-x", 3) == 0, "getpid page is %s", k.perms);
    ck_assert_msg(strstr(k.path, "libc") != NULL, "getpid is in %s", k.path);
    pid_t want = (pid_t)syscall(SYS_getpid);

    EXPECT_PROTECT(pg, PG, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_READ);
    ck_assert(vw_kernel_mapping((uintptr_t)pg, &k));
    ck_assert_msg(strncmp(k.perms, "rwx", 3) == 0, "after EXECUTE_READWRITE: %s", k.perms);
    ck_assert(vw_can_write(pg));
    ck_assert_int_eq(getpid(), want);
    MEMORY_BASIC_INFORMATION m = vw_query(pg);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_msg(m.Protect == PAGE_EXECUTE_READWRITE || m.Protect == PAGE_EXECUTE_WRITECOPY,
                  "Protect %#x", (unsigned)m.Protect);

    DWORD old = SENTINEL;
    SetLastError(KEEP_ERR);
    ck_assert(VirtualProtect(pg, PG, PAGE_EXECUTE_READ, &old));
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    ck_assert_msg(old == PAGE_EXECUTE_READWRITE || old == PAGE_EXECUTE_WRITECOPY,
                  "old %#x after rwx", (unsigned)old);
    ck_assert(vw_kernel_mapping((uintptr_t)pg, &k));
    ck_assert_msg(strncmp(k.perms, "r-x", 3) == 0, "after EXECUTE_READ: %s", k.perms);
    ck_assert(!vw_can_write(pg));
    ck_assert_int_eq(getpid(), want);
    m = vw_query(pg);
    ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READ);
}
END_TEST

/* ---- VirtualProtectEx ---------------------------------------------------- */

/* Section 9: VirtualProtectEx with the pseudo handle behaves like VirtualProtect. */
START_TEST(test_protect_ex_pseudo_handle)
{
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    DWORD old = SENTINEL;
    SetLastError(KEEP_ERR);
    ck_assert(VirtualProtectEx(GetCurrentProcess(), p + 10, 1, PAGE_READONLY, &old));
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READONLY, p);
    ck_assert(!vw_can_write(p));
    ck_assert(vw_can_write(p + PG));
    /* failures as for the plain call */
    char *r = vw_alloc_reserve(PG, PAGE_READWRITE);
    old = SENTINEL;
    SetLastError(SENTINEL);
    ck_assert(!VirtualProtectEx(GetCurrentProcess(), r, PG, PAGE_READWRITE, &old));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    old = SENTINEL;
    ck_assert(VirtualProtectEx(GetCurrentProcess(), p, 0, PAGE_NOACCESS, &old));
    ck_assert_uint_eq(old, PAGE_READONLY);
    vw_assert_range_agrees(p, 2 * PG);
}
END_TEST

/* Section 9: VirtualProtectEx with a NULL or bogus handle: ERROR_INVALID_HANDLE,
 * nothing changes. */
START_TEST(test_protect_ex_bad_handle)
{
    HANDLE hs[] = { NULL, (HANDLE)(uintptr_t)0x1234, (HANDLE)(uintptr_t)0xDEADBEEF0ull };
    char *p = vw_alloc_commit(PG, PAGE_READWRITE);
    for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) {
        DWORD old = SENTINEL;
        SetLastError(SENTINEL);
        ck_assert(!VirtualProtectEx(hs[k], p, PG, PAGE_READONLY, &old));
        ck_assert_msg(GetLastError() == ERROR_INVALID_HANDLE, "handle %p: error %u", hs[k],
                      (unsigned)GetLastError());
        EXPECT_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p);
        ck_assert(vw_can_write(p));
    }
}
END_TEST

/* ---- suite ------------------------------------------------------------ */

static Suite *protect_suite(void)
{
    Suite *s = suite_create("VirtualProtect");

    TCase *tc = tcase_create("validation");
    tcase_add_test(tc, test_null_old_protect);
    tcase_add_test(tc, test_null_old_protect_ex);
    tcase_add_loop_test(tc, test_invalid_protection, 0, N_BAD_PROTS);
    tcase_add_loop_test(tc, test_invalid_modifier_combination, 0, N_BAD_COMBOS);
    tcase_add_loop_test(tc, test_valid_protection_accepted, 0, N_GOOD_PROTS);
    suite_add_tcase(s, tc);

    tc = tcase_create("rounding");
    tcase_add_test(tc, test_rounds_out_to_pages);
    tcase_add_test(tc, test_size_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("failures");
    tcase_add_test(tc, test_reserved_pages);
    tcase_add_test(tc, test_decommitted_pages);
    tcase_add_test(tc, test_partly_committed);
    tcase_add_test(tc, test_free_memory);
    tcase_add_test(tc, test_unmapped_memory);
    tcase_add_test(tc, test_range_past_allocation);
    tcase_add_test(tc, test_range_across_two_allocations);
    suite_add_tcase(s, tc);

    tc = tcase_create("success");
    tcase_add_test(tc, test_old_is_first_page);
    tcase_add_test(tc, test_split_and_merge);
    tcase_add_test(tc, test_split_at_edges);
    tcase_add_loop_test(tc, test_protection_effects, 0, N_EFFECTS * N_EFFECTS);
    tcase_add_test(tc, test_contents_kept_through_chain);
    tcase_add_test(tc, test_execute_runs_code);
    suite_add_tcase(s, tc);

    tc = tcase_create("modifiers");
    tcase_add_loop_test(tc, test_alloc_modifier_kept, 0, 2);
    tcase_add_loop_test(tc, test_protect_modifier_dropped, 0, 2);
    tcase_add_loop_test(tc, test_guard_reported, 0, 4);
    tcase_add_test(tc, test_guard_read_faults);
    tcase_add_test(tc, test_guard_write_faults);
    tcase_add_test(tc, test_targets_invalid);
    suite_add_tcase(s, tc);

    tc = tcase_create("foreign");
    tcase_add_test(tc, test_foreign_heap);
    tcase_add_test(tc, test_foreign_mmap);
    tcase_add_test(tc, test_foreign_mmap_readonly_and_noaccess);
    tcase_add_test(tc, test_foreign_stack);
    tcase_add_test(tc, test_foreign_libc_code);
    suite_add_tcase(s, tc);

    tc = tcase_create("ex");
    tcase_add_test(tc, test_protect_ex_pseudo_handle);
    tcase_add_test(tc, test_protect_ex_bad_handle);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(protect_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
