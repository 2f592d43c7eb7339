"""The boot-and-assert engine behind ``l4gdb run``.

One run: boot a system, drive the host loop until the script's expectations
matched in order, a fail-on pattern matched, the root task exited, an
expectation's own timeout or the overall timeout ran out, or QEMU/GDB died;
then decide the exit code (README's table) and keep the logs (console, kernel
events, QEMU, GDB) in one directory when the run failed.

The engine takes the booting as a callable (``boot(console, log_dir, events)``
returning a context manager that yields an object with ``.loop.run(stop)``
and ``.exit_status``), so its decisions are unit-tested without QEMU.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

from l4gdb.errors import ExitCode, L4gdbError
from l4gdb.runtime.console import ConsoleWatcher
from l4gdb.runtime.hostloop import Deadlock, Finished
from l4gdb.testing.expect import Script
from l4gdb.testing.results import RunResult, collect_metrics, expectation_results

EventObserver = Callable[..., None]
BootFn = Callable[[ConsoleWatcher, Path, EventObserver], AbstractContextManager[Any]]

CONSOLE_LOG = "console.log"
INTERRUPTED = 130                # 128 + SIGINT, as a shell reports a Ctrl-C
EVENTS_LOG = "kernel-events.log"
QEMU_LOG = "qemu.log"
GDB_LOG = "gdb.log"
HOST_ERROR_LOG = "host-error.log"

GDB_CHECK_S = 0.25      # how often the loop looks whether an attached GDB still lives
MAX_EVENTS_CHARS = 64 << 20     # kernel-events.log keeps no more events (its # lines go on)


class LogDir:
    """Where a run keeps its logs: ``--logs DIR`` (always kept) or a temporary
    directory (in ``$L4GDB_LOG_ROOT``, else the system's temp dir) that is removed
    when the run passed and kept when it failed."""

    def __init__(self, requested: str | Path | None = None) -> None:
        if requested is not None:
            self.path = Path(requested).resolve()
            self.path.mkdir(parents=True, exist_ok=True)
            self.keep = True
        else:
            root = os.environ.get("L4GDB_LOG_ROOT") or None
            if root is not None:
                Path(root).mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix="l4gdb-logs-", dir=root))
            self.keep = False

    def finish(self, passed: bool) -> str | None:
        """The directory's path when it is kept, else None (and it is gone)."""
        if self.keep or not passed:
            return str(self.path)
        shutil.rmtree(self.path, ignore_errors=True)
        return None


class EventLog:
    """The kernel's ``events`` observer: one line per event in kernel-events.log."""

    def __init__(self, path: Path) -> None:
        self._f: IO[str] | None = path.open("w", buffering=1 << 16)
        self._t0 = time.monotonic()
        self._room = MAX_EVENTS_CHARS

    def _stamp(self) -> str:
        return f"{time.monotonic() - self._t0:11.6f}"

    def __call__(self, name: str, **data: Any) -> None:
        if self._f is None or self._room <= 0:
            return
        fields = " ".join(f"{k}={_fmt(v)}" for k, v in data.items())
        line = f"{self._stamp()} {name} {fields}\n".replace(" \n", "\n")
        self._room -= len(line)
        self._f.write(line)
        if self._room <= 0:
            self.note(f"no more kernel events: this log reached {MAX_EVENTS_CHARS} characters")

    def note(self, text: str) -> None:
        """A line from the harness (boot, exit, verdict), marked with ``#``."""
        if self._f is not None:
            self._f.write(f"{self._stamp()} # {text}\n")

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return hex(value) if value > 9 or value < 0 else str(value)
    return repr(value) if isinstance(value, str) and (" " in value or not value) else str(value)


class Tee:
    """A write-only stream that writes to several."""

    def __init__(self, *streams: IO[str]) -> None:
        self.streams = streams

    def write(self, s: str) -> int:
        for st in self.streams:
            st.write(s)
        return len(s)

    def flush(self) -> None:
        for st in self.streams:
            st.flush()


def _is_target_error(exc: BaseException) -> bool:
    from l4gdb.target.errors import TargetError

    return isinstance(exc, TargetError)


class Harness:
    """Runs one script against one system; ``run()`` returns the RunResult."""

    def __init__(self, *, console: ConsoleWatcher, script: Script, timeout: float,
                 boot: BootFn, log_dir: Path, arch: str = "", program: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.script = script
        self.timeout = timeout
        self.boot = boot
        self.log_dir = log_dir
        self.arch = arch
        self.program = program
        self.clock = clock
        self.stop_reason: str | None = None
        self._deadline = 0.0
        self._gdb_proc: Any = None         # gdb-multiarch, when attached: watched
        self._gdb_check_at = 0.0

    # -- the loop's stop condition ---------------------------------------------
    def _should_stop(self) -> bool:
        c = self.console
        if c.failed_on is not None:
            self.stop_reason = "fail-on"
            return True
        if c.expectations and c.all_expected:
            self.stop_reason = "expected"
            return True
        now = self.clock()
        cur = c.current()
        if cur is not None and cur.timeout is not None and cur.started_at is not None \
                and now - cur.started_at > cur.timeout:
            self.stop_reason = "step-timeout"
            return True
        if now > self._deadline:
            self.stop_reason = "timeout"
            return True
        if self._gdb_proc is not None and now >= self._gdb_check_at:
            self._gdb_check_at = now + GDB_CHECK_S
            if self._gdb_proc.poll() is not None:
                self.stop_reason = "gdb-died"
                return True
        return False

    # -- one run -------------------------------------------------------------------
    def run(self) -> RunResult:
        start = self.clock()
        self._deadline = start + self.timeout
        events = EventLog(self.log_dir / EVENTS_LOG)
        outcome: dict[str, Any] = {}
        try:
            self._run(events, outcome)
        except Exception as exc:       # tearing the system down failed
            if "ended" not in outcome and "start_error" not in outcome:
                outcome["ended"] = "died"
                outcome["died"] = exc
            events.note(f"teardown failed: {exc!r}")
        finally:
            events.note(f"end: {self.stop_reason or outcome.get('ended', '?')}")
            events.close()
        code, reason, message, detail = self._verdict(outcome)
        end = self.clock()
        c = self.console
        why = message
        return RunResult(
            code=code, reason=reason, message=message, detail=detail, arch=self.arch,
            program=self.program,
            duration_s=round(end - start, 6), exit_status=outcome.get("status"),
            expectations=expectation_results(
                c, end=outcome.get("end", end),
                ended_by_timeout=self.stop_reason in ("step-timeout", "timeout"), why=why),
            checks=list(c.check_results), summary=c.summary, fail_on=c.failed_on,
            metrics=collect_metrics(c), console_tail=c.tail(30))

    def _run(self, events: EventLog, outcome: dict[str, Any]) -> None:
        events.note(f"boot {self.arch} {self.program}")
        with contextlib.ExitStack() as stack:
            try:
                system = stack.enter_context(self.boot(self.console, self.log_dir, events))
            except L4gdbError as exc:
                outcome["start_error"] = exc
                return
            except Exception as exc:    # TargetError, a boot that timed out, a bug
                outcome["start_error"] = exc
                if not _is_target_error(exc):
                    self._save_traceback()
                return
            gdb = getattr(system, "gdb", None)
            self._gdb_proc = getattr(gdb, "proc", None)
            events.note("running")
            self.console.begin()
            if self.script.send:
                self.console.feed(self.script.send)
            try:
                system.loop.run(self._should_stop)
                outcome["ended"] = self.stop_reason
                if self.stop_reason == "gdb-died":
                    outcome["gdb"] = f"gdb-multiarch exited with status {self._gdb_proc.returncode}"
            except Finished as fin:
                system.exit_status = fin.status
                outcome["ended"] = "finished"
                outcome["status"] = fin.status
            except Deadlock as exc:
                outcome["ended"] = "deadlock"
                outcome["deadlock"] = str(exc)
            except KeyboardInterrupt:   # Ctrl-C: end the run like a failure, logs kept
                outcome["ended"] = "interrupted"
            except L4gdbError as exc:
                outcome["ended"] = "died"
                outcome["died"] = exc
            except Exception as exc:
                outcome["ended"] = "died"
                outcome["died"] = exc
                if not _is_target_error(exc):
                    self._save_traceback()
            outcome["end"] = self.clock()
            self._stop_cpu(system)

    def _stop_cpu(self, system: Any) -> None:
        loop = getattr(system, "loop", None)
        if loop is None or not hasattr(loop, "stop_cpu"):
            return
        with contextlib.suppress(Exception):
            loop.stop_cpu()

    def _save_traceback(self) -> None:
        with contextlib.suppress(OSError):
            (self.log_dir / HOST_ERROR_LOG).write_text(traceback.format_exc())

    # -- the verdict ----------------------------------------------------------------
    def _verdict(self, outcome: dict[str, Any]) -> tuple[int, str, str, str]:
        """(exit code, reason, one-line message, more lines). ``reason`` tells apart
        what one exit code covers (README's table), e.g. ``could-not-start`` and
        ``target-failed`` are both 5."""
        c = self.console
        if "start_error" in outcome:
            exc = outcome["start_error"]
            first, _, rest = str(exc).partition("\n")
            code = exc.code if isinstance(exc, L4gdbError) else ExitCode.INFRASTRUCTURE
            if code == ExitCode.USAGE:
                return code, "usage", first, rest
            if not isinstance(exc, L4gdbError) and not _is_target_error(exc):
                first = f"internal error: {type(exc).__name__}: {first}"
            return (ExitCode.INFRASTRUCTURE, "could-not-start",
                    f"the system could not start: {first}", rest)
        if c.failed_on is not None:
            hit = c.failed_on
            return (ExitCode.FAIL_ON, "fail-on",
                    f"fail-on pattern {hit.pattern!r} matched: {hit.line.strip()!r}", "")
        ended = outcome.get("ended")
        if ended == "gdb-died":
            return (ExitCode.INFRASTRUCTURE, "gdb-died",
                    f"GDB died during the run: {outcome['gdb']}", "")
        if ended == "died":
            exc = outcome["died"]
            first, _, rest = str(exc).partition("\n")
            if _is_target_error(exc):
                return (ExitCode.INFRASTRUCTURE, "target-failed",
                        f"QEMU or GDB failed during the run: {first}", rest)
            if isinstance(exc, L4gdbError):
                what = "infrastructure error" if exc.code == ExitCode.INFRASTRUCTURE else "error"
                return int(exc.code), "host-failed", f"{what} during the run: {first}", rest
            return (ExitCode.INFRASTRUCTURE, "internal-error",
                    f"internal error in the host: {type(exc).__name__}: {first}", rest)
        if ended == "deadlock":
            return ExitCode.FAILED, "deadlock", f"deadlock: {outcome['deadlock']}", ""
        if ended == "interrupted":
            return INTERRUPTED, "interrupted", "interrupted (Ctrl-C); the system was shut down", ""
        if ended == "finished":
            return self._finished_verdict(outcome["status"])
        if ended == "expected":
            if c.checks_failed:
                return ExitCode.FAILED, "checks-failed", self._failed_checks(), ""
            return ExitCode.OK, "passed", "", ""
        cur = c.first_unmatched()
        if ended == "step-timeout" and cur is not None:
            i = c.expectations.index(cur) + 1
            return (ExitCode.TIMEOUT, "expectation-timeout",
                    f"timeout: expectation {i} of {len(c.expectations)} "
                    f"{cur.label!r} not met within {cur.timeout:g} s", "")
        what = (f"expectation {c.expectations.index(cur) + 1} of {len(c.expectations)} "
                f"{cur.label!r} not met" if cur is not None
                else "the root task did not exit")
        return ExitCode.TIMEOUT, "timeout", f"timeout after {self.timeout:g} s: {what}", ""

    def _failed_checks(self) -> str:
        c = self.console
        fails = [x for x in c.check_results if x.status == "FAIL"]
        if fails:
            first = fails[0]
            more = f" (and {len(fails) - 1} more)" if len(fails) > 1 else ""
            return (f"{len(fails)} check(s) failed, first FAIL {first.group}/{first.name}"
                    f"{': ' + first.detail if first.detail else ''}{more}")
        assert c.summary is not None
        return f"the program reported {c.summary[1]} failed check(s)"

    def _finished_verdict(self, status: int) -> tuple[int, str, str, str]:
        c = self.console
        if c.checks_incomplete:
            return (ExitCode.FAILED, "checks-incomplete", "the program printed checks but no "
                    f"closing 'N passed, N failed' line (root task exit status {status})", "")
        if c.checks_failed:
            return ExitCode.FAILED, "checks-failed", self._failed_checks(), ""
        missing = c.first_unmatched()
        if missing is not None:
            i = c.expectations.index(missing) + 1
            return (ExitCode.FAILED, "expectation-unmet",
                    f"the root task exited (status {status}) before "
                    f"expectation {i} of {len(c.expectations)} {missing.label!r} matched", "")
        if status != 0:
            return (ExitCode.FAILED, "exit-status",
                    f"the root task exited with status {status}", "")
        return ExitCode.OK, "passed", "", ""


@contextlib.contextmanager
def boot_system(arch: str, program: Path, *, gdb: bool, console: ConsoleWatcher, log_dir: Path,
                events: EventObserver, options: dict[str, Any] | None = None) -> Iterator[Any]:
    """The real thing: a System on QEMU, optionally with gdb-multiarch attached.
    ``options`` go to the plugins' ``l4gdb_session_start`` (e.g. ``trace``)."""
    from l4gdb.runtime.system import System

    with System(arch, program, console, log_dir=log_dir, event_observer=events,
                options=dict(options or {})) as system:
        if not gdb:
            yield system
            return
        from l4gdb.debugger.gdbview import attach_gdb

        with attach_gdb(system):
            _gdb_logging(system, log_dir / GDB_LOG)
            yield system


def _gdb_logging(system: Any, path: Path) -> None:
    """Send what GDB says (and its remote-protocol debug lines) to gdb.log."""
    gdb = getattr(system, "gdb", None)
    if gdb is None:
        return
    with contextlib.suppress(Exception):
        for cmd in (f"set logging file {path}", "set logging overwrite on",
                    "set logging redirect off", "set logging debugredirect on",
                    "set logging enabled on", "set debug remote 1"):
            gdb.console(cmd)
