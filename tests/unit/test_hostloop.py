"""HostLoop against a fake ARM CPU (hostloop_fakes): the real ARM trap glue and page
tables, a real kernel model, thousands of traps of every kind, the idle path and a
target that dies. Every check is on what the fake CPU was made to do next."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

import pytest
from hostloop_fakes import (
    INFO,
    LAYOUT,
    MASK,
    SYMS,
    Device,
    FakeArm,
    Guest,
    Spin,
    Svc,
    Touch,
    make_kernel,
    tid,
)

import l4gdb.runtime.hostloop as host_module
from l4gdb.errors import InfrastructureError
from l4gdb.kernel import BufferConsole, FakeClock, KDebugOp, Syscall
from l4gdb.kernel.interrupt import irq_tag
from l4gdb.kernel.kip import KIP_MAGIC
from l4gdb.kernel.types import (
    Fpage,
    IpcError,
    MsgTag,
    Timeout,
    any_thread,
    ipc_error_code,
    kernel_label,
)
from l4gdb.kernel.utcb import Tcr
from l4gdb.runtime.hostloop import POLL_S, Deadlock, Finished, HostLoop
from l4gdb.target.errors import TargetError

SEEDS = [1, 2, 3]
TRAPS = 1500                       # kernel entries per seed (at least)
ROOT, C, D, HANDLER = tid(98), tid(120), tid(121), tid(122)
IRQ = 40
IRQ_TID = tid(IRQ)
ANY = any_thread(32)
SPACE_B_UTCB, SPACE_B_KIP = 0x20000000, 0x20100000
CLIENT_PAGES = 0x10000000          # where C and D fault pages in (space B)
ROOT_PAGES = 0x40900000            # sigma0's free memory: root's frames for them
CALL_LABEL, REPLY_LABEL = 0x100, 0x101
PF_LABEL = kernel_label(2, 32) >> 4
KIP = LAYOUT["kip"]


def never(loop: HostLoop, limit: int = 10_000):
    """should_stop for runs that must end in Finished, Deadlock or an error: a bound
    that makes a loop that goes on instead fail the test rather than hang it."""
    return lambda: loop.stats.traps >= limit


class FakeTime:
    """The loop's ``time`` module: sleeping moves the kernel's FakeClock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.slept_us = 0

    def sleep(self, s: float) -> None:
        us = round(s * 1e6)
        self.slept_us += us
        self.clock.advance(us)

    def monotonic(self) -> float:
        return self.clock.now_us() / 1e6


@pytest.fixture
def fake_time(monkeypatch):
    clock = FakeClock()
    t = FakeTime(clock)
    monkeypatch.setattr(host_module, "time", t)
    return t


def tag(label: int = 0, u: int = 0, t: int = 0) -> int:
    return MsgTag(u=u, t=t, label=label).raw(32)


def magic(vaddr: int, seed: int) -> int:
    return (vaddr * 2654435761 + seed) & MASK


def thread_control(dest: int, space: int, sched: int, pager: int, utcb: int) -> Svc:
    return Svc(Syscall.ThreadControl, (dest, space, sched, pager, utcb))


def start(t: int, ip: int, sp: int) -> Svc:
    """The thread start protocol: the pager sends ip and sp."""
    return Svc(Syscall.Ipc, (t, 0, 0), mrs=(tag(u=2), ip, sp))


@dataclass
class World:
    """What the guest threads did, to compare with what the loop reports."""

    seed: int
    guests: dict[int, Guest] = field(default_factory=dict)
    calls: int = 0                 # Call round trips completed (C and D)
    replies: int = 0               # requests root answered
    mapped: int = 0                # page faults root served with a map
    new_pages: int = 0             # fresh pages C and D touched
    next_page: int = 0
    irqs: int = 0                  # interrupt messages the handler received
    soft_faults: int = 0           # faults the kernel served without the pager


def root_script(w: World):
    def script(cpu: FakeArm, me: Guest):
        yield Touch(KIP)                 # the KIP the loop wrote at boot (a leftover write)
        assert struct.pack("<I", cpu.reg("r0")) == KIP_MAGIC
        yield thread_control(C, C, ROOT, 0, MASK)
        assert cpu.reg("r0") == 1, cpu.mr(Tcr.ErrorCode)
        yield Svc(Syscall.SpaceControl, (C, 0, Fpage(SPACE_B_KIP, 12).raw(32),
                                         Fpage(SPACE_B_UTCB, 16).raw(32), 0))
        assert cpu.reg("r0") == 1, cpu.mr(Tcr.ErrorCode)
        for t, space, utcb in ((C, C, SPACE_B_UTCB), (D, C, SPACE_B_UTCB + 0x200),
                               (HANDLER, ROOT, 0x40040200)):
            yield thread_control(t, space, ROOT, ROOT, utcb)
            assert cpu.reg("r0") == 1, (t, cpu.mr(Tcr.ErrorCode))
        yield Svc(Syscall.Schedule, (HANDLER, MASK, MASK, 200, MASK))
        yield thread_control(IRQ_TID, IRQ_TID, 0, HANDLER, MASK)   # associate the line
        assert cpu.reg("r0") == 1, cpu.mr(Tcr.ErrorCode)
        for t in (C, D, HANDLER):
            g = w.guests[t]
            yield start(t, g.start_pc, g.start_sp)
            assert cpu.reg("r0") == 0 and not MsgTag.from_raw(cpu.mr(0)).error
        yield Svc(Syscall.Ipc, (0, ANY, 0))
        while True:
            sender = cpu.reg("r0")
            assert sender in (C, D), f"root received from {sender:#x}"
            msg = MsgTag.from_raw(cpu.mr(0))
            if msg.label >> 4 == PF_LABEL:
                reply = yield from serve_fault(cpu, w, w.guests[sender])
            else:
                assert (msg.label, msg.u) == (CALL_LABEL, 1), msg
                reply = (tag(REPLY_LABEL, u=1), (cpu.mr(1) * 3 + 1) & MASK)
                w.replies += 1
            yield Svc(Syscall.Ipc, (sender, ANY, 0), mrs=reply)
    return script


def serve_fault(cpu: FakeArm, w: World, faulter: Guest):
    """Root as pager: fill a frame of its own and map it at the faulting page."""
    addr, ip = cpu.mr(1), cpu.mr(2)
    assert ip == faulter.saved["pc"], (faulter.name, hex(ip))
    act = faulter.action
    assert isinstance(act, Touch) and addr == act.vaddr, (faulter.name, hex(addr), act)
    page = addr & ~0xFFF
    frame = ROOT_PAGES + w.mapped * 0x1000
    # (root's own fault on the frame goes to sigma0)
    yield Touch(frame + (addr & 0xFFF), magic(page, w.seed))
    w.mapped += 1
    return (tag(t=2), (page & ~0x3FF) | 0x8, Fpage(frame, 12, 6).raw(32))


def client_script(w: World, salt: int):
    def script(cpu: FakeArm, me: Guest):
        rng = random.Random(w.seed * 1000 + salt)
        mine: set[int] = set()                 # pages it faulted in (its own to store to)
        while True:
            r = rng.random()
            if r < 0.3:
                n = rng.getrandbits(32)
                yield Svc(Syscall.Ipc, (ROOT, ROOT, 0), mrs=(tag(CALL_LABEL, u=1), n))
                reply = MsgTag.from_raw(cpu.mr(0))
                assert cpu.reg("r0") == ROOT and (reply.label, reply.u) == (REPLY_LABEL, 1)
                assert cpu.mr(1) == (n * 3 + 1) & MASK, (me.name, n)
                w.calls += 1
            elif r < 0.42:
                yield Svc(Syscall.ThreadSwitch, (0,))
            elif r < 0.54:
                yield Svc(Syscall.SystemClock)
                now = cpu.reg("r1") << 32 | cpu.reg("r0")
                assert now == me.trapped_at_us, (me.name, now, me.trapped_at_us)
            elif r < 0.68 and w.next_page < 400:
                page = CLIENT_PAGES + w.next_page * 0x1000
                w.next_page += 1
                yield Touch(page + rng.randrange(0, 0x1000, 4))
                w.new_pages += 1
                assert cpu.reg("r0") == magic(page, w.seed), (me.name, hex(page))
                assert me.touch_faults == 1
                mine.add(page)
            elif r < 0.8 and mine:
                page = rng.choice(sorted(mine))
                value = rng.getrandbits(32)
                yield Touch(page + 8, value)
                # a first store to a page mapped on a load: a soft fault (status bits)
                assert me.touch_faults <= 1
                w.soft_faults += me.touch_faults
                yield Touch(page + 8)
                assert cpu.reg("r0") == value and me.touch_faults == 0
            else:
                yield Spin(rng.randint(50, 15_000))
    return script


def handler_script(w: World):
    def script(cpu: FakeArm, me: Guest):
        yield Svc(Syscall.Ipc, (0, IRQ_TID, 0), arm_irq=True)
        while True:
            assert cpu.reg("r0") == IRQ_TID and cpu.mr(0) == irq_tag(32)
            w.irqs += 1
            yield Svc(Syscall.Ipc, (IRQ_TID, IRQ_TID, 0), arm_irq=True)   # ack, wait
    return script


def system(seed: int, fake_time: FakeTime, guests: list[Guest]) -> tuple[FakeArm, HostLoop]:
    cpu = FakeArm(fake_time.clock, random.Random(seed), guests=guests)
    console = BufferConsole()
    kernel = make_kernel(cpu, console)
    loop = HostLoop(INFO, cpu.glue, cpu, kernel, fake_time.clock)
    loop.boot()
    return cpu, loop


def workload(seed: int) -> tuple[World, list[Guest]]:
    w = World(seed)
    guests = [Guest("root", 0x40100000, 0x40200000, root_script(w)),
              Guest("C", 0x10800000, 0x10900000, client_script(w, 1)),
              Guest("D", 0x10800100, 0x108F0000, client_script(w, 2)),
              Guest("handler", 0x40180000, 0x401F0000, handler_script(w))]
    for t, g in zip((ROOT, C, D, HANDLER), guests, strict=True):
        w.guests[t] = g
    return w, guests


@pytest.mark.parametrize("seed", SEEDS)
def test_thousands_of_traps_are_routed(seed, fake_time):
    w, guests = workload(seed)
    cpu, loop = system(seed, fake_time, guests)
    cpu.device = Device(IRQ, rate=0.02)
    assert loop.stats.by_kind == {"boot": 1} and cpu.state == "kernel"  # parked after boot

    def done() -> bool:
        # ... and nothing in flight: no fault unserved, call unanswered, irq undelivered
        # (a bound, so that a lost interrupt fails the checks below instead of hanging)
        quiet = w.irqs == cpu.device.fired and w.replies == w.calls \
            and not any(g.faults_in_a_row for g in guests)
        return loop.stats.traps >= TRAPS and quiet or loop.stats.traps >= 4 * TRAPS

    loop.run(done)
    e = cpu.entries
    expected = {"boot": 1, "syscall": e["syscall"], "pagefault": e["pagefault"],
                "interrupt": e["interrupt"] - cpu.gate_interrupts, "timer": cpu.host_interrupts}
    assert loop.stats.by_kind == expected, f"seed {seed}"
    assert loop.stats.traps == sum(expected.values())
    assert loop.stats.interrupts == cpu.host_interrupts
    assert loop.stats.idle_entries == 0 and fake_time.slept_us == 0   # always a thread to run
    # Each fault C or D took was one root served, and root took one of its own each time.
    g = {x.name: x for x in guests}
    client_faults = g["C"].entries["pagefault"] + g["D"].entries["pagefault"]
    assert client_faults == w.mapped + w.soft_faults, f"seed {seed}"
    assert w.mapped == g["root"].entries["pagefault"] and w.soft_faults > 0
    assert w.new_pages == w.mapped and w.replies == w.calls
    # Interrupts: each one the device raised reached the handler, nobody else.
    assert cpu.device.fired == w.irqs == e["interrupt"] > 0
    assert cpu.gate_interrupts > 0     # an interrupt on the way in is queued, not lost
    assert g["handler"].entries["syscall"] == w.irqs + 1
    # The mix really happened: calls across spaces, preemptions through the gate.
    assert w.calls > 50 and w.mapped > 20 and cpu.host_interrupts > 5
    assert cpu.gate_entries <= cpu.host_interrupts and cpu.gate_entries > 0
    assert cpu.space_switches >= 2 * w.calls
    assert all(x.runs > 1 for x in guests)


def lone_root(*steps) -> list[Guest]:
    def script(cpu: FakeArm, me: Guest):
        for step in steps:
            yield from step(cpu, me)
    return [Guest("root", 0x40100000, 0x40200000, script)]


def test_idle_sleeps_to_the_deadline_then_deadlock(fake_time):
    period = Timeout.period(123_456)
    us = Timeout(period).us
    seen: dict[str, int] = {}

    def wait_with_timeout(cpu, me):
        yield Spin(1000)
        yield Svc(Syscall.Ipc, (0, ANY, period))         # nobody sends: the CPU idles
        seen["at"] = me.trapped_at_us
        seen["now"] = cpu.clock.now_us()
        seen["error"] = cpu.mr(Tcr.ErrorCode)
        seen["tag"] = cpu.mr(0)

    def wait_forever(cpu, me):
        yield Svc(Syscall.Ipc, (0, ANY, 0))
        raise AssertionError("woken from a receive nobody can answer")

    cpu, loop = system(0, fake_time, lone_root(wait_with_timeout, wait_forever))
    with pytest.raises(Deadlock):
        loop.run(never(loop))
    assert seen["now"] == seen["at"] + us                 # woken at the deadline, not later
    assert fake_time.slept_us == us and loop.stats.idle_s == pytest.approx(us / 1e6)
    assert MsgTag.from_raw(seen["tag"]).error
    assert seen["error"] == ipc_error_code(IpcError.Timeout, 1)
    assert loop.stats.by_kind == {"boot": 1, "syscall": 2, "timer": 1}
    assert cpu.entries == {"boot": 1, "syscall": 2} and cpu.state == "kernel"


def test_idle_naps_are_at_most_poll_s(fake_time, monkeypatch):
    naps: list[float] = []
    sleep = fake_time.sleep
    monkeypatch.setattr(fake_time, "sleep", lambda s: (naps.append(s), sleep(s)))
    period = Timeout.period(200_000)

    def wait(cpu, me):
        yield Svc(Syscall.Ipc, (0, ANY, period))
        yield Svc(Syscall.KDebug, (KDebugOp.Exit, 5, 0))

    _, loop = system(0, fake_time, lone_root(wait))
    with pytest.raises(Finished) as fin:
        loop.run(never(loop))
    assert fin.value.status == 5
    assert len(naps) >= 4 and max(naps) <= POLL_S
    assert sum(round(n * 1e6) for n in naps) == Timeout(period).us


def test_root_exit_finishes_with_its_status(fake_time):
    def work(cpu, me):
        for _ in range(20):
            yield Svc(Syscall.ThreadSwitch, (0,))
        yield Svc(Syscall.KDebug, (KDebugOp.Exit, -3 & MASK, 0))
        raise AssertionError("root ran after its exit")

    cpu, loop = system(0, fake_time, lone_root(work))
    with pytest.raises(Finished) as fin:
        loop.run(never(loop))
    assert fin.value.status == -3
    assert loop.stats.by_kind == {"boot": 1, "syscall": 21} == cpu.entries


def test_should_stop_leaves_the_cpu_where_it_is(fake_time):
    w, guests = workload(9)
    cpu, loop = system(9, fake_time, guests)
    loop.run(lambda: loop.stats.traps >= 40)
    assert loop.stats.traps == 40


@pytest.mark.parametrize("after", [3, 40, 400])
def test_target_dying_mid_run_is_a_target_error(fake_time, after):
    w, guests = workload(4)
    cpu, loop = system(4, fake_time, guests)
    cpu.device = Device(IRQ, rate=0.02)
    cpu.die_after_reads = cpu.reads + after
    with pytest.raises(TargetError, match="Remote connection closed") as err:
        loop.run(never(loop))
    assert type(err.value) is TargetError
    assert cpu.reads == cpu.die_after_reads + 2        # the virtual read, then the physical


def test_target_dying_at_boot_is_a_target_error(fake_time):
    cpu = FakeArm(fake_time.clock, random.Random(0), die_after_reads=0)
    loop = HostLoop(INFO, cpu.glue, cpu, make_kernel(cpu, BufferConsole()), fake_time.clock)
    with pytest.raises(TargetError):
        loop.boot()


def test_a_target_that_never_stops_when_interrupted(fake_time):
    w, guests = workload(5)
    cpu, loop = system(5, fake_time, guests)
    loop.run(lambda: cpu.host_interrupts >= 1)           # timeslices need the interrupt
    cpu.frozen = True
    with pytest.raises(InfrastructureError, match="did not stop when interrupted"):
        loop.run(never(loop))


def test_boot_entry_of_another_kind_is_refused(fake_time):
    cpu = FakeArm(fake_time.clock, random.Random(0))
    cpu.state = "user"                 # a CPU that is already past boot: a syscall entry
    cpu.regs = {"pc": 0x40100000}
    loop = HostLoop(INFO, cpu.glue, cpu, make_kernel(cpu, BufferConsole()), fake_time.clock)
    cpu.resume = lambda addr=None: cpu._enter(1, "syscall", detail=7)   # noqa: ARG005
    with pytest.raises(InfrastructureError, match="not a boot entry"):
        loop.boot()
    assert SYMS["l4k_trap_bp"] in cpu.breakpoints
