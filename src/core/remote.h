/*
 * remote.h: the request channel into a process that runs libvirtualwin, so
 * that VirtualAllocEx, VirtualFreeEx, VirtualProtectEx and VirtualQueryEx on
 * it are done BY it, on its own map, exactly as the plain calls would be.
 *
 * Serving is opt-in: a process started with VIRTUALWIN_SERVE=1 in its
 * environment runs one service thread (started by the library's constructor,
 * every signal blocked) listening on the abstract unix socket
 * "virtualwin-PID".  Other processes are never served (their calls on it fall
 * back to the kernel's view, or fail with STATUS_NOT_SUPPORTED), and neither
 * is a fork child of a served process (the name is its parent's).
 *
 * Trust, both ways:
 * - the server accepts a request only with a descriptor of ITS OWN
 *   /proc/PID/mem attached (SCM_RIGHTS): having opened it proves the kernel
 *   would let the peer ptrace-attach the server (the check OpenProcess made);
 *   it is verified by reading, through that descriptor, a random nonce the
 *   server made for this connection (no other process's memory holds it);
 * - the client talks only to a socket whose peer is the target's pid
 *   (SO_PEERCRED; the pidfd says that pid still names the target), so a
 *   process squatting on the name never receives the descriptor.
 * Requests are fixed-size records; anything else (short, wrong magic or
 * version, unknown operation, no or a foreign descriptor) gets
 * STATUS_INVALID_PARAMETER or STATUS_ACCESS_DENIED and changes nothing.  The
 * operations themselves are validated in the server by the native edge as a
 * call inside it would be, so no value a request carries can do more than
 * the same call made by the target itself.
 */
#ifndef VW_CORE_REMOTE_H
#define VW_CORE_REMOTE_H

#include <stdint.h>
#include <virtualwin/nt.h>

#define REMOTE_MAGIC 0x56575251u      /* "QRWV" */
#define REMOTE_VERSION 1u

enum remote_op {
    REMOTE_QUERY = 1,      /* addr -> mbi */
    REMOTE_ALLOC = 2,      /* addr, size, zero_bits, type, prot -> addr, size */
    REMOTE_FREE = 3,       /* addr, size, type -> addr, size */
    REMOTE_PROTECT = 4,    /* addr, size, prot -> addr, size, old */
};

struct remote_req {
    uint32_t magic, version, op, type;
    uint64_t addr, size, zero_bits;
    uint32_t prot, pad;
};

struct remote_resp {
    uint32_t magic;
    int32_t status;
    uint64_t addr, size;
    uint32_t old, pad;
    MEMORY_BASIC_INFORMATION mbi;
};

/* The server's executor: fills r (status and outputs) for a well-formed,
 * authenticated request.  Registered by the native edge (nt/serve.c). */
typedef void (*remote_exec_fn)(const struct remote_req *q, struct remote_resp *r);

/* 1 if this process was asked to serve (VIRTUALWIN_SERVE=1). */
int remote_serve_wanted(void);
/* Starts the service thread with exec as the executor: 0 or an errno. */
int remote_serve_start(remote_exec_fn exec);

/* Client: one request to process pid, attaching mem_fd (its /proc/PID/mem).
 * STATUS_SUCCESS with *r filled (r->status is the operation's), or
 * STATUS_NOT_SUPPORTED when pid does not serve (or is not who answers). */
NTSTATUS remote_call(int pid, int mem_fd, const struct remote_req *q, struct remote_resp *r);

#endif
