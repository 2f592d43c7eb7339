"""Native beside compat: an Iguana program (wombat-shared, the root task) and a
Linux process (iguana-peer, then busybox) share memsections through Wombat's
/dev/iguana and exchange data both ways (docs/wombat.md)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

L4GDB = [sys.executable, "-m", "l4gdb.cli"]


def _primes(n: int) -> list[int]:
    out, k = [], 1
    while len(out) < n:
        k += 1
        if all(k % d for d in range(2, int(k ** 0.5) + 1)):
            out.append(k)
    return out


@pytest.mark.parametrize("arch", ["arm", "mips", "x86"])
def test_native_program_and_linux_process_exchange_data(arch, linux_rootfs, no_leftovers):
    root = linux_rootfs(arch, "iguana-peer")
    script = ("/iguana-peer && tr -d '\\000' < /dev/iguana/notice; echo; ls /dev/iguana; "
              "printf native > /dev/iguana/notice; echo write-ro=$?")
    done = subprocess.run([*L4GDB, "wombat", "--arch", arch, "--rootfs", str(root),
                           "--native", "wombat-shared", "--snapshot", "--timeout", "150", "--",
                           "/bin/sh", "-c", script],
                          capture_output=True, text=True, timeout=240)
    out = done.stdout
    assert done.returncode == 0, (out, done.stderr)
    assert "Traceback" not in done.stderr

    # Native -> Linux: the request the native side computed, read through mmap.
    req = re.search(r"iguana-peer: request 'primes:([ 0-9]+)' -> answer 'sum=(\d+) count=(\d+)'",
                    out)
    assert req, out
    numbers = [int(n) for n in req.group(1).split()]
    assert numbers == _primes(len(numbers)) and 5 <= len(numbers) <= 12
    # Linux -> native: the answer the Linux side computed, checked by the native side.
    assert (int(req.group(2)), int(req.group(3))) == (sum(numbers), len(numbers))
    answer = f"sum={sum(numbers)} count={len(numbers)}"
    assert f"wombat-shared: linux answered '{answer}', expected '{answer}': OK" in out

    # The rights the native side gave hold; a forged capability shares nothing.
    assert "iguana-peer: notice O_RDWR -13, PROT_WRITE -13, says 'read-only words from PD" in out
    assert "a forged capability: error 33" in out
    assert "iguana-peer: OK" in out
    lines = out.splitlines()
    assert lines[lines.index("iguana-peer: OK") + 1].startswith("read-only words from PD")
    assert "exchange\nnotice\n" in out                 # ls /dev/iguana: no "forged"
    assert "write-ro=1" in out and "Permission denied" in done.stderr + out
    table = done.stderr.split("--- wombat shared ---\n", 1)[1].split("---", 1)[0]
    assert re.search(r"/dev/iguana/exchange\s+0x[0-9a-f]+\s+0x1000\s+rw\s+98\.1 \(root\)", table)
    assert re.search(r"/dev/iguana/notice\s+0x[0-9a-f]+\s+0x1000\s+r-", table)
    # ... and the Iguana side of it: the root task's memsection, backed by one frame.
    base = int(re.search(r"/dev/iguana/exchange\s+(0x[0-9a-f]+)", table).group(1), 16)
    mss = done.stderr.split("--- iguana memsections ---\n", 1)[1].split("---", 1)[0]
    row = rf"{base:#x}-{base + 0x1000:#x}\s+1\s+\S+ \(initial\)\s+normal\s+1\s"
    assert re.search(row, mss), mss


def test_without_a_native_program_there_is_no_dev_iguana(tmp_path):
    done = subprocess.run([*L4GDB, "wombat", "--arch", "arm", "--timeout", "120", "--",
                           "/bin/sh", "-c", "ls /dev/iguana; ls /dev | grep -c iguana"],
                          capture_output=True, text=True, timeout=180)
    assert "No such file or directory" in done.stderr + done.stdout
    assert done.stdout.strip().endswith("0")
