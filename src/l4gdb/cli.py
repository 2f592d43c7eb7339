"""The ``l4gdb`` command: one parser, each subcommand in its own module of
:mod:`l4gdb.commands` (``add_parser(sub)`` and ``main(args)``). Heavy modules
and plugins load only inside a command's ``main``, so ``l4gdb --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

from l4gdb.commands.common import EXIT_TABLE
from l4gdb.errors import ExitCode, L4gdbError

# Subcommand -> its module under l4gdb.commands, in the order --help lists them.
COMMANDS = ("run", "gdb", "trace", "build", "plugins", "bench", "wombat", "fuzz")


def _module(name: str):
    return importlib.import_module(f"l4gdb.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="l4gdb",
        description="Run the L4 X.2 microkernel, written in Python, on QEMU; inspect it from GDB.",
        epilog=EXIT_TABLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        _module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(_module(args.command).main(args))
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
