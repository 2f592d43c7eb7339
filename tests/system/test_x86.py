"""The x86 (i386 on QEMU pc) plugin end to end: what only x86 has (the tests every
arch runs alike are in test_arches.py)."""

from __future__ import annotations

import shutil

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("qemu-system-i386") is None,
                       reason="needs qemu-system-i386 (apt-get install qemu-system-x86)"),
]
pytest.importorskip("l4gdb_x86")


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
    from l4gdb.runtime import build
    from l4gdb.runtime.system import elf_symbols, toolchain_for

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
