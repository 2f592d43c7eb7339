/* sigma0: the sigma0 protocol (Pistachio l4test sig0.cc), plus its rules:
 * idempotent for the owner, one owner per page, only free memory. */
#include "l4test.h"
#include <l4/sigma0.h>

#define G "sigma0"

static L4_ThreadId_t s0(void) { return L4_GlobalId(L4_ThreadIdUserBase(kip), 1); }

static L4_Fpage_t rw_page(L4_Word_t addr)
{
    return L4_FpageAddRights(L4_FpageLog2(addr, PAGE_BITS), L4_ReadWriteOnly);
}

/* A free page: the first one sigma0 hands out for "any". */
static L4_Word_t any_page;

static void request(void)
{
    L4_Fpage_t got = L4_Sigma0_GetAny(L4_nilthread, PAGE_BITS, L4_CompleteAddressSpace);
    any_page = L4_Address(got);
    check(G, "request-any", !L4_IsNilFpage(got) && L4_SizeLog2(got) == PAGE_BITS,
          "got fpage 0x%lx", got.raw);
    if (L4_IsNilFpage(got))
        return;
    volatile L4_Word_t *p = (volatile L4_Word_t *)any_page;
    *p = 0xfeed;
    check(G, "request-usable", *p == 0xfeed, "page at 0x%lx reads 0x%lx", any_page, *p);

    L4_Word_t next = any_page + 16 * PAGE_SIZE;
    L4_Fpage_t one = L4_Sigma0_GetPage(L4_nilthread, rw_page(next));
    check(G, "request-page", L4_Address(one) == next && !L4_IsNilFpage(one),
          "asked 0x%lx, got fpage 0x%lx", next, one.raw);
    L4_Fpage_t again = L4_Sigma0_GetPage(L4_nilthread, rw_page(next));
    check(G, "idempotent", again.raw == one.raw, "second answer 0x%lx, first 0x%lx",
          again.raw, one.raw);
}

static void refusals(void)
{
    L4_Fpage_t k = L4_Sigma0_GetPage(L4_nilthread, rw_page((L4_Word_t)kip & ~(PAGE_SIZE - 1)));
    check(G, "refuse-kernel-memory", L4_IsNilFpage(k), "KIP page handed out: 0x%lx", k.raw);
    L4_Fpage_t io = L4_Sigma0_GetPage(L4_nilthread, rw_page(0x1000));
    check(G, "refuse-non-ram", L4_IsNilFpage(io), "0x1000 handed out: 0x%lx", io.raw);
}

/* Phony receive: no acceptor for the map item -> the reply cannot be delivered. */
static void phony_receive(void)
{
    L4_LoadMR(0, L4_MsgTagMake(L4_SIGMA0_LABEL, 2, 0).raw);
    L4_LoadMR(1, rw_page(any_page + 17 * PAGE_SIZE).raw);
    L4_LoadMR(2, 0);
    L4_Accept(L4_UntypedWordsAcceptor);
    L4_MsgTag_t tag = L4_Call(s0());
    check(G, "phony-receive", L4_IpcFailed(tag) && (L4_ErrorCode() & 1),
          "tag 0x%lx error 0x%lx (want a receive-phase error)", tag.raw, L4_ErrorCode());
}

/* Phony send: a message sigma0 does not understand gets no answer. */
static void phony_send(void)
{
    L4_LoadMR(0, L4_MsgTagMake(0, 2, 0).raw);
    L4_LoadMR(1, 0);
    L4_LoadMR(2, 0);
    L4_MsgTag_t tag = L4_Call_Timeouts(s0(), L4_Never, ms(20));
    check(G, "phony-send", L4_IpcFailed(tag) && L4_ErrorCode() == 3,
          "tag 0x%lx error 0x%lx (want receive timeout)", tag.raw, L4_ErrorCode());
}

/* One owner per page: another space asking for our page gets nothing. */
static volatile L4_Word_t other_got, other_fresh;
static void other_space_asks(void)
{
    other_got = L4_Sigma0_GetPage(s0(), rw_page(any_page)).raw;
    other_fresh = L4_Sigma0_GetPage(s0(), rw_page(any_page + 32 * PAGE_SIZE)).raw;
}

static void one_owner(void)
{
    if (!mmu) {
        skip(G, "one-owner", "needs address spaces with page tables");
        return;
    }
    if (!any_page)
        return;
    other_got = other_fresh = ~0UL;
    pager_reset(0);
    L4_ThreadId_t t = space_spawn(other_space_asks);
    int done = space_join(t, 3000);
    check(G, "one-owner", done && other_got == 0, "done %d, other space got 0x%lx", done,
          other_got);
    check(G, "other-space-served", done && L4_Address((L4_Fpage_t){ .raw = other_fresh })
                                              == any_page + 32 * PAGE_SIZE,
          "other space got 0x%lx for a free page", other_fresh);
    space_kill(t);
}

void sigma0_tests(void)
{
    request();
    refusals();
    phony_receive();
    phony_send();
    one_owner();
}
