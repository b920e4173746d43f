/*
 * process.c: raw syscalls on other processes (process.h has the contract).
 *
 * No libc wrapper that could be interposed or set errno is used: syscall(2)
 * with errno saved and restored, as in os_linux.c.  Paths are built without
 * stdio.  Descriptors are always close-on-exec.
 */
#include "os/process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static long raw(long nr, long a, long b, long c, long d, long e, long f)
{
    int saved = errno;
    long r = syscall(nr, a, b, c, d, e, f);
    if (r == -1) {
        r = -(long)errno;
        errno = saved;
    }
    return r;
}

int os_pidfd_open(int pid)
{
    if (pid <= 0)
        return -ESRCH;
    long fd = raw(SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
    if (fd < 0)
        return (int)fd;
    /* pidfd_open sets close-on-exec itself (pidfd(2)); no race to close. */
    return (int)fd;
}

int os_pidfd_alive(int pidfd)
{
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    long r = raw(SYS_ppoll, (long)&p, 1, (long)&(struct timespec){ 0, 0 }, 0, 0, 0);
    if (r < 0)
        return (int)r;
    if (p.revents & POLLNVAL)
        return -EBADF;
    return !(p.revents & (POLLIN | POLLHUP));
}

int os_pidfd_exit_code(int pidfd, int *code)
{
    siginfo_t si;
    si.si_pid = 0;
    long r = raw(SYS_waitid, P_PIDFD, pidfd, (long)&si, WEXITED | WNOHANG | WNOWAIT, 0, 0);
    if (r < 0)
        return (int)r;
    if (si.si_pid == 0)
        return -EAGAIN;
    *code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
    return 0;
}

void os_proc_path(char *buf, int pid, const char *leaf)
{
    static const char head[] = "/proc/";
    char digits[16];
    int n = 0;
    unsigned v = (unsigned)pid;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < (int)sizeof digits);
    size_t k = 0;
    for (size_t i = 0; head[i]; i++)
        buf[k++] = head[i];
    while (n)
        buf[k++] = digits[--n];
    buf[k++] = '/';
    for (size_t i = 0; leaf[i]; i++)
        buf[k++] = leaf[i];
    buf[k] = 0;
}

int os_proc_open(int pid, const char *leaf, int flags)
{
    char path[64];
    os_proc_path(path, pid, leaf);
    return (int)raw(SYS_openat, AT_FDCWD, (long)path, flags | O_CLOEXEC, 0, 0, 0);
}

long os_vm_read(int pid, uintptr_t remote, void *local, size_t len)
{
    struct iovec l = { local, len }, r = { (void *)remote, len };
    return raw(SYS_process_vm_readv, pid, (long)&l, 1, (long)&r, 1, 0);
}

long os_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
    return raw(SYS_pwrite64, fd, (long)buf, (long)len, (long)off, 0, 0);
}

long os_pread64(int fd, void *buf, size_t len, uint64_t off)
{
    return raw(SYS_pread64, fd, (long)buf, (long)len, (long)off, 0, 0);
}

size_t os_stack_limit(int pid)
{
    struct rlimit rl;
    if (raw(SYS_prlimit64, pid, RLIMIT_STACK, 0, (long)&rl, 0, 0) != 0 ||
        rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > SIZE_MAX)
        return 0;
    return (size_t)rl.rlim_cur;
}
