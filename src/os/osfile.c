/*
 * osfile.c: raw file syscalls for sections (the contract is in osfile.h).
 *
 * Invariant: errno as the caller left it; every descriptor close-on-exec.
 */
#include "os/raw.h"
#include "os/osfile.h"
#include "os/os.h"
#include "os/faultinject.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1u
#endif
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif

int os_open(const char *path, int flags, int mode)
{
    return (int)os_raw(SYS_openat, AT_FDCWD, (long)path, flags | O_CLOEXEC, mode, 0, 0);
}

/* "/proc/self/fd/N" for fd into buf (32 bytes). */
static const char *fd_path(int fd, char *buf)
{
    static const char prefix[] = "/proc/self/fd/";
    char digits[12];
    int n = 0;
    unsigned v = (unsigned)fd;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t at = 0;
    for (; prefix[at]; at++)
        buf[at] = prefix[at];
    while (n)
        buf[at++] = digits[--n];
    buf[at] = 0;
    return buf;
}

int os_reopen(int fd, int flags)
{
    char path[32];
    return os_open(fd_path(fd, path), flags, 0);
}

int os_tmpfile(const char *dir, int flags, int mode)
{
    return os_open(dir, O_TMPFILE | flags, mode);
}

int os_link_fd(int fd, const char *path)
{
    char src[32];
    return os_raw_err(os_raw(SYS_linkat, AT_FDCWD, (long)fd_path(fd, src), AT_FDCWD, (long)path,
                      AT_SYMLINK_FOLLOW, 0));
}

int os_unlink(const char *path)
{
    return os_raw_err(os_raw(SYS_unlinkat, AT_FDCWD, (long)path, 0, 0, 0, 0));
}

int os_ftruncate(int fd, uint64_t size)
{
    return os_raw_err(os_raw(SYS_ftruncate, fd, (long)size, 0, 0, 0, 0));
}

int os_flock(int fd, int op)
{
    long r;
    while ((r = os_raw(SYS_flock, fd, op, 0, 0, 0, 0)) == -EINTR)
        ;
    return os_raw_err(r);
}

static void fill(const struct stat *st, struct os_fileinfo *fi)
{
    fi->size = (uint64_t)st->st_size;
    fi->ino = (uint64_t)st->st_ino;
    fi->dev = (uint64_t)st->st_dev;
    fi->uid = (uint32_t)st->st_uid;
    fi->mode = (uint32_t)st->st_mode;
}

int os_fstat(int fd, struct os_fileinfo *fi)
{
    struct stat st;
    int e = os_raw_err(os_raw(SYS_fstat, fd, (long)&st, 0, 0, 0, 0));
    if (!e)
        fill(&st, fi);
    return e;
}

int os_stat(const char *path, struct os_fileinfo *fi)
{
    struct stat st;
    int e = os_raw_err(os_raw(SYS_newfstatat, AT_FDCWD, (long)path, (long)&st, 0, 0, 0));
    if (!e)
        fill(&st, fi);
    return e;
}

unsigned os_getuid(void)
{
    return (unsigned)os_raw(SYS_getuid, 0, 0, 0, 0, 0, 0);
}

int os_map_fd_fixed(uintptr_t addr, size_t len, int prot, int shared, int fd, uint64_t off)
{
    VW_FAULT_POINT();
    long r = os_raw(SYS_mmap, (long)addr, (long)len, prot,
                 (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd, (long)off);
    os_access_changed();
    return r < 0 && r > -4096 ? (int)-r : 0;
}

int os_msync(uintptr_t addr, size_t len)
{
    return os_raw_err(os_raw(SYS_msync, (long)addr, (long)len, MS_SYNC, 0, 0, 0));
}

long os_pagemap(uintptr_t va, size_t page, uint64_t *out, size_t n)
{
    int fd = os_open_ro("/proc/self/pagemap");
    if (fd < 0)
        return -1;
    long r = os_pread(fd, out, n * sizeof *out, (long)(va / page * sizeof *out));
    os_close(fd);
    return r < 0 ? -1 : r / (long)sizeof *out;
}
