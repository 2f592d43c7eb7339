"""External address spaces (OKL4 3.0's ``eas_*``): an L4 space a PD manages
itself, with threads whose pager and exception handler it chooses (Linux
processes under Wombat). Iguana is not their pager; what is mapped there is
what the owner maps (``eas_map``, or a host server's own mappings).

Two ways in, one implementation:

* the IPC methods (``pd_create_eas`` = PD 4, ``eas_create_thread`` = EAS 0,
  ``eas_delete`` = 1, ``eas_map`` = 2, ``eas_unmap`` = 3) for guest programs;
* the Python API for host servers in the same process (Wombat):
  ``IguanaServer.create_eas(pd, kip_area, utcb_area) -> Eas``,
  ``Eas.create_thread(pager, exception_handler, priority) -> Tcb``,
  ``Eas.start_thread``, ``Eas.delete_thread``, ``Eas.map_frame``, ``Eas.unmap``,
  ``Eas.delete()``. They raise ``errors.Fail`` (its ``err``) on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from l4gdb.kernel.types import NILTHREAD, Fpage
from l4gdb.kernel.utcb import Tcr

from .errors import Fail, IguanaError
from .server import IID_EAS, IID_PD, METHODS, PAGE, PAGE_LOG2, RWX, IgThread, Pd

if TYPE_CHECKING:
    from l4gdb.kernel.space import Space
    from l4gdb.kernel.thread import Tcb

    from .server import IguanaServer

DEFAULT_PRIORITY = 100


@dataclass(eq=False)
class Eas:
    ref: int
    passwd: int
    server: IguanaServer
    owner: Pd
    space: Space
    threads: list[IgThread] = field(default_factory=list)
    deleted: bool = False

    def _live(self) -> None:
        if self.deleted:
            raise Fail(IguanaError.ENOENT)

    def create_thread(self, pager: int, exception_handler: int = NILTHREAD,
                      priority: int = DEFAULT_PRIORITY, utcb: int | None = None,
                      scheduler: int | None = None) -> Tcb:
        """An L4 thread in this space (UTCB in its UTCB area, the next free slot
        unless given), not started: ``start_thread`` sets its ip and sp."""
        self._live()
        s = self.server
        k = s.kernel
        assert k is not None
        if k.thread_by_global(pager) is None:
            raise Fail(IguanaError.EINVAL)
        t = s.new_l4_thread(self.space, pager, priority, utcb, scheduler)
        if exception_handler:
            k.write_utcb(t, Tcr.ExceptionHandler, [exception_handler])
        th = s._add_thread_obj(self.owner, t, t.priority)
        th.eas = self
        self.threads.append(th)
        k.event("iguana_eas_thread", eas=self.ref, thread=t.global_id)
        return t

    def _thread(self, tcb: Tcb) -> IgThread:
        for th in self.threads:
            if th.tcb is tcb:
                return th
        raise Fail(IguanaError.ENOENT)

    def start_thread(self, tcb: Tcb, ip: int, sp: int) -> None:
        self.server.start_thread(self._thread(tcb), ip, sp)

    def delete_thread(self, tcb: Tcb) -> None:
        self.server.delete_thread(self._thread(tcb))

    def map_frame(self, vaddr: int, paddr: int, rights: int = RWX) -> bool:
        """Map one frame (RAM the caller owns through Iguana, or device memory)."""
        self._live()
        self._check_dest(vaddr, PAGE)
        return self.server._map_into(self.space, vaddr, paddr, rights & RWX) == 1

    def unmap(self, vaddr: int, size: int = PAGE) -> int:
        """Remove what is mapped in [vaddr, vaddr + size); returns the pages removed."""
        self._live()
        k = self.server.kernel
        assert k is not None
        gone = 0
        for va in [v for v in self.space.pages if vaddr <= v < vaddr + size]:
            node = self.space.pages.get(va)
            if node is not None:
                k.mdb.remove_subtree(node)
                gone += 1
        return gone

    def _check_dest(self, vaddr: int, size: int) -> None:
        k = self.server.kernel
        assert k is not None
        # The KIP and UTCB areas by overlap: size is the guest's, no walk over it.
        reserved = any(not a.is_nil and a.base < vaddr + size and vaddr < a.base + a.size
                       for a in (self.space.kip_area, self.space.utcb_area))
        if vaddr & (PAGE - 1) or vaddr + size > 1 << k.bits or k.mdb.in_kernel_area(vaddr, size) \
                or reserved:
            raise Fail(IguanaError.EINVAL)

    def delete(self) -> None:
        """Its threads, its mappings and its L4 space go."""
        if self.deleted:
            return
        s = self.server
        k = s.kernel
        assert k is not None
        for th in list(self.threads):
            s.delete_thread(th)
        space = self.space
        k.mdb.delete_space(space)
        if space in k.spaces and not space.threads:
            k.spaces.remove(space)
            if k.paging is not None and space.root:
                k.paging.free_root(space.root)
                space.root = 0
        if self in self.owner.eases:
            self.owner.eases.remove(self)
        self.deleted = True
        s._forget(self)
        k.event("iguana_eas_delete", eas=self.ref)


def create_eas(s: IguanaServer, owner: Pd, kip_area: Fpage, utcb_area: Fpage) -> Eas:
    """SpaceControl's checks on the two areas, then a new space with them."""
    k = s.kernel
    assert k is not None
    if owner.deleted:
        raise Fail(IguanaError.ENOENT)
    if (utcb_area.is_nil or utcb_area.size < (1 << k.kip_info.utcb_min_area_log2)
            or utcb_area.size < k.utcb_size or k.mdb.in_kernel_area(utcb_area.base, utcb_area.size)
            or kip_area.size_log2 != k.config.kip_area_log2 or kip_area.overlaps(utcb_area)
            or k.mdb.in_kernel_area(kip_area.base, kip_area.size)):
        raise Fail(IguanaError.EINVAL)
    space = k.new_space()
    space.kip_area, space.utcb_area = kip_area, utcb_area
    if not k.setup_space(space):
        k.spaces.remove(space)
        raise Fail(IguanaError.ENOMEM)
    eas = Eas(s._ref(), s._passwd(), s, owner, space)
    s.objects[eas.ref] = eas
    owner.eases.append(eas)
    s._grant(owner, eas)
    k.event("iguana_eas", eas=eas.ref, pd=owner.ref, space=space.ident)
    return eas


# --- IPC ---------------------------------------------------------------------------------

def _pd_create_eas(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int, utcb: int,
                   kip: int) -> tuple[int, ...]:
    assert s.initial is not None
    pd = s._obj(caller, pd_ref, Pd)
    kip_area = Fpage.from_raw(kip) if kip else s.initial.space.kip_area
    eas = create_eas(s, pd, kip_area, Fpage.from_raw(utcb))
    if pd is not caller:
        s._grant(caller, eas)
    return eas.ref, eas.space.ident


def _eas_create_thread(s: IguanaServer, caller: Pd, t: Tcb, ref: int, pager: int,
                       scheduler: int, utcb: int) -> tuple[int, ...]:
    eas = s._obj(caller, ref, Eas)
    pager = pager or t.global_id                        # nil: the caller (OKL4's L4_myself)
    tcb = eas.create_thread(pager, pager, DEFAULT_PRIORITY, utcb or None,
                            scheduler or t.global_id)
    th = eas._thread(tcb)
    s._grant(caller, th)
    return th.ref, tcb.global_id, tcb.global_id


def _eas_delete(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    s._obj(caller, ref, Eas).delete()
    return ()


def _eas_map(s: IguanaServer, caller: Pd, t: Tcb, ref: int, src: int, dst: int,
             attributes: int) -> tuple[int, ...]:
    """Pages of the caller's memsection at src (an fpage) into the EAS at dst."""
    eas = s._obj(caller, ref, Eas)
    fp = Fpage.from_raw(src)
    if fp.is_nil or fp.size_log2 < PAGE_LOG2:
        raise Fail(IguanaError.EINVAL)
    ms = s.memsection_at(fp.base)
    if ms is None or ms.base + ms.size < fp.base + fp.size:
        raise Fail(IguanaError.ENOENT)
    rights = fp.rights & s.rights_of(caller, ms)
    if not rights:
        raise Fail(IguanaError.EPERM)
    eas._check_dest(dst, fp.size)
    first = (fp.base - ms.base) >> PAGE_LOG2
    for i, pa in ms.frames.backed(first, first + (fp.size >> PAGE_LOG2)):
        # unbacked pages are skipped (OKL4)
        s._map_into(eas.space, dst + (i - first) * PAGE, pa, rights)
    return ()


def _eas_unmap(s: IguanaServer, caller: Pd, t: Tcb, ref: int, dst: int) -> tuple[int, ...]:
    eas = s._obj(caller, ref, Eas)
    fp = Fpage.from_raw(dst)
    if fp.is_nil:
        raise Fail(IguanaError.EINVAL)
    eas.unmap(fp.base, fp.size)
    return ()


METHODS.update({
    (IID_PD, 4): _pd_create_eas,
    (IID_EAS, 0): _eas_create_thread,
    (IID_EAS, 1): _eas_delete,
    (IID_EAS, 2): _eas_map,
    (IID_EAS, 3): _eas_unmap,
})


