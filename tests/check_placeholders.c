/*
 * check_placeholders.c: VirtualAlloc2, VirtualAlloc2FromApp,
 * VirtualAllocFromApp and NtAllocateVirtualMemoryEx (spec section 15):
 * placeholders reserved, split into 2 or 3 pieces, coalesced, replaced with
 * private memory and turned back; MEM_ADDRESS_REQUIREMENTS placement and the
 * extended-parameter rules; every rule with its return value, last error or
 * NTSTATUS, VirtualQuery afterwards, fault probes, contents, and the map
 * against /proc/self/maps; the program's own munmap and mmap(MAP_FIXED) into
 * placeholders.
 *
 * Windows facts (Wine's conformance tests, kernelbase/tests/process.c and
 * ntdll/tests/virtual.c, which run on Windows): a placeholder reports
 * MEM_RESERVE, Protect 0, Type MEM_PRIVATE, AllocationProtect PAGE_NOACCESS;
 * splits are page granular (a 64 KiB placeholder splits at 0x4000); a whole
 * placeholder or an ordinary reservation given to MEM_PRESERVE_PLACEHOLDER is
 * STATUS_CONFLICTING_ADDRESSES, size 0 STATUS_INVALID_PARAMETER_3;
 * MEM_COALESCE_PLACEHOLDERS without MEM_RELEASE is STATUS_INVALID_PARAMETER_4;
 * MEM_RELEASE with the size of several pieces STATUS_UNABLE_TO_FREE_VM; an
 * allocation that replaced a placeholder turns back into one with its own
 * exact size, and reads zero when replaced again.
 */
#include <check.h>
#include <virtualwin/nt.h>
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define ME GetCurrentProcess()
#define K64 ((size_t)0x10000)
#define RES_PH (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
#define SPLIT (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)
#define JOIN (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)

static char *ph_new(size_t size)
{
    SetLastError(VW_KEEP_ERR);
    char *p = VirtualAlloc2(NULL, NULL, size, RES_PH, PAGE_NOACCESS, NULL, 0);
    ck_assert_msg(p != NULL, "placeholder of %#zx: error %u", size, (unsigned)GetLastError());
    ck_assert_uint_eq(GetLastError(), VW_KEEP_ERR);
    ck_assert_uint_eq((uintptr_t)p % K64, 0);
    return p;
}

/* VirtualQuery at addr: the placeholder [base, base+size). */
#define CHECK_PH(addr, base, size)                                                         \
    VW_CHECK_MBI(addr, addr, base, PAGE_NOACCESS, (size) - ((char *)(addr) - (char *)(base)), \
                 MEM_RESERVE, 0, MEM_PRIVATE)

static MEMORY_REGION_INFORMATION region_info(void *p)
{
    MEMORY_REGION_INFORMATION ri;
    SIZE_T ret = 0;
    ck_assert_uint_eq((ULONG)NtQueryVirtualMemory(ME, p, MemoryRegionInformation, &ri, sizeof ri,
                                                  &ret),
                      (ULONG)STATUS_SUCCESS);
    return ri;
}

START_TEST(test_reserve_placeholder)
{
    char *p = ph_new(2 * K64);
    CHECK_PH(p, p, 2 * K64);
    CHECK_PH(p + 0x5000, p, 2 * K64);
    VW_CHECK_NO_ACCESS(p);
    VW_CHECK_NO_ACCESS(p + 2 * K64 - 1);
    vw_assert_range_agrees(p, 2 * K64);
    ck_assert_uint_eq(region_info(p).RegionSize, 2 * K64);
    ck_assert_uint_eq(region_info(p).RegionType & 0x100, 0x100);   /* PlaceholderReservation */
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_CHECK_FREE(p, 2 * K64);

    /* The current process by handle; an explicit address (rounded to 64 KiB);
     * a size rounded up to pages. */
    char *q = vw_free_space(4 * K64);
    SetLastError(VW_KEEP_ERR);
    ck_assert_ptr_eq(VirtualAlloc2(ME, q + 0x1234, 0x2000, RES_PH, PAGE_NOACCESS, NULL, 0), q);
    CHECK_PH(q, q, 0x4000);
    VW_CHECK_FREE(q + 0x4000, 0);
    VW_FREE_OK(q, 0, MEM_RELEASE);
    /* MEM_TOP_DOWN goes with it. */
    p = VirtualAlloc2(NULL, NULL, K64, RES_PH | MEM_TOP_DOWN, PAGE_NOACCESS, NULL, 0);
    ck_assert_ptr_nonnull(p);
    CHECK_PH(p, p, K64);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    /* Not a process. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2((HANDLE)0x1234, NULL, K64, RES_PH, PAGE_NOACCESS, NULL, 0),
                         ERROR_INVALID_HANDLE);
}
END_TEST

START_TEST(test_reserve_placeholder_rules)
{
    /* Only through VirtualAlloc2, only MEM_RESERVE, only PAGE_NOACCESS. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(NULL, K64, RES_PH, PAGE_NOACCESS), ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAllocEx(ME, NULL, K64, RES_PH, PAGE_NOACCESS),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, K64, RES_PH, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, K64, RES_PH, PAGE_READONLY, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, K64, RES_PH | MEM_COMMIT, PAGE_NOACCESS, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, K64, MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS,
                                       NULL, 0),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, K64, RES_PH | MEM_WRITE_WATCH, PAGE_NOACCESS,
                                       NULL, 0),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, K64, RES_PH | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_NOACCESS, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0, RES_PH, PAGE_NOACCESS, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    /* Natively: NtAllocateVirtualMemory knows no placeholders at all. */
    PVOID a = NULL;
    SIZE_T s = K64;
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemory(ME, &a, 0, &s, RES_PH, PAGE_NOACCESS),
                      (ULONG)STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &a, &s, RES_PH, PAGE_READWRITE, NULL, 0),
                      (ULONG)STATUS_INVALID_PARAMETER);
    ck_assert_ptr_null(a);
    ck_assert_uint_eq(s, K64);
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(NULL, &a, &s, RES_PH, PAGE_NOACCESS, NULL, 0),
                      (ULONG)STATUS_INVALID_HANDLE);
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &a, &s, RES_PH, PAGE_NOACCESS, NULL, 0),
                      (ULONG)STATUS_SUCCESS);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(s, K64);
    CHECK_PH(a, a, K64);
    /* A placeholder where one is: conflicting. */
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &a, &s, RES_PH, PAGE_NOACCESS, NULL, 0),
                      (ULONG)STATUS_CONFLICTING_ADDRESSES);
    s = 0;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &a, &s, MEM_RELEASE), (ULONG)STATUS_SUCCESS);
}
END_TEST

/* Plain reserve, commit and protect on a placeholder fail and change nothing. */
START_TEST(test_plain_calls_on_placeholder)
{
    char *p = ph_new(2 * K64);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, K64, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, K64, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p + 0x3000, 0x1000, MEM_COMMIT, PAGE_READONLY),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p, K64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p, K64, RES_PH, PAGE_NOACCESS, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p, K64, MEM_COMMIT, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    DWORD old = 0x55;
    VW_EXPECT_FAIL(VirtualProtect(p, 0x1000, PAGE_READWRITE, &old), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualLock(p, 0x1000), ERROR_INVALID_ADDRESS);
    CHECK_PH(p, p, 2 * K64);
    VW_CHECK_NO_ACCESS(p);
    vw_assert_range_agrees(p, 2 * K64);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

START_TEST(test_split_two)
{
    /* Lower part given: [p, p+size/4) and the rest. */
    char *p = ph_new(K64);
    PVOID b = p;
    SIZE_T s = K64 / 4;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, SPLIT), (ULONG)STATUS_SUCCESS);
    ck_assert_ptr_eq(b, p);
    ck_assert_uint_eq(s, 0x4000);
    CHECK_PH(p, p, 0x4000);
    CHECK_PH(p + 0x4000, p + 0x4000, K64 - 0x4000);
    CHECK_PH(p + 0x9000, p + 0x4000, K64 - 0x4000);
    vw_assert_range_agrees(p, K64);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_CHECK_FREE(p, 0x4000);
    CHECK_PH(p + 0x4000, p + 0x4000, K64 - 0x4000);
    VW_FREE_OK(p + 0x4000, 0, MEM_RELEASE);
    VW_CHECK_FREE(p, K64);

    /* Upper half given, through VirtualFree (kernelbase passes the size on). */
    p = ph_new(2 * K64);
    VW_EXPECT_OK(VirtualFree(p + K64, K64, SPLIT));
    CHECK_PH(p, p, K64);
    CHECK_PH(p + K64, p + K64, K64);
    vw_assert_range_agrees(p, 2 * K64);
    /* Each piece is its own allocation: MEM_RELEASE with size 0 frees one. */
    VW_FREE_OK(p + K64, 0, MEM_RELEASE);
    CHECK_PH(p, p, K64);
    VW_CHECK_FREE(p + K64, K64);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

START_TEST(test_split_three)
{
    char *p = ph_new(K64);
    char *p1 = p + K64 / 2, *p2 = p1 + K64 / 4;
    PVOID b = p1;
    SIZE_T s = K64 / 4;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, SPLIT), (ULONG)STATUS_SUCCESS);
    ck_assert_ptr_eq(b, p1);
    ck_assert_uint_eq(s, K64 / 4);
    CHECK_PH(p, p, K64 / 2);
    CHECK_PH(p1, p1, K64 / 4);
    CHECK_PH(p2, p2, K64 / 4);
    vw_assert_range_agrees(p, K64);
    /* An unaligned range takes every page it touches. */
    char *q = ph_new(K64);
    VW_EXPECT_OK(VirtualFree(q + 0x1800, 0x1000, SPLIT));
    CHECK_PH(q, q, 0x1000);
    CHECK_PH(q + 0x1000, q + 0x1000, 0x2000);
    CHECK_PH(q + 0x3000, q + 0x3000, K64 - 0x3000);
    VW_FREE_OK(q + 0x1000, 0, MEM_RELEASE);
    VW_FREE_OK(q, 0, MEM_RELEASE);
    VW_FREE_OK(q + 0x3000, 0, MEM_RELEASE);
    VW_CHECK_FREE(q, K64);

    /* Release the middle piece: the neighbours stay, the hole is free but
     * cannot be reserved while its 64 KiB block holds another piece. */
    VW_FREE_OK(p1, 0, MEM_RELEASE);
    VW_CHECK_FREE(p1, K64 / 4);
    CHECK_PH(p, p, K64 / 2);
    CHECK_PH(p2, p2, K64 / 4);
    VW_CHECK_NO_ACCESS(p1);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(p1, 0x1000, MEM_RESERVE, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    vw_assert_range_agrees(p, K64);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_FREE_OK(p2, 0, MEM_RELEASE);
    /* All pieces gone: the block is free for anyone again. */
    VW_CHECK_FREE(p, K64);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p, K64, MEM_RESERVE, PAGE_READWRITE), p);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

START_TEST(test_split_errors)
{
    char *p = ph_new(2 * K64);
    PVOID b = p;
    SIZE_T s = 0;
    /* Size 0. */
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, SPLIT), (ULONG)STATUS_INVALID_PARAMETER_3);
    ck_assert_ptr_eq(b, p);
    ck_assert_uint_eq(s, 0);
    VW_EXPECT_FAIL(VirtualFree(p, 0, SPLIT), ERROR_INVALID_PARAMETER);
    /* The whole placeholder. */
    s = 2 * K64;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, SPLIT),
                      (ULONG)STATUS_CONFLICTING_ADDRESSES);
    ck_assert_uint_eq(s, 2 * K64);
    VW_EXPECT_FAIL(VirtualFree(p, 2 * K64, SPLIT), ERROR_INVALID_ADDRESS);
    /* Past its end. */
    VW_EXPECT_FAIL(VirtualFree(p + K64, 2 * K64, SPLIT), ERROR_INVALID_ADDRESS);
    /* Free memory, and the flags in the wrong company. */
    char *f = vw_free_space(K64);
    VW_EXPECT_FAIL(VirtualFree(f, 0x1000, SPLIT), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(p, 0x1000, MEM_PRESERVE_PLACEHOLDER), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(VirtualFree(p, 0x1000, MEM_DECOMMIT | MEM_PRESERVE_PLACEHOLDER),
                   ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(VirtualFree(p, 0x1000, SPLIT | MEM_COALESCE_PLACEHOLDERS),
                   ERROR_INVALID_PARAMETER);
    s = 0x1000;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, MEM_PRESERVE_PLACEHOLDER),
                      (ULONG)STATUS_INVALID_PARAMETER_4);
    CHECK_PH(p, p, 2 * K64);
    /* An ordinary reservation, whole or in part. */
    char *r = vw_alloc_reserve(2 * K64, PAGE_READWRITE);
    b = r;
    s = 2 * K64;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, SPLIT),
                      (ULONG)STATUS_CONFLICTING_ADDRESSES);
    VW_EXPECT_FAIL(VirtualFree(r, K64, SPLIT), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_REGION(r, r, 2 * K64, MEM_RESERVE, 0, r, PAGE_READWRITE);
    VW_FREE_OK(r, 0, MEM_RELEASE);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

START_TEST(test_coalesce)
{
    char *p = ph_new(K64);
    char *p2 = p + K64 / 4, *p3 = p2 + K64 / 4;
    VW_EXPECT_OK(VirtualFree(p, K64 / 4, SPLIT));
    VW_EXPECT_OK(VirtualFree(p2, K64 / 4, SPLIT));
    CHECK_PH(p, p, K64 / 4);
    CHECK_PH(p2, p2, K64 / 4);
    CHECK_PH(p3, p3, K64 / 2);
    PVOID b = p;
    SIZE_T s = K64 / 4;
    /* One piece alone is nothing to join. */
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, JOIN), (ULONG)STATUS_CONFLICTING_ADDRESSES);
    s = K64;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, MEM_COALESCE_PLACEHOLDERS),
                      (ULONG)STATUS_INVALID_PARAMETER_4);
    VW_EXPECT_FAIL(VirtualFree(p, K64, MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_PARAMETER);
    /* Not the exact total: a page more, a page less, not at the first base. */
    VW_EXPECT_FAIL(VirtualFree(p, K64 + 0x1000, JOIN), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(p, K64 - 0x1000, JOIN), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(p + 0x1000, K64 - 0x1000, JOIN), ERROR_INVALID_ADDRESS);
    s = 0;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, JOIN), (ULONG)STATUS_INVALID_PARAMETER_3);
    VW_EXPECT_FAIL(VirtualFree(p, 0, JOIN), ERROR_INVALID_PARAMETER);
    /* MEM_RELEASE of several pieces at once: natively UNABLE_TO_FREE_VM. */
    s = K64;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, MEM_RELEASE),
                      (ULONG)STATUS_UNABLE_TO_FREE_VM);
    CHECK_PH(p, p, K64 / 4);
    /* The first two. */
    VW_EXPECT_OK(VirtualFree(p, K64 / 2, JOIN));
    CHECK_PH(p, p, K64 / 2);
    CHECK_PH(p3, p3, K64 / 2);
    /* All of them. */
    s = K64;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, JOIN), (ULONG)STATUS_SUCCESS);
    ck_assert_ptr_eq(b, p);
    ck_assert_uint_eq(s, K64);
    CHECK_PH(p, p, K64);
    vw_assert_range_agrees(p, K64);

    /* A replaced piece, or a released one, in between: refused. */
    VW_EXPECT_OK(VirtualFree(p, K64 / 4, SPLIT));
    VW_EXPECT_OK(VirtualFree(p2, K64 / 4, SPLIT));
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, p2, K64 / 4, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                     PAGE_READWRITE, NULL, 0),
                       p2);
    VW_EXPECT_FAIL(VirtualFree(p, K64, JOIN), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(p, K64 / 2, JOIN), ERROR_INVALID_ADDRESS);
    VW_FREE_OK(p2, 0, MEM_RELEASE);
    VW_EXPECT_FAIL(VirtualFree(p, K64, JOIN), ERROR_INVALID_ADDRESS);
    CHECK_PH(p, p, K64 / 4);
    CHECK_PH(p3, p3, K64 / 2);
    VW_CHECK_FREE(p2, K64 / 4);
    vw_assert_range_agrees(p, K64);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_FREE_OK(p3, 0, MEM_RELEASE);
    VW_CHECK_FREE(p, K64);
}
END_TEST

/* Two placeholders made apart, side by side, join like pieces of one. */
START_TEST(test_coalesce_separate)
{
    char *f = vw_free_space(2 * K64);
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, f, K64, RES_PH, PAGE_NOACCESS, NULL, 0), f);
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, f + K64, K64, RES_PH, PAGE_NOACCESS, NULL, 0), f + K64);
    VW_EXPECT_OK(VirtualFree(f, 2 * K64, JOIN));
    CHECK_PH(f, f, 2 * K64);
    VW_FREE_OK(f, 0, MEM_RELEASE);
    VW_CHECK_FREE(f, 2 * K64);
}
END_TEST

START_TEST(test_replace)
{
    char *p = ph_new(2 * K64);
    char *q = p + K64;
    VW_EXPECT_OK(VirtualFree(p, K64, SPLIT));
    /* Committed at once. */
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, p, K64, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                     PAGE_READWRITE, NULL, 0),
                       p);
    VW_EXPECT_ALLOC_REGION(p, p, K64, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    ck_assert(vw_is_zero(p, K64));
    memset(p, 0xcc, K64);
    CHECK_PH(q, q, K64);
    ck_assert_uint_eq(region_info(p).RegionType & 0x100, 0);
    vw_assert_range_agrees(p, 2 * K64);
    /* Reserved only, then committed as any reservation. */
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, q, K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                     PAGE_EXECUTE_READWRITE, NULL, 0),
                       q);
    VW_EXPECT_ALLOC_REGION(q, q, K64, MEM_RESERVE, 0, q, PAGE_EXECUTE_READWRITE);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(q + 0x2000, 0x1000, MEM_COMMIT, PAGE_READONLY), q + 0x2000);
    VW_EXPECT_ALLOC_REGION(q + 0x2000, q + 0x2000, 0x1000, MEM_COMMIT, PAGE_READONLY, q,
                           PAGE_EXECUTE_READWRITE);
    ck_assert(vw_can_read(q + 0x2000));
    ck_assert(!vw_can_write(q + 0x2000));
    VW_CHECK_NO_ACCESS(q);
    vw_assert_range_agrees(p, 2 * K64);
    /* Replacing what is no longer a placeholder. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, q, K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_FREE_OK(q, 0, MEM_RELEASE);
    VW_CHECK_FREE(p, 2 * K64);
}
END_TEST

START_TEST(test_replace_errors)
{
    char *p = ph_new(K64);
    PVOID b = p;
    SIZE_T s = 0x1000;
    /* Not exactly one placeholder: part of it, more than it. */
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &b, &s, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                                       PAGE_NOACCESS, NULL, 0),
                      (ULONG)STATUS_CONFLICTING_ADDRESSES);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p, 2 * K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p + 0x1000, K64 - 0x1000,
                                       MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    /* Without MEM_RESERVE, or with no address. */
    s = K64;
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &b, &s, MEM_REPLACE_PLACEHOLDER,
                                                       PAGE_READWRITE, NULL, 0),
                      (ULONG)STATUS_INVALID_PARAMETER);
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &b, &s, MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                                       PAGE_READWRITE, NULL, 0),
                      (ULONG)STATUS_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p, K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER | MEM_LARGE_PAGES,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    /* A bad protection. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p, K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_WRITECOPY, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    /* An ordinary reservation is no placeholder. */
    char *r = vw_alloc_reserve(K64, PAGE_READWRITE);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, r, K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    VW_FREE_OK(r, 0, MEM_RELEASE);
    CHECK_PH(p, p, K64);
    VW_CHECK_NO_ACCESS(p);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

START_TEST(test_back_to_placeholder)
{
    char *p = ph_new(2 * K64);
    char *q = p + K64;
    VW_EXPECT_OK(VirtualFree(p, K64, SPLIT));
    PVOID b = p;
    SIZE_T s = K64;
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &b, &s,
                                                       MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                                       PAGE_READWRITE, NULL, 0),
                      (ULONG)STATUS_SUCCESS);
    ck_assert_ptr_eq(b, p);
    ck_assert_uint_eq(s, K64);
    vw_fill_pattern(p, K64, 7);
    ck_assert(VirtualLock(p, 0x2000));
    /* Part of it: refused, nothing changed. */
    VW_EXPECT_FAIL(VirtualFree(p, 0x1000, SPLIT), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(p + 0x1000, K64 - 0x1000, SPLIT), ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(p, K64, 7));
    /* Exactly it: a placeholder again, the contents gone, the lock dropped. */
    s = K64;
    ck_assert_uint_eq((ULONG)NtFreeVirtualMemory(ME, &b, &s, SPLIT), (ULONG)STATUS_SUCCESS);
    ck_assert_ptr_eq(b, p);
    ck_assert_uint_eq(s, K64);
    CHECK_PH(p, p, K64);
    VW_CHECK_NO_ACCESS(p);
    ck_assert_int_eq(vw_lock_state(p, 0x2000), 0);
    vw_assert_range_agrees(p, 2 * K64);
    /* It joins its neighbour like any piece, and reads zero when replaced. */
    VW_EXPECT_OK(VirtualFree(p, 2 * K64, JOIN));
    CHECK_PH(p, p, 2 * K64);
    VW_EXPECT_OK(VirtualFree(p, K64, SPLIT));
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, p, K64, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                     PAGE_READONLY, NULL, 0),
                       p);
    ck_assert(vw_is_zero(p, K64));
    VW_EXPECT_ALLOC_REGION(p, p, K64, MEM_COMMIT, PAGE_READONLY, p, PAGE_READONLY);
    /* Reserved-only, and partly committed, allocations turn back too. */
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, q, K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                     PAGE_READWRITE, NULL, 0),
                       q);
    VW_EXPECT_ALLOC_AT(VirtualAlloc(q + 0x1000, 0x1000, MEM_COMMIT, PAGE_READWRITE), q + 0x1000);
    q[0x1000] = 1;
    VW_EXPECT_OK(VirtualFree(q, K64, SPLIT));
    CHECK_PH(q, q, K64);
    VW_CHECK_NO_ACCESS(q + 0x1000);
    VW_EXPECT_OK(VirtualFree(p, K64, SPLIT));
    VW_EXPECT_OK(VirtualFree(p, 2 * K64, JOIN));
    CHECK_PH(p, p, 2 * K64);
    vw_assert_range_agrees(p, 2 * K64);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_CHECK_FREE(p, 2 * K64);
}
END_TEST

START_TEST(test_release_replaced)
{
    /* A replaced piece is released like any allocation; the others stay. */
    char *p = ph_new(3 * K64);
    VW_EXPECT_OK(VirtualFree(p + K64, K64, SPLIT));
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, p + K64, K64, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                     PAGE_READWRITE, NULL, 0),
                       p + K64);
    p[K64] = 5;
    VW_EXPECT_FAIL(VirtualFree(p + K64, K64, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    VW_FREE_OK(p + K64, 0, MEM_RELEASE);
    VW_CHECK_FREE(p + K64, K64);
    VW_CHECK_NO_ACCESS(p + K64);
    CHECK_PH(p, p, K64);
    CHECK_PH(p + 2 * K64, p + 2 * K64, K64);
    /* A new reservation in the released block reads zero. */
    VW_EXPECT_ALLOC_AT(VirtualAlloc(p + K64, K64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), p + K64);
    ck_assert(vw_is_zero(p + K64, K64));
    vw_assert_all_agree();
    VW_FREE_OK(p + K64, 0, MEM_RELEASE);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_FREE_OK(p + 2 * K64, 0, MEM_RELEASE);
    VW_CHECK_FREE(p, 3 * K64);
}
END_TEST

static MEM_EXTENDED_PARAMETER req_param(MEM_ADDRESS_REQUIREMENTS *a)
{
    MEM_EXTENDED_PARAMETER e;
    memset(&e, 0, sizeof e);
    e.Type = MemExtendedParameterAddressRequirements;
    e.Pointer = a;
    return e;
}

START_TEST(test_address_requirements_rules)
{
    MEM_ADDRESS_REQUIREMENTS a;
    memset(&a, 0, sizeof a);
    MEM_EXTENDED_PARAMETER e[2];
    memset(e, 0, sizeof e);
    /* Type 0, unknown, repeated; count without an array. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, e, 1),
                         ERROR_INVALID_PARAMETER);
    e[0].Type = MemExtendedParameterMax;
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, e, 1),
                         ERROR_INVALID_PARAMETER);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, NULL, 1),
                         ERROR_INVALID_PARAMETER);
    e[0] = req_param(&a);
    e[1] = e[0];
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, e, 2),
                         ERROR_INVALID_PARAMETER);
    e[0].Reserved = 1;
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, e, 1),
                         ERROR_INVALID_PARAMETER);
    e[0] = req_param(NULL);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, e, 1),
                         ERROR_INVALID_PARAMETER);
    /* All zero: no requirement, also with a base. */
    e[0] = req_param(&a);
    char *p = VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, e, 1);
    ck_assert_ptr_nonnull(p);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, p, 0x1000, MEM_RESERVE, PAGE_READWRITE, e, 1), p);
    /* A real requirement with a base: refused, also for a commit. */
    a.HighestEndingAddress = (PVOID)(uintptr_t)(0x7FFF0000 - 1);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p, 0x1000, MEM_COMMIT, PAGE_READWRITE, e, 1),
                         ERROR_INVALID_PARAMETER);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p, 0x1000, MEM_RESERVE, PAGE_READWRITE, e, 1),
                         ERROR_INVALID_PARAMETER);
    /* HighestEndingAddress: the last byte of a page, inside the user range. */
    static const uintptr_t bad_hi[] = { 0x20001000 + 1, 0x20001000 - 2, 0x20000800 - 1,
                                        VW_MAX_APP_ADDR + 0x1000 };
    for (size_t i = 0; i < sizeof bad_hi / sizeof bad_hi[0]; i++) {
        a.HighestEndingAddress = (PVOID)bad_hi[i];
        VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, K64, MEM_RESERVE, PAGE_READWRITE, e, 1),
                             ERROR_INVALID_PARAMETER);
    }
    a.HighestEndingAddress = (PVOID)VW_MAX_APP_ADDR;
    p = VirtualAlloc2(NULL, NULL, K64, MEM_RESERVE, PAGE_READWRITE, e, 1);
    ck_assert_ptr_nonnull(p);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    /* Alignment: a power of two of at least 64 KiB. */
    a.HighestEndingAddress = NULL;
    static const size_t bad_align[] = { 0x8000, 0x30000, 0x1000, 3 };
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        a.Alignment = bad_align[i];
        VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE, PAGE_READWRITE, e, 1),
                             ERROR_INVALID_PARAMETER);
    }
    /* LowestStartingAddress on 64 KiB, not above HighestEndingAddress. */
    a.Alignment = 0;
    a.LowestStartingAddress = (PVOID)(uintptr_t)0x10001000;
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE, PAGE_READWRITE, e, 1),
                         ERROR_INVALID_PARAMETER);
    a.LowestStartingAddress = (PVOID)(uintptr_t)0x20000000;
    a.HighestEndingAddress = (PVOID)(uintptr_t)(0x10000000 - 1);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE, PAGE_READWRITE, e, 1),
                         ERROR_INVALID_PARAMETER);
    /* Other parameter types: a NUMA node is a preference; flag 0 is fine; the
     * rest is not supported here. */
    memset(e, 0, sizeof e);
    e[0].Type = MemExtendedParameterNumaNode;
    e[0].ULong = 0;
    e[1].Type = MemExtendedParameterAttributeFlags;
    p = VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, e, 2);
    ck_assert_ptr_nonnull(p);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    e[1].ULong64 = MEM_EXTENDED_PARAMETER_EC_CODE;
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x1000, MEM_RESERVE, PAGE_READWRITE, e, 2),
                         ERROR_INVALID_PARAMETER);
    /* Bad pointers: the array, the requirements. */
    PVOID b = NULL;
    SIZE_T s = 0x1000;
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &b, &s, MEM_RESERVE, PAGE_READWRITE,
                                                       (MEM_EXTENDED_PARAMETER *)8, 1),
                      (ULONG)STATUS_ACCESS_VIOLATION);
    e[0] = req_param((MEM_ADDRESS_REQUIREMENTS *)16);
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &b, &s, MEM_RESERVE, PAGE_READWRITE, e, 1),
                      (ULONG)STATUS_ACCESS_VIOLATION);
    ck_assert_ptr_null(b);
    ck_assert_uint_eq(s, 0x1000);
    /* A bad AllocationType is plain STATUS_INVALID_PARAMETER through the Ex call. */
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &b, &s, MEM_RESERVE | 0x80, PAGE_READWRITE,
                                                       NULL, 0),
                      (ULONG)STATUS_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_address_requirements_placement)
{
    MEM_ADDRESS_REQUIREMENTS a;
    memset(&a, 0, sizeof a);
    MEM_EXTENDED_PARAMETER e = req_param(&a);
    /* Below a highest end (Wine's numbers), on 64 KiB. */
    a.HighestEndingAddress = (PVOID)(uintptr_t)(0x20001000 - 1);
    char *p = VirtualAlloc2(NULL, NULL, 0x40000, MEM_RESERVE, PAGE_READWRITE, &e, 1);
    if (p) {   /* the program's own mappings may fill that low space */
        ck_assert_uint_eq((uintptr_t)p % K64, 0);
        ck_assert_uint_le((uintptr_t)p + 0x40000, 0x20001000);
        VW_FREE_OK(p, 0, MEM_RELEASE);
    } else {
        ck_assert_uint_eq(GetLastError(), ERROR_NOT_ENOUGH_MEMORY);
    }
    /* No aligned room below the end: ERROR_NOT_ENOUGH_MEMORY. */
    a.Alignment = 0x20000000;
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x2000, MEM_RESERVE, PAGE_READWRITE, &e, 1),
                         ERROR_NOT_ENOUGH_MEMORY);
    PVOID b = NULL;
    SIZE_T s = 0x2000;
    ck_assert_uint_eq((ULONG)NtAllocateVirtualMemoryEx(ME, &b, &s, MEM_RESERVE, PAGE_READWRITE, &e, 1),
                      (ULONG)STATUS_NO_MEMORY);
    /* A window in free space: placed inside it, aligned, bottom-up or top-down. */
    char *w = vw_free_space(64 * K64);
    char *lo = (char *)(((uintptr_t)w + 0x100000 - 1) & ~(uintptr_t)0xFFFFF);   /* 3 MiB fit */
    a.LowestStartingAddress = lo;
    a.HighestEndingAddress = lo + 0x300000 - 1;
    a.Alignment = 0x100000;
    p = VirtualAlloc2(NULL, NULL, 0x20000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, &e, 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge((uintptr_t)p, (uintptr_t)lo);
    ck_assert_uint_le((uintptr_t)p + 0x20000 - 1, (uintptr_t)a.HighestEndingAddress);
    ck_assert_uint_eq((uintptr_t)p % a.Alignment, 0);
    VW_EXPECT_ALLOC_REGION(p, p, 0x20000, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    char *t = VirtualAlloc2(NULL, NULL, 0x20000, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE, &e, 1);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_gt((uintptr_t)t, (uintptr_t)p);
    ck_assert_uint_le((uintptr_t)t + 0x20000 - 1, (uintptr_t)a.HighestEndingAddress);
    /* Placeholders obey the window too. */
    char *ph = VirtualAlloc2(NULL, NULL, K64, RES_PH, PAGE_NOACCESS, &e, 1);
    ck_assert_ptr_nonnull(ph);
    ck_assert_uint_ge((uintptr_t)ph, (uintptr_t)lo);
    ck_assert_uint_le((uintptr_t)ph + K64 - 1, (uintptr_t)a.HighestEndingAddress);
    CHECK_PH(ph, ph, K64);
    vw_assert_range_agrees(w, 64 * K64);
    VW_FREE_OK(ph, 0, MEM_RELEASE);
    VW_FREE_OK(t, 0, MEM_RELEASE);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    /* Bigger than the window. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, NULL, 0x400000, MEM_RESERVE, PAGE_READWRITE, &e, 1),
                         ERROR_NOT_ENOUGH_MEMORY);
}
END_TEST

START_TEST(test_from_app)
{
    static const DWORD exec[] = { PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                  PAGE_EXECUTE_WRITECOPY };
    SetLastError(VW_KEEP_ERR);
    char *p = VirtualAllocFromApp(NULL, 0x1000, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(GetLastError(), VW_KEEP_ERR);
    VW_EXPECT_ALLOC_REGION(p, p, 0x1000, MEM_RESERVE, 0, p, PAGE_READWRITE);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    p = VirtualAlloc2FromApp(NULL, NULL, 0x1000, MEM_COMMIT, PAGE_READWRITE, NULL, 0);
    ck_assert_ptr_nonnull(p);
    p[0] = 1;
    VW_FREE_OK(p, 0, MEM_RELEASE);
    for (size_t i = 0; i < sizeof exec / sizeof exec[0]; i++) {
        VW_EXPECT_ALLOC_FAIL(VirtualAllocFromApp(NULL, 0x1000, MEM_RESERVE, exec[i]),
                             ERROR_INVALID_PARAMETER);
        VW_EXPECT_ALLOC_FAIL(VirtualAlloc2FromApp(NULL, NULL, 0x1000, MEM_COMMIT, exec[i], NULL, 0),
                             ERROR_INVALID_PARAMETER);
    }
    /* Placeholders through the FromApp call too. */
    p = VirtualAlloc2FromApp(ME, NULL, K64, RES_PH, PAGE_NOACCESS, NULL, 0);
    ck_assert_ptr_nonnull(p);
    CHECK_PH(p, p, K64);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_EXPECT_ALLOC_FAIL(VirtualAllocFromApp(NULL, K64, RES_PH, PAGE_NOACCESS),
                         ERROR_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_found_by_name)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll"), nt = GetModuleHandleA("ntdll.dll");
    ck_assert_ptr_nonnull(k32);
    ck_assert_ptr_nonnull(nt);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "VirtualAlloc2"), (void *)VirtualAlloc2);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "VirtualAlloc2FromApp"), (void *)VirtualAlloc2FromApp);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "VirtualAllocFromApp"), (void *)VirtualAllocFromApp);
    ck_assert_ptr_eq((void *)GetProcAddress(GetModuleHandleA("kernelbase"), "VirtualAlloc2"),
                     (void *)VirtualAlloc2);
    ck_assert_ptr_eq((void *)GetProcAddress(nt, "NtAllocateVirtualMemoryEx"),
                     (void *)NtAllocateVirtualMemoryEx);
    /* Each through its own module only. */
    SetLastError(0);
    ck_assert_ptr_null((void *)GetProcAddress(nt, "VirtualAlloc2"));
    ck_assert_uint_eq(GetLastError(), ERROR_PROC_NOT_FOUND);
    ck_assert_ptr_null((void *)GetProcAddress(k32, "NtAllocateVirtualMemoryEx"));
}
END_TEST

/* A layout of every kind of piece, walked and compared with the kernel. */
START_TEST(test_walk_agrees)
{
    char *p = ph_new(8 * K64);
    for (int i = 1; i < 8; i++)
        VW_EXPECT_OK(VirtualFree(p + (size_t)(i - 1) * K64, K64, SPLIT));
    VW_EXPECT_OK(VirtualFree(p + 0x3000, 0x2000, SPLIT));   /* 3 pieces in the first block */
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, p + 0x3000, 0x2000, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                     PAGE_READONLY, NULL, 0),
                       p + 0x3000);
    VW_EXPECT_ALLOC_AT(VirtualAlloc2(NULL, p + 2 * K64, K64, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                     PAGE_READWRITE, NULL, 0),
                       p + 2 * K64);
    VW_FREE_OK(p + 4 * K64, 0, MEM_RELEASE);
    VW_EXPECT_OK(VirtualFree(p + 5 * K64, 2 * K64, JOIN));
    /* The walk: every region of the range, in order. */
    VW_ASSERT_REGION(p, p, 0x3000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 0x3000, p + 0x3000, 0x2000, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 0x5000, p + 0x5000, K64 - 0x5000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_ASSERT_REGION(p + K64, p + K64, K64, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 2 * K64, p + 2 * K64, K64, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 3 * K64, p + 3 * K64, K64, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_FREE(p + 4 * K64, K64);
    VW_ASSERT_REGION(p + 5 * K64, p + 5 * K64, 2 * K64, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 7 * K64, p + 7 * K64, K64, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_all_agree();
    for (char *c = p; c < p + 8 * K64;) {
        MEMORY_BASIC_INFORMATION m = vw_query(c);
        if (m.State != MEM_FREE)
            VW_FREE_OK(m.AllocationBase, 0, MEM_RELEASE);
        c = (char *)m.BaseAddress + m.RegionSize;
    }
    VW_CHECK_FREE(p, 8 * K64);
    vw_assert_all_agree();
}
END_TEST

/* A placeholder too large for the arenas gets a mapping of its own: pieces
 * are unmapped when released. */
START_TEST(test_large_placeholder)
{
    size_t big = (size_t)3 << 30;
    char *p = ph_new(big);
    VW_EXPECT_OK(VirtualFree(p + K64, big / 2, SPLIT));
    CHECK_PH(p, p, K64);
    CHECK_PH(p + K64, p + K64, big / 2);
    CHECK_PH(p + K64 + big / 2, p + K64 + big / 2, big / 2 - K64);
    VW_FREE_OK(p + K64, 0, MEM_RELEASE);
    VW_CHECK_FREE(p + K64, big / 2);
    struct vw_kmap km;
    ck_assert(!vw_kernel_mapping((uintptr_t)p + K64 + 0x1000, &km));
    vw_assert_range_agrees(p, big);
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_FREE_OK(p + K64 + big / 2, 0, MEM_RELEASE);
    VW_CHECK_FREE(p, big);
}
END_TEST

/* The program's own munmap and mmap(MAP_FIXED) into placeholders. */
START_TEST(test_program_maps_into_placeholder)
{
    char *p = ph_new(4 * K64);
    VW_EXPECT_OK(VirtualFree(p, 2 * K64, SPLIT));
    /* munmap of a page of the first piece: free there, the rest stays. */
    ck_assert_int_eq(munmap(p + 0x2000, 0x1000), 0);
    VW_CHECK_FREE(p + 0x2000, 0x1000);
    VW_ASSERT_REGION(p, p, 0x2000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_ASSERT_REGION(p + 0x3000, p, 2 * K64 - 0x3000, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(p, 4 * K64);
    /* A placeholder with a hole is one no longer: not split, joined or replaced. */
    VW_EXPECT_FAIL(VirtualFree(p, 0x1000, SPLIT), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(VirtualFree(p, 4 * K64, JOIN), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, p, 2 * K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    /* mmap MAP_FIXED over part of the second piece: the program's mapping. */
    char *q = p + 2 * K64;
    void *m = mmap(q + 0x4000, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
    ck_assert_ptr_eq(m, q + 0x4000);
    q[0x4000] = 9;
    MEMORY_BASIC_INFORMATION mi = vw_query(q + 0x4000);
    ck_assert_uint_eq(mi.State, MEM_COMMIT);
    ck_assert_uint_eq(mi.Protect, PAGE_READWRITE);
    ck_assert_ptr_ne(mi.AllocationBase, q);
    VW_ASSERT_REGION(q, q, 0x4000, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(p, 4 * K64);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc2(NULL, q, 2 * K64, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    /* Both pieces still release; the program's mapping is left alone. */
    VW_FREE_OK(p, 0, MEM_RELEASE);
    VW_FREE_OK(q, 0, MEM_RELEASE);
    ck_assert_int_eq(q[0x4000], 9);
    vw_assert_range_agrees(p, 4 * K64);
    ck_assert_int_eq(munmap(q + 0x4000, 0x2000), 0);
}
END_TEST

/* ---- threads: two workers cut, replace, restore and join their own
 * placeholders while a third walks both with VirtualQuery (which reads the
 * map without the lock).  Every answer must be a whole state: inside a
 * placeholder's span nothing is ever free, every region lies inside its
 * allocation, and allocations start inside the span.  Fixed rounds, no
 * timing. */
#define T_SPAN (4 * K64)
#define T_ROUNDS 300
struct worker {
    char *base;
    int bad;
    char msg[160];
};
static volatile int walkers_stop;

static void *ph_worker(void *arg)
{
    struct worker *w = arg;
    char *p = w->base;
    for (int i = 0; i < T_ROUNDS && !w->bad; i++) {
        size_t cut = (size_t)(1 + i % 15) * 0x1000;
        int ok = VirtualFree(p + cut, K64, SPLIT) &&
                 VirtualAlloc2(NULL, p + cut, K64,
                               MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
                               NULL, 0) == p + cut;
        if (ok) {
            p[cut] = (char)i;
            ok = p[cut] == (char)i && VirtualFree(p + cut, K64, SPLIT) &&
                 VirtualFree(p, T_SPAN, JOIN);
        }
        if (!ok) {
            w->bad = 1;
            snprintf(w->msg, sizeof w->msg, "round %d: error %u", i, (unsigned)GetLastError());
        }
    }
    return NULL;
}

static void *ph_walker(void *arg)
{
    struct worker *w = arg;   /* w[0], w[1] */
    while (!walkers_stop) {
        for (int k = 0; k < 2; k++) {
            char *s = w[k].base, *e = s + T_SPAN;
            for (char *c = s; c < e;) {
                MEMORY_BASIC_INFORMATION m;
                if (VirtualQuery(c, &m, sizeof m) != sizeof m || m.State == MEM_FREE ||
                    (char *)m.AllocationBase < s || (char *)m.AllocationBase > c ||
                    m.RegionSize == 0 || (char *)m.BaseAddress != c) {
                    w[k].bad = 2;
                    snprintf(w[k].msg, sizeof w[k].msg,
                             "walk at +%#zx: state %#x base %p size %#zx", (size_t)(c - s),
                             (unsigned)m.State, m.AllocationBase, (size_t)m.RegionSize);
                    return NULL;
                }
                c = (char *)m.BaseAddress + m.RegionSize;
            }
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    struct worker w[2];
    memset(w, 0, sizeof w);
    w[0].base = ph_new(T_SPAN);
    w[1].base = ph_new(T_SPAN);
    walkers_stop = 0;
    pthread_t t[3];
    ck_assert_int_eq(pthread_create(&t[2], NULL, ph_walker, w), 0);
    ck_assert_int_eq(pthread_create(&t[0], NULL, ph_worker, &w[0]), 0);
    ck_assert_int_eq(pthread_create(&t[1], NULL, ph_worker, &w[1]), 0);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    walkers_stop = 1;
    pthread_join(t[2], NULL);
    ck_assert_msg(!w[0].bad, "%s", w[0].msg);
    ck_assert_msg(!w[1].bad, "%s", w[1].msg);
    for (int k = 0; k < 2; k++) {
        CHECK_PH(w[k].base, w[k].base, T_SPAN);
        vw_assert_range_agrees(w[k].base, T_SPAN);
        VW_FREE_OK(w[k].base, 0, MEM_RELEASE);
    }
}
END_TEST

static Suite *placeholders_suite(void)
{
    Suite *s = suite_create("placeholders");
    TCase *tc = tcase_create("placeholders");
    tcase_add_test(tc, test_reserve_placeholder);
    tcase_add_test(tc, test_reserve_placeholder_rules);
    tcase_add_test(tc, test_plain_calls_on_placeholder);
    tcase_add_test(tc, test_split_two);
    tcase_add_test(tc, test_split_three);
    tcase_add_test(tc, test_split_errors);
    tcase_add_test(tc, test_coalesce);
    tcase_add_test(tc, test_coalesce_separate);
    tcase_add_test(tc, test_replace);
    tcase_add_test(tc, test_replace_errors);
    tcase_add_test(tc, test_back_to_placeholder);
    tcase_add_test(tc, test_release_replaced);
    tcase_add_test(tc, test_address_requirements_rules);
    tcase_add_test(tc, test_address_requirements_placement);
    tcase_add_test(tc, test_from_app);
    tcase_add_test(tc, test_found_by_name);
    tcase_add_test(tc, test_walk_agrees);
    tcase_add_test(tc, test_large_placeholder);
    tcase_add_test(tc, test_program_maps_into_placeholder);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(placeholders_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
