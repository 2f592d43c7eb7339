"""Guest builds for x86: the multiboot kernel stub and the portable programs."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

l4gdb_x86 = pytest.importorskip("l4gdb_x86.plugin")

from l4gdb.archkit.trapblocks import STUB_SYMBOLS  # noqa: E402
from l4gdb.runtime import build  # noqa: E402

pytestmark = pytest.mark.skipif(not (shutil.which("clang") and shutil.which("ld.lld")),
                                reason="clang/ld.lld missing")

MULTIBOOT_MAGIC = 0x1BADB002


@pytest.fixture(scope="module")
def tc():
    return l4gdb_x86.l4gdb_guest_toolchain(arch="x86")


@pytest.fixture(scope="module")
def kernel(tc, tmp_path_factory) -> Path:
    return build.build_kernel(tc, tmp_path_factory.mktemp("x86-kernel"))


def _elf(path: Path):
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as f:
        elf = ELFFile(f)
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()
                if s.name}
        return elf["e_machine"], elf["e_entry"], syms


def test_kernel_has_the_stub_symbols_and_fits(kernel):
    machine, entry, syms = _elf(kernel)
    assert machine == "EM_386" and entry == syms["_start"]
    for name in (*STUB_SYMBOLS, "l4k_kernel_start", "l4k_vector_stubs", "l4k_user_tls"):
        assert name in syms, name
    assert syms["l4k_return"] == syms["l4k_trap_bp"] + 1      # a one-byte nop
    layout = l4gdb_x86.l4gdb_memory_layout(arch="x86")
    assert layout["kernel_low"] <= syms["l4k_kernel_start"]
    assert syms["l4k_kernel_end"] <= layout["kernel_high"] <= layout["kip"]
    assert syms["l4k_exit_block"] - syms["l4k_entry_block"] >= (24 + 128) * 4


def test_kernel_has_a_multiboot_header_in_its_first_8k(kernel):
    data = kernel.read_bytes()[:8192]
    for off in range(0, len(data) - 12, 4):
        magic, flags, checksum = struct.unpack_from("<3I", data, off)
        if magic == MULTIBOOT_MAGIC:
            assert (magic + flags + checksum) & 0xFFFFFFFF == 0
            assert not flags & (1 << 16)      # QEMU loads the ELF segments
            return
    pytest.fail("no multiboot v1 header in the first 8 KiB")


@pytest.mark.parametrize("program", ["hello", "l4test", "bench"])
def test_portable_programs_build_unchanged(tc, program, tmp_path):
    elf = build.builtin_program(tc, program, tmp_path)
    machine, entry, syms = _elf(elf)
    assert machine == "EM_386"
    assert 0x00400000 <= entry < 0x00800000 and "__stack_top" in syms


def test_kernel_pages_match_the_page_table_builder(kernel):
    """pagetables.py maps the image's first two pages for users: the gate and the %gs slot
    must be there and nothing of the kernel proper; the glue accepts the real image."""
    from l4gdb_x86.pagetables import USER_PAGES

    _, _, syms = _elf(kernel)
    low = l4gdb_x86.l4gdb_memory_layout(arch="x86")["kernel_low"]
    user_end = low + USER_PAGES * 0x1000
    assert syms["l4k_user_start"] == low and syms["l4k_user_end"] == user_end
    assert low <= syms["l4k_preempt_gate"] < low + 0x1000          # user text page
    assert low + 0x1000 <= syms["l4k_user_tls"] < user_end         # user data page
    for name in ("l4k_kernel_start", "l4k_trap_bp", "l4k_return", "_start",
                 "l4k_entry_block", "l4k_exit_block", "l4k_boot_pd"):
        assert syms[name] >= user_end, name
    assert syms["l4k_boot_pd"] % 0x1000 == 0
    glue = l4gdb_x86.make_glue(syms)
    assert glue.in_kernel(syms["l4k_preempt_gate"]) and glue.in_kernel(syms["l4k_trap_bp"])
