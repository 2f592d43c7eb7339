"""ExchangeRegisters, ThreadControl and SpaceControl: effects and error codes."""

import pytest
from fake_target import ARCH32, ARCH64, KIP, RAM, UTCB_AREA, FakeMachine

from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.types import Error, Fpage, any_thread
from l4gdb.kernel.utcb import Tcr

ARCHS = [ARCH32, ARCH64]
ARCH_IDS = ["32", "64"]


def exregs(m, dest, control=0, sp=0, ip=0, flags=0, handle=0, pager=0):
    m.syscall(Syscall.ExchangeRegisters, dest, control, sp, ip, flags, handle, pager)
    return m.results_of(m.root, 7) if m.running != m.root else tuple(
        m.result(i) for i in range(7))


# --- ExchangeRegisters ---------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_exregs_id_translation(arch):
    m = FakeMachine(arch)
    a = m.spawn(100)
    local = m.utcb_of(a)
    assert exregs(m, a)[0] == local             # L4_LocalIdOf
    assert exregs(m, local)[0] == a             # L4_GlobalIdOf
    assert exregs(m, m.root)[0] == m.utcb_addr


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.parametrize("dest", ["ghost", "wrong-version", "nil", "any", "bad-local", "sigma0",
                                  "other-space"])
def test_exregs_invalid_dest(arch, dest):
    m = FakeMachine(arch)
    x = m.spawn_space(120)
    raw = {"ghost": m.tid(700), "wrong-version": m.tid(98, 5), "nil": 0,
           "any": any_thread(arch.word_bits), "bad-local": UTCB_AREA + 0x3000,
           "sigma0": m.sigma0, "other-space": x}[dest]
    assert exregs(m, raw, 0x3FF, 1, 2, 3, 4, 5) == (0,) * 7
    assert m.tcr(Tcr.ErrorCode) == Error.InvalidThread


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_exregs_set_and_read_back(arch):
    m = FakeMachine(arch)
    a = m.spawn(100, ip=0x4010_0400, sp=0x401F_0000)
    old = exregs(m, a, 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x200, sp=0x1111_0000,
                 ip=0x2222_0000, flags=0xFFFF_FFFF, handle=0xABC, pager=m.sigma0)
    assert old[1] == 0 and old[2:5] == (0x401F_0000, 0x4010_0400, 0x10)
    assert old[5] == 0 and old[6] == m.root
    now = exregs(m, a)
    assert now[2:5] == (0x1111_0000, 0x2222_0000, 0xF800_0010)   # only user flag bits
    assert now[5] == 0xABC and now[6] == m.sigma0
    assert m.tcr(Tcr.Pager, a) == m.sigma0 and m.tcr(Tcr.UserDefinedHandle, a) == 0xABC


def test_exregs_halt_and_resume():
    m = FakeMachine(ARCH32)
    a = m.spawn(100)
    exregs(m, a, 0x100 | 1)                       # halt A
    assert exregs(m, a)[1] & 1
    m.set_priority(m.root, 50)
    assert m.running == m.root                    # halted A does not run
    exregs(m, a, 0x100)                           # resume
    assert m.running == a


def test_start_thread_with_exregs_instead_of_message():
    m = FakeMachine(ARCH32)
    t = m.tid(100)
    assert m.thread_control(t, m.root, m.root, m.root, UTCB_AREA + 0x4000) == 1
    old = exregs(m, t, 0x100 | 0x6 | 0x18, sp=0x4100_0000, ip=0x4010_0800)  # L4_Start_SpIp
    assert old[1] == 2                            # it was "receiving" (the start message)
    m.set_priority(m.root, 50)
    assert m.running == t and m.cpu["pc"] == 0x4010_0800 and m.cpu["sp"] == 0x4100_0000


# --- ThreadControl -----------------------------------------------------------------------

def tc_error(m, *args):
    r = m.thread_control(*args)
    return r, m.tcr(Tcr.ErrorCode)


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_thread_control_errors(arch):
    m = FakeMachine(arch)
    mask = arch.word_mask
    root, s0 = m.root, m.sigma0
    new = m.tid(130)
    slot = UTCB_AREA + 0x8000
    cases = [
        ((UTCB_AREA + 0x200, root, root, root, slot), Error.InvalidThread),   # local id
        ((0, root, root, root, slot), Error.InvalidThread),
        ((any_thread(arch.word_bits), root, root, root, slot), Error.InvalidThread),
        ((m.tid(10), root, root, root, slot), Error.InvalidThread),           # interrupt thread
        ((m.tid(70), root, root, root, slot), Error.InvalidThread),           # kernel thread
        ((s0, 0, 0, 0, 0), Error.InvalidThread),                              # sigma0
        ((root, 0, 0, 0, 0), Error.InvalidThread),                            # delete self
        ((new, root, 0, root, slot), Error.InvalidScheduler),
        ((new, root, m.tid(900), root, slot), Error.InvalidScheduler),
        ((new, m.tid(900), root, root, slot), Error.InvalidSpace),
        ((new, new, root, root, slot), Error.InvalidSpace),        # active in fresh space
        ((new, root, root, root, mask), Error.UtcbArea),
        ((new, root, root, root, slot + 4), Error.UtcbArea),       # unaligned
        ((new, root, root, root, RAM), Error.UtcbArea),            # outside the area
        ((new, root, root, root, UTCB_AREA + (1 << 18)), Error.UtcbArea),
    ]
    for args, code in cases:
        assert tc_error(m, *args) == (0, code), (args, code)
    assert m.kernel.thread_by_global(new) is None


def test_thread_control_needs_privilege():
    m = FakeMachine(ARCH32)
    x = m.spawn_space(120)
    m.set_priority(m.root, 10)
    assert m.running == x
    assert tc_error(m, m.tid(131), x, x, x, 0) == (0, Error.NoPrivilege)
    m.syscall(Syscall.SpaceControl, x, 0, 0, 0, 0)
    assert m.result() == 0 and m.tcr(Tcr.ErrorCode) == Error.NoPrivilege
    m.syscall(Syscall.ProcessorControl, 0, 0, 0, 0)
    assert m.result() == 0 and m.tcr(Tcr.ErrorCode) == Error.NoPrivilege


def test_inactive_then_activate_modify_and_delete():
    m = FakeMachine(ARCH32)
    mask = ARCH32.word_mask
    t = m.tid(140)
    assert m.thread_control(t, m.root, m.root, 0, mask) == 1       # inactive, no UTCB
    snap = {v.id: v for v in m.kernel.snapshot().threads}
    assert snap[t].state == "inactive"
    assert tc_error(m, t, m.root, 0, m.root, mask) == (0, Error.UtcbArea)   # no location
    slot = UTCB_AREA + 0x6000
    assert m.thread_control(t, m.root, 0, m.root, slot) == 1       # activate
    assert m.tcr(Tcr.MyGlobalId, t) == t and m.tcr(Tcr.Pager, t) == m.root
    assert tc_error(m, t, m.root, 0, 0, slot + 0x200) == (0, Error.UtcbArea)  # active
    t2 = m.tid(140, 7)
    assert m.thread_control(t2, m.root, 0, 0, mask) == 1            # new version
    assert m.kernel.thread_by_global(t2) is not None and m.tcr(Tcr.MyGlobalId, t2) == t2
    assert m.thread_control(t2, 0, 0, 0, 0) == 1                    # delete
    assert m.kernel.thread_by_global(t2) is None
    assert m.thread_control(t2, 0, 0, 0, 0) == 1                    # deleting again is fine


# --- SpaceControl -------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_space_control_errors(arch):
    m = FakeMachine(arch)
    bits = arch.word_bits
    t = m.tid(150)
    assert m.thread_control(t, t, m.root, 0, arch.word_mask) == 1
    kip = Fpage(KIP, 12).raw(bits)
    area = Fpage(RAM + 0x60_0000, 16).raw(bits)
    cases = [
        ((m.tid(999), 0, kip, area, 0), Error.InvalidSpace),
        ((m.sigma0, 0, kip, area, 0), Error.InvalidSpace),
        ((t, 0, kip, Fpage(RAM + 0x60_0000, 8).raw(bits), 0), Error.UtcbArea),
        ((t, 0, kip, 0, 0), Error.UtcbArea),
        ((t, 0, Fpage(KIP, 13).raw(bits), area, 0), Error.KipArea),
        ((t, 0, Fpage(RAM + 0x60_0000, 12).raw(bits), area, 0), Error.KipArea),  # overlap
    ]
    for args, code in cases:
        m.syscall(Syscall.SpaceControl, *args)
        assert (m.result(), m.tcr(Tcr.ErrorCode)) == (0, code), (args, code)
    m.syscall(Syscall.SpaceControl, t, 0, kip, area, 0)
    assert m.result() == 1
    assert m.thread_control(t, t, 0, m.root, RAM + 0x60_0000) == 1   # now activatable
