/*
 * vm_section.h: the VM core's sections and views (spec section 15): the
 * objects behind CreateFileMapping / OpenFileMapping and MapViewOfFile.
 *
 * A section (vm_section.c) is a handle-table object (core/handles.h) over a
 * shared file: a memfd for pagefile-backed sections, the caller's file for
 * file-backed ones, a file in /dev/shm for named ones.  A view (vm_view.c) is
 * an allocation of kind VM_KIND_VIEW in the region map whose runs carry the
 * index of the view's record (vw_run.ext): section, offset, protection.
 * Same rules as vm.h: arguments validated by the native edge, NTSTATUS back,
 * nothing changed on failure, no lock held on entry.
 */
#ifndef VW_VM_SECTION_H
#define VW_VM_SECTION_H

#include "core/vm.h"
#include "core/handles.h"

/* Section and view constants (winnt.h / ntdef.h values) the core needs. */
#define VW_SEC_FILE 0x800000u
#define VW_SEC_RESERVE 0x4000000u
#define VW_SEC_COMMIT 0x8000000u
#define VW_SECTION_QUERY 0x0001u
#define VW_SECTION_MAP_WRITE 0x0002u
#define VW_SECTION_MAP_READ 0x0004u
#define VW_SECTION_MAP_EXECUTE 0x0008u
#define VW_SECTION_EXTEND_SIZE 0x0010u
#define VW_SECTION_MAP_EXECUTE_EXPLICIT 0x0020u
#define VW_SECTION_ALL_ACCESS 0xF001Fu
#define VW_FILE_GENERIC_READ 0x80000000u
#define VW_FILE_GENERIC_WRITE 0x40000000u

/* A file handle's object (VW_HT_FILE): a descriptor and how it was opened. */
struct vw_file {
    struct vw_object obj;
    int fd;
    int writable;      /* opened for writing too */
};
/* Opens path (UTF-8) as CreateFile does for the modes a mapping needs:
 * access GENERIC_READ / GENERIC_WRITE, disposition 1..5 (CREATE_NEW ..
 * TRUNCATE_EXISTING).  *existed says whether the file was there already. */
NTSTATUS vm_file_open(const char *path, ACCESS_MASK access, ULONG disposition, HANDLE *h,
                      int *existed);
/* The size of the file h names. */
NTSTATUS vm_file_size(HANDLE h, uint64_t *size);

/* CreateFileMapping: file INVALID_HANDLE_VALUE (pagefile) or a file handle;
 * protect one of the six section protections, attrs SEC_COMMIT/SEC_RESERVE;
 * size 0 for a file means the file's size.  name (UTF-8, NULL for none):
 * an existing name is opened instead, and *existed set (the caller returns
 * STATUS_OBJECT_NAME_EXISTS). */
NTSTATUS vm_section_create(HANDLE file, uint64_t size, DWORD protect, ULONG attrs,
                           const char *name, HANDLE *h, int *existed);
/* OpenFileMapping: STATUS_OBJECT_NAME_NOT_FOUND for an unknown name. */
NTSTATUS vm_section_open(const char *name, ACCESS_MASK access, HANDLE *h);

/* MapViewOfFile3 / NtMapViewOfSection: prot the view's page protection
 * (validated; PAGE_WRITECOPY variants make a copy-on-write view); addr 0 or
 * a 64 KiB-aligned base; offset 64 KiB-aligned; size 0 for the rest of the
 * section.  replace: MEM_REPLACE_PLACEHOLDER (addr, size cover one
 * placeholder exactly).  *base and *len describe the view. */
NTSTATUS vm_view_map(HANDLE section, uintptr_t addr, uint64_t offset, size_t size, DWORD prot,
                     int replace, uintptr_t *base, size_t *len);
/* UnmapViewOfFile2: the view holding addr; preserve: leave a placeholder. */
NTSTATUS vm_view_unmap(uintptr_t addr, int preserve);
/* FlushViewOfFile: [addr, addr+size) inside one view (size 0: to its end). */
NTSTATUS vm_view_flush(uintptr_t addr, size_t size);

/* Hooks for the rest of the core and the interposers (map lock held). */
/* Commit [start, end) of the view r in its section (SEC_RESERVE). */
NTSTATUS vm_view_commit_locked(struct vw_run *r, uintptr_t start, uintptr_t end, DWORD prot);
/* 0 if prot may be given to pages of the view r, else STATUS_INVALID_PAGE_PROTECTION. */
NTSTATUS vm_view_protect_check(const struct vw_run *r, DWORD prot);
/* An allocation of view record ext (vw_run.ext) left the map (munmap);
 * mremap moving a view takes one more (hold) before the old one goes. */
void vm_view_forget_locked(uint32_t ext);
void vm_view_hold_locked(uint32_t ext);
/* VirtualQuery of write-copy view pages: splits m (a committed WRITECOPY
 * region) where pages were copied (those report PAGE_READWRITE). */
void vm_view_refine(MEMORY_BASIC_INFORMATION *m);

/* Record tables for section and file objects (vm_section.c): one lazily
 * made MAP_NORESERVE mapping each, so the library's bookkeeping never merges
 * with (and changes) a program's anonymous mapping next to it; free records
 * on a list through their first word.  Map lock held. */
struct rec_table {
    char *base;
    size_t objsize;
    uint32_t max, used;
    void *free_list;
};
#define REC_TABLE_INIT(type, n) { NULL, sizeof(type), (n), 0, NULL }
void *rec_get_locked(struct rec_table *t);
void rec_put_locked(struct rec_table *t, void *obj);

/* Internal to vm_section.c and vm_view.c. */
struct vw_section;
struct vw_section *section_ref(HANDLE h, ACCESS_MASK *access, NTSTATUS *st);
void section_view_added_locked(struct vw_section *s);
void section_view_removed_locked(struct vw_section *s);
struct section_info {
    int fd;
    uint64_t size;
    DWORD protect;
    ULONG attrs;
};
void section_info(const struct vw_section *s, struct section_info *out);
/* SEC_RESERVE page state (page index in the section); no-ops otherwise. */
int section_page_committed(const struct vw_section *s, uint64_t page);
void section_commit_pages_locked(struct vw_section *s, uint64_t first, uint64_t n);
/* The views of s in this process: calls fn for each view record index. */
void section_put(struct vw_section *s);

#endif
