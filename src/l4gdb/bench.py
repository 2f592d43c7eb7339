"""``l4gdb bench``: the trap path measured against the floor, in one run.

One QEMU runs the built-in ``bench`` program under the same configuration
``l4gdb run`` uses. Figures are medians in microseconds:

- ``floor_us``: stop + ``g`` + ``G`` + ``c`` on the raw remote protocol, no
  kernel work, the guest re-entering the kernel at once (the wire's limit);
- ``null_syscall_us``: one SystemClock call served end to end by the kernel;
- ``ipc_roundtrip_us``: L4_Call + L4_ReplyWait between two threads;
- ``pagefault_us`` (kernels with page tables): a thread in another space
  writes a fresh page, its pager (a user thread of the root task) answers the
  page-fault IPC with a map item, the thread resumes and writes the next one:
  fault -> pager -> map -> resume, two kernel entries, the space switches
  riding on them (``space_switch_extra_stops`` counts stops that were not
  kernel entries during that phase: 0 when a switch costs no extra stop).
"""

from __future__ import annotations

import statistics
import time

from l4gdb.console import Console
from l4gdb.host import Finished
from l4gdb.kernel.abi import Syscall, TrapKind

NULL_SYSCALL = Syscall.SystemClock
PF_REGION = (0x1000_0000, 0x2000_0000)      # bench.c's REGION: one fault per page


def _median_us(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e6, 1) if samples else float("nan")


def _wait_for(system, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    system.loop.run(lambda: text in system.console.output() or time.monotonic() > deadline)
    if text not in system.console.output():
        raise TimeoutError(f"bench program did not print {text!r}")


def _floor(rsp, n: int, pc_reg: str, return_addr: int) -> list[float]:
    """Bare stop + read registers (``g``) + write registers (``G``, pc moved past the
    breakpoint onto the return path) + continue: the guest re-runs its last return
    to user mode and traps again at once."""
    samples = []
    rsp.wait_stop(timeout=10)
    t0 = time.perf_counter()
    for _ in range(n):
        regs = rsp.read_registers()
        regs[pc_reg] = return_addr
        rsp.write_registers(regs)
        rsp.resume()
        rsp.wait_stop(timeout=10)
        t1 = time.perf_counter()
        samples.append(t1 - t0)
        t0 = t1
    return samples


def _served(system, n: int) -> list[float]:
    """Serve ``n`` traps with the real kernel; the time from stop to stop."""
    loop = system.loop
    samples = []
    t0 = time.perf_counter()
    for _ in range(n):
        loop._serve_trap()
        loop.rsp.wait_stop(timeout=10)
        t1 = time.perf_counter()
        samples.append(t1 - t0)
        t0 = t1
    loop._serve_trap()          # leave the CPU running, as the run loop expects
    return samples


def run_bench(arch: str, iterations: int = 2000) -> dict[str, object]:
    from l4gdb.system import System, resolve_program, toolchain_for

    tc = toolchain_for(arch)
    program = resolve_program(tc, "bench", [])
    console = Console(out=None)
    with System(arch, program, console, patches={"bench_iterations": iterations}) as system:
        rsp = system.target.rsp
        _wait_for(system, "bench: null syscall")
        # The CPU now runs towards its first SystemClock trap: serve it so that the
        # exit block returns into the loop, then measure the floor on that loop.
        rsp.wait_stop(timeout=10)
        system.loop._serve_trap()
        floor = _floor(rsp, iterations, system.loop.arch.ip_reg, system.loop.glue.return_addr)
        # The floor loop left the CPU stopped at a SystemClock trap.
        null = _served(system, iterations)

        stamps: list[tuple[float, int]] = []
        handle = system.loop._handle

        def timed(trap):
            if trap.kind is TrapKind.SYSCALL:
                stamps.append((time.perf_counter(), trap.number))
            elif trap.kind is TrapKind.PAGEFAULT:
                faults.append((time.perf_counter(), trap.fault_addr))
            return handle(trap)

        faults: list[tuple[float, int]] = []
        interrupts_before = system.loop.stats.interrupts

        system.loop._handle = timed
        try:
            _wait_for(system, "bench: done", timeout=120)
        except Finished:
            pass
        ipc_times = [t for t, num in stamps if num == Syscall.Ipc]
        # Client Call and server ReplyWait alternate: a round trip spans two traps.
        rtt = [b - a for a, b in zip(ipc_times[2::2], ipc_times[4::2], strict=False)]
        rtt = rtt[: iterations]
        # Page faults in REGION (one per iteration): consecutive ones are one round trip.
        region = [t for t, addr in faults if PF_REGION[0] <= addr < PF_REGION[1]]
        pf = [b - a for a, b in zip(region[4:], region[5:], strict=False)][: iterations]
        extra_stops = system.loop.stats.interrupts - interrupts_before

    floor_us = _median_us(floor)
    null_us = _median_us(null)
    ipc_us = _median_us(rtt)
    pf_us = _median_us(pf) if pf else None
    pf_figures: dict[str, object] = {}
    if pf_us is not None:
        pf_figures = {
            "pagefault_us": pf_us,
            "pagefault_floor_ratio": round(pf_us / floor_us, 2),
            "pagefault_ipc_roundtrip_ratio": round(pf_us / ipc_us, 2),
            "space_switch_extra_stops": extra_stops,
        }
    return {
        "arch": arch,
        "iterations": iterations,
        "floor_us": floor_us,
        "null_syscall_name": NULL_SYSCALL.name,
        "null_syscall_us": null_us,
        "ipc_roundtrip_us": ipc_us,
        "null_syscall_floor_ratio": round(null_us / floor_us, 2),
        "ipc_roundtrip_null_ratio": round(ipc_us / null_us, 2),
        "ipc_roundtrip_floor_ratio": round(ipc_us / floor_us, 2),
        **pf_figures,
        "targets": {"null_syscall_floor_ratio": 2.0, "ipc_roundtrip_null_ratio": 2.2},
    }
