"""Signal delivery: a frame on the user stack, the handler's registers, sigreturn.

The interrupted context is kept by the server (``LinuxThread.frames``) and
restored by sigreturn; the user stack gets what a handler may read: the
siginfo (for SA_SIGINFO) and, on i386, the arguments and return address.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from .process import SavedContext, SigAction

if TYPE_CHECKING:
    from l4gdb.archkit.linux_abi import LinuxAbi

    from .process import LinuxThread

# Default actions (by name, so they hold for MIPS's numbers too).
IGNORED_BY_DEFAULT = {"SIGCHLD", "SIGWINCH", "SIGURG", "SIGCONT"}
STOPPING = {"SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"}
UNBLOCKABLE = {"SIGKILL", "SIGSTOP"}
SIGINFO_BYTES = 128
FRAME_GAP = 256           # red zone / scratch below the interrupted sp


def bit(sig: int) -> int:
    return 1 << (sig - 1)


def first_deliverable(pending: int, mask: int) -> int:
    ready = pending & ~mask
    if not ready:
        return 0
    return (ready & -ready).bit_length()


def build_frame(abi: LinuxAbi, thread: LinuxThread, sig: int, act: SigAction,
                trampoline: int, word: int, ip_reg: str, sp_reg: str,
                flags_reg: str) -> tuple[dict[str, int], int, bytes]:
    """Registers for entering the handler, the frame address and the bytes to
    write there. The caller saves the interrupted context."""
    regs = dict(thread.tcb.regs)
    sp = regs.get(sp_reg, 0)
    siginfo = bytearray(SIGINFO_BYTES)
    struct.pack_into("<iii", siginfo, 0, sig, 0, 0)
    base = (sp - FRAME_GAP - SIGINFO_BYTES) & ~15
    info_addr = base
    uc_addr = 0
    sa_siginfo = abi.sa_flags.get("SA_SIGINFO", 4)
    restorer = act.restorer if act.flags & abi.sa_flags.get("SA_RESTORER", 0x04000000) \
        else trampoline
    data = bytes(siginfo)
    if abi.handler_arg_regs:
        frame = base
        args = [sig, info_addr if act.flags & sa_siginfo else 0, uc_addr]
        for reg, value in zip(abi.handler_arg_regs, args, strict=False):
            regs[reg] = value
        regs[abi.handler_return_reg or ""] = restorer
        regs.pop("", None)
        new_sp = frame & ~7
    else:
        # i386: [return address, sig, &siginfo, &ucontext] below the siginfo
        args = [restorer, sig, info_addr if act.flags & sa_siginfo else 0, uc_addr]
        new_sp = (base - 4 * len(args)) & ~15
        new_sp -= 4                        # as after a call: (sp + 4) 16-aligned
        stack = struct.pack(f"<{len(args)}I", *args)
        data = stack + b"\0" * (base - (new_sp + len(stack))) + data
        frame = new_sp
    handler = act.handler
    if abi.thumb_bit:
        if handler & 1:
            regs[flags_reg] = regs.get(flags_reg, 0) | abi.thumb_bit
        else:
            regs[flags_reg] = regs.get(flags_reg, 0) & ~abi.thumb_bit
        handler &= ~1
    if abi.handler_function_reg:
        regs[abi.handler_function_reg] = act.handler
    regs[ip_reg] = handler & ((1 << (8 * word)) - 1)
    regs[sp_reg] = new_sp
    return regs, frame, data


def save_context(thread: LinuxThread, frame_sp: int) -> None:
    thread.frames.append(SavedContext(dict(thread.tcb.regs), thread.sigmask, frame_sp))
    del thread.frames[:-64]          # a runaway handler recursion must not grow us forever


def restore_context(thread: LinuxThread) -> bool:
    """sigreturn: the interrupted registers and mask back. False: no frame."""
    if not thread.frames:
        return False
    saved = thread.frames.pop()
    thread.tcb.regs.update(saved.regs)
    thread.sigmask = saved.sigmask
    return True
