"""Wombat's memory system calls: brk, mmap, munmap, mprotect, mremap, madvise (on
the Mm and through the sys_mm handlers with the arch's flag numbers)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from wombat_mm_env import MMAP_BASE, PAGE, STACK_TOP, TEXT, Env, Load, build_elf, sample_elf

from l4gdb.kernel.paging import R, W, X
from l4gdb.wombat import sys_mm
from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.files import FdTable, JailFile
from l4gdb.wombat.mm import MapFlags

ANON = MapFlags(anonymous=True)
FIXED = MapFlags(anonymous=True, fixed=True)


@pytest.fixture
def env() -> Env:
    return Env()


@pytest.fixture
def mm(env: Env):
    m = env.mm()
    m.exec_image("/bin/prog", sample_elf(), ["prog"], [])
    env.settle()
    return m


def errno(fn, *args, **kw) -> str:
    with pytest.raises(LinuxError) as e:
        fn(*args, **kw)
    return e.value.errno


# --- brk -----------------------------------------------------------------------------------

def test_brk_grows_shrinks_and_refuses(env, mm):
    start = mm.brk_start
    assert mm.brk(0) == start and mm.brk(start - 1) == start
    assert mm.brk(start + 5000) == start + 5000
    assert env.touch(mm, start + 4096, W, 7) == 7
    assert mm.vmas.find(start).name == "[heap]"
    assert mm.brk(start + 10) == start + 10                  # the second page goes
    assert env.touch(mm, start + 4096, R) is None
    assert mm.brk(start + 5000) == start + 5000
    assert env.touch(mm, start + 4096, R) == 0               # fresh zero page
    block = mm.mmap(start + 0x10000, PAGE, R | W, FIXED)
    assert mm.brk(block + 10) == start + 5000                # in the way: unchanged


# --- mmap ------------------------------------------------------------------------------------

def test_mmap_anonymous_top_down_hint_and_fixed_replace(env, mm):
    a = mm.mmap(0, 3 * PAGE, R | W, ANON)
    b = mm.mmap(0, PAGE, R, ANON)
    assert a + 3 * PAGE <= MMAP_BASE and b == a - PAGE
    assert mm.mmap(0x2000_0000, 100, R | W, ANON) == 0x2000_0000      # a free hint
    assert mm.mmap(a + 10, PAGE, R, ANON) not in (a, a + PAGE)         # a taken hint
    env.touch(mm, a + PAGE, W, 0x55)
    c = mm.mmap(a + PAGE, PAGE, R | W, FIXED)
    assert c == a + PAGE and env.touch(mm, c, R) == 0                  # replaced: zero
    assert len(mm.vmas.overlapping(a, a + 3 * PAGE)) == 1              # merged again


def test_mmap_errors(env, mm):
    assert errno(mm.mmap, 0, 0, R, ANON) == "EINVAL"
    assert errno(mm.mmap, 0x2000_0010, PAGE, R, FIXED) == "EINVAL"
    assert errno(mm.mmap, 0x1000, PAGE, R, FIXED) == "EPERM"
    assert errno(mm.mmap, 0xC000_0000, PAGE, R, FIXED) == "ENOMEM"      # kernel area
    assert errno(mm.mmap, 0, 0xFFFF_F000, R, ANON) == "ENOMEM"
    assert errno(mm.mmap, 0, PAGE, R, MapFlags(), None, 0) == "EBADF"
    assert errno(mm.mmap, 0, PAGE, R, ANON, None, 10) == "EINVAL"
    mm.mmap(0x2000_0000, PAGE, R, FIXED)
    assert errno(mm.mmap, 0x2000_0000, PAGE, R,
                 MapFlags(anonymous=True, noreplace=True)) == "EEXIST"


def test_mmap_until_memory_is_full_is_enomem(env, mm):
    with pytest.raises(LinuxError) as e:
        for _ in range(100):
            mm.mmap(0, 64 << 20, R, ANON)
    assert e.value.errno == "ENOMEM"


# --- munmap, mprotect, madvise ----------------------------------------------------------

def test_munmap_middle_splits_the_area(env, mm):
    a = mm.mmap(0, 3 * PAGE, R | W, ANON)
    for i in range(3):
        env.touch(mm, a + i * PAGE, W, i + 1)
    in_use = env.ctx.frames.in_use
    assert mm.munmap(a + PAGE, PAGE) == 0
    assert env.touch(mm, a + PAGE, R) is None
    assert env.touch(mm, a, R) == 1 and env.touch(mm, a + 2 * PAGE, R) == 3
    assert env.ctx.frames.in_use == in_use - 1
    assert [(v.start, v.end) for v in mm.vmas.overlapping(a, a + 3 * PAGE)] == \
        [(a, a + PAGE), (a + 2 * PAGE, a + 3 * PAGE)]
    assert mm.munmap(a + PAGE, PAGE) == 0                             # nothing there: fine
    assert errno(mm.munmap, a + 1, PAGE) == "EINVAL"
    assert errno(mm.munmap, a, 0) == "EINVAL"


def test_mprotect_revokes_rights_in_the_page_tables(env, mm):
    a = mm.mmap(0, 2 * PAGE, R | W, ANON)
    env.touch(mm, a, W, 9)
    assert env.hw(mm, a)[1] & W
    assert mm.mprotect(a, PAGE, R) == 0
    assert not env.hw(mm, a)[1] & W                                   # at once
    assert env.touch(mm, a, W, 1) is None and env.touch(mm, a, R) == 9
    assert mm.mprotect(a, PAGE, 0) == 0 and env.touch(mm, a, R) is None
    assert mm.mprotect(a, PAGE, R | W | X) == 0 and env.touch(mm, a, X) == 9
    assert [v.perms() for v in mm.vmas.overlapping(a, a + 2 * PAGE)] == ["rwxp", "rw-p"]
    assert errno(mm.mprotect, a + 1, PAGE, R) == "EINVAL"
    assert errno(mm.mprotect, a, 4 * PAGE, R) == "ENOMEM"             # runs into a hole
    assert mm.mprotect(a, 0, R) == 0


def test_mprotect_of_a_cow_page_keeps_it_shared(env, mm):
    a = mm.mmap(0, PAGE, R | W, ANON)
    env.touch(mm, a, W, 4)
    child = mm.fork()
    mm.mprotect(a, PAGE, R | W)
    assert not env.hw(mm, a)[1] & W                                   # still copy-on-write
    assert env.touch(mm, a, W, 5) == 5 and env.touch(child, a, R) == 4


def test_madvise_dontneed_drops_private_pages(env, mm):
    a = mm.mmap(0, PAGE, R | W, ANON)
    env.touch(mm, a, W, 4)
    assert mm.madvise(a, PAGE, dontneed=True) == 0
    assert env.touch(mm, a, R) == 0
    env.touch(mm, TEXT, R)
    mm.mprotect(TEXT, PAGE, R | W)
    env.touch(mm, TEXT, W, 1)
    mm.madvise(TEXT, PAGE, dontneed=True)
    assert env.touch(mm, TEXT, R) == TEXT                             # the file's bytes again
    assert errno(mm.madvise, a + 1, PAGE, dontneed=False) == "EINVAL"


# --- mremap ---------------------------------------------------------------------------------

def test_mremap_grow_in_place_shrink_and_move(env, mm):
    a = mm.mmap(0x2000_0000, 2 * PAGE, R | W, FIXED)
    env.touch(mm, a, W, 1)
    env.touch(mm, a + PAGE, W, 2)
    assert mm.mremap(a, 2 * PAGE, 4 * PAGE) == a                      # room above
    assert env.touch(mm, a + 3 * PAGE, W, 4) == 4
    mm.mmap(a + 4 * PAGE, PAGE, R, FIXED)                             # a wall
    assert errno(mm.mremap, a, 4 * PAGE, 8 * PAGE) == "ENOMEM"
    frame = mm.resident[a + PAGE]
    new = mm.mremap(a, 4 * PAGE, 8 * PAGE, maymove=True)
    assert new != a and env.touch(mm, a, R) is None
    assert env.touch(mm, new, R) == 1 and env.touch(mm, new + PAGE, R) == 2
    assert mm.resident[new + PAGE] is frame and mm.copies == 0       # moved, not copied
    assert env.touch(mm, new + 7 * PAGE, W, 8) == 8
    assert mm.mremap(new, 8 * PAGE, PAGE) == new
    assert env.touch(mm, new + PAGE, R) is None


def test_mremap_fixed_and_errors(env, mm):
    a = mm.mmap(0x2000_0000, PAGE, R | W, FIXED)
    env.touch(mm, a, W, 3)
    assert mm.mremap(a, PAGE, PAGE, maymove=True, fixed=True, new_addr=0x2100_0000) \
        == 0x2100_0000
    assert env.touch(mm, 0x2100_0000, R) == 3 and env.touch(mm, a, R) is None
    assert errno(mm.mremap, 0x2100_0000, PAGE, PAGE, fixed=True, new_addr=a) == "EINVAL"
    assert errno(mm.mremap, 0x2100_0001, PAGE, 2 * PAGE) == "EINVAL"
    assert errno(mm.mremap, 0x2100_0000, PAGE, 0) == "EINVAL"
    assert errno(mm.mremap, 0x3000_0000, PAGE, 2 * PAGE, maymove=True) == "EFAULT"
    assert errno(mm.mremap, 0x2100_0000, 2 * PAGE, 3 * PAGE, maymove=True) == "EFAULT"
    assert errno(mm.mremap, 0x2100_0000, PAGE, PAGE, maymove=True, fixed=True,
                 new_addr=0x2100_0000) == "EINVAL"                    # overlap


# --- the handlers with ARM's numbers --------------------------------------------------------

ARM_MMAP = {"MAP_SHARED": 1, "MAP_PRIVATE": 2, "MAP_FIXED": 0x10, "MAP_ANONYMOUS": 0x20,
            "MAP_GROWSDOWN": 0x100, "MAP_NORESERVE": 0x4000, "MAP_STACK": 0x20000,
            "MAP_FIXED_NOREPLACE": 0x100000, "MREMAP_MAYMOVE": 1, "MREMAP_FIXED": 2}
ARM_PROT = {"PROT_NONE": 0, "PROT_READ": 1, "PROT_WRITE": 2, "PROT_EXEC": 4}


def fake_call(mm, name: str = "arm", fds: FdTable | None = None):
    abi = SimpleNamespace(name=name, mmap_flags=ARM_MMAP, prot_flags=ARM_PROT,
                          mmap_args_in_memory=name == "x86")        # i386's old_mmap
    return SimpleNamespace(mm=mm, abi=abi, proc=SimpleNamespace(fds=fds or FdTable()))


def test_handlers_decode_flags(env, mm):
    call = fake_call(mm)
    a = sys_mm.mmap2(call, 0, 8192, 3, 0x22, -1, 0)
    assert mm.vmas.find(a).perms() == "rw-p"
    assert sys_mm.mprotect(call, a, 4096, 1) == 0 and mm.vmas.find(a).perms() == "r--p"
    assert errno(sys_mm.mprotect, call, a, 4096, 0x80) == "EINVAL"
    assert errno(sys_mm.mmap2, call, 0, 4096, 3, 0x20, -1, 0) == "EINVAL"   # no type
    assert errno(sys_mm.mmap2, call, 0, 4096, 3, 0x02, 5, 0) == "EBADF"
    assert errno(sys_mm.mremap, call, a, 4096, 8192, 4, 0) == "EINVAL"     # DONTUNMAP
    assert sys_mm.mremap(call, a, 8192, 4096, 0, 0) == a
    assert sys_mm.munmap(call, a, 4096) == 0 and mm.vmas.find(a) is None
    s = sys_mm.mmap2(call, 0, 4096, 3, 0x21, -1, 0)
    assert mm.vmas.find(s).perms() == "rw-s"
    assert sys_mm.brk(call, 0) == mm.brk_start
    assert sys_mm.madvise(call, s, 4096, 4) == 0


def test_old_mmap_reads_its_arguments_from_memory(env, mm):
    call = fake_call(mm, "x86")
    args = mm.mmap(0, PAGE, R | W, ANON)
    mm.write(args, (0x2000_0000).to_bytes(4, "little") + (4096).to_bytes(4, "little")
             + (3).to_bytes(4, "little") + (0x32).to_bytes(4, "little")
             + (0xFFFF_FFFF).to_bytes(4, "little") + bytes(4))
    assert sys_mm.mmap(call, args, 0, 0, 0, 0, 0) == 0x2000_0000
    assert sys_mm.mmap(fake_call(mm, "mips"), 0, 4096, 3, 0x22, -1, 0) > 0
    assert errno(sys_mm.mmap, fake_call(mm, "mips"), 0, 4096, 3, 0x22, -1, 100) == "EINVAL"


def test_file_mappings_read_the_file_and_share_the_cache(env, mm, tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"hello" + bytes(PAGE) + b"second page")
    fds = FdTable()
    f = JailFile(path="/data.bin", access="r", fd=os.open(path, os.O_RDONLY))
    fd = fds.install(f)
    call = fake_call(mm, fds=fds)
    a = sys_mm.mmap2(call, 0, 2 * PAGE, 1, 0x02, fd, 0)
    other = env.mm()
    b = sys_mm.mmap2(fake_call(other, fds=fds), 0, PAGE, 1, 0x01, fd, 1)
    fds.close(fd)                                       # the mapping outlives the descriptor
    assert mm.read(a, 5) == b"hello" and mm.read(a + PAGE + 5, 11) == b"second page"
    assert mm.vmas.find(a).name == "/data.bin"
    env.touch(mm, a + PAGE, R)
    env.touch(other, b, R)
    assert mm.resident[a + PAGE] is other.resident[b]   # one cached frame
    assert env.touch(mm, a + PAGE, W, 1) is None        # PROT_READ only
    assert errno(sys_mm.mmap2, call, 0, PAGE, 3, 0x01, fd, 0) == "EBADF"


def test_file_mapping_access_checks(env, mm, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    fds = FdTable()
    ro = fds.install(JailFile(path="/f", access="r", fd=os.open(path, os.O_RDONLY)))
    wo = fds.install(JailFile(path="/f", access="w", fd=os.open(path, os.O_WRONLY)))
    rw = fds.install(JailFile(path="/f", access="rw", fd=os.open(path, os.O_RDWR)))
    call = fake_call(mm, fds=fds)
    assert errno(sys_mm.mmap2, call, 0, PAGE, 1, 0x02, wo, 0) == "EACCES"
    assert errno(sys_mm.mmap2, call, 0, PAGE, 3, 0x01, ro, 0) == "EACCES"
    assert errno(sys_mm.mmap2, call, 0, PAGE, 3, 0x01, rw, 0) == "ENODEV"  # not supported
    a = sys_mm.mmap2(call, 0, PAGE, 3, 0x02, ro, 0)                        # private: fine
    assert env.touch(mm, a, W, 0x41414141) and path.read_bytes() == b"x" * 10
    for fd in (ro, wo, rw):
        fds.close(fd)


# --- stacks and limits -------------------------------------------------------------------------

def test_mmap_stays_out_of_the_stack_reach(env, mm):
    hint = STACK_TOP - 0x10_0000
    got = mm.mmap(hint, PAGE, R | W, ANON)
    assert got != hint and got < STACK_TOP - (8 << 20)


@pytest.mark.parametrize("plugin", ["l4gdb_arm", "l4gdb_mips", "l4gdb_x86"])
def test_with_each_arch_abi(plugin):
    abi = pytest.importorskip(f"{plugin}.linux_abi").ABI
    from l4gdb.wombat.mm import Layout, MmContext

    env = Env(abi.elf_machine)
    env.ctx = MmContext(env.k, env.host, Layout.from_abi(abi))
    mm = env.mm()
    prog = build_elf([Load(0x40_0000, bytes(0x100))], 0x40_0000, machine=abi.elf_machine)
    mm.exec_image("/bin/prog", prog, ["prog"], [])
    env.settle()
    f, p = abi.mmap_flags, abi.prot_flags
    call = SimpleNamespace(mm=mm, abi=abi, proc=SimpleNamespace(fds=FdTable()))
    a = sys_mm.mmap2(call, 0, 3 * PAGE, p["PROT_READ"] | p["PROT_WRITE"],
                     f["MAP_PRIVATE"] | f["MAP_ANONYMOUS"], -1, 0)
    assert a + 3 * PAGE <= abi.mmap_base and mm.vmas.find(a).perms() == "rw-p"
    assert env.touch(mm, a, W, 5) == 5
    assert sys_mm.mprotect(call, a, PAGE, p["PROT_READ"] | p["PROT_SEM"]) == 0
    assert env.touch(mm, a, W, 6) is None
    with pytest.raises(LinuxError) as e:                 # two areas since the mprotect
        sys_mm.mremap(call, a, 3 * PAGE, 4 * PAGE, f["MREMAP_MAYMOVE"], 0)
    assert e.value.errno == "EFAULT"
    assert sys_mm.mremap(call, a + PAGE, 2 * PAGE, 4 * PAGE, f["MREMAP_MAYMOVE"], 0) > 0
    _, sp = mm.exec_image("/bin/prog", prog, ["prog"], [])
    assert abi.stack_top - PAGE <= sp < abi.stack_top
    assert mm.ctx.layout.read_implies_exec is (abi.name == "x86")
