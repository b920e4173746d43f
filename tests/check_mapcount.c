/*
 * check_mapcount.c: releases and decommits at the kernel's mapping limit
 * (vm.max_map_count; 65530 by default).
 *
 * Two ways to reach the limit, each in a child process (at the limit the
 * runtime's own mmaps may fail, so the child reports through a pipe):
 * - reserve 64 KiB and commit its first page, again and again, until
 *   VirtualAlloc fails with ERROR_NOT_ENOUGH_MEMORY (each allocation costs the
 *   kernel a read-write VMA in the arena);
 * - the same for a few thousand, then reserve 1 GiB blocks (a mapping each)
 *   until failure.
 * (a fresh committed allocation at the limit is made by releasing two of the
 * small ones first, then the map is filled again.)
 * Then: an interposed munmap of a page in the middle of a committed run (a
 * split the kernel may refuse) either succeeds with the page gone or fails with
 * ENOMEM leaving it committed and intact; decommitting the first page of every
 * other 64 KiB allocation succeeds and leaves it faulting; every release
 * succeeds and leaves MEM_FREE memory that faults; and allocation works again.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define KB64 ((size_t)65536)
#define GB ((size_t)1 << 30)
#define CHILD_ALARM 60
#define MAXA 200000

static char cerr[1024];
#define CCHECK(cond, ...) VW_ECHECK(cerr, cond, __VA_ARGS__)

static char *small[MAXA];
static char *big[MAXA];
static size_t nsmall, nbig;

static long max_map_count(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long v = 0;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v > 0 ? v : 65530;
}

/* One 64 KiB reservation with its first page committed and written; 0 when
 * the library refuses (with ERROR_NOT_ENOUGH_MEMORY), -1 on another failure. */
static int add_small(void)
{
    char *p = VirtualAlloc(NULL, KB64, MEM_RESERVE, PAGE_READWRITE);
    if (!p)
        return GetLastError() == ERROR_NOT_ENOUGH_MEMORY ? 0 : -1;
    small[nsmall++] = p;
    if (!VirtualAlloc(p, VW_PAGE, MEM_COMMIT, PAGE_READWRITE))
        return GetLastError() == ERROR_NOT_ENOUGH_MEMORY ? 0 : -1;
    p[0] = 'a';
    p[1] = (char)nsmall;
    return 1;
}

static int state_at(const void *p, DWORD *state)
{
    MEMORY_BASIC_INFORMATION mbi;
    CCHECK(VirtualQuery(p, &mbi, sizeof mbi) == sizeof mbi, "VirtualQuery(%p)", p);
    *state = mbi.State;
    return 0;
}

static int release_and_again(void)
{
    /* Decommit the first page of every other allocation. */
    for (size_t i = 0; i < nsmall; i += 2) {
        DWORD st = 0;
        CCHECK(state_at(small[i], &st) == 0, "%s", cerr);
        if (st != MEM_COMMIT)
            continue;
        CCHECK(VirtualFree(small[i], VW_PAGE, MEM_DECOMMIT),
               "decommit %zu of %zu at the limit: error %lu", i, nsmall,
               (unsigned long)GetLastError());
        CCHECK(state_at(small[i], &st) == 0 && st == MEM_RESERVE, "decommitted page not MEM_RESERVE");
        CCHECK(!vw_can_read(small[i]), "decommitted page %zu still readable", i);
    }
    /* Release everything. */
    for (size_t i = 0; i < nsmall; i++) {
        DWORD st = 0;
        CCHECK(VirtualFree(small[i], 0, MEM_RELEASE), "release %zu of %zu at the limit: error %lu",
               i, nsmall, (unsigned long)GetLastError());
        CCHECK(state_at(small[i], &st) == 0 && st == MEM_FREE, "released %zu not MEM_FREE", i);
        CCHECK(!vw_can_read(small[i]), "released allocation %zu still readable", i);
    }
    for (size_t i = 0; i < nbig; i++) {
        DWORD st = 0;
        CCHECK(VirtualFree(big[i], 0, MEM_RELEASE), "release of 1 GiB block %zu: error %lu", i,
               (unsigned long)GetLastError());
        CCHECK(state_at(big[i], &st) == 0 && st == MEM_FREE, "released block %zu not MEM_FREE", i);
    }
    /* And again. */
    nsmall = nbig = 0;
    for (int i = 0; i < 1000; i++)
        CCHECK(add_small() == 1, "allocation %d after releasing everything: %lu", i,
               (unsigned long)GetLastError());
    for (size_t i = 0; i < nsmall; i++)
        CCHECK(VirtualFree(small[i], 0, MEM_RELEASE), "final release");
    return 0;
}

/* munmap (interposed) of the middle page of a committed run at the limit. */
static int munmap_middle(void)
{
    char *p = VirtualAlloc(NULL, KB64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p) {
        /* At the limit already: make room by releasing two small ones. */
        CCHECK(nsmall >= 2 && VirtualFree(small[--nsmall], 0, MEM_RELEASE) &&
                   VirtualFree(small[--nsmall], 0, MEM_RELEASE), "making room");
        p = VirtualAlloc(NULL, KB64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    }
    CCHECK(p, "a committed 64 KiB allocation: %lu", (unsigned long)GetLastError());
    memset(p, 'm', KB64);
    char *q = VirtualAlloc(NULL, KB64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CCHECK(q, "a second committed 64 KiB allocation: %lu", (unsigned long)GetLastError());
    memset(q, 'q', KB64);
    /* Fill the map again. */
    int r;
    while ((r = add_small()) == 1)
        ;
    CCHECK(r == 0, "allocation failed with %lu, not ERROR_NOT_ENOUGH_MEMORY",
           (unsigned long)GetLastError());
    char *mid = p + 4 * VW_PAGE;
    int rc = munmap(mid, VW_PAGE), e = errno;
    DWORD st = 0;
    CCHECK(state_at(mid, &st) == 0, "%s", cerr);
    if (rc == 0) {
        CCHECK(st == MEM_FREE, "munmap returned 0 but VirtualQuery says %#lx", (unsigned long)st);
        CCHECK(!vw_can_read(mid), "munmap returned 0 but the page is still readable");
    } else {
        CCHECK(e == ENOMEM, "munmap failed with %s, want ENOMEM", strerror(e));
        CCHECK(st == MEM_COMMIT, "munmap failed but VirtualQuery says %#lx", (unsigned long)st);
        CCHECK(vw_can_read(mid) && mid[5] == 'm', "munmap failed but the page changed");
    }
    /* Decommitting one page in the middle of a committed run needs a split:
     * it must succeed all the same. */
    char *qm = q + 4 * VW_PAGE;
    CCHECK(VirtualFree(qm, VW_PAGE, MEM_DECOMMIT), "decommit of a middle page at the limit: %lu",
           (unsigned long)GetLastError());
    CCHECK(state_at(qm, &st) == 0 && st == MEM_RESERVE, "decommitted middle page: state %#lx",
           (unsigned long)st);
    CCHECK(!vw_can_read(qm), "decommitted middle page still readable");
    CCHECK(q[0] == 'q' && qm[-1] == 'q' && qm[VW_PAGE] == 'q', "neighbours of the decommitted page");
    CCHECK(VirtualFree(q, 0, MEM_RELEASE), "release after the middle decommit: %lu",
           (unsigned long)GetLastError());
    CCHECK(!vw_can_read(q) && !vw_can_read(q + KB64 - 1), "released allocation still readable");
    CCHECK(VirtualFree(p, 0, MEM_RELEASE), "release of the munmapped allocation: %lu",
           (unsigned long)GetLastError());
    CCHECK(!vw_can_read(p) && !vw_can_read(p + KB64 - 1), "released allocation still readable");
    return 0;
}

static int pattern_small(void *arg)
{
    long limit = max_map_count();
    int r;
    while ((r = add_small()) == 1)
        CCHECK(nsmall < MAXA, "no failure after %zu allocations (vm.max_map_count %ld)", nsmall,
               limit);
    CCHECK(r == 0, "allocation %zu failed with %lu, not ERROR_NOT_ENOUGH_MEMORY", nsmall,
           (unsigned long)GetLastError());
    CCHECK(nsmall > (size_t)limit / 4, "only %zu allocations before failure (limit %ld)", nsmall,
           limit);
    CCHECK(munmap_middle() == 0, "%s", cerr);
    return release_and_again();
}

static int pattern_big(void *arg)
{
    for (int i = 0; i < 4000; i++)
        CCHECK(add_small() == 1, "small allocation %d", i);
    for (;;) {
        char *p = VirtualAlloc(NULL, GB, MEM_RESERVE, PAGE_NOACCESS);
        if (!p)
            break;
        CCHECK(nbig < MAXA, "1 GiB reservations never fail");
        big[nbig++] = p;
    }
    CCHECK(GetLastError() == ERROR_NOT_ENOUGH_MEMORY, "1 GiB reservation failed with %lu",
           (unsigned long)GetLastError());
    CCHECK(munmap_middle() == 0, "%s", cerr);
    return release_and_again();
}

static void run_child(const char *what, int (*fn)(void *))
{
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        alarm(CHILD_ALARM);
        cerr[0] = 0;
        vw_child_exit(fds[1], fn(NULL), cerr, sizeof cerr);
    }
    close(fds[1]);
    char msg[1024];
    int status;
    if (!vw_wait_child(pid, fds[0], CHILD_ALARM + 5, &status, msg, sizeof msg))
        ck_abort_msg("%s: child did not finish", what);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s%s", what,
                  WIFSIGNALED(status) ? "killed by a signal " : "", msg);
}

START_TEST(test_limit_small_allocations)
{
    run_child("64 KiB + first page committed, to the limit", pattern_small);
}
END_TEST

START_TEST(test_limit_big_reservations)
{
    run_child("1 GiB reservations, to the limit", pattern_big);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mapcount");
    TCase *tc = tcase_create("limit");
    tcase_add_test(tc, test_limit_small_allocations);
    tcase_add_test(tc, test_limit_big_reservations);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
