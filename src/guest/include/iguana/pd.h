#ifndef IGUANA_PD_H
#define IGUANA_PD_H
#include <iguana/types.h>

pd_ref_t pd_myself(void);
pd_ref_t pd_create(void);                       /* a child of pd_myself() */
pd_ref_t pd_create_pd(pd_ref_t parent);
int pd_delete(pd_ref_t pd);                     /* and everything it owns */
memsection_ref_t pd_create_memsection(pd_ref_t pd, uintptr_t size, uintptr_t *base);
memsection_ref_t pd_create_memsection_fixed(pd_ref_t pd, uintptr_t size, uintptr_t base);
thread_ref_t pd_create_thread(pd_ref_t pd, L4_ThreadId_t *thrd);
thread_ref_t pd_create_thread_with_priority(pd_ref_t pd, int priority, L4_ThreadId_t *thrd);
clist_ref_t pd_create_clist(pd_ref_t pd);
int pd_add_clist(pd_ref_t pd, clist_ref_t clist);
int pd_release_clist(pd_ref_t pd, clist_ref_t clist);
/* l4gdb: the clist that receives the master caps of what this PD creates. */
clist_ref_t pd_default_clist(void);
/* Share ms with pd, with L4 rights rwx (L4_Readable ...); 0 or an error. */
int pd_attach(pd_ref_t pd, memsection_ref_t ms, int rwx);
int pd_detach(pd_ref_t pd, memsection_ref_t ms);
memsection_ref_t pd_create_memsection_full(pd_ref_t pd, uintptr_t size, uintptr_t base, int flags,
                                           physpool_ref_t pp, virtpool_ref_t vp, uintptr_t *got);
#endif
