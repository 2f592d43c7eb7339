"""The kernel interface page (contract §6), built as bytes.

Offsets are the 32-bit ones of Pistachio's ``kip.h``; on 64-bit every field
is a 64-bit word at twice the offset.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .types import thread_no_bits

KIP_MAGIC = b"L4\xe6K"
API_VERSION_X2 = 0x84
SUPPLIER = b"UKa "
VERSION_STRING = "l4gdb"
FEATURES = ("l4gdb-host",)
MMU_FEATURE = "l4gdb-mmu"        # present when spaces have page tables (not flat)
SYSTEM_BASE = 64
USER_BASE = 96
KERNEL_VER = 1 << 24            # ver 1, subver 0, subsubver 0

# Memory descriptor types.
MEM_CONVENTIONAL = 0x1
MEM_RESERVED = 0x2
MEM_DEDICATED = 0x3
MEM_SHARED = 0x4


@dataclass(frozen=True)
class MemoryDesc:
    kind: int
    low: int                    # first byte
    high: int                   # last byte (inclusive)
    virtual: bool = False

    def words(self) -> tuple[int, int]:
        w0 = (self.kind & 0xF) | (int(self.virtual) << 9) | (self.low & ~0x3FF)
        return w0, self.high & ~0x3FF


@dataclass
class KipInfo:
    """Every value the KIP publishes; also what introspection shows."""

    word_size: int
    kernel_id: int
    utcb_size: int
    utcb_align_log2: int
    utcb_min_area_log2: int
    kip_area_log2: int
    page_size_log2s: tuple[int, ...]
    memory: list[MemoryDesc] = field(default_factory=list)
    root_ip: int = 0
    root_sp: int = 0
    main_memory: tuple[int, int] = (0, 0)
    gen_date: datetime.date = datetime.date(2024, 1, 1)
    read_precision_us: int = 1
    schedule_precision_us: int = 1000
    internal_freq_khz: int = 1_000_000
    external_freq_khz: int = 62_500
    features: tuple[str, ...] = FEATURES

    @property
    def bits(self) -> int:
        return 8 * self.word_size

    @property
    def api_version(self) -> int:
        return API_VERSION_X2 << 24

    @property
    def api_flags(self) -> int:
        return (1 << 2) if self.word_size == 8 else 0     # ww, little endian

    @property
    def utcb_area_info(self) -> int:
        m = self.utcb_size >> self.utcb_align_log2
        return ((m & 0x3FF) | (self.utcb_align_log2 & 0x3F) << 10
                | (self.utcb_min_area_log2 & 0x3F) << 16)

    @property
    def thread_info(self) -> int:
        return thread_no_bits(self.bits) | SYSTEM_BASE << 8 | USER_BASE << 20

    @property
    def page_info(self) -> int:
        mask = 0
        for s in self.page_size_log2s:
            mask |= 1 << s
        return 7 | ((mask >> 10) << 10)          # rwx supported

    @property
    def clock_info(self) -> int:
        return (self.read_precision_us & 0xFFFF) | (self.schedule_precision_us & 0xFFFF) << 16

    @property
    def gen_date_word(self) -> int:
        d = self.gen_date
        return (d.day & 0x1F) | (d.month & 0xF) << 5 | ((d.year - 2000) & 0x7F) << 9


KERNEL_DESC_OFF = 0x100          # 32-bit offsets; doubled on 64-bit
PROC_DESC_OFF = 0x140
MEM_DESC_OFF = 0x180


def build_kip(info: KipInfo, page_size: int = 4096) -> bytes:
    ws = info.word_size
    scale = ws // 4
    page = bytearray(page_size)

    def put(off32: int, value: int) -> None:
        off = off32 * scale
        page[off:off + ws] = (value & ((1 << (8 * ws)) - 1)).to_bytes(ws, "little")

    page[0:4] = KIP_MAGIC
    put(0x04, info.api_version)
    put(0x08, info.api_flags)
    put(0x0C, KERNEL_DESC_OFF * scale)
    put(0x40, info.root_sp)                       # root server sp, ip
    put(0x44, info.root_ip)
    put(0x54, len(info.memory) | (MEM_DESC_OFF * scale) << (4 * ws))
    put(0x60, info.main_memory[0])
    put(0x64, info.main_memory[1])
    put(0xA8, info.utcb_area_info)
    put(0xAC, info.kip_area_log2 & 0x3F)
    put(0xB8, 0)                                   # BootInfo
    put(0xBC, PROC_DESC_OFF * scale)
    put(0xC0, info.clock_info)
    put(0xC4, info.thread_info)
    put(0xC8, info.page_info)
    proc_desc_log2 = 4 if ws == 4 else 5           # 4 words per processor
    put(0xCC, 0 | proc_desc_log2 << (8 * ws - 4))  # one processor
    # 0xD0..0xFC syscall entries stay 0: calls trap through the vector stub.

    # Kernel descriptor: KernelId, GenDate, KernelVer, Supplier, then strings.
    put(KERNEL_DESC_OFF, info.kernel_id)
    put(KERNEL_DESC_OFF + 4, info.gen_date_word)
    put(KERNEL_DESC_OFF + 8, KERNEL_VER)
    off = (KERNEL_DESC_OFF + 12) * scale
    page[off:off + 4] = SUPPLIER
    off = (KERNEL_DESC_OFF + 16) * scale
    strings = b"".join(s.encode() + b"\0" for s in (VERSION_STRING, *info.features)) + b"\0"
    page[off:off + len(strings)] = strings
    assert off + len(strings) <= PROC_DESC_OFF * scale, "kernel descriptor overflow"

    put(PROC_DESC_OFF, info.external_freq_khz)
    put(PROC_DESC_OFF + 4, info.internal_freq_khz)

    for i, desc in enumerate(info.memory):
        w0, w1 = desc.words()
        put(MEM_DESC_OFF + 8 * i, w0)
        put(MEM_DESC_OFF + 8 * i + 4, w1)
    assert (MEM_DESC_OFF + 8 * len(info.memory)) * scale <= page_size, "too many memory descriptors"
    return bytes(page)
