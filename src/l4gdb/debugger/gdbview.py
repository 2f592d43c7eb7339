"""The person's view: the host's own gdbstub over the kernel model, and the
gdb-multiarch session (driven through pygdbmi) attached to it.

GDB sees L4 threads (``info threads``) with their saved registers, the guest
memory and symbols of the kernel image and the root task; kernel traps are
served by the host loop on its own connection to QEMU and never reach GDB.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from l4gdb.errors import InfrastructureError
from l4gdb.runtime.plugins import get_plugins
from l4gdb.target.errors import TargetError
from l4gdb.target.funnel import HostFunnel
from l4gdb.target.stub import GdbStub, StubThread

if TYPE_CHECKING:
    from l4gdb.runtime.system import System

ATTACH_TIMEOUT_S = 30.0


def run_dir(system: System) -> str | None:
    """The run's private directory (QEMU's, mode 0700), where the host's stub listens."""
    qemu = getattr(system.target, "qemu", None)
    return getattr(qemu, "private_dir", None)


class KernelProvider:
    """Answers the stub from the kernel model and the target (on the run-loop thread)."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.kernel = system.kernel
        self.target = system.target
        self.resumed = threading.Event()
        self.stop_requested = threading.Event()
        self.user_breakpoints: set[int] = set()

    def _guest_threads(self) -> dict[int, object]:
        """Guest (not host-implemented) threads by thread number, GDB's thread id."""
        return {no: t for no, t in self.kernel.threads.items()
                if t.host is None and t.state.value != "dead"}

    def _tcb(self, tid: int):
        return self._guest_threads().get(tid)

    def threads(self) -> Sequence[StubThread]:
        from l4gdb.kernel.snapshot import state_text

        return [StubThread(no, self.kernel.name_of(t), state_text(self.kernel, t))
                for no, t in self._guest_threads().items()]

    def current_thread(self) -> int:
        guests = self._guest_threads()
        for no, t in guests.items():
            if t is self.kernel.current:
                return no
        return next(iter(guests), 1)

    def registers(self, tid: int) -> Mapping[str, int]:
        t = self._tcb(tid)
        return dict(t.regs) if t is not None else {}

    def write_registers(self, tid: int, regs: Mapping[str, int]) -> None:
        t = self._tcb(tid)
        if t is not None:
            t.regs.update({k: v for k, v in regs.items() if k in t.regs})

    def read_memory(self, addr: int, size: int) -> bytes:
        try:
            return self.target.read_memory(addr, size)
        except TargetError:
            # The CPU cannot translate it right now (MIPS: no TLB entry for the page):
            # the current space's page tables say where it is, read that physically.
            data = self._through_page_tables(addr, size)
            if data is None:
                raise
            return data

    def _through_page_tables(self, addr: int, size: int) -> bytes | None:
        paging, cur = self.kernel.paging, self.kernel.current
        if paging is None or cur is None or not cur.space.root:
            return None
        out = bytearray()
        page = 1 << paging.page_size_log2
        while size > 0:
            hit = paging.translate(cur.space.root, addr)
            if hit is None:
                return None
            chunk = min(size, page - (addr & (page - 1)))
            out += self.target.read_memory(hit[0], chunk, physical=True)
            addr, size = addr + chunk, size - chunk
        return bytes(out)

    def write_memory(self, addr: int, data: bytes) -> None:
        self.target.write_memory(addr, data)

    def insert_breakpoint(self, addr: int, kind: int) -> None:
        self.target.insert_breakpoint(addr, kind)
        self.user_breakpoints.add(addr)

    def remove_breakpoint(self, addr: int, kind: int) -> None:
        self.target.remove_breakpoint(addr, kind)
        self.user_breakpoints.discard(addr)

    def resume(self, step: bool, tid: int | None) -> None:
        self.resumed.set()

    def request_stop(self) -> None:
        self.stop_requested.set()

    def monitor(self, cmd: str) -> str:
        from l4gdb.inspect.commands import run_command

        ig = getattr(self.system, "iguana", None)
        linux = getattr(self.system, "wombat", None)
        return run_command(cmd, self.kernel.snapshot(), ig.snapshot() if ig is not None else None,
                           linux.snapshot() if linux is not None else None)

    def detach(self) -> None:
        self.resumed.set()

    def kill(self) -> None:
        self.stop_requested.set()
        self.resumed.set()


def _pump_until(funnel: HostFunnel, done: threading.Event, timeout: float, what: str) -> None:
    """Serve the stub's requests on this (the run-loop) thread until ``done``."""
    deadline = time.monotonic() + timeout
    while not done.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            raise InfrastructureError(f"gdb: {what} did not finish within {timeout:g} s")
        select.select([funnel], [], [], min(left, 0.05))
        funnel.run_pending()


@contextlib.contextmanager
def attach_gdb(system: System, symbol_files: Sequence[str] = ()) -> Iterator[GdbStub]:
    """Attach gdb-multiarch (pygdbmi) to the host's stub and let it continue.

    Call with the CPU parked in the kernel after boot; returns once GDB has
    resumed the system. On leaving, GDB is told how the system ended and closed.
    """
    from l4gdb.target.gdbmi import GdbSession

    setup = get_plugins().hook.l4gdb_gdb_setup(arch=system.arch)
    funnel = HostFunnel()
    provider = KernelProvider(system)
    rsp = system.target.rsp
    stub = GdbStub(provider, rsp.features, funnel=funnel, directory=run_dir(system))
    gdb = None
    try:
        try:
            gdb = GdbSession(init_commands=(f"set architecture {setup.architecture}",
                                            *setup.init_commands))
        except TargetError as exc:
            raise InfrastructureError(str(exc)) from exc
        gdb.run(f"-file-exec-and-symbols {system.program}")
        gdb.console(f"add-symbol-file {system.kernel_elf}")
        for extra in symbol_files:
            gdb.console(f"add-symbol-file {extra}")
        done = threading.Event()
        errors: list[BaseException] = []

        def connect() -> None:
            try:
                gdb.connect(stub.address, timeout=ATTACH_TIMEOUT_S)
                gdb.continue_async()
            except BaseException as exc:   # reported on the run-loop thread
                errors.append(exc)
                provider.resumed.set()
            finally:
                done.set()

        threading.Thread(target=connect, name="l4gdb-attach", daemon=True).start()
        _pump_until(funnel, provider.resumed, ATTACH_TIMEOUT_S, "attach")
        _pump_until(funnel, done, ATTACH_TIMEOUT_S, "continue")
        if errors:
            raise InfrastructureError(f"gdb could not attach: {errors[0]}")
        system.gdb = gdb
        yield stub
    finally:
        status = system.exit_status
        with contextlib.suppress(Exception):
            stub.notify_exit(status if status is not None else 0)
        if gdb is not None:
            with contextlib.suppress(Exception):
                gdb.close()
        stub.close()
        funnel.close()
