"""A program on a pseudo-terminal, driven like a person at the keyboard."""

from __future__ import annotations

import os
import pty
import select
import signal
import time


class Terminal:
    def __init__(self, argv: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:   # the child: l4gdb with GDB on this terminal
            os.environ["TERM"] = "dumb"
            os.execv(argv[0], argv)
        self.buf = b""

    def expect(self, text: str, timeout: float = 60) -> str:
        end = time.monotonic() + timeout
        while text.encode() not in self.buf and time.monotonic() < end:
            if select.select([self.fd], [], [], 0.2)[0]:
                try:
                    self.buf += os.read(self.fd, 65536)
                except OSError:
                    break
        seen, self.buf = self.buf.decode(errors="replace"), b""
        assert text in seen, f"{text!r} not seen in:\n{seen[-2000:]}"
        return seen

    def send(self, data: str) -> None:
        os.write(self.fd, data.encode())

    def wait(self, timeout: float = 30) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                os.read(self.fd, 65536)
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("l4gdb did not exit")

    def kill_and_quit(self) -> int:
        """At the GDB prompt: ``kill`` the program (answering yes), ``quit``; the exit status."""
        self.send("kill\n")
        self.expect("(y or n)")
        self.send("y\n")
        self.expect("(gdb) ")
        self.send("quit\n")
        return self.wait()

    def close(self) -> None:
        """End the program if it still runs (a failed test): SIGTERM, so that it
        shuts its own QEMU and GDB down."""
        try:
            running = os.waitpid(self.pid, os.WNOHANG)[0] == 0
        except ChildProcessError:          # wait() reaped it already
            running = False
        if running:
            os.kill(self.pid, signal.SIGTERM)
            self.wait()
        os.close(self.fd)
