"""KDebug, exceptions, unknown calls, internal errors and random garbage."""

import random

import pytest
from fake_target import ARCH32, ARCH64, RAM, FakeMachine

from l4gdb.kernel import Trap, TrapKind
from l4gdb.kernel.abi import KDebugOp, Syscall
from l4gdb.kernel.types import Error, MsgTag, any_thread, kernel_label
from l4gdb.kernel.utcb import Tcr

ARCHS = [ARCH32, ARCH64]
ARCH_IDS = ["32", "64"]


def test_kdebug_console():
    m = FakeMachine(ARCH32, console_input="x")
    m.syscall(Syscall.KDebug, KDebugOp.PrintChar, ord("h"))
    m.mem.write(RAM + 0x90_0000, b"ello\0junk")
    m.syscall(Syscall.KDebug, KDebugOp.PrintString, RAM + 0x90_0000, 4)
    m.syscall(Syscall.KDebug, KDebugOp.Enter, RAM + 0x90_0000)
    m.syscall(Syscall.KDebug, KDebugOp.ReadChar)
    assert m.result() == ord("x")
    m.syscall(Syscall.KDebug, KDebugOp.ReadChar)
    assert m.result() == ARCH32.word_mask
    m.syscall(Syscall.KDebug, KDebugOp.PrintString, 0x10, 100)      # bus error: -1
    assert m.result() == ARCH32.word_mask
    m.syscall(Syscall.KDebug, 77)
    assert m.result() == ARCH32.word_mask
    assert m.console.text == "hello" + "KDB: ello\n"


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_root_exit_ends_the_run(arch):
    m = FakeMachine(arch)
    res = m.syscall(Syscall.KDebug, KDebugOp.Exit, arch.word_mask)   # exit(-1)
    assert res.exit_status == -1 and res.thread is None


def test_other_thread_exit_halts_it():
    m = FakeMachine(ARCH32)
    a = m.spawn(100)
    m.set_priority(m.root, 50)
    res = m.syscall(Syscall.KDebug, KDebugOp.Exit, 3)
    assert res.exit_status is None and m.running == m.root
    assert "exited with status 3" in m.console.text
    assert m.kernel.thread_by_global(a).halted


def test_unknown_syscall_sets_error():
    m = FakeMachine(ARCH32)
    m.syscall(99, 1, 2, 3)
    assert m.running == m.root and m.result() == 0
    assert m.tcr(Tcr.ErrorCode) == Error.InvalidParam


@pytest.mark.parametrize("kind", [TrapKind.EXCEPTION, TrapKind.PAGEFAULT])
def test_unhandled_exception_halts_thread(kind):
    m = FakeMachine(ARCH32)
    a = m.spawn(100)
    m.set_priority(m.root, 50)
    assert m.running == a
    m.set_word(m.utcb_addr + Tcr.Pager * m.ws, 0)       # no pager, no exception handler
    m.trap(Trap(kind, 1, dict(m.cpu), m.utcb_addr, m.mem.read(m.utcb_addr, 128 * m.ws),
                fault_addr=0xDEAD0000, fault_access=2))
    assert m.running == m.root
    assert "thread 100.1: unhandled" in m.console.text
    assert "ip=0x40100100" in m.console.text


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_exception_ipc_to_handler_and_reply(arch):
    bits = arch.word_bits
    m = FakeMachine(arch)
    a = m.spawn(100)
    m.ipc(0, any_thread(bits), 0)            # root waits for anything
    assert m.running == a
    m.set_word(m.utcb_addr + Tcr.ExceptionHandler * m.ws, m.root)
    regs = dict(m.cpu, r3=33)
    m.trap(Trap(TrapKind.EXCEPTION, 7, regs, m.utcb_addr,
                m.mem.read(m.utcb_addr, 128 * m.ws), detail={"insn": 0xE7F000F0}))
    assert m.running == m.root and m.result() == m.utcb_of(a)
    tag = MsgTag.from_raw(m.mr(0))
    assert tag.label == kernel_label(5, bits) and tag.u == 5 + 14
    assert m.mr(1) == 0x4010_0100 and m.mr(4) == 7 and m.mr(5) == 0xE7F000F0
    assert m.mr(6 + 3) == 33                 # r3 among the other registers
    m.ipc(a, 0, 0, MsgTag(u=3).raw(bits), 0x4010_0200, 0x1234_0000, 0)
    assert m.running == m.root                   # root has the higher priority
    m.ipc(0, m.root, 0)                          # root blocks for good
    assert m.running == a and m.cpu["pc"] == 0x4010_0200 and m.cpu["sp"] == 0x1234_0000


def test_internal_error_halts_only_the_thread(monkeypatch):
    m = FakeMachine(ARCH32)
    a = m.spawn(100)
    m.set_priority(m.root, 50)

    def boom(k, cur):
        raise RuntimeError("bug")
    fn, n = m.kernel._syscalls[int(Syscall.KernelInterface)]
    monkeypatch.setitem(m.kernel._syscalls, int(Syscall.KernelInterface), (boom, 0))
    m.syscall(Syscall.KernelInterface)
    assert m.running == m.root
    assert "internal kernel error" in m.console.text and "bug" in m.console.text
    assert m.kernel.thread_by_global(a).halted


def test_observer_failure_is_contained():
    m = FakeMachine(ARCH32, trace=True)
    assert "boot" in m.events.names() and "schedule" in m.events.names()

    def bad(name, **data):
        raise ValueError("observer")
    m.kernel.events = bad
    m.syscall(Syscall.SystemClock)
    assert "event observer failed" in m.console.text and m.running == m.root


@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
@pytest.mark.parametrize("seed", range(12))
def test_random_garbage_never_raises(arch, seed):
    rng = random.Random(seed)
    m = FakeMachine(arch)
    bits = arch.word_bits
    mask = arch.word_mask
    tids = [m.spawn(100 + i, prio=rng.choice([50, 100, 200])) for i in range(3)]
    x = m.spawn_space(130)
    ids = [0, mask, mask & ~0x3F, m.root, m.sigma0, x, *tids, m.tid(999),
           *(m.utcb_of(t) for t in tids)]
    interesting = [0, 1, mask, 0x400, 0x4000_0000, *ids]

    def word():
        r = rng.random()
        if r < 0.5:
            return rng.choice(interesting)
        return rng.getrandbits(bits)

    for _ in range(400):
        if m.running is None:
            m.tick(rng.choice([1, 100, 10_000, 1_000_000]))
            if m.running is None:
                break
            continue
        r = rng.random()
        if r < 0.1:
            m.tick(rng.randrange(20_000))
            continue
        if r < 0.15:
            m.trap(Trap(rng.choice([TrapKind.EXCEPTION, TrapKind.PAGEFAULT,
                                    TrapKind.INTERRUPT]), rng.randrange(64), dict(m.cpu),
                        fault_addr=word(), fault_access=rng.randrange(8)))
            continue
        number = rng.choice(list(range(0, 16)) + [int(Syscall.Ipc)] * 8)
        if number == Syscall.KDebug and rng.random() < 0.8:
            continue                                  # keep Exit rare
        mrs = [MsgTag(u=rng.randrange(64), t=rng.randrange(4),
                      label=rng.getrandbits(16)).raw(bits)]
        mrs += [word() for _ in range(rng.randrange(8))]
        m.load_mrs(*mrs)
        res = m.syscall(number, *(word() for _ in range(7)))
        if res.exit_status is not None:
            break
    assert "internal kernel error" not in m.console.text
    for t in m.kernel.threads.values():
        if t.state.value == "running" and t.host is None:
            assert t.op is None
