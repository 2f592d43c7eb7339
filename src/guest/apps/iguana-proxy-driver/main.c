/* iguana-proxy-driver: a user-level driver in its own PD owns an interrupt and
 * a device region (registered through Iguana: hardware_register_interrupt,
 * hardware_back_memsection); a client in another PD uses the device only
 * through IPC to the driver (the OKL4 white paper's stub/proxy driver).
 * On ARM (QEMU virt): the device region is the PL031 RTC at 0x09010000, the
 * interrupt the generic timer's physical channel (<l4/arch/device.h>). */
#include <iguana/iguana.h>
#include <l4/l4.h>
#include <stdio.h>

/* The device region is QEMU virt's PL031 and the interrupt the ARM generic
 * timer (<l4/arch/device.h> there): this scenario is ARM's. */
#if defined(__arm__)
#include <l4/arch/device.h>
#define HAVE_DEVICE 1
#endif

#ifdef HAVE_DEVICE
#define RTC_PADDR 0x09010000UL
#define OP_ID     0x10          /* -> the RTC's peripheral id byte */
#define OP_TIME   0x11          /* -> RTCDR, seconds */
#define OP_TICK   0x12          /* MR1 = microseconds -> interrupts seen so far */
#define DONE      0x20

static L4_ThreadId_t main_tid, driver_tid;
static volatile uintptr_t rtc;              /* the driver's device memsection */
static volatile L4_Word_t irqs;

static L4_Word_t wait_interrupt(L4_Word_t us)
{
    L4_ThreadId_t irq = L4_GlobalId(L4_DEVICE_IRQ, 1);
    l4_device_arm(us);
    L4_MsgTag_t tag = L4_Receive_Timeout(irq, L4_TimePeriod(1000000));
    l4_device_stop();
    if (L4_IpcFailed(tag))
        return irqs;
    irqs++;
    L4_LoadMR(0, 0);
    L4_Send(irq);                          /* the ack: the line is enabled again */
    return irqs;
}

static void driver(void)
{
    L4_ThreadId_t from;
    L4_MsgTag_t tag = L4_Wait(&from);
    for (;;) {
        L4_Word_t arg = 0, out = 0;
        L4_StoreMR(1, &arg);
        switch (L4_Label(tag)) {
        case OP_ID:   out = ((volatile uint32_t *)rtc)[0xFE0 / 4] & 0xff; break;
        case OP_TIME: out = ((volatile uint32_t *)rtc)[0]; break;
        case OP_TICK: out = wait_interrupt(arg); break;
        default:      out = ~0UL;
        }
        L4_Set_MsgTag(L4_MsgTagMake(0, 1, 0));
        L4_LoadMR(1, out);
        tag = L4_ReplyWait(from, &from);
    }
}

static L4_Word_t request(L4_Word_t op, L4_Word_t arg)
{
    L4_Set_MsgTag(L4_MsgTagMake(op, 1, 0));
    L4_LoadMR(1, arg);
    L4_MsgTag_t tag = L4_Call(driver_tid);
    L4_Word_t v = ~0UL;
    if (L4_IpcSucceeded(tag))
        L4_StoreMR(1, &v);
    return v;
}

static void client(void)
{
    L4_Word_t r[4];
    r[0] = request(OP_ID, 0);
    r[1] = request(OP_TIME, 0);
    r[2] = request(OP_TICK, 2000);
    r[3] = request(OP_TICK, 1000);
    L4_Set_MsgTag(L4_MsgTagMake(DONE, 4, 0));
    for (int i = 0; i < 4; i++)
        L4_LoadMR(i + 1, r[i]);
    L4_Send(main_tid);
    for (;;)
        L4_Receive(L4_Myself());
}

int main(void)
{
    main_tid = L4_Myself();
    pd_ref_t dpd = pd_create(), cpd = pd_create();
    uintptr_t base = 0;
    memsection_ref_t ms = pd_create_memsection_full(dpd, 4096, 0, IGUANA_MS_USER, 0, 0, &base);
    int backed = hardware_back_memsection(ms, RTC_PADDR, 1);
    rtc = base;
    driver_tid = thread_create_in(dpd, driver, 200, 0);
    int owns = hardware_register_interrupt(driver_tid, L4_DEVICE_IRQ);
    printf("proxy-driver: driver %lx in PD %lx owns irq %d (%d) and the RTC at %lx as %lx (%d)\n",
           (unsigned long)driver_tid.raw, (unsigned long)dpd, L4_DEVICE_IRQ, owns,
           RTC_PADDR, (unsigned long)base, backed);

    L4_ThreadId_t c = thread_create_in(cpd, client, 100, 0);
    L4_MsgTag_t tag = L4_Receive_Timeout(c, L4_TimePeriod(5000000));
    L4_Word_t r[4] = { 0, 0, 0, 0 };
    int got = L4_IpcSucceeded(tag) && L4_Label(tag) == DONE;
    for (int i = 0; got && i < 4; i++)
        L4_StoreMR(i + 1, &r[i]);
    printf("client: RTC id %#lx, time %lu s\n", (unsigned long)r[0], (unsigned long)r[1]);
    printf("client: device interrupts through the driver: %lu then %lu\n",
           (unsigned long)r[2], (unsigned long)r[3]);
    int ok = backed == 0 && owns == 0 && got && r[0] == 0x31 && r[1] > 1000000000UL
             && r[2] == 1 && r[3] == 2;
    pd_delete(cpd);
    pd_delete(dpd);
    printf("proxy-driver: %s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
#else
int main(void)
{
    printf("proxy-driver: no device region and interrupt for this scenario on this architecture\n");
    return 0;
}
#endif
