#!/bin/sh
# check_preload.sh: libvirtualwin as an LD_PRELOAD library.
#
# tests/preload_prog and tests/preload_malloc_prog are built with <virtualwin.h>
# but not linked with the library (-Wl,--unresolved-symbols=ignore-all): this
# script checks that they really are not linked to it, that they cannot run
# without it, and that with LD_PRELOAD=.../libvirtualwin.so each one exits 0
# and prints its "<name>: OK" line.
#
# Run by automake's test harness with VW_BUILDDIR set to the build directory's
# absolute path.  Exit 0: pass, 1: fail, 77: skip (only when the .so is missing).

builddir=${VW_BUILDDIR:-$(pwd)}
so="$builddir/src/.libs/libvirtualwin.so"

if [ ! -f "$so" ]; then
    echo "SKIP: $so not found (the shared library was not built; configure --disable-shared?)"
    exit 77
fi

status=0
fail() {
    echo "FAIL: $*"
    status=1
}

# A bounded run where timeout(1) exists.
run_bounded() {
    if command -v timeout >/dev/null 2>&1; then
        timeout 120 "$@"
    else
        "$@"
    fi
}

for name in preload_prog preload_malloc_prog; do
    prog="$builddir/tests/$name"
    # libtool may leave the real binary in .libs with a wrapper script in front.
    if [ -f "$builddir/tests/.libs/$name" ]; then
        prog="$builddir/tests/.libs/$name"
    elif [ -f "$builddir/tests/.libs/lt-$name" ]; then
        prog="$builddir/tests/.libs/lt-$name"
    fi
    if [ ! -x "$prog" ]; then
        fail "$name: $prog not built"
        continue
    fi

    # 1. Not linked to libvirtualwin: no DT_NEEDED entry, ldd does not list it.
    if command -v readelf >/dev/null 2>&1; then
        if readelf -d "$prog" | grep NEEDED | grep -q virtualwin; then
            fail "$name: has a DT_NEEDED entry for libvirtualwin:"
            readelf -d "$prog" | grep NEEDED
        fi
        # ... and the API is left undefined, for the preload to supply.
        if ! readelf --dyn-syms -W "$prog" | grep ' UND ' | grep -q 'VirtualAlloc$'; then
            fail "$name: VirtualAlloc is not an undefined dynamic symbol"
        fi
    elif command -v objdump >/dev/null 2>&1; then
        if objdump -p "$prog" | grep NEEDED | grep -q virtualwin; then
            fail "$name: has a NEEDED entry for libvirtualwin"
        fi
    fi
    if command -v ldd >/dev/null 2>&1; then
        if ldd "$prog" 2>&1 | grep -q virtualwin; then
            fail "$name: ldd shows libvirtualwin:"
            ldd "$prog"
        fi
    fi
    if ! command -v readelf >/dev/null 2>&1 && ! command -v objdump >/dev/null 2>&1 &&
       ! command -v ldd >/dev/null 2>&1; then
        echo "note: $name: no readelf, objdump or ldd: linkage not checked"
    fi

    # 2. Without the preload it cannot work (the API is unresolved).
    out=$(run_bounded "$prog" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        fail "$name: ran successfully without LD_PRELOAD (is it linked to the library?)"
    fi

    # 3. With the preload: exit 0 and the OK line.
    out=$(run_bounded env LD_PRELOAD="$so" "$prog" 2>&1)
    rc=$?
    echo "$out"
    if [ $rc -ne 0 ]; then
        fail "$name: exit status $rc under LD_PRELOAD=$so"
    fi
    if ! printf '%s\n' "$out" | grep -qx "$name: OK"; then
        fail "$name: no \"$name: OK\" line"
    fi
done

if [ $status -eq 0 ]; then
    echo "PASS: preload programs"
fi
exit $status
