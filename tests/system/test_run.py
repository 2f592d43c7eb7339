"""``l4gdb run`` end to end on QEMU (ARM, the default arch); the tests every arch
runs alike are in test_arches.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


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


def test_root_task_exit_status_is_a_failure(l4gdb, no_leftovers, c_source):
    src = c_source("fail.c", "int main(void){ return 3; }\n")
    r = l4gdb("run", "--no-gdb", src, "--timeout", "60")
    assert r.code == 1
    assert "status 3" in r.err


def test_checks_without_summary_fail(l4gdb, no_leftovers, c_source):
    src = c_source("cut.c",
                   '#include <stdio.h>\nint main(void){ printf("PASS a/b\\n"); return 0; }\n')
    r = l4gdb("run", "--no-gdb", src, "--timeout", "60")
    assert r.code == 1
    assert "closing" in r.err


def _write(name: str, text: str) -> str:
    import tempfile
    from pathlib import Path

    d = Path(tempfile.mkdtemp(prefix="l4gdb-test-"))
    (d / name).write_text(text)
    return str(d / name)


def test_ctrl_c_ends_the_run_and_its_children(no_leftovers, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    src = Path(__file__).with_name("spin_and_tick.c")      # runs until interrupted
    proc = subprocess.Popen([sys.executable, "-m", "l4gdb.cli", "run", str(src)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    line = ""
    while "tick" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    assert "tick" in line
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


