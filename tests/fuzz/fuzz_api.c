/*
 * fuzz_api.c: libFuzzer harness for libvirtualwin (tests/fuzz/run-fuzz.sh).
 *
 * The input is a sequence of operations (MODEL_OP_BYTES bytes each, see
 * tests/model.h): every API call with valid and invalid arguments, plus reads
 * and writes of the memory, run in a fresh sandbox and checked step by step
 * against the reference model in tests/model.c, with periodic whole-sandbox
 * checks (VirtualQuery, /proc/self/maps, fault probes, contents; the smaps
 * lock check is left to model_long and make check: in the fuzzer's big
 * process the kernel takes too long to produce smaps).
 * A disagreement prints the failing call and a call-by-call trace, then
 * abort()s, which libFuzzer reports as a crash and saves the input.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_OPS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int have_skip;
    static unsigned skip;   /* $VW_MODEL_SKIP: kinds to leave out, to look past a known bug */
    if (!have_skip) {
        skip = model_parse_skip(getenv("VW_MODEL_SKIP"));
        have_skip = 1;
    }
    const struct model_opts opts = { 32, NULL, skip, 1 };
    struct model_stats st;
    if (size > (size_t)MAX_OPS * MODEL_OP_BYTES)
        size = (size_t)MAX_OPS * MODEL_OP_BYTES;
    int rc = model_run_ops(data, size, &opts, &st);
    if (rc == 0)
        return 0;
    fprintf(stderr, "fuzz_api: %s: %s\n",
            rc == 1 ? "the library and the model disagree" : "the sandbox could not be set up",
            st.msg);
    if (rc == 1) {
        /* The same input again, traced call by call (a fresh sandbox). */
        const struct model_opts trace = { 32, stderr, skip, 0 };
        fprintf(stderr, "fuzz_api: trace of the input (%zu operations):\n",
                size / MODEL_OP_BYTES);
        model_run_ops(data, size, &trace, &st);
        fprintf(stderr, "fuzz_api: replay: tests/model_long --replay ");
        model_print_hex(stderr, data, size - size % MODEL_OP_BYTES);
        fprintf(stderr, "\n");
    }
    abort();
}
