"""The boot-and-assert script: TOML loader, command-line steps, the console's matching."""

from __future__ import annotations

import re

import pytest

from l4gdb.errors import UsageError
from l4gdb.runtime.console import ConsoleWatcher, Expectation
from l4gdb.testing.expect import Script, Step, load_script, script_from_args, unescape

GOOD = '''
program = "hello"
arch = "arm"
timeout = 60
fail-on = ["KDB: ", "panic"]
send = "go\\n"

[[expect]]
name = "boot"
pattern = "hello from"
timeout = 10

[[expect]]
pattern = "ping (?P<n>[0-9]+)"
send = "y\\n"
'''


def _toml(tmp_path, text: str):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_load_full_script(tmp_path):
    s = load_script(_toml(tmp_path, GOOD))
    assert (s.program, s.arch, s.timeout, s.send) == ("hello", "arm", 60.0, "go\n")
    assert s.fail_on == ["KDB: ", "panic"]
    assert s.steps == [Step("hello from", 10.0, None, "boot"), Step("ping (?P<n>[0-9]+)", None,
                                                                    "y\n", None)]
    exps = s.expectations()
    assert [e.label for e in exps] == ["boot", "ping (?P<n>[0-9]+)"]
    assert exps[0].timeout == 10.0 and exps[1].send == "y\n"


def test_fail_on_may_be_one_string(tmp_path):
    assert load_script(_toml(tmp_path, 'fail-on = "oops"\n')).fail_on == ["oops"]


@pytest.mark.parametrize("text, problem", [
    ("program = 3\n", "program must be a string"),
    ("colour = 1\n", "unknown key 'colour'"),
    ("timeout = -1\n", "timeout must be a positive number"),
    ("timeout = true\n", "timeout must be a positive number"),
    ("[[expect]]\npatern = 'x'\n", "expect[0]: unknown key 'patern'"),
    ("[[expect]]\ntimeout = 1\n", "expect[0]: needs pattern"),
    ("[[expect]]\npattern = '(x'\n", "expect[0]: bad pattern '(x'"),
    ("[[expect]]\npattern = 'x'\ntimeout = 'soon'\n", "expect[0]: timeout must be"),
    ("fail-on = ['(']\n", "fail-on: bad pattern"),
    ("fail-on = [1]\n", "fail-on must be a string or a list of strings"),
    ("expect = 'x'\n", "expect must be an array of tables"),
    ("x = [\n", "not valid TOML"),
])
def test_bad_files_are_one_line_naming_the_file(tmp_path, text, problem):
    p = _toml(tmp_path, text)
    with pytest.raises(UsageError) as err:
        load_script(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}: ") and problem in msg and "\n" not in msg


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        load_script(tmp_path / "nope.toml")
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_script(p)


def test_send_goes_after_the_preceding_expect():
    s = script_from_args([("send", "boot\\n"), ("expect", "a"), ("send", "x"), ("send", "y\\t"),
                          ("expect", "b")])
    assert s.send == "boot\n"
    assert [(st.pattern, st.send) for st in s.steps] == [("a", "xy\t"), ("b", None)]


def test_bad_command_line_pattern():
    with pytest.raises(UsageError, match="bad --expect pattern"):
        script_from_args([("expect", "(")])
    with pytest.raises(UsageError, match="bad --fail-on pattern"):
        Script(fail_on=["["]).fail_on_patterns()


def test_unescape():
    assert unescape(r"a\nb\\n\e\q") == "a\nb\\n\x1b\\q"


def test_extend_puts_the_file_first():
    f = Script(steps=[Step("a")], fail_on=["x"], timeout=5, program="hello", source="f.toml")
    c = Script(steps=[Step("b")], fail_on=["y"], timeout=None)
    m = f.extend(c)
    assert [s.pattern for s in m.steps] == ["a", "b"] and m.fail_on == ["x", "y"]
    assert m.timeout == 5 and m.program == "hello"


# -- the console's side -------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_match_records_groups_times_and_sends_input():
    clock = Clock()
    c = ConsoleWatcher(clock=clock, expectations=[
        Expectation(re.compile(r"ping (?P<n>\d+)"), send="ok\n"),
        Expectation(re.compile("done"), timeout=3)])
    c.begin()
    clock.t = 101.5
    c.write("ping 4")
    first, second = c.expectations
    assert first.groups == {"n": "4"} and first.matched_at - first.started_at == 1.5
    assert second.started_at == 101.5 and c.current() is second
    assert bytes(iter(c.read_char, None)) == b"ok\n"


def test_fail_on_checks_lines_and_the_unfinished_line():
    c = ConsoleWatcher(fail_on=[re.compile("panic")])
    c.write("all fine\nkernel pan")
    assert c.failed_on is None
    c.write("ic: at 0x40")
    assert c.failed_on.pattern == "panic" and c.failed_on.line == "kernel panic: at 0x40"
    c.write("\nanother panic\n")
    assert c.failed_on.line == "kernel panic: at 0x40"      # the first one is kept


def test_check_lines_are_recorded():
    c = ConsoleWatcher()
    c.write("PASS ipc/send\nFAIL ipc/recv: got 3\nSKIP irq/x: later\n")
    assert [(x.status, x.group, x.name, x.detail) for x in c.check_results] == [
        ("PASS", "ipc", "send", ""), ("FAIL", "ipc", "recv", "got 3"),
        ("SKIP", "irq", "x", "later")]


def test_dynamic_expectations_and_dropping_a_failed_one():
    c = ConsoleWatcher()
    c.write("one two three")
    e = c.add_expectation(Expectation(re.compile("two")))
    assert e.matched == "two"
    never = c.add_expectation(Expectation(re.compile("zzz")))
    assert never.matched is None
    c.drop_unmatched()
    assert c.add_expectation(Expectation(re.compile("three"))).matched == "three"
    # the search starts after the previous match
    assert c.add_expectation(Expectation(re.compile("one"))).matched is None


def test_command_line_keeps_expect_and_send_in_order(tmp_path):
    from l4gdb.cli import build_parser
    from l4gdb.commands.run import RunOptions, run_script_for

    args = build_parser().parse_args(["run", "hello", "--expect", "a", "--send", r"x\n",
                                      "--expect", "b", "--fail-on", "panic"])
    assert args.steps == [("expect", "a"), ("send", r"x\n"), ("expect", "b")]
    assert args.arch is None and args.timeout is None
    f = _toml(tmp_path, '[[expect]]\npattern = "first"\n')
    s = run_script_for(RunOptions(steps=args.steps, fail_on=args.fail_on, script=str(f),
                                  expects=["zero"]))
    assert [(st.pattern, st.send) for st in s.steps] == [
        ("first", None), ("zero", None), ("a", "x\n"), ("b", None)]
    assert s.fail_on == ["panic"]


def test_run_help_documents_flags_and_exit_codes(capsys):
    from l4gdb.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--help"])
    text = capsys.readouterr().out
    for flag in ("--script", "--fail-on", "--send", "--results", "--logs", "--junit"):
        assert flag in text
    for line in ("3  timeout", "4  a fail-on pattern matched", "5  infrastructure"):
        assert line in text


def test_the_command_names_the_bad_script_in_one_line(tmp_path, capfd):
    """`l4gdb run --script BAD.toml`: exit 2, one line `l4gdb: FILE: problem`, no boot."""
    from l4gdb.cli import main

    cases = {"syntax.toml": ("[[expect]\npattern = 'x'\n", "not valid TOML"),
             "line.toml": ('timeout = 9\n[[expect]]\npattern = "x\n',
                           "not valid TOML: Illegal character '\\n' (at line 3, column 13)"),
             "key.toml": ("bogus = 1\n", "unknown key 'bogus'"),
             "type.toml": ("timeout = 'ten'\n", "timeout must be a positive number"),
             "table.toml": ("expect = 'ready'\n", "expect must be an array of tables"),
             "binary.toml": (b"\xff\xfe[[expect]]", "not UTF-8 text"),
             "dir.toml": (None, "cannot read: Is a directory"),
             "missing.toml": ("", "cannot read: No such file or directory")}
    for name, (text, problem) in cases.items():
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        elif text is None:
            path.mkdir()
        elif text:
            path.write_text(text)
        assert main(["run", "--no-gdb", "--script", str(path), "hello"]) == 2
        err = capfd.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"l4gdb: {path}: ") and problem in err[0]
