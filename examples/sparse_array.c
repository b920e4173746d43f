/*
 * sparse_array.c: a sparse array of 64-byte records in a 1 GiB reservation.
 *
 * An ordinary Windows program: it reserves 1 GiB of address space up front and
 * commits a page only when a record on it is first written, so the array can
 * be indexed anywhere in 16 million slots while using memory only for the
 * pages it touches.  It writes a few thousand records at scattered indices,
 * reads them back, decommits a range, then walks the reservation with
 * VirtualQuery and prints what it finds.
 *
 * Build on Linux:   cc sparse_array.c $(pkg-config --cflags --libs virtualwin-compat)
 * Build on Windows: cl sparse_array.c
 *
 * Exit status: 0 when every check passes, 1 (with a message) otherwise.
 */
#include <windows.h>
#include <stdio.h>

#define RESERVE_BYTES ((SIZE_T)1 << 30) /* 1 GiB of address space */
#define MIN_PAGE_SIZE 4096u             /* the bitmap is sized for the smallest page */
#define CLUSTERS 8                      /* groups of records spread over the range */
#define RECORDS_PER_CLUSTER 500         /* 4000 records in all */

/* One record: 64 bytes. */
typedef struct RECORD {
    ULONGLONG index;    /* the slot it was written to */
    ULONGLONG checksum; /* index mixed with a constant */
    char text[48];      /* a short label */
} RECORD;

/* Compile-time check that a record is 64 bytes. */
typedef char record_is_64_bytes[sizeof(RECORD) == 64 ? 1 : -1];

#define CAPACITY (RESERVE_BYTES / sizeof(RECORD)) /* 16,777,216 slots */

static RECORD *g_array;   /* base of the reservation */
static SIZE_T g_pageSize; /* from GetSystemInfo */
static unsigned char g_committed[RESERVE_BYTES / MIN_PAGE_SIZE / 8]; /* one bit per page */
static SIZE_T g_pagesCommitted;

static int fail(const char *what)
{
    printf("sparse_array: FAILED: %s (GetLastError() = %lu)\n", what,
           (unsigned long)GetLastError());
    return 1;
}

static int page_is_committed(SIZE_T page)
{
    return (g_committed[page / 8] >> (page % 8)) & 1;
}

static void mark_page(SIZE_T page, int committed)
{
    if (committed)
        g_committed[page / 8] |= (unsigned char)(1u << (page % 8));
    else
        g_committed[page / 8] &= (unsigned char)~(1u << (page % 8));
}

/* Return a pointer to slot `index`, committing its page on the first write. */
static RECORD *slot_for_write(SIZE_T index)
{
    BYTE *addr = (BYTE *)&g_array[index];
    SIZE_T page = (SIZE_T)(addr - (BYTE *)g_array) / g_pageSize;

    if (!page_is_committed(page)) {
        BYTE *pageAddr = (BYTE *)g_array + page * g_pageSize;
        if (VirtualAlloc(pageAddr, g_pageSize, MEM_COMMIT, PAGE_READWRITE) != pageAddr)
            return NULL;
        mark_page(page, 1);
        g_pagesCommitted++;
    }
    return (RECORD *)addr;
}

/* The i-th index written: CLUSTERS groups spread over the whole array; inside a
 * group, indices advance by a pseudo-random step of 1 to 64 slots, so records
 * are scattered but each group stays a compact run of committed pages. */
static SIZE_T index_of(unsigned i)
{
    static const SIZE_T clusterStart[CLUSTERS] = {
        0, 1000003, 3000017, 5100007, 7777777, 10000019, 13131313, 16000057
    };
    unsigned cluster = i / RECORDS_PER_CLUSTER;
    unsigned k = i % RECORDS_PER_CLUSTER;
    SIZE_T index = clusterStart[cluster];
    unsigned seed = 12345u + cluster;
    unsigned j;

    for (j = 0; j <= k; j++) {
        seed = seed * 1103515245u + 12345u;
        index += 1 + ((seed >> 16) % 64);
    }
    return index;
}

static ULONGLONG checksum_of(ULONGLONG index)
{
    return (index * 0x9E3779B97F4A7C15ull) ^ 0x5A5A5A5A5A5A5A5Aull;
}

static void make_text(char *out, SIZE_T size, ULONGLONG index)
{
    snprintf(out, size, "record #%llu", (unsigned long long)index);
}

static int same_text(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* A size for people, in bytes, KiB, MiB or GiB: exact in the largest unit
 * that divides it when that takes at most 4 digits (1028 KiB, 64 KiB, 1 GiB),
 * else rounded to two decimals in the largest unit that fits (60.02 MiB). */
static const char *size_text(ULONGLONG bytes, char *buf, SIZE_T size)
{
    static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
    ULONGLONG unit = 1, exact = 1;
    unsigned u = 0, exactU = 0;

    while (u + 1 < sizeof units / sizeof units[0] && bytes >= unit * 1024) {
        unit *= 1024;
        u++;
        if (bytes % unit == 0) {
            exact = unit;
            exactU = u;
        }
    }
    if (bytes / exact <= 9999)
        snprintf(buf, size, "%llu %s", (unsigned long long)(bytes / exact), units[exactU]);
    else
        snprintf(buf, size, "%.2f %s", (double)bytes / (double)unit, units[u]);
    return buf;
}

/* A pointer as %p prints it, for a fixed-width column (printf's width flags
 * with %p behave differently between C libraries). */
static const char *ptr_text(const void *p, char *buf, SIZE_T size)
{
    snprintf(buf, size, "%p", p);
    return buf;
}

static const char *state_name(DWORD state)
{
    switch (state) {
    case MEM_COMMIT: return "COMMIT";
    case MEM_RESERVE: return "RESERVE";
    case MEM_FREE: return "FREE";
    default: return "?";
    }
}

static const char *protect_name(DWORD protect, char *buf, SIZE_T size)
{
    const char *base;

    switch (protect & 0xFF) {
    case 0: return "-"; /* reserved pages report Protect 0 */
    case PAGE_NOACCESS: base = "NOACCESS"; break;
    case PAGE_READONLY: base = "READONLY"; break;
    case PAGE_READWRITE: base = "READWRITE"; break;
    case PAGE_WRITECOPY: base = "WRITECOPY"; break;
    case PAGE_EXECUTE: base = "EXECUTE"; break;
    case PAGE_EXECUTE_READ: base = "EXECUTE_READ"; break;
    case PAGE_EXECUTE_READWRITE: base = "EXECUTE_READWRITE"; break;
    case PAGE_EXECUTE_WRITECOPY: base = "EXECUTE_WRITECOPY"; break;
    default: base = "?"; break;
    }
    snprintf(buf, size, "%s%s%s%s", base, (protect & PAGE_GUARD) ? "+GUARD" : "",
             (protect & PAGE_NOCACHE) ? "+NOCACHE" : "",
             (protect & PAGE_WRITECOMBINE) ? "+WRITECOMBINE" : "");
    return buf;
}

int main(void)
{
    SYSTEM_INFO si;
    MEMORY_BASIC_INFORMATION mbi;
    BYTE *cursor, *end;
    unsigned i, written = 0, verified = 0, lost = 0, rows = 0;
    SIZE_T reservedBytes = 0, committedBytes = 0, firstPage, lastPage, page;
    BYTE *decommitStart, *decommitEnd;
    char protBuf[48], baseBuf[32], allocBuf[32], sizeBuf[32], sizeBuf2[32];

    GetSystemInfo(&si);
    g_pageSize = si.dwPageSize;
    if (g_pageSize < MIN_PAGE_SIZE || (g_pageSize & (g_pageSize - 1)) != 0)
        return fail("unexpected page size");
    printf("sparse_array: page size %s, allocation granularity %s\n",
           size_text(si.dwPageSize, sizeBuf, sizeof sizeBuf),
           size_text(si.dwAllocationGranularity, sizeBuf2, sizeof sizeBuf2));

    /* 1. Reserve 1 GiB: address space only, no memory yet. */
    g_array = (RECORD *)VirtualAlloc(NULL, RESERVE_BYTES, MEM_RESERVE, PAGE_READWRITE);
    if (g_array == NULL)
        return fail("VirtualAlloc(MEM_RESERVE, 1 GiB)");
    printf("sparse_array: reserved %s at %p for %llu records of %llu bytes\n",
           size_text(RESERVE_BYTES, sizeBuf, sizeof sizeBuf), (void *)g_array,
           (unsigned long long)CAPACITY, (unsigned long long)sizeof(RECORD));

    /* 2. Write records at scattered indices, committing pages as they are needed. */
    for (i = 0; i < CLUSTERS * RECORDS_PER_CLUSTER; i++) {
        SIZE_T index = index_of(i);
        RECORD *r;

        if (index >= CAPACITY)
            return fail("index out of range");
        r = slot_for_write(index);
        if (r == NULL)
            return fail("VirtualAlloc(MEM_COMMIT) of a page on first write");
        if (r->index != 0 || r->checksum != 0)
            return fail("a fresh slot did not read as zero");
        r->index = index;
        r->checksum = checksum_of(index);
        make_text(r->text, sizeof r->text, index);
        written++;
    }
    printf("sparse_array: wrote %u records; %llu pages (%s) committed on demand\n",
           written, (unsigned long long)g_pagesCommitted,
           size_text(g_pagesCommitted * g_pageSize, sizeBuf, sizeof sizeBuf));

    /* 3. Read every record back. */
    for (i = 0; i < written; i++) {
        SIZE_T index = index_of(i);
        const RECORD *r = &g_array[index];
        char expect[sizeof r->text];

        make_text(expect, sizeof expect, index);
        if (r->index != index || r->checksum != checksum_of(index) ||
            !same_text(r->text, expect))
            return fail("a record read back wrong");
        verified++;
    }
    printf("sparse_array: read back and verified %u records\n", verified);

    /* 4. Decommit the middle of the fourth cluster: those pages go back to the
     *    system and become reserved again; their records are gone. */
    firstPage = (SIZE_T)((BYTE *)&g_array[index_of(3 * RECORDS_PER_CLUSTER + 100)] -
                         (BYTE *)g_array) / g_pageSize;
    lastPage = (SIZE_T)((BYTE *)&g_array[index_of(3 * RECORDS_PER_CLUSTER + 300)] -
                        (BYTE *)g_array) / g_pageSize;
    decommitStart = (BYTE *)g_array + firstPage * g_pageSize;
    decommitEnd = (BYTE *)g_array + (lastPage + 1) * g_pageSize;
    if (!VirtualFree(decommitStart, (SIZE_T)(decommitEnd - decommitStart), MEM_DECOMMIT))
        return fail("VirtualFree(MEM_DECOMMIT)");
    for (page = firstPage; page <= lastPage; page++) {
        if (page_is_committed(page)) {
            mark_page(page, 0);
            g_pagesCommitted--;
        }
    }
    printf("sparse_array: decommitted %llu pages at %p\n",
           (unsigned long long)(lastPage - firstPage + 1), (void *)decommitStart);

    if (VirtualQuery(decommitStart, &mbi, sizeof mbi) != sizeof mbi)
        return fail("VirtualQuery of the decommitted range");
    if (mbi.State != MEM_RESERVE || mbi.Protect != 0 || mbi.AllocationBase != g_array ||
        (BYTE *)mbi.BaseAddress != decommitStart ||
        mbi.RegionSize < (SIZE_T)(decommitEnd - decommitStart))
        return fail("the decommitted range is not reported as reserved");

    /* The records outside the decommitted range are intact. */
    verified = 0;
    for (i = 0; i < written; i++) {
        SIZE_T index = index_of(i);
        SIZE_T pg = (SIZE_T)((BYTE *)&g_array[index] - (BYTE *)g_array) / g_pageSize;

        if (pg >= firstPage && pg <= lastPage) {
            lost++;
            continue;
        }
        if (g_array[index].index != index || g_array[index].checksum != checksum_of(index))
            return fail("a record outside the decommitted range changed");
        verified++;
    }
    printf("sparse_array: %u records survive, %u were in the decommitted pages\n",
           verified, lost);

    /* 5. Walk the reservation with VirtualQuery. */
    printf("\nVirtualQuery walk of the reservation:\n");
    printf("%-18s  %12s  %-8s  %-18s  %s\n", "Base", "Size", "State", "Protect",
           "AllocationBase");
    printf("%-18s  %12s  %-8s  %-18s  %s\n", "------------------", "------------",
           "--------", "------------------", "------------------");
    cursor = (BYTE *)g_array;
    end = cursor + RESERVE_BYTES;
    while (cursor < end) {
        if (VirtualQuery(cursor, &mbi, sizeof mbi) != sizeof mbi)
            return fail("VirtualQuery during the walk");
        if ((BYTE *)mbi.BaseAddress != cursor || mbi.RegionSize == 0)
            return fail("VirtualQuery returned a region that does not start where asked");
        if (mbi.AllocationBase != g_array || mbi.Type != MEM_PRIVATE ||
            mbi.AllocationProtect != PAGE_READWRITE)
            return fail("a region inside the reservation has the wrong allocation");
        if ((BYTE *)mbi.BaseAddress + mbi.RegionSize > end)
            return fail("a region runs past the end of the reservation");
        if (mbi.State == MEM_COMMIT) {
            if (mbi.Protect != PAGE_READWRITE)
                return fail("committed pages are not READWRITE");
            committedBytes += mbi.RegionSize;
        } else if (mbi.State == MEM_RESERVE) {
            if (mbi.Protect != 0)
                return fail("reserved pages report a protection");
        } else {
            return fail("a region inside the reservation is neither committed nor reserved");
        }
        reservedBytes += mbi.RegionSize;
        printf("%-18s  %12s  %-8s  %-18s  %s\n",
               ptr_text(mbi.BaseAddress, baseBuf, sizeof baseBuf),
               size_text(mbi.RegionSize, sizeBuf, sizeof sizeBuf), state_name(mbi.State),
               protect_name(mbi.Protect, protBuf, sizeof protBuf),
               ptr_text(mbi.AllocationBase, allocBuf, sizeof allocBuf));
        rows++;
        cursor += mbi.RegionSize;
    }

    printf("\nSummary: %u regions\n", rows);
    printf("  reserved  %s\n", size_text(reservedBytes, sizeBuf, sizeof sizeBuf));
    printf("  committed %s (%llu pages)\n", size_text(committedBytes, sizeBuf, sizeof sizeBuf),
           (unsigned long long)(committedBytes / g_pageSize));
    if (reservedBytes != RESERVE_BYTES)
        return fail("the walk did not cover exactly 1 GiB");
    if (committedBytes != g_pagesCommitted * g_pageSize)
        return fail("VirtualQuery's committed total differs from the pages committed");

    /* 6. Release the whole reservation (size 0 with MEM_RELEASE). */
    if (!VirtualFree(g_array, 0, MEM_RELEASE))
        return fail("VirtualFree(MEM_RELEASE)");
    if (VirtualQuery(g_array, &mbi, sizeof mbi) != sizeof mbi)
        return fail("VirtualQuery after release");
    if (mbi.State != MEM_FREE)
        return fail("released memory is not reported as free");

    printf("\nsparse_array: released; all checks passed\n");
    return 0;
}
