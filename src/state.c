/*
 * state.c: the process-wide state (map, lock), its lazy initialisation and the
 * fork handlers.
 *
 * Calls may arrive before our constructor (from other libraries' constructors
 * when we are preloaded), so everything works from zero-initialised storage
 * and vw_init_slow is idempotent and lock-free: racing first callers may both
 * compute the page size (same value); pthread_atfork is registered once,
 * guarded by an atomic flag rather than pthread_once (no re-entry hazards).
 *
 * Fork: the parent takes the map lock around fork so the child inherits a
 * consistent map; the child resets the lock, forgets mlock state (Linux does
 * not inherit it) and drops the parent's /proc/self/maps descriptor.
 */
#include "vw.h"
#include "kernelview.h"
#include "space.h"

#include <pthread.h>
#include <sys/auxv.h>

struct vw_state vw_state = {
    .lock = { 0 },
    .map = VW_REGIONMAP_INIT,
    .page = 0,
};

int vw_touches_library_locked(uintptr_t start, uintptr_t end)
{
    uintptr_t as, ae;
    return rm_overlaps(&vw_state.map, start, end) || space_arena_at(start, &as, &ae) ||
           space_next_arena(start) < end;
}

static void fork_prepare(void)
{
    map_lock();
}

static void fork_parent(void)
{
    map_unlock();
}

static void fork_child(void)
{
    vw_lock_reset(&vw_state.lock);
    rm_clear_locks(&vw_state.map);
    kv_reset_after_fork();
}

void vw_init_slow(void)
{
    static int atfork_registered;
    if (!__atomic_exchange_n(&atfork_registered, 1, __ATOMIC_ACQ_REL))
        pthread_atfork(fork_prepare, fork_parent, fork_child);
    uintptr_t page = (uintptr_t)getauxval(AT_PAGESZ);
    if (page == 0 || (page & (page - 1)))
        page = 4096;
    __atomic_store_n(&vw_state.page, page, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void vw_constructor(void)
{
    vw_init();
}
