/*
 * kernelview.c: /proc/self/maps, fast and slow (see kernelview.h).
 *
 * The ioctl path keeps one O_CLOEXEC descriptor open; the program may close it
 * under us (daemons close every descriptor) or fork, so any failure other than
 * ENOENT reopens once before falling back to text parsing for that call.
 * Newer kernel UAPI is defined here, guarded, because distribution headers
 * (Debian 12) predate it; the ABI is stable.
 */
#include "os/kernelview.h"
#include "os/os.h"

#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "os/procmap_query.h"

/* -1: not opened yet; -2: ioctl unsupported (or disabled), use text. */
static int query_fd = -1;

extern char **environ;

static int text_forced(void)
{
    static const char key[] = "VIRTUALWIN_PROCMAPS=text";
    for (char **e = environ; e && *e; e++) {
        const char *s = *e;
        size_t i = 0;
        while (key[i] && s[i] == key[i])
            i++;
        if (!key[i] && !s[i])
            return 1;
    }
    return 0;
}

static int open_query_fd(void)
{
    int fd = os_open_ro("/proc/self/maps");
    if (fd < 0)
        return -1;
    int expected = -1;
    if (!__atomic_compare_exchange_n(&query_fd, &expected, fd, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        os_close(fd);
        return expected;
    }
    return fd;
}

static int ioctl_find(int fd, uintptr_t addr, struct kv_vma *out)
{
    struct procmap_query q = { 0 };
    q.size = sizeof q;
    q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
    q.query_addr = addr;
    int err = os_ioctl(fd, PROCMAP_QUERY, &q);
    if (err)
        return err;
    out->start = (uintptr_t)q.vma_start;
    out->end = (uintptr_t)q.vma_end;
    out->prot = (q.vma_flags & PROCMAP_QUERY_VMA_READABLE ? PROT_READ : 0) |
                (q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE ? PROT_WRITE : 0) |
                (q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE ? PROT_EXEC : 0);
    out->shared = !!(q.vma_flags & PROCMAP_QUERY_VMA_SHARED);
    out->file_backed = q.inode != 0;
    out->offset = q.vma_offset;
    out->inode = q.inode;
    out->dev = (uint64_t)q.dev_major << 32 | q.dev_minor;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses the start of one maps line: "start-end perms offset maj:min inode". */
static int parse_line(const char *s, size_t n, struct kv_vma *v)
{
    size_t i = 0;
    uintptr_t a = 0, b = 0;
    int d;
    while (i < n && (d = hexval(s[i])) >= 0)
        a = a * 16 + (uintptr_t)d, i++;
    if (i >= n || s[i++] != '-')
        return 0;
    while (i < n && (d = hexval(s[i])) >= 0)
        b = b * 16 + (uintptr_t)d, i++;
    if (i + 5 > n || s[i++] != ' ')
        return 0;
    v->start = a;
    v->end = b;
    v->prot = (s[i] == 'r' ? PROT_READ : 0) | (s[i + 1] == 'w' ? PROT_WRITE : 0) |
              (s[i + 2] == 'x' ? PROT_EXEC : 0);
    v->shared = s[i + 3] == 's';
    i += 4;
    /* offset, major:minor, inode (hexadecimal, hexadecimal:hexadecimal, decimal) */
    uint64_t num[4] = { 0, 0, 0, 0 };
    int f = 0;
    while (i < n && s[i] == ' ')
        i++;
    for (; i < n && f < 4; i++) {
        char c = s[i];
        if (c == ' ' || c == ':') {
            f++;
            while (c == ' ' && i + 1 < n && s[i + 1] == ' ')
                i++;
            continue;
        }
        d = hexval(c);
        if (d < 0)
            break;
        num[f] = f == 3 ? num[f] * 10 + (uint64_t)d : num[f] * 16 + (uint64_t)d;
    }
    v->offset = num[0];
    v->dev = num[1] << 32 | num[2];
    v->inode = num[3];
    v->file_backed = num[3] != 0;
    return 1;
}

static int text_find(uintptr_t addr, struct kv_vma *out)
{
    int fd = os_open_ro("/proc/self/maps");
    if (fd < 0)
        return EACCES;
    char buf[4096];
    char line[160];       /* the fields we need fit; the path is cut off */
    size_t ll = 0;
    int found = ENOENT;
    long got;
    while (found == ENOENT && (got = os_read(fd, buf, sizeof buf)) > 0) {
        for (long k = 0; k < got; k++) {
            char c = buf[k];
            if (c != '\n') {
                if (ll < sizeof line)
                    line[ll++] = c;
                continue;
            }
            struct kv_vma v;
            if (parse_line(line, ll, &v) && v.end > addr) {
                *out = v;
                found = 0;
                break;
            }
            ll = 0;
        }
    }
    os_close(fd);
    return found;
}

int kv_find(uintptr_t addr, struct kv_vma *out)
{
    int fd = __atomic_load_n(&query_fd, __ATOMIC_ACQUIRE);
    if (fd == -1) {
        if (text_forced()) {
            __atomic_store_n(&query_fd, -2, __ATOMIC_RELEASE);
            fd = -2;
        } else {
            fd = open_query_fd();
        }
    }
    if (fd >= 0) {
        int err = ioctl_find(fd, addr, out);
        if (err == 0 || err == ENOENT)
            return err;
        /* Closed, replaced or inherited descriptor: reopen once. */
        if (__atomic_compare_exchange_n(&query_fd, &fd, -1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            os_close(fd);
        fd = open_query_fd();
        if (fd >= 0) {
            err = ioctl_find(fd, addr, out);
            if (err == 0 || err == ENOENT)
                return err;
            if (err == ENOTTY || err == EINVAL) {
                /* The kernel has no PROCMAP_QUERY: text from now on. */
                if (__atomic_compare_exchange_n(&query_fd, &fd, -2, 0, __ATOMIC_ACQ_REL,
                                                __ATOMIC_ACQUIRE))
                    os_close(fd);
            }
        }
    }
    return text_find(addr, out);
}

void kv_reset_after_fork(void)
{
    int fd = query_fd;
    if (fd >= 0) {
        os_close(fd);
        query_fd = -1;
    }
}
