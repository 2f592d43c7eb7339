"""Hardware for user-level drivers (OKL4 3.0's iguana_hardware interface).

One *hardware* object stands for the machine's interrupts and device memory;
its master capability is in the initial PD's default clist, and a caller
needs a capability for it (``EPERM`` otherwise). libiguana passes reference 0,
as OKL4's library does: the server takes that to mean this object.

* ``register_interrupt(hw, handler, irq)``: the handler (an Iguana thread)
  becomes the handler of interrupt ``irq`` through the kernel's ThreadControl
  path for interrupt threads (``kernel.interrupt.thread_control``), as OKL4's
  server does with ``L4_RegisterInterrupt``.
* ``back_memsection(hw, ms, paddr, attributes)``: a user memsection (no
  backing of its own) is backed by device memory from paddr on, and mapped
  where it is already used. RAM is refused (``EINVAL``): it belongs to the pools.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from l4gdb.kernel import interrupt
from l4gdb.kernel.types import ThreadId

from .errors import Fail, IguanaError
from .server import IID_HARDWARE, METHODS, PAGE, Memsection, Pd

# The most device memory one memsection may be backed with (16 MiB: every
# device of the boards here fits many times over; a bigger, guest-chosen size
# would size the host's frame table).
MAX_DEVICE_BACKING = 1 << 24

if TYPE_CHECKING:
    from l4gdb.kernel.kernel import Kernel
    from l4gdb.kernel.thread import Tcb

    from .server import IguanaServer


@dataclass(eq=False)
class Hardware:
    ref: int
    passwd: int
    interrupts: list[int] = field(default_factory=list)                 # irqs given out
    regions: list[tuple[int, int, int]] = field(default_factory=list)  # (ms, paddr, size)

    def describe(self, k: Kernel) -> dict[str, Any]:
        """The interrupts with the handler the kernel has now (a driver may have
        de-associated one) and the device regions."""
        irqs = []
        for irq in sorted(self.interrupts):
            t = interrupt.irq_thread(k, irq)
            h = t.host.handler if t is not None else None
            irqs.append({"irq": irq, "handler": h.global_id if h is not None else 0})
        return {"ref": self.ref, "interrupts": irqs,
                "regions": [{"memsection": m, "paddr": p, "size": n} for m, p, n in self.regions]}


def _hardware(s: IguanaServer, caller: Pd, ref: int) -> Hardware:
    return s._obj(caller, ref or s.hardware.ref, Hardware)


def register_interrupt(s: IguanaServer, hw: Hardware, handler: Tcb, irq: int) -> None:
    k = s.kernel
    assert k is not None and s.tcb is not None
    irq_id = ThreadId(irq, 1).raw(k.bits)
    if not 0 <= irq < 1 << 16:
        raise Fail(IguanaError.EINVAL)
    t = interrupt.irq_thread(k, irq)
    if t is not None and t.host.handler not in (None, handler):
        raise Fail(IguanaError.EBUSY)                 # another driver has it
    if interrupt.thread_control(k, s.tcb, irq_id, irq_id, handler.global_id) != (1,):
        raise Fail(IguanaError.EINVAL)                # not an interrupt line a driver can have
    if irq not in hw.interrupts:
        hw.interrupts.append(irq)


def back_memsection(s: IguanaServer, hw: Hardware, ms: Memsection, paddr: int,
                    attributes: int) -> None:
    k = s.kernel
    assert k is not None
    if ms.kind != "user" or ms.frames.count:
        raise Fail(IguanaError.EINVAL)                # only an unbacked user memsection
    end = paddr + ms.size
    if paddr & (PAGE - 1) or end > 1 << k.bits or (paddr < k.mdb.ram[1] and k.mdb.ram[0] < end):
        raise Fail(IguanaError.EINVAL)
    if ms.size > MAX_DEVICE_BACKING:
        raise Fail(IguanaError.ENOMEM)                # every page is a frame entry here
    ms.frames.set_run(0, range(paddr, end, PAGE))
    ms.kind = "device"
    ms.attributes = attributes
    hw.regions.append((ms.ref, paddr, ms.size))
    s.sync(ms)
    k.event("iguana_device_memory", memsection=ms.ref, paddr=paddr, size=ms.size)


def _register_interrupt(s: IguanaServer, caller: Pd, t: Tcb, hw_ref: int, handler: int,
                        irq: int) -> tuple[int, ...]:
    hw = _hardware(s, caller, hw_ref)
    th = s.thread_of(t) if handler == 0 else s._thread_by_l4(handler)   # nil: the caller
    if th is None:
        raise Fail(IguanaError.ENOENT)                # the handler must be an Iguana thread
    if th.pd is not caller and not s._has_cap(caller, th):
        raise Fail(IguanaError.EPERM)
    register_interrupt(s, hw, th.tcb, irq)
    return ()


def _back_memsection(s: IguanaServer, caller: Pd, t: Tcb, hw_ref: int, ms_ref: int, paddr: int,
                     attributes: int) -> tuple[int, ...]:
    hw = _hardware(s, caller, hw_ref)
    back_memsection(s, hw, s._obj(caller, ms_ref, Memsection), paddr, attributes)
    return ()


METHODS.update({
    (IID_HARDWARE, 0): _register_interrupt,
    (IID_HARDWARE, 1): _back_memsection,
})
