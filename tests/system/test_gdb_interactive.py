"""``l4gdb gdb`` on a terminal: continue, Ctrl-C back to the prompt, info threads."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pty_terminal import Terminal

pytestmark = pytest.mark.slow

SPIN = Path(__file__).with_name("spin_and_tick.c")


def test_ctrl_c_returns_to_the_prompt_and_the_system_goes_on(no_leftovers):
    term = Terminal([sys.executable, "-m", "l4gdb.cli", "gdb", str(SPIN)])
    term.expect("(gdb) ")
    term.send("continue\n")
    term.expect("tick 1")
    term.send("\x03")
    stopped = term.expect("(gdb) ")
    assert "SIGINT" in stopped
    term.send("info threads\n")
    threads = term.expect("(gdb) ")
    assert "(root)" in threads and "(spin)" in threads
    term.send("continue\n")
    term.expect("tick 3")          # the system was not killed: it goes on
    term.send("\x03")
    term.expect("(gdb) ")
    assert term.kill_and_quit() == 0
