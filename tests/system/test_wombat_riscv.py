"""Wombat on riscv64 and riscv (rv32) (issue 17's proof that every arch fact lives in its plugin):
freestanding Linux programs of our own (src/guest/linux/, built with the riscv
plugin's toolchain) in a temporary rootfs -- Debian 12 has no riscv64 busybox --
run under ``l4gdb wombat --arch riscv64`` (and ``--arch riscv``).

What they prove beyond the generic calls (write, getcwd, openat, read, mmap,
exit status): Linux's system-call numbers 1..13, which are L4's too, reach the
Linux server (the riscv L4 ABI tags its own numbers), and the thread pointer a
Linux program sets itself survives its kernel entries. The arch-neutral lines
are compared with the same binary under qemu-user, chrooted into the same tree,
when the host lets us chroot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

QEMU_USER = {"riscv64": "qemu-riscv64-static", "riscv": "qemu-riscv32-static"}
BASICS_TEXT = "hello from the rootfs\n"
# src/guest/linux/linux-basics.c, on riscv (exit status 3)
BASICS_OUT = ["cwd=/", "file=hello from the rootfs", "missing=-2", "efault=-14", "mmap=ok",
              "low-numbers=-38", "tp=kept"]
RISCV_ONLY = ("low-numbers=",)        # Wombat's ENOSYS, not a Linux kernel's answers


@pytest.fixture(params=sorted(QEMU_USER, reverse=True))
def arch(request) -> str:
    try:
        from l4gdb_riscv import plugin  # noqa: F401
    except ImportError:
        pytest.skip("the riscv plugin is not installed (pip install -e plugins/riscv)")
    binary = "qemu-system-riscv64" if request.param == "riscv64" else "qemu-system-riscv32"
    if shutil.which(binary) is None:
        pytest.skip(f"needs {binary} (apt-get install qemu-system-misc)")
    return request.param


@pytest.fixture
def riscv_root(tmp_path, arch) -> Path:
    """A rootfs with nothing but our programs and /etc/basics.txt."""
    from l4gdb.runtime.linux_progs import build_linux_program
    from l4gdb.runtime.system import toolchain_for

    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/basics.txt").write_text(BASICS_TEXT)
    for name in ("linux-basics", "getppid-loop"):
        build_linux_program(toolchain_for(arch), name, root / name)
    return root


def test_linux_basics(l4gdb, no_leftovers, arch, riscv_root):
    r = l4gdb("wombat", "--arch", arch, "--rootfs", str(riscv_root), "--strace",
              "--timeout", "120", "--", "/linux-basics")
    assert r.out.splitlines() == BASICS_OUT, r.out + r.err
    assert r.code == 3, r.err
    assert "Traceback" not in r.err
    # the calls by their generic names (rv32: mmap2), below mmap_base
    assert '1 openat(AT_FDCWD, "/etc/basics.txt", 0x0, 00) = 3' in r.err
    mmap = ("1 mmap(NULL, 8192, 0x3, 0x22, -1, 0) = 0x3f" if arch == "riscv64"
            else "1 mmap2(NULL, 8192, 0x3, 0x22, -1, 0) = 0x76")
    assert mmap in r.err
    assert "1 write(1, 0x10, 4) = -1 EFAULT (Bad address)" in r.err
    assert "system call io_destroy is not implemented (ENOSYS)" in r.err   # a7 = 1: Linux's
    assert "1 +++ exited with 3 +++" in r.err


def test_getppid_loop_and_exit_status_zero(l4gdb, no_leftovers, arch, riscv_root):
    r = l4gdb("wombat", "--arch", arch, "--rootfs", str(riscv_root), "--timeout", "120",
              "--", "/getppid-loop")
    assert (r.code, r.out) == (0, "getppid-loop: done\n"), r.err


def test_a_program_that_is_not_there(l4gdb, arch, riscv_root):
    r = l4gdb("wombat", "--arch", arch, "--rootfs", str(riscv_root), "--", "/nothing")
    assert r.code == 125 and "Traceback" not in r.err, r.err


def test_the_same_binary_under_qemu_user(l4gdb, no_leftovers, arch, riscv_root):
    """Linux's own answers (qemu-user in a chroot of the same tree) for every line
    that is not Wombat's alone."""
    qemu = shutil.which(QEMU_USER[arch])
    if qemu is None or os.geteuid() != 0:
        pytest.skip(f"needs {QEMU_USER[arch]} and root (chroot) for the reference run")
    ref = riscv_root.parent / "ref"
    shutil.copytree(riscv_root, ref)
    shutil.copy(qemu, ref / "qemu")
    done = subprocess.run(["chroot", str(ref), "/qemu", "/linux-basics"], capture_output=True,
                          text=True, timeout=60, cwd="/")
    want = [ln for ln in done.stdout.splitlines() if not ln.startswith(RISCV_ONLY)]
    r = l4gdb("wombat", "--arch", arch, "--rootfs", str(riscv_root), "--timeout", "120",
              "--", "/linux-basics")
    assert [ln for ln in r.out.splitlines() if not ln.startswith(RISCV_ONLY)] == want
    assert r.code == done.returncode == 3
