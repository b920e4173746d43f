/*
 * pool.c: the node pool (see pool.h).  Slabs start at 64 KiB and double up to
 * 8 MiB, so a small process pays little and a million allocations cost a
 * handful of mappings; slabs from 4 MiB on ask for transparent huge pages.
 */
#include "core/pool.h"
#include "os/os.h"

#include <sys/mman.h>

#define SLAB_MIN ((size_t)64 << 10)
#define SLAB_MAX ((size_t)8 << 20)
#define SLAB_HUGE ((size_t)4 << 20)

void *pool_get(struct vw_pool *p)
{
    void *obj = p->free_list;
    if (obj) {
        p->free_list = *(void **)obj;
        p->live++;
        return obj;
    }
    if ((size_t)(p->bump_end - p->bump) < p->objsize) {
        size_t len = p->slab_bytes < SLAB_MIN ? SLAB_MIN
                   : p->slab_bytes > SLAB_MAX ? SLAB_MAX : p->slab_bytes;
        uintptr_t addr = 0;
        if (os_map_anon(&addr, len, PROT_READ | PROT_WRITE) != 0)
            return NULL;
        /* Big slabs hold most nodes of a big map: huge pages spare a lookup
         * its TLB misses (a no-op where THP is off).  Small maps never get here. */
        if (len >= SLAB_HUGE)
            os_advise(addr, len, MADV_HUGEPAGE);
        p->bump = (char *)addr;
        p->bump_end = p->bump + len;
        p->slab_bytes += len;
    }
    obj = p->bump;
    p->bump += p->objsize;
    p->live++;
    return obj;
}

void pool_put(struct vw_pool *p, void *obj)
{
    *(void **)obj = p->free_list;
    p->free_list = obj;
    p->live--;
}
