"""QEMU's monitor (QMP) lost or mute, with a fake ``qemu-system-*`` that serves the
QMP socket as told: starting fails with one clear TargetError, quitting does not
wait for a monitor that will never answer, and the process is gone either way."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from l4gdb.target.errors import TargetError
from l4gdb.target.qemu import QemuProcess

# Serves QMP on the -qmp unix socket: greets and answers until it has answered
# MUTE_AFTER commands (0: not even the greeting), then reads and says nothing.
FAKE_QEMU = r'''#!{python}
import json, os, socket, sys, time
mute_after = int(os.environ["FAKE_QMP_MUTE_AFTER"])
gdb = next(a for a in sys.argv if a.startswith("socket,id=gdb,"))
gdb_srv = socket.socket(socket.AF_UNIX)     # the gdbstub: listening, never answering
gdb_srv.bind(gdb.split("path=")[1].split(",")[0])
gdb_srv.listen(1)
path = next(a for a in sys.argv if a.startswith("unix:"))[5:].split(",")[0]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
conn, _ = srv.accept()
if mute_after > 0:
    conn.sendall(b'{{"QMP": {{"version": {{"qemu": {{"major": 7, "minor": 2, "micro": 0}}, '
                 b'"package": ""}}, "capabilities": []}}}}\r\n')
answered, buf, decoder = 0, "", json.JSONDecoder()
while answered < mute_after and (data := conn.recv(4096)):
    buf += data.decode()
    while answered < mute_after and buf.strip():
        try:
            cmd, end = decoder.raw_decode(buf.lstrip())
        except ValueError:
            break                           # (the client writes JSON without newlines)
        buf = buf.lstrip()[end:]
        conn.sendall(json.dumps({{"return": {{"status": "prelaunch", "running": False}},
                                 "id": cmd.get("id")}}).encode() + b"\r\n")
        answered += 1
time.sleep(600)
'''


def _fake_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    binary = tmp_path / "qemu-system-fake"
    binary.write_text(FAKE_QEMU.format(python=sys.executable))
    binary.chmod(0o755)
    (tmp_path / "c.cfg").write_text('[machine]\n  type = "virt"\n')
    (tmp_path / "k.elf").write_bytes(b"\x7fELF")
    return tmp_path / "c.cfg", tmp_path / "k.elf", binary


@pytest.fixture
def fake_qemu(tmp_path, monkeypatch):
    def make(mute_after: int) -> QemuProcess:
        config, kernel, binary = _fake_files(tmp_path)
        monkeypatch.setenv("FAKE_QMP_MUTE_AFTER", str(mute_after))
        return QemuProcess(config, kernel, arch="arm", binary=str(binary),
                           log_path=tmp_path / "qemu.log",
                           start_timeout=1.0)

    return make


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("mute_after, what", [
    (0, "QMP: QEMU's monitor did not answer within 1 s"),                   # no greeting
    (1, "QMP query-status failed: QEMU's monitor did not answer within 1 s"),   # mute later
])
def test_a_mute_monitor_at_start_is_one_error_and_no_process(fake_qemu, mute_after, what):
    qemu = fake_qemu(mute_after)
    t0 = time.monotonic()
    with pytest.raises(TargetError) as e:
        qemu.start()
    assert str(e.value).splitlines()[0] == what
    assert time.monotonic() - t0 < 8
    assert qemu.proc is not None and _gone(qemu.proc.pid)


def test_quit_does_not_wait_for_a_mute_monitor(fake_qemu, monkeypatch):
    import l4gdb.target.qemu as module

    monkeypatch.setattr(module, "QUIT_TIMEOUT_S", 0.5)
    qemu = fake_qemu(2)             # capabilities and query-status answered, quit not
    qemu.start()
    pid = qemu.proc.pid
    t0 = time.monotonic()
    qemu.close()
    assert time.monotonic() - t0 < 3
    assert _gone(pid)


def test_a_lost_monitor_connection_still_ends_qemu(fake_qemu):
    qemu = fake_qemu(9)
    qemu.start()
    pid = qemu.proc.pid
    qemu.qmp.close()                # the connection gone under the host's feet
    with pytest.raises(TargetError, match="QMP query-status failed: the QMP connection is closed"):
        qemu.status()
    qemu.close()
    assert _gone(pid)


def test_only_the_error_reaches_stderr(tmp_path):
    """With logging not configured (as under the l4gdb command), the QMP library's
    own complaints about the broken session stay off the terminal."""
    code = ("import sys\nfrom l4gdb.target.qemu import QemuProcess\n"
            "q = QemuProcess(*sys.argv[1:3], arch='arm', binary=sys.argv[3], start_timeout=1.0)\n"
            "try:\n    q.start()\nexcept Exception as e:\n    print(e)\n")
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run([sys.executable, "-c", code, *map(str, _fake_files(tmp_path))],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "FAKE_QMP_MUTE_AFTER": "1", "PYTHONPATH": str(src)})
    assert done.stdout.startswith("QMP query-status failed: QEMU's monitor did not answer")
    assert done.stderr == ""
