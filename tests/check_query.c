/*
 * check_query.c: VirtualQuery and VirtualQueryEx (spec section 7).
 *
 * Covers argument checks, region boundaries inside and between the library's
 * allocations, free memory, memory the library did not allocate (stack, heap,
 * images, file mappings, anonymous mmaps of our own) and whole-address-space walks
 * that must agree with /proc/self/maps.  Every test names the rule it checks.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG VW_PAGE
#define SENTINEL 0xDEADBEEFu
#define KEEP_ERR 1234u
#define MBI_SIZE sizeof(MEMORY_BASIC_INFORMATION)

/* ---- helpers ------------------------------------------------------------ */

/* Checks a free region: State MEM_FREE, Protect PAGE_NOACCESS, AllocationBase NULL,
 * AllocationProtect 0, Type 0; base as given; size exact if size_exact, else at least
 * min_size. */
#define EXPECT_FREE(addr, base, size, exact) expect_free(__LINE__, (addr), (base), (size), (exact))
static void expect_free(int line, const void *addr, const void *base, size_t size, int exact)
{
    MEMORY_BASIC_INFORMATION m = vw_query(addr);
    ck_assert_msg(m.State == MEM_FREE && m.Protect == PAGE_NOACCESS &&
                      m.AllocationBase == NULL && m.AllocationProtect == 0 && m.Type == 0,
                  "line %d: query %p: state %#x protect %#x abase %p aprot %#x type %#x; "
                  "expected a free region",
                  line, addr, (unsigned)m.State, (unsigned)m.Protect, m.AllocationBase,
                  (unsigned)m.AllocationProtect, (unsigned)m.Type);
    ck_assert_msg(m.BaseAddress == base, "line %d: BaseAddress %p, expected %p", line,
                  m.BaseAddress, base);
    if (exact)
        ck_assert_msg(m.RegionSize == size, "line %d: RegionSize %#zx, expected %#zx", line,
                      (size_t)m.RegionSize, size);
    else
        ck_assert_msg(m.RegionSize >= size, "line %d: RegionSize %#zx, expected >= %#zx", line,
                      (size_t)m.RegionSize, size);
}

/* For memory the library did not allocate: never free, State/Protect as given,
 * Type as given, BaseAddress page-rounded, AllocationBase set and not above the
 * page, and the region never runs past `limit`. */
#define EXPECT_FOREIGN(addr, state, prot, type, limit) \
    expect_foreign(__LINE__, (addr), (state), (prot), (type), (limit))
static MEMORY_BASIC_INFORMATION expect_foreign(int line, const void *addr, DWORD state,
                                               DWORD prot, DWORD type, uintptr_t limit)
{
    MEMORY_BASIC_INFORMATION m = vw_query(addr);
    uintptr_t page = (uintptr_t)addr & ~(uintptr_t)(PG - 1);
    ck_assert_msg(m.State != MEM_FREE, "line %d: foreign memory %p reported MEM_FREE", line,
                  addr);
    ck_assert_msg(m.State == state && m.Protect == prot && m.Type == type,
                  "line %d: query %p: state %#x protect %#x type %#x; expected state %#x "
                  "protect %#x type %#x",
                  line, addr, (unsigned)m.State, (unsigned)m.Protect, (unsigned)m.Type,
                  (unsigned)state, (unsigned)prot, (unsigned)type);
    ck_assert_msg((uintptr_t)m.BaseAddress == page, "line %d: BaseAddress %p for %p", line,
                  m.BaseAddress, addr);
    ck_assert_msg(m.RegionSize >= PG && (uintptr_t)m.BaseAddress + m.RegionSize <= limit,
                  "line %d: region %p+%#zx runs past the mapping end %#lx", line,
                  m.BaseAddress, (size_t)m.RegionSize, (unsigned long)limit);
    ck_assert_msg(m.AllocationBase != NULL && (uintptr_t)m.AllocationBase <= page,
                  "line %d: AllocationBase %p for page %#lx", line, m.AllocationBase,
                  (unsigned long)page);
    return m;
}

static uintptr_t kernel_end(const void *p);

/* ---- arguments ------------------------------------------------------------ */

/* Section 7: dwLength smaller than sizeof(MEMORY_BASIC_INFORMATION): 0, ERROR_BAD_LENGTH. */
START_TEST(test_length_too_small)
{
    static const SIZE_T lens[] = { 0, 1, 8, 40, MBI_SIZE - 1 };
    char *p = vw_alloc_commit(PG, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION buf[2];
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        SetLastError(SENTINEL);
        ck_assert_uint_eq(VirtualQuery(p, buf, lens[k]), 0);
        ck_assert_msg(GetLastError() == ERROR_BAD_LENGTH, "length %zu: error %u",
                      (size_t)lens[k], (unsigned)GetLastError());
        SetLastError(SENTINEL);
        ck_assert_uint_eq(VirtualQueryEx(GetCurrentProcess(), p,
                                         buf, lens[k]),
                          0);
        ck_assert_uint_eq(GetLastError(), ERROR_BAD_LENGTH);
    }
    /* Also for free memory and address 0. */
    SetLastError(SENTINEL);
    ck_assert_uint_eq(VirtualQuery(NULL, buf, 4), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_BAD_LENGTH);
}
END_TEST

/* Section 7: a larger dwLength is fine; the call returns 48 and fills the structure. */
START_TEST(test_length_larger)
{
    static const SIZE_T lens[] = { MBI_SIZE, MBI_SIZE + 1, 64, 4096 };
    char *p = vw_alloc_commit(2 * PG, PAGE_READONLY);
    static union {
        MEMORY_BASIC_INFORMATION m;
        unsigned char b[4096];
    } u;
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        memset(&u, 0xAB, sizeof u);
        SetLastError(KEEP_ERR);
        ck_assert_uint_eq(VirtualQuery(p + PG, &u.m, lens[k]), 48);
        ck_assert_uint_eq(GetLastError(), KEEP_ERR);
        ck_assert_ptr_eq(u.m.BaseAddress, p + PG);
        ck_assert_ptr_eq(u.m.AllocationBase, p);
        ck_assert_uint_eq(u.m.RegionSize, PG);
        ck_assert_uint_eq(u.m.State, MEM_COMMIT);
        ck_assert_uint_eq(u.m.Protect, PAGE_READONLY);
        ck_assert_uint_eq(u.m.Type, MEM_PRIVATE);
    }
}
END_TEST

/* Section 0/7: the return value is sizeof(MEMORY_BASIC_INFORMATION) == 48, for
 * committed, reserved, free and foreign memory. */
START_TEST(test_returns_48)
{
    MEMORY_BASIC_INFORMATION m;
    char *c = vw_alloc_commit(PG, PAGE_READWRITE);
    char *r = vw_alloc_reserve(PG, PAGE_READWRITE);
    int local = 0;
    const void *addrs[] = { c, r, r + PG, NULL, &local, (void *)(uintptr_t)VW_MAX_APP_ADDR };
    ck_assert_uint_eq(sizeof m, 48);
    for (size_t k = 0; k < sizeof addrs / sizeof addrs[0]; k++) {
        SetLastError(KEEP_ERR);
        ck_assert_uint_eq(VirtualQuery(addrs[k], &m, sizeof m), 48);
        ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    }
}
END_TEST

/* Section 7: an address above lpMaximumApplicationAddress: 0, ERROR_INVALID_PARAMETER. */
START_TEST(test_address_above_maximum)
{
    static const uintptr_t bad[] = { VW_MAX_APP_ADDR + 1, 0x7FFFFFFF0001ull, 0x7FFFFFFFF000ull,
                                     0x7FFFFFFFFFFFull, 0x800000000000ull,
                                     0xFFFF800000000000ull, UINTPTR_MAX };
    MEMORY_BASIC_INFORMATION m;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        SetLastError(SENTINEL);
        ck_assert_uint_eq(VirtualQuery((void *)bad[k], &m, sizeof m), 0);
        ck_assert_msg(GetLastError() == ERROR_INVALID_PARAMETER, "address %#lx: error %u",
                      (unsigned long)bad[k], (unsigned)GetLastError());
        SetLastError(SENTINEL);
        ck_assert_uint_eq(VirtualQueryEx(GetCurrentProcess(), (void *)bad[k], &m, sizeof m), 0);
        ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    }
}
END_TEST

/* Section 7: queries at 0 and below 0x10000 succeed and report free memory (nothing
 * is mapped there on this host). */
START_TEST(test_address_zero_and_low)
{
    struct vw_kmap k;
    int low_mapped = 0;
    for (uintptr_t a = 0; a < 0x10000; a += PG)
        low_mapped |= vw_kernel_mapping(a, &k);
    MEMORY_BASIC_INFORMATION m = vw_query(NULL);
    ck_assert_ptr_null(m.BaseAddress);
    m = vw_query((void *)0x5000);
    ck_assert_uint_eq((uintptr_t)m.BaseAddress, 0x5000);
    m = vw_query((void *)0xFFFF);
    ck_assert_uint_eq((uintptr_t)m.BaseAddress, 0x10000 - PG);
    if (low_mapped)
        return;
    EXPECT_FREE(NULL, NULL, 0x10000, 0);
    EXPECT_FREE((void *)0x1234, (void *)0x1000, 0x10000 - 0x1000, 0);
    EXPECT_FREE((void *)0xFFFF, (void *)(0x10000 - PG), PG, 0);
}
END_TEST

/* Section 7: a query exactly at the maximum application address succeeds, with
 * BaseAddress rounded down to the page. */
START_TEST(test_address_at_maximum)
{
    MEMORY_BASIC_INFORMATION m = vw_query((void *)(uintptr_t)VW_MAX_APP_ADDR);
    ck_assert_uint_eq((uintptr_t)m.BaseAddress, VW_MAX_APP_ADDR & ~(uintptr_t)(PG - 1));
    ck_assert_uint_gt((uintptr_t)m.BaseAddress + m.RegionSize, VW_MAX_APP_ADDR);
    struct vw_kmap k;
    if (!vw_kernel_mapping(VW_MAX_APP_ADDR, &k)) {
        ck_assert_uint_eq(m.State, MEM_FREE);
        ck_assert_uint_eq(m.Protect, PAGE_NOACCESS);
        ck_assert_ptr_null(m.AllocationBase);
    }
    m = vw_query((void *)(uintptr_t)(VW_MAX_APP_ADDR - 0x10000));
    ck_assert_uint_eq((uintptr_t)m.BaseAddress, (VW_MAX_APP_ADDR - 0x10000) & ~(uintptr_t)(PG - 1));
}
END_TEST

/* Section 2/7: a successful query leaves the caller's last error alone; a failed one
 * sets it. */
START_TEST(test_last_error)
{
    MEMORY_BASIC_INFORMATION m;
    char *p = vw_alloc_commit(PG, PAGE_READWRITE);
    SetLastError(KEEP_ERR);
    ck_assert_uint_eq(VirtualQuery(p, &m, sizeof m), 48);
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    SetLastError(KEEP_ERR);
    ck_assert_uint_eq(VirtualQuery(p, &m, 10), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_BAD_LENGTH);
}
END_TEST

/* ---- the library's allocations --------------------------------------------- */

/* Section 7: BaseAddress is the queried address rounded down to the page; RegionSize
 * runs from there to the end of the run. */
START_TEST(test_base_address_rounded)
{
    char *p = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + PG + 0x123, p + PG, 3 * PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 4 * PG - 1, p + 3 * PG, PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 1, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
}
END_TEST

/* Section 7: runs of equal State and Protect inside one allocation: reserved (Protect 0),
 * committed RW, committed RO, committed NOACCESS (differs from reserved although both are
 * inaccessible), and the AllocationProtect of the reservation everywhere. */
START_TEST(test_runs_inside_allocation)
{
    char *p = vw_alloc_reserve(10 * PG, PAGE_READWRITE);
    vw_commit_at(p + 2 * PG, 2 * PG, PAGE_READWRITE);
    vw_commit_at(p + 4 * PG, 2 * PG, PAGE_READONLY);
    vw_commit_at(p + 7 * PG, PG, PAGE_NOACCESS);
    VW_EXPECT_ALLOC_REGION(p, p, 2 * PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + PG, p + PG, PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 2 * PG + 5, p + 2 * PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 3 * PG, p + 3 * PG, PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 4 * PG, p + 4 * PG, 2 * PG, MEM_COMMIT, PAGE_READONLY, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 6 * PG, p + 6 * PG, PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 7 * PG, p + 7 * PG, PG, MEM_COMMIT, PAGE_NOACCESS, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 8 * PG, p + 8 * PG, 2 * PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    /* The rest of the 64 KiB block belongs to no one. */
    if (10 * PG < VW_64K)
        EXPECT_FREE(p + 10 * PG, p + 10 * PG, VW_64K - 10 * PG, 0);
    ck_assert(!vw_can_read(p));
    ck_assert(vw_can_write(p + 2 * PG));
    ck_assert(!vw_can_write(p + 4 * PG));
    ck_assert(!vw_can_read(p + 7 * PG));
    vw_assert_range_agrees(p, VW_64K);
}
END_TEST

/* Section 7: pages committed by separate calls with the same protection form one run;
 * a region ends exactly at the allocation's end. */
START_TEST(test_runs_merge_across_commits)
{
    char *p = vw_alloc_reserve(16 * PG, PAGE_EXECUTE_READWRITE);
    vw_commit_at(p, 4 * PG, PAGE_READWRITE);
    vw_commit_at(p + 4 * PG, 12 * PG, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p, p, 16 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_EXECUTE_READWRITE);
    vw_commit_at(p + 8 * PG, 8 * PG, PAGE_READONLY);
    VW_EXPECT_ALLOC_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_EXECUTE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 8 * PG, p + 8 * PG, 8 * PG, MEM_COMMIT, PAGE_READONLY, p,
                           PAGE_EXECUTE_READWRITE);
    vw_assert_range_agrees(p, 16 * PG);
}
END_TEST

/* Section 7: reserved pages report State MEM_RESERVE and Protect 0 (not the reservation's
 * protection), before any commit and after a decommit. */
START_TEST(test_reserved_protect_zero)
{
    static const DWORD prots[] = { PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
                                   PAGE_EXECUTE_READWRITE };
    for (size_t k = 0; k < 4; k++) {
        char *p = vw_alloc_reserve(3 * PG, prots[k]);
        VW_EXPECT_ALLOC_REGION(p, p, 3 * PG, MEM_RESERVE, 0, p, prots[k]);
        ck_assert(!vw_can_read(p));
    }
    char *c = vw_alloc_commit(3 * PG, PAGE_READWRITE);
    ck_assert(VirtualFree(c + PG, PG, MEM_DECOMMIT));
    VW_EXPECT_ALLOC_REGION(c, c, PG, MEM_COMMIT, PAGE_READWRITE, c, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(c + PG, c + PG, PG, MEM_RESERVE, 0, c, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(c + 2 * PG, c + 2 * PG, PG, MEM_COMMIT, PAGE_READWRITE, c,
                           PAGE_READWRITE);
    ck_assert(!vw_can_read(c + PG));
    vw_assert_range_agrees(c, 3 * PG);
}
END_TEST

/* Section 7 (with 4): committed pages report their protection, AllocationProtect is the
 * allocation-time protection with its modifiers. */
static const DWORD commit_prots[] = {
    PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_EXECUTE, PAGE_EXECUTE_READ,
    PAGE_EXECUTE_READWRITE, PAGE_READWRITE | PAGE_NOCACHE, PAGE_READONLY | PAGE_WRITECOMBINE,
    PAGE_READWRITE | PAGE_GUARD,
};
START_TEST(test_committed_fields)
{
    DWORD prot = commit_prots[_i];
    char *p = vw_alloc_commit(2 * PG, prot);
    VW_EXPECT_ALLOC_REGION(p + PG, p + PG, PG, MEM_COMMIT, prot, p, prot);
    VW_EXPECT_ALLOC_REGION(p, p, 2 * PG, MEM_COMMIT, prot, p, prot);
    ck_assert_uint_eq(vw_query(p).PartitionId, 0);
    vw_assert_range_agrees(p, 2 * PG);
}
END_TEST

/* Section 7: two adjacent allocations are never merged, however alike (both fully
 * committed read-write: one kernel VMA; both reserved; three in a row). */
START_TEST(test_adjacent_allocations_not_merged)
{
    char *f = vw_free_space(3 * VW_64K);
    char *a = VirtualAlloc(f, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *b = VirtualAlloc(f + VW_64K, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *c = VirtualAlloc(f + 2 * VW_64K, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, f);
    ck_assert_ptr_eq(b, f + VW_64K);
    ck_assert_ptr_eq(c, f + 2 * VW_64K);
    VW_EXPECT_ALLOC_REGION(a, a, VW_64K, MEM_COMMIT, PAGE_READWRITE, a, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(a + PG, a + PG, VW_64K - PG, MEM_COMMIT, PAGE_READWRITE, a,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(b, b, VW_64K, MEM_COMMIT, PAGE_READWRITE, b, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(c, c, VW_64K, MEM_COMMIT, PAGE_READWRITE, c, PAGE_READWRITE);
    vw_assert_range_agrees(a, 3 * VW_64K);

    char *g = vw_free_space(2 * VW_64K);
    char *d = VirtualAlloc(g, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    char *e = VirtualAlloc(g + VW_64K, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(d, g);
    ck_assert_ptr_eq(e, g + VW_64K);
    VW_EXPECT_ALLOC_REGION(d, d, VW_64K, MEM_RESERVE, 0, d, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(e, e, VW_64K, MEM_RESERVE, 0, e, PAGE_READWRITE);
    vw_assert_range_agrees(d, 2 * VW_64K);
}
END_TEST

/* Section 7: free memory: State MEM_FREE, Protect PAGE_NOACCESS, AllocationBase NULL,
 * AllocationProtect 0, Type 0, RegionSize up to the next allocation. */
START_TEST(test_free_memory_fields)
{
    char *f = vw_free_space(3 * VW_64K);
    char *n = VirtualAlloc(f + 2 * VW_64K, PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(n, f + 2 * VW_64K);
    EXPECT_FREE(f, f, 2 * VW_64K, 1);
    EXPECT_FREE(f + 0x1234, f + 0x1000, 2 * VW_64K - 0x1000, 1);
    EXPECT_FREE(n - 1, n - PG, PG, 1);
    VW_EXPECT_ALLOC_REGION(n, n, PG, MEM_RESERVE, 0, n, PAGE_READWRITE);
    ck_assert(!vw_can_read(f));
}
END_TEST

/* Section 7: a free region's RegionSize runs up to the next mapping (here an anonymous
 * mmap of our own following a hole we unmapped). */
START_TEST(test_free_up_to_mapping)
{
    char *m = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    ck_assert_int_eq(munmap(m, 2 * PG), 0);
    EXPECT_FREE(m, m, 2 * PG, 1);
    EXPECT_FREE(m + PG + 3, m + PG, PG, 1);
    EXPECT_FOREIGN(m + 2 * PG, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE, kernel_end(m + 2 * PG));
    munmap(m + 2 * PG, PG);
}
END_TEST

/* Sections 4 and 7: the unowned rest of a NULL-address allocation's 64 KiB block is free;
 * its size runs up to the next allocation. */
START_TEST(test_free_tail_of_block)
{
    char *p = vw_alloc_commit(3 * PG, PAGE_READWRITE);
    ck_assert_uint_eq((uintptr_t)p % VW_64K, 0);
    VW_EXPECT_ALLOC_REGION(p, p, 3 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    EXPECT_FREE(p + 3 * PG, p + 3 * PG, VW_64K - 3 * PG, 0);
    EXPECT_FREE(p + VW_64K - 1, p + VW_64K - PG, PG, 0);

    char *f = vw_free_space(2 * VW_64K);
    char *a = VirtualAlloc(f, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *b = VirtualAlloc(f + VW_64K, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, f);
    ck_assert_ptr_eq(b, f + VW_64K);
    EXPECT_FREE(a + PG, a + PG, VW_64K - PG, 1);
    vw_assert_range_agrees(a, 2 * VW_64K);
}
END_TEST

/* Sections 5 and 7: released memory reports MEM_FREE with the free-memory fields. */
START_TEST(test_released_is_free)
{
    char *p = vw_alloc_commit(VW_64K, PAGE_READWRITE);
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
    EXPECT_FREE(p, p, VW_64K, 0);
    EXPECT_FREE(p + 5 * PG, p + 5 * PG, VW_64K - 5 * PG, 0);
    vw_assert_range_agrees(p, VW_64K);
}
END_TEST

/* Sections 7 and 9: VirtualQueryEx with the pseudo handle gives the same answers as
 * VirtualQuery; a NULL or bogus handle gives 0 and ERROR_INVALID_HANDLE. */
START_TEST(test_query_ex)
{
    char *p = vw_alloc_reserve(4 * PG, PAGE_READWRITE);
    vw_commit_at(p + PG, PG, PAGE_READONLY);
    int local;
    const void *addrs[] = { p, p + PG, p + 2 * PG + 7, p + 4 * PG, &local, NULL };
    for (size_t k = 0; k < sizeof addrs / sizeof addrs[0]; k++) {
        MEMORY_BASIC_INFORMATION a = vw_query(addrs[k]), b;
        memset(&b, 0xCD, sizeof b);
        SetLastError(KEEP_ERR);
        ck_assert_uint_eq(VirtualQueryEx(GetCurrentProcess(), addrs[k], &b, sizeof b), 48);
        ck_assert_uint_eq(GetLastError(), KEEP_ERR);
        ck_assert_ptr_eq(a.BaseAddress, b.BaseAddress);
        ck_assert_ptr_eq(a.AllocationBase, b.AllocationBase);
        ck_assert_uint_eq(a.AllocationProtect, b.AllocationProtect);
        ck_assert_uint_eq(a.RegionSize, b.RegionSize);
        ck_assert_uint_eq(a.State, b.State);
        ck_assert_uint_eq(a.Protect, b.Protect);
        ck_assert_uint_eq(a.Type, b.Type);
    }
    HANDLE bad[] = { NULL, (HANDLE)(uintptr_t)0x1234, (HANDLE)(uintptr_t)0xDEADBEEF0ull };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        MEMORY_BASIC_INFORMATION m;
        SetLastError(SENTINEL);
        ck_assert_uint_eq(VirtualQueryEx(bad[k], p, &m, sizeof m), 0);
        ck_assert_msg(GetLastError() == ERROR_INVALID_HANDLE, "handle %p: error %u", bad[k],
                      (unsigned)GetLastError());
    }
}
END_TEST

/* ---- memory the library did not allocate ------------------------------------ */

static char file_path[64];

/* Unchecked fixture (runs in the parent): a data file of 4 pages for file mappings. */
static void file_setup(void)
{
    snprintf(file_path, sizeof file_path, "/tmp/vw_check_query.XXXXXX");
    int fd = mkstemp(file_path);
    ck_assert_int_ge(fd, 0);
    static char buf[65536];
    memset(buf, 'x', sizeof buf);
    size_t want = 4 * PG;
    while (want) {
        size_t n = want < sizeof buf ? want : sizeof buf;
        ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
        want -= n;
    }
    close(fd);
}

static void file_teardown(void)
{
    if (file_path[0])
        unlink(file_path);
}

static uintptr_t kernel_end(const void *p)
{
    struct vw_kmap k;
    ck_assert_msg(vw_kernel_mapping((uintptr_t)p, &k), "%p is not mapped", p);
    return k.end;
}

/* Section 7: the current (main) thread's stack: committed read-write private memory,
 * never free, within its mapping; AllocationBase at or below the lowest address of the
 * stack mapping (the stack's reservation). */
START_TEST(test_foreign_main_stack)
{
    volatile char local[16];
    local[0] = 1;
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)local, &k));
    MEMORY_BASIC_INFORMATION m =
        EXPECT_FOREIGN((const void *)local, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, k.end);
    ck_assert_msg((uintptr_t)m.AllocationBase <= k.start,
                  "stack AllocationBase %p above the stack mapping's start %#lx",
                  m.AllocationBase, (unsigned long)k.start);
    ck_assert_uint_ge((uintptr_t)m.AllocationBase, 0x10000);
    ck_assert_uint_eq((uintptr_t)m.AllocationBase % PG, 0);
}
END_TEST

struct thread_stack_info {
    uintptr_t stack_lo, stack_hi, guard;
    MEMORY_BASIC_INFORMATION local, low;
    SIZE_T r1, r2;
};

static void *stack_thread(void *arg)
{
    struct thread_stack_info *t = arg;
    volatile char local[16];
    local[0] = 1;
    pthread_attr_t at;
    void *addr;
    size_t size, guard;
    pthread_getattr_np(pthread_self(), &at);
    pthread_attr_getstack(&at, &addr, &size);
    pthread_attr_getguardsize(&at, &guard);
    pthread_attr_destroy(&at);
    t->stack_lo = (uintptr_t)addr;
    t->stack_hi = (uintptr_t)addr + size;
    t->guard = guard;
    t->r1 = VirtualQuery((const void *)local, &t->local, sizeof t->local);
    t->r2 = VirtualQuery(addr, &t->low, sizeof t->low);
    return NULL;
}

/* Section 7: a pthread's stack reports AllocationBase at the lowest address of that
 * stack's reservation (between its guard page's start and the usable stack's start),
 * committed read-write, never free. */
START_TEST(test_foreign_thread_stack)
{
    struct thread_stack_info t;
    memset(&t, 0, sizeof t);
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    ck_assert_int_eq(pthread_create(&th, &at, stack_thread, &t), 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&at);
    ck_assert_uint_eq(t.r1, 48);
    ck_assert_uint_eq(t.r2, 48);
    ck_assert_uint_eq(t.local.State, MEM_COMMIT);
    ck_assert_uint_eq(t.local.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(t.local.Type, MEM_PRIVATE);
    ck_assert_msg((uintptr_t)t.local.AllocationBase <= t.stack_lo &&
                      (uintptr_t)t.local.AllocationBase >= t.stack_lo - t.guard,
                  "thread stack [%#lx, %#lx) guard %#lx: AllocationBase %p",
                  (unsigned long)t.stack_lo, (unsigned long)t.stack_hi, (unsigned long)t.guard,
                  t.local.AllocationBase);
    /* The lowest usable page of the stack: committed too, same reservation. */
    ck_assert_uint_eq(t.low.State, MEM_COMMIT);
    ck_assert_ptr_eq(t.low.AllocationBase, t.local.AllocationBase);
}
END_TEST

/* Section 7: malloc'd memory (the brk heap, and a large block malloc maps by itself):
 * committed read-write private memory within its mapping, never free. */
START_TEST(test_foreign_heap)
{
    char *small = malloc(64);
    char *big = malloc(4 << 20);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(big);
    small[0] = 1;
    big[0] = 1;
    big[(4 << 20) - 1] = 1;
    EXPECT_FOREIGN(small, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, kernel_end(small));
    EXPECT_FOREIGN(big, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, kernel_end(big));
    EXPECT_FOREIGN(big + (2 << 20), MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE,
                   kernel_end(big + (2 << 20)));
    free(big);
    free(small);
}
END_TEST

static int a_global_in_data = 5;

/* Section 7: code and data of shared objects and the executable: MEM_IMAGE, committed with
 * the kernel's protection, AllocationBase at the object's load base, region within the
 * mapping. */
START_TEST(test_foreign_images)
{
    void *getpid_fn = dlsym(RTLD_DEFAULT, "getpid");
    ck_assert_ptr_nonnull(getpid_fn);
    Dl_info info;
    ck_assert(dladdr(getpid_fn, &info));
    MEMORY_BASIC_INFORMATION m = EXPECT_FOREIGN(getpid_fn, MEM_COMMIT, PAGE_EXECUTE_READ,
                                                MEM_IMAGE, kernel_end(getpid_fn));
    ck_assert_msg(m.AllocationBase == info.dli_fbase, "libc AllocationBase %p, load base %p",
                  m.AllocationBase, info.dli_fbase);
    /* The first page of libc (its ELF header, read-only). */
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)info.dli_fbase, &k));
    m = vw_query(info.dli_fbase);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_ptr_eq(m.AllocationBase, info.dli_fbase);
    ck_assert_ptr_eq(m.BaseAddress, info.dli_fbase);
    ck_assert_uint_le((uintptr_t)m.BaseAddress + m.RegionSize, k.end);
    ck_assert_int_eq(strncmp(vw_expected_perms(m.State, m.Protect), k.perms, 3), 0);

    /* The test program's own code, read-only data and initialised data. */
    void *code;
    void *fnp = (void *)test_foreign_images_fn;
    memcpy(&code, &fnp, sizeof code);
    ck_assert(dladdr(code, &info));
    m = EXPECT_FOREIGN(code, MEM_COMMIT, PAGE_EXECUTE_READ, MEM_IMAGE, kernel_end(code));
    ck_assert_ptr_eq(m.AllocationBase, info.dli_fbase);
    static const char rodata[] = "read-only data of the test program";
    ck_assert(vw_kernel_mapping((uintptr_t)rodata, &k));
    if (strncmp(k.perms, "r--", 3) == 0) {
        m = EXPECT_FOREIGN(rodata, MEM_COMMIT, PAGE_READONLY, MEM_IMAGE, k.end);
        ck_assert_ptr_eq(m.AllocationBase, info.dli_fbase);
    }
    a_global_in_data++;
    ck_assert(vw_kernel_mapping((uintptr_t)&a_global_in_data, &k));
    if (k.inode != 0) {
        m = vw_query(&a_global_in_data);
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_uint_eq(m.Type, MEM_IMAGE);
        ck_assert_msg(m.Protect == PAGE_READWRITE || m.Protect == PAGE_WRITECOPY,
                      "data Protect %#x", (unsigned)m.Protect);
        ck_assert_ptr_eq(m.AllocationBase, info.dli_fbase);
        ck_assert_uint_le((uintptr_t)m.BaseAddress + m.RegionSize, k.end);
    }
}
END_TEST

/* Section 7: every loaded ELF object (the executable, libc, libcheck, this library, the
 * loader): the first and last file-backed page of each PT_LOAD segment is MEM_IMAGE,
 * committed with the kernel's protection, AllocationBase at the object's load base
 * (the code, read-only, RELRO and read-write data segments alike). */
struct seg {
    uintptr_t base;  /* the object's load base */
    uintptr_t first; /* first page of the segment */
    uintptr_t last;  /* page holding the segment's last file byte */
    char name[96];
};
#define MAX_SEGS 256
static struct seg segs[MAX_SEGS];
static int nsegs;

static int collect_segments(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    uintptr_t pg = vw_page_size();
    uintptr_t lo = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_phdr[i].p_vaddr < lo)
            lo = info->dlpi_phdr[i].p_vaddr;
    if (lo == UINTPTR_MAX)
        return 0;
    uintptr_t base = (info->dlpi_addr + lo) & ~(pg - 1);
    for (int i = 0; i < info->dlpi_phnum && nsegs < MAX_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || ph->p_filesz == 0)
            continue;
        struct seg *sg = &segs[nsegs++];
        sg->base = base;
        sg->first = (info->dlpi_addr + ph->p_vaddr) & ~(pg - 1);
        sg->last = (info->dlpi_addr + ph->p_vaddr + ph->p_filesz - 1) & ~(pg - 1);
        snprintf(sg->name, sizeof sg->name, "%s", info->dlpi_name[0] ? info->dlpi_name : "(main)");
    }
    return 0;
}

static int protect_matches(DWORD state, DWORD protect, const char *perms);

START_TEST(test_foreign_image_segments)
{
    nsegs = 0;
    dl_iterate_phdr(collect_segments, NULL);
    ck_assert_int_gt(nsegs, 4);
    for (int i = 0; i < nsegs; i++) {
        for (int w = 0; w < 2; w++) {
            uintptr_t a = w ? segs[i].last : segs[i].first;
            struct vw_kmap k;
            ck_assert(vw_kernel_mapping(a, &k));
            if (k.inode == 0)
                continue; /* the vDSO, or a page the loader replaced */
            MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
            ck_assert_msg(m.Type == MEM_IMAGE && m.AllocationBase == (void *)segs[i].base,
                          "%s page %#lx (%s): Type %#x AllocationBase %p; expected MEM_IMAGE, "
                          "load base %#lx",
                          segs[i].name, (unsigned long)a, k.perms, (unsigned)m.Type,
                          m.AllocationBase, (unsigned long)segs[i].base);
            ck_assert_msg(protect_matches(m.State, m.Protect, k.perms),
                          "%s page %#lx (%s): State %#x Protect %#x", segs[i].name,
                          (unsigned long)a, k.perms, (unsigned)m.State, (unsigned)m.Protect);
            ck_assert_uint_le((uintptr_t)m.BaseAddress + m.RegionSize, k.end);
        }
    }
}
END_TEST

/* Section 7: file mappings that are not images: MEM_MAPPED, committed with their
 * protection, the region never extends past the mapping (not even into an adjacent
 * anonymous mapping with the same protection); PROT_NONE neighbours are MEM_RESERVE
 * with Protect 0. */
START_TEST(test_foreign_file_mapping)
{
    int fd = open(file_path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    char *frame = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(frame != MAP_FAILED);
    char *f = mmap(frame + PG, 3 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    ck_assert(f == frame + PG);
    char *a = mmap(frame + 4 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS,
                   -1, 0);
    ck_assert(a == frame + 4 * PG);
    char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(s != MAP_FAILED);
    close(fd);

    MEMORY_BASIC_INFORMATION m =
        EXPECT_FOREIGN(f + PG + 5, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED, (uintptr_t)(f + 3 * PG));
    ck_assert_ptr_eq((char *)m.BaseAddress + m.RegionSize, f + 3 * PG);
    m = EXPECT_FOREIGN(f, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED, (uintptr_t)(f + 3 * PG));
    ck_assert_uint_eq(m.RegionSize, 3 * PG);
    ck_assert(vw_can_read(f));
    ck_assert_int_eq(f[10], 'x');

    m = EXPECT_FOREIGN(a, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE, (uintptr_t)(a + 2 * PG));
    ck_assert_uint_eq(m.RegionSize, 2 * PG);
    m = EXPECT_FOREIGN(frame, MEM_RESERVE, 0, MEM_PRIVATE, (uintptr_t)(frame + PG));
    m = EXPECT_FOREIGN(frame + 6 * PG, MEM_RESERVE, 0, MEM_PRIVATE, kernel_end(frame + 6 * PG));
    ck_assert(!vw_can_read(frame));
    ck_assert(!vw_can_read(frame + 6 * PG));

    m = EXPECT_FOREIGN(s, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED, (uintptr_t)(s + 2 * PG));
    ck_assert(vw_can_write(s + PG));
    vw_assert_range_agrees(frame, 8 * PG);
    vw_assert_range_agrees(s, 2 * PG);
    munmap(s, 2 * PG);
    munmap(frame, 8 * PG);
}
END_TEST

/* Section 7: an anonymous read-write mmap of our own: MEM_COMMIT, PAGE_READWRITE,
 * MEM_PRIVATE, never free, exactly its extent (PROT_NONE pages around it are
 * MEM_RESERVE with Protect 0). */
START_TEST(test_foreign_anon_rw)
{
    char *m0 = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m0 != MAP_FAILED);
    EXPECT_FOREIGN(m0 + PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, kernel_end(m0));

    char *m = mmap(NULL, 6 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    ck_assert_int_eq(mprotect(m + PG, 4 * PG, PROT_READ | PROT_WRITE), 0);
    MEMORY_BASIC_INFORMATION q =
        EXPECT_FOREIGN(m + PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE, (uintptr_t)(m + 5 * PG));
    ck_assert_uint_eq(q.RegionSize, 4 * PG);
    q = EXPECT_FOREIGN(m + 3 * PG + 9, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE,
                       (uintptr_t)(m + 5 * PG));
    ck_assert_uint_eq(q.RegionSize, 2 * PG);
    q = EXPECT_FOREIGN(m, MEM_RESERVE, 0, MEM_PRIVATE, (uintptr_t)(m + PG));
    ck_assert_uint_eq(q.RegionSize, PG);
    EXPECT_FOREIGN(m + 5 * PG, MEM_RESERVE, 0, MEM_PRIVATE, kernel_end(m + 5 * PG));
    ck_assert(vw_can_write(m + PG));
    ck_assert(!vw_can_read(m));
    vw_assert_range_agrees(m, 6 * PG);
    munmap(m, 6 * PG);
    munmap(m0, 4 * PG);
}
END_TEST

/* Section 7: an anonymous PROT_NONE mmap of our own: MEM_RESERVE, Protect 0, MEM_PRIVATE,
 * never MEM_FREE, not past its extent; also a whole PROT_NONE mapping on its own. */
START_TEST(test_foreign_anon_none)
{
    char *m = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    ck_assert_int_eq(mprotect(m + PG, 3 * PG, PROT_NONE), 0);
    MEMORY_BASIC_INFORMATION q =
        EXPECT_FOREIGN(m + PG, MEM_RESERVE, 0, MEM_PRIVATE, (uintptr_t)(m + 4 * PG));
    ck_assert_uint_eq(q.RegionSize, 3 * PG);
    q = EXPECT_FOREIGN(m + 2 * PG, MEM_RESERVE, 0, MEM_PRIVATE, (uintptr_t)(m + 4 * PG));
    ck_assert_uint_eq(q.RegionSize, 2 * PG);
    q = EXPECT_FOREIGN(m + 4 * PG, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE,
                       kernel_end(m + 4 * PG));
    ck_assert(!vw_can_read(m + PG));
    vw_assert_range_agrees(m, 5 * PG);

    char *n = mmap(NULL, 3 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(n != MAP_FAILED);
    EXPECT_FOREIGN(n, MEM_RESERVE, 0, MEM_PRIVATE, kernel_end(n));
    EXPECT_FOREIGN(n + 2 * PG, MEM_RESERVE, 0, MEM_PRIVATE, kernel_end(n + 2 * PG));
    munmap(n, 3 * PG);
    munmap(m, 5 * PG);
}
END_TEST

/* ---- whole-address-space walks --------------------------------------------- */

struct kline {
    uintptr_t start, end;
    char perms[5];
    unsigned long long inode;
    char name[64];
};
#define MAX_KLINES 8192
static struct kline klines[MAX_KLINES];

static int read_maps(void)
{
    FILE *fp = fopen("/proc/self/maps", "re");
    ck_assert_ptr_nonnull(fp);
    char line[512];
    int n = 0;
    while (n < MAX_KLINES && fgets(line, sizeof line, fp)) {
        unsigned long s, e, off;
        char perms[8] = "", dev[16] = "";
        unsigned long long ino = 0;
        int pos = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %15s %llu %n", &s, &e, perms, &off, dev, &ino, &pos) <
            6)
            continue;
        klines[n].start = s;
        klines[n].end = e;
        memcpy(klines[n].perms, perms, 4);
        klines[n].perms[4] = 0;
        klines[n].inode = ino;
        klines[n].name[0] = 0;
        if (pos > 0)
            snprintf(klines[n].name, sizeof klines[n].name, "%s", line + pos);
        n++;
    }
    fclose(fp);
    return n;
}

static int protect_matches(DWORD state, DWORD protect, const char *perms)
{
    protect &= ~(DWORD)(PAGE_NOCACHE | PAGE_WRITECOMBINE);
    if (strncmp(perms, "---", 3) == 0)
        return state == MEM_RESERVE && protect == 0;
    if (state != MEM_COMMIT)
        return 0;
    if (strncmp(perms, "r--", 3) == 0)
        return protect == PAGE_READONLY;
    if (strncmp(perms, "rw-", 3) == 0)
        return protect == PAGE_READWRITE || protect == PAGE_WRITECOPY;
    if (strncmp(perms, "r-x", 3) == 0)
        return protect == PAGE_EXECUTE_READ || protect == PAGE_EXECUTE;
    if (strncmp(perms, "rwx", 3) == 0)
        return protect == PAGE_EXECUTE_READWRITE || protect == PAGE_EXECUTE_WRITECOPY;
    return 1;
}

/* Section 7: every mapping of the kernel that is not an anonymous PROT_NONE range (which
 * may be the library's placement arena) is never reported free; it is committed with the
 * kernel's protection (or MEM_RESERVE/0 if PROT_NONE); file-backed mappings are MEM_IMAGE
 * or MEM_MAPPED and their regions never run past the mapping. */
static void check_kernel_mappings_not_free(void)
{
    int n = read_maps();
    for (int i = 0; i < n; i++) {
        struct kline *k = &klines[i];
        if (k->start > VW_MAX_APP_ADDR)
            continue;
        int anon_none = k->inode == 0 && strncmp(k->perms, "---", 3) == 0;
        if (anon_none)
            continue;
        for (int which = 0; which < 2; which++) {
            uintptr_t a = which ? k->end - PG : k->start;
            MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
            ck_assert_msg(m.State != MEM_FREE, "mapping %#lx-%#lx %s %s reported MEM_FREE at %#lx",
                          (unsigned long)k->start, (unsigned long)k->end, k->perms, k->name,
                          (unsigned long)a);
            ck_assert_msg(protect_matches(m.State, m.Protect, k->perms),
                          "mapping %#lx-%#lx %s %s: state %#x protect %#x at %#lx",
                          (unsigned long)k->start, (unsigned long)k->end, k->perms, k->name,
                          (unsigned)m.State, (unsigned)m.Protect, (unsigned long)a);
            ck_assert_msg(m.AllocationBase != NULL && (uintptr_t)m.AllocationBase <= a,
                          "mapping %#lx-%#lx %s: AllocationBase %p", (unsigned long)k->start,
                          (unsigned long)k->end, k->name, m.AllocationBase);
            if (k->inode != 0) {
                ck_assert_msg(m.Type == MEM_IMAGE || m.Type == MEM_MAPPED,
                              "file mapping %#lx-%#lx %s: Type %#x", (unsigned long)k->start,
                              (unsigned long)k->end, k->name, (unsigned)m.Type);
                ck_assert_msg((uintptr_t)m.BaseAddress + m.RegionSize <= k->end,
                              "file mapping %#lx-%#lx %s: region %p+%#zx runs past it",
                              (unsigned long)k->start, (unsigned long)k->end, k->name,
                              m.BaseAddress, (size_t)m.RegionSize);
            } else if (k->name[0] == 0 || strcmp(k->name, "[heap]") == 0 ||
                       strcmp(k->name, "[stack]") == 0) {
                /* An anonymous mapping right after an object's writable file
                 * mapping is that object's .bss: part of the image (item 1 of
                 * the foreign-memory issue); any other is MEM_PRIVATE. */
                int bss = k->name[0] == 0 && i > 0 && klines[i - 1].end == k->start &&
                          klines[i - 1].inode != 0 && klines[i - 1].perms[1] == 'w';
                ck_assert_msg(m.Type == MEM_PRIVATE || (bss && m.Type == MEM_IMAGE),
                              "anonymous mapping %#lx-%#lx %s: Type %#x",
                              (unsigned long)k->start, (unsigned long)k->end, k->name,
                              (unsigned)m.Type);
            }
        }
    }
}

/* Section 7: a walk (BaseAddress + RegionSize from 0 to the maximum) with our own checks:
 * contiguous; free regions have the free fields; reserved regions Protect 0; every
 * known address is inside a region of the expected state. */
struct known {
    const void *addr;
    DWORD state; /* expected State */
    const void *abase; /* expected AllocationBase, or NULL to not check */
};

static void walk_and_check(const struct known *kn, size_t nk)
{
    uintptr_t a = 0;
    int regions = 0;
    size_t found = 0;
    while (a <= VW_MAX_APP_ADDR) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        ck_assert_msg((uintptr_t)m.BaseAddress == a, "walk: query %#lx gave base %p",
                      (unsigned long)a, m.BaseAddress);
        ck_assert_msg(m.RegionSize > 0 && m.RegionSize % PG == 0, "walk: RegionSize %#zx at %#lx",
                      (size_t)m.RegionSize, (unsigned long)a);
        if (m.State == MEM_FREE) {
            ck_assert_msg(m.Protect == PAGE_NOACCESS && m.AllocationBase == NULL &&
                              m.AllocationProtect == 0 && m.Type == 0,
                          "walk: free region %#lx: protect %#x abase %p aprot %#x type %#x",
                          (unsigned long)a, (unsigned)m.Protect, m.AllocationBase,
                          (unsigned)m.AllocationProtect, (unsigned)m.Type);
        } else {
            ck_assert_msg(m.State == MEM_COMMIT || m.State == MEM_RESERVE,
                          "walk: state %#x at %#lx", (unsigned)m.State, (unsigned long)a);
            if (m.State == MEM_RESERVE)
                ck_assert_msg(m.Protect == 0, "walk: reserved region %#lx has Protect %#x",
                              (unsigned long)a, (unsigned)m.Protect);
            ck_assert_msg(m.Type == MEM_PRIVATE || m.Type == MEM_MAPPED || m.Type == MEM_IMAGE,
                          "walk: Type %#x at %#lx", (unsigned)m.Type, (unsigned long)a);
            ck_assert_msg(m.AllocationBase != NULL && (uintptr_t)m.AllocationBase <= a,
                          "walk: AllocationBase %p at %#lx", m.AllocationBase, (unsigned long)a);
        }
        for (size_t i = 0; i < nk; i++) {
            uintptr_t x = (uintptr_t)kn[i].addr;
            if (x >= a && x - a < m.RegionSize) {
                found++;
                ck_assert_msg(m.State == kn[i].state,
                              "walk: known address %p (#%zu) in region %#lx+%#zx state %#x, "
                              "expected %#x",
                              kn[i].addr, i, (unsigned long)a, (size_t)m.RegionSize,
                              (unsigned)m.State, (unsigned)kn[i].state);
                if (kn[i].abase)
                    ck_assert_msg(m.AllocationBase == kn[i].abase,
                                  "walk: known address %p (#%zu): AllocationBase %p, expected %p",
                                  kn[i].addr, i, m.AllocationBase, kn[i].abase);
            }
        }
        regions++;
        uintptr_t next = a + m.RegionSize;
        ck_assert_msg(next > a, "walk does not advance at %#lx", (unsigned long)a);
        a = next;
    }
    ck_assert_uint_eq(found, nk);
    ck_assert_int_gt(regions, 10);
}

/* Section 7: the full walk with a mix of allocations (reserved, committed with several
 * protections, partly committed, NOCACHE, guard, adjacent pairs, top-down, decommitted)
 * and foreign memory (stack, a second thread's stack, malloc heap, a large malloc,
 * libc code, a file mapping, anonymous RW and PROT_NONE mmaps) agrees with
 * /proc/self/maps, and foreign memory is never MEM_FREE. */
START_TEST(test_walk_mixed)
{
    /* library allocations */
    char *r = vw_alloc_reserve(8 * PG, PAGE_READWRITE);
    char *mixed = vw_alloc_reserve(12 * PG, PAGE_READWRITE);
    vw_commit_at(mixed + PG, 2 * PG, PAGE_READWRITE);
    vw_commit_at(mixed + 3 * PG, PG, PAGE_READONLY);
    vw_commit_at(mixed + 5 * PG, PG, PAGE_NOACCESS);
    vw_commit_at(mixed + 6 * PG, 2 * PG, PAGE_EXECUTE_READ);
    vw_commit_at(mixed + 9 * PG, PG, PAGE_READWRITE | PAGE_GUARD);
    char *nocache = vw_alloc_commit(2 * PG, PAGE_READWRITE | PAGE_NOCACHE);
    char *one = vw_alloc_commit(PG, PAGE_READWRITE);
    char *big = vw_alloc_reserve(1 << 20, PAGE_READWRITE);
    vw_commit_at(big + 64 * PG, 3 * PG, PAGE_READWRITE);
    char *dec = vw_alloc_commit(4 * PG, PAGE_EXECUTE_READWRITE);
    ck_assert(VirtualFree(dec + PG, 2 * PG, MEM_DECOMMIT));
    char *top = VirtualAlloc(NULL, 2 * PG, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN,
                             PAGE_READONLY);
    ck_assert_ptr_nonnull(top);
    char *f = vw_free_space(2 * VW_64K);
    char *adj1 = VirtualAlloc(f, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *adj2 = VirtualAlloc(f + VW_64K, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(adj1, f);
    ck_assert_ptr_eq(adj2, f + VW_64K);
    char *gone = vw_alloc_commit(VW_64K, PAGE_READWRITE);

    /* foreign memory */
    int fd = open(file_path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    char *fmap = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    ck_assert(fmap != MAP_FAILED);
    close(fd);
    char *anon_rw = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(anon_rw != MAP_FAILED);
    char *anon_none = mmap(NULL, 5 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(anon_none != MAP_FAILED);
    ck_assert_int_eq(mprotect(anon_rw + 2 * PG, PG, PROT_NONE), 0);
    ck_assert_int_eq(mprotect(anon_none + 2 * PG, PG, PROT_READ), 0);
    char *heap = malloc(100);
    char *bigheap = malloc(2 << 20);
    ck_assert_ptr_nonnull(heap);
    ck_assert_ptr_nonnull(bigheap);
    heap[0] = bigheap[0] = 1;
    volatile char stack_local[8];
    stack_local[0] = 1;
    void *code = dlsym(RTLD_DEFAULT, "getpid");
    ck_assert_ptr_nonnull(code);

    struct vw_parked_thread parked;
    vw_park_thread(&parked);
    /* Released last, so that no mapping made above can land in its place. */
    ck_assert(VirtualFree(gone, 0, MEM_RELEASE));

    vw_assert_all_agree();
    check_kernel_mappings_not_free();
    const struct known kn[] = {
        { r, MEM_RESERVE, r },
        { r + 7 * PG, MEM_RESERVE, r },
        { mixed, MEM_RESERVE, mixed },
        { mixed + PG, MEM_COMMIT, mixed },
        { mixed + 3 * PG, MEM_COMMIT, mixed },
        { mixed + 4 * PG, MEM_RESERVE, mixed },
        { mixed + 5 * PG, MEM_COMMIT, mixed },
        { mixed + 7 * PG, MEM_COMMIT, mixed },
        { mixed + 9 * PG, MEM_COMMIT, mixed },
        { mixed + 11 * PG, MEM_RESERVE, mixed },
        { nocache, MEM_COMMIT, nocache },
        { one, MEM_COMMIT, one },
        { big, MEM_RESERVE, big },
        { big + 65 * PG, MEM_COMMIT, big },
        { big + (1 << 20) - 1, MEM_RESERVE, big },
        { dec, MEM_COMMIT, dec },
        { dec + PG, MEM_RESERVE, dec },
        { dec + 3 * PG, MEM_COMMIT, dec },
        { top, MEM_COMMIT, top },
        { adj1 + VW_64K - 1, MEM_COMMIT, adj1 },
        { adj2, MEM_COMMIT, adj2 },
        { gone, MEM_FREE, NULL },
        { fmap, MEM_COMMIT, NULL },
        { anon_rw, MEM_COMMIT, NULL },
        { anon_rw + 2 * PG, MEM_RESERVE, NULL },
        { anon_none, MEM_RESERVE, NULL },
        { anon_none + 2 * PG, MEM_COMMIT, NULL },
        { heap, MEM_COMMIT, NULL },
        { bigheap, MEM_COMMIT, NULL },
        { (const void *)stack_local, MEM_COMMIT, NULL },
        { (const void *)parked.local, MEM_COMMIT, NULL },
        { code, MEM_COMMIT, NULL },
    };
    walk_and_check(kn, sizeof kn / sizeof kn[0]);

    /* The adjacent pair is two regions. */
    VW_EXPECT_ALLOC_REGION(adj1, adj1, VW_64K, MEM_COMMIT, PAGE_READWRITE, adj1, PAGE_READWRITE);

    vw_unpark_thread(&parked);

    /* Release and unmap part of it; the walk still agrees. */
    ck_assert(VirtualFree(mixed, 0, MEM_RELEASE));
    ck_assert(VirtualFree(adj1, 0, MEM_RELEASE));
    munmap(anon_rw, 5 * PG);
    munmap(fmap, 3 * PG);
    vw_assert_all_agree();
    check_kernel_mappings_not_free();
    EXPECT_FREE(mixed, mixed, VW_64K, 0);
    EXPECT_FREE(adj1, adj1, VW_64K, 1);
    VW_EXPECT_ALLOC_REGION(adj2, adj2, VW_64K, MEM_COMMIT, PAGE_READWRITE, adj2, PAGE_READWRITE);
    free(bigheap);
    free(heap);
    munmap(anon_none, 5 * PG);
}
END_TEST

/* Section 7: a walk over a fresh process (only the library's initial state) agrees with
 * the kernel and never reports a kernel mapping free. */
START_TEST(test_walk_fresh)
{
    vw_assert_all_agree();
    check_kernel_mappings_not_free();
    walk_and_check(NULL, 0);
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

static Suite *query_suite(void)
{
    Suite *s = suite_create("VirtualQuery");

    TCase *tc = tcase_create("arguments");
    tcase_add_test(tc, test_length_too_small);
    tcase_add_test(tc, test_length_larger);
    tcase_add_test(tc, test_returns_48);
    tcase_add_test(tc, test_address_above_maximum);
    tcase_add_test(tc, test_address_zero_and_low);
    tcase_add_test(tc, test_address_at_maximum);
    tcase_add_test(tc, test_last_error);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocations");
    tcase_add_test(tc, test_base_address_rounded);
    tcase_add_test(tc, test_runs_inside_allocation);
    tcase_add_test(tc, test_runs_merge_across_commits);
    tcase_add_test(tc, test_reserved_protect_zero);
    tcase_add_loop_test(tc, test_committed_fields, 0,
                        (int)(sizeof commit_prots / sizeof commit_prots[0]));
    tcase_add_test(tc, test_adjacent_allocations_not_merged);
    tcase_add_test(tc, test_free_memory_fields);
    tcase_add_test(tc, test_free_tail_of_block);
    tcase_add_test(tc, test_free_up_to_mapping);
    tcase_add_test(tc, test_released_is_free);
    tcase_add_test(tc, test_query_ex);
    suite_add_tcase(s, tc);

    tc = tcase_create("foreign");
    tcase_add_unchecked_fixture(tc, file_setup, file_teardown);
    tcase_add_test(tc, test_foreign_main_stack);
    tcase_add_test(tc, test_foreign_thread_stack);
    tcase_add_test(tc, test_foreign_heap);
    tcase_add_test(tc, test_foreign_images);
    tcase_add_test(tc, test_foreign_image_segments);
    tcase_add_test(tc, test_foreign_file_mapping);
    tcase_add_test(tc, test_foreign_anon_rw);
    tcase_add_test(tc, test_foreign_anon_none);
    suite_add_tcase(s, tc);

    tc = tcase_create("walk");
    tcase_add_unchecked_fixture(tc, file_setup, file_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_walk_fresh);
    tcase_add_test(tc, test_walk_mixed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(query_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
