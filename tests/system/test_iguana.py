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
    assert m and int(m.group(1)) >= 95 and m.group(2) == "0", r.out
    for group in ("pd", "memsection", "thread", "cap", "session", "eas", "pools", "hardware"):
        assert re.search(rf"^PASS {group}/", r.out, re.M), group
    assert re.search(r"^SKIP object/all: .+", r.out, re.M)
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


# The Iguana example programs on ARM: what each prints, in order (--expect patterns).
SCENARIOS = {
    # the read-only side of a shared memsection faults on a write
    "iguana-shared-memory": (
        r"attached to PD \w+ \(r\): 0",
        'reader: read "hello from the writer"',
        r"iguana: write fault at 0x\w+ .* \(attached r--\): thread stopped",
        "reader: write faulted: refused by its pager",
        "shared-memory: OK"),
    # the proxy driver owns the interrupt and the device
    "iguana-proxy-driver": (
        r"owns irq 30 \(0\) and the RTC at 9010000 as \w+ \(0\)",
        r"client: RTC id 0x31, time \d{10} s",
        "client: device interrupts through the driver: 1 then 2",
        "proxy-driver: OK"),
    # the priorities of subsystems in bands
    "iguana-priorities": (
        "subsystem A local 0..2 -> global 100..102",
        r"run order: A2\(102\) A1\(101\) A0\(100\) B2\(52\) B1\(51\) B0\(50\)",
        "priorities: OK"),
}


@pytest.mark.parametrize("program", list(SCENARIOS))
def test_scenario_prints_its_lines_in_order(l4gdb, no_leftovers, program):
    expects = [a for pattern in SCENARIOS[program] for a in ("--expect", pattern)]
    r = l4gdb("run", "--arch", "arm", program, "--timeout", "60", *expects)
    assert r.code == 0, r.out + r.err


@pytest.mark.parametrize("arch", ["x86", "mips"])
def test_scenarios_on_other_arches(l4gdb, no_leftovers, arch):
    for prog in ("iguana-shared-memory", "iguana-priorities"):
        last = SCENARIOS[prog][-1]
        r = l4gdb("run", "--arch", arch, prog, "--timeout", "60", "--expect", last)
        assert r.code == 0, r.out + r.err


def test_iguana_gdb_commands(l4gdb, no_leftovers):
    r = l4gdb("gdb", "--batch", "iguana-shared-memory", "-ex", "break pd_delete",
              "-ex", "continue", "-ex", "iguana pds", "-ex", "iguana memsections",
              "-ex", "iguana caps initial", "-ex", "iguana sessions", "-ex", "iguana eas",
              "-ex", "iguana pds --json", "-ex", "delete", "-ex", "continue", timeout=120)
    assert r.code == 0, r.out + r.err
    assert re.search(r"^PD\s+PARENT\s+SPACE", r.out, re.M) and "(initial)" in r.out
    assert re.search(r"0x10000000-0x10001000\s+1\s+0x\w+\s+normal\s+1\s+-\s+0x\w+:r--", r.out)
    assert "hardware" in r.out and "no sessions" in r.out
    assert "no external address spaces" in r.out
    assert '"parent":' in r.out and "shared-memory: OK" in r.out
