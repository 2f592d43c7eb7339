"""Every hook of l4gdb, declared once; the docstrings are the documentation.

Plugins are modules (or objects) registered under the ``l4gdb`` entry point
group. The builtin architectures (``arch/arm``...) are plugins like any
third-party one and use only these hooks. A plugin implementing a hook whose
name starts with ``l4gdb_`` but is not declared here is refused at load.

Architecture hooks take the architecture name and answer only for their own
architecture (return ``None`` otherwise); they are ``firstresult`` so the
first plugin that knows the architecture wins. They are called once per run
to obtain plain data and objects: the per-trap path calls the returned
:class:`TrapGlue` directly, never through pluggy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from l4gdb.archkit.guestspec import GuestToolchain
    from l4gdb.archkit.linux_abi import LinuxAbi
    from l4gdb.kernel.abi import ArchInfo, Resume, Trap
    from l4gdb.kernel.paging import PageTables

PROJECT = "l4gdb"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class TrapGlue(Protocol):
    """Per-run object an arch plugin builds from the kernel image's symbols.

    It turns the raw entry block into a :class:`~l4gdb.kernel.abi.Trap` and a
    :class:`~l4gdb.kernel.abi.Resume` into the exit block bytes.

    May also have ``entry_block_paddr`` (int or None): the entry block's physical
    address, for reading it while the CPU is stopped in user mode, when it is not
    ``entry_block_addr`` (MIPS: the blocks are in kseg0).
    """

    bp_addr: int            # the breakpoint every kernel entry reaches
    entry_block_addr: int
    entry_block_size: int
    exit_block_addr: int
    exit_block_max: int     # bytes the exit block may use
    return_addr: int        # where to jump (in kernel mode) to return to user

    def decode(self, block: bytes) -> Trap | None:
        """The trap in ``block``, or None when the block says "not in the kernel"."""

    def encode_exit(self, resume: Resume) -> tuple[bytes, list[tuple[int, bytes]]]:
        """Exit block bytes, and the writes that did not fit (done separately first)."""

    def user_regs_from_gdb(self, regs: dict[str, int]) -> dict[str, int]:
        """User context from the registers of a CPU stopped in user mode."""

    def in_kernel(self, pc: int) -> bool:
        """Whether ``pc`` is inside the kernel image (vector, stubs)."""

    def enter_kernel(self, regs: dict[str, int]) -> dict[str, int]:
        """Registers that make a CPU stopped in user mode enter the kernel at once
        (a gate whose entry :meth:`is_preempt_entry` recognises)."""

    def is_preempt_entry(self, trap: Trap) -> bool:
        """Whether ``trap`` is the kernel entry made through :meth:`enter_kernel`."""


class GuestTimer(Protocol):
    """An architecture's periodic timer device, programmed by its kernel stub.

    With one, the guest itself interrupts running user code: every tick is a
    kernel entry (``TrapKind.INTERRUPT`` with ``number == tick_irq``), the
    kernel clock is the guest's counter as the stub read it at entry, and an
    idle CPU waits in the stub (the host sleeps until the next stop). Without
    one, the host interrupts QEMU at deadlines (the fallback every arch has).
    """

    tick_irq: int           # the interrupt number of the tick (owned by the kernel)
    block_addr: int         # the stub's timer block (written by the host)
    idle_pc: int            # an exit block with this pc makes the CPU wait in the stub

    def start(self, read: Any, tick_us: int) -> list[tuple[int, bytes]]:
        """Memory writes (address, bytes) that start the tick on the next kernel exit;
        ``read(addr, n)`` reads guest memory (the stub may have stored the counter's
        frequency there at boot)."""

    def time_us(self, trap: Trap) -> int | None:
        """The guest clock (µs since boot) at this kernel entry, None if not known."""

    def irq_writes(self, unmask: list[int], mask: list[int]) -> list[tuple[int, bytes]]:
        """Memory writes that enable / disable these interrupt lines on the next exit."""

    def skip_write(self, ticks: int) -> tuple[int, bytes]:
        """A memory write (it rides in the exit block) telling the stub to absorb
        the next ``ticks`` ticks without a kernel entry: nothing is due before."""

    def valid_irqs(self) -> range:
        """Interrupt numbers that exist (interrupt threads GlobalId(irq, 1))."""


class QemuSetup(Protocol):
    """May also have ``package`` (str): the Debian package that ships ``binary``,
    named when it is missing; and ``target_xml`` (bytes): a self-contained target description
    for a gdbstub that serves none (QEMU 7.2's MIPS), registers numbered in the
    stub's ``g`` order. The host names registers after it and serves it to GDB.
    And ``uart`` (bool): connect the board's first serial line to the host, which
    types console input into it as well (for a user-level UART driver)."""

    binary: str             # e.g. "qemu-system-arm"
    config: Path            # the -readconfig file
    extra_args: tuple[str, ...]


class GdbSetup(Protocol):
    architecture: str       # for "set architecture"
    init_commands: tuple[str, ...]


@hookspec(firstresult=True)
def l4gdb_arch_info(arch: str) -> ArchInfo | None:
    """Describe the CPU ``arch`` as data: word size, registers, syscall ABI registers.

    Return ``None`` when ``arch`` is not yours.
    """


@hookspec
def l4gdb_arch_names() -> list[str]:
    """Names of the architectures this plugin provides (e.g. ``["arm"]``)."""


@hookspec(firstresult=True)
def l4gdb_qemu_setup(arch: str) -> QemuSetup | None:
    """The QEMU binary, the ``-readconfig`` file and extra arguments for ``arch``.

    The config file may live anywhere (in-tree arches use ``qemu-configs/``,
    third-party plugins ship it inside their package).
    """


@hookspec(firstresult=True)
def l4gdb_gdb_setup(arch: str) -> GdbSetup | None:
    """GDB's architecture name and the settings a GDB session needs for ``arch``."""


@hookspec(firstresult=True)
def l4gdb_guest_toolchain(arch: str) -> GuestToolchain | None:
    """How to build guest code for ``arch``: clang target, flags, crt0, linker scripts."""


@hookspec(firstresult=True)
def l4gdb_trap_glue(arch: str, symbols: dict[str, int]) -> TrapGlue | None:
    """Build the trap codec for ``arch`` from the kernel image's symbol table."""


@hookspec(firstresult=True)
def l4gdb_memory_layout(arch: str) -> dict[str, int] | None:
    """Addresses the boot needs: ``kip``, ``utcb_area``, ``utcb_area_log2``,
    ``ram_low``, ``ram_high``, ``kernel_low``, ``kernel_high``, ``free_low``.

    A plugin may add keys of its own for its other hooks (ARM: ``pt_pool_low``,
    ``pt_pool_high``, ``kernel_window`` for :func:`l4gdb_page_tables`); memory
    the kernel keeps for itself lies outside ``ram_low``..``ram_high``."""


@hookspec(firstresult=True)
def l4gdb_page_tables(arch: str, layout: dict[str, int]) -> PageTables | None:
    """The page-table builder of ``arch`` (a :class:`l4gdb.kernel.paging.PageTables`),
    for the memory ``layout`` the same plugin returned; one per run.

    With one, every space gets real page tables that the host builds in guest
    RAM and the CPU switches on ``Resume.space_root``: threads see only what
    their space maps, page faults go to pagers. Return ``None`` (or leave the
    hook out) to run *flat*: all threads share physical memory, map items are
    delivered without effect, as before address spaces existed.
    """


@hookspec(firstresult=True)
def l4gdb_guest_timer(arch: str, symbols: dict[str, int]) -> GuestTimer | None:
    """The periodic timer of ``arch`` (a :class:`GuestTimer`) for a kernel image with
    these ELF ``symbols``, or None: the host then meets timeouts and timeslices by
    interrupting QEMU at deadlines, and an idle CPU stays stopped while the host
    sleeps. One per run."""


@hookspec(firstresult=True)
def l4gdb_linux_abi(arch: str) -> LinuxAbi | None:
    """The Linux ABI of ``arch`` (a :class:`l4gdb.archkit.linux_abi.LinuxAbi`) for the Wombat
    Linux server: system-call convention and numbers, errno and signal numbers,
    flag and ioctl numbers, struct layouts, the address-space layout of a Linux
    process. Optional: an arch without it runs no Linux programs. The tables are
    generated from the arch's Linux UAPI headers (``scripts/gen-linux-abi``)."""


@hookspec
def l4gdb_session_start(system: Any, options: dict[str, Any]) -> None:
    """A system has booted (the root task is ready, nothing has run yet).

    ``system`` is the :class:`l4gdb.runtime.system.System` (its ``kernel``, ``arch``,
    ``program``, ``log_dir``); ``options`` are the run's options by name
    (e.g. ``trace``: a file to write a timeline to, or None).
    """


@hookspec
def l4gdb_session_end(system: Any, status: int | None) -> None:
    """The system is being torn down; ``status`` is the root task's exit status
    (None when it did not exit: timeout, error, Ctrl-C)."""


@hookspec
def l4gdb_wants_kernel_events(options: dict[str, Any]) -> bool:
    """Whether this plugin's :func:`l4gdb_kernel_event` needs events in a run with
    these ``options`` (e.g. a tracer only when asked to trace). A plugin that
    implements ``l4gdb_kernel_event`` without this hook always gets events; when
    no plugin wants them, the kernel has no observer and the trap path pays nothing.
    """


@hookspec
def l4gdb_kernel_event(name: str, data: dict[str, Any]) -> None:
    """Observe a kernel event, at the kernel clock ``data["time_us"]``:
    ``syscall_enter`` / ``syscall_exit`` / ``syscall_error`` (thread, number,
    args / results), ``ipc`` (sender, receiver, tag), ``ipc_block``,
    ``ipc_error``, ``exception`` (page faults and exceptions), ``schedule``
    (reason: switch with prev/next, timeslice, yield, donate,
    delayed: a delayed preemption, quantum: the total quantum ran out),
    ``preemption_message`` (thread, to, at_us), ``interrupt``
    (irq: a device line fired; the timer's tick is not reported),
    ``interrupt_associate`` (irq, handler), ``interrupt_ack`` (irq, thread),
    ``thread_create`` / ``thread_delete`` / ``thread_halt`` / ``thread_activate``,
    ``exregs``, ``space_control``, ``sigma0_map``, ``boot``.

    Only called when at least one plugin implements it, so it costs nothing
    on the hot path otherwise. Must not block.
    """
