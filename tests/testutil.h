/*
 * testutil.h: helpers shared by the Check suites.
 *
 * - fault probes: whether a read, write or execute of one byte faults, using a
 *   SIGSEGV/SIGBUS handler and sigsetjmp; the previous handlers are restored;
 * - the kernel's view: the /proc/self/maps line covering an address;
 * - agreement checks: every page VirtualQuery reports must agree with
 *   /proc/self/maps (committed pages have the matching PROT_*, reserved and
 *   guard pages are PROT_NONE, free pages are unmapped or the library's own
 *   PROT_NONE placement arena).
 */
#ifndef VW_TESTUTIL_H
#define VW_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <virtualwin.h>

#define VW_64K ((size_t)0x10000)
#define VW_PAGE ((size_t)vw_page_size())
#define VW_MAX_APP_ADDR ((uintptr_t)0x7FFFFFFEFFFFull)

size_t vw_page_size(void);

/* 1 if one byte at p can be read / written (non-destructively) / executed, 0 if it faults. */
int vw_can_read(const void *p);
int vw_can_write(void *p);

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

#endif
