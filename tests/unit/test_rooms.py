"""The rooms of the code and what each may import (docs/design.md, "Rooms").

Every ``import`` of an l4gdb module -- at the top of a file or inside a function --
is checked against the table below, and the rooms' import graph must have no
cycle. Plugins (arch/*, plugins/*) may import only the contract.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from l4gdb.errors import DEFAULT_ARCH

TOP = Path(__file__).resolve().parents[2]
SRC = TOP / "src" / "l4gdb"

# Modules that are rooms of their own at the package root.
CONTRACT = {"hookspecs", "archkit"}          # what plugins build on, with kernel.abi's types
ROOM_OF_ROOT = {"hookspecs": "contract", "archkit": "contract", "errors": "errors",
                "cli": "commands"}

# Room -> the other rooms it may import.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "kernel": set(),
    "target": set(),
    "contract": {"kernel"},
    "iguana": {"kernel", "errors"},
    "wombat": {"kernel", "iguana", "contract", "errors"},
    "inspect": {"kernel"},
    "runtime": {"kernel", "target", "contract", "errors", "iguana", "wombat", "inspect"},
    "debugger": {"kernel", "target", "contract", "errors", "runtime", "inspect"},
    "fuzzing": {"kernel", "target", "contract", "errors", "runtime"},
    "testing": {"kernel", "target", "contract", "errors", "runtime", "debugger", "inspect",
                "iguana", "wombat"},
    "commands": {"kernel", "target", "contract", "errors", "runtime", "debugger", "inspect",
                 "iguana", "wombat", "fuzzing", "testing"},
}
# What a plugin may import of l4gdb: the contract, and the trap data types it speaks.
PLUGIN_ALLOWED = ("l4gdb.hookspecs", "l4gdb.archkit", "l4gdb.kernel.abi")


def room_of(module: str) -> str:
    """The room of a dotted module name under l4gdb."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    return ROOM_OF_ROOT.get(top, top)


def _module_name(path: Path) -> str:
    name = ".".join(("l4gdb", *path.relative_to(SRC).with_suffix("").parts))
    return name.removesuffix(".__init__")


def imports_of(path: Path) -> list[str]:
    """Every l4gdb module a file imports, wherever the import stands."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "l4gdb":       # from l4gdb import errors
                found += [f"l4gdb.{a.name}" for a in node.names]
            else:
                found.append(node.module)
    return [m for m in found if m == "l4gdb" or m.startswith("l4gdb.")]


def room_edges() -> dict[str, dict[str, list[str]]]:
    """room -> imported room -> the modules that import it."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(SRC.rglob("*.py")):
        if "gdbext" in path.parts:           # runs inside GDB's own Python
            continue
        mod = _module_name(path)
        here = room_of(mod)
        for target in imports_of(path):
            there = room_of(target)
            if there != here:
                edges[here][there].append(mod)
    return edges


def test_every_module_is_in_a_known_room():
    rooms = {room_of(_module_name(p)) for p in SRC.rglob("*.py") if "gdbext" not in p.parts}
    rooms.discard("")                        # l4gdb/__init__.py
    assert rooms <= set(ALLOWED), f"modules outside every room: {rooms - set(ALLOWED)}"


def test_rooms_import_only_what_they_may():
    bad = [f"{mod} ({room} -> {there})"
           for room, targets in room_edges().items()
           for there, mods in targets.items() if there not in ALLOWED[room]
           for mod in mods]
    assert not bad, "imports across the room rules:\n" + "\n".join(sorted(bad))


def test_no_import_cycle_between_rooms():
    graph = {room: set(targets) for room, targets in room_edges().items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(room for room in graph if reaches(room, room, {room}))
    assert not cycles, f"rooms on an import cycle: {cycles}"


def test_plugins_import_only_the_contract():
    bad = []
    plugin_files = [*TOP.glob("arch/*/l4gdb_*/**/*.py"), *TOP.glob("plugins/*/l4gdb_*/**/*.py")]
    for path in sorted(plugin_files):
        for mod in imports_of(path):
            if not any(mod == ok or mod.startswith(ok + ".") for ok in PLUGIN_ALLOWED):
                bad.append(f"{path.relative_to(TOP)}: {mod}")
    assert not bad, "plugins importing more than the contract:\n" + "\n".join(bad)


def test_the_rules_see_a_bad_import(tmp_path):
    """The checker itself: an import the table forbids is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from l4gdb.target.qemu import QemuProcess\n")
    assert imports_of(bad) == ["l4gdb.target.qemu"]
    assert room_of("l4gdb.target.qemu") not in ALLOWED["kernel"]
    assert room_of("l4gdb.archkit.trapblocks") == "contract"
    assert room_of("l4gdb.cli") == "commands"


# Every architecture fact lives in its plugin: the core names no arch, no Debian
# arch and no QEMU binary (but for the one default, errors.DEFAULT_ARCH), and
# never asks which arch it runs on.
ARCH_WORDS = {"arm", "mips", "x86", "riscv", "riscv64", "armhf", "armel", "mipsel", "i386",
              "i686", "armv7l", "aarch64", "amd64"}
QEMU_BINARY = re.compile(r"^qemu-(system-[\w]+|[\w]+-static)$")


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, kinds) and n.body and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)}


def test_the_core_names_no_architecture():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docs \
                    and (node.value in ARCH_WORDS or QEMU_BINARY.match(node.value)):
                if path.relative_to(SRC).as_posix() == "errors.py" \
                        and node.value == DEFAULT_ARCH:
                    continue
                bad.append(f"{path.relative_to(TOP)}:{node.lineno}: {node.value!r}")
    assert not bad, "arch facts outside the plugins:\n" + "\n".join(bad)
