"""The RISC-V third-party plugin (plugins/riscv: RV32 ``riscv`` and RV64 ``riscv64``
on QEMU virt) end to end: the same guest sources as ARM, x86 and MIPS."""

from __future__ import annotations

import shutil

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
