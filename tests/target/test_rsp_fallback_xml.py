"""A gdbstub that serves no target description (QEMU 7.2's MIPS): the client names
the registers after the description the arch plugin brings."""

from __future__ import annotations

import re
import socket
import threading

import pytest

from l4gdb.target.errors import TargetError
from l4gdb.target.packet import frame
from l4gdb.target.rsp import RspClient

XML = (b'<?xml version="1.0"?><target><architecture>toy</architecture>'
       b'<feature name="toy.core"><reg name="a" bitsize="32" regnum="0"/>'
       b'<reg name="pc" bitsize="32" regnum="2"/></feature>'
       b'<feature name="toy.sys"><reg name="st" bitsize="32" regnum="1"/></feature></target>')
G = bytes.fromhex("01000000" "02000000" "03000000" "04000000")   # 4 words: one unnamed


class NoXmlStub:
    """Answers qSupported without qXfer:features, ``g``/``G``; empty to the rest."""

    def __init__(self, path: str) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.path = path
        self.g = bytearray(G)
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.server.accept()
        buf = b""
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while (m := re.search(rb"\$([^#]*)#..", buf)) is not None:
                    buf = buf[m.end():]
                    pkt = m.group(1)
                    self.requests.append(pkt)
                    conn.sendall(b"+" + frame(self.reply(pkt)))

    def reply(self, pkt: bytes) -> bytes:
        if pkt.startswith(b"qSupported"):
            return b"PacketSize=1000;vContSupported+;multiprocess+"
        if pkt == b"g":
            return self.g.hex().encode()
        if pkt.startswith(b"G"):
            self.g[:] = bytes.fromhex(pkt[1:].decode())
            return b"OK"
        return b""


@pytest.fixture
def stub(tmp_path):
    s = NoXmlStub(str(tmp_path / "gdb.sock"))
    yield s
    s.server.close()


def test_fallback_description_names_the_g_registers(stub):
    with RspClient(stub.path, fallback_target_xml=XML) as rsp:
        assert rsp.architecture == "toy"
        assert rsp.features == {"target.xml": XML}
        assert rsp.read_registers() == {"a": 1, "st": 2, "pc": 3}
        rsp.write_registers({"pc": 0x80})
        assert stub.g[8:12] == bytes.fromhex("80000000")
        assert stub.g[12:] == G[12:]        # the unnamed tail goes back as it was
    assert not any(p.startswith(b"qXfer") for p in stub.requests)


def test_without_a_fallback_the_client_still_asks(stub):
    with pytest.raises(TargetError):
        RspClient(stub.path)
