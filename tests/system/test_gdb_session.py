"""``l4gdb gdb --batch``: the person's GDB on a running system."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.slow


def test_break_in_a_thread_and_inspect_the_system(l4gdb, no_leftovers):
    r = l4gdb("gdb", "--batch", "hello",
              "-ex", "break pong", "-ex", "continue",
              "-ex", "info threads", "-ex", "l4 threads", "-ex", "l4 ipc",
              "-ex", "thread 1", "-ex", "bt", "-ex", "delete", "-ex", "continue", timeout=120)
    assert r.code == 0, r.out + r.err
    out = r.out
    assert "Breakpoint 2, pong ()" in out
    # info threads lists the L4 threads: the root task and the pong thread.
    assert re.search(r"Thread 98 \(98\.1 \(root\)", out)
    assert re.search(r"\* 2\s+Thread 99 .*pong \(\)", out)
    # The root task called pong and waits for it: l4 threads and l4 ipc agree.
    assert re.search(r"98\.1 \(root\)\s+2\s+(blocked sending to|receiving from) 99\.1", out)
    assert "Waiting:" in out
    queue = r"Send queues:\nRECEIVER\s+SENDERS \(in order\)\n99\.1 \(pong\)\s+98\.1 \(root\)"
    assert re.search(queue, out) or "receiving from 99.1" in out
    # Thread 1 (the root task) is inside L4_Call from ping, called from main.
    assert re.search(r"#\d+\s+.*ping \(partner=", out) and re.search(r"#\d+\s+main \(\)", out)
    assert "hello: done" in out
    assert "Breakpoint" not in out.split("hello: done")[0].split("Breakpoint 2, pong")[1]


def test_first_command_runs_at_main_and_json_views(l4gdb, no_leftovers):
    r = l4gdb("gdb", "--batch", "l4test", "-ex", "info registers pc", "-ex", "l4 sched --json",
              "-ex", "l4 kip", "-ex", "l4 tcb root", "-ex", "l4 tcb nobody",
              "-ex", "l4 maps root", "-ex", "l4 maps", timeout=120)
    assert r.code == 0, r.out + r.err
    assert re.search(r"pc\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <main", r.out)
    sched, _ = json.JSONDecoder().raw_decode(r.out[r.out.index("{"):])
    assert sched["current"] == 0x188001 and "255" in sched["ready"]
    assert "api_version" in r.out and re.search(r"name\s+98\.1 \(root\)", r.out)
    assert re.search(r"utcb\.MyGlobalId\s+0x188001", r.out)
    assert "error: no thread 'nobody'" in r.out
    # The root task's pages were mapped by sigma0 (space 1) on its page faults.
    assert re.search(r"space 2: \d+ pages", r.out)
    assert re.search(r"0x40100000\s+0x40100000\s+rwx\s+\S+\s+1:0x40100000", r.out)
    assert "usage: l4 maps SPACE" in r.out


def test_step_over_a_system_call(l4gdb, no_leftovers):
    r = l4gdb("gdb", "--batch", "hello", "-ex", "break pong", "-ex", "continue",
              "-ex", "next", "-ex", "next", "-ex", "next", "-ex", "delete", "-ex", "continue",
              timeout=120)
    assert r.code == 0, r.out + r.err
    assert "pong 1" in r.out and "hello: done" in r.out
    assert "unhandled" not in r.out
