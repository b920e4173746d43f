/*
 * watchutil.h: helpers of the write-watch suites (check_watch, check_watch_io):
 * the expected dirty pages of a range, the fork-child checks, and running a
 * suite once per tracking engine.
 */
#ifndef VW_WATCHUTIL_H
#define VW_WATCHUTIL_H

#include <check.h>
#include <stddef.h>
#include <virtualwin.h>

/* GetWriteWatch(0) over [base, base+size) must succeed, leave the last error
 * alone, report the page size and exactly the listed pages (indices counted
 * from page_floor(base)), in order. */
#define EXPECT_DIRTY(base, size, ...)                                                       \
    expect_dirty(__LINE__, (base), (size), (const long[]){ -1, ##__VA_ARGS__ },             \
                 sizeof((const long[]){ -1, ##__VA_ARGS__ }) / sizeof(long) - 1)
void expect_dirty(int line, const void *base, size_t size, const long *want, size_t n);

/* GetWriteWatch(flags) over the range into idx (page indices from base); the
 * count, or fails the test. */
size_t watch_pages(const void *base, size_t size, DWORD flags, size_t *idx, size_t cap);

/* In a fork child of a process whose watched [p, p+size) had pages 1 and 4
 * written: 0 if the child's watch state is consistent and its own, else the
 * number of the failed step. */
int child_fork_checks(char *p, size_t size);

/* Runs the suite once per engine (VIRTUALWIN_WRITE_WATCH); engines this kernel
 * lacks are skipped with the reason printed.  The exit status for main. */
int watch_run_engines(const char *prog, Suite *(*make)(void));

#endif
