/*
 * process.h: the process family: handles to processes (OpenProcess, a
 * duplicate of GetCurrentProcess()) and the work done on another process's
 * memory from outside it (core/process.c).
 *
 * How a native call routes its process handle (vm_check_process, vm.h):
 * - the pseudo handle (HANDLE)-1: this process, decided inline, no lookup
 *   (the fast path every plain Virtual* call takes);
 * - a handle to a process object: its rights are checked against the call's
 *   (STATUS_ACCESS_DENIED), then a handle to THIS process (the pid it names is
 *   ours; a fork child's inherited handle names its parent) is the local core
 *   exactly as the pseudo handle; any other process is "remote": the edge gets
 *   the object (referenced) and calls the process_* operations below.
 * A remote object records the descriptors that hold the kernel's decisions:
 * a pidfd (liveness, exit status), /proc/PID/mem (opened O_RDWR: the kernel
 * allowed PTRACE_MODE_ATTACH, so it is the proof of access; it writes through
 * read-only pages as ptrace does) and /proc/PID/maps (the kernel's view).
 * The library never grants more than the kernel does: each operation goes
 * through those descriptors or through calls the kernel checks again.
 */
#ifndef VW_CORE_PROCESS_H
#define VW_CORE_PROCESS_H

#include "core/handles.h"
#include "core/foreign.h"

struct vw_process;

/* OpenProcess: a handle with rights `access` to process pid.  STATUS_INVALID_CID
 * (no such process, pid 0, a thread that is not a process), STATUS_ACCESS_DENIED
 * (the kernel would not let the caller ptrace it), STATUS_INSUFFICIENT_RESOURCES. */
NTSTATUS process_open(ULONG pid, ACCESS_MASK access, HANDLE *h);
/* The process id a handle names (the pseudo handle: ours); needs
 * PROCESS_QUERY_LIMITED_INFORMATION. */
NTSTATUS process_id(HANDLE h, ULONG *pid);
/* GetExitCodeProcess: STILL_ACTIVE (259) while it runs, else its exit status
 * (a child of this process); STATUS_NOT_SUPPORTED when Linux does not say. */
NTSTATUS process_exit_code(HANDLE h, ULONG *code);

/* The slow path of vm_check_process: h is not the pseudo handle.  `need` is
 * every right the call requires.  STATUS_SUCCESS with *remote NULL: the call
 * works on this process; with *remote set: on that process (the caller drops
 * it with process_put).  remote NULL: the caller has no remote path, and a
 * handle to another process gives STATUS_NOT_SUPPORTED. */
NTSTATUS process_check(HANDLE h, ACCESS_MASK need, struct vw_process **remote);
void process_put(struct vw_process *p);

/* ReadProcessMemory / WriteProcessMemory on p (NULL: this process): all n
 * bytes or STATUS_PARTIAL_COPY; *done the bytes copied either way.  Writes
 * go through read-only and executable pages (never NOACCESS, guard or
 * unmapped ones) with the instruction cache kept coherent by the kernel. */
NTSTATUS process_read(struct vw_process *p, uintptr_t addr, void *buf, size_t n, size_t *done);
NTSTATUS process_write(struct vw_process *p, uintptr_t addr, const void *buf, size_t n,
                       size_t *done);
/* VirtualQueryEx on a remote process: the kernel's view typed as for this
 * process.  STATUS_PROCESS_IS_TERMINATING once it has exited. */
NTSTATUS process_query(struct vw_process *p, uintptr_t addr, MEMORY_BASIC_INFORMATION *m);

/* p's pid; whether libvirtualwin was mapped in it when it was opened. */
int process_pid(const struct vw_process *p);
int process_runs_library(const struct vw_process *p);

/* VirtualAllocEx / VirtualProtectEx / VirtualFreeEx on a process that does not
 * serve, by system calls injected with ptrace (core/inject.c has what is
 * supported): *addr and *size in (caller's values) and out (what was done);
 * STATUS_ACCESS_DENIED when the kernel refuses ptrace, STATUS_NOT_SUPPORTED
 * for what the kernel view cannot express.  Nothing changes on failure. */
NTSTATUS process_inject_alloc(struct vw_process *p, uintptr_t *addr, size_t *size, ULONG type,
                              DWORD prot);
NTSTATUS process_inject_protect(struct vw_process *p, uintptr_t *addr, size_t *size, DWORD prot,
                                DWORD *old);
NTSTATUS process_inject_free(struct vw_process *p, uintptr_t *addr, size_t *size, ULONG type);

/* One request to p's service (core/remote.h), p's mem descriptor attached:
 * STATUS_SUCCESS and *r (r->status is the operation's), STATUS_NOT_SUPPORTED
 * when p does not serve, STATUS_PROCESS_IS_TERMINATING once it has exited. */
struct remote_req;
struct remote_resp;
NTSTATUS process_remote(struct vw_process *p, struct remote_req *q, struct remote_resp *r);

#endif
