/*
 * check_probe.c: the pointer probe behind issue 9, beyond the table of
 * check_pointers: proofs it remembers are forgotten when the memory goes
 * (interposed munmap / mprotect, decommit, protection changes, guard pages,
 * a heap shrunk through brk), a frame on a sigaltstack is not taken for the
 * thread's stack, heap buffers work; and single calls whose pointer rules
 * need more than a row (VirtualProtect's old protection inside the pages it
 * changes or on a refused protection, the working-set lock after a bad
 * pointer).
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG VW_PAGE

/* lib: a committed read-write page (the VirtualQuery target); ro: a
 * read-only page of the library's. */
static char *lib, *ro;

static void setup(void)
{
    DWORD old;
    lib = vw_alloc_commit(PG, PAGE_READWRITE);
    ro = vw_alloc_commit(PG, PAGE_READWRITE);
    ck_assert(VirtualProtect(ro, PG, PAGE_READONLY, &old));
}

static void teardown(void)
{
    vw_release(lib);
    vw_release(ro);
}

/* ---- proofs the probe remembers must not outlive the memory ----------------------- */

/* A foreign page proven writable, then unmapped or made read-only through
 * the interposed munmap / mprotect: the next call must see it. */
START_TEST(cache_forgets_foreign_changes)
{
    char *m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    MEMORY_BASIC_INFORMATION *mbi = (MEMORY_BASIC_INFORMATION *)(m + PG);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(VirtualQuery(lib, mbi, sizeof *mbi), sizeof *mbi);
    ck_assert_int_eq(munmap(m + PG, PG), 0);
    SetLastError(1234);
    ck_assert_uint_eq(VirtualQuery(lib, mbi, sizeof *mbi), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);

    SYSTEM_INFO *si = (SYSTEM_INFO *)m;
    SetLastError(1234);
    GetSystemInfo(si);
    ck_assert_uint_eq(GetLastError(), 1234);
    vw_fill_pattern(m, PG, 3);
    ck_assert_int_eq(mprotect(m, PG, PROT_READ), 0);
    GetSystemInfo(si);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    ck_assert(vw_has_pattern(m, PG, 3));
    munmap(m, PG);
}
END_TEST

/* The library's own memory: decommit, protection changes and guard pages. */
START_TEST(cache_forgets_library_changes)
{
    char *q = vw_alloc_commit(PG, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION *mbi = (MEMORY_BASIC_INFORMATION *)q;
    DWORD old;
    ck_assert_uint_eq(VirtualQuery(lib, mbi, sizeof *mbi), sizeof *mbi);
    VW_FREE_OK(q, PG, MEM_DECOMMIT);
    SetLastError(1234);
    ck_assert_uint_eq(VirtualQuery(lib, mbi, sizeof *mbi), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    vw_commit_at(q, PG, PAGE_READWRITE);
    ck_assert_uint_eq(VirtualQuery(lib, mbi, sizeof *mbi), sizeof *mbi);
    ck_assert(VirtualProtect(q, PG, PAGE_READONLY, &old));
    SetLastError(1234);
    ck_assert_uint_eq(VirtualQuery(lib, mbi, sizeof *mbi), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    /* still readable: a name there is read */
    SetLastError(1234);
    ck_assert_ptr_null(GetModuleHandleA(q));
    ck_assert_uint_eq(GetLastError(), ERROR_MOD_NOT_FOUND);
    ck_assert(VirtualProtect(q, PG, PAGE_READWRITE | PAGE_GUARD, &old));
    SetLastError(1234);
    ck_assert_ptr_null(GetModuleHandleA(q));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    ck_assert_uint_eq(vw_query(q).Protect, PAGE_READWRITE | PAGE_GUARD);   /* not tripped */
    vw_release(q);
}
END_TEST

/* The heap shrinks through brk, which no interposer sees. */
START_TEST(cache_forgets_heap_shrink)
{
    char *b0 = sbrk(0);
    ck_assert(b0 != (void *)-1);
    uintptr_t top = ((uintptr_t)b0 + PG - 1) & ~(uintptr_t)(PG - 1);
    intptr_t grow = (intptr_t)(top - (uintptr_t)b0 + 2 * PG);
    ck_assert(sbrk(grow) == b0);
    SYSTEM_INFO *si = (SYSTEM_INFO *)(top + PG);
    SetLastError(1234);
    GetSystemInfo(si);
    GetSystemInfo(si);
    DWORD e1 = GetLastError();
    ck_assert(sbrk(-(intptr_t)PG) != (void *)-1);   /* si's page leaves the process */
    SetLastError(1234);
    GetSystemInfo(si);
    DWORD e2 = GetLastError();
    ck_assert(sbrk(-(grow - (intptr_t)PG)) != (void *)-1);
    ck_assert_uint_eq(e1, 1234);
    ck_assert_uint_eq(e2, ERROR_NOACCESS);
}
END_TEST

/* On a sigaltstack: the handler's own frame is fine, but an unmapped page
 * above it (and below the thread's stack) is not the stack. */
static char *alt_hole;
static volatile DWORD alt_good, alt_bad;

static void on_usr1(int sig)
{
    (void)sig;
    SYSTEM_INFO si;
    SetLastError(1234);
    GetSystemInfo(&si);
    alt_good = GetLastError();
    GetSystemInfo((SYSTEM_INFO *)alt_hole);
    alt_bad = GetLastError();
}

START_TEST(probe_on_sigaltstack)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);   /* the thread's stack is learned */
    char *m = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(m != MAP_FAILED);
    ck_assert_int_eq(munmap(m + 12 * PG, 4 * PG), 0);
    alt_hole = m + 13 * PG;
    stack_t ss = { .ss_sp = m, .ss_size = 12 * PG, .ss_flags = 0 }, old_ss;
    ck_assert_int_eq(sigaltstack(&ss, &old_ss), 0);
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old_sa), 0);
    raise(SIGUSR1);
    sigaction(SIGUSR1, &old_sa, NULL);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    munmap(m, 12 * PG);
    ck_assert_uint_eq(alt_good, 1234);
    ck_assert_uint_eq(alt_bad, ERROR_NOACCESS);
}
END_TEST

/* ---- VirtualProtect's old-protection pointer ---------------------------------------- */

/* In the very page made read-only: the change stands and the old protection
 * is not stored (Windows' kernel swallows that store's fault); made writable
 * again from read-only with the pointer there: refused before any change. */
START_TEST(protect_old_pointer_in_target)
{
    char *q = vw_alloc_commit(PG, PAGE_READWRITE);
    memset(q, 0x77, 16);
    SetLastError(1234);
    ck_assert(VirtualProtect(q, PG, PAGE_READONLY, (PDWORD)q));
    ck_assert_uint_eq(GetLastError(), 1234);
    ck_assert_uint_eq(vw_query(q).Protect, PAGE_READONLY);
    ck_assert_uint_eq((unsigned char)q[0], 0x77);
    ck_assert(!vw_can_write(q));
    VW_EXPECT_FAIL(VirtualProtect(q, PG, PAGE_READWRITE, (PDWORD)(q + 8)), ERROR_NOACCESS);
    ck_assert_uint_eq(vw_query(q).Protect, PAGE_READONLY);
    ck_assert(!vw_can_write(q));
    vw_release(q);
}
END_TEST

/* Spec 6: a protection refused (PAGE_WRITECOPY on private memory) leaves
 * *lpflOldProtect untouched. */
START_TEST(protect_refused_leaves_old)
{
    char *q = vw_alloc_commit(PG, PAGE_READWRITE);
    DWORD old = 0xABCD;
    VW_EXPECT_FAIL(VirtualProtect(q, PG, PAGE_WRITECOPY, &old), ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(old, 0xABCD);
    VW_EXPECT_FAIL(VirtualProtect(q, PG, PAGE_EXECUTE_WRITECOPY, &old), ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(old, 0xABCD);
    ck_assert_uint_eq(vw_query(q).Protect, PAGE_READWRITE);
    vw_release(q);
}
END_TEST

/* Issue 11: a read-only output used to fault with the working-set lock held;
 * the calls after it must still work (a hang here ends in Check's timeout). */
START_TEST(workingset_after_bad_pointer)
{
    SIZE_T mn = 0, mx = 0;
    VW_EXPECT_FAIL(GetProcessWorkingSetSize(GetCurrentProcess(), (PSIZE_T)(ro), &mx),
                   ERROR_NOACCESS);
    VW_EXPECT_OK(GetProcessWorkingSetSize(GetCurrentProcess(), &mn, &mx));
    VW_EXPECT_OK(SetProcessWorkingSetSize(GetCurrentProcess(), mn, mx));
    VW_EXPECT_FAIL(GetProcessWorkingSetSizeEx(GetCurrentProcess(), &mn, &mx, (PDWORD)(ro + 8)),
                   ERROR_NOACCESS);
    VW_EXPECT_OK(GetProcessWorkingSetSize(GetCurrentProcess(), &mn, &mx));
}
END_TEST

/* Heap buffers (the probe's cache and kernel tiers) work as well as stack ones. */
START_TEST(heap_buffers_work)
{
    MEMORY_BASIC_INFORMATION *mbi = malloc(3 * sizeof *mbi);
    SYSTEM_INFO *si = malloc(sizeof *si);
    ck_assert(mbi && si);
    for (int i = 0; i < 100; i++) {
        char *q = i % 2 ? lib : ro;
        ck_assert_uint_eq(VirtualQuery(q, &mbi[i % 3], sizeof *mbi), sizeof *mbi);
        ck_assert_ptr_eq(mbi[i % 3].BaseAddress, q);
    }
    SetLastError(1234);
    GetSystemInfo(si);
    ck_assert_uint_eq(GetLastError(), 1234);
    ck_assert_uint_eq(si->dwPageSize, PG);
    free(mbi);
    free(si);
}
END_TEST

static Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("remembered proofs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cache_forgets_foreign_changes);
    tcase_add_test(tc, cache_forgets_library_changes);
    tcase_add_test(tc, cache_forgets_heap_shrink);
    tcase_add_test(tc, probe_on_sigaltstack);
    tcase_add_test(tc, heap_buffers_work);
    suite_add_tcase(s, tc);

    tc = tcase_create("single calls");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, protect_old_pointer_in_target);
    tcase_add_test(tc, protect_refused_leaves_old);
    tcase_add_test(tc, workingset_after_bad_pointer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(probe_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
