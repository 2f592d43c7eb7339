"""The x86 (i386 on QEMU pc) plugin end to end: the same guest sources as ARM."""

from __future__ import annotations

import json
import re
import shutil

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("qemu-system-i386") is None,
                       reason="needs qemu-system-i386 (apt-get install qemu-system-x86)"),
]
pytest.importorskip("l4gdb_x86")

CHECK = re.compile(r"^(PASS|FAIL|SKIP) [a-z0-9-]+/[a-z0-9-]+(: .*)?$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def test_hello_with_gdb_attached(l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", "x86", "hello", "--expect", "ping 1", "--expect", "pong 1",
              "--expect", "hello: done", "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert r.out.index("ping 1") < r.out.index("pong 1") < r.out.index("hello: done")


def test_l4test_passes_every_check(l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", "x86", "--no-gdb", "l4test", "--timeout", "240")
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
    # real address spaces (the KIP says l4gdb-mmu): the space groups run and pass
    assert {"mem", "pagefault", "string", "sigma0"} <= groups
    assert not any(ln.startswith("SKIP") and "page tables" in ln for ln in lines), r.out
    for check in ("pagefault/isolation-no-data", "mem/first-fault-is-the-entry",
                  "mem/status-written", "mem/unmap-status", "string/inter-space"):
        assert f"PASS {check}" in r.out, check
    # the no-pager check's thread dies of its ud2 (#UD, vector 6)
    assert re.search(r"exception 6\b", r.out + r.err)


GARBAGE = r'''
#include <l4/l4.h>
#include <stdio.h>
static unsigned long seed = 12345;
#define INT(n) __asm__ volatile("int $0x80 + " #n                                 \
                                : "+a"(a), "+c"(c), "+d"(d), "+S"(s), "+D"(di)     \
                                : : "ebx", "memory")
static unsigned long rnd(void) { seed = seed * 1103515245 + 12345; return seed ^ (seed >> 16); }
int main(void) {
    for (int i = 0; i < 300; i++) {
        unsigned long a = rnd(), c = rnd(), d = rnd() & ~0xffUL, s = rnd(), di = rnd();
        switch (i % 7) {
        case 0: INT(2); break;
        case 1: INT(3); break;
        case 2: INT(6); break;
        case 3: INT(10); break;
        case 4: INT(99); break;
        case 5: INT(12); break;
        case 6: INT(127); break;     /* the preemption gate's number, called directly */
        }
    }
    printf("survived\n");
    return 0;
}
'''


def test_garbage_syscalls_never_crash_the_host(l4gdb, no_leftovers, tmp_path):
    src = tmp_path / "garbage.c"
    src.write_text(GARBAGE)
    r = l4gdb("run", "--arch", "x86", "--no-gdb", str(src), "--timeout", "120",
              "--expect", "survived")
    assert r.code == 0, r.out + r.err
    assert "Traceback" not in r.err
    assert re.search(r"system call 99\b", r.out + r.err)   # reported, not fatal


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
    """A thread spinning in ring 3 is taken into the kernel via l4k_preempt_gate."""
    src = tmp_path / "spin.c"
    src.write_text(SPINNER)
    r = l4gdb("run", "--arch", "x86", "--no-gdb", str(src), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert r.out.count("spun yes") == 3, r.out


def test_bench_json(l4gdb, no_leftovers, tmp_path):
    out = tmp_path / "bench.json"
    r = l4gdb("bench", "--arch", "x86", "--iterations", "300", "--json", str(out))
    assert r.code == 0, r.out + r.err
    result = json.loads(out.read_text())
    assert result["arch"] == "x86"
    for key in ("floor_us", "null_syscall_us", "ipc_roundtrip_us"):
        assert result[key] > 0, result
    assert result["null_syscall_floor_ratio"] > 0


PROBE = r"""
#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stack[512];
static volatile L4_Word_t target, value, seen;
static void probe_read(void) { seen = *(volatile L4_Word_t *)target; for (;;) ; }
static void probe_write(void) { *(volatile L4_Word_t *)target = value; for (;;) ; }
static void probe_gs(void) { __asm__ volatile("movl $0x1234, %%gs:0" ::: "memory"); for (;;) ; }
static void probe(const char *what, void (*fn)(void), L4_Word_t addr) {
    static int n;
    L4_ThreadId_t me = L4_Myself(), t = L4_GlobalId(L4_ThreadNo(me) + 1 + n, 1);
    L4_Word_t utcb = L4_MyLocalId().raw + (1 + n) * L4_UtcbSize(L4_GetKernelInterface());
    n++;
    target = addr;
    seen = 0;
    if (L4_ThreadControl(t, me, me, me, (void *)utcb) != 1) {
        printf("%s: no thread\n", what);
        return;
    }
    L4_Start_SpIp(t, (L4_Word_t)&stack[512], (L4_Word_t)fn);
    L4_Accept(L4_UntypedWordsAcceptor);
    L4_MsgTag_t tag = L4_Receive_Timeout(t, L4_TimePeriod(2000000));
    L4_Word_t fault = 0, ip = 0;
    L4_StoreMR(1, &fault);
    L4_StoreMR(2, &ip);
    printf("%s: %s label 0x%lx addr 0x%lx seen 0x%lx\n", what,
           L4_IpcSucceeded(tag) ? "fault" : "NO FAULT", L4_Label(tag), fault, seen);
    L4_ThreadControl(t, L4_nilthread, L4_nilthread, L4_nilthread, (void *)-1UL);
}
int main(void) {
    probe("window-read", probe_read, 0xC0000000UL + KDATA);
    probe("kdata-read", probe_read, KDATA);
    probe("kdata-write", probe_write, KDATA);
    probe("gate-write", probe_write, GATE);
    probe("gs-write", probe_gs, 0);
    L4_Word_t utcb;
    __asm__ volatile("movl %%gs:0, %0" : "=r"(utcb));
    printf("gs-read %s\n", utcb == L4_MyLocalId().raw ? "ok" : "WRONG");
    return 0;
}
"""


def test_spaces_isolate_the_kernel(l4gdb, no_leftovers, tmp_path):
    """User code can't read or write the kernel window or the kernel's data, nor write
    the gate page or its %gs slot: each is a page fault to the pager (rwx label bits)."""
    from l4gdb import build
    from l4gdb.system import elf_symbols, toolchain_for

    kernel = build.build_kernel(toolchain_for("x86"), build.default_build_dir() / "x86")
    syms = elf_symbols(kernel)
    src = tmp_path / "probe.c"
    src.write_text(PROBE.replace("KDATA", hex(syms["l4k_entry_block"]))
                   .replace("GATE", hex(syms["l4k_preempt_gate"])))
    r = l4gdb("run", "--arch", "x86", "--no-gdb", str(src), "--timeout", "60",
              "--expect", "gs-read")
    assert r.code == 0, r.out + r.err
    out = r.out
    entry = syms["l4k_entry_block"]
    # label -2 << 4 | rwx, on 32 bits the low 16 bits of the tag's label: 0xffe4 read, 0xffe2 write
    assert f"window-read: fault label 0xffe4 addr {0xC0000000 + entry:#x} seen 0x0" in out, out
    assert f"kdata-read: fault label 0xffe4 addr {entry:#x} seen 0x0" in out, out
    assert f"kdata-write: fault label 0xffe2 addr {entry:#x}" in out, out
    assert f"gate-write: fault label 0xffe2 addr {syms['l4k_preempt_gate']:#x}" in out, out
    assert f"gs-write: fault label 0xffe2 addr {syms['l4k_user_tls']:#x}" in out, out
    assert "gs-read ok" in out, out
