"""Process, signal, identity, time and system-information calls."""

from __future__ import annotations

import os
import struct
import time

from . import signals
from .calls import BLOCK, Call, Flags, Int, Path, Ptr, Signal, Size, UInt, syscall
from .errors import LinuxError
from .process import SIG_DFL, SigAction, wait_status_exited
from .sys_fs import timespec_us

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_VFORK, CLONE_PARENT, CLONE_THREAD = 0x4000, 0x8000, 0x10000
CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID = 0x80000, 0x100000, 0x200000
CLONE_CHILD_SETTID = 0x1000000
WNOHANG = 1
MAX_ARG_STRLEN = 32 * 4096        # one argument or environment string, with its NUL
ARG_LIMIT = (8 << 20) // 4        # all of them with their pointers: RLIMIT_STACK / 4
MAX_ARG_STRINGS = 8192            # per array (host bound; see _str_array)
UNAME_FIELD = 65
KERNEL_RELEASE = "6.1.0-wombat"       # static glibc refuses kernels older than 3.2


def _rusage_size(call: Call) -> int:
    """sizeof(struct rusage): two timevals and 14 longs."""
    return 18 * call.abi.word_size


def _u32(v: int) -> bytes:
    return struct.pack("<I", v & 0xFFFFFFFF)


# --- process life -------------------------------------------------------------------
@syscall("exit", "exit_group")
def exit_(call: Call, code: Int) -> None:
    call.server.exit_process(call.proc, wait_status_exited(code))


@syscall("fork", "vfork")
def fork(call: Call) -> int:
    return _clone(call, call.server.sig("SIGCHLD"), 0, 0, 0, 0)


@syscall
def clone(call: Call, flags: Flags, newsp: Ptr, ptid: Ptr, arg4: Ptr, arg5: Ptr) -> int:
    # CONFIG_CLONE_BACKWARDS (ARM, MIPS, i386): tls, then child_tid; else the reverse
    tls, ctid = (arg4, arg5) if call.abi.clone_backwards else (arg5, arg4)
    return _clone(call, flags, newsp, ptid, tls, ctid)


def _clone(call: Call, flags: int, newsp: int, ptid: int, tls: int, ctid: int) -> int:
    """fork semantics (vfork too: a copy is a correct vfork); no threads yet."""
    from .process import Process

    if flags & (CLONE_THREAD | CLONE_SIGHAND) or (flags & CLONE_VM and not flags & CLONE_VFORK):
        raise LinuxError("EINVAL", "threads (CLONE_THREAD/CLONE_VM) are not supported")
    s, parent, lt = call.server, call.proc, call.thread
    k = s.kernel
    assert k is not None
    pid = s._alloc_pid()
    mm = parent.mm.fork()
    child = Process(pid=pid, ppid=parent.pid, pgid=parent.pgid, sid=parent.sid, mm=mm,
                    fds=parent.fds.fork(), cwd=parent.cwd, exe=parent.exe,
                    argv=list(parent.argv), umask=parent.umask, start_us=s.now_us)
    child.actions = {sig: SigAction(a.handler, a.flags, a.restorer, a.mask)
                     for sig, a in parent.actions.items()}
    child.exit_signal = flags & 0xFF
    try:
        clt = s._new_thread(child, mm)
    except LinuxError:
        mm.release()
        raise
    clt.tcb.regs = dict(lt.tcb.regs)
    s._set_result(clt.tcb, 0)
    if newsp:
        clt.tcb.regs[k.arch.sp_reg] = newsp
    clt.sigmask = lt.sigmask
    clt.tcb.tls = tls if flags & CLONE_SETTLS else lt.tcb.tls
    if flags & CLONE_SETTLS and call.abi.tls_reg:
        clt.tcb.regs[call.abi.tls_reg] = tls        # the thread pointer is a register
    s._map_special(mm.space)
    if flags & CLONE_CHILD_SETTID and ctid:
        mm.write(ctid, _u32(pid))
    if flags & CLONE_PARENT_SETTID and ptid:
        parent.mm.write(ptid, _u32(pid))
    if flags & CLONE_CHILD_CLEARTID:
        clt.clear_child_tid = ctid
    parent.children.append(child)
    s.procs[pid] = child
    s._start(clt)
    k.event("linux_fork", pid=pid, parent=parent.pid, thread=clt.tcb.global_id)
    return pid


def _str_array(call: Call, addr: int, budget: list[int]) -> list[str]:
    """argv or envp as Linux's copy_strings: each string at most MAX_ARG_STRLEN
    (with its NUL), the strings and pointers of both arrays within ``budget``
    (E2BIG past either), and at most MAX_ARG_STRINGS of them (a host bound: the
    host reads each string, so their number bounds the work of one execve)."""
    out: list[str] = []
    word = call.server.bits // 8
    while addr:
        ptr = int.from_bytes(call.mm.read(addr, word), "little")
        if not ptr:
            break
        if len(out) >= MAX_ARG_STRINGS:
            raise LinuxError("E2BIG")
        budget[0] -= word                     # its pointer on the new stack
        try:
            raw = call.mm.read_cstr(ptr, min(MAX_ARG_STRLEN, max(0, budget[0])))
        except LinuxError as e:
            raise LinuxError("E2BIG" if e.errno == "ENAMETOOLONG" else e.errno) from None
        budget[0] -= len(raw) + 1
        if budget[0] < 0:
            raise LinuxError("E2BIG")
        out.append(raw.decode("utf-8", "surrogateescape"))
        addr += word
    return out


@syscall
def execve(call: Call, path: Path, argv: Ptr, envp: Ptr) -> None:
    if path is None:
        raise LinuxError("EFAULT")
    budget = [ARG_LIMIT]
    args = _str_array(call, argv, budget)
    env = _str_array(call, envp, budget)
    s = call.server
    image = s._load_exec(call.proc, path, args, env)     # fails before anything changes
    if s.config.strace:
        s.config.strace.write(f"{call.proc.pid} execve(\"{path}\", {args!r}) = 0\n")
    s._exec_into(call.thread, *image)


def _matches(want: int, parent_pgid: int, child) -> bool:
    if want > 0:
        return child.pid == want
    if want == -1:
        return True
    return child.pgid == (parent_pgid if want == 0 else -want)


@syscall
def wait4(call: Call, pid: Int, status: Ptr, options: Flags, rusage: Ptr) -> int:
    proc = call.proc
    kids = [c for c in proc.children if _matches(pid, proc.pgid, c)]
    if not kids:
        raise LinuxError("ECHILD")
    done = next((c for c in kids if c.zombie), None)
    if done is None:
        return 0 if options & WNOHANG else BLOCK
    if status:
        call.mm.write(status, _u32(done.status))
    if rusage:
        call.mm.write(rusage, bytes(_rusage_size(call)))
    proc.children.remove(done)
    call.server.procs.pop(done.pid, None)
    return done.pid


@syscall
def waitpid(call: Call, pid: Int, status: Ptr, options: Flags) -> int:
    return wait4(call, pid, status, options, 0)


CLD_EXITED, CLD_KILLED = 1, 2


@syscall
def waitid(call: Call, idtype: Int, id_: Int, infop: Ptr, options: Flags, rusage: Ptr) -> int:
    """waitid(P_ALL / P_PID / P_PGID, ...): WEXITED only (stops are not modelled)."""
    w = call.abi.wait_flags
    if idtype == w["P_ALL"]:
        want = -1
    elif idtype == w["P_PID"] and id_ > 0:
        want = id_
    elif idtype == w["P_PGID"] and id_ >= 0:
        want = -id_ if id_ else 0
    else:
        raise LinuxError("EINVAL")
    if not options & w["WEXITED"]:
        raise LinuxError("EINVAL")
    proc = call.proc
    kids = [c for c in proc.children if _matches(want, proc.pgid, c)]
    if not kids:
        raise LinuxError("ECHILD")
    done = next((c for c in kids if c.zombie), None)
    if done is None:
        if not options & w["WNOHANG"]:
            return BLOCK
        if infop:
            call.mm.write(infop, bytes(call.abi.structs["siginfo"].size))
        return 0
    sig = done.status & 0x7F
    if infop:
        info = call.abi.structs["siginfo"].pack({
            "si_signo": call.server.sig("SIGCHLD"), "si_errno": 0,
            "si_code": CLD_KILLED if sig else CLD_EXITED, "si_pid": done.pid, "si_uid": 0,
            "si_status": sig or (done.status >> 8) & 0xFF})
        call.mm.write(infop, info)
    if rusage:
        call.mm.write(rusage, bytes(_rusage_size(call)))
    if not options & w["WNOWAIT"]:
        proc.children.remove(done)
        call.server.procs.pop(done.pid, None)
    return 0


# --- identity -------------------------------------------------------------------------
@syscall("getpid")
def getpid(call: Call) -> int:
    return call.proc.pid


@syscall("gettid")
def gettid(call: Call) -> int:
    return call.thread.tid


@syscall
def getppid(call: Call) -> int:
    return call.proc.ppid


@syscall("getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid",
         "getegid32")
def getuid(call: Call) -> int:
    return 0                     # everybody is root in the jail


@syscall("setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid",
         "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups",
         "setgroups32")
def setuid(call: Call, a: Int) -> int:
    return 0


@syscall("getresuid", "getresuid32", "getresgid", "getresgid32")
def getresuid(call: Call, r: Ptr, e: Ptr, s: Ptr) -> int:
    for addr in (r, e, s):
        if addr:
            call.mm.write(addr, _u32(0))
    return 0


@syscall("getgroups", "getgroups32")
def getgroups(call: Call, size: Int, lst: Ptr) -> int:
    return 0


def _process(call: Call, pid: int):
    """The caller (pid 0) or process pid; ESRCH when there is none."""
    proc = call.proc if pid == 0 else call.server.procs.get(pid)
    if proc is None or pid < 0:
        raise LinuxError("ESRCH")
    return proc


@syscall
def getpgid(call: Call, pid: Int) -> int:
    return _process(call, pid).pgid


@syscall
def getpgrp(call: Call) -> int:
    return call.proc.pgid


@syscall
def setpgid(call: Call, pid: Int, pgid: Int) -> int:
    if pgid < 0:
        raise LinuxError("EINVAL")
    proc = _process(call, pid)
    proc.pgid = pgid or proc.pid
    return 0


@syscall
def getsid(call: Call, pid: Int) -> int:
    return _process(call, pid).sid


@syscall
def setsid(call: Call) -> int:
    proc = call.proc
    if proc.pgid == proc.pid:
        raise LinuxError("EPERM")
    proc.sid = proc.pgid = proc.pid
    return proc.pid


# --- signals --------------------------------------------------------------------------
def _targets(call: Call, pid: int) -> list:
    procs = [p for p in call.server.procs.values() if not p.zombie]
    if pid > 0:
        return [p for p in procs if p.pid == pid]
    if pid == 0:
        return [p for p in procs if p.pgid == call.proc.pgid]
    if pid == -1:
        return [p for p in procs if p is not call.server.init or p is call.proc]
    return [p for p in procs if p.pgid == -pid]


def _check_signal(call: Call, sig: int) -> None:
    if not 0 <= sig <= _nsig(call):
        raise LinuxError("EINVAL")


def _nsig(call: Call) -> int:
    return 8 * _sigset_bytes(call)


def _sigset_bytes(call: Call) -> int:
    """sizeof(sigset_t) in the kernel ABI (_NSIG / 8: 8, or 16 on MIPS)."""
    return call.abi.sigset_bytes


def _check_sigsetsize(call: Call, sigsetsize: int) -> None:
    """rt_sigaction, rt_sigprocmask, rt_sigsuspend, rt_sigtimedwait: EINVAL unless
    the caller's sigset is exactly the kernel's (never sized by the guest)."""
    if sigsetsize != _sigset_bytes(call):
        raise LinuxError("EINVAL")


@syscall
def kill(call: Call, pid: Int, sig: Signal) -> int:
    _check_signal(call, sig)
    targets = _targets(call, pid)
    if not targets:
        raise LinuxError("ESRCH")
    for proc in targets:
        call.server.send_signal(proc, sig)
    return 0


@syscall
def tgkill(call: Call, tgid: Int, tid: Int, sig: Signal) -> int:
    return tkill(call, tid, sig)


@syscall
def tkill(call: Call, tid: Int, sig: Signal) -> int:
    _check_signal(call, sig)
    proc = call.server.procs.get(tid)
    if proc is None or proc.zombie or tid <= 0:
        raise LinuxError("ESRCH" if tid > 0 else "EINVAL")
    call.server.send_signal(proc, sig)
    return 0


@syscall
def rt_sigaction(call: Call, sig: Signal, act: Ptr, oact: Ptr, sigsetsize: Size) -> int:
    names = call.server.signal_name
    _check_sigsetsize(call, sigsetsize)
    if not 1 <= sig <= _nsig(call):
        raise LinuxError("EINVAL")
    lay = call.abi.structs["sigaction"]
    has_restorer = "sa_restorer" in lay.fields
    old = call.proc.action(sig)
    new = None
    if act:
        if names(sig) in signals.UNBLOCKABLE:
            raise LinuxError("EINVAL")
        v = lay.unpack(call.mm.read(act, lay.size))
        new = SigAction(handler=_word(v["sa_handler"]), flags=_word(v["sa_flags"]),
                        restorer=_word(v["sa_restorer"]) if has_restorer else 0,
                        mask=_mask(v["sa_mask"]) & ~_unblockable_bits(call))
    if oact:
        values = {"sa_handler": old.handler, "sa_flags": old.flags,
                  "sa_mask": _mask_value(lay.fields["sa_mask"][1], old.mask)}
        if has_restorer:
            values["sa_restorer"] = old.restorer
        call.mm.write(oact, lay.pack(values))
    if new is not None:
        if new.handler == SIG_DFL and not new.flags and not new.mask:
            call.proc.actions.pop(sig, None)
        else:
            call.proc.actions[sig] = new
        # Setting SIG_IGN (or default-ignore) discards a pending one.
        if new.handler == 1 or (new.handler == SIG_DFL
                                and names(sig) in signals.IGNORED_BY_DEFAULT):
            call.proc.pending &= ~signals.bit(sig)
    return 0


def _word(v) -> int:
    return int(v) & 0xFFFFFFFF


def _mask(v) -> int:
    """A sigset member as unpacked (an int, a tuple of words or bytes) as one int."""
    if isinstance(v, bytes):
        return int.from_bytes(v, "little")
    if isinstance(v, tuple):
        return sum((int(w) & 0xFFFFFFFF) << (32 * i) for i, w in enumerate(v))
    return int(v)


def _mask_value(fmt: str, mask: int):
    """The value StructLayout.pack wants for a sigset member of format ``fmt``."""
    if fmt.endswith("s"):
        return mask.to_bytes(int(fmt[:-1] or 1), "little")
    count = int(fmt[:-1] or 1)
    if count == 1:
        return mask
    width = struct.calcsize(fmt[-1]) * 8
    return [(mask >> (width * i)) & ((1 << width) - 1) for i in range(count)]


def _unblockable_bits(call: Call) -> int:
    return sum(signals.bit(call.server.sig(n)) for n in signals.UNBLOCKABLE)


def _how(call: Call) -> dict[str, int]:
    return dict(call.abi.sig_how)


@syscall
def rt_sigprocmask(call: Call, how: Int, set_: Ptr, oset: Ptr, sigsetsize: Size) -> int:
    _check_sigsetsize(call, sigsetsize)
    lt = call.thread
    old = lt.sigmask
    if set_:
        new = int.from_bytes(call.mm.read(set_, sigsetsize), "little")
        hows = _how(call)
        if how == hows["SIG_BLOCK"]:
            mask = old | new
        elif how == hows["SIG_UNBLOCK"]:
            mask = old & ~new
        elif how == hows["SIG_SETMASK"]:
            mask = new
        else:
            raise LinuxError("EINVAL")
        lt.sigmask = mask & ~_unblockable_bits(call)
    if oset:
        call.mm.write(oset, old.to_bytes(sigsetsize, "little"))
    return 0


@syscall
def rt_sigpending(call: Call, set_: Ptr, sigsetsize: Size) -> int:
    # Linux lets rt_sigpending copy out less than a whole sigset, never more.
    if sigsetsize > _sigset_bytes(call):
        raise LinuxError("EINVAL")
    pending = call.proc.pending & call.thread.sigmask
    call.mm.write(set_, (pending & ((1 << 8 * sigsetsize) - 1)).to_bytes(sigsetsize, "little"))
    return 0


@syscall
def rt_sigsuspend(call: Call, mask: Ptr, sigsetsize: Size) -> int:
    lt = call.thread
    if "old_mask" not in call.state:
        _check_sigsetsize(call, sigsetsize)
        call.state["old_mask"] = lt.sigmask
        call.state["no_restart"] = True
        lt.sigmask = int.from_bytes(call.mm.read(mask, sigsetsize), "little") \
            & ~_unblockable_bits(call)
    return BLOCK


@syscall
def rt_sigtimedwait(call: Call, set_: Ptr, info: Ptr, uts: Ptr, sigsetsize: Size) -> int:
    return _sigtimedwait(call, set_, info, uts, sigsetsize, call.abi.fmt("ll"))


@syscall
def rt_sigtimedwait_time64(call: Call, set_: Ptr, info: Ptr, uts: Ptr,
                           sigsetsize: Size) -> int:
    return _sigtimedwait(call, set_, info, uts, sigsetsize, "<qq")


def _sigtimedwait(call: Call, set_: int, info: int, uts: int, sigsetsize: int,
                  fmt: str) -> int:
    """Take a pending signal of the set (its number; its siginfo to ``info``),
    as kernel/signal.c's do_sigtimedwait: EAGAIN once the timeout passes, EINTR
    when another signal's handler runs. While waiting, the set is added to the
    mask, so a signal of the set is left for this call, not for a handler."""
    lt, st = call.thread, call.state
    if "want" not in st:
        _check_sigsetsize(call, sigsetsize)
        want = int.from_bytes(call.mm.read(set_, sigsetsize), "little")
        timeout = timespec_us(call, uts, fmt)
        st["want"] = want & ~_unblockable_bits(call)
        st["until"] = None if timeout is None else call.now_us + timeout
        st["no_restart"] = True
    sig = signals.first_deliverable(call.proc.pending & st["want"], 0)
    until = st["until"]
    if sig or (until is not None and call.now_us >= until):
        if "old_mask" in st:
            lt.sigmask = st.pop("old_mask")
        if not sig:
            raise LinuxError("EAGAIN")
        call.proc.pending &= ~signals.bit(sig)
        if info:
            lay = call.abi.structs["siginfo"]
            call.mm.write(info, lay.pack({"si_signo": sig, "si_code": 0}))   # SI_USER
        return sig
    if "old_mask" not in st:
        st["old_mask"] = lt.sigmask
        lt.sigmask |= st["want"]
    call.wake_at_us = until
    return BLOCK


@syscall("sigreturn", "rt_sigreturn")
def sigreturn(call: Call) -> None:
    if not signals.restore_context(call.thread):
        call.server._fault_signal(call.thread, "SIGSEGV", "sigreturn without a frame")


@syscall
def sigaltstack(call: Call, ss: Ptr, old: Ptr) -> int:
    if old:
        # stack_t { void *ss_sp; int ss_flags; size_t ss_size; }: SS_DISABLE
        call.mm.write(old, struct.pack(call.abi.fmt("LiL" if call.abi.word_size == 4
                                                     else "Li4xL"), 0, 2, 0))
    return 0


# --- threads' odds and ends ----------------------------------------------------------------
@syscall
def set_tid_address(call: Call, tidptr: Ptr) -> int:
    call.thread.clear_child_tid = tidptr
    return call.thread.tid


@syscall
def set_robust_list(call: Call, head: Ptr, length: Size) -> int:
    return 0 if length == 12 else -call.server.errno("EINVAL")


@syscall
def set_tls(call: Call, value: Ptr) -> int:
    call.thread.tcb.tls = value
    return 0


USER_DESC = struct.Struct("<IIII")
TLS_ENTRY = 6                      # GDT entry 6: selector 0x33 (as Linux's GDT_ENTRY_TLS_MIN)


@syscall
def set_thread_area(call: Call, arg: Ptr) -> int:
    """i386: a struct user_desc (base of a GDT entry); MIPS: the value itself."""
    if not call.abi.tls_user_desc:
        call.thread.tcb.tls = arg
        return 0
    entry, base, _limit, _flags = USER_DESC.unpack(call.mm.read(arg, USER_DESC.size))
    if entry not in (0xFFFFFFFF, TLS_ENTRY):
        raise LinuxError("EINVAL")
    if entry == 0xFFFFFFFF:
        call.mm.write(arg, _u32(TLS_ENTRY))
    call.thread.tcb.tls = base
    return 0


@syscall
def prctl(call: Call, option: Int, a2: UInt, a3: UInt, a4: UInt, a5: UInt) -> int:
    if option in (15, 16):           # PR_SET_NAME / PR_GET_NAME
        if option == 16 and a2:
            call.mm.write(a2, call.proc.exe.rsplit("/", 1)[-1].encode()[:15] + b"\0")
        return 0
    raise LinuxError("EINVAL")


@syscall
def sched_yield(call: Call) -> int:
    return 0


@syscall("getpriority")
def getpriority(call: Call, which: Int, who: Int) -> int:
    return 20


@syscall("setpriority")
def setpriority(call: Call, which: Int, who: Int, prio: Int) -> int:
    return 0


# --- limits, system information -------------------------------------------------------------
INFINITY64 = 0xFFFFFFFFFFFFFFFF
LIMITS = {"RLIMIT_STACK": 8 << 20, "RLIMIT_NOFILE": 1024, "RLIMIT_NPROC": 4096}


def _rlimit(call: Call, resource: int) -> tuple[int, int]:
    table = call.abi.rlimits
    name = next((n for n, v in table.items() if v == resource), None)
    if resource < 0 or resource > 15:
        raise LinuxError("EINVAL")
    value = LIMITS.get(name or "", INFINITY64)
    hard = INFINITY64 if name == "RLIMIT_STACK" else value
    return value, hard


@syscall("ugetrlimit", "getrlimit")
def ugetrlimit(call: Call, resource: Int, rlim: Ptr) -> int:
    cur, hard = _rlimit(call, resource)
    top = call.abi.word_mask                 # struct rlimit: unsigned longs
    call.mm.write(rlim, struct.pack(call.abi.fmt("LL"), min(cur, top), min(hard, top)))
    return 0


@syscall
def setrlimit(call: Call, resource: Int, rlim: Ptr) -> int:
    _rlimit(call, resource)
    return 0


@syscall
def prlimit64(call: Call, pid: Int, resource: Int, new: Ptr, old: Ptr) -> int:
    if pid not in (0, call.proc.pid) and pid not in call.server.procs:
        raise LinuxError("ESRCH")
    cur, hard = _rlimit(call, resource)
    if old:
        call.mm.write(old, struct.pack("<QQ", cur, hard))
    return 0


@syscall
def uname(call: Call, buf: Ptr) -> int:
    fields = ["Linux", "wombat", KERNEL_RELEASE, "#1 SMP l4gdb Wombat on L4",
              call.abi.uname_machine, "(none)"]
    call.mm.write(buf, b"".join(f.encode()[:UNAME_FIELD - 1].ljust(UNAME_FIELD, b"\0")
                                for f in fields))
    return 0


@syscall
def getrandom(call: Call, buf: Ptr, count: Size, flags: Flags) -> int:
    n = min(count, 256)
    call.mm.write(buf, os.urandom(n))
    return n


@syscall
def sysinfo(call: Call, info: Ptr) -> int:
    # struct sysinfo: uptime, loads[3], 6 ram/swap counts (longs), procs (u16),
    # totalhigh, freehigh (longs), mem_unit (u32), padding to 64 bytes on 32 bits
    w, f = call.abi.word_size, call.abi.fmt
    data = bytearray(64 if w == 4 else 112)
    struct.pack_into(f("l"), data, 0, call.server.now_us // 1_000_000)
    struct.pack_into(f("LL"), data, 4 * w, 64 << 20, 32 << 20)   # totalram, freeram
    struct.pack_into("<H", data, 10 * w, len(call.server.procs))
    struct.pack_into("<I", data, 13 * w if w == 4 else 104, 1)   # mem_unit
    call.mm.write(info, bytes(data))
    return 0


@syscall
def times(call: Call, buf: Ptr) -> int:
    if buf:
        call.mm.write(buf, bytes(4 * call.abi.word_size))    # struct tms: 4 clock_t
    return (call.server.now_us // 10_000) & 0x7FFFFFFF


# --- time ------------------------------------------------------------------------------------
CLOCK_REALTIME = 0
NS = 1_000_000_000


def _clock_ns(call: Call, clock: int) -> int:
    if clock < 0 or clock > 11:
        raise LinuxError("EINVAL")
    if clock in (CLOCK_REALTIME, 5, 8, 11):    # REALTIME, _COARSE, _ALARM, TAI
        return time.time_ns()
    return call.server.now_us * 1000


@syscall
def clock_gettime(call: Call, clock: Int, tp: Ptr) -> int:
    ns = _clock_ns(call, clock)
    call.mm.write(tp, struct.pack(call.abi.fmt("ll"), ns // NS, ns % NS))
    return 0


@syscall
def clock_gettime64(call: Call, clock: Int, tp: Ptr) -> int:
    ns = _clock_ns(call, clock)
    call.mm.write(tp, struct.pack("<qq", ns // NS, ns % NS))
    return 0


@syscall("clock_getres", "clock_getres_time64")
def clock_getres(call: Call, clock: Int, tp: Ptr) -> int:
    _clock_ns(call, clock)
    if tp:
        fmt = call.abi.fmt("ll") if call.name == "clock_getres" else "<qq"
        call.mm.write(tp, struct.pack(fmt, 0, 1000))
    return 0


@syscall
def gettimeofday(call: Call, tv: Ptr, tz: Ptr) -> int:
    ns = time.time_ns()
    if tv:
        call.mm.write(tv, struct.pack(call.abi.fmt("ll"), ns // NS, (ns % NS) // 1000))
    if tz:
        call.mm.write(tz, bytes(8))
    return 0


@syscall("time")
def time_(call: Call, tloc: Ptr) -> int:
    now = time.time_ns() // NS
    if tloc:
        call.mm.write(tloc, struct.pack(call.abi.fmt("l"), now))     # time_t
    return now


def _sleep(call: Call, req: int, fmt: str) -> int:
    if "until" not in call.state:
        sec, nsec = struct.unpack(fmt, call.mm.read(req, struct.calcsize(fmt)))
        if sec < 0 or not 0 <= nsec < NS:
            raise LinuxError("EINVAL")
        call.state["until"] = call.now_us + sec * 1_000_000 + nsec // 1000
    if call.now_us >= call.state["until"]:
        return 0
    call.wake_at_us = call.state["until"]
    call.state["no_restart"] = True
    return BLOCK


@syscall
def nanosleep(call: Call, req: Ptr, rem: Ptr) -> int:
    return _sleep(call, req, call.abi.fmt("ll"))


@syscall
def clock_nanosleep(call: Call, clock: Int, flags: Flags, req: Ptr, rem: Ptr) -> int:
    return _sleep(call, req, call.abi.fmt("ll"))


@syscall
def clock_nanosleep_time64(call: Call, clock: Int, flags: Flags, req: Ptr, rem: Ptr) -> int:
    return _sleep(call, req, "<qq")


@syscall
def alarm(call: Call, seconds: UInt) -> int:
    return 0


@syscall
def rseq(call: Call, rseq_: Ptr, length: Size, flags: Flags, sig: UInt) -> int:
    """Restartable sequences are not offered: glibc asks at start-up and goes on
    without them (the answer Linux gives when built without CONFIG_RSEQ)."""
    raise LinuxError("ENOSYS")
