"""l4gdb.archkit: the plugin object made from Arch data, and the page-table mechanics."""

from __future__ import annotations

from pathlib import Path

import pluggy
import pytest

from l4gdb import hookspecs
from l4gdb.archkit import Arch, ArchPlugin, GdbSetup, PageTableBuilder, QemuSetup, guest_toolchain
from l4gdb.kernel.abi import ArchInfo
from l4gdb.runtime.plugins import validate_plugin

REGS = ("r0", "r1", "r2", "r3", "r4", "r5", "r6", "sp", "pc", "flags")
INFO = ArchInfo(name="toy", word_size=4, reg_names=REGS, ip_reg="pc", sp_reg="sp",
                flags_reg="flags", user_flags=0, flags_user_mask=0,
                syscall_arg_regs=REGS[:7], syscall_result_regs=REGS[:7])


def toy(**more) -> Arch:
    return Arch(info=INFO, qemu=QemuSetup("qemu-system-toy", Path("/toy.cfg")),
                gdb=GdbSetup("toy"),
                toolchain=guest_toolchain("toy", Path("/g"), "toy-elf", ("-O1",), "EM_TOY"),
                memory_layout={"ram_low": 0}, trap_glue=lambda symbols: ("glue", symbols),
                **more)


def manager(plugin) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    validate_plugin("toy", plugin)
    pm.register(plugin, name="toy")
    pm.check_pending()
    return pm


def test_hooks_answer_for_their_arch_only():
    pm = manager(ArchPlugin(toy()))
    assert pm.hook.l4gdb_arch_names() == [["toy"]]
    assert pm.hook.l4gdb_arch_info(arch="toy") is INFO
    assert pm.hook.l4gdb_arch_info(arch="arm") is None
    qemu = pm.hook.l4gdb_qemu_setup(arch="toy")
    assert (qemu.binary, qemu.extra_args, qemu.package, qemu.target_xml) == \
        ("qemu-system-toy", (), None, None)
    assert pm.hook.l4gdb_gdb_setup(arch="toy").init_commands == ()
    tc = pm.hook.l4gdb_guest_toolchain(arch="toy")
    assert tc.crt0 == Path("/g/crt0.S") and tc.kernel_sources == (Path("/g/kernel.S"),)
    assert pm.hook.l4gdb_trap_glue(arch="toy", symbols={"a": 1}) == ("glue", {"a": 1})
    layout = pm.hook.l4gdb_memory_layout(arch="toy")
    layout["ram_low"] = 5                                   # a copy per call
    assert pm.hook.l4gdb_memory_layout(arch="toy") == {"ram_low": 0}


def test_optional_hooks_only_when_an_arch_has_them():
    plain = manager(ArchPlugin(toy()))
    names = {c.name for c in plain.get_hookcallers(plain.get_plugin("toy"))}
    assert "l4gdb_page_tables" not in names and "l4gdb_guest_timer" not in names
    timed = manager(ArchPlugin(toy(guest_timer=lambda symbols: "timer")))
    names = {c.name for c in timed.get_hookcallers(timed.get_plugin("toy"))}
    assert "l4gdb_guest_timer" in names and "l4gdb_page_tables" not in names
    assert timed.hook.l4gdb_guest_timer(arch="toy", symbols={}) == "timer"
    assert timed.hook.l4gdb_guest_timer(arch="arm", symbols={}) is None


def test_module_plugin_through_hookimpls():
    import types

    module = types.ModuleType("toy_plugin")
    module.__dict__.update(ArchPlugin(toy()).hookimpls())
    pm = manager(module)
    assert pm.hook.l4gdb_arch_info(arch="toy") is INFO


def test_an_arch_plugin_needs_an_arch():
    with pytest.raises(ValueError):
        ArchPlugin()


class Flat(PageTableBuilder):
    def kernel_address(self, paddr: int) -> int:
        return paddr + 0x1000_0000


def test_take_writes_joins_adjacent_words():
    pt = Flat(pool=(0x1000, 0x4000), kernel_image=(0, 0x1000))
    for addr, value in ((0x1008, 3), (0x1000, 1), (0x1004, 2), (0x2000, 9)):
        pt._put(addr, value)
    assert pt.take_writes() == [
        (0x1000_1000, (1).to_bytes(4, "little") + (2).to_bytes(4, "little")
         + (3).to_bytes(4, "little")),
        (0x1000_2000, (9).to_bytes(4, "little")),
    ]
    assert pt.take_writes() == []


def test_pool_frames_and_reuse_are_cleared():
    pt = Flat(pool=(0x1000, 0x3000), kernel_image=(0, 0x1000), entry_size=8)
    a, b = pt.alloc_frame(), pt.alloc_frame()
    assert (a, b) == (0x1000, 0x2000)
    assert pt.alloc_frame() is None                        # pool exhausted
    pt.free_frame(a)
    assert pt.alloc_frame() == a
    runs = pt.take_writes()
    assert runs == [(a + 0x1000_0000, bytes(0x1000))]      # cleared before reuse
