"""``l4gdb run`` end to end on QEMU (ARM)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHECK = re.compile(r"^(PASS|FAIL|SKIP) [a-z0-9-]+/[a-z0-9-]+(: .*)?$")
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def test_l4test_passes_every_check(l4gdb, no_leftovers):
    r = l4gdb("run", "--arch", "arm", "l4test", "--timeout", "240")
    assert r.code == 0, r.out + r.err
    lines = [ln for ln in r.out.splitlines() if ln[:5] in ("PASS ", "FAIL ", "SKIP ")]
    assert lines, r.out
    for ln in lines:
        assert CHECK.match(ln), ln
    m = SUMMARY.search(r.out)
    assert m, r.out
    passed, failed, skipped = map(int, m.groups())
    assert failed == 0
    assert passed == sum(ln.startswith("PASS") for ln in lines)
    assert skipped == sum(ln.startswith("SKIP") for ln in lines)
    groups = {ln.split()[1].split("/")[0] for ln in lines if ln.startswith("PASS")}
    assert {"kip", "ipc", "exreg", "tcontrol", "schedule"} <= groups


def test_hello_ping_pong_with_gdb_attached(l4gdb, no_leftovers):
    r = l4gdb("run", "hello", "--expect", "ping 1", "--expect", "pong 1",
              "--expect", "hello: done", "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert r.out.index("ping 1") < r.out.index("pong 1") < r.out.index("hello: done")


def test_expectation_timeout_exits_3(l4gdb, no_leftovers):
    prog = "#include <l4/l4.h>\nint main(void){ for(;;) L4_ThreadSwitch(L4_nilthread); }\n"
    r = l4gdb("run", "--no-gdb", "--timeout", "3", "--expect", "never printed",
              _write("spin.c", prog))
    assert r.code == 3, r.out + r.err
    assert "never printed" in r.err


def test_own_c_program(l4gdb, no_leftovers, tmp_path):
    src = tmp_path / "mine.c"
    src.write_text(
        "#include <l4/l4.h>\n#include <stdio.h>\n"
        "int main(void){ printf(\"tid %lx prio ok\\n\", L4_Myself().raw); return 0; }\n")
    r = l4gdb("run", "--no-gdb", str(src), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert re.search(r"tid [0-9a-f]+ prio ok", r.out)


def test_root_task_exit_status_is_a_failure(l4gdb, no_leftovers, tmp_path):
    src = tmp_path / "fail.c"
    src.write_text("int main(void){ return 3; }\n")
    r = l4gdb("run", "--no-gdb", str(src), "--timeout", "60")
    assert r.code == 1
    assert "status 3" in r.err


def test_checks_without_summary_fail(l4gdb, no_leftovers, tmp_path):
    src = tmp_path / "cut.c"
    src.write_text('#include <stdio.h>\nint main(void){ printf("PASS a/b\\n"); return 0; }\n')
    r = l4gdb("run", "--no-gdb", str(src), "--timeout", "60")
    assert r.code == 1
    assert "closing" in r.err


def test_garbage_syscalls_never_crash_the_host(l4gdb, no_leftovers, tmp_path):
    """Random registers into every system call number: the host keeps serving."""
    src = tmp_path / "garbage.c"
    src.write_text(r'''
#include <l4/l4.h>
#include <stdio.h>
static unsigned long seed = 12345;
#define SVC(n) __asm__ volatile("svc #" #n : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3), "+r"(r4) \
                                :: "r5", "r6", "memory")
static unsigned long rnd(void) { seed = seed * 1103515245 + 12345; return seed ^ (seed >> 16); }
int main(void) {
    for (int i = 0; i < 300; i++) {
        register unsigned long r0 __asm__("r0") = rnd();
        register unsigned long r1 __asm__("r1") = rnd();
        register unsigned long r2 __asm__("r2") = rnd() & ~0xffUL;
        register unsigned long r3 __asm__("r3") = rnd();
        register unsigned long r4 __asm__("r4") = rnd();
        switch (i % 6) {
        case 0: SVC(2); break;
        case 1: SVC(3); break;
        case 2: SVC(6); break;
        case 3: SVC(10); break;
        case 4: SVC(99); break;
        case 5: SVC(12); break;
        }
    }
    printf("survived\n");
    return 0;
}
''')
    r = l4gdb("run", "--no-gdb", str(src), "--timeout", "120", "--expect", "survived")
    assert r.code == 0, r.out + r.err
    assert "Traceback" not in r.err


def _write(name: str, text: str) -> str:
    import tempfile
    from pathlib import Path

    d = Path(tempfile.mkdtemp(prefix="l4gdb-test-"))
    (d / name).write_text(text)
    return str(d / name)


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


def test_timeout_fires_while_a_thread_spins_in_user_mode(l4gdb, no_leftovers, tmp_path):
    src = tmp_path / "spin.c"
    src.write_text(SPINNER)
    r = l4gdb("run", "--no-gdb", str(src), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert r.out.count("spun yes") == 3, r.out


def test_ctrl_c_ends_the_run_and_its_children(no_leftovers, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "forever.c"
    src.write_text(SPINNER.replace("i < 3", "i >= 0"))
    proc = subprocess.Popen([sys.executable, "-m", "l4gdb.cli", "run", str(src)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    line = ""
    while "woke" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    assert "woke" in line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err


def test_console_input_reaches_the_guest(no_leftovers, tmp_path):
    import subprocess
    import sys

    src = tmp_path / "echo.c"
    src.write_text(r'''
#include <l4/l4.h>
#include <stdio.h>
int main(void) {
    char line[64]; int n = 0;
    for (;;) {
        int c = L4_KDB_ReadChar();
        if (c < 0) { L4_Sleep(L4_TimePeriod(1000)); continue; }
        if (c == '\n' || n == 63) break;
        line[n++] = (char)c;
    }
    line[n] = 0;
    printf("got <%s>\n", line);
    return 0;
}
''')
    proc = subprocess.run([sys.executable, "-m", "l4gdb.cli", "run", "--no-gdb", str(src),
                           "--timeout", "60"], input="hello guest\n", capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "got <hello guest>" in proc.stdout


@pytest.mark.parametrize("arch", ["arm", "x86", "mips"])
def test_user_jump_onto_the_kernel_breakpoint_is_a_fault(l4gdb, no_leftovers, tmp_path, arch):
    """The host must not mistake user code at the trap breakpoint for a kernel entry."""
    from l4gdb import build
    from l4gdb.plugins import get_plugins
    from l4gdb.system import elf_symbols, toolchain_for

    if arch not in get_plugins().arch_names():
        pytest.skip(f"{arch} plugin not installed")
    tc = toolchain_for(arch)
    kernel = build.build_kernel(tc, build.default_build_dir() / arch)
    bp = elf_symbols(kernel)["l4k_trap_bp"]
    src = tmp_path / "jump.c"
    src.write_text((Path(__file__).with_name("jump_to_kernel.c")).read_text()
                   .replace("BP_ADDR", hex(bp)))
    r = l4gdb("run", "--no-gdb", "--arch", arch, str(src), "--timeout", "60")
    assert r.code == 0, r.out + r.err
    assert "root still alive" in r.out
