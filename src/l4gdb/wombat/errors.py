"""Errors of the Linux personality, by errno NAME (numbers differ per arch)."""

from __future__ import annotations


class LinuxError(Exception):
    """A system call fails with ``errno``; the server maps the name through the
    arch's errno table (``LinuxAbi.errno``)."""

    def __init__(self, errno: str, detail: str = "") -> None:
        super().__init__(f"{errno}: {detail}" if detail else errno)
        self.errno = errno
        self.detail = detail
