"""Static ELF programs for execve: the load plan (pyelftools), the areas of
the new image and the initial stack.

Only what Linux's ``load_elf_binary`` needs of a static program is read:
the ELF header and the program headers. Anything malformed is ENOEXEC
(never a host exception): a foreign parser reading a guest's file is
guarded as a whole.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elftools.common.utils import struct_parse
from elftools.elf.elffile import ELFFile

from l4gdb.kernel.paging import R, W, X

from .errors import LinuxError
from .frames import PAGE, page_down, page_up
from .pagecache import Backing, ImageFile
from .vma import Vma

if TYPE_CHECKING:
    from .mm import Mm

PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK = 1, 3, 6, 0x6474E551
PHENT = {32: 32, 64: 56}           # e_phentsize per ELF class
MAX_PHDRS_BYTES = 65536             # Linux's ELF_MIN_ALIGN-independent cap

# Auxiliary vector tags (include/uapi/linux/auxvec.h; the same on every arch).
AT = {"AT_NULL": 0, "AT_IGNORE": 1, "AT_EXECFD": 2, "AT_PHDR": 3, "AT_PHENT": 4,
      "AT_PHNUM": 5, "AT_PAGESZ": 6, "AT_BASE": 7, "AT_FLAGS": 8, "AT_ENTRY": 9,
      "AT_NOTELF": 10, "AT_UID": 11, "AT_EUID": 12, "AT_GID": 13, "AT_EGID": 14,
      "AT_PLATFORM": 15, "AT_HWCAP": 16, "AT_CLKTCK": 17, "AT_SECURE": 23,
      "AT_BASE_PLATFORM": 24, "AT_RANDOM": 25, "AT_HWCAP2": 26, "AT_EXECFN": 31,
      "AT_SYSINFO": 32, "AT_SYSINFO_EHDR": 33, "AT_MINSIGSTKSZ": 51}


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


def parse_elf(data: bytes, machine: str, word_bits: int = 32, page: int = 4096) -> ElfImage:
    """The load plan of a static ELF for ``machine`` (pyelftools' e_machine name,
    e.g. "EM_ARM"). Raises LinuxError("ENOEXEC") for anything else."""
    if len(data) < 16 or data[:4] != b"\x7fELF":
        raise _noexec("not an ELF file")
    if data[4] != {32: 1, 64: 2}.get(word_bits) or data[5] != 1:
        raise _noexec("wrong ELF class or byte order")
    try:
        return _plan(ELFFile(io.BytesIO(data)), len(data), machine, word_bits, page)
    except LinuxError:
        raise
    except Exception as exc:      # pyelftools on hostile bytes: any failure is a bad file
        raise _noexec(f"unreadable ELF: {exc!r}") from exc


def _plan(elf: ELFFile, size: int, machine: str, word_bits: int, page: int) -> ElfImage:
    if elf["e_machine"] != machine:
        raise _noexec(f"{elf['e_machine']} program, not {machine}")
    if elf["e_type"] not in ("ET_EXEC", "ET_DYN"):
        raise _noexec(f"{elf['e_type']} is not an executable")
    phent, phnum, phoff = elf["e_phentsize"], elf["e_phnum"], elf["e_phoff"]
    if phent != PHENT[word_bits] or not 0 < phnum * phent <= MAX_PHDRS_BYTES \
            or phoff + phnum * phent > size:
        raise _noexec("bad program headers")
    top = 1 << word_bits
    loads: list[Segment] = []
    phdr_at: int | None = None
    stack_prot = R | W | X          # no PT_GNU_STACK: an executable stack, as Linux
    for i in range(phnum):
        # The raw header: pyelftools' segment classes would parse PT_DYNAMIC & co.
        ph = struct_parse(elf.structs.Elf_Phdr, elf.stream, stream_pos=phoff + i * phent)
        kind = _ptype(ph["p_type"])
        if kind == PT_INTERP:
            raise _noexec("dynamically linked (PT_INTERP): only static programs run")
        if kind == PT_PHDR:
            phdr_at = ph["p_vaddr"]
        elif kind == PT_GNU_STACK:
            stack_prot = R | W | (ph["p_flags"] & X)
        elif kind == PT_LOAD and ph["p_memsz"]:
            seg = Segment(ph["p_vaddr"], ph["p_memsz"], ph["p_offset"], ph["p_filesz"],
                          ph["p_flags"] & (R | W | X))
            if seg.filesz > seg.memsz or seg.offset + seg.filesz > size:
                raise _noexec("segment beyond the end of the file")
            if (seg.vaddr - seg.offset) % page or seg.vaddr + seg.memsz > top:
                raise _noexec("misaligned or oversized segment")
            loads.append(seg)
    if not loads:
        raise _noexec("nothing to load")
    if phdr_at is None:
        phdr_at = _phdr_address(loads, phoff, phnum * phent)
    return ElfImage(entry=elf["e_entry"], dynamic=elf["e_type"] == "ET_DYN",
                    segments=tuple(loads), phdr=phdr_at, phent=phent, phnum=phnum,
                    stack_prot=stack_prot)


def _ptype(t: object) -> int:
    """pyelftools names known types; map back the ones we use."""
    names = {"PT_LOAD": PT_LOAD, "PT_INTERP": PT_INTERP, "PT_PHDR": PT_PHDR,
             "PT_GNU_STACK": PT_GNU_STACK}
    return names.get(t, -1) if isinstance(t, str) else int(t)  # type: ignore[call-overload]


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


def load_program(mm: Mm, path: str, elf_bytes: bytes, argv: Sequence[str | bytes],
                 envp: Sequence[str | bytes],
                 auxv_extra: Mapping[str, AuxValue | None]) -> tuple[int, int]:
    """:meth:`Mm.exec_image`: check, then replace mm's image; (entry, sp)."""
    lay = mm.ctx.layout
    image = parse_elf(elf_bytes, lay.machine, mm.kernel.bits, PAGE)
    bias = lay.dyn_base - page_down(image.start) if image.dynamic else 0
    for seg in image.segments:
        lo = page_down(seg.vaddr + bias)
        if not mm.ctx.usable(lo, page_up(seg.vaddr + bias + seg.memsz)):
            raise LinuxError("ENOMEM", f"segment at {seg.vaddr + bias:#x} is not user space")
    auxv = _auxv(image, bias, path, {**lay.auxv, **auxv_extra})
    sp, blob = initial_stack(lay.stack_top, mm.kernel.arch.word_size, [_b(a) for a in argv],
                             [_b(e) for e in envp], auxv, lay.stack_limit // 4)
    mm._clear()                       # the point of no return
    backing = ImageFile(elf_bytes, path)
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
