"""MIPS address spaces: the page-table builder (arch/mips/l4gdb_mips/pagetables.py) as the
kernel's PageTables, checked against a model of what guest/kernel.S does with the
tables (TLB refill, the TLB invalid/modified fast path, the return path's ASID switch
and stale-space flush), and the kernel booting on it."""

from __future__ import annotations

import struct

import pytest
from pagetable_checks import check_the_hook_gives_tables

pagetables = pytest.importorskip("l4gdb_mips.pagetables")
plugin = pytest.importorskip("l4gdb_mips.plugin")

from fake_target import SparseMemory  # noqa: E402

from l4gdb.kernel import BootConfig, BufferConsole, FakeClock, Kernel  # noqa: E402
from l4gdb.kernel.abi import Resume, Trap, TrapKind  # noqa: E402
from l4gdb.kernel.paging import PageTables  # noqa: E402

KSEG0 = 0x8000_0000
POOL = (0x0700_0000, 0x0800_0000)
IMAGE = (0x0000_0000, 0x0002_0000)
V, D = pagetables.PTE_V, pagetables.PTE_D


def tables():
    return pagetables.MipsPageTables(pool=POOL, ram=(0, POOL[1]), kernel_image=IMAGE)


def words(runs) -> dict[int, int]:
    """The writes as {physical address: word}."""
    out = {}
    for addr, data in runs:
        for i in range(0, len(data), 4):
            out[addr - KSEG0 + i] = struct.unpack_from("<I", data, i)[0]
    return out


class Guest:
    """The guest side of the contract, as kernel.S implements it: physical memory
    written by the exit block's copy records (kseg0 addresses), a TLB of even/odd
    pairs tagged with an ASID, the refill walk, the fast path of TLB invalid and
    modified exceptions, and the return path's space switch."""

    def __init__(self) -> None:
        self.mem: dict[int, int] = {}
        self.tlb: dict[tuple[int, int], tuple[int, int]] = {}   # (vpn2, asid) -> pair
        self.directory = 0
        self.asid = 0
        self.owner: dict[int, int] = {}
        self.flushes = 0

    def exit(self, writes, space_root: int = 0) -> None:
        for addr, data in writes:
            assert KSEG0 <= addr < KSEG0 + POOL[1], hex(addr)   # the kernel window
            for i in range(0, len(data), 4):
                self.mem[addr - KSEG0 + i] = struct.unpack_from("<I", data, i)[0]
        if space_root:
            asid, directory = space_root & 0xFF, space_root & ~0xFFF
            if self.owner.get(asid) != directory or self.mem.get(directory + 0xFFC, 0):
                self.owner[asid] = directory
                self.mem[directory + 0xFFC] = 0
                self.tlb = {k: e for k, e in self.tlb.items() if k[1] != asid}
                self.flushes += 1
            self.directory, self.asid = directory, asid

    def _pair(self, va: int) -> tuple[int, int] | None:
        table = self.mem.get(self.directory + 4 * (va >> 22), 0)
        if not table:
            return None
        assert table & KSEG0
        even = (table - KSEG0) + 4 * ((va >> 12) & 0x3FE)
        return self.mem.get(even, 0), self.mem.get(even + 4, 0)

    def access(self, va: int, write: bool = False) -> int | None:
        """Physical address of a user access, or None: a page fault for the host."""
        key = (va >> 13, self.asid)
        if key not in self.tlb:                      # refill
            pair = self._pair(va)
            if pair is None:
                return None
            self.tlb[key] = pair
        need = V | (D if write else 0)
        lo = self.tlb[key][(va >> 12) & 1]
        if lo & need != need:                        # TLB invalid / modified
            pair = self._pair(va)
            if pair is None or pair[(va >> 12) & 1] & need != need:
                return None
            self.tlb[key] = pair                     # tlbp + tlbwi
            lo = pair[(va >> 12) & 1]
        return pagetables.pte_paddr(lo) | (va & 0xFFF)


# --- the builder --------------------------------------------------------------------

def test_is_the_kernels_page_table_protocol_and_the_hooks_give_it():
    assert isinstance(tables(), PageTables)
    pt = check_the_hook_gives_tables(plugin, "mips", pagetables.MipsPageTables, KSEG0)  # kseg0
    assert (pagetables.USER_TOP, 1 << 32) in pt.kernel_areas and IMAGE in pt.kernel_areas


def test_the_isa_io_page_is_in_no_space_until_a_driver_gets_it_uncached():
    """No device memory in every space (nothing wired, no KIP "dedicated" area):
    sigma0 maps the ISA I/O page at va = pa for one driver; there it is uncached."""
    pt = tables()
    io = pagetables.ISA_IO
    a, b = pt.new_root(), pt.new_root()
    assert pt.device_areas == () and pt.driver_pages == ((io, io + 0x1000),)
    assert not any(lo <= io < hi for lo, hi in pt.kernel_areas)
    assert pt.translate(a, io) is None and pt.translate(b, io) is None
    pt.map(a, io, io, 12, 6)
    assert pt.translate(a, io) == (io, 7) and pt.translate(b, io) is None
    assert pt.user_entry(io, 6) & (7 << 3) == pagetables.PTE_UNCACHED
    assert pt.user_entry(0x0100_0000, 6) & (7 << 3) == pagetables.PTE_CACHED   # RAM


def test_flat_mode_is_still_there(monkeypatch):
    monkeypatch.setenv(plugin.FLAT_ENV, "1")
    layout = plugin.l4gdb_memory_layout(arch="mips")
    assert plugin.l4gdb_page_tables(arch="mips", layout=layout) is None
    assert layout["ram_high"] == 0x0800_0000          # no pool: all RAM is sigma0's


@pytest.mark.parametrize("rights,bits", [(4, V), (5, V), (1, V), (6, V | D), (7, V | D),
                                         (2, V | D), (0, 0)])
def test_entries_are_entrylo(rights, bits):
    e = pagetables.pte(0x0123_4000, rights)
    if not rights:
        assert e == 0
        return
    assert e >> 6 == 0x1234 and e & 0x38 == 0x18 and e & 7 == bits      # PFN, C = 3, G = 0
    assert pagetables.pte_paddr(e) == 0x0123_4000
    assert pagetables.pte_rights(e) == (7 if rights & 2 else 5)   # no x or w-only on MIPS


def test_new_root_is_directory_and_asid_and_starts_stale():
    pt = tables()
    a, b = pt.new_root(), pt.new_root()
    assert a & 0xFF and b & 0xFF and a & 0xFF != b & 0xFF
    for root in (a, b):
        directory = root & ~0xFFF
        assert POOL[0] <= directory < POOL[1]
    g = Guest()
    g.exit(pt.take_writes())
    assert g.mem[(a & ~0xFFF) + 0xFFC] == 1 and g.mem[(b & ~0xFFF) + 0xFFC] == 1


def test_map_translate_and_the_refill_walk():
    pt = tables()
    root = pt.new_root()
    pt.map(root, 0x1000_0000, 0x0090_0000, 13, 6)           # two pages, one pair
    pt.map(root, 0x1040_0000, 0x0091_0000, 12, 4)           # another page table
    assert pt.translate(root, 0x1000_1234) == (0x0090_1234, 7)
    assert pt.translate(root, 0x1040_0008) == (0x0091_0008, 5)
    assert pt.translate(root, 0x1000_2000) is None
    g = Guest()
    g.exit(pt.take_writes(), root)
    assert g.access(0x1000_0010, write=True) == 0x0090_0010
    assert g.access(0x1000_1010) == 0x0090_1010
    assert g.access(0x1040_0000) == 0x0091_0000
    assert g.access(0x1040_0000, write=True) is None       # read-only: TLB modified
    assert g.access(0x1080_0000) is None                    # no page table


def test_unmap_flushes_the_stale_tlb_entries_of_that_space_only():
    pt = tables()
    a, b = pt.new_root(), pt.new_root()
    pt.map(a, 0x1000_0000, 0x0090_0000, 12, 6)
    pt.map(b, 0x1000_0000, 0x0092_0000, 12, 6)
    g = Guest()
    g.exit(pt.take_writes(), b)
    assert g.access(0x1000_0000) == 0x0092_0000             # b's entry in the TLB
    g.exit(pt.take_writes(), a)
    assert g.access(0x1000_0000) == 0x0090_0000             # a's too, another ASID
    pt.unmap(a, 0x1000_0000, 12)
    g.exit(pt.take_writes(), a)                              # the kernel: tables changed
    assert g.access(0x1000_0000) is None                    # flushed: a page fault
    assert (0x1000_0000 >> 13, b & 0xFF) in g.tlb           # b's entry survived
    g.exit(pt.take_writes(), b)
    assert g.access(0x1000_0000) == 0x0092_0000


@pytest.mark.parametrize("old,new,stale", [(6, 4, True), (6, 0, True), (4, 0, True),
                                           (4, 6, False), (0, 6, False), (4, 5, False)])
def test_only_narrowing_marks_the_space_stale(old, new, stale):
    pt = tables()
    root = pt.new_root()
    directory = root & ~0xFFF
    if old:
        pt.map(root, 0x1000_0000, 0x0090_0000, 12, old)
    g = Guest()
    g.exit(pt.take_writes(), root)
    if new:
        pt.map(root, 0x1000_0000, 0x0090_0000, 12, new)
    else:
        pt.unmap(root, 0x1000_0000, 12)
    assert (words(pt.take_writes()).get(directory + 0xFFC) == 1) is stale


def test_a_widened_entry_is_rewritten_by_the_fast_path_without_a_flush():
    pt = tables()
    root = pt.new_root()
    pt.map(root, 0x1000_0000, 0x0090_0000, 12, 4)
    pt.map(root, 0x1000_1000, 0x0091_0000, 12, 0)
    g = Guest()
    g.exit(pt.take_writes(), root)
    assert g.access(0x1000_0000) == 0x0090_0000
    assert g.access(0x1000_0000, write=True) is None        # the host records w ...
    assert g.access(0x1000_1000) is None                    # ... and maps the odd page
    pt.map(root, 0x1000_0000, 0x0090_0000, 12, 6)
    pt.map(root, 0x1000_1000, 0x0091_0000, 12, 4)
    flushes = g.flushes
    g.exit(pt.take_writes(), root)
    assert g.flushes == flushes
    assert g.access(0x1000_0000, write=True) == 0x0090_0000
    assert g.access(0x1000_1000) == 0x0091_0000


def test_kernel_areas_are_never_mapped_for_users():
    pt = tables()
    root = pt.new_root()
    pt.map(root, 0x0001_0000, 0x0090_0000, 12, 7)           # the gate's wired page
    pt.map(root, KSEG0, 0x0090_0000, 12, 7)
    assert pt.translate(root, 0x0001_0000) is None and pt.translate(root, KSEG0) is None
    writes = pt.take_writes()
    assert len(writes) == 1 and writes[0][0] == KSEG0 + (root & ~0xFFF) + 0xFFC


def test_freed_spaces_are_cleared_and_reuse_starts_stale():
    pt = tables()
    root = pt.new_root()
    pt.map(root, 0x1000_0000, 0x0090_0000, 12, 7)
    g = Guest()
    g.exit(pt.take_writes(), root)
    assert g.access(0x1000_0000) == 0x0090_0000
    pt.free_root(root)
    cleared = pt.take_writes()
    assert cleared and all(not any(data) for _, data in cleared)
    g.exit(cleared)
    again = pt.new_root()
    assert again & ~0xFFF == root & ~0xFFF or again & 0xFF != root & 0xFF
    g.exit(pt.take_writes(), again)
    assert g.access(0x1000_0000) is None                    # nothing of the old space


def test_more_spaces_than_asids_share_them_safely():
    pt = tables()
    roots = [pt.new_root() for _ in range(300)]
    assert {r & 0xFF for r in roots} == set(range(1, 256))
    first, sharer = roots[0], next(r for r in roots[255:] if r & 0xFF == roots[0] & 0xFF)
    pt.map(first, 0x1000_0000, 0x0090_0000, 12, 7)
    pt.map(sharer, 0x1000_0000, 0x0095_0000, 12, 7)
    g = Guest()
    g.exit(pt.take_writes(), first)
    assert g.access(0x1000_0000) == 0x0090_0000
    g.exit(pt.take_writes(), sharer)                         # same ASID, other directory
    assert g.access(0x1000_0000) == 0x0095_0000
    g.exit(pt.take_writes(), first)
    assert g.access(0x1000_0000) == 0x0090_0000


def test_kernel_address_is_kseg0_and_frames_come_from_the_pool():
    pt = tables()
    assert pt.kernel_address(0) == KSEG0
    assert pt.kernel_address(0x07FF_F000) == 0x87FF_F000
    with pytest.raises(ValueError):
        pt.kernel_address(0x0800_0000)
    f = pt.alloc_frame()
    assert POOL[0] <= f < POOL[1]
    pt.take_writes()
    pt.free_frame(f)
    assert pt.alloc_frame() == f
    assert pt.take_writes() == [(KSEG0 + f, bytes(4096))]


def test_pool_exhaustion_is_reported_not_raised_for_roots():
    pt = pagetables.MipsPageTables(pool=(POOL[0], POOL[0] + 0x2000), ram=(0, POOL[1]),
                                   kernel_image=IMAGE)
    assert pt.new_root() and pt.new_root()
    assert pt.new_root() == 0
    assert pt.alloc_frame() is None


def test_writes_come_as_joined_runs_last_write_wins():
    pt = tables()
    root = pt.new_root()
    pt.take_writes()
    pt.map(root, 0x1000_0000, 0x0090_0000, 16, 7)           # 16 entries + directory word
    pt.unmap(root, 0x1000_0000, 12)
    runs = pt.take_writes()
    assert len(runs) <= 2                                   # directory word, entries
    w = words(runs)
    table = pt._dirs[root & ~0xFFF][0x1000_0000 >> 22]
    assert w[table] == 0 and all(w[table + 4 * i] & V for i in range(1, 16))


# --- the kernel on these tables -------------------------------------------------------

def boot():
    layout = plugin.l4gdb_memory_layout(arch="mips")
    pt = plugin.l4gdb_page_tables(arch="mips", layout=layout)
    config = BootConfig(kip_addr=layout["kip"], utcb_area_base=layout["utcb_area"],
                        utcb_area_log2=layout["utcb_area_log2"], root_ip=0x0040_0000,
                        root_sp=0x0041_0000,
                        main_memory=(layout["ram_low"], layout["ram_high"]),
                        free_memory=(layout["free_low"], layout["ram_high"]),
                        reserved=((layout["kernel_low"], layout["kernel_high"]),))
    mem = SparseMemory(KSEG0, KSEG0 + POOL[1])
    kernel = Kernel(plugin.MIPS_INFO, config, mem, FakeClock(), BufferConsole(""), paging=pt)
    return kernel, pt, mem


def test_the_kernel_boots_into_the_root_space_and_pages_the_root_task_in():
    kernel, pt, mem = boot()
    g = Guest()
    res: Resume = kernel.handle(Trap(TrapKind.BOOT))
    for addr, data in res.writes:
        mem.write(addr, data)
    g.exit(res.writes, res.space_root)
    assert res.space_root & 0xFF and g.directory == res.space_root & ~0xFFF
    assert mem.read(KSEG0 + 0x0002_0000, 4) == b"L4\xe6K"            # the KIP, via kseg0
    assert g.access(0x0002_0000) == 0x0002_0000                      # mapped r-x
    assert g.access(0x0004_0000, write=True) == 0x0004_0000          # the root's UTCB
    assert g.access(0x0040_0000) is None                             # text: not yet
    regs = dict(res.regs)
    fault = Trap(TrapKind.PAGEFAULT, 0, regs, res.utcb_addr, None, fault_addr=0x0040_0000,
                 fault_access=1)
    res = kernel.handle(fault)                     # sigma0 (host) maps it 1:1
    g.exit(res.writes, res.space_root)
    assert g.access(0x0040_0000) == 0x0040_0000
