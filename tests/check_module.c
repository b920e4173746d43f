/*
 * check_module.c: GetModuleHandleA/W and GetProcAddress (issue item 6), and
 * VirtualQueryEx / VirtualProtectEx on GetCurrentProcess() on memory the library
 * did not allocate (issue item 4, spec sections 6, 7 and 9).
 *
 * The usual Windows system DLL names (kernel32, kernelbase, ntdll -- ntdll a module
 * of its own since issue 10; any case, with
 * or without ".dll") name the library itself, whose handle is its load base;
 * GetModuleHandle(NULL) is the executable's base; GetProcAddress finds the
 * library's exported API and gives NULL with ERROR_PROC_NOT_FOUND (127) for
 * anything else, so the pattern
 *     GetProcAddress(GetModuleHandleA("kernel32.dll"), "VirtualAlloc2")
 * tells Windows code that a call is not there.  Every test names its rule.
 */
#include <check.h>
#include <virtualwin.h>
#include "testutil.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG VW_PAGE
#define SENTINEL 0xDEADBEEFu

/* The load base of the object holding addr, from the dynamic loader. */
static void *object_base(const void *addr)
{
    Dl_info di;
    ck_assert_msg(dladdr(addr, &di) != 0, "dladdr(%p) failed", addr);
    return di.dli_fbase;
}

static void *fn_addr(FARPROC f)
{
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}

/* The library's own load base (where VirtualAlloc lives). */
static void *library_base(void)
{
    return object_base(fn_addr((FARPROC)(void (*)(void))VirtualAlloc));
}

static int main_marker(void)
{
    return 1;
}

/* ---- GetModuleHandleA / W ------------------------------------------------------ */

static const char *const system_names[] = {
    "kernel32.dll", "KERNEL32.DLL", "Kernel32.dll", "kernel32", "KERNEL32", "KeRnEl32.DlL",
    "kernelbase.dll", "KernelBase.dll", "KERNELBASE", "kernelbase",
    "ntdll.dll", "NTDLL.DLL", "ntdll", "NtDll", "ntdll.DLL",
};

/* Item 6: kernel32 and kernelbase, in any case, with or without ".dll", name the
 * library itself: the handle is its load base; ntdll is a module of its own (issue 10:
 * one handle for all its spellings, inside the library's image, not kernel32's);
 * success leaves the last error alone (section 2). */
static void *expected_handle(const char *name)
{
    char c = name[0];
    return c == 'n' || c == 'N' ? (void *)GetModuleHandleA("ntdll") : library_base();
}

START_TEST(test_system_names_a)
{
    void *nt = GetModuleHandleA("ntdll");
    ck_assert_ptr_nonnull(nt);
    ck_assert_ptr_ne(nt, library_base());
    ck_assert_ptr_eq(object_base(nt), library_base());
    for (size_t i = 0; i < sizeof system_names / sizeof system_names[0]; i++) {
        void *base = expected_handle(system_names[i]);
        SetLastError(SENTINEL);
        HMODULE h = GetModuleHandleA(system_names[i]);
        ck_assert_msg(h == base, "GetModuleHandleA(\"%s\") = %p, library base %p (error %u)",
                      system_names[i], h, base, (unsigned)GetLastError());
        ck_assert_uint_eq(GetLastError(), SENTINEL);
    }
    /* The SDK macro (no UNICODE): the A form. */
    ck_assert_ptr_eq(GetModuleHandle("kernel32.dll"), library_base());
}
END_TEST

/* Item 6: the W form with L"..." names: the same handles. */
START_TEST(test_system_names_w)
{
    static const WCHAR *const wnames[] = {
        L"kernel32.dll", L"KERNEL32.DLL", L"Kernel32", L"kernelbase.dll", L"KERNELBASE",
        L"ntdll.dll", L"NtDll", L"NTDLL.dll",
    };
    for (size_t i = 0; i < sizeof wnames / sizeof wnames[0]; i++) {
        void *base = wnames[i][0] == L'n' || wnames[i][0] == L'N' ? (void *)GetModuleHandleA("ntdll")
                                                                   : library_base();
        SetLastError(SENTINEL);
        HMODULE h = GetModuleHandleW(wnames[i]);
        ck_assert_msg(h == base, "GetModuleHandleW(#%zu) = %p, library base %p (error %u)", i,
                      h, base, (unsigned)GetLastError());
        ck_assert_uint_eq(GetLastError(), SENTINEL);
    }
}
END_TEST

/* Item 6: GetModuleHandle(NULL) is the executable's load base (dladdr's dli_fbase for a
 * function of the program), for both forms, and the executable's first page there is
 * MEM_IMAGE with that AllocationBase (section 7). */
START_TEST(test_null_is_executable)
{
    int (*fp)(void) = main_marker;
    void *code;
    memcpy(&code, &fp, sizeof code);
    void *exe = object_base(code);
    ck_assert_int_eq(main_marker(), 1);
    SetLastError(SENTINEL);
    ck_assert_ptr_eq(GetModuleHandleA(NULL), exe);
    ck_assert_ptr_eq(GetModuleHandleW(NULL), exe);
    ck_assert_uint_eq(GetLastError(), SENTINEL);
    ck_assert_ptr_ne(exe, library_base());
    ck_assert_int_eq(memcmp(exe, "\177ELF", 4), 0);
    MEMORY_BASIC_INFORMATION m = vw_query(exe);
    ck_assert_uint_eq(m.Type, MEM_IMAGE);
    ck_assert_ptr_eq(m.AllocationBase, exe);
}
END_TEST

/* Item 6: any other name is not loaded: NULL and ERROR_MOD_NOT_FOUND (126), for both
 * forms -- near misses of the system names included. */
START_TEST(test_unknown_module)
{
    static const char *const bad[] = {
        "user32.dll", "advapi32.dll", "msvcrt.dll", "kernel33.dll", "kernel32.dl",
        "kernel32.dllx", "kernel32x", "kernel", "xkernel32.dll", "ntdl.dll", "ntdll.exe",
        "kernel32.so", "libc.so.6", "libvirtualwin.so",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(SENTINEL);
        HMODULE h = GetModuleHandleA(bad[i]);
        ck_assert_msg(h == NULL, "GetModuleHandleA(\"%s\") = %p, expected NULL", bad[i], h);
        ck_assert_msg(GetLastError() == ERROR_MOD_NOT_FOUND, "\"%s\": error %u", bad[i],
                      (unsigned)GetLastError());
    }
    static const WCHAR *const wbad[] = { L"user32.dll", L"kernel32.dl", L"ntdllx", L"kernel" };
    for (size_t i = 0; i < sizeof wbad / sizeof wbad[0]; i++) {
        SetLastError(SENTINEL);
        ck_assert_ptr_null(GetModuleHandleW(wbad[i]));
        ck_assert_uint_eq(GetLastError(), ERROR_MOD_NOT_FOUND);
    }
}
END_TEST

/* ---- GetProcAddress -------------------------------------------------------------- */

#define API(name) { #name, (FARPROC)(void (*)(void))name }
static const struct {
    const char *name;
    FARPROC fn;
} exported[] = {
    API(VirtualAlloc),          API(VirtualAllocEx),        API(VirtualFree),
    API(VirtualFreeEx),         API(VirtualProtect),        API(VirtualProtectEx),
    API(VirtualQuery),          API(VirtualQueryEx),        API(VirtualLock),
    API(VirtualUnlock),         API(GetSystemInfo),         API(GetNativeSystemInfo),
    API(GetLastError),          API(SetLastError),          API(GetCurrentProcess),
    API(FlushInstructionCache), API(SetProcessWorkingSetSize),
    API(SetProcessWorkingSetSizeEx), API(GetProcessWorkingSetSize),
    API(GetProcessWorkingSetSizeEx), API(DiscardVirtualMemory), API(OfferVirtualMemory),
    API(ReclaimVirtualMemory),  API(PrefetchVirtualMemory), API(GetLargePageMinimum),
    API(GlobalMemoryStatusEx),  API(GetModuleHandleA),      API(GetModuleHandleW),
    API(GetProcAddress),
};

/* Item 6: GetProcAddress on the system module returns the library's exported function
 * (the same address the program links against) for every exported API, through any of
 * the system names; success leaves the last error alone. */
START_TEST(test_known_procs)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    HMODULE kb = GetModuleHandleA("KernelBase");
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    ck_assert_ptr_nonnull(k32);
    for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++) {
        SetLastError(SENTINEL);
        FARPROC f = GetProcAddress(k32, exported[i].name);
        ck_assert_msg(fn_addr(f) == fn_addr(exported[i].fn), "GetProcAddress(\"%s\") = %p, expected %p",
                      exported[i].name, fn_addr(f), fn_addr(exported[i].fn));
        ck_assert_uint_eq(GetLastError(), SENTINEL);
        ck_assert_ptr_eq(fn_addr(GetProcAddress(kb, exported[i].name)), fn_addr(f));
        /* Issue 10: the Win32 calls are kernel32's, not ntdll's. */
        ck_assert_ptr_null(fn_addr(GetProcAddress(nt, exported[i].name)));
        ck_assert_uint_eq(GetLastError(), ERROR_PROC_NOT_FOUND);
    }
}
END_TEST

typedef LPVOID(WINAPI *VirtualAlloc_t)(LPVOID, SIZE_T, DWORD, DWORD);
typedef BOOL(WINAPI *VirtualFree_t)(LPVOID, SIZE_T, DWORD);
/* Casts from FARPROC go through void (*)(void): a direct cast to a type whose return
 * type is not INT_PTR draws -Wcast-function-type (in -Wextra). */
typedef PVOID(WINAPI *VirtualAlloc2_t)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, void *, ULONG);

/* Item 6: the Windows pattern: look a call up, use it if it is there.  VirtualAlloc2 is
 * not implemented: NULL and ERROR_PROC_NOT_FOUND (127); VirtualAlloc is, and calling it
 * through the returned pointer works (section 4). */
START_TEST(test_windows_pattern)
{
    SetLastError(SENTINEL);
    VirtualAlloc2_t va2 =
        (VirtualAlloc2_t)(void (*)(void))GetProcAddress(GetModuleHandleA("kernel32.dll"),
                                                       "VirtualAlloc2");
    ck_assert_ptr_null(fn_addr((FARPROC)(void (*)(void))va2));
    ck_assert_uint_eq(GetLastError(), ERROR_PROC_NOT_FOUND);

    VirtualAlloc_t va = (VirtualAlloc_t)(void (*)(void))GetProcAddress(
        GetModuleHandleA("kernel32.dll"), "VirtualAlloc");
    VirtualFree_t vf = (VirtualFree_t)(void (*)(void))GetProcAddress(
        GetModuleHandleA("KERNEL32"), "VirtualFree");
    ck_assert_ptr_nonnull(fn_addr((FARPROC)(void (*)(void))va));
    ck_assert_ptr_nonnull(fn_addr((FARPROC)(void (*)(void))vf));
    char *p = va(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    p[0] = 1;
    MEMORY_BASIC_INFORMATION m = vw_query(p);
    ck_assert_ptr_eq(m.AllocationBase, p);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert(vf(p, 0, MEM_RELEASE));
    ck_assert_uint_eq(vw_query(p).State, MEM_FREE);
}
END_TEST

/* Item 6: names that are not the library's exports give NULL and ERROR_PROC_NOT_FOUND
 * (127): calls not built (VirtualAlloc3, VirtualAllocExNuma, ...), the
 * empty name, near misses, and wrong case (export names are case-sensitive). */
START_TEST(test_unknown_procs)
{
    static const char *const bad[] = {
        "VirtualAlloc3", "VirtualAllocExNuma",
        "MapViewOfFile3", "CreateFileMappingA", "", "VirtualAllocx", "VirtualAllo",
        "virtualalloc", "VIRTUALALLOC", "Virtualalloc", "mmap", "munmap", "malloc",
        "vw_init", "getpid",
    };
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    ck_assert_ptr_nonnull(k32);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(SENTINEL);
        FARPROC f = GetProcAddress(k32, bad[i]);
        ck_assert_msg(f == NULL, "GetProcAddress(\"%s\") = %p, expected NULL", bad[i],
                      fn_addr(f));
        ck_assert_msg(GetLastError() == ERROR_PROC_NOT_FOUND, "\"%s\": error %u", bad[i],
                      (unsigned)GetLastError());
    }
}
END_TEST

/* ---- Ex calls on memory the library did not allocate (item 4) ----------------------- */

#define SAME_QUERY(addr) same_query(__LINE__, (addr))
/* VirtualQueryEx(GetCurrentProcess()) gives the plain call's answer byte for byte. */
static void same_query(int line, const void *addr)
{
    MEMORY_BASIC_INFORMATION a, b;
    memset(&a, 0x5A, sizeof a);
    memset(&b, 0x5A, sizeof b);
    SetLastError(SENTINEL);
    SIZE_T ra = VirtualQuery(addr, &a, sizeof a);
    SIZE_T rb = VirtualQueryEx(GetCurrentProcess(), addr, &b, sizeof b);
    ck_assert_msg(ra == sizeof a && rb == sizeof b, "line %d: %p: returned %zu and %zu", line,
                  addr, (size_t)ra, (size_t)rb);
    ck_assert_uint_eq(GetLastError(), SENTINEL);
    ck_assert_msg(memcmp(&a, &b, sizeof a) == 0,
                  "line %d: %p: VirtualQuery base %p size %#zx state %#x protect %#x type %#x "
                  "abase %p; VirtualQueryEx base %p size %#zx state %#x protect %#x type %#x "
                  "abase %p",
                  line, addr, a.BaseAddress, (size_t)a.RegionSize, (unsigned)a.State,
                  (unsigned)a.Protect, (unsigned)a.Type, a.AllocationBase, b.BaseAddress,
                  (size_t)b.RegionSize, (unsigned)b.State, (unsigned)b.Protect,
                  (unsigned)b.Type, b.AllocationBase);
}

/* Items 4 and 1, section 9: on GetCurrentProcess() VirtualQueryEx sees exactly what
 * VirtualQuery sees, on every kind of memory: the main and another thread's stack, the
 * heap (brk and mmap'd), the executable's and libc's code and data, the vDSO, a file
 * mapping, anonymous mappings of our own, the library's allocations, free memory. */
START_TEST(test_query_ex_same_as_query)
{
    volatile char local[16];
    local[0] = 1;
    char *small = malloc(100);
    char *big = malloc(4 << 20);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(big);
    small[0] = big[0] = 1;
    char path[] = "/tmp/vw-module-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(ftruncate(fd, (off_t)(3 * PG)), 0);
    char *fmap = mmap(NULL, 3 * PG, PROT_READ, MAP_SHARED, fd, 0);
    ck_assert(fmap != MAP_FAILED);
    close(fd);
    char *anon = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(anon != MAP_FAILED);
    ck_assert_int_eq(mprotect(anon + PG, PG, PROT_NONE), 0);
    char *mine = VirtualAlloc(NULL, 8 * PG, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(mine);
    ck_assert_ptr_nonnull(VirtualAlloc(mine + PG, PG, MEM_COMMIT, PAGE_READONLY));
    struct vw_parked_thread pk;
    vw_park_thread(&pk);

    void *printf_code = dlsym(RTLD_DEFAULT, "printf");
    ck_assert_ptr_nonnull(printf_code);
    int (*fp)(void) = main_marker;
    void *exe_code;
    memcpy(&exe_code, &fp, sizeof exe_code);
    static int exe_data = 3;
    exe_data++;
    const void *addrs[] = {
        (const void *)local, (const void *)pk.local, small, big, big + (2 << 20),
        printf_code, object_base(printf_code), exe_code, &exe_data, object_base(exe_code),
        (void *)getauxval(AT_SYSINFO_EHDR), fmap, fmap + 2 * PG, anon, anon + PG,
        anon + 3 * PG, mine, mine + PG, mine + 5 * PG, NULL, (void *)0x10000,
        (void *)(uintptr_t)VW_MAX_APP_ADDR, library_base(),
    };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++)
        SAME_QUERY(addrs[i]);   /* (the vDSO's entry is NULL where there is none) */
    /* A whole walk, region by region. */
    uintptr_t a = 0;
    while (a <= VW_MAX_APP_ADDR) {
        SAME_QUERY((void *)a);
        MEMORY_BASIC_INFORMATION m = vw_query((void *)a);
        a = (uintptr_t)m.BaseAddress + m.RegionSize;
    }

    vw_unpark_thread(&pk);
    ck_assert(VirtualFree(mine, 0, MEM_RELEASE));
    munmap(anon, 4 * PG);
    munmap(fmap, 3 * PG);
    free(big);
    free(small);
}
END_TEST

/* Items 4 and 1, section 6: VirtualProtect and VirtualProtectEx(GetCurrentProcess()) on a
 * page of libc's code: to PAGE_EXECUTE_READWRITE, old PAGE_EXECUTE_READ; the page is
 * then reported as Windows reports a private writable image page that was not written:
 * PAGE_EXECUTE_WRITECOPY, still MEM_IMAGE with libc's base; back to PAGE_EXECUTE_READ
 * with that old value (PAGE_EXECUTE_WRITECOPY); the page keeps working as code. */
START_TEST(test_protect_libc_code)
{
    for (int ex = 0; ex < 2; ex++) {
        void *fn = dlsym(RTLD_DEFAULT, ex ? "getppid" : "getpid");
        ck_assert_ptr_nonnull(fn);
        void *base = object_base(fn);
        char *page = (char *)((uintptr_t)fn & ~(uintptr_t)(PG - 1));
        MEMORY_BASIC_INFORMATION m = vw_query(page);
        ck_assert_uint_eq(m.Type, MEM_IMAGE);
        ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READ);
        DWORD old = SENTINEL;
        SetLastError(SENTINEL);
        BOOL ok = ex ? VirtualProtectEx(GetCurrentProcess(), page + 10, 1, PAGE_EXECUTE_READWRITE,
                                        &old)
                     : VirtualProtect(page + 10, 1, PAGE_EXECUTE_READWRITE, &old);
        ck_assert_msg(ok, "VirtualProtect%s of libc code failed: %u", ex ? "Ex" : "",
                      (unsigned)GetLastError());
        ck_assert_uint_eq(GetLastError(), SENTINEL);
        ck_assert_uint_eq(old, PAGE_EXECUTE_READ);
        m = vw_query(page);
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_uint_eq(m.Type, MEM_IMAGE);
        ck_assert_ptr_eq(m.AllocationBase, base);
        ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_WRITECOPY);
        ck_assert_msg(m.Protect == PAGE_EXECUTE_WRITECOPY, "Protect %#x after making it RWX",
                      (unsigned)m.Protect);
        ck_assert_uint_eq(m.RegionSize, PG);
        struct vw_kmap k;
        ck_assert(vw_kernel_mapping((uintptr_t)page, &k));
        ck_assert_int_eq(strncmp(k.perms, "rwx", 3), 0);

        old = SENTINEL;
        ok = ex ? VirtualProtectEx(GetCurrentProcess(), page, PG, PAGE_EXECUTE_READ, &old)
                : VirtualProtect(page, PG, PAGE_EXECUTE_READ, &old);
        ck_assert(ok);
        ck_assert_msg(old == PAGE_EXECUTE_WRITECOPY,
                      "old protection %#x when restoring; VirtualQuery reported %#x", (unsigned)old,
                      (unsigned)m.Protect);
        m = vw_query(page);
        ck_assert_uint_eq(m.Protect, PAGE_EXECUTE_READ);
        ck_assert_uint_eq(m.Type, MEM_IMAGE);
        ck_assert_ptr_eq(m.AllocationBase, base);
        ck_assert(vw_kernel_mapping((uintptr_t)page, &k));
        ck_assert_int_eq(strncmp(k.perms, "r-x", 3), 0);
        ck_assert_int_gt(getpid(), 0);
        ck_assert_int_gt(getppid(), 0);
    }
}
END_TEST

/* Items 4 and 1, section 6: VirtualProtect / VirtualProtectEx on a page inside a malloc'd
 * block: to PAGE_READONLY (old PAGE_READWRITE), writes fault, VirtualQuery and the kernel
 * agree; back to PAGE_READWRITE (old PAGE_READONLY); contents kept.  With the Ex form a
 * NULL handle fails with ERROR_INVALID_HANDLE and changes nothing (section 9). */
START_TEST(test_protect_heap_page)
{
    char *block = malloc(8 * PG);
    ck_assert_ptr_nonnull(block);
    memset(block, 0x5C, 8 * PG);
    char *page = (char *)(((uintptr_t)block + 2 * PG) & ~(uintptr_t)(PG - 1));
    for (int ex = 0; ex < 2; ex++) {
        DWORD old = SENTINEL;
        SetLastError(SENTINEL);
        BOOL ok = ex ? VirtualProtectEx(GetCurrentProcess(), page, PG, PAGE_READONLY, &old)
                     : VirtualProtect(page, PG, PAGE_READONLY, &old);
        ck_assert_msg(ok, "error %u", (unsigned)GetLastError());
        ck_assert_uint_eq(GetLastError(), SENTINEL);
        ck_assert_uint_eq(old, PAGE_READWRITE);
        MEMORY_BASIC_INFORMATION m = vw_query(page);
        ck_assert_uint_eq(m.State, MEM_COMMIT);
        ck_assert_uint_eq(m.Protect, PAGE_READONLY);
        ck_assert_uint_eq(m.Type, MEM_PRIVATE);
        ck_assert_uint_eq(m.RegionSize, PG);
        ck_assert(!vw_can_write(page));
        ck_assert(vw_can_read(page));
        vw_assert_range_agrees(page - PG, 3 * PG);
        MEMORY_BASIC_INFORMATION e;
        ck_assert_uint_eq(VirtualQueryEx(GetCurrentProcess(), page, &e, sizeof e), sizeof e);
        ck_assert_int_eq(memcmp(&m, &e, sizeof m), 0);

        old = SENTINEL;
        ok = ex ? VirtualProtectEx(GetCurrentProcess(), page, PG, PAGE_READWRITE, &old)
                : VirtualProtect(page, PG, PAGE_READWRITE, &old);
        ck_assert(ok);
        ck_assert_uint_eq(old, PAGE_READONLY);
        ck_assert_uint_eq(vw_query(page).Protect, PAGE_READWRITE);
        ck_assert(vw_can_write(page));
        vw_assert_range_agrees(page - PG, 3 * PG);
    }
    DWORD old = SENTINEL;
    SetLastError(SENTINEL);
    ck_assert(!VirtualProtectEx(NULL, page, PG, PAGE_READONLY, &old));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    ck_assert(vw_can_write(page));
    MEMORY_BASIC_INFORMATION m;
    SetLastError(SENTINEL);
    ck_assert_uint_eq(VirtualQueryEx(NULL, page, &m, sizeof m), 0);
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    for (size_t i = 0; i < 8 * PG; i += 97)
        ck_assert_int_eq(block[i], 0x5C);
    free(block);
}
END_TEST

/* The first private writable file-backed mapping of the file mapped at addr. */
static uintptr_t writable_mapping_of(const void *addr)
{
    struct vw_kmap k;
    ck_assert(vw_kernel_mapping((uintptr_t)addr, &k));
    FILE *f = fopen("/proc/self/maps", "re");
    ck_assert_ptr_nonnull(f);
    char line[512];
    uintptr_t found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long s, e, off;
        char perms[8], dev[16];
        unsigned long long ino;
        if (sscanf(line, "%lx-%lx %7s %lx %15s %llu", &s, &e, perms, &off, dev, &ino) == 6 &&
            ino == k.inode && strcmp(perms, "rw-p") == 0)
            found = s;
    }
    fclose(f);
    return found;
}

/* Items 4 and 1, section 6: VirtualProtectEx on a page of libc's writable data (a
 * private file-backed page): the old protection is the one VirtualQuery reports for
 * it (PAGE_WRITECOPY, Windows' value for a private writable image page); to
 * PAGE_READONLY and back.  (No call that may write libc's data runs in between.) */
START_TEST(test_protect_libc_data)
{
    void *fn = dlsym(RTLD_DEFAULT, "getpid");
    ck_assert_ptr_nonnull(fn);
    void *base = object_base(fn);
    char *page = (char *)writable_mapping_of(fn);
    ck_assert_msg(page != NULL, "no writable file-backed mapping of libc");
    MEMORY_BASIC_INFORMATION before = vw_query(page), during, after;
    DWORD old1 = SENTINEL, old2 = SENTINEL;
    BOOL ok1 = VirtualProtectEx(GetCurrentProcess(), page, PG, PAGE_READONLY, &old1);
    SIZE_T r = VirtualQuery(page, &during, sizeof during);
    BOOL ok2 = VirtualProtectEx(GetCurrentProcess(), page, PG, PAGE_READWRITE, &old2);
    ck_assert(ok1 && ok2 && r == sizeof during);
    after = vw_query(page);
    ck_assert_uint_eq(before.Type, MEM_IMAGE);
    ck_assert_ptr_eq(before.AllocationBase, base);
    ck_assert_uint_eq(before.Protect, PAGE_WRITECOPY);
    ck_assert_msg(old1 == PAGE_WRITECOPY, "old %#x, VirtualQuery said %#x", (unsigned)old1,
                  (unsigned)before.Protect);
    ck_assert_uint_eq(during.Protect, PAGE_READONLY);
    ck_assert_uint_eq(during.Type, MEM_IMAGE);
    ck_assert_uint_eq(old2, PAGE_READONLY);
    ck_assert_uint_eq(after.Protect, PAGE_WRITECOPY);
    ck_assert_ptr_eq(after.AllocationBase, base);
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

static Suite *module_suite(void)
{
    Suite *s = suite_create("module");

    TCase *tc = tcase_create("GetModuleHandle");
    tcase_add_test(tc, test_system_names_a);
    tcase_add_test(tc, test_system_names_w);
    tcase_add_test(tc, test_null_is_executable);
    tcase_add_test(tc, test_unknown_module);
    suite_add_tcase(s, tc);

    tc = tcase_create("GetProcAddress");
    tcase_add_test(tc, test_known_procs);
    tcase_add_test(tc, test_windows_pattern);
    tcase_add_test(tc, test_unknown_procs);
    suite_add_tcase(s, tc);

    tc = tcase_create("Ex");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_query_ex_same_as_query);
    tcase_add_test(tc, test_protect_libc_code);
    tcase_add_test(tc, test_protect_heap_page);
    tcase_add_test(tc, test_protect_libc_data);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(module_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
