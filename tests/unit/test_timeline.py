"""The timeline plugin's Chrome trace, checked against the trace-event format."""

from __future__ import annotations

from l4gdb_trace.timeline import Timeline
from l4gdb_trace.validate import check_chrome_trace

from l4gdb.commands.trace import to_mermaid


def sample() -> dict:
    t = Timeline(names={1: "root", 2: "pong"})
    t.switch(0, 1)
    t.record("ipc", {"sender": 1, "receiver": 2, "tag": 0x10001}, 10)
    t.record("schedule", {"reason": "switch", "prev": 1, "next": 2}, 12)
    t.record("ipc", {"sender": 2, "receiver": 1, "tag": 0x20001}, 20)
    t.record("schedule", {"reason": "switch", "prev": 2, "next": 1}, 21)
    t.record("thread_halt", {"thread": 2, "reason": "x"}, 25)
    return t.finish("test")


def test_trace_is_valid_and_has_tracks_slices_and_arrows():
    trace = sample()
    check_chrome_trace(trace)
    ev = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in ev if e["name"] == "thread_name"}
    assert names == {1: "root", 2: "pong"}
    running = [(e["tid"], e["ts"], e["dur"]) for e in ev if e["name"] == "running"]
    assert running == [(1, 0, 12), (2, 12, 9), (1, 21, 4)]
    arrows = [(e["tid"], e["ph"], e["id"]) for e in ev if e["ph"] in "sf"]
    assert arrows == [(1, "s", 1), (2, "f", 1), (2, "s", 2), (1, "f", 2)]


def test_mermaid_sequence():
    text = to_mermaid(sample())
    assert text.splitlines() == [
        "sequenceDiagram",
        "    participant root as root",
        "    participant pong as pong",
        "    root->>pong: label 0x1, 1 words",
        "    pong->>root: label 0x2, 1 words",
    ]


def test_validator_catches_a_broken_trace():
    import pytest
    from l4gdb_trace.validate import TraceFormatError

    trace = sample()
    trace["traceEvents"].append({"name": "ipc", "ph": "s", "id": 99, "ts": 1, "pid": 1, "tid": 1})
    with pytest.raises(TraceFormatError, match="flow 99"):
        check_chrome_trace(trace)
