/*
 * Threads in other address spaces, and the pager that serves them.
 *
 * A space thread is the first thread of a new space (SpaceControl: the KIP at
 * our KIP's address, a small UTCB area at SPACE_UTCB); its pager is the
 * l4test pager thread in our space. The pager maps our own pages 1:1 on
 * demand (text, data and the thread's stack, so the thread runs our code and
 * shares our memory), unless the test's policy says otherwise. It logs every
 * fault (label, address, ip).  When its function returns, a space thread
 * tells main (label SPACE_DONE) and parks.
 */
#include "l4test.h"
#include <l4/pager.h>

#define NSPACES      12
#define STACK_WORDS  1024
#define LABEL_START  0x5157            /* main -> pager: start thread MR1 at ip MR2, sp MR3 */
#define SPACE_DONE   0xd0e

struct space_slot {
    L4_ThreadId_t tid;
    thread_fn fn;
    L4_Word_t stack[STACK_WORDS] __attribute__((aligned(16)));
};

static struct space_slot spaces[NSPACES];
static L4_ThreadId_t pager_tid;

volatile struct fault_record fault_log[FAULT_LOG];
volatile L4_Word_t fault_count;
pager_policy_fn pager_policy;

L4_ThreadId_t space_pager(void) { return pager_tid; }

static int default_policy(L4_Word_t addr, L4_Word_t rwx, L4_Word_t *rights)
{
    (void)addr;
    (void)rwx;
    *rights = L4_FullyAccessible;
    return 1;
}

/* Load the reply for one request; 0 = do not reply (the sender stays blocked). */
static int serve(L4_MsgTag_t tag, L4_ThreadId_t from)
{
    if (l4_is_pagefault(tag)) {
        L4_Word_t addr, ip, rights;
        L4_StoreMR(1, &addr);
        L4_StoreMR(2, &ip);
        L4_Word_t rwx = L4_Label(tag) & 7;
        L4_Word_t n = fault_count;
        if (n < FAULT_LOG) {
            fault_log[n].tid = from.raw;
            fault_log[n].rwx = rwx;
            fault_log[n].addr = addr;
            fault_log[n].ip = ip;
        }
        fault_count = n + 1;
        pager_policy_fn policy = pager_policy ? pager_policy : default_policy;
        if (!policy(addr, rwx, &rights))
            return 0;
        l4_load_map_own_page(addr, rights);
        return 1;
    }
    return l4_serve_start_request(tag, LABEL_START, ms(1000));
}

static void pager_loop(void)
{
    L4_ThreadId_t from;
    L4_Accept(L4_UntypedWordsAcceptor);
    L4_MsgTag_t tag = L4_Wait(&from);
    for (;;) {
        if (serve(tag, from))
            tag = L4_ReplyWait(from, &from);
        else
            tag = L4_Wait(&from);
    }
}

int mmu;

void spaces_init(void)
{
    for (L4_Word_t n = 0; L4_Feature(kip, n); n++)
        if (strcmp(L4_Feature(kip, n), "l4gdb-mmu") == 0)
            mmu = 1;
}

/* The pager takes one of our thread slots: started on demand, stopped by
 * groups that are done with other spaces. */
static void pager_ensure(void)
{
    if (!L4_IsNilThread(pager_tid))
        return;
    pager_tid = thread_spawn(pager_loop);
    /* Its own faults (our pages it has not touched yet) go to our pager, sigma0. */
    L4_Set_PagerOf(pager_tid, L4_Pager());
}

void pager_stop(void)
{
    if (!L4_IsNilThread(pager_tid))
        thread_kill(pager_tid);
    pager_tid = L4_nilthread;
}

static struct space_slot *space_of(L4_ThreadId_t t)
{
    for (int i = 0; i < NSPACES; i++)
        if (spaces[i].tid.raw == t.raw)
            return &spaces[i];
    return 0;
}

static void __attribute__((noreturn)) space_trampoline(void)
{
    struct space_slot *s = space_of(L4_Myself());
    if (s && s->fn)
        s->fn();
    L4_LoadMR(0, L4_MsgTagMake(SPACE_DONE, 0, 0).raw);
    L4_Send_Timeout(main_tid, ms(1000));
    park();
}

L4_ThreadId_t space_create(thread_fn fn, L4_ThreadId_t pager)
{
    int i = 0;
    while (i < NSPACES && !L4_IsNilThread(spaces[i].tid))
        i++;
    if (i == NSPACES) {
        printf("l4test: out of space slots\n");
        return L4_nilthread;
    }
    struct space_slot *s = &spaces[i];
    L4_ThreadId_t t = L4_GlobalId(L4_ThreadNo(main_tid) + 20 + (L4_Word_t)i, 1);
    L4_Word_t old;
    if (!L4_ThreadControl(t, t, main_tid, L4_nilthread, (void *)-1UL)) {
        printf("l4test: create space %lx failed, error %lu\n", t.raw, L4_ErrorCode());
        return L4_nilthread;
    }
    if (!L4_SpaceControl(t, 0, L4_FpageLog2((L4_Word_t)kip, L4_KipAreaSizeLog2(kip)),
                         L4_FpageLog2(SPACE_UTCB, SPACE_UTCB_BITS), L4_nilthread, &old)) {
        printf("l4test: SpaceControl %lx failed, error %lu\n", t.raw, L4_ErrorCode());
        return L4_nilthread;
    }
    if (!L4_ThreadControl(t, t, L4_nilthread, pager, (void *)SPACE_UTCB)) {
        printf("l4test: activate %lx failed, error %lu\n", t.raw, L4_ErrorCode());
        return L4_nilthread;
    }
    s->tid = t;
    s->fn = fn;
    return t;
}

L4_Word_t space_stack_top(L4_ThreadId_t t)
{
    struct space_slot *s = space_of(t);
    return s ? (L4_Word_t)(s->stack + STACK_WORDS) : 0;
}

L4_Word_t space_entry(void) { return (L4_Word_t)space_trampoline; }

int space_start(L4_ThreadId_t t)
{
    L4_LoadMR(0, L4_MsgTagMake(LABEL_START, 3, 0).raw);
    L4_LoadMR(1, t.raw);
    L4_LoadMR(2, space_entry());
    L4_LoadMR(3, space_stack_top(t));
    L4_MsgTag_t tag = L4_Call(pager_tid);
    return L4_IpcSucceeded(tag) && L4_Label(tag) == 0;
}

L4_ThreadId_t space_spawn(thread_fn fn)
{
    L4_ThreadId_t t = space_create(fn, pager_tid);
    if (!L4_IsNilThread(t) && !space_start(t))
        printf("l4test: start of %lx failed\n", t.raw);
    return t;
}

int space_join(L4_ThreadId_t t, L4_Word_t msec)
{
    L4_MsgTag_t tag = L4_Receive_Timeout(t, ms(msec));
    return L4_IpcSucceeded(tag) && L4_Label(tag) == SPACE_DONE;
}

void space_kill(L4_ThreadId_t t)
{
    L4_ThreadControl(t, L4_nilthread, L4_nilthread, L4_nilthread, (void *)-1UL);
    struct space_slot *s = space_of(t);
    if (s) {
        s->fn = 0;
        s->tid = L4_nilthread;
    }
}

void pager_reset(pager_policy_fn policy)
{
    pager_ensure();
    pager_policy = policy;
    fault_count = 0;
}

int faults_at(L4_Word_t page)
{
    int n = 0;
    L4_Word_t count = fault_count < FAULT_LOG ? fault_count : FAULT_LOG;
    for (L4_Word_t i = 0; i < count; i++)
        if ((fault_log[i].addr & ~(L4_Word_t)(PAGE_SIZE - 1)) == page)
            n++;
    return n;
}
