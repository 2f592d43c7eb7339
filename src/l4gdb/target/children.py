"""Registry of child processes (QEMU, GDB) that must not outlive the host.

Every child runs in its own session/process group (so a terminal Ctrl-C
reaches only l4gdb) and is registered here; the registry kills the groups at
interpreter exit, and SIGTERM/SIGHUP are turned into ``SystemExit`` so
context managers and atexit run (SIGINT already raises KeyboardInterrupt).
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import threading

_lock = threading.Lock()
_children: dict[int, subprocess.Popen[bytes]] = {}
_history: list[int] = []        # every pid ever spawned, for leak checks
_installed = False


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(kill_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            # leave handlers someone else installed alone
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _exit_on_signal)


def spawn(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    """``Popen`` in a new session, registered for cleanup."""
    with _lock:
        _install()
        proc: subprocess.Popen[bytes] = subprocess.Popen(argv, start_new_session=True, **kwargs)  # type: ignore[call-overload]
        _children[proc.pid] = proc
        _history.append(proc.pid)
    return proc


def kill(proc: subprocess.Popen[bytes], grace: float = 0.0) -> None:
    """Kill the child's whole process group (after ``grace`` seconds of SIGTERM, if
    given) and reap it. Safe to call twice and from atexit."""
    with _lock:
        _children.pop(proc.pid, None)
    if proc.poll() is None and grace > 0:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    # only while the leader lives is the group id surely still ours (no pid reuse)
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGKILL)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all() -> None:
    with _lock:
        procs = list(_children.values())
    for proc in procs:
        kill(proc)


def spawned_pids() -> list[int]:
    """Every pid this process spawned through the registry, in order."""
    with _lock:
        return list(_history)


def live_pids() -> list[int]:
    """Pids of registered children still running (tests use this)."""
    with _lock:
        return [pid for pid, p in _children.items() if p.poll() is None]
