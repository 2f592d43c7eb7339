"""The host's own OS-aware gdbstub: what a person's GDB (or our pygdbmi GDB) connects to.

GDB sees L4 threads (``info threads``), their saved registers, the user's
breakpoints and ``monitor`` commands; kernel traps stay invisible. The stub
does not own the run loop: it serves GDB in a background thread and talks to
the host through a ``StubProvider``. Every provider call except
``request_stop`` goes through a ``HostFunnel`` (when given), so target access
happens on the run-loop thread while the target is stopped.

Who can attach: by default the stub listens on a unix socket in a private
directory (mode 0700: this user only), and serves one GDB at a time -- a
second connection while one is attached is closed at once. A TCP listener
(loopback only; every local user can reach it) exists only when asked for
with ``listen=``. Every size a client gives is bounded by ``PACKET_SIZE``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import select
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .funnel import HostFunnel
from .packet import PacketReader, escape, frame, unescape
from .rsp import RegisterInfo, parse_target_xml

log = logging.getLogger(__name__)
T = TypeVar("T")

PACKET_SIZE = 0x4000
MAX_MEM = PACKET_SIZE // 2         # an `m` reply is hex: two characters a byte
MAX_ADDR = 1 << 64
MAX_KIND = 16                      # breakpoint kinds are instruction sizes (2, 3, 4)
STUB_SOCK = "stub.sock"
EINVAL = b"E16"
SIGTRAP = 5
SIGINT = 2


@dataclass(frozen=True)
class StubThread:
    """One thread as GDB sees it. ``tid`` > 0 (0 and -1 mean any/all in the protocol)."""

    tid: int
    name: str = ""
    state: str = ""

    @property
    def extra_info(self) -> str:
        return f"{self.name} ({self.state})" if self.state else self.name


class StubProvider(Protocol):
    """What the stub needs from the host. Register dicts use target.xml names."""

    def threads(self) -> Sequence[StubThread]: ...
    def current_thread(self) -> int: ...
    def registers(self, tid: int) -> Mapping[str, int]: ...
    def write_registers(self, tid: int, regs: Mapping[str, int]) -> None: ...
    def read_memory(self, addr: int, size: int) -> bytes: ...
    def write_memory(self, addr: int, data: bytes) -> None: ...
    def insert_breakpoint(self, addr: int, kind: int) -> None: ...
    def remove_breakpoint(self, addr: int, kind: int) -> None: ...
    def resume(self, step: bool, tid: int | None) -> None: ...
    def request_stop(self) -> None: ...
    def monitor(self, cmd: str) -> str: ...
    def detach(self) -> None: ...
    def kill(self) -> None: ...


class _Reply(Exception):
    """Raised inside a handler to answer with an error code."""

    def __init__(self, payload: bytes) -> None:
        super().__init__(payload)
        self.payload = payload


def _hex_int(text: bytes) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise _Reply(EINVAL) from None


def _unhex(text: bytes) -> bytes:
    try:
        return bytes.fromhex(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise _Reply(EINVAL) from None


def _bounded(value: int, limit: int) -> int:
    if not 0 <= value < limit:
        raise _Reply(EINVAL)
    return value


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as (host, port); ValueError unless
    HOST is a loopback address and PORT a port number (0: any free one)."""
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
        port_no = int(port)
    except ValueError:
        raise ValueError(f"{listen!r}: expected LOOPBACK-ADDRESS:PORT") from None
    if not sep or not addr.is_loopback:
        raise ValueError(f"{listen!r}: the gdb stub listens on loopback addresses only")
    if not 0 <= port_no <= 0xFFFF:
        raise ValueError(f"{listen!r}: no such port")
    return host, port_no


def _loopback_listener(listen: str) -> socket.socket:
    """A TCP listener on ``HOST:PORT``; HOST must be a loopback address."""
    host, port = parse_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=1)


def _thread_id(text: bytes) -> int | None:
    """None for "any"/"all" (0, -1)."""
    if text in (b"0", b"-1", b""):
        return None
    return _hex_int(text)


class GdbStub:
    """RSP server for one GDB at a time; ``address`` is what ``target remote`` takes.

    By default a unix socket ``stub.sock`` in ``directory`` (the run's private
    directory; without one the stub makes and removes its own, mode 0700).
    ``listen="127.0.0.1:PORT"`` (port 0: any free one) listens on TCP instead,
    loopback only, and warns that every local user can reach it.

    ``features`` are the target-description files by annex (``RspClient.features``);
    ``g_registers`` the registers the ``g`` packet carries, default the first
    feature's (the core registers, as QEMU does) and any numbered among them.
    """

    def __init__(
        self,
        provider: StubProvider,
        features: Mapping[str, bytes],
        *,
        funnel: HostFunnel | None = None,
        g_registers: Sequence[str] | None = None,
        byteorder: str = "little",
        directory: str | None = None,
        listen: str | None = None,
    ) -> None:
        self.provider = provider
        self.features = dict(features)
        self.funnel = funnel
        self.byteorder = byteorder
        _, regs = parse_target_xml(self.features.__getitem__)
        self._by_num = {r.regnum: r for r in regs}
        if g_registers is None:
            # the first feature's registers (the core ones, as QEMU does) and any other
            # numbered among them (MIPS: cp0's status, badvaddr, cause sit between lo/hi
            # and pc), so the packet has no holes GDB would misread
            first = regs[0].feature if regs else ""
            last = max((r.regnum for r in regs if r.feature == first), default=-1)
            g_registers = [r.name for r in regs if r.regnum <= last]
        by_name = {r.name: r for r in regs}
        self._g_regs = sorted((by_name[n] for n in g_registers), key=lambda r: r.regnum)
        self._own_dir: str | None = None
        self._listener, self.address = self._open_listener(directory, listen)
        self._wake_r, self._wake_w = os.pipe()     # close() wakes the serving thread
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._ack = True
        self._running = False
        self._last_stop: bytes | None = None    # None: "stopped at attach", built on demand
        self._sel_g: int | None = None      # Hg thread (None: the current one)
        self._closing = False
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="l4gdb-stub", daemon=True)
        self._thread.start()

    def _open_listener(self, directory: str | None,
                       listen: str | None) -> tuple[socket.socket, str]:
        if listen is not None:
            sock = _loopback_listener(listen)
            host, port = sock.getsockname()[:2]
            address = f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"
            log.warning("l4gdb: the gdb stub listens on TCP %s: every local user can "
                        "reach it and debug (and change) the system", address)
            return sock, address
        if directory is None:
            directory = self._own_dir = tempfile.mkdtemp(prefix="l4gdb-stub-")
        path = os.path.join(directory, STUB_SOCK)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            sock.listen(1)
        except OSError:
            sock.close()
            self._remove_own_dir()
            raise
        return sock, path

    def _remove_own_dir(self) -> None:
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    # ---- host side --------------------------------------------------------

    def notify_stop(self, tid: int, signal: int = SIGTRAP) -> None:
        """The host stopped the system where the user should see it (user breakpoint,
        step done, Ctrl-C honoured). Sends the stop reply if GDB is waiting for one."""
        self._sel_g = None
        self._stop_reply(b"T%02xthread:%x;" % (signal, tid))

    def notify_exit(self, status: int) -> None:
        """The system ended (root task exited / QEMU gone)."""
        self._stop_reply(b"W%02x" % (status & 0xFF))

    @property
    def running(self) -> bool:
        """True between GDB's resume and the next ``notify_stop``."""
        return self._running

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        os.write(self._wake_w, b"x")
        self._thread.join(2.0)
        conn = self._conn
        if conn is not None:       # the thread did not finish: cut the connection anyway
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._listener.family == socket.AF_UNIX:
            with contextlib.suppress(OSError):
                os.unlink(self.address)
        self._listener.close()
        self._remove_own_dir()
        if not self._thread.is_alive():
            os.close(self._wake_r)
            os.close(self._wake_w)

    def __enter__(self) -> GdbStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stop_reply(self, payload: bytes) -> None:
        self._last_stop = payload
        if self._running:
            self._running = False
            self._send(payload)

    # ---- wire -----------------------------------------------------------------

    def _send(self, payload: bytes) -> None:
        conn = self._conn
        if conn is None:
            return
        with self._send_lock:
            try:
                conn.sendall(frame(payload))
            except OSError:
                pass   # GDB went away; the server thread notices on recv

    def _accept(self) -> socket.socket | None:
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return None
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _serve(self) -> None:
        while not self._closing:
            ready, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            conn = self._accept()
            if conn is None:
                continue
            self._conn, self._ack, self._running = conn, True, False
            self.connected.set()
            try:
                self._session(conn)
            except Exception:
                log.exception("gdb stub session failed")
            finally:
                self._conn = None
                self.connected.clear()
                conn.close()

    def _refuse_second(self) -> None:
        """One GDB at a time: a connection made while one is attached is closed at once."""
        other = self._accept()
        if other is not None:
            log.warning("l4gdb: the gdb stub refused a second client (one is attached)")
            other.close()

    def _session(self, conn: socket.socket) -> None:
        reader = PacketReader()
        while True:
            ready, _, _ = select.select([conn, self._listener, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            if self._listener in ready:
                self._refuse_second()
            if conn not in ready:
                continue
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            reader.feed(data)
            if not self._take_events(conn, reader):
                return

    def _take_events(self, conn: socket.socket, reader: PacketReader) -> bool:
        """Answer every complete packet read; False ends the session."""
        while (ev := reader.next_event()) is not None:
            if ev.kind == "interrupt":
                if self._running:
                    self.provider.request_stop()
                    if self.funnel is not None:
                        self.funnel.wake()
                continue
            if ev.kind != "packet":
                continue
            if self._ack:
                with self._send_lock:
                    conn.sendall(b"+" if ev.checksum_ok else b"-")
                if not ev.checksum_ok:
                    continue
            reply = self._handle(ev.payload)
            if reply is not None:
                self._send(reply)
            if ev.payload == b"QStartNoAckMode":
                self._ack = False
            if ev.payload[:1] in (b"D", b"k"):
                return False
        if reader.buffered > PACKET_SIZE + 4:      # "$", "#cs": no packet is longer
            log.warning("l4gdb: the gdb stub dropped a client sending a packet longer "
                        "than PacketSize")
            return False
        return True

    # ---- packets ------------------------------------------------------------

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return self.funnel.call(fn, *args) if self.funnel is not None else fn(*args)

    def _handle(self, pkt: bytes) -> bytes | None:
        """The reply to one packet; None when the reply comes later (resume)."""
        try:
            handler = self._HANDLERS.get(pkt[:1])
            return handler(self, pkt) if handler else b""
        except _Reply as r:
            return r.payload
        except Exception as err:
            log.warning("gdb stub: %r failed: %s", pkt[:40], err)
            return b"E01"

    def _h_query(self, pkt: bytes) -> bytes:
        name, _, args = pkt.partition(b":")
        if name.startswith(b"qRcmd,"):
            text = _unhex(name[6:]).decode(errors="replace")
            out = self._call(self.provider.monitor, text)
            chunk = PACKET_SIZE // 2 - 16
            for i in range(0, len(out.encode()), chunk):
                self._send(b"O" + out.encode()[i:i + chunk].hex().encode())
            return b"OK"
        if name.startswith(b"qThreadExtraInfo,"):
            tid = _hex_int(name[17:])
            for t in self._call(self.provider.threads):
                if t.tid == tid:
                    return t.extra_info.encode().hex().encode()
            raise _Reply(b"E01")
        simple = {
            b"qSupported": b"PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;"
                           b"vContSupported+" % PACKET_SIZE,
            b"qAttached": b"1",
            b"qSymbol": b"OK",
            b"qsThreadInfo": b"l",
        }
        if name in simple:
            return simple[name]
        if name == b"qfThreadInfo":
            tids = [t.tid for t in self._call(self.provider.threads)]
            return b"m" + b",".join(b"%x" % t for t in tids) if tids else b"l"
        if name == b"qC":
            return b"QC%x" % self._call(self.provider.current_thread)
        if name == b"qXfer" and args.startswith(b"features:read:"):
            annex, _, span = args[len(b"features:read:"):].partition(b":")
            data = self.features.get(annex.decode())
            if data is None:
                raise _Reply(b"E00")
            off_s, _, len_s = span.partition(b",")
            # a shorter answer than asked is the protocol's ("m": more follows); escaping
            # at most doubles the part, so the reply fits PacketSize
            off = _bounded(_hex_int(off_s), MAX_ADDR)
            length = min(_bounded(_hex_int(len_s), MAX_ADDR), PACKET_SIZE // 2 - 1)
            part = data[off:off + length]
            return (b"l" if off + length >= len(data) else b"m") + escape(part)
        return b""

    def _h_set(self, pkt: bytes) -> bytes:
        return b"OK" if pkt == b"QStartNoAckMode" else b""

    def _h_stop_status(self, _pkt: bytes) -> bytes:
        if self._last_stop is None:
            return b"T%02xthread:%x;" % (SIGTRAP, self._call(self.provider.current_thread))
        return self._last_stop

    def _h_thread_select(self, pkt: bytes) -> bytes:
        if pkt[1:2] == b"g":
            self._sel_g = _thread_id(pkt[2:])
        return b"OK"       # Hc: the resume request carries its own thread

    def _h_thread_alive(self, pkt: bytes) -> bytes:
        tid = _hex_int(pkt[1:])
        return b"OK" if any(t.tid == tid for t in self._call(self.provider.threads)) else b"E01"

    def _sel_thread(self) -> int:
        if self._sel_g is None:
            return self._call(self.provider.current_thread)
        return self._sel_g

    def _encode(self, reg: RegisterInfo, regs: Mapping[str, int]) -> bytes:
        value = regs.get(reg.name)
        if value is None:
            return b"xx" * reg.nbytes          # unavailable
        value &= (1 << reg.bitsize) - 1
        return value.to_bytes(reg.nbytes, self.byteorder).hex().encode()

    def _h_read_regs(self, _pkt: bytes) -> bytes:
        regs = self._call(self.provider.registers, self._sel_thread())
        return b"".join(self._encode(r, regs) for r in self._g_regs)

    def _h_write_regs(self, pkt: bytes) -> bytes:
        raw = _unhex(pkt[1:])
        regs, off = {}, 0
        for reg in self._g_regs:
            if off + reg.nbytes > len(raw):
                break
            regs[reg.name] = int.from_bytes(raw[off:off + reg.nbytes], self.byteorder)
            off += reg.nbytes
        self._call(self.provider.write_registers, self._sel_thread(), regs)
        return b"OK"

    def _reg(self, num: bytes) -> RegisterInfo:
        reg = self._by_num.get(_hex_int(num))
        if reg is None:
            raise _Reply(b"E00")
        return reg

    def _h_read_reg(self, pkt: bytes) -> bytes:
        reg = self._reg(pkt[1:])
        return self._encode(reg, self._call(self.provider.registers, self._sel_thread()))

    def _h_write_reg(self, pkt: bytes) -> bytes:
        num, _, value = pkt[1:].partition(b"=")
        reg = self._reg(num)
        raw = _unhex(value)
        if len(raw) != reg.nbytes:
            raise _Reply(EINVAL)
        regval = int.from_bytes(raw, self.byteorder)
        self._call(self.provider.write_registers, self._sel_thread(), {reg.name: regval})
        return b"OK"

    @staticmethod
    def _addr_len(spec: bytes) -> tuple[int, int]:
        """``ADDR,LENGTH``: a span inside the address space, at most a packet's worth."""
        addr_s, _, len_s = spec.partition(b",")
        addr = _bounded(_hex_int(addr_s), MAX_ADDR)
        length = _bounded(_hex_int(len_s), MAX_MEM + 1)
        if addr + length > MAX_ADDR:
            raise _Reply(EINVAL)
        return addr, length

    def _h_read_mem(self, pkt: bytes) -> bytes:
        addr, length = self._addr_len(pkt[1:])   # a bigger request: E16, never a big read
        try:
            return self._call(self.provider.read_memory, addr, length).hex().encode()
        except Exception:
            return b"E14"   # EFAULT

    def _h_write_mem(self, pkt: bytes) -> bytes:
        spec, _, data = pkt[1:].partition(b":")
        addr, length = self._addr_len(spec)
        blob = _unhex(data) if pkt[:1] == b"M" else unescape(data)
        if len(blob) != length:                  # the data must be what the length says
            raise _Reply(EINVAL)
        if length:
            try:
                self._call(self.provider.write_memory, addr, blob)
            except Exception:
                return b"E14"
        return b"OK"

    def _h_breakpoint(self, pkt: bytes) -> bytes:
        kind_s, addr_s, size_s = (pkt[1:].split(b";")[0].split(b",") + [b"4"])[:3]
        if kind_s != b"0":
            return b""            # only software breakpoints; GDB falls back
        fn = self.provider.insert_breakpoint if pkt[:1] == b"Z" else self.provider.remove_breakpoint
        self._call(fn, _bounded(_hex_int(addr_s), MAX_ADDR), _bounded(_hex_int(size_s), MAX_KIND))
        return b"OK"

    def _resume(self, step: bool, tid: int | None) -> None:
        self._running = True
        try:
            self._call(self.provider.resume, step, tid)
        except Exception:
            self._running = False
            raise

    def _h_continue(self, pkt: bytes) -> bytes | None:
        if len(pkt) > 1:
            raise _Reply(b"E16")   # resume-at-address is not supported
        self._resume(pkt[:1] == b"s", None)
        return None

    def _h_v(self, pkt: bytes) -> bytes | None:
        if pkt == b"vCont?":
            return b"vCont;c;C;s;S"
        if pkt.startswith(b"vCont;"):
            # the first action decides; GDB lists the stepping thread first
            action, _, tid = pkt[6:].split(b";")[0].partition(b":")
            self._resume(action[:1] in (b"s", b"S"), _thread_id(tid))
            return None
        return b""

    def _h_detach(self, _pkt: bytes) -> bytes:
        self._call(self.provider.detach)
        return b"OK"

    def _h_kill(self, _pkt: bytes) -> None:
        self._call(self.provider.kill)
        return None

    _HANDLERS: dict[bytes, Callable[[GdbStub, bytes], bytes | None]] = {
        b"q": _h_query, b"Q": _h_set, b"?": _h_stop_status, b"H": _h_thread_select,
        b"T": _h_thread_alive, b"g": _h_read_regs, b"G": _h_write_regs,
        b"p": _h_read_reg, b"P": _h_write_reg, b"m": _h_read_mem, b"M": _h_write_mem,
        b"X": _h_write_mem, b"Z": _h_breakpoint, b"z": _h_breakpoint,
        b"c": _h_continue, b"s": _h_continue, b"v": _h_v,
        b"D": _h_detach, b"k": _h_kill,
    }
