"""L4 X.2 data types as plain integers plus small codecs.

The kernel works on raw words everywhere (that is what crosses the trap ABI);
these helpers name the bit fields. Every decoder accepts any integer, so a
guest can pass garbage without making the host raise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NILTHREAD = 0
LOCAL_ID_MASK = 0x3F            # a local id has its low 6 bits clear


def any_thread(bits: int) -> int:
    return (1 << bits) - 1


def any_local_thread(bits: int) -> int:
    return ((1 << bits) - 1) & ~LOCAL_ID_MASK


@dataclass(frozen=True)
class ThreadId:
    """A global thread id: thread number and version.

    32-bit: ``no << 14 | version`` (version 14 bits); 64-bit: ``no << 32 | version``.
    """

    thread_no: int
    version: int

    @staticmethod
    def version_bits(bits: int) -> int:
        return 14 if bits == 32 else 32

    def raw(self, bits: int) -> int:
        vb = self.version_bits(bits)
        return ((self.thread_no << vb) | (self.version & ((1 << vb) - 1))) & ((1 << bits) - 1)

    @classmethod
    def from_raw(cls, raw: int, bits: int) -> ThreadId:
        vb = cls.version_bits(bits)
        return cls(raw >> vb, raw & ((1 << vb) - 1))


def is_nil(raw: int) -> bool:
    return raw == NILTHREAD


def is_any(raw: int, bits: int) -> bool:
    return raw == any_thread(bits)


def is_anylocal(raw: int, bits: int) -> bool:
    return raw == any_local_thread(bits)


def is_local_id(raw: int, bits: int) -> bool:
    """A local id (an UTCB address), excluding nil and anylocalthread."""
    return raw != NILTHREAD and raw & LOCAL_ID_MASK == 0 and not is_anylocal(raw, bits)


def is_global_id(raw: int, bits: int) -> bool:
    """A global id naming one thread (not nil, not any)."""
    return raw & LOCAL_ID_MASK != 0 and not is_any(raw, bits)


def thread_no_bits(bits: int) -> int:
    """Valid thread-number bits (KIP ThreadInfo t)."""
    return 18 if bits == 32 else 32


# --- message tag -------------------------------------------------------------

class TagFlag(enum.IntFlag):
    PROPAGATED = 1
    REDIRECTED = 2
    XCPU = 4
    ERROR = 8


@dataclass(frozen=True)
class MsgTag:
    """MR0: ``u:6 | t:6 | flags:4 | label:16 (48 on 64-bit)``."""

    u: int = 0
    t: int = 0
    flags: int = 0
    label: int = 0

    @classmethod
    def from_raw(cls, raw: int) -> MsgTag:
        return cls(raw & 0x3F, (raw >> 6) & 0x3F, (raw >> 12) & 0xF, raw >> 16)

    def raw(self, bits: int) -> int:
        return ((self.u & 0x3F) | (self.t & 0x3F) << 6 | (self.flags & 0xF) << 12
                | self.label << 16) & ((1 << bits) - 1)

    @property
    def error(self) -> bool:
        return bool(self.flags & TagFlag.ERROR)

    @property
    def propagated(self) -> bool:
        return bool(self.flags & TagFlag.PROPAGATED)


def error_tag(bits: int) -> int:
    """The tag a failed IPC returns: only the error flag set."""
    return MsgTag(flags=TagFlag.ERROR).raw(bits)


def kernel_label(n: int, bits: int) -> int:
    """Label of kernel protocol ``-n << 4`` in the label field's width."""
    return (-n << 4) & ((1 << (bits - 16)) - 1)


class KernelLabel(enum.IntEnum):
    """``n`` of the kernel protocols whose label is ``-n << 4``."""

    INTERRUPT = 1
    PAGEFAULT = 2
    PREEMPTION = 3
    EXCEPTION = 4
    ARCH_EXCEPTION = 5
    SIGMA0 = 6


# --- time --------------------------------------------------------------------

NEVER = 0
ZERO_TIME = 1 << 10            # period with e = 1, m = 0


@dataclass(frozen=True)
class Timeout:
    """One 16-bit time value: ``m:10 | e:5 | a:1`` (period) or a point (a = 1).

    ``us`` is None for Never, 0 for zero time. Time points (absolute) are
    not implemented by Pistachio either; they are read as a period
    ``m << e`` relative to now (documented gap).
    """

    raw: int

    @property
    def is_never(self) -> bool:
        return self.raw & 0xFFFF == NEVER

    @property
    def is_point(self) -> bool:
        return bool(self.raw & 0x8000)

    @property
    def us(self) -> int | None:
        raw = self.raw & 0xFFFF
        if raw == NEVER:
            return None
        m = raw & 0x3FF
        e = (raw >> 10) & (0xF if self.is_point else 0x1F)
        return m << e

    @property
    def is_zero(self) -> bool:
        return self.us == 0

    @staticmethod
    def period(us: int | None) -> int:
        """Encode microseconds as a 16-bit period (rounded down); None = Never."""
        if us is None:
            return NEVER
        if us <= 0:
            return ZERO_TIME
        e = 0
        while us >= 1 << 10 and e < 31:
            us >>= 1
            e += 1
        return (min(us, 0x3FF)) | (e << 10)


def split_timeouts(word: int) -> tuple[Timeout, Timeout]:
    """``Timeouts = snd << 16 | rcv``."""
    return Timeout((word >> 16) & 0xFFFF), Timeout(word & 0xFFFF)


# --- fpages ------------------------------------------------------------------

@dataclass(frozen=True)
class Fpage:
    """``rwx:3 | extended:1 | s:6 | b:(bits-10)``; size 2^s, s = 0 is nil."""

    base: int
    size_log2: int
    rights: int = 0

    @classmethod
    def from_raw(cls, raw: int) -> Fpage:
        s = (raw >> 4) & 0x3F
        base = raw & ~0x3FF
        if s >= 10:
            base &= ~((1 << s) - 1)
        return cls(base, s, raw & 7)

    def raw(self, bits: int) -> int:
        return ((self.base & ~0x3FF) | (self.size_log2 & 0x3F) << 4 | (self.rights & 7)) \
            & ((1 << bits) - 1)

    @property
    def is_nil(self) -> bool:
        return self.size_log2 == 0

    @property
    def size(self) -> int:
        return 0 if self.size_log2 == 0 else 1 << self.size_log2

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, start: int, end: int) -> bool:
        return not self.is_nil and self.base <= start and end <= self.end

    def overlaps(self, other: Fpage) -> bool:
        return not (self.is_nil or other.is_nil) and self.base < other.end and other.base < self.end


NILPAGE = 0
MAP_ITEM_TYPE = 4              # typed item word0 bits 1..3: 0b100 map, 0b101 grant
GRANT_ITEM_TYPE = 5


# --- error codes -------------------------------------------------------------

class Error(enum.IntEnum):
    """ErrorCode TCR after a failed non-IPC system call."""

    OK = 0
    NoPrivilege = 1
    InvalidThread = 2
    InvalidSpace = 3
    InvalidScheduler = 4
    InvalidParam = 5
    UtcbArea = 6
    KipArea = 7
    NoMem = 8


class IpcError(enum.IntEnum):
    """``err`` of an IPC ErrorCode ``(offset << 4) | (err << 1) | phase``."""

    Timeout = 1
    NonExisting = 2
    Cancelled = 3
    Overflow = 4
    XferTimeoutCurrent = 5
    XferTimeoutPartner = 6
    Aborted = 7


SEND_PHASE = 0
RECEIVE_PHASE = 1


def ipc_error_code(err: IpcError, phase: int, offset: int = 0) -> int:
    return (offset << 4) | (int(err) << 1) | (phase & 1)
