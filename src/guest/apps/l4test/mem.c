/* mem: page faults to a user pager, map/unmap/flush, rights, status bits
 * (Pistachio l4test mem.cc "page touch", extended with the checks the X.2
 * mapping operations allow from user level). */
#include "l4test.h"

#define G "mem"
#define WORDS_PER_PAGE (PAGE_SIZE / sizeof(L4_Word_t))

static L4_Fpage_t fpage_rwx(const volatile void *p)
{
    return L4_FpageAddRights(L4_FpageLog2(page_of(p), PAGE_BITS), L4_FullyAccessible);
}

/* ---- page touch: a thread in another space writes fresh pages ---- */
FRESH_PAGES(touch_buf, 8);
static volatile L4_Word_t touch_ok;

static void page_touch(void)
{
    L4_Word_t ok = 0;
    for (L4_Word_t i = 0; i < 8; i++) {
        volatile L4_Word_t *p = &touch_buf[i * WORDS_PER_PAGE];
        *p = 0x37 + i;
        if (*p == 0x37 + i)
            ok++;
    }
    touch_ok = ok;
}

static void touch_test(void)
{
    pager_reset(0);
    touch_ok = 0;
    L4_ThreadId_t t = space_spawn(page_touch);
    int done = space_join(t, 3000);
    L4_Word_t faulted = 0;
    for (L4_Word_t i = 0; i < 8; i++)
        faulted += faults_at(page_of(&touch_buf[i * WORDS_PER_PAGE])) == 1;
    check(G, "page-touch", done && touch_ok == 8, "done %d, %lu of 8 pages ok", done, touch_ok);
    check(G, "one-fault-per-page", faulted == 8, "%lu of 8 pages faulted exactly once", faulted);
    check(G, "frames-shared-with-pager", touch_buf[0] == 0x37 && touch_buf[7 * WORDS_PER_PAGE] == 0x3e,
          "pager sees 0x%lx, 0x%lx", touch_buf[0], touch_buf[7 * WORDS_PER_PAGE]);
    check(G, "first-fault-is-the-entry", fault_count > 0 && fault_log[0].rwx == 1
                                         && fault_log[0].addr == fault_log[0].ip,
          "first fault rwx %lu at 0x%lx ip 0x%lx", fault_log[0].rwx, fault_log[0].addr,
          fault_log[0].ip);
    space_kill(t);
}

/* ---- the page-fault message: label rwx, address, ip ---- */
FRESH_PAGES(deny_buf, 2);
static int deny_policy(L4_Word_t addr, L4_Word_t rwx, L4_Word_t *rights)
{
    (void)rwx;
    if ((addr & ~(PAGE_SIZE - 1)) == page_of(deny_buf)
        || (addr & ~(PAGE_SIZE - 1)) == page_of(&deny_buf[WORDS_PER_PAGE]))
        return 0;
    *rights = L4_FullyAccessible;
    return 1;
}
static void __attribute__((noinline)) write_denied(void) { deny_buf[3] = 1; }
static void __attribute__((noinline)) read_denied(void) { (void)deny_buf[WORDS_PER_PAGE + 5]; }

static const volatile struct fault_record *find_fault(L4_Word_t page)
{
    L4_Word_t n = fault_count < FAULT_LOG ? fault_count : FAULT_LOG;
    for (L4_Word_t i = 0; i < n; i++)
        if ((fault_log[i].addr & ~(PAGE_SIZE - 1)) == page)
            return &fault_log[i];
    return 0;
}

static void fault_message(void)
{
    pager_reset(deny_policy);
    L4_ThreadId_t t = space_spawn(write_denied);
    space_join(t, 300);                 /* it stays blocked in its page fault */
    const volatile struct fault_record *f = find_fault(page_of(deny_buf));
    check(G, "fault-write-rights", f && f->rwx == 2, "rwx %lu", f ? f->rwx : 99);
    check(G, "fault-address", f && f->addr == (L4_Word_t)&deny_buf[3],
          "address 0x%lx, wanted 0x%lx", f ? f->addr : 0, (L4_Word_t)&deny_buf[3]);
    check(G, "fault-ip", f && f->ip >= (L4_Word_t)write_denied
                         && f->ip < (L4_Word_t)write_denied + 64,
          "ip 0x%lx, function at 0x%lx", f ? f->ip : 0, (L4_Word_t)write_denied);
    check(G, "fault-from-thread", f && f->tid == t.raw, "from 0x%lx, thread 0x%lx",
          f ? f->tid : 0, t.raw);
    check(G, "fault-blocks-thread", thread_state(t) == L4_SchedResultWaiting,
          "state %lu", thread_state(t));
    space_kill(t);

    pager_reset(deny_policy);
    t = space_spawn(read_denied);
    space_join(t, 300);
    f = find_fault(page_of(&deny_buf[WORDS_PER_PAGE]));
    check(G, "fault-read-rights", f && f->rwx == 4, "rwx %lu", f ? f->rwx : 99);
    space_kill(t);
}

/* ---- read-only mapping: a write faults again, the page stays unchanged ---- */
FRESH_PAGES(ro_buf, 1);
static volatile L4_Word_t ro_seen;
static int ro_policy(L4_Word_t addr, L4_Word_t rwx, L4_Word_t *rights)
{
    if ((addr & ~(PAGE_SIZE - 1)) == page_of(ro_buf)) {
        if (rwx & 2)
            return 0;
        *rights = L4_Readable;
        return 1;
    }
    *rights = L4_FullyAccessible;
    return 1;
}
static void ro_child(void)
{
    ro_seen = ro_buf[0];
    ro_buf[0] = 99;
}

static void read_only(void)
{
    ro_buf[0] = 0x1234;
    ro_seen = 0;
    pager_reset(ro_policy);
    L4_ThreadId_t t = space_spawn(ro_child);
    space_join(t, 300);
    check(G, "read-only-readable", ro_seen == 0x1234, "child read 0x%lx", ro_seen);
    check(G, "read-only-write-faults", faults_at(page_of(ro_buf)) == 2,
          "%d faults on the page", faults_at(page_of(ro_buf)));
    check(G, "read-only-unchanged", ro_buf[0] == 0x1234, "page holds 0x%lx", ro_buf[0]);
    space_kill(t);
}

/* ---- unmap: the derived mapping goes, the thread faults again ---- */
FRESH_PAGES(um_buf, 1);
static volatile L4_Word_t um_first, um_second;
static void um_child(void)
{
    um_first = um_buf[0];
    L4_LoadMR(0, 0);
    L4_Call(main_tid);
    um_second = um_buf[0];
}

static void unmap_test(void)
{
    um_buf[0] = 5;
    um_first = um_second = 0;
    pager_reset(0);
    L4_ThreadId_t t = space_spawn(um_child);
    L4_MsgTag_t tag = L4_Receive_Timeout(t, ms(2000));
    L4_Fpage_t fp = L4_UnmapFpage(fpage_rwx(um_buf));
    um_buf[0] = 6;
    L4_LoadMR(0, 0);
    L4_Reply(t);
    int done = space_join(t, 2000);
    check(G, "unmap-refaults", L4_IpcSucceeded(tag) && done && faults_at(page_of(um_buf)) == 2,
          "call 0x%lx, done %d, %d faults", tag.raw, done, faults_at(page_of(um_buf)));
    check(G, "unmap-same-frame", um_first == 5 && um_second == 6, "child read %lu then %lu",
          um_first, um_second);
    check(G, "unmap-keeps-own", um_buf[0] == 6, "we read %lu", um_buf[0]);
    check(G, "unmap-status", L4_WasReferenced(fp), "status of the derived page 0x%lx", fp.raw);
    space_kill(t);
}

/* ---- flush of our own page: it comes back from sigma0, same frame ---- */
FRESH_PAGES(fl_buf, 1);
static void flush_test(void)
{
    fl_buf[0] = 0x77;
    L4_Flush(fpage_rwx(fl_buf));
    L4_Fpage_t st = L4_GetStatus(L4_FpageLog2(page_of(fl_buf), PAGE_BITS));
    check(G, "flush-unmapped", (st.raw & 7) == 0, "status after flush 0x%lx", st.raw & 7);
    check(G, "flush-same-frame", fl_buf[0] == 0x77, "read 0x%lx after the flush", fl_buf[0]);
}

/* ---- status bits (tracked in software through faults) ---- */
FRESH_PAGES(st_buf, 1);
static void status_test(void)
{
    L4_Fpage_t fp = L4_FpageLog2(page_of(st_buf), PAGE_BITS);
    (void)L4_GetStatus(fp);                 /* forget what crt0's clearing did */
    st_buf[0] = 1;
    L4_Fpage_t s1 = L4_GetStatus(fp);
    L4_Fpage_t s2 = L4_GetStatus(fp);
    (void)st_buf[1];
    L4_Fpage_t s3 = L4_GetStatus(fp);
    check(G, "status-written", L4_WasWritten(s1) && L4_WasReferenced(s1), "0x%lx", s1.raw & 7);
    check(G, "status-reset", (s2.raw & 7) == 0, "0x%lx", s2.raw & 7);
    check(G, "status-referenced", L4_WasReferenced(s3) && !L4_WasWritten(s3), "0x%lx",
          s3.raw & 7);
}

/* ---- explicit map items along a chain A -> B, then one unmap removes both ---- */
#define CHAIN_VA 0x30000000UL
FRESH_PAGES(chain_buf, 1);
static volatile L4_ThreadId_t chain_a, chain_b;
static volatile L4_Word_t chain_a_val, chain_b_val, chain_a_err;
static int chain_policy(L4_Word_t addr, L4_Word_t rwx, L4_Word_t *rights)
{
    (void)rwx;
    if ((addr & ~(PAGE_SIZE - 1)) == CHAIN_VA)
        return 0;
    *rights = L4_FullyAccessible;
    return 1;
}
static void chain_child_a(void)
{
    L4_Accept(L4_MapGrantItems(L4_FpageLog2(CHAIN_VA, PAGE_BITS)));
    L4_MsgTag_t tag = L4_Receive(main_tid);
    chain_a_val = *(volatile L4_Word_t *)CHAIN_VA;
    L4_Fpage_t fp = L4_FpageAddRights(L4_FpageLog2(CHAIN_VA, PAGE_BITS), L4_ReadWriteOnly);
    L4_MapItem_t item = L4_MapItem(fp, CHAIN_VA);
    L4_LoadMR(0, L4_MsgTagMake(0, 0, 2).raw);
    L4_LoadMR(1, item.raw[0]);
    L4_LoadMR(2, item.raw[1]);
    L4_MsgTag_t sent = L4_Send_Timeout(chain_b, ms(2000));
    chain_a_err = L4_IpcFailed(tag) ? 1 : L4_IpcFailed(sent) ? 2 : 0;
}
static void chain_child_b(void)
{
    L4_Accept(L4_MapGrantItems(L4_FpageLog2(CHAIN_VA, PAGE_BITS)));
    L4_Receive(chain_a);
    chain_b_val = *(volatile L4_Word_t *)CHAIN_VA;
    L4_LoadMR(0, 0);
    L4_Call(main_tid);
    chain_b_val = *(volatile L4_Word_t *)CHAIN_VA;    /* after the unmap: faults */
}

static void chain_test(void)
{
    chain_buf[0] = 0xc4a1;
    chain_a_val = chain_b_val = 0;
    pager_reset(chain_policy);
    chain_a = space_create(chain_child_a, space_pager());
    chain_b = space_spawn(chain_child_b);
    space_start(chain_a);
    L4_MapItem_t item = L4_MapItem(fpage_rwx(chain_buf), CHAIN_VA);
    L4_LoadMR(0, L4_MsgTagMake(0, 0, 2).raw);
    L4_LoadMR(1, item.raw[0]);
    L4_LoadMR(2, item.raw[1]);
    L4_MsgTag_t sent = L4_Send_Timeout(chain_a, ms(2000));
    L4_MsgTag_t called = L4_Receive_Timeout(chain_b, ms(2000));
    check(G, "map-item", L4_IpcSucceeded(sent) && chain_a_val == 0xc4a1,
          "send 0x%lx, A read 0x%lx", sent.raw, chain_a_val);
    check(G, "map-item-derived", L4_IpcSucceeded(called) && chain_b_val == 0xc4a1 && !chain_a_err,
          "B called 0x%lx, read 0x%lx, A error %lu", called.raw, chain_b_val, chain_a_err);
    L4_UnmapFpage(fpage_rwx(chain_buf));
    L4_LoadMR(0, 0);
    L4_Reply(chain_b);
    space_join(chain_b, 300);
    const volatile struct fault_record *f = find_fault(CHAIN_VA);
    check(G, "unmap-recursive", f && f->tid == chain_b.raw,
          "B's access after our unmap: %s", f ? "faulted in another thread" : "no fault");
    check(G, "unmap-recursive-own-kept", chain_buf[0] == 0xc4a1, "we read 0x%lx", chain_buf[0]);
    space_kill(chain_a);
    space_kill(chain_b);
}

/* ---- bad map items: no window, window in the kernel area ---- */
static volatile L4_Word_t bad_err, bad_tag;
static void no_window_child(void)
{
    L4_Accept(L4_UntypedWordsAcceptor);
    L4_MsgTag_t tag = L4_Receive(main_tid);
    bad_tag = tag.raw;
    bad_err = L4_ErrorCode();
}

static void bad_items(void)
{
    FRESH_PAGES(bad_buf, 1);
    bad_buf[0] = 1;
    pager_reset(0);
    bad_err = bad_tag = 0;
    L4_ThreadId_t t = space_spawn(no_window_child);
    L4_MapItem_t item = L4_MapItem(fpage_rwx(bad_buf), 0);
    L4_LoadMR(0, L4_MsgTagMake(0, 0, 2).raw);
    L4_LoadMR(1, item.raw[0]);
    L4_LoadMR(2, item.raw[1]);
    L4_MsgTag_t tag = L4_Send_Timeout(t, ms(2000));
    L4_Word_t err = L4_ErrorCode();
    space_join(t, 2000);
    check(G, "no-receive-window", L4_IpcFailed(tag) && err == 8 && bad_err == 9,
          "send 0x%lx error 0x%lx, receiver error 0x%lx (want 8 and 9: overflow)",
          tag.raw, err, bad_err);
    space_kill(t);
}

void mem_tests(void)
{
    if (!mmu) {
        skip(G, "all", "the kernel runs flat (no page tables): nothing faults");
        return;
    }
    touch_test();
    fault_message();
    read_only();
    unmap_test();
    flush_test();
    status_test();
    chain_test();
    bad_items();
}
