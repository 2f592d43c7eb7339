"""A message sequence chart (Mermaid) from a Chrome trace's IPC arrows.

Reads any trace in the Chrome trace-event format whose IPC messages are flow
events named ``ipc`` (``s`` on the sender's track, ``f`` on the receiver's),
as ``l4gdb run --trace`` writes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from l4gdb.errors import UsageError


def load_trace(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable JSON trace ({exc})") from exc
    events = data.get("traceEvents") if isinstance(data, dict) else data
    if not isinstance(events, list):
        raise UsageError(f"{path}: no traceEvents list (not a Chrome trace)")
    return {"traceEvents": events}


def _participant(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_") or "t"


# Kernel protocol labels (the tag's label field, X.2): top 12 bits -N << 4.
_KERNEL_LABELS = {0xFFF: "interrupt", 0xFFE: "page fault", 0xFFD: "preemption",
                  0xFFC: "exception", 0xFFB: "exception", 0xFFA: "sigma0 request"}


def describe(args: dict) -> str:
    """A message in words: protocol, label, word counts."""
    try:
        label = int(str(args.get("label", "")), 16)
    except ValueError:
        return "message"
    u, t = args.get("u", 0), args.get("t", 0)
    kind = _KERNEL_LABELS.get(label >> 4)
    if kind == "page fault":
        rwx = "".join(c for c, b in (("r", 4), ("w", 2), ("x", 1)) if label & b)
        return f"page fault ({rwx or '-'})"
    if kind:
        return kind
    items = f", {t // 2} map/grant/string items" if t else ""
    return f"label {label:#x}, {u} words{items}"


def to_mermaid(trace: dict, limit: int = 200) -> str:
    events = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    starts = {e["id"]: e for e in events if e.get("ph") == "s" and e.get("name") == "ipc"}
    labels = {e["args"]["flow"]: e["args"] for e in events
              if e.get("ph") == "X" and e.get("name") == "ipc" and "flow" in e.get("args", {})}
    arrows = []
    for e in sorted((e for e in events if e.get("ph") == "f" and e.get("name") == "ipc"),
                    key=lambda e: (e["ts"], e["id"])):
        s = starts.get(e["id"])
        if s is not None:
            args = labels.get(e["id"], {})
            arrows.append((s["tid"], e["tid"], args))
    used = sorted({t for a in arrows[:limit] for t in a[:2]})
    lines = ["sequenceDiagram"]
    for tid in used:
        name = names.get(tid, hex(tid))
        lines.append(f"    participant {_participant(name)} as {name}")
    for src, dst, args in arrows[:limit]:
        a, b = _participant(names.get(src, hex(src))), _participant(names.get(dst, hex(dst)))
        text = describe(args)
        lines.append(f"    {a}->>{b}: {text}")
    if len(arrows) > limit:
        lines.append(f"    Note over {_participant(names.get(used[0], 't'))}: "
                     f"{len(arrows) - limit} more messages")
    return "\n".join(lines) + "\n"


def add_parser(sub) -> None:
    trace = sub.add_parser("trace", help="render a --trace timeline as a message sequence chart")
    trace.add_argument("trace_file", metavar="TRACE.json", help="a trace written by run --trace")
    trace.add_argument("--mermaid", action="store_true", required=True,
                       help="print a Mermaid sequenceDiagram of the IPC messages")
    trace.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    trace.add_argument("--limit", type=int, default=200, help="at most this many messages")


def main(args) -> int:
    text = to_mermaid(load_trace(Path(args.trace_file)), limit=args.limit)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text, end="")
    return 0
