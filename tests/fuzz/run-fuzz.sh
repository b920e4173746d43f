#!/bin/sh
# run-fuzz.sh: build the libFuzzer harness with clang (ASan + UBSan) from the
# library sources compiled directly (src/*/*.c, every layer) plus tests/model.c and
# tests/fuzz/fuzz_api.c, then fuzz for $VW_FUZZ_SECONDS seconds (default 60)
# starting from a copy of tests/fuzz/corpus.  Exit status 0 if nothing crashed;
# nonzero on a crash or a model mismatch (the input is kept and printed with
# the commands that replay it).
#
# Environment: CLANG (default clang), VW_FUZZ_SECONDS, VW_FUZZ_WORKDIR (where
# to build and keep the corpus; default a fresh temporary directory, removed
# after a clean run), VW_FUZZ_ARGS (extra libFuzzer options).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
clang=${CLANG:-clang}
secs=${VW_FUZZ_SECONDS:-60}
if [ -n "${VW_FUZZ_WORKDIR:-}" ]; then
    work=$VW_FUZZ_WORKDIR
    keep=1
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/vwfuzz.XXXXXX")
    keep=0
fi
mkdir -p "$work/corpus" "$work/artifacts"
cp "$here"/corpus/* "$work/corpus/"

echo "run-fuzz: building $work/fuzz_api with $clang"
"$clang" -std=gnu11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -I"$top/include" -I"$top/src" -I"$top/tests" \
    "$top"/src/*/*.c "$top/tests/model.c" "$here/fuzz_api.c" \
    -lpthread -o "$work/fuzz_api"

echo "run-fuzz: fuzzing for $secs s from $(ls "$work/corpus" | wc -l) corpus inputs"
status=0
# shellcheck disable=SC2086
"$work/fuzz_api" -max_total_time="$secs" -max_len=6144 -timeout=120 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" ${VW_FUZZ_ARGS:-} \
    "$work/corpus" || status=$?

if [ "$status" -ne 0 ]; then
    echo "run-fuzz: FAILED (exit status $status)"
    for f in "$work"/artifacts/*; do
        [ -f "$f" ] || continue
        echo "run-fuzz: crashing input: $f"
        echo "run-fuzz: replay: $work/fuzz_api $f"
        echo "run-fuzz: or:     tests/model_long --verbose --replay $(od -An -v -tx1 "$f" | tr -d ' \n')"
    done
    exit "$status"
fi
echo "run-fuzz: no crash in $secs s"
if [ "$keep" = 0 ]; then
    rm -rf "$work"
fi
