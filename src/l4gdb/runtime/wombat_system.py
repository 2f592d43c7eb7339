"""``l4gdb wombat``: run one Linux program under Wombat, like ``qemu-arm PROGRAM``.

The program's output is the console; the exit status is the program's (128+N
when a signal N killed it); l4gdb's own failures exit with 125. The program's
changes to the rootfs go to a private layer dropped at exit, unless
``rootfs_persist`` (``--rootfs-persist``) writes them through (vfs.py).
"""

from __future__ import annotations

import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from l4gdb.errors import DEFAULT_ARCH, L4gdbError
from l4gdb.target.errors import TargetError

WOMBAT_FAILURE = 125
ROOT_TASK = "wombat-init"


@dataclass
class WombatOptions:
    arch: str = DEFAULT_ARCH
    argv: list[str] = field(default_factory=list)
    rootfs: str | None = None
    rootfs_persist: bool = False          # write through to the rootfs (default: private layer)
    strace: bool = False
    timeout: float | None = None          # seconds; None = no limit
    snapshot: bool = False                # `wombat ps` + `l4 threads` when the program exits
    env: list[str] | None = None
    quiet_boot: bool = True
    # The root task: a native Iguana program beside the Linux processes (a
    # built-in name, C files or an ELF); None: wombat-init, which only waits.
    native: list[str] = field(default_factory=list)


@dataclass
class WombatResult:
    status: int
    message: str = ""
    snapshot_text: str = ""
    stats: dict[str, Any] = field(default_factory=dict)


def root_task(opts: WombatOptions) -> list[str]:
    """The root task's program and extra files: ``--native`` or wombat-init."""
    return opts.native or [ROOT_TASK]


def wombat_config(opts: WombatOptions, err: IO[str]) -> Any:
    """The Linux server's WombatConfig for ``opts`` (strace and notices to ``err``);
    L4gdbError when the rootfs is not there."""
    from l4gdb.runtime.rootfs import default_rootfs
    from l4gdb.wombat.server import DEFAULT_ENV, WombatConfig

    rootfs = Path(opts.rootfs) if opts.rootfs else default_rootfs(opts.arch)
    if not rootfs.is_dir():
        raise L4gdbError(f"--rootfs {rootfs}: not a directory")
    return WombatConfig(rootfs=str(rootfs), argv=list(opts.argv) or ["/bin/sh"],
                        env=list(opts.env) if opts.env is not None else list(DEFAULT_ENV),
                        strace=err if opts.strace else None, notices=err,
                        rootfs_persist=opts.rootfs_persist)


def run_wombat(opts: WombatOptions, out: IO[str] | None = None,
               err: IO[str] | None = None, stdin: Any = None) -> WombatResult:
    """Boot L4 + Iguana + the Linux server, run ``opts.argv``, return its status."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    from l4gdb.runtime.console import ConsoleWatcher, feed_stdin
    from l4gdb.runtime.hostloop import Deadlock, Finished
    from l4gdb.runtime.system import System, resolve_program, toolchain_for
    from l4gdb.wombat.files import raw_input_mode

    try:
        config = wombat_config(opts, err)
        tc = toolchain_for(opts.arch)
        native = root_task(opts)
        program = resolve_program(tc, native[0], native[1:])
    except (L4gdbError, FileNotFoundError) as exc:
        return WombatResult(WOMBAT_FAILURE, str(exc))
    console = ConsoleWatcher(out=out)
    if stdin is None:
        feed_stdin(console)
    else:
        console.feed(stdin)
        console.eof = True              # all the input there is: then reads return 0
    snap: dict[str, str] = {}
    try:
        # closing(): the private upper layer of the rootfs goes with the run
        with System(opts.arch, program, console, wombat_config=config) as system, \
                closing(system.wombat) as server:
            if opts.snapshot:
                server.on_init_exit = lambda: snap.setdefault("text", _snapshot(system))
            deadline = None if opts.timeout is None else time.monotonic() + opts.timeout
            server.console_input = console
            try:
                # An interactive terminal: raw input, the Linux console edits lines.
                tty = server.vfs.console
                host_in = sys.stdin if stdin is None and tty.isatty else None
                with raw_input_mode(host_in) as raw:
                    tty.local = raw
                    system.loop.run(lambda: deadline is not None
                                    and time.monotonic() > deadline)
            except Finished as fin:
                return WombatResult(fin.status, snapshot_text=snap.get("text", ""),
                                    stats=dict(server.stats))
            except Deadlock:
                return WombatResult(WOMBAT_FAILURE, "wombat: every Linux process is blocked "
                                    "and nothing can wake one (deadlock)",
                                    snapshot_text=_snapshot(system))
            return WombatResult(WOMBAT_FAILURE, f"wombat: timed out after {opts.timeout:g} s",
                                snapshot_text=_snapshot(system))
    except L4gdbError as exc:
        return WombatResult(WOMBAT_FAILURE, str(exc))
    except TargetError as exc:          # QEMU or its gdbstub gone in the middle
        return target_failed(exc)


def target_failed(exc: TargetError) -> WombatResult:
    """QEMU or its gdbstub gone: l4gdb failed, not the program."""
    return WombatResult(WOMBAT_FAILURE, "wombat: " + str(exc).strip().replace("\n", "; "))


def _snapshot(system: Any) -> str:
    """`wombat ps`, `iguana eas` and `l4 threads` of the running system, as text
    (what those GDB commands print in an `l4gdb gdb` session)."""
    from l4gdb.inspect.commands import run_command

    models = {"iguana_model": system.iguana.snapshot() if system.iguana else None,
              "wombat_model": system.wombat.snapshot()}
    snap = system.kernel.snapshot()
    return "".join(f"--- {cmd} ---\n{run_command(cmd, snap, **models)}"
                   for cmd in _snapshot_commands(system))


def _snapshot_commands(system: Any) -> tuple[str, ...]:
    shared = system.wombat.shared is not None and system.wombat.shared.names()
    # With shared memsections, the Iguana side of them too (owner, backing, PDs).
    return ("wombat ps", *(("wombat shared", "iguana memsections") if shared else ()),
            "iguana eas", "l4 threads")
