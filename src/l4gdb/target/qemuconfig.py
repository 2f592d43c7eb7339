"""Telling a broken ``-readconfig`` file from a QEMU that could not start.

QEMU's own messages about a config file rarely name it ("unsupported machine
type", "There is no option group 'bogus'"), and a config that QEMU refuses
looks like any other failed start. So: the syntax is checked here before QEMU
runs (``FILE:LINE: problem``), and when QEMU exits at start, a second QEMU
with nothing but the config (halted, no devices, no display) tells whether the
config alone is refused while QEMU without it starts; then the error names
the file and QEMU's words.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .errors import TargetError

_GROUP = re.compile(r'^\[\s*[A-Za-z0-9_.-]+(\s+"[^"]*")?\s*\]$')
_KEY = re.compile(r'^[A-Za-z0-9_.-]+\s*=\s*"[^"]*"$')
PROBE_SECONDS = 2.0


class ConfigError(TargetError):
    """The QEMU config file is at fault (a bad input file, not infrastructure)."""


def check_syntax(path: Path) -> None:
    """Raise ConfigError naming the first line QEMU's config parser would refuse."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the QEMU config: {exc}") from None
    in_group = False
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _GROUP.match(line):
            in_group = True
        elif _KEY.match(line):
            if not in_group:
                raise ConfigError(f"{path}:{n}: a setting before any [group]: {line!r}")
        else:
            raise ConfigError(f"{path}:{n}: not a [group] or key = \"value\" line: {line!r}")


def refused_config(binary: str, path: Path) -> str | None:
    """QEMU's complaint when it refuses ``path`` on its own, else None -- also when
    QEMU cannot start even without it (then the binary, not the config, is at fault)."""
    complaint = _probe(binary, ["-readconfig", str(path)])
    if complaint is None or _probe(binary, ["-machine", "none"]) is not None:
        return None
    return complaint


def _probe(binary: str, args: list[str]) -> str | None:
    """Start a halted QEMU with ``args`` and nothing else: its complaint if it
    exits at once, None if it keeps running."""
    argv = [binary, *args, "-S", "-nodefaults", "-display", "none", "-monitor", "none",
            "-serial", "none"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None                    # it kept running (subprocess.run killed it)
    except OSError as exc:
        return str(exc)
    lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
    return lines[0] if lines else f"exit status {done.returncode}"
