"""The Linux server: one host-side L4 thread, pager and exception handler of
every Linux process (docs/wombat.md).

A Linux system call arrives as an exception of the calling thread
(``handle_exception``: the kernel's exception IPC to a host server, with the
registers in ``tcb.regs``); the server runs the handler from the system-call
table and replies with the new registers, or keeps the thread blocked and
replies later (``Kernel.host_reply``). Page faults arrive as page-fault IPC
(``handle``) and are resolved from the process's memory map, or become SIGSEGV.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from l4gdb.kernel.abi import Trap, TrapKind
from l4gdb.kernel.kip import USER_BASE
from l4gdb.kernel.thread import State, Tcb
from l4gdb.kernel.types import (
    NILTHREAD,
    Fpage,
    KernelLabel,
    MsgTag,
    ThreadId,
    kernel_label,
)
from l4gdb.kernel.utcb import Tcr

from . import signals
from .calls import BLOCK, HANDLERS, Call, result_text
from .elfload import ExecFile, parse_shebang, read_head
from .errors import LinuxError
from .process import (
    SIG_DFL,
    SIG_IGN,
    LinuxThread,
    Process,
    shell_status,
    wait_status_exited,
    wait_status_signaled,
)
from .shared import SHARE_LABEL, SharedRegistry

if TYPE_CHECKING:
    from l4gdb.archkit.linux_abi import LinuxAbi
    from l4gdb.kernel.kernel import Kernel
    from l4gdb.kernel.space import Space

SERVER_THREAD_NO = USER_BASE + 150     # after Iguana's and the root task's threads
FIRST_LINUX_THREAD_NO = USER_BASE + 400
LINUX_PRIORITY = 98                    # as OK Linux gives its user threads
PAGE = 4096
CONSOLE_POLL_US = 20_000               # how often a reader blocked on the console looks again
DEFAULT_ENV = ("PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/root", "TERM=vt100",
               "SHELL=/bin/sh", "USER=root", "LOGNAME=root", "PWD=/")


@dataclass
class WombatConfig:
    """What ``l4gdb wombat`` asks for."""

    rootfs: str
    argv: list[str]
    env: list[str] = field(default_factory=lambda: list(DEFAULT_ENV))
    strace: IO[str] | None = None
    cwd: str = "/"
    notices: IO[str] | None = None      # the server's own messages (ENOSYS ...): not the console
    # Write the guest's changes into ``rootfs`` itself; default: a private
    # copy-on-write layer over it, dropped with the run (vfs.py).
    rootfs_persist: bool = False


class LinuxServer:
    """Install with :func:`l4gdb.wombat.install`; a ``PythonServer``."""

    def __init__(self, abi: LinuxAbi, config: WombatConfig) -> None:
        self.abi = abi
        self.config = config
        self.kernel: Kernel | None = None
        self.tcb: Tcb | None = None
        self.space: Space | None = None
        self.procs: dict[int, Process] = {}
        self.threads: dict[int, LinuxThread] = {}      # by L4 global id
        self.blocked: list[LinuxThread] = []
        self.init: Process | None = None
        self.vfs: Any = None
        self.bits = 32
        self._next_pid = 1
        self._enosys_seen: set[int] = set()
        self._special: list[tuple[int, int, int]] = []   # (vaddr, frame, rights) in every space
        self.exit_status: int | None = None
        self.finished = False
        self.iguana: Any = None
        self.stats: dict[str, int] = {"syscalls": 0, "faults": 0}
        self._frames: Any = None
        self._fpu_free: list[int] = []
        self.pd: Any = None                          # Wombat's Iguana PD
        self._eas: dict[int, Any] = {}               # id(space) -> its Iguana EAS
        self.on_init_exit: Callable[[], Any] | None = None   # e.g. a snapshot for the demo
        self.console_input: Any = None
        self.shared: SharedRegistry | None = None    # memsections native programs shared

    def notice(self, text: str) -> None:
        out = self.config.notices or sys.stderr
        out.write(f"l4gdb: wombat: {text}\n")
        out.flush()

    # --- names ----------------------------------------------------------------------
    def errno(self, name: str) -> int:
        return self.abi.errno[name]

    def errno_name(self, n: int) -> str:
        try:
            return self.abi.errno_name(n)
        except (KeyError, ValueError):
            return f"E{n}"

    def sig(self, name: str) -> int:
        return self.abi.signals[name]

    def signal_name(self, n: int) -> str:
        try:
            return self.abi.signal_name(n)
        except (KeyError, ValueError):
            return str(n)

    @property
    def now_us(self) -> int:
        return self.kernel.now if self.kernel is not None else 0

    # --- setup ------------------------------------------------------------------------
    def attach(self, kernel: Kernel, iguana: Any = None) -> None:
        """Create the server thread (and its PD when Iguana runs)."""
        from .frames import FramePool
        from .vfs import Vfs

        self.kernel = kernel
        self.bits = kernel.bits
        self.iguana = iguana
        t = kernel.new_host_thread(SERVER_THREAD_NO, "wombat", self)
        space = self.space = t.space    # maps frames it owns into its processes
        gid = t.global_id
        self.tcb = t
        self._frames = FramePool(kernel, space)
        from .sys_fs import console_for
        self.vfs = Vfs(self.config.rootfs, self.abi.open_flags,
                       console=console_for(kernel.console, self.abi),
                       processes=lambda: self.procs, persist=self.config.rootfs_persist)
        register = getattr(iguana, "register_host_server", None)
        if register is not None:
            self.pd = register("wombat", t)     # Linux processes are EASes of this PD
            self.shared = SharedRegistry(kernel, iguana, self._map_shared)
            self.vfs.tree.shared = self.shared.names
        self._make_special_pages()
        kernel.event("wombat_boot", server=gid)

    def close(self) -> None:
        """The run is over: drop the private upper layer of the rootfs."""
        if self.vfs is not None:
            self.vfs.close()

    def _make_special_pages(self) -> None:
        """Pages every Linux process sees at a fixed address (ARM's kuser helpers,
        MIPS's signal return trampoline)."""
        k = self.kernel
        assert k is not None
        abi = self.abi
        for addr, data in ((abi.kuser_page_addr, abi.kuser_page),
                           (abi.trampoline_addr, abi.sigreturn_trampoline)):
            if not data or addr is None:
                continue
            frame = self._frames.alloc()
            if frame is None:
                raise RuntimeError("wombat: no memory for the special pages")
            page = bytearray(PAGE)
            off = addr & (PAGE - 1)
            page[off:off + len(data)] = data
            k.write_memory(k.paging.kernel_address(frame) if k.paging else frame, bytes(page))
            self._special.append((addr & ~(PAGE - 1), frame, 5))

    def _map_special(self, space: Space) -> None:
        k = self.kernel
        assert k is not None and self.space is not None
        for va, frame, rights in self._special:
            k.mdb.map_fpage(self.space, Fpage(frame, 12, rights), va, space,
                            Fpage(va, 12, rights), grant=False)

    @property
    def trampoline(self) -> int:
        """Where a handler without SA_RESTORER returns to (MIPS's trampoline page)."""
        addr = self.abi.trampoline_addr
        return (addr or 0) + int(self.abi.sigreturn_offsets.get("rt_sigreturn", 0))

    # --- processes -----------------------------------------------------------------------
    def _new_mm(self) -> Any:
        from .mm import Mm

        k = self.kernel
        assert k is not None and self.space is not None
        factory = self._new_eas_space if self.pd is not None else None
        return Mm.create(k, self.space, self.abi, self._frames, space_factory=factory)

    def _new_eas_space(self, kip_area: Fpage, utcb_area: Fpage) -> Space:
        """A process's L4 space: an Iguana external address space of Wombat's PD,
        as OK Linux makes one per mm (``eas_create``)."""
        from l4gdb.iguana.errors import Fail

        try:
            eas = self.iguana.create_eas(self.pd, kip_area, utcb_area)
        except Fail as exc:
            raise LinuxError("ENOMEM", f"Iguana refused an address space ({exc})") from None
        self._eas[id(eas.space)] = eas
        return eas.space

    def _eas_of(self, space: Space) -> Any:
        return self._eas.get(id(space))

    def _map_shared(self, space: Space, va: int, pa: int, rights: int) -> None:
        """A shared memsection's frame into a process: Iguana maps it into the
        process's EAS, so the mapping goes when the memsection does."""
        from l4gdb.iguana.errors import Fail

        eas = self._eas_of(space)
        try:
            if eas is None or not eas.map_frame(va, pa, rights):
                raise LinuxError("EFAULT", f"cannot map shared memory at {va:#x}")
        except Fail as exc:
            raise LinuxError("EFAULT", f"Iguana refused a mapping at {va:#x} ({exc})") from None

    def _new_thread(self, proc: Process, mm: Any) -> LinuxThread:
        k = self.kernel
        assert k is not None and self.tcb is not None
        space = mm.space
        me = self.tcb.global_id
        eas = self._eas_of(space)
        if eas is not None:                   # pager and exception handler: the server
            from l4gdb.iguana.errors import Fail

            try:
                t = eas.create_thread(me, me, LINUX_PRIORITY, scheduler=me)
            except Fail:
                raise LinuxError("EAGAIN", "Iguana has no thread or UTCB left") from None
        else:
            t = self._plain_thread(space)
        gid = t.global_id
        t.name = PurePosixPath(proc.exe).name or "linux"
        t.tls = 0
        lt = LinuxThread(tid=proc.pid, proc=proc, tcb=t)
        area_size = k.arch.fpu_area_size
        if area_size:
            lt.fpu_area = self._fpu_area(area_size)
            t.fpu_area = lt.fpu_area
        proc.threads.append(lt)
        self.threads[gid] = lt
        return lt

    def _plain_thread(self, space: Space) -> Tcb:
        """A thread straight from the kernel (a system without Iguana)."""
        k = self.kernel
        assert k is not None and self.tcb is not None
        used = {t.utcb_addr for t in space.threads}
        area = space.utcb_area
        slots = [area.base + i * k.utcb_size for i in range(area.size // k.utcb_size)]
        utcb = next((s for s in slots if s not in used), None)
        no = next((n for n in range(FIRST_LINUX_THREAD_NO, 1 << 17) if n not in k.threads), None)
        if utcb is None or no is None or not k.back_utcb(space, utcb):
            raise LinuxError("EAGAIN", "no thread or UTCB left")
        t = k.new_thread(ThreadId(no, 1).raw(k.bits), space, scheduler=self.tcb.global_id)
        t.utcb_addr = utcb
        t.priority = LINUX_PRIORITY
        k.init_utcb(t, self.tcb.global_id)
        k.write_utcb(t, Tcr.ExceptionHandler, [self.tcb.global_id])
        return t

    def _fpu_area(self, size: int) -> int:
        """Kernel memory for one thread's FPU registers (the return path saves and
        loads them there), carved from whole frames. A dead thread's area is not
        handed out again: the CPU may still hold its registers as "loaded", and a
        new thread must start from a clean state, not the dead one's."""
        size = (size + 63) & ~63
        if not self._fpu_free:
            base = self._frames.kaddr(self._frames.alloc())
            self._fpu_free = [base + i * size for i in range(PAGE // size)]
        return self._fpu_free.pop()

    def _start(self, lt: LinuxThread) -> None:
        k = self.kernel
        assert k is not None
        t = lt.tcb
        eas = self._eas_of(t.space)
        if eas is not None:                   # Iguana marks its thread object started
            arch = k.arch
            eas.start_thread(t, t.regs.get(arch.ip_reg, 0), t.regs.get(arch.sp_reg, 0))
            return
        t.op = None
        t.state = State.RUNNING
        t.halted = False
        k.wake(t)

    def spawn(self, path: str, argv: list[str], envp: list[str]) -> Process:
        """The first Linux process (pid 1's role: orphans come to it)."""
        pid = self._alloc_pid()
        from .files import FdTable

        fds = FdTable.with_console(self.vfs.console)
        proc = Process(pid=pid, ppid=0, pgid=pid, sid=pid, mm=None, fds=fds,
                       cwd=self.config.cwd, start_us=self.now_us)
        proc.exit_signal = self.sig("SIGCHLD")
        image = self._load_exec(proc, self._search_path(proc, path, envp), argv, envp)
        proc.mm = self._new_mm()
        lt = self._new_thread(proc, proc.mm)
        self.procs[pid] = proc
        self.init = proc
        self._exec_into(lt, *image)
        self._start(lt)
        return proc

    def _search_path(self, proc: Process, name: str, envp: list[str]) -> str:
        """A program name without '/' is looked up in PATH inside the rootfs."""
        if "/" in name:
            return name
        path = next((e[5:] for e in envp if e.startswith("PATH=")), "/bin:/usr/bin")
        for d in path.split(":"):
            candidate = f"{d or '.'}/{name}"
            try:
                self.resolve_exec(proc, candidate)
            except LinuxError:
                continue
            return candidate
        raise LinuxError("ENOENT", f"{name} is not in PATH ({path}) inside the rootfs")

    def _alloc_pid(self) -> int:
        pid = self._next_pid
        while pid in self.procs:
            pid += 1
        self._next_pid = pid + 1
        return pid

    def resolve_exec(self, proc: Process, path: str) -> tuple[str, ExecFile]:
        """The jail path and open file of an executable (ENOENT, EACCES...)."""
        return self.vfs.read_executable(proc, path)

    def _load_exec(self, proc: Process, path: str, argv: list[str],
                   envp: list[str]) -> tuple[str, ExecFile, list[str], list[str]]:
        """Find the program (following ``#!`` once) before anything is changed.
        Only the first BINPRM_BUF_SIZE bytes are read to tell the format."""
        jail_path, data = self.resolve_exec(proc, path)
        head = read_head(data)
        if head.startswith(b"#!"):
            name, arg = parse_shebang(head)
            interp = name.decode("utf-8", "surrogateescape")
            extra = [] if arg is None else [arg.decode("utf-8", "surrogateescape")]
            script = jail_path
            jail_path, data = self.resolve_exec(proc, interp)
            argv = [interp, *extra, script, *argv[1:]]
            head = read_head(data)
            if head.startswith(b"#!"):
                raise LinuxError("ELOOP")
        if not head.startswith(b"\x7fELF"):
            raise LinuxError("ENOEXEC")
        return jail_path, data, argv, envp

    def _exec_into(self, lt: LinuxThread, jail_path: str, data: ExecFile, argv: list[str],
                   envp: list[str]) -> None:
        k = self.kernel
        assert k is not None
        proc = lt.proc
        entry, sp = proc.mm.exec_image(jail_path, data, argv, envp, self._auxv(jail_path))
        self._map_special(proc.mm.space)
        proc.exe = jail_path
        proc.argv = list(argv)
        lt.tcb.name = PurePosixPath(argv[0] if argv else jail_path).name or "linux"
        regs = {r: 0 for r in k.arch.reg_names}
        regs[k.arch.flags_reg] = k.arch.user_flags
        regs[k.arch.ip_reg] = entry & ~1
        if entry & 1:                                   # a Thumb entry point
            regs[k.arch.flags_reg] |= self.abi.thumb_bit
        regs[k.arch.sp_reg] = sp
        lt.tcb.regs.update(regs)
        lt.tcb.tls = 0
        lt.frames.clear()
        for sig, act in list(proc.actions.items()):
            if act.handler not in (SIG_DFL, SIG_IGN):
                del proc.actions[sig]
        close_on_exec = getattr(proc.fds, "close_on_exec", None)
        if close_on_exec is not None:
            close_on_exec()
        k.event("linux_exec", pid=proc.pid, path=jail_path, thread=lt.tcb.global_id)

    def _auxv(self, jail_path: str) -> dict[str, Any]:
        return {"AT_HWCAP": self.abi.hwcap, "AT_PLATFORM": self.abi.platform,
                "AT_EXECFN": jail_path, "AT_UID": 0, "AT_EUID": 0, "AT_GID": 0,
                "AT_EGID": 0, "AT_SECURE": 0, "AT_CLKTCK": 100, "AT_PAGESZ": PAGE}

    # --- the exception entry -----------------------------------------------------------
    def handle_exception(self, k: Kernel, t: Tcb, trap: Trap) -> bool:
        lt = self.threads.get(t.global_id)
        if lt is None:
            k.halt(t, "wombat: exception from a thread that is not a Linux thread")
            return False
        if trap.kind is not TrapKind.SYSCALL:
            self._fault_signal(lt, "SIGILL", f"exception {trap.number}")
            return self._after(lt, replied=True)
        abi = self.abi
        regs = t.regs
        nr = regs.get(abi.syscall_nr_reg, 0)
        name = abi.syscalls.get(nr)
        handler = HANDLERS.get(name) if name else None
        self.stats["syscalls"] += 1
        raw = [regs.get(r, 0) for r in abi.syscall_arg_regs]
        if handler is None:
            if nr not in self._enosys_seen:
                self._enosys_seen.add(nr)
                self.notice(f"system call {name or nr} is not implemented (ENOSYS)")
            if self.config.strace:
                self._strace_line(lt, f"{name or f'syscall_{nr}'}(...)", -self.errno("ENOSYS"))
            self._set_result(t, -self.errno("ENOSYS"))
            return self._after(lt, replied=True)
        if abi.stack_args_offset is not None and len(handler.params) > len(raw):
            raw += self._stack_args(lt, len(handler.params) + 2 - len(raw))
        call = Call(self, lt, nr, name or "", raw)
        try:
            call.args = handler.decode(call, abi.align64_pairs)
        except LinuxError as err:
            return self._finish(lt, call, -self._errno_of(err))
        return self._run(lt, call)

    def _stack_args(self, lt: LinuxThread, n: int) -> list[int]:
        sp = lt.tcb.regs.get(self.kernel.arch.sp_reg, 0) if self.kernel else 0
        try:
            ws = self.abi.word_size
            data = lt.proc.mm.read(sp + self.abi.stack_args_offset, ws * n)
        except LinuxError:
            return [0] * n
        return [int.from_bytes(data[i:i + ws], "little") for i in range(0, len(data), ws)]

    def _errno_of(self, err: LinuxError) -> int:
        return self.abi.errno.get(err.errno, self.abi.errno.get("EINVAL", 22))

    def _run(self, lt: LinuxThread, call: Call) -> bool:
        """Run (or re-run) a handler; True when the thread got its reply."""
        handler = HANDLERS[call.name]
        try:
            result = handler.fn(call, *call.args)
        except LinuxError as err:
            result = -self._errno_of(err)
            if getattr(err, "signal", None):        # EPIPE comes with SIGPIPE
                self.send_signal(lt.proc, self.sig(err.signal))
        if result is BLOCK:
            if lt.call is None:
                lt.call = call
                self.blocked.append(lt)
            self._set_deadline(lt, call)
            return False
        if result is None:          # the handler replied itself (execve, sigreturn, exit)
            self._unblock(lt)
            return self._after(lt, replied=lt.tcb.state is not State.DEAD)
        return self._finish(lt, call, int(result))

    def _finish(self, lt: LinuxThread, call: Call, result: int) -> bool:
        self._unblock(lt)
        if self.config.strace:
            self._strace_line(lt, f"{call.name}({HANDLERS[call.name].format_args(call)})"
                              if call.name in HANDLERS else call.name, result)
        self._set_result(lt.tcb, result)
        return self._after(lt, replied=True)

    def _set_deadline(self, lt: LinuxThread, call: Call) -> None:
        due = call.wake_at_us
        # An interactive console edits lines itself: keep looking at it so a ^C
        # reaches a foreground process that is not reading (sys_fs.service_console).
        local = self.vfs is not None and getattr(self.vfs.console, "local", False)
        if call.state.get("console") or local:
            poll = self.now_us + CONSOLE_POLL_US
            due = poll if due is None else min(due, poll)
        lt.tcb.deadline_us = due

    def _unblock(self, lt: LinuxThread) -> None:
        if lt.call is not None:
            lt.call = None
            if lt in self.blocked:
                self.blocked.remove(lt)
        lt.tcb.deadline_us = None

    def _set_result(self, t: Tcb, result: int) -> None:
        abi = self.abi
        mask = (1 << self.bits) - 1
        if abi.error_flag_reg is not None:
            err = -4095 <= result < 0
            t.regs[abi.result_reg] = (-result if err else result) & mask
            t.regs[abi.error_flag_reg] = 1 if err else 0
        else:
            t.regs[abi.result_reg] = result & mask

    def _after(self, lt: LinuxThread, replied: bool) -> bool:
        """Signals due for this thread, then wake whatever this call changed."""
        if replied and lt.tcb.state is not State.DEAD:
            self._deliver_signals(lt)
        if self.blocked:
            self._retry(exclude=lt)
        return replied and lt.tcb.state is not State.DEAD and lt.call is None

    def _strace_line(self, lt: LinuxThread, text: str, result: int) -> None:
        out = self.config.strace
        if out is None:
            return
        fake = Call(self, lt, 0, "", [])
        fake.name = text.split("(", 1)[0]
        out.write(f"{lt.proc.pid} {text} = {result_text(fake, result)}\n")
        out.flush()

    # --- blocked calls ---------------------------------------------------------------------
    def _retry(self, exclude: LinuxThread | None = None) -> None:
        """Run blocked calls again: whatever they wait for may have happened."""
        k = self.kernel
        assert k is not None and self.tcb is not None
        for lt in list(self.blocked):
            if lt is exclude or lt.call is None or lt not in self.blocked:
                continue
            call = lt.call
            if self._run(lt, call) and lt.tcb.state is State.WAITING:
                k.host_reply(self.tcb, lt.tcb)

    def exception_timeout(self, k: Kernel, t: Tcb) -> None:
        """A blocked call's deadline (sleep, poll timeout, console poll) came."""
        from .sys_fs import service_console

        service_console(self)
        lt = self.threads.get(t.global_id)
        t.deadline_us = None
        if lt is None or lt.call is None:
            return
        if self._run(lt, lt.call) and t.state is State.WAITING and self.tcb is not None:
            k.host_reply(self.tcb, t)
        if self.blocked:
            self._retry(exclude=lt)

    # --- page faults -------------------------------------------------------------------------
    def handle(self, kernel: Kernel, sender: Tcb, words: list[int]) -> list[int] | None:
        tag = MsgTag.from_raw(words[0])
        lt = self.threads.get(sender.global_id)
        if lt is None and tag.label == SHARE_LABEL and self.shared is not None:
            return self.shared.handle(sender, words)     # a native program shares memory
        is_fault = tag.label & ~0xF == kernel_label(KernelLabel.PAGEFAULT, kernel.bits)
        if lt is None or not is_fault or tag.u < 2:
            return [MsgTag(u=0, label=0).raw(kernel.bits)] if lt is None else None
        self.stats["faults"] += 1
        addr, access = words[1], tag.label & 7
        if lt.proc.mm.fault(addr, access):
            return [MsgTag(u=0).raw(kernel.bits)]
        ip = words[2] if tag.u >= 2 and len(words) > 2 else 0
        self._fault_signal(lt, "SIGSEGV", f"addr={addr:#x} ip={ip:#x}")
        if lt.tcb.state is State.DEAD:
            return None
        # A handler runs: the faulting access is retried after it returns.
        return [MsgTag(u=0).raw(kernel.bits)]

    def _fault_signal(self, lt: LinuxThread, name: str, why: str) -> None:
        sig = self.sig(name)
        act = lt.proc.action(sig)
        if act.handler in (SIG_DFL, SIG_IGN) or lt.sigmask & signals.bit(sig):
            self.exit_process(lt.proc, wait_status_signaled(sig), why=f"{name} {why}")
            return
        self._push_frame(lt, sig, act)

    # --- signals -------------------------------------------------------------------------------
    def send_signal(self, proc: Process, sig: int) -> None:
        """kill(2): make it pending; a blocked interruptible call ends (EINTR/restart)."""
        if proc.zombie or sig == 0:
            return
        act = proc.action(sig)
        name = self.signal_name(sig)
        if name not in signals.UNBLOCKABLE:
            if act.handler == SIG_IGN or (act.handler == SIG_DFL
                                          and name in signals.IGNORED_BY_DEFAULT):
                return        # discarded (a parent in wait4 is woken by the retry anyway)
        proc.pending |= signals.bit(sig)
        k = self.kernel
        for lt in list(proc.threads):
            if not proc.pending & ~lt.sigmask:
                continue
            if lt.call is not None:
                if lt.call.interruptible:
                    self._interrupt(lt)
            elif k is not None and lt.tcb is not k.current and lt.tcb.state is State.RUNNING:
                self._deliver_signals(lt)      # not running now: its saved registers change

    def _interrupt(self, lt: LinuxThread) -> None:
        """A signal for a thread blocked in a call: the call ends, the signal is delivered."""
        k = self.kernel
        assert k is not None and self.tcb is not None
        call = lt.call
        assert call is not None
        self._unblock(lt)
        sig = signals.first_deliverable(lt.proc.pending, lt.sigmask)
        act = lt.proc.action(sig) if sig else None
        restart = bool(act and act.flags & self.abi.sa_flags.get("SA_RESTART", 0x10000000)
                       and not call.state.get("no_restart"))
        if restart or (act is not None and act.handler in (SIG_DFL, SIG_IGN)):
            self._rewind(lt)          # the call starts again after the handler
        else:
            self._finish_quiet(lt, call, -self.errno("EINTR"))
        self._deliver_signals(lt)
        if "old_mask" in call.state:           # sigsuspend: the handler returns to the old mask
            if lt.frames:
                lt.frames[-1].sigmask = call.state["old_mask"]
            else:
                lt.sigmask = call.state["old_mask"]
        if lt.tcb.state is State.WAITING:
            k.host_reply(self.tcb, lt.tcb)

    def _finish_quiet(self, lt: LinuxThread, call: Call, result: int) -> None:
        if self.config.strace:
            self._strace_line(lt, f"{call.name}(...)", result)
        self._set_result(lt.tcb, result)

    def _rewind(self, lt: LinuxThread) -> None:
        """Back to the system-call instruction (its registers are untouched)."""
        k = self.kernel
        assert k is not None
        regs = lt.tcb.regs
        n = self.abi.syscall_insn_len
        if regs.get(k.arch.flags_reg, 0) & self.abi.thumb_bit:     # Thumb `svc` is 2 bytes
            n = 2
        regs[k.arch.ip_reg] = (regs.get(k.arch.ip_reg, 0) - n) & k.arch.word_mask

    def _deliver_signals(self, lt: LinuxThread) -> None:
        proc = lt.proc
        while True:
            sig = signals.first_deliverable(proc.pending, lt.sigmask)
            if not sig:
                return
            proc.pending &= ~signals.bit(sig)
            act = proc.action(sig)
            name = self.signal_name(sig)
            if act.handler == SIG_IGN and name not in signals.UNBLOCKABLE:
                continue
            if act.handler == SIG_DFL or name in signals.UNBLOCKABLE:
                if name in signals.IGNORED_BY_DEFAULT or name in signals.STOPPING:
                    continue          # job control stops are not modelled: ignored
                self.exit_process(proc, wait_status_signaled(sig), why=name)
                return
            self._push_frame(lt, sig, act)
            return                    # one handler at a time; the rest after sigreturn

    def _push_frame(self, lt: LinuxThread, sig: int, act: Any) -> None:
        k = self.kernel
        assert k is not None
        arch = k.arch
        regs, frame, data = signals.build_frame(self.abi, lt, sig, act, self.trampoline,
                                                arch.word_size, arch.ip_reg, arch.sp_reg,
                                                arch.flags_reg)
        try:
            lt.proc.mm.write(frame, data)
        except LinuxError:
            self.exit_process(lt.proc, wait_status_signaled(self.sig("SIGSEGV")),
                              why="no stack for a signal frame")
            return
        signals.save_context(lt, frame)
        lt.tcb.regs.update(regs)
        lt.sigmask |= act.mask
        if not act.flags & self.abi.sa_flags.get("SA_NODEFER", 0x40000000):
            lt.sigmask |= signals.bit(sig)
        if act.flags & self.abi.sa_flags.get("SA_RESETHAND", 0x80000000):
            lt.proc.actions.pop(sig, None)
        if self.config.strace:
            self.config.strace.write(f"{lt.proc.pid} --- {self.signal_name(sig)} ---\n")

    # --- process end -----------------------------------------------------------------------------
    def exit_process(self, proc: Process, status: int, why: str = "") -> None:
        k = self.kernel
        assert k is not None
        if proc.zombie:
            return
        if proc is self.init and self.on_init_exit is not None:
            self.on_init_exit()
        proc.zombie = True
        proc.status = status
        for lt in list(proc.threads):
            self._unblock(lt)
            if lt.clear_child_tid:
                try:
                    proc.mm.write(lt.clear_child_tid, b"\0\0\0\0")
                except LinuxError:
                    pass
            self.threads.pop(lt.tcb.global_id, None)
            eas = self._eas_of(lt.tcb.space)
            if eas is not None and lt.tcb.state is not State.DEAD:
                eas.delete_thread(lt.tcb)
            if lt.tcb.state is not State.DEAD:
                k.delete_thread(lt.tcb)
        close_all = getattr(proc.fds, "close_all", None)
        if close_all is not None:
            close_all()
        space = proc.mm.space
        proc.mm.release()
        eas = self._eas.pop(id(space), None)
        if eas is not None:
            eas.delete()
        k.event("linux_exit", pid=proc.pid, status=status, why=why)
        if self.config.strace:
            sig = status & 0x7F
            self.config.strace.write(f"{proc.pid} +++ "
                                     + (f"killed by {self.signal_name(sig)} +++\n" if sig
                                        else f"exited with {(status >> 8) & 0xFF} +++\n"))
        for child in list(proc.children):          # orphans go to the first process
            child.ppid = self.init.pid if self.init and self.init is not proc else 0
            if self.init is not None and self.init is not proc:
                self.init.children.append(child)
            elif child.zombie:
                self.procs.pop(child.pid, None)
        proc.children.clear()
        parent = self.procs.get(proc.ppid)
        if proc is self.init:
            self.exit_status = shell_status(status)
            self.finished = True
            k.exit_status = self.exit_status
        if parent is not None and not parent.zombie:
            if proc.exit_signal:
                self.send_signal(parent, proc.exit_signal)
        elif proc is not self.init:
            self.procs.pop(proc.pid, None)            # nobody will wait for it

    def exit_thread(self, lt: LinuxThread, code: int) -> None:
        self.exit_process(lt.proc, wait_status_exited(code))

    # --- introspection --------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"server": self.tcb.global_id if self.tcb else NILTHREAD,
                "rootfs": str(self.config.rootfs),
                "processes": [p.describe() for p in sorted(self.procs.values(),
                                                           key=lambda p: p.pid)],
                "blocked": [{"pid": lt.proc.pid, "call": lt.call.name if lt.call else ""}
                            for lt in self.blocked],
                "shared": [sm.describe() for sm in self.shared.names().values()]
                if self.shared is not None else [],
                "stats": dict(self.stats)}


def install(kernel: Kernel, abi: LinuxAbi, config: WombatConfig, iguana: Any = None,
            start: Callable[[LinuxServer], None] | None = None) -> LinuxServer:
    """Create the Linux server and its first process (``config.argv``)."""
    from . import sys_fs, sys_mm, sys_proc  # noqa: F401  (the handlers register themselves)

    server = LinuxServer(abi, config)
    server.attach(kernel, iguana)
    argv = config.argv or ["/bin/sh"]
    server.spawn(argv[0], argv, list(config.env))
    if start is not None:
        start(server)
    return server
