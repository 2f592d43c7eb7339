#include "iguana-test.h"
#include <l4/pager.h>

#define EAS_UTCB  0x38000000UL
#define EAS_DATA  0x20000000UL
#define EAS_STACK 0x20010000UL

/* Runs in the EAS: reads the word eas_map put there and reports it. */
static void eas_reader(void)
{
    L4_Word_t v = *(volatile L4_Word_t *)EAS_DATA;
    L4_Set_MsgTag(L4_MsgTagMake(0x77, 1, 0));
    L4_LoadMR(1, v);
    L4_Send(main_tid);
    for (;;)
        L4_Receive(L4_Myself());
}

/* Be the pager of t (in an EAS: nothing is mapped there but what I map) until
 * it sends label 0x77; 1 and its word in *val when it does. */
static int page_until_report(L4_ThreadId_t t, L4_Word_t *val)
{
    for (int i = 0; i < 64; i++) {
        L4_MsgTag_t tag = L4_Receive_Timeout(t, L4_TimePeriod(2000000));
        if (L4_IpcFailed(tag))
            return 0;
        if (L4_Label(tag) == 0x77) {
            L4_StoreMR(1, val);
            return 1;
        }
        if ((L4_Label(tag) & 0xFFF0) != 0xFFE0)
            return 0;
        L4_Word_t addr;
        L4_StoreMR(1, &addr);
        l4_load_map_own_page(addr, L4_FullyAccessible);
        L4_Reply(t);
    }
    return 0;
}

void eas_tests(void)
{
    const char *g = "eas";
    L4_Word_t space = 0;
    eas_ref_t eas = eas_create(L4_FpageLog2(EAS_UTCB, 16), &space);
    check(g, "eas0100-create", eas != 0 && space != 0, "err %d", iguana_errno);
    check(g, "eas0200-delete", eas && eas_delete(eas) == 0, "err %d", iguana_errno);
    int err = eas_delete(eas);
    check(g, "eas0201-delete-twice", err == IGUANA_ENOENT, "gave %d", err);
    check(g, "eas0101-bad-utcb-area", eas_create(L4_Nilpage, 0) == 0
          && iguana_errno == IGUANA_EINVAL, "nil UTCB area gave %d", iguana_errno);

    eas = eas_create(L4_FpageLog2(EAS_UTCB, 16), &space);
    L4_ThreadId_t handle = L4_nilthread;
    L4_ThreadId_t t = eas_create_thread(eas, L4_Myself(), L4_Myself(), 0, &handle);
    check(g, "eas0300-create-thread", !L4_IsNilThread(t) && handle.raw == t.raw,
          "tid %lx err %d", (unsigned long)t.raw, iguana_errno);
    check(g, "eas0301-thread-ref", thread_id(t) != 0, "no thread object");
    L4_ThreadId_t bad = eas_create_thread(eas, L4_Myself(), L4_Myself(), (void *)0x1234, 0);
    check(g, "eas0302-bad-utcb", L4_IsNilThread(bad) && iguana_errno == IGUANA_EINVAL,
          "gave %d", iguana_errno);

    /* A word of my memsection, and a stack page, mapped into the EAS. */
    uintptr_t data, stack;
    memsection_create(4096, &data);
    memsection_create(4096, &stack);
    *(volatile L4_Word_t *)data = 0xC0FFEE;
    L4_Fpage_t src = L4_FpageLog2(data, 12);
    L4_Set_Rights(&src, L4_ReadWriteOnly);
    check(g, "eas0500-map", eas_map(eas, src, EAS_DATA, 0) == 0, "err %d", iguana_errno);
    L4_Fpage_t st = L4_FpageLog2(stack, 12);
    L4_Set_Rights(&st, L4_ReadWriteOnly);
    eas_map(eas, st, EAS_STACK, 0);
    err = eas_map(eas, L4_FpageLog2(0x3f000000, 12), EAS_DATA, 0);
    check(g, "eas0501-map-no-memsection", err == IGUANA_ENOENT, "gave %d", err);
    L4_Word_t val = 0;
    int got = thread_start(thread_id(t), (uintptr_t)eas_reader, EAS_STACK + 4096 - 16) == 0
              && page_until_report(t, &val);
    check(g, "eas0600-thread-runs-with-my-pager", got && val == 0xC0FFEE,
          "got %d value %lx", got, (unsigned long)val);
    check(g, "eas0700-unmap", eas_unmap(eas, L4_FpageLog2(EAS_DATA, 12)) == 0,
          "err %d", iguana_errno);

    int n = 0;
    while (n < 300 && !L4_IsNilThread(eas_create_thread(eas, L4_Myself(), L4_Myself(), 0, 0)))
        n++;
    check(g, "eas0400-threads-until-exhausted", n > 0 && n < 300 && iguana_errno == IGUANA_ENOMEM,
          "%d threads, then %d", n, iguana_errno);
    check(g, "eas0800-delete-with-threads", eas_delete(eas) == 0 && thread_id(t) == 0,
          "err %d", iguana_errno);
    memsection_delete(data);
    memsection_delete(stack);
}
