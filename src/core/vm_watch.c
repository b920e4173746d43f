/*
 * vm_watch.c: write watches (spec section 11): MEM_WRITE_WATCH allocations
 * (run kind VM_KIND_WRITE_WATCH), GetWriteWatch and ResetWriteWatch, and the
 * hooks by which reserve, decommit, release and the interposers keep a
 * watch true.
 *
 * Engines, chosen once per process at the first watched allocation
 * (VIRTUALWIN_WRITE_WATCH=uffd|softdirty forces one; unset: the first that
 * works, in that order):
 * - uffd (Linux 6.7+): the allocation is registered with a userfaultfd in
 *   asynchronous write-protect mode and every page protected (markers on
 *   unpopulated ones).  The first store to a page, by the program or by the
 *   kernel on its behalf (read(2) into it), is resolved inside the kernel,
 *   which leaves the page "written"; GetWriteWatch is one PAGEMAP_SCAN over
 *   the range, re-protecting what it reports when resetting.  No side
 *   record: the page tables are the state.
 * - softdirty (kernels with CONFIG_MEM_SOFT_DIRTY): dirty = the pagemap's
 *   soft-dirty bit OR a side bitmap per allocation (ext indexes it).  The only
 *   way to clear soft-dirty bits is clear_refs, which clears them for the
 *   whole process; so every clear first folds the soft-dirty bits of every
 *   watched allocation into its bitmap, then clears, then cleans the bitmap
 *   bits of the pages being reset.  Limit (kernel): a store made by another
 *   thread between that fold and the clear is lost; reset while other
 *   threads write watched memory only on the uffd engine.
 * Invariants: W and the records change only under the map lock; the map lock
 * is never held while caller memory is written (results go through a local
 * buffer); a watched range has transparent huge pages off (MADV_NOHUGEPAGE),
 * which also keeps its mappings from merging with unwatched neighbours.
 * A fork child inherits neither the userfaultfd registration nor (in the
 * page tables) the written state: its first watch call registers every
 * watched allocation again with a descriptor of its own, protects the pages
 * that are not present, and reports every present page as written once (a
 * superset of the parent's state at the fork, never a lost write).
 */
#include "core/vm.h"
#include "os/os.h"
#include "os/wp.h"
#include "os/proc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { ENG_UNKNOWN = 0, ENG_NONE, ENG_UFFD, ENG_SOFTDIRTY };

/* A watched allocation's dirty bits (softdirty engine). */
struct watch_rec {
    uintptr_t base;   /* 0: a free record */
    size_t pages, bits_len;
    uint64_t *bits;
};

static struct {
    int engine;
    int pid;   /* the process the descriptors were opened in */
    int uffd, pagemap;
    struct watch_rec *rec;   /* rec[0] unused: ext 0 means none */
    size_t nrec, caprec, rec_len;
} W = { ENG_UNKNOWN, 0, -1, -1, NULL, 1, 0, 0 };

static size_t pages_of(uintptr_t a, uintptr_t b)
{
    return (b - a) / vw_page();
}

static int softdirty_works(void)
{
    uintptr_t p = 0;
    uint64_t bit = 0;
    if (os_map_anon(&p, vw_page(), PROT_READ | PROT_WRITE))
        return 0;
    int ok = os_softdirty_clear() == 0 &&
             os_softdirty_or(W.pagemap, p, 1, vw_page(), &bit, 0) == 0 && bit == 0;
    if (ok) {
        *(volatile char *)p = 1;
        ok = os_softdirty_or(W.pagemap, p, 1, vw_page(), &bit, 0) == 0 && bit == 1;
    }
    os_unmap(p, vw_page());
    return ok;
}

/* Opens the descriptors of `engine` in this process; 0 or an errno. */
static int open_engine(int engine)
{
    if (os_pagemap_open(&W.pagemap))
        return ENOTSUP;
    if (engine == ENG_UFFD) {
        if (!os_wp_scan_supported(W.pagemap) || os_uffd_open(&W.uffd))
            goto fail;
    } else if (!softdirty_works()) {
        goto fail;
    }
    W.pid = os_proc_pid();
    return 0;
fail:
    os_close(W.pagemap);
    W.pagemap = -1;
    return ENOTSUP;
}

static int choose(void)
{
    const char *e = getenv("VIRTUALWIN_WRITE_WATCH");
    int want = !e || !*e ? 0 : !strcmp(e, "uffd") ? ENG_UFFD
                         : !strcmp(e, "softdirty") ? ENG_SOFTDIRTY : ENG_NONE;
    if (want == ENG_NONE)
        return ENG_NONE;   /* an engine this build does not have */
    if (want != ENG_SOFTDIRTY && open_engine(ENG_UFFD) == 0)
        return ENG_UFFD;
    if (want != ENG_UFFD && open_engine(ENG_SOFTDIRTY) == 0)
        return ENG_SOFTDIRTY;
    return ENG_NONE;
}

/* The uffd engine's view of one run piece: registered, unpopulated pages
 * (and, with all_clean, every page) protected. */
static int uffd_arm(uintptr_t a, uintptr_t b, int all_clean)
{
    os_advise(a, b - a, MADV_NOHUGEPAGE);
    int err = os_uffd_register(W.uffd, a, b - a);
    if (!err && all_clean)
        err = os_uffd_protect(W.uffd, a, b - a);
    /* Only the pages that are not present: with an output vector, since
     * without one the kernel protects every page of the walk (its fast path
     * for an exclusive protect). */
    for (uintptr_t cur = a; !err && !all_clean && cur < b;) {
        struct os_wp_region vec[16];
        uintptr_t walk = b;
        long r = os_wp_scan(W.pagemap, cur, b, 1, 1, vec, 16, 0, &walk);
        err = r < 0 ? (int)-r : 0;
        cur = walk > cur ? walk : b;
    }
    return err;
}

/* A new process (fork child): the descriptors are the parent's. */
static int reopen_locked(void)
{
    if (W.uffd >= 0)
        os_close(W.uffd);
    os_close(W.pagemap);
    W.uffd = W.pagemap = -1;
    if (open_engine(W.engine)) {
        W.engine = ENG_NONE;
        return ENOTSUP;
    }
    if (W.engine != ENG_UFFD)
        return 0;
    for (struct vw_run *r = rm_first(&vw_state.map); r; r = rm_next(r))
        if (r->kind == VM_KIND_WRITE_WATCH && uffd_arm(r->start, r->end, 0))
            return ENOTSUP;
    return 0;
}

static int ensure_locked(void)
{
    if (W.engine == ENG_UNKNOWN)
        W.engine = choose();
    if (W.engine == ENG_NONE)
        return ENOTSUP;
    return W.pid == os_proc_pid() ? 0 : reopen_locked();
}

/* ---- softdirty records ------------------------------------------------------ */

static void fold_all_locked(void)
{
    for (size_t i = 1; i < W.nrec; i++)
        if (W.rec[i].base)
            os_softdirty_or(W.pagemap, W.rec[i].base, W.rec[i].pages, vw_page(), W.rec[i].bits, 0);
}

/* Every watched allocation's state saved, then the process-wide clear. */
static int sd_clear_locked(void)
{
    fold_all_locked();
    return os_softdirty_clear();
}

static void bits_clear(struct watch_rec *w, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        w->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static int rec_new_locked(uintptr_t base, size_t pages, uint32_t *ext)
{
    size_t i = 1;
    while (i < W.nrec && W.rec[i].base)
        i++;
    if (i == W.nrec && W.nrec == W.caprec) {
        size_t cap = W.caprec ? W.caprec * 2 : 64;
        size_t len = page_ceil(cap * sizeof *W.rec);
        uintptr_t a = 0;
        if (cap >= ((size_t)1 << 28) || os_map_anon(&a, len, PROT_READ | PROT_WRITE))
            return ENOMEM;
        if (W.rec) {
            memcpy((void *)a, W.rec, W.nrec * sizeof *W.rec);
            os_unmap((uintptr_t)W.rec, W.rec_len);
        }
        W.rec = (struct watch_rec *)a;
        W.caprec = cap;
        W.rec_len = len;
    }
    size_t blen = page_ceil((pages + 63) / 64 * 8);
    uintptr_t b = 0;
    if (os_map_anon(&b, blen, PROT_READ | PROT_WRITE))
        return ENOMEM;
    W.rec[i] = (struct watch_rec){ base, pages, blen, (uint64_t *)b };
    if (i == W.nrec)
        W.nrec++;
    *ext = (uint32_t)i;
    return 0;
}

static void rec_free(struct watch_rec *w)
{
    os_unmap((uintptr_t)w->bits, w->bits_len);
    w->base = 0;
}

static struct watch_rec *rec_of(const struct vw_run *r)
{
    return r->ext && r->ext < W.nrec && W.rec[r->ext].base == r->alloc_base ? &W.rec[r->ext]
                                                                          : NULL;
}

/* ---- hooks (map lock held) -------------------------------------------------- */

NTSTATUS vm_watch_new_locked(uintptr_t base, uintptr_t end, uint32_t *ext)
{
    *ext = 0;
    if (ensure_locked())
        return STATUS_NOT_SUPPORTED;
    int err;
    if (W.engine == ENG_UFFD) {
        err = uffd_arm(base, end, 1);
        if (err)
            os_uffd_unregister(W.uffd, base, end - base);
    } else {
        /* Cleared before the record exists: the new mapping reads all
         * soft-dirty until a clear. */
        os_advise(base, end - base, MADV_NOHUGEPAGE);
        err = sd_clear_locked();
        if (!err)
            err = rec_new_locked(base, pages_of(base, end), ext);
    }
    return err ? vm_status_from_errno(err) : STATUS_SUCCESS;
}

void vm_watch_decommitted_locked(struct vw_run *r, uintptr_t start, uintptr_t end)
{
    if (ensure_locked())
        return;
    uintptr_t base = r->alloc_base;
    if (W.engine == ENG_UFFD) {
        /* The decommit remapped the pages: a fresh mapping, not registered.
         * (A failure leaves those pages unwatched: they report clean.) */
        for (struct vw_run *q = rm_find_from(&vw_state.map, start);
             q && q->start < end && q->alloc_base == base; q = rm_next(q))
            uffd_arm(q->start > start ? q->start : start, q->end < end ? q->end : end, 1);
        return;
    }
    struct watch_rec *w = rec_of(r);
    os_advise(start, end - start, MADV_NOHUGEPAGE);
    sd_clear_locked();
    if (w)
        bits_clear(w, pages_of(base, start), pages_of(base, end));
}

void vm_watch_release_locked(struct vw_run *r)
{
    if (ensure_locked())
        return;
    uintptr_t base = r->alloc_base;
    if (W.engine == ENG_UFFD) {
        for (struct vw_run *q = r; q && q->alloc_base == base; q = rm_next(q))
            os_uffd_unregister(W.uffd, q->start, q->end - q->start);
        return;
    }
    struct watch_rec *w = rec_of(r);
    if (w)
        rec_free(w);
}

void vm_watch_removed_locked(const struct vw_run *piece)
{
    struct watch_rec *w = W.engine == ENG_SOFTDIRTY ? rec_of(piece) : NULL;
    if (w)
        bits_clear(w, pages_of(piece->alloc_base, piece->start),
                   pages_of(piece->alloc_base, piece->end));
}

void vm_watch_emptied_locked(uintptr_t base)
{
    for (size_t i = 1; W.engine == ENG_SOFTDIRTY && i < W.nrec; i++)
        if (W.rec[i].base == base)
            rec_free(&W.rec[i]);
}

/* ---- the calls ---------------------------------------------------------------- */

/* [start, end) inside one watched allocation, with no page missing. */
static NTSTATUS check_locked(uintptr_t start, uintptr_t end, struct vw_run **out)
{
    struct vw_run *r = rm_find(&vw_state.map, start);
    if (!r || r->kind != VM_KIND_WRITE_WATCH || end > rm_alloc_end(r))
        return STATUS_INVALID_PARAMETER;
    struct rm_summary s;   /* pages the program unmapped leave holes in the runs */
    rm_summarize(&vw_state.map, start, end, &s);
    if (s.any_hole)
        return STATUS_INVALID_PARAMETER;
    if (ensure_locked())
        return STATUS_NOT_SUPPORTED;
    *out = r;
    return STATUS_SUCCESS;
}

enum { CHUNK = 64 };

/* One chunk of results from cur on (lock held): addresses into buf (at most
 * want), *cur moved past what was examined. */
static NTSTATUS chunk_locked(struct vw_run *r, uintptr_t *cur, uintptr_t end, int reset,
                             int first, uintptr_t *buf, size_t want, size_t *n)
{
    *n = 0;
    if (W.engine == ENG_UFFD) {
        struct os_wp_region vec[CHUNK];
        uintptr_t walk = end;
        long k = os_wp_scan(W.pagemap, *cur, end, reset, 0, vec, CHUNK, want, &walk);
        if (k < 0)
            return vm_status_from_errno((int)-k);
        for (long i = 0; i < k; i++)
            for (uintptr_t p = vec[i].start; p < vec[i].end && *n < want; p += vw_page())
                buf[(*n)++] = p;
        *cur = walk > *cur ? walk : end;   /* the kernel says where it stopped */
        return STATUS_SUCCESS;
    }
    struct watch_rec *w = rec_of(r);
    if (!w)
        return STATUS_INVALID_PARAMETER;
    uintptr_t base = r->alloc_base;
    if (first) {
        /* Reset: all state into the bitmaps, hardware bits clear; from here
         * on, stores land in the soft-dirty bits, never in reported ones. */
        int err = reset ? sd_clear_locked()
                        : os_softdirty_or(W.pagemap, *cur, pages_of(*cur, end), vw_page(),
                                          w->bits, pages_of(base, *cur));
        if (err)
            return vm_status_from_errno(err);
    }
    size_t i = pages_of(base, *cur), stop = pages_of(base, end);
    for (; i < stop && *n < want; i++)
        if (w->bits[i / 64] >> (i % 64) & 1) {
            buf[(*n)++] = base + i * vw_page();
            if (reset)
                w->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
        }
    *cur = base + i * vw_page();
    return STATUS_SUCCESS;
}

NTSTATUS vm_watch_get(uintptr_t start, uintptr_t end, int reset, PVOID *out, size_t *count)
{
    size_t max = *count, got = 0;
    uintptr_t cur = start, buf[CHUNK * 4];
    for (int first = 1; cur < end && got < max; first = 0) {
        struct vw_run *r;
        size_t n = 0, want = max - got < CHUNK * 4 ? max - got : CHUNK * 4;
        map_lock();
        NTSTATUS st = check_locked(start, end, &r);
        if (!st)
            st = chunk_locked(r, &cur, end, reset, first, buf, want, &n);
        map_unlock();
        if (st)
            return st;
        for (size_t i = 0; i < n; i++)
            out[got++] = (PVOID)buf[i];
    }
    *count = got;
    return STATUS_SUCCESS;
}

NTSTATUS vm_watch_reset(uintptr_t start, uintptr_t end)
{
    struct vw_run *r;
    map_lock();
    NTSTATUS st = check_locked(start, end, &r);
    int err = 0;
    if (!st && W.engine == ENG_UFFD) {
        err = os_uffd_protect(W.uffd, start, end - start);
    } else if (!st) {
        struct watch_rec *w = rec_of(r);
        err = sd_clear_locked();
        if (w && !err)
            bits_clear(w, pages_of(r->alloc_base, start), pages_of(r->alloc_base, end));
    }
    map_unlock();
    return st ? st : vm_status_from_errno(err);
}
