"""EAS (IPC and the Python API for Wombat), host-server PDs, pd_attach rights
and refused faults, pools, hardware, OKL4 error numbers (fake target)."""

from __future__ import annotations

import pytest
from fake_target import ROOT_IP
from test_iguana_server import PAGE, Ig

from l4gdb.iguana import (
    IID_EAS,
    IID_HARDWARE,
    IID_MEMSECTION,
    IID_PD,
    IID_PHYSMEM,
    IID_PHYSPOOL,
    IID_THREAD,
    Fail,
    IguanaError,
)
from l4gdb.kernel.thread import State
from l4gdb.kernel.types import Fpage, ThreadId
from l4gdb.kernel.utcb import Tcr

UTCB = 0x3800_0000


@pytest.fixture
def ig() -> Ig:
    return Ig()


def test_error_numbers_are_okl4_libc_errno():
    assert (IguanaError.ENOENT, IguanaError.ENOMEM, IguanaError.EINVAL, IguanaError.EPERM,
            IguanaError.ENOSYS) == (2, 12, 22, 33, 38)


def test_eas_over_ipc_create_map_thread_delete(ig: Ig):
    k = ig.m.kernel
    (pd,) = ig.ok(IID_PD, 0)
    eas, space = ig.ok(IID_PD, 4, pd, Fpage(UTCB, 16).raw(32), 0)
    assert space and ig.call(IID_PD, 4, pd, 0, 0)[0] == IguanaError.EINVAL
    ms, base = ig.ok(IID_PD, 1, pd, PAGE, 0, 0)
    ig.m.access(base, 2, 0xAB)
    ig.m.access(base, 2, 0xAB)
    ig.ok(IID_EAS, 2, eas, Fpage(base, 12, 6).raw(32), 0x2000_0000, 0)
    es = next(s for s in k.spaces if s.ident == space)
    node = es.pages[0x2000_0000]
    assert node.paddr == ig.server.objects[ms].frames[0] and node.rights == 6
    assert ig.call(IID_EAS, 2, eas, Fpage(0x3F00_0000, 12, 6).raw(32), 0x2000_0000, 0)[0] \
        == IguanaError.ENOENT
    thread, l4id, handle = ig.ok(IID_EAS, 0, eas, 0, 0, 0)
    t = k.thread_by_global(l4id)
    assert l4id == handle and t.space is es and t.state is State.INACTIVE
    assert t.utcb.words[Tcr.Pager] == ig.m.root              # nil pager: the caller
    ig.ok(IID_EAS, 3, eas, Fpage(0x2000_0000, 12).raw(32))
    assert 0x2000_0000 not in es.pages
    ig.ok(IID_EAS, 1, eas)
    assert t.state is State.DEAD and es not in k.spaces
    assert ig.call(IID_EAS, 1, eas)[0] == IguanaError.ENOENT


def test_python_api_for_a_host_server(ig: Ig):
    k = ig.m.kernel
    host_space = k.new_space(privileged=True, host=True)
    host = k.new_thread(ThreadId(300, 1).raw(32), host_space, name="wombat")
    pd = ig.server.register_host_server("wombat", host)
    assert ig.server.register_host_server("wombat", host) is pd
    eas = ig.server.create_eas(pd, k.root.space.kip_area, Fpage(UTCB, 14))
    t = eas.create_thread(host.global_id, host.global_id, 98)
    assert t.space is eas.space and t.priority == 98 and t.state is State.INACTIVE
    assert t.utcb.words[Tcr.ExceptionHandler] == host.global_id
    eas.start_thread(t, 0x1000, 0x2000)
    assert t.state is State.RUNNING and t.regs[k.arch.ip_reg] == 0x1000
    snap = ig.server.snapshot()
    wombat = next(p for p in snap["pds"] if p["name"] == "wombat")
    assert wombat["host"] and wombat["eases"] == [eas.ref]
    assert snap["eases"][0]["threads"] == [t.global_id]
    with pytest.raises(Fail) as exc:
        ig.server.create_eas(pd, k.root.space.kip_area, Fpage(0, 0))
    assert exc.value.err is IguanaError.EINVAL
    eas.delete()
    assert t.state is State.DEAD and not ig.server.snapshot()["eases"]
    assert ig.call(IID_PD, 11, pd.ref)[0] == IguanaError.EPERM      # not the root's


def test_attach_read_only_and_the_refused_write(ig: Ig):
    m = ig.m
    (me,) = ig.ok(IID_PD, 0)
    (child,) = ig.ok(IID_PD, 2, me)
    ms, base = ig.ok(IID_PD, 1, me, PAGE, 0, 0)
    stack, sbase = ig.ok(IID_PD, 1, child, PAGE, 0, 0)
    assert ig.call(IID_PD, 12, child, ms, 0)[0] == IguanaError.EINVAL
    ig.ok(IID_PD, 12, child, ms, 4)
    ref, l4id = ig.ok(IID_PD, 3, child, 120)
    ig.ok(IID_THREAD, 2, ref, ROOT_IP + 0x40, sbase + PAGE - 16)
    m.set_priority(m.root, 10)
    assert m.running == l4id
    assert m.access(base, 4) is None and m.access(base, 4) == 0        # read: mapped r
    t = m.kernel.thread_by_global(l4id)
    assert t.space.pages[base].rights == 4
    assert m.access(base, 2, 1) is None and t.halted                   # write: refused
    assert "write fault" in m.console.text and "attached r--" in m.console.text
    th = ig.server.thread_of(t)
    assert th.fault == (base, 2)


def test_pools_physmem_map_unmap_and_fixed(ig: Ig):
    (pd,) = ig.ok(IID_PD, 0)
    pp, vp = ig.ok(IID_PHYSPOOL, 40)
    (pm,) = ig.ok(IID_PHYSPOOL, 0, pp, 2 * PAGE)
    pa, size = ig.ok(IID_PHYSMEM, 1, pm)
    assert size == 2 * PAGE and pa % PAGE == 0
    assert ig.call(IID_PHYSPOOL, 1, pp, PAGE, pa)[0] == IguanaError.EBUSY
    assert ig.call(IID_PHYSPOOL, 1, pp, PAGE, pa + 4)[0] == IguanaError.EINVAL
    ms, base = ig.ok(IID_PD, 1, pd, 4 * PAGE, 0, 0x10, 0, vp)
    assert ig.server.objects[ms].frames == [None] * 4
    ig.ok(IID_MEMSECTION, 5, ms, PAGE, pm)
    assert ig.server.objects[ms].frames[1:3] == [pa, pa + PAGE]
    assert ig.call(IID_MEMSECTION, 5, ms, 0, pm)[0] == IguanaError.EBUSY
    ig.ok(IID_MEMSECTION, 6, ms, PAGE, 2 * PAGE)
    assert ig.call(IID_MEMSECTION, 6, ms, PAGE, PAGE)[0] == IguanaError.ENOENT
    ig.ok(IID_PHYSMEM, 0, pm)
    assert ig.ok(IID_PHYSPOOL, 1, pp, PAGE, pa)


def test_hardware_needs_the_cap_and_goes_through_thread_control(ig: Ig):
    k = ig.m.kernel
    (me,) = ig.ok(IID_PD, 0)
    irq = next(i for i in k.irq_range if i != k.tick_irq)
    ig.ok(IID_HARDWARE, 0, 0, 0, irq)                     # nil handler: me
    assert k.threads[irq].host.handler is k.root
    assert ig.call(IID_HARDWARE, 0, 0, 0, 1 << 14)[0] == IguanaError.EINVAL
    other, l4id = ig.ok(IID_PD, 3, me, 100)
    assert ig.call(IID_HARDWARE, 0, 0, l4id, irq)[0] == IguanaError.EBUSY   # root has it
    ms, base = ig.ok(IID_PD, 1, me, PAGE, 0, 0x10)
    assert ig.call(IID_HARDWARE, 1, 0, ms, k.mdb.ram[0], 0)[0] == IguanaError.EINVAL
    ig.ok(IID_HARDWARE, 1, 0, ms, 0x0901_0000, 1)
    assert k.root.space.pages[base].paddr == 0x0901_0000
    snap = ig.server.snapshot()
    assert snap["hardware"]["interrupts"] == [{"irq": irq, "handler": k.root.global_id}]
    default = ig.ok(IID_PD, 40)[0]
    ig.ok(33, 3, default, snap["hardware"]["ref"])        # drop my hardware cap
    assert ig.call(IID_HARDWARE, 0, 0, 0, irq)[0] == IguanaError.EPERM
