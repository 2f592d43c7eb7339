"""The ARM short-descriptor page-table builder (arch/arm/l4gdb_arm/pagetables.py) as the
kernel's PageTables: descriptors, the kernel image template, window writes."""

from __future__ import annotations

import struct

import pytest
from pagetable_checks import check_the_last_write_wins

mmu = pytest.importorskip("l4gdb_arm.pagetables")

RAM = (0x4000_0000, 0x4800_0000)
POOL = (0x4700_0000, 0x4800_0000)
IMAGE = (0x4000_0000, 0x4001_0000)


def tables():
    return mmu.ArmPageTables(pool=POOL, ram=RAM, window=0xC000_0000, kernel_image=IMAGE)


def memory(pt, writes=None):
    """Apply the window writes to a dict of physical words."""
    mem = {}
    for addr, data in writes if writes is not None else pt.take_writes():
        pa = addr - 0xC000_0000 + RAM[0]
        for i in range(0, len(data), 4):
            mem[pa + i] = struct.unpack_from("<I", data, i)[0]
    return mem


def walk(mem, root, va):
    l1 = mem.get(root + 4 * (va >> 20), 0)
    if l1 & 3 != 1:
        return None
    return mem.get((l1 & ~0x3FF) + 4 * ((va >> 12) & 0xFF), 0)


def test_new_root_maps_the_kernel_image_privileged_and_the_text_page_user_rx():
    pt = tables()
    root = pt.new_root()
    assert root % 0x4000 == 0 and POOL[0] <= root < POOL[1]
    mem = memory(pt)
    text = walk(mem, root, IMAGE[0])
    data = walk(mem, root, IMAGE[0] + 0x1000)
    assert text & ~0xFFF == IMAGE[0] and text & 0x30 == 0x20 and not text & 1   # user RO, exec
    assert data & 0x30 == 0x10                                                  # privileged
    assert pt.translate(root, IMAGE[0] + 0x1000) is None
    assert pt.translate(root, IMAGE[0]) == (IMAGE[0], 5)


@pytest.mark.parametrize("rights,ap,xn", [(4, 0x20, 1), (6, 0x30, 1), (5, 0x20, 0), (7, 0x30, 0),
                                          (2, 0x30, 1), (1, 0x20, 0)])
def test_small_page_descriptors(rights, ap, xn):
    e = mmu.small_entry(0x4123_4000, rights)
    assert e & ~0xFFF == 0x4123_4000 and e & 2 and e & 0x30 == ap and e & 1 == xn


def test_map_unmap_translate_and_window_writes():
    pt = tables()
    root = pt.new_root()
    pt.take_writes()
    pt.map(root, 0x1000_0000, 0x4090_0000, 13, 6)          # two pages
    mem = memory(pt)
    assert walk(mem, root, 0x1000_1000) & ~0xFFF == 0x4090_1000
    assert pt.translate(root, 0x1000_1234) == (0x4090_1234, 6)
    pt.unmap(root, 0x1000_0000, 12)
    assert walk({**mem, **memory(pt)}, root, 0x1000_0000) == 0
    assert pt.translate(root, 0x1000_0000) is None and pt.translate(root, 0x1000_1000)


def test_kernel_areas_are_never_mapped_for_users():
    pt = tables()
    root = pt.new_root()
    pt.map(root, IMAGE[0] + 0x1000, 0x4090_0000, 12, 7)
    pt.map(root, 0xC000_0000, 0x4090_0000, 12, 7)
    assert pt.translate(root, IMAGE[0] + 0x1000) is None
    assert pt.translate(root, 0xC000_0000) is None
    # the GIC's MB only: the UART's page is no kernel area (a driver maps it)
    assert pt.kernel_areas == (IMAGE, (0xC000_0000, 0xC800_0000), (0xF800_0000, 0xF810_0000))
    pt.map(root, 0xF800_0000, 0x4090_0000, 12, 7)
    assert pt.translate(root, 0xF800_0000) is None


@pytest.mark.parametrize("va", [0x0001_0000, 0x0804_8000, 0x8000_0000, 0xBEFF_F000,
                                0xC800_0000, 0xFFFF_0000])
def test_linux_user_addresses_are_mappable(va):
    # TTBCR.N = 0: binaries at 0x10000 (armhf) / 0x8048000, stacks below 0xbf000000 and
    # the kuser helper page at 0xffff0000 (vectors are at VBAR, not high)
    pt = tables()
    root = pt.new_root()
    pt.map(root, va, 0x4090_0000, 12, 5)
    assert pt.translate(root, va) == (0x4090_0000, 5)
    assert walk(memory(pt), root, va) & ~0xFFF == 0x4090_0000


def test_every_l1_has_the_window_and_gic_sections():
    pt = tables()
    root = pt.new_root()
    mem = memory(pt)
    assert root % 0x4000 == 0
    assert mem[root + 4 * 0xC00] == 0x4000_0000 | 0x41E                # window, first MB
    assert mem[root + 4 * 0xC7F] == 0x47F0_0000 | 0x41E                # window, last MB
    assert mem[root + 4 * 0xF80] == 0x0800_0000 | 0x416                # GIC
    pt.free_root(root)
    pt.take_writes()
    assert pt.new_root() == root and not memory(pt).get(root + 4 * 0xC00)   # kept, not rewritten


def test_freed_tables_are_cleared_before_reuse():
    pt = tables()
    root = pt.new_root()
    pt.map(root, 0x1000_0000, 0x4090_0000, 12, 7)
    pt.take_writes()
    pt.free_root(root)
    cleared = memory(pt)
    assert cleared and all(v == 0 for v in cleared.values())
    again = pt.new_root()
    assert again == root and pt.translate(again, 0x1000_0000) is None


def test_kernel_address_is_the_window():
    pt = tables()
    assert pt.kernel_address(0x4000_0000) == 0xC000_0000
    assert pt.kernel_address(0x47FF_F000) == 0xC7FF_F000
    with pytest.raises(ValueError):
        pt.kernel_address(0x1000)
    assert POOL[0] <= pt.alloc_frame() < POOL[1]


def test_writes_come_as_joined_runs_last_write_wins():
    pt = tables()
    root = pt.new_root()
    runs = pt.take_writes()
    assert len(runs) <= 5        # L1 image entry, the image's L2 entries, window, GIC sections
    check_the_last_write_wins(pt, root, 0x4090_0000)  # one run of 16 L2 words + the L1 entry


def test_freed_frames_are_cleared_on_reuse():
    pt = tables()
    f = pt.alloc_frame()
    pt.take_writes()
    pt.free_frame(f)
    assert pt.alloc_frame() == f
    runs = pt.take_writes()
    assert runs == [(pt.kernel_address(f), bytes(4096))]


def test_freed_l1_keeps_its_kernel_part_for_the_cpu_still_on_it():
    # TTBR0 changes only after the copy records that free the table.
    pt = tables()
    root = pt.new_root()
    pt.map(root, IMAGE[1], 0x4090_0000, 12, 7)            # a user page in the image's MB
    pt.map(root, 0x1000_0000, 0x4091_0000, 12, 7)
    mem = memory(pt)
    pt.free_root(root)
    mem.update(memory(pt))
    assert walk(mem, root, IMAGE[0]) & ~0xFFF == IMAGE[0]
    assert mem[root + 4 * 0xC00] == 0x4000_0000 | 0x41E
    assert not walk(mem, root, IMAGE[1]) and walk(mem, root, 0x1000_0000) is None
    again = pt.new_root()
    assert again == root and pt.translate(again, IMAGE[1]) is None
    assert pt.translate(again, IMAGE[0]) == (IMAGE[0], 5)


def test_no_space_has_the_pl011_page_until_a_driver_is_given_it():
    """The UART is a driver's (sigma0 or Iguana maps it, at va = pa, in its space
    only): no space has it from new_root, and mapped it is user device memory."""
    pt = tables()
    a, b = pt.new_root(), pt.new_root()
    mem = memory(pt)
    assert walk(mem, a, mmu.UART_PA) is None and pt.translate(b, mmu.UART_PA) is None
    assert pt.device_areas == () and pt.driver_pages == ((mmu.UART_PA, mmu.UART_PA + 0x1000),)
    pt.map(a, mmu.UART_PA, mmu.UART_PA, 12, 7)          # the driver's space only
    mem.update(memory(pt))
    assert walk(mem, a, mmu.UART_PA) == mmu.UART_PA | 0x37   # small, B (device), AP 11, XN
    assert pt.translate(a, mmu.UART_PA) == (mmu.UART_PA, 6)  # never executable
    assert pt.translate(b, mmu.UART_PA) is None
    pt.map(a, 0x1000_0000, 0x4090_0000, 12, 7)          # RAM stays normal memory
    assert walk({**mem, **memory(pt)}, a, 0x1000_0000) & 0xC == 0xC
    pt.free_root(a)
    c = pt.new_root()                                     # recycled: not inherited
    assert pt.translate(c, mmu.UART_PA) is None
