"""Device pages a user-level driver programs (the arch's ``driver_pages``): in no
space by default; sigma0 gives one to the first space that asks (a request or a
root-task page fault there) and to no other; none once Iguana took memory over."""

from __future__ import annotations

from fake_target import ARCH32, FakeMachine

from l4gdb.kernel.types import NILPAGE, Fpage, KernelLabel, MsgTag, kernel_label
from l4gdb.kernel.utcb import BR0

B = 32
DEV = 0x0900_0000                # outside the fake RAM, as the PL011 is on ARM
PAGE = 0x1000


def mapped(m: FakeMachine, space_of: int | None = None) -> tuple[int, int] | None:
    """(paddr, rights) of DEV in the mapping database of a thread's space (the
    hardware entry follows on first touch, as for every page)."""
    t = m.kernel.thread_by_global(space_of if space_of is not None else m.root)
    node = t.space.pages.get(DEV)
    return None if node is None else (node.paddr, node.rights)


def machine() -> FakeMachine:
    m = FakeMachine(ARCH32, paging=True)
    m.pt.driver_pages = ((DEV, DEV + PAGE),)
    return m


def ask_sigma0(m: FakeMachine, base: int, rights: int = 6) -> int:
    """The running thread asks sigma0 for the page at base; the fpage it got."""
    m.set_word(m.utcb_addr + BR0 * m.ws, Fpage(0, 32, 0).raw(B))   # accept anything
    tag = MsgTag(u=2, label=kernel_label(KernelLabel.SIGMA0, B)).raw(B)
    m.ipc(m.sigma0, m.sigma0, 0, tag, Fpage(base, 12, rights).raw(B), 0)
    return m.mr(2)


def test_no_space_has_the_device_page_at_boot():
    m = machine()
    assert m.pt.translate(m.ttbr, DEV) is None
    assert not any(DEV in t for t in m.pt.tables.values())


def test_the_first_space_that_asks_gets_it_read_write_never_executable():
    m = machine()
    got = Fpage.from_raw(ask_sigma0(m, DEV, 7))
    assert (got.base, got.size_log2, got.rights) == (DEV, 12, 6)
    assert mapped(m) == (DEV, 6)
    assert m.access(DEV, 2) is None                       # a soft fault: entry made
    assert m.pt.translate(m.ttbr, DEV) == (DEV, 6)
    assert ask_sigma0(m, DEV) != NILPAGE                  # again to the same space: fine
    assert m.kernel.sigma0.host.device_owner == {DEV: m.kernel.root.space.ident}


def test_a_second_space_is_refused():
    m = machine()
    assert ask_sigma0(m, DEV) != NILPAGE                  # root has it
    x = m.spawn_space(120)
    m.set_priority(m.root, 10)
    assert m.running == x
    assert ask_sigma0(m, DEV) == NILPAGE
    assert mapped(m, x) is None and m.pt.translate(m.root_of(x), DEV) is None
    assert "device memory at 0x9000000 refused" in m.console.text


def test_a_root_fault_on_it_is_asking():
    m = machine()
    assert m.access(DEV, 2, 1) is None                    # fault -> sigma0 -> mapped
    assert mapped(m) == (DEV, 6)
    assert m.kernel.sigma0.host.device_owner == {DEV: m.kernel.root.space.ident}


def test_none_once_an_os_server_took_memory_over():
    m = machine()
    m.kernel.sigma0.host.take_free_memory(12345)          # Iguana's space, say
    assert ask_sigma0(m, DEV) == NILPAGE
    assert mapped(m) is None


def test_pages_beside_a_driver_page_are_not_device_pages():
    m = machine()
    assert ask_sigma0(m, DEV + PAGE) == NILPAGE           # not RAM, not a driver's page
    assert m.kernel.sigma0.host.device_owner == {}

