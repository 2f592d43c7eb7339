"""A native program's memsection shared with Linux processes (wombat/shared.py)
on the fake target: the share message and its errors, /dev/iguana, read and
write, MAP_SHARED mappings of the memsection's own frames (across fork), private
copies, and the memsection's deletion taking it out of every process."""

from __future__ import annotations

import pytest
from fake_target import ARCH32, FakeMachine
from wombat_mm_env import Load, build_elf

from l4gdb.iguana import install as install_iguana
from l4gdb.iguana.server import split_passwd
from l4gdb.kernel.paging import R, W, X
from l4gdb.kernel.types import MsgTag
from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.mapcalls import MapFlags
from l4gdb.wombat.server import SERVER_THREAD_NO, WombatConfig, install
from l4gdb.wombat.shared import SHARE_LABEL, MemsectionFile

abi_mod = pytest.importorskip("l4gdb_arm.linux_abi")
ABI = abi_mod.ABI
TEXT = 0x0040_0000
PAGE = 0x1000


class World:
    def __init__(self, tmp_path) -> None:
        (tmp_path / "bin").mkdir()
        prog = build_elf([Load(TEXT, bytes(0x200), flags=R | X)], TEXT)
        (tmp_path / "bin" / "prog").write_bytes(prog)
        (tmp_path / "bin" / "prog").chmod(0o755)
        self.m = FakeMachine(ARCH32, paging=True)
        self.iguana = install_iguana(self.m.kernel)
        self.wombat = install(self.m.kernel, ABI, WombatConfig(rootfs=str(tmp_path),
                                                               argv=["/bin/prog"]),
                              iguana=self.iguana)
        root = self.m.kernel.thread_by_global(self.m.root)
        self.pd = self.iguana.pd_of(root)
        self.proc = self.wombat.init

    def memsection(self, content: bytes = b"", size: int = 2 * PAGE):
        ms = self.iguana.create_memsection(self.pd, size)
        k = self.m.kernel
        if content:
            k.write_memory(k.paging.kernel_address(ms.frames[0]), content)
        return ms

    def share(self, ref: int, passwd: int, rights: int, name: str) -> int:
        """The root task (the native program) sends the share message; the reply label."""
        raw = name.encode().ljust(32, b"\0")
        words = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, 32, 4)]
        tid = self.m.tid(SERVER_THREAD_NO)
        assert self.m.running == self.m.root
        pw = split_passwd(passwd, 32)                   # two words on 32-bit
        tag = MsgTag(u=2 + len(pw) + len(words), label=SHARE_LABEL).raw(32)
        self.m.ipc(tid, tid, 0, tag, ref, *pw, rights, *words)
        reply = MsgTag.from_raw(self.m.mr(0))
        assert not reply.error
        return reply.label

    def open(self, path: str, mode: str = "O_RDWR"):
        return self.wombat.vfs.open(self.proc, path, ABI.open_flags[mode])

    def frame_bytes(self, pa: int, n: int) -> bytes:
        k = self.m.kernel
        return k.read_memory(k.paging.kernel_address(pa), n)


@pytest.fixture
def w(tmp_path) -> World:
    return World(tmp_path)


def test_share_checks_the_capability_the_name_and_the_rights(w):
    ms = w.memsection()
    assert w.share(ms.ref, ms.passwd ^ 1, R | W, "x") == 33          # forged: EPERM
    assert w.share(ms.ref + PAGE * 64, ms.passwd, R | W, "x") == 2    # no such object: ENOENT
    assert w.share(ms.ref, ms.passwd, 0, "x") == 22                   # no rights: EINVAL
    assert w.share(ms.ref, ms.passwd, R, "../x") == 22                # a path: EINVAL
    assert w.share(ms.ref, ms.passwd, R | W, "data") == 0
    assert w.share(ms.ref, ms.passwd, R, "data") == 17                # taken: EEXIST
    assert sorted(w.wombat.shared.names()) == ["data"]
    assert [s["name"] for s in w.wombat.snapshot()["shared"]] == ["data"]


def test_dev_iguana_reads_and_writes_the_memsection(w):
    ms = w.memsection(b"from the native side")
    assert w.share(ms.ref, ms.passwd, R | W, "data") == 0
    f = w.open("/dev/iguana/data")
    assert isinstance(f, MemsectionFile)
    assert f.stat().size == 2 * PAGE
    assert f.pread(20, 0) == b"from the native side"
    assert f.pwrite(b"LINUX", PAGE - 2) == 5                          # across the page edge
    assert w.frame_bytes(ms.frames[0] + PAGE - 2, 2) == b"LI"
    assert w.frame_bytes(ms.frames[1], 3) == b"NUX"
    assert f.pread(10, 2 * PAGE - 4) == bytes(4)                      # clipped at the end
    with pytest.raises(LinuxError) as e:
        f.pwrite(b"x", 2 * PAGE)
    assert e.value.errno == "ENOSPC"
    entries = {d.name for d in w.open("/dev/iguana", "O_RDONLY").list_entries()}
    assert "data" in entries


def test_read_only_share_refuses_writers(w):
    ms = w.memsection(b"ro")
    assert w.share(ms.ref, ms.passwd, R, "ro") == 0
    for mode in ("O_RDWR", "O_WRONLY"):
        with pytest.raises(LinuxError) as e:
            w.open("/dev/iguana/ro", mode)
        assert e.value.errno == "EACCES"
    assert w.open("/dev/iguana/ro", "O_RDONLY").pread(2, 0) == b"ro"


def test_shared_mapping_uses_the_memsection_frames_and_survives_fork(w):
    ms = w.memsection(b"native")
    assert w.share(ms.ref, ms.passwd, R | W, "data") == 0
    sm = w.wombat.shared.names()["data"]
    mm = w.proc.mm
    addr = mm.mmap(0, 2 * PAGE, R | W, MapFlags(shared=True), sm, 0, "/dev/iguana/data")
    assert mm.fault(addr, W)
    node = mm.space.pages[addr]
    assert node.paddr == ms.frames[0] and node.rights & W
    # Iguana mapped it: the node hangs below Iguana's root of the frame.
    root = w.iguana.root_node(ms.frames[0])
    parent = node.parent
    while parent is not None and parent is not root:
        parent = parent.parent
    assert parent is root
    assert mm.read(addr, 6) == b"native"
    mm.write(addr + PAGE, b"linux")
    assert w.frame_bytes(ms.frames[1], 5) == b"linux"
    child = mm.fork()
    assert child.fault(addr, W)
    assert child.space.pages[addr].paddr == ms.frames[0]             # not copied on write
    child.write(addr, b"CHILD!")
    assert w.frame_bytes(ms.frames[0], 6) == b"CHILD!"
    child.release()
    mm.munmap(addr, 2 * PAGE)
    assert w.frame_bytes(ms.frames[0], 6) == b"CHILD!"               # the frames stay Iguana's


def test_private_mapping_copies_on_write(w):
    ms = w.memsection(b"native")
    assert w.share(ms.ref, ms.passwd, R | W, "data") == 0
    sm = w.wombat.shared.names()["data"]
    mm = w.proc.mm
    addr = mm.mmap(0, PAGE, R | W, MapFlags(shared=False), sm, 0, "/dev/iguana/data")
    assert mm.fault(addr, R) and mm.space.pages[addr].paddr == ms.frames[0]
    mm.write(addr, b"mine")
    assert mm.space.pages[addr].paddr != ms.frames[0]
    assert w.frame_bytes(ms.frames[0], 6) == b"native"
    assert mm.read(addr, 6) == b"mineve"


def test_deleting_the_memsection_takes_it_from_every_process(w):
    ms = w.memsection(b"native")
    assert w.share(ms.ref, ms.passwd, R | W, "data") == 0
    sm = w.wombat.shared.names()["data"]
    f = w.open("/dev/iguana/data")
    mm = w.proc.mm
    addr = mm.mmap(0, PAGE, R | W, MapFlags(shared=True), sm, 0, "/dev/iguana/data")
    assert mm.fault(addr, W)
    w.iguana.delete_memsection(ms)
    assert addr not in mm.space.pages
    assert not mm.fault(addr, R)                                       # SIGSEGV
    with pytest.raises(LinuxError) as e:
        mm.read(addr, 4)
    assert e.value.errno == "EFAULT"
    with pytest.raises(LinuxError) as e:
        f.pread(4, 0)
    assert e.value.errno == "EIO"
    assert w.wombat.shared.names() == {}
    with pytest.raises(LinuxError) as e:
        w.open("/dev/iguana/data")
    assert e.value.errno == "ENOENT"
