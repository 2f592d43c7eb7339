/* exreg: ExchangeRegisters on ourselves, on running and inactive threads. */
#include "l4test.h"

#define G "exreg"

struct exreg_result {
    L4_ThreadId_t tid, pager;
    L4_Word_t control, sp, ip, flags, handle;
};

static struct exreg_result exreg(L4_ThreadId_t t, L4_Word_t control, L4_Word_t sp,
                                 L4_Word_t ip, L4_Word_t flags, L4_Word_t handle,
                                 L4_ThreadId_t pager)
{
    struct exreg_result r;
    r.tid = L4_ExchangeRegisters(t, control, sp, ip, flags, handle, pager, &r.control,
                                 &r.sp, &r.ip, &r.flags, &r.handle, &r.pager);
    return r;
}

static volatile L4_Word_t counter;

/* Count one run, tell main (label 0xc0) and park. */
static void count_and_signal(void)
{
    counter++;
    L4_LoadMR(0, L4_MsgTagMake(0xc0, 0, 0).raw);
    L4_Send(main_tid);
    park();
}

/* Wait for t's "I ran" message; 1 if it came. */
static int ran_once(L4_ThreadId_t t)
{
    L4_MsgTag_t tag = L4_Receive_Timeout(t, ms(2000));
    return L4_IpcSucceeded(tag) && L4_Label(tag) == 0xc0;
}

static void ids(void)
{
    struct exreg_result r = exreg(unused_thread_id(), 0, 0, 0, 0, 0, L4_nilthread);
    check(G, "unused-tid", L4_IsNilThread(r.tid), "returned 0x%lx", r.tid.raw);
    check(G, "local-to-global", L4_GlobalIdOf(L4_MyLocalId()).raw == main_tid.raw,
          "GlobalIdOf(0x%lx) = 0x%lx, want 0x%lx", L4_MyLocalId().raw,
          L4_GlobalIdOf(L4_MyLocalId()).raw, main_tid.raw);
    check(G, "global-to-local", L4_LocalIdOf(main_tid).raw == L4_MyLocalId().raw,
          "LocalIdOf(0x%lx) = 0x%lx, want 0x%lx", main_tid.raw,
          L4_LocalIdOf(main_tid).raw, L4_MyLocalId().raw);
}

/* Write each register through its control bit, then read it back. */
static void set_and_get(void)
{
    L4_ThreadId_t t = thread_spawn(park);
    wait_state(t, L4_SchedResultWaiting);
    L4_Word_t sp = thread_stack_top(t) - 64, ip = thread_entry();

    exreg(t, L4_ExReg_Stop | L4_ExReg_SetSp | L4_ExReg_SetIp, sp, ip, 0, 0, L4_nilthread);
    struct exreg_result r = exreg(t, L4_ExReg_Deliver, 0, 0, 0, 0, L4_nilthread);
    check(G, "set-sp", r.sp == sp, "sp 0x%lx, want 0x%lx", r.sp, sp);
    check(G, "set-ip", r.ip == ip, "ip 0x%lx, want 0x%lx", r.ip, ip);
    check(G, "halted", (r.control & L4_ExReg_Halt) != 0, "old control 0x%lx", r.control);

    exreg(t, L4_ExReg_SetFlags, 0, 0, r.flags, 0, L4_nilthread);
    L4_Word_t flags = exreg(t, L4_ExReg_Deliver, 0, 0, 0, 0, L4_nilthread).flags;
    check(G, "set-flags", flags == r.flags, "flags 0x%lx, want 0x%lx", flags, r.flags);

    L4_Set_UserDefinedHandleOf(t, 0x1234abcd);
    check(G, "set-user-handle", L4_UserDefinedHandleOf(t) == 0x1234abcd, "handle 0x%lx",
          L4_UserDefinedHandleOf(t));

    L4_ThreadId_t pager = L4_GlobalId(L4_ThreadNo(main_tid), 7);
    L4_Set_PagerOf(t, pager);
    check(G, "set-pager", L4_PagerOf(t).raw == pager.raw, "pager 0x%lx, want 0x%lx",
          L4_PagerOf(t).raw, pager.raw);
    thread_kill(t);
}

/* Reset ip/sp of a thread over and over (Pistachio's ExReg thrash).  Each
 * start makes the thread count one run and tell us; we run at a higher
 * priority, so nothing depends on how long anything takes. */
static void thrash(void)
{
    const L4_Word_t rounds = 20;
    L4_Word_t signals = 0;
    counter = 0;
    L4_ThreadId_t t = thread_spawn(count_and_signal);
    signals += ran_once(t);
    for (L4_Word_t i = 0; i < rounds; i++) {
        /* it is parked or about to park: abort that, restart at the entry */
        L4_Start_SpIp(t, thread_stack_top(t), thread_entry());
        signals += ran_once(t);
    }
    check(G, "thrash-wait", counter == rounds + 1 && signals == rounds + 1,
          "thread ran %lu times, %lu messages, want %lu", counter, signals, rounds + 1);

    /* many restarts while it cannot run: it runs once, from the entry */
    L4_Word_t before = counter;
    for (int i = 0; i < 50; i++)
        L4_Start_SpIp(t, thread_stack_top(t), thread_entry());
    int ran = ran_once(t);
    struct exreg_result r = exreg(t, 0, 0, 0, 0, 0, L4_nilthread);
    L4_MsgTag_t again = L4_Receive_Timeout(t, L4_ZeroTime);
    check(G, "thrash-nowait",
          ran && counter == before + 1 && L4_IpcFailed(again) && !L4_IsNilThread(r.tid),
          "ran %lu times after 50 restarts (signal %d, second signal %d), exreg 0x%lx",
          counter - before, ran, L4_IpcSucceeded(again), r.tid.raw);
    thread_kill(t);
}

static void send_to_main(void)
{
    L4_LoadMR(0, L4_MsgTagMake(0x5e, 0, 0).raw);
    L4_Send(main_tid);
}

static void creation(void)
{
    /* ExReg (with every "set" bit) on a thread that does not exist yet:
     * nil, InvalidThread, no side effect; then create it */
    L4_ThreadId_t t = thread_create(send_to_main, 1);
    thread_kill(t);
    struct exreg_result r = exreg(t, L4_ExReg_AbortIPC | L4_ExReg_SetSp | L4_ExReg_SetIp
                                  | L4_ExReg_SetPager, 0, 0, 0, 0, main_tid);
    L4_Word_t err = L4_ErrorCode();
    L4_ThreadId_t again = thread_create(send_to_main, 1);
    check(G, "then-threadcontrol",
          L4_IsNilThread(r.tid) && err == L4_ErrInvalidThread && again.raw == t.raw,
          "exreg gave 0x%lx (error %lu), create gave 0x%lx", r.tid.raw, err, again.raw);
    thread_kill(again);

    /* a created thread that was never started (it waits for its start
     * message) is started by ExchangeRegisters with control (0x33 << 3) + 6:
     * sp, ip, pager, resume, abort its IPC (Pistachio's "ExchangeRegisters
     * on inactive thread") */
    t = thread_create(send_to_main, 1);
    r = exreg(t, (0x33 << 3) + 6, thread_stack_top(t), thread_entry(), 0, 0, main_tid);
    L4_MsgTag_t tag = L4_Receive_Timeout(t, ms(2000));
    check(G, "start-inactive",
          !L4_IsNilThread(r.tid) && L4_IpcSucceeded(tag) && L4_Label(tag) == 0x5e,
          "exreg gave 0x%lx, tag 0x%lx error 0x%lx", r.tid.raw, tag.raw, L4_ErrorCode());
    thread_kill(t);

    /* a thread that was never activated (ThreadControl without pager) has
     * no UTCB yet: ExchangeRegisters refuses it, even to give it a pager */
    t = thread_create(send_to_main, 0);
    r = exreg(t, (0x33 << 3) + 6, thread_stack_top(t), thread_entry(), 0, 0, main_tid);
    err = L4_ErrorCode();
    tag = L4_Receive_Timeout(t, L4_ZeroTime);
    check(G, "not-activated", L4_IsNilThread(r.tid) && err == L4_ErrInvalidThread
                                  && L4_IpcFailed(tag),
          "exreg gave 0x%lx error %lu, message tag 0x%lx", r.tid.raw, err, tag.raw);
    thread_kill(t);
}

static void __attribute__((noreturn)) fault(void)
{
    __builtin_trap();
    park();
}

/* A thread whose pager ExchangeRegisters set to nil (Pistachio's "start a
 * thread with no pager") runs into an exception: there is nobody to send the
 * exception IPC to, so it must stop, not run on, and we must still be able
 * to run and delete it. */
static void no_pager(void)
{
    L4_ThreadId_t t = thread_create(park, 1);
    struct exreg_result r = exreg(t, L4_ExReg_Resume | L4_ExReg_AbortIPC | L4_ExReg_SetSp
                                  | L4_ExReg_SetIp | L4_ExReg_SetPager, thread_stack_top(t),
                                  (L4_Word_t)fault, 0, 0, L4_nilthread);
    L4_Word_t state = wait_state(t, L4_SchedResultInactive);
    check(G, "no-pager", !L4_IsNilThread(r.tid) && state != L4_SchedResultRunning
                             && L4_PagerOf(t).raw == 0 && thread_kill(t) == 1,
          "exreg 0x%lx, state %lu, delete error %lu", r.tid.raw, state, L4_ErrorCode());
}

void exreg_tests(void)
{
    ids();
    set_and_get();
    thrash();
    creation();
    no_pager();
    thread_kill_all();
}
