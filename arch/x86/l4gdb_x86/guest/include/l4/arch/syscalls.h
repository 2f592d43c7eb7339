/*
 * i386 system-call stubs for libl4: one `int $0x80+N` per L4 call N,
 * registers as in docs/internals.md section 4 ("x86").  Arguments and
 * results in eax, ecx, edx, esi, edi, ebx, ebp (in that order); every
 * register that is not a result of the call is preserved by the kernel.  The "memory" clobber
 * is there because MRs, BRs and TCRs travel in the UTCB.
 */
#ifndef L4_ARCH_SYSCALLS_H
#define L4_ARCH_SYSCALLS_H

#include <l4/syscall_numbers.h>
#include <l4/types.h>

#define __L4_STR(x) #x
#define __L4_INT(n) "int $0x80 + " __L4_STR(n)    /* vector 0x80 + the number */

/* The UTCB address: %gs points at a kernel word the return path loads from
 * the exit block (as Pistachio ia32: `mov %gs:0, reg`). */
static inline L4_Word_t *__l4_arch_utcb(void)
{
    L4_Word_t *utcb;
    __asm__("movl %%gs:0, %0" : "=r"(utcb));
    return utcb;
}

static inline void *__l4_arch_kernel_interface(L4_Word_t *api_version,
                                               L4_Word_t *api_flags,
                                               L4_Word_t *kernel_id)
{
    L4_Word_t kip, version, flags, id;
    __asm__ __volatile__(__L4_INT(__L4_SYS_KERNEL_INTERFACE)
                         : "=a"(kip), "=c"(version), "=d"(flags), "=S"(id) : : "memory");
    *api_version = version;
    *api_flags = flags;
    *kernel_id = id;
    return (void *)kip;
}

/* Seven arguments and seven results: ebp too, which has no asm constraint,
 * so the stub saves it itself and moves the words through an array. */
static inline L4_Word_t __l4_arch_exchange_registers(
    L4_Word_t dest, L4_Word_t control, L4_Word_t sp, L4_Word_t ip,
    L4_Word_t flags, L4_Word_t handle, L4_Word_t pager,
    L4_Word_t *old_control, L4_Word_t *old_sp, L4_Word_t *old_ip,
    L4_Word_t *old_flags, L4_Word_t *old_handle, L4_Word_t *old_pager)
{
    L4_Word_t w[7] = { dest, control, sp, ip, flags, handle, pager };
    L4_Word_t *p = w;
    __asm__ __volatile__(
        "pushl %%ebp\n\t"
        "pushl %%eax\n\t"
        "movl 4(%%eax), %%ecx\n\t"
        "movl 8(%%eax), %%edx\n\t"
        "movl 12(%%eax), %%esi\n\t"
        "movl 16(%%eax), %%edi\n\t"
        "movl 20(%%eax), %%ebx\n\t"
        "movl 24(%%eax), %%ebp\n\t"
        "movl 0(%%eax), %%eax\n\t"
        __L4_INT(__L4_SYS_EXCHANGE_REGISTERS) "\n\t"
        "xchgl %%eax, (%%esp)\n\t"
        "movl %%ecx, 4(%%eax)\n\t"
        "movl %%edx, 8(%%eax)\n\t"
        "movl %%esi, 12(%%eax)\n\t"
        "movl %%edi, 16(%%eax)\n\t"
        "movl %%ebx, 20(%%eax)\n\t"
        "movl %%ebp, 24(%%eax)\n\t"
        "popl %%ecx\n\t"
        "movl %%ecx, 0(%%eax)\n\t"
        "popl %%ebp"
        : "+a"(p)
        : : "ebx", "ecx", "edx", "esi", "edi", "memory");
    *old_control = w[1];
    *old_sp = w[2];
    *old_ip = w[3];
    *old_flags = w[4];
    *old_handle = w[5];
    *old_pager = w[6];
    return w[0];
}

static inline L4_Word_t __l4_arch_thread_control(L4_Word_t dest, L4_Word_t space,
                                                 L4_Word_t scheduler, L4_Word_t pager,
                                                 L4_Word_t utcb_location)
{
    __asm__ __volatile__(__L4_INT(__L4_SYS_THREAD_CONTROL)
                         : "+a"(dest)
                         : "c"(space), "d"(scheduler), "S"(pager), "D"(utcb_location)
                         : "memory");
    return dest;
}

static inline L4_Word64_t __l4_arch_system_clock(void)
{
    L4_Word_t lo, hi;
    __asm__ __volatile__(__L4_INT(__L4_SYS_SYSTEM_CLOCK)
                         : "=a"(lo), "=c"(hi) : : "memory");
    return ((L4_Word64_t)hi << 32) | lo;
}

static inline void __l4_arch_thread_switch(L4_Word_t dest)
{
    __asm__ __volatile__(__L4_INT(__L4_SYS_THREAD_SWITCH)
                         : : "a"(dest) : "memory");
}

static inline L4_Word_t __l4_arch_schedule(L4_Word_t dest, L4_Word_t time_control,
                                           L4_Word_t processor_control,
                                           L4_Word_t prio_control,
                                           L4_Word_t preemption_control,
                                           L4_Word_t *old_time_control)
{
    __asm__ __volatile__(__L4_INT(__L4_SYS_SCHEDULE)
                         : "+a"(dest), "+c"(time_control)
                         : "d"(processor_control), "S"(prio_control),
                           "D"(preemption_control)
                         : "memory");
    *old_time_control = time_control;
    return dest;
}

/* Ipc and Lipc: eax = partner on return; the tag is MR0 in the UTCB. */
#define __L4_ARCH_IPC(name, vector)                                          \
static inline L4_Word_t name(L4_Word_t to, L4_Word_t from_specifier,         \
                             L4_Word_t timeouts, L4_Word_t *from)            \
{                                                                            \
    __asm__ __volatile__(__L4_INT(vector)                                    \
                         : "+a"(to) : "c"(from_specifier), "d"(timeouts)     \
                         : "memory");                                        \
    *from = to;                                                              \
    return __l4_arch_utcb()[0];                                              \
}
__L4_ARCH_IPC(__l4_arch_ipc, __L4_SYS_IPC)
__L4_ARCH_IPC(__l4_arch_lipc, __L4_SYS_LIPC)
#undef __L4_ARCH_IPC

static inline void __l4_arch_unmap(L4_Word_t control)
{
    __asm__ __volatile__(__L4_INT(__L4_SYS_UNMAP) : : "a"(control) : "memory");
}

static inline L4_Word_t __l4_arch_space_control(L4_Word_t space, L4_Word_t control,
                                                L4_Word_t kip_area, L4_Word_t utcb_area,
                                                L4_Word_t redirector,
                                                L4_Word_t *old_control)
{
    __asm__ __volatile__(__L4_INT(__L4_SYS_SPACE_CONTROL)
                         : "+a"(space), "+c"(control)
                         : "d"(kip_area), "S"(utcb_area), "D"(redirector)
                         : "memory");
    *old_control = control;
    return space;
}

static inline L4_Word_t __l4_arch_processor_control(L4_Word_t processor,
                                                    L4_Word_t internal_freq,
                                                    L4_Word_t external_freq,
                                                    L4_Word_t voltage)
{
    __asm__ __volatile__(__L4_INT(__L4_SYS_PROCESSOR_CONTROL)
                         : "+a"(processor)
                         : "c"(internal_freq), "d"(external_freq), "S"(voltage)
                         : "memory");
    return processor;
}

static inline L4_Word_t __l4_arch_memory_control(L4_Word_t control, L4_Word_t attr0,
                                                 L4_Word_t attr1, L4_Word_t attr2,
                                                 L4_Word_t attr3)
{
    __asm__ __volatile__(__L4_INT(__L4_SYS_MEMORY_CONTROL)
                         : "+a"(control)
                         : "c"(attr0), "d"(attr1), "S"(attr2), "D"(attr3)
                         : "memory");
    return control;
}

static inline L4_Word_t __l4_arch_kdebug(L4_Word_t op, L4_Word_t arg1, L4_Word_t arg2)
{
    __asm__ __volatile__(__L4_INT(__L4_SYS_KDEBUG)
                         : "+a"(op) : "c"(arg1), "d"(arg2) : "memory");
    return op;
}

#endif /* L4_ARCH_SYSCALLS_H */
