"""``l4gdb wombat``: exit statuses, l4gdb's own failures (125), --strace,
--snapshot, and a script fed on stdin."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

L4GDB = [sys.executable, "-m", "l4gdb.cli"]


def wombat(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*L4GDB, "wombat", "--arch", "arm", "--timeout", "120", *args],
                          input=stdin, capture_output=True, text=True, timeout=180)


def test_status_of_the_program_and_of_a_signal():
    assert wombat("--", "/bin/sh", "-c", "exit 42").returncode == 42
    assert wombat("--", "/bin/sh", "-c", "kill -9 $$").returncode == 128 + 9
    assert wombat("--", "/bin/sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_program_found_by_path_inside_the_rootfs():
    done = wombat("--", "echo", "found", "by", "PATH")
    assert (done.returncode, done.stdout) == (0, "found by PATH\n")


def test_l4gdb_failures_exit_125_with_one_message(tmp_path):
    done = wombat("--", "no-such-program")
    assert done.returncode == 125
    assert "no-such-program: No such file or directory" in done.stderr
    done = wombat("--rootfs", str(tmp_path / "missing"), "--", "/bin/true")
    assert done.returncode == 125 and "not a directory" in done.stderr
    bad = tmp_path / "root"
    (bad / "bin").mkdir(parents=True)
    (bad / "bin" / "prog").write_bytes(b"\x7fELF\x01\x01\x01" + bytes(40))   # truncated
    (bad / "bin" / "prog").chmod(0o755)
    done = wombat("--rootfs", str(bad), "--", "/bin/prog")
    assert done.returncode == 125
    assert "Exec format error" in done.stderr
    assert "Traceback" not in done.stderr


def test_strace_shows_calls_with_arguments_and_results():
    done = wombat("--strace", "--", "/bin/sh", "-c", "echo hi > /dev/null; cat /nonexistent")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert any('execve("/proc/self/exe"' in ln or "execve(" in ln for ln in lines)
    assert any("openat(AT_FDCWD, \"/nonexistent\"" in ln and "ENOENT" in ln for ln in lines)
    assert any("+++ exited with 1 +++" in ln for ln in lines)


def test_snapshot_shows_processes_and_l4_threads():
    done = wombat("--snapshot", "--", "/bin/sh", "-c", "sleep 0.3 & echo started")
    assert done.returncode == 0 and done.stdout == "started\n"
    assert "--- wombat ps ---" in done.stderr and "--- l4 threads ---" in done.stderr
    assert "--- iguana eas ---" in done.stderr
    assert "sleep 0.3" in done.stderr                   # the child still runs
    assert "(wombat)" in done.stderr and "(iguana)" in done.stderr


def test_a_script_on_stdin_runs_in_the_default_shell():
    done = wombat(stdin="echo one\nx=$((20+22))\necho $x\nexit 3\n")
    assert (done.returncode, done.stdout) == (3, "one\n42\n")


def test_files_written_stay_in_the_rootfs_with_rootfs_persist(tmp_path):
    from l4gdb.runtime.rootfs import default_rootfs

    root = tmp_path / "root"
    shutil.copytree(default_rootfs("arm"), root, symlinks=True)
    done = wombat("--rootfs", str(root), "--rootfs-persist", "--", "/bin/sh", "-c",
                  "echo data > /tmp/out; mkdir /tmp/d; cd /tmp/d && echo x > ../../y")
    assert done.returncode == 0, done.stderr
    assert (root / "tmp" / "out").read_text() == "data\n"
    assert (root / "y").read_text() == "x\n"              # ../.. stops at the root


def test_gdb_sees_linux_processes_as_l4_threads():
    done = wombat("--gdb", "--batch", "-ex", "wombat ps", "-ex", "info threads",
                  "-ex", "continue", "--", "/bin/sh", "-c", "echo from-linux")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "/bin/sh -c echo from-linux" in out          # wombat ps, before it ran
    assert "(sh)" in out                                 # info threads: an L4 thread
    assert out.index("/bin/sh -c echo") < out.index("from-linux\n")


def test_interactive_shell_on_a_terminal_with_ctrl_c(no_leftovers):
    from pty_terminal import Terminal

    term = Terminal([sys.executable, "-m", "l4gdb.cli", "wombat", "--arch", "arm"])
    term.expect("# ")                                   # busybox sh's prompt (root)
    term.send("echo $((6*7))\r")
    assert "42" in term.expect("# ")
    term.send("sleep 30\r")
    time.sleep(1.0)
    term.send("\x03")                                   # SIGINT to the foreground group
    term.expect("# ", timeout=20)
    term.send("echo status $?\r")
    assert "status 130" in term.expect("# ")
    term.send("exit 3\r")
    assert term.wait() == 3
