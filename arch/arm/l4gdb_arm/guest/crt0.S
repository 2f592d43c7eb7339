/*
 * l4gdb ARM user start-up, plus the few ARM EABI helpers clang calls
 * (there is no compiler-rt for bare-metal ARM on the build machine).
 */
        .syntax unified
        .arm
        .text

/* QEMU's -device loader does not zero .bss, so do it here; the stack lives
 * in .bss too, which is fine as nothing is on it yet. */
        .global _start
        .type   _start, %function
_start:
        ldr     sp, =__stack_top
        ldr     r0, =__bss_start
        ldr     r1, =__bss_end
        mov     r2, #0
1:      cmp     r0, r1
        strlo   r2, [r0], #4
        blo     1b
        mov     fp, #0
        mov     lr, #0
        bl      main
        mov     r1, r0                  @ KDebug Exit(status)
        mov     r0, #3
2:      svc     #13
        b       2b                      @ the host never resumes us; be sure
        .size   _start, . - _start
        .ltorg

/* Memory helpers: the __aeabi_ names clang emits, mapped onto rt/string.c */
        .global __aeabi_memcpy, __aeabi_memcpy4, __aeabi_memcpy8
__aeabi_memcpy:
__aeabi_memcpy4:
__aeabi_memcpy8:
        b       memcpy

        .global __aeabi_memmove, __aeabi_memmove4, __aeabi_memmove8
__aeabi_memmove:
__aeabi_memmove4:
__aeabi_memmove8:
        b       memmove

        .global __aeabi_memset, __aeabi_memset4, __aeabi_memset8
__aeabi_memset:                         @ (dest, n, c) -> memset(dest, c, n)
__aeabi_memset4:
__aeabi_memset8:
        mov     r3, r1
        mov     r1, r2
        mov     r2, r3
        b       memset

        .global __aeabi_memclr, __aeabi_memclr4, __aeabi_memclr8
__aeabi_memclr:                         @ (dest, n) -> memset(dest, 0, n)
__aeabi_memclr4:
__aeabi_memclr8:
        mov     r2, r1
        mov     r1, #0
        b       memset

/* 64-bit division: quotient in r0:r1, remainder in r2:r3, via the C
 * helpers __udivmoddi4 / __divmoddi4 (n, d, &rem) in rt/divmod.c. */
        .macro DIVMOD64 name, helper
        .global \name
        .type   \name, %function
\name:
        push    {r4, lr}
        sub     sp, sp, #16             @ [sp] = &rem (5th arg), [sp+8] = rem
        add     r12, sp, #8
        str     r12, [sp]
        bl      \helper
        ldr     r2, [sp, #8]
        ldr     r3, [sp, #12]
        add     sp, sp, #16
        pop     {r4, pc}
        .endm
        DIVMOD64 __aeabi_uldivmod, __udivmoddi4
        DIVMOD64 __aeabi_ldivmod, __divmoddi4

/* 32-bit division for cores without udiv/sdiv: (n, d) -> r0 quotient,
 * r1 remainder.  cortex-a15 has them, so clang rarely calls these. */
        .global __aeabi_uidivmod, __aeabi_uidiv
__aeabi_uidiv:
__aeabi_uidivmod:
        udiv    r2, r0, r1
        mls     r1, r2, r1, r0
        mov     r0, r2
        bx      lr
        .global __aeabi_idivmod, __aeabi_idiv
__aeabi_idiv:
__aeabi_idivmod:
        sdiv    r2, r0, r1
        mls     r1, r2, r1, r0
        mov     r0, r2
        bx      lr
