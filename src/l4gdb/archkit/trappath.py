"""The arch side of one stop: entry block -> Trap, Resume -> exit block.

The run loop's work per kernel entry is ``decode -> Kernel.handle -> encode ->
resume``. Everything the architecture decides on the way lives here: the trap
codec (the plugin's :class:`~l4gdb.hookspecs.TrapGlue`) and, when the stub
ticks itself, the guest timer (:class:`~l4gdb.hookspecs.GuestTimer`): the
kernel clock read from the entry, the interrupt-line operations and the
tick-skip count that ride out with the exit, and the idle wait in the stub.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from l4gdb.hookspecs import GuestTimer, TrapGlue
from l4gdb.kernel.abi import ArchInfo, Resume, Trap, TrapKind
from l4gdb.kernel.clock import Clock

NO_DEADLINE_SKIP = 0xFFFFFFFF     # ticks the stub may absorb when nothing is ever due


@dataclass
class Exit:
    """What leaves the host for one kernel exit."""

    block: bytes | None                   # the exit block; None: nothing to run, CPU stays
    writes: list[tuple[int, bytes]] = field(default_factory=list)   # memory, before it
    idle_in_stub: bool = False            # the block makes the CPU wait in the stub


@dataclass
class TrapPath:
    """Decodes entries and encodes exits for one system (see the module doc).

    ``tick_us`` is the guest timer's period. ``tick_clock`` (deterministic
    runs): the kernel clock counts ticks instead of reading the guest's counter,
    so timeouts end on the same tick run after run. ``tick_skip``: the stub
    absorbs ticks before the next deadline (False: every tick is a kernel
    entry, as in a ticking kernel; the bench measures that worst case)."""

    arch: ArchInfo
    glue: TrapGlue
    clock: Clock
    timer: GuestTimer | None = None
    tick_us: int = 10_000
    tick_clock: bool = False
    tick_skip: bool = True

    def start(self, read) -> list[tuple[int, bytes]]:
        """Memory writes that start the guest's tick (``read(addr, n)``: guest memory)."""
        return [] if self.timer is None else self.timer.start(read, self.tick_us)

    def decode(self, block: bytes) -> Trap | None:
        """The Trap in an entry block (None: not a kernel entry)."""
        return self.glue.decode(block)

    def observe(self, trap: Trap) -> None:
        """Move the kernel clock to the time of an entry the kernel takes now (the
        guest timer's counter, or one tick per tick interrupt in deterministic
        runs); an entry only queued for later is not observed."""
        timer = self.timer
        if timer is None:
            return
        if self.tick_clock:
            if trap.kind is TrapKind.INTERRUPT and trap.number == timer.tick_irq:
                self.clock.observe(self.clock.now_us() + self.tick_us)
            return
        us = timer.time_us(trap)
        if us is not None:
            self.clock.observe(us)

    def encode(self, resume: Resume) -> Exit:
        """The exit for the kernel's decision (``resume.exit_status`` is the caller's).
        The timer's writes join ``resume.writes``; its line operations go first."""
        timer = self.timer
        before: list[tuple[int, bytes]] = []
        idle = False
        if timer is not None:
            if resume.irq_unmask or resume.irq_mask:
                before = timer.irq_writes(list(resume.irq_unmask), list(resume.irq_mask))
            resume.writes.append(timer.skip_write(self._skip(resume.wake_at_us)))
            if resume.thread is None:
                # Wait in the stub: an exit block whose pc is the idle loop.
                resume = Resume(thread=None, regs={self.arch.ip_reg: timer.idle_pc},
                                writes=resume.writes)
                idle = True
        elif resume.thread is None:
            return Exit(None, resume.writes)        # the memory writes cannot wait
        block, leftover = self.glue.encode_exit(resume)
        return Exit(block, before + leftover, idle_in_stub=idle)

    def _skip(self, wake_at_us: int | None) -> int:
        """Ticks before the next deadline need no kernel entry (tickless while
        nothing is due); the deterministic clock counts every tick."""
        if not self.tick_skip or self.tick_clock:
            return 0
        if wake_at_us is None:
            return NO_DEADLINE_SKIP
        return (wake_at_us - self.clock.now_us()) // self.tick_us - 1
