/*
 * check_handles.c: the handle table's calls (CloseHandle, DuplicateHandle,
 * NtClose, NtDuplicateObject) on handles that name nothing, pseudo handles and
 * bad pointers.  Handles of real objects are tested with their families
 * (sections: check_sections; processes: check_process), which also cover
 * duplication, reuse after close and fork.
 *
 * Windows facts: CloseHandle(NULL) and closing a value never returned fail with
 * ERROR_INVALID_HANDLE; closing GetCurrentProcess() succeeds; with
 * DUPLICATE_CLOSE_SOURCE the source is closed whatever else fails.
 */
#include <check.h>
#include <virtualwin/nt.h>
#include "testutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define ME GetCurrentProcess()

START_TEST(test_close_invalid)
{
    static const uintptr_t bad[] = { 0, 4, 8, 0x1000, 0x7FFFFFFC, 3, 0x13, (uintptr_t)1 << 40 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(0xBEEF);
        ck_assert_msg(!CloseHandle((HANDLE)bad[i]), "CloseHandle(%#lx) succeeded",
                      (unsigned long)bad[i]);
        ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
        ck_assert_uint_eq((ULONG)NtClose((HANDLE)bad[i]), (ULONG)STATUS_INVALID_HANDLE);
    }
}
END_TEST

START_TEST(test_close_pseudo)
{
    SetLastError(0xBEEF);
    ck_assert(CloseHandle(GetCurrentProcess()));
    ck_assert(CloseHandle((HANDLE)(intptr_t)-2));        /* GetCurrentThread() */
    ck_assert_uint_eq(GetLastError(), 0xBEEF);            /* success leaves it alone */
    ck_assert_uint_eq((ULONG)NtClose(GetCurrentProcess()), (ULONG)STATUS_SUCCESS);
    /* Still usable: it is a constant, not a handle that closing consumed. */
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQueryEx(ME, &m, &m, sizeof m), sizeof m);
}
END_TEST

START_TEST(test_duplicate_errors)
{
    HANDLE out = (HANDLE)0x1234;
    /* Made-up source. */
    SetLastError(0);
    ck_assert(!DuplicateHandle(ME, (HANDLE)0x40, ME, &out, 0, FALSE, DUPLICATE_SAME_ACCESS));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    ck_assert_ptr_eq(out, (HANDLE)0x1234);
    /* Bad process handles. */
    SetLastError(0);
    ck_assert(!DuplicateHandle(NULL, (HANDLE)0x40, ME, &out, 0, FALSE, 0));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    SetLastError(0);
    ck_assert(!DuplicateHandle(ME, (HANDLE)0x40, (HANDLE)0x88, &out, 0, FALSE, 0));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    /* Unknown option bits. */
    SetLastError(0);
    ck_assert(!DuplicateHandle(ME, (HANDLE)0x40, ME, &out, 0, FALSE, 0x100));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_PARAMETER);
    /* Close-source of a made-up handle with no target: the close fails. */
    SetLastError(0);
    ck_assert(!DuplicateHandle(ME, (HANDLE)0x40, NULL, NULL, 0, FALSE, DUPLICATE_CLOSE_SOURCE));
    ck_assert_uint_eq(GetLastError(), ERROR_INVALID_HANDLE);
    ck_assert_ptr_eq(out, (HANDLE)0x1234);
    ck_assert_uint_eq((ULONG)NtDuplicateObject(ME, (HANDLE)0x40, ME, &out, 0, 0, 0),
                      (ULONG)STATUS_INVALID_HANDLE);
}
END_TEST

START_TEST(test_duplicate_bad_pointer)
{
    void *ro = mmap(NULL, VW_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(ro, MAP_FAILED);
    /* The target pointer is probed before the source is looked at. */
    SetLastError(0);
    ck_assert(!DuplicateHandle(ME, (HANDLE)0x40, ME, (LPHANDLE)ro, 0, FALSE, 0));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    SetLastError(0);
    ck_assert(!DuplicateHandle(ME, (HANDLE)0x40, ME, (LPHANDLE)(uintptr_t)8, 0, FALSE, 0));
    ck_assert_uint_eq(GetLastError(), ERROR_NOACCESS);
    munmap(ro, VW_PAGE);
}
END_TEST

START_TEST(test_found_by_name)
{
    HMODULE k32 = GetModuleHandleA("kernel32.dll"), nt = GetModuleHandleA("ntdll.dll");
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "CloseHandle"), (void *)CloseHandle);
    ck_assert_ptr_eq((void *)GetProcAddress(k32, "DuplicateHandle"), (void *)DuplicateHandle);
    ck_assert_ptr_eq((void *)GetProcAddress(nt, "NtClose"), (void *)NtClose);
    ck_assert_ptr_eq((void *)GetProcAddress(nt, "NtDuplicateObject"), (void *)NtDuplicateObject);
    ck_assert_ptr_null((void *)GetProcAddress(nt, "CloseHandle"));
}
END_TEST

static Suite *handles_suite(void)
{
    Suite *s = suite_create("handles");
    TCase *tc = tcase_create("no_objects");
    tcase_add_test(tc, test_close_invalid);
    tcase_add_test(tc, test_close_pseudo);
    tcase_add_test(tc, test_duplicate_errors);
    tcase_add_test(tc, test_duplicate_bad_pointer);
    tcase_add_test(tc, test_found_by_name);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(handles_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
