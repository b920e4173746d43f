/*
 * atfork_prog.c: forks under LD_PRELOAD=libvirtualwin.so while another library
 * (tests/atforkx.c) has atfork handlers that unmap memory and call the API,
 * registered before or after libvirtualwin's (tests/check_atfork.sh).  Each
 * child, under alarm(), checks an allocation inherited from the parent, makes
 * and frees its own, and exits 0; the parent checks every child and its own
 * handlers' record, and prints "atfork_prog: OK".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <virtualwin.h>

extern int atforkx_failed;
void atforkx_register(void);

static int child_body(char *keep)
{
    if (atforkx_failed)
        return 10 + atforkx_failed;
    if (memcmp(keep, "inherited", 10) != 0)
        return 2;
    char *p = VirtualAlloc(NULL, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p)
        return 3;
    p[100] = 7;
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(keep, &mbi, sizeof mbi) != sizeof mbi || mbi.State != MEM_COMMIT ||
        mbi.AllocationBase != keep)
        return 4;
    if (!VirtualFree(p, 0, MEM_RELEASE) || !VirtualFree(keep, 0, MEM_RELEASE))
        return 5;
    return 0;
}

int main(void)
{
    if (getenv("ATFORK_PROG_ORDER_ONLY"))
        return 0;   /* check_atfork.sh only wants the constructors' order */
    if (!getenv("ATFORKX_EARLY"))
        atforkx_register();
    char *keep = VirtualAlloc(NULL, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!keep) {
        printf("atfork_prog: VirtualAlloc failed\n");
        return 1;
    }
    strcpy(keep, "inherited");
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            printf("atfork_prog: fork failed\n");
            return 1;
        }
        if (pid == 0) {
            alarm(10);
            _exit(child_body(keep));
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("atfork_prog: child %d: %s %d%s\n", i,
                   WIFSIGNALED(st) ? "killed by signal" : "exit status",
                   WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                   WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? " (deadlock in the child)" : "");
            return 1;
        }
    }
    if (atforkx_failed) {
        printf("atfork_prog: a handler in the parent failed (%d)\n", atforkx_failed);
        return 1;
    }
    printf("atfork_prog: OK\n");
    return 0;
}
