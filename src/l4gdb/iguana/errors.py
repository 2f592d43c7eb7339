"""Iguana's error numbers: the reply label of a failed call.

OKL4 3.0's Iguana has no error header of its own: its server methods fail
with -1 or a null reference, and its programs name errors with OKL4's C
library (``libs/c/include/errno.h``). The numbers here are those of that
errno.h, so a guest compares ``iguana_errno`` with the values it would know.
"""

from __future__ import annotations

import enum


class IguanaError(enum.IntEnum):
    """Reply labels (magpie: the label is the exception code, 0 = success)."""

    OK = 0
    ENOENT = 2         # no such object (bad or deleted reference)
    ENOMEM = 12        # no memory, virtual space or thread numbers left
    EBUSY = 16         # the resource is taken (an interrupt with a handler, a mapped page)
    EINVAL = 22        # a bad argument (overlap, alignment, deleting the initial PD ...)
    EPERM = 33         # no capability for the object in the caller's clists
    ENOSYS = 38        # a method this server does not implement


class Fail(Exception):
    """Raised by a method: the call answers with ``err``."""

    def __init__(self, err: IguanaError) -> None:
        super().__init__(err.name)
        self.err = err
