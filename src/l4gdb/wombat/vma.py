"""Virtual memory areas of a Linux process: sorted, non-overlapping, page aligned.

An area says what a range *may* hold (rights, sharing, the file behind it);
the frames a process actually has are the memory's business
(:mod:`l4gdb.wombat.mm`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from l4gdb.kernel.paging import R, W, X

if TYPE_CHECKING:
    from .pagecache import Backing


@dataclass(eq=False)
class Vma:
    start: int
    end: int
    prot: int                          # L4 rights: R 4, W 2, X 1
    shared: bool = False               # MAP_SHARED (else private: copy on write)
    backing: Backing | None = None     # None: anonymous
    offset: int = 0                    # file offset of ``start``
    file_end: int | None = None        # bytes from here on are zero (ELF bss in a file page)
    name: str = ""                     # path, "[heap]", "[stack]"
    growsdown: bool = False

    @property
    def size(self) -> int:
        return self.end - self.start

    def file_offset(self, va: int) -> int:
        return self.offset + (va - self.start)

    def perms(self) -> str:
        return ("r" if self.prot & R else "-") + ("w" if self.prot & W else "-") \
            + ("x" if self.prot & X else "-") + ("s" if self.shared else "p")

    def cut(self, at: int) -> tuple[Vma, Vma]:
        """Two areas [start, at) and [at, end) with the same meaning."""
        lo = replace(self, end=at)
        hi = replace(self, start=at, offset=self.file_offset(at))
        return lo, hi

    def joins(self, nxt: Vma) -> bool:
        """nxt continues this area exactly (so the two may be one)."""
        return (self.end == nxt.start and self.prot == nxt.prot and self.shared == nxt.shared
                and self.backing is nxt.backing and self.name == nxt.name
                and self.growsdown == nxt.growsdown and self.file_end is None
                and nxt.file_end is None
                and (self.backing is None or nxt.offset == self.file_offset(nxt.start)))


class VmaList:
    def __init__(self) -> None:
        self.items: list[Vma] = []

    def __iter__(self):
        return iter(list(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def clear(self) -> None:
        self.items.clear()

    def _index(self, addr: int) -> int:
        """Index of the first area ending above addr."""
        return bisect.bisect_right([v.end for v in self.items], addr)

    def find(self, addr: int) -> Vma | None:
        i = self._index(addr)
        if i < len(self.items) and self.items[i].start <= addr:
            return self.items[i]
        return None

    def next_above(self, addr: int) -> Vma | None:
        """The first area that ends above addr (it may contain addr)."""
        i = self._index(addr)
        return self.items[i] if i < len(self.items) else None

    def prev_below(self, addr: int) -> Vma | None:
        """The last area that ends at or below addr."""
        i = self._index(addr)
        return self.items[i - 1] if i > 0 else None

    def overlapping(self, lo: int, hi: int) -> list[Vma]:
        return [v for v in self.items[self._index(lo):] if v.start < hi]

    def covered(self, lo: int, hi: int) -> bool:
        """[lo, hi) lies wholly inside areas (no hole)."""
        at = lo
        for v in self.overlapping(lo, hi):
            if v.start > at:
                return False
            at = v.end
        return at >= hi

    def insert(self, vma: Vma) -> Vma:
        """Add an area over free space; it merges with neighbours it continues."""
        assert vma.start < vma.end and not self.overlapping(vma.start, vma.end), vma
        i = self._index(vma.start)
        self.items.insert(i, vma)
        if i + 1 < len(self.items) and vma.joins(self.items[i + 1]):
            vma.end = self.items.pop(i + 1).end
        if i > 0 and self.items[i - 1].joins(vma):
            prev = self.items[i - 1]
            prev.end = vma.end
            self.items.pop(i)
            vma = prev
        return vma

    def carve(self, lo: int, hi: int) -> list[Vma]:
        """Remove and return the parts of areas inside [lo, hi), splitting at the edges."""
        out = []
        for v in self.overlapping(lo, hi):
            self.items.remove(v)
            rest = v
            if rest.start < lo:
                keep, rest = rest.cut(lo)
                self.items.insert(self._index(keep.start), keep)
            if rest.end > hi:
                rest, keep = rest.cut(hi)
                self.items.insert(self._index(keep.start), keep)
            out.append(rest)
        return out
