"""Address spaces and SpaceControl.

A space holds its user mappings (the nodes of the mapping database, by
virtual page), its page-table root when the architecture has page tables
(``root`` 0: flat, no tables), and the frames behind its UTCB area, which the
kernel owns and maps itself (they are not in the mapping database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .types import Error, Fpage

if TYPE_CHECKING:
    from .kernel import Kernel
    from .mapping import Node
    from .thread import Tcb


@dataclass(eq=False)
class Space:
    ident: int                               # small number, for display only
    kip_area: Fpage = Fpage(0, 0)
    utcb_area: Fpage = Fpage(0, 0)
    redirector: int = 0
    control: int = 0
    privileged: bool = False
    host: bool = False                       # holds host-side threads only
    threads: list[Tcb] = field(default_factory=list)
    physical: bool = False                   # sigma0: all RAM, idempotent (mapping roots)
    root: int = 0                            # page-table base (0: none)
    pages: dict[int, Node] = field(default_factory=dict)      # vpage -> mapping node
    utcb_frames: dict[int, int] = field(default_factory=dict)  # UTCB vpage -> frame

    def reserved(self, vaddr: int) -> bool:
        """KIP and UTCB area: the kernel maps these, a map item cannot."""
        return (self.kip_area.contains(vaddr, vaddr + 1)
                or self.utcb_area.contains(vaddr, vaddr + 1))

    @property
    def initialised(self) -> bool:
        return not self.utcb_area.is_nil

    def utcb_location_ok(self, loc: int, utcb_size: int) -> bool:
        """Aligned to the UTCB size and inside the UTCB area."""
        return (self.initialised and loc % utcb_size == 0
                and self.utcb_area.contains(loc, loc + utcb_size))

    def thread_by_utcb(self, utcb: int) -> Tcb | None:
        for t in self.threads:
            if t.utcb_addr == utcb and t.activated:
                return t
        return None


def sys_space_control(k: Kernel, cur: Tcb, space_spec: int, control: int, kip_area: int,
                      utcb_area: int, redirector: int) -> tuple[int, ...]:
    """SpaceControl: set up the KIP area, UTCB area and redirector of a space."""
    if not cur.space.privileged:
        return k.fail(cur, Error.NoPrivilege, 0, 0)
    target = k.thread_by_global(space_spec)
    if target is None or target.space.host:
        return k.fail(cur, Error.InvalidSpace, 0, 0)
    space = target.space
    old_control = space.control
    if not space.initialised:
        utcb = Fpage.from_raw(utcb_area)
        kip = Fpage.from_raw(kip_area)
        if utcb.size < (1 << k.kip_info.utcb_min_area_log2) or utcb.size < k.utcb_size:
            return k.fail(cur, Error.UtcbArea, 0, 0)
        if k.mdb.in_kernel_area(utcb.base, utcb.size):
            return k.fail(cur, Error.UtcbArea, 0, 0)
        if (kip.size_log2 != k.config.kip_area_log2 or kip.overlaps(utcb)
                or k.mdb.in_kernel_area(kip.base, kip.size)):
            return k.fail(cur, Error.KipArea, 0, 0)
        if any(utcb.contains(va, va + 1) or kip.contains(va, va + 1) for va in space.pages):
            # Pistachio refuses areas over existing mappings as well.
            return k.fail(cur, Error.UtcbArea if any(utcb.contains(va, va + 1)
                                                     for va in space.pages) else Error.KipArea,
                          0, 0)
        space.utcb_area, space.kip_area = utcb, kip
        if not k.setup_space(space):
            space.utcb_area = space.kip_area = Fpage(0, 0)
            return k.fail(cur, Error.NoMem, 0, 0)
    space.redirector = redirector
    space.control = control
    k.event("space_control", space=space.ident)
    return 1, old_control
