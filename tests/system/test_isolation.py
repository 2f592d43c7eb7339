"""Isolation, proved by attack (issue "Hardening", item 2).

* A hostile Linux program (src/guest/linux/jail-escape.c) tries to leave
  Wombat's rootfs jail: `..` past the root, absolute and relative symlinks,
  a symlink or hard link to a host path, /proc/self/root and /proc/self/cwd,
  openat and fchdir with a directory descriptor, a deleted working directory,
  and a rename race with a forked child. Each attempt must reach the jail's
  /marker ("JAIL MARKER"), never the file of the same name one directory up
  on the host ("HOST SECRET"), and give what Linux gives in a chroot: on x86
  the same binary runs natively, chrooted into a copy of the same tree, as
  the reference.
* A hostile native program (src/guest/apps/hostile) attacks another PD under
  Iguana: its memory, the kernel's, the KIP, other threads and spaces, and
  Iguana objects with forged capabilities; every PASS line names what stopped
  the attempt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

L4GDB = [sys.executable, "-m", "l4gdb.cli"]
PROC_LINES = ("proc-self-root", "proc-self-root-dotdot", "proc-self-cwd-dotdot", "proc-self-exe")
# What Linux gives in a chroot (measured natively on x86 with /proc mounted).
LINUX = {
    "dotdot-absolute": "JAIL MARKER", "chdir-up-cwd": "/", "chdir-up": "JAIL MARKER",
    "dotdot-relative": "JAIL MARKER", "symlink-absolute": "JAIL MARKER",
    "symlink-relative": "JAIL MARKER", "host-path": "-2", "symlink-to-host-path": "-2",
    "hardlink-to-host-path": "-2", "proc-self-root": "/", "proc-self-root-dotdot": "JAIL MARKER",
    "proc-self-cwd-dotdot": "JAIL MARKER", "proc-self-exe": "/jail-escape",
    "openat-dirfd-dotdot": "JAIL MARKER", "fchdir-dotdot": "JAIL MARKER",
    "openat-absolute-ignores-dirfd": "JAIL MARKER", "deleted-cwd-dotdot": "JAIL MARKER",
    "rename-race": "host never reached (jail marker read)",
}
# Where Wombat differs from Linux, always on the safe side: a process's working
# directory is a path, so once that directory is deleted `..` from it is ENOENT
# (Linux still knows the deleted directory's parent).
WOMBAT = {**LINUX, "deleted-cwd-dotdot": "-2"}


def _jail(linux_rootfs, arch: str, tmp_path: Path) -> Path:
    root = linux_rootfs(arch, "jail-escape")
    (root / "tmp").mkdir(exist_ok=True)
    (root / "marker").write_text("JAIL MARKER\n")
    (tmp_path / "marker").write_text("HOST SECRET\n")           # one level above the jail
    (root / "host-path").write_text(str(tmp_path / "marker") + "\n")
    return root


def _results(out: str) -> dict[str, str]:
    lines = [ln.removeprefix("jail: ") for ln in out.splitlines() if ln.startswith("jail: ")]
    assert lines and lines[-1] == "done", out
    return dict(ln.split(": ", 1) for ln in lines[:-1])


@pytest.mark.parametrize("arch", ["arm", "mips", "x86"])
def test_a_linux_program_cannot_leave_the_rootfs(arch, tmp_path, linux_rootfs, no_leftovers):
    root = _jail(linux_rootfs, arch, tmp_path)
    done = subprocess.run([*L4GDB, "wombat", "--arch", arch, "--rootfs", str(root),
                           "--timeout", "150", "--", "/jail-escape"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "HOST SECRET" not in done.stdout
    assert _results(done.stdout) == WOMBAT


def _can_chroot() -> bool:
    return os.geteuid() == 0 and shutil.which("chroot") is not None


@pytest.mark.skipif(not _can_chroot(), reason="needs root for chroot")
def test_the_expected_outcomes_are_what_linux_does(tmp_path, linux_rootfs):
    """The same i386 binary, natively in a chroot of the same tree: Linux's answers."""
    root = _jail(linux_rootfs, "x86", tmp_path)
    mounted = subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")],
                             capture_output=True).returncode == 0
    try:
        done = subprocess.run(["chroot", str(root), "/jail-escape"], capture_output=True,
                              text=True, timeout=60)
    finally:
        if mounted:
            subprocess.run(["umount", str(root / "proc")], capture_output=True)
    if done.returncode != 0 and "Exec format error" in done.stderr:
        pytest.skip("this host cannot run i386 programs")
    assert done.returncode == 0, done.stdout + done.stderr
    native = _results(done.stdout)
    expected = dict(LINUX)
    if not mounted:                          # no /proc in the chroot: nothing to compare
        for name in PROC_LINES:
            expected.pop(name)
            native.pop(name)
    assert native == expected


# Checks every arch must pass; the kernel areas and device areas come from the KIP.
HOSTILE_CHECKS = ("victim-ready", "read-other-pd-memory", "write-other-pd-memory", "write-kip",
                  "exregs-other-space", "threadcontrol-unprivileged", "spacecontrol-unprivileged",
                  "schedule-not-the-scheduler", "iguana-without-capabilities",
                  "iguana-guessed-capabilities", "map-a-page-not-given",
                  "map-a-page-not-given-no-access", "secret-unchanged", "victim-still-runs")


@pytest.mark.parametrize("arch", ["arm", "mips", "x86", "riscv"])
def test_a_native_program_cannot_reach_another_pd(arch, l4gdb, no_leftovers):
    from l4gdb.plugins import get_plugins

    if arch not in get_plugins().arch_names():
        pytest.skip(f"no {arch} plugin installed")
    r = l4gdb("run", "--arch", arch, "--no-gdb", "--timeout", "150", "hostile")
    assert r.code == 0, r.out + r.err
    passed = {ln.split()[1].split("/", 1)[1] for ln in r.out.splitlines()
              if ln.startswith("PASS hostile/")}
    assert set(HOSTILE_CHECKS) <= passed, r.out
    areas = int(r.out.split(" kernel areas")[0].rsplit(" ", 1)[1])
    assert areas >= 2                                   # the image and the rest at least
    assert sum(n.startswith("read-kernel-area-") for n in passed) >= 2
    # Refused faults are Iguana's, and it says so.
    assert "(not attached to its PD): thread stopped" in r.out
