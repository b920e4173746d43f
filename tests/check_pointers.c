/*
 * check_pointers.c: every exported call that takes a pointer, with every kind
 * of bad pointer (issue 9).  A pointer the library reads or writes must give
 * ERROR_NOACCESS (or the error Windows documents for that call) without a
 * crash, without changing anything and without writing part of an object.
 *
 * Two tables, one row per (call, pointer parameter):
 * - data_rows: pointers the library dereferences (output structures, the
 *   old-protection DWORD, names, the prefetch array).  Each is called with each
 *   pointer kind of `kinds`; kinds that are valid for the row (a read-only page
 *   for a pointer that is only read, NULL where the parameter is optional) are
 *   called too and must succeed.
 * - addr_rows: addresses the library never dereferences (the memory a call
 *   operates on).  Each is called with the kinds that are not valid memory at
 *   all (NULL, 8, freed, kernel) and must fail with the error the spec gives.
 * After each call: the last error, the return value, the fixture's pages as
 * VirtualQuery and the kernel report them (state, protection, access), the
 * readable part of a straddling object (filled with a pattern before the call)
 * and the read-only pages' contents must all be as before.
 *
 * Adding a call: a function `static struct outcome call_x(void *p)` making the
 * call with p in the parameter under test and valid values elsewhere, and one
 * row.  check_probe covers what the probe remembers and single-call cases.
 * The native calls (Nt*VirtualMemory, STATUS_ACCESS_VIOLATION at that
 * edge) get their rows here once they exist: see NATIVE ROWS below.
 */
#include <check.h>
#include <virtualwin.h>
#include <virtualwin/nt.h>
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PG VW_PAGE
#define KERNEL_ADDR ((void *)(uintptr_t)0xFFFF800000000000ull)

/* ---- the fixture -------------------------------------------------------------
 * lib:  one 64 KiB allocation: page 0 READWRITE, 1 NOACCESS, 2 READONLY, 3 READWRITE
 *       (the target VirtualProtect rows try to change), the rest reserved.
 * frn:  a foreign mapping of 4 pages: 0 read-write, 1 PROT_NONE, 2 read-only,
 *       3 read-write followed by an unmapped page.
 * freed: a released allocation. */
static char *lib, *frn, *freed;
static char *ww;   /* a MEM_WRITE_WATCH allocation with page 0 written */
static unsigned char ro_copy[2][65536];

/* Where the read-only kinds point in their page (kind_pointer). */
#define RO_OFFSET 0x40

/* The read-only pages hold a valid MEMORYSTATUSEX length where the kinds
 * point, so GlobalMemoryStatusEx gets past its read of dwLength to the write. */
static void fill_ro(char *page)
{
    vw_fill_pattern(page, PG, 7);
    DWORD len = sizeof(MEMORYSTATUSEX);
    memcpy(page + RO_OFFSET, &len, sizeof len);
}

static void setup(void)
{
    DWORD old;
    lib = vw_alloc_reserve(VW_64K, PAGE_READWRITE);
    vw_commit_at(lib, 4 * PG, PAGE_READWRITE);
    fill_ro(lib + 2 * PG);
    ck_assert(VirtualProtect(lib + PG, PG, PAGE_NOACCESS, &old));
    ck_assert(VirtualProtect(lib + 2 * PG, PG, PAGE_READONLY, &old));
    frn = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(frn != MAP_FAILED);
    fill_ro(frn + 2 * PG);
    ck_assert_int_eq(mprotect(frn + PG, PG, PROT_NONE), 0);
    ck_assert_int_eq(mprotect(frn + 2 * PG, PG, PROT_READ), 0);
    ck_assert_int_eq(munmap(frn + 4 * PG, PG), 0);
    memcpy(ro_copy[0], lib + 2 * PG, PG);
    memcpy(ro_copy[1], frn + 2 * PG, PG);
    ww = VirtualAlloc(NULL, VW_64K, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    ck_assert_msg(ww != NULL, "MEM_WRITE_WATCH: error %u", (unsigned)GetLastError());
    ww[0] = 1;
    freed = vw_free_space(VW_64K);
}

static void teardown(void)
{
    vw_release(lib);
    vw_release(ww);
    munmap(frn, 4 * PG);
}

/* ---- pointer kinds ------------------------------------------------------------ */

enum { K_NULL, K_EIGHT, K_FREED, K_LIB_NOACCESS, K_FRN_NONE, K_LIB_RO, K_FRN_RO, K_KERNEL,
       K_STRADDLE_LIB, K_STRADDLE_FRN, K_STRADDLE_UNMAPPED, K_COUNT };

static const char *const kind_name[K_COUNT] = {
    "NULL", "(void *)8", "freed allocation", "library PAGE_NOACCESS page",
    "foreign PROT_NONE page", "library PAGE_READONLY page", "foreign read-only page",
    "kernel address", "straddling READWRITE -> PAGE_NOACCESS (library)",
    "straddling read-write -> PROT_NONE (foreign)", "straddling read-write -> unmapped",
};

/* 1 if the kind is readable memory for the whole object (read-only pages). */
static int kind_readable(int k)
{
    return k == K_LIB_RO || k == K_FRN_RO;
}

/* The page a straddling object starts in runs up to this address. */
static char *straddle_end(int k)
{
    switch (k) {
    case K_STRADDLE_LIB: return lib + PG;
    case K_STRADDLE_FRN: return frn + PG;
    case K_STRADDLE_UNMAPPED: return frn + 4 * PG;
    default: return NULL;
    }
}

/* The pointer of kind k for an object of `size` bytes. */
static void *kind_pointer(int k, size_t size)
{
    switch (k) {
    case K_NULL: return NULL;
    case K_EIGHT: return (void *)8;
    case K_FREED: return freed + 0x40;
    case K_LIB_NOACCESS: return lib + PG + 0x40;
    case K_FRN_NONE: return frn + PG + 0x40;
    case K_LIB_RO: return lib + 2 * PG + RO_OFFSET;
    case K_FRN_RO: return frn + 2 * PG + RO_OFFSET;
    case K_KERNEL: return KERNEL_ADDR;
    default: return straddle_end(k) - (size / 2 ? size / 2 : 1);
    }
}

/* ---- the calls ----------------------------------------------------------------- */

struct outcome {
    int ok;          /* the call reported success (a void call: last error unchanged) */
    int wrote_good;  /* a valid output parameter beside the bad one was written */
};

#define SENT ((SIZE_T)0x5A5A5A5A5A5A5A5Aull)

static struct outcome out_bool(BOOL r)
{
    return (struct outcome){ r != 0, 0 };
}

static struct outcome call_query(void *p)
{
    return out_bool(VirtualQuery(lib, p, sizeof(MEMORY_BASIC_INFORMATION)) != 0);
}
static struct outcome call_query_ex(void *p)
{
    return out_bool(VirtualQueryEx(GetCurrentProcess(), lib, p,
                                   sizeof(MEMORY_BASIC_INFORMATION)) != 0);
}
static struct outcome call_protect(void *p)
{
    return out_bool(VirtualProtect(lib + 3 * PG, PG, PAGE_READONLY, p));
}
static struct outcome call_protect_ex(void *p)
{
    return out_bool(VirtualProtectEx(GetCurrentProcess(), lib + 3 * PG, PG, PAGE_EXECUTE_READ, p));
}
/* Void calls: success is the last error left alone. */
static struct outcome call_sysinfo(void *p)
{
    SetLastError(1234);
    GetSystemInfo(p);
    return out_bool(GetLastError() == 1234);
}
static struct outcome call_native_sysinfo(void *p)
{
    SetLastError(1234);
    GetNativeSystemInfo(p);
    return out_bool(GetLastError() == 1234);
}
static struct outcome call_ws_min(void *p)
{
    SIZE_T mx = SENT;
    struct outcome o = out_bool(GetProcessWorkingSetSize(GetCurrentProcess(), p, &mx));
    o.wrote_good = !o.ok && mx != SENT;
    return o;
}
static struct outcome call_ws_max(void *p)
{
    SIZE_T mn = SENT;
    struct outcome o = out_bool(GetProcessWorkingSetSize(GetCurrentProcess(), &mn, p));
    o.wrote_good = !o.ok && mn != SENT;
    return o;
}
static struct outcome call_wsex_min(void *p)
{
    SIZE_T mx = SENT;
    DWORD fl = 0x5A5A5A5A;
    struct outcome o = out_bool(GetProcessWorkingSetSizeEx(GetCurrentProcess(), p, &mx, &fl));
    o.wrote_good = !o.ok && (mx != SENT || fl != 0x5A5A5A5A);
    return o;
}
static struct outcome call_wsex_max(void *p)
{
    SIZE_T mn = SENT;
    DWORD fl = 0x5A5A5A5A;
    struct outcome o = out_bool(GetProcessWorkingSetSizeEx(GetCurrentProcess(), &mn, p, &fl));
    o.wrote_good = !o.ok && (mn != SENT || fl != 0x5A5A5A5A);
    return o;
}
static struct outcome call_wsex_flags(void *p)
{
    SIZE_T mn = SENT, mx = SENT;
    struct outcome o = out_bool(GetProcessWorkingSetSizeEx(GetCurrentProcess(), &mn, &mx, p));
    o.wrote_good = !o.ok && (mn != SENT || mx != SENT);
    return o;
}
static struct outcome call_memstatus(void *p)
{
    return out_bool(GlobalMemoryStatusEx(p));
}
static struct outcome call_prefetch(void *p)
{
    return out_bool(PrefetchVirtualMemory(GetCurrentProcess(), 2, p, 0));
}
static struct outcome call_module_a(void *p)
{
    return out_bool(GetModuleHandleA(p) != NULL);
}
static struct outcome call_module_w(void *p)
{
    return out_bool(GetModuleHandleW(p) != NULL);
}
static struct outcome call_proc_address(void *p)
{
    return out_bool(GetProcAddress(GetModuleHandleA("kernel32.dll"), p) != NULL);
}
/* GetWriteWatch with one bad pointer (which: 0 lpAddresses, 1 lpdwCount, 2
 * lpdwGranularity); the others valid, and checked unwritten. */
static struct outcome call_watch(int which, void *p)
{
    PVOID a = (PVOID)SENT;
    ULONG_PTR n = 1;
    DWORD g = 0x5A5A5A5A;
    UINT r = GetWriteWatch(0, ww, VW_64K, which == 0 ? p : (void *)&a,
                           which == 1 ? p : (void *)&n, which == 2 ? p : (void *)&g);
    return (struct outcome){ r == 0, a != (PVOID)SENT || n != 1 || g != 0x5A5A5A5A };
}
static struct outcome call_watch_addrs(void *p)
{
    return call_watch(0, p);
}
static struct outcome call_watch_count(void *p)
{
    return call_watch(1, p);
}
static struct outcome call_watch_gran(void *p)
{
    return call_watch(2, p);
}

/* RaiseException and RtlRaiseException report a bad pointer as Windows does:
 * an access violation at its address, raised instead of the exception asked
 * for; seen here by a vectored handler and turned into ERROR_NOACCESS. */
static EXCEPTION_RECORD raised;
static int nraised;
static LONG CALLBACK catch_raised(EXCEPTION_POINTERS *ep)
{
    raised = *ep->ExceptionRecord;
    nraised++;
    return EXCEPTION_CONTINUE_EXECUTION;
}
static struct outcome out_raised(DWORD code, const void *p)
{
    if (nraised == 1 && raised.ExceptionCode == code)
        return (struct outcome){ 1, 0 };
    SetLastError(nraised == 1 && raised.ExceptionCode == STATUS_ACCESS_VIOLATION &&
                         raised.ExceptionInformation[1] == (ULONG_PTR)p
                     ? ERROR_NOACCESS
                     : ERROR_INVALID_FUNCTION);
    return (struct outcome){ 0, 0 };
}
static struct outcome call_raise_args(void *p)
{
    nraised = 0;
    PVOID h = AddVectoredExceptionHandler(1, catch_raised);
    RaiseException(0xE0000100, 0, 2, p);
    RemoveVectoredExceptionHandler(h);
    return out_raised(0xE0000100, p);
}
static struct outcome call_rtl_raise(void *p)
{
    nraised = 0;
    PVOID h = AddVectoredExceptionHandler(1, catch_raised);
    RtlRaiseException(p);
    RemoveVectoredExceptionHandler(h);
    return out_raised(0xE0000101, p);   /* never valid: every kind is bad here */
}

/* AWE (issue 15): each process of these rows has never allocated a frame, so
 * a call that gets past its pointers fails with ERROR_INVALID_PARAMETER. */
static struct outcome call_awe_alloc_n(void *p)
{
    ULONG_PTR f[2];
    return out_bool(AllocateUserPhysicalPages(GetCurrentProcess(), p, f));
}
static struct outcome call_awe_alloc_array(void *p)
{
    ULONG_PTR n = 2;
    return out_bool(AllocateUserPhysicalPages(GetCurrentProcess(), &n, p));
}
static struct outcome call_awe_free_n(void *p)
{
    ULONG_PTR f[1] = { 1 };
    return out_bool(FreeUserPhysicalPages(GetCurrentProcess(), p, f));
}
static struct outcome call_awe_free_array(void *p)
{
    ULONG_PTR n = 1;
    return out_bool(FreeUserPhysicalPages(GetCurrentProcess(), &n, p));
}
static struct outcome call_awe_map(void *p)
{
    return out_bool(MapUserPhysicalPages(lib, 1, p));
}
static struct outcome call_awe_scatter_addrs(void *p)
{
    ULONG_PTR f[1] = { 1 };
    return out_bool(MapUserPhysicalPagesScatter(p, 1, f));
}
static struct outcome call_awe_scatter_frames(void *p)
{
    PVOID at[1] = { lib };
    return out_bool(MapUserPhysicalPagesScatter(at, 1, p));
}

/* Sections and files (issue 14).  A successful create sets the last error
 * to 0, as on Windows: these calls put the row's 1234 back after closing
 * what they made, so "success" reads as it does for the other rows. */
static struct outcome out_handle(HANDLE h, HANDLE bad)
{
    if (h == bad)
        return out_bool(FALSE);
    DWORD e = GetLastError();
    CloseHandle(h);
    SetLastError(e == 0 || e == ERROR_ALREADY_EXISTS ? 1234 : e);
    return out_bool(TRUE);
}
static struct outcome call_open_mapping_a(void *p)
{
    return out_handle(OpenFileMappingA(FILE_MAP_READ, FALSE, p), NULL);
}
static struct outcome call_open_mapping_w(void *p)
{
    return out_handle(OpenFileMappingW(FILE_MAP_READ, FALSE, p), NULL);
}
static struct outcome call_create_mapping_a(void *p)
{
    return out_handle(CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, PG, p),
                      NULL);
}
static struct outcome call_create_mapping_w(void *p)
{
    return out_handle(CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, PG, p),
                      NULL);
}
static struct outcome call_create_file_a(void *p)
{
    return out_handle(CreateFileA(p, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL),
                      INVALID_HANDLE_VALUE);
}
static struct outcome call_create_file_w(void *p)
{
    return out_handle(CreateFileW(p, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL),
                      INVALID_HANDLE_VALUE);
}
static struct outcome call_file_size(void *p)
{
    HANDLE f = CreateFileA("/dev/null", GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    ck_assert_ptr_ne(f, INVALID_HANDLE_VALUE);
    SetLastError(1234);
    BOOL r = GetFileSizeEx(f, p);
    DWORD e = GetLastError();
    CloseHandle(f);
    SetLastError(e);
    return out_bool(r);
}
/* DuplicateHandle's target, now that a real handle exists to duplicate. */
static struct outcome call_duplicate_target(void *p)
{
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, PG, NULL);
    ck_assert_ptr_nonnull(h);
    SetLastError(1234);
    BOOL r = DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), p, 0, FALSE,
                             DUPLICATE_SAME_ACCESS);
    DWORD e = GetLastError();
    if (r && p)
        CloseHandle(*(HANDLE *)p);
    CloseHandle(h);
    SetLastError(e);
    return out_bool(r);
}

/* VirtualAlloc2's extended parameters: the array, and the address
 * requirements one points to; NtAllocateVirtualMemoryEx's in/out pair (a
 * native call: its status becomes the last error here). */
static struct outcome call_alloc2_params(void *p)
{
    void *r = VirtualAlloc2(NULL, NULL, PG, MEM_RESERVE, PAGE_READWRITE, p, 1);
    if (r)
        vw_release(r);
    return out_bool(r != NULL);
}
static struct outcome call_alloc2_requirements(void *p)
{
    MEM_EXTENDED_PARAMETER e;
    memset(&e, 0, sizeof e);
    e.Type = MemExtendedParameterAddressRequirements;
    e.Pointer = p;
    return call_alloc2_params(&e);
}
static struct outcome out_status(NTSTATUS st)
{
    if (st)
        SetLastError(RtlNtStatusToDosError(st));
    return (struct outcome){ st == STATUS_SUCCESS, 0 };
}
static struct outcome call_ntalloc_ex_base(void *p)
{
    SIZE_T s = PG;
    NTSTATUS st = NtAllocateVirtualMemoryEx(GetCurrentProcess(), p, &s, MEM_RESERVE,
                                            PAGE_READWRITE, NULL, 0);
    struct outcome o = out_status(st);
    o.wrote_good = st && s != PG;
    return o;
}
static struct outcome call_ntalloc_ex_size(void *p)
{
    PVOID b = NULL;
    NTSTATUS st = NtAllocateVirtualMemoryEx(GetCurrentProcess(), &b, p, MEM_RESERVE,
                                            PAGE_READWRITE, NULL, 0);
    struct outcome o = out_status(st);
    o.wrote_good = st && b != NULL;
    return o;
}

static struct outcome call_exit_code(void *p)
{
    return out_bool(GetExitCodeProcess(GetCurrentProcess(), p));
}
/* The copy counts (optional): nothing copied when they are bad. */
static char rpm_src[16] = "rpm source", rpm_dst[16];
static struct outcome call_rpm_count(void *p)
{
    memset(rpm_dst, 0, sizeof rpm_dst);
    struct outcome o = out_bool(ReadProcessMemory(GetCurrentProcess(), rpm_src, rpm_dst,
                                                  sizeof rpm_dst, p));
    o.wrote_good = !o.ok && rpm_dst[0] != 0;
    return o;
}
static struct outcome call_wpm_count(void *p)
{
    memset(rpm_dst, 0, sizeof rpm_dst);
    struct outcome o = out_bool(WriteProcessMemory(GetCurrentProcess(), rpm_dst, rpm_src,
                                                   sizeof rpm_dst, p));
    o.wrote_good = !o.ok && rpm_dst[0] != 0;
    return o;
}

/* Rows for the pointers the library dereferences.  The *_err fields say what
 * a kind gives when it is not ERROR_NOACCESS: VALID (the call succeeds) or
 * the error Windows documents. */
#define NOACCESS 0
#define VALID ((DWORD)-1)
struct data_row {
    const char *name;
    struct outcome (*call)(void *p);
    size_t size;         /* bytes the call reads or writes through the pointer */
    int writes;          /* 0: only read, so read-only pages are readable objects */
    DWORD null_err;      /* the pointer NULL */
    DWORD eight_err;     /* the pointer 8 */
    DWORD readable_err;  /* read-only rows, on the read-only pages */
    /* Makes the readable part of a straddling object valid where the call reads
     * it before writing (NULL: the pattern is enough). */
    void (*prepare)(void *p);
};

static void prep_memstatus(void *p)
{
    DWORD len = sizeof(MEMORYSTATUSEX);
    memcpy(p, &len, sizeof len);
}

static const struct data_row data_rows[] = {
    { "VirtualQuery lpBuffer", call_query, sizeof(MEMORY_BASIC_INFORMATION), 1, 0, 0, 0, NULL },
    { "VirtualQueryEx lpBuffer", call_query_ex, sizeof(MEMORY_BASIC_INFORMATION), 1, 0, 0, 0, NULL },
    { "VirtualProtect lpflOldProtect", call_protect, sizeof(DWORD), 1, 0, 0, 0, NULL },
    { "VirtualProtectEx lpflOldProtect", call_protect_ex, sizeof(DWORD), 1, 0, 0, 0, NULL },
    /* Void calls: the memory is left alone and the last error says ERROR_NOACCESS. */
    { "GetSystemInfo lpSystemInfo", call_sysinfo, sizeof(SYSTEM_INFO), 1, 0, 0, 0, NULL },
    { "GetNativeSystemInfo lpSystemInfo", call_native_sysinfo, sizeof(SYSTEM_INFO), 1, 0, 0, 0, NULL },
    { "GetProcessWorkingSetSize lpMinimumWorkingSetSize", call_ws_min, sizeof(SIZE_T), 1, 0, 0, 0, NULL },
    { "GetProcessWorkingSetSize lpMaximumWorkingSetSize", call_ws_max, sizeof(SIZE_T), 1, 0, 0, 0, NULL },
    { "GetProcessWorkingSetSizeEx lpMinimumWorkingSetSize", call_wsex_min, sizeof(SIZE_T), 1, 0, 0, 0, NULL },
    { "GetProcessWorkingSetSizeEx lpMaximumWorkingSetSize", call_wsex_max, sizeof(SIZE_T), 1, 0, 0, 0, NULL },
    { "GetProcessWorkingSetSizeEx Flags", call_wsex_flags, sizeof(DWORD), 1, 0, 0, 0, NULL },
    /* dwLength is read first; the read-only pages hold a valid one, so there
     * the write is what fails. */
    { "GlobalMemoryStatusEx lpBuffer", call_memstatus, sizeof(MEMORYSTATUSEX), 1, 0, 0, 0,
      prep_memstatus },
    /* Two entries.  NULL: ERROR_INVALID_PARAMETER (spec).  In the read-only
     * pages the entries are wild hints, which are ignored: success. */
    { "PrefetchVirtualMemory VirtualAddresses", call_prefetch, 2 * sizeof(WIN32_MEMORY_RANGE_ENTRY),
      0, ERROR_INVALID_PARAMETER, 0, VALID, NULL },
    /* Names.  NULL names the executable.  In the read-only pages a name of
     * pattern bytes (no NUL within the probe's reach) that names nothing. */
    { "GetModuleHandleA lpModuleName", call_module_a, 16, 0, VALID, 0, ERROR_MOD_NOT_FOUND, NULL },
    { "GetModuleHandleW lpModuleName", call_module_w, 16, 0, VALID, 0, ERROR_MOD_NOT_FOUND, NULL },
    /* Values below 0x10000 are ordinals, as on Windows: none is exported. */
    { "GetProcAddress lpProcName", call_proc_address, 16, 0, ERROR_PROC_NOT_FOUND,
      ERROR_PROC_NOT_FOUND, ERROR_PROC_NOT_FOUND, NULL },
    { "GetExitCodeProcess lpExitCode", call_exit_code, sizeof(DWORD), 1, 0, 0, 0, NULL },
    { "ReadProcessMemory lpNumberOfBytesRead", call_rpm_count, sizeof(SIZE_T), 1, VALID, 0, 0, NULL },
    { "WriteProcessMemory lpNumberOfBytesWritten", call_wpm_count, sizeof(SIZE_T), 1, VALID, 0, 0,
      NULL },
    /* Exceptions.  RaiseException reads its arguments (NULL: none, valid);
     * RtlRaiseException reads and writes the record (ExceptionAddress). */
    { "RaiseException lpArguments", call_raise_args, 2 * sizeof(ULONG_PTR), 0, VALID, 0, VALID,
      NULL },
    { "RtlRaiseException ExceptionRecord", call_rtl_raise, sizeof(EXCEPTION_RECORD), 1, 0, 0, 0,
      NULL },
    /* Write watches (spec 11): every pointer is written (the count read first). */
    { "GetWriteWatch lpAddresses", call_watch_addrs, sizeof(PVOID), 1, 0, 0, 0, NULL },
    { "GetWriteWatch lpdwCount", call_watch_count, sizeof(ULONG_PTR), 1, 0, 0, 0, NULL },
    { "GetWriteWatch lpdwGranularity", call_watch_gran, sizeof(DWORD), 1, 0, 0, 0, NULL },
    /* AWE: the counts are written, the arrays of frames and addresses read
     * (NULL frames unmap: then the address is in no window). */
    { "AllocateUserPhysicalPages NumberOfPages", call_awe_alloc_n, sizeof(ULONG_PTR), 1, 0, 0, 0,
      NULL },
    { "AllocateUserPhysicalPages PageArray", call_awe_alloc_array, 2 * sizeof(ULONG_PTR), 1, 0, 0,
      0, NULL },
    { "FreeUserPhysicalPages NumberOfPages", call_awe_free_n, sizeof(ULONG_PTR), 1, 0, 0, 0, NULL },
    { "FreeUserPhysicalPages PageArray", call_awe_free_array, sizeof(ULONG_PTR), 0, 0, 0,
      ERROR_INVALID_PARAMETER, NULL },
    { "MapUserPhysicalPages PageArray", call_awe_map, sizeof(ULONG_PTR), 0,
      ERROR_INVALID_PARAMETER, 0, ERROR_INVALID_PARAMETER, NULL },
    { "MapUserPhysicalPagesScatter VirtualAddresses", call_awe_scatter_addrs, sizeof(PVOID), 0, 0,
      0, ERROR_INVALID_PARAMETER, NULL },
    { "MapUserPhysicalPagesScatter PageArray", call_awe_scatter_frames, sizeof(ULONG_PTR), 0,
      ERROR_INVALID_PARAMETER, 0, ERROR_INVALID_PARAMETER, NULL },
    /* Names of sections and files.  NULL: the call's own rule.  In the
     * read-only pages: for the A calls a short name of pattern bytes (the
     * page holds a 0 byte soon after), which names nothing or makes a new
     * section; for the W calls pattern characters longer than any name the
     * library takes (ERROR_INVALID_NAME). */
    { "OpenFileMappingA lpName", call_open_mapping_a, 16, 0, ERROR_INVALID_PARAMETER, 0,
      ERROR_FILE_NOT_FOUND, NULL },
    { "OpenFileMappingW lpName", call_open_mapping_w, 16, 0, ERROR_INVALID_PARAMETER, 0,
      ERROR_INVALID_NAME, NULL },
    { "CreateFileMappingA lpName", call_create_mapping_a, 16, 0, VALID, 0, VALID, NULL },
    { "CreateFileMappingW lpName", call_create_mapping_w, 16, 0, VALID, 0, ERROR_INVALID_NAME,
      NULL },
    { "CreateFileA lpFileName", call_create_file_a, 16, 0, ERROR_PATH_NOT_FOUND, 0,
      ERROR_FILE_NOT_FOUND, NULL },
    { "CreateFileW lpFileName", call_create_file_w, 16, 0, ERROR_PATH_NOT_FOUND, 0,
      ERROR_INVALID_NAME, NULL },
    { "GetFileSizeEx lpFileSize", call_file_size, sizeof(LARGE_INTEGER), 1, 0, 0, 0, NULL },
    /* NULL: the duplicate is made and closed again (NtDuplicateObject). */
    { "DuplicateHandle lpTargetHandle", call_duplicate_target, sizeof(HANDLE), 1, VALID, 0, 0,
      NULL },
    /* An array of one: NULL with a count is ERROR_INVALID_PARAMETER; in the
     * read-only pages the pattern is no valid parameter (reserved bits set). */
    { "VirtualAlloc2 ExtendedParameters", call_alloc2_params, sizeof(MEM_EXTENDED_PARAMETER), 0,
      ERROR_INVALID_PARAMETER, 0, ERROR_INVALID_PARAMETER, NULL },
    /* In the read-only pages: a LowestStartingAddress off 64 KiB. */
    { "VirtualAlloc2 MEM_ADDRESS_REQUIREMENTS", call_alloc2_requirements,
      sizeof(MEM_ADDRESS_REQUIREMENTS), 0, ERROR_INVALID_PARAMETER, 0, ERROR_INVALID_PARAMETER,
      NULL },
    { "NtAllocateVirtualMemoryEx BaseAddress", call_ntalloc_ex_base, sizeof(PVOID), 1, 0, 0, 0,
      NULL },
    { "NtAllocateVirtualMemoryEx RegionSize", call_ntalloc_ex_size, sizeof(SIZE_T), 1, 0, 0, 0,
      NULL },
    /* NATIVE ROWS go here once src/nt exists: NtQueryVirtualMemory
     * (MemoryInformation, ReturnLength), NtProtectVirtualMemory (BaseAddress,
     * RegionSize, OldAccessProtection), NtAllocateVirtualMemory and
     * NtFreeVirtualMemory (BaseAddress, RegionSize), NtLockVirtualMemory and
     * NtUnlockVirtualMemory (BaseAddress, RegionSize): one row per in/out
     * parameter, its call returning the NTSTATUS through `ok`/the last error
     * slot as the row needs, expecting STATUS_ACCESS_VIOLATION. */
};
#define N_DATA_ROWS (sizeof data_rows / sizeof data_rows[0])

/* ---- state before and after ------------------------------------------------------ */

struct page_state {
    MEMORY_BASIC_INFORMATION m;
    int can_read, can_write;
};
#define N_WATCHED 9
struct state {
    struct page_state page[N_WATCHED];
    SIZE_T ws_min, ws_max;
};

static char *watched(int i)
{
    return i < 5 ? lib + (size_t)i * PG : frn + (size_t)(i - 5) * PG;
}

static void take_state(struct state *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < N_WATCHED; i++) {
        char *p = watched(i);
        s->page[i].m = vw_query(p);
        s->page[i].can_read = vw_can_read(p);
        s->page[i].can_write = s->page[i].can_read && vw_can_write(p);
    }
    ck_assert(GetProcessWorkingSetSize(GetCurrentProcess(), &s->ws_min, &s->ws_max));
}

static void assert_same_state(const struct state *a, const struct state *b, const char *what)
{
    for (int i = 0; i < N_WATCHED; i++) {
        const struct page_state *x = &a->page[i], *y = &b->page[i];
        ck_assert_msg(!memcmp(&x->m, &y->m, sizeof x->m),
                      "%s: VirtualQuery of watched page %d changed (state %#x -> %#x, "
                      "protect %#x -> %#x)", what, i, (unsigned)x->m.State,
                      (unsigned)y->m.State, (unsigned)x->m.Protect, (unsigned)y->m.Protect);
        ck_assert_msg(x->can_read == y->can_read && x->can_write == y->can_write,
                      "%s: access to watched page %d changed", what, i);
    }
    ck_assert_msg(a->ws_min == b->ws_min && a->ws_max == b->ws_max,
                  "%s: working-set sizes changed", what);
    ck_assert_msg(!memcmp(ro_copy[0], lib + 2 * PG, PG) && !memcmp(ro_copy[1], frn + 2 * PG, PG),
                  "%s: a read-only page's contents changed", what);
}

/* ---- the table-driven tests ------------------------------------------------------- */

START_TEST(data_pointer_row)
{
    const struct data_row *row = &data_rows[_i];
    for (int k = 0; k < K_COUNT; k++) {
        char what[256];
        snprintf(what, sizeof what, "%s, %s", row->name, kind_name[k]);
        void *p = kind_pointer(k, row->size);
        char *se = straddle_end(k);
        size_t readable = se ? (size_t)(se - (char *)p) : 0;
        unsigned char saved[512];
        if (se) {
            vw_fill_pattern(p, readable, 11);
            if (row->prepare)
                row->prepare(p);
            memcpy(saved, p, readable);
        }
        DWORD want = k == K_NULL                           ? row->null_err
                     : k == K_EIGHT                        ? row->eight_err
                     : !row->writes && kind_readable(k)    ? row->readable_err
                                                           : NOACCESS;
        if (want == NOACCESS)
            want = ERROR_NOACCESS;
        struct state before, after;
        take_state(&before);
        SetLastError(1234);
        struct outcome o = row->call(p);
        DWORD err = GetLastError();
        take_state(&after);
        if (want == VALID) {
            ck_assert_msg(o.ok && err == 1234, "%s: should succeed, failed with %u", what,
                          (unsigned)err);
        } else {
            ck_assert_msg(!o.ok, "%s: the call succeeded", what);
            ck_assert_msg(err == want, "%s: last error %u, expected %u", what, (unsigned)err,
                          (unsigned)want);
            ck_assert_msg(!o.wrote_good, "%s: a valid output beside the bad one was written",
                          what);
        }
        if (se)
            ck_assert_msg(!memcmp(saved, p, readable),
                          "%s: the readable part of the object was written", what);
        assert_same_state(&before, &after, what);
    }
}
END_TEST

/* ---- addresses the library does not dereference ------------------------------------ */

struct addr_row {
    const char *name;
    DWORD (*call)(void *p);   /* returns 0 on success, else the error */
    DWORD err[3];             /* accepted errors (0-terminated) */
    int null_valid;           /* NULL is a valid address for the call: it succeeds */
};

static DWORD last_if(BOOL ok)
{
    return ok ? 0 : GetLastError();
}
/* At NULL, MEM_COMMIT reserves implicitly (spec 4): released again. */
static DWORD a_alloc_commit(void *p)
{
    void *r = VirtualAlloc(p, PG, MEM_COMMIT, PAGE_READWRITE);
    DWORD e = last_if(r != NULL);
    if (r)
        vw_release(r);
    return e;
}
static DWORD a_alloc_ex_commit(void *p)
{
    void *r = VirtualAllocEx(GetCurrentProcess(), p, PG, MEM_COMMIT, PAGE_READWRITE);
    DWORD e = last_if(r != NULL);
    if (r)
        vw_release(r);
    return e;
}
/* VirtualAlloc2 takes the address as VirtualAlloc does (NULL: placed). */
static DWORD a_alloc2_commit(void *p)
{
    void *r = VirtualAlloc2(NULL, p, PG, MEM_COMMIT, PAGE_READWRITE, NULL, 0);
    DWORD e = last_if(r != NULL);
    if (r)
        vw_release(r);
    return e;
}
/* Splitting at an address that holds no placeholder. */
static DWORD a_free_split(void *p)
{
    return last_if(VirtualFree(p, PG, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
}
static DWORD a_free_release(void *p)
{
    return last_if(VirtualFree(p, 0, MEM_RELEASE));
}
static DWORD a_free_ex_decommit(void *p)
{
    return last_if(VirtualFreeEx(GetCurrentProcess(), p, PG, MEM_DECOMMIT));
}
static DWORD a_protect(void *p)
{
    DWORD old;
    return last_if(VirtualProtect(p, PG, PAGE_READONLY, &old));
}
static DWORD a_lock(void *p)
{
    return last_if(VirtualLock(p, PG));
}
static DWORD a_unlock(void *p)
{
    return last_if(VirtualUnlock(p, PG));
}
static DWORD a_discard(void *p)
{
    return DiscardVirtualMemory(p, PG);
}
static DWORD a_offer(void *p)
{
    return OfferVirtualMemory(p, PG, VmOfferPriorityNormal);
}
static DWORD a_reclaim(void *p)
{
    return ReclaimVirtualMemory(p, PG);
}
static DWORD a_query(void *p)
{
    MEMORY_BASIC_INFORMATION m;
    /* Free memory is a valid answer; only the user range is asked for. */
    SIZE_T n = VirtualQuery(p, &m, sizeof m);
    return n ? (m.State == MEM_FREE ? ERROR_INVALID_ADDRESS : 0) : GetLastError();
}
static DWORD a_flush(void *p)
{
    return last_if(FlushInstructionCache(GetCurrentProcess(), p, PG));
}

/* The other process's address (here: our own, through the pseudo handle):
 * nothing there is ERROR_PARTIAL_COPY, outside the user range ERROR_NOACCESS. */
static DWORD a_rpm(void *p)
{
    char b[8];
    SIZE_T n;
    return last_if(ReadProcessMemory(GetCurrentProcess(), p, b, sizeof b, &n));
}
static DWORD a_wpm(void *p)
{
    SIZE_T n;
    return last_if(WriteProcessMemory(GetCurrentProcess(), p, "12345678", 8, &n));
}

static const struct addr_row addr_rows[] = {
    { "ReadProcessMemory lpBaseAddress", a_rpm, { ERROR_PARTIAL_COPY, ERROR_NOACCESS, 0 }, 0 },
    { "WriteProcessMemory lpBaseAddress", a_wpm, { ERROR_PARTIAL_COPY, ERROR_NOACCESS, 0 }, 0 },
    { "VirtualAlloc lpAddress (MEM_COMMIT)", a_alloc_commit, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, 0 }, 1 },
    { "VirtualAllocEx lpAddress (MEM_COMMIT)", a_alloc_ex_commit, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, 0 }, 1 },
    { "VirtualAlloc2 BaseAddress (MEM_COMMIT)", a_alloc2_commit, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, 0 }, 1 },
    { "VirtualFree lpAddress (MEM_PRESERVE_PLACEHOLDER)", a_free_split, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, 0 }, 0 },
    { "VirtualFree lpAddress", a_free_release, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, 0 }, 0 },
    { "VirtualFreeEx lpAddress", a_free_ex_decommit, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, 0 }, 0 },
    { "VirtualProtect lpAddress", a_protect, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, 0 }, 0 },
    { "VirtualLock lpAddress", a_lock, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, ERROR_NOACCESS }, 0 },
    { "VirtualUnlock lpAddress", a_unlock, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, ERROR_NOT_LOCKED }, 0 },
    { "DiscardVirtualMemory VirtualAddress", a_discard, { ERROR_INVALID_PARAMETER, 0 }, 0 },
    { "OfferVirtualMemory VirtualAddress", a_offer, { ERROR_INVALID_PARAMETER, 0 }, 0 },
    { "ReclaimVirtualMemory VirtualAddress", a_reclaim, { ERROR_INVALID_PARAMETER, 0 }, 0 },
    /* VirtualQuery of NULL, 8 or freed memory describes free memory (not an
     * error); of a kernel address: ERROR_INVALID_PARAMETER. */
    { "VirtualQuery lpAddress", a_query, { ERROR_INVALID_ADDRESS, ERROR_INVALID_PARAMETER, 0 }, 0 },
#if defined(__x86_64__) || defined(__i386__)
    /* x86: the address is never dereferenced and any address succeeds (below). */
    { "FlushInstructionCache lpBaseAddress", a_flush, { 0 }, 0 },
#else
    { "FlushInstructionCache lpBaseAddress", a_flush, { ERROR_NOACCESS, 0 }, 0 },
#endif
};
#define N_ADDR_ROWS (sizeof addr_rows / sizeof addr_rows[0])

START_TEST(address_row)
{
    const struct addr_row *row = &addr_rows[_i];
    static const int bad_kinds[] = { K_NULL, K_EIGHT, K_FREED, K_KERNEL };
    for (size_t j = 0; j < sizeof bad_kinds / sizeof bad_kinds[0]; j++) {
        int k = bad_kinds[j];
        void *p = kind_pointer(k, 0);
        char what[256];
        snprintf(what, sizeof what, "%s, %s", row->name, kind_name[k]);
        struct state before, after;
        take_state(&before);
        SetLastError(1234);
        DWORD err = row->call(p);
        take_state(&after);
        int accepted = k == K_NULL && row->null_valid ? err == 0 : 0;
        for (int e = 0; e < 3 && !(k == K_NULL && row->null_valid) && (e == 0 || row->err[e]); e++)
            accepted |= err == row->err[e];
        ck_assert_msg(accepted, "%s: error %u", what, (unsigned)err);
        assert_same_state(&before, &after, what);
        ck_assert_msg(vw_query(freed).State == MEM_FREE, "%s: freed memory is in use", what);
    }
}
END_TEST

static Suite *pointers_suite(void)
{
    Suite *s = suite_create("pointers");
    TCase *tc = tcase_create("data pointers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, data_pointer_row, 0, (int)N_DATA_ROWS);
    suite_add_tcase(s, tc);

    tc = tcase_create("address parameters");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, address_row, 0, (int)N_ADDR_ROWS);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pointers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
