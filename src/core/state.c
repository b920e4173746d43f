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
 * consistent map.  Other libraries' atfork handlers run around ours in an
 * order they choose: a prepare or parent handler that runs while we hold the
 * lock and calls munmap re-enters it (fork_holder is set while the forking
 * thread holds it; the lock word names that thread), and a child handler that runs before ours
 * finds the process not yet entered (os/proc.h) and repairs the state itself.
 * Children made by _Fork() or clone() run no handlers; they too find the
 * process word wiped on their first map operation.  The repair resets the
 * lock (any holder is a thread of the parent), forgets mlock state (Linux does
 * not inherit it) and drops the parent's /proc/self/maps descriptor.  The map
 * itself is whatever the parent had: consistent after fork() (the prepare
 * handler held the lock); after _Fork() or clone() it is consistent unless
 * another thread of the parent was inside a map operation at that instant
 * (POSIX allows only async-signal-safe calls in such a child anyway).
 */
#include "core/vw.h"
#include "os/os.h"
#include "os/kernelview.h"
#include "os/proc.h"
#include "core/space.h"
#include "core/handles.h"
#include "diag/trace.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

struct vw_state vw_state = {
    .lock = { 0 },
    .map = VW_REGIONMAP_INIT,
    .page = 0,
};

int vw_touches_library_locked(uintptr_t start, uintptr_t end)
{
    return rm_overlaps(&vw_state.map, start, end) || space_holds(start, end);
}

DWORD vw_committed_range_locked(const struct vw_run *r, uintptr_t start, uintptr_t end,
                                struct rm_summary *s)
{
    if (end > rm_alloc_end(r))
        return ERROR_INVALID_ADDRESS;
    rm_summarize(&vw_state.map, start, end, s);
    return s->any_reserved || s->any_hole ? ERROR_INVALID_ADDRESS : 0;
}

void vw_process_enter(void)
{
    unsigned long long mask;
    if (!os_proc_enter_begin(&mask))
        return;
    /* Nobody in this process has taken the lock: every map_lock enters first. */
    vw_lock_reset(&vw_state.lock);
    rm_seq_reset_after_fork();
    vw_state.fork_holder = 0;
    vw_state.fork_nest = 0;
    rm_clear_locks(&vw_state.map);
    vw_state.locked = 0;
    vw_awe_after_fork();   /* no AWE memory is shared with the parent */
    kv_reset_after_fork();
    handle_fork_child();
    os_proc_enter_end(&mask);
}

__thread unsigned vw_tls_tag __attribute__((tls_model("initial-exec")));

unsigned vw_tag_slow(void)
{
    /* 30 bits (the word keeps a waiters bit and stays a positive int); 0 is
     * "free".  Two live threads share a tag only after 2^30 threads have
     * taken the lock.  A fork child keeps its thread's tag (the same TLS). */
    static unsigned next;
    unsigned t;
    do
        t = __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED) & 0x3FFFFFFFu;
    while (t == 0);
    vw_tls_tag = t;
    return t;
}

int map_lock_slow(unsigned tag, int may_fail)
{
    int mine = (int)(tag << 1), waited = 0;
    for (int spin = 0;; spin++) {
        int c = __atomic_load_n(&vw_state.lock.state, __ATOMIC_RELAXED);
        if (c == 0) {
            /* After a wait there may be other waiters: keep the bit. */
            if (__atomic_compare_exchange_n(&vw_state.lock.state, &c, mine | waited, 0,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
                return 0;
            continue;
        }
        if ((c >> 1) == (int)tag) {
            /* This thread holds it: another library's atfork prepare or
             * parent handler (or a handler interrupting them: the map is
             * whole then) nests; anything else is a signal handler that
             * interrupted a map change of this thread. */
            if (__atomic_load_n(&vw_state.fork_holder, __ATOMIC_ACQUIRE)) {
                vw_state.fork_nest++;
                return 0;
            }
            if (may_fail)
                return 1;
        }
        if (spin < 100) {   /* critical sections are short: spin briefly */
            vw_cpu_relax();
            continue;
        }
        if (!(c & 1) && !__atomic_compare_exchange_n(&vw_state.lock.state, &c, c | 1, 0,
                                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue;
        os_futex_wait(&vw_state.lock.state, c | 1);
        waited = 1;
    }
}

static void fork_prepare(void)
{
    map_lock();
    __atomic_store_n(&vw_state.fork_holder, 1, __ATOMIC_RELEASE);
    handle_fork_prepare();     /* a leaf lock: after the map lock */
}

static void fork_parent(void)
{
    handle_fork_parent();
    __atomic_store_n(&vw_state.fork_holder, 0, __ATOMIC_RELEASE);
    map_unlock();
}

static void fork_child(void)
{
    /* Single-threaded.  A child handler of another library may have entered
     * already (its munmap did); on kernels without MADV_WIPEONFORK the word
     * still holds the parent's pid. */
    if (os_proc_stale())
        os_proc_forget();
    vw_process_enter();
}

void vw_init_page_slow(void)
{
    uintptr_t page = (uintptr_t)getauxval(AT_PAGESZ);
    if (page == 0 || (page & (page - 1)))
        page = 4096;
    __atomic_store_n(&vw_state.page, page, __ATOMIC_RELEASE);
}

void vw_init_slow(void)
{
    /* One thread reads the settings and registers the fork handlers.  Others
     * racing it (or re-entering from an allocator that pthread_atfork calls,
     * which may mmap through us) do not wait: they only need the page size,
     * and miss the settings only if they call during these few instructions. */
    static int started;
    vw_init_page();
    if (!__atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL)) {
        const char *limit = getenv("VIRTUALWIN_COMMIT_LIMIT");
        if (limit && *limit && !(limit[0] == '0' && !limit[1])) {   /* "0": no limit */
            vw_state.commit_limit = vw_parse_size(limit);
            if (!vw_state.commit_limit) {
                /* A typo must not silently mean "no limit". write(2): no stdio here. */
                static const char msg[] =
                    "libvirtualwin: ignoring VIRTUALWIN_COMMIT_LIMIT: not a size such as 64M\n";
                ssize_t unused = write(2, msg, sizeof msg - 1);
                (void)unused;
            }
        }
        vw_trace_open();
        /* The headroom mappings (os_linux.c) now, before the program frees a
         * hole it may mean to reserve at explicitly. */
        map_lock();
        os_headroom();
        map_unlock();
        pthread_atfork(fork_prepare, fork_parent, fork_child);
        __atomic_store_n(&vw_state.ready, 1, __ATOMIC_RELEASE);
    }
}

size_t vw_parse_size(const char *s)
{
    size_t v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v > (SIZE_MAX - 9) / 10)
            return 0;
        v = v * 10 + (size_t)(*s - '0');
    }
    if (!digits)
        return 0;
    unsigned shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; s++; break;
    case 'm': case 'M': shift = 20; s++; break;
    case 'g': case 'G': shift = 30; s++; break;
    case 't': case 'T': shift = 40; s++; break;
    }
    if (shift && (*s == 'b' || *s == 'B'))
        s++;
    if (*s || (shift && v > (SIZE_MAX >> shift)))
        return 0;
    return v << shift;
}

__attribute__((constructor)) static void vw_constructor(void)
{
    vw_init();
}
