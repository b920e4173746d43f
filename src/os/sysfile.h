/*
 * sysfile.h: reading small kernel text files (/proc/meminfo, /sys/...) with
 * raw syscalls into caller buffers: no stdio, no malloc.  Syscalls: never call
 * with the map lock held on a hot path.
 */
#ifndef VW_SYSFILE_H
#define VW_SYSFILE_H

#include <stddef.h>

/* Reads up to len bytes of path; returns the count or -1. */
long sysfile_read(const char *path, char *buf, size_t len);
/* The number after "key:" in /proc/meminfo (kB for sizes, a count for
 * HugePages_*), or 0 if absent. */
unsigned long long sysfile_meminfo(const char *key);

#endif
