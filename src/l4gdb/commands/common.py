"""What the subcommands' parsers share: the exit table, ``--arch``, ``--deterministic``."""

from __future__ import annotations

import argparse

from l4gdb.errors import DEFAULT_ARCH

EXIT_TABLE = """exit codes (every command):
  0  success
  1  a check or an expectation failed
  2  usage error (bad arguments, unknown arch or program, bad input file)
  3  timeout
  4  a fail-on pattern matched
  5  infrastructure (QEMU, GDB or the toolchain could not start or died)
"""


def add_arch(p: argparse.ArgumentParser, default: str | None = DEFAULT_ARCH) -> None:
    p.add_argument("--arch", default=default,
                   help=f"architecture plugin to use (default: {DEFAULT_ARCH})")


def add_deterministic(p: argparse.ArgumentParser) -> None:
    p.add_argument("--deterministic", action="store_true",
                   help="guest time from an instruction count (QEMU -icount): a run with "
                        "preemption interleaves the same way every time (default: real time)")


def raw_parser(sub, name: str, **kw) -> argparse.ArgumentParser:
    """A subcommand parser whose description and epilog keep their line breaks."""
    return sub.add_parser(name, formatter_class=argparse.RawDescriptionHelpFormatter, **kw)
