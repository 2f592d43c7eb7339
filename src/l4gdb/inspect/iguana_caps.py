"""``iguana caps``: clists and their capabilities (reference, password)."""

from __future__ import annotations

from typing import Any

from l4gdb.inspect.iguana_common import pd_name, pick_pd, ref
from l4gdb.inspect.table import render


def _kind(model: dict[str, Any], r: int) -> str:
    for key, kind in (("pds", "pd"), ("memsections", "memsection"), ("threads", "thread"),
                      ("clists", "clist"), ("sessions", "session"), ("eases", "eas")):
        if any(o["ref"] == r for o in model.get(key, [])):
            return kind
    pools = model.get("pools") or {}
    for kind in ("physpool", "virtpool"):
        if (pools.get(kind) or {}).get("ref") == r:
            return kind
    if any(m["ref"] == r for m in pools.get("physmem", [])):
        return "physmem"
    if (model.get("hardware") or {}).get("ref") == r:
        return "hardware"
    return "?"


def caps(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    only = pick_pd(model, args)
    data = [c for c in model["clists"] if only is None or c["pd"] == only]
    rows = [(ref(c["ref"]), pd_name(model, c["pd"]), ref(cap["ref"]), _kind(model, cap["ref"]),
             f"{cap['passwd']:#x}") for c in data for cap in c["caps"]]
    rows += [(ref(c["ref"]), pd_name(model, c["pd"]), "(empty)", "", "")
             for c in data if not c["caps"]]
    text = render(("CLIST", "PD", "OBJECT", "KIND", "PASSWORD"), rows)
    return text, data
