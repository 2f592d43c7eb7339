"""The Iguana server: one host-side L4 thread (``PythonServer``) serving the
magpie IPC convention of OKL4 3.0's Iguana.

Request: label = 64 * interface id + method number, in-parameters as untyped
words MR1..; reply: label = error code (0 = success), out-parameters in
MR1... Iguana is also the pager of the threads it creates: a page fault is
resolved from the memsection covering the address (attached to the faulting
thread's PD); the program image (the initial PD's pages) is shared with every
PD, as in Iguana's single address space.

Objects are named by references (``objref``): a memsection's reference is
its base address (so ``memsection_lookup`` of any address inside finds it);
every other object gets an opaque word. Password capabilities (ref, passwd)
live in clists; a PD may act on an object only with a capability for it in
one of its clists (``EPERM`` otherwise). The creator of an object gets its
master capability in its default clist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from l4gdb.kernel.kip import USER_BASE
from l4gdb.kernel.mapping import Node
from l4gdb.kernel.thread import State, Tcb
from l4gdb.kernel.types import (
    MAP_ITEM_TYPE,
    NILTHREAD,
    Fpage,
    KernelLabel,
    MsgTag,
    ThreadId,
    kernel_label,
)

from .errors import Fail as _Fail
from .errors import IguanaError
from .frames import Frames

if TYPE_CHECKING:
    from l4gdb.kernel.kernel import Kernel
    from l4gdb.kernel.space import Space

__all__ = ["IguanaError", "IguanaServer", "install"]

IGUANA_THREAD_NO = USER_BASE + 1        # between sigma0 (UserBase) and the root task (+2)
FIRST_THREAD_NO = USER_BASE + 160       # threads Iguana creates
IID_EX, IID_PD, IID_EAS, IID_THREAD = 21, 22, 23, 24
IID_HARDWARE, IID_MEMSECTION, IID_SESSION = 25, 26, 27
IID_PHYSPOOL, IID_PHYSMEM, IID_CLIST = 30, 31, 33
PAGE_LOG2 = 12
PAGE = 1 << PAGE_LOG2
VIRT_POOL = (0x1000_0000, 0x3000_0000)   # where memsections get their addresses
OBJREF_BASE = 0xA000_0000                # opaque references of non-memsection objects
RWX = 7
W = 2
MS_FIXED = 0x1                           # create_memsection flags: at the given base
MS_USER = 0x10                           # OKL4's MEM_USER: no backing until mapped/backed
# A password has 64 random bits on every arch: one word on 64-bit, two (low word
# first) on 32-bit, wherever a capability travels in IPC. 0 is INVALID_CAP's.
PASSWD_BITS = 64
# clist_insert fills a clist up to this many caps (ENOMEM then): a clist full
# of guesses tests them all in one call, so this bounds the guesses per call.
# The master caps the server grants always go in (one per live object made).
CLIST_MAX_CAPS = 512
CLISTS_PER_PD = 16                       # clists one PD may hold (create/add_clist)


@dataclass(eq=False)
class Clist:
    ref: int
    passwd: int
    owner: Pd | None
    caps: list[tuple[int, int]] = field(default_factory=list)


@dataclass(eq=False)
class Memsection:
    ref: int                 # = base
    passwd: int
    base: int
    size: int
    owner: Pd
    frames: Frames = field(default_factory=Frames)   # sparse; unset: not backed (yet)
    server: int = NILTHREAD  # L4 id of the registered server thread
    fixed: bool = False
    kind: str = "normal"     # normal (frames of its physpool), user (physmem), device
    physpool: Any = None     # where a normal memsection's frames came from
    attributes: int = 0      # hardware_back_memsection's cache attributes

    def pages(self) -> range:
        return range(self.base, self.base + self.size, PAGE)


@dataclass(eq=False)
class IgThread:
    ref: int
    passwd: int
    pd: Pd
    tcb: Tcb
    priority: int
    started: bool = False
    fault: tuple[int, int] | None = None   # (address, access) of a fault Iguana refused
    eas: Any = None          # the external address space it runs in (eas_create_thread)


@dataclass(eq=False)
class Session:
    ref: int
    passwd: int
    owner: Pd
    client: IgThread | None
    server: IgThread | None
    clist: Clist


@dataclass(eq=False)
class Pd:
    ref: int
    passwd: int
    parent: Pd | None
    space: Space
    eager: bool = False          # the initial PD: its pager is sigma0, map memsections at once
    clists: list[Clist] = field(default_factory=list)
    children: list[Pd] = field(default_factory=list)
    memsections: list[Memsection] = field(default_factory=list)
    threads: list[IgThread] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    attached: dict[Memsection, int] = field(default_factory=dict)  # pd_attach: ms -> rwx
    eases: list[Any] = field(default_factory=list)
    name: str = ""
    host: bool = False           # a host server's PD (register_host_server)
    deleted: bool = False


class IguanaServer:
    """Install with :func:`install`; ``handle`` is the PythonServer entry."""

    def __init__(self) -> None:
        self.kernel: Kernel | None = None
        self.tcb: Tcb | None = None
        self.initial: Pd | None = None
        self.objects: dict[int, Any] = {}
        self.memsections: list[Memsection] = []
        self.physpool: Any = None        # the default pools (pools.py)
        self.virtpool: Any = None
        self.hardware: Any = None        # the hardware object (hardware.py)
        self._devices: Space | None = None   # mapping roots of device memory
        self._next_ref = OBJREF_BASE
        # Every password given out in this run: none is given twice (a memsection
        # made again at the same address must not revive an old capability).
        self._issued: set[int] = set()

    # --- setup --------------------------------------------------------------------
    def attach(self, kernel: Kernel) -> None:
        """Create the server thread and the initial PD (the root task's space)."""
        self.kernel = kernel
        t = kernel.new_host_thread(IGUANA_THREAD_NO, "iguana", self)
        gid = t.global_id
        self.tcb = t
        root = kernel.root
        assert root is not None, "install Iguana after the kernel booted"
        from . import hardware, pools

        pd = self._new_pd(None, root.space, eager=True)
        pd.name = "initial"
        self.initial = pd
        self._add_thread_obj(pd, root, root.priority, started=True)
        self.physpool, self.virtpool = pools.default_pools(self)
        self.hardware = hardware.Hardware(self._ref(), self._passwd())
        for obj in (self.physpool, self.virtpool, self.hardware):
            self.objects[obj.ref] = obj
            self._grant(pd, obj)         # the initial PD holds the master caps
        kernel.event("iguana_boot", server=gid, pd=pd.ref)

    @property
    def global_id(self) -> int:
        assert self.tcb is not None
        return self.tcb.global_id

    # --- object bookkeeping ---------------------------------------------------------
    def _passwd(self) -> int:
        """A fresh password from the OS CSPRNG: what a PD knows of its own caps
        says nothing of anyone else's. Never 0 (INVALID_CAP), never repeated."""
        while True:
            pw = secrets.randbits(PASSWD_BITS)
            if pw and pw not in self._issued:
                self._issued.add(pw)
                return pw

    def _ref(self) -> int:
        ref = self._next_ref
        self._next_ref += 0x10
        return ref

    def _new_clist(self, owner: Pd | None) -> Clist:
        c = Clist(self._ref(), self._passwd(), owner)
        self.objects[c.ref] = c
        if owner is not None:
            owner.clists.append(c)
        return c

    def _new_pd(self, parent: Pd | None, space: Space, eager: bool = False) -> Pd:
        pd = Pd(self._ref(), self._passwd(), parent, space, eager=eager)
        self.objects[pd.ref] = pd
        default = self._new_clist(pd)
        default.caps.append((pd.ref, pd.passwd))
        default.caps.append((default.ref, default.passwd))
        if parent is not None:
            parent.children.append(pd)
            self._grant(parent, pd)
        return pd

    def _grant(self, pd: Pd, obj: Any) -> None:
        """The master capability of obj into pd's default clist."""
        if pd.clists:
            pd.clists[0].caps.append((obj.ref, obj.passwd))

    def _add_thread_obj(self, pd: Pd, tcb: Tcb, prio: int, started: bool = False) -> IgThread:
        th = IgThread(self._ref(), self._passwd(), pd, tcb, prio, started)
        self.objects[th.ref] = th
        pd.threads.append(th)
        return th

    def pd_of(self, t: Tcb) -> Pd | None:
        for obj in self.objects.values():
            if isinstance(obj, Pd) and obj.space is t.space and not obj.deleted:
                return obj
        return None

    def thread_of(self, t: Tcb) -> IgThread | None:
        for obj in self.objects.values():
            if isinstance(obj, IgThread) and obj.tcb is t:
                return obj
        return None

    def _thread_by_l4(self, raw: int) -> IgThread | None:
        for obj in self.objects.values():
            if isinstance(obj, IgThread) and obj.tcb.global_id == raw \
                    and obj.tcb.state is not State.DEAD:
                return obj
        return None

    def _has_cap(self, pd: Pd, obj: Any) -> bool:
        return any((obj.ref, obj.passwd) in c.caps for c in pd.clists)

    def _obj(self, caller: Pd, ref: int, kind: type, need_cap: bool = True) -> Any:
        obj = self.objects.get(ref)
        if obj is None or not isinstance(obj, kind):
            raise _Fail(IguanaError.ENOENT)
        if need_cap and not self._has_cap(caller, obj):
            raise _Fail(IguanaError.EPERM)
        return obj

    # --- IPC -------------------------------------------------------------------------
    def handle(self, kernel: Kernel, sender: Tcb, words: list[int]) -> list[int] | None:
        bits = kernel.bits
        tag = MsgTag.from_raw(words[0])
        if tag.label & ~0xF == kernel_label(KernelLabel.PAGEFAULT, bits) and tag.u >= 2:
            return self._page_fault(kernel, sender, words[1], tag.label & 7)
        args = list(words[1:1 + tag.u]) + [0] * 8
        iid, method = tag.label >> 6, tag.label & 0x3F
        caller = self.pd_of(sender)
        fn = METHODS.get((iid, method))
        if caller is None:
            return self._reply(bits, IguanaError.EPERM)
        if fn is None:
            kernel.console.write(f"l4gdb: iguana: unknown method {iid}/{method} from "
                                 f"{kernel.name_of(sender)}\n")
            return self._reply(bits, IguanaError.ENOSYS)
        try:
            outs = fn(self, caller, sender, *args[:fn.__code__.co_argcount - 3])
        except _Fail as f:
            kernel.event("iguana_call", thread=sender.global_id, iid=iid, method=method,
                         error=f.err.name)
            return self._reply(bits, f.err)
        kernel.event("iguana_call", thread=sender.global_id, iid=iid, method=method, error="OK")
        return self._reply(bits, IguanaError.OK, *outs)

    @staticmethod
    def _reply(bits: int, err: IguanaError, *outs: int) -> list[int]:
        mask = (1 << bits) - 1
        return [MsgTag(u=len(outs), label=int(err)).raw(bits), *(o & mask for o in outs)]

    # --- paging ------------------------------------------------------------------------
    def rights_of(self, pd: Pd, ms: Memsection) -> int:
        """The rights pd has on ms: all for its owner, the attached ones otherwise."""
        return RWX if ms.owner is pd else pd.attached.get(ms, 0)

    def _page_fault(self, k: Kernel, sender: Tcb, addr: int, access: int) -> list[int] | None:
        page = addr & ~(PAGE - 1)
        pd = self.pd_of(sender)
        ms = self.memsection_at(addr)
        if pd is not None and ms is not None:
            rights = self.rights_of(pd, ms)
            frame = ms.frames[(page - ms.base) >> PAGE_LOG2]
            if rights and not access & ~rights and frame is not None:
                return self._resolve(k, pd, page, frame, rights)
            why = ("not attached to its PD" if not rights else "not backed"
                   if frame is None and not access & ~rights
                   else f"attached {_rwx(rights)}")
            return self._refuse(k, sender, pd, addr, access, ms, why)
        init = self.initial
        if pd is not None and init is not None and ms is None:
            # The program image: the initial PD's pages, shared with every PD.
            node = init.space.pages.get(page)
            if node is not None:
                return self._map_reply(k.bits, page, node.paddr)
            s0 = k.sigma0
            if s0 is not None and s0.host is not None and k.root is not None:
                reply = s0.host._page_fault(k, k.root, addr)    # type: ignore[attr-defined]
                if Fpage.from_raw(reply[2]).size_log2:
                    return self._map_reply(k.bits, page, page)
        k.halt(sender, f"iguana: page fault at {addr:#x} outside its memsections")
        return None

    def _resolve(self, k: Kernel, pd: Pd, page: int, frame: int, rights: int) -> list[int]:
        if self._in_ram(frame):
            return self._map_reply(k.bits, page, frame, rights)
        # Device memory is not in the physical space's RAM: map it from the
        # device space here and let the thread retry (an empty reply).
        self._map_into(pd.space, page, frame, rights)
        return [MsgTag(u=0).raw(k.bits)]

    def _refuse(self, k: Kernel, t: Tcb, pd: Pd, addr: int, access: int, ms: Memsection,
                why: str) -> None:
        """A fault the memsection does not allow: the pager (Iguana) stops the thread,
        as OKL4's Iguana does, and says why."""
        th = self.thread_of(t)
        if th is not None:
            th.fault = (addr, access)
        k.console.write(f"l4gdb: iguana: {_access_name(access)} fault at {addr:#x} by "
                        f"{k.name_of(t)} of PD {pd.ref:#x} in memsection {ms.ref:#x} "
                        f"({why}): thread stopped\n")
        k.event("iguana_fault", thread=t.global_id, pd=pd.ref, memsection=ms.ref, addr=addr,
                access=access, reason=why)
        t.halted = True
        return None

    @staticmethod
    def _map_reply(bits: int, va: int, pa: int, rights: int = RWX) -> list[int]:
        item = (va & ~0x3FF) | (MAP_ITEM_TYPE << 1)
        return [MsgTag(u=0, t=2).raw(bits), item, Fpage(pa, PAGE_LOG2, rights).raw(bits)]

    def _in_ram(self, pa: int) -> bool:
        k = self.kernel
        assert k is not None
        return k.mdb.ram[0] <= pa < k.mdb.ram[1]

    def _device_space(self, pa: int) -> Space:
        """The space holding device pages as mapping roots (RAM roots live in the
        server's physical space)."""
        k = self.kernel
        assert k is not None
        if self._devices is None or self._devices not in k.spaces:
            self._devices = k.new_space(privileged=True, host=True)
        if pa not in self._devices.pages:
            self._devices.pages[pa] = Node(self._devices, pa, pa, RWX)
        return self._devices

    def root_node(self, pa: int) -> Node | None:
        """The mapping root of frame pa, everything mapped from it hangs below."""
        k = self.kernel
        assert k is not None and self.tcb is not None
        if self._in_ram(pa):
            return self.tcb.space.pages.get(pa)
        return self._devices.pages.get(pa) if self._devices is not None else None

    def _map_into(self, space: Space, va: int, pa: int, rights: int) -> int:
        k = self.kernel
        assert k is not None and self.tcb is not None
        src = self.tcb.space if self._in_ram(pa) else self._device_space(pa)
        return k.mdb.map_fpage(src, Fpage(pa, PAGE_LOG2, rights), va, space,
                               Fpage(va, PAGE_LOG2, rights), grant=False)

    def _map_now(self, ms: Memsection, space: Space, rights: int = RWX) -> None:
        for i, pa in ms.frames.backed():
            self._map_into(space, ms.base + (i << PAGE_LOG2), pa, rights)

    def _unmap(self, ms: Memsection, space: Space, lo: int = 0, hi: int | None = None) -> None:
        """Remove space's mappings of pages [lo, hi) of ms; the walk is bounded by
        what space has mapped, not by the memsection's (guest-chosen) size."""
        k = self.kernel
        assert k is not None
        vas = ms.pages()[lo:hi]
        if len(vas) > len(space.pages):
            vas = [va for va in space.pages if va in vas]     # range membership: O(1)
        for va in vas:
            node = space.pages.get(va)
            if node is not None:
                k.mdb.remove_subtree(node)

    def spaces_of(self, ms: Memsection) -> list[Space]:
        """Every PD space ms can be mapped in: its owner's and those it is attached to."""
        return [ms.owner.space] + [p.space for p in self._pds() if ms in p.attached]

    def sync(self, ms: Memsection, lo: int = 0, hi: int | None = None) -> None:
        """New backing of pages [lo, hi): drop old mappings; eager PDs map at once."""
        for space in self.spaces_of(ms):
            self._unmap(ms, space, lo, hi)
        for pd in [ms.owner] + [p for p in self._pds() if ms in p.attached]:
            if pd.eager:
                self._map_now(ms, pd.space, self.rights_of(pd, ms))

    def _pds(self) -> list[Pd]:
        return [o for o in self.objects.values() if isinstance(o, Pd)]

    def memsection_at(self, addr: int) -> Memsection | None:
        for ms in self.memsections:
            if ms.base <= addr < ms.base + ms.size:
                return ms
        return None

    # --- creation and deletion (used by the methods) ----------------------------------------
    def create_memsection(self, owner: Pd, size: int, base: int = 0, fixed: bool = False,
                          user: bool = False, physpool: Any = None,
                          virtpool: Any = None) -> Memsection:
        k = self.kernel
        assert k is not None
        if k.paging is None:
            raise _Fail(IguanaError.ENOSYS)           # memsections need page tables
        size = (max(size, 1) + PAGE - 1) & ~(PAGE - 1)
        if fixed:
            if base & (PAGE - 1) or base < PAGE or base + size > 1 << k.bits \
                    or k.mdb.in_kernel_area(base, size) or owner.space.reserved(base):
                raise _Fail(IguanaError.EINVAL)
            if any(m.base < base + size and base < m.base + m.size for m in self.memsections):
                raise _Fail(IguanaError.EINVAL)
            if any(base <= va < base + size for va in owner.space.pages) and not owner.eager:
                raise _Fail(IguanaError.EINVAL)
        else:
            got = (virtpool or self.virtpool).alloc(size, self.memsections)
            if got is None:
                raise _Fail(IguanaError.ENOMEM)
            base = got
        pool = physpool or self.physpool
        frames = Frames(size >> PAGE_LOG2)
        if not user:
            # More than the pool has free fails before any frame is looked for.
            got_frames = pool.alloc_frames(size >> PAGE_LOG2)
            if got_frames is None:
                raise _Fail(IguanaError.ENOMEM)
            frames.set_run(0, got_frames)
        ms = Memsection(base, self._passwd(), base, size, owner, frames, fixed=fixed,
                        kind="user" if user else "normal", physpool=None if user else pool)
        self.objects[ms.ref] = ms
        self.memsections.append(ms)
        owner.memsections.append(ms)
        if owner.eager:
            self._map_now(ms, owner.space)
        k.event("iguana_memsection", pd=owner.ref, base=base, size=size)
        return ms

    def delete_memsection(self, ms: Memsection) -> None:
        k = self.kernel
        assert k is not None
        for space in self.spaces_of(ms):
            self._unmap(ms, space)
        if ms.kind == "normal":
            # Its frames go back: nothing mapped from them (an EAS too) survives.
            for pa in ms.frames.paddrs():
                node = self.root_node(pa)
                if node is not None:
                    for child in list(node.children):
                        k.mdb.remove_subtree(child)
            ms.physpool.free_frames(ms.frames.paddrs())
        ms.frames = Frames()
        for pd in self._pds():
            pd.attached.pop(ms, None)
        self.memsections.remove(ms)
        ms.owner.memsections.remove(ms)
        self._forget(ms)

    def _forget(self, obj: Any) -> None:
        self.objects.pop(obj.ref, None)
        for c in self.objects.values():
            if isinstance(c, Clist):
                c.caps = [cap for cap in c.caps if cap[0] != obj.ref]

    def new_l4_thread(self, space: Space, pager: int, prio: int, utcb: int | None = None,
                      scheduler: int | None = None) -> Tcb:
        """An L4 thread in space, activated (its UTCB knows its pager) but not started."""
        k = self.kernel
        assert k is not None and self.tcb is not None
        if space not in k.spaces:                  # its last thread died: set it up again
            k.spaces.append(space)
            space.root = 0
        if not k.setup_space(space):
            raise _Fail(IguanaError.ENOMEM)
        used = {t.utcb_addr for t in space.threads}
        area = space.utcb_area
        if utcb is None:
            slots = [area.base + i * k.utcb_size
                     for i in range(area.size // k.utcb_size - 1, 0, -1)]
            utcb = next((s for s in slots if s not in used), None)
        elif not space.utcb_location_ok(utcb, k.utcb_size) or utcb in used:
            raise _Fail(IguanaError.EINVAL)
        no = next((n for n in range(FIRST_THREAD_NO, 1 << (k.bits - 14 if k.bits == 32 else 32))
                   if n not in k.threads), None)
        if utcb is None or no is None or not k.back_utcb(space, utcb):
            raise _Fail(IguanaError.ENOMEM)
        gid = ThreadId(no, 1).raw(k.bits)
        t = k.new_thread(gid, space, scheduler=scheduler or self.tcb.global_id)
        t.utcb_addr = utcb
        t.priority = max(0, min(255, prio))
        k.init_utcb(t, pager)
        t.state = State.INACTIVE
        return t

    def create_thread(self, pd: Pd, prio: int) -> IgThread:
        assert self.tcb is not None
        t = self.new_l4_thread(pd.space, self.tcb.global_id, prio)   # Iguana is its pager
        return self._add_thread_obj(pd, t, t.priority)

    def start_thread(self, th: IgThread, ip: int, sp: int) -> None:
        k = self.kernel
        assert k is not None
        t = th.tcb
        if t.state is State.DEAD:
            raise _Fail(IguanaError.ENOENT)
        t.regs[k.arch.ip_reg] = ip & k.arch.word_mask
        t.regs[k.arch.sp_reg] = sp & k.arch.word_mask
        t.op = None
        t.state = State.RUNNING
        t.halted = False
        th.started = True
        k.wake(t)

    def delete_thread(self, th: IgThread) -> None:
        k = self.kernel
        assert k is not None
        if th.tcb is k.root:
            raise _Fail(IguanaError.EINVAL)
        if th.tcb.state is not State.DEAD:
            k.delete_thread(th.tcb)
        if th in th.pd.threads:
            th.pd.threads.remove(th)
        if th.eas is not None and th in th.eas.threads:
            th.eas.threads.remove(th)
        self._forget(th)

    def delete_session(self, s: Session) -> None:
        if s in s.owner.sessions:
            s.owner.sessions.remove(s)
        server_pd = s.server.pd if s.server is not None else None
        if server_pd is not None and s.clist in server_pd.clists:
            server_pd.clists.remove(s.clist)
        self._forget(s.clist)
        self._forget(s)

    def delete_pd(self, pd: Pd) -> None:
        k = self.kernel
        assert k is not None
        if pd is self.initial or pd.host:
            raise _Fail(IguanaError.EINVAL)
        for child in list(pd.children):
            self.delete_pd(child)
        for s in [o for o in self.objects.values() if isinstance(o, Session)
                  and (o.owner is pd or (o.server is not None and o.server.pd is pd))]:
            self.delete_session(s)
        for th in list(pd.threads):
            self.delete_thread(th)
        for eas in list(pd.eases):
            eas.delete()
        for ms in list(pd.memsections):
            self.delete_memsection(ms)
        pd.attached.clear()
        for pm in [o for o in self.objects.values() if getattr(o, "owner", None) is pd
                   and type(o).__name__ == "Physmem"]:
            pm.delete()
        for c in list(pd.clists):
            self._forget(c)
        pd.clists = []
        space = pd.space
        if not space.threads and space in k.spaces:
            k.spaces.remove(space)
            k.mdb.delete_space(space)
            if k.paging is not None and space.root:
                k.paging.free_root(space.root)
                space.root = 0
        if pd.parent is not None and pd in pd.parent.children:
            pd.parent.children.remove(pd)
        pd.deleted = True
        self._forget(pd)
        k.event("iguana_pd_delete", pd=pd.ref)

    def new_pd_space(self) -> Space:
        k = self.kernel
        assert k is not None and self.initial is not None
        space = k.new_space()
        space.kip_area = self.initial.space.kip_area
        space.utcb_area = self.initial.space.utcb_area
        if not k.setup_space(space):
            k.spaces.remove(space)
            raise _Fail(IguanaError.ENOMEM)
        return space

    # --- the Python API of host servers (Wombat) ----------------------------------------------
    def register_host_server(self, name: str, tcb: Tcb) -> Pd:
        """A PD for a host-side server thread (its space is the thread's host space), so
        it can own EASes and show in the PD list. It holds the master caps of what it
        creates, like any PD; it cannot be deleted."""
        assert self.initial is not None
        existing = self.pd_of(tcb)
        if existing is not None and existing.host:
            return existing
        pd = self._new_pd(None, tcb.space)
        pd.name, pd.host = name, True
        self._add_thread_obj(pd, tcb, tcb.priority, started=True)
        assert self.kernel is not None
        self.kernel.event("iguana_host_pd", pd=pd.ref, server=name)
        return pd

    def create_eas(self, owner: Pd, kip_area: Fpage, utcb_area: Fpage) -> Any:
        """An external address space owned by ``owner`` (see :mod:`l4gdb.iguana.eas`):
        a new L4 space with the given KIP and UTCB areas. Raises ``errors.Fail`` (its ``err``)."""
        from .eas import create_eas

        return create_eas(self, owner, kip_area, utcb_area)

    # --- introspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything the server knows as plain data (the model of the ``iguana``
        commands): PDs, memsections, threads, clists, sessions, EASes, pools, hardware."""
        from .introspect import snapshot

        return snapshot(self)


# The IPC methods, by (interface id, method number): ``methods.py`` (PD, thread,
# memsection, session, clist) and the modules of the other interfaces (eas,
# hardware, pools, attach) fill it in; docs/iguana.md lists them.
METHODS: dict[tuple[int, int], Any] = {}


def passwd_words(bits: int) -> int:
    """How many words a password takes in IPC on a bits-wide arch."""
    return max(1, PASSWD_BITS // bits)


def split_passwd(pw: int, bits: int) -> tuple[int, ...]:
    """The IPC words of a password, low word first."""
    mask = (1 << bits) - 1
    return tuple((pw >> (bits * i)) & mask for i in range(passwd_words(bits)))


def join_passwd(words: list[int] | tuple[int, ...], bits: int) -> int:
    """The password sent as words (low word first); extra words are ignored."""
    mask = (1 << bits) - 1
    return sum((w & mask) << (bits * i) for i, w in enumerate(words[:passwd_words(bits)]))


def _rwx(bits: int) -> str:
    return "".join(c if bits & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))


def _access_name(access: int) -> str:
    return "write" if access & W else "execute" if access & 1 and not access & 4 else "read"


def install(kernel: Kernel) -> IguanaServer:
    """Start an Iguana server in a booted kernel (thread ``UserBase + 1``, version 1)."""
    server = IguanaServer()
    server.attach(kernel)
    return server
