"""Small freestanding Linux programs of our own (src/guest/linux/), built with
the arch's guest toolchain as static ELF files: the benchmark's getppid loop
and test programs that need no C library."""

from __future__ import annotations

import subprocess
from pathlib import Path

from l4gdb.archkit.guestspec import GuestToolchain
from l4gdb.errors import UsageError
from l4gdb.runtime.build import guest_dir

IMAGE_BASE = 0x400000


def linux_source(name: str) -> Path:
    path = guest_dir() / "linux" / f"{name}.c"
    if not path.is_file():
        raise UsageError(f"no Linux test program {name!r} (looked for {path})")
    return path


def build_linux_program(tc: GuestToolchain, name: str, out: Path,
                        defines: dict[str, int] | None = None) -> Path:
    """``src/guest/linux/NAME.c`` as a static ELF at ``out`` (no libc, entry _start)."""
    src = linux_source(name)
    obj = out.with_suffix(".o")
    compile_ = ["clang", f"--target={tc.clang_target}", *tc.cflags, "-O2", "-ffreestanding",
                "-fno-pic", "-fno-stack-protector", "-c",
                *(f"-D{k}={v}" for k, v in (defines or {}).items()), "-o", str(obj), str(src)]
    # Linked where every arch lets user programs live (MIPS keeps the low 128 KiB).
    link = ["ld.lld", "-static", "-e", "_start", "--build-id=none", f"--image-base={IMAGE_BASE:#x}",
            "-o", str(out), str(obj)]
    for cmd in (compile_, link):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise UsageError(f"{src}: build failed:\n{done.stderr.strip()}")
    obj.unlink(missing_ok=True)
    return out
