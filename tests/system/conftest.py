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
def l4gdb(tmp_path):
    """Run the ``l4gdb`` command; returns its exit code and output."""

    def run(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> Result:
        # logs of failing runs (kept by design) go to the test's tmp dir, not /tmp
        env = {**os.environ, "L4GDB_LOG_ROOT": str(tmp_path / "l4gdb-logs"), **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "l4gdb.cli", *args], capture_output=True,
                              text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def c_source(tmp_path):
    """``c_source(NAME, TEXT)``: TEXT written to ``tmp_path/NAME``; its path, for a command line."""

    def write(name: str, text: str) -> str:
        src = tmp_path / name
        src.write_text(text)
        return str(src)

    return write


def qemu_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "qemu-system-"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def gdb_pids() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "gdb-multiarch"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def cmdlines(pids) -> list[str]:
    """The command lines of those of ``pids`` still alive."""
    details = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                details.append(f.read().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return details


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
    mine = [d for d in cmdlines(left) if os.environ.get("PYTEST_XDIST_WORKER") is None]
    assert not mine, f"processes left behind: {mine}"


@pytest.fixture(scope="session")
def harness_build_dir(tmp_path_factory) -> str:
    """A build directory of this session (worker): QEMU's command line names it, so
    processes left behind are attributable even when other runs share the machine."""
    return str(tmp_path_factory.mktemp("l4gdb-build"))


@pytest.fixture
def own_leftovers(harness_build_dir):
    """Run l4gdb with this session's build dir; fail if one of its QEMUs/GDBs survives."""
    yield {"L4GDB_BUILD_DIR": harness_build_dir}
    import time

    for _ in range(30):
        out = subprocess.run(["pgrep", "-f", harness_build_dir], capture_output=True,
                             text=True).stdout.split()
        if not out:
            return
        time.sleep(0.1)
    details = cmdlines(out)
    assert not details, f"processes left behind: {details}"


@pytest.fixture
def linux_rootfs(tmp_path):
    """``make(arch, *programs)``: a copy of ARCH's Debian rootfs at ``tmp_path/root``
    with the freestanding programs of src/guest/linux built into it as ``/NAME``."""

    def make(arch: str, *programs: str):
        from l4gdb.runtime.linux_progs import build_linux_program
        from l4gdb.runtime.rootfs import default_rootfs
        from l4gdb.runtime.system import toolchain_for

        try:
            base = default_rootfs(arch)
        except Exception as exc:
            pytest.fail(f"no {arch} rootfs: {exc} (scripts/setup builds it)")
        root = tmp_path / "root"
        shutil.copytree(base, root, symlinks=True)
        for name in programs:
            build_linux_program(toolchain_for(arch), name, root / name)
        return root

    return make
