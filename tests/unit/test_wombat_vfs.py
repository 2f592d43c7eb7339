"""The jailed root file system: path walk, emulated /proc and /dev, escapes."""

from __future__ import annotations

import os
import stat

import pytest
from wombat_fakes import Proc, dir_names

from l4gdb.wombat import vfs as vfs_mod
from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.files import ConsoleTty, DirFile, JailFile, PipeEnd, TtyFile
from l4gdb.wombat.pipes import Pipe
from l4gdb.wombat.vfs import AT_FDCWD, Vfs

# i386's open flags (asm-generic/fcntl.h); ARM and MIPS differ, which the
# flag-table test below checks.
X86_FLAGS = {"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_CREAT": 0o100, "O_EXCL": 0o200,
             "O_NOCTTY": 0o400, "O_TRUNC": 0o1000, "O_APPEND": 0o2000, "O_NONBLOCK": 0o4000,
             "O_DIRECTORY": 0o200000, "O_NOFOLLOW": 0o400000, "O_CLOEXEC": 0o2000000,
             "O_LARGEFILE": 0o100000}
MIPS_FLAGS = {"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_APPEND": 0x8, "O_NONBLOCK": 0x80,
              "O_CREAT": 0x100, "O_TRUNC": 0x200, "O_EXCL": 0x400, "O_NOCTTY": 0x800,
              "O_LARGEFILE": 0x2000, "O_DIRECTORY": 0x10000, "O_NOFOLLOW": 0x20000,
              "O_CLOEXEC": 0x80000}
F = X86_FLAGS


@pytest.fixture(params=["overlay", "persist"])
def jail(tmp_path, request):
    """A jail with some content, and a secret next to it that must stay unreachable;
    seen through the private upper layer (the default) or written through."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("SECRET")
    root = tmp_path / "root"
    for d in ("bin", "etc", "tmp", "home/user", "proc", "dev"):
        (root / d).mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "secret").write_text("jail's own secret")
    (root / "bin/busybox").write_bytes(b"\x7fELF...")
    (root / "bin/busybox").chmod(0o755)
    os.symlink("busybox", root / "bin/sh")
    v = Vfs(root, X86_FLAGS, console=ConsoleTty(output=lambda b: None),
            persist=request.param == "persist")
    yield v, root, outside
    v.close()


def landed(v: Vfs, root):
    """Where the guest's changes are on the host: the upper layer, or the rootfs."""
    return v.upper_path if v.upper_path is not None else root


def listing(v: Vfs, proc, path: str) -> list[str]:
    """The names getdents64 gives for ``path`` (without . and ..)."""
    return dir_names(v, proc, path, F)


def read_all(v: Vfs, proc: Proc, path: str, **kw) -> bytes:
    f = v.open(proc, path, F["O_RDONLY"], **kw)
    try:
        return f.read(1 << 16)
    finally:
        f.release()


def errno_of(fn, *args, **kw) -> str:
    with pytest.raises(LinuxError) as exc:
        fn(*args, **kw)
    return exc.value.errno


# --- the ordinary walk ---------------------------------------------------------------------
def test_open_read_and_stat(jail):
    v, root, _ = jail
    p = Proc()
    assert read_all(v, p, "/etc/passwd").startswith(b"root:")
    st = v.stat(p, "/etc/passwd")
    assert stat.S_ISREG(st.mode) and st.size == os.stat(root / "etc/passwd").st_size
    assert st.ino == os.stat(root / "etc/passwd").st_ino
    assert stat.S_ISLNK(v.stat(p, "/bin/sh", follow=False).mode)
    assert stat.S_ISREG(v.stat(p, "/bin/sh").mode)
    assert v.readlink(p, "/bin/sh") == "busybox"


def test_relative_paths_and_chdir(jail):
    v, _, _ = jail
    p = Proc()
    v.chdir(p, "etc")
    assert p.cwd == "/etc" and v.getcwd(p) == "/etc"
    assert read_all(v, p, "passwd").startswith(b"root:")
    assert read_all(v, p, "../etc/./passwd").startswith(b"root:")
    v.chdir(p, "/bin/../home//user/")
    assert p.cwd == "/home/user"
    assert errno_of(v.chdir, p, "/etc/passwd") == "ENOTDIR"
    assert errno_of(v.chdir, p, "/nope") == "ENOENT"


def test_errors_as_linux_gives_them(jail):
    v, _, _ = jail
    p = Proc()
    assert errno_of(v.stat, p, "") == "ENOENT"
    assert errno_of(v.stat, p, "/etc/passwd/x") == "ENOTDIR"
    assert errno_of(v.stat, p, "/etc/passwd/") == "ENOTDIR"
    assert errno_of(v.stat, p, "/nope/x") == "ENOENT"
    assert errno_of(v.stat, p, "/" + "a" * 256) == "ENAMETOOLONG"
    assert errno_of(v.stat, p, "/a" * 2048) == "ENAMETOOLONG"
    assert errno_of(v.open, p, "/etc", F["O_WRONLY"]) == "EISDIR"
    assert errno_of(v.open, p, "/etc/passwd", F["O_DIRECTORY"]) == "ENOTDIR"
    assert errno_of(v.open, p, "/bin/sh", F["O_NOFOLLOW"]) == "ELOOP"
    assert errno_of(v.open, p, "/etc/passwd", F["O_CREAT"] | F["O_EXCL"]) == "EEXIST"
    assert errno_of(v.open, p, "/newdir/", F["O_CREAT"] | F["O_WRONLY"]) == "EISDIR"
    assert errno_of(v.readlink, p, "/etc/passwd") == "EINVAL"
    assert errno_of(v.rmdir, p, "/etc/passwd") == "ENOTDIR"
    assert errno_of(v.rmdir, p, "/etc") == "ENOTEMPTY"
    assert errno_of(v.rmdir, p, "/tmp/.") == "EINVAL"
    assert errno_of(v.unlink, p, "/etc") == "EISDIR"
    assert errno_of(v.mkdir, p, "/etc", 0o755) == "EEXIST"
    assert errno_of(v.symlink, p, "x", "/etc/passwd") == "EEXIST"
    dirf = v.open(p, "/etc", F["O_RDONLY"])
    p.fds.install(dirf)
    filef = v.open(p, "/etc/passwd", F["O_RDONLY"])
    fd = p.fds.install(filef)
    assert errno_of(v.stat, p, "x", dirfd=fd) == "ENOTDIR"
    assert errno_of(v.stat, p, "x", dirfd=99) == "EBADF"


def test_symlink_loop_gives_eloop(jail):
    v, root, _ = jail
    os.symlink("b", root / "a")
    os.symlink("a", root / "b")
    os.symlink("self", root / "self")
    p = Proc()
    assert errno_of(v.stat, p, "/a") == "ELOOP"
    assert errno_of(v.open, p, "/self/x", F["O_RDONLY"]) == "ELOOP"
    assert stat.S_ISLNK(v.stat(p, "/a", follow=False).mode)


def test_forty_links_resolve_forty_one_do_not(jail):
    v, root, _ = jail
    for i in range(41):
        os.symlink(f"l{i + 1}", root / f"l{i}")
    (root / "l41").write_text("end")
    p = Proc()
    assert read_all(v, p, "/l1") == b"end"          # 40 links
    assert errno_of(v.stat, p, "/l0") == "ELOOP"     # 41 links


def test_create_write_rename_unlink(jail):
    v, root, _ = jail
    p = Proc()
    f = v.open(p, "/tmp/new", F["O_WRONLY"] | F["O_CREAT"] | F["O_TRUNC"], 0o666)
    assert isinstance(f, JailFile)
    assert f.write(b"hello") == 5
    f.release()
    assert (landed(v, root) / "tmp/new").read_text() == "hello"
    assert stat.S_IMODE(os.stat(landed(v, root) / "tmp/new").st_mode) == 0o644   # umask 022
    v.rename(p, "/tmp/new", "/tmp/renamed")
    assert read_all(v, p, "/tmp/renamed") == b"hello"
    v.link(p, "/tmp/renamed", "/tmp/hard")
    assert v.stat(p, "/tmp/hard").nlink == 2
    v.symlink(p, "/tmp/renamed", "/tmp/soft")
    assert read_all(v, p, "/tmp/soft") == b"hello"
    v.truncate(p, "/tmp/soft", 2)
    assert read_all(v, p, "/tmp/renamed") == b"he"
    v.unlink(p, "/tmp/renamed")
    v.unlink(p, "/tmp/hard")
    v.unlink(p, "/tmp/soft")
    v.mkdir(p, "/tmp/d", 0o777)
    assert stat.S_IMODE(v.stat(p, "/tmp/d").mode) == 0o755
    v.rmdir(p, "/tmp/d")
    assert os.listdir(landed(v, root) / "tmp") == [] and listing(v, p, "/tmp") == []


def test_create_through_a_dangling_symlink(jail):
    v, root, _ = jail
    os.symlink("/tmp/target", root / "dangling")
    p = Proc()
    f = v.open(p, "/dangling", F["O_WRONLY"] | F["O_CREAT"], 0o600)
    f.release()
    assert (landed(v, root) / "tmp/target").exists()
    assert errno_of(v.open, p, "/dangling", F["O_WRONLY"] | F["O_CREAT"] | F["O_EXCL"]) \
        == "EEXIST"


def test_access_and_chmod_and_utimens(jail):
    v, root, _ = jail
    p = Proc()
    v.access(p, "/bin/busybox", 1)
    (root / "etc/passwd").chmod(0o644)
    assert errno_of(v.access, p, "/etc/passwd", 1) == "EACCES"
    v.chmod(p, "/etc/passwd", 0o600)
    assert stat.S_IMODE(os.stat(landed(v, root) / "etc/passwd").st_mode) == 0o600
    v.utimens(p, "/etc/passwd", 1_000_000_000, None)
    st = os.stat(landed(v, root) / "etc/passwd")
    assert st.st_atime_ns == 1_000_000_000
    assert errno_of(v.access, p, "/nope", 0) == "ENOENT"


def test_open_flags_come_from_the_arch_table(jail):
    _, root, _ = jail
    mips = Vfs(root, MIPS_FLAGS)
    p = Proc()
    f = mips.open(p, "/tmp/m", MIPS_FLAGS["O_WRONLY"] | MIPS_FLAGS["O_CREAT"]
                  | MIPS_FLAGS["O_APPEND"], 0o644)
    assert f.access == "w" and "O_APPEND" in f.status
    f.write(b"a")
    f.release()
    # 0o100 is O_CREAT on i386 but means nothing on MIPS
    assert errno_of(mips.open, p, "/tmp/other", 1 | 0o100) == "ENOENT"
    mips.close()


def test_getdents_of_host_directory(jail):
    v, root, _ = jail
    p = Proc()
    d = v.open(p, "/bin", F["O_RDONLY"] | F["O_DIRECTORY"])
    assert isinstance(d, DirFile)
    names = _dent_names(d.getdents64(4096))
    assert names[:2] == [".", ".."] and sorted(names[2:]) == ["busybox", "sh"]
    assert d.getdents64(4096) == b""
    d.seek(0, 0)
    assert len(_dent_names(d.getdents64(4096))) == 4
    d.release()


def _dent_names(data: bytes) -> list[str]:
    out, pos = [], 0
    while pos < len(data):
        reclen = int.from_bytes(data[pos + 16:pos + 18], "little")
        assert reclen % 8 == 0
        out.append(data[pos + 19:pos + reclen].split(b"\0", 1)[0].decode())
        pos += reclen
    return out


# --- /proc and /dev -------------------------------------------------------------------------
def test_proc_self(jail):
    v, _, _ = jail
    p = Proc(cwd="/etc")
    assert v.readlink(p, "/proc/self") == "7"
    assert v.readlink(p, "/proc/self/exe") == "/bin/busybox"
    assert v.readlink(p, "/proc/7/cwd") == "/etc"
    assert read_all(v, p, "/proc/self/exe") == b"\x7fELF..."
    assert read_all(v, p, "/proc/self/cwd/passwd").startswith(b"root:")
    assert stat.S_ISDIR(v.stat(p, "/proc/self/fd").mode)
    assert errno_of(v.stat, p, "/proc/8") == "ENOENT"
    d = v.open(p, "/proc/self", F["O_RDONLY"])
    assert sorted(_dent_names(d.getdents64(4096))) == [
        ".", "..", "cmdline", "comm", "cwd", "exe", "fd", "root", "stat", "status"]


def test_proc_of_every_process_for_ps(jail):
    v, _, _ = jail
    me = Proc(pid=7, cwd="/etc")
    me.argv, me.ppid, me.pgid, me.sid, me.zombie = ["sh", "-c", "x"], 1, 7, 1, False
    other = Proc(pid=9, exe="/bin/sleep", cwd="/tmp")
    other.argv, other.ppid, other.pgid, other.sid, other.zombie = ["sleep", "5"], 7, 9, 1, False
    dead = Proc(pid=11)
    dead.zombie = True
    v.tree.processes = lambda: {7: me, 9: other, 11: dead}
    d = v.open(me, "/proc", F["O_RDONLY"])
    assert sorted(_dent_names(d.getdents64(4096))) == [".", "..", "7", "9", "self"]
    stat_line = read_all(v, me, "/proc/9/stat").decode()
    fields = stat_line.split()
    assert fields[:6] == ["9", "(sleep)", "S", "7", "9", "1"] and len(fields) >= 44
    assert read_all(v, me, "/proc/9/cmdline") == b"sleep\x005\x00"
    assert read_all(v, me, "/proc/self/comm") == b"busybox\n"
    assert b"PPid:\t7" in read_all(v, me, "/proc/9/status")
    assert v.readlink(me, "/proc/9/cwd") == "/tmp"
    assert errno_of(v.stat, me, "/proc/11") == "ENOENT"
    assert errno_of(v.open, me, "/proc/9/stat", F["O_WRONLY"]) == "EACCES"
    assert stat.S_ISREG(v.stat(me, "/proc/9/stat").mode)


def test_proc_self_fd(jail):
    v, _, _ = jail
    p = Proc()
    f = v.open(p, "/etc/passwd", F["O_RDONLY"])
    fd = p.fds.install(f)
    assert v.readlink(p, f"/proc/self/fd/{fd}") == "/etc/passwd"
    assert read_all(v, p, f"/dev/fd/{fd}").startswith(b"root:")
    pipe = Pipe()
    r = p.fds.install(PipeEnd(access="r", pipe=pipe))
    w = p.fds.install(PipeEnd(access="w", pipe=pipe))
    assert v.readlink(p, f"/proc/self/fd/{w}") == f"pipe:[{pipe.ino}]"
    w2 = v.open(p, f"/proc/self/fd/{w}", F["O_WRONLY"])
    p.fds.install(w2)
    assert pipe.writers == 2
    w2.write(b"through the link")
    assert p.fds.get(r).read(100) == b"through the link"
    assert errno_of(v.stat, p, f"/proc/self/fd/{w}/x") == "ENOTDIR"
    d = v.open(p, "/proc/self/fd", F["O_RDONLY"])
    assert sorted(_dent_names(d.getdents64(4096))[2:]) == sorted(str(n) for n in p.fds)


def test_dev_nodes(jail):
    v, _, _ = jail
    p = Proc()
    assert read_all(v, p, "/dev/null") == b""
    assert read_all(v, p, "/dev/zero") == bytes(1 << 16)
    assert len(read_all(v, p, "/dev/urandom")) == 1 << 16
    null = v.open(p, "/dev/null", F["O_WRONLY"])
    assert null.write(b"x" * 10) == 10
    st = v.stat(p, "/dev/null")
    assert stat.S_ISCHR(st.mode) and st.rdev == (1 << 8 | 3)
    assert isinstance(v.open(p, "/dev/tty", F["O_RDWR"]), TtyFile)
    assert isinstance(v.open(p, "/dev/console", F["O_RDWR"]), TtyFile)
    assert errno_of(v.open, p, "/dev/newfile", F["O_CREAT"] | F["O_WRONLY"]) == "EACCES"
    v.console.isatty = False                 # l4gdb's output is a pipe: no controlling tty
    assert errno_of(v.open, p, "/dev/tty", F["O_RDWR"]) == "ENXIO"
    assert isinstance(v.open(p, "/dev/console", F["O_RDWR"]), TtyFile)
    assert errno_of(v.stat, p, "/dev/sda") == "ENOENT"


# --- jail escapes: every one of these must stay inside ---------------------------------------
def test_dotdot_beyond_root_stays_at_root(jail):
    v, _, _ = jail
    p = Proc()
    assert read_all(v, p, "/../../../../secret") == b"jail's own secret"
    assert read_all(v, p, "../../etc/../../secret") == b"jail's own secret"
    v.chdir(p, "/../../..")
    assert p.cwd == "/"
    v.chdir(p, "/etc")
    v.chdir(p, "../../../..")
    assert p.cwd == "/"
    assert errno_of(v.stat, p, "/../outside/secret") == "ENOENT"


def test_absolute_symlink_is_relative_to_the_jail(jail):
    v, root, outside = jail
    os.symlink(str(outside / "secret"), root / "abs")
    os.symlink(str(outside), root / "absdir")
    os.symlink("/", root / "tmp/toroot")
    p = Proc()
    assert errno_of(v.stat, p, "/abs") == "ENOENT"
    assert errno_of(read_all, v, p, "/absdir/secret") == "ENOENT"
    assert read_all(v, p, "/tmp/toroot/../../secret") == b"jail's own secret"
    v.chdir(p, "/tmp/toroot")
    assert p.cwd == "/"


def test_relative_symlink_pointing_out_is_clamped(jail):
    v, root, _ = jail
    os.symlink("../../../../../outside/secret", root / "home/user/rel")
    os.symlink("../../../../..", root / "home/user/up")
    p = Proc()
    assert errno_of(v.stat, p, "/home/user/rel") == "ENOENT"
    assert read_all(v, p, "/home/user/up/secret") == b"jail's own secret"
    assert errno_of(v.stat, p, "/home/user/up/outside") == "ENOENT"


def test_proc_tricks_stay_inside(jail):
    v, _, _ = jail
    p = Proc()
    assert v.readlink(p, "/proc/self/root") == "/"
    assert read_all(v, p, "/proc/self/root/../../secret") == b"jail's own secret"
    assert read_all(v, p, "/proc/self/cwd/../../secret") == b"jail's own secret"
    assert read_all(v, p, "/proc/../../secret") == b"jail's own secret"
    p.exe = "/../../outside/secret"                 # a forged exe path still walks the jail
    assert errno_of(read_all, v, p, "/proc/self/exe") == "ENOENT"


def test_symlink_created_by_the_guest_points_inside(jail):
    v, root, outside = jail
    p = Proc()
    v.symlink(p, str(outside / "secret"), "/tmp/evil")
    v.symlink(p, "../../../outside/secret", "/tmp/evil2")
    assert errno_of(read_all, v, p, "/tmp/evil") == "ENOENT"
    assert errno_of(read_all, v, p, "/tmp/evil2") == "ENOENT"
    assert errno_of(v.open, p, "/tmp/evil", F["O_WRONLY"] | F["O_CREAT"]) == "ENOENT"
    assert (outside / "secret").read_text() == "SECRET"


def test_rename_out_of_jail_is_impossible(jail):
    v, root, outside = jail
    p = Proc()
    assert errno_of(v.rename, p, "/secret", "/../../outside/secret") == "ENOENT"
    v.mkdir(p, "/outside", 0o755)
    v.rename(p, "/secret", "/../../outside/secret")
    assert (outside / "secret").read_text() == "SECRET"
    assert (landed(v, root) / "outside/secret").read_text() == "jail's own secret"


def test_directory_swapped_for_a_symlink_during_the_walk(jail, monkeypatch):
    """The host renames a directory the walk already entered and puts a symlink
    to the outside in its place: the walk goes on in the directory it holds."""
    v, root, outside = jail
    (root / "home/user/secret").write_text("user's secret")
    p = Proc()
    real_open = os.open
    swapped = []

    def racing_open(path, flags, *args, **kw):
        fd = real_open(path, flags, *args, **kw)
        if path == "user" and not swapped:
            os.rename(root / "home/user", root / "home/moved")
            os.symlink(str(outside), root / "home/user")
            swapped.append(True)
        return fd

    monkeypatch.setattr(vfs_mod.os, "open", racing_open)
    assert read_all(v, p, "/home/user/secret") == b"user's secret"
    assert swapped
    monkeypatch.setattr(vfs_mod.os, "open", real_open)
    # afterwards the symlink is read as a jail path: still nothing from outside
    assert errno_of(read_all, v, p, "/home/user/secret") == "ENOENT"


def test_host_special_files_stay_shut(jail):
    v, root, _ = jail
    os.mkfifo(root / "tmp/fifo")
    p = Proc()
    assert errno_of(v.open, p, "/tmp/fifo", F["O_RDONLY"]) == "EACCES"


def test_read_executable(jail):
    v, root, _ = jail
    p = Proc()
    path, f = v.read_executable(p, "/bin/sh")
    assert (path, f.size, f.pread(0, 64)) == ("/bin/busybox", 7, b"\x7fELF...")
    assert errno_of(v.read_executable, p, "/etc/passwd") == "EACCES"
    assert errno_of(v.read_executable, p, "/bin") == "EACCES"
    assert errno_of(v.read_executable, p, "/nope") == "ENOENT"


def test_walks_leave_no_host_descriptor_open(jail):
    v, root, _ = jail
    os.symlink("loop", root / "loop")
    p = Proc(cwd="/etc")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        for path in ("/etc/passwd", "/bin/sh", "passwd", "/nope/x", "/etc/passwd/x", "/loop",
                     "/proc/self/cwd/passwd", "/proc/self/exe", "/dev/null", "/", "..",
                     "/tmp/new/"):
            try:
                v.stat(p, path)
            except LinuxError:
                pass
        v.open(p, "/etc", F["O_RDONLY"]).release()
        v.mkdir(p, "/tmp/d", 0o755)
        v.rename(p, "/tmp/d", "/tmp/e")
        v.rmdir(p, "/tmp/e")
    assert len(os.listdir("/proc/self/fd")) == before


def test_at_fdcwd_is_linux_value():
    assert AT_FDCWD == -100


# --- parity with the Linux kernel's own walk (a chroot in a child process) ------------------
TRICKY = ["/", "/etc", "/etc/", "/etc/.", "/etc/..", "/etc/passwd/", "/etc/passwd/.",
          "etc//passwd", "/bin/sh", "/bin/sh/", "/l/a", "/l/a/", "/l/dang", "/l/dang/",
          "/l/up/etc/passwd", "/l/loop", "/l/loop/x", "/l/abs/passwd", "/l/rel/../passwd",
          "/l/dir/../etc", "/tmp/../../..", "nope/..", "/etc/nope/..", "/l/chain",
          "/l/file/..", "/l/deep/x", "/" + "a" * 256, "/etc/" + "b" * 255,
          "/etc" + "/." * 2046, "/etc" + "/." * 2045, "/l/./a/", "/l/up/l/up/l/abs/"]


def _tricky_tree(root) -> None:
    (root / "l").mkdir()
    os.symlink("../etc/passwd", root / "l/a")
    os.symlink("missing", root / "l/dang")
    os.symlink("../..", root / "l/up")
    os.symlink("loop", root / "l/loop")
    os.symlink("/etc", root / "l/abs")
    os.symlink("../etc/passwd", root / "l/rel")
    os.symlink("/bin", root / "l/dir")
    os.symlink("a", root / "l/chain")
    os.symlink("/etc/passwd", root / "l/file")
    os.symlink("dir/../etc", root / "l/deep")


def _in_chroot(root, body: str, payload) -> list:
    """Run ``body`` (Python reading ``args``, filling ``out``) in a child
    process chrooted to ``root``: the kernel's own answers."""
    import json
    import subprocess
    import sys
    code = ("import os, sys, json, errno\nos.chroot(sys.argv[1]); os.chdir('/')\n"
            "args = json.loads(sys.argv[2])\nout = []\n" + body + "\nprint(json.dumps(out))\n")
    res = subprocess.run([sys.executable, "-c", code, str(root), json.dumps(payload)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _kernel_answers(root, paths, follow: bool) -> list:
    """stat/lstat of each path as Linux answers inside chroot(root)."""
    return _in_chroot(root, """
for p in args[0]:
    try:
        s = os.stat(p, follow_symlinks=args[1])
        out.append([s.st_ino, s.st_mode])
    except OSError as e:
        out.append(errno.errorcode[e.errno])""", [paths, follow])


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
@pytest.mark.parametrize("follow", [True, False])
def test_walk_agrees_with_the_kernel(jail, follow):
    v, root, _ = jail
    _tricky_tree(root)
    want = _kernel_answers(root, TRICKY, follow)
    p = Proc()
    got = []
    for path in TRICKY:
        try:
            st = v.stat(p, path, follow=follow)
            got.append([st.ino, st.mode])
        except LinuxError as e:
            got.append(e.errno)
    assert dict(zip(TRICKY, got, strict=True)) == dict(zip(TRICKY, want, strict=True))


OPS = [("mkdir", "/etc"), ("mkdir", "/l/dang"), ("mkdir", "/newd/"), ("mkdir", "/nope/x"),
       ("rmdir", "/etc/."), ("rmdir", "/tmp/.."), ("rmdir", "/l/a"), ("rmdir", "/"),
       ("rmdir", "/newd"), ("unlink", "/etc"), ("unlink", "/l/chain"), ("unlink", "/nope"),
       ("unlink", "/etc/passwd/"), ("rename", "/etc", "/etc/sub"), ("rename", "/bin/sh", "/tmp/"),
       ("rename", "/tmp", "/etc"), ("rename", "/l/rel", "/tmp/rel"), ("rename", "/nope", "/x"),
       ("symlink", "x", "/l/a"), ("symlink", "x", "/tmp/s"), ("link", "/etc", "/tmp/e"),
       ("link", "/etc/passwd", "/tmp/h"), ("link", "/l/a", "/tmp/h2"), ("link", "/x", "/y"),
       ("open", "/etc", "O_WRONLY"), ("open", "/l/dang", "O_CREAT|O_EXCL"),
       ("open", "/l/dang", "O_CREAT"), ("open", "/l/loop", "O_CREAT"),
       ("open", "/l/a", "O_NOFOLLOW"), ("open", "/etc/passwd", "O_DIRECTORY"),
       ("open", "/etc", "O_CREAT"), ("open", "/tmp/new/", "O_CREAT"), ("readlink", "/etc"),
       ("readlink", "/l/a"), ("readlink", "/nope")]


def _kernel_ops(root) -> list:
    return _in_chroot(root, """
for op, *a in args:
    try:
        if op == "open":
            fl = 0
            for n in a[1].split("|"):
                fl |= getattr(os, n)
            os.close(os.open(a[0], fl, 0o644))
        elif op == "readlink":
            out.append(os.readlink(a[0]))
            continue
        else:
            getattr(os, op)(*a)
        out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])""", OPS)


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
def test_changes_fail_as_the_kernel_fails(jail, tmp_path):
    import shutil
    v, root, _ = jail
    _tricky_tree(root)
    twin = tmp_path / "twin"
    shutil.copytree(root, twin, symlinks=True)
    want = _kernel_ops(twin)
    p = Proc()
    got = []
    for op, *args in OPS:
        try:
            if op == "open":
                fl = 0
                for n in args[1].split("|"):
                    fl |= F[n]
                v.open(p, args[0], fl, 0o644).release()
            elif op == "readlink":
                got.append(v.readlink(p, args[0]))
                continue
            elif op == "mkdir":
                v.mkdir(p, args[0], 0o755)
            elif op == "symlink":
                v.symlink(p, args[0], args[1])
            else:
                getattr(v, op)(p, *args)
            got.append("ok")
        except LinuxError as e:
            got.append(e.errno)
    names = [" ".join(o) for o in OPS]
    assert dict(zip(names, got, strict=True)) == dict(zip(names, want, strict=True))
    assert listing(v, p, "/tmp") == sorted(os.listdir(twin / "tmp"))
