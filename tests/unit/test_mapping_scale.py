"""The mapping database at guest-chosen scale: a 100,000-deep derivation chain
and a 100,000-wide fan must unmap, flush, report status and be deleted without
recursion (RecursionError) or quadratic child removal (fake MMU), and leave the
database consistent by the fuzzer's own checks (l4gdb.fuzzing.generator.check)."""

from __future__ import annotations

import sys

import pytest
from fake_target import ARCH32, RAM, FakeMachine

from l4gdb.fuzzing import generator as fuzz
from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.mapping import Node
from l4gdb.kernel.types import Fpage

B = 32
PAGE = 0x1000
DATA = RAM + 0x90_0000
BASE = 0x1000_0000                # where x's copies of the frame live
N = 100_000
W = 2                             # the write status bit


def _setup() -> tuple[FakeMachine, int, Node]:
    m = FakeMachine(ARCH32, paging=True)
    if m.access(DATA, 4) is None:
        assert m.access(DATA, 4) is not None
    x = m.spawn_space(120)
    return m, x, m.kernel.root.space.pages[DATA]


def _chain(m: FakeMachine, x: int) -> list[Node]:
    """root's DATA -> x's BASE -> x's BASE+page -> ...: N nodes deep, one space."""
    tx = m.kernel.thread_by_global(x)
    mdb = m.kernel.mdb
    mdb.map_fpage(m.kernel.root.space, Fpage(DATA, 12, 7), DATA, tx.space,
                  Fpage(BASE, 12), False)
    for i in range(N - 1):
        va = BASE + i * PAGE
        assert mdb.map_fpage(tx.space, Fpage(va, 12, 7), va, tx.space,
                             Fpage(va + PAGE, 12), False) == 1
    return [tx.space.pages[BASE + i * PAGE] for i in range(N)]


def _fan(m: FakeMachine, x: int) -> list[Node]:
    """root's DATA mapped N times into x: N children of one node."""
    tx = m.kernel.thread_by_global(x)
    mdb = m.kernel.mdb
    for i in range(N):
        assert mdb.map_fpage(m.kernel.root.space, Fpage(DATA, 12, 7), DATA, tx.space,
                             Fpage(BASE + i * PAGE, 12), False) == 1
    return [tx.space.pages[BASE + i * PAGE] for i in range(N)]


def _consistent(m: FakeMachine) -> None:
    """Mapping database, page tables, threads, UTCBs: as the fuzzer checks them."""
    fuzz.check(m)


def _root_unmap(m: FakeMachine, rights: int, flush: bool = False) -> int:
    m.load_mrs(Fpage(DATA, 12, rights).raw(B))
    m.syscall(Syscall.Unmap, 0x40 if flush else 0)
    return m.mr(0) & 7


@pytest.fixture(autouse=True)
def _default_recursion_limit():
    """The walks must not depend on a raised recursion limit."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(old)


@pytest.mark.parametrize("shape", ["chain", "fan"])
def test_status_revoke_and_unmap(shape):
    m, x, root = _setup()
    nodes = (_chain if shape == "chain" else _fan)(m, x)
    tx = m.kernel.thread_by_global(x)
    assert nodes[-1].parent is (nodes[-2] if shape == "chain" else root)
    _consistent(m)
    nodes[-1].access |= W                        # the last one was written
    m.kernel.mdb.install(nodes[-1])
    assert _root_unmap(m, 0) & W                  # GetStatus: found at the far end
    assert not nodes[-1].access and len(tx.space.pages) >= N
    assert not _root_unmap(m, 0) & W              # ... and reset
    _consistent(m)
    _root_unmap(m, W)                             # revoke write everywhere
    assert all(n.rights == 5 for n in nodes)
    _consistent(m)
    _root_unmap(m, 7)
    assert not any(BASE <= va < BASE + N * PAGE for va in tx.space.pages)
    assert not root.children and all(n.parent is None for n in nodes)
    assert m.pt.translate(tx.space.root, nodes[-1].vaddr) is None
    _consistent(m)
    _root_unmap(m, 7, flush=True)                 # flush: root's own page goes too
    assert DATA not in m.kernel.root.space.pages
    _consistent(m)


@pytest.mark.parametrize("shape", ["chain", "fan"])
def test_flush_by_the_holder(shape):
    m, x, root = _setup()
    nodes = (_chain if shape == "chain" else _fan)(m, x)
    tx = m.kernel.thread_by_global(x)
    # x flushes its first copy: in a chain everything below goes, in a fan one node.
    m.kernel.mdb.unmap_fpage(tx.space, Fpage(BASE, 12, 7), flush=True)
    left = [n for n in nodes if tx.space.pages.get(n.vaddr) is n]
    assert len(left) == (0 if shape == "chain" else N - 1)
    assert len(root.children) == (0 if shape == "chain" else N - 1)
    _consistent(m)


@pytest.mark.parametrize("shape", ["chain", "fan"])
def test_space_deletion(shape):
    m, x, root = _setup()
    nodes = (_chain if shape == "chain" else _fan)(m, x)
    xroot = m.root_of(x)
    assert m.thread_control(x, 0, 0, 0, 0) == 1
    assert not root.children and all(n.parent is None for n in nodes)
    assert xroot in m.pt.freed
    assert m.kernel.root.space.pages[DATA] is root          # root keeps its own
    _consistent(m)


def test_children_removal_keeps_derivation_order():
    m, x, root = _setup()
    tx = m.kernel.thread_by_global(x)
    mdb = m.kernel.mdb
    for i in range(4):
        mdb.map_fpage(m.kernel.root.space, Fpage(DATA, 12, 7), DATA, tx.space,
                      Fpage(BASE + i * PAGE, 12), False)
    mdb.remove_subtree(tx.space.pages[BASE + PAGE])
    assert [n.vaddr for n in root.children] == [BASE, BASE + 2 * PAGE, BASE + 3 * PAGE]
