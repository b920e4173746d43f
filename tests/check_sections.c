/*
 * check_sections.c: sections and views (spec section 15): CreateFileMapping,
 * OpenFileMapping, MapViewOfFile(Ex/3), UnmapViewOfFile(Ex/2),
 * FlushViewOfFile, CreateFile/GetFileSizeEx for file-backed sections, the
 * native NtMapViewOfSection / NtUnmapViewOfSection, and how views look to
 * VirtualQuery, VirtualProtect, VirtualAlloc(MEM_COMMIT), VirtualFree and
 * VirtualLock.  Also the handle table with real objects (values, double
 * close, wrong type, duplicates, reuse, fork, threads).
 *
 * Windows facts (Wine's kernel32 conformance tests, run on Windows): a view
 * is MEM_MAPPED with AllocationBase its base and AllocationProtect its
 * protection; SEC_RESERVE views are MEM_RESERVE with Protect 0 until
 * VirtualAlloc(MEM_COMMIT) commits pages in the section (then committed in
 * every view, each with its view's protection); VirtualFree on a view is
 * ERROR_INVALID_PARAMETER; UnmapViewOfFile of anything else
 * ERROR_INVALID_ADDRESS; a FILE_MAP_WRITE view of a read-only handle or
 * section ERROR_ACCESS_DENIED; an offset not a multiple of 64 KiB
 * ERROR_MAPPED_ALIGNMENT; a view past the section's end ERROR_ACCESS_DENIED;
 * a name goes away with its last handle even while views remain.
 */
#include <check.h>
#include <virtualwin/nt.h>
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define G 0x10000u
#define PG VW_PAGE
#define CHILD_ALARM 10

static HANDLE new_section(DWORD prot, DWORD size)
{
    SetLastError(VW_SENTINEL_ERR);
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, prot, 0, size, NULL);
    ck_assert_msg(h != NULL, "CreateFileMappingA(%#x, %#x) failed, error %u", (unsigned)prot,
                  (unsigned)size, (unsigned)GetLastError());
    ck_assert_uint_eq(GetLastError(), 0);   /* Windows sets 0 on a new section */
    ck_assert_uint_eq((uintptr_t)h % 4, 0);
    return h;
}

static char *map_ok(HANDLE h, DWORD access, DWORD off, SIZE_T size)
{
    SetLastError(VW_KEEP_ERR);
    char *p = MapViewOfFile(h, access, 0, off, size);
    ck_assert_msg(p != NULL, "MapViewOfFile(%#x, %#x, %#zx) failed, error %u", (unsigned)access,
                  (unsigned)off, (size_t)size, (unsigned)GetLastError());
    ck_assert_uint_eq(GetLastError(), VW_KEEP_ERR);
    ck_assert_uint_eq((uintptr_t)p % G, 0);
    return p;
}

#define EXPECT_MAP_FAIL(call, err) VW_EXPECT_ALLOC_FAIL(call, err)

/* ---- creation ------------------------------------------------------------------- */

START_TEST(test_create_rules)
{
    EXPECT_MAP_FAIL(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 0, NULL),
                    ERROR_INVALID_PARAMETER);
    static const DWORD bad_prot[] = { 0, PAGE_NOACCESS, PAGE_EXECUTE, PAGE_READWRITE | PAGE_GUARD,
                                      PAGE_READONLY | PAGE_READWRITE,
                                      PAGE_READWRITE | SEC_COMMIT | SEC_RESERVE,
                                      PAGE_READWRITE | 0x00010000 };
    for (size_t i = 0; i < sizeof bad_prot / sizeof bad_prot[0]; i++)
        EXPECT_MAP_FAIL(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, bad_prot[i], 0, G, NULL),
                        ERROR_INVALID_PARAMETER);
    EXPECT_MAP_FAIL(CreateFileMappingA(NULL, NULL, PAGE_READWRITE, 0, G, NULL),
                    ERROR_INVALID_HANDLE);
    EXPECT_MAP_FAIL(CreateFileMappingA((HANDLE)0x7FF0, NULL, PAGE_READWRITE, 0, G, NULL),
                    ERROR_INVALID_HANDLE);
    static const DWORD good[] = { PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY,
                                  PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                  PAGE_EXECUTE_WRITECOPY, PAGE_READWRITE | SEC_COMMIT,
                                  PAGE_READWRITE | SEC_RESERVE };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        HANDLE h = new_section(good[i], 3 * G);
        VW_EXPECT_OK(CloseHandle(h));
    }
    /* The size comes from both halves: a 4 GiB + 64 KiB section maps at 4 GiB. */
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 1, G, NULL);
    ck_assert_ptr_nonnull(h);
    char *p = MapViewOfFile(h, FILE_MAP_WRITE, 1, 0, 0);
    ck_assert_ptr_nonnull(p);
    VW_ASSERT_REGION(p, p, G, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    p[G - 1] = 7;
    VW_EXPECT_OK(UnmapViewOfFile(p));
    VW_EXPECT_OK(CloseHandle(h));
}
END_TEST

/* ---- views as VirtualQuery sees them; contents across views ---------------------- */

START_TEST(test_view_basics)
{
    HANDLE h = new_section(PAGE_READWRITE, 4 * G);
    char *w = map_ok(h, FILE_MAP_WRITE, 0, 0);
    char *r = map_ok(h, FILE_MAP_READ, 0, 0);
    ck_assert_ptr_ne(w, r);
    VW_CHECK_MBI(w, w, w, PAGE_READWRITE, 4 * G, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    VW_CHECK_MBI(r + PG, r + PG, r, PAGE_READONLY, 4 * G - PG, MEM_COMMIT, PAGE_READONLY,
                 MEM_MAPPED);
    ck_assert(vw_is_zero(r, 4 * G));
    vw_fill_pattern(w, 4 * G, 11);
    ck_assert(vw_has_pattern(r, 4 * G, 11));   /* one section, the same bytes */
    ck_assert(!vw_can_write(r));
    vw_assert_range_agrees(w, 4 * G);
    vw_assert_range_agrees(r, 4 * G);
    /* VirtualFree never applies to a view. */
    VW_EXPECT_FAIL(VirtualFree(w, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(VirtualFree(w, G, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    ck_assert(vw_has_pattern(w, 4 * G, 11));
    /* MEM_RESET applies (Windows: the contents may go; a shared view keeps them). */
    VW_EXPECT_ALLOC_AT(VirtualAlloc(w, 4 * G, MEM_RESET, PAGE_READONLY), w);
    VW_CHECK_MBI(w, w, w, PAGE_READWRITE, 4 * G, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    ck_assert(vw_has_pattern(r, 4 * G, 11));
    /* Unmapping by an address inside the view; twice fails. */
    VW_EXPECT_OK(UnmapViewOfFile(w + 5));
    VW_CHECK_FREE(w, 4 * G);
    VW_CHECK_NO_ACCESS(w);
    VW_EXPECT_FAIL(UnmapViewOfFile(w), ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(r, 4 * G, 11));
    /* The section outlives its handle in its views. */
    VW_EXPECT_OK(CloseHandle(h));
    ck_assert(vw_has_pattern(r, 4 * G, 11));
    VW_EXPECT_OK(UnmapViewOfFileEx(r, 0));
    VW_CHECK_FREE(r, 4 * G);
    /* Not views. */
    char *a = vw_alloc_commit(G, PAGE_READWRITE);
    VW_EXPECT_FAIL(UnmapViewOfFile(a), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(UnmapViewOfFile(a + 0x3000), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(UnmapViewOfFile((void *)0xdeadbeef), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(UnmapViewOfFile(NULL), ERROR_INVALID_ADDRESS);
    VW_EXPECT_FAIL(UnmapViewOfFileEx(a, 0x10), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(FlushViewOfFile(a, 0), ERROR_INVALID_ADDRESS);
    vw_release(a);
}
END_TEST

START_TEST(test_offsets_and_sizes)
{
    HANDLE h = new_section(PAGE_READWRITE, 3 * G + 100);
    EXPECT_MAP_FAIL(MapViewOfFile(h, FILE_MAP_READ, 0, 0x1000, 0), ERROR_MAPPED_ALIGNMENT);
    EXPECT_MAP_FAIL(MapViewOfFile(h, FILE_MAP_READ, 0, G + 1, G), ERROR_MAPPED_ALIGNMENT);
    EXPECT_MAP_FAIL(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 3 * G + 101), ERROR_ACCESS_DENIED);
    EXPECT_MAP_FAIL(MapViewOfFile(h, FILE_MAP_READ, 0, 2 * G, G + 101), ERROR_ACCESS_DENIED);
    EXPECT_MAP_FAIL(MapViewOfFile(h, FILE_MAP_READ, 0, 4 * G, 0), ERROR_INVALID_PARAMETER);
    EXPECT_MAP_FAIL(MapViewOfFile(h, FILE_MAP_READ, 1, 0, 0), ERROR_INVALID_PARAMETER);
    /* Size 0: to the end, in whole pages. */
    char *all = map_ok(h, FILE_MAP_WRITE, 0, 0);
    VW_CHECK_MBI(all, all, all, PAGE_READWRITE, 3 * G + PG, MEM_COMMIT, PAGE_READWRITE,
                 MEM_MAPPED);
    char *tail = map_ok(h, FILE_MAP_READ, 2 * G, 0);
    VW_CHECK_MBI(tail, tail, tail, PAGE_READONLY, G + PG, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    char *mid = map_ok(h, FILE_MAP_READ, G, 100);
    VW_CHECK_MBI(mid, mid, mid, PAGE_READONLY, PG, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    /* The rest of the 64 KiB granule belongs to no one. */
    VW_CHECK_FREE(mid + PG, G - PG);
    all[2 * G + 5] = 42;
    all[G] = 43;
    ck_assert_int_eq(tail[5], 42);
    ck_assert_int_eq(mid[0], 43);
    VW_EXPECT_OK(UnmapViewOfFile(all));
    VW_EXPECT_OK(UnmapViewOfFile(tail));
    VW_EXPECT_OK(UnmapViewOfFile(mid));
    VW_EXPECT_OK(CloseHandle(h));
}
END_TEST

START_TEST(test_map_at_address)
{
    HANDLE h = new_section(PAGE_READWRITE, 2 * G);
    char *at = vw_free_space(2 * G);
    SetLastError(VW_KEEP_ERR);
    ck_assert_ptr_eq(MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0, at), at);
    ck_assert_uint_eq(GetLastError(), VW_KEEP_ERR);
    VW_CHECK_MBI(at, at, at, PAGE_READWRITE, 2 * G, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    /* Taken now, by the view and by a private allocation. */
    EXPECT_MAP_FAIL(MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0, at), ERROR_INVALID_ADDRESS);
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(at, G, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    char *a = vw_alloc_reserve(2 * G, PAGE_READWRITE);
    EXPECT_MAP_FAIL(MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0, a), ERROR_INVALID_ADDRESS);
    EXPECT_MAP_FAIL(MapViewOfFileEx(h, FILE_MAP_WRITE, 0, 0, 0, at + PG), ERROR_MAPPED_ALIGNMENT);
    VW_ASSERT_REGION(a, a, 2 * G, MEM_RESERVE, 0, MEM_PRIVATE);   /* untouched */
    vw_release(a);
    VW_EXPECT_OK(UnmapViewOfFile(at));
    /* Free again: a reservation fits there now. */
    VW_EXPECT_ALLOC_AT(VirtualAlloc(at, 2 * G, MEM_RESERVE, PAGE_READWRITE), at);
    vw_release(at);
    VW_EXPECT_OK(CloseHandle(h));
}
END_TEST

/* ---- access rights and protections -------------------------------------------------- */

START_TEST(test_access_rules)
{
    HANDLE ro = new_section(PAGE_READONLY, G);
    EXPECT_MAP_FAIL(MapViewOfFile(ro, FILE_MAP_WRITE, 0, 0, 0), ERROR_ACCESS_DENIED);
    EXPECT_MAP_FAIL(MapViewOfFile(ro, FILE_MAP_ALL_ACCESS, 0, 0, 0), ERROR_ACCESS_DENIED);
    EXPECT_MAP_FAIL(MapViewOfFile(ro, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0),
                    ERROR_ACCESS_DENIED);
    char *p = map_ok(ro, FILE_MAP_READ, 0, 0);
    VW_CHECK_MBI(p, p, p, PAGE_READONLY, G, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    char *c = map_ok(ro, FILE_MAP_COPY, 0, 0);
    VW_CHECK_MBI(c, c, c, PAGE_WRITECOPY, G, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    char *n = map_ok(ro, 0, 0, 0);
    VW_CHECK_MBI(n, n, n, PAGE_NOACCESS, G, MEM_COMMIT, PAGE_NOACCESS, MEM_MAPPED);
    VW_CHECK_NO_ACCESS(n);
    c[0] = 1;   /* a private copy: the section is unchanged */
    ck_assert_int_eq(p[0], 0);
    VW_EXPECT_OK(UnmapViewOfFile(p));
    VW_EXPECT_OK(UnmapViewOfFile(c));
    VW_EXPECT_OK(UnmapViewOfFile(n));
    VW_EXPECT_OK(CloseHandle(ro));

    HANDLE rwx = new_section(PAGE_EXECUTE_READWRITE, G);
    char *x = map_ok(rwx, FILE_MAP_WRITE | FILE_MAP_EXECUTE, 0, 0);
    VW_CHECK_MBI(x, x, x, PAGE_EXECUTE_READWRITE, G, MEM_COMMIT, PAGE_EXECUTE_READWRITE,
                 MEM_MAPPED);
    char *xr = map_ok(rwx, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0);
    VW_CHECK_MBI(xr, xr, xr, PAGE_EXECUTE_READ, G, MEM_COMMIT, PAGE_EXECUTE_READ, MEM_MAPPED);
    vw_assert_range_agrees(x, G);
    vw_assert_range_agrees(xr, G);
    VW_EXPECT_OK(UnmapViewOfFile(x));
    VW_EXPECT_OK(UnmapViewOfFile(xr));

    /* The rights of the handle: a duplicate with FILE_MAP_READ only. */
    HANDLE d = NULL;
    VW_EXPECT_OK(DuplicateHandle(GetCurrentProcess(), rwx, GetCurrentProcess(), &d,
                                 FILE_MAP_READ, FALSE, 0));
    EXPECT_MAP_FAIL(MapViewOfFile(d, FILE_MAP_WRITE, 0, 0, 0), ERROR_ACCESS_DENIED);
    EXPECT_MAP_FAIL(MapViewOfFile(d, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0),
                    ERROR_ACCESS_DENIED);
    char *dr = map_ok(d, FILE_MAP_READ, 0, 0);
    VW_EXPECT_OK(UnmapViewOfFile(dr));
    VW_EXPECT_OK(CloseHandle(d));
    VW_EXPECT_OK(DuplicateHandle(GetCurrentProcess(), rwx, GetCurrentProcess(), &d, 0, FALSE, 0));
    EXPECT_MAP_FAIL(MapViewOfFile(d, 0, 0, 0, 0), ERROR_ACCESS_DENIED);
    VW_EXPECT_OK(CloseHandle(d));
    VW_EXPECT_OK(CloseHandle(rwx));
}
END_TEST

START_TEST(test_protect_views)
{
    HANDLE h = new_section(PAGE_READWRITE, 2 * G);
    char *w = map_ok(h, FILE_MAP_WRITE, 0, 0);
    DWORD old = 0;
    VW_EXPECT_OK(VirtualProtect(w + PG, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    VW_ASSERT_REGION(w + PG, w, PG, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    VW_CHECK_MBI(w + PG, w + PG, w, PAGE_READWRITE, PG, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    ck_assert(!vw_can_write(w + PG));
    VW_EXPECT_OK(VirtualProtect(w + PG, PG, PAGE_NOACCESS, &old));
    ck_assert_uint_eq(old, PAGE_READONLY);
    VW_CHECK_NO_ACCESS(w + PG);
    VW_EXPECT_OK(VirtualProtect(w + PG, PG, PAGE_READWRITE, &old));
    VW_CHECK_MBI(w, w, w, PAGE_READWRITE, 2 * G, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    /* Beyond the section's protection, or not possible on a shared view. */
    VW_EXPECT_FAIL(VirtualProtect(w, PG, PAGE_EXECUTE_READ, &old), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(VirtualProtect(w, PG, PAGE_EXECUTE_READWRITE, &old), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(VirtualProtect(w, PG, PAGE_WRITECOPY, &old), ERROR_INVALID_PARAMETER);
    VW_EXPECT_FAIL(VirtualProtect(w, PG, 0x06, &old), ERROR_INVALID_PARAMETER);
    /* A read view cannot be made writable. */
    char *r = map_ok(h, FILE_MAP_READ, 0, 0);
    VW_EXPECT_FAIL(VirtualProtect(r, PG, PAGE_READWRITE, &old), ERROR_INVALID_PARAMETER);
    VW_EXPECT_OK(VirtualProtect(r, PG, PAGE_NOACCESS, &old));
    ck_assert_uint_eq(old, PAGE_READONLY);
    /* A range leaving the view. */
    VW_EXPECT_FAIL(VirtualProtect(w + 2 * G - PG, 2 * PG, PAGE_READONLY, &old),
                   ERROR_INVALID_ADDRESS);
    /* Lock and unlock work on views. */
    VW_EXPECT_OK(VirtualLock(w, 2 * PG));
    VW_EXPECT_OK(VirtualUnlock(w, 2 * PG));
    VW_EXPECT_FAIL(VirtualUnlock(w, PG), ERROR_NOT_LOCKED);
    vw_assert_range_agrees(w, 2 * G);
    vw_assert_range_agrees(r, 2 * G);
    VW_EXPECT_OK(UnmapViewOfFile(w));
    VW_EXPECT_OK(UnmapViewOfFile(r));
    VW_EXPECT_OK(CloseHandle(h));
}
END_TEST

/* ---- SEC_RESERVE --------------------------------------------------------------------- */

START_TEST(test_sec_reserve)
{
    HANDLE h = new_section(PAGE_READWRITE | SEC_RESERVE, 4 * G);
    char *a = map_ok(h, FILE_MAP_WRITE, 0, 0);
    char *b = map_ok(h, FILE_MAP_WRITE, 0, 0);
    char *t = map_ok(h, FILE_MAP_READ, 2 * G, 0);
    VW_CHECK_MBI(a, a, a, PAGE_READWRITE, 4 * G, MEM_RESERVE, 0, MEM_MAPPED);
    VW_CHECK_MBI(b, b, b, PAGE_READWRITE, 4 * G, MEM_RESERVE, 0, MEM_MAPPED);
    VW_CHECK_NO_ACCESS(a);
    vw_assert_range_agrees(a, 4 * G);
    /* Commit in a: committed in the section, so in b too (b's own protection). */
    SetLastError(VW_KEEP_ERR);
    ck_assert_ptr_eq(VirtualAlloc(a + 2 * G + 5, G, MEM_COMMIT, PAGE_READONLY), a + 2 * G);
    ck_assert_uint_eq(GetLastError(), VW_KEEP_ERR);
    VW_CHECK_MBI(a + 2 * G, a + 2 * G, a, PAGE_READWRITE, G + PG, MEM_COMMIT, PAGE_READONLY,
                 MEM_MAPPED);
    VW_CHECK_MBI(b, b, b, PAGE_READWRITE, 2 * G, MEM_RESERVE, 0, MEM_MAPPED);
    VW_CHECK_MBI(b + 2 * G, b + 2 * G, b, PAGE_READWRITE, G + PG, MEM_COMMIT, PAGE_READWRITE,
                 MEM_MAPPED);
    VW_CHECK_MBI(t, t, t, PAGE_READONLY, G + PG, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    VW_CHECK_MBI(t + G + PG, t + G + PG, t, PAGE_READONLY, G - PG, MEM_RESERVE, 0, MEM_MAPPED);
    b[2 * G + 1] = 9;
    ck_assert_int_eq(a[2 * G + 1], 9);
    ck_assert_int_eq(t[1], 9);
    ck_assert(!vw_can_write(a + 2 * G));
    VW_CHECK_NO_ACCESS(b + 3 * G + PG);
    /* A view made afterwards starts with the section's committed pages. */
    char *c = map_ok(h, FILE_MAP_WRITE, 0, 0);
    VW_CHECK_MBI(c + 2 * G, c + 2 * G, c, PAGE_READWRITE, G + PG, MEM_COMMIT, PAGE_READWRITE,
                 MEM_MAPPED);
    ck_assert_int_eq(c[2 * G + 1], 9);
    /* Commit beyond the section's protection fails and changes nothing. */
    VW_EXPECT_ALLOC_FAIL(VirtualAlloc(a, PG, MEM_COMMIT, PAGE_EXECUTE_READ),
                         ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(a, a, a, PAGE_READWRITE, 2 * G, MEM_RESERVE, 0, MEM_MAPPED);
    /* Decommit never applies to a view. */
    VW_EXPECT_FAIL(VirtualFree(a + 2 * G, G, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    vw_assert_range_agrees(a, 4 * G);
    vw_assert_range_agrees(b, 4 * G);
    vw_assert_range_agrees(t, 2 * G);
    VW_EXPECT_OK(UnmapViewOfFile(a));
    VW_EXPECT_OK(UnmapViewOfFile(b));
    VW_EXPECT_OK(UnmapViewOfFile(c));
    VW_EXPECT_OK(UnmapViewOfFile(t));
    VW_EXPECT_OK(CloseHandle(h));
}
END_TEST

/* ---- FILE_MAP_COPY --------------------------------------------------------------------- */

START_TEST(test_write_copy)
{
    HANDLE h = new_section(PAGE_READWRITE, G);
    char *w = map_ok(h, FILE_MAP_WRITE, 0, 0);
    vw_fill_pattern(w, G, 5);
    char *c = map_ok(h, FILE_MAP_COPY, 0, 0);
    VW_CHECK_MBI(c, c, c, PAGE_WRITECOPY, G, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    ck_assert(vw_has_pattern(c, G, 5));   /* reading copies nothing */
    VW_CHECK_MBI(c, c, c, PAGE_WRITECOPY, G, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    c[PG + 3] = 0;   /* page 1 becomes a private copy */
    VW_CHECK_MBI(c, c, c, PAGE_WRITECOPY, PG, MEM_COMMIT, PAGE_WRITECOPY, MEM_MAPPED);
    VW_CHECK_MBI(c + PG, c + PG, c, PAGE_WRITECOPY, PG, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    VW_CHECK_MBI(c + 2 * PG, c + 2 * PG, c, PAGE_WRITECOPY, G - 2 * PG, MEM_COMMIT,
                 PAGE_WRITECOPY, MEM_MAPPED);
    ck_assert_int_eq(w[PG + 3], (char)vw_pattern_byte(PG + 3, 5));   /* the section kept its byte */
    /* The section's later writes show in pages not copied, not in copied ones. */
    w[2 * PG] = 1;
    w[PG] = 1;
    ck_assert_int_eq(c[2 * PG], 1);
    ck_assert_int_eq(c[PG], (char)vw_pattern_byte(PG, 5));
    vw_assert_range_agrees(c, G);
    /* A copy view's protection stays within PAGE_WRITECOPY's rights. */
    DWORD old;
    VW_EXPECT_FAIL(VirtualProtect(c, PG, PAGE_READWRITE, &old), ERROR_INVALID_PARAMETER);
    VW_EXPECT_OK(VirtualProtect(c, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_WRITECOPY);
    VW_EXPECT_OK(UnmapViewOfFile(c));
    VW_EXPECT_OK(UnmapViewOfFile(w));
    VW_EXPECT_OK(CloseHandle(h));
}
END_TEST

/* ---- the whole address space agrees with the kernel ------------------------------------- */

START_TEST(test_walk_agrees)
{
    HANDLE h = new_section(PAGE_READWRITE | SEC_RESERVE, 8 * G);
    HANDLE k = new_section(PAGE_EXECUTE_READWRITE, 3 * G);
    char *v[6];
    v[0] = map_ok(h, FILE_MAP_WRITE, 0, 0);
    v[1] = map_ok(h, FILE_MAP_READ, 4 * G, 0);
    v[2] = map_ok(k, FILE_MAP_COPY, 0, 0);
    v[3] = map_ok(k, FILE_MAP_WRITE | FILE_MAP_EXECUTE, G, G);
    v[4] = map_ok(k, FILE_MAP_READ, 0, 3 * G);
    v[5] = map_ok(k, 0, 2 * G, 0);
    ck_assert_ptr_nonnull(VirtualAlloc(v[0] + 5 * G, 2 * G, MEM_COMMIT, PAGE_READWRITE));
    v[2][3 * PG] = 1;
    DWORD old;
    VW_EXPECT_OK(VirtualProtect(v[3] + PG, PG, PAGE_READONLY, &old));
    vw_assert_all_agree();
    for (int i = 0; i < 6; i++)
        VW_EXPECT_OK(UnmapViewOfFile(v[i]));
    VW_EXPECT_OK(CloseHandle(h));
    VW_EXPECT_OK(CloseHandle(k));
    vw_assert_all_agree();
}
END_TEST

/* ---- names ------------------------------------------------------------------------------- */

static void unique_name(char *buf, size_t len, const char *tag)
{
    snprintf(buf, len, "Local\\vwtest-%s-%d", tag, (int)getpid());
}

START_TEST(test_named)
{
    char name[64];
    unique_name(name, sizeof name, "named");
    EXPECT_MAP_FAIL(OpenFileMappingA(FILE_MAP_READ, FALSE, name), ERROR_FILE_NOT_FOUND);
    EXPECT_MAP_FAIL(OpenFileMappingA(FILE_MAP_READ, FALSE, NULL), ERROR_INVALID_PARAMETER);
    SetLastError(VW_SENTINEL_ERR);
    HANDLE a = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 2 * G, name);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(GetLastError(), 0);
    SetLastError(VW_SENTINEL_ERR);
    HANDLE b = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 5 * G, name);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(GetLastError(), ERROR_ALREADY_EXISTS);
    ck_assert_ptr_ne(a, b);
    char *pa = map_ok(a, FILE_MAP_WRITE, 0, 0);
    char *pb = map_ok(b, FILE_MAP_WRITE, 0, 0);
    VW_ASSERT_REGION(pb, pb, 2 * G, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);   /* its size */
    pa[100] = 77;
    ck_assert_int_eq(pb[100], 77);
    /* Opening with read rights only. */
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    ck_assert_ptr_nonnull(o);
    EXPECT_MAP_FAIL(MapViewOfFile(o, FILE_MAP_WRITE, 0, 0, 0), ERROR_ACCESS_DENIED);
    char *po = map_ok(o, FILE_MAP_READ, 0, 0);
    ck_assert_int_eq(po[100], 77);
    /* The wide calls name the same object. */
    wchar_t wname[64];
    for (size_t i = 0; (wname[i] = (wchar_t)(unsigned char)name[i]) != 0; i++)
        ;
    HANDLE w = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, wname);
    ck_assert_ptr_nonnull(w);
    char *pw = map_ok(w, FILE_MAP_WRITE, 0, 0);
    ck_assert_int_eq(pw[100], 77);
    /* The last handle takes the name; the views stay. */
    VW_EXPECT_OK(CloseHandle(a));
    VW_EXPECT_OK(CloseHandle(b));
    VW_EXPECT_OK(CloseHandle(o));
    HANDLE again = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    ck_assert_ptr_nonnull(again);   /* w still holds it */
    VW_EXPECT_OK(CloseHandle(again));
    VW_EXPECT_OK(CloseHandle(w));
    EXPECT_MAP_FAIL(OpenFileMappingA(FILE_MAP_READ, FALSE, name), ERROR_FILE_NOT_FOUND);
    pw[101] = 78;
    ck_assert_int_eq(pa[101], 78);
    VW_CHECK_MBI(pa, pa, pa, PAGE_READWRITE, 2 * G, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    /* A new section under the name is a new object. */
    SetLastError(VW_SENTINEL_ERR);
    HANDLE n = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, G, name);
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_eq(GetLastError(), 0);
    char *pn = map_ok(n, FILE_MAP_READ, 0, 0);
    ck_assert_int_eq(pn[100], 0);
    VW_EXPECT_OK(CloseHandle(n));
    char *views[] = { pa, pb, po, pw, pn };
    for (int i = 0; i < 5; i++)
        VW_EXPECT_OK(UnmapViewOfFile(views[i]));
    /* A read-only named section opens read-only. */
    HANDLE r = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READONLY, 0, G, name);
    ck_assert_ptr_nonnull(r);
    HANDLE r2 = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, name);
    ck_assert_ptr_nonnull(r2);
    EXPECT_MAP_FAIL(MapViewOfFile(r2, FILE_MAP_WRITE, 0, 0, 0), ERROR_ACCESS_DENIED);
    VW_EXPECT_OK(CloseHandle(r2));
    VW_EXPECT_OK(CloseHandle(r));
    EXPECT_MAP_FAIL(OpenFileMappingA(FILE_MAP_READ, FALSE, name), ERROR_FILE_NOT_FOUND);
}
END_TEST

/* ---- processes ----------------------------------------------------------------------------- */

static char cerr[1024];
#define CCHECK(cond, ...) VW_ECHECK(cerr, cond, __VA_ARGS__)

static void run_child(int (*fn)(void *), void *arg)
{
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        alarm(CHILD_ALARM);
        cerr[0] = 0;
        vw_child_exit(fds[1], fn(arg), cerr, sizeof cerr);
    }
    close(fds[1]);
    char msg[1024];
    int status;
    ck_assert_msg(vw_wait_child(pid, fds[0], CHILD_ALARM + 5, &status, msg, sizeof msg),
                  "child hung");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: %s", msg);
}

struct share_args {
    const char *name;
    char *inherited;   /* a pagefile view mapped before fork */
    HANDLE h;
};

static int child_shares(void *p)
{
    struct share_args *a = p;
    /* By name, as an unrelated process would. */
    HANDLE h = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, a->name);
    CCHECK(h != NULL, "OpenFileMappingA: %u", (unsigned)GetLastError());
    char *v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    CCHECK(v != NULL, "MapViewOfFile: %u", (unsigned)GetLastError());
    CCHECK(v[0] == 'p', "child sees %d", v[0]);
    v[1] = 'c';
    /* A view made before fork stays shared, and the inherited handle works. */
    CCHECK(a->inherited[0] == 'P', "inherited view reads %d", a->inherited[0]);
    a->inherited[1] = 'C';
    char *v2 = MapViewOfFile(a->h, FILE_MAP_READ, 0, 0, 0);
    CCHECK(v2 != NULL && v2[1] == 'C', "inherited handle: %p", (void *)v2);
    MEMORY_BASIC_INFORMATION m;
    CCHECK(VirtualQuery(a->inherited, &m, sizeof m) == sizeof m && m.Type == MEM_MAPPED,
           "type %#x", (unsigned)m.Type);
    CCHECK(UnmapViewOfFile(v) && UnmapViewOfFile(v2), "unmap: %u", (unsigned)GetLastError());
    CCHECK(CloseHandle(h) && CloseHandle(a->h), "close: %u", (unsigned)GetLastError());
    CCHECK(!CloseHandle(a->h) && GetLastError() == ERROR_INVALID_HANDLE, "double close in child");
    return 0;
}

START_TEST(test_two_processes)
{
    char name[64];
    unique_name(name, sizeof name, "procs");
    HANDLE n = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, G, name);
    ck_assert_ptr_nonnull(n);
    char *v = map_ok(n, FILE_MAP_WRITE, 0, 0);
    v[0] = 'p';
    HANDLE anon = new_section(PAGE_READWRITE, G);
    char *inh = map_ok(anon, FILE_MAP_WRITE, 0, 0);
    inh[0] = 'P';
    struct share_args a = { name, inh, anon };
    run_child(child_shares, &a);
    ck_assert_int_eq(v[1], 'c');
    ck_assert_int_eq(inh[1], 'C');
    /* The child's closes did not close the parent's handles. */
    char *again = map_ok(anon, FILE_MAP_READ, 0, 0);
    ck_assert_int_eq(again[1], 'C');
    HANDLE o = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    ck_assert_ptr_nonnull(o);   /* the parent's handle still names it */
    VW_EXPECT_OK(CloseHandle(o));
    VW_EXPECT_OK(UnmapViewOfFile(again));
    VW_EXPECT_OK(UnmapViewOfFile(inh));
    VW_EXPECT_OK(UnmapViewOfFile(v));
    VW_EXPECT_OK(CloseHandle(anon));
    VW_EXPECT_OK(CloseHandle(n));
    EXPECT_MAP_FAIL(OpenFileMappingA(FILE_MAP_READ, FALSE, name), ERROR_FILE_NOT_FOUND);
}
END_TEST

/* ---- handles of real objects ------------------------------------------------------------ */

START_TEST(test_handle_misuse)
{
    HANDLE h = new_section(PAGE_READWRITE, G);
    VW_EXPECT_OK(CloseHandle(h));
    VW_EXPECT_FAIL(CloseHandle(h), ERROR_INVALID_HANDLE);
    EXPECT_MAP_FAIL(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0), ERROR_INVALID_HANDLE);
    /* Values are reused after close, as on Windows. */
    HANDLE h2 = new_section(PAGE_READWRITE, G);
    ck_assert_ptr_eq(h2, h);
    /* Duplicate, close the source: the duplicate still names the section. */
    HANDLE d = NULL;
    VW_EXPECT_OK(DuplicateHandle(GetCurrentProcess(), h2, GetCurrentProcess(), &d, 0, FALSE,
                                 DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    ck_assert_uint_eq((uintptr_t)d % 4, 0);
    VW_EXPECT_FAIL(CloseHandle(h2), ERROR_INVALID_HANDLE);
    char *p = map_ok(d, FILE_MAP_WRITE, 0, 0);
    p[0] = 1;
    /* Wrong types: a section is no file, a file no section. */
    EXPECT_MAP_FAIL(CreateFileMappingA(d, NULL, PAGE_READWRITE, 0, G, NULL), ERROR_INVALID_HANDLE);
    char path[64];
    snprintf(path, sizeof path, "/tmp/vwtest-misuse-%d", (int)getpid());
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    ck_assert_ptr_ne(f, INVALID_HANDLE_VALUE);
    unlink(path);
    EXPECT_MAP_FAIL(MapViewOfFile(f, FILE_MAP_READ, 0, 0, 0), ERROR_INVALID_HANDLE);
    LARGE_INTEGER sz;
    VW_EXPECT_FAIL(GetFileSizeEx(d, &sz), ERROR_INVALID_HANDLE);
    VW_EXPECT_FAIL(GetFileSizeEx(f, (PLARGE_INTEGER)8), ERROR_NOACCESS);
    VW_EXPECT_OK(CloseHandle(f));
    VW_EXPECT_OK(UnmapViewOfFile(p));
    VW_EXPECT_OK(CloseHandle(d));
    /* Bad pointers are errors, never crashes. */
    EXPECT_MAP_FAIL(OpenFileMappingA(FILE_MAP_READ, FALSE, (LPCSTR)8), ERROR_NOACCESS);
    EXPECT_MAP_FAIL(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, G,
                                       (LPCSTR)8),
                    ERROR_NOACCESS);
}
END_TEST

static HANDLE shared_h;

static void *thread_maps(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, G, NULL);
        if (!h || (uintptr_t)h % 4)
            return (void *)1;
        char *p = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
        char *q = MapViewOfFile(shared_h, FILE_MAP_READ, 0, 0, 0);
        if (!p || !q)
            return (void *)2;
        p[0] = (char)i;
        if (p[0] != (char)i || q[0] != 5)
            return (void *)3;
        if (!UnmapViewOfFile(p) || !UnmapViewOfFile(q) || !CloseHandle(h))
            return (void *)4;
        /* (No second close here: another thread may hold the value by now.) */
    }
    return NULL;
}

START_TEST(test_handle_threads)
{
    shared_h = new_section(PAGE_READWRITE, G);
    char *s = map_ok(shared_h, FILE_MAP_WRITE, 0, 0);
    s[0] = 5;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, thread_maps, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        ck_assert_msg(r == NULL, "thread %d failed at step %ld", i, (long)(intptr_t)r);
    }
    VW_EXPECT_OK(UnmapViewOfFile(s));
    VW_EXPECT_OK(CloseHandle(shared_h));
    vw_assert_all_agree();
}
END_TEST

/* ---- file-backed sections -------------------------------------------------------------- */

START_TEST(test_file_backed)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/vwtest-file-%d", (int)getpid());
    VW_EXPECT_ALLOC_FAIL(CreateFileA(path, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) ==
                                 INVALID_HANDLE_VALUE
                             ? NULL
                             : (void *)1,
                         ERROR_FILE_NOT_FOUND);
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
    ck_assert_ptr_ne(f, INVALID_HANDLE_VALUE);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_eq(CreateFileA(path, GENERIC_READ, 0, NULL, CREATE_NEW, 0, NULL),
                     INVALID_HANDLE_VALUE);
    ck_assert_uint_eq(GetLastError(), ERROR_FILE_EXISTS);
    /* An empty file with size 0. */
    EXPECT_MAP_FAIL(CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL), ERROR_FILE_INVALID);
    /* A size beyond the file grows a writable file. */
    HANDLE s = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 2 * G, NULL);
    ck_assert_ptr_nonnull(s);
    LARGE_INTEGER sz;
    VW_EXPECT_OK(GetFileSizeEx(f, &sz));
    ck_assert_int_eq(sz.QuadPart, 2 * G);
    char *v = map_ok(s, FILE_MAP_WRITE, 0, 0);
    memcpy(v + G, "hello", 5);
    VW_EXPECT_OK(FlushViewOfFile(v + G, 5));
    VW_EXPECT_OK(FlushViewOfFile(v, 0));
    int fd = open(path, O_RDONLY);
    char buf[8] = { 0 };
    ck_assert_int_eq(pread(fd, buf, 5, G), 5);
    close(fd);
    ck_assert_str_eq(buf, "hello");
    VW_EXPECT_OK(UnmapViewOfFile(v));
    VW_EXPECT_OK(CloseHandle(s));
    VW_EXPECT_OK(CloseHandle(f));
    /* Read-only file: no writable section, no growth; read and copy views work. */
    HANDLE r = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    ck_assert_ptr_ne(r, INVALID_HANDLE_VALUE);
    EXPECT_MAP_FAIL(CreateFileMappingA(r, NULL, PAGE_READWRITE, 0, 0, NULL), ERROR_ACCESS_DENIED);
    EXPECT_MAP_FAIL(CreateFileMappingA(r, NULL, PAGE_READONLY, 0, 3 * G, NULL),
                    ERROR_NOT_ENOUGH_MEMORY);
    HANDLE rs = CreateFileMappingA(r, NULL, PAGE_READONLY, 0, 0, NULL);
    ck_assert_ptr_nonnull(rs);
    char *rv = map_ok(rs, FILE_MAP_READ, 0, 0);
    ck_assert(memcmp(rv + G, "hello", 5) == 0);
    char *cv = map_ok(rs, FILE_MAP_COPY, 0, 0);
    cv[G] = 'j';
    ck_assert_int_eq(rv[G], 'h');
    VW_EXPECT_OK(UnmapViewOfFile(rv));
    VW_EXPECT_OK(UnmapViewOfFile(cv));
    VW_EXPECT_OK(CloseHandle(rs));
    VW_EXPECT_OK(CloseHandle(r));
    unlink(path);
}
END_TEST

/* ---- the native calls ------------------------------------------------------------------- */

START_TEST(test_native)
{
    HANDLE h = new_section(PAGE_READWRITE, 2 * G);
    PVOID base = NULL;
    SIZE_T size = 0;
    LARGE_INTEGER off;
    off.QuadPart = G;
    ck_assert_uint_eq((ULONG)NtMapViewOfSection(h, GetCurrentProcess(), &base, 0, 0, &off, &size,
                                        ViewUnmap, 0, PAGE_READWRITE),
                     (ULONG)STATUS_SUCCESS);
    ck_assert_ptr_nonnull(base);
    ck_assert_uint_eq(size, G);
    PVOID b2 = NULL;
    size = 0;
    off.QuadPart = 0x1000;
    ck_assert_uint_eq((ULONG)NtMapViewOfSection(h, GetCurrentProcess(), &b2, 0, 0, &off, &size,
                                        ViewUnmap, 0, PAGE_READWRITE),
                     (ULONG)STATUS_MAPPED_ALIGNMENT);
    ck_assert_uint_eq((ULONG)NtMapViewOfSection(h, GetCurrentProcess(), (PVOID *)8, 0, 0, NULL, &size,
                                        ViewUnmap, 0, PAGE_READWRITE),
                     (ULONG)STATUS_ACCESS_VIOLATION);
    ck_assert_uint_eq((ULONG)NtMapViewOfSection(h, NULL, &b2, 0, 0, NULL, &size, ViewUnmap, 0,
                                        PAGE_READWRITE),
                     (ULONG)STATUS_INVALID_HANDLE);
    ck_assert_uint_eq((ULONG)NtUnmapViewOfSection(GetCurrentProcess(), base),
                      (ULONG)STATUS_SUCCESS);
    ck_assert_uint_eq((ULONG)NtUnmapViewOfSection(GetCurrentProcess(), base),
                      (ULONG)STATUS_NOT_MAPPED_VIEW);
    ck_assert_uint_eq((ULONG)NtUnmapViewOfSectionEx(GetCurrentProcess(), base, 0x100),
                     (ULONG)STATUS_INVALID_PARAMETER);
    /* MapViewOfFile3 with the process and protection. */
    SetLastError(VW_KEEP_ERR);
    char *v = MapViewOfFile3(h, GetCurrentProcess(), NULL, 0, 0, 0, PAGE_READONLY, NULL, 0);
    ck_assert_ptr_nonnull(v);
    VW_CHECK_MBI(v, v, v, PAGE_READONLY, 2 * G, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    VW_EXPECT_OK(UnmapViewOfFile2(GetCurrentProcess(), v, 0));
    /* NULL is the current process (Microsoft's own sample passes it); another is not. */
    v = MapViewOfFile3(h, NULL, NULL, 0, 0, 0, PAGE_READONLY, NULL, 0);
    ck_assert_ptr_nonnull(v);
    VW_EXPECT_OK(UnmapViewOfFile(v));
    EXPECT_MAP_FAIL(MapViewOfFile3(h, (HANDLE)0x40, NULL, 0, 0, 0, PAGE_READONLY, NULL, 0),
                    ERROR_INVALID_HANDLE);
    EXPECT_MAP_FAIL(MapViewOfFile3(h, GetCurrentProcess(), NULL, 0, 0, 0, PAGE_READONLY, NULL, 1),
                    ERROR_INVALID_PARAMETER);
    /* Replacing a placeholder needs one: plain memory is not. */
    char *a = vw_alloc_reserve(2 * G, PAGE_READWRITE);
    EXPECT_MAP_FAIL(MapViewOfFile3(h, GetCurrentProcess(), a, 0, 2 * G, MEM_REPLACE_PLACEHOLDER,
                                   PAGE_READWRITE, NULL, 0),
                    ERROR_INVALID_ADDRESS);
    vw_release(a);
    VW_EXPECT_OK(CloseHandle(h));
}
END_TEST

/* ---- the program unmaps a view itself ------------------------------------------------------ */

START_TEST(test_program_munmap)
{
    HANDLE h = new_section(PAGE_READWRITE, 2 * G);
    char *v = map_ok(h, FILE_MAP_WRITE, 0, 0);
    ck_assert_int_eq(munmap(v + G, G), 0);
    VW_CHECK_MBI(v, v, v, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    vw_assert_all_agree();
    VW_EXPECT_OK(UnmapViewOfFile(v));
    VW_CHECK_FREE(v, G);
    /* mprotect and mremap by the program: the view moves with its section. */
    char *m = map_ok(h, FILE_MAP_WRITE, 0, G);
    m[1] = 21;
    ck_assert_int_eq(mprotect(m, PG, PROT_READ), 0);
    VW_CHECK_MBI(m, m, m, PAGE_READWRITE, PG, MEM_COMMIT, PAGE_READONLY, MEM_MAPPED);
    char *to = vw_free_space(G);
    ck_assert_ptr_eq(mremap(m, G, G, MREMAP_MAYMOVE | MREMAP_FIXED, to), to);
    VW_CHECK_FREE(m, G);
    VW_CHECK_MBI(to + PG, to + PG, to, PAGE_READWRITE, G - PG, MEM_COMMIT, PAGE_READWRITE,
                 MEM_MAPPED);
    char *other = map_ok(h, FILE_MAP_READ, 0, 0);
    ck_assert_int_eq(other[1], 21);
    ck_assert_int_eq(to[1], 21);
    vw_assert_all_agree();
    VW_EXPECT_OK(UnmapViewOfFile(to));
    VW_EXPECT_OK(UnmapViewOfFile(other));
    char *w = map_ok(h, FILE_MAP_WRITE, 0, 0);
    ck_assert_int_eq(munmap(w, 2 * G), 0);
    VW_EXPECT_FAIL(UnmapViewOfFile(w), ERROR_INVALID_ADDRESS);
    VW_EXPECT_OK(CloseHandle(h));
    vw_assert_all_agree();
}
END_TEST

/* ---- placeholders: the ring buffer ------------------------------------------------------ */

#define PLACEHOLDER_MBI(addr, base, size)                                                  \
    VW_CHECK_MBI(addr, addr, base, PAGE_NOACCESS, size, MEM_RESERVE, 0, MEM_PRIVATE)

START_TEST(test_ring_buffer)
{
    const SIZE_T size = 2 * G;
    HANDLE h = new_section(PAGE_READWRITE, (DWORD)size);
    char *p = VirtualAlloc2(NULL, NULL, 2 * size, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                            PAGE_NOACCESS, NULL, 0);
    ck_assert_ptr_nonnull(p);
    /* A view must cover one placeholder exactly. */
    EXPECT_MAP_FAIL(MapViewOfFile3(h, NULL, p, 0, size, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
                                   NULL, 0),
                    ERROR_INVALID_ADDRESS);
    VW_EXPECT_OK(VirtualFree(p, size, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
    PLACEHOLDER_MBI(p, p, size);
    PLACEHOLDER_MBI(p + size, p + size, size);
    EXPECT_MAP_FAIL(MapViewOfFile3(h, NULL, p, 0, size / 2, MEM_REPLACE_PLACEHOLDER,
                                   PAGE_READWRITE, NULL, 0),
                    ERROR_INVALID_ADDRESS);
    PLACEHOLDER_MBI(p, p, size);
    SetLastError(VW_KEEP_ERR);
    char *v1 = MapViewOfFile3(h, NULL, p, 0, size, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE,
                              NULL, 0);
    char *v2 = MapViewOfFile3(h, GetCurrentProcess(), p + size, 0, size,
                              MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
    ck_assert_uint_eq(GetLastError(), VW_KEEP_ERR);
    ck_assert_ptr_eq(v1, p);
    ck_assert_ptr_eq(v2, p + size);
    VW_CHECK_MBI(v1, v1, v1, PAGE_READWRITE, size, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    VW_CHECK_MBI(v2, v2, v2, PAGE_READWRITE, size, MEM_COMMIT, PAGE_READWRITE, MEM_MAPPED);
    /* A message written across the seam reads back contiguously, and wraps. */
    static const char msg[] = "a message across the seam of the ring";
    size_t at = size - 10;
    memcpy(v1 + at, msg, sizeof msg);
    ck_assert(memcmp(v1 + at, msg, sizeof msg) == 0);
    ck_assert(memcmp(v1, msg + 10, sizeof msg - 10) == 0);   /* the wrapped part */
    vw_assert_all_agree();
    /* A view that is no placeholder's cannot become one. */
    char *plain = map_ok(h, FILE_MAP_READ, 0, 0);
    VW_EXPECT_FAIL(UnmapViewOfFileEx(plain, MEM_PRESERVE_PLACEHOLDER), ERROR_INVALID_ADDRESS);
    VW_EXPECT_OK(UnmapViewOfFile(plain));
    /* Back to a placeholder, and mapped again. */
    VW_EXPECT_OK(UnmapViewOfFileEx(v2, MEM_PRESERVE_PLACEHOLDER));
    PLACEHOLDER_MBI(p + size, p + size, size);
    VW_CHECK_NO_ACCESS(p + size);
    ck_assert_ptr_eq(MapViewOfFile3(h, NULL, p + size, 0, size, MEM_REPLACE_PLACEHOLDER,
                                    PAGE_READONLY, NULL, 0),
                     p + size);
    ck_assert(memcmp(p + size, msg + 10, sizeof msg - 10) == 0);
    VW_EXPECT_OK(UnmapViewOfFile2(GetCurrentProcess(), p + size, MEM_PRESERVE_PLACEHOLDER));
    VW_EXPECT_OK(VirtualFree(p + size, 0, MEM_RELEASE));
    /* Unmapped without MEM_PRESERVE_PLACEHOLDER: the range is free. */
    VW_EXPECT_OK(UnmapViewOfFile(v1));
    VW_CHECK_FREE(p, size);
    vw_assert_all_agree();
    VW_EXPECT_OK(CloseHandle(h));
}
END_TEST

/* ---- found by name through the right module ----------------------------------------------- */

START_TEST(test_found_by_name)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll"), kb = GetModuleHandleA("kernelbase.dll");
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    static const struct {
        const char *name;
        void *fn;
    } k[] = {
        { "CreateFileMappingA", (void *)CreateFileMappingA },
        { "CreateFileMappingW", (void *)CreateFileMappingW },
        { "CreateFileMapping2", (void *)CreateFileMapping2 },
        { "OpenFileMappingA", (void *)OpenFileMappingA },
        { "OpenFileMappingW", (void *)OpenFileMappingW },
        { "MapViewOfFile", (void *)MapViewOfFile },
        { "MapViewOfFileEx", (void *)MapViewOfFileEx },
        { "MapViewOfFile3", (void *)MapViewOfFile3 },
        { "UnmapViewOfFile", (void *)UnmapViewOfFile },
        { "UnmapViewOfFileEx", (void *)UnmapViewOfFileEx },
        { "UnmapViewOfFile2", (void *)UnmapViewOfFile2 },
        { "FlushViewOfFile", (void *)FlushViewOfFile },
        { "CreateFileA", (void *)CreateFileA },
        { "CreateFileW", (void *)CreateFileW },
        { "GetFileSizeEx", (void *)GetFileSizeEx },
    }, n[] = {
        { "NtMapViewOfSection", (void *)NtMapViewOfSection },
        { "NtUnmapViewOfSection", (void *)NtUnmapViewOfSection },
        { "NtUnmapViewOfSectionEx", (void *)NtUnmapViewOfSectionEx },
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        ck_assert_msg((void *)GetProcAddress(k32, k[i].name) == k[i].fn, "%s", k[i].name);
        ck_assert_msg((void *)GetProcAddress(kb, k[i].name) == k[i].fn, "%s", k[i].name);
        ck_assert_msg(GetProcAddress(nt, k[i].name) == NULL, "%s in ntdll", k[i].name);
    }
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
        ck_assert_msg((void *)GetProcAddress(nt, n[i].name) == n[i].fn, "%s", n[i].name);
        ck_assert_msg(GetProcAddress(k32, n[i].name) == NULL, "%s in kernel32", n[i].name);
    }
}
END_TEST

static Suite *sections_suite(void)
{
    Suite *s = suite_create("sections");
    TCase *tc = tcase_create("sections");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_create_rules);
    tcase_add_test(tc, test_view_basics);
    tcase_add_test(tc, test_offsets_and_sizes);
    tcase_add_test(tc, test_map_at_address);
    tcase_add_test(tc, test_access_rules);
    tcase_add_test(tc, test_protect_views);
    tcase_add_test(tc, test_sec_reserve);
    tcase_add_test(tc, test_write_copy);
    tcase_add_test(tc, test_walk_agrees);
    tcase_add_test(tc, test_named);
    tcase_add_test(tc, test_two_processes);
    tcase_add_test(tc, test_handle_misuse);
    tcase_add_test(tc, test_handle_threads);
    tcase_add_test(tc, test_file_backed);
    tcase_add_test(tc, test_native);
    tcase_add_test(tc, test_program_munmap);
    tcase_add_test(tc, test_found_by_name);
    tcase_add_test(tc, test_ring_buffer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sections_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
