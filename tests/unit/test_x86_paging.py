"""The i386 2-level page-table builder (arch/x86/l4gdb_x86/pagetables.py) as the kernel's
PageTables: entry encoding, the kernel window and image template, map/unmap/protect,
window writes."""

from __future__ import annotations

import struct

import pytest
from pagetable_checks import check_the_hook_gives_tables, check_the_last_write_wins

paging = pytest.importorskip("l4gdb_x86.pagetables")
plugin = pytest.importorskip("l4gdb_x86.plugin")

from l4gdb.kernel.paging import PageTables  # noqa: E402

WINDOW = 0xC000_0000
POOL = (0x0700_0000, 0x0800_0000)
IMAGE = (0x0010_0000, 0x0011_0000)


def tables():
    return paging.X86PageTables(pool=POOL, window=WINDOW, kernel_image=IMAGE,
                                window_size=0x0800_0000)


def memory(pt, mem=None):
    """Apply the window writes to a dict of physical words."""
    mem = {} if mem is None else mem
    for addr, data in pt.take_writes():
        assert addr >= WINDOW
        pa = addr - WINDOW
        for i in range(0, len(data), 4):
            mem[pa + i] = struct.unpack_from("<I", data, i)[0]
    return mem


def walk(mem, root, va, user=True):
    """What the MMU does for a ring-3 (user) or ring-0 access: (pa, writable) or None."""
    pde = mem.get(root + 4 * (va >> 22), 0)
    if not pde & paging.P or (user and not pde & paging.US):
        return None
    if pde & paging.PS:
        return (pde & 0xFFC0_0000) | (va & 0x3F_FFFF), bool(pde & paging.RW)
    e = mem.get((pde & ~0xFFF) + 4 * ((va >> 12) & 0x3FF), 0)
    if not e & paging.P or (user and not e & paging.US):
        return None
    return (e & ~0xFFF) | (va & 0xFFF), bool(e & pde & paging.RW)


def test_is_the_kernels_page_table_protocol():
    assert isinstance(tables(), PageTables)
    check_the_hook_gives_tables(plugin, "x86", paging.X86PageTables, WINDOW)   # the window


@pytest.mark.parametrize("rights,bits", [(4, 0x25), (5, 0x25), (1, 0x25), (6, 0x67), (7, 0x67),
                                         (2, 0x67), (0, 0)])
def test_page_entries(rights, bits):
    e = paging.pte(0x0123_4000, rights)
    if not rights:
        assert e == 0
        return
    # present, user, accessed; writable + dirty for w; no execute-disable: x comes with r
    assert e & ~0xFFF == 0x0123_4000 and e & 0xFFF == bits
    assert paging.entry_rights(e) == (7 if rights & 2 else 5)


def test_supervisor_and_absent_entries_give_users_nothing():
    assert paging.entry_rights(0x0010_0000 | paging.KERNEL_PTE) == 0
    assert paging.entry_rights(0x0010_0000 | paging.US) == 0       # not present
    assert paging.entry_rights(0x0010_0000 | paging.USER_RO_PTE) == 5


def test_new_root_has_the_window_and_the_kernel_image():
    pt = tables()
    root = pt.new_root()
    assert root % 0x1000 == 0 and POOL[0] <= root < POOL[1]
    mem = memory(pt)
    # the window: all 128 MiB at 0xC0000000, 4 MiB pages, supervisor read-write
    for pa in (0, 0x0010_5000, 0x07FF_F000):
        assert walk(mem, root, WINDOW + pa, user=False) == (pa, True)
        assert walk(mem, root, WINDOW + pa, user=True) is None
    assert mem[root + 4 * 0x300] == paging.WINDOW_PDE             # what kernel.S's boot PD has
    # the image at its link address: supervisor only ...
    for va in range(IMAGE[0] + 0x2000, IMAGE[1], 0x1000):
        assert walk(mem, root, va, user=False) == (va, True)
        assert walk(mem, root, va) is None
    # ... except the gate page and the %gs slot's page: user read-only
    assert walk(mem, root, IMAGE[0] + 0x10) == (IMAGE[0] + 0x10, False)
    assert walk(mem, root, IMAGE[0] + 0x1000) == (IMAGE[0] + 0x1000, False)
    assert pt.translate(root, IMAGE[0]) == (IMAGE[0], 5)
    assert pt.translate(root, IMAGE[0] + 0x2000) is None
    # nothing else
    assert walk(mem, root, 0x0040_0000) is None and walk(mem, root, 0) is None


def test_map_unmap_protect_translate():
    pt = tables()
    root = pt.new_root()
    mem = memory(pt)
    pt.map(root, 0x1000_0000, 0x0090_0000, 13, 6)                 # two pages, rw
    memory(pt, mem)
    assert walk(mem, root, 0x1000_1234) == (0x0090_1234, True)
    assert pt.translate(root, 0x1000_1234) == (0x0090_1234, 7)
    pt.map(root, 0x1000_0000, 0x0090_0000, 12, 4)                 # protect: read only
    memory(pt, mem)
    assert walk(mem, root, 0x1000_0010) == (0x0090_0010, False)
    assert pt.translate(root, 0x1000_0000) == (0x0090_0000, 5)
    pt.unmap(root, 0x1000_0000, 12)
    memory(pt, mem)
    assert walk(mem, root, 0x1000_0000) is None and pt.translate(root, 0x1000_0000) is None
    assert walk(mem, root, 0x1000_1000) == (0x0090_1000, True)
    pt.map(root, 0x1000_1000, 0x0090_1000, 12, 0)                 # no rights: no entry
    memory(pt, mem)
    assert walk(mem, root, 0x1000_1000) is None


def test_spaces_are_separate():
    pt = tables()
    a, b = pt.new_root(), pt.new_root()
    pt.map(a, 0x0040_0000, 0x0090_0000, 12, 7)
    mem = memory(pt)
    assert walk(mem, a, 0x0040_0000) == (0x0090_0000, True)
    assert walk(mem, b, 0x0040_0000) is None
    # the first 4 MiB have a table per space (the kernel image shares it)
    pt.map(b, 0x0020_0000, 0x0090_0000, 12, 4)
    memory(pt, mem)
    assert walk(mem, a, 0x0020_0000) is None and walk(mem, b, 0x0020_0000) == (0x0090_0000, False)
    assert mem[a + 0] & ~0xFFF != mem[b + 0] & ~0xFFF


def test_kernel_areas_are_never_mapped_for_users():
    pt = tables()
    root = pt.new_root()
    pt.map(root, IMAGE[0] + 0x2000, 0x0090_0000, 12, 7)
    pt.map(root, IMAGE[0], 0x0090_0000, 12, 7)                    # not even the user pages
    pt.map(root, WINDOW, 0x0090_0000, 12, 7)
    pt.unmap(root, IMAGE[0], 16)
    mem = memory(pt)
    assert pt.translate(root, IMAGE[0] + 0x2000) is None
    assert pt.translate(root, IMAGE[0]) == (IMAGE[0], 5)
    assert walk(mem, root, WINDOW, user=False) == (0, True)
    assert (WINDOW, 1 << 32) in pt.kernel_areas and IMAGE in pt.kernel_areas


def test_freed_directory_keeps_its_kernel_part_and_serves_as_a_directory_again():
    # The CPU may still run on a freed directory (CR3 changes only after the copy
    # records that free it): the window and the image stay, the user part goes.
    pt = tables()
    root = pt.new_root()
    pt.map(root, 0x1000_0000, 0x0090_0000, 12, 7)
    pt.map(root, 0x0000_5000, 0x0091_0000, 12, 7)     # beside the image, same page table
    mem = memory(pt)
    user_table = mem[root + 4 * (0x1000_0000 >> 22)] & ~0xFFF
    pt.free_root(root)
    memory(pt, mem)
    assert walk(mem, root, 0x1000_0000) is None and walk(mem, root, 0x5000) is None
    assert not any(mem.get(user_table + 4 * i, 0) for i in range(1024))
    assert walk(mem, root, IMAGE[0]) is not None
    assert walk(mem, root, WINDOW, user=False) == (0, True)
    again = pt.new_root()
    assert again == root
    assert pt.translate(again, 0x1000_0000) is None and pt.translate(again, 0x5000) is None
    assert pt.translate(again, IMAGE[0]) == (IMAGE[0], 5)
    pt.map(again, 0x2000_0000, 0x0092_0000, 12, 7)     # the cleared table, reused
    memory(pt, mem)
    assert mem[again + 4 * (0x2000_0000 >> 22)] & ~0xFFF == user_table
    assert walk(mem, again, 0x2000_0000) == (0x0092_0000, True)


def test_kernel_address_is_the_window_and_frames_come_from_the_pool():
    pt = tables()
    assert pt.kernel_address(0) == WINDOW
    assert pt.kernel_address(0x07FF_F000) == 0xC7FF_F000
    with pytest.raises(ValueError):
        pt.kernel_address(0x0800_0000)
    f = pt.alloc_frame()
    assert POOL[0] <= f < POOL[1] and f % 0x1000 == 0
    pt.take_writes()
    pt.free_frame(f)
    assert pt.alloc_frame() == f
    assert pt.take_writes() == [(pt.kernel_address(f), bytes(4096))]


def test_pool_exhaustion_is_reported_not_raised_for_roots():
    pt = paging.X86PageTables(pool=(POOL[0], POOL[0] + 0x1000), window=WINDOW,
                              kernel_image=IMAGE)
    assert pt.new_root() == 0                   # directory + image table do not fit
    assert pt.take_writes() == []
    assert pt.alloc_frame() == POOL[0]          # the page is still there
    assert pt.alloc_frame() is None


def test_writes_come_as_joined_runs_last_write_wins():
    pt = tables()
    root = pt.new_root()
    runs = pt.take_writes()
    # window PDEs (one run), PDE 0, the image's 16 PTEs (one run)
    assert len(runs) == 3
    check_the_last_write_wins(pt, root, 0x0090_0000)               # 16 PTEs + their PDE


def test_glue_checks_the_user_pages():
    syms = {"l4k_user_start": 0x0010_0000, "l4k_user_end": 0x0010_2000,
            "l4k_preempt_gate": 0x0010_000C, "l4k_user_tls": 0x0010_1000,
            "l4k_trap_bp": 0x0010_315A, "l4k_entry_block": 0x0010_5000,
            "l4k_exit_block": 0x0010_5280, "l4k_return": 0x0010_315B,
            "l4k_kernel_end": 0x0010_8000}
    glue = plugin.make_glue(syms)
    assert glue.in_kernel(0x0010_000C)          # the gate counts as kernel code
    with pytest.raises(ValueError, match="user page"):
        plugin.make_glue({**syms, "l4k_preempt_gate": 0x0010_3000})
    with pytest.raises(ValueError, match="first two"):
        plugin.make_glue({**syms, "l4k_user_end": 0x0010_3000})
