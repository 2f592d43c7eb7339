"""Iguana (OKL4 3.0 names) as a host-side L4 thread: protection domains,
memsections, threads, capabilities, sessions, external address spaces,
pools, hardware for drivers and memsection sharing, reached by real IPC.

Pure Python (no GDB/QEMU import). See docs/iguana.md.
"""

from . import attach, eas, hardware, methods, pools  # noqa: F401  (they register methods)
from .eas import Eas
from .errors import Fail, IguanaError
from .server import (
    IGUANA_THREAD_NO,
    IID_CLIST,
    IID_EAS,
    IID_HARDWARE,
    IID_MEMSECTION,
    IID_PD,
    IID_PHYSMEM,
    IID_PHYSPOOL,
    IID_SESSION,
    IID_THREAD,
    IguanaServer,
    Pd,
    install,
)

__all__ = [
    "IGUANA_THREAD_NO", "IID_CLIST", "IID_EAS", "IID_HARDWARE", "IID_MEMSECTION", "IID_PD",
    "IID_PHYSMEM", "IID_PHYSPOOL", "IID_SESSION", "IID_THREAD",
    "Eas", "Fail", "IguanaError", "IguanaServer", "Pd", "install",
]
