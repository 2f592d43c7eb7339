"""ExchangeRegisters: read and change another thread of the same space."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from . import ipc
from .thread import IpcKind, State, Tcb
from .types import NILTHREAD, Error, is_local_id
from .utcb import Tcr

if TYPE_CHECKING:
    from .kernel import Kernel


class Ctrl(enum.IntFlag):
    h = 1 << 0      # halt value (with H)
    r = 1 << 1      # cancel receive
    s = 1 << 2      # cancel send
    S = 1 << 3      # set sp
    I = 1 << 4      # set ip  # noqa: E741
    f = 1 << 5      # set flags
    u = 1 << 6      # set UserDefinedHandle
    p = 1 << 7      # set pager
    H = 1 << 8      # apply the halt bit
    d = 1 << 9      # deliver the current values (always done here)


def sys_exchange_registers(k: Kernel, cur: Tcb, dest: int, control: int, sp: int, ip: int,
                           flags: int, handle: int, pager: int) -> tuple[int, ...]:
    target = k.resolve(cur, dest)
    if (target is None or target.space is not cur.space or not target.activated
            or target.host is not None):
        return k.fail(cur, Error.InvalidThread, NILTHREAD, 0, 0, 0, 0, 0, 0)
    arch = k.arch
    ctrl = Ctrl(control & 0x3FF)
    regs = target.regs
    old = (regs.get(arch.sp_reg, 0), regs.get(arch.ip_reg, 0), regs.get(arch.flags_reg, 0),
           target.user_handle, target.pager)

    if ctrl & Ctrl.S:
        regs[arch.sp_reg] = sp & arch.word_mask
    if ctrl & Ctrl.I:
        regs[arch.ip_reg] = ip & arch.word_mask
    if ctrl & Ctrl.f:
        keep = old[2] & ~arch.flags_user_mask
        regs[arch.flags_reg] = (keep | (flags & arch.flags_user_mask)) & arch.word_mask
    if ctrl & Ctrl.p:
        k.write_utcb(target, Tcr.Pager, [pager])
    if ctrl & Ctrl.u:
        k.write_utcb(target, Tcr.UserDefinedHandle, [handle])

    old_ctrl = 0
    startup = target.op is not None and target.op.kind is IpcKind.STARTUP
    if target.state is State.POLLING:
        old_ctrl |= Ctrl.s
        if ctrl & Ctrl.s:
            ipc.cancel(k, target)
    elif target.state is State.WAITING:
        old_ctrl |= Ctrl.r
        if ctrl & Ctrl.r:
            ipc.cancel(k, target)      # a startup wait just ends: the thread runs at ip
    if target.halted:
        old_ctrl |= Ctrl.h
    if ctrl & Ctrl.H:
        target.halted = bool(ctrl & Ctrl.h)
        if target.runnable:
            k.wake(target)
    k.event("exregs", thread=target.global_id, control=int(ctrl), startup=startup)
    # The id comes back in the other form: L4_GlobalIdOf / L4_LocalIdOf.
    result = target.global_id if is_local_id(dest, k.bits) else target.utcb_addr
    return (result, old_ctrl, *old)
