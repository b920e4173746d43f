/*
 * context.c: a Windows CONTEXT (the host's winnt.h layout) from a Linux
 * ucontext_t and back, for the exception dispatcher (nt/exception.c).
 *
 * x86-64: the sixteen integer registers, Rip, EFlags, the segment selectors
 * the kernel saves, and the FXSAVE area (x87, MXCSR, XMM0-15), whose layout
 * Linux's struct _libc_fpstate shares with XSAVE_FORMAT.  aarch64: X0-X28,
 * Fp, Lr, Sp, Pc, Cpsr, and V0-V31 with Fpsr/Fpcr from the signal frame's
 * FPSIMD record.  Writing back (a handler returned
 * EXCEPTION_CONTINUE_EXECUTION) stores the integer registers, the
 * instruction and stack pointers and the flags; the floating-point state is
 * stored only if a handler changed it, with MXCSR limited to the bits the
 * CPU accepts (a bad MXCSR would make the kernel refuse the frame).
 * Segment selectors and debug registers are reported, never written.
 */
#include "nt/exception.h"

#include <string.h>
#include <ucontext.h>

#if defined(__x86_64__)

_Static_assert(sizeof(CONTEXT) == 1232, "x64 CONTEXT is 1232 bytes");
_Static_assert(sizeof(XSAVE_FORMAT) == 512, "XSAVE_FORMAT is the 512-byte FXSAVE area");

/* winnt.h order Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8-R15 -> gregs. */
static const int greg_of[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                 REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                 REG_R12, REG_R13, REG_R14, REG_R15 };

static DWORD64 *ctx_reg(CONTEXT *c, int i)
{
    return &c->Rax + i;
}

void exc_context_from(CONTEXT *c, const void *ucv)
{
    const ucontext_t *uc = ucv;
    const greg_t *g = uc->uc_mcontext.gregs;
    memset(c, 0, sizeof *c);
    c->ContextFlags = CONTEXT_FULL | CONTEXT_SEGMENTS;
    for (int i = 0; i < 16; i++)
        *ctx_reg(c, i) = (DWORD64)g[greg_of[i]];
    c->Rip = (DWORD64)g[REG_RIP];
    c->EFlags = (DWORD)g[REG_EFL];
    uint64_t sel = (uint64_t)g[REG_CSGSFS];   /* cs, gs, fs, ss: 16 bits each */
    c->SegCs = (WORD)sel;
    c->SegGs = (WORD)(sel >> 16);
    c->SegFs = (WORD)(sel >> 32);
    c->SegSs = (WORD)(sel >> 48);
    if (uc->uc_mcontext.fpregs) {
        memcpy(&c->FltSave, uc->uc_mcontext.fpregs, sizeof c->FltSave);
        c->MxCsr = c->FltSave.MxCsr;
    }
}

void exc_context_to(const CONTEXT *c, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    for (int i = 0; i < 16; i++)
        g[greg_of[i]] = (greg_t) * ctx_reg((CONTEXT *)c, i);
    g[REG_RIP] = (greg_t)c->Rip;
    g[REG_EFL] = (greg_t)c->EFlags;
    XSAVE_FORMAT *fp = (XSAVE_FORMAT *)(void *)uc->uc_mcontext.fpregs;
    if (fp) {
        XSAVE_FORMAT want = c->FltSave;
        if (c->MxCsr != fp->MxCsr)
            want.MxCsr = c->MxCsr;   /* the CONTEXT's own copy changed */
        DWORD mask = fp->MxCsr_Mask ? fp->MxCsr_Mask : 0xFFBF;
        want.MxCsr &= mask;
        want.MxCsr_Mask = fp->MxCsr_Mask;
        if (memcmp(&want, fp, sizeof want) != 0)
            memcpy(fp, &want, sizeof want);
    }
}

#elif defined(__aarch64__)

_Static_assert(sizeof(CONTEXT) == 912, "ARM64 CONTEXT is 912 bytes");

/* The FPSIMD record of the signal frame's extension area, or NULL. */
static unsigned char *fpsimd_of(const ucontext_t *uc)
{
    unsigned char *p = (unsigned char *)uc->uc_mcontext.__reserved;
    unsigned char *end = p + sizeof uc->uc_mcontext.__reserved;
    while (p + 8 <= end) {
        uint32_t magic, size;
        memcpy(&magic, p, 4);
        memcpy(&size, p + 4, 4);
        if (magic == 0 || size < 8)
            return NULL;
        if (magic == 0x46508001 && size >= 16 + 32 * 16)   /* FPSIMD_MAGIC */
            return p;
        p += size;
    }
    return NULL;
}

void exc_context_from(CONTEXT *c, const void *ucv)
{
    const ucontext_t *uc = ucv;
    memset(c, 0, sizeof *c);
    c->ContextFlags = CONTEXT_FULL;
    for (int i = 0; i < 31; i++)
        c->X[i] = uc->uc_mcontext.regs[i];
    c->Sp = uc->uc_mcontext.sp;
    c->Pc = uc->uc_mcontext.pc;
    c->Cpsr = (DWORD)uc->uc_mcontext.pstate;
    const unsigned char *f = fpsimd_of(uc);
    if (f) {
        memcpy(&c->Fpsr, f + 8, 4);
        memcpy(&c->Fpcr, f + 12, 4);
        memcpy(c->V, f + 16, sizeof c->V);
    }
}

void exc_context_to(const CONTEXT *c, void *ucv)
{
    ucontext_t *uc = ucv;
    for (int i = 0; i < 31; i++)
        uc->uc_mcontext.regs[i] = c->X[i];
    uc->uc_mcontext.sp = c->Sp;
    uc->uc_mcontext.pc = c->Pc;
    /* Only the condition flags are the program's to change. */
    uc->uc_mcontext.pstate = (uc->uc_mcontext.pstate & ~0xF0000000ull) | (c->Cpsr & 0xF0000000u);
    unsigned char *f = fpsimd_of(uc);
    if (f) {
        memcpy(f + 8, &c->Fpsr, 4);
        memcpy(f + 12, &c->Fpcr, 4);
        memcpy(f + 16, c->V, sizeof c->V);
    }
}

#else
#error "CONTEXT: x86-64 and aarch64 only"
#endif

uintptr_t exc_context_pc(const CONTEXT *c)
{
#if defined(__x86_64__)
    return (uintptr_t)c->Rip;
#else
    return (uintptr_t)c->Pc;
#endif
}
