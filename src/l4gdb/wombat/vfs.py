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

Each directory of the walk is a merged one (overlay.py): a private upper
layer over the read-only rootfs. Changing a lower entry copies it up first
(its directories too), deleting one leaves a whiteout, listings merge both;
both layers are walked the same way, so copy-up follows no link either.

A process is seen through :class:`ProcView` (the Linux server's ``Process``
has these attributes). Open flags are numbers of the guest's arch: ``Vfs``
translates them through the arch's ``open_flags`` table (name -> value).
"""

from __future__ import annotations

import os
import shutil
import stat as st_mod
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

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
    JailFile,
    OpenFile,
    Stat,
    TextFile,
    TtyFile,
    host_errors,
    linux_error,
    reopen,
)
from .overlay import MODES_FILE, Meta, MetaTable, chmod_at, copy_data, host_mode, key_of
from .procfs import ProcTree, Virtual
from .shared import open_shared

if TYPE_CHECKING:
    from .elfload import ExecFile

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
class _Dir:
    """A directory of the merged view: its host O_PATH descriptors in the upper
    layer (None: not copied up yet) and in the lower one (None: absent there, or
    hidden by an opaque upper directory). With --rootfs-persist the rootfs is
    the upper layer and there is no lower one."""

    path: str = "/"                 # canonical guest path
    upper: int | None = None
    lower: int | None = None

    def close(self) -> None:
        _close(self.upper)
        _close(self.lower)
        self.upper = self.lower = None


@dataclass
class Node:
    """The result of a walk: the last name in its (held-open) parent, or an
    emulated node. ``st`` is None when the last name does not exist."""

    path: str                        # canonical guest path
    parent: _Dir | None              # the parent directory (None: emulated)
    name: str                        # the last name in it ("." for the jail root)
    st: os.stat_result | None = None
    layer: str = ""                  # "upper" or "lower": where ``st`` was found
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

    @property
    def dir_fd(self) -> int | None:
        """The parent's host descriptor in the layer the name is in."""
        if self.parent is None or self.virt is not None:
            return None
        if self.layer == "lower" or self.parent.upper is None:
            return self.parent.lower
        return self.parent.upper

    def stat(self) -> Stat:
        if self.virt is not None:
            return self.virt.stat()
        if self.st is None:
            raise LinuxError("ENOENT")
        return Stat.from_host(self.st)

    def host(self) -> tuple[str, int]:
        """(name, dir_fd) for a host call; EACCES on emulated nodes."""
        fd = self.dir_fd
        if fd is None:
            raise LinuxError("EACCES")
        return self.name, fd


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
    """The directories entered so far: (name, _Dir or None if emulated)."""

    root: _Dir
    stack: list[tuple[str, _Dir | None]] = field(default_factory=list)

    @property
    def top(self) -> _Dir | None:
        return self.stack[-1][1] if self.stack else self.root

    @property
    def path(self) -> str:
        return _join([n for n, _ in self.stack])

    def pop(self) -> None:
        if self.stack:
            d = self.stack.pop()[1]
            if d is not None:
                d.close()

    def reset(self) -> None:
        while self.stack:
            self.pop()

    def take_parent(self) -> _Dir | None:
        """Hand the current directory to a Node (the walk forgets it)."""
        if not self.stack:
            return self.root
        name, d = self.stack[-1]
        if d is not None:
            self.stack[-1] = (name, _Dir(d.path))
        return d


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


def _open_dir(name: str, dir_fd: int | None) -> int | None:
    """O_PATH descriptor of the directory ``name`` (None: no such directory)."""
    if dir_fd is None:
        return None
    try:
        return os.open(name, _DIR_PATH, dir_fd=dir_fd)
    except OSError:
        return None


def _lstat(name: str, dir_fd: int | None) -> os.stat_result | None:
    if dir_fd is None:
        return None
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise linux_error(e) from None


class Vfs:
    """The root file system of all processes of one Linux server: the rootfs
    ``root`` seen through a private copy-on-write upper layer (``upper``, or a
    fresh ``tempfile.mkdtemp`` directory removed by :meth:`close`), or, with
    ``persist``, the rootfs itself written through. Either way no host file
    gets a dangerous mode bit or a new owner: those live in ``meta``."""

    def __init__(self, root: str | Path, open_flags: Mapping[str, int],
                 console: Any = None,
                 processes: Callable[[], Mapping[int, Any]] | None = None,
                 upper: str | Path | None = None, persist: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"rootfs {self.root} is not a directory")
        self.root_fd = os.open(self.root, _DIR_PATH & ~os.O_NOFOLLOW)
        _raise_host_fd_limit()
        self.flags = dict(open_flags)
        self.console = console
        self.tree = ProcTree(processes)     # /proc and /dev
        self.meta = MetaTable()
        self.meta.load_modes(self.root_fd)
        self.persist = persist
        self.upper_path: Path | None = None
        self._cleanup: Any = None
        if persist:
            self.upper_fd = self.root_fd
            self._root = _Dir("/", self.root_fd, None)
        else:
            self.upper_fd = self._make_upper(upper)
            self._root = _Dir("/", self.upper_fd, self.root_fd)

    def _make_upper(self, upper: str | Path | None) -> int:
        """The upper layer's root: a private (0700) directory that starts as a
        copy of the rootfs's root directory's metadata."""
        if upper is None:
            self.upper_path = Path(tempfile.mkdtemp(prefix="l4gdb-wombat-upper-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, self.upper_path,
                                             ignore_errors=True)
        else:
            self.upper_path = Path(upper)
        fd = os.open(self.upper_path, _DIR_PATH & ~os.O_NOFOLLOW)
        top = os.fstat(self.root_fd)
        self.meta.record(os.fstat(fd), self.meta.visible(top))
        os.utime(f"/proc/self/fd/{fd}", ns=(top.st_atime_ns, top.st_mtime_ns))
        return fd

    def close(self) -> None:
        if self.upper_fd != self.root_fd:
            _close(self.upper_fd)
        _close(self.root_fd)
        self.root_fd = self.upper_fd = -1
        if self._cleanup is not None:
            self._cleanup()             # the upper layer goes with the run

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
        """Resolve ``path`` for ``proc``; the Node's parent fds are closed after."""
        if not path:
            raise LinuxError("ENOENT")
        if len(path.encode("utf-8", "surrogateescape")) >= PATH_MAX:
            raise LinuxError("ENAMETOOLONG")
        full = path if path.startswith("/") else self.base_of(proc, dirfd) + "/" + path
        node = self._walk(proc, full, follow, trailing=path.endswith("/"))
        try:
            yield node
        finally:
            self._release(node)

    def _walk(self, proc: ProcView, path: str, follow: bool, trailing: bool) -> Node:
        walk = _Walk(self._root)
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
            return Node("/", self._root, ".", os.fstat(self.upper_fd), "upper", dot=dot)
        name, d = walk.stack[-1]
        if d is None:
            return Node(path, None, name, virt=Virtual("dir", path), dot=dot)
        walk.stack.pop()
        parent = walk.take_parent()
        layer = "upper" if d.upper is not None else "lower"
        try:
            st = os.fstat(d.upper if d.upper is not None else d.lower)  # type: ignore[arg-type]
        finally:
            d.close()
        return Node(path, parent, name, st, layer, dot=dot)

    def _release(self, node: Node) -> None:
        if node.parent is not None and node.parent is not self._root:
            node.parent.close()

    def _find(self, d: _Dir, name: str) -> tuple[os.stat_result, str] | None:
        """``name`` in the merged directory ``d``: the upper entry, else the
        lower one unless a whiteout hides it. The rootfs's own MODES_FILE is
        Wombat's, not the guest's: it is not there."""
        st = _lstat(name, d.upper) if not self._own_file(d.upper, name) else None
        if st is not None:
            return st, "upper"
        if d.lower is None or (d.upper is not None and self._hidden(d.upper, name)) or \
                self._own_file(d.lower, name):
            return None
        st = _lstat(name, d.lower)
        return (st, "lower") if st is not None else None

    def _own_file(self, fd: int | None, name: str) -> bool:
        """Whether ``name`` in ``fd`` is the rootfs's MODES_FILE (only the jail
        root's directory in the rootfs is ever held as ``root_fd``)."""
        return fd is not None and fd == self.root_fd and name == MODES_FILE

    def _hidden(self, upper_fd: int, name: str) -> bool:
        if not self.meta.whiteouts:
            return False
        return self.meta.hidden(key_of(os.fstat(upper_fd)), name)

    def _enter(self, d: _Dir, name: str, st: os.stat_result, layer: str, path: str) -> _Dir:
        """The directory ``name`` of ``d`` (found in ``layer``) as a _Dir."""
        child = _Dir(path)
        try:
            with host_errors():
                if layer == "upper":
                    child.upper = os.open(name, _DIR_PATH, dir_fd=d.upper)
                    if not self.meta.is_opaque(key_of(st)):
                        child.lower = _open_dir(name, d.lower)
                else:
                    child.lower = os.open(name, _DIR_PATH, dir_fd=d.lower)
        except BaseException:
            child.close()
            raise
        return child

    def _step(self, proc: ProcView, walk: _Walk, name: str, final: bool,
              follow: bool) -> Node | str | None:
        """Look ``name`` up in the walk's directory: enter it (None), return the
        final Node, or return a link target to follow."""
        here = walk.path
        path = here.rstrip("/") + "/" + name
        d = walk.top
        if d is None or (not walk.stack and name in ("proc", "dev")):
            v = self._vchild(proc, path)
            if v is None:
                if final and d is None:
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
        found = self._find(d, name)
        if found is None:
            if final:
                return Node(path, walk.take_parent(), name)
            raise LinuxError("ENOENT")
        st, layer = found
        if st_mod.S_ISLNK(st.st_mode) and follow:
            with host_errors():
                return os.readlink(name, dir_fd=d.upper if layer == "upper" else d.lower)
        if final:
            return Node(path, walk.take_parent(), name, st, layer)
        if not st_mod.S_ISDIR(st.st_mode):
            raise LinuxError("ENOTDIR")
        walk.stack.append((name, self._enter(d, name, st, layer, path)))
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

    # -- copy-up ----------------------------------------------------------------------------
    def _upper_parent(self, node: Node) -> int:
        """The upper-layer descriptor of ``node``'s parent, copied up (with the
        directories above it) on first need; EACCES for emulated parents."""
        d = node.parent
        if d is None or node.virt is not None:
            raise LinuxError("EACCES")
        if d.upper is None:
            with host_errors():
                d.upper = self._copy_up_chain(d.path)
        return d.upper

    def _copy_up_chain(self, path: str) -> int:
        """Make the directories of the canonical ``path`` exist in the upper
        layer (each opened without following links in either layer)."""
        up, low = self.upper_fd, self.root_fd
        owned: list[int] = []
        try:
            for name in _split(path):
                nlow = _open_dir(name, low)
                if nlow is not None:
                    owned.append(nlow)
                nup = _open_dir(name, up)
                if nup is None:
                    st = _lstat(name, up)
                    if st is not None or nlow is None or self._hidden(up, name):
                        raise LinuxError("ENOENT")      # changed under us on the host
                    self._copy_dir(up, name, os.fstat(nlow))
                    nup = os.open(name, _DIR_PATH, dir_fd=up)
                elif self.meta.is_opaque(key_of(os.fstat(nup))):
                    nlow = None
                owned.append(nup)
                up, low = nup, nlow
            if up in owned:
                owned.remove(up)
                return up
            return os.dup(up)
        finally:
            for fd in owned:
                os.close(fd)

    def _copy_dir(self, up: int, name: str, lower: os.stat_result) -> None:
        os.mkdir(name, 0o700, dir_fd=up)
        self.meta.forget(os.stat(name, dir_fd=up, follow_symlinks=False))
        self._adopt(up, name, self.meta.visible(lower))
        os.utime(name, ns=(lower.st_atime_ns, lower.st_mtime_ns), dir_fd=up,
                 follow_symlinks=False)

    def _adopt(self, dir_fd: int, name: str, meta: Meta, is_root: bool = False) -> os.stat_result:
        """A new (or changed) upper entry: a safe host mode, and ``meta`` as
        what the guest sees. The jail root's host mode never changes."""
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not is_root:
            st = chmod_at(dir_fd, name, host_mode(meta.mode, st_mod.S_ISDIR(st.st_mode)))
        self.meta.record(st, meta)
        return st

    def _copy_up(self, node: Node, keep: int | None = None) -> None:
        """Copy a lower entry into the upper layer before it changes; a file's
        data is streamed (``keep``: only its first ``keep`` bytes)."""
        if node.layer != "lower" or node.st is None:
            return
        up = self._upper_parent(node)
        low, name, st = node.dir_fd, node.name, node.st
        assert low is not None
        meta = self.meta.visible(st)
        fmt = st_mod.S_IFMT(st.st_mode)
        with host_errors():
            if fmt == st_mod.S_IFDIR:
                self._copy_dir(up, name, st)
            else:
                if fmt == st_mod.S_IFLNK:
                    os.symlink(os.readlink(name, dir_fd=low), name, dir_fd=up)
                elif fmt == st_mod.S_IFREG:
                    self._copy_file(low, up, name, keep)
                elif fmt == st_mod.S_IFIFO:
                    os.mkfifo(name, 0o600, dir_fd=up)
                else:
                    raise LinuxError("EPERM")   # host devices and sockets stay below
                self.meta.forget(os.stat(name, dir_fd=up, follow_symlinks=False))
                self._adopt(up, name, meta)
                os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=up,
                         follow_symlinks=False)
            node.st = os.stat(name, dir_fd=up, follow_symlinks=False)
        node.layer = "upper"

    def _copy_file(self, low: int, up: int, name: str, keep: int | None) -> None:
        src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK,
                      dir_fd=low)
        try:
            dst = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                          | os.O_CLOEXEC, 0o600, dir_fd=up)
            try:
                copy_data(src, dst, keep)
            except OSError:
                os.close(dst)
                os.unlink(name, dir_fd=up)      # no half copy stays
                raise
            os.close(dst)
        finally:
            os.close(src)

    def _made(self, node: Node, up: int) -> os.stat_result:
        """A new upper entry for ``node``'s name: nothing left from an earlier
        inode of that number, the whiteout of a lower entry gone (a directory
        made there hides the lower one: opaque)."""
        with host_errors():
            st = os.stat(node.name, dir_fd=up, follow_symlinks=False)
            self.meta.forget(st)
            if self.meta.unhide(key_of(os.fstat(up)), node.name) and \
                    st_mod.S_ISDIR(st.st_mode):
                self.meta.opaque.add(key_of(st))
        return st

    def _lower_has(self, node: Node) -> bool:
        """Whether a lower entry of ``node``'s name would show without a whiteout."""
        d = node.parent
        return d is not None and _lstat(node.name, d.lower) is not None

    def _remove_name(self, node: Node, rm: Callable[..., None]) -> None:
        """unlink/rmdir in the merged view: the upper entry goes, a lower one
        gets a whiteout."""
        assert node.st is not None
        with host_errors():
            if node.layer == "upper":
                rm(node.name, dir_fd=node.parent.upper)   # type: ignore[union-attr]
                if st_mod.S_ISDIR(node.st.st_mode) or node.st.st_nlink <= 1:
                    self.meta.forget(node.st)
        if self._lower_has(node):
            self.meta.hide(key_of(os.fstat(self._upper_parent(node))), node.name)

    def _merged_names(self, upper: int | None, lower: int | None,
                      at_root: bool = False) -> Iterator[tuple[str, os.DirEntry[str]]]:
        """(layer, entry) of a merged directory (descriptors opened O_RDONLY);
        ``at_root``: the jail root's, where the rootfs's MODES_FILE is left out."""
        seen: set[str] = set()
        own = MODES_FILE if at_root else None
        ukey = key_of(os.fstat(upper)) if upper is not None else None
        if upper is not None:
            with os.scandir(upper) as it:
                for e in it:
                    if self.persist and e.name == own:
                        continue
                    seen.add(e.name)
                    yield "upper", e
        if lower is None or (ukey is not None and ukey in self.meta.opaque):
            return
        hidden = self.meta.whiteouts.get(ukey, set()) if ukey is not None else set()
        with os.scandir(lower) as it:
            for e in it:
                if e.name not in seen and e.name not in hidden and e.name != own:
                    yield "lower", e

    # -- operations ---------------------------------------------------------------------------
    def stat(self, proc: ProcView, path: str, dirfd: int = AT_FDCWD,
             follow: bool = True) -> Stat:
        with self.lookup(proc, path, dirfd, follow) as node:
            if node.virt is None and node.st is not None:
                return self._shown(node.st, self._origin(node))
            return node.stat()

    def _origin(self, node: Node) -> os.stat_result | None:
        """The lower directory below a merged (upper) one: its identity is the
        directory's, so copy-up does not change what stat says of it."""
        d, st = node.parent, node.st
        if d is None or st is None or node.virt is not None or d.lower is None:
            return None
        if node.layer == "lower":
            return st if st_mod.S_ISDIR(st.st_mode) else None
        if not st_mod.S_ISDIR(st.st_mode) or self.meta.is_opaque(key_of(st)):
            return None
        low = _lstat(node.name, d.lower)
        return low if low is not None and st_mod.S_ISDIR(low.st_mode) else None

    def _shown(self, st: os.stat_result, origin: os.stat_result | None) -> Stat:
        s = self.meta.shown(st)
        if origin is None or origin is st:
            return s
        o = Stat.from_host(origin)
        return replace(s, dev=o.dev, ino=o.ino)

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
                return self._create(proc, node, mode, access, status)
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
            trunc = "O_TRUNC" in names and access != "r"
            if access != "r":
                self._copy_up(node, keep=0 if trunc else None)
            if trunc:
                host_flags |= os.O_TRUNC
            with host_errors():
                fd = os.open(node.name, host_flags | os.O_NOFOLLOW | os.O_CLOEXEC
                             | os.O_NOCTTY, dir_fd=node.dir_fd)
            return self._jail_file(fd, node.path, access, status)

    def _create(self, proc: ProcView, node: Node, mode: int, access: str,
                status: set[str]) -> JailFile:
        """O_CREAT of a new name: in the upper layer, with a safe host mode."""
        up = self._upper_parent(node)
        want = mode & 0o7777 & ~proc.umask
        with host_errors():
            fd = os.open(node.name, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_NOFOLLOW
                         | os.O_CLOEXEC, host_mode(want, False), dir_fd=up)
        try:
            st = self._made(node, up)
            with host_errors():
                if st_mod.S_IMODE(st.st_mode) != host_mode(want, False):
                    os.fchmod(fd, host_mode(want, False))   # the host umask took more
                st = os.fstat(fd)
            self.meta.record(st, Meta(want, st.st_uid, st.st_gid))
        except BaseException:
            os.close(fd)
            raise
        return self._jail_file(fd, node.path, access, status)

    def _jail_file(self, fd: int, path: str, access: str, status: set[str]) -> JailFile:
        return JailFile(path=path, access=access, status=status, fd=fd, shown=self.meta.shown)

    def _host_dir(self, node: Node, access: str, status: set[str]) -> DirFile:
        """An open directory of the merged view. A lower-only directory may get
        its upper part later (a file made in it): the listing looks again."""
        assert node.parent is not None and node.st is not None
        rd = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        fds: dict[str, int | None] = {"upper": None, "lower": None}
        with host_errors():
            if node.layer == "upper":
                fds["upper"] = os.open(node.name, rd, dir_fd=node.parent.upper)
                if node.parent.lower is not None and not self.meta.is_opaque(key_of(node.st)):
                    try:
                        fds["lower"] = os.open(node.name, rd, dir_fd=node.parent.lower)
                    except OSError:
                        pass                    # no directory of that name below
            else:
                fds["lower"] = os.open(node.name, rd, dir_fd=node.parent.lower)
            up_ino = self._shown(node.st, self._origin(node)).ino if node.path == "/" else \
                os.fstat(node.parent.lower if node.parent.lower is not None
                         else node.parent.upper).st_ino       # type: ignore[arg-type]
        path = node.path

        def current() -> os.stat_result:
            if fds["upper"] is None:
                fds["upper"] = self._upper_dir_at(path, rd)
            return os.fstat(fds["upper"] if fds["upper"] is not None
                            else fds["lower"])                 # type: ignore[arg-type]

        def shown() -> Stat:
            return self._shown(current(), os.fstat(fds["lower"]) if fds["lower"] is not None
                               else None)

        def entries() -> list[DirEntry]:
            out = [DirEntry(".", shown().ino, DT_DIR), DirEntry("..", up_ino, DT_DIR)]
            for layer, e in self._merged_names(fds["upper"], fds["lower"], path == "/"):
                ino = e.inode() if layer == "lower" else self._entry_ino(e, fds["lower"])
                out.append(DirEntry(e.name, ino, _d_type(e)))
            return out

        def release() -> None:
            _close(fds["upper"])
            _close(fds["lower"])

        return DirFile(path=node.path, access=access, status=status, list_entries=entries,
                       stat_fn=shown, release_fn=release)

    def _entry_ino(self, e: os.DirEntry[str], lower: int | None) -> int:
        """d_ino of an upper entry: a merged directory has its lower one's."""
        if lower is None or not e.is_dir(follow_symlinks=False):
            return e.inode()
        if self.meta.is_opaque(key_of(e.stat(follow_symlinks=False))):
            return e.inode()
        low = _lstat(e.name, lower)
        return low.st_ino if low is not None and st_mod.S_ISDIR(low.st_mode) else e.inode()

    def _upper_dir_at(self, path: str, flags: int) -> int | None:
        """The upper directory at the canonical ``path`` if there is one now."""
        fd: int | None = self.upper_fd
        opened: list[int] = []
        try:
            for name in _split(path):
                fd = _open_dir(name, fd)
                if fd is None:
                    return None
                opened.append(fd)
            return os.open(".", flags, dir_fd=fd)
        except OSError:
            return None
        finally:
            for o in opened:
                os.close(o)

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
        """As for root (every guest is): reading and writing are allowed,
        executing a non-directory needs an execute bit of the mode it shows."""
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
            assert node.st is not None
            if mode & 1 and not node.is_dir and not self.meta.visible(node.st).mode & 0o111:
                raise LinuxError("EACCES")

    def mkdir(self, proc: ProcView, path: str, mode: int, dirfd: int = AT_FDCWD) -> None:
        with self.lookup(proc, path, dirfd, follow=False) as node:
            if node.exists:
                raise LinuxError("EEXIST")
            up = self._upper_parent(node)
            want = mode & 0o7777 & ~proc.umask
            with host_errors():
                os.mkdir(node.name, host_mode(want, True), dir_fd=up)
            st = self._made(node, up)
            with host_errors():
                self._adopt(up, node.name, Meta(want, st.st_uid, st.st_gid))

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
            if not self._empty(node):
                raise LinuxError("ENOTEMPTY")
            self._remove_name(node, os.rmdir)

    def _empty(self, node: Node) -> bool:
        """Whether a directory of the merged view has no entries (one is enough)."""
        assert node.parent is not None and node.st is not None
        d = self._enter(node.parent, node.name, node.st, node.layer, node.path)
        rd = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
        fds: list[int] = []
        try:
            with host_errors():
                for fd in (d.upper, d.lower):
                    fds.append(os.open(".", rd, dir_fd=fd) if fd is not None else -1)
                names = self._merged_names(fds[0] if fds[0] >= 0 else None,
                                           fds[1] if fds[1] >= 0 else None,
                                           node.path == "/")
                try:
                    return next(names, None) is None
                finally:
                    names.close()
        finally:
            d.close()
            for fd in fds:
                _close(fd)

    def unlink(self, proc: ProcView, path: str, dirfd: int = AT_FDCWD) -> None:
        with self.lookup(proc, path, dirfd, follow=False) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            if node.is_dir:
                raise LinuxError("EISDIR")
            node.host()
            self._remove_name(node, os.unlink)

    def rename(self, proc: ProcView, old: str, new: str, olddirfd: int = AT_FDCWD,
               newdirfd: int = AT_FDCWD) -> None:
        with self.lookup(proc, old, olddirfd, follow=False) as a, \
                self.lookup(proc, new, newdirfd, follow=False) as b:
            if not a.exists:
                raise LinuxError("ENOENT")
            if a.dot or b.dot or a.path == "/" or b.path == "/":
                raise LinuxError("EBUSY")
            if a.virt is not None or b.virt is not None or b.parent is None:
                raise LinuxError("EXDEV")
            if b.must_dir and not a.is_dir:
                raise LinuxError("ENOTDIR")
            if a.path == b.path:
                return
            self._rename_checks(a, b)
            self._copy_up(a)
            up_b = self._upper_parent(b)
            b_lower = self._lower_has(b)
            with host_errors():
                os.rename(a.name, b.name, src_dir_fd=a.parent.upper,  # type: ignore[union-attr]
                          dst_dir_fd=up_b)
            if b.st is not None and b.layer == "upper" and \
                    (b.is_dir or b.st.st_nlink <= 1):
                self.meta.forget(b.st)
            self.meta.unhide(key_of(os.fstat(up_b)), b.name)
            if a.is_dir and b_lower:
                self.meta.opaque.add(key_of(a.st))  # type: ignore[arg-type]
            if self._lower_has(a):
                self.meta.hide(key_of(os.fstat(self._upper_parent(a))), a.name)

    def _rename_checks(self, a: Node, b: Node) -> None:
        """What Linux refuses, seen in the merged view (the host sees only
        the upper layer); then a directory with a lower part does not move
        (EXDEV, as on overlayfs: mv copies instead)."""
        if a.is_dir and (b.path + "/").startswith(a.path + "/"):
            raise LinuxError("EINVAL")      # into itself
        if b.exists:
            if a.is_dir and not b.is_dir:
                raise LinuxError("ENOTDIR")
            if not a.is_dir and b.is_dir:
                raise LinuxError("EISDIR")
            if b.is_dir and not self._empty(b):
                raise LinuxError("ENOTEMPTY")
        if a.is_dir and self._origin(a) is not None:
            raise LinuxError("EXDEV")

    def symlink(self, proc: ProcView, target: str, path: str, dirfd: int = AT_FDCWD) -> None:
        if not target:
            raise LinuxError("ENOENT")
        with self.lookup(proc, path, dirfd, follow=False) as node:
            if node.exists:
                raise LinuxError("EEXIST")
            up = self._upper_parent(node)
            with host_errors():
                os.symlink(target, node.name, dir_fd=up)
            self._made(node, up)

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
            if a.virt is not None or b.virt is not None or b.parent is None:
                raise LinuxError("EXDEV")
            self._copy_up(a)
            up_b = self._upper_parent(b)
            with host_errors():
                os.link(a.name, b.name, src_dir_fd=a.parent.upper,  # type: ignore[union-attr]
                        dst_dir_fd=up_b, follow_symlinks=False)
            self.meta.unhide(key_of(os.fstat(up_b)), b.name)

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
            node.host()
            assert node.st is not None
            times = (node.st.st_atime_ns if atime_ns is None else atime_ns,
                     node.st.st_mtime_ns if mtime_ns is None else mtime_ns)
            if st_mod.S_ISLNK(node.st.st_mode):
                return          # Linux changes the link's own times; ours stay as they are
            self._copy_up(node)
            name, dfd = node.host()
            with host_errors():
                os.utime(name, ns=times, dir_fd=dfd, follow_symlinks=False)

    def truncate(self, proc: ProcView, path: str, length: int) -> None:
        if length < 0:
            raise LinuxError("EINVAL")
        with self.lookup(proc, path) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            if node.is_dir:
                raise LinuxError("EISDIR")
            node.host()
            assert node.st is not None
            if not st_mod.S_ISREG(node.st.st_mode):
                raise LinuxError("EINVAL")
            self._copy_up(node, keep=length)
            name, dfd = node.host()
            with host_errors():
                fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
                try:
                    os.ftruncate(fd, length)
                finally:
                    os.close(fd)

    def chmod(self, proc: ProcView, path: str, mode: int, dirfd: int = AT_FDCWD) -> None:
        """The guest sees ``mode``; the host file gets :func:`host_mode` of it
        (the jail root's host directory keeps its mode)."""
        with self.lookup(proc, path, dirfd) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            node.host()
            self._copy_up(node)
            assert node.st is not None
            old = self.meta.visible(node.st)
            self._set_meta(node, Meta(mode & 0o7777, old.uid, old.gid))

    def _set_meta(self, node: Node, meta: Meta) -> None:
        name, dfd = node.host()
        with host_errors():
            node.st = self._adopt(dfd, name, meta, is_root=node.path == "/")

    def chown(self, proc: ProcView, path: str, uid: int, gid: int, dirfd: int = AT_FDCWD,
              follow: bool = True) -> None:
        """chown/lchown/fchownat; -1 leaves the owner or the group as it is.
        Only Wombat's table changes; like Linux (even for root), a change of
        a non-directory's owner or group clears setuid, and setgid when the
        group may execute."""
        with self.lookup(proc, path, dirfd, follow) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            node.host()
            self._copy_up(node)
            assert node.st is not None
            old = self.meta.visible(node.st)
            mode = old.mode
            if (uid != -1 or gid != -1) and not node.is_dir and \
                    not st_mod.S_ISLNK(node.st.st_mode):
                mode &= ~st_mod.S_ISUID
                if mode & st_mod.S_IXGRP:
                    mode &= ~st_mod.S_ISGID
            self._set_meta(node, Meta(mode, old.uid if uid == -1 else uid,
                                      old.gid if gid == -1 else gid))

    def read_executable(self, proc: ProcView, path: str) -> tuple[str, ExecFile]:
        """(canonical path, the open file) of a program for execve: EACCES unless
        a regular file with an execute bit. Nothing is read here: exec reads the
        headers by offset and the pages on demand (a file may be any size)."""
        from .elfload import ExecFile
        with self.lookup(proc, path) as node:
            if not node.exists:
                raise LinuxError("ENOENT")
            if node.virt is not None or node.st is None or \
                    not st_mod.S_ISREG(node.st.st_mode) or not node.st.st_mode & 0o111:
                raise LinuxError("EACCES")
            with host_errors():
                fd = os.open(node.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                             dir_fd=node.dir_fd)
            return node.path, ExecFile(fd, node.path)      # owns fd from here
