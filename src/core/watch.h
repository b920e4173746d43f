/*
 * watch.h: what the write-watch engines share inside the VM core
 * (vm_watch.c: engine choice, records, uffd and softdirty; vm_watch_sig.c:
 * the write-protection + SIGSEGV engine).  Not for the edges.
 */
#ifndef VW_CORE_WATCH_H
#define VW_CORE_WATCH_H

#include "core/vm.h"

enum { ENG_UNKNOWN = 0, ENG_NONE, ENG_UFFD, ENG_SOFTDIRTY, ENG_SIGSEGV };

/* A watched allocation's side record (softdirty, sigsegv): dirty bits and,
 * for sigsegv, the kernel protection each page should have when written
 * (want[i]; 0: not committed).  Read lock-free by the fault claimer: a record
 * is filled before its base is published and its arrays are unmapped only
 * after the base is cleared with no claimer running (vm_watch_sig.c). */
struct watch_rec {
    uintptr_t base;   /* 0: a free record */
    size_t pages, bits_len;
    uint64_t *bits;
    uint8_t *want;
};

struct watch_state {
    int engine;
    int pid;   /* the process the descriptors were opened in */
    int uffd, pagemap;
    struct watch_rec *rec;   /* rec[0] unused: ext 0 means none */
    size_t nrec, caprec, rec_len;
};
extern struct watch_state vw_watch __attribute__((visibility("hidden")));

static inline size_t watch_pages_of(uintptr_t a, uintptr_t b)
{
    return (b - a) / vw_page();
}
static inline int watch_bit(const struct watch_rec *w, size_t i)
{
    return (int)(__atomic_load_n(&w->bits[i / 64], __ATOMIC_ACQUIRE) >> (i % 64) & 1);
}
static inline void watch_bit_clear(struct watch_rec *w, size_t i)
{
    __atomic_and_fetch(&w->bits[i / 64], ~((uint64_t)1 << (i % 64)), __ATOMIC_SEQ_CST);
}

/* sigsegv engine (vm_watch_sig.c), map lock held unless said otherwise. */
int sig_start(void);   /* registers the fault claimer: 0 or ENOTSUP */
/* Sets the kernel protection of [a, b) of w's allocation to lprot the watch's
 * way: writable pages stay write-protected until written. */
int sig_protect_locked(struct watch_rec *w, uintptr_t a, uintptr_t b, int lprot);
/* Pages [a, b) made clean: write-protected first, then their bits cleared. */
int sig_clean_locked(struct watch_rec *w, uintptr_t a, uintptr_t b);
/* The pages left the allocation or were decommitted: not writable, clean. */
void sig_forget_locked(struct watch_rec *w, uintptr_t a, uintptr_t b);
/* Before a record's arrays are unmapped: no claimer is reading them. */
void sig_quiesce(void);

#endif
