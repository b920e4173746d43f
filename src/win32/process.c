/*
 * process.c: process handles (FlushInstructionCache is in virtual.c).
 *
 * Only the current process exists for now: GetCurrentProcess() returns the
 * pseudo handle (HANDLE)-1 and the Ex variants accept it; NULL and every other
 * handle give ERROR_INVALID_HANDLE.  vw_check_process is the one place that
 * will learn real process handles later.
 */
#include "core/vm.h"
#include "diag/trace.h"

DWORD vw_check_process(HANDLE h)
{
    return vm_check_process(h) ? ERROR_INVALID_HANDLE : 0;
}

VW_API HANDLE WINAPI GetCurrentProcess(void)
{
    return VW_PSEUDO_PROCESS;
}
