"""Guest-given sizes never size a host allocation: exec of huge (sparse) files,
sigset sizes, execve argument limits, I/O counts, iovec/poll counts, path
lengths and huge anonymous mappings (fake target, ARM EABI)."""

from __future__ import annotations

import os
import struct
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from fake_target import ARCH32, FakeMachine
from wombat_mm_env import Load, build_elf

from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.paging import R, W, X
from l4gdb.wombat import sys_proc
from l4gdb.wombat.elfload import BINPRM_BUF_SIZE, ExecFile, parse_elf, parse_shebang
from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.server import WombatConfig, install

abi_mod = pytest.importorskip("l4gdb_arm.linux_abi")
ABI = abi_mod.ABI
TEXT, DATA = 0x0040_0000, 0x0041_0000
SCRATCH = DATA + 0x800
GIB = 1 << 30
HOST_BOUND = 8 << 20               # what one call may allocate on the host, at most


def errno(name: str) -> int:
    return -ABI.errno[name] & 0xFFFFFFFF


def _prog() -> bytes:
    return build_elf([Load(TEXT, bytes(0x200), flags=R | X),
                      Load(DATA, bytes(0x100), memsz=0x4000, flags=R | W)], TEXT)


@pytest.fixture
def system(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "prog").write_bytes(_prog())
    (tmp_path / "bin" / "prog").chmod(0o755)
    m = FakeMachine(ARCH32, paging=True)
    server = install(m.kernel, ABI, WombatConfig(rootfs=str(tmp_path), argv=["/bin/prog"]))
    m.syscall(Syscall.Ipc, 0, m.sigma0, 0)
    assert m.running == server.init.threads[0].tcb.global_id
    return m, server, tmp_path


def linux(m: FakeMachine, name: str, *args: int) -> int | None:
    tid = m.running
    m.cpu["r7"] = ABI.nr(name)
    m.syscall(0, *args)
    return m.cpu["r0"] if m.running == tid else None


def peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """fn's result and the most host memory (Python allocations) it held at once."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _strings(server, at: int, strings: list[bytes]) -> int:
    """A NULL-ended pointer array of strings in process 1's memory; its address."""
    ptrs, p = [], at + 4 * (len(strings) + 1)
    for s in strings:
        server.init.mm.write(p, s + b"\0")
        ptrs.append(p)
        p += len(s) + 1
    server.init.mm.write(at, b"".join(struct.pack("<I", x) for x in [*ptrs, 0]))
    return at


def _sparse(path, head: bytes, size: int = 2 * GIB) -> None:
    path.write_bytes(head)
    os.truncate(path, size)
    path.chmod(0o755)


# --- exec reads what it needs, not the file -----------------------------------------------

def test_exec_of_a_2gib_sparse_script_reads_only_its_first_line(system):
    m, server, root = system
    _sparse(root / "bin" / "big.sh", b"#!/bin/prog -x\n")
    mm = server.init.mm
    mm.write(SCRATCH, b"/bin/big.sh\0")
    argv = _strings(server, SCRATCH + 0x100, [b"big.sh", b"arg"])
    result, most = peak(lambda: linux(m, "execve", SCRATCH, argv, 0))
    assert result != errno("ENOEXEC") and most < HOST_BOUND, most
    assert server.init.exe == "/bin/prog"
    assert server.init.argv == ["/bin/prog", "-x", "/bin/big.sh", "arg"]


def test_exec_of_a_2gib_sparse_elf_reads_headers_and_pages_on_demand(system):
    m, server, root = system
    _sparse(root / "bin" / "bigelf", _prog())
    server.init.mm.write(SCRATCH, b"/bin/bigelf\0")
    result, most = peak(lambda: linux(m, "execve", SCRATCH, 0, 0))
    assert result is not None and most < HOST_BOUND, most
    assert server.init.exe == "/bin/bigelf"
    mm = server.init.mm
    assert mm.read(TEXT, 4) == bytes(4) and mm.read(DATA + 0x3FFC, 4) == bytes(4)


def test_elf_with_absurd_sizes_is_enoexec_without_reading_them(tmp_path):
    elf = bytearray(_prog())
    ph0 = 52
    struct.pack_into("<II", elf, ph0 + 16, GIB, GIB)        # p_filesz = p_memsz = 1 GiB
    path = tmp_path / "p"
    path.write_bytes(bytes(elf))
    f = ExecFile(os.open(path, os.O_RDONLY))
    with pytest.raises(LinuxError) as e:
        parse_elf(f, "EM_ARM")
    assert e.value.errno == "ENOEXEC"
    elf = bytearray(_prog())
    struct.pack_into("<H", elf, 44, 0xFFFF)                # e_phnum far past 64 KiB of headers
    with pytest.raises(LinuxError) as e:
        parse_elf(bytes(elf) + bytes(0xFFFF * 32), "EM_ARM")
    assert e.value.errno == "ENOEXEC"


@pytest.mark.parametrize(("line", "want"), [
    (b"#!/bin/sh\n", (b"/bin/sh", None)),
    (b"#!  /bin/sh   -e  -x \t\nrest", (b"/bin/sh", b"-e  -x")),
    (b"#!/bin/sh", (b"/bin/sh", None)),                                    # no newline at all
    (b"#!/bin/sh " + b"a" * 400, (b"/bin/sh", b"a" * (BINPRM_BUF_SIZE - 11))),   # arg cut
    (b"#!/bin/sh\0junk\n", (b"/bin/sh", None)),
])
def test_shebang_lines_as_binfmt_script(line, want):
    assert parse_shebang(line) == want


@pytest.mark.parametrize("line", [b"#!" + b"a" * 400, b"#!  \t \n", b"#!" + b" " * 300,
                                  b"#!\n/bin/sh"])
def test_bad_shebang_lines_are_enoexec(line):
    with pytest.raises(LinuxError) as e:
        parse_shebang(line)
    assert e.value.errno == "ENOEXEC"


# --- signal sets ----------------------------------------------------------------------------

def test_sigset_sizes_other_than_the_kernels_are_einval(system):
    m, server, _ = system
    size = ABI.sigset_bytes
    result, most = peak(lambda: linux(m, "rt_sigpending", SCRATCH, GIB))
    assert result == errno("EINVAL") and most < HOST_BOUND
    assert linux(m, "rt_sigpending", SCRATCH, 4) == 0         # a shorter copy is fine
    for bad in (4, size + 8, GIB):
        assert linux(m, "rt_sigprocmask", 0, SCRATCH, 0, bad) == errno("EINVAL")
        assert linux(m, "rt_sigaction", 10, 0, SCRATCH, bad) == errno("EINVAL")
        assert linux(m, "rt_sigsuspend", SCRATCH, bad) == errno("EINVAL")
        assert linux(m, "rt_sigtimedwait", SCRATCH, 0, 0, bad) == errno("EINVAL")
    assert linux(m, "rt_sigprocmask", 0, 0, SCRATCH, size) == 0
    assert linux(m, "rt_sigaction", 10, 0, SCRATCH, size) == 0


def _sigset(*sigs: int) -> bytes:
    return sum(1 << (s - 1) for s in sigs).to_bytes(ABI.sigset_bytes, "little")


def _timespec(server, at: int, sec: int, nsec: int) -> int:
    server.init.mm.write(at, struct.pack("<ii", sec, nsec))
    return at


def test_sigtimedwait_takes_a_pending_signal_of_its_set(system):
    m, server, _ = system
    usr1, usr2 = ABI.signals["SIGUSR1"], ABI.signals["SIGUSR2"]
    mm, size, info = server.init.mm, ABI.sigset_bytes, SCRATCH + 0x100
    mm.write(SCRATCH, _sigset(usr1))
    assert linux(m, "rt_sigprocmask", ABI.sig_how["SIG_BLOCK"], SCRATCH, 0, size) == 0
    now = _timespec(server, SCRATCH + 0x40, 0, 0)
    assert linux(m, "rt_sigtimedwait", SCRATCH, info, now, size) == errno("EAGAIN")
    assert linux(m, "kill", 1, usr1) == 0                          # blocked: stays pending
    mm.write(SCRATCH + 0x20, _sigset(usr2, usr1))
    assert linux(m, "rt_sigtimedwait", SCRATCH + 0x20, info, now, size) == usr1
    got = ABI.structs["siginfo"].unpack(mm.read(info, ABI.structs["siginfo"].size))
    assert (got["si_signo"], got["si_code"]) == (usr1, 0)         # SI_USER
    assert not server.init.pending
    bad = _timespec(server, SCRATCH + 0x60, 0, 1_000_000_000)
    assert linux(m, "rt_sigtimedwait", SCRATCH, info, bad, size) == errno("EINVAL")


def test_sigtimedwait_times_out_with_eagain_and_its_mask_back(system):
    m, server, _ = system
    usr1 = ABI.signals["SIGUSR1"]
    server.init.mm.write(SCRATCH, _sigset(usr1))
    ts = _timespec(server, SCRATCH + 0x40, 0, 50_000_000)          # 50 ms
    tid = m.running
    assert linux(m, "rt_sigtimedwait", SCRATCH, 0, ts, ABI.sigset_bytes) is None
    lt = server.threads[tid]
    assert lt.call is not None and lt.sigmask == 1 << (usr1 - 1)   # the set waits for it
    m.tick(20_000)
    assert lt.call is not None
    m.tick(40_000)
    assert lt.call is None and m.running == tid
    assert m.cpu["r0"] == errno("EAGAIN") and lt.sigmask == 0


def test_sigtimedwait_is_woken_by_a_signal_another_process_sends(system):
    """The parent waits (SIGUSR1 not blocked, default action: terminate); the child
    sends it. sigtimedwait takes it: the parent lives and gets the number."""
    m, server, _ = system
    usr1 = ABI.signals["SIGUSR1"]
    parent = m.running
    server.init.mm.write(SCRATCH, _sigset(usr1))
    assert linux(m, "fork") == 2
    assert linux(m, "rt_sigtimedwait", SCRATCH, 0, 0, ABI.sigset_bytes) is None
    child = server.procs[2].threads[0].tcb.global_id
    assert m.running == child
    assert linux(m, "kill", 1, usr1) == 0
    lt = server.threads[parent]
    assert lt.call is None and not server.init.zombie and lt.sigmask == 0
    assert lt.tcb.regs["r0"] == usr1 and not server.init.pending


# --- execve arguments -------------------------------------------------------------------------

def test_execve_argument_limits_are_e2big(system, monkeypatch):
    m, server, _ = system
    mm = server.init.mm
    addr = mm.mmap(0, 1 << 20, R | W, _anon())
    mm.write(addr, b"/bin/prog\0")
    huge = _strings(server, addr + 0x100, [b"x" * sys_proc.MAX_ARG_STRLEN])
    assert linux(m, "execve", addr, huge, 0) == errno("E2BIG")
    monkeypatch.setattr(sys_proc, "ARG_LIMIT", 64)
    args = _strings(server, addr + 0x100, [b"a" * 10] * 4)         # 4 * (11 + 4) = 60
    envp = _strings(server, addr + 0x800, [b"HOME=/"])
    assert linux(m, "execve", addr, args, envp) == errno("E2BIG")   # argv + envp > 64
    monkeypatch.setattr(sys_proc, "ARG_LIMIT", 1 << 20)
    monkeypatch.setattr(sys_proc, "MAX_ARG_STRINGS", 3)
    assert linux(m, "execve", addr, args, 0) == errno("E2BIG")
    monkeypatch.setattr(sys_proc, "MAX_ARG_STRINGS", 4)
    assert linux(m, "execve", addr, args, envp) not in (errno("E2BIG"), None)


def _anon():
    from l4gdb.wombat.mapcalls import MapFlags
    return MapFlags(shared=False, fixed=False, noreplace=False, anonymous=True,
                    growsdown=False)


# --- counts and sizes of ordinary calls ------------------------------------------------------

def test_huge_io_counts_and_mappings_stay_small_on_the_host(system, tmp_path):
    m, server, root = system
    mm = server.init.mm
    _, most = peak(lambda: mm.mmap(0, GIB, R | W, _anon()))
    assert most < HOST_BOUND
    addr = next(v.start for v in mm.vmas if v.end - v.start == GIB)
    mm.write(SCRATCH, b"/dev/null\0")
    fd = linux(m, "open", SCRATCH, 1, 0)
    assert fd is not None and fd < 0x1000
    n, most = peak(lambda: linux(m, "write", fd, addr, GIB))
    assert 0 < n < GIB and most < HOST_BOUND, (n, most)
    (root / "f").write_bytes(b"abc")
    mm.write(SCRATCH, b"/f\0")
    fd = linux(m, "open", SCRATCH, 0, 0)
    n, most = peak(lambda: linux(m, "read", fd, addr, GIB))
    assert n == 3 and most < HOST_BOUND
    n, most = peak(lambda: linux(m, "pread64", fd, addr, GIB, 0, 0))
    assert n == 3 and most < HOST_BOUND and mm.read(addr, 4) == b"abc\0"


def test_iovec_poll_and_path_bounds(system):
    m, server, _ = system
    mm = server.init.mm
    assert linux(m, "readv", 0, SCRATCH, 1025) == errno("EINVAL")      # IOV_MAX
    assert linux(m, "writev", 1, SCRATCH, 1 << 30) == errno("EINVAL")
    assert linux(m, "poll", SCRATCH, 1 << 30, 0) == errno("EINVAL")    # > RLIMIT_NOFILE
    addr = mm.mmap(0, 3 * 4096, R | W, _anon())
    mm.write(addr, b"/" * 4096 + b"\0")                                # PATH_MAX with the NUL
    assert linux(m, "open", addr, 0, 0) == errno("ENAMETOOLONG")
    mm.write(addr + 1, b"\0")
    assert linux(m, "getcwd", SCRATCH, GIB) == 2                        # "/" and its NUL
