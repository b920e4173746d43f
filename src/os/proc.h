/*
 * proc.h: which process is this, in one load, whatever made it.
 *
 * The library keeps process-wide state that a child must not trust as it is:
 * a map lock some parent thread may have held at the instant of the fork,
 * mlock records (Linux does not inherit mlock), a /proc/self/maps descriptor
 * that describes the parent.  fork() runs atfork handlers, but in an order set
 * by other libraries (theirs may call munmap before ours has repaired the
 * lock), and _Fork() or clone(SIGCHLD) run none.  So the library does not rely
 * on handlers to learn that it is in a new process: it keeps its pid in a page
 * marked MADV_WIPEONFORK, which the kernel hands every child (any fork, any
 * clone without CLONE_VM) zeroed.  A zero word means "this process has not been
 * entered yet"; os_proc_enter_begin/end let exactly one thread enter (repair
 * the state), with every signal blocked so a handler on the same thread can
 * never wait for it, while other threads wait (they cannot hold anything the
 * entering thread needs: nobody takes the map lock before entering).
 *
 * Before the page exists (the first entry of the first process) and on
 * kernels without MADV_WIPEONFORK the word is a static int, which a child
 * inherits unchanged: then only the fork() child handler notices the new
 * process (os_proc_stale compares with getpid()).
 */
#ifndef VW_PROC_H
#define VW_PROC_H

extern int *os_proc_word;

/* 1 once this process has been entered (the word holds its pid). */
static inline int os_proc_entered(void)
{
    return __atomic_load_n(__atomic_load_n(&os_proc_word, __ATOMIC_ACQUIRE),
                           __ATOMIC_ACQUIRE) > 0;
}
/* 1 if the caller must now repair the state and then call os_proc_enter_end
 * (signals are blocked until then, *mask holds the old mask); 0 if the process
 * is already entered (the call may have waited for another thread to finish). */
int os_proc_enter_begin(unsigned long long *mask);
void os_proc_enter_end(const unsigned long long *mask);
/* 1 if the word is not this process's pid although entered (a fork child on a
 * kernel without MADV_WIPEONFORK): issues getpid(). */
int os_proc_stale(void);
/* Forget the entry (fork child handler, single-threaded): the next call enters. */
void os_proc_forget(void);
/* This process's pid: the word once entered, else getpid(). */
int os_proc_pid(void);

#endif
