#include "iguana-test.h"

static volatile uintptr_t shared_at;

/* Runs in the PD the memsection is attached to read-only. */
static void reader(void)
{
    L4_Word_t v = *(volatile L4_Word_t *)shared_at;
    L4_Set_MsgTag(L4_MsgTagMake(0x91, 1, 0));
    L4_LoadMR(1, v);
    L4_Send(main_tid);
    *(volatile L4_Word_t *)shared_at = 0xBAD;      /* refused: Iguana stops me */
    L4_Set_MsgTag(L4_MsgTagMake(0x92, 0, 0));
    L4_Send(main_tid);
    for (;;)
        L4_Receive(L4_Myself());
}

void attach_tests(void)
{
    const char *g = "pd";
    uintptr_t base;
    memsection_ref_t ms = memsection_create(4096, &base);
    *(volatile L4_Word_t *)base = 0x5EED;
    shared_at = base;
    pd_ref_t pd = pd_create();
    check(g, "pd1600-attach", pd_attach(pd, ms, L4_Readable) == 0, "err %d", iguana_errno);
    L4_ThreadId_t t = spawn_in(pd, reader, 100, 0);
    L4_Word_t v = 0;
    int got = !L4_IsNilThread(t) && wait_for_label(t, 0x91);
    L4_StoreMR(1, &v);
    check(g, "pd1601-attached-readable", got && v == 0x5EED, "got %d value %lx", got,
          (unsigned long)v);
    got = wait_for_label(t, 0x92);
    check(g, "pd1602-read-only-write-refused", !got && *(volatile L4_Word_t *)base == 0x5EED,
          "write went through (%d, %lx)", got, (unsigned long)*(volatile L4_Word_t *)base);
    int err = pd_attach(0, ms, L4_Readable);
    check(g, "pd1700-attach-null-pd", err == IGUANA_ENOENT, "gave %d", err);
    err = pd_attach(pd, 0, L4_Readable);
    check(g, "pd1701-attach-null-memsection", err == IGUANA_ENOENT, "gave %d", err);
    err = pd_attach(pd, ms, 0);
    check(g, "pd1702-attach-no-rights", err == IGUANA_EINVAL, "gave %d", err);
    check(g, "pd2000-attach-twice", pd_attach(pd, ms, L4_ReadWriteOnly) == 0, "err %d",
          iguana_errno);
    pd_ref_t pd2 = pd_create();
    check(g, "pd2100-attach-two-pds", pd_attach(pd2, ms, L4_Readable) == 0, "err %d",
          iguana_errno);
    check(g, "pd1603-detach", pd_detach(pd, ms) == 0, "err %d", iguana_errno);
    err = pd_detach(pd, ms);
    check(g, "pd1604-detach-twice", err == IGUANA_ENOENT, "gave %d", err);
    memsection_delete(ms);
    err = pd_attach(pd2, ms, L4_Readable);
    check(g, "pd1800-attach-deleted-memsection", err == IGUANA_ENOENT, "gave %d", err);
    ms = memsection_create(4096, &base);
    pd_delete(pd);
    err = pd_attach(pd, ms, L4_Readable);
    check(g, "pd1900-attach-deleted-pd", err == IGUANA_ENOENT, "gave %d", err);
    pd_delete(pd2);
    memsection_delete(ms);
}
