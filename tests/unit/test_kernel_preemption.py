"""Preemption as X.2 defines it (l4gdb.kernel.schedule): preemption messages to
the exception handler (PreemptFlags s), delayed preemption (d, I, the maximum
delay) and the total quantum's message to the scheduler, on the fake target."""

import pytest
from fake_target import ARCH32, ARCH64, FakeMachine, timeouts

from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.schedule import PREEMPT_DELAY, PREEMPT_PENDING, PREEMPT_SIGNAL
from l4gdb.kernel.types import MsgTag, Timeout
from l4gdb.kernel.utcb import Tcr

PREEMPTION_LABEL = -3 << 4
ARCHS = [ARCH32, ARCH64]
ARCH_IDS = ["32", "64"]


def preemption_control(sensitive: int, delay_us: int = 0) -> int:
    return sensitive << 16 | (Timeout.period(delay_us) if delay_us else 0)


def setup(arch, flags: int, sensitive: int = 220, delay_us: int = 0):
    """Root, A (priority 100, spinning) with PreemptFlags ``flags`` and root as its
    exception handler, H (priority 200) asleep for 5 ms; root waits for A's messages."""
    m = FakeMachine(arch)
    mask = arch.word_mask
    a = m.spawn(100)
    h = m.spawn(101, prio=200)
    m.syscall(Syscall.Schedule, a, mask, mask, mask, preemption_control(sensitive, delay_us))
    m.ipc(0, a, 0)                                   # root: receive from A, no timeout
    assert m.running == h
    m.ipc(0, h, timeouts(0, Timeout.period(5000)))   # H sleeps 5 ms
    assert m.running == a
    m.set_word(m.utcb_addr + Tcr.ExceptionHandler * m.ws, m.root)
    m.set_word(m.utcb_addr + Tcr.Flags * m.ws, flags)
    m.syscall(Syscall.SystemClock)                   # the kernel sees A's TCRs
    assert m.running == a
    return m, a, h


def label(m: FakeMachine) -> int:
    return MsgTag.from_raw(m.mr(0)).label


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_preemption_message_when_the_preempted_thread_runs_again(arch):
    m, a, h = setup(arch, PREEMPT_SIGNAL)
    m.tick(5000)                                     # H wakes: A is preempted at 5000
    assert m.running == h
    m.ipc(0, h, 0)                                   # H blocks: A runs again, sends first
    assert m.running == m.root and m.result() in (a, m.utcb_of(a))
    tag = MsgTag.from_raw(m.mr(0))
    assert tag.u == 2 and tag.label == PREEMPTION_LABEL & ((1 << (arch.word_bits - 16)) - 1)
    assert (m.mr(1), m.mr(2)) == (5000, 0)
    m.ipc(0, a, 0)                                   # root waits again: A runs on
    assert m.running == a


def test_no_message_without_the_flag_or_above_the_sensitive_priority():
    for flags, sensitive in ((0, 220), (PREEMPT_SIGNAL, 150)):
        m, a, h = setup(ARCH32, flags, sensitive)
        m.tick(5000)
        m.ipc(0, h, 0)
        assert m.running == a                        # root still waits: nothing was sent


def test_message_dropped_when_the_handler_does_not_wait():
    m, a, h = setup(ARCH32, PREEMPT_SIGNAL)
    m.set_word(m.utcb_addr + Tcr.ExceptionHandler * m.ws, h)   # H never waits for A
    m.syscall(Syscall.SystemClock)
    m.tick(5000)
    m.ipc(0, h, 0)                                   # H waits for itself only
    assert m.running == a                            # send timeout 0: dropped, A goes on


def test_timeslice_end_is_a_preemption_by_an_equal_priority():
    m = FakeMachine(ARCH32)
    mask = ARCH32.word_mask
    a, b = m.spawn(100), m.spawn(101)
    m.syscall(Syscall.Schedule, a, mask, mask, mask, preemption_control(100))
    m.ipc(0, a, 0)
    assert m.running == a
    m.set_word(m.utcb_addr + Tcr.ExceptionHandler * m.ws, m.root)
    m.set_word(m.utcb_addr + Tcr.Flags * m.ws, PREEMPT_SIGNAL)
    m.syscall(Syscall.SystemClock)
    m.tick(10_000)                                   # round robin: B
    assert m.running == b
    m.tick(10_000)                                   # A's turn: its message comes first
    assert m.running == m.root and m.result() in (a, m.utcb_of(a)) and m.mr(1) == 10_000


def test_delayed_preemption_sets_pending_then_preempts_after_the_delay():
    m, a, h = setup(ARCH32, PREEMPT_DELAY, delay_us=2000)
    m.tick(5000)                                     # H is ready but A keeps the CPU
    assert m.running == a
    assert m.tcr(Tcr.Flags, a) & 0xFF == PREEMPT_DELAY | PREEMPT_PENDING
    assert m.last.wake_at_us == 7000                 # the end of the grace
    m.tick(1000)
    assert m.running == a
    m.tick(1000)                                     # used up: preempted, d and I cleared
    assert m.running == h
    assert m.tcr(Tcr.Flags, a) & 0xFF == 0


def test_delayed_preemption_ends_when_the_thread_yields():
    m, a, h = setup(ARCH32, PREEMPT_DELAY, delay_us=2000)
    m.tick(5000)
    assert m.running == a and m.tcr(Tcr.Flags, a) & PREEMPT_PENDING
    m.syscall(Syscall.ThreadSwitch, 0)               # done with the critical section
    assert m.running == h
    assert m.tcr(Tcr.Flags, a) & 0xFF == PREEMPT_DELAY          # I cleared, d stays


def test_delay_only_for_sensitive_priorities():
    m, a, h = setup(ARCH32, PREEMPT_DELAY, sensitive=150, delay_us=2000)
    m.tick(5000)
    assert m.running == h                            # 200 > 150: no delay


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_total_quantum_runs_out(arch):
    m = FakeMachine(arch)
    mask = arch.word_mask
    a = m.spawn(100)
    time_control = Timeout.period(10_000) << 16 | Timeout.period(3000)
    m.syscall(Syscall.Schedule, a, time_control, mask, mask, mask)
    m.ipc(0, a, 0)                                   # root, A's scheduler, waits for it
    assert m.running == a and m.last.wake_at_us == 3000
    m.tick(3000)
    assert m.running == m.root and m.result() in (a, m.utcb_of(a))
    assert label(m) == PREEMPTION_LABEL & ((1 << (arch.word_bits - 16)) - 1)
    assert m.mr(1) == 3000
    m.ipc(0, m.root, timeouts(0, Timeout.period(1000)))   # root sleeps: A may not run
    assert m.running is None
    m.tick(1000)
    assert m.running == m.root
    m.syscall(Syscall.Schedule, a, time_control, mask, mask, mask)   # a new quantum
    m.ipc(0, a, 0)
    assert m.running == a
