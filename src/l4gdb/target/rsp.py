"""Fast remote-serial-protocol client for QEMU's gdbstub (the kernel's hot path).

One socket, one reader, no threads: every request is a send followed by a
blocking read of the reply. After the handshake the link is in no-ack mode,
so a trap costs exactly its round trips (see DESIGN.md, "Facts measured").
"""

from __future__ import annotations

import re
import select
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import TargetError
from .packet import PacketReader, frame, rle_decode, unescape

DEFAULT_PACKET_SIZE = 4096


@dataclass(frozen=True)
class RegisterInfo:
    """One register of the target description (``<reg>`` in target.xml)."""

    name: str
    bitsize: int
    regnum: int
    feature: str = ""
    type: str = ""

    @property
    def nbytes(self) -> int:
        return (self.bitsize + 7) // 8


@dataclass(frozen=True)
class StopReply:
    """A parsed ``T``/``S``/``W``/``X`` reply.

    ``signal`` is the stop signal (T/S), the exit status (W) or the terminating
    signal (X). ``thread`` is the ``thread:`` field of a T reply, if any.
    """

    kind: str                      # "signal" | "exited" | "terminated"
    signal: int
    thread: str | None = None
    raw: str = ""

    @property
    def exited(self) -> bool:
        return self.kind != "signal"


def parse_stop_reply(payload: bytes) -> StopReply:
    text = payload.decode("ascii", "replace")
    if not text:
        raise TargetError("empty stop reply")
    head = text[0]
    if head in "TS":
        sig = int(text[1:3], 16)
        thread = None
        if head == "T":
            for field in text[3:].split(";"):
                key, _, value = field.partition(":")
                if key == "thread":
                    thread = value
        return StopReply("signal", sig, thread, text)
    if head in "WX":
        value = int(text[1:].split(";")[0], 16)
        return StopReply("exited" if head == "W" else "terminated", value, None, text)
    raise TargetError(f"unexpected stop reply {text!r}")


# QEMU's target.xml uses the `xi:` prefix without declaring it; ElementTree
# refuses unbound prefixes, so the includes are matched by name instead.
_INCLUDE_RE = re.compile(rb"<xi:include\b")


def parse_target_xml(
    fetch: Callable[[str], bytes], annex: str = "target.xml"
) -> tuple[str, list[RegisterInfo]]:
    """Read a target description and every file it includes.

    Returns (architecture, registers). Register numbers follow GDB's rule: a
    ``regnum`` attribute sets the number, otherwise one more than the
    previous register, across included features in document order.
    """
    arch = ""
    regs: list[RegisterInfo] = []
    next_num = 0

    def walk(name: str, feature: str) -> None:
        nonlocal arch, next_num
        root = ET.fromstring(_INCLUDE_RE.sub(b"<include", fetch(name)))
        for el in root.iter():
            if el.tag == "architecture" and el.text:
                arch = el.text.strip()
            elif el.tag == "include":
                walk(el.attrib["href"], feature)
            elif el.tag == "feature":
                # a <feature> root: its regs are walked below with this name
                feature = el.attrib.get("name", feature)
            elif el.tag == "reg":
                num = int(el.attrib.get("regnum", next_num))
                regs.append(RegisterInfo(el.attrib["name"], int(el.attrib["bitsize"]), num,
                                         feature, el.attrib.get("type", "")))
                next_num = num + 1

    walk(annex, "")
    return arch, regs


class RspClient:
    """Client of one gdbstub (QEMU's). Not thread-safe: one owner, the host run loop.
    ``conn`` is a connected socket or a unix socket path.

    ``describe_failure`` is called when the connection breaks, to add context
    (e.g. the tail of QEMU's log) to the ``TargetError``. ``send_acks`` keeps
    acknowledging packets when the stub refuses no-ack mode (a stub that
    retransmits unacknowledged packets needs it; QEMU's system-mode stub does not).
    ``fallback_target_xml`` is a self-contained target description used when
    the stub serves none (QEMU 7.2's MIPS stub): it must number the registers
    as the stub's ``g`` packet orders them.
    """

    def __init__(
        self,
        conn: socket.socket | str,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        byteorder: str = "little",
        describe_failure: Callable[[], str] | None = None,
        send_acks: bool = False,
        fallback_target_xml: bytes | None = None,
    ) -> None:
        self.timeout = timeout
        self._fallback_xml = fallback_target_xml
        self._send_acks = send_acks
        self.byteorder = byteorder
        self._describe = describe_failure
        self._reader = PacketReader()
        self._ack = True
        self._running = False
        self._phys = False
        self._g_cache: bytearray | None = None   # last `g`, valid until the target runs
        self._g_layout: dict[str, tuple[int, int, int]] | None = None
        self.console: list[str] = []             # `O` output seen while waiting for a stop
        self._sock = self._connect(conn, connect_timeout)
        self._poll = select.poll()
        self._poll.register(self._sock, select.POLLIN)
        self._wait_poll = select.poll()      # socket + wake-up fds, for wait_stop only
        self._wait_poll.register(self._sock, select.POLLIN)
        try:
            self._handshake()
        except BaseException:
            self._sock.close()
            raise

    # ---- connection -------------------------------------------------------

    @staticmethod
    def _connect(conn: socket.socket | str, connect_timeout: float) -> socket.socket:
        """``conn`` connected already, or the path of a unix socket to connect to."""
        if isinstance(conn, str):
            deadline = time.monotonic() + connect_timeout
            while True:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(conn)
                    break
                except OSError as err:
                    sock.close()
                    if time.monotonic() > deadline:
                        raise TargetError(f"cannot connect to gdbstub at {conn}: {err}") from err
                    time.sleep(0.02)
        else:
            sock = conn
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # non-blocking + poll(): per-call timeouts without settimeout() syscalls
        sock.setblocking(False)
        return sock

    def _handshake(self) -> None:
        reply = self.request(b"qSupported:swbreak+;vContSupported+").decode()
        self.supported: dict[str, str] = {}
        for item in reply.split(";"):
            if "=" in item:
                key, value = item.split("=", 1)
                self.supported[key] = value
            elif item:
                self.supported[item[:-1] if item[-1] in "+-?" else item] = item[-1]
        self.packet_size = int(self.supported.get("PacketSize", f"{DEFAULT_PACKET_SIZE:x}"), 16)
        # QEMU 7.2 has no QStartNoAckMode, but in system mode it neither waits for
        # our '+' nor retransmits: each ack would only cost QEMU a wake-up (~20% of
        # a trap), so acks stop after the handshake unless ``send_acks`` is set.
        if self.request(b"QStartNoAckMode") == b"OK" or not self._send_acks:
            self._ack = False
        # every description file, by annex, so the host's own stub can serve them
        self.features: dict[str, bytes] = {}

        served = self.supported.get("qXfer:features:read") == "+" or self._fallback_xml is None

        def fetch(annex: str) -> bytes:
            if served:
                self.features[annex] = self.read_xfer("features", annex)
            elif annex == "target.xml":
                self.features[annex] = self._fallback_xml
            else:
                raise TargetError(f"the fallback target description includes {annex!r}")
            return self.features[annex]

        self.architecture, self.registers = parse_target_xml(fetch)
        self.target_xml = self.features["target.xml"]
        self._by_name = {r.name: r for r in self.registers}
        # largest `m`/`M` data that fits a packet (hex doubles it; leave room for the header)
        self.mem_chunk = max(16, (self.packet_size - 32) // 2)

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> RspClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _broken(self, what: str, err: BaseException | None = None) -> TargetError:
        msg = f"gdbstub connection lost ({what}): QEMU died or closed the connection"
        if self._describe is not None:
            try:
                extra = self._describe()
            except Exception:  # the failure report must not hide the failure
                extra = ""
            if extra:
                msg += "\n" + extra
        return TargetError(msg) if err is None else TargetError(f"{msg} [{err}]")

    # ---- packets ------------------------------------------------------------

    def _send(self, payload: bytes) -> None:
        try:
            self._sock.sendall(frame(payload))
        except OSError as err:
            raise self._broken("send", err) from err

    def watch(self, fd: int) -> None:
        """Make ``wait_stop`` return None as soon as ``fd`` is readable (e.g. a
        ``HostFunnel``: the stub has work or a stop request for the run loop)."""
        self._wait_poll.register(fd, select.POLLIN)

    def _recv(self, timeout: float | None, poller: select.poll | None = None) -> bytes | None:
        """Next packet payload (RLE expanded), or None when ``timeout`` expires
        (or a watched fd other than the socket becomes readable)."""
        reader = self._reader
        sock_fd = self._sock.fileno()
        poller = poller or self._poll
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            payload = reader.next_packet_fast()
            if payload is not None:
                if self._ack:
                    self._sock.sendall(b"+")
                return rle_decode(payload)
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                if deadline is None:
                    events = poller.poll()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    events = poller.poll(left * 1000.0)
                if events and all(fd != sock_fd for fd, _ in events):
                    return None
                continue
            except OSError as err:
                raise self._broken("recv", err) from err
            if not data:
                raise self._broken("eof")
            reader.feed(data)

    def request(self, payload: bytes, timeout: float | None = None) -> bytes:
        """Send one packet and return the reply's payload."""
        self._send(payload)
        reply = self._recv(self.timeout if timeout is None else timeout)
        if reply is None:
            raise TargetError(f"no reply to {payload[:40]!r} within {timeout or self.timeout}s")
        return reply

    def _ok(self, payload: bytes) -> None:
        reply = self.request(payload)
        if reply != b"OK":
            raise TargetError(f"{payload[:40]!r} failed: {reply[:80]!r}"
                              if reply else f"{payload[:40]!r} not supported by the stub")

    def _data(self, payload: bytes) -> bytes:
        """A request whose reply is data; ``E..``/empty raise."""
        reply = self.request(payload)
        if not reply or (reply[0] == 0x45 and len(reply) == 3):  # "Exx"
            raise TargetError(f"{payload[:40]!r} failed: {reply!r}")
        return reply

    def read_xfer(self, obj: str, annex: str) -> bytes:
        out = bytearray()
        size = self.packet_size - 32
        while True:
            reply = self._data(f"qXfer:{obj}:read:{annex}:{len(out):x},{size:x}".encode())
            out += unescape(reply[1:])
            if reply[:1] == b"l":
                return bytes(out)
            if reply[:1] != b"m":
                raise TargetError(f"bad qXfer reply for {annex}: {reply[:40]!r}")

    # ---- registers ----------------------------------------------------------

    def register_info(self, name: str) -> RegisterInfo:
        try:
            return self._by_name[name]
        except KeyError:
            raise TargetError(f"no register {name!r} in the target description") from None

    def _layout(self, glen: int) -> dict[str, tuple[int, int, int]]:
        """name -> (offset, size, mask) of the registers in ``g``, computed once.

        ``g`` holds the registers in regnum order, packed, as far as its length
        goes (QEMU ARM: r0..pc, cpsr); the others are reachable with p/P only."""
        if self._g_layout is None:
            layout, off = {}, 0
            for reg in sorted(self.registers, key=lambda r: r.regnum):
                if off + reg.nbytes > glen:
                    break
                layout[reg.name] = (off, reg.nbytes, (1 << reg.bitsize) - 1)
                off += reg.nbytes
            self._g_layout = layout
        return self._g_layout

    def _fetch_g(self) -> bytearray:
        if self._g_cache is None:
            reply = self._data(b"g")
            try:
                self._g_cache = bytearray(bytes.fromhex(reply.decode()))
            except ValueError:  # 'xx' = unavailable; read as zero
                self._g_cache = bytearray(bytes.fromhex(reply.decode().replace("x", "0")))
        return self._g_cache

    def read_registers(self) -> dict[str, int]:
        """All registers the ``g`` packet carries (one round trip)."""
        raw = self._fetch_g()
        bo = self.byteorder
        return {name: int.from_bytes(raw[off:off + n], bo)
                for name, (off, n, _) in self._layout(len(raw)).items()}

    def write_registers(self, regs: Mapping[str, int]) -> None:
        """Write some registers: one ``G`` (read-modify-write of the last ``g``, which is
        reused while the target has not run) plus ``P`` for registers outside ``g``."""
        raw = self._fetch_g()
        where = self._layout(len(raw))
        extra = {}
        bo = self.byteorder
        for name, value in regs.items():
            hit = where.get(name)
            if hit is None:
                extra[name] = value
                continue
            off, n, mask = hit
            raw[off:off + n] = (value & mask).to_bytes(n, bo)
        if len(extra) < len(regs):
            self._ok(b"G" + raw.hex().encode())
        for name, value in extra.items():
            self.write_register(name, value)

    def read_register(self, name: str) -> int:
        reg = self.register_info(name)
        reply = self._data(b"p%x" % reg.regnum)
        return int.from_bytes(bytes.fromhex(reply.decode().replace("x", "0")), self.byteorder)

    def write_register(self, name: str, value: int) -> None:
        reg = self.register_info(name)
        data = (value & ((1 << reg.bitsize) - 1)).to_bytes(reg.nbytes, self.byteorder)
        self._ok(b"P%x=%s" % (reg.regnum, data.hex().encode()))
        self._g_cache = None

    # ---- memory -------------------------------------------------------------

    def set_phys_mem_mode(self, physical: bool) -> None:
        """QEMU's modal switch: ``m``/``M`` use physical addresses while on."""
        if physical != self._phys:
            self._ok(b"Qqemu.PhyMemMode:%d" % int(physical))
            self._phys = physical

    def read_memory(self, addr: int, size: int, physical: bool = False) -> bytes:
        if physical != self._phys:
            self.set_phys_mem_mode(physical)
        out = bytearray()
        step = self.mem_chunk
        for off in range(0, size, step):
            n = min(step, size - off)
            out += bytes.fromhex(self._data(b"m%x,%x" % (addr + off, n)).decode())
        return bytes(out)

    def write_memory(self, addr: int, data: bytes, physical: bool = False) -> None:
        if physical != self._phys:
            self.set_phys_mem_mode(physical)
        step = self.mem_chunk
        for off in range(0, len(data), step):
            part = data[off:off + step]
            self._ok(b"M%x,%x:%s" % (addr + off, len(part), part.hex().encode()))

    # ---- breakpoints and execution -----------------------------------------

    def insert_breakpoint(self, addr: int, kind: int = 4) -> None:
        self._ok(b"Z0,%x,%x" % (addr, kind))

    def remove_breakpoint(self, addr: int, kind: int = 4) -> None:
        self._ok(b"z0,%x,%x" % (addr, kind))

    @property
    def running(self) -> bool:
        return self._running

    def resume(self, addr: int | None = None) -> None:
        """Continue (``c``), or continue at ``addr`` (``cADDR``, which QEMU honours by
        setting pc: one packet instead of ``P`` + ``c``, and the way to leave a
        breakpoint without stopping on it again). Returns at once; the stop comes
        through ``wait_stop``."""
        self._g_cache = None
        self._running = True
        self._send(b"c" if addr is None else b"c%x" % addr)

    def step(self, timeout: float | None = None) -> StopReply:
        """Single-step one instruction and wait for the stop."""
        self._g_cache = None
        self._running = True
        self._send(b"s")
        reply = self.wait_stop(self.timeout if timeout is None else timeout)
        if reply is None:
            raise TargetError("single step did not stop")
        return reply

    def interrupt(self) -> None:
        """Ask a running target to stop (Ctrl-C); the stop arrives via ``wait_stop``."""
        try:
            self._sock.sendall(b"\x03")
        except OSError as err:
            raise self._broken("interrupt", err) from err

    def wait_stop(self, timeout: float | None = None) -> StopReply | None:
        """The next stop reply, or None if the target is still running after ``timeout``
        or a ``watch``-ed fd became readable."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            payload = self._recv(left, self._wait_poll)
            if payload is None:
                return None
            if payload[:1] == b"O" and payload != b"OK":   # console output while running
                self.console.append(bytes.fromhex(payload[1:].decode()).decode(errors="replace"))
                continue
            self._running = False
            return parse_stop_reply(payload)

    # ---- monitor --------------------------------------------------------------

    def monitor(self, cmd: str) -> str:
        """``monitor CMD`` (qRcmd): QEMU's HMP commands, output as text."""
        self._send(b"qRcmd," + cmd.encode().hex().encode())
        out: list[str] = []
        while True:
            reply = self._recv(self.timeout)
            if reply is None:
                raise TargetError(f"monitor {cmd!r}: no reply")
            if reply == b"OK":
                return "".join(out)
            if reply[:1] == b"O":
                out.append(bytes.fromhex(reply[1:].decode()).decode(errors="replace"))
            elif not reply:
                raise TargetError("monitor commands not supported by the stub")
            else:
                raise TargetError(f"monitor {cmd!r} failed: {reply!r}")
