/*
 * proc_child.c: the target process of check_process that does NOT run
 * libvirtualwin (built without it).  It maps a known layout, tells its parent
 * where (struct proc_child_info on stdout, a pipe), then obeys one-byte
 * commands on stdin:
 *   'c'  report what it sees: 16 bytes of its read-only page, then 16 bytes
 *        of its code page (child_code), then 16 bytes of its read-write page
 *   'q' or end of input: exit with status 7
 * Layout: rw = 2 read-write pages (pattern 0xA0 + i) then 1 PROT_NONE page;
 * ro = 1 read-only page (pattern 0xB0 + i); code = a function of this program
 * (its text is file-backed, read-execute: MEM_IMAGE to VirtualQueryEx).
 */
#include "proc_child.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int child_code(int x);
__attribute__((noinline, aligned(64))) int child_code(int x)
{
    return x * 3 + 1;
}

static void put(const void *p, size_t n)
{
    if (write(1, p, n) != (ssize_t)n)
        _exit(2);
}

int main(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *rw = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                             -1, 0);
    unsigned char *ro = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rw == MAP_FAILED || ro == MAP_FAILED)
        return 3;
    for (size_t i = 0; i < 2 * pg; i++)
        rw[i] = (unsigned char)(0xA0 + i);
    for (size_t i = 0; i < pg; i++)
        ro[i] = (unsigned char)(0xB0 + i);
    if (mprotect(rw + 2 * pg, pg, PROT_NONE) || mprotect(ro, pg, PROT_READ))
        return 4;
    struct proc_child_info info = { (uintptr_t)rw, (uintptr_t)ro, (uintptr_t)&child_code,
                                    (uintptr_t)getpid() };
    put(&info, sizeof info);
    char c;
    while (read(0, &c, 1) == 1 && c != 'q') {
        if (c == 'c') {
            put(ro, 16);
            put((const void *)(uintptr_t)&child_code, 16);
            put(rw, 16);
        }
    }
    return child_code(2);   /* 7 */
}
