"""Who can reach a run: every socket of QEMU (gdbstub, QMP, UART) and of the host's
own stub is a unix socket in the run's private directory (0700), held by the host
from start to end; a second client -- this user's, at the start, in the middle
and across the end of a run -- gets nothing (no stub reply, no monitor), another
user cannot even connect, and no TCP listener exists."""

from __future__ import annotations

import json
import os
import select
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from l4gdb.target.packet import frame

pytestmark = pytest.mark.slow

LISTEN_FLAG = 0x10000          # __SO_ACCEPTCON in /proc/net/unix's Flags
TCP_LISTEN = "0A"
QUIET_S = 0.3                  # how long a second client listens for an answer
NOBODY = 65534


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets among ``pid``'s open files."""
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(int(target[8:-1]))
    return out


def unix_listeners(pid: int) -> set[str]:
    """Paths of the listening unix sockets ``pid`` holds (/proc/net/unix + its fds)."""
    mine = socket_inodes(pid)
    paths = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and int(fields[3], 16) & LISTEN_FLAG and int(fields[6]) in mine:
            paths.add(fields[7])
    return paths


def tcp_listeners(pid: int) -> list[str]:
    """Local addresses of the TCP (v4 and v6) sockets in LISTEN that ``pid`` holds."""
    mine = socket_inodes(pid)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == TCP_LISTEN and int(fields[9]) in mine:
                found.append(fields[1])
    return found


class SecondClient:
    """A client of one socket that says what a debugger or a monitor client would
    say first, and keeps whatever comes back."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.got = b""
        self.sock: socket.socket | None = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(1.0)
        try:
            self.sock.connect(path)
            hello = b'{"execute": "qmp_capabilities"}' if path.endswith("qmp.sock") else b""
            # a stop-status query and a monitor command (QEMU hands qRcmd to its HMP)
            monitor = frame(b"qRcmd," + b"info version".hex().encode())
            self.sock.sendall(hello + frame(b"?") + monitor)
        except OSError:             # refused, backlog full, reset: nothing served either
            self.close()

    def listen(self, seconds: float) -> bytes:
        """Read until EOF/reset or ``seconds`` of silence; everything received so far."""
        while self.sock is not None:
            ready, _, _ = select.select([self.sock], [], [], seconds)
            if not ready:
                break
            try:
                data = self.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                self.close()
                break
            self.got += data
        return self.got

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def run_sockets(qemu_pid: int, private: Path) -> list[str]:
    """Every listening socket of the run: QEMU's and the host's (this process)."""
    paths = unix_listeners(qemu_pid) | {p for p in unix_listeners(os.getpid())
                                        if p.startswith(str(private))}
    return sorted(paths)


OTHER_USER = r"""
import errno, json, os, socket, sys
os.setgid(65534); os.setgroups([]); os.setuid(65534)
out = {}
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
        out[path] = "connected"
    except OSError as e:
        out[path] = errno.errorcode.get(e.errno, str(e.errno))
    s.close()
print(json.dumps(out))
"""


def other_user_tries(paths: list[str]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", OTHER_USER, *paths], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


ARCHES = ("arm", "mips", "x86")


@pytest.fixture
def system(l4gdb_system) -> Iterator:
    yield l4gdb_system(program="iguana-test", gdb=True)      # arch: l4gdb_arches below


def expected_names(qemu, *extra: str) -> set[str]:
    """The sockets a run opens: QEMU's gdbstub and QMP, its UART where the board
    has a host-fed one (arm), and the host's own stub when GDB is attached."""
    return {"gdb.sock", "qmp.sock", *extra} | ({"uart.sock"} if qemu.uart else set())


def check_sockets(sys_handle, clients: list[SecondClient]) -> list[str]:
    """Open a second client on every socket of the run; assert it is answered by none."""
    qemu = sys_handle.system.target.qemu
    private = Path(qemu.private_dir)
    paths = run_sockets(qemu.pid, private)
    assert all(Path(p).parent == private for p in paths), paths
    new = [SecondClient(p) for p in paths]
    clients += new
    for c in new:
        assert c.listen(QUIET_S) == b"", f"{c.path} answered a second client: {c.got[:80]!r}"
    assert no_tcp_listener(sys_handle)
    return paths


def run_pids(sys_handle) -> list[int]:
    """The run's processes: the host (this one), QEMU and, when attached, GDB."""
    gdb = getattr(sys_handle.system, "gdb", None)
    gdb_pid = [gdb.proc.pid] if gdb is not None else []
    return [os.getpid(), sys_handle.system.target.qemu.pid, *gdb_pid]


def no_tcp_listener(sys_handle) -> bool:
    found = {pid: tcp_listeners(pid) for pid in run_pids(sys_handle)}
    assert not any(found.values()), f"TCP listeners of the run: {found}"
    return True


@pytest.mark.l4gdb_arches(*ARCHES)
def test_a_second_client_gets_nothing_start_middle_end(system) -> None:
    qemu = system.system.target.qemu
    pid, private = qemu.pid, Path(qemu.private_dir)
    assert stat.S_IMODE(private.stat().st_mode) == 0o700 and private.stat().st_uid == os.getuid()
    clients: list[SecondClient] = []
    paths = check_sockets(system, clients)                 # start: booted, GDB attached
    assert len(run_pids(system)) == 3                        # GDB attached, checked too
    names = {Path(p).name for p in paths}
    assert names == expected_names(qemu, "stub.sock"), names
    if os.geteuid() == 0:      # another user: the directory keeps it out
        assert set(other_user_tries(paths).values()) == {"EACCES"}
    system.expect(r"PASS", timeout=60)
    check_sockets(system, clients)                         # middle: the guest running
    system.close()                                         # end: QEMU quits, host lets go
    for c in clients:
        assert c.listen(2.0) == b"", f"{c.path} served a queued client at the end: {c.got!r}"
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    assert not private.exists()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] == "Z"
    except (OSError, IndexError):
        return True


@pytest.mark.l4gdb_arches(*ARCHES)
def test_the_run_without_gdb_has_no_tcp_listener_and_cleans_up(l4gdb_system) -> None:
    s = l4gdb_system(program="hello")
    qemu = s.system.target.qemu
    private = Path(qemu.private_dir)
    argv = Path(f"/proc/{qemu.pid}/cmdline").read_bytes().split(b"\0")
    assert not any(b"tcp:" in a for a in argv), argv
    assert no_tcp_listener(s)
    assert {Path(p).name for p in run_sockets(qemu.pid, private)} == expected_names(qemu)
    clients: list[SecondClient] = []
    check_sockets(s, clients)
    s.wait_exit(timeout=60)
    s.close()
    deadline = time.monotonic() + 2
    while private.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not private.exists()
    assert all(c.listen(1.0) == b"" for c in clients)


def test_tcp_only_when_asked_and_with_a_warning(l4gdb) -> None:
    """``l4gdb gdb --listen 127.0.0.1:0``: the one way to get a TCP stub, and it says so."""
    done = l4gdb("gdb", "--arch", "arm", "--batch", "--listen", "127.0.0.1:0", "hello",
                 "-ex", "info threads")
    assert done.code == 0, done.err
    warning = [ln for ln in done.err.splitlines() if "listens on TCP 127.0.0.1:" in ln]
    assert warning and "every local user can reach it" in warning[0], done.err
    assert "(root)" in done.out
