/*
 * virtualwin.h: the Win32 virtual-memory API on Linux (libvirtualwin).
 *
 * Names, types, layouts and constant values are exactly the Windows SDK's (x64),
 * so Windows code that reserves, commits, protects, queries and locks memory
 * compiles and behaves as on Windows.  DWORD, ULONG, UINT and LONG are 32 bits
 * (LLP64), never `unsigned long`.  Calls use the platform's C calling convention:
 * WINAPI expands to nothing.
 *
 * Usable from C (C99 and later) and C++; it compiles cleanly with
 * -std=c99 -pedantic and -std=c++11 -pedantic (tests/check_headers.sh).
 *
 * Built with -DVIRTUALWIN_PRELOAD (pkg-config virtualwin-preload), a program
 * is not linked to the library: every API declaration is weak, and the program
 * gets the calls from LD_PRELOAD=libvirtualwin.so, or stops at start with a
 * message naming libvirtualwin when it is run without it.
 */
#ifndef VIRTUALWIN_H
#define VIRTUALWIN_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- calling convention and decoration -------------------------------- */
#ifndef WINAPI
#define WINAPI
#endif
#ifndef APIENTRY
#define APIENTRY WINAPI
#endif
#ifndef CALLBACK
#define CALLBACK
#endif
/* Every exported function is declared WINBASEAPI.  In a preload build the
 * declarations are weak, so the program links without the library and an
 * unresolved call is a null address the constructor below can test, rather
 * than a relocation the loader refuses (or, with -z lazy, a jump to 0). */
#ifndef WINBASEAPI
#ifdef VIRTUALWIN_PRELOAD
#define WINBASEAPI __attribute__((weak))
#else
#define WINBASEAPI
#endif
#endif
/* Windows' calling-convention keywords mean nothing to the C ABI used here:
 * the library is built with the platform's C convention, so they must not
 * change it (on i386, GCC's stdcall would).  Empty unless the compiler or the
 * program defines them. */
#ifndef __stdcall
#define __stdcall
#endif
#ifndef __cdecl
#define __cdecl
#endif
#ifndef NTAPI
#define NTAPI
#endif
#ifndef WINAPIV
#define WINAPIV
#endif
#ifndef DECLSPEC_ALIGN
#if defined(__GNUC__) || defined(__clang__)
#define DECLSPEC_ALIGN(x) __attribute__((aligned(x)))
#else
#define DECLSPEC_ALIGN(x)
#endif
#endif
#ifndef CONST
#define CONST const
#endif
#ifndef VOID
#define VOID void
#endif
#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#ifndef _In_
#define _In_
#define _In_opt_
#define _Out_
#define _Out_opt_
#define _Inout_
#endif

/* ---- anonymous unions and structures --------------------------------------
 * The SDK declares SYSTEM_INFO, LARGE_INTEGER and MEM_EXTENDED_PARAMETER with
 * anonymous members named DUMMYUNIONNAME / DUMMYSTRUCTNAME, so that
 * si.wProcessorArchitecture and li.LowPart work where the compiler has
 * anonymous members, and si.u.s.wProcessorArchitecture where it has not
 * (NONAMELESSUNION).  As in MinGW-w64's headers, GCC and clang get the
 * anonymous form in every mode, -std=c99 -pedantic and -std=c++11 -pedantic
 * included: VW_NAMELESS (__extension__) marks those members as the GNU
 * extension they are there, so source written for Windows keeps compiling
 * unchanged and without warnings.  Other compilers get it in C11 and later;
 * in strict C99 they get the named members, as if NONAMELESSUNION was given. */
#if defined(__GNUC__) || defined(__clang__)
#define VW_NAMELESS __extension__
#else
#define VW_NAMELESS
#if !defined(NONAMELESSUNION) && !defined(__cplusplus) && \
    !(defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L)
#define NONAMELESSUNION 1
#endif
#endif
#ifndef DUMMYUNIONNAME
#ifdef NONAMELESSUNION
#define DUMMYUNIONNAME u
#define DUMMYUNIONNAME2 u2
#define DUMMYUNIONNAME3 u3
#define DUMMYSTRUCTNAME s
#define DUMMYSTRUCTNAME2 s2
#define DUMMYSTRUCTNAME3 s3
#else
#define DUMMYUNIONNAME
#define DUMMYUNIONNAME2
#define DUMMYUNIONNAME3
#define DUMMYSTRUCTNAME
#define DUMMYSTRUCTNAME2
#define DUMMYSTRUCTNAME3
#endif
#endif

/* ---- base types (LLP64) ------------------------------------------------ */
typedef int BOOL;
typedef BOOL *PBOOL, *LPBOOL;
typedef uint8_t BYTE;
typedef BYTE *PBYTE, *LPBYTE;
typedef BYTE BOOLEAN;
typedef uint16_t WORD;
typedef WORD *PWORD, *LPWORD;
typedef uint32_t DWORD;
typedef DWORD *PDWORD, *LPDWORD;
typedef uint64_t DWORD64, ULONGLONG, DWORDLONG;
typedef DWORD64 *PDWORD64;
typedef int64_t LONGLONG, LONG64;
typedef uint32_t ULONG, UINT, UINT32, DWORD32;
typedef ULONG *PULONG;
typedef UINT *PUINT;
typedef int32_t LONG, INT, INT32;
typedef LONG *PLONG, *LPLONG;
typedef int16_t SHORT;
typedef uint16_t USHORT;
typedef char CHAR;
typedef unsigned char UCHAR;
typedef UCHAR *PUCHAR;
typedef USHORT *PUSHORT;
typedef SHORT *PSHORT;
typedef CHAR *PCHAR;
typedef BOOLEAN *PBOOLEAN;
typedef ULONGLONG *PULONGLONG;
typedef LONGLONG *PLONGLONG;
typedef int8_t INT8;
typedef uint8_t UINT8;
typedef int16_t INT16;
typedef uint16_t UINT16;
typedef int64_t INT64;
typedef uint64_t UINT64, ULONG64;
typedef int32_t LONG32;
typedef uint32_t ULONG32;
typedef ULONG64 *PULONG64;
typedef LONG64 *PLONG64;
typedef CHAR *LPSTR, *PSTR;
typedef const CHAR *LPCSTR, *PCSTR;
typedef uintptr_t ULONG_PTR, UINT_PTR, DWORD_PTR, SIZE_T;
typedef intptr_t LONG_PTR, INT_PTR, SSIZE_T;
typedef ULONG_PTR *PULONG_PTR;
typedef DWORD_PTR *PDWORD_PTR;
typedef SIZE_T *PSIZE_T;
typedef void *PVOID, *LPVOID, *HANDLE;
typedef const void *LPCVOID, *PCVOID;
typedef HANDLE *PHANDLE, *LPHANDLE;
typedef HANDLE HMODULE, HINSTANCE;
/* WCHAR is the platform's wchar_t, so L"..." literals work unchanged (it is 16
 * bits on Windows, 32 here unless built with -fshort-wchar). */
typedef wchar_t WCHAR;
typedef WCHAR *LPWSTR, *PWSTR;
typedef const WCHAR *LPCWSTR, *PCWSTR;
typedef WCHAR *PWCHAR;

/* TCHAR and TEXT() follow UNICODE as in the SDK: TEXT("x") is "x", or L"x"
 * (a wchar_t string, 4 bytes a character here) when UNICODE is defined. */
#ifdef UNICODE
typedef WCHAR TCHAR;
typedef LPWSTR LPTSTR, PTSTR;
typedef LPCWSTR LPCTSTR, PCTSTR;
#ifndef __TEXT
#define __TEXT(quote) L##quote
#endif
#else
typedef CHAR TCHAR;
typedef LPSTR LPTSTR, PTSTR;
typedef LPCSTR LPCTSTR, PCTSTR;
#ifndef __TEXT
#define __TEXT(quote) quote
#endif
#endif
#ifndef TEXT
#define TEXT(quote) __TEXT(quote)
#endif

/* ---- handles -------------------------------------------------------------- */
#define INVALID_HANDLE_VALUE ((HANDLE)(LONG_PTR)-1)
typedef DWORD ACCESS_MASK, *PACCESS_MASK;
#define DUPLICATE_CLOSE_SOURCE     0x00000001
#define DUPLICATE_SAME_ACCESS      0x00000002
#define DUPLICATE_SAME_ATTRIBUTES  0x00000004
#ifndef DECLARE_HANDLE
#define DECLARE_HANDLE(name) struct name##__ { int unused; }; typedef struct name##__ *name
#endif

/* ---- 64-bit values in two halves, file times --------------------------------- */
typedef union _LARGE_INTEGER {
    VW_NAMELESS struct {
        DWORD LowPart;
        LONG HighPart;
    } DUMMYSTRUCTNAME;
    struct {
        DWORD LowPart;
        LONG HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef union _ULARGE_INTEGER {
    VW_NAMELESS struct {
        DWORD LowPart;
        DWORD HighPart;
    } DUMMYSTRUCTNAME;
    struct {
        DWORD LowPart;
        DWORD HighPart;
    } u;
    ULONGLONG QuadPart;
} ULARGE_INTEGER, *PULARGE_INTEGER;

typedef struct _FILETIME {
    DWORD dwLowDateTime;
    DWORD dwHighDateTime;
} FILETIME, *PFILETIME, *LPFILETIME;

/* ---- processor groups (NUMA-aware allocators declare their probes with these) */
typedef ULONG_PTR KAFFINITY;
typedef struct _PROCESSOR_NUMBER {
    WORD Group;
    BYTE Number;
    BYTE Reserved;
} PROCESSOR_NUMBER, *PPROCESSOR_NUMBER;
typedef struct _GROUP_AFFINITY {
    KAFFINITY Mask;
    WORD Group;
    WORD Reserved[3];
} GROUP_AFFINITY, *PGROUP_AFFINITY;
/* As in the SDK: unprototyped in C.  Casting it to the real function type is
 * the usual pattern; with -Wextra, GCC's -Wcast-function-type flags the cast
 * when the return types differ, as it does with the SDK's own headers (cast
 * through void (*)(void) to silence it). */
#if defined(__cplusplus)
typedef INT_PTR (WINAPI *FARPROC)();
#else
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#endif
typedef INT_PTR (WINAPI *FARPROC)();
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#endif

/* ---- page protection (exactly one of the low byte, plus modifiers) ----- */
#define PAGE_NOACCESS          0x01
#define PAGE_READONLY          0x02
#define PAGE_READWRITE         0x04
#define PAGE_WRITECOPY         0x08
#define PAGE_EXECUTE           0x10
#define PAGE_EXECUTE_READ      0x20
#define PAGE_EXECUTE_READWRITE 0x40
#define PAGE_EXECUTE_WRITECOPY 0x80
#define PAGE_GUARD             0x100
#define PAGE_NOCACHE           0x200
#define PAGE_WRITECOMBINE      0x400
#define PAGE_TARGETS_INVALID   0x40000000
#define PAGE_TARGETS_NO_UPDATE 0x40000000

/* ---- allocation type, free type, state and type ------------------------ */
#define MEM_COMMIT                0x00001000
#define MEM_RESERVE               0x00002000
#define MEM_REPLACE_PLACEHOLDER   0x00004000
#define MEM_DECOMMIT              0x00004000
#define MEM_RELEASE               0x00008000
#define MEM_FREE                  0x00010000
#define MEM_PRIVATE               0x00020000
#define MEM_MAPPED                0x00040000
#define MEM_RESERVE_PLACEHOLDER   0x00040000
#define MEM_RESET                 0x00080000
#define MEM_TOP_DOWN              0x00100000
#define MEM_WRITE_WATCH           0x00200000
#define MEM_PHYSICAL              0x00400000
#define MEM_RESET_UNDO            0x01000000
#define MEM_IMAGE                 0x01000000
#define MEM_LARGE_PAGES           0x20000000
#define MEM_ROTATE                0x00800000
#define MEM_DIFFERENT_IMAGE_BASE_OK 0x00800000
#define MEM_4MB_PAGES             0x80000000
#define MEM_64K_PAGES             (MEM_LARGE_PAGES | MEM_PHYSICAL)
#define MEM_UNMAP_WITH_TRANSIENT_BOOST 0x00000001
#define MEM_COALESCE_PLACEHOLDERS 0x00000001
#define MEM_PRESERVE_PLACEHOLDER  0x00000002
#define WRITE_WATCH_FLAG_RESET    0x01

/* ---- last-error codes -------------------------------------------------- */
#define ERROR_SUCCESS             0L
#define NO_ERROR                  0L
#define ERROR_INVALID_FUNCTION    1L
#define ERROR_ACCESS_DENIED       5L
#define ERROR_INVALID_HANDLE      6L
#define ERROR_NOT_ENOUGH_MEMORY   8L
#define ERROR_OUTOFMEMORY         14L
#define ERROR_BAD_LENGTH          24L
#define ERROR_MOD_NOT_FOUND       126L
#define ERROR_PROC_NOT_FOUND      127L
#define ERROR_NOT_SUPPORTED       50L
#define ERROR_INVALID_PARAMETER   87L
#define ERROR_CALL_NOT_IMPLEMENTED 120L
#define ERROR_BUSY                170L
#define ERROR_NOT_LOCKED          158L
#define ERROR_PARTIAL_COPY        299L
#define ERROR_INVALID_ADDRESS     487L
#define ERROR_NOACCESS            998L
#define ERROR_POSSIBLE_DEADLOCK   1131L
#define ERROR_PRIVILEGE_NOT_HELD  1314L
#define ERROR_NO_SYSTEM_RESOURCES 1450L
#define ERROR_WORKING_SET_QUOTA   1453L
#define ERROR_COMMITMENT_LIMIT    1455L
/* Other memory-related codes of <winerror.h>, for code that tests for them. */
#define ERROR_ARENA_TRASHED       7L
#define ERROR_INVALID_BLOCK       9L
#define ERROR_INVALID_ACCESS      12L
#define ERROR_INSUFFICIENT_BUFFER 122L
#define ERROR_DISCARDED           157L
#define ERROR_ALREADY_EXISTS      183L
#define ERROR_LOCKED              212L
#define ERROR_ARITHMETIC_OVERFLOW 534L
#define ERROR_PAGEFILE_QUOTA_EXCEEDED 567L
#define ERROR_COMMITMENT_MINIMUM  635L
#define ERROR_STACK_OVERFLOW      1001L
#define ERROR_INVALID_FLAGS       1004L
#define ERROR_NOT_ENOUGH_SERVER_MEMORY 1130L
#define ERROR_MAPPED_ALIGNMENT    1132L
#define ERROR_NONPAGED_SYSTEM_RESOURCES 1451L
#define ERROR_PAGED_SYSTEM_RESOURCES 1452L
#define ERROR_PAGEFILE_QUOTA      1454L
#define ERROR_INVALID_USER_BUFFER 1784L
#define ERROR_NOT_ENOUGH_QUOTA    1816L

/* Process access rights (OpenProcess) and GetExitCodeProcess's "still running". */
#define PROCESS_TERMINATE                 0x0001
#define PROCESS_CREATE_THREAD             0x0002
#define PROCESS_VM_OPERATION              0x0008
#define PROCESS_VM_READ                   0x0010
#define PROCESS_VM_WRITE                  0x0020
#define PROCESS_DUP_HANDLE                0x0040
#define PROCESS_CREATE_PROCESS            0x0080
#define PROCESS_SET_QUOTA                 0x0100
#define PROCESS_SET_INFORMATION           0x0200
#define PROCESS_QUERY_INFORMATION         0x0400
#define PROCESS_SUSPEND_RESUME            0x0800
#define PROCESS_QUERY_LIMITED_INFORMATION 0x1000
#ifndef SYNCHRONIZE
#define SYNCHRONIZE                       0x00100000L
#endif
#define PROCESS_ALL_ACCESS                0x001FFFFF
#define STILL_ACTIVE                      259

/* Exception codes (also what VirtualLock leaves in GetLastError on a guard page). */
#define STATUS_GUARD_PAGE_VIOLATION ((DWORD)0x80000001L)
#define STATUS_ACCESS_VIOLATION     ((DWORD)0xC0000005L)

/* ---- system information ------------------------------------------------ */
#define PROCESSOR_ARCHITECTURE_INTEL   0
#define PROCESSOR_ARCHITECTURE_ARM     5
#define PROCESSOR_ARCHITECTURE_AMD64   9
#define PROCESSOR_ARCHITECTURE_ARM64   12
#define PROCESSOR_ARCHITECTURE_UNKNOWN 0xFFFF
#define PROCESSOR_INTEL_386    386
#define PROCESSOR_INTEL_486    486
#define PROCESSOR_INTEL_PENTIUM 586
#define PROCESSOR_AMD_X8664    8664
#define PROCESSOR_ARM          5

/* Anonymous members as in the SDK (see DUMMYUNIONNAME above). */
typedef struct _SYSTEM_INFO {
    VW_NAMELESS union {
        DWORD dwOemId;
        VW_NAMELESS struct {
            WORD wProcessorArchitecture;
            WORD wReserved;
        } DUMMYSTRUCTNAME;
    } DUMMYUNIONNAME;
    DWORD dwPageSize;
    LPVOID lpMinimumApplicationAddress;
    LPVOID lpMaximumApplicationAddress;
    DWORD_PTR dwActiveProcessorMask;
    DWORD dwNumberOfProcessors;
    DWORD dwProcessorType;
    DWORD dwAllocationGranularity;
    WORD wProcessorLevel;
    WORD wProcessorRevision;
} SYSTEM_INFO, *LPSYSTEM_INFO;

/* ---- MEMORY_BASIC_INFORMATION (Win64 layout, 48 bytes) ----------------- */
typedef struct _MEMORY_BASIC_INFORMATION {
    PVOID BaseAddress;
    PVOID AllocationBase;
    DWORD AllocationProtect;
    WORD PartitionId;
    SIZE_T RegionSize;
    DWORD State;
    DWORD Protect;
    DWORD Type;
} MEMORY_BASIC_INFORMATION, *PMEMORY_BASIC_INFORMATION;

/* ---- working set, memory status, discard/offer/prefetch ------------------ */
#define QUOTA_LIMITS_HARDWS_MIN_ENABLE  0x00000001
#define QUOTA_LIMITS_HARDWS_MIN_DISABLE 0x00000002
#define QUOTA_LIMITS_HARDWS_MAX_ENABLE  0x00000004
#define QUOTA_LIMITS_HARDWS_MAX_DISABLE 0x00000008

typedef struct _MEMORYSTATUSEX {
    DWORD dwLength;
    DWORD dwMemoryLoad;
    DWORDLONG ullTotalPhys;
    DWORDLONG ullAvailPhys;
    DWORDLONG ullTotalPageFile;
    DWORDLONG ullAvailPageFile;
    DWORDLONG ullTotalVirtual;
    DWORDLONG ullAvailVirtual;
    DWORDLONG ullAvailExtendedVirtual;
} MEMORYSTATUSEX, *LPMEMORYSTATUSEX;

typedef enum OFFER_PRIORITY {
    VmOfferPriorityVeryLow = 1,
    VmOfferPriorityLow,
    VmOfferPriorityBelowNormal,
    VmOfferPriorityNormal
} OFFER_PRIORITY;

typedef struct _WIN32_MEMORY_RANGE_ENTRY {
    PVOID VirtualAddress;
    SIZE_T NumberOfBytes;
} WIN32_MEMORY_RANGE_ENTRY, *PWIN32_MEMORY_RANGE_ENTRY;

/* ---- extended parameters (VirtualAlloc2, MapViewOfFile3) ------------------
 * VirtualAlloc2 takes MemExtendedParameterAddressRequirements (a pointer to
 * MEM_ADDRESS_REQUIREMENTS), MemExtendedParameterNumaNode (accepted, a
 * preference) and MemExtendedParameterAttributeFlags 0.  Win64 layouts. */
typedef enum MEM_EXTENDED_PARAMETER_TYPE {
    MemExtendedParameterInvalidType = 0,
    MemExtendedParameterAddressRequirements,
    MemExtendedParameterNumaNode,
    MemExtendedParameterPartitionHandle,
    MemExtendedParameterUserPhysicalHandle,
    MemExtendedParameterAttributeFlags,
    MemExtendedParameterImageMachine,
    MemExtendedParameterMax
} MEM_EXTENDED_PARAMETER_TYPE, *PMEM_EXTENDED_PARAMETER_TYPE;

#define MEM_EXTENDED_PARAMETER_TYPE_BITS 8

/* VW_NAMELESS on the whole declaration too: every member is anonymous, which
 * ISO C99 calls a struct without named members. */
VW_NAMELESS typedef struct DECLSPEC_ALIGN(8) MEM_EXTENDED_PARAMETER {
    VW_NAMELESS struct {
        DWORD64 Type : MEM_EXTENDED_PARAMETER_TYPE_BITS;
        DWORD64 Reserved : 64 - MEM_EXTENDED_PARAMETER_TYPE_BITS;
    } DUMMYSTRUCTNAME;
    VW_NAMELESS union {
        DWORD64 ULong64;
        PVOID Pointer;
        SIZE_T Size;
        HANDLE Handle;
        DWORD ULong;
    } DUMMYUNIONNAME;
} MEM_EXTENDED_PARAMETER, *PMEM_EXTENDED_PARAMETER;

#define MEM_EXTENDED_PARAMETER_GRAPHICS            0x00000001
#define MEM_EXTENDED_PARAMETER_NONPAGED            0x00000002
#define MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL 0x00000004
#define MEM_EXTENDED_PARAMETER_NONPAGED_LARGE      0x00000008
#define MEM_EXTENDED_PARAMETER_NONPAGED_HUGE       0x00000010
#define MEM_EXTENDED_PARAMETER_SOFT_FAULT_PAGES    0x00000020
#define MEM_EXTENDED_PARAMETER_EC_CODE             0x00000040
#define MEM_EXTENDED_PARAMETER_IMAGE_NO_HPAT       0x00000080

typedef struct _MEM_ADDRESS_REQUIREMENTS {
    PVOID LowestStartingAddress;
    PVOID HighestEndingAddress;
    SIZE_T Alignment;
} MEM_ADDRESS_REQUIREMENTS, *PMEM_ADDRESS_REQUIREMENTS;

/* ---- the API ----------------------------------------------------------- */
WINBASEAPI LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize,
                                      DWORD flAllocationType, DWORD flProtect);
WINBASEAPI LPVOID WINAPI VirtualAllocEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                        DWORD flAllocationType, DWORD flProtect);
WINBASEAPI BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
WINBASEAPI BOOL WINAPI VirtualFreeEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                     DWORD dwFreeType);
WINBASEAPI BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                                      PDWORD lpflOldProtect);
WINBASEAPI BOOL WINAPI VirtualProtectEx(HANDLE hProcess, LPVOID lpAddress, SIZE_T dwSize,
                                        DWORD flNewProtect, PDWORD lpflOldProtect);
WINBASEAPI SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
                                      SIZE_T dwLength);
WINBASEAPI SIZE_T WINAPI VirtualQueryEx(HANDLE hProcess, LPCVOID lpAddress,
                                        PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength);
WINBASEAPI BOOL WINAPI VirtualLock(LPVOID lpAddress, SIZE_T dwSize);
WINBASEAPI BOOL WINAPI VirtualUnlock(LPVOID lpAddress, SIZE_T dwSize);
WINBASEAPI UINT WINAPI GetWriteWatch(DWORD dwFlags, PVOID lpBaseAddress, SIZE_T dwRegionSize,
                                     PVOID *lpAddresses, ULONG_PTR *lpdwCount,
                                     LPDWORD lpdwGranularity);
WINBASEAPI UINT WINAPI ResetWriteWatch(LPVOID lpBaseAddress, SIZE_T dwRegionSize);
WINBASEAPI void WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo);
WINBASEAPI void WINAPI GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo);
WINBASEAPI DWORD WINAPI GetLastError(void);
WINBASEAPI void WINAPI SetLastError(DWORD dwErrCode);
WINBASEAPI HANDLE WINAPI GetCurrentProcess(void);
WINBASEAPI BOOL WINAPI FlushInstructionCache(HANDLE hProcess, LPCVOID lpBaseAddress,
                                             SIZE_T dwSize);
WINBASEAPI BOOL WINAPI SetProcessWorkingSetSize(HANDLE hProcess, SIZE_T dwMinimumWorkingSetSize,
                                                SIZE_T dwMaximumWorkingSetSize);
WINBASEAPI BOOL WINAPI SetProcessWorkingSetSizeEx(HANDLE hProcess,
                                                  SIZE_T dwMinimumWorkingSetSize,
                                                  SIZE_T dwMaximumWorkingSetSize, DWORD Flags);
WINBASEAPI BOOL WINAPI GetProcessWorkingSetSize(HANDLE hProcess,
                                                PSIZE_T lpMinimumWorkingSetSize,
                                                PSIZE_T lpMaximumWorkingSetSize);
WINBASEAPI BOOL WINAPI GetProcessWorkingSetSizeEx(HANDLE hProcess,
                                                  PSIZE_T lpMinimumWorkingSetSize,
                                                  PSIZE_T lpMaximumWorkingSetSize, PDWORD Flags);
WINBASEAPI DWORD WINAPI DiscardVirtualMemory(PVOID VirtualAddress, SIZE_T Size);
WINBASEAPI DWORD WINAPI OfferVirtualMemory(PVOID VirtualAddress, SIZE_T Size,
                                           OFFER_PRIORITY Priority);
WINBASEAPI DWORD WINAPI ReclaimVirtualMemory(LPCVOID VirtualAddress, SIZE_T Size);
WINBASEAPI BOOL WINAPI PrefetchVirtualMemory(HANDLE hProcess, ULONG_PTR NumberOfEntries,
                                             PWIN32_MEMORY_RANGE_ENTRY VirtualAddresses,
                                             ULONG Flags);
WINBASEAPI SIZE_T WINAPI GetLargePageMinimum(void);
WINBASEAPI HMODULE WINAPI GetModuleHandleA(LPCSTR lpModuleName);
WINBASEAPI HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName);
WINBASEAPI FARPROC WINAPI GetProcAddress(HMODULE hModule, LPCSTR lpProcName);
WINBASEAPI HMODULE WINAPI LoadLibraryA(LPCSTR lpLibFileName);
WINBASEAPI HMODULE WINAPI LoadLibraryW(LPCWSTR lpLibFileName);
WINBASEAPI BOOL WINAPI FreeLibrary(HMODULE hLibModule);
#ifdef UNICODE
#define GetModuleHandle GetModuleHandleW
#define LoadLibrary LoadLibraryW
#else
#define GetModuleHandle GetModuleHandleA
#define LoadLibrary LoadLibraryA
#endif
WINBASEAPI BOOL WINAPI GlobalMemoryStatusEx(LPMEMORYSTATUSEX lpBuffer);
/* Address Windowing Extensions (issue 15): page frames of the process's own,
 * mapped into MEM_PHYSICAL windows. */
WINBASEAPI BOOL WINAPI AllocateUserPhysicalPages(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                                 PULONG_PTR PageArray);
WINBASEAPI BOOL WINAPI AllocateUserPhysicalPagesNuma(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                                     PULONG_PTR PageArray, DWORD nndPreferred);
WINBASEAPI BOOL WINAPI FreeUserPhysicalPages(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                             PULONG_PTR PageArray);
WINBASEAPI BOOL WINAPI MapUserPhysicalPages(PVOID VirtualAddress, ULONG_PTR NumberOfPages,
                                            PULONG_PTR PageArray);
WINBASEAPI BOOL WINAPI MapUserPhysicalPagesScatter(PVOID *VirtualAddresses,
                                                   ULONG_PTR NumberOfPages, PULONG_PTR PageArray);

/* VirtualAlloc2 and placeholders (MEM_RESERVE_PLACEHOLDER, MEM_REPLACE_PLACEHOLDER;
 * VirtualFree with MEM_PRESERVE_PLACEHOLDER / MEM_COALESCE_PLACEHOLDERS). */
WINBASEAPI PVOID WINAPI VirtualAlloc2(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                      ULONG AllocationType, ULONG PageProtection,
                                      MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                      ULONG ParameterCount);
WINBASEAPI PVOID WINAPI VirtualAlloc2FromApp(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                             ULONG AllocationType, ULONG PageProtection,
                                             MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                             ULONG ParameterCount);
WINBASEAPI PVOID WINAPI VirtualAllocFromApp(PVOID BaseAddress, SIZE_T Size, ULONG AllocationType,
                                            ULONG Protection);

/* Handles (sections, processes): CloseHandle and DuplicateHandle. */
WINBASEAPI BOOL WINAPI CloseHandle(HANDLE hObject);
WINBASEAPI BOOL WINAPI DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle,
                                       HANDLE hTargetProcessHandle, LPHANDLE lpTargetHandle,
                                       DWORD dwDesiredAccess, BOOL bInheritHandle,
                                       DWORD dwOptions);

/* ---- sections, views and the file handles they map ------------------------
 * CreateFileMapping / OpenFileMapping / MapViewOfFile as on Windows; names
 * are shared by the processes of one user (README "Sections").  CreateFile
 * opens a file for a file-backed section (access and creation modes only;
 * share modes are accepted and not enforced). */
#define SECTION_QUERY                0x0001
#define SECTION_MAP_WRITE            0x0002
#define SECTION_MAP_READ             0x0004
#define SECTION_MAP_EXECUTE          0x0008
#define SECTION_EXTEND_SIZE          0x0010
#define SECTION_MAP_EXECUTE_EXPLICIT 0x0020
#define SECTION_ALL_ACCESS           0xF001F
#define FILE_MAP_COPY                SECTION_QUERY
#define FILE_MAP_WRITE               SECTION_MAP_WRITE
#define FILE_MAP_READ                SECTION_MAP_READ
#define FILE_MAP_ALL_ACCESS          SECTION_ALL_ACCESS
#define FILE_MAP_EXECUTE             SECTION_MAP_EXECUTE_EXPLICIT
#define FILE_MAP_RESERVE             0x80000000
#define FILE_MAP_TARGETS_INVALID     0x40000000
#define FILE_MAP_LARGE_PAGES         0x20000000
#define SEC_FILE                     0x00800000
#define SEC_IMAGE                    0x01000000
#define SEC_RESERVE                  0x04000000
#define SEC_COMMIT                   0x08000000
#define SEC_NOCACHE                  0x10000000
#define SEC_WRITECOMBINE             0x40000000
#define SEC_LARGE_PAGES              0x80000000
#define GENERIC_READ                 0x80000000
#define GENERIC_WRITE                0x40000000
#define GENERIC_EXECUTE              0x20000000
#define GENERIC_ALL                  0x10000000
#define FILE_SHARE_READ              0x00000001
#define FILE_SHARE_WRITE             0x00000002
#define FILE_SHARE_DELETE            0x00000004
#define CREATE_NEW                   1
#define CREATE_ALWAYS                2
#define OPEN_EXISTING                3
#define OPEN_ALWAYS                  4
#define TRUNCATE_EXISTING            5
#define FILE_ATTRIBUTE_READONLY      0x00000001
#define FILE_ATTRIBUTE_NORMAL        0x00000080
#define FILE_ATTRIBUTE_TEMPORARY     0x00000100
#define ERROR_FILE_NOT_FOUND         2L
#define ERROR_PATH_NOT_FOUND         3L
#define ERROR_TOO_MANY_OPEN_FILES    4L
#define ERROR_FILE_EXISTS            80L
#define ERROR_DISK_FULL              112L
#define ERROR_INVALID_NAME           123L
#define ERROR_FILE_INVALID           1006L

typedef struct _SECURITY_ATTRIBUTES {
    DWORD nLength;
    LPVOID lpSecurityDescriptor;
    BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

WINBASEAPI HANDLE WINAPI CreateFileMappingA(HANDLE hFile,
                                            LPSECURITY_ATTRIBUTES lpFileMappingAttributes,
                                            DWORD flProtect, DWORD dwMaximumSizeHigh,
                                            DWORD dwMaximumSizeLow, LPCSTR lpName);
WINBASEAPI HANDLE WINAPI CreateFileMappingW(HANDLE hFile,
                                            LPSECURITY_ATTRIBUTES lpFileMappingAttributes,
                                            DWORD flProtect, DWORD dwMaximumSizeHigh,
                                            DWORD dwMaximumSizeLow, LPCWSTR lpName);
WINBASEAPI HANDLE WINAPI CreateFileMapping2(HANDLE File, LPSECURITY_ATTRIBUTES SecurityAttributes,
                                            ULONG DesiredAccess, ULONG PageProtection,
                                            ULONG AllocationAttributes, ULONG64 MaximumSize,
                                            PCWSTR Name, MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                            ULONG ParameterCount);
WINBASEAPI HANDLE WINAPI OpenFileMappingA(DWORD dwDesiredAccess, BOOL bInheritHandle,
                                          LPCSTR lpName);
WINBASEAPI HANDLE WINAPI OpenFileMappingW(DWORD dwDesiredAccess, BOOL bInheritHandle,
                                          LPCWSTR lpName);
WINBASEAPI LPVOID WINAPI MapViewOfFile(HANDLE hFileMappingObject, DWORD dwDesiredAccess,
                                       DWORD dwFileOffsetHigh, DWORD dwFileOffsetLow,
                                       SIZE_T dwNumberOfBytesToMap);
WINBASEAPI LPVOID WINAPI MapViewOfFileEx(HANDLE hFileMappingObject, DWORD dwDesiredAccess,
                                         DWORD dwFileOffsetHigh, DWORD dwFileOffsetLow,
                                         SIZE_T dwNumberOfBytesToMap, LPVOID lpBaseAddress);
WINBASEAPI PVOID WINAPI MapViewOfFile3(HANDLE FileMapping, HANDLE Process, PVOID BaseAddress,
                                       ULONG64 Offset, SIZE_T ViewSize, ULONG AllocationType,
                                       ULONG PageProtection,
                                       MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                       ULONG ParameterCount);
WINBASEAPI BOOL WINAPI UnmapViewOfFile(LPCVOID lpBaseAddress);
WINBASEAPI BOOL WINAPI UnmapViewOfFileEx(PVOID BaseAddress, ULONG UnmapFlags);
WINBASEAPI BOOL WINAPI UnmapViewOfFile2(HANDLE Process, PVOID BaseAddress, ULONG UnmapFlags);
WINBASEAPI BOOL WINAPI FlushViewOfFile(LPCVOID lpBaseAddress, SIZE_T dwNumberOfBytesToFlush);
WINBASEAPI HANDLE WINAPI CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                     LPSECURITY_ATTRIBUTES lpSecurityAttributes,
                                     DWORD dwCreationDisposition, DWORD dwFlagsAndAttributes,
                                     HANDLE hTemplateFile);
WINBASEAPI HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                     LPSECURITY_ATTRIBUTES lpSecurityAttributes,
                                     DWORD dwCreationDisposition, DWORD dwFlagsAndAttributes,
                                     HANDLE hTemplateFile);
WINBASEAPI BOOL WINAPI GetFileSizeEx(HANDLE hFile, PLARGE_INTEGER lpFileSize);
#ifdef UNICODE
#define CreateFileMapping CreateFileMappingW
#define OpenFileMapping OpenFileMappingW
#define CreateFile CreateFileW
#else
#define CreateFileMapping CreateFileMappingA
#define OpenFileMapping OpenFileMappingA
#define CreateFile CreateFileA
#endif
/* Other processes (spec 14): handles for the Ex calls, reading and writing. */
WINBASEAPI HANDLE WINAPI OpenProcess(DWORD dwDesiredAccess, BOOL bInheritHandle,
                                     DWORD dwProcessId);
WINBASEAPI DWORD WINAPI GetProcessId(HANDLE Process);
WINBASEAPI DWORD WINAPI GetCurrentProcessId(void);
WINBASEAPI BOOL WINAPI GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode);
WINBASEAPI BOOL WINAPI ReadProcessMemory(HANDLE hProcess, LPCVOID lpBaseAddress, LPVOID lpBuffer,
                                         SIZE_T nSize, SIZE_T *lpNumberOfBytesRead);
WINBASEAPI BOOL WINAPI WriteProcessMemory(HANDLE hProcess, LPVOID lpBaseAddress,
                                          LPCVOID lpBuffer, SIZE_T nSize,
                                          SIZE_T *lpNumberOfBytesWritten);

#ifdef __cplusplus
}
#endif

/* Exceptions: EXCEPTION_RECORD, CONTEXT, vectored handlers, RaiseException. */
#include <virtualwin/exception.h>

/* ---- preload builds: stop at start, clearly, when the library is absent ---
 * One static constructor per translation unit that includes this header (a
 * static function with a name of its own, so the copies never clash and each
 * does the same harmless test).  VirtualAlloc, weak here, is null when no
 * libvirtualwin was preloaded: the program would crash at its first call, so
 * it says what is missing with write(2) (no stdio before main) and exits 127,
 * the shell's status for a command that cannot run. */
#ifdef VIRTUALWIN_PRELOAD
#include <unistd.h>
__attribute__((constructor, used)) static void virtualwin_preload_check_(void)
{
    static const char msg[] =
        "This program uses libvirtualwin through LD_PRELOAD (it was built with\n"
        "pkg-config virtualwin-preload and is not linked to the library), but\n"
        "libvirtualwin.so is not loaded.  Run it as\n"
        "    virtualwin-run PROGRAM [ARGS...]\n"
        "or\n"
        "    LD_PRELOAD=$(pkg-config --variable=libdir virtualwin)/libvirtualwin.so PROGRAM\n";
    if (&VirtualAlloc == NULL) {
        if (write(2, msg, sizeof msg - 1) < 0) {
            /* nothing more can be said */
        }
        _exit(127);
    }
}
#endif

#endif /* VIRTUALWIN_H */
