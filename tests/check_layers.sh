#!/bin/sh
# check_layers.sh: the layering rule of README "Design" (Layers, as on
# Windows), checked rather than trusted: the edge files (src/win32/, src/nt/)
# validate, probe, round, call down and translate; they never issue a system
# call, never touch memory mappings or kernel files themselves, never call the
# OS layer (src/os/) and never take the map lock.  Comments are stripped
# before the search, so a comment may name what it does not do.
#
# The script first checks itself: a made-up edge file holding each forbidden
# construct must be caught, one by one, so that the rule cannot pass by a
# pattern that matches nothing.
#
# Run by automake's test harness (srcdir set).  Exit 0: pass, 1: fail.

srcdir=${srcdir:-$(dirname "$0")/..}
top=$(cd "$srcdir" && pwd)

# One extended regular expression per forbidden construct.
rules='
\bsyscall[[:space:]]*\(
#include[[:space:]]*[<"](sys/syscall\.h|sys/mman\.h|sys/resource\.h|fcntl\.h|unistd\.h)
#include[[:space:]]*"os/
\b(mmap|mmap64|mprotect|munmap|mremap|madvise|mlock|mlock2|munlock|mlockall|munlockall)[[:space:]]*\(
\b(open|openat|read|pread|pread64|close|ioctl|fopen)[[:space:]]*\(
\b(getrlimit|setrlimit|prlimit|sched_getaffinity|sysinfo|brk|sbrk)[[:space:]]*\(
\bos_[a-z_0-9]+[[:space:]]*\(
\bsysfile_[a-z_]+[[:space:]]*\(
"/proc/
\bmap_(lock|unlock|trylock)[[:space:]]*\(
\bvw_(try)?lock[[:space:]]*\([[:space:]]*&[[:space:]]*vw_state
'

# Prints file:line: text for every line of the C files given that breaks a rule.
scan() {
    for f in "$@"; do
        # Strip /* */ and // comments (string literals are kept: "/proc/" counts).
        awk '
            {
                out = ""; line = $0
                while (line != "") {
                    if (incomment) {
                        i = index(line, "*/")
                        if (i == 0) { line = ""; break }
                        line = substr(line, i + 2); incomment = 0
                    } else {
                        i = index(line, "/*"); j = index(line, "//")
                        if (j && (!i || j < i)) { out = out substr(line, 1, j - 1); line = ""; break }
                        if (i == 0) { out = out line; line = ""; break }
                        out = out substr(line, 1, i - 1); line = substr(line, i + 2); incomment = 1
                    }
                }
                printf "%d:%s\n", NR, out
            }' "$f" > "$tmp/stripped"
        printf '%s\n' "$rules" | while IFS= read -r re; do
            [ -n "$re" ] || continue
            grep -E -- "^[0-9]+:.*$re" "$tmp/stripped" | sed "s|^|$f:|"
        done
    done
}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0

# ---- the check checks itself -------------------------------------------------
cat > "$tmp/bad_cases" <<'CASES'
long n = syscall(SYS_sched_getaffinity, 0, 8, set);
#include <sys/syscall.h>
#include "os/os.h"
void *p = mmap(0, 4096, 3, 0x22, -1, 0);
int fd = open("/x", 0);
getrlimit(RLIMIT_MEMLOCK, &rl);
int e = os_protect(a, n, 1);
unsigned long long t = sysfile_meminfo("MemTotal");
const char *path = "/proc/self/statm";
map_lock();
vw_lock(&vw_state.lock);
CASES
n=0
while IFS= read -r line; do
    n=$((n + 1))
    printf '/* a comment naming map_lock() and syscall( is fine */\nstatic void f(void)\n{\n    %s\n}\n' \
        "$line" > "$tmp/case.c"
    if [ -z "$(scan "$tmp/case.c")" ]; then
        echo "FAIL: self-check: not caught: $line"
        status=1
    fi
done < "$tmp/bad_cases"
printf '/* map_lock(); mmap( */\n// syscall(\nstatic int ok(void) { return vm_probe_read(0) + os_ok; }\n' > "$tmp/clean.c"
if [ -n "$(scan "$tmp/clean.c")" ]; then
    echo "FAIL: self-check: a clean file was flagged:"
    scan "$tmp/clean.c"
    status=1
fi

# ---- the tree ----------------------------------------------------------------
files=$(ls "$top"/src/win32/*.c "$top"/src/win32/*.h "$top"/src/nt/*.c "$top"/src/nt/*.h 2>/dev/null)
[ -n "$files" ] || { echo "FAIL: no edge files under $top/src/win32 or $top/src/nt"; exit 1; }
found=$(scan $files)
if [ -n "$found" ]; then
    echo "FAIL: edge files (src/win32, src/nt) doing what belongs to src/core or src/os:"
    printf '%s\n' "$found"
    status=1
fi

if [ $status -eq 0 ]; then
    echo "PASS: layers ($(printf '%s\n' $files | wc -l) edge files; self-check $n cases)"
fi
exit $status
