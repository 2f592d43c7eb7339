"""File-system, descriptor, terminal and readiness system calls.

The handlers work on names (``O_CREAT``, ``TCGETS``, ``POLLIN``, ``ENOENT``);
the numbers and struct layouts come from the arch's :class:`LinuxAbi`
(``open_flags``, ``fcntl``, ``ioctls``, ``poll_events``, ``termios`` and
``structs``). A read or write that would wait returns ``BLOCK`` (or fails
with EAGAIN on an O_NONBLOCK file); the server runs it again later.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping
from typing import Any

from .calls import (
    AT_FDCWD,
    BLOCK,
    Call,
    Fd,
    Flags,
    Int,
    Mode,
    Off64,
    Path,
    Ptr,
    Size,
    UInt,
    syscall,
)
from .errors import LinuxError
from .files import (
    MAX_IO,
    STATUS_FLAGS,
    ConsoleTty,
    FdTable,
    JailFile,
    OpenFile,
    PipeEnd,
    Stat,
    Termios,
    TtyChars,
)
from .pipes import WOULD_BLOCK, Pipe
from .vfs import Vfs

IOV_MAX = 1024
FD_SETSIZE = 1024
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
NS = 1_000_000_000
# Numbers that are the same on arm, i386 and mips (include/uapi/linux/fcntl.h,
# asm-generic/fcntl.h); the ABI's tables win when they have the name.
GENERIC_FCNTL = {"F_DUPFD": 0, "F_GETFD": 1, "F_SETFD": 2, "F_GETFL": 3, "F_SETFL": 4,
                 "F_DUPFD_CLOEXEC": 1030, "FD_CLOEXEC": 1, "AT_SYMLINK_NOFOLLOW": 0x100,
                 "AT_REMOVEDIR": 0x200, "AT_SYMLINK_FOLLOW": 0x400, "AT_EMPTY_PATH": 0x1000,
                 "AT_EACCESS": 0x200, "F_UNLCK": 2}
GENERIC_POLL = {"POLLIN": 0x1, "POLLPRI": 0x2, "POLLOUT": 0x4, "POLLERR": 0x8, "POLLHUP": 0x10,
                "POLLNVAL": 0x20, "POLLRDNORM": 0x40}
STATX_BASIC_STATS = 0x7FF


# --- helpers ----------------------------------------------------------------------------------
def _vfs(call: Call) -> Vfs:
    return call.server.vfs


def _fds(call: Call) -> FdTable:
    return call.proc.fds


def _fcntl(call: Call, name: str) -> int:
    return call.abi.fcntl.get(name, GENERIC_FCNTL.get(name, 0))


def _poll(call: Call, name: str) -> int:
    return call.abi.poll_events.get(name, GENERIC_POLL.get(name, 0))


def _path(p: str | None) -> str:
    if p is None:
        raise LinuxError("EFAULT")
    return p


def _blocked(call: Call, f: OpenFile, done: int = 0) -> Any:
    """A read/write found nothing to do: EAGAIN, a partial count, or BLOCK."""
    if done:
        return done
    if f.nonblock:
        raise LinuxError("EAGAIN")
    if f.tty is not None:
        call.state["console"] = True       # the server looks at console input now and then
    return BLOCK


def _fit(fmt: str, value: int) -> int:
    """``value`` wrapped into the member's C type (two's complement)."""
    bits = struct.calcsize("<" + fmt) * 8
    value &= (1 << bits) - 1
    if fmt[-1].islower() and value >> (bits - 1):
        value -= 1 << bits
    return value


def pack_struct(layout: Any, values: Mapping[str, Any]) -> bytes:
    """The struct's bytes: ``values`` for the members the layout has (others 0)."""
    fields = layout.fields
    out: dict[str, Any] = {}
    for member, value in values.items():
        if member not in fields:
            continue
        fmt = fields[member][1]
        if isinstance(value, int) and fmt[-1] not in "s":
            value = _fit(fmt, value)
        out[member] = value
    return layout.pack(out)


def encode_stat64(layout: Any, st: Stat) -> bytes:
    """struct stat64 (or struct stat: the same member names) of the arch."""
    return pack_struct(layout, {
        "st_dev": st.dev, "__st_ino": st.ino, "st_ino": st.ino, "st_mode": st.mode,
        "st_nlink": st.nlink, "st_uid": st.uid, "st_gid": st.gid, "st_rdev": st.rdev,
        "st_size": st.size, "st_blksize": st.blksize, "st_blocks": st.blocks,
        "st_atime": st.atime_ns // NS, "st_atime_nsec": st.atime_ns % NS,
        "st_mtime": st.mtime_ns // NS, "st_mtime_nsec": st.mtime_ns % NS,
        "st_ctime": st.ctime_ns // NS, "st_ctime_nsec": st.ctime_ns % NS})


def _dev_split(dev: int) -> tuple[int, int]:
    """new_encode_dev back to (major, minor)."""
    return (dev >> 8) & 0xFFF, (dev & 0xFF) | ((dev >> 12) & ~0xFF)


def encode_statx(layout: Any, st: Stat) -> bytes:
    """struct statx (the same on every arch)."""
    rmaj, rmin = _dev_split(st.rdev)
    dmaj, dmin = _dev_split(st.dev)
    values: dict[str, int] = {
        "stx_mask": STATX_BASIC_STATS, "stx_blksize": st.blksize, "stx_nlink": st.nlink,
        "stx_uid": st.uid, "stx_gid": st.gid, "stx_mode": st.mode, "stx_ino": st.ino,
        "stx_size": st.size, "stx_blocks": st.blocks, "stx_rdev_major": rmaj,
        "stx_rdev_minor": rmin, "stx_dev_major": dmaj, "stx_dev_minor": dmin}
    for name, ns in (("atime", st.atime_ns), ("mtime", st.mtime_ns), ("ctime", st.ctime_ns)):
        values[f"stx_{name}.tv_sec"] = ns // NS
        values[f"stx_{name}.tv_nsec"] = ns % NS
    return pack_struct(layout, values)


# --- the console ------------------------------------------------------------------------------
def tty_chars(abi: Any) -> TtyChars:
    """The line discipline's c_cc indices and flag bits from the arch's table."""
    t = abi.termios
    default = TtyChars()
    return TtyChars(**{f: t.get(f.upper(), getattr(default, f))
                       for f in TtyChars.__dataclass_fields__})


def arch_termios(abi: Any) -> Termios:
    """tty_std_termios (drivers/tty/tty_io.c) in the arch's numbers."""
    t = abi.termios
    nccs = t.get("NCCS", 19)

    def bits(*names: str) -> int:
        v = 0
        for n in names:
            v |= t.get(n, 0)
        return v

    cc = bytearray(nccs)
    for name, ch in (("VINTR", 3), ("VQUIT", 0x1C), ("VERASE", 0x7F), ("VKILL", 0x15),
                     ("VEOF", 4), ("VMIN", 1), ("VSTART", 0x11), ("VSTOP", 0x13),
                     ("VSUSP", 0x1A), ("VREPRINT", 0x12), ("VDISCARD", 0x0F),
                     ("VWERASE", 0x17), ("VLNEXT", 0x16)):
        if name in t and t[name] < nccs:
            cc[t[name]] = ch
    cflag = bits("CS8", "CREAD", "HUPCL") | t.get("B38400", 0o17)
    return Termios(iflag=bits("ICRNL", "IXON"), oflag=bits("OPOST", "ONLCR"), cflag=cflag,
                   lflag=bits("ISIG", "ICANON", "ECHO", "ECHOE", "ECHOK", "ECHOCTL", "ECHOKE",
                              "IEXTEN"), line=0, cc=bytes(cc))


def console_for(term: Any, abi: Any) -> ConsoleTty:
    """The Linux console over l4gdb's terminal, with the arch's termios."""
    return ConsoleTty.of_terminal(term, arch_termios(abi), tty_chars(abi))


def foreground_pgrp(server: Any, con: ConsoleTty) -> int:
    """The console's foreground process group: the one TIOCSPGRP set, else the
    first process's (a shell without job control never sets one)."""
    if con.pgrp:
        return con.pgrp
    init = getattr(server, "init", None)
    return init.pgid if init is not None else 0


def service_console(server: Any) -> None:
    """Take the console's pending input and send the signals typed there
    (^C, ^\\, ^Z) to the foreground group. The reads and polls of the console
    do this themselves; the server calls it now and then for the case where
    nobody reads (``sleep 100`` in the foreground and the user types ^C)."""
    con = server.vfs.console if server.vfs is not None else None
    if con is None:
        return
    con.pull()
    while con.signals:
        sig = server.abi.signals.get(con.signals.pop(0))
        pgrp = foreground_pgrp(server, con)
        for p in list(server.procs.values()):
            if sig is not None and p.pgid == pgrp and not p.zombie:
                server.send_signal(p, sig)


def _tty_signals(call: Call, con: ConsoleTty) -> None:
    if con.signals:
        service_console(call.server)


# --- open / close -----------------------------------------------------------------------------
@syscall
def open(call: Call, path: Path, flags: Flags, mode: Mode) -> int:
    return openat(call, AT_FDCWD, path, flags, mode)


@syscall
def creat(call: Call, path: Path, mode: Mode) -> int:
    fl = call.abi.open_flags
    return openat(call, AT_FDCWD, path, fl["O_CREAT"] | fl["O_WRONLY"] | fl["O_TRUNC"], mode)


@syscall
def openat(call: Call, dirfd: Fd, path: Path, flags: Flags, mode: Mode) -> int:
    fds = _fds(call)
    fds.next_fd()                                   # EMFILE before anything is opened
    f = _vfs(call).open(call.proc, _path(path), flags, mode, dirfd)
    return fds.install(f, cloexec=bool(flags & call.abi.open_flags["O_CLOEXEC"]))


@syscall
def close(call: Call, fd: Fd) -> int:
    _fds(call).close(fd)
    return 0


# --- read / write -----------------------------------------------------------------------------
@syscall
def read(call: Call, fd: Fd, buf: Ptr, count: Size) -> int:
    f = _fds(call).get(fd)
    data = f.read(min(count, MAX_IO))
    if f.tty is not None:
        _tty_signals(call, f.tty)
    if data is WOULD_BLOCK:
        return _blocked(call, f)
    if data:
        call.mm.write(buf, data)
    return len(data)


def _write_all(call: Call, f: OpenFile, data: bytes) -> Any:
    """Write ``data``; a blocking file waits until all of it is in (the
    progress is kept in the call so the re-run goes on where it stopped)."""
    if not f.can_write:
        raise LinuxError("EBADF")
    done = call.state.get("written", 0)
    while done < len(data):
        try:
            n = f.write(data[done:])
        except LinuxError:
            if done:
                return done
            raise
        if n is WOULD_BLOCK:
            if f.nonblock:
                return _blocked(call, f, done)
            call.state["written"] = done
            return BLOCK
        done += n
    return done


@syscall
def write(call: Call, fd: Fd, buf: Ptr, count: Size) -> int:
    f = _fds(call).get(fd)
    data = call.mm.read(buf, min(count, MAX_IO)) if count else b""
    return _write_all(call, f, data)


def _iovecs(call: Call, iov: int, iovcnt: int) -> list[tuple[int, int]]:
    if iovcnt < 0 or iovcnt > IOV_MAX:
        raise LinuxError("EINVAL")
    rec = struct.Struct(call.abi.fmt("LL"))          # struct iovec: base, length
    raw = call.mm.read(iov, rec.size * iovcnt) if iovcnt else b""
    out = [rec.unpack_from(raw, rec.size * i) for i in range(iovcnt)]
    if sum(n for _, n in out) > 0x7FFFFFFF:
        raise LinuxError("EINVAL")
    return out


@syscall
def readv(call: Call, fd: Fd, iov: Ptr, iovcnt: Int) -> int:
    f = _fds(call).get(fd)
    vecs = _iovecs(call, iov, iovcnt)
    data = f.read(min(sum(n for _, n in vecs), MAX_IO))
    if data is WOULD_BLOCK:
        return _blocked(call, f)
    pos = 0
    for base, n in vecs:
        if pos >= len(data):
            break
        call.mm.write(base, data[pos:pos + n])
        pos += n
    return len(data)


@syscall
def writev(call: Call, fd: Fd, iov: Ptr, iovcnt: Int) -> int:
    f = _fds(call).get(fd)
    parts, room = [], MAX_IO            # a short write beyond MAX_IO, as Linux's MAX_RW_COUNT
    for base, n in _iovecs(call, iov, iovcnt):
        if n and room:
            parts.append(call.mm.read(base, min(n, room)))
            room -= len(parts[-1])
    return _write_all(call, f, b"".join(parts))


@syscall
def pread64(call: Call, fd: Fd, buf: Ptr, count: Size, offset: Off64) -> int:
    f = _fds(call).get(fd)
    if offset < 0:
        raise LinuxError("EINVAL")
    data = f.pread(min(count, MAX_IO), offset)
    if data is WOULD_BLOCK:
        return _blocked(call, f)
    call.mm.write(buf, data)
    return len(data)


@syscall
def pwrite64(call: Call, fd: Fd, buf: Ptr, count: Size, offset: Off64) -> int:
    f = _fds(call).get(fd)
    if offset < 0:
        raise LinuxError("EINVAL")
    return f.pwrite(call.mm.read(buf, min(count, MAX_IO)), offset)


@syscall
def sendfile64(call: Call, out_fd: Fd, in_fd: Fd, offset: Ptr, count: Size) -> int:
    return _sendfile(call, out_fd, in_fd, offset, count, "<q")


@syscall
def sendfile(call: Call, out_fd: Fd, in_fd: Fd, offset: Ptr, count: Size) -> int:
    return _sendfile(call, out_fd, in_fd, offset, count, call.abi.fmt("l"))   # off_t


def _sendfile(call: Call, out_fd: int, in_fd: int, offset: int, count: int, fmt: str) -> Any:
    fds = _fds(call)
    src, dst = fds.get(in_fd), fds.get(out_fd)
    if not isinstance(src, JailFile) or not src.can_read or not dst.can_write:
        raise LinuxError("EBADF" if not (src.can_read and dst.can_write) else "EINVAL")
    if "O_APPEND" in dst.status and isinstance(dst, JailFile):
        raise LinuxError("EINVAL")
    if not dst.writable():
        return _blocked(call, dst)
    size = struct.calcsize(fmt)
    pos = struct.unpack(fmt, call.mm.read(offset, size))[0] if offset else src.offset
    if pos < 0:
        raise LinuxError("EINVAL")
    chunk = min(count, 65536 if isinstance(dst, PipeEnd) else MAX_IO)
    data = src.pread(chunk, pos)
    if not data:
        return 0
    n = dst.write(data)
    if n is WOULD_BLOCK:
        return _blocked(call, dst)
    if offset:
        call.mm.write(offset, struct.pack(fmt, pos + n))
    else:
        src.offset = pos + n
    return n


# --- seeking ----------------------------------------------------------------------------------
@syscall
def lseek(call: Call, fd: Fd, offset: Int, whence: UInt) -> int:
    pos = _fds(call).get(fd).seek(offset, whence)
    if pos > call.abi.word_mask >> 1:            # off_t is a long
        raise LinuxError("EOVERFLOW")
    return pos


@syscall("_llseek", "llseek")         # llseek: the generic table's name (rv32)
def _llseek(call: Call, fd: Fd, offset_high: UInt, offset_low: UInt, result: Ptr,
            whence: UInt) -> int:
    off = (offset_high << 32 | offset_low) & (1 << 64) - 1
    if off >> 63:
        off -= 1 << 64
    pos = _fds(call).get(fd).seek(off, whence)
    call.mm.write(result, struct.pack("<q", pos))
    return 0


# --- stat -------------------------------------------------------------------------------------
def _stat_at(call: Call, dirfd: int, path: str | None, flags: int) -> Stat:
    """fstatat's look-up: AT_EMPTY_PATH with "" means dirfd itself."""
    known = _fcntl(call, "AT_SYMLINK_NOFOLLOW") | _fcntl(call, "AT_EMPTY_PATH") | 0x800 | 0x6000
    if flags & ~known:                  # 0x800 AT_NO_AUTOMOUNT, 0x6000 AT_STATX_SYNC_TYPE
        raise LinuxError("EINVAL")
    p = _path(path)
    if p == "" and flags & _fcntl(call, "AT_EMPTY_PATH"):
        if dirfd == AT_FDCWD:
            return _vfs(call).stat(call.proc, call.proc.cwd)
        return _fds(call).get(dirfd).stat()
    follow = not flags & _fcntl(call, "AT_SYMLINK_NOFOLLOW")
    return _vfs(call).stat(call.proc, p, dirfd, follow)


# The calls that write the arch's struct stat (64-bit asm-generic: the only one; on
# 32-bit arches the old, narrow one), not struct stat64.
PLAIN_STAT_CALLS = frozenset({"stat", "lstat", "fstat", "newfstatat"})


def _put_stat64(call: Call, buf: int, st: Stat) -> int:
    abi = call.abi
    layout = abi.structs["stat"] if call.name in PLAIN_STAT_CALLS else abi.stat64_layout
    for member, value in (("st_ino", st.ino), ("st_size", st.size)):
        fmt = layout.fields.get(member, (0, "Q"))[1]
        if value >> (8 * struct.calcsize("<" + fmt) - (1 if fmt.islower() else 0)):
            raise LinuxError("EOVERFLOW")          # as the old stat calls of 32-bit Linux
    call.mm.write(buf, encode_stat64(layout, st))
    return 0


@syscall("stat64", "stat")
def stat64(call: Call, path: Path, buf: Ptr) -> int:
    return _put_stat64(call, buf, _vfs(call).stat(call.proc, _path(path)))


@syscall("lstat64", "lstat")
def lstat64(call: Call, path: Path, buf: Ptr) -> int:
    return _put_stat64(call, buf, _vfs(call).stat(call.proc, _path(path), follow=False))


@syscall("fstat64", "fstat")
def fstat64(call: Call, fd: Fd, buf: Ptr) -> int:
    return _put_stat64(call, buf, _fds(call).get(fd).stat())


@syscall("fstatat64", "newfstatat")
def fstatat64(call: Call, dirfd: Fd, path: Path, buf: Ptr, flags: Flags) -> int:
    return _put_stat64(call, buf, _stat_at(call, dirfd, path, flags))


@syscall
def statx(call: Call, dirfd: Fd, path: Path, flags: Flags, mask: UInt, buf: Ptr) -> int:
    st = _stat_at(call, dirfd, path, flags)
    call.mm.write(buf, encode_statx(call.abi.structs["statx"], st))
    return 0


# --- directories and names --------------------------------------------------------------------
@syscall
def getdents64(call: Call, fd: Fd, dirp: Ptr, count: Size) -> int:
    data = _fds(call).get(fd).getdents64(count)
    if data:
        call.mm.write(dirp, data)
    return len(data)


@syscall
def readlink(call: Call, path: Path, buf: Ptr, bufsiz: Int) -> int:
    return readlinkat(call, AT_FDCWD, path, buf, bufsiz)


@syscall
def readlinkat(call: Call, dirfd: Fd, path: Path, buf: Ptr, bufsiz: Int) -> int:
    if bufsiz <= 0:
        raise LinuxError("EINVAL")
    text = _vfs(call).readlink(call.proc, _path(path), dirfd)
    data = text.encode("utf-8", "surrogateescape")[:bufsiz]
    call.mm.write(buf, data)
    return len(data)


@syscall
def access(call: Call, path: Path, mode: Int) -> int:
    return faccessat(call, AT_FDCWD, path, mode)


@syscall
def faccessat(call: Call, dirfd: Fd, path: Path, mode: Int) -> int:
    return faccessat2(call, dirfd, path, mode, 0)


@syscall
def faccessat2(call: Call, dirfd: Fd, path: Path, mode: Int, flags: Flags) -> int:
    if mode & ~7:
        raise LinuxError("EINVAL")
    follow = not flags & _fcntl(call, "AT_SYMLINK_NOFOLLOW")
    _vfs(call).access(call.proc, _path(path), mode, dirfd, follow)
    return 0


@syscall
def getcwd(call: Call, buf: Ptr, size: Size) -> int:
    data = call.proc.cwd.encode("utf-8", "surrogateescape") + b"\0"
    if size < len(data):
        raise LinuxError("ERANGE")
    call.mm.write(buf, data)
    return len(data)


@syscall
def chdir(call: Call, path: Path) -> int:
    _vfs(call).chdir(call.proc, _path(path))
    return 0


@syscall
def fchdir(call: Call, fd: Fd) -> int:
    f = _fds(call).get(fd)
    if not f.is_dir or f.path is None:
        raise LinuxError("ENOTDIR")
    _vfs(call).chdir(call.proc, f.path)
    return 0


@syscall
def mkdir(call: Call, path: Path, mode: Mode) -> int:
    return mkdirat(call, AT_FDCWD, path, mode)


@syscall
def mkdirat(call: Call, dirfd: Fd, path: Path, mode: Mode) -> int:
    _vfs(call).mkdir(call.proc, _path(path), mode, dirfd)
    return 0


@syscall
def rmdir(call: Call, path: Path) -> int:
    _vfs(call).rmdir(call.proc, _path(path))
    return 0


@syscall
def unlink(call: Call, path: Path) -> int:
    return unlinkat(call, AT_FDCWD, path, 0)


@syscall
def unlinkat(call: Call, dirfd: Fd, path: Path, flags: Flags) -> int:
    removedir = _fcntl(call, "AT_REMOVEDIR")
    if flags & ~removedir:
        raise LinuxError("EINVAL")
    if flags & removedir:
        _vfs(call).rmdir(call.proc, _path(path), dirfd)
    else:
        _vfs(call).unlink(call.proc, _path(path), dirfd)
    return 0


@syscall
def rename(call: Call, old: Path, new: Path) -> int:
    return renameat2(call, AT_FDCWD, old, AT_FDCWD, new, 0)


@syscall
def renameat(call: Call, olddirfd: Fd, old: Path, newdirfd: Fd, new: Path) -> int:
    return renameat2(call, olddirfd, old, newdirfd, new, 0)


@syscall
def renameat2(call: Call, olddirfd: Fd, old: Path, newdirfd: Fd, new: Path,
              flags: Flags) -> int:
    if flags:
        raise LinuxError("EINVAL")        # RENAME_NOREPLACE/EXCHANGE/WHITEOUT: not modelled
    _vfs(call).rename(call.proc, _path(old), _path(new), olddirfd, newdirfd)
    return 0


@syscall
def symlink(call: Call, target: Path, path: Path) -> int:
    return symlinkat(call, target, AT_FDCWD, path)


@syscall
def symlinkat(call: Call, target: Path, dirfd: Fd, path: Path) -> int:
    _vfs(call).symlink(call.proc, _path(target), _path(path), dirfd)
    return 0


@syscall
def link(call: Call, old: Path, new: Path) -> int:
    return linkat(call, AT_FDCWD, old, AT_FDCWD, new, 0)


@syscall
def linkat(call: Call, olddirfd: Fd, old: Path, newdirfd: Fd, new: Path, flags: Flags) -> int:
    follow_flag = _fcntl(call, "AT_SYMLINK_FOLLOW")
    if flags & ~(follow_flag | _fcntl(call, "AT_EMPTY_PATH")):
        raise LinuxError("EINVAL")
    _vfs(call).link(call.proc, _path(old), _path(new), olddirfd, newdirfd,
                    follow=bool(flags & follow_flag))
    return 0


@syscall
def chmod(call: Call, path: Path, mode: Mode) -> int:
    _vfs(call).chmod(call.proc, _path(path), mode)
    return 0


@syscall
def fchmodat(call: Call, dirfd: Fd, path: Path, mode: Mode) -> int:
    _vfs(call).chmod(call.proc, _path(path), mode, dirfd)
    return 0


@syscall
def fchmod(call: Call, fd: Fd, mode: Mode) -> int:
    f = _fds(call).get(fd)
    if f.path is None:
        raise LinuxError("EINVAL")
    _vfs(call).chmod(call.proc, f.path, mode)
    return 0


def _id(v: int) -> int:
    """A uid/gid argument: (unsigned) -1 means "unchanged"."""
    return -1 if v in (0xFFFFFFFF, 0xFFFF) else v


@syscall("chown", "chown32")
def chown(call: Call, path: Path, uid: UInt, gid: UInt) -> int:
    _vfs(call).chown(call.proc, _path(path), _id(uid), _id(gid))
    return 0


@syscall("lchown", "lchown32")
def lchown(call: Call, path: Path, uid: UInt, gid: UInt) -> int:
    _vfs(call).chown(call.proc, _path(path), _id(uid), _id(gid), follow=False)
    return 0


@syscall("fchown", "fchown32")
def fchown(call: Call, fd: Fd, uid: UInt, gid: UInt) -> int:
    f = _fds(call).get(fd)
    if f.path is None:
        raise LinuxError("EINVAL")
    _vfs(call).chown(call.proc, f.path, _id(uid), _id(gid))
    return 0


@syscall
def fchownat(call: Call, dirfd: Fd, path: Path, uid: UInt, gid: UInt, flags: Flags) -> int:
    if _path(path) == "" and flags & _fcntl(call, "AT_EMPTY_PATH"):
        return fchown(call, dirfd, uid, gid)
    follow = not flags & _fcntl(call, "AT_SYMLINK_NOFOLLOW")
    _vfs(call).chown(call.proc, _path(path), _id(uid), _id(gid), dirfd, follow)
    return 0


@syscall
def flock(call: Call, fd: Fd, operation: Int) -> int:
    _fds(call).get(fd)
    return 0                        # one host process: advisory locks never conflict


@syscall("fadvise64_64", "arm_fadvise64_64", "fadvise64")
def fadvise64_64(call: Call, fd: Fd) -> int:
    _fds(call).get(fd)
    return 0                        # advice only


def _utimens(call: Call, dirfd: int, path: int, times: int, flags: int, fmt: str) -> int:
    if times:
        raw = call.mm.read(times, 2 * struct.calcsize(fmt))
        pairs = [struct.unpack_from(fmt, raw, i * struct.calcsize(fmt)) for i in range(2)]
    else:
        pairs = [(0, UTIME_NOW), (0, UTIME_NOW)]
    now = time.time_ns()
    ns: list[int | None] = []
    for sec, nsec in pairs:
        if nsec == UTIME_OMIT:
            ns.append(None)
        elif nsec == UTIME_NOW:
            ns.append(now)
        elif 0 <= nsec < NS and abs(sec) < (1 << 62) // NS:
            ns.append(sec * NS + nsec)
        else:
            raise LinuxError("EINVAL")
    follow = not flags & _fcntl(call, "AT_SYMLINK_NOFOLLOW")
    if path:
        p = call.mm.read_cstr(path).decode("utf-8", "surrogateescape")
    else:                                   # futimens: the file dirfd refers to
        f = _fds(call).get(dirfd)
        if f.path is None:
            raise LinuxError("EINVAL")
        p, dirfd = f.path, AT_FDCWD
    _vfs(call).utimens(call.proc, p, ns[0], ns[1], dirfd, follow)
    return 0


@syscall
def utimensat(call: Call, dirfd: Fd, path: Ptr, times: Ptr, flags: Flags) -> int:
    return _utimens(call, dirfd, path, times, flags, call.abi.fmt("ll"))


@syscall
def utimensat_time64(call: Call, dirfd: Fd, path: Ptr, times: Ptr, flags: Flags) -> int:
    return _utimens(call, dirfd, path, times, flags, "<qq")


@syscall
def truncate(call: Call, path: Path, length: Int) -> int:
    _vfs(call).truncate(call.proc, _path(path), length)
    return 0


@syscall
def truncate64(call: Call, path: Path, length: Off64) -> int:
    _vfs(call).truncate(call.proc, _path(path), length)
    return 0


@syscall
def ftruncate(call: Call, fd: Fd, length: Int) -> int:
    _fds(call).get(fd).truncate(length)
    return 0


@syscall
def ftruncate64(call: Call, fd: Fd, length: Off64) -> int:
    _fds(call).get(fd).truncate(length)
    return 0


@syscall("fsync", "fdatasync")
def fsync(call: Call, fd: Fd) -> int:
    _fds(call).get(fd).sync()
    return 0


@syscall
def sync(call: Call) -> int:
    return 0


@syscall
def umask(call: Call, mask: Mode) -> int:
    old = call.proc.umask
    call.proc.umask = mask & 0o777
    return old


# --- pipes and descriptors --------------------------------------------------------------------
def _make_pipe(call: Call, flags: int) -> tuple[int, int]:
    fl = call.abi.open_flags
    if flags & ~(fl["O_CLOEXEC"] | fl["O_NONBLOCK"] | fl.get("O_DIRECT", 0)):
        raise LinuxError("EINVAL")
    fds = _fds(call)
    first = fds.next_fd()
    fds.next_fd(first + 1)                         # room for both ends, or EMFILE
    status = {"O_NONBLOCK"} if flags & fl["O_NONBLOCK"] else set()
    pipe = Pipe()
    cloexec = bool(flags & fl["O_CLOEXEC"])
    r = fds.install(PipeEnd(access="r", status=set(status), pipe=pipe), cloexec)
    w = fds.install(PipeEnd(access="w", status=set(status), pipe=pipe), cloexec)
    return r, w


@syscall
def pipe2(call: Call, fds: Ptr, flags: Flags) -> int:
    r, w = _make_pipe(call, flags)
    try:
        call.mm.write(fds, struct.pack("<ii", r, w))
    except LinuxError:
        _fds(call).close(r)
        _fds(call).close(w)
        raise
    return 0


@syscall
def pipe(call: Call, fds: Ptr) -> int:
    if call.abi.pipe_second_reg:        # MIPS o32 returns the ends in v0 and v1
        r, w = _make_pipe(call, 0)
        call.thread.tcb.regs[call.abi.pipe_second_reg] = w
        return r
    return pipe2(call, fds, 0)


@syscall
def dup(call: Call, fd: Fd) -> int:
    return _fds(call).dup(fd)


@syscall
def dup2(call: Call, old: Fd, new: Fd) -> int:
    return _fds(call).dup2(old, new)


@syscall
def dup3(call: Call, old: Fd, new: Fd, flags: Flags) -> int:
    cloexec = call.abi.open_flags["O_CLOEXEC"]
    if flags & ~cloexec:
        raise LinuxError("EINVAL")
    return _fds(call).dup3(old, new, bool(flags & cloexec))


def status_value(call: Call, f: OpenFile) -> int:
    """F_GETFL: the access mode and the status flags in the arch's numbers."""
    fl = call.abi.open_flags
    acc = {"r": fl["O_RDONLY"], "w": fl["O_WRONLY"], "rw": fl["O_RDWR"]}[f.access]
    return acc | _vfs(call).flag_value(f.status)


@syscall("fcntl", "fcntl64")
def fcntl(call: Call, fd: Fd, cmd: Int, arg: UInt) -> int:
    fds = _fds(call)
    f = fds.get(fd)
    n = {name: _fcntl(call, name) for name in
         ("F_DUPFD", "F_DUPFD_CLOEXEC", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL",
          "FD_CLOEXEC")}
    if cmd in (n["F_DUPFD"], n["F_DUPFD_CLOEXEC"]):
        return fds.dup(fd, minfd=_signed32(arg), cloexec=cmd == n["F_DUPFD_CLOEXEC"])
    if cmd == n["F_GETFD"]:
        return n["FD_CLOEXEC"] if fds.get_cloexec(fd) else 0
    if cmd == n["F_SETFD"]:
        fds.set_cloexec(fd, bool(arg & n["FD_CLOEXEC"]))
        return 0
    if cmd == n["F_GETFL"]:
        return status_value(call, f)
    if cmd == n["F_SETFL"]:
        names = _vfs(call).flag_names(arg)
        f.status = (f.status - STATUS_FLAGS) | (names & STATUS_FLAGS)
        return 0
    locks = {call.abi.fcntl.get(k, v) for k, v in _LOCK_CMDS.items()}
    if cmd in locks:
        if cmd in (call.abi.fcntl.get("F_GETLK", 5), call.abi.fcntl.get("F_GETLK64", 12)):
            call.mm.write(arg, struct.pack("<h", _fcntl(call, "F_UNLCK")))   # l_type: no lock
        return 0                           # one host process: advisory locks never conflict
    if cmd in (call.abi.fcntl.get("F_SETOWN", 8), call.abi.fcntl.get("F_GETOWN", 9)):
        return 0
    raise LinuxError("EINVAL")


_LOCK_CMDS = {"F_GETLK": 5, "F_SETLK": 6, "F_SETLKW": 7, "F_GETLK64": 12, "F_SETLK64": 13,
              "F_SETLKW64": 14}


def _signed32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


# --- ioctl ------------------------------------------------------------------------------------
def _read_int(call: Call, addr: int) -> int:
    return struct.unpack("<i", call.mm.read(addr, 4))[0]


_IOCTLS = ("FIONBIO", "FIOCLEX", "FIONCLEX", "FIONREAD", "TCGETS", "TCSETS", "TCSETSW",
           "TCSETSF", "TIOCGWINSZ", "TIOCSWINSZ", "TIOCGPGRP", "TIOCSPGRP", "TIOCSCTTY",
           "TIOCNOTTY", "TCFLSH", "TCXONC", "TCSBRK", "TIOCGSID")


def encode_termios(layout: Any, t: Termios) -> bytes:
    cc_fmt = layout.fields["c_cc"][1]
    n = struct.calcsize("<" + cc_fmt)
    cc = t.cc[:n].ljust(n, b"\0")
    return pack_struct(layout, {"c_iflag": t.iflag, "c_oflag": t.oflag, "c_cflag": t.cflag,
                                "c_lflag": t.lflag, "c_line": t.line,
                                "c_cc": cc if cc_fmt.endswith("s") else tuple(cc)})


def decode_termios(layout: Any, data: bytes) -> Termios:
    v = layout.unpack(data)
    cc = v["c_cc"]
    return Termios(iflag=v["c_iflag"], oflag=v["c_oflag"], cflag=v["c_cflag"],
                   lflag=v["c_lflag"], line=v["c_line"],
                   cc=cc if isinstance(cc, bytes) else bytes(cc))


@syscall
def ioctl(call: Call, fd: Fd, cmd: UInt, arg: UInt) -> int:
    fds = _fds(call)
    f = fds.get(fd)
    table = call.abi.ioctls
    name = next((n for n in _IOCTLS if table.get(n) == cmd), "")
    if name == "FIONBIO":
        on = _read_int(call, arg)
        f.status = (f.status | {"O_NONBLOCK"}) if on else (f.status - {"O_NONBLOCK"})
        return 0
    if name in ("FIOCLEX", "FIONCLEX"):
        fds.set_cloexec(fd, name == "FIOCLEX")
        return 0
    if name == "FIONREAD":
        call.mm.write(arg, struct.pack("<i", f.nread()))
        return 0
    con = f.tty
    if con is None or not con.isatty:
        raise LinuxError("ENOTTY")
    return _tty_ioctl(call, con, name, arg)


def _tty_ioctl(call: Call, con: ConsoleTty, name: str, arg: int) -> int:
    structs = call.abi.structs
    if name == "TCGETS":
        call.mm.write(arg, encode_termios(structs["termios"], con.termios))
    elif name in ("TCSETS", "TCSETSW", "TCSETSF"):
        layout = structs["termios"]
        con.termios = decode_termios(layout, call.mm.read(arg, layout.size))
        if name == "TCSETSF":
            con.input.clear()
    elif name == "TIOCGWINSZ":
        call.mm.write(arg, pack_struct(structs["winsize"], dict(zip(
            ("ws_row", "ws_col", "ws_xpixel", "ws_ypixel"), con.winsize, strict=True))))
    elif name == "TIOCSWINSZ":
        layout = structs["winsize"]
        v = layout.unpack(call.mm.read(arg, layout.size))
        con.winsize = (v["ws_row"], v["ws_col"], v["ws_xpixel"], v["ws_ypixel"])
    elif name == "TIOCGPGRP":
        call.mm.write(arg, struct.pack("<i", foreground_pgrp(call.server, con)
                                       or call.proc.pgid))
    elif name == "TIOCSPGRP":
        pgrp = _read_int(call, arg)
        if pgrp < 0:
            raise LinuxError("EINVAL")
        con.pgrp = pgrp
    elif name in ("TIOCSCTTY", "TIOCNOTTY", "TCFLSH", "TCXONC", "TCSBRK"):
        if name == "TCFLSH" and arg in (0, 2):     # TCIFLUSH, TCIOFLUSH
            con.input.clear()
    elif name == "TIOCGSID":
        call.mm.write(arg, struct.pack("<i", call.proc.sid))
    else:
        raise LinuxError("ENOTTY")
    return 0


# --- readiness: poll and select ---------------------------------------------------------------
def _timed_out(call: Call, timeout_us: int | None) -> bool:
    """Whether a poll/select with this timeout (None: forever) is over; if not,
    the call's wake-up time is set for the server."""
    if timeout_us is not None and timeout_us <= 0:
        return True
    if "deadline" not in call.state:
        call.state["deadline"] = None if timeout_us is None else call.now_us + timeout_us
    deadline = call.state["deadline"]
    if deadline is not None and call.now_us >= deadline:
        return True
    call.wake_at_us = deadline
    call.state["no_restart"] = True        # poll/select return EINTR after a handler
    return False


def _ready(call: Call, f: OpenFile, events: int) -> int:
    ev = {k: _poll(call, k) for k in ("POLLIN", "POLLOUT", "POLLERR", "POLLHUP", "POLLRDNORM")}
    wrnorm = call.abi.poll_events.get("POLLWRNORM", 0x100)
    out = 0
    if f.can_read and f.readable():
        out |= events & (ev["POLLIN"] | ev["POLLRDNORM"])
    if f.can_write and f.writable():
        out |= events & (ev["POLLOUT"] | wrnorm)
    if f.hangup():
        out |= ev["POLLERR"] if f.can_write and not f.can_read else ev["POLLHUP"]
    if f.tty is not None:
        call.state["console"] = True
        _tty_signals(call, f.tty)
    return out


def _do_poll(call: Call, fds_ptr: int, nfds: int, timeout_us: int | None) -> Any:
    if nfds > _fds(call).limit:
        raise LinuxError("EINVAL")
    raw = bytearray(call.mm.read(fds_ptr, 8 * nfds)) if nfds else bytearray()
    table = _fds(call)
    count = 0
    for i in range(nfds):
        fd, events, _ = struct.unpack_from("<ihh", raw, 8 * i)
        revents = 0
        if fd >= 0:
            f = table.slots.get(fd)
            revents = _poll(call, "POLLNVAL") if f is None else _ready(call, f, events & 0xFFFF)
        struct.pack_into("<h", raw, 8 * i + 6, _fit("h", revents))
        count += bool(revents)
    if count or _timed_out(call, timeout_us):
        if nfds:
            call.mm.write(fds_ptr, bytes(raw))
        return count
    return BLOCK


def timespec_us(call: Call, ptr: int, fmt: str) -> int | None:
    """A relative timeout (struct timespec) in microseconds; None: no timeout."""
    if not ptr:
        return None
    sec, nsec = struct.unpack(fmt, call.mm.read(ptr, struct.calcsize(fmt)))
    if sec < 0 or not 0 <= nsec < NS:
        raise LinuxError("EINVAL")
    return sec * 1_000_000 + (nsec + 999) // 1000


@syscall
def poll(call: Call, fds: Ptr, nfds: UInt, timeout: Int) -> int:
    return _do_poll(call, fds, nfds, None if timeout < 0 else timeout * 1000)


def _wait_mask(call: Call, mask: int, size: int, result: Any) -> Any:
    """ppoll/pselect6: the thread waits with the given signal mask (like
    rt_sigsuspend, the server restores the old one after an interrupting
    handler); it gets its own mask back when the call ends."""
    lt = call.thread
    if mask and "old_mask" not in call.state and result is BLOCK:
        if size != call.abi.sigset_bytes:
            raise LinuxError("EINVAL")
        keep = 0
        for name in ("SIGKILL", "SIGSTOP"):
            keep |= 1 << (call.abi.signals[name] - 1)
        call.state["old_mask"] = lt.sigmask
        lt.sigmask = int.from_bytes(call.mm.read(mask, size), "little") & ~keep
    if result is not BLOCK and "old_mask" in call.state:
        lt.sigmask = call.state.pop("old_mask")
    return result


@syscall
def ppoll(call: Call, fds: Ptr, nfds: UInt, tsp: Ptr, sigmask: Ptr, sigsetsize: Size) -> int:
    return _wait_mask(call, sigmask, sigsetsize,
                      _do_poll(call, fds, nfds, timespec_us(call, tsp, call.abi.fmt("ll"))))


@syscall
def ppoll_time64(call: Call, fds: Ptr, nfds: UInt, tsp: Ptr, sigmask: Ptr,
                 sigsetsize: Size) -> int:
    return _wait_mask(call, sigmask, sigsetsize,
                      _do_poll(call, fds, nfds, timespec_us(call, tsp, "<qq")))


def _do_select(call: Call, nfds: int, sets: tuple[int, int, int],
               timeout_us: int | None) -> Any:
    if nfds < 0 or nfds > FD_SETSIZE:
        raise LinuxError("EINVAL")
    word = call.abi.word_size                # fd_set: whole longs, as the kernel reads
    nbytes = (nfds + 8 * word - 1) // (8 * word) * word
    bitmaps = [int.from_bytes(call.mm.read(p, nbytes), "little") if p and nbytes else 0
               for p in sets]
    table = _fds(call)
    ev_in, ev_out = _poll(call, "POLLIN"), _poll(call, "POLLOUT")
    hup = _poll(call, "POLLHUP") | _poll(call, "POLLERR")
    result = [0, 0, 0]
    for fd in range(nfds):
        bit = 1 << fd
        if not (bitmaps[0] | bitmaps[1] | bitmaps[2]) & bit:
            continue
        f = table.slots.get(fd)
        if f is None:
            raise LinuxError("EBADF")
        revents = _ready(call, f, ev_in | ev_out)
        if bitmaps[0] & bit and revents & (ev_in | hup):
            result[0] |= bit
        if bitmaps[1] & bit and revents & (ev_out | hup):
            result[1] |= bit
    count = sum(bin(r).count("1") for r in result)
    if count or _timed_out(call, timeout_us):
        for p, bits in zip(sets, result, strict=True):
            if p and nbytes:
                call.mm.write(p, bits.to_bytes(nbytes, "little"))
        return count
    return BLOCK


def _timeval_us(call: Call, ptr: int) -> int | None:
    if not ptr:
        return None
    fmt = call.abi.fmt("ll")                 # struct timeval
    sec, usec = struct.unpack(fmt, call.mm.read(ptr, struct.calcsize(fmt)))
    if sec < 0 or not 0 <= usec < 1_000_000:
        raise LinuxError("EINVAL")
    return sec * 1_000_000 + usec


@syscall
def _newselect(call: Call, nfds: Int, readfds: Ptr, writefds: Ptr, exceptfds: Ptr,
               timeout: Ptr) -> int:
    return _do_select(call, nfds, (readfds, writefds, exceptfds), _timeval_us(call, timeout))


@syscall
def select(call: Call, args: Ptr) -> int:
    """i386's old select: one pointer to the five arguments."""
    nfds, r, w, e, tv = struct.unpack("<iIIII", call.mm.read(args, 20))
    return _do_select(call, nfds, (r, w, e), _timeval_us(call, tv))


def _pselect(call: Call, nfds: int, sets: tuple[int, int, int], timeout: int, sigmask: int,
             fmt: str) -> Any:
    result = _do_select(call, nfds, sets, timespec_us(call, timeout, fmt))
    pair = call.abi.fmt("LL")                # { const sigset_t *ss; size_t ss_len; }
    mask, size = struct.unpack(pair, call.mm.read(sigmask, struct.calcsize(pair))) \
        if sigmask else (0, 0)
    return _wait_mask(call, mask, size, result)


@syscall
def pselect6(call: Call, nfds: Int, readfds: Ptr, writefds: Ptr, exceptfds: Ptr,
             timeout: Ptr, sigmask: Ptr) -> int:
    return _pselect(call, nfds, (readfds, writefds, exceptfds), timeout, sigmask,
                    call.abi.fmt("ll"))


@syscall
def pselect6_time64(call: Call, nfds: Int, readfds: Ptr, writefds: Ptr, exceptfds: Ptr,
                    timeout: Ptr, sigmask: Ptr) -> int:
    return _pselect(call, nfds, (readfds, writefds, exceptfds), timeout, sigmask, "<qq")

