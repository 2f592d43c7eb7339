/*
 * l4gdb RISC-V user start-up (RV32 and RV64).  The 64-bit division helpers
 * clang calls on RV32 (__udivdi3...) are in rt/divmod.c; multiplication and
 * word-sized division are in hardware (M extension).
 */
        .section .text.start, "ax"

/* QEMU's -device loader does not zero .bss, so do it here; the stack lives
 * in .bss too, which is fine as nothing is on it yet.  No gp relaxation
 * (-mno-relax), so gp is not set up. */
        .global _start
        .type   _start, @function
_start:
        la      sp, __stack_top
        la      t0, __bss_start
        la      t1, __bss_end
1:      bgeu    t0, t1, 2f
#if __riscv_xlen == 64
        sd      zero, 0(t0)
        addi    t0, t0, 8
#else
        sw      zero, 0(t0)
        addi    t0, t0, 4
#endif
        j       1b
2:      mv      s0, zero
        mv      ra, zero
        call    main
        mv      a1, a0                  /* KDebug Exit(status): a0 = op, a1 = status */
        li      a0, 3
3:      li      a7, 0x4c340000 | 13   /* L4_RISCV_TAG | KDebug */
        ecall
        j       3b                      /* the host never resumes us; be sure */
        .size   _start, . - _start
