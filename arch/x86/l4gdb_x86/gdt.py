"""GDT entry 6 (selector 0x33): the i386 thread pointer of the thread that runs.

User code always runs with ``%gs`` = 0x33 (guest/kernel.S reloads it on every
return to ring 3, which also reloads the descriptor). What the entry holds
depends on the thread:

* an L4 thread (``Resume.tls_user`` false): 4 read-only bytes at
  ``l4k_user_tls``, where the return path stores the UTCB address, so
  ``movl %gs:0, reg`` gives the UTCB (as Pistachio ia32);
* a Linux thread (``tls_user`` true): what Linux's ``set_thread_area`` makes of
  glibc's ``user_desc`` in its TLS entry 6 -- base = the thread's value,
  limit 0xfffff in 4 KiB units (4 GiB), 32-bit, read-write, DPL 3.

The glue rewrites the descriptor with a copy record of the exit block only when
it changes, so a switch between threads of the same kind costs nothing.
"""

from __future__ import annotations

import dataclasses

from l4gdb.archkit.guesttimer import CounterTrapGlue
from l4gdb.kernel.abi import Resume

TLS_ENTRY = 6                     # Linux's GDT_ENTRY_TLS_MIN on i386: selector 0x33
ACCESS_DATA_RO_DPL3 = 0xF1        # present, DPL 3, data, read-only, accessed
ACCESS_DATA_RW_DPL3 = 0xF3        # present, DPL 3, data, read-write, accessed
FLAGS_32BIT = 0x4                 # D/B
FLAGS_PAGES = 0x8                 # G: the limit counts 4 KiB units


def descriptor(base: int, limit: int, access: int, flags: int) -> int:
    """An 8-byte segment descriptor as a little-endian quadword."""
    return ((limit & 0xFFFF) | (base & 0xFFFFFF) << 16 | access << 40
            | ((limit >> 16) & 0xF) << 48 | flags << 52 | ((base >> 24) & 0xFF) << 56)


def utcb_descriptor(slot: int) -> int:
    """The L4 view: the 4-byte UTCB-pointer slot, read-only."""
    return descriptor(slot, 3, ACCESS_DATA_RO_DPL3, FLAGS_32BIT)


def linux_tls_descriptor(base: int) -> int:
    """The Linux view: set_thread_area's flat 4 GiB data segment at ``base``."""
    return descriptor(base, 0xFFFFF, ACCESS_DATA_RW_DPL3, FLAGS_32BIT | FLAGS_PAGES)


@dataclasses.dataclass
class X86TrapGlue(CounterTrapGlue):
    """The shared codec (with the guest timer's counter when ``counter_offset`` is
    set), plus GDT entry 6 for the thread it resumes."""

    gdt_addr: int = 0             # l4k_gdt (0: the image has no TLS entry to rewrite)
    utcb_slot: int = 0            # l4k_user_tls

    def __post_init__(self) -> None:
        super().__post_init__()
        # What _start leaves in the entry.
        self._tls_desc_sent = utcb_descriptor(self.utcb_slot)

    def encode_exit(self, resume: Resume) -> tuple[bytes, list[tuple[int, bytes]]]:
        if self.gdt_addr and resume.thread is not None:
            want = (linux_tls_descriptor(resume.tls) if resume.tls_user
                    else utcb_descriptor(self.utcb_slot))
            if want != self._tls_desc_sent:
                self._tls_desc_sent = want
                entry = (self.gdt_addr + 8 * TLS_ENTRY, want.to_bytes(8, "little"))
                resume = dataclasses.replace(resume, writes=[*resume.writes, entry])
        return super().encode_exit(resume)
