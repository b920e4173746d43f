/*
 * check_free.c: VirtualFree and VirtualFreeEx (spec section 5, the contents rules
 * of section 10 and the VirtualFreeEx part of section 9).
 *
 * Every test checks the return value, the last error (a sentinel set before a
 * failing call must be replaced; 1234 set before a successful call must
 * survive), the state VirtualQuery reports afterwards, whether access faults
 * (vw_can_read / vw_can_write) and memory contents, and ends with an agreement
 * check against /proc/self/maps.  Each test runs in its own process (Check's
 * fork mode).
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
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

/* VirtualFree that must fail with the given last error. */
#define FREE_FAILS(addr, size, type, err)                                                 \
    free_fails(__LINE__, (void *)(addr), (SIZE_T)(size), (DWORD)(type), (DWORD)(err))
static void free_fails(int line, void *addr, SIZE_T size, DWORD type, DWORD err)
{
    SetLastError(SENTINEL);
    BOOL r = VirtualFree(addr, size, type);
    DWORD e = GetLastError();
    ck_assert_msg(!r, "line %d: VirtualFree(%p, %#zx, %#x) succeeded, expected error %u", line,
                  addr, (size_t)size, (unsigned)type, (unsigned)err);
    ck_assert_msg(e == err, "line %d: VirtualFree(%p, %#zx, %#x): last error %u, expected %u", line,
                  addr, (size_t)size, (unsigned)type, (unsigned)e, (unsigned)err);
}

#define CHECK_RW(p) check_rw(__LINE__, (void *)(p))
static void check_rw(int line, void *p)
{
    ck_assert_msg(vw_can_read(p), "line %d: reading %p faults", line, p);
    ck_assert_msg(vw_can_write(p), "line %d: writing %p faults", line, p);
}

/* A committed read-write allocation filled with a pattern. */
static char *committed(SIZE_T size, unsigned seed)
{
    char *p = VW_ALLOC_OK(NULL, size, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(p, size, seed);
    return p;
}

/*
 * The kernel's commit accounting of the VMA covering addr: 1 if its VmFlags hold "ac"
 * (VM_ACCOUNT: the pages are charged against the commit limit), 0 if not, -1 if addr is
 * unmapped.
 */
static int vma_accountable(uintptr_t addr)
{
    char flags[512];
    if (!vw_vmflags(addr, flags, sizeof flags))
        return -1;
    return vw_has_vmflag(flags, "ac");
}

/* Residency of the pages of [p, p+len): the number resident, or -1 if unmapped (ENOMEM). */
static int resident_pages(void *p, size_t len)
{
    size_t n = len / PG;
    unsigned char *vec = calloc(n, 1);
    ck_assert_ptr_nonnull(vec);
    int r = mincore(p, len, vec);
    if (r != 0) {
        ck_assert_int_eq(errno, ENOMEM);
        free(vec);
        return -1;
    }
    int cnt = 0;
    for (size_t i = 0; i < n; i++)
        cnt += vec[i] & 1;
    free(vec);
    return cnt;
}

/* ---- free type and address validation ---------------------------------------------- */

/* spec 5: dwFreeType must be exactly MEM_DECOMMIT or MEM_RELEASE: 0, MEM_FREE, both, or any
 * other bit is ERROR_INVALID_PARAMETER, and nothing changes */
START_TEST(test_free_type_invalid)
{
    char *a = committed(0x10000, 1);
    static const DWORD fixed[] = {
        0, MEM_FREE, MEM_DECOMMIT | MEM_RELEASE, MEM_COMMIT, MEM_RESERVE,
        MEM_DECOMMIT | MEM_COALESCE_PLACEHOLDERS, MEM_COALESCE_PLACEHOLDERS,
        MEM_PRESERVE_PLACEHOLDER, MEM_RELEASE | MEM_FREE, MEM_DECOMMIT | MEM_FREE,
        0xFFFFFFFFu,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        FREE_FAILS(a, 0, fixed[i], ERROR_INVALID_PARAMETER);
        FREE_FAILS(a, 0x10000, fixed[i], ERROR_INVALID_PARAMETER);
    }
    char msg[2048] = "";
    int bad = 0;
    for (int bit = 0; bit < 32; bit++) {
        DWORD b = (DWORD)1u << bit;
        if (b == MEM_DECOMMIT || b == MEM_RELEASE)
            continue;
        static const DWORD bases[] = {0, MEM_RELEASE, MEM_DECOMMIT};
        for (int i = 0; i < 3; i++) {
            DWORD type = bases[i] | b;
            SIZE_T size = bases[i] == MEM_DECOMMIT ? PG : 0;
            SetLastError(SENTINEL);
            BOOL r = VirtualFree(a, size, type);
            DWORD e = GetLastError();
            if (r || e != ERROR_INVALID_PARAMETER) {
                size_t len = strlen(msg);
                if (bad < 12)
                    snprintf(msg + len, sizeof msg - len, "type %#x: returned %d error %u\n",
                             (unsigned)type, r, (unsigned)e);
                bad++;
            }
        }
    }
    ck_assert_msg(bad == 0, "%d calls did not fail with ERROR_INVALID_PARAMETER:\n%s", bad, msg);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(a, 0x10000, 1));
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* spec 5: lpAddress NULL is ERROR_INVALID_PARAMETER */
START_TEST(test_free_null_address)
{
    FREE_FAILS(NULL, 0, MEM_RELEASE, ERROR_INVALID_PARAMETER);
    FREE_FAILS(NULL, PG, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    FREE_FAILS(NULL, 0, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
}
END_TEST

/* spec 5: an address in free memory (never allocated, released, or the tail of the last
 * 64 KiB block) is ERROR_INVALID_ADDRESS */
START_TEST(test_free_free_memory)
{
    char *f = vw_free_space(0x100000);
    FREE_FAILS(f, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(f + 0x10000, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(f + 0x20000, PG, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(f + 0x20123, 0x10000, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    VW_CHECK_FREE(f, 0x100000);
    char *p = VW_ALLOC_OK(NULL, PG, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(p, PG, 2);
    FREE_FAILS(p + PG, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(p + PG, PG, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(p + G64 - PG, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(p, p, p, RW, PG, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(p, PG, 2));
    vw_assert_range_agrees(f, 0x100000);
    vw_assert_range_agrees(p, G64);
}
END_TEST

/* spec 5: the stack is in no allocation: ERROR_INVALID_ADDRESS, stack untouched */
START_TEST(test_free_stack)
{
    unsigned char buf[512];
    vw_fill_pattern(buf, sizeof buf, 3);
    FREE_FAILS(buf, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(buf, sizeof buf, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(buf, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(pfloor((uintptr_t)buf), 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(buf, sizeof buf, 3));
    CHECK_RW(buf);
    VW_CHECK_KERNEL_RW(pfloor((uintptr_t)buf), PG);
}
END_TEST

/* spec 5: malloc's heap (brk and mmap'd blocks) is in no allocation: ERROR_INVALID_ADDRESS */
START_TEST(test_free_heap)
{
    unsigned char *h = malloc(300);
    ck_assert_ptr_nonnull(h);
    vw_fill_pattern(h, 300, 4);
    FREE_FAILS(h, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(h, 300, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(h, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(h, 300, 4));
    CHECK_RW(h);
    size_t big = 4u << 20;
    unsigned char *hb = malloc(big);
    ck_assert_ptr_nonnull(hb);
    vw_fill_pattern(hb, big, 5);
    char *page = (char *)pfloor((uintptr_t)hb + big / 2);
    FREE_FAILS(page, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(page, PG, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(hb, big, 5));
    free(hb);
    free(h);
}
END_TEST

static unsigned char g_data[3 * 4096] = {1};

/* spec 5: a library's or the program's image is in no allocation: ERROR_INVALID_ADDRESS */
START_TEST(test_free_image)
{
    void *code = (void *)(uintptr_t)&getpid;
    FREE_FAILS(code, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(code, PG, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(pfloor((uintptr_t)code), 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    ck_assert(getpid() > 0);
    void *code2 = (void *)(uintptr_t)&memcpy;
    FREE_FAILS(code2, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    vw_fill_pattern(g_data, sizeof g_data, 6);
    FREE_FAILS(g_data + 4096, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(g_data + 4096, 4096, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(g_data, sizeof g_data, 6));
}
END_TEST

/* spec 5: another library's mmap is in no allocation: ERROR_INVALID_ADDRESS, untouched */
START_TEST(test_free_foreign_mmap)
{
    (void)VirtualAlloc(NULL, PG, MEM_RESERVE, RW);
    size_t len = 0x30000;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    vw_fill_pattern(m, len, 7);
    FREE_FAILS(m, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(m, len, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(m, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(m + PG, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    ck_assert(vw_has_pattern(m, len, 7));
    CHECK_RW(m + len - 1);
    VW_CHECK_KERNEL_RW((uintptr_t)m, len);
    munmap(m, len);
}
END_TEST

/* spec 5: releasing twice is ERROR_INVALID_ADDRESS; so is decommitting released memory */
START_TEST(test_free_double_release)
{
    char *a = committed(0x20000, 8);
    VW_FREE_OK(a, 0, MEM_RELEASE);
    FREE_FAILS(a, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(a, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(a, PG, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(a + 0x10000, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    VW_CHECK_FREE(a, 0x20000);
    vw_assert_range_agrees(a, 0x20000);
}
END_TEST

/* ---- MEM_RELEASE ------------------------------------------------------------------------ */

/* spec 5: MEM_RELEASE needs dwSize 0, else ERROR_INVALID_PARAMETER and nothing changes */
START_TEST(test_release_nonzero_size)
{
    char *a = committed(0x10000, 9);
    FREE_FAILS(a, 1, MEM_RELEASE, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a, PG, MEM_RELEASE, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a, 0x10000, MEM_RELEASE, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a, SIZE_MAX, MEM_RELEASE, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(a, 0x10000, 9));
    VW_FREE_OK(a, 0, MEM_RELEASE);
    VW_CHECK_FREE(a, 0x10000);
}
END_TEST

/* spec 5: lpAddress may be anywhere in the base page: base+0xFFF releases */
START_TEST(test_release_base_plus_fff)
{
    char *a = committed(0x30000, 10);
    VW_FREE_OK(a + PG - 1, 0, MEM_RELEASE);
    VW_CHECK_FREE(a, 0x30000);
    VW_CHECK_NO_ACCESS(a);
    VW_CHECK_NO_ACCESS(a + 0x2FFFF);
    char *b = VW_ALLOC_OK(NULL, 0x10000, MEM_RESERVE, RW);
    VW_FREE_OK(b + 1, 0, MEM_RELEASE);
    VW_CHECK_FREE(b, 0x10000);
    vw_assert_range_agrees(a, 0x30000);
    vw_assert_range_agrees(b, 0x10000);
}
END_TEST

/* spec 5: lpAddress rounding to a page other than the base (base+0x1000, base+0x1001, a later
 * page, the last page) is ERROR_INVALID_ADDRESS and nothing is released */
START_TEST(test_release_not_base)
{
    char *a = committed(0x30000, 11);
    FREE_FAILS(a + PG, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(a + PG + 1, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(a + 0x10000, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    FREE_FAILS(a + 0x30000 - 1, 0, MEM_RELEASE, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(a, a, a, RW, 0x30000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(a, 0x30000, 11));
    CHECK_RW(a + PG);
    vw_assert_range_agrees(a, 0x30000);
}
END_TEST

/* spec 5: MEM_RELEASE frees the whole allocation whatever state its pages are in */
START_TEST(test_release_partly_committed)
{
    char *a = VW_ALLOC_OK(NULL, 0x40000, MEM_RESERVE, RW);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + PG, PG, MEM_COMMIT, RW), a + PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 5 * PG, 2 * PG, MEM_COMMIT, PAGE_READONLY), a + 5 * PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 10 * PG, PG, MEM_COMMIT, PAGE_NOACCESS), a + 10 * PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 12 * PG, PG, MEM_COMMIT, RW | PAGE_GUARD), a + 12 * PG);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x30000, 0x10000, MEM_COMMIT, PAGE_EXECUTE_READWRITE),
                     a + 0x30000);
    vw_fill_pattern(a + PG, PG, 12);
    VW_FREE_OK(a, 0, MEM_RELEASE);
    VW_CHECK_FREE(a, 0x40000);
    VW_CHECK_FREE(a + 5 * PG, 0x40000 - 5 * PG);
    VW_CHECK_FREE(a + 0x30000, 0x10000);
    VW_CHECK_NO_ACCESS(a + PG);
    VW_CHECK_NO_ACCESS(a + 5 * PG);
    VW_CHECK_NO_ACCESS(a + 0x30000);
    vw_assert_range_agrees(a, 0x40000);
    /* the space is reusable at the same address */
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x40000, MEM_RESERVE | MEM_COMMIT, RW), a);
    ck_assert(vw_is_zero(a, 0x40000));
    VW_CHECK_MBI(a, a, a, RW, 0x40000, MEM_COMMIT, RW, MEM_PRIVATE);
    vw_assert_range_agrees(a, 0x40000);
}
END_TEST

/* spec 5: a reserved-only allocation is released too */
START_TEST(test_release_reserved_only)
{
    char *a = VW_ALLOC_OK(NULL, 0x50000, MEM_RESERVE, PAGE_NOACCESS);
    VW_FREE_OK(a, 0, MEM_RELEASE);
    VW_CHECK_FREE(a, 0x50000);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x10000, 0x10000, MEM_RESERVE, RW), a + 0x10000);
    vw_assert_range_agrees(a, 0x50000);
}
END_TEST

/* spec 5/10: released memory faults and reads zero when reserved and committed again at the
 * same address (two-step and in one call) */
START_TEST(test_release_faults_then_zero)
{
    char *f = vw_free_space(0x100000);
    char *a = VW_ALLOC_OK(f + 0x20000, 0x20000, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_ptr_eq(a, f + 0x20000);
    vw_fill_pattern(a, 0x20000, 13);
    VW_FREE_OK(a, 0, MEM_RELEASE);
    VW_CHECK_NO_ACCESS(a);
    VW_CHECK_NO_ACCESS(a + 0x1FFFF);
    VW_CHECK_FREE(a, 0x20000);
    vw_assert_range_agrees(f, 0x100000);
    /* two steps */
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x20000, MEM_RESERVE, RW), a);
    VW_CHECK_MBI(a, a, a, RW, 0x20000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(a);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x20000, MEM_COMMIT, RW), a);
    ck_assert_msg(vw_is_zero(a, 0x20000), "released data came back after re-reserve and commit");
    vw_fill_pattern(a, 0x20000, 14);
    VW_FREE_OK(a, 0, MEM_RELEASE);
    /* one call */
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x20000, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY), a);
    ck_assert_msg(vw_is_zero(a, 0x20000), "released data came back after reserve|commit");
    VW_FREE_OK(a, 0, MEM_RELEASE);
    /* a larger allocation at the same base, and one that starts before it */
    ck_assert_ptr_eq(VW_ALLOC_OK(f + 0x10000, 0x40000, MEM_RESERVE | MEM_COMMIT, RW), f + 0x10000);
    ck_assert(vw_is_zero(f + 0x10000, 0x40000));
    vw_assert_range_agrees(f, 0x100000);
}
END_TEST

/* spec 5: releasing one allocation leaves its neighbours untouched */
START_TEST(test_release_leaves_neighbours)
{
    char *f = vw_free_space(0x100000);
    char *a = VW_ALLOC_OK(f, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    char *b = VW_ALLOC_OK(f + 0x10000, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    char *c = VW_ALLOC_OK(f + 0x20000, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_ptr_eq(a, f);
    ck_assert_ptr_eq(b, f + 0x10000);
    ck_assert_ptr_eq(c, f + 0x20000);
    vw_fill_pattern(a, 0x30000, 15);
    VW_FREE_OK(b, 0, MEM_RELEASE);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_FREE(b, 0x10000);
    VW_CHECK_MBI(c, c, c, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern_at(f, 0, 0x10000, 15));
    ck_assert(vw_has_pattern_at(f, 0x20000, 0x10000, 15));
    VW_CHECK_NO_ACCESS(b);
    CHECK_RW(a + 0xFFFF);
    CHECK_RW(c);
    vw_assert_range_agrees(f, 0x30000);
}
END_TEST

/* ---- MEM_DECOMMIT ----------------------------------------------------------------------- */

/* spec 5: decommit with size 0 decommits the whole allocation: MEM_RESERVE, Protect 0,
 * same AllocationBase/AllocationProtect, faults */
START_TEST(test_decommit_size0_whole)
{
    char *a = VW_ALLOC_OK(NULL, 0x40000, MEM_RESERVE, PAGE_EXECUTE_READ);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x10000, MEM_COMMIT, RW), a);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 0x20000, 0x3000, MEM_COMMIT, PAGE_READONLY), a + 0x20000);
    vw_fill_pattern(a, 0x10000, 16);
    VW_FREE_OK(a, 0, MEM_DECOMMIT);
    VW_CHECK_MBI(a, a, a, PAGE_EXECUTE_READ, 0x40000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(a);
    VW_CHECK_NO_ACCESS(a + 0xFFFF);
    VW_CHECK_NO_ACCESS(a + 0x20000);
    vw_assert_range_agrees(a, 0x40000);
    /* decommitting again is fine: reserved pages are allowed */
    VW_FREE_OK(a, 0, MEM_DECOMMIT);
    VW_CHECK_MBI(a, a, a, PAGE_EXECUTE_READ, 0x40000, MEM_RESERVE, 0, MEM_PRIVATE);
    /* still an allocation: release works */
    VW_FREE_OK(a, 0, MEM_RELEASE);
    VW_CHECK_FREE(a, 0x40000);
}
END_TEST

/* spec 5: decommit with size 0 takes lpAddress rounded down to a page: base+0xFFF works,
 * any other page is ERROR_INVALID_ADDRESS */
START_TEST(test_decommit_size0_must_be_base)
{
    char *a = committed(0x20000, 17);
    FREE_FAILS(a + PG, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(a + PG + 1, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    FREE_FAILS(a + 0x10000, 0, MEM_DECOMMIT, ERROR_INVALID_ADDRESS);
    VW_CHECK_MBI(a, a, a, RW, 0x20000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(a, 0x20000, 17));
    VW_FREE_OK(a + PG - 1, 0, MEM_DECOMMIT);
    VW_CHECK_MBI(a, a, a, RW, 0x20000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(a + 0x1FFFF);
    vw_assert_range_agrees(a, 0x20000);
}
END_TEST

/* spec 5: the decommit range is rounded out to whole pages: size 2 at base+0x1FFF decommits
 * pages 1 and 2; the rest keeps state and contents */
START_TEST(test_decommit_rounding)
{
    char *a = committed(0x10000, 18);
    VW_FREE_OK(a + 2 * PG - 1, 2, MEM_DECOMMIT);
    VW_CHECK_MBI(a, a, a, RW, PG, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(a + PG, a + PG, a, RW, 2 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 3 * PG, a + 3 * PG, a, RW, 0x10000 - 3 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_NO_ACCESS(a + PG);
    VW_CHECK_NO_ACCESS(a + 3 * PG - 1);
    CHECK_RW(a + PG - 1);
    CHECK_RW(a + 3 * PG);
    ck_assert(vw_has_pattern_at(a, 0, PG, 18));
    ck_assert(vw_has_pattern_at(a, 3 * PG, 0x10000 - 3 * PG, 18));
    /* a one-byte range inside a page decommits that page */
    VW_FREE_OK(a + 5 * PG + 0x123, 1, MEM_DECOMMIT);
    VW_CHECK_MBI(a + 5 * PG, a + 5 * PG, a, RW, PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 6 * PG, a + 6 * PG, a, RW, 0x10000 - 6 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern_at(a, 6 * PG, 0x10000 - 6 * PG, 18));
    /* explicit whole-size decommit */
    VW_FREE_OK(a, 0x10000, MEM_DECOMMIT);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* spec 5: a decommit range past the allocation's end is ERROR_INVALID_PARAMETER, and nothing
 * is decommitted */
START_TEST(test_decommit_past_end)
{
    char *f = vw_free_space(0x100000);
    char *a = VW_ALLOC_OK(f, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_ptr_eq(a, f);
    vw_fill_pattern(a, 0x10000, 19);
    FREE_FAILS(a + 0xF000, 0x2000, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a, 0x10001, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a, 0x20000, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a + PG, SIZE_MAX / 2, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(a, 0x10000, 19));
    /* a three-page NULL allocation: the rest of its 64 KiB block is not part of it */
    char *b = VW_ALLOC_OK(NULL, 3 * PG, MEM_RESERVE | MEM_COMMIT, RW);
    vw_fill_pattern(b, 3 * PG, 20);
    FREE_FAILS(b + 2 * PG, 2 * PG, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    FREE_FAILS(b, 4 * PG, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(b, b, b, RW, 3 * PG, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(b, 3 * PG, 20));
    vw_assert_range_agrees(f, 0x20000);
    vw_assert_range_agrees(b, G64);
}
END_TEST

/* spec 5: decommitting pages that are only reserved is fine (alone or mixed) */
START_TEST(test_decommit_reserved_pages)
{
    char *a = VW_ALLOC_OK(NULL, 0x10000, MEM_RESERVE, RW);
    VW_FREE_OK(a + PG, 3 * PG, MEM_DECOMMIT);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_ptr_eq(VW_ALLOC_OK(a + 2 * PG, 2 * PG, MEM_COMMIT, RW), a + 2 * PG);
    vw_fill_pattern(a + 2 * PG, 2 * PG, 21);
    VW_FREE_OK(a, 3 * PG, MEM_DECOMMIT); /* pages 0-1 reserved, page 2 committed */
    VW_CHECK_MBI(a, a, a, RW, 3 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(a + 3 * PG, a + 3 * PG, a, RW, PG, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern_at(a + 2 * PG, PG, PG, 21));
    VW_CHECK_NO_ACCESS(a + 2 * PG);
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* spec 5/10: decommitted pages read zero when committed again; the others keep their data */
START_TEST(test_decommit_recommit_zero)
{
    char *a = committed(0x20000, 22);
    VW_FREE_OK(a + 0x4000, 0x8000, MEM_DECOMMIT);
    VW_CHECK_NO_ACCESS(a + 0x4000);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x20000, MEM_COMMIT, RW), a);
    VW_CHECK_MBI(a, a, a, RW, 0x20000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert_msg(vw_is_zero(a + 0x4000, 0x8000), "decommitted data came back after re-commit");
    ck_assert(vw_has_pattern_at(a, 0, 0x4000, 22));
    ck_assert(vw_has_pattern_at(a, 0xC000, 0x14000, 22));
    /* whole-allocation decommit, recommit with another protection */
    VW_FREE_OK(a, 0, MEM_DECOMMIT);
    ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x20000, MEM_COMMIT, PAGE_READONLY), a);
    ck_assert(vw_is_zero(a, 0x20000));
    VW_CHECK_MBI(a, a, a, RW, 0x20000, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    vw_assert_range_agrees(a, 0x20000);
}
END_TEST

/* spec 5: decommit works whatever the protection (NOACCESS, READONLY, EXECUTE, GUARD) */
START_TEST(test_decommit_any_protection)
{
    static const DWORD prots[] = {PAGE_NOACCESS, PAGE_READONLY, PAGE_EXECUTE,
                                  PAGE_EXECUTE_READWRITE, RW | PAGE_GUARD, RW | PAGE_NOCACHE};
    for (size_t i = 0; i < sizeof prots / sizeof prots[0]; i++) {
        char *a = VW_ALLOC_OK(NULL, 4 * PG, MEM_RESERVE | MEM_COMMIT, prots[i]);
        VW_FREE_OK(a + PG, 2 * PG, MEM_DECOMMIT);
        VW_CHECK_MBI(a, a, a, prots[i], PG, MEM_COMMIT, prots[i], MEM_PRIVATE);
        VW_CHECK_MBI(a + PG, a + PG, a, prots[i], 2 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
        VW_CHECK_MBI(a + 3 * PG, a + 3 * PG, a, prots[i], PG, MEM_COMMIT, prots[i], MEM_PRIVATE);
        vw_assert_range_agrees(a, 4 * PG);
        VW_CHECK_NO_ACCESS(a + PG);
    }
}
END_TEST

/* spec 5: decommitted pages give their memory back to the system */
START_TEST(test_decommit_gives_back_memory)
{
    const size_t len = 64 * PG;
    char *a = committed(len, 23);
    ck_assert_int_eq(resident_pages(a, len), (int)(len / PG));
    VW_FREE_OK(a + 16 * PG, 32 * PG, MEM_DECOMMIT);
    int r = resident_pages(a + 16 * PG, 32 * PG);
    ck_assert_msg(r <= 0, "%d decommitted pages are still resident", r);
    ck_assert_int_eq(resident_pages(a, 16 * PG), 16);
    ck_assert(vw_has_pattern_at(a, 48 * PG, 16 * PG, 23));
    VW_FREE_OK(a, 0, MEM_DECOMMIT);
    r = resident_pages(a, len);
    ck_assert_msg(r <= 0, "%d pages are still resident after decommitting everything", r);
    vw_assert_range_agrees(a, len);
}
END_TEST

/* spec 5: decommitted pages give their commit charge back (the kernel's VM_ACCOUNT, "ac" in
 * /proc/self/smaps VmFlags, is gone from them) */
START_TEST(test_decommit_gives_back_commit_charge)
{
    const size_t len = 32 * PG;
    char *a = committed(len, 24);
    int before = vma_accountable((uintptr_t)a + 8 * PG);
    ck_assert_int_ne(before, -1);
    VW_FREE_OK(a + 8 * PG, 16 * PG, MEM_DECOMMIT);
    if (before == 1) {
        for (size_t pg = 8; pg < 24; pg += 5)
            ck_assert_msg(vma_accountable((uintptr_t)a + pg * PG) != 1,
                          "decommitted page %zu is still charged (VM_ACCOUNT)", pg);
    }
    VW_FREE_OK(a, 0, MEM_DECOMMIT);
    if (before == 1)
        ck_assert_msg(vma_accountable((uintptr_t)a) != 1,
                      "decommitted page 0 is still charged (VM_ACCOUNT)");
    VW_CHECK_MBI(a, a, a, RW, len, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(a, len);
}
END_TEST

/* spec 5: a decommit range crossing from one allocation into the adjacent one is
 * ERROR_INVALID_PARAMETER; both stay intact and separate */
START_TEST(test_decommit_crossing_allocations)
{
    char *f = vw_free_space(0x100000);
    char *a = VW_ALLOC_OK(f, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    char *b = VW_ALLOC_OK(f + 0x10000, 0x10000, MEM_RESERVE | MEM_COMMIT, RW);
    ck_assert_ptr_eq(a, f);
    ck_assert_ptr_eq(b, f + 0x10000);
    vw_fill_pattern(f, 0x20000, 25);
    FREE_FAILS(a + 0xF000, 0x2000, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a + 0xFFFF, 2, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a, 0x20000, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    FREE_FAILS(a + 0x8000, 0x10000, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    VW_CHECK_MBI(b, b, b, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(f, 0x20000, 25));
    CHECK_RW(a + 0xF000);
    CHECK_RW(b);
    /* both reserved-only: still an error */
    VW_FREE_OK(a, 0, MEM_DECOMMIT);
    VW_FREE_OK(b, 0, MEM_DECOMMIT);
    FREE_FAILS(a + 0xF000, 0x2000, MEM_DECOMMIT, ERROR_INVALID_PARAMETER);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    VW_CHECK_MBI(b, b, b, RW, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    vw_assert_range_agrees(f, 0x20000);
}
END_TEST

/* spec 2/5: a successful VirtualFree leaves the last error alone (VW_FREE_OK checks it for every
 * kind of call); a failing one sets it whatever it was */
START_TEST(test_free_lasterror)
{
    char *a = committed(0x10000, 26);
    VW_FREE_OK(a + PG, PG, MEM_DECOMMIT);
    VW_FREE_OK(a, 0, MEM_DECOMMIT);
    VW_FREE_OK(a, 0, MEM_RELEASE);
    SetLastError(ERROR_INVALID_PARAMETER);
    ck_assert(!VirtualFree(a, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    SetLastError(0);
    ck_assert(!VirtualFree(a, 0, 0));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
}
END_TEST

/* ---- section 9: VirtualFreeEx -------------------------------------------------------- */

/* spec 9: VirtualFreeEx with GetCurrentProcess() behaves like VirtualFree */
START_TEST(test_freeex_current_process)
{
    HANDLE self = GetCurrentProcess();
    char *a = committed(0x20000, 27);
    SetLastError(KEEP_ERR);
    ck_assert(VirtualFreeEx(self, a + 2 * PG - 1, 2, MEM_DECOMMIT));
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    VW_CHECK_MBI(a + PG, a + PG, a, RW, 2 * PG, MEM_RESERVE, 0, MEM_PRIVATE);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(self, a, 1, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(self, a + PG, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(self, a, 0, MEM_DECOMMIT | MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(self, a + 0xF000, 0x20000, MEM_DECOMMIT));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    ck_assert(vw_has_pattern_at(a, 3 * PG, 0x20000 - 3 * PG, 27));
    SetLastError(KEEP_ERR);
    ck_assert(VirtualFreeEx(self, a, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    VW_CHECK_FREE(a, 0x20000);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(self, a, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    vw_assert_range_agrees(a, 0x20000);
}
END_TEST

/* spec 9: a NULL process handle is ERROR_INVALID_HANDLE, and nothing is freed */
START_TEST(test_freeex_null_handle)
{
    char *a = committed(0x10000, 28);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(NULL, a, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(NULL, a, PG, MEM_DECOMMIT));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    VW_CHECK_MBI(a, a, a, RW, 0x10000, MEM_COMMIT, RW, MEM_PRIVATE);
    ck_assert(vw_has_pattern(a, 0x10000, 28));
    vw_assert_range_agrees(a, 0x10000);
}
END_TEST

/* ---- section 10: contents ------------------------------------------------------------- */

/* spec 10: repeated decommit/recommit and release/re-reserve cycles never show old data */
START_TEST(test_contents_cycles)
{
    char *a = VW_ALLOC_OK(NULL, 0x40000, MEM_RESERVE, RW);
    for (unsigned round = 0; round < 6; round++) {
        size_t off = (round % 3) * 0x8000, len = 0x10000 + round * PG;
        ck_assert_ptr_eq(VW_ALLOC_OK(a + off, len, MEM_COMMIT, RW), a + off);
        ck_assert_msg(vw_is_zero(a + off, len), "round %u: recommitted pages hold old data", round);
        vw_fill_pattern(a + off, len, 30 + round);
        VW_FREE_OK(a + off, len, MEM_DECOMMIT);
    }
    VW_FREE_OK(a, 0, MEM_RELEASE);
    for (unsigned round = 0; round < 4; round++) {
        ck_assert_ptr_eq(VW_ALLOC_OK(a, 0x40000, MEM_RESERVE | MEM_COMMIT, RW), a);
        ck_assert_msg(vw_is_zero(a, 0x40000), "round %u: re-reserved memory holds old data", round);
        vw_fill_pattern(a, 0x40000, 40 + round);
        VW_FREE_OK(a, 0, MEM_RELEASE);
    }
    VW_CHECK_FREE(a, 0x40000);
    vw_assert_range_agrees(a, 0x40000);
}
END_TEST

/* spec 5/7: after free scenarios the whole address space agrees with the kernel */
START_TEST(test_all_agree_after_frees)
{
    char *a = committed(0x80000, 50);
    VW_FREE_OK(a + 0x3000, 0x5000, MEM_DECOMMIT);
    VW_FREE_OK(a + 0x40000, 0x10000, MEM_DECOMMIT);
    char *b = committed(0x20000, 51);
    VW_FREE_OK(b, 0, MEM_RELEASE);
    char *c = committed(PG, 52);
    VW_FREE_OK(c, 0, MEM_DECOMMIT);
    vw_assert_range_agrees(a, 0x80000);
    vw_assert_range_agrees(b, 0x20000);
    vw_assert_range_agrees(c, G64);
    vw_assert_all_agree();
}
END_TEST

/* ---- suite ------------------------------------------------------------------------------ */

static Suite *free_suite(void)
{
    Suite *s = suite_create("VirtualFree");
    TCase *tc;

    tc = tcase_create("validation");
    tcase_add_test(tc, test_free_type_invalid);
    tcase_add_test(tc, test_free_null_address);
    tcase_add_test(tc, test_free_free_memory);
    tcase_add_test(tc, test_free_stack);
    tcase_add_test(tc, test_free_heap);
    tcase_add_test(tc, test_free_image);
    tcase_add_test(tc, test_free_foreign_mmap);
    tcase_add_test(tc, test_free_double_release);
    tcase_add_test(tc, test_free_lasterror);
    suite_add_tcase(s, tc);

    tc = tcase_create("release");
    tcase_add_test(tc, test_release_nonzero_size);
    tcase_add_test(tc, test_release_base_plus_fff);
    tcase_add_test(tc, test_release_not_base);
    tcase_add_test(tc, test_release_partly_committed);
    tcase_add_test(tc, test_release_reserved_only);
    tcase_add_test(tc, test_release_faults_then_zero);
    tcase_add_test(tc, test_release_leaves_neighbours);
    suite_add_tcase(s, tc);

    tc = tcase_create("decommit");
    tcase_add_test(tc, test_decommit_size0_whole);
    tcase_add_test(tc, test_decommit_size0_must_be_base);
    tcase_add_test(tc, test_decommit_rounding);
    tcase_add_test(tc, test_decommit_past_end);
    tcase_add_test(tc, test_decommit_reserved_pages);
    tcase_add_test(tc, test_decommit_recommit_zero);
    tcase_add_test(tc, test_decommit_any_protection);
    tcase_add_test(tc, test_decommit_gives_back_memory);
    tcase_add_test(tc, test_decommit_gives_back_commit_charge);
    tcase_add_test(tc, test_decommit_crossing_allocations);
    suite_add_tcase(s, tc);

    tc = tcase_create("ex");
    tcase_add_test(tc, test_freeex_current_process);
    tcase_add_test(tc, test_freeex_null_handle);
    suite_add_tcase(s, tc);

    tc = tcase_create("contents");
    tcase_add_test(tc, test_contents_cycles);
    tcase_add_test(tc, test_all_agree_after_frees);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(free_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
