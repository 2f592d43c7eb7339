"""L4 X.2 kernel semantics in pure Python (no GDB, QEMU or pluggy here).

The host calls :meth:`Kernel.handle` with a :class:`~l4gdb.kernel.abi.Trap`
for every kernel entry and applies the :class:`~l4gdb.kernel.abi.Resume`.
"""

from .abi import ArchInfo, KDebugOp, Memory, Resume, Syscall, Trap, TrapKind
from .clock import Clock, FakeClock, MonotonicClock
from .kdebug import BufferConsole, KdbConsole
from .kernel import BootConfig, Kernel
from .snapshot import KernelSnapshot

__all__ = [
    "ArchInfo", "BootConfig", "BufferConsole", "Clock", "KdbConsole", "FakeClock", "KDebugOp",
    "Kernel", "KernelSnapshot", "Memory", "MonotonicClock", "Resume", "Syscall", "Trap",
    "TrapKind",
]
