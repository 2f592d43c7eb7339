"""RISC-V Sv32 (RV32) and Sv39 (RV64) page tables, built by the host in guest RAM.

The stub runs in machine mode, which the MMU never translates (mstatus.MPRV
stays clear): the kernel reaches every physical address as itself, so there
is no kernel window (``kernel_address(pa) = pa``) and the kernel image is not
mapped in user spaces at all -- except the preemption gate's page, user
execute-only at its physical address in every space (the host points a
user-mode CPU at it); users can map nothing over it. The goldfish RTC's page
(the device user-level drivers program: l4/arch/device.h) is in no space by
default: sigma0 maps it at its physical address for the one space that asks
(``driver_pages``). The return path loads
``satp`` (mode | root >> 12) from the exit block's ``space_root`` (the root
table's physical address) when it is non-zero, then ``sfence.vma``.

Format (the privileged spec's): tables of one 4 KiB page, 1024 4-byte entries
(Sv32, 2 levels of 10 bits) or 512 8-byte entries (Sv39, 3 levels of 9 bits);
an entry holds PPN << 10 | flags; a pointer to the next level has only V.
User pages are 4 KiB leaves with U, A, D (pre-set: the CPU never writes the
tables, so the host's copy stays exact). Rights: r -> R, w -> R|W (W without
R is reserved), x -> X.

Tables and UTCB frames come from a pool of RAM (``pt_pool_low`` ..
``pt_pool_high``) that sigma0 never hands out; freed tables are cleared
through the write list before reuse.
"""

from __future__ import annotations

from l4gdb.archkit import PageTableBuilder

PTE_V = 0x01
PTE_R = 0x02
PTE_W = 0x04
PTE_X = 0x08
PTE_U = 0x10
PTE_A = 0x40
PTE_D = 0x80

SATP_MODE = {32: 1 << 31, 64: 8 << 60}       # Sv32, Sv39


def pte(paddr: int, rights: int) -> int:
    """Leaf entry for a user page with L4 rwx rights (4 r, 2 w, 1 x); 0 = none."""
    if not rights & 7:
        return 0
    flags = PTE_V | PTE_U | PTE_A
    if rights & 4:
        flags |= PTE_R
    if rights & 2:
        flags |= PTE_R | PTE_W | PTE_D
    if rights & 1:
        flags |= PTE_X
    return ((paddr >> 12) << 10) | flags


def pte_rights(entry: int) -> int:
    """L4 rights user code has through a leaf entry."""
    if not entry & PTE_V or not entry & PTE_U:
        return 0
    return ((4 if entry & PTE_R else 0) | (2 if entry & PTE_W else 0)
            | (1 if entry & PTE_X else 0))


def satp(xlen: int, root: int) -> int:
    """The satp value the return path makes of a space root."""
    return SATP_MODE[xlen] | (root >> 12)


class RiscvPageTables(PageTableBuilder):
    """:class:`l4gdb.kernel.paging.PageTables` for Sv32 (``xlen`` 32) or Sv39 (64)."""

    def __init__(self, xlen: int, pool: tuple[int, int], kernel_image: tuple[int, int],
                 gate_page: int, device_page: int | None = None) -> None:
        super().__init__(pool, kernel_image, entry_size=xlen // 8)
        self.xlen = xlen
        self.pte_size = xlen // 8
        self.levels, self.vpn_bits = (2, 10) if xlen == 32 else (3, 9)
        self.va_top = self.user_top = 1 << (12 + self.levels * self.vpn_bits)  # 4 / 256 GiB
        self.gate_page = gate_page
        self.device_page = device_page
        self.kernel_areas = (kernel_image, (self.va_top, 1 << xlen))
        self.device_areas: tuple[tuple[int, int], ...] = ()    # none in every space
        # The RTC's page is a driver's: sigma0 maps it (va = pa) for one space only.
        self.driver_pages: tuple[tuple[int, int], ...] = () if device_page is None \
            else ((device_page, device_page + 0x1000),)
        self._tables: dict[int, dict[int, int]] = {}   # table -> {index: entry}
        self._children: dict[int, dict[int, int]] = {}  # table -> {index: next table}
        self._roots: set[int] = set()

    # --- memory -------------------------------------------------------------
    def kernel_address(self, paddr: int) -> int:
        return paddr                      # machine mode: untranslated

    # --- spaces ---------------------------------------------------------------
    def _new_table(self) -> int:
        table = self._page()
        self._tables[table] = {}
        self._children[table] = {}
        return table

    def new_root(self) -> int:
        if self._pages_left() < 2 * self.levels - 1:
            return 0                      # the root, the gate's and the device's tables
        root = self._new_table()
        self._roots.add(root)
        self._set(root, self.gate_page, pte(self.gate_page, 1))   # user execute-only
        return root

    def _free_table(self, table: int, level: int) -> None:
        for child in self._children.pop(table).values():
            self._free_table(child, level - 1)
        for index in self._tables.pop(table):   # entries kept are non-zero
            self._put(table + self.pte_size * index, 0)
        self._free_pages.append(table)

    def free_root(self, root: int) -> None:
        if root not in self._roots:
            return
        self._roots.discard(root)
        self._free_table(root, self.levels - 1)

    def _index(self, vaddr: int, level: int) -> int:
        return (vaddr >> (12 + level * self.vpn_bits)) & ((1 << self.vpn_bits) - 1)

    def _leaf_table(self, root: int, vaddr: int, create: bool) -> int | None:
        table = root
        for level in range(self.levels - 1, 0, -1):
            index = self._index(vaddr, level)
            child = self._children[table].get(index)
            if child is None:
                if not create:
                    return None
                child = self._new_table()
                self._children[table][index] = child
                self._tables[table][index] = ((child >> 12) << 10) | PTE_V
                self._put(table + self.pte_size * index, self._tables[table][index])
            table = child
        return table

    def _set(self, root: int, vaddr: int, entry: int) -> None:
        table = self._leaf_table(root, vaddr, create=bool(entry))
        if table is None:
            return
        index = self._index(vaddr, 0)
        if self._tables[table].get(index, 0) != entry:
            if entry:
                self._tables[table][index] = entry
            else:
                self._tables[table].pop(index, None)
            self._put(table + self.pte_size * index, entry)

    def has_root(self, root: int) -> bool:
        return root in self._roots

    def user_entry(self, paddr: int, rights: int) -> int:
        return pte(paddr, rights)

    def translate(self, root: int, vaddr: int) -> tuple[int, int] | None:
        if root not in self._roots or vaddr >= self.va_top:
            return None
        table = self._leaf_table(root, vaddr, create=False)
        if table is None:
            return None
        entry = self._tables[table].get(self._index(vaddr, 0), 0)
        rights = pte_rights(entry)
        if not rights:
            return None
        return ((entry >> 10) << 12) | (vaddr & 0xFFF), rights
