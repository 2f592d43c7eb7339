"""The pools behind memory allocation (OKL4 3.0 names): a *virtpool* hands out
virtual ranges, a *physpool* physical frames; a *physmem* is a contiguous
block allocated from a physpool, which ``memsection_map`` places into a user
memsection (one created with ``MS_USER``, no backing of its own).

The default physpool is sigma0's free memory (frames owned by the Iguana
server from then on, zeroed when handed out); the default virtpool is
``VIRT_POOL``. Both are objects with master capabilities in the initial PD.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Fail, IguanaError
from .server import (
    IID_MEMSECTION,
    IID_PHYSMEM,
    IID_PHYSPOOL,
    METHODS,
    PAGE,
    PAGE_LOG2,
    VIRT_POOL,
    Memsection,
    Pd,
)

if TYPE_CHECKING:
    from l4gdb.kernel.thread import Tcb

    from .server import IguanaServer


@dataclass(eq=False)
class Virtpool:
    ref: int
    passwd: int
    base: int
    end: int

    def alloc(self, size: int, taken: list[Memsection]) -> int | None:
        """First fit in [base, end) around the memsections there."""
        base = self.base
        for ms in sorted(taken, key=lambda m: m.base):
            if ms.base + ms.size <= base:
                continue
            if ms.base >= base + size:
                break
            base = ms.base + ms.size
        return base if base + size <= self.end else None

    def describe(self) -> dict[str, Any]:
        return {"ref": self.ref, "base": self.base, "end": self.end}


@dataclass(eq=False)
class Physpool:
    """Frames from sigma0's free pool (the Iguana server becomes their owner)."""

    ref: int
    passwd: int
    server: IguanaServer

    def _sigma0(self) -> Any:
        k = self.server.kernel
        return k.sigma0.host if k is not None and k.sigma0 is not None else None

    def _take(self, pages: list[int]) -> None:
        k, s0 = self.server.kernel, self._sigma0()
        assert k is not None and self.server.tcb is not None
        for pa in pages:
            s0.owner[pa] = self.server.tcb.space.ident
        zero = bytes(PAGE)
        for pa in pages:                                  # handed out zeroed
            k.write_memory(k.paging.kernel_address(pa) if k.paging else pa, zero)

    def free_pages(self) -> int:
        """How many frames the pool has left (a bound on any request)."""
        s0 = self._sigma0()
        if s0 is None:
            return 0
        taken = sum(1 for pa in s0.owner if s0.free_low <= pa < s0.free_high)
        return max(0, (s0.free_high - s0.free_low) // PAGE - taken)

    def alloc_frames(self, n: int) -> list[int] | None:
        """n frames, not necessarily contiguous (a memsection's backing); None when
        the pool has fewer free. One walk over the pool: n (guest-given) never
        sizes anything before it is known to fit."""
        s0 = self._sigma0()
        if s0 is None or n > self.free_pages():
            return None
        frames: list[int] = []
        pa = (s0.free_low + PAGE - 1) & ~(PAGE - 1)
        while len(frames) < n and pa + PAGE <= s0.free_high:
            if pa not in s0.owner:
                frames.append(pa)
            pa += PAGE
        if len(frames) < n:
            return None
        self._take(frames)
        return frames

    def alloc_block(self, size: int, base: int | None = None) -> int:
        """A contiguous block (a physmem): anywhere (aligned to its size rounded up to
        a power of two) or at base. Raises Fail."""
        s0 = self._sigma0()
        if s0 is None:
            raise Fail(IguanaError.ENOMEM)
        if base is None:
            got = s0._find_free(max(PAGE_LOG2, (size - 1).bit_length()))
            if got is None:
                raise Fail(IguanaError.ENOMEM)
            base = got
        elif base & (PAGE - 1) or not (s0.free_low <= base and base + size <= s0.free_high):
            raise Fail(IguanaError.EINVAL)                # not in this pool
        pages = list(range(base, base + size, PAGE))
        if any(p in s0.owner for p in pages):
            raise Fail(IguanaError.EBUSY)                 # (part of) it is allocated
        self._take(pages)
        return base

    def free_frames(self, frames: list[int]) -> None:
        s0 = self._sigma0()
        for pa in frames:
            s0.owner.pop(pa, None)

    def describe(self) -> dict[str, Any]:
        s0 = self._sigma0()
        mine = self.server.tcb.space.ident if self.server.tcb is not None else None
        used = sum(1 for o in s0.owner.values() if o == mine) if s0 is not None else 0
        return {"ref": self.ref, "base": s0.free_low if s0 else 0,
                "end": s0.free_high if s0 else 0, "frames_in_use": used}


@dataclass(eq=False)
class Physmem:
    ref: int
    passwd: int
    pool: Physpool
    owner: Pd
    base: int
    size: int

    def delete(self) -> None:
        """Unmapped from every memsection holding it, then back to its pool."""
        s = self.pool.server
        frames = set(range(self.base, self.base + self.size, PAGE))
        for ms in list(s.memsections):
            idx = [i for i, pa in ms.frames.backed() if pa in frames]
            for i in idx:
                ms.frames[i] = None
            if idx:
                s.sync(ms, min(idx), max(idx) + 1)
        self.pool.free_frames(sorted(frames))
        s._forget(self)


def default_pools(s: IguanaServer) -> tuple[Physpool, Virtpool]:
    """The pools; Iguana takes sigma0's free memory over, as it takes all of it
    at boot in the real system: no other space gets any from sigma0 (not a
    page a deleted memsection left, nor one to hoard past Iguana)."""
    k = s.kernel
    if k is not None and k.sigma0 is not None and k.sigma0.host is not None \
            and s.tcb is not None:
        k.sigma0.host.take_free_memory(s.tcb.space.ident)
    return (Physpool(s._ref(), s._passwd(), s),
            Virtpool(s._ref(), s._passwd(), VIRT_POOL[0], VIRT_POOL[1]))


def _new_physmem(s: IguanaServer, caller: Pd, pool_ref: int, size: int,
                 base: int | None) -> tuple[int, ...]:
    pool = s._obj(caller, pool_ref, Physpool) if pool_ref else s.physpool
    if size == 0 or size & (PAGE - 1):
        raise Fail(IguanaError.EINVAL)
    at = pool.alloc_block(size, base)
    pm = Physmem(s._ref(), s._passwd(), pool, caller, at, size)
    s.objects[pm.ref] = pm
    s._grant(caller, pm)
    return (pm.ref,)


def _physpool_alloc(s: IguanaServer, caller: Pd, t: Tcb, pool: int,
                    size: int) -> tuple[int, ...]:
    return _new_physmem(s, caller, pool, size, None)


def _physpool_alloc_fixed(s: IguanaServer, caller: Pd, t: Tcb, pool: int, size: int,
                          base: int) -> tuple[int, ...]:
    return _new_physmem(s, caller, pool, size, base)


def _physpool_defaults(s: IguanaServer, caller: Pd, t: Tcb) -> tuple[int, ...]:
    return s.physpool.ref, s.virtpool.ref


def _physmem_delete(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    s._obj(caller, ref, Physmem).delete()
    return ()


def _physmem_info(s: IguanaServer, caller: Pd, t: Tcb, ref: int) -> tuple[int, ...]:
    pm = s._obj(caller, ref, Physmem)
    return pm.base, pm.size


def _ms_map(s: IguanaServer, caller: Pd, t: Tcb, ref: int, offset: int,
            pm_ref: int) -> tuple[int, ...]:
    """memsection_map: physmem pm at offset of a user memsection."""
    ms = s._obj(caller, ref, Memsection)
    pm = s._obj(caller, pm_ref, Physmem)
    if ms.kind != "user" or offset & (PAGE - 1) or offset + pm.size > ms.size:
        raise Fail(IguanaError.EINVAL)
    lo, hi = offset >> PAGE_LOG2, (offset + pm.size) >> PAGE_LOG2
    if ms.frames.any_backed(lo, hi):
        raise Fail(IguanaError.EBUSY)                 # already mapped there
    ms.frames.set_run(lo, range(pm.base, pm.base + pm.size, PAGE))
    s.sync(ms, lo, hi)
    return ()


def _ms_unmap(s: IguanaServer, caller: Pd, t: Tcb, ref: int, offset: int,
              size: int) -> tuple[int, ...]:
    ms = s._obj(caller, ref, Memsection)
    if ms.kind != "user" or offset & (PAGE - 1) or size & (PAGE - 1) \
            or offset + size > ms.size or size == 0:
        raise Fail(IguanaError.EINVAL)
    lo, hi = offset >> PAGE_LOG2, (offset + size) >> PAGE_LOG2
    if not ms.frames.any_backed(lo, hi):
        raise Fail(IguanaError.ENOENT)
    ms.frames.clear(lo, hi)
    s.sync(ms, lo, hi)
    return ()


METHODS.update({
    (IID_PHYSPOOL, 0): _physpool_alloc,
    (IID_PHYSPOOL, 1): _physpool_alloc_fixed,
    (IID_PHYSPOOL, 40): _physpool_defaults,
    (IID_PHYSMEM, 0): _physmem_delete,
    (IID_PHYSMEM, 1): _physmem_info,
    (IID_MEMSECTION, 5): _ms_map,
    (IID_MEMSECTION, 6): _ms_unmap,
})
