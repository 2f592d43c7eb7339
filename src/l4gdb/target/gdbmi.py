"""A gdb-multiarch driven through pygdbmi with token-matched, low-latency reads.

pygdbmi's default ``write()`` lingers ~0.2 s for "more output" after each
response (DESIGN.md). Here every command carries a token, and we wait (with
select() on GDB's stdout) exactly until the result record with that token.
Records that arrive meanwhile (``*stopped``, console output, ...) are kept in
a backlog for ``wait_stopped`` and ``console``.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

from pygdbmi.gdbcontroller import GdbController
from pygdbmi.IoManager import IoManager

from . import children
from .errors import GdbError, TargetError
from .qemu import find_binary

Record = dict[str, Any]

DEFAULT_SETTINGS = (
    "-gdb-set mi-async on",        # -exec-continue returns at once; -exec-interrupt works
    "-gdb-set pagination off",
    "-gdb-set confirm off",
    "-gdb-set width 0",
    "-gdb-set height 0",
)


_STREAMS = ("console", "target")


def mi_quote(text: str) -> str:
    """A C-string argument for an MI command."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _Controller(GdbController):
    """pygdbmi's controller, with GDB in its own session and in the child registry."""

    def spawn_new_gdb_subprocess(self) -> int:
        if self.gdb_process:
            self.exit()
        self.gdb_process = children.spawn(
            self.command, stdout=subprocess.PIPE, stdin=subprocess.PIPE,
            stderr=subprocess.PIPE, bufsize=0)
        assert self.gdb_process.stdin is not None and self.gdb_process.stdout is not None
        self.io_manager = IoManager(self.gdb_process.stdin, self.gdb_process.stdout,
                                    self.gdb_process.stderr,
                                    self.time_to_check_for_additional_output_sec)
        return self.gdb_process.pid


class GdbSession:
    """One GDB. ``init_commands`` run after start: MI commands (``-gdb-set ...``) as
    is, anything else as a CLI command (e.g. the arch plugin's ``set arm
    force-mode arm``)."""

    def __init__(
        self,
        gdb: str = "gdb-multiarch",
        init_commands: Sequence[str] = (),
        *,
        timeout: float = 10.0,
    ) -> None:
        path = find_binary(gdb)
        self.timeout = timeout
        self._token = 100
        self.backlog: list[Record] = []
        self._ctl = _Controller(command=[path, "--nx", "--quiet", "--interpreter=mi3"],
                                time_to_check_for_additional_output_sec=0)
        assert self._ctl.gdb_process is not None and self._ctl.gdb_process.stdout is not None
        self.proc = self._ctl.gdb_process
        self._fd = self.proc.stdout.fileno()
        try:
            for command in (*DEFAULT_SETTINGS, *init_commands):
                self.run(command)
        except BaseException:
            self.close()
            raise

    # ---- reading ---------------------------------------------------------

    def _pump(self, deadline: float) -> bool:
        """Move available records into the backlog; False once ``deadline`` passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        select.select([self._fd], [], [], left)
        if self.proc.poll() is not None:
            raise TargetError(f"gdb exited with status {self.proc.returncode}")
        self.backlog += self._ctl.get_gdb_response(timeout_sec=0, raise_error_on_timeout=False)
        return True

    def _take(self, pred: Callable[[Record], bool], timeout: float | None, what: str) -> Record:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            for i, rec in enumerate(self.backlog):
                if pred(rec):
                    return self.backlog.pop(i)
            if not self._pump(deadline):
                raise TargetError(f"gdb: no {what} within {timeout or self.timeout}s")

    # ---- commands ----------------------------------------------------------

    def cmd(self, mi_command: str, timeout: float | None = None) -> Record:
        """Run an MI command; its result record (``^done``, ``^running``, ``^connected``)."""
        self._token += 1
        token = self._token
        self._ctl.write(f"{token}{mi_command}", read_response=False)
        rec = self._take(lambda r: r.get("type") == "result" and r.get("token") == token,
                         timeout, f"reply to {mi_command!r}")
        if rec.get("message") == "error":
            payload = rec.get("payload") or {}
            msg = payload.get("msg", str(payload)) if isinstance(payload, dict) else str(payload)
            raise GdbError(msg)
        return rec

    def run(self, command: str, timeout: float | None = None) -> Record:
        """MI command if it starts with '-', else a CLI command."""
        if command.startswith("-"):
            return self.cmd(command, timeout)
        return self.cmd(f"-interpreter-exec console {mi_quote(command)}", timeout)

    def console(self, cli_command: str, timeout: float | None = None) -> str:
        """Run a CLI command and return what it printed (console stream, plus the
        target stream where ``monitor`` output arrives)."""
        self.backlog = [r for r in self.backlog if r.get("type") not in _STREAMS]
        self.cmd(f"-interpreter-exec console {mi_quote(cli_command)}", timeout)
        # GDB writes the streams before the result record, so it is all here
        out = [r["payload"] or "" for r in self.backlog if r.get("type") in _STREAMS]
        self.backlog = [r for r in self.backlog if r.get("type") not in _STREAMS]
        return "".join(out)

    def connect(self, address: str, timeout: float | None = None) -> Record:
        """``target remote ADDRESS``: a unix socket path (``GdbStub.address``) or HOST:PORT."""
        return self.cmd(f"-target-select remote {address}", timeout)

    def load_symbols(self, elf: str | os.PathLike[str], addr: int | None = None) -> None:
        """Symbols of ``elf`` (the main file), or added at ``addr`` (``add-symbol-file``)."""
        if addr is None:
            self.cmd(f"-file-exec-and-symbols {mi_quote(str(elf))}")
        else:
            self.console(f"add-symbol-file {elf} {addr:#x}")

    def continue_async(self) -> None:
        self.backlog = [r for r in self.backlog if not _is_stopped(r)]
        self.cmd("-exec-continue")

    def wait_stopped(self, timeout: float | None = None) -> Record:
        """The next ``*stopped`` payload (``reason``, ``thread-id``, ``frame``, ...)."""
        rec = self._take(_is_stopped, timeout, "*stopped")
        return rec.get("payload") or {}

    def interrupt(self) -> None:
        try:
            self.cmd("-exec-interrupt")
        except GdbError:
            # not in async mode (or already stopping): the terminal's way
            os.kill(self.proc.pid, signal.SIGINT)

    def close(self) -> None:
        """End GDB: ask politely, then kill its process group."""
        if self.proc.poll() is None:
            try:
                self._ctl.write("-gdb-exit", read_response=False)
                self.proc.wait(0.5)
            except (OSError, subprocess.TimeoutExpired, Exception):
                pass
        children.kill(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> GdbSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_stopped(rec: Record) -> bool:
    return rec.get("type") == "notify" and rec.get("message") == "stopped"
