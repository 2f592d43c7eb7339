"""Bit-level codecs: thread ids, tags, timeouts, fpages, error codes, write merging."""

import random

import pytest

from l4gdb.kernel.types import (
    NEVER,
    ZERO_TIME,
    Fpage,
    IpcError,
    MsgTag,
    ThreadId,
    Timeout,
    any_local_thread,
    any_thread,
    ipc_error_code,
    is_any,
    is_anylocal,
    is_global_id,
    is_local_id,
    kernel_label,
    split_timeouts,
)
from l4gdb.kernel.utcb import merge_writes


@pytest.mark.parametrize("bits", [32, 64])
def test_thread_id_round_trip(bits):
    rng = random.Random(bits)
    vb = 14 if bits == 32 else 32
    for _ in range(2000):
        no = rng.randrange(1 << (bits - vb))
        ver = rng.randrange(1, 1 << vb)
        raw = ThreadId(no, ver).raw(bits)
        assert raw == (no << vb) | ver
        assert ThreadId.from_raw(raw, bits) == ThreadId(no, ver)


@pytest.mark.parametrize("bits", [32, 64])
def test_special_ids(bits):
    assert is_any(any_thread(bits), bits)
    assert is_anylocal(any_local_thread(bits), bits)
    assert not is_local_id(any_local_thread(bits), bits)
    assert not is_global_id(any_thread(bits), bits)
    assert not is_global_id(0, bits) and not is_local_id(0, bits)
    assert is_local_id(0x4004_0000, bits) and not is_global_id(0x4004_0000, bits)
    assert is_global_id(ThreadId(98, 1).raw(bits), bits)


@pytest.mark.parametrize("bits", [32, 64])
def test_msgtag_round_trip(bits):
    rng = random.Random(7 + bits)
    for _ in range(3000):
        raw = rng.getrandbits(bits)
        tag = MsgTag.from_raw(raw)
        assert tag.raw(bits) == raw
        assert tag.u == raw & 63 and tag.t == (raw >> 6) & 63
        assert tag.error == bool(raw & 0x8000)


def test_kernel_labels():
    assert kernel_label(6, 32) == 0xFFA0
    assert kernel_label(2, 64) == 0xFFFF_FFFF_FFE0
    assert (MsgTag(label=kernel_label(1, 32)).raw(32) >> 20) == 0xFFF


def test_every_16_bit_timeout_decodes():
    for raw in range(1 << 16):
        t = Timeout(raw)
        us = t.us
        if raw == NEVER:
            assert us is None and t.is_never
        else:
            assert us is not None and us >= 0
            if not t.is_point:
                assert us == (raw & 0x3FF) << ((raw >> 10) & 0x1F)
    assert Timeout(ZERO_TIME).is_zero


def test_period_encoding_is_close():
    rng = random.Random(3)
    for _ in range(3000):
        us = rng.randrange(1, 1 << 40)
        enc = Timeout.period(us)
        got = Timeout(enc).us
        assert got <= us and got > us / 2 - 1
    assert Timeout.period(None) == NEVER
    assert Timeout(Timeout.period(0)).is_zero


def test_split_timeouts():
    snd, rcv = split_timeouts((ZERO_TIME << 16) | 0)
    assert snd.is_zero and rcv.is_never


@pytest.mark.parametrize("bits", [32, 64])
def test_fpage(bits):
    rng = random.Random(bits)
    for _ in range(2000):
        s = rng.randrange(10, bits)
        base = rng.getrandbits(bits) & ~((1 << s) - 1)
        fp = Fpage(base, s, rng.randrange(8))
        back = Fpage.from_raw(fp.raw(bits))
        assert back == fp
        assert back.contains(base, base + (1 << s))
    assert Fpage.from_raw(0).is_nil


def test_ipc_error_codes():
    assert ipc_error_code(IpcError.Timeout, 0) == 2
    assert ipc_error_code(IpcError.Timeout, 1) == 3
    assert ipc_error_code(IpcError.NonExisting, 0) == 4
    assert ipc_error_code(IpcError.Cancelled, 1) == 7
    assert ipc_error_code(IpcError.Overflow, 1, offset=5) == (5 << 4) | 9


def test_merge_writes_matches_sequential_application():
    rng = random.Random(11)
    for _ in range(400):
        recs = []
        for _ in range(rng.randrange(1, 8)):
            addr = rng.randrange(0, 64)
            recs.append((addr, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 12)))))
        ref = {}
        for a, d in recs:
            for i, b in enumerate(d):
                ref[a + i] = b
        merged = merge_writes(recs)
        got = {}
        for a, d in merged:
            for i, b in enumerate(d):
                assert a + i not in got
                got[a + i] = b
        assert got == ref
        ends = [(a, a + len(d)) for a, d in merged]
        assert all(e1 < s2 for (_, e1), (s2, _) in zip(ends, ends[1:], strict=False))
