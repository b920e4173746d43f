/*
 * inject.c (core): VirtualAllocEx, VirtualFreeEx and VirtualProtectEx on a
 * process that does not serve requests (any program, or a libvirtualwin
 * process started without VIRTUALWIN_SERVE=1): the work is done by system
 * calls injected into it with ptrace (os/inject.h), on its kernel view, where
 * a reservation is a PROT_NONE mapping and an allocation is what the typing
 * of foreign memory (foreign.c) calls one.
 *
 * Each operation checks the whole range against the kernel view first and
 * changes nothing when a check fails; its system calls then run in one
 * session with the target stopped.  What is supported: new private
 * allocations (reserve, commit, both; a base given or not, MEM_TOP_DOWN
 * ignored), committing and protecting pages of a private allocation,
 * decommitting them, releasing a whole private allocation.  Everything else
 * (reset, large pages, write watches, physical, guard and caching modifiers,
 * images and mapped files) is STATUS_NOT_SUPPORTED.  Limits of the kernel
 * view: a reservation whose first pages were committed shows as two
 * allocations (the kernel keeps no reservation record), and the process may
 * change its mappings between the check and the calls.
 */
#include "core/process.h"
#include "core/vm.h"
#include "os/inject.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define GRAN ((uintptr_t)0x10000)

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* The kernel view's answer at a in p (0 or an NTSTATUS). */
static NTSTATUS view(struct vw_process *p, uintptr_t a, MEMORY_BASIC_INFORMATION *m)
{
    return process_query(p, a, m);
}

/* 1 if [start, end) lies in one private allocation, each page in one of the
 * states `states` (a mask of MEM_COMMIT / MEM_RESERVE); *first gets the
 * answer at start. */
static int one_allocation(struct vw_process *p, uintptr_t start, uintptr_t end, DWORD states,
                          MEMORY_BASIC_INFORMATION *first, NTSTATUS *st)
{
    MEMORY_BASIC_INFORMATION m;
    for (uintptr_t a = start; a < end; a = (uintptr_t)m.BaseAddress + m.RegionSize) {
        if ((*st = view(p, a, &m)))
            return 0;
        if (a == start)
            *first = m;
        if (m.State == MEM_FREE || m.Type != MEM_PRIVATE || !(m.State & states) ||
            m.AllocationBase != first->AllocationBase || !m.RegionSize)
            return 0;
    }
    return 1;
}

/* Runs up to three system calls in p in one session: 0 or -errno of the first failure. */
struct call {
    long nr, a, b, c, d, e, f;
};
/* A session the kernel cut short before anything ran in the target (the
 * stop raced a signal or the target's own state change: EIO from a step,
 * EAGAIN/EBUSY from the attach) is tried again, a few times. */
static int transient(long err)
{
    return err == -EIO || err == -EAGAIN || err == -EBUSY || err == -EINTR;
}

static long run(struct vw_process *p, const struct call *calls, int n, long *first)
{
    for (int attempt = 0;; attempt++) {
        struct inj_session sess, *s = &sess;
        int err = os_inject_begin(process_pid(p), s);
        if (err) {
            if (transient(err) && attempt < 3)
                continue;
            return err;
        }
        long r = 0;
        int ran = 0;
        for (int i = 0; i < n && r >= 0; i++) {
            const struct call *c = &calls[i];
            long x = os_inject_call(s, c->nr, c->a, c->b, c->c, c->d, c->e, c->f);
            if (i == 0 && transient(x) && attempt < 3) {
                r = x;   /* the step failed: the call did not complete */
                break;
            }
            ran = 1;
            if (i == 0 && first)
                *first = x;
            if (x < 0 && x > -4096)
                r = x;
        }
        os_inject_end(s);
        if (!ran && transient(r) && attempt < 3)
            continue;
        return r;
    }
}

static NTSTATUS from_err(long err)
{
    switch (-err) {
    case EPERM: case EACCES: return STATUS_ACCESS_DENIED;
    case ESRCH: return STATUS_PROCESS_IS_TERMINATING;
    case ENOMEM: return STATUS_NO_MEMORY;
    case EEXIST: return STATUS_CONFLICTING_ADDRESSES;
    case ENOSYS: return STATUS_NOT_SUPPORTED;
    default: return STATUS_UNSUCCESSFUL;
    }
}

static int plain_prot(DWORD prot)
{
    return !(prot & (VW_PROT_MODIFIERS | PAGE_WRITECOPY | PAGE_EXECUTE_WRITECOPY)) &&
           !prot_validate(prot);
}

NTSTATUS process_inject_alloc(struct vw_process *p, uintptr_t *addr, size_t *size, ULONG type,
                              DWORD prot)
{
    ULONG core = type & ~(ULONG)MEM_TOP_DOWN;
    if ((core & ~(ULONG)(MEM_COMMIT | MEM_RESERVE)) || !plain_prot(prot))
        return STATUS_NOT_SUPPORTED;
    const long flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    int lprot = prot_to_linux(prot);
    uintptr_t a = *addr;
    if ((core & MEM_RESERVE) || !a) {
        uintptr_t base = a & ~(GRAN - 1);
        uintptr_t end = page_ceil(a + *size);
        size_t len = end - base;
        int commit = !!(core & MEM_COMMIT);
        if (base) {
            struct call c[1] = { { SYS_mmap, (long)base, (long)len, commit ? lprot : PROT_NONE,
                                   flags | MAP_FIXED_NOREPLACE, -1, 0 } };
            long got = 0;
            long r = run(p, c, 1, &got);
            if (r)
                return from_err(r);
            if ((uintptr_t)got != base) {   /* a kernel without NOREPLACE: undo */
                struct call u[1] = { { SYS_munmap, got, (long)len, 0, 0, 0, 0 } };
                run(p, u, 1, NULL);
                return STATUS_CONFLICTING_ADDRESSES;
            }
        } else {
            /* Map more, keep the 64 KiB-aligned part, give the rest back. */
            size_t over = len + GRAN;
            struct call c[1] = { { SYS_mmap, 0, (long)over, commit ? lprot : PROT_NONE, flags, -1,
                                   0 } };
            long got = 0;
            long r = run(p, c, 1, &got);
            if (r)
                return from_err(r);
            uintptr_t g = (uintptr_t)got;
            base = (g + GRAN - 1) & ~(GRAN - 1);
            struct call t[2] = { { SYS_munmap, (long)g, (long)(base - g), 0, 0, 0, 0 },
                                 { SYS_munmap, (long)(base + len), (long)(g + over - base - len),
                                   0, 0, 0, 0 } };
            if (base == g)
                t[0] = t[1];
            r = run(p, t, base == g ? 1 : 2, NULL);
            if (r)
                return from_err(r);
        }
        *addr = base;
        *size = len;
        return STATUS_SUCCESS;
    }
    /* MEM_COMMIT in an existing private allocation. */
    uintptr_t start = page_floor(a), end = page_ceil(a + *size);
    MEMORY_BASIC_INFORMATION first;
    NTSTATUS st = STATUS_SUCCESS;
    if (!one_allocation(p, start, end, MEM_COMMIT | MEM_RESERVE, &first, &st))
        return st ? st : STATUS_CONFLICTING_ADDRESSES;
    struct call c[1] = { { SYS_mprotect, (long)start, (long)(end - start), lprot, 0, 0, 0 } };
    long r = run(p, c, 1, NULL);
    if (r)
        return from_err(r);
    *addr = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

NTSTATUS process_inject_protect(struct vw_process *p, uintptr_t *addr, size_t *size, DWORD prot,
                                DWORD *old)
{
    if (!plain_prot(prot))
        return STATUS_NOT_SUPPORTED;
    uintptr_t start = page_floor(*addr), end = page_ceil(*addr + *size);
    MEMORY_BASIC_INFORMATION first;
    NTSTATUS st = STATUS_SUCCESS;
    if (!one_allocation(p, start, end, MEM_COMMIT, &first, &st)) {
        *old = PAGE_NOACCESS;
        return st ? st : STATUS_NOT_COMMITTED;
    }
    struct call c[1] = { { SYS_mprotect, (long)start, (long)(end - start), prot_to_linux(prot), 0,
                           0, 0 } };
    long r = run(p, c, 1, NULL);
    if (r)
        return from_err(r);
    *old = first.Protect;
    *addr = start;
    *size = end - start;
    return STATUS_SUCCESS;
}

NTSTATUS process_inject_free(struct vw_process *p, uintptr_t *addr, size_t *size, ULONG type)
{
    uintptr_t start = page_floor(*addr);
    MEMORY_BASIC_INFORMATION m;
    NTSTATUS st = view(p, start, &m);
    if (st)
        return st;
    if (m.State == MEM_FREE)
        return STATUS_MEMORY_NOT_ALLOCATED;
    if (m.Type != MEM_PRIVATE)
        return STATUS_NOT_SUPPORTED;
    uintptr_t base = (uintptr_t)m.AllocationBase, end;
    /* The allocation's end: where the base changes. */
    uintptr_t alloc_end = start;
    MEMORY_BASIC_INFORMATION x = m;
    while (x.State != MEM_FREE && (uintptr_t)x.AllocationBase == base && x.RegionSize) {
        alloc_end = (uintptr_t)x.BaseAddress + x.RegionSize;
        if ((st = view(p, alloc_end, &x)))
            return st;
    }
    struct call c[1];
    if (type == MEM_RELEASE) {
        if (start != base)
            return STATUS_FREE_VM_NOT_AT_BASE;
        if (*size && page_ceil(start + *size) != alloc_end)
            return STATUS_UNABLE_TO_FREE_VM;
        end = alloc_end;
        c[0] = (struct call){ SYS_munmap, (long)start, (long)(end - start), 0, 0, 0, 0 };
    } else {
        end = *size ? page_ceil(*addr + *size) : alloc_end;
        if (!*size && start != base)
            return STATUS_FREE_VM_NOT_AT_BASE;
        if (end > alloc_end)
            return STATUS_UNABLE_TO_FREE_VM;
        c[0] = (struct call){ SYS_mmap, (long)start, (long)(end - start), PROT_NONE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0 };
    }
    long r = run(p, c, 1, NULL);
    if (r)
        return from_err(r);
    *addr = start;
    *size = end - start;
    return STATUS_SUCCESS;
}
