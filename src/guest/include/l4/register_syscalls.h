/*
 * libl4's system-call stubs for architectures that pass the L4 call number in a
 * register and seven arguments / results in seven registers (docs/internals.md
 * section 4; MIPS, RISC-V).  The arch's <l4/arch/syscalls.h> defines, before
 * including this file:
 *   __L4_NR(n)       declares `__nr`, the number register, set to n;
 *   __L4_SYSCALL     the trap instruction (a string for the asm statement);
 *   __L4_R0..__L4_R6 the seven argument/result registers (strings: "$4", "a0").
 * Every register not written as a result is preserved by the kernel.  The
 * "memory" clobber is there because MRs, BRs and TCRs travel in the UTCB.
 */
#ifndef L4_REGISTER_SYSCALLS_H
#define L4_REGISTER_SYSCALLS_H

#include <l4/syscall_numbers.h>
#include <l4/types.h>

static inline void *__l4_arch_kernel_interface(L4_Word_t *api_version,
                                               L4_Word_t *api_flags,
                                               L4_Word_t *kernel_id)
{
    __L4_NR(__L4_SYS_KERNEL_INTERFACE);
    register L4_Word_t r0 __asm__(__L4_R0);
    register L4_Word_t r1 __asm__(__L4_R1);
    register L4_Word_t r2 __asm__(__L4_R2);
    register L4_Word_t r3 __asm__(__L4_R3);
    __asm__ __volatile__(__L4_SYSCALL
                         : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(__nr) : "memory");
    *api_version = r1;
    *api_flags = r2;
    *kernel_id = r3;
    return (void *)r0;
}

static inline L4_Word_t __l4_arch_exchange_registers(
    L4_Word_t dest, L4_Word_t control, L4_Word_t sp, L4_Word_t ip,
    L4_Word_t flags, L4_Word_t handle, L4_Word_t pager,
    L4_Word_t *old_control, L4_Word_t *old_sp, L4_Word_t *old_ip,
    L4_Word_t *old_flags, L4_Word_t *old_handle, L4_Word_t *old_pager)
{
    __L4_NR(__L4_SYS_EXCHANGE_REGISTERS);
    register L4_Word_t r0 __asm__(__L4_R0) = dest;
    register L4_Word_t r1 __asm__(__L4_R1) = control;
    register L4_Word_t r2 __asm__(__L4_R2) = sp;
    register L4_Word_t r3 __asm__(__L4_R3) = ip;
    register L4_Word_t r4 __asm__(__L4_R4) = flags;
    register L4_Word_t r5 __asm__(__L4_R5) = handle;
    register L4_Word_t r6 __asm__(__L4_R6) = pager;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3),
                           "+r"(r4), "+r"(r5), "+r"(r6)
                         : "r"(__nr) : "memory");
    *old_control = r1;
    *old_sp = r2;
    *old_ip = r3;
    *old_flags = r4;
    *old_handle = r5;
    *old_pager = r6;
    return r0;
}

static inline L4_Word_t __l4_arch_thread_control(L4_Word_t dest, L4_Word_t space,
                                                 L4_Word_t scheduler, L4_Word_t pager,
                                                 L4_Word_t utcb_location)
{
    __L4_NR(__L4_SYS_THREAD_CONTROL);
    register L4_Word_t r0 __asm__(__L4_R0) = dest;
    register L4_Word_t r1 __asm__(__L4_R1) = space;
    register L4_Word_t r2 __asm__(__L4_R2) = scheduler;
    register L4_Word_t r3 __asm__(__L4_R3) = pager;
    register L4_Word_t r4 __asm__(__L4_R4) = utcb_location;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(r0)
                         : "r"(__nr), "r"(r1), "r"(r2), "r"(r3), "r"(r4) : "memory");
    return r0;
}

static inline L4_Word64_t __l4_arch_system_clock(void)
{
    __L4_NR(__L4_SYS_SYSTEM_CLOCK);
    register L4_Word_t r0 __asm__(__L4_R0);
    register L4_Word_t r1 __asm__(__L4_R1);
    __asm__ __volatile__(__L4_SYSCALL
                         : "=r"(r0), "=r"(r1) : "r"(__nr) : "memory");
    if (sizeof(L4_Word_t) == 8)
        return r0;                      /* 64-bit: the whole clock in the first register */
    return ((L4_Word64_t)r1 << 32) | r0;
}

static inline void __l4_arch_thread_switch(L4_Word_t dest)
{
    __L4_NR(__L4_SYS_THREAD_SWITCH);
    register L4_Word_t r0 __asm__(__L4_R0) = dest;
    __asm__ __volatile__(__L4_SYSCALL
                         : : "r"(__nr), "r"(r0) : "memory");
}

static inline L4_Word_t __l4_arch_schedule(L4_Word_t dest, L4_Word_t time_control,
                                           L4_Word_t processor_control,
                                           L4_Word_t prio_control,
                                           L4_Word_t preemption_control,
                                           L4_Word_t *old_time_control)
{
    __L4_NR(__L4_SYS_SCHEDULE);
    register L4_Word_t r0 __asm__(__L4_R0) = dest;
    register L4_Word_t r1 __asm__(__L4_R1) = time_control;
    register L4_Word_t r2 __asm__(__L4_R2) = processor_control;
    register L4_Word_t r3 __asm__(__L4_R3) = prio_control;
    register L4_Word_t r4 __asm__(__L4_R4) = preemption_control;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(r0), "+r"(r1)
                         : "r"(__nr), "r"(r2), "r"(r3), "r"(r4) : "memory");
    *old_time_control = r1;
    return r0;
}

/* Ipc and Lipc: r0 = partner on return; the tag is MR0 in the UTCB. */
#define __L4_ARCH_IPC(name, number)                                          \
static inline L4_Word_t name(L4_Word_t to, L4_Word_t from_specifier,         \
                             L4_Word_t timeouts, L4_Word_t *from)            \
{                                                                            \
    __L4_NR(number);                                                         \
    register L4_Word_t r0 __asm__(__L4_R0) = to;                                \
    register L4_Word_t r1 __asm__(__L4_R1) = from_specifier;                    \
    register L4_Word_t r2 __asm__(__L4_R2) = timeouts;                          \
    __asm__ __volatile__(__L4_SYSCALL                                        \
                         : "+r"(r0) : "r"(__nr), "r"(r1), "r"(r2) : "memory"); \
    *from = r0;                                                              \
    return __l4_arch_utcb()[0];                                              \
}
__L4_ARCH_IPC(__l4_arch_ipc, __L4_SYS_IPC)
__L4_ARCH_IPC(__l4_arch_lipc, __L4_SYS_LIPC)
#undef __L4_ARCH_IPC

static inline void __l4_arch_unmap(L4_Word_t control)
{
    __L4_NR(__L4_SYS_UNMAP);
    register L4_Word_t r0 __asm__(__L4_R0) = control;
    __asm__ __volatile__(__L4_SYSCALL : : "r"(__nr), "r"(r0) : "memory");
}

static inline L4_Word_t __l4_arch_space_control(L4_Word_t space, L4_Word_t control,
                                                L4_Word_t kip_area, L4_Word_t utcb_area,
                                                L4_Word_t redirector,
                                                L4_Word_t *old_control)
{
    __L4_NR(__L4_SYS_SPACE_CONTROL);
    register L4_Word_t r0 __asm__(__L4_R0) = space;
    register L4_Word_t r1 __asm__(__L4_R1) = control;
    register L4_Word_t r2 __asm__(__L4_R2) = kip_area;
    register L4_Word_t r3 __asm__(__L4_R3) = utcb_area;
    register L4_Word_t r4 __asm__(__L4_R4) = redirector;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(r0), "+r"(r1)
                         : "r"(__nr), "r"(r2), "r"(r3), "r"(r4) : "memory");
    *old_control = r1;
    return r0;
}

static inline L4_Word_t __l4_arch_processor_control(L4_Word_t processor,
                                                    L4_Word_t internal_freq,
                                                    L4_Word_t external_freq,
                                                    L4_Word_t voltage)
{
    __L4_NR(__L4_SYS_PROCESSOR_CONTROL);
    register L4_Word_t r0 __asm__(__L4_R0) = processor;
    register L4_Word_t r1 __asm__(__L4_R1) = internal_freq;
    register L4_Word_t r2 __asm__(__L4_R2) = external_freq;
    register L4_Word_t r3 __asm__(__L4_R3) = voltage;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(r0) : "r"(__nr), "r"(r1), "r"(r2), "r"(r3) : "memory");
    return r0;
}

static inline L4_Word_t __l4_arch_memory_control(L4_Word_t control, L4_Word_t attr0,
                                                 L4_Word_t attr1, L4_Word_t attr2,
                                                 L4_Word_t attr3)
{
    __L4_NR(__L4_SYS_MEMORY_CONTROL);
    register L4_Word_t r0 __asm__(__L4_R0) = control;
    register L4_Word_t r1 __asm__(__L4_R1) = attr0;
    register L4_Word_t r2 __asm__(__L4_R2) = attr1;
    register L4_Word_t r3 __asm__(__L4_R3) = attr2;
    register L4_Word_t r4 __asm__(__L4_R4) = attr3;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(r0)
                         : "r"(__nr), "r"(r1), "r"(r2), "r"(r3), "r"(r4) : "memory");
    return r0;
}

static inline L4_Word_t __l4_arch_kdebug(L4_Word_t op, L4_Word_t arg1, L4_Word_t arg2)
{
    __L4_NR(__L4_SYS_KDEBUG);
    register L4_Word_t r0 __asm__(__L4_R0) = op;
    register L4_Word_t r1 __asm__(__L4_R1) = arg1;
    register L4_Word_t r2 __asm__(__L4_R2) = arg2;
    __asm__ __volatile__(__L4_SYSCALL
                         : "+r"(r0) : "r"(__nr), "r"(r1), "r"(r2) : "memory");
    return r0;
}

#endif /* L4_REGISTER_SYSCALLS_H */
