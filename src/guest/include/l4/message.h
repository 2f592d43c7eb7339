/*
 * L4 X.2 messages: MsgTag (MR0), message registers, buffer registers,
 * typed items and acceptors, and the L4_Msg_t helper buffer.
 */
#ifndef L4_MESSAGE_H
#define L4_MESSAGE_H

#include <l4/types.h>
#include <l4/utcb.h>

/* ---- MsgTag: label:16(48) | flags:4 | t:6 | u:6 ---- */
typedef union {
    L4_Word_t raw;
    struct {
        L4_Word_t u : 6;
        L4_Word_t t : 6;
        L4_Word_t flags : 4;    /* 1 propagated, 2 redirected, 4 xcpu, 8 error */
        L4_Word_t label : L4_WORD_BITS - 16;
    } X;
} L4_MsgTag_t;

#define L4_Niltag ((L4_MsgTag_t){ .raw = 0 })

L4_INLINE L4_Bool_t L4_IsMsgTagEqual(L4_MsgTag_t a, L4_MsgTag_t b) { return a.raw == b.raw; }
L4_INLINE L4_Bool_t L4_IsMsgTagNotEqual(L4_MsgTag_t a, L4_MsgTag_t b) { return a.raw != b.raw; }
L4_INLINE L4_Word_t L4_Label(L4_MsgTag_t t) { return t.raw >> 16; }
L4_INLINE L4_Word_t L4_MsgTagLabel(L4_MsgTag_t t) { return t.raw >> 16; }
L4_INLINE L4_Word_t L4_UntypedWords(L4_MsgTag_t t) { return t.raw & 0x3f; }
L4_INLINE L4_Word_t L4_TypedWords(L4_MsgTag_t t) { return (t.raw >> 6) & 0x3f; }
L4_INLINE L4_Word_t L4_MsgTagU(L4_MsgTag_t t) { return t.raw & 0x3f; }
L4_INLINE L4_Word_t L4_MsgTagT(L4_MsgTag_t t) { return (t.raw >> 6) & 0x3f; }
L4_INLINE L4_Word_t L4_MsgTagFlags(L4_MsgTag_t t) { return (t.raw >> 12) & 0xf; }

L4_INLINE L4_MsgTag_t L4_MsgTagAddLabel(L4_MsgTag_t t, L4_Word_t label)
{
    t.raw = (t.raw & 0xffff) | (label << 16);
    return t;
}
L4_INLINE L4_MsgTag_t L4_MsgTagAddLabelTo(L4_MsgTag_t *t, L4_Word_t label)
{
    *t = L4_MsgTagAddLabel(*t, label);
    return *t;
}
L4_INLINE void L4_Set_Label(L4_MsgTag_t *t, L4_Word_t label) { L4_MsgTagAddLabelTo(t, label); }
L4_INLINE void L4_Set_MsgTagLabel(L4_MsgTag_t *t, L4_Word_t label) { L4_MsgTagAddLabelTo(t, label); }

/* Build a tag from its fields. */
L4_INLINE L4_MsgTag_t L4_MsgTagMake(L4_Word_t label, L4_Word_t u, L4_Word_t t)
{
    L4_MsgTag_t tag;
    tag.raw = (label << 16) | ((t & 0x3f) << 6) | (u & 0x3f);
    return tag;
}

L4_INLINE L4_Bool_t L4_IpcSucceeded(L4_MsgTag_t t) { return (L4_MsgTagFlags(t) & 8) == 0; }
L4_INLINE L4_Bool_t L4_IpcFailed(L4_MsgTag_t t) { return (L4_MsgTagFlags(t) & 8) != 0; }
L4_INLINE L4_Bool_t L4_IpcPropagated(L4_MsgTag_t t) { return (L4_MsgTagFlags(t) & 1) != 0; }
L4_INLINE L4_Bool_t L4_IpcRedirected(L4_MsgTag_t t) { return (L4_MsgTagFlags(t) & 2) != 0; }
L4_INLINE L4_Bool_t L4_IpcXcpu(L4_MsgTag_t t) { return (L4_MsgTagFlags(t) & 4) != 0; }
L4_INLINE void L4_Set_Propagation(L4_MsgTag_t *t) { t->raw |= 1UL << 12; }

/* ---- message and buffer registers ---- */
L4_INLINE L4_MsgTag_t L4_MsgTag(void)
{
    L4_MsgTag_t t;
    t.raw = __L4_TCR(__L4_TCR_MR0);
    return t;
}
L4_INLINE void L4_Set_MsgTag(L4_MsgTag_t t) { __L4_Set_TCR(__L4_TCR_MR0, t.raw); }

L4_INLINE void L4_LoadMR(int i, L4_Word_t w) { __L4_Utcb()[__L4_TCR_MR0 + i] = w; }
L4_INLINE void L4_StoreMR(int i, L4_Word_t *w) { *w = __L4_Utcb()[__L4_TCR_MR0 + i]; }
L4_INLINE void L4_LoadMRs(int i, int k, const L4_Word_t *w)
{
    volatile L4_Word_t *mr = __L4_Utcb() + __L4_TCR_MR0 + i;
    while (k-- > 0)
        *mr++ = *w++;
}
L4_INLINE void L4_StoreMRs(int i, int k, L4_Word_t *w)
{
    volatile L4_Word_t *mr = __L4_Utcb() + __L4_TCR_MR0 + i;
    while (k-- > 0)
        *w++ = *mr++;
}
L4_INLINE void L4_LoadBR(int i, L4_Word_t w) { __L4_Utcb()[__L4_TCR_BR0 + i] = w; }
L4_INLINE void L4_StoreBR(int i, L4_Word_t *w) { *w = __L4_Utcb()[__L4_TCR_BR0 + i]; }
L4_INLINE void L4_LoadBRs(int i, int k, const L4_Word_t *w)
{
    while (k-- > 0)
        L4_LoadBR(i++, *w++);
}
L4_INLINE void L4_StoreBRs(int i, int k, L4_Word_t *w)
{
    while (k-- > 0)
        L4_StoreBR(i++, w++);
}

/* ---- typed items (2 words each) ---- */
typedef union {
    L4_Word_t raw[2];
    struct {
        L4_Word_t C : 1;
        L4_Word_t __type : 3;
        L4_Word_t __zeros : 6;
        L4_Word_t snd_base : L4_WORD_BITS - 10;
        L4_Fpage_t snd_fpage;
    } X;
} L4_MapItem_t, L4_GrantItem_t;

#define __L4_MAP_ITEM_TYPE   0x8    /* type 0b100 in bits 1..3 */
#define __L4_GRANT_ITEM_TYPE 0xa    /* type 0b101 */

L4_INLINE L4_MapItem_t L4_MapItem(L4_Fpage_t f, L4_Word_t snd_base)
{
    L4_MapItem_t m;
    m.raw[0] = (snd_base & ~0x3ffUL) | __L4_MAP_ITEM_TYPE;
    m.raw[1] = f.raw;
    return m;
}
L4_INLINE L4_GrantItem_t L4_GrantItem(L4_Fpage_t f, L4_Word_t snd_base)
{
    L4_GrantItem_t g;
    g.raw[0] = (snd_base & ~0x3ffUL) | __L4_GRANT_ITEM_TYPE;
    g.raw[1] = f.raw;
    return g;
}
L4_INLINE L4_Bool_t L4_IsMapItem(L4_MapItem_t m) { return (m.raw[0] & 0xe) == __L4_MAP_ITEM_TYPE; }
L4_INLINE L4_Bool_t L4_IsGrantItem(L4_GrantItem_t g) { return (g.raw[0] & 0xe) == __L4_GRANT_ITEM_TYPE; }
L4_INLINE L4_Fpage_t L4_MapItemSndFpage(L4_MapItem_t m) { return (L4_Fpage_t){ .raw = m.raw[1] }; }
L4_INLINE L4_Word_t L4_MapItemSndBase(L4_MapItem_t m) { return m.raw[0] & ~0x3ffUL; }
L4_INLINE L4_Fpage_t L4_GrantItemSndFpage(L4_GrantItem_t g) { return (L4_Fpage_t){ .raw = g.raw[1] }; }
L4_INLINE L4_Word_t L4_GrantItemSndBase(L4_GrantItem_t g) { return g.raw[0] & ~0x3ffUL; }

/* Simple string item (one substring): length:22(54) | c:1 | j:5 | type | C */
typedef union {
    L4_Word_t raw[2];
    struct {
        L4_Word_t C : 1;
        L4_Word_t cache_hints : 2;
        L4_Word_t __zero : 1;
        L4_Word_t j : 5;
        L4_Word_t c : 1;
        L4_Word_t string_length : L4_WORD_BITS - 10;
        void *string_ptr;
    } X;
} L4_StringItem_t;

L4_INLINE L4_StringItem_t L4_StringItem(int size, void *address)
{
    L4_StringItem_t s;
    s.raw[0] = (L4_Word_t)size << 10;
    s.raw[1] = (L4_Word_t)address;
    return s;
}
L4_INLINE L4_Bool_t L4_IsStringItem(L4_StringItem_t *s) { return (s->raw[0] & 0x8) == 0; }

/* ---- acceptor (BR0): RcvWindow fpage | c | s ---- */
typedef union {
    L4_Word_t raw;
    struct {
        L4_Word_t s : 1;
        L4_Word_t c : 1;
        L4_Word_t __zeros : 2;
        L4_Word_t RcvWindow : L4_WORD_BITS - 4;
    } X;
} L4_Acceptor_t;

#define L4_UntypedWordsAcceptor ((L4_Acceptor_t){ .raw = 0 })
#define L4_StringItemsAcceptor  ((L4_Acceptor_t){ .raw = 1 })

L4_INLINE L4_Acceptor_t L4_MapGrantItems(L4_Fpage_t rcv_window)
{
    L4_Acceptor_t a;
    a.raw = rcv_window.raw & ~0xfUL;
    return a;
}
L4_INLINE L4_Acceptor_t L4_AddAcceptor(L4_Acceptor_t a, L4_Acceptor_t b)
{
    a.raw |= b.raw;
    return a;
}
L4_INLINE L4_Acceptor_t L4_RemoveAcceptor(L4_Acceptor_t a, L4_Acceptor_t b)
{
    L4_Acceptor_t r;
    r.raw = a.raw & ~b.raw;
    return r;
}
L4_INLINE L4_Bool_t L4_HasStringItems(L4_Acceptor_t a) { return a.raw & 1; }
L4_INLINE L4_Bool_t L4_HasMapGrantItems(L4_Acceptor_t a) { return (a.raw & ~0xfUL) != 0; }
L4_INLINE L4_Fpage_t L4_RcvWindow(L4_Acceptor_t a) { return (L4_Fpage_t){ .raw = a.raw & ~0xfUL }; }
L4_INLINE void L4_Accept(L4_Acceptor_t a) { L4_LoadBR(0, a.raw); }
L4_INLINE L4_Acceptor_t L4_Accepted(void)
{
    L4_Acceptor_t a;
    L4_StoreBR(0, &a.raw);
    return a;
}

/* ---- L4_Msg_t: a message assembled in memory, then loaded into MRs ---- */
typedef union {
    L4_Word_t raw[__L4_NUM_MRS];
    L4_Word_t msg[__L4_NUM_MRS];
    L4_MsgTag_t tag;
} L4_Msg_t;

L4_INLINE void L4_MsgClear(L4_Msg_t *m) { m->tag.raw = 0; }
L4_INLINE L4_MsgTag_t L4_MsgMsgTag(L4_Msg_t *m) { return m->tag; }
L4_INLINE void L4_Set_MsgMsgTag(L4_Msg_t *m, L4_MsgTag_t t) { m->tag = t; }
L4_INLINE L4_Word_t L4_MsgLabel(L4_Msg_t *m) { return L4_Label(m->tag); }
L4_INLINE void L4_Set_MsgLabel(L4_Msg_t *m, L4_Word_t label) { L4_Set_Label(&m->tag, label); }

/* Untyped word u (0-based; MR u+1). */
L4_INLINE L4_Word_t L4_MsgWord(L4_Msg_t *m, L4_Word_t u) { return m->msg[u + 1]; }
L4_INLINE void L4_MsgGetWord(L4_Msg_t *m, L4_Word_t u, L4_Word_t *w) { *w = m->msg[u + 1]; }

/* Append an untyped word (typed words, if any, move up by one). */
L4_INLINE void L4_MsgAppendWord(L4_Msg_t *m, L4_Word_t w)
{
    L4_Word_t u = L4_UntypedWords(m->tag), t = L4_TypedWords(m->tag);
    if (u + t + 1 >= __L4_NUM_MRS)
        return;
    for (L4_Word_t i = u + t; i > u; i--)
        m->msg[i + 1] = m->msg[i];
    m->msg[u + 1] = w;
    m->tag.raw += 1;
}

L4_INLINE void __L4_MsgAppendItem(L4_Msg_t *m, L4_Word_t w0, L4_Word_t w1)
{
    L4_Word_t u = L4_UntypedWords(m->tag), t = L4_TypedWords(m->tag);
    if (u + t + 2 >= __L4_NUM_MRS)
        return;
    m->msg[u + t + 1] = w0;
    m->msg[u + t + 2] = w1;
    m->tag.raw += 2 << 6;
}
L4_INLINE void L4_MsgAppendMapItem(L4_Msg_t *m, L4_MapItem_t mi) { __L4_MsgAppendItem(m, mi.raw[0], mi.raw[1]); }
L4_INLINE void L4_MsgAppendGrantItem(L4_Msg_t *m, L4_GrantItem_t g) { __L4_MsgAppendItem(m, g.raw[0], g.raw[1]); }
L4_INLINE void L4_MsgAppendSimpleStringItem(L4_Msg_t *m, L4_StringItem_t s) { __L4_MsgAppendItem(m, s.raw[0], s.raw[1]); }

/* Typed item at typed word offset t (0-based). */
L4_INLINE void L4_MsgGetMapItem(L4_Msg_t *m, L4_Word_t t, L4_MapItem_t *mi)
{
    L4_Word_t base = L4_UntypedWords(m->tag) + 1 + t;
    mi->raw[0] = m->msg[base];
    mi->raw[1] = m->msg[base + 1];
}

L4_INLINE void L4_MsgPut(L4_Msg_t *m, L4_Word_t label, int u, const L4_Word_t *untyped,
                         int t, const void *items)
{
    const L4_Word_t *typed = (const L4_Word_t *)items;
    for (int i = 0; i < u; i++)
        m->msg[i + 1] = untyped[i];
    for (int i = 0; i < t; i++)
        m->msg[u + i + 1] = typed[i];
    m->tag = L4_MsgTagMake(label, u, t);
}

L4_INLINE void L4_MsgGet(const L4_Msg_t *m, L4_Word_t *untyped, void *items)
{
    L4_Word_t u = L4_UntypedWords(m->tag), t = L4_TypedWords(m->tag);
    L4_Word_t *typed = (L4_Word_t *)items;
    for (L4_Word_t i = 0; i < u; i++)
        untyped[i] = m->msg[i + 1];
    for (L4_Word_t i = 0; i < t; i++)
        typed[i] = m->msg[u + i + 1];
}

/* Copy the message into MR0.. / MR0.. into the message. */
L4_INLINE void L4_MsgLoad(L4_Msg_t *m)
{
    L4_LoadMRs(0, 1 + L4_UntypedWords(m->tag) + L4_TypedWords(m->tag), m->msg);
}
L4_INLINE void L4_MsgStore(L4_MsgTag_t t, L4_Msg_t *m)
{
    L4_Word_t n = L4_UntypedWords(t) + L4_TypedWords(t);
    if (n > __L4_NUM_MRS - 1)
        n = __L4_NUM_MRS - 1;
    m->tag = t;
    L4_StoreMRs(1, (int)n, m->msg + 1);
}

#endif /* L4_MESSAGE_H */
