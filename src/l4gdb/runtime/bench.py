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
  kernel entries during that phase: 0 when a switch costs no extra stop);
- ``tick_overhead_pct`` (architectures with a guest timer, default 10 ms
  tick): the share of wall time the guest does not run while a thread spins
  in user mode and only the timer's ticks enter the kernel -- every tick,
  as in a ticking kernel (the run loop normally lets the stub absorb the
  ticks before the next deadline; the bench turns that off: the worst case).
  It is ``100 * (1 - guest time / wall time)`` over that stretch (``ticks``
  counts the tick traps in it). QEMU's virtual clock keeps running for part
  of every host round trip (docs/internals.md, "GuestClock"), so this
  understates the host's share somewhat. Must stay below 20 %.
"""

from __future__ import annotations

import statistics
import time

from l4gdb.kernel.abi import Syscall, TrapKind
from l4gdb.runtime.console import ConsoleWatcher
from l4gdb.runtime.hostloop import Finished

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


def _tick_overhead(switches: list[tuple[float, int]], ticks: list[float]) -> dict[str, object]:
    """From the two ThreadSwitch calls around the spin: (wall s, guest µs) each."""
    if len(switches) < 2:
        return {}
    (w0, g0), (w1, g1) = switches[-2], switches[-1]
    wall_us = (w1 - w0) * 1e6
    if wall_us <= 0:
        return {}
    n = sum(1 for t in ticks if w0 <= t <= w1)
    pct = max(0.0, 100.0 * (1.0 - (g1 - g0) / wall_us))
    return {"tick_overhead_pct": round(pct, 1), "spin_wall_ms": round(wall_us / 1000, 1),
            "spin_ticks": n}


def run_bench(arch: str, iterations: int = 2000,
              deterministic: bool = False) -> dict[str, object]:
    from l4gdb.runtime.system import System, resolve_program, toolchain_for

    tc = toolchain_for(arch)
    program = resolve_program(tc, "bench", [])
    console = ConsoleWatcher(out=None)
    with System(arch, program, console, patches={"bench_iterations": iterations},
                deterministic=deterministic) as system:
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

        switches: list[tuple[float, int]] = []
        ticks: list[float] = []
        tick_irq = system.loop.timer.tick_irq if system.loop.timer is not None else None

        def timed(trap):
            if trap.kind is TrapKind.SYSCALL:
                stamps.append((time.perf_counter(), trap.number))
            elif trap.kind is TrapKind.PAGEFAULT:
                faults.append((time.perf_counter(), trap.fault_addr))
            elif trap.kind is TrapKind.INTERRUPT and trap.number == tick_irq:
                ticks.append(time.perf_counter())
            resume = handle(trap)
            if trap.kind is TrapKind.SYSCALL and trap.number == Syscall.ThreadSwitch:
                switches.append((time.perf_counter(), system.kernel.now))
            return resume

        faults: list[tuple[float, int]] = []
        interrupts_before = system.loop.stats.interrupts

        system.loop._handle = timed
        system.loop.tick_skip = False
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
    tick = _tick_overhead(switches, ticks) if tick_irq is not None else {}
    linux = _linux_figures(arch, iterations, floor_us, null_us)
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
        **tick,
        **linux,
        "targets": {"null_syscall_floor_ratio": 2.0, "ipc_roundtrip_null_ratio": 2.2,
                    "tick_overhead_pct_max": 20.0, "linux_getppid_null_ratio": 1.25,
                    "linux_pipeline_ms_max": 1000.0},
    }


PIPELINE = ["/bin/sh", "-c", "echo a b c | wc -w"]


def _linux_figures(arch: str, iterations: int, floor_us: float,
                   null_us: float) -> dict[str, object]:
    """Wombat (when the arch has a Linux ABI): the Linux null call (getppid, one
    kernel entry: exception to the Linux server and its reply) and a busybox
    pipeline from exec to exit, boot excluded."""
    import tempfile
    from pathlib import Path

    from l4gdb.runtime.plugins import get_plugins

    if get_plugins().hook.l4gdb_linux_abi(arch=arch) is None:
        return {}
    from l4gdb.runtime.linux_progs import build_linux_program
    from l4gdb.runtime.rootfs import default_rootfs
    from l4gdb.runtime.system import toolchain_for

    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="l4gdb-bench-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        build_linux_program(toolchain_for(arch), "getppid-loop", root / "getppid-loop",
                            {"ITERATIONS": iterations + 2})
        stamps = _linux_run(arch, str(root), ["/getppid-loop"])["getppid"]
    gaps = [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]
    us = _median_us(gaps)
    out.update({"linux_getppid_us": us, "linux_getppid_null_ratio": round(us / null_us, 2),
                "linux_getppid_floor_ratio": round(us / floor_us, 2)})
    try:
        rootfs = default_rootfs(arch)
    except Exception as exc:            # no busybox rootfs: say so, keep the other figures
        out["linux_pipeline_ms"] = None
        out["linux_pipeline_skipped"] = str(exc).splitlines()[0]
        return out
    times = [_linux_run(arch, str(rootfs), PIPELINE)["span"] for _ in range(3)]
    ms = round(statistics.median(times) * 1000, 1)
    out.update({"linux_pipeline_ms": ms,
                "linux_pipeline_floor_ratio": round(ms * 1000 / floor_us, 1)})
    return out


def _linux_run(arch: str, rootfs: str, argv: list[str]) -> dict[str, object]:
    """Run argv under Wombat: entry times of getppid calls, and the span from
    the moment the process exists (its exec done at boot) to its exit (seconds)."""
    from l4gdb.runtime.system import System, resolve_program, toolchain_for
    from l4gdb.runtime.wombat_system import ROOT_TASK
    from l4gdb.wombat.server import WombatConfig

    program = resolve_program(toolchain_for(arch), ROOT_TASK, [])
    console = ConsoleWatcher(out=None)
    config = WombatConfig(rootfs=rootfs, argv=argv)
    getppid: list[float] = []
    first: list[float] = []
    with System(arch, program, console, wombat_config=config) as system:
        server = system.wombat
        serve = server.handle_exception
        nr_reg = server.abi.syscall_nr_reg
        getppid_nr = server.abi.nr("getppid")

        def timed(k, t, trap):
            now = time.perf_counter()
            if not first:
                first.append(now)
            if t.regs.get(nr_reg) == getppid_nr:
                getppid.append(now)
            return serve(k, t, trap)

        server.handle_exception = timed
        deadline = time.monotonic() + 120
        start = time.perf_counter()          # the process exists (exec done), nothing ran
        try:
            system.loop.run(lambda: time.monotonic() > deadline)
        except Finished:
            pass
        end = time.perf_counter()
    if not first:
        raise TimeoutError(f"wombat bench: {argv[0]} made no system call")
    return {"getppid": getppid, "span": end - start}

