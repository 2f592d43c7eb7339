/*
 * MIPS system-call stubs for libl4: one `syscall` per L4 call, registers as
 * in docs/internals.md section 4 "MIPS": the number in v0 ($2), arguments and
 * results in a0-a3 ($4-$7) and t0-t2 ($8-$10).  Every register not written
 * as a result (v0 included) is preserved by the kernel.  The "memory"
 * clobber is there because MRs, BRs and TCRs travel in the UTCB.
 */
#ifndef L4_ARCH_SYSCALLS_H
#define L4_ARCH_SYSCALLS_H

#include <l4/syscall_numbers.h>
#include <l4/types.h>

/* The number register, set right before the syscall instruction. */
#define __L4_NR(n) register L4_Word_t __nr __asm__("$2") = (n)
#define __L4_SYSCALL "syscall"
/* a0-a3, t0-t2 */
#define __L4_R0 "$4"
#define __L4_R1 "$5"
#define __L4_R2 "$6"
#define __L4_R3 "$7"
#define __L4_R4 "$8"
#define __L4_R5 "$9"
#define __L4_R6 "$10"

/* The UTCB address: the return path loads k1 ($27) from the exit block's tls
 * word right before eret (QEMU's 24Kf has no UserLocal for rdhwr $29). */
static inline L4_Word_t *__l4_arch_utcb(void)
{
    L4_Word_t *utcb;
    __asm__("move %0, $27" : "=r"(utcb));
    return utcb;
}

#include <l4/register_syscalls.h>

#endif /* L4_ARCH_SYSCALLS_H */
