"""``l4gdb gdb``: a person's GDB on a running system.

gdb-multiarch runs on the terminal (or with ``--batch``) and connects to the
host's own stub; this process owns the run loop. While GDB has the system
stopped, its requests (registers, memory, breakpoints, ``monitor``) are
served here; ``continue`` runs the host loop until a breakpoint of the
person's, a Ctrl-C, or the end of the system; ``step`` runs one user
instruction (serving any kernel entry it makes).
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from l4gdb.debugger.gdbview import KernelProvider, run_dir
from l4gdb.errors import DEFAULT_ARCH, ExitCode, InfrastructureError, UsageError
from l4gdb.runtime.console import ConsoleWatcher
from l4gdb.runtime.hostloop import Deadlock, Finished
from l4gdb.runtime.plugins import get_plugins
from l4gdb.target.funnel import HostFunnel
from l4gdb.target.stub import SIGINT, SIGTRAP, GdbStub, parse_listen

GDB_EXTENSION = Path(__file__).with_name("gdbext") / "l4gdb_commands.py"


@dataclass
class DebugOptions:
    arch: str = DEFAULT_ARCH
    program: str = "hello"
    extra_files: list[str] = field(default_factory=list)
    batch: bool = False
    ex: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    stop_at: str = "main"
    deterministic: bool = False
    listen: str | None = None        # HOST:PORT: the stub on loopback TCP (asked for only)
    wombat: object = None            # a WombatConfig: the system runs the Linux server too


class DebugProvider(KernelProvider):
    """The stub's provider with run control: GDB's resume/step become actions the
    run loop carries out; the running thread's registers are the CPU's."""

    def __init__(self, system) -> None:
        super().__init__(system)
        self.action: str | None = None
        self.loop = system.loop

    def _is_current(self, tid: int) -> bool:
        return self._tcb(tid) is self.kernel.current

    def registers(self, tid: int) -> Mapping[str, int]:
        live = self.loop.live_registers() if self._is_current(tid) else None
        return live if live is not None else super().registers(tid)

    def write_registers(self, tid: int, regs: Mapping[str, int]) -> None:
        if self._is_current(tid) and self.loop.user_stopped:
            self.target.write_registers(dict(regs))
        else:
            super().write_registers(tid, regs)

    def insert_breakpoint(self, addr: int, kind: int) -> None:
        super().insert_breakpoint(addr, kind)
        self.loop.user_breakpoints.add(addr)

    def remove_breakpoint(self, addr: int, kind: int) -> None:
        super().remove_breakpoint(addr, kind)
        self.loop.user_breakpoints.discard(addr)

    def resume(self, step: bool, tid: int | None) -> None:
        self.action = "step" if step else "continue"

    def monitor(self, cmd: str) -> str:
        live = self.loop.live_registers()
        if live is not None and self.kernel.current is not None:
            self.kernel.current.regs.update(live)   # the model shows where it really is
        return super().monitor(cmd)


def _extension_script(tmp: Path) -> Path:
    """The GDB-side commands, with the command list of the one inspection registry."""
    from l4gdb.inspect.commands import FAMILIES

    table = {fam: {name: doc for name, (_, doc) in cmds.items()} for fam, cmds in FAMILIES.items()}
    out = tmp / "l4gdb_commands.py"
    out.write_text(f"L4GDB_COMMANDS = {json.dumps(table)}\n" + GDB_EXTENSION.read_text())
    return out


def gdb_argv(system, stub_address: str, opts: DebugOptions, ext: Path) -> list[str]:
    """``stub_address``: the host stub's unix socket path (or HOST:PORT if asked for)."""
    setup = get_plugins().hook.l4gdb_gdb_setup(arch=system.arch)
    # Setup runs unconfirmed (add-symbol-file would ask); the person gets confirmations back.
    argv = ["gdb-multiarch", "-q", "-nx", "-ex", "set confirm off",
            "-ex", f"set architecture {setup.architecture}"]
    for cmd in setup.init_commands:
        argv += ["-ex", cmd]
    argv += ["-ex", f"file {system.program}",
             "-ex", f"add-symbol-file {system.kernel_elf}",
             "-x", str(ext),
             "-ex", f"target remote {stub_address}"]
    if not opts.batch:
        argv += ["-ex", "set confirm on"]
    if opts.stop_at:
        argv += ["-ex", f"tbreak {opts.stop_at}", "-ex", "continue"]
    for cmd in opts.ex:
        argv += ["-ex", cmd]
    for script in opts.scripts:
        argv += ["-x", script]
    if opts.batch:
        argv.append("-batch")
    return argv


class Session:
    """Runs the system under one GDB until GDB exits."""

    def __init__(self, system, opts: DebugOptions) -> None:
        self.system = system
        self.opts = opts
        self.loop = system.loop
        self.funnel = HostFunnel()
        self.provider = DebugProvider(system)
        try:
            self.stub = GdbStub(self.provider, system.target.rsp.features, funnel=self.funnel,
                                directory=run_dir(system), listen=opts.listen)
        except OSError as exc:          # e.g. --listen on a port in use
            self.funnel.close()
            raise UsageError(f"the gdb stub cannot listen on {opts.listen}: "
                             f"{exc.strerror or exc}") from exc
        system.target.rsp.watch(self.funnel.fileno())
        self.finished: int | None = None

    def current_tid(self) -> int:
        return self.provider.current_thread()

    def _serve_requests(self, timeout: float) -> None:
        select.select([self.funnel], [], [], timeout)
        self.funnel.run_pending()

    def _continue(self) -> None:
        stop = self.provider.stop_requested
        try:
            self.loop.run(lambda: stop.is_set() or self.gdb.poll() is not None)
            if stop.is_set():
                stop.clear()
                self.funnel.run_pending()     # drains the wake-up (nothing else runs now)
                self.loop.halt()
                self.stub.notify_stop(self.current_tid(), SIGINT)
            elif self.loop.user_stopped:
                self.stub.notify_stop(self.current_tid(), SIGTRAP)
        except Finished as fin:
            self._end(fin.status)
        except Deadlock as exc:
            print(f"l4gdb: deadlock: {exc}", file=sys.stderr)
            self._end(ExitCode.FAILED)

    def _step(self) -> None:
        try:
            self.loop.step()
            self.stub.notify_stop(self.current_tid(), SIGTRAP)
        except Finished as fin:
            self._end(fin.status)

    def _end(self, status: int) -> None:
        self.finished = status
        self.system.exit_status = status
        self.stub.notify_exit(status)

    def serve(self, gdb: subprocess.Popen) -> int:
        self.gdb = gdb
        while gdb.poll() is None:
            action, self.provider.action = self.provider.action, None
            if action == "continue" and self.finished is None:
                self._continue()
            elif action == "step" and self.finished is None:
                self._step()
            else:
                self._serve_requests(0.05)
        return gdb.returncode

    def close(self) -> None:
        self.stub.close()
        self.funnel.close()


def debug_program(opts: DebugOptions) -> int:
    """``l4gdb gdb``: returns the exit code."""
    import shutil

    from l4gdb.runtime.system import System, resolve_program, toolchain_for

    if opts.listen is not None:
        try:
            parse_listen(opts.listen)   # before booting: a bad address is a usage error
        except ValueError as exc:
            raise UsageError(f"--listen {exc}") from exc
    if shutil.which("gdb-multiarch") is None:
        raise InfrastructureError("gdb-multiarch not found: apt-get install gdb-multiarch")
    tc = toolchain_for(opts.arch)
    program = resolve_program(tc, opts.program, opts.extra_files)
    console = ConsoleWatcher(out=sys.stdout)
    with contextlib.ExitStack() as stack:
        system = stack.enter_context(System(opts.arch, program, console,
                                                    deterministic=opts.deterministic,
                                                    wombat_config=opts.wombat))
        session = Session(system, opts)
        stack.callback(session.close)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="l4gdb-gdb-")))
        argv = gdb_argv(system, session.stub.address, opts, _extension_script(tmp))
        # GDB owns the terminal and turns Ctrl-C into a stop request; we ignore it.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
        stack.callback(lambda: old is not None and signal.signal(signal.SIGINT, old))
        try:
            gdb = subprocess.Popen(argv, stdin=None if not opts.batch else subprocess.DEVNULL)
        except OSError as exc:
            raise InfrastructureError(f"gdb-multiarch could not start: {exc}") from exc
        stack.callback(_kill, gdb)
        code = session.serve(gdb)
        if code < 0:                    # killed, not quit: the session is lost
            raise InfrastructureError(f"gdb-multiarch died ({_signal_name(-code)}); "
                                      "the system was shut down")
    return ExitCode.OK if code == 0 else ExitCode.FAILED


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)
