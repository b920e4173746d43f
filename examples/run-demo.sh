#!/bin/sh
# run-demo.sh ABS_BUILDDIR: run the example Windows programs (make demo).
#
# Each example runs twice:
#   1. linked    - built with the compat headers and linked to libvirtualwin
#                  (examples/NAME, a libtool wrapper in the build directory);
#                  its output is shown;
#   2. preloaded - the same source built the virtualwin-preload way (compat
#                  headers, -DVIRTUALWIN_PRELOAD, NOT linked to the library),
#                  run with LD_PRELOAD=.../libvirtualwin.so; its output is
#                  compared with the linked run's, addresses aside, and only
#                  the differences are shown.
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
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vw-demo.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Addresses differ from run to run; everything else should not.
strip_addresses() {
    sed -e 's/0x[0-9a-fA-F]\{1,\}/0x.../g' "$1"
}

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
        "$path" > "$tmp/$prog.out" 2>&1
        status=$?
        cat "$tmp/$prog.out"
        ;;
    preload)
        linked=${prog%_preload}
        echo
        echo "== examples/$prog: the same source NOT linked to libvirtualwin"
        echo "== (pkg-config virtualwin-preload), run with LD_PRELOAD=$lib"
        LD_PRELOAD="$lib${LD_PRELOAD:+ $LD_PRELOAD}" "$path" > "$tmp/$prog.out" 2>&1
        status=$?
        strip_addresses "$tmp/$linked.out" > "$tmp/$linked.cmp"
        strip_addresses "$tmp/$prog.out" > "$tmp/$prog.cmp"
        if cmp -s "$tmp/$linked.cmp" "$tmp/$prog.cmp"; then
            echo "same output as the linked run ($(wc -l < "$tmp/$prog.out") lines; addresses differ)"
        else
            echo "output differs from the linked run (addresses aside):"
            diff "$tmp/$linked.cmp" "$tmp/$prog.cmp" | sed -n '1,40p'
        fi
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

for example in sparse_array jit reserve_commit guard_nullcheck gc_writewatch awe_window buffer_pool; do
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
