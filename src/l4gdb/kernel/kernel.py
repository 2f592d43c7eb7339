"""The kernel: one Trap in, one Resume out.

Owns the threads, spaces, scheduler and clock; the system calls live in
their own modules and are dispatched through a table whose handler
signatures say how many argument registers each call reads.
"""

from __future__ import annotations

import inspect
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import exception, interrupt, ipc, schedule
from .abi import ArchInfo, Memory, Resume, Syscall, Trap, TrapKind
from .clock import Clock
from .exregs import sys_exchange_registers
from .kdebug import KdbConsole, sys_kdebug
from .kip import (
    FEATURES,
    MEM_CONVENTIONAL,
    MEM_DEDICATED,
    MEM_RESERVED,
    MMU_FEATURE,
    SYSTEM_BASE,
    USER_BASE,
    KipInfo,
    MemoryDesc,
    build_kip,
)
from .mapping import MappingDb
from .paging import PageTables, R, W, X
from .schedule import Scheduler, sys_schedule, sys_thread_switch
from .sigma0 import Sigma0
from .snapshot import IpcRecord, KernelSnapshot, take_snapshot
from .space import Space, sys_space_control
from .tcontrol import sys_thread_control
from .thread import ROOT_PRIORITY, State, Tcb
from .types import NILTHREAD, Error, Fpage, ThreadId, is_global_id, is_local_id
from .utcb import UTCB_WORDS, Tcr, Utcb, encode_words, merge_writes

SIGMA0_NO = USER_BASE
ROOT_NO = USER_BASE + 2
EventSink = Callable[..., None]


@dataclass(frozen=True)
class BootConfig:
    """Where things are in guest memory; the host fills it from the kernel ELF."""

    kip_addr: int
    utcb_area_base: int
    utcb_area_log2: int
    root_ip: int
    root_sp: int
    main_memory: tuple[int, int]              # [low, high) of RAM
    free_memory: tuple[int, int]              # [low, high) handed out by sigma0
    reserved: tuple[tuple[int, int], ...] = ()   # [low, high) ranges (kernel image ...)
    kip_area_log2: int = 12
    utcb_size: int = 0                        # 0: 128 words
    root_utcb: int | None = None              # None: first slot of the UTCB area
    ipc_log_size: int = 64


class Kernel:
    def __init__(self, arch: ArchInfo, config: BootConfig, memory: Memory, clock: Clock,
                 console: KdbConsole, events: EventSink | None = None,
                 paging: PageTables | None = None) -> None:
        self.arch = arch
        self.config = config
        self.memory = memory
        self.clock = clock
        self.console = console
        self.events = events
        self.bits = arch.word_bits
        self.utcb_size = config.utcb_size or UTCB_WORDS * arch.word_size
        self.paging = paging
        page_log2 = paging.page_size_log2 if paging is not None else 12
        self.mdb = MappingDb(paging, config.main_memory, page_log2)
        self.page_size = 1 << page_log2
        self._loaded_root = 0                 # page-table base the CPU uses
        self._tlb_dirty = False
        self._identity_utcbs: Space | None = None
        self.threads: dict[int, Tcb] = {}     # by thread number
        self.spaces: list[Space] = []
        self.sched = Scheduler()
        self.current: Tcb | None = None
        self.now = 0
        self.traps = 0
        self.exit_status: int | None = None
        self.ipc_log: deque[IpcRecord] = deque(maxlen=config.ipc_log_size)
        self.kip_info = self._kip_info()
        self.sigma0: Tcb | None = None
        self.root: Tcb | None = None
        self._writes: list[tuple[int, bytes]] = []
        # Page index over _writes for read_memory (see _writes_over).
        self._windex_of: list[tuple[int, bytes]] | None = None
        self._windex: dict[int, list[int]] = {}
        self._windexed = 0
        self._woken: list[Tcb] = []
        self._seq = 0
        self._space_no = 0
        self._dispatched_at: int | None = None
        self._syscalls = self._syscall_table()
        # Interrupts: the tick of the guest timer (None: the host meets deadlines
        # itself), the lines that exist, and mask changes for the next exit.
        self.tick_irq: int | None = None
        self.irq_range: range = range(SYSTEM_BASE)
        self.irq_space: Space | None = None
        self.ticks = 0
        self._asynchronous = False     # this entry is an interrupt or a deadline
        self._unmask: list[int] = []
        self._mask: list[int] = []
        self._queued_irqs: list[int] = []

    # --- the entry point ------------------------------------------------------

    def handle(self, trap: Trap) -> Resume:
        """Process one kernel entry. Never raises because of guest input."""
        self.now = self.clock.now_us()
        self.traps += 1
        # _resume empties _writes; what is queued now came between entries (a host
        # server set up from outside, e.g. Wombat's first exec) and goes out with this one.
        self._woken = []
        # An interrupt or a deadline (not the thread's own call): a switch is a preemption.
        self._asynchronous = trap.kind in (TrapKind.INTERRUPT, TrapKind.TIMER)
        cur = self.current
        try:
            if trap.kind is TrapKind.BOOT:
                self._boot()
            else:
                if cur is not None:
                    self._save_context(cur, trap)
                    self._account(cur)
                self._take_queued_interrupts()
                self._dispatch(cur, trap)
            self._expire_deadlines()
        except Exception as exc:   # an internal bug stops only the offending thread
            self._internal_error(cur, trap, exc)
        return self._resume(cur)

    def _dispatch(self, cur: Tcb | None, trap: Trap) -> None:
        if trap.kind is TrapKind.SYSCALL:
            if cur is None:
                self.console.write(f"l4gdb: system call {trap.number} while idle, ignored\n")
                return
            self._syscall(cur, trap)
        elif trap.kind is TrapKind.PAGEFAULT:
            if cur is not None and not self.mdb.soft_fault(cur.space, trap.fault_addr,
                                                           trap.fault_access & 7):
                exception.page_fault(self, cur, trap)
        elif trap.kind is TrapKind.EXCEPTION:
            if cur is not None:
                exception.raise_exception(self, cur, trap)
        elif trap.kind is TrapKind.INTERRUPT:
            if trap.number == self.tick_irq:
                self.ticks += 1       # time moved on: accounting and deadlines do the rest
            elif trap.number in self.irq_range:
                interrupt.fire(self, trap.number)
        # TIMER: nothing beyond accounting and deadlines.
        if cur is not None and not cur.runnable and self._woken:
            # The caller blocked (Call, ReplyWait): the thread it woke runs next
            # if its priority allows, as with a direct switch.
            self.sched.enqueue(self._woken[-1], front=True)

    def _syscall(self, cur: Tcb, trap: Trap) -> None:
        number = trap.number
        entry = self._syscalls.get(number)
        if entry is None and cur.exception_handler != NILTHREAD \
                and self.resolve(cur, cur.exception_handler) is not None:
            # Not an L4 call: the thread's exception handler gets it, as Pistachio
            # sends a foreign trap (Linux's svc 0 / int 0x80 / syscall) as an exception.
            exception.raise_exception(self, cur, trap)
            return
        if entry is None:
            self.event("syscall_enter", thread=cur.global_id, number=number, args=())
            self.set_results(cur, *self.fail(cur, Error.InvalidParam, 0))
            self.console.write(f"l4gdb: thread {self.name_of(cur)}: unknown system call "
                               f"{number}\n")
            return
        fn, nargs = entry
        mask = self.arch.word_mask
        args = [cur.regs.get(r, 0) & mask for r in self.arch.syscall_arg_regs[:nargs]]
        self.event("syscall_enter", thread=cur.global_id, number=number, args=tuple(args))
        results = fn(self, cur, *args)
        if results is not None:
            self.set_results(cur, *results)
        self.event("syscall_exit", thread=cur.global_id, number=number, results=results)

    def _syscall_table(self) -> dict[int, tuple[Callable[..., Any], int]]:
        table = {
            Syscall.KernelInterface: sys_kernel_interface,
            Syscall.ExchangeRegisters: sys_exchange_registers,
            Syscall.ThreadControl: sys_thread_control,
            Syscall.SystemClock: sys_system_clock,
            Syscall.ThreadSwitch: sys_thread_switch,
            Syscall.Schedule: sys_schedule,
            Syscall.Ipc: ipc.sys_ipc,
            Syscall.Lipc: ipc.sys_lipc,
            Syscall.Unmap: sys_unmap,
            Syscall.SpaceControl: sys_space_control,
            Syscall.ProcessorControl: sys_processor_control,
            Syscall.MemoryControl: sys_memory_control,
            Syscall.KDebug: sys_kdebug,
        }
        out = {}
        for number, fn in table.items():
            nargs = len(inspect.signature(fn).parameters) - 2     # minus (kernel, cur)
            if nargs > len(self.arch.syscall_arg_regs):
                raise ValueError(f"{fn.__name__} needs {nargs} argument registers")
            out[int(number)] = (fn, nargs)
        return out

    # --- boot -------------------------------------------------------------------

    def _kip_info(self) -> KipInfo:
        c = self.config
        mem = [MemoryDesc(MEM_CONVENTIONAL, c.main_memory[0], c.main_memory[1] - 1)]
        mem += [MemoryDesc(MEM_RESERVED, lo, hi - 1) for lo, hi in c.reserved]
        mem.append(MemoryDesc(MEM_CONVENTIONAL, 0, self.arch.word_mask, virtual=True))
        if self.paging is not None:     # (a later descriptor overrides an earlier one)
            mem += [MemoryDesc(MEM_RESERVED, lo, hi - 1, virtual=True)
                    for lo, hi in self.paging.kernel_areas]
            mem += [MemoryDesc(MEM_DEDICATED, lo, hi - 1, virtual=True)
                    for lo, hi in getattr(self.paging, "device_areas", ())]
        align = (self.utcb_size - 1).bit_length()
        # The smallest UTCB area: an fpage (at least 2^10 bytes) that is mapped
        # page by page, so one smallest page (Pistachio: 4 KiB), and one UTCB.
        min_area = max(align, 10, min(self.arch.page_size_log2s))
        return KipInfo(word_size=self.arch.word_size, kernel_id=self.arch.kernel_id,
                       utcb_size=self.utcb_size, utcb_align_log2=align,
                       utcb_min_area_log2=min_area, kip_area_log2=c.kip_area_log2,
                       page_size_log2s=self.arch.page_size_log2s, memory=mem,
                       root_ip=c.root_ip, root_sp=c.root_sp, main_memory=c.main_memory,
                       features=FEATURES + ((MMU_FEATURE,) if self.paging is not None else ()))

    def _boot(self) -> None:
        c = self.config
        kip_at = c.kip_addr if self.paging is None else self.paging.kernel_address(c.kip_addr)
        self._writes.append((kip_at, build_kip(self.kip_info, 1 << c.kip_area_log2)))
        s0_space = self.new_space(privileged=True, host=True)
        s0_space.physical = True
        sigma0 = self.new_thread(ThreadId(SIGMA0_NO, 1).raw(self.bits), s0_space, name="sigma0")
        kip_end = c.kip_addr + (1 << c.kip_area_log2)
        utcb_end = c.utcb_area_base + (1 << c.utcb_area_log2)
        sigma0.host = Sigma0(c.free_memory, c.main_memory,
                             (*c.reserved, (c.kip_addr, kip_end), (c.utcb_area_base, utcb_end)))
        sigma0.activated = True
        sigma0.state = State.WAITING
        sigma0.priority = ROOT_PRIORITY
        self.sigma0 = sigma0

        root_space = self.new_space(privileged=True)
        root_space.kip_area = Fpage(c.kip_addr, c.kip_area_log2)
        root_space.utcb_area = Fpage(c.utcb_area_base, c.utcb_area_log2)
        self._identity_utcbs = root_space        # the root's UTCB area is backed 1:1
        self.setup_space(root_space)
        root_id = ThreadId(ROOT_NO, 1).raw(self.bits)
        root = self.new_thread(root_id, root_space, scheduler=root_id, name="root")
        root.priority = ROOT_PRIORITY
        root.utcb_addr = c.utcb_area_base if c.root_utcb is None else c.root_utcb
        self.init_utcb(root, sigma0.global_id)
        root.regs[self.arch.ip_reg] = c.root_ip
        root.regs[self.arch.sp_reg] = c.root_sp
        root.activated = True
        root.state = State.RUNNING
        self.root = root
        self.wake(root)
        self.event("boot", root=root.global_id, sigma0=sigma0.global_id)

    # --- thread and space bookkeeping (used by the syscall modules) -------------

    def new_space(self, privileged: bool = False, host: bool = False) -> Space:
        self._space_no += 1
        space = Space(ident=self._space_no, privileged=privileged, host=host)
        self.spaces.append(space)
        return space

    def new_thread(self, global_id: int, space: Space, scheduler: int = NILTHREAD,
                   name: str = "") -> Tcb:
        t = Tcb(global_id=global_id, space=space, name=name, scheduler=scheduler,
                utcb=Utcb(self.arch.word_size))
        t.regs = {r: 0 for r in self.arch.reg_names}
        t.regs[self.arch.flags_reg] = self.arch.user_flags
        self.threads[ThreadId.from_raw(global_id, self.bits).thread_no] = t
        space.threads.append(t)
        self.event("thread_create", thread=global_id, space=space.ident)
        return t

    def new_host_thread(self, thread_no: int, name: str, server: Any) -> Tcb:
        """A thread implemented in Python (``server.handle``) in a privileged host
        space of its own that maps frames it owns (as sigma0 does); always waiting."""
        space = self.new_space(privileged=True, host=True)
        space.physical = True
        t = self.new_thread(ThreadId(thread_no, 1).raw(self.bits), space, name=name)
        t.host = server
        t.activated = True
        t.state = State.WAITING
        t.priority = 255
        return t

    def delete_thread(self, t: Tcb) -> None:
        self.sched.dequeue(t)
        t.state = State.DEAD
        t.op = None
        t.deadline_us = None
        self.threads.pop(ThreadId.from_raw(t.global_id, self.bits).thread_no, None)
        self._leave_space(t)
        if self.current is t:
            self.current = None
        ipc.partner_gone(self, t)
        interrupt.partner_gone(self, t)
        self.event("thread_delete", thread=t.global_id)

    def move_thread(self, t: Tcb, space: Space) -> None:
        self._leave_space(t)
        t.space = space
        space.threads.append(t)

    def _leave_space(self, t: Tcb) -> None:
        space = t.space
        if t in space.threads:
            space.threads.remove(t)
        if not space.threads and space in self.spaces:
            self.spaces.remove(space)
            self.mdb.delete_space(space)
            if self.paging is not None and space.root:
                self.paging.free_root(space.root)
                space.root = 0
            if self.paging is not None and space is not self._identity_utcbs:
                for frame in space.utcb_frames.values():
                    self.paging.free_frame(frame)
            space.utcb_frames.clear()

    # --- page tables ------------------------------------------------------------

    def setup_space(self, space: Space) -> bool:
        """An initialised space gets its tables and the KIP (SpaceControl, boot).
        False when there is no kernel memory for them."""
        if self.paging is None or space.root:
            return True
        try:
            space.root = self.paging.new_root()
        except MemoryError:
            space.root = 0
        if not space.root:
            return False
        kip = space.kip_area
        self.paging.map(space.root, kip.base, self.config.kip_addr, kip.size_log2, R | X)
        return True

    def back_utcb(self, space: Space, utcb_addr: int) -> bool:
        """Give the UTCB page at utcb_addr a frame (kernel memory), mapped read-write."""
        if self.paging is None:
            return True
        page = utcb_addr & ~(self.page_size - 1)
        if page in space.utcb_frames:
            return True
        if space is self._identity_utcbs:
            frame = page
        else:
            got = self.paging.alloc_frame()
            if got is None:
                return False
            frame = got
        space.utcb_frames[page] = frame
        if space.root:
            self.paging.map(space.root, page, frame, (self.page_size - 1).bit_length(), R | W)
        return True

    def utcb_kaddr(self, t: Tcb) -> int:
        """Where the kernel writes t's UTCB."""
        if self.paging is None:
            return t.utcb_addr
        page = t.utcb_addr & ~(self.page_size - 1)
        frame = t.space.utcb_frames.get(page)
        if frame is None:
            return 0
        return self.paging.kernel_address(frame + (t.utcb_addr - page))

    def user_address(self, t: Tcb, vaddr: int, access: int) -> int | None:
        """Where the kernel reaches t's vaddr (flat: itself), None if t can't ``access`` it."""
        if self.paging is None:
            return vaddr
        pa = self.mdb.translate(t.space, vaddr, access)
        return None if pa is None else self.paging.kernel_address(pa)

    def renumber(self, t: Tcb, new_id: int) -> None:
        t.global_id = new_id
        if t.activated:
            self.write_utcb(t, Tcr.MyGlobalId, [new_id])

    def init_utcb(self, t: Tcb, pager: int) -> None:
        self.back_utcb(t.space, t.utcb_addr)
        t.utcb = Utcb(self.arch.word_size)
        t.activated = True
        self.write_utcb(t, Tcr.MyGlobalId, [t.global_id, 0, 0, pager, 0, 0, 0, 0, 0, 0, 0, 0])

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- lookups ------------------------------------------------------------------

    def thread_by_global(self, raw: int) -> Tcb | None:
        if not is_global_id(raw, self.bits):
            return None
        t = self.threads.get(ThreadId.from_raw(raw, self.bits).thread_no)
        return t if t is not None and t.global_id == raw else None

    def resolve(self, cur: Tcb, raw: int) -> Tcb | None:
        """A thread named by a global id, or by a local id in cur's space."""
        if is_local_id(raw, self.bits):
            return cur.space.thread_by_utcb(raw)
        return self.thread_by_global(raw)

    def id_as_seen_by(self, viewer: Tcb, t: Tcb) -> int:
        """Local id within the same space, global id across spaces."""
        if viewer.space is t.space and t.activated and t.host is None:
            return t.utcb_addr
        return t.global_id

    def threads_in_state(self, state: State) -> list[Tcb]:
        return [t for t in self.threads.values() if t.state is state]

    def name_of(self, t: Tcb) -> str:
        tid = ThreadId.from_raw(t.global_id, self.bits)
        base = f"{tid.thread_no}.{tid.version}"
        return f"{base} ({t.name})" if t.name else base

    # --- effects --------------------------------------------------------------------

    def write_utcb(self, t: Tcb, index: int, values: list[int]) -> None:
        """Set words of t's UTCB: in the host copy and, via Resume.writes, in memory."""
        if t.utcb is None:
            t.utcb = Utcb(self.arch.word_size)
        mask = self.arch.word_mask
        for i, v in enumerate(values):
            t.utcb.words[index + i] = v & mask
        if t.host is None and t.activated:
            base = self.utcb_kaddr(t)
            if base:
                addr = base + index * self.arch.word_size
                self._writes.append((addr, encode_words(values, self.arch.word_size)))

    def read_memory(self, addr: int, n: int) -> bytes | None:
        """Guest memory at a kernel address; None where the guest has none.

        Writes queued earlier in this entry (they reach the guest on the way
        out) are seen, so a server may write a page and read it back."""
        addr &= self.arch.word_mask
        try:
            data = self.memory.read(addr, n)
        except Exception:          # a bad guest pointer must not take the host down
            return None
        if data is None or len(data) != n:
            return None
        if not self._writes:
            return bytes(data)
        out = bytearray(data)
        end = addr + n
        for i in self._writes_over(addr, end):
            waddr, wdata = self._writes[i]
            lo, hi = max(addr, waddr), min(end, waddr + len(wdata))
            if lo < hi:
                out[lo - addr:hi - addr] = wdata[lo - waddr:hi - waddr]
        return bytes(out)

    def _writes_over(self, lo: int, hi: int) -> list[int]:
        """Indices (in queue order) of the queued writes that may touch [lo, hi).

        A page index over ``_writes``, extended as records are appended, so a
        long string copy (one write per page, each read back) stays linear
        instead of rescanning the whole queue on every read."""
        writes = self._writes
        if self._windex_of is not writes or len(writes) < self._windexed:
            # a new queue (or one cut short in place): start over
            self._windex_of, self._windex, self._windexed = writes, {}, 0
        index = self._windex
        for i in range(self._windexed, len(writes)):
            waddr, wdata = writes[i]
            for pg in range(waddr >> 12, (waddr + max(len(wdata), 1) - 1 >> 12) + 1):
                index.setdefault(pg, []).append(i)
        self._windexed = len(writes)
        hits: set[int] = set()
        for pg in range(lo >> 12, (hi - 1 >> 12) + 1):
            hits.update(index.get(pg, ()))
        return sorted(hits)

    def write_memory(self, addr: int, data: bytes) -> None:
        """Guest memory at a kernel address, written on the way out of this entry."""
        if data:
            self._writes.append((addr & self.arch.word_mask, bytes(data)))

    def set_results(self, t: Tcb, *values: int) -> None:
        mask = self.arch.word_mask
        for reg, v in zip(self.arch.syscall_result_regs, values, strict=False):
            t.regs[reg] = v & mask

    def fail(self, cur: Tcb, error: Error, *results: int) -> tuple[int, ...]:
        """Set ErrorCode and return the failing call's results."""
        self.write_utcb(cur, Tcr.ErrorCode, [int(error)])
        self.event("syscall_error", thread=cur.global_id, error=error.name)
        return results

    def host_reply(self, server: Tcb, t: Tcb) -> bool:
        """A host server answers t's exception later: t runs on with ``t.regs``."""
        return exception.host_reply(self, server, t)

    def wake(self, t: Tcb) -> None:
        if t.runnable:
            self.sched.enqueue(t)
            self._woken.append(t)

    def queue_interrupt(self, irq: int) -> None:
        """An interrupt the CPU took where the host could not serve it as an entry
        of its own (on the way into the kernel): handled on the next entry."""
        if irq != self.tick_irq and irq in self.irq_range and irq not in self._queued_irqs:
            self._queued_irqs.append(irq)

    def _take_queued_interrupts(self) -> None:
        queued, self._queued_irqs = self._queued_irqs, []
        for irq in queued:
            interrupt.fire(self, irq)

    def irq_unmask(self, irq: int) -> None:
        """Enable interrupt line irq on the way out of this entry."""
        if irq in self._mask:
            self._mask.remove(irq)
        if irq not in self._unmask:
            self._unmask.append(irq)

    def irq_mask(self, irq: int) -> None:
        """Disable interrupt line irq on the way out of this entry."""
        if irq in self._unmask:
            self._unmask.remove(irq)
        if irq not in self._mask:
            self._mask.append(irq)

    def halt(self, t: Tcb, why: str) -> None:
        t.halted = True
        self.console.write(f"l4gdb: thread {self.name_of(t)}: {why}\n")
        self.event("thread_halt", thread=t.global_id, reason=why)

    def thread_exit(self, t: Tcb, status: int) -> None:
        if t is self.root:
            self.exit_status = status
        else:
            self.halt(t, f"exited with status {status}")

    def log_ipc(self, s: Tcb, r: Tcb, tag: int) -> None:
        rec = IpcRecord(self.now, s.global_id, r.global_id, tag)
        self.ipc_log.append(rec)
        self.event("ipc", sender=s.global_id, receiver=r.global_id, tag=tag)

    def event(self, name: str, **data: Any) -> None:
        if self.events is None:
            return
        try:
            self.events(name, **data)
        except Exception as exc:    # an observer must not break the kernel
            self.console.write(f"l4gdb: event observer failed on {name}: {exc!r}\n")
            self.events = None

    # --- time and scheduling ----------------------------------------------------------

    def _save_context(self, cur: Tcb, trap: Trap) -> None:
        mask = self.arch.word_mask
        if trap.regs:
            for reg, value in trap.regs.items():
                cur.regs[reg] = value & mask
        if trap.utcb and cur.utcb is not None:
            cur.utcb.load(trap.utcb)

    def _account(self, cur: Tcb) -> None:
        if self._dispatched_at is None:
            return
        used = max(0, self.now - self._dispatched_at)
        cur.timeslice_left_us -= used
        if cur.total_quantum_us is not None and cur.total_quantum_us > 0:
            cur.total_quantum_us = max(0, cur.total_quantum_us - used)
            if cur.total_quantum_us == 0:
                schedule.quantum_exhausted(self, cur)
        if cur.timeslice_left_us <= 0:
            self.sched.rotate(cur)
            self.event("schedule", reason="timeslice", thread=cur.global_id)

    def _expire_deadlines(self) -> None:
        due = [t for t in self.threads.values()
               if t.deadline_us is not None and t.deadline_us <= self.now]
        for t in sorted(due, key=lambda t: (t.deadline_us, t.send_seq)):
            if t.deadline_us is not None and t.state in (State.POLLING, State.WAITING):
                ipc.expire(self, t)

    def next_deadline(self, running: Tcb | None) -> int | None:
        times = [t.deadline_us for t in self.threads.values() if t.deadline_us is not None]
        if running is not None and self.sched.has_peer(running):
            times.append(self.now + max(1, running.timeslice_left_us))
        if running is not None and running.total_quantum_us:
            times.append(self.now + running.total_quantum_us)
        delayed = schedule.delay_deadline(self, running)
        if delayed is not None:
            times.append(delayed)
        return min(times) if times else None

    def _resume(self, prev: Tcb | None) -> Resume:
        # First: delayed preemption and preemption messages may write UTCBs.
        chosen = schedule.on_switch(self, prev, self.sched.choose(), self._asynchronous)
        if self.paging is not None:
            tables = self.paging.take_writes()
            if tables:
                self._tlb_dirty = True
                self._writes[:0] = tables
        writes = merge_writes(self._writes)
        self._writes = []
        self._windex_of, self._windex, self._windexed = None, {}, 0
        irq_ops = {"irq_unmask": tuple(self._unmask), "irq_mask": tuple(self._mask)}
        self._unmask, self._mask = [], []
        if self.exit_status is not None:
            return Resume(thread=None, writes=writes, exit_status=self.exit_status)
        nxt = chosen
        if nxt is not prev:
            self.event("schedule", reason="switch",
                       prev=prev.global_id if prev else None,
                       next=nxt.global_id if nxt else None)
        self.current = nxt
        self._dispatched_at = self.now
        wake_at = self.next_deadline(nxt)
        if nxt is None:
            return Resume(thread=None, writes=writes, wake_at_us=wake_at, **irq_ops)
        space_root = 0
        root = nxt.space.root
        if root and (root != self._loaded_root or self._tlb_dirty):
            space_root = root          # switch (and flush the TLB) on the way out
            self._loaded_root = root
            self._tlb_dirty = False
        tls = nxt.utcb_addr if nxt.tls is None else nxt.tls
        return Resume(thread=nxt.global_id, regs=dict(nxt.regs), utcb_addr=nxt.utcb_addr,
                      tls=tls, tls_user=nxt.tls is not None, fpu_area=nxt.fpu_area,
                      space_root=space_root, writes=writes,
                      wake_at_us=wake_at, **irq_ops)

    def _internal_error(self, cur: Tcb | None, trap: Trap, exc: Exception) -> None:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        why = (f"internal kernel error handling {trap.kind.value} {trap.number}: {exc!r} "
               f"at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}")
        if cur is not None and cur.state is not State.DEAD:
            cur.op = None
            cur.deadline_us = None
            self.sched.dequeue(cur)
            self.halt(cur, why)
        else:
            self.console.write(f"l4gdb: {why}\n")

    # --- introspection ----------------------------------------------------------------

    def snapshot(self) -> KernelSnapshot:
        return take_snapshot(self)


# --- the small system calls ------------------------------------------------------------

def sys_kernel_interface(k: Kernel, cur: Tcb) -> tuple[int, ...]:
    info = k.kip_info
    return k.config.kip_addr, info.api_version, info.api_flags, info.kernel_id


def sys_system_clock(k: Kernel, cur: Tcb) -> tuple[int, ...]:
    return k.now & k.arch.word_mask, k.now >> k.bits


UNMAP_FLUSH = 0x40


def sys_unmap(k: Kernel, cur: Tcb, control: int) -> tuple[int, ...]:
    """Unmap/Flush/GetStatus of the fpages in MR0..MR(control & 0x3f).

    Each fpage comes back with its rwx field replaced by the status bits
    (referenced, written, executed). Flat (no page tables): nothing is
    revoked and the fpages stay as given."""
    if k.paging is None or cur.utcb is None:
        return ()
    n = (control & 0x3F) + 1
    flush = bool(control & UNMAP_FLUSH)
    out = []
    for i in range(n):
        raw = cur.utcb.words[i]
        fp = Fpage.from_raw(raw)
        status = k.mdb.unmap_fpage(cur.space, fp, flush) if not fp.is_nil else 0
        out.append((raw & ~7) | (status & 7))
    k.write_utcb(cur, 0, out)
    k.event("unmap", thread=cur.global_id, count=n, flush=flush)
    return ()


def sys_processor_control(k: Kernel, cur: Tcb, processor: int, internal_freq: int,
                          external_freq: int, voltage: int) -> tuple[int, ...]:
    if not cur.space.privileged:
        return k.fail(cur, Error.NoPrivilege, 0)
    if processor != 0:
        return k.fail(cur, Error.InvalidParam, 0)
    return (1,)


def sys_memory_control(k: Kernel, cur: Tcb, control: int, attr0: int, attr1: int, attr2: int,
                       attr3: int) -> tuple[int, ...]:
    if not cur.space.privileged:
        return k.fail(cur, Error.NoPrivilege, 0)
    return (1,)
