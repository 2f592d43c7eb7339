"""Parse and run an inspection command line such as ``l4 threads --json``."""

from __future__ import annotations

import json
import shlex

from l4gdb.inspect import iguana, l4, wombat
from l4gdb.inspect.l4 import CommandError

FAMILIES = {"l4": l4.COMMANDS, "iguana": iguana.COMMANDS, "wombat": wombat.COMMANDS}
# Families served from a server's own model (not the kernel snapshot), and what
# they answer when the system has no such server.
SERVER_FAMILIES = {"iguana": iguana.NO_SERVER, "wombat": wombat.NO_SERVER}


def help_text() -> str:
    lines = []
    for family, cmds in FAMILIES.items():
        for name, (_, doc) in cmds.items():
            lines.append(f"{family} {name:<8} {doc}")
    return "\n".join(lines) + "\n(add --json for machine-readable output)\n"


def run_command(line: str, snapshot, iguana_model=None, wombat_model=None) -> str:
    """The text (or JSON) answer to ``line``; errors come back as text too.
    ``iguana_model`` / ``wombat_model``: the Iguana / Linux server's snapshot
    (None: the system has no such server)."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        return f"error: {exc}\n"
    as_json = "--json" in words
    words = [w for w in words if w != "--json"]
    if len(words) < 2 or words[0] not in FAMILIES or words[1] not in FAMILIES[words[0]]:
        return help_text()
    fn, _ = FAMILIES[words[0]][words[1]]
    if words[0] in SERVER_FAMILIES:
        model = {"iguana": iguana_model, "wombat": wombat_model}[words[0]]
        if model is None:
            return SERVER_FAMILIES[words[0]]
        snapshot = model
    try:
        text, data = fn(snapshot, words[2:])
    except CommandError as exc:
        return f"error: {exc}\n"
    return json.dumps(data, indent=2, default=str) + "\n" if as_json else text
