#!/bin/sh
# check_launcher.sh: tools/virtualwin-run (issue item 8), and interposition when
# the library is preloaded (item 5).
#
# virtualwin-run [options] program args... runs a program with libvirtualwin
# preloaded.  VIRTUALWIN_LIBRARY points it at the library in the build tree.
# Checks: an unlinked program (tests/preload_prog) runs and passes; arguments
# and the exit status pass through unchanged; an existing LD_PRELOAD is kept;
# --trace / -t / --trace=FILE trace to stderr or the file; -c / --commit-limit
# set the commit limit (tests/preload_interpose_prog commit-limit sees 2 MiB
# refused and 512 KiB granted, and without the option it does not);
# --procmaps=text; tests/preload_interpose_prog's munmap/mprotect/mremap
# scenarios through libc, preloaded, both kernel-view paths; --help and
# --version exit 0; an unknown option or no program exits 2; a bad
# --procmaps value and an invalid size exit 2 with a message that names the
# value (not "unknown option"); -c 0 means no limit; a missing program exits
# 127 and one that cannot be run 126, each with the launcher's own message; a
# missing library exits 127; --library overrides VIRTUALWIN_LIBRARY.
#
# Run by automake's test harness with VW_BUILDDIR set to the build directory's
# absolute path.  Exit 0: pass, 1: fail, 77: skip (only when the shared library
# was not built).

builddir=${VW_BUILDDIR:-$(pwd)}
so="$builddir/src/.libs/libvirtualwin.so"
run="$builddir/tools/virtualwin-run"

if [ ! -f "$so" ]; then
    echo "SKIP: $so not found (the shared library was not built; configure --disable-shared?)"
    exit 77
fi
if [ ! -x "$run" ]; then
    echo "FAIL: $run not built"
    exit 1
fi

# libtool may leave the real binary in .libs with a wrapper script in front.
find_prog() {
    if [ -f "$builddir/tests/.libs/$1" ]; then
        echo "$builddir/tests/.libs/$1"
    elif [ -f "$builddir/tests/.libs/lt-$1" ]; then
        echo "$builddir/tests/.libs/lt-$1"
    else
        echo "$builddir/tests/$1"
    fi
}
preload_prog=$(find_prog preload_prog)
interpose_prog=$(find_prog preload_interpose_prog)
for p in "$preload_prog" "$interpose_prog"; do
    if [ ! -x "$p" ]; then
        echo "FAIL: $p not built"
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vw-launcher.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

status=0
fail() {
    echo "FAIL: $*"
    status=1
}

VIRTUALWIN_LIBRARY=$so
export VIRTUALWIN_LIBRARY
unset VIRTUALWIN_TRACE VIRTUALWIN_COMMIT_LIMIT VIRTUALWIN_PROCMAPS LD_PRELOAD

# Runs the launcher with the given arguments: $tmp/out, $tmp/err, $rc.
launch() {
    "$run" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
}

# expect_ok WHAT LINE: exit status 0 and LINE on stdout.
expect_ok() {
    if [ "$rc" -ne 0 ] || ! grep -qx "$2" "$tmp/out"; then
        fail "$1: exit status $rc, no \"$2\" line; stdout:"
        cat "$tmp/out"
        echo "stderr:"
        cat "$tmp/err"
    fi
}

expect_status() {
    if [ "$rc" -ne "$2" ]; then
        fail "$1: exit status $rc, expected $2; stderr:"
        cat "$tmp/err"
    fi
}

# ---- running an unlinked program ----------------------------------------------
launch "$preload_prog"
expect_ok "virtualwin-run preload_prog" "preload_prog: OK"
launch -- "$preload_prog"
expect_ok "virtualwin-run -- preload_prog" "preload_prog: OK"

# Arguments pass through unchanged (spaces, empty ones, leading dashes).
launch "$interpose_prog" args "a b" "" "-c" "--trace" "x*y"
printf '%s\n' "a b" "" "-c" "--trace" "x*y" > "$tmp/want"
if [ "$rc" -ne 0 ] || ! cmp -s "$tmp/want" "$tmp/out"; then
    fail "arguments were not passed through unchanged (status $rc):"
    cat "$tmp/out"
fi

# The exit status passes through; LD_PRELOAD names the library (first), and an
# LD_PRELOAD that was already set is kept.
launch sh -c 'exit 42'
expect_status "exit status pass-through" 42
launch sh -c 'printf "%s\n" "$LD_PRELOAD"'
if [ "$(cat "$tmp/out")" != "$so" ]; then
    fail "LD_PRELOAD in the program is '$(cat "$tmp/out")', expected '$so'"
fi
LD_PRELOAD="$so" "$run" sh -c 'printf "%s\n" "$LD_PRELOAD"' > "$tmp/out" 2> "$tmp/err"
if [ "$(cat "$tmp/out")" != "$so:$so" ]; then
    fail "an existing LD_PRELOAD was not kept: '$(cat "$tmp/out")'"
fi

# ---- tracing -------------------------------------------------------------------
for opt in --trace -t; do
    launch "$opt" "$preload_prog"
    expect_ok "virtualwin-run $opt" "preload_prog: OK"
    if ! grep -E -q '^virtualwin\[[0-9]+\] VirtualAlloc\(NULL, 0x100000, MEM_RESERVE, PAGE_READWRITE\) = 0x[0-9a-f]+$' "$tmp/err"; then
        fail "virtualwin-run $opt: no VirtualAlloc trace line on stderr:"
        head -5 "$tmp/err"
    fi
    if grep -v -E '^virtualwin\[[0-9]+\] ' "$tmp/err" | grep -q .; then
        fail "virtualwin-run $opt: stderr has lines that are not trace lines:"
        grep -v -E '^virtualwin\[[0-9]+\] ' "$tmp/err" | head -5
    fi
done
launch "--trace=$tmp/trace.log" "$preload_prog"
expect_ok "virtualwin-run --trace=FILE" "preload_prog: OK"
if ! grep -E -q '^virtualwin\[[0-9]+\] VirtualFree\(' "$tmp/trace.log" 2>/dev/null; then
    fail "virtualwin-run --trace=FILE: no trace lines in the file"
fi
if [ -s "$tmp/err" ]; then
    fail "virtualwin-run --trace=FILE: stderr is not empty:"
    head -5 "$tmp/err"
fi
launch "$preload_prog"
if [ -s "$tmp/err" ]; then
    fail "virtualwin-run without --trace wrote to stderr:"
    head -5 "$tmp/err"
fi

# ---- commit limit ----------------------------------------------------------------
launch -c 1M "$interpose_prog" commit-limit
expect_ok "virtualwin-run -c 1M" "preload_interpose_prog: commit limit OK"
launch --commit-limit=1M "$interpose_prog" commit-limit
expect_ok "virtualwin-run --commit-limit=1M" "preload_interpose_prog: commit limit OK"
launch "$interpose_prog" commit-limit
if [ "$rc" -eq 0 ]; then
    fail "without -c, a 2 MiB commit was refused too (is a limit set in the environment?)"
fi
launch -c
expect_status "virtualwin-run -c (no value)" 2

# ---- interposition, preloaded, both kernel-view paths -------------------------------
launch "$interpose_prog"
expect_ok "virtualwin-run preload_interpose_prog" "preload_interpose_prog: OK"
launch --procmaps=text "$interpose_prog"
expect_ok "virtualwin-run --procmaps=text preload_interpose_prog" "preload_interpose_prog: OK"
launch --procmaps=text sh -c 'printf "%s\n" "$VIRTUALWIN_PROCMAPS"'
if [ "$(cat "$tmp/out")" != "text" ]; then
    fail "--procmaps=text did not set VIRTUALWIN_PROCMAPS=text"
fi

# ---- options ----------------------------------------------------------------------
for opt in --help -h; do
    launch "$opt"
    expect_status "virtualwin-run $opt" 0
    if ! grep -q '^usage: virtualwin-run' "$tmp/out"; then
        fail "virtualwin-run $opt: no usage on stdout"
    fi
done
for opt in --version -V; do
    launch "$opt"
    expect_status "virtualwin-run $opt" 0
    if ! grep -q '^virtualwin-run (libvirtualwin) [0-9]' "$tmp/out"; then
        fail "virtualwin-run $opt: no version line: $(cat "$tmp/out")"
    fi
done
launch --no-such-option "$preload_prog"
expect_status "virtualwin-run --no-such-option" 2
if ! grep -q -- '--no-such-option' "$tmp/err"; then
    fail "virtualwin-run --no-such-option: the option is not named on stderr"
fi
if grep -q 'preload_prog: OK' "$tmp/out"; then
    fail "virtualwin-run --no-such-option ran the program"
fi
launch
expect_status "virtualwin-run (no program)" 2

# expect_error WHAT STATUS PATTERN: exit STATUS, PATTERN on stderr (grep -E),
# not "unknown option", and the program did not run.
expect_error() {
    expect_status "$1" "$2"
    if ! grep -E -q "$3" "$tmp/err"; then
        fail "$1: stderr lacks /$3/:"
        cat "$tmp/err"
    fi
    if grep -q 'unknown option' "$tmp/err"; then
        fail "$1: says \"unknown option\" for an option that exists"
    fi
    if grep -q 'preload_prog: OK' "$tmp/out"; then
        fail "$1: the program ran"
    fi
}
launch --procmaps=bogus "$preload_prog"
expect_error "--procmaps=bogus" 2 "^virtualwin-run: bad value for --procmaps: 'bogus' \(expected ioctl or text\)$"
launch --procmaps "$preload_prog"
expect_error "--procmaps (no value)" 2 "^virtualwin-run: --procmaps needs a value"
for bad in banana 12Q -5 1.5G ""; do
    launch -c "$bad" "$preload_prog"
    expect_error "-c '$bad'" 2 "^virtualwin-run: -c: invalid size '$bad'"
    launch "--commit-limit=$bad" "$preload_prog"
    expect_error "--commit-limit='$bad'" 2 "^virtualwin-run: --commit-limit: invalid size '$bad'"
done
for good in 0 4096 64k 512M 2G 1GB; do
    launch -c "$good" sh -c 'printf "%s\n" "${VIRTUALWIN_COMMIT_LIMIT-unset}"'
    want=$good
    [ "$good" = 0 ] && want=unset
    if [ "$rc" -ne 0 ] || [ "$(cat "$tmp/out")" != "$want" ] || [ -s "$tmp/err" ]; then
        fail "-c $good: status $rc, VIRTUALWIN_COMMIT_LIMIT '$(cat "$tmp/out")' (expected '$want'), stderr: $(cat "$tmp/err")"
    fi
done

# A missing program: 127 and the launcher's message (not the shell's).
launch "$tmp/no-such-program" arg
expect_error "missing program (path)" 127 "^virtualwin-run: $tmp/no-such-program: no such program$"
launch no-such-program-for-virtualwin-run arg
expect_error "missing program (PATH)" 127 "^virtualwin-run: no-such-program-for-virtualwin-run: program not found in PATH$"
printf 'not a program\n' > "$tmp/plain"
launch "$tmp/plain"
expect_error "a file that is not executable" 126 "^virtualwin-run: $tmp/plain: not an executable file$"

# ---- the library ------------------------------------------------------------------
VIRTUALWIN_LIBRARY="$tmp/missing/libvirtualwin.so" "$run" "$preload_prog" > "$tmp/out" 2> "$tmp/err"
rc=$?
expect_status "VIRTUALWIN_LIBRARY=<missing>" 127
if grep -q 'preload_prog: OK' "$tmp/out"; then
    fail "with a missing library the program ran anyway"
fi
launch "--library=$tmp/missing/libvirtualwin.so" "$preload_prog"
expect_status "--library=<missing>" 127
VIRTUALWIN_LIBRARY="$tmp/missing/libvirtualwin.so" "$run" "--library=$so" "$preload_prog" \
    > "$tmp/out" 2> "$tmp/err"
rc=$?
expect_ok "--library=PATH over a missing VIRTUALWIN_LIBRARY" "preload_prog: OK"

if [ $status -eq 0 ]; then
    echo "PASS: virtualwin-run"
fi
exit $status
