/*
 * os.h: the only code in libvirtualwin that issues memory syscalls.
 *
 * Every primitive is a raw syscall(2), never the libc wrapper, so an mmap,
 * munmap or mprotect that the program or another library interposes can never
 * recurse into us.  Each returns 0 or a positive errno and leaves errno alone.
 *
 * Contract per primitive (addresses page aligned, sizes whole pages, > 0):
 * - os_reserve: maps fresh PROT_NONE|MAP_NORESERVE anonymous memory.  With
 *   `fixed`, exactly at *addr and never over an existing mapping (EEXIST);
 *   otherwise where the kernel chooses (hint *addr).  No commit charge.
 * - os_decommit: replaces [addr, addr+len) (which the caller owns) with fresh
 *   PROT_NONE|MAP_NORESERVE memory: contents, memory, commit charge and mlock
 *   are dropped in one atomic step; the next commit reads zero.
 * - os_protect: mprotect; contents are kept.
 * - os_unmap, os_advise, os_lock, os_unlock: munmap, madvise, mlock, munlock.
 */
#ifndef VW_OS_H
#define VW_OS_H

#include <stddef.h>
#include <stdint.h>

int os_reserve(uintptr_t *addr, size_t len, int fixed);
/* A reservation of len bytes at an address of the kernel's choosing aligned to
 * align (a power of two >= the page size): reserves len + align and unmaps the
 * misaligned head and tail. */
int os_reserve_aligned(uintptr_t *addr, size_t len, size_t align);
int os_map_anon(uintptr_t *addr, size_t len, int prot);
/* Anonymous private mapping with extra MAP_* flags (MAP_HUGETLB, ...); fixed
 * as for os_reserve. */
int os_map_flags(uintptr_t *addr, size_t len, int prot, int extra, int fixed);
int os_decommit(uintptr_t addr, size_t len);
int os_unmap(uintptr_t addr, size_t len);
int os_protect(uintptr_t addr, size_t len, int prot);
int os_advise(uintptr_t addr, size_t len, int advice);
int os_lock(uintptr_t addr, size_t len);
int os_unlock(uintptr_t addr, size_t len);

/* The access generation: moved on after every syscall that may take access
 * away from mapped memory (munmap, mprotect, mremap, mmap over existing
 * memory) which the library makes (os_decommit, os_unmap, os_protect) or sees
 * (the interposers).  Pointer proofs made under an older value are stale
 * (core/probe.c): read it before proving, bump it after changing. */
extern unsigned long os_access_generation __attribute__((visibility("hidden")));
static inline unsigned long os_access_gen(void)
{
    return __atomic_load_n(&os_access_generation, __ATOMIC_ACQUIRE);
}
static inline void os_access_changed(void)
{
    __atomic_add_fetch(&os_access_generation, 1, __ATOMIC_RELEASE);
}

/* Futex wait/wake for the map lock. */
void os_futex_wait(int *uaddr, int val);
void os_futex_wake(int *uaddr, int n);

/* File access for the kernel view (/proc/self/maps). */
int os_open_ro(const char *path);
long os_read(int fd, void *buf, size_t len);
long os_pread(int fd, void *buf, size_t len, long off);
int os_close(int fd);
int os_ioctl(int fd, unsigned long req, void *arg);

#endif
