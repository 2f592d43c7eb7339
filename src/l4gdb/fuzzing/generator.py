"""``l4gdb fuzz``: random system calls against the kernel model, invariants after each.

The fake target (:mod:`l4gdb.fuzzing.fake_target`: sparse memory, dict page
tables, a fake clock) boots the kernel with page tables; the root task makes
a few threads in its own space and a few unprivileged spaces, then every step
the running thread -- whoever the scheduler picked -- does something random
but interesting:

* one of the 13 L4 system calls, KDebug, or an unknown number, with argument
  registers drawn from biased pools (nil / any / anylocal, live, deleted and
  wrong-version thread ids, local ids, interrupt and kernel thread numbers,
  valid and invalid fpages, addresses in RAM, the KIP, the UTCB area and the
  kernel area, timeouts zero / never / short, control words with random bit
  subsets), with random message registers (tags with untyped words and map,
  grant and string items), buffer registers (acceptors, receive windows,
  string buffers) and some TCRs (pager, exception handler, xfer timeouts);
* a page fault (resolved by sigma0 for the root task, a page-fault IPC to a
  user pager elsewhere), an exception or an interrupt;
* time passing, so that timeouts fire.

:func:`check` looks at the whole kernel model after every call (or every K):
no internal kernel error, the mapping database a forest rooted in sigma0's
RAM and consistent with every space's page tables, no thread in two ready
queues, thread states consistent with queues and spaces, no space seeing a
page it was not given, the host copies of the UTCBs equal to guest memory.

A run is reproducible from (seed, arch): :func:`run` returns the first
violation with the seed and the index of the call that caused it.
"""

from __future__ import annotations

import functools
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from l4gdb.fuzzing.fake_target import (
    ARCH32,
    ARCH64,
    KERNEL_AREA,
    KIP,
    POOL,
    RAM,
    ROOT_IP,
    ROOT_SP,
    UTCB_AREA,
    FakeMachine,
)
from l4gdb.kernel.abi import KDebugOp, Syscall, Trap, TrapKind
from l4gdb.kernel.kernel import Kernel
from l4gdb.kernel.mapping import Node
from l4gdb.kernel.paging import RWX, R, W, X
from l4gdb.kernel.thread import State, Tcb
from l4gdb.kernel.types import (
    GRANT_ITEM_TYPE,
    MAP_ITEM_TYPE,
    Fpage,
    KernelLabel,
    MsgTag,
    ThreadId,
    any_local_thread,
    any_thread,
    kernel_label,
)
from l4gdb.kernel.utcb import BR0, NUM_BRS, UTCB_WORDS, Tcr

ARCHES = {"fake32": ARCH32, "fake64": ARCH64}
INTERNAL = "internal kernel error"


@dataclass(frozen=True)
class Where:
    """The addresses of a machine the generator aims at and the checks guard."""

    ram: int                          # RAM base
    free: int                         # sigma0's free memory starts here
    spare: int                        # 4 MiB of user addresses for new spaces' areas
    kip: int
    utcb_area: int                    # the root space's UTCB area
    kernel_area: tuple[int, int]      # a virtual range only the kernel maps
    root_ip: int
    root_sp: int
    pool: tuple[int, int]             # kernel memory: page tables, UTCB frames


FAKE_WHERE = Where(ram=RAM, free=RAM + 0x80_0000, spare=RAM + 0x40_0000, kip=KIP,
                   utcb_area=UTCB_AREA, kernel_area=KERNEL_AREA, root_ip=ROOT_IP,
                   root_sp=ROOT_SP, pool=POOL)


class Violation(Exception):
    """An invariant does not hold (or the kernel raised)."""


@dataclass
class Result:
    seed: int
    arch: str
    calls: int = 0                       # system calls (and other traps) issued
    boots: int = 1                       # fresh systems (the old one went idle for good)
    violation: str | None = None
    at_call: int | None = None           # index of the call after which it was seen
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.violation is None

    def line(self) -> str:
        if self.ok:
            return (f"fuzz: {self.calls} calls, seed {self.seed}, arch {self.arch}, "
                    f"{self.boots} boot(s): all invariants held")
        return (f"fuzz: INVARIANT VIOLATED at call {self.at_call} (seed {self.seed}, "
                f"arch {self.arch}): {self.violation}")


# --- invariants ---------------------------------------------------------------------

def check(m: FakeMachine, console_from: int = 0) -> None:
    """Raise :class:`Violation` if the kernel model behind ``m`` is inconsistent."""
    k = m.kernel
    check_console("".join(m.console.output[console_from:]))
    check_threads(k)
    check_mappings(k, FAKE_WHERE)
    _check_page_tables(m)
    check_utcbs(k, m.mem.read)


def check_console(text: str) -> None:
    if INTERNAL in text:
        line = next(x for x in text.splitlines() if INTERNAL in x)
        raise Violation(line.strip())


def check_threads(k: Kernel) -> None:
    live = {id(t) for t in k.threads.values()}
    for no, t in k.threads.items():
        name = k.name_of(t)
        if ThreadId.from_raw(t.global_id, k.bits).thread_no != no:
            raise Violation(f"thread {name} filed under number {no}")
        if t.state is State.DEAD:
            raise Violation(f"dead thread {name} still in the thread table")
        if t.space not in k.spaces or t not in t.space.threads:
            raise Violation(f"thread {name} not in its space's thread list")
        if t.deadline_us is not None and t.state not in (State.POLLING, State.WAITING):
            raise Violation(f"thread {name} has a deadline in state {t.state.value}")
        if t.state is State.POLLING:
            p = t.partner_tcb
            if p is None or id(p) not in live:
                raise Violation(f"thread {name} sends to a thread that is gone")
        if t.state is State.WAITING and t.partner_tcb is not None \
                and id(t.partner_tcb) not in live:
            raise Violation(f"thread {name} waits for a thread that is gone")
        if t.state in (State.POLLING, State.WAITING) and t.op is None and t.xfer is None \
                and t.host is None:
            raise Violation(f"thread {name} blocked ({t.state.value}) without an IPC")
    for s in k.spaces:
        if not s.threads:
            raise Violation(f"space {s.ident} without threads is still listed")
        for t in s.threads:
            if id(t) not in live or t.space is not s:
                raise Violation(f"space {s.ident} lists a thread that is not its own")
    seen: dict[int, int] = {}
    for prio, q in k.sched.queues.items():
        for t in q:
            if id(t) in seen:
                raise Violation(f"thread {k.name_of(t)} in ready queues {seen[id(t)]} "
                                f"and {prio}")
            seen[id(t)] = prio
            if t.priority != prio:
                raise Violation(f"thread {k.name_of(t)} (priority {t.priority}) queued "
                                f"at {prio}")
            if t.runnable and id(t) not in live:
                raise Violation(f"deleted thread {k.name_of(t)} is ready")
    for t in k.threads.values():
        if t.runnable and id(t) not in seen:
            raise Violation(f"runnable thread {k.name_of(t)} is in no ready queue")
    cur = k.current
    if cur is not None and (not cur.runnable or id(cur) not in live):
        raise Violation(f"current thread {k.name_of(cur)} is not runnable")


def _forbidden_frames(k: Kernel, where: Where) -> list[tuple[int, int]]:
    """Physical ranges no user mapping may reach (kernel memory, KIP, UTCB frames)."""
    out = [tuple(r) for r in k.config.reserved]
    out.append(where.pool)
    out.append((where.kip, where.kip + (1 << k.config.kip_area_log2)))
    out.append((where.utcb_area, where.utcb_area + (1 << k.config.utcb_area_log2)))
    return out   # type: ignore[return-value]


def check_mappings(k: Kernel, where: Where) -> None:
    """The mapping database is a forest rooted in sigma0's RAM that never reaches
    kernel memory, the KIP or UTCB frames, nor the kernel's virtual areas."""
    page = k.page_size
    lo, hi = k.config.main_memory
    forbidden = _forbidden_frames(k, where)
    top = max(b for _, b in forbidden)
    spaces = set(map(id, k.spaces))
    rooted: set[int] = set()          # nodes known to trace back to sigma0
    for s in k.spaces:
        for va, n in s.pages.items():
            where = f"space {s.ident} page {va:#x}"
            if n.space is not s or n.vaddr != va or va % page or n.paddr % page:
                raise Violation(f"{where}: node filed in the wrong place")
            if not n.rights or n.rights & ~RWX:
                raise Violation(f"{where}: rights {n.rights:#x}")
            if not lo <= n.paddr < hi:
                raise Violation(f"{where}: frame {n.paddr:#x} is not RAM")
            if s.physical:
                if n.parent is not None or n.paddr != va:
                    raise Violation(f"{where}: sigma0's node is not an idempotent root")
            else:
                if n.paddr < top and any(a <= n.paddr < b for a, b in forbidden):
                    raise Violation(f"{where}: maps kernel memory / KIP / UTCB frame "
                                    f"{n.paddr:#x}")
                if s.reserved(va) or k.mdb.in_kernel_area(va, page):
                    raise Violation(f"{where}: a user mapping in the KIP/UTCB/kernel area")
                p = n.parent
                if p is None:
                    raise Violation(f"{where}: no parent (not derived from sigma0)")
                if id(p.space) not in spaces or p.space.pages.get(p.vaddr) is not p:
                    raise Violation(f"{where}: parent is not in the database")
                if n not in p.children:
                    raise Violation(f"{where}: missing from its parent's children")
                if p.paddr != n.paddr or n.rights & ~p.rights:
                    raise Violation(f"{where}: frame/rights differ from the parent's")
                if not _traces_to_sigma0(n, rooted):
                    raise Violation(f"{where}: does not trace back to sigma0 (or a cycle)")
            ids = [id(c) for c in n.children]
            if len(ids) != len(set(ids)):
                raise Violation(f"{where}: a child listed twice")
            for c in n.children:
                if c.parent is not n or c.space.pages.get(c.vaddr) is not c \
                        or id(c.space) not in spaces:
                    raise Violation(f"{where}: child {c.vaddr:#x} of space {c.space.ident} "
                                    "is not in the database")


def _traces_to_sigma0(n: Node, rooted: set[int]) -> bool:
    """n's ancestors end in a sigma0 node. Memoised in ``rooted``, so the whole
    check stays linear however deep a guest chains its mappings."""
    chain: list[Node] = []
    seen: set[int] = set()
    a = n
    while a.parent is not None and id(a) not in rooted:
        if id(a) in seen:
            return False                  # a cycle among its ancestors
        seen.add(id(a))
        chain.append(a)
        a = a.parent
    if id(a) not in rooted and not a.space.physical:
        return False
    rooted.update(map(id, chain))
    return True


def _check_page_tables(m: FakeMachine) -> None:
    k = m.kernel
    pt = m.pt
    assert pt is not None
    page = k.page_size
    live_roots = set()
    for s in k.spaces:
        if s.physical or s.host:
            continue
        if not s.root:
            if s.pages:
                raise Violation(f"space {s.ident} has mappings but no page tables")
            continue
        live_roots.add(s.root)
        want: dict[int, tuple[int, int]] = {}
        kip = s.kip_area
        for off in range(0, kip.size, page):
            want[kip.base + off] = (k.config.kip_addr + off, R | X)
        for va, frame in s.utcb_frames.items():
            want[va] = (frame, R | W)
        for va, n in s.pages.items():
            hw = n.hw_rights()
            if hw:
                want[va] = (n.paddr, hw)
        have = pt.tables.get(s.root)
        if have is None:
            raise Violation(f"space {s.ident}: page-table root {s.root:#x} was freed")
        if have != want:
            extra = sorted(set(have) - set(want))
            missing = sorted(set(want) - set(have))
            differ = sorted(va for va in set(have) & set(want) if have[va] != want[va])
            detail = (f"extra {[hex(v) for v in extra[:4]]} missing "
                      f"{[hex(v) for v in missing[:4]]} differ "
                      f"{[(hex(v), have[v], want[v]) for v in differ[:4]]}")
            raise Violation(f"space {s.ident}: page tables differ from the database: "
                            f"{detail}")
    stale = set(pt.tables) - live_roots
    if stale:
        raise Violation(f"page tables of no live space: {sorted(map(hex, stale))}")


@functools.cache
def _pack(ws: int) -> struct.Struct:
    return struct.Struct(f"<{UTCB_WORDS}{'I' if ws == 4 else 'Q'}")


def check_utcbs(k: Kernel, read: Callable[[int, int], bytes | None],
                settled: Callable[[Tcb], bool] = lambda t: True) -> None:
    """Every user thread's UTCB in memory (``read(kernel address, n)``) equals the
    host's copy -- of the ``settled`` threads: on a real CPU a thread that ran
    user code since its last system call may have written its UTCB since."""
    ws = k.arch.word_size
    users: dict[int, int] = {}
    for t in k.threads.values():
        if t.host is None and t.activated:
            ka = k.utcb_kaddr(t)
            users[ka] = users.get(ka, 0) + 1
    for t in k.threads.values():
        if t.host is not None or not t.activated or t.utcb is None or not settled(t):
            continue
        ka = k.utcb_kaddr(t)
        if not ka:
            raise Violation(f"activated thread {k.name_of(t)} has no UTCB frame")
        if users[ka] > 1:
            continue             # two threads given one UTCB location: the guest's own doing
        data = read(ka, UTCB_WORDS * ws)
        if data is None:
            raise Violation(f"thread {k.name_of(t)}: its UTCB frame {ka:#x} cannot be read")
        if data != _pack(ws).pack(*t.utcb.words):
            words = [int.from_bytes(data[i:i + ws], "little") for i in range(0, len(data), ws)]
            bad = next(i for i in range(UTCB_WORDS) if words[i] != t.utcb.words[i])
            raise Violation(f"thread {k.name_of(t)}: UTCB word {bad} is "
                            f"{words[bad]:#x} in memory, {t.utcb.words[bad]:#x} in the host copy")


# --- the generator ------------------------------------------------------------------

@dataclass
class Call:
    """One random system call: its number, argument registers, and UTCB words
    (index -> value: message registers, buffer registers, some TCRs)."""

    number: int
    args: tuple[int, ...]
    utcb: dict[int, int]

    @property
    def name(self) -> str:
        return Syscall(self.number).name if self.number in Syscall._value2member_map_ \
            else "unknown"


class Generator:
    """Random but interesting kernel entries for the thread the fake CPU runs."""

    def __init__(self, rng: random.Random, m: FakeMachine, where: Where = FAKE_WHERE,
                 finite_timeouts: bool = False) -> None:
        self.rng = rng
        self.m = m
        self.where = where
        # On a real machine time is real: no "never", no minutes-long periods, so
        # blocked threads come back to make more calls.
        self.finite_timeouts = finite_timeouts
        self.bits = m.arch.word_bits
        self.mask = m.arch.word_mask
        self.deleted: list[int] = []
        self.ever: set[int] = set()

    # value pools ---------------------------------------------------------------
    def thread_id(self) -> int:
        r, m, k = self.rng, self.m, self.m.kernel
        live = [t for t in k.threads.values()]
        self.ever.update(t.global_id for t in live)
        c = r.random()
        if c < 0.45 and live:
            return r.choice(live).global_id
        if c < 0.55:
            return r.choice([0, any_thread(self.bits), any_local_thread(self.bits)])
        if c < 0.7:
            cur = k.current
            mates = [t for t in cur.space.threads] if cur else []
            if mates:
                return r.choice(mates).utcb_addr          # a local id
        if c < 0.8 and self.deleted:
            return r.choice(self.deleted)
        if c < 0.9:
            no = r.choice([r.randrange(1, 64), r.randrange(64, 96), r.randrange(96, 140)])
            return m.tid(no, r.choice([1, 1, 1, 2, 0x3F]))
        return r.getrandbits(self.bits)

    def address(self) -> int:
        r, k = self.rng, self.m.kernel
        c = r.random()
        cur = k.current
        if c < 0.3 and cur is not None and cur.space.pages:
            return r.choice(list(cur.space.pages)) + r.choice([0, 4, 0xFFC, r.randrange(4096)])
        wh = self.where
        if c < 0.5:
            return wh.free + r.randrange(0x40_0000)
        if c < 0.6:
            return wh.spare + r.randrange(0x40_0000)      # the new spaces' areas
        if c < 0.7:
            return r.choice([wh.kip, wh.utcb_area + r.randrange(0x4_0000), wh.kernel_area[0],
                             wh.root_ip, wh.root_sp - 8, 0, 0x1000])
        if c < 0.8:
            return 0x1000_0000 + r.randrange(0x10_0000)
        return r.getrandbits(self.bits)

    def fpage(self) -> int:
        r = self.rng
        c = r.random()
        rights = r.choice([RWX, R, R | W, R | X, r.randrange(8)])
        if c < 0.05:
            return 0
        if c < 0.1:
            return Fpage(0, 1, rights).raw(self.bits)       # the complete address space
        size = r.choice([12, 12, 12, 13, 14, 16, 20, r.randrange(0, 33)])
        if c < 0.8:
            base = self.address() & ~((1 << size) - 1) if size < self.bits else 0
            return Fpage(base, size, rights).raw(self.bits)
        return r.getrandbits(self.bits)

    def timeout(self) -> int:
        r = self.rng
        c = r.random()
        if c < 0.3:
            return 0x400                                   # zero
        if self.finite_timeouts:
            return (r.randrange(5, 8) << 10) | r.randrange(1, 0x400)    # 32 us .. 130 ms
        if c < 0.7:
            return (r.randrange(5, 15) << 10) | r.randrange(1, 0x400)    # ~1 us .. 16 ms
        if c < 0.8:
            return 0                                       # never
        return r.getrandbits(16)

    def timeouts(self) -> int:
        return (self.timeout() << 16) | self.timeout()

    def word(self) -> int:
        r = self.rng
        c = r.random()
        if c < 0.25:
            return self.thread_id()
        if c < 0.45:
            return self.address()
        if c < 0.6:
            return self.fpage()
        if c < 0.75:
            return r.choice([0, 1, 2, 3, self.mask, self.mask - 1, 0x3F, 0x40, 0xFF])
        return r.getrandbits(self.bits)

    def control(self) -> int:
        bits = 0
        for b in range(16):
            if self.rng.random() < 0.3:
                bits |= 1 << b
        return bits if self.rng.random() < 0.9 else self.rng.getrandbits(self.bits)

    # message and buffer registers --------------------------------------------------
    def message(self) -> list[int]:
        r = self.rng
        u = r.choice([0, 0, 1, 2, 3, r.randrange(0, 12), r.randrange(0, 70)])
        items: list[int] = []
        for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
            kind = r.random()
            if kind < 0.55:
                typ = GRANT_ITEM_TYPE if r.random() < 0.25 else MAP_ITEM_TYPE
                snd_base = self.address() & ~0x3FF
                items += [snd_base | (typ << 1) | r.randrange(2), self.fpage()]
            elif kind < 0.9:
                ptrs = r.choice([1, 1, 2, 3])
                length = r.choice([0, 1, 8, 100, 4096, 5000, r.randrange(0x3000)])
                compound = r.random() < 0.2
                items.append((length << 10) | (compound << 9) | ((ptrs - 1) << 4)
                             | r.randrange(2))
                items += [self.address() for _ in range(ptrs)]
            else:
                items += [self.word(), self.word()]
        t = len(items) if r.random() < 0.9 else r.randrange(0, 70)
        label = r.choice([0, r.getrandbits(16), kernel_label(KernelLabel.SIGMA0, self.bits),
                          kernel_label(KernelLabel.PAGEFAULT, self.bits) | r.randrange(8)])
        flags = r.choice([0, 0, r.randrange(16)])
        tag = MsgTag(u=u & 0x3F, t=t & 0x3F, flags=flags, label=label & 0xFFFF).raw(self.bits)
        untyped = [self.word() for _ in range(min(u, 12))]
        if label == kernel_label(KernelLabel.SIGMA0, self.bits) and untyped:
            untyped[0] = self.fpage()
        return [tag, *untyped, *items]

    def buffers(self) -> list[int]:
        r = self.rng
        if r.random() < 0.5:
            window = Fpage(0, 1) if r.random() < 0.5 else \
                Fpage(0x1000_0000 + r.randrange(16) * 0x1_0000, r.choice([12, 16, 20]))
            acc = window.raw(self.bits) & ~0xF | r.randrange(2)
        else:
            acc = self.fpage() & ~0xF | r.randrange(2)
        brs = [acc]
        while len(brs) < r.choice([1, 1, 3, 5, 8]):
            ptrs = r.choice([1, 1, 2])
            length = r.choice([0, 8, 100, 4096, r.randrange(0x3000)])
            brs.append((length << 10) | ((r.random() < 0.2) << 9) | ((ptrs - 1) << 4)
                       | r.randrange(2))
            brs += [self.address() for _ in range(ptrs)]
        return brs[:NUM_BRS]

    def sigma0_request(self) -> tuple[int, tuple[int, ...], list[int]]:
        r = self.rng
        size = r.choice([12, 12, 13, 14, 16])
        base = (self.where.free + r.randrange(0x20_0000)) & ~((1 << size) - 1)
        if r.random() < 0.1:
            base = self.address() & ~0xFFF
        fp = Fpage(base, size, RWX).raw(self.bits)
        tag = MsgTag(u=2, label=kernel_label(KernelLabel.SIGMA0, self.bits)).raw(self.bits)
        s0 = self.m.sigma0
        return int(Syscall.Ipc), (s0, s0, self.timeouts()), [tag, fp, 0]

    def map_message(self) -> tuple[int, tuple[int, ...], list[int]]:
        r, k = self.rng, self.m.kernel
        cur = k.current
        assert cur is not None
        va = r.choice(list(cur.space.pages))
        size = r.choice([12, 12, 12, 13, 14])
        fp = Fpage(va & ~((1 << size) - 1), size, r.choice([RWX, R, R | W, W])).raw(self.bits)
        typ = GRANT_ITEM_TYPE if r.random() < 0.2 else MAP_ITEM_TYPE
        item = (self.address() & ~0x3FF) | (typ << 1)
        tag = MsgTag(u=r.randrange(3), t=2, label=r.getrandbits(8)).raw(self.bits)
        others = [t for t in k.threads.values() if t.host is None and t is not cur]
        to = r.choice(others).global_id if others else self.thread_id()
        words = [tag, *(self.word() for _ in range(MsgTag.from_raw(tag).u)), item, fp]
        frm = r.choice([0, any_thread(self.bits), to])
        return int(Syscall.Ipc), (to, frm, self.timeouts()), words

    # what the running thread does ----------------------------------------------------
    def call(self, c: float) -> Call:
        """The running thread's next system call; ``c`` (0..1) picks a sigma0
        request (c < 0.25, privileged threads) or a map message of pages it has
        (c < 0.45) before a random call."""
        r, k = self.rng, self.m.kernel
        number, args = self.syscall()
        cur = k.current
        if number == Syscall.KDebug and args[0] == KDebugOp.Exit and cur is k.root:
            args = (KDebugOp.PrintChar, ord("."), 0)   # the root's exit ends the run
        msg = self.message()
        utcb: dict[int, int] = {}
        if c < 0.25 and cur is not None and cur.space.privileged:
            number, args, msg = self.sigma0_request()     # memory for the root task
            utcb[BR0] = Fpage(0, 1, RWX).raw(self.bits)
        elif c < 0.45 and cur is not None and cur.space.pages:
            number, args, msg = self.map_message()        # pass on pages it has
        utcb.update(enumerate(msg))
        if r.random() < 0.5:
            utcb.update((BR0 + i, word) for i, word in enumerate(self.buffers()))
        if r.random() < 0.1:
            utcb[Tcr.XferTimeouts] = self.timeouts()
        if r.random() < 0.03:
            utcb[r.choice([Tcr.Pager, Tcr.ExceptionHandler])] = self.thread_id()
        if number == Syscall.ThreadControl and args[1] == 0 \
                and k.thread_by_global(args[0]) is not None:
            self.deleted.append(args[0])
        return Call(number, args, utcb)

    def syscall(self) -> tuple[int, tuple[int, ...]]:
        r = self.rng
        w = self.word
        number = r.choice([int(s) for s in Syscall] + [int(Syscall.Ipc)] * 10
                          + [int(Syscall.Lipc)] * 2 + [int(Syscall.ThreadControl)] * 3
                          + [int(Syscall.Unmap)] * 3 + [int(Syscall.ExchangeRegisters)] * 2
                          + ([0, 14, 99, r.getrandbits(self.bits)] if r.random() < 0.2 else []))
        if number in (Syscall.Ipc, Syscall.Lipc):
            to = self.thread_id() if r.random() < 0.8 else 0
            frm = self.thread_id() if r.random() < 0.8 else 0
            return number, (to, frm, self.timeouts())
        if number == Syscall.ThreadControl:
            dest = self.thread_id()
            space = r.choice([dest, 0, self.thread_id(), self.thread_id()])
            wh = self.where
            utcb = r.choice([self.mask, wh.utcb_area + r.randrange(64) * UTCB_WORDS * self.m.ws,
                             wh.spare + r.randrange(0x40_0000) & ~0x1FF, w()])
            return number, (dest, space, self.thread_id(), self.thread_id(), utcb)
        if number == Syscall.ExchangeRegisters:
            return number, (self.thread_id(), self.control(), w(), w(), w(), w(),
                            self.thread_id())
        if number == Syscall.SpaceControl:
            kip_base = r.choice([self.where.kip, self.where.ram + 0x10_0000,
                                 self.address() & ~0xFFF])
            kip = Fpage(kip_base, 12).raw(self.bits)
            utcb = self.fpage() if r.random() < 0.5 else \
                Fpage(self.where.spare + r.randrange(64) * 0x1_0000, 16).raw(self.bits)
            return number, (self.thread_id(), self.control(), kip if r.random() < 0.8 else w(),
                            utcb, self.thread_id())
        if number == Syscall.Schedule:
            keep = self.mask
            return number, tuple(r.choice([keep, keep, w()]) if i else self.thread_id()
                                 for i in range(5))
        if number == Syscall.ThreadSwitch:
            return number, (self.thread_id(),)
        if number == Syscall.Unmap:
            return number, (r.randrange(8) | (r.random() < 0.3) << 6,)
        if number == Syscall.KDebug:
            op = r.choice([KDebugOp.PrintChar, KDebugOp.PrintString, KDebugOp.ReadChar,
                           KDebugOp.Enter, KDebugOp.Exit, r.randrange(16)])
            return number, (op, w(), r.randrange(64))
        return number, tuple(w() for _ in range(7))


# --- the driver -------------------------------------------------------------------------

def _boot(arch_name: str, rng: random.Random) -> FakeMachine:
    m = FakeMachine(ARCHES[arch_name], paging=True)
    for i in range(rng.randrange(1, 4)):
        m.spawn(100 + i, prio=rng.choice([50, 100, 200, 255]))
    for i in range(rng.randrange(1, 4)):
        m.spawn_space(120 + i, prio=rng.choice([50, 100, 200]))
    return m


def _set_word(m: FakeMachine, index: int, value: int) -> None:
    m.set_word(m.utcb_addr + index * m.ws, value)


class Fuzzer:
    """Drive one seed: ``step()`` issues one random kernel entry."""

    def __init__(self, seed: int, arch: str = "fake32") -> None:
        if arch not in ARCHES:
            raise ValueError(f"unknown fake arch {arch!r} (one of {', '.join(ARCHES)})")
        self.seed = seed
        self.arch = arch
        self.rng = random.Random(seed)
        self.boots = 0
        self.counts: dict[str, int] = {}
        self._reboot()

    def _reboot(self) -> None:
        self.boots += 1
        self.m = _boot(self.arch, self.rng)
        self.gen = Generator(self.rng, self.m)
        self.console_at = 0

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def step(self) -> None:
        m, r, gen = self.m, self.rng, self.gen
        if m.running is None:
            wake = m.last.wake_at_us
            if wake is not None and r.random() < 0.8:
                m.tick(max(1, wake - m.clock.now_us()))      # straight to the deadline
            else:
                m.tick(r.choice([1, 100, 10_000, 1_000_000]))
            self._count("idle tick")
            if m.running is None and m.last.wake_at_us is None:
                self._reboot()                     # nothing will ever run again
            return
        c = r.random()
        if c < 0.06:
            m.tick(r.choice([1, 500, 10_000, 50_000, r.randrange(200_000)]))
            self._count("tick")
            return
        if c < 0.13:
            addr = gen.address() if r.random() < 0.5 else \
                (0x1000_0000 + r.randrange(0x10_0000) if r.random() < 0.5
                 else RAM + 0x80_0000 + r.randrange(0x20_0000))
            access = r.choice([R, W, X, R | W, r.randrange(8)])
            snap = m.mem.read(m.pa(m.utcb_addr), UTCB_WORDS * m.ws)
            m.trap(Trap(TrapKind.PAGEFAULT, 0, dict(m.cpu, pc=gen.address()), m.utcb_addr,
                        snap, fault_addr=addr, fault_access=access))
            self._count("pagefault")
            return
        if c < 0.14:
            kind = r.choice([TrapKind.EXCEPTION, TrapKind.INTERRUPT])
            snap = m.mem.read(m.pa(m.utcb_addr), UTCB_WORDS * m.ws)
            m.trap(Trap(kind, r.randrange(70), dict(m.cpu), m.utcb_addr, snap))
            self._count(kind.value)
            return
        call = gen.call(c)
        for i, word in call.utcb.items():
            _set_word(m, i, word)
        res = m.syscall(call.number, *call.args)
        self._count(call.name)
        if res.exit_status is not None:
            self._reboot()


def run(count: int, seed: int, arch: str = "fake32", check_every: int = 1,
        progress: Callable[[int, Result], None] | None = None) -> Result:
    """``count`` random kernel entries from ``seed``; stops at the first violation."""
    fz = Fuzzer(seed, arch)
    res = Result(seed=seed, arch=arch)
    for i in range(count):
        boots = fz.boots
        try:
            fz.step()
            if fz.boots == boots and (i + 1) % check_every == 0:
                check(fz.m, fz.console_at)
                fz.console_at = len(fz.m.console.output)
        except Violation as exc:
            res.violation, res.at_call = str(exc), i
            break
        except Exception as exc:       # the kernel (or the fake machine) raised
            res.violation, res.at_call = f"host exception: {exc!r}", i
            break
        res.calls = i + 1
        if progress is not None and (i + 1) % 10_000 == 0:
            res.boots, res.counts = fz.boots, fz.counts
            progress(i + 1, res)
    res.boots, res.counts = fz.boots, dict(fz.counts)
    return res
