/*
 * vm_awe.c: the VM core's Address Windowing Extensions (spec 13): user page
 * frames (AllocateUserPhysicalPages, FreeUserPhysicalPages) and mapping them
 * into MEM_PHYSICAL windows (MapUserPhysicalPages and its Scatter form), with
 * Windows' checks in Windows' order (WRK physical.c).  Windows themselves
 * (records, VirtualProtect, release, fork) are in vm_awe_window.c; the state
 * and its invariant in awe.h.
 *
 * Frames are pages of one memfd: allocating one allocates its memory
 * (fallocate: resident and zero, as Windows' nonpaged frames; ENOSPC is
 * "fewer pages"); freeing one punches its hole (the memory goes back, the
 * next owner reads zero).  Frames count as locked memory (vw_state.locked)
 * against the soft RLIMIT_MEMLOCK, this library's SeLockMemoryPrivilege:
 * a limit of 0 is the privilege not held, a full quota gives fewer frames.
 * Mapping is an mmap(MAP_SHARED|MAP_FIXED) of the frame's page over the
 * window's page (consecutive frames at consecutive pages in one call),
 * unmapping one remap of the window's pages back to reserved space: the
 * frame keeps its contents in the file.  Every call is all or nothing under
 * the map lock: frames are checked first, then the kernel is changed, and a
 * refused syscall puts the pages already changed back as they were before
 * the map and tables are touched.
 */
#include "core/awe.h"
#include "os/os.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_DONTFORK
#define MADV_DONTFORK 10
#endif

/* Caller arrays up to this many entries are captured on the stack; longer
 * ones into a mapping of the library's for the call. */
#define AWE_STACK_ENTRIES 256

struct awe_state awe = { .fd = -1 };

int awe_table_grow(struct awe_table *t, size_t max_bytes, size_t bytes)
{
    if (bytes <= t->committed)
        return 0;
    if (bytes > max_bytes)
        return ENOMEM;
    if (!t->mem) {
        uintptr_t at = 0;
        size_t len = page_ceil(max_bytes);
        if (os_reserve(&at, len, 0))
            return ENOMEM;
        t->mem = at;
        t->reserved = len;
    }
    size_t want = (bytes + 0xFFFF) & ~(size_t)0xFFFF;
    if (want > t->reserved)
        want = t->reserved;
    if (os_protect(t->mem + t->committed, want - t->committed, PROT_READ | PROT_WRITE))
        return ENOMEM;
    t->committed = want;
    return 0;
}

static ULONG_PTR frame_number(uint32_t idx)
{
    return ((ULONG_PTR)awe_frames()[idx].gen << AWE_GEN_SHIFT) | (ULONG_PTR)(idx + 1);
}

/* The live frame a number names, or NULL (made up, freed, or another
 * process's: the check is the generation in our own table). */
static struct awe_frame *frame_lookup(ULONG_PTR num, uint32_t *idx)
{
    ULONG_PTR low = num & (((ULONG_PTR)1 << AWE_GEN_SHIFT) - 1);
    if (low == 0 || low > awe.nframes)
        return NULL;
    struct awe_frame *f = &awe_frames()[low - 1];
    if (!(f->gen & 1) || (ULONG_PTR)f->gen != num >> AWE_GEN_SHIFT)
        return NULL;
    *idx = (uint32_t)(low - 1);
    return f;
}

static uint64_t frame_off(uint32_t idx)
{
    return (uint64_t)idx * vw_page();
}

/* ---- allocation and freeing ------------------------------------------------ */

/* How many more frames the lock quota allows (SIZE_MAX: no limit); 0 with
 * *none set when the limit is 0 (the privilege is not held at all). */
static size_t quota_frames(int *none)
{
    uint64_t soft, hard;
    *none = 0;
    if (os_memlock_limit(&soft, &hard) || soft == UINT64_MAX)
        return SIZE_MAX;
    if (soft == 0) {
        *none = 1;
        return 0;
    }
    return soft > vw_state.locked ? (size_t)((soft - vw_state.locked) / vw_page()) : 0;
}

/* Frames from the free list: their holes were punched, so their memory is
 * allocated again (and reads zero).  Returns how many it took. */
static size_t take_free_locked(ULONG_PTR *out, size_t n)
{
    size_t got = 0;
    struct awe_frame *F = awe_frames();
    while (got < n && awe.free_head) {
        uint32_t idx = awe.free_head - 1;
        if (os_fallocate(awe.fd, frame_off(idx), vw_page()))
            break;
        awe.free_head = F[idx].next;
        F[idx].next = 0;
        F[idx].gen++;
        F[idx].at = 0;
        out[got++] = frame_number(idx);
    }
    return got;
}

/* Frames never used before in this file: the file grows over them. */
static size_t take_new_locked(ULONG_PTR *out, size_t n)
{
    if (n > AWE_MAX_FRAMES - awe.nframes)
        n = AWE_MAX_FRAMES - awe.nframes;
    while (n && awe_table_grow(&awe.frames, (size_t)AWE_MAX_FRAMES * sizeof(struct awe_frame),
                               (awe.nframes + n) * sizeof(struct awe_frame)))
        n /= 2;
    /* Memory for them, halving the request while the system is short. */
    while (n && os_fallocate(awe.fd, frame_off(awe.nframes), n * vw_page()))
        n /= 2;
    struct awe_frame *F = awe_frames();
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = awe.nframes++;
        F[idx].gen |= 1;   /* a fork child's reset left it even: the next odd */
        F[idx].next = 0;
        F[idx].at = 0;
        out[i] = frame_number(idx);
    }
    return n;
}

NTSTATUS vm_awe_alloc(ULONG_PTR *out, size_t n, size_t *got)
{
    map_lock();
    int none;
    size_t quota = quota_frames(&none);
    NTSTATUS st = none ? STATUS_PRIVILEGE_NOT_HELD : quota == 0 ? STATUS_COMMITMENT_LIMIT : 0;
    if (!st && awe.fd < 0 && os_memfd("virtualwin-awe", &awe.fd)) {
        awe.fd = -1;
        st = STATUS_INSUFFICIENT_RESOURCES;
    }
    if (st) {
        map_unlock();
        return st;
    }
    if (n > quota)
        n = quota;
    size_t k = take_free_locked(out, n);
    k += take_new_locked(out + k, n - k);
    if (k == 0) {
        map_unlock();
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    vw_state.locked += k * vw_page();
    awe.ever = 1;
    map_unlock();
    *got = k;
    return STATUS_SUCCESS;
}

/* Frame idx leaves the page it is mapped at: kernel first (0 or an errno),
 * then the window's slot and the map.  The page must be in a window. */
static int unmap_frame_locked(struct awe_frame *f)
{
    uintptr_t p = f->at;
    struct vw_run *r = rm_find(&vw_state.map, p);
    struct rm_spares sp = { { NULL, NULL } };
    if (rm_spare_get(&vw_state.map, &sp, 2)) {
        rm_spare_put(&vw_state.map, &sp);
        return ENOMEM;
    }
    int err = os_decommit(p, vw_page());
    if (!err) {
        *awe_slot(awe_window(r->ext), p) = 0;
        rm_set_range(&vw_state.map, &sp, p, p + vw_page(), RUN_RESERVED, 0, 0, 0);
        vw_state.committed -= vw_page();
        f->at = 0;
    }
    rm_spare_put(&vw_state.map, &sp);
    return err;
}

NTSTATUS vm_awe_free(const ULONG_PTR *in, size_t n, size_t *done)
{
    NTSTATUS st = STATUS_SUCCESS;
    size_t i = 0;
    map_lock();
    if (!awe.ever) {
        map_unlock();
        *done = 0;
        return STATUS_INVALID_PARAMETER_1;
    }
    for (; i < n; i++) {
        uint32_t idx;
        struct awe_frame *f = frame_lookup(in[i], &idx);
        if (!f) {
            st = STATUS_CONFLICTING_ADDRESSES;
            break;
        }
        int err = f->at ? unmap_frame_locked(f) : 0;
        if (err) {
            st = vm_status_from_errno(err);
            break;
        }
        /* The memory goes back now; the next owner of the frame reads zero. */
        os_punch_hole(awe.fd, frame_off(idx), vw_page());
        f->gen++;
        f->next = awe.free_head;
        awe.free_head = idx + 1;
        vw_state.locked -= vw_page();
    }
    map_unlock();
    *done = i;
    return st;
}

/* ---- capturing the caller's arrays -------------------------------------------- */

struct capture {
    ULONG_PTR stack[AWE_STACK_ENTRIES];
    uint32_t idx[AWE_STACK_ENTRIES];
    ULONG_PTR *v;
    uintptr_t mapped;
    size_t mapped_len;
};

/* Copies n entries of the caller's (probed) array, with room for n frame
 * indices after them (*idx): 0 or STATUS_INSUFFICIENT_RESOURCES. */
static NTSTATUS capture(struct capture *c, const void *user, size_t n, uint32_t **idx)
{
    c->mapped = 0;
    c->v = c->stack;
    *idx = c->idx;
    if (n > AWE_STACK_ENTRIES) {
        c->mapped_len = page_ceil(n * (sizeof(ULONG_PTR) + sizeof(uint32_t)));
        if (os_map_anon(&c->mapped, c->mapped_len, PROT_READ | PROT_WRITE))
            return STATUS_INSUFFICIENT_RESOURCES;
        c->v = (ULONG_PTR *)c->mapped;
        *idx = (uint32_t *)(c->v + n);
    }
    memcpy(c->v, user, n * sizeof(ULONG_PTR));
    return 0;
}

static void capture_done(struct capture *c)
{
    if (c->mapped)
        os_unmap(c->mapped, c->mapped_len);
}

/* ---- mapping ------------------------------------------------------------------ */

/* The window holding every page of [start, end), or NULL. */
static struct awe_window *window_of_locked(uintptr_t start, uintptr_t end)
{
    struct vw_run *r = rm_find(&vw_state.map, start);
    if (!r || r->kind != VM_KIND_PHYSICAL || end > rm_alloc_end(r))
        return NULL;
    if (end - start > vw_page() || r->end < end) {
        struct rm_summary s;
        rm_summarize(&vw_state.map, start, end, &s);
        if (s.any_hole)
            return NULL;
    }
    return awe_window(r->ext);
}

/* Checks frames v[0..n) for pages at[i] (Windows' first pass): each must be
 * live and mapped nowhere, nor twice in the array (each is claimed for its
 * page as it passes; a failure releases the claims).  A 0 entry (scatter)
 * means unmap. */
static NTSTATUS claim_frames_locked(const ULONG_PTR *v, size_t n, uintptr_t start,
                                    PVOID const *addrs, uint32_t *idx_out)
{
    size_t i;
    NTSTATUS st = 0;
    for (i = 0; i < n && !st; i++) {
        uint32_t idx = 0;
        if (!v[i] && addrs) {
            idx_out[i] = UINT32_MAX;
            continue;
        }
        struct awe_frame *f = frame_lookup(v[i], &idx);
        if (!f)
            st = STATUS_CONFLICTING_ADDRESSES;
        else if (f->at)
            st = STATUS_INVALID_PARAMETER_3;
        else
            f->at = addrs ? page_floor((uintptr_t)addrs[i]) : start + i * vw_page();
        idx_out[i] = idx;
    }
    if (st) {
        for (size_t j = 0; j + 1 < i; j++)
            if (idx_out[j] != UINT32_MAX)
                awe_frames()[idx_out[j]].at = 0;
    }
    return st;
}

void awe_restore_page_locked(struct awe_window *w, uintptr_t p)
{
    uint32_t slot = *awe_slot(w, p);
    for (int attempt = 0; attempt < 4; attempt++) {
        int err;
        if (slot) {
            struct vw_run *r = rm_find(&vw_state.map, p);
            err = os_map_shared_fixed(p, vw_page(), prot_to_linux(r->protect), awe.fd,
                                      frame_off(slot - 1));
            if (!err)
                os_advise(p, vw_page(), MADV_DONTFORK);
        } else {
            err = os_decommit(p, vw_page());
        }
        if (!err)
            return;
    }
}

/* Kernel side of a contiguous map: frames idx[0..n) at start.  On a refusal
 * the pages done so far are put back; 0 or an errno. */
static int map_kernel_locked(struct awe_window *w, uintptr_t start, size_t n, const uint32_t *idx)
{
    uintptr_t pg = vw_page();
    int err = 0;
    size_t i = 0;
    while (i < n && !err) {
        size_t j = i + 1;
        while (j < n && idx[j] == idx[j - 1] + 1)
            j++;
        err = os_map_shared_fixed(start + i * pg, (j - i) * pg, PROT_READ | PROT_WRITE, awe.fd,
                                  frame_off(idx[i]));
        /* A refused MAP_FIXED may have unmapped its range first: it is put
         * back with the rest. */
        i = j;
    }
    /* A child of fork() must never share these pages (spec 13). */
    if (!err)
        err = os_advise(start, n * pg, MADV_DONTFORK);
    if (err)
        for (size_t k = 0; k < i; k++)
            awe_restore_page_locked(w, start + k * pg);
    return err;
}

/* Records page p of w as holding frame slot (0: none), after the kernel did. */
static void set_page_locked(struct awe_window *w, uintptr_t p, uint32_t slot)
{
    uint32_t *s = awe_slot(w, p);
    if (*s)
        awe_frames()[*s - 1].at = 0;
    *s = slot;
    if (slot)
        awe_frames()[slot - 1].at = p;
}

NTSTATUS vm_awe_map(uintptr_t start, size_t n, const ULONG_PTR *user)
{
    struct capture c;
    uint32_t *idx = NULL;
    uintptr_t pg = vw_page(), end = start + n * pg;
    NTSTATUS st = user ? capture(&c, user, n, &idx) : 0;
    if (st)
        return st;
    struct rm_spares sp = { { NULL, NULL } };
    map_lock();
    struct awe_window *w = NULL;
    if (!awe.ever || !(w = window_of_locked(start, end)))
        st = STATUS_INVALID_PARAMETER_1;
    else if (user)
        st = claim_frames_locked(c.v, n, start, NULL, idx);
    if (!st && (rm_spare_get(&vw_state.map, &sp, 2) || os_headroom())) {
        st = STATUS_NO_MEMORY;
        if (user)
            for (size_t i = 0; i < n; i++)
                awe_frames()[idx[i]].at = 0;
    }
    int err = 0;
    if (!st) {
        err = user ? map_kernel_locked(w, start, n, idx) : os_decommit(start, end - start);
        if (err) {
            st = vm_status_from_errno(err);
            if (user)
                for (size_t i = 0; i < n; i++)
                    awe_frames()[idx[i]].at = 0;
        }
    }
    if (!st) {
        struct rm_summary s;
        rm_summarize(&vw_state.map, start, end, &s);
        for (size_t i = 0; i < n; i++)
            set_page_locked(w, start + i * pg, user ? idx[i] + 1 : 0);
        rm_set_range(&vw_state.map, &sp, start, end, user ? RUN_COMMITTED : RUN_RESERVED,
                     user ? PAGE_READWRITE : 0, 0, 0);
        vw_state.committed += (user ? end - start : 0) - s.committed_bytes;
    }
    rm_spare_put(&vw_state.map, &sp);
    map_unlock();
    if (user)
        capture_done(&c);
    return st;
}

/* MADV_DONTFORK over the pages scatter mapped: one call per window (over
 * the span it touched: every page of a window without holes is the window's,
 * and a fork child makes all of them reserved again), page by page in a
 * window with holes or past the first few windows.  0 or an errno. */
#define SPANS 8
static int scatter_dontfork_locked(PVOID const *addrs, size_t n, const uint32_t *idx)
{
    uintptr_t pg = vw_page(), lo[SPANS], hi[SPANS];
    uint32_t ext[SPANS];
    int nspans = 0, err = 0;
    for (size_t i = 0; i < n && !err; i++) {
        if (idx[i] == UINT32_MAX)
            continue;
        uintptr_t a = page_floor((uintptr_t)addrs[i]);
        struct vw_run *r = rm_find(&vw_state.map, a);
        int k = 0;
        while (k < nspans && ext[k] != r->ext)
            k++;
        if (k < nspans) {
            lo[k] = a < lo[k] ? a : lo[k];
            hi[k] = a + pg > hi[k] ? a + pg : hi[k];
        } else if (nspans < SPANS && !(r->alloc_flags & ALLOC_HOLES)) {
            ext[nspans] = r->ext;
            lo[nspans] = a;
            hi[nspans++] = a + pg;
        } else {
            err = os_advise(a, pg, MADV_DONTFORK);
        }
    }
    for (int k = 0; k < nspans && !err; k++)
        err = os_advise(lo[k], hi[k] - lo[k], MADV_DONTFORK);
    return err;
}

/* Scatter: page i of the call is at addrs[i] (any window), its frame idx[i]
 * (UINT32_MAX: unmap).  Kernel side entry by entry; a refusal puts back the
 * pages of the entries done so far (their slots still say what was there). */
static int scatter_kernel_locked(PVOID const *addrs, size_t n, const uint32_t *idx)
{
    uintptr_t pg = vw_page();
    size_t i;
    int err = 0;
    for (i = 0; i < n && !err; i++) {
        uintptr_t a = page_floor((uintptr_t)addrs[i]);
        if (idx[i] == UINT32_MAX)
            err = os_decommit(a, pg);
        else
            err = os_map_shared_fixed(a, pg, PROT_READ | PROT_WRITE, awe.fd, frame_off(idx[i]));
    }
    /* A child of fork() must never share these pages (spec 13). */
    if (!err)
        err = scatter_dontfork_locked(addrs, n, idx);
    if (err)
        for (size_t j = 0; j < i; j++) {
            uintptr_t a = page_floor((uintptr_t)addrs[j]);
            awe_restore_page_locked(awe_window(rm_find(&vw_state.map, a)->ext), a);
        }
    return err;
}

static void release_claims(const uint32_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (idx[i] != UINT32_MAX)
            awe_frames()[idx[i]].at = 0;
}

NTSTATUS vm_awe_scatter(PVOID const *addrs_user, size_t n, const ULONG_PTR *user)
{
    struct capture ca, cf;
    uint32_t *idx, *unused;
    uintptr_t pg = vw_page();
    NTSTATUS st = capture(&ca, addrs_user, n, &idx);
    if (st)
        return st;
    if (user && (st = capture(&cf, user, n, &unused))) {
        capture_done(&ca);
        return st;
    }
    PVOID const *addrs = (PVOID const *)ca.v;
    map_lock();
    if (!awe.ever)
        st = STATUS_INVALID_PARAMETER_1;
    for (size_t i = 0; i < n && !st; i++) {
        uintptr_t a = page_floor((uintptr_t)addrs[i]);
        if (a > VW_MAX_ADDR || !window_of_locked(a, a + pg))
            st = STATUS_INVALID_PARAMETER_1;
    }
    if (!st) {
        if (user)
            st = claim_frames_locked(cf.v, n, 0, addrs, idx);
        else
            memset(idx, 0xFF, n * sizeof *idx);
    }
    if (!st && os_headroom()) {
        release_claims(idx, n);
        st = STATUS_NO_MEMORY;
    }
    if (!st) {
        int err = scatter_kernel_locked(addrs, n, idx);
        if (err) {
            release_claims(idx, n);
            st = vm_status_from_errno(err);
        }
    }
    for (size_t i = 0; i < n && !st; i++) {
        uintptr_t a = page_floor((uintptr_t)addrs[i]);
        struct vw_run *r = rm_find(&vw_state.map, a);
        int mapped = idx[i] != UINT32_MAX;
        set_page_locked(awe_window(r->ext), a, mapped ? idx[i] + 1 : 0);
        if ((r->state == RUN_COMMITTED) != mapped || (mapped && r->protect != PAGE_READWRITE)) {
            struct rm_spares sp = { { NULL, NULL } };
            /* Nodes come from the pool, which grows by mappings of its own;
             * should it fail, the map keeps this page's old state. */
            if (rm_spare_get(&vw_state.map, &sp, 2) == 0) {
                if (r->state == RUN_COMMITTED)
                    vw_state.committed -= pg;
                if (mapped)
                    vw_state.committed += pg;
                rm_set_range(&vw_state.map, &sp, a, a + pg, mapped ? RUN_COMMITTED : RUN_RESERVED,
                             mapped ? PAGE_READWRITE : 0, 0, 0);
            }
            rm_spare_put(&vw_state.map, &sp);
        }
    }
    map_unlock();
    if (user)
        capture_done(&cf);
    capture_done(&ca);
    return st;
}
