"""The Linux system-call table: handlers, argument decoding and strace lines.

A handler is a plain function named after the Linux call::

    @syscall
    def write(call: Call, fd: Fd, buf: Ptr, count: Size) -> int: ...

Its parameter annotations say how to decode the argument registers (and how
the ``--strace`` line shows them). It returns the result (``-errno`` on
failure, or it raises :class:`LinuxError`), or :data:`BLOCK` when it cannot
finish yet: the server runs it again, with the same :class:`Call`, when
something the process may be waiting for changes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import LinuxError

if TYPE_CHECKING:
    from l4gdb.archkit.linux_abi import LinuxAbi

    from .process import LinuxThread, Process
    from .server import LinuxServer


class _Blocked:
    def __repr__(self) -> str:
        return "BLOCK"


BLOCK: Any = _Blocked()          # a handler's "not yet": run me again later


# --- argument kinds (annotations) -------------------------------------------------
class Int(int):
    """A signed C int/long."""


class UInt(int):
    """An unsigned word shown in decimal."""


class Fd(Int):
    """A file descriptor (AT_FDCWD shows by name)."""


class Size(UInt):
    """A byte count."""


class Ptr(UInt):
    """A user address (shown in hex, NULL by name)."""


class Flags(UInt):
    """A bit set (hex)."""


class Mode(UInt):
    """A file mode (octal)."""


class Signal(Int):
    """A signal number (shown by name)."""


class Path(str):
    """A NUL-terminated string in user memory; the handler gets ``str``."""


class Off64(int):
    """A 64-bit value: one register on a 64-bit ABI; else two (low word first on
    little-endian ABIs; ARM EABI, MIPS o32 and rv32 start it on an even register)."""


KINDS: dict[str, type] = {k.__name__: k for k in
                          (Int, UInt, Fd, Size, Ptr, Flags, Mode, Signal, Path, Off64)}
AT_FDCWD = -100


@dataclass
class Call:
    """One system call in progress (kept while the call is blocked)."""

    server: LinuxServer
    thread: LinuxThread
    number: int
    name: str
    raw: list[int]                        # argument registers / stack words, unsigned
    args: list[Any] = field(default_factory=list)   # decoded
    state: dict[str, Any] = field(default_factory=dict)   # a blocked handler's own notes
    wake_at_us: int | None = None         # a blocking handler's timeout (kernel clock)
    interruptible: bool = True            # a signal ends the wait with EINTR / restart

    @property
    def proc(self) -> Process:
        return self.thread.proc

    @property
    def mm(self) -> Any:
        return self.thread.proc.mm

    @property
    def abi(self) -> LinuxAbi:
        return self.server.abi

    @property
    def now_us(self) -> int:
        return self.server.now_us


@dataclass
class Handler:
    name: str
    fn: Callable[..., Any]
    params: list[tuple[str, type]]

    def decode(self, call: Call, align64: bool) -> list[Any]:
        """The handler's arguments from the raw words (Path strings read from memory)."""
        out: list[Any] = []
        i = 0
        bits = call.server.bits
        for _name, kind in self.params:
            if kind is Off64 and bits == 64:
                out.append(_signed(_word(call.raw, i), 64))   # one register on 64 bits
                i += 1
                continue
            if kind is Off64:
                if align64 and i % 2:
                    i += 1
                lo, hi = _word(call.raw, i), _word(call.raw, i + 1)
                out.append(_signed(lo | hi << 32, 64))
                i += 2
                continue
            word = _word(call.raw, i)
            i += 1
            if kind is Path:
                out.append(call.mm.read_cstr(word).decode("utf-8", "surrogateescape")
                           if word else None)
            elif issubclass(kind, Int):
                out.append(_signed(word, bits))
            else:
                out.append(word)
        return out

    def format_args(self, call: Call) -> str:
        parts = []
        for (_name, kind), value in zip(self.params, call.args, strict=False):
            parts.append(_show(kind, value, call))
        return ", ".join(parts)


def _word(raw: list[int], i: int) -> int:
    return raw[i] if i < len(raw) else 0


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) & 1 else v


def _show(kind: type, value: Any, call: Call) -> str:
    if value is None:
        return "NULL"
    if kind is Path:
        text = value if len(value) <= 64 else value[:64] + "..."
        return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    if kind is Fd and value == AT_FDCWD:
        return "AT_FDCWD"
    if kind is Ptr:
        return "NULL" if value == 0 else f"{value:#x}"
    if kind is Flags:
        return f"{value:#x}"
    if kind is Mode:
        return f"0{value:o}"
    if kind is Signal:
        return call.server.signal_name(value)
    return str(value)


HANDLERS: dict[str, Handler] = {}


def syscall(*names: Any) -> Any:
    """Register a handler: ``@syscall`` (its own name) or ``@syscall("a", "b")``."""

    def register(fn: Callable[..., Any], aliases: tuple[str, ...]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)
        params = []
        for p in list(sig.parameters.values())[1:]:
            kind = p.annotation if isinstance(p.annotation, type) else None
            if kind is None or not (issubclass(kind, (int, str))):
                raise TypeError(f"{fn.__name__}: parameter {p.name} needs an argument kind")
            if kind is int:
                kind = Int
            params.append((p.name, kind))
        for name in aliases or (fn.__name__.rstrip("_"),):
            if name in HANDLERS:
                raise ValueError(f"two handlers for the system call {name}")
            HANDLERS[name] = Handler(name, fn, params)
        return fn

    if len(names) == 1 and callable(names[0]):
        return register(names[0], ())
    return lambda fn: register(fn, tuple(names))


def result_text(call: Call, result: int) -> str:
    if result < 0:
        name = call.server.errno_name(-result)
        return f"-1 {name} ({_STRERROR.get(name, name)})"
    if result > 0xFFFF and call.name in _HEX_RESULTS:
        return f"{result:#x}"
    return str(result)


def strerror(name: str) -> str:
    """The C library's text for an errno name (the name itself when unknown)."""
    return _STRERROR.get(name, name)


_HEX_RESULTS = {"brk", "mmap", "mmap2", "mremap", "set_tid_address"}
_STRERROR = {
    "EPERM": "Operation not permitted", "ENOENT": "No such file or directory",
    "ESRCH": "No such process", "EINTR": "Interrupted system call", "EIO": "I/O error",
    "EBADF": "Bad file descriptor", "ECHILD": "No child processes",
    "EAGAIN": "Resource temporarily unavailable", "ENOMEM": "Cannot allocate memory",
    "EACCES": "Permission denied", "EFAULT": "Bad address", "EEXIST": "File exists",
    "ENOTDIR": "Not a directory", "EISDIR": "Is a directory", "EINVAL": "Invalid argument",
    "EMFILE": "Too many open files", "ENOTTY": "Inappropriate ioctl for device",
    "ESPIPE": "Illegal seek", "EPIPE": "Broken pipe", "ERANGE": "Numerical result out of range",
    "ENOSYS": "Function not implemented", "ENOTEMPTY": "Directory not empty",
    "ELOOP": "Too many levels of symbolic links", "ENOEXEC": "Exec format error",
    "E2BIG": "Argument list too long", "ENAMETOOLONG": "File name too long",
    "EXDEV": "Invalid cross-device link", "ERESTARTSYS": "restart",
}


__all__ = ["BLOCK", "AT_FDCWD", "Call", "Fd", "Flags", "Handler", "HANDLERS", "Int",
           "LinuxError", "Mode", "Off64", "Path", "Ptr", "Signal", "Size", "UInt", "syscall",
           "result_text", "KINDS"]
