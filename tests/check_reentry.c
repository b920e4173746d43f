/*
 * check_reentry.c: a signal handler that interrupted a map change on its own
 * thread (issue 11, README "Signal safety").
 *
 * Deterministic: linked with the fault-injection build, whose
 * vw_fault_arm_call runs a function at the N-th memory syscall of a call,
 * with whatever locks the library holds there.  That function raises
 * SIGUSR1, so the handler runs on the same thread inside the call, exactly
 * as an asynchronous signal arriving at that instruction would.  For every
 * scenario (each kind of map change, through the API and through the
 * interposed mmap family) and every step N of it, the handler calls every
 * kind of operation:
 * - VirtualQuery of an allocation the interrupted call does not touch: exact;
 * - reads that need no lock (GlobalMemoryStatusEx, GetProcessWorkingSetSize,
 *   NtQueryVirtualMemory's working-set information): succeed;
 * - the program's own mmap/mprotect/munmap of its own memory: succeed;
 * - every map change (VirtualAlloc reserve, commit and MEM_RESET,
 *   VirtualProtect, VirtualFree decommit and release, VirtualLock,
 *   DiscardVirtualMemory, OfferVirtualMemory, NtQueryVirtualMemory's region
 *   information) and the interposed calls on the library's memory: either
 *   succeed (the handler ran where the lock was free) or fail with
 *   ERROR_POSSIBLE_DEADLOCK / STATUS_POSSIBLE_DEADLOCK (API) or ENOMEM
 *   (interposers), having changed nothing (VirtualQuery and contents).
 * Then the interrupted call must have succeeded as it would have without
 * the signal, the map must agree with /proc/self/maps everywhere, and at
 * least one step of each scenario must have met the lock held (else the
 * test proves nothing).  Before this design these handlers deadlocked.
 */
#include <check.h>
#include <virtualwin.h>
#include <virtualwin/nt.h>
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif

void vw_fault_arm(long nth, int err);
long vw_fault_count(void);
void vw_fault_arm_call(long nth, void (*fn)(void));

#define P VW_PAGE
#define SPAN (4 * VW_64K)

static char *hmem;    /* the handler's: 64 KiB, pages 0-1 committed RW (0x6B), the rest reserved */
static char *hvict;   /* the handler's target of destructive interposed calls */
static char *hrel;    /* the handler releases it (or fails to) */

static char herr[512];
static int hran, hdeadlock, henomem;

#define HCHECK(cond, ...)                                                                  \
    do {                                                                                   \
        if (!(cond) && !herr[0]) {                                                         \
            int n_ = snprintf(herr, sizeof herr, "handler, line %d: ", __LINE__);          \
            snprintf(herr + n_, sizeof herr - (size_t)n_, __VA_ARGS__);                    \
        }                                                                                  \
    } while (0)

static int same_mbi(const MEMORY_BASIC_INFORMATION *a, const MEMORY_BASIC_INFORMATION *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* A failed API call: the deadlock answer, and nothing changed at `at`. */
static void api_failed(int line, const char *what, const void *at,
                       const MEMORY_BASIC_INFORMATION *before)
{
    DWORD e = GetLastError();
    MEMORY_BASIC_INFORMATION m;
    VirtualQuery(at, &m, sizeof m);
    if (e != ERROR_POSSIBLE_DEADLOCK && !herr[0])
        snprintf(herr, sizeof herr, "handler, line %d: %s failed with %lu", line, what,
                 (unsigned long)e);
    if (!same_mbi(&m, before) && !herr[0])
        snprintf(herr, sizeof herr, "handler, line %d: %s failed but changed the map", line,
                 what);
    hdeadlock++;
}

static void sys_failed(int line, const char *what, const void *at,
                       const MEMORY_BASIC_INFORMATION *before)
{
    int e = errno;
    MEMORY_BASIC_INFORMATION m;
    VirtualQuery(at, &m, sizeof m);
    if (e != ENOMEM && !herr[0])
        snprintf(herr, sizeof herr, "handler, line %d: %s failed with errno %d", line, what, e);
    if (!same_mbi(&m, before) && !herr[0])
        snprintf(herr, sizeof herr, "handler, line %d: %s failed but changed the map", line,
                 what);
    henomem++;
}

static void handler(int sig)
{
    (void)sig;
    int saved = errno;
    DWORD saved_err = GetLastError();
    hran++;
    MEMORY_BASIC_INFORMATION m, h0, h2, v0;

    /* Reads. */
    HCHECK(VirtualQuery(hmem, &h0, sizeof h0) == sizeof h0 && h0.BaseAddress == hmem &&
               h0.AllocationBase == hmem && h0.RegionSize == 2 * P && h0.State == MEM_COMMIT &&
               h0.Protect == PAGE_READWRITE,
           "VirtualQuery(hmem) wrong");
    HCHECK(VirtualQuery(hmem + 2 * P, &h2, sizeof h2) == sizeof h2 && h2.State == MEM_RESERVE &&
               h2.RegionSize == VW_64K - 2 * P,
           "VirtualQuery(hmem + 2 pages) wrong");
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    HCHECK(GlobalMemoryStatusEx(&ms), "GlobalMemoryStatusEx: %lu", (unsigned long)GetLastError());
    SIZE_T wmin = 0, wmax = 0;
    HCHECK(GetProcessWorkingSetSize(GetCurrentProcess(), &wmin, &wmax) && wmin && wmax,
           "GetProcessWorkingSetSize: %lu", (unsigned long)GetLastError());
    MEMORY_WORKING_SET_EX_INFORMATION wi;
    memset(&wi, 0, sizeof wi);
    wi.VirtualAddress = hmem;
    NTSTATUS st = NtQueryVirtualMemory(GetCurrentProcess(), NULL, MemoryWorkingSetExInformation,
                                       &wi, sizeof wi, NULL);
    HCHECK(st == STATUS_SUCCESS && wi.VirtualAttributes.VirtualAttributes.Valid, "working-set query: 0x%lx",
           (unsigned long)st);

    /* The program's own memory. */
    char *f = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    HCHECK(f != MAP_FAILED, "own mmap: errno %d", errno);
    if (f != MAP_FAILED) {
        f[0] = 1;
        HCHECK(mprotect(f, P, PROT_READ) == 0, "own mprotect: errno %d", errno);
        HCHECK(munmap(f, 2 * P) == 0, "own munmap: errno %d", errno);
    }

    /* Map changes through the API: each succeeds (then is undone) or fails cleanly. */
    void *r = VirtualAlloc(NULL, VW_64K, MEM_RESERVE, PAGE_READWRITE);
    if (r)
        HCHECK(VirtualFree(r, 0, MEM_RELEASE), "release of the handler's reservation");
    else
        api_failed(__LINE__, "VirtualAlloc(MEM_RESERVE)", hmem, &h0);
    if (VirtualAlloc(hmem + 2 * P, P, MEM_COMMIT, PAGE_READWRITE))
        HCHECK(VirtualFree(hmem + 2 * P, P, MEM_DECOMMIT), "decommit back");
    else
        api_failed(__LINE__, "VirtualAlloc(MEM_COMMIT)", hmem + 2 * P, &h2);
    DWORD old;
    if (!VirtualProtect(hmem, P, PAGE_READWRITE, &old))
        api_failed(__LINE__, "VirtualProtect", hmem, &h0);
    if (!VirtualFree(hmem + 3 * P, P, MEM_DECOMMIT))   /* reserved already: no change */
        api_failed(__LINE__, "VirtualFree(MEM_DECOMMIT)", hmem + 2 * P, &h2);
    if (VirtualLock(hmem, P))
        HCHECK(VirtualUnlock(hmem, P), "unlock back");
    else
        api_failed(__LINE__, "VirtualLock", hmem, &h0);
    if (!VirtualAlloc(hmem + P, P, MEM_RESET, PAGE_NOACCESS))
        api_failed(__LINE__, "VirtualAlloc(MEM_RESET)", hmem, &h0);
    else
        hmem[P] = 0x6B;   /* the reset may drop it */
    if (DiscardVirtualMemory(hmem + P, P) != 0)
        api_failed(__LINE__, "DiscardVirtualMemory", hmem, &h0);
    else
        hmem[P] = 0x6B;
    if (OfferVirtualMemory(hmem + P, P, VmOfferPriorityNormal) == 0) {
        DWORD rc = ReclaimVirtualMemory(hmem + P, P);
        HCHECK(rc == 0 || rc == ERROR_BUSY, "reclaim back: %lu", (unsigned long)rc);
        hmem[P] = 0x6B;
    } else {
        api_failed(__LINE__, "OfferVirtualMemory", hmem, &h0);
    }
    MEMORY_REGION_INFORMATION ri;
    st = NtQueryVirtualMemory(GetCurrentProcess(), hmem, MemoryRegionInformation, &ri, sizeof ri,
                              NULL);
    HCHECK(st == STATUS_SUCCESS || st == STATUS_POSSIBLE_DEADLOCK, "region information: 0x%lx",
           (unsigned long)st);
    HCHECK(RtlNtStatusToDosError(STATUS_POSSIBLE_DEADLOCK) == ERROR_POSSIBLE_DEADLOCK,
           "status table");
    VirtualQuery(hrel, &m, sizeof m);
    if (VirtualFree(hrel, 0, MEM_RELEASE))
        hrel = NULL;
    else
        api_failed(__LINE__, "VirtualFree(MEM_RELEASE)", hrel, &m);

    /* The interposers on the library's memory. */
    if (mprotect(hmem, P, PROT_READ | PROT_WRITE) != 0)
        sys_failed(__LINE__, "mprotect(hmem)", hmem, &h0);
    VirtualQuery(hvict, &v0, sizeof v0);
    if (munmap(hvict, P) != 0)
        sys_failed(__LINE__, "munmap(hvict)", hvict, &v0);
    VirtualQuery(hvict + P, &v0, sizeof v0);
    if (mmap(hvict + P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
        MAP_FAILED)
        sys_failed(__LINE__, "mmap(MAP_FIXED, hvict)", hvict + P, &v0);
    VirtualQuery(hvict + 2 * P, &v0, sizeof v0);
    void *mv = mremap(hvict + 2 * P, P, 2 * P, MREMAP_MAYMOVE);
    if (mv == MAP_FAILED)
        sys_failed(__LINE__, "mremap(hvict)", hvict + 2 * P, &v0);
    else
        HCHECK(munmap(mv, 2 * P) == 0, "munmap of the moved page");

    HCHECK(hmem[0] == 0x6B && hmem[P] == 0x6B, "handler's contents changed");
    SetLastError(saved_err);
    errno = saved;
}

static void raise_usr1(void)
{
    raise(SIGUSR1);
}

/* ---- scenarios: one map change each, on a prepared state at s ------------ */

struct scenario {
    const char *name;
    void (*setup)(char *s);
    int (*call)(char *s);   /* 1: succeeded as it must */
};

static char *sandbox;

static void setup_none(char *s)
{
    (void)s;
}
static void setup_reserved(char *s)
{
    char *r = VirtualAlloc(s, SPAN, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_msg(r == s, "reserve at %p: %p, error %lu", (void *)s, (void *)r,
                  (unsigned long)GetLastError());
}
/* Three runs: RW, RO, RW, then reserved. */
static void setup_runs(char *s)
{
    setup_reserved(s);
    ck_assert_ptr_eq(VirtualAlloc(s, 2 * VW_64K, MEM_COMMIT, PAGE_READWRITE), s);
    memset(s, 0x3C, 2 * VW_64K);
    DWORD old;
    ck_assert(VirtualProtect(s + VW_64K, P, PAGE_READONLY, &old));
}

static int call_reserve_commit(char *s)
{
    return VirtualAlloc(s, SPAN, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) == s;
}
static int call_reserve_anywhere(char *s)
{
    (void)s;
    char *p = VirtualAlloc(NULL, 3 * VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p)
        return 0;
    p[0] = 1;
    return VirtualFree(p, 0, MEM_RELEASE);
}
static int call_commit(char *s)
{
    return VirtualAlloc(s + VW_64K, VW_64K, MEM_COMMIT, PAGE_EXECUTE_READWRITE) == s + VW_64K;
}
static int call_protect(char *s)
{
    DWORD old;
    return VirtualProtect(s + P, VW_64K + 2 * P, PAGE_READONLY, &old) && old == PAGE_READWRITE;
}
static int call_decommit(char *s)
{
    return VirtualFree(s, SPAN, MEM_DECOMMIT);
}
static int call_release(char *s)
{
    return VirtualFree(s, 0, MEM_RELEASE);
}
static int call_lock(char *s)
{
    return VirtualLock(s, VW_64K + 2 * P) && VirtualUnlock(s, VW_64K + 2 * P);
}
static int call_reset(char *s)
{
    return VirtualAlloc(s, VW_64K, MEM_RESET, PAGE_NOACCESS) == s;
}
static int call_munmap(char *s)
{
    return munmap(s + VW_64K - P, 3 * P) == 0;
}
static int call_mprotect(char *s)
{
    return mprotect(s + P, VW_64K, PROT_READ) == 0;
}
static int call_mmap_fixed(char *s)
{
    return mmap(s + 2 * P, 2 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                -1, 0) == s + 2 * P;
}
static int call_mremap(char *s)
{
    /* The committed pages after the read-only one: one kernel mapping. */
    char *from = s + VW_64K + P;
    void *q = mremap(from, VW_64K - P, 2 * VW_64K, MREMAP_MAYMOVE);
    return q != MAP_FAILED && munmap(q, 2 * VW_64K) == 0;
}

static const struct scenario scenarios[] = {
    { "reserve+commit at an address", setup_none, call_reserve_commit },
    { "reserve+commit anywhere, release", setup_none, call_reserve_anywhere },
    { "commit", setup_runs, call_commit },
    { "protect across runs", setup_runs, call_protect },
    { "decommit of three runs", setup_runs, call_decommit },
    { "release of three runs", setup_runs, call_release },
    { "lock and unlock", setup_runs, call_lock },
    { "MEM_RESET", setup_runs, call_reset },
    { "interposed munmap", setup_runs, call_munmap },
    { "interposed mprotect", setup_runs, call_mprotect },
    { "interposed mmap MAP_FIXED", setup_runs, call_mmap_fixed },
    { "interposed mremap", setup_runs, call_mremap },
};
#define NSCEN ((int)(sizeof scenarios / sizeof scenarios[0]))

static void release_sandbox(void)
{
    for (char *a = sandbox; a < sandbox + 4 * SPAN; a += VW_64K)
        VirtualFree(a, 0, MEM_RELEASE);
    munmap(sandbox, 4 * SPAN);   /* what the interposed scenarios left of their own */
}

/* Slots for the handler's memory, taken before the sandbox so that nothing
 * placed by the kernel or the arenas lands in the sandbox. */
static char *hpool;
#define HSLOTS 64

static void prepare_handler_memory(long step)
{
    if (!hmem) {
        hmem = vw_alloc_reserve(VW_64K, PAGE_READWRITE);
        vw_commit_at(hmem, 2 * P, PAGE_READWRITE);
        memset(hmem, 0x6B, 2 * P);
    }
    ck_assert_int_lt(step, HSLOTS / 2);
    char *v = hpool + (size_t)step * VW_64K, *r = hpool + (size_t)(HSLOTS / 2 + step) * VW_64K;
    ck_assert_ptr_eq(VirtualAlloc(v, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), v);
    hvict = v;
    if (!hrel) {
        ck_assert_ptr_eq(VirtualAlloc(r, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE), r);
        hrel = r;
    }
}

static void run_scenario(const struct scenario *sc)
{
    /* How many memory syscalls the call makes. */
    sc->setup(sandbox);
    vw_fault_arm(1L << 40, ENOMEM);
    ck_assert_msg(sc->call(sandbox), "%s: fails without a signal", sc->name);
    long calls = vw_fault_count();
    vw_fault_arm(0, 0);
    release_sandbox();
    ck_assert_msg(calls > 0, "%s: no memory syscall to interrupt", sc->name);

    int met_lock = 0;
    for (long n = 1; n <= calls; n++) {
        prepare_handler_memory(n);
        sc->setup(sandbox);
        hran = hdeadlock = henomem = 0;
        herr[0] = 0;
        vw_fault_arm_call(n, raise_usr1);
        int ok = sc->call(sandbox);
        vw_fault_arm_call(0, NULL);
        ck_assert_msg(hran == 1, "%s, step %ld: the handler ran %d times", sc->name, n, hran);
        ck_assert_msg(!herr[0], "%s, step %ld: %s", sc->name, n, herr);
        ck_assert_msg(ok, "%s, step %ld: the interrupted call failed (error %lu, errno %d)",
                      sc->name, n, (unsigned long)GetLastError(), errno);
        /* Inside the lock every change failed; outside it none did. */
        ck_assert_msg((hdeadlock == 0 && henomem == 0) || (hdeadlock == 9 && henomem == 4),
                      "%s, step %ld: %d API and %d interposed refusals", sc->name, n, hdeadlock,
                      henomem);
        met_lock |= hdeadlock != 0;
        vw_assert_range_agrees(sandbox, 4 * SPAN);
        vw_assert_range_agrees(hmem, VW_64K);
        vw_assert_range_agrees(hvict, VW_64K);
        ck_assert(hmem[0] == 0x6B && hmem[P] == 0x6B);
        /* Outside the handler the same changes work. */
        DWORD old;
        ck_assert(VirtualProtect(hmem, P, PAGE_READONLY, &old) && old == PAGE_READWRITE);
        ck_assert(VirtualProtect(hmem, P, PAGE_READWRITE, &old) && old == PAGE_READONLY);
        ck_assert_int_eq(munmap(hvict, VW_64K), 0);
        ck_assert(vw_query(hvict).State == MEM_FREE);
        release_sandbox();
    }
    ck_assert_msg(met_lock, "%s: no step ran the handler with the lock held", sc->name);
    vw_assert_all_agree();
}

START_TEST(handler_inside_each_change)
{
    /* Rule: any call from a handler that interrupted a map change on its own
     * thread completes with a defined result, and the interrupted call too. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    hmem = hrel = NULL;
    hpool = vw_free_space(HSLOTS * VW_64K + 4 * SPAN);
    sandbox = hpool + HSLOTS * VW_64K;
    run_scenario(&scenarios[_i]);
    if (hrel)
        vw_release(hrel);
}
END_TEST

static Suite *reentry_suite(void)
{
    Suite *s = suite_create("reentry");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, handler_inside_each_change, 0, NSCEN);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reentry_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
