"""Wombat memory with real programs: a Linux thread whose pager is a host server
calling Mm.fault, a clang-built ARM program, Debian's busybox-static."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from wombat_mm_env import KIP_AREA, PAGE, STACK_TOP, TEXT, UTCB_AREA, Env, sample_elf

from l4gdb.kernel.paging import R, W, X
from l4gdb.kernel.thread import State
from l4gdb.kernel.types import MsgTag, ThreadId
from l4gdb.wombat.elfload import AT
from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.frames import FramePool
from l4gdb.wombat.mm import Layout, MapFlags, Mm

BUSYBOX_DIR = Path("/tmp/bb")             # Debian busybox-static .debs unpacked per arch


class Pager:
    """The Linux server's page-fault path, reduced to Mm.fault."""

    def __init__(self, mm: Mm) -> None:
        self.mm = mm
        self.faults: list[tuple[int, int]] = []

    def handle(self, kernel, sender, words):
        tag = MsgTag.from_raw(words[0])
        self.faults.append((words[1], tag.label & 7))
        if self.mm.fault(words[1], tag.label & 7):
            return [MsgTag().raw(kernel.bits)]
        return None


def run_in(env: Env, mm: Mm) -> tuple[int, Pager]:
    """An L4 thread in mm's space, paged by a host Pager, running now."""
    k, m = env.k, env.m
    pager = Pager(mm)
    p = k.new_thread(ThreadId(200, 1).raw(32), env.host, name="pager")
    p.host, p.activated, p.state, p.priority = pager, True, State.WAITING, 255
    t = k.new_thread(ThreadId(201, 1).raw(32), mm.space, scheduler=p.global_id, name="linux")
    t.utcb_addr = UTCB_AREA.base
    k.init_utcb(t, p.global_id)
    t.priority, t.state = 100, State.RUNNING
    k.wake(t)
    env.settle()
    m.set_priority(m.root, 10)
    assert m.running == t.global_id
    return t.global_id, pager


def test_a_linux_thread_faults_its_program_in_through_its_pager():
    env = Env()
    mm = env.mm()
    mm.exec_image("/bin/prog", sample_elf(), ["prog"], [])
    tid, pager = run_in(env, mm)
    m = env.m
    assert m.access(TEXT + 0x44, X) is None                  # fault -> pager -> mapped
    assert m.running == tid and m.access(TEXT + 0x44, X) == TEXT + 0x44
    assert m.access(0x30100, W, 0x77) is None                # data: a private copy
    assert m.access(0x30100, W, 0x77) == 0x77 and mm.read(0x30100, 4) == b"\x77\0\0\0"
    assert pager.faults == [(TEXT + 0x44, X), (0x30100, W)]
    assert m.access(0x2000_0000, R) is None                  # no area: the pager refuses
    assert m.running != tid


def _arm_program(tmp_path: Path) -> bytes:
    if not (shutil.which("clang") and shutil.which("ld.lld")):
        pytest.skip("clang/ld.lld not installed")
    src = tmp_path / "p.c"
    src.write_text("int counter = 7; char buf[20000];\n"
                   "void _start(void) { counter++; buf[19999] = 1; for (;;) ; }\n")
    out = tmp_path / "p"
    subprocess.run(["clang", "--target=armv7a-none-eabi", "-O1", "-nostdlib", "-static",
                    "-fuse-ld=lld", "-Wl,-e,_start", "-o", str(out), str(src)], check=True,
                   capture_output=True)
    return out.read_bytes()


def test_a_clang_built_arm_program(tmp_path):
    from elftools.elf.elffile import ELFFile
    data = _arm_program(tmp_path)
    elf = ELFFile(open(tmp_path / "p", "rb"))
    syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
    env = Env()
    mm = env.mm()
    entry, sp = mm.exec_image("/p", data, ["p"], ["HOME=/"])
    assert entry == elf["e_entry"] and sp % 16 == 0
    assert mm.read(syms["counter"], 4) == (7).to_bytes(4, "little")
    assert mm.read(syms["buf"], 20000) == bytes(20000)
    assert env.touch(mm, syms["buf"] + 19996, W, 1) == 1
    assert env.touch(mm, entry & ~3, X) is not None


@pytest.mark.parametrize("arch,machine", [("armhf", "EM_ARM"), ("mipsel", "EM_MIPS"),
                                          ("i386", "EM_386")])
def test_busybox_static_loads_and_shares_its_text(arch, machine):
    path = BUSYBOX_DIR / arch / "bin" / "busybox"
    if not path.exists():
        pytest.skip(f"Debian busybox-static ({arch}) not unpacked in {BUSYBOX_DIR}")
    from elftools.elf.elffile import ELFFile
    data = path.read_bytes()
    elf = ELFFile(open(path, "rb"))
    loads = [seg.header for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
    text = next(h for h in loads if h["p_flags"] & X)
    rw = next(h for h in loads if h["p_flags"] & W)
    env = Env(machine, read_implies_exec=machine == "EM_386")
    a, b = env.mm(), env.mm()
    entry, sp = a.exec_image("/bin/busybox", data, ["sh", "-c", "true"], ["PATH=/bin"])
    b.exec_image("/bin/sh", data, ["sh"], [])
    env.settle()
    assert entry == elf["e_entry"] and a.read(loads[0]["p_vaddr"], 4) == b"\x7fELF"
    assert a.read(sp, 4) == (3).to_bytes(4, "little")          # argc
    raw = a.read(sp, STACK_TOP - sp)
    vals = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw) - 3, 4)]
    aux = dict(zip(vals[7::2], vals[8::2], strict=False))    # argc, 3 argv, NULL, 1 env, NULL
    # AT_PHDR: the headers inside the first PT_LOAD (file offset 0).
    assert aux[AT["AT_PHDR"]] == loads[0]["p_vaddr"] + elf["e_phoff"]
    assert aux[AT["AT_ENTRY"]] == entry
    pc = entry & ~3
    assert env.touch(a, pc, X) is not None and env.touch(b, pc, X) is not None
    assert a.resident[pc & ~0xFFF] is b.resident[pc & ~0xFFF]
    assert a.resident[pc & ~0xFFF].cached and text["p_vaddr"] <= pc
    assert env.touch(a, rw["p_vaddr"] & ~3, W, 0) == 0
    assert a.resident[rw["p_vaddr"] & ~0xFFF] is not b.resident.get(rw["p_vaddr"] & ~0xFFF)
    assert a.brk_start == (rw["p_vaddr"] + rw["p_memsz"] + PAGE - 1) & ~(PAGE - 1)


def test_create_shares_one_context_per_frame_pool():
    env = Env()
    abi = SimpleNamespace(
        name="x86", elf_machine="EM_386", hwcap=5, hwcap2=0, platform="i686",
        l4_kip_area=(KIP_AREA.base, 12), l4_utcb_area=(UTCB_AREA.base, 16),
        stack_top=STACK_TOP, mmap_base=0xB000_0000, user_top=0xC000_0000,
        reserved=((0x4000_0000, 0x4001_0000),), kuser_page_addr=None, trampoline_addr=None,
        read_implies_exec=True)
    frames = FramePool(env.k, env.host)
    a = Mm.create(env.k, env.host, abi, frames)
    b = Mm.create(env.k, env.host, abi, frames)
    assert a.ctx is b.ctx and a.ctx.frames is frames
    lay: Layout = a.ctx.layout
    assert lay.read_implies_exec and lay.machine == "EM_386" and lay.auxv["AT_PLATFORM"] == "i686"
    assert not a.ctx.usable(0x4000_0000, 0x4000_1000) and a.ctx.usable(0x3FFF_0000, 0x4000_0000)
    assert a.ctx.top == 0xC000_0000
    with pytest.raises(LinuxError) as e:
        a.mmap(0x4000_0000, PAGE, R | W, MapFlags(anonymous=True, fixed=True))
    assert e.value.errno == "ENOMEM"                     # the kernel image's alias
