/*
 * foreign.c: typing memory the library did not allocate (see foreign.h).
 *
 * Image detection reads the four bytes at the candidate base with
 * process_vm_readv on ourselves, which reports EFAULT instead of raising
 * SIGBUS when a mapped file has been truncated.  Answers are cached by
 * (device, inode, base), so a query inside a known image costs one
 * PROCMAP_QUERY: the same file at the same base is the same object, and a
 * stale entry can only describe a mapping of that same file.
 */
#include "foreign.h"
#include "vw.h"
#include "spinlock.h"

#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static uintptr_t stack_lo, stack_hi;   /* cached once; written before stack_known */
static int stack_known;

int foreign_main_stack(uintptr_t *lo, uintptr_t *hi)
{
    if (__atomic_load_n(&stack_known, __ATOMIC_ACQUIRE)) {
        *lo = stack_lo;
        *hi = stack_hi;
        return stack_hi != 0;
    }
    uintptr_t probe = (uintptr_t)getauxval(AT_EXECFN);
    if (!probe)
        probe = (uintptr_t)getauxval(AT_RANDOM);
    struct kv_vma v;
    uintptr_t l = 0, h = 0;
    if (probe && kv_find(probe, &v) == 0 && v.start <= probe && !v.file_backed) {
        struct rlimit rl;
        h = v.end;
        uintptr_t limit = h - VW_MIN_ADDR;
        if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < limit)
            limit = (uintptr_t)rl.rlim_cur & ~(vw_page() - 1);
        if (limit < v.end - v.start)
            limit = v.end - v.start;
        l = h - limit;
        /* As glibc's pthread_getattr_np: never below the mapping under the stack. */
        struct kv_vma w;
        for (uintptr_t cur = l; cur < v.start && kv_find(cur, &w) == 0 && w.start < v.start;
             cur = w.end)
            l = w.end;
    }
    stack_lo = l;
    stack_hi = h;
    __atomic_store_n(&stack_known, 1, __ATOMIC_RELEASE);
    *lo = l;
    *hi = h;
    return h != 0;
}

static int is_elf_at(uintptr_t addr)
{
    char magic[4];
    struct iovec local = { magic, sizeof magic }, remote = { (void *)addr, sizeof magic };
    long n = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
    return n == 4 && memcmp(magic, "\177ELF", 4) == 0;
}

#define IMAGE_CACHE 64

struct image_entry {
    uint64_t dev, inode;
    uintptr_t base;
    int is_image;
};

static struct image_entry image_cache[IMAGE_CACHE];
static unsigned image_next;
static vw_lock_t image_lock;

static int cache_lookup(uint64_t dev, uint64_t inode, uintptr_t base, int *is_image)
{
    int hit = 0;
    vw_lock(&image_lock);
    for (unsigned i = 0; i < IMAGE_CACHE; i++) {
        const struct image_entry *e = &image_cache[i];
        if (e->base == base && e->inode == inode && e->dev == dev) {
            *is_image = e->is_image;
            hit = 1;
            break;
        }
    }
    vw_unlock(&image_lock);
    return hit;
}

static void cache_store(uint64_t dev, uint64_t inode, uintptr_t base, int is_image)
{
    vw_lock(&image_lock);
    image_cache[image_next++ % IMAGE_CACHE] = (struct image_entry){ dev, inode, base, is_image };
    vw_unlock(&image_lock);
}

/* The first mapping of the same file object, found through the file offset. */
static uintptr_t file_group_base(const struct kv_vma *v)
{
    uintptr_t off = (uintptr_t)v->offset & ~(vw_page() - 1);
    if (off == 0 || off > v->start)
        return v->start;
    struct kv_vma w;
    uintptr_t cand = v->start - off;
    if (kv_find(cand, &w) == 0 && w.start == cand && w.offset == 0 && w.inode == v->inode &&
        w.dev == v->dev)
        return cand;
    return v->start;
}

void foreign_describe(const struct kv_vma *v, uintptr_t p, uintptr_t end,
                      MEMORY_BASIC_INFORMATION *m)
{
    DWORD prot = v->prot ? prot_from_linux(v->prot) : 0;
    uintptr_t base = v->start;
    DWORD type = MEM_PRIVATE, aprot = PAGE_READWRITE;
    uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    uintptr_t slo, shi;

    if (v->file_backed) {
        uintptr_t off = (uintptr_t)v->offset & ~(vw_page() - 1);
        int is_image = 0;
        if (off <= v->start && cache_lookup(v->dev, v->inode, v->start - off, &is_image)) {
            base = v->start - off;
        } else {
            base = file_group_base(v);
            is_image = (v->offset == 0 || base != v->start) && is_elf_at(base);
            if (base == v->start - off)
                cache_store(v->dev, v->inode, base, is_image);
        }
        type = is_image ? MEM_IMAGE : MEM_MAPPED;
        if (!v->shared && (v->prot & PROT_WRITE))
            prot = (v->prot & PROT_EXEC) ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
        aprot = type == MEM_IMAGE ? PAGE_EXECUTE_WRITECOPY : (prot ? prot : PAGE_NOACCESS);
    } else if (vdso && v->start == vdso) {
        type = MEM_IMAGE;
        aprot = PAGE_EXECUTE_WRITECOPY;
    } else if (foreign_main_stack(&slo, &shi) && v->end == shi) {
        base = slo;
    } else if (v->start >= vw_page()) {
        struct kv_vma w;
        if (kv_find(v->start - vw_page(), &w) == 0 && w.end == v->start && !w.file_backed &&
            w.prot == 0 && !w.shared)
            base = w.start;
    }
    m->BaseAddress = (PVOID)p;
    m->AllocationBase = (PVOID)base;
    m->AllocationProtect = aprot;
    m->RegionSize = end - p;
    m->State = prot ? MEM_COMMIT : MEM_RESERVE;
    m->Protect = prot;
    m->Type = type;
}
