/*
 * query.c: the native edge for questions: NtQueryVirtualMemory with
 * MemoryBasicInformation (0), MemoryRegionInformation (3) and
 * MemoryWorkingSetExInformation (4).
 *
 * Order as Windows: the handle, the class (STATUS_INVALID_INFO_CLASS), the
 * buffer length (STATUS_INFO_LENGTH_MISMATCH), the probes of the buffer and
 * of ReturnLength (optional; STATUS_ACCESS_VIOLATION, nothing written), the
 * address (STATUS_INVALID_PARAMETER_2 above the user range); then the core
 * answers into a local copy and only then is the caller's buffer written.
 * No syscalls here; no lock.
 */
#include "nt/nt.h"
#include "core/vm.h"
#include "core/probe.h"
#include "core/process.h"

#include <stddef.h>
#include <string.h>

/* Buffers of the pre-19H1 size (up to CommitSize) are accepted. */
#define REGION_INFO_MIN offsetof(MEMORY_REGION_INFORMATION, PartitionId)

static NTSTATUS query_ws_ex(MEMORY_WORKING_SET_EX_INFORMATION *e, size_t n)
{
    int pagemap = -1;
    for (size_t i = 0; i < n; i++)
        e[i].VirtualAttributes.Flags = vm_ws_attributes((uintptr_t)e[i].VirtualAddress, &pagemap);
    vm_ws_done(pagemap);
    return STATUS_SUCCESS;
}

/* Another process: MemoryBasicInformation from its kernel view (process.h);
 * the other classes are not answered across processes. */
static NTSTATUS query_remote(struct vw_process *rp, uintptr_t p, MEMORY_INFORMATION_CLASS cls,
                             PVOID buf, SIZE_T len, PSIZE_T retlen)
{
    MEMORY_BASIC_INFORMATION m;
    NTSTATUS st;
    if (cls != MemoryBasicInformation)
        st = cls == MemoryRegionInformation || cls == MemoryWorkingSetExInformation
                 ? STATUS_NOT_SUPPORTED : STATUS_INVALID_INFO_CLASS;
    else if (len < sizeof m)
        st = STATUS_INFO_LENGTH_MISMATCH;
    else if (vw_probe(buf, sizeof m, VW_PROBE_WRITE) ||
             (retlen && vw_probe(retlen, sizeof *retlen, VW_PROBE_WRITE)))
        st = STATUS_ACCESS_VIOLATION;
    else if (p > VW_MAX_ADDR)
        st = STATUS_INVALID_PARAMETER_2;
    else if ((st = nt_remote_query(rp, page_floor(p), &m)) == STATUS_SUCCESS) {
        memcpy(buf, &m, sizeof m);
        if (retlen)
            *retlen = sizeof m;
    }
    process_put(rp);
    return st;
}

NTSTATUS nt_query(HANDLE h, PVOID addr, MEMORY_INFORMATION_CLASS cls, PVOID buf, SIZE_T len,
                  PSIZE_T retlen)
{
    vw_init();
    struct vw_process *remote;
    NTSTATUS st = vm_check_process(h, PROCESS_QUERY_LIMITED_INFORMATION, &remote);
    if (st)
        return st;
    if (__builtin_expect(remote != NULL, 0))
        return query_remote(remote, (uintptr_t)addr, cls, buf, len, retlen);
    uintptr_t p = (uintptr_t)addr;
    if (cls == MemoryBasicInformation) {
        /* The hot path (every VirtualQuery): the same order, fewer branches. */
        if (len < sizeof(MEMORY_BASIC_INFORMATION))
            return STATUS_INFO_LENGTH_MISMATCH;
        if (vw_probe(buf, sizeof(MEMORY_BASIC_INFORMATION), VW_PROBE_WRITE) ||
            (retlen && vw_probe(retlen, sizeof *retlen, VW_PROBE_WRITE)))
            return STATUS_ACCESS_VIOLATION;
        if (p > VW_MAX_ADDR)
            return STATUS_INVALID_PARAMETER_2;
        MEMORY_BASIC_INFORMATION m;
        vm_query(page_floor(p), &m);
        memcpy(buf, &m, sizeof m);
        if (retlen)
            *retlen = sizeof m;
        return STATUS_SUCCESS;
    }
    size_t need, out;
    switch (cls) {
    case MemoryRegionInformation:
        need = REGION_INFO_MIN;
        out = len < sizeof(MEMORY_REGION_INFORMATION) ? REGION_INFO_MIN
                                                       : sizeof(MEMORY_REGION_INFORMATION);
        break;
    case MemoryWorkingSetExInformation:
        need = sizeof(MEMORY_WORKING_SET_EX_INFORMATION);
        out = len - len % need;
        break;
    default: return STATUS_INVALID_INFO_CLASS;
    }
    if (len < need)
        return STATUS_INFO_LENGTH_MISMATCH;
    if (vw_probe(buf, out, VW_PROBE_WRITE) ||
        (retlen && vw_probe(retlen, sizeof *retlen, VW_PROBE_WRITE)))
        return STATUS_ACCESS_VIOLATION;
    if (cls == MemoryWorkingSetExInformation) {
        st = query_ws_ex(buf, out / need);   /* the address argument is not used */
    } else if (p > VW_MAX_ADDR) {
        return STATUS_INVALID_PARAMETER_2;
    } else {
        MEMORY_REGION_INFORMATION ri;
        st = vm_region(page_floor(p), &ri);
        if (st)
            return st;
        memcpy(buf, &ri, out);
    }
    if (retlen)
        *retlen = out;
    return st;
}

VW_API NTSTATUS NTAPI NtQueryVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress,
                                           MEMORY_INFORMATION_CLASS MemoryInformationClass,
                                           PVOID MemoryInformation,
                                           SIZE_T MemoryInformationLength, PSIZE_T ReturnLength)
{
    return nt_query(ProcessHandle, BaseAddress, MemoryInformationClass, MemoryInformation,
                    MemoryInformationLength, ReturnLength);
}
