/*
 * Small helpers for user-level pagers (l4gdb's, not X.2 API names): telling a
 * page-fault message apart, answering it with a map item of one of the
 * pager's own pages, and the X.2 start message a new thread waits for.
 */
#ifndef L4_PAGER_H
#define L4_PAGER_H
#include <l4/l4.h>

/* A page-fault message: label -2 << 4 | rwx (top 12 bits -2), two untyped words. */
static inline int l4_is_pagefault(L4_MsgTag_t tag)
{
    L4_Word_t mask = (1UL << (L4_WORD_BITS - 16)) - 1;
    return ((L4_Label(tag) | 0xf) & mask) == (((L4_Word_t)-2 << 4 | 0xf) & mask)
           && L4_UntypedWords(tag) == 2;
}

/* Load the reply to a fault at addr: our own page there, with rights (touched
 * first, so that we have it ourselves). */
static inline void l4_load_map_own_page(L4_Word_t addr, L4_Word_t rights)
{
    L4_Word_t page = addr & ~(L4_Word_t)0xfff;
    (void)*(volatile L4_Word_t *)page;
    L4_Fpage_t fp = L4_FpageLog2(page, 12);
    L4_Set_Rights(&fp, rights);
    L4_MapItem_t item = L4_MapItem(fp, page);
    L4_LoadMR(0, L4_MsgTagMake(0, 0, 2).raw);
    L4_LoadMR(1, item.raw[0]);
    L4_LoadMR(2, item.raw[1]);
}

/* The start message (X.2): from the new thread's pager, MR1 ip, MR2 sp. */
static inline L4_MsgTag_t l4_send_start(L4_ThreadId_t t, L4_Word_t ip, L4_Word_t sp,
                                        L4_Time_t timeout)
{
    L4_LoadMR(0, L4_MsgTagMake(0, 2, 0).raw);
    L4_LoadMR(1, ip);
    L4_LoadMR(2, sp);
    return L4_Send_Timeout(t, timeout);
}

/* A request from one of our own threads, label ``label``: "start thread MR1 at ip
 * MR2, sp MR3" (a new space's thread waits for its pager's start message). Sends
 * it and loads the reply (label 1: the start message failed); 0 if the message
 * is no such request. */
static inline int l4_serve_start_request(L4_MsgTag_t tag, L4_Word_t label, L4_Time_t timeout)
{
    if (L4_Label(tag) != label || L4_UntypedWords(tag) != 3)
        return 0;
    L4_Word_t t, ip, sp;
    L4_StoreMR(1, &t);
    L4_StoreMR(2, &ip);
    L4_StoreMR(3, &sp);
    L4_MsgTag_t r = l4_send_start((L4_ThreadId_t){ .raw = t }, ip, sp, timeout);
    L4_LoadMR(0, L4_MsgTagMake(L4_IpcFailed(r) ? 1 : 0, 0, 0).raw);
    return 1;
}
#endif
