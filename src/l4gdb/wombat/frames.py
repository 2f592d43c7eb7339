"""Physical frames for Linux processes, taken from sigma0's free memory.

The Linux server owns the frames it hands to processes (sigma0's ``owner``
records its space, as for Iguana's memsections) and maps them from its
physical host space. A frame is written in full when it is handed out (the
caller's bytes, zeros after them), so no process sees another's old data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import LinuxError

if TYPE_CHECKING:
    from l4gdb.kernel.kernel import Kernel
    from l4gdb.kernel.sigma0 import Sigma0
    from l4gdb.kernel.space import Space

PAGE_LOG2 = 12
PAGE = 1 << PAGE_LOG2
KEEP_FREE = 1024          # frames kept for reuse before they go back to sigma0


def page_down(a: int) -> int:
    return a & ~(PAGE - 1)


def page_up(a: int) -> int:
    return (a + PAGE - 1) & ~(PAGE - 1)


class FramePool:
    """Page frames for process memory; ``reclaim`` (the page cache's) is asked
    to give frames back when sigma0 has none left."""

    def __init__(self, kernel: Kernel, host_space: Space,
                 reclaim: Callable[[], int] | None = None) -> None:
        self.kernel = kernel
        self.host_space = host_space
        self.reclaim = reclaim
        self.in_use = 0
        self._spare: list[int] = []     # ours, free: reused before asking sigma0 again

    @property
    def _sigma0(self) -> Sigma0:
        s0 = self.kernel.sigma0
        assert s0 is not None and s0.host is not None, "the kernel has not booted"
        return s0.host                                          # type: ignore[return-value]

    def _take(self) -> int | None:
        if self._spare:
            return self._spare.pop()
        s0 = self._sigma0
        pa = s0._find_free(PAGE_LOG2)
        if pa is not None:
            s0.owner[pa] = self.host_space.ident
        return pa

    def alloc(self, content: bytes = b"") -> int:
        """A frame holding ``content`` followed by zeros; ENOMEM when memory is out."""
        pa = self._take()
        if pa is None and self.reclaim is not None and self.reclaim():
            pa = self._take()
        if pa is None:
            raise LinuxError("ENOMEM", "no free frames")
        self.in_use += 1
        page = bytes(content[:PAGE]).ljust(PAGE, b"\0")
        self.kernel.write_memory(self.kaddr(pa), page)
        return pa

    def free(self, pa: int) -> None:
        self.in_use -= 1
        if len(self._spare) < KEEP_FREE:
            self._spare.append(pa)
        else:
            self._sigma0.owner.pop(pa, None)

    def kaddr(self, pa: int) -> int:
        """Where the kernel reaches frame ``pa`` (flat machines: pa itself)."""
        paging = self.kernel.paging
        return pa if paging is None else paging.kernel_address(pa)

    def read(self, pa: int, n: int = PAGE) -> bytes:
        """Bytes of frames from pa on (one target read)."""
        data = self.kernel.read_memory(self.kaddr(pa), n)
        if data is None:
            raise LinuxError("EFAULT", f"frame {pa:#x} is not readable")
        return data
