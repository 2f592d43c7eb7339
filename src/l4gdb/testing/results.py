"""What one boot-and-assert run produced: the verdict, every expectation, every
check line, the metrics (named groups of the patterns); written as JSON by
``--results FILE.json`` and as JUnit XML by ``--junit FILE``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from l4gdb.runtime.console import Check, ConsoleWatcher, FailOnHit

RESULTS_VERSION = 1

# outcome names, one per exit code
OUTCOMES = {0: "passed", 1: "failed", 2: "usage", 3: "timeout", 4: "fail-on", 5: "infrastructure"}


@dataclass
class ExpectationResult:
    index: int                   # 1-based, as in messages
    name: str
    pattern: str
    status: str                  # "passed", "failed", "timeout", "not-reached"
    matched: str | None = None
    seconds: float | None = None  # from becoming the current expectation to its match (or the end)
    timeout: float | None = None
    groups: dict[str, str] = field(default_factory=dict)
    message: str = ""


@dataclass
class RunResult:
    code: int
    message: str                 # one line; "" when the run passed
    reason: str = ""             # finer than the code: passed, expectation-timeout, timeout,
    #  fail-on, expectation-unmet, checks-failed, checks-incomplete, exit-status, deadlock,
    #  could-not-start, target-failed, gdb-died, host-failed, internal-error, usage
    arch: str = ""
    program: str = ""
    detail: str = ""             # more lines (e.g. the tail of QEMU's log)
    duration_s: float = 0.0
    exit_status: int | None = None
    expectations: list[ExpectationResult] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    summary: tuple[int, int, int] | None = None
    fail_on: FailOnHit | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    logs: str | None = None
    console_tail: str = ""

    @property
    def outcome(self) -> str:
        return OUTCOMES.get(int(self.code), "failed")

    @property
    def passed(self) -> bool:
        return int(self.code) == 0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["code"] = int(self.code)
        d["outcome"] = self.outcome
        d["version"] = RESULTS_VERSION
        if self.summary is not None:
            d["summary"] = dict(zip(("passed", "failed", "skipped"), self.summary, strict=True))
        return d

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2) + "\n")


def metric_value(text: str) -> int | float | str:
    """A named group's text as a number when it is one."""
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            continue
    return text


def expectation_results(console: ConsoleWatcher, *, end: float, ended_by_timeout: bool,
                        why: str) -> list[ExpectationResult]:
    """Each expectation's fate; the first unmatched one carries the run's failure."""
    out: list[ExpectationResult] = []
    first_open = True
    for i, e in enumerate(console.expectations, 1):
        r = ExpectationResult(index=i, name=e.label, pattern=e.pattern.pattern, status="passed",
                              matched=e.matched, timeout=e.timeout, groups=e.groups)
        if e.matched is not None:
            if e.started_at is not None and e.matched_at is not None:
                r.seconds = round(e.matched_at - e.started_at, 6)
        elif first_open:
            first_open = False
            r.status = "timeout" if ended_by_timeout else "failed"
            r.message = why
            if e.started_at is not None:
                r.seconds = round(end - e.started_at, 6)
        else:
            r.status = "not-reached"
            r.message = "an earlier expectation was not met"
        out.append(r)
    return out


def collect_metrics(console: ConsoleWatcher) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for e in console.expectations:
        for k, v in e.groups.items():
            metrics[k] = metric_value(v)
    return metrics
