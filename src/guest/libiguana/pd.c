#include <iguana/iguana.h>

#define PD IGUANA_IID_PD

pd_ref_t pd_myself(void)
{
    static pd_ref_t me;
    L4_Word_t out[1];
    if (me == 0 && iguana_call(PD, 0, 0, 0, 1, out) == 0)
        me = out[0];
    return me;
}

pd_ref_t pd_create_pd(pd_ref_t parent)
{
    L4_Word_t in[1] = { parent }, out[1];
    return iguana_call(PD, 2, 1, in, 1, out) ? 0 : out[0];
}

pd_ref_t pd_create(void) { return pd_create_pd(pd_myself()); }

int pd_delete(pd_ref_t pd)
{
    L4_Word_t in[1] = { pd };
    return iguana_call(PD, 11, 1, in, 0, 0);
}

memsection_ref_t pd_create_memsection_full(pd_ref_t pd, uintptr_t size, uintptr_t base, int flags,
                                           physpool_ref_t pp, virtpool_ref_t vp, uintptr_t *got)
{
    L4_Word_t in[6] = { pd, size, base, (L4_Word_t)flags, pp, vp }, out[2];
    if (iguana_call(PD, 1, 6, in, 2, out))
        return 0;
    if (got)
        *got = out[1];
    return out[0];
}

memsection_ref_t pd_create_memsection(pd_ref_t pd, uintptr_t size, uintptr_t *base)
{
    return pd_create_memsection_full(pd, size, 0, 0, 0, 0, base);
}

memsection_ref_t pd_create_memsection_fixed(pd_ref_t pd, uintptr_t size, uintptr_t base)
{
    return pd_create_memsection_full(pd, size, base, IGUANA_MS_FIXED, 0, 0, 0);
}

thread_ref_t pd_create_thread_with_priority(pd_ref_t pd, int priority, L4_ThreadId_t *thrd)
{
    L4_Word_t in[2] = { pd, (L4_Word_t)priority }, out[2];
    if (iguana_call(PD, 3, 2, in, 2, out))
        return 0;
    if (thrd)
        thrd->raw = out[1];
    return out[0];
}

thread_ref_t pd_create_thread(pd_ref_t pd, L4_ThreadId_t *thrd)
{
    return pd_create_thread_with_priority(pd, 100, thrd);
}

clist_ref_t pd_create_clist(pd_ref_t pd)
{
    L4_Word_t in[1] = { pd }, out[1];
    return iguana_call(PD, 6, 1, in, 1, out) ? 0 : out[0];
}

int pd_add_clist(pd_ref_t pd, clist_ref_t clist)
{
    L4_Word_t in[2] = { pd, clist };
    return iguana_call(PD, 9, 2, in, 0, 0);
}

int pd_release_clist(pd_ref_t pd, clist_ref_t clist)
{
    L4_Word_t in[2] = { pd, clist };
    return iguana_call(PD, 10, 2, in, 0, 0);
}

clist_ref_t pd_default_clist(void)
{
    L4_Word_t out[1];
    return iguana_call(PD, 40, 0, 0, 1, out) ? 0 : out[0];
}

int pd_attach(pd_ref_t pd, memsection_ref_t ms, int rwx)
{
    L4_Word_t in[3] = { pd, ms, (L4_Word_t)rwx };
    return iguana_call(PD, 12, 3, in, 0, 0);
}

int pd_detach(pd_ref_t pd, memsection_ref_t ms)
{
    L4_Word_t in[2] = { pd, ms };
    return iguana_call(PD, 13, 2, in, 0, 0);
}
