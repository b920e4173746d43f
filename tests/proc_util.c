/*
 * proc_util.c: the children of check_process and check_remote (proc_util.h).
 */
#include <check.h>
#include "proc_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void read_all(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        ck_assert_msg(r > 0, "child report cut short (%zd, errno %d)", r, errno);
        got += (size_t)r;
    }
}

void send_cmd(struct child *c, char cmd)
{
    ck_assert_int_eq(write(c->to, &cmd, 1), 1);
}

/* tests/NAME; serve: with VIRTUALWIN_SERVE=1 in its environment. */
void spawn(struct child *c, const char *name, int serve)
{
    const char *dir = getenv("VW_BUILDDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/%s", dir ? dir : ".", name);
    int in[2], out[2];
    ck_assert(pipe(in) == 0 && pipe(out) == 0);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        if (serve)
            setenv("VIRTUALWIN_SERVE", "1", 1);
        else
            unsetenv("VIRTUALWIN_SERVE");
        execl(path, path, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->pid = pid;
    c->to = in[1];
    c->from = out[0];
    read_all(c->from, &c->info, sizeof c->info);
    ck_assert_uint_eq(c->info.pid, (uintptr_t)pid);
}

/* tests/proc_child, which does not load libvirtualwin. */
void spawn_plain(struct child *c)
{
    spawn(c, "proc_child", 0);
}

/* Waits until the child has exited, leaving it a zombie (still waitable). */
void wait_exited(pid_t pid)
{
    siginfo_t si;
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
}

int reap(pid_t pid)
{
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

void finish(struct child *c, int expect_code)
{
    send_cmd(c, 'q');
    int status = reap(c->pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == expect_code, "child status %#x",
                  status);
    close(c->to);
    close(c->from);
}

int read_maps(pid_t pid, struct maps_line *l, int max)
{
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(name, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0;
    char line[512];
    while (n < max && fgets(line, sizeof line, f)) {
        l[n].path[0] = 0;
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &a, &b, l[n].perms, l[n].path) >= 3) {
            l[n].start = a;
            l[n].end = b;
            n++;
        }
    }
    fclose(f);
    return n;
}
