/*
 * exception.h: the native edge's exception dispatch, for the Win32 edge
 * (win32/exception.c) and between its own files.
 *
 * nt/exception.c keeps the vectored exception and continue handler lists and
 * the unhandled-exception filter, and dispatches faults (registered with the
 * core's fault handler, core/fault.h) and raised exceptions through them;
 * nt/context.c converts between CONTEXT and ucontext_t.
 */
#ifndef VW_NT_EXCEPTION_H
#define VW_NT_EXCEPTION_H

#include <virtualwin.h>

/* list 0: exception handlers, 1: continue handlers. */
PVOID exc_add(int list, ULONG first, PVECTORED_EXCEPTION_HANDLER fn);
ULONG exc_remove(int list, PVOID handle);
/* SetUnhandledExceptionFilter: the previous filter. */
LPTOP_LEVEL_EXCEPTION_FILTER exc_set_filter(LPTOP_LEVEL_EXCEPTION_FILTER f);
/* UnhandledExceptionFilter. */
LONG exc_unhandled(EXCEPTION_POINTERS *ep);
/* Dispatches a raised exception (RaiseException, RtlRaiseException) from the
 * caller's context; returns if a handler continued it. */
void exc_raise(const EXCEPTION_RECORD *rec, uintptr_t pc, uintptr_t sp);

/* context.c */
void exc_context_from(CONTEXT *c, const void *ucontext);
void exc_context_to(const CONTEXT *c, void *ucontext);
uintptr_t exc_context_pc(const CONTEXT *c);

#endif
