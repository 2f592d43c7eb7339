"""The entry/exit block codec every architecture's vector stub shares.

Layouts (docs/internals.md §3), in words of the architecture's size:

entry block (the stub writes, the host reads with one memory read)::

    0 kind    1 detail    2 far    3 fsr
    4 .. 4+N-1            the N user registers, in ``regs`` order
    4+N                   address of the UTCB copied below (0: none)
    U .. U+127            copy of that UTCB (U = 4+N+1 rounded up to 8)

exit block (the host writes with one memory write, the return path reads)::

    0 .. N-1              user registers
    N tls    N+1 current_utcb    N+2 space_root    N+3 ncopy
    N+4 ..                copy records: address, nwords, words...

An architecture plugin supplies the register order, how its entry kinds map
to kernel traps, and how to make register values safe for user mode.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from l4gdb.kernel.abi import Resume, Trap, TrapKind

HEADER_WORDS = 4
UTCB_WORDS = 128
MARK_KIND = 0xFFFFFFFF       # kind while user code runs (set by the return path)


def _align8(n: int) -> int:
    return (n + 7) & ~7


@dataclass(frozen=True)
class EntryKinds:
    """An architecture's entry kinds (the stub's word 0)."""

    boot: int
    syscall: int
    exception: int
    prefetch_fault: int
    data_fault: int
    interrupt: tuple[int, ...] = ()


@dataclass
class BlockTrapGlue:
    """A :class:`~l4gdb.hookspecs.TrapGlue` for stubs that use the shared blocks."""

    regs: tuple[str, ...]
    word_size: int
    kinds: EntryKinds
    bp_addr: int
    entry_block_addr: int
    exit_block_addr: int
    return_addr: int
    kernel_low: int
    kernel_high: int
    preempt_addr: int
    preempt_number: int
    ip_reg: str
    sanitize: Callable[[dict[str, int]], dict[str, int]]     # user-safe register values
    data_fault_access: Callable[[int], int] = lambda fsr: 4  # rwx of a data fault
    exception_number: Callable[[int], int] = lambda detail: detail  # Trap.number of a kind-2
    exit_block_max: int = 1536
    # Where the return path finds the FPU save area of the thread it resumes
    # (None: the arch switches no FPU state); written only when it changes.
    fpu_next_addr: int | None = None
    _fpu_sent: int = field(default=0, init=False, repr=False)
    # Where a CPU stopped in user mode finds the entry block physically, when that is
    # not entry_block_addr itself (MIPS: the blocks are in kseg0, the CPU's user mode
    # cannot see it and QEMU's physical view has RAM at 0).
    entry_block_paddr: int | None = None
    _fmt: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._fmt = "<I" if self.word_size == 4 else "<Q"
        self._mask = (1 << (8 * self.word_size)) - 1
        self.mark_kind = self._mask if self.word_size == 8 else MARK_KIND

    # -- layout ---------------------------------------------------------
    @property
    def utcb_addr_index(self) -> int:
        return HEADER_WORDS + len(self.regs)

    @property
    def utcb_index(self) -> int:
        return _align8(self.utcb_addr_index + 1)

    @property
    def entry_block_size(self) -> int:
        return (self.utcb_index + UTCB_WORDS) * self.word_size

    @property
    def exit_header_words(self) -> int:
        return len(self.regs) + 4

    def _words(self, data: bytes, n: int) -> tuple[int, ...]:
        return struct.unpack(f"<{n}{self._fmt[1]}", data[: n * self.word_size])

    # -- the TrapGlue interface -------------------------------------------
    def decode(self, block: bytes) -> Trap | None:
        w = self._words(block, self.utcb_index)
        kind, detail, far, fsr = w[:HEADER_WORDS]
        if kind == self.mark_kind:
            return None
        k = self.kinds
        if kind == k.boot:
            return Trap(TrapKind.BOOT)
        regs = dict(zip(self.regs, w[HEADER_WORDS:self.utcb_addr_index], strict=True))
        utcb_addr = w[self.utcb_addr_index]
        utcb = block[self.utcb_index * self.word_size:] if utcb_addr else None
        trap = Trap(TrapKind.SYSCALL, number=detail, regs=regs, utcb_addr=utcb_addr, utcb=utcb,
                    detail={"insn": detail, "far": far, "fsr": fsr})
        if kind == k.syscall:
            return trap
        if kind == k.exception:
            trap.kind, trap.number = TrapKind.EXCEPTION, self.exception_number(detail)
        elif kind == k.prefetch_fault:
            trap.kind, trap.fault_addr, trap.fault_access = TrapKind.PAGEFAULT, far, 1
        elif kind == k.data_fault:
            trap.kind, trap.fault_addr = TrapKind.PAGEFAULT, far
            trap.fault_access = self.data_fault_access(fsr)
        elif kind in k.interrupt:
            trap.kind = TrapKind.INTERRUPT
        else:
            trap.kind = TrapKind.EXCEPTION   # a kind the stub should never write
        return trap

    def encode_exit(self, resume: Resume) -> tuple[bytes, list[tuple[int, bytes]]]:
        regs = self.sanitize(dict(resume.regs or {}))
        m = self._mask
        words = [regs.get(r, 0) & m for r in self.regs]
        words += [resume.tls & m, resume.utcb_addr & m, resume.space_root & m, 0]
        c = self._fmt[1]
        body = bytearray(struct.pack(f"<{len(words)}{c}", *words))
        rec = struct.Struct(f"<2{c}")
        ws = self.word_size
        leftover: list[tuple[int, bytes]] = []
        ncopy = 0
        writes = resume.writes
        if self.fpu_next_addr is not None and resume.fpu_area != self._fpu_sent:
            self._fpu_sent = resume.fpu_area
            writes = [*writes, (self.fpu_next_addr, (resume.fpu_area & m).to_bytes(ws, "little"))]
        for addr, data in writes:
            fits = len(body) + rec.size + len(data) <= self.exit_block_max
            if addr % ws or len(data) % ws or not fits:
                leftover.append((addr, data))
                continue
            body += rec.pack(addr, len(data) // ws) + data
            ncopy += 1
        struct.pack_into(self._fmt, body, (self.exit_header_words - 1) * ws, ncopy)
        return bytes(body), leftover

    def user_regs_from_gdb(self, regs: dict[str, int]) -> dict[str, int]:
        return {r: regs.get(r, 0) for r in self.regs}

    def in_kernel(self, pc: int) -> bool:
        return self.kernel_low <= pc < self.kernel_high

    def enter_kernel(self, regs: dict[str, int]) -> dict[str, int]:
        # Only registers the target has (``regs`` are the live ones): an arch's
        # sanitize may add pseudo registers (a flags word the CPU does not have).
        safe = self.sanitize(dict(regs))
        return {**{k: v for k, v in safe.items() if k in regs}, self.ip_reg: self.preempt_addr}

    def is_preempt_entry(self, trap: Trap) -> bool:
        return trap.kind is TrapKind.SYSCALL and trap.number == self.preempt_number


def require_symbols(arch: str, symbols: dict[str, int], names: tuple[str, ...]) -> None:
    missing = [s for s in names if s not in symbols]
    if missing:
        raise ValueError(f"{arch} kernel image lacks symbols: {', '.join(missing)}")


STUB_SYMBOLS = ("l4k_trap_bp", "l4k_entry_block", "l4k_exit_block", "l4k_return",
                "l4k_kernel_end", "l4k_preempt_gate")
