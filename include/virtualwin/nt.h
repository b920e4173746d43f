/*
 * virtualwin/nt.h: the native (ntdll) virtual-memory calls of libvirtualwin.
 *
 * NtAllocateVirtualMemory, NtFreeVirtualMemory, NtProtectVirtualMemory,
 * NtQueryVirtualMemory, NtLockVirtualMemory, NtUnlockVirtualMemory,
 * NtFlushInstructionCache and RtlNtStatusToDosError, with the NTSTATUS codes,
 * information classes and structure layouts of the Windows SDK/DDK (x64).
 * The Win32 calls of <virtualwin.h> are thin wrappers over these, as
 * kernelbase's are over ntdll's: a failing native call returns its NTSTATUS,
 * and the Win32 call sets RtlNtStatusToDosError(status) as its last error.
 *
 * Usable from C (C99 and later) and C++.  Included by the compat
 * <winternl.h> and <ntstatus.h>.
 */
#ifndef VIRTUALWIN_NT_H
#define VIRTUALWIN_NT_H

#include <virtualwin.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NTSYSAPI
#define NTSYSAPI WINBASEAPI
#endif
#ifndef NTAPI
#define NTAPI
#endif

#ifndef VIRTUALWIN_NTSTATUS_DEFINED
#define VIRTUALWIN_NTSTATUS_DEFINED
typedef LONG NTSTATUS;
typedef NTSTATUS *PNTSTATUS;
#endif
#ifndef NT_SUCCESS
#define NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)
#endif
#ifndef NtCurrentProcess
#define NtCurrentProcess() ((HANDLE)(LONG_PTR)-1)
#endif

/* ---- status codes (ntstatus.h values) ---------------------------------- */
#ifndef STATUS_SUCCESS
#define STATUS_SUCCESS                  ((NTSTATUS)0x00000000L)
#endif
#ifndef STATUS_GUARD_PAGE_VIOLATION
#define STATUS_GUARD_PAGE_VIOLATION     ((NTSTATUS)0x80000001L)
#endif
#define STATUS_PARTIAL_COPY             ((NTSTATUS)0x8000000DL)
#define STATUS_DEVICE_BUSY              ((NTSTATUS)0x80000011L)
#define STATUS_UNSUCCESSFUL             ((NTSTATUS)0xC0000001L)
#define STATUS_NOT_IMPLEMENTED          ((NTSTATUS)0xC0000002L)
#define STATUS_INVALID_INFO_CLASS       ((NTSTATUS)0xC0000003L)
#define STATUS_INFO_LENGTH_MISMATCH     ((NTSTATUS)0xC0000004L)
#ifndef STATUS_ACCESS_VIOLATION
#define STATUS_ACCESS_VIOLATION         ((NTSTATUS)0xC0000005L)
#endif
#define STATUS_PAGEFILE_QUOTA           ((NTSTATUS)0xC0000007L)
#define STATUS_INVALID_HANDLE           ((NTSTATUS)0xC0000008L)
#define STATUS_INVALID_CID              ((NTSTATUS)0xC000000BL)
#define STATUS_INVALID_PARAMETER        ((NTSTATUS)0xC000000DL)
#define STATUS_NO_MEMORY                ((NTSTATUS)0xC0000017L)
#define STATUS_CONFLICTING_ADDRESSES    ((NTSTATUS)0xC0000018L)
#define STATUS_UNABLE_TO_FREE_VM        ((NTSTATUS)0xC000001AL)
#define STATUS_ACCESS_DENIED            ((NTSTATUS)0xC0000022L)
#define STATUS_OBJECT_TYPE_MISMATCH     ((NTSTATUS)0xC0000024L)
#define STATUS_NOT_LOCKED               ((NTSTATUS)0xC000002AL)
#define STATUS_NOT_COMMITTED            ((NTSTATUS)0xC000002DL)
#define STATUS_INVALID_PAGE_PROTECTION  ((NTSTATUS)0xC0000045L)
#define STATUS_INCOMPATIBLE_FILE_MAP    ((NTSTATUS)0xC000004DL)
#define STATUS_PRIVILEGE_NOT_HELD       ((NTSTATUS)0xC0000061L)
#define STATUS_PROCEDURE_NOT_FOUND      ((NTSTATUS)0xC000007AL)
#define STATUS_INSUFFICIENT_RESOURCES   ((NTSTATUS)0xC000009AL)
#define STATUS_POSSIBLE_DEADLOCK        ((NTSTATUS)0xC0000194L)
#define STATUS_FREE_VM_NOT_AT_BASE      ((NTSTATUS)0xC000009FL)
#define STATUS_MEMORY_NOT_ALLOCATED     ((NTSTATUS)0xC00000A0L)
#define STATUS_WORKING_SET_QUOTA        ((NTSTATUS)0xC00000A1L)
#define STATUS_NOT_SUPPORTED            ((NTSTATUS)0xC00000BBL)
#define STATUS_PROCESS_IS_TERMINATING   ((NTSTATUS)0xC000010AL)
#define STATUS_INVALID_PARAMETER_1      ((NTSTATUS)0xC00000EFL)
#define STATUS_INVALID_PARAMETER_2      ((NTSTATUS)0xC00000F0L)
#define STATUS_INVALID_PARAMETER_3      ((NTSTATUS)0xC00000F1L)
#define STATUS_INVALID_PARAMETER_4      ((NTSTATUS)0xC00000F2L)
#define STATUS_INVALID_PARAMETER_5      ((NTSTATUS)0xC00000F3L)
#define STATUS_INVALID_PARAMETER_6      ((NTSTATUS)0xC00000F4L)
#define STATUS_COMMITMENT_LIMIT         ((NTSTATUS)0xC000012DL)
#define STATUS_DLL_NOT_FOUND            ((NTSTATUS)0xC0000135L)
#define STATUS_INVALID_ADDRESS          ((NTSTATUS)0xC0000141L)
/* Sections, views and names. */
#define STATUS_OBJECT_NAME_EXISTS       ((NTSTATUS)0x40000000L)
#define STATUS_NOT_MAPPED_VIEW          ((NTSTATUS)0xC0000019L)
#define STATUS_INVALID_VIEW_SIZE        ((NTSTATUS)0xC000001FL)
#define STATUS_OBJECT_NAME_INVALID      ((NTSTATUS)0xC0000033L)
#define STATUS_OBJECT_NAME_NOT_FOUND    ((NTSTATUS)0xC0000034L)
#define STATUS_OBJECT_NAME_COLLISION    ((NTSTATUS)0xC0000035L)
#define STATUS_OBJECT_PATH_NOT_FOUND    ((NTSTATUS)0xC000003AL)
#define STATUS_SECTION_TOO_BIG          ((NTSTATUS)0xC0000040L)
#define STATUS_DISK_FULL                ((NTSTATUS)0xC000007FL)
#define STATUS_MAPPED_FILE_SIZE_ZERO    ((NTSTATUS)0xC000011EL)
#define STATUS_TOO_MANY_OPENED_FILES    ((NTSTATUS)0xC000011FL)
#define STATUS_MAPPED_ALIGNMENT         ((NTSTATUS)0xC0000220L)
#define STATUS_INVALID_PARAMETER_7      ((NTSTATUS)0xC00000F5L)
#define STATUS_INVALID_PARAMETER_8      ((NTSTATUS)0xC00000F6L)
#define STATUS_INVALID_PARAMETER_9      ((NTSTATUS)0xC00000F7L)
#define STATUS_INVALID_PARAMETER_10     ((NTSTATUS)0xC00000F8L)

/* ---- NtLockVirtualMemory map types and flags --------------------------- */
#ifndef MAP_PROCESS
#define MAP_PROCESS 1
#endif
#ifndef MAP_SYSTEM
#define MAP_SYSTEM 2
#endif
#ifndef AT_ROUND_TO_PAGE
#define AT_ROUND_TO_PAGE 0x40000000
#endif

/* ---- NtQueryVirtualMemory ---------------------------------------------- */
typedef enum _MEMORY_INFORMATION_CLASS {
    MemoryBasicInformation = 0,
    MemoryWorkingSetInformation = 1,
    MemoryMappedFilenameInformation = 2,
    MemoryRegionInformation = 3,
    MemoryWorkingSetExInformation = 4
} MEMORY_INFORMATION_CLASS;

/* Windows 10 20H1 layout (48 bytes on 64-bit).  Buffers of the older
 * 32-byte size (up to CommitSize) are accepted and filled that far. */
typedef struct _MEMORY_REGION_INFORMATION {
    PVOID AllocationBase;
    ULONG AllocationProtect;
    ULONG RegionType;   /* bit 0 Private, 1 MappedDataFile, 2 MappedImage, ..., 8
                         * PlaceholderReservation, ..., 11 PageSizeLarge */
    SIZE_T RegionSize;
    SIZE_T CommitSize;
    ULONG_PTR PartitionId;
    ULONG_PTR NodePreference;
} MEMORY_REGION_INFORMATION, *PMEMORY_REGION_INFORMATION;

#define MEMORY_REGION_PRIVATE          0x001
#define MEMORY_REGION_MAPPED_DATA_FILE 0x002
#define MEMORY_REGION_MAPPED_IMAGE     0x004
#define MEMORY_REGION_PAGE_SIZE_LARGE  0x800
#define MEMORY_REGION_PLACEHOLDER      0x100   /* PlaceholderReservation */

/* One 64-bit word: for a valid (resident) page Valid, ShareCount,
 * Win32Protection, Shared, Node, Locked, LargePage, Bad.  The SDK declares
 * the bits as ULONG_PTR bit-fields; two 32-bit units of ISO C bit-fields give
 * the same layout on little-endian hosts and compile under -pedantic. */
typedef union _MEMORY_WORKING_SET_EX_BLOCK {
    ULONG_PTR Flags;
    struct {
        unsigned int Valid : 1;
        unsigned int ShareCount : 3;
        unsigned int Win32Protection : 11;
        unsigned int Shared : 1;
        unsigned int Node : 6;
        unsigned int Locked : 1;
        unsigned int LargePage : 1;
        unsigned int Reserved : 7;
        unsigned int Bad : 1;
        unsigned int ReservedUlong : 32;
    } VirtualAttributes;
} MEMORY_WORKING_SET_EX_BLOCK, *PMEMORY_WORKING_SET_EX_BLOCK;

typedef struct _MEMORY_WORKING_SET_EX_INFORMATION {
    PVOID VirtualAddress;
    MEMORY_WORKING_SET_EX_BLOCK VirtualAttributes;
} MEMORY_WORKING_SET_EX_INFORMATION, *PMEMORY_WORKING_SET_EX_INFORMATION;

/* ---- the calls --------------------------------------------------------- */
NTSYSAPI NTSTATUS NTAPI NtAllocateVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                                ULONG_PTR ZeroBits, PSIZE_T RegionSize,
                                                ULONG AllocationType, ULONG Protect);
NTSYSAPI NTSTATUS NTAPI NtAllocateVirtualMemoryEx(HANDLE ProcessHandle, PVOID *BaseAddress,
                                                  PSIZE_T RegionSize, ULONG AllocationType,
                                                  ULONG PageProtection,
                                                  PMEM_EXTENDED_PARAMETER ExtendedParameters,
                                                  ULONG ExtendedParameterCount);
NTSYSAPI NTSTATUS NTAPI NtFreeVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                            PSIZE_T RegionSize, ULONG FreeType);
NTSYSAPI NTSTATUS NTAPI NtProtectVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                               PSIZE_T RegionSize, ULONG NewProtect,
                                               PULONG OldProtect);
NTSYSAPI NTSTATUS NTAPI NtQueryVirtualMemory(HANDLE ProcessHandle, PVOID BaseAddress,
                                             MEMORY_INFORMATION_CLASS MemoryInformationClass,
                                             PVOID MemoryInformation,
                                             SIZE_T MemoryInformationLength,
                                             PSIZE_T ReturnLength);
NTSYSAPI NTSTATUS NTAPI NtLockVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                            PSIZE_T RegionSize, ULONG MapType);
NTSYSAPI NTSTATUS NTAPI NtUnlockVirtualMemory(HANDLE ProcessHandle, PVOID *BaseAddress,
                                              PSIZE_T RegionSize, ULONG MapType);
NTSYSAPI NTSTATUS NTAPI NtFlushInstructionCache(HANDLE ProcessHandle, PVOID BaseAddress,
                                                SIZE_T Length);
NTSYSAPI NTSTATUS NTAPI NtGetWriteWatch(HANDLE ProcessHandle, ULONG Flags, PVOID BaseAddress,
                                        SIZE_T RegionSize, PVOID *UserAddressArray,
                                        PULONG_PTR EntriesInUserAddressArray,
                                        PULONG Granularity);
NTSYSAPI NTSTATUS NTAPI NtResetWriteWatch(HANDLE ProcessHandle, PVOID BaseAddress,
                                          SIZE_T RegionSize);
NTSYSAPI ULONG NTAPI RtlNtStatusToDosError(NTSTATUS Status);
/* Address Windowing Extensions (issue 15). */
NTSYSAPI NTSTATUS NTAPI NtAllocateUserPhysicalPages(HANDLE ProcessHandle, PULONG_PTR NumberOfPages,
                                                    PULONG_PTR UserPfnArray);
NTSYSAPI NTSTATUS NTAPI NtFreeUserPhysicalPages(HANDLE ProcessHandle, PULONG_PTR NumberOfPages,
                                                PULONG_PTR UserPfnArray);
NTSYSAPI NTSTATUS NTAPI NtMapUserPhysicalPages(PVOID VirtualAddress, ULONG_PTR NumberOfPages,
                                               PULONG_PTR UserPfnArray);
NTSYSAPI NTSTATUS NTAPI NtMapUserPhysicalPagesScatter(PVOID *VirtualAddresses,
                                                      ULONG_PTR NumberOfPages,
                                                      PULONG_PTR UserPfnArray);

/* ---- objects (the handle table) ------------------------------------------ */
NTSYSAPI NTSTATUS NTAPI NtClose(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle,
                                          HANDLE TargetProcessHandle, PHANDLE TargetHandle,
                                          ACCESS_MASK DesiredAccess, ULONG HandleAttributes,
                                          ULONG Options);

/* ---- section views ---------------------------------------------------------- */
typedef enum _SECTION_INHERIT {
    ViewShare = 1,
    ViewUnmap = 2
} SECTION_INHERIT;
NTSYSAPI NTSTATUS NTAPI NtMapViewOfSection(HANDLE SectionHandle, HANDLE ProcessHandle,
                                           PVOID *BaseAddress, ULONG_PTR ZeroBits,
                                           SIZE_T CommitSize, PLARGE_INTEGER SectionOffset,
                                           PSIZE_T ViewSize, SECTION_INHERIT InheritDisposition,
                                           ULONG AllocationType, ULONG Win32Protect);
NTSYSAPI NTSTATUS NTAPI NtUnmapViewOfSection(HANDLE ProcessHandle, PVOID BaseAddress);
NTSYSAPI NTSTATUS NTAPI NtUnmapViewOfSectionEx(HANDLE ProcessHandle, PVOID BaseAddress,
                                               ULONG Flags);

#ifdef __cplusplus
}
#endif

#endif /* VIRTUALWIN_NT_H */
