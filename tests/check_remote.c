/*
 * check_remote.c: changing other processes' memory (spec 14), and
 * virtualwin-map.  tests/proc_child, which does not run libvirtualwin:
 * reserving, committing, protecting, decommitting and releasing in it by
 * injected system calls, checked in its /proc/PID/maps, the child running on
 * unharmed.  tests/proc_lib_child served (VIRTUALWIN_SERVE=1): every Ex
 * call made from here matches what its own VirtualQuery says, with its own
 * errors; malformed and unproven requests on its channel are refused and
 * change nothing.  Not served (and a fork of this process): the kernel's
 * view, changes refused.  virtualwin-map on both kinds of child, checked
 * against /proc/PID/maps and the served child's own map.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"
#include "proc_util.h"
#include "core/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG VW_PAGE

/* ---- changing the plain child's memory: system calls injected with ptrace ----------- */

/* 1 if /proc/PID/maps has a mapping [start, end) with these permissions. */
static int has_mapping(pid_t pid, uintptr_t start, uintptr_t end, const char *perms)
{
    struct maps_line l[512];
    int nl = read_maps(pid, l, 512);
    for (int i = 0; i < nl; i++)
        if (l[i].start == start && l[i].end == end && strcmp(l[i].perms, perms) == 0)
            return 1;
    return 0;
}

START_TEST(test_injected_plain)
{
    struct child c;
    spawn_plain(&c);
    size_t pg = PG;
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)c.pid);
    ck_assert_ptr_nonnull(h);

    /* Reserve, commit a page, write it, protect it, decommit, release. */
    char *a = VirtualAllocEx(h, NULL, 2 * pg, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_msg(a != NULL, "VirtualAllocEx into the plain child: error %u",
                  (unsigned)GetLastError());
    ck_assert_uint_eq((uintptr_t)a % VW_64K, 0);
    ck_assert(has_mapping(c.pid, (uintptr_t)a, (uintptr_t)a + 2 * pg, "---p"));
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQueryEx(h, a, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_ptr_eq(VirtualAllocEx(h, a + 10, 5, MEM_COMMIT, PAGE_READWRITE), a);
    ck_assert(has_mapping(c.pid, (uintptr_t)a, (uintptr_t)a + pg, "rw-p"));
    SIZE_T n;
    ck_assert(WriteProcessMemory(h, a, "injected", 8, &n));
    char back[8];
    ck_assert(ReadProcessMemory(h, a, back, 8, &n));
    ck_assert(memcmp(back, "injected", 8) == 0);
    DWORD old = 0;
    ck_assert(VirtualProtectEx(h, a, pg, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert(has_mapping(c.pid, (uintptr_t)a, (uintptr_t)a + pg, "r--p"));
    /* Not committed: refused, *old NOACCESS, nothing changed. */
    old = 0;
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualProtectEx(h, a, 2 * pg, PAGE_READWRITE, &old));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert(has_mapping(c.pid, (uintptr_t)a, (uintptr_t)a + pg, "r--p"));
    ck_assert(VirtualFreeEx(h, a, pg, MEM_DECOMMIT));
    ck_assert_uint_eq(VirtualQueryEx(h, a, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualFreeEx(h, a + pg, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);   /* not the base */
    ck_assert(VirtualFreeEx(h, a, 0, MEM_RELEASE));
    ck_assert_uint_eq(VirtualQueryEx(h, a, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_FREE);
    /* At a given address (known free: reserved and released first), and over
     * one already there. */
    a = VirtualAllocEx(h, NULL, 2 * VW_64K, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    ck_assert(VirtualFreeEx(h, a, 0, MEM_RELEASE));
    char *b = VirtualAllocEx(h, a + 3, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READ);
    ck_assert_ptr_eq(b, a);
    ck_assert(has_mapping(c.pid, (uintptr_t)a, (uintptr_t)a + VW_64K + pg, "r-xp") ||
              has_mapping(c.pid, (uintptr_t)a, (uintptr_t)a + VW_64K, "r-xp"));
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(VirtualAllocEx(h, a, pg, MEM_RESERVE, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    ck_assert(VirtualFreeEx(h, a, 0, MEM_RELEASE));
    /* What the kernel's view cannot express. */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(VirtualAllocEx(h, NULL, pg, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    ck_assert_uint_eq(GetLastError(), ERROR_NOT_SUPPORTED);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualFreeEx(h, (void *)c.info.code, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_NOT_SUPPORTED);

    /* The child ran on: the read it was blocked in restarted, its data and
     * code are intact (it exits with what its code computes). */
    unsigned char seen[48];
    send_cmd(&c, 'c');
    read_all(c.from, seen, sizeof seen);
    ck_assert_int_eq(seen[0], 0xB0);
    ck_assert_int_eq(seen[32], 0xA0);
    ck_assert(CloseHandle(h));
    finish(&c, 7);
}
END_TEST

/* ---- a child that runs libvirtualwin ------------------------------------------------ */

struct lib_report {
    uintptr_t base;           /* 1 MiB reserved, first 64 KiB committed */
};

/* The forked child: page 0 RW (pattern), 1 READONLY, 2 NOACCESS, 3 RW|GUARD. */
static void lib_child(int to_parent, int from_parent)
{
    size_t pg = PG;
    char *base = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE, PAGE_READWRITE);
    if (!base || !VirtualAlloc(base, VW_64K, MEM_COMMIT, PAGE_READWRITE))
        _exit(3);
    for (size_t i = 0; i < 4 * pg; i++)
        base[i] = (char)(0x40 + i % 64);
    DWORD old;
    if (!VirtualProtect(base + pg, pg, PAGE_READONLY, &old) ||
        !VirtualProtect(base + 2 * pg, pg, PAGE_NOACCESS, &old) ||
        !VirtualProtect(base + 3 * pg, pg, PAGE_READWRITE | PAGE_GUARD, &old))
        _exit(4);
    struct lib_report r = { (uintptr_t)base };
    if (write(to_parent, &r, sizeof r) != sizeof r)
        _exit(5);
    char cmd;
    while (read(from_parent, &cmd, 1) == 1 && cmd != 'q') {
        MEMORY_BASIC_INFORMATION m;
        VirtualQuery(base + 3 * pg, &m, sizeof m);
        char out[20];
        memcpy(out, base + pg, 16);
        memcpy(out + 16, &m.Protect, 4);
        if (write(to_parent, out, sizeof out) != sizeof out)
            _exit(6);
    }
    _exit(0);
}

/* A program that does not run the library but lives under a directory named
 * like it (a source tree unpacked as libvirtualwin-0.1.0, as make distcheck
 * does) is still a plain process: injection works on it. */
START_TEST(test_plain_in_library_named_dir)
{
    const char *dir = getenv("VW_BUILDDIR");
    char src[4096], tmp[] = "/tmp/libvirtualwin-dirXXXXXX", dst[96], sub[64];
    snprintf(src, sizeof src, "%s/tests/proc_child", dir ? dir : ".");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(sub, sizeof sub, "%s/tests", tmp);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(dst, sizeof dst, "%s/proc_child", sub);
    int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT, 0700);
    ck_assert(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
    char saved[4096];
    snprintf(saved, sizeof saved, "%s", dir ? dir : ".");
    setenv("VW_BUILDDIR", tmp, 1);
    struct child c;
    spawn_plain(&c);
    setenv("VW_BUILDDIR", saved, 1);
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)c.pid);
    ck_assert_ptr_nonnull(h);
    char *a = VirtualAllocEx(h, NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_msg(a != NULL, "VirtualAllocEx: error %u", (unsigned)GetLastError());
    ck_assert(VirtualFreeEx(h, a, 0, MEM_RELEASE));
    ck_assert(CloseHandle(h));
    finish(&c, 7);   /* proc_child exits with what its code computes */
    unlink(dst);
    rmdir(sub);
    rmdir(tmp);
}
END_TEST

START_TEST(test_lib_child)
{
    int up[2], down[2];
    ck_assert(pipe(up) == 0 && pipe(down) == 0);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        lib_child(up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    struct child c = { pid, down[1], up[0], { 0, 0, 0, 0 } };
    struct lib_report r;
    read_all(c.from, &r, sizeof r);
    char *base = (char *)r.base;
    size_t pg = PG;

    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)pid);
    ck_assert_ptr_nonnull(h);
    char buf[64];
    SIZE_T n;
    ck_assert(ReadProcessMemory(h, base + 5, buf, 16, &n));
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(buf[i], (char)(0x40 + (5 + i) % 64));
    /* Into READONLY: written through; NOACCESS and guard pages: refused. */
    ck_assert(WriteProcessMemory(h, base + pg, "lib-ro-write....", 16, &n));
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, base + 2 * pg, buf, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    ck_assert_uint_eq(n, 0);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, base + 3 * pg, buf, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!ReadProcessMemory(h, base + 3 * pg, buf, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    /* Partial: the READONLY page then the NOACCESS one. */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!ReadProcessMemory(h, base + 2 * pg - 16, buf, 32, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    ck_assert_uint_eq(n, 16);
    send_cmd(&c, 'c');
    char seen[20];
    read_all(c.from, seen, sizeof seen);
    ck_assert(memcmp(seen, "lib-ro-write....", 16) == 0);
    DWORD prot;
    memcpy(&prot, seen + 16, 4);
    ck_assert_uint_eq(prot, PAGE_READWRITE | PAGE_GUARD);   /* the guard is still armed */

    /* Its memory as the kernel shows it. */
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQueryEx(h, base, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    ck_assert_uint_eq(VirtualQueryEx(h, base + pg, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert_uint_eq(VirtualQueryEx(h, base + VW_64K, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_RESERVE);

    /* It runs libvirtualwin but does not serve: changing its memory behind
     * its map's back is refused, nothing changed. */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(VirtualAllocEx(h, base + VW_64K, pg, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_NOT_SUPPORTED);
    ck_assert_uint_eq(VirtualQueryEx(h, base + VW_64K, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_RESERVE);

    ck_assert(CloseHandle(h));
    finish(&c, 0);
}
END_TEST

/* ---- a child that serves: its own map, changed by it ----------------------------- */

/* What the child's own VirtualQuery says at a. */
static MEMORY_BASIC_INFORMATION child_query(struct child *c, const void *a)
{
    char cmd[1 + sizeof a];
    cmd[0] = 'v';
    memcpy(cmd + 1, &a, sizeof a);
    ck_assert_int_eq(write(c->to, cmd, sizeof cmd), (ssize_t)sizeof cmd);
    MEMORY_BASIC_INFORMATION m;
    read_all(c->from, &m, sizeof m);
    return m;
}

/* VirtualQueryEx from here and VirtualQuery inside agree at a. */
static void assert_same_view(HANDLE h, struct child *c, const void *a)
{
    MEMORY_BASIC_INFORMATION mine, theirs = child_query(c, a);
    ck_assert_uint_eq(VirtualQueryEx(h, a, &mine, sizeof mine), sizeof mine);
    ck_assert_msg(memcmp(&mine, &theirs, sizeof mine) == 0,
                  "at %p: here %p+%zx base %p state %x prot %x, inside %p+%zx base %p state %x "
                  "prot %x", a, mine.BaseAddress, (size_t)mine.RegionSize, mine.AllocationBase,
                  (unsigned)mine.State, (unsigned)mine.Protect, theirs.BaseAddress,
                  (size_t)theirs.RegionSize, theirs.AllocationBase, (unsigned)theirs.State,
                  (unsigned)theirs.Protect);
}

START_TEST(test_served_child)
{
    struct child c;
    spawn(&c, "proc_lib_child", 1);
    char *base = (char *)c.info.rw;
    size_t pg = PG;
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)c.pid);
    ck_assert_ptr_nonnull(h);

    /* Its Windows view: the reservation has one base (the kernel's view
     * could not say so), and every answer is the one it gives itself. */
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQueryEx(h, base + VW_64K, &m, sizeof m), sizeof m);
    ck_assert_ptr_eq(m.AllocationBase, base);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_READWRITE);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.RegionSize, (1 << 20) - VW_64K);
    assert_same_view(h, &c, base);
    assert_same_view(h, &c, base + VW_64K);
    assert_same_view(h, &c, base + (1 << 20));

    /* Commit, protect, decommit, allocate and release in it. */
    char *p = VirtualAllocEx(h, base + VW_64K + 5, pg - 5, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(p, base + VW_64K);
    m = child_query(&c, p);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.RegionSize, pg);
    SIZE_T n;
    ck_assert(WriteProcessMemory(h, p, "committed there", 15, &n));
    char back[15];
    ck_assert(ReadProcessMemory(h, p, back, 15, &n));
    ck_assert(memcmp(back, "committed there", 15) == 0);
    DWORD old = 0;
    ck_assert(VirtualProtectEx(h, base, pg, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_uint_eq(child_query(&c, base).Protect, PAGE_READONLY);
    assert_same_view(h, &c, base);
    ck_assert(VirtualFreeEx(h, p, pg, MEM_DECOMMIT));
    ck_assert_uint_eq(child_query(&c, p).State, MEM_RESERVE);
    char *q = VirtualAllocEx(h, NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    ck_assert_ptr_nonnull(q);
    m = child_query(&c, q);
    ck_assert_ptr_eq(m.AllocationBase, q);
    ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READWRITE);
    ck_assert(VirtualFreeEx(h, q, 0, MEM_RELEASE));
    ck_assert_uint_eq(child_query(&c, q).State, MEM_FREE);

    /* Its errors are the ones a call inside it gets; nothing changes. */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualFreeEx(h, base + pg, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualProtectEx(h, base + VW_64K, pg, PAGE_READWRITE, &old));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);   /* reserved, not committed */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualProtectEx(h, base, pg, 0x12345, &old));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(VirtualAllocEx(h, base, pg, MEM_RESERVE, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);   /* already reserved */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualProtectEx(h, base, pg, PAGE_READWRITE, (PDWORD)(uintptr_t)8));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    ck_assert_uint_eq(child_query(&c, base).Protect, PAGE_READONLY);
    assert_same_view(h, &c, base);
    assert_same_view(h, &c, base + VW_64K);

    /* The rights are still checked here first. */
    HANDLE ro = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, (DWORD)c.pid);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(VirtualAllocEx(ro, NULL, pg, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    assert_same_view(h, &c, base + VW_64K);
    ck_assert(CloseHandle(ro));
    ck_assert(CloseHandle(h));
    finish(&c, 0);
}
END_TEST

/* Talks to the child's service directly: what a hostile peer could send. */
static int channel(pid_t pid)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "virtualwin-%d", (int)pid);
    ck_assert_int_eq(connect(s, (struct sockaddr *)&a,
                             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)), 0);
    return s;
}

static void send_with_fd(int s, const void *buf, size_t n, int fd)
{
    struct iovec iov = { (void *)buf, n };
    char ctl[CMSG_SPACE(sizeof(int))];
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        memset(ctl, 0, sizeof ctl);
        msg.msg_control = ctl;
        msg.msg_controllen = sizeof ctl;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    }
    ck_assert_int_eq(sendmsg(s, &msg, 0), (ssize_t)n);
}

/* The status of the service's reply to one request. */
static int32_t ask(pid_t pid, const void *req, size_t n, int fd)
{
    int s = channel(pid);
    send_with_fd(s, req, n, fd);
    shutdown(s, SHUT_WR);
    struct remote_resp r;
    memset(&r, 0, sizeof r);
    ssize_t got = recv(s, &r, sizeof r, MSG_WAITALL);
    close(s);
    ck_assert_int_eq(got, (ssize_t)sizeof r);
    ck_assert_uint_eq(r.magic, REMOTE_MAGIC);
    return r.status;
}

START_TEST(test_malformed_requests)
{
    struct child c;
    spawn(&c, "proc_lib_child", 1);
    char *base = (char *)c.info.rw;
    MEMORY_BASIC_INFORMATION before = child_query(&c, base);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)c.pid);
    int theirs = open(path, O_RDWR);
    ck_assert_int_ge(theirs, 0);
    int mine = open("/proc/self/mem", O_RDWR);
    ck_assert_int_ge(mine, 0);
    int other = open("/dev/null", O_RDONLY);

    /* A request to release its committed allocation, in every broken form. */
    struct remote_req q;
    memset(&q, 0, sizeof q);
    q.magic = REMOTE_MAGIC;
    q.version = REMOTE_VERSION;
    q.op = REMOTE_FREE;
    q.addr = (uintptr_t)base;
    q.type = MEM_RELEASE;
    ck_assert_int_eq(ask(c.pid, "junk", 4, theirs), (int32_t)STATUS_INVALID_PARAMETER);
    struct remote_req bad = q;
    bad.magic ^= 1;
    ck_assert_int_eq(ask(c.pid, &bad, sizeof bad, theirs), (int32_t)STATUS_INVALID_PARAMETER);
    bad = q;
    bad.version = 99;
    ck_assert_int_eq(ask(c.pid, &bad, sizeof bad, theirs), (int32_t)STATUS_INVALID_PARAMETER);
    bad = q;
    bad.op = 77;
    ck_assert_int_eq(ask(c.pid, &bad, sizeof bad, theirs), (int32_t)STATUS_INVALID_PARAMETER);
    /* No proof, or proof of access to another process or file: refused. */
    ck_assert_int_eq(ask(c.pid, &q, sizeof q, -1), (int32_t)STATUS_ACCESS_DENIED);
    ck_assert_int_eq(ask(c.pid, &q, sizeof q, mine), (int32_t)STATUS_ACCESS_DENIED);
    ck_assert_int_eq(ask(c.pid, &q, sizeof q, other), (int32_t)STATUS_ACCESS_DENIED);
    /* Well-formed and proven, but wrong for its map: its own error. */
    bad = q;
    bad.addr = (uintptr_t)base + 4096;
    ck_assert_int_eq(ask(c.pid, &bad, sizeof bad, theirs), (int32_t)STATUS_FREE_VM_NOT_AT_BASE);
    bad = q;
    bad.addr = 0xFFFF800000000000ull;
    ck_assert_int_ne(ask(c.pid, &bad, sizeof bad, theirs), 0);
    bad = q;
    bad.op = REMOTE_PROTECT;
    bad.prot = 0x12345;
    bad.size = 4096;
    ck_assert_int_eq(ask(c.pid, &bad, sizeof bad, theirs), (int32_t)STATUS_INVALID_PAGE_PROTECTION);
    /* Nothing changed, and the child still serves and still runs. */
    MEMORY_BASIC_INFORMATION after = child_query(&c, base);
    ck_assert(memcmp(&before, &after, sizeof before) == 0);
    ck_assert_uint_eq(after.State, MEM_COMMIT);
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)c.pid);
    assert_same_view(h, &c, base);
    /* The proven request itself works. */
    ck_assert_int_eq(ask(c.pid, &q, sizeof q, theirs), 0);
    ck_assert_uint_eq(child_query(&c, base).State, MEM_FREE);
    ck_assert(CloseHandle(h));
    close(theirs);
    close(mine);
    close(other);
    finish(&c, 0);
}
END_TEST

START_TEST(test_unserved_lib_child)
{
    struct child c;
    spawn(&c, "proc_lib_child", 0);
    char *base = (char *)c.info.rw;
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)c.pid);
    ck_assert_ptr_nonnull(h);
    /* Not served: the kernel's view, and no changes. */
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQueryEx(h, base, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    SetLastError(VW_SENTINEL_ERR);
    DWORD old;
    ck_assert(!VirtualProtectEx(h, base, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(GetLastError(), ERROR_NOT_SUPPORTED);
    ck_assert_uint_eq(child_query(&c, base).Protect, PAGE_READWRITE);
    ck_assert(CloseHandle(h));
    finish(&c, 0);
}
END_TEST

/* ---- virtualwin-map ------------------------------------------------------------------ */

struct map_region {
    uintptr_t address, size, base;
    char type[16], state[16];
};

/* Runs tools/virtualwin-map with args; its regions (--json) and exit status. */
static int run_map(const char *args, struct map_region *r, int max, int *n, char *view,
                   int *escapes)
{
    const char *dir = getenv("VW_BUILDDIR");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s/tools/virtualwin-map %s 2>/dev/null", dir ? dir : ".", args);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    *n = 0;
    if (escapes)
        *escapes = 0;
    while (fgets(line, sizeof line, f)) {
        if (escapes && strchr(line, '\033'))
            (*escapes)++;
        char *v = strstr(line, "\"view\": \"");
        if (v && view)
            sscanf(v + 9, "%15[a-z]", view);
        unsigned long a, sz, b;
        if (*n < max && sscanf(line, "{\"address\": %lu, \"size\": %lu, \"type\": \"%15[a-z]\", "
                                      "\"state\": \"%15[a-z]\", \"protect\": %*u, "
                                      "\"allocation_base\": %lu", &a, &sz, r[*n].type,
                               r[*n].state, &b) == 5) {
            r[*n].address = a;
            r[*n].size = sz;
            r[*n].base = b;
            (*n)++;
        }
    }
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const struct map_region *region_at(const struct map_region *r, int n, uintptr_t a)
{
    for (int i = 0; i < n; i++)
        if (r[i].address <= a && a - r[i].address < r[i].size)
            return &r[i];
    return NULL;
}

START_TEST(test_map_tool)
{
    static struct map_region r[4096];
    int n;
    char view[16] = "";
    char args[64];

    /* The plain child: the kernel's view, every mapping a region of its own. */
    struct child c;
    spawn_plain(&c);
    snprintf(args, sizeof args, "--json %d", (int)c.pid);
    ck_assert_int_eq(run_map(args, r, 4096, &n, view, NULL), 0);
    ck_assert_str_eq(view, "kernel");
    ck_assert_int_gt(n, 5);
    uintptr_t next = 0;
    for (int i = 0; i < n; i++) {   /* contiguous from 0 */
        ck_assert_uint_eq(r[i].address, next);
        next = r[i].address + r[i].size;
    }
    struct maps_line l[512];
    int nl = read_maps(c.pid, l, 512);
    for (int i = 0; i < nl; i++) {
        if (l[i].start > VW_MAX_APP_ADDR)
            continue;
        const struct map_region *x = region_at(r, n, l[i].start);
        ck_assert_msg(x && x->address == l[i].start && strcmp(x->state, "free") != 0,
                      "mapping %lx %s not a region", (unsigned long)l[i].start, l[i].path);
        if (strcmp(l[i].path, "[heap]") == 0)
            ck_assert_str_eq(x->type, "heap");
        if (strcmp(l[i].path, "[stack]") == 0)
            ck_assert_str_eq(x->type, "stack");
    }
    const struct map_region *x = region_at(r, n, c.info.code);
    ck_assert_str_eq(x->type, "image");
    x = region_at(r, n, c.info.rw);
    ck_assert_str_eq(x->type, "private");
    ck_assert_str_eq(x->state, "commit");
    /* Plain text through a pipe: no colour. */
    int esc;
    snprintf(args, sizeof args, "%d", (int)c.pid);
    ck_assert_int_eq(run_map(args, r, 0, &n, NULL, &esc), 0);
    ck_assert_int_eq(esc, 0);
    snprintf(args, sizeof args, "--color=always %d", (int)c.pid);
    ck_assert_int_eq(run_map(args, r, 0, &n, NULL, &esc), 0);
    ck_assert_int_gt(esc, 0);
    finish(&c, 7);

    /* The served child: its own view (one allocation base for the reservation). */
    spawn(&c, "proc_lib_child", 1);
    snprintf(args, sizeof args, "--json %d", (int)c.pid);
    ck_assert_int_eq(run_map(args, r, 4096, &n, view, NULL), 0);
    ck_assert_str_eq(view, "windows");
    x = region_at(r, n, c.info.rw);
    ck_assert_uint_eq(x->address, c.info.rw);
    ck_assert_uint_eq(x->base, c.info.rw);
    ck_assert_str_eq(x->state, "commit");
    x = region_at(r, n, c.info.rw + VW_64K);
    ck_assert_uint_eq(x->base, c.info.rw);
    ck_assert_str_eq(x->state, "reserve");
    ck_assert_uint_eq(x->size, (1 << 20) - VW_64K);
    finish(&c, 0);

    /* Errors: no such process, usage. */
    ck_assert_int_eq(run_map("2147483600", r, 0, &n, NULL, NULL), 1);
    ck_assert_int_eq(run_map("--bogus 1", r, 0, &n, NULL, NULL), 2);
    ck_assert_int_eq(run_map("", r, 0, &n, NULL, NULL), 2);
}
END_TEST

static Suite *remote_suite(void)
{
    Suite *s = suite_create("remote");
    TCase *tc = tcase_create("plain child");
    tcase_add_test(tc, test_injected_plain);
    tcase_add_test(tc, test_plain_in_library_named_dir);
    suite_add_tcase(s, tc);
    tc = tcase_create("libvirtualwin child");
    tcase_add_test(tc, test_lib_child);
    suite_add_tcase(s, tc);
    tc = tcase_create("served child");
    tcase_add_test(tc, test_served_child);
    tcase_add_test(tc, test_malformed_requests);
    tcase_add_test(tc, test_unserved_lib_child);
    suite_add_tcase(s, tc);
    tc = tcase_create("virtualwin-map");
    tcase_add_test(tc, test_map_tool);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(remote_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
