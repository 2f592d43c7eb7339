"""The arch side of one stop (l4gdb.archkit.trappath): the guest clock taken from
entries, and the timer's writes (line operations, tick skip, idle wait) joined
to the exit the plugin's glue encodes."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pytest

from l4gdb.archkit.guesttimer import TB_OPS, TB_SKIP, BlockGuestTimer
from l4gdb.archkit.trappath import NO_DEADLINE_SKIP, TrapPath
from l4gdb.kernel.abi import ArchInfo, Resume, Trap, TrapKind
from l4gdb.kernel.clock import GuestClock

INFO = ArchInfo(name="fake32", word_size=4, reg_names=("r0", "pc", "sp", "cpsr"),
                ip_reg="pc", sp_reg="sp", flags_reg="cpsr", user_flags=0x10,
                flags_user_mask=0xF800_0000, syscall_arg_regs=("r0",) * 7,
                syscall_result_regs=("r0",) * 7)
TICK_IRQ, BLOCK, IDLE_PC = 7, 0x1000, 0x2000


@dataclass
class Glue:
    """Records what it is asked to encode; the block is the pc, the leftover one write."""

    encoded: list[Resume] = field(default_factory=list)
    exit_block_addr: int = 0x3000

    def decode(self, block: bytes) -> Trap | None:
        return Trap(TrapKind.SYSCALL, 1, detail={"counter": int.from_bytes(block, "little")})

    def encode_exit(self, resume: Resume) -> tuple[bytes, list[tuple[int, bytes]]]:
        self.encoded.append(resume)
        return struct.pack("<I", (resume.regs or {}).get("pc", 0)), [(0x4000, b"L")]


def path(timer: bool = True, **kw) -> tuple[TrapPath, Glue, GuestClock]:
    glue, clock = Glue(), GuestClock()
    t = BlockGuestTimer(tick_irq=TICK_IRQ, block_addr=BLOCK, idle_pc=IDLE_PC,
                        default_freq=1_000_000, lines=range(32)) if timer else None
    return TrapPath(INFO, glue, clock, t, **kw), glue, clock


def skip_of(writes: list[tuple[int, bytes]]) -> int:
    (data,) = [d for a, d in writes if a == BLOCK + TB_SKIP]
    return struct.unpack("<I", data)[0]


def test_the_clock_follows_the_counter_of_each_entry():
    p, _, clock = path()
    p.observe(p.decode((2_500_000).to_bytes(4, "little")))      # 1 MHz: 2.5 s
    assert clock.now_us() == 2_500_000
    p.observe(Trap(TrapKind.TIMER))                           # no counter: unchanged
    assert clock.now_us() == 2_500_000


def test_the_deterministic_clock_counts_tick_interrupts_only():
    p, _, clock = path(tick_clock=True)
    for _ in range(3):
        p.observe(Trap(TrapKind.INTERRUPT, TICK_IRQ, detail={"counter": 99_999_999}))
    p.observe(Trap(TrapKind.INTERRUPT, TICK_IRQ + 1))
    p.observe(Trap(TrapKind.SYSCALL, 1, detail={"counter": 99_999_999}))
    assert clock.now_us() == 3 * p.tick_us


@pytest.mark.parametrize("wake, now, skip", [(None, 0, NO_DEADLINE_SKIP),
                                             (100_000, 0, 9), (100_000, 95_000, 0),
                                             (100_000, 200_000, 0)])
def test_ticks_before_the_deadline_are_skipped(wake, now, skip):
    p, glue, clock = path()
    clock.observe(now)
    out = p.encode(Resume(thread=1, regs={"pc": 0x10}, wake_at_us=wake))
    assert skip_of(glue.encoded[0].writes) == skip          # rides in the exit block
    assert out.block == struct.pack("<I", 0x10) and not out.idle_in_stub


def test_no_skip_when_every_tick_must_enter_or_the_clock_counts_them():
    for kw in ({"tick_skip": False}, {"tick_clock": True}):
        p, glue, _ = path(**kw)
        p.encode(Resume(thread=1, regs={"pc": 0x10}))
        assert skip_of(glue.encoded[0].writes) == 0


def test_line_operations_go_before_the_exit():
    p, _, _ = path()
    out = p.encode(Resume(thread=1, regs={"pc": 0x10}, irq_unmask=(3, 40), irq_mask=(5,)))
    assert out.writes[0] == (BLOCK + TB_OPS, struct.pack("<5I", 1, 1 << 3, 1 << 8, 1 << 5, 0))
    assert out.writes[1:] == [(0x4000, b"L")]                  # then the glue's leftover


def test_nothing_to_run_waits_in_the_stub_with_the_writes():
    p, glue, _ = path()
    out = p.encode(Resume(thread=None, writes=[(0x5000, b"W")], wake_at_us=None))
    assert out.idle_in_stub and out.block == struct.pack("<I", IDLE_PC)
    sent = glue.encoded[0]
    assert sent.thread is None and (0x5000, b"W") in sent.writes and skip_of(sent.writes)


def test_without_a_timer_nothing_to_run_keeps_the_cpu_stopped():
    p, glue, _ = path(timer=False)
    out = p.encode(Resume(thread=None, writes=[(0x5000, b"W")]))
    assert out.block is None and out.writes == [(0x5000, b"W")] and not glue.encoded
    out = p.encode(Resume(thread=1, regs={"pc": 0x10}))
    assert out.block == struct.pack("<I", 0x10) and glue.encoded[0].writes == []
    assert p.start(lambda a, n: bytes(n)) == []
