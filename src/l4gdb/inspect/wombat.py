"""The ``wombat`` command family: Linux processes as the Linux server sees them."""

from __future__ import annotations

from typing import Any

from l4gdb.inspect.table import render


def ps(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    """``wombat ps``: one row per Linux process (model: ``LinuxServer.snapshot()``)."""
    rows = [(p["pid"], p["ppid"], p["pgid"], p["state"],
             ",".join(f"{t:#x}" for t in p["threads"]) or "-", p["wchan"] or "-", p["cmd"])
            for p in model.get("processes", [])]
    return render(("PID", "PPID", "PGID", "S", "L4 THREAD", "WAITS IN", "COMMAND"), rows), \
        model.get("processes", [])


COMMANDS = {"ps": (ps, "Linux processes: pid, parent, state, L4 thread, blocking call")}
