/*
 * raw.h: the one raw system call of the OS layer (src/os only).
 *
 * os_raw makes the call with libc's syscall(2) (which the sanitizers know)
 * and returns the kernel's answer: a value >= 0, or -errno.  errno is left as
 * it was, so the library's own calls never disturb the program's errno.
 */
#ifndef VW_OS_RAW_H
#define VW_OS_RAW_H

#include <errno.h>
#include <unistd.h>

static inline long os_raw(long nr, long a, long b, long c, long d, long e, long f)
{
    int saved = errno;
    long r = syscall(nr, a, b, c, d, e, f);
    if (r == -1) {
        r = -(long)errno;
        errno = saved;
    }
    return r;
}

/* 0, or the errno of a failed os_raw. */
static inline int os_raw_err(long r)
{
    return r < 0 ? (int)-r : 0;
}

#endif
