"""Wombat against qemu-user: Debian's unmodified busybox-static runs the same
shell scripts on L4 + Iguana + the Linux server as under qemu-<arch>-static
chrooted into a copy of the same rootfs, and prints the same bytes and exits
with the same status (scripts leave out what depends on pids or time)."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from l4gdb.runtime.plugins import get_plugins

pytestmark = pytest.mark.slow

QEMU_USER = {"arm": "qemu-arm-static", "mips": "qemu-mipsel-static", "x86": "qemu-i386-static"}
# binfmt_misc magic and mask of 32-bit little-endian executables of each machine (as
# qemu's own binfmt configuration has them); i386 programs run natively on x86_64.
ELF_MACHINE = {"arm": 0x28, "mips": 0x08, "x86": 0x03}
BINFMT = Path("/proc/sys/fs/binfmt_misc")

SCRIPTS = {
    "pipeline": "echo a b c | wc -w; seq 1 20 | grep 1 | sort -rn | head -3",
    "loops": 'x=0; while [ $x -lt 5 ]; do x=$((x+1)); done; echo $x; '
             'for i in 1 2 3; do echo "line $i"; done | sort -r',
    "subshell": "(cd /tmp && pwd; echo in) ; pwd; v=$(echo cmd subst); echo $v; "
                "(exit 3); echo status $?",
    "files": "seq 1 12 > /tmp/f; wc -l < /tmp/f; cat /tmp/f | sed -n 's/1/one/p'; "
             "echo more >> /tmp/f; tail -1 /tmp/f; rm /tmp/f; ls /tmp/f 2>&1 | wc -l",
    "heredoc": "cat <<EOF\nhello $((6*7))\n  indented\nEOF\nwc -c <<'X'\nabc $HOME\nX",
    "kill-wait": "sleep 10 & p=$!; kill $p; wait $p; echo killed $?; "
                 "sleep 0.1 & wait $!; echo slept $?",
    "ls-cat": "ls /etc | sort; cat /etc/passwd | cut -d: -f1,7; ls -d /bin /tmp",
    "status": "false || echo or; true && echo and; exit 7",
    "sigpipe": "yes | head -2; (yes; echo yes-died $? > /tmp/s) | head -1; cat /tmp/s",
    "signal-handler": "trap 'echo got USR1' USR1; kill -USR1 $$; echo after; "
                      "(trap 'echo sub TERM; exit 5' TERM; kill $(sh -c 'echo $PPID'); "
                      "sleep 1); echo sub $?",
}


def _rootfs(arch: str) -> Path:
    from l4gdb.runtime.rootfs import default_rootfs

    try:
        return default_rootfs(arch)
    except Exception as exc:
        pytest.fail(f"no {arch} rootfs: {exc} (scripts/setup builds it)")


@pytest.fixture(scope="module", params=sorted(QEMU_USER))
def arch(request) -> str:
    if get_plugins().hook.l4gdb_linux_abi(arch=request.param) is None:
        pytest.skip(f"{request.param}: no Linux ABI")
    return request.param


def _hex(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


@pytest.fixture(scope="module")
def foreign_exec(arch: str):
    """Let the host run the arch's binaries through qemu-user (binfmt_misc, with the
    interpreter opened now (F) and argv[0] kept (P): busybox finds its applet by
    argv[0]), so a chrooted busybox can exec its applets under qemu too."""
    qemu = shutil.which(QEMU_USER[arch])
    if qemu is None:
        pytest.fail(f"{QEMU_USER[arch]} is missing (scripts/setup installs qemu-user-static)")
    probe = subprocess.run([_rootfs(arch) / "bin" / "busybox", "true"], capture_output=True,
                           check=False) if arch == "x86" else None
    if probe is not None and probe.returncode == 0:
        yield                          # i386 runs natively here
        return
    if not (BINFMT / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=False)
    if not (BINFMT / "register").exists():
        pytest.fail("binfmt_misc is not available: qemu-user cannot follow busybox's execs")
    name = f"l4gdb-test-{arch}-{os.getpid()}"      # one per xdist worker
    magic = b"\x7fELF\x01\x01\x01" + bytes(9) + bytes([2, 0, ELF_MACHINE[arch], 0])
    mask = b"\xff" * 7 + b"\x00" + b"\xff" * 8 + b"\xfe\xff\xff\xff"
    entry = BINFMT / name
    if entry.exists():
        entry.write_text("-1")
    (BINFMT / "register").write_text(f":{name}:M::{_hex(magic)}:{_hex(mask)}:{qemu}:FP")
    yield
    if entry.exists():
        entry.write_text("-1")


@pytest.fixture(scope="module")
def roots(arch: str, foreign_exec, tmp_path_factory) -> tuple[Path, Path]:
    """Two copies of the arch's rootfs: one for Wombat, one chrooted for qemu-user."""
    src = _rootfs(arch)
    base = tmp_path_factory.mktemp(f"wombat-{arch}")
    ours, theirs = base / "wombat", base / "qemu"
    shutil.copytree(src, ours, symlinks=True)
    shutil.copytree(src, theirs, symlinks=True)
    # Wombat serves /dev/null &c. itself; the chroot needs the real nodes.
    for name, minor in (("null", 3), ("zero", 5), ("urandom", 9)):
        node = theirs / "dev" / name
        if not node.exists():
            os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return ours, theirs


def _qemu_user(root: Path, script: str) -> tuple[int, str]:
    done = subprocess.run(["chroot", str(root), "/bin/sh", "-c", script],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/bin:/sbin:/usr/bin:/usr/sbin", "HOME": "/root"})
    return done.returncode, done.stdout


def _wombat(arch: str, root: Path, script: str) -> tuple[int, str, str]:
    from l4gdb.runtime.wombat_system import WombatOptions, run_wombat

    out, err = io.StringIO(), io.StringIO()
    res = run_wombat(WombatOptions(arch=arch, argv=["/bin/sh", "-c", script], rootfs=str(root),
                                   timeout=120, env=["PATH=/bin:/sbin:/usr/bin:/usr/sbin",
                                                     "HOME=/root"]),
                     out=out, err=err, stdin="")
    return res.status, out.getvalue(), err.getvalue() + res.message


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_busybox_prints_what_qemu_user_prints(arch, roots, name):
    ours, theirs = roots
    script = SCRIPTS[name]
    want_status, want = _qemu_user(theirs, script)
    status, got, err = _wombat(arch, ours, script)
    assert got == want, f"{arch} {name}: output differs\nstderr: {err}"
    assert status == want_status, f"{arch} {name}: status {status}, qemu-user {want_status}"
