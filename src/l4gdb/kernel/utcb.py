"""UTCB layout (contract §5): word offsets from the UTCB address (= local id)."""

from __future__ import annotations

import bisect
import enum
import struct

UTCB_WORDS = 128
NUM_MRS = 64
NUM_BRS = 33


class Tcr(enum.IntEnum):
    """Thread control registers, word offsets."""

    MyGlobalId = 64
    ProcessorNo = 65
    UserDefinedHandle = 66
    Pager = 67
    ExceptionHandler = 68
    Flags = 69                  # byte 0 PreemptFlags, byte 1 CopFlags
    ErrorCode = 70
    XferTimeouts = 71
    IntendedReceiver = 72
    ActualSender = 73           # also VirtualSender
    ThreadWord0 = 74
    ThreadWord1 = 75


MR0 = 0
BR0 = 80


class Utcb:
    """A host-side copy of one thread's UTCB, in words.

    Filled from the snapshot of the thread's last kernel entry and kept in
    step with every write the kernel sends to the guest, so message delivery
    never needs a memory read.
    """

    __slots__ = ("words", "word_size")

    def __init__(self, word_size: int, data: bytes | None = None) -> None:
        self.word_size = word_size
        self.words = [0] * UTCB_WORDS
        if data:
            self.load(data)

    def load(self, data: bytes) -> None:
        # One struct call per UTCB: this runs on every kernel entry.
        n = min(len(data) // self.word_size, UTCB_WORDS)
        self.words[:n] = _WORDS[self.word_size][n].unpack_from(data)

    def mr(self, i: int) -> int:
        return self.words[MR0 + i]

    def tcr(self, tcr: Tcr) -> int:
        return self.words[tcr]

    def br(self, i: int) -> int:
        return self.words[BR0 + i]


def encode_words(values: list[int] | tuple[int, ...], word_size: int) -> bytes:
    mask = (1 << (8 * word_size)) - 1
    return _WORDS[word_size][len(values)].pack(*(v & mask for v in values))


class _StructCache(dict):
    """Little-endian word structs by count, built on first use."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def __missing__(self, n: int) -> struct.Struct:
        st = self[n] = struct.Struct(f"<{n}{self.code}")
        return st


_WORDS = {4: _StructCache("I"), 8: _StructCache("Q")}


def merge_writes(writes: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Coalesce (address, bytes) records into ordered, non-overlapping ranges.

    Records are applied in order, so a later record wins where two overlap;
    touching ranges are joined so the exit block carries fewer records.
    O(n log n + bytes): the spans come from one sweep over the sorted records,
    then every record is copied once into its span (a long string copy queues
    thousands of page records).
    """
    recs = [(a, d) for a, d in writes if d]
    spans: list[list[int]] = []                       # [lo, hi), sorted, disjoint
    for a, d in sorted(recs, key=lambda r: r[0]):
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], a + len(d))
        else:
            spans.append([a, a + len(d)])
    starts = [lo for lo, _ in spans]
    bufs = [bytearray(hi - lo) for lo, hi in spans]
    for a, d in recs:                                 # queue order: later wins
        j = bisect.bisect_right(starts, a) - 1
        off = a - starts[j]
        bufs[j][off:off + len(d)] = d
    return [(lo, bytes(b)) for lo, b in zip(starts, bufs, strict=True)]
