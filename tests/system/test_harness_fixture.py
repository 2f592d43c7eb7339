"""The pytest plugin (``l4gdb_system``), used by the project's own system tests,
and checked from the outside with inner pytest runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from test_harness import GREETER, SLEEPER

from l4gdb.testing.pytest_plugin import ExpectTimeout, FailOnMatched, SystemFinished

pytestmark = pytest.mark.slow


@pytest.mark.l4gdb_arches
def test_hello_ping_pong_and_introspection(l4gdb_system, l4gdb_arch):
    s = l4gdb_system(program="hello")
    assert s.arch == l4gdb_arch
    first = s.expect(r"ping (?P<n>[0-9]+)", timeout=20)
    assert first["n"] == "1"
    s.expect("pong 1")
    threads = s.threads()
    assert threads and all(isinstance(t, dict) for t in threads)
    assert {"id", "name", "state", "priority"} <= set(threads[0])
    assert len([t for t in threads if not t["host"]]) >= 2      # root task + its pong thread
    assert s.ipc_log(), "ping/pong IPC is logged"
    assert s.kip()["api_version"] >> 24 == 0x84
    assert s.wait_exit(timeout=30) == 0
    assert "hello: done" in s.output


def test_own_program_with_console_input(l4gdb_system, tmp_path):
    src = tmp_path / "greet.c"
    src.write_text(GREETER)
    s = l4gdb_system(program=str(src))
    s.expect(r"name\?")
    s.send("plugin\n")
    s.expect("hello, plugin")
    assert float(s.expect(r"took (?P<us>[0-9.]+) us")["us"]) == 42.5


def test_expect_timeout_and_fail_on_raise_assertions(l4gdb_system, tmp_path):
    src = tmp_path / "sleep.c"
    src.write_text(SLEEPER.replace("MESSAGE", "ready"))
    s = l4gdb_system(program=str(src), fail_on=["tick 2"])
    s.expect("ready")
    t0 = time.monotonic()
    with pytest.raises(ExpectTimeout, match="'never' did not appear within 1 s"):
        s.expect("never", timeout=1)
    assert time.monotonic() - t0 < 10
    s.expect("tick 1", timeout=10)          # a failed expect does not block the next one
    with pytest.raises(FailOnMatched, match="tick 2"):
        s.expect("tick 5", timeout=10)


def test_expect_after_exit(l4gdb_system):
    s = l4gdb_system(program="hello")
    assert s.wait_exit() == 0
    s.expect("pong 5")                       # already printed: matches at once
    with pytest.raises(SystemFinished, match="exited"):
        s.expect("ping 6", timeout=30)


INNER = '''
import pytest

def test_fails_with_a_system(l4gdb_system):
    s = l4gdb_system(program="hello")
    s.expect("pong 2")
    assert False, "the test body failed"

@pytest.mark.l4gdb_arches("arm")
def test_passes(l4gdb_system):
    l4gdb_system(program="hello").expect("hello: done")
'''


def _inner_pytest(tmp_path, *args, env):
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-v",
         "--basetemp", str(tmp_path / "base"), *args, str(tmp_path / "test_inner.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})})


def test_teardown_after_a_failing_test_and_report(own_leftovers, tmp_path):
    r = _inner_pytest(tmp_path, env=own_leftovers)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 failed, 1 passed" in r.stdout
    assert "l4gdb system 0 (arm hello) console" in r.stdout      # the console in the report
    assert "test_passes[arm]" in r.stdout


def test_parallel_runs_with_xdist(own_leftovers, tmp_path):
    r = _inner_pytest(tmp_path, "-n", "2", env=own_leftovers)
    assert "1 failed, 1 passed" in r.stdout, r.stdout + r.stderr
