"""Timer, preemption and interrupts as IPC, end to end on QEMU (ARM)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent


def _checks(out: str, group: str) -> dict[str, str]:
    found = {}
    for ln in out.splitlines():
        m = re.match(rf"^(PASS|FAIL|SKIP) {group}/([a-z0-9-]+)", ln)
        if m:
            found[m.group(2)] = m.group(1)
    return found


def test_l4test_schedule_and_interrupt_groups(l4gdb, no_leftovers):
    r = l4gdb("run", "--no-gdb", "--arch", "arm", "l4test", "--timeout", "240")
    assert r.code == 0, r.out + r.err
    sched = _checks(r.out, "schedule")
    irq = _checks(r.out, "interrupt")
    assert set(sched.values()) == {"PASS"}, sched
    assert set(irq.values()) == {"PASS"}, irq
    assert {"round-robin-spinners", "irq-priority-unassociated",
            "irq-priority-associated"} <= set(sched)
    assert {"associate", "deassociate", "delivered", "preempts-spinner-within-a-tick",
            "reenabled-by-reply"} <= set(irq)


def _switches(out: str) -> tuple[list[str], str]:
    order = re.findall(r"^switch \d+: thread (\d)", out, re.M)
    total = re.search(r"^switches (\d+), both ran (\d)$", out, re.M)
    assert total, out
    return order, total.group(0)


def test_equal_priority_spinners_interleave(l4gdb, no_leftovers):
    r = l4gdb("run", "--no-gdb", str(HERE / "preempt_log.c"), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    order, total = _switches(r.out)
    assert total.endswith("both ran 1")
    assert order[:4] == ["0", "1", "0", "1"]


def test_deterministic_mode_repeats_the_interleaving(l4gdb, no_leftovers):
    runs = []
    for _ in range(2):
        r = l4gdb("run", "--no-gdb", "--deterministic", str(HERE / "preempt_log.c"),
                  "--timeout", "60")
        assert r.code == 0, r.out + r.err
        runs.append(_switches(r.out))
    assert runs[0] == runs[1]
