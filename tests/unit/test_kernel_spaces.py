"""Address spaces with page tables: the mapping database, map/grant/unmap,
page-fault IPC, software status bits, string items, isolation (fake MMU)."""

from __future__ import annotations

import pytest
from fake_target import ARCH32, KIP, RAM, ROOT_IP, FakeMachine

from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.types import (
    Error,
    Fpage,
    IpcError,
    MsgTag,
    any_thread,
    ipc_error_code,
    kernel_label,
)
from l4gdb.kernel.utcb import BR0, Tcr

B = 32
ANY = any_thread(B)
E_FLAG = 1 << 15
PAGE = 0x1000
DATA = RAM + 0x90_0000          # free memory sigma0 hands out
COMPLETE = 1 << 4               # CompleteAddressSpace (s = 1)


def err(e: IpcError, phase: int, off: int = 0) -> int:
    return ipc_error_code(e, phase, off)


def map_item(base: int, grant: bool = False) -> int:
    return (base & ~0x3FF) | ((5 if grant else 4) << 1)


def machine() -> FakeMachine:
    return FakeMachine(ARCH32, paging=True)


def own(m: FakeMachine, va: int, rwx: int = 4) -> None:
    """The running thread touches va (faulting it in from its pager first)."""
    if m.access(va, rwx) is None:
        assert m.access(va, rwx) is not None, m.console.text


def child(m: FakeMachine, no: int = 120) -> int:
    """A thread in a new space whose pager is root; root then waits for anything."""
    x = m.spawn_space(no)
    m.set_priority(m.root, 10)
    assert m.running == x
    return x


def accept(m: FakeMachine, window: int = COMPLETE, strings: bool = False) -> None:
    m.set_word(m.utcb_addr + BR0 * m.ws, (window & ~0xF) | int(strings))


# --- boot and the root task ------------------------------------------------------------

def test_boot_switches_to_the_root_space_and_maps_kip_and_utcb():
    m = machine()
    root_space = m.kernel.root.space
    assert root_space.root and m.last.space_root == root_space.root and m.ttbr == root_space.root
    assert m.pt.translate(m.ttbr, KIP) == (KIP, 5)                  # KIP: read + execute
    utcb = m.utcb_addr
    assert m.pt.translate(m.ttbr, utcb) == (utcb, 6)                # UTCB: read-write
    assert m.pt.translate(m.ttbr, ROOT_IP) is None                  # faulted in on demand


def test_root_faults_are_served_by_sigma0_idempotently():
    m = machine()
    assert m.access(ROOT_IP, 1) is None                  # fault -> sigma0 -> map -> retry
    assert m.running == m.root and m.cpu["pc"] == ROOT_IP
    assert m.pt.translate(m.ttbr, ROOT_IP) == (ROOT_IP, 5)  # executed => referenced
    assert m.access(ROOT_IP, 1) == 0


def test_sigma0_refuses_kernel_memory():
    m = machine()
    assert m.access(RAM + 0x100, 4) is None
    assert m.pt.translate(m.ttbr, RAM + 0x100) is None
    assert "refused" in m.console.text


def test_soft_faults_record_status_bits_without_the_pager():
    m = machine()
    own(m, DATA, 4)
    assert m.pt.translate(m.ttbr, DATA)[1] == 4           # only the read is allowed so far
    ipcs = len(m.kernel.ipc_log)
    assert m.access(DATA, 2, 7) is None                   # soft fault: recorded, widened
    assert len(m.kernel.ipc_log) == ipcs and m.running == m.root
    assert m.access(DATA, 2, 7) == 7
    # GetStatus: rights 0 -> nothing revoked, status reported and reset.
    m.load_mrs(Fpage(DATA, 12, 0).raw(B))
    m.syscall(Syscall.Unmap, 0)
    assert m.mr(0) & 7 == 6
    assert m.pt.translate(m.ttbr, DATA) is None            # next access is seen again
    m.load_mrs(Fpage(DATA, 12, 0).raw(B))
    m.syscall(Syscall.Unmap, 0)
    assert m.mr(0) & 7 == 0
    assert m.access(DATA, 4) is None and m.access(DATA, 4) == 7    # soft fault, data kept


# --- page-fault IPC and mapping between spaces -----------------------------------------

def serve_fault(m: FakeMachine, x: int, rights: int = 7, snd_base: int | None = None,
                grant: bool = False) -> tuple[int, int, int]:
    """Root waits, x runs into its fault; root answers with a map item of the same
    page. Returns (label, fault address, fault ip) of the page-fault message."""
    tag = MsgTag.from_raw(m.mr(0))
    label, addr, ip = tag.label, m.mr(1), m.mr(2)
    page = addr & ~(PAGE - 1)
    own(m, page, 4)
    m.ipc(x, 0, 0, MsgTag(t=2).raw(B), map_item(page if snd_base is None else snd_base, grant),
          Fpage(page, 12, rights).raw(B))
    return label, addr, ip


def test_page_fault_goes_to_the_pager_and_the_map_resolves_it():
    m = machine()
    x = child(m)
    xroot = m.ttbr
    assert xroot == m.root_of(x) and xroot != m.root_of(m.root)
    assert m.access(DATA + 8, 2) is None                   # x writes: fault -> root
    assert m.running == m.root
    m.ipc(0, ANY, 0)                                       # root waits: gets the fault
    assert m.running == m.root and m.result() == x         # global id across spaces
    label, addr, ip = serve_fault(m, x)
    assert label == kernel_label(2, B) | 2 and addr == DATA + 8
    assert ip == m.kernel.thread_by_global(x).regs["pc"]
    assert m.running == x and m.ttbr == xroot              # x has the higher priority
    assert m.access(DATA + 8, 2, 0x55) == 0x55             # resolved, retried
    assert m.pt.translate(xroot, DATA)[0] == DATA


def test_isolation_other_spaces_memory_is_invisible():
    m = machine()
    own(m, DATA, 2)
    m.access(DATA, 2, 0xABCD)
    child(m)
    assert m.access(DATA, 4) is None                       # not mapped in x: fault
    m.ipc(0, ANY, 0)
    assert m.running == m.root and m.mr(1) == DATA         # the pager hears of it


def test_rights_reduction_read_only_map():
    m = machine()
    x = child(m)
    m.access(DATA, 4)
    m.ipc(0, ANY, 0)
    serve_fault(m, x, rights=4)
    assert m.running == x and m.access(DATA, 4) is not None
    assert m.access(DATA, 2, 1) is None                    # no write right: a real fault
    m.ipc(0, ANY, 0)
    assert m.running == m.root and MsgTag.from_raw(m.mr(0)).label & 7 == 2


def map_to(m: FakeMachine, x: int, va: int, rights: int = 7, window: int = COMPLETE,
           grant: bool = False) -> None:
    """Root sends x (waiting for root) a map item of its page at va."""
    m.ipc(x, 0, 0, MsgTag(t=2).raw(B), map_item(va, grant), Fpage(va, 12, rights).raw(B))


def setup_chain(m: FakeMachine) -> tuple[int, int]:
    """root -> x (space 1) -> y (space 2): the same page derived twice."""
    own(m, DATA, 4)
    x = m.spawn_space(120)
    y = m.spawn_space(121)
    tx = m.kernel.thread_by_global(x)
    ty = m.kernel.thread_by_global(y)
    rnode = m.kernel.mdb.lookup(m.kernel.root.space, DATA)
    m.kernel.mdb.map_fpage(m.kernel.root.space, Fpage(DATA, 12, 7), DATA, tx.space,
                           Fpage(0, 32), False)
    xnode = tx.space.pages[DATA]
    m.kernel.mdb.map_fpage(tx.space, Fpage(DATA, 12, 6), DATA + 0x10_0000, ty.space,
                           Fpage(DATA + 0x10_0000, 12), False)
    ynode = ty.space.pages[DATA + 0x10_0000]
    assert xnode.parent is rnode and ynode.parent is xnode and ynode.rights == 6
    return x, y


def test_map_item_in_ipc_uses_the_receive_window():
    m = machine()
    own(m, DATA, 4)
    x = m.spawn_space(120)
    tx = m.kernel.thread_by_global(x)
    tx.utcb.words[BR0] = Fpage(0x1000_0000, 16).raw(B) & ~0xF       # 64 KiB window
    tx.op = None
    # x waits for root (as if it had called Ipc(nil, root))
    from l4gdb.kernel import ipc
    from l4gdb.kernel.types import Timeout
    ipc.start_ipc(m.kernel, tx, 0, m.root, Timeout(0), Timeout(0))
    m.load_mrs(MsgTag(t=2).raw(B), map_item(0x1000_3000), Fpage(DATA, 12, 7).raw(B))
    m.syscall(Syscall.Ipc, x, 0, 0)
    assert not m.tcr(Tcr.ErrorCode, x)
    node = tx.space.pages.get(0x1000_3000)           # snd_base picks the slot in the window
    assert node is not None and node.paddr == DATA
    assert m.mr(2, x) == Fpage(DATA, 12, 7).raw(B)   # the item itself is delivered too


def test_unmap_removes_derived_mappings_in_every_space():
    m = machine()
    x, y = setup_chain(m)
    tx, ty = (m.kernel.thread_by_global(t) for t in (x, y))
    m.load_mrs(Fpage(DATA, 12, 7).raw(B))
    m.syscall(Syscall.Unmap, 0)
    assert DATA not in tx.space.pages and DATA + 0x10_0000 not in ty.space.pages
    assert DATA in m.kernel.root.space.pages                 # unmap keeps our own
    assert m.pt.translate(tx.space.root, DATA) is None
    m.load_mrs(Fpage(DATA, 12, 7).raw(B))
    m.syscall(Syscall.Unmap, 0x40)                            # flush: ours goes too
    assert DATA not in m.kernel.root.space.pages


def test_partial_revocation_keeps_the_rest():
    m = machine()
    x, y = setup_chain(m)
    tx, ty = (m.kernel.thread_by_global(t) for t in (x, y))
    m.load_mrs(Fpage(DATA, 12, 2).raw(B))                    # revoke write only
    m.syscall(Syscall.Unmap, 0)
    assert tx.space.pages[DATA].rights == 5 and ty.space.pages[DATA + 0x10_0000].rights == 4


def test_grant_moves_the_mapping_and_keeps_the_tree():
    m = machine()
    x, y = setup_chain(m)
    tx, ty = (m.kernel.thread_by_global(t) for t in (x, y))
    xnode = tx.space.pages[DATA]
    m.kernel.mdb.map_fpage(tx.space, Fpage(DATA, 12, 7), 0x2000_0000, ty.space,
                           Fpage(0x2000_0000, 12), True)
    assert DATA not in tx.space.pages and ty.space.pages[0x2000_0000] is xnode
    m.load_mrs(Fpage(DATA, 12, 7).raw(B))
    m.syscall(Syscall.Unmap, 0)                              # root still controls it all
    assert not ty.space.pages


def test_grant_of_something_not_owned_maps_nothing():
    m = machine()
    x = m.spawn_space(120)
    y = m.spawn_space(121)
    tx, ty = (m.kernel.thread_by_global(t) for t in (x, y))
    n = m.kernel.mdb.map_fpage(tx.space, Fpage(DATA, 12, 7), DATA, ty.space,
                               Fpage(0, 32), True)
    assert n == 0 and not ty.space.pages


def test_map_into_kernel_and_utcb_area_is_ignored():
    m = machine()
    own(m, DATA, 4)
    x = m.spawn_space(120)
    tx = m.kernel.thread_by_global(x)
    mdb = m.kernel.mdb
    assert mdb.map_fpage(m.kernel.root.space, Fpage(DATA, 12, 7), 0xC000_0000, tx.space,
                         Fpage(0xC000_0000, 12), False) == 0
    utcb = tx.space.utcb_area.base
    assert mdb.map_fpage(m.kernel.root.space, Fpage(DATA, 12, 7), utcb, tx.space,
                         Fpage(utcb, 12), False) == 0
    assert m.pt.translate(tx.space.root, utcb)[0] != DATA


def test_fpage_larger_than_window_maps_the_window_part():
    m = machine()
    for off in range(0, 0x4000, PAGE):
        own(m, DATA + off, 4)
    x = m.spawn_space(120)
    tx = m.kernel.thread_by_global(x)
    n = m.kernel.mdb.map_fpage(m.kernel.root.space, Fpage(DATA, 14, 7), 0x2000, tx.space,
                               Fpage(0x3000_0000, 12), False)
    assert n == 1 and tx.space.pages[0x3000_0000].paddr == DATA + 0x2000


def test_mapping_back_onto_the_source_is_harmless():
    m = machine()
    x, _ = setup_chain(m)
    tx = m.kernel.thread_by_global(x)
    root_space = m.kernel.root.space
    assert m.kernel.mdb.map_fpage(tx.space, Fpage(DATA, 12, 7), DATA, root_space,
                                  Fpage(0, 32), False) == 0
    assert root_space.pages[DATA].parent is not None        # sigma0's root node


def test_deleting_a_space_removes_what_was_derived_from_it():
    m = machine()
    x, y = setup_chain(m)
    ty = m.kernel.thread_by_global(y)
    xroot = m.root_of(x)
    frames = list(m.kernel.thread_by_global(x).space.utcb_frames.values())
    assert m.thread_control(x, 0, 0, 0, 0) == 1
    assert not ty.space.pages and xroot in m.pt.freed
    assert frames and all(f in m.pt.freed for f in frames)      # UTCB frames go back


# --- privilege ----------------------------------------------------------------------------

def test_unprivileged_threads_cannot_create_threads_or_spaces():
    m = machine()
    x = child(m)
    assert m.thread_control(m.tid(130), m.tid(130), x, 0, ~0 & 0xFFFFFFFF) == 0
    assert m.tcr(Tcr.ErrorCode) == Error.NoPrivilege
    m.syscall(Syscall.SpaceControl, x, 0, Fpage(KIP, 12).raw(B), Fpage(RAM, 16).raw(B), 0)
    assert m.result() == 0 and m.tcr(Tcr.ErrorCode) == Error.NoPrivilege


def test_space_control_rejects_areas_in_the_kernel_area():
    m = machine()
    t = m.tid(130)
    assert m.thread_control(t, t, m.root, 0, 0xFFFFFFFF) == 1
    m.syscall(Syscall.SpaceControl, t, 0, Fpage(KIP, 12).raw(B),
              Fpage(0xC000_0000, 16).raw(B), 0)
    assert m.result() == 0 and m.tcr(Tcr.ErrorCode) == Error.UtcbArea
    m.syscall(Syscall.SpaceControl, t, 0, Fpage(0xD000_0000, 12).raw(B),
              Fpage(0x1000_0000, 16).raw(B), 0)
    assert m.result() == 0 and m.tcr(Tcr.ErrorCode) == Error.KipArea


# --- string items ---------------------------------------------------------------------------

def string_item(length: int, ptrs: int = 1, compound: bool = False, more: bool = False) -> int:
    return (length << 10) | (int(compound) << 9) | ((ptrs - 1) << 4) | int(more)


def string_pair(paging: bool):
    m = FakeMachine(ARCH32, paging=paging)
    src, dst = DATA, DATA + 0x1_0000
    if paging:
        own(m, src, 4)
        own(m, dst, 2)
    m.mem.write(src, bytes(range(200)))
    return m, src, dst


def recv_strings(m: FakeMachine, t, brs: list[int]) -> None:
    from l4gdb.kernel import ipc
    from l4gdb.kernel.types import Timeout
    tcb = m.kernel.thread_by_global(t)
    for i, w in enumerate(brs):
        tcb.utcb.words[BR0 + i] = w
    ipc.start_ipc(m.kernel, tcb, 0, m.root, Timeout(0), Timeout(0))


def send_string(m: FakeMachine, to, size: int, addr: int) -> None:
    """The current thread sends ``to`` one simple string item: ``size`` bytes at ``addr``."""
    m.load_mrs(MsgTag(t=2).raw(B), string_item(size), addr)
    m.syscall(Syscall.Ipc, to, 0, 0)


@pytest.mark.parametrize("paging", [False, True], ids=["flat", "paged"])
def test_simple_string_copy(paging):
    m, src, dst = string_pair(paging)
    a = m.spawn(100)
    recv_strings(m, a, [1, string_item(100), dst])
    send_string(m, a, 64, src)
    assert not m.tcr(Tcr.ErrorCode, a) and not m.mr(0, a) & E_FLAG
    assert m.mem.read(dst, 64) == bytes(range(64)) and m.mem.read(dst + 64, 1) == b"\0"


@pytest.mark.parametrize("paging", [False, True], ids=["flat", "paged"])
def test_compound_strings_and_substrings(paging):
    m, src, dst = string_pair(paging)
    a = m.spawn(100)
    # receive: one buffer of 2 substrings of 40 bytes; send: compound 30 + 30 bytes
    recv_strings(m, a, [1, string_item(40, ptrs=2), dst, dst + 100])
    m.load_mrs(MsgTag(t=4).raw(B), string_item(30, compound=True), src,
               string_item(30), src + 50)
    m.syscall(Syscall.Ipc, a, 0, 0)
    assert not m.mr(0) & E_FLAG, hex(m.tcr(Tcr.ErrorCode))
    assert m.mem.read(dst, 30) == bytes(range(30))
    assert m.mem.read(dst + 30, 10) == bytes(range(50, 60))
    assert m.mem.read(dst + 100, 20) == bytes(range(60, 80))


def test_string_overflow_reports_the_offset():
    m, src, dst = string_pair(False)
    a = m.spawn(100)
    recv_strings(m, a, [1, string_item(16), dst])
    send_string(m, a, 64, src)
    assert m.mr(0) & E_FLAG and m.tcr(Tcr.ErrorCode) == err(IpcError.Overflow, 0, 16)
    assert m.tcr(Tcr.ErrorCode, a) == err(IpcError.Overflow, 1, 16)
    assert m.mem.read(dst, 16) == bytes(range(16))


def test_strings_not_accepted_overflow_at_zero():
    m, src, dst = string_pair(False)
    a = m.spawn(100)
    recv_strings(m, a, [0, string_item(100), dst])
    send_string(m, a, 8, src)
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.Overflow, 0, 0)


def test_string_from_an_unmapped_page_is_an_xfer_error():
    m, src, dst = string_pair(True)
    a = m.spawn(100)
    recv_strings(m, a, [1, string_item(PAGE * 2), dst])
    edge = src + PAGE - 8                     # the next page is not mapped in root
    m.kernel.sigma0.host.owner[src + PAGE] = 999    # ... and sigma0 won't give it to root
    send_string(m, a, 16, edge)
    assert m.tcr(Tcr.ErrorCode) == err(IpcError.XferTimeoutCurrent, 0, 8)
    assert m.tcr(Tcr.ErrorCode, a) == err(IpcError.XferTimeoutPartner, 1, 8)


def test_cross_space_string_copy_lands_in_the_receivers_frame():
    m = machine()
    own(m, DATA, 4)
    m.mem.write(DATA, b"hello, space")
    x = m.spawn_space(120)
    tx = m.kernel.thread_by_global(x)
    frame = DATA + 0x2_0000
    own(m, frame, 4)
    m.kernel.mdb.map_fpage(m.kernel.root.space, Fpage(frame, 12, 7), 0x1000_0000, tx.space,
                           Fpage(0x1000_0000, 12), False)
    recv_strings(m, x, [1, string_item(32), 0x1000_0000])
    send_string(m, x, 12, DATA)
    assert m.mem.read(frame, 12) == b"hello, space"
    assert tx.space.pages[0x1000_0000].access & 2            # the copy wrote it


def test_string_copy_faults_root_pages_in_from_sigma0():
    m, src, dst = string_pair(True)
    a = m.spawn(100)
    far = DATA + 0x5_0000            # root never touched it: sigma0 serves it on the spot
    m.mem.write(far, b"from sigma0's page")
    recv_strings(m, a, [1, string_item(64), dst])
    send_string(m, a, 18, far)
    assert not m.tcr(Tcr.ErrorCode, a) and m.mem.read(dst, 18) == b"from sigma0's page"
    assert m.kernel.root.space.pages[far].access & 4


def xfer_setup(m: FakeMachine, xfer_timeouts: int = 0):
    """root sends x (another space) a string; x's buffer page is unmapped and x's
    pager is p, a thread of root's space waiting for anything."""
    from l4gdb.kernel import ipc
    from l4gdb.kernel.types import Timeout
    own(m, DATA, 4)
    m.mem.write(DATA, b"paged string")
    own(m, DATA + 0x3_0000, 4)                # the frame p will map
    p = m.spawn(110)
    x = m.spawn_space(120)
    k = m.kernel
    tp, tx = k.thread_by_global(p), k.thread_by_global(x)
    tx.utcb.words[Tcr.Pager] = p
    tx.utcb.words[Tcr.XferTimeouts] = xfer_timeouts
    k.root.utcb.words[Tcr.XferTimeouts] = xfer_timeouts << 16
    m.set_word(m.utcb_addr + Tcr.XferTimeouts * m.ws, xfer_timeouts << 16)
    for i, w in enumerate([1, string_item(64), 0x1000_0000]):
        tx.utcb.words[BR0 + i] = w
    ipc.start_ipc(k, tx, 0, m.root, Timeout(0), Timeout(0))
    ipc.start_ipc(k, tp, 0, ANY, Timeout(0), Timeout(0))
    send_string(m, x, 12, DATA)
    return p, x


def test_string_copy_fault_goes_to_the_receivers_pager_and_resumes():
    m = machine()
    p, x = xfer_setup(m)
    assert m.running == p                                  # root and x wait for p
    tag = MsgTag.from_raw(m.mr(0))
    assert tag.label == kernel_label(2, B) | 2 and m.mr(1) == 0x1000_0000 and m.result() == x
    m.ipc(x, 0, 0, MsgTag(t=2).raw(B), map_item(0x1000_0000), Fpage(DATA + 0x3_0000, 12, 7).raw(B))
    assert m.mem.read(DATA + 0x3_0000, 12) == b"paged string"
    assert not m.tcr(Tcr.ErrorCode, x) and MsgTag.from_raw(m.mr(0, x)).t == 2
    k = m.kernel
    assert k.root.state.value == "running" and k.thread_by_global(x).state.value == "running"
    assert k.root.regs["r0"] == 0                          # send-only: from = nil, no error


def test_string_copy_fault_xfer_timeout():
    m = machine()
    one_ms = 1000 >> 3 | 3 << 10                          # 125 * 2^3 us
    p, x = xfer_setup(m, xfer_timeouts=one_ms)
    assert m.running == p
    m.ipc(0, m.tid(110), 0)                               # p blocks on itself: no answer
    m.tick(2000)
    assert m.tcr(Tcr.ErrorCode, x) == err(IpcError.XferTimeoutCurrent, 1)
    root_err = m.word(m.kernel.root.utcb_addr + Tcr.ErrorCode * m.ws, m.root_of(m.root))
    assert root_err == err(IpcError.XferTimeoutPartner, 0)


def test_receiver_locked_during_a_pending_copy():
    m = machine()
    p, x = xfer_setup(m)
    from l4gdb.kernel import ipc
    k = m.kernel
    tx = k.thread_by_global(x)
    # parked: only its pager's reply gets through, not the sender (nor anybody else)
    assert tx.xfer is not None and tx.xfer_lock is k.root
    assert ipc.accepts(k, tx, k.thread_by_global(p)) and not ipc.accepts(k, tx, k.root)


def test_string_copy_fault_found_by_the_receivers_receive_phase():
    """The sender blocks first; the receiver's receive phase starts the copy."""
    from l4gdb.kernel import ipc
    from l4gdb.kernel.types import Timeout
    m = machine()
    own(m, DATA, 4)
    m.mem.write(DATA, b"late receiver")
    own(m, DATA + 0x3_0000, 4)
    p = m.spawn(110)
    x = m.spawn_space(120)
    k = m.kernel
    tp, tx = k.thread_by_global(p), k.thread_by_global(x)
    tx.utcb.words[Tcr.Pager] = p
    ipc.start_ipc(k, tp, 0, ANY, Timeout(0), Timeout(0))
    send_string(m, x, 13, DATA)                    # x is not receiving: root blocks
    assert k.root.state.value == "polling"
    for i, w in enumerate([1, string_item(64), 0x1000_0000]):
        tx.utcb.words[BR0 + i] = w
    k.current = tx                                    # x now receives from root
    ipc.start_ipc(k, tx, 0, m.root, Timeout(0), Timeout(0))
    assert tx.xfer is not None and tx.state.value == "waiting"
    k.current = tp
    m.running, m.cpu = p, dict(tp.regs)
    m.utcb_addr = tp.utcb_addr
    m.ipc(x, 0, 0, MsgTag(t=2).raw(B), map_item(0x1000_0000), Fpage(DATA + 0x3_0000, 12, 7).raw(B))
    assert m.mem.read(DATA + 0x3_0000, 13) == b"late receiver"
    assert tx.xfer is None and not m.tcr(Tcr.ErrorCode, x)


def test_snapshot_shows_page_tables_and_mappings():
    m = machine()
    own(m, DATA, 4)
    view = {sp.ident: sp for sp in m.kernel.snapshot().spaces}
    root_view = view[m.kernel.root.space.ident]
    assert root_view.page_table == m.ttbr and root_view.mapped_pages == 1


def test_deleting_the_sender_of_a_parked_copy_releases_the_receiver():
    m = machine()
    p, x = xfer_setup(m)                      # root -> x, x's pager p; p runs
    k = m.kernel
    tx = k.thread_by_global(x)
    m.ipc(0, m.tid(110), 0)                   # p parks; root is the only one left (blocked)
    # delete x (the receiver, parked in its fault): root's send ends, non-existing
    k.current = k.root
    from l4gdb.kernel.tcontrol import sys_thread_control
    assert sys_thread_control(k, k.root, x, 0, 0, 0, 0) == (1,)
    assert k.root.state.value == "running" and tx.state.value == "dead"


def test_activation_without_kernel_memory_fails_with_nomem():
    m = machine()
    m.pt.next = m.pt.high                        # the pool is exhausted
    t = m.tid(130)
    assert m.thread_control(t, t, m.root, 0, 0xFFFFFFFF) == 1
    m.syscall(Syscall.SpaceControl, t, 0, Fpage(KIP, 12).raw(B),
              Fpage(0x2000_0000, 14).raw(B), 0)
    assert m.result() == 0 and m.tcr(Tcr.ErrorCode) == Error.NoMem
    m.pt.next = m.pt.high - 0x1000                # room for one table, none for a UTCB
    m.syscall(Syscall.SpaceControl, t, 0, Fpage(KIP, 12).raw(B),
              Fpage(0x2000_0000, 14).raw(B), 0)
    assert m.result() == 1
    assert m.thread_control(t, t, 0, m.root, 0x2000_0000) == 0
    assert m.tcr(Tcr.ErrorCode) == Error.NoMem
    u = m.tid(131)                                # in our space: the root's UTCBs are 1:1
    assert m.thread_control(u, m.root, m.root, m.root, m.utcb_addr + 0x1000) == 1


def test_kdebug_reads_strings_through_the_threads_own_mappings():
    m = machine()
    own(m, DATA, 4)
    m.mem.write(DATA, b"from space x")
    x = child(m)
    tx = m.kernel.thread_by_global(x)
    m.kernel.mdb.map_fpage(m.kernel.root.space, Fpage(DATA, 12, 7), 0x1000_0000, tx.space,
                           Fpage(0x1000_0000, 12), False)
    m.syscall(Syscall.KDebug, 2, 0x1000_0000, 12)      # PrintString(x's address)
    assert "from space x" in m.console.text
    m.syscall(Syscall.KDebug, 2, 0x3000_0000, 4)       # nothing mapped there: fails
    assert m.result() == 0xFFFFFFFF
