/*
 * l4gdb RISC-V (RV32 and RV64) kernel stub: QEMU virt, -bios none, machine mode.
 *
 * This is not a kernel: every trap from user mode saves the user context
 * into l4k_entry_block and stops at l4k_trap_bp, where the Python host runs
 * the L4 semantics.  The host then writes l4k_exit_block and continues into
 * l4k_return, which loads that block and mrets to user mode.
 * Layouts: docs/writing-an-arch-plugin.md (RISC-V) and docs/internals.md 3,
 * in words of WS bytes (4 on RV32, 8 on RV64).
 *
 * The stub runs in M-mode with mstatus.MIE clear, so it is never
 * interrupted.  There is no firmware and no S-mode: user code runs in
 * U-mode, in the space whose tables satp points at (Sv32/Sv39, built by the
 * host: l4gdb_riscv/pagetables.py; satp = 0, flat, until the first space
 * switch), fenced besides by three PMP entries: the preemption gate's page
 * (execute), the rest of this image (nothing), all memory (RWX).  The MMU
 * never translates this code (M-mode, MPRV clear): it and the host use
 * physical addresses throughout.
 *
 * The user's UTCB pointer travels in tp (x4): the return path loads it from
 * the exit block's tls word right before mret; the psABI reserves tp for
 * the thread pointer, so compilers never allocate it.
 */
        .option norvc                   /* fixed-size code: easier to step through */

/* One source for RV32 and RV64: WS is the word (register) size. */
#if __riscv_xlen == 64
#define WS 8
#define LOG_WS 3
#define XLEN 64
#define REG_S sd
#define REG_L ld
#define VPN_BITS 9                      /* Sv39: 3 levels of 512 entries */
#define SATP_MODE_HI 8
#define SATP_MODE_SHIFT 60
#else
#define WS 4
#define LOG_WS 2
#define XLEN 32
#define REG_S sw
#define REG_L lw
#define VPN_BITS 10                     /* Sv32: 2 levels of 1024 entries */
#define SATP_MODE_HI 1
#define SATP_MODE_SHIFT 31
#endif
#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08

/* entry block byte offsets */
#define EB_KIND (0*WS)
#define EB_DETAIL (1*WS)
#define EB_FAR (2*WS)
#define EB_FSR (3*WS)
#define EB_X(n) ((4 + (n)) * WS)
#define EB_PC (36*WS)
#define EB_STATUS (37*WS)
#define EB_UTCB (38*WS)
#define EB_COUNTER (39*WS)              /* mtime at entry (RV32: its low word) */
#define EB_UTCB_COPY (40*WS)
/* exit block byte offsets */
#define XB_X(n) ((n) * WS)
#define XB_PC (32*WS)
#define XB_STATUS (33*WS)
#define XB_TLS (34*WS)
#define XB_CUR_UTCB (35*WS)
#define XB_SPACE (36*WS)
#define XB_NCOPY (37*WS)
#define XB_RECORDS (38*WS)
#define XB_SIZE 1536
#define UTCB_WORDS 128

#define RAM_BASE 0x80000000
#define RAM_SIZE 0x08000000             /* 128 MiB: qemu/riscv-virt.cfg */
#define L4_TAG 0x4c340000               /* an L4 call's a7: L4_TAG | number (syscalls.h) */
#define PREEMPT_NUMBER 0xfff            /* the L4 number of the ecall at l4k_preempt_gate */
#define MCAUSE_ECALL_U 8
/* PMP: cfg bytes (A = NAPOT, permissions), pmpaddr NAPOT encodings */
#define PMP_NAPOT 0x18
#define PMP_R 1
#define PMP_W 2
#define PMP_X 4

/* The guest timer: the CLINT's mtime/mtimecmp (hart 0), machine timer
 * interrupt (mcause 7).  Lines are the mcause interrupt codes 0..15. */
#define CLINT_MTIMECMP 0x02004000
#define CLINT_MTIME 0x0200bff8
#define MTIME_HZ 10000000               /* the virt board's timebase */
#define IRQ_TICK 7
#define MIE_MTIE (1 << IRQ_TICK)
#define MSTATUS_MIE 0x8
#define IRQ_EXTERNAL 11                 /* the PLIC: lines 32 + source */
#define MIE_MEIE (1 << IRQ_EXTERNAL)    /* the kernel's: the PLIC masks its own sources */
#define IRQ_PLIC 32
#define IRQ_SPURIOUS 255
#define PLIC_PRIORITY 0x0c000000        /* one word per source */
#define PLIC_ENABLE 0x0c002000          /* context 0 (hart 0, M-mode): sources 0..31 */
#define PLIC_THRESHOLD 0x0c200000
#define PLIC_CLAIM 0x0c200004
#define PLIC_SOURCES 32
        /* timer block (l4k_timer_block) byte offsets, 32-bit words:
         * l4gdb/archkit/guesttimer.py */
#define TB_TICK 0                       /* mtime ticks per tick */
#define TB_ARM 4                        /* non-zero: start the tick on the way out */
#define TB_FREQ 8                       /* MTIME_HZ, stored at boot */
#define TB_OPS 12                       /* non-zero: apply UNMASK/MASK to mie */
#define TB_UNMASK 16                    /* lines to enable (bit n: line n) */
#define TB_MASK 24                      /* lines to disable */
#define TB_SKIP 32                      /* ticks to absorb without a kernel entry */

/* mtimecmp = mtime + one tick (no catching up: the next tick is a tick from
 * now).  Uses t0..t3. */
        .macro  next_tick
        li      t0, CLINT_MTIME
#if WS == 8
        ld      t1, 0(t0)
        la      t3, l4k_timer_block
        lwu     t3, TB_TICK(t3)
        add     t1, t1, t3
        li      t0, CLINT_MTIMECMP
        sd      t1, 0(t0)
#else
1:      lw      t2, 4(t0)               /* hi, lo, hi again: no torn read */
        lw      t1, 0(t0)
        lw      t3, 4(t0)
        bne     t2, t3, 1b
        la      t3, l4k_timer_block
        lw      t3, TB_TICK(t3)
        add     t3, t1, t3              /* new low */
        sltu    t1, t3, t1              /* carry */
        add     t2, t2, t1
        li      t0, CLINT_MTIMECMP
        li      t1, -1
        sw      t1, 0(t0)               /* low all ones first: no early match meanwhile */
        sw      t2, 4(t0)
        sw      t3, 0(t0)
#endif
        .endm

        .section .text.start, "ax"
        .global l4k_kernel_start
l4k_kernel_start:
/* Boot: QEMU's reset vector (0x1000) jumps here in M-mode with a0 = hartid,
 * a1 = the device tree (unused). */
        .global _start
_start:
        csrw    mie, zero
        csrw    mstatus, zero           /* MIE = 0, MPP = U, MPRV = 0 */
        csrw    medeleg, zero
        csrw    mideleg, zero
        csrw    satp, zero
        la      t0, l4k_trap_vector
        csrw    mtvec, t0               /* direct mode */
        la      t0, l4k_entry_block
        csrw    mscratch, t0

        /* PMP, first match wins: 0 the gate page X, 1 this image nothing,
         * 2 everything RWX (NAPOT with all ones: the whole address space). */
        la      t0, l4k_gate_page
        srli    t0, t0, 2
        ori     t0, t0, (4096 / 8) - 1  /* 511 */
        csrw    pmpaddr0, t0
        la      t0, l4k_kernel_start
        srli    t0, t0, 2
        li      t1, (0x10000 / 8) - 1
        or      t0, t0, t1
        csrw    pmpaddr1, t0
        li      t0, -1
        csrw    pmpaddr2, t0
        li      t0, ((PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 16) | (PMP_NAPOT << 8) | (PMP_NAPOT | PMP_X)
        csrw    pmpcfg0, t0
        sfence.vma

        la      t0, __bss_start         /* QEMU zero-fills, but do not rely on it */
        la      t1, __bss_end
1:      bgeu    t0, t1, 2f
        REG_S   zero, 0(t0)
        addi    t0, t0, WS
        j       1b
2:
        la      t0, l4k_timer_block     /* for the host; the tick stays off (mie) */
        li      t1, MTIME_HZ
        sw      t1, TB_FREQ(t0)
        /* the PLIC: every source priority 1, none enabled, threshold 0; its
         * interrupt (MEIE) always on: it masks its sources itself */
        li      t0, PLIC_PRIORITY
        li      t1, 1
        li      t2, PLIC_SOURCES
3:      sw      t1, 0(t0)
        addi    t0, t0, 4
        addi    t2, t2, -1
        bnez    t2, 3b
        li      t0, PLIC_ENABLE
        sw      zero, 0(t0)
        li      t0, PLIC_THRESHOLD
        sw      zero, 0(t0)
        li      t0, MIE_MEIE
        csrs    mie, t0
        la      sp, l4k_entry_block     /* entry block is zero: kind 0 (boot) */
        j       save_utcb

/* Every trap: mscratch holds l4k_entry_block while user code runs. */
        .balign 4
        .global l4k_trap_vector
l4k_trap_vector:
        csrrw   sp, mscratch, sp        /* sp = entry block, mscratch = user sp */
        REG_S   t0, EB_X(5)(sp)
        csrr    t0, mcause
        bgez    t0, trap_save
        REG_S   t1, EB_X(6)(sp)
        REG_S   t2, EB_X(7)(sp)
        REG_S   t3, EB_X(28)(sp)
        li      t1, IRQ_TICK
        slli    t0, t0, 1
        srli    t0, t0, 1
        bne     t0, t1, 3f
        /* The tick (from user mode or the idle loop): the next one a tick from
         * now; while TB_SKIP is non-zero it is absorbed here, back to what was
         * interrupted, else it is a kernel entry of kind 5, line 7. */
        next_tick
        la      t0, l4k_timer_block
        lw      t1, TB_SKIP(t0)
        beqz    t1, 4f
        addi    t1, t1, -1
        sw      t1, TB_SKIP(t0)
        REG_L   t0, EB_X(5)(sp)
        REG_L   t1, EB_X(6)(sp)
        REG_L   t2, EB_X(7)(sp)
        REG_L   t3, EB_X(28)(sp)
        csrrw   sp, mscratch, sp
        mret
3:      li      t1, IRQ_EXTERNAL
        beq     t0, t1, 4f              /* the PLIC masks the source (trap_interrupt) */
        li      t1, 1                   /* another line: off until the kernel enables it */
        sll     t1, t1, t0
        csrc    mie, t1
4:      REG_L   t1, EB_X(6)(sp)
        REG_L   t2, EB_X(7)(sp)
        REG_L   t3, EB_X(28)(sp)
trap_save:
        REG_L   t0, EB_X(5)(sp)
        REG_S   ra, EB_X(1)(sp)
        REG_S   gp, EB_X(3)(sp)
        REG_S   tp, EB_X(4)(sp)
        REG_S   t0, EB_X(5)(sp)
        REG_S   t1, EB_X(6)(sp)
        REG_S   t2, EB_X(7)(sp)
        REG_S   s0, EB_X(8)(sp)
        REG_S   s1, EB_X(9)(sp)
        REG_S   a0, EB_X(10)(sp)
        REG_S   a1, EB_X(11)(sp)
        REG_S   a2, EB_X(12)(sp)
        REG_S   a3, EB_X(13)(sp)
        REG_S   a4, EB_X(14)(sp)
        REG_S   a5, EB_X(15)(sp)
        REG_S   a6, EB_X(16)(sp)
        REG_S   a7, EB_X(17)(sp)
        REG_S   s2, EB_X(18)(sp)
        REG_S   s3, EB_X(19)(sp)
        REG_S   s4, EB_X(20)(sp)
        REG_S   s5, EB_X(21)(sp)
        REG_S   s6, EB_X(22)(sp)
        REG_S   s7, EB_X(23)(sp)
        REG_S   s8, EB_X(24)(sp)
        REG_S   s9, EB_X(25)(sp)
        REG_S   s10, EB_X(26)(sp)
        REG_S   s11, EB_X(27)(sp)
        REG_S   t3, EB_X(28)(sp)
        REG_S   t4, EB_X(29)(sp)
        REG_S   t5, EB_X(30)(sp)
        REG_S   t6, EB_X(31)(sp)
        REG_S   zero, EB_X(0)(sp)
        csrrw   t0, mscratch, sp        /* t0 = user sp; mscratch = block again */
        REG_S   t0, EB_X(2)(sp)
        REG_S   zero, EB_STATUS(sp)     /* the pseudo-register "status": always 0 */

        csrr    t0, mepc
        csrr    t1, mcause
        csrr    t2, mtval
        REG_S   t1, EB_FSR(sp)          /* fsr = mcause, every kind */
        REG_S   t2, EB_FAR(sp)
        bltz    t1, trap_interrupt      /* mcause bit 31: an interrupt */

        li      t3, MCAUSE_ECALL_U
        bne     t1, t3, 1f
        li      t3, 1                   /* ecall from U-mode: system call a7 */
        REG_S   t3, EB_KIND(sp)
        REG_S   a7, EB_DETAIL(sp)
        REG_S   zero, EB_FAR(sp)
        addi    t0, t0, 4               /* resume after the ecall */
        REG_S   t0, EB_PC(sp)
        j       save_utcb

1:      REG_S   t1, EB_DETAIL(sp)
        REG_S   t0, EB_PC(sp)           /* the faulting instruction */
        /* An access fault on this image (PMP: user mode may not touch it) is
         * not a page fault a pager could resolve: an exception (mcause). */
        li      t3, 2
        la      t4, l4k_kernel_start
        bltu    t2, t4, 3f
        la      t4, l4k_kernel_end
        bltu    t2, t4, 2f
3:      li      t3, 3                   /* 1: instruction access fault, 12: page fault */
        li      t4, 1
        beq     t1, t4, 2f
        li      t4, 12
        beq     t1, t4, 2f
        li      t3, 4                   /* 5/7: load/store access fault, 13/15 page fault */
        li      t4, 5
        beq     t1, t4, 2f
        li      t4, 7
        beq     t1, t4, 2f
        li      t4, 13
        beq     t1, t4, 2f
        li      t4, 15
        beq     t1, t4, 2f
        li      t3, 2                   /* anything else: an exception (mcause) */
2:      REG_S      t3, EB_KIND(sp)
        j       save_utcb

trap_interrupt:                         /* detail = the line (the mcause code) */
        li      t3, 5
        REG_S   t3, EB_KIND(sp)
        slli    t1, t1, 1
        srli    t1, t1, 1
        li      t3, IRQ_EXTERNAL
        bne     t1, t3, 2f
        /* the PLIC: claim the source, disable it (until the kernel enables it
         * again), complete; the line is 32 + the source */
        li      t3, PLIC_CLAIM
        lw      t1, 0(t3)
        li      t4, IRQ_SPURIOUS
        beqz    t1, 1f                  /* nothing after all */
        li      t4, PLIC_SOURCES
        bgeu    t1, t4, 1f
        li      t4, 1
        sll     t4, t4, t1
        li      t5, PLIC_ENABLE
        lw      t6, 0(t5)
        not     t4, t4
        and     t6, t6, t4
        sw      t6, 0(t5)
        sw      t1, 0(t3)               /* complete */
        addi    t4, t1, IRQ_PLIC
1:      mv      t1, t4
2:      REG_S   t1, EB_DETAIL(sp)
        REG_S   t0, EB_PC(sp)

/* Copy the current UTCB after the block so the host gets MRs with the trap,
 * only when it lies inside RAM and is word aligned.  sp = entry block. */
save_utcb:
        li      t0, CLINT_MTIME         /* the guest's clock */
        REG_L   t0, 0(t0)
        REG_S   t0, EB_COUNTER(sp)
        la      t0, l4k_current_utcb
        REG_L   t1, 0(t0)
        REG_S   zero, EB_UTCB(sp)
        mv      a1, t1                  /* the UTCB's user address */

        /* With a space loaded (satp != 0) that is a virtual address: walk the
         * tables the host built (4 KiB leaves only) to its frame. */
        csrr    t2, satp
        beqz    t2, 7f
#if __riscv_xlen == 64
        slli    t2, t2, 20              /* PPN (bits 43..0) << 12: the root */
        srli    t2, t2, 8
        li      t3, 12 + 2 * VPN_BITS   /* shift of the top level's index */
#else
        slli    t2, t2, 12              /* PPN << 12 (RAM is below 4 GiB) */
        li      t3, 12 + VPN_BITS
#endif
4:      srl     t4, t1, t3
        andi    t4, t4, (1 << VPN_BITS) - 1
        slli    t4, t4, LOG_WS          /* entries are words */
        add     t4, t4, t2
        REG_L   t4, 0(t4)
        andi    t5, t4, PTE_V
        beqz    t5, l4k_trap_bp         /* not mapped: no copy */
        srli    t2, t4, 10
        slli    t2, t2, 12              /* the next table, or the frame */
        andi    t5, t4, PTE_R | PTE_W | PTE_X
        bnez    t5, 6f                  /* a leaf */
        addi    t3, t3, -VPN_BITS
        li      t5, 12
        bgeu    t3, t5, 4b
        j       l4k_trap_bp             /* no leaf at the last level */
6:      li      t5, 12
        bne     t3, t5, l4k_trap_bp     /* a superpage: the host builds none */
        slli    t4, t1, XLEN - 12       /* offset in the page */
        srli    t4, t4, XLEN - 12
        or      t1, t2, t4
7:
        li      t2, RAM_BASE
        sub     t2, t1, t2              /* offset into RAM (unsigned) */
        li      t3, RAM_SIZE - UTCB_WORDS * WS
        bgtu    t2, t3, l4k_trap_bp
        andi    t3, t1, WS - 1
        bnez    t3, l4k_trap_bp
        REG_S   a1, EB_UTCB(sp)
        addi    t2, sp, EB_UTCB_COPY
        addi    t3, t1, UTCB_WORDS * WS
1:      REG_L   t4, 0(t1)
        REG_L   t5, (1*WS)(t1)
        REG_L   t6, (2*WS)(t1)
        REG_L   a0, (3*WS)(t1)
        REG_S   t4, 0(t2)
        REG_S   t5, (1*WS)(t2)
        REG_S   t6, (2*WS)(t2)
        REG_S   a0, (3*WS)(t2)
        addi    t1, t1, 4 * WS
        addi    t2, t2, 4 * WS
        bne     t1, t3, 1b

        .global l4k_trap_bp
l4k_trap_bp:
        nop                             /* the host's breakpoint */

/*
 * Return path.  Entered by the host (continue at l4k_return) in M-mode,
 * after every kernel entry including the boot entry.
 */
        .global l4k_return
l4k_return:
        la      t6, l4k_exit_block

        /* copy records: dest, nwords, words...  Stop at a record that would
         * run past the block; skip one whose destination is not word-aligned
         * RAM. */
        REG_L   t0, XB_NCOPY(t6)        /* records left */
        addi    t1, t6, XB_RECORDS      /* record */
        addi    t2, t6, XB_SIZE         /* end of the block */
        li      s0, RAM_BASE
        li      s1, RAM_BASE + RAM_SIZE
copy_record:
        beqz    t0, copy_done
        addi    t0, t0, -1
        addi    t3, t1, 2 * WS
        bgtu    t3, t2, copy_done       /* header past the end */
        REG_L   t3, 0(t1)               /* dest */
        REG_L   t4, WS(t1)              /* nwords */
        addi    t1, t1, 2 * WS
        li      t5, XB_SIZE / WS
        bgeu    t4, t5, copy_done       /* absurd count */
        slli    t4, t4, LOG_WS          /* bytes */
        add     a0, t1, t4              /* next record */
        bgtu    a0, t2, copy_done       /* data past the end */
        add     a1, t3, t4              /* dest end */
        mv      a2, t1
        mv      t1, a0
        bltu    t3, s0, copy_record     /* not RAM: skip */
        bgtu    a1, s1, copy_record
        bltu    a1, t3, copy_record     /* wrapped */
        andi    a3, t3, WS - 1
        bnez    a3, copy_record
1:      beq     a2, a0, copy_record
        REG_L   a3, 0(a2)
        REG_S   a3, 0(t3)
        addi    a2, a2, WS
        addi    t3, t3, WS
        j       1b
copy_done:

        REG_L   t0, XB_CUR_UTCB(t6)
        la      t1, l4k_current_utcb
        REG_S   t0, 0(t1)
        /* space_root: the root table's physical address, 0 = unchanged.  The
         * MMU translates only U-mode here (MPRV stays clear): this code and
         * the host keep using physical addresses. */
        REG_L   t0, XB_SPACE(t6)
        beqz    t0, 1f
        srli    t0, t0, 12
        li      t1, SATP_MODE_HI
        slli    t1, t1, SATP_MODE_SHIFT
        or      t0, t0, t1
        csrw    satp, t0
        sfence.vma
1:
        la      t1, l4k_entry_block
        li      t0, -1
        REG_S   t0, EB_KIND(t1)         /* "not in the kernel" marker for the host */
        csrw    mscratch, t1

        /* timer block: start the tick once, apply mie changes */
        la      t1, l4k_timer_block
        lw      t0, TB_ARM(t1)
        beqz    t0, 2f
        sw      zero, TB_ARM(t1)
        mv      t4, t1
        next_tick
        mv      t1, t4
        li      t0, MIE_MTIE
        csrs    mie, t0
2:      lw      t0, TB_OPS(t1)
        beqz    t0, 3f
        sw      zero, TB_OPS(t1)
        lw      t0, TB_UNMASK(t1)
        csrs    mie, t0
        lw      t0, TB_MASK(t1)
        csrc    mie, t0
        li      t0, MIE_MEIE
        csrs    mie, t0
        li      t3, PLIC_ENABLE
        lw      t2, 0(t3)
        lw      t0, TB_UNMASK + 4(t1)   /* lines 32..63: PLIC sources */
        or      t2, t2, t0
        lw      t0, TB_MASK + 4(t1)
        not     t0, t0
        and     t2, t2, t0
        sw      t2, 0(t3)
        sw      zero, TB_UNMASK(t1)
        sw      zero, TB_UNMASK + 4(t1)
        sw      zero, TB_MASK(t1)
        sw      zero, TB_MASK + 4(t1)
3:      REG_L   t0, XB_PC(t6)
        la      t1, l4k_idle
        bne     t0, t1, 4f
        li      t0, MSTATUS_MIE         /* idle: M-mode, interrupts on */
        csrw    mstatus, t0
        j       l4k_idle
4:
        REG_L   t0, XB_PC(t6)
        csrw    mepc, t0
        li      t0, 0x80                /* MPP = U, MPIE set, MIE clear: mret to U */
        csrw    mstatus, t0

        REG_L   ra, XB_X(1)(t6)
        REG_L   sp, XB_X(2)(t6)
        REG_L   gp, XB_X(3)(t6)
        REG_L   t0, XB_X(5)(t6)
        REG_L   t1, XB_X(6)(t6)
        REG_L   t2, XB_X(7)(t6)
        REG_L   s0, XB_X(8)(t6)
        REG_L   s1, XB_X(9)(t6)
        REG_L   a0, XB_X(10)(t6)
        REG_L   a1, XB_X(11)(t6)
        REG_L   a2, XB_X(12)(t6)
        REG_L   a3, XB_X(13)(t6)
        REG_L   a4, XB_X(14)(t6)
        REG_L   a5, XB_X(15)(t6)
        REG_L   a6, XB_X(16)(t6)
        REG_L   a7, XB_X(17)(t6)
        REG_L   s2, XB_X(18)(t6)
        REG_L   s3, XB_X(19)(t6)
        REG_L   s4, XB_X(20)(t6)
        REG_L   s5, XB_X(21)(t6)
        REG_L   s6, XB_X(22)(t6)
        REG_L   s7, XB_X(23)(t6)
        REG_L   s8, XB_X(24)(t6)
        REG_L   s9, XB_X(25)(t6)
        REG_L   s10, XB_X(26)(t6)
        REG_L   s11, XB_X(27)(t6)
        REG_L   t3, XB_X(28)(t6)
        REG_L   t4, XB_X(29)(t6)
        REG_L   t5, XB_X(30)(t6)
        REG_L   tp, XB_TLS(t6)          /* the user's UTCB pointer */
        REG_L   t6, XB_X(31)(t6)        /* the base register last */
        mret

/* Idle: the kernel has nothing to run.  Wait for an interrupt in M-mode with
 * interrupts on (QEMU's vCPU sleeps in wfi; the host sleeps in its wait for
 * the stop); the interrupt is an entry like any other. */
        .global l4k_idle
l4k_idle:
        wfi
        j       l4k_idle

/* Preemption gate, on its own page (the one page of this image that user
 * mode may execute, by PMP entry 0).  The host switches threads only from
 * inside the kernel; to get there from a CPU it stopped in user mode it
 * points the pc here and continues: the ecall is a kernel entry like any
 * other, with a number (a7, tagged as an L4 call's) no L4 call uses. */
        .section .l4k_gate, "ax"
        .balign 4096
        .global l4k_gate_page
l4k_gate_page:
        .global l4k_preempt_gate
l4k_preempt_gate:
        li      a7, L4_TAG | PREEMPT_NUMBER
        ecall
        j       l4k_preempt_gate
        .balign 4096

/* Kernel data: plain RAM the host reads and writes through the gdbstub. */
        .section .bss.l4k_blocks, "aw", @nobits
        .balign 64
        .global l4k_entry_block
l4k_entry_block:
        .space  (40 + UTCB_WORDS) * WS
        .size   l4k_entry_block, . - l4k_entry_block
        .balign 64
        .global l4k_exit_block
l4k_exit_block:
        .space  XB_SIZE
        .size   l4k_exit_block, . - l4k_exit_block
        .global l4k_current_utcb
l4k_current_utcb:
        .space  WS
        .size   l4k_current_utcb, WS
        .balign 64
        .global l4k_timer_block
l4k_timer_block:                        /* host writes; the return path applies */
        .space  64
        .size   l4k_timer_block, 64
