/*
 * nt.h: the native edge's internal entry points, for the Win32 edge above it.
 *
 * nt_* are the bodies of the exported Nt* calls (nt/virtual.c, nt/query.c),
 * called by the Win32 wrappers directly so that a program's own definition of
 * an Nt* name (or a second copy of the library) can never be reached from
 * inside, and so that the native calls leave no trace lines of their own.
 * Same arguments, same NTSTATUS, same probing of caller pointers.
 */
#ifndef VW_NT_NT_H
#define VW_NT_NT_H

#include <virtualwin/nt.h>
#include <stdint.h>

NTSTATUS nt_allocate(HANDLE h, PVOID *base, ULONG_PTR zero_bits, PSIZE_T size, ULONG type,
                     ULONG prot);
NTSTATUS nt_free(HANDLE h, PVOID *base, PSIZE_T size, ULONG type);
/* NtAllocateVirtualMemoryEx (nt/virtual_ex.c), and the allocation both
 * native calls share (nt/virtual.c): the process checked, a placement window
 * (`required`: it came from MEM_ADDRESS_REQUIREMENTS, so a base address is
 * refused), and the status for a bad AllocationType (_5 natively, plain
 * STATUS_INVALID_PARAMETER for the Ex call). */
struct vm_window;
NTSTATUS nt_allocate_ex(HANDLE h, PVOID *base, PSIZE_T size, ULONG type, ULONG prot,
                        MEM_EXTENDED_PARAMETER *params, ULONG count);
NTSTATUS nt_allocate_in(PVOID *base, PSIZE_T size, ULONG type, ULONG prot,
                        const struct vm_window *w, int required, NTSTATUS bad_type);
/* 1 if the placeholder flags of an AllocationType break Windows' rules. */
int nt_placeholder_type_invalid(ULONG type, ULONG prot);
NTSTATUS nt_protect(HANDLE h, PVOID *base, PSIZE_T size, ULONG prot, PULONG old);
NTSTATUS nt_query(HANDLE h, PVOID addr, MEMORY_INFORMATION_CLASS cls, PVOID buf, SIZE_T len,
                  PSIZE_T retlen);
NTSTATUS nt_lock(HANDLE h, PVOID *base, PSIZE_T size, ULONG map_type, int lock);
NTSTATUS nt_flush_icache(HANDLE h, PVOID base, SIZE_T len);
/* NtClose, NtDuplicateObject (nt/object.c). */
NTSTATUS nt_close(HANDLE h);
NTSTATUS nt_duplicate(HANDLE src_process, HANDLE src, HANDLE dst_process, PHANDLE dst,
                      ACCESS_MASK access, ULONG attributes, ULONG options);
/* ReadProcessMemory / WriteProcessMemory (nt/process.c): *done (optional)
 * gets the bytes copied, also with STATUS_PARTIAL_COPY. */
NTSTATUS nt_read_vm(HANDLE h, PVOID base, PVOID buf, SIZE_T n, PSIZE_T done);
NTSTATUS nt_write_vm(HANDLE h, PVOID base, const void *buf, SIZE_T n, PSIZE_T done);
/* The request channel's client side (nt/serve.c): work done by another
 * process that serves (core/remote.h).  nt_remote_query falls back to the
 * kernel's view; nt_remote_change (op REMOTE_ALLOC, REMOTE_FREE,
 * REMOTE_PROTECT) gives STATUS_NOT_SUPPORTED for a process that does not
 * serve.  The caller's pointers must be probed already. */
struct vw_process;
NTSTATUS nt_remote_query(struct vw_process *rp, uintptr_t addr, MEMORY_BASIC_INFORMATION *m);
NTSTATUS nt_remote_change(struct vw_process *rp, int op, PVOID *base, PSIZE_T size,
                          ULONG_PTR zero_bits, ULONG type, ULONG prot, PULONG old);
NTSTATUS nt_get_write_watch(HANDLE h, ULONG flags, PVOID base, SIZE_T size, PVOID *addresses,
                            PULONG_PTR count, PULONG granularity);
NTSTATUS nt_reset_write_watch(HANDLE h, PVOID base, SIZE_T size);
/* Address Windowing Extensions (nt/awe.c). */
NTSTATUS nt_awe_alloc(HANDLE h, PULONG_PTR n, PULONG_PTR frames);
NTSTATUS nt_awe_free(HANDLE h, PULONG_PTR n, PULONG_PTR frames);
NTSTATUS nt_awe_map(PVOID addr, ULONG_PTR n, PULONG_PTR frames);
NTSTATUS nt_awe_scatter(PVOID *addrs, ULONG_PTR n, PULONG_PTR frames);
/* Sections, views and file handles (nt/section.c); names in UTF-8, out
 * handles in the caller's (the Win32 edge's) locals. */
NTSTATUS nt_create_section(HANDLE *h, HANDLE file, uint64_t size, ULONG prot, ULONG attrs,
                           const char *name, int *existed);
NTSTATUS nt_open_section(HANDLE *h, ACCESS_MASK access, const char *name);
NTSTATUS nt_map_view(HANDLE section, HANDLE process, PVOID *base, ULONG_PTR zero_bits,
                     SIZE_T commit, const LARGE_INTEGER *offset, PSIZE_T size, ULONG inherit,
                     ULONG type, ULONG prot);
NTSTATUS nt_unmap_view(HANDLE process, PVOID base, ULONG flags);
NTSTATUS nt_flush_view(HANDLE process, PVOID base, SIZE_T size);
NTSTATUS nt_create_file(HANDLE *h, const char *path, ACCESS_MASK access, ULONG disposition,
                        int *existed);
NTSTATUS nt_file_size(HANDLE h, uint64_t *size);
/* RtlNtStatusToDosError. */
ULONG nt_dos_error(NTSTATUS st);

#endif
