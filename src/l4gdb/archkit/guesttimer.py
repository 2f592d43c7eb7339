"""The guest timer an architecture's stub keeps in a *timer block*, shared codec.

Every stub with a guest timer (docs/internals.md §3.3 and the per-arch
sections) keeps the same 64-byte block, 32-bit little-endian words the host
writes and the return path applies (then clears):

| byte | field |
|---|---|
| 0 | ``tick``: counter ticks per timer tick (the reload) |
| 4 | ``arm``: non-zero = start the tick on the way out |
| 8 | ``freq``: the counter's frequency (the stub stores it at boot; 0 = the arch's default) |
| 12 | ``ops``: non-zero = apply the four words below |
| 16, 20 | lines to enable (bit n of word n >> 5) |
| 24, 28 | lines to disable |
| 32 | ``skip``: ticks the vector absorbs without a kernel entry |
| 36.. | the stub's own words |

and writes the guest's counter into the entry block at every entry: the
kernel clock (64 bits; a stub with room for only 32 leaves the wrap to the
host, which then caps ``skip`` so that an entry comes at least once a wrap).
An arch plugin gives the interrupt number of its tick, the lines that exist
and the counter's default frequency.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from l4gdb.archkit.trapblocks import BlockTrapGlue
from l4gdb.kernel.abi import Trap, TrapKind

TB_TICK, TB_ARM, TB_FREQ, TB_OPS, TB_UNMASK, TB_MASK, TB_SKIP = 0, 4, 8, 12, 16, 24, 32
MAX_LINES = 64                    # two words of line bits


@dataclass
class BlockGuestTimer:
    """A :class:`~l4gdb.hookspecs.GuestTimer` for stubs that keep the shared block."""

    tick_irq: int
    block_addr: int
    idle_pc: int
    default_freq: int             # the counter's frequency when the stub stored none
    lines: range                  # interrupt numbers that exist
    max_skip: int = 0xFFFFFFFF    # ticks the stub may absorb in a row
    freq: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.freq = self.default_freq

    def start(self, read, tick_us: int) -> list[tuple[int, bytes]]:
        freq = struct.unpack("<I", bytes(read(self.block_addr + TB_FREQ, 4)))[0]
        self.freq = freq or self.default_freq
        ticks = max(1, self.freq * tick_us // 1_000_000)
        return [(self.block_addr, struct.pack("<II", ticks, 1))]

    def time_us(self, trap: Trap) -> int | None:
        counter = trap.detail.get("counter")
        return None if counter is None else counter * 1_000_000 // self.freq

    def irq_writes(self, unmask: list[int], mask: list[int]) -> list[tuple[int, bytes]]:
        def bits(irqs: list[int]) -> tuple[int, int]:
            words = [0, 0]
            for irq in irqs:
                if 0 <= irq < MAX_LINES:
                    words[irq >> 5] |= 1 << (irq & 31)
            return words[0], words[1]
        return [(self.block_addr + TB_OPS, struct.pack("<5I", 1, *bits(unmask), *bits(mask)))]

    def skip_write(self, ticks: int) -> tuple[int, bytes]:
        return (self.block_addr + TB_SKIP, struct.pack("<I", max(0, min(ticks, self.max_skip))))

    def valid_irqs(self) -> range:
        return self.lines


@dataclass
class CounterTrapGlue(BlockTrapGlue):
    """The shared codec, plus the counter the stub stores at every entry
    (``counter_offset``: its byte offset in the entry block, 0 = none;
    ``counter_size``: 8, or 4 when the host extends a 32-bit counter's wraps)."""

    counter_offset: int = 0
    counter_size: int = 8
    _wraps: int = field(default=0, init=False, repr=False)
    _last: int = field(default=0, init=False, repr=False)

    def decode(self, block: bytes) -> Trap | None:
        trap = super().decode(block)
        off = self.counter_offset
        if trap is None or not off or len(block) < off + self.counter_size:
            return trap
        if self.counter_size == 8:
            trap.detail["counter"] = struct.unpack_from("<Q", block, off)[0]
            return trap
        low = struct.unpack_from("<I", block, off)[0]
        if trap.kind is not TrapKind.BOOT:
            if low < self._last:
                self._wraps += 1
            self._last = low
            trap.detail["counter"] = self._wraps << 32 | low
        return trap
