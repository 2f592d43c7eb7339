"""The contract between an architecture's trap glue and the kernel model.

The arch plugin turns a stop at the kernel breakpoint into a :class:`Trap`;
the kernel answers with a :class:`Resume`, which the arch plugin turns into
the exit block. Nothing here knows about GDB, QEMU or a particular CPU.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol


class Syscall(enum.IntEnum):
    """L4 X.2 system calls, numbered as the trap ABI carries them."""

    KernelInterface = 1
    ExchangeRegisters = 2
    ThreadControl = 3
    SystemClock = 4
    ThreadSwitch = 5
    Schedule = 6
    Ipc = 7
    Lipc = 8
    Unmap = 9
    SpaceControl = 10
    ProcessorControl = 11
    MemoryControl = 12
    KDebug = 13


class KDebugOp(enum.IntEnum):
    PrintChar = 0
    ReadChar = 1
    PrintString = 2
    Exit = 3
    Enter = 4


class TrapKind(enum.Enum):
    BOOT = "boot"            # first entry: nothing runs yet
    SYSCALL = "syscall"      # number = Syscall value (or an arch/compat number)
    EXCEPTION = "exception"  # undefined instruction etc.; number = arch exception code
    PAGEFAULT = "pagefault"  # fault_addr / fault_access set
    INTERRUPT = "interrupt"  # device interrupt; number = irq
    TIMER = "timer"          # the host stopped the guest at a deadline (or the CPU was idle)


@dataclass(frozen=True)
class ArchInfo:
    """What the kernel model needs to know about a CPU: data only.

    Construction fails when a field is missing, so a half-described
    architecture never reaches the kernel.
    """

    name: str
    word_size: int                       # bytes: 4 or 8
    reg_names: tuple[str, ...]           # user-visible registers saved per thread
    ip_reg: str
    sp_reg: str
    flags_reg: str
    user_flags: int                      # flags value of a fresh user thread
    flags_user_mask: int                 # bits a user may change through ExchangeRegisters
    syscall_arg_regs: tuple[str, ...]
    syscall_result_regs: tuple[str, ...]
    page_size_log2s: tuple[int, ...] = (12,)
    kernel_id: int = (4 << 24) | (2 << 16)
    fpu_area_size: int = 0               # bytes of one thread's FPU save area (0: no FPU switch)

    def __post_init__(self) -> None:
        if self.word_size not in (4, 8):
            raise ValueError(f"{self.name}: word_size must be 4 or 8, not {self.word_size}")
        for reg in (self.ip_reg, self.sp_reg, self.flags_reg, *self.syscall_arg_regs,
                    *self.syscall_result_regs):
            if reg not in self.reg_names:
                raise ValueError(f"{self.name}: register {reg!r} is not in reg_names")
        if len(self.syscall_arg_regs) < 7 or len(self.syscall_result_regs) < 7:
            raise ValueError(f"{self.name}: the L4 ABI needs 7 argument and 7 result registers")

    @property
    def word_mask(self) -> int:
        return (1 << (8 * self.word_size)) - 1

    @property
    def word_bits(self) -> int:
        return 8 * self.word_size


@dataclass
class Trap:
    """One kernel entry, decoded by the arch plugin."""

    kind: TrapKind
    number: int = 0                      # syscall number / exception code / irq
    regs: dict[str, int] | None = None   # user context; ip = where the thread resumes
    utcb_addr: int = 0                   # address of the UTCB snapshot (0: none)
    utcb: bytes | None = None            # snapshot of the current thread's UTCB
    fault_addr: int = 0
    fault_access: int = 0                # rwx bits of the faulting access (4 r, 2 w, 1 x)
    detail: dict[str, int] = field(default_factory=dict)   # arch extras (fsr, insn word...)


@dataclass
class Resume:
    """What the kernel wants the CPU to do next."""

    thread: int | None                   # global id of the thread to run; None = idle
    regs: dict[str, int] | None = None   # its user context
    utcb_addr: int = 0                   # its UTCB (entry stub copies it on the next trap)
    tls: int = 0                         # value of the user thread register (TPIDRURO on ARM)
    fpu_area: int = 0                    # the thread's FPU save area (0: leave the FPU alone)
    tls_user: bool = False               # tls is a value the program set (Linux set_tls &c.)
    space_root: int = 0                  # page-table base of its space (0 = unchanged)
    writes: list[tuple[int, bytes]] = field(default_factory=list)  # memory to write first
    wake_at_us: int | None = None        # next deadline on the kernel clock (None = none)
    exit_status: int | None = None       # set when the system is finished (root task exit)
    irq_unmask: tuple[int, ...] = ()     # interrupt lines to enable on the way out
    irq_mask: tuple[int, ...] = ()       # interrupt lines to disable on the way out


class Memory(Protocol):
    """Guest memory as the kernel reads it mid-entry, at kernel addresses (the
    machine's physical view through the kernel window). The kernel's own
    ``Kernel.read_memory``/``write_memory`` are the one way in for every part of
    the kernel and its servers: they add the writes queued in this entry and
    turn a bad address into None."""

    def read(self, addr: int, n: int) -> bytes: ...
