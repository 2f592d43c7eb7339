/*
 * L4 X.2 threads: thread ids of the caller, TCRs, ExchangeRegisters,
 * ThreadControl and the Pistachio convenience wrappers around them.
 */
#ifndef L4_THREAD_H
#define L4_THREAD_H

#include <l4/types.h>
#include <l4/utcb.h>

/* Error codes of non-IPC calls (ErrorCode TCR). */
#define L4_ErrOk                0
#define L4_ErrNoPrivilege       1
#define L4_ErrInvalidThread     2
#define L4_ErrInvalidSpace      3
#define L4_ErrInvalidScheduler  4
#define L4_ErrInvalidParam      5
#define L4_ErrUtcbArea          6
#define L4_ErrKipArea           7
#define L4_ErrNoMem             8

/* ExchangeRegisters control bits. */
#define L4_ExReg_Halt           (1 << 0)
#define L4_ExReg_AbortRecv      (1 << 1)
#define L4_ExReg_AbortSend      (1 << 2)
#define L4_ExReg_AbortIPC       (L4_ExReg_AbortRecv | L4_ExReg_AbortSend)
#define L4_ExReg_SetSp          (1 << 3)
#define L4_ExReg_SetIp          (1 << 4)
#define L4_ExReg_SetFlags       (1 << 5)
#define L4_ExReg_SetUserDefHandle (1 << 6)
#define L4_ExReg_SetPager       (1 << 7)
#define L4_ExReg_SetHalt        (1 << 8)
#define L4_ExReg_Deliver        (1 << 9)
#define L4_ExReg_Resume         L4_ExReg_SetHalt        /* halt bit 0 */
#define L4_ExReg_Stop           (L4_ExReg_SetHalt | L4_ExReg_Halt)

L4_INLINE L4_ThreadId_t L4_MyGlobalId(void)
{
    return (L4_ThreadId_t){ .raw = __L4_TCR(__L4_TCR_MY_GLOBAL_ID) };
}
L4_INLINE L4_ThreadId_t L4_Myself(void) { return L4_MyGlobalId(); }
L4_INLINE L4_ThreadId_t L4_MyLocalId(void)
{
    return (L4_ThreadId_t){ .raw = (L4_Word_t)__l4_arch_utcb() };
}

L4_INLINE L4_Word_t L4_ProcessorNo(void) { return __L4_TCR(__L4_TCR_PROCESSOR_NO); }
L4_INLINE L4_Word_t L4_UserDefinedHandle(void) { return __L4_TCR(__L4_TCR_USER_DEFINED_HANDLE); }
L4_INLINE void L4_Set_UserDefinedHandle(L4_Word_t h) { __L4_Set_TCR(__L4_TCR_USER_DEFINED_HANDLE, h); }
L4_INLINE L4_ThreadId_t L4_Pager(void) { return (L4_ThreadId_t){ .raw = __L4_TCR(__L4_TCR_PAGER) }; }
L4_INLINE void L4_Set_Pager(L4_ThreadId_t t) { __L4_Set_TCR(__L4_TCR_PAGER, t.raw); }
L4_INLINE L4_ThreadId_t L4_ExceptionHandler(void)
{
    return (L4_ThreadId_t){ .raw = __L4_TCR(__L4_TCR_EXCEPTION_HANDLER) };
}
L4_INLINE void L4_Set_ExceptionHandler(L4_ThreadId_t t) { __L4_Set_TCR(__L4_TCR_EXCEPTION_HANDLER, t.raw); }
L4_INLINE L4_Word_t L4_ThreadWord(int n) { return __L4_TCR(__L4_TCR_THREAD_WORD0 + (n & 1)); }
L4_INLINE void L4_Set_ThreadWord(int n, L4_Word_t w) { __L4_Set_TCR(__L4_TCR_THREAD_WORD0 + (n & 1), w); }
L4_INLINE L4_Word_t L4_PreemptFlags(void) { return __L4_TCR(__L4_TCR_FLAGS) & 0xff; }
L4_INLINE L4_Word_t L4_CopFlags(void) { return (__L4_TCR(__L4_TCR_FLAGS) >> 8) & 0xff; }

/* PreemptFlags (X.2): s = preemption messages to the exception handler, d =
 * delay preemption (up to the Schedule maximum delay), I = the kernel delayed
 * one (yield soon).  The setters return the flag's previous state. */
#define __L4_PREEMPT_SIGNAL  0x20
#define __L4_PREEMPT_DELAY   0x40
#define __L4_PREEMPT_PENDING 0x80
L4_INLINE L4_Bool_t __L4_Set_PreemptFlag(L4_Word_t flag, int on)
{
    L4_Word_t w = __L4_TCR(__L4_TCR_FLAGS);
    __L4_Set_TCR(__L4_TCR_FLAGS, on ? (w | flag) : (w & ~flag));
    return (w & flag) != 0;
}
L4_INLINE L4_Bool_t L4_EnablePreemptionFaultException(void)
{
    return __L4_Set_PreemptFlag(__L4_PREEMPT_SIGNAL, 1);
}
L4_INLINE L4_Bool_t L4_DisablePreemptionFaultException(void)
{
    return __L4_Set_PreemptFlag(__L4_PREEMPT_SIGNAL, 0);
}
L4_INLINE L4_Bool_t L4_DisablePreemption(void) { return __L4_Set_PreemptFlag(__L4_PREEMPT_DELAY, 1); }
L4_INLINE L4_Bool_t L4_EnablePreemption(void) { return __L4_Set_PreemptFlag(__L4_PREEMPT_DELAY, 0); }
L4_INLINE L4_Bool_t L4_PreemptionPending(void) { return (L4_PreemptFlags() & __L4_PREEMPT_PENDING) != 0; }

L4_INLINE L4_ThreadId_t L4_ExchangeRegisters(L4_ThreadId_t dest, L4_Word_t control,
                                             L4_Word_t sp, L4_Word_t ip, L4_Word_t flags,
                                             L4_Word_t user_handle, L4_ThreadId_t pager,
                                             L4_Word_t *old_control, L4_Word_t *old_sp,
                                             L4_Word_t *old_ip, L4_Word_t *old_flags,
                                             L4_Word_t *old_user_handle,
                                             L4_ThreadId_t *old_pager)
{
    L4_ThreadId_t r;
    r.raw = __l4_arch_exchange_registers(dest.raw, control, sp, ip, flags, user_handle,
                                         pager.raw, old_control, old_sp, old_ip,
                                         old_flags, old_user_handle, &old_pager->raw);
    return r;
}

/* ExchangeRegisters with the results thrown away; returns the result id. */
L4_INLINE L4_ThreadId_t __L4_ExReg(L4_ThreadId_t dest, L4_Word_t control, L4_Word_t sp,
                                   L4_Word_t ip, L4_Word_t flags, L4_Word_t handle,
                                   L4_ThreadId_t pager)
{
    L4_Word_t dummy;
    L4_ThreadId_t dummy_id;
    return L4_ExchangeRegisters(dest, control, sp, ip, flags, handle, pager,
                                &dummy, &dummy, &dummy, &dummy, &dummy, &dummy_id);
}

L4_INLINE L4_Word_t L4_ThreadControl(L4_ThreadId_t dest, L4_ThreadId_t space_specifier,
                                     L4_ThreadId_t scheduler, L4_ThreadId_t pager,
                                     void *utcb_location)
{
    return __l4_arch_thread_control(dest.raw, space_specifier.raw, scheduler.raw,
                                    pager.raw, (L4_Word_t)utcb_location);
}

/* Global <-> local id translation: ExchangeRegisters with control 0
 * returns the other form of the id (same address space only). */
L4_INLINE L4_ThreadId_t L4_GlobalIdOf(L4_ThreadId_t t)
{
    if (L4_IsLocalId(t) && !L4_IsNilThread(t))
        return __L4_ExReg(t, 0, 0, 0, 0, 0, L4_nilthread);
    return t;
}
L4_INLINE L4_ThreadId_t L4_LocalIdOf(L4_ThreadId_t t)
{
    if (L4_IsGlobalId(t))
        return __L4_ExReg(t, 0, 0, 0, 0, 0, L4_nilthread);
    return t;
}
L4_INLINE L4_Bool_t L4_SameThreads(L4_ThreadId_t a, L4_ThreadId_t b)
{
    return L4_GlobalIdOf(a).raw == L4_GlobalIdOf(b).raw;
}

L4_INLINE void L4_Start(L4_ThreadId_t t)
{
    __L4_ExReg(t, L4_ExReg_Resume | L4_ExReg_AbortIPC, 0, 0, 0, 0, L4_nilthread);
}
L4_INLINE void L4_Start_SpIp(L4_ThreadId_t t, L4_Word_t sp, L4_Word_t ip)
{
    __L4_ExReg(t, L4_ExReg_Resume | L4_ExReg_AbortIPC | L4_ExReg_SetSp | L4_ExReg_SetIp,
               sp, ip, 0, 0, L4_nilthread);
}
L4_INLINE void L4_Start_SpIpFlags(L4_ThreadId_t t, L4_Word_t sp, L4_Word_t ip,
                                  L4_Word_t flags)
{
    __L4_ExReg(t, L4_ExReg_Resume | L4_ExReg_AbortIPC | L4_ExReg_SetSp | L4_ExReg_SetIp
                  | L4_ExReg_SetFlags, sp, ip, flags, 0, L4_nilthread);
}

/* Halt a thread (optionally cancelling its IPC); returns the old control. */
L4_INLINE L4_Word_t __L4_StopWith(L4_ThreadId_t t, L4_Word_t extra)
{
    L4_Word_t control, dummy;
    L4_ThreadId_t dummy_id;
    L4_ExchangeRegisters(t, L4_ExReg_Stop | L4_ExReg_Deliver | extra, 0, 0, 0, 0,
                         L4_nilthread, &control, &dummy, &dummy, &dummy, &dummy,
                         &dummy_id);
    return control;
}
L4_INLINE L4_Word_t L4_Stop(L4_ThreadId_t t) { return __L4_StopWith(t, 0); }
L4_INLINE L4_Word_t L4_AbortReceive_and_stop(L4_ThreadId_t t) { return __L4_StopWith(t, L4_ExReg_AbortRecv); }
L4_INLINE L4_Word_t L4_AbortSend_and_stop(L4_ThreadId_t t) { return __L4_StopWith(t, L4_ExReg_AbortSend); }
L4_INLINE L4_Word_t L4_AbortIpc_and_stop(L4_ThreadId_t t) { return __L4_StopWith(t, L4_ExReg_AbortIPC); }

L4_INLINE L4_Word_t L4_UserDefinedHandleOf(L4_ThreadId_t t)
{
    L4_Word_t dummy, handle;
    L4_ThreadId_t dummy_id;
    L4_ExchangeRegisters(t, L4_ExReg_Deliver, 0, 0, 0, 0, L4_nilthread,
                         &dummy, &dummy, &dummy, &dummy, &handle, &dummy_id);
    return handle;
}
L4_INLINE void L4_Set_UserDefinedHandleOf(L4_ThreadId_t t, L4_Word_t handle)
{
    __L4_ExReg(t, L4_ExReg_SetUserDefHandle, 0, 0, 0, handle, L4_nilthread);
}
L4_INLINE L4_ThreadId_t L4_PagerOf(L4_ThreadId_t t)
{
    L4_Word_t dummy;
    L4_ThreadId_t pager;
    L4_ExchangeRegisters(t, L4_ExReg_Deliver, 0, 0, 0, 0, L4_nilthread,
                         &dummy, &dummy, &dummy, &dummy, &dummy, &pager);
    return pager;
}
L4_INLINE void L4_Set_PagerOf(L4_ThreadId_t t, L4_ThreadId_t pager)
{
    __L4_ExReg(t, L4_ExReg_SetPager, 0, 0, 0, 0, pager);
}

/* Interrupt threads: the pager of an interrupt thread is its handler. */
L4_INLINE L4_Word_t L4_AssociateInterrupt(L4_ThreadId_t irq, L4_ThreadId_t handler)
{
    return L4_ThreadControl(irq, irq, L4_nilthread, handler, (void *)-1);
}
L4_INLINE L4_Word_t L4_DeassociateInterrupt(L4_ThreadId_t irq)
{
    return L4_ThreadControl(irq, irq, L4_nilthread, irq, (void *)-1);
}

#endif /* L4_THREAD_H */
