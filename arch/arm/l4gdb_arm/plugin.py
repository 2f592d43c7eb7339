"""l4gdb architecture plugin: ARMv7-A (cortex-a15) on QEMU ``virt``.

Only what differs between CPUs lives here: the register set, the trap codec
for the entry/exit blocks of ``guest/kernel.S`` (layouts in
docs/internals.md §3), the toolchain flags and the QEMU/GDB settings.
"""

from __future__ import annotations

import struct
from pathlib import Path

from l4gdb.archkit import Arch, ArchPlugin, GdbSetup, QemuSetup, guest_toolchain
from l4gdb.kernel.abi import ArchInfo, Trap
from l4gdb.trapblocks import STUB_SYMBOLS, BlockTrapGlue, EntryKinds, require_symbols

from .mmu import ArmPageTables

ARCH = "arm"
HERE = Path(__file__).resolve().parent
GUEST = HERE / "guest"

USER_REGS = tuple(f"r{i}" for i in range(13)) + ("sp", "lr", "pc", "cpsr")
USR_MODE = 0x10

ARM_INFO = ArchInfo(
    name=ARCH,
    word_size=4,
    reg_names=USER_REGS,
    ip_reg="pc",
    sp_reg="sp",
    flags_reg="cpsr",
    user_flags=USR_MODE,
    flags_user_mask=0xF80F0220,   # NZCVQ, GE, E and T: what user mode may set
    syscall_arg_regs=("r0", "r1", "r2", "r3", "r4", "r5", "r6"),
    syscall_result_regs=("r0", "r1", "r2", "r3", "r4", "r5", "r6"),
)

# Entry kinds written by guest/kernel.S.
KINDS = EntryKinds(boot=0, syscall=1, exception=2, prefetch_fault=3, data_fault=4,
                   interrupt=(5, 6))
DFSR_WNR = 1 << 11                # data abort caused by a write
PREEMPT_SVC = 0xFFFFFF            # the svc at l4k_preempt_gate
EXC_UNDEFINED = 1                 # Trap.number of an undefined-instruction exception
KERNEL_WINDOW = 0xC0000000        # all RAM, privileged, in every space (kernel.S builds it)


def _user_safe(regs: dict[str, int]) -> dict[str, int]:
    # Only what user mode may hold reaches the cpsr (no mode or mask bits), ARM state
    # unless the thread asked for Thumb.
    regs["cpsr"] = (regs.get("cpsr", 0) & ARM_INFO.flags_user_mask) | USR_MODE
    return regs


ENTRY_COUNTER_WORD = 22          # kernel.S: CNTVCT at entry, words 22..23 of the entry block


class ArmTrapGlue(BlockTrapGlue):
    """The shared codec, plus the virtual counter the stub stores at every entry."""

    def decode(self, block: bytes) -> Trap | None:
        trap = super().decode(block)
        if trap is not None and len(block) >= (ENTRY_COUNTER_WORD + 2) * 4:
            lo, hi = struct.unpack_from("<II", block, ENTRY_COUNTER_WORD * 4)
            trap.detail["counter"] = lo | hi << 32
        return trap


# The stub's timer block (kernel.S l4k_timer_block), byte offsets.
TB_TICK, TB_ARM, TB_FREQ, TB_OPS, TB_UNMASK, TB_MASK, TB_SKIP = 0, 4, 8, 12, 16, 24, 32
TICK_IRQ = 27                     # the virtual timer's PPI on virt (GICv2)
DEFAULT_FREQ = 62_500_000         # QEMU's generic timer (if the stub's word is 0)


class ArmGuestTimer:
    """The generic timer's virtual channel (CNTV) as the kernel's tick, GICv2 lines."""

    tick_irq = TICK_IRQ

    def __init__(self, block_addr: int, idle_pc: int) -> None:
        self.block_addr = block_addr
        self.idle_pc = idle_pc
        self.freq = DEFAULT_FREQ

    def start(self, read, tick_us: int) -> list[tuple[int, bytes]]:
        freq = struct.unpack("<I", bytes(read(self.block_addr + TB_FREQ, 4)))[0]
        self.freq = freq or DEFAULT_FREQ
        ticks = max(1, self.freq * tick_us // 1_000_000)
        return [(self.block_addr, struct.pack("<II", ticks, 1))]

    def time_us(self, trap: Trap) -> int | None:
        counter = trap.detail.get("counter")
        return None if counter is None else counter * 1_000_000 // self.freq

    def irq_writes(self, unmask: list[int], mask: list[int]) -> list[tuple[int, bytes]]:
        def bits(irqs: list[int]) -> tuple[int, int]:
            words = [0, 0]
            for irq in irqs:
                if 0 <= irq < 64:
                    words[irq >> 5] |= 1 << (irq & 31)
            return words[0], words[1]
        return [(self.block_addr + TB_OPS, struct.pack("<5I", 1, *bits(unmask), *bits(mask)))]

    def skip_write(self, ticks: int) -> tuple[int, bytes]:
        return (self.block_addr + TB_SKIP, struct.pack("<I", max(0, min(ticks, 0xFFFFFFFF))))

    def valid_irqs(self) -> range:
        return range(64)           # SystemBase: SGIs, PPIs and the first 32 SPIs


def make_glue(symbols: dict[str, int]) -> BlockTrapGlue:
    require_symbols(ARCH, symbols, STUB_SYMBOLS)
    low = symbols.get("l4k_vectors", symbols.get("_start", 0))
    if symbols.get("l4k_text_end", low) > low + 0x1000:
        # mmu.py maps exactly one text page user read/execute (the preemption gate).
        raise ValueError("arm kernel text exceeds its page: the preemption gate may be "
                         "unreachable from user mode")
    return ArmTrapGlue(
        regs=USER_REGS, word_size=4, kinds=KINDS,
        bp_addr=symbols["l4k_trap_bp"],
        entry_block_addr=symbols["l4k_entry_block"],
        exit_block_addr=symbols["l4k_exit_block"],
        return_addr=symbols["l4k_return"],
        kernel_low=symbols.get("l4k_vectors", symbols.get("_start", 0)),
        kernel_high=symbols["l4k_kernel_end"],
        preempt_addr=symbols["l4k_preempt_gate"],
        preempt_number=PREEMPT_SVC,
        ip_reg="pc",
        sanitize=_user_safe,
        data_fault_access=lambda fsr: 2 if fsr & DFSR_WNR else 4,
        exception_number=lambda insn: EXC_UNDEFINED,   # the word itself is in detail
    )


def _page_tables(layout: dict[str, int]) -> ArmPageTables:
    return ArmPageTables(pool=(layout["pt_pool_low"], layout["pt_pool_high"]),
                         ram=(layout["ram_low"], layout["pt_pool_high"]),
                         window=layout["kernel_window"],
                         kernel_image=(layout["kernel_low"], layout["kernel_high"]))


def _guest_timer(symbols: dict[str, int]) -> ArmGuestTimer | None:
    if "l4k_timer_block" not in symbols or "l4k_idle" not in symbols:
        return None
    return ArmGuestTimer(symbols["l4k_timer_block"], symbols["l4k_idle"])


plugin = ArchPlugin(Arch(
    info=ARM_INFO,
    # QEMU 7.2 cannot take the CPU from a -readconfig file; in-tree arches keep
    # their config in the repository's qemu-configs/.
    qemu=QemuSetup("qemu-system-arm", HERE.parents[2] / "qemu-configs" / "arm-virt.cfg",
                   ("-cpu", "cortex-a15")),
    gdb=GdbSetup("armv7", ("set arm force-mode arm", "set arm fallback-mode arm")),
    toolchain=guest_toolchain(ARCH, GUEST, "armv7a-none-eabi",
                              ("-mcpu=cortex-a15", "-marm", "-mfloat-abi=soft"), "EM_ARM"),
    # RAM is 128 MiB at 0x40000000; its last 16 MiB hold page tables and UTCB
    # frames (the kernel's own memory), so the kernel model's RAM ends there.
    memory_layout={
        "ram_low": 0x40000000, "ram_high": 0x47000000,
        "kernel_low": 0x40000000, "kernel_high": 0x40010000,
        "kip": 0x40010000,
        "utcb_area": 0x40040000, "utcb_area_log2": 18,
        "free_low": 0x40800000,
        "pt_pool_low": 0x47000000, "pt_pool_high": 0x48000000,
        "kernel_window": KERNEL_WINDOW,
    },
    trap_glue=make_glue,
    page_tables=_page_tables,
    guest_timer=_guest_timer,
))
globals().update(plugin.hookimpls())   # the module is the plugin (entry point)
