"""Interrupt threads, handler association, interrupts as IPC, the timer tick."""

import pytest
from fake_target import ARCH32, ARCH64, FakeMachine, timeouts

from l4gdb.kernel.abi import Syscall, Trap, TrapKind
from l4gdb.kernel.interrupt import irq_tag
from l4gdb.kernel.types import Error
from l4gdb.kernel.utcb import Tcr

ARCHS = [ARCH32, ARCH64]
ARCH_IDS = ["32", "64"]
IRQ = 5


def interrupt(m, irq):
    return m.trap(Trap(TrapKind.INTERRUPT, irq, dict(m.cpu) if m.running else None))


def associate(m, irq, handler):
    return m.thread_control(m.tid(irq), m.tid(irq), 0, handler, m.arch.word_mask)


def deassociate(m, irq):
    return m.thread_control(m.tid(irq), m.tid(irq), 0, m.tid(irq), m.arch.word_mask)


def label_of(tag, bits):
    return tag >> 16


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_associate_enables_and_deassociate_disables_the_line(arch):
    m = FakeMachine(arch)
    assert associate(m, IRQ, m.root) == 1
    assert m.last.irq_unmask == (IRQ,)
    assert deassociate(m, IRQ) == 1
    assert m.last.irq_mask == (IRQ,)
    assert m.last.irq_unmask == ()


def test_association_errors():
    m = FakeMachine(ARCH32)
    assert associate(m, IRQ, m.tid(300)) == 0                  # no such handler
    assert m.tcr(Tcr.ErrorCode) == Error.InvalidThread
    assert m.thread_control(m.tid(IRQ, 2), m.tid(IRQ, 2), 0, m.root, 0xFFFFFFFF) == 0
    assert m.tcr(Tcr.ErrorCode) == Error.InvalidThread
    assert associate(m, 64, m.root) == 0                      # SystemBase: not an interrupt
    m.kernel.tick_irq = 27
    assert associate(m, 27, m.root) == 0                      # the kernel's own tick
    assert m.tcr(Tcr.ErrorCode) == Error.InvalidThread


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_interrupt_delivered_to_a_waiting_handler(arch):
    m = FakeMachine(arch)
    assert associate(m, IRQ, m.root) == 1
    m.ipc(0, m.tid(IRQ), timeouts(0, 0))                       # receive from the irq, never
    assert m.running is None
    interrupt(m, IRQ)
    assert m.running == m.root
    assert m.result() == m.tid(IRQ)
    assert label_of(m.mr(0), arch.word_bits) == (-1 << 4) & ((1 << (arch.word_bits - 16)) - 1)
    assert m.mr(0) == irq_tag(arch.word_bits)
    assert m.last.irq_unmask == ()                             # masked until the ack


def test_pending_interrupt_waits_for_the_receive():
    m = FakeMachine(ARCH32)
    assert associate(m, IRQ, m.root) == 1
    interrupt(m, IRQ)                                         # root is busy (running)
    assert m.running == m.root
    m.ipc(0, m.tid(IRQ), timeouts(0, 0))
    assert m.running == m.root and m.result() == m.tid(IRQ)
    assert m.mr(0) == irq_tag(32)


def test_anythread_receive_takes_the_interrupt():
    m = FakeMachine(ARCH32)
    assert associate(m, IRQ, m.root) == 1
    m.ipc(0, 0xFFFFFFFF, timeouts(0, 0))
    interrupt(m, IRQ)
    assert m.running == m.root and m.result() == m.tid(IRQ)


def test_reply_reenables_the_line():
    m = FakeMachine(ARCH32)
    assert associate(m, IRQ, m.root) == 1
    m.ipc(0, m.tid(IRQ), timeouts(0, 0))
    interrupt(m, IRQ)
    # Ack + wait for the next one: Call on the interrupt thread.
    m.ipc(m.tid(IRQ), m.tid(IRQ), timeouts(0, 0), 0)
    assert m.last.irq_unmask == (IRQ,)
    assert m.running is None
    interrupt(m, IRQ)
    assert m.running == m.root and m.result() == m.tid(IRQ)


def test_second_interrupt_while_in_service_is_not_queued_twice():
    m = FakeMachine(ARCH32)
    assert associate(m, IRQ, m.root) == 1
    interrupt(m, IRQ)
    interrupt(m, IRQ)
    m.ipc(0, m.tid(IRQ), timeouts(0, 0x0400))                 # one message ...
    assert m.result() == m.tid(IRQ)
    m.ipc(0, m.tid(IRQ), timeouts(0, 0x0400))                 # ... not two (zero timeout)
    assert m.result() == 0


def test_interrupt_preempts_a_lower_priority_thread():
    m = FakeMachine(ARCH32)
    h = m.spawn(100, prio=200)
    s = m.spawn(101, prio=50)
    assert associate(m, IRQ, h) == 1
    m.ipc(0, m.root, 0)                                       # root blocks forever
    assert m.running == h
    m.ipc(0, m.tid(IRQ), timeouts(0, 0))                      # handler waits
    assert m.running == s                                     # the spinner runs
    interrupt(m, IRQ)
    assert m.running == h and m.result() == m.tid(IRQ)


def test_unassociated_interrupt_is_ignored():
    m = FakeMachine(ARCH32, trace=True)
    interrupt(m, IRQ)
    assert m.running == m.root
    assert "interrupt" in m.events.names()


def test_schedule_on_interrupt_threads():
    m = FakeMachine(ARCH32)
    mask = 0xFFFFFFFF
    m.syscall(Syscall.Schedule, m.tid(3), mask, mask, 10, mask)
    assert m.result() == 0 and m.tcr(Tcr.ErrorCode) == Error.InvalidThread
    assert associate(m, 3, m.root) == 1
    m.syscall(Syscall.Schedule, m.tid(3), mask, mask, 10, mask)
    assert m.result() != 0
    assert m.kernel.thread_by_global(m.tid(3)).priority == 10
    assert deassociate(m, 3) == 1
    m.syscall(Syscall.Schedule, m.tid(3), mask, mask, 10, mask)
    assert m.result() == 0


def test_deleting_the_handler_masks_the_line():
    m = FakeMachine(ARCH32)
    h = m.spawn(100)
    assert associate(m, IRQ, h) == 1
    assert m.thread_control(h, 0, 0, 0, 0) == 1
    assert m.last.irq_mask == (IRQ,)
    interrupt(m, IRQ)
    assert m.running == m.root


def test_tick_rotates_equal_priority_threads():
    m = FakeMachine(ARCH32)
    m.kernel.tick_irq = 27
    a, b = m.spawn(100), m.spawn(101)
    m.ipc(0, m.root, 0)
    seen = []
    for _ in range(6):
        seen.append(m.running)
        m.clock.advance(10_000)
        interrupt(m, 27)
    assert seen == [a, b] * 3
    assert m.kernel.ticks == 6


def test_tick_expires_timeouts_and_wakes_a_higher_priority_thread():
    m = FakeMachine(ARCH32)
    m.kernel.tick_irq = 27
    m.spawn(100, prio=10)
    # Root sleeps 25 ms (receive from nobody with a timeout) while the spinner runs.
    from l4gdb.kernel.types import Timeout
    m.ipc(0, m.root, timeouts(0, Timeout.period(25_000)))
    assert m.running == m.tid(100)
    for _ in range(2):
        m.clock.advance(10_000)
        interrupt(m, 27)
        assert m.running == m.tid(100)
    m.clock.advance(10_000)
    interrupt(m, 27)
    assert m.running == m.root


def test_queued_interrupt_is_taken_on_the_next_entry():
    m = FakeMachine(ARCH32)
    h = m.spawn(100, prio=200)
    assert associate(m, IRQ, h) == 1
    m.ipc(0, m.root, 0)
    m.ipc(0, m.tid(IRQ), timeouts(0, 0))                      # handler waits; nothing runs
    m.kernel.queue_interrupt(IRQ)
    m.kernel.queue_interrupt(27 if m.kernel.tick_irq == 27 else 64)   # ignored: not a line
    m.tick(1)
    assert m.running == h and m.result() == m.tid(IRQ)
