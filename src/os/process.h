/*
 * process.h: raw access to another process (or this one, by pid) for the
 * process family (core/process.c): pidfds, /proc/PID files, process_vm_readv.
 *
 * Every function returns a descriptor, a count, 0 or a negative errno, never
 * touches errno as the program sees it, and issues no libc memory call.  The
 * kernel decides every permission: /proc/PID/mem opens only for a caller the
 * kernel would let ptrace-attach the target (PTRACE_MODE_ATTACH_FSCREDS), and
 * process_vm_readv checks PTRACE_MODE_ATTACH_REALCREDS on each call.
 */
#ifndef VW_OS_PROCESS_H
#define VW_OS_PROCESS_H

#include <stddef.h>
#include <stdint.h>

/* pidfd_open(pid, 0) with FD_CLOEXEC: a descriptor or -errno (ESRCH: no such process). */
int os_pidfd_open(int pid);
/* 1 if the process behind a pidfd has not exited, 0 if it has, -errno. */
int os_pidfd_alive(int pidfd);
/* The exit status of an exited child (waitid P_PIDFD, WNOWAIT: it stays
 * waitable by the program): 0 and *code (the exit status, or 128 + the
 * signal that killed it), or -errno (ECHILD: not a child of this process,
 * EAGAIN: still running). */
int os_pidfd_exit_code(int pidfd, int *code);
/* open("/proc/PID/leaf", flags | O_CLOEXEC): a descriptor or -errno. */
int os_proc_open(int pid, const char *leaf, int flags);
/* "/proc/PID/leaf" into buf (at least 32 + strlen(leaf) bytes). */
void os_proc_path(char *buf, int pid, const char *leaf);
/* process_vm_readv of len bytes at remote in pid into local: bytes copied
 * (stops at the first page that cannot be read on either side) or -errno. */
long os_vm_read(int pid, uintptr_t remote, void *local, size_t len);
/* pwrite / pread on a descriptor at a 64-bit offset: bytes or -errno. */
long os_pwrite(int fd, const void *buf, size_t len, uint64_t off);
long os_pread64(int fd, void *buf, size_t len, uint64_t off);
/* The soft RLIMIT_STACK of pid (prlimit64): bytes, or 0 if unknown or unlimited. */
size_t os_stack_limit(int pid);


/* The request channel (core/remote.c): unix stream sockets in the abstract
 * namespace (name without its leading NUL), close-on-exec. */
int os_unix_listen(const char *name);
int os_unix_accept(int lfd);
int os_unix_connect(const char *name);
/* Sends n bytes with descriptor fd attached (-1: none): bytes or -errno. */
long os_send_fd(int sock, const void *buf, size_t n, int fd);
/* Receives up to n bytes and at most one descriptor (*fd, -1 if none; any
 * other descriptor sent along is closed): bytes or -errno. */
long os_recv_fd(int sock, void *buf, size_t n, int *fd);
/* The pid of the process at the other end (SO_PEERCRED), or -errno. */
int os_peer_pid(int sock);
/* Receive timeout on a socket, in seconds. */
void os_sock_timeout(int sock, int seconds);
/* n random bytes (getrandom): 0 or -errno. */
int os_random(void *buf, size_t n);
/* 1 if fd is a file of a procfs (fstatfs). */
int os_is_procfs(int fd);
/* Sleeps ms milliseconds (the service thread's backoff). */
void os_pause_ms(int ms);
/* Starts a detached thread running fn(arg) with every signal blocked: 0 or an errno. */
int os_thread_start(void *(*fn)(void *), void *arg);

#endif
