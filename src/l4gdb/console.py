"""The guest console: what the kernel-debug calls print, and what they read.

Output is shown on a stream, kept in a log, and matched against the ordered
``--expect`` patterns. ``PASS``/``FAIL`` check lines are counted so that a
program that stops before its closing summary line is seen as failed.
"""

from __future__ import annotations

import collections
import re
import sys
from dataclasses import dataclass, field
from typing import IO

CHECK_LINE = re.compile(r"^(PASS|FAIL|SKIP) [a-z0-9-]+/[a-z0-9-]+(: .*)?$")
SUMMARY_LINE = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")


@dataclass
class Expectation:
    pattern: re.Pattern[str]
    matched: str | None = None


@dataclass
class Console:
    out: IO[str] | None = None
    log: IO[str] | None = None
    expectations: list[Expectation] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    checks: collections.Counter = field(default_factory=collections.Counter)
    summary: tuple[int, int, int] | None = None
    _pending: str = ""
    _next: int = 0
    _pos: int = 0
    _input: collections.deque = field(default_factory=collections.deque)

    @classmethod
    def with_expects(cls, patterns: list[str], out: IO[str] | None = sys.stdout,
                     log: IO[str] | None = None) -> Console:
        return cls(out=out, log=log, expectations=[Expectation(re.compile(p)) for p in patterns])

    # -- the kernel's side ------------------------------------------------
    def write(self, data: bytes | str) -> None:
        s = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
        self.text.append(s)
        if self.out is not None:
            self.out.write(s)
            self.out.flush()
        if self.log is not None:
            self.log.write(s)
            self.log.flush()
        self._pending += s
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line.rstrip("\r"))
        self._match()

    def read_char(self) -> int | None:
        return self._input.popleft() if self._input else None

    def feed(self, text: str) -> None:
        self._input.extend(text.encode())

    # -- bookkeeping ------------------------------------------------------
    def _line(self, line: str) -> None:
        m = CHECK_LINE.match(line)
        if m:
            self.checks[m.group(1)] += 1
        m = SUMMARY_LINE.match(line)
        if m:
            self.summary = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))

    def _match(self) -> None:
        # Expectations match in order; each search starts where the last match ended.
        if self._next >= len(self.expectations):
            return
        whole = "".join(self.text)
        while self._next < len(self.expectations):
            exp = self.expectations[self._next]
            m = exp.pattern.search(whole, self._pos)
            if m is None:
                return
            exp.matched = m.group(0)
            self._pos = m.end()
            self._next += 1

    @property
    def all_expected(self) -> bool:
        return bool(self.expectations) and all(e.matched is not None for e in self.expectations)

    def first_unmatched(self) -> Expectation | None:
        return next((e for e in self.expectations if e.matched is None), None)

    @property
    def checks_incomplete(self) -> bool:
        """Check lines were printed but the closing summary line never came."""
        return bool(self.checks) and self.summary is None

    @property
    def checks_failed(self) -> bool:
        return self.checks["FAIL"] > 0 or (self.summary is not None and self.summary[1] > 0)

    def output(self) -> str:
        return "".join(self.text)
