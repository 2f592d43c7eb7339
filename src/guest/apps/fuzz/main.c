/*
 * fuzz: the guest half of `l4gdb fuzz --arch ARCH` on QEMU.
 *
 * The root task starts worker threads in its own (privileged) space and the
 * first threads of two new (unprivileged) spaces, then becomes a worker too.
 * A worker only ever calls ThreadSwitch to a magic thread id; the host sees
 * that entry and replaces it by a random system call -- number, argument
 * registers, message and buffer registers -- before the kernel handles it
 * (l4gdb/fuzzing/qemu.py). One thread of the root space is the pager of the new
 * spaces: it maps them the root task's own pages, so their workers can run.
 */
#include <l4/l4.h>
#include <l4/pager.h>
#include <stdio.h>

#define FUZZ_MAGIC_NO 0x3ffff           /* L4_GlobalId(FUZZ_MAGIC_NO, FUZZ_MAGIC_VERSION) */
#define FUZZ_MAGIC_VERSION 0x2a
#define WORKERS 6                       /* in the root space, besides the root task */
#define SPACES 2                        /* new spaces, one worker each */
#define SPACE_UTCB 0x20000000UL
#define SPACE_UTCB_BITS 14
#define LABEL_START 0x5157              /* to the pager: start MR1 at ip MR2, sp MR3 */
#define STACK_WORDS 512
/* Everybody at the root task's priority (Pistachio's 255), so they all get the
 * CPU in turn; the pager too, it serves them. */
static const L4_Word_t priority = 255;

static L4_Word_t stacks[WORKERS + SPACES + 1][STACK_WORDS] __attribute__((aligned(16)));

/* Not inlined: the host knows a worker's calls by their address in this function. */
static void __attribute__((noreturn, noinline)) worker(void)
{
    L4_ThreadId_t magic = L4_GlobalId(FUZZ_MAGIC_NO, FUZZ_MAGIC_VERSION);
    for (;;)
        L4_ThreadSwitch(magic);
}

/* Page faults of the new spaces: map our own page there; and the start requests. */
static int serve(L4_MsgTag_t tag)
{
    if (l4_is_pagefault(tag)) {
        L4_Word_t addr;
        L4_StoreMR(1, &addr);
        l4_load_map_own_page(addr, L4_FullyAccessible);
        return 1;
    }
    return l4_serve_start_request(tag, LABEL_START, L4_TimePeriod(1000000));
}

static void __attribute__((noreturn)) pager_loop(void)
{
    L4_ThreadId_t from;
    L4_Accept(L4_UntypedWordsAcceptor);
    L4_MsgTag_t tag = L4_Wait(&from);
    for (;;)
        tag = serve(tag) ? L4_ReplyWait(from, &from) : L4_Wait(&from);
}

static L4_ThreadId_t start_local(L4_ThreadId_t me, L4_Word_t no, L4_Word_t utcb, int slot,
                                 void (*fn)(void))
{
    L4_ThreadId_t t = L4_GlobalId(no, 1);
    if (!L4_ThreadControl(t, me, me, L4_Pager(), (void *)utcb)) {
        printf("fuzz: ThreadControl %lx failed, error %lu\n", t.raw, L4_ErrorCode());
        return L4_nilthread;
    }
    L4_Set_Priority(t, priority);
    L4_Start_SpIp(t, (L4_Word_t)(stacks[slot] + STACK_WORDS), (L4_Word_t)fn);
    return t;
}

static int start_space(L4_ThreadId_t me, L4_ThreadId_t pager, L4_Word_t no, int slot)
{
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t t = L4_GlobalId(no, 1);
    L4_Word_t old;
    if (!L4_ThreadControl(t, t, me, L4_nilthread, (void *)-1UL)
        || !L4_SpaceControl(t, 0, L4_FpageLog2((L4_Word_t)kip, L4_KipAreaSizeLog2(kip)),
                            L4_FpageLog2(SPACE_UTCB, SPACE_UTCB_BITS), L4_nilthread, &old)
        || !L4_ThreadControl(t, t, L4_nilthread, pager, (void *)SPACE_UTCB)) {
        printf("fuzz: new space %lx failed, error %lu\n", t.raw, L4_ErrorCode());
        return 0;
    }
    L4_Set_Priority(t, priority);
    L4_LoadMR(0, L4_MsgTagMake(LABEL_START, 3, 0).raw);
    L4_LoadMR(1, t.raw);
    L4_LoadMR(2, (L4_Word_t)worker);
    L4_LoadMR(3, (L4_Word_t)(stacks[slot] + STACK_WORDS));
    return L4_IpcSucceeded(L4_Call(pager));
}

int main(void)
{
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself();
    L4_Word_t utcb_size = L4_UtcbSize(kip) ? L4_UtcbSize(kip) : 512;
    L4_Word_t utcb = L4_MyLocalId().raw, no = L4_ThreadNo(me);
    L4_ThreadId_t pager = start_local(me, no + 1, utcb + utcb_size, 0, pager_loop);
    int started = 0;
    for (int i = 0; i < WORKERS; i++)
        started += !L4_IsNilThread(start_local(me, no + 2 + i, utcb + (2 + i) * utcb_size,
                                               1 + i, worker));
    for (int i = 0; i < SPACES; i++)
        started += start_space(me, pager, no + 10 + i, 1 + WORKERS + i);
    printf("fuzz: %d workers, %d spaces: ready\n", started + 1, SPACES);
    worker();
}
