/*
 * l4gdb ARMv7-A kernel stub (QEMU virt, MMU on).
 *
 * This is not a kernel: every exception saves the user context into
 * l4k_entry_block and stops at l4k_trap_bp, where the Python host runs the
 * L4 semantics.  The host then writes l4k_exit_block and continues into
 * l4k_return, which loads that block and drops to user mode.
 * Layouts: docs/internals.md section 3.
 *
 * Memory (l4gdb_arm/pagetables.py builds the per-space tables): TTBCR.N = 0, so
 * TTBR0 (the space's own table, switched by the return path when the exit
 * block names one) translates all 4 GiB: user code may own anything but the
 * kernel's sections (Linux programs: stacks up to 0xbf000000, the kuser
 * page at 0xffff0000).  _start builds the boot table -- all RAM 1:1 for
 * everybody (the flat world, kept while the exit block's ttbr0 is 0), the
 * kernel window (all RAM at 0xC0000000, privileged only) and the GIC -- and
 * turns the MMU on before the first kernel entry. Every space's table has
 * the same window and GIC sections and maps this image at its link address
 * (the text page user read/execute, so that the preemption gate works from
 * user mode; data privileged only), so nothing here changes address when
 * spaces switch.
 */
        .syntax unified
        .arm
        .fpu    neon-vfpv4              @ the lazy FPU switch (user programs may be hard-float)

        /* entry block word offsets (bytes) */
#define EB_KIND 0
#define EB_R1 (5*4)
#define EB_PC (19*4)
#define EB_UTCB (21*4)
#define EB_UTCB_COPY (24*4)
        /* exit block word offsets (bytes) */
#define XB_PC (15*4)
#define XB_CPSR (16*4)
#define XB_TPIDRURO (17*4)
#define XB_CUR_UTCB (18*4)
#define XB_TTBR0 (19*4)
#define XB_NCOPY (20*4)
#define XB_RECORDS (21*4)
#define XB_SIZE 1536
#define UTCB_WORDS 128
#define STACK_SIZE 512
#define MODE_FIQ 0x11
#define MODE_IRQ 0x12
#define MODE_SVC 0x13
#define MODE_ABT 0x17
#define MODE_UND 0x1b
#define PSR_T 0x20
#define RAM_BASE 0x40000000
#define RAM_MB 128
#define WINDOW_L1_INDEX 0xC00           /* 0xC0000000 >> 20 */
#define SECT_WINDOW 0x41E               /* section, AP=01 (privileged RW), XN, C, B */
#define SECT_FLAT 0xC0E                 /* section, AP=11 (all may read/write), executable */
#define SECT_DEVICE 0x416               /* section, AP=01 (privileged RW), XN, shared device */
        /* devices in the kernel's sections: virt's GICv2 at 0x08000000 */
#define GIC_PA 0x08000000
#define GIC_VA 0xF8000000
#define GIC_L1_INDEX 0xF80              /* GIC_VA >> 20 */
#define GICD GIC_VA                     /* distributor */
#define GICC (GIC_VA + 0x10000)         /* CPU interface */
#define GICD_CTLR 0x000
#define GICD_ISENABLER 0x100
#define GICD_ICENABLER 0x180
#define GICC_CTLR 0x000
#define GICC_PMR 0x004
#define GICC_IAR 0x00C
#define GICC_EOIR 0x010
#define IRQ_SPURIOUS 1023
#define IRQ_TICK 27                     /* PPI 11: the virtual timer (CNTV) */
        /* entry block: the virtual counter at entry (words 22..23) */
#define EB_COUNTER (22*4)
        /* timer block (l4k_timer_block) word offsets (bytes) */
#define TB_TICK 0                       /* CNTV_TVAL reload: counter ticks per tick */
#define TB_ARM 4                        /* host sets 1: start the tick on the way out */
#define TB_FREQ 8                       /* CNTFRQ, stored at boot */
#define TB_OPS 12                       /* host sets 1: apply TB_UNMASK / TB_MASK */
#define TB_UNMASK 16                    /* 2 words: GICD_ISENABLER0/1 bits, cleared when applied */
#define TB_MASK 24                      /* 2 words: GICD_ICENABLER0/1 bits, cleared when applied */
#define TB_SKIP 32                      /* ticks to absorb in the vector (host: a copy record) */

        .section .text.vectors, "ax"
        .balign 32
        .global l4k_vectors
l4k_vectors:
        b       _start                  @ reset
        b       vec_undef
        b       vec_svc
        b       vec_pabt
        b       vec_dabt
        b       .                       @ hyp trap: cannot happen in PL1
        b       vec_irq
        b       vec_fiq

/*
 * SAVE_USER: store user r0-r12, sp_usr, lr_usr at words 4..18; on exit r0
 * points at l4k_entry_block and r1-r12 are free.  `stm ... ^` takes the
 * user bank, so this is also right in FIQ mode (banked r8-r12).
 */
        .macro SAVE_USER
        push    {r0}
        ldr     r0, =l4k_entry_block + EB_R1
        stmia   r0, {r1-r14}^
        nop                             @ no banked access right after stm^
        pop     {r1}
        str     r1, [r0, #-4]
        sub     r0, r0, #EB_R1
        .endm

        .text
        .balign 4
/* Each handler leaves r1 = kind, r2 = detail, r3 = far, r4 = fsr and lr =
 * the normalised user pc, then joins entry_common. */
vec_svc:
        SAVE_USER
        mov     r1, #1
        mrs     r5, spsr
        tst     r5, #PSR_T
        ldrhne  r2, [lr, #-2]           @ Thumb: svc #imm8
        andne   r2, r2, #0xff
        ldreq   r2, [lr, #-4]           @ ARM: svc #imm24
        biceq   r2, r2, #0xff000000
        mov     r3, #0
        mov     r4, #0
        b       entry_common

vec_undef:
        SAVE_USER
        mov     r1, #2
        mrs     r5, spsr
        tst     r5, #PSR_T
        subne   lr, lr, #2              @ preferred return = the instruction
        subeq   lr, lr, #4
        ldrhne  r2, [lr]
        ldreq   r2, [lr]
        mov     r3, #0
        mov     r4, #0
        b       entry_common

vec_pabt:
        SAVE_USER
        sub     lr, lr, #4
        mov     r1, #3
        mov     r2, #0
        mrc     p15, 0, r3, c6, c0, 2   @ IFAR
        mrc     p15, 0, r4, c5, c0, 1   @ IFSR
        b       entry_common

vec_dabt:
        SAVE_USER
        sub     lr, lr, #8
        mov     r1, #4
        mov     r2, #0
        mrc     p15, 0, r3, c6, c0, 0   @ DFAR
        mrc     p15, 0, r4, c5, c0, 0   @ DFSR
        b       entry_common

/* IRQ: detail = the interrupt id from GICC_IAR. The tick re-arms itself;
 * any other line is masked at the distributor until the kernel unmasks it
 * (the handler thread's reply). Every line is EOI'd here. */
vec_irq:
        SAVE_USER
        sub     lr, lr, #4
        ldr     r6, =GICC
        ldr     r5, [r6, #GICC_IAR]
        ubfx    r2, r5, #0, #10
        ldr     r7, =IRQ_SPURIOUS
        cmp     r2, r7
        beq     1f
        cmp     r2, #IRQ_TICK
        bne     2f
        ldr     r7, =l4k_timer_block
        ldr     r8, [r7, #TB_TICK]      @ next tick = this one + tick (no drift)
        mrrc    p15, 3, r9, r10, c14    @ CNTV_CVAL
        adds    r9, r9, r8
        adc     r10, r10, #0
        mcrr    p15, 3, r9, r10, c14
        isb
        mrrc    p15, 1, r11, r12, c14   @ CNTVCT
        subs    r11, r9, r11
        sbcs    r12, r10, r12
        bpl     4f                      @ the next tick is still ahead
        mcr     p15, 0, r8, c14, c3, 0  @ fell behind: restart from now (CNTV_TVAL)
4:      ldr     r8, [r7, #TB_SKIP]      @ ticks the kernel does not need to see
        cmp     r8, #0
        beq     3f
        sub     r8, r8, #1
        str     r8, [r7, #TB_SKIP]
        str     r5, [r6, #GICC_EOIR]
        /* back to what was interrupted (user code, or the idle loop) without a
         * kernel entry: r0 = l4k_entry_block, user registers at words 4..18 */
        add     r0, r0, #16
        ldmia   r0, {r0-r14}^
        nop                             @ no banked access right after ldm^
        movs    pc, lr
2:      ldr     r7, =GICD + GICD_ICENABLER
        lsr     r8, r2, #5
        and     r9, r2, #31
        mov     r10, #1
        lsl     r10, r10, r9
        str     r10, [r7, r8, lsl #2]   @ mask the line
3:      str     r5, [r6, #GICC_EOIR]
1:      mov     r1, #5
        mov     r3, #0
        mov     r4, #0
        b       entry_common

vec_fiq:
        SAVE_USER
        sub     lr, lr, #4
        mov     r1, #6
entry_async:
        mov     r2, #0
        mov     r3, #0
        mov     r4, #0
        /* fall through */

entry_common:
        stmia   r0, {r1-r4}             @ kind, detail, far, fsr
        str     lr, [r0, #EB_PC]
        isb
        mrrc    p15, 1, r5, r6, c14     @ CNTVCT: the guest's clock at entry
        str     r5, [r0, #EB_COUNTER]
        str     r6, [r0, #EB_COUNTER + 4]
        mrs     r5, spsr
        str     r5, [r0, #EB_PC + 4]
        cps     #MODE_SVC               @ the rest runs on the SVC stack, IRQ masked

/* Copy the current UTCB after the block so the host gets MRs with the trap. */
save_utcb:
        ldr     r0, =l4k_entry_block
        ldr     r1, =l4k_current_utcb
        ldr     r1, [r1]
        str     r1, [r0, #EB_UTCB]
        cmp     r1, #0
        beq     l4k_trap_bp
        add     r2, r0, #EB_UTCB_COPY
        mov     r3, #UTCB_WORDS / 8
1:      ldmia   r1!, {r4-r11}
        stmia   r2!, {r4-r11}
        subs    r3, r3, #1
        bne     1b

        .global l4k_trap_bp
l4k_trap_bp:
        nop                             @ the host's breakpoint

/*
 * Return path.  Also entered directly by the host (pc = l4k_return, cpsr =
 * SVC with IRQ/FIQ masked) after it interrupted user code.
 */
        .global l4k_return
l4k_return:
        cpsid   if, #MODE_SVC
        ldr     sp, =svc_stack_top
        ldr     r0, =l4k_exit_block

        /* copy records: dest, nwords, words...; stop at a record that would
         * run past the block so a bad count cannot run away */
        ldr     r1, [r0, #XB_NCOPY]
        add     r2, r0, #XB_RECORDS
        add     r12, r0, #XB_SIZE       @ end of the block
copy_record:
        subs    r1, r1, #1
        bmi     copy_done
        add     r3, r2, #8
        cmp     r3, r12
        bhi     copy_done
        ldmia   r2!, {r3, r4}           @ r3 = dest, r4 = nwords
        add     r5, r2, r4, lsl #2
        cmp     r5, r12
        bhi     copy_done
copy_four:
        cmp     r4, #4
        blo     copy_one
        ldmia   r2!, {r6-r9}
        stmia   r3!, {r6-r9}
        sub     r4, r4, #4
        b       copy_four
copy_one:
        cmp     r4, #0
        beq     copy_record
        ldr     r6, [r2], #4
        str     r6, [r3], #4
        sub     r4, r4, #1
        b       copy_one
copy_done:

        /* Lazy FPU switch (docs/internals.md 3.4): l4k_fpu_next (a copy record
         * sets it) is the FPU save area of the thread we resume, 0 = leave the
         * FPU alone (L4 threads are soft-float); l4k_fpu_loaded the area whose
         * state the registers hold. Area: d0-d31, then FPSCR (264 bytes). */
        ldr     r2, =l4k_fpu_next
        ldr     r1, [r2]
        ldr     r3, [r2, #4]            @ l4k_fpu_loaded
        cmp     r1, #0
        cmpne   r1, r3
        beq     fpu_done
        cmp     r3, #0
        beq     1f
        vstmia  r3!, {d0-d15}
        vstmia  r3!, {d16-d31}
        vmrs    r4, fpscr
        str     r4, [r3]
1:      mov     r4, r1
        vldmia  r4!, {d0-d15}
        vldmia  r4!, {d16-d31}
        ldr     r5, [r4]
        vmsr    fpscr, r5
        str     r1, [r2, #4]
fpu_done:
        ldr     r1, [r0, #XB_TPIDRURO]
        mcr     p15, 0, r1, c13, c0, 3  @ TPIDRURO: UTCB pointer (L4) / set_tls value (Linux)
        ldr     r1, [r0, #XB_CUR_UTCB]
        ldr     r2, =l4k_current_utcb
        str     r1, [r2]
        ldr     r1, [r0, #XB_TTBR0]
        cmp     r1, #0
        beq     1f
        mcr     p15, 0, r1, c2, c0, 0   @ TTBR0
        isb
        mcr     p15, 0, r1, c8, c7, 0   @ TLBIALL
        dsb
        isb
1:
        /* timer block: start the tick once, apply interrupt mask changes */
        ldr     r6, =l4k_timer_block
        ldr     r5, =GICD
        ldr     r1, [r6, #TB_ARM]
        cmp     r1, #0
        beq     2f
        ldr     r2, [r6, #TB_TICK]
        mcr     p15, 0, r2, c14, c3, 0  @ CNTV_TVAL
        mov     r2, #1
        mcr     p15, 0, r2, c14, c3, 1  @ CNTV_CTL: enabled, not masked
        mov     r2, #(1 << IRQ_TICK)
        str     r2, [r5, #GICD_ISENABLER]
        mov     r1, #0
        str     r1, [r6, #TB_ARM]
2:      ldr     r1, [r6, #TB_OPS]       @ MMIO only when asked (it is slow under -icount)
        cmp     r1, #0
        beq     3f
        mov     r3, #0
        str     r3, [r6, #TB_OPS]
        ldr     r1, [r6, #TB_UNMASK]
        str     r1, [r5, #GICD_ISENABLER]       @ writing 0 bits changes nothing
        str     r3, [r6, #TB_UNMASK]
        ldr     r1, [r6, #TB_UNMASK + 4]
        str     r1, [r5, #GICD_ISENABLER + 4]
        str     r3, [r6, #TB_UNMASK + 4]
        ldr     r1, [r6, #TB_MASK]
        str     r1, [r5, #GICD_ICENABLER]
        str     r3, [r6, #TB_MASK]
        ldr     r1, [r6, #TB_MASK + 4]
        str     r1, [r5, #GICD_ICENABLER + 4]
        str     r3, [r6, #TB_MASK + 4]
3:
        ldr     r2, =l4k_entry_block
        mvn     r1, #0
        str     r1, [r2, #EB_KIND]      @ "not in the kernel" marker for the host

        ldr     r1, [r0, #XB_PC]        @ pc = l4k_idle: nothing to run, wait here
        ldr     r2, =l4k_idle
        cmp     r1, r2
        beq     l4k_idle

        ldr     r1, [r0, #XB_CPSR]
        msr     spsr_cxsf, r1
        ldr     lr, [r0, #XB_PC]
        ldmia   r0, {r0-r14}^           @ user r0-r12, sp_usr, lr_usr
        nop                             @ no banked access right after ldm^
        movs    pc, lr

/* Idle: the kernel has nothing to run. Wait for an interrupt in kernel mode
   with IRQs on (QEMU's vCPU sleeps in wfi; the host sleeps in its wait for
   the stop); the interrupt is an entry like any other. */
        .global l4k_idle
l4k_idle:
        cpsie   i
1:      wfi
        b       1b

/* Preemption gate. The gdbstub cannot take a CPU out of user mode (QEMU
   ignores mode changes of a USR-mode cpsr), so to switch threads after
   stopping a thread in user mode the host points its pc here: the svc is a
   kernel entry like any other, with a number no L4 call uses. */
        .global l4k_preempt_gate
        .balign 4
l4k_preempt_gate:
        svc     #0xffffff
        b       l4k_preempt_gate

/* Boot: vectors, one stack per exception mode, then a kind-0 entry. */
        .global _start
_start:
        cpsid   if, #MODE_SVC
        ldr     r0, =l4k_vectors
        mcr     p15, 0, r0, c12, c0, 0  @ VBAR
        mrc     p15, 0, r0, c1, c0, 0   @ SCTLR: clear V so VBAR is used
        bic     r0, r0, #(1 << 13)
        mcr     p15, 0, r0, c1, c0, 0
        isb
        /* VFPv4/NEON usable in user mode (Linux armhf programs): CPACR cp10 and
         * cp11 full access, then FPEXC.EN */
        mrc     p15, 0, r0, c1, c0, 2   @ CPACR
        orr     r0, r0, #(0xf << 20)
        mcr     p15, 0, r0, c1, c0, 2
        isb
        mov     r0, #0x40000000
        vmsr    fpexc, r0

        ldr     r0, =__bss_start        @ QEMU zero-fills, but do not rely on it
        ldr     r1, =__bss_end
        mov     r2, #0
1:      cmp     r0, r1
        strlo   r2, [r0], #4
        blo     1b

        /* kernel window: VA 0xC0000000 + n MB -> RAM_BASE + n MB */
        ldr     r0, =l4k_boot_ttbr0 + WINDOW_L1_INDEX * 4
        ldr     r1, =RAM_BASE | SECT_WINDOW
        mov     r2, #RAM_MB
1:      str     r1, [r0], #4
        add     r1, r1, #0x100000
        subs    r2, r2, #1
        bne     1b
        /* boot TTBR0: all RAM identity with full access -- the flat world of a
         * kernel without page tables (exit blocks with ttbr0 = 0 keep it) */
        ldr     r0, =l4k_boot_ttbr0
        add     r3, r0, #(RAM_BASE >> 20) * 4
        ldr     r1, =RAM_BASE | SECT_FLAT
        mov     r2, #RAM_MB
1:      str     r1, [r3], #4
        add     r1, r1, #0x100000
        subs    r2, r2, #1
        bne     1b
        /* devices: the GIC (1 MiB covers distributor and CPU interface) */
        ldr     r0, =l4k_boot_ttbr0 + GIC_L1_INDEX * 4
        ldr     r1, =GIC_PA | SECT_DEVICE
        str     r1, [r0]
        ldr     r0, =l4k_boot_ttbr0
        mov     r1, #0
        mcr     p15, 0, r1, c2, c0, 2   @ TTBCR: N = 0 (TTBR0 translates everything)
        mov     r1, #1
        mcr     p15, 0, r1, c3, c0, 0   @ DACR: domain 0 = client (permissions checked)
        mcr     p15, 0, r0, c2, c0, 0   @ TTBR0
        mov     r1, #0
        mcr     p15, 0, r1, c8, c7, 0   @ TLBIALL
        dsb
        isb
        mrc     p15, 0, r1, c1, c0, 0   @ SCTLR.M: MMU on
        orr     r1, r1, #1
        mcr     p15, 0, r1, c1, c0, 0
        isb

        /* interrupts: GIC on, every line masked but what the kernel enables;
         * the generic timer: frequency for the host, the tick off until the
         * host arms it, the physical timer usable from user mode (a device
         * for user-level drivers: PL0PTEN, PL0PCTEN, PL0VCTEN) */
        ldr     r0, =GICD
        mov     r1, #1
        str     r1, [r0, #GICD_CTLR]
        ldr     r0, =GICC
        mov     r1, #0xF0
        str     r1, [r0, #GICC_PMR]
        mov     r1, #1
        str     r1, [r0, #GICC_CTLR]
        mrc     p15, 0, r1, c14, c0, 0  @ CNTFRQ
        ldr     r0, =l4k_timer_block
        str     r1, [r0, #TB_FREQ]
        mov     r1, #0
        mcr     p15, 0, r1, c14, c2, 1  @ CNTP_CTL: off
        mvn     r1, #0x80000000
        mcr     p15, 0, r1, c14, c3, 0  @ CNTV_TVAL: far away (its line stays disabled
        mov     r1, #1                  @ until the host arms the tick; an armed timer
        mcr     p15, 0, r1, c14, c3, 1  @ keeps QEMU's -icount clock going)
        ldr     r1, =0x203
        mcr     p15, 0, r1, c14, c1, 0  @ CNTKCTL
        isb

        cps     #MODE_UND
        ldr     sp, =und_stack_top
        cps     #MODE_ABT
        ldr     sp, =abt_stack_top
        cps     #MODE_IRQ
        ldr     sp, =irq_stack_top
        cps     #MODE_FIQ
        ldr     sp, =fiq_stack_top
        cps     #MODE_SVC
        ldr     sp, =svc_stack_top
        b       save_utcb               @ entry block is zero: kind 0 (boot)

        .ltorg

/* Kernel data: plain RAM the host reads and writes through the gdbstub. */
        .section .bss.l4k_blocks, "aw", %nobits
        .balign 64
        .global l4k_entry_block
l4k_entry_block:
        .space  (24 + UTCB_WORDS) * 4
        .size   l4k_entry_block, . - l4k_entry_block
        .balign 64
        .global l4k_exit_block
l4k_exit_block:
        .space  XB_SIZE
        .size   l4k_exit_block, . - l4k_exit_block
        .balign 32
        .global l4k_timer_block
l4k_timer_block:
        .space  64
        .size   l4k_timer_block, 64
        .global l4k_current_utcb
l4k_current_utcb:
        .space  4
        .size   l4k_current_utcb, 4
        .global l4k_fpu_next            /* the host: a copy record when it changes */
l4k_fpu_next:
        .space  4
        .size   l4k_fpu_next, 4
        .global l4k_fpu_loaded          /* the next word: l4k_fpu_next + 4 */
l4k_fpu_loaded:
        .space  4
        .size   l4k_fpu_loaded, 4

        .section .bss.l4k_tables, "aw", %nobits
        .balign 16384
        .global l4k_boot_ttbr0
l4k_boot_ttbr0:
        .space  16384
        .size   l4k_boot_ttbr0, 16384

        .section .bss.l4k_stacks, "aw", %nobits
        .balign 8
        .macro STACK name
        .space  STACK_SIZE
\name\()_stack_top:
        .endm
        STACK svc
        STACK und
        STACK abt
        STACK irq
        STACK fiq
