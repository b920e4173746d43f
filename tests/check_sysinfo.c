/*
 * check_sysinfo.c: system figures (spec section 1), last error (section 2), process
 * handles and the Ex variants (section 9), FlushInstructionCache, and the types,
 * layouts and constants of section 0.  Every test names the rule it checks.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG VW_PAGE
#define SENTINEL 0xDEADBEEFu
#define KEEP_ERR 1234u

/* The CPUs this process may run on, as a count and a 64-bit mask. */
static void affinity(unsigned *count, uint64_t *mask, int *above63)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    *count = (unsigned)CPU_COUNT(&set);
    *mask = 0;
    *above63 = 0;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set)) {
            if (i < 64)
                *mask |= (uint64_t)1 << i;
            else
                *above63 = 1;
        }
}

static SYSTEM_INFO get_info(int native)
{
    SYSTEM_INFO si;
    memset(&si, 0xAB, sizeof si);
    SetLastError(KEEP_ERR);
    if (native)
        GetNativeSystemInfo(&si);
    else
        GetSystemInfo(&si);
    /* Section 2: a call that succeeds leaves the last error alone. */
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    return si;
}

/* ---- section 1: system figures ----------------------------------------- */

/* Section 1: dwPageSize is the host page size. */
START_TEST(test_page_size)
{
    SYSTEM_INFO si = get_info(_i);
    ck_assert_uint_eq(si.dwPageSize, (DWORD)sysconf(_SC_PAGESIZE));
}
END_TEST

/* Section 1: dwAllocationGranularity is 65536 (or the page size if that is larger). */
START_TEST(test_allocation_granularity)
{
    SYSTEM_INFO si = get_info(_i);
    DWORD pg = (DWORD)sysconf(_SC_PAGESIZE);
    ck_assert_uint_eq(si.dwAllocationGranularity, pg > 65536 ? pg : 65536);
}
END_TEST

/* Section 1: lpMinimumApplicationAddress 0x10000; lpMaximumApplicationAddress
 * 0x7FFFFFFEFFFF on x86-64 (elsewhere: a 64 KiB boundary minus 1). */
START_TEST(test_application_address_range)
{
    SYSTEM_INFO si = get_info(_i);
    ck_assert_uint_eq((uintptr_t)si.lpMinimumApplicationAddress, 0x10000);
#if defined(__x86_64__)
    ck_assert_uint_eq((uintptr_t)si.lpMaximumApplicationAddress, 0x7FFFFFFEFFFFull);
#else
    ck_assert_uint_gt((uintptr_t)si.lpMaximumApplicationAddress, 0x10000);
    ck_assert_uint_eq(((uintptr_t)si.lpMaximumApplicationAddress + 1) % 0x10000, 0);
#endif
}
END_TEST

/* Section 1: dwNumberOfProcessors and dwActiveProcessorMask come from the CPUs this
 * process may run on (sched_getaffinity). */
START_TEST(test_processors)
{
    SYSTEM_INFO si = get_info(_i);
    unsigned n;
    uint64_t mask;
    int above;
    affinity(&n, &mask, &above);
    ck_assert_uint_eq(si.dwNumberOfProcessors, n);
    if (!above)
        ck_assert_msg((uint64_t)si.dwActiveProcessorMask == mask,
                      "dwActiveProcessorMask %#llx, affinity mask %#llx",
                      (unsigned long long)si.dwActiveProcessorMask, (unsigned long long)mask);
    ck_assert_uint_ne(si.dwActiveProcessorMask, 0);
}
END_TEST

/* Section 1: in a process started with a restricted affinity (one CPU), the figures
 * are that one CPU.  The child is this program re-executed with --sysinfo-child. */
static int child_main(void)
{
    SYSTEM_INFO si, ni;
    GetSystemInfo(&si);
    GetNativeSystemInfo(&ni);
    printf("%u %llu %u %llu\n", (unsigned)si.dwNumberOfProcessors,
           (unsigned long long)si.dwActiveProcessorMask, (unsigned)ni.dwNumberOfProcessors,
           (unsigned long long)ni.dwActiveProcessorMask);
    fflush(stdout);
    return 0;
}

START_TEST(test_processors_restricted_affinity)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    int cpu = -1;
    for (int i = 0; i < 64; i++)
        if (CPU_ISSET(i, &set))
            cpu = i; /* the highest allowed CPU below 64 */
    ck_assert_int_ge(cpu, 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);

    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", "check_sysinfo", "--sysinfo-child", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[256];
    ssize_t len = 0, r;
    while (len < (ssize_t)sizeof buf - 1 && (r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += r;
    buf[len] = 0;
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    unsigned n1, n2;
    unsigned long long m1, m2;
    ck_assert_msg(sscanf(buf, "%u %llu %u %llu", &n1, &m1, &n2, &m2) == 4, "child said '%s'",
                  buf);
    ck_assert_uint_eq(n1, 1);
    ck_assert_uint_eq(n2, 1);
    ck_assert_msg(m1 == 1ull << cpu && m2 == 1ull << cpu,
                  "affinity {%d}: masks %#llx / %#llx", cpu, m1, m2);
}
END_TEST

/* Section 1: wProcessorArchitecture is PROCESSOR_ARCHITECTURE_AMD64 (9) on x86-64,
 * _ARM64 (12) on aarch64. */
START_TEST(test_architecture)
{
    SYSTEM_INFO si = get_info(_i);
#if defined(__x86_64__)
    ck_assert_uint_eq(si.wProcessorArchitecture, 9);
#elif defined(__aarch64__)
    ck_assert_uint_eq(si.wProcessorArchitecture, 12);
#endif
    ck_assert_uint_eq(si.dwOemId & 0xFFFF, si.wProcessorArchitecture);
}
END_TEST

/* Section 1: GetNativeSystemInfo reports the same figures as GetSystemInfo (a 64-bit
 * process on a 64-bit host). */
START_TEST(test_native_matches)
{
    SYSTEM_INFO a = get_info(0), b = get_info(1);
    ck_assert_uint_eq(a.wProcessorArchitecture, b.wProcessorArchitecture);
    ck_assert_uint_eq(a.dwPageSize, b.dwPageSize);
    ck_assert_ptr_eq(a.lpMinimumApplicationAddress, b.lpMinimumApplicationAddress);
    ck_assert_ptr_eq(a.lpMaximumApplicationAddress, b.lpMaximumApplicationAddress);
    ck_assert_uint_eq(a.dwActiveProcessorMask, b.dwActiveProcessorMask);
    ck_assert_uint_eq(a.dwNumberOfProcessors, b.dwNumberOfProcessors);
    ck_assert_uint_eq(a.dwProcessorType, b.dwProcessorType);
    ck_assert_uint_eq(a.dwAllocationGranularity, b.dwAllocationGranularity);
    ck_assert_uint_eq(a.wProcessorLevel, b.wProcessorLevel);
    ck_assert_uint_eq(a.wProcessorRevision, b.wProcessorRevision);
}
END_TEST

/* ---- section 2: last error ---------------------------------------------- */

/* Section 2: SetLastError / GetLastError round-trip any 32-bit value. */
START_TEST(test_last_error_roundtrip)
{
    static const DWORD vals[] = { 0, 1, 87, 1234, 0x80000001u, 0xC0000005u, 0xFFFFFFFFu };
    for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
        SetLastError(vals[k]);
        ck_assert_uint_eq(GetLastError(), vals[k]);
        ck_assert_uint_eq(GetLastError(), vals[k]);
    }
}
END_TEST

/* Section 2: the last error is thread-local: two threads and the main thread each keep
 * their own value, and one thread's failing call changes only its own. */
struct le_thread {
    pthread_barrier_t *bar;
    DWORD mine;
    int fail;
    DWORD seen_after_set, seen_after_fail;
};

static void *le_worker(void *arg)
{
    struct le_thread *t = arg;
    SetLastError(t->mine);
    pthread_barrier_wait(t->bar); /* 1: everyone has set its value */
    pthread_barrier_wait(t->bar); /* 2 */
    t->seen_after_set = GetLastError();
    if (t->fail) {
        SetLastError(t->mine);
        (void)VirtualFree(NULL, 0, MEM_RELEASE); /* fails: ERROR_INVALID_PARAMETER */
    }
    pthread_barrier_wait(t->bar); /* 3: the failing call is done */
    t->seen_after_fail = GetLastError();
    return NULL;
}

START_TEST(test_last_error_thread_local)
{
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    struct le_thread a = { &bar, 1111, 1, 0, 0 }, b = { &bar, 2222, 0, 0, 0 };
    pthread_t ta, tb;
    ck_assert_int_eq(pthread_create(&ta, NULL, le_worker, &a), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, le_worker, &b), 0);
    pthread_barrier_wait(&bar);
    SetLastError(3333);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar);
    DWORD main_seen = GetLastError();
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&bar);
    ck_assert_uint_eq(a.seen_after_set, 1111);
    ck_assert_uint_eq(b.seen_after_set, 2222);
    ck_assert_uint_eq(a.seen_after_fail, ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(b.seen_after_fail, 2222);
    ck_assert_uint_eq(main_seen, 3333);
}
END_TEST

/* Section 2: a call that succeeds leaves a caller's SetLastError(1234) intact, for
 * every API (one loop iteration per API). */
static const char *const success_names[] = {
    "VirtualAlloc(reserve)", "VirtualAlloc(reserve|commit)", "VirtualAlloc(commit)",
    "VirtualAlloc(MEM_RESET)", "VirtualAlloc(top-down)", "VirtualAllocEx",
    "VirtualFree(decommit)", "VirtualFree(release)", "VirtualFreeEx",
    "VirtualProtect", "VirtualProtectEx", "VirtualQuery", "VirtualQueryEx",
    "VirtualLock", "VirtualUnlock", "GetSystemInfo", "GetNativeSystemInfo",
    "GetCurrentProcess", "FlushInstructionCache", "GetLastError",
};
#define N_SUCCESS ((int)(sizeof success_names / sizeof success_names[0]))

START_TEST(test_success_keeps_last_error)
{
    char *r = VirtualAlloc(NULL, 4 * PG, MEM_RESERVE, PAGE_READWRITE);
    char *c = vw_alloc_commit(4 * PG, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    MEMORY_BASIC_INFORMATION m;
    SYSTEM_INFO si;
    DWORD old;
    int ok = 0;
    if (_i == 13 || _i == 14) {
        struct rlimit rl;
        ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4 * PG && geteuid() != 0)
            return; /* no lock quota on this host */
        if (_i == 14)
            ck_assert(VirtualLock(c, PG));
    }
    SetLastError(KEEP_ERR);
    switch (_i) {
    case 0: ok = VirtualAlloc(NULL, PG, MEM_RESERVE, PAGE_READWRITE) != NULL; break;
    case 1: ok = VirtualAlloc(NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) != NULL; break;
    case 2: ok = VirtualAlloc(r, PG, MEM_COMMIT, PAGE_READWRITE) == r; break;
    case 3: ok = VirtualAlloc(c, PG, MEM_RESET, PAGE_NOACCESS) == c; break;
    case 4:
        ok = VirtualAlloc(NULL, PG, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE) !=
             NULL;
        break;
    case 5:
        ok = VirtualAllocEx(GetCurrentProcess(), NULL, PG, MEM_RESERVE | MEM_COMMIT,
                            PAGE_READWRITE) != NULL;
        break;
    case 6: ok = VirtualFree(c, PG, MEM_DECOMMIT); break;
    case 7: ok = VirtualFree(c, 0, MEM_RELEASE); break;
    case 8: ok = VirtualFreeEx(GetCurrentProcess(), c, 0, MEM_RELEASE); break;
    case 9: ok = VirtualProtect(c, PG, PAGE_READONLY, &old); break;
    case 10: ok = VirtualProtectEx(GetCurrentProcess(), c, PG, PAGE_READONLY, &old); break;
    case 11: ok = VirtualQuery(c, &m, sizeof m) == sizeof m; break;
    case 12: ok = VirtualQueryEx(GetCurrentProcess(), c, &m, sizeof m) == sizeof m; break;
    case 13: ok = VirtualLock(c, PG); break;
    case 14: ok = VirtualUnlock(c, PG); break;
    case 15: GetSystemInfo(&si); ok = 1; break;
    case 16: GetNativeSystemInfo(&si); ok = 1; break;
    case 17: ok = GetCurrentProcess() == (HANDLE)(intptr_t)-1; break;
    case 18: ok = FlushInstructionCache(GetCurrentProcess(), c, PG); break;
    case 19: ok = GetLastError() == KEEP_ERR; break;
    }
    DWORD e = GetLastError();
    ck_assert_msg(ok, "%s did not succeed (error %u)", success_names[_i], (unsigned)e);
    ck_assert_msg(e == KEEP_ERR, "%s succeeded but changed the last error from 1234 to %u",
                  success_names[_i], (unsigned)e);
}
END_TEST

/* Section 2: every call that fails sets the last error (each loop iteration one API,
 * with the error the spec gives). */
static const char *const failure_names[] = {
    "VirtualAlloc(size 0)", "VirtualAllocEx(size 0)", "VirtualFree(NULL)",
    "VirtualFree(twice)", "VirtualProtect(old NULL)", "VirtualProtect(protection 0)",
    "VirtualQuery(length 4)", "VirtualQuery(above maximum)", "VirtualLock(free)",
    "VirtualUnlock(not locked)", "VirtualAllocEx(NULL handle)", "VirtualFreeEx(NULL handle)",
    "VirtualProtectEx(NULL handle)", "VirtualQueryEx(NULL handle)",
};
static const DWORD failure_errors[] = {
    ERROR_INVALID_PARAMETER, ERROR_INVALID_PARAMETER, ERROR_INVALID_PARAMETER,
    ERROR_INVALID_ADDRESS, ERROR_NOACCESS, ERROR_INVALID_PARAMETER, ERROR_BAD_LENGTH,
    ERROR_INVALID_PARAMETER, ERROR_INVALID_ADDRESS, ERROR_NOT_LOCKED, ERROR_INVALID_HANDLE,
    ERROR_INVALID_HANDLE, ERROR_INVALID_HANDLE, ERROR_INVALID_HANDLE,
};
#define N_FAILURE ((int)(sizeof failure_names / sizeof failure_names[0]))

START_TEST(test_failure_sets_last_error)
{
    char *c = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    char *f = vw_free_space(VW_64K);
    MEMORY_BASIC_INFORMATION m;
    DWORD old;
    int failed = 0;
    if (_i == 3)
        ck_assert(VirtualFree(c, 0, MEM_RELEASE));
    SetLastError(KEEP_ERR);
    switch (_i) {
    case 0: failed = VirtualAlloc(NULL, 0, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) == NULL; break;
    case 1:
        failed = VirtualAllocEx(GetCurrentProcess(), NULL, 0, MEM_RESERVE | MEM_COMMIT,
                                PAGE_READWRITE) == NULL;
        break;
    case 2: failed = !VirtualFree(NULL, 0, MEM_RELEASE); break;
    case 3: failed = !VirtualFree(c, 0, MEM_RELEASE); break;
    case 4: failed = !VirtualProtect(c, PG, PAGE_READONLY, NULL); break;
    case 5: failed = !VirtualProtect(c, PG, 0, &old); break;
    case 6: failed = VirtualQuery(c, &m, 4) == 0; break;
    case 7: failed = VirtualQuery((void *)(uintptr_t)0x800000000000ull, &m, sizeof m) == 0; break;
    case 8: failed = !VirtualLock(f, PG); break;
    case 9: failed = !VirtualUnlock(c, PG); break;
    case 10:
        failed = VirtualAllocEx(NULL, NULL, PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) == NULL;
        break;
    case 11: failed = !VirtualFreeEx(NULL, c, 0, MEM_RELEASE); break;
    case 12: failed = !VirtualProtectEx(NULL, c, PG, PAGE_READONLY, &old); break;
    case 13: failed = VirtualQueryEx(NULL, c, &m, sizeof m) == 0; break;
    }
    DWORD e = GetLastError();
    ck_assert_msg(failed, "%s did not fail", failure_names[_i]);
    ck_assert_msg(e == failure_errors[_i], "%s: last error %u, expected %u", failure_names[_i],
                  (unsigned)e, (unsigned)failure_errors[_i]);
}
END_TEST

/* ---- section 9: process handles and Ex variants --------------------------- */

/* Section 9: GetCurrentProcess() returns the pseudo handle (HANDLE)-1. */
START_TEST(test_current_process)
{
    ck_assert_ptr_eq(GetCurrentProcess(), (HANDLE)(intptr_t)-1);
    ck_assert_uint_eq((uintptr_t)GetCurrentProcess(), UINTPTR_MAX);
    ck_assert_ptr_eq(GetCurrentProcess(), GetCurrentProcess());
}
END_TEST

/* Section 9: the Ex variants with the pseudo handle behave exactly like the plain calls:
 * allocate, query, protect, decommit, release, and fail the same way. */
START_TEST(test_ex_pseudo_handle)
{
    HANDLE h = GetCurrentProcess();
    SetLastError(KEEP_ERR);
    char *p = VirtualAllocEx(h, NULL, 4 * PG, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    ck_assert_uint_eq((uintptr_t)p % VW_64K, 0);
    ck_assert(vw_can_write(p + 4 * PG - 1));
    ck_assert_int_eq(p[5], 0);

    MEMORY_BASIC_INFORMATION a, b;
    ck_assert_uint_eq(VirtualQueryEx(h, p + 10, &a, sizeof a), 48);
    ck_assert_uint_eq(VirtualQuery(p + 10, &b, sizeof b), 48);
    ck_assert_ptr_eq(a.BaseAddress, p);
    ck_assert_ptr_eq(a.AllocationBase, p);
    ck_assert_uint_eq(a.RegionSize, 4 * PG);
    ck_assert_uint_eq(a.State, MEM_COMMIT);
    ck_assert_uint_eq(a.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(a.AllocationProtect, PAGE_READWRITE);
    ck_assert_uint_eq(a.Type, MEM_PRIVATE);
    ck_assert(a.BaseAddress == b.BaseAddress && a.RegionSize == b.RegionSize &&
              a.State == b.State && a.Protect == b.Protect && a.Type == b.Type &&
              a.AllocationBase == b.AllocationBase &&
              a.AllocationProtect == b.AllocationProtect);

    DWORD old = SENTINEL;
    ck_assert(VirtualProtectEx(h, p, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert(!vw_can_write(p));
    ck_assert_uint_eq(vw_query(p).Protect, PAGE_READONLY);

    ck_assert(VirtualFreeEx(h, p + PG, PG, MEM_DECOMMIT));
    ck_assert_uint_eq(vw_query(p + PG).State, MEM_RESERVE);
    ck_assert(!vw_can_read(p + PG));

    /* Commit into the reservation through the Ex variant. */
    ck_assert_ptr_eq(VirtualAllocEx(h, p + PG + 5, 1, MEM_COMMIT, PAGE_EXECUTE_READ), p + PG);
    ck_assert_uint_eq(vw_query(p + PG).Protect, PAGE_EXECUTE_READ);

    /* Failures as for the plain calls. */
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(h, NULL, 0, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(SENTINEL);
    ck_assert(!VirtualProtectEx(h, p, PG, PAGE_READWRITE, NULL));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    SetLastError(SENTINEL);
    ck_assert_uint_eq(VirtualQueryEx(h, p, &a, 47), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_BAD_LENGTH);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(h, p, PG, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);

    ck_assert(VirtualFreeEx(h, p, 0, MEM_RELEASE));
    ck_assert_uint_eq(vw_query(p).State, MEM_FREE);
    ck_assert(!vw_can_read(p));
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(h, p, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_ADDRESS);
}
END_TEST

/* Section 9: a NULL handle, or another handle that is not a process handle, gives
 * ERROR_INVALID_HANDLE from every Ex variant, and nothing happens. */
static const HANDLE bad_handles[] = {
    NULL, (HANDLE)(uintptr_t)0x1234, (HANDLE)(uintptr_t)0xDEADBEEF0ull,
    (HANDLE)(intptr_t)-2, /* the current-thread pseudo handle */
};
#define N_BAD_HANDLES ((int)(sizeof bad_handles / sizeof bad_handles[0]))

START_TEST(test_ex_bad_handle)
{
    HANDLE h = bad_handles[_i];
    char *p = vw_alloc_commit(2 * PG, PAGE_READWRITE);
    p[0] = 42;

    char *f = vw_free_space(VW_64K);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(h, f, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    ck_assert_uint_eq(vw_query(f).State, MEM_FREE);
    SetLastError(SENTINEL);
    ck_assert_ptr_null(VirtualAllocEx(h, NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);

    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(h, p, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    SetLastError(SENTINEL);
    ck_assert(!VirtualFreeEx(h, p, PG, MEM_DECOMMIT));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);

    DWORD old = SENTINEL;
    SetLastError(SENTINEL);
    ck_assert(!VirtualProtectEx(h, p, PG, PAGE_NOACCESS, &old));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);

    MEMORY_BASIC_INFORMATION m;
    SetLastError(SENTINEL);
    ck_assert_uint_eq(VirtualQueryEx(h, p, &m, sizeof m), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);

    /* Nothing happened to p. */
    m = vw_query(p);
    ck_assert_ptr_eq(m.BaseAddress, p);
    ck_assert_uint_eq(m.RegionSize, 2 * PG);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    ck_assert(vw_can_write(p));
    ck_assert(vw_can_write(p + PG));
    ck_assert_int_eq(p[0], 42);
}
END_TEST

/* FlushInstructionCache with the pseudo handle succeeds (also for NULL/0, "everything"),
 * leaves the last error alone, and code rewritten in place runs in its new form. */
#if defined(__x86_64__) || defined(__aarch64__)
static void write_ret(char *code, unsigned v)
{
#if defined(__x86_64__)
    unsigned char insn[6] = { 0xB8, (unsigned char)v, 0, 0, 0, 0xC3 }; /* mov eax,v; ret */
    memcpy(code, insn, sizeof insn);
#else
    uint32_t insn[2] = { 0x52800000u | ((v & 0xFFFF) << 5), 0xD65F03C0u }; /* mov w0,#v; ret */
    memcpy(code, insn, sizeof insn);
#endif
}
#endif

START_TEST(test_flush_instruction_cache)
{
    char *p = vw_alloc_commit(PG, PAGE_EXECUTE_READWRITE);
    SetLastError(KEEP_ERR);
    ck_assert(FlushInstructionCache(GetCurrentProcess(), p, PG));
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
    ck_assert(FlushInstructionCache(GetCurrentProcess(), NULL, 0));
    ck_assert_uint_eq(GetLastError(), KEEP_ERR);
#if defined(__x86_64__) || defined(__aarch64__)
    int (*fn)(void);
    void *vp = p;
    memcpy(&fn, &vp, sizeof fn);
    write_ret(p, 7);
    ck_assert(FlushInstructionCache(GetCurrentProcess(), p, 16));
    ck_assert_int_eq(fn(), 7);
    write_ret(p, 9);
    ck_assert(FlushInstructionCache(GetCurrentProcess(), p, 16));
    ck_assert_int_eq(fn(), 9);
#endif
}
END_TEST

/* ---- section 0: types, layouts, constants -------------------------------- */

/* Section 0: DWORD, ULONG, UINT and LONG are 32 bits on every platform (LLP64); the
 * pointer-sized types are pointer-sized. */
START_TEST(test_type_sizes)
{
    ck_assert_uint_eq(sizeof(DWORD), 4);
    ck_assert_uint_eq(sizeof(ULONG), 4);
    ck_assert_uint_eq(sizeof(UINT), 4);
    ck_assert_uint_eq(sizeof(LONG), 4);
    ck_assert_uint_eq(sizeof(INT), 4);
    ck_assert_uint_eq(sizeof(BOOL), 4);
    ck_assert_uint_eq(sizeof(WORD), 2);
    ck_assert_uint_eq(sizeof(BYTE), 1);
    ck_assert_uint_eq(sizeof(DWORD64), 8);
    ck_assert_uint_eq(sizeof(ULONGLONG), 8);
    ck_assert_uint_eq(sizeof(LONGLONG), 8);
    ck_assert_uint_eq(sizeof(SIZE_T), sizeof(void *));
    ck_assert_uint_eq(sizeof(ULONG_PTR), sizeof(void *));
    ck_assert_uint_eq(sizeof(DWORD_PTR), sizeof(void *));
    ck_assert_uint_eq(sizeof(LONG_PTR), sizeof(void *));
    ck_assert_uint_eq(sizeof(HANDLE), sizeof(void *));
    /* signedness */
    ck_assert((DWORD)-1 > 0);
    ck_assert((ULONG)-1 > 0);
    ck_assert((UINT)-1 > 0);
    ck_assert((LONG)-1 < 0);
    ck_assert((SIZE_T)-1 > 0);
    ck_assert((LONG_PTR)-1 < 0);
}
END_TEST

/* Section 0: MEMORY_BASIC_INFORMATION has the Win64 layout, 48 bytes. */
START_TEST(test_mbi_layout)
{
    ck_assert_uint_eq(sizeof(MEMORY_BASIC_INFORMATION), 48);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, BaseAddress), 0);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, AllocationBase), 8);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, AllocationProtect), 16);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, PartitionId), 20);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, RegionSize), 24);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, State), 32);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, Protect), 36);
    ck_assert_uint_eq(offsetof(MEMORY_BASIC_INFORMATION, Type), 40);
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(sizeof m.AllocationProtect, 4);
    ck_assert_uint_eq(sizeof m.PartitionId, 2);
    ck_assert_uint_eq(sizeof m.RegionSize, 8);
    ck_assert_uint_eq(sizeof m.State, 4);
    ck_assert_uint_eq(sizeof m.Protect, 4);
    ck_assert_uint_eq(sizeof m.Type, 4);
}
END_TEST

/* Section 0: SYSTEM_INFO has the SDK's x64 layout, 48 bytes. */
START_TEST(test_sysinfo_layout)
{
    ck_assert_uint_eq(sizeof(SYSTEM_INFO), 48);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, dwOemId), 0);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, wProcessorArchitecture), 0);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, wReserved), 2);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, dwPageSize), 4);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, lpMinimumApplicationAddress), 8);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, lpMaximumApplicationAddress), 16);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, dwActiveProcessorMask), 24);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, dwNumberOfProcessors), 32);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, dwProcessorType), 36);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, dwAllocationGranularity), 40);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, wProcessorLevel), 44);
    ck_assert_uint_eq(offsetof(SYSTEM_INFO, wProcessorRevision), 46);
}
END_TEST

/* Section 0: constant values are the SDK's. */
struct konst {
    const char *name;
    unsigned long long value, want;
};
#define K(x, v) { #x, (unsigned long long)(x), (unsigned long long)(v) }
static const struct konst konsts[] = {
    K(PAGE_NOACCESS, 0x01), K(PAGE_READONLY, 0x02), K(PAGE_READWRITE, 0x04),
    K(PAGE_WRITECOPY, 0x08), K(PAGE_EXECUTE, 0x10), K(PAGE_EXECUTE_READ, 0x20),
    K(PAGE_EXECUTE_READWRITE, 0x40), K(PAGE_EXECUTE_WRITECOPY, 0x80), K(PAGE_GUARD, 0x100),
    K(PAGE_NOCACHE, 0x200), K(PAGE_WRITECOMBINE, 0x400), K(PAGE_TARGETS_INVALID, 0x40000000),
    K(PAGE_TARGETS_NO_UPDATE, 0x40000000),
    K(MEM_COMMIT, 0x1000), K(MEM_RESERVE, 0x2000), K(MEM_REPLACE_PLACEHOLDER, 0x4000),
    K(MEM_RESERVE_PLACEHOLDER, 0x40000), K(MEM_RESET, 0x80000), K(MEM_TOP_DOWN, 0x100000),
    K(MEM_WRITE_WATCH, 0x200000), K(MEM_PHYSICAL, 0x400000), K(MEM_RESET_UNDO, 0x1000000),
    K(MEM_LARGE_PAGES, 0x20000000), K(MEM_COALESCE_PLACEHOLDERS, 0x1),
    K(MEM_PRESERVE_PLACEHOLDER, 0x2), K(MEM_DECOMMIT, 0x4000), K(MEM_RELEASE, 0x8000),
    K(MEM_FREE, 0x10000), K(MEM_PRIVATE, 0x20000), K(MEM_MAPPED, 0x40000),
    K(MEM_IMAGE, 0x1000000), K(WRITE_WATCH_FLAG_RESET, 1),
    K(ERROR_ACCESS_DENIED, 5), K(ERROR_INVALID_HANDLE, 6), K(ERROR_NOT_ENOUGH_MEMORY, 8),
    K(ERROR_BAD_LENGTH, 24), K(ERROR_INVALID_PARAMETER, 87), K(ERROR_NOT_LOCKED, 158),
    K(ERROR_PARTIAL_COPY, 299), K(ERROR_INVALID_ADDRESS, 487), K(ERROR_NOACCESS, 998),
    K(ERROR_PRIVILEGE_NOT_HELD, 1314), K(ERROR_NO_SYSTEM_RESOURCES, 1450),
    K(ERROR_WORKING_SET_QUOTA, 1453), K(ERROR_COMMITMENT_LIMIT, 1455),
    K(STATUS_GUARD_PAGE_VIOLATION, 0x80000001u), K(STATUS_ACCESS_VIOLATION, 0xC0000005u),
    K(PROCESSOR_ARCHITECTURE_AMD64, 9), K(PROCESSOR_ARCHITECTURE_ARM64, 12),
    K(TRUE, 1), K(FALSE, 0),
};

START_TEST(test_constants)
{
    for (size_t k = 0; k < sizeof konsts / sizeof konsts[0]; k++)
        ck_assert_msg(konsts[k].value == konsts[k].want, "%s is %#llx, the SDK says %#llx",
                      konsts[k].name, konsts[k].value, konsts[k].want);
    /* The exception codes are DWORDs, not negative ints. */
    ck_assert_uint_eq(sizeof(STATUS_GUARD_PAGE_VIOLATION), 4);
    ck_assert(STATUS_ACCESS_VIOLATION > 0);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static Suite *sysinfo_suite(void)
{
    Suite *s = suite_create("SystemInfo");

    TCase *tc = tcase_create("sysinfo");
    tcase_add_loop_test(tc, test_page_size, 0, 2);
    tcase_add_loop_test(tc, test_allocation_granularity, 0, 2);
    tcase_add_loop_test(tc, test_application_address_range, 0, 2);
    tcase_add_loop_test(tc, test_processors, 0, 2);
    tcase_add_test(tc, test_processors_restricted_affinity);
    tcase_add_loop_test(tc, test_architecture, 0, 2);
    tcase_add_test(tc, test_native_matches);
    suite_add_tcase(s, tc);

    tc = tcase_create("lasterror");
    tcase_add_test(tc, test_last_error_roundtrip);
    tcase_add_test(tc, test_last_error_thread_local);
    tcase_add_loop_test(tc, test_success_keeps_last_error, 0, N_SUCCESS);
    tcase_add_loop_test(tc, test_failure_sets_last_error, 0, N_FAILURE);
    suite_add_tcase(s, tc);

    tc = tcase_create("process");
    tcase_add_test(tc, test_current_process);
    tcase_add_test(tc, test_ex_pseudo_handle);
    tcase_add_loop_test(tc, test_ex_bad_handle, 0, N_BAD_HANDLES);
    tcase_add_test(tc, test_flush_instruction_cache);
    suite_add_tcase(s, tc);

    tc = tcase_create("layout");
    tcase_add_test(tc, test_type_sizes);
    tcase_add_test(tc, test_mbi_layout);
    tcase_add_test(tc, test_sysinfo_layout);
    tcase_add_test(tc, test_constants);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--sysinfo-child") == 0)
        return child_main();
    SRunner *sr = srunner_create(sysinfo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
