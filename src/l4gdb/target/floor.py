"""The benchmark floor: what one kernel trap costs on the bare remote protocol.

stop + ``g`` + ``G`` + ``c`` on QEMU's gdbstub, no GDB, no kernel model. Every
performance figure of l4gdb is reported as a ratio to this, measured in the
same run (the machine is noisy: see DESIGN.md).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from .errors import TargetError
from .rsp import RspClient

RegsEdit = Callable[[dict[str, int]], dict[str, int]]


def measure_floor(
    rsp: RspClient,
    bp_addr: int,
    iterations: int = 1000,
    edit: RegsEdit | None = None,
    *,
    timeout: float = 5.0,
) -> float:
    """Median µs of one stop + g + G + c round, with a breakpoint at ``bp_addr``.

    ``edit`` returns the registers to write back (the arch's business: on ARM,
    ``{"pc": regs["lr"], "cpsr": 0x10}`` returns from the trap to user mode);
    without it the registers are written back unchanged. The target must be
    stopped and must reach ``bp_addr`` again after every resume. The breakpoint
    is removed afterwards; the target is left stopped at it.
    """
    if iterations < 1:
        raise ValueError("iterations must be >= 1")
    edit = edit or (lambda regs: regs)
    rsp.insert_breakpoint(bp_addr)
    try:
        _run_to(rsp, timeout)           # reach the breakpoint once before timing
        samples = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            rsp.write_registers(edit(rsp.read_registers()))
            rsp.resume()
            if rsp.wait_stop(timeout) is None:
                raise TargetError(f"breakpoint at {bp_addr:#x} not reached again within {timeout}s")
            samples.append(time.perf_counter() - t0)
    finally:
        rsp.remove_breakpoint(bp_addr)
    return statistics.median(samples) * 1e6


def _run_to(rsp: RspClient, timeout: float) -> None:
    rsp.resume()
    reply = rsp.wait_stop(timeout)
    if reply is None or reply.exited:
        raise TargetError(f"target did not stop at the floor breakpoint: {reply}")
