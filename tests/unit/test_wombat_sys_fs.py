"""The file-system system calls, with each arch's real LinuxAbi and a fake process."""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass, field
from typing import Any

import pytest
from wombat_fakes import Terminal

from l4gdb.runtime.plugins import Plugins
from l4gdb.wombat import sys_fs
from l4gdb.wombat.calls import AT_FDCWD, BLOCK, HANDLERS, Call
from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.files import FdTable, TtyFile
from l4gdb.wombat.vfs import Vfs

ARCHES = ("arm", "mips", "x86")
BASE, SIZE = 0x10000, 0x80000


class Mem:
    """User memory: one range; anything else is EFAULT."""

    def __init__(self) -> None:
        self.data = bytearray(SIZE)
        self.brk = BASE + 0x1000

    def _check(self, addr: int, n: int) -> int:
        if addr < BASE or addr + n > BASE + SIZE:
            raise LinuxError("EFAULT")
        return addr - BASE

    def read(self, addr: int, n: int) -> bytes:
        off = self._check(addr, n)
        return bytes(self.data[off:off + n])

    def write(self, addr: int, data: bytes) -> None:
        off = self._check(addr, len(data))
        self.data[off:off + len(data)] = data

    def read_cstr(self, addr: int, limit: int = 4096) -> bytes:
        off = self._check(addr, 1)
        end = self.data.index(0, off)
        return bytes(self.data[off:end])

    def alloc(self, n: int) -> int:
        addr = self.brk
        self.brk += (n + 15) & ~15
        return addr

    def put(self, data: bytes) -> int:
        addr = self.alloc(len(data))
        self.write(addr, data)
        return addr

    def cstr(self, text: str) -> int:
        return self.put(text.encode() + b"\0")


@dataclass
class Proc:
    pid: int = 42
    pgid: int = 42
    sid: int = 42
    cwd: str = "/"
    exe: str = "/bin/busybox"
    umask: int = 0o022
    zombie: bool = False
    fds: FdTable = field(default_factory=FdTable)
    mm: Mem = field(default_factory=Mem)


@dataclass
class Tcb:
    regs: dict[str, int] = field(default_factory=dict)


@dataclass
class Thread:
    proc: Proc
    tcb: Tcb = field(default_factory=Tcb)
    sigmask: int = 0


class Server:
    def __init__(self, abi: Any, vfs: Vfs) -> None:
        self.abi, self.vfs = abi, vfs
        self.init: Proc | None = None
        self.now_us = 1000
        self.bits = 32
        self.procs: dict[int, Proc] = {}
        self.sent: list[tuple[int, int]] = []

    def send_signal(self, proc: Proc, sig: int) -> None:
        self.sent.append((proc.pid, sig))


@pytest.fixture(scope="module")
def abis():
    plugins = Plugins()
    return {a: plugins.hook.l4gdb_linux_abi(arch=a) for a in ARCHES}


@dataclass
class World:
    abi: Any
    server: Server
    proc: Proc
    term: Terminal
    root: Any

    @property
    def upper(self) -> Any:
        """Where the guest's writes land on the host (the run's upper layer)."""
        return self.server.vfs.upper_path

    def call(self, name: str) -> Call:
        return Call(self.server, Thread(self.proc), 0, name, [])  # type: ignore[arg-type]

    @property
    def mm(self) -> Mem:
        return self.proc.mm

    def fl(self, *names: str) -> int:
        v = 0
        for n in names:
            v |= self.abi.open_flags[n]
        return v

    def run(self, name: str, *args: Any) -> Any:
        return getattr(sys_fs, name)(self.call(name), *args)

    def err(self, name: str, *args: Any) -> str:
        with pytest.raises(LinuxError) as exc:
            self.run(name, *args)
        return exc.value.errno


@pytest.fixture(params=ARCHES)
def w(request, abis, tmp_path) -> World:
    world = make_world(abis[request.param], tmp_path)
    yield world
    world.server.vfs.close()


def make_world(abi: Any, tmp_path: Any) -> World:
    assert abi is not None, "every arch plugin has a LinuxAbi"
    root = tmp_path / "root"
    for d in ("bin", "etc", "tmp", "proc", "dev"):
        (root / d).mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "bin/busybox").write_bytes(b"\x7fELF" + bytes(100))
    os.symlink("busybox", root / "bin/sh")
    term = Terminal()
    vfs = Vfs(root, abi.open_flags, console=sys_fs.console_for(term, abi))
    server = Server(abi, vfs)
    proc = Proc(fds=FdTable.with_console(vfs.console))
    server.procs[proc.pid] = proc
    return World(abi, server, proc, term, root)


# --- open / read / write / close --------------------------------------------------------------
def test_open_read_close(w):
    fd = w.run("openat", AT_FDCWD, "/etc/passwd", w.fl("O_RDONLY", "O_LARGEFILE"), 0)
    assert fd == 3
    buf = w.mm.alloc(64)
    n = w.run("read", fd, buf, 64)
    assert w.mm.read(buf, n) == b"root:x:0:0:root:/root:/bin/sh\n"
    assert w.run("read", fd, buf, 64) == 0
    assert w.run("close", fd) == 0
    assert w.err("close", fd) == "EBADF"
    assert w.err("read", fd, buf, 1) == "EBADF"


def test_create_write_and_fstat(w):
    flags = w.fl("O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC")
    fd = w.run("open", "/tmp/out", flags, 0o666)
    assert w.proc.fds.get_cloexec(fd)
    assert w.run("write", fd, w.mm.put(b"hello world"), 11) == 11
    buf = w.mm.alloc(256)
    assert w.run("fstat64", fd, buf) == 0
    layout = w.abi.structs["stat64"]
    st = layout.unpack(w.mm.read(buf, layout.size))
    host = os.stat(w.upper / "tmp/out")
    assert st["st_size"] == 11 and st["st_ino"] == host.st_ino
    assert stat.S_IMODE(st["st_mode"]) == 0o644 and stat.S_ISREG(st["st_mode"])
    assert st["st_mtime"] == int(host.st_mtime) and st["st_nlink"] == 1
    assert (w.upper / "tmp/out").read_bytes() == b"hello world"


def test_readv_writev_lseek_pread(w):
    fd = w.run("open", "/tmp/v", w.fl("O_RDWR", "O_CREAT"), 0o600)
    a, b = w.mm.put(b"abc"), w.mm.put(b"defgh")
    iov = w.mm.put(struct.pack("<IIII", a, 3, b, 5))
    assert w.run("writev", fd, iov, 2) == 8
    assert w.run("lseek", fd, 1, 0) == 1
    x, y = w.mm.alloc(2), w.mm.alloc(10)
    iov2 = w.mm.put(struct.pack("<IIII", x, 2, y, 10))
    assert w.run("readv", fd, iov2, 2) == 7
    assert w.mm.read(x, 2) == b"bc" and w.mm.read(y, 5) == b"defgh"
    res = w.mm.alloc(8)
    assert w.run("_llseek", fd, 0, 2, res, 0) == 0
    assert struct.unpack("<q", w.mm.read(res, 8))[0] == 2
    buf = w.mm.alloc(4)
    assert w.run("pread64", fd, buf, 3, 5) == 3 and w.mm.read(buf, 3) == b"fgh"
    assert w.run("pwrite64", fd, w.mm.put(b"Z"), 1, 0) == 1
    assert (w.upper / "tmp/v").read_bytes() == b"Zbcdefgh"
    assert w.err("writev", fd, iov, -1) == "EINVAL"
    whole = w.mm.put(struct.pack("<II", a, 0x7FFFFFFF))     # far beyond the mapped memory
    assert w.err("writev", fd, whole, 1) == "EFAULT"
    assert w.err("lseek", fd, -100, 0) == "EINVAL"


def test_bad_user_memory_is_efault(w):
    fd = w.run("open", "/etc/passwd", 0, 0)
    assert w.err("read", fd, 0x10, 10) == "EFAULT"
    assert w.err("write", 1, 0xDEAD0000, 10) == "EFAULT"
    assert w.err("openat", AT_FDCWD, None, 0, 0) == "EFAULT"


def test_console_write_and_blocking_read(w):
    assert w.run("write", 1, w.mm.put(b"to the console\n"), 15) == 15
    assert b"".join(w.term.written) == b"to the console\n"
    buf = w.mm.alloc(16)
    c = w.call("read")
    assert sys_fs.read(c, 0, buf, 16) is BLOCK
    assert c.state.get("console")                 # the server looks at the input again
    w.term.queue.extend(b"line\n")
    assert sys_fs.read(c, 0, buf, 16) == 5 and w.mm.read(buf, 5) == b"line\n"


def test_ctrl_c_without_job_control_reaches_the_first_process_group(w):
    child = Proc(pid=43, pgid=42)
    other = Proc(pid=50, pgid=50)
    w.server.init = w.proc
    w.server.procs.update({43: child, 50: other})
    w.server.vfs.console.local = True
    w.term.queue.extend(b"\x03")
    sys_fs.service_console(w.server)           # nobody reads: the server's tick
    sigint = w.abi.signals["SIGINT"]
    assert sorted(w.server.sent) == [(42, sigint), (43, sigint)]


def test_ctrl_c_at_the_console_signals_the_foreground_group(w):
    pgrp = w.mm.put(struct.pack("<i", 42))
    assert w.run("ioctl", 0, w.abi.ioctls["TIOCSPGRP"], pgrp) == 0
    w.term.queue.extend(b"\x03")
    assert w.run("read", 0, w.mm.alloc(4), 4) is BLOCK
    assert w.server.sent == [(42, w.abi.signals["SIGINT"])]


# --- pipes ---------------------------------------------------------------------------------------
def test_pipe_write_read_eof_and_epipe(w):
    arr = w.mm.alloc(8)
    assert w.run("pipe2", arr, 0) == 0
    r, wr = struct.unpack("<ii", w.mm.read(arr, 8))
    assert (r, wr) == (3, 4)
    buf = w.mm.alloc(16)
    c = w.call("read")
    assert sys_fs.read(c, r, buf, 16) is BLOCK
    assert w.run("write", wr, w.mm.put(b"data"), 4) == 4
    assert sys_fs.read(c, r, buf, 16) == 4
    w.run("close", wr)
    assert w.run("read", r, buf, 16) == 0          # EOF: no writer
    assert w.run("pipe2", arr, 0) == 0
    r2, w2 = struct.unpack("<ii", w.mm.read(arr, 8))
    w.run("close", r2)
    with pytest.raises(LinuxError) as exc:
        w.run("write", w2, w.mm.put(b"x"), 1)
    assert exc.value.errno == "EPIPE" and exc.value.signal == "SIGPIPE"


def test_pipe_nonblock_and_cloexec(w):
    arr = w.mm.alloc(8)
    w.run("pipe2", arr, w.fl("O_NONBLOCK", "O_CLOEXEC"))
    r, wr = struct.unpack("<ii", w.mm.read(arr, 8))
    assert w.proc.fds.get_cloexec(r) and w.proc.fds.get_cloexec(wr)
    assert w.err("read", r, w.mm.alloc(4), 4) == "EAGAIN"
    getfl = w.run("fcntl", r, w.abi.fcntl["F_GETFL"], 0)
    assert getfl & w.abi.open_flags["O_NONBLOCK"]
    assert w.err("pipe2", arr, w.fl("O_TRUNC")) == "EINVAL"


def test_blocking_write_of_a_big_buffer_finishes_after_the_reader_drains(w):
    arr = w.mm.alloc(8)
    w.run("pipe2", arr, 0)
    r, wr = struct.unpack("<ii", w.mm.read(arr, 8))
    big = w.mm.put(b"B" * 70000)
    c = w.call("write")
    assert sys_fs.write(c, wr, big, 70000) is BLOCK
    assert c.state["written"] == 65536
    sink = w.mm.alloc(65536)
    assert w.run("read", r, sink, 65536) == 65536
    assert sys_fs.write(c, wr, big, 70000) == 70000


def test_mips_pipe_returns_the_write_end_in_v1(abis, tmp_path):
    w = make_world(abis["mips"], tmp_path)
    c = w.call("pipe")
    r = sys_fs.pipe(c, 0)
    assert r == 3 and c.thread.tcb.regs["r3"] == 4
    w.server.vfs.close()


def test_pipe_fills_the_array_elsewhere(abis, tmp_path):
    for arch in ("arm", "x86"):
        w = make_world(abis[arch], tmp_path / arch)
        arr = w.mm.alloc(8)
        assert w.run("pipe", arr) == 0
        assert struct.unpack("<ii", w.mm.read(arr, 8)) == (3, 4)
        w.server.vfs.close()


# --- descriptors ---------------------------------------------------------------------------------
def test_dup_family_and_fcntl(w):
    f = w.abi.fcntl
    assert w.run("dup", 1) == 3
    assert w.run("dup2", 1, 10) == 10
    assert w.run("dup3", 1, 11, w.fl("O_CLOEXEC")) == 11
    assert w.run("fcntl", 11, f["F_GETFD"], 0) == f["FD_CLOEXEC"]
    assert w.err("dup3", 1, 1, 0) == "EINVAL"
    assert w.err("dup3", 1, 12, w.fl("O_APPEND")) == "EINVAL"
    assert w.run("fcntl", 1, f["F_DUPFD_CLOEXEC"], 10) == 12
    assert w.proc.fds.get_cloexec(12)
    assert w.run("fcntl", 12, f["F_SETFD"], 0) == 0 and not w.proc.fds.get_cloexec(12)
    fd = w.run("open", "/tmp/x", w.fl("O_WRONLY", "O_CREAT"), 0o644)
    assert w.run("fcntl", fd, f["F_GETFL"], 0) & 3 == w.abi.open_flags["O_WRONLY"]
    w.run("fcntl", fd, f["F_SETFL"], w.fl("O_APPEND"))
    assert w.run("fcntl", fd, f["F_GETFL"], 0) & w.fl("O_APPEND")
    assert w.run("fcntl", fd, f["F_SETLK"], 0) == 0
    assert w.err("fcntl", fd, 9999, 0) == "EINVAL"
    assert w.err("fcntl", 99, f["F_GETFD"], 0) == "EBADF"


def test_emfile(w):
    w.proc.fds.limit = 5
    w.run("open", "/etc/passwd", 0, 0)
    w.run("open", "/etc/passwd", 0, 0)
    assert w.err("open", "/etc/passwd", 0, 0) == "EMFILE"
    assert w.err("pipe2", w.mm.alloc(8), 0) == "EMFILE"


# --- stat family ---------------------------------------------------------------------------------
def test_statx_and_fstatat(w):
    buf = w.mm.alloc(256)
    nofollow = w.abi.fcntl["AT_SYMLINK_NOFOLLOW"]
    assert w.run("statx", AT_FDCWD, "/bin/sh", nofollow, 0x7FF, buf) == 0
    sx = w.abi.structs["statx"].unpack(w.mm.read(buf, 256))
    assert stat.S_ISLNK(sx["stx_mode"]) and sx["stx_mask"] & 0x7FF == 0x7FF
    assert w.run("statx", AT_FDCWD, "/bin/sh", 0, 0x7FF, buf) == 0
    sx = w.abi.structs["statx"].unpack(w.mm.read(buf, 256))
    host = os.stat(w.root / "bin/busybox")
    assert sx["stx_size"] == host.st_size and sx["stx_ino"] == host.st_ino
    assert sx["stx_mtime.tv_sec"] == int(host.st_mtime)
    assert (sx["stx_dev_major"], sx["stx_dev_minor"]) == (os.major(host.st_dev),
                                                          os.minor(host.st_dev))
    fd = w.run("open", "/etc", w.fl("O_RDONLY", "O_DIRECTORY"), 0)
    assert w.run("fstatat64", fd, "passwd", buf, 0) == 0
    st = w.abi.structs["stat64"].unpack(w.mm.read(buf, w.abi.structs["stat64"].size))
    assert st["st_ino"] == os.stat(w.root / "etc/passwd").st_ino
    empty = w.abi.fcntl["AT_EMPTY_PATH"]
    assert w.run("statx", fd, "", empty, 0x7FF, buf) == 0
    assert stat.S_ISDIR(w.abi.structs["statx"].unpack(w.mm.read(buf, 256))["stx_mode"])
    assert w.err("statx", AT_FDCWD, "/nope", 0, 0x7FF, buf) == "ENOENT"
    assert w.err("statx", AT_FDCWD, "", 0, 0x7FF, buf) == "ENOENT"
    assert w.err("statx", AT_FDCWD, "/", 0x80000, 0x7FF, buf) == "EINVAL"
    assert w.run("stat64", "/dev/null", buf) == 0
    st = w.abi.structs["stat64"].unpack(w.mm.read(buf, w.abi.structs["stat64"].size))
    assert stat.S_ISCHR(st["st_mode"]) and st["st_rdev"] == 0x103
    assert w.run("lstat64", "/bin/sh", buf) == 0


def test_stat64_layout_offsets_match_the_kernel(abis):
    """The encoder puts st_size where each arch's struct stat64 has it."""
    st = sys_fs.Stat(dev=0x801, ino=0x1122334455, mode=0o100644, nlink=1, uid=0, gid=0,
                     rdev=0, size=0x0102030405, blksize=4096, blocks=8,
                     atime_ns=5 * 10**9 + 6, mtime_ns=7 * 10**9, ctime_ns=9 * 10**9)
    where = {"arm": (104, 48, 96), "mips": (104, 56, 16), "x86": (96, 44, 88)}
    for arch, (size, size_off, ino_off) in where.items():
        data = sys_fs.encode_stat64(abis[arch].structs["stat64"], st)
        assert len(data) == size
        assert struct.unpack_from("<q", data, size_off)[0] == 0x0102030405
        assert struct.unpack_from("<Q", data, ino_off)[0] == 0x1122334455


# --- names ---------------------------------------------------------------------------------------
def test_getdents64_through_the_call(w):
    fd = w.run("open", "/bin", w.fl("O_RDONLY", "O_DIRECTORY"), 0)
    buf = w.mm.alloc(1024)
    n = w.run("getdents64", fd, buf, 1024)
    names, pos, data = [], 0, w.mm.read(buf, n)
    while pos < n:
        reclen = struct.unpack_from("<H", data, pos + 16)[0]
        names.append(data[pos + 19:pos + reclen].split(b"\0")[0].decode())
        pos += reclen
    assert sorted(names) == [".", "..", "busybox", "sh"]
    assert w.run("getdents64", fd, buf, 1024) == 0
    assert w.err("getdents64", 0, buf, 1024) == "ENOTDIR"


def test_cwd_calls(w):
    buf = w.mm.alloc(64)
    assert w.run("chdir", "/etc") == 0
    assert w.run("getcwd", buf, 64) == 5 and w.mm.read(buf, 5) == b"/etc\0"
    assert w.err("getcwd", buf, 3) == "ERANGE"
    fd = w.run("open", "/tmp", w.fl("O_RDONLY", "O_DIRECTORY"), 0)
    assert w.run("fchdir", fd) == 0 and w.proc.cwd == "/tmp"
    assert w.err("fchdir", 0) == "ENOTDIR"
    assert w.err("chdir", "/etc/passwd") == "ENOTDIR"


def test_readlink_and_proc_self_exe(w):
    buf = w.mm.alloc(64)
    assert w.run("readlink", "/proc/self/exe", buf, 64) == 12
    assert w.mm.read(buf, 12) == b"/bin/busybox"
    assert w.run("readlinkat", AT_FDCWD, "/bin/sh", buf, 3) == 3
    assert w.mm.read(buf, 3) == b"bus"
    assert w.err("readlink", "/etc/passwd", buf, 64) == "EINVAL"
    assert w.err("readlink", "/bin/sh", buf, 0) == "EINVAL"


def test_name_calls(w):
    assert w.run("mkdir", "/tmp/d", 0o777) == 0
    assert w.err("mkdir", "/tmp/d", 0o777) == "EEXIST"
    assert w.run("symlink", "d", "/tmp/l") == 0
    assert w.run("rename", "/tmp/d", "/tmp/e") == 0
    assert w.run("renameat", AT_FDCWD, "/tmp/e", AT_FDCWD, "/tmp/d") == 0
    assert w.run("unlinkat", AT_FDCWD, "/tmp/d", w.abi.fcntl["AT_REMOVEDIR"]) == 0
    assert w.err("unlinkat", AT_FDCWD, "/tmp/l", 0x8000) == "EINVAL"
    assert w.run("unlink", "/tmp/l") == 0
    assert w.run("access", "/etc/passwd", 4) == 0
    assert w.err("access", "/nope", 0) == "ENOENT"
    assert w.err("access", "/etc/passwd", 8) == "EINVAL"
    assert w.run("umask", 0o077) == 0o022 and w.run("umask", 0o022) == 0o077
    fd = w.run("open", "/tmp/t", w.fl("O_RDWR", "O_CREAT"), 0o666)
    w.run("write", fd, w.mm.put(b"123456"), 6)
    assert w.run("ftruncate", fd, 2) == 0 and w.run("fsync", fd) == 0
    assert (w.upper / "tmp/t").read_bytes() == b"12"
    assert w.err("ftruncate", 0, 2) == "EINVAL"
    assert w.run("link", "/tmp/t", "/tmp/t2") == 0
    assert w.run("chmod", "/tmp/t2", 0o600) == 0
    assert stat.S_IMODE(os.stat(w.upper / "tmp/t").st_mode) == 0o600
    owner = os.stat(w.upper / "tmp/t")
    assert w.run("fchownat", AT_FDCWD, "/tmp/t", 0xFFFFFFFF, 0xFFFFFFFF, 0) == 0
    assert w.run("chown", "/tmp/t", owner.st_uid, 0xFFFFFFFF) == 0
    assert (os.stat(w.upper / "tmp/t").st_uid, os.stat(w.upper / "tmp/t").st_gid) == \
        (owner.st_uid, owner.st_gid)
    assert w.err("chown", "/tmp/nope", 0, 0) == "ENOENT"
    assert w.run("flock", fd, 2) == 0 and w.err("flock", 99, 2) == "EBADF"
    times = w.mm.put(struct.pack("<iiii", 100, 0, 200, 0))
    assert w.run("utimensat", AT_FDCWD, w.mm.cstr("/tmp/t"), times, 0) == 0
    assert os.stat(w.upper / "tmp/t").st_mtime == 200
    huge = w.mm.put(struct.pack("<qqqq", 1 << 62, 0, 0, 0))
    assert w.err("utimensat_time64", AT_FDCWD, w.mm.cstr("/tmp/t"), huge, 0) == "EINVAL"
    omit = w.mm.put(struct.pack("<iiii", 0, sys_fs.UTIME_OMIT, 300, 0))
    assert w.run("utimensat", fd, 0, omit, 0) == 0          # futimens
    assert os.stat(w.upper / "tmp/t").st_mtime == 300 and os.stat(w.upper / "tmp/t").st_atime == 100


# --- terminal ioctls -----------------------------------------------------------------------------
def test_tty_ioctls(w):
    io = w.abi.ioctls
    layout = w.abi.structs["termios"]
    buf = w.mm.alloc(64)
    assert w.run("ioctl", 0, io["TCGETS"], buf) == 0
    t = sys_fs.decode_termios(layout, w.mm.read(buf, layout.size))
    assert t.lflag & w.abi.termios["ICANON"] and t.lflag & w.abi.termios["ECHO"]
    assert t.cc[w.abi.termios["VEOF"]] == 4 and t.cc[w.abi.termios["VMIN"]] == 1
    raw = sys_fs.Termios(t.iflag, t.oflag, t.cflag, t.lflag & ~w.abi.termios["ICANON"],
                         t.line, t.cc)
    w.mm.write(buf, sys_fs.encode_termios(layout, raw))
    assert w.run("ioctl", 0, io["TCSETSW"], buf) == 0
    assert not w.server.vfs.console.canonical
    ws = w.mm.alloc(8)
    assert w.run("ioctl", 1, io["TIOCGWINSZ"], ws) == 0
    assert struct.unpack("<HHHH", w.mm.read(ws, 8)) == (24, 80, 0, 0)
    pg = w.mm.alloc(4)
    assert w.run("ioctl", 0, io["TIOCGPGRP"], pg) == 0
    assert struct.unpack("<i", w.mm.read(pg, 4))[0] == 42
    fd = w.run("open", "/etc/passwd", 0, 0)
    assert w.err("ioctl", fd, io["TCGETS"], buf) == "ENOTTY"
    assert w.err("ioctl", fd, io["TIOCGWINSZ"], buf) == "ENOTTY"
    arr = w.mm.alloc(8)
    w.run("pipe2", arr, 0)
    r, wr = struct.unpack("<ii", w.mm.read(arr, 8))
    w.run("write", wr, w.mm.put(b"abc"), 3)
    assert w.run("ioctl", r, io["FIONREAD"], pg) == 0
    assert struct.unpack("<i", w.mm.read(pg, 4))[0] == 3
    one = w.mm.put(struct.pack("<i", 1))
    assert w.run("ioctl", r, io["FIONBIO"], one) == 0 and w.proc.fds.get(r).nonblock


def test_console_is_no_terminal_when_l4gdb_prints_into_a_pipe(w):
    """As with qemu-user: isatty() in the program follows l4gdb's own output."""
    con = sys_fs.console_for(Terminal(tty=False), w.abi)
    fd = w.proc.fds.install(TtyFile(path="/dev/console", access="rw", console=con))
    assert w.err("ioctl", fd, w.abi.ioctls["TCGETS"], w.mm.alloc(64)) == "ENOTTY"
    assert w.err("ioctl", fd, w.abi.ioctls["TIOCGWINSZ"], w.mm.alloc(8)) == "ENOTTY"


# --- poll and select -----------------------------------------------------------------------------
def _pollfds(w: World, *entries: tuple[int, int]) -> int:
    return w.mm.put(b"".join(struct.pack("<ihh", fd, ev, 0) for fd, ev in entries))


def test_poll_readiness_blocking_and_timeout(w):
    ev = w.abi.poll_events
    arr = w.mm.alloc(8)
    w.run("pipe2", arr, 0)
    r, wr = struct.unpack("<ii", w.mm.read(arr, 8))
    pfd = _pollfds(w, (r, ev["POLLIN"]), (wr, ev["POLLOUT"]), (77, ev["POLLIN"]), (-1, 1))
    assert w.run("poll", pfd, 4, 0) == 2
    rev = [struct.unpack_from("<ihh", w.mm.read(pfd, 32), 8 * i)[2] for i in range(4)]
    assert rev == [0, ev["POLLOUT"], ev["POLLNVAL"], 0]
    only_r = _pollfds(w, (r, ev["POLLIN"]))
    c = w.call("poll")
    assert sys_fs.poll(c, only_r, 1, 50) is BLOCK
    assert c.wake_at_us == 1000 + 50_000
    w.server.now_us = 60_000
    assert sys_fs.poll(c, only_r, 1, 50) == 0      # the timeout passed
    c = w.call("poll")
    assert sys_fs.poll(c, only_r, 1, -1) is BLOCK and c.wake_at_us is None
    w.run("write", wr, w.mm.put(b"x"), 1)
    assert sys_fs.poll(c, only_r, 1, -1) == 1
    w.run("close", wr)
    w.run("read", r, w.mm.alloc(4), 4)
    assert w.run("poll", only_r, 1, 0) == 1
    assert struct.unpack("<ihh", w.mm.read(only_r, 8))[2] & ev["POLLHUP"]


def test_select_on_pipes(w):
    arr = w.mm.alloc(8)
    w.run("pipe2", arr, 0)
    r, wr = struct.unpack("<ii", w.mm.read(arr, 8))
    rset = w.mm.put(struct.pack("<I", 1 << r))
    wset = w.mm.put(struct.pack("<I", 1 << wr))
    assert w.run("_newselect", wr + 1, rset, wset, 0, 0) == 1
    assert struct.unpack("<I", w.mm.read(rset, 4))[0] == 0
    assert struct.unpack("<I", w.mm.read(wset, 4))[0] == 1 << wr
    w.mm.write(rset, struct.pack("<I", 1 << r))
    c = w.call("pselect6")
    ts = w.mm.put(struct.pack("<ii", 1, 0))
    assert sys_fs.pselect6(c, r + 1, rset, 0, 0, ts, 0) is BLOCK
    assert c.wake_at_us == 1000 + 1_000_000
    w.run("write", wr, w.mm.put(b"x"), 1)
    assert sys_fs.pselect6(c, r + 1, rset, 0, 0, ts, 0) == 1
    assert struct.unpack("<I", w.mm.read(rset, 4))[0] == 1 << r
    bad = w.mm.put(struct.pack("<I", 1 << 20))
    assert w.err("_newselect", 21, bad, 0, 0, 0) == "EBADF"
    assert w.err("_newselect", -1, 0, 0, 0, 0) == "EINVAL"


def test_ppoll_waits_with_its_signal_mask(w):
    arr = w.mm.alloc(8)
    w.run("pipe2", arr, 0)
    r, wr = struct.unpack("<ii", w.mm.read(arr, 8))
    pfd = _pollfds(w, (r, w.abi.poll_events["POLLIN"]))
    size = w.abi.sigset_bytes
    kill = 1 << (w.abi.signals["SIGKILL"] - 1)
    usr1 = 1 << (w.abi.signals["SIGUSR1"] - 1)
    mask = w.mm.put((kill | usr1).to_bytes(size, "little"))
    c = w.call("ppoll")
    c.thread.sigmask = 0b1
    assert sys_fs.ppoll(c, pfd, 1, 0, mask, size) is BLOCK
    assert c.thread.sigmask == usr1                   # SIGKILL cannot be blocked
    assert c.state["old_mask"] == 0b1
    w.run("write", wr, w.mm.put(b"x"), 1)
    assert sys_fs.ppoll(c, pfd, 1, 0, mask, size) == 1
    assert c.thread.sigmask == 0b1
    w.run("read", r, w.mm.alloc(4), 4)              # empty again: a wait, with a bad size
    assert w.err("ppoll", pfd, 1, 0, mask, size + 1) == "EINVAL"


def test_sendfile_copies_from_a_file(w):
    fd = w.run("open", "/etc/passwd", 0, 0)
    arr = w.mm.alloc(8)
    w.run("pipe2", arr, 0)
    r, wr = struct.unpack("<ii", w.mm.read(arr, 8))
    n = w.run("sendfile64", wr, fd, 0, 1 << 24)
    assert n == 30 and w.run("sendfile64", wr, fd, 0, 1 << 24) == 0
    buf = w.mm.alloc(64)
    assert w.run("read", r, buf, 64) == 30
    assert w.err("sendfile64", wr, r, 0, 10) == "EINVAL"


# --- through the decoder: the annotations match the handlers ----------------------------------
def test_handlers_decode_their_arguments(w):
    path = w.mm.cstr("/etc/passwd")
    h = HANDLERS["openat"]
    c = w.call("openat")
    c.raw = [AT_FDCWD & 0xFFFFFFFF, path, 0, 0]
    c.args = h.decode(c, False)
    assert c.args == [AT_FDCWD, "/etc/passwd", 0, 0]
    fd = h.fn(c, *c.args)
    buf = w.mm.alloc(8)
    h = HANDLERS["pread64"]
    c = w.call("pread64")
    c.raw = [fd, buf, 4, 0, 5, 0]                  # ARM/MIPS: the offset on an even pair
    c.args = h.decode(c, True)
    assert h.fn(c, *c.args) == 4 and w.mm.read(buf, 4) == b"x:0:"
    for name in ("fcntl64", "newfstatat", "fdatasync", "_llseek", "_newselect"):
        assert name in HANDLERS
