"""The Linux server on the fake target: Linux system calls arrive as exceptions
of a Linux thread (ARM EABI: ``svc #0``, number in r7), the server answers with
the thread's new registers or keeps it blocked; fork, wait, signals, sleeping,
bad pointers, unknown calls."""

from __future__ import annotations

import pytest
from fake_target import ARCH32, FakeMachine
from wombat_mm_env import Load, build_elf

from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.paging import R, W, X
from l4gdb.kernel.thread import State
from l4gdb.wombat.server import LinuxServer, WombatConfig, install

abi_mod = pytest.importorskip("l4gdb_arm.linux_abi")
ABI = abi_mod.ABI
TEXT, DATA = 0x0040_0000, 0x0041_0000
SIGRETURN_RESTORER = 0x0040_0100


def nr(name: str) -> int:
    return ABI.nr(name)


def errno(name: str) -> int:
    return -ABI.errno[name] & 0xFFFFFFFF


@pytest.fixture
def system(tmp_path):
    """A booted fake machine, the Linux server, and /bin/prog as process 1 running."""
    (tmp_path / "bin").mkdir()
    prog = build_elf([Load(TEXT, bytes(0x200), flags=R | X),
                      Load(DATA, bytes(0x100), memsz=0x2000, flags=R | W)], TEXT)
    (tmp_path / "bin" / "prog").write_bytes(prog)
    (tmp_path / "bin" / "prog").chmod(0o755)
    m = FakeMachine(ARCH32, paging=True)
    server = install(m.kernel, ABI, WombatConfig(rootfs=str(tmp_path), argv=["/bin/prog", "x"]))
    # The root task waits for a message that never comes: the Linux thread runs.
    m.syscall(Syscall.Ipc, 0, m.sigma0, 0)
    assert m.running == server.init.threads[0].tcb.global_id
    return m, server


def linux(m: FakeMachine, name: str, *args: int) -> int | None:
    """The running thread makes Linux call ``name``; its r0 after (None: blocked)."""
    tid = m.running
    m.cpu["r7"] = nr(name)
    m.syscall(0, *args)
    if m.running != tid:
        return None
    return m.cpu["r0"]


def put(server: LinuxServer, addr: int, data: bytes) -> None:
    """Bytes into process 1's memory (as the program itself would have written them)."""
    server.init.mm.write(addr, data)


def test_identity_and_unknown_calls(system):
    m, server = system
    assert linux(m, "getpid") == 1
    assert linux(m, "getppid") == 0
    assert linux(m, "getuid32") == 0
    assert linux(m, "io_setup", 1, 0) == errno("ENOSYS")


def test_bad_pointers_give_efault_not_a_host_error(system):
    m, _ = system
    assert linux(m, "uname", 0x10) == errno("EFAULT")
    assert linux(m, "clock_gettime", 0, 0xC000_0000) == errno("EFAULT")
    assert linux(m, "write", 1, 0x7000_0000, 10) == errno("EFAULT")
    assert linux(m, "getpid") == 1                      # and the process goes on


def test_fork_wait_and_exit_status(system):
    m, server = system
    parent = m.running
    child_pid = linux(m, "fork")
    assert child_pid == 2
    status_ptr = DATA + 0x10
    assert linux(m, "wait4", 0xFFFFFFFF, status_ptr, 0, 0) is None   # blocks: the child runs
    child = server.procs[2].threads[0].tcb.global_id
    assert m.running == child
    assert m.cpu["r0"] == 0                                          # fork returns 0 there
    assert linux(m, "getppid") == 1
    linux(m, "exit_group", 3)
    assert m.running == parent
    assert m.cpu["r0"] == 2                                          # wait4 returned the pid
    assert m.word(status_ptr, m.root_of(parent)) == 3 << 8
    assert 2 not in server.procs                                     # reaped
    assert linux(m, "wait4", 0xFFFFFFFF, 0, 0, 0) == errno("ECHILD")


def test_waitid_reports_the_exit_in_siginfo(system):
    m, server = system
    parent = m.running
    assert linux(m, "fork") == 2
    info = DATA + 0x40
    w = ABI.wait_flags
    assert linux(m, "waitid", w["P_PID"], 2, info, w["WEXITED"], 0) is None
    linux(m, "exit_group", 9)
    assert m.running == parent and m.cpu["r0"] == 0
    lay = ABI.structs["siginfo"]
    got = lay.unpack(bytes(m.mem.read(m.pa(info, m.root_of(parent)), lay.size)))
    assert (got["si_signo"], got["si_pid"], got["si_status"]) == (ABI.signals["SIGCHLD"], 2, 9)


def test_a_signal_with_a_handler_runs_it_and_sigreturn_resumes(system):
    m, server = system
    act = DATA + 0x80
    lay = ABI.structs["sigaction"]
    handler = TEXT + 0x41                                   # a Thumb handler
    flags = ABI.sa_flags["SA_RESTORER"]
    data = lay.pack({"sa_handler": handler, "sa_flags": flags,
                     "sa_restorer": SIGRETURN_RESTORER, "sa_mask": bytes(8)})
    put(server, act, data)
    usr1 = ABI.signals["SIGUSR1"]
    assert linux(m, "rt_sigaction", usr1, act, 0, 8) == 0
    before_sp = m.cpu["sp"]
    assert linux(m, "kill", 1, usr1) is not None            # delivered on the way out
    assert m.cpu["pc"] == handler & ~1 and m.cpu["cpsr"] & (1 << 5)
    assert (m.cpu["r0"], m.cpu["lr"]) == (usr1, SIGRETURN_RESTORER)
    assert m.cpu["sp"] < before_sp
    m.cpu["r5"] = 0x5555                                    # the handler's own registers
    linux(m, "sigreturn")
    assert m.cpu["sp"] == before_sp and m.cpu["r0"] == 0    # kill's result again
    assert m.cpu["r5"] != 0x5555


def test_default_action_ends_the_process_with_128_plus_n(system):
    m, server = system
    term = ABI.signals["SIGTERM"]
    linux(m, "kill", 1, term)
    assert server.init.zombie and server.exit_status == 128 + term
    assert m.kernel.exit_status == 128 + term


def test_nanosleep_blocks_until_its_time(system):
    m, server = system
    ts = DATA + 0x20
    put(server, ts, (0).to_bytes(4, "little") + (50_000_000).to_bytes(4, "little"))   # 50 ms
    tid = m.running
    assert linux(m, "nanosleep", ts, 0) is None
    lt = server.threads[tid]
    assert lt.call is not None and lt.tcb.state is State.WAITING
    m.tick(20_000)
    assert lt.call is not None
    m.tick(40_000)
    assert lt.call is None and m.running == tid and m.cpu["r0"] == 0


def test_exec_of_a_missing_or_bad_program(system, tmp_path):
    m, server = system
    path = DATA + 0x100
    put(server, path, b"/bin/none\0")
    assert linux(m, "execve", path, 0, 0) == errno("ENOENT")
    (tmp_path / "bin" / "bad").write_bytes(b"\x7fELF garbage")
    (tmp_path / "bin" / "bad").chmod(0o755)
    put(server, path, b"/bin/bad\0")
    assert linux(m, "execve", path, 0, 0) == errno("ENOEXEC")
    assert linux(m, "getpid") == 1


def test_server_snapshot_lists_processes(system):
    m, server = system
    linux(m, "fork")
    snap = server.snapshot()
    assert [p["pid"] for p in snap["processes"]] == [1, 2]
    assert snap["processes"][0]["cmd"] == "/bin/prog x"
    assert isinstance(server, LinuxServer)
