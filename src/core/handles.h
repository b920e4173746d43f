/*
 * handles.h: the library's handle table, Windows' per-process table of
 * kernel-object handles: sections (and their files) and other processes.
 *
 * A handle names an object and carries the access rights it was opened with.
 * Values are multiples of 4 starting at 4 (never NULL, never one of the
 * pseudo handles -1 and -2), reused after close as Windows reuses them.
 * Objects are the families' own records; each starts with struct vw_object,
 * whose reference count the table and in-flight users share: an object is
 * destroyed (its family's destroy, called with no lock held) when its last
 * handle is closed and no call still uses it.
 *
 * Invariants: an open slot holds a referenced object; a free slot's object is
 * NULL and it sits on the free list.  The table lock is a leaf (taken with or
 * without the map lock, never the other way round), held for a few stores,
 * never across a syscall or a destroy; fork keeps it consistent (state.c
 * takes it in the prepare handler; the child's handles stay open, naming the
 * same objects, as a Windows child inherits inheritable handles).
 */
#ifndef VW_HANDLES_H
#define VW_HANDLES_H

#include <virtualwin/nt.h>

enum vw_htype {
    VW_HT_ANY = 0,         /* in lookups: any type */
    VW_HT_SECTION = 1,
    VW_HT_PROCESS = 2,
    VW_HT_FILE = 3,
};

struct vw_object {
    int refs;                                /* atomic */
    enum vw_htype type;
    void (*destroy)(struct vw_object *o);    /* last reference gone */
};

/* A new object with one reference (the creator's: hand it to handle_insert
 * and drop it, or keep it). */
void vw_object_init(struct vw_object *o, enum vw_htype type,
                    void (*destroy)(struct vw_object *o));
void vw_object_ref(struct vw_object *o);
void vw_object_put(struct vw_object *o);

/* A new handle for o with rights `access` (the handle takes its own
 * reference): STATUS_SUCCESS and *h, or STATUS_INSUFFICIENT_RESOURCES. */
NTSTATUS handle_insert(struct vw_object *o, ACCESS_MASK access, HANDLE *h);
/* The object h names, with a reference the caller drops (vw_object_put), and
 * the handle's rights: STATUS_INVALID_HANDLE for a handle not open,
 * STATUS_OBJECT_TYPE_MISMATCH for one naming another type. */
NTSTATUS handle_ref(HANDLE h, enum vw_htype type, struct vw_object **o, ACCESS_MASK *access);
/* Closes h (the object goes when its last reference does). */
NTSTATUS handle_close(HANDLE h);
/* Open handles (diagnostics and tests). */
unsigned long handle_count(void);

/* state.c's fork handlers. */
void handle_fork_prepare(void);
void handle_fork_parent(void);
void handle_fork_child(void);

#endif
