/*
 * virtualwin.h: the Win32 virtual-memory API on Linux (libvirtualwin).
 *
 * Names, types, layouts and constant values are exactly the Windows SDK's (x64),
 * so Windows code that reserves, commits, protects, queries and locks memory
 * compiles and behaves as on Windows.  DWORD, ULONG, UINT and LONG are 32 bits
 * (LLP64), never `unsigned long`.  Calls use the platform's C calling convention:
 * WINAPI expands to nothing.
 *
 * Usable from C (C99 and later) and C++.
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
#ifndef WINBASEAPI
#define WINBASEAPI
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
#define ERROR_PRIVILEGE_NOT_HELD  1314L
#define ERROR_NO_SYSTEM_RESOURCES 1450L
#define ERROR_WORKING_SET_QUOTA   1453L
#define ERROR_COMMITMENT_LIMIT    1455L

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

/* Anonymous members as in the SDK (C11, C++, or GNU C). */
typedef struct _SYSTEM_INFO {
    union {
        DWORD dwOemId;
        struct {
            WORD wProcessorArchitecture;
            WORD wReserved;
        };
    };
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

#ifdef __cplusplus
}
#endif

#endif /* VIRTUALWIN_H */
