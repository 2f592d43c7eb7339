#include "iguana-test.h"

void pool_tests(void)
{
    const char *g = "pools";
    check(g, "pool0000-defaults", iguana_pools() == 0 && default_physpool && default_virtpool,
          "err %d", iguana_errno);
    physmem_ref_t pm = physpool_alloc(default_physpool, 2 * 4096);
    uintptr_t pa = 0, psize = 0;
    check(g, "pool0100-alloc", pm != 0 && physmem_info(pm, &pa, &psize) == 0
          && psize == 2 * 4096 && pa % 4096 == 0, "pm %lx size %lu",
          (unsigned long)pm, (unsigned long)psize);

    uintptr_t base = 0;
    memsection_ref_t ms = memsection_create_user(4 * 4096, &base);
    check(g, "pool0150-create-user", ms != 0 && base != 0, "err %d", iguana_errno);
    check(g, "pool0200-map", memsection_map(ms, 4096, pm) == 0, "err %d", iguana_errno);
    volatile uint32_t *p = (volatile uint32_t *)(base + 4096);
    p[0] = 0x5a5a1234;
    p[2047] = 0x600d;
    check(g, "pool0201-map-usable", p[0] == 0x5a5a1234 && p[2047] == 0x600d, "lost writes");
    int err = memsection_map(ms, 2 * 4096, pm);
    check(g, "pool0600-double-map", err == IGUANA_EBUSY, "gave %d", err);
    err = memsection_map(ms, 3 * 4096, pm);
    check(g, "pool0601-map-past-end", err == IGUANA_EINVAL, "gave %d", err);
    check(g, "pool0700-unmap", memsection_unmap(ms, 4096, 2 * 4096) == 0, "err %d", iguana_errno);
    err = memsection_unmap(ms, 4096, 4096);
    check(g, "pool0701-unmap-twice", err == IGUANA_ENOENT, "gave %d", err);
    check(g, "pool0202-remap-keeps-data", memsection_map(ms, 0, pm) == 0
          && ((volatile uint32_t *)base)[0] == 0x5a5a1234, "err %d", iguana_errno);

    physmem_ref_t fixed = physpool_alloc_fixed(default_physpool, 4096, pa);
    check(g, "pool0400-alloc-fixed-taken", fixed == 0 && iguana_errno == IGUANA_EBUSY,
          "gave %lx (%d)", (unsigned long)fixed, iguana_errno);
    fixed = physpool_alloc_fixed(default_physpool, 4096, pa + 7);
    check(g, "pool0500-alloc-fixed-unaligned", fixed == 0 && iguana_errno == IGUANA_EINVAL,
          "gave %d", iguana_errno);
    memsection_delete(ms);
    check(g, "pool0800-physmem-delete", physmem_delete(pm) == 0, "err %d", iguana_errno);
    fixed = physpool_alloc_fixed(default_physpool, 4096, pa);
    check(g, "pool0300-alloc-fixed", fixed != 0, "the freed block at %lx: %d",
          (unsigned long)pa, iguana_errno);
    physmem_delete(fixed);

    ms = memsection_create_with_pools(4096, &base, default_physpool, default_virtpool);
    check(g, "pool0900-memsection-with-pools", ms != 0 && *(volatile uint32_t *)base == 0,
          "err %d", iguana_errno);
    memsection_delete(ms);
    err = memsection_create_with_pools(4096, &base, 0xdead0, default_virtpool) ? 0 : iguana_errno;
    check(g, "pool0901-bad-pool", err == IGUANA_ENOENT, "gave %d", err);
}
