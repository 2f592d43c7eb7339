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


@pytest.mark.parametrize("arch", [ARCH32, ARCH64], ids=["32", "64"])
def test_kip_utcb_area_info_meaning(arch):
    """UtcbAreaInfo: UTCB size m * 2^a; 2^s is the smallest UTCB area SpaceControl takes.

    An area is an fpage (at least 2^10 bytes) and is mapped page by page, so s
    is at least the smallest page size and the area holds at least one UTCB.
    """
    m = FakeMachine(arch)
    info = field(m, 0xA8)
    mult, a, s = info & 0x3FF, (info >> 10) & 0x3F, (info >> 16) & 0x3F
    utcb_size = mult << a
    page_mask = field(m, 0xC8) & ~0x3FF
    smallest_page = (page_mask & -page_mask).bit_length() - 1
    assert utcb_size == 128 * m.ws
    assert m.utcb_addr % (1 << a) == 0
    assert s >= 10 and s >= smallest_page and (1 << s) >= utcb_size


def test_space_control_accepts_the_minimal_utcb_area():
    from fake_target import ARCH32 as arch

    from l4gdb.kernel.types import Error, Fpage
    from l4gdb.kernel.utcb import Tcr

    m = FakeMachine(arch)
    s = (field(m, 0xA8) >> 16) & 0x3F
    t = m.tid(300)
    assert m.thread_control(t, t, m.root, 0, arch.word_mask) == 1
    bits = arch.word_bits
    m.syscall(Syscall.SpaceControl, t, 0, Fpage(KIP, 12).raw(bits),
              Fpage(RAM + 0x40_0000, s - 1).raw(bits), 0)
    assert m.result() == 0 and m.tcr(Tcr.ErrorCode) == Error.UtcbArea
    m.syscall(Syscall.SpaceControl, t, 0, Fpage(KIP, 12).raw(bits),
              Fpage(RAM + 0x40_0000, s).raw(bits), 0)
    assert m.result() == 1
