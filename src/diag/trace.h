/*
 * trace.h: VIRTUALWIN_TRACE, one line per API call with its arguments decoded,
 * its result and, on failure, the last error.
 *
 * Off by default: the cost is one load and a predicted-not-taken branch per
 * call.  On: each line is formatted into a stack buffer and written with one
 * write(2) (no stdio, no malloc; lines up to PIPE_BUF do not interleave).
 * VIRTUALWIN_TRACE=1 writes to stderr; any other value but 0 is a file path,
 * opened for appending.  GetLastError, SetLastError and GetCurrentProcess are
 * not traced: they would drown the log, and their effect shows in the lines
 * around them.
 */
#ifndef VW_TRACE_H
#define VW_TRACE_H

extern int vw_trace_fd;   /* -1: tracing off */

/* Reads VIRTUALWIN_TRACE (from vw_init_slow). */
void vw_trace_open(void);

/* Formats and writes one line.  Conversions: %p pointer, %z size (hex),
 * %u DWORD (decimal), %x DWORD (hex), %A allocation type, %F free type,
 * %P protection, %H process handle, %s string, %S wide string, %b BOOL.
 * `ok` 0 appends the last error, decoded. */
void vw_trace_emit(int ok, const char *fmt, ...);

#define VW_TRACE(ok, ...)                                                                  \
    do {                                                                                   \
        if (__builtin_expect(vw_trace_fd >= 0, 0))                                         \
            vw_trace_emit((ok), __VA_ARGS__);                                              \
    } while (0)

#endif
