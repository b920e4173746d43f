#!/bin/sh
# check_trace.sh: VIRTUALWIN_TRACE (issue item 7).
#
# tests/trace_prog makes a fixed, scripted sequence of API calls (successes and
# failures, with flags that exercise the decoders) and checks each result itself.
# It is not linked to the library; it runs with LD_PRELOAD=libvirtualwin.so:
#   1. VIRTUALWIN_TRACE=<file>: the file holds one line per call, which after
#      masking the thread id and the addresses is exactly tests/trace_expected.txt;
#      nothing goes to stderr;
#   2. VIRTUALWIN_TRACE=1: the same lines on stderr;
#   3. without VIRTUALWIN_TRACE, and with it empty or 0: nothing is written.
# Every line carries the calling thread's id (here the main thread: the pid).
#
# Run by automake's test harness with VW_BUILDDIR set to the build directory's
# absolute path and srcdir set.  Exit 0: pass, 1: fail, 77: skip (only when the
# shared library was not built).

builddir=${VW_BUILDDIR:-$(pwd)}
top_srcdir=${srcdir:-$(dirname "$0")/..}
so="$builddir/src/.libs/libvirtualwin.so"
expected="$top_srcdir/tests/trace_expected.txt"

if [ ! -f "$so" ]; then
    echo "SKIP: $so not found (the shared library was not built; configure --disable-shared?)"
    exit 77
fi
if [ ! -f "$expected" ]; then
    echo "FAIL: $expected not found (srcdir=$top_srcdir)"
    exit 1
fi

prog="$builddir/tests/trace_prog"
if [ -f "$builddir/tests/.libs/trace_prog" ]; then
    prog="$builddir/tests/.libs/trace_prog"
elif [ -f "$builddir/tests/.libs/lt-trace_prog" ]; then
    prog="$builddir/tests/.libs/lt-trace_prog"
fi
if [ ! -x "$prog" ]; then
    echo "FAIL: $prog not built"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vw-trace.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

status=0
fail() {
    echo "FAIL: $*"
    status=1
}

# Masks the thread id and every address (nine or more hex digits: nothing the
# script passes is that large, and user-space addresses here always are).
normalise() {
    sed -E -e 's/^virtualwin\[[0-9]+\] /virtualwin[TID] /' -e 's/0x[0-9a-f]{9,}/ADDR/g' "$1"
}

# Compares a raw trace with the expected lines; $2 names the sink.
compare_trace() {
    normalise "$1" > "$tmp/normalised"
    if ! diff -u "$expected" "$tmp/normalised" > "$tmp/diff"; then
        fail "trace to $2 differs from $expected:"
        cat "$tmp/diff"
    fi
    # One well-formed line per call, all from the one thread of the program.
    if grep -v -E '^virtualwin\[[0-9]+\] [A-Za-z]+\(.*\)' "$1" > "$tmp/bad"; then
        fail "trace to $2 has malformed lines:"
        cat "$tmp/bad"
    fi
    tids=$(sed -n -E 's/^virtualwin\[([0-9]+)\].*/\1/p' "$1" | sort -u)
    if [ "$tids" != "$3" ]; then
        fail "trace to $2: thread ids '$tids', expected the program's pid $3"
    fi
}

# Runs trace_prog in an empty directory with the given environment assignments;
# stdout, stderr and exit status land in $tmp/out, $tmp/err, $rc, its pid in $pid.
run_prog() {
    rm -rf "$tmp/cwd"
    mkdir "$tmp/cwd"
    (cd "$tmp/cwd" && exec env LD_PRELOAD="$so" "$@" "$prog") > "$tmp/out" 2> "$tmp/err" &
    pid=$!
    wait $pid
    rc=$?
}

check_ok() {
    if [ "$rc" -ne 0 ] || ! grep -qx 'trace_prog: OK' "$tmp/out"; then
        fail "$1: trace_prog exit status $rc, output:"
        cat "$tmp/out"
    fi
}

unset VIRTUALWIN_TRACE

# 1. To a file.
trace_file="$tmp/trace.log"
run_prog VIRTUALWIN_TRACE="$trace_file"
check_ok "VIRTUALWIN_TRACE=<file>"
if [ ! -s "$trace_file" ]; then
    fail "VIRTUALWIN_TRACE=$trace_file: no trace written"
else
    compare_trace "$trace_file" "the file" "$pid"
fi
if [ -s "$tmp/err" ]; then
    fail "VIRTUALWIN_TRACE=<file>: something was written to stderr:"
    cat "$tmp/err"
fi

# 2. To stderr.
run_prog VIRTUALWIN_TRACE=1
check_ok "VIRTUALWIN_TRACE=1"
compare_trace "$tmp/err" "stderr" "$pid"

# 3. Off: nothing on stderr, no file anywhere.
for setting in unset empty zero; do
    case $setting in
        unset) run_prog ;;
        empty) run_prog VIRTUALWIN_TRACE= ;;
        zero) run_prog VIRTUALWIN_TRACE=0 ;;
    esac
    check_ok "VIRTUALWIN_TRACE $setting"
    if [ -s "$tmp/err" ]; then
        fail "VIRTUALWIN_TRACE $setting: something was written to stderr:"
        cat "$tmp/err"
    fi
    if [ -n "$(ls -A "$tmp/cwd")" ]; then
        fail "VIRTUALWIN_TRACE $setting: files appeared in the working directory:"
        ls -A "$tmp/cwd"
    fi
done

if [ $status -eq 0 ]; then
    echo "PASS: trace output"
fi
exit $status
