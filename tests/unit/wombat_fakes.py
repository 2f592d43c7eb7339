"""Fakes the Wombat file tests share: a process as the Vfs sees it, a directory
listing through getdents64, and l4gdb's terminal as the Linux console sees it."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from l4gdb.wombat.files import FdTable


@dataclass
class Proc:
    pid: int = 7
    cwd: str = "/"
    exe: str = "/bin/busybox"
    umask: int = 0o022
    fds: FdTable = field(default_factory=FdTable)


def dir_names(v: Any, proc: Any, path: str, flags: dict[str, int]) -> list[str]:
    """The names getdents64 gives for ``path`` (without . and ..); ``flags``: the open flags."""
    f = v.open(proc, path, flags["O_RDONLY"] | flags["O_DIRECTORY"])
    try:
        data = f.getdents64(1 << 16)
    finally:
        f.release()
    out, off = [], 0
    while off < len(data):
        reclen = struct.unpack_from("<H", data, off + 16)[0]
        out.append(data[off + 19:off + reclen].split(b"\0", 1)[0].decode())
        off += reclen
    return sorted(n for n in out if n not in (".", ".."))


class Screen:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Terminal:
    """l4gdb's terminal as the Linux console sees it (``out``: l4gdb's stdout; ``written``:
    what reached it, write by write; ``queue``: the keys typed, not yet read)."""

    def __init__(self, tty: bool = True) -> None:
        self.written: list[bytes] = []
        self.out = Screen(tty)
        self.queue: list[int] = []
        self.eof = False

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def read_char(self) -> int | None:
        return self.queue.pop(0) if self.queue else None

    def type(self, text: bytes) -> None:
        self.queue.extend(text)
