"""Native beside compat: an Iguana memsection shared with Linux processes.

A native Iguana program (its own PD) hands Wombat a memsection by IPC to the
Linux server thread (``SERVER_THREAD_NO``; the guest computes it from the
KIP's user base, as libiguana finds the Iguana server):

* label ``SHARE_LABEL``; MR1 the memsection reference, MR2 the password of a
  capability for it (the program's own, from ``iguana_get_cap``), MR3 the
  L4 rights Linux processes get (4 read, 2 write; execute is never given),
  MR4.. the name, NUL-padded, in memory order;
* the reply label is 0 or an Iguana error number: EPERM for a capability that
  does not match (forged, or the memsection deleted and its reference reused),
  ENOENT when the reference is no memsection, EINVAL for a bad name or no
  rights, EEXIST when the name is taken.

Wombat shows it as ``/dev/iguana/NAME``: read/write/lseek reach the
memsection's memory, and ``mmap(MAP_SHARED)`` maps its very frames, so the
native program and the Linux process see each other's stores. The frames stay
Iguana's: they are mapped into a process's address space (an EAS of Wombat's
PD) by Iguana on Wombat's behalf, so deleting the memsection takes them out of
every process too; the next touch is then a fault Wombat refuses (SIGSEGV) and
read()/write() give EIO.
"""

from __future__ import annotations

import re
import stat as st_mod
import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from l4gdb.kernel.paging import R, W
from l4gdb.kernel.types import MsgTag

from .errors import LinuxError
from .files import BOOT_NS, DEVTMPFS_DEV, MAX_IO, OpenFile, Stat, _seek_target
from .frames import PAGE
from .pagecache import Frame

if TYPE_CHECKING:
    from l4gdb.kernel.kernel import Kernel
    from l4gdb.kernel.space import Space
    from l4gdb.kernel.thread import Tcb

SHARE_LABEL = 0x5701
DEV_DIR = "/dev/iguana"
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,31}")
# Iguana's reply labels (OKL4 libc errno numbers, as the Iguana server uses).
OK, ENOENT, EEXIST, EINVAL, EPERM = 0, 2, 17, 22, 33

# Maps one frame into a process's space with the given rights (Wombat: through
# the process's Iguana EAS, so the mapping hangs below Iguana's own).
PageMapper = Callable[["Space", int, int, int], None]


@dataclass(eq=False)
class SharedMemsection:
    """One memsection Linux processes may use; the page-cache ``Backing`` of
    its mappings, with frames pinned: never copied into the cache, never freed
    by Wombat."""

    name: str
    ms: Any                                # l4gdb.iguana.server.Memsection
    rights: int                            # R and/or W
    kernel: Kernel
    mapper: PageMapper
    owner: str = ""                        # who shared it (a thread name)
    _frames: dict[int, Frame] = field(default_factory=dict)

    @property
    def ident(self) -> Hashable:
        return ("iguana-memsection", self.ms.ref, self.ms.passwd)

    @property
    def alive(self) -> bool:
        """False once Iguana deleted the memsection (its frames went back)."""
        return bool(self.ms.frames)

    @property
    def size(self) -> int:
        return self.ms.size if self.alive else 0

    def pinned_frame(self, offset: int) -> Frame:
        """The Frame of the memsection page at ``offset`` (page aligned), the same
        object for every process so its reference count is the sharing."""
        if not self.alive or not 0 <= offset < self.ms.size:
            raise LinuxError("EFAULT", f"{DEV_DIR}/{self.name}: offset {offset:#x}")
        pa = self.ms.frames[offset // PAGE]
        if pa is None:
            raise LinuxError("EFAULT", f"{DEV_DIR}/{self.name}: page not backed")
        frame = self._frames.get(offset)
        if frame is None or frame.pa != pa:
            frame = self._frames[offset] = Frame(pa, pinned=self)
        return frame

    def map_page(self, space: Space, va: int, pa: int, rights: int) -> None:
        if not self.alive or pa not in self.ms.frames:
            raise LinuxError("EFAULT", f"{DEV_DIR}/{self.name}: gone")
        self.mapper(space, va, pa, rights & self.rights)

    # --- the memory, for read()/write() and private copies --------------------------
    def _span(self, offset: int, n: int) -> list[tuple[int, int]]:
        """(kernel address, length) pieces of [offset, offset + n), clipped to the size."""
        out = []
        end = min(offset + n, self.size)
        while offset < end:
            pa = self.ms.frames[offset // PAGE]
            chunk = min(PAGE - offset % PAGE, end - offset)
            if pa is None:
                raise LinuxError("EIO")
            paging = self.kernel.paging
            base = pa if paging is None else paging.kernel_address(pa)
            out.append((base + offset % PAGE, chunk))
            offset += chunk
        return out

    def pread(self, offset: int, n: int) -> bytes:
        if not self.alive:
            raise LinuxError("EFAULT", f"{DEV_DIR}/{self.name}: gone")
        data = bytearray()
        for addr, size in self._span(offset, n):
            got = self.kernel.read_memory(addr, size)
            if got is None:
                raise LinuxError("EIO")
            data += got
        return bytes(data)

    def pwrite(self, offset: int, data: bytes) -> int:
        pos = 0
        for addr, size in self._span(offset, len(data)):
            self.kernel.write_memory(addr, data[pos:pos + size])
            pos += size
        return pos

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "path": f"{DEV_DIR}/{self.name}", "base": self.ms.base,
                "size": self.ms.size, "rights": ("r" if self.rights & R else "-")
                + ("w" if self.rights & W else "-"), "owner": self.owner, "alive": self.alive}


@dataclass(eq=False)
class MemsectionFile(OpenFile):
    """An open ``/dev/iguana/NAME``: a file as long as the memsection."""

    shared: SharedMemsection | None = None

    @property
    def sm(self) -> SharedMemsection:
        assert self.shared is not None
        return self.shared

    def _io(self, write: bool, offset: int) -> None:
        """The checks of read and write: mode, offset, the memsection still there."""
        self._check(write)
        if offset < 0:
            raise LinuxError("EINVAL")
        if not self.sm.alive:
            raise LinuxError("EIO")

    def pread(self, n: int, offset: int) -> bytes:
        self._io(False, offset)
        return self.sm.pread(offset, max(0, min(n, MAX_IO)))

    def pwrite(self, data: bytes, offset: int) -> int:
        self._io(True, offset)
        if offset >= self.sm.size and data:
            raise LinuxError("ENOSPC")             # a memsection does not grow
        return self.sm.pwrite(offset, data[:MAX_IO])

    def seek(self, offset: int, whence: int) -> int:
        self.offset = _seek_target(offset, whence, self.offset, self.sm.size)
        return self.offset

    def truncate(self, length: int) -> None:
        raise LinuxError("EPERM")

    def stat(self) -> Stat:
        return file_stat(self.sm)


def file_stat(sm: SharedMemsection) -> Stat:
    mode = st_mod.S_IFREG | (0o444 if not sm.rights & W else 0o666)
    ino = zlib.crc32(f"{DEV_DIR}/{sm.name}".encode()) | 1
    return Stat.synthetic(mode, ino, DEVTMPFS_DEV, nlink=1, when_ns=BOOT_NS, size=sm.size)


def open_shared(sm: SharedMemsection, path: str, access: str, status: set[str]) -> OpenFile:
    """open(2) of /dev/iguana/NAME: the rights the sharer gave decide the modes."""
    if ("r" in access and not sm.rights & R) or ("w" in access and not sm.rights & W):
        raise LinuxError("EACCES")
    if not sm.alive:
        raise LinuxError("ENXIO")
    return MemsectionFile(path=path, access=access, status=status, shared=sm)


class SharedRegistry:
    """The memsections native programs shared, by name."""

    def __init__(self, kernel: Kernel, iguana: Any, mapper: PageMapper) -> None:
        self.kernel = kernel
        self.iguana = iguana
        self.mapper = mapper
        self.by_name: dict[str, SharedMemsection] = {}

    def names(self) -> dict[str, SharedMemsection]:
        """The live ones (a deleted memsection's name goes with it)."""
        for name in [n for n, sm in self.by_name.items() if not sm.alive]:
            del self.by_name[name]
        return dict(self.by_name)

    def handle(self, sender: Tcb, words: list[int]) -> list[int]:
        """A SHARE_LABEL message from a native thread; the reply words."""
        k = self.kernel
        tag = MsgTag.from_raw(words[0])
        from l4gdb.iguana.server import join_passwd, passwd_words

        n = passwd_words(k.bits)                # the password's words (two on 32-bit)
        args = list(words[1:1 + tag.u]) + [0] * (2 + n)
        ref, passwd, rights = args[0], join_passwd(args[1:1 + n], k.bits), args[1 + n]
        name = _unpack_name(words[3 + n:1 + tag.u], k.arch.word_size)
        err = self._check(ref, passwd, rights, name)
        if err == OK:
            from l4gdb.iguana.server import Memsection

            ms = self.iguana.objects[ref]
            assert isinstance(ms, Memsection)
            self.by_name[name] = SharedMemsection(name, ms, rights & (R | W), k, self.mapper,
                                                  owner=k.name_of(sender))
        k.event("wombat_share", thread=sender.global_id, share=name, memsection=ref, error=err)
        return [MsgTag(u=0, label=err).raw(k.bits)]

    def _check(self, ref: int, passwd: int, rights: int, name: str) -> int:
        from l4gdb.iguana.server import Memsection

        if self.iguana is None:
            return ENOENT
        obj = self.iguana.objects.get(ref)
        if not isinstance(obj, Memsection) or not obj.frames:
            return ENOENT
        if obj.passwd != passwd:
            return EPERM                  # not a capability for it
        if obj.kind == "device" or not rights & (R | W) or not NAME_RE.fullmatch(name):
            return EINVAL
        if name in self.names():
            return EEXIST
        return OK


def _unpack_name(words: list[int], word_size: int) -> str:
    raw = b"".join(w.to_bytes(word_size, "little") for w in words)
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")
