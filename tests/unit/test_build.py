"""Guest builds: the ARM kernel stub, hello and l4test, caching, errors; and
(slow) a QEMU boot checking the trap path of kernel.S through gdb-multiarch."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from l4gdb.archkit.guestspec import GuestToolchain
from l4gdb.runtime import build

ARM_GUEST = Path(__file__).resolve().parents[2] / "arch" / "arm" / "l4gdb_arm" / "guest"

needs_clang = pytest.mark.skipif(
    not (shutil.which("clang") and shutil.which("ld.lld")), reason="clang/ld.lld missing")


@pytest.fixture(scope="module")
def arm_tc() -> GuestToolchain:
    # The same values the ARM plugin's guest_toolchain hook returns.
    return GuestToolchain(
        arch="arm",
        clang_target="armv7a-none-eabi",
        cflags=("-mcpu=cortex-a15", "-marm", "-mfloat-abi=soft"),
        ldflags=(),
        include_dir=ARM_GUEST / "include",
        crt0=ARM_GUEST / "crt0.S",
        user_ldscript=ARM_GUEST / "user.ld",
        kernel_sources=(ARM_GUEST / "kernel.S",),
        kernel_ldscript=ARM_GUEST / "kernel.ld",
    )


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("guest-build")


def symbols(elf: Path) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile

    with elf.open("rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in symtab.iter_symbols() if s.name}


@needs_clang
def test_kernel_symbols(arm_tc, out_dir):
    syms = symbols(build.build_kernel(arm_tc, out_dir))
    for name in ("_start", "l4k_trap_bp", "l4k_return", "l4k_entry_block",
                 "l4k_exit_block", "l4k_current_utcb", "l4k_kernel_end"):
        assert name in syms, name
    assert syms["l4k_return"] == syms["l4k_trap_bp"] + 4     # the return path follows the bp
    assert syms["l4k_exit_block"] - syms["l4k_entry_block"] >= 152 * 4
    assert syms["l4k_current_utcb"] - syms["l4k_exit_block"] >= 1536
    assert syms["l4k_kernel_end"] <= 0x40010000               # below the KIP


@needs_clang
@pytest.mark.parametrize("name", ["hello", "l4test"])
def test_builtin_programs(arm_tc, out_dir, name):
    elf = build.builtin_program(arm_tc, name, out_dir)
    syms = symbols(elf)
    assert syms["_start"] >= 0x40100000              # user.ld: root task image
    for sym in ("main", "__stack_top", "__bss_start", "__bss_end", "printf"):
        assert sym in syms, sym
    assert syms["__stack_top"] - syms["__bss_start"] >= 0x10000


@needs_clang
def test_second_build_is_cached(arm_tc, out_dir):
    first = build.builtin_program(arm_tc, "hello", out_dir)
    mtime = first.stat().st_mtime_ns
    t0 = time.monotonic()
    again = build.builtin_program(arm_tc, "hello", out_dir)
    assert again == first and again.stat().st_mtime_ns == mtime
    assert time.monotonic() - t0 < 0.5


@needs_clang
def test_broken_c_file_raises_with_compiler_message(arm_tc, tmp_path):
    bad = tmp_path / "broken.c"
    bad.write_text("int main(void) { return undefined_thing; }\n")
    with pytest.raises(build.BuildError) as info:
        build.build_program(arm_tc, [bad], tmp_path / "broken.elf")
    assert "broken.c" in str(info.value)
    assert "undefined_thing" in str(info.value)


def test_unknown_builtin_program(arm_tc, tmp_path):
    with pytest.raises(build.BuildError, match="no built-in program"):
        build.builtin_program(arm_tc, "no-such-app", tmp_path)


def test_missing_tool_is_explained(monkeypatch):
    monkeypatch.setenv("L4GDB_CLANG", "clang-that-does-not-exist")
    with pytest.raises(build.BuildError, match="apt-get install clang lld"):
        build.clang()


# ---- slow: boot on QEMU and walk the trap path with gdb-multiarch ----

GDB_SCRIPT = """
set pagination off
set confirm off
target remote :{port}
break l4k_trap_bp
continue
printf "STOP kind=%u\\n", ((unsigned*)&l4k_entry_block)[0]
set {{unsigned}}0x40040000 = 0x11111111
set {{unsigned}}(0x40040000+4*127) = 0x7777
set {{unsigned}}&((unsigned*)&l4k_exit_block)[15] = 0x40100000
set {{unsigned}}&((unsigned*)&l4k_exit_block)[16] = 0x10
set {{unsigned}}&((unsigned*)&l4k_exit_block)[17] = 0x40040000
set {{unsigned}}&((unsigned*)&l4k_exit_block)[18] = 0x40040000
set {{unsigned}}&((unsigned*)&l4k_exit_block)[20] = 1
set {{unsigned}}&((unsigned*)&l4k_exit_block)[21] = 0x40040000+4*65
set {{unsigned}}&((unsigned*)&l4k_exit_block)[22] = 5
set {{unsigned}}&((unsigned*)&l4k_exit_block)[27] = 0xabcd
continue
printf "STOP kind=%u detail=%u cpsr=%x utcb=%x u0=%x u69=%x u127=%x\\n", \
  ((unsigned*)&l4k_entry_block)[0], ((unsigned*)&l4k_entry_block)[1], \
  ((unsigned*)&l4k_entry_block)[20], ((unsigned*)&l4k_entry_block)[21], \
  ((unsigned*)&l4k_entry_block)[24], ((unsigned*)&l4k_entry_block)[24+69], \
  ((unsigned*)&l4k_entry_block)[24+127]
kill
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@needs_clang
@pytest.mark.skipif(not (shutil.which("qemu-system-arm") and shutil.which("gdb-multiarch")),
                    reason="qemu-system-arm/gdb-multiarch missing")
def test_boot_and_first_syscall(arm_tc, out_dir, tmp_path):
    kernel = build.build_kernel(arm_tc, out_dir)
    hello = build.builtin_program(arm_tc, "hello", out_dir)
    port = free_port()
    qemu = subprocess.Popen(
        ["qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15", "-m", "128M", "-nographic",
         "-monitor", "none", "-serial", "none", "-kernel", str(kernel),
         "-device", f"loader,file={hello}", "-S", "-gdb", f"tcp:127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):                       # wait for the gdbstub to listen
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        script = tmp_path / "boot.gdb"
        script.write_text(GDB_SCRIPT.format(port=port))
        out = subprocess.run(["gdb-multiarch", "--batch", "-nx", "-x", str(script), str(kernel)],
                             capture_output=True, text=True, timeout=60).stdout
    finally:
        qemu.kill()
        qemu.wait()
    stops = [line for line in out.splitlines() if line.startswith("STOP")]
    assert stops[0] == "STOP kind=0", out
    # hello's first call is KernelInterface (svc #1) from user mode; the
    # UTCB copy shows the pattern and the copy record's write (word 69 = 5th)
    fields = dict(f.split("=") for f in stops[1].split()[1:])
    assert fields["kind"] == "1" and fields["detail"] == "1", out
    assert int(fields["cpsr"], 16) & 0x1f == 0x10, out      # trapped from user mode
    assert fields["utcb"] == "40040000" and fields["u0"] == "11111111", out
    assert fields["u69"] == "abcd" and fields["u127"] == "7777", out
