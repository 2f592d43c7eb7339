"""``iguana eas``: external address spaces (Linux processes under Wombat)."""

from __future__ import annotations

from typing import Any

from l4gdb.inspect.iguana_common import pd_name, pick_pd, ref
from l4gdb.inspect.table import render


def _area(a: list[int]) -> str:
    return f"{a[0]:#x}/{a[1]}"


def eas(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    only = pick_pd(model, args)
    data = [e for e in model.get("eases", []) if only is None or e["pd"] == only]
    rows = [(ref(e["ref"]), pd_name(model, e["pd"]), e["space"], _area(e["kip_area"]),
             _area(e["utcb_area"]), e["mapped_pages"], " ".join(ref(t) for t in e["threads"]))
            for e in data]
    text = render(("EAS", "OWNER", "SPACE", "KIP AREA", "UTCB AREA", "PAGES", "THREADS"), rows) \
        if rows else "no external address spaces\n"
    return text, data
