/*
 * shared_section.c: two processes share memory through a named section.
 *
 * The parent creates a pagefile-backed section named "Local\vw-demo-<pid>",
 * maps a view, writes a message into it and starts a second process (this
 * program again, through exec: an unrelated process, not a fork child).  The
 * child opens the section by name with OpenFileMappingA, maps its own view,
 * reads the message and writes a reply, which the parent reads back through
 * its view.  Then the parent checks what Windows promises about names: once
 * the last handle is closed, the name is gone, while the view stays usable.
 *
 * Build on Linux:   cc shared_section.c $(pkg-config --cflags --libs virtualwin-compat)
 *
 * Exit status: 0 when every check passes, 1 (with a message) otherwise.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 65536

static int fail(const char *what)
{
    printf("FAILED: %s (last error %lu)\n", what, (unsigned long)GetLastError());
    return 1;
}

static int child(const char *name)
{
    HANDLE h = OpenFileMappingA(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);
    if (!h)
        return fail("child: OpenFileMappingA");
    char *view = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    if (!view)
        return fail("child: MapViewOfFile");
    printf("child:  read \"%s\" through its own view\n", view);
    strcpy(view + 1024, "hello back from the second process");
    UnmapViewOfFile(view);
    CloseHandle(h);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child(argv[2]);

    char name[64];
    snprintf(name, sizeof name, "Local\\vw-demo-%d", (int)getpid());
    HANDLE h = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SIZE, name);
    if (!h)
        return fail("CreateFileMappingA");
    printf("parent: created a %d-byte named section (last error %lu: a new name)\n", SIZE,
           (unsigned long)GetLastError());
    char *view = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0);
    if (!view)
        return fail("MapViewOfFile");
    MEMORY_BASIC_INFORMATION mbi;
    VirtualQuery(view, &mbi, sizeof mbi);
    printf("parent: view at %p: Type %s, %lu bytes, Protect %#lx\n", (void *)view,
           mbi.Type == MEM_MAPPED ? "MEM_MAPPED" : "?", (unsigned long)mbi.RegionSize,
           (unsigned long)mbi.Protect);
    strcpy(view, "hello from the first process");

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = { argv[0], (char *)"child", name, NULL };
        execv("/proc/self/exe", args);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return fail("the second process");
    printf("parent: read \"%s\"\n", view + 1024);
    if (strcmp(view + 1024, "hello back from the second process") != 0)
        return fail("the reply");

    /* Creating the name again opens the same section. */
    HANDLE again = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SIZE, name);
    if (!again || GetLastError() != ERROR_ALREADY_EXISTS)
        return fail("CreateFileMappingA of an existing name");
    printf("parent: creating the name again gives ERROR_ALREADY_EXISTS\n");
    CloseHandle(again);

    /* The last handle takes the name with it; the view stays. */
    CloseHandle(h);
    if (OpenFileMappingA(FILE_MAP_READ, FALSE, name) || GetLastError() != ERROR_FILE_NOT_FOUND)
        return fail("the name should be gone");
    printf("parent: after the last CloseHandle the name is gone (ERROR_FILE_NOT_FOUND), "
           "the view still reads \"%s\"\n", view);
    if (!UnmapViewOfFile(view))
        return fail("UnmapViewOfFile");
    printf("parent: OK\n");
    return 0;
}
