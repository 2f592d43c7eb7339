"""``l4gdb gdb``: boot a system and debug it with gdb-multiarch on this terminal."""

from __future__ import annotations

import argparse

from l4gdb.commands.common import EXIT_TABLE, add_arch, add_deterministic, raw_parser


def add_parser(sub) -> None:
    dbg = raw_parser(sub, "gdb", help="boot a system and debug it with gdb-multiarch",
                     description="Boot PROGRAM as the root task and give GDB the system: "
                     "info threads lists L4 threads, 'l4 threads', 'l4 ipc', 'l4 sched', "
                     "'l4 spaces', 'l4 kip', 'l4 tcb T' inspect the kernel. The first "
                     "command runs when the root task reached main.", epilog=EXIT_TABLE)
    add_arch(dbg)
    add_deterministic(dbg)
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


def main(args: argparse.Namespace) -> int:
    from l4gdb.debugger.session import DebugOptions, debug_program

    return debug_program(DebugOptions(arch=args.arch, program=args.program,
                                      extra_files=args.extra, batch=args.batch, ex=args.ex,
                                      scripts=args.scripts, stop_at=args.stop_at,
                                      deterministic=args.deterministic, listen=args.listen))
