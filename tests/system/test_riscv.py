"""The RISC-V third-party plugin (plugins/riscv: RV32 ``riscv`` and RV64 ``riscv64``
on QEMU virt) end to end: the same guest sources as ARM, x86 and MIPS."""

from __future__ import annotations

import shutil

import pytest
from fault_probe import fault_program, missing_report

pytestmark = pytest.mark.slow
pytest.importorskip("l4gdb_riscv")

QEMU = {"riscv": "qemu-system-riscv32", "riscv64": "qemu-system-riscv64"}


@pytest.fixture(params=sorted(QEMU))
def arch(request):
    binary = QEMU[request.param]
    if shutil.which(binary) is None:
        pytest.skip(f"needs {binary} (apt-get install qemu-system-misc)")
    return request.param


# the label is 16 bits narrower than a word: ffe4 on RV32, ffffffffffe4 on RV64
FAULTS = fault_program(r'''
static void load_unmapped(void) { (void)*(volatile int *)0x90000000; for (;;); }
static void store_unmapped(void) { *(volatile int *)0x90000000 = 1; for (;;); }
static void jump_unmapped(void) { ((void (*)(void))0xa0000000)(); for (;;); }
static void load_kernel(void) { (void)*(volatile int *)0x80000000; for (;;); }
static void illegal(void) { __builtin_trap(); for (;;); }
''', ["load_unmapped", "store_unmapped", "jump_unmapped", "load_kernel", "illegal"],
    label="(unsigned long)L4_Label(tag) & 0xffff")


def test_access_faults_reach_the_pager_and_kernel_accesses_are_exceptions(arch, l4gdb,
                                                                         no_leftovers, c_source):
    r = l4gdb("run", "--arch", arch, "--no-gdb", c_source("faults.c", FAULTS), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    # 0-2: page faults where nothing is mapped; 3: a user load from the kernel image (never
    # mapped for users; PMP besides): load page fault, mcause 13, reported as an exception,
    # not to the pager; 4: unimp: illegal instruction, mcause 2
    assert not missing_report(r, data=0x90000000, code=0xA0000000, exceptions=(13, 2))
