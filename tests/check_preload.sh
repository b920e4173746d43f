#!/bin/sh
# check_preload.sh: libvirtualwin as an LD_PRELOAD library.
#
# tests/preload_prog and tests/preload_malloc_prog are built with <virtualwin.h>
# and -DVIRTUALWIN_PRELOAD but not linked with the library: this script checks
# that they really are not linked to it, that without it they stop at start
# with exit status 127 and a message naming libvirtualwin (no crash, no loader
# error), and that with LD_PRELOAD=.../libvirtualwin.so each one exits 0 and
# prints its "<name>: OK" line.
#
# Then the README's recipe: tests/preload_recipe.c built with
#   $CC prog.c $(pkg-config --cflags --libs virtualwin-preload)
# (the build tree's virtualwin-preload-uninstalled.pc) by each of gcc, clang
# (as C) and g++, clang++ (as C++) that is installed, with the compiler's
# default (PIE on Debian and Ubuntu), and once more with -no-pie and with
# -Wl,-z,now: each runs under LD_PRELOAD and stops cleanly without it.
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

# A bounded run where timeout(1) exists: 120 s, times CK_TIMEOUT_MULTIPLIER
# (the sanitizer runs set 5: preload_malloc_prog's millions of mallocs take
# minutes under ASan on a busy machine).
run_bounded() {
    if command -v timeout >/dev/null 2>&1; then
        timeout $((120 * ${CK_TIMEOUT_MULTIPLIER:-1})) "$@"
    else
        "$@"
    fi
}

# expect_stop NAME PROG...: without LD_PRELOAD, exit 127 and the header's message.
expect_stop() {
    what=$1
    shift
    out=$(env -u LD_PRELOAD "$@" 2>&1)
    rc=$?
    if [ $rc -ne 127 ]; then
        fail "$what: exit status $rc without LD_PRELOAD, expected 127; output:"
        printf '%s\n' "$out" | head -5
    elif ! printf '%s\n' "$out" | grep -q 'libvirtualwin.so is not loaded' ||
         ! printf '%s\n' "$out" | grep -q 'virtualwin-run PROGRAM'; then
        fail "$what: without LD_PRELOAD, no message naming libvirtualwin:"
        printf '%s\n' "$out" | head -5
    elif printf '%s\n' "$out" | grep -q 'OK$'; then
        fail "$what: main ran without LD_PRELOAD"
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

    # 2. Without the preload it stops at start, clearly.
    expect_stop "$name" "$prog"

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

# ---- the README's recipe, through pkg-config ---------------------------------------
srcdir=${srcdir:-$(dirname "$0")/..}
recipe_src="$(cd "$srcdir" && pwd)/tests/preload_recipe.c"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vw-preload.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM
if ! command -v pkg-config >/dev/null 2>&1; then
    fail "pkg-config not found (configure needs it too)"
else
    flags=$(PKG_CONFIG_PATH="$builddir" pkg-config --cflags --libs virtualwin-preload) ||
        fail "pkg-config --cflags --libs virtualwin-preload failed"
    case " $flags " in
        *" -DVIRTUALWIN_PRELOAD "*) ;;
        *) fail "virtualwin-preload flags lack -DVIRTUALWIN_PRELOAD: $flags" ;;
    esac
    case " $flags " in
        *virtualwin" "*|*-lvirtualwin*) fail "virtualwin-preload links the library: $flags" ;;
    esac
    built=0
    for spec in "gcc c" "clang c" "g++ c++" "clang++ c++" "gcc c -no-pie" "gcc c -Wl,-z,now"; do
        set -- $spec
        cc=$1 lang=$2
        shift 2
        command -v "$cc" >/dev/null 2>&1 || { echo "note: $cc not installed"; continue; }
        exe="$tmp/recipe-$cc-$built"
        built=$((built + 1))
        # shellcheck disable=SC2086
        if ! "$cc" -x "$lang" -Wall -Wextra -Werror -o "$exe" "$recipe_src" -x none "$@" \
                $flags > "$tmp/err" 2>&1; then
            fail "$cc -x $lang $* \$(pkg-config --cflags --libs virtualwin-preload): build failed:"
            head -20 "$tmp/err"
            continue
        fi
        if command -v readelf >/dev/null 2>&1 &&
           readelf -d "$exe" | grep NEEDED | grep -q virtualwin; then
            fail "$cc $*: the recipe's program is linked to libvirtualwin"
        fi
        out=$(run_bounded env LD_PRELOAD="$so" "$exe" 2>&1)
        rc=$?
        if [ $rc -ne 0 ] || ! printf '%s\n' "$out" | grep -qx "preload_recipe: OK"; then
            fail "$cc -x $lang $*: under LD_PRELOAD exit status $rc:"
            printf '%s\n' "$out" | head -5
        fi
        expect_stop "$cc -x $lang $* (recipe)" "$exe"
    done
    [ $built -gt 0 ] || fail "no compiler to build the recipe with"
fi

if [ $status -eq 0 ]; then
    echo "PASS: preload programs"
fi
exit $status
