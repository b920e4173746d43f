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
#include "core/foreign.h"
#include "core/vw.h"
#include "os/spinlock.h"

#include <elf.h>
#include <link.h>
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

/* Copies len bytes at addr without faulting (EFAULT instead of SIGSEGV/SIGBUS). */
static int read_safely(uintptr_t addr, void *buf, size_t len)
{
    struct iovec local = { buf, len }, remote = { (void *)addr, len };
    long n = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
    return n == (long)len;
}

static int is_elf_at(uintptr_t addr)
{
    char magic[4];
    return read_safely(addr, magic, sizeof magic) && memcmp(magic, "\177ELF", 4) == 0;
}

/* If [start, ...) lies in the zero-filled tail of a PT_LOAD segment of the image
 * loaded at base (p_filesz < p_memsz: .bss), returns the end of that segment's
 * memory (page-rounded), else 0.  Read from the image's own headers. */
static uintptr_t bss_end(uintptr_t base, uintptr_t start)
{
    ElfW(Ehdr) eh;
    if (!read_safely(base, &eh, sizeof eh) || eh.e_phentsize != sizeof(ElfW(Phdr)) ||
        eh.e_phnum == 0 || eh.e_phnum > 64)
        return 0;
    ElfW(Phdr) ph[64];
    if (!read_safely(base + eh.e_phoff, ph, eh.e_phnum * sizeof ph[0]))
        return 0;
    uintptr_t low = UINTPTR_MAX;
    for (unsigned i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < low)
            low = ph[i].p_vaddr;
    if (low == UINTPTR_MAX)
        return 0;
    uintptr_t bias = eh.e_type == ET_DYN ? base - (low & ~(vw_page() - 1)) : 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || ph[i].p_memsz <= ph[i].p_filesz)
            continue;
        uintptr_t file_end = bias + ph[i].p_vaddr + ph[i].p_filesz;
        uintptr_t mem_end = page_ceil(bias + ph[i].p_vaddr + ph[i].p_memsz);
        if (start >= (file_end & ~(vw_page() - 1)) && start < mem_end)
            return mem_end;
    }
    return 0;
}

#define IMAGE_CACHE 64

/* (dev, inode, key) -> base: key is a mapping's start less its file offset. */
struct image_entry {
    uint64_t dev, inode;
    uintptr_t key, base;
    int is_image;
};

static struct image_entry image_cache[IMAGE_CACHE];
static unsigned image_next;
static vw_lock_t image_lock;

static int cache_lookup(const struct kv_vma *v, uintptr_t key, uintptr_t *base, int *is_image)
{
    int hit = 0;
    /* Never wait: a VirtualQuery in a signal handler may have interrupted
     * this very section on its own thread.  A busy cache is a miss. */
    if (!vw_trylock(&image_lock))
        return 0;
    for (unsigned i = 0; i < IMAGE_CACHE; i++) {
        const struct image_entry *e = &image_cache[i];
        if (e->key == key && e->inode == v->inode && e->dev == v->dev && e->base) {
            *base = e->base;
            *is_image = e->is_image;
            hit = 1;
            break;
        }
    }
    vw_unlock(&image_lock);
    return hit;
}

static void cache_store(const struct kv_vma *v, uintptr_t key, uintptr_t base, int is_image)
{
    if (!vw_trylock(&image_lock))
        return;   /* busy (see cache_lookup): not cached this time */
    image_cache[image_next++ % IMAGE_CACHE] =
        (struct image_entry){ v->dev, v->inode, key, base, is_image };
    vw_unlock(&image_lock);
}

static int same_file(const struct kv_vma *a, const struct kv_vma *b);

/* 1 if a mapping of the same file from base on is executable: what the
 * dynamic loader maps has code; a program's own mmap of an ELF file (to read
 * it) does not, and is a MEM_MAPPED view, not an image. */
static int group_has_code(const struct kv_vma *v, uintptr_t base)
{
    struct kv_vma w;
    for (uintptr_t cur = base; kv_find(cur, &w) == 0 && w.start == cur && same_file(&w, v);
         cur = w.end)
        if (w.prot & PROT_EXEC)
            return 1;
    return 0;
}

static int same_file(const struct kv_vma *a, const struct kv_vma *b)
{
    return a->file_backed && b->file_backed && a->inode == b->inode && a->dev == b->dev;
}

/* The first mapping of the same file object (file offset 0), or 0.  A segment
 * sits at base + p_vaddr with file offset p_offset <= p_vaddr, so the base is
 * at or below start - offset; following offsets back reaches it in a few steps
 * (segments whose p_vaddr - p_offset differ, such as RELRO, need one more). */
static uintptr_t file_group_base(const struct kv_vma *v)
{
    struct kv_vma w = *v;
    for (int step = 0; step < 4; step++) {
        if (w.offset == 0)
            return w.start;
        uintptr_t off = (uintptr_t)w.offset & ~(vw_page() - 1);
        if (off > w.start)
            return 0;
        struct kv_vma n;
        if (kv_find(w.start - off, &n) || !same_file(&n, v) || n.start >= w.start)
            return 0;
        w = n;
    }
    return 0;
}

/* 1 if v is the brk heap (which may directly follow the executable's data
 * when address randomisation is off). */
static int is_heap(const struct kv_vma *v)
{
    uintptr_t brk = (uintptr_t)syscall(SYS_brk, 0);
    return brk && v->start < brk && brk <= v->end;
}

/* If the file mapping w belongs to an image, stores the image's base. */
static int image_base_of(const struct kv_vma *w, uintptr_t *base)
{
    uintptr_t key = w->start - ((uintptr_t)w->offset & ~(vw_page() - 1));
    int is_image = 0;
    uintptr_t b = 0;
    if (!cache_lookup(w, key, &b, &is_image)) {
        uintptr_t group = file_group_base(w);
        is_image = group && is_elf_at(group) && group_has_code(w, group);
        b = group;
        if (group)
            cache_store(w, key, group, is_image);
    }
    *base = b;
    return is_image;
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
        uintptr_t ibase = 0;
        int is_image = image_base_of(v, &ibase);
        base = ibase ? ibase : v->start;
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
        if (kv_find(v->start - vw_page(), &w) == 0 && w.end == v->start && !w.shared) {
            uintptr_t ibase;
            if (!w.file_backed && w.prot == 0) {
                base = w.start;   /* a stack over its guard, reserve-then-commit */
            } else if (w.file_backed && (w.prot & PROT_WRITE) && !v->shared &&
                       !is_heap(v) && image_base_of(&w, &ibase)) {
                /* The zero-filled tail of an image's data segment (.bss), as
                 * far as the image's program headers say it reaches: anything
                 * the kernel merged after it is not part of the image. */
                uintptr_t be = bss_end(ibase, v->start);
                if (be > p) {
                    base = ibase;
                    type = MEM_IMAGE;
                    aprot = PAGE_EXECUTE_WRITECOPY;
                    if (be < end)
                        end = be;
                } else if (be) {
                    base = be;   /* merged after the .bss: a mapping of its own */
                }
            }
        }
    }
    m->BaseAddress = (PVOID)p;
    m->AllocationBase = (PVOID)base;
    m->AllocationProtect = aprot;
    m->RegionSize = end - p;
    m->State = prot ? MEM_COMMIT : MEM_RESERVE;
    m->Protect = prot;
    m->Type = type;
}
