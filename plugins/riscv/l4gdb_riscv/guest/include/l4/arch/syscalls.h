/*
 * RISC-V system-call stubs for libl4: one `ecall` per L4 call, registers as
 * in docs/writing-an-arch-plugin.md "RISC-V": the number in a7, arguments and
 * results in a0-a6 (RV32 and RV64 alike).  Every register not written as a result (a7 included) is
 * preserved by the kernel.  The "memory"
 * clobber is there because MRs, BRs and TCRs travel in the UTCB.
 */
#ifndef L4_ARCH_SYSCALLS_H
#define L4_ARCH_SYSCALLS_H

#include <l4/syscall_numbers.h>
#include <l4/types.h>

/* The number register, set right before the syscall instruction. */
#define __L4_NR(n) register L4_Word_t __nr __asm__("a7") = (n)
#define __L4_SYSCALL "ecall"

/* The UTCB address: the return path loads tp from the exit block's tls word
 * right before mret (the psABI's thread pointer: never allocated). */
static inline L4_Word_t *__l4_arch_utcb(void)
{
    L4_Word_t *utcb;
    __asm__("mv %0, tp" : "=r"(utcb));
    return utcb;
}

static inline void *__l4_arch_kernel_interface(L4_Word_t *api_version,
                                               L4_Word_t *api_flags,
                                               L4_Word_t *kernel_id)
{
    __L4_NR(__L4_SYS_KERNEL_INTERFACE);
    register L4_Word_t a0 __asm__("a0");
    register L4_Word_t a1 __asm__("a1");
    register L4_Word_t a2 __asm__("a2");
    register L4_Word_t a3 __asm__("a3");
    __asm__ __volatile__(__L4_SYSCALL
                         : "=r"(a0), "=r"(a1), "=r"(a2), "=r"(a3) : "r"(__nr) : "memory");
    *api_version = a1;
    *api_flags = a2;
    *kernel_id = a3;
    return (void *)a0;
}

static inline L4_Word_t __l4_arch_exchange_registers(
    L4_Word_t dest, L4_Word_t control, L4_Word_t sp, L4_Word_t ip,
    L4_Word_t flags, L4_Word_t handle, L4_Word_t pager,
    L4_Word_t *old_control, L4_Word_t *old_sp, L4_Word_t *old_ip,
    L4_Word_t *old_flags, L4_Word_t *old_handle, L4_Word_t *old_pager)
{
    __L4_NR(__L4_SYS_EXCHANGE_REGISTERS);
    register L4_Word_t a0 __asm__("a0") = dest;
    register L4_Word_t a1 __asm__("a1") = control;
    register L4_Word_t a2 __asm__("a2") = sp;
    register L4_Word_t a3 __asm__("a3") = ip;
    register L4_Word_t a4 __asm__("a4") = flags;
    register L4_Word_t a5 __asm__("a5") = handle;
    register L4_Word_t a6 __asm__("a6") = pager;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3),
                           "+r"(a4), "+r"(a5), "+r"(a6)
                         : "r"(__nr) : "memory");
    *old_control = a1;
    *old_sp = a2;
    *old_ip = a3;
    *old_flags = a4;
    *old_handle = a5;
    *old_pager = a6;
    return a0;
}

static inline L4_Word_t __l4_arch_thread_control(L4_Word_t dest, L4_Word_t space,
                                                 L4_Word_t scheduler, L4_Word_t pager,
                                                 L4_Word_t utcb_location)
{
    __L4_NR(__L4_SYS_THREAD_CONTROL);
    register L4_Word_t a0 __asm__("a0") = dest;
    register L4_Word_t a1 __asm__("a1") = space;
    register L4_Word_t a2 __asm__("a2") = scheduler;
    register L4_Word_t a3 __asm__("a3") = pager;
    register L4_Word_t a4 __asm__("a4") = utcb_location;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(a0)
                         : "r"(__nr), "r"(a1), "r"(a2), "r"(a3), "r"(a4) : "memory");
    return a0;
}

static inline L4_Word64_t __l4_arch_system_clock(void)
{
    __L4_NR(__L4_SYS_SYSTEM_CLOCK);
    register L4_Word_t a0 __asm__("a0");
    register L4_Word_t a1 __asm__("a1");
    __asm__ __volatile__(__L4_SYSCALL
                         : "=r"(a0), "=r"(a1) : "r"(__nr) : "memory");
#if __riscv_xlen == 64
    (void)a1;                       /* the whole clock in a0 */
    return a0;
#else
    return ((L4_Word64_t)a1 << 32) | a0;
#endif
}

static inline void __l4_arch_thread_switch(L4_Word_t dest)
{
    __L4_NR(__L4_SYS_THREAD_SWITCH);
    register L4_Word_t a0 __asm__("a0") = dest;
    __asm__ __volatile__(__L4_SYSCALL
                         : : "r"(__nr), "r"(a0) : "memory");
}

static inline L4_Word_t __l4_arch_schedule(L4_Word_t dest, L4_Word_t time_control,
                                           L4_Word_t processor_control,
                                           L4_Word_t prio_control,
                                           L4_Word_t preemption_control,
                                           L4_Word_t *old_time_control)
{
    __L4_NR(__L4_SYS_SCHEDULE);
    register L4_Word_t a0 __asm__("a0") = dest;
    register L4_Word_t a1 __asm__("a1") = time_control;
    register L4_Word_t a2 __asm__("a2") = processor_control;
    register L4_Word_t a3 __asm__("a3") = prio_control;
    register L4_Word_t a4 __asm__("a4") = preemption_control;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(a0), "+r"(a1)
                         : "r"(__nr), "r"(a2), "r"(a3), "r"(a4) : "memory");
    *old_time_control = a1;
    return a0;
}

/* Ipc and Lipc: a0 = partner on return; the tag is MR0 in the UTCB. */
#define __L4_ARCH_IPC(name, number)                                          \
static inline L4_Word_t name(L4_Word_t to, L4_Word_t from_specifier,         \
                             L4_Word_t timeouts, L4_Word_t *from)            \
{                                                                            \
    __L4_NR(number);                                                         \
    register L4_Word_t a0 __asm__("a0") = to;                                \
    register L4_Word_t a1 __asm__("a1") = from_specifier;                    \
    register L4_Word_t a2 __asm__("a2") = timeouts;                          \
    __asm__ __volatile__(__L4_SYSCALL                                        \
                         : "+r"(a0) : "r"(__nr), "r"(a1), "r"(a2) : "memory"); \
    *from = a0;                                                              \
    return __l4_arch_utcb()[0];                                              \
}
__L4_ARCH_IPC(__l4_arch_ipc, __L4_SYS_IPC)
__L4_ARCH_IPC(__l4_arch_lipc, __L4_SYS_LIPC)
#undef __L4_ARCH_IPC

static inline void __l4_arch_unmap(L4_Word_t control)
{
    __L4_NR(__L4_SYS_UNMAP);
    register L4_Word_t a0 __asm__("a0") = control;
    __asm__ __volatile__(__L4_SYSCALL : : "r"(__nr), "r"(a0) : "memory");
}

static inline L4_Word_t __l4_arch_space_control(L4_Word_t space, L4_Word_t control,
                                                L4_Word_t kip_area, L4_Word_t utcb_area,
                                                L4_Word_t redirector,
                                                L4_Word_t *old_control)
{
    __L4_NR(__L4_SYS_SPACE_CONTROL);
    register L4_Word_t a0 __asm__("a0") = space;
    register L4_Word_t a1 __asm__("a1") = control;
    register L4_Word_t a2 __asm__("a2") = kip_area;
    register L4_Word_t a3 __asm__("a3") = utcb_area;
    register L4_Word_t a4 __asm__("a4") = redirector;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(a0), "+r"(a1)
                         : "r"(__nr), "r"(a2), "r"(a3), "r"(a4) : "memory");
    *old_control = a1;
    return a0;
}

static inline L4_Word_t __l4_arch_processor_control(L4_Word_t processor,
                                                    L4_Word_t internal_freq,
                                                    L4_Word_t external_freq,
                                                    L4_Word_t voltage)
{
    __L4_NR(__L4_SYS_PROCESSOR_CONTROL);
    register L4_Word_t a0 __asm__("a0") = processor;
    register L4_Word_t a1 __asm__("a1") = internal_freq;
    register L4_Word_t a2 __asm__("a2") = external_freq;
    register L4_Word_t a3 __asm__("a3") = voltage;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(a0) : "r"(__nr), "r"(a1), "r"(a2), "r"(a3) : "memory");
    return a0;
}

static inline L4_Word_t __l4_arch_memory_control(L4_Word_t control, L4_Word_t attr0,
                                                 L4_Word_t attr1, L4_Word_t attr2,
                                                 L4_Word_t attr3)
{
    __L4_NR(__L4_SYS_MEMORY_CONTROL);
    register L4_Word_t a0 __asm__("a0") = control;
    register L4_Word_t a1 __asm__("a1") = attr0;
    register L4_Word_t a2 __asm__("a2") = attr1;
    register L4_Word_t a3 __asm__("a3") = attr2;
    register L4_Word_t a4 __asm__("a4") = attr3;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(a0)
                         : "r"(__nr), "r"(a1), "r"(a2), "r"(a3), "r"(a4) : "memory");
    return a0;
}

static inline L4_Word_t __l4_arch_kdebug(L4_Word_t op, L4_Word_t arg1, L4_Word_t arg2)
{
    __L4_NR(__L4_SYS_KDEBUG);
    register L4_Word_t a0 __asm__("a0") = op;
    register L4_Word_t a1 __asm__("a1") = arg1;
    register L4_Word_t a2 __asm__("a2") = arg2;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(a0) : "r"(__nr), "r"(a1), "r"(a2) : "memory");
    return a0;
}

#endif /* L4_ARCH_SYSCALLS_H */
