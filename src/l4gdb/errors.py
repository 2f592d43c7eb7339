"""Errors that end a command, each with the exit code README documents."""

from __future__ import annotations

import enum

# The architecture a command uses when none is named (README's demo runs on it).
# The only architecture name the core knows; everything else comes from plugins.
DEFAULT_ARCH = "arm"


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1          # a check or an expectation failed
    USAGE = 2           # bad command line, unknown arch or program, bad input file
    TIMEOUT = 3         # --timeout (or an expectation's own timeout) ran out
    FAIL_ON = 4         # a --fail-on pattern matched
    INFRASTRUCTURE = 5  # QEMU, GDB or the toolchain could not start or died


class L4gdbError(Exception):
    """An error with a one-line message and an exit code; never a traceback."""

    code = ExitCode.INFRASTRUCTURE


class UsageError(L4gdbError):
    code = ExitCode.USAGE


class InfrastructureError(L4gdbError):
    code = ExitCode.INFRASTRUCTURE
