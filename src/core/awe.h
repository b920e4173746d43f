/*
 * awe.h: the AWE family's own state (core/vm_awe.c, core/vm_awe_window.c),
 * shared by its two files only; everything else goes through core/vm.h and
 * the vw_awe_* hooks of core/vw.h.
 *
 * Frames are pages of one memfd the library owns.  Frame i (its index) is the
 * page at offset i * page of that file; its number, as the program sees it,
 * is (generation << AWE_GEN_SHIFT) | (i + 1): never 0 (scatter's "unmap"),
 * and a number of a freed frame, or one made up, names no live frame, because
 * the generation moves on at every allocation and every free (odd: live).
 * frame.at is where the frame is mapped (0: nowhere); a window's page table
 * says which frame (index + 1, 0: none) each of its pages maps.  Invariant
 * (under the map lock): frame i has at == p exactly when the window holding p
 * has i + 1 in p's slot, and then p's run is RUN_COMMITTED and the kernel maps
 * that page of the memfd MAP_SHARED at p (with MADV_DONTFORK).  All the
 * tables live in the library's own mappings (reserved PROT_NONE, made
 * read-write as they grow), never in malloc.
 */
#ifndef VW_AWE_H
#define VW_AWE_H

#include "core/vm.h"

#if UINTPTR_MAX > 0xFFFFFFFFu
#define AWE_GEN_SHIFT 32
#define AWE_MAX_FRAMES ((uint32_t)1 << 24)   /* 64 GiB of 4 KiB frames */
#else
#define AWE_GEN_SHIFT 20
#define AWE_MAX_FRAMES (((uint32_t)1 << 20) - 1)
#endif
#define AWE_MAX_WINDOWS ((uint32_t)1 << 16)

struct awe_frame {
    uint32_t gen;    /* odd while allocated */
    uint32_t next;   /* free list: index + 1 of the next free frame, 0: end */
    uintptr_t at;    /* the page it is mapped at, 0: unmapped */
};

struct awe_window {
    uintptr_t base;
    size_t npages;
    size_t present;    /* pages still in the map (munmap may take some) */
    uint32_t *page;    /* npages slots: frame index + 1, 0: none */
    size_t table_bytes;
    uint32_t next;     /* free list of records: index + 1 */
    uint32_t live;
};

/* A table in a reservation of its own, made read-write as it grows. */
struct awe_table {
    uintptr_t mem;
    size_t reserved, committed;
};

struct awe_state {
    int fd;                /* the memfd, -1 before the first frame */
    int ever;              /* a frame was ever allocated (Windows' AweInfo) */
    uint32_t nframes;      /* frame indices used so far (the file's pages) */
    uint32_t free_head;    /* index + 1 of the first free frame */
    uint32_t nwindows, win_free;
    struct awe_table frames, windows;
};

extern struct awe_state awe;

static inline struct awe_frame *awe_frames(void)
{
    return (struct awe_frame *)awe.frames.mem;
}
static inline struct awe_window *awe_window(uint32_t ext)
{
    return &((struct awe_window *)awe.windows.mem)[ext - 1];
}
/* Grows t to hold at least `bytes` (0 or ENOMEM). */
int awe_table_grow(struct awe_table *t, size_t max_bytes, size_t bytes);
/* Puts page p of a window back as it was: frame slot (0: reserved) with the
 * protection its run records (a rollback; retried, as vw_protect_back). */
void awe_restore_page_locked(struct awe_window *w, uintptr_t p);
/* Frame slot -> the page the window holds at p. */
static inline uint32_t *awe_slot(struct awe_window *w, uintptr_t p)
{
    return &w->page[(p - w->base) / vw_page()];
}

#endif
