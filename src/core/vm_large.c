/*
 * vm_large.c: the VM core's large-page allocations (VirtualAlloc /
 * NtAllocateVirtualMemory with MEM_LARGE_PAGES) and the large page size.
 *
 * Windows large pages are committed and resident from the start.  Here they
 * are, in order of preference: hugetlbfs pages (MAP_HUGETLB) when the system
 * has enough reserved (HugePages_Free), else transparent huge pages on a
 * naturally aligned region (MADV_HUGEPAGE), populated at once; when neither can
 * be had (THP "never", no hugetlb pages, no memory) the call fails with
 * ERROR_NO_SYSTEM_RESOURCES so callers fall back to small pages, as on Windows.
 * The region is an allocation of its own outside the arenas.
 */
#include "core/vm.h"
#include "os/os.h"
#include "core/space.h"
#include "os/sysfile.h"

#include <errno.h>
#include <sys/mman.h>

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#define MAP_HUGE_SHIFT_ 26

size_t vw_large_page_size(void)
{
#if defined(__x86_64__)
    return (size_t)2 << 20;
#else
    static size_t cached;
    size_t v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (!v) {
        v = (size_t)sysfile_meminfo("Hugepagesize") * 1024;
        if (!v)
            v = (size_t)2 << 20;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
#endif
}

static int thp_possible(void)
{
    char buf[128];
    long n = sysfile_read("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    for (long i = 0; i + 7 <= n; i++)
        if (buf[i] == '[' && buf[i + 1] == 'n' && buf[i + 2] == 'e' && buf[i + 3] == 'v')
            return 0;   /* "[never]" */
    return 1;
}

static int log2_of(size_t v)
{
    int l = 0;
    while ((size_t)1 << l < v)
        l++;
    return l;
}

/* Turns [base, base+size), which the caller owns (PROT_NONE space), into large
 * pages with protection lprot: hugetlbfs pages replacing it, else THP.
 * Returns 0 or ENOMEM; on failure the range is still the caller's. */
static int make_large(uintptr_t base, size_t size, int lprot)
{
    size_t lp = vw_large_page_size();
    unsigned long long free_pages = sysfile_meminfo("HugePages_Free");
    unsigned long long hp_kib = sysfile_meminfo("Hugepagesize");
    if (free_pages && hp_kib * 1024 == lp && free_pages * lp >= size) {
        uintptr_t at = base;
        int extra = MAP_HUGETLB | (log2_of(lp) << MAP_HUGE_SHIFT_) | MAP_POPULATE | MAP_FIXED;
        if (os_map_flags(&at, size, lprot, extra, 0) == 0 && at == base)
            return 0;
        os_decommit(base, size);   /* whatever the attempt left, ours again */
    }
    if (!thp_possible())
        return ENOMEM;
    os_advise(base, size, MADV_HUGEPAGE);
    int err = os_protect(base, size, lprot);
    if (!err && lprot != PROT_NONE) {
        /* Committed and resident from the start, as Windows large pages are. */
        int e = os_advise(base, size, (lprot & PROT_WRITE) ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
        if (e && e != EINVAL)
            err = ENOMEM;
    }
    if (err) {
        os_decommit(base, size);
        return ENOMEM;
    }
    return 0;
}

DWORD vw_alloc_large(uintptr_t addr, SIZE_T size, DWORD prot, uintptr_t *out)
{
    DWORD eff = prot_effective(prot, prot);
    struct rm_spares sp = { { NULL, NULL } };
    uintptr_t base = addr;
    if (!map_lock_unless_mine())   /* a handler that interrupted this thread's change */
        return ERROR_POSSIBLE_DEADLOCK;
    DWORD err = vw_commit_check_locked(size);
    if (!err && rm_spare_get(&vw_state.map, &sp, 1))
        err = ERROR_NOT_ENOUGH_MEMORY;
    if (!err && addr) {
        /* Explicit: the space must be free, arena space included. */
        if (rm_overlaps(&vw_state.map, addr, addr + size))
            err = ERROR_INVALID_ADDRESS;
        else if (space_claim(addr, size))
            err = ERROR_INVALID_ADDRESS;
    } else if (!err && os_reserve_aligned(&base, size, vw_large_page_size())) {
        /* Outside the arenas: their 64 KiB granules give no 2 MiB alignment. */
        err = ERROR_NO_SYSTEM_RESOURCES;
    }
    if (!err && make_large(base, size, prot_to_linux(eff))) {
        space_release(base, size, 1);
        err = ERROR_NO_SYSTEM_RESOURCES;
    }
    if (err) {
        rm_spare_put(&vw_state.map, &sp);
        map_unlock();
        return err;
    }
    struct vw_run *r = rm_insert_alloc(&vw_state.map, &sp, base, base + size,
                                       (uint16_t)(prot & 0xFFFF), RUN_COMMITTED, (uint16_t)eff);
    r->kind = VM_KIND_LARGE_PAGES;
    vw_state.committed += size;
    map_unlock();
    *out = base;
    return 0;
}
