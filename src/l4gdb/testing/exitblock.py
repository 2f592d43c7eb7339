"""Reading an exit block back (tests): the copy records the return path applies."""

from __future__ import annotations

import struct

from l4gdb.archkit.trapblocks import BlockTrapGlue


def copy_records(glue: BlockTrapGlue, block: bytes) -> dict[int, bytes]:
    """Destination -> data of every copy record in ``block`` (docs/internals.md §3.2)."""
    ws = glue.word_size
    c = "I" if ws == 4 else "Q"
    ncopy = struct.unpack_from(f"<{c}", block, (glue.exit_header_words - 1) * ws)[0]
    pos = glue.exit_header_words * ws
    records: dict[int, bytes] = {}
    for _ in range(ncopy):
        dest, nwords = struct.unpack_from(f"<2{c}", block, pos)
        pos += 2 * ws
        records[dest] = block[pos:pos + nwords * ws]
        pos += nwords * ws
    return records
