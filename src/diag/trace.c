/*
 * trace.c: the trace line formatter and sink (see trace.h).
 */
#include "diag/trace.h"
#include "core/vw.h"
#include "core/probe.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int vw_trace_fd = -1;

void vw_trace_open(void)
{
    const char *v = getenv("VIRTUALWIN_TRACE");
    if (!v || !*v || (v[0] == '0' && !v[1]))
        return;
    if (v[0] == '1' && !v[1]) {
        vw_trace_fd = 2;
        return;
    }
    long fd = syscall(SYS_openat, AT_FDCWD, v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    vw_trace_fd = fd >= 0 ? (int)fd : 2;
}

struct line {
    char buf[1024];
    size_t n;
};

static void put(struct line *l, const char *s)
{
    while (*s && l->n < sizeof l->buf - 2)
        l->buf[l->n++] = *s++;
}

static void put_hex(struct line *l, uint64_t v)
{
    char tmp[19];
    int i = (int)sizeof tmp;
    tmp[--i] = 0;
    do {
        tmp[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    put(l, tmp + i);
}

static void put_dec(struct line *l, uint64_t v)
{
    char tmp[21];
    int i = (int)sizeof tmp;
    tmp[--i] = 0;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(l, tmp + i);
}

struct flag {
    DWORD bit;
    const char *name;
};

/* Writes the names of the set bits joined by '|', and any unknown rest in hex. */
static void put_flags(struct line *l, DWORD v, const struct flag *f, size_t n)
{
    int first = 1;
    if (!v) {
        put(l, "0");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if ((v & f[i].bit) == f[i].bit && f[i].bit) {
            if (!first)
                put(l, "|");
            put(l, f[i].name);
            v &= ~f[i].bit;
            first = 0;
        }
    }
    if (v) {
        if (!first)
            put(l, "|");
        put_hex(l, v);
    }
}

#define F(x) { x, #x }
static const struct flag alloc_flags[] = {
    F(MEM_COMMIT), F(MEM_RESERVE), F(MEM_RESET), F(MEM_RESET_UNDO), F(MEM_TOP_DOWN),
    F(MEM_WRITE_WATCH), F(MEM_PHYSICAL), F(MEM_LARGE_PAGES), F(MEM_REPLACE_PLACEHOLDER),
    F(MEM_RESERVE_PLACEHOLDER),
};
static const struct flag free_flags[] = {
    F(MEM_DECOMMIT), F(MEM_RELEASE), F(MEM_COALESCE_PLACEHOLDERS), F(MEM_PRESERVE_PLACEHOLDER),
};
static const struct flag prot_flags[] = {
    F(PAGE_EXECUTE_READWRITE), F(PAGE_EXECUTE_WRITECOPY), F(PAGE_EXECUTE_READ), F(PAGE_EXECUTE),
    F(PAGE_WRITECOPY), F(PAGE_READWRITE), F(PAGE_READONLY), F(PAGE_NOACCESS), F(PAGE_GUARD),
    F(PAGE_NOCACHE), F(PAGE_WRITECOMBINE), F(PAGE_TARGETS_INVALID),
};
static const struct flag errors[] = {
    F(ERROR_ACCESS_DENIED), F(ERROR_INVALID_HANDLE), F(ERROR_NOT_ENOUGH_MEMORY),
    F(ERROR_BAD_LENGTH), F(ERROR_NOT_SUPPORTED), F(ERROR_INVALID_PARAMETER),
    F(ERROR_MOD_NOT_FOUND), F(ERROR_PROC_NOT_FOUND), F(ERROR_NOT_LOCKED), F(ERROR_BUSY),
    F(ERROR_PARTIAL_COPY), F(ERROR_INVALID_ADDRESS), F(ERROR_NOACCESS),
    F(ERROR_PRIVILEGE_NOT_HELD), F(ERROR_NO_SYSTEM_RESOURCES), F(ERROR_WORKING_SET_QUOTA),
    F(ERROR_COMMITMENT_LIMIT), F(STATUS_GUARD_PAGE_VIOLATION),
};
#undef F

/* A value by exact name (error codes are values, not bits). */
static void put_value(struct line *l, DWORD v, const struct flag *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].bit == v) {
            put(l, f[i].name);
            return;
        }
    }
    put(l, "unknown");
}

/* A protection: the one base value by name, then modifiers (the base values
 * overlap as bits, so they are matched as a value, not as flags). */
static void put_prot(struct line *l, DWORD v)
{
    DWORD base = v & 0xFF;
    int named = 0;
    for (size_t i = 0; i < 8; i++) {
        if (prot_flags[i].bit == base) {
            put(l, prot_flags[i].name);
            named = 1;
        }
    }
    if (!named && base)
        put_hex(l, base);
    if (!base && !(v & ~0xFFu)) {
        put(l, "0");
        return;
    }
    DWORD rest = v & ~0xFFu;
    if (rest) {
        if (base)
            put(l, "|");
        put_flags(l, rest, prot_flags + 8, sizeof prot_flags / sizeof prot_flags[0] - 8);
    }
}

void vw_trace_emit(int ok, const char *fmt, ...)
{
    DWORD err = GetLastError();
    struct line l;
    l.n = 0;
    put(&l, "virtualwin[");
    put_dec(&l, (uint64_t)syscall(SYS_gettid));
    put(&l, "] ");
    va_list ap;
    va_start(ap, fmt);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%' || !f[1]) {
            char c[2] = { *f, 0 };
            put(&l, c);
            continue;
        }
        switch (*++f) {
        case 'p': {
            void *p = va_arg(ap, void *);
            if (p)
                put_hex(&l, (uintptr_t)p);
            else
                put(&l, "NULL");
            break;
        }
        case 'z': put_hex(&l, va_arg(ap, size_t)); break;
        case 'u': put_dec(&l, va_arg(ap, unsigned)); break;
        case 'x': put_hex(&l, va_arg(ap, unsigned)); break;
        case 'A': put_flags(&l, va_arg(ap, unsigned), alloc_flags, sizeof alloc_flags / sizeof alloc_flags[0]); break;
        case 'F': put_flags(&l, va_arg(ap, unsigned), free_flags, sizeof free_flags / sizeof free_flags[0]); break;
        case 'P': put_prot(&l, va_arg(ap, unsigned)); break;
        case 'H': {
            void *h = va_arg(ap, void *);
            if (h == VW_PSEUDO_PROCESS)
                put(&l, "GetCurrentProcess()");
            else if (h)
                put_hex(&l, (uintptr_t)h);
            else
                put(&l, "NULL");
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) {
                put(&l, "NULL");
            } else if ((uintptr_t)s < 0x10000) {
                put(&l, "#");
                put_dec(&l, (uintptr_t)s);
            } else if (vw_probe_string(s, 1, sizeof l.buf)) {
                put(&l, "<unreadable ");   /* the call itself failed with ERROR_NOACCESS */
                put_hex(&l, (uintptr_t)s);
                put(&l, ">");
            } else {
                put(&l, "\"");
                put(&l, s);
                put(&l, "\"");
            }
            break;
        }
        case 'S': {
            const WCHAR *s = va_arg(ap, const WCHAR *);
            if (!s) {
                put(&l, "NULL");
                break;
            }
            if (vw_probe_string(s, sizeof *s, sizeof l.buf * sizeof *s)) {
                put(&l, "<unreadable ");
                put_hex(&l, (uintptr_t)s);
                put(&l, ">");
                break;
            }
            put(&l, "L\"");
            for (; *s && l.n < sizeof l.buf - 4; s++) {
                char c[2] = { *s < 0x80 ? (char)*s : '?', 0 };
                put(&l, c);
            }
            put(&l, "\"");
            break;
        }
        case 'b': put(&l, va_arg(ap, int) ? "TRUE" : "FALSE"); break;
        default: {
            char c[3] = { '%', *f, 0 };
            put(&l, c);
        }
        }
    }
    va_end(ap);
    if (!ok) {
        put(&l, " -> error ");
        put_dec(&l, err);
        put(&l, " (");
        put_value(&l, err, errors, sizeof errors / sizeof errors[0]);
        put(&l, ")");
    }
    l.buf[l.n++] = '\n';
    ssize_t unused = write(vw_trace_fd, l.buf, l.n);
    (void)unused;
}
