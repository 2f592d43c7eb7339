"""l4gdb architecture plugin: ARMv7-A (cortex-a15) on QEMU ``virt``.

Only what differs between CPUs lives here: the register set, the trap codec
for the entry/exit blocks of ``guest/kernel.S`` (layouts in
docs/internals.md §3), the toolchain flags and the QEMU/GDB settings.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from l4gdb.guestspec import GuestToolchain
from l4gdb.hookspecs import hookimpl
from l4gdb.kernel.abi import ArchInfo, Resume, Trap, TrapKind

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

# Entry block (docs/internals.md §3.1), in words.
KIND, DETAIL, FAR, FSR = 0, 1, 2, 3
REGS_AT = 4
UTCB_ADDR_AT = 21
UTCB_AT = 24
UTCB_WORDS = 128
ENTRY_WORDS = UTCB_AT + UTCB_WORDS
NOT_IN_KERNEL = 0xFFFFFFFF

KIND_BOOT, KIND_SVC, KIND_UNDEF, KIND_PABT, KIND_DABT, KIND_IRQ, KIND_FIQ = range(7)
EXIT_MAX = 1536
EXIT_HEADER_WORDS = 21            # regs(17) tls current_utcb ttbr0 ncopy
DFSR_WNR = 1 << 11                # data abort caused by a write

PREEMPT_SVC = 0xFFFFFF            # the svc at l4k_preempt_svc

# ARM exception codes carried in Trap.number for EXCEPTION traps.
EXC_UNDEFINED = 1


@dataclass
class ArmTrapGlue:
    bp_addr: int
    entry_block_addr: int
    exit_block_addr: int
    return_addr: int
    kernel_low: int
    kernel_high: int
    preempt_addr: int
    entry_block_size: int = ENTRY_WORDS * 4
    exit_block_max: int = EXIT_MAX

    def decode(self, block: bytes) -> Trap | None:
        w = struct.unpack_from(f"<{ENTRY_WORDS}I", block)
        kind = w[KIND]
        if kind == NOT_IN_KERNEL:
            return None
        regs = dict(zip(USER_REGS, w[REGS_AT:REGS_AT + len(USER_REGS)], strict=True))
        utcb_addr = w[UTCB_ADDR_AT]
        utcb = block[UTCB_AT * 4:] if utcb_addr else None
        if kind == KIND_BOOT:
            return Trap(TrapKind.BOOT)
        trap = Trap(TrapKind.SYSCALL, regs=regs, utcb_addr=utcb_addr, utcb=utcb,
                    detail={"insn": w[DETAIL], "far": w[FAR], "fsr": w[FSR]})
        if kind == KIND_SVC:
            trap.number = w[DETAIL]
        elif kind == KIND_UNDEF:
            trap.kind, trap.number = TrapKind.EXCEPTION, EXC_UNDEFINED
        elif kind == KIND_PABT:
            trap.kind, trap.fault_addr, trap.fault_access = TrapKind.PAGEFAULT, w[FAR], 1
        elif kind == KIND_DABT:
            trap.kind, trap.fault_addr = TrapKind.PAGEFAULT, w[FAR]
            trap.fault_access = 2 if w[FSR] & DFSR_WNR else 4
        else:
            trap.kind, trap.number = TrapKind.INTERRUPT, kind
        return trap

    def encode_exit(self, resume: Resume) -> tuple[bytes, list[tuple[int, bytes]]]:
        regs = resume.regs or {}
        words = [regs.get(r, 0) & 0xFFFFFFFF for r in USER_REGS]
        # Only what user mode may hold reaches the cpsr (no mode or mask bits).
        words[-1] = (words[-1] & ARM_INFO.flags_user_mask) | USR_MODE
        words += [resume.tls & 0xFFFFFFFF, resume.utcb_addr & 0xFFFFFFFF,
                  resume.space_root & 0xFFFFFFFF, 0]
        body = bytearray(struct.pack(f"<{len(words)}I", *words))
        leftover: list[tuple[int, bytes]] = []
        ncopy = 0
        for addr, data in resume.writes:
            if addr % 4 or len(data) % 4 or len(body) + 8 + len(data) > self.exit_block_max:
                leftover.append((addr, data))
                continue
            body += struct.pack("<II", addr, len(data) // 4) + data
            ncopy += 1
        struct.pack_into("<I", body, (EXIT_HEADER_WORDS - 1) * 4, ncopy)
        return bytes(body), leftover

    def user_regs_from_gdb(self, regs: dict[str, int]) -> dict[str, int]:
        return {r: regs[r] for r in USER_REGS}

    def in_kernel(self, pc: int) -> bool:
        return self.kernel_low <= pc < self.kernel_high

    def enter_kernel(self, regs: dict[str, int]) -> dict[str, int]:
        # The gdbstub cannot leave user mode, so jump to an svc instead (ARM state).
        return {**regs, "pc": self.preempt_addr, "cpsr": USR_MODE}

    def is_preempt_entry(self, trap: Trap) -> bool:
        return trap.kind is TrapKind.SYSCALL and trap.number == PREEMPT_SVC


@dataclass(frozen=True)
class ArmQemu:
    binary: str
    config: Path
    extra_args: tuple[str, ...]


@dataclass(frozen=True)
class ArmGdb:
    architecture: str
    init_commands: tuple[str, ...]


def _repo_qemu_config() -> Path:
    # In-tree arches keep their config in the repository's qemu-configs/.
    return HERE.parents[2] / "qemu-configs" / "arm-virt.cfg"


@hookimpl
def l4gdb_arch_names() -> list[str]:
    return [ARCH]


@hookimpl
def l4gdb_arch_info(arch: str) -> ArchInfo | None:
    return ARM_INFO if arch == ARCH else None


@hookimpl
def l4gdb_qemu_setup(arch: str) -> ArmQemu | None:
    if arch != ARCH:
        return None
    # QEMU 7.2 cannot take the CPU from a -readconfig file.
    return ArmQemu("qemu-system-arm", _repo_qemu_config(), ("-cpu", "cortex-a15"))


@hookimpl
def l4gdb_gdb_setup(arch: str) -> ArmGdb | None:
    if arch != ARCH:
        return None
    return ArmGdb("armv7", (
        "set arm force-mode arm",
        "set arm fallback-mode arm",
    ))


@hookimpl
def l4gdb_guest_toolchain(arch: str) -> GuestToolchain | None:
    if arch != ARCH:
        return None
    return GuestToolchain(
        arch=ARCH,
        clang_target="armv7a-none-eabi",
        cflags=("-mcpu=cortex-a15", "-marm", "-mfloat-abi=soft"),
        ldflags=(),
        include_dir=GUEST / "include",
        crt0=GUEST / "crt0.S",
        user_ldscript=GUEST / "user.ld",
        kernel_sources=(GUEST / "kernel.S",),
        kernel_ldscript=GUEST / "kernel.ld",
        elf_machine="EM_ARM",
    )


@hookimpl
def l4gdb_memory_layout(arch: str) -> dict[str, int] | None:
    if arch != ARCH:
        return None
    return {
        "ram_low": 0x40000000, "ram_high": 0x48000000,
        "kernel_low": 0x40000000, "kernel_high": 0x40010000,
        "kip": 0x40010000,
        "utcb_area": 0x40040000, "utcb_area_log2": 18,
        "free_low": 0x40800000,
    }


@hookimpl
def l4gdb_trap_glue(arch: str, symbols: dict[str, int]) -> ArmTrapGlue | None:
    if arch != ARCH:
        return None
    missing = [s for s in ("l4k_trap_bp", "l4k_entry_block", "l4k_exit_block", "l4k_return",
                           "l4k_kernel_end", "l4k_preempt_svc") if s not in symbols]
    if missing:
        raise ValueError(f"ARM kernel image lacks symbols: {', '.join(missing)}")
    return ArmTrapGlue(
        bp_addr=symbols["l4k_trap_bp"],
        entry_block_addr=symbols["l4k_entry_block"],
        exit_block_addr=symbols["l4k_exit_block"],
        return_addr=symbols["l4k_return"],
        kernel_low=symbols.get("_start", 0x40000000),
        kernel_high=symbols["l4k_kernel_end"],
        preempt_addr=symbols["l4k_preempt_svc"],
    )
