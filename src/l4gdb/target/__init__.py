"""The target layer: QEMU, its gdbstub (the kernel's hot path), the host's own
OS-aware stub for GDB, and the pygdbmi-driven GDB session.

Heavy imports (qemu.qmp, pygdbmi) stay in their modules; import them from there.
"""

from .errors import GdbError, TargetError
from .funnel import HostFunnel
from .rsp import RegisterInfo, RspClient, StopReply
from .stub import GdbStub, StubProvider, StubThread

__all__ = [
    "GdbError", "GdbStub", "HostFunnel", "RegisterInfo", "RspClient", "StopReply",
    "StubProvider", "StubThread", "TargetError",
]
