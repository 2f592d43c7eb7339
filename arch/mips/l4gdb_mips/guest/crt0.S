/*
 * l4gdb MIPS user start-up.  The 64-bit division helpers clang calls on
 * MIPS (__udivdi3...) are in rt/divmod.c.
 */
        .set    noreorder
        .text

/* QEMU's -device loader does not zero .bss, so do it here; the stack lives
 * in .bss too, which is fine as nothing is on it yet. */
        .global _start
        .type   _start, @function
_start:
        la      $sp, __stack_top
        la      $8, __bss_start
        la      $9, __bss_end
1:      beq     $8, $9, 2f
        nop
        sw      $0, 0($8)
        b       1b
        addiu   $8, $8, 4
2:      move    $fp, $0
        move    $ra, $0
        jal     main
        addiu   $sp, $sp, -16           /* o32: the callee may spill a0..a3 here */
        move    $5, $2                  /* KDebug Exit(status): a0 = op, a1 = status */
        li      $4, 3
3:      li      $2, 13
        syscall
        b       3b                      /* the host never resumes us; be sure */
        nop
        .size   _start, . - _start
