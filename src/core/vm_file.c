/*
 * vm_file.c: file handles (VW_HT_FILE objects) for file-backed sections:
 * what CreateFileA/W and GetFileSizeEx need (contract in vm_section.h).
 *
 * A file object owns one descriptor (close-on-exec) and remembers whether it
 * was opened for writing, which is what a section's protection is checked
 * against.  Share modes are not enforced (Linux has no mandatory sharing
 * locks; README "Sections").  Records come from a record table
 * (vm_section.c) under the map lock.
 */
#include "core/vm_section.h"
#include "os/os.h"
#include "os/osfile.h"

#include <errno.h>
#include <fcntl.h>

#define CREATE_NEW_ 1
#define CREATE_ALWAYS_ 2
#define OPEN_EXISTING_ 3
#define OPEN_ALWAYS_ 4
#define TRUNCATE_EXISTING_ 5

static struct rec_table file_table = REC_TABLE_INIT(struct vw_file, 1u << 16);

static void file_destroy(struct vw_object *o)
{
    struct vw_file *f = (struct vw_file *)o;
    os_close(f->fd);
    map_lock();
    rec_put_locked(&file_table, f);
    map_unlock();
}

static NTSTATUS status_of_errno(int e)
{
    switch (e) {
    case ENOENT: return STATUS_OBJECT_NAME_NOT_FOUND;
    case ENOTDIR: return STATUS_OBJECT_PATH_NOT_FOUND;
    case EEXIST: return STATUS_OBJECT_NAME_COLLISION;
    case EACCES:
    case EPERM:
    case EROFS:
    case EISDIR: return STATUS_ACCESS_DENIED;
    case ENAMETOOLONG: return STATUS_OBJECT_NAME_INVALID;
    case EMFILE:
    case ENFILE: return STATUS_TOO_MANY_OPENED_FILES;
    default: return STATUS_UNSUCCESSFUL;
    }
}

NTSTATUS vm_file_open(const char *path, ACCESS_MASK access, ULONG disposition, HANDLE *h,
                      int *existed)
{
    int rd = !!(access & (VW_FILE_GENERIC_READ | VW_SECTION_MAP_READ | 1u /* FILE_READ_DATA */));
    int wr = !!(access & (VW_FILE_GENERIC_WRITE | 2u /* FILE_WRITE_DATA */));
    int flags = wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
    struct os_fileinfo fi;
    *existed = os_stat(path, &fi) == 0;
    switch (disposition) {
    case CREATE_NEW_: flags |= O_CREAT | O_EXCL; break;
    case CREATE_ALWAYS_: flags |= O_CREAT | O_TRUNC; break;
    case OPEN_EXISTING_: break;
    case OPEN_ALWAYS_: flags |= O_CREAT; break;
    case TRUNCATE_EXISTING_:
        if (!wr)
            return STATUS_INVALID_PARAMETER;
        flags |= O_TRUNC;
        break;
    default: return STATUS_INVALID_PARAMETER;
    }
    if ((flags & O_TRUNC) && !wr)
        flags = (flags & ~O_ACCMODE) | O_RDWR;   /* truncation needs write access */
    int fd = os_open(path, flags, 0666);
    if (fd < 0)
        return status_of_errno(-fd);
    map_lock();
    struct vw_file *f = rec_get_locked(&file_table);
    map_unlock();
    if (!f) {
        os_close(fd);
        return STATUS_NO_MEMORY;
    }
    vw_object_init(&f->obj, VW_HT_FILE, file_destroy);
    f->fd = fd;
    f->writable = wr;
    NTSTATUS st = handle_insert(&f->obj, access, h);
    vw_object_put(&f->obj);
    return st;
}

NTSTATUS vm_file_size(HANDLE h, uint64_t *size)
{
    struct vw_object *o;
    NTSTATUS st = handle_ref(h, VW_HT_FILE, &o, NULL);
    if (st)
        return st;
    struct os_fileinfo fi;
    st = os_fstat(((struct vw_file *)o)->fd, &fi) ? STATUS_INVALID_HANDLE : STATUS_SUCCESS;
    if (!st)
        *size = fi.size;
    vw_object_put(o);
    return st;
}
