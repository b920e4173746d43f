/*
 * largepage.c: GetLargePageMinimum.  The size comes from the VM core
 * (core/vm_large.c), which also makes the large-page allocations.
 */
#include "core/vw.h"
#include "diag/trace.h"

VW_API SIZE_T WINAPI GetLargePageMinimum(void)
{
    vw_init();
    SIZE_T r = vw_large_page_size();
    VW_TRACE(1, "GetLargePageMinimum() = %z", r);
    return r;
}
