/* schedule: priorities, thread states reported by Schedule, timeslices,
 * ThreadSwitch, priority-ordered wakeup, round robin between threads that
 * spin in user mode (preemption), and the priority of interrupt threads. */
#include "l4test.h"

#define G "schedule"

static volatile L4_Word_t order[3];
static volatile int order_len;

/* The state must show up (a thread of lower priority gets there while we
 * wait) and stay: check it twice. */
static void check_state(const char *name, L4_ThreadId_t t, L4_Word_t expected)
{
    L4_Word_t s = wait_state(t, expected);
    if (s == expected)
        s = thread_state(t);
    check(G, name, s == expected, "Schedule result %lu, want %lu (error %lu)", s, expected,
          L4_ErrorCode());
}

static void send_to_main(void)
{
    L4_LoadMR(0, 0);
    L4_Send(main_tid);
}

static void states(void)
{
    L4_Word_t r = L4_Set_Priority(main_tid, 200);
    check(G, "set-priority-self", r == L4_SchedResultRunning, "result %lu, error %lu", r,
          L4_ErrorCode());

    L4_ThreadId_t t = thread_spawn(park);
    r = L4_Set_Priority(t, 50);
    check(G, "set-priority-other", r != L4_SchedResultError, "result %lu, error %lu", r,
          L4_ErrorCode());
    check_state("state-waiting", t, L4_SchedResultWaiting);
    thread_kill(t);

    t = thread_create(park, 0);
    check_state("state-inactive", t, L4_SchedResultInactive);
    thread_kill(t);

    t = thread_spawn(send_to_main);
    check_state("state-pending-send", t, L4_SchedResultPendingSend);
    L4_Receive_Timeout(t, L4_ZeroTime);
    thread_kill(t);

    r = thread_state(unused_thread_id());
    check(G, "invalid-thread", r == L4_SchedResultError && L4_ErrorCode() == L4_ErrInvalidThread,
          "result %lu, error %lu", r, L4_ErrorCode());
}

static void timeslice(void)
{
    L4_ThreadId_t t = thread_spawn(park);
    L4_Time_t ts, tq, want = L4_TimePeriod(5000);
    L4_Word_t r = L4_Set_Timeslice(t, want, L4_Never);
    L4_Timeslice(t, &ts, &tq);
    check(G, "timeslice", r != L4_SchedResultError && ts.raw == want.raw && tq.raw == 0,
          "set result %lu, timeslice 0x%x quantum 0x%x, want 0x%x", r, ts.raw, tq.raw,
          want.raw);
    thread_kill(t);
}

static void thread_switch(void)
{
    L4_ThreadSwitch(main_tid);
    check(G, "threadswitch-self", 1, "");
    L4_ThreadSwitch(L4_nilthread);
    check(G, "threadswitch-nil", 1, "");
}

/* Three threads with different priorities become ready together; they
 * must run highest first.  Each logs itself and then tells us (label 0x0d):
 * while we wait for those messages, the highest ready thread runs. */
static void wait_then_log(void)
{
    L4_Receive(main_tid);
    order[order_len++] = L4_Myself().raw;
    L4_LoadMR(0, L4_MsgTagMake(0x0d, 0, 0).raw);
    L4_Send(main_tid);
}

static void priority_order(void)
{
    static const L4_Word_t prio[3] = { 10, 30, 20 };
    L4_ThreadId_t t[3], from;
    order_len = 0;
    for (int i = 0; i < 3; i++) {
        t[i] = thread_spawn(wait_then_log);
        L4_Set_Priority(t[i], prio[i]);
    }
    for (int i = 0; i < 3; i++)         /* all wait for us now */
        wait_state(t[i], L4_SchedResultWaiting);
    for (int i = 0; i < 3; i++) {
        L4_LoadMR(0, 0);
        L4_Send_Timeout(t[i], ms(100));
    }
    /* all three are ready now; they run while we wait for them */
    for (int i = 0; i < 3; i++)
        L4_Wait_Timeout(ms(2000), &from);
    check(G, "priority-order",
          order_len == 3 && order[0] == t[1].raw && order[1] == t[2].raw && order[2] == t[0].raw,
          "%d ran, order %lx %lx %lx", order_len, order[0], order[1], order[2]);
    for (int i = 0; i < 3; i++)
        thread_kill(t[i]);
}

/* Two threads of equal priority that never enter the kernel: the timer
 * preempts each at the end of its timeslice, so both make progress while
 * we sleep. */
static volatile L4_Word_t spun[2];
static void spin0(void) { for (;;) spun[0]++; }
static void spin1(void) { for (;;) spun[1]++; }

static void round_robin(void)
{
    L4_ThreadId_t a = thread_spawn(spin0), b = thread_spawn(spin1);
    L4_Set_Priority(a, 50);
    L4_Set_Priority(b, 50);
    L4_Sleep(ms(200));
    L4_Word_t x = spun[0], y = spun[1];
    check(G, "round-robin-spinners", x > 0 && y > 0, "progress %lu and %lu", x, y);
    thread_kill(a);
    thread_kill(b);
}

/* Pistachio's l4test: an interrupt thread has a priority once associated. */
static void irq_priority(void)
{
    L4_ThreadId_t irq = L4_GlobalId(3, 1);
    L4_Word_t r = L4_Set_Priority(irq, 10);
    check(G, "irq-priority-unassociated", r == L4_SchedResultError,
          "result %lu, error %lu", r, L4_ErrorCode());
    L4_AssociateInterrupt(irq, main_tid);
    r = L4_Set_Priority(irq, 10);
    check(G, "irq-priority-associated", r != L4_SchedResultError,
          "result %lu, error %lu", r, L4_ErrorCode());
    L4_DeassociateInterrupt(irq);
}

/* X.2 preemption messages: a thread with PreemptFlags s whose sensitive
 * priority covers ours is preempted by our wakeup (a timeout: not its own
 * call); when it runs again it tells its exception handler (us) with a
 * message labelled -3 << 4 (u = 2: the time of the preemption). */
#define PREEMPT_LABEL ((L4_Word_t)(-3L << 4) & (~0UL >> 16))
static volatile L4_Word_t signalled_spins;
static void signalled_spinner(void)
{
    L4_Set_ExceptionHandler(main_tid);
    L4_EnablePreemptionFaultException();
    for (;;)
        signalled_spins++;
}

static void preemption_message(void)
{
    L4_ThreadId_t t = thread_spawn(signalled_spinner);
    L4_Set_Priority(t, 50);
    L4_Set_PreemptionDelay(t, 250, 0);
    L4_Word64_t t0 = L4_SystemClock().raw;
    L4_Sleep(ms(30));               /* it spins; our wakeup preempts it */
    L4_MsgTag_t tag = L4_Receive_Timeout(t, ms(200));
    L4_Word_t lo = 0, hi = 0;
    L4_StoreMR(1, &lo);
    L4_StoreMR(2, &hi);
    L4_Word64_t at = lo;
    if (sizeof(L4_Word_t) == 4)
        at |= (L4_Word64_t)hi << 32;
    check(G, "preemption-message",
          L4_IpcSucceeded(tag) && L4_Label(tag) == PREEMPT_LABEL && L4_UntypedWords(tag) == 2
          && signalled_spins > 0 && at >= t0 + 30000,
          "tag %lx (error %lx), preempted at %lu us after sleeping for 30000", tag.raw,
          L4_ErrorCode(), (L4_Word_t)(at - t0));
    thread_kill(t);
}

void schedule_tests(void)
{
    states();
    timeslice();
    thread_switch();
    priority_order();
    round_robin();
    preemption_message();
    irq_priority();
    thread_kill_all();
}
