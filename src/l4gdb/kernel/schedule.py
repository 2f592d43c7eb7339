"""Hard-priority round-robin scheduling, ThreadSwitch and Schedule."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .interrupt import IrqThread
from .thread import State, Tcb
from .types import NILTHREAD, Error, Timeout

if TYPE_CHECKING:
    from .kernel import Kernel

MAX_PRIORITY = 255


class Scheduler:
    """Ready queues per priority; the running thread sits at the head of its queue.

    Invariant kept lazily: only runnable threads are chosen; entries that
    stopped being runnable are dropped when met.
    """

    def __init__(self) -> None:
        self.queues: dict[int, deque[Tcb]] = {}
        # ThreadSwitch donation: the donee runs in the donor's place until it
        # blocks, yields or the timeslice ends; what would beat the donor beats it.
        self.donation: tuple[Tcb, Tcb] | None = None     # (donor, donee)

    def enqueue(self, t: Tcb, front: bool = False) -> None:
        q = self.queues.setdefault(t.priority, deque())
        if t in q:
            if not front:
                return
            q.remove(t)
        if front:
            q.appendleft(t)
        else:
            q.append(t)

    def dequeue(self, t: Tcb) -> None:
        for q in self.queues.values():
            if t in q:
                q.remove(t)

    def donate(self, donor: Tcb, donee: Tcb) -> None:
        self.donation = (donor, donee)

    def rotate(self, t: Tcb) -> None:
        """End of timeslice: fresh timeslice, back of the queue."""
        self.donation = None
        t.timeslice_left_us = t.timeslice_us
        self.dequeue(t)
        if t.runnable:
            self.enqueue(t)

    def set_priority(self, t: Tcb, prio: int) -> None:
        was_queued = any(t in q for q in self.queues.values())
        self.dequeue(t)
        t.priority = prio
        if was_queued:
            self.enqueue(t)

    def choose(self) -> Tcb | None:
        best = self._head()
        if self.donation is not None:
            donor, donee = self.donation
            if not donee.runnable:
                self.donation = None
            elif best is None or best is donor or best.priority <= donor.priority:
                return donee
        return best

    def _head(self) -> Tcb | None:
        for prio in sorted(self.queues, reverse=True):
            q = self.queues[prio]
            while q and not q[0].runnable:
                q.popleft()
            if q:
                return q[0]
        return None

    def has_peer(self, t: Tcb) -> bool:
        """Is another runnable thread waiting at t's priority (round robin due)?"""
        q = self.queues.get(t.priority, ())
        return any(o is not t and o.runnable for o in q)

    def ready_view(self) -> dict[int, list[Tcb]]:
        return {p: [t for t in q if t.runnable] for p, q in sorted(self.queues.items(),
                                                                  reverse=True) if q}


def sys_thread_switch(k: Kernel, cur: Tcb, dest: int) -> tuple[int, ...]:
    """ThreadSwitch: nil yields; a runnable thread gets the rest of the timeslice."""
    if dest != NILTHREAD:
        target = k.resolve(cur, dest)
        if target is cur:
            return ()
        if target is not None and target.runnable:
            k.sched.donate(cur, target)
            k.event("schedule", reason="donate", to=target.global_id)
            return ()
    k.sched.rotate(cur)
    k.event("schedule", reason="yield", thread=cur.global_id)
    return ()


# Schedule result codes (schedule.h).
SCHED_ERROR, SCHED_DEAD, SCHED_INACTIVE, SCHED_RUNNING = 0, 1, 2, 3
SCHED_PENDING_SEND, SCHED_SENDING, SCHED_WAITING, SCHED_RECEIVING = 4, 5, 6, 7


def schedule_state(t: Tcb) -> int:
    if t.state is State.DEAD:
        return SCHED_DEAD
    if t.halted or t.state is State.INACTIVE:
        return SCHED_INACTIVE
    if t.state is State.POLLING:
        return SCHED_PENDING_SEND
    if t.state is State.WAITING:
        return SCHED_WAITING
    return SCHED_RUNNING


def sys_schedule(k: Kernel, cur: Tcb, dest: int, time_control: int, processor_control: int,
                 prio_control: int, preemption_control: int) -> tuple[int, ...]:
    """Schedule: checks and result codes as Pistachio's SYS_SCHEDULE."""
    dont_change = k.arch.word_mask
    target = k.thread_by_global(dest)
    if target is not None and isinstance(target.host, IrqThread) \
            and target.host.handler is not None:
        return _schedule_interrupt(k, cur, target, prio_control)
    if target is None or target.host is not None:
        return k.fail(cur, Error.InvalidThread, 0, 0)
    if prio_control != dont_change and (prio_control & 0xFF) > cur.priority:
        return k.fail(cur, Error.InvalidParam, 0, 0)
    sched_tcb = k.thread_by_global(target.scheduler)
    if sched_tcb is None or sched_tcb.space is not cur.space:
        return k.fail(cur, Error.NoPrivilege, 0, 0)
    if processor_control != dont_change and processor_control != 0:
        return k.fail(cur, Error.InvalidParam, 0, 0)      # one processor only
    old_time = (Timeout.period(target.timeslice_us) << 16) | Timeout.period(target.total_quantum_us)
    if prio_control != dont_change:
        k.sched.set_priority(target, prio_control & 0xFF)
    if time_control != dont_change:
        quantum = Timeout(time_control & 0xFFFF)
        if not quantum.is_point:
            target.total_quantum_us = quantum.us
        slice_ = Timeout((time_control >> 16) & 0xFFFF)
        if not slice_.is_point and slice_.us is not None and slice_.us > 0:
            target.timeslice_us = slice_.us
            target.timeslice_left_us = min(target.timeslice_left_us, slice_.us)
    if preemption_control != dont_change:
        target.max_delay = preemption_control & 0xFFFF
        sens = (preemption_control >> 16) & 0xFF
        if sens >= target.priority:
            target.sensitive_prio = sens
    k.event("schedule", reason="schedule", thread=target.global_id, priority=target.priority)
    return schedule_state(target), old_time


def _schedule_interrupt(k: Kernel, cur: Tcb, target: Tcb, prio_control: int) -> tuple[int, ...]:
    """Schedule on an associated interrupt thread: its priority (the one its
    messages are sent with); the rest has no meaning for it."""
    if prio_control != k.arch.word_mask:
        if (prio_control & 0xFF) > cur.priority and not cur.space.privileged:
            return k.fail(cur, Error.InvalidParam, 0, 0)
        target.priority = prio_control & 0xFF
    old_time = (Timeout.period(target.timeslice_us) << 16) | Timeout.period(target.total_quantum_us)
    return SCHED_RUNNING, old_time
