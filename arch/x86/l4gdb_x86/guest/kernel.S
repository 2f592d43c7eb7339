/*
 * l4gdb i386 kernel stub (QEMU pc, multiboot v1, protected mode, paging on).
 *
 * This is not a kernel: every IDT vector saves the user context into
 * l4k_entry_block and stops at l4k_trap_bp, where the Python host runs the
 * L4 semantics.  The host then writes l4k_exit_block and continues into
 * l4k_return, which loads that block and irets to ring 3.
 * Layouts: docs/internals.md section 3 and its "x86" part of section 4.
 *
 * Vectors: 0..31 CPU exceptions (14 = page fault), 32..47 the two 8259 PICs
 * (remapped, all lines masked), 48..127 unused, 128..255 system calls
 * (`int $0x80+N` = call N, gates with DPL 3; 3 = int3 and 4 = into are DPL 3
 * too).  Interrupt gates: IF is clear in the kernel.
 *
 * Memory (l4gdb_x86/pagetables.py builds the per-space tables): 2-level 32-bit
 * paging, CR4.PSE for the 4 MiB pages of the kernel window, CR0.WP clear (the
 * kernel may write user read-only pages).  _start builds the boot page
 * directory -- 0..128 MiB 1:1 for everybody (the flat world, kept while the
 * exit block's space_root is 0) and the kernel window: all RAM at 0xC0000000 +
 * physical, supervisor only -- and turns paging on before the first kernel
 * entry.  Every space's directory has the same window and maps this image at
 * its link address, supervisor only except its first two pages (user read
 * only: the preemption gate and the %gs UTCB-pointer slot), so nothing here
 * changes address when CR3 changes.
 */
        .code32

/* selectors (GDT below) */
#define KCODE    0x08
#define KDATA    0x10
#define UCODE    0x1b
#define UDATA    0x23
#define TSS_SEL  0x28
#define UTCB_SEL 0x33

/* entry block: kind, detail, far, fsr, then the 16 registers in the order of
 * USER_REGS (QEMU's i386 `g` order), the UTCB address, the UTCB copy */
#define EB_KIND   0
#define EB_DETAIL 4
#define EB_FAR    8
#define EB_FSR    12
#define EB_EAX    (4*4)
#define EB_ECX    (5*4)
#define EB_EDX    (6*4)
#define EB_EBX    (7*4)
#define EB_ESP    (8*4)
#define EB_EBP    (9*4)
#define EB_ESI    (10*4)
#define EB_EDI    (11*4)
#define EB_EIP    (12*4)
#define EB_EFLAGS (13*4)
#define EB_CS     (14*4)
#define EB_SS     (15*4)
#define EB_DS     (16*4)
#define EB_ES     (17*4)
#define EB_FS     (18*4)
#define EB_GS     (19*4)
#define EB_UTCB   (20*4)
#define EB_COUNTER (22*4)               /* PIT input clocks since the tick started (64 bits) */
#define EB_UTCB_COPY (24*4)
#define EB_SIZE   ((24 + UTCB_WORDS) * 4)
/* exit block: the 16 registers, tls, current_utcb, space_root, ncopy, records */
#define XB_EAX    (0*4)
#define XB_ECX    (1*4)
#define XB_EDX    (2*4)
#define XB_EBX    (3*4)
#define XB_ESP    (4*4)
#define XB_EBP    (5*4)
#define XB_ESI    (6*4)
#define XB_EDI    (7*4)
#define XB_EIP    (8*4)
#define XB_EFLAGS (9*4)
#define XB_TLS    (16*4)
#define XB_CUR_UTCB (17*4)
#define XB_ROOT   (18*4)
#define XB_NCOPY  (19*4)
#define XB_RECORDS (20*4)
#define XB_SIZE   1536
#define UTCB_WORDS 128
#define STACK_SIZE 1024

/* what user mode may hold in eflags: CF PF AF ZF SF DF OF; IF is always set,
 * IOPL/NT/VM/TF/RF/AC clear (the host sanitises the same way) */
#define FLAGS_USER_MASK 0x00000cd5
#define FLAGS_USER_SET  0x00000202

#define KIND_BOOT      0
#define KIND_SYSCALL   1
#define KIND_EXCEPTION 2
#define KIND_PAGEFAULT 4
#define KIND_IRQ       5

#define PF_FETCH       0x10             /* error code I/D bit (only set by QEMU with NX or SMEP) */

#define RAM_MB       128
#define WINDOW_PDE   0x300                  /* 0xC0000000 >> 22 */
#define PDE_FLAT     0x87                   /* 4 MiB page, present, writable, user */
#define PDE_WINDOW   0x83                   /* 4 MiB page, present, writable, supervisor */
#define CR0_PG       0x80000000
#define CR0_MP       0x02
#define CR0_EM       0x04
#define CR0_TS       0x08
#define CR0_NE       0x20
#define CR4_PSE      0x10
#define CR4_OSFXSR   0x200
#define CR4_OSXMMEXCPT 0x400

#define EB l4k_entry_block
#define XB l4k_exit_block
#define TB l4k_timer_block

/* The guest timer: PIT channel 0 (rate generator) on 8259 line 0, vector 32.
 * timer block (l4k_timer_block) byte offsets: l4gdb/archkit/guesttimer.py */
#define TB_TICK    0                    /* PIT reload: input clocks per tick */
#define TB_ARM     4                    /* non-zero: start the tick on the way out */
#define TB_FREQ    8                    /* PIT input clock (Hz), stored at boot */
#define TB_OPS     12                   /* non-zero: apply UNMASK/MASK to the 8259s */
#define TB_UNMASK  16                   /* lines to enable (bit n: line n) */
#define TB_MASK    24                   /* lines to disable */
#define TB_SKIP    32                   /* ticks to absorb without a kernel entry */
#define TB_RUNNING 36                   /* the tick runs: the counter means something */
#define TB_BASE    40                   /* input clocks at the last tick (64 bits) */
#define PIT_HZ     1193182
#define IRQ_VECTOR 32                   /* 8259 line 0 (the tick); 32..47 lines 0..15 */
#define PIC_EOI    0x20

/* Multiboot v1 header: flags 0, so QEMU loads the ELF segments themselves.
 * It opens the image's first page, the user text page (kernel.ld). */
        .section .multiboot, "ax"
        .balign 4
        .long   0x1badb002
        .long   0
        .long   -0x1badb002

/* Preemption gate (on the user text page: every space maps it user read/
   execute).  The host stopped a thread in ring 3 and must enter the kernel to
   switch threads: it points eip here; the int is a kernel entry like any
   other, with a number no L4 call uses (0xff - 0x80 = 127). */
        .global l4k_preempt_gate
        .balign 4
l4k_preempt_gate:
        int     $0xff
        jmp     l4k_preempt_gate

/* The user data page (user read only in every space): what %gs:0 reads. */
        .section .l4k_user_data, "aw"
        .balign 4
        .global l4k_user_tls
l4k_user_tls:                           /* %gs:0 in user mode: the UTCB address */
        .long   0
        .size   l4k_user_tls, 4

        .text
        .global l4k_kernel_start
l4k_kernel_start:

/*
 * One 16-byte stub per vector at l4k_vector_stubs + 16 * vector: push a zero
 * error code when the CPU does not push one, push the vector, join the
 * common path.
 */
        .balign 16
        .global l4k_vector_stubs
l4k_vector_stubs:
        .set    vec, 0
        .rept   256
        .balign 16
        .if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
        pushl   $0
        .endif
        pushl   $vec
        jmp     entry_common
        .set    vec, vec + 1
        .endr

/*
 * Stack here: vector, error code, eip, cs, eflags and, from ring 3, esp, ss
 * (on the TSS's ring-0 stack).  %ss is the kernel's data segment whatever
 * the user left in %ds, so the first stores go through %ss.
 */
entry_common:
        cmpl    $IRQ_VECTOR, (%esp)
        je      tick_fast
entry_save:
        movl    %eax, %ss:EB + EB_EAX
        movl    %ecx, %ss:EB + EB_ECX
        movl    %edx, %ss:EB + EB_EDX
        movl    %ebx, %ss:EB + EB_EBX
        movl    %ebp, %ss:EB + EB_EBP
        movl    %esi, %ss:EB + EB_ESI
        movl    %edi, %ss:EB + EB_EDI
        xorl    %eax, %eax
        movw    %ds, %ax
        movl    %eax, %ss:EB + EB_DS
        movw    %es, %ax
        movl    %eax, %ss:EB + EB_ES
        movw    %fs, %ax
        movl    %eax, %ss:EB + EB_FS
        movw    %gs, %ax
        movl    %eax, %ss:EB + EB_GS
        movl    $KDATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        cld

        popl    %eax                    /* vector */
        popl    %edx                    /* error code (0 when the CPU pushes none) */
        popl    %ecx
        movl    %ecx, EB + EB_EIP
        popl    %ecx
        movl    %ecx, EB + EB_CS
        popl    %ebx
        movl    %ebx, EB + EB_EFLAGS
        testl   $3, %ecx
        jz      1f
        popl    %ecx                    /* from ring 3: the user stack */
        movl    %ecx, EB + EB_ESP
        popl    %ecx
        movl    %ecx, EB + EB_SS
        jmp     2f
1:      movl    %esp, EB + EB_ESP       /* from ring 0 (a kernel fault): no stack switch */
        xorl    %ecx, %ecx
        movw    %ss, %cx
        movl    %ecx, EB + EB_SS
2:
        /* kind, detail, far, fsr from the vector (eax) and error code (edx) */
        movl    %edx, EB + EB_FSR
        movl    $0, EB + EB_FAR
        cmpl    $0x80, %eax
        jae     3f
        cmpl    $14, %eax
        je      4f
        cmpl    $32, %eax
        jb      5f
        cmpl    $48, %eax
        jb      6f
5:      movl    $KIND_EXCEPTION, EB + EB_KIND   /* detail = vector */
        movl    %eax, EB + EB_DETAIL
        jmp     save_utcb
3:      subl    $0x80, %eax             /* int $0x80+N: system call N */
        movl    $KIND_SYSCALL, EB + EB_KIND
        movl    %eax, EB + EB_DETAIL
        movl    $0, EB + EB_FSR
        jmp     save_utcb
4:      movl    %cr2, %ecx              /* page fault: far = CR2, fsr = error code */
        movl    %ecx, EB + EB_FAR
        /* Without NX the CPU does not tell fetches (I/D) apart: a fault at eip,
         * or on the page an instruction at most 15 bytes before it runs into,
         * is an instruction fetch. */
        movl    %ecx, %ebx
        subl    EB + EB_EIP, %ebx
        jz      7f
        cmpl    $15, %ebx
        ja      8f
        testl   $0xfff, %ecx
        jnz     8f
7:      orl     $PF_FETCH, EB + EB_FSR
8:
        movl    $KIND_PAGEFAULT, EB + EB_KIND
        movl    %eax, EB + EB_DETAIL
        jmp     save_utcb
6:      subl    $32, %eax               /* PIC line: masked until the kernel enables it */
        movl    $KIND_IRQ, EB + EB_KIND
        movl    %eax, EB + EB_DETAIL
        testl   %eax, %eax
        jz      save_utcb               /* the tick: tick_fast sent its EOI */
        movl    %eax, %ecx
        movl    $1, %edx
        shll    %cl, %edx               /* the line's bit (of 16) */
        inb     $0x21, %al
        movb    %al, %cl
        inb     $0xa1, %al
        movb    %al, %ch
        orl     %edx, %ecx
        movb    %cl, %al
        outb    %al, $0x21
        movb    %ch, %al
        outb    %al, $0xa1
        movb    $PIC_EOI, %al
        testl   $0xff00, %edx
        jz      9f
        outb    %al, $0xa0              /* slave line: both PICs */
9:      outb    %al, $0x20
        /* fall through */

/* Copy the current UTCB after the block so the host gets MRs with the trap;
 * the guest's clock first: PIT input clocks since the tick started (the base
 * the ticks add up, plus what the counter says of this period, plus a period
 * when a tick is pending, not yet taken). */
save_utcb:
        xorl    %eax, %eax
        xorl    %edx, %edx
        cmpl    $0, TB + TB_RUNNING
        je      2f
        movl    TB + TB_TICK, %edi
        movb    $0x00, %al              /* latch channel 0 */
        outb    %al, $0x43
        inb     $0x40, %al
        movb    %al, %cl
        inb     $0x40, %al
        movb    %al, %ch
        movzwl  %cx, %ecx
        subl    %ecx, %edi              /* clocks into this period */
        movb    $0x0a, %al              /* OCW3: read the IRR */
        outb    %al, $0x20
        inb     $0x20, %al
        testb   $1, %al
        jz      1f
        addl    TB + TB_TICK, %edi
1:      movl    TB + TB_BASE, %eax
        movl    TB + TB_BASE + 4, %edx
        addl    %edi, %eax
        adcl    $0, %edx
2:      movl    %eax, EB + EB_COUNTER
        movl    %edx, EB + EB_COUNTER + 4
        movl    l4k_current_utcb, %esi
        movl    %esi, EB + EB_UTCB
        testl   %esi, %esi
        jz      l4k_trap_bp
        movl    $EB + EB_UTCB_COPY, %edi
        movl    $UTCB_WORDS, %ecx
        rep movsl

        .global l4k_trap_bp
l4k_trap_bp:
        nop                             /* the host's breakpoint */

/*
 * Return path.  Also entered directly by the host (eip = l4k_return, ring 0)
 * with `cADDR`, to leave the breakpoint.
 */
        .global l4k_return
l4k_return:
        cli
        cld
        movl    $KDATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    $l4k_stack_top, %esp
        movl    $XB, %ebx

        /* copy records: dest, nwords, words...; stop at a record that would
         * run past the block so a bad count cannot run away */
        movl    XB_NCOPY(%ebx), %edx
        leal    XB_RECORDS(%ebx), %esi
        leal    XB_SIZE(%ebx), %ebp     /* end of the block */
copy_record:
        testl   %edx, %edx
        jz      copy_done
        decl    %edx
        movl    %ebp, %eax
        subl    %esi, %eax
        cmpl    $8, %eax
        jb      copy_done
        movl    (%esi), %edi            /* dest */
        movl    4(%esi), %ecx           /* nwords */
        addl    $8, %esi
        subl    $8, %eax
        shrl    $2, %eax                /* words left in the block */
        cmpl    %eax, %ecx
        ja      copy_done
        rep movsl
        jmp     copy_record
copy_done:

        /* Lazy FPU switch (docs/internals.md 3.4): l4k_fpu_next (a copy record
         * sets it) is the fxsave area (512 bytes, 16-byte aligned) of the thread
         * we resume, 0 = leave the FPU alone (L4 threads use none);
         * l4k_fpu_loaded the area whose state the registers hold. An area whose
         * FCW is 0 is fresh (zeroed memory: never a state fxsave writes, FNINIT
         * leaves 0x37f) and starts from the boot state l4k_fpu_init. */
        movl    l4k_fpu_next, %eax
        testl   %eax, %eax
        jz      fpu_done
        movl    l4k_fpu_loaded, %ecx
        cmpl    %eax, %ecx
        je      fpu_done
        testl   %ecx, %ecx
        jz      1f
        fxsave  (%ecx)
1:      cmpw    $0, (%eax)
        jne     2f
        fxrstor l4k_fpu_init
        jmp     3f
2:      fxrstor (%eax)
3:      movl    %eax, l4k_fpu_loaded
fpu_done:
        movl    XB_TLS(%ebx), %eax
        movl    %eax, l4k_user_tls      /* what %gs:0 reads in user mode */
        movl    XB_CUR_UTCB(%ebx), %eax
        movl    %eax, l4k_current_utcb
        movl    XB_ROOT(%ebx), %eax
        testl   %eax, %eax
        jz      1f
        movl    %eax, %cr3              /* the next thread's space (flushes the TLB) */
1:
        /* timer block: start the tick once, apply 8259 mask changes */
        cmpl    $0, TB + TB_ARM
        je      2f
        movl    $0, TB + TB_ARM
        movb    $0x34, %al              /* channel 0, lo/hi byte, mode 2 (rate generator) */
        outb    %al, $0x43
        movl    TB + TB_TICK, %eax
        outb    %al, $0x40
        movb    %ah, %al
        outb    %al, $0x40
        movl    $0, TB + TB_BASE
        movl    $0, TB + TB_BASE + 4
        movl    $1, TB + TB_RUNNING
        inb     $0x21, %al
        andb    $0xfe, %al              /* line 0 */
        outb    %al, $0x21
2:      cmpl    $0, TB + TB_OPS
        je      3f
        movl    $0, TB + TB_OPS
        movl    TB + TB_UNMASK, %edx
        testl   $0xff00, %edx
        jz      4f
        orl     $4, %edx                /* a slave line needs the cascade (line 2) */
4:      inb     $0x21, %al
        movb    %al, %cl
        inb     $0xa1, %al
        movb    %al, %ch
        notl    %edx
        andl    %edx, %ecx
        orl     TB + TB_MASK, %ecx
        movb    %cl, %al
        outb    %al, $0x21
        movb    %ch, %al
        outb    %al, $0xa1
        movl    $0, TB + TB_UNMASK
        movl    $0, TB + TB_MASK
3:
        movl    $0xffffffff, EB + EB_KIND   /* "not in the kernel" marker for the host */
        cmpl    $l4k_idle, XB_EIP(%ebx)
        je      l4k_idle

        /* iret frame: ss, esp, eflags, cs, eip */
        pushl   $UDATA
        pushl   XB_ESP(%ebx)
        movl    XB_EFLAGS(%ebx), %eax
        andl    $FLAGS_USER_MASK, %eax
        orl     $FLAGS_USER_SET, %eax
        pushl   %eax
        pushl   $UCODE
        pushl   XB_EIP(%ebx)

        movl    $UDATA, %eax            /* flat user data: the same addresses */
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %fs
        movl    $UTCB_SEL, %eax
        movl    %eax, %gs
        movl    XB_EAX(%ebx), %eax
        movl    XB_ECX(%ebx), %ecx
        movl    XB_EDX(%ebx), %edx
        movl    XB_EBP(%ebx), %ebp
        movl    XB_ESI(%ebx), %esi
        movl    XB_EDI(%ebx), %edi
        movl    XB_EBX(%ebx), %ebx
        iret

/* Idle: the kernel has nothing to run.  Wait for an interrupt in ring 0 with
 * interrupts on (QEMU's vCPU sleeps in hlt; the host sleeps in its wait for
 * the stop); the interrupt is an entry like any other. */
        .global l4k_idle
l4k_idle:
        sti
1:      hlt
        jmp     1b

/* The tick (vector 32), from user mode or the idle loop: EOI, the period
 * joins the counter's base; while TB_SKIP is non-zero it is absorbed here
 * (iret to what was interrupted), else it is a kernel entry of kind 5, line 0.
 * Only the CPU's frame is on the stack; %ss is the kernel's. */
tick_fast:
        pushl   %eax
        movb    $PIC_EOI, %al
        outb    %al, $0x20
        movl    %ss:TB + TB_TICK, %eax
        addl    %eax, %ss:TB + TB_BASE
        adcl    $0, %ss:TB + TB_BASE + 4
        cmpl    $0, %ss:TB + TB_SKIP
        je      1f
        decl    %ss:TB + TB_SKIP
        popl    %eax
        addl    $8, %esp                /* vector, error code */
        iret
1:      popl    %eax
        jmp     entry_save

/* Multiboot entry: protected mode, paging off, interrupts off, flat segments
 * of the loader's GDT. */
        .global _start
_start:
        cli
        cld
        lgdt    gdt_desc
        ljmp    $KCODE, $1f
1:      movl    $KDATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs
        movl    $l4k_stack_top, %esp

        movl    $__bss_start, %edi      /* QEMU zero-fills, but do not rely on it */
        movl    $__bss_end, %ecx
        subl    %edi, %ecx
        shrl    $2, %ecx
        xorl    %eax, %eax
        rep stosl

        /* descriptor bases known only at link time: the TSS and the UTCB
         * pointer slot %gs points at */
        movl    $l4k_tss, %eax
        movw    %ax, gdt + TSS_SEL + 2
        shrl    $16, %eax
        movb    %al, gdt + TSS_SEL + 4
        movb    %ah, gdt + TSS_SEL + 7
        movl    $l4k_user_tls, %eax
        movw    %ax, gdt + (UTCB_SEL & ~7) + 2
        shrl    $16, %eax
        movb    %al, gdt + (UTCB_SEL & ~7) + 4
        movb    %ah, gdt + (UTCB_SEL & ~7) + 7
        movl    $TSS_SEL, %eax
        ltr     %ax

        /* IDT: 256 interrupt gates to the stubs */
        xorl    %ecx, %ecx
2:      movl    %ecx, %eax
        shll    $4, %eax
        addl    $l4k_vector_stubs, %eax
        leal    l4k_idt(,%ecx,8), %edi
        movw    %ax, (%edi)
        movw    $KCODE, 2(%edi)
        movb    $0, 4(%edi)
        movb    $0x8e, 5(%edi)          /* present, DPL 0, 32-bit interrupt gate */
        cmpl    $0x80, %ecx
        jae     3f
        cmpl    $3, %ecx
        je      3f
        cmpl    $4, %ecx
        jne     4f
3:      movb    $0xee, 5(%edi)          /* DPL 3: reachable with int from user mode */
4:      shrl    $16, %eax
        movw    %ax, 6(%edi)
        incl    %ecx
        cmpl    $256, %ecx
        jb      2b
        lidt    idt_desc

        /* 8259 PICs: remap to vectors 32..47 (the BIOS left them on top of
         * the CPU exceptions) and mask every line */
        movb    $0x11, %al
        outb    %al, $0x20
        outb    %al, $0xa0
        movb    $32, %al
        outb    %al, $0x21
        movb    $40, %al
        outb    %al, $0xa1
        movb    $4, %al
        outb    %al, $0x21
        movb    $2, %al
        outb    %al, $0xa1
        movb    $1, %al
        outb    %al, $0x21
        outb    %al, $0xa1
        movb    $0xff, %al
        outb    %al, $0x21
        outb    %al, $0xa1
        movl    $PIT_HZ, TB + TB_FREQ   /* for the host (the tick starts when armed) */

        /* boot page directory: 0..128 MiB 1:1 for everybody (the flat world),
         * the kernel window at 0xC0000000, supervisor only; then paging on */
        movl    $l4k_boot_pd, %edi
        movl    $PDE_FLAT, %eax
        movl    $RAM_MB / 4, %ecx
5:      movl    %eax, (%edi)
        movl    %eax, %edx
        andl    $~0xfff, %edx
        orl     $PDE_WINDOW, %edx
        movl    %edx, WINDOW_PDE * 4(%edi)
        addl    $0x400000, %eax
        addl    $4, %edi
        decl    %ecx
        jnz     5b
        movl    %cr4, %eax
        orl     $CR4_PSE, %eax
        movl    %eax, %cr4
        movl    $l4k_boot_pd, %eax
        movl    %eax, %cr3
        movl    %cr0, %eax
        orl     $CR0_PG, %eax
        movl    %eax, %cr0
        jmp     6f                      /* identity-mapped: nothing moves */
6:
        /* x87/SSE for user mode (Linux i386 programs): CR0.MP and NE, EM and TS
         * clear (no #NM: the switch is eager in the return path), CR4.OSFXSR and
         * OSXMMEXCPT; the FNINIT state (MXCSR at its reset value 0x1f80) is what
         * a fresh save area starts from */
        movl    %cr0, %eax
        andl    $~(CR0_EM | CR0_TS), %eax
        orl     $(CR0_MP | CR0_NE), %eax
        movl    %eax, %cr0
        movl    %cr4, %eax
        orl     $(CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
        movl    %eax, %cr4
        fninit
        fxsave  l4k_fpu_init
        jmp     save_utcb               /* entry block is zero: kind 0 (boot) */

/* Kernel data: plain RAM the host reads and writes through the gdbstub. */
        .data
        .balign 8
        .global l4k_gdt
l4k_gdt:
gdt:
        .quad   0                       /* null */
        .quad   0x00cf9a000000ffff      /* 0x08 kernel code, flat */
        .quad   0x00cf92000000ffff      /* 0x10 kernel data, flat */
        .quad   0x00cffa000000ffff      /* 0x18 user code, flat, DPL 3 */
        .quad   0x00cff2000000ffff      /* 0x20 user data, flat, DPL 3 */
        .quad   0x0000890000000078      /* 0x28 TSS (base set by _start), I/O bitmap */
        /* 0x30 UTCB pointer: 4 bytes read-only, DPL 3 (base set by _start). For a
         * thread with a Linux set_thread_area value the host rewrites it (a copy
         * record): base = that value, 4 GiB, read-write, as Linux's TLS entry 6 */
        .quad   0x0040f10000000003
gdt_end:
        .balign 4
        .word   0
gdt_desc:
        .word   gdt_end - gdt - 1
        .long   gdt
        .word   0
idt_desc:
        .word   256 * 8 - 1
        .long   l4k_idt

        .balign 4
l4k_tss:
        .long   0                       /* link */
        .long   l4k_stack_top           /* esp0 */
        .long   KDATA                   /* ss0 */
        .space  88
        .word   0                       /* trap */
        .word   104                     /* I/O permission bitmap right after */
        /* Ring 3 may use ports 0x70/0x71 only: the CMOS RTC, the device user-level
         * drivers program (l4/arch/device.h; its periodic interrupt is 8259 line 8).
         * Ports past the bitmap (the TSS limit) are refused as a set bit is. */
        .byte   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff      /* 0x00..0x3f */
        .byte   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0xff      /* 0x40..0x7f */
        .byte   0xff                    /* the closing byte the CPU may read */

        .section .bss.l4k_blocks, "aw", @nobits
        .balign 64
        .global l4k_entry_block
l4k_entry_block:
        .space  EB_SIZE
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
        .balign 64
        .global l4k_timer_block
l4k_timer_block:                        /* host writes; the return path applies */
        .space  64
        .size   l4k_timer_block, 64
        .global l4k_fpu_next            /* the host: a copy record when it changes */
l4k_fpu_next:
        .space  4
        .size   l4k_fpu_next, 4
        .global l4k_fpu_loaded
l4k_fpu_loaded:
        .space  4
        .size   l4k_fpu_loaded, 4
        .balign 16
l4k_fpu_init:                           /* fxsave image of the boot (FNINIT) state */
        .space  512
        .size   l4k_fpu_init, 512

        .section .bss.l4k_tables, "aw", @nobits
        .balign 4096
        .global l4k_boot_pd
l4k_boot_pd:
        .space  4096
        .size   l4k_boot_pd, 4096
        .balign 8
l4k_idt:
        .space  256 * 8
        .balign 16
        .space  STACK_SIZE
l4k_stack_top:
