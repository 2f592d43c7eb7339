"""MIPS32 page tables for the guest's software TLB refill, built by the host in RAM.

MIPS has no hardware table walker: ``guest/kernel.S`` refills the TLB from
tables in this format (docs/internals.md §4 "MIPS"):

* a *directory* per space, one 4 KiB page: word ``va >> 22`` (0..511, kuseg)
  holds the kseg0 address of the page table for that 4 MiB, or 0; word 1023
  is the *stale* flag, set here when the space's mappings shrank (or the
  directory is new) and cleared by the return path when it flushes the
  space's ASID from the TLB;
* *page tables*, one 4 KiB page each: 1024 entries in EntryLo format (PFN in
  bits 6..29, C = 3 cacheable in bits 3..5, D = writable, V = valid, G = 0),
  so the refill handler loads an even/odd pair as it is.

A space's root (``Resume.space_root``) is its directory's physical address
| its ASID (1..255): the return path sets EntryHi.ASID and the walker's
directory from it. ASIDs are recycled when spaces die; with more than 255
spaces alive they are shared, the return path flushes an ASID whose last
directory was another one.

The kernel lives in kseg0 (unmapped, cached, RAM at physical + 0x80000000),
which is therefore the kernel window: every table update and every UTCB or
string-copy write goes to ``kernel_address(pa) = pa + 0x80000000``. User
code sees kuseg only (0..2 GiB); the first 128 KiB of it (the kernel image's
alias, where wired TLB entry 0 maps the preemption gate for every ASID) are
never mapped for users. The ISA I/O page (``ISA_IO``, physical 0x18000000)
is a user-level driver's: in no space by default (``driver_pages``: sigma0
maps it at va = pa for the one space that asks), uncached wherever mapped.

The TLB has no execute permission and no write-only pages: a valid entry is
readable and executable, a dirty one writable too.
"""

from __future__ import annotations

from l4gdb.archkit import PAGE, PageTableBuilder

KSEG0 = 0x8000_0000
USER_TOP = 0x8000_0000            # kuseg
DIR_USER_ENTRIES = USER_TOP >> 22
STALE_WORD = 1023
ASIDS = 255                       # 1..255; 0 is the boot (flat) ASID
ISA_IO = 0x1800_0000              # Malta's ISA I/O page (l4/arch/device.h)

PTE_G = 0x1
PTE_V = 0x2
PTE_D = 0x4
PTE_CACHED = 3 << 3               # C = 3: cacheable, noncoherent, write-back
PTE_UNCACHED = 2 << 3             # C = 2: uncached (device memory)


def pte(paddr: int, rights: int, cached: bool = True) -> int:
    """EntryLo for a user page with L4 rwx rights (4 r, 2 w, 1 x); 0 = invalid."""
    if not rights & 7:
        return 0
    c = PTE_CACHED if cached else PTE_UNCACHED
    return ((paddr >> 12) << 6) | c | PTE_V | (PTE_D if rights & 2 else 0)


def pte_rights(entry: int) -> int:
    """L4 rights user code has through an entry (valid: r and x, dirty: w too)."""
    if not entry & PTE_V:
        return 0
    return 7 if entry & PTE_D else 5


def pte_paddr(entry: int) -> int:
    return ((entry >> 6) & 0xFFFFFF) << 12


def _narrower(old: int, new: int) -> bool:
    """Whether a TLB entry loaded from ``old`` may allow more than ``new`` does."""
    if not old & PTE_V:
        return False              # nothing of it can be in the TLB as valid
    if not new & PTE_V or pte_paddr(old) != pte_paddr(new):
        return True
    return bool(old & PTE_D and not new & PTE_D)


class MipsPageTables(PageTableBuilder):
    """:class:`l4gdb.kernel.paging.PageTables` for the MIPS software-refilled TLB."""

    user_top = USER_TOP

    def __init__(self, pool: tuple[int, int], ram: tuple[int, int],
                 kernel_image: tuple[int, int]) -> None:
        super().__init__(pool, kernel_image)
        self.ram_low, self.ram_high = ram
        self.kernel_areas = (kernel_image, (USER_TOP, 1 << 32))
        self.device_areas: tuple[tuple[int, int], ...] = ()          # none in every space
        self.driver_pages = ((ISA_IO, ISA_IO + PAGE),)               # sigma0: one space each
        self._dirs: dict[int, dict[int, int]] = {}     # directory -> {index: table}
        self._tables: dict[int, list[int]] = {}        # table -> 1024 entries
        self._asid: dict[int, int] = {}                # directory -> ASID
        self._asid_users: dict[int, int] = {}          # ASID -> spaces using it
        self._free_asids = list(range(ASIDS, 0, -1))
        self._shared_next = 0

    # --- memory -------------------------------------------------------------
    def kernel_address(self, paddr: int) -> int:
        if not self.ram_low <= paddr < self.ram_high:
            raise ValueError(f"{paddr:#x} is outside kseg0's RAM")
        return paddr + KSEG0

    # --- spaces ---------------------------------------------------------------
    def _new_asid(self) -> int:
        if self._free_asids:
            asid = self._free_asids.pop()
        else:                                    # share; the return path flushes
            asid = self._shared_next % ASIDS + 1
            self._shared_next += 1
        self._asid_users[asid] = self._asid_users.get(asid, 0) + 1
        return asid

    def _drop_asid(self, asid: int) -> None:
        left = self._asid_users.get(asid, 0) - 1
        if left > 0:
            self._asid_users[asid] = left
            return
        self._asid_users.pop(asid, None)
        self._free_asids.insert(0, asid)        # reused last: fewer flushes

    def new_root(self) -> int:
        try:
            directory = self._page()
        except MemoryError:
            return 0
        self._dirs[directory] = {}
        asid = self._asid[directory] = self._new_asid()
        # Whatever this directory's page or this ASID held before, the TLB may
        # still have entries of it: the first switch to the space flushes them.
        self._stale(directory)
        return directory | asid

    def _stale(self, directory: int) -> None:
        self._put_volatile(directory + 4 * STALE_WORD, 1)   # the refill clears it

    @staticmethod
    def _directory(root: int) -> int:
        return root & ~(PAGE - 1)

    def asid_of(self, root: int) -> int:
        return root & 0xFF

    def free_root(self, root: int) -> None:
        directory = self._directory(root)
        tables = self._dirs.pop(directory, None)
        if tables is None:
            return
        for index, table in tables.items():
            self._clear(table, self._tables.pop(table))
            self._put(directory + 4 * index, 0)
            self._free_pages.append(table)
        self._put_volatile(directory + 4 * STALE_WORD, 0)   # all zero: it may become a table
        self._drop_asid(self._asid.pop(directory))
        self._free_pages.append(directory)

    def _table(self, directory: int, vaddr: int, create: bool) -> int | None:
        tables = self._dirs[directory]
        index = vaddr >> 22
        table = tables.get(index)
        if table is None and create:
            table = self._page()
            self._tables[table] = [0] * 1024
            tables[index] = table
            self._put(directory + 4 * index, table + KSEG0)
        return table

    def _set(self, root: int, vaddr: int, entry: int) -> None:
        directory = self._directory(root)
        table = self._table(directory, vaddr, create=bool(entry))
        if table is None:
            return
        i = (vaddr >> 12) & 0x3FF
        old = self._tables[table][i]
        if old != entry:
            self._tables[table][i] = entry
            self._put(table + 4 * i, entry)
            if _narrower(old, entry):
                self._stale(directory)

    def has_root(self, root: int) -> bool:
        return self._directory(root) in self._dirs

    def user_entry(self, paddr: int, rights: int) -> int:
        # Outside RAM is device memory (a driver's page): never through the cache.
        return pte(paddr, rights, cached=self.ram_low <= paddr < self.ram_high)

    def translate(self, root: int, vaddr: int) -> tuple[int, int] | None:
        directory = self._directory(root)
        if directory not in self._dirs or not self._user(vaddr):
            return None
        table = self._dirs[directory].get(vaddr >> 22)
        if table is None:
            return None
        entry = self._tables[table][(vaddr >> 12) & 0x3FF]
        rights = pte_rights(entry)
        if not rights:
            return None
        return pte_paddr(entry) | (vaddr & 0xFFF), rights
