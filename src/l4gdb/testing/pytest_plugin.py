"""pytest plugin (entry point ``pytest11``: ``l4gdb``): boot L4 systems from tests.

::

    @pytest.mark.l4gdb_arches                # once per installed (selected) architecture
    def test_ping_pong(l4gdb_system):
        s = l4gdb_system(program="hello")    # arch: the parametrized one, else --l4gdb-arch
        m = s.expect(r"ping (?P<n>\\d+)", timeout=10)
        s.send("x\\n")
        assert any(t["name"] == "root" for t in s.threads())
        assert s.wait_exit() == 0

* ``l4gdb_system(arch=, program=, files=(), gdb=False, fail_on=(), timeout=)``
  boots a system (built-in name, C files or an ELF) and returns a
  :class:`SystemHandle`; every system a test started is shut down at teardown,
  also when the test failed, and its logs (console, kernel events, QEMU) stay
  in the test's ``tmp_path``.
* ``--l4gdb-arch=all|arm,mips,...`` picks the architectures (default ``all``:
  every installed one) for tests marked ``@pytest.mark.l4gdb_arches``
  (optionally ``l4gdb_arches("arm", "x86")`` = the ones the test supports);
  the first one is the default for unmarked tests.
* Tests that use ``l4gdb_system`` get the ``slow`` marker, and are skipped
  with the reason when QEMU or the toolchain is missing.

The plugin imports nothing heavy at collection; the host loop runs in the
test's own thread; systems share no state (free ports, own temp dirs), so
pytest-xdist runs are fine.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from l4gdb.errors import DEFAULT_ARCH

DEFAULT_EXPECT_TIMEOUT_S = 30.0
TOOLS = ("clang", "ld.lld")


class L4gdbTestError(AssertionError):
    """An expectation on a system was not met; the message has the console's last lines."""


class ExpectTimeout(L4gdbTestError):
    pass


class FailOnMatched(L4gdbTestError):
    pass


class SystemFinished(L4gdbTestError):
    """The root task exited (or the system deadlocked) before the pattern appeared."""


class SystemHandle:
    """One booted system, driven from the test's thread.

    ``expect()`` runs the host loop until the pattern appears after the
    previous match; the introspection methods return plain data (dicts,
    lists) from the kernel model's snapshot.
    """

    def __init__(self, *, arch: str, program: str, files: tuple[str, ...] = (),
                 gdb: bool = False, fail_on: tuple[str, ...] = (),
                 timeout: float = DEFAULT_EXPECT_TIMEOUT_S, log_dir: Path) -> None:
        self.arch = arch
        self.program = program
        self.default_timeout = timeout
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.exit_status: int | None = None
        self.deadlock: str | None = None
        self._stack = contextlib.ExitStack()
        self._closed = False
        try:
            self._boot(files, gdb, fail_on)
        except BaseException:
            self.close()
            raise

    def _boot(self, files: tuple[str, ...], gdb: bool, fail_on: tuple[str, ...]) -> None:
        from l4gdb.runtime.console import ConsoleWatcher
        from l4gdb.runtime.system import resolve_program, toolchain_for
        from l4gdb.testing.expect import compile_pattern
        from l4gdb.testing.harness import CONSOLE_LOG, EVENTS_LOG, EventLog, boot_system

        tc = toolchain_for(self.arch)
        elf = resolve_program(tc, self.program, [str(f) for f in files])
        log = self._stack.enter_context((self.log_dir / CONSOLE_LOG).open("w"))
        self.console = ConsoleWatcher(out=None, log=log,
                               fail_on=[compile_pattern(p, "fail_on") for p in fail_on])
        self.events = EventLog(self.log_dir / EVENTS_LOG)
        self._stack.callback(self.events.close)
        self.system = self._stack.enter_context(
            boot_system(self.arch, elf, gdb=gdb, console=self.console, log_dir=self.log_dir,
                        events=self.events))
        self.console.begin()

    # -- driving ---------------------------------------------------------------
    @property
    def running(self) -> bool:
        return not self._closed and self.exit_status is None and self.deadlock is None

    def _drive(self, done, timeout: float) -> None:
        """Run the host loop until ``done()``, a fail-on match, the end of the system
        or ``timeout`` seconds."""
        from l4gdb.runtime.hostloop import Deadlock, Finished

        if not self.running:
            return
        deadline = time.monotonic() + timeout

        def stop() -> bool:
            return done() or self.console.failed_on is not None or time.monotonic() > deadline

        try:
            self.system.loop.run(stop)
        except Finished as fin:
            self.exit_status = self.system.exit_status = fin.status
        except Deadlock as exc:
            self.deadlock = str(exc)

    def expect(self, pattern: str, timeout: float | None = None) -> re.Match[str]:
        """Wait until ``pattern`` appears in the console after the previous match;
        returns the match (named groups: ``m["name"]``)."""
        from l4gdb.runtime.console import Expectation

        timeout = self.default_timeout if timeout is None else timeout
        exp = self.console.add_expectation(Expectation(re.compile(pattern), timeout=timeout))
        self._drive(lambda: exp.matched is not None, timeout)
        self._check_fail_on()
        if exp.match is not None:
            return exp.match
        self.console.drop_unmatched()
        if self.exit_status is not None:
            raise SystemFinished(self._why(
                f"the root task exited (status {self.exit_status}) before {pattern!r} appeared"))
        if self.deadlock is not None:
            raise SystemFinished(self._why(f"deadlock before {pattern!r} appeared: "
                                           f"{self.deadlock}"))
        raise ExpectTimeout(self._why(f"{pattern!r} did not appear within {timeout:g} s"))

    def send(self, text: str) -> None:
        """Type ``text`` on the guest console (read by KDebug ReadChar)."""
        self.console.feed(text)

    def run_for(self, seconds: float) -> None:
        """Let the system run for ``seconds`` (or until it ends)."""
        self._drive(lambda: False, seconds)
        self._check_fail_on()

    def wait_exit(self, timeout: float | None = None) -> int:
        """Run until the root task exits; its exit status."""
        timeout = self.default_timeout if timeout is None else timeout
        self._drive(lambda: False, timeout)
        self._check_fail_on()
        if self.exit_status is None:
            what = f"deadlock: {self.deadlock}" if self.deadlock else \
                f"the root task did not exit within {timeout:g} s"
            raise ExpectTimeout(self._why(what))
        return self.exit_status

    def _check_fail_on(self) -> None:
        hit = self.console.failed_on
        if hit is not None:
            raise FailOnMatched(self._why(f"fail-on pattern {hit.pattern!r} matched: "
                                          f"{hit.line.strip()!r}"))

    def _why(self, what: str) -> str:
        return (f"{what}\n--- console (last lines) ---\n{self.console.tail(20)}\n"
                f"--- logs: {self.log_dir}")

    # -- what the system shows -----------------------------------------------------
    @property
    def output(self) -> str:
        return self.console.output()

    def checks(self) -> list[dict[str, str]]:
        """The PASS/FAIL/SKIP lines so far, as dicts (status, group, name, detail)."""
        from dataclasses import asdict

        return [asdict(c) for c in self.console.check_results]

    def snapshot(self) -> dict[str, Any]:
        """Everything the kernel model knows now, as plain data."""
        return self.system.kernel.snapshot().as_dict()

    def threads(self) -> list[dict[str, Any]]:
        return list(self.snapshot()["threads"])

    def spaces(self) -> list[dict[str, Any]]:
        return list(self.snapshot()["spaces"])

    def ready_queues(self) -> dict[int, tuple[int, ...]]:
        return dict(self.snapshot()["ready"])

    def ipc_log(self) -> list[dict[str, Any]]:
        return list(self.snapshot()["ipc_log"])

    def kip(self) -> dict[str, int]:
        return dict(self.snapshot()["kip"])

    def iguana(self) -> dict[str, Any] | None:
        """The Iguana server's objects as plain data (docs/iguana.md); None when the
        program does not use Iguana."""
        server = getattr(self.system, "iguana", None)
        return None if server is None else server.snapshot()

    # -- the end ---------------------------------------------------------------
    def close(self) -> None:
        """Stop the CPU, quit GDB and QEMU. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        loop = getattr(getattr(self, "system", None), "loop", None)
        if loop is not None:
            with contextlib.suppress(Exception):
                loop.stop_cpu()
        self._stack.close()

    def __enter__(self) -> SystemHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- pytest hooks -----------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("l4gdb", "l4gdb systems on QEMU")
    group.addoption("--l4gdb-arch", default="all", metavar="all|ARCH[,ARCH...]",
                    help="architectures for tests marked l4gdb_arches (default: all "
                         "installed); the first is the default arch of l4gdb_system")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "l4gdb_arches(*arches): run the test once per selected installed "
                   "architecture (--l4gdb-arch), limited to ARCHES when given")
    config.addinivalue_line(
        "markers", "slow: boots QEMU or runs a real GDB (deselect with -m 'not slow')")


def _installed_arches() -> list[str]:
    from l4gdb.runtime.plugins import get_plugins

    try:
        return get_plugins().arch_names()
    except Exception:          # a broken plugin must not break collection
        return []


def _selected_arches(config: pytest.Config) -> list[str] | None:
    """The --l4gdb-arch list; None for "all"."""
    value = (config.getoption("--l4gdb-arch", default="all") or "all").strip()
    if value == "all":
        return None
    return [a.strip() for a in value.split(",") if a.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "l4gdb_arch" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("l4gdb_arches")
    if marker is None:
        return
    selected = _selected_arches(metafunc.config)
    installed = _installed_arches()
    arches = [a for a in (selected if selected is not None else installed)]
    if marker.args:
        arches = [a for a in arches if a in marker.args]
    params = []
    for a in arches:
        marks = []
        if a not in installed:
            marks.append(pytest.mark.skip(reason=f"l4gdb: architecture {a!r} is not installed "
                                                 f"(installed: {', '.join(installed) or 'none'})"))
        params.append(pytest.param(a, id=a, marks=marks))
    if not params:
        params = [pytest.param(None, id="no-arch", marks=pytest.mark.skip(
            reason="l4gdb: no selected architecture is installed"))]
    metafunc.parametrize("l4gdb_arch", params, indirect=True)


def _missing_tools(arch: str, cache: dict[str, str | None]) -> str | None:
    """Why a system of ``arch`` cannot boot here, or None."""
    if arch in cache:
        return cache[arch]
    why = None
    missing = [t for t in TOOLS if shutil.which(t) is None]
    qemu = f"qemu-system-{arch}"
    try:
        from l4gdb.runtime.plugins import get_plugins

        plugins = get_plugins()
        if arch not in plugins.arch_names():
            why = f"l4gdb: architecture {arch!r} is not installed"
        else:
            setup = plugins.hook.l4gdb_qemu_setup(arch=arch)
            qemu = getattr(setup, "binary", None) or qemu
    except Exception as exc:
        why = f"l4gdb: plugins failed to load: {exc}"
    if why is None and shutil.which(qemu) is None:
        missing.insert(0, qemu)
    if why is None and missing:
        why = f"l4gdb: needs {', '.join(missing)} (bash scripts/setup)"
    cache[arch] = why
    return why


@pytest.hookimpl(tryfirst=True)      # before -m 'not slow' deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    users = [i for i in items if "l4gdb_system" in getattr(i, "fixturenames", ())]
    if not users:
        return
    default = _default_arch(config)
    cache: dict[str, str | None] = {}
    for item in users:
        item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        arch = callspec.params.get("l4gdb_arch", default) if callspec else default
        if arch is None:
            continue
        why = _missing_tools(arch, cache)
        if why:
            item.add_marker(pytest.mark.skip(reason=why))


def _default_arch(config: pytest.Config) -> str:
    selected = _selected_arches(config)
    return selected[0] if selected else DEFAULT_ARCH


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    rep = yield
    if rep.when == "call" and rep.failed:
        for i, h in enumerate(getattr(item, "_l4gdb_handles", ())):
            rep.sections.append((f"l4gdb system {i} ({h.arch} {h.program}) console",
                                 f"{h.console.tail(40)}\n(logs: {h.log_dir})"))
    return rep


@pytest.fixture
def l4gdb_arch(request: pytest.FixtureRequest) -> str:
    """The architecture of this test (parametrized by ``l4gdb_arches``)."""
    param = getattr(request, "param", None)
    return param if param is not None else _default_arch(request.config)


@pytest.fixture
def l4gdb_system(request: pytest.FixtureRequest, l4gdb_arch: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Factory: ``l4gdb_system(arch=..., program="hello", files=(), gdb=False,
    fail_on=(), timeout=30)`` boots a system and returns its SystemHandle."""
    handles: list[SystemHandle] = []
    request.node._l4gdb_handles = handles
    base: list[Path] = []

    def factory(arch: str | None = None, program: str = "hello", *,
                files: tuple[str, ...] | list[str] = (), gdb: bool = False,
                fail_on: tuple[str, ...] | list[str] = (),
                timeout: float = DEFAULT_EXPECT_TIMEOUT_S) -> SystemHandle:
        arch = arch or l4gdb_arch
        why = _missing_tools(arch, {})
        if why is None and gdb and shutil.which("gdb-multiarch") is None:
            why = "l4gdb: needs gdb-multiarch (bash scripts/setup)"
        if why:
            pytest.skip(why)
        if not base:
            name = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:40]
            base.append(tmp_path_factory.mktemp(f"l4gdb-{name}", numbered=True))
        log_dir = base[0] / f"system{len(handles)}-{arch}"
        handle = SystemHandle(arch=arch, program=program, files=tuple(files), gdb=gdb,
                              fail_on=tuple(fail_on), timeout=timeout, log_dir=log_dir)
        handles.append(handle)
        return handle

    try:
        yield factory
    finally:
        errors = []
        for h in reversed(handles):
            try:
                h.close()
            except Exception as exc:   # keep closing the others
                errors.append(exc)
        if errors:
            raise errors[0]
