/*
 * sysinfo.c: GetSystemInfo and GetNativeSystemInfo (spec section 1): the Win32
 * edge.  The figures come from the core (core/vm_sysinfo.c); this file only
 * probes the caller's structure and copies them out.
 *
 * A bad lpSystemInfo (NULL, unmapped, read-only, kernel): Windows raises an
 * access violation in these void calls; here the memory is left untouched and
 * the last error is set to ERROR_NOACCESS (the error Windows gives for an
 * access violation wherever it reports one), so a program can still tell.
 * The figures are built in a local copy and stored in one go.
 */
#include "core/vm.h"
#include "core/probe.h"
#include "diag/trace.h"

#include <string.h>

static void fill(LPSYSTEM_INFO out)
{
    vw_init();
    if (vw_probe(out, sizeof *out, VW_PROBE_WRITE)) {
        vw_set_error(ERROR_NOACCESS);
        return;
    }
    SYSTEM_INFO local;
    vm_system_info(&local);
    memcpy(out, &local, sizeof local);
}

VW_API void WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo)
{
    fill(lpSystemInfo);
    VW_TRACE(1, "GetSystemInfo(%p)", lpSystemInfo);
}

VW_API void WINAPI GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo)
{
    fill(lpSystemInfo);
    VW_TRACE(1, "GetNativeSystemInfo(%p)", lpSystemInfo);
}
