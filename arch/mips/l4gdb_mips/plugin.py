"""l4gdb architecture plugin: MIPS32r2 little endian (24Kf) on QEMU Malta.

Only what differs between CPUs lives here: the register set, the trap codec
for the entry/exit blocks of ``guest/kernel.S`` (layouts in
docs/internals.md §3 and §4 "MIPS"), the toolchain flags and the QEMU/GDB settings.

QEMU 7.2's MIPS gdbstub serves no target description, so this plugin brings
one (GDB's own MIPS feature names, numbered as QEMU's ``g`` packet): the host
uses it to name the registers and serves it to GDB.

Address spaces: :class:`~l4gdb_mips.pagetables.MipsPageTables` builds the
tables ``guest/kernel.S``'s TLB refill handler walks. ``L4GDB_MIPS_FLAT=1`` in
the environment leaves them out: the kernel runs flat (kuseg 0..128 MiB 1:1
onto RAM for every thread), as before address spaces existed.
"""

from __future__ import annotations

import os
from pathlib import Path

from l4gdb.archkit import Arch, ArchPlugin, GdbSetup, QemuSetup, guest_toolchain
from l4gdb.archkit.guesttimer import BlockGuestTimer, CounterTrapGlue
from l4gdb.archkit.trapblocks import STUB_SYMBOLS, EntryKinds, require_symbols
from l4gdb.kernel.abi import ArchInfo

from .pagetables import MipsPageTables

ARCH = "mips"
HERE = Path(__file__).resolve().parent
GUEST = HERE / "guest"

GPRS = tuple(f"r{i}" for i in range(32))
USER_REGS = GPRS + ("lo", "hi", "pc", "status")
# o32 names of the GPRs, for people and messages: r4 is a0 and so on.
ABI_NAMES = ("zero", "at", "v0", "v1", "a0", "a1", "a2", "a3",
             "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
             "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
             "t8", "t9", "k0", "k1", "gp", "sp", "fp", "ra")

STATUS_CU1 = 0x20000000           # the FPU, usable by Linux hard-float programs (FR = 0)
STATUS_UM = STATUS_CU1 | 0x10     # KSU = user; EXL, ERL, IE clear: what user mode sees
FPU_AREA_SIZE = 33 * 4 + 4        # kernel.S's lazy switch: f0..f31, FCSR (8-byte padded)
SYSCALL_REGS = ("r4", "r5", "r6", "r7", "r8", "r9", "r10")     # a0-a3, t0-t2
NUMBER_REG = "r2"                 # v0

MIPS_INFO = ArchInfo(
    name=ARCH,
    word_size=4,
    reg_names=USER_REGS,
    ip_reg="pc",
    sp_reg="r29",
    flags_reg="status",
    user_flags=STATUS_UM,
    flags_user_mask=0,            # Status is the kernel's: a user changes no bit of it
    syscall_arg_regs=SYSCALL_REGS,
    syscall_result_regs=SYSCALL_REGS,
    fpu_area_size=FPU_AREA_SIZE,
)

# Entry kinds written by guest/kernel.S.
KINDS = EntryKinds(boot=0, syscall=1, exception=2, prefetch_fault=3, data_fault=4,
                   interrupt=(5,))
PREEMPT_NUMBER = 0xFFFFFF         # v0 of the syscall at l4k_preempt_gate
KSEG0 = 0x80000000
KSEG_MASK = 0x1FFFFFFF            # kseg0 address -> physical (= its kuseg alias, flat)
GATE_PAGE = 0x00010000            # the gate's page, user-reachable at this alias (kernel.ld)
FLAT_ENV = "L4GDB_MIPS_FLAT"      # "1": no page tables (the flat world)
EXC_MOD, EXC_TLBS, EXC_ADES = 1, 3, 5
# The guest timer (kernel.S): CP0 Count/Compare on interrupt IP7. Interrupts 0..7
# are the Cause.IP lines, 16..31 the lines of the PIIX4's i8259s (behind IP2).
# QEMU's 24Kf counts at half the 320 MHz Malta CPU clock.
TICK_IRQ = 7
IRQ_LINES = range(32)
COUNT_HZ = 160_000_000
ENTRY_COUNTER_OFFSET = 42 * 4     # the 64-bit counter in the entry block


def exc_code(cause: int) -> int:
    return (cause >> 2) & 0x1F


def _fault_access(cause: int) -> int:
    # The stub puts Cause into the fsr word: a store (TLB modified, TLB store miss) is a
    # write, everything else a read.
    return 2 if exc_code(cause) in (EXC_MOD, EXC_TLBS, EXC_ADES) else 4


def _user_safe(regs: dict[str, int]) -> dict[str, int]:
    # Status is not the user's: whatever a thread's saved value says, it runs in user
    # mode (the return path ignores the word too and writes its own).
    regs["status"] = STATUS_UM
    return regs


def make_glue(symbols: dict[str, int]) -> CounterTrapGlue:
    require_symbols(ARCH, symbols, STUB_SYMBOLS)
    gate = symbols["l4k_preempt_gate"] & KSEG_MASK
    if gate != GATE_PAGE:
        # kernel.S wires exactly that page into every address space.
        raise ValueError(f"mips preemption gate at {gate:#x}, not at page {GATE_PAGE:#x}: "
                         "unreachable from user mode")
    return CounterTrapGlue(
        regs=USER_REGS, word_size=4, kinds=KINDS,
        bp_addr=symbols["l4k_trap_bp"],
        # The host reads and writes the blocks at their kseg0 address while the CPU is
        # in the kernel; a CPU stopped in user mode (a user breakpoint, a deadline)
        # cannot see kseg0 through QEMU's gdbstub, so then the entry block is read at
        # its physical address.
        entry_block_addr=symbols["l4k_entry_block"],
        entry_block_paddr=symbols["l4k_entry_block"] & KSEG_MASK,
        exit_block_addr=symbols["l4k_exit_block"],
        return_addr=symbols["l4k_return"],
        kernel_low=symbols.get("l4k_vectors", KSEG0),
        kernel_high=symbols["l4k_kernel_end"],
        # user mode cannot execute kseg0: the gate runs at its kuseg alias
        preempt_addr=gate,
        preempt_number=PREEMPT_NUMBER,
        ip_reg="pc",
        sanitize=_user_safe,
        data_fault_access=_fault_access,
        fpu_next_addr=symbols.get("l4k_fpu_next"),
        counter_offset=ENTRY_COUNTER_OFFSET if "l4k_timer_block" in symbols else 0,
    )


def _guest_timer(symbols: dict[str, int]) -> BlockGuestTimer | None:
    if "l4k_timer_block" not in symbols or "l4k_idle" not in symbols:
        return None
    return BlockGuestTimer(tick_irq=TICK_IRQ, block_addr=symbols["l4k_timer_block"],
                           idle_pc=symbols["l4k_idle"], default_freq=COUNT_HZ,
                           lines=IRQ_LINES)


def target_xml() -> bytes:
    """GDB's MIPS target description, registers numbered as QEMU's ``g`` packet:
    r0..r31, status, lo, hi, badvaddr, cause, pc, f0..f31, fcsr, fir."""
    def reg(name: str, num: int, typ: str = "") -> str:
        t = f' type="{typ}"' if typ else ""
        return f'    <reg name="{name}" bitsize="32" regnum="{num}"{t}/>\n'

    cpu = "".join(reg(f"r{i}", i) for i in range(32))
    cpu += reg("lo", 33) + reg("hi", 34) + reg("pc", 37, "code_ptr")
    cp0 = reg("status", 32) + reg("badvaddr", 35, "data_ptr") + reg("cause", 36)
    fpu = "".join(reg(f"f{i}", 38 + i, "ieee_single") for i in range(32))
    fpu += reg("fcsr", 70) + reg("fir", 71)
    return (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE target SYSTEM "gdb-target.dtd">\n'
        '<target version="1.0">\n'
        "  <architecture>mips:isa32r2</architecture>\n"
        f'  <feature name="org.gnu.gdb.mips.cpu">\n{cpu}  </feature>\n'
        f'  <feature name="org.gnu.gdb.mips.cp0">\n{cp0}  </feature>\n'
        f'  <feature name="org.gnu.gdb.mips.fpu">\n{fpu}  </feature>\n'
        "</target>\n"
    ).encode()


def flat() -> bool:
    return os.environ.get(FLAT_ENV, "") not in ("", "0")


def memory_layout() -> dict[str, int]:
    # Physical addresses; flat, also the user (kuseg) addresses. The kernel image runs
    # at kseg0 = these + 0x80000000, which is also where the kernel reaches all of RAM
    # (the kernel window). With address spaces the last 16 MiB of RAM hold page
    # tables and UTCB frames (the kernel's own memory), not RAM for sigma0.
    layout = {
        "ram_low": 0x00000000, "ram_high": 0x07000000,
        "kernel_low": 0x00000000, "kernel_high": 0x00020000,
        "kip": 0x00020000,
        "utcb_area": 0x00040000, "utcb_area_log2": 18,
        "free_low": 0x00800000,
        "pt_pool_low": 0x07000000, "pt_pool_high": 0x08000000,
        "kernel_window": KSEG0,
    }
    if flat():
        layout["ram_high"] = layout["pt_pool_high"]    # no tables: all RAM is sigma0's
    return layout


def _page_tables(layout: dict[str, int]) -> MipsPageTables | None:
    if flat():
        return None
    return MipsPageTables(pool=(layout["pt_pool_low"], layout["pt_pool_high"]),
                          ram=(layout["ram_low"], layout["pt_pool_high"]),
                          kernel_image=(layout["kernel_low"], layout["kernel_high"]))


def _linux_abi():
    # the generated tables (scripts/gen-linux-abi), imported only when Wombat runs
    from .linux_abi import ABI
    return ABI


plugin = ArchPlugin(Arch(
    info=MIPS_INFO,
    # QEMU 7.2 cannot take the CPU from a -readconfig file.
    qemu=QemuSetup("qemu-system-mipsel", HERE.parents[2] / "qemu-configs" / "mips-malta.cfg",
                   ("-cpu", "24Kf"), package="qemu-system-mips",
                   target_xml=target_xml()),
    gdb=GdbSetup("mips:isa32r2", ("set endian little", "set mips abi o32")),
    toolchain=guest_toolchain(
        ARCH, GUEST, "mipsel-unknown-none-elf",
        # -msoft-float: L4 programs have no FPU save area (the kernel switches FPU
        # state only for threads with one: Linux programs).
        ("-march=mips32r2", "-msoft-float", "-mno-abicalls", "-fno-pic", "-G0"), "EM_MIPS"),
    memory_layout=memory_layout,
    trap_glue=make_glue,
    page_tables=_page_tables,
    guest_timer=_guest_timer,
    linux_abi=_linux_abi,
))
globals().update(plugin.hookimpls())   # the module is the plugin (entry point)
