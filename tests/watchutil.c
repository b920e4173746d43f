/*
 * watchutil.c: see watchutil.h.
 */
#include "watchutil.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

size_t watch_pages(const void *base, size_t size, DWORD flags, size_t *idx, size_t cap)
{
    PVOID a[512];
    ULONG_PTR n = cap < 512 ? cap : 512;
    DWORD g = 0;
    ck_assert_uint_eq(GetWriteWatch(flags, (PVOID)base, size, a, &n, &g), 0);
    ck_assert_uint_eq(g, VW_PAGE);
    uintptr_t b = (uintptr_t)base & ~(VW_PAGE - 1);
    for (ULONG_PTR i = 0; i < n; i++) {
        ck_assert_uint_eq((uintptr_t)a[i] % VW_PAGE, 0);
        idx[i] = ((uintptr_t)a[i] - b) / VW_PAGE;
    }
    return n;
}

void expect_dirty(int line, const void *base, size_t size, const long *want, size_t n)
{
    size_t got[512];
    char msg[1024] = "";
    SetLastError(VW_KEEP_ERR);
    size_t k = watch_pages(base, size, 0, got, 512);
    ck_assert_msg(GetLastError() == VW_KEEP_ERR, "line %d: last error changed to %u", line,
                  (unsigned)GetLastError());
    int same = k == n;
    for (size_t i = 0; same && i < n; i++)
        same = got[i] == (size_t)want[i + 1];
    if (!same) {
        size_t off = 0;
        for (size_t i = 0; i < k && off < sizeof msg - 16; i++)
            off += (size_t)snprintf(msg + off, sizeof msg - off, " %zu", got[i]);
    }
    ck_assert_msg(same, "line %d: %zu dirty pages reported (expected %zu):%s", line, k, n, msg);
}

/* Reads a byte (a read must not dirty): 1 if it is not zero. */
static int read_volatile_zero(const char *p)
{
    return *(volatile const char *)p != 0;
}

int child_fork_checks(char *p, size_t size)
{
    size_t idx[64], n = 0;
    PVOID a[64];
    ULONG_PTR cnt = 64;
    DWORD g;
    if (GetWriteWatch(0, p, size, a, &cnt, &g) != 0)
        return 10;
    for (ULONG_PTR i = 0; i < cnt; i++)
        idx[n++] = (size_t)((char *)a[i] - p) / VW_PAGE;
    /* A superset of the parent's state: pages 1 and 4; never-touched pages clean. */
    int has1 = 0, has4 = 0;
    for (size_t i = 0; i < n; i++) {
        has1 |= idx[i] == 1;
        has4 |= idx[i] == 4;
        if (idx[i] != 1 && idx[i] != 4)
            return 11;
    }
    if (!has1 || !has4)
        return 12;
    if (ResetWriteWatch(p, size) != 0)
        return 13;
    cnt = 64;
    if (GetWriteWatch(0, p, size, a, &cnt, &g) != 0 || cnt != 0)
        return 14;
    p[6 * VW_PAGE] = 1;
    if (read_volatile_zero(p + 7 * VW_PAGE))
        return 15;
    cnt = 64;
    if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, p, size, a, &cnt, &g) != 0 || cnt != 1 ||
        a[0] != p + 6 * VW_PAGE)
        return 16;
    /* Allocations made in the child are watched too. */
    char *q = VirtualAlloc(NULL, 4 * VW_PAGE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                           PAGE_READWRITE);
    if (!q)
        return 17;
    q[VW_PAGE] = 1;
    cnt = 64;
    if (GetWriteWatch(0, q, 4 * VW_PAGE, a, &cnt, &g) != 0 || cnt != 1 || a[0] != q + VW_PAGE)
        return 18;
    return 0;
}

static const char *const engines[] = { "uffd", "softdirty" };

/* 0 if VirtualAlloc(MEM_WRITE_WATCH) works under the engine now set, 1 if it
 * gives ERROR_NOT_SUPPORTED, 2 otherwise (in a child, so this process keeps no
 * engine). */
static int engine_works(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        void *p = VirtualAlloc(NULL, VW_PAGE, MEM_RESERVE | MEM_WRITE_WATCH, PAGE_READWRITE);
        if (!p && GetLastError() != ERROR_NOT_SUPPORTED)
            fprintf(stderr, "MEM_WRITE_WATCH: unexpected error %u\n", (unsigned)GetLastError());
        _exit(p ? 0 : GetLastError() == ERROR_NOT_SUPPORTED ? 1 : 2);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

int watch_run_engines(const char *prog, Suite *(*make)(void))
{
    int failed = 0, ran = 0;
    const char *only = getenv("VIRTUALWIN_WRITE_WATCH");
    for (size_t e = 0; e < sizeof engines / sizeof engines[0]; e++) {
        if (only && *only && strcmp(only, engines[e]))
            continue;
        setenv("VIRTUALWIN_WRITE_WATCH", engines[e], 1);
        int why = engine_works();
        if (why == 2) {
            failed++;   /* neither working nor refused as unsupported */
            continue;
        }
        if (why == 1) {
            /* Stated reason: the kernel lacks what the engine needs (uffd: Linux
             * 6.7+ WP_ASYNC and PAGEMAP_SCAN; softdirty: CONFIG_MEM_SOFT_DIRTY). */
            printf("%s: engine %s skipped: not supported by this kernel "
                   "(VirtualAlloc(MEM_WRITE_WATCH) gives ERROR_NOT_SUPPORTED)\n",
                   prog, engines[e]);
            continue;
        }
        printf("%s: engine %s\n", prog, engines[e]);
        SRunner *sr = srunner_create(make());
        srunner_run_all(sr, CK_NORMAL);
        failed += srunner_ntests_failed(sr);
        srunner_free(sr);
        ran++;
    }
    if (!ran)
        printf("%s: no write-watch engine works on this kernel\n", prog);
    return failed ? EXIT_FAILURE : ran ? EXIT_SUCCESS : 77;
}
