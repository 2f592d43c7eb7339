"""The emulated /proc and /dev trees of the jailed file system (see vfs.py).

/proc has ``self`` (a link to the caller's ``/proc/<pid>``) and a directory
per process: the magic links ``exe``, ``cwd``, ``root`` and ``fd/N``, and
the text files ``stat``, ``status``, ``cmdline`` and ``comm`` that ``ps``
reads. /dev has the character devices the server implements, the
``fd``/``stdin``/``stdout``/``stderr`` links and, once a native program
shared one, ``/dev/iguana/NAME`` per shared memsection (shared.py). Nothing
here touches the host.
"""

from __future__ import annotations

import os
import stat as st_mod
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .files import BOOT_NS, DEVICES, OpenFile, Stat, dev_encode, device_stat
from .shared import DEV_DIR as SHARED_DIR
from .shared import file_stat

PROC_DEV = dev_encode(0, 4)
DEV_DEV = dev_encode(0, 6)
CLK_TCK = 100


@dataclass(frozen=True)
class Virtual:
    """An emulated node: a directory, a (magic) link, a device, a text file,
    or an anonymous open file reached through /proc/self/fd/N."""

    kind: str                  # "dir", "link", "dev", "text", "file", "shm"
    path: str
    target: str | None = None  # link: the guest path it leads to
    text: str = ""             # link: what readlink shows; text: the contents
    file: OpenFile | None = None
    host: os.stat_result | None = None   # the rootfs's own /proc or /dev directory
    shared: Any = None         # shm: the SharedMemsection

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]

    @property
    def ino(self) -> int:
        return zlib.crc32(self.path.encode()) | 1

    def stat(self) -> Stat:
        if self.host is not None:          # what ls -l / shows for the mount points
            return Stat.from_host(self.host)
        if self.kind == "dev":
            return device_stat(self.name)
        if self.kind == "shm":
            return file_stat(self.shared)
        if self.kind == "file":
            assert self.file is not None
            return self.file.stat()
        mode = {"dir": st_mod.S_IFDIR | 0o555, "link": st_mod.S_IFLNK | 0o777,
                "text": st_mod.S_IFREG | 0o444}[self.kind]
        dev = DEV_DEV if self.path.startswith("/dev") else PROC_DEV
        return Stat.synthetic(mode, self.ino, dev, nlink=2 if self.kind == "dir" else 1,
                              when_ns=BOOT_NS, size=len(self.text) if self.kind == "link" else 0)


def _stat_line(p: Any) -> str:
    """/proc/<pid>/stat (proc(5)): the fields ps uses, the rest 0."""
    comm = os.path.basename(getattr(p, "exe", "") or "?")[:15]
    state = "Z" if getattr(p, "zombie", False) else "S"
    start = getattr(p, "start_us", 0) * CLK_TCK // 1_000_000
    fields = [p.pid, f"({comm})", state, getattr(p, "ppid", 0), getattr(p, "pgid", p.pid),
              getattr(p, "sid", p.pid), 0, -1, 0x400000, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0,
              max(1, len(getattr(p, "threads", ()) or ())), 0, start] + [0] * 30
    return " ".join(str(f) for f in fields) + "\n"


def _status(p: Any) -> str:
    comm = os.path.basename(getattr(p, "exe", "") or "?")[:15]
    state = "Z (zombie)" if getattr(p, "zombie", False) else "S (sleeping)"
    return (f"Name:\t{comm}\nUmask:\t{getattr(p, 'umask', 0o22):04o}\nState:\t{state}\n"
            f"Tgid:\t{p.pid}\nPid:\t{p.pid}\nPPid:\t{getattr(p, 'ppid', 0)}\n"
            "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
            f"Threads:\t{max(1, len(getattr(p, 'threads', ()) or ()))}\n")


def _cmdline(p: Any) -> str:
    argv = [] if getattr(p, "zombie", False) else list(getattr(p, "argv", []) or [])
    return "".join(a + "\0" for a in argv)


class ProcTree:
    """The entries of the emulated directories, for the calling process
    ``proc``; ``processes`` gives the others (pid -> process), when known."""

    def __init__(self, processes: Callable[[], Mapping[int, Any]] | None = None) -> None:
        self.processes = processes
        # name -> SharedMemsection: what native programs shared (set by the server)
        self.shared: Callable[[], Mapping[str, Any]] = dict

    def _process(self, proc: Any, pid: str) -> Any:
        if pid == str(proc.pid):
            return proc
        if self.processes is None or not pid.isdigit():
            return None
        p = self.processes().get(int(pid))
        return p if p is not None and not getattr(p, "zombie", False) else None

    def _pids(self, proc: Any) -> list[int]:
        others = self.processes() if self.processes is not None else {}
        return sorted({proc.pid} | {n for n, p in others.items()
                                    if not getattr(p, "zombie", False)})

    def list(self, proc: Any, path: str) -> list[Virtual]:
        """The emulated entries of the directory ``path`` ([] if none)."""
        if path == "/proc":
            me = str(proc.pid)
            return [Virtual("link", "/proc/self", target=f"/proc/{me}", text=me)] + \
                [Virtual("dir", f"/proc/{n}") for n in self._pids(proc)]
        if path == "/dev":
            out = [Virtual("dev", "/dev/" + d) for d in DEVICES]
            out.append(Virtual("link", "/dev/fd", target="/proc/self/fd", text="/proc/self/fd"))
            for i, n in enumerate(("stdin", "stdout", "stderr")):
                t = f"/proc/self/fd/{i}"
                out.append(Virtual("link", "/dev/" + n, target=t, text=t))
            if self.shared():
                out.append(Virtual("dir", SHARED_DIR))
            return out
        if path == SHARED_DIR:
            return [Virtual("shm", f"{SHARED_DIR}/{name}", shared=sm)
                    for name, sm in sorted(self.shared().items())]
        parts = path.split("/")          # "", "proc", pid[, "fd"]
        if len(parts) not in (3, 4) or parts[1] != "proc":
            return []
        p = self._process(proc, parts[2])
        if p is None:
            return []
        base = f"/proc/{p.pid}"
        if len(parts) == 4:
            if parts[3] != "fd":
                return []
            return [Virtual("link", f"{base}/fd/{fd}", target=f.path, text=f.link_text(),
                            file=f) for fd, f in p.fds.items()]
        return [Virtual("link", base + "/exe", target=p.exe, text=p.exe),
                Virtual("link", base + "/cwd", target=p.cwd, text=p.cwd),
                Virtual("link", base + "/root", target="/", text="/"),
                Virtual("dir", base + "/fd"),
                Virtual("text", base + "/stat", text=_stat_line(p)),
                Virtual("text", base + "/status", text=_status(p)),
                Virtual("text", base + "/cmdline", text=_cmdline(p)),
                Virtual("text", base + "/comm",
                        text=os.path.basename(p.exe or "?")[:15] + "\n")]

    def child(self, proc: Any, path: str) -> Virtual | None:
        parent, name = path.rsplit("/", 1)
        for v in self.list(proc, parent):
            if v.name == name:
                return v
        return None
