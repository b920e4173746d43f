/*
 * probe.c: caller pointers checked before use (see probe.h).
 *
 * Order of the checks, cheapest first:
 *   1. addresses Windows never maps for a process (the first 64 KiB, anything
 *      past the user range, ranges that wrap): refused without a lookup;
 *   2. the calling thread's stack between its current frame and the top of
 *      the stack mapping: in use, hence mapped and writable (the commonest
 *      case: a MEMORY_BASIC_INFORMATION on the caller's stack);
 *   3. otherwise the kernel's view (kernelview: one PROCMAP_QUERY ioctl per
 *      mapping the range touches) must show every byte mapped with the access.
 *
 * Invariant: no lock taken, no state written but this thread's stack cache,
 * async-signal-safe (kv_find is).  A range can still be unmapped by another
 * thread between the probe and the access; that race is the caller program's.
 */
#include "core/probe.h"
#include "core/vw.h"
#include "os/kernelview.h"

#include <sys/mman.h>

/* Top of this thread's stack mapping, found once per thread (0: not yet). */
static __thread uintptr_t stack_top __attribute__((tls_model("initial-exec")));

static int on_own_stack(uintptr_t a, uintptr_t end)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (a < sp)
        return 0;
    if (!stack_top) {
        struct kv_vma v;
        if (kv_find(sp, &v) != 0 || v.start > sp || (v.prot & (PROT_READ | PROT_WRITE)) !=
                                                         (PROT_READ | PROT_WRITE))
            return 0;
        stack_top = v.end;
    }
    return end <= stack_top;
}

DWORD vw_probe(const void *p, size_t len, enum vw_access access)
{
    uintptr_t a = (uintptr_t)p, end = a + len;
    if (!len)
        return 0;
    if (a < VW_MIN_ADDR || end < a || end - 1 > VW_MAX_ADDR + 0xFFFF)
        return ERROR_NOACCESS;
    if (on_own_stack(a, end))
        return 0;
    int need = access == VW_PROBE_WRITE ? PROT_READ | PROT_WRITE : PROT_READ;
    while (a < end) {
        struct kv_vma v;
        if (kv_find(a, &v) != 0 || v.start > a || (v.prot & need) != need)
            return ERROR_NOACCESS;
        a = v.end;
    }
    return 0;
}

DWORD vw_probe_string(const void *s, size_t unit, size_t max)
{
    uintptr_t a = (uintptr_t)s;
    if (a < VW_MIN_ADDR || a > VW_MAX_ADDR + 0xFFFF)
        return ERROR_NOACCESS;
    /* Probe page by page, reading only pages already shown readable. */
    uintptr_t pg = vw_page();
    for (size_t done = 0; done < max;) {
        uintptr_t page_end = (a | (pg - 1)) + 1;
        if (page_end < a + unit)   /* a character straddling two pages */
            page_end = a + unit;
        if (vw_probe((const void *)a, page_end - a, VW_PROBE_READ))
            return ERROR_NOACCESS;
        for (; a + unit <= page_end && done < max; a += unit, done += unit) {
            const unsigned char *c = (const unsigned char *)a;
            int zero = 1;
            for (size_t i = 0; i < unit; i++)
                zero &= c[i] == 0;
            if (zero)
                return 0;
        }
    }
    return 0;
}
