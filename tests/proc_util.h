/*
 * proc_util.h: the children of check_process and check_remote: spawning the
 * helper programs (tests/proc_child, tests/proc_lib_child), talking to them
 * over their pipes, reaping them, reading their /proc/PID/maps.
 */
#ifndef VW_PROC_UTIL_H
#define VW_PROC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "proc_child.h"

#define KERNEL_ADDR ((void *)(uintptr_t)0xFFFF800000000000ull)

struct child {
    pid_t pid;
    int to, from;             /* command pipe (its stdin), report pipe (its stdout) */
    struct proc_child_info info;
};

/* Reads exactly n bytes (fails the test otherwise). */
void read_all(int fd, void *buf, size_t n);
void send_cmd(struct child *c, char cmd);
/* tests/NAME under VW_BUILDDIR; serve: with VIRTUALWIN_SERVE=1 in its environment. */
void spawn(struct child *c, const char *name, int serve);
/* tests/proc_child, which does not load libvirtualwin. */
void spawn_plain(struct child *c);
/* Waits until the child has exited, leaving it a zombie (still waitable). */
void wait_exited(pid_t pid);
int reap(pid_t pid);
/* 'q', reap, and check its exit status. */
void finish(struct child *c, int expect_code);

struct maps_line {
    uintptr_t start, end;
    char perms[5];
    char path[256];
};
int read_maps(pid_t pid, struct maps_line *l, int max);

#endif
