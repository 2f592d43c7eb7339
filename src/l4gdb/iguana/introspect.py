"""The Iguana server's state as plain data: the model of the ``iguana`` commands
(``l4gdb.inspect.iguana*``) and of ``System.iguana.snapshot()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .eas import Eas
from .pools import Physmem
from .server import Clist, IgThread, Pd, Session

if TYPE_CHECKING:
    from .server import IguanaServer


def _pd(p: Pd) -> dict[str, Any]:
    return {"ref": p.ref, "name": p.name, "parent": p.parent.ref if p.parent else 0,
            "space": p.space.ident, "host": p.host,
            "clists": [c.ref for c in p.clists],
            "children": [c.ref for c in p.children],
            "memsections": [m.ref for m in p.memsections],
            "attached": [{"memsection": m.ref, "rights": r} for m, r in p.attached.items()],
            "threads": [t.ref for t in p.threads],
            "eases": [e.ref for e in p.eases]}


def snapshot(s: IguanaServer) -> dict[str, Any]:
    objs = list(s.objects.values())
    pds = [o for o in objs if isinstance(o, Pd)]
    return {
        "server": s.global_id,
        "initial_pd": s.initial.ref if s.initial else 0,
        "pds": [_pd(p) for p in pds],
        "memsections": [
            {"ref": m.ref, "base": m.base, "size": m.size, "pd": m.owner.ref,
             "server": m.server, "fixed": m.fixed, "kind": m.kind,
             "attached": [{"pd": p.ref, "rights": p.attached[m]} for p in pds
                          if m in p.attached],
             "frames": [[i, pa] for i, pa in m.frames.backed()]} for m in s.memsections],
        "threads": [{"ref": t.ref, "pd": t.pd.ref, "l4id": t.tcb.global_id,
                     "priority": t.priority, "started": t.started,
                     "state": t.tcb.state.value, "eas": t.eas.ref if t.eas else 0,
                     "fault": list(t.fault) if t.fault else None}
                    for t in objs if isinstance(t, IgThread)],
        "clists": [{"ref": c.ref, "pd": c.owner.ref if c.owner else 0,
                    "caps": [{"ref": r, "passwd": pw} for r, pw in c.caps]}
                   for c in objs if isinstance(c, Clist)],
        "sessions": [{"ref": x.ref, "pd": x.owner.ref,
                      "client": x.client.tcb.global_id if x.client else 0,
                      "server": x.server.tcb.global_id if x.server else 0,
                      "clist": x.clist.ref} for x in objs if isinstance(x, Session)],
        "eases": [{"ref": e.ref, "pd": e.owner.ref, "space": e.space.ident,
                   "kip_area": [e.space.kip_area.base, e.space.kip_area.size_log2],
                   "utcb_area": [e.space.utcb_area.base, e.space.utcb_area.size_log2],
                   "threads": [t.tcb.global_id for t in e.threads],
                   "mapped_pages": len(e.space.pages)}
                  for e in objs if isinstance(e, Eas)],
        "pools": {
            "physpool": s.physpool.describe() if s.physpool else None,
            "virtpool": s.virtpool.describe() if s.virtpool else None,
            "physmem": [{"ref": m.ref, "pd": m.owner.ref, "base": m.base, "size": m.size}
                        for m in objs if isinstance(m, Physmem)],
        },
        "hardware": s.hardware.describe(s.kernel) if s.hardware and s.kernel else None,
    }
