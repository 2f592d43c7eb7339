"""Checks every arch's page-table builder passes alike (the kernel's PageTables
protocol as an arch plugin gives it); conftest.py has pytest rewrite their asserts."""

from __future__ import annotations

from typing import Any


def check_the_hook_gives_tables(plugin: Any, arch: str, cls: type, kernel_base: int) -> Any:
    """``plugin``'s l4gdb_page_tables hook builds a ``cls`` on the arch's memory layout (and
    answers nothing for ARM); the page-table pool is the kernel's: outside the RAM sigma0
    hands out, inside what the kernel sees of RAM at ``kernel_base``. The tables."""
    layout = plugin.l4gdb_memory_layout(arch=arch)
    pt = plugin.l4gdb_page_tables(arch=arch, layout=layout)
    assert isinstance(pt, cls)
    assert plugin.l4gdb_page_tables(arch="arm", layout=layout) is None
    assert layout["ram_high"] <= layout["pt_pool_low"] < layout["pt_pool_high"] <= 0x0800_0000
    assert pt.kernel_address(layout["kip"]) == kernel_base + layout["kip"]
    return pt


def check_the_last_write_wins(pt: Any, root: int, paddr: int) -> None:
    """16 pages mapped at 0x1000_0000 (from ``paddr``), the first unmapped again: two runs
    of writes, the 16 entries joined in one, in which the unmapped page's entry is 0."""
    pt.map(root, 0x1000_0000, paddr, 16, 7)
    pt.unmap(root, 0x1000_0000, 12)
    runs = pt.take_writes()
    assert len(runs) == 2
    entries = max(runs, key=lambda r: len(r[1]))
    assert len(entries[1]) == 64 and entries[1][:4] == b"\0\0\0\0"
