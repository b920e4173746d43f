/*
 * vm_watch_sig.c: the last-resort write-watch engine: write protection and a
 * fault claimer (VIRTUALWIN_WRITE_WATCH=sigsegv; chosen automatically only
 * where neither uffd nor softdirty works).
 *
 * A committed page whose protection allows writing is kept write-protected
 * in the kernel while it is clean; the first store faults, and the claimer
 * (core/fault.h, run in the signal handler before any exception dispatch)
 * sets the page's dirty bit, gives the page its full protection back and lets
 * the store retry.  Resets protect first and clear bits second.
 *
 * Claimer against the map-locked side: every change of a watched page's
 * kernel protection happens between sig_begin and sig_end, which raise
 * `busy` and wait until no claimer is inside; a claimer that sees `busy`
 * backs out and waits for it to drop.  So a claimer never restores a page
 * the locked side has just protected, and the locked side never clears a bit
 * a claimer is about to set.  Nothing in between can fault: the locked side
 * touches only its own records.
 *
 * Limits (README): the kernel's own writes into a clean page (read(2) into a
 * watched buffer) fail with EFAULT, and write nothing, as Wine's emulation
 * does without its workarounds; each clean/dirty boundary costs a VMA.
 */
#include "core/watch.h"
#include "core/fault.h"
#include "os/os.h"

#include <errno.h>
#include <sys/mman.h>

static int busy, inside;

static void sig_begin(void)
{
    __atomic_store_n(&busy, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&inside, __ATOMIC_SEQ_CST))
        os_yield();
}

static void sig_end(void)
{
    __atomic_store_n(&busy, 0, __ATOMIC_SEQ_CST);
}

void sig_quiesce(void)
{
    sig_begin();
    sig_end();
}

static struct watch_rec *rec_at(uintptr_t addr)
{
    struct watch_rec *recs = __atomic_load_n(&vw_watch.rec, __ATOMIC_ACQUIRE);
    size_t n = __atomic_load_n(&vw_watch.nrec, __ATOMIC_ACQUIRE);
    for (size_t i = 1; recs && i < n; i++) {
        uintptr_t b = __atomic_load_n(&recs[i].base, __ATOMIC_ACQUIRE);
        if (b && addr >= b && addr - b < recs[i].pages * vw_page())
            return &recs[i];
    }
    return NULL;
}

/* Signal context: a write to a clean watched page is ours. */
static int sig_claim(uintptr_t addr, int access, void *uc)
{
    (void)uc;
    if (access != VM_ACCESS_WRITE ||
        __atomic_load_n(&vw_watch.engine, __ATOMIC_ACQUIRE) != ENG_SIGSEGV)
        return 0;
    for (;;) {
        __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&busy, __ATOMIC_SEQ_CST))
            break;
        __atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&busy, __ATOMIC_SEQ_CST))
            os_yield();
    }
    int handled = 0;
    struct watch_rec *w = rec_at(addr);
    if (w) {
        size_t i = (addr - w->base) / vw_page();
        int want = __atomic_load_n(&w->want[i], __ATOMIC_ACQUIRE);
        if (want & PROT_WRITE) {
            __atomic_or_fetch(&w->bits[i / 64], (uint64_t)1 << (i % 64), __ATOMIC_SEQ_CST);
            handled = os_protect(w->base + i * vw_page(), vw_page(), want) == 0;
        }
    }
    __atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
    return handled;
}

int sig_start(void)
{
    static int started;
    if (!started && vm_fault_claim_add(sig_claim))
        return ENOTSUP;
    started = 1;
    return 0;
}

/* Write-protects the writable pages of [a, b) that are clean (every one if
 * all_clean), in stretches of one protection. */
static int needs_arm(const struct watch_rec *w, size_t k, int all_clean)
{
    return (w->want[k] & PROT_WRITE) && (all_clean || !watch_bit(w, k));
}

static int arm(struct watch_rec *w, uintptr_t a, uintptr_t b, int all_clean)
{
    int err = 0;
    size_t i = watch_pages_of(w->base, a), stop = watch_pages_of(w->base, b);
    while (!err && i < stop) {
        size_t j = i + 1;
        int need = needs_arm(w, i, all_clean);
        while (j < stop && w->want[j] == w->want[i] && needs_arm(w, j, all_clean) == need)
            j++;
        if (need)
            err = os_protect(w->base + i * vw_page(), (j - i) * vw_page(),
                             w->want[i] & ~PROT_WRITE);
        i = j;
    }
    return err;
}

int sig_protect_locked(struct watch_rec *w, uintptr_t a, uintptr_t b, int lprot)
{
    sig_begin();
    /* Protected first (a store meanwhile faults and waits), then the written
     * pages get their full protection. */
    int err = os_protect(a, b - a, lprot & ~PROT_WRITE);
    size_t i = watch_pages_of(w->base, a), stop = watch_pages_of(w->base, b);
    for (size_t k = i; !err && k < stop; k++)
        __atomic_store_n(&w->want[k], (uint8_t)lprot, __ATOMIC_RELEASE);
    for (size_t k = i; !err && (lprot & PROT_WRITE) && k < stop;) {
        size_t j = k;
        while (j < stop && watch_bit(w, j))
            j++;
        if (j > k)
            err = os_protect(w->base + k * vw_page(), (j - k) * vw_page(), lprot);
        k = j + 1;
    }
    sig_end();
    return err;
}

int sig_clean_locked(struct watch_rec *w, uintptr_t a, uintptr_t b)
{
    sig_begin();
    int err = arm(w, a, b, 1);
    for (size_t i = watch_pages_of(w->base, a); !err && i < watch_pages_of(w->base, b); i++)
        watch_bit_clear(w, i);
    sig_end();
    return err;
}

void sig_forget_locked(struct watch_rec *w, uintptr_t a, uintptr_t b)
{
    sig_begin();
    for (size_t i = watch_pages_of(w->base, a); i < watch_pages_of(w->base, b); i++) {
        __atomic_store_n(&w->want[i], 0, __ATOMIC_RELEASE);
        watch_bit_clear(w, i);
    }
    sig_end();
}
