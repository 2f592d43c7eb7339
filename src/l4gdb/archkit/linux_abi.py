"""The Linux ABI of one architecture, as data (:class:`LinuxAbi`).

Each arch plugin returns one from the optional hook ``l4gdb_linux_abi``; the
tables in it (system-call numbers, errno and signal numbers, flag bits, ioctl
numbers, struct layouts) are generated from that arch's Linux UAPI headers by
``scripts/gen-linux-abi`` and committed as ``<plugin>/linux_abi.py``.

A :class:`LinuxAbi` refuses to exist when a field is missing or inconsistent:
the Linux server may then rely on every name it needs being there.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from elftools.elf.enums import ENUM_E_MACHINE

# --- what the Linux server relies on (validated) --------------------------------
REQUIRED_ERRNO = (
    "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF",
    "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "EBUSY", "EEXIST", "EXDEV", "ENODEV",
    "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "EFBIG", "ENOSPC",
    "ESPIPE", "EROFS", "EMLINK", "EPIPE", "ERANGE", "ENAMETOOLONG", "ENOSYS", "ENOTEMPTY",
    "ELOOP", "EOPNOTSUPP", "ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND",
)
REQUIRED_SIGNALS = (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGCHLD",
    "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
    "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGSYS", "SIGRTMIN", "SIGRTMAX",
)
# A tuple names alternatives, one of which must be there: the generic table
# (asm-generic/unistd.h) has fcntl for fcntl64 on 64 bits, only dup3 and, on rv32,
# waitid alone.
REQUIRED_SYSCALLS: tuple[str | tuple[str, ...], ...] = (
    "exit", "exit_group", "read", "write", "openat", "close", "execve", "clone",
    ("wait4", "waitid"), "getpid", "getppid", "brk", "mprotect", "munmap", "ioctl",
    ("fcntl64", "fcntl"), "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "kill", "uname",
    "getdents64", "pipe2", ("dup2", "dup3"),
)
REQUIRED = {
    "open_flags": ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE", "O_CREAT", "O_EXCL",
                   "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DIRECTORY",
                   "O_NOFOLLOW", "O_CLOEXEC", "O_LARGEFILE"),
    "mmap_flags": ("MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED", "MAP_ANONYMOUS",
                   "MAP_GROWSDOWN", "MAP_NORESERVE", "MAP_STACK", "MREMAP_MAYMOVE",
                   "MREMAP_FIXED"),
    "prot_flags": ("PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC"),
    "clone_flags": ("CSIGNAL", "CLONE_VM", "CLONE_FS", "CLONE_FILES", "CLONE_SIGHAND",
                    "CLONE_VFORK", "CLONE_THREAD", "CLONE_SETTLS", "CLONE_PARENT_SETTID",
                    "CLONE_CHILD_CLEARTID", "CLONE_CHILD_SETTID"),
    "fcntl": ("F_DUPFD", "F_GETFD", "F_SETFD", "F_GETFL", "F_SETFL", "F_DUPFD_CLOEXEC",
              "FD_CLOEXEC", "AT_FDCWD", "AT_SYMLINK_NOFOLLOW", "AT_REMOVEDIR",
              "AT_EMPTY_PATH"),
    "ioctls": ("TCGETS", "TCSETS", "TCSETSW", "TCSETSF", "TIOCGWINSZ", "TIOCSWINSZ",
               "TIOCGPGRP", "TIOCSPGRP", "FIONREAD", "FIONBIO", "TIOCSCTTY", "TIOCNOTTY"),
    "sa_flags": ("SA_SIGINFO", "SA_RESTART", "SA_NODEFER", "SA_RESETHAND", "SA_ONSTACK",
                 "SA_NOCLDSTOP", "SA_NOCLDWAIT"),
    "sig_how": ("SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"),
    "termios": ("NCCS", "VINTR", "VQUIT", "VERASE", "VKILL", "VEOF", "VMIN", "VTIME",
                "ICANON", "ECHO", "ECHOE", "ISIG", "ICRNL", "OPOST", "ONLCR"),
    "rlimits": ("RLIMIT_STACK", "RLIMIT_NOFILE", "RLIMIT_AS", "RLIMIT_NPROC",
                "RLIM_INFINITY"),
    "auxv": ("AT_NULL", "AT_PHDR", "AT_PHENT", "AT_PHNUM", "AT_PAGESZ", "AT_BASE",
             "AT_FLAGS", "AT_ENTRY", "AT_UID", "AT_EUID", "AT_GID", "AT_EGID",
             "AT_PLATFORM", "AT_HWCAP", "AT_HWCAP2", "AT_CLKTCK", "AT_SECURE", "AT_RANDOM",
             "AT_EXECFN"),
    "wait_flags": ("WNOHANG", "WUNTRACED", "WCONTINUED", "WEXITED", "WNOWAIT", "P_ALL",
                   "P_PID", "P_PGID"),
    "poll_events": ("POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL"),
}
# struct stat64 only where a stat64 system call writes it (64-bit asm-generic has none).
STAT_MEMBERS = ("st_dev", "st_ino", "st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev",
               "st_size", "st_blksize", "st_blocks", "st_atime", "st_atime_nsec",
               "st_mtime", "st_mtime_nsec", "st_ctime", "st_ctime_nsec")
STAT64_CALLS = ("stat64", "lstat64", "fstat64", "fstatat64")
REQUIRED_STRUCTS = {
    "stat": STAT_MEMBERS,
    "statx": ("stx_mask", "stx_blksize", "stx_nlink", "stx_uid", "stx_gid", "stx_mode",
              "stx_ino", "stx_size", "stx_blocks", "stx_atime.tv_sec", "stx_mtime.tv_sec",
              "stx_ctime.tv_sec", "stx_rdev_major", "stx_dev_major"),
    "termios": ("c_iflag", "c_oflag", "c_cflag", "c_lflag", "c_line", "c_cc"),
    "winsize": ("ws_row", "ws_col", "ws_xpixel", "ws_ypixel"),
    "sigaction": ("sa_handler", "sa_flags", "sa_mask"),
    "sigcontext": (),
    "siginfo": ("si_signo", "si_errno", "si_code", "si_pid", "si_uid", "si_status"),
}
# Fields that may be None (all others must be given).
_MAY_BE_NONE = frozenset({"stack_args_offset", "error_flag_reg", "kuser_page",
                          "kuser_page_addr", "sigreturn_trampoline", "trampoline_addr",
                          "handler_return_reg", "handler_function_reg", "pipe_second_reg",
                          "tls_reg", "debian_arch"})


class AbiError(ValueError):
    """A LinuxAbi was given missing or inconsistent data."""


@dataclass(frozen=True)
class StructLayout:
    """A C struct as the kernel reads or writes it: ``fields`` maps a member
    (``a.b`` for nested members) to (byte offset, :mod:`struct` format of the
    member: ``"I"``, ``"q"``, ``"19B"``, ``"16s"``...)."""

    name: str
    size: int
    fields: Mapping[str, tuple[int, str]]
    byteorder: str = "<"

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        for member, (offset, fmt) in self.fields.items():
            if offset < 0 or offset + struct.calcsize(self.byteorder + fmt) > self.size:
                raise AbiError(f"struct {self.name}: {member} lies outside its {self.size} bytes")

    def offset(self, member: str) -> int:
        return self.fields[member][0]

    def pack(self, values: Mapping[str, Any]) -> bytes:
        """The struct's bytes with ``values`` in their members (the rest zero).
        A member's value is an int (cut to the member's width, as C stores it), a
        sequence (arrays), or bytes (``s``)."""
        out = bytearray(self.size)
        for member, value in values.items():
            offset, fmt = self.fields[member]
            args = value if isinstance(value, (list, tuple)) else (value,)
            if fmt[-1] != "s":
                args = tuple(_c_int(fmt[-1], v) for v in args)
            struct.pack_into(self.byteorder + fmt, out, offset, *args)
        return bytes(out)

    def unpack(self, data: bytes) -> dict[str, Any]:
        """Every member's value (arrays as tuples)."""
        if len(data) < self.size:
            raise AbiError(f"struct {self.name} needs {self.size} bytes, got {len(data)}")
        out: dict[str, Any] = {}
        for member, (offset, fmt) in self.fields.items():
            vals = struct.unpack_from(self.byteorder + fmt, data, offset)
            out[member] = vals[0] if len(vals) == 1 else vals
        return out


def _c_int(char: str, value: int) -> int:
    """``value`` as a C integer of struct format ``char`` holds it (wrapped)."""
    bits = 8 * struct.calcsize(char)
    value &= (1 << bits) - 1
    if char.islower() and value >> (bits - 1):
        value -= 1 << bits
    return value


@dataclass(frozen=True)
class LinuxAbi:
    """The Linux ABI of one architecture (all numbers as that arch's kernel uses them).

    System-call convention: the number in ``syscall_nr_reg``; arguments in
    ``syscall_arg_regs`` (register names as the arch's ``ArchInfo`` has them),
    then, when ``stack_args_offset`` is set, further word arguments on the user
    stack at sp + stack_args_offset + 4*i (MIPS o32: 5th..8th at sp+16..);
    64-bit arguments start on an even register when ``align64_pairs``. The
    result goes to ``result_reg``: ``-errno`` on failure, except when there is an
    ``error_flag_reg`` (MIPS a3): then it is set to 1 and the result is the
    positive errno (0 on success). A restarted call goes back
    ``syscall_insn_len`` bytes.

    Memory layout of a Linux process: the stack grows down from ``stack_top``,
    ``mmap`` without a hint takes the highest free range below ``mmap_base``
    (Linux's top-down layout). User code may use ``[0, user_top)`` except the
    ``reserved`` ranges (what the kernel keeps in every space: its image, its
    window on RAM, device pages; see the arch's page tables), and the L4
    areas of its space (``l4_kip_area``/``l4_utcb_area``: address, log2 size)
    lie above the stack, where no Linux program goes. On ARM, ``kuser_page``
    (4 KiB) is mapped user read/execute at ``kuser_page_addr`` (0xffff0000).
    Without ``SA_RESTORER`` (MIPS) the server maps ``sigreturn_trampoline``
    at ``trampoline_addr`` (a page above the stack) for signal returns;
    ``sigreturn_offsets`` says where each variant starts in it.

    A signal handler is entered as the C ABI calls a function of three
    arguments: in ``handler_arg_regs`` (empty: on the stack, i386 cdecl), the
    return address in ``handler_return_reg`` (None: pushed), the handler's own
    address also in ``handler_function_reg`` (MIPS PIC: t9); ``thumb_bit`` is
    the flags-register bit of Thumb code (ARM; 0 elsewhere), set for an odd
    entry point.

    Quirks of the arch's system calls: ``read_implies_exec`` (no execute-disable
    bit: i386 without PAE, so readable memory is executable);
    ``tls_user_desc`` (set_thread_area takes a struct user_desc, i386; else the
    TLS value itself); ``pipe_second_reg`` (the old ``pipe`` returns the write
    end in this register, MIPS o32 v1; None: it writes both to memory);
    ``mmap_args_in_memory`` (``mmap`` is old_mmap: one pointer to the six
    words, i386).

    ``tls_reg`` names the user register that is the thread pointer itself
    (RISC-V tp: programs set it with no system call, ``clone(CLONE_SETTLS)``
    writes it); None: TLS is the kernel's value (``Tcb.tls``, set_tls &c.).
    ``clone_backwards``: clone's 4th argument is tls and its 5th child_tid
    (Linux's CONFIG_CLONE_BACKWARDS: ARM, MIPS, i386); else the reverse.

    Host facts: ``debian_arch`` is Debian's name for the arch (its packages
    make the rootfs; None when Debian has no port, as for RV32: no default
    rootfs then), ``qemu_user`` the qemu-user-static binary that runs its
    programs on the host.

    Words: ``elf_class`` (32 or 64) is the width of a C ``long`` and a pointer;
    ``word_size``, ``ulong`` and ``slong`` (struct formats) follow it.

    Tables map Linux's names (as in the arch's headers) to numbers; ``syscalls``
    maps numbers to names (``nr(name)`` the other way). ``structs`` has the
    layouts of ``stat64``, ``stat``, ``statx``, ``termios`` (the kernel's, for
    TCGETS), ``winsize``, ``sigaction`` (the kernel's, as rt_sigaction sees it;
    ``sa_mask`` is ``sigset_bytes`` long), ``sigcontext`` and ``siginfo``.
    """

    name: str
    elf_machine: str                      # pyelftools' e_machine name
    elf_class: int
    page_size: int
    uname_machine: str
    platform: str                         # AT_PLATFORM string
    hwcap: int
    hwcap2: int
    # system calls
    syscall_nr_reg: str
    stack_reg: str
    syscall_arg_regs: tuple[str, ...]
    stack_args_offset: int | None
    result_reg: str
    error_flag_reg: str | None
    syscall_insn_len: int
    align64_pairs: bool
    syscalls: Mapping[int, str]
    # numbers
    errno: Mapping[str, int]
    signals: Mapping[str, int]
    open_flags: Mapping[str, int]
    mmap_flags: Mapping[str, int]
    prot_flags: Mapping[str, int]
    clone_flags: Mapping[str, int]
    fcntl: Mapping[str, int]
    ioctls: Mapping[str, int]
    sa_flags: Mapping[str, int]
    sig_how: Mapping[str, int]
    termios: Mapping[str, int]
    rlimits: Mapping[str, int]
    auxv: Mapping[str, int]
    wait_flags: Mapping[str, int]
    poll_events: Mapping[str, int]
    sigset_bytes: int
    structs: Mapping[str, StructLayout]
    # address space
    user_top: int
    reserved: tuple[tuple[int, int], ...]
    stack_top: int
    mmap_base: int
    l4_kip_area: tuple[int, int]
    l4_utcb_area: tuple[int, int]
    kuser_page: bytes | None
    kuser_page_addr: int | None
    sigreturn_trampoline: bytes | None
    trampoline_addr: int | None
    sigreturn_offsets: Mapping[str, int]
    # signal handler entry
    handler_arg_regs: tuple[str, ...]
    handler_return_reg: str | None
    handler_function_reg: str | None
    thumb_bit: int
    # quirks
    read_implies_exec: bool
    tls_user_desc: bool
    pipe_second_reg: str | None
    mmap_args_in_memory: bool
    tls_reg: str | None
    clone_backwards: bool
    # host facts
    debian_arch: str | None
    qemu_user: str
    syscall_numbers: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.init and getattr(self, f.name) is None and f.name not in _MAY_BE_NONE:
                raise AbiError(f"LinuxAbi {self.name!r}: {f.name} is missing")
        for f in fields(self):
            value = getattr(self, f.name, None)
            if f.init and isinstance(value, Mapping):
                object.__setattr__(self, f.name, MappingProxyType(dict(value)))
        object.__setattr__(self, "syscall_numbers",
                           MappingProxyType({v: k for k, v in self.syscalls.items()}))
        _validate(self)

    # --- look-ups ----------------------------------------------------------------
    def nr(self, name: str) -> int:
        """The number of the system call ``name`` (KeyError if this arch has none)."""
        return self.syscall_numbers[name]

    def errno_name(self, number: int) -> str:
        """The name of errno ``number`` (``EAGAIN``, not its alias ``EWOULDBLOCK``)."""
        return _first_name(self.errno, number, "errno")

    def signal_name(self, number: int) -> str:
        """``SIGCHLD`` for 17 on ARM; real-time signals as ``SIGRTMIN+n``."""
        rtmin = self.signals["SIGRTMIN"]
        if rtmin < number <= self.signals["SIGRTMAX"]:
            return f"SIGRTMIN+{number - rtmin}"
        return _first_name(self.signals, number, "SIG")

    @property
    def word_size(self) -> int:
        """Bytes of a C long / pointer (4 or 8)."""
        return self.elf_class // 8

    @property
    def word_mask(self) -> int:
        return (1 << self.elf_class) - 1

    @property
    def ulong(self) -> str:
        """The :mod:`struct` format of an unsigned long (``I`` or ``Q``)."""
        return "I" if self.elf_class == 32 else "Q"

    @property
    def slong(self) -> str:
        """The :mod:`struct` format of a long (``i`` or ``q``)."""
        return "i" if self.elf_class == 32 else "q"

    def fmt(self, members: str) -> str:
        """A little-endian :mod:`struct` format with ``L``/``l`` as this ABI's
        unsigned/signed long (``"ll"`` is a struct timespec or timeval, ``"LL"`` an
        iovec); other characters stay as they are."""
        return "<" + members.replace("L", self.ulong).replace("l", self.slong)

    def signed(self, word: int) -> int:
        """A register word as a C long."""
        word &= self.word_mask
        return word - (1 << self.elf_class) if word >> (self.elf_class - 1) else word

    @property
    def stat64_layout(self) -> StructLayout:
        """struct stat64 (``stat64`` and friends), or struct stat where the arch has
        no stat64 (64-bit asm-generic: its struct stat is the wide one)."""
        return self.structs.get("stat64") or self.structs["stat"]

    @property
    def termios_layout(self) -> StructLayout:
        return self.structs["termios"]

    @property
    def sigaction_layout(self) -> StructLayout:
        """The kernel's struct sigaction as ``rt_sigaction`` reads and writes it."""
        return self.structs["sigaction"]

    # --- the calling convention ----------------------------------------------------
    def arg_words(self, regs: Mapping[str, int], read_word: Callable[[int], int]) -> list[int]:
        """The raw argument words of a system call: the argument registers, then (MIPS
        o32) four words from the user stack, read with ``read_word(addr)`` (which may
        raise for an unmapped stack: the call then fails with EFAULT)."""
        words = [regs.get(r, 0) for r in self.syscall_arg_regs]
        if self.stack_args_offset is not None:
            sp = regs[self.stack_reg]
            ws = self.word_size
            words += [read_word(sp + self.stack_args_offset + ws * i) for i in range(4)]
        return words

    def result_regs(self, result: int) -> dict[str, int]:
        """The registers a system call's ``result`` (``-errno`` on failure) sets."""
        if self.error_flag_reg is None:
            return {self.result_reg: result & self.word_mask}
        if -4096 < result < 0:
            return {self.result_reg: -result, self.error_flag_reg: 1}
        return {self.result_reg: result & self.word_mask, self.error_flag_reg: 0}

    def user_range_free(self, lo: int, hi: int) -> bool:
        """Whether a Linux process may own the user range [lo, hi)."""
        if not 0 <= lo < hi <= self.user_top:
            return False
        taken = (*self.reserved, _area(self.l4_kip_area), _area(self.l4_utcb_area))
        return not any(lo < b and a < hi for a, b in taken)


_ALIASES_LAST = ("EWOULDBLOCK", "EDEADLOCK", "SIGIOT", "SIGPOLL", "SIGCLD", "SIGUNUSED",
                 "SIGLOST", "SIGRTMIN", "SIGRTMAX")


def _first_name(table: Mapping[str, int], number: int, what: str) -> str:
    names = [n for n, v in table.items() if v == number]
    names.sort(key=lambda n: (n in _ALIASES_LAST, n))
    return names[0] if names else f"{what}{number}"


def _area(a: tuple[int, int]) -> tuple[int, int]:
    return a[0], a[0] + (1 << a[1])


def _require(abi: LinuxAbi, what: str, table: Mapping[str, Any],
             keys: tuple[str | tuple[str, ...], ...]) -> None:
    """Every key in ``table``; a tuple of keys: at least one of them."""
    missing = ["/".join(k) if isinstance(k, tuple) else k for k in keys
               if not (set(k) & set(table) if isinstance(k, tuple) else k in table)]
    if missing:
        raise AbiError(f"LinuxAbi {abi.name!r}: {what} lacks {', '.join(missing)}")


def _validate(abi: LinuxAbi) -> None:
    def bad(msg: str) -> AbiError:
        return AbiError(f"LinuxAbi {abi.name!r}: {msg}")

    if not abi.elf_machine.startswith("EM_") or abi.elf_machine not in ENUM_E_MACHINE \
            or abi.elf_class not in (32, 64):
        raise bad(f"unknown ELF machine/class {abi.elf_machine}/{abi.elf_class}")
    if abi.page_size < 4096 or abi.page_size & (abi.page_size - 1):
        raise bad(f"page size {abi.page_size} is not a power of two >= 4096")
    # the calling convention
    regs = abi.syscall_arg_regs
    if len(set(regs)) != len(regs) or "" in (abi.syscall_nr_reg, abi.stack_reg):
        raise bad("argument registers repeat")
    if len(regs) + (4 if abi.stack_args_offset is not None else 0) < 6:
        raise bad("fewer than 6 system-call arguments reachable")
    if abi.result_reg in ("", abi.error_flag_reg):
        raise bad("the result and the error flag share a register")
    if abi.syscall_insn_len not in (2, 4):
        raise bad(f"system-call instruction of {abi.syscall_insn_len} bytes")
    if bool(abi.handler_arg_regs) != (abi.handler_return_reg is not None):
        raise bad("a signal handler's return register goes with its argument registers")
    if abi.thumb_bit & (abi.thumb_bit - 1) or abi.thumb_bit < 0:
        raise bad(f"thumb_bit {abi.thumb_bit:#x} is not one bit")
    if abi.debian_arch == "" or not abi.qemu_user:
        raise bad("no Debian arch (None for none) or qemu-user binary named")
    if abi.tls_reg is not None and abi.tls_reg in (*regs, abi.syscall_nr_reg, abi.result_reg,
                                                   abi.stack_reg):
        raise bad(f"the thread pointer {abi.tls_reg} is a system-call register")
    # tables
    names = list(abi.syscalls.values())
    if len(set(names)) != len(names):
        raise bad("two system-call numbers share a name")
    _require(abi, "syscalls", abi.syscall_numbers, REQUIRED_SYSCALLS)
    _require(abi, "errno", abi.errno, REQUIRED_ERRNO)
    _require(abi, "signals", abi.signals, REQUIRED_SIGNALS)
    for table, keys in REQUIRED.items():
        _require(abi, table, getattr(abi, table), keys)
    for what, table in (("errno", abi.errno), ("signals", abi.signals)):
        if any(not 0 < v < 4096 for v in table.values()):
            raise bad(f"{what} numbers out of range")
    if abi.signals["SIGRTMAX"] > abi.sigset_bytes * 8:
        raise bad(f"sigset of {abi.sigset_bytes} bytes cannot hold SIGRTMAX")
    needed = dict(REQUIRED_STRUCTS)
    if any(c in abi.syscall_numbers for c in STAT64_CALLS):
        needed["stat64"] = STAT_MEMBERS
    _require(abi, "structs", abi.structs, tuple(needed))
    for name, members in needed.items():
        _require(abi, f"struct {name}", abi.structs[name].fields, members)
    restorer = "SA_RESTORER" in abi.sa_flags
    if restorer == (abi.sigreturn_trampoline is not None):
        raise bad("needs exactly one of SA_RESTORER and a sigreturn trampoline")
    if restorer and "sa_restorer" not in abi.structs["sigaction"].fields:
        raise bad("SA_RESTORER without sa_restorer in struct sigaction")
    if abi.sigreturn_trampoline is not None and not set(abi.sigreturn_offsets) >= {
            "sigreturn", "rt_sigreturn"}:
        raise bad("the sigreturn trampoline's entry offsets are missing")
    _validate_layout(abi, bad)


def _validate_layout(abi: LinuxAbi, bad: Any) -> None:
    page = abi.page_size
    if abi.user_top % page or any(lo % page or hi % page or lo >= hi for lo, hi in abi.reserved):
        raise bad("address ranges must be page aligned")
    if not 0 < abi.mmap_base < abi.stack_top <= abi.user_top:
        raise bad("needs 0 < mmap_base < stack_top <= user_top")
    areas = [_area(abi.l4_kip_area), _area(abi.l4_utcb_area)]
    for (lo, hi), (base, log2) in zip(areas, (abi.l4_kip_area, abi.l4_utcb_area), strict=True):
        if (1 << log2) < page or base % (1 << log2):
            raise bad(f"L4 area {base:#x}/{log2} is not a page-sized aligned fpage")
        if not abi.stack_top <= lo < hi <= abi.user_top:
            raise bad(f"L4 area {base:#x}/{log2} is not between the stack and user_top")
        if any(lo < b and a < hi for a, b in abi.reserved):
            raise bad(f"L4 area {base:#x}/{log2} overlaps a kernel range")
    (a0, a1), (b0, b1) = areas
    if a0 < b1 and b0 < a1:
        raise bad("the KIP and UTCB areas overlap")
    if any(a < abi.stack_top and b > abi.mmap_base for a, b in abi.reserved):
        raise bad("a kernel range lies between mmap_base and the stack")
    if (abi.kuser_page is None) != (abi.kuser_page_addr is None):
        raise bad("kuser_page and kuser_page_addr go together")
    if abi.kuser_page is not None and (len(abi.kuser_page) != page
                                       or abi.kuser_page_addr % page):
        raise bad("the kuser page must be one aligned page")
    if abi.kuser_page_addr is not None and not abi.user_range_free(
            abi.kuser_page_addr, abi.kuser_page_addr + page):
        raise bad("the kuser page lies where user pages cannot go")
    if (abi.sigreturn_trampoline is None) != (abi.trampoline_addr is None):
        raise bad("sigreturn_trampoline and trampoline_addr go together")
    if abi.trampoline_addr is not None:
        lo = abi.trampoline_addr
        if lo % page or len(abi.sigreturn_trampoline) > page or not (
                abi.stack_top <= lo and abi.user_range_free(lo, lo + page)):
            raise bad("the trampoline page must be a free aligned page above the stack")
