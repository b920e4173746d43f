/*
 * sysfile.c: small kernel text files (see sysfile.h).  /proc/meminfo is a few
 * kilobytes; it is read whole into a stack buffer.
 */
#include "os/sysfile.h"
#include "os/os.h"

long sysfile_read(const char *path, char *buf, size_t len)
{
    int fd = os_open_ro(path);
    if (fd < 0)
        return -1;
    size_t got = 0;
    long n;
    while (got < len && (n = os_read(fd, buf + got, len - got)) > 0)
        got += (size_t)n;
    os_close(fd);
    return (long)got;
}

unsigned long long sysfile_meminfo(const char *key)
{
    char buf[8192];
    long n = sysfile_read("/proc/meminfo", buf, sizeof buf);
    for (long i = 0; i < n; ) {
        long j = 0;
        while (key[j] && i + j < n && buf[i + j] == key[j])
            j++;
        if (!key[j] && i + j < n && buf[i + j] == ':') {
            unsigned long long v = 0;
            long k = i + j + 1;
            while (k < n && buf[k] == ' ')
                k++;
            while (k < n && buf[k] >= '0' && buf[k] <= '9')
                v = v * 10 + (unsigned long long)(buf[k++] - '0');
            return v;
        }
        while (i < n && buf[i] != '\n')
            i++;
        i++;
    }
    return 0;
}
