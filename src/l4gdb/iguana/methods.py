"""The IPC methods of the PD, thread, memsection, session and clist interfaces.

Each is ``(server, caller PD, sender TCB, MR1, MR2, ...) -> out-parameters``;
``IguanaServer.handle`` passes as many words as the function takes.
"""

from __future__ import annotations

from l4gdb.kernel.thread import Tcb

from .errors import Fail as _Fail
from .errors import IguanaError
from .pools import Physpool, Virtpool
from .server import (
    CLIST_MAX_CAPS,
    CLISTS_PER_PD,
    IID_CLIST,
    IID_MEMSECTION,
    IID_PD,
    IID_SESSION,
    IID_THREAD,
    METHODS,
    MS_FIXED,
    MS_USER,
    Clist,
    IgThread,
    IguanaServer,
    Memsection,
    Pd,
    Session,
    join_passwd,
    split_passwd,
)


def _room_for_clist(pd: Pd) -> None:
    """A PD holds at most CLISTS_PER_PD clists: each is host memory, and every
    clist of a PD is searched on each of its calls."""
    if len(pd.clists) >= CLISTS_PER_PD:
        raise _Fail(IguanaError.ENOMEM)


def _pd_mypd(s: IguanaServer, caller: Pd, t: Tcb) -> tuple[int, ...]:
    return (caller.ref,)


def _pd_create_memsection(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int, size: int,
                          base: int, flags: int, physpool: int,
                          virtpool: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    pp = s._obj(caller, physpool, Physpool) if physpool else None
    vp = s._obj(caller, virtpool, Virtpool) if virtpool else None
    ms = s.create_memsection(pd, size, base, fixed=bool(flags & MS_FIXED),
                             user=bool(flags & MS_USER), physpool=pp, virtpool=vp)
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
    _room_for_clist(sv.pd)
    clist = s._new_clist(sv.pd)           # the server sees what the client puts in
    sess = Session(s._ref(), s._passwd(), pd, cl, sv, clist)
    s.objects[sess.ref] = sess
    pd.sessions.append(sess)
    s._grant(caller, sess)
    s._grant(caller, clist)
    return sess.ref, clist.ref


def _pd_create_clist(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    _room_for_clist(pd)
    c = s._new_clist(pd)
    s._grant(caller, c)
    return (c.ref,)


def _pd_add_clist(s: IguanaServer, caller: Pd, t: Tcb, pd_ref: int,
                  clist_ref: int) -> tuple[int, ...]:
    pd = s._obj(caller, pd_ref, Pd)
    c = s._obj(caller, clist_ref, Clist)
    if c not in pd.clists:
        _room_for_clist(pd)
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


def _clist_insert(s: IguanaServer, caller: Pd, t: Tcb, ref: int, obj: int, pw_lo: int,
                  pw_hi: int) -> tuple[int, ...]:
    """Any (ref, password) pair goes in unchecked (Iguana's model: a capability is
    what you know) while the clist holds fewer than CLIST_MAX_CAPS: ENOMEM then,
    as Iguana's clist, a fixed-size memsection, has no room. The password is pw_lo alone on
    64-bit, pw_lo + pw_hi << 32 on 32-bit."""
    assert s.kernel is not None
    c = s._obj(caller, ref, Clist)
    if obj not in s.objects:
        raise _Fail(IguanaError.ENOENT)
    if len(c.caps) >= CLIST_MAX_CAPS:
        raise _Fail(IguanaError.ENOMEM)
    c.caps.append((obj, join_passwd((pw_lo, pw_hi), s.kernel.bits)))
    return ()


def _cap_words(s: IguanaServer, r: int, pw: int) -> tuple[int, ...]:
    assert s.kernel is not None
    return (r, *split_passwd(pw, s.kernel.bits))


def _clist_lookup(s: IguanaServer, caller: Pd, t: Tcb, ref: int, obj: int) -> tuple[int, ...]:
    c = s._obj(caller, ref, Clist)
    for r, pw in c.caps:
        if r == obj:
            return _cap_words(s, r, pw)
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
                return _cap_words(s, r, pw)
    raise _Fail(IguanaError.ENOENT)



# Method numbers follow the order of iguana.idl4 (OKL4 3.0); docs/iguana.md lists them.
METHODS.update({
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
})
