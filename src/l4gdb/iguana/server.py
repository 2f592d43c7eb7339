"""The Iguana server: one host-side L4 thread (``HostServer``) serving the
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

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from l4gdb.kernel.kip import USER_BASE
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

if TYPE_CHECKING:
    from l4gdb.kernel.kernel import Kernel
    from l4gdb.kernel.space import Space

IGUANA_THREAD_NO = USER_BASE + 1        # between sigma0 (UserBase) and the root task (+2)
FIRST_THREAD_NO = USER_BASE + 160       # threads Iguana creates
IID_EX, IID_PD, IID_EAS, IID_THREAD = 21, 22, 23, 24
IID_HARDWARE, IID_MEMSECTION, IID_SESSION = 25, 26, 27
IID_CLIST = 33
PAGE_LOG2 = 12
PAGE = 1 << PAGE_LOG2
VIRT_POOL = (0x1000_0000, 0x3000_0000)   # where memsections get their addresses
OBJREF_BASE = 0xA000_0000                # opaque references of non-memsection objects
RWX = 7


class IguanaError(enum.IntEnum):
    """Reply labels (magpie: the label is the exception code)."""

    OK = 0
    EPERM = 1          # no capability for the object in the caller's clists
    ENOENT = 2         # no such object (bad or deleted reference)
    ENOMEM = 3         # no memory, virtual space or thread numbers left
    EINVAL = 4         # a bad argument (overlap, alignment, deleting the initial PD ...)
    ENOSYS = 5         # a method this server does not implement (yet)


class _Fail(Exception):
    def __init__(self, err: IguanaError) -> None:
        super().__init__(err.name)
        self.err = err


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
    frames: list[int] = field(default_factory=list)
    server: int = NILTHREAD  # L4 id of the registered server thread
    fixed: bool = False


@dataclass(eq=False)
class IgThread:
    ref: int
    passwd: int
    pd: Pd
    tcb: Tcb
    priority: int
    started: bool = False


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
    deleted: bool = False


class IguanaServer:
    """Install with :func:`install`; ``handle`` is the HostServer entry."""

    def __init__(self) -> None:
        self.kernel: Kernel | None = None
        self.tcb: Tcb | None = None
        self.initial: Pd | None = None
        self.objects: dict[int, Any] = {}
        self.memsections: list[Memsection] = []
        self._next_ref = OBJREF_BASE
        self._seed = 0x2545F491

    # --- setup --------------------------------------------------------------------
    def attach(self, kernel: Kernel) -> None:
        """Create the server thread and the initial PD (the root task's space)."""
        self.kernel = kernel
        space = kernel.new_space(privileged=True, host=True)
        space.physical = True            # maps frames it owns, as sigma0 does
        gid = ThreadId(IGUANA_THREAD_NO, 1).raw(kernel.bits)
        t = kernel.new_thread(gid, space, name="iguana")
        t.host = self
        t.activated = True
        t.state = State.WAITING
        t.priority = 255
        self.tcb = t
        root = kernel.root
        assert root is not None, "install Iguana after the kernel booted"
        pd = self._new_pd(None, root.space, eager=True)
        self.initial = pd
        self._add_thread_obj(pd, root, root.priority, started=True)
        kernel.event("iguana_boot", server=gid, pd=pd.ref)

    @property
    def global_id(self) -> int:
        assert self.tcb is not None
        return self.tcb.global_id

    # --- object bookkeeping ---------------------------------------------------------
    def _passwd(self) -> int:
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFF_FFFF
        return self._seed | 1

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
        fn = _METHODS.get((iid, method))
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
    def _page_fault(self, k: Kernel, sender: Tcb, addr: int, access: int) -> list[int] | None:
        page = addr & ~(PAGE - 1)
        pd = self.pd_of(sender)
        ms = self.memsection_at(addr)
        if pd is not None and ms is not None and ms.owner is pd:
            pa = ms.frames[(page - ms.base) >> PAGE_LOG2]
            return self._map_reply(k.bits, page, pa)
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

    @staticmethod
    def _map_reply(bits: int, va: int, pa: int) -> list[int]:
        item = (va & ~0x3FF) | (MAP_ITEM_TYPE << 1)
        return [MsgTag(u=0, t=2).raw(bits), item, Fpage(pa, PAGE_LOG2, RWX).raw(bits)]

    def _map_now(self, ms: Memsection, space: Space) -> None:
        k = self.kernel
        assert k is not None and self.tcb is not None
        for i, pa in enumerate(ms.frames):
            va = ms.base + i * PAGE
            k.mdb.map_fpage(self.tcb.space, Fpage(pa, PAGE_LOG2, RWX), va, space,
                            Fpage(va, PAGE_LOG2, RWX), grant=False)

    def _unmap(self, ms: Memsection, space: Space) -> None:
        k = self.kernel
        assert k is not None
        for i in range(ms.size >> PAGE_LOG2):
            node = space.pages.get(ms.base + i * PAGE)
            if node is not None:
                k.mdb.remove_subtree(node)

    def memsection_at(self, addr: int) -> Memsection | None:
        for ms in self.memsections:
            if ms.base <= addr < ms.base + ms.size:
                return ms
        return None

    def _alloc_virtual(self, size: int) -> int | None:
        base = VIRT_POOL[0]
        for ms in sorted(self.memsections, key=lambda m: m.base):
            if ms.base >= base + size:
                break
            base = max(base, ms.base + ms.size)
        return base if base + size <= VIRT_POOL[1] else None

    def _alloc_frames(self, n: int) -> list[int] | None:
        k = self.kernel
        assert k is not None and self.tcb is not None
        s0 = k.sigma0.host if k.sigma0 is not None else None
        if s0 is None:
            return None
        frames: list[int] = []
        for _ in range(n):
            pa = s0._find_free(PAGE_LOG2)                     # type: ignore[attr-defined]
            if pa is None:
                self._free_frames(frames)
                return None
            s0.owner[pa] = self.tcb.space.ident               # type: ignore[attr-defined]
            frames.append(pa)
        zero = bytes(PAGE)
        for pa in frames:                                     # memsections start zeroed
            k.write_memory(k.paging.kernel_address(pa) if k.paging else pa, zero)
        return frames

    def _free_frames(self, frames: list[int]) -> None:
        k = self.kernel
        s0 = k.sigma0.host if k is not None and k.sigma0 is not None else None
        for pa in frames:
            s0.owner.pop(pa, None)                            # type: ignore[union-attr]

    # --- creation and deletion (used by the methods) ----------------------------------------
    def create_memsection(self, owner: Pd, size: int, base: int = 0,
                          fixed: bool = False) -> Memsection:
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
            got = self._alloc_virtual(size)
            if got is None:
                raise _Fail(IguanaError.ENOMEM)
            base = got
        frames = self._alloc_frames(size >> PAGE_LOG2)
        if frames is None:
            raise _Fail(IguanaError.ENOMEM)
        ms = Memsection(base, self._passwd(), base, size, owner, frames, fixed=fixed)
        self.objects[ms.ref] = ms
        self.memsections.append(ms)
        owner.memsections.append(ms)
        if owner.eager:
            self._map_now(ms, owner.space)
        k.event("iguana_memsection", pd=owner.ref, base=base, size=size)
        return ms

    def delete_memsection(self, ms: Memsection) -> None:
        self._unmap(ms, ms.owner.space)
        self._free_frames(ms.frames)
        ms.frames = []
        self.memsections.remove(ms)
        ms.owner.memsections.remove(ms)
        self._forget(ms)

    def _forget(self, obj: Any) -> None:
        self.objects.pop(obj.ref, None)
        for c in self.objects.values():
            if isinstance(c, Clist):
                c.caps = [cap for cap in c.caps if cap[0] != obj.ref]

    def create_thread(self, pd: Pd, prio: int) -> IgThread:
        k = self.kernel
        assert k is not None and self.tcb is not None
        space = pd.space
        if space not in k.spaces:                  # its last thread died: set it up again
            k.spaces.append(space)
            space.root = 0
        if not k.setup_space(space):
            raise _Fail(IguanaError.ENOMEM)
        used = {t.utcb_addr for t in space.threads}
        area = space.utcb_area
        slots = [area.base + i * k.utcb_size for i in range(area.size // k.utcb_size - 1, 0, -1)]
        utcb = next((s for s in slots if s not in used), None)
        no = next((n for n in range(FIRST_THREAD_NO, 1 << (k.bits - 14 if k.bits == 32 else 32))
                   if n not in k.threads), None)
        if utcb is None or no is None or not k.back_utcb(space, utcb):
            raise _Fail(IguanaError.ENOMEM)
        gid = ThreadId(no, 1).raw(k.bits)
        t = k.new_thread(gid, space, scheduler=self.tcb.global_id)
        t.utcb_addr = utcb
        t.priority = max(0, min(255, prio))
        k.init_utcb(t, self.tcb.global_id)       # Iguana is its pager
        t.state = State.INACTIVE
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
        if pd is self.initial:
            raise _Fail(IguanaError.EINVAL)
        for child in list(pd.children):
            self.delete_pd(child)
        for s in [o for o in self.objects.values() if isinstance(o, Session)
                  and (o.owner is pd or (o.server is not None and o.server.pd is pd))]:
            self.delete_session(s)
        for th in list(pd.threads):
            self.delete_thread(th)
        for ms in list(pd.memsections):
            self.delete_memsection(ms)
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

    # --- introspection -----------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """PDs, memsections, threads, clists (with caps) and sessions as plain data."""
        objs = list(self.objects.values())
        return {
            "server": self.global_id,
            "initial_pd": self.initial.ref if self.initial else 0,
            "pds": [{"ref": p.ref, "parent": p.parent.ref if p.parent else 0,
                     "space": p.space.ident,
                     "clists": [c.ref for c in p.clists],
                     "children": [c.ref for c in p.children],
                     "memsections": [m.ref for m in p.memsections],
                     "threads": [t.ref for t in p.threads]}
                    for p in objs if isinstance(p, Pd)],
            "memsections": [{"ref": m.ref, "base": m.base, "size": m.size, "pd": m.owner.ref,
                             "server": m.server, "fixed": m.fixed,
                             "frames": list(m.frames)} for m in self.memsections],
            "threads": [{"ref": t.ref, "pd": t.pd.ref, "l4id": t.tcb.global_id,
                         "priority": t.priority, "started": t.started,
                         "state": t.tcb.state.value}
                        for t in objs if isinstance(t, IgThread)],
            "clists": [{"ref": c.ref, "pd": c.owner.ref if c.owner else 0,
                        "caps": [{"ref": r, "passwd": pw} for r, pw in c.caps]}
                       for c in objs if isinstance(c, Clist)],
            "sessions": [{"ref": s.ref, "pd": s.owner.ref,
                          "client": s.client.tcb.global_id if s.client else 0,
                          "server": s.server.tcb.global_id if s.server else 0,
                          "clist": s.clist.ref} for s in objs if isinstance(s, Session)],
        }


# --- the methods: (self, caller PD, sender TCB, MR1, MR2, ...) -> out-parameters -----------

def _pd_mypd(s: IguanaServer, caller: Pd, t: Tcb) -> tuple[int, ...]:
    return (caller.ref,)


def _pd_create_memsection(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int, size: int,
                          base: int, flags: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    ms = s.create_memsection(pd, size, base, fixed=bool(flags & 1))
    s._grant(caller, ms)
    return ms.ref, ms.base


def _pd_create_pd(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int) -> tuple[int, ...]:
    parent = s._obj(caller, pd_ref, Pd)
    pd = s._new_pd(parent, s.new_pd_space())
    if parent is not caller:
        s._grant(caller, pd)
    return (pd.ref,)


def _pd_create_thread(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int,
                      prio: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    th = s.create_thread(pd, prio)
    s._grant(caller, th)
    if pd is not caller:
        s._grant(pd, th)
    return th.ref, th.tcb.global_id


def _pd_create_session(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int, client: int,
                       server: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    cl = s._thread_by_l4(client)
    sv = s._thread_by_l4(server)
    if cl is None or sv is None:
        raise _Fail(IguanaError.ENOENT)
    clist = s._new_clist(sv.pd)           # the server sees what the client puts in
    sess = Session(s._ref(), s._passwd(), pd, cl, sv, clist)
    s.objects[sess.ref] = sess
    pd.sessions.append(sess)
    s._grant(caller, sess)
    s._grant(caller, clist)
    return sess.ref, clist.ref


def _pd_create_clist(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    c = s._new_clist(pd)
    s._grant(caller, c)
    return (c.ref,)


def _pd_add_clist(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int,
                  clist_ref: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    c = s._obj(caller, clist_ref, Clist)
    if c not in pd.clists:
        pd.clists.append(c)
    return ()


def _pd_release_clist(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int,
                      clist_ref: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    c = s._obj(caller, clist_ref, Clist, need_cap=False)
    if c not in pd.clists or (pd.clists and c is pd.clists[0]):
        raise _Fail(IguanaError.EINVAL)
    pd.clists.remove(c)
    return ()


def _pd_delete(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int) -> tuple[int, ...]:
    s.delete_pd(s._obj(caller, pd_ref, Pd))
    return ()


def _pd_l4id(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    return (pd.space.ident,)


def _pd_default_clist(s: IguanaServer, caller: Pd, t: Tcb) -> tuple[int, ...]:
    return (caller.clists[0].ref if caller.clists else 0,)


def _thread_id(s: IguanaServer, caller: Pd, t: Tcb, l4id: int) -> tuple[int, ...]:
    th = s._thread_by_l4(l4id)
    if th is None:
        raise _Fail(IguanaError.ENOENT)
    return (th.ref,)


def _thread_myself(s: IguanaServer, caller: Pd, t: Tcb) -> tuple[int, ...]:
    th = s.thread_of(t)
    if th is None:
        raise _Fail(IguanaError.ENOENT)
    return (th.ref,)


def _thread_l4id(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    th = s._obj(caller, ref, IgThread, need_cap=False)
    return (th.tcb.global_id,)


def _thread_start(s: IguanaServer, caller: Pd, t: Tcb, ref: int, ip: int,
                  sp: int) -> tuple[int, ...]:
    s.start_thread(s._obj(caller, ref, IgThread), ip, sp)
    return ()


def _thread_delete(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    th = s._obj(caller, ref, IgThread)
    if th.tcb is t:
        raise _Fail(IguanaError.EINVAL)
    s.delete_thread(th)
    return ()


def _ms_register_server(s: IguanaServer, caller: Pd, t: Tcb, ref: int,
                        server: int) -> tuple[int, ...]:
    ms = s._obj(caller, ref, Memsection)
    if s._thread_by_l4(server) is None:
        raise _Fail(IguanaError.ENOENT)
    ms.server = server
    return ()


def _ms_lookup(s: IguanaServer, caller: Pd, t: Tcb, addr: int) -> tuple[int, ...]:
    ms = s.memsection_at(addr)
    if ms is None:
        raise _Fail(IguanaError.ENOENT)
    return ms.ref, ms.server


def _ms_info(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    ms = s._obj(caller, ref, Memsection, need_cap=False)
    return ms.base, ms.size


def _ms_delete(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    s.delete_memsection(s._obj(caller, ref, Memsection))
    return ()


def _session_delete(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    s.delete_session(s._obj(caller, ref, Session))
    return ()


def _clist_delete(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    c = s._obj(caller, ref, Clist)
    for pd in [o for o in s.objects.values() if isinstance(o, Pd)]:
        if c in pd.clists:
            if pd.clists[0] is c:
                raise _Fail(IguanaError.EINVAL)
            pd.clists.remove(c)
    s._forget(c)
    return ()


def _clist_insert(s: IguanaServer, caller: Pd, t: Tcb, ref: int, obj: int,
                  passwd: int) -> tuple[int, ...]:
    c = s._obj(caller, ref, Clist)
    if obj not in s.objects:
        raise _Fail(IguanaError.ENOENT)
    c.caps.append((obj, passwd))
    return ()


def _clist_lookup(s: IguanaServer, caller: Pd, t: Tcb, ref: int, obj: int) -> tuple[int, ...]:
    c = s._obj(caller, ref, Clist)
    for r, pw in c.caps:
        if r == obj:
            return r, pw
    raise _Fail(IguanaError.ENOENT)


def _clist_remove(s: IguanaServer, caller: Pd, t: Tcb, ref: int, obj: int) -> tuple[int, ...]:
    c = s._obj(caller, ref, Clist)
    for cap in c.caps:
        if cap[0] == obj:
            c.caps.remove(cap)
            return ()
    raise _Fail(IguanaError.ENOENT)


def _clist_find(s: IguanaServer, caller: Pd, t: Tcb, obj: int) -> tuple[int, ...]:
    """l4gdb addition behind iguana_get_cap: a capability for obj in the caller's clists."""
    for c in caller.clists:
        for r, pw in c.caps:
            if r == obj:
                return r, pw
    raise _Fail(IguanaError.ENOENT)


# Method numbers follow the order of iguana.idl4 (OKL4 3.0); docs/iguana.md lists them.
_METHODS = {
    (IID_PD, 0): _pd_mypd,
    (IID_PD, 1): _pd_create_memsection,
    (IID_PD, 2): _pd_create_pd,
    (IID_PD, 3): _pd_create_thread,
    (IID_PD, 5): _pd_create_session,
    (IID_PD, 6): _pd_create_clist,
    (IID_PD, 9): _pd_add_clist,
    (IID_PD, 10): _pd_release_clist,
    (IID_PD, 11): _pd_delete,
    (IID_PD, 16): _pd_l4id,
    (IID_PD, 40): _pd_default_clist,
    (IID_THREAD, 0): _thread_id,
    (IID_THREAD, 1): _thread_l4id,
    (IID_THREAD, 2): _thread_start,
    (IID_THREAD, 3): _thread_delete,
    (IID_THREAD, 40): _thread_myself,
    (IID_MEMSECTION, 0): _ms_register_server,
    (IID_MEMSECTION, 1): _ms_lookup,
    (IID_MEMSECTION, 2): _ms_info,
    (IID_MEMSECTION, 3): _ms_delete,
    (IID_SESSION, 0): _session_delete,
    (IID_CLIST, 0): _clist_delete,
    (IID_CLIST, 1): _clist_insert,
    (IID_CLIST, 2): _clist_lookup,
    (IID_CLIST, 3): _clist_remove,
    (IID_CLIST, 40): _clist_find,
}


def install(kernel: Kernel) -> IguanaServer:
    """Start an Iguana server in a booted kernel (thread ``UserBase + 1``, version 1)."""
    server = IguanaServer()
    server.attach(kernel)
    return server
