"""Remote serial protocol framing, shared by the client (to QEMU) and the stub (for GDB).

A packet is ``$payload#cs`` with ``cs`` the modulo-256 sum of the payload bytes
in two hex digits. Binary payloads escape ``# $ } *`` as ``}`` + (byte ^ 0x20);
replies may be run-length encoded (``X*n`` repeats X ``ord(n) - 29`` times).
"""

from __future__ import annotations

from dataclasses import dataclass

INTERRUPT = 0x03
_ESCAPED = frozenset(b"#$}*")


def checksum(payload: bytes) -> int:
    return sum(payload) & 0xFF


def frame(payload: bytes) -> bytes:
    return b"$%s#%02x" % (payload, sum(payload) & 0xFF)


def escape(data: bytes) -> bytes:
    if not any(b in _ESCAPED for b in data):
        return data
    out = bytearray()
    for b in data:
        if b in _ESCAPED:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    if b"}" not in data:
        return data
    out = bytearray()
    it = iter(data)
    for b in it:
        out.append(next(it) ^ 0x20 if b == 0x7D else b)
    return bytes(out)


def rle_decode(data: bytes) -> bytes:
    """Expand run-length encoding (applied by the sender after escaping, so undo it first)."""
    if b"*" not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        # like GDB: `*` repeats the previous raw byte (before unescaping)
        if b == 0x2A and out and i + 1 < n:
            out += bytes((out[-1],)) * (data[i + 1] - 29)
            i += 2
            continue
        out.append(b)
        i += 1
    return bytes(out)


def rle_encode(data: bytes) -> bytes:
    """Run-length encode (used by tests and optionally by the stub); skips counts that
    would produce ``# $ + -`` and keeps runs of at most 97 repeats."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        run = 1
        while i + run < n and data[i + run] == b and run < 98:
            run += 1
        extra = run - 1
        while extra + 29 in (ord("#"), ord("$"), ord("+"), ord("-")):
            extra -= 1
        if extra >= 3:
            out += bytes((b, 0x2A, extra + 29))
            i += extra + 1
        else:
            out.append(b)
            i += 1
    return bytes(out)


def hexlify_text(text: str) -> bytes:
    return text.encode().hex().encode()


@dataclass
class Event:
    """One thing read off the wire: a packet, an ack/nak, or a Ctrl-C."""

    kind: str            # "packet" | "ack" | "nak" | "interrupt"
    payload: bytes = b""
    checksum_ok: bool = True


class PacketReader:
    """Incremental parser: feed bytes, take events. Payloads are returned raw
    (neither RLE-expanded nor unescaped: only the caller knows if they are binary)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes held back: after the events are taken, an unfinished packet (a
        server bounds this, else a client that never sends '#' grows it forever)."""
        return len(self._buf)

    def next_event(self) -> Event | None:
        buf = self._buf
        while buf:
            c = buf[0]
            if c == 0x24:  # '$'
                end = buf.find(b"#", 1)
                if end < 0 or len(buf) < end + 3:
                    return None
                payload = bytes(buf[1:end])
                try:
                    ok = int(buf[end + 1:end + 3], 16) == (sum(payload) & 0xFF)
                except ValueError:
                    ok = False
                del buf[:end + 3]
                return Event("packet", payload, ok)
            del buf[0]
            if c == 0x2B:
                return Event("ack")
            if c == 0x2D:
                return Event("nak")
            if c == INTERRUPT:
                return Event("interrupt")
            # anything else between packets is noise: skip it
        return None

    def next_packet_fast(self) -> bytes | None:
        """Hot path for a no-ack client: the next packet's payload, skipping acks,
        without building Event objects. Checksums are not verified (TCP is reliable)."""
        buf = self._buf
        start = buf.find(b"$")
        if start < 0:
            buf.clear()
            return None
        end = buf.find(b"#", start + 1)
        if end < 0 or len(buf) < end + 3:
            if start:
                del buf[:start]
            return None
        payload = bytes(buf[start + 1:end])
        del buf[:end + 3]
        return payload
