"""``l4gdb fuzz``: random system calls, with the kernel's invariants checked."""

from __future__ import annotations

import argparse
import sys

from l4gdb.commands.common import EXIT_TABLE, raw_parser
from l4gdb.errors import ExitCode

FAKE_TARGETS = {4: "fake32", 8: "fake64"}     # word size -> the fake target of that size


def add_parser(sub) -> None:
    fuzz = raw_parser(
        sub, "fuzz", help="random system calls against the kernel model, invariants checked",
        description="Random system calls (all L4 calls, KDebug, unknown numbers; random "
                    "registers, message and buffer registers, typed items, fpages) from "
                    "threads of several spaces: on a real system in QEMU (an architecture "
                    "name) or against the kernel model on the fake target (fake32, fake64, "
                    "or --fake); the invariants (no host exception, mapping database a forest "
                    "matching the page tables -- in guest memory on QEMU --, no thread in two "
                    "queues, no space seeing a page it was not given, UTCB copies) are "
                    "checked after every K calls.",
        epilog=EXIT_TABLE + "  (1: an invariant was violated; the seed and the call index "
                            "are printed)\n")
    fuzz.add_argument("--arch", default="fake32",
                      help="an installed architecture (QEMU), or fake32 / fake64 (the fake "
                           "target; the default)")
    fuzz.add_argument("--fake", action="store_true",
                      help="with an architecture name: the fake target with its word size")
    fuzz.add_argument("--count", type=int, default=10_000, metavar="N",
                      help="kernel entries to make (default 10000)")
    fuzz.add_argument("--seed", type=int, default=0, metavar="S")
    fuzz.add_argument("--check-every", type=int, default=None, metavar="K",
                      help="check the invariants every K calls (default 1 on the fake "
                           "target, 50 on QEMU)")
    fuzz.add_argument("--quiet", action="store_true", help="only the result line")


def _fake_target_for(arch: str) -> str | None:
    """The fake target with the word size of an installed arch (None: not installed)."""
    from l4gdb.runtime.plugins import get_plugins

    plugins = get_plugins()
    if arch not in plugins.arch_names():
        return None
    info = plugins.hook.l4gdb_arch_info(arch=arch)
    return FAKE_TARGETS.get(info.word_size) if info is not None else None


def main(args: argparse.Namespace) -> int:
    if args.count < 0 or (args.check_every is not None and args.check_every < 1):
        print("l4gdb: fuzz: --count must be >= 0 and --check-every >= 1", file=sys.stderr)
        return ExitCode.USAGE
    fake = args.arch in FAKE_TARGETS.values() or args.fake
    arch = (args.arch if args.arch in FAKE_TARGETS.values() else _fake_target_for(args.arch)) \
        if fake else args.arch
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
