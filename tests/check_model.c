/*
 * check_model.c: model-based random testing, the short version for make check
 * (the long one is tests/model_long, make check-long).
 *
 * Random sequences of every API call, valid and invalid, run in a sandbox and
 * are compared step by step with the reference model in model.c (return
 * values, last errors, VirtualQuery of the touched pages; periodically the
 * whole sandbox through VirtualQuery, /proc/self/maps, /proc/self/smaps, fault
 * probes and contents).  A few fixed seeds always run; then fresh seeds for a
 * couple of seconds ($VW_MODEL_CHECK_SECONDS, default 2; $VW_MODEL_SEED fixes
 * the master seed), and a few hand-made regression sequences.  Every seed is
 * printed; on a disagreement the sequence is shrunk and printed call by call
 * with the command that replays it.  $VW_MODEL_SKIP (e.g. "pressure") leaves
 * operation kinds out, to look past a known bug.
 */
#include <check.h>
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FIXED_STEPS 1500
#define TIMED_STEPS 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* $VW_MODEL_SKIP leaves operation kinds out (triage of a known bug). */
static struct model_opts opts(void)
{
    struct model_opts o = { 0, NULL, model_parse_skip(getenv("VW_MODEL_SKIP")), 0 };
    return o;
}

/* Calls made through the native edge, over the seeds run. */
static long native_total;

/* Runs one seed; on a disagreement prints the seed, the shrunk sequence and
 * the replay commands, then fails the test. */
static void run_seed(uint64_t seed, long steps, long *ops)
{
    struct model_stats st;
    struct model_opts o = opts();
    int rc = model_run_seed(seed, steps, &o, &st);
    *ops += st.ops;
    native_total += st.native_calls;
    if (rc == 0)
        return;
    printf("model: seed %#llx FAILED at operation %ld of %ld: %s\n", (unsigned long long)seed,
           st.fail_op, steps, st.msg);
    printf("replay: tests/model_long --seed %#llx --steps %ld --verbose\n",
           (unsigned long long)seed, steps);
    uint8_t *b;
    size_t n = model_gen_ops(seed, steps, &b);
    model_report_failure(stdout, b, n, 30, "tests/model_long");
    free(b);
    fflush(stdout);
    ck_abort_msg("model and library disagree (seed %#llx, %ld steps): %s",
                 (unsigned long long)seed, steps, st.msg);
}

/* Hand-made sequences (also in tests/fuzz/corpus) around MEM_RESET,
 * MEM_RESET_UNDO, memory pressure (MADV_PAGEOUT) and VirtualLock: write four
 * pages, reset them, then undo with the pages dropped, locked or both.
 * Spec 4: an undo that succeeds means every byte is intact. */
static const struct {
    const char *name, *hex;
} regressions[] = {
    { "reset, undo, pressure",
      "0000140000000003020801011900000000000300000000000000000000000003020c01010000000000000003"
      "020e01011e00000000000300000000001d0000000000030000000000" },
    { "reset, lock, undo, unlock, pressure",
      "0000140000000003020801011900000000000300000000000000000000000003020c01011500000000000003"
      "000000010000000000000003020e01011700000000000003000000011e00000000000300000000001d000000"
      "0000030000000000" },
    { "reset, pressure, lock, undo",
      "0000140000000003020801011900000000000300000000000000000000000003020c01011e00000000000300"
      "000000001500000000000003000000010000000000000003020e01011d0000000000030000000000" },
};

START_TEST(test_regressions)
{
    uint8_t *b;
    size_t n = model_parse_hex(regressions[_i].hex, &b);
    ck_assert_uint_gt(n, 0);
    struct model_stats st;
    struct model_opts o = opts();
    printf("model: regression \"%s\"\n", regressions[_i].name);
    if (model_run_ops(b, n, &o, &st) != 0) {
        struct model_opts trace = o;
        trace.log = stdout;
        printf("model: regression \"%s\" FAILED: %s\n", regressions[_i].name, st.msg);
        model_run_forked(b, n, &trace, &st);
        printf("replay: tests/model_long --verbose --replay %s\n", regressions[_i].hex);
        free(b);
        fflush(stdout);
        ck_abort_msg("regression \"%s\": %s", regressions[_i].name, st.msg);
    }
    free(b);
}
END_TEST

START_TEST(test_fixed_seeds)
{
    static const uint64_t seeds[] = { 1, 2, 0x5EED, 0xC0FFEE, 0x1D0B14E4DB018FEDull,
                                      0x910A2DEC89025CC1ull };
    long ops = 0;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        printf("model: seed %#llx, %d steps\n", (unsigned long long)seeds[i], FIXED_STEPS);
        run_seed(seeds[i], FIXED_STEPS, &ops);
    }
    printf("model: fixed seeds: %ld operations agreed, %ld through the native calls\n", ops,
           native_total);
    /* Issue 10: the model drives the Nt* calls too. */
    ck_assert_int_gt(native_total, 100);
}
END_TEST

START_TEST(test_time_seeded)
{
    double seconds = 2;
    const char *env = getenv("VW_MODEL_CHECK_SECONDS");
    if (env && *env)
        seconds = atof(env);
    uint64_t master = mix((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    env = getenv("VW_MODEL_SEED");
    if (env && *env)
        master = strtoull(env, NULL, 0);
    printf("model: master seed %#llx, %.1f s\n", (unsigned long long)master, seconds);
    long ops = 0, nseeds = 0;
    double t0 = now_s();
    for (uint64_t i = 0; nseeds == 0 || now_s() - t0 < seconds; i++) {
        uint64_t s = mix(master + i);
        printf("model: seed %#llx, %d steps\n", (unsigned long long)s, TIMED_STEPS);
        run_seed(s, TIMED_STEPS, &ops);
        nseeds++;
    }
    printf("model: %ld seeds, %ld operations agreed in %.1f s\n", nseeds, ops, now_s() - t0);
}
END_TEST

/* The replay path: hex round trip, and a sequence replays to the same counts. */
START_TEST(test_replay_roundtrip)
{
    uint8_t *b, *c;
    size_t n = model_gen_ops(0xABCDEF, 200, &b);
    ck_assert_uint_eq(n, 200 * MODEL_OP_BYTES);
    char *hex = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    size_t m = model_parse_hex(hex, &c);
    ck_assert_uint_eq(m, n);
    ck_assert(memcmp(b, c, n) == 0);
    struct model_stats s1, s2;
    struct model_opts o = opts();
    ck_assert_int_eq(model_run_ops(b, n, &o, &s1), 0);
    ck_assert_int_eq(model_run_forked(c, m, &o, &s2), 0);
    ck_assert_int_eq(s1.ops, s2.ops);
    ck_assert_int_eq(s1.by_kind[MODEL_K_ALLOC], s2.by_kind[MODEL_K_ALLOC]);
    /* Any byte string is a program, including a ragged tail and an empty one. */
    ck_assert_int_eq(model_run_ops(b, 7, &o, &s1), 0);
    ck_assert_int_eq(s1.ops, 0);
    free(hex);
    free(b);
    free(c);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_replay_roundtrip);
    tcase_add_loop_test(tc, test_regressions, 0, (int)(sizeof regressions / sizeof regressions[0]));
    tcase_add_test(tc, test_fixed_seeds);
    tcase_add_test(tc, test_time_seeded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(model_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
