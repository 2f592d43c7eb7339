"""The ``l4gdb`` command. Heavy modules and plugins load only inside commands,
so ``l4gdb --help`` stays fast."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from l4gdb.errors import ExitCode, L4gdbError

EXIT_TABLE = """exit codes (every command):
  0  success
  1  a check or an expectation failed
  2  usage error (bad arguments, unknown arch or program, bad input file)
  3  timeout
  4  a fail-on pattern matched
  5  infrastructure (QEMU, GDB or the toolchain could not start or died)
"""


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


def _add_arch(p: argparse.ArgumentParser, default: str | None = "arm") -> None:
    p.add_argument("--arch", default=default, help="architecture plugin to use (default: arm)")


def _add_deterministic(p: argparse.ArgumentParser) -> None:
    p.add_argument("--deterministic", action="store_true",
                   help="guest time from an instruction count (QEMU -icount): a run with "
                        "preemption interleaves the same way every time (default: real time)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="l4gdb",
        description="Run the L4 X.2 microkernel, written in Python, on QEMU; inspect it from GDB.",
        epilog=EXIT_TABLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run", help="boot a system with PROGRAM as the root task",
        description="Boot a system with PROGRAM as the root task and show its console. "
                    "With expectations (--expect, --script) the run is a boot-and-assert "
                    "test: the patterns must appear in order; the run ends when all matched.",
        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arch(run, default=None)
    _add_deterministic(run)
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

    dbg = sub.add_parser("gdb", help="boot a system and debug it with gdb-multiarch",
                         description="Boot PROGRAM as the root task and give GDB the system: "
                         "info threads lists L4 threads, 'l4 threads', 'l4 ipc', 'l4 sched', "
                         "'l4 spaces', 'l4 kip', 'l4 tcb T' inspect the kernel. The first "
                         "command runs when the root task reached main.",
                         epilog=EXIT_TABLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arch(dbg)
    _add_deterministic(dbg)
    dbg.add_argument("program", help="built-in program name, C files or an ELF")
    dbg.add_argument("extra", nargs="*", help="more C files of the same program")
    dbg.add_argument("--batch", action="store_true",
                     help="run the -ex/-x commands, then tear everything down")
    dbg.add_argument("-ex", dest="ex", action="append", default=[], metavar="CMD",
                     help="GDB command to run (repeatable, in order)")
    dbg.add_argument("-x", dest="scripts", action="append", default=[], metavar="FILE",
                     help="GDB command file to run")
    dbg.add_argument("--stop-at", default="main", metavar="SYMBOL",
                     help="where the first command finds the root task (default: main)")
    dbg.add_argument("--listen", metavar="HOST:PORT",
                     help="serve GDB on this loopback TCP address instead of a unix socket "
                          "in the run's private directory (one debugger at a time, but every "
                          "local user can reach it; port 0: any free one)")

    trace = sub.add_parser("trace", help="render a --trace timeline as a message sequence chart")
    trace.add_argument("trace_file", metavar="TRACE.json", help="a trace written by run --trace")
    trace.add_argument("--mermaid", action="store_true", required=True,
                       help="print a Mermaid sequenceDiagram of the IPC messages")
    trace.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    trace.add_argument("--limit", type=int, default=200, help="at most this many messages")

    build = sub.add_parser("build", help="build a guest program (C files) into an ELF")
    _add_arch(build)
    build.add_argument("files", nargs="+", help="C files written against libl4")
    build.add_argument("-o", "--output", required=True, metavar="OUT.elf")

    plugins = sub.add_parser("plugins", help="list installed plugins and the hooks they implement")
    plugins.add_argument("--json", action="store_true", help="print JSON")

    bench = sub.add_parser("bench", help="measure the trap path against the floor (JSON out)")
    _add_arch(bench)
    _add_deterministic(bench)
    bench.add_argument("--json", metavar="FILE",
                       help="write the JSON result to FILE ('-' = stdout)")
    bench.add_argument("--iterations", type=int, default=2000)

    wombat = sub.add_parser(
        "wombat", help="run a Linux program (static, from the rootfs) under Wombat",
        description="Boot L4, Iguana and the Linux server, run PROGRAM ARGS... as a Linux "
                    "process, print its output and exit with its status, like "
                    "qemu-arm PROGRAM ARGS... does. PROGRAM is looked up inside the rootfs "
                    "(by PATH when it has no '/'). Without PROGRAM: /bin/sh.",
        epilog="exit status: the program's (128+N when killed by signal N); 125 when l4gdb "
               "itself failed (no rootfs, no QEMU, a timeout, a deadlock)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arch(wombat)
    wombat.add_argument("--rootfs", metavar="DIR",
                        help="root file system (default: the arch's busybox rootfs built by "
                             "scripts/setup)")
    wombat.add_argument("--rootfs-persist", action="store_true",
                        help="write the guest's changes through to the rootfs directory "
                             "itself, to be seen by later runs (default: a private "
                             "copy-on-write layer in the run's temporary directory, dropped "
                             "at exit). Setuid, setgid, sticky and group/world-write bits "
                             "and owners are never put on host files either way")
    wombat.add_argument("--strace", action="store_true",
                        help="print every Linux system call with its arguments and result "
                             "(to stderr)")
    wombat.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds")
    wombat.add_argument("--snapshot", action="store_true",
                        help="when the program exits, print `wombat ps` and `l4 threads` "
                             "as they were just before (to stderr)")
    wombat.add_argument("--gdb", action="store_true",
                        help="debug the whole system with gdb-multiarch (stops in the root "
                             "task's main before any Linux process ran; `wombat ps`, "
                             "`iguana eas`, `l4 threads`, `info threads`)")
    wombat.add_argument("--batch", action="store_true", help="with --gdb: run the -ex "
                                                             "commands and end")
    wombat.add_argument("-ex", dest="ex", action="append", default=[], metavar="CMD",
                        help="with --gdb: a GDB command to run (repeatable)")
    wombat.add_argument("--native", action="append", default=[], metavar="PROGRAM",
                        help="the root task beside the Linux processes: a native Iguana "
                             "program (a built-in name such as wombat-shared, C files "
                             "(repeat the option) or an ELF) instead of wombat-init; it can "
                             "share memsections with them as /dev/iguana/NAME")
    wombat.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- PROGRAM ARGS")

    fuzz = sub.add_parser(
        "fuzz", help="random system calls against the kernel model, invariants checked",
        description="Random system calls (all L4 calls, KDebug, unknown numbers; random "
                    "registers, message and buffer registers, typed items, fpages) from "
                    "threads of several spaces: on a real system in QEMU (an architecture "
                    "name) or against the kernel model on the fake target (fake32, fake64, "
                    "or --fake); the invariants (no host exception, mapping database a forest "
                    "matching the page tables -- in guest memory on QEMU --, no thread in two "
                    "queues, no space seeing a page it was not given, UTCB copies) are "
                    "checked after every K calls.",
        epilog=EXIT_TABLE + "  (1: an invariant was violated; the seed and the call index "
                            "are printed)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    fuzz.add_argument("--arch", default="fake32",
                      help="an installed architecture (arm, x86, mips, riscv, riscv64: QEMU), "
                           "or fake32 / fake64 (the fake target; the default)")
    fuzz.add_argument("--fake", action="store_true",
                      help="with an architecture name: the fake target with its word size")
    fuzz.add_argument("--count", type=int, default=10_000, metavar="N",
                      help="kernel entries to make (default 10000)")
    fuzz.add_argument("--seed", type=int, default=0, metavar="S")
    fuzz.add_argument("--check-every", type=int, default=None, metavar="K",
                      help="check the invariants every K calls (default 1 on the fake "
                           "target, 50 on QEMU)")
    fuzz.add_argument("--quiet", action="store_true", help="only the result line")
    return parser


def cmd_plugins(args: argparse.Namespace) -> int:
    from l4gdb.runtime.plugins import get_plugins

    infos = get_plugins().infos()
    if args.json:
        print(json.dumps([vars(i) for i in infos], indent=2))
        return 0
    if not infos:
        print("no plugins installed (pip install arch/arm)")
        return 0
    width = max(len(i.name) for i in infos)
    print(f"{'NAME':<{width}}  DISTRIBUTION  MODULE / HOOKS")
    for i in infos:
        print(f"{i.name:<{width}}  {i.distribution:<12}  {i.module}")
        print(f"{'':<{width}}  {'':<12}  hooks: {', '.join(i.hooks)}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from l4gdb.runtime.system import build_user_program, toolchain_for

    tc = toolchain_for(args.arch)
    out = build_user_program(tc, [Path(f) for f in args.files], Path(args.output))
    print(out)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from l4gdb.runtime.system import RunOptions, run_program

    opts = RunOptions(arch=args.arch, program=args.program, extra_files=args.extra,
                      steps=args.steps or [], fail_on=args.fail_on, script=args.script,
                      timeout=args.timeout, log=args.log, logs=args.logs, results=args.results,
                      junit=args.junit, gdb=not args.no_gdb, quiet=args.quiet,
                      trace=args.trace, deterministic=args.deterministic)
    return run_program(opts)


def cmd_gdb(args: argparse.Namespace) -> int:
    from l4gdb.debugger.session import DebugOptions, debug_program

    return debug_program(DebugOptions(arch=args.arch, program=args.program,
                                      extra_files=args.extra, batch=args.batch, ex=args.ex,
                                      scripts=args.scripts, stop_at=args.stop_at,
                                      deterministic=args.deterministic, listen=args.listen))


def cmd_trace(args: argparse.Namespace) -> int:
    from l4gdb.commands.trace import load_trace, to_mermaid

    text = to_mermaid(load_trace(Path(args.trace_file)), limit=args.limit)
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text, end="")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from l4gdb.commands.bench import run_bench

    result = run_bench(args.arch, args.iterations, deterministic=args.deterministic)
    text = json.dumps(result, indent=2)
    if args.json and args.json != "-":
        Path(args.json).write_text(text + "\n")
    else:
        print(text)
    for key in sorted(k for k in result if k.endswith("_ratio")):
        print(f"{key}: {result[key]:.2f}", file=sys.stderr)
    return 0


def cmd_wombat(args: argparse.Namespace) -> int:
    from l4gdb.runtime.wombat_system import WombatOptions, run_wombat

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    res = run_wombat(WombatOptions(arch=args.arch, argv=argv, rootfs=args.rootfs,
                                   strace=args.strace, timeout=args.timeout,
                                   snapshot=args.snapshot, gdb=args.gdb,
                                   gdb_batch=args.batch, gdb_ex=args.ex,
                                   native=list(args.native),
                                   rootfs_persist=args.rootfs_persist))
    if res.snapshot_text:
        print(res.snapshot_text, file=sys.stderr, end="")
    if res.message:
        print(f"l4gdb: {res.message}", file=sys.stderr)
    return res.status


FAKE_WORD = {"fake32": "fake32", "fake64": "fake64", "arm": "fake32", "x86": "fake32",
             "mips": "fake32", "riscv": "fake32", "riscv64": "fake64"}


def cmd_fuzz(args: argparse.Namespace) -> int:
    if args.count < 0 or (args.check_every is not None and args.check_every < 1):
        print("l4gdb: fuzz: --count must be >= 0 and --check-every >= 1", file=sys.stderr)
        return ExitCode.USAGE
    fake = args.arch in ("fake32", "fake64") or args.fake
    arch = FAKE_WORD.get(args.arch) if fake else args.arch
    if arch is None:
        print(f"l4gdb: fuzz: unknown architecture {args.arch!r}", file=sys.stderr)
        return ExitCode.USAGE

    def progress(n: int, res) -> None:
        if not args.quiet:
            print(f"fuzz: {n}/{args.count} calls, {res.boots} boot(s)", file=sys.stderr)

    if fake:
        from l4gdb.fuzzing.generator import run

        res = run(args.count, args.seed, arch, check_every=args.check_every or 1,
                  progress=progress)
    else:
        from l4gdb.fuzzing.qemu import run as run_qemu
        from l4gdb.runtime.plugins import get_plugins

        get_plugins().require_arch(arch)
        res = run_qemu(arch, args.count, args.seed, check_every=args.check_every or 50,
                       progress=progress)
    print(res.line())
    return ExitCode.OK if res.ok else ExitCode.FAILED


COMMANDS = {"run": cmd_run, "gdb": cmd_gdb, "build": cmd_build, "plugins": cmd_plugins,
            "bench": cmd_bench, "trace": cmd_trace, "fuzz": cmd_fuzz, "wombat": cmd_wombat}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(COMMANDS[args.command](args))
    except L4gdbError as exc:
        print(f"l4gdb: {exc}", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        print("l4gdb: interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        from l4gdb.target.errors import TargetError  # (lazy: keeps --help fast)

        if not isinstance(exc, TargetError):
            raise
        # QEMU, its gdbstub or GDB gone in the middle: infrastructure, one line
        print(f"l4gdb: {str(exc).strip()}", file=sys.stderr)
        return int(ExitCode.INFRASTRUCTURE)


if __name__ == "__main__":
    sys.exit(main())
