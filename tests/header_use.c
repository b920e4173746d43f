/*
 * header_use.c: unchanged-Windows-source use of the compat headers, compiled
 * (never run) as C and as C++ by tests/check_headers.sh under -pedantic
 * -Werror in several language modes; the script also includes every other
 * installed header first (-include), so each one is covered.
 *
 * What it pins down: the SDK's names exist (types, macros, error codes,
 * TEXT(), INVALID_HANDLE_VALUE, the extended-parameter types that allocators
 * declare VirtualAlloc2 / MapViewOfFile3 pointers with), the layouts and
 * values are the SDK's (Win64), and the anonymous members work both ways
 * (si.wProcessorArchitecture, or si.u.s.wProcessorArchitecture with
 * NONAMELESSUNION).  A compile error or warning is the failure.
 */
#include <windows.h>
#include <Windows.h>
#include <winnt.h>
#include <memoryapi.h>
#include <sysinfoapi.h>
#include <errhandlingapi.h>
#include <processthreadsapi.h>
#include <libloaderapi.h>
#include <stddef.h>
#include <stdio.h>

#define VW_ASSERT(name, cond) typedef char vw_assert_##name[(cond) ? 1 : -1]
#define VW_P64(a, b) (sizeof(void *) == 8 ? (a) : (b))

/* Sizes and offsets: the Win64 layouts (Win32 ones on a 32-bit build). */
VW_ASSERT(dword, sizeof(DWORD) == 4 && sizeof(LONG) == 4 && sizeof(ULONG) == 4);
VW_ASSERT(word, sizeof(WORD) == 2 && sizeof(USHORT) == 2 && sizeof(BYTE) == 1);
VW_ASSERT(longlong, sizeof(LONGLONG) == 8 && sizeof(ULONGLONG) == 8 && sizeof(ULONG64) == 8);
VW_ASSERT(size_t_, sizeof(SIZE_T) == sizeof(void *) && sizeof(ULONG_PTR) == sizeof(void *));
VW_ASSERT(system_info, sizeof(SYSTEM_INFO) == VW_P64(48, 36));
VW_ASSERT(system_info_page, offsetof(SYSTEM_INFO, dwPageSize) == 4);
VW_ASSERT(mbi, sizeof(MEMORY_BASIC_INFORMATION) == VW_P64(48, 28));
VW_ASSERT(memstatus, sizeof(MEMORYSTATUSEX) == 64);
VW_ASSERT(large_integer, sizeof(LARGE_INTEGER) == 8 && sizeof(ULARGE_INTEGER) == 8);
VW_ASSERT(filetime, sizeof(FILETIME) == 8);
VW_ASSERT(mem_ext, sizeof(MEM_EXTENDED_PARAMETER) == 16);
typedef struct VW_EXT_IN_STRUCT { char c; MEM_EXTENDED_PARAMETER m; } VW_EXT_IN_STRUCT;
VW_ASSERT(mem_ext_align, offsetof(VW_EXT_IN_STRUCT, m) == 8); /* DECLSPEC_ALIGN(8) */
#ifdef NONAMELESSUNION
VW_ASSERT(mem_ext_union, offsetof(MEM_EXTENDED_PARAMETER, u) == 8);
#else
VW_ASSERT(mem_ext_union, offsetof(MEM_EXTENDED_PARAMETER, ULong64) == 8);
#endif
VW_ASSERT(mem_addr_req, sizeof(MEM_ADDRESS_REQUIREMENTS) == 3 * sizeof(void *));
VW_ASSERT(proc_number, sizeof(PROCESSOR_NUMBER) == 4);
VW_ASSERT(group_affinity, sizeof(GROUP_AFFINITY) == VW_P64(16, 12));
VW_ASSERT(range_entry, sizeof(WIN32_MEMORY_RANGE_ENTRY) == 2 * sizeof(void *));

/* Values: winnt.h and winerror.h. */
VW_ASSERT(mem_ext_type, MemExtendedParameterAddressRequirements == 1 &&
                        MemExtendedParameterNumaNode == 2 &&
                        MemExtendedParameterAttributeFlags == 5 &&
                        MemExtendedParameterImageMachine == 6 && MemExtendedParameterMax == 7);
VW_ASSERT(mem_ext_bits, MEM_EXTENDED_PARAMETER_TYPE_BITS == 8 &&
                        MEM_EXTENDED_PARAMETER_NONPAGED_LARGE == 0x08 &&
                        MEM_EXTENDED_PARAMETER_NONPAGED_HUGE == 0x10);
VW_ASSERT(errors, ERROR_COMMITMENT_MINIMUM == 635 && ERROR_PAGEFILE_QUOTA == 1454 &&
                  ERROR_COMMITMENT_LIMIT == 1455 && ERROR_WORKING_SET_QUOTA == 1453 &&
                  ERROR_NO_SYSTEM_RESOURCES == 1450 &&
                  ERROR_NONPAGED_SYSTEM_RESOURCES == 1451 &&
                  ERROR_PAGED_SYSTEM_RESOURCES == 1452 && ERROR_NOT_ENOUGH_MEMORY == 8 &&
                  ERROR_OUTOFMEMORY == 14 && ERROR_INVALID_ADDRESS == 487 &&
                  ERROR_NOACCESS == 998 && ERROR_NOT_ENOUGH_QUOTA == 1816 &&
                  ERROR_PAGEFILE_QUOTA_EXCEEDED == 567 && ERROR_INVALID_BLOCK == 9 &&
                  ERROR_MAPPED_ALIGNMENT == 1132 && ERROR_POSSIBLE_DEADLOCK == 1131 &&
                  ERROR_MOD_NOT_FOUND == 126 && ERROR_PROC_NOT_FOUND == 127);
VW_ASSERT(mem_flags, MEM_4MB_PAGES == 0x80000000u && MEM_ROTATE == 0x00800000 &&
                     MEM_64K_PAGES == 0x20400000);
VW_ASSERT(text, sizeof(TEXT("ab")) == 3 * sizeof(TCHAR));

/* What allocators declare before probing for the calls (rpmalloc, mimalloc). */
typedef PVOID (WINAPI *VirtualAlloc2Fn)(HANDLE, PVOID, SIZE_T, ULONG, ULONG,
                                       MEM_EXTENDED_PARAMETER *, ULONG);
typedef PVOID (WINAPI *MapViewOfFile3Fn)(HANDLE, HANDLE, PVOID, ULONG64, SIZE_T, ULONG, ULONG,
                                        MEM_EXTENDED_PARAMETER *, ULONG);
typedef LONG (NTAPI *NtAllocateVirtualMemoryExFn)(HANDLE, PVOID *, SIZE_T *, ULONG, ULONG,
                                                  PMEM_EXTENDED_PARAMETER, ULONG);
typedef BOOL (__stdcall *GetNumaProcessorNodeExFn)(PPROCESSOR_NUMBER, PUSHORT);
typedef BOOL (__stdcall *GetNumaNodeProcessorMaskExFn)(USHORT, PGROUP_AFFINITY);
typedef BOOL (__cdecl *GetNumaProcessorNodeFn)(UCHAR, PUCHAR);
typedef struct DECLSPEC_ALIGN(16) VW_ALIGNED { char c; } VW_ALIGNED;
VW_ASSERT(declspec_align, sizeof(VW_ALIGNED) == 16);

#ifdef NONAMELESSUNION
#define SI_ARCH(si) ((si).u.s.wProcessorArchitecture)
#define SI_OEM(si) ((si).u.dwOemId)
#define LI_LOW(li) ((li).s.LowPart)
#define EXT_TYPE(p) ((p).s.Type)
#define EXT_PTR(p) ((p).u.Pointer)
#else
#define SI_ARCH(si) ((si).wProcessorArchitecture)
#define SI_OEM(si) ((si).dwOemId)
#define LI_LOW(li) ((li).LowPart)
#define EXT_TYPE(p) ((p).Type)
#define EXT_PTR(p) ((p).Pointer)
#endif

int vw_header_use(void);
int vw_header_use(void)
{
    SYSTEM_INFO si;
    LARGE_INTEGER li;
    ULARGE_INTEGER uli;
    FILETIME ft;
    MEM_ADDRESS_REQUIREMENTS req;
    MEM_EXTENDED_PARAMETER param;
    MEMORY_BASIC_INFORMATION mbi;
    LPCTSTR name = TEXT("kernel32.dll");
    HANDLE h = INVALID_HANDLE_VALUE;
    HMODULE mod;
    FARPROC f;
    VirtualAlloc2Fn va2 = NULL;
    MapViewOfFile3Fn mv3 = NULL;
    NtAllocateVirtualMemoryExFn ntva = NULL;
    GetNumaProcessorNodeExFn n1 = NULL;
    GetNumaNodeProcessorMaskExFn n2 = NULL;
    GetNumaProcessorNodeFn n3 = NULL;
    PUCHAR pu = NULL;
    PULONGLONG pull = NULL;
    PVOID p;

    GetSystemInfo(&si);
    li.QuadPart = -1;
    uli.QuadPart = 1;
    uli.u.HighPart = 2;
    ft.dwLowDateTime = LI_LOW(li);
    ft.dwHighDateTime = uli.u.HighPart;
    req.LowestStartingAddress = NULL;
    req.HighestEndingAddress = NULL;
    req.Alignment = 0x10000;
    EXT_TYPE(param) = MemExtendedParameterAddressRequirements;
    EXT_PTR(param) = &req;
    (void)name;
    mod = GetModuleHandleA("kernel32.dll");
    f = GetProcAddress(mod, "VirtualAlloc2");
    if (f)
        va2 = (VirtualAlloc2Fn)(void (*)(void))f;
    if (va2)
        p = va2(GetCurrentProcess(), NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS, &param, 1);
    else
        p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_NOACCESS);
    if (p == NULL)
        printf("VirtualAlloc: error %u\n", GetLastError()); /* DWORD is unsigned int: %u */
    if (VirtualQuery(p, &mbi, sizeof mbi) != sizeof mbi || h == GetCurrentProcess())
        return 1;
    return (int)(SI_ARCH(si) + SI_OEM(si) + ft.dwLowDateTime) + (mv3 != NULL) +
           (ntva != NULL) + (n1 != NULL) + (n2 != NULL) + (n3 != NULL) + (pu != NULL) +
           (pull != NULL);
}
