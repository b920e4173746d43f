/*
 * check_process.c: other processes (spec 14), the calls themselves.  A parent
 * (this test) and tests/proc_child, which does not run libvirtualwin:
 * OpenProcess and its errors, CloseHandle, GetProcessId, GetCurrentProcessId,
 * GetExitCodeProcess (running, exited, reaped), the access rights each call
 * needs, a handle to this process working as the pseudo handle (and
 * DuplicateHandle of the pseudo handle), ReadProcessMemory and
 * WriteProcessMemory with partial copies at a mapping's edge and writes into
 * the child's read-only data and code pages (checked from inside the child),
 * VirtualQueryEx against /proc/PID/maps, and a child of another user refused
 * (as root).  check_remote covers changing another process's memory (injected
 * system calls, children that run libvirtualwin) and virtualwin-map.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"
#include "proc_util.h"

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
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG VW_PAGE

/* ---- OpenProcess and the handles ----------------------------------------------- */

static void *thread_tid(void *arg)
{
    *(pid_t *)arg = (pid_t)syscall(SYS_gettid);
    return NULL;
}

START_TEST(test_open_errors)
{
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(OpenProcess(PROCESS_ALL_ACCESS, FALSE, 0));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(OpenProcess(PROCESS_ALL_ACCESS, FALSE, 0x7FFFFFF0u));   /* > pid_max */
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(OpenProcess(PROCESS_ALL_ACCESS, FALSE, 0xFFFFFFFFu));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    /* A thread that is not its process's main thread is not a process. */
    pid_t tid = 0;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, thread_tid, &tid), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    /* The thread has ended: its id names nothing now, or another task. */
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)tid);
    if (h) {
        ck_assert_uint_ne(GetProcessId(h), (DWORD)getpid());
        CloseHandle(h);
    }
}
END_TEST

static volatile int live_thread_stop;
static void *live_thread(void *arg)
{
    *(volatile pid_t *)arg = (pid_t)syscall(SYS_gettid);
    while (!live_thread_stop)
        usleep(1000);
    return NULL;
}

START_TEST(test_open_thread_id)
{
    volatile pid_t tid = 0;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, live_thread, (void *)&tid), 0);
    while (!__atomic_load_n(&tid, __ATOMIC_ACQUIRE))
        sched_yield();
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)tid));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    live_thread_stop = 1;
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}
END_TEST

START_TEST(test_current)
{
    ck_assert_uint_eq(GetCurrentProcessId(), (DWORD)getpid());
    ck_assert_uint_eq(GetProcessId(GetCurrentProcess()), (DWORD)getpid());
    DWORD code = 0;
    ck_assert(GetExitCodeProcess(GetCurrentProcess(), &code));
    ck_assert_uint_eq(code, STILL_ACTIVE);
    ck_assert_uint_eq(STILL_ACTIVE, 259);
    ck_assert_uint_eq(PROCESS_ALL_ACCESS, 0x1FFFFF);
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "OpenProcess"), (void *)OpenProcess);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "ReadProcessMemory"), (void *)ReadProcessMemory);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "WriteProcessMemory"), (void *)WriteProcessMemory);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "GetProcessId"), (void *)GetProcessId);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "GetCurrentProcessId"), (void *)GetCurrentProcessId);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "GetExitCodeProcess"), (void *)GetExitCodeProcess);
}
END_TEST

/* Every call that takes a process, on h, fails with err. */
static void assert_all_fail(HANDLE h, DWORD err, const char *what)
{
    char buf[16];
    SIZE_T n = 99;
    MEMORY_BASIC_INFORMATION m;
    DWORD old, code;
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_msg(!GetProcessId(h) && GetLastError() == err, "%s: GetProcessId %u", what,
                  (unsigned)GetLastError());
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_msg(!ReadProcessMemory(h, buf, buf + 8, 8, &n) && GetLastError() == err,
                  "%s: ReadProcessMemory %u", what, (unsigned)GetLastError());
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_msg(!WriteProcessMemory(h, buf, buf + 8, 8, &n) && GetLastError() == err,
                  "%s: WriteProcessMemory %u", what, (unsigned)GetLastError());
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_msg(!VirtualQueryEx(h, buf, &m, sizeof m) && GetLastError() == err,
                  "%s: VirtualQueryEx %u", what, (unsigned)GetLastError());
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_msg(!VirtualAllocEx(h, NULL, PG, MEM_COMMIT, PAGE_READWRITE) &&
                      GetLastError() == err, "%s: VirtualAllocEx %u", what,
                  (unsigned)GetLastError());
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_msg(!VirtualProtectEx(h, buf, 1, PAGE_READWRITE, &old) && GetLastError() == err,
                  "%s: VirtualProtectEx %u", what, (unsigned)GetLastError());
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_msg(!VirtualFreeEx(h, buf, 0, MEM_RELEASE) && GetLastError() == err,
                  "%s: VirtualFreeEx %u", what, (unsigned)GetLastError());
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_msg(!GetExitCodeProcess(h, &code) && GetLastError() == err,
                  "%s: GetExitCodeProcess %u", what, (unsigned)GetLastError());
}

START_TEST(test_bad_handles)
{
    assert_all_fail(NULL, ERROR_INVALID_HANDLE, "NULL");
    assert_all_fail((HANDLE)(uintptr_t)0x1234, ERROR_INVALID_HANDLE, "made up");
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, GetCurrentProcessId());
    ck_assert_ptr_nonnull(h);
    ck_assert(CloseHandle(h));
    assert_all_fail(h, ERROR_INVALID_HANDLE, "closed");
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!CloseHandle(h));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
}
END_TEST

/* A handle to this process is the pseudo handle: the Ex calls work on our map. */
static void exercise_self(HANDLE h)
{
    char *p = VirtualAllocEx(h, NULL, VW_64K, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    VW_CHECK_MBI(p, p, p, PAGE_READWRITE, VW_64K, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    DWORD old = 0;
    ck_assert(VirtualProtectEx(h, p, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(old, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQueryEx(h, p, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert_ptr_eq(m.AllocationBase, p);
    /* WriteProcessMemory writes through read-only pages (on ourselves too). */
    SIZE_T n = 0;
    ck_assert(WriteProcessMemory(h, p + 8, "patch", 5, &n));
    ck_assert_uint_eq(n, 5);
    ck_assert(memcmp(p + 8, "patch", 5) == 0);
    ck_assert(!vw_can_write(p));
    char back[5];
    ck_assert(ReadProcessMemory(h, p + 8, back, 5, &n));
    ck_assert(memcmp(back, "patch", 5) == 0);
    ck_assert(VirtualFreeEx(h, p, 0, MEM_RELEASE));
    ck_assert_uint_eq(vw_query(p).State, MEM_FREE);
}

START_TEST(test_self_handle)
{
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, GetCurrentProcessId());
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq((uintptr_t)h % 4, 0);
    ck_assert_ptr_ne(h, INVALID_HANDLE_VALUE);
    ck_assert_uint_eq(GetProcessId(h), (DWORD)getpid());
    DWORD code = 0;
    ck_assert(GetExitCodeProcess(h, &code));
    ck_assert_uint_eq(code, STILL_ACTIVE);
    exercise_self(h);
    /* DuplicateHandle of the pseudo handle: a real handle to this process. */
    HANDLE d = NULL;
    ck_assert(DuplicateHandle(GetCurrentProcess(), GetCurrentProcess(), GetCurrentProcess(), &d,
                              0, FALSE, DUPLICATE_SAME_ACCESS));
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_ne(d, h);
    ck_assert_uint_eq((uintptr_t)d % 4, 0);
    ck_assert_uint_eq(GetProcessId(d), (DWORD)getpid());
    exercise_self(d);
    ck_assert(CloseHandle(d));
    ck_assert(CloseHandle(h));
}
END_TEST

/* The rights each call needs (spec 14), on a handle to process pid. */
static void check_rights(DWORD pid, void *readable, void *writable)
{
    char buf[8];
    SIZE_T n;
    MEMORY_BASIC_INFORMATION m;
    DWORD old;

    HANDLE h = OpenProcess(PROCESS_VM_READ, FALSE, pid);
    ck_assert_ptr_nonnull(h);
    ck_assert(ReadProcessMemory(h, readable, buf, sizeof buf, &n));
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualQueryEx(h, readable, &m, sizeof m));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, writable, buf, sizeof buf, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!GetProcessId(h));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_ptr_null(VirtualAllocEx(h, NULL, PG, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualProtectEx(h, writable, 1, PAGE_READWRITE, &old));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!VirtualFreeEx(h, writable, 0, MEM_RELEASE));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    ck_assert(CloseHandle(h));

    /* QUERY_INFORMATION implies QUERY_LIMITED_INFORMATION. */
    h = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, pid);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(GetProcessId(h), pid);
    ck_assert_uint_eq(VirtualQueryEx(h, readable, &m, sizeof m), sizeof m);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!ReadProcessMemory(h, readable, buf, sizeof buf, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    ck_assert(CloseHandle(h));

    h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    ck_assert_uint_eq(VirtualQueryEx(h, readable, &m, sizeof m), sizeof m);
    DWORD code;
    ck_assert(GetExitCodeProcess(h, &code));
    ck_assert_uint_eq(code, STILL_ACTIVE);
    ck_assert(CloseHandle(h));

    /* WriteProcessMemory needs VM_WRITE and VM_OPERATION. */
    h = OpenProcess(PROCESS_VM_WRITE, FALSE, pid);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, writable, buf, sizeof buf, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    ck_assert(CloseHandle(h));
    h = OpenProcess(PROCESS_VM_OPERATION, FALSE, pid);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, writable, buf, sizeof buf, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    ck_assert(CloseHandle(h));
    h = OpenProcess(PROCESS_VM_WRITE | PROCESS_VM_OPERATION | PROCESS_VM_READ, FALSE, pid);
    ck_assert(ReadProcessMemory(h, writable, buf, sizeof buf, &n));
    ck_assert(WriteProcessMemory(h, writable, buf, sizeof buf, &n));
    ck_assert_uint_eq(n, sizeof buf);
    ck_assert(CloseHandle(h));

    /* No rights at all: still a handle; every call refused. */
    h = OpenProcess(0, FALSE, pid);
    ck_assert_ptr_nonnull(h);
    assert_all_fail(h, ERROR_ACCESS_DENIED, "no rights");
    ck_assert(CloseHandle(h));
}

START_TEST(test_rights_self)
{
    static char data[64] = "data";
    check_rights(GetCurrentProcessId(), data, data);
}
END_TEST

START_TEST(test_rights_child)
{
    struct child c;
    spawn_plain(&c);
    check_rights((DWORD)c.pid, (void *)c.info.rw, (void *)c.info.rw);
    finish(&c, 7);
}
END_TEST

/* ---- the plain child: reading, writing, querying ------------------------------------ */

START_TEST(test_read_write_plain)
{
    struct child c;
    spawn_plain(&c);
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)c.pid);
    ck_assert_ptr_nonnull(h);
    unsigned char *rw = (unsigned char *)c.info.rw, *ro = (unsigned char *)c.info.ro;
    unsigned char *code = (unsigned char *)c.info.code;
    size_t pg = PG;
    unsigned char *buf = malloc(3 * pg), *expect = malloc(2 * pg);
    for (size_t i = 0; i < 2 * pg; i++)
        expect[i] = (unsigned char)(0xA0 + i);

    /* All of it. */
    SIZE_T n = 0;
    ck_assert(ReadProcessMemory(h, rw, buf, 2 * pg, &n));
    ck_assert_uint_eq(n, 2 * pg);
    ck_assert(memcmp(buf, expect, 2 * pg) == 0);
    ck_assert(ReadProcessMemory(h, rw, buf, 0, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert(ReadProcessMemory(h, rw, buf, 16, NULL));   /* the count is optional */

    /* A partial copy at the mapping's edge (the next page is PROT_NONE). */
    memset(buf, 0, 3 * pg);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!ReadProcessMemory(h, rw + pg, buf, 2 * pg, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    ck_assert_uint_eq(n, pg);
    ck_assert(memcmp(buf, expect + pg, pg) == 0);
    /* Nothing readable at all: NOACCESS page, unmapped page, NULL. */
    void *none[] = { rw + 2 * pg, NULL, (void *)(uintptr_t)0x10000 };
    for (size_t i = 0; i < 3; i++) {
        n = 99;
        SetLastError(VW_SENTINEL_ERR);
        ck_assert(!ReadProcessMemory(h, none[i], buf, 16, &n));
        ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
        ck_assert_uint_eq(n, 0);
        n = 99;
        SetLastError(VW_SENTINEL_ERR);
        ck_assert(!WriteProcessMemory(h, none[i], buf, 16, &n));
        ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
        ck_assert_uint_eq(n, 0);
    }
    /* Outside the user range: ERROR_NOACCESS, nothing copied. */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!ReadProcessMemory(h, KERNEL_ADDR, buf, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, KERNEL_ADDR, buf, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    /* A bad local buffer: a short copy, never a fault. */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!ReadProcessMemory(h, rw, (void *)(uintptr_t)8, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    ck_assert_uint_eq(n, 0);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, rw, (void *)(uintptr_t)8, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    ck_assert_uint_eq(n, 0);

    /* Writes: read-write, read-only data, code; a partial write at the edge. */
    ck_assert(WriteProcessMemory(h, rw, "rw-write........", 16, &n));
    ck_assert_uint_eq(n, 16);
    ck_assert(WriteProcessMemory(h, ro, "ro-write........", 16, &n));
    ck_assert_uint_eq(n, 16);
    unsigned char orig_code[16], patched[16];
    ck_assert(ReadProcessMemory(h, code, orig_code, 16, &n));
    for (int i = 0; i < 16; i++)
        patched[i] = (unsigned char)(orig_code[i] ^ 0xFF);
    ck_assert(WriteProcessMemory(h, code, patched, 16, &n));
    ck_assert_uint_eq(n, 16);
    ck_assert(FlushInstructionCache(h, code, 16));
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, rw + 2 * pg - 8, "edge-of-mapping!", 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    ck_assert_uint_eq(n, 8);
    ck_assert(ReadProcessMemory(h, rw + 2 * pg - 8, buf, 8, &n));
    ck_assert(memcmp(buf, "edge-of-", 8) == 0);

    /* What the child itself sees. */
    unsigned char seen[48];
    send_cmd(&c, 'c');
    read_all(c.from, seen, sizeof seen);
    ck_assert(memcmp(seen, "ro-write........", 16) == 0);
    ck_assert(memcmp(seen + 16, patched, 16) == 0);
    ck_assert(memcmp(seen + 32, "rw-write........", 16) == 0);
    /* The code back as it was: the child runs it to make its exit status. */
    ck_assert(WriteProcessMemory(h, code, orig_code, 16, &n));
    ck_assert(FlushInstructionCache(h, code, 16));

    /* The protections are unchanged by the writes. */
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQueryEx(h, ro, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);
    ck_assert_uint_eq(VirtualQueryEx(h, code, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READ);

    free(buf);
    free(expect);
    ck_assert(CloseHandle(h));
    finish(&c, 7);
}
END_TEST


START_TEST(test_query_plain)
{
    struct child c;
    spawn_plain(&c);
    HANDLE h = OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, (DWORD)c.pid);
    ck_assert_ptr_nonnull(h);
    size_t pg = PG;
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQueryEx(h, (void *)(c.info.rw + 100), &m, sizeof m), sizeof m);
    ck_assert_ptr_eq(m.BaseAddress, (void *)c.info.rw);
    ck_assert_uint_eq(m.RegionSize, 2 * pg);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READWRITE);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    ck_assert_uint_eq(VirtualQueryEx(h, (void *)(c.info.rw + 2 * pg), &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    ck_assert_uint_eq(VirtualQueryEx(h, (void *)c.info.ro, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_READONLY);

    /* The program's code: an image whose base is its first mapping. */
    struct maps_line l[512];
    int nl = read_maps(c.pid, l, 512);
    ck_assert_int_gt(nl, 3);
    uintptr_t image_base = 0;
    const char *exe = NULL;
    for (int i = 0; i < nl; i++)
        if (c.info.code >= l[i].start && c.info.code < l[i].end)
            exe = l[i].path;
    ck_assert_ptr_nonnull(exe);
    for (int i = 0; i < nl && !image_base; i++)
        if (strcmp(l[i].path, exe) == 0)
            image_base = l[i].start;
    ck_assert_uint_eq(VirtualQueryEx(h, (void *)c.info.code, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READ);
    ck_assert_ptr_eq(m.AllocationBase, (void *)image_base);

    /* Against /proc/PID/maps: each mapping starts a region inside it, each
     * gap is free (or the main stack's reservation) up to the next mapping. */
    for (int i = 0; i < nl; i++) {
        if (l[i].start > VW_MAX_APP_ADDR)
            continue;   /* [vsyscall] */
        ck_assert_uint_eq(VirtualQueryEx(h, (void *)l[i].start, &m, sizeof m), sizeof m);
        ck_assert_msg((uintptr_t)m.BaseAddress == l[i].start && m.State != MEM_FREE &&
                          m.RegionSize <= l[i].end - l[i].start,
                      "mapping %lx-%lx %s: region %p+%zx state %x", (unsigned long)l[i].start,
                      (unsigned long)l[i].end, l[i].perms, m.BaseAddress, (size_t)m.RegionSize,
                      (unsigned)m.State);
        ck_assert_uint_eq(m.State, strcmp(l[i].perms, "---p") ? MEM_COMMIT : MEM_RESERVE);
        uintptr_t gap = l[i].end;
        uintptr_t next = i + 1 < nl && l[i + 1].start <= VW_MAX_APP_ADDR ? l[i + 1].start
                                                                          : VW_MAX_APP_ADDR + 1;
        if (gap >= next)
            continue;
        ck_assert_uint_eq(VirtualQueryEx(h, (void *)gap, &m, sizeof m), sizeof m);
        if (m.State == MEM_RESERVE) {   /* below [stack]: its reservation */
            ck_assert(i + 1 < nl && strcmp(l[i + 1].path, "[stack]") == 0);
            continue;
        }
        ck_assert_msg(m.State == MEM_FREE && (uintptr_t)m.BaseAddress == gap &&
                          (uintptr_t)m.BaseAddress + m.RegionSize <= next,
                      "gap %lx-%lx: region %p+%zx state %x", (unsigned long)gap,
                      (unsigned long)next, m.BaseAddress, (size_t)m.RegionSize,
                      (unsigned)m.State);
    }
    /* Other classes are not answered across processes; bad buffers as usual. */
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_uint_eq(VirtualQueryEx(h, (void *)c.info.rw, (void *)8, sizeof m), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_uint_eq(VirtualQueryEx(h, (void *)c.info.rw, &m, 8), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_BAD_LENGTH);
    ck_assert(CloseHandle(h));
    finish(&c, 7);
}
END_TEST

START_TEST(test_exited_child)
{
    struct child c;
    spawn_plain(&c);
    HANDLE h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, (DWORD)c.pid);
    ck_assert_ptr_nonnull(h);
    DWORD code = 0;
    ck_assert(GetExitCodeProcess(h, &code));
    ck_assert_uint_eq(code, STILL_ACTIVE);
    send_cmd(&c, 'q');
    wait_exited(c.pid);
    /* Exited, not yet reaped: its status is known; its memory is gone. */
    ck_assert(GetExitCodeProcess(h, &code));
    ck_assert_uint_eq(code, 7);
    ck_assert_uint_eq(GetProcessId(h), (DWORD)c.pid);
    char buf[16];
    SIZE_T n = 99;
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!ReadProcessMemory(h, (void *)c.info.rw, buf, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    ck_assert_uint_eq(n, 0);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!WriteProcessMemory(h, (void *)c.info.rw, buf, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    MEMORY_BASIC_INFORMATION m;
    SetLastError(VW_SENTINEL_ERR);
    ck_assert_uint_eq(VirtualQueryEx(h, (void *)c.info.rw, &m, sizeof m), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
    /* Its parent may still open it (a zombie). */
    HANDLE z = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)c.pid);
    ck_assert_ptr_nonnull(z);
    ck_assert(GetExitCodeProcess(z, &code));
    ck_assert_uint_eq(code, 7);
    /* Reaped: the handle keeps the status it learned, and names no process. */
    int status = reap(c.pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    ck_assert(GetExitCodeProcess(h, &code));
    ck_assert_uint_eq(code, 7);
    SetLastError(VW_SENTINEL_ERR);
    ck_assert(!ReadProcessMemory(h, (void *)c.info.rw, buf, 16, &n));
    ck_assert_uint_eq(GetLastError(), ERROR_PARTIAL_COPY);
    ck_assert(CloseHandle(z));
    ck_assert(CloseHandle(h));
    close(c.to);
    close(c.from);
}
END_TEST


/* ---- permissions ------------------------------------------------------------------ */

START_TEST(test_other_user_refused)
{
    if (geteuid() != 0) {
        /* Not root: pid 1 belongs to root (or, in a user namespace, to no
         * mapped user), which an ordinary user may not ptrace. */
        SetLastError(VW_SENTINEL_ERR);
        HANDLE h = OpenProcess(PROCESS_VM_READ, FALSE, 1);
        if (h)
            ck_abort_msg("pid 1 opened by uid %u", (unsigned)geteuid());
        ck_assert_uint_eq(GetLastError(), ERROR_ACCESS_DENIED);
        return;
    }
    /* Root: a child that becomes another user must not open its root parent. */
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(10);
        SetLastError(VW_SENTINEL_ERR);
        HANDLE h = OpenProcess(PROCESS_VM_READ, FALSE, (DWORD)parent);
        if (h)
            _exit(11);
        if (GetLastError() != ERROR_ACCESS_DENIED)
            _exit(12);
        /* Its own process it may open. */
        h = OpenProcess(PROCESS_ALL_ACCESS, FALSE, GetCurrentProcessId());
        _exit(h ? 0 : 13);
    }
    int status = reap(pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
}
END_TEST

static Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("handles");
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_open_thread_id);
    tcase_add_test(tc, test_current);
    tcase_add_test(tc, test_bad_handles);
    tcase_add_test(tc, test_self_handle);
    tcase_add_test(tc, test_rights_self);
    tcase_add_test(tc, test_rights_child);
    suite_add_tcase(s, tc);
    tc = tcase_create("plain child");
    tcase_add_test(tc, test_read_write_plain);
    tcase_add_test(tc, test_query_plain);
    tcase_add_test(tc, test_exited_child);
    suite_add_tcase(s, tc);
    tc = tcase_create("permissions");
    tcase_add_test(tc, test_other_user_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(process_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
