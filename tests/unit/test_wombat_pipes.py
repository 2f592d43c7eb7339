"""Pipe buffers: capacity, PIPE_BUF atomicity, EOF, EPIPE."""

from __future__ import annotations

import pytest

from l4gdb.wombat.pipes import PIPE_BUF, PIPE_CAPACITY, WOULD_BLOCK, BrokenPipe, Pipe


def opened(readers: int = 1, writers: int = 1) -> Pipe:
    p = Pipe()
    p.readers, p.writers = readers, writers
    return p


def test_data_flows_in_order():
    p = opened()
    assert p.write(b"abc") == 3
    assert p.write(b"def") == 3
    assert p.read(4) == b"abcd"
    assert p.read(100) == b"ef"


def test_empty_pipe_blocks_while_a_writer_exists_then_eof():
    p = opened()
    assert p.read(10) is WOULD_BLOCK
    assert not p.readable()
    p.writers = 0
    assert p.readable()
    assert p.read(10) == b""


def test_writes_up_to_pipe_buf_are_atomic():
    p = opened()
    assert p.write(b"x" * (PIPE_CAPACITY - 100)) == PIPE_CAPACITY - 100
    assert p.write(b"y" * 200) is WOULD_BLOCK          # fits only partly: nothing
    assert p.available() == PIPE_CAPACITY - 100
    assert p.write(b"z" * 100) == 100
    assert p.write(b"w") is WOULD_BLOCK
    assert not p.writable()


def test_large_writes_are_split():
    p = opened()
    big = b"q" * (PIPE_CAPACITY + PIPE_BUF)
    assert p.write(big) == PIPE_CAPACITY
    assert p.write(big) is WOULD_BLOCK
    assert p.read(PIPE_BUF) == b"q" * PIPE_BUF
    assert p.writable()
    assert p.write(big) == PIPE_BUF


def test_no_reader_is_epipe_with_sigpipe():
    p = opened(readers=0)
    with pytest.raises(BrokenPipe) as exc:
        p.write(b"x")
    assert exc.value.errno == "EPIPE" and exc.value.signal == "SIGPIPE"
    assert p.writable()            # poll reports it (the write fails at once)


def test_zero_byte_operations():
    p = opened()
    assert p.read(0) == b""
    assert p.write(b"") == 0
