"""Fixtures for the target layer: a tiny ARM guest, fake target descriptions,
a fake stub provider, the host stub serving it and a raw client of that stub,
and a leak check for every child process a test starts."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from target_fakes import (
    ARM_LD,
    ARM_PROGRAM,
    DATA_LD,
    DATA_PROGRAM,
    FEATURES,
    FakeProvider,
    RawClient,
)

from l4gdb.target import children
from l4gdb.target.stub import GdbStub


def _build(tmp: Path, name: str, source: str, script: str, entry: bool) -> Path:
    for tool in ("clang", "ld.lld"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    (tmp / f"{name}.S").write_text(source)
    (tmp / f"{name}.ld").write_text(script)
    subprocess.run(["clang", "--target=armv7a-none-eabi", "-c", f"{name}.S", "-o", f"{name}.o"],
                   cwd=tmp, check=True)
    args = ["ld.lld", "-T", f"{name}.ld", f"{name}.o", "-o", f"{name}.elf"]
    if not entry:
        args[1:1] = ["--entry=0"]
    subprocess.run(args, cwd=tmp, check=True)
    return tmp / f"{name}.elf"


@pytest.fixture(scope="session")
def arm_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("arm"), "svcloop", ARM_PROGRAM, ARM_LD, True)


@pytest.fixture(scope="session")
def data_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("data"), "data", DATA_PROGRAM, DATA_LD, False)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.fixture(autouse=True)
def no_leaked_children() -> Iterator[None]:
    """Every QEMU/GDB a test starts is gone (by pid) when the test ends."""
    before = len(children.spawned_pids())
    yield
    started = children.spawned_pids()[before:]
    leaked = [pid for pid in started if _alive(pid)]
    for pid in leaked:     # clean up for the next test, then fail this one
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    assert not leaked, f"child processes survived the test: {leaked}"


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def stub(provider: FakeProvider) -> Iterator[GdbStub]:
    """The host's own gdbstub serving ``provider`` (a file may override that fixture)."""
    with GdbStub(provider, FEATURES) as s:
        yield s


@pytest.fixture
def client(stub: GdbStub) -> Iterator[RawClient]:
    """A raw RSP client connected to ``stub``."""
    c = RawClient(stub.address)
    yield c
    c.close()
