"""A strict check of the parts of the Chrome trace-event format a timeline uses, so
a test knows a trace will open in Perfetto without tools that need a network."""

from __future__ import annotations

from typing import Any

PHASES = {"X", "M", "s", "f", "i", "B", "E"}


class TraceFormatError(ValueError):
    pass


def _need(ok: bool, what: str, event: Any = None) -> None:
    if not ok:
        raise TraceFormatError(what if event is None else f"{what}: {event}")


def check_chrome_trace(trace: dict) -> None:
    """Raise TraceFormatError where ``trace`` breaks the format."""
    _need(isinstance(trace, dict) and isinstance(trace.get("traceEvents"), list),
          "no traceEvents list")
    flows: dict[int, list[str]] = {}
    for e in trace["traceEvents"]:
        _need(e.get("ph") in PHASES, "unknown phase", e)
        _need(isinstance(e.get("name"), str), "name must be a string", e)
        _need(isinstance(e.get("pid"), int) and isinstance(e.get("tid"), int),
              "pid and tid must be integers", e)
        if e["ph"] == "M":
            _need(e["name"] in ("process_name", "thread_name") and "name" in e.get("args", {}),
                  "metadata needs args.name", e)
            continue
        _need(isinstance(e.get("ts"), (int, float)) and e["ts"] >= 0, "bad ts", e)
        if e["ph"] == "X":
            _need(isinstance(e.get("dur"), (int, float)) and e["dur"] > 0, "X needs dur > 0", e)
        if e["ph"] in ("s", "f"):
            _need("id" in e, "flow event needs an id", e)
            flows.setdefault(e["id"], []).append(e["ph"])
            if e["ph"] == "f":
                _need(e.get("bp") == "e", "flow end should bind to the enclosing slice", e)
    for fid, phases in flows.items():
        _need(sorted(phases) == ["f", "s"], f"flow {fid} is not one start and one end")
