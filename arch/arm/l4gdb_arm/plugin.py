"""l4gdb architecture plugin: ARMv7-A (cortex-a15) on QEMU ``virt``.

Only what differs between CPUs lives here: the register set, the trap codec
for the entry/exit blocks of ``guest/kernel.S`` (layouts in
docs/internals.md §3), the toolchain flags and the QEMU/GDB settings.
"""

from __future__ import annotations

from pathlib import Path

from l4gdb.archkit import Arch, ArchPlugin, GdbSetup, QemuSetup, guest_toolchain
from l4gdb.archkit.guesttimer import BlockGuestTimer, CounterTrapGlue
from l4gdb.archkit.trapblocks import STUB_SYMBOLS, EntryKinds, require_symbols
from l4gdb.kernel.abi import ArchInfo

from .pagetables import ArmPageTables

ARCH = "arm"
HERE = Path(__file__).resolve().parent
GUEST = HERE / "guest"

USER_REGS = tuple(f"r{i}" for i in range(13)) + ("sp", "lr", "pc", "cpsr")
USR_MODE = 0x10
FPU_AREA_SIZE = 32 * 8 + 8        # kernel.S's lazy switch: d0-d31, FPSCR (8-byte padded)

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
    fpu_area_size=FPU_AREA_SIZE,
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
# The guest timer (kernel.S l4k_timer_block, the shared layout of l4gdb.archkit.guesttimer):
# the generic timer's virtual channel (CNTV) as the kernel's tick, GICv2 lines.
TICK_IRQ = 27                     # the virtual timer's PPI on virt (GICv2)
DEFAULT_FREQ = 62_500_000         # QEMU's generic timer (if the stub's word is 0)
IRQ_LINES = range(64)             # SystemBase: SGIs, PPIs and the first 32 SPIs


def make_glue(symbols: dict[str, int]) -> CounterTrapGlue:
    require_symbols(ARCH, symbols, STUB_SYMBOLS)
    low = symbols.get("l4k_vectors", symbols.get("_start", 0))
    if symbols.get("l4k_text_end", low) > low + 0x1000:
        # pagetables.py maps exactly one text page user read/execute (the preemption gate).
        raise ValueError("arm kernel text exceeds its page: the preemption gate may be "
                         "unreachable from user mode")
    return CounterTrapGlue(
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
        fpu_next_addr=symbols.get("l4k_fpu_next"),
        counter_offset=ENTRY_COUNTER_WORD * 4,
    )


def _page_tables(layout: dict[str, int]) -> ArmPageTables:
    return ArmPageTables(pool=(layout["pt_pool_low"], layout["pt_pool_high"]),
                         ram=(layout["ram_low"], layout["pt_pool_high"]),
                         window=layout["kernel_window"],
                         kernel_image=(layout["kernel_low"], layout["kernel_high"]))


def _guest_timer(symbols: dict[str, int]) -> BlockGuestTimer | None:
    if "l4k_timer_block" not in symbols or "l4k_idle" not in symbols:
        return None
    return BlockGuestTimer(tick_irq=TICK_IRQ, block_addr=symbols["l4k_timer_block"],
                           idle_pc=symbols["l4k_idle"], default_freq=DEFAULT_FREQ,
                           lines=IRQ_LINES)


def _linux_abi():
    # the generated tables (scripts/gen-linux-abi), imported only when Wombat runs
    from .linux_abi import ABI
    return ABI


plugin = ArchPlugin(Arch(
    info=ARM_INFO,
    # QEMU 7.2 cannot take the CPU from a -readconfig file; in-tree arches keep
    # their config in the repository's qemu-configs/. The PL011 receives the
    # console input (l4/arch/device.h).
    qemu=QemuSetup("qemu-system-arm", HERE.parents[2] / "qemu-configs" / "arm-virt.cfg",
                   ("-cpu", "cortex-a15"), package="qemu-system-arm", uart=True),
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
    linux_abi=_linux_abi,
))
globals().update(plugin.hookimpls())   # the module is the plugin (entry point)
