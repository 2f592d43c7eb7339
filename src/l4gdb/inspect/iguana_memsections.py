"""``iguana memsections``: memsections, their backing and who may use them."""

from __future__ import annotations

from typing import Any

from l4gdb.inspect.iguana_common import pd_name, pick_pd, ref, rwx
from l4gdb.inspect.table import render


def memsections(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    only = pick_pd(model, args)
    data = [m for m in model["memsections"]
            if only is None or m["pd"] == only or any(a["pd"] == only for a in m["attached"])]
    rows = [(f"{m['base']:#x}-{m['base'] + m['size']:#x}", m["size"] // 4096,
             pd_name(model, m["pd"]), m.get("kind", "normal") + (" fixed" if m["fixed"] else ""),
             sum(1 for f in m["frames"] if f is not None), ref(m["server"]),
             " ".join(f"{pd_name(model, a['pd'])}:{rwx(a['rights'])}" for a in m["attached"])
             or "-")
            for m in data]
    text = render(("RANGE", "PAGES", "OWNER", "KIND", "BACKED", "SERVER", "ATTACHED"), rows)
    return text, data
