/*
 * gc_writewatch.c: an incremental mark-and-sweep collector over a
 * MEM_WRITE_WATCH heap, as the .NET and Boehm collectors use write watches.
 *
 * An ordinary Windows program: the heap is one MEM_WRITE_WATCH allocation of
 * 32-byte cells, each with two pointers.  The collector marks everything
 * reachable from its roots once (a full mark, which costs a walk of the live
 * graph), then lets the "mutator" run: it stores new pointers into some cells,
 * making unreachable cells reachable again.  The next collection does not
 * mark from scratch: GetWriteWatch(WRITE_WATCH_FLAG_RESET) names the pages
 * the mutator wrote, and only the marked cells on those pages are scanned
 * again, since only they can hold new edges to unmarked cells.  The program
 * checks the incremental result against a full mark (nothing live may be
 * swept), sweeps, and prints how little it had to rescan.  Mark bits live
 * outside the heap, so the collector's own work dirties no heap page.
 *
 * Build on Linux:   cc gc_writewatch.c $(pkg-config --cflags --libs virtualwin-compat)
 * Build on Windows: cl gc_writewatch.c
 *
 * Exit status: 0 when every check passes, 1 (with a message) otherwise.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

#define HEAP_BYTES ((SIZE_T)16 << 20)        /* 16 MiB of cells */
#define CELLS (HEAP_BYTES / sizeof(CELL))     /* 524,288 */
#define ROOTS 64
#define MUTATIONS 300

typedef struct CELL {
    struct CELL *left, *right;
    ULONGLONG value;
    ULONGLONG spare;
} CELL;

static CELL *g_heap;
static CELL *g_roots[ROOTS];
static unsigned char g_mark[CELLS];          /* outside the heap */
static unsigned char g_full[CELLS];
static CELL *g_stack[CELLS];
static ULONGLONG g_seed = 12345;

static ULONG next_random(void)
{
    g_seed = g_seed * 6364136223846793005ull + 1442695040888963407ull;
    return (ULONG)(g_seed >> 33);
}

static SIZE_T index_of(const CELL *c)
{
    return (SIZE_T)(c - g_heap);
}

/* Marks everything reachable from the stack's cells into mark[]; returns how
 * many cells it newly marked. */
static SIZE_T mark_from(SIZE_T top, unsigned char *mark)
{
    SIZE_T marked = 0;
    while (top) {
        CELL *c = g_stack[--top];
        CELL *kids[2] = { c->left, c->right };
        for (int k = 0; k < 2; k++)
            if (kids[k] && !mark[index_of(kids[k])]) {
                mark[index_of(kids[k])] = 1;
                marked++;
                g_stack[top++] = kids[k];
            }
    }
    return marked;
}

static SIZE_T full_mark(unsigned char *mark)
{
    SIZE_T top = 0, marked = 0;
    memset(mark, 0, CELLS);
    for (int r = 0; r < ROOTS; r++)
        if (!mark[index_of(g_roots[r])]) {
            mark[index_of(g_roots[r])] = 1;
            marked++;
            g_stack[top++] = g_roots[r];
        }
    return marked + mark_from(top, mark);
}

static int fail(const char *what)
{
    printf("FAILED: %s (error %lu)\n", what, (unsigned long)GetLastError());
    return 1;
}

int main(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    g_heap = VirtualAlloc(NULL, HEAP_BYTES, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                          PAGE_READWRITE);
    if (!g_heap)
        return fail("VirtualAlloc(MEM_WRITE_WATCH)");
    SIZE_T cellsPerPage = si.dwPageSize / sizeof(CELL);
    SIZE_T pages = HEAP_BYTES / si.dwPageSize;

    /* A random graph: every cell points at two cells not far after it, so only
     * part of the heap hangs off the roots. */
    for (SIZE_T i = 0; i < CELLS; i++) {
        g_heap[i].value = i;
        g_heap[i].left = i % 3 ? &g_heap[(i + 1 + next_random() % 64) % CELLS] : NULL;
        g_heap[i].right = i % 5 == 0 ? &g_heap[(i + 1 + next_random() % 4096) % CELLS] : NULL;
    }
    for (int r = 0; r < ROOTS; r++)
        g_roots[r] = &g_heap[next_random() % CELLS];

    /* Collection 1: a full mark; from now on the heap's pages count writes. */
    if (ResetWriteWatch(g_heap, HEAP_BYTES) != 0)
        return fail("ResetWriteWatch");
    SIZE_T live1 = full_mark(g_mark);
    printf("collection 1: full mark, %lu of %lu cells live\n", (unsigned long)live1,
           (unsigned long)CELLS);

    /* The mutator: new edges from live cells to (mostly dead) cells. */
    for (int m = 0; m < MUTATIONS; m++) {
        SIZE_T from;
        do
            from = next_random() % CELLS;
        while (!g_mark[from]);
        g_heap[from].right = &g_heap[next_random() % CELLS];
    }

    /* Collection 2: rescan only the marked cells of the pages written. */
    static PVOID written[HEAP_BYTES / 4096];
    ULONG_PTR count = pages;
    DWORD granularity;
    if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, g_heap, HEAP_BYTES, written, &count,
                      &granularity) != 0)
        return fail("GetWriteWatch");
    SIZE_T top = 0, rescanned = 0;
    for (ULONG_PTR p = 0; p < count; p++) {
        CELL *first = (CELL *)written[p];
        for (SIZE_T k = 0; k < cellsPerPage; k++)
            if (g_mark[index_of(first + k)]) {
                g_stack[top++] = first + k;
                rescanned++;
            }
    }
    SIZE_T added = mark_from(top, g_mark);
    printf("collection 2: %lu of %lu pages written; the %lu marked cells on them rescanned; "
           "%lu cells newly reachable\n", (unsigned long)count, (unsigned long)pages,
           (unsigned long)rescanned, (unsigned long)added);

    /* Safety: everything a full mark finds live is marked. */
    SIZE_T live2 = full_mark(g_full), missed = 0, floating = 0;
    for (SIZE_T i = 0; i < CELLS; i++) {
        missed += g_full[i] && !g_mark[i];
        floating += g_mark[i] && !g_full[i];
    }
    printf("check: a full mark finds %lu live; the incremental mark missed %lu, kept %lu "
           "dead (floating garbage)\n", (unsigned long)live2, (unsigned long)missed,
           (unsigned long)floating);
    if (missed)
        return fail("the incremental mark missed live cells");

    /* Sweep: unmarked cells are cleared (their pages become written). */
    SIZE_T freed = 0;
    for (SIZE_T i = 0; i < CELLS; i++)
        if (!g_mark[i]) {
            g_heap[i].left = g_heap[i].right = NULL;
            freed++;
        }
    count = pages;
    if (GetWriteWatch(0, g_heap, HEAP_BYTES, written, &count, &granularity) != 0)
        return fail("GetWriteWatch after the sweep");
    printf("sweep: %lu cells freed; %lu pages written by the sweep\n", (unsigned long)freed,
           (unsigned long)count);
    if (!VirtualFree(g_heap, 0, MEM_RELEASE))
        return fail("VirtualFree");
    printf("OK\n");
    return 0;
}
