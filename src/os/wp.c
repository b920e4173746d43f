/*
 * wp.c: userfaultfd asynchronous write protection, PAGEMAP_SCAN and
 * soft-dirty bits (see wp.h).  Raw syscalls only; the kernel ABI pieces that
 * Debian 12's headers (Linux 6.1) lack are defined here, guarded, with the
 * values of include/uapi/linux/{userfaultfd,fs}.h.
 */
#include "os/wp.h"
#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

#ifndef PAGEMAP_SCAN
struct pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#endif
_Static_assert(sizeof(struct pm_scan_arg) == 96, "struct pm_scan_arg is 12 u64");
_Static_assert(sizeof(struct os_wp_region) == 24, "struct page_region is 3 u64");

static long sys(long nr, long a, long b, long c)
{
    int saved = errno;
    long r = syscall(nr, a, b, c);
    if (r == -1) {
        r = -(long)errno;
        errno = saved;
    }
    return r;
}

/* Our descriptors live high, away from the numbers a program picks itself. */
static int keep_high(int fd)
{
    int high = os_dup_high(fd, 600);
    if (high >= 0) {
        os_close(fd);
        return high;
    }
    return fd;
}

int os_uffd_open(int *out)
{
    long fd = sys(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, 0, 0);
    if (fd == -EINVAL || fd == -EPERM)   /* kernels before 5.11 know no USER_MODE_ONLY */
        fd = sys(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK, 0, 0);
    if (fd < 0)
        return (int)-fd;
    struct uffdio_api api = { .api = UFFD_API,
                              .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
    int err = os_ioctl((int)fd, UFFDIO_API, &api);
    if (!err && (api.features & (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)) !=
                    (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED))
        err = EINVAL;
    if (err) {
        os_close((int)fd);
        return err;
    }
    *out = keep_high((int)fd);
    return 0;
}

int os_uffd_register(int fd, uintptr_t a, size_t len)
{
    struct uffdio_register r = { .range = { a, len }, .mode = UFFDIO_REGISTER_MODE_WP };
    return os_ioctl(fd, UFFDIO_REGISTER, &r);
}

int os_uffd_unregister(int fd, uintptr_t a, size_t len)
{
    struct uffdio_range r = { a, len };
    return os_ioctl(fd, UFFDIO_UNREGISTER, &r);
}

int os_uffd_protect(int fd, uintptr_t a, size_t len)
{
    struct uffdio_writeprotect w = { .range = { a, len }, .mode = UFFDIO_WRITEPROTECT_MODE_WP };
    return os_ioctl(fd, UFFDIO_WRITEPROTECT, &w);
}

int os_pagemap_open(int *out)
{
    int fd = os_open_ro("/proc/self/pagemap");
    if (fd < 0)
        return ENOENT;
    *out = keep_high(fd);
    return 0;
}

long os_wp_scan(int pagemap, uintptr_t start, uintptr_t end, int reset, int not_present,
                struct os_wp_region *vec, size_t n, size_t max_pages, uintptr_t *walk_end)
{
    struct pm_scan_arg arg = {
        .size = sizeof arg,
        .flags = PM_SCAN_CHECK_WPASYNC | (reset ? PM_SCAN_WP_MATCHING : 0),
        .start = start,
        .end = end,
        .vec = (uintptr_t)vec,
        .vec_len = n,
        .max_pages = max_pages,
        .category_inverted = not_present ? PAGE_IS_PRESENT | PAGE_IS_SWAPPED : 0,
        .category_mask = not_present ? PAGE_IS_PRESENT | PAGE_IS_SWAPPED : PAGE_IS_WRITTEN,
        .return_mask = PAGE_IS_WRITTEN,
    };
    int saved = errno;
    long r = syscall(SYS_ioctl, pagemap, PAGEMAP_SCAN, &arg);
    if (r < 0) {
        r = -(long)errno;
        errno = saved;
    }
    *walk_end = (uintptr_t)arg.walk_end;
    return r;
}

int os_wp_scan_supported(int pagemap)
{
    uintptr_t e;
    /* An empty range: EINVAL/0 where the ioctl exists, ENOTTY where not. */
    long r = os_wp_scan(pagemap, 0, 0, 0, 0, NULL, 0, 0, &e);
    return r != -ENOTTY;
}

int os_softdirty_or(int pagemap, uintptr_t a, size_t n, size_t page, uint64_t *out,
                    size_t first)
{
    uint64_t buf[512];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < 512 ? n - done : 512;
        long off = (long)((a / page + done) * 8);
        long got = os_pread(pagemap, buf, k * 8, off);
        if (got < 0)
            return (int)-got;
        if ((size_t)got != k * 8)
            return EIO;
        for (size_t i = 0; i < k; i++)
            if (buf[i] >> 55 & 1) {
                size_t bit = first + done + i;
                out[bit / 64] |= (uint64_t)1 << (bit % 64);
            }
        done += k;
    }
    return 0;
}

int os_softdirty_clear(void)
{
    long fd = sys(SYS_openat, AT_FDCWD, (long)"/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return (int)-fd;
    long w = sys(SYS_write, fd, (long)"4", 1);
    os_close((int)fd);
    return w == 1 ? 0 : w < 0 ? (int)-w : EIO;
}
