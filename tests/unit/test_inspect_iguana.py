"""The ``iguana`` commands over a model taken from a live server (fake target)."""

from __future__ import annotations

import json

from test_iguana_server import PAGE, Ig

from l4gdb.iguana import IID_PD
from l4gdb.inspect.commands import help_text, run_command
from l4gdb.kernel.types import Fpage, ThreadId


def _model() -> tuple[Ig, dict]:
    ig = Ig()
    k = ig.m.kernel
    (me,) = ig.ok(IID_PD, 0)
    (child,) = ig.ok(IID_PD, 2, me)
    ms, base = ig.ok(IID_PD, 1, me, 2 * PAGE, 0, 0)
    ig.ok(IID_PD, 12, child, ms, 4)
    ig.ok(IID_PD, 5, me, ig.m.root, ig.m.root)               # a session to myself
    host = k.new_thread(ThreadId(300, 1).raw(32), k.new_space(host=True), name="wombat")
    pd = ig.server.register_host_server("wombat", host)
    eas = ig.server.create_eas(pd, k.root.space.kip_area, Fpage(0x3800_0000, 14))
    eas.create_thread(host.global_id, host.global_id, 98)
    return ig, ig.server.snapshot()


def test_tables_a_person_can_read():
    ig, model = _model()
    snap = ig.m.kernel.snapshot()
    pds = run_command("iguana pds", snap, model)
    assert pds.splitlines()[0].split()[:3] == ["PD", "PARENT", "SPACE"]
    assert "(initial)" in pds and "(wombat)" in pds and "host" in pds
    ms = run_command("iguana memsections", snap, model)
    assert "0x10000000-0x10002000" in ms and ":r--" in ms
    caps = run_command("iguana caps initial", snap, model)
    assert "hardware" in caps and "physpool" in caps and "memsection" in caps
    assert "(wombat)" not in caps
    assert "SESSION" in run_command("iguana sessions", snap, model)
    eas = run_command("iguana eas", snap, model)
    assert "(wombat)" in eas and "0x38000000/14" in eas
    assert run_command("iguana caps nobody", snap, model) == "error: no PD 'nobody'\n"


def test_json_and_no_server():
    ig, model = _model()
    snap = ig.m.kernel.snapshot()
    data = json.loads(run_command("iguana eas --json", snap, model))
    assert data[0]["threads"] and data[0]["pd"] == model["pds"][-1]["ref"]
    pds = json.loads(run_command("iguana pds --json", snap, model))
    assert {p["ref"] for p in pds} == {p["ref"] for p in model["pds"]}
    assert run_command("iguana pds", snap, None).startswith("error: no Iguana server")
    assert "iguana memsections" in help_text()
