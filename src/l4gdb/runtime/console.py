"""The guest console: what the kernel-debug calls print, and what they read.

Output is shown on a stream, kept in a log, and matched against ordered
expectations (``--expect`` or a script's ``[[expect]]``): each search starts
where the previous match ended; a match may send input to the guest and its
named groups are kept as metrics. ``fail-on`` patterns are checked on every
line as it arrives. ``PASS``/``FAIL`` check lines are recorded so that a
program that stops before its closing summary line is seen as failed.

A guest that floods the console costs bounded memory and time: the text kept
for matching is the last ``KEEP_CHARS`` characters, an expectation that does
not match is searched again only over new text (plus ``OVERLAP_CHARS``, so a
match may span writes), a line without an end is cut at ``MAX_LINE`` for the
line checks, and the log file stops at ``MAX_LOG_CHARS`` with a marker.
"""

from __future__ import annotations

import codecs
import collections
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

CHECK_LINE = re.compile(r"^(PASS|FAIL|SKIP) ([a-z0-9-]+)/([a-z0-9-]+)(?:: (.*))?$")
SUMMARY_LINE = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")
KEEP_CHARS = 4 << 20          # console text kept for expectations and output()
OVERLAP_CHARS = 64 << 10      # a match may reach this far back into searched text
MAX_LINE = 64 << 10           # a longer line is checked (fail-on, PASS/FAIL) in pieces
MAX_LOG_CHARS = 64 << 20      # the console log file ends here


@dataclass
class Expectation:
    pattern: re.Pattern[str]
    timeout: float | None = None       # seconds from when it became the current one
    send: str | None = None            # console input once it matched
    name: str | None = None
    matched: str | None = None
    match: re.Match[str] | None = None
    started_at: float | None = None    # time.monotonic() when it became the current one
    matched_at: float | None = None

    @property
    def label(self) -> str:
        return self.name or self.pattern.pattern

    @property
    def groups(self) -> dict[str, str]:
        if self.match is None:
            return {}
        return {k: v for k, v in self.match.groupdict().items() if v is not None}


@dataclass(frozen=True)
class Check:
    """One ``PASS``/``FAIL``/``SKIP`` line of a test program."""

    status: str          # "PASS", "FAIL" or "SKIP"
    group: str
    name: str
    detail: str = ""


@dataclass(frozen=True)
class FailOnHit:
    pattern: str
    line: str


@dataclass
class ConsoleWatcher:
    out: IO[str] | None = None
    log: IO[str] | None = None
    expectations: list[Expectation] = field(default_factory=list)
    fail_on: list[re.Pattern[str]] = field(default_factory=list)
    checks: collections.Counter = field(default_factory=collections.Counter)
    check_results: list[Check] = field(default_factory=list)
    summary: tuple[int, int, int] | None = None
    failed_on: FailOnHit | None = None
    clock: Callable[[], float] = time.monotonic
    _pending: str = ""
    _whole: str = ""
    _next: int = 0
    _pos: int = 0                 # in _whole: where the current expectation's search starts
    _scanned: int = 0             # in _whole: searched up to here without a match
    _logged: int = 0
    _input: collections.deque = field(default_factory=collections.deque)
    _fed: bytearray = field(default_factory=bytearray)
    _sinks: list[Callable[[bytes], None]] = field(default_factory=list)
    _feed_lock: threading.Lock = field(default_factory=threading.Lock)   # stdin's pump

    @classmethod
    def with_expects(cls, patterns: list[str], out: IO[str] | None = None,
                     log: IO[str] | None = None) -> ConsoleWatcher:
        return cls(out=out, log=log, expectations=[Expectation(re.compile(p)) for p in patterns])

    # -- the kernel's side ------------------------------------------------
    def write(self, data: bytes | str) -> None:
        s = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
        self._whole += s
        if len(self._whole) > 2 * KEEP_CHARS:
            self._forget(len(self._whole) - KEEP_CHARS)
        if self.out is not None:
            self.out.write(s)
            self.out.flush()
        if self.log is not None:
            self._write_log(s)
        self._pending += s
        *lines, self._pending = self._pending.split("\n")
        if len(self._pending) > MAX_LINE:
            lines.append(self._pending)
            self._pending = ""
        for line in lines:
            self._line(line.rstrip("\r"))
        if self._pending and self.fail_on:
            self._check_fail_on(self._pending)
        self._match()

    def _forget(self, n: int) -> None:
        """Drop the oldest n characters of the kept text."""
        self._whole = self._whole[n:]
        self._pos = max(0, self._pos - n)
        self._scanned = max(0, self._scanned - n)

    def _write_log(self, s: str) -> None:
        assert self.log is not None
        room = MAX_LOG_CHARS - self._logged
        if room <= 0:
            return
        if len(s) >= room:
            s = s[:room] + (f"\n[l4gdb: console log ends here, at {MAX_LOG_CHARS} characters; "
                            "the guest went on writing]\n")
        self._logged += len(s)
        self.log.write(s)
        self.log.flush()

    def read_char(self) -> int | None:
        return self._input.popleft() if self._input else None

    def feed(self, text: str) -> None:
        data = text.encode()
        with self._feed_lock:
            self._input.extend(data)
            self._fed += data
            for sink in self._sinks:
                sink(data)

    def add_input_sink(self, sink: Callable[[bytes], None]) -> None:
        """Console input also goes to ``sink`` (e.g. a UART): what was fed so far at
        once, then every later :meth:`feed`."""
        with self._feed_lock:
            self._sinks.append(sink)
            if self._fed:
                sink(bytes(self._fed))

    # -- the harness's side -----------------------------------------------
    def begin(self) -> None:
        """The run starts now: the first expectation's timeout counts from here."""
        cur = self.current()
        if cur is not None and cur.started_at is None:
            cur.started_at = self.clock()

    def add_expectation(self, exp: Expectation) -> Expectation:
        """Append an expectation; it may match output that is already there."""
        self.expectations.append(exp)
        if self.current() is exp:
            exp.started_at = self.clock()
            self._scanned = self._pos
        self._match()
        return exp

    def drop_unmatched(self) -> None:
        """Forget expectations that did not match (the next search starts after the last match)."""
        self.expectations = [e for e in self.expectations if e.matched is not None]
        self._next = len(self.expectations)
        self._scanned = self._pos

    def current(self) -> Expectation | None:
        """The expectation being waited for."""
        return self.expectations[self._next] if self._next < len(self.expectations) else None

    # -- bookkeeping ------------------------------------------------------
    def _line(self, line: str) -> None:
        m = CHECK_LINE.match(line)
        if m:
            self.checks[m.group(1)] += 1
            self.check_results.append(Check(m.group(1), m.group(2), m.group(3), m.group(4) or ""))
        m = SUMMARY_LINE.match(line)
        if m:
            self.summary = (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        if self.fail_on:
            self._check_fail_on(line)

    def _check_fail_on(self, line: str) -> None:
        if self.failed_on is not None:
            return
        for pattern in self.fail_on:
            if pattern.search(line):
                self.failed_on = FailOnHit(pattern.pattern, line)
                return

    def _match(self) -> None:
        # Expectations match in order; each search starts where the last match ended.
        while self._next < len(self.expectations):
            exp = self.expectations[self._next]
            m = exp.pattern.search(self._whole, max(self._pos, self._scanned - OVERLAP_CHARS))
            if m is None:
                self._scanned = len(self._whole)
                return
            now = self.clock()
            exp.matched, exp.match, exp.matched_at = m.group(0), m, now
            if exp.started_at is None:
                exp.started_at = now
            self._pos = self._scanned = m.end()
            self._next += 1
            if exp.send:
                self.feed(exp.send)
            nxt = self.current()
            if nxt is not None:
                nxt.started_at = now

    @property
    def all_expected(self) -> bool:
        # matched strictly in order: all matched once the cursor is past the last one
        return bool(self.expectations) and self._next >= len(self.expectations)

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
        """The console text (its last KEEP_CHARS characters)."""
        return self._whole

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self._whole.rstrip("\n").splitlines()[-lines:])


def feed_stdin(console: ConsoleWatcher) -> None:
    """Guest console input (KDebug ReadChar) comes from our stdin, read in the background."""
    def pump() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside the buffered
        # stream holds its lock, and Python's shutdown then aborts on it.
        try:
            fd = sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            return
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            while chunk := os.read(fd, 256):
                console.feed(decoder.decode(chunk))
        except (OSError, ValueError):   # stdin closed or not readable: no input
            return
        console.eof = True              # end of input: a Linux read of the console returns 0

    threading.Thread(target=pump, name="l4gdb-stdin", daemon=True).start()
