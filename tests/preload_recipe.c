/*
 * preload_recipe.c: an unchanged Windows source built the way the README
 * shows for LD_PRELOAD (cc prog.c $(pkg-config --cflags --libs
 * virtualwin-preload)), as C and as C++, by tests/check_preload.sh.  Under
 * LD_PRELOAD=libvirtualwin.so it reserves, commits, queries and releases
 * 64 KiB and prints "preload_recipe: OK"; without the preload the header's
 * constructor must stop it before main (exit 127, a message naming
 * libvirtualwin), so main printing anything then is a failure.
 */
#include <windows.h>
#include <stdio.h>

int main(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    BYTE *p = (BYTE *)VirtualAlloc(NULL, 0x10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);

    if (p == NULL) {
        printf("preload_recipe: VirtualAlloc failed, error %u\n", GetLastError());
        return 1;
    }
    p[0] = 1;
    if (VirtualQuery(p, &mbi, sizeof mbi) != sizeof mbi || mbi.State != MEM_COMMIT ||
        mbi.AllocationBase != p || mbi.RegionSize != 0x10000) {
        printf("preload_recipe: VirtualQuery disagrees\n");
        return 1;
    }
    if (!VirtualFree(p, 0, MEM_RELEASE)) {
        printf("preload_recipe: VirtualFree failed, error %u\n", GetLastError());
        return 1;
    }
    printf("preload_recipe: OK\n");
    return 0;
}
