/*
 * check_limits.c: what the program may do to the process around the library.
 *
 * - Descriptors: the program closes the library's cached /proc/self/maps
 *   descriptor and puts its own file at that number: the library must keep
 *   answering correctly and never read from, ioctl or close the program's file
 *   (in this process and in a fork child); its descriptor sits at a high number.
 * - Children made without atfork handlers (_Fork, a raw clone(SIGCHLD)), and a
 *   _Fork taken while the map lock is held: the child's first calls repair the
 *   inherited state (lock, mlock records, maps descriptor) and every API works.
 * - RLIMIT_AS at 1, 2, 4 GiB and 4352 MiB (set in a child): VirtualAlloc works,
 *   reservations up to half the limit succeed, the program's own 256 MiB mmap
 *   still succeeds after the first allocation, GlobalMemoryStatusEx reports
 *   the limit.
 *
 * Linked with the fault-injection build (tests/libvirtualwin-fi.la) for
 * vw_fault_arm_call, which runs a function at a syscall inside an API call.
 * Children never call Check: they report through a pipe and _exit().
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"
#include "os/procmap_query.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KB64 ((size_t)65536)
#define MB ((size_t)1 << 20)
#define GB ((size_t)1 << 30)
#define CHILD_ALARM 20

void vw_fault_arm_call(long nth, void (*fn)(void));

static char cerr[1024];
#define CCHECK(cond, ...) VW_ECHECK(cerr, cond, __VA_ARGS__)

typedef int (*child_fn)(void *arg);

/* How a child is made. */
enum { MAKE_FORK, MAKE_UFORK, MAKE_CLONE };

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_UFORK 1
pid_t _Fork(void);
#endif

static pid_t make_child(int how)
{
    switch (how) {
#ifdef HAVE_UFORK
    case MAKE_UFORK:
        return _Fork();
#endif
    case MAKE_CLONE:
        /* No CLONE_VM, no handlers, and glibc does not know: like fork as far
         * as the kernel is concerned, the child runs on a copy of our stack. */
        return (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    default:
        return fork();
    }
}

/* Waits for a child that reports through fds[0]; fails the test unless it exits 0. */
static void wait_child(const char *what, pid_t pid, int fd)
{
    char msg[1024];
    int status;
    if (!vw_wait_child(pid, fd, CHILD_ALARM + 5, &status, msg, sizeof msg))
        ck_abort_msg("%s: child did not finish in %d s (deadlock?)", what, CHILD_ALARM + 5);
    if (WIFSIGNALED(status))
        ck_abort_msg("%s: child killed by signal %d%s %s", what, WTERMSIG(status),
                     WTERMSIG(status) == SIGALRM ? " (alarm: deadlock in the child)" : "", msg);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child failed: %s", what,
                  msg);
}

static void run_child(const char *what, int how, child_fn fn, void *arg)
{
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = make_child(how);
    ck_assert_msg(pid >= 0, "%s: making the child: %s", what, strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        alarm(CHILD_ALARM);
        cerr[0] = 0;
        vw_child_exit(fds[1], fn(arg), cerr, sizeof cerr);
    }
    close(fds[1]);
    wait_child(what, pid, fds[0]);
}

/* ---- descriptors -------------------------------------------------------------- */

/* 1 if this kernel has PROCMAP_QUERY (else the library keeps no descriptor). */
static int have_procmap_query(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    struct procmap_query q = { 0 };
    q.size = sizeof q;
    q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
    int r = ioctl(fd, PROCMAP_QUERY, &q);
    close(fd);
    return r == 0 || errno == ENOENT;
}

/* The descriptor the library keeps on /proc/self/maps (readlink gives
 * /proc/PID/maps), or -1. */
static int library_maps_fd(void)
{
    char want[64], link[128], path[64];
    snprintf(want, sizeof want, "/proc/%d/maps", (int)getpid());
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int found = -1, dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dfd)
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n > 0) {
            link[n] = 0;
            if (!strcmp(link, want))
                found = fd;
        }
    }
    closedir(d);
    return found;
}

/* 0 if VirtualQuery describes p, a page the program mapped itself with prot
 * (not the library's), as the kernel has it. */
static int query_foreign(void *p, DWORD want_protect)
{
    MEMORY_BASIC_INFORMATION mbi;
    CCHECK(VirtualQuery(p, &mbi, sizeof mbi) == sizeof mbi, "VirtualQuery(%p) failed: %lu", p,
           (unsigned long)GetLastError());
    CCHECK(mbi.State == MEM_COMMIT && mbi.Protect == want_protect,
           "VirtualQuery(%p): state %#lx protect %#lx, want MEM_COMMIT %#lx", p,
           (unsigned long)mbi.State, (unsigned long)mbi.Protect, (unsigned long)want_protect);
    CCHECK((char *)mbi.BaseAddress <= (char *)p &&
               (char *)mbi.BaseAddress + mbi.RegionSize > (char *)p,
           "VirtualQuery(%p): region [%p, +%zu) does not contain it", p, mbi.BaseAddress,
           (size_t)mbi.RegionSize);
    return 0;
}

static void *map_page(int prot)
{
    void *p = mmap(NULL, VW_PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    return p;
}

/* Opens the library's descriptor, closes it, and puts a file of the program's
 * own at that number, holding "abc"; returns the number. */
static int steal_library_fd(void)
{
    void *p = map_page(PROT_READ | PROT_WRITE);
    ck_assert_int_eq(query_foreign(p, PAGE_READWRITE), 0);
    int lib = library_maps_fd();
    ck_assert_msg(lib >= 0, "the library keeps no /proc/self/maps descriptor");
    ck_assert_int_eq(close(lib), 0);
    int mine = vw_scratch_file(1, 'x', 0);
    ck_assert_int_ge(mine, 0);
    if (mine != lib) {
        ck_assert_int_eq(dup2(mine, lib), lib);
        close(mine);
    }
    ck_assert_int_eq(ftruncate(lib, 0), 0);
    ck_assert_int_eq(lseek(lib, 0, SEEK_SET), 0);
    ck_assert_int_eq(write(lib, "abc", 3), 3);
    munmap(p, VW_PAGE);
    return lib;
}

/* 0 if fd is still the program's file, positioned after "abc" + extra bytes, and writable. */
static int program_file_intact(int fd, const char *extra)
{
    off_t want = 3 + (off_t)strlen(extra);
    CCHECK(fcntl(fd, F_GETFD) >= 0, "descriptor %d was closed under the program (%s)", fd,
           strerror(errno));
    CCHECK(lseek(fd, 0, SEEK_CUR) == want, "descriptor %d: position %lld, want %lld", fd,
           (long long)lseek(fd, 0, SEEK_CUR), (long long)want);
    CCHECK(write(fd, "!", 1) == 1, "write to descriptor %d: %s", fd, strerror(errno));
    char buf[16] = { 0 };
    CCHECK(pread(fd, buf, sizeof buf - 1, 0) == want + 1, "pread: %s", strerror(errno));
    CCHECK(!strncmp(buf, "abc", 3) && !strncmp(buf + 3, extra, strlen(extra)),
           "the program's file now holds \"%s\"", buf);
    return 0;
}

START_TEST(test_descriptor_reused_by_program)
{
    if (!have_procmap_query()) {
        printf("test_descriptor_reused_by_program: kernel without PROCMAP_QUERY: the library "
               "keeps no descriptor to steal\n");
        return;
    }
    int fd = steal_library_fd();
    /* Queries of the program's own mappings keep working, whatever is at fd. */
    void *rw = map_page(PROT_READ | PROT_WRITE), *ro = map_page(PROT_READ);
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(query_foreign(rw, PAGE_READWRITE) == 0, "%s", cerr);
        ck_assert_msg(query_foreign(ro, PAGE_READONLY) == 0, "%s", cerr);
    }
    ck_assert_msg(program_file_intact(fd, "") == 0, "%s", cerr);
    /* The library opened a descriptor of its own again. */
    int again = library_maps_fd();
    ck_assert_msg(again >= 0 && again != fd, "library descriptor %d (program's file at %d)", again,
                  fd);
    close(fd);
    munmap(rw, VW_PAGE);
    munmap(ro, VW_PAGE);
}
END_TEST

START_TEST(test_descriptor_high_number)
{
    if (!have_procmap_query()) {
        printf("test_descriptor_high_number: kernel without PROCMAP_QUERY: no descriptor\n");
        return;
    }
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 128) {
        printf("test_descriptor_high_number: RLIMIT_NOFILE %llu < 128: the library keeps the "
               "number open(2) gives\n", (unsigned long long)rl.rlim_cur);
        return;
    }
    void *p = map_page(PROT_READ);
    ck_assert_int_eq(query_foreign(p, PAGE_READONLY), 0);
    int lib = library_maps_fd();
    size_t lim = rl.rlim_cur < 1024 ? rl.rlim_cur : 1024;
    ck_assert_msg(lib >= (int)lim - 24, "library descriptor at %d, want >= %d", lib, (int)lim - 24);
    ck_assert_int_eq(fcntl(lib, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    munmap(p, VW_PAGE);
}
END_TEST

static int stolen_fd;

/* A fork child: the program's file at the library's old number survives the
 * fork handlers, and queries describe the child's own mappings. */
static int child_keeps_program_file(void *arg)
{
    CCHECK(program_file_intact(stolen_fd, "") == 0, "%s", cerr);
    void *p = mmap(NULL, VW_PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CCHECK(p != MAP_FAILED, "mmap");
    CCHECK(query_foreign(p, PAGE_EXECUTE_READ) == 0, "%s", cerr);
    CCHECK(program_file_intact(stolen_fd, "!") == 0, "%s", cerr);
    return 0;
}

START_TEST(test_descriptor_reused_then_fork)
{
    if (!have_procmap_query()) {
        printf("test_descriptor_reused_then_fork: kernel without PROCMAP_QUERY\n");
        return;
    }
    stolen_fd = steal_library_fd();
    run_child("fork", MAKE_FORK, child_keeps_program_file, NULL);
    close(stolen_fd);
}
END_TEST

/* ---- children made without atfork handlers ----------------------------------- */

static char *locked_page;   /* VirtualLock'ed in the parent */

static int child_repairs_state(void *arg)
{
    /* mlock is not inherited: the library must have forgotten its lock. */
    SetLastError(0);
    CCHECK(!VirtualUnlock(locked_page, VW_PAGE) && GetLastError() == ERROR_NOT_LOCKED,
           "VirtualUnlock of a page locked in the parent: %s, error %lu (want ERROR_NOT_LOCKED)",
           "succeeded or failed", (unsigned long)GetLastError());
    CCHECK(locked_page[0] == 'L', "inherited contents");
    /* The kernel view is the child's, not the parent's. */
    void *p = mmap(NULL, VW_PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CCHECK(p != MAP_FAILED, "mmap");
    CCHECK(query_foreign(p, PAGE_EXECUTE_READ) == 0, "%s", cerr);
    /* Allocate, query, protect, free. */
    char *q = VirtualAlloc(NULL, 4 * KB64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CCHECK(q, "VirtualAlloc: %lu", (unsigned long)GetLastError());
    q[1] = 5;
    MEMORY_BASIC_INFORMATION mbi;
    CCHECK(VirtualQuery(q, &mbi, sizeof mbi) == sizeof mbi && mbi.State == MEM_COMMIT &&
               mbi.AllocationBase == q && mbi.RegionSize == 4 * KB64,
           "VirtualQuery of a child allocation");
    DWORD old;
    CCHECK(VirtualProtect(q, VW_PAGE, PAGE_READONLY, &old) && old == PAGE_READWRITE,
           "VirtualProtect");
    CCHECK(VirtualLock(q + KB64, VW_PAGE), "VirtualLock in the child: %lu",
           (unsigned long)GetLastError());
    CCHECK(VirtualFree(q, 0, MEM_RELEASE), "VirtualFree: %lu", (unsigned long)GetLastError());
    CCHECK(VirtualQuery(q, &mbi, sizeof mbi) == sizeof mbi && mbi.State == MEM_FREE,
           "released memory is not MEM_FREE");
    CCHECK(VirtualFree(locked_page, 0, MEM_RELEASE), "VirtualFree of the inherited allocation");
    return 0;
}

static void setup_parent_state(void)
{
    locked_page = VirtualAlloc(NULL, KB64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(locked_page);
    locked_page[0] = 'L';
    ck_assert_msg(VirtualLock(locked_page, VW_PAGE), "VirtualLock: %lu",
                  (unsigned long)GetLastError());
    /* Open the library's maps descriptor, so that the child inherits it. */
    void *p = map_page(PROT_READ);
    ck_assert_int_eq(query_foreign(p, PAGE_READONLY), 0);
}

START_TEST(test_ufork_child)
{
#ifdef HAVE_UFORK
    setup_parent_state();
    run_child("_Fork", MAKE_UFORK, child_repairs_state, NULL);
#else
    printf("test_ufork_child: glibc older than 2.34 has no _Fork\n");
#endif
}
END_TEST

START_TEST(test_clone_child)
{
    setup_parent_state();
    run_child("clone(SIGCHLD)", MAKE_CLONE, child_repairs_state, NULL);
}
END_TEST

START_TEST(test_fork_child)
{
    setup_parent_state();
    run_child("fork", MAKE_FORK, child_repairs_state, NULL);
}
END_TEST

/* _Fork (or clone) from inside VirtualAlloc, at its first syscall, where the
 * map lock is held: the child must not wait for a lock no thread of it holds. */
static int fork_how, fork_report_fd;
static pid_t forked_pid;

static void fork_inside_call(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return;
    pid_t pid = make_child(fork_how);
    if (pid == 0) {
        close(fds[0]);
        alarm(CHILD_ALARM);
        vw_fault_arm_call(0, NULL);
        vw_child_exit(fds[1], child_repairs_state(NULL), cerr, sizeof cerr);
    }
    close(fds[1]);
    forked_pid = pid;
    fork_report_fd = fds[0];
}

static void fork_while_locked(int how, const char *what)
{
    setup_parent_state();
    fork_how = how;
    forked_pid = -1;
    vw_fault_arm_call(1, fork_inside_call);
    char *p = VirtualAlloc(NULL, KB64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    vw_fault_arm_call(0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(forked_pid > 0, "%s: the hook did not run inside VirtualAlloc", what);
    wait_child(what, forked_pid, fork_report_fd);
    ck_assert(VirtualFree(p, 0, MEM_RELEASE));
}

START_TEST(test_ufork_with_lock_held)
{
#ifdef HAVE_UFORK
    fork_while_locked(MAKE_UFORK, "_Fork inside VirtualAlloc");
#else
    printf("test_ufork_with_lock_held: glibc older than 2.34 has no _Fork\n");
#endif
}
END_TEST

START_TEST(test_clone_with_lock_held)
{
    fork_while_locked(MAKE_CLONE, "clone inside VirtualAlloc");
}
END_TEST

/* ---- RLIMIT_AS -------------------------------------------------------------- */

static size_t as_limit;

static int child_under_limit(void *arg)
{
    long long vm_kb = vw_status_kb("VmSize");
    CCHECK(vm_kb > 0 && (size_t)vm_kb * 1024 < as_limit / 4,
           "the test process already maps %lld KiB: too much for a %zu MiB limit", vm_kb,
           as_limit / MB);
    struct rlimit rl = { as_limit, as_limit };
    CCHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));

    /* The first small allocation, then the program's own 256 MiB mapping. */
    char *first = VirtualAlloc(NULL, KB64, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CCHECK(first, "VirtualAlloc(NULL, 64 KiB) under a %zu MiB limit: error %lu", as_limit / MB,
           (unsigned long)GetLastError());
    first[0] = 1;
    void *own = mmap(NULL, 256 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CCHECK(own != MAP_FAILED, "the program's own 256 MiB mmap after the first allocation: %s",
           strerror(errno));
    CCHECK(munmap(own, 256 * MB) == 0, "munmap");

    /* GlobalMemoryStatusEx: the limit, less what is mapped. */
    MEMORYSTATUSEX ms = { .dwLength = sizeof ms };
    CCHECK(GlobalMemoryStatusEx(&ms), "GlobalMemoryStatusEx");
    long long now_kb = vw_status_kb("VmSize");
    CCHECK(ms.ullTotalVirtual == as_limit, "ullTotalVirtual %llu, want the limit %zu",
           (unsigned long long)ms.ullTotalVirtual, as_limit);
    unsigned long long want = as_limit - (unsigned long long)now_kb * 1024;
    CCHECK(ms.ullAvailVirtual <= as_limit &&
               ms.ullAvailVirtual + 16 * MB >= want && ms.ullAvailVirtual <= want + 16 * MB,
           "ullAvailVirtual %llu, want about %llu (limit less VmSize)",
           (unsigned long long)ms.ullAvailVirtual, want);

    /* Reservations of 64 KiB and 16 MiB up to half the limit all succeed. */
    static void *blocks[70000];
    size_t n = 0, total = 0;
    while (total < as_limit / 2) {
        size_t sz = n % 2 ? 16 * MB : KB64;
        blocks[n] = VirtualAlloc(NULL, sz, MEM_RESERVE, PAGE_READWRITE);
        CCHECK(blocks[n], "reservation %zu of %zu bytes after %zu MiB under a %zu MiB limit: %lu",
               n, sz, total / MB, as_limit / MB, (unsigned long)GetLastError());
        total += sz;
        n++;
    }
    for (size_t i = 0; i < n; i++)
        CCHECK(VirtualFree(blocks[i], 0, MEM_RELEASE), "VirtualFree %zu", i);
    /* One reservation of a quarter of the limit (a mapping of its own). */
    void *big = VirtualAlloc(NULL, as_limit / 4, MEM_RESERVE, PAGE_READWRITE);
    CCHECK(big, "reservation of a quarter of the limit: %lu", (unsigned long)GetLastError());
    CCHECK(VirtualFree(big, 0, MEM_RELEASE), "VirtualFree");
    /* And the program's mapping once more. */
    own = mmap(NULL, 256 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CCHECK(own != MAP_FAILED, "the program's own 256 MiB mmap at the end: %s", strerror(errno));
    return 0;
}

static const size_t limits_mib[] = { 1024, 2048, 4096, 4352 };

START_TEST(test_rlimit_as)
{
    as_limit = limits_mib[_i] * MB;
    long long vm_kb = vw_status_kb("VmSize");
    if ((size_t)vm_kb * 1024 >= as_limit / 4) {
        /* Sanitizer runtimes reserve terabytes of shadow memory up front. */
        printf("test_rlimit_as: skipped: the test process already maps %lld MiB, too much for "
               "a %zu MiB limit (sanitizer build?)\n", vm_kb >> 10, limits_mib[_i]);
        return;
    }
    char what[64];
    snprintf(what, sizeof what, "RLIMIT_AS %zu MiB", limits_mib[_i]);
    run_child(what, MAKE_FORK, child_under_limit, NULL);
}
END_TEST

static Suite *limits_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *fd = tcase_create("descriptors");
    tcase_add_test(fd, test_descriptor_reused_by_program);
    tcase_add_test(fd, test_descriptor_high_number);
    tcase_add_test(fd, test_descriptor_reused_then_fork);
    suite_add_tcase(s, fd);
    TCase *fk = tcase_create("children");
    tcase_add_test(fk, test_fork_child);
    tcase_add_test(fk, test_ufork_child);
    tcase_add_test(fk, test_clone_child);
    tcase_add_test(fk, test_ufork_with_lock_held);
    tcase_add_test(fk, test_clone_with_lock_held);
    suite_add_tcase(s, fk);
    TCase *as = tcase_create("rlimit_as");
    tcase_add_loop_test(as, test_rlimit_as, 0, (int)(sizeof limits_mib / sizeof *limits_mib));
    tcase_set_timeout(as, 60);
    suite_add_tcase(s, as);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(limits_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
