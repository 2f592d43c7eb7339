"""Thread control blocks."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .utcb import Tcr, Utcb

if TYPE_CHECKING:
    from .kernel import Kernel
    from .space import Space

DEFAULT_PRIORITY = 100
ROOT_PRIORITY = 255
DEFAULT_TIMESLICE_US = 10_000


class State(enum.Enum):
    INACTIVE = "inactive"       # created without a pager: not yet activated
    RUNNING = "running"         # runnable (ready or on the CPU)
    POLLING = "polling"         # blocked in the send phase
    WAITING = "waiting"         # blocked in the receive phase
    DEAD = "dead"


class IpcKind(enum.Enum):
    USER = "user"               # an Ipc/Lipc system call
    STARTUP = "startup"         # waiting for the start message from the pager
    EXCEPTION = "exception"     # kernel-made exception IPC on the thread's behalf
    PAGEFAULT = "pagefault"     # kernel-made page-fault IPC to the thread's pager


@dataclass
class IpcOp:
    """An IPC in progress (the thread is blocked in one of its phases)."""

    to: int                     # raw destination as given (0 when no send phase)
    from_spec: int              # raw FromSpecifier (0 when no receive phase)
    rcv_timeout_us: int | None  # None = Never
    kind: IpcKind = IpcKind.USER
    kmsg: list[int] | None = None   # kernel-made message (tag first), not in the UTCB
    fault_access: int = 0       # PAGEFAULT: rwx of the faulting access


@dataclass(eq=False)
class XferFault:
    """A string copy stopped at a page of ``Tcb`` X that X's pager must map first.

    X's own IPC is parked here while it makes the page-fault IPC; the copy
    between ``sender`` and ``receiver`` is retried from the start when the
    pager's reply has mapped the page."""

    op: IpcOp | None
    state: State
    partner: int
    partner_tcb: Tcb | None
    send_seq: int
    sender: Tcb
    receiver: Tcb
    offset: int


class PythonServer(Protocol):
    """A thread implemented in Python (sigma0, later Iguana/Wombat servers)."""

    def handle(self, kernel: Kernel, sender: Tcb, words: list[int]) -> list[int] | None:
        """Answer one message (``words[0]`` is the tag); None = no reply."""


@dataclass(eq=False)
class Tcb:
    global_id: int
    space: Space
    name: str = ""
    state: State = State.INACTIVE
    halted: bool = False
    priority: int = DEFAULT_PRIORITY
    timeslice_us: int = DEFAULT_TIMESLICE_US
    timeslice_left_us: int = DEFAULT_TIMESLICE_US
    total_quantum_us: int | None = None     # None = Never (unlimited)
    sensitive_prio: int = 0
    max_delay: int = 0
    scheduler: int = 0
    utcb_addr: int = 0
    regs: dict[str, int] = field(default_factory=dict)
    utcb: Utcb | None = None
    partner: int = 0            # POLLING: destination id; WAITING: FromSpecifier
    partner_tcb: Tcb | None = None          # resolved partner of a closed operation
    op: IpcOp | None = None
    deadline_us: int | None = None
    send_seq: int = 0           # order of blocked senders (FIFO per receiver)
    host: PythonServer | None = None
    host_reply: tuple[Tcb, list[int]] | None = None   # a host thread's answer to our send
    activated: bool = False
    xfer: XferFault | None = None           # in a page-fault IPC inside a string copy
    xfer_lock: Tcb | None = None            # receiver: the sender whose copy is pending
    tls: int | None = None      # user thread register; None: the UTCB address (L4 threads)
    fpu_area: int = 0           # kernel address of its FPU save area (0: no FPU state)

    # TCRs live in the UTCB (user code may write them); read the host copy.
    def _tcr(self, tcr: Tcr) -> int:
        return self.utcb.words[tcr] if self.utcb else 0

    @property
    def pager(self) -> int:
        return self._tcr(Tcr.Pager)

    @property
    def exception_handler(self) -> int:
        return self._tcr(Tcr.ExceptionHandler)

    @property
    def user_handle(self) -> int:
        return self._tcr(Tcr.UserDefinedHandle)

    @property
    def runnable(self) -> bool:
        return self.state is State.RUNNING and not self.halted and self.host is None
