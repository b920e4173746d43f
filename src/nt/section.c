/*
 * section.c: the native edge of sections and views: validation in Windows'
 * order, then the VM core (core/vm_section.h).  Internal nt_* bodies for the
 * Win32 wrappers, and the exported NtMapViewOfSection, NtUnmapViewOfSection
 * and NtUnmapViewOfSectionEx.
 *
 * Names reach here as UTF-8 (the Win32 edge converts and probes them).
 * Caller pointers of the exported calls are probed before anything changes;
 * out values are written only on success.  No syscalls, no lock.
 */
#include "nt/nt.h"
#include "core/vm_section.h"
#include "core/probe.h"
#include "core/space.h"

#define SEC_NOCACHE_ 0x10000000u
#define SEC_WRITECOMBINE_ 0x40000000u
#define SEC_IMAGE_ 0x1000000u
#define SEC_LARGE_PAGES_ 0x80000000u
#define SEC_IMAGE_NO_EXECUTE_ 0x11000000u

/* The protection of a section: exactly one of the six mappable ones. */
static int section_prot_ok(ULONG p)
{
    switch (p) {
    case PAGE_READONLY:
    case PAGE_READWRITE:
    case PAGE_WRITECOPY:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY: return 1;
    default: return 0;
    }
}

NTSTATUS nt_create_section(HANDLE *h, HANDLE file, uint64_t size, ULONG prot, ULONG attrs,
                           const char *name, int *existed)
{
    vw_init();
    const ULONG known = VW_SEC_COMMIT | VW_SEC_RESERVE | VW_SEC_FILE | SEC_NOCACHE_ |
                        SEC_WRITECOMBINE_ | SEC_IMAGE_ | SEC_LARGE_PAGES_;
    *existed = 0;
    if (!section_prot_ok(prot))
        return STATUS_INVALID_PAGE_PROTECTION;
    if ((attrs & ~known) || (attrs & VW_SEC_COMMIT && attrs & VW_SEC_RESERVE))
        return STATUS_INVALID_PARAMETER_6;
    if (attrs & (SEC_IMAGE_ | SEC_LARGE_PAGES_))
        return STATUS_NOT_SUPPORTED;   /* README: images and large-page sections */
    if (!file)
        return STATUS_INVALID_HANDLE;
    if (file == INVALID_HANDLE_VALUE && size == 0)
        return STATUS_INVALID_PARAMETER_4;
    if (size > (uint64_t)1 << 47)
        return STATUS_SECTION_TOO_BIG;
    ULONG kind = (attrs & VW_SEC_RESERVE) && file == INVALID_HANDLE_VALUE ? VW_SEC_RESERVE
                                                                          : VW_SEC_COMMIT;
    return vm_section_create(file, size, prot, kind, name, h, existed);
}

NTSTATUS nt_open_section(HANDLE *h, ACCESS_MASK access, const char *name)
{
    vw_init();
    if (!name)
        return STATUS_INVALID_PARAMETER;
    if (!*name)
        return STATUS_OBJECT_NAME_INVALID;
    return vm_section_open(name, access, h);
}

NTSTATUS nt_map_view(HANDLE section, HANDLE process, PVOID *BaseAddress, ULONG_PTR ZeroBits,
                     SIZE_T CommitSize, const LARGE_INTEGER *SectionOffset, PSIZE_T ViewSize,
                     ULONG InheritDisposition, ULONG AllocationType, ULONG Win32Protect)
{
    vw_init();
    (void)CommitSize;   /* SEC_RESERVE views start reserved; commit is VirtualAlloc's */
    (void)ZeroBits;
    NTSTATUS st = vm_check_process(process, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    if (InheritDisposition != 1 && InheritDisposition != 2)   /* ViewShare, ViewUnmap */
        return STATUS_INVALID_PARAMETER_8;
    if (AllocationType & ~(ULONG)(MEM_TOP_DOWN | MEM_RESERVE | MEM_REPLACE_PLACEHOLDER))
        return STATUS_INVALID_PARAMETER_9;
    if (prot_validate_ex(Win32Protect, 1) || (Win32Protect & VW_PROT_MODIFIERS))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (vw_probe(BaseAddress, sizeof *BaseAddress, VW_PROBE_WRITE) ||
        vw_probe(ViewSize, sizeof *ViewSize, VW_PROBE_WRITE) ||
        (SectionOffset && vw_probe(SectionOffset, sizeof *SectionOffset, VW_PROBE_READ)))
        return STATUS_ACCESS_VIOLATION;
    uintptr_t addr = (uintptr_t)*BaseAddress;
    size_t size = *ViewSize;
    int64_t off = SectionOffset ? SectionOffset->QuadPart : 0;
    int replace = !!(AllocationType & MEM_REPLACE_PLACEHOLDER);
    if (off < 0)
        return STATUS_INVALID_PARAMETER;
    if ((addr & (VW_GRANULE - 1)) || ((uint64_t)off & (VW_GRANULE - 1)))
        return STATUS_MAPPED_ALIGNMENT;
    if (addr && (addr < VW_MIN_ADDR || addr > VW_MAX_ADDR))
        return STATUS_INVALID_PARAMETER_3;
    if (replace && (!addr || !size))
        return STATUS_INVALID_PARAMETER;
    uintptr_t base;
    size_t len;
    st = vm_view_map(section, addr, (uint64_t)off, size, Win32Protect, replace, &base, &len);
    if (st)
        return st;
    *BaseAddress = (PVOID)base;
    *ViewSize = len;
    return STATUS_SUCCESS;
}

NTSTATUS nt_unmap_view(HANDLE process, PVOID base, ULONG flags)
{
    vw_init();
    NTSTATUS st = vm_check_process(process, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    if (flags & ~(ULONG)(MEM_PRESERVE_PLACEHOLDER | MEM_UNMAP_WITH_TRANSIENT_BOOST))
        return STATUS_INVALID_PARAMETER;
    return vm_view_unmap((uintptr_t)base, !!(flags & MEM_PRESERVE_PLACEHOLDER));
}

NTSTATUS nt_flush_view(HANDLE process, PVOID base, SIZE_T size)
{
    vw_init();
    NTSTATUS st = vm_check_process(process, PROCESS_VM_OPERATION, NULL);
    if (st)
        return st;
    return vm_view_flush((uintptr_t)base, size);
}

NTSTATUS nt_create_file(HANDLE *h, const char *path, ACCESS_MASK access, ULONG disposition,
                        int *existed)
{
    vw_init();
    *existed = 0;
    if (!path || !*path)
        return STATUS_OBJECT_NAME_NOT_FOUND;
    return vm_file_open(path, access, disposition, h, existed);
}

NTSTATUS nt_file_size(HANDLE h, uint64_t *size)
{
    vw_init();
    return vm_file_size(h, size);
}

VW_API NTSTATUS NTAPI NtMapViewOfSection(HANDLE SectionHandle, HANDLE ProcessHandle,
                                         PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                         SIZE_T CommitSize, PLARGE_INTEGER SectionOffset,
                                         PSIZE_T ViewSize, SECTION_INHERIT InheritDisposition,
                                         ULONG AllocationType, ULONG Win32Protect)
{
    return nt_map_view(SectionHandle, ProcessHandle, BaseAddress, ZeroBits, CommitSize,
                       SectionOffset, ViewSize, (ULONG)InheritDisposition, AllocationType,
                       Win32Protect);
}

VW_API NTSTATUS NTAPI NtUnmapViewOfSection(HANDLE ProcessHandle, PVOID BaseAddress)
{
    return nt_unmap_view(ProcessHandle, BaseAddress, 0);
}

VW_API NTSTATUS NTAPI NtUnmapViewOfSectionEx(HANDLE ProcessHandle, PVOID BaseAddress, ULONG Flags)
{
    return nt_unmap_view(ProcessHandle, BaseAddress, Flags);
}
