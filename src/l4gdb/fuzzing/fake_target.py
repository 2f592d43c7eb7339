"""A fake CPU + memory that runs the kernel model the way the host does (the unit
tests and `l4gdb fuzz` drive the kernel through it).

It holds sparse memory, applies every Resume (writes, then the thread's
registers), and lets tests say "the running thread executes system call S
with these arguments" or "time passes".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from l4gdb.kernel import ArchInfo, BootConfig, BufferConsole, FakeClock, Kernel, Resume, Trap
from l4gdb.kernel.abi import Syscall, TrapKind
from l4gdb.kernel.types import ThreadId
from l4gdb.kernel.utcb import UTCB_WORDS, Tcr

_REGS = tuple(f"r{i}" for i in range(13)) + ("sp", "lr", "pc", "cpsr")


def make_arch(word_size: int = 4) -> ArchInfo:
    return ArchInfo(
        name=f"fake{8 * word_size}", word_size=word_size, reg_names=_REGS, ip_reg="pc",
        sp_reg="sp", flags_reg="cpsr", user_flags=0x10, flags_user_mask=0xF800_0000,
        syscall_arg_regs=tuple(f"r{i}" for i in range(7)),
        syscall_result_regs=tuple(f"r{i}" for i in range(7)))


ARCH32 = make_arch(4)
ARCH64 = make_arch(8)

RAM = 0x4000_0000
KIP = RAM + 0x1_0000
UTCB_AREA = RAM + 0x4_0000
ROOT_IP = RAM + 0x10_0000
ROOT_SP = RAM + 0x20_0000


POOL = (RAM + 0x0700_0000, RAM + 0x0800_0000)     # FakePageTables' kernel memory
KERNEL_AREA = (0xC000_0000, 0x1_0000_0000)


class FakePageTables:
    """Page tables as dicts: root -> {vpage: (ppage, rights)}; the 'kernel window'
    is physical memory itself (kernel_address is the identity)."""

    page_size_log2 = 12
    kernel_areas = (KERNEL_AREA,)

    def __init__(self, pool: tuple[int, int] = POOL) -> None:
        self.tables: dict[int, dict[int, tuple[int, int]]] = {}
        self.next = pool[0]
        self.high = pool[1]
        self.freed: list[int] = []
        self.changes = 0

    def _alloc(self) -> int | None:
        if self.next + 0x1000 > self.high:
            return None
        self.next += 0x1000
        return self.next - 0x1000

    def new_root(self) -> int:
        root = self._alloc()
        if root is None:
            return 0
        self.tables[root] = {}
        return root

    def free_root(self, root: int) -> None:
        self.tables.pop(root, None)
        self.freed.append(root)

    def map(self, root: int, vaddr: int, paddr: int, size_log2: int, rights: int) -> None:
        for off in range(0, 1 << size_log2, 0x1000):
            self.tables[root][vaddr + off] = (paddr + off, rights)
        self.changes += 1

    def unmap(self, root: int, vaddr: int, size_log2: int) -> None:
        for off in range(0, 1 << size_log2, 0x1000):
            self.tables[root].pop(vaddr + off, None)
        self.changes += 1

    def alloc_frame(self) -> int | None:
        return self._alloc()

    def free_frame(self, paddr: int) -> None:
        self.freed.append(paddr)

    def kernel_address(self, paddr: int) -> int:
        return paddr

    def take_writes(self) -> list[tuple[int, bytes]]:
        return []

    def translate(self, root: int, vaddr: int) -> tuple[int, int] | None:
        hit = self.tables.get(root, {}).get(vaddr & ~0xFFF)
        return None if hit is None else (hit[0] + (vaddr & 0xFFF), hit[1])


def boot_config(**over: object) -> BootConfig:
    cfg = dict(kip_addr=KIP, utcb_area_base=UTCB_AREA, utcb_area_log2=18, root_ip=ROOT_IP,
               root_sp=ROOT_SP, main_memory=(RAM, RAM + 0x0800_0000),
               free_memory=(RAM + 0x80_0000, RAM + 0x0800_0000),
               reserved=((RAM, RAM + 0x1_0000),))
    cfg.update(over)
    return BootConfig(**cfg)  # type: ignore[arg-type]


class SparseMemory:
    """Byte-addressed memory in 4 KiB pages; reads outside RAM fail like a bus error."""

    def __init__(self, low: int = RAM, high: int = RAM + 0x0800_0000) -> None:
        self.low, self.high = low, high
        self.pages: dict[int, bytearray] = {}

    def _check(self, addr: int, n: int) -> None:
        if n < 0 or addr < self.low or addr + n > self.high:
            raise ValueError(f"bus error at {addr:#x}+{n}")

    def read(self, addr: int, n: int) -> bytes:
        self._check(addr, n)
        out = bytearray()
        while n > 0:
            page, off = addr & ~0xFFF, addr & 0xFFF
            chunk = min(n, 0x1000 - off)
            data = self.pages.get(page)
            out += data[off:off + chunk] if data is not None else bytes(chunk)
            addr, n = addr + chunk, n - chunk
        return bytes(out)

    def write(self, addr: int, data: bytes) -> None:
        self._check(addr, len(data))
        i = 0
        while i < len(data):
            page, off = (addr + i) & ~0xFFF, (addr + i) & 0xFFF
            chunk = min(len(data) - i, 0x1000 - off)
            buf = self.pages.setdefault(page, bytearray(0x1000))
            buf[off:off + chunk] = data[i:i + chunk]
            i += chunk


@dataclass
class Events:
    log: list[tuple[str, dict]] = field(default_factory=list)

    def __call__(self, name: str, **data: object) -> None:
        self.log.append((name, data))

    def names(self) -> list[str]:
        return [n for n, _ in self.log]


class FakeMachine:
    def __init__(self, arch: ArchInfo = ARCH32, config: BootConfig | None = None,
                 console_input: str = "", trace: bool = False, paging: bool = False) -> None:
        self.arch = arch
        self.ws = arch.word_size
        self.clock = FakeClock()
        self.mem = SparseMemory()
        self.console = BufferConsole(console_input)
        self.events = Events() if trace else None
        self.pt = FakePageTables() if paging else None
        if config is None:
            config = boot_config(free_memory=(RAM + 0x80_0000, POOL[0]),
                                 reserved=((RAM, RAM + 0x1_0000), POOL)) if paging \
                else boot_config()
        self.kernel = Kernel(arch, config, self.mem, self.clock, self.console,
                             self.events, paging=self.pt)
        self.ttbr = 0                           # the page-table base the fake CPU uses
        self.cpu: dict[str, int] = {}
        self.running: int | None = None
        self.utcb_addr = 0
        self.last: Resume = self._apply(self.kernel.handle(Trap(TrapKind.BOOT)))

    # --- ids --------------------------------------------------------------------
    def tid(self, no: int, version: int = 1) -> int:
        return ThreadId(no, version).raw(self.arch.word_bits)

    @property
    def root(self) -> int:
        return self.tid(98)

    @property
    def sigma0(self) -> int:
        return self.tid(96)

    # --- running the kernel ---------------------------------------------------
    def _apply(self, res: Resume) -> Resume:
        for addr, data in res.writes:
            self.mem.write(addr, data)
        if res.space_root:
            self.ttbr = res.space_root
        self.running = res.thread
        self.cpu = dict(res.regs or {})
        self.utcb_addr = res.utcb_addr
        self.last = res
        return res

    def trap(self, trap: Trap) -> Resume:
        return self._apply(self.kernel.handle(trap))

    def syscall(self, number: int, *args: int, utcb: bool = True) -> Resume:
        """The running thread executes ``svc #number`` with args in r0.."""
        assert self.running is not None, "no thread is running"
        regs = dict(self.cpu)
        for reg, value in zip(self.arch.syscall_arg_regs, args, strict=False):
            regs[reg] = value & self.arch.word_mask
        ip = self.arch.ip_reg
        regs[ip] = (regs.get(ip, 0) + 4) & self.arch.word_mask
        snap = self.mem.read(self.pa(self.utcb_addr), UTCB_WORDS * self.ws) if utcb else None
        return self.trap(Trap(TrapKind.SYSCALL, number, regs, self.utcb_addr, snap))

    def tick(self, us: int) -> Resume:
        self.clock.advance(us)
        return self.trap(Trap(TrapKind.TIMER, 0, dict(self.cpu) if self.running else None))

    # --- the MMU ----------------------------------------------------------------
    def pa(self, vaddr: int, root: int | None = None) -> int:
        """Physical address of vaddr in the space of ``root`` (default: the CPU's);
        flat machines and unmapped addresses read through as physical."""
        if self.pt is None:
            return vaddr
        hit = self.pt.translate(self.ttbr if root is None else root, vaddr)
        return vaddr if hit is None else hit[0]

    def root_of(self, tid: int) -> int:
        t = self.kernel.thread_by_global(tid)
        assert t is not None
        return t.space.root

    def access(self, vaddr: int, rwx: int, value: int | None = None) -> int | None:
        """The running thread reads (4) / writes (2) / executes (1) vaddr as its MMU
        allows; a denied access becomes a page-fault trap and returns None."""
        assert self.pt is not None
        hit = self.pt.translate(self.ttbr, vaddr)
        if hit is None or (hit[1] & rwx) != rwx:
            regs = dict(self.cpu)
            snap = self.mem.read(self.pa(self.utcb_addr), UTCB_WORDS * self.ws)
            self.trap(Trap(TrapKind.PAGEFAULT, 0, regs, self.utcb_addr, snap,
                           fault_addr=vaddr, fault_access=rwx))
            return None
        if value is not None:
            self.mem.write(hit[0], value.to_bytes(self.ws, "little"))
            return value
        return int.from_bytes(self.mem.read(hit[0], self.ws), "little")

    # --- UTCB access of the running thread (as user code would) ---------------
    def word(self, addr: int, root: int | None = None) -> int:
        return int.from_bytes(self.mem.read(self.pa(addr, root), self.ws), "little")

    def set_word(self, addr: int, value: int, root: int | None = None) -> None:
        self.mem.write(self.pa(addr, root),
                       (value & self.arch.word_mask).to_bytes(self.ws, "little"))

    def utcb_of(self, tid: int) -> int:
        t = self.kernel.thread_by_global(tid)
        assert t is not None
        return t.utcb_addr

    def mr(self, i: int, tid: int | None = None) -> int:
        if tid is None:
            return self.word(self.utcb_addr + i * self.ws)
        root = self.root_of(tid) if self.pt is not None else None
        return self.word(self.utcb_of(tid) + i * self.ws, root)

    def tcr(self, tcr: Tcr, tid: int | None = None) -> int:
        return self.mr(int(tcr), tid)

    def load_mrs(self, *words: int) -> None:
        for i, w in enumerate(words):
            self.set_word(self.utcb_addr + i * self.ws, w)

    def result(self, i: int = 0) -> int:
        return self.cpu[self.arch.syscall_result_regs[i]]

    def results_of(self, tid: int, n: int = 1) -> tuple[int, ...]:
        t = self.kernel.thread_by_global(tid)
        assert t is not None
        return tuple(t.regs[r] for r in self.arch.syscall_result_regs[:n])

    # --- convenience: L4 calls by the running thread --------------------------
    def ipc(self, to: int, from_spec: int, timeouts: int = 0, *mrs: int) -> Resume:
        if mrs:
            self.load_mrs(*mrs)
        return self.syscall(Syscall.Ipc, to, from_spec, timeouts)

    def thread_control(self, dest: int, space: int, sched: int, pager: int, utcb: int) -> int:
        self.syscall(Syscall.ThreadControl, dest, space, sched, pager, utcb)
        return self.result()

    def spawn(self, no: int, ip: int = ROOT_IP + 0x100, sp: int = ROOT_SP - 0x1000,
              slot: int | None = None, prio: int | None = None) -> int:
        """Root creates thread ``no`` in its own space and starts it (pager = root)."""
        assert self.running == self.root, "spawn runs as the root task"
        tid = self.tid(no)
        utcb = UTCB_AREA + (slot if slot is not None else no) * UTCB_WORDS * self.ws
        assert self.thread_control(tid, self.root, self.root, self.root, utcb) == 1, \
            self.kernel.snapshot()
        if prio is not None:
            mask = self.arch.word_mask
            self.syscall(Syscall.Schedule, tid, mask, mask, prio, mask)
        # Thread start protocol: MR1 ip, MR2 sp from the pager.
        self.ipc(tid, 0, 0, 2, ip, sp)
        assert self.running == self.root
        return tid

    def spawn_space(self, no: int, ip: int = ROOT_IP + 0x200, sp: int = ROOT_SP - 0x2000,
                    prio: int | None = None) -> int:
        """Root creates thread ``no`` as the first thread of a new space and starts it."""
        from l4gdb.kernel.types import Fpage

        assert self.running == self.root
        tid = self.tid(no)
        mask = self.arch.word_mask
        bits = self.arch.word_bits
        area = RAM + 0x40_0000 + no * 0x1_0000
        assert self.thread_control(tid, tid, self.root, 0, mask) == 1
        self.syscall(Syscall.SpaceControl, tid, 0, Fpage(KIP, 12).raw(bits),
                     Fpage(area, 16).raw(bits), 0)
        assert self.result() == 1
        assert self.thread_control(tid, tid, 0, self.root, area) == 1
        if prio is not None:
            self.syscall(Syscall.Schedule, tid, mask, mask, prio, mask)
        self.ipc(tid, 0, 0, 2, ip, sp)
        assert self.running == self.root
        return tid

    def set_priority(self, tid: int, prio: int) -> int:
        mask = self.arch.word_mask
        self.syscall(Syscall.Schedule, tid, mask, mask, prio, mask)
        return self.result()


def timeouts(snd: int = 0, rcv: int = 0) -> int:
    return (snd << 16) | rcv
