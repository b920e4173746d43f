/*
 * kernelview.h: what the kernel says about memory the library does not track.
 *
 * kv_find answers "which mapping covers addr, or is the next one above it",
 * with the PROCMAP_QUERY ioctl on /proc/self/maps (Linux 6.11+) and, where the
 * kernel lacks it or VIRTUALWIN_PROCMAPS=text is set, by parsing
 * /proc/self/maps through a fixed stack buffer.  No malloc, no stdio, no lock:
 * it may be called concurrently and must be called WITHOUT the map lock (it
 * issues syscalls).  Returns 0 and fills *out, or ENOENT when nothing is mapped
 * at or above addr, or another errno.
 */
#ifndef VW_KERNELVIEW_H
#define VW_KERNELVIEW_H

#include <stdint.h>

struct kv_vma {
    uintptr_t start, end;
    int prot;            /* PROT_READ | PROT_WRITE | PROT_EXEC */
    int shared;          /* MAP_SHARED */
    int file_backed;
    uint64_t offset;     /* file offset of start */
    uint64_t inode;
    uint64_t dev;        /* major << 32 | minor */
};

int kv_find(uintptr_t addr, struct kv_vma *out);
/* The same question about process pid, through fd, its /proc/PID/maps opened
 * by kv_open (-1 if none: text only).  Errors as kv_find (ESRCH: gone). */
int kv_open(int pid);
int kv_find_pid(int pid, int fd, uintptr_t addr, struct kv_vma *out);
/* Forget the cached descriptor if it is an ancestor's (a fork child's copy
 * refers to the parent's maps); it is closed only if still the inherited file.
 * kv_find makes the same check itself on every call (see kernelview.c). */
void kv_reset_after_fork(void);

#endif
