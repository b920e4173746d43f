#!/bin/sh
# check_headers.sh: the installed headers compile cleanly for unchanged
# Windows sources, as C and as C++, strictly.
#
# tests/header_use.c (SDK names, values, layouts, the anonymous members both
# ways) is compiled with -Wall -Wextra -Werror -pedantic, after every header
# in include/ and include/compat/ (and include/virtualwin/, when there is one)
# has been included first with -include, so a header that is not covered by
# header_use.c is still compiled in every mode:
#   C:   -std=c99, -std=c11, -std=gnu99, c99 with NONAMELESSUNION, c11 with
#        UNICODE, c99 with VIRTUALWIN_PRELOAD (the weak declarations);
#   C++: -std=c++11, -std=c++17, c++11 with NONAMELESSUNION, with UNICODE,
#        with VIRTUALWIN_PRELOAD;
# with each of $CC, gcc, clang (C) and $CXX, g++, clang++ (C++) that is
# installed.  Exit 0: pass, 1: fail, 77: skip (no C compiler at all).

srcdir=${srcdir:-$(dirname "$0")/..}
top=$(cd "$srcdir" && pwd)
use="$top/tests/header_use.c"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vw-headers.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT INT TERM

# Every header, each included first.
includes=""
for h in "$top"/include/*.h "$top"/include/compat/*.h "$top"/include/virtualwin/*.h; do
    [ -f "$h" ] && includes="$includes -include $h"
done

status=0
ran=0
seen=" "
# compile LANG COMPILER FLAGS...
compile() {
    lang=$1
    cc=$2
    shift 2
    ran=$((ran + 1))
    # shellcheck disable=SC2086
    if ! $cc -x "$lang" "$@" -Wall -Wextra -Werror -pedantic -Wshadow \
            -I"$top/include/compat" -I"$top/include" $includes \
            -c "$use" -o "$tmp/out.o" > "$tmp/err" 2>&1; then
        echo "FAIL: $cc -x $lang $*:"
        head -30 "$tmp/err"
        status=1
    elif [ -s "$tmp/err" ]; then
        echo "FAIL: $cc -x $lang $*: diagnostics:"
        head -30 "$tmp/err"
        status=1
    fi
}

# The compiler a name runs (cc is often gcc), so that each is tried once.
real() {
    p=$(command -v "$1" 2>/dev/null) || return 1
    readlink -f "$p" 2>/dev/null || echo "$p"
}

for cc in ${CC:-cc} gcc clang; do
    r=$(real "$cc") || continue
    case $seen in *" c:$r "*) continue ;; esac
    seen="${seen}c:$r "
    for mode in "-std=c99" "-std=c11" "-std=gnu99" "-std=c99 -DNONAMELESSUNION" \
                "-std=c11 -DUNICODE" "-std=c99 -DVIRTUALWIN_PRELOAD"; do
        # shellcheck disable=SC2086
        compile c "$cc" $mode -Wstrict-prototypes -Wmissing-prototypes
    done
done
for cxx in ${CXX:-c++} g++ clang++; do
    r=$(real "$cxx") || continue
    case $seen in *" c++:$r "*) continue ;; esac
    seen="${seen}c++:$r "
    for mode in "-std=c++11" "-std=c++17" "-std=c++11 -DNONAMELESSUNION" \
                "-std=c++11 -DUNICODE" "-std=c++11 -DVIRTUALWIN_PRELOAD"; do
        # shellcheck disable=SC2086
        compile c++ "$cxx" $mode
    done
done

if [ "$ran" -eq 0 ]; then
    echo "SKIP: no C or C++ compiler found"
    exit 77
fi
if [ $status -eq 0 ]; then
    echo "PASS: headers ($ran compilations:$seen)"
fi
exit $status
