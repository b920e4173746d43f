/*
 * process.c: the process family (process.h has the contract and the routing).
 *
 * A process object is one page of its own (no malloc) holding the pid, three
 * descriptors and what typing its memory needs (struct foreign_src).  The
 * descriptors are the library's, duplicated close-on-exec; the program may
 * close any descriptor number (daemons close them all), so each is used only
 * after checking that it still refers to the file opened (device and inode
 * recorded at open, as kernelview.c does) and closed only if it still does.
 * Invariants: an object never changes after OpenProcess publishes it (fields
 * are read without a lock by every holder of a reference) except for the exit
 * status, stored once it is learned (the program may reap the child later, and
 * Windows keeps the code with the object); a descriptor that
 * fails the check makes the operation fail with STATUS_INVALID_HANDLE, never
 * touch another file.
 *
 * Permissions are the kernel's: OpenProcess succeeds only if /proc/PID/mem
 * opens for writing (PTRACE_MODE_ATTACH, the rule a debugger meets; Yama's
 * ptrace_scope applies), reads use process_vm_readv (the kernel checks again
 * on each call), writes go through that /proc/PID/mem descriptor.  The only
 * exception: a zombie child (exited, not yet waited for), whose exit status
 * its parent may read, as on Windows the creator of a process may.
 */
#include "core/process.h"
#include "core/vm.h"
#include "os/os.h"
#include "os/process.h"
#include "os/proc.h"
#include "os/kernelview.h"
#include "core/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

struct pfd {
    int fd;                   /* -1: none */
    uint64_t dev, ino;        /* what it referred to when opened */
};

struct vw_process {
    struct vw_object obj;
    int pid;
    struct pfd pidfd, mem, maps;
    struct foreign_src src;   /* src.maps_fd is maps.fd */
    int runs_lib;             /* libvirtualwin is mapped in it (at open) */
    int exit_code;            /* once exit_known (atomic): the status learned */
    int exit_known;
};

/* Takes ownership of fd (moved to a high number, identity recorded). */
static void pfd_set(struct pfd *p, int fd)
{
    p->fd = -1;
    if (fd < 0)
        return;
    size_t lim = os_rlimit_nofile();
    if (lim > 1024)
        lim = 1024;
    if (lim >= 128) {
        int high = os_dup_high(fd, (int)lim - 64);
        if (high >= 0) {
            os_close(fd);
            fd = high;
        }
    }
    if (os_fd_identity(fd, &p->dev, &p->ino)) {
        os_close(fd);
        return;
    }
    p->fd = fd;
}

/* 1 if p's descriptor is still the file it opened. */
static int pfd_ok(const struct pfd *p)
{
    uint64_t dev, ino;
    return p->fd >= 0 && os_fd_identity(p->fd, &dev, &ino) == 0 && dev == p->dev &&
           ino == p->ino;
}

static void pfd_close(struct pfd *p)
{
    if (pfd_ok(p))
        os_close(p->fd);
    p->fd = -1;
}

static void process_destroy(struct vw_object *o)
{
    struct vw_process *p = (struct vw_process *)o;
    pfd_close(&p->pidfd);
    pfd_close(&p->mem);
    pfd_close(&p->maps);
    os_unmap((uintptr_t)p, vw_page());
}

/* 1 if the line (no newline) maps a file whose last path component names the
 * library: "libvirtualwin" then ".so" (libvirtualwin.so.0.0.0, a build's
 * libvirtualwin-fi.so, ...).  A directory of that name (a source tree
 * unpacked as libvirtualwin-0.1.0) does not count. */
static int line_maps_library(const char *line, size_t n)
{
    size_t slash = n;
    for (size_t i = 0; i < n; i++)
        if (line[i] == '/')
            slash = i;
    if (slash == n)
        return 0;
    const char *name = line + slash + 1;
    size_t len = n - slash - 1;
    static const char key[] = "libvirtualwin";
    if (len < sizeof key - 1 || memcmp(name, key, sizeof key - 1) != 0)
        return 0;
    for (size_t i = sizeof key - 1; i + 3 <= len; i++)
        if (memcmp(name + i, ".so", 3) == 0)
            return 1;
    return 0;
}

/* 1 if the library (linked or preloaded, any version or build name) is mapped
 * in pid. */
static int maps_libvirtualwin(int pid)
{
    int fd = os_proc_open(pid, "maps", O_RDONLY);
    if (fd < 0)
        return 0;
    char buf[4096], line[1024];
    size_t ll = 0;   /* a line's first 1023 bytes; paths longer than that never match */
    int found = 0, over = 0;
    long got;
    while (!found && (got = os_read(fd, buf, sizeof buf)) > 0) {
        for (long i = 0; i < got && !found; i++) {
            if (buf[i] == '\n') {
                found = !over && line_maps_library(line, ll);
                ll = 0;
                over = 0;
            } else if (ll < sizeof line) {
                line[ll++] = buf[i];
            } else {
                over = 1;
            }
        }
    }
    os_close(fd);
    return found;
}

static NTSTATUS status_of_open(int err)
{
    switch (err) {
    case ESRCH: case ENOENT: case EINVAL: return STATUS_INVALID_CID;
    case EACCES: case EPERM: return STATUS_ACCESS_DENIED;
    case ENOSYS: return STATUS_NOT_SUPPORTED;
    default: return STATUS_INSUFFICIENT_RESOURCES;
    }
}

NTSTATUS process_open(ULONG pid, ACCESS_MASK access, HANDLE *h)
{
    if (pid == 0 || pid > 0x7fffffffu)
        return STATUS_INVALID_CID;
    int pidfd = os_pidfd_open((int)pid);
    if (pidfd < 0)
        return status_of_open(-pidfd);
    int self = (int)pid == os_proc_pid();
    int mem = os_proc_open((int)pid, "mem", O_RDWR);
    if (mem < 0 && !self) {
        int code;
        /* A zombie has no memory to check access to: only its parent opens it. */
        if (!(mem == -ESRCH && os_pidfd_exit_code(pidfd, &code) == 0)) {
            os_close(pidfd);
            return status_of_open(-mem);
        }
    }
    uintptr_t a = 0;
    if (os_map_anon(&a, vw_page(), PROT_READ | PROT_WRITE)) {
        if (mem >= 0)
            os_close(mem);
        os_close(pidfd);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    struct vw_process *p = (struct vw_process *)a;
    vw_object_init(&p->obj, VW_HT_PROCESS, process_destroy);
    p->pid = (int)pid;
    p->exit_known = 0;
    pfd_set(&p->pidfd, pidfd);
    pfd_set(&p->mem, mem);
    pfd_set(&p->maps, mem >= 0 ? kv_open((int)pid) : -1);
    p->runs_lib = mem >= 0 && maps_libvirtualwin((int)pid);
    if (mem >= 0)
        foreign_src_init(&p->src, (int)pid, p->maps.fd);
    else
        memset(&p->src, 0, sizeof p->src), p->src.pid = (int)pid, p->src.maps_fd = -1;
    /* Windows: PROCESS_QUERY_INFORMATION grants the limited right too. */
    if (access & PROCESS_QUERY_INFORMATION)
        access |= PROCESS_QUERY_LIMITED_INFORMATION;
    NTSTATUS st = p->pidfd.fd < 0 ? STATUS_INSUFFICIENT_RESOURCES
                                  : handle_insert(&p->obj, access, h);
    vw_object_put(&p->obj);   /* the handle holds it now, or it goes */
    return st;
}

/* The object h names with the rights `need`: STATUS_SUCCESS and *out (referenced). */
static NTSTATUS lookup(HANDLE h, ACCESS_MASK need, struct vw_process **out)
{
    struct vw_object *o;
    ACCESS_MASK granted;
    NTSTATUS st = handle_ref(h, VW_HT_PROCESS, &o, &granted);
    if (st)
        return st == STATUS_OBJECT_TYPE_MISMATCH ? STATUS_OBJECT_TYPE_MISMATCH
                                                 : STATUS_INVALID_HANDLE;
    if ((granted & need) != need) {
        vw_object_put(o);
        return STATUS_ACCESS_DENIED;
    }
    *out = (struct vw_process *)o;
    return STATUS_SUCCESS;
}

NTSTATUS process_check(HANDLE h, ACCESS_MASK need, struct vw_process **remote)
{
    struct vw_process *p;
    NTSTATUS st = lookup(h, need, &p);
    if (st)
        return st;
    if (p->pid == os_proc_pid()) {
        vw_object_put(&p->obj);     /* a handle to this process: the local core */
        if (remote)
            *remote = NULL;
        return STATUS_SUCCESS;
    }
    if (!remote) {
        vw_object_put(&p->obj);
        return STATUS_NOT_SUPPORTED;
    }
    *remote = p;
    return STATUS_SUCCESS;
}

void process_put(struct vw_process *p)
{
    if (p)
        vw_object_put(&p->obj);
}

NTSTATUS process_id(HANDLE h, ULONG *pid)
{
    if (h == VW_PSEUDO_PROCESS) {
        *pid = (ULONG)os_proc_pid();
        return STATUS_SUCCESS;
    }
    struct vw_process *p;
    NTSTATUS st = lookup(h, PROCESS_QUERY_LIMITED_INFORMATION, &p);
    if (st)
        return st;
    *pid = (ULONG)p->pid;
    vw_object_put(&p->obj);
    return STATUS_SUCCESS;
}

NTSTATUS process_exit_code(HANDLE h, ULONG *code)
{
    if (h == VW_PSEUDO_PROCESS) {
        *code = STILL_ACTIVE;
        return STATUS_SUCCESS;
    }
    struct vw_process *p;
    NTSTATUS st = lookup(h, PROCESS_QUERY_LIMITED_INFORMATION, &p);
    if (st)
        return st;
    int alive = pfd_ok(&p->pidfd) ? os_pidfd_alive(p->pidfd.fd) : -EBADF;
    int c = 0;
    if (alive < 0)
        st = STATUS_INVALID_HANDLE;
    else if (alive || p->pid == os_proc_pid())
        *code = STILL_ACTIVE;
    else if (__atomic_load_n(&p->exit_known, __ATOMIC_ACQUIRE))
        *code = (ULONG)p->exit_code;
    else if (os_pidfd_exit_code(p->pidfd.fd, &c) == 0) {
        p->exit_code = c;
        __atomic_store_n(&p->exit_known, 1, __ATOMIC_RELEASE);
        *code = (ULONG)c;
    } else
        st = STATUS_NOT_SUPPORTED;   /* not our child: Linux keeps no exit status for us */
    vw_object_put(&p->obj);
    return st;
}

/* 1 while p's process runs (so its pid still names it). */
static int still_alive(const struct vw_process *p)
{
    return !p || (pfd_ok(&p->pidfd) && os_pidfd_alive(p->pidfd.fd) == 1);
}

NTSTATUS process_read(struct vw_process *p, uintptr_t addr, void *buf, size_t n, size_t *done)
{
    *done = 0;
    if (!n)
        return STATUS_SUCCESS;
    /* process_vm_readv honours the target's protections (a NOACCESS or guard
     * page ends the copy) and stops at the first page it cannot copy. */
    long got = os_vm_read(p ? p->pid : os_proc_pid(), addr, buf, n);
    if (!still_alive(p))
        got = 0;          /* the pid may name another process by now */
    if (got > 0)
        *done = (size_t)got;
    return *done == n ? STATUS_SUCCESS : STATUS_PARTIAL_COPY;
}

/* p's maps descriptor if still ours, else -1 (the text view by path). */
static int maps_fd(const struct vw_process *p)
{
    return pfd_ok(&p->maps) ? p->maps.fd : -1;
}

static int find_vma(struct vw_process *p, uintptr_t addr, struct kv_vma *v)
{
    return p ? kv_find_pid(p->pid, maps_fd(p), addr, v) : kv_find(addr, v);
}

NTSTATUS process_write(struct vw_process *p, uintptr_t addr, const void *buf, size_t n,
                       size_t *done)
{
    *done = 0;
    if (!n)
        return STATUS_SUCCESS;
    int fd, own = 0;
    if (p) {
        if (!pfd_ok(&p->mem))
            return p->mem.fd < 0 ? STATUS_PARTIAL_COPY : STATUS_INVALID_HANDLE;
        fd = p->mem.fd;
    } else {
        fd = os_proc_open(os_proc_pid(), "mem", O_RDWR);
        if (fd < 0)
            return STATUS_ACCESS_DENIED;
        own = 1;
    }
    /* Mapping by mapping: /proc/PID/mem writes as ptrace pokes do (through
     * read-only and execute-only protections, flushing the instruction cache
     * for executable pages), but it would also write NOACCESS and guard pages
     * (PROT_NONE), which Windows refuses: those end the copy. */
    size_t off = 0;
    while (off < n) {
        uintptr_t at = addr + off;
        struct kv_vma v;
        if (at < addr || find_vma(p, at, &v) || v.start > at || v.prot == 0)
            break;
        size_t chunk = v.end - at < n - off ? v.end - at : n - off;
        long w = os_pwrite(fd, (const char *)buf + off, chunk, at);
        if (w <= 0)
            break;
        off += (size_t)w;
        if ((size_t)w < chunk)
            break;
    }
    if (own) {
        os_close(fd);
        vm_flush_icache(addr, off);
    }
    *done = off;
    return off == n ? STATUS_SUCCESS : STATUS_PARTIAL_COPY;
}

NTSTATUS process_query(struct vw_process *p, uintptr_t addr, MEMORY_BASIC_INFORMATION *m)
{
    if (!still_alive(p) || p->mem.fd < 0)
        return STATUS_PROCESS_IS_TERMINATING;
    memset(m, 0, sizeof *m);
    struct foreign_src src = p->src;
    src.maps_fd = maps_fd(p);
    int err = foreign_query(&src, addr, m);
    if (err == ESRCH || !still_alive(p))
        return STATUS_PROCESS_IS_TERMINATING;
    return err ? STATUS_ACCESS_DENIED : STATUS_SUCCESS;
}

NTSTATUS process_remote(struct vw_process *p, struct remote_req *q, struct remote_resp *r)
{
    if (!still_alive(p))
        return STATUS_PROCESS_IS_TERMINATING;
    if (!pfd_ok(&p->mem))
        return STATUS_NOT_SUPPORTED;
    q->magic = REMOTE_MAGIC;
    q->version = REMOTE_VERSION;
    NTSTATUS st = remote_call(p->pid, p->mem.fd, q, r);
    if (st == STATUS_UNSUCCESSFUL && !still_alive(p))
        st = STATUS_PROCESS_IS_TERMINATING;
    return st;
}

int process_pid(const struct vw_process *p)
{
    return p->pid;
}

int process_runs_library(const struct vw_process *p)
{
    return p->runs_lib;
}
