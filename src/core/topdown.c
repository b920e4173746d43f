/*
 * topdown.c: top-down placement (see topdown.h).  One pass over the kernel's
 * mappings in address order, keeping the highest fitting candidate: a few dozen
 * PROCMAP_QUERY calls, acceptable for the long-lived regions MEM_TOP_DOWN is
 * meant for.
 */
#include "core/topdown.h"
#include "core/foreign.h"
#include "core/space.h"
#include "core/vw.h"

#include <errno.h>

/* Linux keeps this much (stack_guard_gap, 256 pages) free below a stack. */
#define STACK_GUARD_GAP ((uintptr_t)1 << 20)

static void consider(uintptr_t a, uintptr_t b, size_t size, uintptr_t *best)
{
    if (b <= a || b - a < size)
        return;
    uintptr_t cand = (b - size) & ~(VW_GRANULE - 1);
    if (cand >= a && cand >= VW_MIN_ADDR && cand > *best)
        *best = cand;
}

int topdown_find(size_t size, uintptr_t *base)
{
    const uintptr_t limit = VW_MAX_ADDR + 1;
    uintptr_t slo = 0, shi = 0, best = 0;
    if (foreign_main_stack(&slo, &shi))
        slo = slo > STACK_GUARD_GAP ? slo - STACK_GUARD_GAP : 0;
    uintptr_t cur = VW_MIN_ADDR;
    while (cur < limit) {
        struct kv_vma v;
        int err = kv_find(cur, &v);
        uintptr_t gap_end = err || v.start > limit ? limit : v.start;
        if (gap_end > cur) {
            if (shi && slo < gap_end && shi > cur) {
                consider(cur, slo, size, &best);
                consider(shi, gap_end, size, &best);
            } else {
                consider(cur, gap_end, size, &best);
            }
        }
        if (err)
            break;
        cur = v.end > cur ? v.end : cur + 1;
    }
    if (!best)
        return ENOMEM;
    *base = best;
    return 0;
}

int topdown_hits_stack(uintptr_t start, uintptr_t end)
{
    uintptr_t slo, shi;
    return foreign_main_stack(&slo, &shi) && start < shi && end > slo;
}
