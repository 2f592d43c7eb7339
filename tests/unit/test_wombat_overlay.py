"""The rootfs overlay (vfs.py, overlay.py): a run writes to a private upper
layer, deletions are whiteouts, and dangerous mode bits and owners stay in
Wombat's table, never on host files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from wombat_fakes import Proc, dir_names

from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.overlay import MODES_FILE
from l4gdb.wombat.vfs import Vfs

F = {"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_CREAT": 0o100, "O_EXCL": 0o200,
     "O_TRUNC": 0o1000, "O_APPEND": 0o2000, "O_DIRECTORY": 0o200000, "O_NOFOLLOW": 0o400000}
UNSAFE = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH | stat.S_IWGRP


def tree_state(top: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """Every entry under ``top``: (mode, uid, gid, content or link target)."""
    out = {}
    for dirpath, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            p = Path(dirpath) / name
            st = p.lstat()
            data = os.readlink(p).encode() if p.is_symlink() else \
                p.read_bytes() if p.is_file() else b""
            out[str(p.relative_to(top))] = (st.st_mode, st.st_uid, st.st_gid, data)
    out["."] = (top.stat().st_mode, 0, 0, b"")
    return out


def unsafe_host_files(top: Path) -> list[str]:
    """Host files under ``top`` carrying a bit the overlay must never put there."""
    bad = []
    for dirpath, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            st = os.lstat(Path(dirpath) / name)
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & UNSAFE:
                bad.append(f"{Path(dirpath) / name} {stat.S_IMODE(st.st_mode):o}")
    return bad


@pytest.fixture
def rootfs(tmp_path) -> Path:
    root = tmp_path / "rootfs"
    for d in ("bin", "etc", "tmp", "home", "srv/data"):
        (root / d).mkdir(parents=True)
    (root / "bin/busybox").write_bytes(b"\x7fELF pristine")
    (root / "bin/busybox").chmod(0o755)
    os.symlink("busybox", root / "bin/sh")
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "srv/data/a").write_text("A")
    (root / "srv/b").write_text("B")
    return root


@pytest.fixture
def overlay(rootfs, tmp_path):
    """A Vfs over ``rootfs`` with its private upper layer, and the rootfs's state."""
    before = tree_state(rootfs)
    v = Vfs(rootfs, F, upper=None)
    yield v, rootfs, before
    v.close()


def names(v: Vfs, proc: Proc, path: str) -> list[str]:
    return dir_names(v, proc, path, F)


def read(v: Vfs, proc: Proc, path: str) -> bytes:
    f = v.open(proc, path, F["O_RDONLY"])
    try:
        return f.read(1 << 16)
    finally:
        f.release()


def write(v: Vfs, proc: Proc, path: str, data: bytes, extra: str = "O_TRUNC") -> None:
    f = v.open(proc, path, F["O_WRONLY"] | F["O_CREAT"] | F[extra], 0o644)
    try:
        assert f.write(data) == len(data)
    finally:
        f.release()


def errno_of(fn, *args) -> str:
    with pytest.raises(LinuxError) as exc:
        fn(*args)
    return exc.value.errno


def test_writes_are_copied_up_and_dropped_with_the_run(overlay):
    v, root, before = overlay
    p = Proc()
    write(v, p, "/bin/sh", b"#!/poisoned\n")             # through the link: busybox
    write(v, p, "/etc/passwd", b"evil::0:0\n", extra="O_APPEND")
    write(v, p, "/srv/data/new", b"N")
    v.truncate(p, "/srv/b", 0)
    v.utimens(p, "/srv/data/a", 5_000_000_000, 5_000_000_000)
    assert read(v, p, "/bin/busybox") == b"#!/poisoned\n"
    assert read(v, p, "/etc/passwd") == b"root:x:0:0::/root:/bin/sh\nevil::0:0\n"
    assert v.stat(p, "/srv/b").size == 0 and v.stat(p, "/srv/data/a").mtime_ns == 5_000_000_000
    assert names(v, p, "/srv/data") == ["a", "new"]
    assert v.readlink(p, "/bin/sh") == "busybox"
    assert tree_state(root) == before                    # the rootfs never changed
    upper = v.upper_path
    assert upper is not None and (upper / "bin/busybox").read_bytes() == b"#!/poisoned\n"
    assert stat.S_IMODE(upper.stat().st_mode) == 0o700   # private to the run
    v.close()
    assert not upper.exists()
    fresh = Vfs(root, F)                                 # the next run: pristine
    try:
        assert read(fresh, p, "/bin/sh") == b"\x7fELF pristine"
    finally:
        fresh.close()


def test_unlink_rmdir_of_lower_entries_leave_whiteouts(overlay):
    v, root, before = overlay
    p = Proc()
    v.unlink(p, "/etc/passwd")
    assert errno_of(v.stat, p, "/etc/passwd") == "ENOENT"
    assert names(v, p, "/etc") == []
    assert errno_of(v.rmdir, p, "/srv") == "ENOTEMPTY"   # the lower entries still count
    v.unlink(p, "/srv/data/a")
    v.rmdir(p, "/srv/data")
    assert names(v, p, "/srv") == ["b"]
    assert errno_of(v.open, p, "/srv/data/a", F["O_RDONLY"]) == "ENOENT"
    v.mkdir(p, "/srv/data", 0o755)                        # opaque: the lower one stays hidden
    assert names(v, p, "/srv/data") == []
    write(v, p, "/etc/passwd", b"new\n", extra="O_EXCL")
    assert names(v, p, "/etc") == ["passwd"] and read(v, p, "/etc/passwd") == b"new\n"
    v.unlink(p, "/srv/b")
    v.rmdir(p, "/srv/data")
    v.rmdir(p, "/srv")
    assert "srv" not in names(v, p, "/")
    assert tree_state(root) == before


def test_rename_of_lower_entries(overlay):
    v, root, before = overlay
    p = Proc()
    v.rename(p, "/etc/passwd", "/tmp/pw")
    assert names(v, p, "/etc") == [] and read(v, p, "/tmp/pw").startswith(b"root:")
    v.rename(p, "/tmp/pw", "/srv/b")                     # over a lower file
    assert names(v, p, "/srv") == ["b", "data"] and read(v, p, "/srv/b").startswith(b"root:")
    assert errno_of(v.rename, p, "/srv/data", "/moved") == "EXDEV"   # mv copies, as on overlayfs
    v.mkdir(p, "/tmp/d", 0o755)
    write(v, p, "/tmp/d/f", b"f")
    v.rename(p, "/tmp/d", "/home/d")                     # an upper-only directory moves
    assert read(v, p, "/home/d/f") == b"f" and names(v, p, "/tmp") == []
    assert tree_state(root) == before


@pytest.mark.parametrize("persist", [False, True])
def test_dangerous_modes_and_owners_are_shown_not_applied(rootfs, persist):
    before = tree_state(rootfs)
    v = Vfs(rootfs, F, persist=persist)
    p = Proc()
    try:
        write(v, p, "/tmp/suid", b"x")
        v.chmod(p, "/tmp/suid", 0o4755)
        v.chmod(p, "/bin/busybox", 0o6755)
        v.chmod(p, "/tmp", 0o1777)
        v.chmod(p, "/", 0o777)
        v.mkdir(p, "/tmp/shared", 0o2777)                  # umask 022 takes the write bits
        v.chown(p, "/etc/passwd", 1000, 1001)
        assert stat.S_IMODE(v.stat(p, "/tmp/suid").mode) == 0o4755
        assert stat.S_IMODE(v.stat(p, "/bin/sh").mode) == 0o6755
        assert stat.S_IMODE(v.stat(p, "/tmp").mode) == 0o1777
        assert stat.S_IMODE(v.stat(p, "/").mode) == 0o777
        assert stat.S_IMODE(v.stat(p, "/tmp/shared").mode) == 0o2755
        st = v.stat(p, "/etc/passwd")
        assert (st.uid, st.gid) == (1000, 1001)
        f = v.open(p, "/tmp/suid", F["O_RDONLY"])            # fstat shows it too
        assert stat.S_IMODE(f.stat().mode) == 0o4755
        f.release()
        v.link(p, "/tmp/suid", "/tmp/hard")                # one inode, one mode
        assert stat.S_IMODE(v.stat(p, "/tmp/hard").mode) == 0o4755
        v.rename(p, "/tmp/hard", "/tmp/moved")
        assert stat.S_IMODE(v.stat(p, "/tmp/moved").mode) == 0o4755
        v.chown(p, "/tmp/suid", 0, 0)                      # as Linux: chown clears setuid
        assert stat.S_IMODE(v.stat(p, "/tmp/suid").mode) == 0o755
        v.chmod(p, "/tmp/suid", 0o4755)
        assert errno_of(v.access, p, "/etc/passwd", 1) == "EACCES"
        for top in (rootfs, v.upper_path):
            if top is not None:
                assert unsafe_host_files(top) == []
                assert os.stat(top).st_uid == os.getuid()  # no host chown, anywhere
        assert os.stat(rootfs).st_mode == before["."][0]   # the jail root's mode stays
        if persist:
            assert (rootfs / "tmp/suid").read_bytes() == b"x"
            assert stat.S_IMODE((rootfs / "tmp/suid").stat().st_mode) == 0o755
            assert (rootfs / "etc/passwd").stat().st_uid == os.getuid()
        else:
            assert tree_state(rootfs) == before
    finally:
        v.close()


def test_persist_writes_through_and_deletes_for_real(rootfs):
    v = Vfs(rootfs, F, persist=True)
    p = Proc()
    try:
        assert v.upper_path is None
        write(v, p, "/bin/sh", b"changed")
        v.unlink(p, "/srv/b")
        v.mkdir(p, "/srv/new", 0o755)
        v.rename(p, "/srv/data", "/srv/moved")             # a real rename: no lower layer
    finally:
        v.close()
    assert (rootfs / "bin/busybox").read_bytes() == b"changed"
    assert sorted(os.listdir(rootfs / "srv")) == ["moved", "new"]
    assert (rootfs / "srv/moved/a").read_text() == "A"
    again = Vfs(rootfs, F, persist=True)                   # the next run sees it
    try:
        assert read(again, Proc(), "/bin/sh") == b"changed"
    finally:
        again.close()


@pytest.mark.parametrize("persist", [False, True])
def test_the_rootfs_modes_file_is_shown_but_not_there(rootfs, persist):
    """build-rootfs keeps /tmp 0755 on the host and writes ``1777 tmp`` here."""
    (rootfs / MODES_FILE).write_text("1777 tmp\nbogus line\n4755 ../escape\n")
    v = Vfs(rootfs, F, persist=persist)
    p = Proc()
    try:
        assert stat.S_IMODE(v.stat(p, "/tmp").mode) == 0o1777
        assert stat.S_IMODE(os.stat(rootfs / "tmp").st_mode) == 0o755
        assert MODES_FILE not in names(v, p, "/")
        assert errno_of(v.stat, p, "/" + MODES_FILE) == "ENOENT"
        assert errno_of(v.open, p, "/" + MODES_FILE, F["O_RDONLY"]) == "ENOENT"
        write(v, p, "/tmp/f", b"f")                          # copy-up keeps what it shows
        assert stat.S_IMODE(v.stat(p, "/tmp").mode) == 0o1777
    finally:
        v.close()
    assert (rootfs / MODES_FILE).read_text().startswith("1777 tmp\n")
