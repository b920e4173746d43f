/*
 * virtual.c: the native edge for changing memory: NtAllocateVirtualMemory,
 * NtFreeVirtualMemory, NtProtectVirtualMemory, NtLockVirtualMemory,
 * NtUnlockVirtualMemory, NtFlushInstructionCache and RtlNtStatusToDosError.
 *
 * Each call validates in Windows' order (WRK allocvm.c, freevm.c, protect.c,
 * lockvm.c; Wine's ntdll conformance tests): the process handle, then the
 * by-value parameters (STATUS_INVALID_PARAMETER_n numbered by position,
 * STATUS_INVALID_PAGE_PROTECTION), then it probes every caller pointer
 * (STATUS_ACCESS_VIOLATION, nothing changed), reads the in/out values, checks
 * the range, asks the VM core to do the work, and only then writes the
 * rounded BaseAddress / RegionSize back.  A failed call writes nothing
 * (except NtProtectVirtualMemory's OldProtect, which Windows sets to
 * PAGE_NOACCESS on an address failure).  No syscalls here; no lock.
 */
#include "nt/nt.h"
#include "core/vm.h"
#include "core/probe.h"
#include "core/process.h"
#include "core/remote.h"
#include "core/space.h"

/* ZeroBits (64-bit Windows): 0 none; 1..21 the allocation stays at or below
 * 0xFFFFFFFF >> n (21 leaves nothing above the 64 KiB floor: NO_MEMORY);
 * 22..31 invalid; 32 and above a mask of which only the leading zeros count.
 * Returns the highest allowed address, 0 for no limit, or 1 if invalid. */
static uintptr_t zero_bits_limit(ULONG_PTR zb)
{
    if (zb == 0)
        return 0;
    if (zb < 32)
        return zb > 21 ? 1 : (uintptr_t)0xFFFFFFFFu >> zb;
    int high = 63 - __builtin_clzll((unsigned long long)zb);
    return high >= 63 ? 0 : ((uintptr_t)1 << (high + 1)) - 1;
}

/* AllocationType alone (STATUS_INVALID_PARAMETER_5 if wrong; the placeholder
 * flags come only through NtAllocateVirtualMemoryEx, which checks them in
 * nt_placeholder_type_invalid). */
static int type_invalid(ULONG type, ULONG prot)
{
    const ULONG allowed = MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_TOP_DOWN |
                          MEM_WRITE_WATCH | MEM_PHYSICAL | MEM_LARGE_PAGES |
                          MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER;
    if ((type & ~allowed) || !(type & (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)))
        return 1;
    if (nt_placeholder_type_invalid(type, prot))
        return 1;
    ULONG core = type & ~(ULONG)MEM_TOP_DOWN;
    if ((type & (MEM_RESET | MEM_RESET_UNDO)) && core != MEM_RESET && core != MEM_RESET_UNDO)
        return 1;
    /* MEM_WRITE_WATCH: with MEM_RESERVE, never with PHYSICAL or LARGE_PAGES. */
    if ((type & MEM_WRITE_WATCH) &&
        (!(type & MEM_RESERVE) || (type & (MEM_PHYSICAL | MEM_LARGE_PAGES))))
        return 1;
    if ((type & MEM_PHYSICAL) && core != (MEM_RESERVE | MEM_PHYSICAL))
        return 1;
    return (type & MEM_LARGE_PAGES) && !(type & MEM_COMMIT);
}

static int probe_inout(const void *base, const void *size)
{
    return vw_probe(base, sizeof(PVOID), VW_PROBE_WRITE) ||
           vw_probe(size, sizeof(SIZE_T), VW_PROBE_WRITE);
}

/* Another process: the by-value checks and the probes here, the rest in it
 * (nt/serve.c), which validates again as a call of its own would. */
static NTSTATUS allocate_remote(struct vw_process *rp, PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                PSIZE_T RegionSize, ULONG type, ULONG prot)
{
    NTSTATUS st;
    if (zero_bits_limit(ZeroBits) == 1)
        st = STATUS_INVALID_PARAMETER_3;
    else if (type_invalid(type, prot))
        st = STATUS_INVALID_PARAMETER_5;
    else if (!(type & (MEM_RESET | MEM_RESET_UNDO)) && prot_validate(prot))
        st = STATUS_INVALID_PAGE_PROTECTION;
    else if (probe_inout(BaseAddress, RegionSize))
        st = STATUS_ACCESS_VIOLATION;
    else
        st = nt_remote_change(rp, REMOTE_ALLOC, BaseAddress, RegionSize, ZeroBits, type, prot,
                              NULL);
    process_put(rp);
    return st;
}

/* The same for NtFreeVirtualMemory / NtProtectVirtualMemory. */
static NTSTATUS change_remote(struct vw_process *rp, int op, PVOID *BaseAddress,
                              PSIZE_T RegionSize, ULONG type, ULONG prot, PULONG old)
{
    NTSTATUS st;
    if (op == REMOTE_FREE && type != MEM_DECOMMIT && type != MEM_RELEASE)
        st = STATUS_INVALID_PARAMETER_4;
    else if (op == REMOTE_PROTECT && prot_validate_ex(prot, 1))
        st = STATUS_INVALID_PAGE_PROTECTION;
    else if (probe_inout(BaseAddress, RegionSize) ||
             (old && vw_probe(old, sizeof *old, VW_PROBE_WRITE)))
        st = STATUS_ACCESS_VIOLATION;
    else
        st = nt_remote_change(rp, op, BaseAddress, RegionSize, 0, type, prot, old);
    process_put(rp);
    return st;
}

NTSTATUS nt_allocate(HANDLE h, PVOID *BaseAddress, ULONG_PTR ZeroBits, PSIZE_T RegionSize,
                     ULONG type, ULONG prot)
{
    vw_init();
    struct vw_process *remote;
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, &remote);
    if (st)
        return st;
    if (__builtin_expect(remote != NULL, 0))
        return allocate_remote(remote, BaseAddress, ZeroBits, RegionSize, type, prot);
    uintptr_t limit = zero_bits_limit(ZeroBits);
    if (limit == 1)
        return STATUS_INVALID_PARAMETER_3;
    if (type & (MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER))
        return STATUS_INVALID_PARAMETER;   /* NtAllocateVirtualMemoryEx only */
    struct vm_window w = { 0, limit, 0 };
    return nt_allocate_in(BaseAddress, RegionSize, type, prot, &w, 0, STATUS_INVALID_PARAMETER_5);
}

NTSTATUS nt_allocate_in(PVOID *BaseAddress, PSIZE_T RegionSize, ULONG type, ULONG prot,
                        const struct vm_window *w, int required, NTSTATUS bad_type)
{
    NTSTATUS st;
    if (type_invalid(type, prot))
        return bad_type;
    /* AWE windows are read-write (WRK allocvm.c); the protection is the
     * parameter after the type in both calls (STATUS_INVALID_PARAMETER_n are
     * consecutive). */
    if ((type & MEM_PHYSICAL) && prot != PAGE_READWRITE)
        return (NTSTATUS)(bad_type + 1);
    if (!(type & (MEM_RESET | MEM_RESET_UNDO)) && prot_validate(prot))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (probe_inout(BaseAddress, RegionSize))
        return STATUS_ACCESS_VIOLATION;
    uintptr_t addr = (uintptr_t)*BaseAddress;
    size_t size = *RegionSize;
    if (addr && (addr < VW_MIN_ADDR || addr > VW_MAX_ADDR))
        return STATUS_INVALID_PARAMETER_2;
    if (size == 0 || vw_range_invalid(addr, size))
        return STATUS_INVALID_PARAMETER_4;
    /* MEM_ADDRESS_REQUIREMENTS place new allocations only; MEM_REPLACE_PLACEHOLDER
     * names its placeholder. */
    if ((addr && required) || (!addr && (type & MEM_REPLACE_PLACEHOLDER)))
        return STATUS_INVALID_PARAMETER;
    if (type & MEM_LARGE_PAGES) {
        /* Committed at once; with an address it must also say MEM_RESERVE
         * (at NULL the reservation is implicit, as for plain MEM_COMMIT). */
        size_t lp = vw_large_page_size();
        if ((addr && !(type & MEM_RESERVE)) || addr % lp)
            return STATUS_INVALID_PARAMETER_2;
        if (size % lp)
            return STATUS_INVALID_PARAMETER_4;
    }

    uintptr_t base = 0;
    size_t len = 0;
    if (type & (MEM_RESET | MEM_RESET_UNDO)) {
        if (!addr)
            return STATUS_CONFLICTING_ADDRESSES;
        base = page_floor(addr);
        len = page_ceil(addr + size) - base;
        st = vm_reset(base, base + len, !!(type & MEM_RESET_UNDO));
    } else if (type & MEM_REPLACE_PLACEHOLDER) {
        base = page_floor(addr);
        len = page_ceil(addr + size) - base;
        st = (type & MEM_WRITE_WATCH) ? STATUS_NOT_SUPPORTED
                                      : vm_placeholder_replace(base, base + len, type, prot);
    } else if ((type & MEM_RESERVE) || !addr) {
        st = vm_reserve_in(addr, size, type, prot, w, &base, &len);
    } else {
        base = page_floor(addr);
        len = page_ceil(addr + size) - base;
        st = vm_commit(base, base + len, prot);
    }
    if (st)
        return st;
    *BaseAddress = (PVOID)base;
    *RegionSize = len;
    return STATUS_SUCCESS;
}

NTSTATUS nt_free(HANDLE h, PVOID *BaseAddress, PSIZE_T RegionSize, ULONG type)
{
    vw_init();
    struct vw_process *remote;
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, &remote);
    if (st)
        return st;
    if (__builtin_expect(remote != NULL, 0))
        return change_remote(remote, REMOTE_FREE, BaseAddress, RegionSize, type, 0, NULL);
    const ULONG placeholder = MEM_PRESERVE_PLACEHOLDER | MEM_COALESCE_PLACEHOLDERS;
    if (type != MEM_DECOMMIT && type != MEM_RELEASE &&
        type != (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER) &&
        type != (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS))
        return STATUS_INVALID_PARAMETER_4;
    if (probe_inout(BaseAddress, RegionSize))
        return STATUS_ACCESS_VIOLATION;
    uintptr_t addr = (uintptr_t)*BaseAddress;
    size_t size = *RegionSize;
    if ((type & placeholder) && !size)
        return STATUS_INVALID_PARAMETER_3;
    /* Spec 5: an address in no allocation is ERROR_INVALID_ADDRESS, kernel
     * addresses included (the model tests it), so above the user range is
     * STATUS_MEMORY_NOT_ALLOCATED here, where the WRK's freevm.c is read as
     * STATUS_INVALID_PARAMETER_2: to be settled on Windows. */
    if (size && vw_range_invalid(addr, size))
        return STATUS_INVALID_PARAMETER_3;
    if (addr > VW_MAX_ADDR)
        return STATUS_MEMORY_NOT_ALLOCATED;
    uintptr_t start = page_floor(addr), end = size ? page_ceil(addr + size) : 0;
    if (!start)
        return STATUS_INVALID_PARAMETER;   /* the NULL page: never an allocation */
    uintptr_t base = start;
    size_t len = 0;
    if (type & placeholder) {
        st = (type & MEM_PRESERVE_PLACEHOLDER) ? vm_placeholder_preserve(start, end)
                                               : vm_placeholder_coalesce(start, end);
        len = end - start;
    } else if (type == MEM_RELEASE) {
        st = vm_release(start, end, &base, &len);
    } else {
        st = vm_decommit(start, end);
        len = size ? end - start : 0;   /* size 0: Windows 10 1803+ reports 0 */
    }
    if (st)
        return st;
    *BaseAddress = (PVOID)base;
    *RegionSize = len;
    return STATUS_SUCCESS;
}

/* The pages an in/out (BaseAddress, RegionSize) pair names, for protect and
 * lock: size 0 is the one page at the address.  Both were probed. */
static NTSTATUS inout_pages(PVOID *BaseAddress, PSIZE_T RegionSize, size_t *size,
                            uintptr_t *start, uintptr_t *end)
{
    uintptr_t addr = (uintptr_t)*BaseAddress;
    *size = *RegionSize;
    if (addr > VW_MAX_ADDR)
        return STATUS_INVALID_PARAMETER_2;
    if (vw_range_invalid(addr, *size ? *size : 1))
        return STATUS_INVALID_PARAMETER_3;
    *start = page_floor(addr);
    *end = *size ? page_ceil(addr + *size) : *start + vw_page();
    return STATUS_SUCCESS;
}

/* 1 if the caller's n bytes at p may still be written after a protection
 * change of [start, end): the probe before the change proved them writable;
 * only pages the change itself made unwritable can have changed.  Windows
 * ignores a fault on these late stores: the change stands, the value is lost. */
static int still_writable(const void *p, size_t n, uintptr_t start, uintptr_t end)
{
    uintptr_t a = (uintptr_t)p;
    return a + n <= start || a >= end || vw_probe(p, n, VW_PROBE_WRITE) == 0;
}

NTSTATUS nt_protect(HANDLE h, PVOID *BaseAddress, PSIZE_T RegionSize, ULONG prot, PULONG old)
{
    vw_init();
    struct vw_process *remote;
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, &remote);
    if (st)
        return st;
    if (__builtin_expect(remote != NULL, 0))
        return change_remote(remote, REMOTE_PROTECT, BaseAddress, RegionSize, 0, prot, old);
    /* WRITECOPY is checked against the memory below (foreign file mappings only). */
    if (prot_validate_ex(prot, 1))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (probe_inout(BaseAddress, RegionSize) || vw_probe(old, sizeof *old, VW_PROBE_WRITE))
        return STATUS_ACCESS_VIOLATION;
    size_t size;
    uintptr_t start, end;
    if ((st = inout_pages(BaseAddress, RegionSize, &size, &start, &end)))
        return st;
    DWORD o = PAGE_NOACCESS;
    st = vm_protect(start, end, size != 0, prot, &o);
    if (st != STATUS_INVALID_PAGE_PROTECTION && still_writable(old, sizeof *old, start, end))
        *old = o;
    if (st)
        return st;
    if (still_writable(BaseAddress, sizeof *BaseAddress, start, end))
        *BaseAddress = (PVOID)start;
    if (still_writable(RegionSize, sizeof *RegionSize, start, end))
        *RegionSize = size ? end - start : 0;
    return STATUS_SUCCESS;
}

NTSTATUS nt_lock(HANDLE h, PVOID *BaseAddress, PSIZE_T RegionSize, ULONG map_type, int lock)
{
    vw_init();
    NTSTATUS st = vm_check_process(h, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    if ((map_type & ~(ULONG)(MAP_PROCESS | MAP_SYSTEM)) || !(map_type & (MAP_PROCESS | MAP_SYSTEM)))
        return STATUS_INVALID_PARAMETER_4;
    if (map_type & MAP_SYSTEM)
        return STATUS_PRIVILEGE_NOT_HELD;   /* SeLockMemoryPrivilege: never held */
    if (probe_inout(BaseAddress, RegionSize))
        return STATUS_ACCESS_VIOLATION;
    size_t size;
    uintptr_t start, end;
    if ((st = inout_pages(BaseAddress, RegionSize, &size, &start, &end)))
        return st;
    st = vm_lock(start, end, lock);
    /* Unlocking a partly locked range unlocks the locked pages and still
     * fails; the rounded range is reported on success only. */
    if (st)
        return st;
    *BaseAddress = (PVOID)start;
    *RegionSize = end - start;
    return STATUS_SUCCESS;
}

NTSTATUS nt_flush_icache(HANDLE h, PVOID base, SIZE_T len)
{
    struct vw_process *remote;
    NTSTATUS st = vm_check_process(h, PROCESS_VM_WRITE, &remote);
    if (st)
        return st;
    if (remote)
        process_put(remote);   /* WriteProcessMemory's writes were flushed by the kernel */
    else
        vm_flush_icache((uintptr_t)base, len);
    return STATUS_SUCCESS;
}

ULONG nt_dos_error(NTSTATUS st)
{
    return vm_dos_error(st);
}

VW_API NTSTATUS NTAPI NtAllocateVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                              ULONG_PTR ZeroBits, PSIZE_T RegionSize,
                                              ULONG AllocationType, ULONG Protect)
{
    return nt_allocate(ProcessHandle, BaseAddress, ZeroBits, RegionSize, AllocationType, Protect);
}

VW_API NTSTATUS NTAPI NtFreeVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                          PSIZE_T RegionSize, ULONG FreeType)
{
    return nt_free(ProcessHandle, BaseAddress, RegionSize, FreeType);
}

VW_API NTSTATUS NTAPI NtProtectVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                             PSIZE_T RegionSize, ULONG NewProtect,
                                             PULONG OldProtect)
{
    return nt_protect(ProcessHandle, BaseAddress, RegionSize, NewProtect, OldProtect);
}

VW_API NTSTATUS NTAPI NtLockVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                          PSIZE_T RegionSize, ULONG MapType)
{
    return nt_lock(ProcessHandle, BaseAddress, RegionSize, MapType, 1);
}

VW_API NTSTATUS NTAPI NtUnlockVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                            PSIZE_T RegionSize, ULONG MapType)
{
    return nt_lock(ProcessHandle, BaseAddress, RegionSize, MapType, 0);
}

VW_API NTSTATUS NTAPI NtFlushInstructionCache(HANDLE ProcessHandle, PVOID BaseAddress,
                                              SIZE_T Length)
{
    return nt_flush_icache(ProcessHandle, BaseAddress, Length);
}

VW_API ULONG NTAPI RtlNtStatusToDosError(NTSTATUS Status)
{
    return nt_dos_error(Status);
}
