/*
 * osfile.h: the file and shared-memory syscalls of sections (core/vm_section.c):
 * memfd, files by path, advisory locks on names, and mappings of a descriptor.
 *
 * Raw syscalls only (no libc wrapper a program could interpose), errno left
 * alone.  Functions returning int give 0 or a positive errno; those returning
 * a descriptor give it (>= 0) or a negative errno.  Every descriptor is
 * O_CLOEXEC: a section is the process's, exec does not pass it on.
 */
#ifndef VW_OSFILE_H
#define VW_OSFILE_H

#include <stddef.h>
#include <stdint.h>

/* (memfd_create is os_memfd in os.h.) */
/* open(path, flags | O_CLOEXEC, mode). */
int os_open(const char *path, int flags, int mode);
/* A new open file description of what fd names (reopens /proc/self/fd/N). */
int os_reopen(int fd, int flags);
/* An unnamed file in directory dir (O_TMPFILE), mode as given. */
int os_tmpfile(const char *dir, int flags, int mode);
/* Gives the unnamed file fd the name path; EEXIST when the name is taken. */
int os_link_fd(int fd, const char *path);
int os_unlink(const char *path);
int os_ftruncate(int fd, uint64_t size);
/* flock(fd, op). */
int os_flock(int fd, int op);
/* What fstat says: size, inode, owner and mode.  0 or an errno. */
struct os_fileinfo {
    uint64_t size, ino, dev;
    uint32_t uid, mode;
};
int os_fstat(int fd, struct os_fileinfo *fi);
int os_stat(const char *path, struct os_fileinfo *fi);
unsigned os_getuid(void);
/* mmap(addr, len, prot, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd,
 * off) over memory the caller owns (a reservation it holds).  0 or errno. */
int os_map_fd_fixed(uintptr_t addr, size_t len, int prot, int shared, int fd, uint64_t off);
/* msync(addr, len, MS_SYNC). */
int os_msync(uintptr_t addr, size_t len);
/* pread of /proc/self/pagemap entries for `n` pages from page address va
 * into out (at most 64): the count read, or -1. */
long os_pagemap(uintptr_t va, size_t page, uint64_t *out, size_t n);

#endif
