"""Parse and run an inspection command line such as ``l4 threads --json``."""

from __future__ import annotations

import json
import shlex

from l4gdb.inspect import iguana, l4
from l4gdb.inspect.l4 import CommandError

FAMILIES = {"l4": l4.COMMANDS, "iguana": iguana.COMMANDS}


def help_text() -> str:
    lines = []
    for family, cmds in FAMILIES.items():
        for name, (_, doc) in cmds.items():
            lines.append(f"{family} {name:<8} {doc}")
    return "\n".join(lines) + "\n(add --json for machine-readable output)\n"


def run_command(line: str, snapshot, iguana_model=None) -> str:
    """The text (or JSON) answer to ``line``; errors come back as text too.
    ``iguana_model``: the Iguana server's snapshot (None: no Iguana)."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        return f"error: {exc}\n"
    as_json = "--json" in words
    words = [w for w in words if w != "--json"]
    if len(words) < 2 or words[0] not in FAMILIES or words[1] not in FAMILIES[words[0]]:
        return help_text()
    fn, _ = FAMILIES[words[0]][words[1]]
    if words[0] == "iguana":
        if iguana_model is None:
            return iguana.NO_SERVER
        snapshot = iguana_model
    try:
        text, data = fn(snapshot, words[2:])
    except CommandError as exc:
        return f"error: {exc}\n"
    return json.dumps(data, indent=2, default=str) + "\n" if as_json else text
