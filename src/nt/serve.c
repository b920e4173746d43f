/*
 * serve.c: the native edge on both ends of the request channel (core/remote.h).
 *
 * In a served process (VIRTUALWIN_SERVE=1) the constructor below starts the
 * service thread; each authenticated request runs here through the very
 * native calls a thread of the process would make, with the pseudo handle:
 * the same validation in Windows' order, the same map, all or nothing.
 * Outputs travel back in the reply; `old` is UNSET when NtProtectVirtualMemory
 * left it alone.
 *
 * In the caller, nt_remote_* send what the caller's own arguments say (its
 * pointers already probed and read by the edge) and write the outputs back
 * into the caller's memory as the local call would.  No syscalls here.
 */
#include "nt/nt.h"
#include "core/vm.h"
#include "core/process.h"
#include "core/remote.h"

#include <string.h>

#define UNSET 0xFFFFFFFFu

static void execute(const struct remote_req *q, struct remote_resp *r)
{
    PVOID base = (PVOID)(uintptr_t)q->addr;
    SIZE_T size = (SIZE_T)q->size;
    ULONG old = UNSET;
    NTSTATUS st;
    switch (q->op) {
    case REMOTE_QUERY:
        st = nt_query(VW_PSEUDO_PROCESS, base, MemoryBasicInformation, &r->mbi, sizeof r->mbi,
                      NULL);
        break;
    case REMOTE_ALLOC:
        st = nt_allocate(VW_PSEUDO_PROCESS, &base, (ULONG_PTR)q->zero_bits, &size, q->type,
                         q->prot);
        break;
    case REMOTE_FREE:
        st = nt_free(VW_PSEUDO_PROCESS, &base, &size, q->type);
        break;
    case REMOTE_PROTECT:
        st = nt_protect(VW_PSEUDO_PROCESS, &base, &size, q->prot, &old);
        break;
    default:
        st = STATUS_INVALID_PARAMETER;
        break;
    }
    r->status = st;
    r->addr = (uint64_t)(uintptr_t)base;
    r->size = size;
    r->old = old;
}

__attribute__((constructor)) static void serve_init(void)
{
    if (remote_serve_wanted())
        remote_serve_start(execute);   /* not served if it fails: callers see the kernel view */
}

/* Sends q to rp; STATUS_NOT_SUPPORTED when it does not serve. */
static NTSTATUS call(struct vw_process *rp, struct remote_req *q, struct remote_resp *r)
{
    memset(r, 0, sizeof *r);
    NTSTATUS st = process_remote(rp, q, r);
    return st ? st : r->status;
}

NTSTATUS nt_remote_query(struct vw_process *rp, uintptr_t addr, MEMORY_BASIC_INFORMATION *m)
{
    struct remote_req q = { .op = REMOTE_QUERY, .addr = addr };
    struct remote_resp r;
    NTSTATUS st = call(rp, &q, &r);
    if (st == STATUS_NOT_SUPPORTED)
        return process_query(rp, addr, m);   /* not served: the kernel's view */
    if (!st)
        memcpy(m, &r.mbi, sizeof *m);
    return st;
}

/* A process that does not serve: system calls injected into it (core/inject.c). */
static NTSTATUS change_by_injection(struct vw_process *rp, int op, PVOID *base, PSIZE_T size,
                                    ULONG_PTR zero_bits, ULONG type, ULONG prot, PULONG old)
{
    uintptr_t a = (uintptr_t)*base;
    size_t n = *size;
    DWORD o = PAGE_NOACCESS;
    NTSTATUS st;
    if (op == REMOTE_ALLOC)
        st = zero_bits ? STATUS_NOT_SUPPORTED : process_inject_alloc(rp, &a, &n, type, prot);
    else if (op == REMOTE_FREE)
        st = process_inject_free(rp, &a, &n, type);
    else
        st = process_inject_protect(rp, &a, &n, prot, &o);
    if (!st) {
        *base = (PVOID)a;
        *size = n;
    }
    if (old && (!st || op == REMOTE_PROTECT) && st != STATUS_NOT_SUPPORTED &&
        st != STATUS_ACCESS_DENIED)
        *old = o;
    return st;
}

NTSTATUS nt_remote_change(struct vw_process *rp, int op, PVOID *base, PSIZE_T size,
                          ULONG_PTR zero_bits, ULONG type, ULONG prot, PULONG old)
{
    struct remote_req q = { .op = (uint32_t)op, .type = type, .addr = (uintptr_t)*base,
                            .size = *size, .zero_bits = zero_bits, .prot = prot };
    struct remote_resp r;
    memset(&r, 0, sizeof r);
    NTSTATUS st = process_remote(rp, &q, &r);
    /* It does not serve.  A process that runs libvirtualwin keeps a map that
     * system calls made behind its back would make untrue: refused. */
    if (st == STATUS_NOT_SUPPORTED && !process_runs_library(rp))
        return change_by_injection(rp, op, base, size, zero_bits, type, prot, old);
    if (!st)
        st = r.status;
    if (!st) {
        *base = (PVOID)(uintptr_t)r.addr;
        *size = (SIZE_T)r.size;
    }
    if (old && r.old != UNSET && (!st || st == r.status))
        *old = r.old;
    return st;
}
