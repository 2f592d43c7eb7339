"""``iguana sessions``: client/server sessions and their clists."""

from __future__ import annotations

from typing import Any

from l4gdb.inspect.iguana_common import pd_name, ref
from l4gdb.inspect.table import render


def sessions(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    data = model["sessions"]
    rows = [(ref(s["ref"]), pd_name(model, s["pd"]), ref(s["client"]), ref(s["server"]),
             ref(s["clist"])) for s in data]
    text = render(("SESSION", "OWNER", "CLIENT", "SERVER", "CLIST"), rows) if rows \
        else "no sessions\n"
    return text, data
