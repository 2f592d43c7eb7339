"""Isolation, proved by attack (issue "Hardening", item 2).

* A hostile Linux program (src/guest/linux/jail-escape.c) tries to leave
  Wombat's rootfs jail: `..` past the root, absolute and relative symlinks,
  a symlink or hard link to a host path, /proc/self/root, /proc/self/cwd and
  /proc/self/fd/N, openat and fchdir with a directory descriptor, a deleted
  working directory, a rename race with a forked child, and root's ways out
  of a chroot (a second chroot, the parent's /proc/PID/root, device nodes).
  Each attempt must reach the jail's /marker ("JAIL MARKER"), never the file
  of the same name one directory up on the host ("HOST SECRET"), and give
  what Linux gives in a chroot -- the same binary chrooted into a copy of the
  same tree (natively on x86, under qemu-user on arm and mips) is the
  reference -- except where Wombat is stricter (WOMBAT below).
* A hostile native program (src/guest/apps/hostile) attacks another PD under
  Iguana: its memory, the kernel's, the KIP, other threads and spaces, and
  Iguana objects with guessed, computed (from its own passwords) and revoked
  capabilities; every PASS line is followed by what stopped the attempt.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

L4GDB = [sys.executable, "-m", "l4gdb.cli"]
PROC_LINES = ("proc-self-root", "proc-self-root-dotdot", "proc-self-cwd-dotdot", "proc-self-exe",
              "proc-self-fd-dotdot", "proc-parent-root")
# What Linux gives in a chroot, as root (measured on x86 natively, on arm and mips
# under qemu-user, with /proc mounted). `..`, symlinks, /proc's links and the
# rename race all stay inside; root's own ways out of a chroot do not: a second
# chroot with `..` from outside it, and the /proc/PID/root of a process outside
# (its parent) reach the host's file, and a device node in the tree opens the
# host's device.
LINUX = {
    "dotdot-absolute": "JAIL MARKER", "chdir-up-cwd": "/", "chdir-up": "JAIL MARKER",
    "dotdot-relative": "JAIL MARKER", "symlink-absolute": "JAIL MARKER",
    "symlink-relative": "JAIL MARKER", "host-path": "-ENOENT",
    "symlink-to-host-path": "-ENOENT", "hardlink-to-host-path": "-ENOENT",
    "proc-self-root": "/", "proc-self-root-dotdot": "JAIL MARKER",
    "proc-self-cwd-dotdot": "JAIL MARKER", "proc-self-exe": "/jail-escape",
    "openat-dirfd-dotdot": "JAIL MARKER", "fchdir-dotdot": "JAIL MARKER",
    "openat-absolute-ignores-dirfd": "JAIL MARKER", "deleted-cwd-dotdot": "JAIL MARKER",
    "proc-self-fd-dotdot": "JAIL MARKER", "host-device-node": "0", "mknod": "0",
    "rename-race": "host never reached (jail marker read)",
    "proc-parent-root": "HOST SECRET", "chroot": "0", "chroot-escape": "HOST SECRET",
}
# Where Wombat differs from Linux, always on the safe side: a process's working
# directory is a path, so once that directory is deleted `..` from it is ENOENT
# (Linux still knows the deleted directory's parent); the jail is the whole file
# system of the Linux server, not a chroot inside one: there is no process
# outside it (the first one's parent is pid 0, no /proc/0), no chroot(2) or
# mknod(2) (ENOSYS), and a host device node in the tree does not open (EACCES:
# only regular files, directories and links of the host are used).
WOMBAT = {**LINUX, "deleted-cwd-dotdot": "-ENOENT", "host-device-node": "-EACCES",
          "mknod": "-ENOSYS", "proc-parent-root": "-ENOENT", "chroot": "-ENOSYS",
          "chroot-escape": "-ENOENT"}
# Linux's answers come from the same binary in a chroot: run natively where the
# host runs it (i386 on x86_64), else under qemu-user copied into the jail.
QEMU_USER = {"arm": "qemu-arm-static", "mips": "qemu-mipsel-static", "x86": "qemu-i386-static"}


def _jail(linux_rootfs, arch: str, tmp_path: Path) -> Path:
    root = linux_rootfs(arch, "jail-escape")
    (root / "tmp").mkdir(exist_ok=True)
    (root / "marker").write_text("JAIL MARKER\n")
    (tmp_path / "marker").write_text("HOST SECRET\n")           # one level above the jail
    (root / "host-path").write_text(str(tmp_path / "marker") + "\n")
    try:                                                         # the host's /dev/zero
        os.mknod(root / "hostdev", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    except OSError:
        pass
    return root


def _results(out: str, root: Path) -> dict[str, str]:
    lines = [ln.removeprefix("jail: ") for ln in out.splitlines() if ln.startswith("jail: ")]
    assert lines and lines[-1] == "done", out
    got = dict(ln.split(": ", 1) for ln in lines[:-1])
    if not (root / "hostdev").exists():          # no CAP_MKNOD here: nothing to open
        assert got.pop("host-device-node") == "-ENOENT"
    return got


def _expected(want: dict[str, str], root: Path) -> dict[str, str]:
    return {k: v for k, v in want.items()
            if k != "host-device-node" or (root / "hostdev").exists()}


@pytest.mark.parametrize("arch", ["arm", "mips", "x86"])
def test_a_linux_program_cannot_leave_the_rootfs(arch, tmp_path, linux_rootfs, no_leftovers):
    root = _jail(linux_rootfs, arch, tmp_path)
    done = subprocess.run([*L4GDB, "wombat", "--arch", arch, "--rootfs", str(root),
                           "--timeout", "150", "--", "/jail-escape"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "HOST SECRET" not in done.stdout
    assert _results(done.stdout, root) == _expected(WOMBAT, root)


def _can_chroot() -> bool:
    return os.geteuid() == 0 and shutil.which("chroot") is not None


def _runner(arch: str, root: Path) -> list[str]:
    """How the host runs the arch's binary in the chroot: natively, or under
    qemu-user (static, copied into the jail: nothing of the host is needed)."""
    probe = subprocess.run([str(root / "jail-escape")], capture_output=True, check=False,
                           timeout=60, cwd="/") if arch == "x86" else None
    if probe is not None and probe.returncode == 0:
        return []
    qemu = shutil.which(QEMU_USER[arch])
    if qemu is None:
        pytest.skip(f"{QEMU_USER[arch]} is missing (scripts/setup installs qemu-user-static)")
    shutil.copy(qemu, root / "qemu-user")
    return ["/qemu-user"]


@pytest.mark.skipif(not _can_chroot(), reason="needs root for chroot")
@pytest.mark.parametrize("arch", ["arm", "mips", "x86"])
def test_the_expected_outcomes_are_what_linux_does(arch, tmp_path, linux_rootfs):
    """The same binary in a chroot of the same tree on Linux: Linux's answers."""
    root = _jail(linux_rootfs, arch, tmp_path)
    runner = _runner(arch, root)
    mounted = subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")],
                             capture_output=True).returncode == 0
    try:
        done = subprocess.run(["chroot", str(root), *runner, "/jail-escape"],
                              capture_output=True, text=True, timeout=60)
    finally:
        if mounted:
            subprocess.run(["umount", str(root / "proc")], capture_output=True)
    assert done.returncode == 0, done.stdout + done.stderr
    native = _results(done.stdout, root)
    expected = _expected(LINUX, root)
    if not mounted:                          # no /proc in the chroot: nothing to compare
        for name in PROC_LINES:
            expected.pop(name)
            native.pop(name)
    assert native == expected


# Checks every arch must pass; the kernel areas and device areas come from the KIP.
HOSTILE_CHECKS = ("victim-ready", "read-other-pd-memory", "write-other-pd-memory", "write-kip",
                  "write-other-space-utcb", "exregs-other-space", "threadcontrol-unprivileged",
                  "spacecontrol-unprivileged", "schedule-not-the-scheduler",
                  "iguana-without-capabilities", "iguana-guessed-capabilities",
                  "iguana-predicted-capabilities", "iguana-guess-window",
                  "iguana-hardware-guessed", "iguana-revoked-capabilities",
                  "map-a-page-not-given", "no-device-memory-in-every-space",
                  "map-a-page-not-given-no-access", "secret-unchanged", "victim-still-runs")
# Arches whose driver device page is handed out per driver (not in every space):
# an attacker without the hardware capability is stopped at it.
DEVICE_PAGE_CHECKS = ("device-page-touch", "device-page-from-sigma0",
                      "device-page-back-memsection")
DEVICE_CHECKS = {"arm": DEVICE_PAGE_CHECKS, "mips": DEVICE_PAGE_CHECKS,
                 "riscv": DEVICE_PAGE_CHECKS}


@pytest.mark.parametrize("arch", ["arm", "mips", "x86", "riscv"])
def test_a_native_program_cannot_reach_another_pd(arch, l4gdb, no_leftovers):
    from l4gdb.runtime.plugins import get_plugins

    if arch not in get_plugins().arch_names():
        pytest.skip(f"no {arch} plugin installed")
    r = l4gdb("run", "--arch", arch, "--no-gdb", "--timeout", "150", "hostile")
    assert r.code == 0, r.out + r.err
    passed = {ln.split()[1].split("/", 1)[1] for ln in r.out.splitlines()
              if ln.startswith("PASS hostile/")}
    assert set(HOSTILE_CHECKS) <= passed, r.out
    assert set(DEVICE_CHECKS.get(arch, ())) <= passed, r.out
    areas = int(r.out.split(" kernel areas")[0].rsplit(" ", 1)[1])
    assert areas >= 2                                   # the image and the rest at least
    assert sum(n.startswith("read-kernel-area-") for n in passed) >= 2
    # Refused faults are Iguana's, and it says so.
    assert "(not attached to its PD): thread stopped" in r.out
    assert "FAIL" not in r.out
