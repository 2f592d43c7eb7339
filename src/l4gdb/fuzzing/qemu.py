"""``l4gdb fuzz --arch ARCH``: random system calls on a real system in QEMU.

The guest program ``fuzz`` (src/guest/apps/fuzz) runs worker threads in the
root task's privileged space and in two unprivileged spaces; a worker only
ever calls ThreadSwitch to a magic thread id. At each of those entries the
host (``HostLoop.before_trap``, the CPU stopped) replaces the call by a random
one from :class:`l4gdb.fuzzing.generator.Generator` -- number, argument registers, and
message/buffer registers and TCRs written both into the entry's UTCB snapshot
and into the guest's UTCB frame -- and the kernel handles it as it would the
worker's own: register writes, page tables in guest memory, space switches,
page faults and IPC with the other threads all happen for real.

Every ``check_every`` calls, still with the CPU stopped, the invariants:
no internal kernel error on the console, threads and queues consistent
(:func:`l4gdb.fuzzing.generator.check_threads`), the mapping database a forest rooted in
sigma0 that reaches no kernel memory (:func:`l4gdb.fuzzing.generator.check_mappings`),
every database page in the space's page tables with its frame and rights
(the arch's ``translate``), no page left in the tables of a space that no
longer has it in the database, every table word in guest memory equal to what
the host wrote (read back through the gdbstub), and every UTCB in guest memory
equal to the host's copy. A run is reproducible in its random choices from
(seed, arch); the interleaving with QEMU's timer is not.

When every worker is dead or blocked for good (a random call deleted or
stopped them), the system is booted again and the count goes on.
"""

from __future__ import annotations

import random
import struct
import time
from dataclasses import dataclass
from typing import Any

from l4gdb.fuzzing.generator import (
    INTERNAL,
    Generator,
    Result,
    Violation,
    Where,
    check_mappings,
    check_threads,
    check_utcbs,
)
from l4gdb.kernel.abi import Trap, TrapKind
from l4gdb.kernel.paging import W
from l4gdb.kernel.types import ThreadId
from l4gdb.kernel.utcb import UTCB_WORDS
from l4gdb.runtime.console import ConsoleWatcher

WORKER = "worker"                     # the guest function whose system calls are fuzzed
STALL_S = 1.0                         # no call for this long: the workers are gone, reboot
MAX_BOOTS = 50


class _Stop(Exception):
    """Raised from inside the run loop to end it (count reached or a violation)."""


class _Watch:
    """The console's sink: remembers a line of an internal kernel error."""

    def __init__(self) -> None:
        self.internal: str | None = None

    def write(self, s: str) -> None:
        if self.internal is None and INTERNAL in s:
            self.internal = next(x for x in s.splitlines() if INTERNAL in x).strip()

    def flush(self) -> None:
        pass


@dataclass
class _World:
    """What :class:`Generator` needs of a machine, for a real system."""

    kernel: Any
    arch: Any
    ws: int

    def tid(self, no: int, version: int = 1) -> int:
        return ThreadId(no, version).raw(self.arch.word_bits)

    @property
    def sigma0(self) -> int:
        return self.kernel.sigma0.global_id


def where_of(layout: dict[str, int], paging: Any, program_entry: int) -> Where:
    """The generator's and the checks' addresses for an arch's memory layout."""
    ram = layout["ram_low"]
    areas = sorted(paging.kernel_areas, key=lambda a: a[0]) if paging is not None else []
    kernel_area = areas[-1] if areas else (layout["kernel_low"], layout["kernel_high"])
    return Where(ram=ram, free=layout["free_low"], spare=0x2000_0000 + 0x40_0000,
                 kip=layout["kip"], utcb_area=layout["utcb_area"], kernel_area=kernel_area,
                 root_ip=program_entry, root_sp=program_entry + 0x10_0000,
                 pool=(layout["pt_pool_low"], layout["pt_pool_high"]))


class QemuFuzzer:
    def __init__(self, arch: str, seed: int, count: int, check_every: int = 50,
                 progress: Any = None) -> None:
        self.arch = arch
        self.rng = random.Random(seed)
        self.count = count
        self.check_every = max(1, check_every)
        self.progress = progress
        self.result = Result(seed=seed, arch=arch, boots=0)
        self.since_check = 0
        self.last_call = time.monotonic()
        self.ever: dict[int, set[int]] = {}       # space ident -> pages it ever had

    # --- the run ---------------------------------------------------------------------
    def run(self) -> Result:
        from l4gdb.runtime.hostloop import Deadlock, Finished
        from l4gdb.runtime.system import System, resolve_program, toolchain_for

        program = resolve_program(toolchain_for(self.arch), "fuzz", [])
        while self.result.ok and self.result.calls < self.count \
                and self.result.boots < MAX_BOOTS:
            self.result.boots += 1
            self.watch = _Watch()
            with System(self.arch, program, ConsoleWatcher(out=self.watch)) as system:
                self._attach(system)
                try:
                    system.loop.run(self._stalled)
                except (_Stop, Finished, Deadlock):
                    pass
                system.loop.before_trap = None
        return self.result

    def _attach(self, system: Any) -> None:
        from elftools.elf.elffile import ELFFile

        from l4gdb.runtime.plugins import get_plugins

        k = system.kernel
        layout = get_plugins().hook.l4gdb_memory_layout(arch=self.arch)
        with open(system.program, "rb") as f:
            elf = ELFFile(f)
            entry = elf.header["e_entry"]
            symtab = elf.get_section_by_name(".symtab")
            syms = symtab.get_symbol_by_name(WORKER) if symtab is not None else None
        if not syms:
            raise Violation(f"the fuzz program has no {WORKER!r} function")
        lo = syms[0]["st_value"] & ~1              # (a Thumb bit)
        self.worker = (lo, lo + max(4, syms[0]["st_size"]))
        self.kernel = k
        self.paging = k.paging
        self.world = _World(k, k.arch, k.arch.word_size)
        self.gen = Generator(self.rng, self.world, where_of(layout, k.paging, entry),
                             finite_timeouts=True)
        self.where = self.gen.where
        self.ip = k.arch.ip_reg
        self.ever = {}
        self.last_entry: dict[int, TrapKind] = {}
        self.last_call = time.monotonic()
        system.loop.before_trap = self._before_trap

    def _stalled(self) -> bool:
        return time.monotonic() - self.last_call > STALL_S

    # --- each kernel entry ---------------------------------------------------------------
    def _before_trap(self, trap: Trap) -> Trap:
        if self.since_check >= self.check_every:
            self.since_check = 0
            self._check()
        k = self.kernel
        cur = k.current
        if cur is not None:
            self.last_entry[cur.global_id] = trap.kind
        # A worker's call, whatever its registers say by now (the results of the
        # last random call are in them): the worker loop is all it runs.
        if trap.kind is not TrapKind.SYSCALL or cur is None or not trap.regs \
                or not self.worker[0] <= trap.regs.get(self.ip, 0) < self.worker[1]:
            return trap
        if self.result.calls >= self.count:
            raise _Stop()
        call = self.gen.call(self.rng.random())
        regs = dict(trap.regs)
        for reg, value in zip(k.arch.syscall_arg_regs, call.args, strict=False):
            regs[reg] = value & k.arch.word_mask
        utcb = self._utcb_with(trap.utcb, call.utcb)
        ka = k.utcb_kaddr(cur)
        if ka and utcb is not None:
            k.write_memory(ka, utcb)        # guest memory agrees with the snapshot
        self.result.calls += 1
        self.since_check += 1
        self.last_call = time.monotonic()
        counts = self.result.counts
        counts[call.name] = counts.get(call.name, 0) + 1
        if self.progress is not None and self.result.calls % 1000 == 0:
            self.progress(self.result.calls, self.result)
        return Trap(TrapKind.SYSCALL, call.number, regs, trap.utcb_addr, utcb,
                    detail=trap.detail)

    def _utcb_with(self, snapshot: bytes | None, words: dict[int, int]) -> bytes | None:
        if snapshot is None:
            return None
        ws = self.world.ws
        out = bytearray(snapshot)
        fmt = "<I" if ws == 4 else "<Q"
        for index, value in words.items():
            if 0 <= index < min(UTCB_WORDS, len(out) // ws):
                struct.pack_into(fmt, out, index * ws, value & self.kernel.arch.word_mask)
        return bytes(out)

    # --- the invariants ------------------------------------------------------------------
    def _check(self) -> None:
        try:
            if self.watch.internal is not None:
                raise Violation(self.watch.internal)
            k = self.kernel
            check_threads(k)
            check_mappings(k, self.where)
            self._check_tables()
            check_utcbs(k, k.read_memory, self._settled)
        except Violation as exc:
            self.result.violation, self.result.at_call = str(exc), self.result.calls
            raise _Stop() from None
        except Exception as exc:          # the kernel model itself broke
            self.result.violation = f"host exception: {exc!r}"
            self.result.at_call = self.result.calls
            raise _Stop() from None

    def _settled(self, t: Any) -> bool:
        """Blocked since a system call (whose entry copied its UTCB): user code has
        not touched that UTCB since."""
        return t is not self.kernel.current and not t.runnable \
            and self.last_entry.get(t.global_id) is TrapKind.SYSCALL

    def _check_tables(self) -> None:
        k, pt = self.kernel, self.paging
        if pt is None:
            return
        for s in k.spaces:
            if s.physical or s.host or not s.root:
                continue
            ever = self.ever.setdefault(s.ident, set())
            for va, n in s.pages.items():
                ever.add(va)
                hw = n.hw_rights()
                if not hw:
                    continue
                got = pt.translate(s.root, va)
                if got is None or got[0] & ~0xFFF != n.paddr or bool(got[1] & W) != bool(hw & W):
                    raise Violation(f"space {s.ident} page {va:#x}: the tables say {got}, "
                                    f"the database {n.paddr:#x} rights {hw}")
            for va in ever - set(s.pages):
                if s.reserved(va):
                    continue
                if pt.translate(s.root, va) is not None:
                    raise Violation(f"space {s.ident} page {va:#x}: still in the page tables "
                                    "after it left the database")
        bad = pt.shadow_mismatches(k.read_memory) if hasattr(pt, "shadow_mismatches") else []
        if bad:
            raise Violation("page-table memory differs from what the host wrote: "
                            + "; ".join(bad))


def run(arch: str, count: int, seed: int, check_every: int = 50, progress: Any = None) -> Result:
    """``count`` random system calls on QEMU; stops at the first violation."""
    return QemuFuzzer(arch, seed, count, check_every, progress).run()
