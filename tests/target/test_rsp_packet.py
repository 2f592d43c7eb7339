"""Remote-protocol framing, escaping, RLE, stop replies, target descriptions (no QEMU)."""

from __future__ import annotations

import pytest
from target_fakes import FEATURES

from l4gdb.target.errors import TargetError
from l4gdb.target.packet import (
    PacketReader,
    checksum,
    escape,
    frame,
    rle_decode,
    rle_encode,
    unescape,
)
from l4gdb.target.rsp import parse_stop_reply, parse_target_xml


def test_checksum_and_frame() -> None:
    assert checksum(b"OK") == 0x9A
    assert frame(b"OK") == b"$OK#9a"
    assert frame(b"") == b"$#00"
    assert frame(b"qSupported") == b"$qSupported#37"


@pytest.mark.parametrize("data", [b"", b"plain", b"#$}*", bytes(range(256)), b"}}}"])
def test_escape_roundtrip(data: bytes) -> None:
    esc = escape(data)
    assert not any(c in b"#$*" for c in esc)
    assert unescape(esc) == data


def test_escape_form() -> None:
    assert escape(b"a#b") == b"a}\x03b"
    assert unescape(b"}]") == b"}"


def test_rle_decode() -> None:
    # "0* " is '0' followed by 3 more (' ' = 32 = 29 + 3)
    assert rle_decode(b"0* ") == b"0000"
    assert rle_decode(b"ab*\"c") == b"abbbbbbc"          # '"' = 34 -> 5 repeats
    assert rle_decode(b"no runs") == b"no runs"


@pytest.mark.parametrize("data", [b"0" * 200, b"x", b"11111111222233333333333", b"0" * 7 + b"1"])
def test_rle_roundtrip(data: bytes) -> None:
    enc = rle_encode(data)
    assert rle_decode(enc) == data
    assert not any(c in b"#$" for c in enc)


def test_reader_events_and_split_input() -> None:
    r = PacketReader()
    stream = b"+$OK#9a\x03-$m4000,4#xx" + frame(b"g")
    for i in range(len(stream)):          # byte by byte: packets straddle reads
        r.feed(stream[i:i + 1])
    kinds = []
    while (ev := r.next_event()) is not None:
        kinds.append((ev.kind, ev.payload, ev.checksum_ok))
    assert kinds == [("ack", b"", True), ("packet", b"OK", True), ("interrupt", b"", True),
                     ("nak", b"", True), ("packet", b"m4000,4", False), ("packet", b"g", True)]


def test_reader_incomplete_then_complete() -> None:
    r = PacketReader()
    r.feed(b"$T05thread:01;#")
    assert r.next_packet_fast() is None
    r.feed(b"07+")
    assert r.next_packet_fast() == b"T05thread:01;"
    assert r.next_packet_fast() is None


def test_stop_replies() -> None:
    t = parse_stop_reply(b"T05thread:01;")
    assert (t.kind, t.signal, t.thread, t.exited) == ("signal", 5, "01", False)
    assert parse_stop_reply(b"S02").signal == 2
    w = parse_stop_reply(b"W00")
    assert w.exited and w.kind == "exited" and w.signal == 0
    x = parse_stop_reply(b"X09;process:1")
    assert x.kind == "terminated" and x.signal == 9
    with pytest.raises(TargetError):
        parse_stop_reply(b"OK")


def test_target_xml_with_includes_and_regnums() -> None:
    arch, regs = parse_target_xml(FEATURES.__getitem__)
    assert arch == "arm"
    names = [r.name for r in regs]
    assert names[:16] == [f"r{i}" for i in range(13)] + ["sp", "lr", "pc"]
    nums = {r.name: r.regnum for r in regs}
    assert nums["pc"] == 15 and nums["cpsr"] == 25
    assert nums["d0"] == 26 and nums["fpscr"] == 27      # numbering continues across files
    d0 = next(r for r in regs if r.name == "d0")
    assert d0.nbytes == 8 and d0.feature == "org.l4gdb.test.extra"
