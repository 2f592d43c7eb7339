/* Sigma0 protocol: request pages from sigma0 (label -6 << 4). */
#ifndef L4_SIGMA0_H
#define L4_SIGMA0_H

#include <l4/types.h>
#include <l4/message.h>
#include <l4/ipc.h>
#include <l4/kip.h>

#define L4_SIGMA0_LABEL ((L4_Word_t)-96 & ((1UL << (L4_WORD_BITS - 16)) - 1))   /* -6 << 4 */

/* sigma0 is the first user thread; nilthread picks it from the KIP. */
L4_INLINE L4_ThreadId_t __L4_Sigma0Id(L4_ThreadId_t s0)
{
    if (!L4_IsNilThread(s0))
        return s0;
    return L4_GlobalId(L4_ThreadIdUserBase(L4_GetKernelInterface()), 1);
}

/* Ask for fpage f (with attributes) into rcv_window; Nilpage on refusal. */
L4_INLINE L4_Fpage_t L4_Sigma0_GetPage_RcvWindow(L4_ThreadId_t s0, L4_Fpage_t f,
                                                 L4_Fpage_t rcv_window)
{
    L4_MsgTag_t tag;
    L4_Word_t item1;
    L4_LoadMR(0, L4_MsgTagMake(L4_SIGMA0_LABEL, 2, 0).raw);
    L4_LoadMR(1, f.raw);
    L4_LoadMR(2, 0);                    /* attributes: default memory */
    L4_Accept(L4_MapGrantItems(rcv_window));
    tag = L4_Call(__L4_Sigma0Id(s0));
    L4_Accept(L4_UntypedWordsAcceptor);
    if (L4_IpcFailed(tag) || L4_TypedWords(tag) < 2)
        return L4_Nilpage;
    L4_StoreMR(L4_UntypedWords(tag) + 2, &item1);
    return (L4_Fpage_t){ .raw = item1 };
}

L4_INLINE L4_Fpage_t L4_Sigma0_GetPage(L4_ThreadId_t s0, L4_Fpage_t f)
{
    return L4_Sigma0_GetPage_RcvWindow(s0, f, L4_CompleteAddressSpace);
}

/* Any page of size 2^s: sigma0 picks the address (base ~0 in the request). */
L4_INLINE L4_Fpage_t L4_Sigma0_GetAny(L4_ThreadId_t s0, L4_Word_t s, L4_Fpage_t rcv_window)
{
    return L4_Sigma0_GetPage_RcvWindow(s0, L4_FpageLog2(~0UL, (int)s), rcv_window);
}

#endif /* L4_SIGMA0_H */
