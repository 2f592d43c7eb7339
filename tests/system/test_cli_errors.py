"""Bad input gets one clear line and the documented exit code."""

from __future__ import annotations

import json
import os
import shutil

import pytest


def test_unknown_arch(l4gdb):
    r = l4gdb("run", "--arch", "vax", "hello")
    assert r.code == 2
    assert "unknown architecture 'vax'" in r.err
    assert "Traceback" not in r.err


def test_unknown_program(l4gdb):
    r = l4gdb("run", "no-such-program")
    assert r.code == 2
    assert "no built-in program 'no-such-program'" in r.err


def test_c_file_that_does_not_compile(l4gdb, tmp_path):
    src = tmp_path / "broken.c"
    src.write_text("int main(void) { return undefined_thing; }\n")
    r = l4gdb("build", str(src), "-o", str(tmp_path / "out.elf"))
    assert r.code == 2
    assert "broken.c" in r.err and "undefined_thing" in r.err
    assert "Traceback" not in r.err


def test_truncated_elf(l4gdb, tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF\x01\x01\x01" + b"\0" * 20)
    r = l4gdb("run", "--no-gdb", str(bad))
    assert r.code == 2
    assert "bad.elf" in r.err and "Traceback" not in r.err


def test_wrong_arch_elf(l4gdb, tmp_path):
    r = l4gdb("run", "--no-gdb", "/bin/true")
    assert r.code == 2
    assert "not for arm" in r.err


def test_bad_expect_regex(l4gdb):
    r = l4gdb("run", "hello", "--expect", "(unclosed")
    assert r.code == 2
    assert "bad --expect pattern" in r.err


@pytest.mark.slow
def test_missing_qemu_is_infrastructure(l4gdb, tmp_path):
    # A PATH with the toolchain but without QEMU.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("clang", "ld.lld", "gdb-multiarch"):
        path = shutil.which(tool)
        if path:
            os.symlink(path, bindir / tool)
    r = l4gdb("run", "--no-gdb", "hello", env={"PATH": str(bindir)})
    assert r.code == 5, r.out + r.err
    assert "qemu-system-arm not found" in r.err


def test_plugins_lists_arm_with_its_hooks(l4gdb):
    r = l4gdb("plugins", "--json")
    assert r.code == 0, r.err
    infos = {p["name"]: p for p in json.loads(r.out)}
    assert "arm" in infos
    assert "l4gdb_trap_glue" in infos["arm"]["hooks"]


def test_no_command_is_usage(l4gdb):
    assert l4gdb().code == 2
