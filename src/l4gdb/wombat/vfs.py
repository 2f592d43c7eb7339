"""The jailed root file system of Wombat processes over a host directory.

Paths are resolved component by component, each directory held open on the
host (O_PATH, O_NOFOLLOW), each name looked at with lstat relative to its
parent's descriptor, so nothing a guest (or a concurrent rename on the host)
does makes the walk leave the jail:

* ``..`` pops the walk's own stack of directories and stops at the jail root;
* symbolic links are read and followed by the walk itself, absolute targets
  from the jail root, at most 40 of them (ELOOP);
* ``/proc`` and ``/dev`` are emulated (procfs.py): ``/proc/self`` and
  ``/proc/<pid>`` with the ``exe``, ``cwd``, ``root`` and ``fd/N`` magic
  links, and the devices null, zero, full, random, urandom, tty, console.

A process is seen through :class:`ProcView` (the Linux server's ``Process``
has these attributes). Open flags are numbers of the guest's arch: ``Vfs``
translates them through the arch's ``open_flags`` table (name -> value).
"""

from __future__ import annotations

import os
import stat as st_mod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .calls import AT_FDCWD
from .errors import LinuxError
from .files import (
    DT_DIR,
    DT_LNK,
    DT_REG,
    DevFile,
    DirEntry,
    DirFile,
    FdTable,
    HostFile,
    OpenFile,
    Stat,
    TextFile,
    TtyFile,
    host_errors,
    linux_error,
    reopen,
)
from .procfs import ProcTree, Virtual
from .shared import open_shared

PATH_MAX = 4096
NAME_MAX = 255
MAXSYMLINKS = 40
O_ACCMODE = 3
_ACCESS = {0: "r", 1: "w", 2: "rw", 3: "rw"}
OPEN_STATUS_FLAGS = frozenset({"O_APPEND", "O_NONBLOCK", "O_ASYNC", "FASYNC", "O_DIRECT",
                               "O_NOATIME", "O_SYNC", "O_DSYNC", "O_LARGEFILE"})
_DIR_PATH = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class ProcView(Protocol):
    """What the file system needs to know about the calling process."""

    pid: int
    cwd: str          # canonical guest path
    exe: str          # guest path of the running executable
    umask: int
    fds: FdTable


@dataclass
class Node:
    """The result of a walk: the last name in its (held-open) parent, or an
    emulated node. ``st`` is None when the last name does not exist."""

    path: str                        # canonical guest path
    dir_fd: int | None               # host O_PATH descriptor of the parent (None: emulated)
    name: str                        # the last name in dir_fd ("." for the jail root)
    st: os.stat_result | None = None
    virt: Virtual | None = None
    must_dir: bool = False           # written with a trailing slash
    dot: str = ""                    # the path ended in "." or ".."

    @property
    def exists(self) -> bool:
        return self.st is not None or self.virt is not None

    @property
    def is_dir(self) -> bool:
        if self.virt is not None:
            return self.virt.kind == "dir"
        return self.st is not None and st_mod.S_ISDIR(self.st.st_mode)

    def stat(self) -> Stat:
        if self.virt is not None:
            return self.virt.stat()
        if self.st is None:
            raise LinuxError("ENOENT")
        return Stat.from_host(self.st)

    def host(self) -> tuple[str, int]:
        """(name, dir_fd) for a host call; EACCES on emulated nodes."""
        if self.dir_fd is None or self.virt is not None:
            raise LinuxError("EACCES")
        return self.name, self.dir_fd


def _d_type(e: os.DirEntry[str]) -> int:
    """d_type without a stat call for the common kinds."""
    if e.is_symlink():
        return DT_LNK
    if e.is_dir(follow_symlinks=False):
        return DT_DIR
    if e.is_file(follow_symlinks=False):
        return DT_REG
    return Stat.from_host(e.stat(follow_symlinks=False)).d_type


def _split(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


def _join(names: list[str]) -> str:
    return "/" + "/".join(names)


@dataclass
class _Walk:
    """The directories entered so far: (name, host O_PATH fd or None if emulated)."""

    root_fd: int
    stack: list[tuple[str, int | None]] = field(default_factory=list)

    @property
    def fd(self) -> int | None:
        return self.stack[-1][1] if self.stack else self.root_fd

    @property
    def path(self) -> str:
        return _join([n for n, _ in self.stack])

    def pop(self) -> None:
        if self.stack:
            _close(self.stack.pop()[1])

    def reset(self) -> None:
        while self.stack:
            self.pop()

    def take_parent(self) -> int | None:
        """Hand the current directory's fd to a Node (the walk forgets it)."""
        if not self.stack:
            return self.root_fd
        name, fd = self.stack[-1]
        self.stack[-1] = (name, None) if fd is None else (name, -1)
        return fd


def _raise_host_fd_limit() -> None:
    """Every open guest file is a host descriptor: let l4gdb have as many as
    the hard limit allows (the guests' own limit is RLIMIT_NOFILE per process)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def _close(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)


class Vfs:
    """The root file system of all processes of one Linux server."""

    def __init__(self, root: str | Path, open_flags: Mapping[str, int],
                 console: Any = None,
                 processes: Callable[[], Mapping[int, Any]] | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"rootfs {self.root} is not a directory")
        self.root_fd = os.open(self.root, _DIR_PATH & ~os.O_NOFOLLOW)
        _raise_host_fd_limit()
        self.flags = dict(open_flags)
        self.console = console
        self.tree = ProcTree(processes)     # /proc and /dev

    def close(self) -> None:
        _close(self.root_fd)
        self.root_fd = -1

    # -- flags --------------------------------------------------------------------------
    def flag_names(self, value: int) -> set[str]:
        return {n for n, v in self.flags.items() if v and value & v == v}

    def flag_value(self, names: set[str]) -> int:
        out = 0
        for n in names:
            out |= self.flags.get(n, 0)
        return out

    # -- the walk ---------------------------------------------------------------------------
    def base_of(self, proc: ProcView, dirfd: int) -> str:
        """The directory a relative path starts from (openat's dirfd)."""
        if dirfd == AT_FDCWD:
            return proc.cwd
        f = proc.fds.get(dirfd)
        if not f.is_dir or f.path is None:
            raise LinuxError("ENOTDIR")
        return f.path

    @contextmanager
    def lookup(self, proc: ProcView, path: str, dirfd: int = AT_FDCWD,
               follow: bool = True) -> Iterator[Node]:
        """Resolve ``path`` for ``proc``; the Node's parent fd is closed after."""
        if not path:
            raise LinuxError("ENOENT")
        if len(path.encode("utf-8", "surrogateescape")) >= PATH_MAX:
            raise LinuxError("ENAMETOOLONG")
        full = path if path.startswith("/") else self.base_of(proc, dirfd) + "/" + path
        node = self._walk(proc, full, follow, trailing=path.endswith("/"))
        try:
            yield node
        finally:
            if node.dir_fd is not None and node.dir_fd != self.root_fd:
                os.close(node.dir_fd)

    def _walk(self, proc: ProcView, path: str, follow: bool, trailing: bool) -> Node:
        walk = _Walk(self.root_fd)
        pending = _split(path)[::-1]
        links = 0
        try:
            while pending:
                name = pending.pop()
                if name in (".", ".."):
                    if name == "..":
                        walk.pop()
                    if not pending:
                        return self._dir_node(walk, name)
                    continue
                if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:
                    raise LinuxError("ENAMETOOLONG")
                final = not pending
                jump = self._step(proc, walk, name, final, follow or trailing or not final)
                if isinstance(jump, Node):
                    jump.must_dir = trailing
                    if trailing and jump.exists and not jump.is_dir:
                        self._release(jump)
                        raise LinuxError("ENOTDIR")
                    return jump
                if jump is not None:            # a symbolic link to follow
                    links += 1
                    if links > MAXSYMLINKS:
                        raise LinuxError("ELOOP")
                    if not jump:
                        raise LinuxError("ENOENT")
                    if jump.startswith("/"):
                        walk.reset()
                    pending.extend(_split(jump)[::-1])
                    if not pending and final:   # the link pointed at "/"
                        return self._dir_node(walk, "")
            return self._dir_node(walk, "")
        finally:
            walk.reset()

    def _dir_node(self, walk: _Walk, dot: str) -> Node:
        """The directory the walk stands in, as a Node of its parent."""
        path = walk.path
        if not walk.stack:
            return Node("/", self.root_fd, ".", os.stat(".", dir_fd=self.root_fd), dot=dot)
        name, fd = walk.stack[-1]
        if fd is None:
            return Node(path, None, name, virt=Virtual("dir", path), dot=dot)
        walk.stack.pop()
        parent = walk.take_parent()
        st = os.fstat(fd)
        os.close(fd)
        return Node(path, parent, name, st, dot=dot)

    def _release(self, node: Node) -> None:
        if node.dir_fd is not None and node.dir_fd != self.root_fd:
            os.close(node.dir_fd)

    def _step(self, proc: ProcView, walk: _Walk, name: str, final: bool,
              follow: bool) -> Node | str | None:
        """Look ``name`` up in the walk's directory: enter it (None), return the
        final Node, or return a link target to follow."""
        here = walk.path
        path = here.rstrip("/") + "/" + name
        dfd = walk.fd
        if dfd is None or (not walk.stack and name in ("proc", "dev")):
            v = self._vchild(proc, path)
            if v is None:
                if final and dfd is None:
                    return Node(path, None, name)
                raise LinuxError("ENOENT")
            if v.kind == "link" and follow:
                return v.target if v.target is not None else self._anon(v, final)
            if final:
                return Node(path, None, name, virt=v)
            if v.kind != "dir":
                raise LinuxError("ENOTDIR")
            walk.stack.append((name, None))
            return None
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            if final:
                return Node(path, walk.take_parent(), name)
            raise LinuxError("ENOENT") from None
        except OSError as e:
            raise linux_error(e) from None
        if st_mod.S_ISLNK(st.st_mode) and follow:
            with host_errors():
                return os.readlink(name, dir_fd=dfd)
        if final:
            return Node(path, walk.take_parent(), name, st)
        if not st_mod.S_ISDIR(st.st_mode):
            raise LinuxError("ENOTDIR")
        with host_errors():
            fd = os.open(name, _DIR_PATH, dir_fd=dfd)
        walk.stack.append((name, fd))
        return None

    def _anon(self, v: Virtual, final: bool) -> Node:
        """/proc/self/fd/N of a file without a path (a pipe end)."""
        if not final:
            raise LinuxError("ENOTDIR")
        return Node(v.path, None, v.path.rsplit("/", 1)[1],
                    virt=Virtual("file", v.path, file=v.file))

    # -- /proc and /dev ---------------------------------------------------------------------
    def _vchild(self, proc: ProcView, path: str) -> Virtual | None:
        if path in ("/proc", "/dev"):
            try:
                host = os.stat(path[1:], dir_fd=self.root_fd, follow_symlinks=False)
            except OSError:
                host = None
            return Virtual("dir", path, host=host)
        return self.tree.child(proc, path)

    # -- operations ---------------------------------------------------------------------------
    def stat(self, proc: ProcView, path: str, dirfd: int = AT_FDCWD,
             follow: bool = True) -> Stat:
        with self.lookup(proc, path, dirfd, follow) as node:
            return node.stat()

    def open(self, proc: ProcView, path: str, flags: int, mode: int = 0o666,
             dirfd: int = AT_FDCWD) -> OpenFile:
        names = self.flag_names(flags & ~O_ACCMODE)
        access = _ACCESS[flags & O_ACCMODE]
        status = names & OPEN_STATUS_FLAGS
        create, excl = "O_CREAT" in names, "O_EXCL" in names
        follow = "O_NOFOLLOW" not in names and not (create and excl)
        with self.lookup(proc, path, dirfd, follow) as node:
            if node.exists and create and excl:
                raise LinuxError("EEXIST")
            if node.virt is not None:
                return self._open_virtual(proc, node.virt, access, status, names)
            if node.st is None:
                if not create:
                    raise LinuxError("ENOENT")
                if node.must_dir:
                    raise LinuxError("EISDIR")
                name, dfd = node.host()
                with host_errors():
                    fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW
                                 | os.O_CLOEXEC, mode & 0o7777 & ~proc.umask, dir_fd=dfd)
                return self._host_file(fd, node.path, access, status)
            fmt = st_mod.S_IFMT(node.st.st_mode)
            if fmt == st_mod.S_IFLNK:
                raise LinuxError("ELOOP")
            if fmt == st_mod.S_IFDIR:
                if access != "r" or create:
                    raise LinuxError("EISDIR")
                return self._host_dir(node, access, status)
            if "O_DIRECTORY" in names:
                raise LinuxError("ENOTDIR")
            if fmt != st_mod.S_IFREG:
                raise LinuxError("EACCES")     # host devices/fifos/sockets stay shut
            host_flags = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}[access]
            if "O_TRUNC" in names and access != "r":
                host_flags |= os.O_TRUNC
            with host_errors():
                fd = os.open(node.name, host_flags | os.O_NOFOLLOW | os.O_CLOEXEC
                             | os.O_NOCTTY, dir_fd=node.dir_fd)
            return self._host_file(fd, node.path, access, status)

    def _host_file(self, fd: int, path: str, access: str, status: set[str]) -> HostFile:
        return HostFile(path=path, access=access, status=status, fd=fd)

    def _host_dir(self, node: Node, access: str, status: set[str]) -> DirFile:
        with host_errors():
            fd = os.open(node.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                         | os.O_CLOEXEC, dir_fd=node.dir_fd)
        parent_ino = node.st.st_ino if node.path == "/" else None

        def entries() -> list[DirEntry]:
            me = os.fstat(fd)
            up = parent_ino if parent_ino is not None else \
                os.stat("..", dir_fd=fd).st_ino
            out = [DirEntry(".", me.st_ino, DT_DIR), DirEntry("..", up, DT_DIR)]
            with os.scandir(fd) as it:
                for e in it:
                    out.append(DirEntry(e.name, e.inode(), _d_type(e)))
            return out

        return DirFile(path=node.path, access=access, status=status, list_entries=entries,
                       stat_fn=lambda: Stat.from_host(os.fstat(fd)),
                       release_fn=lambda: os.close(fd))

    def _open_virtual(self, proc: ProcView, v: Virtual, access: str, status: set[str],
                      names: set[str]) -> OpenFile:
        if v.kind == "file":
            assert v.file is not None
            return reopen(v.file, access, status)
        if v.kind == "dir":
            if access != "r" or "O_CREAT" in names:
                raise LinuxError("EISDIR")
            return DirFile(path=v.path, access=access, status=status,
                           list_entries=lambda: self._vdir_entries(proc, v), stat_fn=v.stat)
        if v.kind == "link":
            raise LinuxError("ELOOP")
        if "O_DIRECTORY" in names:
            raise LinuxError("ENOTDIR")
        if v.kind == "text":
            if access != "r":
                raise LinuxError("EACCES")
            return TextFile(path=v.path, access=access, status=status,
                            data=v.text.encode("utf-8", "surrogateescape"), stat_fn=v.stat)
        if v.kind == "shm":
            return open_shared(v.shared, v.path, access, status)
        device = v.path.rsplit("/", 1)[1]
        if device in ("tty", "console"):
            if self.console is None or (device == "tty" and not self.console.isatty):
                raise LinuxError("ENXIO")      # /dev/tty: no controlling terminal
            return TtyFile(path=v.path, access=access, status=status, console=self.console,
                           device=device)
        return DevFile(path=v.path, access=access, status=status, device=device)

    def _vdir_entries(self, proc: ProcView, v: Virtual) -> list[DirEntry]:
        up = Virtual("dir", v.path.rsplit("/", 1)[0] or "/")
        out = [DirEntry(".", v.ino, DT_DIR), DirEntry("..", up.ino, DT_DIR)]
        for child in self.tree.list(proc, v.path):
            out.append(DirEntry(child.name, child.ino,
                                DT_LNK if child.kind == "link" else child.stat().d_type))
        return out

    def readlink(self, proc: ProcView, path: str, dirfd: int = AT_FDCWD) -> str:
        with self.lookup(proc, path, dirfd, follow=False) as node:
            if node.virt is not None:
                if node.virt.kind != "link":
                    raise LinuxError("EINVAL")
                return node.virt.text
            if node.st is None:
                raise LinuxError("ENOENT")
            if not st_mod.S_ISLNK(node.st.st_mode):
                raise LinuxError("EINVAL")
            with host_errors():
                return os.readlink(node.name, dir_fd=node.dir_fd)

    def access(self, proc: ProcView, path: str, mode: int, dirfd: int = AT_FDCWD,
               follow: bool = True) -> None:
        with self.lookup(proc, path, dirfd, follow) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            if node.virt is not None:
                perm = node.stat().mode
                if mode & 2 and node.virt.kind == "dir":
                    raise LinuxError("EACCES")
                if mode & 1 and not perm & 0o111:
                    raise LinuxError("EACCES")
                return
            if not os.access(node.name, mode & 7, dir_fd=node.dir_fd,
                             follow_symlinks=False):
                raise LinuxError("EACCES")

    def mkdir(self, proc: ProcView, path: str, mode: int, dirfd: int = AT_FDCWD) -> None:
        with self.lookup(proc, path, dirfd, follow=False) as node:
            if node.exists:
                raise LinuxError("EEXIST")
            name, dfd = node.host()
            with host_errors():
                os.mkdir(name, mode & 0o7777 & ~proc.umask, dir_fd=dfd)

    def rmdir(self, proc: ProcView, path: str, dirfd: int = AT_FDCWD) -> None:
        with self.lookup(proc, path, dirfd, follow=False) as node:
            if node.dot:
                raise LinuxError("EINVAL" if node.dot == "." else "ENOTEMPTY")
            if not node.exists:
                raise LinuxError("ENOENT")
            if node.path == "/" or node.virt is not None:
                raise LinuxError("EBUSY")
            if not node.is_dir:
                raise LinuxError("ENOTDIR")
            with host_errors():
                os.rmdir(node.name, dir_fd=node.dir_fd)

    def unlink(self, proc: ProcView, path: str, dirfd: int = AT_FDCWD) -> None:
        with self.lookup(proc, path, dirfd, follow=False) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            if node.is_dir:
                raise LinuxError("EISDIR")
            name, dfd = node.host()
            with host_errors():
                os.unlink(name, dir_fd=dfd)

    def rename(self, proc: ProcView, old: str, new: str, olddirfd: int = AT_FDCWD,
               newdirfd: int = AT_FDCWD) -> None:
        with self.lookup(proc, old, olddirfd, follow=False) as a, \
                self.lookup(proc, new, newdirfd, follow=False) as b:
            if not a.exists:
                raise LinuxError("ENOENT")
            if a.dot or b.dot or a.path == "/" or b.path == "/":
                raise LinuxError("EBUSY")
            if a.virt is not None or b.virt is not None or b.dir_fd is None:
                raise LinuxError("EXDEV")
            if b.must_dir and not a.is_dir:
                raise LinuxError("ENOTDIR")
            with host_errors():
                os.rename(a.name, b.name, src_dir_fd=a.dir_fd, dst_dir_fd=b.dir_fd)

    def symlink(self, proc: ProcView, target: str, path: str, dirfd: int = AT_FDCWD) -> None:
        if not target:
            raise LinuxError("ENOENT")
        with self.lookup(proc, path, dirfd, follow=False) as node:
            if node.exists:
                raise LinuxError("EEXIST")
            name, dfd = node.host()
            with host_errors():
                os.symlink(target, name, dir_fd=dfd)

    def link(self, proc: ProcView, old: str, new: str, olddirfd: int = AT_FDCWD,
             newdirfd: int = AT_FDCWD, follow: bool = False) -> None:
        with self.lookup(proc, old, olddirfd, follow) as a, \
                self.lookup(proc, new, newdirfd, follow=False) as b:
            if not a.exists:
                raise LinuxError("ENOENT")
            if b.exists:
                raise LinuxError("EEXIST")
            if a.is_dir:
                raise LinuxError("EPERM")
            if a.virt is not None or b.virt is not None or b.dir_fd is None:
                raise LinuxError("EXDEV")
            with host_errors():
                os.link(a.name, b.name, src_dir_fd=a.dir_fd, dst_dir_fd=b.dir_fd,
                        follow_symlinks=False)

    def chdir(self, proc: ProcView, path: str) -> None:
        with self.lookup(proc, path) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            if not node.is_dir:
                raise LinuxError("ENOTDIR")
            proc.cwd = node.path

    def getcwd(self, proc: ProcView) -> str:
        return proc.cwd

    def utimens(self, proc: ProcView, path: str, atime_ns: int | None, mtime_ns: int | None,
                dirfd: int = AT_FDCWD, follow: bool = True) -> None:
        """Set the times; None leaves one as it is (UTIME_OMIT)."""
        with self.lookup(proc, path, dirfd, follow) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            name, dfd = node.host()
            assert node.st is not None
            times = (node.st.st_atime_ns if atime_ns is None else atime_ns,
                     node.st.st_mtime_ns if mtime_ns is None else mtime_ns)
            if st_mod.S_ISLNK(node.st.st_mode):
                return          # Linux changes the link's own times; ours stay as they are
            with host_errors():
                os.utime(name, ns=times, dir_fd=dfd)

    def truncate(self, proc: ProcView, path: str, length: int) -> None:
        if length < 0:
            raise LinuxError("EINVAL")
        with self.lookup(proc, path) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            if node.is_dir:
                raise LinuxError("EISDIR")
            name, dfd = node.host()
            assert node.st is not None
            if not st_mod.S_ISREG(node.st.st_mode):
                raise LinuxError("EINVAL")
            with host_errors():
                fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
                try:
                    os.ftruncate(fd, length)
                finally:
                    os.close(fd)

    def chmod(self, proc: ProcView, path: str, mode: int, dirfd: int = AT_FDCWD) -> None:
        with self.lookup(proc, path, dirfd) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            name, dfd = node.host()
            with host_errors():
                os.chmod(name, mode & 0o7777, dir_fd=dfd)

    def chown(self, proc: ProcView, path: str, uid: int, gid: int, dirfd: int = AT_FDCWD,
              follow: bool = True) -> None:
        """chown/lchown/fchownat; -1 leaves the owner or the group as it is."""
        with self.lookup(proc, path, dirfd, follow) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            name, dfd = node.host()
            with host_errors():
                os.chown(name, uid, gid, dir_fd=dfd, follow_symlinks=False)

    def read_executable(self, proc: ProcView, path: str) -> tuple[str, bytes]:
        """(canonical path, contents) of a program for execve: EACCES unless
        a regular file with an execute bit."""
        with self.lookup(proc, path) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            if node.virt is not None or node.st is None or \
                    not st_mod.S_ISREG(node.st.st_mode) or not node.st.st_mode & 0o111:
                raise LinuxError("EACCES")
            with host_errors():
                fd = os.open(node.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                             dir_fd=node.dir_fd)
            try:
                with os.fdopen(fd, "rb") as f:
                    return node.path, f.read()
            except OSError as e:
                raise LinuxError("EIO", str(e)) from None
