/*
 * RISC-V system-call stubs for libl4: one `ecall` per L4 call, registers as
 * in docs/writing-an-arch-plugin.md "RISC-V": the number in a7, arguments and
 * results in a0-a6 (RV32 and RV64 alike).  Linux's system calls are `ecall`
 * with the number in a7 too, and Linux has numbers 1..13: an L4 call's a7
 * carries L4_RISCV_TAG in bits 31..16 (the plugin's L4_TAG), so the kernel
 * tells the two apart; an untagged ecall is never an L4 call.  Every register not written as a result (a7 included) is
 * preserved by the kernel.  The "memory"
 * clobber is there because MRs, BRs and TCRs travel in the UTCB.
 */
#ifndef L4_ARCH_SYSCALLS_H
#define L4_ARCH_SYSCALLS_H

#include <l4/syscall_numbers.h>
#include <l4/types.h>

/* The number register, set right before the syscall instruction. */
#define L4_RISCV_TAG 0x4c340000UL
#define __L4_NR(n) register L4_Word_t __nr __asm__("a7") = (n) | L4_RISCV_TAG
#define __L4_SYSCALL "ecall"
#define __L4_R0 "a0"
#define __L4_R1 "a1"
#define __L4_R2 "a2"
#define __L4_R3 "a3"
#define __L4_R4 "a4"
#define __L4_R5 "a5"
#define __L4_R6 "a6"

/* The UTCB address: the return path loads tp from the exit block's tls word
 * right before mret (the psABI's thread pointer: never allocated). */
static inline L4_Word_t *__l4_arch_utcb(void)
{
    L4_Word_t *utcb;
    __asm__("mv %0, tp" : "=r"(utcb));
    return utcb;
}

/* The stubs themselves are the core's, for every register-number ABI. */
#include <l4/register_syscalls.h>

#endif /* L4_ARCH_SYSCALLS_H */
