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

static void count_and_park(void)
{
    counter++;
    park();
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
    L4_Sleep(ms(2));
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

/* Reset ip/sp of a thread over and over (Pistachio's ExReg thrash). */
static void thrash(void)
{
    const int rounds = 20;
    counter = 0;
    L4_ThreadId_t t = thread_spawn(count_and_park);
    L4_Sleep(ms(1));
    for (int i = 0; i < rounds; i++) {
        L4_Start_SpIp(t, thread_stack_top(t), thread_entry());
        L4_Sleep(ms(1));
    }
    check(G, "thrash-wait", counter == (L4_Word_t)rounds + 1, "thread ran %lu times, want %d",
          counter, rounds + 1);

    for (int i = 0; i < 50; i++)
        L4_Start_SpIp(t, thread_stack_top(t), thread_entry());
    L4_Sleep(ms(2));
    struct exreg_result r = exreg(t, 0, 0, 0, 0, 0, L4_nilthread);
    check(G, "thrash-nowait", !L4_IsNilThread(r.tid) && counter > (L4_Word_t)rounds + 1,
          "thread ran %lu times, exreg 0x%lx", counter, r.tid.raw);
    thread_kill(t);
}

static void send_to_main(void)
{
    L4_LoadMR(0, L4_MsgTagMake(0x5e, 0, 0).raw);
    L4_Send(main_tid);
}

static void creation(void)
{
    /* ExReg on a thread that does not exist yet, then create it */
    L4_ThreadId_t t = thread_create(send_to_main, 1);
    thread_kill(t);
    struct exreg_result r = exreg(t, 0, 0, 0, 0, 0, L4_nilthread);
    L4_ThreadId_t again = thread_create(send_to_main, 1);
    check(G, "then-threadcontrol",
          L4_IsNilThread(r.tid) && again.raw == t.raw,
          "exreg gave 0x%lx, create gave 0x%lx", r.tid.raw, again.raw);
    thread_kill(again);

    /* an inactive thread (no pager) started and given a pager by ExReg */
    t = thread_create(send_to_main, 0);
    exreg(t, (0x33 << 3) + 6, thread_stack_top(t), thread_entry(), 0, 0, main_tid);
    L4_MsgTag_t tag = L4_Receive_Timeout(t, ms(1000));
    check(G, "start-inactive", L4_IpcSucceeded(tag) && L4_Label(tag) == 0x5e,
          "tag 0x%lx error 0x%lx", tag.raw, L4_ErrorCode());
    thread_kill(t);
}

static void __attribute__((noreturn)) fault(void)
{
    __builtin_trap();
    park();
}

/* A thread without pager runs into an exception: nobody gets an IPC, and
 * we must still be able to run and delete it. */
static void no_pager(void)
{
    L4_ThreadId_t t = thread_create(park, 0);
    exreg(t, L4_ExReg_Resume | L4_ExReg_AbortIPC | L4_ExReg_SetSp | L4_ExReg_SetIp,
          thread_stack_top(t), (L4_Word_t)fault, 0, 0, L4_nilthread);
    L4_Sleep(ms(5));
    check(G, "no-pager", thread_kill(t) == 1, "delete failed, error %lu", L4_ErrorCode());
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
