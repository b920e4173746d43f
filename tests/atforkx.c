/*
 * atforkx.c: "another library" with pthread_atfork handlers that use memory,
 * for tests/check_atfork.sh.  Its prepare, parent and child handlers each map
 * and unmap a page (through the interposed mmap/munmap when libvirtualwin is
 * preloaded) and the child handler also calls VirtualAlloc, VirtualQuery and
 * VirtualFree.  It registers them from its constructor when ATFORKX_EARLY is
 * set (before libvirtualwin registers its own, which it does from its
 * constructor: the script checks the order with LD_DEBUG=init), else when the
 * program calls atforkx_register() from main (after).
 *
 * A handler records a failure in atforkx_failed (the child's is reported by
 * its exit status through the program).
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <virtualwin.h>

int atforkx_failed;
void atforkx_register(void);

static void churn(int api)
{
    void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || munmap(p, 65536) != 0)
        atforkx_failed = 1;
    if (!api)
        return;
    char *q = VirtualAlloc(NULL, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    MEMORY_BASIC_INFORMATION mbi;
    if (!q)
        atforkx_failed = 2;
    else {
        q[0] = 1;
        if (VirtualQuery(q, &mbi, sizeof mbi) != sizeof mbi || mbi.State != MEM_COMMIT)
            atforkx_failed = 3;
        if (!VirtualFree(q, 0, MEM_RELEASE))
            atforkx_failed = 4;
    }
}

static void prepare(void)
{
    churn(0);
}

static void parent(void)
{
    churn(0);
}

static void child(void)
{
    churn(1);
}

void atforkx_register(void)
{
    pthread_atfork(prepare, parent, child);
}

__attribute__((constructor)) static void atforkx_ctor(void)
{
    if (getenv("ATFORKX_EARLY"))
        atforkx_register();
}
