"""IPC: send phase, receive phase, rendezvous, timeouts and cancellation.

A blocked thread's message stays in its UTCB copy (it cannot run, so its
MRs cannot change); delivery copies MR0..MR(u+t) into the receiver's UTCB
through the kernel's write buffer. Every path ends in :func:`finish`, which
sets the syscall results of the thread whose IPC completed.

Typed items (:func:`typed_transfer`, X.2 / Pistachio semantics): map and
grant items map through the receiver's window (BR0) in the mapping database
(flat kernels without page tables deliver them verbatim); string items are
copied into the receiver's buffer items (BR1..), simple and compound, with
the message-overflow error carrying the byte offset reached.

A page that is not mapped during a string copy is a page fault of the
thread whose page it is: a host pager (sigma0) maps it on the spot; a user
pager gets a page-fault IPC from that thread, bounded by the transfer
timeout (the smaller of the sender's send and the receiver's receive
XferTimeouts), while sender and receiver stay locked to each other; when
the reply has mapped the page the copy starts over (it is idempotent). A
fault without pager, a failed fault IPC or an expired transfer timeout ends
the IPC with "xfer timeout in current thread" for the side whose page is
missing and "... in partner" for the other, at the byte offset reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import exception
from .paging import R, W
from .thread import IpcKind, IpcOp, State, Tcb, XferFault
from .types import (
    GRANT_ITEM_TYPE,
    MAP_ITEM_TYPE,
    NILTHREAD,
    RECEIVE_PHASE,
    SEND_PHASE,
    Fpage,
    IpcError,
    KernelLabel,
    MsgTag,
    TagFlag,
    Timeout,
    error_tag,
    ipc_error_code,
    is_any,
    is_anylocal,
    is_local_id,
    kernel_label,
    split_timeouts,
)
from .utcb import BR0, NUM_BRS, NUM_MRS, Tcr

if TYPE_CHECKING:
    from .kernel import Kernel


def sys_ipc(k: Kernel, cur: Tcb, to: int, from_spec: int, timeouts: int) -> None:
    snd, rcv = split_timeouts(timeouts)
    start_ipc(k, cur, to, from_spec, snd, rcv)


sys_lipc = sys_ipc     # Lipc is an optimisation of Ipc with local ids: same semantics here


def start_ipc(k: Kernel, cur: Tcb, to: int, from_spec: int, snd: Timeout, rcv: Timeout,
              kind: IpcKind = IpcKind.USER, kmsg: list[int] | None = None,
              fault_access: int = 0) -> None:
    cur.op = IpcOp(to, from_spec, rcv.us, kind, kmsg, fault_access)
    cur.host_reply = None
    if to != NILTHREAD:
        dest = k.resolve(cur, to)
        if dest is None:
            finish(k, cur, error=ipc_error_code(IpcError.NonExisting, SEND_PHASE))
            return
        if dest.host is not None:
            if not _send_to_host(k, cur, dest):
                return
        elif accepts(k, dest, cur):
            if not transfer(k, cur, dest):
                return
        elif snd.is_zero:
            finish(k, cur, error=ipc_error_code(IpcError.Timeout, SEND_PHASE))
            return
        else:
            block(k, cur, State.POLLING, to, dest, snd.us)
            return
    receive_phase(k, cur)


def receive_phase(k: Kernel, t: Tcb) -> None:
    """Run t's receive phase (or finish a send-only IPC).

    A sender that t takes goes on with its own receive phase, which may take a
    sender in turn: a loop, not a recursion (a chain of threads each calling
    the next can be as long as there are threads)."""
    nxt: Tcb | None = t
    while nxt is not None:
        nxt = _receive_step(k, nxt)


def _receive_step(k: Kernel, t: Tcb) -> Tcb | None:
    """One thread's receive phase; the sender whose receive phase comes next."""
    op = t.op
    assert op is not None
    t.state = State.RUNNING
    if op.from_spec == NILTHREAD:
        t.host_reply = None
        finish(k, t, from_id=NILTHREAD)
        return None
    reply, t.host_reply = t.host_reply, None
    if reply is not None and _spec_matches(k.bits, t, op.from_spec, reply[0]):
        host, words = reply
        try:
            errors = typed_transfer(k, host, t, words)
        except _Fault as fault:
            errors = _xfer_codes(fault.thread is host, fault.offset)
        if errors is not None:
            _transfer_failed(k, host, t, words, errors)
        else:
            deliver(k, host, t, words)
        return None
    closed = None
    if not (is_any(op.from_spec, k.bits) or is_anylocal(op.from_spec, k.bits)):
        closed = k.resolve(t, op.from_spec)
        if closed is None:
            finish(k, t, error=ipc_error_code(IpcError.NonExisting, RECEIVE_PHASE))
            return None
    sender = _find_sender(k, t, closed)
    if sender is not None:
        if transfer(k, sender, t):
            return sender                # the blocked sender goes on with its receive phase
        return None
    if op.rcv_timeout_us == 0:
        finish(k, t, error=ipc_error_code(IpcError.Timeout, RECEIVE_PHASE))
        return None
    block(k, t, State.WAITING, op.from_spec, closed, op.rcv_timeout_us)
    return None


def block(k: Kernel, t: Tcb, state: State, partner: int, partner_tcb: Tcb | None,
           timeout_us: int | None) -> None:
    t.state = state
    t.partner = partner
    t.partner_tcb = partner_tcb
    t.deadline_us = None if timeout_us is None else k.now + timeout_us
    if state is State.POLLING:
        t.send_seq = k.next_seq()
    k.sched.dequeue(t)
    k.event("ipc_block", thread=t.global_id, state=state.value, partner=partner,
            deadline=t.deadline_us)


def _spec_matches(bits: int, r: Tcb, spec: int, s: Tcb) -> bool:
    """Does FromSpecifier ``spec`` of receiver r accept sender s?"""
    if is_any(spec, bits):
        return True
    if is_anylocal(spec, bits):
        return r.space is s.space
    if spec == s.global_id:
        return True
    return is_local_id(spec, bits) and r.space is s.space and s.utcb_addr == spec


def accepts(k: Kernel, r: Tcb, s: Tcb) -> bool:
    """Is r blocked receiving and willing to take a message from s?"""
    if r.xfer_lock is not None and r.xfer is None:
        return False        # locked in a string copy that waits for the sender's pager
    return r.state is State.WAITING and not r.halted and _spec_matches(k.bits, r, r.partner, s)


def _find_sender(k: Kernel, r: Tcb, closed: Tcb | None) -> Tcb | None:
    best: Tcb | None = None
    for s in k.threads_in_state(State.POLLING):
        if s.partner_tcb is not r or s.halted:
            continue
        if closed is not None and s is not closed:
            continue
        if closed is None and is_anylocal(r.op.from_spec, k.bits) and s.space is not r.space:
            continue
        if best is None or s.send_seq < best.send_seq:
            best = s
    return best


def message_words(k: Kernel, s: Tcb) -> list[int]:
    """MR0..MR(u+t) of the message s sends (tag first)."""
    if s.op is not None and s.op.kmsg is not None:
        return list(s.op.kmsg)
    assert s.utcb is not None
    tag = MsgTag.from_raw(s.utcb.words[0])
    n = min(tag.u + tag.t, NUM_MRS - 1)
    return s.utcb.words[0:1 + n]


def check_message(words: list[int]) -> int | None:
    """None if the message fits the MRs, else the error offset (0)."""
    tag = MsgTag.from_raw(words[0])
    return 0 if tag.u + tag.t > NUM_MRS - 1 else None


class _Fault(Exception):
    """A string copy needs a page of ``thread`` that a user-level pager must map."""

    def __init__(self, thread: Tcb, vaddr: int, access: int, offset: int) -> None:
        super().__init__(thread, vaddr)
        self.thread, self.vaddr, self.access, self.offset = thread, vaddr, access, offset


class _Fail(Exception):
    """A typed-item transfer error: the two error codes (sender, receiver)."""

    def __init__(self, snd: int, rcv: int) -> None:
        super().__init__(snd, rcv)
        self.codes = (snd, rcv)


def _overflow(offset: int) -> _Fail:
    return _Fail(ipc_error_code(IpcError.Overflow, SEND_PHASE, offset),
                 ipc_error_code(IpcError.Overflow, RECEIVE_PHASE, offset))


def _fpage(raw: int, bits: int) -> Fpage:
    fp = Fpage.from_raw(raw)
    if fp.size_log2 == 1 and fp.base == 0:          # CompleteAddressSpace
        return Fpage(0, bits, fp.rights)
    if fp.size_log2 > bits:
        return Fpage(0, 0)
    return fp


def _acceptor(k: Kernel, r: Tcb) -> tuple[Fpage, bool]:
    """The receive window for map/grant items and whether strings are accepted."""
    kind = r.op.kind if r.op is not None else IpcKind.USER
    if kind is IpcKind.PAGEFAULT:
        return Fpage(0, k.bits), False
    if kind is not IpcKind.USER or r.utcb is None:
        return Fpage(0, 0), False
    acc = r.utcb.words[BR0]
    return _fpage(acc & ~0xF, k.bits), bool(acc & 1)


def typed_transfer(k: Kernel, s: Tcb, r: Tcb, words: list[int]) -> tuple[int, int] | None:
    """Carry out the typed items of s's message to r: None, or the error codes."""
    try:
        _typed_items(k, s, r, words)
    except _Fail as fail:
        return fail.codes
    return None


def _string_len(item: int) -> int:
    return item >> 10


def _string_ptrs(item: int) -> int:
    return ((item >> 4) & 0x1F) + 1


def _is_string(item: int) -> bool:
    return not (item >> 3) & 1


def _typed_items(k: Kernel, s: Tcb, r: Tcb, words: list[int]) -> None:
    tag = MsgTag.from_raw(words[0])
    total_mrs = tag.u + tag.t
    if total_mrs > NUM_MRS - 1:
        raise _overflow(0)
    kind = r.op.kind if r.op is not None else IpcKind.USER
    if not tag.t or kind not in (IpcKind.USER, IpcKind.PAGEFAULT):
        return
    window, accept_strings = _acceptor(k, r)
    brs = (r.utcb.words[BR0:BR0 + NUM_BRS] if r.utcb is not None else [0] * NUM_BRS)
    max_br = NUM_BRS - 1
    total = 0
    br = 1
    i = tag.u + 1
    while i < total_mrs:
        item = words[i]
        item_type = (item >> 1) & 7
        if item_type in (MAP_ITEM_TYPE, GRANT_ITEM_TYPE):
            if i + 1 > total_mrs or window.is_nil:
                raise _overflow(total)
            fp = _fpage(words[i + 1], k.bits)
            grant = item_type == GRANT_ITEM_TYPE
            if k.paging is not None:
                access = r.op.fault_access if r.op is not None else 0
                k.mdb.map_fpage(s.space, fp, item & ~0x3FF, r.space, window, grant, access)
                if grant and fp.size_log2 > window.size_log2:
                    k.mdb.unmap_fpage(s.space, fp, flush=True)
            k.event("map", sender=s.global_id, receiver=r.global_id, fpage=words[i + 1],
                    grant=grant)
            i += 2
            continue
        if not _is_string(item):
            raise _overflow(total)
        if not accept_strings:
            raise _overflow(total)
        if i + _string_ptrs(item) > total_mrs:
            raise _overflow(total)
        src = _StringWalk(words, total_mrs, i)
        dst = _StringWalk(brs, max_br, br)
        if not _is_string(dst.item) or br + _string_ptrs(dst.item) > max_br:
            raise _overflow(total)
        accept_strings = bool(dst.item & 1)
        while True:
            n = min(src.left, dst.left)
            done, fault = copy_string(k, s, src.addr, r, dst.addr, n)
            total += done
            if fault is not None and k.paging is not None:
                if fault is s:
                    raise _Fault(s, src.addr + done, R, total)
                raise _Fault(r, dst.addr + done, W, total)
            if fault is not None:
                cur = IpcError.XferTimeoutCurrent
                partner = IpcError.XferTimeoutPartner
                snd_err, rcv_err = (cur, partner) if fault is s else (partner, cur)
                raise _Fail(ipc_error_code(snd_err, SEND_PHASE, total),
                            ipc_error_code(rcv_err, RECEIVE_PHASE, total))
            src.consume(done)
            dst.consume(done)
            if src.left == 0 and not src.next_buffer(total):
                break
            if dst.left == 0 and not dst.next_buffer(total):
                raise _overflow(total)             # the message has more than fits
        i = src.at + src.ptr + 1
        # Skip past the current receive buffer (and its compound parts).
        br, dst_item = dst.at, dst.item
        while True:
            compound = dst_item >> 9 & 1
            br += _string_ptrs(dst_item) + 1
            if br >= NUM_BRS:
                accept_strings = False
                break
            dst_item = brs[br]
            if not compound:
                break


class _StringWalk:
    """The buffers of one string item (its substrings, then the items of a
    compound string) in a word array: MRs for the sender, BRs for the receiver."""

    def __init__(self, words: list[int], limit: int, at: int) -> None:
        self.words, self.limit = words, limit
        self.at, self.ptr = at, 1              # the item word, and which of its pointers
        self.item = words[at]
        self.addr, self.left = words[at + 1] if at + 1 < len(words) else 0, \
            _string_len(self.item)

    def consume(self, n: int) -> None:
        self.addr += n
        self.left -= n

    def next_buffer(self, total: int) -> bool:
        """Move on to the next buffer; False after the last one."""
        if self.ptr < _string_ptrs(self.item):
            self.ptr += 1
            self.addr, self.left = self.words[self.at + self.ptr], _string_len(self.item)
            return True
        if not self.item >> 9 & 1:                 # not compound: that was all
            return False
        self.at += self.ptr + 1
        self.ptr = 1
        if self.at + 1 > self.limit:
            raise _overflow(total)
        self.item = self.words[self.at]
        self.addr, self.left = self.words[self.at + 1], _string_len(self.item)
        if self.at + _string_ptrs(self.item) > self.limit:
            raise _overflow(total)
        return True


def copy_string(k: Kernel, s: Tcb, src: int, r: Tcb, dst: int, n: int) -> tuple[int, Tcb | None]:
    """Copy n bytes from s's src to r's dst: (bytes copied, thread whose page failed)."""
    page = k.page_size
    done = 0
    while done < n:
        sa, da = src + done, dst + done
        chunk = min(n - done, page - sa % page, page - da % page)
        ka = _reach(k, s, sa, R)
        if ka is None:
            return done, s
        kb = _reach(k, r, da, W)
        if kb is None:
            return done, r
        data = k.read_memory(ka, chunk)
        if data is None:
            return done, s
        k.write_memory(kb, data)
        done += chunk
    return done, None


def _reach(k: Kernel, t: Tcb, vaddr: int, access: int) -> int | None:
    """Kernel address of t's vaddr for a string copy. A missing page whose pager is
    a host thread (sigma0) is faulted in on the spot: host pagers answer at once."""
    ka = k.user_address(t, vaddr, access)
    if ka is not None or k.paging is None:
        return ka
    pager = k.resolve(t, t.pager) if t.pager else None
    if pager is None or pager.host is None:
        return None
    label = kernel_label(KernelLabel.PAGEFAULT, k.bits) | access
    reply = pager.host.handle(k, t, [MsgTag(u=2, label=label).raw(k.bits), vaddr,
                                     t.regs.get(k.arch.ip_reg, 0)])
    if not reply or check_message(reply) is not None:
        return None
    tag = MsgTag.from_raw(reply[0])
    i = 1 + tag.u
    while i + 1 <= tag.u + tag.t:
        if (reply[i] >> 1) & 7 in (MAP_ITEM_TYPE, GRANT_ITEM_TYPE):
            k.mdb.map_fpage(pager.space, _fpage(reply[i + 1], k.bits), reply[i] & ~0x3FF,
                            t.space, Fpage(0, k.bits), False, access)
        i += 2
    return k.user_address(t, vaddr, access)


def _transfer_failed(k: Kernel, s: Tcb, r: Tcb, words: list[int], codes: tuple[int, int]) -> None:
    """Both sides get the error; the receiver's MRs hold the message with the E flag."""
    tag = MsgTag.from_raw(words[0])
    err_tag = MsgTag(tag.u, tag.t, (tag.flags & TagFlag.PROPAGATED) | TagFlag.ERROR,
                     tag.label).raw(k.bits)
    r_user = r.op is None or r.op.kind is IpcKind.USER
    s_user = s.op is None or s.op.kind is IpcKind.USER
    if s.host is None:
        finish(k, s, error=codes[0])
        if s_user:
            k.write_utcb(s, 0, [err_tag])
    finish(k, r, error=codes[1])
    if r_user:
        n = min(len(words), NUM_MRS)
        k.write_utcb(r, 0, [err_tag, *words[1:n]])


def _xfer_codes(sender_faulted: bool, offset: int) -> tuple[int, int]:
    cur, partner = IpcError.XferTimeoutCurrent, IpcError.XferTimeoutPartner
    snd, rcv = (cur, partner) if sender_faulted else (partner, cur)
    return ipc_error_code(snd, SEND_PHASE, offset), ipc_error_code(rcv, RECEIVE_PHASE, offset)


def _xfer_timeout_us(k: Kernel, s: Tcb, r: Tcb) -> int | None:
    """min(sender's send, receiver's receive XferTimeouts); None = never."""
    snd = Timeout((s.utcb.words[Tcr.XferTimeouts] >> 16) if s.utcb else 0).us
    rcv = Timeout((r.utcb.words[Tcr.XferTimeouts] & 0xFFFF) if r.utcb else 0).us
    times = [t for t in (snd, rcv) if t is not None]
    return min(times) if times else None


def _xfer_fault(k: Kernel, s: Tcb, r: Tcb, words: list[int], fault: _Fault) -> None:
    """Park the copy; the faulting thread asks its pager (a page-fault IPC)."""
    x = fault.thread
    timeout = _xfer_timeout_us(k, s, r)
    pager = k.resolve(x, x.pager) if x.pager else None
    if timeout == 0 or pager is None or pager.host is not None or x.host is not None:
        # (a host pager was asked already, on the spot, and refused)
        _transfer_failed(k, s, r, words, _xfer_codes(x is s, fault.offset))
        return
    if s.state is not State.POLLING or s.partner_tcb is not r:
        s.state = State.POLLING
        s.partner, s.partner_tcb = r.global_id, r
        s.send_seq = k.next_seq()
        k.sched.dequeue(s)
    if r.state is not State.WAITING:
        # r found s in its own receive phase (it is running): it waits again
        r.state = State.WAITING
        r.partner = r.op.from_spec if r.op is not None else s.global_id
        k.sched.dequeue(r)
    s.deadline_us = None
    r.deadline_us = None
    r.xfer_lock = s
    x.xfer = XferFault(x.op, x.state, x.partner, x.partner_tcb, x.send_seq, s, r, fault.offset)
    x.op = None
    label = kernel_label(KernelLabel.PAGEFAULT, k.bits) | fault.access
    msg = [MsgTag(u=2, label=label).raw(k.bits), fault.vaddr & k.arch.word_mask,
           x.regs.get(k.arch.ip_reg, 0)]
    t = Timeout(Timeout.period(timeout))
    k.event("xfer_pagefault", thread=x.global_id, addr=fault.vaddr, pager=x.pager)
    start_ipc(k, x, x.pager, x.pager, t, t, kind=IpcKind.PAGEFAULT, kmsg=msg,
              fault_access=fault.access)


def _xfer_fault_done(k: Kernel, x: Tcb, error: int | None) -> None:
    """x's page-fault IPC inside a string copy ended: retry the copy, or fail it."""
    st = x.xfer
    assert st is not None
    x.xfer = None
    x.op, x.state, x.partner, x.partner_tcb = st.op, st.state, st.partner, st.partner_tcb
    x.send_seq = st.send_seq
    x.deadline_us = None
    x.host_reply = None
    s, r = st.sender, st.receiver
    r.xfer_lock = None
    alive = (s.state is State.POLLING and s.partner_tcb is r and r.state is State.WAITING
             and s.op is not None and r.op is not None)
    if error is not None or not alive:
        if alive:
            _transfer_failed(k, s, r, message_words(k, s), _xfer_codes(x is s, st.offset))
        elif s.state is State.POLLING and s.partner_tcb is r:
            finish(k, s, error=ipc_error_code(IpcError.Aborted, SEND_PHASE, st.offset))
        elif r.state is State.WAITING and r.xfer is None and r.op is not None:
            finish(k, r, error=ipc_error_code(IpcError.Aborted, RECEIVE_PHASE, st.offset))
        return
    if accepts(k, r, s) and transfer(k, s, r):
        receive_phase(k, s)


def transfer(k: Kernel, s: Tcb, r: Tcb) -> bool:
    """Rendezvous: copy s's message to r and finish r's IPC.

    False when s's IPC cannot go on now: an error (both finished), or a page
    fault inside a string copy (both wait for the pager)."""
    words = message_words(k, s)
    try:
        errors = typed_transfer(k, s, r, words)
    except _Fault as fault:
        _xfer_fault(k, s, r, words, fault)
        return False
    if errors is not None:
        _transfer_failed(k, s, r, words, errors)
        return False
    s.state = State.RUNNING
    s.deadline_us = None
    s.partner_tcb = None
    deliver(k, s, r, words)
    return True


def deliver(k: Kernel, s: Tcb, r: Tcb, words: list[int]) -> None:
    """Hand a (checked) message from s to the receiving r and complete r."""
    tag = MsgTag.from_raw(words[0])
    out_tag = MsgTag(tag.u, tag.t, tag.flags & TagFlag.PROPAGATED, tag.label).raw(k.bits)
    k.log_ipc(s, r, out_tag)
    op = r.op
    kind = op.kind if op else IpcKind.USER
    if kind is IpcKind.STARTUP:
        # Thread start protocol: MR1 = ip, MR2 = sp; no syscall to return from.
        r.regs[k.arch.ip_reg] = words[1] if len(words) > 1 else 0
        r.regs[k.arch.sp_reg] = words[2] if len(words) > 2 else 0
        finish(k, r, from_id=None)
        return
    if kind is IpcKind.EXCEPTION:
        exception.apply_reply(k, r, words)
        finish(k, r, from_id=None)
        return
    if kind is IpcKind.PAGEFAULT:
        # The reply's map items are in place: the thread retries the access.
        finish(k, r, from_id=None)
        return
    k.write_utcb(r, 0, [out_tag, *words[1:]])
    finish(k, r, from_id=k.id_as_seen_by(r, s))


def finish(k: Kernel, t: Tcb, from_id: int | None = NILTHREAD, error: int | None = None) -> None:
    """Complete t's IPC: results, ErrorCode, state; t becomes runnable.

    ``from_id`` None means "not a syscall return" (startup, exception IPC).
    """
    op = t.op
    kind = op.kind if op else IpcKind.USER
    if t.xfer is not None and kind is IpcKind.PAGEFAULT:
        t.op = None
        if error is not None:
            k.event("ipc_error", thread=t.global_id, error=error)
        _xfer_fault_done(k, t, error)
        return
    t.op = None
    t.state = State.RUNNING
    t.deadline_us = None
    t.partner = NILTHREAD
    t.partner_tcb = None
    t.host_reply = None
    if error is not None:
        if kind in (IpcKind.EXCEPTION, IpcKind.PAGEFAULT):
            k.halt(t, f"{kind.value} IPC failed (ErrorCode {error:#x})")
            return
        if kind is IpcKind.USER:
            k.write_utcb(t, 0, [error_tag(k.bits)])
            k.write_utcb(t, Tcr.ErrorCode, [error])
            k.set_results(t, NILTHREAD)
        k.event("ipc_error", thread=t.global_id, error=error)
    elif from_id is not None:
        k.set_results(t, from_id)
    k.wake(t)


def cancel(k: Kernel, t: Tcb) -> None:
    """Abort t's blocked IPC (ExchangeRegisters r/s bits): error 3 in its phase."""
    phase = SEND_PHASE if t.state is State.POLLING else RECEIVE_PHASE
    finish(k, t, error=ipc_error_code(IpcError.Cancelled, phase))


def expire(k: Kernel, t: Tcb) -> None:
    """t's send or receive timeout ran out (or, in an exception IPC with a host
    server that keeps its own timeouts, the server's deadline for it came)."""
    server = t.partner_tcb.host if t.partner_tcb is not None else None
    on_timeout = getattr(server, "exception_timeout", None)
    if on_timeout is not None and t.op is not None and t.op.kind is IpcKind.EXCEPTION:
        t.deadline_us = None
        on_timeout(k, t)
        return
    phase = SEND_PHASE if t.state is State.POLLING else RECEIVE_PHASE
    finish(k, t, error=ipc_error_code(IpcError.Timeout, phase))


def partner_gone(k: Kernel, dead: Tcb) -> None:
    """Threads sending to / waiting for a deleted thread get 'non-existing partner'."""
    for t in list(k.threads_in_state(State.POLLING)):
        if t.partner_tcb is dead:
            finish(k, t, error=ipc_error_code(IpcError.NonExisting, SEND_PHASE))
    for t in list(k.threads_in_state(State.WAITING)):
        if t.partner_tcb is dead:
            finish(k, t, error=ipc_error_code(IpcError.NonExisting, RECEIVE_PHASE))
    # A string copy parked for a page fault: the other side is released.
    for t in list(k.threads.values()):
        if t.xfer_lock is dead:                        # we received from the dead sender
            t.xfer_lock = None
            if t.xfer is None and t.state is State.WAITING:
                finish(k, t, error=ipc_error_code(IpcError.Aborted, RECEIVE_PHASE))
        if t.xfer is not None and dead in (t.xfer.sender, t.xfer.receiver):
            # t is asking its pager on behalf of a copy with the dead thread: when that
            # ends, _xfer_fault_done finds the copy gone and fails t's IPC (aborted).
            if t.xfer.receiver is not t:
                t.xfer.receiver.xfer_lock = None
    dead.xfer = None
    dead.xfer_lock = None


def _send_to_host(k: Kernel, cur: Tcb, dest: Tcb) -> bool:
    """Deliver to a host-side thread; its reply waits for cur's receive phase.

    The host thread answers at once (it is always waiting); a reply the
    sender does not receive right away is dropped, as a server's reply with
    a zero send timeout would be.
    """
    words = message_words(k, cur)
    if check_message(words) is not None:
        finish(k, cur, error=ipc_error_code(IpcError.Overflow, SEND_PHASE))
        return False
    k.log_ipc(cur, dest, words[0])
    assert dest.host is not None
    reply = dest.host.handle(k, cur, words)
    if reply is not None and check_message(reply) is None:
        cur.host_reply = (dest, reply)
    return True
