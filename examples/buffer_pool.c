/*
 * buffer_pool.c: a database-style buffer pool on Address Windowing
 * Extensions, the use AWE was made for: the data lives in page frames, four
 * times as many as the window has pages, and the pool pages through them by
 * remapping frames into the window instead of copying.
 *
 * 64 blocks of one page each live in 64 frames; the window holds 16.  A
 * fixed pseudo-random workload (skewed towards a hot set, with a sequential
 * scan every 500 accesses) reads and updates blocks: a block not in the
 * window replaces the block a clock hand picks (MapUserPhysicalPages of one
 * frame over the victim's page: the victim's frame is unmapped by the same
 * call and keeps its data), and a scan maps 16 consecutive blocks at once
 * with MapUserPhysicalPagesScatter.  Every access checks the block's header;
 * at the end every block is mapped once more and the counts it recorded must
 * add up to the accesses made.  The output is the same on every run.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#define SLOTS 16
#define BLOCKS (4 * SLOTS)
#define ACCESSES 20000

struct block {
    unsigned id;
    unsigned checks;       /* id * 2654435761u: a torn or misplaced block shows */
    unsigned long reads, writes;
};

static char *window;
static DWORD page;
static ULONG_PTR frame[BLOCKS];
static int slot_block[SLOTS], block_slot[BLOCKS];
static int referenced[SLOTS], hand;
static unsigned long hits, misses, scans;

static struct block *slot_data(int s)
{
    return (struct block *)(window + (size_t)s * page);
}

static int fail(const char *what)
{
    printf("buffer_pool: %s failed (error %u)\n", what, (unsigned)GetLastError());
    return 1;
}

/* The slot holding block b, mapping it in over the clock's victim if needed. */
static int fetch(int b)
{
    int s = block_slot[b];
    if (s >= 0) {
        hits++;
        referenced[s] = 1;
        return s;
    }
    misses++;
    for (;;) {
        s = hand;
        hand = (hand + 1) % SLOTS;
        if (!referenced[s])
            break;
        referenced[s] = 0;
    }
    if (!MapUserPhysicalPages(slot_data(s), 1, &frame[b]))
        return -1;
    if (slot_block[s] >= 0)
        block_slot[slot_block[s]] = -1;
    slot_block[s] = b;
    block_slot[b] = s;
    referenced[s] = 1;
    return s;
}

/* A sequential scan: blocks first..first+SLOTS-1 in every slot, one call. */
static int scan(int first)
{
    PVOID at[SLOTS];
    ULONG_PTR fr[SLOTS];
    for (int s = 0; s < SLOTS; s++) {
        at[s] = slot_data(s);
        fr[s] = 0;   /* unmap first: a block may move to another slot */
    }
    if (!MapUserPhysicalPagesScatter(at, SLOTS, fr))
        return 0;
    for (int s = 0; s < SLOTS; s++) {
        int b = (first + s) % BLOCKS;
        fr[s] = frame[b];
        if (slot_block[s] >= 0)
            block_slot[slot_block[s]] = -1;
    }
    if (!MapUserPhysicalPagesScatter(at, SLOTS, fr))
        return 0;
    for (int s = 0; s < SLOTS; s++) {
        int b = (first + s) % BLOCKS;
        slot_block[s] = b;
        block_slot[b] = s;
        referenced[s] = 0;
    }
    scans++;
    return 1;
}

int main(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    page = si.dwPageSize;
    /* Room in the lock quota for the frames (SetProcessWorkingSetSize raises
     * the soft RLIMIT_MEMLOCK here). */
    SetProcessWorkingSetSize(GetCurrentProcess(), 2 * BLOCKS * (SIZE_T)page, 4 * BLOCKS * (SIZE_T)page);
    ULONG_PTR n = BLOCKS;
    if (!AllocateUserPhysicalPages(GetCurrentProcess(), &n, frame))
        return fail("AllocateUserPhysicalPages");
    if (n != BLOCKS) {
        printf("buffer_pool: only %lu frames (ulimit -l too low?)\n", (unsigned long)n);
        return 1;
    }
    window = (char *)VirtualAlloc(NULL, SLOTS * (SIZE_T)page, MEM_RESERVE | MEM_PHYSICAL,
                                  PAGE_READWRITE);
    if (!window)
        return fail("VirtualAlloc(MEM_PHYSICAL)");
    printf("buffer_pool: %d blocks in %d frames, a window of %d pages\n", BLOCKS, BLOCKS, SLOTS);

    /* Format every block through the window, SLOTS at a time. */
    for (int s = 0; s < SLOTS; s++)
        slot_block[s] = -1;
    for (int b = 0; b < BLOCKS; b++)
        block_slot[b] = -1;
    for (int first = 0; first < BLOCKS; first += SLOTS) {
        if (!MapUserPhysicalPages(window, SLOTS, &frame[first]))
            return fail("MapUserPhysicalPages (format)");
        for (int s = 0; s < SLOTS; s++) {
            struct block *d = slot_data(s);
            d->id = (unsigned)(first + s);
            d->checks = d->id * 2654435761u;
            d->reads = d->writes = 0;
        }
    }
    if (!MapUserPhysicalPages(window, SLOTS, NULL))
        return fail("MapUserPhysicalPages (unmap)");

    unsigned rng = 12345;
    unsigned long reads = 0, writes = 0;
    for (int i = 0; i < ACCESSES; i++) {
        if (i % 500 == 499 && !scan((i / 500) * 7 % BLOCKS))
            return fail("MapUserPhysicalPagesScatter (scan)");
        rng = rng * 1103515245u + 12345u;
        unsigned r = rng >> 8;
        int b = (r % 10 < 8) ? (int)(r / 10 % 12) : (int)(r / 10 % BLOCKS);   /* a hot set of 12 */
        int s = fetch(b);
        if (s < 0)
            return fail("MapUserPhysicalPages (fetch)");
        struct block *d = slot_data(s);
        if (d->id != (unsigned)b || d->checks != d->id * 2654435761u) {
            printf("buffer_pool: block %d holds block %u's data\n", b, d->id);
            return 1;
        }
        if (r & 1) {
            d->writes++;
            writes++;
        } else {
            d->reads++;
            reads++;
        }
    }

    unsigned long work_hits = hits, work_misses = misses;
    /* Every block once more: the counts must add up. */
    unsigned long sum_r = 0, sum_w = 0;
    for (int b = 0; b < BLOCKS; b++) {
        int s = fetch(b);
        if (s < 0)
            return fail("MapUserPhysicalPages (verify)");
        sum_r += slot_data(s)->reads;
        sum_w += slot_data(s)->writes;
    }
    printf("buffer_pool: %d accesses: %lu hits, %lu misses (frames remapped), %lu scans\n",
           ACCESSES, work_hits, work_misses, scans);
    printf("buffer_pool: blocks record %lu reads and %lu updates; %lu and %lu were made\n", sum_r,
           sum_w, reads, writes);
    MEMORY_BASIC_INFORMATION m;
    VirtualQuery(window, &m, sizeof m);
    printf("buffer_pool: the window: %lu KiB %s, protection 0x%02x\n",
           (unsigned long)(m.RegionSize / 1024), m.State == MEM_COMMIT ? "committed" : "reserved",
           (unsigned)m.Protect);
    if (sum_r != reads || sum_w != writes)
        return 1;
    n = BLOCKS;
    if (!FreeUserPhysicalPages(GetCurrentProcess(), &n, frame) || n != BLOCKS)
        return fail("FreeUserPhysicalPages");
    if (!VirtualFree(window, 0, MEM_RELEASE))
        return fail("VirtualFree");
    printf("buffer_pool: all blocks intact; frames freed, window released\n");
    return 0;
}
