"""The memory system calls of a process: brk, mmap, munmap, mprotect, madvise,
mremap, as Linux answers them (the order of its checks, its errno names).

A mixin of :class:`l4gdb.wombat.mm.Mm`: it works on the areas and leaves
frames and page tables to the memory's own primitives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from l4gdb.kernel.paging import R, W

from .errors import LinuxError
from .frames import PAGE, page_up
from .vma import Vma, VmaList

if TYPE_CHECKING:
    from .mm import MmContext
    from .pagecache import Backing, Frame

MIN_ADDR = 0x1_0000               # vm.mmap_min_addr (Debian's default)


@dataclass(frozen=True)
class MapFlags:
    """mmap's flags, decoded from the arch's numbers."""

    shared: bool = False            # MAP_SHARED (else MAP_PRIVATE)
    fixed: bool = False             # MAP_FIXED: replace what is there
    noreplace: bool = False         # MAP_FIXED_NOREPLACE: EEXIST over a mapping
    anonymous: bool = False
    growsdown: bool = False


class MapCalls:
    """Mixin: needs the attributes and primitives below from the memory."""

    ctx: MmContext
    vmas: VmaList
    resident: dict[int, Frame]
    brk_start: int
    brk_end: int

    if TYPE_CHECKING:
        def _unmap_range(self, lo: int, hi: int) -> None: ...
        def _place(self, vma: Vma) -> Vma: ...
        def _resident_in(self, lo: int, hi: int) -> list[int]: ...
        def _rights(self, prot: int) -> int: ...
        @staticmethod
        def _writable(vma: Vma, frame: Frame) -> bool: ...
        def _restrict(self, va: int, rights: int) -> None: ...
        def _detach(self, va: int) -> None: ...
        def _drop(self, va: int) -> None: ...

    def _free(self, lo: int, hi: int) -> bool:
        return self.ctx.usable(lo, hi) and not self.vmas.overlapping(lo, hi)

    def _gap(self, length: int, below: int) -> int | None:
        """The highest free range of ``length`` bytes ending at or below ``below``;
        failing that the lowest one above it (Linux's top-down allocator)."""
        taken = sorted([(v.start, v.end) for v in self.vmas] + self.ctx.reserved
                       + [self._stack_reach()])
        gaps, at = [], 0
        for lo, hi in taken:
            if lo > at:
                gaps.append((at, lo))
            at = max(at, hi)
        gaps.append((at, self.ctx.top))
        for lo, hi in reversed(gaps):
            end = min(hi, below)
            if end - lo >= length:
                return end - length
        for lo, hi in gaps:
            if hi > below and hi - max(lo, below) >= length:
                return max(lo, below)
        return None

    def _stack_reach(self) -> tuple[int, int]:
        """Where the stack may grow: mmap stays out of it."""
        lay = self.ctx.layout
        return (max(0, lay.stack_top - lay.stack_limit), lay.stack_top)

    def brk(self, new: int) -> int:
        """Move the program break; the current break when it cannot (as Linux)."""
        if new < self.brk_start or not self.brk_start:
            return self.brk_end
        lo, hi = page_up(self.brk_end), page_up(new)
        if hi > lo:
            if hi > self._stack_reach()[0] or not self._free(lo, hi):
                return self.brk_end
            self.vmas.insert(Vma(lo, hi, R | W, name="[heap]"))
        elif hi < lo:
            self._unmap_range(hi, lo)
        self.brk_end = new
        return new

    def mmap(self, addr: int, length: int, prot: int, flags: MapFlags,
             backing: Backing | None = None, offset: int = 0, name: str = "") -> int:
        """A new mapping (prot in L4 rights); its address. ``backing`` None or
        MAP_ANONYMOUS: anonymous zero memory."""
        if length <= 0:
            raise LinuxError("EINVAL")
        size = page_up(length)
        if size >= self.ctx.top:
            raise LinuxError("ENOMEM")
        if offset % PAGE or offset < 0:
            raise LinuxError("EINVAL")
        if flags.anonymous:
            backing, offset = None, 0
        elif backing is None:
            raise LinuxError("EBADF")
        elif flags.shared and prot & W and not hasattr(backing, "pinned_frame"):
            # (a native program's memsection, shared.py, is written in place)
            raise LinuxError("ENODEV", "writable shared file mappings are not supported")
        if flags.fixed or flags.noreplace:
            if addr % PAGE:
                raise LinuxError("EINVAL")
            if addr < MIN_ADDR:
                raise LinuxError("EPERM")
            if not self.ctx.usable(addr, addr + size):
                raise LinuxError("ENOMEM")
            if flags.noreplace and self.vmas.overlapping(addr, addr + size):
                raise LinuxError("EEXIST")
        else:
            addr = self._choose(page_up(addr), size)
        self._place(Vma(addr, addr + size, prot, shared=flags.shared, backing=backing,
                        offset=offset, name=name, growsdown=flags.growsdown))
        return addr

    def _choose(self, hint: int, size: int) -> int:
        """A free range: the hint when it is free, else the top-down allocator's."""
        if hint and self._free(hint, hint + size) and hint + size <= self._stack_reach()[0]:
            return hint
        got = self._gap(size, min(self.ctx.layout.mmap_base, self._stack_reach()[0]))
        if got is None:
            raise LinuxError("ENOMEM")
        return got

    def munmap(self, addr: int, length: int) -> int:
        if addr % PAGE or length <= 0 or addr + page_up(length) > self.ctx.top:
            raise LinuxError("EINVAL")
        self._unmap_range(addr, addr + page_up(length))
        return 0

    def _range(self, addr: int, length: int) -> tuple[int, int]:
        """[addr, end) of an mprotect/madvise: aligned (EINVAL), all mapped (ENOMEM)."""
        if addr % PAGE or length < 0:
            raise LinuxError("EINVAL")
        end = addr + page_up(length)
        if end > self.ctx.top:
            raise LinuxError("ENOMEM")
        if end > addr and not self.vmas.covered(addr, end):
            raise LinuxError("ENOMEM")
        return addr, end

    def mprotect(self, addr: int, length: int, prot: int) -> int:
        """New rights for [addr, addr + length); rights taken away leave the page
        tables at once."""
        lo, hi = self._range(addr, length)
        if any(v.shared and v.backing is not None for v in self.vmas.overlapping(lo, hi)) \
                and prot & W:
            raise LinuxError("EACCES")
        for part in self.vmas.carve(lo, hi):
            part.prot = prot
            self.vmas.insert(part)
        for va in self._resident_in(lo, hi):
            vma = self.vmas.find(va)
            assert vma is not None
            rights = self._rights(prot)
            if not self._writable(vma, self.resident[va]):
                rights &= ~W
            self._restrict(va, rights)
        return 0

    def madvise(self, addr: int, length: int, dontneed: bool) -> int:
        """MADV_DONTNEED drops private pages (zero or file content on the next
        access); every other advice is accepted and ignored."""
        lo, hi = self._range(addr, length)
        if dontneed:
            for va in self._resident_in(lo, hi):
                vma = self.vmas.find(va)
                if vma is not None and vma.shared:
                    self._detach(va)
                else:
                    self._drop(va)
        return 0

    def mremap(self, old: int, old_len: int, new_len: int, maymove: bool = False,
               fixed: bool = False, new_addr: int = 0) -> int:
        if (fixed and not maymove) or old % PAGE:
            raise LinuxError("EINVAL")
        old_len, new_len = page_up(old_len), page_up(new_len)
        if not new_len or not old_len:
            raise LinuxError("EINVAL")
        if fixed:
            if new_addr % PAGE or not self.ctx.usable(new_addr, new_addr + new_len):
                raise LinuxError("EINVAL")
            if new_addr < old + old_len and old < new_addr + new_len:
                raise LinuxError("EINVAL")
        elif new_len <= old_len:
            self._unmap_range(old + new_len, old + old_len)
            return old
        vma = self.vmas.find(old)
        if vma is None or old + old_len > vma.end:
            raise LinuxError("EFAULT")
        if not fixed and old + old_len == vma.end and \
                self._free(vma.end, old + new_len) and not vma.growsdown:
            self.vmas.items.remove(vma)                 # grow in place
            vma.end = old + new_len
            self.vmas.insert(vma)
            return old
        if not maymove:
            raise LinuxError("ENOMEM")
        if not fixed:
            new_addr = self._choose(0, new_len)
        self._unmap_range(new_addr, new_addr + new_len)
        self._move(old, min(old_len, new_len), new_addr, new_len)
        self._unmap_range(old, old + old_len)
        return new_addr

    def _move(self, old: int, keep: int, new: int, new_len: int) -> None:
        """The area part at [old, old + keep) moves to new, with its frames."""
        vma = self.vmas.find(old)
        assert vma is not None
        file_end = None if vma.file_end is None else vma.file_end - old + new
        self.vmas.insert(replace(vma, start=new, end=new + new_len, offset=vma.file_offset(old),
                                 file_end=file_end, growsdown=False))
        for va in self._resident_in(old, old + keep):
            self._detach(va)
            self.resident[va - old + new] = self.resident.pop(va)
