/*
 * model_long.c: the long model-based random test (make check-long).
 *
 *   model_long [SECONDS]           random seeds for SECONDS (or $VW_MODEL_SECONDS, default 60)
 *   model_long --seed S [--steps N] [--verbose]   replay one seed
 *   model_long --replay HEX [--verbose]           replay an operation sequence
 * Options: --steps N (operations per seed, default 2000; $VW_MODEL_STEPS),
 * --master S (the seed the run's seeds come from; $VW_MODEL_SEED), --check-every N.
 * $VW_MODEL_SKIP (e.g. "pressure,lock") leaves operation kinds out, to look past a known bug.
 *
 * Each seed runs in a child process; every seed is printed with its operation
 * count.  On a disagreement the failing seed is shrunk to a short sequence,
 * which is printed call by call with the replay commands, and the exit status
 * is 1.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void usage(const char *me)
{
    fprintf(stderr,
            "usage: %s [SECONDS] [--seconds N] [--steps N] [--master S] [--check-every N]\n"
            "       %s --seed S [--steps N] [--verbose]\n"
            "       %s --replay HEX [--verbose]\n", me, me, me);
    exit(2);
}

static void print_kinds(const long *k)
{
    for (int i = 0; i < MODEL_NKINDS; i++)
        printf("%s%s %ld", i ? ", " : "", model_kind_name(i), k[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    /* How to name this program in replay commands ($VW_MODEL_CMD: make check-long
     * sets it, since under libtool argv[0] is the hidden real binary). */
    const char *me = getenv("VW_MODEL_CMD") && *getenv("VW_MODEL_CMD") ? getenv("VW_MODEL_CMD")
                                                                       : argv[0];
    double seconds = 60;
    long steps = 2000;
    int verbose = 0, have_seed = 0, have_master = 0;
    uint64_t seed = 0, master = 0;
    const char *replay = NULL;
    struct model_opts opts = { 0, NULL, 0, 0 };
    const char *env;

    opts.skip = model_parse_skip(getenv("VW_MODEL_SKIP"));
    if ((env = getenv("VW_MODEL_SECONDS")) && *env)
        seconds = atof(env);
    if ((env = getenv("VW_MODEL_STEPS")) && *env)
        steps = atol(env);
    if ((env = getenv("VW_MODEL_SEED")) && *env) {
        master = strtoull(env, NULL, 0);
        have_master = 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seconds") && v) {
            seconds = atof(v);
            i++;
        } else if (!strcmp(a, "--steps") && v) {
            steps = atol(v);
            i++;
        } else if (!strcmp(a, "--seed") && v) {
            seed = strtoull(v, NULL, 0);
            have_seed = 1;
            i++;
        } else if (!strcmp(a, "--master") && v) {
            master = strtoull(v, NULL, 0);
            have_master = 1;
            i++;
        } else if (!strcmp(a, "--check-every") && v) {
            opts.check_every = atoi(v);
            i++;
        } else if (!strcmp(a, "--replay") && v) {
            replay = v;
            i++;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            verbose = 1;
        } else if (a[0] >= '0' && a[0] <= '9') {
            seconds = atof(a);
        } else {
            usage(me);
        }
    }
    if (steps <= 0)
        usage(me);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* ---- replaying one sequence or one seed ---- */
    if (replay || have_seed) {
        uint8_t *ops;
        size_t n;
        if (replay) {
            n = model_parse_hex(replay, &ops);
            if (!n) {
                fprintf(stderr, "%s: bad hex string\n", me);
                return 2;
            }
            printf("replaying %zu operations\n", n / MODEL_OP_BYTES);
        } else {
            n = model_gen_ops(seed, steps, &ops);
            printf("replaying seed %#llx, %ld steps\n", (unsigned long long)seed, steps);
        }
        if (verbose)
            opts.log = stdout;
        struct model_stats st;
        int rc = model_run_ops(ops, n, &opts, &st);
        printf("%ld operations, %ld calls (%ld failed as expected), %ld full checks\n", st.ops,
               st.calls, st.calls_failed, st.full_checks);
        if (rc) {
            printf("FAILED: %s\n", st.msg);
            if (have_seed && !replay) {
                char cmd[512];
                snprintf(cmd, sizeof cmd, "%s", me);
                model_report_failure(stdout, ops, n, 120, cmd);
            }
        } else {
            printf("passed\n");
        }
        free(ops);
        return rc ? 1 : 0;
    }

    /* ---- the long run ---- */
    if (!have_master)
        master = mix((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    printf("model_long: %.0f s, %ld operations per seed, master seed %#llx\n", seconds, steps,
           (unsigned long long)master);
    double t0 = now_s();
    long seeds = 0, ops = 0, calls = 0, failed_calls = 0, checks = 0, null_in = 0, null_out = 0;
    long kinds[MODEL_NKINDS] = { 0 };
    for (uint64_t i = 0; now_s() - t0 < seconds; i++) {
        uint64_t s = mix(master + i);
        uint8_t *b;
        size_t n = model_gen_ops(s, steps, &b);
        struct model_stats st;
        int rc = model_run_forked(b, n, &opts, &st);
        seeds++;
        ops += st.ops;
        calls += st.calls;
        failed_calls += st.calls_failed;
        checks += st.full_checks;
        null_in += st.null_in_sandbox;
        null_out += st.null_outside;
        for (int k = 0; k < MODEL_NKINDS; k++)
            kinds[k] += st.by_kind[k];
        printf("seed %#018llx: %ld ops, %ld calls %s\n", (unsigned long long)s, st.ops, st.calls,
               rc ? "FAILED" : "ok");
        if (rc) {
            printf("FAILED seed %#llx after %ld seeds: %s\n", (unsigned long long)s, seeds,
                   st.msg);
            printf("replay: %s --seed %#llx --steps %ld --verbose\n", me,
                   (unsigned long long)s, steps);
            model_report_failure(stdout, b, n, 300, me);
            free(b);
            return 1;
        }
        free(b);
    }
    printf("model_long: %ld seeds, %ld operations, %ld API calls (%ld failed as the model "
           "expected), %ld full checks, NULL allocations %ld in / %ld outside the sandbox, "
           "%.1f s\n", seeds, ops, calls, failed_calls, checks, null_in, null_out, now_s() - t0);
    printf("operations: ");
    print_kinds(kinds);
    printf("passed\n");
    return 0;
}
