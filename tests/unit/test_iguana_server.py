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
    assert len(cap) == 3                          # ref + two password words on 32-bit
    assert cap[0] == ms and ig.ok(IID_CLIST, 40, ms) == cap
    ig.ok(IID_CLIST, 3, default, ms)
    assert ig.call(IID_CLIST, 3, default, ms)[0] == IguanaError.ENOENT   # second remove
    assert ig.call(IID_MEMSECTION, 3, ms)[0] == IguanaError.EPERM
    ig.ok(IID_CLIST, 1, default, ms, cap[1] ^ 1, cap[2])                  # wrong password
    ig.ok(IID_CLIST, 1, default, ms, cap[1])          # the low word alone is not it either
    assert ig.call(IID_MEMSECTION, 3, ms)[0] == IguanaError.EPERM
    (other,) = ig.ok(IID_PD, 6, pd)
    ig.ok(IID_CLIST, 1, other, ms, cap[1], cap[2])
    ig.ok(IID_MEMSECTION, 3, ms)


def test_passwords_cannot_be_computed_from_ones_own(ig: Ig):
    """A PD reads the passwords of its own caps (clist lookup); they must not
    give away the next ones (they did, as an LCG: the hostile program's
    iguana-predicted-capabilities attack), nor be the same in every run."""
    (pd,) = ig.ok(IID_PD, 0)
    (default,) = ig.ok(IID_PD, 40)
    refs = [ig.ok(IID_PD, 1, pd, PAGE, 0, 0)[0] for _ in range(8)]
    caps = [ig.ok(IID_CLIST, 2, default, r) for r in refs]
    pws = [lo | hi << 32 for _, lo, hi in caps]
    lcg = {(pw * 1103515245 + 12345) & 0x7FFF_FFFF | 1 for pw in pws}
    lcg |= {((pw ^ 1) * 1103515245 + 12345) & 0x7FFF_FFFF | 1 for pw in pws}
    assert not lcg & set(pws) and len(set(pws)) == len(pws)
    assert all(0 < pw < 1 << 64 for pw in pws)                # never 0 (INVALID_CAP)
    # 64 random bits on a 32-bit arch: the high words vary too (all 8 zero: 2^-256)
    assert any(hi for _, _, hi in caps)
    assert Ig().server._passwd() != Ig().server._passwd()


def test_passwords_are_from_secrets_never_zero_never_repeated(
        ig: Ig, monkeypatch: pytest.MonkeyPatch):
    """The CSPRNG is the source (secrets); a 0 it gives (INVALID_CAP) or a
    password given before is drawn again."""
    import l4gdb.iguana.server as srv

    first = ig.server._passwd()
    draws = iter([0, first, 0x1234_5678_9ABC_DEF0])
    monkeypatch.setattr(srv.secrets, "randbits", lambda n: next(draws))
    assert ig.server._passwd() == 0x1234_5678_9ABC_DEF0


def test_password_words_round_trip():
    from l4gdb.iguana.server import join_passwd, passwd_words, split_passwd

    pw = 0xDEAD_BEEF_0123_4567
    assert passwd_words(32) == 2 and passwd_words(64) == 1
    assert split_passwd(pw, 32) == (0x0123_4567, 0xDEAD_BEEF)
    assert split_passwd(pw, 64) == (pw,)
    assert join_passwd(split_passwd(pw, 32), 32) == pw
    assert join_passwd((pw, 0xFFFF), 64) == pw             # a second word is not read


def test_clist_insert_is_bounded(ig: Ig):
    """Inserting is unchecked (Iguana's model), but a clist holds at most
    CLIST_MAX_CAPS: a 1,000-guess window gets ENOMEM past the bound, and
    none of the guesses opens the object."""
    from l4gdb.iguana.server import CLIST_MAX_CAPS

    (pd,) = ig.ok(IID_PD, 0)
    (default,) = ig.ok(IID_PD, 40)
    ms, _ = ig.ok(IID_PD, 1, pd, PAGE, 0, 0)
    ig.ok(IID_CLIST, 3, default, ms)                       # drop the master cap
    (cl,) = ig.ok(IID_PD, 6, pd)
    errs = [ig.call(IID_CLIST, 1, cl, ms, g, g * 7)[0] for g in range(1, 1001)]
    assert errs.count(0) == CLIST_MAX_CAPS < 1000
    assert set(errs[CLIST_MAX_CAPS:]) == {IguanaError.ENOMEM}
    assert len(ig.server.objects[cl].caps) == CLIST_MAX_CAPS
    assert ig.call(IID_MEMSECTION, 3, ms)[0] == IguanaError.EPERM
    ig.ok(IID_CLIST, 3, cl, ms)                            # room for one again
    assert ig.call(IID_CLIST, 1, cl, ms, 1, 1)[0] == 0


def test_clists_per_pd_are_bounded(ig: Ig):
    from l4gdb.iguana.server import CLISTS_PER_PD

    (pd,) = ig.ok(IID_PD, 0)
    errs = [ig.call(IID_PD, 6, pd)[0] for _ in range(CLISTS_PER_PD + 4)]
    assert errs.count(0) == CLISTS_PER_PD - 1                 # the default one counts
    assert errs[-1] == IguanaError.ENOMEM

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


# --- guest-given sizes: nothing on the host is sized or looped by them ------------

class Ig64(Ig):
    """The same on a 64-bit arch (the fake target's ARCH64)."""

    def __init__(self) -> None:   # noqa: D107  (Ig's, with ARCH64)
        from fake_target import ARCH64

        self.m = FakeMachine(ARCH64, paging=True)
        self.server = install(self.m.kernel)
        self.tid = self.m.tid(IGUANA_THREAD_NO)

    def call(self, iid: int, method: int, *args: int) -> tuple[int, list[int]]:
        m = self.m
        tag = MsgTag(u=len(args), label=64 * iid + method).raw(64)
        m.ipc(self.tid, self.tid, 0, tag, *args)
        reply = MsgTag.from_raw(m.mr(0))
        assert not reply.error, m.console.text
        return reply.label, [m.mr(i + 1) for i in range(reply.u)]


def test_64bit_password_is_one_word():
    ig = Ig64()
    (pd,) = ig.ok(IID_PD, 0)
    (default,) = ig.ok(IID_PD, 40)
    ms, _ = ig.ok(IID_PD, 1, pd, PAGE, 0, 0)
    ref, pw = ig.ok(IID_CLIST, 2, default, ms)
    assert ref == ms and pw == ig.server.objects[ms].passwd and pw != 0


def test_huge_fixed_user_memsection_is_sparse():
    """2^36 bytes (2^24 pages) fixed and unbacked: made, mapped into, looked at,
    unmapped and deleted without a per-page structure or walk (the frame list
    took 184 MiB before); a page backed in the middle is found by a fault."""
    import time
    import tracemalloc

    from l4gdb.iguana import IID_PHYSMEM, IID_PHYSPOOL  # noqa: F401

    ig = Ig64()
    (pd,) = ig.ok(IID_PD, 0)
    base, size = 0x1_0000_0000, 1 << 36
    tracemalloc.start()
    t0 = time.monotonic()
    ms, got = ig.ok(IID_PD, 1, pd, size, base, 0x11)            # MS_FIXED | MS_USER
    pool, _ = ig.ok(IID_PHYSPOOL, 40)
    (pm,) = ig.ok(IID_PHYSPOOL, 0, pool, 2 * PAGE)
    ig.ok(IID_MEMSECTION, 5, ms, size // 2, pm)                 # memsection_map mid-way
    snap = ig.server.snapshot()
    ig.ok(IID_MEMSECTION, 6, ms, 0, size)                       # unmap it all
    assert ig.call(IID_MEMSECTION, 6, ms, 0, size)[0] == IguanaError.ENOENT
    ig.ok(IID_MEMSECTION, 3, ms)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert got == base and peak < 4 << 20 and time.monotonic() - t0 < 5
    (m,) = [x for x in snap["memsections"] if x["ref"] == ms]
    assert m["size"] == size and len(m["frames"]) == 2 and m["frames"][0][0] == size // 2 // PAGE


def test_memsection_larger_than_the_pool_fails_at_once(ig: Ig):
    """A normal memsection needs frames: more than the pool has free is ENOMEM
    before any is looked for (the frame search was one per page, each a scan)."""
    import time

    (pd,) = ig.ok(IID_PD, 0)
    free = ig.server.physpool.free_pages()
    t0 = time.monotonic()
    assert ig.call(IID_PD, 1, pd, 0x2000_0000 - PAGE, 0, 0)[0] == IguanaError.ENOMEM
    assert ig.call(IID_PD, 1, pd, (free + 1) * PAGE, 0x1000_0000, 1)[0] == IguanaError.ENOMEM
    assert time.monotonic() - t0 < 1
    assert ig.server.physpool.free_pages() == free             # nothing kept
    ms, _ = ig.ok(IID_PD, 1, pd, 4 * PAGE, 0, 0)
    assert ig.server.physpool.free_pages() == free - 4
    assert ig.server.objects[ms].frames.count == 4


def test_device_backing_is_bounded():
    """hardware_back_memsection of a huge user memsection: ENOMEM past
    MAX_DEVICE_BACKING (every page would be an entry); up to it, it works."""
    from l4gdb.iguana import IID_HARDWARE
    from l4gdb.iguana.hardware import MAX_DEVICE_BACKING

    ig = Ig64()
    (pd,) = ig.ok(IID_PD, 0)
    big, _ = ig.ok(IID_PD, 1, pd, 1 << 36, 0x1_0000_0000, 0x11)
    assert ig.call(IID_HARDWARE, 1, 0, big, 0x10_0000_0000, 0)[0] == IguanaError.ENOMEM
    ok, _ = ig.ok(IID_PD, 1, pd, MAX_DEVICE_BACKING, 0x20_0000_0000, 0x11)
    ig.ok(IID_HARDWARE, 1, 0, ok, 0x10_0000_0000, 0)
    assert ig.server.objects[ok].frames.count == MAX_DEVICE_BACKING // PAGE


def test_eas_map_of_a_huge_range_walks_only_backed_pages():
    """eas_map of a whole 2^36-byte user memsection with one backed page: one
    mapping, no walk over its 2^24 pages (nor for the reserved areas)."""
    import time

    from l4gdb.iguana import IID_EAS, IID_PHYSPOOL
    from l4gdb.kernel.types import Fpage

    ig = Ig64()
    (pd,) = ig.ok(IID_PD, 0)
    base = 1 << 36
    ms, _ = ig.ok(IID_PD, 1, pd, 1 << 36, base, 0x11)
    pool, _ = ig.ok(IID_PHYSPOOL, 40)
    (pm,) = ig.ok(IID_PHYSPOOL, 0, pool, PAGE)
    ig.ok(IID_MEMSECTION, 5, ms, 3 * PAGE, pm)
    utcb = Fpage(0x7000_0000, 20, 0).raw(64)
    eas, _ = ig.ok(IID_PD, 4, pd, utcb, 0)
    t0 = time.monotonic()
    ig.ok(IID_EAS, 2, eas, Fpage(base, 36, 6).raw(64), 1 << 37, 0)
    assert time.monotonic() - t0 < 2
    space = ig.server.objects[eas].space
    assert list(space.pages) == [(1 << 37) + 3 * PAGE]
