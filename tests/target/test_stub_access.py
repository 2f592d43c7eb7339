"""Who reaches the host's own stub, and what a client-given size can make it do:
a unix socket in a 0700 directory by default, one client at a time, TCP only
when asked for (loopback, with a warning), and every length bounded."""

from __future__ import annotations

import logging
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from target_fakes import FEATURES, MEM_BASE, FakeProvider, RawClient

from l4gdb.target.packet import frame, unescape
from l4gdb.target.stub import MAX_MEM, PACKET_SIZE, GdbStub


class SizeLog(FakeProvider):
    """Records the sizes the stub asks the host to read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[int] = []

    def read_memory(self, addr: int, size: int) -> bytes:
        self.reads.append(size)
        return super().read_memory(addr, size)


@pytest.fixture
def provider() -> SizeLog:
    """What the ``stub`` fixture (conftest.py) serves: a provider that logs the sizes."""
    return SizeLog()


@pytest.fixture
def sizes(provider: SizeLog) -> SizeLog:
    return provider


def closed_without_reply(sock: socket.socket, timeout: float = 2.0) -> bool:
    """True when the peer closes ``sock`` (EOF or reset) having sent nothing."""
    sock.settimeout(timeout)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True


def test_default_is_a_unix_socket_in_a_private_dir_removed_at_close(
        provider: FakeProvider) -> None:
    stub = GdbStub(provider, FEATURES)
    sock = Path(stub.address)
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    stub.close()
    assert not sock.parent.exists()


def test_in_the_runs_directory_the_socket_goes_and_the_directory_stays(
        provider: FakeProvider, tmp_path: Path) -> None:
    with GdbStub(provider, FEATURES, directory=str(tmp_path)) as stub:
        assert stub.address == str(tmp_path / "stub.sock")
        assert RawClient(stub.address).cmd(b"qAttached") == b"1"
    assert not (tmp_path / "stub.sock").exists() and tmp_path.is_dir()


def test_a_second_client_is_closed_at_once_while_one_is_attached(
        client: RawClient, stub: GdbStub, caplog: pytest.LogCaptureFixture) -> None:
    assert client.cmd(b"qAttached") == b"1"
    with caplog.at_level(logging.WARNING, logger="l4gdb.target.stub"):
        second = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        second.connect(stub.address)
        try:
            second.sendall(frame(b"?"))
        except BrokenPipeError:          # closed before it could even ask: also refused
            pass
        assert closed_without_reply(second)
        second.close()
    assert "refused a second client" in caplog.text
    assert client.cmd(b"?") == b"T05thread:18801;"      # the first one is still served


def test_tcp_only_when_asked_loopback_only_with_a_warning(
        provider: FakeProvider, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="l4gdb.target.stub"):
        stub = GdbStub(provider, FEATURES, listen="127.0.0.1:0")
    try:
        host, _, port = stub.address.rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        assert "every local user can reach it" in caplog.text
        first = RawClient(stub.address)
        assert first.cmd(b"qC") == b"QC18801"
        second = socket.create_connection(("127.0.0.1", int(port)), timeout=2)
        assert closed_without_reply(second)         # one at a time on TCP too
        second.close()
        first.close()
    finally:
        stub.close()
    for bad in ("0.0.0.0:0", "192.0.2.1:0", "example.org:0", "127.0.0.1"):
        with pytest.raises(ValueError):
            GdbStub(provider, FEATURES, listen=bad)


def test_memory_reads_are_bounded(client: RawClient, sizes: SizeLog) -> None:
    reply = client.cmd(b"m%x,%x" % (MEM_BASE, MAX_MEM))
    assert len(reply) == 2 * MAX_MEM <= PACKET_SIZE
    for length in (MAX_MEM + 1, 0x7FFFFFFF, 1 << 80):
        assert client.cmd(b"m%x,%x" % (MEM_BASE, length)) == b"E16"
    assert client.cmd(b"m%x,10" % (1 << 64)) == b"E16"              # beyond the address space
    assert client.cmd(b"m%x,10" % ((1 << 64) - 8)) == b"E16"        # wraps around it
    assert client.cmd(b"m-10,4") == b"E16"
    assert sizes.reads == [MAX_MEM]            # the refused ones never reached the host


def test_memory_writes_must_match_their_length(client: RawClient, sizes: SizeLog) -> None:
    assert client.cmd(b"M%x,4:0102" % MEM_BASE) == b"E16"            # shorter than said
    assert client.cmd(b"M%x,1:0102" % MEM_BASE) == b"E16"            # longer than said
    assert client.cmd(b"M%x,2:zz00" % MEM_BASE) == b"E16"            # not hex
    assert client.cmd(b"M%x,%x:00" % (MEM_BASE, 1 << 40)) == b"E16"
    assert client.cmd(b"X%x,5:ab" % MEM_BASE) == b"E16"
    assert client.cmd(b"M%x,2:0102" % MEM_BASE) == b"OK"
    assert client.cmd(b"m%x,2" % MEM_BASE) == b"0102"


def test_other_client_sizes(client: RawClient, provider: FakeProvider) -> None:
    assert client.cmd(b"Z0,40000050,%x" % (1 << 70)) == b"E16"       # breakpoint kind
    assert client.cmd(b"Z0,%x,4" % (1 << 64)) == b"E16"
    assert client.cmd(b"Pf=78563412aa") == b"E16"                    # 5 bytes for a 4-byte pc
    assert client.cmd(b"Pf=7856") == b"E16"
    assert client.cmd(b"qRcmd,zz") == b"E16"
    assert client.cmd(b"qXfer:features:read:target.xml:-1,10") == b"E16"


def test_a_big_qxfer_length_gets_at_most_a_packet(provider: FakeProvider) -> None:
    big = dict(FEATURES)
    big["arm-extra.xml"] = FEATURES["arm-extra.xml"].replace(
        b"<feature", b"<!-- " + b"#$}*" * 10000 + b" --><feature", 1)
    with GdbStub(provider, big) as stub:
        c = RawClient(stub.address)
        whole = b""
        while True:
            reply = c.cmd(b"qXfer:features:read:arm-extra.xml:%x,ffffffff" % len(whole))
            assert len(reply) <= PACKET_SIZE
            whole += unescape(reply[1:])
            if reply[:1] == b"l":
                break
        c.close()
    assert whole == big["arm-extra.xml"]


def test_a_packet_longer_than_packet_size_drops_the_client(
        client: RawClient, stub: GdbStub) -> None:
    client.send_raw(b"$" + b"a" * (PACKET_SIZE + 64))        # and never a '#'
    assert closed_without_reply(client.sock)
    deadline = time.monotonic() + 2
    while stub.connected.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    again = RawClient(stub.address)                            # the stub still serves
    assert again.cmd(b"qAttached") == b"1"
    again.close()


AS_NOBODY = """
import os, socket, sys
os.setgid(65534); os.setgroups([]); os.setuid(65534)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit(0)
sys.exit(1)
"""


def test_the_stub_socket_refuses_other_users(provider: FakeProvider) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to try as another user")
    with GdbStub(provider, FEATURES) as stub:
        done = subprocess.run([sys.executable, "-c", AS_NOBODY, stub.address], timeout=30,
                              capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("listen, why", [
    ("0.0.0.0:0", "the gdb stub listens on loopback addresses only"),
    ("192.0.2.1:1234", "the gdb stub listens on loopback addresses only"),
    ("127.0.0.1:99999", "no such port"),
    ("1234", "expected LOOPBACK-ADDRESS:PORT"),
])
def test_a_bad_listen_option_is_a_usage_error_before_boot(
        listen: str, why: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import l4gdb.runtime.system
    from l4gdb.cli import main

    def no_boot(*args: object, **kwargs: object) -> None:
        raise AssertionError("booted despite a bad --listen")

    monkeypatch.setattr(l4gdb.runtime.system, "toolchain_for", no_boot)
    assert main(["gdb", "--arch", "arm", "--batch", "--listen", listen, "hello"]) == 2
    err = capsys.readouterr().err
    assert err == f"l4gdb: --listen {listen!r}: {why}\n"
