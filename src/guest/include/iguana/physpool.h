#ifndef IGUANA_PHYSPOOL_H
#define IGUANA_PHYSPOOL_H
#include <iguana/types.h>

/* The default pools (set up on first use by iguana_pools()). */
extern physpool_ref_t default_physpool;
extern virtpool_ref_t default_virtpool;
int iguana_pools(void);
/* Contiguous physical memory (0 on failure, iguana_errno). */
physmem_ref_t physpool_alloc(physpool_ref_t physpool, uintptr_t size);
physmem_ref_t physpool_alloc_fixed(physpool_ref_t physpool, uintptr_t size, uintptr_t addr);
int physmem_delete(physmem_ref_t pm);
int physmem_info(physmem_ref_t pm, uintptr_t *paddr, uintptr_t *psize);
#endif
