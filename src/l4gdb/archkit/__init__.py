"""What every architecture plugin shares, written once (public: third-party plugins use it too).

An architecture plugin describes its CPU as data and code that really differs
(register set, trap codec, descriptor formats); this module turns that into
the hooks of :mod:`l4gdb.hookspecs`:

* :class:`QemuSetup` / :class:`GdbSetup`: concrete values for the hooks'
  result protocols.
* :func:`guest_toolchain`: a :class:`~l4gdb.archkit.guestspec.GuestToolchain` for a
  guest directory laid out the usual way (``include/``, ``crt0.S``,
  ``user.ld``, ``kernel.S``, ``kernel.ld``).
* :class:`Arch` and :class:`ArchPlugin`: one architecture's data, and the
  plugin object whose hookimpls answer for exactly those architectures
  (``None`` for any other)::

      plugin = ArchPlugin(Arch(info=..., qemu=..., gdb=..., toolchain=...,
                               memory_layout={...}, trap_glue=make_glue))

  with the entry point naming that object (``arm = "l4gdb_arm.plugin:plugin"``),
  or naming the module after ``globals().update(plugin.hookimpls())`` (as the
  in-tree arches do, so their installed entry points stay as they were).
* :class:`PageTableBuilder`: the mechanics of host-built page tables (a pool
  of table pages with a free list, UTCB frames, the word writes the return
  path copies, joined into runs); a builder adds only its descriptor format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from l4gdb.archkit.guestspec import GuestToolchain
from l4gdb.hookspecs import hookimpl

if TYPE_CHECKING:
    from l4gdb.archkit.linux_abi import LinuxAbi
    from l4gdb.hookspecs import GuestTimer, TrapGlue
    from l4gdb.kernel.abi import ArchInfo
    from l4gdb.kernel.paging import PageTables


@dataclass(frozen=True)
class QemuSetup:
    """The result of ``l4gdb_qemu_setup`` (see :class:`l4gdb.hookspecs.QemuSetup`)."""

    binary: str                          # e.g. "qemu-system-arm"
    config: Path                         # the -readconfig file
    extra_args: tuple[str, ...] = ()
    package: str | None = None           # the Debian package shipping ``binary``
    target_xml: bytes | None = None      # for a gdbstub that serves no description
    uart: bool = False                   # the board's first serial line reaches the host:
                                         # console input is typed into it too


@dataclass(frozen=True)
class GdbSetup:
    """The result of ``l4gdb_gdb_setup`` (see :class:`l4gdb.hookspecs.GdbSetup`)."""

    architecture: str                    # for "set architecture"
    init_commands: tuple[str, ...] = ()


def guest_toolchain(arch: str, guest: Path, clang_target: str, cflags: tuple[str, ...],
                    elf_machine: str, ldflags: tuple[str, ...] = ()) -> GuestToolchain:
    """The toolchain of a guest directory laid out as the in-tree arches' are:
    ``include/`` (with ``l4/arch/syscalls.h``), ``crt0.S``, ``user.ld``,
    ``kernel.S`` and ``kernel.ld``."""
    return GuestToolchain(
        arch=arch,
        clang_target=clang_target,
        cflags=cflags,
        ldflags=ldflags,
        include_dir=guest / "include",
        crt0=guest / "crt0.S",
        user_ldscript=guest / "user.ld",
        kernel_sources=(guest / "kernel.S",),
        kernel_ldscript=guest / "kernel.ld",
        elf_machine=elf_machine,
    )


@dataclass(frozen=True)
class Arch:
    """One architecture as the hooks need it.

    ``memory_layout`` is the layout dict, or a function returning it (when it
    depends on the environment); every call of the hook gets a fresh copy.
    ``trap_glue(symbols)``, ``page_tables(layout)`` and ``guest_timer(symbols)``
    build the per-run objects; the last two are optional (without page tables
    the arch runs flat, without a timer the host keeps time) and may return None.
    ``linux_abi()`` (optional) returns the arch's Linux ABI for Wombat.
    """

    info: ArchInfo
    qemu: QemuSetup
    gdb: GdbSetup
    toolchain: GuestToolchain
    memory_layout: Mapping[str, int] | Callable[[], Mapping[str, int]]
    trap_glue: Callable[[dict[str, int]], TrapGlue]
    page_tables: Callable[[dict[str, int]], PageTables | None] | None = None
    guest_timer: Callable[[dict[str, int]], GuestTimer | None] | None = None
    linux_abi: Callable[[], LinuxAbi | None] | None = None

    @property
    def name(self) -> str:
        return self.info.name


# Hooks an Arch may leave out: the plugin then does not implement them at all.
_OPTIONAL = ("page_tables", "guest_timer", "linux_abi")


class ArchPlugin:
    """A pluggy plugin answering the architecture hooks for its :class:`Arch` es.

    Register the instance (entry point ``"module:attribute"``); the hookimpls
    answer ``None`` for architectures that are not its own. A hook no Arch
    provides (``l4gdb_page_tables``, ``l4gdb_guest_timer``, ``l4gdb_linux_abi``) is left out, so
    ``l4gdb plugins`` lists what the plugin really does.
    """

    def __init__(self, *archs: Arch) -> None:
        if not archs:
            raise ValueError("ArchPlugin needs at least one Arch")
        self.archs: dict[str, Arch] = {a.name: a for a in archs}
        for field in _OPTIONAL:
            if all(getattr(a, field) is None for a in archs):
                setattr(self, f"l4gdb_{field}", None)    # hides the hookimpl from pluggy

    def __repr__(self) -> str:
        return f"ArchPlugin({', '.join(self.archs)})"

    def hookimpls(self) -> dict[str, Callable[..., Any]]:
        """The implemented hooks by name (bound methods, still marked as hookimpls).

        For a plugin whose entry point names its module (``"l4gdb_arm.plugin"``):
        ``globals().update(plugin.hookimpls())`` makes the module the plugin."""
        return {name: getattr(self, name) for name in dir(self)
                if name.startswith("l4gdb_") and callable(getattr(self, name))}

    @hookimpl
    def l4gdb_arch_names(self) -> list[str]:
        return list(self.archs)

    @hookimpl
    def l4gdb_arch_info(self, arch: str) -> ArchInfo | None:
        a = self.archs.get(arch)
        return a.info if a else None

    @hookimpl
    def l4gdb_qemu_setup(self, arch: str) -> QemuSetup | None:
        a = self.archs.get(arch)
        return a.qemu if a else None

    @hookimpl
    def l4gdb_gdb_setup(self, arch: str) -> GdbSetup | None:
        a = self.archs.get(arch)
        return a.gdb if a else None

    @hookimpl
    def l4gdb_guest_toolchain(self, arch: str) -> GuestToolchain | None:
        a = self.archs.get(arch)
        return a.toolchain if a else None

    @hookimpl
    def l4gdb_memory_layout(self, arch: str) -> dict[str, int] | None:
        a = self.archs.get(arch)
        if a is None:
            return None
        layout = a.memory_layout
        return dict(layout() if callable(layout) else layout)

    @hookimpl
    def l4gdb_trap_glue(self, arch: str, symbols: dict[str, int]) -> TrapGlue | None:
        a = self.archs.get(arch)
        return a.trap_glue(symbols) if a else None

    @hookimpl
    def l4gdb_page_tables(self, arch: str, layout: dict[str, int]) -> PageTables | None:
        a = self.archs.get(arch)
        return a.page_tables(layout) if a and a.page_tables else None

    @hookimpl
    def l4gdb_guest_timer(self, arch: str, symbols: dict[str, int]) -> GuestTimer | None:
        a = self.archs.get(arch)
        return a.guest_timer(symbols) if a and a.guest_timer else None

    @hookimpl
    def l4gdb_linux_abi(self, arch: str) -> LinuxAbi | None:
        a = self.archs.get(arch)
        return a.linux_abi() if a and a.linux_abi else None


PAGE = 0x1000


class PageTableBuilder:
    """The mechanics every host-built :class:`~l4gdb.kernel.paging.PageTables` shares.

    Table pages and UTCB frames come from a pool of RAM (``pool`` = [low, high),
    memory sigma0 never hands out). Fresh pool memory is zero (QEMU's RAM); a
    freed table page or frame is cleared through the write list before reuse.
    Every update is a word of ``entry_size`` bytes recorded at its kernel
    address (:meth:`kernel_address`, the subclass's) until :meth:`take_writes`.

    A subclass provides the format: :meth:`kernel_address`, :meth:`has_root`,
    :meth:`user_entry` and :meth:`_set` (one page's entry, 0 = none), and
    ``user_top`` (or its own :meth:`_user`); :meth:`map` / :meth:`unmap` walk
    the pages of a range that user code may own.
    """

    page_size_log2 = 12
    user_top = 1 << 32
    hardware_bits = 0                   # entry bits the MMU sets by itself (x86: A, D)

    def __init__(self, pool: tuple[int, int], kernel_image: tuple[int, int],
                 entry_size: int = 4) -> None:
        self.pool_low, self.pool_high = pool
        self.kernel_image = kernel_image
        self.entry_size = entry_size
        self._next = pool[0]
        self._free_pages: list[int] = []        # cleared table pages
        self._free_frames: list[int] = []       # UTCB frames, cleared when reused
        self._writes: dict[int, int] = {}       # kernel address -> word
        # Every table word as last written (kernel address -> word): what guest
        # memory must hold (`l4gdb fuzz` on QEMU reads it back to compare).
        self.shadow: dict[int, int] = {}

    # --- the format (subclasses) ---------------------------------------------------
    def kernel_address(self, paddr: int) -> int:
        raise NotImplementedError

    def has_root(self, root: int) -> bool:
        raise NotImplementedError

    def user_entry(self, paddr: int, rights: int) -> int:
        raise NotImplementedError

    def _set(self, root: int, vaddr: int, entry: int) -> None:
        raise NotImplementedError

    # --- memory ------------------------------------------------------------------
    def _put(self, paddr: int, value: int) -> None:
        ka = self.kernel_address(paddr)
        self._writes[ka] = value
        self.shadow[ka] = value

    def _put_volatile(self, paddr: int, value: int) -> None:
        """Write a word the guest changes too (not part of the shadow)."""
        ka = self.kernel_address(paddr)
        self._writes[ka] = value
        self.shadow.pop(ka, None)

    def _forget(self, paddr: int) -> None:
        """The page at paddr holds no tables any more (a UTCB frame now)."""
        ka = self.kernel_address(paddr)
        for off in range(0, PAGE, self.entry_size):
            self.shadow.pop(ka + off, None)

    def _bump(self, size: int) -> int:
        """``size`` bytes (a power of two, aligned to it) of fresh pool memory."""
        base = (self._next + size - 1) & ~(size - 1)
        if base + size > self.pool_high:
            raise MemoryError("page-table pool exhausted")
        self._next = base + size
        return base

    def _page(self) -> int:
        """A zeroed table page: a freed one, or fresh pool memory."""
        return self._free_pages.pop() if self._free_pages else self._bump(PAGE)

    def _pages_left(self) -> int:
        return len(self._free_pages) + (self.pool_high - self._next) // PAGE

    def _clear(self, table: int, entries: Mapping[int, int] | list[int]) -> None:
        """Record zeros over a table's non-zero ``entries`` (index -> entry, or a list)."""
        items = entries.items() if isinstance(entries, Mapping) else enumerate(entries)
        for i, e in items:
            if e:
                self._put(table + self.entry_size * i, 0)

    def alloc_frame(self) -> int | None:
        if self._free_frames:
            frame = self._free_frames.pop()
            for off in range(0, PAGE, self.entry_size):   # nothing of its last owner stays
                self._writes[self.kernel_address(frame + off)] = 0
            return frame
        try:
            frame = self._page()
        except MemoryError:
            return None
        self._forget(frame)               # a cleared table page may come back as a frame
        return frame

    def shadow_mismatches(self, read: Callable[[int, int], bytes | None],
                          limit: int = 4) -> list[str]:
        """Table words whose guest memory differs from what was written, read a
        page at a time (``read(kernel address, n)``)."""
        n = self.entry_size
        out: list[str] = []
        pages: dict[int, list[int]] = {}
        for ka in self.shadow:
            pages.setdefault(ka & ~(PAGE - 1), []).append(ka)
        for page, addrs in sorted(pages.items()):
            data = read(page, PAGE)
            if data is None:
                out.append(f"table page {page:#x} cannot be read")
                continue
            for ka in sorted(addrs):
                off = ka - page
                have = int.from_bytes(data[off:off + n], "little") & ~self.hardware_bits
                if have != self.shadow[ka] & ~self.hardware_bits:
                    out.append(f"{ka:#x} holds {have:#x}, {self.shadow[ka]:#x} was written")
                    if len(out) >= limit:
                        return out
        return out

    def free_frame(self, paddr: int) -> None:
        self._free_frames.append(paddr)

    def take_writes(self) -> list[tuple[int, bytes]]:
        """The updates as few (address, bytes) runs: adjacent words joined."""
        words, self._writes = self._writes, {}
        n = self.entry_size
        out: list[tuple[int, bytes]] = []
        start = prev = None
        run: list[int] = []
        for addr in sorted(words):
            if prev is not None and addr == prev + n:
                run.append(words[addr])
            else:
                if run:
                    out.append((start, b"".join(v.to_bytes(n, "little") for v in run)))
                start, run = addr, [words[addr]]
            prev = addr
        if run:
            out.append((start, b"".join(v.to_bytes(n, "little") for v in run)))
        return out

    # --- user mappings -------------------------------------------------------------
    def _user(self, vaddr: int) -> bool:
        """Whether user code may own ``vaddr`` (below ``user_top``, not the kernel image)."""
        lo, hi = self.kernel_image
        return vaddr < self.user_top and not lo <= vaddr < hi

    def map(self, root: int, vaddr: int, paddr: int, size_log2: int, rights: int) -> None:
        if not self.has_root(root):
            return
        for off in range(0, 1 << max(size_log2, self.page_size_log2), PAGE):
            if self._user(vaddr + off):
                self._set(root, vaddr + off, self.user_entry(paddr + off, rights))

    def unmap(self, root: int, vaddr: int, size_log2: int) -> None:
        if not self.has_root(root):
            return
        for off in range(0, 1 << max(size_log2, self.page_size_log2), PAGE):
            if self._user(vaddr + off):
                self._set(root, vaddr + off, 0)
