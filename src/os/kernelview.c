/*
 * kernelview.c: /proc/self/maps, fast and slow (see kernelview.h).
 *
 * The ioctl path keeps one O_CLOEXEC descriptor open, duplicated to a high
 * number (F_DUPFD_CLOEXEC near min(RLIMIT_NOFILE, 1024)) so that it rarely
 * meets the program's own descriptors.  The library does not own the number,
 * though: the program may close it (daemons close every descriptor) and open
 * its own file there, or fork.  So a descriptor is used only after checking,
 * on every call, that it is still the file opened (fstat: same device and
 * inode as recorded at open, ~0.1 us against ~1 us for the ioctl) and that the
 * process is the one that opened it (os_proc_pid: one load).  A descriptor
 * that fails the check is forgotten, never closed: it is the program's now.
 * Only an inherited descriptor that still passes the identity check (a fork
 * child's copy of ours) is closed.
 *
 * Records are immutable while they belong to this process: a record is
 * filled, then published with its pid last; a record whose pid is not ours
 * (an ancestor's) may be recycled.  Readers check the pid before the fields,
 * so they never see a record being rewritten as valid.  No lock anywhere:
 * kv_find is called from signal handlers.
 *
 * Newer kernel UAPI is defined here, guarded, because distribution headers
 * (Debian 12) predate it; the ABI is stable.
 */
#include "os/kernelview.h"
#include "os/os.h"
#include "os/proc.h"
#include "os/process.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "os/procmap_query.h"

struct kv_rec {
    int pid;              /* owner process; 0 free, -1 being filled */
    int fd;
    uint64_t dev, ino;    /* what fd referred to when opened */
};

#define KV_RECS 8
static struct kv_rec recs[KV_RECS];
static struct kv_rec *current;   /* the published record, or NULL */
static int text_only;            /* 1: no PROCMAP_QUERY (or VIRTUALWIN_PROCMAPS=text) */

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

static int ioctl_find(int fd, uintptr_t addr, struct kv_vma *out);

/* 1 if r is this process's record and its descriptor still refers to the file it opened. */
static int rec_valid(const struct kv_rec *r, int pid)
{
    uint64_t dev, ino;
    return __atomic_load_n(&r->pid, __ATOMIC_ACQUIRE) == pid &&
           os_fd_identity(r->fd, &dev, &ino) == 0 && dev == r->dev && ino == r->ino;
}

/* Unpublishes r (if still current).  Closes its descriptor only if r belongs
 * to an ancestor and the descriptor is still the inherited file: ours. */
static void rec_drop(struct kv_rec *r, int pid)
{
    struct kv_rec *expected = r;
    if (!__atomic_compare_exchange_n(&current, &expected, NULL, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    int owner = __atomic_load_n(&r->pid, __ATOMIC_ACQUIRE);
    uint64_t dev, ino;
    int intact = os_fd_identity(r->fd, &dev, &ino) == 0 && dev == r->dev && ino == r->ino;
    if (owner > 0 && owner != pid && intact) {
        os_close(r->fd);
    } else if (owner == pid && intact) {
        /* Another thread recycled this (stale) record and published it, valid,
         * after our check: put it back rather than leak it. */
        expected = NULL;
        __atomic_compare_exchange_n(&current, &expected, r, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    }
}

/* Opens, checks the ioctl, records and publishes a descriptor; returns the
 * published record or NULL (use text for this call). */
static struct kv_rec *rec_open(int pid)
{
    int fd = os_open_ro("/proc/self/maps");
    if (fd < 0)
        return NULL;
    size_t lim = os_rlimit_nofile();
    if (lim > 1024)
        lim = 1024;
    if (lim >= 128) {
        int high = os_dup_high(fd, (int)lim - 24);
        if (high >= 0) {
            os_close(fd);
            fd = high;
        }
    }
    struct kv_vma v;
    int err = ioctl_find(fd, 0, &v);
    if (err == ENOTTY || err == EINVAL) {
        __atomic_store_n(&text_only, 1, __ATOMIC_RELEASE);
        os_close(fd);
        return NULL;
    }
    struct kv_rec *r = NULL;
    for (int i = 0; i < KV_RECS && !r; i++) {
        int owner = __atomic_load_n(&recs[i].pid, __ATOMIC_ACQUIRE);
        if (owner != pid && owner != -1 &&
            __atomic_compare_exchange_n(&recs[i].pid, &owner, -1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            r = &recs[i];
    }
    if (!r || os_fd_identity(fd, &r->dev, &r->ino) != 0) {
        if (r)
            __atomic_store_n(&r->pid, 0, __ATOMIC_RELEASE);
        os_close(fd);
        return NULL;
    }
    r->fd = fd;
    __atomic_store_n(&r->pid, pid, __ATOMIC_RELEASE);
    struct kv_rec *expected = NULL;
    if (!__atomic_compare_exchange_n(&current, &expected, r, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        /* Another thread published first: ours was never visible. */
        os_close(fd);
        __atomic_store_n(&r->pid, 0, __ATOMIC_RELEASE);
        return rec_valid(expected, pid) ? expected : NULL;
    }
    return r;
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

static int text_find(const char *path, uintptr_t addr, struct kv_vma *out)
{
    int fd = os_open_ro(path);
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
    if (!__atomic_load_n(&text_only, __ATOMIC_ACQUIRE)) {
        int pid = os_proc_pid();
        struct kv_rec *r = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
        if (r && !rec_valid(r, pid)) {
            rec_drop(r, pid);   /* closed, replaced, or inherited from the parent */
            r = NULL;
        }
        if (!r) {
            if (text_forced())
                __atomic_store_n(&text_only, 1, __ATOMIC_RELEASE);
            else
                r = rec_open(pid);
        }
        if (r) {
            int err = ioctl_find(r->fd, addr, out);
            if (err == 0 || err == ENOENT)
                return err;
            /* A transient failure on our own descriptor: text for this call. */
        }
    }
    return text_find("/proc/self/maps", addr, out);
}

int kv_open(int pid)
{
    int fd = os_proc_open(pid, "maps", O_RDONLY);
    return fd < 0 ? -1 : fd;
}

int kv_find_pid(int pid, int fd, uintptr_t addr, struct kv_vma *out)
{
    if (fd >= 0 && !__atomic_load_n(&text_only, __ATOMIC_ACQUIRE) && !text_forced()) {
        int err = ioctl_find(fd, addr, out);
        if (err == 0 || err == ENOENT)
            return err;
        if (err == ESRCH)
            return err;            /* the process has gone */
    }
    char path[64];
    os_proc_path(path, pid, "maps");
    return text_find(path, addr, out);
}

void kv_reset_after_fork(void)
{
    struct kv_rec *r = __atomic_load_n(&current, __ATOMIC_ACQUIRE);
    if (r)
        rec_drop(r, os_getpid());
}
