"""Pipe buffers: 64 KiB, PIPE_BUF atomicity, EOF and EPIPE as Linux gives them.

A pipe never blocks the host: an operation that would have to wait returns
:data:`WOULD_BLOCK` and the server runs the system call again later.
"""

from __future__ import annotations

import itertools
from typing import Any

from .errors import LinuxError

PIPE_CAPACITY = 65536     # Linux's default pipe size (16 pages)
PIPE_BUF = 4096           # writes up to this size are atomic (POSIX, pipe(7))


class _WouldBlock:
    def __repr__(self) -> str:
        return "WOULD_BLOCK"


WOULD_BLOCK: Any = _WouldBlock()   # "try again later" from a read or write


class BrokenPipe(LinuxError):
    """EPIPE; the caller also gets SIGPIPE (the server reads ``signal``)."""

    signal = "SIGPIPE"

    def __init__(self) -> None:
        super().__init__("EPIPE", "no reader on the pipe")


_ids = itertools.count(4096)


class Pipe:
    """One pipe: a byte queue with counts of open read and write ends."""

    def __init__(self, capacity: int = PIPE_CAPACITY) -> None:
        self.capacity = capacity
        self.buf = bytearray()
        self.readers = 0
        self.writers = 0
        self.ino = next(_ids)        # shown as pipe:[ino] and in fstat

    # -- data ---------------------------------------------------------------------
    def read(self, n: int) -> bytes | Any:
        if n <= 0:
            return b""
        if self.buf:
            data = bytes(self.buf[:n])
            del self.buf[:n]
            return data
        if self.writers == 0:
            return b""                   # EOF: no writer can add data any more
        return WOULD_BLOCK

    def write(self, data: bytes) -> int | Any:
        if self.readers == 0:
            raise BrokenPipe()
        if not data:
            return 0
        space = self.capacity - len(self.buf)
        if len(data) <= PIPE_BUF:
            if space < len(data):
                return WOULD_BLOCK       # atomic: all or nothing
            self.buf += data
            return len(data)
        if space == 0:
            return WOULD_BLOCK
        take = min(space, len(data))
        self.buf += data[:take]
        return take

    # -- readiness ----------------------------------------------------------------
    def readable(self) -> bool:
        return bool(self.buf) or self.writers == 0

    def writable(self) -> bool:
        return self.readers == 0 or self.capacity - len(self.buf) >= PIPE_BUF

    def available(self) -> int:
        return len(self.buf)
