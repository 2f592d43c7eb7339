/*
 * A device a user-level driver can program: the alarm of the virt board's
 * goldfish RTC (a nanosecond clock), whose page is a driver's at its physical
 * address L4_RTC: in no space by default, sigma0 maps it (read-write) for the
 * first space that asks (a root task's request or first touch; pagetables.py
 * driver_pages); under Iguana only a PD holding the hardware capability gets
 * it (hardware_back_memsection).  It is
 * PLIC source 11, which the kernel numbers 32 + source: L4_DEVICE_IRQ = 43,
 * reaching the driver as an interrupt IPC once it is associated.  Portable
 * code tests for this header with __has_include(<l4/arch/device.h>).
 */
#ifndef L4_ARCH_DEVICE_H
#define L4_ARCH_DEVICE_H

#include <l4/types.h>
#include <l4/sigma0.h>

#define L4_DEVICE_IRQ 43
#define L4_RTC 0x00101000UL
#define L4_DEVICE_PAGE L4_RTC          /* the page a driver is given (hostile tries it) */
/* goldfish RTC registers (32-bit words) */
#define L4_RTC_TIME_LOW 0               /* reading it latches TIME_HIGH */
#define L4_RTC_TIME_HIGH 1
#define L4_RTC_ALARM_LOW 2              /* writing it sets the alarm */
#define L4_RTC_ALARM_HIGH 3
#define L4_RTC_IRQ_ENABLED 4
#define L4_RTC_CLEAR_ALARM 5
#define L4_RTC_CLEAR_INTERRUPT 7

/* The device's page from sigma0, for a root task (whose pager sigma0 is): ask
 * before any other thread of the space touches it (their faults go to their
 * own pager).  1 when mapped. */
static inline int l4_device_map(void)
{
    return !L4_IsNilFpage(L4_Sigma0_GetPage(L4_nilthread, L4_FpageLog2(L4_DEVICE_PAGE, 12)));
}

static inline volatile unsigned int *l4_rtc(void)
{
    return (volatile unsigned int *)L4_RTC;
}

/* Fire once, `us` microseconds from now (the RTC's time: real time). */
static inline void l4_device_arm(L4_Word_t us)
{
    volatile unsigned int *rtc = l4_rtc();
    unsigned long long now = rtc[L4_RTC_TIME_LOW];
    now |= (unsigned long long)rtc[L4_RTC_TIME_HIGH] << 32;
    unsigned long long at = now + (unsigned long long)us * 1000ULL;
    rtc[L4_RTC_IRQ_ENABLED] = 1;
    rtc[L4_RTC_ALARM_HIGH] = (unsigned int)(at >> 32);
    rtc[L4_RTC_ALARM_LOW] = (unsigned int)at;
}

/* Quiet the device (its interrupt is level-triggered): before the ack. */
static inline void l4_device_stop(void)
{
    volatile unsigned int *rtc = l4_rtc();
    rtc[L4_RTC_CLEAR_ALARM] = 1;
    rtc[L4_RTC_CLEAR_INTERRUPT] = 1;
}

#endif /* L4_ARCH_DEVICE_H */
