/*
 * model.h: model-based random testing of libvirtualwin.
 *
 * A reference model of the Windows semantics in the spec (one record per page
 * of a sandbox window of address space: state, protection, allocation base and
 * protection, lock, content tag), written from the spec and independent of the
 * library's map, and a driver that decodes a byte string into a sequence of API
 * calls -- VirtualAlloc(Ex), VirtualFree(Ex), VirtualProtect(Ex),
 * VirtualQuery(Ex), VirtualLock/Unlock, writes and reads of the memory,
 * memory pressure (MADV_PAGEOUT), and placeholders (VirtualAlloc2 reserving
 * and replacing them, VirtualFree splitting, joining and restoring them) --
 * with valid and invalid arguments.  After every call the driver compares the
 * library with the model (return value, last error, old protection,
 * VirtualQuery of the touched pages); every few calls it compares the whole
 * sandbox with the model through VirtualQuery, /proc/self/maps, the lock
 * flags in /proc/self/smaps and fault probes, and checks contents.
 *
 * Every operation is MODEL_OP_BYTES bytes, so any byte string is a valid
 * program (the fuzzer feeds its input straight in) and a failing program
 * shrinks by dropping whole operations.  Addresses are chosen relative to the
 * sandbox or to allocations the model knows, so a sequence replays the same
 * way wherever the sandbox lands.
 *
 * No dependency on Check: the Check suite, the long runner and the fuzzer all
 * use this file.
 */
#ifndef VW_MODEL_H
#define VW_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MODEL_OP_BYTES 12

enum model_kind {
    MODEL_K_ALLOC,
    MODEL_K_FREE,
    MODEL_K_PROTECT,
    MODEL_K_QUERY,
    MODEL_K_LOCK,
    MODEL_K_UNLOCK,
    MODEL_K_WRITE,
    MODEL_K_READ,
    MODEL_K_PRESSURE,
    MODEL_K_CHECK,
    MODEL_K_PLACEHOLDER,   /* VirtualAlloc2 placeholders (spec 15) */
    MODEL_NKINDS
};

struct model_opts {
    int check_every;   /* full sandbox/kernel check every N operations (0: 16) */
    FILE *log;         /* if set, every call, its result and the expectation are traced */
    unsigned skip;     /* operation kinds to leave out (bit 1 << MODEL_K_...), for triage */
    int no_smaps;      /* skip the /proc/self/smaps lock check (slow in a big process) */
};

/* Parses a comma-separated list of kind names ("pressure,lock") into a skip
 * mask; unknown names are ignored.  NULL or "" gives 0. */
unsigned model_parse_skip(const char *list);

struct model_stats {
    long ops;                      /* operations executed */
    long calls;                    /* API calls made and compared */
    long calls_failed;             /* of which failed, as the model expected */
    long by_kind[MODEL_NKINDS];    /* operations per kind */
    long full_checks;              /* sandbox/kernel/probe/content checks */
    long null_in_sandbox, null_outside;
    long native_calls;             /* of the calls, made through the Nt* edge (issue 10) */
    long fail_op;                  /* index of the operation that disagreed, or -1 */
    char msg[3072];                /* what disagreed (empty on success) */
};

/* Runs the operations encoded in bytes[0, n) (n / MODEL_OP_BYTES of them) in a
 * fresh sandbox, then releases everything.  Returns 0 if the library agreed
 * with the model throughout, 1 on a disagreement (st->msg, st->fail_op), 2 if
 * the sandbox could not be set up.  st may be NULL. */
int model_run_ops(const uint8_t *bytes, size_t n, const struct model_opts *o,
                  struct model_stats *st);

/* The operation bytes for a seed: steps * MODEL_OP_BYTES pseudo-random bytes
 * (malloc'd; the caller frees them).  Returns the size in bytes. */
size_t model_gen_ops(uint64_t seed, long steps, uint8_t **out);

/* model_gen_ops + model_run_ops. */
int model_run_seed(uint64_t seed, long steps, const struct model_opts *o,
                   struct model_stats *st);

/* model_run_ops in a child process (a crash or hang there is a failure: 3).
 * The child's stats come back in *st. */
int model_run_forked(const uint8_t *bytes, size_t n, const struct model_opts *o,
                     struct model_stats *st);

/* Shrinks a failing sequence by dropping operations while it still fails
 * (each try runs in a child process), for at most max_seconds.  Returns the
 * new size; *out is malloc'd.  *tries (if given) counts the runs. */
size_t model_shrink(const uint8_t *bytes, size_t n, double max_seconds, uint8_t **out,
                    long *tries);

/* Shrinks, then prints the short sequence call by call (replayed in a child)
 * and the replay command: "<replay_cmd> --replay HEX". */
void model_report_failure(FILE *f, const uint8_t *bytes, size_t n, double max_seconds,
                          const char *replay_cmd);

/* Hex encoding of operation bytes (printing, and parsing a --replay argument;
 * parse returns the size, *out malloc'd, or 0 on a bad string). */
void model_print_hex(FILE *f, const uint8_t *bytes, size_t n);
size_t model_parse_hex(const char *s, uint8_t **out);

/* Name of an operation kind, for statistics. */
const char *model_kind_name(int kind);

#endif
