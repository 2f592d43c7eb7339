/*
 * l4gdb i386 user start-up.  64-bit division helpers (__udivdi3...) come
 * from rt/divmod.c; memcpy/memset from rt/string.c.
 */
        .code32
        .section .text.start, "ax"

/* QEMU's -device loader does not zero .bss, so do it here; the stack lives
 * in .bss too, which is fine as nothing is on it yet. */
        .global _start
        .type   _start, @function
_start:
        cld
        movl    $__stack_top, %esp
        movl    $__bss_start, %edi
        movl    $__bss_end, %ecx
        subl    %edi, %ecx
        shrl    $2, %ecx
        xorl    %eax, %eax
        rep stosl
        xorl    %ebp, %ebp
        call    main
        movl    %eax, %ecx              /* KDebug Exit(status): eax op 3, ecx status */
1:      movl    $3, %eax
        int     $0x8d                   /* 0x80 + 13: KDebug */
        jmp     1b                      /* the host never resumes us; be sure */
        .size   _start, . - _start
