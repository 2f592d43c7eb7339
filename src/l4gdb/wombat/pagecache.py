"""The page cache: file pages in frames, shared read-only by every process.

A file page is keyed by (file identity, page offset) and read into a frame
once; every process that maps it (program text, read-only data, unwritten
private data) maps that frame without write rights. A write to a private
mapping copies the page (see :mod:`l4gdb.wombat.mm`). Cached frames stay
while memory lasts; the frame pool asks :meth:`PageCache.reclaim` for the
ones no process holds when it runs out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from .frames import PAGE, FramePool


class Backing(Protocol):
    """What a file mapping reads from. ``ident`` must change when the content
    does (e.g. (dev, ino, mtime_ns, size)), so the cache never serves old pages."""

    @property
    def ident(self) -> Hashable: ...

    def pread(self, offset: int, n: int) -> bytes: ...


@dataclass(eq=False)
class ImageFile:
    """A program image held in host memory (execve); identified by its content,
    so every path to the same binary (busybox's applet links) shares pages."""

    data: bytes
    path: str = ""

    def __post_init__(self) -> None:
        self._ident = ("image", hashlib.blake2b(self.data, digest_size=16).hexdigest())

    @property
    def ident(self) -> Hashable:
        return self._ident

    def pread(self, offset: int, n: int) -> bytes:
        return self.data[offset:offset + n] if offset >= 0 else b""


@dataclass(eq=False)
class Frame:
    """A frame a process memory holds at some page.

    ``refs``: how many process memories hold it (copy-on-write sharing after
    fork, MAP_SHARED anonymous memory, or one cached file page in many
    processes). ``key``: the page-cache key of a file page (never written).
    ``pinned``: the owner of a frame that is not Wombat's to free or to hand
    to one process alone (a native program's memsection, shared.py); it maps
    the frame itself (``map_page``)."""

    pa: int
    refs: int = 0
    key: tuple[Hashable, int] | None = None
    pinned: Any = None

    @property
    def cached(self) -> bool:
        return self.key is not None


class PageCache:
    def __init__(self, frames: FramePool) -> None:
        self.frames = frames
        self.pages: dict[tuple[Hashable, int], Frame] = {}
        self.fills = 0                    # pages read from files (statistics)

    def get(self, backing: Backing, offset: int) -> Frame:
        """The frame of the file page at ``offset`` (page aligned), filled once."""
        key = (backing.ident, offset)
        frame = self.pages.get(key)
        if frame is None:
            pa = self.frames.alloc(backing.pread(offset, PAGE))
            frame = Frame(pa, key=key)
            self.pages[key] = frame
            self.fills += 1
        return frame

    def peek(self, backing: Backing, offset: int) -> Frame | None:
        """The cached frame of that file page, if there is one (no filling)."""
        return self.pages.get((backing.ident, offset))

    def reclaim(self) -> int:
        """Free the cached frames no process holds; returns how many."""
        idle = [key for key, f in self.pages.items() if f.refs == 0]
        for key in idle:
            self.frames.free(self.pages.pop(key).pa)
        return len(idle)

    def describe(self) -> dict[str, int]:
        return {"pages": len(self.pages),
                "held": sum(1 for f in self.pages.values() if f.refs),
                "fills": self.fills}
