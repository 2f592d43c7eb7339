"""The Linux system-call table: argument decoding from annotations, strace text."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from l4gdb.wombat import calls
from l4gdb.wombat.calls import AT_FDCWD, Call, Fd, Flags, Int, Mode, Off64, Path, Ptr, Size
from l4gdb.wombat.errors import LinuxError


class FakeMm:
    def __init__(self, strings: dict[int, bytes]) -> None:
        self.strings = strings

    def read_cstr(self, addr: int, limit: int = 4096) -> bytes:
        if addr not in self.strings:
            raise LinuxError("EFAULT")
        return self.strings[addr]


def make_call(raw: list[int], strings: dict[int, bytes] | None = None) -> Call:
    server = SimpleNamespace(bits=32, signal_name=lambda n: f"SIG{n}",
                             errno_name=lambda n: {2: "ENOENT", 9: "EBADF"}.get(n, f"E{n}"))
    thread = SimpleNamespace(proc=SimpleNamespace(mm=FakeMm(strings or {})))
    return Call(server, thread, 0, "test", raw)      # type: ignore[arg-type]


def handler_of(fn) -> calls.Handler:
    saved = dict(calls.HANDLERS)
    try:
        calls.HANDLERS.clear()
        calls.syscall(fn)
        return next(iter(calls.HANDLERS.values()))
    finally:
        calls.HANDLERS.clear()
        calls.HANDLERS.update(saved)


def test_signed_and_unsigned_words():
    def sample(call: Call, fd: Fd, n: Int, size: Size, flags: Flags) -> int:
        return 0

    h = handler_of(sample)
    call = make_call([0xFFFFFF9C, 0xFFFFFFFF, 0xFFFFFFFF, 0x80])
    assert h.decode(call, align64=False) == [AT_FDCWD, -1, 0xFFFFFFFF, 0x80]
    call.args = h.decode(call, align64=False)
    assert h.format_args(call) == "AT_FDCWD, -1, 4294967295, 0x80"


def test_path_is_read_from_user_memory_and_null_stays_none():
    def openat(call: Call, dirfd: Fd, path: Path, flags: Flags, mode: Mode) -> int:
        return 0

    h = handler_of(openat)
    call = make_call([3, 0x1000, 0, 0o644], {0x1000: b"/etc/passwd"})
    call.args = h.decode(call, align64=False)
    assert call.args[1] == "/etc/passwd"
    assert h.format_args(call) == '3, "/etc/passwd", 0x0, 0644'
    call = make_call([3, 0, 0, 0])
    assert h.decode(call, align64=False)[1] is None


def test_bad_path_pointer_is_efault():
    def stat(call: Call, path: Path, buf: Ptr) -> int:
        return 0

    with pytest.raises(LinuxError) as err:
        handler_of(stat).decode(make_call([0x2000, 0]), align64=False)
    assert err.value.errno == "EFAULT"


@pytest.mark.parametrize("align, expect", [(True, 0x1_0000_0005), (False, 0x5_0000_0000)])
def test_off64_pairs_follow_the_abi_alignment(align, expect):
    def pread64(call: Call, fd: Fd, buf: Ptr, count: Size, offset: Off64) -> int:
        return 0

    # words: fd, buf, count, (pad), lo, hi
    h = handler_of(pread64)
    raw = [1, 0x100, 10, 0, 5, 1] if align else [1, 0x100, 10, 0, 5]
    got = h.decode(make_call(raw), align64=align)[3]
    assert got == (expect if align else 0x5_0000_0000)


def test_every_parameter_needs_a_kind():
    def bad(call: Call, x) -> int:                      # type: ignore[no-untyped-def]
        return 0

    with pytest.raises(TypeError):
        handler_of(bad)


def test_two_handlers_for_one_name_are_refused():
    def one(call: Call) -> int:
        return 0

    saved = dict(calls.HANDLERS)
    try:
        calls.syscall("dup_name_test")(one)
        with pytest.raises(ValueError):
            calls.syscall("dup_name_test")(one)
    finally:
        calls.HANDLERS.clear()
        calls.HANDLERS.update(saved)


def test_result_text_names_errno():
    call = make_call([])
    assert calls.result_text(call, -2) == "-1 ENOENT (No such file or directory)"
    assert calls.result_text(call, 5) == "5"
