"""What every arch's trap codec (a BlockTrapGlue) is tested for alike: an entry block
as the stub writes it, and the checks whose only differences are addresses and sizes;
conftest.py has pytest rewrite their asserts."""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

from l4gdb.archkit.trapblocks import MARK_KIND as NOT_IN_KERNEL
from l4gdb.archkit.trapblocks import BlockTrapGlue
from l4gdb.kernel.abi import Resume


def entry_block(entry_words: int, pad: int, user_regs: Sequence[str], kind: int,
                detail: int = 0, far: int = 0, fsr: int = 0, regs=None, utcb=0) -> bytes:
    """An entry block of ``entry_words`` 32-bit words: kind, detail, far, fsr, the
    registers (default 100, 101, ...), the utcb address, ``pad`` zero words, 128 UTCB
    words (0, 3, 6, ...)."""
    regs = regs or list(range(100, 100 + len(user_regs)))
    words = [kind, detail, far, fsr, *regs, utcb] + [0] * pad + [i * 3 for i in range(128)]
    assert len(words) == entry_words
    return struct.pack(f"<{entry_words}I", *words)


def check_exit_block_overflow_goes_to_leftover(g: BlockTrapGlue, far: int, utcb: int,
                                               ncopy_word: int) -> None:
    """Writes to an exit block: the page at ``far`` and the 2 bytes at ``utcb`` + 2 are
    left over; the 8 bytes at ``utcb`` + 0x100 are its one copy record (the count of
    records at word ``ncopy_word``)."""
    writes = [(far, bytes(4096)), (utcb + 2, b"ab"), (utcb + 0x100, b"\0" * 8)]
    block, leftover = g.encode_exit(Resume(thread=1, regs={}, writes=writes))
    assert len(block) <= 1536
    assert (far, bytes(4096)) in leftover and (utcb + 2, b"ab") in leftover
    assert struct.unpack_from("<I", block, ncopy_word * 4)[0] == 1


def check_random_blocks_never_raise(g: BlockTrapGlue, entry_words: int, kinds: Sequence[int],
                                    seed: int) -> None:
    """2000 random entry blocks, the kind word mostly one of ``kinds`` or the not-in-kernel
    mark: decode raises on none."""
    rng = random.Random(seed)
    for _ in range(2000):
        words = [rng.getrandbits(32) for _ in range(entry_words)]
        words[0] = rng.choice([*kinds, NOT_IN_KERNEL, rng.getrandbits(32)])
        g.decode(struct.pack(f"<{entry_words}I", *words))


def check_preempt_entry_is_recognised(g: BlockTrapGlue, entry, number: int) -> None:
    """A system call entry with the preemption gate's ``number`` is a preemption; 7 is not."""
    assert g.is_preempt_entry(g.decode(entry(1, detail=number)))
    assert not g.is_preempt_entry(g.decode(entry(1, detail=7)))
