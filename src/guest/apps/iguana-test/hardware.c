#include "iguana-test.h"

#define TEST_IRQ 5              /* the line l4test's association test uses */

static volatile int child_err;

/* Runs in a child PD that has no hardware capability. */
static void no_cap_driver(void)
{
    child_err = hardware_register_interrupt(L4_nilthread, TEST_IRQ);
    L4_Set_MsgTag(L4_MsgTagMake(0x88, 0, 0));
    L4_Send(main_tid);
    for (;;)
        L4_Receive(L4_Myself());
}

void hardware_tests(void)
{
    const char *g = "hardware";
    check(g, "hw0100-register-interrupt", hardware_register_interrupt(L4_Myself(), TEST_IRQ) == 0,
          "err %d", iguana_errno);
    int err = hardware_register_interrupt(L4_Myself(), 1 << 14);
    check(g, "hw0101-bad-irq", err == IGUANA_EINVAL, "gave %d", err);
    err = hardware_register_interrupt(L4_GlobalId(4000, 1), TEST_IRQ);
    check(g, "hw0102-handler-not-iguana", err == IGUANA_ENOENT, "gave %d", err);
    L4_DeassociateInterrupt(L4_GlobalId(TEST_IRQ, 1));

    pd_ref_t pd = pd_create();
    child_err = -1;
    L4_ThreadId_t t = spawn_in(pd, no_cap_driver, 100, 0);
    int got = !L4_IsNilThread(t) && wait_for_label(t, 0x88);
    check(g, "hw0200-no-cap", got && child_err == IGUANA_EPERM, "got %d err %d", got,
          child_err);
    pd_delete(pd);

    uintptr_t base;
    memsection_ref_t ms = memsection_create(4096, &base);
    err = hardware_back_memsection(ms, 0x1000000, 0);
    check(g, "hw0300-back-normal-refused", err == IGUANA_EINVAL, "gave %d", err);
    memsection_delete(ms);
    ms = memsection_create_user(4096, &base);
    err = hardware_back_memsection(ms, (uintptr_t)&child_err & ~(uintptr_t)4095, 0);
    check(g, "hw0301-back-ram-refused", err == IGUANA_EINVAL, "gave %d", err);
    err = hardware_back_memsection(ms, 0x123, 0);
    check(g, "hw0302-back-unaligned", err == IGUANA_EINVAL, "gave %d", err);
#if defined(__arm__)
    /* QEMU virt's PL031 RTC: its peripheral id register reads 0x31. */
    err = hardware_back_memsection(ms, 0x09010000, 1);
    check(g, "hw0400-back-device", err == 0 && (((volatile uint32_t *)base)[0xFE0 / 4] & 0xff) == 0x31,
          "err %d", err);
#endif
    memsection_delete(ms);
}
