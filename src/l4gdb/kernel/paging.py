"""The page-table protocol between the kernel model and an architecture.

The kernel decides *what* each space maps (the mapping database in
:mod:`l4gdb.kernel.mapping`); an architecture's :class:`PageTables` turns
that into its hardware format (ARM short descriptors, x86 page directories,
a MIPS software TLB refill table ...) in guest RAM. Table updates leave the
kernel as ordinary memory writes at kernel-window addresses
(:meth:`PageTables.take_writes`, carried by ``Resume.writes``), and a space
switch as ``Resume.space_root``.

Without a ``PageTables`` the kernel runs *flat*: every thread sees all of
memory, map and grant items are delivered verbatim, Unmap changes nothing,
and page faults are real faults (still reported to the pager as X.2 says).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

R, W, X = 4, 2, 1
RWX = 7


@runtime_checkable
class PageTables(Protocol):
    """An architecture's page tables, built by the host in guest RAM.

    Addresses are physical unless named ``vaddr``. ``rights`` are L4 rwx bits
    (4 read, 2 write, 1 execute); 0 means "not accessible" (no entry).
    """

    page_size_log2: int                 # smallest page (12 on the 32-bit arches)
    kernel_areas: tuple[tuple[int, int], ...]   # [low, high) virtual ranges users can't map
    # Optional ``device_areas``: the parts of kernel_areas that are device memory
    # mapped for users in every space (the KIP calls them "dedicated"; the in-tree
    # arches have none). Optional ``driver_pages``: device pages sigma0 maps to one
    # space each, the first that asks (a user-level driver).

    def new_root(self) -> int:
        """A new, empty space (only the kernel window): its table base; 0 when
        there is no memory left for it."""

    def free_root(self, root: int) -> None:
        """The space is gone: its tables may be reused."""

    def map(self, root: int, vaddr: int, paddr: int, size_log2: int, rights: int) -> None:
        """Make [vaddr, vaddr + 2^size_log2) reach paddr with ``rights`` for user code."""

    def unmap(self, root: int, vaddr: int, size_log2: int) -> None:
        """Remove user access to [vaddr, vaddr + 2^size_log2)."""

    def alloc_frame(self) -> int | None:
        """One zeroed page of kernel memory (UTCB pages), or None when exhausted."""

    def free_frame(self, paddr: int) -> None:
        """A frame from :meth:`alloc_frame` is free again (cleared before reuse)."""

    def kernel_address(self, paddr: int) -> int:
        """Where the kernel (the return path's copy records) reaches ``paddr``."""

    def take_writes(self) -> list[tuple[int, bytes]]:
        """The table updates since the last call, as (kernel address, bytes)."""

    def translate(self, root: int, vaddr: int) -> tuple[int, int] | None:
        """(paddr, rights) of ``vaddr`` in the space, as the hardware would see it."""
