"""IPC: send phase, receive phase, rendezvous, timeouts and cancellation.

A blocked thread's message stays in its UTCB copy (it cannot run, so its
MRs cannot change); delivery copies MR0..MR(u+t) into the receiver's UTCB
through the kernel's write buffer. Every path ends in :func:`finish`, which
sets the syscall results of the thread whose IPC completed.

Typed items: map and grant items are copied verbatim (there are no address
spaces to map into yet: the MMU is off, all memory is shared); string and
other items are refused with a message-overflow error at offset 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import exception
from .thread import IpcKind, IpcOp, State, Tcb
from .types import (
    GRANT_ITEM_TYPE,
    MAP_ITEM_TYPE,
    NILTHREAD,
    RECEIVE_PHASE,
    SEND_PHASE,
    IpcError,
    MsgTag,
    TagFlag,
    Timeout,
    error_tag,
    ipc_error_code,
    is_any,
    is_anylocal,
    is_local_id,
    split_timeouts,
)
from .utcb import NUM_MRS, Tcr

if TYPE_CHECKING:
    from .kernel import Kernel


def sys_ipc(k: Kernel, cur: Tcb, to: int, from_spec: int, timeouts: int) -> None:
    snd, rcv = split_timeouts(timeouts)
    start_ipc(k, cur, to, from_spec, snd, rcv)


sys_lipc = sys_ipc     # Lipc is an optimisation of Ipc with local ids: same semantics here


def start_ipc(k: Kernel, cur: Tcb, to: int, from_spec: int, snd: Timeout, rcv: Timeout,
              kind: IpcKind = IpcKind.USER, kmsg: list[int] | None = None) -> None:
    cur.op = IpcOp(to, from_spec, rcv.us, kind, kmsg)
    cur.host_reply = None
    if to != NILTHREAD:
        dest = k.resolve(cur, to)
        if dest is None:
            finish(k, cur, error=ipc_error_code(IpcError.NonExisting, SEND_PHASE))
            return
        if dest.host is not None:
            if not _send_to_host(k, cur, dest):
                return
        elif accepts(k, dest, cur):
            if not transfer(k, cur, dest):
                return
        elif snd.is_zero:
            finish(k, cur, error=ipc_error_code(IpcError.Timeout, SEND_PHASE))
            return
        else:
            _block(k, cur, State.POLLING, to, dest, snd.us)
            return
    receive_phase(k, cur)


def receive_phase(k: Kernel, t: Tcb) -> None:
    """Run t's receive phase (or finish a send-only IPC)."""
    op = t.op
    assert op is not None
    t.state = State.RUNNING
    if op.from_spec == NILTHREAD:
        t.host_reply = None
        finish(k, t, from_id=NILTHREAD)
        return
    reply, t.host_reply = t.host_reply, None
    if reply is not None and _spec_matches(k.bits, t, op.from_spec, reply[0]):
        deliver(k, reply[0], t, reply[1])
        return
    closed = None
    if not (is_any(op.from_spec, k.bits) or is_anylocal(op.from_spec, k.bits)):
        closed = k.resolve(t, op.from_spec)
        if closed is None:
            finish(k, t, error=ipc_error_code(IpcError.NonExisting, RECEIVE_PHASE))
            return
    sender = _find_sender(k, t, closed)
    if sender is not None:
        if transfer(k, sender, t):
            receive_phase(k, sender)     # the blocked sender goes on with its receive phase
        return
    if op.rcv_timeout_us == 0:
        finish(k, t, error=ipc_error_code(IpcError.Timeout, RECEIVE_PHASE))
        return
    _block(k, t, State.WAITING, op.from_spec, closed, op.rcv_timeout_us)


def _block(k: Kernel, t: Tcb, state: State, partner: int, partner_tcb: Tcb | None,
           timeout_us: int | None) -> None:
    t.state = state
    t.partner = partner
    t.partner_tcb = partner_tcb
    t.deadline_us = None if timeout_us is None else k.now + timeout_us
    if state is State.POLLING:
        t.send_seq = k.next_seq()
    k.sched.dequeue(t)
    k.event("ipc_block", thread=t.global_id, state=state.value, partner=partner,
            deadline=t.deadline_us)


def _spec_matches(bits: int, r: Tcb, spec: int, s: Tcb) -> bool:
    """Does FromSpecifier ``spec`` of receiver r accept sender s?"""
    if is_any(spec, bits):
        return True
    if is_anylocal(spec, bits):
        return r.space is s.space
    if spec == s.global_id:
        return True
    return is_local_id(spec, bits) and r.space is s.space and s.utcb_addr == spec


def accepts(k: Kernel, r: Tcb, s: Tcb) -> bool:
    """Is r blocked receiving and willing to take a message from s?"""
    return r.state is State.WAITING and not r.halted and _spec_matches(k.bits, r, r.partner, s)


def _find_sender(k: Kernel, r: Tcb, closed: Tcb | None) -> Tcb | None:
    best: Tcb | None = None
    for s in k.threads_in_state(State.POLLING):
        if s.partner_tcb is not r or s.halted:
            continue
        if closed is not None and s is not closed:
            continue
        if closed is None and is_anylocal(r.op.from_spec, k.bits) and s.space is not r.space:
            continue
        if best is None or s.send_seq < best.send_seq:
            best = s
    return best


def message_words(k: Kernel, s: Tcb) -> list[int]:
    """MR0..MR(u+t) of the message s sends (tag first)."""
    if s.op is not None and s.op.kmsg is not None:
        return list(s.op.kmsg)
    assert s.utcb is not None
    tag = MsgTag.from_raw(s.utcb.words[0])
    n = min(tag.u + tag.t, NUM_MRS - 1)
    return s.utcb.words[0:1 + n]


def check_message(words: list[int]) -> int | None:
    """None if the message can be delivered, else the error offset (always 0)."""
    tag = MsgTag.from_raw(words[0])
    if tag.u + tag.t > NUM_MRS - 1:
        return 0
    i = 1 + tag.u
    end = i + tag.t
    while i < end:
        item_type = (words[i] >> 1) & 7
        if item_type not in (MAP_ITEM_TYPE, GRANT_ITEM_TYPE) or i + 2 > end:
            return 0
        last = not (words[i] & 1)
        i += 2
        if last:
            break
    return None


def transfer(k: Kernel, s: Tcb, r: Tcb) -> bool:
    """Rendezvous: copy s's message to r and finish r's IPC. False on error."""
    words = message_words(k, s)
    if check_message(words) is not None:
        finish(k, s, error=ipc_error_code(IpcError.Overflow, SEND_PHASE))
        finish(k, r, error=ipc_error_code(IpcError.Overflow, RECEIVE_PHASE))
        return False
    s.state = State.RUNNING
    s.deadline_us = None
    s.partner_tcb = None
    deliver(k, s, r, words)
    return True


def deliver(k: Kernel, s: Tcb, r: Tcb, words: list[int]) -> None:
    """Hand a (checked) message from s to the receiving r and complete r."""
    tag = MsgTag.from_raw(words[0])
    out_tag = MsgTag(tag.u, tag.t, tag.flags & TagFlag.PROPAGATED, tag.label).raw(k.bits)
    k.log_ipc(s, r, out_tag)
    op = r.op
    kind = op.kind if op else IpcKind.USER
    if kind is IpcKind.STARTUP:
        # Thread start protocol: MR1 = ip, MR2 = sp; no syscall to return from.
        r.regs[k.arch.ip_reg] = words[1] if len(words) > 1 else 0
        r.regs[k.arch.sp_reg] = words[2] if len(words) > 2 else 0
        finish(k, r, from_id=None)
        return
    if kind is IpcKind.EXCEPTION:
        exception.apply_reply(k, r, words)
        finish(k, r, from_id=None)
        return
    k.write_utcb(r, 0, [out_tag, *words[1:]])
    finish(k, r, from_id=k.id_as_seen_by(r, s))


def finish(k: Kernel, t: Tcb, from_id: int | None = NILTHREAD, error: int | None = None) -> None:
    """Complete t's IPC: results, ErrorCode, state; t becomes runnable.

    ``from_id`` None means "not a syscall return" (startup, exception IPC).
    """
    op = t.op
    kind = op.kind if op else IpcKind.USER
    t.op = None
    t.state = State.RUNNING
    t.deadline_us = None
    t.partner = NILTHREAD
    t.partner_tcb = None
    t.host_reply = None
    if error is not None:
        if kind is IpcKind.EXCEPTION:
            k.halt(t, f"exception IPC failed (ErrorCode {error:#x})")
            return
        if kind is IpcKind.USER:
            k.write_utcb(t, 0, [error_tag(k.bits)])
            k.write_utcb(t, Tcr.ErrorCode, [error])
            k.set_results(t, NILTHREAD)
        k.event("ipc_error", thread=t.global_id, error=error)
    elif from_id is not None:
        k.set_results(t, from_id)
    k.wake(t)


def cancel(k: Kernel, t: Tcb) -> None:
    """Abort t's blocked IPC (ExchangeRegisters r/s bits): error 3 in its phase."""
    phase = SEND_PHASE if t.state is State.POLLING else RECEIVE_PHASE
    finish(k, t, error=ipc_error_code(IpcError.Cancelled, phase))


def expire(k: Kernel, t: Tcb) -> None:
    """t's send or receive timeout ran out."""
    phase = SEND_PHASE if t.state is State.POLLING else RECEIVE_PHASE
    finish(k, t, error=ipc_error_code(IpcError.Timeout, phase))


def partner_gone(k: Kernel, dead: Tcb) -> None:
    """Threads sending to / waiting for a deleted thread get 'non-existing partner'."""
    for t in list(k.threads_in_state(State.POLLING)):
        if t.partner_tcb is dead:
            finish(k, t, error=ipc_error_code(IpcError.NonExisting, SEND_PHASE))
    for t in list(k.threads_in_state(State.WAITING)):
        if t.partner_tcb is dead:
            finish(k, t, error=ipc_error_code(IpcError.NonExisting, RECEIVE_PHASE))


def _send_to_host(k: Kernel, cur: Tcb, dest: Tcb) -> bool:
    """Deliver to a host-side thread; its reply waits for cur's receive phase.

    The host thread answers at once (it is always waiting); a reply the
    sender does not receive right away is dropped, as a server's reply with
    a zero send timeout would be.
    """
    words = message_words(k, cur)
    if check_message(words) is not None:
        finish(k, cur, error=ipc_error_code(IpcError.Overflow, SEND_PHASE))
        return False
    k.log_ipc(cur, dest, words[0])
    assert dest.host is not None
    reply = dest.host.handle(k, cur, words)
    if reply is not None and check_message(reply) is None:
        cur.host_reply = (dest, reply)
    return True
