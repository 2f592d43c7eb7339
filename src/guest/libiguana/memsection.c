#include <iguana/iguana.h>

#define MS IGUANA_IID_MEMSECTION

memsection_ref_t memsection_create(uintptr_t size, uintptr_t *base)
{
    return pd_create_memsection(pd_myself(), size, base);
}

memsection_ref_t memsection_create_fixed(uintptr_t size, uintptr_t base)
{
    return pd_create_memsection_fixed(pd_myself(), size, base);
}

int memsection_register_server(memsection_ref_t ms, thread_ref_t server)
{
    L4_Word_t in[2] = { ms, thread_l4tid(server).raw };
    return iguana_call(MS, 0, 2, in, 0, 0);
}

memsection_ref_t memsection_lookup(objref_t object, thread_ref_t *server)
{
    L4_Word_t in[1] = { object }, out[2];
    if (iguana_call(MS, 1, 1, in, 2, out))
        return 0;
    if (server) {
        L4_ThreadId_t t = { .raw = out[1] };
        *server = t.raw ? thread_id(t) : 0;
    }
    return out[0];
}

static int info(memsection_ref_t ms, L4_Word_t out[2])
{
    L4_Word_t in[1] = { ms };
    return iguana_call(MS, 2, 1, in, 2, out);
}

void *memsection_base(memsection_ref_t ms)
{
    L4_Word_t out[2];
    return info(ms, out) ? 0 : (void *)out[0];
}

uintptr_t memsection_size(memsection_ref_t ms)
{
    L4_Word_t out[2];
    return info(ms, out) ? 0 : out[1];
}

int memsection_delete(memsection_ref_t ms)
{
    L4_Word_t in[1] = { ms };
    return iguana_call(MS, 3, 1, in, 0, 0);
}

memsection_ref_t memsection_create_user(uintptr_t size, uintptr_t *base)
{
    return pd_create_memsection_full(pd_myself(), size, 0, IGUANA_MS_USER, 0, 0, base);
}

memsection_ref_t memsection_create_with_pools(uintptr_t size, uintptr_t *base,
                                              physpool_ref_t physpool, virtpool_ref_t virtpool)
{
    return pd_create_memsection_full(pd_myself(), size, 0, 0, physpool, virtpool, base);
}

int memsection_map(memsection_ref_t ms, uintptr_t offset, physmem_ref_t physmem)
{
    L4_Word_t in[3] = { ms, offset, physmem };
    return iguana_call(MS, 5, 3, in, 0, 0);
}

int memsection_unmap(memsection_ref_t ms, uintptr_t offset, uintptr_t size)
{
    L4_Word_t in[3] = { ms, offset, size };
    return iguana_call(MS, 6, 3, in, 0, 0);
}
