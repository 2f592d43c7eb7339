"""IPC state transitions and error codes, driven through the fake machine."""

import random

import pytest
from fake_target import ARCH32, ARCH64, ROOT_IP, FakeMachine, timeouts

from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.types import (
    ZERO_TIME,
    IpcError,
    MsgTag,
    Timeout,
    any_local_thread,
    any_thread,
    ipc_error_code,
)
from l4gdb.kernel.utcb import BR0, Tcr

ARCHS = [ARCH32, ARCH64]
ARCH_IDS = ["32", "64"]
REL_1MS = Timeout.period(1000)
E_FLAG = 0x8000


def err(e, phase):
    return ipc_error_code(e, phase)


def pair(arch):
    """Root (prio 50) and worker A (prio 100, running) in one space."""
    m = FakeMachine(arch)
    a = m.spawn(100)
    m.set_priority(m.root, 50)
    assert m.running == a
    return m, a


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.parametrize("u", range(64))
def test_untyped_words_root_to_waiting_worker(arch, u):
    m, a = pair(arch)
    rng = random.Random(u)
    a_utcb = m.utcb_addr
    m.ipc(0, m.root, 0)                      # A: closed receive from root, blocks
    assert m.running == m.root
    words = [rng.getrandbits(arch.word_bits) for _ in range(u)]
    tag = MsgTag(u=u, label=0x1234).raw(arch.word_bits)
    m.ipc(a, 0, 0, tag, *words)              # root: send
    assert m.running == a                    # higher priority receiver runs
    assert m.utcb_addr == a_utcb
    assert m.mr(0) == tag
    assert [m.mr(i) for i in range(1, u + 1)] == words
    assert m.result() == m.utcb_of(m.root)   # same space: local id


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.parametrize("u", range(0, 64, 3))
def test_blocked_sender_delivers_on_receive(arch, u):
    m, a = pair(arch)
    words = list(range(100, 100 + u))
    m.ipc(m.root, 0, 0, MsgTag(u=u, label=7).raw(arch.word_bits), *words)
    assert m.running == m.root               # A polls (root not receiving)
    assert m.kernel.snapshot().threads[2].state.startswith("blocked sending")
    m.ipc(0, any_thread(arch.word_bits), 0)  # root: open wait gets A's message
    assert m.running == a                    # A's send completed, A preempts root
    assert m.results_of(m.root) == (m.utcb_of(a),)
    assert [m.mr(i, m.root) for i in range(1, u + 1)] == words
    assert MsgTag.from_raw(m.mr(0, m.root)).u == u


def test_overflow_tag_is_refused():
    m, a = pair(ARCH32)
    m.ipc(0, m.root, 0)
    m.ipc(a, 0, 0, MsgTag(u=63, t=2).raw(32))
    assert m.tcr(Tcr.ErrorCode, m.root) == err(IpcError.Overflow, 0)
    assert m.tcr(Tcr.ErrorCode, a) == err(IpcError.Overflow, 1)


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_string_items_refused_map_items_copied(arch):
    bits = arch.word_bits
    m, a = pair(arch)
    m.ipc(0, m.root, 0)
    m.ipc(a, 0, 0, MsgTag(u=1, t=2).raw(bits), 5, 0x1000 | 8, 0x4080_0000 | (12 << 4) | 7)
    assert m.running == a and m.mr(2) == 0x1000 | 8 and MsgTag.from_raw(m.mr(0)).t == 2
    m.ipc(0, m.root, 0)
    m.ipc(a, 0, 0, MsgTag(u=0, t=2).raw(bits), 0x10 << 10, 0x4080_0000)   # string item
    assert m.running == a
    assert m.mr(0) & E_FLAG and m.tcr(Tcr.ErrorCode) == err(IpcError.Overflow, 1)


# --- timeouts ------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.parametrize("kind", ["never", "zero", "relative"])
@pytest.mark.parametrize("phase", ["send", "receive"])
def test_timeouts(arch, kind, phase):
    m, a = pair(arch)
    t = {"never": 0, "zero": ZERO_TIME, "relative": REL_1MS}[kind]
    if phase == "send":
        m.ipc(m.root, 0, timeouts(snd=t))       # root is not receiving
    else:
        m.ipc(0, m.root, timeouts(rcv=t))       # root is not sending
    code = err(IpcError.Timeout, 0 if phase == "send" else 1)
    if kind == "zero":
        assert m.running == a and m.result() == 0
        assert m.mr(0) & E_FLAG and m.tcr(Tcr.ErrorCode) == code
        return
    assert m.running == m.root
    if kind == "never":
        assert m.last.wake_at_us is None
        m.tick(10**9)
        assert m.running == m.root
        return
    assert m.last.wake_at_us == 1000
    m.tick(999)
    assert m.running == m.root
    m.tick(1)
    assert m.running == a
    assert m.mr(0) & E_FLAG and m.tcr(Tcr.ErrorCode) == code


def test_sleep_is_receive_from_self_with_timeout():
    m, a = pair(ARCH32)
    m.ipc(0, a, timeouts(rcv=Timeout.period(5000)))
    assert m.running == m.root and m.last.wake_at_us == 5000
    m.tick(5000)
    assert m.running == a and m.tcr(Tcr.ErrorCode) == err(IpcError.Timeout, 1)


def test_idle_then_wakeup():
    m, a = pair(ARCH32)
    m.ipc(0, m.root, timeouts(rcv=REL_1MS))        # A waits
    m.ipc(0, m.root, 0)                            # root waits on itself forever
    assert m.running is None and m.last.wake_at_us == 1000
    m.tick(2000)
    assert m.running == a


# --- partners and wait kinds ---------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_nonexistent_partner(arch):
    m, a = pair(arch)
    ghost = m.tid(500)
    m.ipc(ghost, 0, 0)
    assert m.running == a and m.result() == 0
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.NonExisting, 0) and m.mr(0) & E_FLAG
    m.ipc(0, ghost, 0)
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.NonExisting, 1)
    m.ipc(m.tid(100, 2), 0, 0)                      # wrong version
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.NonExisting, 0)
    m.ipc(0x4007_0000, 0, 0)                        # local id nobody owns
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.NonExisting, 0)
    m.ipc(any_thread(arch.word_bits), 0, 0)         # cannot send to "any"
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.NonExisting, 0)


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_send_by_local_id(arch):
    m, a = pair(arch)
    m.ipc(0, any_thread(arch.word_bits), 0)
    m.ipc(0, m.root, 0)      # root (now running): closed wait on itself... blocks
    assert m.running is None or m.running == m.root


def test_closed_wait_ignores_other_senders():
    m = FakeMachine(ARCH32)
    a = m.spawn(100)
    b = m.spawn(101)
    m.set_priority(m.root, 50)
    assert m.running == a
    m.ipc(0, b, 0)                  # A waits for B only
    assert m.running == b
    m.ipc(0, m.root, 0)             # B waits for root
    assert m.running == m.root
    m.ipc(a, 0, timeouts(snd=ZERO_TIME), 0)       # root -> A: A does not accept root
    assert m.tcr(Tcr.ErrorCode, m.root) == err(IpcError.Timeout, 0)
    m.ipc(b, 0, 0, 0)               # root -> B: fine
    assert m.running == b
    m.ipc(a, 0, 0, MsgTag(u=1).raw(32), 77)    # send-only, equal priority: B keeps the CPU
    assert m.running == b
    assert m.mr(1, a) == 77 and m.results_of(a) == (m.utcb_of(b),)
    m.syscall(Syscall.ThreadSwitch, 0)          # yield: A is next in round robin
    assert m.running == a


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_anylocal_and_global_from(arch):
    bits = arch.word_bits
    m = FakeMachine(arch)
    a = m.spawn(100)
    x = m.spawn_space(120)
    m.set_priority(m.root, 50)
    assert m.running in (a, x)
    if m.running == x:              # let X block first: send to A (A not yet waiting)
        m.ipc(a, 0, 0, MsgTag(u=1).raw(bits), 9)
        assert m.running == a
    else:
        m.ipc(0, m.root, timeouts(rcv=REL_1MS))
        assert m.running == x
        m.ipc(a, 0, 0, MsgTag(u=1).raw(bits), 9)
        m.tick(1000)
        assert m.running == a
    m.ipc(0, any_local_thread(bits), 0)      # X (other space) is polling: not taken
    assert m.running == m.root
    m.ipc(a, 0, 0, MsgTag(u=1).raw(bits), 5)
    assert m.running == a and m.mr(1) == 5 and m.result() == m.utcb_of(m.root)
    m.ipc(0, any_thread(bits), 0)            # open wait takes X, from = global id
    assert m.mr(1) == 9 and m.result() == x


# --- call, reply-wait, cancellation ----------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_call_and_reply_wait(arch):
    bits = arch.word_bits
    m, a = pair(arch)
    m.ipc(0, m.root, timeouts(rcv=REL_1MS))     # A sleeps briefly so root can wait
    any_ = any_thread(bits)
    m.ipc(0, any_, 0)                           # root: open wait
    assert m.running is None
    m.tick(1000)
    assert m.running == a
    m.ipc(m.root, m.root, 0, MsgTag(u=2, label=1).raw(bits), 3, 4)   # A: Call root
    assert m.running == m.root and m.result() == m.utcb_of(a)
    assert m.mr(1) == 3 and m.mr(2) == 4
    m.ipc(a, any_, timeouts(snd=ZERO_TIME), MsgTag(u=1).raw(bits), 7)   # ReplyWait
    assert m.running == a and m.mr(1) == 7 and m.result() == m.utcb_of(m.root)
    snap = m.kernel.snapshot()
    assert [r.sender for r in snap.ipc_log][-2:] == [a, m.root]
    root_state = next(t.state for t in snap.threads if t.id == m.root)
    assert root_state == "receiving from any"


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.parametrize("phase", ["send", "receive"])
@pytest.mark.parametrize("cancel_bits", [0, 2, 4, 6])
def test_cancel_by_exchange_registers(arch, phase, cancel_bits):
    m, a = pair(arch)
    if phase == "send":
        m.ipc(m.root, 0, 0)          # A polls root forever
    else:
        m.ipc(0, m.root, 0)          # A waits for root forever
    assert m.running == m.root
    m.syscall(Syscall.ExchangeRegisters, a, cancel_bits, 0, 0, 0, 0, 0)
    res, old = m.results_of(m.root, 2)
    assert res == m.utcb_of(a)                 # global id given: local id returned
    assert old == (4 if phase == "send" else 2)
    hit = cancel_bits & (4 if phase == "send" else 2)
    if hit:
        assert m.running == a
        assert m.result() == 0 and m.mr(0) & E_FLAG
        assert m.tcr(Tcr.ErrorCode) == err(IpcError.Cancelled, 0 if phase == "send" else 1)
    else:
        assert m.running == m.root


@pytest.mark.parametrize("phase", ["send", "receive"])
def test_deleting_partner_fails_blocked_ipc(phase):
    m = FakeMachine(ARCH32)
    a = m.spawn(100)
    b = m.spawn(101, prio=200)
    m.set_priority(m.root, 50)
    assert m.running == b
    if phase == "send":
        m.ipc(a, 0, 0)              # A is not receiving: B polls
    else:
        m.ipc(0, a, 0)              # B waits for A
    assert m.running == a
    m.ipc(0, m.root, 0)             # A waits for root
    assert m.running == m.root
    m.thread_control(a, 0, 0, 0, 0)                 # delete A
    assert m.results_of(m.root) == (1,)
    assert m.kernel.thread_by_global(a) is None
    assert m.running == b
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.NonExisting, 0 if phase == "send" else 1)


# --- sigma0 ------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_sigma0_protocol(arch):
    from l4gdb.kernel.types import Fpage, kernel_label
    bits = arch.word_bits
    m = FakeMachine(arch)
    s0 = m.sigma0
    req = MsgTag(u=2, label=kernel_label(6, bits)).raw(bits)
    anywhere = (((1 << bits) - 1) & ~0x3FF) | (12 << 4)
    m.ipc(s0, s0, 0, req, anywhere, 0)       # no receive window: the map item overflows
    assert m.running == m.root and m.mr(0) & E_FLAG
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.Overflow, 1)
    m.set_word(m.utcb_addr + BR0 * m.ws, 1 << 4)          # accept map items anywhere
    m.ipc(s0, s0, 0, req, anywhere, 0)
    assert m.running == m.root and m.result() == s0
    assert MsgTag.from_raw(m.mr(0)).t == 2 and m.mr(1) & 0xE == 8
    got = Fpage.from_raw(m.mr(2))
    assert got.size_log2 == 12 and 0x4080_0000 <= got.base < 0x4800_0000
    page = Fpage(0x4090_0000, 12, 6).raw(bits)
    m.ipc(s0, s0, 0, req, page, 0)
    assert Fpage.from_raw(m.mr(2)).base == 0x4090_0000
    m.ipc(s0, s0, 0, req, page, 0)          # idempotent for the same space
    assert Fpage.from_raw(m.mr(2)).base == 0x4090_0000
    m.ipc(s0, s0, 0, req, Fpage(0x4000_0000, 12, 6).raw(bits), 0)   # not free memory
    assert m.mr(2) == 0
    x = m.spawn_space(120)
    m.set_priority(m.root, 10)
    assert m.running == x
    m.set_word(m.utcb_addr + BR0 * m.ws, 1 << 4)
    m.ipc(s0, s0, 0, req, page, 0)          # owned by root's space: refused
    assert m.running == x and m.mr(2) == 0
    m.ipc(s0, s0, 0, req, Fpage(0x4091_0000, 12, 6).raw(bits), 0)
    assert Fpage.from_raw(m.mr(2)).base == 0x4091_0000


def test_sigma0_gives_no_free_memory_once_an_os_server_took_it():
    """Iguana takes sigma0's free memory over (as it takes all of it at boot):
    then no space gets a free page from sigma0, by request or by page fault --
    not even a page the server had and gave back, whose contents are still
    there -- while a page a space got before stays its own."""
    from l4gdb.kernel.types import Fpage, kernel_label
    m = FakeMachine(ARCH32, paging=True)
    s0, host = m.sigma0, m.kernel.sigma0.host
    req = MsgTag(u=2, label=kernel_label(6, 32)).raw(32)
    anywhere = (0xFFFF_FFFF & ~0x3FF) | (12 << 4)
    m.set_word(m.utcb_addr + BR0 * m.ws, 1 << 4)
    m.ipc(s0, s0, 0, req, Fpage(0x4090_0000, 12, 6).raw(32), 0)
    assert Fpage.from_raw(m.mr(2)).base == 0x4090_0000           # the root's before
    host.take_free_memory(999)
    host.owner[0x4091_0000] = 999
    host.owner.pop(0x4091_0000)                  # had by the server, given back
    for fp in (anywhere, Fpage(0x4091_0000, 12, 6).raw(32), Fpage(0x4092_0000, 13).raw(32)):
        m.ipc(s0, s0, 0, req, fp, 0)
        assert m.running == m.root and m.mr(2) == 0, hex(fp)
    m.ipc(s0, s0, 0, req, Fpage(0x4090_0000, 12, 6).raw(32), 0)
    assert Fpage.from_raw(m.mr(2)).base == 0x4090_0000           # still the root's
    label = kernel_label(2, 32) | 4              # a page fault at a free page, sent by hand
    m.ipc(s0, s0, 0, MsgTag(u=2, label=label).raw(32), 0x4091_0000, ROOT_IP)
    assert m.mr(2) == 0 and "at 0x40910000 refused" in m.console.text
    assert m.access(ROOT_IP, 1) is None and m.access(ROOT_IP, 1) is not None  # the image


def test_sigma0_unknown_request_blocks_caller():
    m = FakeMachine(ARCH32)
    m.ipc(m.sigma0, m.sigma0, timeouts(rcv=REL_1MS), MsgTag(u=0, label=5).raw(32))
    assert "sigma0: unknown request" in m.console.text
    m.tick(1000)
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.Timeout, 1)


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.parametrize("tmo", [0, timeouts(ZERO_TIME, ZERO_TIME)], ids=["never", "zero"])
def test_ipc_nil_nil_skips_both_phases(arch, tmo):
    """Ipc(nil, nil): no send, no receive, no error; MR0 and ErrorCode untouched."""
    m = FakeMachine(arch)
    m.set_word(m.utcb_addr + Tcr.ErrorCode * m.ws, 0x5)
    m.ipc(0, 0, tmo, 0x1234 << 16)
    assert m.running == m.root and m.result(0) == 0
    assert m.mr(0) == 0x1234 << 16 and m.tcr(Tcr.ErrorCode) == 0x5
    assert m.kernel.root.state.value == "running"
