/*
 * process.c: raw syscalls on other processes (process.h has the contract).
 *
 * No libc wrapper that could be interposed or set errno is used: syscall(2)
 * with errno saved and restored, as in os_linux.c.  Paths are built without
 * stdio.  Descriptors are always close-on-exec.
 */
#include "os/raw.h"
#include "os/process.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/un.h>
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

int os_pidfd_open(int pid)
{
    if (pid <= 0)
        return -ESRCH;
    long fd = os_raw(SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
    if (fd < 0)
        return (int)fd;
    /* pidfd_open sets close-on-exec itself (pidfd(2)); no race to close. */
    return (int)fd;
}

int os_pidfd_alive(int pidfd)
{
    struct pollfd p = { .fd = pidfd, .events = POLLIN };
    long r = os_raw(SYS_ppoll, (long)&p, 1, (long)&(struct timespec){ 0, 0 }, 0, 0, 0);
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
    long r = os_raw(SYS_waitid, P_PIDFD, pidfd, (long)&si, WEXITED | WNOHANG | WNOWAIT, 0, 0);
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
    return (int)os_raw(SYS_openat, AT_FDCWD, (long)path, flags | O_CLOEXEC, 0, 0, 0);
}

long os_vm_read(int pid, uintptr_t remote, void *local, size_t len)
{
    struct iovec l = { local, len }, r = { (void *)remote, len };
    return os_raw(SYS_process_vm_readv, pid, (long)&l, 1, (long)&r, 1, 0);
}

long os_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
    return os_raw(SYS_pwrite64, fd, (long)buf, (long)len, (long)off, 0, 0);
}

long os_pread64(int fd, void *buf, size_t len, uint64_t off)
{
    return os_raw(SYS_pread64, fd, (long)buf, (long)len, (long)off, 0, 0);
}

size_t os_stack_limit(int pid)
{
    struct rlimit rl;
    if (os_raw(SYS_prlimit64, pid, RLIMIT_STACK, 0, (long)&rl, 0, 0) != 0 ||
        rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > SIZE_MAX)
        return 0;
    return (size_t)rl.rlim_cur;
}

/* ---- the request channel ---------------------------------------------------- */

static socklen_t unix_addr(struct sockaddr_un *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n > sizeof a->sun_path - 2)
        n = sizeof a->sun_path - 2;
    memcpy(a->sun_path + 1, name, n);   /* sun_path[0] = 0: abstract */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int os_unix_listen(const char *name)
{
    long s = os_raw(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0);
    if (s < 0)
        return (int)s;
    struct sockaddr_un a;
    socklen_t len = unix_addr(&a, name);
    long r = os_raw(SYS_bind, s, (long)&a, len, 0, 0, 0);
    if (r == 0)
        r = os_raw(SYS_listen, s, 16, 0, 0, 0, 0);
    if (r < 0) {
        os_raw(SYS_close, s, 0, 0, 0, 0, 0);
        return (int)r;
    }
    return (int)s;
}

int os_unix_accept(int lfd)
{
    return (int)os_raw(SYS_accept4, lfd, 0, 0, SOCK_CLOEXEC, 0, 0);
}

int os_unix_connect(const char *name)
{
    long s = os_raw(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0);
    if (s < 0)
        return (int)s;
    struct sockaddr_un a;
    socklen_t len = unix_addr(&a, name);
    long r = os_raw(SYS_connect, s, (long)&a, len, 0, 0, 0);
    if (r < 0) {
        os_raw(SYS_close, s, 0, 0, 0, 0, 0);
        return (int)r;
    }
    return (int)s;
}

long os_send_fd(int sock, const void *buf, size_t n, int fd)
{
    struct iovec iov = { (void *)buf, n };
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr m = { 0 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        m.msg_control = ctl.b;
        m.msg_controllen = sizeof ctl.b;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    return os_raw(SYS_sendmsg, sock, (long)&m, MSG_NOSIGNAL, 0, 0, 0);
}

long os_recv_fd(int sock, void *buf, size_t n, int *fd)
{
    struct iovec iov = { buf, n };
    union {
        char b[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr m = { 0 };
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.b;
    m.msg_controllen = sizeof ctl.b;
    *fd = -1;
    long r = os_raw(SYS_recvmsg, sock, (long)&m, MSG_CMSG_CLOEXEC | MSG_WAITALL, 0, 0, 0);
    if (r < 0)
        return r;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
            if (*fd < 0)
                *fd = got;
            else
                os_raw(SYS_close, got, 0, 0, 0, 0, 0);
        }
    }
    if (m.msg_flags & MSG_CTRUNC)
        r = -EBADMSG;     /* descriptors were dropped: not a request of ours */
    return r;
}

int os_peer_pid(int sock)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    long r = os_raw(SYS_getsockopt, sock, SOL_SOCKET, SO_PEERCRED, (long)&cr, (long)&len, 0);
    return r < 0 ? (int)r : (int)cr.pid;
}

void os_sock_timeout(int sock, int seconds)
{
    struct timeval tv = { seconds, 0 };
    os_raw(SYS_setsockopt, sock, SOL_SOCKET, SO_RCVTIMEO, (long)&tv, sizeof tv, 0);
    os_raw(SYS_setsockopt, sock, SOL_SOCKET, SO_SNDTIMEO, (long)&tv, sizeof tv, 0);
}

int os_random(void *buf, size_t n)
{
    long r = os_raw(SYS_getrandom, (long)buf, (long)n, 0, 0, 0, 0);
    return r == (long)n ? 0 : r < 0 ? (int)r : -EIO;
}

int os_is_procfs(int fd)
{
    struct statfs st;
    return os_raw(SYS_fstatfs, fd, (long)&st, 0, 0, 0, 0) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

int os_thread_start(void *(*fn)(void *), void *arg)
{
    pthread_attr_t at;
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* the new thread inherits the mask */
    int err = pthread_attr_init(&at);
    if (!err) {
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 64 * 1024);
        err = pthread_create(&t, &at, fn, arg);
        pthread_attr_destroy(&at);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

void os_pause_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    os_raw(SYS_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
}
