#!/bin/sh
# check_atfork.sh: fork() under LD_PRELOAD=libvirtualwin.so while another
# library's atfork handlers (tests/atforkx.c) map and unmap memory and call the
# API, registered both before libvirtualwin's (from a constructor the dynamic
# linker runs first: checked here with LD_DEBUG=files) and after (from main).
# Handlers of a library registered first run after ours in the parent's
# prepare step, and before ours in the parent and the child: each of them must
# get through its munmap rather than wait for the map lock libvirtualwin holds
# across fork.  tests/atfork_prog does 20 forks and prints "atfork_prog: OK".
#
# Exit 0: pass, 1: fail, 77: skip (only when the .so is missing).

builddir=${VW_BUILDDIR:-$(pwd)}
so="$builddir/src/.libs/libvirtualwin.so"
if [ ! -f "$so" ]; then
    echo "SKIP: $so not found (the shared library was not built)"
    exit 77
fi
prog="$builddir/tests/.libs/atfork_prog"
[ -f "$prog" ] || prog="$builddir/tests/.libs/lt-atfork_prog"
[ -f "$prog" ] || prog="$builddir/tests/atfork_prog"
export LD_LIBRARY_PATH="$builddir/tests/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

status=0
run() {
    if command -v timeout >/dev/null 2>&1; then
        timeout 30 env "$@" "$prog"
    else
        env "$@" "$prog"
    fi
}

# 1. atforkx registers first: its constructor must run before libvirtualwin's.
order=$(run LD_DEBUG=files ATFORKX_EARLY=1 ATFORK_PROG_ORDER_ONLY=1 LD_PRELOAD="$so" 2>&1 >/dev/null |
        grep 'calling init:' | grep -E 'libatforkx|libvirtualwin' | sed 's/.*calling init: //')
first=$(echo "$order" | head -n 1)
case "$first" in
*libatforkx*) ;;
*)
    echo "FAIL: with ATFORKX_EARLY the dynamic linker did not run libatforkx's constructor first:"
    echo "$order"
    status=1
    ;;
esac

for early in 1 0; do
    if [ "$early" = 1 ]; then
        out=$(run ATFORKX_EARLY=1 LD_PRELOAD="$so" 2>&1)
    else
        out=$(run LD_PRELOAD="$so" 2>&1)
    fi
    rc=$?
    if [ $rc -ne 0 ] || ! echo "$out" | grep -q '^atfork_prog: OK$'; then
        echo "FAIL: handlers registered $( [ "$early" = 1 ] && echo before || echo after) libvirtualwin's: exit $rc${out:+: $out}"
        [ $rc -eq 124 ] && echo "  (timed out: deadlock)"
        status=1
    else
        echo "ok: handlers registered $( [ "$early" = 1 ] && echo before || echo after) libvirtualwin's"
    fi
done
exit $status
