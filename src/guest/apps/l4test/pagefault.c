/* pagefault: page faults and exceptions of threads in other spaces
 * (Pistachio l4test ipc-pf.cc and the X.2 fault protocols), isolation
 * between spaces, privilege. */
#include "l4test.h"

#define G "pagefault"

/* ---- isolation: a page of ours the pager does not give away ---- */
FRESH_PAGES(secret_buf, 1);
static volatile L4_Word_t leak;
static int guard_policy(L4_Word_t addr, L4_Word_t rwx, L4_Word_t *rights)
{
    (void)rwx;
    if ((addr & ~(PAGE_SIZE - 1)) == page_of(secret_buf))
        return 0;
    *rights = L4_FullyAccessible;
    return 1;
}
static void snoop(void)
{
    leak = 1;
    leak = secret_buf[0];           /* faults; the pager never answers */
}

static void isolation(void)
{
    secret_buf[0] = 0x5ec7e7;
    leak = 0;
    pager_reset(guard_policy);
    L4_ThreadId_t t = space_spawn(snoop);
    space_join(t, 300);
    check(G, "isolation-faults-to-pager", faults_at(page_of(secret_buf)) == 1,
          "%d faults on the page", faults_at(page_of(secret_buf)));
    check(G, "isolation-no-data", leak == 1, "the other space read 0x%lx", leak);
    space_kill(t);
}

/* ---- a fault resolved by the pager: the thread goes on where it was ---- */
FRESH_PAGES(resume_buf, 1);
static volatile L4_Word_t resumed;
static void fault_and_go_on(void)
{
    resume_buf[10] = 0xabc;
    resumed = resume_buf[10] + 1;
}

static void resolved(void)
{
    resumed = 0;
    pager_reset(0);
    L4_ThreadId_t t = space_spawn(fault_and_go_on);
    int done = space_join(t, 2000);
    check(G, "resolved-resumes", done && resumed == 0xabd && faults_at(page_of(resume_buf)) == 1,
          "done %d, result 0x%lx, %d faults", done, resumed, faults_at(page_of(resume_buf)));
    space_kill(t);
}

/* ---- no privilege outside the root task's space ---- */
static volatile L4_Word_t tc_result, tc_error, sc_result, sc_error;
static void try_privileged(void)
{
    L4_ThreadId_t other = unused_thread_id();
    L4_Word_t old;
    tc_result = L4_ThreadControl(other, other, L4_Myself(), L4_nilthread, (void *)-1UL);
    tc_error = L4_ErrorCode();
    sc_result = L4_SpaceControl(L4_Myself(), 0, L4_FpageLog2((L4_Word_t)kip, 12),
                                L4_FpageLog2(SPACE_UTCB, SPACE_UTCB_BITS), L4_nilthread, &old);
    sc_error = L4_ErrorCode();
}

static void privilege(void)
{
    tc_result = sc_result = 99;
    pager_reset(0);
    L4_ThreadId_t t = space_spawn(try_privileged);
    int done = space_join(t, 2000);
    check(G, "no-privilege-threadcontrol", done && tc_result == 0 && tc_error == 1,
          "result %lu error %lu", tc_result, tc_error);
    check(G, "no-privilege-spacecontrol", done && sc_result == 0 && sc_error == 1,
          "result %lu error %lu", sc_result, sc_error);
    check(G, "no-thread-created", thread_state(unused_thread_id()) == L4_SchedResultDead
                                  || thread_state(unused_thread_id()) == L4_SchedResultError,
          "state %lu", thread_state(unused_thread_id()));
    space_kill(t);
}

/* ---- exception IPC from another space: the reply moves the thread on ---- */
static volatile L4_Word_t exc_resumed;
static void __attribute__((noreturn)) exc_resume(void)
{
    exc_resumed = 1;
    L4_LoadMR(0, L4_MsgTagMake(0xd0e, 0, 0).raw);
    L4_Send_Timeout(main_tid, ms(2000));
    park();
}
static void __attribute__((noinline)) raise_exception(void)
{
    L4_Set_ExceptionHandler(main_tid);
    __builtin_trap();
}

static void exception_ipc(void)
{
    exc_resumed = 0;
    pager_reset(0);
    L4_ThreadId_t t = space_spawn(raise_exception);
    L4_ThreadId_t from;
    L4_MsgTag_t tag = L4_Wait_Timeout(ms(2000), &from);
    L4_Word_t mask = (1UL << (L4_WORD_BITS - 16)) - 1;
    L4_Word_t ip = 0, sp = 0, flags = 0;
    L4_StoreMR(1, &ip);
    L4_StoreMR(2, &sp);
    L4_StoreMR(3, &flags);
    check(G, "exception-message", L4_IpcSucceeded(tag) && from.raw == t.raw
                                  && (L4_Label(tag) | 0xf) == (((L4_Word_t)-5 << 4 | 0xf) & mask),
          "tag 0x%lx from 0x%lx", tag.raw, from.raw);
    check(G, "exception-ip", ip >= (L4_Word_t)raise_exception
                             && ip < (L4_Word_t)raise_exception + 64,
          "ip 0x%lx, function at 0x%lx", ip, (L4_Word_t)raise_exception);
    L4_LoadMR(0, L4_MsgTagMake(0, 3, 0).raw);
    L4_LoadMR(1, (L4_Word_t)exc_resume);
    L4_LoadMR(2, sp);
    L4_LoadMR(3, flags);
    L4_Reply(t);
    int done = space_join(t, 2000);
    check(G, "exception-reply-resumes", done && exc_resumed, "done %d resumed %lu", done,
          exc_resumed);
    space_kill(t);
}

/* ---- page faults inside a string copy (ipc-pf.cc) ---- */
FRESH_PAGES(pf_rcv_buf, 2);
FRESH_PAGES(pf_snd_buf, 2);
static char pf_src[600];
static volatile L4_Word_t pf_err, pf_done;

static L4_Word_t str_item(L4_Word_t len) { return len << 10; }

static void pf_receiver(void)
{
    /* the buffer straddles two pages this space has never touched */
    L4_LoadBR(1, str_item(600));
    L4_LoadBR(2, (L4_Word_t)pf_rcv_buf + PAGE_SIZE - 300);
    L4_Accept(L4_StringItemsAcceptor);
    L4_Set_XferTimeouts(L4_Timeouts(L4_Never, L4_Never));
    L4_MsgTag_t tag = L4_Receive_Timeout(main_tid, ms(2000));
    pf_err = L4_IpcFailed(tag) ? L4_ErrorCode() : 0;
    pf_done = 1;
}

static void pf_receiver_timeout(void)
{
    L4_LoadBR(1, str_item(600));
    L4_LoadBR(2, (L4_Word_t)pf_rcv_buf + PAGE_SIZE - 300);
    L4_Accept(L4_StringItemsAcceptor);
    L4_Set_XferTimeouts(L4_Timeouts(ms(20), ms(20)));
    L4_MsgTag_t tag = L4_Receive_Timeout(main_tid, ms(2000));
    pf_err = L4_IpcFailed(tag) ? L4_ErrorCode() : 0;
    pf_done = 1;
}

static void pf_sender(void)
{
    volatile char *src = (volatile char *)pf_snd_buf + PAGE_SIZE - 100;   /* untouched here */
    L4_LoadMR(0, L4_MsgTagMake(0, 0, 2).raw);
    L4_LoadMR(1, str_item(200));
    L4_LoadMR(2, (L4_Word_t)src);
    L4_MsgTag_t tag = L4_Send_Timeout(main_tid, ms(2000));
    pf_err = L4_IpcFailed(tag) ? L4_ErrorCode() : 0;
    pf_done = 1;
}

static int deny_rcv_buf(L4_Word_t addr, L4_Word_t rwx, L4_Word_t *rights)
{
    (void)rwx;
    L4_Word_t page = addr & ~(PAGE_SIZE - 1);
    if (page == page_of(pf_rcv_buf) || page == page_of(pf_rcv_buf) + PAGE_SIZE)
        return 0;
    *rights = L4_FullyAccessible;
    return 1;
}

static void string_pagefaults(void)
{
    for (int i = 0; i < (int)sizeof(pf_src); i++)
        pf_src[i] = (char)(i * 3 + 5);

    /* receiver's buffer missing: its pager is asked in the middle of the copy */
    pf_err = pf_done = 0;
    pager_reset(0);
    L4_ThreadId_t t = space_spawn(pf_receiver);
    wait_state(t, L4_SchedResultWaiting);
    L4_LoadMR(0, L4_MsgTagMake(0, 0, 2).raw);
    L4_LoadMR(1, str_item(600));
    L4_LoadMR(2, (L4_Word_t)pf_src);
    L4_Set_XferTimeouts(L4_Timeouts(L4_Never, L4_Never));
    L4_MsgTag_t tag = L4_Send_Timeout(t, ms(2000));
    L4_Word_t err = L4_ErrorCode();
    space_join(t, 2000);
    const char *got = (const char *)pf_rcv_buf + PAGE_SIZE - 300;
    check(G, "string-receiver-pagefault", L4_IpcSucceeded(tag) && pf_done && !pf_err
                                          && memcmp(got, pf_src, 600) == 0,
          "send 0x%lx error 0x%lx, receiver error 0x%lx", tag.raw, err, pf_err);
    check(G, "string-receiver-pagefault-served", faults_at(page_of(pf_rcv_buf)) >= 1
                                                 && faults_at(page_of(pf_rcv_buf) + PAGE_SIZE) >= 1,
          "faults on the two pages: %d, %d", faults_at(page_of(pf_rcv_buf)),
          faults_at(page_of(pf_rcv_buf) + PAGE_SIZE));
    space_kill(t);

    /* sender's string missing in its space */
    pf_err = pf_done = 0;
    for (int i = 0; i < 200; i++)
        ((volatile char *)pf_snd_buf)[PAGE_SIZE - 100 + i] = (char)(i + 11);
    static char dst[256];
    memset(dst, 0, sizeof(dst));
    pager_reset(0);
    t = space_spawn(pf_sender);
    L4_LoadBR(1, str_item(256));
    L4_LoadBR(2, (L4_Word_t)dst);
    L4_Accept(L4_StringItemsAcceptor);
    tag = L4_Receive_Timeout(t, ms(2000));
    err = L4_IpcFailed(tag) ? L4_ErrorCode() : 0;
    L4_Accept(L4_UntypedWordsAcceptor);
    space_join(t, 2000);
    check(G, "string-sender-pagefault", L4_IpcSucceeded(tag) && !err && pf_done && !pf_err
                                        && dst[0] == 11 && dst[199] == (char)(199 + 11),
          "receive 0x%lx error 0x%lx, sender error 0x%lx", tag.raw, err, pf_err);
    space_kill(t);

    /* the pager never answers: the transfer timeout ends the IPC on both sides */
    pf_err = pf_done = 0;
    pager_reset(deny_rcv_buf);
    t = space_spawn(pf_receiver_timeout);
    wait_state(t, L4_SchedResultWaiting);
    L4_LoadMR(0, L4_MsgTagMake(0, 0, 2).raw);
    L4_LoadMR(1, str_item(600));
    L4_LoadMR(2, (L4_Word_t)pf_src);
    L4_Set_XferTimeouts(L4_Timeouts(ms(20), ms(20)));
    tag = L4_Send_Timeout(t, ms(2000));
    err = L4_ErrorCode();
    L4_Set_XferTimeouts(L4_Timeouts(L4_Never, L4_Never));
    space_join(t, 2000);
    /* nothing of the first page fits: offset 0; sender: partner (6), receiver: current (5) */
    check(G, "xfer-timeout", L4_IpcFailed(tag) && (err & 0xf) == (6 << 1) && pf_done
                             && (pf_err & 0xf) == ((5 << 1) | 1) && (err >> 4) == (pf_err >> 4),
          "sender error 0x%lx, receiver error 0x%lx", err, pf_err);
    space_kill(t);
}

void pagefault_tests(void)
{
    if (!mmu) {
        skip(G, "all", "the kernel runs flat (no page tables): nothing faults");
        return;
    }
    resolved();
    isolation();
    privilege();
    exception_ipc();
    string_pagefaults();
    pager_stop();
}
