/*
 * proc.c: the process word (see proc.h).
 *
 * States of the word: 0 not entered (fresh process, or a child: the kernel
 * wiped the page), -1 a thread is entering, > 0 the pid of the process that
 * entered.  The first entry of the first process moves the word from the
 * static boot_word to the wipe-on-fork page; boot_word then keeps the pid too,
 * so a thread that still holds the old pointer sees "entered".
 */
#include "os/proc.h"
#include "os/os.h"

#include <stdint.h>
#include <sys/auxv.h>

static int boot_word;
int *os_proc_word = &boot_word;

int os_proc_enter_begin(unsigned long long *mask)
{
    for (;;) {
        int *w = __atomic_load_n(&os_proc_word, __ATOMIC_ACQUIRE);
        int v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        if (v > 0)
            return 0;
        if (v == 0) {
            uint64_t old;
            os_sigblock_all(&old);
            if (__atomic_compare_exchange_n(w, &v, -1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                *mask = old;
                return 1;
            }
            os_sigrestore(&old);
            continue;
        }
        os_yield();   /* another thread is entering; it runs with signals blocked */
    }
}

void os_proc_enter_end(const unsigned long long *mask)
{
    int pid = os_getpid();
    int *w = __atomic_load_n(&os_proc_word, __ATOMIC_ACQUIRE);
    if (w == &boot_word) {
        uintptr_t page = (uintptr_t)getauxval(AT_PAGESZ), a = 0;
        if (!page)
            page = 4096;
        if (os_map_wipeonfork(&a, page) == 0) {
            *(int *)a = pid;
            __atomic_store_n(&os_proc_word, (int *)a, __ATOMIC_RELEASE);
        }
    } else {
        __atomic_store_n(w, pid, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&boot_word, pid, __ATOMIC_RELEASE);
    uint64_t old = *mask;
    os_sigrestore(&old);
}

int os_proc_stale(void)
{
    int v = __atomic_load_n(__atomic_load_n(&os_proc_word, __ATOMIC_ACQUIRE), __ATOMIC_ACQUIRE);
    return v > 0 && v != os_getpid();
}

void os_proc_forget(void)
{
    __atomic_store_n(__atomic_load_n(&os_proc_word, __ATOMIC_ACQUIRE), 0, __ATOMIC_RELEASE);
}

int os_proc_pid(void)
{
    int v = __atomic_load_n(__atomic_load_n(&os_proc_word, __ATOMIC_ACQUIRE), __ATOMIC_ACQUIRE);
    return v > 0 ? v : os_getpid();
}
