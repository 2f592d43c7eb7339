"""The default rootfs: where it lives, the applet links, the Debian build."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from l4gdb.runtime import rootfs
from l4gdb.wombat.files import FdTable
from l4gdb.wombat.vfs import Vfs


def test_default_rootfs_names_the_setup_step_when_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("L4GDB_ROOTFS_DIR", str(tmp_path))
    with pytest.raises(rootfs.RootfsMissing) as exc:
        rootfs.default_rootfs("arm")
    assert "scripts/setup" in str(exc.value) and str(tmp_path / "arm") in str(exc.value)
    with pytest.raises(rootfs.InfrastructureError):
        rootfs.default_rootfs("sparc")
    (tmp_path / "arm/bin").mkdir(parents=True)
    (tmp_path / "arm/bin/busybox").write_bytes(b"\x7fELF")
    os.symlink("busybox", tmp_path / "arm/bin/sh")
    assert rootfs.default_rootfs("arm") == tmp_path / "arm"


def test_home_cache_is_the_default(monkeypatch):
    monkeypatch.delenv("L4GDB_ROOTFS_DIR", raising=False)
    assert rootfs.rootfs_base() == Path("~/.cache/l4gdb/rootfs").expanduser()


def test_populate_makes_relative_applet_links(tmp_path):
    tree = tmp_path / "tree"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin/busybox").write_bytes(b"\x7fELF")
    (tree / "bin/busybox").chmod(0o755)
    made = rootfs.populate(tree, ["bin/busybox", "bin/sh", "usr/bin/wc", "sbin/ifconfig",
                                 "usr/sbin/chroot", "../escape"])
    assert made == 4
    assert os.readlink(tree / "bin/sh") == "busybox"
    assert os.readlink(tree / "usr/bin/wc") == "../../bin/busybox"
    assert not (tmp_path / "escape").exists()
    assert (tree / "etc/passwd").read_text().startswith("root:x:0:0:")
    assert (tree / "etc/group").read_text().startswith("root:x:0:")
    # /tmp is 1777 for the guest only: the host directory is not world-writable
    assert stat.S_IMODE((tree / "tmp").stat().st_mode) == 0o755
    for d in ("proc", "dev", "root", "home"):
        assert (tree / d).is_dir()
        assert not (tree / d).stat().st_mode & (stat.S_ISVTX | stat.S_IWOTH | stat.S_IWGRP)
    # the links resolve inside the jail as the guest sees it
    v = Vfs(tree, {"O_RDONLY": 0})
    proc = SimpleNamespace(pid=1, cwd="/", exe="/bin/busybox", umask=0o022, fds=FdTable())
    assert v.read_executable(proc, "/usr/bin/wc")[0] == "/bin/busybox"
    assert stat.S_IMODE(v.stat(proc, "/tmp").mode) == 0o1777
    v.close()
    assert rootfs.populate(tree, ["bin/sh"]) == 0              # idempotent


DEB_DIR = Path("/tmp/bb")


@pytest.mark.slow
def test_build_from_the_debian_package(tmp_path):
    if shutil.which(rootfs.linux_abi("arm").qemu_user) is None or shutil.which("dpkg-deb") is None:
        pytest.fail("qemu-user-static and dpkg-deb are installed by scripts/setup")
    debs = sorted(DEB_DIR.glob("busybox-static_*_armhf.deb"))
    deb = debs[-1] if debs else None            # a cached download, else apt-get download
    dest = rootfs.build("arm", base=tmp_path, deb=deb, log=lambda s: None)
    assert dest == tmp_path / "arm"
    assert (dest / "bin/busybox").is_file() and os.readlink(dest / "bin/sh") == "busybox"
    assert os.readlink(dest / "usr/bin/wc") == "../../bin/busybox"
    assert (dest / rootfs.STAMP).read_text().endswith("_armhf.deb")
    ino = (dest / "bin").stat().st_ino
    messages: list[str] = []
    rootfs.build("arm", base=tmp_path, deb=deb, log=messages.append)
    assert "up to date" in messages[0] and (dest / "bin").stat().st_ino == ino
    rootfs.build("arm", base=tmp_path, deb=deb, force=True, log=messages.append)
    assert (dest / "bin").stat().st_ino != ino                 # rebuilt, swapped in whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arm"]   # no temp left over


def test_settle_modes_mends_an_older_tree(tmp_path):
    """A tree built before the host /tmp stopped being 1777 is mended in place."""
    tree = tmp_path / "old"
    (tree / "tmp").mkdir(parents=True)
    os.chmod(tree / "tmp", 0o1777)
    rootfs.settle_modes(tree)
    assert stat.S_IMODE((tree / "tmp").stat().st_mode) == 0o755
    assert (tree / ".l4gdb-modes").read_text() == "1777 tmp\n"
