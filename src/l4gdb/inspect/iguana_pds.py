"""``iguana pds``: the protection domains."""

from __future__ import annotations

from typing import Any

from l4gdb.inspect.iguana_common import pd_name, pick_pd, ref
from l4gdb.inspect.table import render


def pds(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    only = pick_pd(model, args)
    rows_data = [p for p in model["pds"] if only is None or p["ref"] == only]
    rows = [(pd_name(model, p["ref"]), ref(p["parent"]), p["space"],
             "host" if p.get("host") else "initial" if p["ref"] == model["initial_pd"] else "",
             len(p["threads"]), len(p["memsections"]), len(p.get("attached", [])),
             len(p.get("eases", [])), len(p["clists"]), " ".join(ref(c) for c in p["children"]))
            for p in rows_data]
    text = render(("PD", "PARENT", "SPACE", "KIND", "THREADS", "MEMSECTIONS", "ATTACHED",
                   "EAS", "CLISTS", "CHILDREN"), rows)
    return text, rows_data
