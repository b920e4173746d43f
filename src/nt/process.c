/*
 * process.c (nt): reading and writing another process's memory, the bodies
 * of ReadProcessMemory and WriteProcessMemory (NtReadVirtualMemory and
 * NtWriteVirtualMemory on Windows).
 *
 * Order as Windows (WRK readwrt.c): the handle and its rights (PROCESS_VM_READ;
 * PROCESS_VM_WRITE and PROCESS_VM_OPERATION), then both ranges must lie in the
 * user range without wrapping and the optional count pointer must be
 * writable (STATUS_ACCESS_VIOLATION), then the copy: all of it, or STATUS_PARTIAL_COPY
 * with the count of bytes copied.  The caller's buffer is not probed: the
 * kernel copies to and from it and reports a bad one as a short copy, never
 * a fault.  No syscalls here.
 */
#include "nt/nt.h"
#include "core/vm.h"
#include "core/probe.h"
#include "core/process.h"

static int range_bad(uintptr_t a, size_t n)
{
    return n && (a + n < a || a + n - 1 > VW_MAX_ADDR);
}

static NTSTATUS copy(HANDLE h, uintptr_t remote_addr, void *local, size_t n, PSIZE_T done,
                     int write)
{
    vw_init();
    struct vw_process *rp;
    ACCESS_MASK need = write ? PROCESS_VM_WRITE | PROCESS_VM_OPERATION : PROCESS_VM_READ;
    NTSTATUS st = vm_check_process(h, need, &rp);
    if (st)
        return st;
    size_t got = 0;
    int done_bad = done && vw_probe(done, sizeof *done, VW_PROBE_WRITE);
    if (range_bad(remote_addr, n) || range_bad((uintptr_t)local, n) || done_bad)
        st = STATUS_ACCESS_VIOLATION;
    else if (write)
        st = process_write(rp, remote_addr, local, n, &got);
    else
        st = process_read(rp, remote_addr, local, n, &got);
    process_put(rp);
    if (done && !done_bad)
        *done = got;
    return st;
}

NTSTATUS nt_read_vm(HANDLE h, PVOID base, PVOID buf, SIZE_T n, PSIZE_T done)
{
    return copy(h, (uintptr_t)base, buf, n, done, 0);
}

NTSTATUS nt_write_vm(HANDLE h, PVOID base, const void *buf, SIZE_T n, PSIZE_T done)
{
    return copy(h, (uintptr_t)base, (void *)buf, n, done, 1);
}
