/*
 * preload_interpose_prog.c: interposition when the library is preloaded (issue
 * items 5 and 8).
 *
 * An ordinary program built with <virtualwin.h> but NOT linked to the library:
 * the API and nothing else comes from LD_PRELOAD=libvirtualwin.so (or from
 * virtualwin-run).  Its munmap, mprotect and mremap calls go through libc's names,
 * which the preloaded library interposes, onto memory it got from VirtualAlloc;
 * after each one it checks VirtualQuery against the spec and against
 * /proc/self/maps, and that the allocations can still be released.
 *
 *   preload_interpose_prog               the scenarios; prints
 *                                        "preload_interpose_prog: OK", exit 0
 *   preload_interpose_prog commit-limit  expects a commit limit of 1 MiB
 *                                        (virtualwin-run -c 1M): a 2 MiB commit
 *                                        fails with ERROR_COMMITMENT_LIMIT, 512 KiB
 *                                        succeeds; prints
 *                                        "preload_interpose_prog: commit limit OK"
 *   preload_interpose_prog args A B ...  prints each argument on its own line
 *                                        (the launcher passes them unchanged)
 * Any failed check is printed and makes the exit status 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define VW_PRELOAD_NAME "preload_interpose_prog"
#include "preload_common.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t pg;

/* The kernel's permissions for the page at p ("rw-p", ...), or "" if unmapped. */
static void kernel_perms(const void *p, char out[5])
{
    out[0] = 0;
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && s <= (uintptr_t)p &&
            (uintptr_t)p < e) {
            memcpy(out, perms, 4);
            out[4] = 0;
            break;
        }
    }
    fclose(f);
}

/* Every page of [p, p+n): VirtualQuery and the kernel agree (free pages are unmapped
 * or the library's PROT_NONE space; committed pages have the matching permissions;
 * reserved pages are PROT_NONE). */
static void agree(const char *what, const void *p, size_t n)
{
    for (size_t off = 0; off < n; off += pg) {
        const char *a = (const char *)p + off;
        MEMORY_BASIC_INFORMATION m = vw_checked_query(a);
        char k[5];
        kernel_perms(a, k);
        const char *want = "---";
        if (m.State == MEM_COMMIT && !(m.Protect & PAGE_GUARD)) {
            switch (m.Protect & 0xFF) {
            case PAGE_READONLY: want = "r--"; break;
            case PAGE_READWRITE: want = "rw-"; break;
            case PAGE_EXECUTE: case PAGE_EXECUTE_READ: want = "r-x"; break;
            case PAGE_EXECUTE_READWRITE: want = "rwx"; break;
            default: want = "---"; break;
            }
        }
        if (m.State == MEM_FREE)
            VW_CHECK(k[0] == 0 || strncmp(k, "---", 3) == 0, "%s: free page %p is mapped %s", what,
                     (const void *)a, k);
        else
            VW_CHECK(strncmp(k, want, 3) == 0, "%s: page %p state %#x protect %#x, kernel '%s'",
                     what, (const void *)a, (unsigned)m.State, (unsigned)m.Protect, k);
    }
}

static void expect(const char *what, const void *addr, DWORD state, DWORD prot, const void *abase,
                   size_t size)
{
    MEMORY_BASIC_INFORMATION m = vw_checked_query(addr);
    VW_CHECK(m.State == state && (state == MEM_FREE || m.Protect == prot) &&
                 m.AllocationBase == abase && (size == 0 || m.RegionSize == size),
             "%s: %p: state %#x protect %#x abase %p size %#zx; expected state %#x protect %#x "
             "abase %p size %#zx",
             what, addr, (unsigned)m.State, (unsigned)m.Protect, m.AllocationBase,
             (size_t)m.RegionSize, (unsigned)state, (unsigned)prot, abase, size);
}

static char *commit(size_t size, DWORD prot)
{
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, prot);
    VW_CHECK(p != NULL, "VirtualAlloc(%zu) failed: %u", size, (unsigned)GetLastError());
    return p;
}

static void release(const char *what, char *p)
{
    VW_CHECK(VirtualFree(p, 0, MEM_RELEASE), "%s: VirtualFree(%p, 0, MEM_RELEASE) failed: %u",
             what, (void *)p, (unsigned)GetLastError());
    expect(what, p, MEM_FREE, 0, NULL, 0);
}

static void scenarios(void)
{
    /* The program's own references to these names (bound to libc's versioned symbols
     * at link time) must reach the preloaded library. */
    static const char *const names[] = { "munmap", "mprotect", "mremap", "mmap" };
    int (*fu)(void *, size_t) = munmap;
    int (*fp)(void *, size_t, int) = mprotect;
    void *(*fr)(void *, size_t, size_t, int, ...) = mremap;
    void *(*fm)(void *, size_t, int, int, int, off_t) = mmap;
    void *addrs[4];
    memcpy(&addrs[0], &fu, sizeof addrs[0]);
    memcpy(&addrs[1], &fp, sizeof addrs[1]);
    memcpy(&addrs[2], &fr, sizeof addrs[2]);
    memcpy(&addrs[3], &fm, sizeof addrs[3]);
    for (int i = 0; i < 4; i++) {
        Dl_info di;
        int found = dladdr(addrs[i], &di) != 0 && di.dli_fname != NULL;
        VW_CHECK(found && strstr(di.dli_fname, "virtualwin") != NULL,
                 "the program's %s is %s's, not the preloaded library's", names[i],
                 found ? di.dli_fname : "?");
    }

    /* munmap in the middle, then of the first page; release still works. */
    char *p = commit(16 * pg, PAGE_READWRITE);
    if (!p)
        return;
    memset(p, 0x11, 16 * pg);
    VW_CHECK(munmap(p + 5 * pg, 2 * pg) == 0, "munmap: %s", strerror(errno));
    expect("munmap middle", p + 5 * pg, MEM_FREE, 0, NULL, 2 * pg);
    expect("munmap middle", p, MEM_COMMIT, PAGE_READWRITE, p, 5 * pg);
    expect("munmap middle", p + 7 * pg, MEM_COMMIT, PAGE_READWRITE, p, 9 * pg);
    VW_CHECK(!vw_probe_access(p + 5 * pg, 0), "unmapped page readable");
    VW_CHECK(p[7 * pg] == 0x11, "contents lost");
    agree("munmap middle", p, 16 * pg);

    /* mprotect: Protect follows. */
    VW_CHECK(mprotect(p + 8 * pg, pg, PROT_READ) == 0, "mprotect: %s", strerror(errno));
    expect("mprotect", p + 8 * pg, MEM_COMMIT, PAGE_READONLY, p, pg);
    VW_CHECK(!vw_probe_access(p + 8 * pg, 1) && vw_probe_access(p + 8 * pg, 0),
             "read-only page access");
    DWORD old = 0;
    VW_CHECK(VirtualProtect(p + 8 * pg, pg, PAGE_READWRITE, &old) && old == PAGE_READONLY,
             "VirtualProtect after mprotect: old %#x", (unsigned)old);
    agree("mprotect", p, 16 * pg);

    VW_CHECK(munmap(p, pg) == 0, "munmap: %s", strerror(errno));
    expect("munmap first page", p, MEM_FREE, 0, NULL, pg);
    expect("munmap first page", p + pg, MEM_COMMIT, PAGE_READWRITE, p, 4 * pg);
    agree("munmap first page", p, 16 * pg);
    release("release after munmap", p);
    agree("release after munmap", p, 16 * pg);

    /* mprotect on reserved pages commits them. */
    char *r = VirtualAlloc(NULL, 4 * pg, MEM_RESERVE, PAGE_READWRITE);
    VW_CHECK(r != NULL, "reserve failed: %u", (unsigned)GetLastError());
    if (r) {
        VW_CHECK(mprotect(r + pg, pg, PROT_READ | PROT_WRITE) == 0, "mprotect: %s",
                 strerror(errno));
        expect("mprotect reserved", r + pg, MEM_COMMIT, PAGE_READWRITE, r, pg);
        expect("mprotect reserved", r, MEM_RESERVE, 0, r, pg);
        VW_CHECK(vw_probe_access(r + pg, 1), "committed page not writable");
        agree("mprotect reserved", r, 4 * pg);
        release("release reserved", r);
    }

    /* mremap: shrink in place, then grow (moving). */
    char *s = commit(8 * pg, PAGE_READWRITE);
    if (s) {
        memset(s, 0x22, 8 * pg);
        VW_CHECK(mremap(s, 8 * pg, 2 * pg, 0) == s, "mremap shrink: %s", strerror(errno));
        expect("mremap shrink", s, MEM_COMMIT, PAGE_READWRITE, s, 2 * pg);
        expect("mremap shrink", s + 2 * pg, MEM_FREE, 0, NULL, 0);
        agree("mremap shrink", s, 8 * pg);
        char *t = mremap(s, 2 * pg, 6 * pg, MREMAP_MAYMOVE);
        VW_CHECK(t != MAP_FAILED, "mremap grow: %s", strerror(errno));
        if (t != MAP_FAILED) {
            VW_CHECK(t[pg] == 0x22 && t[5 * pg] == 0, "mremap grow: contents");
            expect("mremap grow", t, MEM_COMMIT, PAGE_READWRITE, t, 6 * pg);
            if (t != s) {
                expect("mremap grow (old)", s, MEM_FREE, 0, NULL, 0);
                SetLastError(0);
                VW_CHECK(!VirtualFree(s, 0, MEM_RELEASE) && GetLastError() == ERROR_INVALID_ADDRESS,
                         "old range still releasable: %u", (unsigned)GetLastError());
            }
            agree("mremap grow", t, 6 * pg);
            agree("mremap grow (old)", s, 2 * pg);
            release("release moved", t);
        }
    }

    /* Memory the library does not track passes through. */
    char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    VW_CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
    if (m != MAP_FAILED) {
        VW_CHECK(mprotect(m + pg, pg, PROT_READ) == 0, "mprotect: %s", strerror(errno));
        MEMORY_BASIC_INFORMATION q = vw_checked_query(m + pg);
        VW_CHECK(q.State == MEM_COMMIT && q.Protect == PAGE_READONLY && q.Type == MEM_PRIVATE,
                 "own mapping: state %#x protect %#x type %#x", (unsigned)q.State,
                 (unsigned)q.Protect, (unsigned)q.Type);
        errno = 0;
        VW_CHECK(munmap(m + 1, pg) == -1 && errno == EINVAL, "unaligned munmap: errno %d", errno);
        VW_CHECK(munmap(m, 3 * pg) == 0, "munmap: %s", strerror(errno));
    }
}

static void commit_limit(void)
{
    SetLastError(0);
    char *big = VirtualAlloc(NULL, 2 << 20, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    VW_CHECK(big == NULL && GetLastError() == ERROR_COMMITMENT_LIMIT,
             "2 MiB commit under a 1 MiB limit: %p, error %u", (void *)big,
             (unsigned)GetLastError());
    char *small = VirtualAlloc(NULL, 512 << 10, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    VW_CHECK(small != NULL, "512 KiB commit failed: %u", (unsigned)GetLastError());
    char *res = VirtualAlloc(NULL, 2 << 20, MEM_RESERVE, PAGE_READWRITE);
    VW_CHECK(res != NULL, "2 MiB reserve failed: %u", (unsigned)GetLastError());
    if (res) {
        SetLastError(0);
        VW_CHECK(VirtualAlloc(res, 1 << 20, MEM_COMMIT, PAGE_READWRITE) == NULL &&
                     GetLastError() == ERROR_COMMITMENT_LIMIT,
                 "1 MiB more commit: error %u", (unsigned)GetLastError());
        VW_CHECK(VirtualAlloc(res, 256 << 10, MEM_COMMIT, PAGE_READWRITE) == res,
                 "256 KiB more commit failed: %u", (unsigned)GetLastError());
        VirtualFree(res, 0, MEM_RELEASE);
    }
    if (small)
        VirtualFree(small, 0, MEM_RELEASE);
}

int main(int argc, char **argv)
{
    pg = (size_t)sysconf(_SC_PAGESIZE);
    const char *ok = VW_PRELOAD_NAME ": OK";
    if (argc > 1 && strcmp(argv[1], "args") == 0) {
        for (int i = 2; i < argc; i++)
            printf("%s\n", argv[i]);
        return 0;
    } else if (argc > 1 && strcmp(argv[1], "commit-limit") == 0) {
        commit_limit();
        ok = VW_PRELOAD_NAME ": commit limit OK";
    } else if (argc > 1) {
        fprintf(stderr, VW_PRELOAD_NAME ": unknown mode %s\n", argv[1]);
        return 2;
    } else {
        scenarios();
    }
    if (vw_failures) {
        printf(VW_PRELOAD_NAME ": FAILED (%d failures)\n", vw_failures);
        return 1;
    }
    printf("%s\n", ok);
    return 0;
}
