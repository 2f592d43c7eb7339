"""The MIPS (32r2 little endian on QEMU Malta) plugin end to end: what only MIPS has
(the tests every arch runs alike are in test_arches.py)."""

from __future__ import annotations

import re
import shutil

import pytest
from fault_probe import fault_program, missing_report

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("qemu-system-mipsel") is None,
                       reason="needs qemu-system-mipsel (apt-get install qemu-system-mips)"),
]
pytest.importorskip("l4gdb_mips")


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


def test_tlb_refills_from_the_space_tables_and_flush_forgets(l4gdb, no_leftovers, c_source):
    r = l4gdb("run", "--arch", "mips", "--no-gdb", c_source("touch.c", TOUCH), "--timeout", "120")
    assert r.code == 0, r.out + r.err
    assert "touched 96 pages, 0 bad" in r.out
    assert "after flush: 0 bad, status 4" in r.out


FAULTS = fault_program(r'''
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
''', ["load_unmapped", "store_unmapped", "jump_unmapped", "load_kseg0", "delay_slot_syscall"])


def test_tlb_faults_reach_the_pager_and_address_errors_are_exceptions(l4gdb, no_leftovers,
                                                                     c_source):
    r = l4gdb("run", "--arch", "mips", "--no-gdb", c_source("faults.c", FAULTS), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    # 0-2: page faults at unmapped addresses; 3: a user load from kseg0: address error
    # (ExcCode 4); 4: a syscall in a branch delay slot has nowhere to return to: exception 8
    assert not missing_report(r, data=0x10000000, code=0x20000000, exceptions=(4, 8))
