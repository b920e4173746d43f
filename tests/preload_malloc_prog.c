/*
 * preload_malloc_prog.c: like preload_prog (built with <virtualwin.h>, NOT linked
 * with libvirtualwin, run under LD_PRELOAD), but malloc-heavy: four threads do
 * millions of mallocs and frees of many sizes (small, medium, and large ones that
 * glibc serves with its own mmap) interleaved with API calls, while the main
 * thread uses the API too.  It checks that the library and malloc never step on
 * each other: malloc'd blocks keep their contents, new VirtualAlloc memory is zero,
 * VirtualQuery never calls heap memory free, VirtualFree refuses heap memory.
 * Prints "preload_malloc_prog: OK" and exits 0, or says what failed and exits 1.
 */
#include <virtualwin.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define ITERS 600000L          /* mallocs per thread: 2.4 million in all */
#define LIVE 256
#define API_EVERY 1500

static int failures;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(cond, ...)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            pthread_mutex_lock(&out_lock);                                               \
            fprintf(stderr, "preload_malloc_prog: line %d: %s: ", __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
            failures++;                                                                  \
            pthread_mutex_unlock(&out_lock);                                             \
            return 1;                                                                    \
        }                                                                                \
    } while (0)

static size_t pg;

static size_t pick_size(unsigned *seed)
{
    unsigned r = (unsigned)rand_r(seed);
    switch (r % 100) {
    case 0:
        return 128 * 1024 + (r >> 8) % (2 << 20);      /* glibc mmaps these */
    case 1: case 2: case 3:
        return 4096 + (r >> 8) % 60000;                /* medium */
    default:
        return 1 + (r >> 8) % 512;                     /* small */
    }
}

/* One round of API calls, checking results; h is a live malloc block. */
static int api_round(unsigned *seed, unsigned char *h)
{
    MEMORY_BASIC_INFORMATION m;
    DWORD old;
    size_t size = 65536 * (1 + (size_t)rand_r(seed) % 8);
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE, PAGE_READWRITE);
    CHECK(p != NULL, "reserve %zu: %u", size, (unsigned)GetLastError());
    CHECK(((uintptr_t)p & 0xFFFF) == 0, "base %p", (void *)p);
    CHECK(VirtualAlloc(p, size / 2, MEM_COMMIT, PAGE_READWRITE) == p, "commit: %u",
          (unsigned)GetLastError());
    for (size_t i = 0; i < size / 2; i += pg)
        CHECK(p[i] == 0, "new page at %p not zero (overlaps malloc memory?)", (void *)(p + i));
    memset(p, 0x6B, size / 2);
    CHECK(VirtualProtect(p, pg, PAGE_READONLY, &old) && old == PAGE_READWRITE, "protect: %u",
          (unsigned)GetLastError());
    CHECK(VirtualQuery(p, &m, sizeof m) == sizeof m && m.Protect == PAGE_READONLY &&
              m.RegionSize == pg && m.AllocationBase == p,
          "query: prot %#x size %zu", (unsigned)m.Protect, (size_t)m.RegionSize);
    CHECK(VirtualQuery(p + pg, &m, sizeof m) == sizeof m && m.RegionSize == size / 2 - pg,
          "query 2: size %zu", (size_t)m.RegionSize);
    CHECK(VirtualQuery(p + size / 2, &m, sizeof m) == sizeof m && m.State == MEM_RESERVE &&
              m.RegionSize == size / 2,
          "query reserved: state %#x size %zu", (unsigned)m.State, (size_t)m.RegionSize);
    CHECK(VirtualLock(p + pg, pg) && VirtualUnlock(p + pg, pg), "lock/unlock: %u",
          (unsigned)GetLastError());
    /* The heap is the kernel's view, never free, and never freeable by the library. */
    CHECK(VirtualQuery(h, &m, sizeof m) == sizeof m && m.State == MEM_COMMIT &&
              m.AllocationBase != NULL,
          "heap block %p: state %#x abase %p", (void *)h, (unsigned)m.State, m.AllocationBase);
    SetLastError(0);
    CHECK(!VirtualFree(h, 0, MEM_RELEASE) && GetLastError() == ERROR_INVALID_ADDRESS,
          "VirtualFree of heap block %p: error %u", (void *)h, (unsigned)GetLastError());
    CHECK(VirtualFree(p + pg, pg, MEM_DECOMMIT), "decommit: %u", (unsigned)GetLastError());
    CHECK(p[2 * pg] == 0x6B && p[0] == 0x6B, "contents lost");
    CHECK(VirtualFree(p, 0, MEM_RELEASE), "release: %u", (unsigned)GetLastError());
    return 0;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    unsigned seed = 1000u + (unsigned)id;
    unsigned char *live[LIVE] = { 0 };
    size_t sizes[LIVE] = { 0 };
    unsigned char tags[LIVE] = { 0 };
    for (long n = 0; n < ITERS; n++) {
        int slot = rand_r(&seed) % LIVE;
        if (live[slot]) {
            unsigned char *b = live[slot];
            if (b[0] != tags[slot] || b[sizes[slot] - 1] != tags[slot] ||
                b[sizes[slot] / 2] != tags[slot]) {
                pthread_mutex_lock(&out_lock);
                fprintf(stderr, "preload_malloc_prog: thread %d: malloc block %p (%zu bytes) "
                        "corrupted\n", id, (void *)b, sizes[slot]);
                failures++;
                pthread_mutex_unlock(&out_lock);
                return NULL;
            }
            if (n % 7 == 0) {
                /* realloc keeps the contents */
                size_t ns = pick_size(&seed);
                unsigned char *r = realloc(b, ns);
                if (!r)
                    abort();
                size_t os = sizes[slot];
                if (r[0] != tags[slot] || (os / 2 < ns && r[os / 2] != tags[slot]) ||
                    (os <= ns && r[os - 1] != tags[slot])) {
                    pthread_mutex_lock(&out_lock);
                    fprintf(stderr, "preload_malloc_prog: realloc lost contents\n");
                    failures++;
                    pthread_mutex_unlock(&out_lock);
                    free(r);
                    return NULL;
                }
                free(r);
            } else {
                free(b);
            }
            live[slot] = NULL;
        }
        size_t size = pick_size(&seed);
        unsigned char *b = (n % 11 == 0) ? calloc(1, size) : malloc(size);
        if (!b) {
            pthread_mutex_lock(&out_lock);
            fprintf(stderr, "preload_malloc_prog: malloc(%zu) failed\n", size);
            failures++;
            pthread_mutex_unlock(&out_lock);
            return NULL;
        }
        unsigned char tag = (unsigned char)(n * 31 + id);
        b[0] = tag;
        b[size / 2] = tag;
        b[size - 1] = tag;
        live[slot] = b;
        sizes[slot] = size;
        tags[slot] = tag;
        if (n % API_EVERY == 0 && api_round(&seed, b))
            return NULL;
    }
    for (int i = 0; i < LIVE; i++)
        free(live[i]);
    return NULL;
}

int main(void)
{
    pg = (size_t)sysconf(_SC_PAGESIZE);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) != 0) {
            fprintf(stderr, "preload_malloc_prog: pthread_create failed\n");
            return 1;
        }
    /* The main thread: API calls with its own mallocs in between. */
    unsigned seed = 7;
    for (int i = 0; i < 300 && !failures; i++) {
        size_t n = pick_size(&seed);
        unsigned char *h = malloc(n);
        if (!h)
            return 1;
        h[0] = 1;
        if (api_round(&seed, h))
            break;
        free(h);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    if (failures) {
        printf("preload_malloc_prog: FAILED (%d failures)\n", failures);
        return 1;
    }
    printf("preload_malloc_prog: OK\n");
    return 0;
}
