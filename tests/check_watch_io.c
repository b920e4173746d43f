/*
 * check_watch_io.c: write watches and writes the program does not make with
 * its own stores (spec section 11), on each tracking engine
 * (VIRTUALWIN_WRITE_WATCH, as check_watch):
 * - the kernel writing into a watched buffer for read(2), pread, readv and
 *   recv: the call never fails because of the watch (no EFAULT, the full
 *   count), the bytes arrive, and exactly the pages it filled are reported,
 *   for partial pages, buffers straddling pages and never-touched pages;
 * - threads storing while another thread calls
 *   GetWriteWatch(WRITE_WATCH_FLAG_RESET) in a loop: no store is ever lost
 *   (each writer waits until its store is reported; two complete scans that
 *   began after the store without reporting it is a lost write).
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"
#include "watchutil.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PG VW_PAGE
#define WWC (MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH)

/* A pipe holding n pattern bytes (seed s); returns the read end. */
static int pipe_with(size_t n, unsigned s)
{
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    char buf[4096];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof buf ? n - done : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = (char)vw_pattern_byte(done + i, s);
        ck_assert_int_eq(write(fd[1], buf, k), (ssize_t)k);
        done += k;
    }
    close(fd[1]);
    return fd[0];
}

/* spec 11: read(2) into a watched buffer: a partial page in the middle of a
 * never-touched page, then a read straddling two pages; full counts, the bytes,
 * exactly those pages dirty */
START_TEST(kernel_read)
{
    char *p = VW_ALLOC_OK(NULL, 8 * PG, WWC, PAGE_READWRITE);
    int fd = pipe_with(100 + 2 * PG, 3);
    errno = 0;
    ck_assert_int_eq(read(fd, p + 2 * PG + 1000, 100), 100);
    EXPECT_DIRTY(p, 8 * PG, 2);
    ck_assert(vw_has_pattern(p + 2 * PG + 1000, 100, 3));
    ck_assert(vw_is_zero(p + 2 * PG, 1000));
    ck_assert_uint_eq(ResetWriteWatch(p, 8 * PG), 0);
    ssize_t got = 0;
    while (got < (ssize_t)(2 * PG)) {   /* a pipe may hand it over in pieces */
        ssize_t r = read(fd, p + 4 * PG + PG / 2 + got, 2 * PG - (size_t)got);
        ck_assert_msg(r > 0, "read: %zd (%s)", r, strerror(errno));
        got += r;
    }
    EXPECT_DIRTY(p, 8 * PG, 4, 5, 6);
    close(fd);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: pread from a file into clean pages (one already present, one never
 * touched) and readv into two separate pieces */
START_TEST(kernel_pread_readv)
{
    char *p = VW_ALLOC_OK(NULL, 8 * PG, WWC, PAGE_READWRITE);
    int fd = vw_scratch_file(4, 'a', 1);   /* page i holds 'a' + i */
    ck_assert_int_ge(fd, 0);
    p[PG] = 9;
    ck_assert_uint_eq(ResetWriteWatch(p, 8 * PG), 0);   /* page 1 present and clean */
    ck_assert_int_eq(pread(fd, p + PG + PG - 10, 20, (off_t)PG), 20);
    ck_assert_int_eq(p[PG + PG - 10], 'b');
    ck_assert_int_eq(p[2 * PG + 9], 'b');
    EXPECT_DIRTY(p, 8 * PG, 1, 2);
    ck_assert_uint_eq(GetWriteWatch(WRITE_WATCH_FLAG_RESET, p, 8 * PG,
                                    (PVOID[8]){ 0 }, &(ULONG_PTR){ 8 }, &(DWORD){ 0 }), 0);
    struct iovec iov[2] = { { p + 3 * PG + 7, 5 }, { p + 6 * PG, PG } };
    ck_assert_int_eq(preadv(fd, iov, 2, 0), (ssize_t)(5 + PG));
    ck_assert_int_eq(p[3 * PG + 7], 'a');
    ck_assert_int_eq(p[6 * PG + PG - 1], 'b');
    EXPECT_DIRTY(p, 8 * PG, 3, 6);
    close(fd);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* spec 11: recv from a socket into a watched buffer straddling pages */
START_TEST(kernel_recv)
{
    char *p = VW_ALLOC_OK(NULL, 4 * PG, WWC, PAGE_READWRITE);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char msg[300];
    vw_fill_pattern(msg, sizeof msg, 5);
    ck_assert_int_eq(send(sv[0], msg, sizeof msg, 0), (ssize_t)sizeof msg);
    ck_assert_int_eq(recv(sv[1], p + 2 * PG - 100, sizeof msg, MSG_WAITALL), (ssize_t)sizeof msg);
    ck_assert(!memcmp(p + 2 * PG - 100, msg, sizeof msg));
    EXPECT_DIRTY(p, 4 * PG, 1, 2);
    close(sv[0]);
    close(sv[1]);
    VW_FREE_OK(p, 0, MEM_RELEASE);
}
END_TEST

/* ---- concurrency ---------------------------------------------------------------- */

enum { WRITERS = 2, PER_WRITER = 16, NPAGES = WRITERS * PER_WRITER, ROUNDS = 600 };

static char *cbuf;
static int pending[NPAGES];
static unsigned long scans;
static int writers_done, lost_page = -1;

static void *writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    for (int k = 0; k < ROUNDS; k++) {
        int page = w * PER_WRITER + k % PER_WRITER;
        __atomic_store_n(&pending[page], 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&cbuf[(size_t)page * PG + (size_t)k % PG], (char)k, __ATOMIC_SEQ_CST);
        unsigned long s0 = __atomic_load_n(&scans, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&pending[page], __ATOMIC_SEQ_CST)) {
            if (__atomic_load_n(&scans, __ATOMIC_SEQ_CST) >= s0 + 2 &&
                __atomic_load_n(&pending[page], __ATOMIC_SEQ_CST)) {
                __atomic_store_n(&lost_page, page, __ATOMIC_SEQ_CST);
                __atomic_add_fetch(&writers_done, 1, __ATOMIC_SEQ_CST);
                return NULL;
            }
            sched_yield();
        }
    }
    __atomic_add_fetch(&writers_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* spec 11 (issue 12 item 4): writers store while this thread resets in a loop;
 * every store made after its page was reported and reset is reported later */
START_TEST(concurrent_reset_loses_nothing)
{
    const char *e = getenv("VIRTUALWIN_WRITE_WATCH");
    if (e && !strcmp(e, "softdirty")) {
        /* Stated reason: the documented limit of that engine (clear_refs is not
         * atomic with reading the bits); the test would fail by design. */
        printf("concurrent_reset_loses_nothing: not run on softdirty (documented limit)\n");
        return;
    }
    cbuf = VW_ALLOC_OK(NULL, NPAGES * PG, WWC, PAGE_READWRITE);
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
    PVOID a[NPAGES];
    int failed = 0;
    while (__atomic_load_n(&writers_done, __ATOMIC_SEQ_CST) < WRITERS) {
        ULONG_PTR n = NPAGES;
        DWORD g;
        if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, cbuf, NPAGES * PG, a, &n, &g) != 0) {
            failed = 1;
            break;
        }
        for (ULONG_PTR i = 0; i < n; i++)
            __atomic_store_n(&pending[((char *)a[i] - cbuf) / (ptrdiff_t)PG], 0,
                             __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&scans, 1, __ATOMIC_SEQ_CST);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    ck_assert_msg(!failed, "GetWriteWatch failed: %u", (unsigned)GetLastError());
    ck_assert_msg(lost_page < 0, "a store to page %d was never reported", lost_page);
    EXPECT_DIRTY(cbuf, NPAGES * PG);
    VW_FREE_OK(cbuf, 0, MEM_RELEASE);
}
END_TEST

static Suite *watch_io_suite(void)
{
    Suite *s = suite_create("watch_io");
    TCase *tc = tcase_create("kernel_writes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, kernel_read);
    tcase_add_test(tc, kernel_pread_readv);
    tcase_add_test(tc, kernel_recv);
    suite_add_tcase(s, tc);
    tc = tcase_create("concurrency");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, concurrent_reset_loses_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return watch_run_engines("check_watch_io", watch_io_suite);
}
