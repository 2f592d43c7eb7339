"""The shared guest-timer block (l4gdb.archkit.guesttimer) and the timers of the x86, MIPS
and RISC-V plugins that use it: the writes the host sends, the clock it reads
from the entry block, the lines that exist."""

from __future__ import annotations

import struct

import pytest

from l4gdb.archkit.guesttimer import TB_FREQ, TB_OPS, TB_SKIP, BlockGuestTimer, CounterTrapGlue
from l4gdb.archkit.trapblocks import EntryKinds
from l4gdb.kernel.abi import Trap, TrapKind

KINDS = EntryKinds(boot=0, syscall=1, exception=2, prefetch_fault=3, data_fault=4,
                   interrupt=(5,))
REGS = ("r0", "r1", "pc", "sp")


def timer(**kw) -> BlockGuestTimer:
    args = dict(tick_irq=7, block_addr=0x1000, idle_pc=0x2000, default_freq=1_000_000,
                lines=range(32))
    return BlockGuestTimer(**{**args, **kw})


def test_start_reads_the_stubs_frequency_and_arms_one_tick():
    t = timer()
    mem = {0x1000 + TB_FREQ: struct.pack("<I", 10_000_000)}
    writes = t.start(lambda addr, n: mem.get(addr, bytes(n)), tick_us=10_000)
    assert writes == [(0x1000, struct.pack("<II", 100_000, 1))]     # tick, arm
    assert t.freq == 10_000_000
    t2 = timer()                                   # the stub stored none: the default
    assert t2.start(lambda addr, n: bytes(n), 10_000) == [(0x1000, struct.pack("<II", 10_000, 1))]


def test_time_from_the_counter():
    t = timer(default_freq=160_000_000)
    t.start(lambda addr, n: bytes(n), 10_000)
    assert t.time_us(Trap(TrapKind.SYSCALL, detail={"counter": 160_000_000 * 3})) == 3_000_000
    assert t.time_us(Trap(TrapKind.SYSCALL)) is None


def test_irq_writes_two_words_of_lines_and_skip_is_capped():
    t = timer(max_skip=100)
    [(addr, data)] = t.irq_writes([0, 33, 99], [8])
    assert addr == 0x1000 + TB_OPS
    assert struct.unpack("<5I", data) == (1, 1, 1 << 1, 1 << 8, 0)   # 99: no such line
    assert t.skip_write(5) == (0x1000 + TB_SKIP, struct.pack("<I", 5))
    assert t.skip_write(10**9)[1] == struct.pack("<I", 100)
    assert t.skip_write(-3)[1] == struct.pack("<I", 0)
    assert t.valid_irqs() == range(32)


def glue(size: int) -> CounterTrapGlue:
    # entry block: 4 header words, 4 registers, utcb address, pad to 16, 128 UTCB words;
    # the counter in words 10..11 (padding)
    return CounterTrapGlue(regs=REGS, word_size=4, kinds=KINDS, bp_addr=0, entry_block_addr=0,
                           exit_block_addr=0, return_addr=0, kernel_low=0, kernel_high=0,
                           preempt_addr=0, preempt_number=0xFF, ip_reg="pc",
                           sanitize=lambda r: r, counter_offset=40, counter_size=size)


def block(kind: int, counter: int, size: int) -> bytes:
    words = [kind, 0, 0, 0, 1, 2, 3, 4, 0, 0] + [0] * 6 + [0] * 128
    data = bytearray(struct.pack(f"<{len(words)}I", *words))
    struct.pack_into("<Q" if size == 8 else "<I", data, 40, counter)
    return bytes(data)


def test_counter_64_bits():
    g = glue(8)
    assert g.decode(block(1, 1 << 40, 8)).detail["counter"] == 1 << 40


def test_counter_32_bits_counts_the_wraps():
    g = glue(4)
    assert "counter" not in g.decode(block(0, 0, 4)).detail         # boot: no clock yet
    assert g.decode(block(1, 0xFFFF_FF00, 4)).detail["counter"] == 0xFFFF_FF00
    assert g.decode(block(5, 0x10, 4)).detail["counter"] == (1 << 32) + 0x10
    assert g.decode(block(1, 0x20, 4)).detail["counter"] == (1 << 32) + 0x20


def test_no_counter_word_no_clock():
    g = glue(8)
    g.counter_offset = 0
    assert "counter" not in g.decode(block(1, 5, 8)).detail


SYMS_X86 = {"l4k_trap_bp": 0x102000, "l4k_entry_block": 0x104000, "l4k_exit_block": 0x104400,
            "l4k_return": 0x102004, "l4k_kernel_end": 0x108000, "l4k_preempt_gate": 0x100010,
            "l4k_timer_block": 0x104a00, "l4k_idle": 0x102100}


@pytest.mark.parametrize("arch,module,tick_irq,device_line,freq", [
    ("x86", "l4gdb_x86.plugin", 0, 8, 1_193_182),
    ("mips", "l4gdb_mips.plugin", 7, 16, 160_000_000),
    ("riscv", "l4gdb_riscv.plugin", 7, 43, 10_000_000),
    ("riscv64", "l4gdb_riscv.plugin", 7, 43, 10_000_000),
])
def test_arch_timers(arch, module, tick_irq, device_line, freq):
    mod = pytest.importorskip(module)
    syms = dict(SYMS_X86)
    if arch == "mips":
        syms = {k: v | 0x80000000 for k, v in syms.items()}
        syms["l4k_preempt_gate"] = 0x80010000
    if arch.startswith("riscv"):
        syms = {k: (v & 0xFFFFF) | 0x80000000 for k, v in syms.items()}
        syms["l4k_preempt_gate"] = 0x8000F000
    t = mod.l4gdb_guest_timer(arch=arch, symbols=syms)
    assert isinstance(t, BlockGuestTimer)
    assert t.tick_irq == tick_irq and t.default_freq == freq
    assert device_line in t.valid_irqs() and t.block_addr == syms["l4k_timer_block"]
    assert t.idle_pc == syms["l4k_idle"]
    assert mod.l4gdb_guest_timer(arch="arm", symbols=syms) is None
    no_timer = {k: v for k, v in syms.items() if k != "l4k_timer_block"}
    assert mod.l4gdb_guest_timer(arch=arch, symbols=no_timer) is None
    g = mod.l4gdb_trap_glue(arch=arch, symbols=syms)
    assert g.counter_offset and g.counter_size in (4, 8)
    if arch == "riscv":
        assert g.counter_size == 4 and t.max_skip * 10_000 * 10 < 1 << 32   # < one wrap
    assert mod.l4gdb_trap_glue(arch=arch, symbols=no_timer).counter_offset == 0
