#include "iguana-test.h"

L4_ThreadId_t main_tid;
volatile L4_Word_t shared_flag;

L4_ThreadId_t spawn_in(pd_ref_t pd, void (*fn)(void), int prio, thread_ref_t *ref)
{
    uintptr_t base = 0;
    L4_ThreadId_t tid = L4_nilthread;
    if (pd_create_memsection(pd, STACK_SIZE, &base) == 0)
        return L4_nilthread;
    thread_ref_t t = pd_create_thread_with_priority(pd, prio, &tid);
    if (t == 0)
        return L4_nilthread;
    if (thread_start(t, (uintptr_t)fn, base + STACK_SIZE - 16) != 0)
        return L4_nilthread;
    if (ref)
        *ref = t;
    return tid;
}

int wait_for_label(L4_ThreadId_t t, L4_Word_t label)
{
    L4_MsgTag_t tag = L4_Receive_Timeout(t, L4_TimePeriod(2000000));
    return L4_IpcSucceeded(tag) && L4_Label(tag) == label;
}

int main(void)
{
    main_tid = L4_Myself();
    printf("iguana-test: Iguana server %lx, initial PD %lx\n",
           (unsigned long)iguana_server().raw, (unsigned long)pd_myself());
    pd_tests();
    memsection_tests();
    thread_tests();
    cap_tests();
    session_tests();
    skip("eas", "all", "external address spaces are not built yet");
    skip("pools", "all", "physpool/virtpool/physmem are not built yet");
    skip("hardware", "all", "hardware_register_interrupt/back_memsection are not built yet");
    skip("object", "all", "object_get_interface is not built yet");
    return summary();
}
