/*
 * proc_lib_child.c: the target process of check_process that runs
 * libvirtualwin (linked to it; started with or without VIRTUALWIN_SERVE=1).
 * It reserves 1 MiB, commits the first 64 KiB read-write with a pattern
 * (0x40 + i % 64), tells its parent where (struct proc_child_info on stdout:
 * rw = the base), then obeys commands on stdin:
 *   'v' + 8-byte address: its own VirtualQuery of that address (48 bytes)
 *   'q' or end of input: exit 0
 */
#include <virtualwin.h>
#include "proc_child.h"

#include <unistd.h>

static void put(const void *p, size_t n)
{
    if (write(1, p, n) != (ssize_t)n)
        _exit(2);
}

int main(void)
{
    char *base = VirtualAlloc(NULL, 1 << 20, MEM_RESERVE, PAGE_READWRITE);
    if (!base || !VirtualAlloc(base, 0x10000, MEM_COMMIT, PAGE_READWRITE))
        return 3;
    for (int i = 0; i < 0x10000; i++)
        base[i] = (char)(0x40 + i % 64);
    struct proc_child_info info = { (uintptr_t)base, 0, 0, (uintptr_t)getpid() };
    put(&info, sizeof info);
    char c;
    while (read(0, &c, 1) == 1 && c != 'q') {
        if (c == 'v') {
            void *at;
            if (read(0, &at, sizeof at) != sizeof at)
                return 4;
            MEMORY_BASIC_INFORMATION m;
            if (!VirtualQuery(at, &m, sizeof m))
                return 5;
            put(&m, sizeof m);
        }
    }
    return 0;
}
