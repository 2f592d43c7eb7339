#include "iguana-test.h"

static void set_flag_and_report(void)
{
    shared_flag = 0xBEEF;
    L4_Set_MsgTag(L4_MsgTagMake(0x55, 0, 0));
    L4_Send(main_tid);
    for (;;)
        L4_Receive(L4_Myself());
}

/* Runs in another PD: its stack is its PD's memsection, its code the shared image. */
static void remote_worker(void)
{
    volatile L4_Word_t local[64];
    for (int i = 0; i < 64; i++) local[i] = i;
    L4_Word_t sum = 0;
    for (int i = 0; i < 64; i++) sum += local[i];
    L4_Set_MsgTag(L4_MsgTagMake(0x66, 1, 0));
    L4_LoadMR(1, sum);
    L4_Send(main_tid);
    for (;;)
        L4_Receive(L4_Myself());
}

void thread_tests(void)
{
    const char *g = "thread";
    L4_ThreadId_t tid = L4_nilthread;
    thread_ref_t t = thread_create(&tid);
    check(g, "thrd0100-create", t != 0 && !L4_IsNilThread(tid), "err %d", iguana_errno);
    check(g, "thrd0200-l4tid", thread_l4tid(t).raw == tid.raw, "l4tid %lx vs %lx",
          (unsigned long)thread_l4tid(t).raw, (unsigned long)tid.raw);
    check(g, "thrd0300-id", thread_id(tid) == t, "thread_id gave %lx",
          (unsigned long)thread_id(tid));
    check(g, "thrd0101-delete", thread_delete(tid) == 0 && thread_id(tid) == 0,
          "err %d", iguana_errno);
    thread_ref_t me = thread_myself();
    check(g, "thrd0400-myself", me != 0 && thread_l4tid(me).raw == main_tid.raw,
          "myself %lx", (unsigned long)me);
    t = thread_create_priority(77, &tid);
    check(g, "thrd0500-priority", t != 0, "err %d", iguana_errno);
    thread_delete(tid);

    shared_flag = 0;
    thread_ref_t ref;
    tid = spawn_in(pd_myself(), set_flag_and_report, 100, &ref);
    int got = !L4_IsNilThread(tid) && wait_for_label(tid, 0x55);
    check(g, "thrd1200-start-memsection-stack", got && shared_flag == 0xBEEF,
          "flag %lx", (unsigned long)shared_flag);
    check(g, "thrd1400-receive", got, "no message from the thread");
    thread_delete(tid);

    pd_ref_t pd = pd_create();
    tid = spawn_in(pd, remote_worker, 100, &ref);
    got = !L4_IsNilThread(tid) && wait_for_label(tid, 0x66);
    L4_Word_t sum = 0;
    L4_StoreMR(1, &sum);
    check(g, "thrd1500-in-other-pd", got && sum == 64 * 63 / 2, "got %d sum %lu", got,
          (unsigned long)sum);
    pd_delete(pd);
    check(g, "thrd1501-gone-with-pd", thread_id(tid) == 0, "thread survives its PD");
}
