"""Putting a system together: build, boot QEMU, the kernel model, the run loop.

``System`` is a context manager that owns every child process it starts;
leaving it (normally, by an exception, or by Ctrl-C) tears them all down.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from l4gdb.console import Console
from l4gdb.errors import ExitCode, InfrastructureError, UsageError
from l4gdb.guestspec import GuestToolchain
from l4gdb.host import Deadlock, Finished, HostLoop
from l4gdb.kernel.clock import MonotonicClock
from l4gdb.plugins import get_plugins


def toolchain_for(arch: str) -> GuestToolchain:
    plugins = get_plugins()
    plugins.require_arch(arch)
    tc = plugins.hook.l4gdb_guest_toolchain(arch=arch)
    if tc is None:
        raise UsageError(f"architecture {arch!r} provides no guest toolchain")
    return tc


def build_user_program(tc: GuestToolchain, files: list[Path], out: Path) -> Path:
    from l4gdb import build

    for f in files:
        if not f.is_file():
            raise UsageError(f"{f}: no such file")
    return build.build_program(tc, files, out)


def build_kernel_image(tc: GuestToolchain) -> Path:
    from l4gdb import build

    return build.build_kernel(tc, build.default_build_dir() / tc.arch)


def resolve_program(tc: GuestToolchain, name: str, extra: list[str]) -> Path:
    """A built-in name, C files (built now) or a ready ELF, as an ELF path."""
    from l4gdb import build

    if "/" not in name and not name.endswith((".c", ".elf")) and not extra:
        return build.builtin_program(tc, name)
    paths = [Path(name), *(Path(e) for e in extra)]
    if len(paths) == 1 and not name.endswith(".c"):
        if not paths[0].is_file():
            raise UsageError(f"{name}: no such file")
        check_elf(paths[0], tc)
        return paths[0]
    out = build.default_build_dir() / tc.arch / "user" / (paths[0].stem + ".elf")
    return build_user_program(tc, paths, out)


def check_elf(path: Path, tc: GuestToolchain) -> None:
    """Refuse a file that is not an ELF executable for this architecture."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with path.open("rb") as f:
            elf = ELFFile(f)
            machine = elf["e_machine"]
            etype = elf["e_type"]
            segs = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    except (ELFError, OSError, ValueError, KeyError) as exc:
        raise UsageError(f"{path}: not a valid ELF file ({exc})") from exc
    want = tc.elf_machine
    if want and machine != want:
        raise UsageError(f"{path}: ELF for {machine}, not for {tc.arch}")
    if etype != "ET_EXEC" or not segs:
        raise UsageError(f"{path}: not a statically linked executable")


def elf_symbols(path: Path) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    out: dict[str, int] = {}
    with path.open("rb") as f:
        for sec in ELFFile(f).iter_sections():
            if isinstance(sec, SymbolTableSection):
                for sym in sec.iter_symbols():
                    if sym.name:
                        out.setdefault(sym.name, sym["st_value"])
    return out


def elf_entry(path: Path) -> int:
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as f:
        return ELFFile(f)["e_entry"]


class _TargetMemory:
    """The kernel's view of guest memory: reads go straight to the target."""

    def __init__(self, target) -> None:
        self.target = target

    def read(self, addr: int, size: int) -> bytes:
        return self.target.read_memory(addr, size)


@dataclass
class System:
    """One booted system. Use ``with System(...) as s:``."""

    arch: str
    program: Path
    console: Console
    log_dir: Path | None = None
    extra_qemu_args: tuple[str, ...] = ()
    patches: dict[str, int] = field(default_factory=dict)   # program symbol -> word, before boot
    target: object = None
    loop: HostLoop | None = None
    kernel: object = None
    kernel_elf: Path | None = None
    gdb: object = None
    exit_status: int | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> System:
        try:
            self._boot()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _apply_patches(self, word_size: int) -> None:
        _patch_words(self.target, self.program, self.patches, word_size)

    def _boot(self) -> None:
        from l4gdb.kernel.kernel import BootConfig, Kernel
        from l4gdb.target.errors import TargetError
        from l4gdb.target.interface import QemuTarget

        plugins = get_plugins()
        plugins.require_arch(self.arch)
        hook = plugins.hook
        arch_info = hook.l4gdb_arch_info(arch=self.arch)
        qemu = hook.l4gdb_qemu_setup(arch=self.arch)
        layout = hook.l4gdb_memory_layout(arch=self.arch)
        tc = toolchain_for(self.arch)
        self.kernel_elf = build_kernel_image(tc)
        symbols = elf_symbols(self.kernel_elf)
        glue = hook.l4gdb_trap_glue(arch=self.arch, symbols=symbols)
        if self.log_dir is None:
            self.log_dir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(
                prefix="l4gdb-")))
        try:
            self.target = QemuTarget(
                qemu.config, self.kernel_elf, arch=self.arch, loaders=[self.program],
                extra_args=[*qemu.extra_args, *self.extra_qemu_args], binary=qemu.binary,
                log_path=self.log_dir / "qemu.log",
            )
        except TargetError as exc:
            raise InfrastructureError(str(exc)) from exc
        self._stack.callback(self.target.close)
        self._apply_patches(arch_info.word_size)
        clock = MonotonicClock()
        config = BootConfig(
            kip_addr=layout["kip"],
            utcb_area_base=layout["utcb_area"],
            utcb_area_log2=layout["utcb_area_log2"],
            root_ip=elf_entry(self.program),
            root_sp=elf_symbols(self.program).get("__stack_top", 0),
            main_memory=(layout["ram_low"], layout["ram_high"]),
            free_memory=(layout["free_low"], layout["ram_high"]),
            reserved=((layout["kernel_low"], layout["kernel_high"]),),
        )
        events = None
        if plugins.wants_events():
            def events(name: str, **data: object) -> None:
                hook.l4gdb_kernel_event(name=name, data=data)
        self.kernel = Kernel(arch_info, config, memory=_TargetMemory(self.target), clock=clock,
                             console=self.console, events=events)
        self.loop = HostLoop(arch_info, glue, self.target, self.kernel, clock)
        try:
            self.loop.boot()
        except TargetError as exc:
            raise InfrastructureError(str(exc)) from exc


def _patch_words(target, program: Path, patches: dict[str, int], word_size: int) -> None:
    if not patches:
        return
    symbols = elf_symbols(program)
    for name, value in patches.items():
        if name not in symbols:
            raise UsageError(f"{program}: no symbol {name!r} to patch")
        target.write_memory(symbols[name], value.to_bytes(word_size, "little"))


@dataclass
class RunOptions:
    arch: str = "arm"
    program: str = "hello"
    extra_files: list[str] = field(default_factory=list)
    expects: list[str] = field(default_factory=list)
    timeout: float = 120.0
    log: str | None = None
    gdb: bool = True
    quiet: bool = False


def run_program(opts: RunOptions, out: IO[str] = sys.stdout) -> int:
    """``l4gdb run``: boot, serve until done, report. Returns the exit code."""
    from l4gdb.target.errors import TargetError

    tc = toolchain_for(opts.arch)
    program = resolve_program(tc, opts.program, opts.extra_files)
    for pattern in opts.expects:
        _check_regex(pattern)
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(opts.log, "w")) if opts.log else None  # noqa: SIM115
        console = Console.with_expects(opts.expects, out=None if opts.quiet else out, log=log)
        _feed_stdin(console)
        deadline = time.monotonic() + opts.timeout
        system = None
        try:
            system = stack.enter_context(System(opts.arch, program, console))
            if opts.gdb:
                from l4gdb.gdbview import attach_gdb
                stack.enter_context(attach_gdb(system))
            system.loop.run(lambda: console.all_expected or time.monotonic() > deadline)
        except Finished as fin:
            system.exit_status = fin.status
            return _verdict(console, fin.status)
        except Deadlock as exc:
            print(f"l4gdb: deadlock: {exc}", file=sys.stderr)
            return ExitCode.FAILED
        except TargetError as exc:
            raise InfrastructureError(str(exc)) from exc
        if console.all_expected:
            return ExitCode.OK
        missing = console.first_unmatched()
        what = f"expectation {missing.pattern.pattern!r} not met" if missing else "no exit"
        print(f"l4gdb: timeout after {opts.timeout:g} s: {what}", file=sys.stderr)
        return ExitCode.TIMEOUT


def _feed_stdin(console: Console) -> None:
    """Guest console input (KDebug ReadChar) comes from our stdin, read in the background."""
    import threading

    def pump() -> None:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            return
        try:
            while chunk := stream.read1(256):
                console.feed(chunk.decode(errors="replace"))
        except (OSError, ValueError):   # stdin closed or not readable: no input
            return

    threading.Thread(target=pump, name="l4gdb-stdin", daemon=True).start()


def _verdict(console: Console, status: int) -> int:
    if console.checks_incomplete:
        print("l4gdb: the program printed checks but no closing 'N passed, N failed' line",
              file=sys.stderr)
        return ExitCode.FAILED
    if console.checks_failed:
        return ExitCode.FAILED
    missing = console.first_unmatched()
    if missing is not None:
        print(f"l4gdb: the root task exited (status {status}) before expectation "
              f"{missing.pattern.pattern!r} matched", file=sys.stderr)
        return ExitCode.FAILED
    if status != 0:
        print(f"l4gdb: the root task exited with status {status}", file=sys.stderr)
        return ExitCode.FAILED
    return ExitCode.OK


def _check_regex(pattern: str) -> None:
    import re

    try:
        re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"bad --expect pattern {pattern!r}: {exc}") from exc
