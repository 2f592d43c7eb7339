"""The MIPS (32r2 little endian on QEMU Malta) plugin end to end: the same guest
sources as ARM."""

from __future__ import annotations

import json
import re
import shutil

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("qemu-system-mipsel") is None,
                       reason="needs qemu-system-mipsel (apt-get install qemu-system-mips)"),
]
pytest.importorskip("l4gdb_mips")

CHECK = re.compile(r"^(PASS|FAIL|SKIP) [a-z0-9-]+/[a-z0-9-]+(: .*)?$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def test_hello_with_gdb_attached(l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", "mips", "hello", "--expect", "ping 1", "--expect", "pong 1",
              "--expect", "hello: done", "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert r.out.index("ping 1") < r.out.index("pong 1") < r.out.index("hello: done")


# What may be skipped on MIPS: a second processor, and the interrupt checks that need a
# device user code can program (none on this port yet).
MIPS_SKIPS = {"ipc/xcpu", "interrupt/delivered", "interrupt/preempts-spinner-within-a-tick"}


def test_l4test_passes_every_check(l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", "mips", "--no-gdb", "l4test", "--timeout", "240")
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
    # address spaces: the groups that need page tables run (the KIP says l4gdb-mmu)
    assert {"kip", "ipc", "exreg", "tcontrol", "schedule", "mem", "pagefault", "sigma0",
            "string"} <= groups
    skips = {ln.split()[1].rstrip(":") for ln in lines if ln.startswith("SKIP")}
    assert skips <= MIPS_SKIPS, skips
    for name in ("mem/unmap-refaults", "mem/status-reset", "mem/first-fault-is-the-entry",
                 "pagefault/isolation-no-data", "string/inter-space",
                 "ipc/inter-space-transfer", "sigma0/one-owner"):
        assert f"PASS {name}" in r.out, name
    # the no-pager check's thread dies of __builtin_trap(), a `break` (ExcCode 9)
    assert "unhandled exception 9" in r.out + r.err


def test_flat_mode_without_page_tables_still_runs_l4test(l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", "mips", "--no-gdb", "l4test", "--timeout", "240",
              env={"L4GDB_MIPS_FLAT": "1"})
    assert r.code == 0, r.out + r.err
    assert "SKIP mem/all: the kernel runs flat" in r.out
    assert "SKIP pagefault/all: the kernel runs flat" in r.out
    assert re.search(r"^\d+ passed, 0 failed, \d+ skipped$", r.out, re.M), r.out


TOUCH = r'''
#include <l4/l4.h>
#include <stdio.h>
/* More pages than the TLB has entries (16 on the 24Kf), touched in rounds: every
 * access after the first round is a TLB refill from the space's tables. */
#define PAGES 96
static volatile L4_Word_t big[PAGES * 1024] __attribute__((aligned(65536)));
static int check(int rounds)
{
    int bad = 0;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < PAGES; i++)
            bad += big[i * 1024 + r] != (L4_Word_t)(i * 7 + r);
    return bad;
}
int main(void) {
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < PAGES; i++)
            big[i * 1024 + r] = i * 7 + r;
    printf("touched %d pages, %d bad\n", PAGES, check(3));
    /* Flush 16 of our pages: the TLB must forget them, so that the next access
     * faults them back in from sigma0 (the same frames, the data still there) and
     * the kernel sees the read: status referenced, not written. */
    L4_Flush(L4_FpageAddRights(L4_FpageLog2((L4_Word_t)big, 16), L4_FullyAccessible));
    int bad = check(3);
    L4_Fpage_t st = L4_GetStatus(L4_FpageLog2((L4_Word_t)big, 12));
    printf("after flush: %d bad, status %lx\n", bad, (unsigned long)(st.raw & 7));
    return 0;
}
'''


def test_tlb_refills_from_the_space_tables_and_flush_forgets(l4gdb, no_leftovers, tmp_path):
    src = tmp_path / "touch.c"
    src.write_text(TOUCH)
    r = l4gdb("run", "--arch", "mips", "--no-gdb", str(src), "--timeout", "120")
    assert r.code == 0, r.out + r.err
    assert "touched 96 pages, 0 bad" in r.out
    assert "after flush: 0 bad, status 4" in r.out


GARBAGE = r'''
#include <l4/l4.h>
#include <stdio.h>
static unsigned long seed = 12345;
static unsigned long rnd(void) { seed = seed * 1103515245 + 12345; return seed ^ (seed >> 16); }
#define SYSCALL(n) do {                                                              \
        register unsigned long v0 __asm__("$2") = (n);                               \
        __asm__ volatile("syscall" : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(t0)  \
                         : "r"(v0) : "$9", "$10", "memory");                         \
    } while (0)
int main(void) {
    for (int i = 0; i < 300; i++) {
        register unsigned long a0 __asm__("$4") = rnd();
        register unsigned long a1 __asm__("$5") = rnd();
        register unsigned long a2 __asm__("$6") = rnd() & ~0xffUL;
        register unsigned long a3 __asm__("$7") = rnd();
        register unsigned long t0 __asm__("$8") = rnd();
        switch (i % 8) {
        case 0: SYSCALL(2); break;
        case 1: SYSCALL(3); break;
        case 2: SYSCALL(6); break;
        case 3: SYSCALL(10); break;
        case 4: SYSCALL(99); break;
        case 5: SYSCALL(12); break;
        case 6: SYSCALL(0xffffff); break;   /* the preemption gate's number, called directly */
        case 7: SYSCALL(rnd()); break;
        }
    }
    printf("survived\n");
    return 0;
}
'''


def test_garbage_syscalls_never_crash_the_host(l4gdb, no_leftovers, tmp_path):
    src = tmp_path / "garbage.c"
    src.write_text(GARBAGE)
    r = l4gdb("run", "--arch", "mips", "--no-gdb", str(src), "--timeout", "120",
              "--expect", "survived")
    assert r.code == 0, r.out + r.err
    assert "Traceback" not in r.err
    assert "unknown system call 99" in r.out + r.err


FAULTS = r'''
#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stacks[5][256];
static void load_unmapped(void) { (void)*(volatile int *)0x10000000; for (;;); }
static void store_unmapped(void) { *(volatile int *)0x10000000 = 1; for (;;); }
static void jump_unmapped(void) { ((void (*)(void))0x20000000)(); for (;;); }
static void load_kseg0(void) { (void)*(volatile int *)0x80000000; for (;;); }
static void delay_slot_syscall(void)
{
    __asm__ volatile(".set push\n.set noreorder\nli $2, 4\nb 1f\nsyscall\n1:\n.set pop"
                     ::: "$2", "$4", "$5", "memory");
    for (;;);
}
int main(void) {
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself();
    void (*body[5])(void) = { load_unmapped, store_unmapped, jump_unmapped, load_kseg0,
                              delay_slot_syscall };
    for (int i = 0; i < 5; i++) {
        L4_ThreadId_t t = L4_GlobalId(L4_ThreadNo(me) + 1 + i, 1), from;
        L4_Word_t utcb = L4_MyLocalId().raw + (i + 1) * L4_UtcbSize(kip), addr = 0;
        if (L4_ThreadControl(t, me, me, me, (void *)utcb) != 1) return 2;
        L4_Start_SpIp(t, (L4_Word_t)&stacks[i][256], (L4_Word_t)body[i]);
        L4_MsgTag_t tag = L4_Wait_Timeout(L4_TimePeriod(200000), &from);
        L4_StoreMR(1, &addr);
        if (L4_IpcSucceeded(tag))
            printf("fault %d: label %lx addr %lx\n", i, (unsigned long)L4_Label(tag), addr);
        else
            printf("fault %d: no message\n", i);
    }
    return 0;
}
'''


def test_tlb_faults_reach_the_pager_and_address_errors_are_exceptions(l4gdb, no_leftovers,
                                                                     tmp_path):
    src = tmp_path / "faults.c"
    src.write_text(FAULTS)
    r = l4gdb("run", "--arch", "mips", "--no-gdb", str(src), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    # page-fault protocol: label -2 << 4 | rwx, MR1 the address
    assert "fault 0: label ffe4 addr 10000000" in r.out
    assert "fault 1: label ffe2 addr 10000000" in r.out
    assert "fault 2: label ffe1 addr 20000000" in r.out
    # a user load from kseg0: address error (ExcCode 4), no handler: the thread stops
    assert "fault 3: no message" in r.out
    assert "unhandled exception 4" in r.out + r.err
    # a syscall in a branch delay slot has nowhere to return to: exception 8
    assert "fault 4: no message" in r.out
    assert "unhandled exception 8" in r.out + r.err


SPINNER = r'''
#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stack[512];
static volatile unsigned long spins;
static void spin(void) { for (;;) spins++; }
int main(void) {
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself(), t = L4_GlobalId(L4_ThreadNo(me) + 1, 1);
    L4_Word_t utcb = L4_MyLocalId().raw + L4_UtcbSize(kip);
    if (L4_ThreadControl(t, me, me, me, (void *)utcb) != 1) return 2;
    L4_Set_Priority(t, 10);
    L4_Start_SpIp(t, (L4_Word_t)&stack[512], (L4_Word_t)spin);
    for (int i = 0; i < 3; i++) {
        unsigned long before = spins;
        L4_Sleep(L4_TimePeriod(20000));
        printf("woke %d spun %s\n", i, spins > before ? "yes" : "no");
    }
    return 0;
}
'''


def test_preemption_through_the_gate(l4gdb, no_leftovers, tmp_path):
    """A thread spinning in user mode is taken into the kernel via l4k_preempt_gate."""
    src = tmp_path / "spin.c"
    src.write_text(SPINNER)
    r = l4gdb("run", "--arch", "mips", "--no-gdb", str(src), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert r.out.count("spun yes") == 3, r.out


def test_gdb_sees_mips_registers_and_threads(l4gdb, no_leftovers):
    r = l4gdb("gdb", "--arch", "mips", "--batch", "hello", "-ex", "info registers",
              "-ex", "break pong", "-ex", "continue", "-ex", "info threads",
              "-ex", "thread 1", "-ex", "bt", "-ex", "delete", "-ex", "continue", timeout=120)
    assert r.code == 0, r.out + r.err
    assert re.search(r"status\s+lo\s+hi\s+badvaddr\s+cause\s+pc", r.out)
    assert "Breakpoint 2, pong ()" in r.out
    assert re.search(r"\* 2\s+Thread 99 .*pong \(\)", r.out)
    assert re.search(r"#\d+\s+main \(\)", r.out)
    assert "hello: done" in r.out


def test_bench_json(l4gdb, no_leftovers, tmp_path):
    out = tmp_path / "bench.json"
    r = l4gdb("bench", "--arch", "mips", "--iterations", "300", "--json", str(out))
    assert r.code == 0, r.out + r.err
    result = json.loads(out.read_text())
    assert result["arch"] == "mips"
    for key in ("floor_us", "null_syscall_us", "ipc_roundtrip_us", "pagefault_us"):
        assert result[key] > 0, result
    assert result["null_syscall_floor_ratio"] > 0
    # a space switch rides on the kernel entry that causes it (ASID in the return path)
    assert result["space_switch_extra_stops"] == 0, result
