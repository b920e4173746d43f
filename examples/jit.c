/*
 * jit.c: generate a function at run time, make it executable, call it.
 *
 * An ordinary Windows program, written the way JIT compilers do it (W^X):
 * allocate READWRITE memory, write machine code into it, flip it to
 * EXECUTE_READ with VirtualProtect, flush the instruction cache, call it.
 * Then it patches the code (back to READWRITE, rewrite, back to EXECUTE_READ),
 * calls it again, and walks the allocation with VirtualQuery.
 *
 * The generated function is  int add(int a, int b)  (then  int sub(int a, int b)).
 * Machine code for x86-64 (System V ABI on Linux: a in edi, b in esi; on Windows
 * the Microsoft x64 ABI passes them in ecx and edx) and AArch64 (AAPCS64).
 *
 * Build on Linux:   cc jit.c $(pkg-config --cflags --libs virtualwin-compat)
 *
 * Exit status: 0 when every check passes, 1 (with a message) otherwise.
 */
#include <windows.h>
#include <stdio.h>

typedef int (*BINARY_FN)(int a, int b);

#define CODE_BYTES 4096

#if defined(__x86_64__) || defined(_M_X64)
#define ARCH_NAME "x86-64"
#if defined(_WIN64) && !defined(__linux__)
/* Microsoft x64 ABI: a in ecx, b in edx. */
static const BYTE code_add[] = { 0x8D, 0x04, 0x11, 0xC3 };       /* lea eax,[rcx+rdx]; ret */
static const BYTE code_sub[] = { 0x89, 0xC8, 0x29, 0xD0, 0xC3 }; /* mov eax,ecx; sub eax,edx; ret */
#else
/* System V ABI: a in edi, b in esi. */
static const BYTE code_add[] = { 0x8D, 0x04, 0x37, 0xC3 };       /* lea eax,[rdi+rsi]; ret */
static const BYTE code_sub[] = { 0x89, 0xF8, 0x29, 0xF0, 0xC3 }; /* mov eax,edi; sub eax,esi; ret */
#endif
#elif defined(__aarch64__) || defined(_M_ARM64)
#define ARCH_NAME "AArch64"
/* Little-endian instruction words. */
static const BYTE code_add[] = { 0x00, 0x00, 0x01, 0x0B,   /* add w0, w0, w1 (0x0B010000) */
                                 0xC0, 0x03, 0x5F, 0xD6 }; /* ret            (0xD65F03C0) */
static const BYTE code_sub[] = { 0x00, 0x00, 0x01, 0x4B,   /* sub w0, w0, w1 (0x4B010000) */
                                 0xC0, 0x03, 0x5F, 0xD6 }; /* ret            (0xD65F03C0) */
#else
#define ARCH_UNSUPPORTED 1
#endif

#ifndef ARCH_UNSUPPORTED

static int fail(const char *what)
{
    printf("jit: FAILED: %s (GetLastError() = %lu)\n", what, (unsigned long)GetLastError());
    return 1;
}

static void copy_code(BYTE *dst, const BYTE *src, SIZE_T n)
{
    SIZE_T i;
    for (i = 0; i < n; i++)
        dst[i] = src[i];
}

/* A size for people, in bytes, KiB, MiB or GiB: exact in the largest unit
 * that divides it when that takes at most 4 digits (1028 KiB, 64 KiB, 1 GiB),
 * else rounded to two decimals in the largest unit that fits (60.02 MiB). */
static const char *size_text(ULONGLONG bytes, char *buf, SIZE_T size)
{
    static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
    ULONGLONG unit = 1, exact = 1;
    unsigned u = 0, exactU = 0;

    while (u + 1 < sizeof units / sizeof units[0] && bytes >= unit * 1024) {
        unit *= 1024;
        u++;
        if (bytes % unit == 0) {
            exact = unit;
            exactU = u;
        }
    }
    if (bytes / exact <= 9999)
        snprintf(buf, size, "%llu %s", (unsigned long long)(bytes / exact), units[exactU]);
    else
        snprintf(buf, size, "%.2f %s", (double)bytes / (double)unit, units[u]);
    return buf;
}

/* A pointer as %p prints it, for a fixed-width column (printf's width flags
 * with %p behave differently between C libraries). */
static const char *ptr_text(const void *p, char *buf, SIZE_T size)
{
    snprintf(buf, size, "%p", p);
    return buf;
}

static const char *state_name(DWORD state)
{
    switch (state) {
    case MEM_COMMIT: return "COMMIT";
    case MEM_RESERVE: return "RESERVE";
    case MEM_FREE: return "FREE";
    default: return "?";
    }
}

static const char *protect_name(DWORD protect, char *buf, SIZE_T size)
{
    const char *base;

    switch (protect & 0xFF) {
    case 0: return "-"; /* reserved pages report Protect 0 */
    case PAGE_NOACCESS: base = "NOACCESS"; break;
    case PAGE_READONLY: base = "READONLY"; break;
    case PAGE_READWRITE: base = "READWRITE"; break;
    case PAGE_WRITECOPY: base = "WRITECOPY"; break;
    case PAGE_EXECUTE: base = "EXECUTE"; break;
    case PAGE_EXECUTE_READ: base = "EXECUTE_READ"; break;
    case PAGE_EXECUTE_READWRITE: base = "EXECUTE_READWRITE"; break;
    case PAGE_EXECUTE_WRITECOPY: base = "EXECUTE_WRITECOPY"; break;
    default: base = "?"; break;
    }
    snprintf(buf, size, "%s%s%s%s", base, (protect & PAGE_GUARD) ? "+GUARD" : "",
             (protect & PAGE_NOCACHE) ? "+NOCACHE" : "",
             (protect & PAGE_WRITECOMBINE) ? "+WRITECOMBINE" : "");
    return buf;
}

static void print_header(const char *title)
{
    printf("\n%s\n", title);
    printf("%-18s  %12s  %-8s  %-18s  %s\n", "Base", "Size", "State", "Protect",
           "AllocationBase");
    printf("%-18s  %12s  %-8s  %-18s  %s\n", "------------------", "------------",
           "--------", "------------------", "------------------");
}

static void print_row(const MEMORY_BASIC_INFORMATION *mbi)
{
    char protBuf[48], baseBuf[32], allocBuf[32], sizeBuf[32];

    printf("%-18s  %12s  %-8s  %-18s  %s\n",
           ptr_text(mbi->BaseAddress, baseBuf, sizeof baseBuf),
           size_text(mbi->RegionSize, sizeBuf, sizeof sizeBuf), state_name(mbi->State),
           protect_name(mbi->Protect, protBuf, sizeof protBuf),
           mbi->AllocationBase != NULL
               ? ptr_text(mbi->AllocationBase, allocBuf, sizeof allocBuf)
               : "-");
}

/* Walk the allocation at `base`, print each region, and the region right after
 * it (the unused rest of the 64 KiB block, which belongs to no allocation).
 * Returns 0, or 1 if VirtualQuery fails or disagrees with `expectProtect`. */
static int walk(const char *title, BYTE *base, DWORD expectProtect)
{
    MEMORY_BASIC_INFORMATION mbi;
    BYTE *cursor = base;
    SIZE_T total = 0;

    print_header(title);
    for (;;) {
        if (VirtualQuery(cursor, &mbi, sizeof mbi) != sizeof mbi)
            return fail("VirtualQuery");
        if ((BYTE *)mbi.BaseAddress != cursor || mbi.RegionSize == 0)
            return fail("VirtualQuery returned a region that does not start where asked");
        print_row(&mbi);
        if (mbi.AllocationBase != base)
            break; /* past the allocation: the row above shows what follows it */
        if (mbi.State != MEM_COMMIT || mbi.Protect != expectProtect ||
            mbi.AllocationProtect != PAGE_READWRITE || mbi.Type != MEM_PRIVATE)
            return fail("the code page is not reported as expected");
        total += mbi.RegionSize;
        cursor += mbi.RegionSize;
    }
    if (total < CODE_BYTES)
        return fail("the allocation is smaller than requested");
    printf("(the last row is the address space just after the allocation)\n");
    return 0;
}

/* Flip the code page between writable and executable: W^X. */
static int protect(BYTE *code, DWORD newProtect, DWORD expectOld)
{
    DWORD old = 0;

    if (!VirtualProtect(code, CODE_BYTES, newProtect, &old))
        return fail("VirtualProtect");
    if (old != expectOld) {
        printf("jit: old protection 0x%lx, expected 0x%lx\n", (unsigned long)old,
               (unsigned long)expectOld);
        return fail("VirtualProtect reported the wrong old protection");
    }
    if (newProtect & (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE)) {
        if (!FlushInstructionCache(GetCurrentProcess(), code, CODE_BYTES))
            return fail("FlushInstructionCache");
    }
    return 0;
}

static int call_and_check(BYTE *code, const char *name, int a, int b, int expect)
{
    BINARY_FN fn = (BINARY_FN)(ULONG_PTR)code;
    int got = fn(a, b);

    printf("jit: %s(%d, %d) = %d\n", name, a, b, got);
    if (got != expect) {
        printf("jit: expected %d\n", expect);
        return fail("the generated code computed the wrong result");
    }
    return 0;
}

int main(void)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION mbi;
    BYTE *code;
    char sizeBuf[32];

    GetSystemInfo(&si);
    printf("jit: %s, page size %s\n", ARCH_NAME, size_text(si.dwPageSize, sizeBuf, sizeof sizeBuf));

    /* 1. Writable memory for the code. */
    code = (BYTE *)VirtualAlloc(NULL, CODE_BYTES, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (code == NULL)
        return fail("VirtualAlloc(MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE)");
    printf("jit: %s of READWRITE memory at %p\n", size_text(CODE_BYTES, sizeBuf, sizeof sizeBuf),
           (void *)code);
    copy_code(code, code_add, sizeof code_add);
    printf("jit: wrote %u bytes of machine code for add()\n", (unsigned)sizeof code_add);
    if (walk("After VirtualAlloc and writing the code:", code, PAGE_READWRITE))
        return 1;

    /* 2. Make it executable (and no longer writable), then call it. */
    if (protect(code, PAGE_EXECUTE_READ, PAGE_READWRITE))
        return 1;
    printf("\njit: VirtualProtect(PAGE_EXECUTE_READ): old protection was PAGE_READWRITE\n");
    if (call_and_check(code, "add", 2, 40, 42) || call_and_check(code, "add", -7, 7, 0) ||
        call_and_check(code, "add", 123456, 654321, 777777))
        return 1;
    if (walk("After VirtualProtect(PAGE_EXECUTE_READ):", code, PAGE_EXECUTE_READ))
        return 1;

    /* 3. Patch: writable again, rewrite as sub(), executable again. */
    if (protect(code, PAGE_READWRITE, PAGE_EXECUTE_READ))
        return 1;
    copy_code(code, code_sub, sizeof code_sub);
    if (protect(code, PAGE_EXECUTE_READ, PAGE_READWRITE))
        return 1;
    printf("\njit: patched the code to sub() (READWRITE, write, EXECUTE_READ)\n");
    if (call_and_check(code, "sub", 50, 8, 42) || call_and_check(code, "sub", 7, 10, -3))
        return 1;

    /* 4. Release, and check the address is free again. */
    if (!VirtualFree(code, 0, MEM_RELEASE))
        return fail("VirtualFree(MEM_RELEASE)");
    if (VirtualQuery(code, &mbi, sizeof mbi) != sizeof mbi)
        return fail("VirtualQuery after release");
    if (mbi.State != MEM_FREE)
        return fail("released memory is not reported as free");
    printf("\njit: released; all checks passed\n");
    return 0;
}

#else /* ARCH_UNSUPPORTED */

int main(void)
{
    printf("jit: unsupported architecture (this demo knows x86-64 and AArch64)\n");
    return 0;
}

#endif
