"""``l4gdb build``: a guest program (C files) into an ELF, without running it."""

from __future__ import annotations

import argparse
from pathlib import Path

from l4gdb.commands.common import add_arch


def add_parser(sub) -> None:
    build = sub.add_parser("build", help="build a guest program (C files) into an ELF")
    add_arch(build)
    build.add_argument("files", nargs="+", help="C files written against libl4")
    build.add_argument("-o", "--output", required=True, metavar="OUT.elf")


def main(args: argparse.Namespace) -> int:
    from l4gdb.runtime.system import build_user_program, toolchain_for

    out = build_user_program(toolchain_for(args.arch), [Path(f) for f in args.files],
                             Path(args.output))
    print(out)
    return 0
