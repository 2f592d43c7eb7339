"""Linux processes and threads as the Linux server keeps them.

A process owns a memory (``Mm``: its L4 space and page tables), a file
descriptor table, a working directory and its signal state; each of its
threads is one L4 thread whose pager and exception handler is the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from l4gdb.kernel.thread import Tcb

    from .calls import Call


@dataclass
class SigAction:
    handler: int = 0          # SIG_DFL 0, SIG_IGN 1, else the handler's address
    flags: int = 0
    restorer: int = 0
    mask: int = 0             # signals blocked while the handler runs (bit sig-1)


SIG_DFL, SIG_IGN = 0, 1


@dataclass
class SavedContext:
    """What a signal frame saves, kept by the server until sigreturn."""

    regs: dict[str, int]
    sigmask: int
    sp: int                   # the frame's address (checked at sigreturn)


@dataclass(eq=False)
class LinuxThread:
    tid: int
    proc: Process
    tcb: Tcb
    call: Call | None = None            # the system call it is blocked in
    sigmask: int = 0
    frames: list[SavedContext] = field(default_factory=list)
    clear_child_tid: int = 0
    fpu_area: int = 0


@dataclass(eq=False)
class Process:
    pid: int
    ppid: int
    pgid: int
    sid: int
    mm: Any                             # wombat.mm.Mm
    fds: Any                            # wombat.files.FdTable
    cwd: str = "/"
    exe: str = ""                       # path inside the rootfs (for /proc/self/exe)
    argv: list[str] = field(default_factory=list)
    threads: list[LinuxThread] = field(default_factory=list)
    actions: dict[int, SigAction] = field(default_factory=dict)
    pending: int = 0                    # process-directed pending signals (bit sig-1)
    children: list[Process] = field(default_factory=list)
    zombie: bool = False
    status: int = 0                     # wait status once a zombie
    exit_signal: int = 0                # signal sent to the parent at exit (SIGCHLD)
    umask: int = 0o022
    brk_start: int = 0
    start_us: int = 0

    @property
    def main(self) -> LinuxThread | None:
        return self.threads[0] if self.threads else None

    def action(self, sig: int) -> SigAction:
        return self.actions.get(sig) or SigAction()

    def describe(self) -> dict[str, Any]:
        state = "Z" if self.zombie else ("S" if any(t.call for t in self.threads) else "R")
        blocked = next((t.call.name for t in self.threads if t.call), "")
        mem = self.mm.describe() if self.mm is not None and not self.zombie else {}
        return {"pid": self.pid, "ppid": self.ppid, "pgid": self.pgid, "state": state,
                "threads": [t.tcb.global_id for t in self.threads],
                "cmd": " ".join(self.argv) or self.exe, "exe": self.exe, "cwd": self.cwd,
                "wchan": blocked, "space": mem.get("space"), "resident": mem.get("resident", 0),
                "maps": mem.get("areas", []), "fds": self._fds()}

    def _fds(self) -> list[dict[str, Any]]:
        slots = getattr(self.fds, "slots", {}) if not self.zombie else {}
        cloexec = getattr(self.fds, "cloexec", set())
        return [{"fd": fd, "what": f.link_text(), "cloexec": fd in cloexec}
                for fd, f in sorted(slots.items())]


def wait_status_exited(code: int) -> int:
    return (code & 0xFF) << 8


def wait_status_signaled(sig: int) -> int:
    return sig & 0x7F


def shell_status(status: int) -> int:
    """The exit status a shell (and ``l4gdb wombat``) reports for a wait status."""
    sig = status & 0x7F
    return 128 + sig if sig else (status >> 8) & 0xFF
