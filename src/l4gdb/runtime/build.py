"""Build guest code with clang + ld.lld: the kernel stub and user programs.

The arch plugin says how (``GuestToolchain``: target, flags, crt0, linker
scripts); this module compiles the portable guest tree (``src/guest``: libl4
headers, the ``rt`` runtime, ``apps/<name>``) against it. Outputs are cached
by a hash of every input file and flag, so an unchanged build is a stat and
a file read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from l4gdb.archkit.guestspec import GuestToolchain
from l4gdb.errors import ExitCode, L4gdbError

# Bump when the way outputs are produced changes, to invalidate old caches.
_CACHE_VERSION = "1"

_COMMON_CFLAGS = (
    "-ffreestanding", "-nostdlib", "-fno-builtin", "-fno-common",
    "-ffunction-sections", "-fdata-sections",
    "-O2", "-g", "-Wall",
)
_C_ONLY_FLAGS = ("-std=gnu11",)


class BuildError(L4gdbError):
    """A guest build failed; the message names the file and carries the
    compiler's or linker's own output."""

    code = ExitCode.USAGE

    def __init__(self, message: str, code: ExitCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


def guest_dir() -> Path:
    """The portable guest tree (``src/guest`` of a repository checkout)."""
    # src/l4gdb/runtime/build.py -> src/guest
    return Path(__file__).resolve().parents[2] / "guest"


def default_build_dir() -> Path:
    env = os.environ.get("L4GDB_BUILD_DIR")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "l4gdb" / "build"


def _tool(names: tuple[str, ...], env_var: str) -> str:
    override = os.environ.get(env_var)
    candidates = (override,) if override else names
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    raise BuildError(
        f"{names[0]} not found (looked for {', '.join(candidates)}); "
        "`apt-get install clang lld` installs it",
        code=ExitCode.INFRASTRUCTURE,
    )


def clang() -> str:
    return _tool(("clang", "clang-16", "clang-15", "clang-14"), "L4GDB_CLANG")


def ld_lld() -> str:
    return _tool(("ld.lld", "ld.lld-16", "ld.lld-15", "ld.lld-14"), "L4GDB_LD")


def _include_dirs(tc: GuestToolchain) -> list[Path]:
    g = guest_dir()
    return [g / "include", g / "rt" / "include", tc.include_dir]


def _compile_flags(tc: GuestToolchain) -> list[str]:
    flags = [f"--target={tc.clang_target}", *_COMMON_CFLAGS, *tc.cflags]
    for d in _include_dirs(tc):
        flags += ["-I", str(d)]
    return flags


def _headers(tc: GuestToolchain) -> list[Path]:
    """Every header a guest file may include: part of each cache key."""
    found: list[Path] = []
    for d in _include_dirs(tc):
        if d.is_dir():
            found += sorted(p for p in d.rglob("*.h") if p.is_file())
    return found


def _digest(files: list[Path], words: list[str]) -> str:
    h = hashlib.sha256(_CACHE_VERSION.encode())
    for w in words:
        h.update(b"\0w" + w.encode())
    for f in files:
        h.update(b"\0f" + str(f).encode() + b"\0")
        try:
            h.update(f.read_bytes())
        except OSError as e:
            raise BuildError(f"{f}: cannot read: {e.strerror}") from None
    return h.hexdigest()


def _cached(out: Path, key: str) -> bool:
    stamp = out.with_name(out.name + ".key")
    return out.is_file() and stamp.is_file() and stamp.read_text() == key


def _mark_cached(out: Path, key: str) -> None:
    out.with_name(out.name + ".key").write_text(key)


def _run(cmd: list[str], what: Path) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise BuildError(f"{what}: cannot run {cmd[0]}: {e}",
                         code=ExitCode.INFRASTRUCTURE) from None
    if proc.returncode != 0:
        output = (proc.stderr + proc.stdout).strip()
        raise BuildError(f"{what}: build failed ({Path(cmd[0]).name} exit "
                         f"{proc.returncode}):\n{output}")


def _compile_all(tc: GuestToolchain, sources: list[Path], obj_dir: Path) -> list[Path]:
    """Compile C and assembly files in parallel; objects are named after
    their index so two files with one name cannot collide."""
    cc = clang()
    flags = _compile_flags(tc)
    obj_dir.mkdir(parents=True, exist_ok=True)

    def one(item: tuple[int, Path]) -> Path:
        i, src = item
        if not src.is_file():
            raise BuildError(f"{src}: no such source file")
        obj = obj_dir / f"{i:03d}-{src.stem}.o"
        lang = list(_C_ONLY_FLAGS) if src.suffix == ".c" else []
        _run([cc, *flags, *lang, "-c", str(src), "-o", str(obj)], src)
        return obj

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(one, enumerate(sources)))


def _link(tc: GuestToolchain, ldscript: Path, objects: list[Path], out: Path) -> None:
    cmd = [ld_lld(), "-T", str(ldscript), "--gc-sections", *tc.ldflags,
           *map(str, objects), "-o", str(out)]
    _run(cmd, out)


def _build(tc: GuestToolchain, sources: list[Path], ldscript: Path, out: Path) -> Path:
    sources = [Path(s).resolve() for s in sources]
    out = Path(out).resolve()
    key = _digest([*sources, ldscript, *_headers(tc)],
                  [clang(), ld_lld(), *_compile_flags(tc), *tc.ldflags])
    if _cached(out, key):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    objects = _compile_all(tc, sources, out.with_name(out.name + ".obj"))
    _link(tc, ldscript, objects, out)
    _mark_cached(out, key)
    return out


def _runtime_sources(tc: GuestToolchain, sources: list[Path] | None = None) -> list[Path]:
    """crt0 first, then the portable runtime and libl4 code; libiguana too when a
    program source (or a header beside it) includes an ``<iguana/...>`` header
    (its names, ``thread_create`` among them, would clash with programs that do
    not use Iguana)."""
    g = guest_dir()
    libs = ["rt", "libl4"]
    for lib, include in OPTIONAL_LIBS:
        if any(_includes(s, include) for s in sources or ()):
            libs.append(lib)
    return [tc.crt0, *(f for lib in libs for f in sorted((g / lib).glob("*.c")))]


# Libraries linked only into programs that include their headers (their names,
# thread_create or check among them, would clash with programs that do not).
OPTIONAL_LIBS = (("libiguana", "#include <iguana/"), ("libcheck", "#include <check.h>"))


def _includes(source: Path, include: str) -> bool:
    """The file, or a header next to it, has the ``include`` line."""
    source = Path(source)
    for f in [source, *sorted(source.parent.glob("*.h"))]:
        try:
            if include in f.read_text(errors="replace"):
                return True
        except OSError:
            continue
    return False


def build_kernel(tc: GuestToolchain, out_dir: Path) -> Path:
    """The kernel stub image ``out_dir/kernel.elf``."""
    return _build(tc, list(tc.kernel_sources), tc.kernel_ldscript, Path(out_dir) / "kernel.elf")


def build_program(tc: GuestToolchain, sources: list[Path], out: Path) -> Path:
    """A user program from C files linked with crt0, the runtime and libl4."""
    if not sources:
        raise BuildError(f"{out}: no source files given")
    return _build(tc, [*_runtime_sources(tc, sources), *sources], tc.user_ldscript, Path(out))


def builtin_programs() -> list[str]:
    apps = guest_dir() / "apps"
    return sorted(p.name for p in apps.iterdir() if p.is_dir()) if apps.is_dir() else []


def builtin_program(tc: GuestToolchain, name: str, build_dir: Path | None = None) -> Path:
    """Built-in program ``src/guest/apps/<name>`` as ``<build_dir>/<arch>/<name>.elf``."""
    app = guest_dir() / "apps" / name
    sources = sorted(app.glob("*.c")) if app.is_dir() else []
    if not sources:
        known = ", ".join(builtin_programs()) or "none"
        raise BuildError(f"no built-in program {name!r} (known: {known})")
    base = Path(build_dir) if build_dir is not None else default_build_dir()
    return build_program(tc, sources, base / tc.arch / f"{name}.elf")
