"""``l4gdb run``: boot a system with a root task, follow the expectations, report."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from l4gdb.commands.common import EXIT_TABLE, add_arch, add_deterministic, raw_parser
from l4gdb.errors import DEFAULT_ARCH, ExitCode, L4gdbError, UsageError

RUN_EPILOG = """verdict:
  The run passes when every expectation matched (or, without expectations, the
  root task exited with status 0), no PASS/FAIL line said FAIL, and a program
  that printed PASS/FAIL lines also printed its closing 'N passed, N failed'.
  On failure the logs are kept in one directory and its path is printed.

""" + EXIT_TABLE + """  (3: an expectation's own timeout or --timeout ran out; 4: reported as soon
  as the line appears; 5: the system could not start or QEMU/GDB died: CI may retry)
"""


class _Ordered(argparse.Action):
    """--expect and --send into one list of (kind, text), in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])
        items.append((option_string.lstrip("-"), values))
        setattr(namespace, self.dest, items)


def add_parser(sub) -> None:
    run = raw_parser(
        sub, "run", help="boot a system with PROGRAM as the root task",
        description="Boot a system with PROGRAM as the root task and show its console. "
                    "With expectations (--expect, --script) the run is a boot-and-assert "
                    "test: the patterns must appear in order; the run ends when all matched.",
        epilog=RUN_EPILOG)
    add_arch(run, default=None)
    add_deterministic(run)
    run.add_argument("program", nargs="?",
                     help="built-in program name (hello, l4test, bench), C files or an ELF "
                          "(may come from the script's program = ...)")
    run.add_argument("extra", nargs="*", help="more C files of the same program")
    run.add_argument("--expect", action=_Ordered, dest="steps", metavar="REGEX",
                     help="pattern the console must show (repeatable, matched in order, "
                          "each search starting after the previous match)")
    run.add_argument("--send", action=_Ordered, dest="steps", metavar="TEXT",
                     help="console input typed once the preceding --expect matched (before "
                          "any: right after boot); \\n, \\r, \\t, \\e, \\\\ are escapes")
    run.add_argument("--fail-on", action="append", default=[], metavar="REGEX",
                     help="end the run at once (exit 4) when a console line matches "
                          "(repeatable)")
    run.add_argument("--script", metavar="FILE.toml",
                     help="expectations, input and fail-on patterns from a TOML file "
                          "(docs/ci.md); command-line expectations come after the file's")
    run.add_argument("--timeout", type=float, default=None, metavar="S",
                     help="overall limit in seconds, boot included (default: the script's, "
                          "else 120)")
    run.add_argument("--results", metavar="FILE.json",
                     help="write the verdict, every expectation, check and metric (named "
                          "groups of the patterns) as JSON")
    run.add_argument("--junit", metavar="FILE.xml",
                     help="write JUnit XML: a case per expectation and per PASS/FAIL line")
    run.add_argument("--logs", metavar="DIR",
                     help="keep console.log, kernel-events.log, qemu.log, gdb.log in DIR "
                          "(default: a temporary directory, kept only when the run fails)")
    run.add_argument("--log", metavar="FILE", help="also write the console output to FILE")
    run.add_argument("--trace", metavar="FILE.json",
                     help="write a timeline of the run (Chrome/Perfetto JSON; needs the trace "
                          "plugin; render with 'l4gdb trace --mermaid')")
    run.add_argument("--no-gdb", action="store_true",
                     help="do not attach gdb-multiarch (faster start, no symbols view)")
    run.add_argument("--quiet", action="store_true", help="do not echo the guest console")


def main(args: argparse.Namespace) -> int:
    return run_program(RunOptions(
        arch=args.arch, program=args.program, extra_files=args.extra, steps=args.steps or [],
        fail_on=args.fail_on, script=args.script, timeout=args.timeout, log=args.log,
        logs=args.logs, results=args.results, junit=args.junit, gdb=not args.no_gdb,
        quiet=args.quiet, trace=args.trace, deterministic=args.deterministic))


@dataclass
class RunOptions:
    """``l4gdb run``. ``steps`` are the command line's ``("expect", REGEX)`` and
    ``("send", TEXT)`` in their order; ``expects`` (plain patterns) come first."""

    arch: str | None = None          # None: the script's, else DEFAULT_ARCH
    program: str | None = None       # None: the script's
    extra_files: list[str] = field(default_factory=list)
    expects: list[str] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)
    fail_on: list[str] = field(default_factory=list)
    script: str | None = None        # TOML file
    timeout: float | None = None     # None: the script's, else 120
    log: str | None = None           # console output also to this file
    logs: str | None = None          # keep every log here (default: a temp dir kept on failure)
    results: str | None = None       # JSON result file
    junit: str | None = None         # JUnit XML file
    gdb: bool = True
    quiet: bool = False
    trace: str | None = None         # timeline file (the trace plugin's session option)
    deterministic: bool = False      # QEMU -icount: the same interleaving every run


DEFAULT_TIMEOUT_S = 120.0


def run_script_for(opts: RunOptions):
    """The script a run follows: the TOML file's, then the command line's."""
    from l4gdb.testing.expect import Script, load_script, script_from_args

    script = load_script(opts.script) if opts.script else Script()
    cli = script_from_args([*(("expect", p) for p in opts.expects), *opts.steps])
    cli.fail_on = list(opts.fail_on)
    cli.fail_on_patterns()
    return script.extend(cli)


def run_program(opts: RunOptions, out: IO[str] | None = None,
                err: IO[str] | None = None) -> int:
    """``l4gdb run``: boot, drive the script, report. Returns the exit code.
    (``out``/``err``: the streams of the moment unless given.)"""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    from l4gdb.runtime.console import ConsoleWatcher, feed_stdin
    from l4gdb.runtime.system import resolve_program, toolchain_for
    from l4gdb.testing.harness import CONSOLE_LOG, Harness, LogDir, Tee, boot_system
    from l4gdb.testing.results import RunResult

    arch, name = opts.arch or DEFAULT_ARCH, opts.program or ""
    try:
        script = run_script_for(opts)
        arch = opts.arch or script.arch or DEFAULT_ARCH
        name = opts.program or script.program or ""
        if not name:
            raise UsageError("no PROGRAM given (on the command line or as program = in the script)")
        extra = opts.extra_files if opts.program else []
        timeout = opts.timeout if opts.timeout is not None else script.timeout
        timeout = DEFAULT_TIMEOUT_S if timeout is None else timeout
        if timeout <= 0:
            raise UsageError(f"--timeout must be positive, not {timeout:g}")
        tc = toolchain_for(arch)
        program = resolve_program(tc, name, extra)
        expectations, fail_on = script.expectations(), script.fail_on_patterns()
    except L4gdbError as exc:
        reason = "usage" if exc.code == ExitCode.USAGE else "could-not-start"
        _write_reports(opts, RunResult(code=exc.code, reason=reason,
                                       message=str(exc).partition("\n")[0],
                                       detail=str(exc), arch=arch, program=name))
        raise
    try:
        logs = LogDir(opts.logs)
    except OSError as exc:
        raise UsageError(f"--logs {opts.logs}: cannot create the directory: {exc}") from exc
    with contextlib.ExitStack() as stack:
        streams = [stack.enter_context((logs.path / CONSOLE_LOG).open("w"))]
        if opts.log:
            try:
                streams.append(stack.enter_context(open(opts.log, "w")))  # noqa: SIM115
            except OSError as exc:
                raise UsageError(f"--log {opts.log}: cannot write: {exc}") from exc
        console = ConsoleWatcher(out=None if opts.quiet else out, log=Tee(*streams),
                          expectations=expectations, fail_on=fail_on)
        feed_stdin(console)

        def boot(console: ConsoleWatcher, log_dir: Path, events: Callable[..., None]):
            return boot_system(arch, program, gdb=opts.gdb, console=console, log_dir=log_dir,
                               events=events, options={"trace": opts.trace,
                                                        "deterministic": opts.deterministic})

        harness = Harness(console=console, script=script, timeout=timeout, boot=boot,
                          log_dir=logs.path, arch=arch, program=name)
        try:
            result = harness.run()
        except BaseException:          # Ctrl-C: no verdict; a temporary log dir goes
            stack.close()
            logs.finish(passed=True)
            raise
    result.logs = logs.finish(result.passed)
    _write_reports(opts, result)
    if not result.passed:
        print(f"l4gdb: {result.message}", file=err)
        if result.detail:
            print(result.detail.rstrip("\n"), file=err)
        if result.logs:
            print(f"l4gdb: logs kept in {result.logs}", file=err)
    return int(result.code)


def _write_reports(opts: RunOptions, result) -> None:
    from l4gdb.testing.junit import write_junit

    try:
        if opts.results:
            result.write_json(opts.results)
        if opts.junit:
            write_junit(result, opts.junit)
    except OSError as exc:
        raise UsageError(f"cannot write the result file: {exc}") from exc
