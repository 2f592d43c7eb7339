"""The Iguana server against the kernel on the fake target (fake MMU): real
IPC from the root task, page faults of Iguana's threads, caps, sessions."""

from __future__ import annotations

import pytest
from fake_target import ARCH32, ROOT_IP, FakeMachine

from l4gdb.iguana import (
    IGUANA_THREAD_NO,
    IID_CLIST,
    IID_MEMSECTION,
    IID_PD,
    IID_SESSION,
    IID_THREAD,
    IguanaError,
    install,
)
from l4gdb.iguana.server import VIRT_POOL
from l4gdb.kernel.thread import State
from l4gdb.kernel.types import MsgTag

B = 32
PAGE = 0x1000


class Ig:
    def __init__(self) -> None:
        self.m = FakeMachine(ARCH32, paging=True)
        self.server = install(self.m.kernel)
        self.tid = self.m.tid(IGUANA_THREAD_NO)

    def call(self, iid: int, method: int, *args: int) -> tuple[int, list[int]]:
        m = self.m
        tag = MsgTag(u=len(args), label=64 * iid + method).raw(B)
        m.ipc(self.tid, self.tid, 0, tag, *args)
        reply = MsgTag.from_raw(m.mr(0))
        assert not reply.error, m.console.text
        return reply.label, [m.mr(i + 1) for i in range(reply.u)]

    def ok(self, iid: int, method: int, *args: int) -> list[int]:
        err, outs = self.call(iid, method, *args)
        assert err == 0, (IguanaError(err).name, self.m.console.text)
        return outs


@pytest.fixture
def ig() -> Ig:
    return Ig()


def test_server_thread_and_initial_pd(ig: Ig):
    t = ig.m.kernel.thread_by_global(ig.tid)
    assert t is not None and t.host is ig.server
    (pd,) = ig.ok(IID_PD, 0)
    snap = ig.server.snapshot()
    assert snap["initial_pd"] == pd and snap["server"] == ig.tid
    assert [th["l4id"] for th in snap["threads"]] == [ig.m.root]


def test_memsection_create_round_lookup_and_is_mapped_for_the_root(ig: Ig):
    (pd,) = ig.ok(IID_PD, 0)
    ref, base = ig.ok(IID_PD, 1, pd, 5000, 0, 0)
    assert ref == base and VIRT_POOL[0] <= base < VIRT_POOL[1] and base % PAGE == 0
    assert ig.ok(IID_MEMSECTION, 2, ref) == [base, 2 * PAGE]
    assert ig.ok(IID_MEMSECTION, 1, base + 0x1234) == [ref, 0]
    # Eagerly mapped: the first access is a soft fault (status bits), no pager IPC.
    n = len(ig.m.kernel.ipc_log)
    assert ig.m.access(base + 8, 2, 0x55) is None and ig.m.access(base + 8, 2, 0x55) == 0x55
    assert ig.m.access(base + PAGE, 4) is None and ig.m.access(base + PAGE, 4) == 0  # zeroed
    assert len(ig.m.kernel.ipc_log) == n
    ig.ok(IID_MEMSECTION, 3, ref)
    assert ig.call(IID_MEMSECTION, 1, base)[0] == IguanaError.ENOENT
    assert ig.call(IID_MEMSECTION, 3, ref)[0] == IguanaError.ENOENT
    assert ig.m.access(base, 4) is None                     # unmapped again


def test_fixed_memsection_and_overlap(ig: Ig):
    (pd,) = ig.ok(IID_PD, 0)
    ref, base = ig.ok(IID_PD, 1, pd, PAGE, 0x2800_0000, 1)
    assert base == 0x2800_0000
    assert ig.call(IID_PD, 1, pd, PAGE, 0x2800_0000, 1)[0] == IguanaError.EINVAL
    assert ig.call(IID_PD, 1, pd, PAGE, 0x2800_0100, 1)[0] == IguanaError.EINVAL
    ig.ok(IID_MEMSECTION, 3, ref)
    assert ig.ok(IID_PD, 1, pd, PAGE, 0x2800_0000, 1)[1] == base


def test_thread_create_start_fault_from_memsection_and_delete(ig: Ig):
    m = ig.m
    (pd,) = ig.ok(IID_PD, 0)
    (child,) = ig.ok(IID_PD, 2, pd)
    ms, base = ig.ok(IID_PD, 1, child, 2 * PAGE, 0, 0)
    ref, l4id = ig.ok(IID_PD, 3, child, 120)
    assert ig.ok(IID_THREAD, 1, ref) == [l4id]
    assert ig.ok(IID_THREAD, 0, l4id) == [ref]
    ig.ok(IID_THREAD, 2, ref, ROOT_IP + 0x40, base + 2 * PAGE - 16)
    t = m.kernel.thread_by_global(l4id)
    assert t is not None and t.priority == 120 and t.space is not m.kernel.root.space
    assert m.running == m.root
    m.set_priority(m.root, 10)                   # let the new thread run
    assert m.running == l4id
    # The child touches its stack: a fault Iguana resolves from the memsection.
    assert m.access(base + PAGE + 8, 2, 7) is None
    assert m.running == l4id and m.access(base + PAGE + 8, 2, 7) == 7
    assert m.access(base + PAGE + 8, 4) == 7
    # The program image is shared: a fault on the root's text maps its frame.
    assert m.access(ROOT_IP + 0x40, 1) is None and m.access(ROOT_IP + 0x40, 1) is not None
    # A fault outside every memsection halts the thread.
    assert m.access(0x2F00_0000, 4) is None
    assert t.halted


def test_pd_delete_cleans_up(ig: Ig):
    m = ig.m
    (pd,) = ig.ok(IID_PD, 0)
    (child,) = ig.ok(IID_PD, 2, pd)
    (grandchild,) = ig.ok(IID_PD, 2, child)
    ms, base = ig.ok(IID_PD, 1, grandchild, PAGE, 0, 0)
    ref, l4id = ig.ok(IID_PD, 3, grandchild, 50)
    frames = list(ig.server.objects[ms].frames)
    ig.ok(IID_PD, 11, child)
    snap = ig.server.snapshot()
    assert [p["ref"] for p in snap["pds"]] == [pd]
    assert snap["memsections"] == [] and [t["l4id"] for t in snap["threads"]] == [m.root]
    assert m.kernel.thread_by_global(l4id) is None
    assert all(f not in m.kernel.sigma0.host.owner for f in frames)
    assert ig.call(IID_PD, 11, child)[0] == IguanaError.ENOENT
    assert ig.call(IID_PD, 11, pd)[0] == IguanaError.EINVAL        # not the initial PD
    assert len(m.kernel.spaces) == 3      # sigma0, root, iguana


def test_capabilities_gate_calls(ig: Ig):
    (pd,) = ig.ok(IID_PD, 0)
    (default,) = ig.ok(IID_PD, 40)
    ms, base = ig.ok(IID_PD, 1, pd, PAGE, 0, 0)
    cap = ig.ok(IID_CLIST, 2, default, ms)
    assert cap[0] == ms and ig.ok(IID_CLIST, 40, ms) == cap
    ig.ok(IID_CLIST, 3, default, ms)
    assert ig.call(IID_CLIST, 3, default, ms)[0] == IguanaError.ENOENT   # second remove
    assert ig.call(IID_MEMSECTION, 3, ms)[0] == IguanaError.EPERM
    ig.ok(IID_CLIST, 1, default, ms, cap[1] ^ 1)                          # wrong password
    assert ig.call(IID_MEMSECTION, 3, ms)[0] == IguanaError.EPERM
    (other,) = ig.ok(IID_PD, 6, pd)
    ig.ok(IID_CLIST, 1, other, ms, cap[1])
    ig.ok(IID_MEMSECTION, 3, ms)


def test_passwords_cannot_be_computed_from_ones_own(ig: Ig):
    """A PD reads the passwords of its own caps (clist lookup); they must not
    give away the next ones (they did, as an LCG: the hostile program's
    iguana-predicted-capabilities attack), nor be the same in every run."""
    (pd,) = ig.ok(IID_PD, 0)
    (default,) = ig.ok(IID_PD, 40)
    refs = [ig.ok(IID_PD, 1, pd, PAGE, 0, 0)[0] for _ in range(8)]
    pws = [ig.ok(IID_CLIST, 2, default, r)[1] for r in refs]
    lcg = {(pw * 1103515245 + 12345) & 0x7FFF_FFFF | 1 for pw in pws}
    lcg |= {((pw ^ 1) * 1103515245 + 12345) & 0x7FFF_FFFF | 1 for pw in pws}
    assert not lcg & set(pws) and len(set(pws)) == len(pws)
    assert all(pw & 1 and 0 < pw < 1 << 31 for pw in pws)     # never 0 (INVALID_CAP)
    assert Ig().server._passwd() != Ig().server._passwd()

def test_session_between_pds(ig: Ig):
    (pd,) = ig.ok(IID_PD, 0)
    (child,) = ig.ok(IID_PD, 2, pd)
    sref, server = ig.ok(IID_PD, 3, child, 100)
    ms, base = ig.ok(IID_PD, 1, pd, PAGE, 0, 0)
    ig.ok(IID_MEMSECTION, 0, ms, server)
    assert ig.ok(IID_MEMSECTION, 1, base) == [ms, server]
    session, clist = ig.ok(IID_PD, 5, pd, ig.m.root, server)
    snap = ig.server.snapshot()
    child_pd = next(p for p in snap["pds"] if p["ref"] == child)
    assert clist in child_pd["clists"]
    assert snap["sessions"] == [{"ref": session, "pd": pd, "client": ig.m.root,
                                 "server": server, "clist": clist}]
    ig.ok(IID_SESSION, 0, session)
    assert ig.server.snapshot()["sessions"] == []
    assert clist not in next(p for p in ig.server.snapshot()["pds"]
                             if p["ref"] == child)["clists"]


def test_unknown_method_and_bad_refs(ig: Ig):
    assert ig.call(IID_PD, 63)[0] == IguanaError.ENOSYS
    assert ig.call(IID_PD, 2, 0x1234)[0] == IguanaError.ENOENT
    assert ig.call(IID_THREAD, 0, 0)[0] == IguanaError.ENOENT


def test_thread_delete_and_recreate_in_an_emptied_pd(ig: Ig):
    m = ig.m
    (pd,) = ig.ok(IID_PD, 0)
    (child,) = ig.ok(IID_PD, 2, pd)
    ref, l4id = ig.ok(IID_PD, 3, child, 100)
    ig.ok(IID_THREAD, 3, ref)
    assert m.kernel.thread_by_global(l4id) is None
    ref2, l4id2 = ig.ok(IID_PD, 3, child, 100)
    t = m.kernel.thread_by_global(l4id2)
    assert t is not None and t.space.root and t.state is State.INACTIVE


def test_snapshot_is_plain_data(ig: Ig):
    import json

    (pd,) = ig.ok(IID_PD, 0)
    (child,) = ig.ok(IID_PD, 2, pd)
    ig.ok(IID_PD, 1, child, PAGE, 0, 0)
    ig.ok(IID_PD, 3, child, 90)
    snap = json.loads(json.dumps(ig.server.snapshot()))
    assert {p["ref"] for p in snap["pds"]} == {pd, child}
    assert snap["memsections"][0]["pd"] == child and snap["memsections"][0]["size"] == PAGE
    assert {t["priority"] for t in snap["threads"]} == {255, 90}
    assert any(c["caps"] for c in snap["clists"])


def test_a_deleted_memsections_frame_reaches_no_other_pd(ig: Ig):
    """The frame of a deleted memsection still holds its data. Another PD got
    it, before the fix, by touching the frame's physical address as a virtual
    one (Iguana served the fault as a page of the shared program image, from
    sigma0) or by asking sigma0 for any page; now sigma0's free memory is
    Iguana's (as it takes all of it at boot) and both are refused."""
    from l4gdb.kernel.types import Fpage, kernel_label
    from l4gdb.kernel.utcb import BR0

    m = ig.m
    (pd,) = ig.ok(IID_PD, 0)
    (child,) = ig.ok(IID_PD, 2, pd)
    stack, sbase = ig.ok(IID_PD, 1, child, 2 * PAGE, 0, 0)
    ref, l4id = ig.ok(IID_PD, 3, child, 120)
    ms, base = ig.ok(IID_PD, 1, pd, PAGE, 0, 0)
    frame = ig.server.objects[ms].frames[0]
    assert m.access(base, 2, 0x5EC7E7ED) is None and m.access(base, 2, 0x5EC7E7ED) == 0x5EC7E7ED
    ig.ok(IID_MEMSECTION, 3, ms)
    ig.ok(IID_THREAD, 2, ref, ROOT_IP + 0x40, sbase + 2 * PAGE - 16)
    m.set_priority(m.root, 10)
    assert m.running == l4id
    m.set_word(m.utcb_of(l4id) + BR0 * m.ws, 1 << 4)        # accept a map item anywhere
    anywhere = (0xFFFF_FFFF & ~0x3FF) | (12 << 4)
    for fp in (anywhere, Fpage(frame, 12, 7).raw(B)):
        m.ipc(m.sigma0, m.sigma0, 0, MsgTag(u=2, label=kernel_label(6, B)).raw(B), fp, 0)
        assert m.running == l4id and m.mr(2) == 0                 # a nil fpage: nothing
    assert m.access(frame, 4) is None                 # va = pa: outside its memsections
    t = m.kernel.thread_by_global(l4id)
    assert t is not None and t.halted
    assert f"page fault at {frame:#x} outside its memsections" in m.console.text
