/*
 * procmap_query.h: the PROCMAP_QUERY ioctl on /proc/PID/maps (Linux 6.11 UAPI).
 * Distribution headers that predate it (Debian 12) lack it, so it is defined
 * here when <linux/fs.h> does not; the layout is stable kernel ABI.  Whether
 * the running kernel supports it is found out at run time (ENOTTY otherwise).
 * Shared by the library (kernelview.c) and the benchmark.
 */
#ifndef VW_PROCMAP_QUERY_H
#define VW_PROCMAP_QUERY_H

#include <stdint.h>
#include <sys/ioctl.h>
#if defined(__has_include)
#if __has_include(<linux/fs.h>)
#include <linux/fs.h>
#endif
#endif

#ifndef PROCMAP_QUERY
struct procmap_query {
    uint64_t size;
    uint64_t query_flags;
    uint64_t query_addr;
    uint64_t vma_start;
    uint64_t vma_end;
    uint64_t vma_flags;
    uint64_t vma_page_size;
    uint64_t vma_offset;
    uint64_t inode;
    uint32_t dev_major;
    uint32_t dev_minor;
    uint32_t vma_name_size;
    uint32_t build_id_size;
    uint64_t vma_name_addr;
    uint64_t build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#define PROCMAP_QUERY_VMA_READABLE 0x01
#define PROCMAP_QUERY_VMA_WRITABLE 0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE 0x04
#define PROCMAP_QUERY_VMA_SHARED 0x08
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#endif

#endif
