/*
 * spinlock.h: the map lock, a three-state futex mutex (Drepper, "Futexes are
 * tricky", mutex 2).
 *
 * Why not pthread_mutex: the lock must work from zero-initialised static
 * storage before any constructor has run, must be resettable in a fork child
 * without pthread's cooperation, and takes no libc locks of its own.
 * States: 0 unlocked, 1 locked, 2 locked with waiters.  Not recursive.
 */
#ifndef VW_SPINLOCK_H
#define VW_SPINLOCK_H

#include "os/os.h"

#if defined(__x86_64__) || defined(__i386__)
#define vw_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define vw_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define vw_cpu_relax() __asm__ __volatile__("" ::: "memory")
#endif

typedef struct { int state; } vw_lock_t;

static inline void vw_lock(vw_lock_t *l)
{
    int c = 0;
    if (__atomic_compare_exchange_n(&l->state, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    /* Spin briefly: the critical sections are short (no syscall inside for queries). */
    for (int i = 0; i < 100; i++) {
        c = 0;
        if (__atomic_compare_exchange_n(&l->state, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return;
        vw_cpu_relax();
    }
    if (c != 2)
        c = __atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        os_futex_wait(&l->state, 2);
        c = __atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE);
    }
}

/* 1 if taken; 0 if busy (callers that must never wait: signal handlers). */
static inline int vw_trylock(vw_lock_t *l)
{
    int c = 0;
    return __atomic_compare_exchange_n(&l->state, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void vw_unlock(vw_lock_t *l)
{
    if (__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2)
        os_futex_wake(&l->state, 1);
}

static inline void vw_lock_reset(vw_lock_t *l)
{
    __atomic_store_n(&l->state, 0, __ATOMIC_RELAXED);
}

#endif
