#!/bin/sh
# run-demo.sh ABS_BUILDDIR: run the example Windows programs (make demo).
#
# Each example runs twice:
#   1. linked    - built with the compat headers and linked to libvirtualwin
#                  (examples/NAME, a libtool wrapper in the build directory);
#   2. preloaded - the same source built with the compat headers but NOT linked
#                  to the library (examples/NAME_preload, every API symbol left
#                  undefined), run with LD_PRELOAD=.../libvirtualwin.so.
# Exits nonzero if any run fails.

set -u

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 ABS_BUILDDIR" >&2
    exit 2
fi
builddir=$1
lib=$builddir/src/.libs/libvirtualwin.so

if [ ! -f "$lib" ]; then
    echo "run-demo: $lib not found; build the library first (make)" >&2
    exit 2
fi

runs=0
failed=0
failures=""

banner() {
    echo
    echo "=========================================================================="
    echo "== $1"
    echo "== $2"
    echo "=========================================================================="
}

# run MODE PROGRAM: run one example, record its result.
run() {
    mode=$1
    prog=$2
    path=$builddir/examples/$prog
    runs=$((runs + 1))
    if [ ! -x "$path" ]; then
        echo "run-demo: $path not built" >&2
        failed=$((failed + 1))
        failures="$failures $prog($mode)"
        return
    fi
    case $mode in
    linked)
        banner "examples/$prog: linked against libvirtualwin" \
            "(ordinary Windows source, #include <windows.h> via the compat headers)"
        "$path"
        status=$?
        ;;
    preload)
        banner "examples/$prog: NOT linked to libvirtualwin, run with LD_PRELOAD" \
            "LD_PRELOAD=$lib"
        LD_PRELOAD="$lib${LD_PRELOAD:+ $LD_PRELOAD}" "$path"
        status=$?
        ;;
    esac
    if [ "$status" -eq 0 ]; then
        echo "-- examples/$prog ($mode): OK"
    else
        echo "-- examples/$prog ($mode): FAILED (exit status $status)"
        failed=$((failed + 1))
        failures="$failures $prog($mode)"
    fi
}

for example in sparse_array jit; do
    run linked "$example"
    run preload "${example}_preload"
done

echo
if [ "$failed" -eq 0 ]; then
    echo "demo: all $runs runs passed"
    exit 0
fi
echo "demo: $failed of $runs runs failed:$failures"
exit 1
