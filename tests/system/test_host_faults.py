"""Faults of the host's world (issue "Hardening", item 3): QEMU killed or frozen,
GDB killed, QMP gone, a guest that floods the console, Ctrl-C -- each ends with
one clear message, no traceback, the logs kept where the command keeps logs,
no child process left, and a non-zero exit. (QEMU or GDB dying under
`l4gdb run` is in test_harness.py.)"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def _source(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _child(pid: int, name: str) -> int:
    for _ in range(100):
        out = subprocess.run(["pgrep", "-P", str(pid), "-f", name],
                             capture_output=True, text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.1)
    raise AssertionError(f"no {name} child of {pid}")


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


def test_wombat_when_qemu_is_killed(own_leftovers):
    proc = _start(["wombat", "--arch", "arm", "--timeout", "120", "--", "/bin/sh", "-c",
                   "echo ready; sleep 60"], own_leftovers)
    _wait_for_line(proc, "ready")
    os.kill(_child(proc.pid, "qemu-system-"), signal.SIGKILL)
    code, err = _finish(proc)
    assert code == 125, err
    _one_message(err)
    assert re.search(r"l4gdb: wombat: gdbstub connection lost .*QEMU exited with status -9", err)


def test_gdb_session_when_gdb_is_killed(own_leftovers, tmp_path):
    proc = _start(["gdb", "--arch", "arm", _source(tmp_path, "sleeper.c", SLEEPER),
                   "-ex", "continue"], own_leftovers, stdin=subprocess.PIPE)
    _wait_for_line(proc, "ready")
    os.kill(_child(proc.pid, "gdb-multiarch"), signal.SIGKILL)
    code, err = _finish(proc)
    assert code == 5, err
    _one_message(err)
    assert "l4gdb: gdb-multiarch died (SIGKILL); the system was shut down" in err


def test_gdb_session_when_qemu_is_killed(own_leftovers, tmp_path):
    proc = _start(["gdb", "--arch", "arm", _source(tmp_path, "sleeper.c", SLEEPER),
                   "-ex", "continue"], own_leftovers, stdin=subprocess.PIPE)
    _wait_for_line(proc, "ready")
    os.kill(_child(proc.pid, "qemu-system-"), signal.SIGKILL)
    code, err = _finish(proc)
    assert code == 5, err
    _one_message(err)
    assert "gdbstub connection lost" in err and "QEMU exited with status -9" in err


def test_a_frozen_qemu_ends_at_the_timeout(own_leftovers, tmp_path):
    logs = tmp_path / "logs"
    proc = _start(["run", "--arch", "arm", "--no-gdb", "--timeout", "8", "--logs", str(logs),
                   "--expect", "never", _source(tmp_path, "sleeper.c", SLEEPER)], own_leftovers)
    _wait_for_line(proc, "ready")
    qemu = _child(proc.pid, "qemu-system-")
    os.kill(qemu, signal.SIGSTOP)        # QEMU alive but answering nothing, QMP included
    code, err = _finish(proc)
    assert code == 3, err
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
    from l4gdb.console import Console
    from l4gdb.system import System, resolve_program, toolchain_for

    program = resolve_program(toolchain_for("arm"), "hello", [])
    with System("arm", program, Console(out=None)) as system:
        qemu = system.target.qemu
        pid = qemu.proc.pid
        qemu.qmp.close()                 # the monitor connection is gone
        assert qemu.alive()
    assert qemu.proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_broken_qemu_config_names_the_file(tmp_path, monkeypatch, capfd):
    """An arch plugin's -readconfig file QEMU refuses: exit 2, one line naming it."""
    import dataclasses

    from l4gdb.cli import main
    from l4gdb.plugins import get_plugins

    hook = get_plugins().hook
    real = hook.l4gdb_qemu_setup
    cases = {"syntax.cfg": ('[machine]\n  type = "virt\n',
                            r"syntax\.cfg:2: not a \[group\] or key = \"value\" line"),
             "machine.cfg": ('[machine]\n  type = "no-such-board"\n',
                             r"machine\.cfg: QEMU refuses this config: .*unsupported machine")}
    for name, (text, message) in cases.items():
        cfg = tmp_path / name
        cfg.write_text(text)
        monkeypatch.setattr(hook, "l4gdb_qemu_setup", lambda arch, cfg=cfg: dataclasses.replace(
            real(arch=arch), config=cfg))
        code = main(["run", "--arch", "arm", "--no-gdb", "--logs", str(tmp_path / "logs"),
                     "hello"])
        err = capfd.readouterr().err
        assert code == 2, err
        assert re.search(message, err.splitlines()[0]), err
        assert "Traceback" not in err


def test_ctrl_c_ends_a_wombat_run_that_has_no_terminal(own_leftovers):
    proc = _start(["wombat", "--arch", "arm", "--", "/bin/sh", "-c", "echo ready; sleep 60"],
                  own_leftovers)
    _wait_for_line(proc, "ready")
    proc.send_signal(signal.SIGINT)
    code, err = _finish(proc)
    assert code == 130, err
    assert err.strip() == "l4gdb: interrupted"
