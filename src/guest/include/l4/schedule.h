/* L4 X.2 scheduling: Schedule, ThreadSwitch, SystemClock and helpers. */
#ifndef L4_SCHEDULE_H
#define L4_SCHEDULE_H

#include <l4/types.h>
#include <l4/utcb.h>

/* Schedule result: the destination's state, 0 on error (see ErrorCode). */
#define L4_SchedResultError        0
#define L4_SchedResultDead         1
#define L4_SchedResultInactive     2
#define L4_SchedResultRunning      3
#define L4_SchedResultPendingSend  4
#define L4_SchedResultSending      5
#define L4_SchedResultWaiting      6
#define L4_SchedResultReceiving    7

#define __L4_NO_CHANGE (~0UL)

typedef union {
    L4_Word64_t raw;
    struct {
        L4_Word32_t low;
        L4_Word32_t high;
    } X;
} L4_Clock_t;

L4_INLINE L4_Clock_t L4_SystemClock(void)
{
    L4_Clock_t c;
    c.raw = __l4_arch_system_clock();
    return c;
}
L4_INLINE L4_Clock_t L4_ClockAddUsec(L4_Clock_t c, L4_Word64_t us) { c.raw += us; return c; }
L4_INLINE L4_Clock_t L4_ClockSubUsec(L4_Clock_t c, L4_Word64_t us) { c.raw -= us; return c; }
L4_INLINE L4_Bool_t L4_IsClockEarlier(L4_Clock_t a, L4_Clock_t b) { return a.raw < b.raw; }
L4_INLINE L4_Bool_t L4_IsClockLater(L4_Clock_t a, L4_Clock_t b) { return a.raw > b.raw; }
L4_INLINE L4_Bool_t L4_IsClockEqual(L4_Clock_t a, L4_Clock_t b) { return a.raw == b.raw; }

L4_INLINE L4_Word_t L4_Schedule(L4_ThreadId_t dest, L4_Word_t time_control,
                                L4_Word_t processor_control, L4_Word_t prio_control,
                                L4_Word_t preemption_control, L4_Word_t *old_time_control)
{
    return __l4_arch_schedule(dest.raw, time_control, processor_control, prio_control,
                              preemption_control, old_time_control);
}

L4_INLINE L4_Word_t L4_Set_Priority(L4_ThreadId_t dest, L4_Word_t prio)
{
    L4_Word_t dummy;
    return L4_Schedule(dest, __L4_NO_CHANGE, __L4_NO_CHANGE, prio & 0xff,
                       __L4_NO_CHANGE, &dummy);
}

L4_INLINE L4_Word_t L4_Set_ProcessorNo(L4_ThreadId_t dest, L4_Word_t cpu)
{
    L4_Word_t dummy;
    return L4_Schedule(dest, __L4_NO_CHANGE, cpu & 0xffff, __L4_NO_CHANGE,
                       __L4_NO_CHANGE, &dummy);
}

/* TimeControl = timeslice << 16 | total quantum. */
L4_INLINE L4_Word_t L4_Set_Timeslice(L4_ThreadId_t dest, L4_Time_t timeslice,
                                     L4_Time_t total_quantum)
{
    L4_Word_t dummy;
    return L4_Schedule(dest, ((L4_Word_t)timeslice.raw << 16) | total_quantum.raw,
                       __L4_NO_CHANGE, __L4_NO_CHANGE, __L4_NO_CHANGE, &dummy);
}

L4_INLINE L4_Word_t L4_Timeslice(L4_ThreadId_t dest, L4_Time_t *timeslice,
                                 L4_Time_t *total_quantum)
{
    L4_Word_t old;
    L4_Word_t r = L4_Schedule(dest, __L4_NO_CHANGE, __L4_NO_CHANGE, __L4_NO_CHANGE,
                              __L4_NO_CHANGE, &old);
    timeslice->raw = (L4_Word16_t)(old >> 16);
    total_quantum->raw = (L4_Word16_t)old;
    return r;
}

L4_INLINE L4_Word_t L4_Set_PreemptionDelay(L4_ThreadId_t dest, L4_Word_t sensitive_prio,
                                           L4_Word_t max_delay)
{
    L4_Word_t dummy;
    return L4_Schedule(dest, __L4_NO_CHANGE, __L4_NO_CHANGE, __L4_NO_CHANGE,
                       ((sensitive_prio & 0xff) << 16) | (max_delay & 0xffff), &dummy);
}

L4_INLINE void L4_ThreadSwitch(L4_ThreadId_t dest) { __l4_arch_thread_switch(dest.raw); }
L4_INLINE void L4_Yield(void) { L4_ThreadSwitch(L4_nilthread); }

#endif /* L4_SCHEDULE_H */
