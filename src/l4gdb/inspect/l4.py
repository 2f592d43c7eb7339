"""The ``l4`` command family: threads, ipc, sched, spaces, kip, tcb."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from l4gdb.inspect.table import render, tid
from l4gdb.kernel.snapshot import KernelSnapshot


class CommandError(Exception):
    """Bad arguments to an inspection command (shown to the person as is)."""


def _names(s: KernelSnapshot) -> dict[int, str]:
    return {t.id: t.name for t in s.threads}


def _us(v: int | None) -> str:
    return "never" if v is None else f"{v / 1000:.1f}ms"


def threads(s: KernelSnapshot, args: list[str]) -> tuple[str, Any]:
    names = _names(s)
    rows = [(f"{t.id:#x}", t.name, t.space, t.state, t.priority, _us(t.timeslice_left_us),
             tid(t.pager, names), tid(t.exception_handler, names), f"{t.ip:#x}")
            for t in s.threads]
    text = render(("ID", "NAME", "SPACE", "STATE", "PRIO", "SLICE LEFT", "PAGER", "EXC HANDLER",
                   "IP"), rows)
    return text, [asdict(t) for t in s.threads]


def ipc(s: KernelSnapshot, args: list[str]) -> tuple[str, Any]:
    count = _int_arg(args, 16)
    names = _names(s)
    waits = [(t.name, t.state) for t in s.threads
             if t.state.startswith(("blocked", "receiving", "waiting"))]
    recent = list(s.ipc_log)[-count:]
    out = "Waiting:\n" + (render(("THREAD", "STATE"), waits) if waits else "  (nobody)\n")
    queues = [(tid(r, names), " ".join(tid(x, names) for x in q))
              for r, q in sorted(s.send_queues.items())]
    out += "\nSend queues:\n" + (render(("RECEIVER", "SENDERS (in order)"), queues)
                                 if queues else "  (empty)\n")
    out += f"\nLast {len(recent)} messages:\n"
    out += render(("TIME", "FROM", "TO", "LABEL", "U", "T", "TAG"),
                  [(_us(r.time_us), tid(r.sender, names), tid(r.receiver, names),
                    f"{r.msg.label:#x}", r.msg.u, r.msg.t, f"{r.tag:#x}") for r in recent])
    data = {"waiting": [{"thread": n, "state": st} for n, st in waits],
            "send_queues": {str(r): list(q) for r, q in s.send_queues.items()},
            "messages": [asdict(r) for r in recent]}
    return out, data


def sched(s: KernelSnapshot, args: list[str]) -> tuple[str, Any]:
    names = _names(s)
    cur = tid(s.current, names)
    rows = [(prio, " ".join(tid(t, names) for t in q))
            for prio, q in sorted(s.ready.items(), reverse=True)]
    text = f"current: {cur}   clock: {s.now_us} us   kernel entries: {s.traps}\n"
    text += render(("PRIO", "READY QUEUE"), rows) if rows else "no thread ready\n"
    data = {"current": s.current, "now_us": s.now_us, "traps": s.traps,
            "ready": {str(p): list(q) for p, q in s.ready.items()}}
    return text, data


def spaces(s: KernelSnapshot, args: list[str]) -> tuple[str, Any]:
    names = _names(s)
    rows = [(sp.ident, "yes" if sp.privileged else "no",
             f"{sp.kip_area[0]:#x}/{sp.kip_area[1]}", f"{sp.utcb_area[0]:#x}/{sp.utcb_area[1]}",
             " ".join(tid(t, names) for t in sp.threads)) for sp in s.spaces]
    text = render(("SPACE", "PRIVILEGED", "KIP AREA", "UTCB AREA", "THREADS"), rows)
    return text, [asdict(sp) for sp in s.spaces]


def _rwx(bits: int) -> str:
    return "".join(c if bits & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))


def maps(s: KernelSnapshot, args: list[str]) -> tuple[str, Any]:
    if not args:
        raise CommandError("usage: l4 maps SPACE (a space number from 'l4 spaces', or a thread)")
    space = _find_space(s, args[0])
    views = s.maps.get(space, ())
    rows = [(f"{m.vaddr:#010x}", f"{m.paddr:#010x}", _rwx(m.rights), _rwx(m.accessed),
             "sigma0" if m.parent is None else f"{m.parent[0]}:{m.parent[1]:#x}",
             " ".join(f"{sp}:{va:#x}" for sp, va in m.derived) or "-") for m in views]
    head = f"space {space}: {len(views)} pages\n"
    if not rows:
        return head + "(no mappings: the space is empty or runs without page tables)\n", []
    return head + render(("VADDR", "PADDR", "RIGHTS", "ACCESSED", "FROM", "DERIVED"), rows), \
        [asdict(m) for m in views]


def _find_space(s: KernelSnapshot, text: str) -> int:
    try:
        n = int(text, 0)
    except ValueError:
        return _find_thread(s, text).space
    if any(sp.ident == n for sp in s.spaces):
        return n
    return _find_thread(s, text).space


def kip(s: KernelSnapshot, args: list[str]) -> tuple[str, Any]:
    rows = [(k, f"{v:#x}" if isinstance(v, int) else v) for k, v in s.kip.items()]
    return render(("FIELD", "VALUE"), rows), dict(s.kip)


def tcb(s: KernelSnapshot, args: list[str]) -> tuple[str, Any]:
    if not args:
        raise CommandError("usage: l4 tcb THREAD (id in hex, thread number, or name)")
    t = _find_thread(s, args[0])
    data = asdict(t)

    def show(v: object) -> object:
        return f"{v:#x}" if isinstance(v, int) and not isinstance(v, bool) else v

    addresses = {"id", "pager", "exception_handler", "scheduler", "utcb", "ip", "sp"}
    rows = [(k, show(v) if k in addresses else v) for k, v in data.items()
            if k not in ("tcrs", "mrs")]
    rows += [(f"utcb.{k}", show(v)) for k, v in t.tcrs.items()]
    rows += [(f"utcb.MR{i}", show(v)) for i, v in enumerate(t.mrs)]
    return render(("FIELD", "VALUE"), rows), data


def _find_thread(s: KernelSnapshot, text: str):
    for t in s.threads:
        label = t.name.split(" (")[1].rstrip(")") if " (" in t.name else None
        if text in (t.name, t.name.split()[0], label, f"{t.id:#x}", f"{t.id:x}"):
            return t
    try:
        n = int(text, 0)
    except ValueError:
        raise CommandError(f"no thread {text!r}") from None
    for t in s.threads:
        if n in (t.id, t.id >> 14):
            return t
    raise CommandError(f"no thread {text!r}")


def _int_arg(args: list[str], default: int) -> int:
    if not args:
        return default
    try:
        return max(1, int(args[0], 0))
    except ValueError:
        raise CommandError(f"not a number: {args[0]!r}") from None


COMMANDS = {
    "threads": (threads, "every thread: id, name, space, state, priority, timeslice, pager"),
    "ipc": (ipc, "who waits on whom, and the last N messages (l4 ipc [N])"),
    "sched": (sched, "ready queues by priority, the current thread, the clock"),
    "spaces": (spaces, "address spaces: KIP and UTCB areas, threads"),
    "maps": (maps, "the mapping tree of a space: pages, rights, where each derives from"),
    "kip": (kip, "the kernel interface page's fields"),
    "tcb": (tcb, "one thread's control block (l4 tcb THREAD)"),
}
