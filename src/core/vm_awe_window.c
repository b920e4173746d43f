/*
 * vm_awe_window.c: AWE windows (MEM_PHYSICAL allocations) as the VM core's
 * other operations see them (spec 13): their records, VirtualProtect on a
 * window, release, pages taken away by the program (the interposers), and
 * the fork child's repair.
 *
 * A window's record (awe.h) lives from VirtualAlloc(MEM_RESERVE |
 * MEM_PHYSICAL) to its release; its runs carry the record's index in ext.
 * The page table of a window is a mapping of its own (4 bytes a page,
 * MAP_NORESERVE: untouched slots cost nothing).
 *
 * Fork: the frames are a MAP_SHARED file, so a child would share them with
 * its parent; mapped pages carry MADV_DONTFORK (vm_awe.c), so a child has
 * nothing at those pages, and its first map operation (vw_process_enter)
 * makes its windows whole again as reserved, unmapped space, forgets every
 * frame (the parent's frame numbers are stale there) and closes its copy of
 * the parent's memfd.  A child thus has its windows, empty, and no frames; it
 * may allocate frames of its own, in a file of its own.
 */
#include "core/awe.h"
#include "os/os.h"

#include <errno.h>
#include <sys/mman.h>

int vw_awe_window_new_locked(uintptr_t base, size_t len, uint32_t *ext)
{
    uint32_t slot;
    if (awe.win_free) {
        slot = awe.win_free;
    } else {
        if (awe.nwindows >= AWE_MAX_WINDOWS ||
            awe_table_grow(&awe.windows, AWE_MAX_WINDOWS * sizeof(struct awe_window),
                           (awe.nwindows + 1) * sizeof(struct awe_window)))
            return ENOMEM;
        slot = awe.nwindows + 1;
    }
    size_t npages = len / vw_page();
    uintptr_t table = 0;
    size_t bytes = page_ceil(npages * sizeof(uint32_t));
    if (os_map_flags(&table, bytes, PROT_READ | PROT_WRITE, MAP_NORESERVE, 0))
        return ENOMEM;
    struct awe_window *w = awe_window(slot);
    if (slot == awe.win_free)
        awe.win_free = w->next;
    else
        awe.nwindows++;
    w->base = base;
    w->npages = w->present = npages;
    w->page = (uint32_t *)table;
    w->table_bytes = bytes;
    w->next = 0;
    w->live = 1;
    *ext = slot;
    return 0;
}

/* Frames mapped in [a, b) of w: unmapped in the tables (the kernel's pages
 * there are already gone or being replaced by the caller). */
static void forget_pages_locked(struct awe_window *w, uintptr_t a, uintptr_t b)
{
    for (uintptr_t p = a; p < b; p += vw_page()) {
        uint32_t *s = awe_slot(w, p);
        if (*s) {
            awe_frames()[*s - 1].at = 0;
            *s = 0;
        }
    }
}

static void free_record_locked(uint32_t ext)
{
    struct awe_window *w = awe_window(ext);
    os_unmap((uintptr_t)w->page, w->table_bytes);
    w->live = 0;
    w->page = NULL;
    w->next = awe.win_free;
    awe.win_free = ext;
}

void vw_awe_window_gone_locked(uint32_t ext)
{
    struct awe_window *w = awe_window(ext);
    forget_pages_locked(w, w->base, w->base + w->npages * vw_page());
    free_record_locked(ext);
}

void vw_awe_pages_gone_locked(const struct vw_run *piece)
{
    if (piece->kind != VM_KIND_PHYSICAL || !piece->ext)
        return;
    struct awe_window *w = awe_window(piece->ext);
    if (!w->live)
        return;
    forget_pages_locked(w, piece->start, piece->end);
    w->present -= (piece->end - piece->start) / vw_page();
    if (w->present == 0)
        free_record_locked(piece->ext);
}

/* VirtualProtect on a window (WRK protect.c, MiProtectAweRegion): the range
 * must lie in the window; the protection must be PAGE_NOACCESS, PAGE_READONLY
 * or PAGE_READWRITE exactly (anything else: STATUS_CONFLICTING_ADDRESSES); it
 * applies to the pages with a frame mapped and leaves the others alone (a
 * frame mapped later is read-write again); the old protection is the first
 * page's, PAGE_NOACCESS when it has no frame. */
NTSTATUS vm_awe_protect_locked(struct vw_run *r, uintptr_t start, uintptr_t end, int change,
                               DWORD prot, DWORD *old)
{
    struct rm_summary s;
    if (end > rm_alloc_end(r))
        return STATUS_CONFLICTING_ADDRESSES;
    rm_summarize(&vw_state.map, start, end, &s);
    if (s.any_hole)
        return STATUS_CONFLICTING_ADDRESSES;
    if (prot != PAGE_NOACCESS && prot != PAGE_READONLY && prot != PAGE_READWRITE)
        return STATUS_CONFLICTING_ADDRESSES;
    *old = r->state == RUN_COMMITTED ? r->protect : PAGE_NOACCESS;
    if (!change || !s.any_committed)
        return STATUS_SUCCESS;
    /* The kernel first, run by run (a refusal puts back what was done: the
     * map still says how it was), then the map. */
    for (struct vw_run *q = r; q && q->start < end; q = rm_next(q)) {
        uintptr_t a = q->start > start ? q->start : start;
        uintptr_t b = q->end < end ? q->end : end;
        if (q->state != RUN_COMMITTED || q->protect == prot)
            continue;
        int err = os_protect(a, b - a, prot_to_linux(prot));
        if (err) {
            vw_restore_protection_locked(start, a);
            return vm_status_from_errno(err);
        }
    }
    for (uintptr_t cur = start; cur < end;) {
        struct vw_run *q = rm_find_from(&vw_state.map, cur);
        uintptr_t b = q->end < end ? q->end : end;
        if (q->state == RUN_COMMITTED && q->protect != prot) {
            struct rm_spares sp = { { NULL, NULL } };
            if (rm_spare_get(&vw_state.map, &sp, 2) == 0)
                rm_set_range(&vw_state.map, &sp, cur, b, 0, (uint16_t)prot, 0, 0);
            rm_spare_put(&vw_state.map, &sp);
        }
        cur = b;
    }
    return STATUS_SUCCESS;
}

void vw_awe_after_fork(void)
{
    for (uint32_t ext = 1; ext <= awe.nwindows; ext++) {
        struct awe_window *w = awe_window(ext);
        if (!w->live)
            continue;
        forget_pages_locked(w, w->base, w->base + w->npages * vw_page());
        /* MADV_DONTFORK left nothing at the pages that had frames (and maybe
         * at others of the window): every run of the window is reserved
         * space again. */
        struct vw_run *r = rm_find_from(&vw_state.map, w->base);
        while (r && r->alloc_base == w->base) {
            uintptr_t a = r->start, b = r->end;
            os_decommit(a, b - a);
            if (r->state == RUN_COMMITTED) {
                struct rm_spares sp = { { NULL, NULL } };
                if (rm_spare_get(&vw_state.map, &sp, 2) == 0) {
                    rm_set_range(&vw_state.map, &sp, a, b, RUN_RESERVED, 0, 0, 0);
                    vw_state.committed -= b - a;
                }
                rm_spare_put(&vw_state.map, &sp);
            }
            r = rm_find_from(&vw_state.map, b);
        }
    }
    /* Every frame is the parent's: stale here.  The generations stay, so a
     * number from the parent never names a frame the child allocates. */
    struct awe_frame *F = awe_frames();
    for (uint32_t i = 0; i < awe.nframes; i++) {
        if (F[i].gen & 1)
            F[i].gen++;
        F[i].at = 0;
        F[i].next = 0;
    }
    awe.nframes = 0;
    awe.free_head = 0;
    if (awe.fd >= 0)
        os_close(awe.fd);
    awe.fd = -1;
}
