/*
 * Test threads: all in the root task's space (SpaceSpecifier = ourselves),
 * each in a fixed slot with its own UTCB (the slots after ours) and stack.
 * A thread starts in a trampoline that looks up its function by thread id.
 */
#include "l4test.h"

#define NSLOTS       8
#define STACK_WORDS  1024

struct slot {
    L4_ThreadId_t tid;
    thread_fn fn;
    int used;
    L4_Word_t stack[STACK_WORDS] __attribute__((aligned(16)));
};

static struct slot slots[NSLOTS];
static L4_Word_t utcb_base, utcb_size;
L4_ThreadId_t main_tid;
void *kip;

void threads_init(void)
{
    kip = L4_GetKernelInterface();
    main_tid = L4_Myself();
    utcb_size = L4_UtcbSize(kip) ? L4_UtcbSize(kip) : 512;
    utcb_base = L4_MyLocalId().raw;
    for (int i = 0; i < NSLOTS; i++)
        slots[i].tid = L4_GlobalId(L4_ThreadNo(main_tid) + 1 + i, 1);
}

static struct slot *slot_of(L4_ThreadId_t t)
{
    for (int i = 0; i < NSLOTS; i++)
        if (slots[i].tid.raw == t.raw)
            return &slots[i];
    return 0;
}

void park(void)
{
    for (;;)
        L4_Sleep(L4_Never);
}

static void __attribute__((noreturn)) trampoline(void)
{
    struct slot *s = slot_of(L4_Myself());
    if (s && s->fn)
        s->fn();
    park();
}

L4_Word_t thread_entry(void) { return (L4_Word_t)trampoline; }

L4_Word_t thread_stack_top(L4_ThreadId_t t)
{
    struct slot *s = slot_of(t);
    return s ? (L4_Word_t)(s->stack + STACK_WORDS) : 0;
}

L4_ThreadId_t thread_create(thread_fn fn, int active)
{
    for (int i = 0; i < NSLOTS; i++) {
        struct slot *s = &slots[i];
        if (s->used)
            continue;
        void *utcb = (void *)(utcb_base + (L4_Word_t)(i + 1) * utcb_size);
        L4_ThreadId_t pager = active ? main_tid : L4_nilthread;
        if (!L4_ThreadControl(s->tid, main_tid, main_tid, pager, utcb)) {
            printf("l4test: ThreadControl create %lx failed, error %lu\n",
                   s->tid.raw, L4_ErrorCode());
            return L4_nilthread;
        }
        s->fn = fn;
        s->used = 1;
        return s->tid;
    }
    printf("l4test: out of thread slots\n");
    return L4_nilthread;
}

void thread_start(L4_ThreadId_t t)
{
    L4_Start_SpIp(t, thread_stack_top(t), thread_entry());
}

L4_ThreadId_t thread_spawn(thread_fn fn)
{
    L4_ThreadId_t t = thread_create(fn, 1);
    if (!L4_IsNilThread(t))
        thread_start(t);
    return t;
}

L4_Word_t thread_kill(L4_ThreadId_t t)
{
    struct slot *s = slot_of(t);
    if (s)
        s->used = 0;
    return L4_ThreadControl(t, L4_nilthread, L4_nilthread, L4_nilthread, (void *)-1);
}

void thread_kill_all(void)
{
    for (int i = 0; i < NSLOTS; i++)
        if (slots[i].used)
            thread_kill(slots[i].tid);
}

L4_ThreadId_t unused_thread_id(void)
{
    return L4_GlobalId(L4_ThreadNo(main_tid) + 1 + NSLOTS + 40, 1);
}

L4_Word_t thread_state(L4_ThreadId_t t)
{
    L4_Word_t old;
    return L4_Schedule(t, ~0UL, ~0UL, ~0UL, ~0UL, &old);
}

L4_Word_t wait_state(L4_ThreadId_t t, L4_Word_t state)
{
    L4_Word_t s;
    wait_for(t, (s = thread_state(t)) == state);
    return s;
}
