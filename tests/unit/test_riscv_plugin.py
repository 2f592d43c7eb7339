"""The RISC-V third-party plugin (plugins/riscv, ``riscv`` = RV32 and ``riscv64``):
found through the entry point group, its hooks, and its trap codec against the
blocks guest/kernel.S writes."""

from __future__ import annotations

import re
import shutil
import struct

import pytest
from glue_checks import (
    check_exit_block_overflow_goes_to_leftover,
    check_random_blocks_never_raise,
    entry_block,
)

pytest.importorskip("l4gdb_riscv.plugin")

from l4gdb_riscv import plugin  # noqa: E402
from l4gdb_riscv.plugin import (  # noqa: E402
    GUEST,
    L4_TAG,
    PREEMPT_NUMBER,
    QEMU_CONFIG,
    RISCV64_INFO,
    RISCV_INFO,
    USER_REGS,
    l4gdb_arch_info,
    l4gdb_arch_names,
    l4gdb_gdb_setup,
    l4gdb_guest_toolchain,
    l4gdb_memory_layout,
    l4gdb_page_tables,
    l4gdb_qemu_setup,
    l4gdb_trap_glue,
)

from l4gdb.archkit.trapblocks import MARK_KIND as NOT_IN_KERNEL  # noqa: E402
from l4gdb.archkit.trapblocks import STUB_SYMBOLS, BlockTrapGlue  # noqa: E402
from l4gdb.kernel.abi import Resume, Syscall, TrapKind  # noqa: E402

# 4 header words, 34 registers (x0..x31, pc, status), utcb address, padding to 40,
# 128 UTCB words
ENTRY_WORDS = 40 + 128
EXIT_HEADER = 34 + 4

SYMS = {"l4k_kernel_start": 0x80000000, "_start": 0x80000000, "l4k_trap_bp": 0x80000230,
        "l4k_return": 0x80000234, "l4k_preempt_gate": 0x8000F000, "l4k_gate_page": 0x8000F000,
        "l4k_text_end": 0x80000400, "l4k_entry_block": 0x80001000,
        "l4k_exit_block": 0x800012c0, "l4k_kernel_end": 0x80010000}


def glue() -> BlockTrapGlue:
    return l4gdb_trap_glue(arch="riscv", symbols=SYMS)


def entry(kind: int, detail: int = 0, far: int = 0, fsr: int = 0, regs=None, utcb=0) -> bytes:
    return entry_block(ENTRY_WORDS, 1, USER_REGS, kind, detail, far, fsr, regs, utcb)


def test_found_through_the_entry_point_group():
    from importlib.metadata import entry_points

    from l4gdb.runtime.plugins import Plugins

    eps = {ep.name: ep.value for ep in entry_points(group="l4gdb")}
    assert eps.get("riscv") == "l4gdb_riscv.plugin"
    p = Plugins()
    assert {"riscv", "riscv64"} <= set(p.arch_names())
    assert p.hook.l4gdb_arch_info(arch="riscv") is RISCV_INFO
    assert p.hook.l4gdb_arch_info(arch="riscv64") is RISCV64_INFO
    info = next(i for i in p.infos() if i.name == "riscv")
    assert info.distribution == "l4gdb-riscv"
    assert "l4gdb_page_tables" in info.hooks


def test_other_arch_is_not_ours():
    assert l4gdb_arch_names() == ["riscv", "riscv64"]
    for hook in (l4gdb_arch_info, l4gdb_qemu_setup, l4gdb_gdb_setup, l4gdb_guest_toolchain,
                 l4gdb_memory_layout):
        assert hook(arch="arm") is None
    assert l4gdb_page_tables(arch="arm", layout=l4gdb_memory_layout(arch="riscv")) is None
    assert l4gdb_trap_glue(arch="mips", symbols=SYMS) is None


def test_arch_info_abi():
    assert RISCV_INFO.word_size == 4 and RISCV64_INFO.word_size == 8
    assert RISCV64_INFO.reg_names == RISCV_INFO.reg_names
    assert RISCV_INFO.syscall_arg_regs == ("a0", "a1", "a2", "a3", "a4", "a5", "a6")
    assert RISCV_INFO.syscall_result_regs == RISCV_INFO.syscall_arg_regs
    assert RISCV_INFO.sp_reg == "sp" and RISCV_INFO.ip_reg == "pc"
    assert USER_REGS[:5] == ("zero", "ra", "sp", "gp", "tp") and USER_REGS[8] == "fp"
    assert USER_REGS[32:] == ("pc", "status")


def test_qemu_config_ships_inside_the_package():
    q = l4gdb_qemu_setup(arch="riscv")
    assert q.binary == "qemu-system-riscv32"
    assert q.config == QEMU_CONFIG and q.config.is_file()
    assert plugin.HERE in q.config.parents
    assert "/qemu-configs/" not in str(q.config)
    text = q.config.read_text()
    assert 'type = "virt"' in text and 'size = "128M"' in text
    assert 'firmware = "none"' in text              # -bios none, from the file
    assert l4gdb_gdb_setup(arch="riscv").architecture == "riscv:rv32"
    q64 = l4gdb_qemu_setup(arch="riscv64")
    assert q64.binary == "qemu-system-riscv64" and q64.config == QEMU_CONFIG
    assert l4gdb_gdb_setup(arch="riscv64").architecture == "riscv:rv64"


def test_guest_sources_ship_inside_the_package():
    tc = l4gdb_guest_toolchain(arch="riscv")
    assert tc.elf_machine == "EM_RISCV" and tc.clang_target == "riscv32-unknown-elf"
    tc64 = l4gdb_guest_toolchain(arch="riscv64")
    assert tc64.clang_target == "riscv64-unknown-elf" and "-mabi=lp64" in tc64.cflags
    assert tc64.kernel_sources == tc.kernel_sources     # one source, two widths
    for path in (tc.crt0, tc.user_ldscript, tc.kernel_ldscript, *tc.kernel_sources,
                 tc.include_dir / "l4" / "arch" / "syscalls.h"):
        assert path.is_file() and GUEST in path.parents


def test_syscalls_h_provides_the_same_functions_as_mips():
    """libl4 is portable: the arch header must provide exactly the __l4_arch_* set."""
    mips = pytest.importorskip("l4gdb_mips.plugin")

    def names(path):
        text = path.read_text()
        return set(re.findall(r"\b(__l4_arch_\w+)\s*\(", text)) | set(
            re.findall(r"__L4_ARCH_IPC\((__l4_arch_\w+)", text))

    ours = names(GUEST / "include" / "l4" / "arch" / "syscalls.h")
    theirs = names(mips.GUEST / "include" / "l4" / "arch" / "syscalls.h")
    assert ours == theirs


def test_layout_matches_the_stub():
    """The byte offsets kernel.S uses agree with the shared codec's layout."""
    text = (GUEST / "kernel.S").read_text()
    defs = {m[0]: m[1] for m in re.findall(r"#define (\w+) \((\d+)\*WS\)", text)}
    g = glue()
    assert int(defs["EB_PC"]) == 4 + USER_REGS.index("pc")
    assert int(defs["EB_STATUS"]) == 4 + USER_REGS.index("status")
    assert int(defs["EB_UTCB"]) == g.utcb_addr_index
    assert int(defs["EB_UTCB_COPY"]) == g.utcb_index
    assert int(defs["XB_PC"]) == USER_REGS.index("pc")
    assert int(defs["XB_TLS"]) == len(USER_REGS)
    assert int(defs["XB_NCOPY"]) == g.exit_header_words - 1
    assert int(defs["XB_RECORDS"]) == g.exit_header_words
    assert re.search(rf"#define PREEMPT_NUMBER {PREEMPT_NUMBER:#x}\b", text)
    assert re.search(rf"#define XB_SIZE {g.exit_block_max}\b", text)
    assert g.entry_block_size == ENTRY_WORDS * 4


def test_memory_layout_ram_at_2g_with_a_table_pool():
    lay = l4gdb_memory_layout(arch="riscv")
    assert lay["ram_low"] == 0x80000000 and lay["pt_pool_high"] == 0x88000000   # 128 MiB
    assert lay["ram_high"] == lay["pt_pool_low"]          # the pool is not sigma0's
    assert lay["kernel_low"] == 0x80000000 and lay["kernel_high"] == lay["kip"]
    assert lay["kip"] < lay["utcb_area"] < lay["free_low"] < lay["ram_high"]
    assert lay["kernel_low"] <= lay["gate_page"] < lay["kernel_high"]


def test_missing_symbol_is_refused():
    for name in STUB_SYMBOLS:
        with pytest.raises(ValueError, match=name):
            l4gdb_trap_glue(arch="riscv", symbols={k: v for k, v in SYMS.items() if k != name})


def test_glue_addresses():
    g = glue()
    assert g.bp_addr == 0x80000230 and g.return_addr == 0x80000234
    assert g.entry_block_addr == 0x80001000 and g.exit_block_addr == 0x800012c0
    assert g.in_kernel(0x80000000) and g.in_kernel(0x8000F004)
    assert not g.in_kernel(0x80400000) and not g.in_kernel(0x80010000)


def test_gate_must_be_on_the_mapped_page():
    with pytest.raises(ValueError, match="gate page"):
        l4gdb_trap_glue(arch="riscv", symbols={**SYMS, "l4k_preempt_gate": 0x80001000})


def test_not_in_kernel_and_boot():
    assert glue().decode(entry(NOT_IN_KERNEL)) is None
    assert glue().decode(entry(0)).kind is TrapKind.BOOT


def test_ecall_carries_number_regs_and_utcb():
    t = glue().decode(entry(1, detail=L4_TAG | 7, fsr=8, utcb=0x80040000))
    assert t.kind is TrapKind.SYSCALL and t.number == 7
    assert t.regs["zero"] == 100 and t.regs["a0"] == 110 and t.regs["a7"] == 117
    assert t.regs["pc"] == 100 + 32 and t.regs["status"] == 100 + 33
    assert t.utcb_addr == 0x80040000 and len(t.utcb) == 512
    assert struct.unpack_from("<I", t.utcb, 4)[0] == 3
    assert glue().decode(entry(1, detail=1, utcb=0)).utcb is None


@pytest.mark.parametrize("kind,mcause,access", [(3, 1, 1), (3, 12, 1), (4, 5, 4), (4, 13, 4),
                                                (4, 7, 2), (4, 15, 2)])
def test_access_faults_are_page_faults(kind, mcause, access):
    t = glue().decode(entry(kind, detail=mcause, far=0x90000000, fsr=mcause))
    assert t.kind is TrapKind.PAGEFAULT and t.fault_addr == 0x90000000
    assert t.fault_access == access


@pytest.mark.parametrize("mcause", [0, 2, 3, 4, 5, 6])
def test_other_exceptions_carry_mcause(mcause):
    t = glue().decode(entry(2, detail=mcause, far=0x80000000, fsr=mcause))
    assert t.kind is TrapKind.EXCEPTION and t.number == mcause


def test_interrupt_kind():
    assert glue().decode(entry(5, detail=7, fsr=0x80000007)).kind is TrapKind.INTERRUPT


def test_preempt_entry_and_gate():
    g = glue()
    assert g.is_preempt_entry(g.decode(entry(1, detail=L4_TAG | PREEMPT_NUMBER)))
    assert not g.is_preempt_entry(g.decode(entry(1, detail=L4_TAG | 7)))
    assert not g.is_preempt_entry(g.decode(entry(1, detail=PREEMPT_NUMBER)))   # untagged
    live = {r: 5 for r in USER_REGS[:33]}          # what QEMU's `g` has: no "status"
    out = g.enter_kernel(live)
    assert out["pc"] == SYMS["l4k_preempt_gate"] and out["zero"] == 0
    assert "status" not in out                      # a `P` to it would fail
    assert g.user_regs_from_gdb(live)["status"] == 0


def test_exit_block_layout_and_copy_records():
    regs = {r: 0x1000 + i for i, r in enumerate(USER_REGS)}
    res = Resume(thread=1, regs=regs, utcb_addr=0x80040200, tls=0x80040200, space_root=0,
                 writes=[(0x80040000, b"\x01\x00\x00\x00" * 3)])
    block, leftover = glue().encode_exit(res)
    w = struct.unpack(f"<{len(block) // 4}I", block)
    assert w[0] == 0 and w[1] == 0x1001 and w[31] == 0x1000 + 31    # x0 is always 0
    assert w[32] == 0x1000 + 32 and w[33] == 0                      # pc; status fixed
    assert w[34] == 0x80040200 and w[35] == 0x80040200 and w[36] == 0
    assert w[37] == 1 and w[38] == 0x80040000 and w[39] == 3 and w[40:43] == (1, 1, 1)
    assert leftover == []


def test_exit_block_overflow_goes_to_leftover():
    check_exit_block_overflow_goes_to_leftover(glue(), far=0x80020000, utcb=0x80040000,
                                               ncopy_word=EXIT_HEADER - 1)


def test_random_blocks_never_raise():
    check_random_blocks_never_raise(glue(), ENTRY_WORDS, kinds=range(6), seed=11)


def test_rv64_blocks_use_8_byte_words():
    g = l4gdb_trap_glue(arch="riscv64", symbols=SYMS)
    assert g.word_size == 8 and g.entry_block_size == ENTRY_WORDS * 8
    regs = [0x1_0000_0000 + i for i in range(len(USER_REGS))]
    words = [1, L4_TAG | 7, 0, 8, *regs, 0x80040400, 0] + list(range(128))
    t = g.decode(struct.pack(f"<{ENTRY_WORDS}Q", *words))
    assert t.kind is TrapKind.SYSCALL and t.number == 7
    assert t.regs["a0"] == 0x1_0000_000A and t.utcb_addr == 0x80040400 and len(t.utcb) == 1024
    assert g.decode(struct.pack(f"<{ENTRY_WORDS}Q", 2**64 - 1, *[0] * (ENTRY_WORDS - 1))) is None
    block, _ = g.encode_exit(Resume(thread=1, regs={"a0": 2**63, "pc": 0x80400000},
                                    tls=0x80040400, writes=[(0x80040000, bytes(16))]))
    w = struct.unpack(f"<{len(block) // 8}Q", block)
    assert w[10] == 2**63 and w[32] == 0x80400000 and w[34] == 0x80040400
    assert w[37] == 1 and w[38] == 0x80040000 and w[39] == 2


@pytest.mark.skipif(not (shutil.which("clang") and shutil.which("ld.lld")),
                    reason="clang/ld.lld missing")
@pytest.mark.parametrize("arch,bits", [("riscv", 32), ("riscv64", 64)])
def test_kernel_and_hello_build(tmp_path, arch, bits):
    from elftools.elf.elffile import ELFFile

    from l4gdb.runtime import build

    tc = l4gdb_guest_toolchain(arch=arch)
    kernel = build.build_kernel(tc, tmp_path)
    with kernel.open("rb") as f:
        elf = ELFFile(f)
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()
                if s.name}
        assert elf["e_machine"] == "EM_RISCV" and elf.elfclass == bits
    assert syms["_start"] == 0x80000000               # where -bios none's reset vector jumps
    assert syms["l4k_kernel_end"] <= 0x80010000
    assert syms["l4k_preempt_gate"] == plugin.GATE_PAGE   # alone on the user page
    assert syms["l4k_entry_block"] >= syms["l4k_text_end"]
    assert syms["l4k_kernel_end"] == 0x80010000
    g = l4gdb_trap_glue(arch=arch, symbols=syms)
    assert g.in_kernel(g.bp_addr) and g.in_kernel(g.preempt_addr)
    hello = build.builtin_program(tc, "hello", tmp_path)
    with hello.open("rb") as f:
        elf = ELFFile(f)
        assert elf["e_entry"] == 0x80400000 and elf.elfclass == bits


# --- page tables -------------------------------------------------------------------

def _tables(arch: str):
    lay = l4gdb_memory_layout(arch=arch)
    return l4gdb_page_tables(arch=arch, layout=lay), lay


def _entries(writes, size):
    out = {}
    for addr, data in writes:
        for off in range(0, len(data), size):
            out[addr + off] = int.from_bytes(data[off:off + size], "little")
    return out


@pytest.mark.parametrize("arch,xlen,levels", [("riscv", 32, 2), ("riscv64", 64, 3)])
def test_page_tables_walk_like_the_hardware(arch, xlen, levels):
    from l4gdb_riscv.pagetables import PTE_U, PTE_V, PTE_W, PTE_X, satp

    pt, lay = _tables(arch)
    assert pt.kernel_address(0x80123000) == 0x80123000     # M-mode: no window
    root = pt.new_root()
    assert lay["pt_pool_low"] <= root < lay["pt_pool_high"] and root % 4096 == 0
    pt.map(root, 0x10000000, 0x80900000, 13, 6)             # two pages, rw
    pt.map(root, 0x80000000, 0x80000000, 12, 7)             # the kernel image: refused
    assert pt.translate(root, 0x10001234) == (0x80901234, 6)
    assert pt.translate(root, 0x80000000) is None
    assert pt.translate(root, lay["gate_page"]) == (lay["gate_page"], 1)   # user execute
    mem = _entries(pt.take_writes(), xlen // 8)

    def walk(va):                      # what the MMU (and kernel.S's UTCB walk) does
        table, bits = root, 10 if xlen == 32 else 9
        for level in range(levels - 1, -1, -1):
            e = mem.get(table + (xlen // 8) * ((va >> (12 + level * bits)) & ((1 << bits) - 1)),
                        0)
            assert e & PTE_V
            table = (e >> 10) << 12
            if e & 0xE:
                assert level == 0
                return table | (va & 0xFFF), e
        raise AssertionError("no leaf")

    pa, e = walk(0x10000abc)
    assert pa == 0x80900abc and e & PTE_U and e & PTE_W and not e & PTE_X
    assert walk(lay["gate_page"])[1] & PTE_X
    assert satp(xlen, root) >> (31 if xlen == 32 else 60) == (1 if xlen == 32 else 8)
    pt.unmap(root, 0x10000000, 12)
    assert pt.translate(root, 0x10000000) is None and pt.translate(root, 0x10001000)
    assert _entries(pt.take_writes(), xlen // 8) == {next(iter(
        a for a, v in mem.items() if v and (v >> 10) << 12 == 0x80900000)): 0}
    pt.free_root(root)
    cleared = _entries(pt.take_writes(), xlen // 8)
    assert cleared and not any(cleared.values())
    assert pt.new_root() in (root, *(a & ~0xFFF for a in cleared))   # pages are reused


def test_page_table_frames_and_pool_exhaustion():
    from l4gdb_riscv.pagetables import RiscvPageTables

    pt = RiscvPageTables(32, pool=(0x87000000, 0x87003000), kernel_image=(0x80000000, 0x80010000),
                         gate_page=0x8000F000)
    root = pt.new_root()                   # root + the gate's leaf table
    assert root and pt.alloc_frame() == 0x87002000
    assert pt.alloc_frame() is None and pt.new_root() == 0
    pt.free_frame(0x87002000)
    pt.take_writes()
    assert pt.alloc_frame() == 0x87002000
    assert _entries(pt.take_writes(), 4) == {0x87002000 + 4 * i: 0 for i in range(1024)}
    pt.map(root, 1 << 32, 0x80900000, 12, 7)     # beyond Sv32: ignored, never raises


@pytest.mark.parametrize("xlen", [32, 64])
def test_device_page_in_no_space_until_a_driver_gets_it(xlen):
    from l4gdb_riscv.pagetables import RiscvPageTables

    lay = l4gdb_memory_layout(arch="riscv")
    dev = lay["device_page"]
    pt = RiscvPageTables(xlen, pool=(0x87000000, 0x87100000), kernel_image=(0x80000000, 0x80010000),
                         gate_page=lay["gate_page"], device_page=dev)
    a, b = pt.new_root(), pt.new_root()
    assert pt.translate(a, dev) is None and pt.translate(b, dev) is None
    assert pt.device_areas == () and pt.driver_pages == ((dev, dev + 0x1000),)
    assert not any(lo <= dev < hi for lo, hi in pt.kernel_areas)
    pt.map(a, dev, dev, 12, 6)                       # sigma0's mapping for the driver
    assert pt.translate(a, dev + 0x1c) == (dev + 0x1c, 6) and pt.translate(b, dev) is None


# --- L4 calls and Linux calls share `ecall` and a7 (issue 17) ------------------------
@pytest.mark.parametrize("arch,fmt,bits", [("riscv", "I", 32), ("riscv64", "Q", 64)])
@pytest.mark.parametrize("a7", [1, 7, 13, 0xFFF, 56, 139, 0x4C33_FFFF, 0x4C35_0001])
def test_untagged_numbers_are_never_l4_calls(arch, fmt, bits, a7):
    g = l4gdb_trap_glue(arch=arch, symbols=SYMS)
    words = [1, a7, 0, 8] + [0] * (ENTRY_WORDS - 4)
    t = g.decode(struct.pack(f"<{ENTRY_WORDS}{fmt}", *words))
    assert t.kind is TrapKind.SYSCALL
    assert t.number not in {int(n) for n in Syscall} and t.number != PREEMPT_NUMBER
    assert t.number & ((1 << bits) - 1) == a7      # the exception message's number is a7
    assert not g.is_preempt_entry(t)


@pytest.mark.parametrize("arch,fmt", [("riscv", "I"), ("riscv64", "Q")])
def test_tagged_numbers_are_l4_calls(arch, fmt):
    g = l4gdb_trap_glue(arch=arch, symbols=SYMS)
    for n in range(1, 14):
        words = [1, L4_TAG | n, 0, 8] + [0] * (ENTRY_WORDS - 4)
        assert g.decode(struct.pack(f"<{ENTRY_WORDS}{fmt}", *words)).number == n
    # RV64: the tag must be the whole register (upper half zero)
    if fmt == "Q":
        words = [1, 1 << 40 | L4_TAG | 5, 0, 8] + [0] * (ENTRY_WORDS - 4)
        assert g.decode(struct.pack(f"<{ENTRY_WORDS}Q", *words)).number != 5


def test_guest_sources_tag_l4_calls():
    """libl4's number register, the gate and crt0's KDebug exit carry the tag the glue
    decodes (one value in three places)."""
    hdr = (GUEST / "include/l4/arch/syscalls.h").read_text()
    assert re.search(r"#define L4_RISCV_TAG (0x[0-9a-f]+)UL", hdr).group(1) == hex(L4_TAG)
    assert re.search(r"#define __L4_NR\(n\).*= \(n\) \| L4_RISCV_TAG", hdr)
    stub = (GUEST / "kernel.S").read_text()
    assert f"#define L4_TAG {L4_TAG:#x}" in stub
    assert "li      a7, L4_TAG | PREEMPT_NUMBER" in stub
    assert f"li      a7, {L4_TAG:#x} | 13" in (GUEST / "crt0.S").read_text()


@pytest.mark.parametrize("arch,fmt", [("riscv", "I"), ("riscv64", "Q")])
def test_linux_thread_keeps_its_tp(arch, fmt):
    """A Linux program sets tp itself: the exit block's tls word (what the return
    path loads into tp) is the thread's tp; an L4 thread gets its UTCB address."""
    g = l4gdb_trap_glue(arch=arch, symbols=SYMS)
    regs = {r: 0 for r in USER_REGS}
    regs["tp"] = 0x1234_5670
    tls_index = len(USER_REGS)
    size = struct.calcsize(fmt)
    linux, _ = g.encode_exit(Resume(thread=1, regs=regs, utcb_addr=0x80040200, tls=0,
                                    tls_user=True))
    assert struct.unpack_from(f"<{fmt}", linux, tls_index * size)[0] == 0x1234_5670
    l4, _ = g.encode_exit(Resume(thread=1, regs=regs, utcb_addr=0x80040200, tls=0x80040200))
    assert struct.unpack_from(f"<{fmt}", l4, tls_index * size)[0] == 0x80040200
    fresh, _ = g.encode_exit(Resume(thread=1, regs={"pc": 4}, tls=0, tls_user=True))
    assert struct.unpack_from(f"<{fmt}", fresh, tls_index * size)[0] == 0   # exec: tp = 0
