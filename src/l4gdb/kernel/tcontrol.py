"""ThreadControl: create, modify, activate and delete threads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import interrupt
from .kip import USER_BASE
from .thread import IpcKind, IpcOp, State, Tcb
from .types import NILTHREAD, Error, ThreadId, is_global_id
from .utcb import Tcr

if TYPE_CHECKING:
    from .kernel import Kernel


def sys_thread_control(k: Kernel, cur: Tcb, dest: int, space_spec: int, scheduler: int,
                       pager: int, utcb_location: int) -> tuple[int, ...]:
    if not cur.space.privileged:
        return k.fail(cur, Error.NoPrivilege, 0)
    if not is_global_id(dest, k.bits):
        return k.fail(cur, Error.InvalidThread, 0)
    tid = ThreadId.from_raw(dest, k.bits)
    # Interrupt threads (below SystemBase): handler association; kernel
    # threads (below UserBase) are off limits.
    if interrupt.is_interrupt_no(k, tid.thread_no):
        return interrupt.thread_control(k, cur, dest, space_spec, pager)
    if tid.thread_no < USER_BASE:
        return k.fail(cur, Error.InvalidThread, 0)
    existing = k.threads.get(tid.thread_no)
    if existing is not None and existing.host is not None:
        return k.fail(cur, Error.InvalidThread, 0)
    if space_spec == NILTHREAD:
        if existing is cur:
            return k.fail(cur, Error.InvalidThread, 0)
        if existing is not None:
            k.delete_thread(existing)
        return (1,)
    if existing is not None:
        return _modify(k, cur, existing, dest, space_spec, scheduler, pager, utcb_location)
    return _create(k, cur, dest, space_spec, scheduler, pager, utcb_location)


def _create(k: Kernel, cur: Tcb, dest: int, space_spec: int, scheduler: int, pager: int,
            utcb_location: int) -> tuple[int, ...]:
    if scheduler == NILTHREAD:
        return k.fail(cur, Error.InvalidScheduler, 0)
    if scheduler != dest and k.thread_by_global(scheduler) is None:
        return k.fail(cur, Error.InvalidScheduler, 0)
    new_space = space_spec == dest
    space_tcb = None if new_space else k.thread_by_global(space_spec)
    if not new_space and (space_tcb is None or space_tcb.space.host):
        return k.fail(cur, Error.InvalidSpace, 0)
    dont_change = utcb_location == k.arch.word_mask
    if pager != NILTHREAD:
        if space_tcb is None or not space_tcb.space.initialised:
            return k.fail(cur, Error.InvalidSpace, 0)
        if dont_change or not space_tcb.space.utcb_location_ok(utcb_location, k.utcb_size):
            return k.fail(cur, Error.UtcbArea, 0)
    if pager != NILTHREAD and not k.back_utcb(space_tcb.space, utcb_location):
        return k.fail(cur, Error.NoMem, 0)            # no kernel memory for its UTCB page
    space = k.new_space() if space_tcb is None else space_tcb.space
    t = k.new_thread(dest, space, scheduler=scheduler)
    if not dont_change:
        t.utcb_addr = utcb_location
    if pager != NILTHREAD:
        activate(k, t, pager)
    return (1,)


def _modify(k: Kernel, cur: Tcb, t: Tcb, dest: int, space_spec: int, scheduler: int, pager: int,
            utcb_location: int) -> tuple[int, ...]:
    dont_change = utcb_location == k.arch.word_mask
    space_tcb = k.thread_by_global(space_spec)
    if space_tcb is None or space_tcb.space.host:
        return k.fail(cur, Error.InvalidSpace, 0)
    space = space_tcb.space
    # Validate everything first: the call succeeds or fails completely.
    if not dont_change and (t.activated or not space.utcb_location_ok(utcb_location, k.utcb_size)):
        return k.fail(cur, Error.UtcbArea, 0)
    loc = t.utcb_addr if dont_change else utcb_location
    if space is not t.space and t.activated and not space.utcb_location_ok(loc, k.utcb_size):
        return k.fail(cur, Error.UtcbArea, 0)
    if pager != NILTHREAD and not t.activated and not space.utcb_location_ok(loc, k.utcb_size):
        return k.fail(cur, Error.UtcbArea, 0)
    if scheduler != NILTHREAD and scheduler != dest and k.thread_by_global(scheduler) is None:
        return k.fail(cur, Error.InvalidScheduler, 0)
    needs_utcb = (t.activated and space is not t.space) or (pager != NILTHREAD and not t.activated)
    if needs_utcb and not k.back_utcb(space, loc):
        return k.fail(cur, Error.NoMem, 0)

    t.utcb_addr = loc
    if space is not t.space:
        k.move_thread(t, space)
        if t.activated and t.utcb is not None:
            k.write_utcb(t, 0, list(t.utcb.words))    # the UTCB moves with the thread
    if dest != t.global_id:
        k.renumber(t, dest)
    if scheduler != NILTHREAD:
        t.scheduler = scheduler
    if pager != NILTHREAD:
        if t.activated:
            k.write_utcb(t, Tcr.Pager, [pager])
        else:
            activate(k, t, pager)
    return (1,)


def activate(k: Kernel, t: Tcb, pager: int) -> None:
    """Give t its UTCB and let it wait for the start message from its pager."""
    k.init_utcb(t, pager)
    t.activated = True
    t.op = IpcOp(to=NILTHREAD, from_spec=pager, rcv_timeout_us=None, kind=IpcKind.STARTUP)
    t.state = State.WAITING
    t.partner = pager
    t.partner_tcb = None
    k.event("thread_activate", thread=t.global_id, pager=pager)
