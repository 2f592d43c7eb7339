"""A fake ARM CPU behind the remote-protocol calls ``HostLoop`` makes (for test_hostloop).

The CPU is simulated at the level the loop sees: memory (RAM, walked through the
real ARM short-descriptor tables the kernel model builds), the trap breakpoint,
the entry/exit blocks of ``guest/kernel.S`` and the preemption gate. Guest threads
are generator scripts yielding actions (:class:`Svc`, :class:`Touch`, :class:`Spin`);
a thread's action runs when the CPU is in user mode with that thread's context.

Resumed at the glue's return address, the CPU "executes" the exit block the loop
wrote: copy records, registers, UTCB, TTBR0. It then finds the thread by its
(TTBR0, UTCB) pair and checks that the registers it got back are the ones it
trapped with (only the system-call result registers may change). The next stop
is an entry block, packed as the stub packs it, at the glue's entry block address.
"""

from __future__ import annotations

import random
import struct
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from l4gdb_arm.pagetables import entry_rights
from l4gdb_arm.plugin import (
    DFSR_WNR,
    KINDS,
    PREEMPT_SVC,
    USER_REGS,
    l4gdb_arch_info,
    l4gdb_memory_layout,
    l4gdb_page_tables,
    l4gdb_trap_glue,
)

from l4gdb.archkit.trapblocks import MARK_KIND, UTCB_WORDS
from l4gdb.kernel import BootConfig, BufferConsole, FakeClock, Kernel
from l4gdb.kernel.types import ThreadId
from l4gdb.target.errors import TargetError

ARCH = "arm"
# The stub's symbols (a kernel.S link: text page, then the blocks on the data page).
SYMS = {"_start": 0x40000000, "l4k_trap_bp": 0x400001AC, "l4k_return": 0x400001B0,
        "l4k_preempt_gate": 0x40000274, "l4k_entry_block": 0x40001000,
        "l4k_exit_block": 0x40001280, "l4k_kernel_end": 0x40003000}
LAYOUT = l4gdb_memory_layout(arch=ARCH)
INFO = l4gdb_arch_info(arch=ARCH)
RAM = (LAYOUT["ram_low"], LAYOUT["pt_pool_high"])    # the page-table pool is RAM too
ROOT_IP, ROOT_SP = 0x40100000, 0x40200000
WORD = 4
MASK = 0xFFFFFFFF
USR_MODE = 0x10
RESULT_REGS = frozenset(INFO.syscall_result_regs)
COUNTER_WORD = 22                  # kernel.S: CNTVCT at entry (words 22..23)
COUNTER_HZ = 62_500_000


def tid(no: int, version: int = 1) -> int:
    return ThreadId(no, version).raw(32)


def boot_config() -> BootConfig:
    return BootConfig(kip_addr=LAYOUT["kip"], utcb_area_base=LAYOUT["utcb_area"],
                      utcb_area_log2=LAYOUT["utcb_area_log2"], root_ip=ROOT_IP, root_sp=ROOT_SP,
                      main_memory=(LAYOUT["ram_low"], LAYOUT["ram_high"]),
                      free_memory=(LAYOUT["free_low"], LAYOUT["ram_high"]),
                      reserved=((LAYOUT["kernel_low"], LAYOUT["kernel_high"]),))


# --- what a guest thread does ---------------------------------------------------------

@dataclass
class Svc:
    """``svc #number`` with argument registers and MRs (written to the UTCB first)."""

    number: int
    args: tuple[int, ...] = ()
    mrs: tuple[int, ...] = ()
    arm_irq: bool = False          # the device may fire once this call has trapped


@dataclass
class Touch:
    """A user load (``value`` None) or store; a fault is retried once served."""

    vaddr: int
    value: int | None = None


@dataclass
class Spin:
    """User code that runs ``us`` microseconds without entering the kernel."""

    us: int


Action = Svc | Touch | Spin
Script = Generator[Action, None, None]


@dataclass
class Guest:
    """One guest thread: its script and what the CPU knows of it."""

    name: str
    start_pc: int
    start_sp: int
    script: Callable[[FakeArm, Guest], Script]
    gen: Script | None = None
    action: Action | None = None
    saved: dict[str, int] | None = None     # registers at its last kernel entry
    saved_by: str = ""                      # what that entry was ("svc", "fault", ...)
    key: tuple[int, int] | None = None      # (TTBR0, UTCB) once it ran
    faults_in_a_row: int = 0
    touch_faults: int = 0                   # faults the last completed Touch took
    spin_left: int = 0
    trapped_at_us: int = 0                  # FakeClock when its last svc trapped
    runs: int = 0
    entries: Counter = field(default_factory=Counter)  # its kernel entries, by kind


@dataclass
class Stop:
    signal: int
    kind: str = "signal"


@dataclass
class Device:
    """An interrupt line that fires at random while armed (armed by the handler's wait)."""

    irq: int
    rate: float
    armed: bool = False
    fired: int = 0


class _Memory:
    """Physical RAM in 4 KiB pages."""

    def __init__(self) -> None:
        self.pages: dict[int, bytearray] = {}

    def check(self, pa: int, n: int) -> None:
        if not (RAM[0] <= pa and pa + n <= RAM[1]):
            raise TargetError(f"Cannot access memory at address {pa:#x}")

    def read(self, pa: int, n: int) -> bytes:
        self.check(pa, n)
        out = bytearray()
        while n > 0:
            off = pa & 0xFFF
            chunk = min(n, 0x1000 - off)
            page = self.pages.get(pa & ~0xFFF)
            out += page[off:off + chunk] if page is not None else bytes(chunk)
            pa, n = pa + chunk, n - chunk
        return bytes(out)

    def write(self, pa: int, data: bytes) -> None:
        self.check(pa, len(data))
        i = 0
        while i < len(data):
            off = (pa + i) & 0xFFF
            chunk = min(len(data) - i, 0x1000 - off)
            page = self.pages.setdefault((pa + i) & ~0xFFF, bytearray(0x1000))
            page[off:off + chunk] = data[i:i + chunk]
            i += chunk

    def word(self, pa: int) -> int:
        return struct.unpack("<I", self.read(pa, 4))[0]


class KernelMemory:
    """The kernel model's view of guest memory: the target's reads (as system.py)."""

    def __init__(self, cpu: FakeArm) -> None:
        self.cpu = cpu

    def read(self, addr: int, size: int) -> bytes:
        return self.cpu.read_memory(addr, size)


@dataclass
class FakeArm:
    """The fake target: the methods HostLoop calls on its ``rsp``, and the CPU behind them."""

    clock: FakeClock
    rng: random.Random
    glue: object = None
    mem: _Memory = field(default_factory=_Memory)
    guests: list[Guest] = field(default_factory=list)
    device: Device | None = None
    state: str = "reset"             # reset | kernel | user | stopped | gate
    pending: Stop | None = None
    regs: dict[str, int] = field(default_factory=dict)
    ttbr: int = 0
    utcb: int = 0
    current: Guest | None = None
    entries: Counter = field(default_factory=Counter)   # entry blocks written, by TrapKind value
    gate_entries: int = 0            # entries through the preemption gate (not kernel traps)
    gate_interrupts: int = 0         # device interrupts taken on the way in through the gate
    host_interrupts: int = 0         # interrupt() that stopped user code
    space_switches: int = 0
    breakpoints: set[int] = field(default_factory=set)
    die_after_reads: int | None = None   # the target dies (TargetError) after that many reads
    reads: int = 0
    frozen: bool = False             # a hung QEMU: runs, never stops again
    svc_log: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.glue is None:
            self.glue = l4gdb_trap_glue(arch=ARCH, symbols=SYMS)
        self.bp = SYMS["l4k_trap_bp"]
        self.gate = SYMS["l4k_preempt_gate"]

    # --- the rsp methods --------------------------------------------------------
    def insert_breakpoint(self, addr: int, kind: int = 4) -> None:
        self.breakpoints.add(addr)

    def remove_breakpoint(self, addr: int, kind: int = 4) -> None:
        self.breakpoints.discard(addr)

    def resume(self, addr: int | None = None) -> None:
        if addr is not None:
            if addr != self.glue.return_addr or self.state != "kernel":
                raise AssertionError(f"resume at {addr:#x} in state {self.state}")
            self._return_to_user()
        elif self.state == "reset":
            assert self.bp in self.breakpoints, "booted without the trap breakpoint"
            self._enter(KINDS.boot, "boot")
        elif self.state == "stopped":
            self.state = "user"
        elif self.state == "gate":
            self._preempt_gate()
        else:
            # QEMU continued at the breakpoint stops on it again at once: a loop bug.
            raise AssertionError(f"plain resume in state {self.state}")

    def wait_stop(self, timeout: float | None = None) -> Stop | None:
        if self.frozen:
            self.clock.advance(int((timeout or 0) * 1e6))
            return None
        if self.pending is None and self.state == "user":
            self._run_user(int((timeout or 0) * 1e6))
        stop, self.pending = self.pending, None
        return stop

    def interrupt(self) -> None:
        if self.frozen:
            return
        if self.state == "user":
            assert self.current is not None
            self._save(self.current, "timer")      # the kernel takes this context now
            self.host_interrupts += 1
            self.state = "stopped"
            self.pending = Stop(2)

    def read_registers(self) -> dict[str, int]:
        assert self.state in ("stopped", "kernel"), self.state
        return dict(self.regs) if self.state == "stopped" else {**self.regs, "pc": self.bp}

    def write_registers(self, regs: dict[str, int]) -> None:
        assert self.state == "stopped", f"write_registers in state {self.state}"
        changed = {r for r, v in regs.items() if self.regs.get(r) != v}
        # enter_kernel: the same user context, only pc at the preemption gate.
        assert changed <= {"pc"} and regs["pc"] == self.gate, (changed, regs)
        self.regs.update(regs)
        self.state = "gate"

    def read_memory(self, addr: int, size: int, physical: bool = False) -> bytes:
        self.reads += 1
        if self.die_after_reads is not None and self.reads > self.die_after_reads:
            raise TargetError("Remote connection closed")
        if physical:
            return self.mem.read(addr, size)
        return self.vread(addr, size, user=self.state == "stopped")

    def write_memory(self, addr: int, data: bytes, physical: bool = False) -> None:
        assert self.state == "kernel", f"memory write in state {self.state}"
        if physical:
            self.mem.write(addr, data)
        else:
            self.vwrite(addr, data, user=False)

    def step(self, timeout: float | None = None) -> Stop:
        raise AssertionError("the run loop single-stepped")

    # --- the MMU --------------------------------------------------------------------
    def translate(self, va: int, user: bool, write: bool = False) -> int | None:
        """Physical address of va as the CPU sees it (ARM short descriptors), or None."""
        if not self.ttbr:              # kernel.S's boot table: RAM 1:1 and the kernel window
            window = LAYOUT["kernel_window"]
            if not user and window <= va < window + RAM[1] - RAM[0]:
                return va - window + RAM[0]
            return va
        l1 = self.mem.word(self.ttbr + 4 * (va >> 20))
        if l1 & 3 == 2:                     # a section: the kernel window, privileged
            return None if user else (l1 & 0xFFF00000) | (va & 0xFFFFF)
        if l1 & 3 != 1:
            return None
        e = self.mem.word((l1 & ~0x3FF) + 4 * ((va >> 12) & 0xFF))
        if not e & 2:
            return None
        need = 2 if write else 4
        if user and entry_rights(e) & need != need:
            return None
        return (e & ~0xFFF) | (va & 0xFFF)

    def _pages(self, va: int, n: int, user: bool, write: bool):
        while n > 0:
            chunk = min(n, 0x1000 - (va & 0xFFF))
            pa = self.translate(va, user, write)
            if pa is None:
                raise TargetError(f"Cannot access memory at address {va:#x}")
            yield pa, chunk
            va, n = va + chunk, n - chunk

    def vread(self, va: int, n: int, user: bool) -> bytes:
        return b"".join(self.mem.read(pa, c) for pa, c in self._pages(va, n, user, False))

    def vwrite(self, va: int, data: bytes, user: bool) -> None:
        i = 0
        for pa, c in list(self._pages(va, len(data), user, True)):
            self.mem.write(pa, data[i:i + c])
            i += c

    # --- what user code sees -----------------------------------------------------------
    def mr(self, i: int) -> int:
        """MR i (or a TCR) of the running thread, read through its own space."""
        return struct.unpack("<I", self.vread(self.utcb + 4 * i, 4, user=True))[0]

    def reg(self, name: str) -> int:
        return self.regs[name]

    # --- the stub -----------------------------------------------------------------------
    def _enter(self, kind: int, why: str, detail: int = 0, far: int = 0, fsr: int = 0) -> None:
        """The vector stub: pack the entry block, stop at the trap breakpoint."""
        regs = [self.regs.get(r, 0) & MASK for r in USER_REGS] if kind != KINDS.boot \
            else [0] * len(USER_REGS)
        counter = self.clock.now_us() * (COUNTER_HZ // 1_000_000)
        words = [kind, detail & MASK, far, fsr, *regs, self.utcb, counter & MASK, counter >> 32]
        assert len(words) == self.glue.utcb_index
        block = struct.pack(f"<{len(words)}I", *words)
        if self.utcb and kind != KINDS.boot:
            block += self.vread(self.utcb, UTCB_WORDS * WORD, user=False)
        else:
            block += bytes(UTCB_WORDS * WORD)
        self.mem.write(self.glue.entry_block_addr, block)
        if why == "gate":
            self.gate_entries += 1
        else:
            self.entries[why] += 1
            if self.current is not None and why != "boot":
                self.current.entries[why] += 1
        self.state = "kernel"
        self.pending = Stop(5)

    def _preempt_gate(self) -> None:
        """User code at l4k_preempt_gate: its svc enters the kernel, unless the
        device's interrupt comes first (the loop must queue that one)."""
        dev = self.device
        if dev is not None and dev.armed and self.rng.random() < 0.5:
            dev.armed = False
            dev.fired += 1
            self.gate_interrupts += 1
            self._enter(KINDS.interrupt[1], "interrupt", detail=dev.irq)
            return
        self.regs["pc"] = self.gate + 4
        self._enter(KINDS.syscall, "gate", detail=PREEMPT_SVC)

    def _return_to_user(self) -> None:
        """The return path: apply the exit block, mark 'not in the kernel', run the thread."""
        g = self.glue
        n = len(USER_REGS)
        head = struct.unpack(f"<{n + 4}I", self.mem.read(g.exit_block_addr, (n + 4) * WORD))
        off = g.exit_block_addr + (n + 4) * WORD
        for _ in range(head[n + 3]):
            addr, nwords = struct.unpack("<2I", self.mem.read(off, 8))
            assert 8 + 4 * nwords <= g.exit_block_max, "copy record beyond the exit block"
            self.vwrite(addr, self.mem.read(off + 8, 4 * nwords), user=False)
            off += 8 + 4 * nwords
        assert off - g.exit_block_addr <= g.exit_block_max
        regs = dict(zip(USER_REGS, head[:n], strict=True))
        self.utcb, root = head[n + 1], head[n + 2]
        if root and root != self.ttbr:
            self.space_switches += 1
        if root:
            self.ttbr = root
        self.mem.write(g.entry_block_addr, struct.pack("<I", MARK_KIND))
        self.regs = regs
        self.state = "user"
        self._switch_to(self._identify(regs))

    def _identify(self, regs: dict[str, int]) -> Guest:
        key = (self.ttbr, self.utcb)
        for guest in self.guests:
            if guest.key == key:
                return guest
        for guest in self.guests:      # first run: the start protocol's ip and sp
            if guest.key is None and regs["pc"] == guest.start_pc:
                assert regs["sp"] == guest.start_sp, (guest.name, regs)
                guest.key = key
                return guest
        raise AssertionError(f"the exit block resumes no known thread: ttbr {self.ttbr:#x} "
                             f"utcb {self.utcb:#x} pc {regs['pc']:#x}")

    def _switch_to(self, guest: Guest) -> None:
        """Check that ``guest`` gets back the context it left with."""
        if guest.saved is not None:
            skip = RESULT_REGS if guest.saved_by == "svc" else frozenset()
            diff = {r: (guest.saved[r], self.regs[r]) for r in USER_REGS
                    if r not in skip and guest.saved[r] != self.regs[r]}
            assert not diff, f"{guest.name} resumed with other registers ({guest.saved_by}): {diff}"
        elif guest.gen is None:
            guest.gen = guest.script(self, guest)
        assert self.regs["cpsr"] & 0x1F == USR_MODE
        guest.runs += 1
        self.current = guest

    # --- user mode ----------------------------------------------------------------------
    def _scramble(self) -> None:
        """User code computes between kernel entries: fresh callee-saved values."""
        for r in ("r7", "r8", "r9", "r10", "r11", "r12", "lr"):
            self.regs[r] = self.rng.getrandbits(32)

    def _next_action(self, guest: Guest) -> Action:
        if guest.action is None:
            try:
                guest.action = next(guest.gen)
            except StopIteration:
                guest.action = Spin(1 << 40)    # a finished script spins forever
            if isinstance(guest.action, Spin):
                guest.spin_left = guest.action.us
        return guest.action

    def _run_user(self, budget_us: int) -> None:
        """Run the current thread for at most ``budget_us`` or until it enters the kernel."""
        guest = self.current
        assert guest is not None
        while self.pending is None:
            dev = self.device
            if dev is not None and dev.armed and self.rng.random() < dev.rate:
                dev.armed = False
                dev.fired += 1
                self._save(guest, "interrupt")
                self._enter(KINDS.interrupt[0], "interrupt", detail=dev.irq)
                return
            act = self._next_action(guest)
            if isinstance(act, Spin):
                if guest.spin_left > budget_us:
                    guest.spin_left -= budget_us
                    self.clock.advance(budget_us)
                    return
                self.clock.advance(guest.spin_left)
                budget_us -= guest.spin_left
                guest.action = None
                self.regs["pc"] = (self.regs["pc"] + 4) & MASK
            elif isinstance(act, Touch):
                self._touch(guest, act)
            else:
                self._svc(guest, act)

    def _save(self, guest: Guest, why: str) -> None:
        guest.saved = dict(self.regs)
        guest.saved_by = why

    def _touch(self, guest: Guest, act: Touch) -> None:
        write = act.value is not None
        if self.translate(act.vaddr, user=True, write=write) is None:
            guest.faults_in_a_row += 1
            assert guest.faults_in_a_row <= 2, f"{guest.name}: fault at {act.vaddr:#x} not served"
            self._save(guest, "fault")
            self._enter(KINDS.data_fault, "pagefault", far=act.vaddr,
                        fsr=DFSR_WNR if write else 0)
            return
        guest.touch_faults, guest.faults_in_a_row = guest.faults_in_a_row, 0
        if write:
            self.vwrite(act.vaddr, struct.pack("<I", act.value), user=True)
        else:
            self.regs["r0"] = struct.unpack("<I", self.vread(act.vaddr, 4, user=True))[0]
        guest.action = None
        self.regs["pc"] = (self.regs["pc"] + 4) & MASK

    def _svc(self, guest: Guest, act: Svc) -> None:
        self._scramble()
        for reg, value in zip(INFO.syscall_arg_regs, act.args, strict=False):
            self.regs[reg] = value & MASK
        for i, w in enumerate(act.mrs):
            self.vwrite(self.utcb + 4 * i, struct.pack("<I", w & MASK), user=True)
        self.regs["pc"] = (self.regs["pc"] + 4) & MASK
        guest.action = None
        guest.trapped_at_us = self.clock.now_us()
        self._save(guest, "svc")
        self.svc_log.append((guest.name, act.number))
        if act.arm_irq and self.device is not None:
            self.device.armed = True
        self._enter(KINDS.syscall, "syscall", detail=act.number)


def make_kernel(cpu: FakeArm, console: BufferConsole) -> Kernel:
    """A real kernel model with the ARM plugin's page tables, on the fake CPU's memory."""
    paging = l4gdb_page_tables(arch=ARCH, layout=dict(LAYOUT))
    return Kernel(INFO, boot_config(), KernelMemory(cpu), cpu.clock, console, paging=paging)
