"""``l4gdb bench``: the trap path against the floor (:mod:`l4gdb.runtime.bench`), as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from l4gdb.commands.common import add_arch, add_deterministic


def add_parser(sub) -> None:
    bench = sub.add_parser("bench", help="measure the trap path against the floor (JSON out)")
    add_arch(bench)
    add_deterministic(bench)
    bench.add_argument("--json", metavar="FILE",
                       help="write the JSON result to FILE ('-' = stdout)")
    bench.add_argument("--iterations", type=int, default=2000)


def main(args: argparse.Namespace) -> int:
    from l4gdb.runtime.bench import run_bench

    result = run_bench(args.arch, args.iterations, deterministic=args.deterministic)
    text = json.dumps(result, indent=2)
    if args.json and args.json != "-":
        Path(args.json).write_text(text + "\n")
    else:
        print(text)
    for key in sorted(k for k in result if k.endswith("_ratio")):
        print(f"{key}: {result[key]:.2f}", file=sys.stderr)
    return 0

