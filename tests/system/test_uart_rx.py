"""A user-level UART driver on ARM: console input typed into QEMU virt's PL011
reaches the driver thread as receive interrupts (interrupt IPC, irq 33)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow


def test_uart_receive_interrupts_reach_the_driver_thread(l4gdb, no_leftovers):
    r = l4gdb("run", "--no-gdb", "--arch", "arm", "uart-driver",
              "--send", r"hello\n", "--expect", "got 'hello'",
              "--send", r"second\nquit\n", "--expect", r"done after (?P<irqs>\d+) interrupts",
              "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert "uart-driver: waiting for interrupt 33" in r.out
    # each line exactly once, in order: no character lost or read twice
    assert re.findall(r"got '([^']*)'", r.out) == ["hello", "second", "quit"]
    # a line per interrupt message: the acks enabled the line again
    assert int(re.search(r"done after (\d+) interrupts", r.out).group(1)) >= 3
