"""Putting a system together: build, boot QEMU, the kernel model, the run loop.

``System`` is a context manager that owns every child process it starts;
leaving it (normally, by an exception, or by Ctrl-C) tears them all down.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from l4gdb.archkit.guestspec import GuestToolchain
from l4gdb.errors import InfrastructureError, UsageError
from l4gdb.kernel.clock import GuestClock, MonotonicClock
from l4gdb.runtime.console import ConsoleWatcher
from l4gdb.runtime.hostloop import HostLoop
from l4gdb.runtime.plugins import get_plugins


def toolchain_for(arch: str) -> GuestToolchain:
    plugins = get_plugins()
    plugins.require_arch(arch)
    tc = plugins.hook.l4gdb_guest_toolchain(arch=arch)
    if tc is None:
        raise UsageError(f"architecture {arch!r} provides no guest toolchain")
    return tc


def build_user_program(tc: GuestToolchain, files: list[Path], out: Path) -> Path:
    from l4gdb.runtime import build

    for f in files:
        if not f.is_file():
            raise UsageError(f"{f}: no such file")
    return build.build_program(tc, files, out)


def build_kernel_image(tc: GuestToolchain) -> Path:
    from l4gdb.runtime import build

    return build.build_kernel(tc, build.default_build_dir() / tc.arch)


def resolve_program(tc: GuestToolchain, name: str, extra: list[str]) -> Path:
    """A built-in name, C files (built now) or a ready ELF, as an ELF path."""
    from l4gdb.runtime import build

    if "/" not in name and not name.endswith((".c", ".elf")) and not extra \
            and (name in build.builtin_programs() or not Path(name).exists()):
        return build.builtin_program(tc, name)
    paths = [Path(name), *(Path(e) for e in extra)]
    if len(paths) == 1 and not name.endswith(".c"):
        if paths[0].is_dir():
            raise UsageError(f"{name}: a directory, not a program")
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
            size = os.fstat(f.fileno()).st_size
            end = max([s["p_offset"] + s["p_filesz"] for s in segs]
                      + [elf["e_shoff"] + elf["e_shnum"] * elf["e_shentsize"]])
            if end > size:
                raise UsageError(f"{path}: truncated ELF file: {size} bytes, its headers "
                                 f"describe {end}")
            sum(1 for _ in elf.iter_sections())     # (the symbols are read later)
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


def elf_functions(path: Path) -> dict[int, str]:
    """Function symbols by address (to name threads after where they start)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    out: dict[int, str] = {}
    with path.open("rb") as f:
        for sec in ELFFile(f).iter_sections():
            if isinstance(sec, SymbolTableSection):
                for sym in sec.iter_symbols():
                    if sym.name and sym["st_info"]["type"] == "STT_FUNC":
                        out.setdefault(sym["st_value"] & ~1, sym.name)
    return out


class ThreadNamer:
    """Names a thread after the function it starts in (``99.1 (pong)``), for every
    view of the system; the kernel itself knows no symbols."""

    EVENTS = ("exregs", "thread_activate", "schedule")

    def __init__(self, program: Path) -> None:
        self.functions = elf_functions(program)
        self.kernel = None

    def __call__(self, name: str, **data: object) -> None:
        if name not in self.EVENTS or self.kernel is None:
            return
        gid = data.get("thread", data.get("next"))
        t = self.kernel.thread_by_global(gid) if isinstance(gid, int) else None
        if t is not None and not t.name and t.host is None:
            fn = self.functions.get(t.regs.get(self.kernel.arch.ip_reg, -1))
            if fn:
                t.name = fn


def elf_entry(path: Path) -> int:
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as f:
        return ELFFile(f)["e_entry"]


class TargetMemory:
    """The kernel's :class:`~l4gdb.kernel.abi.Memory` on a machine: reads go
    straight to the target (the kernel reaches it only through
    ``Kernel.read_memory``)."""

    def __init__(self, target) -> None:
        self.target = target

    def read(self, addr: int, size: int) -> bytes:
        return self.target.read_memory(addr, size)


# One instruction = 2^3 ns of guest time. (sleep=off, which would make an idle
# guest's clock jump to its next timer, stalls QEMU 7.2's vCPU after every
# gdbstub resume; with sleep on, an idle stretch lasts its real time.)
ICOUNT_ARGS = ("-icount", "shift=3")


@dataclass
class System:
    """One booted system. Use ``with System(...) as s:``."""

    arch: str
    program: Path
    console: ConsoleWatcher
    log_dir: Path | None = None
    extra_qemu_args: tuple[str, ...] = ()
    patches: dict[str, int] = field(default_factory=dict)   # program symbol -> word, before boot
    event_observer: Callable[..., None] | None = None       # kernel events(name, **data), too
    options: dict[str, object] = field(default_factory=dict)  # for l4gdb_session_start
    # Deterministic time: QEMU counts instructions (-icount) instead of following the
    # host's clock, so a run with preemption interleaves the same way every time.
    deterministic: bool = False
    target: object = None
    loop: HostLoop | None = None
    kernel: object = None
    kernel_elf: Path | None = None
    gdb: object = None
    iguana: object = None            # the Iguana server when the program uses libiguana
    wombat_config: object = None     # a wombat.server.WombatConfig: start the Linux server
    wombat: object = None            # the Linux server (l4gdb.wombat)
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
        try:
            if self.kernel is not None:
                get_plugins().hook.l4gdb_session_end(system=self, status=self.exit_status)
        finally:
            self._stack.close()

    def _apply_patches(self, word_size: int) -> None:
        _patch_words(self.target, self.program, self.patches, word_size)

    def _boot(self) -> None:
        from l4gdb.kernel.kernel import BootConfig, Kernel
        from l4gdb.target.errors import TargetError
        from l4gdb.target.interface import QemuTarget
        from l4gdb.target.qemuconfig import ConfigError

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
        timer = hook.l4gdb_guest_timer(arch=self.arch, symbols=symbols)
        deterministic = self.deterministic or bool(self.options.get("deterministic"))
        icount = ICOUNT_ARGS if deterministic else ()
        if self.log_dir is None:
            self.log_dir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(
                prefix="l4gdb-")))
        try:
            self.target = QemuTarget(
                qemu.config, self.kernel_elf, arch=self.arch, loaders=[self.program],
                extra_args=[*qemu.extra_args, *icount, *self.extra_qemu_args], binary=qemu.binary,
                package=getattr(qemu, "package", None),
                log_path=self.log_dir / "qemu.log",
                target_xml=getattr(qemu, "target_xml", None),
                uart=bool(getattr(qemu, "uart", False)),
            )
        except ConfigError as exc:      # the arch's QEMU config file is broken: bad input
            raise UsageError(str(exc)) from exc
        except TargetError as exc:
            raise InfrastructureError(str(exc)) from exc
        self._stack.callback(self.target.close)
        if self.target.qemu.uart:
            self.console.add_input_sink(self.target.qemu.uart_write)
        self._apply_patches(arch_info.word_size)
        # With a guest timer the kernel's clock is the guest's counter (part of each
        # host round trip counts: docs/internals.md §3.3); without one, host time.
        clock = GuestClock() if timer is not None else MonotonicClock()
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
        namer = ThreadNamer(self.program)
        observers: list[Callable[..., None]] = [namer]
        if plugins.wants_events(self.options):
            def to_plugins(name: str, **data: object) -> None:
                hook.l4gdb_kernel_event(name=name, data={**data, "time_us": self.kernel.now})
            observers.append(to_plugins)
        if self.event_observer is not None:
            observers.append(self.event_observer)
        events = None
        if len(observers) == 1:
            events = observers[0]
        elif observers:
            def events(name: str, **data: object) -> None:
                for observer in observers:
                    observer(name, **data)
        paging = hook.l4gdb_page_tables(arch=self.arch, layout=layout)
        self.kernel = Kernel(arch_info, config, memory=TargetMemory(self.target), clock=clock,
                             console=self.console, events=events, paging=paging)
        namer.kernel = self.kernel
        self.loop = HostLoop(arch_info, glue, self.target, self.kernel, clock, timer=timer)
        self.loop.tick_clock = deterministic and timer is not None
        try:
            self.loop.boot()
        except TargetError as exc:
            raise InfrastructureError(str(exc)) from exc
        if "iguana_call" in elf_symbols(self.program):
            # A program linked with libiguana gets the Iguana server (docs/iguana.md),
            # started while the booted system is still parked.
            from l4gdb.iguana import install

            self.iguana = install(self.kernel)
        if self.wombat_config is not None:
            self._start_wombat(hook)
        hook.l4gdb_session_start(system=self, options=self.options)

    def _start_wombat(self, hook) -> None:
        from l4gdb.wombat.errors import LinuxError
        from l4gdb.wombat.server import install as install_wombat

        abi = hook.l4gdb_linux_abi(arch=self.arch)
        if abi is None:
            raise UsageError(f"the {self.arch} plugin has no Linux ABI (hook l4gdb_linux_abi): "
                             f"Wombat cannot run there")
        try:
            self.wombat = install_wombat(self.kernel, abi, self.wombat_config, iguana=self.iguana)
        except LinuxError as exc:
            argv = getattr(self.wombat_config, "argv", None) or ["/bin/sh"]
            from l4gdb.wombat.calls import strerror

            raise UsageError(f"wombat: cannot run {argv[0]}: {strerror(exc.errno)}"
                             + (f" ({exc.detail})" if exc.detail else "")) from exc


def _patch_words(target, program: Path, patches: dict[str, int], word_size: int) -> None:
    if not patches:
        return
    symbols = elf_symbols(program)
    for name, value in patches.items():
        if name not in symbols:
            raise UsageError(f"{program}: no symbol {name!r} to patch")
        target.write_memory(symbols[name], value.to_bytes(word_size, "little"))
