"""``l4gdb wombat``: a Linux program under Wombat on Iguana and L4, like qemu-user."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from l4gdb.commands.common import add_arch, raw_parser

if TYPE_CHECKING:
    from l4gdb.runtime.wombat_system import WombatOptions, WombatResult


def add_parser(sub) -> None:
    wombat = raw_parser(
        sub, "wombat", help="run a Linux program (static, from the rootfs) under Wombat",
        description="Boot L4, Iguana and the Linux server, run PROGRAM ARGS... as a Linux "
                    "process, print its output and exit with its status, like "
                    "qemu-arm PROGRAM ARGS... does. PROGRAM is looked up inside the rootfs "
                    "(by PATH when it has no '/'). Without PROGRAM: /bin/sh.",
        epilog="exit status: the program's (128+N when killed by signal N); 125 when l4gdb "
               "itself failed (no rootfs, no QEMU, a timeout, a deadlock)\n")
    add_arch(wombat)
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


def main(args: argparse.Namespace) -> int:
    from l4gdb.runtime.wombat_system import WombatOptions, run_wombat

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    opts = WombatOptions(arch=args.arch, argv=argv, rootfs=args.rootfs,
                         strace=args.strace, timeout=args.timeout, snapshot=args.snapshot,
                         native=list(args.native), rootfs_persist=args.rootfs_persist)
    res = _under_gdb(opts, args) if args.gdb else run_wombat(opts)
    if res.snapshot_text:
        print(res.snapshot_text, file=sys.stderr, end="")
    if res.message:
        print(f"l4gdb: {res.message}", file=sys.stderr)
    return res.status


def _under_gdb(opts: WombatOptions, args: argparse.Namespace) -> WombatResult:
    """The system under ``l4gdb gdb``: GDB stops in the root task's main before
    any Linux process ran; ``wombat ps``, ``iguana eas``, ``l4 threads`` and
    ``info threads`` show the Linux processes as L4 threads."""
    from l4gdb.debugger.session import DebugOptions, debug_program
    from l4gdb.errors import L4gdbError
    from l4gdb.runtime.wombat_system import (
        WOMBAT_FAILURE,
        WombatResult,
        root_task,
        target_failed,
        wombat_config,
    )
    from l4gdb.target.errors import TargetError

    try:
        native = root_task(opts)
        code = debug_program(DebugOptions(arch=opts.arch, program=native[0],
                                          extra_files=native[1:], batch=args.batch,
                                          ex=list(args.ex),
                                          wombat=wombat_config(opts, sys.stderr)))
    except (L4gdbError, FileNotFoundError) as exc:
        return WombatResult(WOMBAT_FAILURE, str(exc))
    except TargetError as exc:          # QEMU gone under GDB: l4gdb failed, not the program
        return target_failed(exc)
    return WombatResult(int(code))
