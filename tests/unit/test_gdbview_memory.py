"""The debugger's memory reads: through the CPU, else through the current space's
page tables (a MIPS CPU translates only what its TLB holds)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from l4gdb.debugger.gdbview import KernelProvider
from l4gdb.target.errors import TargetError


class Tables:
    page_size_log2 = 12

    def translate(self, root, vaddr):
        if 0x1000_0000 <= vaddr < 0x1000_2000:           # two pages, swapped frames
            return (0x0090_1000 if vaddr < 0x1000_1000 else 0x0090_0000) | (vaddr & 0xFFF), 7
        return None


class Target:
    def __init__(self):
        self.calls = []

    def read_memory(self, addr, size, physical=False):
        self.calls.append((addr, size, physical))
        if not physical:
            raise TargetError("E14")
        return bytes((addr + i) & 0xFF for i in range(size))


def provider(paging=True, current=True):
    space = SimpleNamespace(root=0x0700_0001)
    kernel = SimpleNamespace(paging=Tables() if paging else None,
                             current=SimpleNamespace(space=space) if current else None)
    return KernelProvider(SimpleNamespace(kernel=kernel, target=Target()))


def test_untranslatable_reads_go_through_the_page_tables_page_by_page():
    p = provider()
    data = p.read_memory(0x1000_0FFE, 4)
    assert data == bytes([0xFE, 0xFF, 0x00, 0x01])
    assert p.target.calls[1:] == [(0x0090_1FFE, 2, True), (0x0090_0000, 2, True)]


@pytest.mark.parametrize("paging,current,addr", [(False, True, 0x1000_0000),
                                                 (True, False, 0x1000_0000),
                                                 (True, True, 0x2000_0000)])
def test_otherwise_the_error_stands(paging, current, addr):
    with pytest.raises(TargetError):
        provider(paging, current).read_memory(addr, 4)
