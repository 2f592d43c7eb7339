"""The memory of one Linux process: an L4 space paged by the Linux server.

Nothing is mapped up front: :meth:`Mm.fault` (the server's page-fault
path) finds the area, gets the page's frame and maps it from the server's
physical host space with the mapping database:

* file pages come from the page cache and are mapped without write rights
  in every process (program text, unwritten private data);
* a write to a private page whose frame is shared (a cached file page, or a
  frame shared copy-on-write after fork) copies it into a frame of its own;
  when the process is the last holder it takes the frame back instead;
* anonymous pages get a zeroed frame.

System calls reach user memory through :meth:`read`/:meth:`write`, which
resolve pages the same way (EFAULT outside the areas or their rights).
Errors are :class:`LinuxError` with Linux's errno names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from l4gdb.kernel.paging import RWX, R, W, X
from l4gdb.kernel.types import Fpage

from .elfload import AuxValue, ProgramSource, load_program
from .errors import LinuxError
from .frames import PAGE, PAGE_LOG2, FramePool, page_down
from .mapcalls import MIN_ADDR, MapCalls, MapFlags
from .pagecache import Frame, PageCache
from .vma import Vma, VmaList

if TYPE_CHECKING:
    from l4gdb.archkit.linux_abi import LinuxAbi
    from l4gdb.kernel.kernel import Kernel
    from l4gdb.kernel.space import Space

__all__ = ["Layout", "MapFlags", "Mm", "MmContext"]
FAULT_AROUND = 64                 # pages: a fault maps the ready ones of its 256 KiB


@dataclass(frozen=True)
class Layout:
    """Where a process's pieces go (from the arch's LinuxAbi)."""

    kip_area: Fpage
    utcb_area: Fpage
    stack_top: int
    mmap_base: int                  # mmap allocates top-down below this
    machine: str                    # e_machine the programs must have ("EM_ARM" ...)
    dyn_base: int = 0x0040_0000     # load bias of static-pie (ET_DYN) programs
    stack_limit: int = 8 << 20      # RLIMIT_STACK
    read_implies_exec: bool = False  # the MMU cannot refuse execution of readable pages
    auxv: Mapping[str, AuxValue] = field(default_factory=dict)   # AT_HWCAP, AT_PLATFORM...
    user_top: int = 1 << 32
    reserved: tuple[tuple[int, int], ...] = ()   # more ranges no process may map

    @classmethod
    def from_abi(cls, abi: LinuxAbi) -> Layout:
        kip, utcb = abi.l4_kip_area, abi.l4_utcb_area
        special = [abi.kuser_page_addr, abi.trampoline_addr]
        pages = tuple((page_down(a), page_down(a) + PAGE) for a in special if a is not None)
        auxv: dict[str, AuxValue] = {"AT_HWCAP": abi.hwcap, "AT_PLATFORM": abi.platform}
        if abi.hwcap2:
            auxv["AT_HWCAP2"] = abi.hwcap2
        return cls(kip_area=Fpage(kip[0], kip[1]), utcb_area=Fpage(utcb[0], utcb[1]),
                   stack_top=abi.stack_top, mmap_base=abi.mmap_base, machine=abi.elf_machine,
                   read_implies_exec=abi.read_implies_exec, auxv=auxv, user_top=abi.user_top,
                   reserved=tuple(abi.reserved) + pages)


SpaceFactory = Callable[[Fpage, Fpage], "Space"]


class MmContext:
    """What all process memories share: the kernel, the server's host space,
    the frame pool and the page cache."""

    def __init__(self, kernel: Kernel, host_space: Space, layout: Layout,
                 frames: FramePool | None = None) -> None:
        assert host_space.physical, "the server maps frames from a physical host space"
        self.kernel = kernel
        self.host_space = host_space
        self.layout = layout
        self.frames = frames if frames is not None else FramePool(kernel, host_space)
        self.cache = PageCache(self.frames)
        self.space_factory: SpaceFactory | None = None
        self.frames.reclaim = self.cache.reclaim
        self.top = min(1 << kernel.bits, layout.user_top)
        reserved = [(0, MIN_ADDR), _span(layout.kip_area), _span(layout.utcb_area),
                    *layout.reserved]
        if kernel.paging is not None:
            reserved += list(kernel.paging.kernel_areas)
        self.reserved = sorted((lo, min(hi, self.top)) for lo, hi in reserved if lo < hi)

    def usable(self, lo: int, hi: int) -> bool:
        """[lo, hi) is user address space a process may map."""
        return lo < hi <= self.top and not any(lo < b and a < hi for a, b in self.reserved)

    def describe(self) -> dict[str, int]:
        """Frames held for processes and the page cache's share of them."""
        return {"frames": self.frames.in_use, **self.cache.describe()}


_CONTEXTS: WeakKeyDictionary[FramePool, MmContext] = WeakKeyDictionary()


def _span(fp: Fpage) -> tuple[int, int]:
    return (fp.base, fp.end) if not fp.is_nil else (0, 0)


class Mm(MapCalls):
    def __init__(self, ctx: MmContext) -> None:
        self.ctx = ctx
        self.kernel = ctx.kernel
        self.mdb = ctx.kernel.mdb
        if ctx.space_factory is not None:
            space = ctx.space_factory(ctx.layout.kip_area, ctx.layout.utcb_area)
        else:
            space = ctx.kernel.new_space()
            space.kip_area, space.utcb_area = ctx.layout.kip_area, ctx.layout.utcb_area
            if not ctx.kernel.setup_space(space):
                ctx.kernel.spaces.remove(space)
                raise LinuxError("ENOMEM", "no page tables for a new space")
        self.space = space
        self.vmas = VmaList()
        self.resident: dict[int, Frame] = {}     # page -> the frame this process holds
        self.brk_start = self.brk_end = 0
        self.exe = ""
        self.faults = self.copies = 0
        self.released = False

    @classmethod
    def create(cls, kernel: Kernel, host_space: Space, abi: LinuxAbi,
               frames: FramePool | None = None,
               space_factory: SpaceFactory | None = None) -> Mm:
        """A new, empty memory in the context (page cache) shared by every
        process of the server that owns ``frames``; its L4 space comes from
        ``space_factory(kip_area, utcb_area)`` (Wombat: an Iguana EAS) or,
        without one, straight from the kernel."""
        ctx = _CONTEXTS.get(frames) if frames is not None else None
        if ctx is None or ctx.kernel is not kernel:
            ctx = MmContext(kernel, host_space, Layout.from_abi(abi), frames)
            _CONTEXTS[ctx.frames] = ctx
        ctx.space_factory = space_factory
        return cls(ctx)

    # --- areas ------------------------------------------------------------------
    def _rights(self, prot: int) -> int:
        """What an area's protection lets user code do on this MMU."""
        if prot & (W | X):
            prot |= R                     # no MMU here maps write- or execute-only
        if prot & R and self.ctx.layout.read_implies_exec:
            prot |= X
        return prot

    def _area(self, addr: int) -> Vma | None:
        """The area holding addr; a fault just below a stack area grows it."""
        vma = self.vmas.find(addr)
        if vma is not None:
            return vma
        nxt = self.vmas.next_above(addr)
        if nxt is None or not nxt.growsdown or nxt.end - page_down(addr) > \
                self.ctx.layout.stack_limit:
            return None
        prev = self.vmas.prev_below(addr)
        lo = page_down(addr)
        if (prev is not None and prev.end + PAGE > lo) or not self.ctx.usable(lo, nxt.start):
            return None                   # keep a guard page to the area below
        nxt.start, nxt.offset = lo, 0
        return nxt

    def _place(self, vma: Vma) -> Vma:
        """Map a new area over [start, end), replacing whatever was there."""
        self._unmap_range(vma.start, vma.end)
        return self.vmas.insert(vma)

    # --- frames and mappings ----------------------------------------------------------
    def _page_bytes(self, vma: Vma, va: int) -> bytes:
        """A page's content from its area alone (not resident: file bytes or zeros)."""
        if vma.backing is None:
            return bytes(PAGE)
        n = PAGE if vma.file_end is None else max(0, min(PAGE, vma.file_end - va))
        return vma.backing.pread(vma.file_offset(va), n).ljust(PAGE, b"\0") if n \
            else bytes(PAGE)

    def _populate(self, vma: Vma, va: int, write: bool) -> Frame:
        partial = vma.file_end is not None and va + PAGE > vma.file_end
        pinned = getattr(vma.backing, "pinned_frame", None)
        if pinned is not None and (vma.shared or not write):
            frame = pinned(vma.file_offset(va))        # the sharer's own frame
        elif vma.backing is not None and not partial and not (write and not vma.shared):
            frame = self.ctx.cache.get(vma.backing, vma.file_offset(va))
        else:
            content = b"" if vma.backing is None else self._page_bytes(vma, va)
            frame = Frame(self.ctx.frames.alloc(content))
        frame.refs += 1
        self.resident[va] = frame
        return frame

    def _resolve(self, vma: Vma, va: int, write: bool) -> Frame:
        """The frame at va, private to this process if ``write`` needs it."""
        frame = self.resident.get(va)
        if frame is not None and frame.pinned is not None and not frame.pinned.alive:
            self._drop(va)                # its owner deleted it: nothing there any more
            raise LinuxError("EFAULT", f"{va:#x}: shared memory gone")
        if frame is None:
            return self._populate(vma, va, write)
        if write and not self._writable(vma, frame):
            if frame.refs == 1 and not frame.cached and frame.pinned is None:
                return frame              # the last holder takes the frame back
            content = self._page_bytes(vma, va) if frame.cached \
                else self.ctx.frames.read(frame.pa)
            new = Frame(self.ctx.frames.alloc(content), refs=1)
            self._let_go(frame)
            self.resident[va] = new
            self.copies += 1
            return new
        return frame

    @staticmethod
    def _writable(vma: Vma, frame: Frame) -> bool:
        """May this frame be written in place through this area?"""
        if not vma.prot & W or frame.cached:
            return False
        if frame.pinned is not None:
            return vma.shared             # a private mapping of it copies on write
        return vma.shared or frame.refs == 1

    def _map(self, vma: Vma, va: int, frame: Frame) -> None:
        """Map frame at va with the rights the area and the sharing allow, all of
        them marked accessed: the server reads no status bits, and the process
        takes no soft fault for its next access of another kind."""
        rights = self._rights(vma.prot)
        if not self._writable(vma, frame):
            rights &= ~W
        node = self.space.pages.get(va)
        if node is not None and (node.paddr != frame.pa or node.rights & ~rights):
            self.mdb.remove_subtree(node)
        if frame.pinned is not None:
            frame.pinned.map_page(self.space, va, frame.pa, rights)
            return
        self.mdb.map_fpage(self.ctx.host_space, Fpage(frame.pa, PAGE_LOG2, rights), frame.pa,
                           self.space, Fpage(va, PAGE_LOG2, rights), grant=False,
                           access=rights)

    def _restrict(self, va: int, rights: int) -> None:
        """The mapping at va keeps only ``rights`` (fork, mprotect)."""
        node = self.space.pages.get(va)
        if node is None or not node.rights & ~rights:
            return
        if node.rights & rights & (R | X):
            node.rights &= rights         # the page stays mapped: no fault to come back
            self.mdb.install(node)
        else:
            self.mdb.remove_subtree(node)

    def _let_go(self, frame: Frame) -> None:
        frame.refs -= 1
        if frame.refs == 0 and not frame.cached and frame.pinned is None:
            self.ctx.frames.free(frame.pa)

    def _detach(self, va: int) -> None:
        """No mapping at va any more (the frame stays held)."""
        node = self.space.pages.get(va)
        if node is not None:
            self.mdb.remove_subtree(node)

    def _drop(self, va: int) -> None:
        self._detach(va)
        frame = self.resident.pop(va, None)
        if frame is not None:
            self._let_go(frame)

    def _resident_in(self, lo: int, hi: int) -> list[int]:
        if (hi - lo) // PAGE > len(self.resident):
            return sorted(va for va in self.resident if lo <= va < hi)
        return [va for va in range(lo, hi, PAGE) if va in self.resident]

    def _unmap_range(self, lo: int, hi: int) -> None:
        self.vmas.carve(lo, hi)
        for va in self._resident_in(lo, hi):
            self._drop(va)

    # --- the pager --------------------------------------------------------------------
    def fault(self, addr: int, access: int) -> bool:
        """Resolve a page fault of this process; False: the access is not allowed
        (the server delivers SIGSEGV)."""
        access &= RWX
        vma = self._area(addr)
        if vma is None or access & ~self._rights(vma.prot):
            return False
        va = page_down(addr)
        try:
            frame = self._resolve(vma, va, bool(access & W))
            self._map(vma, va, frame)
        except LinuxError:
            return False                  # out of memory, or shared memory gone
        self._fault_around(vma, va)
        self.faults += 1
        return True

    def _fault_around(self, vma: Vma, va: int) -> None:
        """Map the pages around va that need no new frame: the ones this process
        holds (a forked child inherits them unmapped) and file pages the page
        cache holds (Linux's fault-around): one fault per window, not per page."""
        window = FAULT_AROUND * PAGE
        lo, hi = max(vma.start, va & ~(window - 1)), min(vma.end, (va & ~(window - 1)) + window)
        for p in range(lo, hi, PAGE):
            frame = self.resident.get(p)
            if frame is None:
                if vma.backing is None or (vma.file_end is not None and p + PAGE > vma.file_end):
                    continue
                frame = self.ctx.cache.peek(vma.backing, vma.file_offset(p))
                if frame is None:
                    continue
                frame.refs += 1
                self.resident[p] = frame
            elif p in self.space.pages or (frame.pinned is not None and not frame.pinned.alive):
                continue
            self._map(vma, p, frame)

    # --- user memory for system calls ----------------------------------------------------
    def _pages(self, addr: int, n: int, access: int) -> Iterator[tuple[int, Vma, int, int]]:
        """(page, area, first, last) of each page of [addr, addr + n), checked first:
        EFAULT when any of it is outside the areas or their rights."""
        if n == 0:
            return iter(())
        if addr < 0 or n < 0 or addr + n > self.ctx.top:
            raise LinuxError("EFAULT")
        out = []
        va = page_down(addr)
        while va < addr + n:
            vma = self._area(va if va >= addr else addr)
            if vma is None or access & ~self._rights(vma.prot):
                raise LinuxError("EFAULT", f"{addr:#x}+{n}")
            out.append((va, vma, max(addr, va) - va, min(addr + n, va + PAGE) - va))
            va += PAGE
        return iter(out)

    def read(self, addr: int, n: int) -> bytes:
        """n bytes of user memory (EFAULT); physically contiguous frames are read
        in one target access, pages not yet resident come from the file or are zero."""
        out = bytearray()
        run_pa, run_len = 0, 0

        def flush() -> None:
            nonlocal run_len
            if run_len:
                out.extend(self.ctx.frames.read(run_pa, run_len))
                run_len = 0

        for va, vma, lo, hi in self._pages(addr, n, R):
            frame = self.resident.get(va)
            if frame is not None and frame.pinned is not None and not frame.pinned.alive:
                raise LinuxError("EFAULT", f"{va:#x}: shared memory gone")
            if frame is None:
                flush()
                out.extend(self._page_bytes(vma, va)[lo:hi])
            elif run_len and frame.pa + lo == run_pa + run_len:
                run_len += hi - lo
            else:
                flush()
                run_pa, run_len = frame.pa + lo, hi - lo
        flush()
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        """Write user memory (EFAULT; read-only pages too); breaks copy-on-write
        sharing and maps the pages written, as the process will use them."""
        pos = 0
        for va, vma, lo, hi in self._pages(addr, len(data), W):
            frame = self._resolve(vma, va, True)
            self._map(vma, va, frame)
            self.kernel.write_memory(self.ctx.frames.kaddr(frame.pa + lo),
                                     data[pos:pos + hi - lo])
            pos += hi - lo

    def read_cstr(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string (without the NUL); ENAMETOOLONG when none
        ends within ``limit`` bytes, EFAULT when it runs out of readable memory."""
        out = b""
        while len(out) < limit:
            chunk = min(PAGE - (addr + len(out)) % PAGE, limit - len(out))
            data = self.read(addr + len(out), chunk)
            nul = data.find(b"\0")
            if nul >= 0:
                return out + data[:nul]
            out += data
        raise LinuxError("ENAMETOOLONG")

    # --- exec ---------------------------------------------------------------------
    def exec_image(self, path: str, elf_bytes: bytes | ProgramSource,
                   argv: Sequence[str | bytes],
                   envp: Sequence[str | bytes],
                   auxv_extra: Mapping[str, AuxValue | None] | None = None) -> tuple[int, int]:
        """Replace this memory by the static program ``elf_bytes`` (its bytes,
        or an open file read by offset: :class:`~.elfload.ExecFile`): (entry, sp).

        The file and the arguments are checked first (ENOEXEC, ENOMEM, E2BIG
        leave the memory as it was); then the old image goes and the new one
        is described, not mapped: its pages come in on faults."""
        return load_program(self, path, elf_bytes, argv, envp, auxv_extra or {})

    def _clear(self) -> None:
        for va in list(self.resident):
            self._drop(va)
        self.vmas.clear()
        self.brk_start = self.brk_end = 0

    # --- fork and exit ---------------------------------------------------------------
    def fork(self) -> Mm:
        """A copy-on-write copy: the child holds the same frames; private
        writable pages lose write rights here until one side writes."""
        child = Mm(self.ctx)
        for v in self.vmas:
            child.vmas.items.append(replace(v))
        child.brk_start, child.brk_end, child.exe = self.brk_start, self.brk_end, self.exe
        for va, frame in self.resident.items():
            frame.refs += 1
            child.resident[va] = frame
            vma = self.vmas.find(va)
            if vma is not None and not vma.shared:
                self._restrict(va, RWX & ~W)
        return child

    def release(self) -> None:
        """The process is gone: frames back (cached file pages stay cached), the
        space deleted (now, or by the kernel with its last thread)."""
        if self.released:
            return
        self._clear()
        self.released = True
        k, space = self.kernel, self.space
        self.mdb.delete_space(space)
        if not space.threads and space in k.spaces:
            k.spaces.remove(space)
            if k.paging is not None and space.root:
                k.paging.free_root(space.root)
                space.root = 0

    # --- introspection ----------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The areas with their resident pages (``wombat maps``/``wombat ps``)."""
        areas = []
        for v in self.vmas:
            held = [self.resident[va] for va in self._resident_in(v.start, v.end)]
            areas.append({"start": v.start, "end": v.end, "perms": v.perms(),
                          "offset": v.offset if v.backing is not None else 0,
                          "name": v.name, "resident": len(held),
                          "shared": sum(1 for f in held if f.refs > 1 or f.cached)})
        return {"space": self.space.ident, "exe": self.exe, "areas": areas,
                "resident": len(self.resident), "brk": (self.brk_start, self.brk_end),
                "faults": self.faults, "copies": self.copies}

    def maps_text(self) -> str:
        """/proc/self/maps lines."""
        lines = []
        for a in self.describe()["areas"]:
            lines.append(f"{a['start']:08x}-{a['end']:08x} {a['perms']} {a['offset']:08x} "
                         f"00:00 0 {a['name']}".rstrip())
        return "\n".join(lines) + ("\n" if lines else "")
