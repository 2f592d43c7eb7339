from __future__ import annotations

import io
import re

from l4gdb.runtime.console import ConsoleWatcher


def test_expectations_match_in_order_across_writes():
    c = ConsoleWatcher.with_expects(["b+", "c"], out=None)
    c.write(b"a b")
    assert not c.all_expected
    c.write("b ")
    c.write(b"x c")
    assert c.all_expected
    # A stream matches as soon as it can: "b+" is met by the first "b".
    assert [e.matched for e in c.expectations] == ["b", "c"]


def test_order_matters():
    c = ConsoleWatcher.with_expects(["second", "first"], out=None)
    c.write("first second\n")
    assert not c.all_expected
    assert c.first_unmatched().pattern.pattern == "first"


def test_checks_and_summary():
    c = ConsoleWatcher(out=None)
    c.write("PASS ipc/send\nFAIL ipc/recv: no\nSKIP x/y: later\n")
    assert c.checks_incomplete and c.checks_failed
    c.write("1 passed, 1 failed, 1 skipped\n")
    assert not c.checks_incomplete and c.summary == (1, 1, 1)


def test_not_a_check_line():
    c = ConsoleWatcher(out=None)
    c.write("PASS Ipc/Send\nPASSED a/b\n")
    assert not c.checks


def test_tee_to_stream_and_log_and_bad_utf8():
    out, log = io.StringIO(), io.StringIO()
    c = ConsoleWatcher(out=out, log=log)
    c.write(b"hi \xff\n")
    assert out.getvalue() == log.getvalue() == "hi \ufffd\n"


def test_input_queue():
    c = ConsoleWatcher(out=None)
    assert c.read_char() is None
    c.feed("ab")
    assert (c.read_char(), c.read_char(), c.read_char()) == (ord("a"), ord("b"), None)


# --- a guest that floods the console ----------------------------------------------


def test_flood_keeps_bounded_text_and_still_matches(monkeypatch):
    import l4gdb.runtime.console as con

    monkeypatch.setattr(con, "KEEP_CHARS", 10_000)
    monkeypatch.setattr(con, "OVERLAP_CHARS", 100)
    c = ConsoleWatcher.with_expects(["never", r"DO\s*NE (\d+)"], out=None)
    c.add_expectation(con.Expectation(re.compile("after")))
    chunk = "spam " * 200 + "\n"
    for _ in range(500):                        # 500 kB of output, nothing matches
        c.write(chunk)
        assert len(c.output()) <= 2 * con.KEEP_CHARS
    assert c.current().pattern.pattern == "never"
    c.write("nev")                               # a match across two writes
    c.write("er DO")
    c.write("NE 42 after\n")
    assert c.all_expected
    assert c.expectations[1].match.group(1) == "42"
    assert c.output().endswith("after\n")


def test_an_endless_line_is_checked_in_pieces(monkeypatch):
    import l4gdb.runtime.console as con

    monkeypatch.setattr(con, "MAX_LINE", 1000)
    c = ConsoleWatcher(out=None, fail_on=[re.compile("PANIC")])
    for _ in range(300):
        c.write("x" * 97)                         # no newline, ever
        assert len(c._pending) <= con.MAX_LINE
    assert c.failed_on is None
    c.write("PANIC")
    assert c.failed_on is not None and c.failed_on.pattern == "PANIC"


def test_the_console_log_ends_with_a_marker(monkeypatch):
    import l4gdb.runtime.console as con

    monkeypatch.setattr(con, "MAX_LOG_CHARS", 1000)
    log = io.StringIO()
    c = ConsoleWatcher(out=None, log=log)
    for i in range(100):
        c.write(f"line {i:03d} of the flood\n")
    text = log.getvalue()
    assert text.startswith("line 000 of the flood\n")
    assert text.count("console log ends here") == 1
    assert len(text) < 1000 + 200
    assert c.output().endswith("line 099 of the flood\n")     # matching goes on
