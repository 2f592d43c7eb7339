#include <iguana/iguana.h>

#define EAS IGUANA_IID_EAS

eas_ref_t eas_create(L4_Fpage_t utcb, L4_Word_t *space_id)
{
    L4_Word_t in[3] = { pd_myself(), utcb.raw, 0 }, out[2];
    if (iguana_call(IGUANA_IID_PD, 4, 3, in, 2, out))
        return 0;
    if (space_id)
        *space_id = out[1];
    return out[0];
}

int eas_delete(eas_ref_t eas)
{
    L4_Word_t in[1] = { eas };
    return iguana_call(EAS, 1, 1, in, 0, 0);
}

L4_ThreadId_t eas_create_thread(eas_ref_t eas, L4_ThreadId_t pager, L4_ThreadId_t scheduler,
                                void *utcb, L4_ThreadId_t *handle_rv)
{
    L4_Word_t in[4] = { eas, pager.raw, scheduler.raw, (L4_Word_t)utcb }, out[3];
    L4_ThreadId_t t = L4_nilthread;
    if (iguana_call(EAS, 0, 4, in, 3, out) == 0)
        t.raw = out[1];
    if (handle_rv)
        *handle_rv = t;
    return t;
}

int eas_delete_thread(eas_ref_t eas, L4_ThreadId_t thread)
{
    (void)eas;
    return thread_delete(thread);
}

int eas_map(eas_ref_t eas, L4_Fpage_t src_fpage, uintptr_t dst_addr, uintptr_t attributes)
{
    L4_Word_t in[4] = { eas, src_fpage.raw, dst_addr, attributes };
    return iguana_call(EAS, 2, 4, in, 0, 0);
}

int eas_unmap(eas_ref_t eas, L4_Fpage_t dst_fpage)
{
    L4_Word_t in[2] = { eas, dst_fpage.raw };
    return iguana_call(EAS, 3, 2, in, 0, 0);
}
