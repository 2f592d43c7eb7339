"""The boot-and-assert harness end to end (``l4gdb run`` on QEMU): every way a
run can end gets its own exit code, a message naming what failed, the logs
kept in one directory, and no process left behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from host_procs import child_of

pytestmark = pytest.mark.slow

# Prints a line, then sleeps in the kernel forever (woken every 50 ms).
SLEEPER = r'''
#include <l4/l4.h>
#include <stdio.h>
int main(void) {
    printf("MESSAGE\n");
    for (unsigned long i = 0;; i++) {
        L4_Sleep(L4_TimePeriod(50000));
        if (i % 20 == 0) printf("tick %lu\n", i / 20);
    }
}
'''

# Asks for a name on the console and greets it.
GREETER = r'''
#include <l4/l4.h>
#include <l4/kdebug.h>
#include <stdio.h>
int main(void) {
    char name[32];
    unsigned n = 0;
    printf("name?\n");
    for (;;) {
        int c = L4_KDB_ReadChar_Blocked();
        if (c == '\n' || n == sizeof(name) - 1) break;
        name[n++] = (char)c;
    }
    name[n] = 0;
    printf("hello, %s\n", name);
    printf("round trip took 42.5 us\n");
    return 0;
}
'''


def _prog(tmp_path: Path, name: str, text: str, message: str = "ready") -> str:
    src = tmp_path / name
    src.write_text(text.replace("MESSAGE", message))
    return str(src)


def _junit_cases(path: Path) -> list[ET.Element]:
    return ET.parse(path).getroot().find("testsuite").findall("testcase")


def test_expectation_timeout_fires(l4gdb, own_leftovers, tmp_path):
    script = tmp_path / "s.toml"
    script.write_text('timeout = 120\n[[expect]]\npattern = "ready"\n'
                      '[[expect]]\nname = "the never line"\npattern = "never"\ntimeout = 2\n')
    t0 = time.monotonic()
    r = l4gdb("run", "--no-gdb", "--script", str(script), "--junit", str(tmp_path / "j.xml"),
              "--results", str(tmp_path / "r.json"), _prog(tmp_path, "sleep.c", SLEEPER),
              env=own_leftovers)
    assert r.code == 3, r.out + r.err
    assert time.monotonic() - t0 < 60          # the step's 2 s, not the overall 120 s
    assert "expectation 2 of 2 'the never line' not met within 2 s" in r.err
    assert "logs kept in" in r.err
    cases = _junit_cases(tmp_path / "j.xml")
    assert cases[0].find("failure") is None
    assert "the never line" in cases[1].get("name") and cases[1].find("failure") is not None
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["outcome"] == "timeout"
    assert [e["status"] for e in data["expectations"]] == ["passed", "timeout"]
    kept = Path(data["logs"])          # no --logs: a temporary directory, kept on failure
    assert kept.name.startswith("l4gdb-logs-") and str(kept) in r.err
    assert (kept / "console.log").read_text().startswith("ready")
    shutil.rmtree(kept)


def test_fail_on_fires_at_once(l4gdb, own_leftovers, tmp_path):
    t0 = time.monotonic()
    r = l4gdb("run", "--no-gdb", "--timeout", "120", "--fail-on", "panic", "--expect", "never",
              "--logs", str(tmp_path / "logs"),
              _prog(tmp_path, "panic.c", SLEEPER, "guest panic: oh no"), env=own_leftovers)
    assert r.code == 4, r.out + r.err
    assert time.monotonic() - t0 < 60
    assert "fail-on pattern 'panic' matched: 'guest panic: oh no'" in r.err


def test_expectation_that_never_matches(l4gdb, own_leftovers, tmp_path):
    logs = tmp_path / "logs"
    r = l4gdb("run", "hello", "--expect", "ping 1", "--expect", "ping 99", "--logs", str(logs),
              "--junit", str(tmp_path / "j.xml"), env=own_leftovers)
    assert r.code == 1, r.out + r.err
    assert "before expectation 2 of 2 'ping 99' matched" in r.err
    assert f"logs kept in {logs}" in r.err
    assert {"console.log", "kernel-events.log", "qemu.log", "gdb.log"} <= \
        {p.name for p in logs.iterdir()}
    assert "hello: done" in (logs / "console.log").read_text()
    assert " ipc " in (logs / "kernel-events.log").read_text()
    cases = _junit_cases(tmp_path / "j.xml")
    assert [c.find("failure") is not None for c in cases] == [False, True, True]


def test_send_after_an_expectation_and_metrics(l4gdb, own_leftovers, tmp_path):
    r = l4gdb("run", "--no-gdb", _prog(tmp_path, "greet.c", GREETER), "--expect", r"name\?",
              "--send", r"l4\n", "--expect", "hello, l4$",
              "--expect", r"took (?P<round_trip_us>[0-9.]+) us",
              "--results", str(tmp_path / "r.json"), env=own_leftovers)
    assert r.code == 0, r.out + r.err
    assert json.loads((tmp_path / "r.json").read_text())["metrics"] == {"round_trip_us": 42.5}


def test_l4test_junit_has_a_case_per_check(l4gdb, own_leftovers, tmp_path):
    r = l4gdb("run", "--no-gdb", "--quiet", "l4test", "--timeout", "240",
              "--junit", str(tmp_path / "j.xml"), env=own_leftovers)
    assert r.code in (0, 1), r.out + r.err
    cases = _junit_cases(tmp_path / "j.xml")
    checks = [c for c in cases if not c.get("classname").endswith((".expect", "l4test"))]
    assert len(checks) > 20
    assert {c.get("classname").rsplit(".", 1)[1] for c in checks} >= {"kip", "ipc", "schedule"}
    assert (cases[-1].find("failure") is None) == (r.code == 0)


def _kill_child_in_the_middle(tmp_path, env, child: str, *args: str):
    """Start a run of the sleeper, kill its ``child`` process once the guest printed
    "ready"; the run's (exit code, stdout, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "l4gdb.cli", "run", "--timeout", "120", *args,
         "--expect", "never", _prog(tmp_path, "sleep.c", SLEEPER)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env={**os.environ, **env})
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.kill(child_of(proc.pid, child), signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def test_qemu_dying_in_the_middle(own_leftovers, tmp_path):
    logs = tmp_path / "logs"
    code, out, err = _kill_child_in_the_middle(tmp_path, own_leftovers, "qemu-system-",
                                               "--no-gdb", "--logs", str(logs))
    assert code == 5, out + err
    assert "QEMU or GDB failed during the run" in err and "QEMU exited" in err
    assert f"logs kept in {logs}" in err
    assert "Traceback" not in err
    assert (logs / "console.log").read_text().startswith("ready")
    assert (logs / "qemu.log").exists() and (logs / "kernel-events.log").exists()


def test_gdb_dying_in_the_middle(own_leftovers, tmp_path):
    code, out, err = _kill_child_in_the_middle(tmp_path, own_leftovers, "gdb-multiarch",
                                               "--results", str(tmp_path / "r.json"),
                                               "--logs", str(tmp_path / "logs"))
    assert code == 5, out + err
    assert "GDB died during the run: gdb-multiarch exited with status -9" in err
    assert "logs kept in" in err and "Traceback" not in err
    assert json.loads((tmp_path / "r.json").read_text())["reason"] == "gdb-died"


def test_a_system_that_cannot_start_is_infrastructure(l4gdb, own_leftovers, tmp_path):
    # A QEMU that exits at once: the system cannot start (CI may retry: not a test failure).
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "qemu-system-arm"
    fake.write_text("#!/bin/sh\necho 'qemu: cannot start today' >&2\nexit 1\n")
    fake.chmod(0o755)
    r = l4gdb("run", "--no-gdb", "hello", "--junit", str(tmp_path / "j.xml"),
              "--logs", str(tmp_path / "logs"),
              env={"PATH": f"{bindir}:{os.environ['PATH']}", **own_leftovers})
    assert r.code == 5, r.out + r.err
    assert "the system could not start" in r.err and "cannot start today" in r.err
    run_case = _junit_cases(tmp_path / "j.xml")[-1]
    assert run_case.find("error") is not None


def test_boot_and_assert_wrapper(own_leftovers, tmp_path):
    script = Path(__file__).resolve().parents[2] / "scripts" / "boot-and-assert"
    proc = subprocess.run([str(script), "hello", "--quiet", "--expect", "pong 5"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **own_leftovers,
                               "L4GDB": str(Path(sys.executable).with_name("l4gdb"))})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "boot-and-assert: passed" in proc.stderr
    assert (tmp_path / "l4gdb-logs" / "console.log").is_file()
