/*
 * A device a user-level driver can program without MMIO: the generic timer's
 * physical channel (CNTP), which the kernel stub opens to user mode
 * (CNTKCTL.PL0PTEN). It raises interrupt L4_DEVICE_IRQ (PPI 14 on QEMU virt),
 * which reaches the driver as an interrupt IPC once it is associated.
 * Portable code tests for it with __has_include(<l4/arch/device.h>).
 */
#ifndef L4_ARCH_DEVICE_H
#define L4_ARCH_DEVICE_H

#include <l4/types.h>

#define L4_DEVICE_IRQ 30

static inline L4_Word_t l4_device_freq(void)
{
    L4_Word_t f;
    __asm__ volatile("mrc p15, 0, %0, c14, c0, 0" : "=r"(f));
    return f;
}

/* Fire once, `us` microseconds from now (guest time). */
static inline void l4_device_arm(L4_Word_t us)
{
    L4_Word_t ticks = (L4_Word_t)(((unsigned long long)l4_device_freq() * us) / 1000000ULL);
    __asm__ volatile("mcr p15, 0, %0, c14, c2, 0" : : "r"(ticks));      /* CNTP_TVAL */
    __asm__ volatile("mcr p15, 0, %0, c14, c2, 1" : : "r"(1UL));        /* CNTP_CTL: on */
    __asm__ volatile("isb" ::: "memory");
}

/* Quiet the device (its interrupt is level-triggered): before the ack. */
static inline void l4_device_stop(void)
{
    __asm__ volatile("mcr p15, 0, %0, c14, c2, 1" : : "r"(0UL));
    __asm__ volatile("isb" ::: "memory");
}

#endif /* L4_ARCH_DEVICE_H */
