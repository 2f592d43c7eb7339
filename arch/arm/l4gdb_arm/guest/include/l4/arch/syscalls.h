/*
 * ARM system-call stubs for libl4: one `svc #N` per L4 call, registers as in
 * docs/internals.md section 4.  Results come back in the argument registers;
 * every other register is preserved by the kernel.  The "memory" clobber is
 * there because MRs, BRs and TCRs travel in the UTCB.
 */
#ifndef L4_ARCH_SYSCALLS_H
#define L4_ARCH_SYSCALLS_H

#include <l4/syscall_numbers.h>
#include <l4/types.h>

#define __L4_STR(x) #x
#define __L4_SVC(n) "svc #" __L4_STR(n)

/* The UTCB address: the return path loads TPIDRURO from the exit block. */
static inline L4_Word_t *__l4_arch_utcb(void)
{
    L4_Word_t *utcb;
    __asm__("mrc p15, 0, %0, c13, c0, 3" : "=r"(utcb));
    return utcb;
}

static inline void *__l4_arch_kernel_interface(L4_Word_t *api_version,
                                               L4_Word_t *api_flags,
                                               L4_Word_t *kernel_id)
{
    register L4_Word_t r0 __asm__("r0");
    register L4_Word_t r1 __asm__("r1");
    register L4_Word_t r2 __asm__("r2");
    register L4_Word_t r3 __asm__("r3");
    __asm__ __volatile__(__L4_SVC(__L4_SYS_KERNEL_INTERFACE)
                         : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : : "memory");
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
    register L4_Word_t r0 __asm__("r0") = dest;
    register L4_Word_t r1 __asm__("r1") = control;
    register L4_Word_t r2 __asm__("r2") = sp;
    register L4_Word_t r3 __asm__("r3") = ip;
    register L4_Word_t r4 __asm__("r4") = flags;
    register L4_Word_t r5 __asm__("r5") = handle;
    register L4_Word_t r6 __asm__("r6") = pager;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_EXCHANGE_REGISTERS)
                         : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3),
                           "+r"(r4), "+r"(r5), "+r"(r6)
                         : : "memory");
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
    register L4_Word_t r0 __asm__("r0") = dest;
    register L4_Word_t r1 __asm__("r1") = space;
    register L4_Word_t r2 __asm__("r2") = scheduler;
    register L4_Word_t r3 __asm__("r3") = pager;
    register L4_Word_t r4 __asm__("r4") = utcb_location;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_THREAD_CONTROL)
                         : "+r"(r0)
                         : "r"(r1), "r"(r2), "r"(r3), "r"(r4) : "memory");
    return r0;
}

static inline L4_Word64_t __l4_arch_system_clock(void)
{
    register L4_Word_t r0 __asm__("r0");
    register L4_Word_t r1 __asm__("r1");
    __asm__ __volatile__(__L4_SVC(__L4_SYS_SYSTEM_CLOCK)
                         : "=r"(r0), "=r"(r1) : : "memory");
    return ((L4_Word64_t)r1 << 32) | r0;
}

static inline void __l4_arch_thread_switch(L4_Word_t dest)
{
    register L4_Word_t r0 __asm__("r0") = dest;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_THREAD_SWITCH)
                         : : "r"(r0) : "memory");
}

static inline L4_Word_t __l4_arch_schedule(L4_Word_t dest, L4_Word_t time_control,
                                           L4_Word_t processor_control,
                                           L4_Word_t prio_control,
                                           L4_Word_t preemption_control,
                                           L4_Word_t *old_time_control)
{
    register L4_Word_t r0 __asm__("r0") = dest;
    register L4_Word_t r1 __asm__("r1") = time_control;
    register L4_Word_t r2 __asm__("r2") = processor_control;
    register L4_Word_t r3 __asm__("r3") = prio_control;
    register L4_Word_t r4 __asm__("r4") = preemption_control;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_SCHEDULE)
                         : "+r"(r0), "+r"(r1)
                         : "r"(r2), "r"(r3), "r"(r4) : "memory");
    *old_time_control = r1;
    return r0;
}

/* Ipc and Lipc: r0 = partner on return; the tag is MR0 in the UTCB. */
#define __L4_ARCH_IPC(name, number)                                          \
static inline L4_Word_t name(L4_Word_t to, L4_Word_t from_specifier,         \
                             L4_Word_t timeouts, L4_Word_t *from)            \
{                                                                            \
    register L4_Word_t r0 __asm__("r0") = to;                                \
    register L4_Word_t r1 __asm__("r1") = from_specifier;                    \
    register L4_Word_t r2 __asm__("r2") = timeouts;                          \
    __asm__ __volatile__(__L4_SVC(number)                                    \
                         : "+r"(r0) : "r"(r1), "r"(r2) : "memory");          \
    *from = r0;                                                              \
    return __l4_arch_utcb()[0];                                              \
}
__L4_ARCH_IPC(__l4_arch_ipc, __L4_SYS_IPC)
__L4_ARCH_IPC(__l4_arch_lipc, __L4_SYS_LIPC)
#undef __L4_ARCH_IPC

static inline void __l4_arch_unmap(L4_Word_t control)
{
    register L4_Word_t r0 __asm__("r0") = control;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_UNMAP) : : "r"(r0) : "memory");
}

static inline L4_Word_t __l4_arch_space_control(L4_Word_t space, L4_Word_t control,
                                                L4_Word_t kip_area, L4_Word_t utcb_area,
                                                L4_Word_t redirector,
                                                L4_Word_t *old_control)
{
    register L4_Word_t r0 __asm__("r0") = space;
    register L4_Word_t r1 __asm__("r1") = control;
    register L4_Word_t r2 __asm__("r2") = kip_area;
    register L4_Word_t r3 __asm__("r3") = utcb_area;
    register L4_Word_t r4 __asm__("r4") = redirector;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_SPACE_CONTROL)
                         : "+r"(r0), "+r"(r1)
                         : "r"(r2), "r"(r3), "r"(r4) : "memory");
    *old_control = r1;
    return r0;
}

static inline L4_Word_t __l4_arch_processor_control(L4_Word_t processor,
                                                    L4_Word_t internal_freq,
                                                    L4_Word_t external_freq,
                                                    L4_Word_t voltage)
{
    register L4_Word_t r0 __asm__("r0") = processor;
    register L4_Word_t r1 __asm__("r1") = internal_freq;
    register L4_Word_t r2 __asm__("r2") = external_freq;
    register L4_Word_t r3 __asm__("r3") = voltage;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_PROCESSOR_CONTROL)
                         : "+r"(r0) : "r"(r1), "r"(r2), "r"(r3) : "memory");
    return r0;
}

static inline L4_Word_t __l4_arch_memory_control(L4_Word_t control, L4_Word_t attr0,
                                                 L4_Word_t attr1, L4_Word_t attr2,
                                                 L4_Word_t attr3)
{
    register L4_Word_t r0 __asm__("r0") = control;
    register L4_Word_t r1 __asm__("r1") = attr0;
    register L4_Word_t r2 __asm__("r2") = attr1;
    register L4_Word_t r3 __asm__("r3") = attr2;
    register L4_Word_t r4 __asm__("r4") = attr3;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_MEMORY_CONTROL)
                         : "+r"(r0) : "r"(r1), "r"(r2), "r"(r3), "r"(r4) : "memory");
    return r0;
}

static inline L4_Word_t __l4_arch_kdebug(L4_Word_t op, L4_Word_t arg1, L4_Word_t arg2)
{
    register L4_Word_t r0 __asm__("r0") = op;
    register L4_Word_t r1 __asm__("r1") = arg1;
    register L4_Word_t r2 __asm__("r2") = arg2;
    __asm__ __volatile__(__L4_SVC(__L4_SYS_KDEBUG)
                         : "+r"(r0) : "r"(r1), "r"(r2) : "memory");
    return r0;
}

#endif /* L4_ARCH_SYSCALLS_H */
