/*
 * wp.h: the kernel's page-write tracking, for write watches (core/vm_watch.c).
 *
 * Two mechanisms, detected at run time (the installed headers may predate
 * them; wp.c defines what it needs):
 * - userfaultfd write protection in asynchronous mode (UFFD_FEATURE_WP_ASYNC
 *   with WP_UNPOPULATED, Linux 6.7+) read and re-armed by the PAGEMAP_SCAN
 *   ioctl on /proc/self/pagemap: the kernel resolves the first write to a
 *   protected page itself (no signal, no message) and records it in the page
 *   table; kernel writes (read(2) into the page) are resolved the same way.
 * - soft-dirty bits (/proc/self/pagemap bit 55, cleared for the whole
 *   process by writing 4 to /proc/self/clear_refs).
 * Every function returns 0 or a positive errno (os_wp_scan: a count or -errno)
 * and leaves errno alone.  Descriptors are close-on-exec and moved high.
 */
#ifndef VW_OS_WP_H
#define VW_OS_WP_H

#include <stddef.h>
#include <stdint.h>

/* One run of pages PAGEMAP_SCAN reports (struct page_region). */
struct os_wp_region {
    uint64_t start, end, categories;
};

/* A userfaultfd with WP_ASYNC | WP_UNPOPULATED (UFFD_USER_MODE_ONLY first,
 * which needs no privilege; kernel writes are still resolved in async mode).
 * ENOSYS / EINVAL / EPERM: no such support here. */
int os_uffd_open(int *fd);
/* Register [a, a+len) for write protection / unregister it. */
int os_uffd_register(int fd, uintptr_t a, size_t len);
int os_uffd_unregister(int fd, uintptr_t a, size_t len);
/* Write-protect every page of [a, a+len), unpopulated ones included (a
 * marker, so a later read fault maps a protected zero page): all clean. */
int os_uffd_protect(int fd, uintptr_t a, size_t len);

/* /proc/self/pagemap, for os_wp_scan and os_softdirty_read. */
int os_pagemap_open(int *fd);
/* PAGEMAP_SCAN of [start, end) for written pages (asynchronous protection
 * required on every page: EPERM otherwise), at most max_pages of them, into
 * vec (n entries).  reset: the pages reported are protected again in the same
 * walk.  not_present: report and protect the pages that are not present
 * (neither present nor swapped) instead: markers for holes.  Returns the number of entries or -errno;
 * *walk_end is where the walk stopped. */
long os_wp_scan(int pagemap, uintptr_t start, uintptr_t end, int reset, int not_present,
                struct os_wp_region *vec, size_t n, size_t max_pages, uintptr_t *walk_end);
/* 1 if PAGEMAP_SCAN exists (ENOTTY otherwise). */
int os_wp_scan_supported(int pagemap);

/* Soft-dirty: the n pagemap entries of the pages from address a (pages of
 * `page` bytes), ORed into the bitmap out from bit `first` (1: soft-dirty). */
int os_softdirty_or(int pagemap, uintptr_t a, size_t n, size_t page, uint64_t *out,
                    size_t first);
/* Clear every soft-dirty bit of the process (clear_refs 4). */
int os_softdirty_clear(void);

#endif
