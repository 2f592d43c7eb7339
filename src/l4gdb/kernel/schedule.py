"""Hard-priority round-robin scheduling, ThreadSwitch and Schedule, preemption.

Preemption (X.2): a thread running in user mode is *preempted* when an
interrupt or a timeout (not its own system call) lets another thread take the
CPU: the end of its timeslice, a higher-priority thread woken, its total
quantum used up. What it then gets depends on its PreemptFlags (UTCB flags
word, byte 0) and its PreemptionControl (``Schedule``: sensitive priority,
maximum delay):

* ``d`` (delay): a higher-priority thread whose priority is at most the
  sensitive priority does not take the CPU at once: the kernel sets ``I`` (a
  preemption is pending) and lets the thread run on for at most its maximum
  delay (a time value), so it can finish a critical section and yield (any
  system call of its own ends the delay); after that it is preempted all the
  same and ``d`` and ``I`` are cleared;
* ``s`` (signal): a preemption by a thread of at most the sensitive
  priority is reported when the thread runs again: it sends its exception
  handler a preemption message (label ``-3 << 4``, u = 2, MR1/MR2 the clock
  at the preemption, low word first) with send timeout 0: delivered if the
  handler waits for it, else dropped;
* a total quantum that runs out (not Never) stops the thread: it is not
  scheduled again until ``Schedule`` gives it a new quantum, and it sends its
  scheduler the same preemption message, with send timeout 0 (X.2).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from . import ipc
from .interrupt import IrqThread
from .thread import IpcOp, State, Tcb
from .types import NILTHREAD, Error, KernelLabel, MsgTag, Timeout, kernel_label
from .utcb import Tcr

if TYPE_CHECKING:
    from .kernel import Kernel

MAX_PRIORITY = 255

# PreemptFlags (byte 0 of the UTCB flags word), as Pistachio's <l4/thread.h>.
PREEMPT_SIGNAL = 0x20             # s: report preemptions with a preemption message
PREEMPT_DELAY = 0x40              # d: delay preemption (up to the maximum delay)
PREEMPT_PENDING = 0x80            # I: the kernel delayed a preemption


def eligible(t: Tcb) -> bool:
    """Runnable and with quantum left (a used-up total quantum keeps it off the CPU)."""
    return t.runnable and t.total_quantum_us != 0


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
        # Preemption state (module doc): the end of a delayed preemption's grace
        # per thread, and when a thread that asked for messages was preempted.
        self.delayed: dict[Tcb, int] = {}
        self.preempted: dict[Tcb, int] = {}

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
            if not eligible(donee):
                self.donation = None
            elif best is None or best is donor or best.priority <= donor.priority:
                return donee
        return best

    def _head(self) -> Tcb | None:
        for prio in sorted(self.queues, reverse=True):
            q = self.queues[prio]
            while q and not q[0].runnable:
                q.popleft()
            for t in q:                   # a used-up quantum waits in its place
                if t.total_quantum_us != 0:
                    return t
        return None

    def has_peer(self, t: Tcb) -> bool:
        """Is another runnable thread waiting at t's priority (round robin due)?"""
        q = self.queues.get(t.priority, ())
        return any(o is not t and eligible(o) for o in q)

    def ready_view(self) -> dict[int, list[Tcb]]:
        return {p: [t for t in q if eligible(t)] for p, q in sorted(self.queues.items(),
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
        if target.runnable and target.total_quantum_us != 0:
            k.sched.enqueue(target)       # back on the CPU when a new quantum came
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


# --- preemption (module doc) ---------------------------------------------------


def preempt_flags(t: Tcb) -> int:
    return t.utcb.words[Tcr.Flags] & 0xFF if t.utcb is not None else 0


def _set_preempt_flags(k: Kernel, t: Tcb, flags: int) -> None:
    if t.utcb is not None:
        word = (t.utcb.words[Tcr.Flags] & ~0xFF) | (flags & 0xFF)
        k.write_utcb(t, Tcr.Flags, [word])


def preemption_tag(bits: int) -> int:
    return MsgTag(u=2, label=kernel_label(KernelLabel.PREEMPTION, bits)).raw(bits)


def send_preemption(k: Kernel, t: Tcb, dest: int, at_us: int) -> bool:
    """t sends ``dest`` a preemption message with send timeout 0 (only a waiting
    receiver gets it); t itself is not in an IPC and goes on as it was."""
    target = k.resolve(t, dest) if dest != NILTHREAD else None
    if target is None or target.host is not None or not ipc.accepts(k, target, t):
        return False
    bits = k.bits
    mask = k.arch.word_mask
    words = [preemption_tag(bits), at_us & mask, (at_us >> bits) & mask]
    saved = (t.op, t.state, t.deadline_us, t.partner_tcb)
    t.op = IpcOp(to=target.global_id, from_spec=NILTHREAD, rcv_timeout_us=None, kmsg=words)
    try:
        done = ipc.transfer(k, t, target)
    finally:
        t.op, t.state, t.deadline_us, t.partner_tcb = saved
    if done:
        k.event("preemption_message", thread=t.global_id, to=target.global_id, at_us=at_us)
    return done


def quantum_exhausted(k: Kernel, t: Tcb) -> None:
    """t's total quantum ran out: it stays in its ready queue but is passed over
    until Schedule gives it a new one; its scheduler hears of it (send timeout 0)."""
    k.event("schedule", reason="quantum", thread=t.global_id)
    send_preemption(k, t, t.scheduler, k.now)


def _delay_us(t: Tcb) -> int:
    return (Timeout(t.max_delay & 0xFFFF).us or 0) if t.max_delay else 0


def on_switch(k: Kernel, prev: Tcb | None, nxt: Tcb | None, asynchronous: bool) -> Tcb | None:
    """The scheduler chose ``nxt`` after an entry in which ``prev`` ran; apply
    delayed preemption and preemption messages. Returns who runs."""
    sched = k.sched
    if prev is not None and nxt is not prev and eligible(prev):
        if asynchronous:
            if _preempted(k, prev, nxt):
                return prev
        else:
            _end_delay(k, prev)           # it entered the kernel itself: the delay is over
    if nxt is not None and nxt is not prev:
        at = sched.preempted.pop(nxt, None)
        if at is not None and send_preemption(k, nxt, nxt.exception_handler, at):
            return sched.choose()         # the handler may take the CPU first
    return nxt


def _preempted(k: Kernel, prev: Tcb, nxt: Tcb | None) -> bool:
    """prev, runnable, loses the CPU to nxt on an interrupt or timeout. True: it
    keeps it (a delayed preemption)."""
    sched = k.sched
    flags = preempt_flags(prev)
    by = nxt.priority if nxt is not None else -1
    sensitive = nxt is not None and by <= prev.sensitive_prio
    if sensitive and by > prev.priority and flags & PREEMPT_DELAY:
        until = sched.delayed.get(prev)
        if until is None:
            until = k.now + _delay_us(prev)
            sched.delayed[prev] = until
            _set_preempt_flags(k, prev, flags | PREEMPT_PENDING)
            k.event("schedule", reason="delayed", thread=prev.global_id, until=until)
        if k.now < until:
            return True
        sched.delayed.pop(prev, None)     # grace used up: preempted, d and I cleared
        flags &= ~(PREEMPT_DELAY | PREEMPT_PENDING)
        _set_preempt_flags(k, prev, flags)
    if sensitive and flags & PREEMPT_SIGNAL:
        sched.preempted.setdefault(prev, k.now)
    return False


def _end_delay(k: Kernel, t: Tcb) -> None:
    if k.sched.delayed.pop(t, None) is not None:
        _set_preempt_flags(k, t, preempt_flags(t) & ~PREEMPT_PENDING)


def delay_deadline(k: Kernel, running: Tcb | None) -> int | None:
    """When the running thread's delayed preemption must happen, if one is pending."""
    return k.sched.delayed.get(running) if running is not None else None
