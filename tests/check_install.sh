#!/bin/sh
# check_install.sh: what `make install` puts where, for the configured prefix.
#
# Installs into a scratch DESTDIR and checks that:
#   - the library was linked for the configured libdir (libtool's .la says so;
#     a reconfigure with another prefix relinks through
#     src/libvirtualwin-dirs.stamp), and the library, headers and the three
#     pkg-config modules are where that prefix puts them;
#   - the man pages and the launcher name the configured libdir, never a
#     placeholder nor /usr/local when the prefix is another;
#   - the README's recipes work against the installed files: linked with
#     -Wl,-rpath,<libdir> (runs with no LD_LIBRARY_PATH), and the
#     virtualwin-preload build (runs under LD_PRELOAD of the installed library).
# pkg-config reads the installed .pc files through PKG_CONFIG_SYSROOT_DIR.
#
# Run by automake's test harness with VW_BUILDDIR, VW_LIBDIR, VW_INCLUDEDIR,
# MAKE and CC set.  Exit 0: pass, 1: fail, 77: skip (no shared library).

builddir=${VW_BUILDDIR:-$(pwd)}
libdir=${VW_LIBDIR:?VW_LIBDIR not set}
includedir=${VW_INCLUDEDIR:?VW_INCLUDEDIR not set}
srcdir=${srcdir:-$(dirname "$0")/..}
recipe_src="$(cd "$srcdir" && pwd)/tests/preload_recipe.c"
cc=${CC:-cc}

if [ ! -f "$builddir/src/.libs/libvirtualwin.so" ]; then
    echo "SKIP: the shared library was not built"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vw-install.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/dest

status=0
fail() {
    echo "FAIL: $*"
    status=1
}

# ---- linked for this libdir ------------------------------------------------------
if ! grep -qx "libdir='$libdir'" "$builddir/src/libvirtualwin.la"; then
    fail "src/libvirtualwin.la was linked for $(grep '^libdir=' "$builddir/src/libvirtualwin.la"), not $libdir (a reconfigure did not relink)"
fi

# ---- install ------------------------------------------------------------------------
if ! ${MAKE:-make} -C "$builddir" install DESTDIR="$dest" > "$tmp/install.log" 2>&1; then
    fail "make install DESTDIR=... failed:"
    tail -20 "$tmp/install.log"
    exit 1
fi
for f in "$libdir/libvirtualwin.so.0" "$includedir/virtualwin.h" \
         "$includedir/virtualwin/compat/windows.h" "$libdir/pkgconfig/virtualwin.pc" \
         "$libdir/pkgconfig/virtualwin-compat.pc" "$libdir/pkgconfig/virtualwin-preload.pc"; do
    [ -e "$dest$f" ] || fail "not installed: $f"
done

# ---- configured paths in the man pages and the launcher -------------------------------
man1=$(find "$dest" -name virtualwin-run.1 | head -1)
man3=$(find "$dest" -name libvirtualwin.3 | head -1)
run=$(find "$dest" -name virtualwin-run -type f | head -1)
for f in "$man1" "$man3" "$run"; do
    if [ -z "$f" ]; then
        fail "a man page or the launcher was not installed"
        continue
    fi
    name=${f#"$dest"}
    if ! grep -q "$libdir/libvirtualwin.so" "$f"; then
        fail "$name does not name $libdir/libvirtualwin.so"
    fi
    if grep -q '@[a-z_]*@\|$(libdir)\|$(includedir)' "$f"; then
        fail "$name has an unsubstituted placeholder: $(grep -m1 '@[a-z_]*@\|$(libdir)\|$(includedir)' "$f")"
    fi
    case $libdir in
        /usr/local/*) ;;
        *) if grep -q /usr/local "$f"; then
               fail "$name names /usr/local although libdir is $libdir"
           fi ;;
    esac
done
if [ -n "$man3" ] && ! grep -q "$includedir/virtualwin.h" "$man3"; then
    fail "libvirtualwin.3 does not name $includedir/virtualwin.h"
fi

# ---- the README's recipes against the installed files ---------------------------------
pc() {
    PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$dest$libdir/pkgconfig \
        PKG_CONFIG_PATH= pkg-config "$@"
}
if ! command -v pkg-config >/dev/null 2>&1; then
    fail "pkg-config not found"
else
    # (pkgconf puts the sysroot in front of variables too, pkg-config does not.)
    case $(pc --variable=libdir virtualwin) in
        "$libdir"|"$dest$libdir") ;;
        *) fail "pkg-config --variable=libdir virtualwin is '$(pc --variable=libdir virtualwin)', not $libdir" ;;
    esac
    # Linked, with the run path the README shows (the scratch copy's libdir here).
    # shellcheck disable=SC2046
    if "$cc" -o "$tmp/linked" "$recipe_src" $(pc --cflags --libs virtualwin-compat) \
            -Wl,-rpath,"$dest$libdir" > "$tmp/err" 2>&1; then
        out=$(env -u LD_LIBRARY_PATH -u LD_PRELOAD "$tmp/linked" 2>&1)
        rc=$?
        if [ $rc -ne 0 ] || [ "$out" != "preload_recipe: OK" ]; then
            fail "linked with -Wl,-rpath: status $rc: $out"
        fi
    else
        fail "linking with pkg-config virtualwin-compat failed:"
        head -20 "$tmp/err"
    fi
    # Preload build.
    # shellcheck disable=SC2046
    if "$cc" -o "$tmp/preload" "$recipe_src" $(pc --cflags --libs virtualwin-preload) \
            > "$tmp/err" 2>&1; then
        out=$(env LD_PRELOAD="$dest$libdir/libvirtualwin.so" "$tmp/preload" 2>&1)
        rc=$?
        if [ $rc -ne 0 ] || [ "$out" != "preload_recipe: OK" ]; then
            fail "preload build under LD_PRELOAD of the installed library: status $rc: $out"
        fi
    else
        fail "building with pkg-config virtualwin-preload failed:"
        head -20 "$tmp/err"
    fi
fi

if [ $status -eq 0 ]; then
    echo "PASS: install (libdir $libdir)"
fi
exit $status
