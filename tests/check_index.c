/*
 * check_index.c: the granule index (src/core/granidx.c) never changes an
 * answer (issue 10 item 6).
 *
 * The index is a cache in front of the map's tree: VirtualQuery, VirtualFree
 * and VirtualProtect look a run up through it.  These tests drive many
 * allocations through the situations where a slot goes stale (runs split and
 * merged, allocations released and their granules and nodes reused, a run
 * longer than the index writes at once, arena granules retired by a program
 * mapping) and compare every answer with what the calls made imply (a page
 * model kept by the test).
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define REQUIRE(cond, ...)                                                               \
    do {                                                                                 \
        if (!(cond))                                                                     \
            ck_abort_msg("(" #cond ") " __VA_ARGS__);                                    \
    } while (0)

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

static void expect(const void *p, const void *abase, SIZE_T size, DWORD state, DWORD prot)
{
    MEMORY_BASIC_INFORMATION m;
    REQUIRE(VirtualQuery(p, &m, sizeof m) == sizeof m, "VirtualQuery(%p) failed", p);
    REQUIRE(m.BaseAddress == (PVOID)((uintptr_t)p & ~(uintptr_t)(VW_PAGE - 1)),
            "at %p: BaseAddress %p", p, m.BaseAddress);
    REQUIRE(m.State == state, "at %p: State 0x%lx, expected 0x%lx", p, (unsigned long)m.State,
            (unsigned long)state);
    if (state == MEM_FREE)
        return;
    REQUIRE(m.AllocationBase == abase, "at %p: AllocationBase %p, expected %p", p,
            m.AllocationBase, abase);
    REQUIRE(m.RegionSize == size, "at %p: RegionSize %zu, expected %zu", p, (size_t)m.RegionSize,
            (size_t)size);
    REQUIRE(m.Protect == prot, "at %p: Protect 0x%lx, expected 0x%lx", p,
            (unsigned long)m.Protect, (unsigned long)prot);
}

/* ---- many reserve-only allocations, released and reused --------------------------- */

#define NRES 200000

START_TEST(many_reserved_release_reuse)
{
    char **p = calloc(NRES, sizeof *p);
    size_t *sz = calloc(NRES, sizeof *sz);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < NRES; i++) {
        sz[i] = VW_64K * (1 + i % 3);
        p[i] = VirtualAlloc(NULL, sz[i], MEM_RESERVE, PAGE_READWRITE);
        REQUIRE(p[i], "VirtualAlloc #%zu: error %lu", i, (unsigned long)GetLastError());
    }
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < NRES; k++) {
            size_t i = rnd() % NRES;
            size_t off = (rnd() % (sz[i] / VW_PAGE)) * VW_PAGE;
            expect(p[i] + off, p[i], sz[i] - off, MEM_RESERVE, 0);
        }
        /* Release a random half; their granules and nodes get reused below. */
        for (size_t k = 0; k < NRES / 2; k++) {
            size_t i = rnd() % NRES;
            if (!p[i])
                continue;
            REQUIRE(VirtualFree(p[i], 0, MEM_RELEASE), "VirtualFree #%zu: error %lu", i,
                    (unsigned long)GetLastError());
            MEMORY_BASIC_INFORMATION m;
            REQUIRE(VirtualQuery(p[i] + VW_PAGE, &m, sizeof m) == sizeof m &&
                        m.State == MEM_FREE,
                    "released #%zu at %p: State 0x%lx", i, (void *)p[i], (unsigned long)m.State);
            /* A second release must fail: the index must not find the old run. */
            REQUIRE(!VirtualFree(p[i], 0, MEM_RELEASE) &&
                        GetLastError() == ERROR_INVALID_ADDRESS,
                    "second release of #%zu: error %lu", i, (unsigned long)GetLastError());
            p[i] = NULL;
        }
        for (size_t i = 0; i < NRES; i++) {
            if (p[i])
                continue;
            sz[i] = VW_64K * (1 + rnd() % 3);
            p[i] = VirtualAlloc(NULL, sz[i], MEM_RESERVE, PAGE_READWRITE);
            REQUIRE(p[i], "re-VirtualAlloc #%zu: error %lu", i, (unsigned long)GetLastError());
        }
    }
    for (size_t i = 0; i < NRES; i++)
        REQUIRE(VirtualFree(p[i], 0, MEM_RELEASE), "final VirtualFree #%zu: error %lu", i,
                (unsigned long)GetLastError());
    free(p);
    free(sz);
}
END_TEST

/* ---- runs inside allocations, against a page model ---------------------------------- */

#define NRUNS 3000
#define MAXPG 64   /* pages per allocation at most (256 KiB of 4 KiB pages) */

struct model {
    char *base;
    size_t pages;
    DWORD prot[MAXPG];   /* 0: reserved */
};

static void check_model(const struct model *a)
{
    for (size_t j = 0; j < a->pages; j++) {
        size_t k = j + 1;
        while (k < a->pages && a->prot[k] == a->prot[j])
            k++;
        expect(a->base + j * VW_PAGE, a->base, (k - j) * VW_PAGE,
               a->prot[j] ? MEM_COMMIT : MEM_RESERVE, a->prot[j]);
    }
}

static void random_op(struct model *a)
{
    size_t j = rnd() % a->pages, n = 1 + rnd() % (a->pages - j);
    char *p = a->base + j * VW_PAGE;
    static const DWORD prots[3] = { PAGE_READWRITE, PAGE_READONLY, PAGE_EXECUTE_READ };
    switch (rnd() % 3) {
    case 0: {
        DWORD pr = prots[rnd() % 3];
        REQUIRE(VirtualAlloc(p, n * VW_PAGE, MEM_COMMIT, pr) == p, "commit: error %lu",
                (unsigned long)GetLastError());
        for (size_t k = j; k < j + n; k++)
            a->prot[k] = pr;
        break;
    }
    case 1:
        REQUIRE(VirtualFree(p, n * VW_PAGE, MEM_DECOMMIT), "decommit: error %lu",
                (unsigned long)GetLastError());
        for (size_t k = j; k < j + n; k++)
            a->prot[k] = 0;
        break;
    default: {
        int all = 1;
        for (size_t k = j; k < j + n; k++)
            all &= a->prot[k] != 0;
        DWORD pr = prots[rnd() % 3], old = 0;
        BOOL ok = VirtualProtect(p, n * VW_PAGE, pr, &old);
        if (!all) {
            REQUIRE(!ok && GetLastError() == ERROR_INVALID_ADDRESS,
                    "VirtualProtect over reserved pages: ok %d error %lu", ok,
                    (unsigned long)GetLastError());
            break;
        }
        REQUIRE(ok && old == a->prot[j], "VirtualProtect: ok %d error %lu old 0x%lx/0x%lx", ok,
                (unsigned long)GetLastError(), (unsigned long)old, (unsigned long)a->prot[j]);
        for (size_t k = j; k < j + n; k++)
            a->prot[k] = pr;
        break;
    }
    }
}

START_TEST(runs_against_model)
{
    struct model *a = calloc(NRUNS, sizeof *a);
    ck_assert_ptr_nonnull(a);
    size_t gpages = VW_64K / VW_PAGE;
    for (size_t i = 0; i < NRUNS; i++) {
        a[i].pages = gpages * (1 + rnd() % 4);
        if (a[i].pages > MAXPG)
            a[i].pages = MAXPG;
        a[i].base = VirtualAlloc(NULL, a[i].pages * VW_PAGE, MEM_RESERVE, PAGE_READWRITE);
        REQUIRE(a[i].base, "VirtualAlloc #%zu: error %lu", i, (unsigned long)GetLastError());
    }
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < NRUNS; i++)
            random_op(&a[rnd() % NRUNS]);
        for (size_t i = 0; i < NRUNS; i++)
            check_model(&a[i]);
        /* Release and re-reserve a tenth: nodes and slots are reused. */
        for (size_t k = 0; k < NRUNS / 10; k++) {
            struct model *m = &a[rnd() % NRUNS];
            REQUIRE(VirtualFree(m->base, 0, MEM_RELEASE), "VirtualFree: error %lu",
                    (unsigned long)GetLastError());
            memset(m->prot, 0, sizeof m->prot);
            m->base = VirtualAlloc(NULL, m->pages * VW_PAGE, MEM_RESERVE, PAGE_READWRITE);
            REQUIRE(m->base, "VirtualAlloc again: error %lu", (unsigned long)GetLastError());
        }
    }
    for (size_t i = 0; i < NRUNS; i++)
        REQUIRE(VirtualFree(a[i].base, 0, MEM_RELEASE), "VirtualFree #%zu: error %lu", i,
                (unsigned long)GetLastError());
    free(a);
}
END_TEST

/* ---- a run longer than the index writes at once ------------------------------------ */

START_TEST(long_run_in_arena)
{
    /* 512 MiB goes into an arena (dedicated mappings start at 1 GiB) and is one
     * run of 8,192 granules: a split leaves most slots naming the wrong half. */
    size_t size = (size_t)512 << 20;
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    size_t offs[3] = { ((size_t)100 << 20) + VW_PAGE, (size_t)300 << 20, size - VW_PAGE };
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_eq(VirtualAlloc(p + offs[i], VW_PAGE, MEM_COMMIT, PAGE_READWRITE),
                         p + offs[i]);
    expect(p, p, offs[0], MEM_RESERVE, 0);
    expect(p + ((size_t)90 << 20), p, offs[0] - ((size_t)90 << 20), MEM_RESERVE, 0);
    expect(p + offs[0], p, VW_PAGE, MEM_COMMIT, PAGE_READWRITE);
    expect(p + offs[0] + VW_PAGE, p, offs[1] - offs[0] - VW_PAGE, MEM_RESERVE, 0);
    expect(p + ((size_t)299 << 20), p, (size_t)1 << 20, MEM_RESERVE, 0);
    expect(p + offs[1], p, VW_PAGE, MEM_COMMIT, PAGE_READWRITE);
    expect(p + ((size_t)400 << 20), p, offs[2] - ((size_t)400 << 20), MEM_RESERVE, 0);
    expect(p + offs[2], p, VW_PAGE, MEM_COMMIT, PAGE_READWRITE);
    DWORD old = 0;
    ck_assert(VirtualProtect(p + offs[1], VW_PAGE, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    expect(p + offs[1], p, VW_PAGE, MEM_COMMIT, PAGE_READONLY);
    /* Decommit merges the runs back: one reserved run again. */
    for (int i = 0; i < 3; i++)
        ck_assert(VirtualFree(p + offs[i], VW_PAGE, MEM_DECOMMIT));
    expect(p + ((size_t)450 << 20), p, size - ((size_t)450 << 20), MEM_RESERVE, 0);
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
    expect(p + ((size_t)450 << 20), NULL, 0, MEM_FREE, 0);
    ck_assert(!VirtualFree(p, 0, MEM_RELEASE));
}
END_TEST

/* ---- arena granules retired by a program mapping ------------------------------------ */

START_TEST(retired_granules)
{
    char *a = VirtualAlloc(NULL, 4 * VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    /* The program maps over the second granule (the interposed mmap retires it). */
    char *g = a + VW_64K;
    void *r = mmap(g, VW_64K, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    ck_assert_ptr_eq(r, g);
    expect(a, a, VW_64K, MEM_COMMIT, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQuery(g, &m, sizeof m), sizeof m);
    ck_assert_ptr_ne(m.AllocationBase, a);   /* the program's mapping, not ours */
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    expect(a + 2 * VW_64K, a, 2 * VW_64K, MEM_COMMIT, PAGE_READWRITE);
    ck_assert(VirtualFree(a, 0, MEM_RELEASE));
    expect(a, NULL, 0, MEM_FREE, 0);
    expect(a + 3 * VW_64K, NULL, 0, MEM_FREE, 0);
    /* New allocations never land on the retired granule; queries there keep
     * describing the program's mapping. */
    char *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = VirtualAlloc(NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_ptr_ne(p[i], g);
    }
    ck_assert_uint_eq(VirtualQuery(g, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert(!VirtualFree(g, 0, MEM_RELEASE));   /* not an allocation of the library's */
    for (int i = 0; i < 64; i++)
        ck_assert(VirtualFree(p[i], 0, MEM_RELEASE));
    ck_assert_int_eq(munmap(g, VW_64K), 0);
}
END_TEST

static Suite *index_suite(void)
{
    Suite *s = suite_create("index");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, many_reserved_release_reuse);
    tcase_add_test(tc, runs_against_model);
    tcase_add_test(tc, long_run_in_arena);
    tcase_add_test(tc, retired_granules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(index_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
