/*
 * The ARM kuser helper page: the 4 KiB page Linux maps user read/execute at
 * 0xffff0000, whose last bytes hold small routines ARM user space calls at
 * fixed addresses (the ABI of Linux's Documentation/arm/kernel_user_helpers.rst).
 * Static glibc for armhf calls them for TLS and atomics on some paths.
 *
 * This file is the whole page (offset 0 = 0xffff0000). scripts/gen-linux-abi
 * assembles it and commits the bytes in l4gdb_arm/linux_abi.py (KUSER_PAGE).
 *
 * Each helper sits in its fixed slot; all are ARM code, return with bx lr,
 * clobber at most r3, ip and the flags besides their results, and are full
 * memory barriers where the ABI asks for it (cmpxchg, cmpxchg64, barrier).
 */
    .syntax unified
    .arm
    .arch armv7-a
    .text

/* 0xffff0f60: int __kuser_cmpxchg64(const int64_t *oldval, const int64_t *newval,
 *                                   volatile int64_t *ptr)
 * Stores *newval into *ptr if *ptr == *oldval: then returns 0 with C set,
 * otherwise non-zero with C clear. (helper version >= 5) */
    .org 0xf60
kuser_cmpxchg64:
    push    {r4, r5, r6, r7}
    ldrd    r4, r5, [r0]            @ expected
    ldrd    r6, r7, [r1]            @ replacement
    dmb     ish
1:  ldrexd  r0, r1, [r2]
    eors    r3, r0, r4              @ r3 = 0 only if both halves match
    eorseq  r3, r1, r5
    strexdeq r3, r6, r7, [r2]       @ r3 = 0 stored, 1 reservation lost
    teqeq   r3, #1
    beq     1b                      @ lost the reservation: again
    dmb     ish
    rsbs    r0, r3, #0              @ r0 = 0 and C set exactly when r3 == 0
    pop     {r4, r5, r6, r7}
    bx      lr

/* 0xffff0fa0: void __kuser_memory_barrier(void) (version >= 3) */
    .org 0xfa0
kuser_memory_barrier:
    dmb     ish
    bx      lr

/* 0xffff0fc0: int __kuser_cmpxchg(int oldval, int newval, volatile int *ptr)
 * Stores newval into *ptr if *ptr == oldval: then returns 0 with C set,
 * otherwise non-zero with C clear. (version >= 2) */
    .org 0xfc0
kuser_cmpxchg:
    dmb     ish
1:  ldrex   r3, [r2]
    subs    r3, r3, r0              @ 0 (and C set) when *ptr == oldval
    strexeq r3, r1, [r2]
    teqeq   r3, #1
    beq     1b
    rsbs    r0, r3, #0
    b       kuser_memory_barrier    @ the closing barrier; it returns to lr

/* 0xffff0fe0: void *__kuser_get_tls(void): the thread register TPIDRURO, which
 * the kernel loads on every return to the thread (set_tls). (version >= 1) */
    .org 0xfe0
kuser_get_tls:
    mrc     p15, 0, r0, c13, c0, 3
    bx      lr

/* 0xffff0ffc: __kuser_helper_version: the number of 32-byte helper slots below
 * (0xf60..0xfff): 5 makes all five helpers above available. */
    .org 0xffc
kuser_helper_version:
    .word   5
