"""The per-arch Linux ABIs (l4gdb.archkit.linux_abi, generated arch/*/linux_abi.py)."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from abi_helpers import abi_of

from l4gdb.archkit.linux_abi import AbiError, LinuxAbi, StructLayout
from l4gdb.kernel.kernel import BootConfig

ROOT = Path(__file__).resolve().parents[2]
ARCHES = ("arm", "mips", "x86")
DEB_ARCH = {"arm": "armhf", "mips": "mipsel", "x86": "i386"}
QEMU_USER = {"arm": "qemu-arm-static", "mips": "qemu-mipsel-static", "x86": "qemu-i386-static"}
SCRIPT = "echo a b c | wc -w; ls /; seq 3 | sort"

# What `qemu-*-static -strace busybox sh -c SCRIPT` showed for Debian 12's
# busybox-static 1.35.0 (the same names on all three arches but for the ids and
# rlimit calls; "rseq" is the number qemu called unknown).
BUSYBOX_CALLS = {
    "brk", "clock_gettime64", "clone", "close", "dup2", "execve", "exit_group",
    "getdents64", "getpid", "getppid", "getrandom", "ioctl", "mprotect", "openat", "pipe2",
    "prctl", "read", "readlink", "rt_sigaction", "set_robust_list", "set_tid_address",
    "sigreturn", "rt_sigreturn", "statx", "uname", "wait4", "write", "rseq",
}
BUSYBOX_ARCH_CALLS = {
    "arm": {"getuid32", "ugetrlimit", "set_tls"},
    "mips": {"getuid", "getrlimit", "set_thread_area"},
    "x86": {"getuid32", "ugetrlimit", "set_thread_area"},
}


@pytest.mark.parametrize("arch", ARCHES)
def test_the_hook_returns_each_arch_its_abi(plugins, arch):
    abi = abi_of(plugins, arch)
    assert abi.name == arch
    info = plugins.hook.l4gdb_arch_info(arch=arch)
    for reg in (abi.syscall_nr_reg, abi.result_reg, *abi.syscall_arg_regs):
        assert reg in info.reg_names          # named as the arch plugin names them
    toolchain = plugins.hook.l4gdb_guest_toolchain(arch=arch)
    assert abi.elf_machine == toolchain.elf_machine
    assert plugins.hook.l4gdb_linux_abi(arch="nope") is None


@pytest.mark.parametrize("arch", ARCHES)
def test_every_call_busybox_makes_is_in_the_table(plugins, arch):
    names = set(abi_of(plugins, arch).syscalls.values())
    assert BUSYBOX_CALLS | BUSYBOX_ARCH_CALLS[arch] <= names


def _busybox(arch: str) -> Path | None:
    for base in (Path("/tmp/bb") / DEB_ARCH[arch],
                 Path(os.environ.get("L4GDB_ROOTFS_DIR", "~/.cache/l4gdb/rootfs")).expanduser()
                 / arch):
        if (base / "bin/busybox").is_file():
            return base
    return None


@pytest.mark.parametrize("arch", ARCHES)
def test_calls_qemu_user_sees_busybox_make_are_in_the_table(plugins, arch):
    root, qemu = _busybox(arch), shutil.which(QEMU_USER[arch])
    if root is None or qemu is None:
        pytest.skip(f"needs {QEMU_USER[arch]} and an unpacked busybox-static")
    out = subprocess.run([qemu, "-strace", "./bin/busybox", "sh", "-c", SCRIPT], cwd=root,
                         capture_output=True, text=True, timeout=120)
    log = out.stdout + out.stderr
    abi = abi_of(plugins, arch)
    # parent and child write the log at once: a line may be torn ("1234 0wait4(")
    seen = set(re.findall(r"^\d+ ([a-z_][a-z_0-9]*)\(", log, re.M))
    unknown = {int(n) for n in re.findall(r"Unknown syscall (\d+)", log)}
    assert "3" in out.stdout and len(seen) > 20
    assert seen <= set(abi.syscalls.values())
    assert unknown <= set(abi.syscalls)


KNOWN = [
    # arch, table, name, value
    ("arm", "syscalls", "write", 4), ("x86", "syscalls", "write", 4),
    ("mips", "syscalls", "write", 4004), ("arm", "syscalls", "set_tls", 0xF0005),
    ("mips", "syscalls", "rt_sigreturn", 4193), ("x86", "syscalls", "set_thread_area", 243),
    ("mips", "errno", "ENOSYS", 89), ("arm", "errno", "ENOSYS", 38),
    ("x86", "errno", "ENOSYS", 38), ("mips", "errno", "EAGAIN", 11),
    ("arm", "errno", "ERESTARTSYS", 512),
    ("mips", "signals", "SIGCHLD", 18), ("arm", "signals", "SIGCHLD", 17),
    ("x86", "signals", "SIGCHLD", 17), ("mips", "signals", "SIGRTMAX", 128),
    ("arm", "signals", "SIGRTMAX", 64),
    ("arm", "open_flags", "O_DIRECTORY", 0x4000), ("x86", "open_flags", "O_DIRECTORY", 0x10000),
    ("mips", "open_flags", "O_CREAT", 0x100), ("x86", "open_flags", "O_CREAT", 0x40),
    ("mips", "mmap_flags", "MAP_ANONYMOUS", 0x800), ("arm", "mmap_flags", "MAP_ANONYMOUS", 0x20),
    ("mips", "ioctls", "TCGETS", 0x540D), ("arm", "ioctls", "TCGETS", 0x5401),
    ("mips", "ioctls", "TIOCGWINSZ", 0x40087468), ("x86", "ioctls", "TIOCGWINSZ", 0x5413),
    ("mips", "sig_how", "SIG_BLOCK", 1), ("arm", "sig_how", "SIG_BLOCK", 0),
    ("mips", "rlimits", "RLIMIT_NOFILE", 5), ("arm", "rlimits", "RLIMIT_NOFILE", 7),
    ("mips", "rlimits", "RLIM_INFINITY", 0x7FFFFFFF),
    ("arm", "sa_flags", "SA_RESTORER", 0x04000000), ("mips", "sa_flags", "SA_SIGINFO", 8),
    ("mips", "termios", "NCCS", 23), ("arm", "termios", "NCCS", 19),
    ("arm", "auxv", "AT_RANDOM", 25), ("x86", "auxv", "AT_SYSINFO", 32),
    ("arm", "fcntl", "AT_FDCWD", -100), ("arm", "clone_flags", "CLONE_VM", 0x100),
]


@pytest.mark.parametrize(("arch", "table", "name", "value"), KNOWN)
def test_known_numbers(plugins, arch, table, name, value):
    abi = abi_of(plugins, arch)
    if table == "syscalls":
        assert abi.nr(name) == value
    else:
        assert getattr(abi, table)[name] == value


def test_conventions_differ_where_linux_differs(plugins):
    arm, mips, x86 = (abi_of(plugins, a) for a in ARCHES)
    assert (arm.syscall_nr_reg, arm.syscall_arg_regs[:1], arm.result_reg) == ("r7", ("r0",), "r0")
    assert mips.syscall_arg_regs == ("r4", "r5", "r6", "r7") and mips.stack_args_offset == 16
    assert mips.error_flag_reg == "r7" and arm.error_flag_reg is None
    assert x86.syscall_arg_regs[0] == "ebx" and x86.syscall_insn_len == 2
    assert mips.sigset_bytes == 16 and arm.sigset_bytes == x86.sigset_bytes == 8
    assert (arm.platform, arm.uname_machine) == ("v7l", "armv7l")
    assert arm.hwcap & 1 << 6 and arm.hwcap & 1 << 12   # HWCAP_VFP, HWCAP_NEON (armhf)
    assert mips.signal_name(18) == "SIGCHLD" and arm.signal_name(17) == "SIGCHLD"
    assert arm.signal_name(35) == "SIGRTMIN+3"
    assert arm.errno_name(11) == "EAGAIN" and mips.errno_name(89) == "ENOSYS"
    # how a signal handler is entered, and the arch quirks of the Linux server
    assert (arm.handler_arg_regs, arm.handler_return_reg, arm.thumb_bit) == \
        (("r0", "r1", "r2"), "lr", 1 << 5)
    assert (mips.handler_return_reg, mips.handler_function_reg) == ("r31", "r25")
    assert x86.handler_arg_regs == () and x86.handler_return_reg is None
    assert [a.read_implies_exec for a in (arm, mips, x86)] == [False, False, True]
    assert [a.tls_user_desc for a in (arm, mips, x86)] == [False, False, True]
    assert [a.mmap_args_in_memory for a in (arm, mips, x86)] == [False, False, True]
    assert [a.pipe_second_reg for a in (arm, mips, x86)] == [None, "r3", None]


@pytest.mark.parametrize("arch", ARCHES)
def test_host_facts_name_debians_arch_and_qemu_user(plugins, arch):
    abi = abi_of(plugins, arch)
    assert (abi.debian_arch, abi.qemu_user) == (DEB_ARCH[arch], QEMU_USER[arch])


def test_struct_layouts(plugins):
    arm, mips, x86 = (abi_of(plugins, a) for a in ARCHES)
    assert arm.structs["stat64"].size == 104 and arm.structs["stat64"].offset("st_ino") == 96
    assert x86.structs["stat64"].size == 96 and x86.structs["stat64"].offset("st_size") == 44
    assert mips.structs["stat64"].offset("st_ino") == 16
    # rt_sigaction: handler first on ARM/i386, flags first on MIPS
    assert arm.structs["sigaction"].offset("sa_handler") == 0
    assert arm.structs["sigaction"].offset("sa_mask") == 12
    assert mips.structs["sigaction"].offset("sa_flags") == 0
    assert mips.structs["sigaction"].offset("sa_mask") == 8
    for abi in (arm, mips, x86):
        cc = abi.structs["termios"].fields["c_cc"][1]
        assert cc == f"{abi.termios['NCCS']}B"
        assert abi.structs["sigaction"].fields["sa_mask"][1] == f"{abi.sigset_bytes}s"
        assert abi.structs["statx"].size == 256 and abi.structs["siginfo"].size == 128
    assert mips.structs["siginfo"].offset("si_code") == 4       # swapped with si_errno
    assert arm.structs["siginfo"].offset("si_code") == 8


def test_struct_layout_packs_and_unpacks(plugins):
    st = abi_of(plugins, "arm").structs["stat64"]
    data = st.pack({"st_mode": 0o100644, "st_size": 1 << 33, "__pad0": (0, 0, 0, 0)})
    assert len(data) == 104
    assert struct.unpack_from("<q", data, 48)[0] == 1 << 33
    back = st.unpack(data)
    assert back["st_mode"] == 0o100644 and back["st_size"] == 1 << 33
    assert back["__pad0"] == (0, 0, 0, 0)
    wrapped = st.unpack(st.pack({"st_uid": -1, "st_size": -2}))
    assert wrapped["st_uid"] == 0xFFFFFFFF and wrapped["st_size"] == -2   # as C stores them
    with pytest.raises(AbiError):
        StructLayout("bad", 4, {"x": (2, "I")})


def test_arguments_and_results_follow_the_convention(plugins):
    mips, arm = abi_of(plugins, "mips"), abi_of(plugins, "arm")
    stack = {0x7000 + 16 + 4 * i: 50 + i for i in range(4)}
    regs = {"r4": 1, "r5": 2, "r6": 3, "r7": 4, "r29": 0x7000}
    assert mips.arg_words(regs, stack.__getitem__) == [1, 2, 3, 4, 50, 51, 52, 53]
    assert mips.result_regs(-mips.errno["ENOENT"]) == {"r2": 2, "r7": 1}
    assert mips.result_regs(7) == {"r2": 7, "r7": 0}
    arm_regs = {f"r{i}": i + 10 for i in range(8)}
    assert arm.arg_words(arm_regs, stack.__getitem__) == [10, 11, 12, 13, 14, 15]
    assert arm.result_regs(-38) == {"r0": 0xFFFFFFDA}


@pytest.mark.parametrize("arch", ARCHES)
def test_process_layout_fits_the_arch(plugins, arch):
    abi = abi_of(plugins, arch)
    layout = plugins.hook.l4gdb_memory_layout(arch=arch)
    tables = plugins.hook.l4gdb_page_tables(arch=arch, layout=layout)
    if tables is not None:                  # the user range the page tables really give
        assert abi.user_top == tables.user_top
        for lo, hi in tables.kernel_areas:
            if lo < abi.user_top:
                assert not abi.user_range_free(lo, min(hi, abi.user_top))
    assert any(lo <= layout["kernel_low"] and layout["kernel_high"] <= hi
               for lo, hi in abi.reserved)
    kip_log2 = {f.name: f.default for f in dataclasses.fields(BootConfig)}["kip_area_log2"]
    assert abi.l4_kip_area[1] == kip_log2
    assert abi.user_range_free(abi.mmap_base - (1 << 20), abi.stack_top)
    assert not abi.user_range_free(*abi.l4_utcb_area[:1], abi.l4_utcb_area[0] + 4096)


def test_arm_kuser_helper_page(plugins):
    abi = abi_of(plugins, "arm")
    page, base = abi.kuser_page, abi.kuser_page_addr
    assert base == 0xFFFF0000 and len(page) == 4096

    def word(addr: int) -> int:
        return struct.unpack_from("<I", page, addr - base)[0]

    assert word(0xFFFF0FFC) >= 5                      # __kuser_helper_version
    assert word(0xFFFF0FE0) == 0xEE1D0F70             # mrc p15, 0, r0, c13, c0, 3
    assert word(0xFFFF0FE4) == 0xE12FFF1E             # bx lr
    assert word(0xFFFF0FA0) == 0xF57FF05B             # dmb ish
    assert word(0xFFFF0FC4) & 0x0FF00FFF == 0x01900F9F   # ldrex in __kuser_cmpxchg
    assert word(0xFFFF0F60) != 0                      # __kuser_cmpxchg64 is there
    assert abi.user_range_free(base, base + 4096)     # a user page (pagetables.py: TTBR0 for all)
    assert abi_of(plugins, "x86").kuser_page is None


def test_mips_sigreturn_trampoline(plugins):
    abi = abi_of(plugins, "mips")
    code = abi.sigreturn_trampoline
    for name in ("sigreturn", "rt_sigreturn"):
        li, syscall = struct.unpack_from("<II", code, abi.sigreturn_offsets[name])
        assert li == 0x24020000 | abi.nr(name)         # addiu v0, zero, __NR_...
        assert syscall == 0x0000000C
    assert "SA_RESTORER" not in abi.sa_flags
    page = abi.trampoline_addr
    assert page >= abi.stack_top and abi.user_range_free(page, page + 4096)
    with pytest.raises(AbiError, match="trampoline"):
        dataclasses.replace(abi, trampoline_addr=abi.l4_utcb_area[0])
    assert abi_of(plugins, "arm").sigreturn_trampoline is None


def test_a_missing_or_inconsistent_field_is_refused(plugins):
    abi = abi_of(plugins, "arm")
    with pytest.raises(AbiError, match="ENOSYS"):
        dataclasses.replace(abi, errno={k: v for k, v in abi.errno.items() if k != "ENOSYS"})
    with pytest.raises(AbiError, match="result_reg"):
        dataclasses.replace(abi, result_reg=None)
    with pytest.raises(AbiError, match="TIOCGWINSZ"):
        dataclasses.replace(abi, ioctls={k: v for k, v in abi.ioctls.items()
                                         if k != "TIOCGWINSZ"})
    with pytest.raises(AbiError, match="st_ino"):
        st = abi.structs["stat64"]
        broken = StructLayout("stat64", st.size,
                              {k: v for k, v in st.fields.items() if k != "st_ino"})
        dataclasses.replace(abi, structs={**abi.structs, "stat64": broken})
    with pytest.raises(AbiError, match="SA_RESTORER"):
        dataclasses.replace(abi, sa_flags={k: v for k, v in abi.sa_flags.items()
                                           if k != "SA_RESTORER"})
    with pytest.raises(AbiError, match="L4 area"):
        dataclasses.replace(abi, l4_kip_area=(0x40000000, 12))      # the kernel image
    with pytest.raises(AbiError, match="overlap"):
        dataclasses.replace(abi, l4_utcb_area=abi.l4_kip_area)
    with pytest.raises(AbiError, match="return register"):
        dataclasses.replace(abi, handler_return_reg=None)
    with pytest.raises(AbiError, match="one bit"):
        dataclasses.replace(abi, thumb_bit=0x60)
    with pytest.raises(AbiError, match="Debian"):
        dataclasses.replace(abi, debian_arch="")
    with pytest.raises(AbiError, match="ELF machine"):
        dataclasses.replace(abi, elf_machine="EM_NOSUCH")
    with pytest.raises(TypeError):
        kwargs = {f.name: getattr(abi, f.name) for f in dataclasses.fields(abi) if f.init}
        del kwargs["signals"]
        LinuxAbi(**kwargs)
    with pytest.raises(TypeError):
        abi.syscalls[4] = "read"                            # the tables are read-only


def test_generated_modules_match_the_headers():
    if not Path("/usr/arm-linux-gnueabihf/include/asm/unistd.h").is_file() \
            or shutil.which("clang") is None:
        pytest.skip("needs clang and linux-libc-dev-armhf-cross")
    committed = (ROOT / "arch/arm/l4gdb_arm/linux_abi.py").read_text()
    installed = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                                "linux-libc-dev-armhf-cross"], capture_output=True, text=True)
    if f"linux-libc-dev-armhf-cross {installed.stdout.strip()};" not in committed:
        pytest.skip("other cross headers than the committed tables were made from")
    out = subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "scripts/gen-linux-abi"),
                          "--check", "arm"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
