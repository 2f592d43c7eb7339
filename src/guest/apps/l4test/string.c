/* string: string items (Pistachio l4test ipc-string.cc): simple and compound
 * strings, substrings, several receive buffers, overflow with the byte
 * offset, strings not accepted; within our space and across spaces. */
#include "l4test.h"

#define G "string"
#define OVERFLOW_SND(off) (((L4_Word_t)(off) << 4) | (4 << 1))
#define OVERFLOW_RCV(off) (((L4_Word_t)(off) << 4) | (4 << 1) | 1)

static char src_buf[1024], dst_buf[1024], dst2_buf[256];
static volatile L4_Word_t rcv_tag, rcv_err, rcv_done;

static L4_Word_t item_word(L4_Word_t len, L4_Word_t nptrs, int compound, int more)
{
    return (len << 10) | ((L4_Word_t)compound << 9) | ((nptrs - 1) << 4) | (L4_Word_t)more;
}

static void fill(void)
{
    for (int i = 0; i < (int)sizeof(src_buf); i++)
        src_buf[i] = (char)(i * 7 + 1);
    memset(dst_buf, 0, sizeof(dst_buf));
    memset(dst2_buf, 0, sizeof(dst2_buf));
    rcv_tag = rcv_err = rcv_done = 0;
}

static int same(const char *a, const char *b, int n) { return memcmp(a, b, (size_t)n) == 0; }

/* A receiver in another space maps its buffers first (by writing them), so
 * these checks are about the copy alone; faults inside a copy: pagefault.c. */
static void touch(volatile char *p, L4_Word_t n)
{
    for (L4_Word_t off = 0; off < n; off += PAGE_SIZE)
        p[off] = 0;
    p[n - 1] = 0;
}

static void touch_buffers(void)
{
    touch(dst_buf, sizeof(dst_buf));
    touch(dst2_buf, sizeof(dst2_buf));
}

/* Receivers (each loads its buffer registers, then receives from main). */
static void recv_one_buffer(void)
{
    touch_buffers();
    L4_LoadBR(1, item_word(512, 1, 0, 0));
    L4_LoadBR(2, (L4_Word_t)dst_buf);
    L4_Accept(L4_StringItemsAcceptor);
    L4_MsgTag_t tag = L4_Receive(main_tid);
    rcv_tag = tag.raw;
    rcv_err = L4_IpcFailed(tag) ? L4_ErrorCode() : 0;
    rcv_done = 1;
}
static void recv_small_buffer(void)
{
    touch_buffers();
    L4_LoadBR(1, item_word(100, 1, 0, 0));
    L4_LoadBR(2, (L4_Word_t)dst_buf);
    L4_Accept(L4_StringItemsAcceptor);
    L4_MsgTag_t tag = L4_Receive(main_tid);
    rcv_tag = tag.raw;
    rcv_err = L4_IpcFailed(tag) ? L4_ErrorCode() : 0;
    rcv_done = 1;
}
static void recv_no_strings(void)
{
    touch_buffers();
    L4_LoadBR(1, item_word(512, 1, 0, 0));
    L4_LoadBR(2, (L4_Word_t)dst_buf);
    L4_Accept(L4_UntypedWordsAcceptor);
    L4_MsgTag_t tag = L4_Receive(main_tid);
    rcv_tag = tag.raw;
    rcv_err = L4_IpcFailed(tag) ? L4_ErrorCode() : 0;
    rcv_done = 1;
}
/* two buffers: dst_buf as 2 substrings of 64 bytes (dst_buf, dst_buf+256), then dst2_buf */
static void recv_two_buffers(void)
{
    touch_buffers();
    L4_LoadBR(1, item_word(64, 2, 0, 1));
    L4_LoadBR(2, (L4_Word_t)dst_buf);
    L4_LoadBR(3, (L4_Word_t)dst_buf + 256);
    L4_LoadBR(4, item_word(128, 1, 0, 0));
    L4_LoadBR(5, (L4_Word_t)dst2_buf);
    L4_Accept(L4_StringItemsAcceptor);
    L4_MsgTag_t tag = L4_Receive(main_tid);
    rcv_tag = tag.raw;
    rcv_err = L4_IpcFailed(tag) ? L4_ErrorCode() : 0;
    rcv_done = 1;
}

typedef L4_ThreadId_t (*spawner)(thread_fn);

static L4_MsgTag_t send_items(L4_ThreadId_t to, L4_Word_t u, const L4_Word_t *items, L4_Word_t t)
{
    L4_LoadMR(0, L4_MsgTagMake(0x5717, u, t).raw);
    for (L4_Word_t i = 1; i <= u; i++)
        L4_LoadMR((int)i, 0x100 + i);
    for (L4_Word_t i = 0; i < t; i++)
        L4_LoadMR((int)(1 + u + i), items[i]);
    return L4_Send_Timeout(to, ms(2000));
}

static void finish(L4_ThreadId_t t, int space)
{
    if (space) {
        space_join(t, 2000);
        space_kill(t);
    } else {
        wait_for(t, rcv_done);
        thread_kill(t);
    }
}

static void run_group(const char *where, spawner spawn, int space)
{
    char name[48];
    L4_ThreadId_t t;
    L4_MsgTag_t tag;

    /* simple string, with untyped words before it */
    fill();
    t = spawn(recv_one_buffer);
    wait_state(t, L4_SchedResultWaiting);
    L4_Word_t simple[2] = { item_word(300, 1, 0, 0), (L4_Word_t)src_buf };
    tag = send_items(t, 3, simple, 2);
    finish(t, space);
    snprintf(name, sizeof(name), "%s-simple", where);
    check(G, name, L4_IpcSucceeded(tag) && rcv_done && !rcv_err && same(dst_buf, src_buf, 300)
                   && dst_buf[300] == 0 && L4_TypedWords((L4_MsgTag_t){ .raw = rcv_tag }) == 2,
          "send 0x%lx, receiver tag 0x%lx error 0x%lx", tag.raw, rcv_tag, rcv_err);

    /* compound send string (3 parts) and substrings into 2 receive buffers */
    fill();
    t = spawn(recv_two_buffers);
    wait_state(t, L4_SchedResultWaiting);
    L4_Word_t comp[6] = {
        item_word(40, 1, 1, 0), (L4_Word_t)src_buf,          /* 40 bytes, compound */
        item_word(60, 1, 0, 1), (L4_Word_t)src_buf + 100,    /* +60: ends string 1 */
        item_word(50, 1, 0, 0), (L4_Word_t)src_buf + 500,    /* string 2 -> dst2_buf */
    };
    tag = send_items(t, 0, comp, 6);
    finish(t, space);
    snprintf(name, sizeof(name), "%s-compound", where);
    check(G, name, L4_IpcSucceeded(tag) && !rcv_err && same(dst_buf, src_buf, 40)
                   && same(dst_buf + 40, src_buf + 100, 24)
                   && same(dst_buf + 256, src_buf + 124, 36) && same(dst2_buf, src_buf + 500, 50),
          "send 0x%lx error 0x%lx, receiver error 0x%lx", tag.raw, L4_ErrorCode(), rcv_err);

    /* the receive buffer is too small: overflow at the buffer's size */
    fill();
    t = spawn(recv_small_buffer);
    wait_state(t, L4_SchedResultWaiting);
    tag = send_items(t, 0, simple, 2);
    L4_Word_t err = L4_ErrorCode();
    finish(t, space);
    snprintf(name, sizeof(name), "%s-overflow", where);
    check(G, name, L4_IpcFailed(tag) && err == OVERFLOW_SND(100) && rcv_err == OVERFLOW_RCV(100)
                   && same(dst_buf, src_buf, 100),
          "sender error 0x%lx, receiver error 0x%lx (want offset 100)", err, rcv_err);

    /* strings not accepted: overflow at offset 0 */
    fill();
    t = spawn(recv_no_strings);
    wait_state(t, L4_SchedResultWaiting);
    tag = send_items(t, 0, simple, 2);
    err = L4_ErrorCode();
    finish(t, space);
    snprintf(name, sizeof(name), "%s-not-accepted", where);
    check(G, name, L4_IpcFailed(tag) && err == OVERFLOW_SND(0) && rcv_err == OVERFLOW_RCV(0)
                   && dst_buf[0] == 0,
          "sender error 0x%lx, receiver error 0x%lx", err, rcv_err);
}

void string_tests(void)
{
    run_group("local", thread_spawn, 0);
    if (mmu) {
        pager_reset(0);
        run_group("inter-space", space_spawn, 1);
    } else {
        skip(G, "inter-space", "needs address spaces with page tables");
    }
}
