"""Memory system calls: brk, mmap/mmap2, munmap, mprotect, mremap, madvise.

The arch's flag numbers (``LinuxAbi.mmap_flags``/``prot_flags``) are decoded
here; the work is :class:`l4gdb.wombat.mm.Mm`'s.
"""

from __future__ import annotations

import os
import struct
import weakref
from collections.abc import Hashable, Mapping
from dataclasses import replace
from typing import Any

from l4gdb.kernel.paging import R, W, X

from .calls import Call, Fd, Flags, Ptr, Size, UInt, syscall
from .errors import LinuxError
from .frames import PAGE
from .mm import MapFlags
from .pagecache import Backing
from .shared import MemsectionFile

MADV_DONTNEED = 4               # the same number on every arch
MMAP2_UNIT = 4096               # mmap2's offset unit on ARM, MIPS o32 and i386


def prot_rights(prot_flags: Mapping[str, int], prot: int, strict: bool = False) -> int:
    """PROT_* bits as L4 rights; ``strict`` (mprotect): unknown bits are EINVAL."""
    names = {"PROT_READ": R, "PROT_WRITE": W, "PROT_EXEC": X}
    rights = sum(r for name, r in names.items() if prot & prot_flags[name])
    known = sum(prot_flags.get(n, 0) for n in (*names, "PROT_SEM", "PROT_GROWSDOWN",
                                                "PROT_GROWSUP"))
    if strict and prot & ~known:
        raise LinuxError("EINVAL")
    return rights


def map_flags(mmap_flags: Mapping[str, int], flags: int) -> MapFlags:
    f = mmap_flags
    kind = flags & (f["MAP_SHARED"] | f["MAP_PRIVATE"])
    if kind not in (f["MAP_SHARED"], f["MAP_PRIVATE"], f["MAP_SHARED"] | f["MAP_PRIVATE"]):
        raise LinuxError("EINVAL")          # neither (MAP_SHARED_VALIDATE is both)
    return MapFlags(shared=kind != f["MAP_PRIVATE"], fixed=bool(flags & f["MAP_FIXED"]),
                    noreplace=bool(flags & f.get("MAP_FIXED_NOREPLACE", 0)),
                    anonymous=bool(flags & f["MAP_ANONYMOUS"]),
                    growsdown=bool(flags & f["MAP_GROWSDOWN"]))


class FileBacking:
    """A mapped file: it stays readable after the descriptor is closed (a host
    descriptor of its own, closed when the last area using it goes)."""

    def __init__(self, host_fd: int, ident: Hashable) -> None:
        self.fd = os.dup(host_fd)
        self._ident = ident
        weakref.finalize(self, os.close, self.fd)

    @property
    def ident(self) -> Hashable:
        return self._ident

    def pread(self, offset: int, n: int) -> bytes:
        try:
            return os.pread(self.fd, n, offset)
        except OSError:
            return b""


def _backing(f: Any, mf: MapFlags, rights: int) -> tuple[Backing | None, str]:
    """(backing, name) of a mapping of open file ``f``; None: anonymous memory."""
    if not f.can_read or (mf.shared and rights & W and not f.can_write):
        raise LinuxError("EACCES")
    if isinstance(f, MemsectionFile):
        return f.sm, f.path or ""                 # a native program's memsection, pinned
    if getattr(f, "device", None) == "zero":
        return None, ""                           # /dev/zero: anonymous memory
    host_fd, key = getattr(f, "fd", -1), getattr(f, "key", None)
    if f.is_dir or not isinstance(host_fd, int) or host_fd < 0 or key is None:
        raise LinuxError("ENODEV")
    return FileBacking(host_fd, ("file", key)), f.path or ""


def do_mmap(call: Call, addr: int, length: int, prot: int, flags: int, fd: int,
            offset: int) -> int:
    f = call.abi.mmap_flags
    file = None if flags & f["MAP_ANONYMOUS"] else call.proc.fds.get(fd)   # EBADF first
    mf = map_flags(f, flags)
    rights = prot_rights(call.abi.prot_flags, prot)
    backing, name = (None, "") if file is None else _backing(file, mf, rights)
    if backing is None:
        mf = replace(mf, anonymous=True)
    return call.mm.mmap(addr, length, rights, mf, backing, offset, name)


def _signed(v: int) -> int:
    return v - (1 << 32) if v & 0x8000_0000 else v


@syscall
def brk(call: Call, addr: Ptr) -> int:
    return call.mm.brk(addr)


@syscall
def mmap2(call: Call, addr: Ptr, length: Size, prot: Flags, flags: Flags, fd: Fd,
          pgoff: UInt) -> int:
    return do_mmap(call, addr, length, prot, flags, fd, pgoff * MMAP2_UNIT)


@syscall
def mmap(call: Call, addr: Ptr, length: Size, prot: Flags, flags: Flags, fd: Fd,
         offset: UInt) -> int:
    """MIPS o32: six arguments, a byte offset. i386's old_mmap: one pointer to
    the six words."""
    if call.abi.mmap_args_in_memory:
        addr, length, prot, flags, fd, offset = struct.unpack("<6I", call.mm.read(addr, 24))
        fd = _signed(fd)
    if offset % PAGE:
        raise LinuxError("EINVAL")
    return do_mmap(call, addr, length, prot, flags, fd, offset)


@syscall
def munmap(call: Call, addr: Ptr, length: Size) -> int:
    return call.mm.munmap(addr, length)


@syscall
def mprotect(call: Call, addr: Ptr, length: Size, prot: Flags) -> int:
    return call.mm.mprotect(addr, length, prot_rights(call.abi.prot_flags, prot, strict=True))


@syscall
def mremap(call: Call, old: Ptr, old_len: Size, new_len: Size, flags: Flags,
           new_addr: Ptr) -> int:
    f = call.abi.mmap_flags
    maymove, fixed = f["MREMAP_MAYMOVE"], f["MREMAP_FIXED"]
    if flags & ~(maymove | fixed):
        raise LinuxError("EINVAL")            # MREMAP_DONTUNMAP and unknown bits
    return call.mm.mremap(old, old_len, new_len, maymove=bool(flags & maymove),
                          fixed=bool(flags & fixed), new_addr=new_addr)


@syscall
def madvise(call: Call, addr: Ptr, length: Size, advice: UInt) -> int:
    return call.mm.madvise(addr, length, dontneed=advice == MADV_DONTNEED)
