/*
 * l4gdb MIPS32r2 kernel stub (QEMU Malta, 24Kf, little endian).
 *
 * This is not a kernel: every exception saves the user context into
 * l4k_entry_block and stops at l4k_trap_bp, where the Python host runs the
 * L4 semantics.  The host then writes l4k_exit_block and continues into
 * l4k_return, which loads that block and erets to user mode.
 * Layouts: docs/internals.md section 3 and section 4 "MIPS".
 *
 * The stub runs in kseg0 with Status.EXL = 1 from the exception to the eret,
 * so it is never interrupted and never takes a TLB exception: everything it
 * touches is in kseg0 (RAM at physical + 0x80000000).
 *
 * User memory (kuseg) comes in two modes:
 *
 * - flat (the boot state, and for good when the host has no page tables):
 *   four wired, global 2 x 16 MiB TLB entries map kuseg 0..128 MiB 1:1
 *   onto RAM, so a user address is also its physical address;
 * - address spaces: the first exit block with a space_root (a page
 *   directory's physical address | ASID) drops the wired entries but one (the
 *   preemption gate's page, global, read-only) and from then on the TLB is
 *   refilled from the current space's tables, which the host builds in RAM:
 *   a 4 KiB directory (word i: kseg0 address of the page table for the 4 MiB
 *   at i << 22, or 0; word 1023: "stale", set by the host when the space's
 *   mappings shrank) and 4 KiB page tables of 1024 EntryLo-format entries.
 *   The refill handler walks them and writes the even/odd pair (tlbwr); the
 *   TLB invalid/modified exceptions re-walk and rewrite the entry when the
 *   table allows the access by now (the host widened it), else they are page
 *   faults for the host.  Each space runs with its own ASID; the return path
 *   flushes a space's TLB entries when its directory says stale or its ASID
 *   last belonged to another directory.
 *
 * The user's UTCB pointer travels in k1 ($27): the return path loads it from
 * the exit block's tls word right before eret, and every kernel entry goes
 * through that path, so user code always finds it there (o32 reserves k0/k1
 * for the kernel: compilers never allocate them; the refill and TLB fast
 * paths, which eret straight back to user mode, preserve k1).  QEMU's 24Kf
 * has no UserLocal register (Config3.ULRI = 0), so `rdhwr $29` would trap.
 */
        .set    noreorder
        .set    noat
        .set    mips32r2
        .set    hardfloat               /* the lazy FPU switch (user programs may be hard-float) */

        /* entry block word offsets (bytes) */
#define EB_KIND 0
#define EB_DETAIL 4
#define EB_FAR 8
#define EB_FSR 12
#define EB_R(n) ((4 + (n)) * 4)
#define EB_LO (36*4)
#define EB_HI (37*4)
#define EB_PC (38*4)
#define EB_STATUS (39*4)
#define EB_UTCB (40*4)
#define EB_COUNTER (42*4)               /* Count, extended to 64 bits: the guest's clock */
#define EB_UTCB_COPY (48*4)
        /* exit block word offsets (bytes) */
#define XB_R(n) ((n) * 4)
#define XB_LO (32*4)
#define XB_HI (33*4)
#define XB_PC (34*4)
#define XB_STATUS (35*4)
#define XB_TLS (36*4)
#define XB_CUR_UTCB (37*4)
#define XB_SPACE (38*4)
#define XB_NCOPY (39*4)
#define XB_RECORDS (40*4)
#define XB_SIZE 1536
#define UTCB_WORDS 128

#define KSEG0 0x80000000
#define RAM_SIZE 0x08000000             /* 128 MiB: qemu-configs/mips-malta.cfg */
#define USER_STATUS 0x00000012          /* KSU = user, EXL: eret drops to user, IE = 0 */
#define ST_EXL 0x00000002
#define EXC_SYS 8
#define EXC_TLBL 2
#define EXC_TLBS 3
#define EXC_RI 10                       /* reserved instruction (rdhwr $29 on the 24Kf) */
#define RDHWR_UL 0x7c00e83b             /* rdhwr rt, $29 with rt = 0 */
#define ST_CU1 0x20000000               /* Status.CU1: the FPU (FR = 0: o32 FP32/FPXX) */
#define FCSR_CAUSE_SHIFT 12             /* FCSR.Cause: 6 bits, cleared before ctc1 */
#define PREEMPT_NUMBER 0xffffff         /* v0 of the syscall at l4k_preempt_gate */
#define WIRED 4                         /* TLB entries mapping kuseg 0..128 MiB */
#define PAGEMASK_16M 0x01ffe000
#define ENTRYLO_FLAGS 0x1f              /* C = 3 (cacheable), D, V, G */
#define PTE_V 0x2                       /* EntryLo valid */
#define PTE_D 0x4                       /* EntryLo dirty (writable) */
#define PGD_STALE 0xffc                 /* directory word 1023: flush this space's ASID */
#define GATE_PAGE 0x00010000            /* kuseg alias of the gate's page (kernel.ld) */
#define GATE_ENTRYLO ((GATE_PAGE >> 12) << 6 | 0x1b)    /* C = 3, V, G; read-only */
#define ST_IE 0x00000001
#define ST_IM_SHIFT 8                   /* Status.IM0..7 = line n at bit 8 + n */
#define IRQ_TICK 7                      /* IP7: the CP0 timer (Count = Compare) */
#define IRQ_SPURIOUS 255
#define IP_I8259 2                      /* IP2: the PIIX4's i8259s (lines 16 + 0..15) */
#define IRQ_I8259 16
#define ISA_IO 0xb8000000               /* ISA I/O ports (physical 0x18000000), kseg1 */
#define PIC_POLL 0x0c                   /* OCW3: poll (the read acknowledges) */
#define PIC_EOI 0x20
/* The ISA I/O page for user-level drivers (l4/arch/device.h) at kuseg = its
 * physical address: flat, the even half of a wired pair (uncached, global; the
 * odd half invalid).  With address spaces it is wired in none: sigma0 maps it
 * for the one driver that asks (pagetables.py: driver_pages, uncached). */
#define DEVICE_PAIR 0x18000000
#define DEVICE_ENTRYLO ((0x18000000 >> 12) << 6 | 0x17)   /* C = 2 uncached, D, V, G */

        /* timer block (l4k_timer_block) byte offsets: l4gdb/archkit/guesttimer.py */
#define TB_TICK 0                       /* Count ticks per tick */
#define TB_ARM 4                        /* non-zero: start the tick on the way out */
#define TB_OPS 12                       /* non-zero: apply UNMASK/MASK */
#define TB_UNMASK 16                    /* lines to enable (bit n: line n) */
#define TB_MASK 24                      /* lines to disable */
#define TB_SKIP 32                      /* ticks to absorb without a kernel entry */
#define TB_IM 36                        /* Status.IM bits user mode and idle run with */
#define TB_LINE 40                      /* the line of the interrupt entry */
#define TB_LAST 44                      /* Count at the last look, */
#define TB_HI 48                        /* and the high word of the 64-bit counter */
#define TB_K1 52                        /* user k1, t0, t1 while the tick path runs */
#define TB_T0 56
#define TB_T1 60

        /* l4k_tlbvars word offsets (bytes) */
#define TV_K1 0                         /* user k1 while a TLB fast path runs */
#define TV_ROOT 4                       /* kseg0 address of the current directory, 0: flat */
#define TV_PAGED 8                      /* 1 once the wired flat mapping is gone */
#define TV_TLS 12                       /* the running thread's tls: what rdhwr $29 reads */
#define TV_AT 16                        /* user at while the rdhwr path runs */

        /* CP0 registers */
#define C0_INDEX $0
#define C0_RANDOM $1
#define C0_ENTRYLO0 $2
#define C0_ENTRYLO1 $3
#define C0_PAGEMASK $5
#define C0_WIRED $6
#define C0_BADVADDR $8
#define C0_COUNT $9
#define C0_COMPARE $11
#define C0_ENTRYHI $10
#define C0_STATUS $12
#define C0_CAUSE $13
#define C0_EPC $14
#define C0_CONFIG $16

/*
 * Exception vectors at EBASE = 0x80000000 (Status.BEV = 0): TLB refill at
 * +0x000, everything else at +0x180 (+0x200 only with Cause.IV, never set).
 * Kernel entries load k0 = l4k_entry_block and join entry_save, which tells
 * the cases apart by Cause.ExcCode.
 */
        .section .text.vectors, "ax"
        .global l4k_vectors
l4k_vectors:
/* TLB refill (a user access to kuseg with no matching entry): walk the current
 * space's tables and write the pair, valid or not (an invalid half makes the
 * retry a TLB invalid exception, a page fault).  No directory (flat mode) or
 * no page table for the 4 MiB: a page fault at once.  Only k0 is free: k1 (the
 * user's UTCB pointer) is kept in l4k_tlbvars meanwhile. */
vec_refill:
        lui     $26, %hi(l4k_tlbvars)
        addiu   $26, $26, %lo(l4k_tlbvars)
        sw      $27, TV_K1($26)
        lw      $27, TV_ROOT($26)
        beqz    $27, refill_fault
        mfc0    $26, C0_BADVADDR
        srl     $26, $26, 22
        sll     $26, $26, 2
        addu    $27, $27, $26
        lw      $27, 0($27)             /* the page table (kseg0) or 0 */
        beqz    $27, refill_fault
        mfc0    $26, C0_BADVADDR
        srl     $26, $26, 10
        andi    $26, $26, 0xff8         /* the even entry of the pair */
        addu    $27, $27, $26
        lw      $26, 0($27)
        mtc0    $26, C0_ENTRYLO0
        lw      $26, 4($27)
        mtc0    $26, C0_ENTRYLO1
        ehb
        tlbwr                           /* EntryHi: VPN2 and ASID, from the CPU */
        lui     $26, %hi(l4k_tlbvars)
        addiu   $26, $26, %lo(l4k_tlbvars)
        lw      $27, TV_K1($26)
        eret
refill_fault:
        lui     $26, %hi(l4k_entry_block)
        j       entry_save
        addiu   $26, $26, %lo(l4k_entry_block)

        .org    0x180
vec_general:
        mfc0    $26, C0_CAUSE
        ext     $26, $26, 2, 5
        beqz    $26, 2f                 /* 0: an interrupt */
        addiu   $26, $26, -1
        sltiu   $26, $26, 3             /* 1 Mod, 2 TLBL, 3 TLBS */
        beqz    $26, 1f
        nop
        j       tlb_fast
        nop
1:      mfc0    $26, C0_CAUSE
        ext     $26, $26, 2, 5
        xori    $26, $26, EXC_RI
        beqz    $26, 3f                 /* reserved instruction: rdhwr $29? */
        lui     $26, %hi(l4k_entry_block)
        j       entry_save
        addiu   $26, $26, %lo(l4k_entry_block)
2:      j       irq_fast
        nop
3:      j       ri_fast
        nop

        .org    0x200
vec_interrupt:
        lui     $26, %hi(l4k_entry_block)
        j       entry_save
        addiu   $26, $26, %lo(l4k_entry_block)

/* The preemption gate.  The host switches threads only from inside the
 * kernel; to get there from a CPU it stopped in user mode it points the pc at
 * the kuseg alias of this code (user mode cannot execute kseg0) and
 * continues: the syscall is a kernel entry like any other, with a number (v0)
 * no L4 call uses.  Position independent: it runs at its alias, which the
 * flat mapping covers and, with address spaces, wired TLB entry 0 (global,
 * read-only).  Alone on its page (kernel.ld): user code sees nothing else. */
        .section .text.gate, "ax"
        .global l4k_preempt_gate
l4k_preempt_gate:
        lui     $2, PREEMPT_NUMBER >> 16
        ori     $2, $2, PREEMPT_NUMBER & 0xffff
        syscall
        b       l4k_preempt_gate
        nop

        .text
        .balign 4
/* TLB modified / invalid (TLBL, TLBS) from user mode: an entry for the page
 * exists but did not allow the access.  If the space's table allows it by now
 * (the host mapped or widened the page since), rewrite that entry and go
 * back; otherwise (and in flat mode) it is a page fault for the host. */
tlb_fast:
        lui     $26, %hi(l4k_tlbvars)
        addiu   $26, $26, %lo(l4k_tlbvars)
        sw      $27, TV_K1($26)
        lw      $27, TV_ROOT($26)
        beqz    $27, tlb_slow
        mfc0    $26, C0_BADVADDR
        srl     $26, $26, 22
        sll     $26, $26, 2
        addu    $27, $27, $26
        lw      $27, 0($27)             /* the page table (kseg0) or 0 */
        beqz    $27, tlb_slow
        mfc0    $26, C0_BADVADDR
        srl     $26, $26, 10
        andi    $26, $26, 0xffc
        addu    $27, $27, $26           /* k1 = the page's entry */
        lw      $26, 0($27)
        andi    $26, $26, PTE_V
        beqz    $26, tlb_slow
        mfc0    $26, C0_CAUSE
        ext     $26, $26, 2, 5
        xori    $26, $26, EXC_TLBL
        beqz    $26, 1f                 /* a load or a fetch needs V only */
        nop
        lw      $26, 0($27)
        andi    $26, $26, PTE_D         /* a store needs D too */
        beqz    $26, tlb_slow
        nop
1:      ins     $27, $0, 2, 1           /* the pair's even entry */
        lw      $26, 0($27)
        mtc0    $26, C0_ENTRYLO0
        lw      $26, 4($27)
        mtc0    $26, C0_ENTRYLO1
        ehb
        tlbp                            /* EntryHi: VPN2 and ASID, from the CPU */
        ehb
        mfc0    $26, C0_INDEX
        bltz    $26, 2f
        nop
        tlbwi
        b       3f
        nop
2:      tlbwr
3:      ehb
        lui     $26, %hi(l4k_tlbvars)
        addiu   $26, $26, %lo(l4k_tlbvars)
        lw      $27, TV_K1($26)
        eret
tlb_slow:
        lui     $26, %hi(l4k_entry_block)
        b       entry_save              /* k1 is the kernel's from here on */
        addiu   $26, $26, %lo(l4k_entry_block)

/* Interrupt (from user mode or the idle loop; never from the stub, which runs
 * with EXL set).  The tick (IP7) moves Compare on by one tick (no drift; from
 * Count when it fell behind), which also clears it; while TB_SKIP is non-zero
 * it is absorbed here (back to what was interrupted, k1 kept).  Any other
 * line is masked (TB_IM) until the kernel enables it again (the handler's
 * reply).  Either way a kernel entry of kind 5 says which line (TB_LINE). */
irq_fast:
        lui     $26, %hi(l4k_timer_block)
        addiu   $26, $26, %lo(l4k_timer_block)
        sw      $27, TB_K1($26)
        sw      $8, TB_T0($26)
        sw      $9, TB_T1($26)
        mfc0    $27, C0_CAUSE
        mfc0    $8, C0_STATUS
        and     $27, $27, $8
        andi    $27, $27, 0xff00        /* pending and enabled lines */
        ext     $8, $27, 8 + IRQ_TICK, 1
        beqz    $8, irq_line
        nop
        lw      $9, TB_TICK($26)
        mfc0    $8, C0_COMPARE
        addu    $8, $8, $9
        mtc0    $8, C0_COMPARE          /* also clears the timer interrupt */
        mfc0    $27, C0_COUNT
        subu    $27, $8, $27
        bgtz    $27, 1f                 /* the next tick is still ahead */
        nop
        mfc0    $27, C0_COUNT           /* fell behind: a tick from now */
        addu    $8, $27, $9
        mtc0    $8, C0_COMPARE
1:      mfc0    $8, C0_COUNT            /* keep the 64-bit counter going */
        lw      $9, TB_LAST($26)
        sltu    $9, $8, $9
        sw      $8, TB_LAST($26)
        lw      $27, TB_HI($26)
        addu    $27, $27, $9
        sw      $27, TB_HI($26)
        li      $8, IRQ_TICK
        sw      $8, TB_LINE($26)
        lw      $8, TB_SKIP($26)        /* ticks the kernel does not need to see */
        beqz    $8, irq_entry
        addiu   $8, $8, -1
        sw      $8, TB_SKIP($26)
        lw      $8, TB_T0($26)
        lw      $9, TB_T1($26)
        lw      $27, TB_K1($26)
        eret
irq_line:
        li      $8, IRQ_SPURIOUS
        beqz    $27, 2f
        clz     $9, $27                 /* the highest pending line */
        li      $8, 31 - ST_IM_SHIFT
        subu    $8, $8, $9
        li      $9, IP_I8259
        beq     $8, $9, 2f              /* the i8259 masks its own lines (exc_interrupt) */
        li      $9, 1 << ST_IM_SHIFT
        sllv    $9, $9, $8
        lw      $27, TB_IM($26)
        nor     $9, $9, $0
        and     $27, $27, $9
        sw      $27, TB_IM($26)         /* masked until the kernel enables it */
2:      sw      $8, TB_LINE($26)
irq_entry:
        lw      $8, TB_T0($26)
        lw      $9, TB_T1($26)
        lui     $26, %hi(l4k_entry_block)
        b       entry_save
        addiu   $26, $26, %lo(l4k_entry_block)

/* Reserved instruction.  `rdhwr rt, $29` (UserLocal: the 24Kf has no
 * Config3.ULRI, so it traps) is emulated here without a kernel entry, as
 * Linux does: rt = the running thread's tls (TV_TLS: its set_thread_area
 * value, or the UTCB address of an L4 thread), EPC += 4.  The word at EPC was
 * just fetched, so its page has a TLB entry and the load cannot fault.  In a
 * branch delay slot (Cause.BD) EPC is the branch, the word does not match and,
 * like any other reserved instruction, it goes to the host. */
ri_fast:
        lui     $26, %hi(l4k_tlbvars)
        addiu   $26, $26, %lo(l4k_tlbvars)
        sw      $27, TV_K1($26)
        sw      $1, TV_AT($26)
        mfc0    $27, C0_EPC
        lw      $27, 0($27)             /* the instruction */
        lui     $1, RDHWR_UL >> 16
        ori     $1, $1, RDHWR_UL & 0xffff
        ins     $27, $0, 16, 5          /* rt left out */
        bne     $27, $1, ri_slow
        mfc0    $27, C0_EPC
        lw      $27, 0($27)
        ext     $27, $27, 16, 5         /* rt */
        sll     $27, $27, 3             /* ri_set: 2 instructions per register */
        lui     $1, %hi(ri_set)
        addiu   $1, $1, %lo(ri_set)
        addu    $1, $1, $27
        jr      $1
        lw      $27, TV_TLS($26)        /* the value */
ri_set:
        b       ri_done                 /* rt = zero */
        nop
        b       ri_done                 /* rt = at: ri_done restores it from TV_AT */
        sw      $27, TV_AT($26)
        .irp    n, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25
        b       ri_done
        move    $\n, $27
        .endr
        b       ri_done                 /* rt = k0: the kernel's */
        nop
        b       ri_done                 /* rt = k1: ri_done restores it from TV_K1 */
        sw      $27, TV_K1($26)
        .irp    n, 28, 29, 30, 31
        b       ri_done
        move    $\n, $27
        .endr
ri_done:
        mfc0    $1, C0_EPC
        addiu   $1, $1, 4
        mtc0    $1, C0_EPC
        lw      $1, TV_AT($26)
        lw      $27, TV_K1($26)
        ehb
        eret
ri_slow:
        lw      $1, TV_AT($26)
        lui     $26, %hi(l4k_entry_block)
        b       entry_save              /* k1 is the kernel's from here on */
        addiu   $26, $26, %lo(l4k_entry_block)

/* k0 = l4k_entry_block.  Save r1..r25, r28..r31, lo, hi; k0/k1 are the
 * kernel's (saved as 0), r0 is 0. */
entry_save:
        sw      $1, EB_R(1)($26)
        sw      $2, EB_R(2)($26)
        sw      $3, EB_R(3)($26)
        sw      $4, EB_R(4)($26)
        sw      $5, EB_R(5)($26)
        sw      $6, EB_R(6)($26)
        sw      $7, EB_R(7)($26)
        sw      $8, EB_R(8)($26)
        sw      $9, EB_R(9)($26)
        sw      $10, EB_R(10)($26)
        sw      $11, EB_R(11)($26)
        sw      $12, EB_R(12)($26)
        sw      $13, EB_R(13)($26)
        sw      $14, EB_R(14)($26)
        sw      $15, EB_R(15)($26)
        sw      $16, EB_R(16)($26)
        sw      $17, EB_R(17)($26)
        sw      $18, EB_R(18)($26)
        sw      $19, EB_R(19)($26)
        sw      $20, EB_R(20)($26)
        sw      $21, EB_R(21)($26)
        sw      $22, EB_R(22)($26)
        sw      $23, EB_R(23)($26)
        sw      $24, EB_R(24)($26)
        sw      $25, EB_R(25)($26)
        sw      $28, EB_R(28)($26)
        sw      $29, EB_R(29)($26)
        sw      $30, EB_R(30)($26)
        sw      $31, EB_R(31)($26)
        sw      $0, EB_R(0)($26)
        sw      $0, EB_R(26)($26)
        sw      $0, EB_R(27)($26)
        mflo    $8
        sw      $8, EB_LO($26)
        mfhi    $8
        sw      $8, EB_HI($26)

        mfc0    $8, C0_EPC              /* t0 = EPC */
        mfc0    $9, C0_CAUSE            /* t1 = Cause */
        mfc0    $10, C0_BADVADDR        /* t2 = BadVAddr */
        mfc0    $11, C0_STATUS          /* t3 = Status */
        ins     $11, $0, 1, 1           /* the user's view: EXL clear */
        sw      $11, EB_STATUS($26)
        sw      $9, EB_FSR($26)         /* fsr = Cause, every kind */
        ext     $12, $9, 2, 5           /* t4 = ExcCode */

        li      $13, EXC_SYS
        bne     $12, $13, 1f
        addiu   $13, $12, -1
        bgez    $9, exc_syscall         /* Cause.BD clear */
        nop
        /* a syscall in a branch delay slot: EPC is the branch, so there is no
         * "after the syscall" to resume at; reported as exception 8 instead */
1:      sltiu   $13, $13, 3             /* 1 Mod, 2 TLBL, 3 TLBS */
        bnez    $13, exc_tlb
        nop
        beqz    $12, exc_interrupt
        nop

        /* anything else (address error, reserved instruction, break, ...) */
        li      $14, 2
        sw      $14, EB_KIND($26)
        sw      $12, EB_DETAIL($26)
        sw      $10, EB_FAR($26)
        b       save_utcb
        sw      $8, EB_PC($26)          /* the faulting instruction */

exc_syscall:
        li      $14, 1
        sw      $14, EB_KIND($26)
        sw      $2, EB_DETAIL($26)      /* the number is in v0 */
        sw      $0, EB_FAR($26)
        addiu   $8, $8, 4               /* resume after the syscall */
        b       save_utcb
        sw      $8, EB_PC($26)

exc_tlb:
        li      $14, 4                  /* data access */
        li      $13, EXC_TLBL
        bne     $12, $13, 1f
        nop
        bne     $10, $8, 1f             /* a TLBL at the pc itself: fetch */
        nop
        li      $14, 3
1:      sw      $14, EB_KIND($26)
        sw      $12, EB_DETAIL($26)
        sw      $10, EB_FAR($26)
        b       save_utcb
        sw      $8, EB_PC($26)

exc_interrupt:                          /* irq_fast said which line */
        li      $14, 5
        sw      $14, EB_KIND($26)
        la      $13, l4k_timer_block
        lw      $13, TB_LINE($13)
        li      $14, IP_I8259
        bne     $13, $14, 4f
        /* the i8259s: poll (acknowledges) the master, the slave behind line 2;
         * mask the line, EOI; the interrupt is 16 + the line */
        li      $14, ISA_IO
        li      $15, PIC_POLL
        sb      $15, 0x20($14)
        lbu     $13, 0x20($14)
        andi    $15, $13, 0x80
        beqz    $15, 3f                 /* nothing pending after all */
        andi    $13, $13, 7
        li      $15, 2
        bne     $13, $15, 1f
        li      $15, PIC_POLL
        sb      $15, 0xa0($14)
        lbu     $13, 0xa0($14)
        andi    $15, $13, 0x80
        beqz    $15, 3f
        andi    $13, $13, 7
        addiu   $13, $13, 8
1:      li      $15, 1
        sllv    $15, $15, $13
        lbu     $16, 0x21($14)
        lbu     $17, 0xa1($14)
        sll     $17, $17, 8
        or      $16, $16, $17
        or      $16, $16, $15
        sb      $16, 0x21($14)
        srl     $17, $16, 8
        sb      $17, 0xa1($14)
        li      $15, PIC_EOI
        sltiu   $17, $13, 8
        bnez    $17, 2f
        nop
        sb      $15, 0xa0($14)          /* a slave line: both */
2:      sb      $15, 0x20($14)
        b       4f
        addiu   $13, $13, IRQ_I8259
3:      li      $13, IRQ_SPURIOUS
4:      sw      $13, EB_DETAIL($26)
        sw      $0, EB_FAR($26)
        sw      $8, EB_PC($26)
        /* fall through */

/* Copy the current UTCB after the block so the host gets MRs with the trap.
 * l4k_current_utcb is a user address: flat, it is also physical; with address
 * spaces, the current space's table gives its frame.  Read through kseg0,
 * only when the frame lies inside RAM (and is mapped). */
save_utcb:
        la      $26, l4k_entry_block
        la      $8, l4k_timer_block     /* the 64-bit counter: the guest's clock */
        mfc0    $9, C0_COUNT
        lw      $10, TB_LAST($8)
        lw      $11, TB_HI($8)
        sltu    $10, $9, $10            /* Count wrapped since the last look */
        addu    $11, $11, $10
        sw      $9, TB_LAST($8)
        sw      $11, TB_HI($8)
        sw      $9, EB_COUNTER($26)
        sw      $11, EB_COUNTER + 4($26)
        la      $8, l4k_current_utcb
        lw      $9, 0($8)               /* t1 = the UTCB's user address */
        move    $15, $9                 /* t7 = its physical address */
        la      $8, l4k_tlbvars
        lw      $10, TV_ROOT($8)
        beqz    $10, 3f                 /* flat */
        nop
        bltz    $9, 2f                  /* not a kuseg address */
        srl     $11, $9, 22
        sll     $11, $11, 2
        addu    $10, $10, $11
        lw      $10, 0($10)             /* page table or 0 */
        beqz    $10, 2f
        srl     $11, $9, 10
        andi    $11, $11, 0xffc
        addu    $10, $10, $11
        lw      $10, 0($10)             /* the entry */
        andi    $11, $10, PTE_V
        beqz    $11, 2f
        srl     $10, $10, 6             /* PFN */
        sll     $15, $10, 12
        andi    $11, $9, 0xfff
        or      $15, $15, $11
3:      li      $10, RAM_SIZE - UTCB_WORDS * 4
        sltu    $10, $10, $15           /* outside RAM */
        andi    $11, $15, 3             /* misaligned */
        or      $10, $10, $11
        bnez    $10, 2f                 /* either: no copy */
        nop
        beqz    $9, 2f
        nop
        sw      $9, EB_UTCB($26)
        li      $10, KSEG0
        or      $9, $15, $10
        addiu   $10, $26, EB_UTCB_COPY
        addiu   $11, $9, UTCB_WORDS * 4
1:      lw      $12, 0($9)
        lw      $13, 4($9)
        lw      $14, 8($9)
        lw      $15, 12($9)
        sw      $12, 0($10)
        sw      $13, 4($10)
        sw      $14, 8($10)
        sw      $15, 12($10)
        addiu   $9, $9, 16
        bne     $9, $11, 1b
        addiu   $10, $10, 16
        b       l4k_trap_bp
        nop
2:      sw      $0, EB_UTCB($26)

        .global l4k_trap_bp
l4k_trap_bp:
        nop                             /* the host's breakpoint */

/*
 * Return path.  Also entered directly by the host (continue at l4k_return)
 * after the boot entry; the CPU is in kernel mode with EXL set.
 */
        .global l4k_return
l4k_return:
        la      $26, l4k_exit_block

        /* copy records: dest, nwords, words...; dest is a kseg0 address (the
         * kernel window: every kernel write with address spaces) or, flat, a
         * user address (= physical, written through kseg0).  Stop at a record
         * that would run past the block; skip one whose destination is not
         * word-aligned RAM. */
        lw      $8, XB_NCOPY($26)       /* t0 = records left */
        addiu   $9, $26, XB_RECORDS     /* t1 = record */
        addiu   $10, $26, XB_SIZE       /* t2 = end of the block */
        li      $11, RAM_SIZE           /* t3 */
        li      $24, KSEG0              /* t8 */
copy_record:
        beqz    $8, copy_done
        addiu   $8, $8, -1
        addiu   $12, $9, 8
        sltu    $13, $10, $12
        bnez    $13, copy_done          /* header past the end */
        nop
        lw      $12, 0($9)              /* t4 = dest */
        lw      $13, 4($9)              /* t5 = nwords */
        srl     $14, $12, 29
        xori    $14, $14, 4
        bnez    $14, 5f                 /* not kseg0 */
        nop
        ext     $12, $12, 0, 29         /* kseg0: the physical address */
5:      addiu   $9, $9, 8
        sltiu   $14, $13, XB_SIZE / 4
        beqz    $14, copy_done          /* absurd count */
        sll     $14, $13, 2             /* t6 = bytes */
        addu    $15, $9, $14            /* t7 = next record */
        sltu    $25, $10, $15
        bnez    $25, copy_done          /* data past the end */
        addu    $16, $12, $14           /* s0 = dest end */
        sltu    $25, $11, $16           /* RAM_SIZE < dest end */
        sltu    $17, $16, $12           /* wrapped */
        or      $25, $25, $17
        andi    $17, $12, 3
        or      $25, $25, $17
        bnez    $25, copy_record        /* not ours to write: skip it */
        move    $9, $15
        subu    $9, $15, $14            /* back to the data */
        or      $12, $12, $24           /* kseg0 alias of dest */
1:      beq     $9, $15, copy_record
        nop
        lw      $17, 0($9)
        addiu   $9, $9, 4
        sw      $17, 0($12)
        b       1b
        addiu   $12, $12, 4
copy_done:

        /* Lazy FPU switch (docs/internals.md 3.4): l4k_fpu_next (a copy record
         * sets it) is the FPU save area of the thread we resume, 0 = leave the
         * FPU alone (L4 threads are soft-float); l4k_fpu_loaded the area whose
         * state the registers hold.  Area: f0..f31 (FR = 0: 32 single words),
         * then FCSR.  CU1 is set first: the stub may come from the idle loop. */
        la      $12, l4k_fpu_next
        lw      $8, 0($12)              /* t0 = next */
        lw      $9, 4($12)              /* t1 = loaded */
        beqz    $8, fpu_done
        nop
        beq     $8, $9, fpu_done
        mfc0    $10, C0_STATUS
        lui     $11, ST_CU1 >> 16
        or      $10, $10, $11
        mtc0    $10, C0_STATUS
        ehb
        beqz    $9, 1f
        nop
        .irp    n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
        swc1    $f\n, \n * 4($9)
        .endr
        cfc1    $10, $31
        sw      $10, 128($9)
1:      .irp    n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
        lwc1    $f\n, \n * 4($8)
        .endr
        lw      $10, 128($8)
        ins     $10, $0, FCSR_CAUSE_SHIFT, 6    /* a cause with its enable set would trap */
        ctc1    $10, $31
        sw      $8, 4($12)
fpu_done:
        lw      $8, XB_TLS($26)         /* what rdhwr $29 reads (ri_fast) */
        la      $9, l4k_tlbvars
        sw      $8, TV_TLS($9)
        lw      $8, XB_CUR_UTCB($26)
        la      $9, l4k_current_utcb
        sw      $8, 0($9)
        /* space_root: 0 = unchanged; else a directory's physical address (4 KiB
         * aligned) | the space's ASID, or (no directory) only an ASID. */
        lw      $8, XB_SPACE($26)
        beqz    $8, space_done
        nop
        andi    $10, $8, 0xff           /* t2 = ASID */
        srl     $9, $8, 12
        beqz    $9, set_asid            /* no directory */
        nop
        la      $16, l4k_tlbvars
        lw      $11, TV_PAGED($16)
        bnez    $11, 1f
        nop
        bal     tlb_go_paged            /* first space: the flat mapping goes */
        nop
        li      $11, 1
        sw      $11, TV_PAGED($16)
1:      ins     $8, $0, 0, 12
        li      $11, KSEG0
        or      $8, $8, $11             /* t0 = the directory, kseg0 */
        sw      $8, TV_ROOT($16)
        la      $11, l4k_asid_owner
        sll     $12, $10, 2
        addu    $11, $11, $12           /* t3 = &owner[ASID] */
        lw      $12, 0($11)
        lw      $13, PGD_STALE($8)
        bne     $12, $8, 2f             /* the ASID last ran another directory */
        nop
        beqz    $13, set_asid           /* nor did this space's mappings shrink */
        nop
2:      sw      $8, 0($11)
        sw      $0, PGD_STALE($8)
        bal     tlb_flush_asid
        nop
set_asid:
        mtc0    $10, C0_ENTRYHI         /* VPN2 0, the ASID */
        ehb
space_done:
        /* timer block: start the tick once, apply interrupt mask changes */
        la      $9, l4k_timer_block
        lw      $10, TB_IM($9)
        lw      $8, TB_ARM($9)
        beqz    $8, 1f
        nop
        sw      $0, TB_ARM($9)
        lw      $8, TB_TICK($9)
        mfc0    $11, C0_COUNT
        addu    $8, $8, $11
        mtc0    $8, C0_COMPARE
        ori     $10, $10, 1 << (ST_IM_SHIFT + IRQ_TICK)
1:      lw      $8, TB_OPS($9)
        beqz    $8, 2f
        nop
        sw      $0, TB_OPS($9)
        lw      $8, TB_UNMASK($9)
        sw      $0, TB_UNMASK($9)
        lw      $13, TB_MASK($9)
        sw      $0, TB_MASK($9)
        srl     $12, $8, IRQ_I8259      /* i8259 lines */
        srl     $14, $13, IRQ_I8259
        or      $15, $12, $14
        beqz    $15, 5f                 /* leave the slow ISA bus alone */
        andi    $15, $12, 0xff00
        beqz    $15, 6f
        nop
        ori     $12, $12, 4             /* a slave line needs the cascade (line 2) */
6:      li      $15, ISA_IO
        lbu     $16, 0x21($15)
        lbu     $17, 0xa1($15)
        sll     $17, $17, 8
        or      $16, $16, $17
        nor     $12, $12, $0
        and     $16, $16, $12
        or      $16, $16, $14
        sb      $16, 0x21($15)
        srl     $17, $16, 8
        sb      $17, 0xa1($15)
5:      sll     $8, $8, ST_IM_SHIFT
        or      $10, $10, $8
        sll     $13, $13, ST_IM_SHIFT
        nor     $13, $13, $0
        and     $10, $10, $13
2:      andi    $10, $10, 0xff00
        ori     $10, $10, 1 << (ST_IM_SHIFT + IP_I8259)     /* the i8259s' own masks */
        sw      $10, TB_IM($9)

        la      $9, l4k_entry_block
        li      $8, -1
        sw      $8, EB_KIND($9)         /* "not in the kernel" marker for the host */

        lw      $8, XB_PC($26)
        la      $11, l4k_idle
        bne     $8, $11, 3f
        nop
        ori     $10, $10, ST_IE         /* idle: kernel mode, EXL clear, interrupts on */
        mtc0    $10, C0_STATUS
        ehb
        b       l4k_idle
        nop
3:      mtc0    $8, C0_EPC
        ori     $8, $10, USER_STATUS | ST_IE    /* nothing of the block's status word */
        lui     $11, ST_CU1 >> 16               /* reaches Status; IE acts after eret; */
        or      $8, $8, $11                     /* the FPU for Linux hard-float code */
        mtc0    $8, C0_STATUS
        lw      $8, XB_LO($26)
        mtlo    $8
        lw      $8, XB_HI($26)
        mthi    $8
        ehb

        lw      $1, XB_R(1)($26)
        lw      $2, XB_R(2)($26)
        lw      $3, XB_R(3)($26)
        lw      $4, XB_R(4)($26)
        lw      $5, XB_R(5)($26)
        lw      $6, XB_R(6)($26)
        lw      $7, XB_R(7)($26)
        lw      $8, XB_R(8)($26)
        lw      $9, XB_R(9)($26)
        lw      $10, XB_R(10)($26)
        lw      $11, XB_R(11)($26)
        lw      $12, XB_R(12)($26)
        lw      $13, XB_R(13)($26)
        lw      $14, XB_R(14)($26)
        lw      $15, XB_R(15)($26)
        lw      $16, XB_R(16)($26)
        lw      $17, XB_R(17)($26)
        lw      $18, XB_R(18)($26)
        lw      $19, XB_R(19)($26)
        lw      $20, XB_R(20)($26)
        lw      $21, XB_R(21)($26)
        lw      $22, XB_R(22)($26)
        lw      $23, XB_R(23)($26)
        lw      $24, XB_R(24)($26)
        lw      $25, XB_R(25)($26)
        lw      $28, XB_R(28)($26)
        lw      $29, XB_R(29)($26)
        lw      $30, XB_R(30)($26)
        lw      $31, XB_R(31)($26)
        lw      $27, XB_TLS($26)        /* k1: the user's UTCB pointer */
        eret

/* Idle: the kernel has nothing to run.  Wait for an interrupt in kernel mode
 * with interrupts on (QEMU's vCPU sleeps in `wait`; the host sleeps in its wait
 * for the stop); the interrupt is an entry like any other. */
        .global l4k_idle
l4k_idle:
        wait
        b       l4k_idle
        nop

/* Invalidate the TLB entries of ASID t2 ($10) above the wired ones.  Uses
 * t4..t6, s1 ($12..$14, $17) and ra; leaves EntryHi and PageMask clobbered
 * (PageMask 0). */
tlb_flush_asid:
        mfc0    $12, C0_WIRED
        mfc0    $13, $16, 1             /* Config1 */
        ext     $13, $13, 25, 6         /* MMUSize - 1 */
        addiu   $13, $13, 1
        li      $17, KSEG0
1:      beq     $12, $13, 3f
        nop
        mtc0    $12, C0_INDEX
        ehb
        tlbr
        ehb
        mfc0    $14, C0_ENTRYHI
        andi    $14, $14, 0xff
        bne     $14, $10, 2f
        nop
        sll     $14, $12, 13            /* distinct kseg0 VPN2s never match */
        addu    $14, $14, $17
        mtc0    $14, C0_ENTRYHI
        mtc0    $0, C0_ENTRYLO0
        mtc0    $0, C0_ENTRYLO1
        ehb
        tlbwi
2:      b       1b
        addiu   $12, $12, 1
3:      mtc0    $0, C0_PAGEMASK
        jr      $31
        nop

/* Leave flat mode: invalidate every entry, then wire entry 0 to the gate's
 * page (VA = PA = GATE_PAGE, global, read-only; the odd half invalid), and
 * only it: the device page is no longer wired.  Uses t4..t6, s1 and ra. */
tlb_go_paged:
        mtc0    $0, C0_WIRED
        mtc0    $0, C0_PAGEMASK
        mtc0    $0, C0_ENTRYLO0
        mtc0    $0, C0_ENTRYLO1
        mfc0    $13, $16, 1             /* Config1 */
        ext     $13, $13, 25, 6
        addiu   $13, $13, 1
        li      $17, KSEG0
        move    $12, $0
1:      mtc0    $12, C0_INDEX
        sll     $14, $12, 13
        addu    $14, $14, $17
        mtc0    $14, C0_ENTRYHI
        ehb
        tlbwi
        addiu   $12, $12, 1
        bne     $12, $13, 1b
        nop
        li      $12, 1
        mtc0    $12, C0_WIRED
        mtc0    $0, C0_INDEX
        li      $12, GATE_PAGE
        mtc0    $12, C0_ENTRYHI
        li      $12, GATE_ENTRYLO
        mtc0    $12, C0_ENTRYLO0
        li      $12, 1                  /* G only: both halves must say global */
        mtc0    $12, C0_ENTRYLO1
        ehb
        tlbwi
        jr      $31                     /* no device page: it is a driver's (sigma0) */
        nop

/* Wire TLB entry t4 ($12) to the device pair and make it the last wired one
 * (flat mode only).
 * Uses t4 and ra. */
tlb_wire_device:
        mtc0    $12, C0_INDEX
        addiu   $12, $12, 1
        mtc0    $12, C0_WIRED
        mtc0    $0, C0_PAGEMASK
        li      $12, DEVICE_PAIR
        mtc0    $12, C0_ENTRYHI
        li      $12, DEVICE_ENTRYLO
        mtc0    $12, C0_ENTRYLO0
        li      $12, 1                  /* the odd half: invalid, global */
        mtc0    $12, C0_ENTRYLO1
        ehb
        tlbwi
        jr      $31
        nop

/* Boot: Status, exception base, TLB (kuseg 1:1 onto RAM), bss, then a kind-0
 * entry.  QEMU Malta's boot loader jumps here in kseg0 with ERL and BEV set. */
        .global _start
_start:
        li      $8, ST_EXL | ST_CU1     /* kernel mode, EXL, BEV = ERL = IE = 0, FPU on */
        mtc0    $8, C0_STATUS
        mtc0    $0, C0_CAUSE            /* IV = 0: interrupts use +0x180 */
        mfc0    $8, C0_COUNT            /* the tick stays off (IM7 clear) until armed */
        addiu   $8, $8, -1
        mtc0    $8, C0_COMPARE
        li      $8, KSEG0
        mtc0    $8, $15, 1              /* EBase */
        ehb

        /* Invalidate every TLB entry: distinct kseg0 VPN2s never match. */
        mfc0    $8, $16, 1              /* Config1 */
        ext     $9, $8, 25, 6           /* MMUSize - 1 */
        addiu   $9, $9, 1
        mtc0    $0, C0_WIRED
        mtc0    $0, C0_PAGEMASK
        mtc0    $0, C0_ENTRYLO0
        mtc0    $0, C0_ENTRYLO1
        move    $10, $0
        li      $11, KSEG0
1:      mtc0    $10, C0_INDEX
        sll     $12, $10, 13
        addu    $12, $12, $11
        mtc0    $12, C0_ENTRYHI
        ehb
        tlbwi
        addiu   $10, $10, 1
        bne     $10, $9, 1b
        nop

        /* Wired entries 0..3: VA i*32 MiB -> PA same, two 16 MiB pages,
         * global (any ASID), cacheable, dirty (writable), valid. */
        li      $8, WIRED
        mtc0    $8, C0_WIRED
        li      $8, PAGEMASK_16M
        mtc0    $8, C0_PAGEMASK
        move    $10, $0
2:      mtc0    $10, C0_INDEX
        sll     $12, $10, 25            /* VA = PA of the pair */
        mtc0    $12, C0_ENTRYHI
        srl     $13, $12, 12            /* PFN */
        sll     $13, $13, 6
        ori     $13, $13, ENTRYLO_FLAGS
        mtc0    $13, C0_ENTRYLO0
        lui     $14, 4                  /* + 16 MiB: (PFN + 0x1000) << 6 */
        addu    $13, $13, $14
        mtc0    $13, C0_ENTRYLO1
        ehb
        tlbwi
        addiu   $10, $10, 1
        li      $8, WIRED
        bne     $10, $8, 2b
        nop
        mtc0    $0, C0_PAGEMASK
        li      $12, WIRED
        bal     tlb_wire_device         /* entry 4: the ISA I/O page */
        nop
        mtc0    $0, C0_ENTRYHI          /* ASID 0 */
        ehb

        /* The i8259s (IP2): initialised, every line masked (the kernel enables
         * lines of associated interrupts), answered by polling. */
        li      $14, ISA_IO
        /* i8254 channel 0 (a driver's one-shot): mode 0 with a count of 1, so its
         * output rises once now and stays high (no edge until a driver loads a
         * count); wait for it, so that the i8259 init below forgets the edge. */
        li      $15, 0x30               /* channel 0, low then high byte, mode 0 */
        sb      $15, 0x43($14)
        li      $15, 1
        sb      $15, 0x40($14)
        sb      $0, 0x40($14)
1:      li      $15, 0xe2               /* read-back: channel 0's status */
        sb      $15, 0x43($14)
        lbu     $15, 0x40($14)
        andi    $15, $15, 0x80          /* OUT */
        beqz    $15, 1b
        nop
        li      $15, 0x11               /* ICW1: edge, cascade, ICW4 (clears the IRR) */
        sb      $15, 0x20($14)
        sb      $15, 0xa0($14)
        sb      $0, 0x21($14)           /* ICW2: vector bases (unused: polled) */
        li      $15, 8
        sb      $15, 0xa1($14)
        li      $15, 4                  /* ICW3: the slave on line 2 */
        sb      $15, 0x21($14)
        li      $15, 2
        sb      $15, 0xa1($14)
        li      $15, 1                  /* ICW4: 8086 mode */
        sb      $15, 0x21($14)
        sb      $15, 0xa1($14)
        li      $15, 0xff
        sb      $15, 0x21($14)
        sb      $15, 0xa1($14)

        la      $8, __bss_start         /* QEMU zero-fills, but do not rely on it */
        la      $9, __bss_end
3:      beq     $8, $9, 4f
        nop
        sw      $0, 0($8)
        b       3b
        addiu   $8, $8, 4
4:
        b       save_utcb               /* entry block is zero: kind 0 (boot) */
        nop

/* Kernel data: plain RAM the host reads and writes through the gdbstub. */
        .section .bss.l4k_blocks, "aw", @nobits
        .balign 64
        .global l4k_entry_block
l4k_entry_block:
        .space  (48 + UTCB_WORDS) * 4
        .size   l4k_entry_block, . - l4k_entry_block
        .balign 64
        .global l4k_exit_block
l4k_exit_block:
        .space  XB_SIZE
        .size   l4k_exit_block, . - l4k_exit_block
        .global l4k_current_utcb
l4k_current_utcb:
        .space  4
        .size   l4k_current_utcb, 4
        .balign 16
        .global l4k_tlbvars
l4k_tlbvars:                            /* TV_K1, TV_ROOT, TV_PAGED, TV_TLS, TV_AT */
        .space  32
        .size   l4k_tlbvars, 32
        .global l4k_fpu_next            /* the host: a copy record when it changes */
l4k_fpu_next:
        .space  4
        .size   l4k_fpu_next, 4
        .global l4k_fpu_loaded          /* the next word: l4k_fpu_next + 4 */
l4k_fpu_loaded:
        .space  4
        .size   l4k_fpu_loaded, 4
        .balign 64
        .global l4k_timer_block
l4k_timer_block:                        /* host writes; the return path applies */
        .space  64
        .size   l4k_timer_block, 64
        .global l4k_asid_owner
l4k_asid_owner:                         /* per ASID: the directory it last ran (kseg0) */
        .space  256 * 4
        .size   l4k_asid_owner, . - l4k_asid_owner
