"""A memsection's frame table, sparse: page index -> physical address.

A memsection's size is the guest's to choose (a fixed user memsection may span
most of a 64-bit address space), so nothing here is sized or looped by the
page count: only the backed pages are stored, and every walk is bounded by
the number of backed pages (or by the range asked for, when that is smaller).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import overload


class Frames:
    """``pages`` pages; an index without a frame is not backed (``None``)."""

    __slots__ = ("_by_index", "_by_pa", "pages")

    def __init__(self, pages: int = 0, backed: dict[int, int] | None = None) -> None:
        self.pages = pages
        self._by_index: dict[int, int] = {}
        self._by_pa: dict[int, int] = {}
        for i, pa in (backed or {}).items():
            self[i] = pa

    def __len__(self) -> int:
        return self.pages

    def __bool__(self) -> bool:          # False once its memsection is deleted (0 pages)
        return self.pages > 0

    def _index(self, i: int) -> int:
        if i < 0:
            i += self.pages
        if not 0 <= i < self.pages:
            raise IndexError(i)
        return i

    @overload
    def __getitem__(self, i: int) -> int | None: ...
    @overload
    def __getitem__(self, i: slice) -> list[int | None]: ...

    def __getitem__(self, i: int | slice) -> int | None | list[int | None]:
        if isinstance(i, slice):         # host-side use (tests, small ranges) only
            return [self._by_index.get(j) for j in range(*i.indices(self.pages))]
        return self._by_index.get(self._index(i))

    def __setitem__(self, i: int, pa: int | None) -> None:
        i = self._index(i)
        old = self._by_index.pop(i, None)
        if old is not None:
            self._by_pa.pop(old, None)
        if pa is not None:
            self._by_index[i] = pa
            self._by_pa[pa] = i

    def __contains__(self, pa: object) -> bool:
        return pa in self._by_pa

    def __iter__(self) -> Iterator[int | None]:
        """Every page (host-side use on small memsections: tests, comparisons)."""
        return (self._by_index.get(i) for i in range(self.pages))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frames):
            return self.pages == other.pages and self._by_index == other._by_index
        if isinstance(other, list):
            return len(other) == self.pages and list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Frames({self.pages}, {self._by_index!r})"

    @property
    def count(self) -> int:
        """The number of backed pages."""
        return len(self._by_index)

    def backed(self, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
        """(index, paddr) of the backed pages in [lo, hi), in order."""
        hi = self.pages if hi is None else min(hi, self.pages)
        lo = max(lo, 0)
        if hi - lo < len(self._by_index):
            got = [(i, self._by_index[i]) for i in range(lo, hi) if i in self._by_index]
        else:
            got = sorted((i, pa) for i, pa in self._by_index.items() if lo <= i < hi)
        return got

    def any_backed(self, lo: int = 0, hi: int | None = None) -> bool:
        hi = self.pages if hi is None else min(hi, self.pages)
        if hi - lo < len(self._by_index):
            return any(i in self._by_index for i in range(max(lo, 0), hi))
        return any(lo <= i < hi for i in self._by_index)

    def set_run(self, lo: int, paddrs: Iterable[int]) -> None:
        """Back pages lo, lo + 1, ... with paddrs (frames the caller has: bounded)."""
        for n, pa in enumerate(paddrs):
            self[lo + n] = pa

    def clear(self, lo: int = 0, hi: int | None = None) -> None:
        """Pages [lo, hi) not backed any more."""
        for i, _ in self.backed(lo, hi):
            self[i] = None

    def paddrs(self) -> list[int]:
        return list(self._by_index.values())
