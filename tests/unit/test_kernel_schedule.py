"""Priorities, round robin, ThreadSwitch and the Schedule system call."""

import random

import pytest
from fake_target import ARCH32, ARCH64, FakeMachine, timeouts

from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.types import Error, Timeout

ARCHS = [ARCH32, ARCH64]
ARCH_IDS = ["32", "64"]


def block_root_forever(m):
    m.ipc(0, m.root, 0)        # receive from itself: nobody ever sends


@pytest.mark.parametrize("seed", range(40))
def test_highest_priority_runs_first(seed):
    rng = random.Random(seed)
    m = FakeMachine(ARCH32)
    prios = rng.sample(range(1, 250), 5)
    tids = [m.spawn(100 + i, prio=p) for i, p in enumerate(prios)]
    block_root_forever(m)
    order = []
    while m.running is not None:
        order.append(m.running)
        block_root_forever(m)   # the running thread blocks the same way
    expected = [t for _, t in sorted(zip(prios, tids, strict=True), reverse=True)]
    assert order == expected


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.parametrize("n", [2, 3, 5])
def test_round_robin_on_timeslice_expiry(arch, n):
    m = FakeMachine(arch)
    tids = [m.spawn(100 + i) for i in range(n)]
    block_root_forever(m)
    seen = []
    for _ in range(3 * n):
        seen.append(m.running)
        assert m.last.wake_at_us == m.clock.now + 10_000     # a peer is ready
        m.tick(10_000)
    assert seen == tids * 3


def test_single_thread_gets_no_timeslice_wakeup():
    m = FakeMachine(ARCH32)
    a = m.spawn(100)
    block_root_forever(m)
    assert m.running == a and m.last.wake_at_us is None
    m.tick(50_000)
    assert m.running == a


def test_partial_timeslices_add_up():
    m = FakeMachine(ARCH32)
    a, b = m.spawn(100), m.spawn(101)
    block_root_forever(m)
    assert m.running == a
    m.tick(4000)
    m.syscall(Syscall.SystemClock)
    assert m.running == a and m.result() == 4000 and m.result(1) == 0
    assert m.last.wake_at_us == 10_000
    m.tick(6000)
    assert m.running == b


def test_thread_switch_yield_and_donation():
    m = FakeMachine(ARCH32)
    a, b, c = m.spawn(100), m.spawn(101), m.spawn(102)
    block_root_forever(m)
    assert m.running == a
    m.syscall(Syscall.ThreadSwitch, 0)
    assert m.running == b
    m.syscall(Syscall.ThreadSwitch, a)            # donate to A (ready, not at the head)
    assert m.running == a
    m.syscall(Syscall.ThreadSwitch, a)            # to self: no effect
    assert m.running == a
    m.syscall(Syscall.ThreadSwitch, m.tid(999))   # nonexistent: plain yield
    assert m.running != a
    assert c in {t.id for t in m.kernel.snapshot().threads}


def test_schedule_results_and_errors():
    m = FakeMachine(ARCH32)
    mask = ARCH32.word_mask
    a = m.spawn(100)
    b = m.spawn(101)
    inactive = m.tid(140)
    assert m.thread_control(inactive, m.root, m.root, 0, mask) == 1

    def sched(dest, time=mask, proc=mask, prio=mask, pre=mask):
        m.syscall(Syscall.Schedule, dest, time, proc, prio, pre)
        return m.result(), m.result(1)

    assert sched(a)[0] == 3                       # running (ready)
    assert sched(inactive)[0] == 2
    assert sched(m.tid(999)) == (0, 0) and m.tcr(0x46) == Error.InvalidThread
    assert sched(a, proc=3)[0] == 0 and m.tcr(0x46) == Error.InvalidParam
    res, old = sched(a, time=(Timeout.period(2000) << 16) | 0)
    assert res == 3 and Timeout(old >> 16).us == 10_000 and old & 0xFFFF == 0
    assert sched(a)[1] >> 16 == Timeout.period(2000)
    assert m.kernel.thread_by_global(a).timeslice_us == 2000
    # A blocks in receive / send: Waiting (6) / PendingSend (4).
    m.set_priority(m.root, 50)
    assert m.running == a
    m.ipc(0, m.root, 0)
    assert m.running == b
    m.ipc(m.root, 0, timeouts(snd=Timeout.period(100_000)))
    assert m.running == m.root
    assert sched(a)[0] == 6 and sched(b)[0] == 4
    assert sched(a, prio=60) == (0, 0) and m.tcr(0x46) == Error.InvalidParam  # above caller


def test_schedule_needs_the_scheduler_space():
    m = FakeMachine(ARCH32)
    mask = ARCH32.word_mask
    a = m.spawn(100)
    x = m.spawn_space(120)
    m.set_priority(m.root, 10)
    # X (prio 100 in its own space) may not schedule A (scheduler = root).
    while m.running != x:
        block_root_forever(m)
    m.syscall(Syscall.Schedule, a, mask, mask, 5, mask)
    assert m.result() == 0 and m.tcr(0x46) == Error.NoPrivilege
