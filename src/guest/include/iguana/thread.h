#ifndef IGUANA_THREAD_H
#define IGUANA_THREAD_H
#include <iguana/types.h>

thread_ref_t thread_create(L4_ThreadId_t *thrd);
thread_ref_t thread_create_priority(int priority, L4_ThreadId_t *thrd);
int thread_start(thread_ref_t thread, uintptr_t ip, uintptr_t sp);
L4_ThreadId_t thread_l4tid(thread_ref_t thread);
thread_ref_t thread_id(L4_ThreadId_t tid);
thread_ref_t thread_myself(void);
int thread_delete(L4_ThreadId_t tid);
/* l4gdb: start fn as a thread of pd (priority prio) on a new stack memsection of
 * pd; its L4 id (nil on failure), its reference in *ref. */
#define IGUANA_STACK_SIZE 4096
L4_ThreadId_t thread_create_in(pd_ref_t pd, void (*fn)(void), int prio, thread_ref_t *ref);
#endif
