"""The RISC-V third-party plugin (plugins/riscv: RV32 ``riscv`` and RV64 ``riscv64``
on QEMU virt) end to end: the same guest sources as ARM, x86 and MIPS."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("l4gdb_riscv")

QEMU = {"riscv": "qemu-system-riscv32", "riscv64": "qemu-system-riscv64"}


@pytest.fixture(params=sorted(QEMU))
def arch(request):
    binary = QEMU[request.param]
    if shutil.which(binary) is None:
        pytest.skip(f"needs {binary} (apt-get install qemu-system-misc)")
    return request.param

CHECK = re.compile(r"^(PASS|FAIL|SKIP) [a-z0-9-]+/[a-z0-9-]+(: .*)?$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def test_hello_with_gdb_attached(arch, l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", arch, "hello", "--expect", "ping 1", "--expect", "pong 1",
              "--expect", "hello: done", "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert r.out.index("ping 1") < r.out.index("pong 1") < r.out.index("hello: done")


def test_l4test_passes_every_check(arch, l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", arch, "--no-gdb", "l4test", "--timeout", "240")
    assert r.code == 0, r.out + r.err
    lines = [ln for ln in r.out.splitlines() if ln[:5] in ("PASS ", "FAIL ", "SKIP ")]
    for ln in lines:
        assert CHECK.match(ln), ln
    m = SUMMARY.search(r.out)
    assert m, r.out
    passed, failed, skipped = map(int, m.groups())
    assert failed == 0 and passed > 0
    assert passed == sum(ln.startswith("PASS") for ln in lines)
    groups = {ln.split()[1].split("/")[0] for ln in lines if ln.startswith("PASS")}
    assert {"kip", "ipc", "exreg", "tcontrol", "schedule"} <= groups
    # address spaces (Sv32 / Sv39 tables built by the host): nothing skipped for want of them
    assert {"mem", "pagefault", "sigma0", "string"} <= groups
    assert "needs address spaces" not in r.out and "runs flat" not in r.out
    # the no-pager check's thread dies of __builtin_trap(): `unimp`, illegal instruction
    assert "unhandled exception 2" in r.out + r.err
    if arch == "riscv64":
        # 64-bit: the KIP says so (ApiFlags ww = 1) and thread ids are number << 32
        assert re.search(r"^PASS kip/", r.out, re.M)


GARBAGE = r'''
#include <l4/l4.h>
#include <stdio.h>
static unsigned long seed = 12345;
static unsigned long rnd(void) { seed = seed * 1103515245 + 12345; return seed ^ (seed >> 16); }
#define SYSCALL(n) do {                                                              \
        register unsigned long a7 __asm__("a7") = (n);                               \
        __asm__ volatile("ecall" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4)    \
                         : "r"(a7) : "a5", "a6", "memory");                          \
    } while (0)
int main(void) {
    for (int i = 0; i < 300; i++) {
        register unsigned long a0 __asm__("a0") = rnd();
        register unsigned long a1 __asm__("a1") = rnd();
        register unsigned long a2 __asm__("a2") = rnd() & ~0xffUL;
        register unsigned long a3 __asm__("a3") = rnd();
        register unsigned long a4 __asm__("a4") = rnd();
        switch (i % 8) {
        case 0: SYSCALL(2); break;
        case 1: SYSCALL(3); break;
        case 2: SYSCALL(6); break;
        case 3: SYSCALL(10); break;
        case 4: SYSCALL(99); break;
        case 5: SYSCALL(12); break;
        case 6: SYSCALL(0xfff); break;      /* the preemption gate's number, called directly */
        case 7: SYSCALL(rnd()); break;
        }
    }
    printf("survived\n");
    return 0;
}
'''


def test_garbage_syscalls_never_crash_the_host(arch, l4gdb, no_leftovers, tmp_path):
    src = tmp_path / "garbage.c"
    src.write_text(GARBAGE)
    r = l4gdb("run", "--arch", arch, "--no-gdb", str(src), "--timeout", "120",
              "--expect", "survived")
    assert r.code == 0, r.out + r.err
    assert "Traceback" not in r.err
    assert "unknown system call 99" in r.out + r.err


FAULTS = r'''
#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stacks[5][256];
static void load_unmapped(void) { (void)*(volatile int *)0x90000000; for (;;); }
static void store_unmapped(void) { *(volatile int *)0x90000000 = 1; for (;;); }
static void jump_unmapped(void) { ((void (*)(void))0xa0000000)(); for (;;); }
static void load_kernel(void) { (void)*(volatile int *)0x80000000; for (;;); }
static void illegal(void) { __builtin_trap(); for (;;); }
int main(void) {
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself();
    void (*body[5])(void) = { load_unmapped, store_unmapped, jump_unmapped, load_kernel,
                              illegal };
    for (int i = 0; i < 5; i++) {
        L4_ThreadId_t t = L4_GlobalId(L4_ThreadNo(me) + 1 + i, 1), from;
        L4_Word_t utcb = L4_MyLocalId().raw + (i + 1) * L4_UtcbSize(kip), addr = 0;
        if (L4_ThreadControl(t, me, me, me, (void *)utcb) != 1) return 2;
        L4_Start_SpIp(t, (L4_Word_t)&stacks[i][256], (L4_Word_t)body[i]);
        L4_MsgTag_t tag = L4_Wait_Timeout(L4_TimePeriod(200000), &from);
        L4_StoreMR(1, &addr);
        if (L4_IpcSucceeded(tag))
            /* the label is 16 bits narrower than a word: ffe4 on RV32, ffffffffffe4 on RV64 */
            printf("fault %d: label %lx addr %lx\n", i, (unsigned long)L4_Label(tag) & 0xffff,
                   addr);
        else
            printf("fault %d: no message\n", i);
    }
    return 0;
}
'''


def test_access_faults_reach_the_pager_and_kernel_accesses_are_exceptions(arch, l4gdb,
                                                                         no_leftovers, tmp_path):
    src = tmp_path / "faults.c"
    src.write_text(FAULTS)
    r = l4gdb("run", "--arch", arch, "--no-gdb", str(src), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    # page-fault protocol: label -2 << 4 | rwx, MR1 the address (nothing is mapped there)
    assert "fault 0: label ffe4 addr 90000000" in r.out
    assert "fault 1: label ffe2 addr 90000000" in r.out
    assert "fault 2: label ffe1 addr a0000000" in r.out
    # a user load from the kernel image (never mapped for users; PMP besides): load page
    # fault, mcause 13, reported as an exception, not to the pager
    assert "fault 3: no message" in r.out
    assert "unhandled exception 13" in r.out + r.err
    # unimp: illegal instruction, mcause 2
    assert "fault 4: no message" in r.out
    assert "unhandled exception 2" in r.out + r.err


def test_user_jump_onto_the_kernel_breakpoint_is_a_fault(arch, l4gdb, no_leftovers, tmp_path):
    """QEMU reports the host's breakpoint before PMP refuses the fetch: the host must
    not mistake the user thread for a kernel entry (it becomes a page fault)."""
    from l4gdb import build
    from l4gdb.system import elf_symbols, toolchain_for

    tc = toolchain_for(arch)
    kernel = build.build_kernel(tc, build.default_build_dir() / arch)
    bp = elf_symbols(kernel)["l4k_trap_bp"]
    src = tmp_path / "jump.c"
    src.write_text((Path(__file__).with_name("jump_to_kernel.c")).read_text()
                   .replace("BP_ADDR", hex(bp)))
    r = l4gdb("run", "--no-gdb", "--arch", arch, str(src), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert "root still alive" in r.out


def test_preemption_through_the_gate(arch, l4gdb, no_leftovers, tmp_path):
    """A thread spinning in user mode is taken into the kernel via l4k_preempt_gate."""
    r = l4gdb("run", "--arch", arch, "--no-gdb",
              str(Path(__file__).with_name("spin_and_tick.c")),
              "--expect", "tick 2", "--timeout", "60")
    assert r.code == 0, r.out + r.err


def test_gdb_sees_riscv_registers_and_threads(arch, l4gdb, no_leftovers):
    r = l4gdb("gdb", "--arch", arch, "--batch", "hello", "-ex", "info registers",
              "-ex", "break pong", "-ex", "continue", "-ex", "info threads",
              "-ex", "thread 1", "-ex", "bt", "-ex", "delete", "-ex", "continue", timeout=120)
    assert r.code == 0, r.out + r.err
    assert re.search(r"^tp\s+0x8004", r.out, re.M)        # the UTCB pointer
    assert re.search(r"^pc\s+0x804", r.out, re.M)
    assert "Breakpoint 2" in r.out
    assert re.search(r"\* 2\s+Thread 99 ", r.out)
    assert re.search(r"#\d+\s+.*main \(\)", r.out)
    assert "hello: done" in r.out


def test_bench_json(arch, l4gdb, no_leftovers, tmp_path):
    out = tmp_path / "bench.json"
    r = l4gdb("bench", "--arch", arch, "--iterations", "300", "--json", str(out))
    assert r.code == 0, r.out + r.err
    result = json.loads(out.read_text())
    assert result["arch"] == arch
    for key in ("floor_us", "null_syscall_us", "ipc_roundtrip_us"):
        assert result[key] > 0, result
