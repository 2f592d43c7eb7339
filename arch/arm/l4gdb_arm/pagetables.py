"""ARMv7-A short-descriptor page tables, built by the host in guest RAM.

Virtual memory of every space (TTBCR.N = 0: TTBR0 translates all 4 GiB, so
user code may own any address the kernel does not use -- Linux programs
want their stack up to 0xbf000000 and the kuser helper page at 0xffff0000):

* the space's own table: a 16 KiB L1 (16 KiB aligned), 1 KiB coarse L2
  tables, 4 KiB small pages. The MB holding the kernel image (0x40000000)
  has an L2 table in every space whose first 64 KiB map the kernel image
  itself at its link address (privileged only, except the text page, user
  read/execute for the preemption gate), so the vectors, stubs, stacks and
  the entry/exit blocks are where the host's symbols say in every space;
  user pages may share the rest of that MB.
* the same sections in every L1 (as ``kernel.S``'s boot table): the *kernel
  window*, all RAM at 0xC0000000 + (pa - 0x40000000), privileged read-write,
  never executable, and the GIC at 0xF8000000 (privileged device memory).
  Every table update and every UTCB or string-copy write the kernel makes
  goes through the window, so it works whichever space the CPU is in.
* no device memory: the PL011 UART's page (PA 0x09000000) is a driver's, in
  the space that was given it (``driver_pages``: sigma0 maps it to the one
  space that asks first, the root task; under Iguana only a PD holding the
  hardware capability gets device memory, through a memsection). A user page
  outside RAM is mapped as device memory (``user_entry``).

Users can map nothing in the kernel image, the window or the GIC's MB
(``kernel_areas``); vectors are at VBAR (SCTLR.V = 0), so 0xffff0000 is free.

Tables and UTCB frames come from a pool of RAM (``pt_pool_low`` ..
``pt_pool_high`` in the memory layout) that sigma0 never hands out. Fresh
pool memory is zero (QEMU's RAM); a freed table is cleared (through the
write list) before it is used again.
"""

from __future__ import annotations

from l4gdb.archkit import PAGE, PageTableBuilder

L1_SIZE = 0x4000                 # TTBCR.N = 0: 4096 entries, 16 KiB aligned
L2_SIZE = 0x400                  # 256 entries
USER_TOP = 1 << 32               # all of it, but kernel_areas
MB = 1 << 20

# Section descriptors every L1 carries (kernel.S builds the same in its boot table).
SECT_WINDOW = 0x41E              # AP = 01 (privileged RW), XN, C, B
SECT_DEVICE = 0x416              # AP = 01, XN, shared device
GIC_PA = 0x0800_0000             # virt's GICv2: distributor and CPU interface
GIC_VA = 0xF800_0000
UART_PA = 0x0900_0000            # virt's PL011 (its receive interrupt: SPI 1, line 33)

# Small-page descriptor bits.
SMALL = 0x2
XN = 0x1
CB = 0xC                         # normal memory, write-back
AP_PRIV_RW = 0x10                # AP[1:0] = 01: privileged RW, user none
AP_USER_RO = 0x20                # 10: privileged RW, user read-only
AP_USER_RW = 0x30                # 11: full access
DEVICE = 0x4                     # TEX = 0, C = 0, B = 1: shared device
COARSE = 0x1                     # L1: coarse page table, domain 0


def small_entry(paddr: int, rights: int) -> int:
    """User page with L4 rwx rights (4 r, 2 w, 1 x); 0 = no entry."""
    if not rights & 7:
        return 0
    ap = AP_USER_RW if rights & 2 else AP_USER_RO
    return (paddr & ~0xFFF) | SMALL | CB | ap | (0 if rights & 1 else XN)


def entry_rights(entry: int) -> int:
    """L4 rights user code has through a small-page entry."""
    if entry & 3 not in (2, 3):
        return 0
    ap = entry & 0x30
    if ap == AP_USER_RW:
        r = 6
    elif ap == AP_USER_RO:
        r = 4
    else:
        return 0
    return r | (0 if entry & XN else 1)


class ArmPageTables(PageTableBuilder):
    """:class:`l4gdb.kernel.paging.PageTables` for ARMv7 short descriptors."""

    user_top = USER_TOP

    def __init__(self, pool: tuple[int, int], ram: tuple[int, int], window: int,
                 kernel_image: tuple[int, int]) -> None:
        super().__init__(pool, kernel_image)
        self.ram_low, self.ram_high = ram
        self.window = window
        window_end = window + (self.ram_high - self.ram_low)
        self.kernel_areas = (kernel_image, (window, window_end), (GIC_VA, GIC_VA + MB))
        self.device_areas: tuple[tuple[int, int], ...] = ()  # none in every space
        self.driver_pages = ((UART_PA, UART_PA + PAGE),)     # sigma0 gives one space each
        self._free_l1: list[tuple[int, int | None]] = []    # L1, its image L2
        self._free_l2: list[int] = []
        self._l1: dict[int, dict[int, int]] = {}      # root -> {L1 index: L2 table}
        self._l2: dict[int, list[int]] = {}           # L2 table -> 256 entries

    # --- memory -------------------------------------------------------------
    def kernel_address(self, paddr: int) -> int:
        if not self.ram_low <= paddr < self.ram_high:
            raise ValueError(f"{paddr:#x} is outside the kernel window")
        return paddr - self.ram_low + self.window

    def _alloc_l2(self) -> int:
        if not self._free_l2:
            page = self._bump(PAGE)
            self._free_l2 = [page + i * L2_SIZE for i in range(PAGE // L2_SIZE)][::-1]
        table = self._free_l2.pop()
        self._l2[table] = [0] * 256
        return table

    # --- spaces ---------------------------------------------------------------
    def new_root(self) -> int:
        if self._free_l1:              # its kernel part is still there (free_root)
            root, image_l2 = self._free_l1.pop()
            self._l1[root] = {} if image_l2 is None else {self.kernel_image[0] >> 20: image_l2}
            return root
        try:
            root = self._bump(L1_SIZE)
        except MemoryError:
            return 0
        self._l1[root] = {}
        for mb in range((self.ram_high - self.ram_low) // MB):
            self._put(root + 4 * ((self.window >> 20) + mb),
                      (self.ram_low + mb * MB) | SECT_WINDOW)
        self._put(root + 4 * (GIC_VA >> 20), GIC_PA | SECT_DEVICE)
        lo, hi = self.kernel_image
        for va in range(lo & ~0xFFF, hi, PAGE):
            self._set(root, va, va | SMALL | CB | AP_PRIV_RW)
        # The text page (vectors and stubs, no data: kernel.ld puts data on the
        # next page) is user read/execute: the host enters the kernel from a CPU
        # stopped in user mode by pointing it at the preemption gate (an svc).
        self._set(root, lo & ~0xFFF, (lo & ~0xFFF) | SMALL | CB | AP_USER_RO)
        return root

    def free_root(self, root: int) -> None:
        # The CPU may still run on this table until the next TTBR0 write, which
        # comes after the copy records that free it: its kernel part (sections, the
        # image's L2) stays, and it serves only as an L1 again.
        tables = self._l1.pop(root, None)
        if tables is None:
            return
        lo, hi = self.kernel_image
        image_l2 = tables.pop(lo >> 20, None)
        for index, table in tables.items():
            self._clear(table, self._l2.pop(table))
            self._put(root + 4 * index, 0)
            self._free_l2.append(table)
        if image_l2 is not None:       # user pages beside the image go, the image stays
            image = {(va >> 12) & 0xFF for va in range(lo & ~0xFFF, hi, PAGE)}
            entries = self._l2[image_l2]
            for i, e in enumerate(entries):
                if e and i not in image:
                    entries[i] = 0
                    self._put(image_l2 + 4 * i, 0)
        self._free_l1.append((root, image_l2))

    def _table(self, root: int, vaddr: int, create: bool) -> int | None:
        tables = self._l1[root]
        index = vaddr >> 20
        table = tables.get(index)
        if table is None and create:
            table = self._alloc_l2()
            tables[index] = table
            self._put(root + 4 * index, table | COARSE)
        return table

    def _set(self, root: int, vaddr: int, entry: int) -> None:
        table = self._table(root, vaddr, create=bool(entry))
        if table is None:
            return
        i = (vaddr >> 12) & 0xFF
        if self._l2[table][i] != entry:
            self._l2[table][i] = entry
            self._put(table + 4 * i, entry)

    def has_root(self, root: int) -> bool:
        return root in self._l1

    def _user(self, vaddr: int) -> bool:
        return 0 <= vaddr < USER_TOP and not any(lo <= vaddr < hi for lo, hi in self.kernel_areas)

    def user_entry(self, paddr: int, rights: int) -> int:
        entry = small_entry(paddr, rights)
        if entry and not self.ram_low <= paddr < self.ram_high:
            # Device memory (a driver's page): shared device, never executable.
            entry = (entry & ~CB) | DEVICE | XN
        return entry

    def translate(self, root: int, vaddr: int) -> tuple[int, int] | None:
        if root not in self._l1 or not 0 <= vaddr < USER_TOP:
            return None
        table = self._l1[root].get(vaddr >> 20)
        if table is None:
            return None
        entry = self._l2[table][(vaddr >> 12) & 0xFF]
        rights = entry_rights(entry)
        if not rights:
            return None
        return (entry & ~0xFFF) | (vaddr & 0xFFF), rights
