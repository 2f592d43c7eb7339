"""A read-only picture of the kernel for inspection (GDB commands, JSON, CLI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .thread import IpcKind, State, Tcb
from .types import MsgTag, is_any, is_anylocal
from .utcb import Tcr

if TYPE_CHECKING:
    from .kernel import Kernel


@dataclass(frozen=True)
class IpcRecord:
    time_us: int
    sender: int
    receiver: int
    tag: int

    @property
    def msg(self) -> MsgTag:
        return MsgTag.from_raw(self.tag)


@dataclass(frozen=True)
class ThreadView:
    id: int
    name: str
    space: int
    state: str
    priority: int
    timeslice_us: int
    timeslice_left_us: int
    total_quantum_us: int | None
    pager: int
    exception_handler: int
    scheduler: int
    utcb: int
    ip: int
    sp: int
    halted: bool
    deadline_us: int | None
    host: bool
    tcrs: dict[str, int] = field(default_factory=dict)   # the UTCB's thread control registers
    mrs: tuple[int, ...] = ()          # MR0 (the tag) and the message words it counts


@dataclass(frozen=True)
class SpaceView:
    ident: int
    privileged: bool
    kip_area: tuple[int, int]          # base, size log2
    utcb_area: tuple[int, int]
    redirector: int
    threads: tuple[int, ...]
    page_table: int = 0                 # page-table base (0: flat, no tables)
    mapped_pages: int = 0               # user pages in the mapping database


@dataclass(frozen=True)
class MapView:
    """One page mapping of the mapping database."""

    space: int
    vaddr: int
    paddr: int
    rights: int                        # rwx bits (4 r, 2 w, 1 x)
    accessed: int                      # rwx accesses recorded since the last status query
    parent: tuple[int, int] | None     # (space, vaddr) it derives from; None: sigma0's root
    derived: tuple[tuple[int, int], ...]   # (space, vaddr) of mappings derived from it


@dataclass(frozen=True)
class KernelSnapshot:
    now_us: int
    traps: int
    current: int | None
    threads: tuple[ThreadView, ...]
    ready: dict[int, tuple[int, ...]]   # priority -> thread ids, queue order
    spaces: tuple[SpaceView, ...]
    ipc_log: tuple[IpcRecord, ...]
    kip: dict[str, int]
    maps: dict[int, tuple[MapView, ...]] = field(default_factory=dict)   # space -> mappings
    send_queues: dict[int, tuple[int, ...]] = field(default_factory=dict)  # receiver -> senders

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _spec_text(k: Kernel, spec: int) -> str:
    if is_any(spec, k.bits):
        return "any"
    if is_anylocal(spec, k.bits):
        return "anylocal"
    t = k.thread_by_global(spec)
    return k.name_of(t) if t else f"{spec:#x}"


def state_text(k: Kernel, t: Tcb) -> str:
    if t.host is not None:
        return "host"
    if t.halted:
        return "halted"
    if t.state is State.POLLING:
        dest = t.partner_tcb
        return f"blocked sending to {k.name_of(dest) if dest else hex(t.partner)}"
    if t.state is State.WAITING:
        if t.op is not None and t.op.kind is IpcKind.STARTUP:
            return f"waiting for start from {_spec_text(k, t.partner)}"
        src = t.partner_tcb
        return f"receiving from {k.name_of(src) if src else _spec_text(k, t.partner)}"
    if t.state is State.RUNNING:
        return "running" if t is k.current else "ready"
    return t.state.value


def take_snapshot(k: Kernel) -> KernelSnapshot:
    arch = k.arch
    threads = tuple(
        ThreadView(id=t.global_id, name=k.name_of(t), space=t.space.ident,
                   state=state_text(k, t), priority=t.priority, timeslice_us=t.timeslice_us,
                   timeslice_left_us=t.timeslice_left_us, total_quantum_us=t.total_quantum_us,
                   pager=t.pager, exception_handler=t.exception_handler, scheduler=t.scheduler,
                   utcb=t.utcb_addr, ip=t.regs.get(arch.ip_reg, 0), sp=t.regs.get(arch.sp_reg, 0),
                   halted=t.halted, deadline_us=t.deadline_us, host=t.host is not None,
                   tcrs=_tcrs(t), mrs=_mrs(t))
        for _, t in sorted(k.threads.items()))
    spaces = tuple(
        SpaceView(ident=s.ident, privileged=s.privileged,
                  kip_area=(s.kip_area.base, s.kip_area.size_log2),
                  utcb_area=(s.utcb_area.base, s.utcb_area.size_log2),
                  redirector=s.redirector, threads=tuple(t.global_id for t in s.threads),
                  page_table=s.root, mapped_pages=len(s.pages))
        for s in k.spaces)
    info = k.kip_info
    kip = {"address": k.config.kip_addr, "api_version": info.api_version,
           "api_flags": info.api_flags, "kernel_id": info.kernel_id,
           "thread_info": info.thread_info, "utcb_area_info": info.utcb_area_info,
           "kip_area_info": info.kip_area_log2, "page_info": info.page_info,
           "clock_info": info.clock_info, "memory_descriptors": len(info.memory)}
    ready = {p: tuple(t.global_id for t in q) for p, q in k.sched.ready_view().items() if q}
    maps = {sp.ident: tuple(_map_view(n) for _, n in sorted(sp.pages.items()))
            for sp in k.spaces}
    queues: dict[int, list[Tcb]] = {}
    for t in k.threads.values():
        if t.state is State.POLLING and t.partner_tcb is not None:
            queues.setdefault(t.partner_tcb.global_id, []).append(t)
    send_queues = {r: tuple(t.global_id for t in sorted(q, key=lambda t: t.send_seq))
                   for r, q in queues.items()}
    return KernelSnapshot(now_us=k.now, traps=k.traps,
                          current=k.current.global_id if k.current else None,
                          threads=threads, ready=ready, spaces=spaces,
                          ipc_log=tuple(k.ipc_log), kip=kip, maps=maps,
                          send_queues=send_queues)


def _tcrs(t: Tcb) -> dict[str, int]:
    if t.utcb is None:
        return {}
    return {tcr.name: t.utcb.words[tcr] for tcr in Tcr}


def _mrs(t: Tcb) -> tuple[int, ...]:
    if t.utcb is None:
        return ()
    tag = MsgTag.from_raw(t.utcb.words[0])
    return tuple(t.utcb.words[: 1 + min(tag.u + tag.t, 63)])


def _map_view(n) -> MapView:
    parent = (n.parent.space.ident, n.parent.vaddr) if n.parent is not None else None
    return MapView(space=n.space.ident, vaddr=n.vaddr, paddr=n.paddr, rights=n.rights,
                   accessed=n.access, parent=parent,
                   derived=tuple((c.space.ident, c.vaddr) for c in n.children))
