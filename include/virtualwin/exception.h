/*
 * virtualwin/exception.h: structured exceptions as Windows code sees them
 * (libvirtualwin): EXCEPTION_RECORD, CONTEXT, EXCEPTION_POINTERS, the
 * exception codes, vectored exception and continue handlers, the
 * unhandled-exception filter and RaiseException (kernel32), and the native
 * RtlAddVectoredExceptionHandler family and RtlRaiseException (ntdll).
 *
 * Layouts are the Windows SDK's for the host: CONTEXT is winnt.h's x64
 * CONTEXT (1232 bytes, 16-byte aligned) on x86-64 and its ARM64 CONTEXT
 * (912 bytes) on aarch64.  Included by <virtualwin.h>; usable from C (C99
 * and later, -pedantic) and C++.
 */
#ifndef VIRTUALWIN_EXCEPTION_H
#define VIRTUALWIN_EXCEPTION_H

#include <virtualwin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- exception codes (winnt.h: STATUS_* as DWORD, EXCEPTION_* the same) ---- */
#ifndef STATUS_DATATYPE_MISALIGNMENT
#define STATUS_DATATYPE_MISALIGNMENT     ((DWORD)0x80000002L)
#endif
#ifndef STATUS_BREAKPOINT
#define STATUS_BREAKPOINT                ((DWORD)0x80000003L)
#endif
#ifndef STATUS_SINGLE_STEP
#define STATUS_SINGLE_STEP               ((DWORD)0x80000004L)
#endif
#ifndef STATUS_IN_PAGE_ERROR
#define STATUS_IN_PAGE_ERROR             ((DWORD)0xC0000006L)
#endif
#ifndef STATUS_ILLEGAL_INSTRUCTION
#define STATUS_ILLEGAL_INSTRUCTION       ((DWORD)0xC000001DL)
#endif
#ifndef STATUS_NONCONTINUABLE_EXCEPTION
#define STATUS_NONCONTINUABLE_EXCEPTION  ((DWORD)0xC0000025L)
#endif
#ifndef STATUS_INVALID_DISPOSITION
#define STATUS_INVALID_DISPOSITION       ((DWORD)0xC0000026L)
#endif
#ifndef STATUS_ARRAY_BOUNDS_EXCEEDED
#define STATUS_ARRAY_BOUNDS_EXCEEDED     ((DWORD)0xC000008CL)
#endif
#ifndef STATUS_FLOAT_DENORMAL_OPERAND
#define STATUS_FLOAT_DENORMAL_OPERAND    ((DWORD)0xC000008DL)
#endif
#ifndef STATUS_FLOAT_DIVIDE_BY_ZERO
#define STATUS_FLOAT_DIVIDE_BY_ZERO      ((DWORD)0xC000008EL)
#endif
#ifndef STATUS_FLOAT_INEXACT_RESULT
#define STATUS_FLOAT_INEXACT_RESULT      ((DWORD)0xC000008FL)
#endif
#ifndef STATUS_FLOAT_INVALID_OPERATION
#define STATUS_FLOAT_INVALID_OPERATION   ((DWORD)0xC0000090L)
#endif
#ifndef STATUS_FLOAT_OVERFLOW
#define STATUS_FLOAT_OVERFLOW            ((DWORD)0xC0000091L)
#endif
#ifndef STATUS_FLOAT_STACK_CHECK
#define STATUS_FLOAT_STACK_CHECK         ((DWORD)0xC0000092L)
#endif
#ifndef STATUS_FLOAT_UNDERFLOW
#define STATUS_FLOAT_UNDERFLOW           ((DWORD)0xC0000093L)
#endif
#ifndef STATUS_INTEGER_DIVIDE_BY_ZERO
#define STATUS_INTEGER_DIVIDE_BY_ZERO    ((DWORD)0xC0000094L)
#endif
#ifndef STATUS_INTEGER_OVERFLOW
#define STATUS_INTEGER_OVERFLOW          ((DWORD)0xC0000095L)
#endif
#ifndef STATUS_PRIVILEGED_INSTRUCTION
#define STATUS_PRIVILEGED_INSTRUCTION    ((DWORD)0xC0000096L)
#endif
#ifndef STATUS_STACK_OVERFLOW
#define STATUS_STACK_OVERFLOW            ((DWORD)0xC00000FDL)
#endif

#define EXCEPTION_ACCESS_VIOLATION         STATUS_ACCESS_VIOLATION
#define EXCEPTION_DATATYPE_MISALIGNMENT    STATUS_DATATYPE_MISALIGNMENT
#define EXCEPTION_BREAKPOINT               STATUS_BREAKPOINT
#define EXCEPTION_SINGLE_STEP              STATUS_SINGLE_STEP
#define EXCEPTION_ARRAY_BOUNDS_EXCEEDED    STATUS_ARRAY_BOUNDS_EXCEEDED
#define EXCEPTION_FLT_DENORMAL_OPERAND     STATUS_FLOAT_DENORMAL_OPERAND
#define EXCEPTION_FLT_DIVIDE_BY_ZERO       STATUS_FLOAT_DIVIDE_BY_ZERO
#define EXCEPTION_FLT_INEXACT_RESULT       STATUS_FLOAT_INEXACT_RESULT
#define EXCEPTION_FLT_INVALID_OPERATION    STATUS_FLOAT_INVALID_OPERATION
#define EXCEPTION_FLT_OVERFLOW             STATUS_FLOAT_OVERFLOW
#define EXCEPTION_FLT_STACK_CHECK          STATUS_FLOAT_STACK_CHECK
#define EXCEPTION_FLT_UNDERFLOW            STATUS_FLOAT_UNDERFLOW
#define EXCEPTION_INT_DIVIDE_BY_ZERO       STATUS_INTEGER_DIVIDE_BY_ZERO
#define EXCEPTION_INT_OVERFLOW             STATUS_INTEGER_OVERFLOW
#define EXCEPTION_PRIV_INSTRUCTION         STATUS_PRIVILEGED_INSTRUCTION
#define EXCEPTION_IN_PAGE_ERROR            STATUS_IN_PAGE_ERROR
#define EXCEPTION_ILLEGAL_INSTRUCTION      STATUS_ILLEGAL_INSTRUCTION
#define EXCEPTION_NONCONTINUABLE_EXCEPTION STATUS_NONCONTINUABLE_EXCEPTION
#define EXCEPTION_STACK_OVERFLOW           STATUS_STACK_OVERFLOW
#define EXCEPTION_INVALID_DISPOSITION      STATUS_INVALID_DISPOSITION
#define EXCEPTION_GUARD_PAGE               STATUS_GUARD_PAGE_VIOLATION

/* ExceptionFlags, filter and handler results. */
#define EXCEPTION_NONCONTINUABLE  0x1
#define EXCEPTION_UNWINDING       0x2
#define EXCEPTION_EXIT_UNWIND     0x4
#define EXCEPTION_STACK_INVALID   0x8
#define EXCEPTION_NESTED_CALL     0x10
#define EXCEPTION_TARGET_UNWIND   0x20
#define EXCEPTION_COLLIDED_UNWIND 0x40
#define EXCEPTION_SOFTWARE_ORIGINATE 0x80
#define EXCEPTION_EXECUTE_HANDLER     1
#define EXCEPTION_CONTINUE_SEARCH     0
#define EXCEPTION_CONTINUE_EXECUTION  (-1)
#define EXCEPTION_MAXIMUM_PARAMETERS  15

typedef struct _EXCEPTION_RECORD {
    DWORD ExceptionCode;
    DWORD ExceptionFlags;
    struct _EXCEPTION_RECORD *ExceptionRecord;
    PVOID ExceptionAddress;
    DWORD NumberParameters;
    ULONG_PTR ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD, *PEXCEPTION_RECORD;

/* ---- CONTEXT ------------------------------------------------------------- */
#if defined(__aarch64__) || defined(_M_ARM64)

#define CONTEXT_ARM64           0x00400000L
#define CONTEXT_CONTROL         (CONTEXT_ARM64 | 0x1L)
#define CONTEXT_INTEGER         (CONTEXT_ARM64 | 0x2L)
#define CONTEXT_FLOATING_POINT  (CONTEXT_ARM64 | 0x4L)
#define CONTEXT_DEBUG_REGISTERS (CONTEXT_ARM64 | 0x8L)
#define CONTEXT_FULL            (CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_FLOATING_POINT)
#define CONTEXT_ALL             (CONTEXT_FULL | CONTEXT_DEBUG_REGISTERS)
#define ARM64_MAX_BREAKPOINTS 8
#define ARM64_MAX_WATCHPOINTS 2

typedef union DECLSPEC_ALIGN(16) _ARM64_NT_NEON128 {
    VW_NAMELESS struct {
        ULONGLONG Low;
        LONGLONG High;
    } DUMMYSTRUCTNAME;
    double D[2];
    float S[4];
    WORD H[8];
    BYTE B[16];
} ARM64_NT_NEON128, *PARM64_NT_NEON128;

typedef struct DECLSPEC_ALIGN(16) _CONTEXT {
    DWORD ContextFlags;
    DWORD Cpsr;
    VW_NAMELESS union {
        VW_NAMELESS struct {
            DWORD64 X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15;
            DWORD64 X16, X17, X18, X19, X20, X21, X22, X23, X24, X25, X26, X27, X28;
            DWORD64 Fp;
            DWORD64 Lr;
        } DUMMYSTRUCTNAME;
        DWORD64 X[31];
    } DUMMYUNIONNAME;
    DWORD64 Sp;
    DWORD64 Pc;
    ARM64_NT_NEON128 V[32];
    DWORD Fpcr;
    DWORD Fpsr;
    DWORD Bcr[ARM64_MAX_BREAKPOINTS];
    DWORD64 Bvr[ARM64_MAX_BREAKPOINTS];
    DWORD Wcr[ARM64_MAX_WATCHPOINTS];
    DWORD64 Wvr[ARM64_MAX_WATCHPOINTS];
} CONTEXT, *PCONTEXT;

#else /* x64 */

#define CONTEXT_AMD64           0x00100000L
#define CONTEXT_CONTROL         (CONTEXT_AMD64 | 0x1L)
#define CONTEXT_INTEGER         (CONTEXT_AMD64 | 0x2L)
#define CONTEXT_SEGMENTS        (CONTEXT_AMD64 | 0x4L)
#define CONTEXT_FLOATING_POINT  (CONTEXT_AMD64 | 0x8L)
#define CONTEXT_DEBUG_REGISTERS (CONTEXT_AMD64 | 0x10L)
#define CONTEXT_FULL            (CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_FLOATING_POINT)
#define CONTEXT_ALL             (CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_SEGMENTS | \
                                 CONTEXT_FLOATING_POINT | CONTEXT_DEBUG_REGISTERS)

typedef struct DECLSPEC_ALIGN(16) _M128A {
    ULONGLONG Low;
    LONGLONG High;
} M128A, *PM128A;

/* The FXSAVE area: the layout of Linux's struct _libc_fpstate too. */
typedef struct DECLSPEC_ALIGN(16) _XSAVE_FORMAT {
    WORD ControlWord;
    WORD StatusWord;
    BYTE TagWord;
    BYTE Reserved1;
    WORD ErrorOpcode;
    DWORD ErrorOffset;
    WORD ErrorSelector;
    WORD Reserved2;
    DWORD DataOffset;
    WORD DataSelector;
    WORD Reserved3;
    DWORD MxCsr;
    DWORD MxCsr_Mask;
    M128A FloatRegisters[8];
    M128A XmmRegisters[16];
    BYTE Reserved4[96];
} XSAVE_FORMAT, *PXSAVE_FORMAT;
typedef XSAVE_FORMAT XMM_SAVE_AREA32, *PXMM_SAVE_AREA32;

typedef struct DECLSPEC_ALIGN(16) _CONTEXT {
    DWORD64 P1Home, P2Home, P3Home, P4Home, P5Home, P6Home;
    DWORD ContextFlags;
    DWORD MxCsr;
    WORD SegCs, SegDs, SegEs, SegFs, SegGs, SegSs;
    DWORD EFlags;
    DWORD64 Dr0, Dr1, Dr2, Dr3, Dr6, Dr7;
    DWORD64 Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi;
    DWORD64 R8, R9, R10, R11, R12, R13, R14, R15;
    DWORD64 Rip;
    VW_NAMELESS union {
        XMM_SAVE_AREA32 FltSave;
        VW_NAMELESS struct {
            M128A Header[2];
            M128A Legacy[8];
            M128A Xmm0, Xmm1, Xmm2, Xmm3, Xmm4, Xmm5, Xmm6, Xmm7;
            M128A Xmm8, Xmm9, Xmm10, Xmm11, Xmm12, Xmm13, Xmm14, Xmm15;
        } DUMMYSTRUCTNAME;
    } DUMMYUNIONNAME;
    M128A VectorRegister[26];
    DWORD64 VectorControl;
    DWORD64 DebugControl;
    DWORD64 LastBranchToRip;
    DWORD64 LastBranchFromRip;
    DWORD64 LastExceptionToRip;
    DWORD64 LastExceptionFromRip;
} CONTEXT, *PCONTEXT;

#endif

typedef struct _EXCEPTION_POINTERS {
    PEXCEPTION_RECORD ExceptionRecord;
    PCONTEXT ContextRecord;
} EXCEPTION_POINTERS, *PEXCEPTION_POINTERS;

typedef LONG (NTAPI *PVECTORED_EXCEPTION_HANDLER)(struct _EXCEPTION_POINTERS *ExceptionInfo);
typedef LONG (WINAPI *PTOP_LEVEL_EXCEPTION_FILTER)(struct _EXCEPTION_POINTERS *ExceptionInfo);
typedef PTOP_LEVEL_EXCEPTION_FILTER LPTOP_LEVEL_EXCEPTION_FILTER;

/* ---- kernel32 ----------------------------------------------------------------- */
WINBASEAPI PVOID WINAPI AddVectoredExceptionHandler(ULONG First,
                                                    PVECTORED_EXCEPTION_HANDLER Handler);
WINBASEAPI ULONG WINAPI RemoveVectoredExceptionHandler(PVOID Handle);
WINBASEAPI PVOID WINAPI AddVectoredContinueHandler(ULONG First,
                                                   PVECTORED_EXCEPTION_HANDLER Handler);
WINBASEAPI ULONG WINAPI RemoveVectoredContinueHandler(PVOID Handle);
WINBASEAPI LPTOP_LEVEL_EXCEPTION_FILTER WINAPI SetUnhandledExceptionFilter(
    LPTOP_LEVEL_EXCEPTION_FILTER lpTopLevelExceptionFilter);
WINBASEAPI LONG WINAPI UnhandledExceptionFilter(struct _EXCEPTION_POINTERS *ExceptionInfo);
WINBASEAPI void WINAPI RaiseException(DWORD dwExceptionCode, DWORD dwExceptionFlags,
                                      DWORD nNumberOfArguments, const ULONG_PTR *lpArguments);

/* ---- ntdll -------------------------------------------------------------------- */
WINBASEAPI PVOID NTAPI RtlAddVectoredExceptionHandler(ULONG First,
                                                      PVECTORED_EXCEPTION_HANDLER Handler);
WINBASEAPI ULONG NTAPI RtlRemoveVectoredExceptionHandler(PVOID Handle);
WINBASEAPI PVOID NTAPI RtlAddVectoredContinueHandler(ULONG First,
                                                     PVECTORED_EXCEPTION_HANDLER Handler);
WINBASEAPI ULONG NTAPI RtlRemoveVectoredContinueHandler(PVOID Handle);
WINBASEAPI void NTAPI RtlRaiseException(PEXCEPTION_RECORD ExceptionRecord);

#ifdef __cplusplus
}
#endif

#endif /* VIRTUALWIN_EXCEPTION_H */
