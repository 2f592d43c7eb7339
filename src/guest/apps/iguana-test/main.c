#include "iguana-test.h"

L4_ThreadId_t main_tid;
volatile L4_Word_t shared_flag;

L4_ThreadId_t spawn_in(pd_ref_t pd, void (*fn)(void), int prio, thread_ref_t *ref)
{
    return thread_create_in(pd, fn, prio, ref);
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
    attach_tests();
    eas_tests();
    pool_tests();
    hardware_tests();
    skip("object", "all", "object_get_interface is not built yet");
    return summary();
}
