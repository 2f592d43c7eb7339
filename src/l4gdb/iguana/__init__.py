"""Iguana (OKL4 3.0 names) as a host-side L4 thread: protection domains,
memsections, threads, capabilities and sessions, reached by real IPC.

Pure Python (no GDB/QEMU import). See docs/iguana.md.
"""

from .server import (
    IGUANA_THREAD_NO,
    IID_CLIST,
    IID_MEMSECTION,
    IID_PD,
    IID_SESSION,
    IID_THREAD,
    IguanaError,
    IguanaServer,
    install,
)

__all__ = [
    "IGUANA_THREAD_NO", "IID_CLIST", "IID_MEMSECTION", "IID_PD", "IID_SESSION", "IID_THREAD",
    "IguanaError", "IguanaServer", "install",
]
