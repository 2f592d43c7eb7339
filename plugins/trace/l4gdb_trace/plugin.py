"""The hooks: record while a run asked for ``trace`` (``l4gdb run --trace FILE``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from l4gdb.hookspecs import hookimpl
from l4gdb_trace.timeline import Timeline, write


class _Recording:
    def __init__(self, system: Any, path: Path) -> None:
        self.system = system
        self.path = path
        self.timeline = Timeline()
        for view in system.kernel.snapshot().threads:
            self.timeline.names[view.id] = view.name


_recording: _Recording | None = None


@hookimpl
def l4gdb_wants_kernel_events(options: dict[str, Any]) -> bool:
    return bool(options.get("trace"))


@hookimpl
def l4gdb_session_start(system: Any, options: dict[str, Any]) -> None:
    global _recording
    path = options.get("trace")
    _recording = _Recording(system, Path(path)) if path else None
    if _recording is not None:
        cur = system.kernel.current
        _recording.timeline.switch(system.kernel.now, cur.global_id if cur else None)


@hookimpl
def l4gdb_kernel_event(name: str, data: dict[str, Any]) -> None:
    rec = _recording
    if rec is None:
        return
    kernel = rec.system.kernel
    for key in ("thread", "sender", "receiver", "next"):
        gid = data.get(key)
        t = kernel.thread_by_global(gid) if isinstance(gid, int) else None
        if t is not None:          # names change (a thread is named when it starts)
            rec.timeline.names[gid] = kernel.name_of(t)
    rec.timeline.record(name, data, data.get("time_us", 0))


@hookimpl
def l4gdb_session_end(system: Any, status: int | None) -> None:
    global _recording
    rec, _recording = _recording, None
    if rec is None or rec.system is not system:
        return
    write(rec.path, rec.timeline.finish(f"l4gdb {system.arch} {Path(system.program).stem}"))
