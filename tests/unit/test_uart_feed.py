"""Console input also typed into a UART: the console's input sinks and the
QEMU command line / socket of ``QemuProcess(uart=True)``."""

from __future__ import annotations

import shutil
import socket
import threading

import pytest

from l4gdb.runtime.console import ConsoleWatcher
from l4gdb.target.qemu import QemuProcess


def test_a_sink_gets_what_was_fed_before_then_every_feed():
    c = ConsoleWatcher()
    c.feed("ab")
    got: list[bytes] = []
    c.add_input_sink(got.append)
    c.feed("c\n")
    assert got == [b"ab", b"c\n"]
    assert [c.read_char() for _ in range(4)] == [ord(x) for x in "abc\n"]   # KDebug too


needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None,
                                reason="qemu-system-arm not installed")


@needs_qemu
def test_serial_is_off_without_uart(tmp_path):
    argv = QemuProcess(tmp_path / "c.cfg", tmp_path / "k.elf", arch="arm").argv("/t")
    assert argv[argv.index("-serial") + 1] == "none" and "id=uart0" not in " ".join(argv)


@needs_qemu
def test_uart_is_a_socket_chardev_the_host_writes_into(tmp_path):
    q = QemuProcess(tmp_path / "c.cfg", tmp_path / "k.elf", arch="arm", uart=True)
    path = str(tmp_path / "uart.sock")
    argv = q.argv(str(tmp_path))
    assert argv[argv.index("-chardev") + 1] == f"socket,id=uart0,path={path},server=on,wait=off"
    assert argv[argv.index("-serial") + 1] == "chardev:uart0"

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)   # stands in for QEMU
    server.bind(path)
    server.listen(1)
    got = bytearray()

    def accept() -> None:
        conn, _ = server.accept()
        while data := conn.recv(64):
            got.extend(data)

    reader = threading.Thread(target=accept, daemon=True)
    reader.start()
    q.alive = lambda: True                                        # type: ignore[method-assign]
    q.uart_write(b"hel")
    q.uart_write(b"lo\n")
    q.close()                                                     # closes the connection
    reader.join(5)
    server.close()
    assert not reader.is_alive()                                  # the connection ended
    assert bytes(got) == b"hello\n"
