/*
 * vm_view.c: views of sections (spec section 15; contract in vm_section.h).
 *
 * A view is an allocation of kind VM_KIND_VIEW: placed like a reservation
 * (arena granules or a mapping of its own), then the section's file mapped
 * MAP_FIXED over the reserved range (MAP_SHARED, or MAP_PRIVATE for
 * FILE_MAP_COPY); unmapping gives the range back as reserved-free space.  Its
 * runs carry ext = index + 1 of a view record here: the section, the offset,
 * and how many allocations of the map name the record (1, or 2 for a moment
 * while the interposed mremap moves a view).  Records live in one lazily
 * mapped table under the map lock (no malloc), free ones on a free list.
 *
 * SEC_RESERVE: pages of a view are MEM_RESERVE (PROT_NONE) until a commit in
 * any view marks them committed in the section; the commit then opens them
 * in every view of the section in this process, each with its own view
 * protection, so VirtualQuery of every view agrees.  FILE_MAP_COPY: pages
 * report PAGE_WRITECOPY until written, then PAGE_READWRITE: VirtualQuery asks
 * /proc/self/pagemap which pages are private copies (vm_view_refine).
 * Protection changes stay within what the view and the section allow
 * (Windows' rule: the new access must be in the view's and the section's).
 */
#include "core/vm_section.h"
#include "core/space.h"
#include "core/topdown.h"
#include "os/os.h"
#include "os/osfile.h"

#include <errno.h>
#include <sys/mman.h>

#define VIEW_MAX (1u << 20)

struct view_rec {
    struct vw_section *s;    /* NULL: free */
    uint64_t offset;
    uint32_t allocs;         /* allocations of the map naming this record */
    uint32_t next_free;      /* free list, index + 1 */
};

static struct {
    struct view_rec *v;
    uint32_t used, free_head;
} vt;

/* ---- protection rules ------------------------------------------------------ */

enum { A_R = 1, A_W = 2, A_X = 4, A_WC = 8 };

/* What a protection lets one do (Windows' view-protection compatibility). */
static unsigned prot_access(DWORD prot)
{
    switch (prot & 0xFF) {
    case PAGE_READONLY:
    case PAGE_WRITECOPY: return A_R;
    case PAGE_READWRITE: return A_R | A_W;
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ: return A_R | A_X;
    case PAGE_EXECUTE_WRITECOPY: return A_R | A_X | A_WC;
    case PAGE_EXECUTE_READWRITE: return A_R | A_W | A_X | A_WC;
    default: return 0;
    }
}

static int is_writecopy(DWORD prot)
{
    return (prot & 0xFF) == PAGE_WRITECOPY || (prot & 0xFF) == PAGE_EXECUTE_WRITECOPY;
}

/* The handle rights a view protection needs. */
static ACCESS_MASK needed_rights(DWORD prot)
{
    ACCESS_MASK a = (prot_access(prot) & A_W) ? VW_SECTION_MAP_WRITE : VW_SECTION_MAP_READ;
    return a | ((prot_access(prot) & A_X) ? VW_SECTION_MAP_EXECUTE : 0);
}

NTSTATUS vm_view_protect_check(const struct vw_run *r, DWORD prot)
{
    if (prot_validate_ex(prot, 1))
        return STATUS_INVALID_PAGE_PROTECTION;
    const struct view_rec *v = &vt.v[r->ext - 1];
    struct section_info si;
    section_info(v->s, &si);
    unsigned view = prot_access(r->alloc_protect), want = prot_access(prot);
    int shared = !is_writecopy(r->alloc_protect);
    /* Linux cannot turn one page of a shared mapping private in place. */
    if (shared && is_writecopy(prot))
        return STATUS_INVALID_PAGE_PROTECTION;
    if (view == want)
        return STATUS_SUCCESS;
    if (!view || (view & want) != want || (prot_access(si.protect) & want) != want)
        return STATUS_INVALID_PAGE_PROTECTION;
    return STATUS_SUCCESS;
}

/* ---- view records (map lock held) ------------------------------------------ */

static uint32_t rec_new_locked(struct vw_section *s, uint64_t offset)
{
    if (!vt.v) {
        uintptr_t a = 0;
        if (os_map_flags(&a, (size_t)VIEW_MAX * sizeof(struct view_rec), PROT_READ | PROT_WRITE,
                         MAP_NORESERVE, 0))
            return 0;
        vt.v = (struct view_rec *)a;
    }
    uint32_t i;
    if (vt.free_head) {
        i = vt.free_head - 1;
        vt.free_head = vt.v[i].next_free;
    } else if (vt.used < VIEW_MAX) {
        i = vt.used++;
    } else {
        return 0;
    }
    vt.v[i] = (struct view_rec){ s, offset, 1, 0 };
    return i + 1;
}

static void rec_free_locked(uint32_t ext)
{
    struct view_rec *v = &vt.v[ext - 1];
    struct vw_section *s = v->s;
    v->s = NULL;
    v->next_free = vt.free_head;
    vt.free_head = ext;
    section_view_removed_locked(s);
}

void vm_view_forget_locked(uint32_t ext)
{
    if (ext && vt.v && vt.v[ext - 1].s && --vt.v[ext - 1].allocs == 0)
        rec_free_locked(ext);
}

void vm_view_hold_locked(uint32_t ext)
{
    if (ext && vt.v && vt.v[ext - 1].s)
        vt.v[ext - 1].allocs++;
}

/* The section page that page `p` of view run r shows. */
static uint64_t section_page(const struct vw_run *r, uintptr_t p)
{
    return (vt.v[r->ext - 1].offset + (p - r->alloc_base)) / vw_page();
}

/* ---- mapping ----------------------------------------------------------------- */

static void set_kind(struct vw_run *r, uint32_t ext)
{
    rm_write_begin();
    r->kind = VM_KIND_VIEW;
    r->ext = ext;
    rm_write_end();
}

/* Opens the committed pages of a SEC_RESERVE view [base, end) just mapped
 * PROT_NONE; returns the bytes committed, or (size_t)-1 if the kernel refused. */
static size_t open_committed_locked(struct vw_run *r, struct vw_section *s, DWORD prot)
{
    uintptr_t base = r->alloc_base, end = rm_alloc_end(r), cur = base;
    size_t done = 0;
    while (cur < end) {
        while (cur < end && !section_page_committed(s, section_page(r, cur)))
            cur += vw_page();
        uintptr_t a = cur;
        while (cur < end && section_page_committed(s, section_page(r, cur)))
            cur += vw_page();
        if (a == cur)
            break;
        struct rm_spares sp = { { NULL, NULL } };
        if (rm_spare_get(&vw_state.map, &sp, 2) || os_protect(a, cur - a, prot_to_linux(prot))) {
            rm_spare_put(&vw_state.map, &sp);
            return (size_t)-1;
        }
        rm_set_range(&vw_state.map, &sp, a, cur, RUN_COMMITTED, (uint16_t)prot, 0, 0);
        rm_spare_put(&vw_state.map, &sp);
        done += cur - a;
    }
    return done;
}

/* Finds or checks the place of a new view; claims its space (replace: the
 * placeholder's run, *ph, is retyped once the file is mapped over it). */
static NTSTATUS place_locked(uintptr_t addr, size_t len, int replace, uintptr_t *base,
                             struct vw_run **ph)
{
    *base = addr;
    if (replace)
        return vm_placeholder_check_locked(addr, addr + len, ph);
    int err;
    if (addr)
        err = rm_overlaps(&vw_state.map, addr, addr + len) ? EEXIST : space_claim(addr, len);
    else
        err = space_alloc(len, 0, base);
    return err == EEXIST ? STATUS_CONFLICTING_ADDRESSES : vm_status_from_errno(err);
}

NTSTATUS vm_view_map(HANDLE section, uintptr_t addr, uint64_t offset, size_t size, DWORD prot,
                     int replace, uintptr_t *out_base, size_t *out_len)
{
    ACCESS_MASK granted;
    NTSTATUS st;
    struct vw_section *s = section_ref(section, &granted, &st);
    if (!s)
        return st;
    struct section_info si;
    section_info(s, &si);
    prot &= 0xFF;
    size_t len = 0;
    if ((granted & needed_rights(prot)) != needed_rights(prot) ||
        (prot_access(prot) & ~prot_access(si.protect) & (A_W | A_X)))
        st = STATUS_ACCESS_DENIED;
    else if (offset >= si.size)
        st = STATUS_INVALID_PARAMETER;
    else if (size > si.size - offset)
        st = STATUS_INVALID_VIEW_SIZE;
    else if ((len = page_ceil(size ? size : (size_t)(si.size - offset))) < size ||
             vw_range_invalid(addr, len))
        st = STATUS_INVALID_VIEW_SIZE;
    else if (!replace && addr && topdown_hits_stack(addr, addr + len))
        st = STATUS_CONFLICTING_ADDRESSES;
    if (st) {
        section_put(s);
        return st;
    }
    int reserve = !!(si.attrs & VW_SEC_RESERVE);
    int shared = !is_writecopy(prot);
    struct rm_spares sp = { { NULL, NULL } };
    uintptr_t base = 0;
    map_lock();
    struct vw_run *r = NULL;
    uint32_t ext = rm_spare_get(&vw_state.map, &sp, 1) ? 0 : rec_new_locked(s, offset);
    st = ext ? place_locked(addr, len, replace, &base, &r) : STATUS_NO_MEMORY;
    if (!st) {
        int err = os_map_fd_fixed(base, len, reserve ? PROT_NONE : prot_to_linux(prot), shared,
                                  si.fd, offset);
        if (err && replace)
            os_decommit(base, len);   /* the placeholder's space as it was */
        else if (err)
            space_release(base, len, 1);
        if (err)
            st = vm_status_from_errno(err);
    }
    if (st) {
        if (ext) {
            vt.v[ext - 1].s = NULL;
            vt.v[ext - 1].next_free = vt.free_head;
            vt.free_head = ext;
        }
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        section_put(s);
        return st;
    }
    section_view_added_locked(s);
    if (replace) {
        vm_placeholder_claim_locked(r, VM_KIND_VIEW, ext, prot, !reserve, prot);
    } else {
        r = rm_insert_alloc(&vw_state.map, &sp, base, base + len, (uint16_t)prot,
                            reserve ? RUN_RESERVED : RUN_COMMITTED, (uint16_t)prot);
        set_kind(r, ext);
    }
    size_t committed = reserve ? open_committed_locked(r, s, prot) : len;
    if (committed != (size_t)-1)
        vw_state.committed += committed;
    /* A refused mprotect leaves those pages reserved (the map says so). */
    rm_spare_put(&vw_state.map, &sp);
    map_unlock();
    section_put(s);
    *out_base = base;
    *out_len = len;
    return STATUS_SUCCESS;
}

NTSTATUS vm_view_unmap(uintptr_t addr, int preserve)
{
    map_lock();
    struct vw_run *r = rm_find_from(&vw_state.map, page_floor(addr));
    if (!r || r->kind != VM_KIND_VIEW || addr < r->alloc_base || addr >= rm_alloc_end(r)) {
        map_unlock();
        return STATUS_NOT_MAPPED_VIEW;
    }
    uint32_t ext = r->ext;
    /* Back to a placeholder (made from one: vm_placeholder.c checks), or gone. */
    NTSTATUS st = preserve ? vm_placeholder_restore_locked(r->alloc_base, rm_alloc_end(r), 1)
                           : vm_release_alloc_locked(r);
    if (st) {
        map_unlock();
        return st;
    }
    vm_view_forget_locked(ext);
    map_unlock();
    return STATUS_SUCCESS;
}

NTSTATUS vm_view_flush(uintptr_t addr, size_t size)
{
    map_lock();
    struct vw_run *r = rm_find(&vw_state.map, page_floor(addr));
    if (!r || r->kind != VM_KIND_VIEW) {
        map_unlock();
        return STATUS_NOT_MAPPED_VIEW;
    }
    uintptr_t start = page_floor(addr), end = rm_alloc_end(r);
    if (size && addr + size >= addr && page_ceil(addr + size) < end)
        end = page_ceil(addr + size);
    map_unlock();
    /* msync may wait for I/O: not under the map lock.  A range unmapped
     * meanwhile is what the caller raced with: nothing to write. */
    int err = os_msync(start, end - start);
    return err && err != ENOMEM ? vm_status_from_errno(err) : STATUS_SUCCESS;
}

/* ---- commit (SEC_RESERVE) ---------------------------------------------------- */

/* Opens [a, b) of a view run whose section pages were just committed. */
static int open_pages_locked(uintptr_t a, uintptr_t b, DWORD prot)
{
    struct rm_spares sp = { { NULL, NULL } };
    int err = rm_spare_get(&vw_state.map, &sp, 2) ? ENOMEM : os_protect(a, b - a, prot_to_linux(prot));
    if (!err) {
        struct rm_summary s;
        rm_summarize(&vw_state.map, a, b, &s);
        rm_set_range(&vw_state.map, &sp, a, b, RUN_COMMITTED, (uint16_t)prot, 0, 0);
        vw_state.committed += s.reserved_bytes;
    }
    rm_spare_put(&vw_state.map, &sp);
    return err;
}

NTSTATUS vm_view_commit_locked(struct vw_run *r, uintptr_t start, uintptr_t end, DWORD prot)
{
    NTSTATUS st = vm_view_protect_check(r, prot);
    if (st)
        return st;
    struct vw_section *s = vt.v[r->ext - 1].s;
    uint64_t p0 = section_page(r, start), p1 = section_page(r, end - vw_page()) + 1;
    DWORD eff = prot_effective(prot, r->alloc_protect);
    int err = open_pages_locked(start, end, eff);
    if (err) {
        vw_restore_protection_locked(start, end);
        return vm_status_from_errno(err);
    }
    section_commit_pages_locked(s, p0, p1 - p0);
    /* Every other view of the section that shows these pages opens them too. */
    for (struct vw_run *q = rm_first(&vw_state.map); q;) {
        if (q->kind != VM_KIND_VIEW || q->state != RUN_RESERVED || vt.v[q->ext - 1].s != s) {
            q = rm_next(q);
            continue;
        }
        uint64_t q0 = section_page(q, q->start), q1 = section_page(q, q->end - vw_page()) + 1;
        uint64_t lo = q0 > p0 ? q0 : p0, hi = q1 < p1 ? q1 : p1;
        if (lo >= hi) {
            q = rm_next(q);
            continue;
        }
        uintptr_t a = q->start + (uintptr_t)(lo - q0) * vw_page();
        uintptr_t b = q->start + (uintptr_t)(hi - q0) * vw_page();
        open_pages_locked(a, b, q->alloc_protect);   /* a refusal leaves them reserved */
        q = rm_find_from(&vw_state.map, b);
    }
    return STATUS_SUCCESS;
}

/* ---- VirtualQuery of write-copy pages ----------------------------------------- */

#define PM_PRESENT ((uint64_t)1 << 63)
#define PM_SWAP ((uint64_t)1 << 62)
#define PM_FILE ((uint64_t)1 << 61)

static int copied(uint64_t e)
{
    return ((e & PM_PRESENT) && !(e & PM_FILE)) || ((e & PM_SWAP) && !(e & PM_FILE));
}

void vm_view_refine(MEMORY_BASIC_INFORMATION *m)
{
    if (m->Type != MEM_MAPPED || m->State != MEM_COMMIT || !is_writecopy(m->Protect))
        return;
    uintptr_t p = (uintptr_t)m->BaseAddress, end = p + m->RegionSize, cur = p;
    uint64_t e[64];
    int first = -1;
    while (cur < end) {
        size_t n = (end - cur) / vw_page();
        long got = os_pagemap(cur, vw_page(), e, n < 64 ? n : 64);
        if (got <= 0)
            return;   /* no pagemap: report the write-copy protection */
        for (long i = 0; i < got; i++, cur += vw_page()) {
            int c = copied(e[i]);
            if (first < 0)
                first = c;
            if (c != first)
                goto cut;
        }
    }
cut:
    m->RegionSize = cur - p;
    if (first == 1)
        m->Protect = (m->Protect & ~0xFFu) |
                     ((m->Protect & 0xFF) == PAGE_WRITECOPY ? PAGE_READWRITE : PAGE_EXECUTE_READWRITE);
}
