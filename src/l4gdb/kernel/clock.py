"""The kernel clock: microseconds since boot."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_us(self) -> int: ...


class MonotonicClock:
    """Host wall time (monotonic), starting at 0 when created."""

    def __init__(self) -> None:
        self._start = time.monotonic_ns()

    def now_us(self) -> int:
        return (time.monotonic_ns() - self._start) // 1000


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: int = 0) -> None:
        self.now = now

    def now_us(self) -> int:
        return self.now

    def advance(self, us: int) -> None:
        self.now += us


class GuestClock:
    """The guest's own clock: the host sets it from every kernel entry (the
    counter the vector stub read). It advances while the guest runs and,
    because QEMU stops and resumes its virtual clock with a delay, for part
    of every host round trip too (docs/internals.md); with QEMU -icount it is
    the same run after run when the guest's work is."""

    def __init__(self) -> None:
        self.now = 0

    def now_us(self) -> int:
        return self.now

    def observe(self, us: int) -> None:
        if us > self.now:          # never backwards
            self.now = us
