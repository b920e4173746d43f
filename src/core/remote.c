/*
 * remote.c: the request channel (remote.h has the protocol and the trust
 * rules): the service thread of a served process, and the client side.
 *
 * The service handles one connection at a time, one request per connection,
 * with a receive timeout so that a peer that connects and says nothing cannot
 * stall it for long.  It allocates nothing; the nonce lives on its stack,
 * which is memory of this process only.
 */
#include "core/remote.h"
#include "core/vw.h"
#include "os/os.h"
#include "os/process.h"

#include <string.h>

extern char **environ;

static remote_exec_fn executor;
static int listen_fd = -1;

/* "virtualwin-PID" into buf. */
static void sock_name(char *buf, int pid)
{
    static const char head[] = "virtualwin-";
    char d[16];
    int n = 0;
    unsigned v = (unsigned)pid;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(buf, head, sizeof head - 1);
    size_t k = sizeof head - 1;
    while (n)
        buf[k++] = d[--n];
    buf[k] = 0;
}

int remote_serve_wanted(void)
{
    static const char key[] = "VIRTUALWIN_SERVE=1";
    for (char **e = environ; e && *e; e++)
        if (strcmp(*e, key) == 0)
            return 1;
    return 0;
}

/* 1 if fd is this process's own /proc/PID/mem (see remote.h). */
static int authentic(int fd)
{
    uint64_t nonce[2], seen[2] = { 0, 0 };
    if (!os_is_procfs(fd) || os_random(nonce, sizeof nonce))
        return 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);   /* the nonce is in memory before the read */
    return os_pread64(fd, seen, sizeof seen, (uint64_t)(uintptr_t)nonce) == sizeof seen &&
           memcmp(seen, nonce, sizeof nonce) == 0;
}

static void serve_one(int c)
{
    struct remote_req q;
    struct remote_resp r;
    memset(&r, 0, sizeof r);
    r.magic = REMOTE_MAGIC;
    int fd = -1;
    long n = os_recv_fd(c, &q, sizeof q, &fd);
    if (n != (long)sizeof q || q.magic != REMOTE_MAGIC || q.version != REMOTE_VERSION ||
        q.op < REMOTE_QUERY || q.op > REMOTE_PROTECT)
        r.status = STATUS_INVALID_PARAMETER;
    else if (fd < 0 || !authentic(fd))
        r.status = STATUS_ACCESS_DENIED;
    else
        executor(&q, &r);
    if (fd >= 0)
        os_close(fd);
    os_send_fd(c, &r, sizeof r, -1);
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int c = os_unix_accept(listen_fd);
        if (c < 0) {
            os_pause_ms(10);   /* out of descriptors or memory: do not spin */
            continue;
        }
        os_sock_timeout(c, 2);
        serve_one(c);
        os_close(c);
    }
    return NULL;
}

int remote_serve_start(remote_exec_fn exec)
{
    char name[32];
    sock_name(name, os_getpid());
    executor = exec;
    int fd = os_unix_listen(name);
    if (fd < 0)
        return -fd;
    listen_fd = fd;
    int err = os_thread_start(serve, NULL);
    if (err) {
        os_close(fd);
        listen_fd = -1;
    }
    return err;
}

NTSTATUS remote_call(int pid, int mem_fd, const struct remote_req *q, struct remote_resp *r)
{
    char name[32];
    sock_name(name, pid);
    int s = os_unix_connect(name);
    if (s < 0)
        return STATUS_NOT_SUPPORTED;       /* not served */
    NTSTATUS st = STATUS_NOT_SUPPORTED;
    /* Only the target itself may receive its mem descriptor. */
    if (os_peer_pid(s) == pid) {
        os_sock_timeout(s, 10);
        if (os_send_fd(s, q, sizeof *q, mem_fd) == (long)sizeof *q) {
            int junk;
            long n = os_recv_fd(s, r, sizeof *r, &junk);
            if (junk >= 0)
                os_close(junk);
            if (n == (long)sizeof *r && r->magic == REMOTE_MAGIC)
                st = STATUS_SUCCESS;
            else
                st = STATUS_UNSUCCESSFUL;   /* it went away mid-request */
        }
    }
    os_close(s);
    return st;
}
