"""``l4gdb run --trace``: a valid timeline with the IPC arrows of hello."""

from __future__ import annotations

import json

import pytest
from l4gdb_trace.validate import check_chrome_trace

pytestmark = pytest.mark.slow


def test_hello_trace_has_ping_pong_arrows(l4gdb, no_leftovers, tmp_path):
    out = tmp_path / "hello.json"
    r = l4gdb("run", "--no-gdb", "hello", "--trace", str(out), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    trace = json.loads(out.read_text())
    check_chrome_trace(trace)
    ev = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in ev if e.get("name") == "thread_name"}
    root = next(t for t, n in names.items() if n.endswith("(root)"))
    pong = next(t for t, n in names.items() if n.endswith("(pong)"))
    starts = {e["id"]: e["tid"] for e in ev if e["ph"] == "s"}
    arrows = [(starts[e["id"]], e["tid"]) for e in ev if e["ph"] == "f"]
    assert (root, pong) in arrows and (pong, root) in arrows
    assert sum(1 for a in arrows if a == (root, pong)) >= 5       # hello's five rounds
    running = {e["tid"] for e in ev if e["name"] == "running"}
    assert {root, pong} <= running

    mmd = tmp_path / "hello.mmd"
    r = l4gdb("trace", "--mermaid", str(out), "-o", str(mmd))
    assert r.code == 0, r.err
    text = mmd.read_text()
    assert text.startswith("sequenceDiagram") and "->>" in text and "(pong)" in text


def test_trace_of_a_missing_file_is_a_usage_error(l4gdb, tmp_path):
    r = l4gdb("trace", "--mermaid", str(tmp_path / "nope.json"))
    assert r.code == 2 and "nope.json" in r.err
