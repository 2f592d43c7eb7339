from __future__ import annotations

import types

import pytest

from l4gdb import hookspecs
from l4gdb.runtime.plugins import PluginError, Plugins, validate_plugin


def test_misspelled_hook_is_refused_with_its_name():
    bad = types.SimpleNamespace(l4gdb_arch_nmaes=lambda: ["x"])
    with pytest.raises(PluginError, match="l4gdb_arch_nmaes"):
        validate_plugin("bad", bad)


def test_installed_arm_plugin_answers_only_for_arm():
    p = Plugins()
    assert "arm" in p.arch_names()
    assert p.hook.l4gdb_arch_info(arch="arm").word_size == 4
    assert p.hook.l4gdb_arch_info(arch="nope") is None


def test_a_third_party_plugin_can_add_an_arch():
    from l4gdb.kernel.abi import ArchInfo

    regs = tuple(f"x{i}" for i in range(8)) + ("pc", "sp", "flags")

    class Toy:
        @hookspecs.hookimpl
        def l4gdb_arch_names(self):
            return ["toy"]

        @hookspecs.hookimpl
        def l4gdb_arch_info(self, arch):
            if arch != "toy":
                return None
            return ArchInfo("toy", 8, regs, "pc", "sp", "flags", 0, 0, regs[:7], regs[:7])

    p = Plugins()
    p.register(Toy(), "toy")
    assert "toy" in p.arch_names()
    assert p.hook.l4gdb_arch_info(arch="toy").word_bits == 64
    assert "l4gdb_arch_info" in next(i for i in p.infos() if i.name == "toy").hooks


def test_kernel_event_hook_costs_nothing_without_implementers():
    p = Plugins()
    for name in [n for n, _ in p.pm.list_name_plugin()]:
        if p.pm.get_plugin(name) is not None and name != "arm":
            p.pm.unregister(name=name)
    assert p.wants_events() is False   # the kernel then gets no observer at all

    class Tracer:
        @hookspecs.hookimpl
        def l4gdb_kernel_event(self, name, data):
            pass

    p.register(Tracer(), "tracer")
    assert p.wants_events() is True

    class AskingTracer:
        @hookspecs.hookimpl
        def l4gdb_kernel_event(self, name, data):
            pass

        @hookspecs.hookimpl
        def l4gdb_wants_kernel_events(self, options):
            return bool(options.get("trace"))

    p.pm.unregister(name="tracer")
    p.register(AskingTracer(), "asking")
    assert p.wants_events({}) is False
    assert p.wants_events({"trace": "t.json"}) is True


def test_archinfo_refuses_to_exist_incomplete():
    from l4gdb.kernel.abi import ArchInfo

    with pytest.raises(ValueError, match="pc"):
        ArchInfo("bad", 4, ("r0",), "pc", "r0", "r0", 0, 0, ("r0",) * 7, ("r0",) * 7)
