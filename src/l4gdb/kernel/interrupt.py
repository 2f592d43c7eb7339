"""Interrupts as IPC (X.2): interrupt threads, handler association, delivery.

Interrupt ``n`` is the thread GlobalId(n, 1) (numbers below SystemBase).
``ThreadControl(irq, irq, nil, handler, -1)`` associates a handler thread (and
enables the line); pager = irq itself de-associates (and disables it). When
the line fires, the stub masks it and the interrupt thread sends the handler
a message with label -1 << 4 and no words (it waits, as a blocked sender,
until the handler receives from it or from anyone). The handler acknowledges
with a send to the interrupt thread, which enables the line again.

The tick of the kernel's own timer (``Kernel.tick_irq``) is not an
interrupt thread: it only advances time (accounting, timeouts, timeslices).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ipc
from .kip import SYSTEM_BASE
from .thread import IpcKind, IpcOp, State, Tcb
from .types import NILTHREAD, Error, MsgTag, ThreadId

if TYPE_CHECKING:
    from .kernel import Kernel

IRQ_LABEL = -1 << 4


def irq_tag(bits: int) -> int:
    return MsgTag(label=IRQ_LABEL & ((1 << (bits - 16)) - 1)).raw(bits)


class IrqThread:
    """The host side of an interrupt thread: the handler's message is its ack."""

    def __init__(self, irq: int) -> None:
        self.irq = irq
        self.handler: Tcb | None = None
        self.in_service = False          # delivered (or pending), line masked
        self.fired = 0

    def handle(self, kernel: Kernel, sender: Tcb, words: list[int]) -> list[int] | None:
        if sender is self.handler and self.in_service:
            self.in_service = False
            kernel.irq_unmask(self.irq)
            kernel.event("interrupt_ack", irq=self.irq, thread=sender.global_id)
        return None


def is_interrupt_no(k: Kernel, thread_no: int) -> bool:
    return thread_no < SYSTEM_BASE


def irq_thread(k: Kernel, irq: int) -> Tcb | None:
    t = k.threads.get(irq)
    return t if t is not None and isinstance(t.host, IrqThread) else None


def _irq_space(k: Kernel):
    if k.irq_space is None or k.irq_space not in k.spaces:
        k.irq_space = k.new_space(privileged=True, host=True)
    return k.irq_space


def thread_control(k: Kernel, cur: Tcb, dest: int, space_spec: int, pager: int) -> tuple[int, ...]:
    """ThreadControl on an interrupt thread: associate / de-associate its handler."""
    tid = ThreadId.from_raw(dest, k.bits)
    irq = tid.thread_no
    # Only the association form (SpaceSpecifier = the interrupt thread itself)
    # means something for an interrupt thread.
    if tid.version != 1 or irq not in k.irq_range or irq == k.tick_irq or space_spec != dest:
        return k.fail(cur, Error.InvalidThread, 0)
    t = irq_thread(k, irq)
    if pager == dest:                                   # de-associate
        if t is not None and t.host.handler is not None:
            t.host.handler = None
            t.host.in_service = False
            _withdraw(k, t)
            k.irq_mask(irq)
            k.event("interrupt_associate", irq=irq, handler=None)
        return (1,)
    handler = k.thread_by_global(pager)
    if handler is None or handler.host is not None:
        return k.fail(cur, Error.InvalidThread, 0)
    if t is None:
        t = k.new_thread(ThreadId(irq, 1).raw(k.bits), _irq_space(k), scheduler=cur.global_id,
                         name=f"irq{irq}")
        t.host = IrqThread(irq)
        t.activated = True
        t.state = State.RUNNING
    elif t.host.handler is not None and t.host.handler is not handler:
        _withdraw(k, t)
    t.host.handler = handler
    t.host.in_service = False
    t.scheduler = cur.global_id
    k.irq_unmask(irq)
    k.event("interrupt_associate", irq=irq, handler=handler.global_id)
    return (1,)


def _withdraw(k: Kernel, t: Tcb) -> None:
    """A pending (undelivered) interrupt message is dropped."""
    if t.state is State.POLLING:
        t.state = State.RUNNING
        t.op = None
        t.partner = NILTHREAD
        t.partner_tcb = None


def fire(k: Kernel, irq: int) -> None:
    """The line fired (the stub masked it): the interrupt thread sends to its handler."""
    t = irq_thread(k, irq)
    k.event("interrupt", irq=irq)
    if t is None or t.host.handler is None:
        return                                          # nobody to tell: stays masked
    h = t.host.handler
    if h.state is State.DEAD:
        return
    t.host.fired += 1
    if t.host.in_service and t.state is State.POLLING:
        return                                          # already pending
    t.host.in_service = True
    t.op = IpcOp(to=h.global_id, from_spec=NILTHREAD, rcv_timeout_us=None,
                 kind=IpcKind.USER, kmsg=[irq_tag(k.bits)])
    if ipc.accepts(k, h, t):
        if ipc.transfer(k, t, h):
            ipc.receive_phase(k, t)
        return
    # Blocked sender until the handler receives (from it or from anyone).
    t.state = State.POLLING
    t.partner = h.global_id
    t.partner_tcb = h
    t.deadline_us = None
    t.send_seq = k.next_seq()


def partner_gone(k: Kernel, dead: Tcb) -> None:
    """A deleted handler loses its interrupts (the lines stay masked)."""
    for t in list(k.threads.values()):
        if isinstance(t.host, IrqThread) and t.host.handler is dead:
            t.host.handler = None
            t.host.in_service = False
            _withdraw(k, t)
            k.irq_mask(t.host.irq)
