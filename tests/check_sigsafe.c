/*
 * check_sigsafe.c: reads that never wait for the map lock (issue 11 item 1,
 * README "Signal safety").
 *
 * Each test runs in a forked child with a watchdog thread: a deadlock ends
 * the child after WATCHDOG_S with a message, and the test fails instead of
 * hanging.  The
 * children loop until a SIGALRM handler, fired every 100 us by setitimer, has
 * run a fixed number of times, so the handler interrupts the main loop
 * everywhere, including inside the library's own calls.  No timing is asserted.
 * - program_mappings_in_handler: a program that never calls the API, whose
 *   handler does mmap + mprotect + munmap while main does the same (the
 *   interposers check "is this the library's?" without the lock);
 * - query_in_handler: VirtualQuery from the handler while main loops
 *   VirtualAlloc / VirtualProtect / VirtualFree; the handler's answers for an
 *   allocation main does not touch must be exact, and every other answer must
 *   be a well-formed one;
 * - query_in_handler_threads: the same with a second thread also changing the
 *   map, so readers race writers on another CPU as well.
 * Handlers use only the API, raw memory calls, atomics and fixed buffers.
 */
#include <check.h>
#include <virtualwin.h>
#include <virtualwin/nt.h>
#include "testutil.h"

#include <errno.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define HANDLER_RUNS 20000
#define WATCHDOG_S 20   /* inside the child: a deadlock ends it with exit 3 */
#define DEADLINE_S 40   /* the parent's limit, should the watchdog fail too */

static volatile long handler_runs;
static char herr[256];          /* first failure seen in a handler */
static volatile int herr_set;

static void hfail(const char *msg)
{
    if (__atomic_exchange_n(&herr_set, 1, __ATOMIC_ACQ_REL))
        return;
    size_t n = 0;
    while (msg[n] && n + 1 < sizeof herr) {
        herr[n] = msg[n];
        n++;
    }
    herr[n] = 0;
}

static void start_timer(void (*h)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 100 }, { 0, 100 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void stop_timer(void)
{
    struct itimerval it = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_IGN);
}

/* The child's watchdog thread (SIGALRM blocked: the timer is for main). */
static int watchdog_fd;

static void *watchdog(void *arg)
{
    (void)arg;
    sleep(WATCHDOG_S);
    static const char msg[] = "deadlock: the child did not finish (watchdog)";
    ssize_t unused = write(watchdog_fd, msg, sizeof msg - 1);
    (void)unused;
    _exit(3);
}

static void start_watchdog(int fd)
{
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &s, &old);
    watchdog_fd = fd;
    pthread_t th;
    pthread_create(&th, NULL, watchdog, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Runs body in a child; fails the test if it fails, dies or misses the deadline. */
static void run_child(int (*body)(char *err, size_t len))
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        start_watchdog(fds[1]);
        char err[512] = "";
        int r = body(err, sizeof err);
        vw_child_exit(fds[1], r, err, sizeof err);
    }
    close(fds[1]);
    char msg[1024] = "";
    int status = 0;
    int done = vw_wait_child(pid, fds[0], DEADLINE_S, &status, msg, sizeof msg);
    close(fds[0]);
    ck_assert_msg(done, "child did not finish in %d s (deadlock): %s", DEADLINE_S, msg);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child failed (status 0x%x): %s", status, msg);
}

/* ---- (a) the program's own mappings, in main and in the handler ------------------- */

static int map_cycle(void)
{
    char *p = mmap(NULL, VW_64K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    p[0] = 1;
    if (mprotect(p, VW_PAGE, PROT_READ) || p[0] != 1)
        return -1;
    return munmap(p, VW_64K);
}

static void map_handler(int sig)
{
    (void)sig;
    if (map_cycle())
        hfail("mmap/mprotect/munmap failed in the handler");
    __atomic_add_fetch(&handler_runs, 1, __ATOMIC_RELAXED);
}

static int program_mappings_body(char *err, size_t len)
{
    /* One allocation of the library's exists, so its map and arenas are live. */
    void *own = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    VW_ECHECK(err, own != NULL, "VirtualAlloc: error %lu", (unsigned long)GetLastError());
    start_timer(map_handler);
    long iters = 0;
    while (__atomic_load_n(&handler_runs, __ATOMIC_RELAXED) < HANDLER_RUNS) {
        VW_ECHECK(err, map_cycle() == 0, "mmap/mprotect/munmap failed in main (iteration %ld)",
                  iters);
        iters++;
    }
    stop_timer();
    VW_ECHECK(err, !herr_set, "%s", herr);
    VW_ECHECK(err, VirtualFree(own, 0, MEM_RELEASE), "VirtualFree: error %lu",
              (unsigned long)GetLastError());
    (void)len;
    return 0;
}

START_TEST(program_mappings_in_handler)
{
    /* Rule: a call on memory the library does not own never waits for its lock. */
    run_child(program_mappings_body);
}
END_TEST

/* ---- (b) VirtualQuery in the handler while main changes the map ------------------- */

static char *stable;                 /* 128 KiB: 64 KiB committed RW, 64 KiB reserved */
static char *volatile moving;        /* main's current allocation, or NULL */
static char *released;               /* an allocation released before the timer starts */

static int mbi_is(const MEMORY_BASIC_INFORMATION *m, const void *base, const void *abase,
                  SIZE_T size, DWORD state, DWORD prot)
{
    return m->BaseAddress == base && m->AllocationBase == abase && m->RegionSize == size &&
           m->State == state && m->Protect == prot &&
           m->AllocationProtect == PAGE_READWRITE && m->Type == MEM_PRIVATE;
}

static void query_handler(int sig)
{
    (void)sig;
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery(stable, &m, sizeof m) != sizeof m ||
        !mbi_is(&m, stable, stable, VW_64K, MEM_COMMIT, PAGE_READWRITE))
        hfail("VirtualQuery(stable) in the handler: wrong answer");
    if (VirtualQuery(stable + VW_64K + VW_PAGE, &m, sizeof m) != sizeof m ||
        !mbi_is(&m, stable + VW_64K + VW_PAGE, stable, VW_64K - VW_PAGE, MEM_RESERVE, 0))
        hfail("VirtualQuery(stable + 64 KiB + 1 page) in the handler: wrong answer");
    char *mv = moving;
    if (mv) {
        /* Changing under us: any well-formed answer. */
        if (VirtualQuery(mv + VW_PAGE, &m, sizeof m) != sizeof m ||
            m.BaseAddress != mv + VW_PAGE ||
            (m.State != MEM_FREE && m.State != MEM_RESERVE && m.State != MEM_COMMIT) ||
            (m.State != MEM_FREE && m.AllocationBase == NULL))
            hfail("VirtualQuery(main's allocation) in the handler: malformed answer");
    }
    if (VirtualQuery(released, &m, sizeof m) != sizeof m || m.BaseAddress != released)
        hfail("VirtualQuery(released space) in the handler failed");
    __atomic_add_fetch(&handler_runs, 1, __ATOMIC_RELAXED);
}

/* One turn of the writers' loop: reserve, commit, protect, decommit, release. */
static int api_cycle(char *err, size_t len, char *volatile *publish)
{
    (void)len;
    char *p = VirtualAlloc(NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    VW_ECHECK(err, p != NULL, "VirtualAlloc(MEM_RESERVE): error %lu",
              (unsigned long)GetLastError());
    if (publish)
        *publish = p;
    VW_ECHECK(err, VirtualAlloc(p, 2 * VW_PAGE, MEM_COMMIT, PAGE_READWRITE) == p,
              "VirtualAlloc(MEM_COMMIT): error %lu", (unsigned long)GetLastError());
    p[VW_PAGE] = 7;
    DWORD old = 0;
    VW_ECHECK(err, VirtualProtect(p, VW_PAGE, PAGE_READONLY, &old) && old == PAGE_READWRITE,
              "VirtualProtect: error %lu, old 0x%lx", (unsigned long)GetLastError(),
              (unsigned long)old);
    VW_ECHECK(err, VirtualFree(p + VW_PAGE, VW_PAGE, MEM_DECOMMIT),
              "VirtualFree(MEM_DECOMMIT): error %lu", (unsigned long)GetLastError());
    if (publish)
        *publish = NULL;
    VW_ECHECK(err, VirtualFree(p, 0, MEM_RELEASE), "VirtualFree(MEM_RELEASE): error %lu",
              (unsigned long)GetLastError());
    return 0;
}

static volatile int writer_stop;
static char writer_err[256];

static void *writer_thread(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &s, NULL);   /* the handler runs on main */
    while (!__atomic_load_n(&writer_stop, __ATOMIC_RELAXED))
        if (api_cycle(writer_err, sizeof writer_err, NULL))
            break;
    return NULL;
}

static int query_body(char *err, size_t len, int with_thread)
{
    stable = VirtualAlloc(NULL, 2 * VW_64K, MEM_RESERVE, PAGE_READWRITE);
    VW_ECHECK(err, stable != NULL, "VirtualAlloc: error %lu", (unsigned long)GetLastError());
    VW_ECHECK(err, VirtualAlloc(stable, VW_64K, MEM_COMMIT, PAGE_READWRITE) == stable,
              "commit: error %lu", (unsigned long)GetLastError());
    released = VirtualAlloc(NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    VW_ECHECK(err, released && VirtualFree(released, 0, MEM_RELEASE), "released: error %lu",
              (unsigned long)GetLastError());
    pthread_t th;
    if (with_thread)
        VW_ECHECK(err, pthread_create(&th, NULL, writer_thread, NULL) == 0, "pthread_create");
    start_timer(query_handler);
    int r = 0;
    while (r == 0 && __atomic_load_n(&handler_runs, __ATOMIC_RELAXED) < HANDLER_RUNS)
        r = api_cycle(err, len, &moving);
    stop_timer();
    if (with_thread) {
        __atomic_store_n(&writer_stop, 1, __ATOMIC_RELAXED);
        pthread_join(th, NULL);
        VW_ECHECK(err, writer_err[0] == 0, "writer thread: %s", writer_err);
    }
    if (r)
        return r;
    VW_ECHECK(err, !herr_set, "%s", herr);
    MEMORY_BASIC_INFORMATION m;
    VW_ECHECK(err, VirtualQuery(stable, &m, sizeof m) == sizeof m &&
                       mbi_is(&m, stable, stable, VW_64K, MEM_COMMIT, PAGE_READWRITE),
              "stable allocation changed");
    VW_ECHECK(err, VirtualFree(stable, 0, MEM_RELEASE), "VirtualFree: error %lu",
              (unsigned long)GetLastError());
    return 0;
}

static int query_same_thread_body(char *err, size_t len)
{
    return query_body(err, len, 0);
}

static int query_threads_body(char *err, size_t len)
{
    return query_body(err, len, 1);
}

START_TEST(query_in_handler)
{
    /* Rule: VirtualQuery is safe in a signal handler, whatever it interrupted. */
    run_child(query_same_thread_body);
}
END_TEST

START_TEST(query_in_handler_threads)
{
    run_child(query_threads_body);
}
END_TEST

/* ---- (c) every exported function under a storm of handlers that change memory ----- */

#define STORM_RUNS 1500

static char *shmem;            /* the handler's: 2 pages committed RW, the rest reserved */
static long storm_refused;     /* handler calls refused with the deadlock answers */

static void storm_handler(int sig)
{
    (void)sig;
    int saved = errno;
    DWORD saved_err = GetLastError();
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery(stable, &m, sizeof m) != sizeof m ||
        !mbi_is(&m, stable, stable, VW_64K, MEM_COMMIT, PAGE_READWRITE))
        hfail("storm: VirtualQuery(stable) wrong");
    if (map_cycle())
        hfail("storm: the program's own mmap/mprotect/munmap failed");
    /* Changes to the handler's own allocation: done, or refused cleanly. */
    if (VirtualAlloc(shmem + 2 * VW_PAGE, VW_PAGE, MEM_COMMIT, PAGE_READWRITE)) {
        shmem[2 * VW_PAGE] = 1;
        if (!VirtualFree(shmem + 2 * VW_PAGE, VW_PAGE, MEM_DECOMMIT))
            hfail("storm: decommit after a commit failed");
    } else if (GetLastError() != ERROR_POSSIBLE_DEADLOCK) {
        hfail("storm: commit failed with an unexpected error");
    } else {
        __atomic_add_fetch(&storm_refused, 1, __ATOMIC_RELAXED);
    }
    DWORD old;
    if (!VirtualProtect(shmem, VW_PAGE, PAGE_READWRITE, &old) &&
        GetLastError() != ERROR_POSSIBLE_DEADLOCK)
        hfail("storm: VirtualProtect failed with an unexpected error");
    if (mprotect(shmem, VW_PAGE, PROT_READ | PROT_WRITE) != 0 && errno != ENOMEM)
        hfail("storm: interposed mprotect failed with an unexpected errno");
    if (VirtualQuery(shmem, &m, sizeof m) != sizeof m || m.State != MEM_COMMIT ||
        m.Protect != PAGE_READWRITE || m.RegionSize != 2 * VW_PAGE)
        hfail("storm: VirtualQuery of the handler's allocation wrong");
    if (shmem[0] != 0x21)
        hfail("storm: the handler's allocation lost its contents");
    __atomic_add_fetch(&handler_runs, 1, __ATOMIC_RELAXED);
    SetLastError(saved_err);
    errno = saved;
}

/* err is a caller's buffer of ERRLEN bytes. */
#define ERRLEN 512
#define SCHECK(cond, ...)                                                                  \
    do {                                                                                   \
        if (!(cond))                                                                       \
            return vw_failf(err, ERRLEN, __LINE__, #cond, __VA_ARGS__);                    \
    } while (0)

/* One call of every exported function (and of the interposers on the
 * library's memory); each must do exactly what it does without signals. */
static int every_function(char *err, size_t len)
{
    (void)len;
    HANDLE me = GetCurrentProcess();
    SCHECK(me == (HANDLE)(intptr_t)-1, "GetCurrentProcess");
    char *p = VirtualAlloc(NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    SCHECK(p, "VirtualAlloc: %lu", (unsigned long)GetLastError());
    SCHECK(VirtualAllocEx(me, p, 6 * VW_PAGE, MEM_COMMIT, PAGE_READWRITE) == p, "VirtualAllocEx");
    memset(p, 0x11, 6 * VW_PAGE);
    DWORD old = 0;
    SCHECK(VirtualProtect(p, VW_PAGE, PAGE_READONLY, &old) && old == PAGE_READWRITE,
           "VirtualProtect");
    SCHECK(VirtualProtectEx(me, p, VW_PAGE, PAGE_READWRITE, &old) && old == PAGE_READONLY,
           "VirtualProtectEx");
    MEMORY_BASIC_INFORMATION m;
    SCHECK(VirtualQuery(p, &m, sizeof m) == sizeof m && m.State == MEM_COMMIT &&
               m.RegionSize == 6 * VW_PAGE, "VirtualQuery");
    SCHECK(VirtualQueryEx(me, p + 6 * VW_PAGE, &m, sizeof m) == sizeof m &&
               m.State == MEM_RESERVE, "VirtualQueryEx");
    SCHECK(VirtualLock(p, VW_PAGE) && VirtualUnlock(p, VW_PAGE), "VirtualLock/Unlock: %lu",
           (unsigned long)GetLastError());
    SCHECK(FlushInstructionCache(me, p, VW_PAGE), "FlushInstructionCache");
    SCHECK(DiscardVirtualMemory(p + VW_PAGE, VW_PAGE) == 0, "DiscardVirtualMemory");
    SCHECK(OfferVirtualMemory(p + 2 * VW_PAGE, VW_PAGE, VmOfferPriorityNormal) == 0,
           "OfferVirtualMemory");
    DWORD rc = ReclaimVirtualMemory(p + 2 * VW_PAGE, VW_PAGE);
    SCHECK(rc == 0 || rc == ERROR_BUSY, "ReclaimVirtualMemory: %lu", (unsigned long)rc);
    WIN32_MEMORY_RANGE_ENTRY e = { p, 2 * VW_PAGE };
    SCHECK(PrefetchVirtualMemory(me, 1, &e, 0), "PrefetchVirtualMemory");
    SCHECK(VirtualAlloc(p + 3 * VW_PAGE, VW_PAGE, MEM_RESET, PAGE_NOACCESS) == p + 3 * VW_PAGE,
           "MEM_RESET");
    SCHECK(VirtualFreeEx(me, p + 3 * VW_PAGE, VW_PAGE, MEM_DECOMMIT), "VirtualFreeEx");
    SCHECK(mprotect(p + 4 * VW_PAGE, VW_PAGE, PROT_READ) == 0, "mprotect: %d", errno);
    SCHECK(munmap(p + 5 * VW_PAGE, VW_PAGE) == 0, "munmap: %d", errno);
    SCHECK(VirtualQuery(p + 4 * VW_PAGE, &m, sizeof m) == sizeof m &&
               m.Protect == PAGE_READONLY && m.RegionSize == VW_PAGE, "after mprotect");
    SCHECK(p[0] == 0x11 && p[4 * VW_PAGE] == 0x11, "contents");
    SCHECK(VirtualFree(p, 0, MEM_RELEASE), "VirtualFree: %lu", (unsigned long)GetLastError());

    SYSTEM_INFO si;
    GetSystemInfo(&si);
    SCHECK(si.dwPageSize == VW_PAGE, "GetSystemInfo");
    GetNativeSystemInfo(&si);
    SCHECK(si.dwAllocationGranularity == VW_64K, "GetNativeSystemInfo");
    SetLastError(77);
    SCHECK(GetLastError() == 77, "SetLastError/GetLastError");
    SIZE_T mn = 0, mx = 0;
    DWORD fl = 0;
    SCHECK(GetProcessWorkingSetSize(me, &mn, &mx) && mn && mx, "GetProcessWorkingSetSize");
    SCHECK(SetProcessWorkingSetSize(me, mn, mx), "SetProcessWorkingSetSize");
    SCHECK(GetProcessWorkingSetSizeEx(me, &mn, &mx, &fl), "GetProcessWorkingSetSizeEx");
    SCHECK(SetProcessWorkingSetSizeEx(me, mn, mx, fl), "SetProcessWorkingSetSizeEx");
    (void)GetLargePageMinimum();
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    SCHECK(GlobalMemoryStatusEx(&ms) && ms.ullTotalPhys, "GlobalMemoryStatusEx");
    SCHECK(GetModuleHandleA(NULL) && GetModuleHandleW(NULL), "GetModuleHandle");
    HMODULE h = LoadLibraryA("kernel32.dll");
    SCHECK(h && GetProcAddress(h, "VirtualAlloc"), "LoadLibraryA/GetProcAddress");
    SCHECK(FreeLibrary(h), "FreeLibrary");
    h = LoadLibraryW(L"ntdll.dll");
    SCHECK(h && GetProcAddress(h, "NtAllocateVirtualMemory") && FreeLibrary(h), "LoadLibraryW");

    PVOID b = NULL;
    SIZE_T sz = 2 * VW_PAGE;
    SCHECK(NtAllocateVirtualMemory(me, &b, 0, &sz, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) ==
               STATUS_SUCCESS, "NtAllocateVirtualMemory");
    PVOID pb = b;
    SIZE_T psz = VW_PAGE;
    ULONG pold = 0;
    SCHECK(NtProtectVirtualMemory(me, &pb, &psz, PAGE_READONLY, &pold) == STATUS_SUCCESS &&
               pold == PAGE_READWRITE, "NtProtectVirtualMemory");
    SCHECK(NtQueryVirtualMemory(me, b, MemoryBasicInformation, &m, sizeof m, NULL) ==
               STATUS_SUCCESS && m.Protect == PAGE_READONLY, "NtQueryVirtualMemory");
    pb = b;
    psz = VW_PAGE;
    SCHECK(NtLockVirtualMemory(me, &pb, &psz, MAP_PROCESS) == STATUS_SUCCESS &&
               NtUnlockVirtualMemory(me, &pb, &psz, MAP_PROCESS) == STATUS_SUCCESS,
           "NtLock/UnlockVirtualMemory");
    SCHECK(NtFlushInstructionCache(me, b, VW_PAGE) == STATUS_SUCCESS, "NtFlushInstructionCache");
    sz = 0;
    SCHECK(NtFreeVirtualMemory(me, &b, &sz, MEM_RELEASE) == STATUS_SUCCESS, "NtFreeVirtualMemory");
    SCHECK(RtlNtStatusToDosError(STATUS_NO_MEMORY) == ERROR_NOT_ENOUGH_MEMORY,
           "RtlNtStatusToDosError");
    return 0;
}

static volatile int storm_stop;
static char storm_err[ERRLEN];

static void *storm_thread(void *arg)
{
    (void)arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    while (!__atomic_load_n(&storm_stop, __ATOMIC_RELAXED))
        if (every_function(storm_err, sizeof storm_err))
            break;
    return NULL;
}

static void storm(int with_thread)
{
    /* In the test's own process (Check forks one per test), with the watchdog:
     * a deadlock ends it with exit status 3; the map is then compared with the
     * kernel's view here. */
    start_watchdog(2);
    stable = vw_alloc_reserve(2 * VW_64K, PAGE_READWRITE);
    vw_commit_at(stable, VW_64K, PAGE_READWRITE);
    shmem = vw_alloc_reserve(VW_64K, PAGE_READWRITE);
    vw_commit_at(shmem, 2 * VW_PAGE, PAGE_READWRITE);
    memset(shmem, 0x21, 2 * VW_PAGE);
    pthread_t th;
    if (with_thread) {
        /* Created with SIGALRM blocked: the handler runs on main only. */
        sigset_t a, old;
        sigemptyset(&a);
        sigaddset(&a, SIGALRM);
        pthread_sigmask(SIG_BLOCK, &a, &old);
        ck_assert_int_eq(pthread_create(&th, NULL, storm_thread, NULL), 0);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    char err[ERRLEN] = "";
    int r = 0;
    start_timer(storm_handler);
    while (r == 0 && __atomic_load_n(&handler_runs, __ATOMIC_RELAXED) < STORM_RUNS)
        r = every_function(err, sizeof err);
    stop_timer();
    if (with_thread) {
        __atomic_store_n(&storm_stop, 1, __ATOMIC_RELAXED);
        pthread_join(th, NULL);
        ck_assert_msg(storm_err[0] == 0, "thread: %s", storm_err);
    }
    ck_assert_msg(r == 0, "main: %s", err);
    ck_assert_msg(!herr_set, "%s", herr);
    /* The map is true: every region agrees with the kernel, and the handler's
     * allocation is as it left it. */
    vw_assert_all_agree();
    VW_CHECK_MBI(shmem, shmem, shmem, PAGE_READWRITE, 2 * VW_PAGE, MEM_COMMIT, PAGE_READWRITE,
                 MEM_PRIVATE);
    vw_release(shmem);
    vw_release(stable);
}

START_TEST(storm_every_function)
{
    /* Rule: every exported function works while handlers that query and change
     * memory interrupt it anywhere; their own calls get defined results. */
    storm(_i);
}
END_TEST

static Suite *sigsafe_suite(void)
{
    Suite *s = suite_create("sigsafe");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 3 * DEADLINE_S);
    tcase_add_test(tc, program_mappings_in_handler);
    tcase_add_test(tc, query_in_handler);
    tcase_add_test(tc, query_in_handler_threads);
    tcase_add_loop_test(tc, storm_every_function, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sigsafe_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
