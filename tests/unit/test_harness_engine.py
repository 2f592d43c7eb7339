"""The boot-and-assert engine's decisions, against a fake system (no QEMU)."""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET

import pytest

from l4gdb.errors import InfrastructureError
from l4gdb.runtime.console import ConsoleWatcher
from l4gdb.runtime.hostloop import Deadlock, Finished
from l4gdb.target.errors import TargetError
from l4gdb.testing.expect import Script, Step
from l4gdb.testing.harness import EVENTS_LOG, HOST_ERROR_LOG, Harness, LogDir
from l4gdb.testing.junit import write_junit


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class FakeLoop:
    """Plays a list of events; when they run out the guest idles (time goes on)."""

    def __init__(self, console: ConsoleWatcher, clock: Clock, events: list, events_sink) -> None:
        self.console, self.clock, self.events, self.sink = console, clock, list(events), events_sink
        self.typed = ""
        self.polls = 0

    def run(self, should_stop) -> None:
        while not should_stop():
            self.polls += 1
            if not self.events:
                self.clock.t += 0.05
                continue
            kind, *arg = self.events.pop(0)
            if kind == "out":
                self.console.write(arg[0])
            elif kind == "wait":
                self.clock.t += arg[0]
            elif kind == "read":              # the guest echoes what it was sent
                while (ch := self.console.read_char()) is not None:
                    self.typed += chr(ch)
                self.console.write(f"got {self.typed!r}\n")
            elif kind == "event":
                self.sink("ipc", sender=0x188001, receiver=0x18c001, tag=0x10001)
            elif kind == "exit":
                raise Finished(arg[0])
            elif kind == "deadlock":
                raise Deadlock("no thread can run")
            elif kind == "die":
                raise TargetError("gdbstub connection lost: QEMU exited with status -9; "
                                  "its log ends with:\nqemu: terminating on signal 9")
            elif kind == "bug":
                raise KeyError("oops")


class FakeSystem:
    def __init__(self, loop: FakeLoop, gdb=None) -> None:
        self.loop = loop
        self.gdb = gdb
        self.exit_status = None
        self.closed = False


def run(tmp_path, events, steps=(), *, fail_on=(), timeout=60.0, send=None, start_error=None,
        teardown_error=None):
    clock = Clock()
    script = Script(steps=[s if isinstance(s, Step) else Step(s) for s in steps],
                    fail_on=list(fail_on), send=send)
    console = ConsoleWatcher(clock=clock, expectations=script.expectations(),
                      fail_on=script.fail_on_patterns())
    systems = []

    @contextlib.contextmanager
    def boot(console, log_dir, sink):
        if start_error is not None:
            raise start_error
        s = FakeSystem(FakeLoop(console, clock, events, sink))
        systems.append(s)
        try:
            yield s
        finally:
            s.closed = True
        if teardown_error is not None:
            raise teardown_error

    h = Harness(console=console, script=script, timeout=timeout, boot=boot, log_dir=tmp_path,
                arch="arm", program="prog", clock=clock)
    result = h.run()
    assert all(s.closed for s in systems), "the system was not shut down"
    return result, systems[0] if systems else None


def test_all_expectations_met_passes(tmp_path):
    r, _ = run(tmp_path, [("out", "ping 1\n"), ("out", "took 12.5 us\n")],
               ["ping (?P<n>[0-9]+)", r"took (?P<ipc_us>[0-9.]+) us"])
    assert (r.code, r.message) == (0, "")
    assert [e.status for e in r.expectations] == ["passed", "passed"]
    assert r.metrics == {"n": 1, "ipc_us": 12.5}


def test_expectation_timeout_fires_and_names_the_expectation(tmp_path):
    r, sys_ = run(tmp_path, [("out", "a\n"), ("wait", 1.0), ("out", "b\n")],
                  ["a", Step("never", timeout=5.0, name="the third"), "c"], timeout=60)
    assert r.code == 3
    assert "expectation 2 of 3 'the third' not met within 5 s" in r.message
    assert [e.status for e in r.expectations] == ["passed", "timeout", "not-reached"]
    assert 5.0 < r.expectations[1].seconds < 5.2
    assert r.duration_s < 10          # the step's own timeout, not the overall one


def test_overall_timeout(tmp_path):
    r, _ = run(tmp_path, [("out", "x\n")], ["never printed"], timeout=3)
    assert r.code == 3
    assert r.message == "timeout after 3 s: expectation 1 of 1 'never printed' not met"
    r, _ = run(tmp_path, [("out", "x\n")], [], timeout=2)
    assert (r.code, r.message) == (3, "timeout after 2 s: the root task did not exit")


def test_fail_on_ends_the_run_at_once(tmp_path):
    r, system = run(tmp_path, [("out", "booting\n"), ("out", "KDB: kernel panic\n"),
                               ("out", "more\n"), ("exit", 0)],
                    ["never"], fail_on=["KDB: "], timeout=600)
    assert r.code == 4
    assert r.message == "fail-on pattern 'KDB: ' matched: 'KDB: kernel panic'"
    assert r.duration_s < 1            # not after the timeout
    assert system.loop.events[0] == ("out", "more\n")      # stopped right there
    assert r.fail_on.line == "KDB: kernel panic"


def test_expectation_that_never_matches_before_exit(tmp_path):
    r, system = run(tmp_path, [("out", "hello\n"), ("exit", 0)], ["hello", "goodbye"])
    assert r.code == 1
    assert "exited (status 0) before expectation 2 of 2 'goodbye' matched" in r.message
    assert r.expectations[1].status == "failed"
    assert system.exit_status == 0 and r.exit_status == 0


def test_exit_status_and_checks(tmp_path):
    assert run(tmp_path, [("exit", 3)])[0].code == 1
    ok, _ = run(tmp_path, [("out", "PASS a/b\n1 passed, 0 failed, 0 skipped\n"), ("exit", 0)])
    assert ok.code == 0 and ok.summary == (1, 0, 0)
    cut, _ = run(tmp_path, [("out", "PASS a/b\nPASS a/c\n"), ("exit", 0)])
    assert cut.code == 1 and "no closing 'N passed, N failed' line" in cut.message
    bad, _ = run(tmp_path, [("out", "FAIL a/b: 2 != 3\n0 passed, 1 failed\n"), ("exit", 1)])
    assert bad.code == 1 and "FAIL a/b: 2 != 3" in bad.message
    # expectations met, but a FAIL line was seen on the way
    early, _ = run(tmp_path, [("out", "FAIL x/y: no\nready\n")], ["ready"])
    assert early.code == 1


def test_send_after_match(tmp_path):
    r, system = run(tmp_path, [("out", "name?\n"), ("read",)],
                    [Step("name\\?", send="l4\n"), "got 'l4\\\\n'"], send="")
    assert r.code == 0, r.message
    assert system.loop.typed == "l4\n"


def test_send_at_boot(tmp_path):
    r, system = run(tmp_path, [("read",)], ["got 'hi'"], send="hi")
    assert r.code == 0 and system.loop.typed == "hi"


def test_qemu_dying_is_infrastructure_with_the_log_tail(tmp_path):
    r, system = run(tmp_path, [("out", "running\n"), ("die",)], ["never"])
    assert r.code == 5
    assert r.message.startswith("QEMU or GDB failed during the run: gdbstub connection lost")
    assert "terminating on signal 9" in r.detail
    assert system.closed


def test_a_system_that_cannot_start_is_infrastructure(tmp_path):
    r, _ = run(tmp_path, [], ["x"], start_error=InfrastructureError("qemu-system-arm not found"))
    assert r.code == 5 and r.message == "the system could not start: qemu-system-arm not found"
    r, _ = run(tmp_path, [], ["x"], start_error=TimeoutError("no first kernel entry in 30 s"))
    assert r.code == 5 and "could not start" in r.message
    assert (tmp_path / HOST_ERROR_LOG).is_file()      # not a TargetError: traceback kept


def test_a_bug_in_the_host_is_reported_with_its_traceback(tmp_path):
    r, _ = run(tmp_path, [("bug",)], ["x"])
    assert r.code == 5 and "internal error in the host: KeyError" in r.message
    assert "KeyError" in (tmp_path / HOST_ERROR_LOG).read_text()


def test_deadlock_fails(tmp_path):
    r, _ = run(tmp_path, [("deadlock",)], ["x"])
    assert r.code == 1 and r.message.startswith("deadlock")


def test_teardown_error_does_not_hide_the_verdict(tmp_path):
    r, _ = run(tmp_path, [("out", "x\n")], ["x"], teardown_error=TargetError("QMP quit failed"))
    assert r.code == 0


def test_kernel_event_log(tmp_path):
    run(tmp_path, [("event",), ("exit", 0)])
    lines = (tmp_path / EVENTS_LOG).read_text().splitlines()
    assert any(ln.split()[1:] == ["ipc", "sender=0x188001", "receiver=0x18c001", "tag=0x10001"]
               for ln in lines), lines
    assert lines[0].split(None, 1)[1].startswith("# boot arm prog")


def test_the_kernel_event_log_stops_at_its_limit(tmp_path, monkeypatch):
    """A guest making system calls for hours: the events stop, the harness's lines don't."""
    import l4gdb.testing.harness as harness

    monkeypatch.setattr(harness, "MAX_EVENTS_CHARS", 1000)
    log = harness.EventLog(tmp_path / EVENTS_LOG)
    for i in range(100):
        log("syscall_enter", thread=0x188001, number=i)
    log.note("end: timeout")
    log.close()
    lines = (tmp_path / EVENTS_LOG).read_text().splitlines()
    assert 10 < len(lines) < 30
    assert lines[-2].endswith("# no more kernel events: this log reached 1000 characters")
    assert lines[-1].endswith("# end: timeout")


def test_log_dir_is_removed_only_when_passed(tmp_path, monkeypatch):
    monkeypatch.setenv("L4GDB_LOG_ROOT", str(tmp_path / "root"))
    d = LogDir()
    assert d.path.parent == tmp_path / "root"
    assert d.finish(passed=True) is None and not d.path.exists()
    d = LogDir()
    assert d.finish(passed=False) == str(d.path) and d.path.is_dir()
    d.path.rmdir()
    d = LogDir(tmp_path / "logs")
    assert d.finish(passed=True) == str(tmp_path / "logs")


def test_results_json_and_junit(tmp_path):
    r, _ = run(tmp_path, [("out", "ping 1\nPASS ipc/send\nFAIL ipc/recv: timeout\n"
                                  "SKIP irq/one: later\nPASS ipc/send\n"),
                          ("out", "2 passed, 1 failed, 1 skipped\n"), ("exit", 1)],
               ["ping (?P<n>[0-9]+)", Step("never", name="the end")])
    assert r.code == 1
    out = tmp_path / "r.json"
    r.write_json(out)
    data = json.loads(out.read_text())
    assert data["code"] == 1 and data["outcome"] == "failed" and data["metrics"] == {"n": 1}
    assert data["summary"] == {"passed": 2, "failed": 1, "skipped": 1}
    assert [c["status"] for c in data["checks"]] == ["PASS", "FAIL", "SKIP", "PASS"]

    xml = tmp_path / "j.xml"
    write_junit(r, xml)
    suite = ET.parse(xml).getroot().find("testsuite")
    cases = suite.findall("testcase")
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert names == [("l4gdb.prog.expect", "01 ping (?P<n>[0-9]+)"),
                     ("l4gdb.prog.expect", "02 the end"),
                     ("l4gdb.prog.ipc", "ipc/send"), ("l4gdb.prog.ipc", "ipc/recv"),
                     ("l4gdb.prog.irq", "irq/one"), ("l4gdb.prog.ipc", "ipc/send #2"),
                     ("l4gdb.prog", "run")]
    assert cases[1].find("failure") is not None
    assert cases[3].find("failure").get("message") == "timeout"
    assert cases[4].find("skipped") is not None
    assert cases[6].find("failure") is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("7", "3", "1")


def test_junit_error_for_infrastructure(tmp_path):
    r, _ = run(tmp_path, [("out", "\x01 odd bytes\n"), ("die",)], ["never"])
    xml = tmp_path / "j.xml"
    write_junit(r, xml)
    run_case = ET.parse(xml).getroot().find("testsuite").findall("testcase")[-1]
    assert run_case.find("error") is not None
    assert "terminating on signal 9" in run_case.find("error").text


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 5])
def test_outcome_names(code):
    from l4gdb.testing.results import RunResult

    assert RunResult(code=code, message="").outcome == \
        ["passed", "failed", "usage", "timeout", "fail-on", "infrastructure"][code]


def test_a_host_infrastructure_error_during_the_run(tmp_path):
    class Boom(FakeLoop):
        def run(self, should_stop):
            raise InfrastructureError("QEMU did not stop when interrupted")

    @contextlib.contextmanager
    def boot(console, log_dir, sink):
        yield FakeSystem(Boom(console, Clock(), [], sink))

    h = Harness(console=ConsoleWatcher(), script=Script(), timeout=5, boot=boot, log_dir=tmp_path)
    r = h.run()
    assert r.code == 5
    assert r.message == "infrastructure error during the run: QEMU did not stop when interrupted"


def test_reasons_tell_apart_what_one_code_covers(tmp_path):
    assert run(tmp_path, [("die",)], ["x"])[0].reason == "target-failed"
    assert run(tmp_path, [], ["x"], start_error=InfrastructureError("no"))[0].reason == \
        "could-not-start"
    assert run(tmp_path, [("out", "x\n")], [Step("y", timeout=1)])[0].reason == \
        "expectation-timeout"
    assert run(tmp_path, [("out", "x\n")], ["y"], timeout=1)[0].reason == "timeout"
    assert run(tmp_path, [("exit", 0)], ["y"])[0].reason == "expectation-unmet"
    assert run(tmp_path, [("exit", 0)])[0].reason == "passed"


def test_gdb_dying_during_the_run_is_noticed(tmp_path):
    class Proc:
        returncode = None

        def poll(self):
            return self.returncode

    class Gdb:
        proc = Proc()

    clock = Clock()

    class Dies(FakeLoop):
        def run(self, should_stop):
            n = 0
            while not should_stop():
                n += 1
                self.clock.t += 0.1
                if n == 5:
                    Gdb.proc.returncode = -9

    @contextlib.contextmanager
    def boot(console, log_dir, sink):
        yield FakeSystem(Dies(console, clock, [], sink), gdb=Gdb())

    h = Harness(console=ConsoleWatcher(clock=clock), script=Script(), timeout=60, boot=boot,
                log_dir=tmp_path, clock=clock)
    r = h.run()
    assert (r.code, r.reason) == (5, "gdb-died")
    assert r.message == "GDB died during the run: gdb-multiarch exited with status -9"
    assert r.duration_s < 2
