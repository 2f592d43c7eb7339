"""The target layer against a real QEMU running a tiny ARM program (slow)."""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from target_fakes import ARM_CONFIG, ARM_EXTRA_ARGS, DATA_ADDR, SVC_BP

from l4gdb.target import children
from l4gdb.target.errors import TargetError
from l4gdb.target.floor import measure_floor
from l4gdb.target.funnel import HostFunnel
from l4gdb.target.interface import QemuTarget, Target
from l4gdb.target.qemu import QemuProcess
from l4gdb.target.qemuconfig import ConfigError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="no qemu-system-arm"),
]


@pytest.fixture
def target(arm_elf: Path, data_elf: Path) -> Iterator[QemuTarget]:
    with QemuTarget(ARM_CONFIG, arm_elf, arch="arm", loaders=[data_elf],
                    extra_args=ARM_EXTRA_ARGS) as t:
        yield t


def run_to_svc(t: QemuTarget) -> dict[str, int]:
    t.resume()
    stop = t.wait_stop(5)
    assert stop is not None and stop.signal == 5 and not stop.exited
    return t.read_registers()


def test_halted_at_entry_with_registers(target: QemuTarget) -> None:
    assert isinstance(target, Target)
    assert target.qemu.status() == "prelaunch"
    regs = target.read_registers()
    assert regs["pc"] == 0x40000000
    assert set(regs) >= {"r0", "r12", "sp", "lr", "pc", "cpsr"}
    assert target.rsp.read_register("cpsr") == regs["cpsr"]


def test_breakpoint_stop_and_register_write(target: QemuTarget) -> None:
    target.insert_breakpoint(SVC_BP)
    regs = run_to_svc(target)
    assert regs["pc"] == SVC_BP and regs["cpsr"] & 0x1F == 0x13      # SVC mode
    assert regs["r0"] == 1
    # return to user mode by hand and make the program see r1 = 41
    target.write_registers({"pc": regs["lr"], "cpsr": 0x10, "r1": 41})
    assert target.read_registers()["r1"] == 41
    regs = run_to_svc(target)
    assert regs["r0"] == 42 and regs["pc"] == SVC_BP
    target.rsp.write_register("r5", 0x5555)
    assert target.read_registers()["r5"] == 0x5555


def test_memory_virtual_and_physical(target: QemuTarget) -> None:
    assert target.read_memory(DATA_ADDR, 4) == (0xFEEDC0DE).to_bytes(4, "little")   # loader
    blob = bytes(range(256)) * 20                     # 5 KiB: several packets
    target.write_memory(0x40300000, blob)
    assert target.read_memory(0x40300000, len(blob)) == blob
    assert target.read_memory(0x40300000, 64, physical=True) == blob[:64]
    target.write_memory(0x40300000, b"\x01\x02", physical=True)
    assert target.read_memory(0x40300000, 3) == b"\x01\x02\x02"
    with pytest.raises(TargetError):
        target.read_memory(0x80000000, 4)         # beyond the 128 MiB of RAM


def test_interrupt_spinning_guest(target: QemuTarget) -> None:
    target.resume()
    assert target.wait_stop(0.2) is None          # the loop runs freely
    assert target.qemu.status() == "running"
    target.interrupt()
    stop = target.wait_stop(5)
    assert stop is not None and stop.signal == 2
    assert target.read_registers()["r0"] > 100


def test_wait_stop_returns_early_on_funnel(target: QemuTarget) -> None:
    funnel = HostFunnel()
    target.rsp.watch(funnel.fileno())
    target.resume()
    t0 = time.monotonic()
    funnel.wake()
    assert target.wait_stop(5) is None and time.monotonic() - t0 < 1
    assert funnel.run_pending() == 0
    target.interrupt()
    assert target.wait_stop(5) is not None
    funnel.close()


def test_monitor(target: QemuTarget) -> None:
    assert "R00=" in target.monitor("info registers")


def test_qemu_killed_mid_run(target: QemuTarget) -> None:
    pid = target.qemu.pid
    assert pid is not None
    target.resume()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(TargetError, match="QEMU exited"):
        target.wait_stop(5)
    with pytest.raises(TargetError):
        target.read_registers()
    target.close()
    assert pid not in children.live_pids()


def test_floor(target: QemuTarget) -> None:
    us = measure_floor(target.rsp, SVC_BP, 300, lambda r: {"pc": r["lr"], "cpsr": 0x10})
    print(f"floor: {us:.0f} us per stop+g+G+c")
    assert 10 < us < 20000
    assert target.read_registers()["pc"] == SVC_BP


def test_missing_binary(arm_elf: Path) -> None:
    with pytest.raises(TargetError, match="nope not found: apt-get install qemu-system-nope-pkg"):
        QemuProcess(ARM_CONFIG, arm_elf, arch="arm", binary="qemu-system-nope",
                    package="qemu-system-nope-pkg").start()


def test_early_death_reports_log(arm_elf: Path) -> None:
    with pytest.raises(TargetError, match="exited at start") as err:
        QemuProcess(ARM_CONFIG, arm_elf, arch="arm", extra_args=["-no-such-option"]).start()
    assert "no-such-option" in str(err.value)            # QEMU's own words, from its log
    assert not isinstance(err.value, ConfigError)         # the config is not to blame


def test_a_config_qemu_refuses_is_named(arm_elf: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cfg"
    bad.write_text('[machine]\n  type = "no-such-board"\n')
    with pytest.raises(ConfigError) as err:
        QemuProcess(bad, arm_elf, arch="arm").start()
    assert str(err.value) == (f"{bad}: QEMU refuses this config: "
                              "qemu-system-arm: unsupported machine type")


def test_sockets_live_in_a_private_dir_removed_at_the_end(arm_elf: Path) -> None:
    with QemuProcess(ARM_CONFIG, arm_elf, arch="arm", extra_args=ARM_EXTRA_ARGS) as q:
        assert q.private_dir is not None
        private = Path(q.private_dir)
        assert private.stat().st_mode & 0o777 == 0o700
        assert {p.name for p in private.glob("*.sock")} == {"gdb.sock", "qmp.sock"}
        argv = Path(f"/proc/{q.pid}/cmdline").read_bytes().split(b"\0")
        assert not any(b"tcp" in arg for arg in argv)
    assert not private.exists()


OLD_QEMU = """#!/bin/sh
# a QEMU whose gdbstub takes no chardev: refuses -gdb chardev:..., as it would
for arg in "$@"; do
  case "$arg" in chardev:*) echo "qemu-system-old: -gdb $arg: gdbstub: unknown device" >&2
                            exit 1;; esac
done
echo "qemu-system-old: nothing to run" >&2
exit 1
"""


def test_a_qemu_without_chardev_gdbstub_names_the_probe(arm_elf: Path, tmp_path: Path) -> None:
    binary = tmp_path / "qemu-system-old"
    binary.write_text(OLD_QEMU)
    binary.chmod(0o755)
    q = QemuProcess(ARM_CONFIG, arm_elf, arch="arm", binary=str(binary), start_timeout=2.0)
    with pytest.raises(TargetError) as err:
        q.start()
    first = str(err.value).splitlines()[0]
    assert first.startswith("start-up probe 'gdbstub on a unix socket (-chardev socket,"), first
    assert "gdbstub: unknown device" in str(err.value)       # QEMU's own words
    assert not isinstance(err.value, ConfigError) and q.private_dir is None


HOST_SCRIPT = """
import sys, time
from l4gdb.target.qemu import QemuProcess
from l4gdb.target.qemuconfig import ConfigError
q = QemuProcess(sys.argv[1], sys.argv[2], arch="arm").start()
print(q.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_host_signal_kills_qemu(arm_elf: Path, sig: int) -> None:
    """A host ended by SIGTERM/SIGINT takes its QEMU with it."""
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    host = subprocess.Popen([sys.executable, "-c", HOST_SCRIPT, str(ARM_CONFIG), str(arm_elf)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": src})
    try:
        assert host.stdout is not None
        qemu_pid = int(host.stdout.readline())
        os.kill(host.pid, sig)
        host.wait(10)
        deadline = time.monotonic() + 5
        while Path(f"/proc/{qemu_pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not Path(f"/proc/{qemu_pid}").exists(), "QEMU outlived its host"
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()


def _relay(listener: socket.socket, upstream: socket.socket) -> None:
    """Bytes both ways between the first client of ``listener`` and ``upstream``."""
    conn, _ = listener.accept()
    with conn:
        pairs = {conn: upstream, upstream: conn}
        while True:
            ready, _, _ = select.select(list(pairs), [], [])
            for src in ready:
                data = src.recv(65536)
                if not data:
                    return
                pairs[src].sendall(data)


def test_gdbmi_direct_to_qemu(arm_elf: Path, tmp_path: Path) -> None:
    """The reference path: GDB/MI on QEMU's gdbstub (through a relay on the host's own
    connection: QEMU serves no one else), kernel traps as MI stops."""
    from l4gdb.target.gdbmi import GdbSession

    init = ["set architecture arm", "set arm force-mode arm", "set arm fallback-mode arm"]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "relay.sock"))
    listener.listen(1)
    with QemuProcess(ARM_CONFIG, arm_elf, arch="arm", extra_args=ARM_EXTRA_ARGS) as q, \
            GdbSession(init_commands=init) as gdb, listener:
        assert q.gdb_sock is not None
        threading.Thread(target=_relay, args=(listener, q.gdb_sock), daemon=True).start()
        gdb.load_symbols(arm_elf)
        gdb.connect(str(tmp_path / "relay.sock"))
        gdb.cmd(f"-break-insert *{SVC_BP:#x}")
        gdb.continue_async()
        stopped = gdb.wait_stopped(5)
        assert stopped["reason"] == "breakpoint-hit"
        assert int(stopped["frame"]["addr"], 16) == SVC_BP
        assert "r0" in gdb.console("info registers r0")
        gdb.cmd("-break-delete")
        gdb.continue_async()
        gdb.interrupt()
        assert gdb.wait_stopped(5).get("signal-name") == "SIGINT"
