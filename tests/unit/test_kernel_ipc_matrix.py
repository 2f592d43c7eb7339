"""Generated IPC matrix: receiver wait kind x sender space x send timeout x words."""

import pytest
from fake_target import ARCH32, ARCH64, FakeMachine, timeouts

from l4gdb.kernel.types import (
    ZERO_TIME,
    IpcError,
    MsgTag,
    Timeout,
    any_local_thread,
    any_thread,
    ipc_error_code,
)
from l4gdb.kernel.utcb import Tcr

SPECS = ["not-waiting", "any", "anylocal", "closed-global", "closed-local", "closed-other"]
REL = Timeout.period(3000)


@pytest.mark.parametrize("arch", [ARCH32, ARCH64], ids=["32", "64"])
@pytest.mark.parametrize("u", [0, 1, 17, 63])
@pytest.mark.parametrize("snd", ["never", "zero", "relative"])
@pytest.mark.parametrize("sender", ["same-space", "other-space"])
@pytest.mark.parametrize("spec", SPECS)
def test_ipc_matrix(arch, u, snd, sender, spec):
    bits = arch.word_bits
    m = FakeMachine(arch)
    a = m.spawn(100, prio=200)
    b = m.spawn(101, prio=150)
    x = m.spawn_space(120, prio=150)
    s = b if sender == "same-space" else x
    m.set_priority(m.root, 50)
    assert m.running == a
    spec_raw = {"any": any_thread(bits), "anylocal": any_local_thread(bits),
                "closed-global": s, "closed-other": m.root,
                "closed-local": m.utcb_of(s) if s == b else m.utcb_of(s) + 0x4_0000}.get(spec)
    if spec == "not-waiting":
        m.ipc(m.root, 0, 0)                    # A polls root instead of receiving
    else:
        m.ipc(0, spec_raw, 0)
    if spec == "closed-local" and s == x:
        # A local id names threads of A's own space only: nobody there.
        assert m.running == a
        assert m.tcr(Tcr.ErrorCode) == ipc_error_code(IpcError.NonExisting, 1)
        return
    assert m.running == b
    if s == x:
        m.ipc(0, m.root, 0)                    # B gets out of the way
        assert m.running == x
    words = [(0x1000 + i) & arch.word_mask for i in range(u)]
    tag = MsgTag(u=u, label=0x77).raw(bits)
    snd_raw = {"never": 0, "zero": ZERO_TIME, "relative": REL}[snd]
    m.ipc(a, 0, timeouts(snd=snd_raw), tag, *words)

    accepted = (spec == "any" or (spec == "anylocal" and s == b)
                or spec in ("closed-global", "closed-local"))
    if accepted:
        assert m.running == a
        assert m.mr(0) == tag and [m.mr(i) for i in range(1, u + 1)] == words
        assert m.result() == (m.utcb_of(s) if s == b else s)
        assert m.results_of(s) == (0,)         # send-only: from = nil
        return
    send_timeout = ipc_error_code(IpcError.Timeout, 0)
    if snd == "zero":
        assert m.running == s and m.mr(0) & 0x8000
        assert m.tcr(Tcr.ErrorCode) == send_timeout
        return
    assert m.running == (x if s == b else m.root)     # the sender polls
    assert m.kernel.thread_by_global(s).state.value == "polling"
    if snd == "never":
        assert m.last.wake_at_us is None
        return
    assert m.last.wake_at_us == 3000
    m.tick(2999)
    assert m.kernel.thread_by_global(s).state.value == "polling"
    m.tick(1)
    assert m.kernel.thread_by_global(s).runnable
    assert m.tcr(Tcr.ErrorCode, s) == send_timeout and m.mr(0, s) & 0x8000
