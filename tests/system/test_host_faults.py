"""Faults of the host's world (issue "Hardening", item 3): QEMU killed or frozen,
GDB killed, QMP gone, a guest that never stops or floods the console, Ctrl-C --
each ends with one clear message, no traceback, the logs kept where the command
keeps logs, no child process left, and a non-zero exit. (QEMU or GDB dying under
`l4gdb run` is in test_harness.py, a mute QMP monitor in tests/unit/test_qmp_loss.py,
bad input files in test_bad_files.py.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from host_procs import child_of

pytestmark = pytest.mark.slow

L4GDB = [sys.executable, "-m", "l4gdb.cli"]

SLEEPER = r'''
#include <l4/l4.h>
#include <stdio.h>
int main(void) {
    printf("ready\n");
    for (;;)
        L4_Sleep(L4_TimePeriod(50000));
}
'''

FLOOD = r'''
#include <stdio.h>
int main(void) {
    printf("ready\n");
    for (unsigned long i = 0;; i++)
        printf("flood line %lu of a guest that never stops talking\n", i);
}
'''

# No system call after "ready": THREADS threads of one priority spinning.
SPIN = r'''
#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stack[512];
static volatile unsigned long spins;
static void spin(void) { for (;;) spins++; }
int main(void) {
    if (THREADS == 2) {
        L4_ThreadId_t me = L4_Myself(), t = L4_GlobalId(L4_ThreadNo(me) + 1, 1);
        L4_Word_t utcb = L4_MyLocalId().raw + L4_UtcbSize(L4_GetKernelInterface());
        if (L4_ThreadControl(t, me, me, me, (void *)utcb) != 1) return 2;
        L4_Set_Priority(t, 255);
        L4_Start_SpIp(t, (L4_Word_t)&stack[512], (L4_Word_t)spin);
    }
    printf("ready\n");
    spin();
}
'''

# One kernel entry per character (KDebug PrintChar), lines "char flood line N".
CHAR_FLOOD = r'''
#include <l4/l4.h>
int main(void) {
    for (unsigned long i = 0;; i++) {
        char digits[24];
        int n = 0;
        for (const char *s = "char flood line "; *s; s++)
            L4_KDB_PrintChar(*s);
        for (unsigned long v = i; n == 0 || v; v /= 10)
            digits[n++] = (char)('0' + v % 10);
        while (n)
            L4_KDB_PrintChar(digits[--n]);
        L4_KDB_PrintChar('\n');
    }
}
'''

# 4000 characters per KDebug PrintString, never a newline.
ENDLESS_LINE = r'''
#include <l4/l4.h>
#include <stdio.h>
static char block[4001];
int main(void) {
    for (int i = 0; i < 4000; i++)
        block[i] = (char)('a' + i % 26);
    printf("ready\n");
    for (;;)
        L4_KDB_PrintString(block);
}
'''


def _source(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _start(args: list[str], env: dict[str, str], stdin=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([*L4GDB, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=stdin, text=True, env={**os.environ, **env})


def _wait_for_line(proc: subprocess.Popen, text: str) -> None:
    for _ in range(200):
        line = proc.stdout.readline()
        if not line:
            break
        if text in line:
            return
    raise AssertionError(f"{text!r} never came")


def _finish(proc: subprocess.Popen, timeout: float = 90) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def _one_message(err: str) -> None:
    assert "Traceback" not in err, err
    assert err.strip(), "no message at all"


GDB_DIED = r"^l4gdb: gdb-multiarch died \(SIGKILL\); the system was shut down$"
QEMU_DIED = r"^l4gdb: {}gdbstub connection lost .*QEMU exited with status -9"


@pytest.mark.parametrize("command, child, code, message", [
    ("wombat", "qemu-system-", 125, QEMU_DIED.format("wombat: ")),
    ("gdb", "gdb-multiarch", 5, GDB_DIED),
    ("gdb", "qemu-system-", 5, QEMU_DIED.format("")),
    ("wombat --gdb", "gdb-multiarch", 125, GDB_DIED),
    ("wombat --gdb", "qemu-system-", 125, QEMU_DIED.format("wombat: ")),
])
def test_when_gdb_or_qemu_is_killed(own_leftovers, tmp_path, command, child, code, message):
    """`l4gdb wombat` (125: l4gdb failed, not the Linux program), `l4gdb gdb` and
    `l4gdb wombat --gdb`, with GDB continuing the system on its terminal."""
    gdb = ["-ex", "continue"]
    args = {"wombat": ["--timeout", "120"],
            "gdb": [_source(tmp_path, "sleeper.c", SLEEPER), *gdb],
            "wombat --gdb": ["--gdb", *gdb]}[command]
    if command.startswith("wombat"):
        args += ["--", "/bin/sh", "-c", "echo ready; sleep 60"]
    proc = _start([command.split()[0], "--arch", "arm", *args], own_leftovers,
                  stdin=subprocess.PIPE)
    _wait_for_line(proc, "ready")
    os.kill(child_of(proc.pid, child, tries=100), signal.SIGKILL)
    got, err = _finish(proc)
    assert got == code, err
    _one_message(err)
    assert re.search(message, err, re.MULTILINE | re.DOTALL), err


def test_a_frozen_qemu_ends_at_the_timeout(own_leftovers, tmp_path):
    logs = tmp_path / "logs"
    proc = _start(["run", "--arch", "arm", "--no-gdb", "--timeout", "8", "--logs", str(logs),
                   "--expect", "never", _source(tmp_path, "sleeper.c", SLEEPER)], own_leftovers)
    _wait_for_line(proc, "ready")
    qemu = child_of(proc.pid, "qemu-system-", tries=100)
    os.kill(qemu, signal.SIGSTOP)        # QEMU alive but answering nothing, QMP included
    t0 = time.monotonic()
    code, err = _finish(proc)
    assert code == 3, err
    assert time.monotonic() - t0 < 20    # no waiting for a monitor that will never answer
    _one_message(err)
    assert "timeout after 8 s: expectation 1 of 1 'never' not met" in err
    assert f"logs kept in {logs}" in err
    assert (logs / "console.log").read_text().startswith("ready")


def test_ctrl_c_ends_a_run_keeping_the_logs(own_leftovers, tmp_path):
    logs = tmp_path / "logs"
    proc = _start(["run", "--arch", "arm", "--timeout", "120", "--logs", str(logs),
                   "--expect", "never", _source(tmp_path, "sleeper.c", SLEEPER)], own_leftovers)
    _wait_for_line(proc, "ready")
    proc.send_signal(signal.SIGINT)      # what a terminal's Ctrl-C sends to l4gdb alone
    code, err = _finish(proc)
    assert code == 130, err
    _one_message(err)
    assert "l4gdb: interrupted (Ctrl-C); the system was shut down" in err
    assert f"logs kept in {logs}" in err and (logs / "qemu.log").exists()


def test_a_flooding_guest_still_meets_fail_on_and_the_timeout(own_leftovers, tmp_path):
    flood = _source(tmp_path, "flood.c", FLOOD)
    done = subprocess.run([*L4GDB, "run", "--arch", "arm", "--no-gdb", "--quiet",
                           "--fail-on", r"flood line 300\b", flood],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, **own_leftovers})
    assert done.returncode == 4, done.stderr
    assert "fail-on pattern 'flood line 300\\\\b' matched" in done.stderr
    logs = tmp_path / "logs"
    done = subprocess.run([*L4GDB, "run", "--arch", "arm", "--no-gdb", "--quiet", "--timeout",
                           "6", "--logs", str(logs), "--expect", "no-such-line", flood],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, **own_leftovers})
    assert done.returncode == 3, done.stderr
    _one_message(done.stderr)
    assert "flood line 1000 " in (logs / "console.log").read_text()


def test_floods_of_single_characters_and_of_one_endless_line(own_leftovers, tmp_path):
    done = subprocess.run([*L4GDB, "run", "--arch", "arm", "--no-gdb", "--quiet", "--fail-on",
                           r"char flood line 150\b", _source(tmp_path, "chars.c", CHAR_FLOOD)],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, **own_leftovers})
    assert done.returncode == 4, done.stderr
    assert "l4gdb: fail-on pattern 'char flood line 150\\\\b' matched" in done.stderr
    logs = tmp_path / "logs"
    t0 = time.monotonic()
    done = subprocess.run([*L4GDB, "run", "--arch", "arm", "--no-gdb", "--quiet", "--timeout",
                           "4", "--logs", str(logs), "--expect", "never",
                           _source(tmp_path, "endless.c", ENDLESS_LINE)],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, **own_leftovers})
    assert done.returncode == 3, done.stderr
    assert time.monotonic() - t0 < 20
    _one_message(done.stderr)
    log = (logs / "console.log").read_text()
    assert log.startswith("ready\nabcdef") and log.count("\n") == 1 and len(log) > 100_000


def test_ctrl_c_stops_a_flooding_guest_under_gdb(own_leftovers, tmp_path, monkeypatch):
    """The flood does not drown GDB's Ctrl-C: the prompt comes back, and the system
    goes on with the next `continue`."""
    from pty_terminal import Terminal

    monkeypatch.setenv("L4GDB_BUILD_DIR", own_leftovers["L4GDB_BUILD_DIR"])
    term = Terminal([*L4GDB, "gdb", "--arch", "arm", _source(tmp_path, "flood.c", FLOOD)])
    try:
        term.expect("(gdb) ")
        for _ in range(2):
            term.send("continue\n")
            if _ == 0:
                term.expect("flood line 300 ")
            for _line in range(0 if _ == 0 else 200):   # the flood goes on after SIGINT
                term.expect("stops talking\r\n")
            term.send("\x03")
            assert "SIGINT" in term.expect("(gdb) ", timeout=20)
        assert term.kill_and_quit() == 0
    finally:
        term.close()


@pytest.mark.parametrize("threads, timer", [(1, True), (2, True), (2, False)])
def test_a_guest_that_never_stops_ends_at_the_timeout(own_leftovers, tmp_path, monkeypatch, capfd,
                                                      threads, timer):
    """Spinning without system calls: one thread alone (the guest timer's ticks stay
    in the stub: no kernel entry at all), or two of one priority, preempted by the
    guest timer's tick or -- without a guest timer -- by the host interrupting QEMU
    at the end of each timeslice."""
    from l4gdb.cli import main
    from l4gdb.runtime.plugins import get_plugins

    monkeypatch.setenv("L4GDB_BUILD_DIR", own_leftovers["L4GDB_BUILD_DIR"])
    if not timer:
        monkeypatch.setattr(get_plugins().hook, "l4gdb_guest_timer", lambda arch, symbols: None)
    logs = tmp_path / "logs"
    source = _source(tmp_path, f"spin{threads}.c", SPIN.replace("THREADS", str(threads)))
    t0 = time.monotonic()
    code = main(["run", "--arch", "arm", "--no-gdb", "--timeout", "3", "--logs", str(logs),
                 source])
    out, err = capfd.readouterr()
    assert code == 3, err
    assert time.monotonic() - t0 < 15
    assert err.splitlines()[0] == "l4gdb: timeout after 3 s: the root task did not exit"
    assert f"logs kept in {logs}" in err and out == "ready\n"
    assert (logs / "console.log").read_text() == "ready\n"
    with (logs / "kernel-events.log").open() as events:
        preemptions = sum(" schedule " in line for line in events)
    assert (preemptions > 10) == (threads == 2)


def test_a_linux_program_flooding_stdout_ends_at_the_timeout(own_leftovers):
    done = subprocess.run([*L4GDB, "wombat", "--arch", "arm", "--timeout", "5", "--", "yes",
                           "flood"], capture_output=True, timeout=120,
                          env={**os.environ, **own_leftovers})
    assert done.returncode == 125
    assert done.stdout.startswith(b"flood\nflood\n") and len(done.stdout) > 100_000
    err = done.stderr.decode()
    assert err.strip().splitlines()[-1] == "l4gdb: wombat: timed out after 5 s"
    assert "--- wombat ps ---" in err and "Traceback" not in err     # what ran, at the end


def test_qmp_gone_still_ends_qemu(own_leftovers):
    """The QMP connection lost in the middle: the system still shuts QEMU down."""
    from l4gdb.runtime.console import ConsoleWatcher
    from l4gdb.runtime.system import System, resolve_program, toolchain_for

    program = resolve_program(toolchain_for("arm"), "hello", [])
    with System("arm", program, ConsoleWatcher(out=None)) as system:
        qemu = system.target.qemu
        pid = qemu.proc.pid
        qemu.qmp.close()                 # the monitor connection is gone
        assert qemu.alive()
    assert qemu.proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ctrl_c_ends_a_wombat_run_that_has_no_terminal(own_leftovers):
    proc = _start(["wombat", "--arch", "arm", "--", "/bin/sh", "-c", "echo ready; sleep 60"],
                  own_leftovers)
    _wait_for_line(proc, "ready")
    proc.send_signal(signal.SIGINT)
    code, err = _finish(proc)
    assert code == 130, err
    assert err.strip() == "l4gdb: interrupted"
