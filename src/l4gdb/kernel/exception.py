"""Exceptions and page faults of user threads.

A page fault is an IPC to the thread's pager (X.2 page-fault protocol); the
pager's reply maps (map/grant items, receive window = the whole address
space) and the thread retries the access. Other exceptions are an IPC to
the thread's exception handler. Without a pager / handler the thread is
halted and the console says why.

Messages (generic layout, tag first):
* exception (label ``-5 << 4``): MR1 ip, MR2 sp, MR3 flags, MR4 exception
  number, MR5 detail (first ``Trap.detail`` value), MR6.. the other
  registers in ``ArchInfo.reg_names`` order;
* page fault (label ``-2 << 4 | rwx``, u = 2): MR1 fault address, MR2 ip.

A reply with u >= 3 sets ip, sp, flags (user-changeable bits) and, as far as
it reaches, the other registers; the thread then resumes at its ip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ipc
from .abi import Trap, TrapKind
from .thread import IpcKind, IpcOp, State, Tcb
from .types import NEVER, NILTHREAD, KernelLabel, MsgTag, Timeout, kernel_label
from .utcb import NUM_MRS

if TYPE_CHECKING:
    from .kernel import Kernel


def _other_regs(k: Kernel) -> list[str]:
    arch = k.arch
    skip = {arch.ip_reg, arch.sp_reg, arch.flags_reg}
    return [r for r in arch.reg_names if r not in skip]


def build_message(k: Kernel, t: Tcb, trap: Trap) -> list[int]:
    arch, bits = k.arch, k.bits
    regs = t.regs
    if trap.kind is TrapKind.PAGEFAULT:
        label = kernel_label(KernelLabel.PAGEFAULT, bits) | (trap.fault_access & 7)
        return [MsgTag(u=2, label=label).raw(bits), trap.fault_addr & arch.word_mask,
                regs.get(arch.ip_reg, 0)]
    detail = next(iter(trap.detail.values()), 0) if trap.detail else 0
    body = [regs.get(arch.ip_reg, 0), regs.get(arch.sp_reg, 0), regs.get(arch.flags_reg, 0),
            trap.number & arch.word_mask, detail & arch.word_mask]
    body += [regs.get(r, 0) for r in _other_regs(k)]
    body = body[:NUM_MRS - 1]
    label = kernel_label(KernelLabel.ARCH_EXCEPTION, bits)
    return [MsgTag(u=len(body), label=label).raw(bits), *body]


def raise_exception(k: Kernel, t: Tcb, trap: Trap) -> None:
    what = "page fault" if trap.kind is TrapKind.PAGEFAULT else f"exception {trap.number}"
    handler = t.exception_handler
    h = k.resolve(t, handler) if handler != NILTHREAD else None
    if h is None:
        ip = t.regs.get(k.arch.ip_reg, 0)
        extra = f" addr={trap.fault_addr:#x}" if trap.kind is TrapKind.PAGEFAULT else ""
        k.halt(t, f"unhandled {what} at ip={ip:#x}{extra}")
        return
    if k.events is not None:
        k.event("exception", thread=t.global_id, kind=trap.kind.value, handler=handler)
    fast = getattr(h.host, "handle_exception", None) if h.host is not None else None
    if fast is not None:
        _to_host_server(k, t, h, trap, fast)
        return
    never = Timeout(NEVER)
    ipc.start_ipc(k, t, handler, handler, never, never, kind=IpcKind.EXCEPTION,
                  kmsg=build_message(k, t, trap))


def _to_host_server(k: Kernel, t: Tcb, h: Tcb, trap: Trap, fast) -> None:
    """Exception IPC to a host server that works on the registers themselves.

    The same protocol as the message path (the thread blocks in an exception
    IPC with its handler until the reply sets its registers), minus encoding the
    registers into MRs and back: the server reads and changes ``t.regs`` and
    answers True (reply now) or False (reply later with ``Kernel.host_reply``).
    """
    # The common case (the reply comes at once) leaves the thread where it is:
    # it blocks only when the server keeps the reply for later.
    t.op = IpcOp(h.global_id, h.global_id, None, IpcKind.EXCEPTION)
    if fast(k, t, trap):
        if t.state is not State.DEAD:
            t.op = None
        return
    if t.state is State.DEAD or t.op is None:
        return
    deadline = t.deadline_us                  # the server's timeout for the blocked call
    ipc.block(k, t, State.WAITING, h.global_id, h, None)
    t.deadline_us = deadline


def host_reply(k: Kernel, server: Tcb, t: Tcb) -> bool:
    """A host server's deferred exception reply: t runs on with ``t.regs``."""
    op = t.op
    if op is None or op.kind is not IpcKind.EXCEPTION or t.partner_tcb is not server \
            or t.state is not State.WAITING:
        return False
    ipc.finish(k, t, from_id=None)
    return True


def page_fault(k: Kernel, t: Tcb, trap: Trap) -> None:
    pager = t.pager
    if pager == NILTHREAD or k.resolve(t, pager) is None:
        ip = t.regs.get(k.arch.ip_reg, 0)
        k.halt(t, f"unhandled page fault at ip={ip:#x} addr={trap.fault_addr:#x}")
        return
    k.event("pagefault", thread=t.global_id, addr=trap.fault_addr, access=trap.fault_access,
            pager=pager)
    never = Timeout(NEVER)
    ipc.start_ipc(k, t, pager, pager, never, never, kind=IpcKind.PAGEFAULT,
                  kmsg=build_message(k, t, trap), fault_access=trap.fault_access & 7)


def apply_reply(k: Kernel, t: Tcb, words: list[int]) -> None:
    arch = k.arch
    tag = MsgTag.from_raw(words[0])
    mrs = words[1:1 + tag.u]
    if len(mrs) < 3:
        return
    t.regs[arch.ip_reg] = mrs[0] & arch.word_mask
    t.regs[arch.sp_reg] = mrs[1] & arch.word_mask
    old = t.regs.get(arch.flags_reg, 0)
    t.regs[arch.flags_reg] = (old & ~arch.flags_user_mask) | (mrs[2] & arch.flags_user_mask)
    for reg, value in zip(_other_regs(k), mrs[5:], strict=False):
        t.regs[reg] = value & arch.word_mask
