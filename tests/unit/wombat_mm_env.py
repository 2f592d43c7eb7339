"""Shared setup of the Wombat memory tests: a fake machine with page tables, the
Linux server's physical host space, and a hand-made ELF writer."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fake_target import ARCH32, FakeMachine

from l4gdb.kernel.paging import R, W, X
from l4gdb.kernel.types import Fpage
from l4gdb.kernel.utcb import merge_writes
from l4gdb.wombat.mm import Layout, Mm, MmContext

PAGE = 0x1000
KIP_AREA = Fpage(0xBFFF_0000, 12)
UTCB_AREA = Fpage(0xBFF0_0000, 16)
STACK_TOP = 0xBF00_0000
MMAP_BASE = 0xB000_0000
EM = {"EM_ARM": 40, "EM_MIPS": 8, "EM_386": 3}


class Env:
    def __init__(self, machine: str = "EM_ARM", read_implies_exec: bool = False,
                 dyn_base: int = 0x0040_0000) -> None:
        self.m = FakeMachine(ARCH32, paging=True)
        self.k = self.m.kernel
        host = self.k.new_space(privileged=True, host=True)
        host.physical = True
        self.host = host
        self.layout = Layout(KIP_AREA, UTCB_AREA, STACK_TOP, MMAP_BASE, machine,
                             dyn_base=dyn_base, read_implies_exec=read_implies_exec,
                             auxv={"AT_HWCAP": 0x1234, "AT_PLATFORM": "v7l"})
        self.ctx = MmContext(self.k, host, self.layout)

    def mm(self) -> Mm:
        return Mm(self.ctx)

    def settle(self) -> None:
        """What the kernel's exit path does with queued writes."""
        for addr, data in merge_writes(self.k._writes):
            self.m.mem.write(addr, data)
        self.k._writes = []

    def hw(self, mm: Mm, va: int) -> tuple[int, int] | None:
        """(paddr, rights) the MMU sees for va in mm's space."""
        return self.m.pt.translate(mm.space.root, va)

    def touch(self, mm: Mm, va: int, access: int, value: int | None = None) -> int | None:
        """User code of mm reads (R) / writes (W) / executes (X) the word at va: soft
        faults and page faults go where the kernel sends them. None: SIGSEGV."""
        self.settle()
        for _ in range(3):
            hit = self.hw(mm, va)
            if hit is not None and hit[1] & access == access:
                if value is not None:
                    self.m.mem.write(hit[0], value.to_bytes(4, "little"))
                    return value
                return int.from_bytes(self.m.mem.read(hit[0], 4), "little")
            if self.k.mdb.soft_fault(mm.space, va, access):
                continue
            if not mm.fault(va, access):
                return None
            self.settle()
        raise AssertionError(f"access {access} at {va:#x} keeps faulting")


@dataclass
class Load:
    vaddr: int
    data: bytes
    memsz: int | None = None
    flags: int = R | X
    offset: int | None = None


def build_elf(loads: list[Load], entry: int, machine: str = "EM_ARM", etype: int = 2,
              gnu_stack: int | None = R | W, extra: list[tuple[int, ...]] | None = None,
              phdr_in_first: bool = False) -> bytes:
    """A little-endian ELF32 with the given PT_LOADs (content placed at an offset
    congruent to its address), PT_GNU_STACK and ``extra`` raw program headers
    (p_type, p_offset, p_vaddr, p_filesz, p_memsz, p_flags)."""
    phdrs: list[tuple[int, ...]] = []
    blobs: list[tuple[int, bytes]] = []
    extra = list(extra or [])
    nph = len(loads) + len(extra) + (gnu_stack is not None)
    at = 0x1000
    for i, ld in enumerate(loads):
        if phdr_in_first and i == 0:
            off = 0
        elif ld.offset is not None:
            off = ld.offset
        else:
            at = (at + PAGE - 1) & ~(PAGE - 1)
            off = at + ld.vaddr % PAGE
            at = off + len(ld.data)
        blobs.append((off, ld.data))
        memsz = ld.memsz if ld.memsz is not None else len(ld.data)
        phdrs.append((1, off, ld.vaddr, len(ld.data), memsz, ld.flags))
    phdrs += extra
    if gnu_stack is not None:
        phdrs.append((0x6474E551, 0, 0, 0, 0, gnu_stack))
    header = struct.pack("<4sBBBBB7sHHIIIIIHHHHHH", b"\x7fELF", 1, 1, 1, 0, 0, bytes(7),
                         etype, EM[machine], 1, entry, 52, 0, 0x0500_0000, 52, 32, nph,
                         40, 0, 0)
    table = b"".join(struct.pack("<IIIIIIII", t, o, v, v, fs, ms, fl, PAGE)
                     for t, o, v, fs, ms, fl in phdrs)
    size = max([52 + len(table)] + [o + len(d) for o, d in blobs])
    out = bytearray(size)
    for off, data in blobs:
        out[off:off + len(data)] = data
    out[0:52] = header
    out[52:52 + len(table)] = table
    return bytes(out)


TEXT = 0x0001_0000
DATA = 0x0003_0100          # not page aligned, as linkers leave it


def sample_elf(**kw: object) -> bytes:
    """Text of three pages (each word its own address), data of 0x180 file bytes
    (0xD0 filler after them in the file) and a bss running 3 pages on."""
    text = b"".join((TEXT + i).to_bytes(4, "little") for i in range(0, 3 * PAGE, 4))
    data = bytes([0xAB]) * 0x180
    elf = build_elf([Load(TEXT, text, flags=R | X),
                     Load(DATA, data, memsz=0x3000, flags=R | W)], TEXT + 0x40, **kw)
    # File bytes after the data segment's end: must never show through the bss.
    return elf + bytes([0xD0]) * PAGE
