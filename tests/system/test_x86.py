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
