"""The boot-and-assert script: ordered expectations, input, fail-on patterns.

A script comes from the command line (``--expect``, ``--send``, ``--fail-on``)
and/or a TOML file (``--script``); docs/ci.md describes the format::

    program = "hello"          # optional: the command line's PROGRAM wins
    arch = "arm"               # optional: --arch wins
    timeout = 60               # optional overall seconds: --timeout wins
    fail-on = ["KDB: ", "panic"]
    send = ""                  # optional console input right after boot

    [[expect]]
    pattern = "ping (?P<first>[0-9]+)"
    timeout = 10               # seconds, counted from the previous match
    send = "y\\n"               # console input once it matched
    name = "first ping"        # the JUnit test case name (default: the pattern)

Every problem in a file is reported on one line naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from l4gdb.errors import UsageError
from l4gdb.runtime.console import Expectation


@dataclass
class Step:
    pattern: str
    timeout: float | None = None
    send: str | None = None
    name: str | None = None


@dataclass
class Script:
    steps: list[Step] = field(default_factory=list)
    fail_on: list[str] = field(default_factory=list)
    send: str | None = None            # input right after boot, before any match
    timeout: float | None = None       # overall seconds
    program: str | None = None
    arch: str | None = None
    source: str | None = None          # the file it came from

    def extend(self, other: Script) -> Script:
        """This script, then ``other``'s steps; ``other``'s settings fill the gaps."""
        send = (self.send or "") + (other.send or "")
        return Script(
            steps=[*self.steps, *other.steps], fail_on=[*self.fail_on, *other.fail_on],
            send=send or None, timeout=self.timeout if self.timeout is not None else other.timeout,
            program=self.program or other.program, arch=self.arch or other.arch,
            source=self.source or other.source)

    def expectations(self) -> list[Expectation]:
        return [Expectation(compile_pattern(s.pattern, self._where(i)), timeout=s.timeout,
                            send=s.send, name=s.name)
                for i, s in enumerate(self.steps)]

    def fail_on_patterns(self) -> list[re.Pattern[str]]:
        where = f"{self.source}: fail-on" if self.source else "--fail-on"
        return [compile_pattern(p, where) for p in self.fail_on]

    def _where(self, i: int) -> str:
        return f"{self.source}: expect[{i}]" if self.source else "--expect"


def compile_pattern(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        if where.startswith("--"):
            raise UsageError(f"bad {where} pattern {pattern!r}: {exc}") from exc
        raise UsageError(f"{where}: bad pattern {pattern!r}: {exc}") from exc


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0", "e": "\x1b"}


def unescape(text: str) -> str:
    """``--send`` text with ``\\n``, ``\\r``, ``\\t``, ``\\e``, ``\\0`` and ``\\\\``."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def script_from_args(items: list[tuple[str, str]]) -> Script:
    """The command line's ``--expect``/``--send`` in their order: a ``--send``
    is typed after the expectation before it (before any: right after boot)."""
    script = Script()
    for kind, value in items:
        if kind == "expect":
            compile_pattern(value, "--expect")
            script.steps.append(Step(value))
        elif kind == "send":
            text = unescape(value)
            if script.steps:
                last = script.steps[-1]
                last.send = (last.send or "") + text
            else:
                script.send = (script.send or "") + text
        else:
            raise ValueError(kind)
    return script


# -- TOML -----------------------------------------------------------------

_TOP_KEYS = {"program", "arch", "timeout", "fail-on", "send", "expect"}
_STEP_KEYS = {"pattern", "timeout", "send", "name"}


def load_script(path: str | Path) -> Script:
    """Read a TOML script; any problem is a ``UsageError`` of one line naming the file."""
    import tomllib

    path = Path(path)
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{where}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where}: not valid TOML: {exc}") from exc
    return parse_script(data, where)


def parse_script(data: dict[str, Any], where: str) -> Script:
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} "
                         f"(known: {', '.join(sorted(_TOP_KEYS))})")
    script = Script(source=where)
    script.program = _opt(data, "program", str, where)
    script.arch = _opt(data, "arch", str, where)
    script.timeout = _seconds(data, "timeout", where)
    script.send = _opt(data, "send", str, where)
    fail_on = data.get("fail-on", [])
    if isinstance(fail_on, str):
        fail_on = [fail_on]
    if not isinstance(fail_on, list) or not all(isinstance(p, str) for p in fail_on):
        raise UsageError(f"{where}: fail-on must be a string or a list of strings")
    script.fail_on = list(fail_on)
    steps = data.get("expect", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise UsageError(f"{where}: expect must be an array of tables ([[expect]])")
    for i, raw in enumerate(steps):
        at = f"{where}: expect[{i}]"
        unknown = sorted(set(raw) - _STEP_KEYS)
        if unknown:
            raise UsageError(f"{at}: unknown key {unknown[0]!r} "
                             f"(known: {', '.join(sorted(_STEP_KEYS))})")
        pattern = raw.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise UsageError(f"{at}: needs pattern = \"REGEX\"")
        script.steps.append(Step(pattern=pattern, timeout=_seconds(raw, "timeout", at),
                                 send=_opt(raw, "send", str, at), name=_opt(raw, "name", str, at)))
    # compile now, so that a bad pattern is reported before anything boots
    script.expectations()
    script.fail_on_patterns()
    return script


def _opt(data: dict[str, Any], key: str, typ: type, where: str) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, typ):
        raise UsageError(f"{where}: {key} must be a string, not {type(value).__name__}")
    return value


def _seconds(data: dict[str, Any], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UsageError(f"{where}: {key} must be a positive number of seconds, not {value!r}")
    return float(value)
