"""The run loop: the one owner of the connection to QEMU's gdbstub.

Per kernel entry: stop -> read the entry block (one ``m``) -> the arch side
(:class:`~l4gdb.archkit.trappath.TrapPath`: the plugin's glue and guest timer)
decodes a Trap -> the kernel model answers a Resume -> the arch side encodes
the exit block (one ``M``) -> continue at the stub's return path.

Time, two ways. With a guest timer (the arch's ``l4gdb_guest_timer``) the
guest's own periodic tick interrupts user code and is a kernel entry like any
other; the kernel clock is the guest's counter at entry; an idle CPU waits in
the stub (``wfi``) while the host sleeps in its wait for the next stop.
Without one, deadlines (timeouts, timeslices) are met by interrupting the
guest; when no thread can run, the CPU stays stopped and the host sleeps
until the next deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from l4gdb.archkit.trappath import TrapPath
from l4gdb.errors import InfrastructureError
from l4gdb.hookspecs import GuestTimer, TrapGlue
from l4gdb.kernel.abi import ArchInfo, Resume, Trap, TrapKind
from l4gdb.kernel.clock import Clock
from l4gdb.kernel.kernel import Kernel
from l4gdb.target.errors import TargetError
from l4gdb.target.interface import Target

# How long the loop waits at most in one go, so that stop requests (Ctrl-C,
# expectations met, overall timeout) are noticed promptly.
POLL_S = 0.05


@dataclass
class LoopStats:
    traps: int = 0
    interrupts: int = 0
    idle_s: float = 0.0
    idle_entries: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Finished(Exception):
    """The system is done: the root task exited or the kernel said so."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Deadlock(Exception):
    """No thread can run and nothing will ever wake one."""


class HostLoop:
    """Serves kernel entries until ``should_stop()`` is true or the system finishes."""

    def __init__(self, arch: ArchInfo, glue: TrapGlue, rsp: Target, kernel: Kernel,
                 clock: Clock, timer: GuestTimer | None = None) -> None:
        self.arch = arch
        # the timer: the guest ticks itself (see module doc)
        self.path = TrapPath(arch, glue, clock, timer)
        self.timer = timer
        self.glue = glue
        self.rsp = rsp
        self.kernel = kernel
        self.clock = clock
        self.stats = LoopStats()
        self._wake_at_us: int | None = None
        self._running = False          # the CPU is executing guest code
        self._idle = False             # CPU stopped in the kernel with nothing to run
        self._parked = False           # at the breakpoint, exit block written, not resumed
        self.user_stopped = False      # stopped in user mode for a debugger
        self._idle_stopped = False     # stopped for a debugger in the stub's idle loop
        self.user_breakpoints: set[int] = set()
        # Sees (and may replace) every kernel entry before the kernel does, with
        # the CPU stopped: `l4gdb fuzz` on QEMU turns its workers' calls into
        # random ones and checks the invariants there.
        self.before_trap: Callable[[Trap], Trap] | None = None

    # -- one trap ---------------------------------------------------------
    def _apply(self, resume: Resume, go: bool = True) -> None:
        """Carry out the kernel's decision; the CPU is stopped at the trap breakpoint.

        With ``go`` False the exit block is written but the CPU stays parked at
        the breakpoint until :meth:`run` (a debugger is looking at it)."""
        if resume.exit_status is not None:
            raise Finished(resume.exit_status)
        self._wake_at_us = resume.wake_at_us
        out = self.path.encode(resume)
        for addr, data in out.writes:
            self.rsp.write_memory(addr, data)
        if out.block is None:
            self._idle = True              # nothing to run: the CPU stays stopped
            return
        if out.idle_in_stub:
            self.stats.idle_entries += 1
        self.rsp.write_memory(self.glue.exit_block_addr, out.block)
        self._idle = False
        self._parked = True
        if go:
            self._go()

    def _go(self) -> None:
        """Let a stopped CPU run: from the breakpoint, continue at the return path,
        past it (QEMU would stop on it again if continued where it is)."""
        if self._parked:
            self._parked = False
            self.rsp.resume(self.glue.return_addr)
            self._running = True
        elif self.user_stopped or self._idle_stopped:
            self.user_stopped = False
            self._idle_stopped = False
            self.rsp.resume()
            self._running = True

    def _enter_kernel(self, stopped_regs: dict[str, int]) -> None:
        """Bring a CPU stopped in user mode to the trap breakpoint, in kernel mode."""
        self.rsp.write_registers(self.glue.enter_kernel(stopped_regs))
        self.rsp.resume()
        stop = self.rsp.wait_stop(timeout=10)
        trap = self._read_trap() if stop is not None else None
        if trap is not None and trap.kind is TrapKind.INTERRUPT:
            # An interrupt came first (the guest timer's tick, a device): the CPU is
            # in the kernel all the same; the kernel takes the interrupt on its next
            # entry (the decision for this one is already made).
            self.kernel.queue_interrupt(trap.number)
            return
        if trap is None or not self.glue.is_preempt_entry(trap):
            raise InfrastructureError(f"the preemption gate did not enter the kernel "
                                      f"({stop}, {trap})")

    def _handle(self, trap: Trap) -> Resume:
        self.path.observe(trap)
        if self.before_trap is not None:
            trap = self.before_trap(trap)
        self.stats.traps += 1
        key = trap.kind.value
        self.stats.by_kind[key] = self.stats.by_kind.get(key, 0) + 1
        return self.kernel.handle(trap)

    def boot(self) -> None:
        """Run the guest to its first kernel entry and hand it the root task."""
        self.rsp.insert_breakpoint(self.glue.bp_addr)
        self.rsp.resume()
        stop = self.rsp.wait_stop(timeout=30)
        if stop is None:
            raise InfrastructureError("the kernel image did not reach its first kernel entry "
                                      "in 30 s")
        trap = self._read_trap()
        if trap is None or trap.kind is not TrapKind.BOOT:
            raise InfrastructureError(f"the kernel image's first entry is not a boot entry "
                                      f"({trap})")
        # Park: the root task is ready but the CPU stays in the kernel until run(),
        # so that a debugger can attach to a stopped system first.
        for addr, data in self.path.start(self.rsp.read_memory):
            self.rsp.write_memory(addr, data)
        if self.timer is not None:
            self.kernel.tick_irq = self.timer.tick_irq
            self.kernel.irq_range = self.timer.valid_irqs()
        self._apply(self._handle(trap), go=False)

    # The timer policy lives in the arch side (TrapPath documents it).
    @property
    def tick_us(self) -> int:
        return self.path.tick_us

    @property
    def tick_clock(self) -> bool:
        return self.path.tick_clock

    @tick_clock.setter
    def tick_clock(self, on: bool) -> None:
        self.path.tick_clock = on

    @property
    def tick_skip(self) -> bool:
        return self.path.tick_skip

    @tick_skip.setter
    def tick_skip(self, on: bool) -> None:
        self.path.tick_skip = on

    def _read_trap(self) -> Trap | None:
        addr, size = self.glue.entry_block_addr, self.glue.entry_block_size
        try:
            block = self.rsp.read_memory(addr, size)
        except TargetError:
            # Stopped in user mode with the MMU on: the gdbstub reads with the CPU's
            # current (user) rights and the kernel's pages are privileged. The stub's
            # blocks sit at their physical address (the glue's entry_block_paddr when
            # that differs from the virtual one): read them physically.
            paddr = getattr(self.glue, "entry_block_paddr", None)
            block = self.rsp.read_memory(addr if paddr is None else paddr, size, physical=True)
        return self.path.decode(block)

    def _deadline_passed(self) -> bool:
        if self.timer is not None:
            return False               # the guest's tick enters the kernel by itself
        return self._wake_at_us is not None and self.clock.now_us() >= self._wake_at_us

    def _timer_trap_while_idle(self) -> None:
        self._apply(self._handle(Trap(TrapKind.TIMER)))

    def _interrupted(self) -> None:
        """The guest was stopped by us at a deadline: preempt or let it go on."""
        self.stats.interrupts += 1
        regs = self.rsp.read_registers()
        pc = regs[self.arch.ip_reg]
        if self.glue.in_kernel(pc):
            # Inside a stub: it reaches the breakpoint (or user mode) by itself.
            self.rsp.resume()
            self._running = True
            return
        user = self.glue.user_regs_from_gdb(regs)
        resume = self._handle(Trap(TrapKind.TIMER, regs=user))
        if resume.exit_status is None and resume.thread is not None and resume.regs == user \
                and not resume.writes:
            self._wake_at_us = resume.wake_at_us
            self.rsp.resume()         # same thread, same registers: just go on
            self._running = True
            return
        self._enter_kernel(regs)
        self._apply(resume)

    def run(self, should_stop: Callable[[], bool]) -> None:
        """Serve traps until ``should_stop()`` or Finished/Deadlock is raised."""
        self._go()
        while not should_stop() and not self.user_stopped:
            if self._idle:
                if self._wake_at_us is None:
                    raise Deadlock("no thread can run and no timeout is pending")
                wait_s = (self._wake_at_us - self.clock.now_us()) / 1e6
                if wait_s > 0:
                    nap = min(wait_s, POLL_S)
                    self.stats.idle_s += nap
                    time.sleep(nap)
                    continue
                self._timer_trap_while_idle()
                continue
            timeout = POLL_S
            if self._wake_at_us is not None and self.timer is None:
                timeout = max(0.0, min(POLL_S, (self._wake_at_us - self.clock.now_us()) / 1e6))
            stop = self.rsp.wait_stop(timeout=timeout)
            if stop is None:
                if self._deadline_passed():
                    self.rsp.interrupt()
                    stop = self.rsp.wait_stop(timeout=10)
                    if stop is None:
                        raise InfrastructureError("QEMU did not stop when interrupted")
                    self._running = False
                    if self._is_trap_stop(stop):
                        self._serve_trap()
                    else:
                        self._interrupted()
                continue
            self._running = False
            self._serve_trap()

    def _is_trap_stop(self, stop) -> bool:
        return getattr(stop, "signal", 5) == 5

    def _serve_trap(self) -> None:
        trap = self._read_trap()
        if trap is not None:
            self._apply(self._handle(trap))
            return
        # Not a kernel entry: a debugger's breakpoint, a single step, or user code
        # that jumped onto the kernel's breakpoint.
        regs = self.rsp.read_registers()
        pc = regs[self.arch.ip_reg]
        if pc in self.user_breakpoints:
            self.user_stopped = True          # a debugger's breakpoint: run() returns
        elif pc == self.glue.bp_addr:
            self._user_in_kernel(regs)
        else:
            self._interrupted()

    def _user_in_kernel(self, regs: dict[str, int]) -> None:
        """User code executing the kernel's breakpoint (the stub writes the entry block
        before it gets there, so this is a user jump): a fault on a kernel address."""
        user = self.glue.user_regs_from_gdb(regs)
        resume = self._handle(Trap(TrapKind.PAGEFAULT, regs=user, fault_addr=user[self.arch.ip_reg],
                                   fault_access=1))
        self._enter_kernel(regs)
        self._apply(resume)

    def stop_cpu(self) -> None:
        """Make sure the CPU is stopped (before teardown)."""
        if self._running:
            self.rsp.interrupt()
            self.rsp.wait_stop(timeout=2)      # a frozen QEMU is killed after that
            self._running = False

    # -- a debugger's view -------------------------------------------------
    # Stopped "for a debugger" means one of: parked at the breakpoint with the next
    # thread's exit block written, stopped in user mode (the current thread's
    # registers are the CPU's), or idle (nothing to run).

    def halt(self) -> None:
        """Stop the world for a debugger, in a state :meth:`run` can resume."""
        if not self._running:
            return
        self.rsp.interrupt()
        self._wait_stopped(10)
        self._running = False
        self._settle()

    def _wait_stopped(self, timeout: float) -> None:
        # wait_stop also returns early when a watched fd (a debugger's request) is
        # readable: keep waiting for the stop itself.
        deadline = time.monotonic() + timeout
        while self.rsp.wait_stop(timeout=max(0.0, deadline - time.monotonic())) is None:
            if time.monotonic() >= deadline:
                raise InfrastructureError("QEMU did not stop when interrupted")
            time.sleep(0.001)

    def _settle(self) -> None:
        """After a stop of our own making: serve a pending kernel entry (parked after
        it), or stay in user mode; never leave the CPU inside a stub."""
        for _ in range(10000):
            pc = self.rsp.read_registers()[self.arch.ip_reg]
            if pc == self.glue.bp_addr:
                # The entry block is complete only once the stub reached the breakpoint.
                trap = self._read_trap()
                if trap is None:
                    raise InfrastructureError("stopped at the kernel breakpoint without an entry")
                resume = self._handle(trap)
                if resume.exit_status is not None:
                    raise Finished(resume.exit_status)
                self._apply(resume, go=False)
                return
            if not self.glue.in_kernel(pc):
                self.user_stopped = True
                return
            if self.timer is not None and self.timer.idle_pc <= pc < self.timer.idle_pc + 12:
                self._idle_stopped = True      # waiting for an interrupt: nothing to serve
                return
            self.rsp.step(timeout=10)   # inside a stub on its way in or out
        raise InfrastructureError("the CPU did not leave the kernel stub")

    def live_registers(self) -> dict[str, int] | None:
        """The running thread's registers when stopped in user mode, else None."""
        if not self.user_stopped:
            return None
        return self.glue.user_regs_from_gdb(self.rsp.read_registers())

    def step(self) -> None:
        """Execute one user instruction of the current thread (a kernel entry it makes
        is served; the debugger then sees the thread the kernel runs next)."""
        if self._parked:
            # Run the return path up to the first user instruction of the next thread.
            target = self.kernel.current.regs[self.arch.ip_reg] if self.kernel.current else None
            if target is None:
                return
            self.rsp.insert_breakpoint(target)
            try:
                self._go()
                self.rsp.wait_stop(timeout=10)
            finally:
                self.rsp.remove_breakpoint(target)
            self._running = False
            self.user_stopped = True
            return
        if not self.user_stopped:
            return
        self.user_stopped = False
        self.rsp.step(timeout=10)
        self._settle()
