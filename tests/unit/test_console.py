from __future__ import annotations

import io

from l4gdb.console import Console


def test_expectations_match_in_order_across_writes():
    c = Console.with_expects(["b+", "c"], out=None)
    c.write(b"a b")
    assert not c.all_expected
    c.write("b ")
    c.write(b"x c")
    assert c.all_expected
    # A stream matches as soon as it can: "b+" is met by the first "b".
    assert [e.matched for e in c.expectations] == ["b", "c"]


def test_order_matters():
    c = Console.with_expects(["second", "first"], out=None)
    c.write("first second\n")
    assert not c.all_expected
    assert c.first_unmatched().pattern.pattern == "first"


def test_checks_and_summary():
    c = Console(out=None)
    c.write("PASS ipc/send\nFAIL ipc/recv: no\nSKIP x/y: later\n")
    assert c.checks_incomplete and c.checks_failed
    c.write("1 passed, 1 failed, 1 skipped\n")
    assert not c.checks_incomplete and c.summary == (1, 1, 1)


def test_not_a_check_line():
    c = Console(out=None)
    c.write("PASS Ipc/Send\nPASSED a/b\n")
    assert not c.checks


def test_tee_to_stream_and_log_and_bad_utf8():
    out, log = io.StringIO(), io.StringIO()
    c = Console(out=out, log=log)
    c.write(b"hi \xff\n")
    assert out.getvalue() == log.getvalue() == "hi \ufffd\n"


def test_input_queue():
    c = Console(out=None)
    assert c.read_char() is None
    c.feed("ab")
    assert (c.read_char(), c.read_char(), c.read_char()) == (ord("a"), ord("b"), None)
