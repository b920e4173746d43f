/*
 * guard_nullcheck.c: two classic uses of Windows exceptions, as ordinary
 * Windows code with vectored handlers (make demo, linked and preloaded).
 *
 * 1. A growing buffer behind a guard page, the way Windows grows thread
 *    stacks: a reservation whose committed part ends in a PAGE_GUARD page.
 *    The first touch of the guard raises STATUS_GUARD_PAGE_VIOLATION once
 *    (the guard is already gone when the handler runs); the handler commits
 *    the next page as the new guard and continues.
 * 2. Null-check elimination, as JIT compilers do it: generated code loads a
 *    field through a pointer without testing it for NULL; the handler turns
 *    the access violation at a small address inside that code into "the
 *    field reads as -1" by editing the CONTEXT (Rax, and Rip past the
 *    faulting instruction).  x86-64 only (it emits x86-64 code).
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#define RESERVE_PAGES 32

static char *buf;
static DWORD page;
static volatile LONG guards;

static LONG CALLBACK grow(PEXCEPTION_POINTERS ep)
{
    PEXCEPTION_RECORD r = ep->ExceptionRecord;
    char *at = (char *)r->ExceptionInformation[1];
    if (r->NumberParameters < 2 || at < buf || at >= buf + (RESERVE_PAGES + 1) * page)
        return EXCEPTION_CONTINUE_SEARCH;
    if (r->ExceptionCode == STATUS_GUARD_PAGE_VIOLATION) {
        char *next = buf + ((at - buf) / page + 1) * page;
        guards++;
        if (next < buf + RESERVE_PAGES * page &&
            !VirtualAlloc(next, page, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD))
            return EXCEPTION_CONTINUE_SEARCH;
        return EXCEPTION_CONTINUE_EXECUTION;   /* the access now succeeds */
    }
    return EXCEPTION_CONTINUE_SEARCH;
}

static void growing_buffer(void)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION m;
    GetSystemInfo(&si);
    page = si.dwPageSize;
    buf = VirtualAlloc(NULL, RESERVE_PAGES * page, MEM_RESERVE, PAGE_READWRITE);
    VirtualAlloc(buf, page, MEM_COMMIT, PAGE_READWRITE);
    VirtualAlloc(buf + page, page, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    PVOID h = AddVectoredExceptionHandler(1, grow);
    for (DWORD i = 0; i < 10 * page; i++)   /* grows by ten pages */
        buf[i] = (char)i;
    VirtualQuery(buf, &m, sizeof m);
    printf("growing buffer: %ld guard-page exceptions; %lu pages committed READWRITE, ",
           (long)guards, (unsigned long)(m.RegionSize / page));
    VirtualQuery(buf + m.RegionSize, &m, sizeof m);
    printf("then %lu guard page (Protect 0x%lx)\n", (unsigned long)(m.RegionSize / page),
           (unsigned long)m.Protect);
    RemoveVectoredExceptionHandler(h);
    VirtualFree(buf, 0, MEM_RELEASE);
}

#if defined(__x86_64__)
/* mov rax, [rdi+8]; ret: "return obj->field" with no null test. */
static const unsigned char code[] = { 0x48, 0x8B, 0x47, 0x08, 0xC3 };
#define LOAD_LEN 4
static unsigned char *jit;
static volatile LONG nulls;

static LONG CALLBACK null_check(PEXCEPTION_POINTERS ep)
{
    PEXCEPTION_RECORD r = ep->ExceptionRecord;
    PCONTEXT c = ep->ContextRecord;
    if (r->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || r->ExceptionInformation[1] >= 4096 ||
        c->Rip != (DWORD64)(ULONG_PTR)jit)
        return EXCEPTION_CONTINUE_SEARCH;
    nulls++;
    c->Rax = (DWORD64)-1;   /* the field of a null object reads as -1 */
    c->Rip += LOAD_LEN;     /* past the load, on to the ret */
    return EXCEPTION_CONTINUE_EXECUTION;
}

static int null_checks(void)
{
    DWORD old;
    long long obj[2] = { 0, 42 };
    jit = VirtualAlloc(NULL, sizeof code, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    memcpy(jit, code, sizeof code);
    VirtualProtect(jit, sizeof code, PAGE_EXECUTE_READ, &old);
    FlushInstructionCache(GetCurrentProcess(), jit, sizeof code);
    long long (*field)(const long long *) = (long long (*)(const long long *))(ULONG_PTR)jit;
    PVOID h = AddVectoredExceptionHandler(1, null_check);
    long long a = field(obj), b = field(NULL);
    printf("null checks: field(obj) = %lld, field(NULL) = %lld (%ld access violation turned "
           "into a default value)\n", a, b, (long)nulls);
    RemoveVectoredExceptionHandler(h);
    VirtualFree(jit, 0, MEM_RELEASE);
    return a == 42 && b == -1 && nulls == 1;
}
#endif

int main(void)
{
    growing_buffer();
    if (guards != 9)
        return 1;
#if defined(__x86_64__)
    if (!null_checks())
        return 1;
#else
    printf("null checks: skipped (the example emits x86-64 code)\n");
#endif
    printf("guard_nullcheck: all checks passed\n");
    return 0;
}
