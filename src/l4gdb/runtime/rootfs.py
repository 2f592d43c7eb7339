"""The default root file system of each arch: Debian's busybox-static.

``$L4GDB_ROOTFS_DIR/<arch>`` (default ``~/.cache/l4gdb/rootfs/<arch>``) holds
the unpacked ``busybox-static`` package of the matching Debian arch (the arch
plugin's ``LinuxAbi.debian_arch``: armhf, mipsel, i386), the applet links
``busybox --list-full`` names (run through the host's qemu-user-static,
``LinuxAbi.qemu_user``), and a minimal /etc. It is built by ``scripts/setup``
(``python -m l4gdb.runtime.rootfs build --all``), never committed. A build
is atomic (made in a temporary directory, then renamed) and does nothing when
the same package is already there.

No host directory of the tree gets a mode that is unsafe on the host (the
sticky, world-writable /tmp): those modes are written to ``.l4gdb-modes``,
which Wombat shows the guest instead (overlay.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from l4gdb.archkit.linux_abi import LinuxAbi
from l4gdb.errors import InfrastructureError
from l4gdb.runtime.plugins import get_plugins
from l4gdb.wombat.overlay import MODES_FILE, SAFE_BITS

PACKAGE = "busybox-static"
STAMP = ".l4gdb-rootfs"          # the .deb file name the tree came from
SETUP_HINT = "scripts/setup (or: .venv/bin/python -m l4gdb.runtime.rootfs build {arch})"
ETC = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "etc/hostname": "wombat\n",
}
DIRS = {"tmp": 0o1777, "proc": 0o555, "dev": 0o755, "etc": 0o755, "root": 0o700,
        "home": 0o755}


class RootfsMissing(InfrastructureError):
    """No rootfs has been built for an arch."""


def rootfs_base() -> Path:
    return Path(os.environ.get("L4GDB_ROOTFS_DIR") or "~/.cache/l4gdb/rootfs").expanduser()


def linux_abi(arch: str) -> LinuxAbi:
    """The arch's LinuxAbi; InfrastructureError when its plugin has none."""
    abis = get_plugins().linux_abis()
    if arch not in abis:
        raise InfrastructureError(f"wombat: no default rootfs for arch {arch!r} (Wombat "
                                  f"runs on: {', '.join(abis) or 'no arch installed'})")
    return abis[arch]


def default_rootfs(arch: str) -> Path:
    """The arch's rootfs directory; a clear error naming the setup step when absent."""
    linux_abi(arch)
    path = rootfs_base() / arch
    if not (path / "bin/busybox").is_file() or not (path / "bin/sh").exists():
        raise RootfsMissing(f"wombat: no {arch} rootfs at {path}; build it with "
                            + SETUP_HINT.format(arch=arch))
    return path


# --- fetching the package -----------------------------------------------------------------
Log = Callable[[str], None]


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo"]


def _run(cmd: list[str], cwd: Path | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def ensure_foreign_arch(debarch: str, log: Log) -> bool:
    """``dpkg --add-architecture`` when needed; True if it was added now."""
    have = _run(["dpkg", "--print-foreign-architectures"]).stdout.split()
    native = _run(["dpkg", "--print-architecture"]).stdout.strip()
    if debarch in have or debarch == native:
        return False
    log(f"rootfs: adding the dpkg architecture {debarch}")
    r = _run(_sudo() + ["dpkg", "--add-architecture", debarch])
    if r.returncode != 0:
        raise InfrastructureError(f"dpkg --add-architecture {debarch} failed: {r.stderr.strip()}")
    return True


def apt_update(log: Log) -> None:
    """apt-get update; with foreign arches a security index may fail (exit 100)
    while the main archive is fine, so the exit code is not trusted: the
    download that follows is what is checked."""
    r = _run(_sudo() + ["apt-get", "update"], timeout=900)
    if r.returncode != 0:
        log(f"rootfs: apt-get update exited {r.returncode} (going on; the download is checked)")


def download_deb(debarch: str, into: Path, log: Log) -> Path:
    """``apt-get download busybox-static:<debarch>`` into ``into``."""
    def attempt() -> Path | None:
        _run(["apt-get", "download", f"{PACKAGE}:{debarch}"], cwd=into)
        debs = sorted(into.glob(f"{PACKAGE}_*_{debarch}.deb"))
        return debs[-1] if debs else None

    deb = attempt()
    if deb is None:                  # the arch's package lists may be missing
        ensure_foreign_arch(debarch, log)
        apt_update(log)
        deb = attempt()
    if deb is None:
        raise InfrastructureError(f"apt-get download {PACKAGE}:{debarch} fetched nothing "
                                  f"(is the {debarch} architecture reachable in the apt sources?)")
    return deb


# --- building the tree ----------------------------------------------------------------------
def applets(qemu_user: str, tree: Path) -> list[str]:
    """``busybox --list-full`` of the foreign binary, run with ``qemu_user``
    (a qemu-user-static binary)."""
    qemu = shutil.which(qemu_user)
    if qemu is None:
        raise InfrastructureError(f"{qemu_user} is missing (apt-get install "
                                  "qemu-user-static) and is needed to list busybox's applets")
    r = _run([qemu, str(tree / "bin/busybox"), "--list-full"], timeout=120)
    names = [line.strip() for line in r.stdout.splitlines() if line.strip()]
    if r.returncode != 0 or "bin/sh" not in names:
        raise InfrastructureError(f"{qemu_user} bin/busybox --list-full failed "
                                  f"(exit {r.returncode}): {r.stderr.strip()[:200]}")
    return names


def populate(tree: Path, names: list[str]) -> int:
    """Relative links to /bin/busybox for every applet, and the skeleton
    directories and /etc files; returns the number of links made."""
    made = 0
    for name in names:
        rel = Path(name.lstrip("/"))
        if rel == Path("bin/busybox") or ".." in rel.parts:
            continue
        link = tree / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.exists() or link.is_symlink():
            continue
        os.symlink(os.path.relpath("bin/busybox", start=rel.parent.as_posix() or "."), link)
        made += 1
    for d in DIRS:
        (tree / d).mkdir(exist_ok=True)
    settle_modes(tree)
    for name, text in ETC.items():
        if not (tree / name).exists():
            (tree / name).write_text(text)
    return made


def settle_modes(tree: Path) -> None:
    """The skeleton directories get host-safe modes; the modes the guest
    should see where they differ (``1777 tmp``) go to MODES_FILE. Also
    mends a tree an older build left with a world-writable /tmp."""
    lines = []
    for d, mode in DIRS.items():
        path = tree / d
        if path.is_symlink() or not path.is_dir():
            continue
        os.chmod(path, mode & SAFE_BITS)
        if mode & ~SAFE_BITS:
            lines.append(f"{mode:o} {d}\n")
    text, path = "".join(lines), tree / MODES_FILE
    if not path.is_file() or path.read_text() != text:     # a cache other runs read
        path.write_text(text)


def build(arch: str, base: Path | None = None, deb: Path | None = None, force: bool = False,
          log: Log = print) -> Path:
    """Build (or keep) the rootfs of ``arch``; returns its directory."""
    abi = linux_abi(arch)
    debarch = abi.debian_arch
    if debarch is None:
        raise InfrastructureError(f"Debian has no {arch} port, so there is no busybox rootfs "
                                  f"for it: give --rootfs DIR with programs of your own")
    base = base or rootfs_base()
    dest = base / arch
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{arch}-", dir=base) as tmp:
        tmpdir = Path(tmp)
        if deb is None:
            dl = tmpdir / "deb"
            dl.mkdir()
            try:
                deb = download_deb(debarch, dl, log)
            except InfrastructureError as exc:
                if not (dest / STAMP).is_file():
                    raise
                settle_modes(dest)
                log(f"rootfs: {exc}; keeping the {arch} rootfs already at {dest}")
                return dest
        stamp = deb.name
        if not force and (dest / STAMP).is_file() and (dest / STAMP).read_text() == stamp \
                and (dest / "bin/sh").exists():
            settle_modes(dest)
            log(f"rootfs: {arch} is up to date ({dest})")
            return dest
        tree = tmpdir / "tree"
        r = _run(["dpkg-deb", "-x", str(deb), str(tree)])
        if r.returncode != 0 or not (tree / "bin/busybox").is_file():
            raise InfrastructureError(f"dpkg-deb -x {deb.name} failed: {r.stderr.strip()}")
        made = populate(tree, applets(abi.qemu_user, tree))
        (tree / STAMP).write_text(stamp)
        old = tmpdir / "old"
        if dest.exists():
            dest.rename(old)                 # the swap: old out, new in, old removed
        tree.rename(dest)
        log(f"rootfs: {arch} ({debarch}) built at {dest}: {made} applet links from {stamp}")
    return dest


def main(argv: list[str] | None = None) -> int:
    known = list(get_plugins().linux_abis())
    ap = argparse.ArgumentParser(prog="python -m l4gdb.runtime.rootfs",
                                 description="Build Wombat's default root file systems.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="fetch busybox-static and build the rootfs")
    b.add_argument("arches", nargs="*", metavar="ARCH", help=", ".join(known))
    b.add_argument("--all", action="store_true",
                   help=f"every arch Wombat runs on ({', '.join(known)})")
    b.add_argument("--force", action="store_true", help="rebuild even when up to date")
    b.add_argument("--deb", type=Path, help="use this .deb instead of downloading")
    p = sub.add_parser("path", help="print the rootfs directory of an arch")
    p.add_argument("arch", choices=known)
    args = ap.parse_args(argv)
    if args.cmd == "path":
        print(rootfs_base() / args.arch)
        return 0
    # --all: the arches Debian has a port of (the others have no busybox to fetch)
    arches = [a for a in known if linux_abi(a).debian_arch] if args.all else args.arches
    if not arches or set(arches) - set(known):
        ap.error(f"name arches among {', '.join(known)}, or give --all")
    failed = []
    for arch in arches:
        try:
            build(arch, deb=args.deb, force=args.force)
        except (InfrastructureError, OSError, subprocess.SubprocessError) as exc:
            print(f"rootfs: FAILED to build the {arch} rootfs: {exc}", file=sys.stderr)
            failed.append(arch)
    if failed:
        print(f"rootfs: WARNING: no rootfs for {', '.join(failed)}; the Wombat tests of "
              "that arch will fail until it is built", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
