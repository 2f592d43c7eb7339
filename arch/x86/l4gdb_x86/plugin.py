"""l4gdb architecture plugin: i386 (32-bit x86, protected mode) on QEMU ``pc``.

Only what differs between CPUs lives here: the register set, the trap codec
for the entry/exit blocks of ``guest/kernel.S`` (layouts in docs/internals.md
§3 and the "x86" part of §4), the toolchain flags and the QEMU/GDB settings.
"""

from __future__ import annotations

from pathlib import Path

from l4gdb.archkit import Arch, ArchPlugin, GdbSetup, QemuSetup, guest_toolchain
from l4gdb.archkit.guesttimer import BlockGuestTimer
from l4gdb.archkit.trapblocks import STUB_SYMBOLS, BlockTrapGlue, EntryKinds, require_symbols
from l4gdb.kernel.abi import ArchInfo

from .gdt import X86TrapGlue
from .pagetables import USER_PAGES, X86PageTables

ARCH = "x86"
HERE = Path(__file__).resolve().parent
GUEST = HERE / "guest"

# QEMU's i386 target description names, in its `g` order.
USER_REGS = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags",
             "cs", "ss", "ds", "es", "fs", "gs")
SYSCALL_REGS = ("eax", "ecx", "edx", "esi", "edi", "ebx", "ebp")

# Selectors of guest/kernel.S's GDT; user mode always runs on these (the return
# path reloads them, whatever the exit block says).
USER_CS = 0x1B
USER_DS = 0x23
UTCB_GS = 0x33
USER_SEGMENTS = {"cs": USER_CS, "ss": USER_DS, "ds": USER_DS, "es": USER_DS, "fs": USER_DS,
                 "gs": UTCB_GS}

EFLAGS_IF = 0x200
EFLAGS_FIXED = 0x2                # bit 1 always reads as one
EFLAGS_USER = 0x0CD5              # CF PF AF ZF SF DF OF: what user code may set
FXSAVE_SIZE = 512                 # kernel.S's lazy FPU switch: one fxsave area (16-aligned)

X86_INFO = ArchInfo(
    name=ARCH,
    word_size=4,
    reg_names=USER_REGS,
    ip_reg="eip",
    sp_reg="esp",
    flags_reg="eflags",
    user_flags=EFLAGS_IF | EFLAGS_FIXED,
    flags_user_mask=EFLAGS_USER,
    syscall_arg_regs=SYSCALL_REGS,
    syscall_result_regs=SYSCALL_REGS,
    fpu_area_size=FXSAVE_SIZE,
)

# Entry kinds written by guest/kernel.S. A page fault is always kind 4; the error
# code (fsr) tells instruction fetches (kind 3 is never written).
KINDS = EntryKinds(boot=0, syscall=1, exception=2, prefetch_fault=3, data_fault=4,
                   interrupt=(5,))
SYSCALL_VECTOR_BASE = 0x80        # int $0x80+N is system call N
PREEMPT_NUMBER = 0x7F             # int $0xff at l4k_preempt_gate
PF_WRITE = 1 << 1                 # page-fault error code bits
PF_FETCH = 1 << 4                 # set by kernel.S for a fault at eip (no NX: the CPU doesn't)
KERNEL_WINDOW = 0xC0000000        # all RAM, supervisor only, every space (kernel.S, pagetables.py)
# The guest timer (kernel.S): PIT channel 0 on 8259 line 0; lines 0..15 of the two
# 8259s. The counter is in PIT input clocks.
TICK_IRQ = 0
PIT_HZ = 1_193_182
ENTRY_COUNTER_OFFSET = 22 * 4


def _user_safe(regs: dict[str, int]) -> dict[str, int]:
    # Ring 3 with interrupts on, IOPL 0, no trap/virtual-8086/nested-task bits.
    regs["eflags"] = (regs.get("eflags", 0) & EFLAGS_USER) | EFLAGS_IF | EFLAGS_FIXED
    regs.update(USER_SEGMENTS)
    return regs


def _fault_access(error_code: int) -> int:
    if error_code & PF_FETCH:
        return 1
    return 2 if error_code & PF_WRITE else 4


def make_glue(symbols: dict[str, int]) -> BlockTrapGlue:
    require_symbols(ARCH, symbols, STUB_SYMBOLS)
    low = symbols.get("l4k_user_start", symbols.get("l4k_kernel_start", 0x00100000))
    if "l4k_user_end" in symbols:
        # pagetables.py maps exactly the image's first USER_PAGES pages for user code.
        user = (low, low + USER_PAGES * 0x1000)
        for name in ("l4k_preempt_gate", "l4k_user_tls"):
            if name in symbols and not user[0] <= symbols[name] < user[1]:
                raise ValueError(f"x86 kernel image: {name} is not on a user page")
        if symbols["l4k_user_end"] != user[1]:
            raise ValueError("x86 kernel image: the user pages are not the image's first two")
    return X86TrapGlue(
        regs=USER_REGS, word_size=4, kinds=KINDS,
        bp_addr=symbols["l4k_trap_bp"],
        entry_block_addr=symbols["l4k_entry_block"],
        exit_block_addr=symbols["l4k_exit_block"],
        return_addr=symbols["l4k_return"],
        kernel_low=low,
        kernel_high=symbols["l4k_kernel_end"],
        preempt_addr=symbols["l4k_preempt_gate"],
        preempt_number=PREEMPT_NUMBER,
        ip_reg="eip",
        sanitize=_user_safe,
        data_fault_access=_fault_access,
        fpu_next_addr=symbols.get("l4k_fpu_next"),
        gdt_addr=symbols.get("l4k_gdt", 0),
        utcb_slot=symbols.get("l4k_user_tls", 0),
        counter_offset=ENTRY_COUNTER_OFFSET if "l4k_timer_block" in symbols else 0,
    )


def _guest_timer(symbols: dict[str, int]) -> BlockGuestTimer | None:
    if "l4k_timer_block" not in symbols or "l4k_idle" not in symbols:
        return None
    return BlockGuestTimer(tick_irq=TICK_IRQ, block_addr=symbols["l4k_timer_block"],
                           idle_pc=symbols["l4k_idle"], default_freq=PIT_HZ, lines=range(16))


def _page_tables(layout: dict[str, int]) -> X86PageTables:
    return X86PageTables(pool=(layout["pt_pool_low"], layout["pt_pool_high"]),
                         window=layout["kernel_window"],
                         kernel_image=(layout["kernel_low"], layout["kernel_high"]),
                         window_size=layout["pt_pool_high"])


def _linux_abi():
    # the generated tables (scripts/gen-linux-abi), imported only when Wombat runs
    from .linux_abi import ABI
    return ABI


plugin = ArchPlugin(Arch(
    info=X86_INFO,
    # The CPU model cannot come from a -readconfig file in QEMU 7.2; -no-reboot
    # turns a triple fault into an exit instead of a silent reboot into the BIOS.
    qemu=QemuSetup("qemu-system-i386", HERE.parents[2] / "qemu-configs" / "x86-pc.cfg",
                   ("-cpu", "qemu32", "-no-reboot"), package="qemu-system-x86"),
    gdb=GdbSetup("i386"),
    toolchain=guest_toolchain(
        ARCH, GUEST, "i686-unknown-none-elf",
        # No x87/MMX/SSE code: L4 programs have no FPU save area (the kernel
        # switches FPU state only for threads with one: Linux programs).
        ("-march=i686", "-mno-sse", "-mno-mmx", "-mno-80387", "-fomit-frame-pointer",
         "-fno-pic"),
        "EM_386", ldflags=("-m", "elf_i386")),
    # RAM is 128 MiB at 0; main memory starts at 1 MiB and its last 16 MiB hold
    # page tables and UTCB frames (the kernel's own memory).
    memory_layout={
        "ram_low": 0x00100000, "ram_high": 0x07000000,
        "kernel_low": 0x00100000, "kernel_high": 0x00110000,
        "kip": 0x00110000,
        "utcb_area": 0x00140000, "utcb_area_log2": 18,
        "free_low": 0x00800000,
        "pt_pool_low": 0x07000000, "pt_pool_high": 0x08000000,
        "kernel_window": KERNEL_WINDOW,
    },
    trap_glue=make_glue,
    page_tables=_page_tables,
    guest_timer=_guest_timer,
    linux_abi=_linux_abi,
))
globals().update(plugin.hookimpls())   # the module is the plugin (entry point)
