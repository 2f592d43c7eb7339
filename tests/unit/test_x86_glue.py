"""The i386 trap codec against the block layouts of docs/internals.md §3 and §4 "x86"."""

from __future__ import annotations

import struct

import pytest
from glue_checks import (
    check_exit_block_overflow_goes_to_leftover,
    check_preempt_entry_is_recognised,
    check_random_blocks_never_raise,
    entry_block,
)

l4gdb_x86 = pytest.importorskip("l4gdb_x86.plugin")

from l4gdb_x86.plugin import (  # noqa: E402
    PREEMPT_NUMBER,
    USER_REGS,
    X86_INFO,
    l4gdb_arch_info,
    l4gdb_gdb_setup,
    l4gdb_guest_toolchain,
    l4gdb_memory_layout,
    l4gdb_qemu_setup,
    l4gdb_trap_glue,
)

from l4gdb.archkit.trapblocks import MARK_KIND as NOT_IN_KERNEL  # noqa: E402
from l4gdb.archkit.trapblocks import BlockTrapGlue  # noqa: E402
from l4gdb.kernel.abi import Resume, TrapKind  # noqa: E402
from l4gdb.testing.exitblock import copy_records  # noqa: E402

# 4 header words, 16 registers, utcb address, padding to 24, 128 UTCB words
ENTRY_WORDS = 24 + 128

SYMS = {"l4k_kernel_start": 0x00100010, "l4k_trap_bp": 0x0010114C,
        "l4k_entry_block": 0x001020C0, "l4k_exit_block": 0x00102340,
        "l4k_return": 0x0010114D, "l4k_kernel_end": 0x00104000,
        "l4k_preempt_gate": 0x001011F8, "_start": 0x001011FF}


def glue() -> BlockTrapGlue:
    return l4gdb_trap_glue(arch="x86", symbols=SYMS)


def entry(kind: int, detail: int = 0, far: int = 0, fsr: int = 0, regs=None, utcb=0) -> bytes:
    return entry_block(ENTRY_WORDS, 3, USER_REGS, kind, detail, far, fsr, regs, utcb)


def test_registers_are_qemus_g_order():
    assert USER_REGS[:10] == ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                              "eip", "eflags")
    assert X86_INFO.syscall_arg_regs == ("eax", "ecx", "edx", "esi", "edi", "ebx", "ebp")
    assert X86_INFO.syscall_result_regs == X86_INFO.syscall_arg_regs


def test_layout_sizes():
    g = glue()
    assert g.utcb_addr_index == 20 and g.utcb_index == 24
    assert g.entry_block_size == ENTRY_WORDS * 4
    assert g.exit_header_words == 20


def _stub_defines() -> dict[str, int]:
    """The block offsets kernel.S uses (``#define NAME (n*4)``), evaluated."""
    import re

    tc = l4gdb_guest_toolchain(arch="x86")
    text = tc.kernel_sources[0].read_text()
    out: dict[str, int] = {}
    for name, expr in re.findall(r"^#define\s+((?:EB|XB)_\w+)\s+(.+)$", text, re.M):
        expr = re.sub(r"/\*.*?\*/", "", expr).replace("UTCB_WORDS", "128")
        if re.fullmatch(r"[\d\s()*+x]+", expr):
            out[name] = eval(expr)  # noqa: S307 - digits and operators only
    return out


def test_stub_offsets_match_the_codec():
    d, g = _stub_defines(), glue()
    for i, reg in enumerate(USER_REGS):
        assert d[f"EB_{reg.upper()}"] == (4 + i) * 4
        if f"XB_{reg.upper()}" in d:
            assert d[f"XB_{reg.upper()}"] == i * 4
    assert d["EB_UTCB"] == g.utcb_addr_index * 4 and d["EB_UTCB_COPY"] == g.utcb_index * 4
    assert d["EB_SIZE"] == g.entry_block_size
    n = len(USER_REGS)
    assert (d["XB_TLS"], d["XB_CUR_UTCB"], d["XB_ROOT"], d["XB_NCOPY"], d["XB_RECORDS"]) == \
        tuple(4 * k for k in range(n, n + 5))
    assert d["XB_SIZE"] == g.exit_block_max


def test_other_arch_is_not_ours():
    assert l4gdb_trap_glue(arch="arm", symbols=SYMS) is None
    for hook in (l4gdb_arch_info, l4gdb_qemu_setup, l4gdb_gdb_setup, l4gdb_guest_toolchain,
                 l4gdb_memory_layout):
        assert hook(arch="mips") is None


def test_setup_hooks():
    q = l4gdb_qemu_setup(arch="x86")
    assert q.binary == "qemu-system-i386" and q.config.name == "x86-pc.cfg"
    assert q.config.is_file()
    assert l4gdb_gdb_setup(arch="x86").architecture == "i386"
    tc = l4gdb_guest_toolchain(arch="x86")
    assert tc.elf_machine == "EM_386" and (tc.include_dir / "l4/arch/syscalls.h").is_file()
    layout = l4gdb_memory_layout(arch="x86")
    assert layout["kernel_high"] <= layout["kip"] < layout["utcb_area"] < layout["free_low"]
    assert layout["utcb_area"] % (1 << layout["utcb_area_log2"]) == 0


def test_missing_symbol_is_refused():
    with pytest.raises(ValueError, match="l4k_return"):
        l4gdb_trap_glue(arch="x86", symbols={k: v for k, v in SYMS.items() if k != "l4k_return"})


def test_kernel_range_covers_stubs_and_gate():
    g = glue()
    assert g.in_kernel(0x00100010) and g.in_kernel(SYMS["l4k_preempt_gate"])
    assert not g.in_kernel(0x00400000) and not g.in_kernel(0x000FFFFF)


def test_not_in_kernel_block_decodes_to_none():
    assert glue().decode(entry(NOT_IN_KERNEL)) is None


def test_boot():
    assert glue().decode(entry(0)).kind is TrapKind.BOOT


def test_syscall_carries_number_regs_and_utcb():
    t = glue().decode(entry(1, detail=7, utcb=0x00140000))
    assert t.kind is TrapKind.SYSCALL and t.number == 7
    assert t.regs["eax"] == 100 and t.regs["eip"] == 108 and t.regs["eflags"] == 109
    assert t.regs["gs"] == 115
    assert t.utcb_addr == 0x00140000 and len(t.utcb) == 512
    assert struct.unpack_from("<I", t.utcb, 4)[0] == 3


def test_no_utcb_copy():
    assert glue().decode(entry(1, detail=1, utcb=0)).utcb is None


@pytest.mark.parametrize("code,access", [(0, 4), (0b10, 2), (0b111, 2), (0b10100, 1)])
def test_page_fault_access_from_the_error_code(code, access):
    t = glue().decode(entry(4, detail=14, far=0xDEAD000, fsr=code))
    assert t.kind is TrapKind.PAGEFAULT and t.fault_addr == 0xDEAD000 and t.fault_access == access


@pytest.mark.parametrize("vector", [0, 6, 13])
def test_exceptions_carry_the_vector(vector):
    t = glue().decode(entry(2, detail=vector, fsr=0x202 if vector == 13 else 0))
    assert t.kind is TrapKind.EXCEPTION and t.number == vector
    assert t.detail["fsr"] == (0x202 if vector == 13 else 0)


def test_pic_interrupt():
    t = glue().decode(entry(5, detail=1))
    assert t.kind is TrapKind.INTERRUPT and t.number == 1


def test_preempt_entry_is_recognised():
    g = glue()
    check_preempt_entry_is_recognised(g, entry, PREEMPT_NUMBER)
    regs = g.enter_kernel({r: 0 for r in USER_REGS} | {"eflags": 0x3202})
    assert regs["eip"] == SYMS["l4k_preempt_gate"] and regs["eflags"] == 0x202


def test_exit_block_layout_sanitises_and_copies():
    regs = {r: 0x1000 + i for i, r in enumerate(USER_REGS)}
    regs["eflags"] = 0x00023FD7        # IOPL 3, VM, NT, TF: never reach user mode
    regs["cs"] = 0x08                  # nor the kernel's code segment
    res = Resume(thread=1, regs=regs, utcb_addr=0x00140200, tls=0x00140200,
                 writes=[(0x00140000, b"\x01\x00\x00\x00" * 3)])
    block, leftover = glue().encode_exit(res)
    w = struct.unpack(f"<{len(block) // 4}I", block)
    assert w[0] == 0x1000 and w[8] == regs["eip"] and w[4] == regs["esp"]
    assert w[9] == (0x00023FD7 & 0x0CD5) | 0x202
    assert w[10:16] == (0x1B, 0x23, 0x23, 0x23, 0x23, 0x33)
    assert w[16] == 0x00140200 and w[17] == 0x00140200 and w[18] == 0
    assert w[19] == 1 and w[20] == 0x00140000 and w[21] == 3 and w[22:25] == (1, 1, 1)
    assert leftover == []


def test_exit_block_overflow_goes_to_leftover():
    check_exit_block_overflow_goes_to_leftover(glue(), far=0x00110000, utcb=0x00140000,
                                               ncopy_word=19)


def test_random_blocks_never_raise():
    check_random_blocks_never_raise(glue(), ENTRY_WORDS, kinds=range(6), seed=7)


# --- what Linux programs need: the FPU switch and GDT entry 6 (docs/internals.md §3.4) --
GDT = 0x00104000
USER_TLS = 0x00101000
FPU_NEXT = 0x00105884
LINUX_SYMS = {**SYMS, "l4k_gdt": GDT, "l4k_user_tls": USER_TLS, "l4k_fpu_next": FPU_NEXT}


def _fields(desc: bytes) -> tuple[int, int, int, int]:
    """base, limit, access byte, flags nibble of a segment descriptor."""
    lo, hi = struct.unpack("<II", desc)
    base = (lo >> 16) | (hi & 0xFF) << 16 | (hi & 0xFF000000)
    limit = (lo & 0xFFFF) | (hi & 0xF0000)
    return base, limit, (hi >> 8) & 0xFF, (hi >> 20) & 0xF


def test_fpu_area_is_one_fxsave_image():
    assert X86_INFO.fpu_area_size == 512


def test_gdt_entry_6_follows_the_thread_kind():
    g = l4gdb_trap_glue(arch="x86", symbols=LINUX_SYMS)
    entry6 = GDT + 6 * 8
    l4 = Resume(thread=1, regs={}, tls=0x00140200)
    linux = Resume(thread=2, regs={}, tls=0x0806A840, tls_user=True, fpu_area=0xC0406000)
    assert copy_records(g, g.encode_exit(l4)[0]) == {}       # what _start built
    recs = copy_records(g, g.encode_exit(linux)[0])
    assert recs[FPU_NEXT] == struct.pack("<I", 0xC0406000)
    # Linux's set_thread_area entry: base = the value, 0xfffff pages (4 GiB), present,
    # DPL 3, read-write data, 32-bit, 4 KiB granularity.
    assert _fields(recs[entry6]) == (0x0806A840, 0xFFFFF, 0xF3, 0xC)
    assert copy_records(g, g.encode_exit(linux)[0]) == {}    # unchanged: no record
    other = Resume(thread=3, regs={}, tls=0x0806B000, tls_user=True, fpu_area=0xC0406000)
    assert _fields(copy_records(g, g.encode_exit(other)[0])[entry6])[0] == 0x0806B000
    # Back to an L4 thread: %gs:0 is the 4-byte UTCB slot again (read-only, byte limit).
    recs = copy_records(g, g.encode_exit(l4)[0])
    assert _fields(recs[entry6]) == (USER_TLS, 3, 0xF1, 0x4)
    assert struct.unpack_from("<I", g.encode_exit(l4)[0], 16 * 4)[0] == 0x00140200


def test_idle_exit_leaves_the_gdt_alone():
    g = l4gdb_trap_glue(arch="x86", symbols=LINUX_SYMS)
    assert copy_records(g, g.encode_exit(Resume(thread=None, tls=0x1234, tls_user=True))[0]) == {}


def test_descriptor_matches_the_boot_gdt():
    from l4gdb_x86.gdt import descriptor, linux_tls_descriptor

    # kernel.S's flat user data segment, and glibc's TLS entry at base 0
    assert descriptor(0, 0xFFFFF, 0xF2, 0xC) == 0x00CFF2000000FFFF
    assert linux_tls_descriptor(0xB7FF_0000) == 0xB7CFF3FF0000FFFF
