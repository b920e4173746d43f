/*
 * object.c: the native object calls on the handle table: NtClose and
 * NtDuplicateObject.
 *
 * Pseudo handles (the current process -1, the current thread -2, the tokens
 * -4 to -6) are not in the table: closing one succeeds and does nothing, as
 * on Windows.  Duplicating the process pseudo handle gives a real handle to
 * the current process (the process family, core/process.h), as on Windows;
 * DUPLICATE_SAME_ACCESS gives it PROCESS_ALL_ACCESS, the pseudo handle's
 * rights.  Threads and tokens are not objects here: duplicating their pseudo
 * handles is STATUS_NOT_SUPPORTED.
 * No syscalls here; the table's lock is the core's.
 */
#include "nt/nt.h"
#include "core/vm.h"
#include "core/handles.h"
#include "core/process.h"
#include "core/probe.h"

/* The pseudo handles: -1 the current process, -2 the current thread, -4, -5
 * and -6 the process, thread and effective thread tokens
 * (GetCurrentProcessToken and friends; the compat <winbase.h> hands out -4). */
static int is_pseudo(HANDLE h)
{
    intptr_t v = (intptr_t)h;
    return v == -1 || v == -2 || (v <= -4 && v >= -6);
}

NTSTATUS nt_close(HANDLE h)
{
    return is_pseudo(h) ? STATUS_SUCCESS : handle_close(h);
}

NTSTATUS nt_duplicate(HANDLE src_process, HANDLE src, HANDLE dst_process, PHANDLE dst,
                      ACCESS_MASK access, ULONG attributes, ULONG options)
{
    (void)attributes;   /* OBJ_INHERIT: no child processes inherit by exec here */
    NTSTATUS st = vm_check_process(src_process, PROCESS_DUP_HANDLE, NULL);
    if (st)
        return st;
    if (options & ~(ULONG)(DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS |
                           DUPLICATE_SAME_ATTRIBUTES))
        return STATUS_INVALID_PARAMETER;
    /* Windows: DUPLICATE_CLOSE_SOURCE closes the source whatever else fails. */
    int close_src = !!(options & DUPLICATE_CLOSE_SOURCE);
    if (!dst_process && !dst) {
        st = close_src ? STATUS_SUCCESS : STATUS_INVALID_HANDLE;
    } else if ((st = vm_check_process(dst_process, PROCESS_DUP_HANDLE, NULL)) == STATUS_SUCCESS) {
        if (dst && vw_probe(dst, sizeof *dst, VW_PROBE_WRITE))
            st = STATUS_ACCESS_VIOLATION;
        else if (src == VW_PSEUDO_PROCESS) {
            ULONG pid;
            HANDLE h;
            process_id(VW_PSEUDO_PROCESS, &pid);
            st = process_open(pid, (options & DUPLICATE_SAME_ACCESS) ? PROCESS_ALL_ACCESS : access,
                              &h);
            if (!st && dst)
                *dst = h;
            else if (!st)
                handle_close(h);
        } else if (is_pseudo(src))
            st = STATUS_NOT_SUPPORTED;
        else {
            struct vw_object *o;
            ACCESS_MASK granted;
            st = handle_ref(src, VW_HT_ANY, &o, &granted);
            if (!st) {
                HANDLE h;
                st = handle_insert(o, (options & DUPLICATE_SAME_ACCESS) ? granted : access, &h);
                vw_object_put(o);
                if (!st && dst)
                    *dst = h;
                else if (!st)
                    handle_close(h);
            }
        }
    }
    if (close_src && !is_pseudo(src)) {
        NTSTATUS cst = handle_close(src);
        if (!st && cst)
            st = cst;
    }
    return st;
}

VW_API NTSTATUS NTAPI NtClose(HANDLE Handle)
{
    return nt_close(Handle);
}

VW_API NTSTATUS NTAPI NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle,
                                        HANDLE TargetProcessHandle, PHANDLE TargetHandle,
                                        ACCESS_MASK DesiredAccess, ULONG HandleAttributes,
                                        ULONG Options)
{
    return nt_duplicate(SourceProcessHandle, SourceHandle, TargetProcessHandle, TargetHandle,
                        DesiredAccess, HandleAttributes, Options);
}
