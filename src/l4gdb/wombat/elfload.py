"""Static ELF programs for execve: the load plan, the areas of the new image
and the initial stack.

Only what Linux's ``load_elf_binary`` needs of a static program is read: the
ELF header and the program headers, by offset, from the open file (never the
whole file: a guest can exec a sparse file of any size). Segment bytes are read
a page at a time when a fault populates the page. Anything malformed is
ENOEXEC (never a host exception).
"""

from __future__ import annotations

import os
import stat as st_mod
import struct
import weakref
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from elftools.elf.enums import ENUM_E_MACHINE

from l4gdb.kernel.paging import R, W, X

from .errors import LinuxError
from .frames import PAGE, page_down, page_up
from .pagecache import Backing, ImageFile
from .vma import Vma

if TYPE_CHECKING:
    from .mm import Mm

PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
ET_EXEC, ET_DYN = 2, 3
PHENT = {32: 32, 64: 56}           # e_phentsize per ELF class
MAX_PHDRS_BYTES = 65536             # Linux's cap on the program header table
BINPRM_BUF_SIZE = 256               # what Linux reads of a file to pick its format
# ELF header (after e_ident) and program header layouts, little endian.
_EHDR = {32: struct.Struct("<HHIIIIIHHHHHH"), 64: struct.Struct("<HHIQQQIHHHHHH")}
_PHDR = {32: struct.Struct("<IIIIIIII"), 64: struct.Struct("<IIQQQQQQ")}

# Auxiliary vector tags (include/uapi/linux/auxvec.h; the same on every arch).
AT = {"AT_NULL": 0, "AT_IGNORE": 1, "AT_EXECFD": 2, "AT_PHDR": 3, "AT_PHENT": 4,
      "AT_PHNUM": 5, "AT_PAGESZ": 6, "AT_BASE": 7, "AT_FLAGS": 8, "AT_ENTRY": 9,
      "AT_NOTELF": 10, "AT_UID": 11, "AT_EUID": 12, "AT_GID": 13, "AT_EGID": 14,
      "AT_PLATFORM": 15, "AT_HWCAP": 16, "AT_CLKTCK": 17, "AT_SECURE": 23,
      "AT_BASE_PLATFORM": 24, "AT_RANDOM": 25, "AT_HWCAP2": 26, "AT_EXECFN": 31,
      "AT_SYSINFO": 32, "AT_SYSINFO_EHDR": 33, "AT_MINSIGSTKSZ": 51}


class Readable(Protocol):
    """Anything read by offset (a file, or a window into one)."""

    def pread(self, offset: int, n: int) -> bytes: ...


class ProgramSource(Protocol):
    """An executable read by offset: a :class:`~.pagecache.Backing` with a size."""

    @property
    def ident(self) -> Hashable: ...

    @property
    def size(self) -> int: ...

    def pread(self, offset: int, n: int) -> bytes: ...


class ExecFile:
    """An executable opened for execve: a host descriptor of its own, read by
    offset (headers at exec, one page per fault later) and closed when the
    last area loaded from it goes. Pages are cached under the same identity as
    an mmap of the file (``("file", (dev, ino, mtime_ns))``)."""

    def __init__(self, fd: int, path: str = "") -> None:
        """Take ownership of ``fd`` (closed on any failure here)."""
        try:
            s = os.fstat(fd)
        except OSError as e:
            os.close(fd)
            raise LinuxError("EIO", str(e)) from None
        self.fd, self.path = fd, path
        weakref.finalize(self, os.close, fd)
        self.is_regular = st_mod.S_ISREG(s.st_mode)
        self._size = s.st_size
        self._ident = ("file", (s.st_dev, s.st_ino, s.st_mtime_ns))

    @property
    def ident(self) -> Hashable:
        return self._ident

    @property
    def size(self) -> int:
        return self._size

    def pread(self, offset: int, n: int) -> bytes:
        if offset < 0 or n <= 0:
            return b""
        try:
            return os.pread(self.fd, min(n, PAGE, max(0, self._size - offset)), offset)
        except OSError:
            return b""


class BytesProgram(ImageFile):
    """A program image already in host memory (tests, built-in programs)."""

    @property
    def size(self) -> int:
        return len(self.data)


def as_program(image: bytes | ProgramSource, path: str = "") -> ProgramSource:
    return BytesProgram(image, path) if isinstance(image, (bytes, bytearray)) else image


def read_head(src: Readable, n: int = BINPRM_BUF_SIZE) -> bytes:
    """The first bytes of a file (what Linux's prepare_binprm reads), read in pages."""
    out = bytearray()
    while len(out) < n:
        chunk = src.pread(len(out), n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _spacetab(c: int) -> bool:
    return c in (0x20, 0x09)


def _first(buf: bytes, lo: int, hi: int, pred) -> int | None:
    return next((i for i in range(lo, hi) if pred(buf[i])), None)


def parse_shebang(head: bytes) -> tuple[bytes, bytes | None]:
    """(interpreter, optional argument) of a ``#!`` line, as fs/binfmt_script.c:
    only the first BINPRM_BUF_SIZE bytes count; a line with no newline there
    is taken if the interpreter's name ends within it (else ENOEXEC: it would
    be truncated). The argument is the rest of the line, blanks trimmed."""
    buf = head[:BINPRM_BUF_SIZE].ljust(BINPRM_BUF_SIZE, b"\0")
    if buf[:2] != b"#!":
        raise _noexec("not a script")
    last = BINPRM_BUF_SIZE - 1                   # Linux keeps the last byte a NUL
    i_end = buf.find(b"\n", 0, BINPRM_BUF_SIZE)
    if i_end < 0:
        name_at = _first(buf, 2, last, lambda c: not _spacetab(c))
        if name_at is None:
            raise _noexec("#! line of blanks")
        if _first(buf, name_at, last, lambda c: _spacetab(c) or c == 0) is None:
            raise _noexec("#! interpreter name truncated")
        i_end = last
    while i_end > 2 and _spacetab(buf[i_end - 1]):
        i_end -= 1
    i_name = _first(buf, 2, i_end, lambda c: not _spacetab(c))
    if i_name is None:
        raise _noexec("no interpreter in the #! line")
    i_sep = _first(buf, i_name, i_end, lambda c: _spacetab(c) or c == 0)
    name = buf[i_name:i_end if i_sep is None else i_sep]
    arg = None
    if i_sep is not None and buf[i_sep] != 0:
        i_arg = _first(buf, i_sep, i_end, lambda c: not _spacetab(c))
        if i_arg is not None:
            arg = buf[i_arg:i_end].split(b"\0", 1)[0]
    if not name:
        raise _noexec("no interpreter in the #! line")
    return name, arg


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD: [vaddr, vaddr + memsz), the first filesz bytes from the file."""

    vaddr: int
    memsz: int
    offset: int
    filesz: int
    prot: int                     # L4 rights; ELF's PF_R/W/X have the same values


@dataclass(frozen=True)
class ElfImage:
    entry: int
    dynamic: bool                 # ET_DYN (static-pie): placed at a load bias
    segments: tuple[Segment, ...]
    phdr: int                     # where the program headers are in memory (unbiased)
    phent: int
    phnum: int
    stack_prot: int

    @property
    def end(self) -> int:
        return max(s.vaddr + s.memsz for s in self.segments)

    @property
    def start(self) -> int:
        return min(s.vaddr for s in self.segments)


def _noexec(why: str) -> LinuxError:
    return LinuxError("ENOEXEC", why)


def parse_elf(image: bytes | ProgramSource, machine: str, word_bits: int = 32,
              page: int = 4096) -> ElfImage:
    """The load plan of a static ELF for ``machine`` (pyelftools' e_machine name,
    e.g. "EM_ARM"). Raises LinuxError("ENOEXEC") for anything else. Reads the
    ELF header and at most MAX_PHDRS_BYTES of program headers, nothing more."""
    src = as_program(image)
    ehdr_size = 16 + _EHDR.get(word_bits, _EHDR[32]).size
    head = read_head(src, ehdr_size)
    if len(head) < 16 or head[:4] != b"\x7fELF":
        raise _noexec("not an ELF file")
    if word_bits not in _EHDR or head[4] != {32: 1, 64: 2}[word_bits] or head[5] != 1:
        raise _noexec("wrong ELF class or byte order")
    if len(head) < ehdr_size:
        raise _noexec("truncated ELF header")
    (e_type, e_machine, _ver, entry, phoff, _shoff, _flags, _ehsize, phent, phnum,
     *_rest) = _EHDR[word_bits].unpack_from(head, 16)
    want = ENUM_E_MACHINE.get(machine)
    if want is None or e_machine != want:
        raise _noexec(f"e_machine {e_machine} program, not {machine}")
    if e_type not in (ET_EXEC, ET_DYN):
        raise _noexec(f"e_type {e_type} is not an executable")
    size = src.size
    if phent != PHENT[word_bits] or not 0 < phnum * phent <= MAX_PHDRS_BYTES \
            or phoff + phnum * phent > size:
        raise _noexec("bad program headers")
    table = read_head(_Window(src, phoff), phnum * phent)
    if len(table) != phnum * phent:
        raise _noexec("truncated program headers")
    return _plan(table, e_type, entry, phoff, phnum, phent, size, word_bits, page)


class _Window:
    """A source seen from ``base`` on (to read the program header table)."""

    def __init__(self, src: ProgramSource, base: int) -> None:
        self.src, self.base = src, base

    def pread(self, offset: int, n: int) -> bytes:
        return self.src.pread(self.base + offset, n)


def _plan(table: bytes, e_type: int, entry: int, phoff: int, phnum: int, phent: int,
          size: int, word_bits: int, page: int) -> ElfImage:
    top = 1 << word_bits
    loads: list[Segment] = []
    phdr_at: int | None = None
    stack_prot = R | W | X          # no PT_GNU_STACK: an executable stack, as Linux
    fmt = _PHDR[word_bits]
    for i in range(phnum):
        f = fmt.unpack_from(table, i * phent)
        if word_bits == 32:
            kind, offset, vaddr, _pa, filesz, memsz, flags, _align = f
        else:
            kind, flags, offset, vaddr, _pa, filesz, memsz, _align = f
        if kind == PT_INTERP:
            raise _noexec("dynamically linked (PT_INTERP): only static programs run")
        if kind == PT_PHDR:
            phdr_at = vaddr
        elif kind == PT_GNU_STACK:
            stack_prot = R | W | (flags & X)
        elif kind == PT_LOAD and memsz:
            seg = Segment(vaddr, memsz, offset, filesz, flags & (R | W | X))
            if seg.filesz > seg.memsz or seg.filesz > size or seg.offset + seg.filesz > size:
                raise _noexec("segment beyond the end of the file")
            if (seg.vaddr - seg.offset) % page or seg.vaddr + seg.memsz > top:
                raise _noexec("misaligned or oversized segment")
            loads.append(seg)
    if not loads:
        raise _noexec("nothing to load")
    if phdr_at is None:
        phdr_at = _phdr_address(loads, phoff, phnum * phent)
    return ElfImage(entry=entry, dynamic=e_type == ET_DYN, segments=tuple(loads),
                    phdr=phdr_at, phent=phent, phnum=phnum, stack_prot=stack_prot)


def _phdr_address(loads: list[Segment], phoff: int, nbytes: int) -> int:
    """The program headers' address: inside the segment that loads them, else
    (as Linux) the first segment's load address plus e_phoff."""
    for s in loads:
        if s.offset <= phoff and phoff + nbytes <= s.offset + s.filesz:
            return s.vaddr + (phoff - s.offset)
    first = min(loads, key=lambda s: s.vaddr)
    return first.vaddr - first.offset + phoff


# --- the initial stack ----------------------------------------------------------------

AuxValue = int | str | bytes


def initial_stack(top: int, word: int, argv: Iterable[bytes], envp: Iterable[bytes],
                  auxv: Iterable[tuple[int, AuxValue]], limit: int,
                  byteorder: str = "little") -> tuple[int, bytes]:
    """The bytes of a new program's stack below ``top`` and its sp (16-byte aligned).

    At sp: argc, argv pointers, NULL, envp pointers, NULL, auxv pairs, AT_NULL;
    above them the strings (argv, envp, then auxv strings and bytes: a ``str``
    value is stored NUL-terminated, ``bytes`` as they are; the entry holds the
    address). A NULL word ends the stack, as on Linux. E2BIG past ``limit``.
    """
    chunks: list[tuple[int, bytes]] = []
    p = top - word

    def put(data: bytes) -> int:
        nonlocal p
        p -= len(data)
        if top - p > limit:
            raise LinuxError("E2BIG", "argument list too long")
        chunks.append((p, data))
        return p

    args, envs = list(argv), list(envp)
    env_at = [put(s + b"\0") for s in reversed(envs)][::-1]
    arg_at = [put(s + b"\0") for s in reversed(args)][::-1]
    aux: list[int] = []
    for tag, value in auxv:
        if isinstance(value, str):
            value = put(value.encode("utf-8", "surrogateescape") + b"\0")
        elif isinstance(value, bytes):
            value = put(value)
        aux += [tag, value]
    table = [len(args), *arg_at, 0, *env_at, 0, *aux, AT["AT_NULL"], 0]
    sp = (p & ~15) - len(table) * word
    sp &= ~15
    if top - sp > limit:
        raise LinuxError("E2BIG", "argument list too long")
    blob = bytearray(top - sp)
    mask = (1 << (8 * word)) - 1
    for i, v in enumerate(table):
        blob[i * word:(i + 1) * word] = (v & mask).to_bytes(word, byteorder)  # type: ignore[arg-type]
    for at, data in chunks:
        blob[at - sp:at - sp + len(data)] = data
    return sp, bytes(blob)


# --- execve ------------------------------------------------------------------------

STACK_INITIAL = 128 << 10         # the stack area at exec; it grows down on faults


def load_program(mm: Mm, path: str, program: bytes | ProgramSource,
                 argv: Sequence[str | bytes], envp: Sequence[str | bytes],
                 auxv_extra: Mapping[str, AuxValue | None]) -> tuple[int, int]:
    """:meth:`Mm.exec_image`: check, then replace mm's image; (entry, sp)."""
    lay = mm.ctx.layout
    backing = as_program(program, path)
    image = parse_elf(backing, lay.machine, mm.kernel.bits, PAGE)
    bias = lay.dyn_base - page_down(image.start) if image.dynamic else 0
    for seg in image.segments:
        lo = page_down(seg.vaddr + bias)
        if not mm.ctx.usable(lo, page_up(seg.vaddr + bias + seg.memsz)):
            raise LinuxError("ENOMEM", f"segment at {seg.vaddr + bias:#x} is not user space")
    auxv = _auxv(image, bias, path, {**lay.auxv, **auxv_extra})
    sp, blob = initial_stack(lay.stack_top, mm.kernel.arch.word_size, [_b(a) for a in argv],
                             [_b(e) for e in envp], auxv, lay.stack_limit // 4)
    mm._clear()                       # the point of no return
    for seg in image.segments:
        _load(mm, seg, bias, backing, path)
    mm.brk_start = mm.brk_end = page_up(image.end + bias)
    stack_lo = min(page_down(sp), lay.stack_top - STACK_INITIAL)
    mm._place(Vma(stack_lo, lay.stack_top, image.stack_prot, name="[stack]", growsdown=True))
    mm.write(sp, blob)
    mm.exe = path
    return image.entry + bias, sp


def _load(mm: Mm, seg: Segment, bias: int, backing: Backing, path: str) -> None:
    """A PT_LOAD as areas: the file pages (private), then anonymous zero pages;
    the bss part of the last file page reads as zeros (Linux's padzero)."""
    start = seg.vaddr + bias
    file_end, mem_end = start + seg.filesz, start + seg.memsz
    lo = anon_from = page_down(start)
    if seg.filesz:
        anon_from = page_up(file_end)
        zero_tail = file_end if seg.memsz > seg.filesz and file_end % PAGE else None
        mm._place(Vma(lo, anon_from, seg.prot, backing=backing,
                      offset=seg.offset - (start - lo), file_end=zero_tail, name=path))
    if page_up(mem_end) > anon_from:
        mm._place(Vma(anon_from, page_up(mem_end), seg.prot))


def _auxv(image: ElfImage, bias: int, path: str,
          extra: Mapping[str, AuxValue | None]) -> list[tuple[int, AuxValue]]:
    """Linux's auxiliary vector for a static program; ``extra`` (the arch's
    AT_HWCAP, AT_PLATFORM ..., the caller's ids) adds or replaces entries, None
    removes one."""
    values: dict[str, AuxValue | None] = {
        "AT_HWCAP": 0, "AT_PAGESZ": PAGE, "AT_CLKTCK": 100, "AT_PHDR": image.phdr + bias,
        "AT_PHENT": image.phent, "AT_PHNUM": image.phnum, "AT_BASE": 0, "AT_FLAGS": 0,
        "AT_ENTRY": image.entry + bias, "AT_UID": 0, "AT_EUID": 0, "AT_GID": 0,
        "AT_EGID": 0, "AT_SECURE": 0, "AT_RANDOM": os.urandom(16), "AT_EXECFN": path}
    values.update(extra)
    out = []
    for name, v in values.items():
        if v is not None and name != "AT_NULL":
            out.append((AT[name], v))
    return out


def _b(s: str | bytes) -> bytes:
    return s if isinstance(s, bytes) else s.encode("utf-8", "surrogateescape")
