#include <iguana/iguana.h>

physpool_ref_t default_physpool;
virtpool_ref_t default_virtpool;

int iguana_pools(void)
{
    L4_Word_t out[2];
    if (default_physpool)
        return 0;
    int err = iguana_call(IGUANA_IID_PHYSPOOL, 40, 0, 0, 2, out);
    if (err == 0) {
        default_physpool = out[0];
        default_virtpool = out[1];
    }
    return err;
}

static physmem_ref_t alloc(int method, int n, L4_Word_t *in)
{
    L4_Word_t out[1];
    return iguana_call(IGUANA_IID_PHYSPOOL, method, n, in, 1, out) ? 0 : out[0];
}

physmem_ref_t physpool_alloc(physpool_ref_t physpool, uintptr_t size)
{
    L4_Word_t in[2] = { physpool, size };
    return alloc(0, 2, in);
}

physmem_ref_t physpool_alloc_fixed(physpool_ref_t physpool, uintptr_t size, uintptr_t addr)
{
    L4_Word_t in[3] = { physpool, size, addr };
    return alloc(1, 3, in);
}

int physmem_delete(physmem_ref_t pm)
{
    L4_Word_t in[1] = { pm };
    return iguana_call(IGUANA_IID_PHYSMEM, 0, 1, in, 0, 0);
}

int physmem_info(physmem_ref_t pm, uintptr_t *paddr, uintptr_t *psize)
{
    L4_Word_t in[1] = { pm }, out[2];
    int err = iguana_call(IGUANA_IID_PHYSMEM, 1, 1, in, 2, out);
    if (err == 0) {
        if (paddr) *paddr = out[0];
        if (psize) *psize = out[1];
    }
    return err;
}
