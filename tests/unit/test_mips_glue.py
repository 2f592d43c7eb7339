"""The MIPS trap codec against the block layouts of docs/internals.md §3 and §4 "MIPS"."""

from __future__ import annotations

import struct

import pytest
from glue_checks import (
    check_exit_block_overflow_goes_to_leftover,
    check_preempt_entry_is_recognised,
    check_random_blocks_never_raise,
    entry_block,
)

pytest.importorskip("l4gdb_mips.plugin")

from l4gdb_mips.plugin import (  # noqa: E402
    MIPS_INFO,
    PREEMPT_NUMBER,
    USER_REGS,
    l4gdb_arch_info,
    l4gdb_gdb_setup,
    l4gdb_guest_toolchain,
    l4gdb_memory_layout,
    l4gdb_qemu_setup,
    l4gdb_trap_glue,
    target_xml,
)

from l4gdb.archkit.trapblocks import MARK_KIND as NOT_IN_KERNEL  # noqa: E402
from l4gdb.archkit.trapblocks import BlockTrapGlue  # noqa: E402
from l4gdb.kernel.abi import Resume, TrapKind  # noqa: E402
from l4gdb.target.rsp import parse_target_xml  # noqa: E402
from l4gdb.target.stub import GdbStub  # noqa: E402
from l4gdb.testing.exitblock import copy_records  # noqa: E402

# 4 header words, 36 registers, utcb address, padding to 48, 128 UTCB words
ENTRY_WORDS = 48 + 128
EXIT_HEADER = 36 + 4

SYMS = {"l4k_vectors": 0x80000000, "l4k_trap_bp": 0x800112F8,
        "l4k_entry_block": 0x80012040, "l4k_exit_block": 0x80012300,
        "l4k_return": 0x800112FC, "l4k_kernel_end": 0x80013000,
        "l4k_preempt_gate": 0x80010000, "_start": 0x800115E4}


def glue() -> BlockTrapGlue:
    return l4gdb_trap_glue(arch="mips", symbols=SYMS)


def cause(exc: int, bd: bool = False) -> int:
    return (exc << 2) | (1 << 31 if bd else 0)


def entry(kind: int, detail: int = 0, far: int = 0, fsr: int = 0, regs=None, utcb=0) -> bytes:
    return entry_block(ENTRY_WORDS, 7, USER_REGS, kind, detail, far, fsr, regs, utcb)


def test_other_arch_is_not_ours():
    for hook in (l4gdb_arch_info, l4gdb_qemu_setup, l4gdb_gdb_setup, l4gdb_guest_toolchain,
                 l4gdb_memory_layout):
        assert hook(arch="arm") is None
    assert l4gdb_trap_glue(arch="arm", symbols=SYMS) is None


def test_arch_info_abi():
    assert l4gdb_arch_info(arch="mips") is MIPS_INFO
    assert MIPS_INFO.syscall_arg_regs == ("r4", "r5", "r6", "r7", "r8", "r9", "r10")
    assert MIPS_INFO.syscall_result_regs == MIPS_INFO.syscall_arg_regs
    assert MIPS_INFO.sp_reg == "r29" and MIPS_INFO.ip_reg == "pc"
    assert l4gdb_guest_toolchain(arch="mips").elf_machine == "EM_MIPS"
    assert l4gdb_qemu_setup(arch="mips").binary == "qemu-system-mipsel"


def test_missing_symbol_is_refused():
    with pytest.raises(ValueError, match="l4k_return"):
        l4gdb_trap_glue(arch="mips", symbols={k: v for k, v in SYMS.items() if k != "l4k_return"})


def test_blocks_are_in_kseg0_with_a_physical_alias_for_user_mode_stops():
    g = glue()
    assert g.entry_block_addr == 0x80012040 and g.exit_block_addr == 0x80012300
    assert g.entry_block_paddr == 0x00012040
    assert g.bp_addr == 0x800112F8 and g.return_addr == 0x800112FC
    assert g.in_kernel(0x80010000) and not g.in_kernel(0x00400000)
    assert g.entry_block_size == ENTRY_WORDS * 4


def test_gate_off_its_wired_page_is_refused():
    with pytest.raises(ValueError, match="preemption gate"):
        l4gdb_trap_glue(arch="mips", symbols={**SYMS, "l4k_preempt_gate": 0x8001034C})


def test_not_in_kernel_block_decodes_to_none():
    assert glue().decode(entry(NOT_IN_KERNEL)) is None


def test_boot():
    assert glue().decode(entry(0)).kind is TrapKind.BOOT


def test_syscall_carries_number_regs_and_utcb():
    t = glue().decode(entry(1, detail=7, fsr=cause(8), utcb=0x40000))
    assert t.kind is TrapKind.SYSCALL and t.number == 7
    assert t.regs["r0"] == 100 and t.regs["r4"] == 104 and t.regs["status"] == 100 + 35
    assert t.regs["pc"] == 100 + 34
    assert t.utcb_addr == 0x40000 and len(t.utcb) == 512
    assert struct.unpack_from("<I", t.utcb, 4)[0] == 3


def test_no_utcb_copy():
    assert glue().decode(entry(1, detail=1, utcb=0)).utcb is None


@pytest.mark.parametrize("kind,exc,access", [(3, 2, 1), (4, 2, 4), (4, 3, 2), (4, 1, 2)])
def test_tlb_faults_are_page_faults(kind, exc, access):
    t = glue().decode(entry(kind, detail=exc, far=0x10000000, fsr=cause(exc)))
    assert t.kind is TrapKind.PAGEFAULT and t.fault_addr == 0x10000000
    assert t.fault_access == access


@pytest.mark.parametrize("exc", [4, 5, 9, 10, 13])
def test_other_exceptions(exc):
    t = glue().decode(entry(2, detail=exc, far=0x80000000, fsr=cause(exc)))
    assert t.kind is TrapKind.EXCEPTION and t.number == exc
    assert t.detail["far"] == 0x80000000


def test_preempt_entry_is_recognised():
    g = glue()
    check_preempt_entry_is_recognised(g, entry, PREEMPT_NUMBER)


def test_enter_kernel_uses_the_gates_kuseg_alias():
    regs = {r: 1 for r in USER_REGS}
    regs["status"] = 0x13              # EXL/IE must not survive
    out = glue().enter_kernel(regs)
    assert out["pc"] == 0x00010000 and out["status"] == 0x20000010     # KSU user, CU1


def test_exit_block_layout_and_copy_records():
    regs = {r: 0x1000 + i for i, r in enumerate(USER_REGS)}
    regs["status"] = 0x1000FF13        # kernel bits must never reach the block
    res = Resume(thread=1, regs=regs, utcb_addr=0x40200, tls=0x40200, space_root=5,
                 writes=[(0x40000, b"\x01\x00\x00\x00" * 3)])
    block, leftover = glue().encode_exit(res)
    w = struct.unpack(f"<{len(block) // 4}I", block)
    assert w[0] == 0x1000 and w[4] == 0x1004 and w[31] == 0x1000 + 31
    assert w[32:35] == (0x1000 + 32, 0x1000 + 33, 0x1000 + 34)     # lo, hi, pc
    assert w[35] == 0x20000010                 # KSU user, CU1 (the FPU)
    assert w[36] == 0x40200 and w[37] == 0x40200 and w[38] == 5
    assert w[39] == 1 and w[40] == 0x40000 and w[41] == 3 and w[42:45] == (1, 1, 1)
    assert leftover == []


def test_exit_block_overflow_goes_to_leftover():
    check_exit_block_overflow_goes_to_leftover(glue(), far=0x20000, utcb=0x40000,
                                               ncopy_word=EXIT_HEADER - 1)


def test_random_blocks_never_raise():
    check_random_blocks_never_raise(glue(), ENTRY_WORDS, kinds=range(6), seed=7)


def test_target_description_matches_qemus_g_order():
    arch, regs = parse_target_xml({"target.xml": target_xml()}.__getitem__)
    by_num = {r.regnum: r.name for r in regs}
    assert arch == "mips:isa32r2"
    assert [by_num[i] for i in range(38)] == [
        *(f"r{i}" for i in range(32)), "status", "lo", "hi", "badvaddr", "cause", "pc"]
    assert by_num[38] == "f0" and by_num[70] == "fcsr" and by_num[71] == "fir"
    assert set(USER_REGS) <= set(by_num.values())


def test_host_stub_g_packet_has_no_holes():
    """GDB reads the host stub's ``g`` in regnum order: cp0's status, badvaddr and cause
    sit between lo/hi and pc, so they must be in it."""

    class Provider:
        def registers(self, tid):
            return {r: i for i, r in enumerate(USER_REGS)}

    stub = GdbStub(Provider(), {"target.xml": target_xml()})
    try:
        assert [r.name for r in stub._g_regs][32:] == [
            "status", "lo", "hi", "badvaddr", "cause", "pc"]
    finally:
        stub.close()


def test_host_reads_the_entry_block_physically_when_stopped_in_user_mode():
    from l4gdb.runtime.hostloop import HostLoop
    from l4gdb.target.errors import TargetError

    class Rsp:
        def __init__(self):
            self.calls = []

        def read_memory(self, addr, size, physical=False):
            self.calls.append((addr, physical))
            if not physical and addr >= 0x80000000:
                raise TargetError("E14")         # user mode: kseg0 is not translatable
            return entry(1, detail=7)

    rsp = Rsp()
    trap = HostLoop(MIPS_INFO, glue(), rsp, kernel=None, clock=None)._read_trap()
    assert trap.kind is TrapKind.SYSCALL and trap.number == 7
    assert rsp.calls == [(0x80012040, False), (0x00012040, True)]


# --- what Linux programs need: the FPU switch and rdhwr $29 (docs/internals.md §3.4) ----
def test_fpu_area_is_f0_to_f31_and_fcsr():
    assert MIPS_INFO.fpu_area_size == 33 * 4 + 4


def test_fpu_next_record_and_tls_word():
    fpu_next = 0x80012930
    g = l4gdb_trap_glue(arch="mips", symbols={**SYMS, "l4k_fpu_next": fpu_next})
    res = Resume(thread=1, regs={}, tls=0x7E570100, tls_user=True, fpu_area=0x80407000)
    block, _ = g.encode_exit(res)
    assert copy_records(g, block) == {fpu_next: struct.pack("<I", 0x80407000)}
    # word 36: the tls the return path keeps for rdhwr $29 (and loads into k1)
    assert struct.unpack_from("<I", block, 36 * 4)[0] == 0x7E570100
    assert copy_records(g, g.encode_exit(res)[0]) == {}
