"""The host's own gdbstub, served against a fake provider (raw socket client, our
RspClient, and a real gdb-multiarch)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
from target_fakes import FEATURES, MEM_BASE, FakeProvider, RawClient

from l4gdb.target.funnel import HostFunnel
from l4gdb.target.packet import frame
from l4gdb.target.rsp import RspClient
from l4gdb.target.stub import SIGINT, GdbStub


def test_handshake_ack_then_noack(client: RawClient) -> None:
    sup = client.cmd(b"qSupported:multiprocess+;swbreak+")
    assert b"PacketSize=" in sup and b"qXfer:features:read+" in sup
    assert client.acks_seen == 1
    assert client.cmd(b"QStartNoAckMode") == b"OK"
    client.ack = False
    assert client.cmd(b"?") == b"T05thread:18801;"
    assert client.acks_seen == 2       # nothing acked after no-ack mode began


def test_bad_checksum_is_nakked(client: RawClient) -> None:
    client.send_raw(b"$g#00")
    client.send_raw(frame(b"qAttached"))
    assert client.recv() == b"1"
    assert client.acks_seen == 1       # the '-' is not counted as an ack


def test_target_xml_chunks(client: RawClient) -> None:
    whole = b""
    while True:
        reply = client.cmd(b"qXfer:features:read:target.xml:%x,10" % len(whole))
        whole += reply[1:]
        if reply[:1] == b"l":
            break
    assert whole == FEATURES["target.xml"]
    assert client.cmd(b"qXfer:features:read:nope.xml:0,100").startswith(b"E")


def test_threads(client: RawClient) -> None:
    assert client.cmd(b"qfThreadInfo") == b"m18001,18801"
    assert client.cmd(b"qsThreadInfo") == b"l"
    assert client.cmd(b"qC") == b"QC18801"
    assert client.cmd(b"T18001") == b"OK"
    assert client.cmd(b"T5").startswith(b"E")
    extra = client.cmd(b"qThreadExtraInfo,18001")
    assert bytes.fromhex(extra.decode()) == b"sigma0 (ready)"


def test_registers_of_selected_thread(client: RawClient, provider: FakeProvider) -> None:
    g = client.cmd(b"g")
    assert len(g) == 17 * 8                           # r0..pc, cpsr
    assert g[:8] == (0x188010).to_bytes(4, "little").hex().encode()
    assert client.cmd(b"Hg18001") == b"OK"
    g = client.cmd(b"g")
    assert g[:8] == (0x180010).to_bytes(4, "little").hex().encode()
    assert client.cmd(b"p19") == (0x10).to_bytes(4, "little").hex().encode()  # cpsr
    assert client.cmd(b"p1a") == b"xx" * 8                                      # d0: unavailable
    assert client.cmd(b"p99").startswith(b"E")
    assert client.cmd(b"Pf=78563412") == b"OK"
    assert provider.regs[0x18001]["pc"] == 0x12345678
    new = bytearray(bytes.fromhex(g.decode()))
    new[4:8] = (0xCAFE).to_bytes(4, "little")
    assert client.cmd(b"G" + new.hex().encode()) == b"OK"
    assert provider.regs[0x18001]["r1"] == 0xCAFE
    assert provider.regs[0x18801]["r1"] != 0xCAFE


def test_memory(client: RawClient, provider: FakeProvider) -> None:
    assert client.cmd(b"M%x,4:deadbeef" % (MEM_BASE + 16)) == b"OK"
    assert provider.mem[16:20] == b"\xde\xad\xbe\xef"
    assert client.cmd(b"m%x,4" % (MEM_BASE + 16)) == b"deadbeef"
    assert client.cmd(b"m10,4") == b"E14"
    assert client.cmd(b"X%x,0:" % MEM_BASE) == b"OK"                 # GDB's X probe
    assert client.cmd(b"X%x,3:}\x03}]*" % (MEM_BASE + 32)) == b"OK"
    assert provider.mem[32:35] == b"#}*"


def test_breakpoints(client: RawClient, provider: FakeProvider) -> None:
    assert client.cmd(b"Z0,40000050,4") == b"OK"
    assert provider.breakpoints == {(0x40000050, 4)}
    assert client.cmd(b"z0,40000050,4") == b"OK"
    assert provider.breakpoints == set()
    assert client.cmd(b"Z2,40000050,4") == b""                       # watchpoints: unsupported


def test_continue_stop_and_interrupt(
    client: RawClient, stub: GdbStub, provider: FakeProvider
) -> None:
    assert client.cmd(b"vCont?") == b"vCont;c;C;s;S"
    client.send_raw(frame(b"vCont;c"))
    deadline = time.monotonic() + 2
    while not provider.calls and time.monotonic() < deadline:
        time.sleep(0.001)
    assert provider.calls == [("resume", False, None)]
    assert stub.running
    client.send_raw(b"\x03")
    while provider.stop_requests == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert provider.stop_requests == 1
    stub.notify_stop(0x18001, SIGINT)
    assert client.recv() == b"T02thread:18001;"
    assert not stub.running
    assert client.cmd(b"?") == b"T02thread:18001;"
    client.send_raw(frame(b"vCont;s:18801;c"))
    while len(provider.calls) < 2 and time.monotonic() < deadline + 2:
        time.sleep(0.001)
    stub.notify_stop(0x18801)
    assert client.recv() == b"T05thread:18801;"
    assert provider.calls[-1] == ("resume", True, 0x18801)


def test_monitor(client: RawClient) -> None:
    client.send_raw(frame(b"qRcmd," + b"l4 threads".hex().encode()))
    out = client.recv()
    assert out[:1] == b"O" and bytes.fromhex(out[1:].decode()) == b"you said: l4 threads\n"
    assert client.recv() == b"OK"


def test_detach_ends_session(client: RawClient, stub: GdbStub, provider: FakeProvider) -> None:
    assert client.cmd(b"D") == b"OK"
    assert ("detach",) in provider.calls
    try:
        ended = client.sock.recv(10) == b""
    except ConnectionResetError:   # closed with our ack still unread: a reset, also an end
        ended = True
    assert ended
    # a new GDB can attach afterwards
    again = RawClient(stub.address)
    assert again.cmd(b"qAttached") == b"1"
    again.close()


def test_rsp_client_against_stub(stub: GdbStub, provider: FakeProvider) -> None:
    with RspClient(stub.address) as rsp:
        assert rsp.architecture == "arm"
        regs = rsp.read_registers()
        assert regs["pc"] == provider.regs[0x18801]["pc"] and regs["cpsr"] == 0x10
        rsp.write_registers({"r7": 77})
        assert provider.regs[0x18801]["r7"] == 77
        rsp.write_memory(MEM_BASE + 0x100, bytes(range(200)))
        assert rsp.read_memory(MEM_BASE + 0x100, 200) == bytes(range(200))
        assert rsp.monitor("hello") == "you said: hello\n"


def test_funnel_runs_provider_calls_on_the_owner_thread(provider: FakeProvider) -> None:
    funnel = HostFunnel()
    seen: list[str] = []
    real = provider.registers

    def registers(tid: int):  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread().name)
        return real(tid)

    provider.registers = registers  # type: ignore[method-assign]
    with GdbStub(provider, FEATURES, funnel=funnel) as stub:
        result: list[bytes] = []
        c = RawClient(stub.address)
        worker = threading.Thread(target=lambda: result.append(c.cmd(b"g")))
        worker.start()
        deadline = time.monotonic() + 2
        while not result and time.monotonic() < deadline:
            funnel.run_pending()       # the "run loop"
            time.sleep(0.001)
        worker.join(2)
        c.close()
    funnel.close()
    assert result and len(result[0]) == 17 * 8
    assert seen == [threading.current_thread().name]


needs_gdb = pytest.mark.skipif(shutil.which("gdb-multiarch") is None, reason="no gdb-multiarch")


@pytest.mark.slow
@needs_gdb
def test_gdb_batch_info_threads(stub: GdbStub) -> None:
    out = subprocess.run(
        ["gdb-multiarch", "--nx", "--batch", "-ex", "set architecture arm",
         "-ex", f"target remote {stub.address}", "-ex", "info threads",
         "-ex", "monitor l4 threads", "-ex", "detach"],
        capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    assert "sigma0 (ready)" in text and "roottask (running)" in text, text
    assert "you said: l4 threads" in text, text


@pytest.mark.slow
@needs_gdb
def test_gdbmi_session_against_stub(stub: GdbStub, provider: FakeProvider) -> None:
    from l4gdb.target.gdbmi import GdbError, GdbSession

    with GdbSession(init_commands=["set architecture arm"]) as gdb:
        gdb.connect(stub.address)
        threads = gdb.console("info threads")
        assert "sigma0" in threads and "roottask" in threads
        assert "you said: l4 ipc" in gdb.console("monitor l4 ipc")
        gdb.cmd("-break-insert *0x40000060")
        with pytest.raises(GdbError):
            gdb.cmd("-no-such-command")
        gdb.continue_async()
        deadline = time.monotonic() + 5
        while not provider.calls and time.monotonic() < deadline:
            time.sleep(0.005)
        assert (0x40000060, 4) in provider.breakpoints     # GDB inserts them on resume
        stub.notify_stop(0x18001)
        stopped = gdb.wait_stopped(5)
        assert stopped.get("thread-id") == "1"        # GDB's own numbering
        gdb.continue_async()
        gdb.interrupt()
        deadline = time.monotonic() + 5
        while provider.stop_requests == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert provider.stop_requests == 1
        stub.notify_stop(0x18801, SIGINT)
        assert gdb.wait_stopped(5).get("signal-name") == "SIGINT"
