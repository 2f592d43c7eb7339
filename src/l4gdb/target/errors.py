"""Errors raised by the target layer."""

from __future__ import annotations


class TargetError(RuntimeError):
    """QEMU, the remote-protocol connection or GDB failed (missing tool, died, protocol error)."""


class GdbError(TargetError):
    """GDB answered an MI command with ``^error``; ``str(err)`` is GDB's message."""
