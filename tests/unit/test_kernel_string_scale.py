"""Kernel work linear in what a guest asks, and no recursion as deep as a guest
can make it: a long string copy must not rescan every queued write per page
(reading memory back, merging the exit block), and a chain of threads each
calling the next unwinds in a loop (fake target)."""

from __future__ import annotations

import time

import pytest
from fake_target import ARCH32, RAM, FakeMachine

from l4gdb.kernel import ipc, utcb
from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.types import MsgTag, Timeout
from l4gdb.kernel.utcb import BR0, Tcr, merge_writes

B = 32
PAGE = 0x1000
SRC, DST = RAM + 0x100_0000, RAM + 0x200_0000
LEN = (1 << 22) - PAGE            # close to the largest one string item can carry


class CountingList(list):
    """The kernel's write queue, counting how many records are looked at."""

    looked = 0

    def __iter__(self):
        for item in super().__iter__():
            CountingList.looked += 1
            yield item

    def __getitem__(self, i):
        CountingList.looked += 1
        return super().__getitem__(i)


def _string(length: int, substrings: int = 1) -> int:
    return length << 10 | (substrings - 1) << 4


@pytest.mark.parametrize("parts", [1, 8])            # 4 MiB, and 8 x 4 MiB (~31.97 MiB)
def test_string_copy_reads_back_through_the_write_queue_linearly(parts):
    m = FakeMachine(ARCH32, paging=False)
    pattern = bytes(range(256)) * (LEN // 256)
    for j in range(parts):
        m.mem.write(SRC + j * LEN, pattern)
    a = m.spawn(100)
    tcb = m.kernel.thread_by_global(a)
    brs = [1, _string(LEN, parts), *(DST + j * LEN for j in range(parts))]
    for i, w in enumerate(brs):
        tcb.utcb.words[BR0 + i] = w
    ipc.start_ipc(m.kernel, tcb, 0, m.root, Timeout(0), Timeout(0))
    m.kernel._writes = CountingList()
    CountingList.looked = 0
    m.load_mrs(MsgTag(t=1 + parts).raw(B), _string(LEN, parts),
               *(SRC + j * LEN for j in range(parts)))
    t0 = time.perf_counter()
    m.syscall(Syscall.Ipc, a, 0, 0)
    took = time.perf_counter() - t0
    print(f"{parts * LEN / 2**20:.2f} MiB string copy: {took:.3f} s")   # measured, not asserted
    assert not m.tcr(Tcr.ErrorCode, a)
    assert m.mem.read(DST, parts * LEN) == pattern * parts
    pages = parts * LEN // PAGE
    # One page record per copied page, each looked at a few times (not once per
    # read: that is pages**2 / 2, 4 * 10**7 for the 32 MiB copy).
    assert CountingList.looked <= 4 * pages + 200, CountingList.looked


class CountingBytearray(bytearray):
    """bytearray as merge_writes sees it, counting the bytes it allocates."""

    allocated = 0

    def __init__(self, *args) -> None:
        super().__init__(*args)
        CountingBytearray.allocated += len(self)


@pytest.mark.parametrize("records", [1_000, 60_000])
def test_merge_of_many_touching_records_is_linear(records, monkeypatch):
    monkeypatch.setattr(utcb, "bytearray", CountingBytearray, raising=False)
    CountingBytearray.allocated = 0
    recs = [(RAM + i * 64, bytes([i & 0xFF]) * 64) for i in range(records)]
    recs.append((RAM + 100, b"\xAA" * 8))                # a later record wins
    recs.append((RAM + records * 64 + 64, b"\xBB"))       # past a gap: a span of its own
    merged = merge_writes(recs)
    assert [a for a, _ in merged] == [RAM, RAM + records * 64 + 64]
    data = merged[0][1]
    assert len(data) == records * 64 and merged[1][1] == b"\xBB"
    assert data[100:108] == b"\xAA" * 8 and data[64 * 777 % len(data)] == 777 % records & 0xFF
    # Each byte is placed once (growing one buffer per record is records**2 * 32).
    assert CountingBytearray.allocated <= len(data) + 64, CountingBytearray.allocated


def test_read_memory_sees_only_the_writes_it_overlaps():
    m = FakeMachine(ARCH32, paging=False)
    k = m.kernel
    k._writes = []
    k.write_memory(SRC + 10, b"abc")
    k.write_memory(SRC + PAGE - 1, b"xy")                 # straddles a page boundary
    assert k.read_memory(SRC + 8, 8) == b"\0\0abc\0\0\0"
    assert k.read_memory(SRC + PAGE, 2) == b"y\0"
    k.write_memory(SRC + 11, b"Z")                        # added after the index was built
    assert k.read_memory(SRC + 10, 3) == b"aZc"
    k._writes = []                                        # a new queue: the index starts over
    assert k.read_memory(SRC + 10, 3) == bytes(3)          # nothing queued, memory zero


# --- a chain of receive phases ------------------------------------------------------------

def test_a_chain_of_callers_unwinds_without_recursion():
    """T1 sends to T0, T2 to T1, ... each then receiving from anyone: T0's receive
    takes T1, whose receive phase takes T2, and so on down the chain."""
    import inspect
    import sys

    from l4gdb.kernel.thread import State
    from l4gdb.kernel.types import any_thread

    m = FakeMachine(ARCH32, paging=False)
    k = m.kernel
    tids = [m.spawn(100 + i) for i in range(400)]
    tcbs = [k.thread_by_global(t) for t in tids]
    anyone = any_thread(B)
    for prev, t in zip(tids, tcbs[1:], strict=False):
        ipc.start_ipc(k, t, prev, anyone, Timeout(0), Timeout(0))
        assert t.state is State.POLLING
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)       # far less than the chain
    try:
        ipc.start_ipc(k, tcbs[0], 0, anyone, Timeout(0), Timeout(0))
    finally:
        sys.setrecursionlimit(old)
    assert all(t.state is not State.POLLING for t in tcbs)
    assert tcbs[-1].state is State.WAITING                 # nobody sends to the last one
    assert all(t.state is State.RUNNING or t.runnable for t in tcbs[:-1])
