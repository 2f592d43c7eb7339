#ifndef IGUANA_EAS_H
#define IGUANA_EAS_H
#include <iguana/types.h>

/* An external address space with this UTCB area (KIP area: as my PD's); its
 * space number in *space_id. 0 on failure (iguana_errno). */
eas_ref_t eas_create(L4_Fpage_t utcb, L4_Word_t *space_id);
int eas_delete(eas_ref_t eas);
/* A thread in eas (nil pager/scheduler: me; utcb 0: the next free slot), not
 * started: thread_start(thread_id(tid), ip, sp) runs it. Nil on failure. */
L4_ThreadId_t eas_create_thread(eas_ref_t eas, L4_ThreadId_t pager, L4_ThreadId_t scheduler,
                                void *utcb, L4_ThreadId_t *handle_rv);
int eas_delete_thread(eas_ref_t eas, L4_ThreadId_t thread);
/* Pages of my memsection at src_fpage (with its rights) into eas at dst_addr. */
int eas_map(eas_ref_t eas, L4_Fpage_t src_fpage, uintptr_t dst_addr, uintptr_t attributes);
int eas_unmap(eas_ref_t eas, L4_Fpage_t dst_fpage);
#endif
