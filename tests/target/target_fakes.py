"""Test doubles and guest sources for the target-layer tests (shared by conftest and tests)."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from l4gdb.target.packet import PacketReader, frame
from l4gdb.target.stub import StubThread

REPO = Path(__file__).resolve().parents[2]
ARM_CONFIG = REPO / "qemu-configs" / "arm-virt.cfg"
ARM_EXTRA_ARGS = ("-cpu", "cortex-a15")

# A bare ARMv7 program (as ../shared/experiments/arm.S): drops to user mode and
# loops on `svc #0` with r0 = r1 = iteration count; SVC_BP is the kernel entry.
ARM_PROGRAM = r"""
.syntax unified
.arm
.global _start
.section .text
_start:
    ldr r0, =vectors
    mcr p15, 0, r0, c12, c0, 0     @ VBAR
    ldr sp, =0x40100000
    mov r0, #0x10
    msr spsr_cxsf, r0
    ldr lr, =user
    movs pc, lr
.balign 32
vectors:
    b .
    b .
    b svc_h
    b .
    b .
    b .
    b .
    b .
svc_h:
    nop                            @ kernel entry breakpoint
    movs pc, lr
user:
    mov r1, #0
1:  add r1, r1, #1
    mov r0, r1
    svc #0
    b 1b
.ltorg
"""
ARM_LD = "ENTRY(_start)\nSECTIONS { . = 0x40000000; .text : { *(.text) } }\n"
SVC_BP = 0x40000040

# Loaded with -device loader: one marker word at 0x40200000.
DATA_PROGRAM = ".section .data\n.global marker\nmarker: .word 0xfeedc0de\n"
DATA_LD = "SECTIONS { . = 0x40200000; .data : { *(.data) } }\n"
DATA_ADDR = 0x40200000


# ---- a fake provider for the host's stub ---------------------------------

CORE_XML = b"""<?xml version="1.0"?>
<!DOCTYPE feature SYSTEM "gdb-target.dtd">
<feature name="org.gnu.gdb.arm.core">
""" + b"".join(b'  <reg name="r%d" bitsize="32"/>\n' % i for i in range(13)) + b"""
  <reg name="sp" bitsize="32" type="data_ptr"/>
  <reg name="lr" bitsize="32"/>
  <reg name="pc" bitsize="32" type="code_ptr"/>
  <reg name="cpsr" bitsize="32" regnum="25"/>
</feature>
"""
VFP_XML = b"""<?xml version="1.0"?>
<feature name="org.l4gdb.test.extra">
  <reg name="d0" bitsize="64" type="float"/>
  <reg name="fpscr" bitsize="32" type="int" group="float"/>
</feature>
"""
TARGET_XML = (b'<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target>'
              b'<architecture>arm</architecture><xi:include href="arm-core.xml"/>'
              b'<xi:include href="arm-extra.xml"/></target>')
FEATURES = {"target.xml": TARGET_XML, "arm-core.xml": CORE_XML, "arm-extra.xml": VFP_XML}

MEM_BASE = 0x40000000


class FakeProvider:
    """Two L4 threads with saved registers, 64 KiB of memory, a call log."""

    def __init__(self) -> None:
        self.thread_list = [StubThread(0x18001, "sigma0", "ready"),
                            StubThread(0x18801, "roottask", "running")]
        self.current = 0x18801
        self.regs = {t.tid: {**{f"r{i}": i + (t.tid << 4) for i in range(13)},
                             "sp": 0x40100000, "lr": 0x40000058, "pc": 0x40000050 + 4 * n,
                             "cpsr": 0x10}
                     for n, t in enumerate(self.thread_list)}
        self.mem = bytearray(0x10000)
        self.breakpoints: set[tuple[int, int]] = set()
        self.calls: list[tuple[object, ...]] = []
        self.stop_requests = 0

    def threads(self) -> Sequence[StubThread]:
        return self.thread_list

    def current_thread(self) -> int:
        return self.current

    def registers(self, tid: int) -> Mapping[str, int]:
        return self.regs[tid]

    def write_registers(self, tid: int, regs: Mapping[str, int]) -> None:
        self.regs[tid].update(regs)

    def _span(self, addr: int, size: int) -> slice:
        off = addr - MEM_BASE
        if off < 0 or off + size > len(self.mem):
            raise ValueError(f"no memory at {addr:#x}")
        return slice(off, off + size)

    def read_memory(self, addr: int, size: int) -> bytes:
        return bytes(self.mem[self._span(addr, size)])

    def write_memory(self, addr: int, data: bytes) -> None:
        self.mem[self._span(addr, len(data))] = data

    def insert_breakpoint(self, addr: int, kind: int) -> None:
        self.breakpoints.add((addr, kind))

    def remove_breakpoint(self, addr: int, kind: int) -> None:
        self.breakpoints.discard((addr, kind))

    def resume(self, step: bool, tid: int | None) -> None:
        self.calls.append(("resume", step, tid))

    def request_stop(self) -> None:
        self.stop_requests += 1

    def monitor(self, cmd: str) -> str:
        return f"you said: {cmd}\n"

    def detach(self) -> None:
        self.calls.append(("detach",))

    def kill(self) -> None:
        self.calls.append(("kill",))


class RawClient:
    """Speaks ack mode until told otherwise; returns reply payloads."""

    def __init__(self, address: str) -> None:
        """``address``: a unix socket path, or HOST:PORT."""
        if address.startswith("/"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(5)
            self.sock.connect(address)
        else:
            host, _, port = address.rpartition(":")
            self.sock = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        self.reader = PacketReader()
        self.ack = True
        self.acks_seen = 0

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> bytes:
        while True:
            ev = self.reader.next_event()
            if ev is None:
                data = self.sock.recv(65536)
                assert data, "stub closed the connection"
                self.reader.feed(data)
                continue
            if ev.kind == "ack":
                self.acks_seen += 1
            elif ev.kind == "packet":
                assert ev.checksum_ok
                if self.ack:
                    try:
                        self.sock.sendall(b"+")
                    except BrokenPipeError:     # the stub ended the session (D, k)
                        pass
                return ev.payload

    def cmd(self, payload: bytes) -> bytes:
        self.sock.sendall(frame(payload))
        return self.recv()

    def close(self) -> None:
        self.sock.close()
