/* ipc: message transfer, timeouts, cancellation and partner selection
 * between threads of one address space. */
#include "l4test.h"

#define G "ipc"

/* IPC error codes: err << 1 | phase (0 send, 1 receive) */
#define SEND_ERR(e) ((L4_Word_t)(e) << 1)
#define RECV_ERR(e) (((L4_Word_t)(e) << 1) | 1)

static volatile L4_Word_t shared_word, shared_done;
static volatile L4_ThreadId_t shared_tid;

static void load_words(L4_Word_t label, L4_Word_t n)
{
    L4_LoadMR(0, L4_MsgTagMake(label, n, 0).raw);
    for (L4_Word_t i = 1; i <= n; i++)
        L4_LoadMR((int)i, i);
}

/* MR1..MRn = base + 1 .. base + n, label as given, no typed words? */
static int words_ok(L4_MsgTag_t tag, L4_Word_t label, L4_Word_t n, L4_Word_t base)
{
    if (L4_Label(tag) != label || L4_UntypedWords(tag) != n || L4_TypedWords(tag) != 0)
        return 0;
    for (L4_Word_t i = 1; i <= n; i++) {
        L4_Word_t w;
        L4_StoreMR((int)i, &w);
        if (w != base + i)
            return 0;
    }
    return 1;
}

/* So that a word the kernel failed to copy cannot still hold the right value. */
static void clear_mrs(void)
{
    for (int i = 1; i < 64; i++)
        L4_LoadMR(i, 0);
}

/* ---- message transfer ---- */
static void sender_0_to_63(void)
{
    for (L4_Word_t n = 0; n < 64; n++) {
        load_words(0xf00f, n);
        L4_Send(main_tid);
    }
}

static void send_transfer(void)
{
    L4_ThreadId_t t = thread_spawn(sender_0_to_63);
    L4_Word_t first_bad = 64;
    for (L4_Word_t n = 0; n < 64; n++) {
        clear_mrs();
        L4_MsgTag_t tag = L4_Receive_Timeout(t, ms(1000));
        if ((L4_IpcFailed(tag) || !words_ok(tag, 0xf00f, n, 0)) && first_bad == 64)
            first_bad = n;
    }
    check(G, "send-transfer", first_bad == 64, "first bad message has %lu words", first_bad);
    thread_kill(t);
}

/* Server: checks each Call (n words 1..n) and answers with n words
 * 0x1001..0x1000+n, label 0xf00d, by ReplyWait; records the first bad call. */
#define REPLY_BASE 0x1000
static void reply_server(void)
{
    L4_ThreadId_t from;
    L4_Word_t expected = 0;
    L4_MsgTag_t tag = L4_Wait(&from);
    for (;;) {
        L4_Word_t n = L4_UntypedWords(tag);
        if ((L4_IpcFailed(tag) || n != expected || !words_ok(tag, 0xf00d, n, 0))
            && shared_word == 64)
            shared_word = expected;
        expected = n + 1;
        L4_LoadMR(0, L4_MsgTagMake(0xf00d, n, 0).raw);
        for (L4_Word_t i = 1; i <= n; i++)
            L4_LoadMR((int)i, REPLY_BASE + i);
        tag = L4_ReplyWait(from, &from);
    }
}

static void replywait_transfer(void)
{
    shared_word = 64;
    L4_ThreadId_t t = thread_spawn(reply_server);
    L4_Word_t first_bad = 64;
    for (L4_Word_t n = 0; n < 64; n++) {
        load_words(0xf00d, n);
        L4_MsgTag_t tag = L4_Call(t);
        if ((L4_IpcFailed(tag) || !words_ok(tag, 0xf00d, n, REPLY_BASE)) && first_bad == 64)
            first_bad = n;
    }
    check(G, "call-transfer", shared_word == 64, "first bad call has %lu words", shared_word);
    check(G, "replywait-transfer", first_bad == 64, "first bad reply has %lu words",
          first_bad);
    thread_kill(t);
}

/* ---- timeouts: the partner is parked (waiting for itself only) ---- */
static void expect_error(const char *name, L4_MsgTag_t tag, L4_Word_t expected)
{
    L4_Word_t err = L4_ErrorCode();
    check(G, name, L4_IpcFailed(tag) && err == expected,
          "tag 0x%lx, error code 0x%lx, expected 0x%lx", tag.raw, err, expected);
}

static void timeouts(void)
{
    L4_ThreadId_t t = thread_spawn(park);
    wait_state(t, L4_SchedResultWaiting);   /* parked: neither sends nor receives from us */

    L4_Clock_t before = L4_SystemClock();
    L4_LoadMR(0, 0);
    L4_MsgTag_t tag = L4_Send_Timeout(t, ms(50));
    L4_Word64_t waited = L4_SystemClock().raw - before.raw;
    expect_error("send-timeout", tag, SEND_ERR(L4_ErrTimeout));
    check(G, "send-timeout-duration", waited >= 45000,
          "returned after %llu us, wanted 50000", waited);

    before = L4_SystemClock();
    tag = L4_Receive_Timeout(t, ms(50));
    waited = L4_SystemClock().raw - before.raw;
    expect_error("receive-timeout", tag, RECV_ERR(L4_ErrTimeout));
    check(G, "receive-timeout-duration", waited >= 45000,
          "returned after %llu us, wanted 50000", waited);
    L4_LoadMR(0, 0);
    expect_error("zero-timeout-send", L4_Send_Timeout(t, L4_ZeroTime), SEND_ERR(L4_ErrTimeout));
    expect_error("zero-timeout-receive", L4_Receive_Timeout(t, L4_ZeroTime),
                 RECV_ERR(L4_ErrTimeout));
    thread_kill(t);
}

/* ---- partner ids ---- */
static void receive_any_record_from(void)
{
    L4_ThreadId_t from;
    L4_MsgTag_t tag = L4_Wait(&from);
    shared_word = L4_IpcFailed(tag) ? 0 : L4_Label(tag);
    shared_tid.raw = from.raw;
    shared_done = 1;
}

static void local_ids(void)
{
    shared_word = 0;
    shared_done = 0;
    shared_tid.raw = 0;
    L4_ThreadId_t t = thread_spawn(receive_any_record_from);
    wait_state(t, L4_SchedResultWaiting);
    L4_LoadMR(0, L4_MsgTagMake(0x77, 0, 0).raw);
    L4_MsgTag_t tag = L4_Send_Timeout(L4_LocalIdOf(t), ms(1000));
    wait_for(t, shared_done);           /* let it record what it got */
    check(G, "local-destination", L4_IpcSucceeded(tag) && shared_word == 0x77,
          "tag 0x%lx error 0x%lx, receiver saw label 0x%lx", tag.raw, L4_ErrorCode(),
          shared_word);
    check(G, "from-local", shared_tid.raw == L4_MyLocalId().raw,
          "from 0x%lx, our local id 0x%lx", shared_tid.raw, L4_MyLocalId().raw);
    thread_kill(t);
}

static void nonexistent_and_nil(void)
{
    L4_ThreadId_t nobody = unused_thread_id(), from;
    L4_LoadMR(0, 0);
    expect_error("nonexistent-send", L4_Send_Timeout(nobody, L4_ZeroTime),
                 SEND_ERR(L4_ErrNonExist));
    expect_error("nonexistent-receive", L4_Receive_Timeout(nobody, L4_ZeroTime),
                 RECV_ERR(L4_ErrNonExist));
    /* Both phases skipped: returns at once (even with infinite timeouts),
     * no error, from = nil.  MR0 is not a result then: load a clean tag. */
    L4_LoadMR(0, L4_MsgTagMake(0x1234, 0, 0).raw);
    from.raw = ~0UL;
    L4_MsgTag_t tag = L4_Ipc(L4_nilthread, L4_nilthread, L4_Timeouts(L4_Never, L4_Never), &from);
    check(G, "nil-nil", L4_IpcSucceeded(tag) && L4_IsNilThread(from),
          "tag 0x%lx error 0x%lx from 0x%lx", tag.raw, L4_ErrorCode(), from.raw);
}

/* ---- cancellation by ExchangeRegisters(control 0x6) from another thread ---- */
/* We run only while main is blocked (it has the higher priority): cancel
 * its IPC and record the old control word ExchangeRegisters reports (main
 * runs again at once, so it waits for shared_done). */
static void cancel_main_later(void)
{
    L4_ThreadId_t dummy;
    L4_Word_t w, control;
    L4_ExchangeRegisters(main_tid, L4_ExReg_AbortIPC, 0, 0, 0, 0, L4_nilthread,
                         &control, &w, &w, &w, &w, &dummy);
    shared_word = control;
    shared_done = 1;
}

static void wait_then_cancel_main(void)
{
    L4_ThreadId_t from;
    L4_Wait(&from);
    cancel_main_later();
}

static void cancellation(void)
{
    shared_word = shared_done = 0;
    L4_ThreadId_t t = thread_spawn(cancel_main_later);
    L4_LoadMR(0, 0);
    expect_error("send-cancelled", L4_Send(t), SEND_ERR(L4_ErrCanceled));
    wait_for(t, shared_done);
    check(G, "send-cancelled-control", (shared_word & L4_ExReg_AbortIPC) == L4_ExReg_AbortSend,
          "ExchangeRegisters reported control 0x%lx, want the s bit", shared_word);
    thread_kill(t);

    shared_word = shared_done = 0;
    t = thread_spawn(wait_then_cancel_main);
    L4_LoadMR(0, 0);
    expect_error("receive-cancelled", L4_Call(t), RECV_ERR(L4_ErrCanceled));
    wait_for(t, shared_done);
    check(G, "receive-cancelled-control",
          (shared_word & L4_ExReg_AbortIPC) == L4_ExReg_AbortRecv,
          "ExchangeRegisters reported control 0x%lx, want the r bit", shared_word);
    thread_kill(t);
}

/* ---- selection of the sender ---- */
static void send_label_a(void) { L4_LoadMR(0, L4_MsgTagMake(0xa, 0, 0).raw); L4_Send(main_tid); }
static void send_label_b(void) { L4_LoadMR(0, L4_MsgTagMake(0xb, 0, 0).raw); L4_Send(main_tid); }

static void selection(void)
{
    L4_ThreadId_t a = thread_spawn(send_label_a);
    L4_ThreadId_t b = thread_spawn(send_label_b);
    L4_ThreadId_t from;
    /* both blocked sending to us, a first: a closed receive must pick b */
    wait_state(a, L4_SchedResultPendingSend);
    wait_state(b, L4_SchedResultPendingSend);

    L4_MsgTag_t tb = L4_Receive_Timeout(b, ms(1000));
    L4_MsgTag_t ta = L4_Receive_Timeout(a, ms(1000));
    check(G, "closed-wait", L4_IpcSucceeded(tb) && L4_Label(tb) == 0xb
                                && L4_IpcSucceeded(ta) && L4_Label(ta) == 0xa,
          "from b: tag 0x%lx, from a: tag 0x%lx", tb.raw, ta.raw);
    thread_kill(a);
    thread_kill(b);

    a = thread_spawn(send_label_a);
    L4_MsgTag_t tag = L4_Wait_Timeout(ms(1000), &from);
    check(G, "open-wait", L4_IpcSucceeded(tag) && L4_Label(tag) == 0xa
                              && from.raw == L4_LocalIdOf(a).raw,
          "tag 0x%lx from 0x%lx", tag.raw, from.raw);
    thread_kill(a);

    a = thread_spawn(send_label_a);
    tag = L4_Ipc(L4_nilthread, L4_anylocalthread, L4_Timeouts(L4_Never, ms(1000)), &from);
    check(G, "anylocalthread", L4_IpcSucceeded(tag) && L4_Label(tag) == 0xa
                                   && L4_IsLocalId(from),
          "tag 0x%lx from 0x%lx", tag.raw, from.raw);
    thread_kill(a);
}

void ipc_tests(void)
{
    send_transfer();
    replywait_transfer();
    timeouts();
    local_ids();
    nonexistent_and_nil();
    cancellation();
    selection();
    thread_kill_all();
    space_ipc_tests();
    skip(G, "xcpu", "needs a second processor");
}

/* ---- across address spaces ---- */
static void space_receive_record(void)
{
    L4_ThreadId_t from;
    L4_MsgTag_t tag = L4_Wait_Timeout(ms(2000), &from);
    shared_word = L4_IpcFailed(tag) ? 0 : L4_Label(tag);
    shared_tid.raw = from.raw;
    L4_LoadMR(0, L4_MsgTagMake(0x99, 0, 0).raw);
    L4_Send_Timeout(main_tid, ms(2000));
}

void space_ipc_tests(void)
{
    if (!mmu) {
        skip(G, "inter-space-transfer", "needs address spaces with page tables");
        skip(G, "from-global", "needs address spaces with page tables");
        return;
    }
    pager_reset(0);
    L4_ThreadId_t t = space_spawn(sender_0_to_63);
    L4_Word_t first_bad = 64;
    for (L4_Word_t n = 0; n < 64; n++) {
        clear_mrs();
        L4_MsgTag_t tag = L4_Receive_Timeout(t, ms(2000));
        if ((L4_IpcFailed(tag) || !words_ok(tag, 0xf00f, n, 0)) && first_bad == 64)
            first_bad = n;
    }
    check(G, "inter-space-transfer", first_bad == 64, "first bad message has %lu words",
          first_bad);
    space_kill(t);

    shared_word = 0;
    shared_tid.raw = 0;
    t = space_spawn(space_receive_record);
    wait_state(t, L4_SchedResultWaiting);
    L4_LoadMR(0, L4_MsgTagMake(0x77, 0, 0).raw);
    L4_MsgTag_t sent = L4_Send_Timeout(t, ms(2000));
    L4_ThreadId_t from;
    L4_MsgTag_t back = L4_Wait_Timeout(ms(2000), &from);
    check(G, "inter-space-send", L4_IpcSucceeded(sent) && shared_word == 0x77,
          "tag 0x%lx, receiver saw label 0x%lx", sent.raw, shared_word);
    check(G, "from-global", shared_tid.raw == main_tid.raw,
          "receiver saw from 0x%lx, our global id 0x%lx", shared_tid.raw, main_tid.raw);
    check(G, "from-global-reply", L4_IpcSucceeded(back) && from.raw == t.raw,
          "we saw from 0x%lx, its global id 0x%lx", from.raw, t.raw);
    L4_LoadMR(0, 0);
    expect_error("local-id-other-space", L4_Send_Timeout((L4_ThreadId_t){ .raw = SPACE_UTCB },
                                                         L4_ZeroTime),
                 SEND_ERR(L4_ErrNonExist));
    space_kill(t);
    pager_stop();
}
