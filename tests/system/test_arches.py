"""The same end-to-end tests on every installed architecture (``l4gdb_arches``: each one
the plugins provide, or those ``--l4gdb-arch`` selects; skipped where its QEMU is
missing); what only one arch has is in its own file (test_x86.py, test_mips.py,
test_riscv.py; ARM-only runs are in test_run.py)."""

from __future__ import annotations

import json
import re
import resource
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from l4gdb.runtime.plugins import get_plugins

pytestmark = [pytest.mark.slow, pytest.mark.l4gdb_arches]

HERE = Path(__file__).parent
CHECK = re.compile(r"^(PASS|FAIL|SKIP) [a-z0-9-]+/[a-z0-9-]+(: .*)?$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


@pytest.fixture
def arch(l4gdb_arch):
    qemu = get_plugins().hook.l4gdb_qemu_setup(arch=l4gdb_arch)
    if shutil.which(qemu.binary) is None:
        package = getattr(qemu, "package", None) or "its QEMU package"
        pytest.skip(f"needs {qemu.binary} (apt-get install {package})")
    return l4gdb_arch


def test_hello_with_gdb_attached(arch, l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", arch, "hello", "--expect", "ping 1", "--expect", "pong 1",
              "--expect", "hello: done", "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert r.out.index("ping 1") < r.out.index("pong 1") < r.out.index("hello: done")


@dataclass(frozen=True)
class L4test:
    """What an arch's l4test run must show besides every check passing."""

    groups: frozenset[str] = frozenset()     # groups (besides the basic ones) with a PASS
    passes: tuple[str, ...] = ()             # checks that must PASS
    skips: frozenset[str] | None = None      # the only checks that may SKIP (None: any)
    absent: tuple[str, ...] = ()             # text the output must not have
    died: str | None = None                  # how the no-pager check's thread dies (regex)
    gdb: bool = False                        # with GDB attached (one arch keeps that path)


SPACES = frozenset({"mem", "pagefault", "sigma0", "string"})
L4TEST = {
    "arm": L4test(gdb=True),
    # the no-pager check's thread dies of its ud2 (#UD, vector 6)
    "x86": L4test(SPACES, ("pagefault/isolation-no-data", "mem/first-fault-is-the-entry",
                           "mem/status-written", "mem/unmap-status", "string/inter-space"),
                  died=r"exception 6\b"),
    # what may be skipped on MIPS: a second processor; __builtin_trap() is a `break`
    # (ExcCode 9)
    "mips": L4test(SPACES, ("mem/unmap-refaults", "mem/status-reset",
                            "mem/first-fault-is-the-entry", "pagefault/isolation-no-data",
                            "string/inter-space", "ipc/inter-space-transfer",
                            "sigma0/one-owner"),
                   skips=frozenset({"ipc/xcpu"}),
                   died=r"unhandled exception 9\b"),
    # Sv32 / Sv39 tables: nothing skipped for want of them; `unimp` is illegal instruction
    "riscv": L4test(SPACES, ("kip/",), absent=("needs address spaces", "runs flat"),
                    died=r"unhandled exception 2\b"),
}
L4TEST["riscv64"] = L4TEST["riscv"]
# Every arch has a guest timer and a device for user-level drivers (internals.md §3.3).
INTERRUPT_CHECKS = ("interrupt/delivered", "interrupt/preempts-spinner-within-a-tick",
                    "interrupt/reenabled-by-reply", "schedule/round-robin-spinners",
                    "schedule/preemption-message")


def test_l4test_passes_every_check(arch, l4gdb, no_leftovers):
    want = L4TEST.get(arch, L4test())
    r = l4gdb("run", "--arch", arch, *(() if want.gdb else ("--no-gdb",)), "l4test",
              "--timeout", "240")
    assert r.code == 0, r.out + r.err
    lines = [ln for ln in r.out.splitlines() if ln[:5] in ("PASS ", "FAIL ", "SKIP ")]
    assert lines, r.out
    for ln in lines:
        assert CHECK.match(ln), ln
    m = SUMMARY.search(r.out)
    assert m, r.out
    passed, failed, skipped = map(int, m.groups())
    assert failed == 0 and passed > 0
    assert passed == sum(ln.startswith("PASS") for ln in lines)
    groups = {ln.split()[1].split("/")[0] for ln in lines if ln.startswith("PASS")}
    assert {"kip", "ipc", "exreg", "tcontrol", "schedule"} | want.groups <= groups
    if want.skips is not None:
        skips = {ln.split()[1].rstrip(":") for ln in lines if ln.startswith("SKIP")}
        assert skips <= want.skips, skips
    for check in (*want.passes, *INTERRUPT_CHECKS):
        assert f"PASS {check}" in r.out, check
    for text in want.absent:
        assert text not in r.out, text
    if want.died:
        assert re.search(want.died, r.out + r.err), r.out + r.err


# Random registers into every system call number (and the preemption gate's number,
# called directly, where it is one): the host keeps serving. The trap is per arch.
GARBAGE_HEAD = r'''
#include <l4/l4.h>
#include <stdio.h>
static unsigned long seed = 12345;
static unsigned long rnd(void) { seed = seed * 1103515245 + 12345; return seed ^ (seed >> 16); }
'''
GARBAGE_LOOP = r'''
int main(void) {
    for (int i = 0; i < 300; i++) {
        REGS
        switch (i % 8) {
        case 0: SYSCALL(2); break;
        case 1: SYSCALL(3); break;
        case 2: SYSCALL(6); break;
        case 3: SYSCALL(10); break;
        case 4: SYSCALL(99); break;
        case 5: SYSCALL(12); break;
        case 6: SYSCALL(GATE); break;
        case 7: RANDOM; break;
        }
    }
    printf("survived\n");
    return 0;
}
'''
GARBAGE = {
    # svc and int take the number as an immediate: no random numbers there
    "arm": (r'''
#define SYSCALL(n) __asm__ volatile("svc #" #n : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), \
                                    "+r"(r4) :: "r5", "r6", "memory")
''', r'''
        register unsigned long r0 __asm__("r0") = rnd();
        register unsigned long r1 __asm__("r1") = rnd();
        register unsigned long r2 __asm__("r2") = rnd() & ~0xffUL;
        register unsigned long r3 __asm__("r3") = rnd();
        register unsigned long r4 __asm__("r4") = rnd();''', "0xffffff", "SYSCALL(99)"),
    "x86": (r'''
/* ebp is a result register the compiler may keep a local in: saved around the call */
#define SYSCALL(n) __asm__ volatile("pushl %%ebp\n\tint $0x80 + " #n "\n\tpopl %%ebp" \
                                    : "+a"(a), "+c"(c), "+d"(d), "+S"(s), "+D"(di) \
                                    : : "ebx", "memory")
''', r'''
        unsigned long a = rnd(), c = rnd(), d = rnd() & ~0xffUL, s = rnd(), di = rnd();''',
            "127", "SYSCALL(99)"),
    "mips": (r'''
#define SYSCALL(n) do {                                                              \
        register unsigned long v0 __asm__("$2") = (n);                               \
        __asm__ volatile("syscall" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(t0)  \
                         : "r"(v0) : "$9", "$10", "memory");                         \
    } while (0)
''', r'''
        register unsigned long a0 __asm__("$4") = rnd();
        register unsigned long a1 __asm__("$5") = rnd();
        register unsigned long a2 __asm__("$6") = rnd() & ~0xffUL;
        register unsigned long a3 __asm__("$7") = rnd();
        register unsigned long t0 __asm__("$8") = rnd();''', "0xffffff", "SYSCALL(rnd())"),
    "riscv": (r'''
/* L4 calls carry the tag in a7 (l4/arch/syscalls.h); untagged numbers are foreign */
#define SYSCALL(n) do {                                                              \
        register unsigned long a7 __asm__("a7") = (n) | L4_RISCV_TAG;                \
        __asm__ volatile("ecall" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4)    \
                         : "r"(a7) : "a5", "a6", "memory");                          \
    } while (0)
''', r'''
        register unsigned long a0 __asm__("a0") = rnd();
        register unsigned long a1 __asm__("a1") = rnd();
        register unsigned long a2 __asm__("a2") = rnd() & ~0xffUL;
        register unsigned long a3 __asm__("a3") = rnd();
        register unsigned long a4 __asm__("a4") = rnd();''', "0xfff", "SYSCALL(rnd())"),
}
GARBAGE["riscv64"] = GARBAGE["riscv"]


def garbage_program(arch: str) -> str:
    trap, regs, gate, random = GARBAGE[arch]
    return GARBAGE_HEAD + trap + (GARBAGE_LOOP.replace("REGS", regs.strip())
                                  .replace("GATE", gate).replace("RANDOM", random))


def test_garbage_syscalls_never_crash_the_host(arch, l4gdb, no_leftovers, c_source):
    if arch not in GARBAGE:
        pytest.skip(f"no system call trap written for {arch}")
    r = l4gdb("run", "--arch", arch, "--no-gdb", c_source("garbage.c", garbage_program(arch)),
              "--timeout", "120", "--expect", "survived")
    assert r.code == 0, r.out + r.err
    assert "Traceback" not in r.err
    assert re.search(r"system call 99\b", r.out + r.err)   # reported, not fatal


def test_preemption_of_a_thread_spinning_in_user_mode(arch, l4gdb, no_leftovers):
    """A thread spinning in user mode is taken into the kernel (the guest's timer or
    the host through l4k_preempt_gate): the root task's timeouts still fire."""
    r = l4gdb("run", "--arch", arch, "--no-gdb", str(HERE / "spin_and_tick.c"),
              "--expect", "tick 2 ", "--timeout", "60")
    assert r.code == 0, r.out + r.err
    ticks = [ln for ln in r.out.splitlines() if ln.startswith("tick ")]
    assert ticks[:3] == [f"tick {i} spun yes" for i in range(3)], r.out


def test_idle_waits_in_the_guest_and_the_clock_moves(arch, l4gdb, no_leftovers):
    """A 3 s sleep: SystemClock moves by 3 s (the guest timer's counter) while the
    CPU waits in the stub's idle loop, and host and QEMU together use far less than
    a core meanwhile (a host that polled or a guest that spun would use all of it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = l4gdb("run", "--arch", arch, "--no-gdb", str(HERE / "sleep_clock.c"), "--timeout", "60")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.code == 0, r.out + r.err
    m = re.search(r"^slept (\d+) ms$", r.out, re.M)
    # L4_TimePeriod(3000000) truncates to 732 << 12 us = 2998.272 ms, as Pistachio's does.
    assert m and 2998 <= int(m.group(1)) < 3200, r.out
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 3.0, f"{cpu:.2f} s of CPU for a 3 s sleep (boot included)"


def test_user_jump_onto_the_kernel_breakpoint_is_a_fault(arch, l4gdb, no_leftovers, c_source):
    """The host must not mistake user code at the trap breakpoint for a kernel entry
    (on RISC-V QEMU reports the breakpoint before PMP refuses the fetch)."""
    from l4gdb.runtime import build
    from l4gdb.runtime.system import elf_symbols, toolchain_for

    kernel = build.build_kernel(toolchain_for(arch), build.default_build_dir() / arch)
    bp = elf_symbols(kernel)["l4k_trap_bp"]
    src = c_source("jump.c", (HERE / "jump_to_kernel.c").read_text().replace("BP_ADDR", hex(bp)))
    r = l4gdb("run", "--no-gdb", "--arch", arch, src, "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert "root still alive" in r.out


# What `info registers` shows of each arch (regexes, multiline).
REGISTERS = {
    "arm": (r"^r0\s+0x", r"^cpsr\s+0x"),
    "x86": (r"^eax\s+0x", r"^eflags\s+0x"),
    "mips": (r"status\s+lo\s+hi\s+badvaddr\s+cause\s+pc",),      # the target.xml we serve
    "riscv": (r"^tp\s+0x8004", r"^pc\s+0x804"),                    # tp: the UTCB pointer
}
REGISTERS["riscv64"] = REGISTERS["riscv"]


def test_gdb_sees_registers_and_threads(arch, l4gdb, no_leftovers):
    r = l4gdb("gdb", "--arch", arch, "--batch", "hello", "-ex", "info registers",
              "-ex", "break pong", "-ex", "continue", "-ex", "info threads",
              "-ex", "thread 1", "-ex", "bt", "-ex", "delete", "-ex", "continue", timeout=120)
    assert r.code == 0, r.out + r.err
    for regex in REGISTERS.get(arch, ()):
        assert re.search(regex, r.out, re.M), regex
    assert "Breakpoint 2" in r.out
    assert re.search(r"\* 2\s+Thread 99 ", r.out)
    assert re.search(r"#\d+\s+.*main \(\)", r.out)
    assert "hello: done" in r.out


@dataclass(frozen=True)
class Bench:
    positive: tuple[str, ...] = ()           # more keys that must be > 0
    equal: dict[str, int] = field(default_factory=dict)


BENCH = {
    # a space switch rides on the kernel entry that causes it (ASID in the return path)
    "mips": Bench(("pagefault_us",), {"space_switch_extra_stops": 0}),
}


def test_bench_json(arch, l4gdb, no_leftovers, tmp_path):
    want = BENCH.get(arch, Bench())
    out = tmp_path / "bench.json"
    r = l4gdb("bench", "--arch", arch, "--iterations", "300", "--json", str(out))
    assert r.code == 0, r.out + r.err
    result = json.loads(out.read_text())
    assert result["arch"] == arch
    for key in ("floor_us", "null_syscall_us", "ipc_roundtrip_us", *want.positive):
        assert result[key] > 0, result
    assert result["null_syscall_floor_ratio"] > 0
    # Every arch has a guest timer; its cost is a figure for the report, not a timed assertion.
    assert isinstance(result["tick_overhead_pct"], (int, float)), result
    for key, value in want.equal.items():
        assert result[key] == value, result
