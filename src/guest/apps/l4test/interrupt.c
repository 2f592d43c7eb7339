/* interrupt: interrupt threads and interrupts as IPC.  Association through
 * ThreadControl (L4_AssociateInterrupt / L4_DeassociateInterrupt), and --
 * where the architecture has a device user code can program
 * (<l4/arch/device.h>) -- delivery: the interrupt thread's message (label
 * -1 << 4) wakes a high-priority handler that preempts a thread spinning in
 * user mode within one timer tick, and the handler's reply enables the line
 * again. */
#include "l4test.h"

#if defined(__has_include)
#if __has_include(<l4/arch/device.h>)
#include <l4/arch/device.h>
#define HAVE_DEVICE 1
#endif
#endif

#define G "interrupt"
/* -1 << 4 in the tag's label field (16 bits wide on 32-bit, 48 on 64-bit) */
#define IRQ_LABEL ((L4_Word_t)(-1L << 4) & (~0UL >> 16))
#define TICK_US 10000                   /* the kernel's default tick */
#define ARM_US 3000                     /* the device fires this long after arming */

static L4_ThreadId_t irq_thread(L4_Word_t n) { return L4_GlobalId(n, 1); }

static void association(void)
{
    L4_ThreadId_t irq = irq_thread(5);
    L4_Word_t r = L4_AssociateInterrupt(irq, main_tid);
    check(G, "associate", r == 1, "result %lu, error %lu", r, L4_ErrorCode());
    r = L4_AssociateInterrupt(irq, main_tid);
    check(G, "associate-again", r == 1, "result %lu, error %lu", r, L4_ErrorCode());

    L4_MsgTag_t tag = L4_Receive_Timeout(irq, ms(20));
    check(G, "silent-line-times-out",
          L4_IpcFailed(tag) && ((L4_ErrorCode() >> 1) & 7) == 1 && (L4_ErrorCode() & 1),
          "tag %lx, error %lx", tag.raw, L4_ErrorCode());

    r = L4_DeassociateInterrupt(irq);
    check(G, "deassociate", r == 1, "result %lu, error %lu", r, L4_ErrorCode());

    r = L4_AssociateInterrupt(irq, unused_thread_id());
    check(G, "associate-no-handler", r == 0 && L4_ErrorCode() == L4_ErrInvalidThread,
          "result %lu, error %lu", r, L4_ErrorCode());
    r = L4_AssociateInterrupt(L4_GlobalId(5, 2), main_tid);
    check(G, "associate-bad-version", r == 0 && L4_ErrorCode() == L4_ErrInvalidThread,
          "result %lu, error %lu", r, L4_ErrorCode());
}

#ifdef HAVE_DEVICE
static volatile L4_Word_t spins, got, got_label, got_from, got_spins;
static volatile L4_Word_t arm_request, armed_spins;
static volatile L4_Word64_t got_at, armed_at;

/* Spins in user mode; arms the device itself when asked, so that the
 * interrupt surely comes while it runs (a kernel entry costs the guest up to
 * a few milliseconds on some architectures: armed by another thread, the
 * device could fire before the spinner is back on the CPU). */
static void spinner(void)
{
    for (;;) {
        if (arm_request) {
            arm_request = 0;
            armed_at = L4_SystemClock().raw;
            armed_spins = spins;
            l4_device_arm(ARM_US);
        }
        spins++;
    }
}

/* Wait for the interrupt; note when it came and what the spinner had done;
 * quiet the device and acknowledge (Call: ack, then wait for the next). */
static void handler(void)
{
    L4_ThreadId_t irq = irq_thread(L4_DEVICE_IRQ);
    L4_MsgTag_t tag = L4_Receive(irq);
    for (;;) {
        got_at = L4_SystemClock().raw;
        got_spins = spins;
        got_label = L4_Label(tag);
        got_from = L4_IpcSucceeded(tag) ? irq.raw : 0;
        got++;
        l4_device_stop();
        L4_LoadMR(0, 0);
        tag = L4_Call(irq);
    }
}

static void delivery(void)
{
    L4_ThreadId_t irq = irq_thread(L4_DEVICE_IRQ);
    /* the device page is given per driver: ours before our threads touch it
     * (a flat kernel has no page tables: the device is wired, nothing to give) */
    if (mmu)
        check(G, "device-page", l4_device_map(), "sigma0 gave the device's page");
    else
        skip(G, "device-page", "the kernel runs flat (no page tables): the device is wired");
    L4_ThreadId_t h = thread_create(handler, 1);
    L4_Word_t r = L4_AssociateInterrupt(irq, h);
    check(G, "associate-device", r == 1, "result %lu, error %lu", r, L4_ErrorCode());
    L4_Set_Priority(h, 200);
    thread_start(h);
    wait_state(h, L4_SchedResultWaiting);

    L4_ThreadId_t s = thread_spawn(spinner);
    L4_Set_Priority(s, 100);
    got = 0;
    armed_spins = ~0UL;
    arm_request = 1;
    L4_Sleep(ms(100));             /* the spinner arms the device; the interrupt must cut in */
    /* (no lower bound: with --deterministic the clock moves only on ticks) */
    L4_Word64_t latency = got_at - armed_at;
    check(G, "delivered", got == 1 && got_label == IRQ_LABEL && got_from == irq.raw,
          "%lu messages, label %lx from %lx", got, got_label, got_from);
    check(G, "preempts-spinner-within-a-tick",
          got == 1 && armed_spins != ~0UL && got_spins > armed_spins
          && latency <= ARM_US + TICK_US + 2000,
          "%lu messages, spinner at %lu (%lu when armed), %lu us after arming for %u", got,
          got_spins, armed_spins, (L4_Word_t)latency, ARM_US);
    L4_Word_t before = spins;
    L4_Sleep(ms(30));
    check(G, "spinner-resumes", spins > before, "spinner at %lu then %lu", before, spins);

    l4_device_arm(2000);           /* the reply enabled the line again */
    L4_Sleep(ms(50));
    check(G, "reenabled-by-reply", got == 2, "%lu messages", got);

    L4_DeassociateInterrupt(irq);
    l4_device_arm(1000);           /* no handler: nothing is delivered */
    L4_Sleep(ms(30));
    l4_device_stop();
    check(G, "deassociated-silent", got == 2, "%lu messages", got);
    thread_kill(s);
    thread_kill(h);
}
#endif

void interrupt_tests(void)
{
    association();
#ifdef HAVE_DEVICE
    delivery();
#else
    skip(G, "delivered", "no user-programmable device on this architecture");
    skip(G, "preempts-spinner-within-a-tick", "no user-programmable device on this architecture");
#endif
    thread_kill_all();
}
