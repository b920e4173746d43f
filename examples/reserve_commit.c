/*
 * reserve_commit.c: Microsoft's "Reserving and Committing Memory" sample
 * (learn.microsoft.com, Memory Management > Using the Memory Management
 * Functions), unchanged but for its exception filter: the sample commits the
 * next page from an __except filter, an MSVC extension gcc and clang lack, so
 * here PageFaultExceptionFilter is a vectored exception handler, as a Windows
 * programmer would write it without __try.  Ordinary Windows code: built with
 * the compat <windows.h>, linked or preloaded (make demo).
 *
 * It reserves PAGELIMIT pages, then writes every byte; each write to a page
 * not yet committed raises EXCEPTION_ACCESS_VIOLATION, and the handler
 * commits the next page and continues execution, which retries the write.
 * At the end it checks what Windows guarantees (every byte written, every
 * page committed, one fault per page) and exits nonzero if not.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>   /* For exit */

#define PAGELIMIT 80  /* Number of pages to ask for */

static LPSTR lpNxtPage;    /* Address of the next page to ask for */
static DWORD dwPages = 0;  /* Count of pages gotten so far */
static DWORD dwPageSize;   /* Page size on this computer */
static LPVOID lpvBase;     /* Base address of the test memory */

static LONG WINAPI PageFaultExceptionFilter(PEXCEPTION_POINTERS ep)
{
    LPVOID lpvResult;
    DWORD dwCode = ep->ExceptionRecord->ExceptionCode;
    ULONG_PTR addr = ep->ExceptionRecord->ExceptionInformation[1];

    /* A vectored handler sees every exception in the process: only ours. */
    if (dwCode != EXCEPTION_ACCESS_VIOLATION || addr < (ULONG_PTR)lpvBase ||
        addr >= (ULONG_PTR)lpvBase + (ULONG_PTR)PAGELIMIT * dwPageSize) {
        printf("Exception code = %lu.\n", (unsigned long)dwCode);
        return EXCEPTION_CONTINUE_SEARCH;
    }
    printf("Exception is a page fault.\n");

    /* If the reserved pages are used up, exit. */
    if (dwPages >= PAGELIMIT) {
        printf("Exception: out of pages.\n");
        return EXCEPTION_CONTINUE_SEARCH;
    }

    /* Otherwise, commit another page. */
    lpvResult = VirtualAlloc((LPVOID)lpNxtPage, dwPageSize, MEM_COMMIT, PAGE_READWRITE);
    if (lpvResult == NULL) {
        printf("VirtualAlloc failed.\n");
        return EXCEPTION_CONTINUE_SEARCH;
    } else {
        printf("Allocating another page.\n");
    }

    /* Increment the page count, and advance lpNxtPage to the next page. */
    dwPages++;
    lpNxtPage = (LPSTR)((PCHAR)lpNxtPage + dwPageSize);

    /* Continue execution where the page fault occurred. */
    return EXCEPTION_CONTINUE_EXECUTION;
}

static void ErrorExit(const char *lpMsg)
{
    printf("Error! %s with error code of %lu.\n", lpMsg, (unsigned long)GetLastError());
    exit(1);
}

int main(void)
{
    LPSTR lpPtr;       /* Generic character pointer */
    BOOL bSuccess;     /* Flag */
    DWORD i;           /* Generic counter */
    SYSTEM_INFO sSysInfo;
    MEMORY_BASIC_INFORMATION mbi;
    PVOID handler;

    GetSystemInfo(&sSysInfo);
    printf("This computer has page size %lu.\n", (unsigned long)sSysInfo.dwPageSize);
    dwPageSize = sSysInfo.dwPageSize;

    /* Reserve pages in the virtual address space of the process. */
    lpvBase = VirtualAlloc(NULL, PAGELIMIT * dwPageSize, MEM_RESERVE, PAGE_NOACCESS);
    if (lpvBase == NULL)
        ErrorExit("VirtualAlloc reserve failed.");

    lpPtr = lpNxtPage = (LPSTR)lpvBase;

    /* The __try/__except of the original, as a vectored handler. */
    handler = AddVectoredExceptionHandler(1, PageFaultExceptionFilter);
    if (handler == NULL)
        ErrorExit("AddVectoredExceptionHandler failed.");

    /* Use structured exception handling when accessing the pages.  If a page
     * fault occurs, the exception handler is executed. */
    for (i = 0; i < PAGELIMIT * dwPageSize; i++)
        lpPtr[i] = 'a';   /* Write to memory. */

    RemoveVectoredExceptionHandler(handler);

    /* What Windows guarantees: every byte written, every page committed. */
    for (i = 0; i < PAGELIMIT * dwPageSize; i++)
        if (lpPtr[i] != 'a')
            ErrorExit("Memory check failed.");
    if (VirtualQuery(lpvBase, &mbi, sizeof mbi) != sizeof mbi || mbi.State != MEM_COMMIT ||
        mbi.RegionSize != (SIZE_T)PAGELIMIT * dwPageSize || dwPages != PAGELIMIT)
        ErrorExit("Commit check failed.");
    printf("%lu pages committed on demand, one exception each.\n", (unsigned long)dwPages);

    /* Release the block of pages when you are finished using them. */
    bSuccess = VirtualFree(lpvBase, 0, MEM_RELEASE);
    printf("Release %s.\n", bSuccess ? "succeeded" : "failed");
    return bSuccess ? 0 : 1;
}
