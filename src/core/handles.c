/*
 * handles.c: the handle table (handles.h has the contract).
 *
 * Slots live in one lazily made anonymous mapping of HT_MAX 16-byte entries
 * (no malloc: handles are opened before constructors and in fork children;
 * untouched pages cost nothing).  Slot i is handle (i + 1) * 4.  A free list
 * threads the closed slots, so values are reused as on Windows and the table
 * never grows past the most handles ever open at once.
 */
#include "core/handles.h"
#include "core/vw.h"
#include "os/os.h"
#include "os/spinlock.h"

#include <sys/mman.h>

#define HT_MAX (1u << 20)            /* open handles at once (Windows: ~16M) */

struct slot {
    struct vw_object *obj;           /* NULL: free */
    ACCESS_MASK access;
    uint32_t next_free;              /* free list, index + 1 (0: end) */
};

static struct {
    vw_lock_t lock;
    struct slot *slots;              /* HT_MAX entries, mapped on first use */
    uint32_t used;                   /* slots ever handed out (high water) */
    uint32_t free_head;              /* index + 1 of the first free slot */
    unsigned long open;
} ht;

void vw_object_init(struct vw_object *o, enum vw_htype type, void (*destroy)(struct vw_object *))
{
    o->refs = 1;
    o->type = type;
    o->destroy = destroy;
}

void vw_object_ref(struct vw_object *o)
{
    __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
}

void vw_object_put(struct vw_object *o)
{
    if (__atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) == 0 && o->destroy)
        o->destroy(o);
}

/* Handle value -> slot index, or -1 for anything that is not a handle the
 * table could have made (NULL, pseudo handles, unaligned or too big values). */
static long slot_index(HANDLE h)
{
    uintptr_t v = (uintptr_t)h;
    if (v == 0 || (v & 3) || v / 4 > HT_MAX)
        return -1;
    return (long)(v / 4 - 1);
}

/* Caller holds ht.lock.  0 or ENOMEM. */
static int table_map(void)
{
    if (ht.slots)
        return 0;
    uintptr_t a = 0;
    int err = os_map_flags(&a, (size_t)HT_MAX * sizeof(struct slot), PROT_READ | PROT_WRITE,
                           MAP_NORESERVE, 0);
    if (!err)
        ht.slots = (struct slot *)a;
    return err;
}

NTSTATUS handle_insert(struct vw_object *o, ACCESS_MASK access, HANDLE *h)
{
    vw_lock(&ht.lock);
    uint32_t i;
    if (table_map()) {
        vw_unlock(&ht.lock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (ht.free_head) {
        i = ht.free_head - 1;
        ht.free_head = ht.slots[i].next_free;
    } else if (ht.used < HT_MAX) {
        i = ht.used++;
    } else {
        vw_unlock(&ht.lock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    vw_object_ref(o);
    ht.slots[i].obj = o;
    ht.slots[i].access = access;
    ht.slots[i].next_free = 0;
    ht.open++;
    vw_unlock(&ht.lock);
    *h = (HANDLE)(((uintptr_t)i + 1) * 4);
    return STATUS_SUCCESS;
}

NTSTATUS handle_ref(HANDLE h, enum vw_htype type, struct vw_object **o, ACCESS_MASK *access)
{
    long i = slot_index(h);
    if (i < 0)
        return STATUS_INVALID_HANDLE;
    NTSTATUS st = STATUS_INVALID_HANDLE;
    vw_lock(&ht.lock);
    if ((uint32_t)i < ht.used && ht.slots[i].obj) {
        struct vw_object *obj = ht.slots[i].obj;
        if (type != VW_HT_ANY && obj->type != type) {
            st = STATUS_OBJECT_TYPE_MISMATCH;
        } else {
            vw_object_ref(obj);
            *o = obj;
            if (access)
                *access = ht.slots[i].access;
            st = STATUS_SUCCESS;
        }
    }
    vw_unlock(&ht.lock);
    return st;
}

NTSTATUS handle_close(HANDLE h)
{
    long i = slot_index(h);
    if (i < 0)
        return STATUS_INVALID_HANDLE;
    struct vw_object *obj = NULL;
    vw_lock(&ht.lock);
    if ((uint32_t)i < ht.used && ht.slots[i].obj) {
        obj = ht.slots[i].obj;
        ht.slots[i].obj = NULL;
        ht.slots[i].access = 0;
        ht.slots[i].next_free = ht.free_head;
        ht.free_head = (uint32_t)i + 1;
        ht.open--;
    }
    vw_unlock(&ht.lock);
    if (!obj)
        return STATUS_INVALID_HANDLE;
    vw_object_put(obj);       /* outside the lock: destroy may unmap, close fds */
    return STATUS_SUCCESS;
}

unsigned long handle_count(void)
{
    return __atomic_load_n(&ht.open, __ATOMIC_RELAXED);
}

void handle_fork_prepare(void)
{
    vw_lock(&ht.lock);
}

void handle_fork_parent(void)
{
    vw_unlock(&ht.lock);
}

void handle_fork_child(void)
{
    /* Single-threaded: the lock was held by the forking thread, the table is
     * consistent. */
    vw_lock_reset(&ht.lock);
}
