/*
 * The MC146818 real-time clock's periodic interrupt as a test device for
 * user-level drivers (<l4/arch/device.h> of PC-style machines includes this
 * after defining l4_rtc_read(reg) and l4_rtc_write(reg, value) for its way to
 * the index/data ports).  The periods are powers of two of 1/32768 s (122 us
 * .. 500 ms): l4_device_arm(us) takes the longest one not above `us`, so the
 * first interrupt comes within `us`; the device goes on until
 * l4_device_stop().
 */
#ifndef L4_DEV_MC146818_H
#define L4_DEV_MC146818_H

#include <l4/types.h>

#define L4_RTC_A 0x0a                   /* rate select: bits 0..3 */
#define L4_RTC_B 0x0b                   /* bit 6: periodic interrupt enable */
#define L4_RTC_C 0x0c                   /* flags: reading acknowledges the interrupt */
#define L4_RTC_PIE 0x40

/* Interrupt within `us` microseconds from now (at least 122 us). */
static inline void l4_device_arm(L4_Word_t us)
{
    unsigned rate = 3;                  /* period 2^(rate-1) / 32768 s */
    while (rate < 15 && ((1000000UL << rate) >> 15) <= us)
        rate++;
    l4_rtc_write(L4_RTC_A, (l4_rtc_read(L4_RTC_A) & 0xf0) | rate);
    l4_rtc_read(L4_RTC_C);              /* drop a stale flag */
    l4_rtc_write(L4_RTC_B, l4_rtc_read(L4_RTC_B) | L4_RTC_PIE);
}

/* Quiet the device (before the ack): no more periodic interrupts, the
 * pending one acknowledged. */
static inline void l4_device_stop(void)
{
    l4_rtc_write(L4_RTC_B, l4_rtc_read(L4_RTC_B) & ~L4_RTC_PIE);
    l4_rtc_read(L4_RTC_C);
}

#endif /* L4_DEV_MC146818_H */
