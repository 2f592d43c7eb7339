"""Sharing a memsection with another PD (OKL4 3.0's ``pd_attach`` / ``pd_detach``).

``pd_attach(pd, ms, rwx)`` lets pd's threads use ms with the L4 rights rwx
(4 read, 2 write, 1 execute); its pages are mapped with those rights when the
threads touch them (at once for the initial PD). An access beyond them is a
fault Iguana, their pager, refuses: the thread is stopped and the console
says why (``server._refuse``). The caller needs capabilities for both the PD
and the memsection; attaching again changes the rights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import Fail, IguanaError
from .server import IID_PD, METHODS, RWX, Memsection, Pd

if TYPE_CHECKING:
    from l4gdb.kernel.thread import Tcb

    from .server import IguanaServer


def attach(s: IguanaServer, pd: Pd, ms: Memsection, rwx: int) -> None:
    rwx &= RWX
    if not rwx or ms.owner is pd:
        raise Fail(IguanaError.EINVAL)        # no rights, or its own memsection
    if pd.host:
        raise Fail(IguanaError.EINVAL)        # a host server maps by itself
    old = pd.attached.get(ms)
    pd.attached[ms] = rwx
    if old is not None and old & ~rwx:
        s._unmap(ms, pd.space)                # rights taken away: fault again
    if pd.eager:
        s._map_now(ms, pd.space, rwx)


def detach(s: IguanaServer, pd: Pd, ms: Memsection) -> None:
    if ms not in pd.attached:
        raise Fail(IguanaError.ENOENT)
    del pd.attached[ms]
    s._unmap(ms, pd.space)


def _pd_attach(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int, ms_ref: int,
               rwx: int) -> tuple[int, ...]:
    attach(s, s._obj(caller, pd_ref, Pd), s._obj(caller, ms_ref, Memsection), rwx)
    return ()


def _pd_detach(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int,
               ms_ref: int) -> tuple[int, ...]:
    detach(s, s._obj(caller, pd_ref, Pd), s._obj(caller, ms_ref, Memsection))
    return ()


METHODS.update({
    (IID_PD, 12): _pd_attach,
    (IID_PD, 13): _pd_detach,
})
