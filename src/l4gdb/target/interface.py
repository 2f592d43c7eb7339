"""The ``Target`` the host run loop drives, and its QEMU implementation."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from .qemu import QemuProcess
from .rsp import RegisterInfo, RspClient, StopReply


@runtime_checkable
class Target(Protocol):
    """What the host needs from a machine: the run loop drives exactly this, and
    any machine offering it (QEMU here, a fake CPU in the tests) can be run. All
    calls come from one thread (the run loop)."""

    registers: list[RegisterInfo]

    def read_registers(self) -> dict[str, int]: ...
    def write_registers(self, regs: Mapping[str, int]) -> None: ...
    def read_memory(self, addr: int, size: int, physical: bool = False) -> bytes: ...
    def write_memory(self, addr: int, data: bytes, physical: bool = False) -> None: ...
    def insert_breakpoint(self, addr: int, kind: int = 4) -> None: ...
    def remove_breakpoint(self, addr: int, kind: int = 4) -> None: ...
    def resume(self, addr: int | None = None) -> None:
        """Continue the CPU (at ``addr`` when given: the stub's return path)."""
    def step(self, timeout: float | None = None) -> StopReply: ...
    def wait_stop(self, timeout: float | None = None) -> StopReply | None: ...
    def interrupt(self) -> None: ...
    def close(self) -> None: ...


class QemuTarget:
    """A ``Target`` on a fresh QEMU: ``QemuProcess`` for the lifecycle, ``RspClient``
    (``self.rsp``) for everything on the hot path. The machine starts halted at
    its reset/entry point; call ``resume()`` to run it. ``target_xml`` describes
    the registers when QEMU's stub serves no description (MIPS in QEMU 7.2).
    """

    def __init__(
        self,
        config: str | os.PathLike[str],
        kernel: str | os.PathLike[str],
        *,
        arch: str,
        loaders: Sequence[str | os.PathLike[str]] = (),
        extra_args: Sequence[str] = (),
        binary: str | None = None,
        package: str | None = None,
        byteorder: str = "little",
        timeout: float = 10.0,
        log_path: str | os.PathLike[str] | None = None,
        target_xml: bytes | None = None,
        uart: bool = False,
    ) -> None:
        self.qemu = QemuProcess(config, kernel, arch=arch, loaders=loaders, binary=binary,
                                package=package, uart=uart,
                                extra_args=extra_args, log_path=log_path).start()
        try:
            # a dup: the connection outlives rsp.close() until QEMU is gone (qemu.close())
            assert self.qemu.gdb_sock is not None
            self.rsp = RspClient(self.qemu.gdb_sock.dup(), timeout=timeout, byteorder=byteorder,
                                 describe_failure=self.qemu.describe_failure,
                                 fallback_target_xml=target_xml)
        except BaseException:
            self.qemu.close()
            raise
        self.registers = self.rsp.registers
        self.target_xml = self.rsp.target_xml
        # the hot-path calls go straight to the client: no wrapper frame per trap
        self.read_registers = self.rsp.read_registers
        self.write_registers = self.rsp.write_registers
        self.read_memory = self.rsp.read_memory
        self.write_memory = self.rsp.write_memory
        self.insert_breakpoint = self.rsp.insert_breakpoint
        self.remove_breakpoint = self.rsp.remove_breakpoint
        self.resume = self.rsp.resume
        self.step = self.rsp.step
        self.wait_stop = self.rsp.wait_stop
        self.interrupt = self.rsp.interrupt
        self.monitor = self.rsp.monitor

    def close(self) -> None:
        # QEMU first: it quits while the host still holds the gdbstub connection
        self.qemu.close()
        self.rsp.close()

    def __enter__(self) -> QemuTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
