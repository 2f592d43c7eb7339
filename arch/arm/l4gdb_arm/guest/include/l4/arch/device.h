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
#include <l4/sigma0.h>

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
/* The generic timer is the CPU's: no page to be given (l4test calls this). */
static inline int l4_device_map(void) { return 1; }

static inline void l4_device_stop(void)
{
    __asm__ volatile("mcr p15, 0, %0, c14, c2, 1" : : "r"(0UL));
    __asm__ volatile("isb" ::: "memory");
}

/*
 * The board's PL011 UART, for a user-level driver: its page (physical
 * L4_UART_BASE) is mapped in no space until a driver is given it: a root task
 * asks sigma0 for it (l4_uart_map: sigma0 maps it at va = pa, to the first
 * space that asks only); under Iguana a PD holding the hardware capability
 * backs a memsection with it (hardware_back_memsection). Its receive
 * interrupt is L4_UART_IRQ (SPI 1 on QEMU virt). The host types the console
 * input into it. The FIFO stays off: one character at a time, the receive
 * interrupt is raised while a character waits and cleared by reading it.
 */
#define L4_UART_BASE 0x09000000UL
#define L4_UART_IRQ  33
#define L4_DEVICE_PAGE L4_UART_BASE     /* the page a driver is given (hostile tries it) */

#define PL011_DR     0x000              /* data */
#define PL011_FR     0x018              /* flags */
#define PL011_FR_RXFE (1UL << 4)        /* receive FIFO empty */
#define PL011_IMSC   0x038              /* interrupt mask set/clear */
#define PL011_ICR    0x044              /* interrupt clear */
#define PL011_INT_RX (1UL << 4)         /* RXIM / RXIC */
#define PL011_INT_RT (1UL << 6)         /* receive timeout: RTIM / RTIC */

/* The UART's page from sigma0 (a root task, whose pager sigma0 is): 1 when mapped. */
static inline int l4_uart_map(void)
{
    return !L4_IsNilFpage(L4_Sigma0_GetPage(L4_nilthread, L4_FpageLog2(L4_UART_BASE, 12)));
}

static inline volatile unsigned int *l4_uart_reg(L4_Word_t offset)
{
    return (volatile unsigned int *)(L4_UART_BASE + offset);
}

/* Raise L4_UART_IRQ while a received character waits (0: never). No ICR
 * write: it would drop the status of a character that came before. */
static inline void l4_uart_rx_interrupts(int on)
{
    *l4_uart_reg(PL011_IMSC) = on ? PL011_INT_RX | PL011_INT_RT : 0;
}

/* The next received character, or -1 when none waits. */
static inline int l4_uart_getc(void)
{
    if (*l4_uart_reg(PL011_FR) & PL011_FR_RXFE)
        return -1;
    return (int)(*l4_uart_reg(PL011_DR) & 0xff);
}

#endif /* L4_ARCH_DEVICE_H */
