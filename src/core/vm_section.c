/*
 * vm_section.c: section objects (spec section 15; contract in vm_section.h).
 *
 * A section is a shared file and what Windows keeps about it: size, page
 * protection, SEC_COMMIT or SEC_RESERVE and, for SEC_RESERVE, which pages
 * are committed (a bitmap in its own anonymous mapping, shared by every view
 * in this process).
 *
 * Lifetime: handles (and calls in flight) hold the object's references; when
 * the last goes (section_destroy), the descriptors close and the name is
 * dropped; the record itself stays while views of it remain (views count,
 * under the map lock), as a Windows section outlives its handles in its views.
 * Records live in a table of their own (rec_get_locked; no malloc).
 *
 * Names: a named section is the file /dev/shm/virtualwin-UID-NAME (NAME with
 * bytes outside [A-Za-z0-9._-] as %XX, "Local\" and "Global\" dropped), so
 * processes of one user share it and other users never see it (0600 files,
 * owner checked).  It is created complete under no name (O_TMPFILE, sized)
 * and then linked, so an opener never sees it half made.  The protection
 * travels in the file mode: owner w = writable, x = executable.  Every
 * process holding a handle holds a shared flock on its own open of the file;
 * when its last handle closes it tries an exclusive lock on a fresh open and,
 * if no process holds one, unlinks the name (Windows drops a name with the
 * last handle anywhere).  An opener that locked a file unlinked meanwhile
 * sees the name point elsewhere (or nowhere) and starts again.  Views do not
 * keep a name, as on Windows.  A process killed without closing its handles
 * leaves no lock, so the next close anywhere removes the name; a name whose
 * every holder was killed stays in /dev/shm until the next create-and-close
 * of that name (README "Sections").  SEC_RESERVE commit state is per
 * process: another process opening the name sees it SEC_COMMIT.
 */
#include "core/vm_section.h"
#include "os/os.h"
#include "os/osfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>

#define SHM_DIR "/dev/shm"
#define PATH_CAP 320

struct vw_section {
    struct vw_object obj;
    int fd;            /* the mapping's file; -1 once the handles are gone */
    int lockfd;        /* named: the shared lock on the name; else -1 */
    uint64_t size;
    DWORD protect;
    ULONG attrs;       /* SEC_COMMIT, SEC_RESERVE or SEC_FILE */
    uint32_t views;    /* views in this process (map lock) */
    int handles_gone;  /* (map lock) */
    uint64_t *bits;    /* SEC_RESERVE: 1 = page committed */
    size_t bits_len;
    uint64_t ino;      /* named: the file's inode */
    char path[PATH_CAP];
};

static struct rec_table section_table = REC_TABLE_INIT(struct vw_section, 1u << 16);

void *rec_get_locked(struct rec_table *t)
{
    if (t->free_list) {
        void *o = t->free_list;
        t->free_list = *(void **)o;
        return o;
    }
    if (!t->base) {
        uintptr_t a = 0;
        if (os_map_flags(&a, t->objsize * t->max, PROT_READ | PROT_WRITE, MAP_NORESERVE, 0))
            return NULL;
        t->base = (char *)a;
    }
    return t->used < t->max ? t->base + t->objsize * t->used++ : NULL;
}

void rec_put_locked(struct rec_table *t, void *obj)
{
    *(void **)obj = t->free_list;
    t->free_list = obj;
}

static NTSTATUS status_of_errno(int e)
{
    switch (e) {
    case EACCES:
    case EPERM: return STATUS_ACCESS_DENIED;
    case ENOENT: return STATUS_OBJECT_NAME_NOT_FOUND;
    case ENAMETOOLONG: return STATUS_OBJECT_NAME_INVALID;
    case EMFILE:
    case ENFILE: return STATUS_TOO_MANY_OPENED_FILES;
    case ENOSPC:
    case EFBIG: return STATUS_DISK_FULL;
    default: return STATUS_NO_MEMORY;
    }
}

/* The /dev/shm path of a section name; 0, or STATUS_OBJECT_NAME_INVALID. */
static NTSTATUS name_path(const char *name, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!__builtin_strncmp(name, "Local\\", 6))
        name += 6;
    else if (!__builtin_strncmp(name, "Global\\", 7))
        name += 7;
    size_t n = 0;
    const char *prefix = SHM_DIR "/virtualwin-";
    while (*prefix)
        out[n++] = *prefix++;
    char digits[12];
    int k = 0;
    unsigned uid = os_getuid();
    do {
        digits[k++] = (char)('0' + uid % 10);
        uid /= 10;
    } while (uid);
    while (k)
        out[n++] = digits[--k];
    out[n++] = '-';
    size_t dir = sizeof SHM_DIR;   /* the name's component starts here */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (n + 4 >= PATH_CAP || n - dir > 250)
            return STATUS_OBJECT_NAME_INVALID;
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = 0;
    return STATUS_SUCCESS;
}

static int prot_writable(DWORD p)
{
    return p == PAGE_READWRITE || p == PAGE_EXECUTE_READWRITE;
}

static int prot_executable(DWORD p)
{
    return p == PAGE_EXECUTE_READ || p == PAGE_EXECUTE_READWRITE || p == PAGE_EXECUTE_WRITECOPY;
}

static void section_free_locked(struct vw_section *s)
{
    if (s->bits)
        os_unmap((uintptr_t)s->bits, s->bits_len);
    rec_put_locked(&section_table, s);
}

/* Last handle gone: close the files, drop the name if no process holds it. */
static void section_destroy(struct vw_object *o)
{
    struct vw_section *s = (struct vw_section *)o;
    if (s->lockfd >= 0)
        os_close(s->lockfd);
    if (s->fd >= 0)
        os_close(s->fd);
    if (s->path[0]) {
        int probe = os_open(s->path, O_RDONLY, 0);
        struct os_fileinfo fi;
        if (probe >= 0) {
            if (!os_fstat(probe, &fi) && fi.ino == s->ino && !os_flock(probe, LOCK_EX | LOCK_NB))
                os_unlink(s->path);
            os_close(probe);
        }
    }
    map_lock();
    s->fd = s->lockfd = -1;
    s->handles_gone = 1;
    int gone = s->views == 0;
    if (gone)
        section_free_locked(s);
    map_unlock();
}

/* A new record for fd (taken over: closed on failure). */
static NTSTATUS section_new(int fd, uint64_t size, DWORD protect, ULONG attrs,
                            struct vw_section **out)
{
    uintptr_t bits = 0;
    size_t bits_len = 0;
    if (attrs & VW_SEC_RESERVE) {
        uint64_t pages = (size + vw_page() - 1) / vw_page();
        bits_len = page_ceil((size_t)((pages + 63) / 64 * 8));
        if (os_map_flags(&bits, bits_len, PROT_READ | PROT_WRITE, MAP_NORESERVE, 0)) {
            os_close(fd);
            return STATUS_NO_MEMORY;
        }
    }
    map_lock();
    struct vw_section *s = rec_get_locked(&section_table);
    map_unlock();
    if (!s) {
        if (bits)
            os_unmap(bits, bits_len);
        os_close(fd);
        return STATUS_NO_MEMORY;
    }
    __builtin_memset(s, 0, sizeof *s);
    vw_object_init(&s->obj, VW_HT_SECTION, section_destroy);
    s->fd = fd;
    s->lockfd = -1;
    s->size = size;
    s->protect = protect;
    s->attrs = attrs;
    s->bits = (uint64_t *)bits;
    s->bits_len = bits_len;
    *out = s;
    return STATUS_SUCCESS;
}

/* Hands the new object to a handle (the creator's reference is dropped). */
static NTSTATUS publish(struct vw_section *s, ACCESS_MASK access, HANDLE *h)
{
    NTSTATUS st = handle_insert(&s->obj, access, h);
    vw_object_put(&s->obj);   /* on failure: destroyed */
    return st;
}

/* Opens the existing named file at path: a section over it, with its lock
 * taken.  STATUS_RETRY when the name was dropped meanwhile. */
#define STATUS_RETRY_ ((NTSTATUS)0xC000022DL)
static NTSTATUS open_named(const char *path, struct vw_section **out)
{
    int fd = os_open(path, O_RDWR, 0);
    if (fd == -EACCES)
        fd = os_open(path, O_RDONLY, 0);
    if (fd < 0)
        return status_of_errno(-fd);
    struct os_fileinfo fi, now;
    int lockfd = -1;
    NTSTATUS st = STATUS_SUCCESS;
    if (os_fstat(fd, &fi))
        st = STATUS_NO_MEMORY;
    else if (fi.uid != os_getuid())
        st = STATUS_ACCESS_DENIED;
    else if ((lockfd = os_reopen(fd, O_RDONLY)) < 0)
        st = status_of_errno(-lockfd);
    else if (os_flock(lockfd, LOCK_SH))
        st = STATUS_NO_MEMORY;
    else if (os_stat(path, &now) || now.ino != fi.ino || now.dev != fi.dev)
        st = STATUS_RETRY_;
    if (st) {
        if (lockfd >= 0)
            os_close(lockfd);
        os_close(fd);
        return st;
    }
    DWORD prot = (fi.mode & 0200) ? ((fi.mode & 0100) ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE)
                                  : ((fi.mode & 0100) ? PAGE_EXECUTE_READ : PAGE_READONLY);
    st = section_new(fd, fi.size, prot, VW_SEC_COMMIT, out);
    if (st) {
        os_close(lockfd);
        return st;
    }
    (*out)->lockfd = lockfd;
    (*out)->ino = fi.ino;
    __builtin_memcpy((*out)->path, path, PATH_CAP);
    return STATUS_SUCCESS;
}

/* Creates the named file at path complete, then links it; STATUS_RETRY when
 * someone else's name appeared meanwhile. */
static NTSTATUS create_named(const char *path, uint64_t size, DWORD protect, ULONG attrs,
                             struct vw_section **out)
{
    int mode = (prot_writable(protect) ? 0600 : 0400) | (prot_executable(protect) ? 0100 : 0);
    int fd = os_tmpfile(SHM_DIR, O_RDWR, mode);
    if (fd < 0)
        return status_of_errno(-fd);
    int e = os_ftruncate(fd, size);
    struct os_fileinfo fi;
    if (!e)
        e = os_fstat(fd, &fi);
    int lockfd = e ? -1 : os_reopen(fd, O_RDONLY);
    if (!e && lockfd < 0)
        e = -lockfd;
    if (!e)
        e = os_flock(lockfd, LOCK_SH);
    if (!e)
        e = os_link_fd(fd, path);
    if (e) {
        if (lockfd >= 0)
            os_close(lockfd);
        os_close(fd);
        return e == EEXIST ? STATUS_RETRY_ : status_of_errno(e);
    }
    NTSTATUS st = section_new(fd, size, protect, attrs, out);
    if (st) {
        os_unlink(path);
        os_close(lockfd);
        return st;
    }
    (*out)->lockfd = lockfd;
    (*out)->ino = fi.ino;
    __builtin_memcpy((*out)->path, path, PATH_CAP);
    return STATUS_SUCCESS;
}

NTSTATUS vm_section_create(HANDLE file, uint64_t size, DWORD protect, ULONG attrs,
                           const char *name, HANDLE *h, int *existed)
{
    struct vw_section *s = NULL;
    NTSTATUS st;
    *existed = 0;
    if (file != INVALID_HANDLE_VALUE) {
        struct vw_object *o;
        ACCESS_MASK fa;
        if (name && *name)
            return STATUS_NOT_SUPPORTED;   /* README: named file-backed sections */
        st = handle_ref(file, VW_HT_FILE, &o, &fa);
        if (st)
            return st;
        struct vw_file *f = (struct vw_file *)o;
        struct os_fileinfo fi;
        int fd = -1;
        if (os_fstat(f->fd, &fi))
            st = STATUS_INVALID_HANDLE;
        else if (prot_writable(protect) && !f->writable)
            st = STATUS_ACCESS_DENIED;
        else if (!size && !fi.size)
            st = STATUS_MAPPED_FILE_SIZE_ZERO;
        else if (size > fi.size && !prot_writable(protect))
            st = STATUS_SECTION_TOO_BIG;
        else if (size > fi.size && os_ftruncate(f->fd, size))
            st = STATUS_DISK_FULL;
        else if ((fd = os_dup_high(f->fd, 3)) < 0)
            st = STATUS_TOO_MANY_OPENED_FILES;
        vw_object_put(o);
        if (st)
            return st;
        st = section_new(fd, size ? size : fi.size, protect, VW_SEC_FILE, &s);
        return st ? st : publish(s, VW_SECTION_ALL_ACCESS, h);
    }
    if (!name || !*name) {
        int fd, err = os_memfd("virtualwin-section", &fd);
        if (!err && (err = os_ftruncate(fd, size)))
            os_close(fd);
        if (err)
            return status_of_errno(err);
        st = section_new(fd, size, protect, attrs, &s);
        return st ? st : publish(s, VW_SECTION_ALL_ACCESS, h);
    }
    char path[PATH_CAP];
    if ((st = name_path(name, path)))
        return st;
    for (int attempt = 0; attempt < 16; attempt++) {
        st = open_named(path, &s);
        if (!st) {
            *existed = 1;
            return publish(s, VW_SECTION_ALL_ACCESS, h);
        }
        if (st == STATUS_OBJECT_NAME_NOT_FOUND) {
            st = create_named(path, size, protect, attrs, &s);
            if (!st)
                return publish(s, VW_SECTION_ALL_ACCESS, h);
        }
        if (st != STATUS_RETRY_)
            return st;
    }
    return STATUS_NO_MEMORY;
}

NTSTATUS vm_section_open(const char *name, ACCESS_MASK access, HANDLE *h)
{
    char path[PATH_CAP];
    struct vw_section *s;
    NTSTATUS st = name_path(name, path);
    if (st)
        return st;
    for (int attempt = 0; attempt < 16; attempt++) {
        st = open_named(path, &s);
        if (!st)
            return publish(s, access, h);
        if (st != STATUS_RETRY_)
            return st;
    }
    return STATUS_OBJECT_NAME_NOT_FOUND;
}

struct vw_section *section_ref(HANDLE h, ACCESS_MASK *access, NTSTATUS *st)
{
    struct vw_object *o;
    *st = handle_ref(h, VW_HT_SECTION, &o, access);
    return *st ? NULL : (struct vw_section *)o;
}

void section_put(struct vw_section *s)
{
    vw_object_put(&s->obj);
}

void section_view_added_locked(struct vw_section *s)
{
    s->views++;
}

void section_view_removed_locked(struct vw_section *s)
{
    if (--s->views == 0 && s->handles_gone)
        section_free_locked(s);
}

void section_info(const struct vw_section *s, struct section_info *out)
{
    out->fd = s->fd;
    out->size = s->size;
    out->protect = s->protect;
    out->attrs = s->attrs;
}

int section_page_committed(const struct vw_section *s, uint64_t page)
{
    if (!s->bits)
        return 1;
    return (int)((s->bits[page / 64] >> (page % 64)) & 1);
}

void section_commit_pages_locked(struct vw_section *s, uint64_t first, uint64_t n)
{
    if (!s->bits)
        return;
    for (uint64_t p = first; p < first + n; p++)
        s->bits[p / 64] |= (uint64_t)1 << (p % 64);
}
