"""The ARM trap codec against the block layouts of docs/internals.md §3."""

from __future__ import annotations

import struct

import pytest
from glue_checks import (
    check_exit_block_overflow_goes_to_leftover,
    check_preempt_entry_is_recognised,
    check_random_blocks_never_raise,
    entry_block,
)
from l4gdb_arm.plugin import ARM_INFO, PREEMPT_SVC, USER_REGS, l4gdb_trap_glue

from l4gdb.archkit.trapblocks import MARK_KIND as NOT_IN_KERNEL
from l4gdb.archkit.trapblocks import BlockTrapGlue
from l4gdb.kernel.abi import Resume, TrapKind
from l4gdb.testing.exitblock import copy_records

ENTRY_WORDS = 24 + 128

SYMS = {"l4k_trap_bp": 0x400001AC, "l4k_entry_block": 0x40001000, "l4k_exit_block": 0x40001280,
        "l4k_return": 0x400001B0, "l4k_kernel_end": 0x40003000, "l4k_preempt_gate": 0x40000274,
        "_start": 0x40000000}


def glue() -> BlockTrapGlue:
    return l4gdb_trap_glue(arch="arm", symbols=SYMS)


def entry(kind: int, detail: int = 0, far: int = 0, fsr: int = 0, regs=None, utcb=0) -> bytes:
    return entry_block(ENTRY_WORDS, 2, USER_REGS, kind, detail, far, fsr, regs, utcb)


def test_other_arch_is_not_ours():
    assert l4gdb_trap_glue(arch="mips", symbols=SYMS) is None


def test_missing_symbol_is_refused():
    with pytest.raises(ValueError, match="l4k_return"):
        l4gdb_trap_glue(arch="arm", symbols={k: v for k, v in SYMS.items() if k != "l4k_return"})


def test_kernel_range_covers_the_vectors():
    g = l4gdb_trap_glue(arch="arm", symbols={**SYMS, "l4k_vectors": 0x40000000,
                                             "_start": 0x40000274})
    assert g.in_kernel(0x40000008) and g.in_kernel(0x40000274) and not g.in_kernel(0x40100000)


def test_not_in_kernel_block_decodes_to_none():
    assert glue().decode(entry(NOT_IN_KERNEL)) is None


def test_boot():
    assert glue().decode(entry(0)).kind is TrapKind.BOOT


def test_svc_carries_number_regs_and_utcb():
    t = glue().decode(entry(1, detail=7, utcb=0x40040000))
    assert t.kind is TrapKind.SYSCALL and t.number == 7
    assert t.regs["r0"] == 100 and t.regs["cpsr"] == 100 + 16
    assert t.utcb_addr == 0x40040000 and len(t.utcb) == 512
    assert struct.unpack_from("<I", t.utcb, 4)[0] == 3


def test_no_utcb_copy():
    assert glue().decode(entry(1, detail=1, utcb=0)).utcb is None


@pytest.mark.parametrize("kind,fsr,access", [(3, 0, 1), (4, 0, 4), (4, 1 << 11, 2)])
def test_aborts_are_page_faults(kind, fsr, access):
    t = glue().decode(entry(kind, far=0xDEAD000, fsr=fsr))
    assert t.kind is TrapKind.PAGEFAULT and t.fault_addr == 0xDEAD000 and t.fault_access == access


def test_undefined_instruction():
    t = glue().decode(entry(2, detail=0xE7F000F0))
    assert t.kind is TrapKind.EXCEPTION and t.number == 1 and t.detail["insn"] == 0xE7F000F0


def test_preempt_entry_is_recognised():
    g = glue()
    check_preempt_entry_is_recognised(g, entry, PREEMPT_SVC)


def test_exit_block_layout_and_copy_records():
    regs = {r: 0x1000 + i for i, r in enumerate(USER_REGS)}
    regs["cpsr"] = 0x600001D3          # a kernel mode must never reach user
    res = Resume(thread=1, regs=regs, utcb_addr=0x40040200, tls=0x40040200,
                 writes=[(0x40040000, b"\x01\x00\x00\x00" * 3)])
    block, leftover = glue().encode_exit(res)
    w = struct.unpack(f"<{len(block) // 4}I", block)
    assert w[0] == 0x1000 and w[15] == regs["pc"]
    assert w[16] == 0x60000010
    assert w[17] == 0x40040200 and w[18] == 0x40040200 and w[19] == 0
    assert w[20] == 1 and w[21] == 0x40040000 and w[22] == 3 and w[23:26] == (1, 1, 1)
    assert leftover == []


def test_exit_block_overflow_goes_to_leftover():
    check_exit_block_overflow_goes_to_leftover(glue(), far=0x40010000, utcb=0x40040000,
                                               ncopy_word=20)


def test_random_blocks_never_raise():
    check_random_blocks_never_raise(glue(), ENTRY_WORDS, kinds=range(7), seed=7)


def _interrupt_entry(irq: int, counter: int) -> bytes:
    block = bytearray(entry(5, irq))
    struct.pack_into("<II", block, 22 * 4, counter & 0xFFFFFFFF, counter >> 32)
    return bytes(block)


def test_interrupt_entry_carries_irq_and_counter():
    trap = glue().decode(_interrupt_entry(27, (5 << 32) | 7))
    assert trap.kind is TrapKind.INTERRUPT and trap.number == 27
    assert trap.detail["counter"] == (5 << 32) | 7


def test_guest_timer_block_and_clock():
    from l4gdb_arm.plugin import l4gdb_guest_timer

    assert l4gdb_guest_timer(arch="arm", symbols=SYMS) is None       # old image: no timer
    syms = {**SYMS, "l4k_timer_block": 0x40001900, "l4k_idle": 0x40000300}
    timer = l4gdb_guest_timer(arch="arm", symbols=syms)
    assert l4gdb_guest_timer(arch="mips", symbols=syms) is None
    freq = struct.pack("<I", 62_500_000)
    writes = timer.start(lambda addr, n: freq if addr == 0x40001908 else bytes(n), 10_000)
    assert writes == [(0x40001900, struct.pack("<II", 625_000, 1))]
    assert timer.time_us(glue().decode(_interrupt_entry(27, 62_500_000))) == 1_000_000
    (addr, data), = timer.irq_writes([30, 33], [5])
    assert addr == 0x4000190C
    assert struct.unpack("<5I", data) == (1, 1 << 30, 1 << 1, 1 << 5, 0)
    assert 30 in timer.valid_irqs() and 64 not in timer.valid_irqs()


def test_guest_timer_skip_write():
    from l4gdb_arm.plugin import l4gdb_guest_timer

    syms = {**SYMS, "l4k_timer_block": 0x40001900, "l4k_idle": 0x40000300}
    timer = l4gdb_guest_timer(arch="arm", symbols=syms)
    assert timer.skip_write(3) == (0x40001920, struct.pack("<I", 3))
    assert timer.skip_write(-1) == (0x40001920, struct.pack("<I", 0))
    assert timer.skip_write(1 << 40) == (0x40001920, struct.pack("<I", 0xFFFFFFFF))


# --- what Linux programs need: the FPU switch and TPIDRURO (docs/internals.md §3.4) ----
FPU_NEXT = 0x400048C4


def test_fpu_area_is_d0_to_d31_and_fpscr():
    assert ARM_INFO.fpu_area_size == 32 * 8 + 8


def test_fpu_next_is_written_only_when_the_area_changes():
    g = l4gdb_trap_glue(arch="arm", symbols={**SYMS, "l4k_fpu_next": FPU_NEXT})
    linux = Resume(thread=1, regs={}, tls=0x7E570000, tls_user=True, fpu_area=0xC0106000)
    l4 = Resume(thread=2, regs={}, tls=0x40040200)
    assert copy_records(g, g.encode_exit(l4)[0]) == {}                 # 0 at boot already
    assert copy_records(g, g.encode_exit(linux)[0]) == {FPU_NEXT: struct.pack("<I", 0xC0106000)}
    assert copy_records(g, g.encode_exit(linux)[0]) == {}              # unchanged: no record
    # An L4 thread in between leaves the FPU alone (next = 0, the stub keeps "loaded").
    assert copy_records(g, g.encode_exit(l4)[0]) == {FPU_NEXT: bytes(4)}
    assert copy_records(g, g.encode_exit(linux)[0]) == {FPU_NEXT: struct.pack("<I", 0xC0106000)}


def test_image_without_fpu_switch_gets_no_record():
    block, _ = glue().encode_exit(Resume(thread=1, regs={}, fpu_area=0xC0106000))
    assert copy_records(glue(), block) == {}


@pytest.mark.parametrize("tls", [0, 0x7E570000, 0xFFFF0FFF, 0xFFFFFFFF])
def test_tpidruro_carries_any_linux_value(tls):
    block, _ = glue().encode_exit(Resume(thread=1, regs={}, tls=tls, tls_user=True))
    assert struct.unpack_from("<I", block, 17 * 4)[0] == tls
