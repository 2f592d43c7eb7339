"""``l4gdb plugins``: the installed plugins and the hooks each implements."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    plugins = sub.add_parser("plugins", help="list installed plugins and the hooks they implement")
    plugins.add_argument("--json", action="store_true", help="print JSON")


def main(args: argparse.Namespace) -> int:
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
