/*
 * check_badinput.c: bad input on every call.  Each call must fail with the error
 * the spec documents, must not crash, and must change nothing: the text of
 * /proc/self/maps is the same before and after, and an existing allocation reads
 * the same through VirtualQuery, with the same contents and the same access.
 *
 * Between the two snapshots of /proc/self/maps the tests call nothing but the API
 * (results are recorded in a static table and asserted afterwards), so that no
 * malloc, stdio or Check call can move the heap; the stack is grown beforehand.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG VW_PAGE
#define KERNEL_ADDR ((void *)(uintptr_t)0xFFFF800000000000ull)
#define ABOVE_MAX ((void *)(uintptr_t)(VW_MAX_APP_ADDR + 1))   /* 0x7FFFFFFF0000 */
#define TOP_PAGE ((void *)(uintptr_t)0xFFFFFFFFFFFFF000ull)
#define HIGH_HALF ((void *)(uintptr_t)0x800000000000ull)

/* ---- the fixture: one allocation in several states -----------------------
 * 4 x 64 KiB reserved; pages 0-3 READWRITE (with markers), 4-5 READONLY,
 * 6 NOACCESS, 7 READWRITE|GUARD, 8 READWRITE, the rest (from RSV) reserved.  FREE is a released
 * allocation (free memory), HEAP a small malloc block, BIG a large (mmap'd)
 * malloc block. */
#define FX_SIZE (4 * VW_64K)
#define RSV (fx + 9 * PG)
static char *fx;
static char *free_addr;
static char *heap_small;
static char *heap_big;

struct region { void *base; size_t size; DWORD state, protect, aprot, type; void *abase; };
static struct region before_regions[64];
static int before_count;

static int snapshot_regions(struct region *out, int max)
{
    int n = 0;
    uintptr_t a = (uintptr_t)fx;
    while (a < (uintptr_t)fx + FX_SIZE && n < max) {
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        out[n].base = m.BaseAddress;
        out[n].size = m.RegionSize;
        out[n].state = m.State;
        out[n].protect = m.Protect;
        out[n].aprot = m.AllocationProtect;
        out[n].type = m.Type;
        out[n].abase = m.AllocationBase;
        n++;
        a = (uintptr_t)m.BaseAddress + m.RegionSize;
    }
    return n;
}

static void fixture_setup(void)
{
    fx = VirtualAlloc(NULL, FX_SIZE, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(fx);
    ck_assert_ptr_eq(VirtualAlloc(fx, 9 * PG, MEM_COMMIT, PAGE_READWRITE), fx);
    for (size_t i = 0; i < 6; i++)
        memset(fx + i * PG, 0x40 + (int)i, PG);
    DWORD old;
    ck_assert(VirtualProtect(fx + 4 * PG, 2 * PG, PAGE_READONLY, &old));
    ck_assert(VirtualProtect(fx + 6 * PG, PG, PAGE_NOACCESS, &old));
    ck_assert(VirtualProtect(fx + 7 * PG, PG, PAGE_READWRITE | PAGE_GUARD, &old));

    free_addr = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(free_addr);
    ck_assert(VirtualFree(free_addr, 0, MEM_RELEASE));
    ck_assert_uint_eq(vw_query(free_addr).State, MEM_FREE);

    heap_small = malloc(64);
    heap_big = malloc(4 << 20);
    ck_assert_ptr_nonnull(heap_small);
    ck_assert_ptr_nonnull(heap_big);
    memset(heap_small, 0x11, 64);
    memset(heap_big, 0x22, 4 << 20);

    before_count = snapshot_regions(before_regions, 64);
    ck_assert_int_eq(before_count, 6);
}

static void fixture_teardown(void)
{
    free(heap_small);
    free(heap_big);
}

/* ---- result recording ---------------------------------------------------- */

#define MAX_RESULTS 512
struct result {
    const char *what;
    int line;
    uintptr_t ret;
    DWORD err;
    DWORD allowed[4];
    int extra_ok;           /* a further per-case condition (e.g. *lpflOldProtect) */
    const char *extra_what;
};
static struct result results[MAX_RESULTS];
static int nresults;

static void record(const char *what, int line, uintptr_t ret, DWORD err, const DWORD *allowed,
                   int extra_ok, const char *extra_what)
{
    if (nresults >= MAX_RESULTS)
        return;
    struct result *r = &results[nresults++];
    r->what = what;
    r->line = line;
    r->ret = ret;
    r->err = err;
    memset(r->allowed, 0, sizeof r->allowed);
    for (int i = 0; i < 4 && allowed[i]; i++)
        r->allowed[i] = allowed[i];
    r->extra_ok = extra_ok;
    r->extra_what = extra_what;
}

/* The call must fail (return 0/NULL/FALSE) with one of the listed errors. */
#define EXPECT_ERR(call, ...)                                                           \
    do {                                                                                \
        SetLastError(0xDEADBEEF);                                                       \
        uintptr_t r_ = (uintptr_t)(call);                                               \
        DWORD e_ = GetLastError();                                                      \
        record(#call, __LINE__, r_, e_, (const DWORD[]){ __VA_ARGS__, 0 }, 1, NULL);    \
    } while (0)

/* VirtualProtect / VirtualProtectEx: also checks *lpflOldProtect afterwards
 * (want_old 0 = not checked). */
#define EXPECT_PROT_ERR(call, want_old, ...)                                            \
    do {                                                                                \
        old = 0xDEADBEEF;                                                               \
        SetLastError(0xDEADBEEF);                                                       \
        uintptr_t r_ = (uintptr_t)(call);                                               \
        DWORD e_ = GetLastError();                                                      \
        record(#call, __LINE__, r_, e_, (const DWORD[]){ __VA_ARGS__, 0 },              \
               (want_old) == 0 || old == (DWORD)(want_old),                             \
               "*lpflOldProtect is " #want_old);                                        \
    } while (0)

static void check_results(void)
{
    ck_assert_int_lt(nresults, MAX_RESULTS);
    ck_assert_int_gt(nresults, 0);
    for (int i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        ck_assert_msg(r->ret == 0, "line %d: %s succeeded (returned %#lx), expected error %u",
                      r->line, r->what, (unsigned long)r->ret, (unsigned)r->allowed[0]);
        int ok = 0;
        for (int j = 0; j < 4 && r->allowed[j]; j++)
            ok |= r->err == r->allowed[j];
        ck_assert_msg(ok, "line %d: %s: last error %u, expected %u%s", r->line, r->what,
                      (unsigned)r->err, (unsigned)r->allowed[0],
                      r->allowed[1] ? " (or another listed one)" : "");
        ck_assert_msg(r->extra_ok, "line %d: %s: expected %s", r->line, r->what, r->extra_what);
    }
}

/* ---- /proc/self/maps snapshots (no malloc, no stdio) ---------------------- */

#define MAPS_MAX (1 << 20)
static char maps_before[MAPS_MAX], maps_after[MAPS_MAX];

static size_t read_maps(char *buf)
{
    ssize_t n = vw_read_file("/proc/self/maps", buf, MAPS_MAX);
    return n < 0 ? 0 : (size_t)n;
}

static void __attribute__((noinline)) grow_stack(void)
{
    volatile char pad[256 * 1024];
    for (size_t i = 0; i < sizeof pad; i += 1024)
        pad[i] = 0;
}

static void begin_window(void)
{
    /* Warm the library up (lazy initialisation may map its own memory), and the
     * stack, before the first snapshot. */
    void *w = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(w);
    DWORD old;
    ck_assert(VirtualProtect(w, PG, PAGE_READONLY, &old));
    ck_assert(VirtualLock(w, PG));
    ck_assert(VirtualUnlock(w, PG));
    ck_assert(VirtualFree(w, 0, MEM_RELEASE));
    MEMORY_BASIC_INFORMATION m;
    VirtualQuery(KERNEL_ADDR, &m, sizeof m);
    VirtualQuery(&m, &m, sizeof m);
    SetLastError(0);
    grow_stack();
    nresults = 0;
    ck_assert_uint_gt(read_maps(maps_before), 0);
}

static void end_window(void)
{
    ck_assert_uint_gt(read_maps(maps_after), 0);
    check_results();
    if (strcmp(maps_before, maps_after) != 0) {
        /* Report the first differing line. */
        const char *a = maps_before, *b = maps_after;
        while (*a && *a == *b) {
            a++;
            b++;
        }
        while (a > maps_before && a[-1] != '\n') {
            a--;
            b--;
        }
        char la[160], lb[160];
        snprintf(la, sizeof la, "%.*s", (int)strcspn(a, "\n"), a);
        snprintf(lb, sizeof lb, "%.*s", (int)strcspn(b, "\n"), b);
        ck_abort_msg("/proc/self/maps changed: before \"%s\", after \"%s\"", la, lb);
    }
    /* The existing allocation is unchanged: regions, contents, access. */
    struct region now[64];
    int n = snapshot_regions(now, 64);
    ck_assert_int_eq(n, before_count);
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_eq(now[i].base, before_regions[i].base);
        ck_assert_uint_eq(now[i].size, before_regions[i].size);
        ck_assert_uint_eq(now[i].state, before_regions[i].state);
        ck_assert_uint_eq(now[i].protect, before_regions[i].protect);
        ck_assert_uint_eq(now[i].aprot, before_regions[i].aprot);
        ck_assert_uint_eq(now[i].type, before_regions[i].type);
        ck_assert_ptr_eq(now[i].abase, before_regions[i].abase);
    }
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < PG; j += 256)
            ck_assert_int_eq(fx[i * PG + j], 0x40 + (int)i);
    ck_assert_int_eq(vw_can_write(fx), 1);
    ck_assert_int_eq(vw_can_write(fx + 4 * PG), 0);
    ck_assert_int_eq(vw_can_read(fx + 6 * PG), 0);
    ck_assert_int_eq(vw_can_read(RSV), 0);
    ck_assert_int_eq(vw_can_write(fx + 8 * PG), 1);
    ck_assert_uint_eq(vw_query(fx + 7 * PG).Protect, PAGE_READWRITE | PAGE_GUARD);
    ck_assert_uint_eq(vw_query(free_addr).State, MEM_FREE);
    ck_assert_int_eq(heap_small[63], 0x11);
    ck_assert_int_eq(heap_big[(4 << 20) - 1], 0x22);
    vw_assert_range_agrees(fx, FX_SIZE);
    vw_assert_all_agree();

    /* The library still works. */
    char *p = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    p[0] = 1;
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
}

static void some_function(void) {}
#define IMAGE_ADDR ((void *)(uintptr_t)&some_function)

/* ---- VirtualAlloc ----------------------------------------------------------- */

/* Section 4: dwSize 0, sizes too large, addresses below 0x10000, above the maximum,
 * in kernel space and wrapping ranges: ERROR_INVALID_PARAMETER (too large with a
 * NULL address: or ERROR_NOT_ENOUGH_MEMORY). */
START_TEST(alloc_bad_address_and_size)
{
    begin_window();
    const DWORD RC = MEM_RESERVE | MEM_COMMIT;
    /* size 0 */
    EXPECT_ERR(VirtualAlloc(NULL, 0, RC, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_NOACCESS), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(free_addr, 0, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(RSV, 0, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* sizes too large for the address space */
    EXPECT_ERR(VirtualAlloc(NULL, SIZE_MAX, RC, PAGE_READWRITE), ERROR_INVALID_PARAMETER,
               ERROR_NOT_ENOUGH_MEMORY);
    EXPECT_ERR(VirtualAlloc(NULL, SIZE_MAX, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER, ERROR_NOT_ENOUGH_MEMORY);
    EXPECT_ERR(VirtualAlloc(NULL, SIZE_MAX - 0xFFFF, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER, ERROR_NOT_ENOUGH_MEMORY);
    EXPECT_ERR(VirtualAlloc(NULL, (SIZE_T)1 << 47, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER, ERROR_NOT_ENOUGH_MEMORY);
    EXPECT_ERR(VirtualAlloc(NULL, (SIZE_T)1 << 63, RC, PAGE_NOACCESS), ERROR_INVALID_PARAMETER,
               ERROR_NOT_ENOUGH_MEMORY);
    /* wrapping and not fitting below the maximum with an address */
    EXPECT_ERR(VirtualAlloc(free_addr, SIZE_MAX, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(free_addr, SIZE_MAX - (uintptr_t)free_addr + 2 * PG, RC,
                            PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(free_addr, (SIZE_T)1 << 47, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc((void *)(uintptr_t)0x7FFFFFFE0000ull, 0x20000, MEM_RESERVE,
                            PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(fx, SIZE_MAX, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER,
               ERROR_INVALID_ADDRESS);
    /* below 0x10000 */
    EXPECT_ERR(VirtualAlloc((void *)1, PG, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc((void *)0x1000, PG, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc((void *)0x8000, PG, RC, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc((void *)0xFFFF, 1, RC, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc((void *)0x1000, PG, MEM_COMMIT, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    /* above the maximum application address, kernel space, the top page */
    EXPECT_ERR(VirtualAlloc(ABOVE_MAX, VW_64K, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(ABOVE_MAX, PG, RC, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(HIGH_HALF, VW_64K, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(KERNEL_ADDR, VW_64K, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(KERNEL_ADDR, PG, RC, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(KERNEL_ADDR, PG, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(TOP_PAGE, PG, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(TOP_PAGE, PG, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* the Ex variant, same rules; and a NULL process handle (section 9) */
    EXPECT_ERR(VirtualAllocEx(GetCurrentProcess(), NULL, 0, RC, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAllocEx(GetCurrentProcess(), KERNEL_ADDR, PG, RC, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAllocEx(NULL, NULL, VW_64K, RC, PAGE_READWRITE), ERROR_INVALID_HANDLE);
    EXPECT_ERR(VirtualAllocEx(NULL, free_addr, VW_64K, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_HANDLE);
    end_window();
}
END_TEST

/* Section 4: flAllocationType with unknown bits, none of COMMIT/RESERVE/RESET/
 * RESET_UNDO, RESET or RESET_UNDO combined, WRITE_WATCH without RESERVE, PHYSICAL
 * without exactly RESERVE + READWRITE: ERROR_INVALID_PARAMETER. */
START_TEST(alloc_bad_type)
{
    begin_window();
    const DWORD types[] = {
        0, MEM_TOP_DOWN, MEM_WRITE_WATCH, MEM_PHYSICAL, MEM_LARGE_PAGES,
        MEM_RESERVE | 0x1, MEM_RESERVE | 0x2, MEM_RESERVE | 0x800, MEM_RESERVE | MEM_DECOMMIT,
        MEM_RESERVE | MEM_RELEASE, MEM_RESERVE | MEM_FREE, MEM_RESERVE | MEM_PRIVATE,
        MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
        MEM_COMMIT | 0x80000000u, MEM_RESERVE | MEM_COMMIT | 0x10000000u,
        MEM_COMMIT | 0x00800000u, 0xFFFFFFFFu, MEM_FREE, MEM_RELEASE, MEM_DECOMMIT,
        MEM_COMMIT | MEM_WRITE_WATCH,
        MEM_RESERVE | MEM_PHYSICAL | MEM_COMMIT,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        EXPECT_ERR(VirtualAlloc(NULL, VW_64K, types[i], PAGE_READWRITE), ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualAlloc(free_addr, VW_64K, types[i], PAGE_READWRITE),
                   ERROR_INVALID_PARAMETER);
    }
    /* RESET / RESET_UNDO go alone (TOP_DOWN aside), on an existing allocation. */
    const DWORD resets[] = {
        MEM_RESET | MEM_COMMIT, MEM_RESET | MEM_RESERVE, MEM_RESET | MEM_RESET_UNDO,
        MEM_RESET_UNDO | MEM_COMMIT, MEM_RESET_UNDO | MEM_RESERVE, MEM_RESET | MEM_WRITE_WATCH,
        MEM_RESET | 0x1,
    };
    for (size_t i = 0; i < sizeof resets / sizeof resets[0]; i++)
        EXPECT_ERR(VirtualAlloc(fx, PG, resets[i], PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    /* WRITE_WATCH needs RESERVE, even on an existing reservation. */
    EXPECT_ERR(VirtualAlloc(RSV, PG, MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    /* PHYSICAL needs exactly RESERVE and READWRITE. */
    EXPECT_ERR(VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_PHYSICAL, PAGE_READONLY),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_PHYSICAL, PAGE_EXECUTE_READWRITE),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualAllocEx(GetCurrentProcess(), NULL, VW_64K, 0, PAGE_READWRITE),
               ERROR_INVALID_PARAMETER);
    end_window();
}
END_TEST

/* Section 3: protections that are 0, two base protections, WRITECOPY kinds,
 * a modifier alone, unknown bits, forbidden modifier pairs: ERROR_INVALID_PARAMETER,
 * for reserve, reserve+commit and commit alike. */
static const DWORD bad_prots[] = {
    0, 0x03, 0x06, 0x0C, 0x12, 0x24, 0x30, 0x41, 0x60, 0xFF,
    PAGE_WRITECOPY, PAGE_EXECUTE_WRITECOPY,
    PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOMBINE, PAGE_GUARD | PAGE_NOCACHE,
    PAGE_READWRITE | 0x800, PAGE_READWRITE | 0x1000, PAGE_READONLY | 0x10000,
    PAGE_READWRITE | 0x80000000u, 0xFFFFFFFFu, 0x80000000u,
    PAGE_NOACCESS | PAGE_GUARD,
    PAGE_READWRITE | PAGE_NOCACHE | PAGE_GUARD, PAGE_NOACCESS | PAGE_NOCACHE,
    PAGE_READWRITE | PAGE_NOCACHE | PAGE_WRITECOMBINE,
    PAGE_READONLY | PAGE_WRITECOMBINE | PAGE_GUARD, PAGE_NOACCESS | PAGE_WRITECOMBINE,
    PAGE_WRITECOPY | PAGE_GUARD,
};

START_TEST(alloc_bad_protection)
{
    begin_window();
    for (size_t i = 0; i < sizeof bad_prots / sizeof bad_prots[0]; i++) {
        DWORD p = bad_prots[i];
        EXPECT_ERR(VirtualAlloc(NULL, VW_64K, MEM_RESERVE, p), ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, p),
                   ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualAlloc(NULL, PG, MEM_COMMIT, p), ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualAlloc(free_addr, VW_64K, MEM_RESERVE, p), ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualAlloc(RSV, PG, MEM_COMMIT, p), ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualAlloc(fx, PG, MEM_COMMIT, p), ERROR_INVALID_PARAMETER);
    }
    end_window();
}
END_TEST

/* Section 4: committing outside one reservation, reserving over an existing
 * allocation or a mapping the process already has (stack, heap, image), and
 * MEM_RESET outside a reservation: ERROR_INVALID_ADDRESS, nothing touched. */
START_TEST(alloc_bad_place)
{
    begin_window();
    char local = 0;
    char *stack = &local;
    /* commit on free memory (aligned and not), the stack, the heap, the image */
    EXPECT_ERR(VirtualAlloc(free_addr, PG, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(free_addr + 0x123, 10, MEM_COMMIT, PAGE_READWRITE),
               ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(stack, 1, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(heap_small, 1, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(heap_big, PG, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(IMAGE_ADDR, 1, MEM_COMMIT, PAGE_EXECUTE_READ), ERROR_INVALID_ADDRESS);
    /* commit crossing the reservation's end */
    EXPECT_ERR(VirtualAlloc(fx + FX_SIZE - PG, 2 * PG, MEM_COMMIT, PAGE_READWRITE),
               ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(fx + FX_SIZE - 1, 2, MEM_COMMIT, PAGE_READWRITE),
               ERROR_INVALID_ADDRESS);
    /* reserve inside or over an existing allocation */
    EXPECT_ERR(VirtualAlloc(fx, PG, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(fx + 0x1234, PG, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(RSV, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
               ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(fx + FX_SIZE - 1, VW_64K, MEM_RESERVE, PAGE_READWRITE),
               ERROR_INVALID_ADDRESS);
    /* reserve over mappings the library does not own */
    EXPECT_ERR(VirtualAlloc(stack, PG, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(stack, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
               ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(heap_small, 64, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(heap_big + VW_64K, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
               ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(IMAGE_ADDR, PG, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    /* MEM_RESET on free memory, on memory not ours, crossing the end */
    EXPECT_ERR(VirtualAlloc(free_addr, PG, MEM_RESET, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(heap_big, PG, MEM_RESET, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualAlloc(fx + FX_SIZE - PG, 2 * PG, MEM_RESET, PAGE_READWRITE),
               ERROR_INVALID_ADDRESS);
    end_window();
    ck_assert_int_eq(local, 0);
}
END_TEST

/* ---- VirtualFree ------------------------------------------------------------ */

/* Section 5: bad free types, NULL, non-zero size with MEM_RELEASE, non-base
 * addresses, ranges outside the allocation or wrapping, memory that is not an
 * allocation of the library, and a NULL process handle. */
START_TEST(free_bad_input)
{
    /* A released allocation: releasing it again is ERROR_INVALID_ADDRESS. */
    char *gone = VirtualAlloc(NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(gone);
    ck_assert(VirtualFree(gone, 0, MEM_RELEASE));

    begin_window();
    char local = 0;
    /* NULL */
    EXPECT_ERR(VirtualFree(NULL, 0, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualFree(NULL, PG, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualFree(NULL, 0, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    /* free types */
    const DWORD types[] = {
        0, MEM_FREE, MEM_DECOMMIT | MEM_RELEASE, MEM_COALESCE_PLACEHOLDERS,
        MEM_PRESERVE_PLACEHOLDER, MEM_RELEASE | 0x80000000u, MEM_DECOMMIT | 0x100,
        MEM_COMMIT, MEM_RESERVE, 0xFFFFFFFFu, MEM_RELEASE | MEM_FREE,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        EXPECT_ERR(VirtualFree(fx, 0, types[i]), ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualFreeEx(GetCurrentProcess(), fx, 0, types[i]), ERROR_INVALID_PARAMETER);
    }
    /* MEM_RELEASE with a size */
    EXPECT_ERR(VirtualFree(fx, PG, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualFree(fx, FX_SIZE, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualFree(fx, SIZE_MAX, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    /* MEM_RELEASE / size-0 decommit not at the base */
    EXPECT_ERR(VirtualFree(fx + PG, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualFree(fx + PG + 1, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualFree(fx + VW_64K, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualFree(fx + PG, 0, MEM_DECOMMIT), ERROR_INVALID_ADDRESS);
    /* decommit ranges leaving the allocation or wrapping */
    EXPECT_ERR(VirtualFree(fx, SIZE_MAX, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualFree(fx + PG, SIZE_MAX - 0x10, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualFree(fx, FX_SIZE + PG, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualFree(fx + FX_SIZE - PG, 2 * PG, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);
    /* memory that is no allocation of the library */
    const DWORD kinds[] = { MEM_RELEASE, MEM_DECOMMIT };
    for (int k = 0; k < 2; k++) {
        SIZE_T sz = kinds[k] == MEM_RELEASE ? 0 : PG;
        EXPECT_ERR(VirtualFree(free_addr, sz, kinds[k]), ERROR_INVALID_ADDRESS);
        EXPECT_ERR(VirtualFree(free_addr + 0x123, sz, kinds[k]), ERROR_INVALID_ADDRESS);
        EXPECT_ERR(VirtualFree(gone, sz, kinds[k]), ERROR_INVALID_ADDRESS);
        EXPECT_ERR(VirtualFree(&local, sz, kinds[k]), ERROR_INVALID_ADDRESS);
        EXPECT_ERR(VirtualFree(heap_small, sz, kinds[k]), ERROR_INVALID_ADDRESS);
        EXPECT_ERR(VirtualFree(heap_big, sz, kinds[k]), ERROR_INVALID_ADDRESS);
        EXPECT_ERR(VirtualFree(IMAGE_ADDR, sz, kinds[k]), ERROR_INVALID_ADDRESS);
        EXPECT_ERR(VirtualFree((void *)0x1000, sz, kinds[k]), ERROR_INVALID_ADDRESS);
        /* Out of the user address space: "no allocation" (ERROR_INVALID_ADDRESS);
         * Windows itself reports these as a bad parameter, so either is accepted. */
        EXPECT_ERR(VirtualFree(ABOVE_MAX, sz, kinds[k]), ERROR_INVALID_ADDRESS,
                   ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualFree(KERNEL_ADDR, sz, kinds[k]), ERROR_INVALID_ADDRESS,
                   ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualFree(TOP_PAGE, sz, kinds[k]), ERROR_INVALID_ADDRESS,
                   ERROR_INVALID_PARAMETER);
    }
    /* section 9: NULL handle */
    EXPECT_ERR(VirtualFreeEx(NULL, fx, 0, MEM_RELEASE), ERROR_INVALID_HANDLE);
    EXPECT_ERR(VirtualFreeEx(NULL, fx, PG, MEM_DECOMMIT), ERROR_INVALID_HANDLE);
    end_window();
    ck_assert_int_eq(local, 0);
}
END_TEST

/* ---- VirtualProtect ---------------------------------------------------------- */

/* Section 6: lpflOldProtect NULL -> ERROR_NOACCESS; bad protections ->
 * ERROR_INVALID_PARAMETER; reserved, partly committed and free memory ->
 * ERROR_INVALID_ADDRESS with *lpflOldProtect = PAGE_NOACCESS; ranges running past
 * the allocation -> ERROR_INVALID_PARAMETER or ERROR_INVALID_ADDRESS. */
START_TEST(protect_bad_input)
{
    begin_window();
    DWORD old;
    /* lpflOldProtect NULL, on committed memory: nothing changes */
    EXPECT_ERR(VirtualProtect(fx, PG, PAGE_READONLY, NULL), ERROR_NOACCESS);
    EXPECT_ERR(VirtualProtect(fx + 4 * PG, PG, PAGE_READWRITE, NULL), ERROR_NOACCESS);
    EXPECT_ERR(VirtualProtectEx(GetCurrentProcess(), fx, PG, PAGE_NOACCESS, NULL),
               ERROR_NOACCESS);
    /* bad protections */
    for (size_t i = 0; i < sizeof bad_prots / sizeof bad_prots[0]; i++) {
        EXPECT_PROT_ERR(VirtualProtect(fx, PG, bad_prots[i], &old), 0, ERROR_INVALID_PARAMETER);
        EXPECT_PROT_ERR(VirtualProtect(fx + 4 * PG, 2 * PG, bad_prots[i], &old), 0,
                        ERROR_INVALID_PARAMETER);
    }
    /* reserved pages, partly committed ranges */
    EXPECT_PROT_ERR(VirtualProtect(RSV, PG, PAGE_READWRITE, &old), PAGE_NOACCESS,
                    ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(fx + 8 * PG, 2 * PG, PAGE_READWRITE, &old), PAGE_NOACCESS,
                    ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(fx, FX_SIZE, PAGE_READWRITE, &old), PAGE_NOACCESS,
                    ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(fx + FX_SIZE - 1, 1, PAGE_READWRITE, &old), PAGE_NOACCESS,
                    ERROR_INVALID_ADDRESS);
    /* free memory, also at 0 and below 0x10000, aligned or not */
    EXPECT_PROT_ERR(VirtualProtect(free_addr, PG, PAGE_READWRITE, &old), PAGE_NOACCESS,
                    ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(free_addr + 0x123, 7, PAGE_READONLY, &old), PAGE_NOACCESS,
                    ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(NULL, PG, PAGE_READWRITE, &old), 0, ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect((void *)0x1000, PG, PAGE_READONLY, &old), 0,
                    ERROR_INVALID_ADDRESS);
    /* sizes running past the allocation or wrapping */
    EXPECT_PROT_ERR(VirtualProtect(fx, SIZE_MAX, PAGE_READWRITE, &old), 0,
                    ERROR_INVALID_PARAMETER, ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(fx + PG, SIZE_MAX - 0x10, PAGE_READWRITE, &old), 0,
                    ERROR_INVALID_PARAMETER, ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(fx + FX_SIZE - PG, 2 * PG, PAGE_READWRITE, &old), 0,
                    ERROR_INVALID_PARAMETER, ERROR_INVALID_ADDRESS);
    /* outside the user address space */
    EXPECT_PROT_ERR(VirtualProtect(ABOVE_MAX, PG, PAGE_READWRITE, &old), 0,
                    ERROR_INVALID_PARAMETER, ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(KERNEL_ADDR, PG, PAGE_READWRITE, &old), 0,
                    ERROR_INVALID_PARAMETER, ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtect(TOP_PAGE, PG, PAGE_READONLY, &old), 0,
                    ERROR_INVALID_PARAMETER, ERROR_INVALID_ADDRESS);
    /* memory the library did not allocate (section 6: VirtualProtect works there, so
     * the same validation applies and a refused call must not touch it) */
    EXPECT_ERR(VirtualProtect(heap_big, PG, PAGE_READONLY, NULL), ERROR_NOACCESS);
    for (size_t i = 0; i < sizeof bad_prots / sizeof bad_prots[0]; i += 3) {
        EXPECT_PROT_ERR(VirtualProtect(heap_big + VW_64K, PG, bad_prots[i], &old), 0,
                        ERROR_INVALID_PARAMETER);
        EXPECT_PROT_ERR(VirtualProtect(heap_small, 16, bad_prots[i], &old), 0,
                        ERROR_INVALID_PARAMETER);
    }
    /* Ex: same rules, NULL handle */
    EXPECT_PROT_ERR(VirtualProtectEx(GetCurrentProcess(), RSV, PG, PAGE_READWRITE, &old),
                    PAGE_NOACCESS, ERROR_INVALID_ADDRESS);
    EXPECT_PROT_ERR(VirtualProtectEx(NULL, fx, PG, PAGE_READONLY, &old), 0, ERROR_INVALID_HANDLE);
    end_window();
}
END_TEST

/* Section 6: size 0 succeeds, changes nothing and reports the page's protection. */
START_TEST(protect_size_zero)
{
    DWORD old = 0;
    SetLastError(1234);
    ck_assert(VirtualProtect(fx + 4 * PG, 0, PAGE_READWRITE, &old));
    ck_assert_uint_eq(GetLastError(), 1234);
    ck_assert_uint_eq(old, PAGE_READONLY);
    ck_assert_uint_eq(vw_query(fx + 4 * PG).Protect, PAGE_READONLY);
    ck_assert_int_eq(vw_can_write(fx + 4 * PG), 0);
    old = 0;
    ck_assert(VirtualProtect(fx + 0x10, 0, PAGE_NOACCESS, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_int_eq(vw_can_write(fx), 1);
    struct region now[64];
    ck_assert_int_eq(snapshot_regions(now, 64), before_count);
    ck_assert_uint_eq(now[1].protect, PAGE_READONLY);
    ck_assert_uint_eq(now[0].protect, PAGE_READWRITE);
}
END_TEST

/* ---- VirtualQuery ------------------------------------------------------------- */

/* Section 7: dwLength too small -> 0, ERROR_BAD_LENGTH; addresses above the
 * maximum -> 0, ERROR_INVALID_PARAMETER; NULL handle -> ERROR_INVALID_HANDLE. */
START_TEST(query_bad_input)
{
    begin_window();
    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0x5C, sizeof m);
    EXPECT_ERR(VirtualQuery(fx, &m, 0), ERROR_BAD_LENGTH);
    EXPECT_ERR(VirtualQuery(fx, &m, 1), ERROR_BAD_LENGTH);
    EXPECT_ERR(VirtualQuery(fx, &m, sizeof m - 1), ERROR_BAD_LENGTH);
    EXPECT_ERR(VirtualQuery(NULL, &m, sizeof m - 8), ERROR_BAD_LENGTH);
    EXPECT_ERR(VirtualQueryEx(GetCurrentProcess(), fx, &m, 16), ERROR_BAD_LENGTH);
    EXPECT_ERR(VirtualQuery(ABOVE_MAX, &m, sizeof m), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualQuery((char *)ABOVE_MAX + 0x123, &m, sizeof m), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualQuery(HIGH_HALF, &m, sizeof m), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualQuery(KERNEL_ADDR, &m, sizeof m), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualQuery(TOP_PAGE, &m, sizeof m), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualQuery((void *)UINTPTR_MAX, &m, sizeof m), ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualQueryEx(GetCurrentProcess(), KERNEL_ADDR, &m, sizeof m),
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualQueryEx(NULL, fx, &m, sizeof m), ERROR_INVALID_HANDLE);
    end_window();
}
END_TEST

/* Section 7: queries at 0, below 0x10000, exactly at the maximum, unaligned, and
 * with a larger dwLength succeed and return sizeof(MEMORY_BASIC_INFORMATION). */
START_TEST(query_edge_addresses_succeed)
{
    MEMORY_BASIC_INFORMATION m;
    struct { MEMORY_BASIC_INFORMATION m; unsigned char pad[64]; } big;
    SetLastError(1234);
    ck_assert_uint_eq(VirtualQuery(NULL, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(GetLastError(), 1234);
    ck_assert_ptr_eq(m.BaseAddress, NULL);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert_uint_eq(m.Protect, PAGE_NOACCESS);
    ck_assert_ptr_eq(m.AllocationBase, NULL);
    ck_assert_uint_eq(m.AllocationProtect, 0);
    ck_assert_uint_eq(m.Type, 0);
    ck_assert_uint_eq(VirtualQuery((void *)0xFFFF, &m, sizeof m), sizeof m);
    ck_assert_uint_eq((uintptr_t)m.BaseAddress, 0xFFFF & ~(PG - 1));
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert_uint_eq(VirtualQuery((void *)VW_MAX_APP_ADDR, &m, sizeof m), sizeof m);
    ck_assert_uint_eq((uintptr_t)m.BaseAddress, VW_MAX_APP_ADDR & ~(uintptr_t)(PG - 1));
    ck_assert_uint_gt(m.RegionSize, 0);
    ck_assert_uint_eq(VirtualQuery(fx + 4 * PG + 0x123, &big.m, sizeof big), sizeof m);
    m = big.m;
    ck_assert_ptr_eq(m.BaseAddress, fx + 4 * PG);
    ck_assert_ptr_eq(m.AllocationBase, fx);
    ck_assert_uint_eq(m.RegionSize, 2 * PG);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert_uint_eq(VirtualQueryEx(GetCurrentProcess(), RSV, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    ck_assert_uint_eq(m.RegionSize, FX_SIZE - 9 * PG);
}
END_TEST

/* ---- VirtualLock / VirtualUnlock ---------------------------------------------- */

/* Section 8: uncommitted pages (NULL, below 0x10000, free, reserved, ranges
 * running past the allocation) -> ERROR_INVALID_ADDRESS (out of the user address
 * space or wrapping: or ERROR_INVALID_PARAMETER); NOACCESS -> ERROR_NOACCESS;
 * unlocking pages never locked -> ERROR_NOT_LOCKED. */
START_TEST(lock_bad_input)
{
    begin_window();
    char *addrs[] = { NULL, (char *)0x1000, (char *)0xFFFF, free_addr, free_addr + 0x10,
                      RSV, fx + FX_SIZE - 1 };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        EXPECT_ERR(VirtualLock(addrs[i], PG), ERROR_INVALID_ADDRESS);
        EXPECT_ERR(VirtualUnlock(addrs[i], PG), ERROR_INVALID_ADDRESS);
    }
    /* committed start, uncommitted end */
    EXPECT_ERR(VirtualLock(fx + 8 * PG, 2 * PG), ERROR_INVALID_ADDRESS);
    EXPECT_ERR(VirtualUnlock(fx + 8 * PG, 2 * PG), ERROR_INVALID_ADDRESS, ERROR_NOT_LOCKED);
    EXPECT_ERR(VirtualLock(fx + FX_SIZE - PG, 2 * PG), ERROR_INVALID_ADDRESS);
    /* too large, wrapping, out of the user address space */
    void *outside[] = { ABOVE_MAX, HIGH_HALF, KERNEL_ADDR, TOP_PAGE };
    for (size_t i = 0; i < 4; i++) {
        EXPECT_ERR(VirtualLock(outside[i], PG), ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER);
        EXPECT_ERR(VirtualUnlock(outside[i], PG), ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER);
    }
    EXPECT_ERR(VirtualLock(fx + 8 * PG, SIZE_MAX), ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualLock(fx + 8 * PG, SIZE_MAX - 0x10), ERROR_INVALID_ADDRESS,
               ERROR_INVALID_PARAMETER);
    EXPECT_ERR(VirtualUnlock(RSV, SIZE_MAX), ERROR_INVALID_ADDRESS,
               ERROR_INVALID_PARAMETER);
    /* NOACCESS */
    EXPECT_ERR(VirtualLock(fx + 6 * PG, PG), ERROR_NOACCESS);
    /* never locked */
    EXPECT_ERR(VirtualUnlock(fx, PG), ERROR_NOT_LOCKED);
    EXPECT_ERR(VirtualUnlock(fx + 4 * PG, 2 * PG), ERROR_NOT_LOCKED);
    EXPECT_ERR(VirtualUnlock(fx + 0x10, 1), ERROR_NOT_LOCKED);
    end_window();
}
END_TEST

static Suite *badinput_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, alloc_bad_address_and_size);
    tcase_add_test(tc, alloc_bad_type);
    tcase_add_test(tc, alloc_bad_protection);
    tcase_add_test(tc, alloc_bad_place);
    suite_add_tcase(s, tc);

    tc = tcase_create("free");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, free_bad_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("protect");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, protect_bad_input);
    tcase_add_test(tc, protect_size_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("query");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, query_bad_input);
    tcase_add_test(tc, query_edge_addresses_succeed);
    suite_add_tcase(s, tc);

    tc = tcase_create("lock");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_add_test(tc, lock_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(badinput_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
