"""The QEMU process: command line, private sockets, QMP lifecycle, guaranteed cleanup.

QEMU's gdbstub passes ``qRcmd`` to its human monitor (``monitor none`` or not),
so whoever reaches the gdbstub or QMP runs commands as this user. Both, and the
UART, are unix sockets in a directory only this user can enter (mode 0700,
made per run, removed at the end); no TCP listener exists. The gdbstub
chardev waits (``wait=on``) for the host before QEMU even sets up the machine
and serves one client at a time -- a second one is queued, unanswered, and
would be served once the first lets go -- so QEMU is ended through QMP while
the host still holds both connections, and only then are they closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from qemu.qmp import QMPClient

from . import children
from .errors import TargetError
from .packet import frame
from .qemuconfig import ConfigError, check_syntax, refused_config

T = TypeVar("T")
log = logging.getLogger(__name__)
QUIT_TIMEOUT_S = 2.0     # a QEMU whose monitor does not answer `quit` by then is killed
PROBE_S = 0.05           # how long a second gdbstub client is listened to at start-up
GDB_SOCK, QMP_SOCK, UART_SOCK = "gdb.sock", "qmp.sock", "uart.sock"
# what start-up checks on this QEMU, as its errors name it
GDB_PROBE = "gdbstub on a unix socket (-chardev socket,server=on,wait=on -gdb chardev:gdb)"
QMP_PROBE = "QMP on a unix socket (-qmp unix:PATH,server=on)"

def find_binary(name: str, package: str | None = None) -> str:
    """The binary's path; ``package`` names the Debian package that ships it (the
    arch plugin's QemuSetup says), for the message."""
    path = shutil.which(name)
    if path is None:
        hint = f"apt-get install {package}" if package else "install the QEMU that ships it"
        raise TargetError(f"{name} not found: {hint}")
    return path


class QmpSync:
    """Synchronous face of ``qemu.qmp.QMPClient``: runs its own event loop in a daemon
    thread, so it works whether or not the caller has an asyncio loop of its own."""

    def __init__(self, socket_path: str, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        # QEMU vanishing (killed at exit) makes qmp's reader task fail: not worth a traceback
        self._loop.set_exception_handler(
            lambda _loop, ctx: log.debug("qmp: %s", ctx.get("exception") or ctx.get("message")))
        self._thread = threading.Thread(target=self._loop.run_forever, name="l4gdb-qmp",
                                        daemon=True)
        self._thread.start()
        self._client = QMPClient("l4gdb")
        try:
            self._run(self._client.connect(socket_path))
        except TimeoutError:
            self.close()
            raise TargetError(f"QMP: QEMU's monitor did not answer within {timeout:g} s") from None
        except BaseException:
            self.close()
            raise

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(self.timeout if timeout is None else timeout)

    def execute(self, cmd: str, args: dict[str, object] | None = None,
                timeout: float | None = None) -> Any:
        if self._loop.is_closed():
            raise TargetError(f"QMP {cmd} failed: the QMP connection is closed")
        try:
            return self._run(self._client.execute(cmd, args), timeout)
        except TimeoutError:
            seconds = self.timeout if timeout is None else timeout
            raise TargetError(f"QMP {cmd} failed: QEMU's monitor did not answer within "
                              f"{seconds:g} s") from None
        except Exception as err:
            raise TargetError(f"QMP {cmd} failed: {err}") from err

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._client.disconnect(), timeout=2.0)
        except Exception:  # already gone: nothing to tidy
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2.0)
        self._loop.close()


def _drain(sock: socket.socket) -> None:
    """Read and drop until the peer or the host closes ``sock``."""
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def _opt(path: str) -> str:
    """A path as a QEMU option value (a comma is written twice)."""
    return path.replace(",", ",,")


class QemuProcess:
    """One ``qemu-system-<arch>``: halted at start (``-S``), its gdbstub and QMP on unix
    sockets in ``private_dir`` (module docstring), console devices off -- but with
    ``uart`` the first serial line is a socket there too, which the host types into
    (:meth:`uart_write`), so a guest driver of the board's UART receives it.

    After ``start()`` the host holds the gdbstub connection in ``gdb_sock`` (hand
    a ``dup()`` of it to the RSP client: the connection then ends only when this
    object closes its own descriptor, after QEMU is gone).

    ``config`` is a ``-readconfig`` file (``qemu-configs/<machine>.cfg``);
    ``extra_args`` come from the arch plugin (e.g. ``-cpu cortex-a15``, which
    QEMU 7.2 cannot take from a config file) or the user (``-icount ...``).
    Use as a context manager, or call ``start()`` and ``close()``.
    """

    def __init__(
        self,
        config: str | os.PathLike[str],
        kernel: str | os.PathLike[str],
        *,
        arch: str,
        loaders: Sequence[str | os.PathLike[str]] = (),
        extra_args: Sequence[str] = (),
        binary: str | None = None,
        log_path: str | os.PathLike[str] | None = None,
        start_timeout: float = 10.0,
        package: str | None = None,
        uart: bool = False,
    ) -> None:
        self.package = package
        self.uart = uart
        self._uart_path: str | None = None
        self._uart_sock: socket.socket | None = None
        self._uart_lock = threading.Lock()
        self.config = Path(config)
        self.kernel = Path(kernel)
        self.loaders = [Path(p) for p in loaders]
        self.extra_args = list(extra_args)
        self.binary = binary or f"qemu-system-{arch}"
        self.start_timeout = start_timeout
        self._log_path = Path(log_path) if log_path else None
        self.private_dir: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.qmp: QmpSync | None = None
        self.gdb_sock: socket.socket | None = None
        self._started = False

    # ---- lifecycle ----------------------------------------------------------

    def argv(self, directory: str) -> list[str]:
        """The command line, with every socket in ``directory``."""
        gdb_path = os.path.join(directory, GDB_SOCK)
        qmp_path = os.path.join(directory, QMP_SOCK)
        args = [
            find_binary(self.binary, self.package),
            "-readconfig", str(self.config),
            "-nodefaults",            # no NIC/VGA/serial/monitor the config file cannot switch off
            "-nographic", "-monitor", "none", *self._serial_args(directory),
            "-kernel", str(self.kernel),
            "-S",
            # wait=on: QEMU blocks here, before the machine exists, until the host connects
            "-chardev", f"socket,id=gdb,path={_opt(gdb_path)},server=on,wait=on",
            "-gdb", "chardev:gdb",
            "-qmp", f"unix:{_opt(qmp_path)},server=on,wait=off",
        ]
        for path in self.loaders:
            args += ["-device", f"loader,file={path}"]
        return args + self.extra_args

    def _serial_args(self, directory: str) -> list[str]:
        if not self.uart:
            return ["-serial", "none"]
        # a socket, not a ringbuf: QMP ringbuf-write only fills the buffer
        # ringbuf-read drains, it never reaches the device's receive side
        self._uart_path = os.path.join(directory, UART_SOCK)
        return ["-chardev", f"socket,id=uart0,path={_opt(self._uart_path)},server=on,wait=off",
                "-serial", "chardev:uart0"]

    @property
    def gdb_path(self) -> str:
        """QEMU's gdbstub socket (served to the host only; see the module docstring)."""
        if self.private_dir is None:
            raise TargetError("QEMU is not started")
        return os.path.join(self.private_dir, GDB_SOCK)

    def uart_write(self, data: bytes) -> None:
        """Bytes for the guest's UART receiver (QEMU buffers what the device's FIFO
        cannot take yet). Does nothing without ``uart`` or once QEMU is gone."""
        if self._uart_path is None or not self.alive():
            return
        with self._uart_lock:
            try:
                self._connect_uart().sendall(data)
            except OSError as err:        # QEMU quitting: input has nowhere to go
                log.debug("uart: %s", err)
                self._close_uart()

    def _connect_uart(self) -> socket.socket:
        """The host's UART connection (made at start: QEMU serves one client at a time,
        and it is the host). What the guest transmits is read and dropped, as QEMU
        drops it with no client: unread, it would fill the socket and stall QEMU."""
        if self._uart_sock is None:
            assert self._uart_path is not None
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self._uart_path)
            except OSError:
                sock.close()
                raise
            threading.Thread(target=_drain, args=(sock,), name="l4gdb-uart", daemon=True).start()
            self._uart_sock = sock
        return self._uart_sock

    def _close_uart(self) -> None:
        if self._uart_sock is not None:
            # shutdown first: a bare close() leaves the drain thread's recv() (and so
            # the connection) alive
            with contextlib.suppress(OSError):
                self._uart_sock.shutdown(socket.SHUT_RDWR)
            self._uart_sock.close()
            self._uart_sock = None

    def start(self) -> QemuProcess:
        if not self.config.is_file():    # the arch plugin's file: bad input, named
            raise ConfigError(f"{self.config}: no such QEMU config file")
        for path in (self.kernel, *self.loaders):
            if not path.is_file():
                raise TargetError(f"QEMU input missing: {path}")
        check_syntax(self.config)
        find_binary(self.binary, self.package)
        # mkdtemp makes it 0700: no other user can reach a socket inside
        self.private_dir = tempfile.mkdtemp(prefix="l4gdb-qemu-")
        if self._log_path is None:
            self._log_path = Path(self.private_dir) / "qemu.log"
        try:
            self._spawn(self.private_dir)
            deadline = time.monotonic() + self.start_timeout
            self.gdb_sock = self._connect_gdb(deadline)
            with self._second_client() as probe:
                # QMP's first command takes a turn of QEMU's main loop: the probe's
                # packet has been there to answer by then
                self.qmp = self._start_qmp(os.path.join(self.private_dir, QMP_SOCK), deadline)
                self._check_unanswered(probe)
            if self._uart_path is not None:
                with self._uart_lock:
                    self._connect_uart()
        except BaseException:
            self.close()
            raise
        self._started = True
        return self

    def _spawn(self, directory: str) -> None:
        assert self._log_path is not None
        with open(self._log_path, "ab") as out:
            self.proc = children.spawn(self.argv(directory), stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=subprocess.STDOUT)

    def _check_starting(self, deadline: float, path: str, what: str) -> None:
        """Between tries: QEMU died (raise what it said) or took too long (name the probe)."""
        if self.proc is not None and self.proc.poll() is not None:
            self._failed_start(what)
        if time.monotonic() > deadline:
            raise TargetError(f"start-up probe {what!r} failed: QEMU did not serve {path} "
                              f"within {self.start_timeout:g} s\n{self.log_tail()}")
        time.sleep(0.005)

    def _connect_gdb(self, deadline: float) -> socket.socket:
        # first: with wait=on QEMU does nothing else (not even QMP) until this connects
        path = self.gdb_path
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                return sock
            except (FileNotFoundError, ConnectionRefusedError):   # not bound/listening yet
                sock.close()
            self._check_starting(deadline, path, GDB_PROBE)

    def _start_qmp(self, path: str, deadline: float) -> QmpSync:
        while not os.path.exists(path):
            self._check_starting(deadline, path, QMP_PROBE)
        try:
            self.qmp = self._connect_qmp(path, deadline)     # closed by close() from here on
            self.qmp.execute("query-status")
        except TargetError:
            if self._wait_exit(0.5):
                self._failed_start(QMP_PROBE)
            raise
        except Exception as err:
            if self._wait_exit(0.5):
                self._failed_start(QMP_PROBE)
            raise TargetError(f"QMP connection failed: {err}\n{self.log_tail()}") from err
        return self.qmp

    def _connect_qmp(self, path: str, deadline: float) -> QmpSync:
        # the socket file appears at bind(), a moment before listen(): retry refusals
        while True:
            try:
                return QmpSync(path, timeout=self.start_timeout)
            except Exception:
                if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextlib.contextmanager
    def _second_client(self) -> Iterator[socket.socket | None]:
        """A second gdbstub client, its ``?`` sent (None if QEMU refused it outright)."""
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(1.0)
        try:
            probe.connect(self.gdb_path)
            probe.sendall(frame(b"?"))
        except OSError:                 # refused or backlog full: nothing to be served
            probe.close()
            yield None
            return
        try:
            yield probe
        finally:
            probe.close()

    def _check_unanswered(self, probe: socket.socket | None) -> None:
        """What the design relies on, checked on this QEMU rather than read off a
        version number: while the host is attached, a second gdbstub client gets no
        answer (QEMU keeps it queued)."""
        answer = b""
        if probe is not None:
            try:
                ready, _, _ = select.select([probe], [], [], PROBE_S)
                answer = probe.recv(64) if ready else b""
            except OSError:             # reset: not served either
                pass
        if answer:
            raise TargetError("start-up probe 'gdbstub serves one client at a time' failed: "
                              "QEMU's gdbstub answered a second client while the host was "
                              f"attached ({answer[:20]!r}); l4gdb cannot keep others off it")

    def _wait_exit(self, seconds: float) -> bool:
        assert self.proc is not None
        try:
            self.proc.wait(seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _failed_start(self, probe: str) -> NoReturn:
        """QEMU exited during start-up ``probe``: raise what it said (or that its
        config is bad). A QEMU without socket-chardev gdbstubs ends up here."""
        tail = self.log_tail()
        if self.proc is not None:
            children.kill(self.proc)
        rc = self.proc.returncode if self.proc else "?"
        why = refused_config(self.binary, self.config)
        if why is not None:
            raise ConfigError(f"{self.config}: QEMU refuses this config: {why}")
        raise TargetError(f"start-up probe {probe!r} failed: QEMU exited at start "
                          f"(rc={rc}):\n{tail}")

    def close(self) -> None:
        """End QEMU with QMP ``quit`` while the host still holds its gdbstub, QMP and
        UART connections (a queued client is never served), kill whatever is left,
        then close the connections and remove the private directory."""
        quitting = False
        if self.qmp is not None and self._started and self.alive():
            try:
                self.qmp.execute("quit", timeout=QUIT_TIMEOUT_S)
                quitting = True
            except TargetError as err:   # the monitor gone or mute: kill, don't wait
                log.debug("%s", err)
        if self.proc is not None:
            if quitting:
                self._wait_exit(1.0)
            children.kill(self.proc)      # reaps it; kills its group if still there
        # QEMU is gone: nothing is left to serve a client, the connections can go
        if self.qmp is not None:
            self.qmp.close()
            self.qmp = None
        if self.gdb_sock is not None:
            self.gdb_sock.close()
            self.gdb_sock = None
        with self._uart_lock:
            self._close_uart()
        if self.private_dir is not None:
            shutil.rmtree(self.private_dir, ignore_errors=True)
            self.private_dir = None
        self._started = False

    def __enter__(self) -> QemuProcess:
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- state --------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self._log_path.read_text(errors="replace") if self._log_path else ""
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def describe_failure(self) -> str:
        """What to add to an error when the gdbstub connection breaks."""
        if self.proc is None:
            return ""
        # a dying QEMU closes its sockets before it can be reaped: give it a moment
        if not self._wait_exit(0.5):
            return "QEMU is still running"
        rc = self.proc.returncode
        tail = self.log_tail()
        return f"QEMU exited with status {rc}" + (f"; its log ends with:\n{tail}" if tail else "")

    def _qmp(self) -> QmpSync:
        if self.qmp is None or not self.alive():
            raise TargetError("QEMU is not running\n" + self.describe_failure())
        return self.qmp

    def status(self) -> str:
        """QMP ``query-status``: "prelaunch", "running", "paused", "debug", ..."""
        return str(self._qmp().execute("query-status")["status"])

    def stop(self) -> None:
        self._qmp().execute("stop")

    def cont(self) -> None:
        self._qmp().execute("cont")

    def quit(self) -> None:
        self.close()
