"""What Wombat keeps about the rootfs besides the host files (see vfs.py).

A run writes into a private upper directory over the read-only rootfs, as
gVisor's rootfs overlay does: files are copied up on their first change,
deletions are whiteouts, directory listings are merged. Whiteouts, opaque
directories and every mode bit or owner that would be dangerous on the host
(setuid, setgid, sticky, group/world-writable; chown) live only here, in
memory, keyed by the host inode (``(st_dev, st_ino)``): hard links share
them, a rename keeps them, and they go with the run. Host files get
:func:`host_mode`, never what the guest asked for.
"""

from __future__ import annotations

import os
import stat as st_mod
from dataclasses import dataclass, field, replace
from pathlib import Path

from .files import Stat

CHUNK = 1 << 20                  # copy-up moves a file this much at a time
MODES_FILE = ".l4gdb-modes"      # rootfs metadata: "<octal mode> <relative path>" a line
MODES_FILE_MAX = 64 << 10        # bytes of it read; the rest is ignored
SAFE_BITS = 0o755                # what host files may carry of the guest's mode

Key = tuple[int, int]


def key_of(st: os.stat_result) -> Key:
    return (st.st_dev, st.st_ino)


def host_mode(mode: int, is_dir: bool) -> int:
    """The mode a host file gets for the guest's ``mode``: no setuid, setgid,
    sticky or group/world write, and the owner (Wombat) can always use it."""
    return (mode & SAFE_BITS) | (0o700 if is_dir else 0o600)


@dataclass(frozen=True)
class Meta:
    mode: int                    # permission bits (0o7777) the guest sees
    uid: int
    gid: int


@dataclass
class MetaTable:
    """The guest-visible metadata that is not on the host, per host inode."""

    modes: dict[Key, Meta] = field(default_factory=dict)
    whiteouts: dict[Key, set[str]] = field(default_factory=dict)   # upper dir -> hidden names
    opaque: set[Key] = field(default_factory=set)                  # upper dirs hiding the lower

    # -- modes and owners ---------------------------------------------------------------
    def visible(self, st: os.stat_result) -> Meta:
        m = self.modes.get(key_of(st))
        return m if m is not None else Meta(st_mod.S_IMODE(st.st_mode), st.st_uid, st.st_gid)

    def shown(self, st: os.stat_result) -> Stat:
        """What stat/fstat report for a host file."""
        s = Stat.from_host(st)
        m = self.modes.get(key_of(st))
        if m is None:
            return s
        return replace(s, mode=st_mod.S_IFMT(st.st_mode) | m.mode, uid=m.uid, gid=m.gid)

    def record(self, st: os.stat_result, meta: Meta) -> None:
        """The guest set ``meta`` on the inode ``st`` (its host mode already safe)."""
        if meta == Meta(st_mod.S_IMODE(st.st_mode), st.st_uid, st.st_gid):
            self.modes.pop(key_of(st), None)
        else:
            self.modes[key_of(st)] = meta

    def forget(self, st: os.stat_result) -> None:
        """A new inode (or one gone): nothing recorded for an earlier one of that number."""
        k = key_of(st)
        self.modes.pop(k, None)
        self.whiteouts.pop(k, None)
        self.opaque.discard(k)

    # -- whiteouts and opaque directories ---------------------------------------------------
    def is_opaque(self, dir_key: Key) -> bool:
        return dir_key in self.opaque

    def hidden(self, dir_key: Key, name: str) -> bool:
        return name in self.whiteouts.get(dir_key, ())

    def hide(self, dir_key: Key, name: str) -> None:
        self.whiteouts.setdefault(dir_key, set()).add(name)

    def unhide(self, dir_key: Key, name: str) -> bool:
        """Drop a whiteout; True if there was one."""
        names = self.whiteouts.get(dir_key)
        if not names or name not in names:
            return False
        names.discard(name)
        return True

    def load_modes(self, root_fd: int) -> None:
        """The rootfs's own MODES_FILE (e.g. ``1777 tmp``): modes the host
        copy does not carry because they are unsafe there."""
        try:
            fd = os.open(MODES_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=root_fd)
        except OSError:
            return
        try:
            text = os.read(fd, MODES_FILE_MAX).decode("utf-8", "replace")
        except OSError:
            return
        finally:
            os.close(fd)
        for line in text.splitlines():
            mode, _, rel = line.strip().partition(" ")
            try:
                value = int(mode, 8)
            except ValueError:
                continue
            st = _lstat_under(root_fd, rel.strip())
            if st is not None and 0 <= value <= 0o7777:
                self.modes[key_of(st)] = Meta(value, st.st_uid, st.st_gid)


def _lstat_under(root_fd: int, rel: str) -> os.stat_result | None:
    """lstat of ``rel`` below ``root_fd`` without following any link on the way."""
    parts = [p for p in Path(rel).parts if p not in ("/", ".")]
    if not parts or ".." in parts:
        return None
    fds: list[int] = []
    try:
        cur = root_fd
        for name in parts[:-1]:
            cur = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                          dir_fd=cur)
            fds.append(cur)
        return os.stat(parts[-1], dir_fd=cur, follow_symlinks=False)
    except OSError:
        return None
    finally:
        for fd in fds:
            os.close(fd)


def copy_data(src: int, dst: int, limit: int | None = None) -> None:
    """Stream ``src`` into ``dst`` CHUNK bytes at a time (at most ``limit``)."""
    left = limit
    while left is None or left > 0:
        want = CHUNK if left is None else min(CHUNK, left)
        data = os.read(src, want)
        if not data:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(dst, view):]
        if left is not None:
            left -= len(data)


def chmod_at(dir_fd: int, name: str, mode: int) -> os.stat_result:
    """chmod ``name`` in ``dir_fd`` without following a link (through an O_PATH
    descriptor, so what is changed is what was looked at); its new lstat."""
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not st_mod.S_ISLNK(st.st_mode) and st_mod.S_IMODE(st.st_mode) != mode:
            os.chmod(f"/proc/self/fd/{fd}", mode)
            st = os.fstat(fd)
        return st
    finally:
        os.close(fd)
