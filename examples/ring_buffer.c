/*
 * ring_buffer.c: Microsoft's "magic" ring buffer with VirtualAlloc2 and
 * MapViewOfFile3.
 *
 * A placeholder of twice the buffer's size is split in two, and the same
 * pagefile-backed section is mapped into both halves, so the byte after the
 * buffer's end is its first byte again: a message written across the end
 * reads back contiguously, with no wrap-around code.  The pattern of the
 * VirtualAlloc2 documentation's sample, written the same way.
 *
 * Build on Linux:   cc ring_buffer.c $(pkg-config --cflags --libs virtualwin-compat)
 *
 * Exit status: 0 when every check passes, 1 (with a message) otherwise.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

static int fail(const char *what)
{
    printf("FAILED: %s (last error %lu)\n", what, (unsigned long)GetLastError());
    return 1;
}

static void show(const char *label, const void *p)
{
    MEMORY_BASIC_INFORMATION m;
    VirtualQuery(p, &m, sizeof m);
    printf("  %-23s %p: %s, %s, %lu KiB\n", label, m.BaseAddress,
           m.State == MEM_COMMIT ? "MEM_COMMIT" : m.State == MEM_RESERVE ? "MEM_RESERVE" : "?",
           m.Type == MEM_MAPPED ? "MEM_MAPPED" : m.Type == MEM_PRIVATE ? "MEM_PRIVATE" : "?",
           (unsigned long)(m.RegionSize / 1024));
}

int main(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    SIZE_T size = 4 * si.dwAllocationGranularity;   /* 256 KiB */

    HANDLE section = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                        (DWORD)size, NULL);
    if (!section)
        return fail("CreateFileMappingA");
    char *placeholder1 = VirtualAlloc2(NULL, NULL, 2 * size,
                                       MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS,
                                       NULL, 0);
    if (!placeholder1)
        return fail("VirtualAlloc2(MEM_RESERVE_PLACEHOLDER)");
    /* Split the placeholder in two. */
    if (!VirtualFree(placeholder1, size, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER))
        return fail("VirtualFree(MEM_PRESERVE_PLACEHOLDER)");
    char *placeholder2 = placeholder1 + size;
    printf("ring: a placeholder of %lu KiB split in two:\n", (unsigned long)(2 * size / 1024));
    show("first half", placeholder1);
    show("second half", placeholder2);

    /* The same section into both halves. */
    char *view1 = MapViewOfFile3(section, NULL, placeholder1, 0, size, MEM_REPLACE_PLACEHOLDER,
                                 PAGE_READWRITE, NULL, 0);
    if (!view1)
        return fail("MapViewOfFile3 (first half)");
    char *view2 = MapViewOfFile3(section, NULL, placeholder2, 0, size, MEM_REPLACE_PLACEHOLDER,
                                 PAGE_READWRITE, NULL, 0);
    if (!view2)
        return fail("MapViewOfFile3 (second half)");
    CloseHandle(section);   /* the views keep it */
    printf("ring: the section mapped into both halves:\n");
    show("view of the first half", view1);
    show("view of the second half", view2);

    /* A message across the seam, written and read as one contiguous string. */
    static const char message[] = "this message crosses the end of the ring buffer";
    char *at = view1 + size - 20;
    memcpy(at, message, sizeof message);
    printf("ring: wrote \"%s\" at offset %lu\n", message, (unsigned long)(size - 20));
    printf("ring: read back contiguously: \"%s\"\n", at);
    printf("ring: the wrapped part at offset 0: \"%s\"\n", view1);
    if (strcmp(at, message) != 0 || strcmp(view1, message + 20) != 0)
        return fail("the message across the seam");

    UnmapViewOfFile(view1);
    UnmapViewOfFile(view2);
    printf("ring: OK\n");
    return 0;
}
