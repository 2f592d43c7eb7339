"""Open file descriptions, the descriptor table, the console terminal."""

from __future__ import annotations

import os
import struct

import pytest
from wombat_fakes import Terminal

from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.files import (
    NOFILE_LIMIT,
    ConsoleTty,
    DevFile,
    DirEntry,
    DirFile,
    FdTable,
    JailFile,
    PipeEnd,
    TtyFile,
    default_termios,
    dirent64,
    raw_input_mode,
)
from l4gdb.wombat.pipes import WOULD_BLOCK, Pipe


def errno_of(fn, *args) -> str:
    with pytest.raises(LinuxError) as exc:
        fn(*args)
    return exc.value.errno


def host_file(tmp_path, data=b"0123456789", access="rw", status=None) -> JailFile:
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDWR)
    return JailFile(path="/f", access=access, status=status or set(), fd=fd)


def pipe_pair(table: FdTable, status=None) -> tuple[int, int, Pipe]:
    p = Pipe()
    r = table.install(PipeEnd(access="r", status=set(status or ()), pipe=p))
    w = table.install(PipeEnd(access="w", status=set(status or ()), pipe=p))
    return r, w, p


# --- descriptions ------------------------------------------------------------------------------
def test_host_file_offset_is_shared_by_dup(tmp_path):
    t = FdTable()
    fd = t.install(host_file(tmp_path))
    fd2 = t.dup(fd)
    assert t.get(fd).read(3) == b"012"
    assert t.get(fd2).read(3) == b"345"          # one description, one offset
    assert t.get(fd).seek(-2, 2) == 8
    assert t.get(fd2).read(10) == b"89"
    assert t.get(fd).pread(2, 1) == b"12" and t.get(fd).offset == 10
    assert errno_of(t.get(fd).seek, -20, 1) == "EINVAL"
    assert errno_of(t.get(fd).seek, 0, 7) == "EINVAL"


def test_host_file_access_mode_and_append(tmp_path):
    f = host_file(tmp_path, access="w", status={"O_APPEND"})
    assert errno_of(f.read, 1) == "EBADF"
    f.seek(0, 0)
    assert f.write(b"AB") == 2
    assert (tmp_path / "f").read_bytes() == b"0123456789AB"
    f.truncate(4)
    assert f.stat().size == 4
    r = host_file(tmp_path, access="r")
    assert errno_of(r.write, b"x") == "EBADF"
    assert errno_of(r.truncate, 1) == "EINVAL"
    f.release()
    r.release()


def test_close_releases_the_host_descriptor_after_the_last_reference(tmp_path):
    t = FdTable()
    f = host_file(tmp_path)
    fd = t.install(f)
    child = t.fork()
    t.close(fd)
    assert f.fd >= 0 and f.refs == 1
    child.close(fd)
    assert f.fd == -1 and f.refs == 0


def test_getdents64_records():
    rec = dirent64(5, 1, 8, b"abc")
    ino, off, reclen, dtype = struct.unpack_from("<QqHB", rec)
    assert (ino, off, reclen, dtype) == (5, 1, 24, 8)
    assert rec[19:23] == b"abc\0" and len(rec) % 8 == 0
    entries = [DirEntry(".", 1, 4), DirEntry("..", 1, 4)] + \
        [DirEntry(f"file{i}", 10 + i, 8) for i in range(10)]
    d = DirFile(path="/d", list_entries=lambda: list(entries))
    first = d.getdents64(60)                      # two 24-byte records fit
    assert len(first) == 48
    rest = d.getdents64(4096)
    assert len(rest) == 10 * 32                   # 19 + "fileN" + NUL, 8-aligned
    assert d.getdents64(4096) == b""
    d.seek(0, 0)
    assert errno_of(d.getdents64, 10) == "EINVAL"     # too small for one record
    assert errno_of(d.read, 1) == "EISDIR"


def test_devices():
    assert DevFile(device="null").read(10) == b""
    assert DevFile(device="zero").read(5) == bytes(5)
    assert len(DevFile(device="urandom").read(16)) == 16
    assert DevFile(device="null", access="w").write(b"xyz") == 3
    assert errno_of(DevFile(device="full", access="w").write, b"x") == "ENOSPC"
    assert DevFile(device="null").stat().rdev == 0x103


def test_pipe_ends_count_references_through_the_table():
    t = FdTable()
    r, w, p = pipe_pair(t)
    assert (p.readers, p.writers) == (1, 1)
    child = t.fork()
    w2 = t.dup(w)
    assert p.writers == 1                         # descriptions, not descriptors, count
    t.close(w)
    t.close(w2)
    assert p.writers == 1                         # the child still has it
    child.close(w)
    assert p.writers == 0
    assert t.get(r).read(10) == b""               # EOF
    assert t.get(r).hangup()


def test_pipe_readiness_and_errors():
    t = FdTable()
    r, w, p = pipe_pair(t)
    rf, wf = t.get(r), t.get(w)
    assert not rf.readable() and wf.writable()
    assert rf.read(1) is WOULD_BLOCK
    wf.write(b"hi")
    assert rf.readable() and rf.nread() == 2
    assert errno_of(rf.write, b"x") == "EBADF"
    assert errno_of(rf.seek, 0, 0) == "ESPIPE"
    t.close(r)
    assert wf.hangup()
    assert errno_of(wf.write, b"x") == "EPIPE"
    assert rf.link_text().startswith("pipe:[")


# --- the descriptor table -----------------------------------------------------------------------
def test_lowest_free_descriptor_and_dup2():
    t = FdTable()
    files = [DevFile(device="null") for _ in range(4)]
    assert [t.install(f) for f in files] == [0, 1, 2, 3]
    t.close(1)
    assert t.install(DevFile()) == 1
    assert t.dup(0, minfd=10) == 10
    assert t.dup2(0, 7) == 7 and t.get(7) is files[0]
    assert t.dup2(3, 7) == 7 and t.get(7) is files[3]
    assert t.dup2(3, 3) == 3
    assert errno_of(t.dup3, 3, 3, False) == "EINVAL"
    assert errno_of(t.dup2, 55, 3) == "EBADF"
    assert errno_of(t.dup2, 3, NOFILE_LIMIT) == "EBADF"
    assert errno_of(t.close, 55) == "EBADF"
    assert errno_of(t.get, -1) == "EBADF"


def test_close_on_exec():
    t = FdTable()
    a = t.install(DevFile(), cloexec=True)
    b = t.install(DevFile())
    c = t.dup(b, cloexec=True)
    assert t.get_cloexec(a) and not t.get_cloexec(b) and t.get_cloexec(c)
    t.set_cloexec(b, True)
    t.set_cloexec(a, False)
    d = t.dup3(a, 9, cloexec=True)
    assert t.get_cloexec(d) and not t.get_cloexec(t.dup2(d, 10))
    t.close_on_exec()
    assert sorted(t) == [a, 10]


def test_emfile_at_the_limit():
    t = FdTable(limit=4)
    for _ in range(4):
        t.install(DevFile())
    assert errno_of(t.install, DevFile()) == "EMFILE"
    assert errno_of(t.dup, 0) == "EMFILE"
    assert errno_of(t.dup, 0, 4) == "EINVAL"
    assert errno_of(t.next_fd) == "EMFILE"


def test_fork_copies_flags_and_shares_descriptions():
    t = FdTable()
    f = DevFile(device="zero")
    fd = t.install(f, cloexec=True)
    child = t.fork()
    assert child.get(fd) is f and child.get_cloexec(fd) and f.refs == 2
    child.set_cloexec(fd, False)
    assert t.get_cloexec(fd)
    child.close_all()
    assert f.refs == 1 and list(child) == []


# --- the console -------------------------------------------------------------------------------
def test_console_with_l4gdb_terminal():
    term = Terminal()
    t = FdTable.with_console(term)
    assert sorted(t) == [0, 1, 2] and t.get(0) is t.get(2)
    tty = t.get(0)
    assert isinstance(tty, TtyFile) and tty.tty is not None
    assert tty.write(b"hello\n") == 6 and term.written == [b"hello\n"]
    assert tty.read(10) is WOULD_BLOCK and not tty.readable()
    term.type(b"ab")
    assert tty.read(10) is WOULD_BLOCK             # canonical: no full line yet
    term.type(b"c\nnext")
    assert tty.readable()
    assert tty.read(2) == b"ab"
    assert tty.read(10) == b"c\n"
    assert tty.read(10) is WOULD_BLOCK
    term.eof = True
    assert tty.read(10) == b"next"
    assert tty.read(10) == b""


def test_console_eof_character_and_raw_mode():
    con = ConsoleTty(output=lambda b: None)
    con.feed(b"abc\x04")
    assert con.read(10) == b"abc"                  # ^D ends the line, unseen
    con.feed(b"\x04")
    assert con.read(10) == b""                     # ^D at line start: read returns 0
    con.termios.lflag &= ~0o2                      # -icanon: bytes as they come
    con.feed(b"x")
    assert con.read(10) == b"x"


def test_console_isig_characters_become_signals():
    con = ConsoleTty(output=lambda b: None)
    assert con.feed(b"ab\x03cd\n") == ["SIGINT"]
    assert con.read(10) == b"cd\n"                 # ^C flushed the line before it
    con.termios.lflag &= ~0o1                      # -isig
    assert con.feed(b"\x03") == []
    assert con.input == bytearray(b"\x03")


def test_console_into_a_pipe_is_no_terminal():
    """l4gdb's output is not a terminal: input passes as it comes, as from a pipe."""
    term = Terminal(tty=False)
    t = FdTable.with_console(term)
    tty = t.get(0)
    assert not tty.tty.isatty
    term.type(b"no newline\x03\x04")
    assert tty.read(100) == b"no newline\x03\x04"
    assert tty.tty.signals == []


def test_local_line_discipline_echo_erase_kill_and_onlcr():
    written: list[bytes] = []
    con = ConsoleTty(output=written.append, local=True)
    assert con.feed(b"ab\x7fc\r") == []           # erase, then CR -> NL (ICRNL)
    assert con.read(10) == b"ac\n"
    assert b"".join(written) == b"ab\b \bc\n"     # echo (l4gdb's terminal does ONLCR)
    written.clear()
    con.feed(b"xyz\x15q\n")                        # ^U kills the line
    assert con.read(10) == b"q\n"
    assert con.read(10) is WOULD_BLOCK
    assert con.feed(b"half\x03") == ["SIGINT"]
    assert written[-1] == b"^C" and con.read(10) is WOULD_BLOCK
    con.feed(b"abc")
    assert con.read(10) is WOULD_BLOCK              # no line yet
    con.termios.lflag &= ~(0o2 | 0o10)               # -icanon -echo: the line goes through
    written.clear()
    assert con.read(10) == b"abc"
    con.feed(b"k")
    assert con.read(10) == b"k" and written == []


def test_console_takes_the_window_size_of_a_real_terminal():
    import fcntl
    import termios

    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("<HHHH", 50, 132, 0, 0))
        term = Terminal()
        with open(slave, "wb", buffering=0, closefd=False) as screen:
            term.out = screen
            con = ConsoleTty.of_terminal(term)
        assert con.isatty and con.winsize == (50, 132, 0, 0)
    finally:
        os.close(master)
        os.close(slave)


def test_raw_input_mode_on_a_pseudo_terminal():
    import termios

    master, slave = os.openpty()
    try:
        with open(slave, "rb", buffering=0, closefd=False) as stream:
            before = termios.tcgetattr(slave)
            with raw_input_mode(stream) as raw:
                assert raw
                now = termios.tcgetattr(slave)
                assert not now[3] & (termios.ICANON | termios.ECHO | termios.ISIG)
                assert now[1] & termios.OPOST                # output processing stays
            assert termios.tcgetattr(slave) == before
        with raw_input_mode(object()) as raw:
            assert not raw
    finally:
        os.close(master)
        os.close(slave)


def test_default_termios_is_sane():
    t = default_termios()
    assert t.lflag & 0o2 and t.lflag & 0o10 and t.cc[4] == 4 and len(t.cc) == 17
