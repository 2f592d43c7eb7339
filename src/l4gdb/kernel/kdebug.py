"""KDebug console operations (contract §4) and the host's console/memory protocols."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .abi import KDebugOp

if TYPE_CHECKING:
    from .kernel import Kernel
    from .thread import Tcb

MAX_STRING = 4096


class KdbConsole(Protocol):
    def write(self, text: str) -> None: ...

    def read_char(self) -> int | None: ...


class BufferConsole:
    """A console that collects output and serves queued input (tests, batch runs)."""

    def __init__(self, input_text: str = "") -> None:
        self.output: list[str] = []
        self.pending = list(input_text.encode())

    def write(self, text: str) -> None:
        self.output.append(text)

    def read_char(self) -> int | None:
        return self.pending.pop(0) if self.pending else None

    @property
    def text(self) -> str:
        return "".join(self.output)


def _read(k: Kernel, addr: int, n: int, t: Tcb | None = None) -> bytes | None:
    """n bytes at t's virtual address (flat: the address itself), through the
    kernel window page by page when spaces have page tables."""
    if k.paging is not None and t is not None:
        out = bytearray()
        while len(out) < n:
            va = addr + len(out)
            chunk = min(n - len(out), k.page_size - va % k.page_size)
            ka = k.user_address(t, va, 4)
            data = k.read_memory(ka, chunk) if ka is not None else None
            if data is None:
                return bytes(out) if out else None
            out += data
        return bytes(out)
    return k.read_memory(addr, n)


def read_cstring(k: Kernel, addr: int, limit: int = 256, t: Tcb | None = None) -> bytes | None:
    data = _read(k, addr, limit, t)
    if data is None:
        return None
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


def sys_kdebug(k: Kernel, cur: Tcb, op: int, arg1: int, arg2: int) -> tuple[int, ...]:
    fail = k.arch.word_mask                         # -1
    if op == KDebugOp.PrintChar:
        k.console.write(chr(arg1 & 0xFF))
        return (0,)
    if op == KDebugOp.ReadChar:
        c = k.console.read_char()
        return (fail if c is None else c & 0xFF,)
    if op == KDebugOp.PrintString:
        data = _read(k, arg1, min(arg2, MAX_STRING), cur)
        if data is None:
            return (fail,)
        k.console.write(data.decode("latin-1"))
        return (0,)
    if op == KDebugOp.Exit:
        status = arg1 - (1 << k.bits) if arg1 >> (k.bits - 1) else arg1
        k.thread_exit(cur, status)
        return (0,)
    if op == KDebugOp.Enter:
        msg = read_cstring(k, arg1, t=cur)
        k.console.write(f"KDB: {'<bad address>' if msg is None else msg.decode('latin-1')}\n")
        return (0,)
    return (fail,)
