"""Issue 16, item 3: a guest's writes to the rootfs do not outlive its run.

Run 1 (busybox sh under ``l4gdb wombat --arch arm``) replaces /bin/sh, makes
files setuid and chmods the jail root. While it is alive no host file (in the
rootfs cache, nor in the run's temporary directories) carries a setuid, setgid
or sticky bit; run 2 then sees the pristine rootfs. ``--rootfs-persist``
writes through, still without a setuid bit on the host.
"""

from __future__ import annotations

import os
import select
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from l4gdb.runtime.rootfs import default_rootfs

pytestmark = pytest.mark.slow

L4GDB = [sys.executable, "-m", "l4gdb.cli", "wombat", "--arch", "arm", "--timeout", "150"]
UNSAFE = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX

RUN1 = ("cp /bin/busybox /tmp/suid && chmod 4755 /tmp/suid /bin/busybox && chmod 777 / && "
        "chown 1000:1000 /etc/passwd && rm /bin/sh && "
        "printf '#!/bin/busybox echo\\nPOISONED\\n' > /bin/sh && chmod 755 /bin/sh && "
        "stat -c '%a %u %n' /tmp/suid /bin/busybox / /etc/passwd && "
        "ls -l /tmp/suid && head -1 /bin/sh && echo READY && read go && echo BYE")
RUN2 = "readlink /bin/sh; ls /tmp; stat -c '%a %u %n' /bin/busybox / /etc/passwd"


def host_state(top: Path) -> dict[str, tuple[int, int, int]]:
    """(mode, uid, size) of every entry under ``top`` (links not followed)."""
    out = {".": (top.lstat().st_mode, top.lstat().st_uid, 0)}
    for dirpath, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            st = (Path(dirpath) / name).lstat()
            out[str((Path(dirpath) / name).relative_to(top))] = \
                (st.st_mode, st.st_uid, st.st_size)
    return out


def unsafe(top: Path) -> list[str]:
    return [f"{top / p} {stat.S_IMODE(m):o}" for p, (m, _, _) in host_state(top).items()
            if not stat.S_ISLNK(m) and m & UNSAFE]


@pytest.fixture
def cache(tmp_path) -> Path:
    """A rootfs cache (L4GDB_ROOTFS_DIR) holding a copy of the arm rootfs, as
    build-rootfs leaves it now: no host directory sticky or world-writable."""
    from l4gdb.runtime.rootfs import settle_modes

    base = tmp_path / "cache"
    shutil.copytree(default_rootfs("arm"), base / "arm", symlinks=True)
    settle_modes(base / "arm")
    return base


def env_for(cache: Path, tmp: Path) -> dict[str, str]:
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "L4GDB_ROOTFS_DIR": str(cache), "TMPDIR": str(tmp),
            "L4GDB_LOG_ROOT": str(tmp / "logs")}


def read_until(proc: subprocess.Popen[bytes], marker: bytes, timeout: float) -> bytes:
    """The run's console output up to ``marker`` (it then waits for input)."""
    assert proc.stdout is not None
    fd, got, end = proc.stdout.fileno(), b"", time.monotonic() + timeout
    while marker not in got:
        left = end - time.monotonic()
        if left <= 0 or proc.poll() is not None and not select.select([fd], [], [], 0)[0]:
            break
        if select.select([fd], [], [], min(left, 1.0))[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            got += chunk
    return got


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End run 1 if a check failed: EOF on stdin ends the guest's ``read``; a
    signal is the last resort (SIGKILL would leave l4gdb's QEMU behind)."""
    if proc.poll() is not None:
        return
    for end in (lambda: proc.stdin.close(), proc.terminate, proc.kill):  # type: ignore[union-attr]
        try:
            end()
            proc.communicate(timeout=30)
            return
        except (subprocess.TimeoutExpired, OSError, ValueError):
            continue


def test_a_run_leaves_no_trace_and_no_setuid_file(cache, tmp_path):
    root = cache / "arm"
    before = host_state(root)
    tmp = tmp_path / "tmp"
    proc = subprocess.Popen([*L4GDB, "--", "/bin/sh", "-c", RUN1], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env_for(cache, tmp))
    try:
        out = read_until(proc, b"READY\n", 150).decode()
        assert "READY" in out, (out, proc.poll())
        # the guest sees what it set ...
        assert "4755 0 /tmp/suid\n4755 0 /bin/busybox\n777 0 /\n644 1000 /etc/passwd\n" in out
        assert "-rwsr-xr-x" in out and "#!/bin/busybox echo" in out
        # ... the host has none of it, in the rootfs nor in the run's temporary files
        assert unsafe(root) == [] and unsafe(tmp) == []
        assert host_state(root) == before
        uppers = list(tmp.glob("l4gdb-wombat-upper-*"))
        assert len(uppers) == 1 and (uppers[0] / "tmp/suid").is_file()
        assert stat.S_IMODE((uppers[0] / "tmp/suid").stat().st_mode) == 0o755
        assert stat.S_IMODE(uppers[0].stat().st_mode) == 0o700
        assert (uppers[0] / "etc/passwd").stat().st_uid == os.getuid()
        rest, err = proc.communicate(b"go\n", timeout=60)
    finally:
        stop(proc)
    assert proc.returncode == 0 and rest == b"BYE\n", err.decode()
    assert list(tmp.glob("l4gdb-wombat-upper-*")) == []   # dropped at exit
    assert host_state(root) == before

    run2 = subprocess.run([*L4GDB, "--", "/bin/sh", "-c", RUN2], capture_output=True,
                          text=True, timeout=180, env=env_for(cache, tmp_path / "tmp2"))
    assert run2.returncode == 0, run2.stderr
    assert run2.stdout == "busybox\n755 0 /bin/busybox\n755 0 /\n644 0 /etc/passwd\n"
    assert "POISONED" not in run2.stdout
    assert host_state(root) == before and unsafe(root) == []


def test_rootfs_persist_writes_through_without_setuid_on_the_host(cache, tmp_path):
    root = cache / "arm"
    mode_of_root = root.stat().st_mode
    script = ("echo kept > /etc/motd && cp /bin/busybox /tmp/suid && chmod 6755 /tmp/suid && "
              "chmod 1777 / && stat -c '%a' /tmp/suid /")
    run1 = subprocess.run([*L4GDB, "--rootfs-persist", "--", "/bin/sh", "-c", script],
                          capture_output=True, text=True, timeout=180,
                          env=env_for(cache, tmp_path / "tmp"))
    assert (run1.returncode, run1.stdout) == (0, "6755\n1777\n"), run1.stderr
    assert (root / "etc/motd").read_text() == "kept\n"
    assert stat.S_IMODE((root / "tmp/suid").stat().st_mode) == 0o755
    assert root.stat().st_mode == mode_of_root and unsafe(root) == []
    run2 = subprocess.run([*L4GDB, "--", "/bin/cat", "/etc/motd"], capture_output=True,
                          text=True, timeout=180, env=env_for(cache, tmp_path / "tmp2"))
    assert (run2.returncode, run2.stdout) == (0, "kept\n"), run2.stderr
