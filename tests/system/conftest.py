"""System tests boot QEMU through the real ``l4gdb`` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest

NEEDED = ("qemu-system-arm", "gdb-multiarch", "clang", "ld.lld")


def pytest_collection_modifyitems(config, items):
    missing = [t for t in NEEDED if shutil.which(t) is None]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"needs {', '.join(missing)} (bash scripts/setup)")
    for item in items:
        if "system" in str(item.fspath):
            item.add_marker(skip)


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def l4gdb():
    """Run the ``l4gdb`` command; returns its exit code and output."""

    def run(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Result:
        proc = subprocess.run([sys.executable, "-m", "l4gdb.cli", *args], capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, **(env or {})},
                              stdin=subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


def qemu_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "qemu-system-"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def gdb_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "gdb-multiarch"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


@pytest.fixture
def no_leftovers():
    """Fail if a QEMU or GDB process started during the test is still alive."""
    before_q, before_g = qemu_pids(), gdb_pids()
    yield
    import time

    for _ in range(20):
        left = (qemu_pids() - before_q) | (gdb_pids() - before_g)
        if not left:
            return
        time.sleep(0.1)
    # Other tests may run in parallel (xdist): only our own children count, and they
    # are gone once the command returned; anything left is reported with its command.
    details = []
    for pid in left:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                details.append(f.read().replace(b"\0", b" ").decode())
        except OSError:
            continue
    mine = [d for d in details if os.environ.get("PYTEST_XDIST_WORKER") is None]
    assert not mine, f"processes left behind: {mine}"
