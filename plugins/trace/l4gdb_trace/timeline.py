"""Kernel events -> Chrome trace events.

One track (tid) per L4 thread, named after it; a ``running`` slice from the
moment the scheduler switches to a thread to the moment it switches away;
an ``ipc`` slice on the sender's and the receiver's track joined by a flow
arrow (``s`` on the sender, ``f`` on the receiver) for every message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PID = 1
IPC_SLICE_US = 1          # wide enough for Perfetto to bind the arrow to a slice


@dataclass
class Timeline:
    names: dict[int, str] = field(default_factory=dict)     # global id -> name
    events: list[dict[str, Any]] = field(default_factory=list)
    running: int | None = None
    since_us: int = 0
    _flow: int = 0
    _last_us: int = 0

    def _tid(self, gid: int) -> int:
        return gid

    def _name(self, gid: int, name: str | None = None) -> None:
        if gid not in self.names:
            self.names[gid] = name or f"{gid:#x}"

    def _slice(self, gid: int, name: str, start: int, dur: int, args=None) -> None:
        self.events.append({"name": name, "cat": "l4", "ph": "X", "ts": start,
                            "dur": max(dur, 1), "pid": PID, "tid": self._tid(gid),
                            "args": args or {}})

    def switch(self, now: int, nxt: int | None) -> None:
        if self.running is not None:
            self._slice(self.running, "running", self.since_us, now - self.since_us)
        self.running, self.since_us = nxt, now
        if nxt is not None:
            self._name(nxt)

    def ipc(self, now: int, sender: int, receiver: int, tag: int) -> None:
        self._name(sender)
        self._name(receiver)
        self._flow += 1
        label = tag >> 16
        args = {"from": self.names[sender], "to": self.names[receiver], "label": hex(label),
                "u": tag & 0x3F, "t": (tag >> 6) & 0x3F, "flow": self._flow}
        for gid, ph in ((sender, "s"), (receiver, "f")):
            self._slice(gid, "ipc", now, IPC_SLICE_US, args)
            ev = {"name": "ipc", "cat": "ipc", "ph": ph, "id": self._flow, "ts": now,
                  "pid": PID, "tid": self._tid(gid)}
            if ph == "f":
                ev["bp"] = "e"
            self.events.append(ev)

    def record(self, name: str, data: dict[str, Any], now: int) -> None:
        self._last_us = max(self._last_us, now)
        if name == "schedule" and data.get("reason") == "switch":
            self.switch(now, data.get("next"))
        elif name == "ipc":
            self.ipc(now, data["sender"], data["receiver"], data["tag"])
        elif name in ("thread_halt", "exception", "interrupt"):
            gid = data.get("thread")
            if gid is not None:
                self._name(gid)
                self.events.append({"name": name, "cat": "l4", "ph": "i", "s": "t", "ts": now,
                                    "pid": PID, "tid": self._tid(gid),
                                    "args": {k: str(v) for k, v in data.items()}})

    def finish(self, title: str) -> dict[str, Any]:
        self.switch(self._last_us, None)
        meta = [{"name": "process_name", "ph": "M", "pid": PID, "tid": 0,
                 "args": {"name": title}}]
        meta += [{"name": "thread_name", "ph": "M", "pid": PID, "tid": self._tid(gid),
                  "args": {"name": name}} for gid, name in sorted(self.names.items())]
        return {"traceEvents": meta + self.events, "displayTimeUnit": "ms"}


def write(path: Path, trace: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(trace, indent=1) + "\n")
