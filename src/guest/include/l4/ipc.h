/*
 * L4 X.2 IPC: L4_Ipc and its convenience forms, timeouts, IPC error codes.
 * The caller loads MR0 (tag) and the MRs before a send.
 */
#ifndef L4_IPC_H
#define L4_IPC_H

#include <l4/types.h>
#include <l4/message.h>
#include <l4/utcb.h>

/* Timeouts word: send timeout in the high half, receive timeout in the low. */
L4_INLINE L4_Word_t L4_Timeouts(L4_Time_t snd, L4_Time_t rcv)
{
    return ((L4_Word_t)snd.raw << 16) | rcv.raw;
}

/* IPC error code = err << 1 | phase (0 send, 1 receive); offset in >> 4. */
#define L4_ErrTimeout           1
#define L4_ErrNonExist          2
#define L4_ErrCanceled          3
#define L4_ErrMsgOverflow       4
#define L4_ErrXferTimeoutCurrent 5
#define L4_ErrXferTimeoutPartner 6
#define L4_ErrAborted           7
L4_INLINE L4_Word_t L4_IpcErrorKind(L4_Word_t code) { return (code >> 1) & 7; }
L4_INLINE L4_Bool_t L4_IpcErrorInReceive(L4_Word_t code) { return code & 1; }

L4_INLINE L4_Word_t L4_XferTimeouts(void) { return __L4_TCR(__L4_TCR_XFER_TIMEOUTS); }
L4_INLINE void L4_Set_XferTimeouts(L4_Word_t t) { __L4_Set_TCR(__L4_TCR_XFER_TIMEOUTS, t); }
L4_INLINE L4_ThreadId_t L4_IntendedReceiver(void)
{
    return (L4_ThreadId_t){ .raw = __L4_TCR(__L4_TCR_INTENDED_RECEIVER) };
}
L4_INLINE L4_ThreadId_t L4_ActualSender(void)
{
    return (L4_ThreadId_t){ .raw = __L4_TCR(__L4_TCR_ACTUAL_SENDER) };
}
L4_INLINE void L4_Set_VirtualSender(L4_ThreadId_t t) { __L4_Set_TCR(__L4_TCR_ACTUAL_SENDER, t.raw); }

L4_INLINE L4_MsgTag_t L4_Ipc(L4_ThreadId_t to, L4_ThreadId_t from_specifier,
                             L4_Word_t timeouts, L4_ThreadId_t *from)
{
    L4_MsgTag_t tag;
    tag.raw = __l4_arch_ipc(to.raw, from_specifier.raw, timeouts, &from->raw);
    return tag;
}

L4_INLINE L4_MsgTag_t L4_Lipc(L4_ThreadId_t to, L4_ThreadId_t from_specifier,
                              L4_Word_t timeouts, L4_ThreadId_t *from)
{
    L4_MsgTag_t tag;
    tag.raw = __l4_arch_lipc(to.raw, from_specifier.raw, timeouts, &from->raw);
    return tag;
}

L4_INLINE L4_MsgTag_t L4_Call_Timeouts(L4_ThreadId_t to, L4_Time_t snd, L4_Time_t rcv)
{
    L4_ThreadId_t dummy;
    return L4_Ipc(to, to, L4_Timeouts(snd, rcv), &dummy);
}
L4_INLINE L4_MsgTag_t L4_Call(L4_ThreadId_t to)
{
    return L4_Call_Timeouts(to, L4_Never, L4_Never);
}

L4_INLINE L4_MsgTag_t L4_Send_Timeout(L4_ThreadId_t to, L4_Time_t snd)
{
    L4_ThreadId_t dummy;
    return L4_Ipc(to, L4_nilthread, L4_Timeouts(snd, L4_Never), &dummy);
}
L4_INLINE L4_MsgTag_t L4_Send(L4_ThreadId_t to) { return L4_Send_Timeout(to, L4_Never); }
L4_INLINE L4_MsgTag_t L4_Reply(L4_ThreadId_t to) { return L4_Send_Timeout(to, L4_ZeroTime); }

L4_INLINE L4_MsgTag_t L4_Receive_Timeout(L4_ThreadId_t from, L4_Time_t rcv)
{
    L4_ThreadId_t dummy;
    return L4_Ipc(L4_nilthread, from, L4_Timeouts(L4_Never, rcv), &dummy);
}
L4_INLINE L4_MsgTag_t L4_Receive(L4_ThreadId_t from)
{
    return L4_Receive_Timeout(from, L4_Never);
}

L4_INLINE L4_MsgTag_t L4_Wait_Timeout(L4_Time_t rcv, L4_ThreadId_t *from)
{
    return L4_Ipc(L4_nilthread, L4_anythread, L4_Timeouts(L4_Never, rcv), from);
}
L4_INLINE L4_MsgTag_t L4_Wait(L4_ThreadId_t *from) { return L4_Wait_Timeout(L4_Never, from); }

L4_INLINE L4_MsgTag_t L4_ReplyWait_Timeout(L4_ThreadId_t to, L4_Time_t rcv,
                                           L4_ThreadId_t *from)
{
    return L4_Ipc(to, L4_anythread, L4_Timeouts(L4_ZeroTime, rcv), from);
}
L4_INLINE L4_MsgTag_t L4_ReplyWait(L4_ThreadId_t to, L4_ThreadId_t *from)
{
    return L4_ReplyWait_Timeout(to, L4_Never, from);
}

L4_INLINE L4_MsgTag_t L4_Lcall(L4_ThreadId_t to)
{
    L4_ThreadId_t dummy;
    return L4_Lipc(to, to, L4_Timeouts(L4_Never, L4_Never), &dummy);
}
L4_INLINE L4_MsgTag_t L4_LreplyWait(L4_ThreadId_t to, L4_ThreadId_t *from)
{
    return L4_Lipc(to, L4_anylocalthread, L4_Timeouts(L4_ZeroTime, L4_Never), from);
}

/* Sleep: a receive from ourselves, which nobody will ever satisfy. */
L4_INLINE L4_MsgTag_t L4_Sleep(L4_Time_t t)
{
    L4_ThreadId_t self = { .raw = __L4_TCR(__L4_TCR_MY_GLOBAL_ID) };
    return L4_Receive_Timeout(self, t);
}

#endif /* L4_IPC_H */
