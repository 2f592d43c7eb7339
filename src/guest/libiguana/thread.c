#include <iguana/iguana.h>

#define TH IGUANA_IID_THREAD

thread_ref_t thread_create_priority(int priority, L4_ThreadId_t *thrd)
{
    return pd_create_thread_with_priority(pd_myself(), priority, thrd);
}

thread_ref_t thread_create(L4_ThreadId_t *thrd)
{
    return thread_create_priority(100, thrd);
}

int thread_start(thread_ref_t thread, uintptr_t ip, uintptr_t sp)
{
    L4_Word_t in[3] = { thread, ip, sp };
    return iguana_call(TH, 2, 3, in, 0, 0);
}

L4_ThreadId_t thread_l4tid(thread_ref_t thread)
{
    L4_Word_t in[1] = { thread }, out[1];
    L4_ThreadId_t t = L4_nilthread;
    if (iguana_call(TH, 1, 1, in, 1, out) == 0)
        t.raw = out[0];
    return t;
}

thread_ref_t thread_id(L4_ThreadId_t tid)
{
    L4_Word_t in[1] = { tid.raw }, out[1];
    return iguana_call(TH, 0, 1, in, 1, out) ? 0 : out[0];
}

thread_ref_t thread_myself(void)
{
    L4_Word_t out[1];
    return iguana_call(TH, 40, 0, 0, 1, out) ? 0 : out[0];
}

int thread_delete(L4_ThreadId_t tid)
{
    thread_ref_t ref = thread_id(tid);
    if (ref == 0)
        return iguana_errno;
    L4_Word_t in[1] = { ref };
    return iguana_call(TH, 3, 1, in, 0, 0);
}

L4_ThreadId_t thread_create_in(pd_ref_t pd, void (*fn)(void), int prio, thread_ref_t *ref)
{
    uintptr_t base = 0;
    L4_ThreadId_t tid = L4_nilthread;
    if (pd_create_memsection(pd, IGUANA_STACK_SIZE, &base) == 0)
        return L4_nilthread;
    thread_ref_t t = pd_create_thread_with_priority(pd, prio, &tid);
    if (t == 0)
        return L4_nilthread;
    if (thread_start(t, (uintptr_t)fn, base + IGUANA_STACK_SIZE - 16) != 0)
        return L4_nilthread;
    if (ref)
        *ref = t;
    return tid;
}
