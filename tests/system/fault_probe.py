"""The guest program the fault tests of the MIPS and RISC-V ports share: five threads,
each started on one of five faulting bodies with the root task as its pager; the root
task prints, per thread, the page-fault message it got (label and address) or that none
came (an exception: the thread stops)."""

from __future__ import annotations

from string import Template

MAIN = Template(r'''
#include <l4/l4.h>
#include <stdio.h>
static L4_Word_t stacks[5][256];
$bodies
int main(void) {
    void *kip = L4_GetKernelInterface();
    L4_ThreadId_t me = L4_Myself();
    void (*body[5])(void) = { $names };
    for (int i = 0; i < 5; i++) {
        L4_ThreadId_t t = L4_GlobalId(L4_ThreadNo(me) + 1 + i, 1), from;
        L4_Word_t utcb = L4_MyLocalId().raw + (i + 1) * L4_UtcbSize(kip), addr = 0;
        if (L4_ThreadControl(t, me, me, me, (void *)utcb) != 1) return 2;
        L4_Start_SpIp(t, (L4_Word_t)&stacks[i][256], (L4_Word_t)body[i]);
        L4_MsgTag_t tag = L4_Wait_Timeout(L4_TimePeriod(200000), &from);
        L4_StoreMR(1, &addr);
        if (L4_IpcSucceeded(tag))
            printf("fault %d: label %lx addr %lx\n", i, $label, addr);
        else
            printf("fault %d: no message\n", i);
    }
    return 0;
}
''')


def fault_program(bodies: str, names: list[str],
                  label: str = "(unsigned long)L4_Label(tag)") -> str:
    """The C source: ``bodies`` defines the five ``static void NAME(void)`` functions,
    ``names`` lists them in thread order; ``label`` is the expression printed as the label."""
    assert len(names) == 5
    return MAIN.substitute(bodies=bodies.strip("\n"), names=", ".join(names), label=label)


def missing_report(r, data: int, code: int, exceptions: tuple[int, int]) -> list[str]:
    """What of the report a run ``r`` of the program did not print: threads 0 to 2 fault
    to the pager (page-fault protocol: label -2 << 4 | rwx, MR1 the address) on a read and
    a write at ``data`` and a fetch at ``code``; threads 3 and 4 take the two
    ``exceptions``, which no handler receives: no message, the thread stops."""
    out = [f"fault 0: label ffe4 addr {data:x}", f"fault 1: label ffe2 addr {data:x}",
           f"fault 2: label ffe1 addr {code:x}", "fault 3: no message", "fault 4: no message"]
    log = [f"unhandled exception {n}" for n in exceptions]
    return [t for t in out if t not in r.out] + [t for t in log if t not in r.out + r.err]
