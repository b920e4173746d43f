#!/bin/sh
# check_readme.sh: the README against the tree, so that what it states as
# facts is checked rather than typed.
#
#   - every function the headers declare (lines opening with WINBASEAPI or NTSYSAPI in
#     include/virtualwin.h, include/virtualwin/*.h, include/compat/*.h) is in
#     the README's call table (a row opening with "| `"), has a man page
#     (man/NAME.3 or man/NAME.3.in) and is exported by the built library;
#   - every section-3 man page but libvirtualwin(3) is such a function;
#   - every test of make check (VW_TESTS, from the Makefile) and every compat
#     header is named in the README;
#   - in the benchmark table, each row whose library, raw and ratio columns
#     are numbers has ratio = library / raw (to the rounding of the figures):
#     a table pasted from one run of make bench passes, one typed or stitched
#     together from several runs does not.
#
# Run by automake's test harness (srcdir, VW_BUILDDIR and VW_TESTS set).
# Exit 0: pass, 1: fail.

srcdir=${srcdir:-$(dirname "$0")/..}
top=$(cd "$srcdir" && pwd)
builddir=${VW_BUILDDIR:-$(pwd)}
readme="$top/README"
so="$builddir/src/.libs/libvirtualwin.so"

status=0
fail() {
    echo "FAIL: $*"
    status=1
}

# ---- the calls --------------------------------------------------------------------
funcs=$(cat "$top"/include/virtualwin.h "$top"/include/virtualwin/*.h "$top"/include/compat/*.h \
            2>/dev/null | grep -E '^(WINBASEAPI|NTSYSAPI)' | sed -e 's/(.*//' -e 's/.*[ *]//' | sort -u)
[ -n "$funcs" ] || fail "no WINBASEAPI declarations found under $top/include"
exports=""
if [ -f "$so" ] && command -v nm >/dev/null 2>&1; then
    exports=$(nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//')
else
    echo "note: $so or nm missing: exports not checked"
fi
table=$(grep '^| `' "$readme")
n=0
for f in $funcs; do
    n=$((n + 1))
    printf '%s\n' "$table" | grep -q "\`$f\`" || fail "README: $f is not in the call table"
    [ -f "$top/man/$f.3" ] || [ -f "$top/man/$f.3.in" ] || fail "no man page man/$f.3"
    if [ -n "$exports" ] && ! printf '%s\n' "$exports" | grep -qx "$f"; then
        fail "$f is declared but not exported by libvirtualwin.so"
    fi
done
for page in "$top"/man/*.3 "$top"/man/*.3.in; do
    [ -f "$page" ] || continue
    name=$(basename "$page")
    name=${name%.in}
    name=${name%.3}
    [ "$name" = libvirtualwin ] && continue
    printf '%s\n' "$funcs" | grep -qx "$name" || fail "man/$name.3 documents no declared function"
done

# ---- tests and headers ----------------------------------------------------------------
for t in ${VW_TESTS:-}; do
    name=$(basename "$t")
    grep -q "\`$name\`" "$readme" || fail "README does not name the test $name"
done
[ -n "${VW_TESTS:-}" ] || echo "note: VW_TESTS not set: test names not checked"
for h in "$top"/include/compat/*.h; do
    name=$(basename "$h")
    grep -q "<$name>" "$readme" || fail "README does not name the compat header <$name>"
done

# ---- the benchmark table ----------------------------------------------------------------
awk -F'|' '
    /^\| # \| workload \|/ { inbench = ($0 ~ /paired ratio/); next }
    !/^\|/ { inbench = 0 }
    inbench && NF >= 9 {
        lib = $4; raw = $5; ratio = $6
        gsub(/[ ,]/, "", lib); gsub(/[ ,]/, "", raw); gsub(/[ ,]/, "", ratio)
        if (lib !~ /^[0-9.]+$/ || raw !~ /^[0-9.]+$/ || ratio !~ /^[0-9.]+$/ || raw + 0 == 0)
            next
        rows++
        want = lib / raw
        tol = 0.006 + want * (0.5 / lib + 0.5 / raw)
        d = ratio - want; if (d < 0) d = -d
        if (d > tol) {
            printf "FAIL: README benchmark row %s: ratio %s, but %s / %s = %.3f\n", $2, ratio, lib, raw, want
            bad = 1
        }
    }
    END {
        if (rows == 0) { print "FAIL: README: no benchmark table with a paired ratio column"; bad = 1 }
        exit bad
    }' "$readme" || status=1

if [ $status -eq 0 ]; then
    echo "PASS: README ($n calls, tests, headers, benchmark table)"
fi
exit $status
