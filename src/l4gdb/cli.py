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


def _add_arch(p: argparse.ArgumentParser) -> None:
    p.add_argument("--arch", default="arm", help="architecture plugin to use (default: arm)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="l4gdb",
        description="Run the L4 X.2 microkernel, written in Python, on QEMU; inspect it from GDB.",
        epilog=EXIT_TABLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="boot a system with PROGRAM as the root task",
                         epilog=EXIT_TABLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arch(run)
    run.add_argument("program", help="built-in program name (hello, l4test), C files or an ELF")
    run.add_argument("extra", nargs="*", help="more C files of the same program")
    run.add_argument("--expect", action="append", default=[], metavar="REGEX",
                     help="pattern the console must show (repeatable, matched in order)")
    run.add_argument("--timeout", type=float, default=120.0, metavar="S",
                     help="give up after S seconds (default 120)")
    run.add_argument("--log", metavar="FILE", help="also write the console output to FILE")
    run.add_argument("--no-gdb", action="store_true",
                     help="do not attach gdb-multiarch (faster start, no symbols view)")
    run.add_argument("--quiet", action="store_true", help="do not echo the guest console")

    build = sub.add_parser("build", help="build a guest program (C files) into an ELF")
    _add_arch(build)
    build.add_argument("files", nargs="+", help="C files written against libl4")
    build.add_argument("-o", "--output", required=True, metavar="OUT.elf")

    plugins = sub.add_parser("plugins", help="list installed plugins and the hooks they implement")
    plugins.add_argument("--json", action="store_true", help="print JSON")

    bench = sub.add_parser("bench", help="measure the trap path against the floor (JSON out)")
    _add_arch(bench)
    bench.add_argument("--json", metavar="FILE",
                       help="write the JSON result to FILE ('-' = stdout)")
    bench.add_argument("--iterations", type=int, default=2000)
    return parser


def cmd_plugins(args: argparse.Namespace) -> int:
    from l4gdb.plugins import get_plugins

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
    from l4gdb.system import build_user_program, toolchain_for

    tc = toolchain_for(args.arch)
    out = build_user_program(tc, [Path(f) for f in args.files], Path(args.output))
    print(out)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from l4gdb.system import RunOptions, run_program

    opts = RunOptions(arch=args.arch, program=args.program, extra_files=args.extra,
                      expects=args.expect, timeout=args.timeout, log=args.log,
                      gdb=not args.no_gdb, quiet=args.quiet)
    return run_program(opts)


def cmd_bench(args: argparse.Namespace) -> int:
    from l4gdb.bench import run_bench

    result = run_bench(args.arch, args.iterations)
    text = json.dumps(result, indent=2)
    if args.json and args.json != "-":
        Path(args.json).write_text(text + "\n")
    else:
        print(text)
    for key in sorted(k for k in result if k.endswith("_ratio")):
        print(f"{key}: {result[key]:.2f}", file=sys.stderr)
    return 0


COMMANDS = {"run": cmd_run, "build": cmd_build, "plugins": cmd_plugins, "bench": cmd_bench}


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


if __name__ == "__main__":
    sys.exit(main())
