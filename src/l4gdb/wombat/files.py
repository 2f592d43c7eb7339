"""Open file descriptions and the per-process file descriptor table.

An :class:`OpenFile` is Linux's ``struct file``: the offset and status flags
live here and are shared by every descriptor that refers to it (after dup or
fork). Reads and writes that would have to wait return :data:`WOULD_BLOCK`;
the system-call layer turns that into EAGAIN (O_NONBLOCK) or a blocked call.
"""

from __future__ import annotations

import errno as errno_mod
import os
import stat as st_mod
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import LinuxError
from .pipes import WOULD_BLOCK, Pipe

MAX_IO = 1 << 20          # bytes moved per read/write call (a short count is legal)
NOFILE_LIMIT = 1024       # RLIMIT_NOFILE soft limit of a new process
STATUS_FLAGS = frozenset({"O_APPEND", "O_NONBLOCK", "O_ASYNC", "FASYNC", "O_DIRECT",
                          "O_NOATIME"})     # the ones F_SETFL may change (fcntl(2))

DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12


def dev_encode(major: int, minor: int) -> int:
    """Linux's new_encode_dev (what stat reports as st_dev / st_rdev)."""
    return (minor & 0xFF) | (major & 0xFFF) << 8 | (minor & ~0xFF) << 12


@dataclass(frozen=True)
class Stat:
    """What stat/lstat/fstat return, before the arch's struct layout."""

    dev: int
    ino: int
    mode: int
    nlink: int
    uid: int
    gid: int
    rdev: int
    size: int
    blksize: int
    blocks: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def from_host(cls, s: os.stat_result) -> Stat:
        return cls(dev=dev_encode(os.major(s.st_dev), os.minor(s.st_dev)), ino=s.st_ino,
                   mode=s.st_mode, nlink=s.st_nlink, uid=s.st_uid, gid=s.st_gid,
                   rdev=dev_encode(os.major(s.st_rdev), os.minor(s.st_rdev)),
                   size=s.st_size, blksize=s.st_blksize, blocks=s.st_blocks,
                   atime_ns=s.st_atime_ns, mtime_ns=s.st_mtime_ns, ctime_ns=s.st_ctime_ns)

    @classmethod
    def synthetic(cls, mode: int, ino: int, dev: int, rdev: int = 0, nlink: int = 1,
                  when_ns: int = 0, size: int = 0) -> Stat:
        """A node the server makes up (/proc, /dev, pipes): owned by root."""
        return cls(dev=dev, ino=ino, mode=mode, nlink=nlink, uid=0, gid=0, rdev=rdev,
                   size=size, blksize=4096, blocks=0, atime_ns=when_ns, mtime_ns=when_ns,
                   ctime_ns=when_ns)

    @property
    def d_type(self) -> int:
        return _DT_OF_FMT.get(st_mod.S_IFMT(self.mode), DT_UNKNOWN)


_DT_OF_FMT = {st_mod.S_IFIFO: DT_FIFO, st_mod.S_IFCHR: DT_CHR, st_mod.S_IFDIR: DT_DIR,
              st_mod.S_IFBLK: DT_BLK, st_mod.S_IFREG: DT_REG, st_mod.S_IFLNK: DT_LNK,
              st_mod.S_IFSOCK: DT_SOCK}
BOOT_NS = time.time_ns()
PIPEFS_DEV = dev_encode(0, 12)


def host_errors() -> Any:
    """Context manager: a host OSError becomes the LinuxError of the same errno
    name (the host is Linux, so the names agree)."""
    return _HostErrors()


def linux_error(e: OSError) -> LinuxError:
    return LinuxError(errno_mod.errorcode.get(e.errno or 0, "EIO"), str(e))


class _HostErrors:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, OSError) and not isinstance(exc, LinuxError):
            raise linux_error(exc) from None
        return False


# --- open file descriptions ------------------------------------------------------------
@dataclass(eq=False)
class OpenFile:
    """One open file description (``struct file``)."""

    path: str | None = None            # the guest path, None for anonymous files (pipes)
    access: str = "r"                  # "r", "w" or "rw" (O_ACCMODE)
    status: set[str] = field(default_factory=set)    # O_APPEND, O_NONBLOCK, ...
    offset: int = 0
    refs: int = 0                      # descriptors referring to it (all processes)

    # -- access mode ---------------------------------------------------------------
    @property
    def can_read(self) -> bool:
        return "r" in self.access

    @property
    def can_write(self) -> bool:
        return "w" in self.access

    @property
    def nonblock(self) -> bool:
        return "O_NONBLOCK" in self.status

    @property
    def is_dir(self) -> bool:
        return False

    def _check(self, write: bool) -> None:
        if not (self.can_write if write else self.can_read):
            raise LinuxError("EBADF")

    # -- I/O (subclasses override what they support) --------------------------------
    def read(self, n: int) -> bytes | Any:
        self._check(False)
        data = self.pread(n, self.offset)
        if data is not WOULD_BLOCK:
            self.offset += len(data)
        return data

    def write(self, data: bytes) -> int | Any:
        self._check(True)
        done = self.pwrite(data, self.offset)
        if done is not WOULD_BLOCK:
            self.offset += done
        return done

    def pread(self, n: int, offset: int) -> bytes | Any:
        raise LinuxError("ESPIPE")

    def pwrite(self, data: bytes, offset: int) -> int | Any:
        raise LinuxError("ESPIPE")

    def seek(self, offset: int, whence: int) -> int:
        raise LinuxError("ESPIPE")

    def getdents64(self, size: int) -> bytes:
        raise LinuxError("ENOTDIR")

    def truncate(self, length: int) -> None:
        raise LinuxError("EINVAL")

    def sync(self) -> None:
        raise LinuxError("EINVAL")

    def stat(self) -> Stat:
        raise NotImplementedError

    def link_text(self) -> str:
        """What readlink("/proc/self/fd/N") shows."""
        return self.path or f"anon_inode:[{type(self).__name__}]"

    @property
    def tty(self) -> ConsoleTty | None:
        return None

    # -- readiness (poll/select, and the server's wake-up test) -----------------------
    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def hangup(self) -> bool:
        return False

    def nread(self) -> int:
        """FIONREAD."""
        raise LinuxError("ENOTTY")

    # -- lifetime -------------------------------------------------------------------------
    def opened(self) -> None:
        """Called once when the description is made (pipe ends count themselves)."""

    def release(self) -> None:
        """The last descriptor is gone."""


def _seek_target(offset: int, whence: int, cur: int, end: int) -> int:
    base = {0: 0, 1: cur, 2: end}.get(whence)
    if base is None:
        raise LinuxError("EINVAL")
    new = base + offset
    if new < 0:
        raise LinuxError("EINVAL")
    return new


@dataclass(eq=False)
class JailFile(OpenFile):
    """A regular file of the jail, backed by a host descriptor; I/O goes
    through pread/pwrite so the offset stays ours (shared by dup/fork)."""

    fd: int = -1
    # What stat shows for the host file (the mode bits and owner Wombat keeps
    # off the host, vfs.py); None: the host's own.
    shown: Callable[[os.stat_result], Stat] | None = None

    def pread(self, n: int, offset: int) -> bytes:
        self._check(False)
        if offset < 0:
            raise LinuxError("EINVAL")
        with host_errors():
            return os.pread(self.fd, max(0, min(n, MAX_IO)), offset)

    def pwrite(self, data: bytes, offset: int) -> int:
        self._check(True)
        if offset < 0:
            raise LinuxError("EINVAL")
        with host_errors():
            return os.pwrite(self.fd, data[:MAX_IO], offset)

    def write(self, data: bytes) -> int:
        self._check(True)
        if "O_APPEND" in self.status:
            with host_errors():
                self.offset = os.fstat(self.fd).st_size
        return super().write(data)

    def seek(self, offset: int, whence: int) -> int:
        with host_errors():
            end = os.fstat(self.fd).st_size
        self.offset = _seek_target(offset, whence, self.offset, end)
        return self.offset

    def truncate(self, length: int) -> None:
        if not self.can_write:
            raise LinuxError("EINVAL")
        if length < 0:
            raise LinuxError("EINVAL")
        with host_errors():
            os.ftruncate(self.fd, length)

    def sync(self) -> None:
        with host_errors():
            os.fsync(self.fd)

    def stat(self) -> Stat:
        with host_errors():
            st = os.fstat(self.fd)
        return self.shown(st) if self.shown is not None else Stat.from_host(st)

    @property
    def key(self) -> tuple[int, int, int]:
        """Identity of the contents for a page cache: (dev, ino, mtime_ns)."""
        s = os.fstat(self.fd)
        return (s.st_dev, s.st_ino, s.st_mtime_ns)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass(frozen=True)
class DirEntry:
    name: str
    ino: int
    d_type: int


def dirent64(ino: int, next_off: int, d_type: int, name: bytes) -> bytes:
    """One linux_dirent64 record: d_ino u64, d_off s64, d_reclen u16, d_type u8,
    the name with its NUL, padded to 8 bytes."""
    reclen = (19 + len(name) + 1 + 7) & ~7
    rec = struct.pack("<QqHB", ino, next_off, reclen, d_type) + name + b"\0"
    return rec.ljust(reclen, b"\0")


@dataclass(eq=False)
class DirFile(OpenFile):
    """An open directory: getdents64 over a listing taken at the first read
    (and again after a rewind), with ``.`` and ``..`` first."""

    list_entries: Callable[[], list[DirEntry]] = list
    stat_fn: Callable[[], Stat] | None = None
    release_fn: Callable[[], None] | None = None
    _entries: list[DirEntry] | None = None

    @property
    def is_dir(self) -> bool:
        return True

    def read(self, n: int) -> bytes:
        raise LinuxError("EISDIR")

    def pread(self, n: int, offset: int) -> bytes:
        raise LinuxError("EISDIR")

    def write(self, data: bytes) -> int:
        raise LinuxError("EBADF")

    def seek(self, offset: int, whence: int) -> int:
        if whence not in (0, 1) or (whence == 0 and offset < 0):
            raise LinuxError("EINVAL")
        new = offset if whence == 0 else self.offset + offset
        if new < 0:
            raise LinuxError("EINVAL")
        if new == 0:
            self._entries = None        # rewinddir sees new entries
        self.offset = new
        return new

    def getdents64(self, size: int) -> bytes:
        if self._entries is None:
            self._entries = self.list_entries()
        out = bytearray()
        while self.offset < len(self._entries):
            e = self._entries[self.offset]
            rec = dirent64(e.ino, self.offset + 1, e.d_type,
                           e.name.encode("utf-8", "surrogateescape"))
            if len(out) + len(rec) > size:
                if not out:
                    raise LinuxError("EINVAL")     # buffer too small for one entry
                break
            out += rec
            self.offset += 1
        return bytes(out)

    def stat(self) -> Stat:
        assert self.stat_fn is not None
        return self.stat_fn()

    def release(self) -> None:
        if self.release_fn is not None:
            self.release_fn()
            self.release_fn = None


@dataclass(eq=False)
class PipeEnd(OpenFile):
    """The read or the write end of a pipe."""

    pipe: Pipe = field(default_factory=Pipe)

    def opened(self) -> None:
        if self.can_read:
            self.pipe.readers += 1
        if self.can_write:
            self.pipe.writers += 1

    def release(self) -> None:
        if self.can_read:
            self.pipe.readers -= 1
        if self.can_write:
            self.pipe.writers -= 1

    def read(self, n: int) -> bytes | Any:
        self._check(False)
        return self.pipe.read(min(n, MAX_IO))

    def write(self, data: bytes) -> int | Any:
        self._check(True)
        return self.pipe.write(data)

    def readable(self) -> bool:
        return self.can_read and self.pipe.readable()

    def writable(self) -> bool:
        return self.can_write and self.pipe.writable()

    def hangup(self) -> bool:
        return self.pipe.writers == 0 if self.can_read else self.pipe.readers == 0

    def nread(self) -> int:
        return self.pipe.available()

    def stat(self) -> Stat:
        return Stat.synthetic(st_mod.S_IFIFO | 0o600, self.pipe.ino, PIPEFS_DEV,
                              when_ns=BOOT_NS)

    def link_text(self) -> str:
        return f"pipe:[{self.pipe.ino}]"


@dataclass(eq=False)
class TextFile(OpenFile):
    """A read-only file whose contents the server makes (/proc/<pid>/stat...)."""

    data: bytes = b""
    stat_fn: Callable[[], Stat] | None = None

    def pread(self, n: int, offset: int) -> bytes:
        self._check(False)
        if offset < 0:
            raise LinuxError("EINVAL")
        return self.data[offset:offset + max(0, min(n, MAX_IO))]

    def seek(self, offset: int, whence: int) -> int:
        self.offset = _seek_target(offset, whence, self.offset, len(self.data))
        return self.offset

    def stat(self) -> Stat:
        assert self.stat_fn is not None
        return self.stat_fn()


# --- devices -----------------------------------------------------------------------------
DEVICES: dict[str, tuple[int, int]] = {     # /dev name -> (major, minor), devices.txt
    "null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9),
    "tty": (5, 0), "console": (5, 1),
}
DEVTMPFS_DEV = dev_encode(0, 6)


@dataclass(eq=False)
class DevFile(OpenFile):
    """/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom."""

    device: str = "null"

    def pread(self, n: int, offset: int) -> bytes:
        self._check(False)
        n = max(0, min(n, MAX_IO))
        if self.device == "null":
            return b""
        if self.device in ("zero", "full"):
            return bytes(n)
        return os.urandom(n)

    def pwrite(self, data: bytes, offset: int) -> int:
        self._check(True)
        if self.device == "full":
            raise LinuxError("ENOSPC")
        return len(data)

    def read(self, n: int) -> bytes:
        return self.pread(n, 0)

    def write(self, data: bytes) -> int:
        return self.pwrite(data, 0)

    def seek(self, offset: int, whence: int) -> int:
        self.offset = 0              # character devices ignore seeks (null/zero return 0)
        return 0

    def stat(self) -> Stat:
        return device_stat(self.device)


def device_stat(name: str) -> Stat:
    major, minor = DEVICES[name]
    mode = 0o620 if name in ("tty", "console") else 0o666
    return Stat.synthetic(st_mod.S_IFCHR | mode, 100 + minor + 16 * major, DEVTMPFS_DEV,
                          rdev=dev_encode(major, minor), when_ns=BOOT_NS)


# --- the console terminal ----------------------------------------------------------------
@dataclass
class Termios:
    """struct termios without the arch's layout (the kernel struct: no speeds)."""

    iflag: int
    oflag: int
    cflag: int
    lflag: int
    line: int
    cc: bytes


@dataclass(frozen=True)
class TtyChars:
    """The c_cc indices and flag bits the line discipline uses, in the arch's
    numbers (MIPS moves VEOF/VMIN and IEXTEN); defaults: i386/arm."""

    vintr: int = 0
    vquit: int = 1
    verase: int = 2
    vkill: int = 3
    veof: int = 4
    vsusp: int = 10
    isig: int = 0o1             # c_lflag
    icanon: int = 0o2
    echo: int = 0o10
    echoe: int = 0o20
    echok: int = 0o40
    echonl: int = 0o100
    echoctl: int = 0o1000
    icrnl: int = 0o400          # c_iflag
    opost: int = 0o1            # c_oflag
    onlcr: int = 0o4


def default_termios(cc: bytes = b"\x03\x1c\x7f\x15\x04\x00\x01\x00\x11\x13\x1a\x00\x12\x0f"
                                 b"\x17\x16\x00", lflag: int = 0x8A3B) -> Termios:
    """tty_std_termios: ICRNL|IXON, OPOST|ONLCR, B38400|CS8|CREAD|HUPCL,
    ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN (i386/arm values)."""
    return Termios(iflag=0x500, oflag=0x5, cflag=0x4BF, lflag=lflag, line=0, cc=cc)


_SIGNAL_CHARS = (("vintr", "SIGINT"), ("vquit", "SIGQUIT"), ("vsusp", "SIGTSTP"))


@dataclass
class ConsoleTty:
    """The terminal behind /dev/console and the initial stdin/stdout/stderr:
    output goes to ``output`` (l4gdb's terminal), input arrives through
    :meth:`feed` (or is pulled from ``source``).

    Three ways to sit on l4gdb's terminal:

    * ``isatty`` False (l4gdb's output is a pipe or file): no terminal at all,
      as qemu-user gives a program whose output is piped: the terminal ioctls
      fail with ENOTTY and input passes through as it comes;
    * ``isatty`` (the default): l4gdb's terminal does echo and line editing;
      the console splits canonical input into lines and honours ^D;
    * ``isatty`` and ``local``: l4gdb's terminal takes input raw (see
      :func:`raw_input_mode`) and the console is the line discipline: ICRNL,
      echo, erase/kill and the ISIG characters (the signals collect in
      ``signals`` for the foreground group ``pgrp``).
    """

    output: Callable[[bytes], None]
    termios: Termios = field(default_factory=default_termios)
    chars: TtyChars = field(default_factory=TtyChars)
    winsize: tuple[int, int, int, int] = (24, 80, 0, 0)     # rows, cols, xpixel, ypixel
    pgrp: int = 0                                           # foreground process group
    input: bytearray = field(default_factory=bytearray)     # what reads may take
    eof: bool = False                                       # host input closed
    source: Any = None          # pulled for input: read_char() -> int | None, and .eof
    signals: list[str] = field(default_factory=list)        # ISIG signals not yet sent
    isatty: bool = True
    local: bool = False
    _line: bytearray = field(default_factory=bytearray)     # canonical line being edited

    @classmethod
    def of_terminal(cls, term: Any, termios: Termios | None = None,
                    chars: TtyChars | None = None) -> ConsoleTty:
        """The console over l4gdb's terminal (``l4gdb.runtime.console.ConsoleWatcher``):
        output through its ``write``, input pulled from its ``read_char``. Like
        qemu-user, the program sees a terminal only when l4gdb's output is one
        (``ls`` prints columns on a terminal, one name a line into a pipe)."""
        out = getattr(term, "out", None)
        try:
            isatty = bool(out is not None and out.isatty())
        except (AttributeError, ValueError, OSError):
            isatty = False
        con = cls(output=term.write, termios=termios or default_termios(),
                  chars=chars or TtyChars(), source=term, isatty=isatty)
        if isatty:
            try:                               # the real window, for line editing
                size = os.get_terminal_size(out.fileno())
                con.winsize = (size.lines, size.columns, 0, 0)
            except (AttributeError, ValueError, OSError):
                pass
        return con

    def pull(self) -> None:
        """Move what the source has into the input queue."""
        src = self.source
        if src is None:
            return
        data = bytearray()
        while (c := src.read_char()) is not None:
            data.append(c)
        if data:
            self.signals += self.feed(bytes(data))
        if getattr(src, "eof", False) and not data:
            self.eof = True

    # -- input -------------------------------------------------------------------------
    def _flag(self, which: str, bit: int) -> bool:
        return bool(getattr(self.termios, which) & bit)

    def feed(self, data: bytes) -> list[str]:
        """Queue input; return the signals for the foreground group (ISIG)."""
        if not self.isatty:
            self.input += data
            return []
        if not self.local:
            return self._feed_cooked(data)
        out: list[str] = []
        for b in data:
            sig = self._discipline(b)
            if sig:
                out.append(sig)
        return out

    def _signal_of(self, b: int) -> str | None:
        if not self._flag("lflag", self.chars.isig) or b == 0:
            return None
        cc = self.termios.cc
        for attr, name in _SIGNAL_CHARS:
            if cc[getattr(self.chars, attr)] == b:
                return name
        return None

    def _feed_cooked(self, data: bytes) -> list[str]:
        """l4gdb's terminal edits lines; only ISIG characters are ours."""
        signals = []
        for b in data:
            sig = self._signal_of(b)
            if sig:
                signals.append(sig)
                self.input.clear()          # the line discipline flushes the input
            else:
                self.input.append(b)
        return signals

    def _echo(self, data: bytes) -> None:
        if self._flag("lflag", self.chars.echo):
            self._out(data)

    def _discipline(self, b: int) -> str | None:
        """One input byte through the line discipline (n_tty)."""
        c, cc = self.chars, self.termios.cc
        if b == 0x0D and self._flag("iflag", c.icrnl):
            b = 0x0A
        sig = self._signal_of(b)
        if sig:
            if self._flag("lflag", c.echoctl):
                self._echo(b"^" + bytes([b ^ 0x40]))
            self._line.clear()
            self.input.clear()
            return sig
        if not self._flag("lflag", c.icanon):
            self._echo(bytes([b]))
            self.input.append(b)
            return None
        if b == cc[c.verase] and b:
            if self._line:
                self._line.pop()
                if self._flag("lflag", c.echoe):
                    self._echo(b"\b \b")
            return None
        if b == cc[c.vkill] and b:
            if self._flag("lflag", c.echok):
                self._echo(b"\b \b" * len(self._line))
            self._line.clear()
            return None
        if b == cc[c.veof] and b:
            self.input += self._line + bytes([b])     # the reader sees the ^D mark
            self._line.clear()
            return None
        self._line.append(b)
        if b == 0x0A:
            if self._flag("lflag", c.echo) or self._flag("lflag", c.echonl):
                self._out(b"\n")
            self.input += self._line
            self._line.clear()
        else:
            self._echo(bytes([b]))
        return None

    def close_input(self) -> None:
        self.eof = True

    @property
    def canonical(self) -> bool:
        return self.isatty and self._flag("lflag", self.chars.icanon)

    def _line_end(self) -> tuple[int, int] | None:
        """(bytes a canonical read returns, bytes it consumes) for the first
        complete line: a newline is returned, a ^D ends the line unseen."""
        veof = self.termios.cc[self.chars.veof]
        for i, b in enumerate(self.input):
            if b == 0x0A:
                return i + 1, i + 1
            if veof and b == veof:
                return i, i + 1
        return None

    def _settle(self) -> None:
        """Input pending, and a half-edited line once canonical mode is off."""
        self.pull()
        if self._line and not self.canonical:
            self.input += self._line
            self._line.clear()

    def read(self, n: int) -> bytes | Any:
        self._settle()
        n = max(0, min(n, MAX_IO))
        if self.canonical:
            line = self._line_end()
            if line is None:
                if self.eof:
                    return self._take(min(n, len(self.input)))
                return WOULD_BLOCK
            give, eat = line
            if n < give:
                return self._take(n)
            data = bytes(self.input[:give])
            del self.input[:eat]
            return data
        if self.input:
            return self._take(n)
        return b"" if self.eof else WOULD_BLOCK

    def _take(self, n: int) -> bytes:
        data = bytes(self.input[:n])
        del self.input[:n]
        return data

    def readable(self) -> bool:
        self._settle()
        if self.eof:
            return True
        return (self._line_end() is not None) if self.canonical else bool(self.input)

    # -- output (l4gdb's terminal keeps its output processing: ONLCR is done there) ---
    def _out(self, data: bytes) -> None:
        self.output(data)

    def write(self, data: bytes) -> int:
        self._out(bytes(data[:MAX_IO]))
        return min(len(data), MAX_IO)


@contextmanager
def raw_input_mode(stream: Any) -> Iterator[bool]:
    """l4gdb's own terminal without input processing (no echo, no line editing,
    ^C as a byte) while a ``local`` console does those for the program; the
    output processing stays. Restored on exit; yields False (and changes
    nothing) when ``stream`` is not a terminal."""
    import termios

    try:
        fd = stream.fileno()
        old = termios.tcgetattr(fd)
    except (AttributeError, ValueError, OSError, termios.error):
        yield False
        return
    new = list(old)
    new[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON)
    new[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
    cc = list(new[6])
    cc[termios.VMIN], cc[termios.VTIME] = 1, 0
    new[6] = cc
    termios.tcsetattr(fd, termios.TCSADRAIN, new)
    try:
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


@dataclass(eq=False)
class TtyFile(OpenFile):
    """An open /dev/console or /dev/tty."""

    console: ConsoleTty | None = None
    device: str = "console"

    @property
    def tty(self) -> ConsoleTty:
        assert self.console is not None
        return self.console

    def read(self, n: int) -> bytes | Any:
        self._check(False)
        return self.tty.read(n)

    def write(self, data: bytes) -> int:
        self._check(True)
        return self.tty.write(data)

    def readable(self) -> bool:
        return self.tty.readable()

    def nread(self) -> int:
        self.tty.pull()
        return len(self.tty.input)

    def stat(self) -> Stat:
        return device_stat(self.device)


# --- the descriptor table --------------------------------------------------------------
@dataclass
class FdTable:
    """A process's descriptors: lowest free number, close-on-exec, fork copy."""

    limit: int = NOFILE_LIMIT
    slots: dict[int, OpenFile] = field(default_factory=dict)
    cloexec: set[int] = field(default_factory=set)

    @classmethod
    def with_console(cls, console: Any) -> FdTable:
        """The first process's table: 0, 1 and 2 on one description of the
        console (a :class:`ConsoleTty`, or l4gdb's terminal, which gets wrapped)."""
        if console is not None and not isinstance(console, ConsoleTty):
            console = ConsoleTty.of_terminal(console)
        table = cls()
        if console is not None:
            tty = TtyFile(path="/dev/console", access="rw", console=console)
            for _ in range(3):
                table.install(tty)
        return table

    def get(self, fd: int) -> OpenFile:
        f = self.slots.get(fd)
        if f is None:
            raise LinuxError("EBADF")
        return f

    def __contains__(self, fd: int) -> bool:
        return fd in self.slots

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self.slots))

    def items(self) -> list[tuple[int, OpenFile]]:
        return sorted(self.slots.items())

    def _lowest_free(self, minfd: int) -> int:
        fd = max(0, minfd)
        while fd in self.slots:
            fd += 1
        if fd >= self.limit:
            raise LinuxError("EMFILE")
        return fd

    def _place(self, fd: int, f: OpenFile, cloexec: bool) -> int:
        if f.refs == 0:
            f.opened()
        f.refs += 1
        self.slots[fd] = f
        if cloexec:
            self.cloexec.add(fd)
        else:
            self.cloexec.discard(fd)
        return fd

    def next_fd(self, minfd: int = 0) -> int:
        """The descriptor install would use (EMFILE when there is none)."""
        return self._lowest_free(minfd)

    def install(self, f: OpenFile, cloexec: bool = False, minfd: int = 0) -> int:
        """A new descriptor (the lowest free one >= minfd) for ``f``."""
        return self._place(self._lowest_free(minfd), f, cloexec)

    def close(self, fd: int) -> None:
        f = self.get(fd)
        del self.slots[fd]
        self.cloexec.discard(fd)
        _drop(f)

    def dup(self, fd: int, minfd: int = 0, cloexec: bool = False) -> int:
        """dup / F_DUPFD / F_DUPFD_CLOEXEC."""
        if minfd < 0 or minfd >= self.limit:
            raise LinuxError("EINVAL")
        return self.install(self.get(fd), cloexec, minfd)

    def dup2(self, old: int, new: int, cloexec: bool = False) -> int:
        f = self.get(old)
        if new < 0 or new >= self.limit:
            raise LinuxError("EBADF")
        if old == new:
            return new
        if new in self.slots:
            self.close(new)
        return self._place(new, f, cloexec)

    def dup3(self, old: int, new: int, cloexec: bool) -> int:
        if old == new:
            raise LinuxError("EINVAL")
        return self.dup2(old, new, cloexec)

    def get_cloexec(self, fd: int) -> bool:
        self.get(fd)
        return fd in self.cloexec

    def set_cloexec(self, fd: int, on: bool) -> None:
        self.get(fd)
        if on:
            self.cloexec.add(fd)
        else:
            self.cloexec.discard(fd)

    def fork(self) -> FdTable:
        """The child's table: the same descriptions, one more reference each."""
        child = FdTable(limit=self.limit, cloexec=set(self.cloexec))
        for fd, f in self.slots.items():
            f.refs += 1
            child.slots[fd] = f
        return child

    def close_on_exec(self) -> None:
        """execve: the FD_CLOEXEC descriptors close."""
        for fd in sorted(self.cloexec):
            self.close(fd)

    def close_all(self) -> None:
        for fd in list(self.slots):
            self.close(fd)


def _drop(f: OpenFile) -> None:
    f.refs -= 1
    if f.refs == 0:
        f.release()


def reopen(f: OpenFile, access: str, status: set[str]) -> OpenFile:
    """A new description of the same object (open of /proc/self/fd/N for a pipe)."""
    if isinstance(f, PipeEnd):
        return PipeEnd(path=None, access=access, status=status, pipe=f.pipe)
    if isinstance(f, TtyFile):
        return TtyFile(path=f.path, access=access, status=status, console=f.console,
                       device=f.device)
    raise LinuxError("ENXIO")
