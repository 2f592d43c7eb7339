#ifndef IGUANA_MEMSECTION_H
#define IGUANA_MEMSECTION_H
#include <iguana/types.h>

memsection_ref_t memsection_create(uintptr_t size, uintptr_t *base);
memsection_ref_t memsection_create_fixed(uintptr_t size, uintptr_t base);
int memsection_register_server(memsection_ref_t ms, thread_ref_t server);
memsection_ref_t memsection_lookup(objref_t object, thread_ref_t *server);
void *memsection_base(memsection_ref_t ms);
uintptr_t memsection_size(memsection_ref_t ms);
int memsection_delete(memsection_ref_t ms);
/* No backing of its own: memory comes with memsection_map or hardware_back_memsection. */
memsection_ref_t memsection_create_user(uintptr_t size, uintptr_t *base);
memsection_ref_t memsection_create_with_pools(uintptr_t size, uintptr_t *base,
                                              physpool_ref_t physpool, virtpool_ref_t virtpool);
int memsection_map(memsection_ref_t ms, uintptr_t offset, physmem_ref_t physmem);
int memsection_unmap(memsection_ref_t ms, uintptr_t offset, uintptr_t size);
#endif
