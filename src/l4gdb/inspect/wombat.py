"""The ``wombat`` command family: Linux processes as the Linux server sees them."""

from __future__ import annotations

from typing import Any

from l4gdb.inspect.l4 import CommandError
from l4gdb.inspect.table import render

NO_SERVER = "error: no Linux server in this system (start it with `l4gdb wombat`)\n"


def ps(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    """``wombat ps``: one row per Linux process (model: ``LinuxServer.snapshot()``)."""
    rows = [(p["pid"], p["ppid"], p["pgid"], p["state"],
             ",".join(f"{t:#x}" for t in p["threads"]) or "-",
             "-" if p.get("space") is None else p["space"], p.get("resident", 0),
             p["wchan"] or "-", p["cmd"])
            for p in model.get("processes", [])]
    return render(("PID", "PPID", "PGID", "S", "L4 THREAD", "SPACE", "PAGES", "WAITS IN",
                   "COMMAND"), rows), model.get("processes", [])


def _proc(model: dict[str, Any], args: list[str]) -> dict[str, Any]:
    if not args:
        raise CommandError("which process? (a pid)")
    try:
        pid = int(args[0])
    except ValueError:
        raise CommandError(f"not a pid: {args[0]!r}") from None
    for p in model.get("processes", []):
        if p["pid"] == pid:
            return p
    raise CommandError(f"no process {pid}")


def maps(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    """``wombat maps PID``: the process's memory areas (like /proc/PID/maps)."""
    p = _proc(model, args)
    rows = [(f"{v['start']:#010x}-{v['end']:#010x}", v["perms"], v["resident"], v["name"])
            for v in p.get("maps", [])]
    return render(("RANGE", "PERM", "RESIDENT", "NAME"), rows), p.get("maps", [])


def fds(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    """``wombat fds PID``: the process's open file descriptors."""
    p = _proc(model, args)
    rows = [(f["fd"], f["what"], "cloexec" if f.get("cloexec") else "")
            for f in p.get("fds", [])]
    return render(("FD", "OPEN FILE", "FLAGS"), rows), p.get("fds", [])


def shared(model: dict[str, Any], args: list[str]) -> tuple[str, Any]:
    """``wombat shared``: native programs' memsections shared with Linux processes."""
    rows = [(s["path"], f"{s['base']:#x}", f"{s['size']:#x}", s["rights"], s["owner"])
            for s in model.get("shared", [])]
    return render(("FILE", "MEMSECTION", "SIZE", "LINUX MAY", "SHARED BY"), rows), \
        model.get("shared", [])


COMMANDS = {
    "ps": (ps, "Linux processes: pid, parent, state, L4 thread, blocking call"),
    "maps": (maps, "PID: a Linux process's memory areas and resident pages"),
    "fds": (fds, "PID: a Linux process's open file descriptors"),
    "shared": (shared, "memsections native programs shared as /dev/iguana/NAME"),
}
