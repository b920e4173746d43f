/*
 * foreign.c: typing memory the library did not allocate (see foreign.h).
 *
 * Image detection reads the four bytes at the candidate base with
 * process_vm_readv on ourselves, which reports EFAULT instead of raising
 * SIGBUS when a mapped file has been truncated.  Answers are cached by
 * (device, inode, base), so a query inside a known image costs one
 * PROCMAP_QUERY: the same file at the same base is the same object, and a
 * stale entry can only describe a mapping of that same file.
 *
 * Another process (struct foreign_src, filled once when it is opened) is typed
 * by the same rules through its /proc/PID/maps, its auxiliary vector and
 * process_vm_readv on it; the image cache serves this process only (another
 * process maps files at its own addresses).
 */
#include "core/foreign.h"
#include "core/vw.h"
#include "os/spinlock.h"
#include "os/process.h"

#include <errno.h>
#include <fcntl.h>

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* The mapping covering addr or the next one, in this process (s NULL) or s's. */
static int src_find(const struct foreign_src *s, uintptr_t addr, struct kv_vma *v)
{
    return s ? kv_find_pid(s->pid, s->maps_fd, addr, v) : kv_find(addr, v);
}

/* The main thread's stack reservation below the mapping that holds probe:
 * [*lo, *hi), limit the stack rlimit (0: unknown). */
static void stack_bounds(const struct foreign_src *s, uintptr_t probe, size_t rlim,
                         uintptr_t *lo, uintptr_t *hi)
{
    struct kv_vma v;
    uintptr_t l = 0, h = 0;
    if (probe && src_find(s, probe, &v) == 0 && v.start <= probe && !v.file_backed) {
        h = v.end;
        uintptr_t limit = h - VW_MIN_ADDR;
        if (rlim && rlim < limit)
            limit = (uintptr_t)rlim & ~(vw_page() - 1);
        if (limit < v.end - v.start)
            limit = v.end - v.start;
        l = h - limit;
        /* As glibc's pthread_getattr_np: never below the mapping under the stack. */
        struct kv_vma w;
        for (uintptr_t cur = l; cur < v.start && src_find(s, cur, &w) == 0 && w.start < v.start;
             cur = w.end)
            l = w.end;
    }
    *lo = l;
    *hi = h;
}

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
    struct rlimit rl;
    size_t rlim = getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                      ? (size_t)rl.rlim_cur : 0;
    uintptr_t l, h;
    stack_bounds(NULL, probe, rlim, &l, &h);
    stack_lo = l;
    stack_hi = h;
    __atomic_store_n(&stack_known, 1, __ATOMIC_RELEASE);
    *lo = l;
    *hi = h;
    return h != 0;
}

/* Copies len bytes at addr without faulting (EFAULT instead of SIGSEGV/SIGBUS). */
static int read_safely(const struct foreign_src *s, uintptr_t addr, void *buf, size_t len)
{
    return os_vm_read(s ? s->pid : getpid(), addr, buf, len) == (long)len;
}

static int is_elf_at(const struct foreign_src *s, uintptr_t addr)
{
    char magic[4];
    return read_safely(s, addr, magic, sizeof magic) && memcmp(magic, "\177ELF", 4) == 0;
}

/* If [start, ...) lies in the zero-filled tail of a PT_LOAD segment of the image
 * loaded at base (p_filesz < p_memsz: .bss), returns the end of that segment's
 * memory (page-rounded), else 0.  Read from the image's own headers. */
static uintptr_t bss_end(const struct foreign_src *s, uintptr_t base, uintptr_t start)
{
    ElfW(Ehdr) eh;
    if (!read_safely(s, base, &eh, sizeof eh) || eh.e_phentsize != sizeof(ElfW(Phdr)) ||
        eh.e_phnum == 0 || eh.e_phnum > 64)
        return 0;
    ElfW(Phdr) ph[64];
    if (!read_safely(s, base + eh.e_phoff, ph, eh.e_phnum * sizeof ph[0]))
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
static int group_has_code(const struct foreign_src *s, const struct kv_vma *v, uintptr_t base)
{
    struct kv_vma w;
    for (uintptr_t cur = base; src_find(s, cur, &w) == 0 && w.start == cur && same_file(&w, v);
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
static uintptr_t file_group_base(const struct foreign_src *s, const struct kv_vma *v)
{
    struct kv_vma w = *v;
    for (int step = 0; step < 4; step++) {
        if (w.offset == 0)
            return w.start;
        uintptr_t off = (uintptr_t)w.offset & ~(vw_page() - 1);
        if (off > w.start)
            return 0;
        struct kv_vma n;
        if (src_find(s, w.start - off, &n) || !same_file(&n, v) || n.start >= w.start)
            return 0;
        w = n;
    }
    return 0;
}

/* 1 if v is the brk heap (which may directly follow the executable's data
 * when address randomisation is off). */
static int is_heap(const struct foreign_src *s, const struct kv_vma *v)
{
    if (s)   /* another process: where its heap began (its break is not known) */
        return s->start_brk && v->start <= s->start_brk && s->start_brk < v->end;
    uintptr_t brk = (uintptr_t)syscall(SYS_brk, 0);
    return brk && v->start < brk && brk <= v->end;
}

/* If the file mapping w belongs to an image, stores the image's base. */
static int image_base_of(const struct foreign_src *s, const struct kv_vma *w, uintptr_t *base)
{
    uintptr_t key = w->start - ((uintptr_t)w->offset & ~(vw_page() - 1));
    int is_image = 0;
    uintptr_t b = 0;
    if (s || !cache_lookup(w, key, &b, &is_image)) {
        uintptr_t group = file_group_base(s, w);
        is_image = group && is_elf_at(s, group) && group_has_code(s, w, group);
        b = group;
        if (group && !s)
            cache_store(w, key, group, is_image);
    }
    *base = b;
    return is_image;
}

void foreign_describe(const struct foreign_src *s, const struct kv_vma *v, uintptr_t p,
                      uintptr_t end, MEMORY_BASIC_INFORMATION *m)
{
    DWORD prot = v->prot ? prot_from_linux(v->prot) : 0;
    uintptr_t base = v->start;
    DWORD type = MEM_PRIVATE, aprot = PAGE_READWRITE;
    uintptr_t vdso = s ? s->vdso : (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    uintptr_t slo = 0, shi = 0;
    if (s) {
        slo = s->stack_lo;
        shi = s->stack_hi;
    } else {
        foreign_main_stack(&slo, &shi);
    }

    if (v->file_backed) {
        uintptr_t ibase = 0;
        int is_image = image_base_of(s, v, &ibase);
        base = ibase ? ibase : v->start;
        type = is_image ? MEM_IMAGE : MEM_MAPPED;
        if (!v->shared && (v->prot & PROT_WRITE))
            prot = (v->prot & PROT_EXEC) ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
        aprot = type == MEM_IMAGE ? PAGE_EXECUTE_WRITECOPY : (prot ? prot : PAGE_NOACCESS);
    } else if (vdso && v->start == vdso) {
        type = MEM_IMAGE;
        aprot = PAGE_EXECUTE_WRITECOPY;
    } else if (shi && v->end == shi) {
        base = slo;
    } else if (v->start >= vw_page()) {
        struct kv_vma w;
        if (src_find(s, v->start - vw_page(), &w) == 0 && w.end == v->start && !w.shared) {
            uintptr_t ibase;
            if (!w.file_backed && w.prot == 0) {
                base = w.start;   /* a stack over its guard, reserve-then-commit */
            } else if (w.file_backed && (w.prot & PROT_WRITE) && !v->shared &&
                       !is_heap(s, v) && image_base_of(s, &w, &ibase)) {
                /* The zero-filled tail of an image's data segment (.bss), as
                 * far as the image's program headers say it reaches: anything
                 * the kernel merged after it is not part of the image. */
                uintptr_t be = bss_end(s, ibase, v->start);
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

/* One word of pid's auxiliary vector (0 if unknown). */
static uintptr_t aux_value(int pid, unsigned long type)
{
    int fd = os_proc_open(pid, "auxv", O_RDONLY);
    if (fd < 0)
        return 0;
    unsigned long pair[64];
    uintptr_t val = 0;
    long got = os_read(fd, pair, sizeof pair);
    os_close(fd);
    for (long i = 0; i + 1 < got / (long)sizeof pair[0]; i += 2)
        if (pair[i] == type)
            val = (uintptr_t)pair[i + 1];
    return val;
}

/* start_brk, field 47 of /proc/PID/stat (0 if unknown). */
static uintptr_t start_brk(int pid)
{
    int fd = os_proc_open(pid, "stat", O_RDONLY);
    if (fd < 0)
        return 0;
    char buf[1024];
    long got = os_read(fd, buf, sizeof buf);
    os_close(fd);
    long i = got - 1;
    while (i > 0 && buf[i] != ')')   /* the command name may hold anything */
        i--;
    int field = 2;
    uintptr_t v = 0;
    for (i++; i < got && field <= 47; i++) {
        if (buf[i] == ' ') {
            field++;
            continue;
        }
        if (field == 47 && buf[i] >= '0' && buf[i] <= '9')
            v = v * 10 + (uintptr_t)(buf[i] - '0');
    }
    return v;
}

void foreign_src_init(struct foreign_src *s, int pid, int maps_fd)
{
    s->pid = pid;
    s->maps_fd = maps_fd;
    s->vdso = aux_value(pid, AT_SYSINFO_EHDR);
    s->start_brk = start_brk(pid);
    uintptr_t probe = aux_value(pid, AT_EXECFN);
    if (!probe)
        probe = aux_value(pid, AT_RANDOM);
    stack_bounds(s, probe, os_stack_limit(pid), &s->stack_lo, &s->stack_hi);
}

int foreign_query(const struct foreign_src *s, uintptr_t p, MEMORY_BASIC_INFORMATION *m)
{
    const uintptr_t limit = VW_MAX_ADDR + 1;
    struct kv_vma v;
    int err = src_find(s, p, &v);
    if (err && err != ENOENT)
        return err;
    if (!err && v.start <= p) {
        foreign_describe(s, &v, p, v.end < limit ? v.end : limit, m);
        return 0;
    }
    uintptr_t next = err ? limit : v.start < limit ? v.start : limit;
    m->BaseAddress = (PVOID)p;
    m->RegionSize = next - p;
    m->Protect = PAGE_NOACCESS;
    m->State = MEM_FREE;
    m->AllocationBase = NULL;
    m->AllocationProtect = 0;
    m->Type = 0;
    if (s->stack_hi && p >= s->stack_lo && p < s->stack_hi) {
        /* The unmapped part of the main thread's stack reservation. */
        m->AllocationBase = (PVOID)s->stack_lo;
        m->AllocationProtect = PAGE_READWRITE;
        m->State = MEM_RESERVE;
        m->Protect = 0;
        m->Type = MEM_PRIVATE;
    } else if (s->stack_hi && p < s->stack_lo && next > s->stack_lo) {
        m->RegionSize = s->stack_lo - p;
    }
    return 0;
}
