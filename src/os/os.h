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
/* Keeps the mappings a decommit or release may need at vm.max_map_count
 * (os_linux.c); ENOMEM when it cannot, and new work must then be refused.
 * os_protect to an accessible protection calls it itself. */
int os_headroom(void);
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
/* Identity of what fd refers to now (device, inode): 0 or an errno.  How the
 * library tells a descriptor it opened from one the program put at that number. */
int os_fd_identity(int fd, uint64_t *dev, uint64_t *ino);
/* fcntl(F_DUPFD_CLOEXEC, min): the new descriptor or -1. */
int os_dup_high(int fd, int min);
/* The soft RLIMIT_NOFILE / RLIMIT_AS (RLIM_INFINITY as SIZE_MAX), never failing. */
size_t os_rlimit_nofile(void);
size_t os_rlimit_as(void);

/* RLIMIT_MEMLOCK soft and hard (RLIM_INFINITY is UINT64_MAX), read and set
 * (prlimit64 on this process): 0 or an errno. */
int os_memlock_limit(uint64_t *soft, uint64_t *hard);
int os_set_memlock_limit(uint64_t soft, uint64_t hard);
/* sched_getaffinity of the calling thread into set (len bytes): the bytes the
 * kernel wrote, or -1. */
long os_cpu_affinity(unsigned long *set, size_t len);

/* Processes and threads (see os/proc.h for how the library knows which process it is in). */
int os_getpid(void);
int os_gettid(void);
void os_yield(void);
/* Blocks every signal, saving the old mask in *old (8 bytes); os_sigrestore puts it back. */
void os_sigblock_all(uint64_t *old);
void os_sigrestore(const uint64_t *old);
/* One read-write page that every child process made by fork(), _Fork() or
 * clone() without CLONE_VM sees zeroed (MADV_WIPEONFORK, Linux 4.14+).  No
 * fault-injection point: it is library bookkeeping, not a caller's request.
 * 0 or an errno (EINVAL: the kernel has no MADV_WIPEONFORK; nothing is left mapped). */
int os_map_wipeonfork(uintptr_t *addr, size_t len);

/* Signals (os_signal.c), for the fault dispatcher (core/fault.c).  All are
 * async-signal-safe.  os_sigaction is libc's own sigaction (__sigaction: it
 * sets the restorer the kernel needs), reached past the library's interposed
 * sigaction (src/preload/sigchain.c): 0 or an errno.  os_sigmask is
 * rt_sigprocmask on the 64-bit kernel mask (how: SIG_BLOCK, SIG_UNBLOCK,
 * SIG_SETMASK; old may be NULL).  os_raise_self sends sig to the calling
 * thread (tgkill). */
struct sigaction;
int os_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
void os_sigmask(int how, const uint64_t *set, uint64_t *old);
void os_raise_self(int sig);
/* mprotect alone, for a signal handler that interrupted the map lock's holder
 * on its own thread: no headroom refill (its bank is the lock holder's) and
 * no fault-injection point.  0 or an errno. */
int os_protect_in_handler(uintptr_t addr, size_t len, int prot);
/* Files of shared memory, for AWE page frames (core/vm_awe.c): a memfd
 * (close-on-exec) in *fd; memory allocated for [off, off+len) of it (the file
 * grows to cover it; ENOSPC/ENOMEM when memory is short); a hole punched in
 * it (the pages read zero again and give their memory back); and pages of it
 * mapped MAP_SHARED over [addr, addr+len), which the caller owns (MAP_FIXED:
 * whatever was there is replaced in one step).  0 or an errno. */
int os_memfd(const char *name, int *fd);
int os_fallocate(int fd, uint64_t off, uint64_t len);
int os_punch_hole(int fd, uint64_t off, uint64_t len);
int os_map_shared_fixed(uintptr_t addr, size_t len, int prot, int fd, uint64_t off);

#endif
