"""The QEMU process: command line, free ports, QMP lifecycle, guaranteed cleanup."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from qemu.qmp import QMPClient

from . import children
from .errors import TargetError
from .qemuconfig import ConfigError, check_syntax, refused_config

T = TypeVar("T")
log = logging.getLogger(__name__)
QUIT_TIMEOUT_S = 2.0     # a QEMU whose monitor does not answer `quit` by then is killed

# Debian package that ships each binary, for the "not found" message.
_PACKAGES = {
    "qemu-system-i386": "qemu-system-x86",
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-system-mipsel": "qemu-system-mips",
    "qemu-system-aarch64": "qemu-system-arm",
}


def find_binary(name: str, package: str | None = None) -> str:
    """The binary's path; ``package`` names the Debian package that ships it (for the
    message), else a table of the usual ones is asked."""
    path = shutil.which(name)
    if path is None:
        pkg = package or _PACKAGES.get(name, name)
        raise TargetError(f"{name} not found: apt-get install {pkg}")
    return path


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (racy by nature: callers retry on collision)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


class QemuProcess:
    """One ``qemu-system-<arch>``: halted at start (``-S``), gdbstub on a free
    127.0.0.1 port, QMP on a unix socket, console devices off -- but with ``uart``
    the first serial line is a unix socket chardev the host types into
    (:meth:`uart_write`), so a guest driver of the board's UART receives it.

    ``config`` is a ``-readconfig`` file (``qemu-configs/<machine>.cfg``);
    ``extra_args`` come from the arch plugin (e.g. ``-cpu cortex-a15``, which
    QEMU 7.2 cannot take from a config file) or the user (``-icount ...``).
    Use as a context manager, or call ``start()`` and ``close()``.
    """

    start_retries = 5

    def __init__(
        self,
        config: str | os.PathLike[str],
        kernel: str | os.PathLike[str],
        *,
        arch: str = "arm",
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
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen[bytes] | None = None
        self.qmp: QmpSync | None = None
        self.gdb_port = 0

    # ---- lifecycle ----------------------------------------------------------

    def argv(self, gdb_port: int, qmp_path: str) -> list[str]:
        args = [
            find_binary(self.binary, self.package),
            "-readconfig", str(self.config),
            "-nodefaults",            # no NIC/VGA/serial/monitor the config file cannot switch off
            "-nographic", "-monitor", "none", *self._serial_args(qmp_path),
            "-kernel", str(self.kernel),
            "-S",
            "-gdb", f"tcp:127.0.0.1:{gdb_port}",
            "-qmp", f"unix:{qmp_path},server=on,wait=off",
        ]
        for path in self.loaders:
            args += ["-device", f"loader,file={path}"]
        return args + self.extra_args

    def _serial_args(self, qmp_path: str) -> list[str]:
        if not self.uart:
            return ["-serial", "none"]
        # a socket, not a ringbuf: QMP ringbuf-write only fills the buffer
        # ringbuf-read drains, it never reaches the device's receive side
        self._uart_path = qmp_path.removesuffix(".sock") + "-uart.sock"
        return ["-chardev", f"socket,id=uart0,path={self._uart_path},server=on,wait=off",
                "-serial", "chardev:uart0"]

    def uart_write(self, data: bytes) -> None:
        """Bytes for the guest's UART receiver (QEMU buffers what the device's FIFO
        cannot take yet). Does nothing without ``uart`` or once QEMU is gone."""
        if self._uart_path is None or not self.alive():
            return
        with self._uart_lock:
            try:
                if self._uart_sock is None:
                    self._uart_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self._uart_sock.connect(self._uart_path)
                self._uart_sock.sendall(data)
            except OSError as err:        # QEMU quitting: input has nowhere to go
                log.debug("uart: %s", err)
                self._close_uart()

    def _close_uart(self) -> None:
        if self._uart_sock is not None:
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
        self._tmp = tempfile.TemporaryDirectory(prefix="l4gdb-qemu-")
        if self._log_path is None:
            self._log_path = Path(self._tmp.name) / "qemu.log"
        try:
            for attempt in range(self.start_retries):
                if self._try_start(free_port(), attempt):
                    return self
            raise TargetError(f"QEMU could not bind a gdb port after {self.start_retries} "
                              f"tries\n{self.log_tail()}")
        except BaseException:
            self.close()
            raise

    def _try_start(self, port: int, attempt: int) -> bool:
        assert self._tmp is not None and self._log_path is not None
        qmp_path = os.path.join(self._tmp.name, f"qmp{attempt}.sock")
        with open(self._log_path, "ab") as log:
            self.proc = children.spawn(self.argv(port, qmp_path), stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.start_timeout
        while not os.path.exists(qmp_path):
            if self.proc.poll() is not None:
                return self._failed_start()
            if time.monotonic() > deadline:
                raise TargetError(f"QEMU did not open its QMP socket within "
                                  f"{self.start_timeout}s\n{self.log_tail()}")
            time.sleep(0.005)
        try:
            self.qmp = self._connect_qmp(qmp_path, deadline)
            # QMP commands run in the main loop, i.e. after the gdbstub is listening
            self.qmp.execute("query-status")
        except TargetError:
            if self.proc.poll() is not None or self._wait_exit(0.5):
                return self._failed_start()
            raise
        except Exception as err:
            if self._wait_exit(0.5):
                return self._failed_start()
            raise TargetError(f"QMP connection failed: {err}\n{self.log_tail()}") from err
        self.gdb_port = port
        return True

    def _connect_qmp(self, path: str, deadline: float) -> QmpSync:
        # the socket file appears at bind(), a moment before listen(): retry refusals
        while True:
            try:
                return QmpSync(path, timeout=self.start_timeout)
            except Exception:
                if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _wait_exit(self, seconds: float) -> bool:
        assert self.proc is not None
        try:
            self.proc.wait(seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _failed_start(self) -> bool:
        """QEMU exited during start: False (retry) on a port collision, else raise."""
        tail = self.log_tail()
        if self.qmp is not None:
            self.qmp.close()
            self.qmp = None
        if self.proc is not None:
            children.kill(self.proc)
        if "Address already in use" in tail or "Failed to bind" in tail:
            return False
        rc = self.proc.returncode if self.proc else "?"
        why = refused_config(self.binary, self.config)
        if why is not None:
            raise ConfigError(f"{self.config}: QEMU refuses this config: {why}")
        raise TargetError(f"QEMU exited at start (rc={rc}):\n{tail}")

    def close(self) -> None:
        """Quit QEMU (QMP ``quit``, then kill its process group) and remove temp files."""
        with self._uart_lock:
            self._close_uart()
        quitting = False
        if self.qmp is not None:
            if self.alive() and self.gdb_port:    # started: ask it to quit (else just kill)
                try:
                    self.qmp.execute("quit", timeout=QUIT_TIMEOUT_S)
                    quitting = True
                except TargetError as err:   # the monitor gone or mute: kill, don't wait
                    log.debug("%s", err)
            if not quitting and self.proc is not None:
                children.kill(self.proc)
            self.qmp.close()
            self.qmp = None
        if self.proc is not None:
            if quitting:
                self._wait_exit(1.0)
            children.kill(self.proc)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

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
