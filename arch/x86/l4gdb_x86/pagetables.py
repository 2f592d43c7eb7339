"""i386 2-level page tables (32-bit, no PAE), built by the host in guest RAM.

Virtual memory of every space (one page directory per space, loaded into CR3
by the return path when the exit block's ``space_root`` is non-zero):

* below 0xC0000000: the space's user pages, 4 KiB each, in page tables of
  1024 entries. The first page table (0..4 MiB) of every space also maps the
  kernel image (0x00100000, 64 KiB) at its link address: supervisor read-
  write, except its first two pages, user read-only -- the user text page
  (multiboot header and the preemption gate, an ``int $0xff`` the host points
  a ring-3 CPU at) and the user data page (``l4k_user_tls``, what ``%gs:0``
  reads). So the IDT, GDT, TSS, stubs, stack and the entry/exit blocks are
  where the host's symbols say in every space (the CPU's implicit accesses to
  the descriptor tables are supervisor accesses).
* from 0xC0000000: the *kernel window*, the same 4 MiB pages (CR4.PSE) as the
  boot directory ``kernel.S`` builds: physical 0..128 MiB at 0xC0000000 +
  physical, supervisor read-write. Every table update and every UTCB or
  string-copy write the kernel makes goes through it.

Rights: an entry is present for any of r, w, x; writable (R/W) for w; user
(U/S) always. Without PAE there is no execute-disable bit: x is implied by r
(and r by x), so a page that may be read may be executed. CR0.WP is clear:
the kernel writes user read-only pages (the ``%gs`` slot) freely.

Status bits: the paging protocol gives the builder no way to read guest
memory back, so the hardware Accessed/Dirty bits are not used for X.2's
referenced/written bits; the kernel tracks them in software through faults, as
on ARM (:mod:`l4gdb.kernel.mapping`). Entries are written with A (and D when
writable) already set, so the CPU never writes the tables itself and the
host's copy stays exact. "Executed" is only seen on a page's first access: a
page mapped for reading is executable without another fault.

Tables and UTCB frames come from a pool of RAM (``pt_pool_low`` ..
``pt_pool_high``) that sigma0 never hands out; freed tables are cleared
through the write list before reuse. A freed directory keeps its kernel part
(the window and the image's page table) and serves only as a directory
again: the CPU may still run on it until the next CR3 load, which comes after
the copy records that clear its user part.
"""

from __future__ import annotations

from l4gdb.archkit import PAGE, PageTableBuilder

ENTRIES = 1024
USER_TOP = 0xC000_0000            # the kernel window from here on
WINDOW_SIZE = 128 << 20           # physical 0..128 MiB

# Entry bits (PDE and PTE).
P = 0x001
RW = 0x002
US = 0x004
A = 0x020
D = 0x040
PS = 0x080                        # PDE: 4 MiB page
TABLE = P | RW | US | A           # PDE of a page table: the PTEs decide
WINDOW_PDE = P | RW | PS          # 4 MiB, supervisor (matches kernel.S's PDE_WINDOW)
KERNEL_PTE = P | RW | A | D       # the image: supervisor read-write
USER_RO_PTE = P | US | A          # the image's user pages
USER_PAGES = 2                    # first pages of the image that user code may read


def pte(paddr: int, rights: int) -> int:
    """User page entry with L4 rwx rights (4 r, 2 w, 1 x); 0 = no entry."""
    if not rights & 7:
        return 0
    entry = (paddr & ~0xFFF) | P | US | A
    if rights & 2:
        entry |= RW | D
    return entry


def entry_rights(entry: int) -> int:
    """L4 rights user code has through a page-table entry (x comes with r)."""
    if not entry & P or not entry & US:
        return 0
    return 7 if entry & RW else 5


class X86PageTables(PageTableBuilder):
    """:class:`l4gdb.kernel.paging.PageTables` for i386 2-level paging."""

    user_top = USER_TOP
    hardware_bits = 0x60                # Accessed and Dirty: the MMU sets them

    def __init__(self, pool: tuple[int, int], window: int, kernel_image: tuple[int, int],
                 window_size: int = WINDOW_SIZE) -> None:
        super().__init__(pool, kernel_image)
        self.window = window
        self.window_size = window_size
        self.kernel_areas = (kernel_image, (USER_TOP, 1 << 32))
        self._pd: dict[int, dict[int, int]] = {}   # root -> {PDE index: page table}
        self._pt: dict[int, list[int]] = {}        # page table -> 1024 entries
        self._free_dirs: list[tuple[int, int | None]] = []   # directory, its image table

    # --- memory -------------------------------------------------------------
    def kernel_address(self, paddr: int) -> int:
        if not 0 <= paddr < self.window_size:
            raise ValueError(f"{paddr:#x} is outside the kernel window")
        return self.window + paddr

    # --- spaces ---------------------------------------------------------------
    def new_root(self) -> int:
        if self._free_dirs:
            root, image_table = self._free_dirs.pop()
            self._pd[root] = {} if image_table is None else {self._image_pde(): image_table}
            return root
        if self._pages_left() < 2:
            return 0                      # the directory and the image's table
        root = self._page()
        self._pd[root] = {}
        first = USER_TOP >> 22
        for i in range(self.window_size >> 22):
            self._put(root + 4 * (first + i), ((i << 22) | WINDOW_PDE))
        lo, hi = self.kernel_image
        for n, va in enumerate(range(lo & ~0xFFF, hi, PAGE)):
            self._set(root, va, va | (USER_RO_PTE if n < USER_PAGES else KERNEL_PTE))
        return root

    def free_root(self, root: int) -> None:
        tables = self._pd.pop(root, None)
        if tables is None:
            return
        image_table = tables.pop(self._image_pde(), None)
        for index, table in tables.items():
            self._clear(table, self._pt.pop(table))
            self._put(root + 4 * index, 0)
            self._free_pages.append(table)
        if image_table is not None:    # user pages beside the image go, the image stays
            entries = self._pt[image_table]
            image = self._image_ptes()
            for i, e in enumerate(entries):
                if e and i not in image:
                    entries[i] = 0
                    self._put(image_table + 4 * i, 0)
        self._free_dirs.append((root, image_table))

    def _image_pde(self) -> int:
        return self.kernel_image[0] >> 22

    def _image_ptes(self) -> set[int]:
        lo, hi = self.kernel_image
        return {(va >> 12) & 0x3FF for va in range(lo & ~0xFFF, hi, PAGE)}

    def _table(self, root: int, vaddr: int, create: bool) -> int | None:
        tables = self._pd[root]
        index = vaddr >> 22
        table = tables.get(index)
        if table is None and create:
            table = self._page()
            self._pt[table] = [0] * ENTRIES
            tables[index] = table
            self._put(root + 4 * index, table | TABLE)
        return table

    def _set(self, root: int, vaddr: int, entry: int) -> None:
        table = self._table(root, vaddr, create=bool(entry))
        if table is None:
            return
        i = (vaddr >> 12) & 0x3FF
        if self._pt[table][i] != entry:
            self._pt[table][i] = entry
            self._put(table + 4 * i, entry)

    def has_root(self, root: int) -> bool:
        return root in self._pd

    def user_entry(self, paddr: int, rights: int) -> int:
        return pte(paddr, rights)

    def translate(self, root: int, vaddr: int) -> tuple[int, int] | None:
        if root not in self._pd or vaddr >= USER_TOP:
            return None
        table = self._pd[root].get(vaddr >> 22)
        if table is None:
            return None
        entry = self._pt[table][(vaddr >> 12) & 0x3FF]
        rights = entry_rights(entry)
        if not rights:
            return None
        return (entry & ~0xFFF) | (vaddr & 0xFFF), rights
