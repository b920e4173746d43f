/*
 * lasterror.c: GetLastError / SetLastError.  The value is thread-local in the
 * initial-exec TLS model, so reading it never allocates or takes a loader lock
 * (important when the library is preloaded and called from signal handlers).
 * Only failing calls set it; successful calls leave it as the caller left it.
 */
#include "core/vw.h"

static __thread DWORD last_error __attribute__((tls_model("initial-exec")));

void vw_set_error(DWORD err)
{
    last_error = err;
}

VW_API DWORD WINAPI GetLastError(void)
{
    return last_error;
}

VW_API void WINAPI SetLastError(DWORD dwErrCode)
{
    last_error = dwErrCode;
}
