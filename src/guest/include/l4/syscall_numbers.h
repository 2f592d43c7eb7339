/*
 * The system-call numbers of l4gdb's kernel ABI, the same on every architecture
 * (docs/internals.md section 4).  How a number reaches the kernel (an svc
 * immediate, interrupt vector 0x80 + N, a register) and which registers carry
 * the arguments is each architecture's <l4/arch/syscalls.h>.
 */
#ifndef L4_SYSCALL_NUMBERS_H
#define L4_SYSCALL_NUMBERS_H

#define __L4_SYS_KERNEL_INTERFACE     1
#define __L4_SYS_EXCHANGE_REGISTERS   2
#define __L4_SYS_THREAD_CONTROL       3
#define __L4_SYS_SYSTEM_CLOCK         4
#define __L4_SYS_THREAD_SWITCH        5
#define __L4_SYS_SCHEDULE             6
#define __L4_SYS_IPC                  7
#define __L4_SYS_LIPC                 8
#define __L4_SYS_UNMAP                9
#define __L4_SYS_SPACE_CONTROL        10
#define __L4_SYS_PROCESSOR_CONTROL    11
#define __L4_SYS_MEMORY_CONTROL       12
#define __L4_SYS_KDEBUG               13

#endif /* L4_SYSCALL_NUMBERS_H */
