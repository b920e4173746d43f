/* proc_child.h: what tests/proc_child tells check_process about itself. */
#ifndef VW_PROC_CHILD_H
#define VW_PROC_CHILD_H
#include <stdint.h>
struct proc_child_info {
    uintptr_t rw;      /* 2 read-write pages, then a PROT_NONE page */
    uintptr_t ro;      /* 1 read-only page */
    uintptr_t code;    /* a function of the program (read-execute image text) */
    uintptr_t pid;
};
#endif
