"""Bad input files (issue "Hardening", item 4): a program file that is no program
for the machine, a broken QEMU config, a file a Linux program cannot execute --
one line naming the file and the problem, the documented exit code (2; 125 for
`l4gdb wombat`), no traceback. (A truncated or wrong-arch ELF given as a path
is also in test_cli_errors.py; bad TOML scripts in tests/unit/test_harness_script.py.)"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from l4gdb.cli import main

L4GDB = [sys.executable, "-m", "l4gdb.cli"]


def _hello_elf() -> Path:
    from l4gdb.runtime.build import builtin_program
    from l4gdb.runtime.system import toolchain_for

    return builtin_program(toolchain_for("arm"), "hello")


def _only_line(capfd) -> str:
    err = capfd.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _files(tmp_path: Path) -> dict[str, str]:
    """Bad program files in the current directory, by case name: the problem."""
    elf = _hello_elf().read_bytes()
    (tmp_path / "notes").write_text("just text\n")
    (tmp_path / "script").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "truncated.elf").write_bytes(elf[:2000])
    relocatable = bytearray(elf)
    relocatable[16:18] = (1).to_bytes(2, "little")          # e_type = ET_REL
    (tmp_path / "object.o").write_bytes(relocatable)
    (tmp_path / "programs").mkdir()
    return {"notes": "not a valid ELF file (Magic number does not match)",
            "script": "not a valid ELF file (Magic number does not match)",
            "truncated.elf": f"truncated ELF file: 2000 bytes, its headers describe {len(elf)}",
            "object.o": "not a statically linked executable",
            "programs": "a directory, not a program"}


def test_a_program_file_that_is_no_program(tmp_path, monkeypatch, capfd):
    """Named by a bare file name too (it is not taken for a built-in program's name)."""
    monkeypatch.chdir(tmp_path)
    for name, problem in _files(tmp_path).items():
        assert main(["run", "--arch", "arm", "--no-gdb", name]) == 2, name
        assert _only_line(capfd) == f"l4gdb: {name}: {problem}"
    assert main(["gdb", "--arch", "arm", "--batch", "notes"]) == 2
    assert _only_line(capfd) == "l4gdb: notes: not a valid ELF file (Magic number does not match)"
    assert main(["run", "--arch", "x86", "--no-gdb", str(_hello_elf())]) == 2
    assert _only_line(capfd).endswith("hello.elf: ELF for EM_ARM, not for x86")


def _broken_config(monkeypatch, cfg: Path) -> None:
    """The arm plugin's QEMU setup, with ``cfg`` as its -readconfig file."""
    from l4gdb.runtime.plugins import get_plugins

    hook = get_plugins().hook
    real = hook.l4gdb_qemu_setup
    monkeypatch.setattr(hook, "l4gdb_qemu_setup",
                        lambda arch: dataclasses.replace(real(arch=arch), config=cfg))


@pytest.mark.slow
def test_a_broken_qemu_config_names_the_file(tmp_path, monkeypatch, capfd, own_leftovers):
    """An arch plugin's -readconfig file that is missing, that QEMU's parser would
    refuse (checked before QEMU starts), or that QEMU refuses when it starts."""
    monkeypatch.setenv("L4GDB_BUILD_DIR", own_leftovers["L4GDB_BUILD_DIR"])
    cases = {"missing.cfg": (None, "no such QEMU config file"),
             "syntax.cfg": ('[machine]\n  type = "virt\n',
                            'syntax.cfg:2: not a [group] or key = "value" line'),
             "machine.cfg": ('[machine]\n  type = "no-such-board"\n',
                             "machine.cfg: QEMU refuses this config: ")}
    for name, (text, problem) in cases.items():
        cfg = tmp_path / name
        if text is not None:
            cfg.write_text(text)
        _broken_config(monkeypatch, cfg)
        assert main(["run", "--arch", "arm", "--no-gdb", "--logs", str(tmp_path / "logs"),
                     "hello"]) == 2, name
        err = capfd.readouterr().err
        assert "Traceback" not in err
        assert err.startswith(f"l4gdb: {tmp_path}/") and problem in err.splitlines()[0], err
    cfg = tmp_path / "syntax.cfg"
    _broken_config(monkeypatch, cfg)
    assert main(["gdb", "--arch", "arm", "--batch", "hello"]) == 2
    assert _only_line(capfd).startswith(f"l4gdb: {cfg}:2: not a [group]")
    assert main(["wombat", "--arch", "arm", "--", "/bin/true"]) == 125
    assert _only_line(capfd).startswith(f"l4gdb: {cfg}:2: not a [group]")


@pytest.mark.slow
def test_files_a_linux_program_cannot_execute(tmp_path, linux_rootfs, own_leftovers):
    """Inside Wombat, execve(2) fails as on Linux (ENOEXEC, EACCES, ENOENT); given to
    `l4gdb wombat` itself, the same file is a one-line error, exit 125."""
    root = linux_rootfs("arm", "execve-bad")
    bad = root / "bad"
    bad.mkdir()
    (bad / "truncated").write_bytes((root / "bin" / "busybox").read_bytes()[:3000])
    shutil.copy("/bin/true", bad / "wrong-arch")               # the host's: x86-64
    (bad / "text").write_text("echo no #! line\n")
    (bad / "empty").write_bytes(b"")
    for name in ("truncated", "wrong-arch", "text", "empty"):
        (bad / name).chmod(0o755)
    shutil.copy(root / "bin" / "busybox", bad / "not-executable")
    (bad / "not-executable").chmod(0o644)
    (bad / "directory").mkdir()

    def wombat(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*L4GDB, "wombat", "--arch", "arm", "--rootfs", str(root),
                               "--timeout", "60", "--", *argv], capture_output=True, text=True,
                              timeout=120, env={**os.environ, **own_leftovers})

    done = wombat("/execve-bad")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "execve: truncated: -8", "execve: wrong-arch: -8", "execve: text: -8",
        "execve: empty: -8", "execve: not-executable: -13", "execve: directory: -13",
        "execve: missing: -2"]
    for name, problem in (("wrong-arch", "Exec format error (wrong ELF class or byte order)"),
                          ("not-executable", "Permission denied")):
        done = wombat(f"/bad/{name}")
        assert done.returncode == 125
        assert done.stderr == f"l4gdb: wombat: cannot run /bad/{name}: {problem}\n"
