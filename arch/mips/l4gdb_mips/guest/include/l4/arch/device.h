/*
 * A device a user-level driver can program: channel 0 of the PIIX4's i8254
 * timer as a one-shot (mode 0: interrupt on terminal count).  Malta's ISA I/O
 * space (physical 0x18000000) appears to a driver at L4_ISA_IO = its physical
 * address (uncached), in no space by default: sigma0 maps it for the first
 * space that asks (a root task's request or first touch; pagetables.py
 * driver_pages), under Iguana only a PD holding the hardware capability gets
 * it (hardware_back_memsection).  The timer's ports are at
 * L4_ISA_IO + 0x40/0x43.  Its output is line 0 of the i8259s, which the
 * kernel numbers 16 + line: L4_DEVICE_IRQ = 16, reaching the driver as an
 * interrupt IPC once it is associated.  Portable code tests for this header
 * with __has_include(<l4/arch/device.h>).
 */
#ifndef L4_ARCH_DEVICE_H
#define L4_ARCH_DEVICE_H

#include <l4/types.h>
#include <l4/sigma0.h>

#define L4_DEVICE_IRQ 16
#define L4_ISA_IO 0x18000000UL
#define L4_DEVICE_PAGE L4_ISA_IO      /* the page a driver is given (hostile tries it) */
#define L4_PIT_HZ 1193182UL
#define L4_PIT_CH0 0x40
#define L4_PIT_CONTROL 0x43
#define L4_PIT_ONESHOT 0x30             /* channel 0, low then high byte, mode 0 */

/* The device's page from sigma0, for a root task (whose pager sigma0 is): ask
 * before any other thread of the space touches it (their faults go to their
 * own pager).  1 when mapped. */
static inline int l4_device_map(void)
{
    return !L4_IsNilFpage(L4_Sigma0_GetPage(L4_nilthread, L4_FpageLog2(L4_DEVICE_PAGE, 12)));
}

static inline void l4_isa_out(unsigned port, unsigned char v)
{
    ((volatile unsigned char *)L4_ISA_IO)[port] = v;
}

/* Fire once, `us` microseconds from now (at most 54925 us). */
static inline void l4_device_arm(L4_Word_t us)
{
    unsigned long long n = (unsigned long long)L4_PIT_HZ * us / 1000000ULL;
    L4_Word_t count = n < 1 ? 1 : n > 0xffff ? 0xffff : (L4_Word_t)n;
    l4_isa_out(L4_PIT_CONTROL, L4_PIT_ONESHOT);
    l4_isa_out(L4_PIT_CH0, count & 0xff);
    l4_isa_out(L4_PIT_CH0, count >> 8);  /* counting starts here */
}

/* Quiet the device (before the ack): a control word alone drops the output
 * and stops the count until the next l4_device_arm(). */
static inline void l4_device_stop(void)
{
    l4_isa_out(L4_PIT_CONTROL, L4_PIT_ONESHOT);
}

#endif /* L4_ARCH_DEVICE_H */
