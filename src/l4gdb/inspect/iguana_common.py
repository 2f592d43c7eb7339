"""Helpers shared by the ``iguana`` views: names of objects in the model."""

from __future__ import annotations

from typing import Any

from l4gdb.inspect.l4 import CommandError


def ref(v: int) -> str:
    return f"{v:#x}" if v else "-"


def pd_name(model: dict[str, Any], r: int) -> str:
    """A PD as its name (initial, wombat ...) when it has one, else its reference."""
    for p in model["pds"]:
        if p["ref"] == r:
            name = p.get("name") or ""
            return f"{r:#x} ({name})" if name else f"{r:#x}"
    return ref(r)


def rwx(bits: int) -> str:
    return "".join(c if bits & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))


def pick_pd(model: dict[str, Any], args: list[str]) -> int | None:
    """The PD an optional argument names (reference or name); None: all."""
    if not args:
        return None
    word = args[0]
    for p in model["pds"]:
        if word == p.get("name") or _as_int(word) == p["ref"]:
            return p["ref"]
    raise CommandError(f"no PD '{word}'")


def _as_int(word: str) -> int | None:
    try:
        return int(word, 0)
    except ValueError:
        return None
