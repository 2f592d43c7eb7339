"""Iguana end to end: the iguana-test program against the host-side Iguana
server (ARM, x86, MIPS; docs/iguana.md)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("arch", ["arm", "x86", "mips"])
def test_iguana_test_passes(l4gdb, no_leftovers, arch):
    r = l4gdb("run", "--no-gdb", "--arch", arch, "iguana-test", "--timeout", "120")
    assert r.code == 0, r.out + r.err
    m = re.search(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", r.out, re.M)
    assert m and int(m.group(1)) >= 40 and m.group(2) == "0", r.out
    for group in ("pd", "memsection", "thread", "cap", "session"):
        assert re.search(rf"^PASS {group}/", r.out, re.M), group
    for group in ("eas", "pools", "hardware", "object"):
        assert re.search(rf"^SKIP {group}/all: .+", r.out, re.M), group
    assert not re.search(r"^FAIL ", r.out, re.M)


def test_iguana_objects_through_the_pytest_plugin(l4gdb_system):
    s = l4gdb_system(arch="arm", program="iguana-test")
    assert s.wait_exit(timeout=60) == 0
    assert not [c for c in s.checks() if c["status"] == "FAIL"]
    snap = s.iguana()
    assert snap is not None and snap["server"]
    # Every PD the tests made was deleted again (with its threads and sessions).
    assert [p["ref"] for p in snap["pds"]] == [snap["initial_pd"]]
    assert snap["sessions"] == []
    assert {t["pd"] for t in snap["threads"]} == {snap["initial_pd"]}


def test_programs_without_iguana_get_no_server(l4gdb_system):
    s = l4gdb_system(arch="arm", program="hello")
    s.expect("pong 1", timeout=30)
    assert s.iguana() is None
    assert not [t for t in s.threads() if t["name"] == "iguana"]
