"""Per-thread FPU state and the Linux thread pointer, end to end on QEMU.

What Linux programs need from each arch's stub (docs/internals.md 3.4): the
lazy FPU switch (``Tcb.fpu_area``), and the thread pointer a program sets
(``Tcb.tls``): ARM TPIDRURO, x86 the base of GDT entry 6 behind ``%gs``, MIPS
``rdhwr $29`` emulated in the exception vector.

The guest program ``src/guest/apps/fpu-tls-test`` runs two workers whose
exception handler is :class:`GlueHelper`, a host thread standing in for the
Linux server: a worker's Linux system-call instruction (``svc #0``,
``int $0x80``, ``syscall`` with v0 >= 4000) reaches it as an exception, and the
helper sets the worker's ``tls`` and ``fpu_area`` as the Linux server does for
``set_tls``/``set_thread_area`` and a new process. On ARM it also maps a page
of the program at 0xffff0000, where the Linux server puts the kuser helpers.
"""

from __future__ import annotations

import re
import time

import pytest

from l4gdb.kernel.abi import Trap, TrapKind
from l4gdb.kernel.kip import USER_BASE
from l4gdb.kernel.paging import R, X
from l4gdb.kernel.thread import State, Tcb
from l4gdb.kernel.types import Fpage, ThreadId
from l4gdb.runtime.console import ConsoleWatcher
from l4gdb.runtime.hostloop import Finished
from l4gdb.runtime.system import System, elf_symbols, resolve_program, toolchain_for

pytestmark = pytest.mark.slow

HELPER_NO = USER_BASE + 0x100      # far from sigma0, the root task and its workers
SETUP, PARK = 1, 2                 # main.c's GLUE_SETUP, GLUE_PARK
WRITE = 2                          # access rights: the area is written by the kernel
KUSER_PAGE = 0xFFFF_0000           # ARM: the kuser helper page's address
# Where each arch's Linux calling convention puts the number and the first two
# arguments (MIPS o32: the number is v0 = 4000 + n), and the result.
CALL_REGS = {
    "arm": ("r7", "r0", "r1", 0, "r0"),
    "x86": ("eax", "ebx", "ecx", 0, "eax"),
    "mips": ("r2", "r4", "r5", 4000, "r2"),
}


class GlueHelper:
    """A host thread that hands threads a thread pointer and an FPU save area."""

    def __init__(self, kernel, arch: str, high_page: int | None = None) -> None:
        self.regs = CALL_REGS[arch]
        self.high_page = high_page     # program page to map at KUSER_PAGE (ARM)
        self.setups: list[tuple[int, int, int]] = []     # (thread, tls, fpu_area)
        self.parked: list[int] = []
        space = kernel.new_space(privileged=True, host=True)
        space.physical = True           # maps frames by physical address, as sigma0
        self.tcb = kernel.new_thread(ThreadId(HELPER_NO, 1).raw(kernel.bits), space,
                                     name="fpu-tls-helper")
        self.tcb.host = self
        self.tcb.activated = True
        self.tcb.state = State.WAITING
        self.tcb.priority = 255

    def handle(self, kernel, sender: Tcb, words: list[int]) -> list[int] | None:
        return None                 # nobody sends it messages

    def handle_exception(self, k, t: Tcb, trap: Trap) -> bool:
        nr_reg, a0, a1, base, result = self.regs
        nr = t.regs.get(nr_reg, 0) - base
        if trap.kind is not TrapKind.SYSCALL or nr not in (SETUP, PARK):
            k.halt(t, f"fpu-tls-helper: unexpected {trap.kind.value} {nr}")
            return False
        if nr == PARK:
            self.parked.append(t.global_id)
            return False            # never answered: the worker is done
        area = k.user_address(t, t.regs[a1], WRITE)
        if area is None:
            k.halt(t, f"fpu-tls-helper: FPU area {t.regs[a1]:#x} is not mapped")
            return False
        t.tls = t.regs[a0]
        t.fpu_area = area
        if self.high_page is not None:
            pa = k.mdb.translate(t.space, self.high_page, R)
            if pa is None:
                k.halt(t, f"fpu-tls-helper: page {self.high_page:#x} is not mapped")
                return False
            k.mdb.map_fpage(self.tcb.space, Fpage(pa, 12, R | X), pa, t.space,
                            Fpage(KUSER_PAGE, 12, R | X), grant=False, access=R)
        t.regs[result] = 0
        self.setups.append((t.global_id, t.tls, area))
        return True


@pytest.mark.parametrize("arch", ["arm", "x86", "mips"])
def test_fpu_state_and_tls_survive_context_switches(arch, no_leftovers):
    tc = toolchain_for(arch)
    program = resolve_program(tc, "fpu-tls-test", [])
    console = ConsoleWatcher(out=None)
    gid = ThreadId(HELPER_NO, 1).raw(32)
    marker = elf_symbols(program)["kuser_marker"] if arch == "arm" else None
    with System(arch, program, console, patches={"glue_handler": gid}) as system:
        helper = GlueHelper(system.kernel, arch, high_page=marker)
        deadline = time.monotonic() + 90
        try:
            system.loop.run(lambda: "fpu-tls-test: " in console.output()
                            or time.monotonic() > deadline)
        except Finished:
            pass
        out = console.output()
    assert "fpu-tls-test: done" in out, out
    results = {name: verdict
               for verdict, name in re.findall(r"^(PASS|FAIL) fpu-tls/(\S+)", out, re.M)}
    assert results == {"worker0": "PASS", "worker1": "PASS", "l4-view-intact": "PASS"}, out
    # Both workers got their own area and value, and the TLS the program read was it.
    assert len(helper.setups) == 2 and len({a for _, _, a in helper.setups}) == 2
    assert sorted(helper.parked) == sorted(t for t, _, _ in helper.setups)
    assert re.search(r"worker0 rounds 40 .* high_page 1 tls 7e570000$", out, re.M), out
    assert re.search(r"worker1 rounds 40 .* high_page 1 tls 7e570100$", out, re.M), out
