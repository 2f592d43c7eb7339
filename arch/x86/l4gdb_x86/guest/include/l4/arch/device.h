/*
 * A device a user-level driver can program: the CMOS real-time clock's
 * periodic interrupt (<l4/dev/mc146818.h>) through ports 0x70/0x71, the only
 * ports the TSS's I/O bitmap opens to ring 3.  It is 8259 line 8 =
 * L4_DEVICE_IRQ, reaching the driver as an interrupt IPC once it is
 * associated.  Portable code tests for this header with
 * __has_include(<l4/arch/device.h>).
 */
#ifndef L4_ARCH_DEVICE_H
#define L4_ARCH_DEVICE_H

#define L4_DEVICE_IRQ 8

#define L4_RTC_INDEX 0x70
#define L4_RTC_DATA 0x71

/* Ports, not a page: nothing to be given (l4test calls this). */
static inline int l4_device_map(void) { return 1; }

static inline void l4_rtc_write(unsigned char reg, unsigned char v)
{
    __asm__ volatile("outb %0, %1" : : "a"(reg), "Nd"((unsigned short)L4_RTC_INDEX));
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"((unsigned short)L4_RTC_DATA));
}

static inline unsigned char l4_rtc_read(unsigned char reg)
{
    unsigned char v;
    __asm__ volatile("outb %0, %1" : : "a"(reg), "Nd"((unsigned short)L4_RTC_INDEX));
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"((unsigned short)L4_RTC_DATA));
    return v;
}

#include <l4/dev/mc146818.h>

#endif /* L4_ARCH_DEVICE_H */
