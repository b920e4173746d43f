/*
 * check_interpose.c: munmap, mprotect, mremap and mmap(MAP_FIXED) applied by
 * the program (through libc's names, which the library interposes) to memory
 * the library tracks (issue item 5, with spec sections 4, 5 and 7).
 *
 * After each call the map follows the kernel: VirtualQuery agrees with
 * /proc/self/maps, unmapped pages have left their allocation (MEM_FREE), the
 * rest of the allocation keeps its AllocationBase and can still be released
 * with VirtualFree(base, 0, MEM_RELEASE), even when its first page is gone.
 * Most tests run twice: _i == 0 on an allocation the library placed itself
 * (inside its PROT_NONE arenas), _i == 1 on one reserved at an explicit address
 * outside them (a kernel mapping of its own).  Memory the library does not
 * track passes straight to the kernel: results and errno as libc's own calls.
 * Every test names the rule it checks.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define PG VW_PAGE
#define SENTINEL 0xDEADBEEFu

/* ---- helpers ------------------------------------------------------------ */

/* Unmapped address space outside every arena (the kernel chose it for a mapping
 * of ours, which is gone again), 64 KiB aligned.  vw_free_space gives free space
 * inside the library's placement arenas instead: callers take it before making
 * any other allocation. */
static char *outside_space(size_t size)
{
    char *p = mmap(NULL, size + 2 * VW_64K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(p != MAP_FAILED);
    ck_assert_int_eq(munmap(p, size + 2 * VW_64K), 0);
    return (char *)(((uintptr_t)p + VW_64K - 1) & ~(uintptr_t)(VW_64K - 1));
}

/* A new allocation: where == 0 lets the library place it (arena), where == 1
 * reserves it at an explicit address outside the arenas.  type is MEM_COMMIT or 0. */
static char *new_alloc(int where, size_t size, DWORD type, DWORD prot)
{
    char *want = where ? outside_space(size) : NULL;
    char *p = VirtualAlloc(want, size, MEM_RESERVE | type, prot);
    ck_assert_msg(p != NULL, "VirtualAlloc(%p, %#zx, %#x, %#x) failed, error %u", (void *)want,
                  size, (unsigned)(MEM_RESERVE | type), (unsigned)prot, (unsigned)GetLastError());
    if (want)
        ck_assert_ptr_eq(p, want);
    return p;
}

static void fill(char *p, size_t n, int seed)
{
    for (size_t i = 0; i < n; i += 64)
        p[i] = (char)(seed + (int)(i / PG));
}

static void expect_filled(const char *p, size_t n, int seed, size_t page_offset)
{
    for (size_t i = 0; i < n; i += 64)
        ck_assert_msg(p[i] == (char)(seed + (int)(i / PG + page_offset)),
                      "byte %zu: %d, expected %d", i, p[i], (char)(seed + (int)(i / PG + page_offset)));
}

/* Release succeeds, then the whole [p, p+size) is free and faults. */
static void release_all(char *p, size_t size)
{
    SetLastError(SENTINEL);
    ck_assert_msg(VirtualFree(p, 0, MEM_RELEASE), "VirtualFree(%p, 0, MEM_RELEASE) failed: %u",
                  (void *)p, (unsigned)GetLastError());
    ck_assert_uint_eq(GetLastError(), SENTINEL);
    for (size_t off = 0; off < size; off += PG) {
        VW_CHECK_FREE(p + off, PG);
        ck_assert(!vw_can_read(p + off));
    }
    vw_assert_range_agrees(p, size);
}

static void expect_error(BOOL ok, DWORD err)
{
    ck_assert_msg(!ok, "call succeeded, expected error %u", (unsigned)err);
    ck_assert_msg(GetLastError() == err, "error %u, expected %u", (unsigned)GetLastError(),
                  (unsigned)err);
}

/* ---- munmap ------------------------------------------------------------- */

/* Item 5 (munmap): pages unmapped from the middle of an allocation leave it and
 * report MEM_FREE (and fault); the pages around keep AllocationBase and contents;
 * the hole is no longer reserved (committing there: ERROR_INVALID_ADDRESS, section 4);
 * VirtualQuery agrees with the kernel; the allocation can still be released. */
START_TEST(test_munmap_middle)
{
    char *p = new_alloc(_i, 16 * PG, MEM_COMMIT, PAGE_READWRITE);
    fill(p, 16 * PG, 7);
    ck_assert_int_eq(munmap(p + 5 * PG, 2 * PG), 0);

    VW_EXPECT_ALLOC_REGION(p, p, 5 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    VW_CHECK_FREE(p + 5 * PG, 2 * PG);
    ck_assert_uint_eq(vw_query(p + 5 * PG).RegionSize, 2 * PG);
    VW_CHECK_FREE(p + 6 * PG + 17, PG);
    VW_EXPECT_ALLOC_REGION(p + 7 * PG, p + 7 * PG, 9 * PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    ck_assert(!vw_can_read(p + 5 * PG));
    ck_assert(!vw_can_read(p + 6 * PG));
    expect_filled(p, 5 * PG, 7, 0);
    expect_filled(p + 7 * PG, 9 * PG, 7, 7);
    vw_assert_range_agrees(p, 16 * PG);

    SetLastError(SENTINEL);
    expect_error(VirtualAlloc(p + 5 * PG, PG, MEM_COMMIT, PAGE_READWRITE) != NULL,
                 ERROR_INVALID_ADDRESS);
    DWORD old = SENTINEL;
    expect_error(VirtualProtect(p + 5 * PG, PG, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS);
    VW_CHECK_FREE(p + 5 * PG, 2 * PG);

    /* The rest still behaves as the allocation. */
    ck_assert(VirtualProtect(p + 8 * PG, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert(VirtualFree(p + 9 * PG, PG, MEM_DECOMMIT));
    VW_EXPECT_ALLOC_REGION(p + 9 * PG, p + 9 * PG, PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    vw_assert_range_agrees(p, 16 * PG);
    release_all(p, 16 * PG);
    vw_assert_all_agree();
}
END_TEST

/* Item 5 (munmap): with its first page unmapped the allocation still releases with
 * VirtualFree(base, 0, MEM_RELEASE) (section 5: the base names the allocation), while
 * base + page is not the base (ERROR_INVALID_ADDRESS); the pages left keep
 * AllocationBase == base. */
START_TEST(test_munmap_first_page)
{
    char *p = new_alloc(_i, 8 * PG, MEM_COMMIT, PAGE_READWRITE);
    fill(p, 8 * PG, 3);
    ck_assert_int_eq(munmap(p, PG), 0);
    VW_CHECK_FREE(p, PG);
    ck_assert_uint_eq(vw_query(p).RegionSize, PG);
    ck_assert(!vw_can_read(p));
    VW_EXPECT_ALLOC_REGION(p + PG, p + PG, 7 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    expect_filled(p + PG, 7 * PG, 3, 1);
    vw_assert_range_agrees(p, 8 * PG);

    SetLastError(SENTINEL);
    expect_error(VirtualFree(p + PG, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_REGION(p + PG, p + PG, 7 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    release_all(p, 8 * PG);
    /* Released twice: ERROR_INVALID_ADDRESS (section 5). */
    expect_error(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
}
END_TEST

/* Item 5 (munmap): an allocation unmapped page by page, in any order: after the last
 * page it no longer exists (release: ERROR_INVALID_ADDRESS, section 5), everything is
 * MEM_FREE, and the address space is free again (an explicit reservation there
 * succeeds, section 4). */
START_TEST(test_munmap_piecewise)
{
    static const int order[] = { 1, 3, 0, 2 };
    char *p = new_alloc(_i, 4 * PG, MEM_COMMIT, PAGE_READWRITE);
    for (size_t k = 0; k < 4; k++) {
        ck_assert_int_eq(munmap(p + (size_t)order[k] * PG, PG), 0);
        VW_CHECK_FREE(p + (size_t)order[k] * PG, PG);
        for (size_t j = k + 1; j < 4; j++) {
            MEMORY_BASIC_INFORMATION m = vw_query(p + (size_t)order[j] * PG);
            ck_assert_uint_eq(m.State, MEM_COMMIT);
            ck_assert_ptr_eq(m.AllocationBase, p);
        }
        vw_assert_range_agrees(p, 4 * PG);
    }
    SetLastError(SENTINEL);
    expect_error(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    VW_CHECK_FREE(p, 4 * PG);
    vw_assert_range_agrees(p, VW_64K);
    char *again = VirtualAlloc(p, 4 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_msg(again == p, "re-reserving %p gave %p, error %u", (void *)p, (void *)again,
                  (unsigned)GetLastError());
    ck_assert_int_eq(again[0], 0);
    release_all(again, 4 * PG);
}
END_TEST

/* Item 5 (munmap): one munmap across the end of one allocation and the start of the
 * next: each keeps its own remaining pages and AllocationBase (two allocations never
 * merge, section 7), the hole is MEM_FREE, both still release. */
START_TEST(test_munmap_across_two)
{
    char *f = _i ? outside_space(2 * VW_64K) : vw_free_space(2 * VW_64K);
    char *a = VirtualAlloc(f, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *b = VirtualAlloc(f + VW_64K, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
    ck_assert_ptr_eq(a, f);
    ck_assert_ptr_eq(b, f + VW_64K);
    ck_assert_int_eq(munmap(b - 2 * PG, 4 * PG), 0);
    VW_EXPECT_ALLOC_REGION(a, a, VW_64K - 2 * PG, MEM_COMMIT, PAGE_READWRITE, a, PAGE_READWRITE);
    VW_CHECK_FREE(b - 2 * PG, 4 * PG);
    ck_assert_uint_eq(vw_query(b - 2 * PG).RegionSize, 4 * PG);
    VW_EXPECT_ALLOC_REGION(b + 2 * PG, b + 2 * PG, VW_64K - 2 * PG, MEM_COMMIT, PAGE_READONLY, b,
                           PAGE_READONLY);
    ck_assert(!vw_can_read(b - PG));
    ck_assert(!vw_can_read(b + PG));
    ck_assert(vw_can_write(b - 3 * PG));
    vw_assert_range_agrees(a, 2 * VW_64K);
    release_all(b, VW_64K);
    release_all(a, VW_64K);
}
END_TEST

/* Item 5 (munmap): unmapping arena space that no allocation uses (free to the program)
 * is a successful no-op: the arena stays whole (still the library's PROT_NONE space),
 * it stays MEM_FREE and reservable (section 4); so is the unowned tail of a one-page
 * allocation's 64 KiB block, which leaves the allocation alone. */
START_TEST(test_munmap_arena_free_space)
{
    char *f = vw_free_space(VW_64K);
    errno = 4321;
    ck_assert_int_eq(munmap(f, VW_64K), 0);
    ck_assert_int_eq(errno, 4321);
    VW_CHECK_FREE(f, VW_64K);
    struct vw_kmap k;
    ck_assert_msg(vw_kernel_mapping((uintptr_t)f, &k) && strncmp(k.perms, "---", 3) == 0 &&
                      k.inode == 0,
                  "arena space at %p was unmapped", (void *)f);
    vw_assert_range_agrees(f, VW_64K);
    char *r = VirtualAlloc(f, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(r, f);
    r[0] = 1;
    release_all(r, VW_64K);

    char *one = VirtualAlloc(NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(one);
    one[0] = 42;
    ck_assert_int_eq(munmap(one + PG, VW_64K - PG), 0);
    VW_EXPECT_ALLOC_REGION(one, one, PG, MEM_COMMIT, PAGE_READWRITE, one, PAGE_READWRITE);
    ck_assert_int_eq(one[0], 42);
    VW_CHECK_FREE(one + PG, VW_64K - PG);
    vw_assert_range_agrees(one, VW_64K);
    release_all(one, PG);
}
END_TEST

/* Item 5 (munmap) and the kernel's rules: an unaligned address or a zero length fails
 * with EINVAL and changes nothing. */
START_TEST(test_munmap_unaligned)
{
    char *p = new_alloc(_i, 4 * PG, MEM_COMMIT, PAGE_READWRITE);
    fill(p, 4 * PG, 9);
    errno = 0;
    ck_assert_int_eq(munmap(p + 1, PG), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(munmap(p + PG + 100, 2 * PG), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(munmap(p, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    VW_EXPECT_ALLOC_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    expect_filled(p, 4 * PG, 9, 0);
    vw_assert_range_agrees(p, 4 * PG);
    release_all(p, 4 * PG);
}
END_TEST

/* ---- mprotect ----------------------------------------------------------- */

/* Item 5 (mprotect): Protect follows mprotect on committed pages (PROT_READ ->
 * PAGE_READONLY, PROT_READ|PROT_EXEC -> PAGE_EXECUTE_READ, all three ->
 * PAGE_EXECUTE_READWRITE), regions split and merge again (section 7), access follows,
 * VirtualProtect reports the changed protection as the old one (section 6),
 * AllocationProtect is unchanged. */
START_TEST(test_mprotect_protect_follows)
{
    char *p = new_alloc(_i, 8 * PG, MEM_COMMIT, PAGE_READWRITE);
    fill(p, 8 * PG, 5);
    ck_assert_int_eq(mprotect(p + 2 * PG, 2 * PG, PROT_READ), 0);
    VW_EXPECT_ALLOC_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 2 * PG, p + 2 * PG, 2 * PG, MEM_COMMIT, PAGE_READONLY, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 4 * PG, p + 4 * PG, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    ck_assert(!vw_can_write(p + 2 * PG));
    ck_assert(vw_can_read(p + 3 * PG));
    expect_filled(p, 8 * PG, 5, 0);
    vw_assert_range_agrees(p, 8 * PG);

    DWORD old = 0;
    ck_assert(VirtualProtect(p + 3 * PG, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READONLY);

    ck_assert_int_eq(mprotect(p + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE), 0);
    VW_EXPECT_ALLOC_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    ck_assert(vw_can_write(p + 2 * PG));

    ck_assert_int_eq(mprotect(p, PG, PROT_READ | PROT_EXEC), 0);
    VW_EXPECT_ALLOC_REGION(p, p, PG, MEM_COMMIT, PAGE_EXECUTE_READ, p, PAGE_READWRITE);
    ck_assert_int_eq(mprotect(p + 7 * PG, PG, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
    VW_EXPECT_ALLOC_REGION(p + 7 * PG, p + 7 * PG, PG, MEM_COMMIT, PAGE_EXECUTE_READWRITE, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + PG, p + PG, 6 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    ck_assert(VirtualProtect(p, PG, PAGE_READWRITE, &old));
    ck_assert_uint_eq(old, PAGE_EXECUTE_READ);
    ck_assert(VirtualProtect(p + 7 * PG, PG, PAGE_READWRITE, &old));
    ck_assert_uint_eq(old, PAGE_EXECUTE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    vw_assert_range_agrees(p, 8 * PG);
    release_all(p, 8 * PG);
}
END_TEST

/* Item 5 (mprotect): reserved pages made accessible become committed (MEM_COMMIT with
 * the new protection, zero-filled, writable), the other reserved pages stay
 * MEM_RESERVE / Protect 0; decommit (section 5) turns them back into reserved pages. */
START_TEST(test_mprotect_reserved_becomes_committed)
{
    char *p = new_alloc(_i, 8 * PG, 0, PAGE_READWRITE);
    ck_assert_int_eq(mprotect(p + PG, 2 * PG, PROT_READ | PROT_WRITE), 0);
    VW_EXPECT_ALLOC_REGION(p, p, PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + PG, p + PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 3 * PG, p + 3 * PG, 5 * PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    ck_assert_int_eq(p[PG], 0);
    ck_assert_int_eq(p[3 * PG - 1], 0);
    ck_assert(vw_can_write(p + 2 * PG));
    ck_assert(!vw_can_read(p));
    vw_assert_range_agrees(p, 8 * PG);

    ck_assert_int_eq(mprotect(p + 5 * PG, PG, PROT_READ), 0);
    VW_EXPECT_ALLOC_REGION(p + 5 * PG, p + 5 * PG, PG, MEM_COMMIT, PAGE_READONLY, p,
                           PAGE_READWRITE);
    vw_assert_range_agrees(p, 8 * PG);

    /* Committed the Windows way on top keeps working. */
    DWORD old = 0;
    ck_assert(VirtualProtect(p + PG, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert(VirtualFree(p + PG, 2 * PG, MEM_DECOMMIT));
    VW_EXPECT_ALLOC_REGION(p, p, 5 * PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    ck_assert(!vw_can_read(p + PG));
    vw_assert_range_agrees(p, 8 * PG);
    release_all(p, 8 * PG);
}
END_TEST

/* Item 5 (mprotect): PROT_NONE on committed pages gives MEM_COMMIT / PAGE_NOACCESS
 * (not reserved: they stay committed); over a mixed range, reserved pages stay
 * MEM_RESERVE; PAGE_NOACCESS pages fault and VirtualProtect can open them again
 * (section 6: they are committed). */
START_TEST(test_mprotect_none)
{
    char *p = new_alloc(_i, 8 * PG, 0, PAGE_READWRITE);
    ck_assert_ptr_eq(VirtualAlloc(p + 2 * PG, 3 * PG, MEM_COMMIT, PAGE_READWRITE), p + 2 * PG);
    p[2 * PG] = 11;
    ck_assert_int_eq(mprotect(p, 8 * PG, PROT_NONE), 0);
    VW_EXPECT_ALLOC_REGION(p, p, 2 * PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 2 * PG, p + 2 * PG, 3 * PG, MEM_COMMIT, PAGE_NOACCESS, p,
                           PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 5 * PG, p + 5 * PG, 3 * PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    ck_assert(!vw_can_read(p + 2 * PG));
    vw_assert_range_agrees(p, 8 * PG);

    DWORD old = 0;
    ck_assert(VirtualProtect(p + 2 * PG, PG, PAGE_READWRITE, &old));
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_int_eq(p[2 * PG], 11);
    SetLastError(SENTINEL);
    expect_error(VirtualProtect(p, PG, PAGE_READWRITE, &old), ERROR_INVALID_ADDRESS);
    vw_assert_range_agrees(p, 8 * PG);
    release_all(p, 8 * PG);
}
END_TEST

/* Item 5 (mprotect): arena space no allocation uses is unmapped memory to the program:
 * mprotect there fails with ENOMEM (as the kernel does for unmapped memory), also when
 * the range starts in an allocation and runs into the free tail of its block; the map
 * and the kernel still agree.  An unaligned address: EINVAL. */
START_TEST(test_mprotect_arena_free_space)
{
    char *f = vw_free_space(VW_64K);
    errno = 0;
    ck_assert_int_eq(mprotect(f, PG, PROT_READ), -1);
    ck_assert_int_eq(errno, ENOMEM);
    VW_CHECK_FREE(f, VW_64K);
    ck_assert(!vw_can_read(f));
    vw_assert_range_agrees(f, VW_64K);

    char *one = VirtualAlloc(NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(one);
    errno = 0;
    ck_assert_int_eq(mprotect(one, 2 * PG, PROT_READ), -1);
    ck_assert_int_eq(errno, ENOMEM);
    VW_CHECK_FREE(one + PG, VW_64K - PG);
    ck_assert(!vw_can_read(one + PG));
    vw_assert_range_agrees(one, VW_64K);

    errno = 0;
    ck_assert_int_eq(mprotect(one + 1, PG, PROT_READ), -1);
    ck_assert_int_eq(errno, EINVAL);
    VW_EXPECT_ALLOC_REGION(one, one, PG, MEM_COMMIT, PAGE_READWRITE, one, PAGE_READWRITE);
    ck_assert(vw_can_write(one));
    release_all(one, PG);
}
END_TEST

/* ---- mremap ------------------------------------------------------------- */

/* Item 5 (mremap): shrinking in place keeps the allocation's base, contents and
 * protection; the pages given up leave it (MEM_FREE, no longer reserved: committing
 * there fails with ERROR_INVALID_ADDRESS); it still releases. */
START_TEST(test_mremap_shrink)
{
    char *p = new_alloc(_i, 16 * PG, MEM_COMMIT, PAGE_READWRITE);
    fill(p, 16 * PG, 21);
    void *r = mremap(p, 16 * PG, 8 * PG, 0);
    ck_assert_ptr_eq(r, p);
    VW_EXPECT_ALLOC_REGION(p, p, 8 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    VW_CHECK_FREE(p + 8 * PG, 8 * PG);
    ck_assert(!vw_can_read(p + 8 * PG));
    expect_filled(p, 8 * PG, 21, 0);
    vw_assert_range_agrees(p, 16 * PG);
    SetLastError(SENTINEL);
    expect_error(VirtualAlloc(p + 8 * PG, PG, MEM_COMMIT, PAGE_READWRITE) != NULL,
                 ERROR_INVALID_ADDRESS);

    /* Again with MREMAP_MAYMOVE: a shrink stays in place. */
    r = mremap(p, 8 * PG, 4 * PG, MREMAP_MAYMOVE);
    ck_assert_ptr_eq(r, p);
    VW_EXPECT_ALLOC_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    VW_CHECK_FREE(p + 4 * PG, 12 * PG);
    vw_assert_range_agrees(p, 16 * PG);
    release_all(p, 4 * PG);
    vw_assert_range_agrees(p, 16 * PG);
}
END_TEST

/* Item 5 (mremap): growing with MREMAP_MAYMOVE where the pages above are taken moves
 * the memory: the contents are kept, the new range is an allocation of its own (base
 * at the new address, the same AllocationProtect and Protect; the growth takes the
 * last page's protection, zero-filled), the old range is MEM_FREE and no longer an
 * allocation (release: ERROR_INVALID_ADDRESS), the new one releases.  A range whose
 * pages differ in protection is several kernel mappings: mremap fails with EFAULT as
 * the kernel does, and nothing changes. */
START_TEST(test_mremap_grow_moves)
{
    char *p = new_alloc(_i, 4 * PG, 0, PAGE_READWRITE);
    ck_assert_ptr_eq(VirtualAlloc(p, 4 * PG, MEM_COMMIT, PAGE_READWRITE), p);
    /* Make sure the kernel cannot grow it in place. */
    void *blocker = mmap(p + 4 * PG, PG, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (blocker != MAP_FAILED && blocker != p + 4 * PG) {
        munmap(blocker, PG);   /* an old kernel ignoring the flag */
        blocker = MAP_FAILED;
    }
    fill(p, 4 * PG, 40);
    DWORD old = 0;
    ck_assert(VirtualProtect(p, PG, PAGE_EXECUTE_READ, &old));
    errno = 0;
    ck_assert(mremap(p, 4 * PG, 8 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
    ck_assert_int_eq(errno, EFAULT);
    VW_EXPECT_ALLOC_REGION(p, p, PG, MEM_COMMIT, PAGE_EXECUTE_READ, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + PG, p + PG, 3 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    vw_assert_range_agrees(p, 4 * PG);

    ck_assert(VirtualProtect(p, 4 * PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_EXECUTE_READ);
    char *q = mremap(p, 4 * PG, 8 * PG, MREMAP_MAYMOVE);
    ck_assert_msg(q != MAP_FAILED, "mremap failed: %s", strerror(errno));
    ck_assert_ptr_ne(q, p);
    expect_filled(q, 4 * PG, 40, 0);
    ck_assert_int_eq(q[5 * PG], 0);
    VW_EXPECT_ALLOC_REGION(q, q, 8 * PG, MEM_COMMIT, PAGE_READONLY, q, PAGE_READWRITE);
    ck_assert(!vw_can_write(q));
    ck_assert(vw_can_read(q + 7 * PG));
    VW_CHECK_FREE(p, 4 * PG);
    ck_assert(!vw_can_read(p));
    vw_assert_range_agrees(p, 4 * PG);
    vw_assert_range_agrees(q, 8 * PG);

    SetLastError(SENTINEL);
    expect_error(VirtualFree(p, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    /* The new allocation works as one. */
    ck_assert(VirtualProtect(q + PG, PG, PAGE_READWRITE, &old));
    ck_assert_uint_eq(old, PAGE_READONLY);
    VW_EXPECT_ALLOC_REGION(q + PG, q + PG, PG, MEM_COMMIT, PAGE_READWRITE, q, PAGE_READWRITE);
    ck_assert(VirtualFree(q + 2 * PG, PG, MEM_DECOMMIT));
    VW_EXPECT_ALLOC_REGION(q + 2 * PG, q + 2 * PG, PG, MEM_RESERVE, 0, q, PAGE_READWRITE);
    vw_assert_range_agrees(q, 8 * PG);
    release_all(q, 8 * PG);
    if (blocker != MAP_FAILED)
        munmap(blocker, PG);
    vw_assert_all_agree();
}
END_TEST

/* Item 5 (mremap): an allocation outside the arenas with free address space above it
 * grows in place (no MREMAP_MAYMOVE): the new pages join the allocation (same base,
 * the last page's protection, zero-filled) and release frees all of it. */
START_TEST(test_mremap_grow_in_place)
{
    char *want = outside_space(4 * VW_64K);
    char *p = VirtualAlloc(want, 4 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(p, want);
    fill(p, 4 * PG, 50);
    char *q = mremap(p, 4 * PG, 12 * PG, 0);
    if (q == MAP_FAILED && errno == ENOMEM) {
        /* Something (the library's own tail of the block) sits right above: the kernel
         * cannot grow it in place, and the allocation must be untouched. */
        VW_EXPECT_ALLOC_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
        vw_assert_range_agrees(p, 4 * PG);
        release_all(p, 4 * PG);
        return;
    }
    ck_assert_ptr_eq(q, p);
    VW_EXPECT_ALLOC_REGION(p, p, 12 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    expect_filled(p, 4 * PG, 50, 0);
    ck_assert_int_eq(p[11 * PG], 0);
    ck_assert(vw_can_write(p + 11 * PG));
    vw_assert_range_agrees(p, 12 * PG);
    release_all(p, 12 * PG);
}
END_TEST

/* Issue 11 (mremap of locked memory): the kernel moves mlock with the pages and
 * locks what the call grew, moved (_i 0: arena, 1: dedicated) or grown in place
 * (_i 2).  The map follows: every page of the result is locked (VirtualUnlock of all
 * of it succeeds, once), as the kernel says before and after. */
START_TEST(test_mremap_locked)
{
    char *p, *q, *blocker = MAP_FAILED;
    if (_i < 2) {
        p = new_alloc(_i, 4 * PG, MEM_COMMIT, PAGE_READWRITE);
        blocker = mmap(p + 4 * PG, PG, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (blocker != MAP_FAILED && blocker != p + 4 * PG) {
            munmap(blocker, PG);
            blocker = MAP_FAILED;
        }
    } else {
        char *want = outside_space(4 * VW_64K);
        p = VirtualAlloc(want, 4 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
        ck_assert_ptr_eq(p, want);
    }
    fill(p, 4 * PG, 60);
    ck_assert(VirtualLock(p, 4 * PG));
    ck_assert_int_eq(vw_lock_state(p, 4 * PG), 1);
    q = mremap(p, 4 * PG, 8 * PG, _i < 2 ? MREMAP_MAYMOVE : 0);
    if (_i == 2 && q == MAP_FAILED && errno == ENOMEM) {
        /* Something sits right above (see test_mremap_grow_in_place): untouched. */
        ck_assert_int_eq(vw_lock_state(p, 4 * PG), 1);
        ck_assert(VirtualUnlock(p, 4 * PG));
        release_all(p, 4 * PG);
        return;
    }
    ck_assert_msg(q != MAP_FAILED, "mremap failed: %s", strerror(errno));
    if (_i < 2)
        ck_assert_ptr_ne(q, p);
    else
        ck_assert_ptr_eq(q, p);
    expect_filled(q, 4 * PG, 60, 0);
    VW_EXPECT_ALLOC_REGION(q, q, 8 * PG, MEM_COMMIT, PAGE_READWRITE, q, PAGE_READWRITE);
    ck_assert_int_eq(vw_lock_state(q, 8 * PG), 1);   /* the kernel's view */
    ck_assert(VirtualUnlock(q, 8 * PG));              /* the map's: every page locked */
    ck_assert_int_eq(vw_lock_state(q, 8 * PG), 0);
    SetLastError(SENTINEL);
    expect_error(VirtualUnlock(q, PG), ERROR_NOT_LOCKED);
    /* Locking again counts against the quota as before. */
    ck_assert(VirtualLock(q + PG, 2 * PG));
    vw_assert_range_agrees(q, 8 * PG);
    release_all(q, 8 * PG);
    if (blocker != MAP_FAILED)
        munmap(blocker, PG);
    vw_assert_all_agree();
}
END_TEST

/* Item 5 (mremap): MREMAP_FIXED into free arena space moves the allocation there:
 * committed and reserved pages keep their state, the new base is the target, the old
 * range is free, the moved allocation releases, and the target is then free address
 * space again: MEM_FREE and reservable (section 4: what VirtualQuery calls free can be
 * reserved). */
START_TEST(test_mremap_fixed_into_arena)
{
    char *p = new_alloc(_i, 8 * PG, 0, PAGE_READWRITE);
    ck_assert_ptr_eq(VirtualAlloc(p, 2 * PG, MEM_COMMIT, PAGE_READWRITE), p);
    fill(p, 2 * PG, 60);
    char *f = vw_free_space(VW_64K);
    char *q = mremap(p, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, f);
    ck_assert_msg(q == f, "mremap to %p gave %p (%s)", (void *)f, (void *)q, strerror(errno));
    VW_EXPECT_ALLOC_REGION(f, f, 2 * PG, MEM_COMMIT, PAGE_READWRITE, f, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(f + 2 * PG, f + 2 * PG, 6 * PG, MEM_RESERVE, 0, f, PAGE_READWRITE);
    expect_filled(f, 2 * PG, 60, 0);
    ck_assert(!vw_can_read(f + 2 * PG));
    VW_CHECK_FREE(p, 8 * PG);
    vw_assert_range_agrees(p, 8 * PG);
    vw_assert_range_agrees(f, VW_64K);

    ck_assert_ptr_eq(VirtualAlloc(f + 3 * PG, PG, MEM_COMMIT, PAGE_READONLY), f + 3 * PG);
    VW_EXPECT_ALLOC_REGION(f + 3 * PG, f + 3 * PG, PG, MEM_COMMIT, PAGE_READONLY, f,
                           PAGE_READWRITE);
    vw_assert_range_agrees(f, VW_64K);
    release_all(f, 8 * PG);
    char *again = VirtualAlloc(f, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_msg(again == f, "re-reserving the free range %p gave %p, error %u", (void *)f,
                  (void *)again, (unsigned)GetLastError());
    release_all(again, VW_64K);
}
END_TEST

/* Item 5 (mremap) with section 7: an untracked mapping of ours moved with MREMAP_FIXED
 * into free arena space becomes memory the library did not allocate there: described
 * from the kernel (MEM_PRIVATE, committed read-write, its own AllocationBase), and a
 * reservation over it fails with ERROR_INVALID_ADDRESS leaving it untouched (section 4). */
START_TEST(test_mremap_foreign_into_arena)
{
    char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    m[0] = 77;
    char *f = vw_free_space(VW_64K);
    char *q = mremap(m, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, f);
    ck_assert_ptr_eq(q, f);
    MEMORY_BASIC_INFORMATION mb = vw_query(f + PG);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_ptr_eq(mb.AllocationBase, f);
    ck_assert_ptr_eq((char *)mb.BaseAddress + mb.RegionSize, f + 2 * PG);
    ck_assert_int_eq(f[0], 77);
    SetLastError(SENTINEL);
    expect_error(VirtualAlloc(f, VW_64K, MEM_RESERVE, PAGE_READWRITE) != NULL,
                 ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(f[0], 77);
    ck_assert(vw_can_write(f + PG));
    vw_assert_range_agrees(f, VW_64K);
    ck_assert_int_eq(munmap(f, 2 * PG), 0);
    VW_CHECK_FREE(f, 2 * PG);
    vw_assert_range_agrees(f, VW_64K);
}
END_TEST

/* ---- mmap MAP_FIXED ----------------------------------------------------- */

/* Item 5 (mmap MAP_FIXED): a file mapped over part of an allocation is the caller's:
 * VirtualQuery describes it from the kernel (MEM_MAPPED, its protection, base at its
 * start, section 7), the allocation keeps the rest (same base) and releases without
 * destroying the caller's mapping, which stays readable until the caller unmaps it. */
START_TEST(test_mmap_fixed_file_over_allocation)
{
    int fd = vw_scratch_file(4, 'A', 1);
    char *p = new_alloc(_i, 16 * PG, MEM_COMMIT, PAGE_READWRITE);
    fill(p, 16 * PG, 30);
    char *m = mmap(p + 4 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    ck_assert_ptr_eq(m, p + 4 * PG);
    close(fd);
    ck_assert_int_eq(m[0], 'A');
    ck_assert_int_eq(m[3 * PG + 5], 'D');

    VW_EXPECT_ALLOC_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION mb = vw_query(m + PG);
    ck_assert_uint_eq(mb.Type, MEM_MAPPED);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Protect, PAGE_READWRITE);
    ck_assert_ptr_eq(mb.AllocationBase, m);
    ck_assert_ptr_eq((char *)mb.BaseAddress + mb.RegionSize, m + 4 * PG);
    VW_EXPECT_ALLOC_REGION(p + 8 * PG, p + 8 * PG, 8 * PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    expect_filled(p + 8 * PG, 8 * PG, 30, 8);
    vw_assert_range_agrees(p, 16 * PG);

    release_all(p, 4 * PG);
    VW_CHECK_FREE(p + 8 * PG, 8 * PG);
    mb = vw_query(m);
    ck_assert_uint_eq(mb.Type, MEM_MAPPED);
    ck_assert_ptr_eq(mb.AllocationBase, m);
    ck_assert_int_eq(m[2 * PG], 'C');
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)m, &k));
    ck_assert_uint_ne(k.inode, 0);
    vw_assert_range_agrees(p, 16 * PG);
    ck_assert_int_eq(munmap(m, 4 * PG), 0);
    VW_CHECK_FREE(m, 4 * PG);
    vw_assert_range_agrees(p, 16 * PG);
}
END_TEST

/* Item 5 (mmap MAP_FIXED): an anonymous read-only mapping over one committed page:
 * the new page is the caller's (MEM_PRIVATE, PAGE_READONLY, zero, base at its start),
 * the allocation releases around it and the caller's page survives the release. */
START_TEST(test_mmap_fixed_anon_over_allocation)
{
    char *p = new_alloc(_i, 4 * PG, MEM_COMMIT, PAGE_READWRITE);
    fill(p, 4 * PG, 90);
    char *m = mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    ck_assert_ptr_eq(m, p + PG);
    ck_assert_int_eq(m[0], 0);
    MEMORY_BASIC_INFORMATION mb = vw_query(m);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Protect, PAGE_READONLY);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_ptr_eq(mb.AllocationBase, m);
    ck_assert_uint_eq(mb.RegionSize, PG);
    VW_EXPECT_ALLOC_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 2 * PG, p + 2 * PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    vw_assert_range_agrees(p, 4 * PG);

    /* The caller's page is not the allocation's: VirtualFree cannot release from it. */
    SetLastError(SENTINEL);
    expect_error(VirtualFree(m, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    release_all(p, PG);
    VW_CHECK_FREE(p + 2 * PG, 2 * PG);
    ck_assert(vw_can_read(m));
    ck_assert(!vw_can_write(m));
    mb = vw_query(m);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Protect, PAGE_READONLY);
    vw_assert_range_agrees(p, 4 * PG);
    ck_assert_int_eq(munmap(m, PG), 0);
    vw_assert_range_agrees(p, 4 * PG);
}
END_TEST

/* Item 5 (mmap MAP_FIXED) with sections 4 and 7: a mapping placed by the caller over free
 * arena space is the caller's memory: never MEM_FREE, described from the kernel, and a
 * reservation over it fails with ERROR_INVALID_ADDRESS without touching it.
 * MAP_FIXED_NOREPLACE over an allocation fails with EEXIST and changes nothing. */
START_TEST(test_mmap_fixed_over_arena_free_space)
{
    char *f = vw_free_space(VW_64K);
    char *m = mmap(f, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0);
    ck_assert_ptr_eq(m, f);
    m[0] = 5;
    MEMORY_BASIC_INFORMATION mb = vw_query(f);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_ptr_eq(mb.AllocationBase, f);
    ck_assert_uint_eq(mb.RegionSize, 2 * PG);
    SetLastError(SENTINEL);
    expect_error(VirtualAlloc(f, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) != NULL,
                 ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(m[0], 5);
    vw_assert_range_agrees(f, VW_64K);
    ck_assert_int_eq(munmap(m, 2 * PG), 0);
    VW_CHECK_FREE(f, 2 * PG);
    vw_assert_range_agrees(f, VW_64K);

    char *p = VirtualAlloc(NULL, 2 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    p[0] = 6;
    errno = 0;
    void *r = mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (r != MAP_FAILED && r != p)
        munmap(r, PG);   /* a kernel without MAP_FIXED_NOREPLACE placed it elsewhere */
    else
        ck_assert_msg(r == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE over %p: %p %s",
                      (void *)p, r, strerror(errno));
    VW_EXPECT_ALLOC_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    ck_assert_int_eq(p[0], 6);
    release_all(p, 2 * PG);
    vw_assert_all_agree();
}
END_TEST

/* ---- untracked memory passes through ---------------------------------------- */

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef int (*mprotect_fn)(void *, size_t, int);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);

static struct {
    mmap_fn mmap;
    munmap_fn munmap;
    mprotect_fn mprotect;
    mremap_fn mremap;
} libc;

static void load_libc(void)
{
    void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    ck_assert_ptr_nonnull(h);
    void *s[4] = { dlsym(h, "mmap"), dlsym(h, "munmap"), dlsym(h, "mprotect"),
                   dlsym(h, "mremap") };
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(s[i]);
    memcpy(&libc.mmap, &s[0], sizeof s[0]);
    memcpy(&libc.munmap, &s[1], sizeof s[1]);
    memcpy(&libc.mprotect, &s[2], sizeof s[2]);
    memcpy(&libc.mremap, &s[3], sizeof s[3]);
}

/* The result and errno of one call, for comparison. */
struct outcome {
    long ret;
    int err;
};

#define COMPARE(ours, theirs) compare(__LINE__, (ours), (theirs))
static void compare(int line, struct outcome a, struct outcome b)
{
    ck_assert_msg(a.ret == b.ret && a.err == b.err,
                  "line %d: interposed call gave %ld errno %d, libc's gave %ld errno %d", line,
                  a.ret, a.err, b.ret, b.err);
}

#define RUN(expr) run_outcome((long)(intptr_t)(expr))
static struct outcome run_outcome(long ret)
{
    struct outcome o = { ret, ret == -1 ? errno : 0 };
    return o;
}

/* Item 5 (everything else passes straight to the kernel): the names the program calls
 * are the library's (it is linked ahead of libc), and on memory it does not track they
 * return exactly what libc's own calls return, errno values included. */
START_TEST(test_untracked_errors_like_libc)
{
    load_libc();
    void *ours;
    mmap_fn fp = mmap;
    memcpy(&ours, &fp, sizeof ours);
    Dl_info di;
    ck_assert(dladdr(ours, &di));
    /* Under ASan its runtime's interceptor comes first and calls ours next. */
#ifdef __SANITIZE_ADDRESS__
    ck_assert_msg(strstr(di.dli_fname, "virtualwin") != NULL || strstr(di.dli_fname, "libasan"),
                  "mmap resolves to %s, not the library", di.dli_fname);
#else
    ck_assert_msg(strstr(di.dli_fname, "virtualwin") != NULL,
                  "mmap resolves to %s, not the library", di.dli_fname);
#endif

    char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    ck_assert_int_eq(munmap(m + 2 * PG, PG), 0);   /* a hole of ours: m + 2 pages */
    char *hole = m + 2 * PG;
    int fd = vw_scratch_file(1, 'A', 1);

    errno = 0; struct outcome a = RUN(munmap(m + 1, PG));
    errno = 0; struct outcome b = RUN(libc.munmap(m + 1, PG));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EINVAL);
    errno = 0; a = RUN(munmap(m, 0));
    errno = 0; b = RUN(libc.munmap(m, 0));
    COMPARE(a, b);
    errno = 0; a = RUN(mprotect(m + 1, PG, PROT_READ));
    errno = 0; b = RUN(libc.mprotect(m + 1, PG, PROT_READ));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EINVAL);
    errno = 0; a = RUN(mprotect(hole, PG, PROT_READ));
    errno = 0; b = RUN(libc.mprotect(hole, PG, PROT_READ));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, ENOMEM);
    errno = 0; a = RUN(mprotect(m, PG, 0x40000000));
    errno = 0; b = RUN(libc.mprotect(m, PG, 0x40000000));
    COMPARE(a, b);
    errno = 0; a = RUN(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    errno = 0; b = RUN(libc.mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EINVAL);
    errno = 0; a = RUN(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0));
    errno = 0; b = RUN(libc.mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0));
    COMPARE(a, b);
    errno = 0; a = RUN(mmap(hole + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    errno = 0; b = RUN(libc.mmap(hole + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EINVAL);
    errno = 0; a = RUN(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 1000, 0));
    errno = 0; b = RUN(libc.mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 1000, 0));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EBADF);
    errno = 0; a = RUN(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 1));
    errno = 0; b = RUN(libc.mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 1));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EINVAL);
    errno = 0; a = RUN(mremap(hole, PG, 2 * PG, MREMAP_MAYMOVE));
    errno = 0; b = RUN(libc.mremap(hole, PG, 2 * PG, MREMAP_MAYMOVE));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EFAULT);
    errno = 0; a = RUN(mremap(m + 1, PG, 2 * PG, MREMAP_MAYMOVE));
    errno = 0; b = RUN(libc.mremap(m + 1, PG, 2 * PG, MREMAP_MAYMOVE));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EINVAL);
    errno = 0; a = RUN(mremap(m, PG, 2 * PG, 0x80));
    errno = 0; b = RUN(libc.mremap(m, PG, 2 * PG, 0x80));
    COMPARE(a, b);
    errno = 0; a = RUN(mremap(m, PG, PG, MREMAP_FIXED, m + PG));
    errno = 0; b = RUN(libc.mremap(m, PG, PG, MREMAP_FIXED, m + PG));
    COMPARE(a, b);
    ck_assert_int_eq(a.err, EINVAL);

    /* Successes on our own memory, as the kernel does them. */
    errno = 4321;
    ck_assert_int_eq(mprotect(m, PG, PROT_READ), 0);
    ck_assert_int_eq(errno, 4321);
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)m, &k));
    ck_assert_int_eq(strncmp(k.perms, "r--", 3), 0);
    MEMORY_BASIC_INFORMATION mb = vw_query(m);
    ck_assert_uint_eq(mb.Protect, PAGE_READONLY);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_ptr_eq(mb.AllocationBase, m);
    char *fixed = mmap(hole, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                       -1, 0);
    ck_assert_ptr_eq(fixed, hole);
    fixed[0] = 1;
    char *moved = mremap(m + 3 * PG, PG, 3 * PG, MREMAP_MAYMOVE);
    ck_assert(moved != MAP_FAILED);
    moved[2 * PG] = 2;
    vw_assert_range_agrees(m, 3 * PG);
    vw_assert_range_agrees(moved, 3 * PG);
    ck_assert_int_eq(munmap(moved, 3 * PG), 0);
    ck_assert_int_eq(munmap(m, 3 * PG), 0);
    ck_assert(!vw_kernel_mapping((uintptr_t)m, &k) || k.start != (uintptr_t)m);
    close(fd);
    vw_assert_all_agree();
}
END_TEST

/* Item 5 (everything else passes straight to the kernel): untracked mappings right
 * next to an allocation are changed by munmap/mprotect as the kernel does and
 * VirtualQuery follows from the kernel's view; the allocation beside them is untouched
 * and the regions never merge across them (section 7). */
START_TEST(test_untracked_next_to_allocation)
{
    char *want = outside_space(3 * VW_64K);
    char *p = VirtualAlloc(want + VW_64K, 2 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(p, want + VW_64K);
    p[0] = 3;
    char *lo = mmap(p - 2 * PG, 2 * PG, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    ck_assert_ptr_eq(lo, p - 2 * PG);
    lo[0] = 4;
    ck_assert_int_eq(mprotect(lo + PG, PG, PROT_READ), 0);
    MEMORY_BASIC_INFORMATION mb = vw_query(lo + PG);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Protect, PAGE_READONLY);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_ptr_eq((char *)mb.BaseAddress + mb.RegionSize, p);
    ck_assert(!vw_can_write(lo + PG));
    VW_EXPECT_ALLOC_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    vw_assert_range_agrees(lo, 4 * PG);

    ck_assert_int_eq(mprotect(lo, PG, PROT_NONE), 0);
    mb = vw_query(lo);
    ck_assert_uint_eq(mb.State, MEM_RESERVE);
    ck_assert_uint_eq(mb.Protect, 0);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_int_eq(munmap(lo + PG, PG), 0);
    VW_CHECK_FREE(lo + PG, PG);
    ck_assert_uint_eq(vw_query(lo + PG).RegionSize, PG);
    VW_EXPECT_ALLOC_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    ck_assert_int_eq(p[0], 3);
    vw_assert_range_agrees(lo, 4 * PG);
    release_all(p, 2 * PG);
    mb = vw_query(lo);
    ck_assert_uint_eq(mb.State, MEM_RESERVE);
    ck_assert_int_eq(munmap(lo, PG), 0);
    VW_CHECK_FREE(lo, 4 * PG);
    vw_assert_range_agrees(lo, 4 * PG);
}
END_TEST

/* ---- references from other libraries ------------------------------------------ */


/* Item 5 ("when the program or any of its libraries applies them"): the names
 * resolve, by the dynamic linker's ordinary lookup, to the library's functions
 * (exported unversioned, so that references to munmap@GLIBC_x from libc-linked
 * libraries bind to them too: dlvsym would not show that, since an explicit
 * version lookup wants that exact version; the preloaded, unlinked program in
 * check_launcher.sh does).  munmap and mprotect called through them on tracked
 * memory keep the map true and VirtualQuery agrees with the kernel. */
START_TEST(test_versioned_references_reach_the_library)
{
    void *u = dlsym(RTLD_DEFAULT, "munmap");
    void *pr = dlsym(RTLD_DEFAULT, "mprotect");
    ck_assert_ptr_nonnull(u);
    ck_assert_ptr_nonnull(pr);
    munmap_fn lib_munmap;
    mprotect_fn lib_mprotect;
    memcpy(&lib_munmap, &u, sizeof u);
    memcpy(&lib_mprotect, &pr, sizeof pr);
    Dl_info di;
    ck_assert(dladdr(u, &di));
    const char *bound = di.dli_fname;

    char *p = VirtualAlloc(NULL, 4 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(lib_mprotect(p, PG, PROT_READ), 0);
    ck_assert_int_eq(lib_munmap(p + 2 * PG, PG), 0);
    MEMORY_BASIC_INFORMATION m1 = vw_query(p), m2 = vw_query(p + 2 * PG);
    ck_assert_msg(m1.Protect == PAGE_READONLY && m2.State == MEM_FREE,
                  "through munmap (bound to %s): page 0 Protect %#x, unmapped page 2 State %#x",
                  bound, (unsigned)m1.Protect, (unsigned)m2.State);
    vw_assert_range_agrees(p, 4 * PG);
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
}
END_TEST

/* ---- kernel flags into and out of library memory (issue 11, item 4) ---------- */

/* Item 4 (mremap MREMAP_DONTUNMAP): the kernel moves the pages and keeps the old
 * range mapped with the same protection, emptied (reads zero, stays writable).  The
 * map follows: the old range is still the allocation, committed read-write (never
 * MEM_FREE, so the next reservation cannot land on writable memory), and the new range
 * is an allocation of its own holding the contents; mlock is dropped on the old range,
 * as the kernel drops it.  Both release.  _i == 2 moves with
 * MREMAP_FIXED into free arena space. */
START_TEST(test_mremap_dontunmap)
{
    char *p = new_alloc(_i == 1, 4 * PG, MEM_COMMIT, PAGE_READWRITE);
    char *f = _i == 2 ? vw_free_space(VW_64K) : NULL;
    fill(p, 4 * PG, 70);
    ck_assert(VirtualLock(p, 4 * PG));
    int flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP | (f ? MREMAP_FIXED : 0);
    char *q = mremap(p, 4 * PG, 4 * PG, flags, f);
    ck_assert_msg(q != MAP_FAILED, "mremap DONTUNMAP failed: %s", strerror(errno));
    ck_assert_ptr_ne(q, p);
    if (f)
        ck_assert_ptr_eq(q, f);
    expect_filled(q, 4 * PG, 70, 0);
    VW_EXPECT_ALLOC_REGION(q, q, 4 * PG, MEM_COMMIT, PAGE_READWRITE, q, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p, p, 4 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    ck_assert(vw_can_write(p + 3 * PG));
    ck_assert_int_eq(p[0], 0);
    ck_assert_int_eq(p[3 * PG + 64], 0);
    vw_assert_range_agrees(p, 4 * PG);
    vw_assert_range_agrees(q, 4 * PG);
    /* The kernel drops mlock on the range it keeps, and moves it with the pages. */
    SetLastError(SENTINEL);
    expect_error(VirtualUnlock(p, 4 * PG), ERROR_NOT_LOCKED);
    ck_assert_int_eq(vw_lock_state(q, 4 * PG), 1);
    ck_assert(VirtualUnlock(q, 4 * PG));
    ck_assert_int_eq(vw_lock_state(q, 4 * PG), 0);

    /* The old range is not free: neither a reservation at it nor one anywhere gets it. */
    SetLastError(SENTINEL);
    expect_error(VirtualAlloc(p, 4 * PG, MEM_RESERVE, PAGE_READWRITE) != NULL,
                 ERROR_INVALID_ADDRESS);
    char *n = VirtualAlloc(NULL, 4 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(n);
    ck_assert_msg(n + 4 * PG <= p || n >= p + 4 * PG, "reservation %p over the kept range %p",
                  (void *)n, (void *)p);
    release_all(n, 4 * PG);
    p[PG] = 9;
    ck_assert(VirtualFree(p + PG, PG, MEM_DECOMMIT));
    VW_EXPECT_ALLOC_REGION(p + PG, p + PG, PG, MEM_RESERVE, 0, p, PAGE_READWRITE);
    release_all(p, 4 * PG);
    expect_filled(q, 4 * PG, 70, 0);
    release_all(q, 4 * PG);
    vw_assert_all_agree();
}
END_TEST

/* Item 4 (mremap MREMAP_FIXED into library memory): a mapping of the program's moved
 * over part of an allocation replaces those pages: they are the program's (described
 * from the kernel, its own base and contents), the allocation keeps the rest (same
 * base) and releases around them without touching them. */
START_TEST(test_mremap_fixed_over_allocation)
{
    char *p = new_alloc(_i, 4 * PG, MEM_COMMIT, PAGE_READWRITE);
    fill(p, 4 * PG, 80);
    char *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    m[0] = 77;
    char *q = mremap(m, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, p + PG);
    ck_assert_msg(q == p + PG, "mremap to %p gave %p (%s)", (void *)(p + PG), (void *)q,
                  strerror(errno));
    ck_assert_int_eq(q[0], 77);
    MEMORY_BASIC_INFORMATION mb = vw_query(q);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_ptr_eq(mb.AllocationBase, q);
    VW_EXPECT_ALLOC_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    VW_EXPECT_ALLOC_REGION(p + 2 * PG, p + 2 * PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p,
                           PAGE_READWRITE);
    expect_filled(p + 2 * PG, 2 * PG, 80, 2);
    vw_assert_range_agrees(p, 4 * PG);
    release_all(p, PG);
    VW_CHECK_FREE(p + 2 * PG, 2 * PG);
    ck_assert_int_eq(q[0], 77);
    ck_assert(vw_can_write(q));
    vw_assert_range_agrees(p, 4 * PG);
    ck_assert_int_eq(munmap(q, PG), 0);
    VW_CHECK_FREE(q, PG);
    vw_assert_range_agrees(p, 4 * PG);
}
END_TEST

/* Item 4 with section 4 (MAP_FIXED_NOREPLACE into arena space VirtualQuery calls free):
 * the program's mapping is placed there as the kernel places it in any free range,
 * described from the kernel, and a reservation over it fails without touching it; once
 * unmapped the space is free again and reservable; a call the kernel refuses changes
 * nothing.  Over a range holding any page of an allocation
 * (even one page of it, the rest free) NOREPLACE still fails with EEXIST and changes
 * nothing. */
START_TEST(test_mmap_noreplace_into_arena_free_space)
{
    char *f = vw_free_space(VW_64K);
    /* A call the kernel refuses (a bad descriptor) changes nothing. */
    errno = 0;
    void *bad = mmap(f + PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, 12345, 0);
    ck_assert_msg(bad == MAP_FAILED && errno == EBADF, "bad fd: %p %s", bad, strerror(errno));
    VW_CHECK_FREE(f, VW_64K);
    vw_assert_range_agrees(f, VW_64K);
    errno = 0;
    char *m = mmap(f + PG, 2 * PG, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ck_assert_msg(m == f + PG, "MAP_FIXED_NOREPLACE at free %p gave %p (%s)", (void *)(f + PG),
                  (void *)m, strerror(errno));
    ck_assert_int_eq(m[0], 0);
    m[PG] = 5;
    MEMORY_BASIC_INFORMATION mb = vw_query(m);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_ptr_eq(mb.AllocationBase, m);
    ck_assert_uint_eq(mb.RegionSize, 2 * PG);
    SetLastError(SENTINEL);
    expect_error(VirtualAlloc(f, VW_64K, MEM_RESERVE, PAGE_READWRITE) != NULL,
                 ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(m[PG], 5);
    vw_assert_range_agrees(f, VW_64K);
    ck_assert_int_eq(munmap(m, 2 * PG), 0);
    VW_CHECK_FREE(f, VW_64K);
    vw_assert_range_agrees(f, VW_64K);
    char *again = VirtualAlloc(f, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_msg(again == f, "re-reserving the free range %p gave %p, error %u", (void *)f,
                  (void *)again, (unsigned)GetLastError());
    release_all(again, VW_64K);

    char *p = VirtualAlloc(NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    p[0] = 6;
    VW_CHECK_FREE(p + PG, PG);
    errno = 0;
    void *r = mmap(p, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ck_assert_msg(r == MAP_FAILED && errno == EEXIST, "NOREPLACE over %p: %p %s", (void *)p, r,
                  strerror(errno));
    errno = 0;
    r = mmap(p - PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ck_assert_msg(r == MAP_FAILED && errno == EEXIST, "NOREPLACE over %p: %p %s", (void *)p, r,
                  strerror(errno));
    VW_EXPECT_ALLOC_REGION(p, p, PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    ck_assert_int_eq(p[0], 6);
    vw_assert_range_agrees(p - PG, VW_64K);
    release_all(p, PG);
    vw_assert_all_agree();
}
END_TEST

/* Item 4 with section 4 (an address hint into arena space VirtualQuery calls free): the
 * kernel uses a hint at a free range, so the mapping lands exactly there; a hint at a
 * range holding an allocation's page is not clobbered: the kernel places the mapping
 * elsewhere and the allocation keeps its contents. */
START_TEST(test_mmap_hint_into_arena_free_space)
{
    char *f = vw_free_space(VW_64K);
    char *m = mmap(f, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(m == f, "hint %p gave %p", (void *)f, (void *)m);
    m[2 * PG] = 7;
    MEMORY_BASIC_INFORMATION mb = vw_query(m + PG);
    ck_assert_uint_eq(mb.State, MEM_COMMIT);
    ck_assert_uint_eq(mb.Type, MEM_PRIVATE);
    ck_assert_ptr_eq(mb.AllocationBase, m);
    ck_assert_uint_eq(mb.RegionSize, 2 * PG);
    vw_assert_range_agrees(f, VW_64K);
    ck_assert_int_eq(munmap(m, 3 * PG), 0);
    VW_CHECK_FREE(f, VW_64K);

    char *p = VirtualAlloc(NULL, 2 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    fill(p, 2 * PG, 33);
    char *h = mmap(p + PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(h != MAP_FAILED);
    ck_assert(h + 2 * PG <= p || h >= p + 2 * PG);
    expect_filled(p, 2 * PG, 33, 0);
    VW_EXPECT_ALLOC_REGION(p, p, 2 * PG, MEM_COMMIT, PAGE_READWRITE, p, PAGE_READWRITE);
    vw_assert_range_agrees(p, VW_64K);
    ck_assert_int_eq(munmap(h, 2 * PG), 0);
    release_all(p, 2 * PG);
    vw_assert_all_agree();
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

static Suite *interpose_suite(void)
{
    Suite *s = suite_create("interpose");

    TCase *tc = tcase_create("munmap");
    tcase_add_loop_test(tc, test_munmap_middle, 0, 2);
    tcase_add_loop_test(tc, test_munmap_first_page, 0, 2);
    tcase_add_loop_test(tc, test_munmap_piecewise, 0, 2);
    tcase_add_loop_test(tc, test_munmap_across_two, 0, 2);
    tcase_add_test(tc, test_munmap_arena_free_space);
    tcase_add_loop_test(tc, test_munmap_unaligned, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("mprotect");
    tcase_add_loop_test(tc, test_mprotect_protect_follows, 0, 2);
    tcase_add_loop_test(tc, test_mprotect_reserved_becomes_committed, 0, 2);
    tcase_add_loop_test(tc, test_mprotect_none, 0, 2);
    tcase_add_test(tc, test_mprotect_arena_free_space);
    suite_add_tcase(s, tc);

    tc = tcase_create("mremap");
    tcase_add_loop_test(tc, test_mremap_shrink, 0, 2);
    tcase_add_loop_test(tc, test_mremap_grow_moves, 0, 2);
    tcase_add_test(tc, test_mremap_grow_in_place);
    tcase_add_loop_test(tc, test_mremap_locked, 0, 3);
    tcase_add_loop_test(tc, test_mremap_fixed_into_arena, 0, 2);
    tcase_add_test(tc, test_mremap_foreign_into_arena);
    suite_add_tcase(s, tc);

    tc = tcase_create("mmap");
    tcase_add_loop_test(tc, test_mmap_fixed_file_over_allocation, 0, 2);
    tcase_add_loop_test(tc, test_mmap_fixed_anon_over_allocation, 0, 2);
    tcase_add_test(tc, test_mmap_fixed_over_arena_free_space);
    suite_add_tcase(s, tc);

    tc = tcase_create("passthrough");
    tcase_add_test(tc, test_untracked_errors_like_libc);
    tcase_add_test(tc, test_untracked_next_to_allocation);
    suite_add_tcase(s, tc);

    tc = tcase_create("kernel flags");
    tcase_add_loop_test(tc, test_mremap_dontunmap, 0, 3);
    tcase_add_loop_test(tc, test_mremap_fixed_over_allocation, 0, 2);
    tcase_add_test(tc, test_mmap_noreplace_into_arena_free_space);
    tcase_add_test(tc, test_mmap_hint_into_arena_free_space);
    suite_add_tcase(s, tc);

    tc = tcase_create("libraries");
    tcase_add_test(tc, test_versioned_references_reach_the_library);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(interpose_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
