/*
 * testutil.h: helpers shared by the Check suites.
 *
 * - fault probes: whether a read, write or execute of one byte faults, using a
 *   SIGSEGV/SIGBUS handler and sigsetjmp; the previous handlers are restored
 *   (or, for threads, the handler is installed once around the threaded part);
 * - the kernel's view: the /proc/self/maps line covering an address;
 * - agreement checks: every page VirtualQuery reports must agree with
 *   /proc/self/maps (committed pages have the matching PROT_*, reserved and
 *   guard pages are PROT_NONE, free pages are unmapped or the library's own
 *   PROT_NONE placement arena);
 * - API calls that must succeed (or fail) and VirtualQuery expectations, which
 *   fail the test with the caller's line; byte patterns for contents checks;
 * - /proc/self/status, /proc/meminfo and smaps fields (VmLck, RssAnon, VmFlags),
 *   the kernel's lock state, dropping CAP_IPC_LOCK;
 * - threads and fork children: a parked thread, failure records without Check,
 *   waiting for a child with a deadline, /proc/self/maps without stdio or malloc.
 */
#ifndef VW_TESTUTIL_H
#define VW_TESTUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <virtualwin.h>

#define VW_64K ((size_t)0x10000)
#define VW_PAGE ((size_t)vw_page_size())
#define VW_MAX_APP_ADDR ((uintptr_t)0x7FFFFFFEFFFFull)

size_t vw_page_size(void);

/* 1 if one byte at p can be read / written (non-destructively) / executed, 0 if it faults. */
int vw_can_read(const void *p);
int vw_can_write(void *p);

/* Installs the probe handler for threads, once, before they start (no Check in between). */
void vw_install_thread_probes(void);
/* Restores the SIGSEGV/SIGBUS handlers vw_install_thread_probes replaced. */
void vw_remove_thread_probes(void);
/* vw_can_read / vw_can_write for any thread, under vw_install_thread_probes (no Check). */
int vw_thread_can_read(const void *p);
int vw_thread_can_write(void *p);

/* VirtualQuery wrapper that fails the test if the call fails. */
MEMORY_BASIC_INFORMATION vw_query(const void *p);

/* One line of /proc/self/maps. */
struct vw_kmap {
    uintptr_t start, end;
    char perms[5];          /* "rwxp" style */
    unsigned long long inode;
    char path[256];
};
/* Finds the mapping that covers addr; returns 1 and fills *out, 0 if unmapped. */
int vw_kernel_mapping(uintptr_t addr, struct vw_kmap *out);
/* Number of lines in /proc/self/maps (the VMA count). */
int vw_kernel_vma_count(void);

/* The rwx string the kernel should show for a committed Protect value
 * ("---", "r--", "rw-", "r-x", "rwx"). */
const char *vw_expected_perms(DWORD state, DWORD protect);

/* Fails the test (ck_abort_msg) unless every page in [base, base+size) as seen
 * by VirtualQuery agrees with /proc/self/maps. */
void vw_assert_range_agrees(const void *base, size_t size);
/* The same for the whole address space, walking VirtualQuery from 0 to the maximum
 * application address; also checks the walk is contiguous and non-overlapping. */
void vw_assert_all_agree(void);

/* ---- API calls and expectations (fail the test with the caller's line) --------------- */

#define VW_KEEP_ERR ((DWORD)1234)              /* preset before calls that must succeed */
#define VW_SENTINEL_ERR ((DWORD)0xDEADBEEFu)   /* preset before calls that must fail */
#define VW_ANY_SIZE ((SIZE_T)-1)               /* VW_CHECK_MBI: skip RegionSize */
#define VW_ANY_TYPE ((DWORD)-1)                /* VW_ASSERT_REGION: skip Type */

/* VirtualAlloc that must succeed and leave the last error (1234) untouched. */
#define VW_ALLOC_OK(addr, size, type, prot)                                                \
    vw_alloc_ok(__LINE__, (void *)(addr), (SIZE_T)(size), (DWORD)(type), (DWORD)(prot))
char *vw_alloc_ok(int line, void *addr, SIZE_T size, DWORD type, DWORD prot);
/* VirtualFree that must succeed and leave the last error (1234) untouched. */
#define VW_FREE_OK(addr, size, type)                                                       \
    vw_free_ok(__LINE__, (void *)(addr), (SIZE_T)(size), (DWORD)(type))
void vw_free_ok(int line, void *addr, SIZE_T size, DWORD type);
/* Reserves and commits size bytes with prot anywhere; fails the test if that fails. */
char *vw_alloc_commit(size_t size, DWORD prot);
/* Reserves size bytes with prot anywhere; fails the test if that fails. */
char *vw_alloc_reserve(size_t size, DWORD prot);
/* Commits [p, p+size) with prot; fails the test unless VirtualAlloc returns p. */
void vw_commit_at(char *p, size_t size, DWORD prot);
/* VirtualFree(p, 0, MEM_RELEASE); fails the test if that fails. */
void vw_release(void *p);
/* size bytes of free, 64 KiB aligned address space: reserved, then released again. */
char *vw_free_space(size_t size);

/* Expects a BOOL call to fail with last error err. */
#define VW_EXPECT_FAIL(call, err)                                                          \
    do {                                                                                   \
        SetLastError(VW_SENTINEL_ERR);                                                     \
        BOOL r_ = (call);                                                                  \
        DWORD e_ = GetLastError();                                                         \
        ck_assert_msg(!r_, "%s succeeded, expected error %u", #call, (unsigned)(err));     \
        ck_assert_msg(e_ == (DWORD)(err), "%s: last error %u, expected %u", #call,         \
                      (unsigned)e_, (unsigned)(err));                                      \
    } while (0)
/* Expects a BOOL call to succeed and leave the last error (1234) untouched. */
#define VW_EXPECT_OK(call)                                                                 \
    do {                                                                                   \
        SetLastError(VW_KEEP_ERR);                                                         \
        BOOL r_ = (call);                                                                  \
        DWORD e_ = GetLastError();                                                         \
        ck_assert_msg(r_, "%s failed, last error %u", #call, (unsigned)e_);                \
        ck_assert_msg(e_ == VW_KEEP_ERR, "%s succeeded but changed the last error to %u",  \
                      #call, (unsigned)e_);                                                \
    } while (0)
/* Expects a VirtualAlloc call to return NULL with last error err. */
#define VW_EXPECT_ALLOC_FAIL(call, err)                                                    \
    do {                                                                                   \
        SetLastError(VW_SENTINEL_ERR);                                                     \
        void *r_ = (call);                                                                 \
        DWORD e_ = GetLastError();                                                         \
        ck_assert_msg(r_ == NULL, "%s returned %p, expected error %u", #call, r_,          \
                      (unsigned)(err));                                                    \
        ck_assert_msg(e_ == (DWORD)(err), "%s: last error %u, expected %u", #call,         \
                      (unsigned)e_, (unsigned)(err));                                      \
    } while (0)
/* Expects a VirtualAlloc call to return want and leave the last error (1234) untouched. */
#define VW_EXPECT_ALLOC_AT(call, want)                                                     \
    do {                                                                                   \
        SetLastError(VW_KEEP_ERR);                                                         \
        void *r_ = (call);                                                                 \
        DWORD e_ = GetLastError();                                                         \
        ck_assert_msg(r_ == (void *)(want), "%s returned %p (error %u), expected %p",      \
                      #call, r_, (unsigned)e_, (void *)(want));                            \
        ck_assert_msg(e_ == VW_KEEP_ERR, "%s succeeded but changed the last error to %u",  \
                      #call, (unsigned)e_);                                                \
    } while (0)

/* Checks every field of VirtualQuery(addr) (RegionSize unless VW_ANY_SIZE). */
#define VW_CHECK_MBI(addr, base, abase, aprot, size, state, prot, type)                    \
    vw_check_mbi(__LINE__, (const void *)(addr), (uintptr_t)(base), (uintptr_t)(abase),     \
                 (DWORD)(aprot), (SIZE_T)(size), (DWORD)(state), (DWORD)(prot), (DWORD)(type))
void vw_check_mbi(int line, const void *addr, uintptr_t base, uintptr_t abase, DWORD aprot,
                  SIZE_T size, DWORD state, DWORD prot, DWORD type);
/* VW_CHECK_MBI for a region of one of the library's allocations (Type MEM_PRIVATE). */
#define VW_EXPECT_ALLOC_REGION(addr, base, size, state, prot, abase, aprot)                \
    VW_CHECK_MBI(addr, base, abase, aprot, size, state, prot, MEM_PRIVATE)
/* The region based at `at`: AllocationBase, RegionSize, State, Protect, Type (or VW_ANY_TYPE). */
#define VW_ASSERT_REGION(at, base, size, state, protect, type)                             \
    vw_assert_region(__LINE__, (const void *)(at), (const void *)(base), (size_t)(size),    \
                     (DWORD)(state), (DWORD)(protect), (DWORD)(type))
void vw_assert_region(int line, const void *at, const void *base, size_t size, DWORD state,
                      DWORD protect, DWORD type);
/* Free memory at addr: MEM_FREE, no allocation, page-rounded base, RegionSize >= minsize. */
#define VW_CHECK_FREE(addr, minsize)                                                       \
    vw_check_free_mbi(__LINE__, (const void *)(addr), (SIZE_T)(minsize))
void vw_check_free_mbi(int line, const void *addr, SIZE_T minsize);
/* Reading and writing one byte at p both fault. */
#define VW_CHECK_NO_ACCESS(p) vw_check_no_access(__LINE__, (void *)(p))
void vw_check_no_access(int line, void *p);
/* [start, start+len) is still inside one read-write kernel mapping (a foreign mmap). */
#define VW_CHECK_KERNEL_RW(start, len) vw_check_kernel_rw(__LINE__, (start), (len))
void vw_check_kernel_rw(int line, uintptr_t start, size_t len);

/* ---- contents ---------------------------------------------------------------------------- */

/* Byte i of the contents pattern for seed (never zero). */
unsigned char vw_pattern_byte(size_t i, unsigned seed);
/* Writes the pattern for seed to [p, p+n). */
void vw_fill_pattern(void *p, size_t n, unsigned seed);
/* 1 if [p, p+n) holds the pattern for seed. */
int vw_has_pattern(const void *p, size_t n, unsigned seed);
/* 1 if bytes [off, off+n) of a buffer filled from base with seed still hold the pattern. */
int vw_has_pattern_at(const void *base, size_t off, size_t n, unsigned seed);
/* 1 if every byte of [p, p+n) is zero. */
int vw_is_zero(const void *p, size_t n);
/* An unlinked temporary file of `pages` pages, page i filled with first + i * step; its fd. */
int vw_scratch_file(size_t pages, char first, int step);

/* ---- /proc fields and capabilities -------------------------------------------------------- */

/* The number after "key:" in a /proc file, -1 if absent (no Check, stdio or malloc). */
long long vw_proc_number(const char *path, const char *key);
/* A /proc/self/status field in kB (VmLck, RssAnon, VmSize); fails the test if absent. */
long long vw_status_kb(const char *key);
/* A /proc/meminfo field (kB, or a count); fails the test if absent. */
long long vw_meminfo(const char *key);
/* VmFlags (after the label) of the smaps entry covering addr into out; 0 and "" if unmapped. */
int vw_vmflags(uintptr_t addr, char *out, size_t outsz);
/* 1 if the VmFlags string flags holds the two-letter flag ("lo", "ac", "ht", ...). */
int vw_has_vmflag(const char *flags, const char *flag);
/* Kernel lock state of [p, p+size): 1 all VM_LOCKED, 0 none, -1 mixed or partly unmapped. */
int vw_lock_state(const void *p, size_t size);
/* Drops CAP_IPC_LOCK (root's way past RLIMIT_MEMLOCK); 1 if it is no longer effective. */
int vw_drop_ipc_lock(void);

/* ---- threads and fork children ------------------------------------------------------------ */

/* A second thread parked on a condition variable, with a local variable on its stack. */
struct vw_parked_thread {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, go;
    volatile char *local;   /* a local variable of the parked thread */
};
/* Starts a parked thread and waits until it has published `local`. */
void vw_park_thread(struct vw_parked_thread *pk);
/* Lets the parked thread return and joins it. */
void vw_unpark_thread(struct vw_parked_thread *pk);

/* The helpers below never call Check: threads and fork children use them. */

/* CLOCK_MONOTONIC in milliseconds. */
long long vw_monotonic_ms(void);
/* CLOCK_MONOTONIC in nanoseconds. */
long long vw_monotonic_ns(void);
/* Records "line L: (cond) message" in buf unless a failure is recorded already; returns -1. */
int vw_failf(char *buf, size_t len, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Unless cond holds, records the failure in the array err and returns -1. */
#define VW_ECHECK(err, cond, ...)                                                          \
    do {                                                                                   \
        if (!(cond))                                                                       \
            return vw_failf((err), sizeof(err), __LINE__, #cond, __VA_ARGS__);             \
    } while (0)
/* Ends a forked child: exit 0 if r == 0, else write err (or a default) to fd and exit 1. */
void vw_child_exit(int fd, int r, char *err, size_t errlen) __attribute__((noreturn));
/* Waits for a child, collecting its fd output into msg; 0 if killed at timeout_s instead. */
int vw_wait_child(pid_t pid, int fd, int timeout_s, int *status, char *msg, size_t msglen);
/* Reads a whole file into buf (NUL-terminated, open/read only); its length, or -1. */
ssize_t vw_read_file(const char *path, char *buf, size_t cap);
/* One line of /proc/self/maps without its path. */
struct vw_maps_entry {
    uintptr_t start, end;
    char perms[5];
    unsigned long long inode;
    int is_stack;           /* the [stack] mapping */
};
/* Parses /proc/self/maps (read into buf) into out; the count, or -1 (errno) if unreadable. */
int vw_read_maps_entries(struct vw_maps_entry *out, int max, char *buf, size_t cap);

#endif
