"""The KIP page the kernel writes at boot (contract §6)."""

import pytest
from fake_target import ARCH32, ARCH64, KIP, RAM, FakeMachine

from l4gdb.kernel.abi import Syscall


def field(m, off32):
    return m.word(KIP + off32 * (m.ws // 4))


@pytest.mark.parametrize("arch", [ARCH32, ARCH64], ids=["32", "64"])
def test_kip_fields(arch):
    m = FakeMachine(arch)
    ws = m.ws
    assert m.mem.read(KIP, 4) == b"L4\xe6K"
    assert field(m, 0x04) >> 24 == 0x84
    assert (field(m, 0x08) >> 2) & 3 == (1 if ws == 8 else 0)
    desc = KIP + field(m, 0x0C)
    assert m.word(desc) == arch.kernel_id
    assert m.mem.read(desc + 3 * ws, 4) == b"UKa "
    strings = m.mem.read(desc + 4 * ws, 64)
    assert strings.startswith(b"l4gdb\0l4gdb-host\0\0")
    info = field(m, 0xC4)
    assert info & 0xFF == (18 if ws == 4 else 32)
    assert (info >> 8) & 0xFFF == 64 and (info >> 20) & 0xFFF == 96
    utcb = field(m, 0xA8)
    m_, a, s = utcb & 0x3FF, (utcb >> 10) & 0x3F, (utcb >> 16) & 0x3F
    assert m_ << a == 128 * ws and s >= a
    assert field(m, 0xAC) & 0x3F == 12
    assert field(m, 0xC8) >> 10 & 1 << 2          # 4 KiB pages
    meminfo = field(m, 0x54)
    n, ptr = meminfo & ((1 << (4 * ws)) - 1), meminfo >> (4 * ws)
    assert n == 3
    lo_word = m.word(KIP + ptr)
    hi_word = m.word(KIP + ptr + ws)
    assert lo_word & 0xF == 1 and lo_word & ~0x3FF == RAM
    assert (hi_word & ~0x3FF) + 0x3FF == RAM + 0x0800_0000 - 1
    m.syscall(Syscall.KernelInterface)
    assert m.result(0) == KIP and m.result(1) == field(m, 0x04)
    assert m.result(2) == field(m, 0x08) and m.result(3) == arch.kernel_id
