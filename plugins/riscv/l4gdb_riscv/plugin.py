"""l4gdb architecture plugin: RISC-V on QEMU ``virt``, RV32 (``riscv``) and RV64
(``riscv64``).

A third-party plugin: it lives outside ``arch/``, is installed with pip and is
found through the ``l4gdb`` entry point group like any other; it uses only the
public hooks (:mod:`l4gdb.hookspecs`), the shared block codec
(:mod:`l4gdb.archkit.trapblocks`) and the plugin kit (:mod:`l4gdb.archkit`). Its QEMU
config file and guest sources ship inside the package; one set of guest
sources serves both widths (``__riscv_xlen``).

The guest side (``guest/kernel.S``) runs in machine mode without firmware
(``firmware = "none"``); user code runs in U-mode in address spaces of its
own (Sv32 / Sv39 tables the host builds: :mod:`l4gdb_riscv.pagetables`), with
PMP besides keeping it out of the kernel image (but the preemption gate's
page). System calls are ``ecall`` with the number in a7 and arguments and
results in a0..a6; the UTCB pointer is in tp. Linux's system calls are
``ecall`` with the number in a7 too (1..13 are io_setup..getxattr), so L4
calls carry a tag in a7's high bits (``L4_TAG``, libl4's ``__L4_NR``) and only
tagged numbers decode to L4 calls; a Linux thread's tp is its own (TLS),
kept across every kernel entry. Layouts: docs/writing-an-arch-plugin.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from l4gdb.archkit import Arch, ArchPlugin, GdbSetup, QemuSetup, guest_toolchain
from l4gdb.archkit.guesttimer import BlockGuestTimer, CounterTrapGlue
from l4gdb.archkit.trapblocks import STUB_SYMBOLS, EntryKinds, require_symbols
from l4gdb.kernel.abi import ArchInfo, Resume, Trap, TrapKind

from .pagetables import RiscvPageTables

HERE = Path(__file__).resolve().parent
GUEST = HERE / "guest"
QEMU_CONFIG = HERE / "qemu" / "riscv-virt.cfg"

# QEMU's RISC-V target description names x0..x31 by their ABI names (x8 is
# "fp"), in its `g` order, then pc. "status" is not a CPU register: RISC-V has
# no flags register a user can see, but the kernel model wants one (the
# ExchangeRegisters flags word, exception IPC); the stub saves it as 0 and the
# return path ignores it.
GPRS = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
        "fp", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
        "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6")
USER_REGS = GPRS + ("pc", "status")
SYSCALL_REGS = ("a0", "a1", "a2", "a3", "a4", "a5", "a6")
NUMBER_REG = "a7"
STATUS_USER = 0

# Entry kinds written by guest/kernel.S.
KINDS = EntryKinds(boot=0, syscall=1, exception=2, prefetch_fault=3, data_fault=4,
                   interrupt=(5,))
# An L4 call's a7 is L4_TAG | number (guest/include/l4/arch/syscalls.h __L4_NR): the
# whole register must read so (RV64: the upper half zero). Any other a7 is a foreign
# call (Linux's): it decodes to FOREIGN | a7 (FOREIGN = 1 << XLEN, beyond every L4
# number and every word), so the kernel raises it to the thread's exception handler
# (Wombat), which reads a7 itself; the exception message's number word is a7 again.
L4_TAG = 0x4C34_0000              # "L4" in bits 31..16: one lui, positive on RV32 too
L4_TAG_MASK = ~0xFFFF
PREEMPT_NUMBER = 0xFFF            # the gate's number: a7 = L4_TAG | 0xfff
MCAUSE_STORE_FAULTS = (6, 7, 15)  # store misaligned, store access fault, store page fault
EXIT_BLOCK_SIZE = 1536            # XB_SIZE in guest/kernel.S, both widths
GATE_PAGE = 0x8000F000            # guest/kernel.ld: the image's last page
# The guest timer (guest/kernel.S): the CLINT's mtimecmp, machine timer interrupt
# (mcause 7); lines are the mcause interrupt codes. The stub stores mtime at every
# entry in word 39: all of it on RV64, its low half on RV32 (the glue counts the
# wraps, every 429 s at 10 MHz; the stub then absorbs at most 100 s of ticks).
# Lines 32..63 are the PLIC's sources 0..31 (machine external interrupt, mcause 11).
TICK_IRQ = 7
IRQ_LINES = range(64)
DEVICE_PAGE = 0x00101000          # the goldfish RTC, a driver's page (l4/arch/device.h)
MTIME_HZ = 10_000_000
ENTRY_COUNTER_WORD = 39
RV32_MAX_SKIP = 10_000


@dataclass(frozen=True)
class Variant:
    """What differs between RV32 and RV64: everything else is shared."""

    arch: str
    xlen: int
    qemu_binary: str
    clang_target: str
    march: str
    mabi: str
    gdb_arch: str

    @property
    def word_size(self) -> int:
        return self.xlen // 8

    def info(self) -> ArchInfo:
        return ArchInfo(
            name=self.arch,
            word_size=self.word_size,
            reg_names=USER_REGS,
            ip_reg="pc",
            sp_reg="sp",
            flags_reg="status",
            user_flags=STATUS_USER,
            flags_user_mask=0,            # nothing a user may change
            syscall_arg_regs=SYSCALL_REGS,
            syscall_result_regs=SYSCALL_REGS,
        )


VARIANTS = {
    "riscv": Variant("riscv", 32, "qemu-system-riscv32", "riscv32-unknown-elf",
                     "rv32imac", "ilp32", "riscv:rv32"),
    "riscv64": Variant("riscv64", 64, "qemu-system-riscv64", "riscv64-unknown-elf",
                       "rv64imac", "lp64", "riscv:rv64"),
}
INFOS = {name: v.info() for name, v in VARIANTS.items()}
RISCV_INFO = INFOS["riscv"]
RISCV64_INFO = INFOS["riscv64"]


def _fault_access(mcause: int) -> int:
    # The stub puts mcause into the fsr word: stores are writes, the rest reads.
    return 2 if mcause in MCAUSE_STORE_FAULTS else 4


def _user_safe(regs: dict[str, int]) -> dict[str, int]:
    # x0 is zero. "status" is the kernel's pseudo-register: fixed for user mode,
    # but only where it is present: enter_kernel() passes the live registers from
    # the gdbstub, which has no "status" (and a write to it would fail).
    if "zero" in regs:
        regs["zero"] = 0
    if "status" in regs:
        regs["status"] = STATUS_USER
    return regs


@dataclass
class RiscvTrapGlue(CounterTrapGlue):
    """The shared codec plus RISC-V's two ambiguities with Linux: the system-call
    number (a7, see ``L4_TAG``) and the thread pointer (tp)."""

    def decode(self, block: bytes) -> Trap | None:
        trap = super().decode(block)
        if trap is not None and trap.kind is TrapKind.SYSCALL:
            a7 = trap.number
            tagged = a7 & L4_TAG_MASK & self._mask == L4_TAG
            trap.number = a7 & 0xFFFF if tagged else (self._mask + 1) | a7
        return trap

    def encode_exit(self, resume: Resume) -> tuple[bytes, list[tuple[int, bytes]]]:
        # The return path loads tp from the tls word. An L4 thread's is its UTCB
        # address; a thread with a user TLS (Linux: the program sets tp itself, no
        # system call tells the kernel) resumes with the tp it had (its registers).
        if resume.tls_user and resume.regs is not None and "tp" in resume.regs:
            resume = replace(resume, tls=resume.regs["tp"])
        return super().encode_exit(resume)


def make_glue(symbols: dict[str, int], arch: str = "riscv") -> RiscvTrapGlue:
    require_symbols(arch, symbols, STUB_SYMBOLS)
    if symbols["l4k_preempt_gate"] & ~0xFFF != GATE_PAGE:
        # pagetables.py maps exactly this page for user code in every space
        raise ValueError(f"{arch} kernel image: l4k_preempt_gate is not on the gate page "
                         f"{GATE_PAGE:#x}")
    ws = VARIANTS[arch].word_size
    return RiscvTrapGlue(
        regs=USER_REGS, word_size=ws, kinds=KINDS,
        bp_addr=symbols["l4k_trap_bp"],
        entry_block_addr=symbols["l4k_entry_block"],
        exit_block_addr=symbols["l4k_exit_block"],
        return_addr=symbols["l4k_return"],
        kernel_low=symbols.get("l4k_kernel_start", 0x80000000),
        kernel_high=symbols["l4k_kernel_end"],
        preempt_addr=symbols["l4k_preempt_gate"],
        preempt_number=PREEMPT_NUMBER,
        ip_reg="pc",
        sanitize=_user_safe,
        data_fault_access=_fault_access,
        exit_block_max=EXIT_BLOCK_SIZE,
        counter_offset=ENTRY_COUNTER_WORD * ws if "l4k_timer_block" in symbols else 0,
        counter_size=ws,
    )


def _guest_timer(symbols: dict[str, int], arch: str) -> BlockGuestTimer | None:
    if "l4k_timer_block" not in symbols or "l4k_idle" not in symbols:
        return None
    wide = VARIANTS[arch].word_size == 8
    return BlockGuestTimer(tick_irq=TICK_IRQ, block_addr=symbols["l4k_timer_block"],
                           idle_pc=symbols["l4k_idle"], default_freq=MTIME_HZ,
                           lines=IRQ_LINES, max_skip=0xFFFFFFFF if wide else RV32_MAX_SKIP)


# Physical addresses (the root task's space maps them 1:1); the same for both
# widths (RV64 UTCBs are 1 KiB: 256 of them in the area). The last 16 MiB of
# RAM hold page tables and UTCB frames: the kernel's, not sigma0's.
MEMORY_LAYOUT = {
    "ram_low": 0x80000000, "ram_high": 0x87000000,
    "kernel_low": 0x80000000, "kernel_high": 0x80010000,
    "kip": 0x80010000,
    "utcb_area": 0x80040000, "utcb_area_log2": 18,
    "free_low": 0x80800000,
    "pt_pool_low": 0x87000000, "pt_pool_high": 0x88000000,
    "gate_page": GATE_PAGE,
    "device_page": DEVICE_PAGE,
}


def _linux_abi(v: Variant):
    # the generated tables (scripts/gen-linux-abi), imported only when Wombat runs
    if v.xlen == 64:
        from .linux_abi_rv64 import ABI
    else:
        from .linux_abi_rv32 import ABI
    return ABI


def _arch(v: Variant) -> Arch:
    return Arch(
        info=INFOS[v.arch],
        # The config file ships inside this package and says everything (firmware =
        # "none": the reset vector jumps straight to the kernel image at the start of
        # RAM, in machine mode); nothing is left for the command line.
        qemu=QemuSetup(v.qemu_binary, QEMU_CONFIG, (),
                       package="qemu-system-misc"),   # the Debian package with qemu-system-riscv*
        gdb=GdbSetup(v.gdb_arch),
        toolchain=guest_toolchain(
            v.arch, GUEST, v.clang_target,
            # No F/D: the kernel does not switch FPU state (mstatus.FS stays off).
            # medany: RAM is at 2 GiB (on RV64 medlow cannot reach it).
            # -mno-relax: no linker relaxation (lld 14 does not do it), so no gp.
            (f"-march={v.march}", f"-mabi={v.mabi}", "-mcmodel=medany", "-mno-relax",
             "-fno-pic"),
            "EM_RISCV"),
        memory_layout=MEMORY_LAYOUT,
        trap_glue=lambda symbols: make_glue(symbols, v.arch),
        guest_timer=lambda symbols: _guest_timer(symbols, v.arch),
        page_tables=lambda layout: RiscvPageTables(
            v.xlen, pool=(layout["pt_pool_low"], layout["pt_pool_high"]),
            kernel_image=(layout["kernel_low"], layout["kernel_high"]),
            gate_page=layout["gate_page"], device_page=layout["device_page"]),
        linux_abi=lambda: _linux_abi(v),
    )


plugin = ArchPlugin(*(_arch(v) for v in VARIANTS.values()))
globals().update(plugin.hookimpls())   # the module is the plugin (entry point)
