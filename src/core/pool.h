/*
 * pool.h: fixed-size object pool for the region map's nodes.
 *
 * Memory comes from the library's own anonymous mappings (os_map_anon), never
 * from malloc, so the map works before constructors, inside any allocator and
 * in a fork child.  Slabs are never returned to the system: a freed object goes
 * on a free list and is reused.  Not thread-safe: the caller holds the map lock.
 */
#ifndef VW_POOL_H
#define VW_POOL_H

#include <stddef.h>

struct vw_pool {
    size_t objsize;       /* bytes per object, >= sizeof(void *) */
    void *free_list;      /* singly linked through the first word */
    char *bump, *bump_end;/* unused tail of the newest slab */
    size_t slab_bytes;    /* bytes mapped so far (for metadata accounting) */
    size_t live;          /* objects handed out and not freed */
};

#define VW_POOL_INIT(size) { (size), NULL, NULL, NULL, 0, 0 }

/* Returns an object, or NULL when no memory can be mapped (ENOMEM). */
void *pool_get(struct vw_pool *p);
void pool_put(struct vw_pool *p, void *obj);

#endif
