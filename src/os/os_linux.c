/*
 * os_linux.c: raw Linux syscalls behind the contract in os.h.
 *
 * Invariants: no libc memory wrapper is called (interposition-proof), errno is
 * never modified as seen by the caller of the API, and a fixed placement never
 * replaces an existing mapping: MAP_FIXED_NOREPLACE where the kernel knows it
 * (4.17+), and on older kernels, which take it as a hint, the returned address
 * is checked and a misplaced mapping is removed again.
 */
#include "os/raw.h"
#include "os/os.h"
#include "os/faultinject.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

unsigned long os_access_generation;

static long mmap_raw(uintptr_t addr, size_t len, int prot, int flags)
{
    return os_raw(SYS_mmap, (long)addr, (long)len, prot, flags, -1, 0);
}

static int map_anon(uintptr_t *addr, size_t len, int prot, int extra, int fixed)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | extra;
    if (fixed)
        flags |= MAP_FIXED_NOREPLACE;
    long r = mmap_raw(*addr, len, prot, flags);
    if (r < 0 && r > -4096)
        return os_raw_err(r);
    if (fixed && (uintptr_t)r != *addr) {
        /* A pre-4.17 kernel treated MAP_FIXED_NOREPLACE as a hint. */
        os_raw(SYS_munmap, r, (long)len, 0, 0, 0, 0);
        return EEXIST;
    }
    *addr = (uintptr_t)r;
    return 0;
}

int os_reserve(uintptr_t *addr, size_t len, int fixed)
{
    VW_FAULT_POINT();
    return map_anon(addr, len, PROT_NONE, MAP_NORESERVE, fixed);
}

int os_reserve_aligned(uintptr_t *addr, size_t len, size_t align)
{
    uintptr_t raw = 0;
    size_t over = len + align;
    int err = os_reserve(&raw, over, 0);
    if (err)
        return err;
    uintptr_t base = (raw + align - 1) & ~(uintptr_t)(align - 1);
    /* A failure to trim leaves some PROT_NONE space mapped: harmless. */
    if (base > raw)
        os_unmap(raw, base - raw);
    if (raw + over > base + len)
        os_unmap(base + len, raw + over - (base + len));
    *addr = base;
    return 0;
}

int os_map_anon(uintptr_t *addr, size_t len, int prot)
{
    VW_FAULT_POINT();
    return map_anon(addr, len, prot, 0, 0);
}

int os_map_flags(uintptr_t *addr, size_t len, int prot, int extra, int fixed)
{
    VW_FAULT_POINT();
    return map_anon(addr, len, prot, extra, fixed);
}

/* At vm.max_map_count the remap fails with ENOMEM whenever it must split a
 * VMA (a MAP_FIXED mmap unmaps first).  The fallback changes VMAs in place
 * instead: mprotect(PROT_NONE) turns whole VMAs into PROT_NONE|MAP_NORESERVE
 * anonymous memory that merges with the reserved space around it (a commit is
 * an mprotect of that space, so the flags match), and where it starts or ends
 * next to such space the kernel moves the boundary rather than splitting;
 * then munlock and MADV_DONTNEED (neither needs a VMA once the protection
 * matches) drop the lock and the contents, so the next commit reads zero.
 * No commit charge is involved: the library's memory is MAP_NORESERVE.  If
 * mprotect also needs a split it fails before changing anything, and the
 * caller gets ENOMEM. */
static int decommit_in_place(uintptr_t addr, size_t len)
{
    int err = os_raw_err(os_raw(SYS_mprotect, (long)addr, (long)len, PROT_NONE, 0, 0, 0));
    if (err)
        return err;
    os_raw(SYS_munlock, (long)addr, (long)len, 0, 0, 0, 0);
    return os_raw_err(os_raw(SYS_madvise, (long)addr, (long)len, MADV_DONTNEED, 0, 0, 0));
}

/* Headroom at vm.max_map_count.  Where even the in-place decommit needs a
 * split (a range inside a VMA, such as one page in the middle of a committed
 * run), the library gives back one of a few one-page mappings of its own, each
 * its own VMA, and tries again.  Commits, protection changes and new
 * placements refill the bank first (os_headroom) and fail with ENOMEM when
 * they cannot, so the library refuses new work while a decommit or release
 * can still get the VMAs it needs.  Entries are PROT_READ or PROT_NONE
 * (alternating, so that two entries the kernel places side by side do not
 * merge) with MADV_DONTDUMP (so that they merge with no ordinary mapping).
 * Called with the map lock held. */
#define BANK 8
static uintptr_t bank[BANK];
static uintptr_t bank_home[BANK];   /* where each entry was first placed */
static int bank_n;

/* The bank is filled once at start-up (vw_init_slow), before the program can
 * have freed a hole it means to reserve at an explicit address; an entry given
 * back is refilled at its old address (a hint) so that a refill does not land
 * in such a hole either. */
static int bank_add(void)
{
    uintptr_t page = 4096;
    long r = mmap_raw(bank_home[bank_n], page, (bank_n & 1) ? PROT_NONE : PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    if (r < 0 && r > -4096)
        return os_raw_err(r);
    os_raw(SYS_madvise, r, (long)page, MADV_DONTDUMP, 0, 0, 0);
    if (!bank_home[bank_n])
        bank_home[bank_n] = (uintptr_t)r;
    bank[bank_n++] = (uintptr_t)r;
    return 0;
}

static int bank_take(void)
{
    if (!bank_n)
        return 0;
    return os_raw(SYS_munmap, (long)bank[--bank_n], 4096, 0, 0, 0, 0) == 0;
}

int os_headroom(void)
{
    while (__builtin_expect(bank_n < BANK, 0)) {
        int err = bank_add();
        if (err)
            return err;
    }
    return 0;
}

int os_decommit(uintptr_t addr, size_t len)
{
    VW_FAULT_POINT();
    int err;
    for (;;) {
        long r = mmap_raw(addr, len, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED);
        if (r != -ENOMEM) {
            err = r < 0 && r > -4096 ? os_raw_err(r) : 0;
            break;
        }
        err = decommit_in_place(addr, len);
        if (err != ENOMEM || !bank_take())
            break;
    }
    os_access_changed();
    return err;
}

int os_unmap(uintptr_t addr, size_t len)
{
    VW_FAULT_POINT();
    long r = os_raw(SYS_munmap, (long)addr, (long)len, 0, 0, 0, 0);
    os_access_changed();
    return os_raw_err(r);
}

int os_protect(uintptr_t addr, size_t len, int prot)
{
    VW_FAULT_POINT();
    if (prot != PROT_NONE) {
        int err = os_headroom();
        if (err)
            return err;
    }
    long r = os_raw(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, 0);
    os_access_changed();
    return os_raw_err(r);
}

int os_advise(uintptr_t addr, size_t len, int advice)
{
    VW_FAULT_POINT();
    return os_raw_err(os_raw(SYS_madvise, (long)addr, (long)len, advice, 0, 0, 0));
}

int os_lock(uintptr_t addr, size_t len)
{
    VW_FAULT_POINT();
    return os_raw_err(os_raw(SYS_mlock, (long)addr, (long)len, 0, 0, 0, 0));
}

int os_unlock(uintptr_t addr, size_t len)
{
    VW_FAULT_POINT();
    return os_raw_err(os_raw(SYS_munlock, (long)addr, (long)len, 0, 0, 0, 0));
}

void os_futex_wait(int *uaddr, int val)
{
    os_raw(SYS_futex, (long)uaddr, FUTEX_WAIT_PRIVATE, val, 0, 0, 0);
}

void os_futex_wake(int *uaddr, int n)
{
    os_raw(SYS_futex, (long)uaddr, FUTEX_WAKE_PRIVATE, n, 0, 0, 0);
}

int os_open_ro(const char *path)
{
    long r = os_raw(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
    return r < 0 ? -1 : (int)r;
}

long os_read(int fd, void *buf, size_t len)
{
    return os_raw(SYS_read, fd, (long)buf, (long)len, 0, 0, 0);
}

long os_pread(int fd, void *buf, size_t len, long off)
{
    return os_raw(SYS_pread64, fd, (long)buf, (long)len, off, 0, 0);
}

int os_close(int fd)
{
    return os_raw_err(os_raw(SYS_close, fd, 0, 0, 0, 0, 0));
}

int os_ioctl(int fd, unsigned long req, void *arg)
{
    return os_raw_err(os_raw(SYS_ioctl, fd, (long)req, (long)arg, 0, 0, 0));
}

int os_fd_identity(int fd, uint64_t *dev, uint64_t *ino)
{
    struct stat st;
    int saved = errno;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        errno = saved;
        return e;
    }
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

int os_dup_high(int fd, int min)
{
    long r = os_raw(SYS_fcntl, fd, F_DUPFD_CLOEXEC, min, 0, 0, 0);
    return r < 0 ? -1 : (int)r;
}

static size_t rlimit_cur(int which)
{
    struct rlimit rl;
    if (os_raw(SYS_prlimit64, 0, which, 0, (long)&rl, 0, 0) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > SIZE_MAX)
        return SIZE_MAX;
    return (size_t)rl.rlim_cur;
}

size_t os_rlimit_nofile(void)
{
    return rlimit_cur(RLIMIT_NOFILE);
}

size_t os_rlimit_as(void)
{
    return rlimit_cur(RLIMIT_AS);
}

int os_memlock_limit(uint64_t *soft, uint64_t *hard)
{
    struct rlimit rl;
    long r = os_raw(SYS_prlimit64, 0, RLIMIT_MEMLOCK, 0, (long)&rl, 0, 0);
    if (r != 0)
        return (int)-r;
    *soft = (uint64_t)rl.rlim_cur;
    *hard = (uint64_t)rl.rlim_max;
    return 0;
}

int os_set_memlock_limit(uint64_t soft, uint64_t hard)
{
    struct rlimit rl = { .rlim_cur = (rlim_t)soft, .rlim_max = (rlim_t)hard };
    long r = os_raw(SYS_prlimit64, 0, RLIMIT_MEMLOCK, (long)&rl, 0, 0, 0);
    return r != 0 ? (int)-r : 0;
}

long os_cpu_affinity(unsigned long *set, size_t len)
{
    long r = os_raw(SYS_sched_getaffinity, 0, (long)len, (long)set, 0, 0, 0);
    return r < 0 ? -1 : r;
}

int os_getpid(void)
{
    return (int)os_raw(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

int os_gettid(void)
{
    return (int)os_raw(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

void os_yield(void)
{
    os_raw(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
}

void os_sigblock_all(uint64_t *old)
{
    uint64_t all = ~(uint64_t)0;
    os_raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)old, 8, 0, 0);
}

void os_sigrestore(const uint64_t *old)
{
    os_raw(SYS_rt_sigprocmask, SIG_SETMASK, (long)old, 0, 8, 0, 0);
}

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

int os_map_wipeonfork(uintptr_t *addr, size_t len)
{
    long r = mmap_raw(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (r < 0 && r > -4096)
        return os_raw_err(r);
    int err = os_raw_err(os_raw(SYS_madvise, r, (long)len, MADV_WIPEONFORK, 0, 0, 0));
    if (err) {
        os_raw(SYS_munmap, r, (long)len, 0, 0, 0, 0);
        return err;
    }
    *addr = (uintptr_t)r;
    return 0;
}

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1u
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 1
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 2
#endif

int os_memfd(const char *name, int *fd)
{
    VW_FAULT_POINT();
    long r = os_raw(SYS_memfd_create, (long)name, MFD_CLOEXEC, 0, 0, 0, 0);
    if (r < 0)
        return os_raw_err(r);
    *fd = (int)r;
    return 0;
}

int os_fallocate(int fd, uint64_t off, uint64_t len)
{
    VW_FAULT_POINT();
    return os_raw_err(os_raw(SYS_fallocate, fd, 0, (long)off, (long)len, 0, 0));
}

int os_punch_hole(int fd, uint64_t off, uint64_t len)
{
    return os_raw_err(os_raw(SYS_fallocate, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (long)off,
                       (long)len, 0, 0));
}

int os_map_shared_fixed(uintptr_t addr, size_t len, int prot, int fd, uint64_t off)
{
    VW_FAULT_POINT();
    long r = os_raw(SYS_mmap, (long)addr, (long)len, prot, MAP_SHARED | MAP_FIXED, fd, (long)off);
    if (r < 0 && r > -4096)
        return os_raw_err(r);
    return 0;
}
